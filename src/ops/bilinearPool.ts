/**
 * Bilinear pooling (B-CNN): the location-pooled outer product of two feature maps, then signed
 * square root and L2 normalisation. Also home of the pieces the other bilinear ops share: the
 * feature-map checks and the signed-√ / L2 post-processing with its exact backward.
 */
import { boolOption, enumOption, expectFloatTensor, expectOptions, numberOption, expectShapeArray } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { gramBackward, gramForward, postBackward, postForward, type PostPlan } from "../kernels/bilinear.js";
import { kernel } from "../kernels/registry.js";
import { defineOp } from "../op.js";
import type { FloatArray, FloatDType } from "../tensor/dtype.js";
import { emptyTensor, Tensor } from "../tensor/tensor.js";

// ---------------------------------------------------------------------------------------------
// Shared by the bilinear ops (not part of the public barrel)
// ---------------------------------------------------------------------------------------------

/** A feature map `[N, C, ...spatial]` seen as N matrices of C rows by L = Π spatial columns. */
export interface FeatureMap {
  readonly n: number;
  readonly c: number;
  readonly spatial: readonly number[];
  /** Number of locations, Π spatial (1 when there are no spatial dims). */
  readonly l: number;
  readonly dtype: FloatDType;
}

/** A float tensor `[N, C, ...spatial]` (rank ≥ 2) with non-empty channel and spatial dims. */
export function featureMap(op: string, name: string, x: unknown): FeatureMap {
  expectFloatTensor(op, name, x);
  featureShape(op, name, x.shape);
  const s = x.shape;
  const spatial = s.slice(2);
  return { n: s[0] as number, c: s[1] as number, spatial, l: spatial.reduce((p, d) => p * d, 1), dtype: x.dtype };
}

/** The shape-level checks of {@link featureMap}, for `outputShape`: the same messages. */
export function featureShape(op: string, name: string, shape: unknown): void {
  const s = expectShapeArray(op, shape);
  if (s.length < 2) throw new PoolkitRangeError(op, `${name} must have shape [N, C, H, W] (or [N, C, ...spatial]), got ${show(s)}`);
  for (let i = 1; i < s.length; i++) {
    if (s[i] === 0) throw new PoolkitRangeError(op, `${name} must have non-empty channel and spatial dims, got shape ${show(s)}`);
  }
}

/**
 * A second stream: same dtype, batch size and spatial dims as the first (channels may differ); with
 * `allowBroadcast`, also `[N, C]` (no spatial dims) for a first stream with spatial dims.
 */
export function pairedFeatureMap(op: string, name: string, y: unknown, first: FeatureMap, firstName: string, allowBroadcast = false): FeatureMap {
  const f = featureMap(op, name, y);
  const t = y as Tensor;
  if (f.dtype !== first.dtype) throw new PoolkitTypeError(op, `${name} must have ${firstName}'s dtype ${first.dtype}, got ${f.dtype}`);
  const sameSpatial = f.spatial.length === first.spatial.length && f.spatial.every((d, i) => d === first.spatial[i]);
  const broadcast = allowBroadcast && f.spatial.length === 0;
  if (f.n !== first.n || !(sameSpatial || broadcast)) {
    const want = `[${[first.n, "C", ...first.spatial].join(", ")}]`;
    const alt = allowBroadcast && first.spatial.length > 0 ? ` (or be [${first.n}, C], broadcast over locations)` : "";
    throw new PoolkitRangeError(op, `${name} must have the batch size and spatial size of ${firstName} ${want}${alt}, got shape ${show(t.shape)}`);
  }
  return f;
}

export interface PostOptions {
  /** Signed square root sign(v)·√|v| of every entry (default true). */
  signedSqrt?: boolean;
  /** L2-normalise each output vector: z = u / √(Σu² + l2Eps) (default true). */
  l2?: boolean;
  /** ε inside the signed-√ derivative 0.5/√(|v| + ε) in the backward (default 1e-8, official B-CNN). */
  sqrtEps?: number;
  /** ε in the L2 norm √(Σu² + ε) (default 1e-10, official B-CNN). */
  l2Eps?: number;
}

/** The option names of {@link PostOptions}. */
export const POST_KEYS = ["signedSqrt", "l2", "sqrtEps", "l2Eps"] as const;

