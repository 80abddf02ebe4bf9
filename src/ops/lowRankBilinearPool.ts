/**
 * Low-rank bilinear pooling in the Hadamard-product form of MLB (Kim et al., ICLR 2017), which also
 * expresses Kong & Fowlkes' low-rank bilinear classifier (LRBP, CVPR 2017) exactly.
 */
import { enumOption, expectFloatTensor, expectOptions, numberOption } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { kernel } from "../kernels/registry.js";
import { gemm, type NumArray } from "../linalg/gemm.js";
import { defineOp } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray, FloatDType, TypedArray } from "../tensor/dtype.js";
import { Tensor, zeros } from "../tensor/tensor.js";
import { featureMap, featureShape, type FeatureMap } from "./bilinearPool.js";

export interface LowRankBilinearPoolOptions {
  /**
   * How the per-location features h_l = σ(U x_l + b_u) ∘ σ(V y_l + b_v) become the output:
   * `"mean"` (default) or `"sum"` over locations, then f = P h + b → `[N, O]`; or `"none"`:
   * f_l = P h_l + b at every location → `[N, O, ...spatial]`.
   */
  pooling?: "mean" | "sum" | "none";
  /** σ: `"tanh"` (MLB, default) or `"identity"` (plain low-rank bilinear form, e.g. LRBP). */
  activation?: "tanh" | "identity";
  /** Optional check: the rank d (rows of U and V). The sizes come from the tensors; layers size their weights from it. */
  rank?: number;
  /** Optional check: the number of outputs O (rows of P). */
  outputDim?: number;
}

const KNOWN = ["pooling", "activation", "rank", "outputDim"] as const;
const POOLING = ["mean", "sum", "none"] as const;
const MODE = { mean: 0, sum: 1, none: 2 } as const;

interface Geometry {
  readonly fx: FeatureMap;
  readonly cy: number;
  /** y has no spatial dims and is broadcast over x's locations (MLB's tiled question vector). */
  readonly yBroadcast: boolean;
  readonly rank: number;
  readonly outDim: number;
}

function expectMatrixShape(op: string, name: string, t: Tensor, shape: readonly number[], what: string): void {
  const s = t.shape;
  if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
    throw new PoolkitRangeError(op, `${name} must have shape ${show(shape)} (${what}), got ${show(s)}`);
  }
}

function geometry(op: string, x: unknown, y: unknown, U: unknown, V: unknown, P: unknown, biases: readonly unknown[]): Geometry {
  const fx = featureMap(op, "x", x);
  const fy = featureMap(op, "y", y);
  const yt = y as Tensor;
  if (fy.dtype !== fx.dtype) throw new PoolkitTypeError(op, `y must have x's dtype ${fx.dtype}, got ${fy.dtype}`);
  const yBroadcast = fy.spatial.length === 0 && fx.spatial.length > 0;
  const sameSpatial = fy.spatial.length === fx.spatial.length && fy.spatial.every((d, i) => d === fx.spatial[i]);
  if (fy.n !== fx.n || !(sameSpatial || yBroadcast)) {
    const want = `[${[fx.n, "C", ...fx.spatial].join(", ")}]`;
    throw new PoolkitRangeError(op, `y must have the batch size and spatial size of x ${want} (or be [${fx.n}, C], broadcast over locations), got shape ${show(yt.shape)}`);
  }
  for (const [name, t] of [["U", U], ["V", V], ["P", P]] as const) {
    expectFloatTensor(op, name, t);
    if (t.dtype !== fx.dtype) throw new PoolkitTypeError(op, `${name} must have x's dtype ${fx.dtype}, got ${t.dtype}`);
    if (t.shape.length !== 2) throw new PoolkitRangeError(op, `${name} must be a matrix, got shape ${show(t.shape)}`);
  }
  const u = U as Tensor;
  const rank = u.shape[0] as number;
  if (rank === 0) throw new PoolkitRangeError(op, `U must have a positive rank (rows), got shape ${show(u.shape)}`);
  expectMatrixShape(op, "U", u, [rank, fx.c], `rank × channels of x`);
  expectMatrixShape(op, "V", V as Tensor, [rank, fy.c], `U's rank × channels of y`);
  const p = P as Tensor;
  const outDim = p.shape[0] as number;
  if (outDim === 0) throw new PoolkitRangeError(op, `P must have at least one row (output), got shape ${show(p.shape)}`);
  expectMatrixShape(op, "P", p, [outDim, rank], `outputs × U's rank`);
  const names = ["bU", "bV", "bP"] as const;
  const lens = [rank, rank, outDim];
  biases.forEach((b, i) => {
    const name = names[i] as string;
    if (b === null || b === undefined) return;
    if (!(b instanceof Tensor)) {
      throw new PoolkitTypeError(op, `${name} must be a Tensor or null, got ${show(b)} (options go after the three bias arguments: (x, y, U, V, P, null, null, null, options))`);
    }
    expectFloatTensor(op, name, b);
    if (b.dtype !== fx.dtype) throw new PoolkitTypeError(op, `${name} must have x's dtype ${fx.dtype}, got ${b.dtype}`);
    expectMatrixShape(op, name, b, [lens[i] as number], name === "bP" ? "P's rows" : "U's rank");
  });
  return { fx, cy: fy.c, yBroadcast, rank, outDim };
}

