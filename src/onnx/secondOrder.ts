/**
 * ONNX emitters of the second-order methods: B-CNN bilinear pooling, MLB low-rank bilinear pooling,
 * covariance pooling with Newton–Schulz (unrolled MatMuls) or no normalisation, and compact bilinear
 * pooling (Tensor Sketch as a scatter-add of the bilinear matrix into its hash buckets — the
 * circular convolution of the two count sketches written without an FFT — or Random Maclaurin as
 * MatMuls). The eigendecomposition-based normalisations are not expressible (see NOT_EXPRESSIBLE).
 */
import { compactBilinearParams, type CompactBilinearParams } from "../ops/compactBilinearPool.js";
import { fill, prod, type EmitContext, type Emitter } from "./emitters.js";
import { attr, type Graph } from "./graph.js";
import { reduce, reshape, scalar } from "./ops.js";

/** `[N, C, ...spatial]` → `[N, C, L]`. */
function flat(g: Graph, x: string, shape: readonly number[]): string {
  return reshape(g, x, [shape[0] as number, shape[1] as number, prod(shape.slice(2))]);
}

function transposeLast(g: Graph, x: string): string {
  return g.node("Transpose", [x], { perm: attr.ints([0, 2, 1]) });
}

/**
 * B-CNN post-processing per row of `[N, D]` (or along axis 1 of `[N, D, ...]`):
 * u = sign(v)·√|v| (signedSqrt), z = u / √(Σu² + l2Eps) (l2) — poolkit's postForward.
 */
function post(ctx: EmitContext, v: string): string {
  const g = ctx.g;
  const o = ctx.options;
  let u = v;
  if (o.signedSqrt !== false) u = g.node("Mul", [g.node("Sign", [v]), g.node("Sqrt", [g.node("Abs", [v])])]);
  if (o.l2 !== false) {
    const eps = typeof o.l2Eps === "number" ? o.l2Eps : 1e-10;
    const ss = reduce(g, "ReduceSum", g.node("Mul", [u, u]), [1], true);
    u = g.node("Div", [u, g.node("Sqrt", [g.node("Add", [ss, scalar(g, eps)])])]);
  }
  return u;
}

const emitBilinear: Emitter = (ctx) => {
  const g = ctx.g;
  const [n, m] = ctx.xShape as [number, number];
  const bShape = ctx.inputShapes.b ?? ctx.xShape;
  const A = flat(g, ctx.x, ctx.xShape);
  const B = ctx.inputs.b === undefined ? A : flat(g, ctx.inputs.b, bShape);
  const L = prod(ctx.xShape.slice(2));
  let phi = g.node("MatMul", [A, transposeLast(g, B)]);
  if (ctx.options.pooling === "mean") phi = g.node("Mul", [phi, scalar(g, 1 / L)]);
  const p = bShape[1] as number;
  const shape = [n, m * p];
  return { output: post(ctx, reshape(g, phi, shape)), shape };
};

/** MLB: f = P·pool_l(σ(U x_l + b_u) ∘ σ(V y_l + b_v)) + b_p. */
const emitLowRank: Emitter = (ctx) => {
  const g = ctx.g;
  const o = ctx.options;
  const [n] = ctx.xShape as [number];
  const spatial = ctx.xShape.slice(2);
  const L = prod(spatial);
  const act = (v: string): string => (o.activation === "identity" ? v : g.node("Tanh", [v]));
  const proj = (v: string, w: string, bias: string | undefined): string => {
    const z = g.node("MatMul", [v, g.node("Transpose", [w], { perm: attr.ints([1, 0]) })]);
    return act(bias === undefined ? z : g.node("Add", [z, bias]));
  };
  const xl = transposeLast(g, flat(g, ctx.x, ctx.xShape)); // [N, L, Cx]
  const yShape = ctx.inputShapes.y as readonly number[];
  const yv = ctx.inputs.y as string;
  // y: a map [N, Cy, ...spatial] (per location) or a vector [N, Cy] broadcast to every location.
  const yl = yShape.length === 2 ? reshape(g, yv, [n, 1, yShape[1] as number]) : transposeLast(g, flat(g, yv, yShape));
  const h = g.node("Mul", [proj(xl, ctx.inputs.U as string, ctx.inputs.bU), proj(yl, ctx.inputs.V as string, ctx.inputs.bV)]); // [N, L, d]
  const P = ctx.inputs.P as string;
  const O = (ctx.inputShapes.P as readonly number[])[0] as number;
  const Pt = g.node("Transpose", [P], { perm: attr.ints([1, 0]) });
  const pooling = (o.pooling as string | undefined) ?? "mean";
  if (pooling === "none") {
    let f = g.node("MatMul", [h, Pt]); // [N, L, O]
    if (ctx.inputs.bP !== undefined) f = g.node("Add", [f, ctx.inputs.bP]);
    const shape = [n, O, ...spatial];
    return { output: reshape(g, transposeLast(g, f), shape), shape };
  }
  let pooled = reduce(g, "ReduceSum", h, [1], false); // [N, d]
  if (pooling === "mean") pooled = g.node("Mul", [pooled, scalar(g, 1 / L)]);
  let f = g.node("MatMul", [pooled, Pt]);
  if (ctx.inputs.bP !== undefined) f = g.node("Add", [f, ctx.inputs.bP]);
  void L;
  return { output: f, shape: [n, O] };
};