/** Validated {@link PostOptions} with their defaults. */
export function postOptions(op: string, o: PostOptions): Pick<PostPlan, "signedSqrt" | "l2" | "sqrtEps" | "l2Eps"> {
  return {
    signedSqrt: boolOption(op, "signedSqrt", o.signedSqrt, true),
    l2: boolOption(op, "l2", o.l2, true),
    sqrtEps: numberOption(op, "sqrtEps", o.sqrtEps, 1e-8, { min: 0, minExclusive: true, max: Infinity, maxExclusive: true }),
    l2Eps: numberOption(op, "l2Eps", o.l2Eps, 1e-10, { min: 0, minExclusive: true, max: Infinity, maxExclusive: true }),
  };
}

/**
 * Split `(x, y?, opts?)` where y may be left out: `op(x, opts)` is homogeneous. Returns y or null.
 */
export function splitOptionalSecond<O>(op: string, second: unknown, opts: unknown): { y: Tensor | null; opts: O | undefined } {
  if (second === undefined || second === null) return { y: null, opts: opts as O | undefined };
  if (second instanceof Tensor) return { y: second, opts: opts as O | undefined };
  if (typeof second === "object" && !Array.isArray(second) && opts === undefined) return { y: null, opts: second as O };
  throw new PoolkitTypeError(op, `b must be a Tensor, null or omitted, got ${show(second)}`);
}

// ---------------------------------------------------------------------------------------------
// The op
// ---------------------------------------------------------------------------------------------

export interface BilinearPoolOptions extends PostOptions {
  /** Pool the outer products over locations by `"sum"` (the ICCV 2015 paper; default) or `"mean"`. */
  pooling?: "sum" | "mean";
}

const KNOWN = ["pooling", ...POST_KEYS] as const;

function shapes(op: string, a: unknown, b: unknown): { fa: FeatureMap; fb: FeatureMap | null } {
  const fa = featureMap(op, "a", a);
  const fb = b === null ? null : pairedFeatureMap(op, "b", b, fa, "a");
  return { fa, fb };
}

/** The plan of bilinear pooling: sizes, the pooling scale and the post-processing of the `[N, M·P]` vectors. */
export interface BilinearPoolPlan {
  readonly n: number;
  readonly ca: number;
  readonly cb: number;
  readonly l: number;
  readonly dim: number;
  readonly scale: number;
  readonly post: PostPlan;
  readonly outShape: readonly number[];
}

/**
 * The one plan of bilinear pooling: `[N, M·P]` for a `[N, M, ...]` and b `[N, P, ...]`; `[N, M²]` when
 * b is omitted (null). Options are optional (outputShape does not need them).
 */
function planBilinear(aShape: readonly number[], bShape?: readonly number[] | null, options?: BilinearPoolOptions): BilinearPoolPlan {
  const op = "bilinearPool";
  featureShape(op, "a", aShape);
  if (bShape) {
    featureShape(op, "b", bShape);
    // As pairedFeatureMap: b must share a's batch size and spatial size.
    if (bShape.length !== aShape.length || bShape.some((v, i) => i !== 1 && v !== aShape[i])) {
      const want = `[${[aShape[0], "C", ...aShape.slice(2)].join(", ")}]`;
      throw new PoolkitRangeError(op, `b must have the batch size and spatial size of a ${want}, got shape ${show(bShape)}`);
    }
  }
  const o = expectOptions<BilinearPoolOptions>(op, options, KNOWN);
  const pooling = enumOption(op, "pooling", o.pooling, ["sum", "mean"] as const, "sum");
  const post = postOptions(op, o);
  const n = aShape[0] ?? 0;
  const ca = aShape[1] ?? 0;
  const cb = bShape ? (bShape[1] ?? 0) : ca;
  const l = aShape.slice(2).reduce((p, d) => p * d, 1);
  const dim = ca * cb;
  return { n, ca, cb, l, dim, scale: pooling === "mean" ? 1 / l : 1, post: { rows: n, dim, stride: 1, ...post }, outShape: [n, dim] };
}