/** The one output-shape rule, shared by the op and `outputShape`. */
function outShape(n: number, spatial: readonly number[], outDim: number, pooling: "mean" | "sum" | "none"): number[] {
  return pooling === "none" ? [n, outDim, ...spatial] : [n, outDim];
}

// ---------------------------------------------------------------------------------------------
// Kernels. x is [N, Cx, L]; y is [N, Cy, L] (yStep 1) or [N, Cy] (yStep 0, broadcast).
// mode: 0 mean, 1 sum, 2 none. tanh: 1 for σ = tanh, 0 for identity.
// ---------------------------------------------------------------------------------------------

/** Locations processed together: bounds the scratch to a few rank × LB blocks. */
const LB = 256;

/** Scratch for one location block, float64. */
interface Block {
  readonly a: Float64Array;
  readonly c: Float64Array;
  /** V y for a broadcast y (rank), per image. */
  readonly cv: Float64Array;
}

function block(rank: number, l: number): Block {
  const lb = Math.min(LB, l);
  return { a: allocArray("float64", rank * lb), c: allocArray("float64", rank * lb), cv: allocArray("float64", rank) };
}

/**
 * For image s and locations [l0, l0 + lb): a = σ(U X + b_u), c = σ(V Y + b_v), each rank × lb
 * (row r, column t), the projections as GEMMs. A broadcast y (yStep 0) uses cv = σ(V y + b_v),
 * computed by the caller once per image, for every column.
 */
function embedBlock(
  x: NumArray, xo: number, cx: number, y: NumArray, yo: number, cy: number, l: number, yStep: number,
  U: NumArray, V: NumArray, bu: TypedArray | null, bv: TypedArray | null, rank: number, tanh: number,
  l0: number, lb: number, blk: Block,
): void {
  const { a, c, cv } = blk;
  gemm(false, false, rank, lb, cx, 1, U, 0, cx, x, xo + l0, l, 0, a, 0, lb);
  if (yStep) gemm(false, false, rank, lb, cy, 1, V, 0, cy, y, yo + l0, l, 0, c, 0, lb);
  for (let r = 0; r < rank; r++) {
    const ar = r * lb;
    const pu = bu ? (bu[r] as number) : 0;
    const pv = bv ? (bv[r] as number) : 0;
    for (let t = 0; t < lb; t++) {
      const za = (a[ar + t] as number) + pu;
      a[ar + t] = tanh ? Math.tanh(za) : za;
      if (yStep) {
        const zc = (c[ar + t] as number) + pv;
        c[ar + t] = tanh ? Math.tanh(zc) : zc;
      } else c[ar + t] = cv[r] as number;
    }
  }
}

/** cv = σ(V y_s + b_v) for a broadcast y. */
function embedVector(y: NumArray, yo: number, cy: number, V: NumArray, bv: TypedArray | null, rank: number, tanh: number, cv: Float64Array): void {
  gemm(false, false, rank, 1, cy, 1, V, 0, cy, y, yo, 1, 0, cv, 0, 1);
  for (let r = 0; r < rank; r++) {
    const z = (cv[r] as number) + (bv ? (bv[r] as number) : 0);
    cv[r] = tanh ? Math.tanh(z) : z;
  }
}