/**
 * Covariance pooling, normalisation "newton-schulz" (iSQRT-COV, unrolled) or "none". Computed in
 * float64 inside the graph, as poolkit computes it, then cast to the model's dtype.
 * C = (1/M)·Xc·Xcᵀ (+ εI); NS: A = C/tr, Y₁ = A·T, Z₁ = T with T = (3I − A)/2, then
 * T = (3I − Z·Y)/2, Y ← Y·T, Z ← T·Z, and Y_N = ½·Y·(3I − Z·Y); out = √tr·sym(Y_N), 0 where tr ≤ 0.
 */
const emitCovariance: Emitter = (ctx) => {
  const g = ctx.g;
  const o = ctx.options;
  const [n, d] = ctx.xShape as [number, number];
  const M = prod(ctx.xShape.slice(2));
  const norm = o.normalization as string;
  const eps = typeof o.eps === "number" ? o.eps : 0;
  const iterations = typeof o.iterations === "number" ? o.iterations : 5;
  const full = o.output === "full";
  const c64 = (v: number[] | Float64Array, dims: number[]): string => g.constFloat(v, dims, "float64");
  const s64 = (v: number): string => c64([v], []);
  const X = g.node("Cast", [flat(g, ctx.x, ctx.xShape)], { to: attr.int(11) });
  const Xc = g.node("Sub", [X, reduce(g, "ReduceMean", X, [2], true)]);
  let C = g.node("Mul", [g.node("MatMul", [Xc, transposeLast(g, Xc)]), s64(1 / M)]);
  const eye = new Float64Array(d * d);
  for (let i = 0; i < d; i++) eye[i * d + i] = 1;
  const I = c64(eye, [d, d]);
  if (eps > 0) C = g.node("Add", [C, g.node("Mul", [I, s64(eps)])]);
  let F = C;
  if (norm === "newton-schulz") {
    const tr = reduce(g, "ReduceSum", g.node("Mul", [C, I]), [1, 2], true); // [N, 1, 1]
    const A = g.node("Div", [C, tr]);
    const threeIMinus = (v: string): string => g.node("Sub", [g.node("Mul", [I, s64(3)]), v]);
    const half = s64(0.5);
    let Y: string;
    if (iterations === 1) {
      Y = g.node("Mul", [g.node("MatMul", [A, threeIMinus(A)]), half]);
    } else {
      let T = g.node("Mul", [threeIMinus(A), half]);
      let y = g.node("MatMul", [A, T]);
      let z = T;
      for (let k = 2; k < iterations; k++) {
        T = g.node("Mul", [threeIMinus(g.node("MatMul", [z, y])), half]);
        const yNext = g.node("MatMul", [y, T]);
        z = g.node("MatMul", [T, z]);
        y = yNext;
      }
      Y = g.node("Mul", [g.node("MatMul", [y, threeIMinus(g.node("MatMul", [z, y]))]), half]);
    }
    const sym = g.node("Mul", [g.node("Add", [Y, transposeLast(g, Y)]), half]);
    const scaled = g.node("Mul", [sym, g.node("Sqrt", [tr])]);
    // tr = 0 (a constant map) gives 0 (poolkit's guard; A = 0/0 would be NaN); a NaN trace stays NaN through the products.
    F = g.node("Where", [g.node("Equal", [tr, s64(0)]), s64(0), scaled]);
  }
  const out = ctx.dtype === "float64" ? F : g.node("Cast", [F], { to: attr.int(1) });
  if (full) return { output: out, shape: [n, d, d] };
  const tri: number[] = [];
  for (let i = 0; i < d; i++) for (let j = i; j < d; j++) tri.push(i * d + j);
  const y = g.node("Gather", [reshape(g, out, [n, d * d]), g.constInt64(tri)], { axis: attr.int(1) });
  return { output: y, shape: [n, tri.length] };
};

/**
 * Compact bilinear pooling with poolkit's fixed parameters (drawn from `seed`, or `options.params`).
 * Tensor Sketch: φ = Ψ1 ⊛ Ψ2 has φ[k] = Σ_{(h1[i] + h2[j]) mod d = k} s1[i]·s2[j]·x_i·y_j, so the
 * location-summed feature is the bilinear matrix Σ_l x_l y_lᵀ scatter-added into those buckets
 * (ScatterND, reduction "add", indices [C1·C2, 1] independent of the batch size) —
 * buckets no channel pair reaches stay exactly 0, as poolkit's FFT clean-up makes them.
 * Random Maclaurin: φ_l = (1/√d)(W1 x_l) ∘ (W2 y_l), summed over locations.
 */