/**
 * Bilinear (B-CNN) pooling of one or two feature maps (Lin, RoyChowdhury & Maji, "Bilinear CNN
 * Models for Fine-grained Visual Recognition", ICCV 2015).
 *
 * Shapes: a `[N, M, H, W]`, b `[N, P, H, W]` (same N, H, W; any number of spatial dims, including
 * none) → `[N, M·P]`. With b omitted the pooling is homogeneous (b = a) → `[N, M²]`.
 *
 * Per image, with A `[M, L]` and B `[P, L]` the maps flattened over the L = H·W locations:
 *   Φ = s · A Bᵀ (s = 1 for `"sum"`, 1/L for `"mean"`),  v = vec(Φ) row-major (index a·P + b),
 *   u = sign(v)·√|v|,  z = u / √(Σu² + l2Eps).
 *
 * Backward: exact. dz → du (L2) → dv = du·0.5/√(|v| + sqrtEps) → G; da = s·G B, db = s·Gᵀ A.
 * In the homogeneous case da = s·(G + Gᵀ) A, the true gradient.
 *
 * Deviations from the official MATLAB B-CNN (`vl_nnbilinearpool` / `vl_nnbilinearclpool`, read in
 * the `zwx8981/DBCNN` mirror): its one-stream layer averages and its backward `G A/(hw)` is half the
 * exact gradient for symmetric G — here it is exact; pooling is a sum by default for both cases
 * (the paper's definition; after signed √ + L2 a positive scale cancels up to ε). Maps of
 * different H×W are an error here rather than subsampled. The signed √ has no ε in the forward
 * and ε = `sqrtEps` inside the √ of its derivative (as `vl_nnsqrt`), so the gradient is finite at 0.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const a = randn([2, 8, 7, 7]), b = randn([2, 4, 7, 7]);
 * bilinearPool(a);                                   // [2, 64], unit L2 norm per row
 * const { output, backward } = bilinearPool.vjp(a, b, { pooling: "mean" });  // output [2, 32]
 * const [da, db] = backward(randn([2, 32]));          // homogeneous bilinearPool.vjp(a): [da] only
 */
export const bilinearPool = defineOp("bilinearPool", {
  planArgs: (
    a: Tensor,
    b?: Tensor | BilinearPoolOptions | null,
    options?: BilinearPoolOptions,
  ): [readonly number[], readonly number[] | null, BilinearPoolOptions | undefined] => {
    const op = "bilinearPool";
    const split = splitOptionalSecond<BilinearPoolOptions>(op, b, options);
    shapes(op, a, split.y); // dtypes and shapes of both streams, in order
    return [a.shape, split.y ? split.y.shape : null, split.opts];
  },
  plan: planBilinear,
  forward: (plan, a, b) => {
    const bT = b instanceof Tensor ? b : null;
    const { n, ca, cb, l, dim, scale } = plan;
    const dtype = a.dtype as FloatDType;
    // v and u (kept for backward) and the output z where the backend keeps tensors, not zero-filled: the
    // Gram (β = 0) and the post-processing (stride 1, every row) write every element; views read at each call
    const v = emptyTensor([n * dim], dtype);
    kernel("bilinearPool.gram", dtype, gramForward)(a.data, bT ? bT.data : a.data, v.data as FloatArray, n, ca, cb, l, scale, bT === null);
    const u = emptyTensor([n * dim], dtype);
    const z = emptyTensor(plan.outShape, dtype);
    const norms = kernel("bilinear.signedSqrtL2", dtype, postForward)(plan.post, v.data as FloatArray, u.data as FloatArray, z.data as FloatArray);

    return {
      output: z,
      backward: (dz: Tensor) => {
        const g = emptyTensor([n * dim], dtype); // every element written (stride 1)
        kernel("bilinear.signedSqrtL2Backward", dtype, postBackward)(plan.post, v.data as FloatArray, u.data as FloatArray, norms, dz.data, g.data as FloatArray);
        // every element written by the products (β = 0)
        const da = emptyTensor(a.shape, dtype);
        const db = bT ? emptyTensor(bT.shape, dtype) : null;
        kernel("bilinearPool.gramBackward", dtype, gramBackward)(
          g.data as FloatArray, a.data, bT ? bT.data : a.data, da.data as FloatArray, db ? (db.data as FloatArray) : null, n, ca, cb, l, scale,
        );
        g.dispose();
        return db ? [da, db] : [da];
      },
    };
  },
});