export function mlbForward(
  x: TypedArray, y: TypedArray, U: TypedArray, V: TypedArray, P: TypedArray,
  bu: TypedArray | null, bv: TypedArray | null, bp: TypedArray | null, out: FloatArray,
  n: number, cx: number, cy: number, l: number, yStep: number, rank: number, outDim: number, mode: number, tanh: number,
): void {
  const X = x as NumArray;
  const Y = y as NumArray;
  const blk = block(rank, l);
  const h = allocArray("float64", rank);
  const f = mode === 2 ? allocArray("float64", outDim * Math.min(LB, l)) : null;
  const scale = mode === 0 ? 1 / l : 1;
  for (let s = 0; s < n; s++) {
    h.fill(0);
    if (!yStep) embedVector(Y, s * cy, cy, V as NumArray, bv, rank, tanh, blk.cv);
    for (let l0 = 0; l0 < l; l0 += LB) {
      const lb = Math.min(LB, l - l0);
      embedBlock(X, s * cx * l, cx, Y, s * cy * l, cy, l, yStep, U as NumArray, V as NumArray, bu, bv, rank, tanh, l0, lb, blk);
      const { a, c } = blk;
      // H = a ∘ c (kept in a)
      for (let i = 0; i < rank * lb; i++) a[i] = (a[i] as number) * (c[i] as number);
      if (mode === 2 && f) {
        // f_l = P h_l + b_p for every location of the block
        gemm(false, false, outDim, lb, rank, 1, P as NumArray, 0, rank, a, 0, lb, 0, f, 0, lb);
        for (let o = 0; o < outDim; o++) {
          const bo = bp ? (bp[o] as number) : 0;
          const dst = (s * outDim + o) * l + l0;
          for (let t = 0; t < lb; t++) out[dst + t] = (f[o * lb + t] as number) + bo;
        }
      } else {
        for (let r = 0; r < rank; r++) {
          let acc = 0;
          for (let t = 0; t < lb; t++) acc += a[r * lb + t] as number;
          h[r] = (h[r] as number) + acc;
        }
      }
    }
    if (mode !== 2) {
      for (let o = 0; o < outDim; o++) {
        let acc = 0;
        const pr = o * rank;
        for (let r = 0; r < rank; r++) acc += (P[pr + r] as number) * (h[r] as number);
        out[s * outDim + o] = (bp ? (bp[o] as number) : 0) + acc * scale;
      }
    }
  }
}

/**
 * dh = Pᵀ ḡ (÷L for mean); per location dz_u = (dh ∘ c) ∘ σ'(·), dz_v = (dh ∘ a) ∘ σ'(·), σ' = 1 − σ² for
 * tanh; dX = Uᵀ dZ_u, dU += dZ_u Xᵀ, db_u += Σ dz_u (and likewise for y, V, b_v); dP += ḡ hᵀ, db_p += ḡ.
 * a and c are recomputed block by block rather than kept from the forward (N·L·rank values each).
 * Every product is a GEMM over a block of locations; weight gradients accumulate in float64.
 */
