/**
 * Low-rank bilinear pooling in the Hadamard-product form of MLB (Kim et al., ICLR 2017), which also
 * expresses Kong & Fowlkes' low-rank bilinear classifier (LRBP, CVPR 2017) exactly.
 */
import { enumOption, expectFloatTensor, expectOptions, numberOption } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { mlbBackward, mlbForward } from "../kernels/bilinear.js";
import { kernel, type MlbKept } from "../kernels/registry.js";
import { defineOp } from "../op.js";
import type { FloatArray, FloatDType } from "../tensor/dtype.js";
import { emptyTensor, Tensor } from "../tensor/tensor.js";
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

/** Most σ values (N·rank·L, float64, for each of the two projections) the forward keeps for the backward: 4 Mi (32 MiB each). */
const KEEP_MAX = 1 << 22;

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
    // the output where the backend keeps tensors (every element written by the kernel); views read at each call
    const output = emptyTensor(plan.outShape, dtype);
    // σ(U x + b_u), σ(V y + b_v) kept for the backward pass (which else recomputes both projections and
    // every tanh: a third of fwd+bwd's GEMM work), unless they would take more than KEEP_MAX values each
    const size = n * rank * l;
    // (tensors, so they live where the backend keeps tensors and its kernels read them in place; every
    // element is written by the forward kernel; views taken at each call)
    const kept = size <= KEEP_MAX ? [emptyTensor([size], "float64"), emptyTensor([size], "float64")] as const : null;
    const keep = (): MlbKept | null => (kept ? { a: kept[0].data as Float64Array, c: kept[1].data as Float64Array } : null);
    kernel("lowRankBilinearPool.forward", dtype, mlbForward)(
      x.data, y.data, U.data, V.data, P.data, bu?.data ?? null, bv?.data ?? null, bp?.data ?? null, output.data as FloatArray,
      n, cx, cy, l, yStep, rank, outDim, mode, tanh, keep(),
    );
    return {
      output,
      backward: (g: Tensor) => {
        // every element of every gradient is written by the kernel
        const dx = emptyTensor(x.shape, dtype);
        const dy = emptyTensor(y.shape, dtype);
        const dU = emptyTensor(U.shape, dtype);
        const dV = emptyTensor(V.shape, dtype);
        const dP = emptyTensor(P.shape, dtype);
        const dbu = emptyTensor([rank], dtype);
        const dbv = emptyTensor([rank], dtype);
        const dbp = emptyTensor([outDim], dtype);
        const d = (t: Tensor): FloatArray => t.data as FloatArray;
        kernel("lowRankBilinearPool.backward", dtype, mlbBackward)(
          g.data, x.data, y.data, U.data, V.data, P.data, bu?.data ?? null, bv?.data ?? null,
          d(dx), d(dy), d(dU), d(dV), d(dP), d(dbu), d(dbv), d(dbp), n, cx, cy, l, yStep, rank, outDim, mode, tanh, keep(),
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