const emitCompactBilinear: Emitter = (ctx) => {
  const g = ctx.g;
  const o = ctx.options;
  const [n, c1] = ctx.xShape as [number, number];
  const spatial = ctx.xShape.slice(2);
  const L = prod(spatial);
  const bShape = ctx.inputShapes.b;
  const c2 = bShape === undefined ? c1 : (bShape[1] as number);
  const p: CompactBilinearParams =
    (o.params as CompactBilinearParams | undefined) ??
    compactBilinearParams(c1, c2, { outputDim: o.outputDim as number, method: (o.method as "tensor-sketch" | "random-maclaurin") ?? "tensor-sketch", ...(o.seed === undefined ? {} : { seed: o.seed as number }) });
  const d = p.outputDim;
  const sumPool = o.sumPool !== false;
  const A = flat(g, ctx.x, ctx.xShape); // [N, C1, L]
  // b: omitted (homogeneous), a map [N, C2, ...spatial], or a vector [N, C2] broadcast to every location (MCB).
  const B =
    ctx.inputs.b === undefined
      ? A
      : bShape?.length === 2
        ? g.node("Expand", [reshape(g, ctx.inputs.b, [n, c2, 1]), g.constInt64([n, c2, L])])
        : flat(g, ctx.inputs.b, bShape as readonly number[]);
  let phi: string; // [N, d] (sumPool) or [N, d, L]
  if (p.method === "tensor-sketch") {
    const h1 = p.h1.data;
    const s1 = p.s1.data;
    const h2 = p.h2.data;
    const s2 = p.s2.data;
    const buckets: number[] = [];
    const signs = new Float64Array(c1 * c2);
    for (let i = 0; i < c1; i++) {
      for (let j = 0; j < c2; j++) {
        buckets.push(((h1[i] as number) + (h2[j] as number)) % d);
        signs[i * c2 + j] = (s1[i] as number) * (s2[j] as number);
      }
    }
    const S = fill(g, ctx, signs, [1, c1 * c2, 1]);
    // Bilinear matrix per image [N, C1·C2, 1] (sum pooled) or per location [N, C1·C2, L].
    const G = sumPool
      ? reshape(g, g.node("MatMul", [A, transposeLast(g, B)]), [n, c1 * c2, 1])
      : reshape(g, g.node("Mul", [reshape(g, A, [n, c1, 1, L]), reshape(g, B, [n, 1, c2, L])]), [n, c1 * c2, L]);
    const cols = sumPool ? 1 : L;
    // ScatterND with reduction "add" along the bucket axis: output[h(i, j)] += s·G[(i, j)], with the
    // pairs first so the index tensor is [C1·C2, 1] whatever the batch and spatial sizes.
    const updates = reshape(g, g.node("Transpose", [g.node("Mul", [G, S])], { perm: attr.ints([1, 0, 2]) }), [c1 * c2, n * cols]);
    const zeros = g.node("ConstantOfShape", [g.constInt64([d, n * cols])]);
    const z = ctx.dtype === "float32" ? zeros : g.node("Cast", [zeros], { to: attr.int(11) });
    const summed = g.node("ScatterND", [z, g.constInt64(buckets, [c1 * c2, 1]), updates], { reduction: attr.string("add") });
    const scattered = g.node("Transpose", [reshape(g, summed, [d, n, cols])], { perm: attr.ints([1, 0, 2]) }); // [N, d, cols]
    phi = sumPool ? reshape(g, scattered, [n, d]) : scattered;
  } else {
    const w1 = fill(g, ctx, p.w1.data, [d, c1]);
    const w2 = fill(g, ctx, p.w2.data, [d, c2]);
    const prodMaps = g.node("Mul", [g.node("MatMul", [w1, A]), g.node("MatMul", [w2, B])]); // [N, d, L]
    const scaled = g.node("Mul", [prodMaps, scalar(g, 1 / Math.sqrt(d))]);
    phi = sumPool ? reduce(g, "ReduceSum", scaled, [2], false) : scaled;
  }
  if (sumPool) return { output: post(ctx, phi), shape: [n, d] };
  const shape = [n, d, ...spatial];
  return { output: reshape(g, post(ctx, phi), shape), shape };
};

/** Emitters of the second-order methods, by registry method name. */
export const SECOND_ORDER_EMITTERS: Readonly<Record<string, Emitter>> = {
  Bilinear: emitBilinear,
  LowRankBilinear: emitLowRank,
  Covariance: emitCovariance,
  CompactBilinear: emitCompactBilinear,
};