export function mlbBackward(
  g: TypedArray, x: TypedArray, y: TypedArray, U: TypedArray, V: TypedArray, P: TypedArray,
  bu: TypedArray | null, bv: TypedArray | null,
  dx: FloatArray, dy: FloatArray, dU: FloatArray, dV: FloatArray, dP: FloatArray, dbu: FloatArray, dbv: FloatArray, dbp: FloatArray,
  n: number, cx: number, cy: number, l: number, yStep: number, rank: number, outDim: number, mode: number, tanh: number,
): void {
  const X = x as NumArray;
  const Y = y as NumArray;
  const Um = U as NumArray;
  const Vm = V as NumArray;
  const Pm = P as NumArray;
  const G = g as NumArray;
  const blk = block(rank, l);
  const lbMax = Math.min(LB, l);
  const dH = allocArray("float64", rank * lbMax);
  const zu = allocArray("float64", rank * lbMax);
  const zv = allocArray("float64", rank * lbMax);
  const dh = allocArray("float64", rank);
  const hsum = allocArray("float64", rank);
  const zvSum = allocArray("float64", rank);
  const dU64 = allocArray("float64", rank * cx);
  const dV64 = allocArray("float64", rank * cy);
  const dP64 = allocArray("float64", outDim * rank);
  const dbu64 = allocArray("float64", rank);
  const dbv64 = allocArray("float64", rank);
  const dbp64 = allocArray("float64", outDim);
  const scale = mode === 0 ? 1 / l : 1;
  for (let s = 0; s < n; s++) {
    if (mode !== 2) {
      dh.fill(0);
      for (let o = 0; o < outDim; o++) {
        const go = g[s * outDim + o] as number;
        dbp64[o] = (dbp64[o] as number) + go;
        const pr = o * rank;
        for (let r = 0; r < rank; r++) dh[r] = (dh[r] as number) + (P[pr + r] as number) * go * scale;
      }
    }
    hsum.fill(0);
    zvSum.fill(0);
    if (!yStep) embedVector(Y, s * cy, cy, Vm, bv, rank, tanh, blk.cv);
    const xo = s * cx * l;
    const yo = s * cy * l;
    for (let l0 = 0; l0 < l; l0 += LB) {
      const lb = Math.min(LB, l - l0);
      embedBlock(X, xo, cx, Y, yo, cy, l, yStep, Um, Vm, bu, bv, rank, tanh, l0, lb, blk);
      const { a, c } = blk;
      if (mode === 2) {
        const go = s * outDim * l + l0;
        // dH = Pᵀ G_block; dP += G_block Hᵀ; db_p += Σ_t G
        gemm(true, false, rank, lb, outDim, 1, Pm, 0, rank, G, go, l, 0, dH, 0, lb);
        for (let i = 0; i < rank * lb; i++) zu[i] = (a[i] as number) * (c[i] as number);
        gemm(false, true, outDim, rank, lb, 1, G, go, l, zu, 0, lb, 1, dP64, 0, rank);
        for (let o = 0; o < outDim; o++) {
          let acc = 0;
          for (let t = 0; t < lb; t++) acc += g[go + o * l + t] as number;
          dbp64[o] = (dbp64[o] as number) + acc;
        }
      } else {
        for (let r = 0; r < rank; r++) {
          let acc = 0;
          const d = dh[r] as number;
          for (let t = 0; t < lb; t++) {
            acc += (a[r * lb + t] as number) * (c[r * lb + t] as number);
            dH[r * lb + t] = d;
          }
          hsum[r] = (hsum[r] as number) + acc;
        }
      }
      for (let r = 0; r < rank; r++) {
        let su = 0;
        let sv = 0;
        for (let t = 0, i = r * lb; t < lb; t++, i++) {
          const ar = a[i] as number;
          const cr = c[i] as number;
          const d = dH[i] as number;
          const u = d * cr * (tanh ? 1 - ar * ar : 1);
          const v = d * ar * (tanh ? 1 - cr * cr : 1);
          zu[i] = u;
          zv[i] = v;
          su += u;
          sv += v;
        }
        dbu64[r] = (dbu64[r] as number) + su;
        dbv64[r] = (dbv64[r] as number) + sv;
        zvSum[r] = (zvSum[r] as number) + sv;
      }
      gemm(true, false, cx, lb, rank, 1, Um, 0, cx, zu, 0, lb, 0, dx, xo + l0, l);
      gemm(false, true, rank, cx, lb, 1, zu, 0, lb, X, xo + l0, l, 1, dU64, 0, cx);
      if (yStep) {
        gemm(true, false, cy, lb, rank, 1, Vm, 0, cy, zv, 0, lb, 0, dy, yo + l0, l);
        gemm(false, true, rank, cy, lb, 1, zv, 0, lb, Y, yo + l0, l, 1, dV64, 0, cy);
      }
    }
    if (!yStep) {
      // a broadcast y: dy = Vᵀ Σ_l dz_v, dV += (Σ_l dz_v) yᵀ
      const yb = s * cy;
      for (let j = 0; j < cy; j++) {
        let acc = 0;
        for (let r = 0; r < rank; r++) acc += (V[r * cy + j] as number) * (zvSum[r] as number);
        dy[yb + j] = acc;
      }
      for (let r = 0; r < rank; r++) {
        const zr = zvSum[r] as number;
        for (let j = 0; j < cy; j++) dV64[r * cy + j] = (dV64[r * cy + j] as number) + zr * (y[yb + j] as number);
      }
    }
    if (mode !== 2) {
      // dP += ḡ hᵀ with h = scale·Σ_l a∘c
      for (let o = 0; o < outDim; o++) {
        const go = (g[s * outDim + o] as number) * scale;
        const pr = o * rank;
        for (let r = 0; r < rank; r++) dP64[pr + r] = (dP64[pr + r] as number) + go * (hsum[r] as number);
      }
    }
  }
  dU.set(dU64);
  dV.set(dV64);
  dP.set(dP64);
  dbu.set(dbu64);
  dbv.set(dbv64);
  dbp.set(dbp64);
}

// ---------------------------------------------------------------------------------------------
// The op
// ---------------------------------------------------------------------------------------------

/** The plan of low-rank bilinear pooling: sizes, rank, outputs, pooling mode and activation. */
export interface LowRankBilinearPoolPlan {
  readonly n: number;
  readonly cx: number;
  readonly cy: number;
  readonly l: number;
  readonly yStep: number;
  readonly rank: number;
  readonly outDim: number;
  readonly mode: number;
  readonly tanh: number;
  readonly outShape: readonly number[];
}

/**
 * The one plan of low-rank bilinear pooling: `[N, O]` (mean / sum pooling) or `[N, O, ...spatial]`
 * (`"none"`), O = rows of P. The forward pass also passes y's and U's shapes (checked with the
 * tensors); `outputShape` needs x's and P's only.
 */
function planLowRank(
  xShape: readonly number[], pShape: readonly number[], options?: LowRankBilinearPoolOptions, yShape?: readonly number[], uShape?: readonly number[],
): LowRankBilinearPoolPlan {
  const op = "lowRankBilinearPool";
  featureShape(op, "x", xShape);
  // The checks of the forward pass that the shapes known here allow: options, P a non-empty [O, rank] matrix.
  const o = expectOptions<LowRankBilinearPoolOptions>(op, options, KNOWN);
  const pooling = enumOption(op, "pooling", o.pooling, POOLING, "mean");
  const activation = enumOption(op, "activation", o.activation, ["tanh", "identity"] as const, "tanh");
  if (!Array.isArray(pShape) || pShape.length !== 2 || !pShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new PoolkitRangeError(op, `P must be a matrix [outputs, rank] with positive sizes, got shape ${show(pShape)}`);
  }
  const [outDim, rank] = pShape as [number, number];
  if (o.rank !== undefined && numberOption(op, "rank", o.rank, 0, { integer: true, min: 1 }) !== rank) {
    // with the tensors at hand the rank is U's rows (the same number: P was checked against U)
    const which = uShape ? `U's ${rank} rows (U shape ${show(uShape)})` : `P's ${rank} columns (P shape ${show(pShape)})`;
    throw new PoolkitRangeError(op, `rank ${show(o.rank)} does not match ${which}`);
  }
  if (o.outputDim !== undefined && numberOption(op, "outputDim", o.outputDim, 0, { integer: true, min: 1 }) !== outDim) {
    throw new PoolkitRangeError(op, `outputDim ${show(o.outputDim)} does not match P's ${outDim} rows (P shape ${show(pShape)})`);
  }
  const spatial = xShape.slice(2);
  const yb = yShape ?? xShape;
  return {
    n: xShape[0] ?? 0,
    cx: xShape[1] ?? 0,
    cy: yb[1] ?? 0,
    l: spatial.reduce((q, d) => q * d, 1),
    yStep: yb.length === 2 && spatial.length > 0 ? 0 : 1,
    rank,
    outDim,
    mode: MODE[pooling],
    tanh: activation === "tanh" ? 1 : 0,
    outShape: outShape(xShape[0] ?? 0, spatial, outDim, pooling),
  };
}

/**
 * Low-rank bilinear pooling, MLB form (Kim, On, Lim, Kim, Ha & Zhang, "Hadamard Product for
 * Low-rank Bilinear Pooling", ICLR 2017): a rank-d factorisation of a bilinear map between two
 * feature maps, f = P (σ(U x + b_u) ∘ σ(V y + b_v)) + b_p, σ = tanh.
 *
 * Shapes (weights as in PyTorch's `nn.Linear`, `[out, in]`): x `[N, Cx, H, W]`; y `[N, Cy, H, W]`
 * (same N and spatial dims) or `[N, Cy]` broadcast to every location (MLB's tiled question vector);
 * U `[d, Cx]`, V `[d, Cy]`, P `[O, d]`; biases bU `[d]`, bV `[d]`, bP `[O]`, each a Tensor or null.
 * Any number of spatial dims works, including none (`[N, C]` vectors: the original MLB).
 * Output `[N, O]` for `pooling: "mean"` (default) or `"sum"`; `[N, O, H, W]` for `"none"`.
 *
 * "Pooling" of `[N, C, H, W]` inputs: the low-rank bilinear feature h_l = σ(U x_l + b_u) ∘ σ(V y_l + b_v)
 * is formed at every location l, averaged (or summed) over locations, and then projected:
 * f = P·mean_l(h_l) + b_p — the same as averaging the per-location outputs P h_l, since P is linear,
 * and the low-rank counterpart of B-CNN's pooled outer product. `"mean"` is the default because,
 * with no normalisation afterwards, a sum grows with H·W.
 *
 * Backward: exact gradients for every tensor input, in order [dx, dy, dU, dV, dP, dbU, dbV, dbP]
 * (null for a bias passed as null). With a broadcast y, dy sums over locations.
 *
 * Relation to LRBP (Kong & Fowlkes, "Low-rank Bilinear Pooling for Fine-Grained Classification",
 * CVPR 2017): with σ = identity, no biases, y = x, V = U and sum pooling, output o is
 * Σ_l x_lᵀ Uᵀ diag(P_o) U x_l = <W_o, X Xᵀ> with W_o = Uᵀ diag(P_o) U — a symmetric low-rank
 * bilinear classifier. LRBP's class scores ‖U_k+ᵀ X‖² − ‖U_k−ᵀ X‖² are exactly this with U's rows the
 * columns of every class's [U_k+ | U_k−] and P_o = +1 / −1 on class o's positive / negative rows
 * (0 elsewhere); `activation: "identity"` provides it (LRBP's shared 1×1 reduction conv is a
 * separate layer, and its reference code's regulariser is not part of the score).
 *
 * Deviations from the MLB reference (`jnhwkim/MulLowBiVQA`, netdef/MLB.lua): no dropout on the
 * inputs (apply it outside), no attention glimpses (build them from `pooling: "none"` outputs).
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const x = randn([2, 64, 7, 7]), q = randn([2, 32]);              // image map, question vector
 * const U = randn([16, 64]), V = randn([16, 32]), P = randn([10, 16]);
 * const f = lowRankBilinearPool(x, q, U, V, P);                       // [2, 10], mean over 7×7
 * const { backward } = lowRankBilinearPool.vjp(x, q, U, V, P, null, null, null, { pooling: "sum" });
 * const [dx, dq, dU, dV, dP] = backward(randn([2, 10]));
 */
export const lowRankBilinearPool = defineOp("lowRankBilinearPool", {
  planArgs: (
    x: Tensor, y: Tensor, U: Tensor, V: Tensor, P: Tensor,
    bU?: Tensor | null, bV?: Tensor | null, bP?: Tensor | null, options?: LowRankBilinearPoolOptions,
  ): [readonly number[], readonly number[], LowRankBilinearPoolOptions | undefined, readonly number[], readonly number[]] => {
    geometry("lowRankBilinearPool", x, y, U, V, P, [bU, bV, bP]);
    return [x.shape, P.shape, options, y.shape, U.shape];
  },
  plan: planLowRank,
  forward: (plan, x, y, U, V, P, bU, bV, bP) => {
    const { n, cx, cy, l, yStep, rank, outDim, mode, tanh } = plan;
    const dtype = x.dtype as FloatDType;
    const bu = bU ?? null;
    const bv = bV ?? null;
    const bp = bP ?? null;
    // the output where the backend keeps tensors (zero-filled, as the kernel was written against); views read at each call
    const output = zeros(plan.outShape, dtype);
    kernel("lowRankBilinearPool.forward", dtype, mlbForward)(
      x.data, y.data, U.data, V.data, P.data, bu?.data ?? null, bv?.data ?? null, bp?.data ?? null, output.data as FloatArray,
      n, cx, cy, l, yStep, rank, outDim, mode, tanh,
    );
    return {
      output,
      backward: (g: Tensor) => {
        const dx = zeros(x.shape, dtype);
        const dy = zeros(y.shape, dtype);
        const dU = zeros(U.shape, dtype);
        const dV = zeros(V.shape, dtype);
        const dP = zeros(P.shape, dtype);
        const dbu = zeros([rank], dtype);
        const dbv = zeros([rank], dtype);
        const dbp = zeros([outDim], dtype);
        const d = (t: Tensor): FloatArray => t.data as FloatArray;
        kernel("lowRankBilinearPool.backward", dtype, mlbBackward)(
          g.data, x.data, y.data, U.data, V.data, P.data, bu?.data ?? null, bv?.data ?? null,
          d(dx), d(dy), d(dU), d(dV), d(dP), d(dbu), d(dbv), d(dbp), n, cx, cy, l, yStep, rank, outDim, mode, tanh,
        );
        // a bias's shape is [rank] or [outDim], as these gradients (geometry() checked it)
        const bias = (b: Tensor | null, t: Tensor): Tensor | null => {
          if (b) return t;
          t.dispose();
          return null;
        };
        return [dx, dy, dU, dV, dP, bias(bu, dbu), bias(bv, dbv), bias(bp, dbp)];
      },
    };
  },
});
