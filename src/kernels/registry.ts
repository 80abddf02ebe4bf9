/**
 * The kernel table: ops reach every kernel through `kernel(name, dtype, reference)`, where `reference`
 * is the TypeScript implementation (the readable reference every backend is tested against). A
 * backend registers a replacement per kernel name and dtype with {@link registerKernel}; the op code
 * does not change.
 *
 * Keyed by *kernel*, not by op: one kernel (e.g. `maxWindows.forward`, used by max pooling, adaptive
 * max pooling, mixed pooling, stochastic pooling's backward and spatial pyramid pooling) has one name,
 * so one replacement speeds up every op that uses it. test/backends/kernels.test.ts checks that every
 * name has one reference function and every function one name, and that every op reaches its kernels.
 *
 * Kernels take typed-array views (TypeScript) of storage plus the op's geometry plan — never option
 * objects. Views are evaluated at the call and valid for its duration only; a WebAssembly kernel turns
 * a view of its linear memory into a pointer (`byteOffset`) and copies anything else in.
 */
import type { BlockGeometry } from "../geometry/blocks.js";
import type { Axes3 } from "../geometry/plan.js";
import type { RoiAlignPlan, RoiPoolPlan } from "../geometry/roi.js";
import type { DType, FloatArray, TypedArray } from "../tensor/dtype.js";

/** Signatures of the kernels that backends replace (the rest are typed by their reference function). */
export interface WindowKernels {
  /** y = max over each window, idx = flat in-plane index of the maximum (PyTorch scan order, NaN propagates). */
  "maxWindows.forward": (x: FloatArray, y: FloatArray, idx: Int32Array, planes: number, axes: Axes3) => void;
  /** dx[plane][idx] += dy (dx zero-filled by the caller). */
  "maxWindows.backward": (dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, inPlane: number, outPlane: number) => void;
  /** y = window sum / divisor[o]. */
  "avgWindows.forward": (x: FloatArray, y: FloatArray, planes: number, axes: Axes3, divisor: Float64Array) => void;
  /** dx[window] += dy / divisor[o] (dx zero-filled by the caller). */
  "avgWindows.backward": (dy: FloatArray, dx: FloatArray, planes: number, axes: Axes3, divisor: Float64Array) => void;
}

// The matrix core (src/linalg/gemm.ts): keyed by C's dtype; A and B may each be float32 or float64.
/** Signatures of the matrix core's kernels (references `gemmReference` / `syrkReference`). */
export interface LinalgKernels {
  /** C = α·op(A)·op(B) + β·C, row-major, leading dimensions and element offsets (see `gemm`). */
  "linalg.gemm": (
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: FloatArray, aOff: number, lda: number, b: FloatArray, bOff: number, ldb: number,
    beta: number, c: FloatArray, cOff: number, ldc: number,
  ) => void;
  /** C = α·A·Aᵀ + β·C (or α·Aᵀ·A + β·C when `trans`), exactly symmetric (see `syrk`). */
  "linalg.syrk": (trans: boolean, n: number, k: number, alpha: number, a: FloatArray, aOff: number, lda: number, beta: number, c: FloatArray, cOff: number, ldc: number) => void;
  /** The upper triangle of C = α·op(A)·op(B) + β·C (n × n), mirrored to the lower (see `gemmt`). */
  "linalg.gemmt": (
    transA: boolean, transB: boolean, n: number, k: number, alpha: number,
    a: FloatArray, aOff: number, lda: number, b: FloatArray, bOff: number, ldb: number,
    beta: number, c: FloatArray, cOff: number, ldc: number,
  ) => void;
  /** `count` float32-arithmetic GEMMs into a float32 C, optionally upper triangle + mirror (see `gemmF32`). */
  "linalg.gemmF32": (
    count: number, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: FloatArray, aOff: number, lda: number, strideA: number, b: FloatArray, bOff: number, ldb: number, strideB: number,
    beta: number, c: Float32Array, cOff: number, ldc: number, strideC: number, upper: boolean,
  ) => void;
  /** `count` GEMMs whose A, B, C start `strideA`, `strideB`, `strideC` elements apart (see `gemmBatched`). */
  "linalg.gemmBatched": (
    count: number, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: FloatArray, aOff: number, lda: number, strideA: number, b: FloatArray, bOff: number, ldb: number, strideB: number,
    beta: number, c: FloatArray, cOff: number, ldc: number, strideC: number,
  ) => void;
  /** `count` SYRKs `strideA` / `strideC` elements apart (see `syrkBatched`). */
  "linalg.syrkBatched": (
    count: number, trans: boolean, n: number, k: number, alpha: number, a: FloatArray, aOff: number, lda: number, strideA: number,
    beta: number, c: FloatArray, cOff: number, ldc: number, strideC: number,
  ) => void;
  /** `count` upper-triangle GEMMs (mirrored) `strideA` / `strideB` / `strideC` elements apart (see `gemmtBatched`). */
  "linalg.gemmtBatched": (
    count: number, transA: boolean, transB: boolean, n: number, k: number, alpha: number,
    a: FloatArray, aOff: number, lda: number, strideA: number, b: FloatArray, bOff: number, ldb: number, strideB: number,
    beta: number, c: FloatArray, cOff: number, ldc: number, strideC: number,
  ) => void;
  /**
   * Covariance pooling's row centring, keyed by x's dtype: out[outOff + i·m + t] = x[xOff + i·m + t] − mean_i
   * for the d × m block, each mean the sequential float64 sum of its row divided by m (see `centreInto`).
   */
  "linalg.centreRows": (x: FloatArray, xOff: number, d: number, m: number, out: Float64Array, outOff: number) => void;
  // The symmetric eigensolver's divide-and-conquer path (src/linalg/eigen.ts), float64 only.
  /** A zero-filled float64 scratch array of `length` (a backend's: its kernels then read it in place); give it back with `linalg.releaseWorkspace`. */
  "linalg.workspace": (length: number) => Float64Array;
  /** Return an array from `linalg.workspace` (no use of it afterwards). */
  "linalg.releaseWorkspace": (ws: Float64Array) => void;
  /** One panel of the blocked Householder tridiagonalisation, without its trailing update (see `trdPanelReference`). */
  "linalg.trdPanel": (
    m: Float64Array, n: number, k0: number, nb: number, d: Float64Array, e: Float64Array, beta: Float64Array,
    vw: Float64Array, wv: Float64Array, v: Float64Array, p: Float64Array, y: Float64Array,
  ) => void;
  /** The unblocked Householder tridiagonalisation of rows k0 … n−1 (see `trdUnblockedReference`); `work` ≥ 5n. */
  "linalg.trdUnblocked": (m: Float64Array, n: number, k0: number, d: Float64Array, e: Float64Array, beta: Float64Array, work: Float64Array) => void;
  /** The roots and eigenvectors of D + ρ z zᵀ in a divide-and-conquer merge (see `secularSolveReference`). */
  "linalg.secular": (
    k: number, d: Float64Array, z: Float64Array, rho: number, origin: Int32Array, tau: Float64Array, del: Float64Array,
    u: Float64Array, zhat: Float64Array, pos: Int32Array,
  ) => void;
  /** Vᵀ and T of the compact WY form of nb Householder reflectors of the tridiagonalisation (see `wyReference`). */
  "linalg.wy": (m: Float64Array, n: number, k0: number, nb: number, beta: Float64Array, vt: Float64Array, t: Float64Array, ldt: number) => void;
  /** dst[r·n + i] = src[r·n + order[i]]: the columns of the row-major n × n src in the given order (see `gatherColumnsReference`). */
  "linalg.gatherColumns": (src: Float64Array, dst: Float64Array, n: number, order: Int32Array) => void;
  /** A divide-and-conquer merge's packed operands from its block of eigenvectors (see `dcPackReference`). */
  "linalg.dcPack": (
    z: Float64Array, ld: number, n1: number, n2: number, k: number, k1: number, k2: number, nd: Int32Array, pos: Int32Array,
    q: Float64Array, df: Int32Array, nDefl: number, defl: Float64Array,
  ) => void;
  /** A rows × cols block copy between row-major arrays of row strides ldSrc and ldDst (see `copyBlockReference`). */
  "linalg.copyBlock": (src: Float64Array, ldSrc: number, dst: Float64Array, ldDst: number, rows: number, cols: number) => void;
  /** a[i] ← a[i]·b[i] for i < len (see `hadamardReference`). */
  "linalg.hadamard": (a: Float64Array, b: Float64Array, len: number) => void;
  /**
   * All eigenpairs of the n × n symmetric tridiagonal (d, e) by divide and conquer, into the row-major z;
   * `scratch` ≥ `dcScratch(n)` float64 (see `tridiagonalEigDC`); false if QL fails on a leaf.
   */
  "linalg.dcSolve": (d: Float64Array, e: Float64Array, n: number, z: Float64Array, scratch?: Float64Array) => boolean;
  /**
   * The divide-and-conquer eigendecomposition of `count` scaled symmetric n × n matrices (a, values, ok
   * on the JS heap): each matrix overwritten by its eigenvectors, sorted by decreasing eigenvalue, its
   * eigenvalues into values, ok[s] = 1 or 0 (QL failed); see `symEigDCReference`.
   */
  "linalg.symEigDC": (count: number, n: number, a: Float64Array, values: Float64Array, ok: Int32Array) => void;
  /** Implicit QL on an n × n tridiagonal, rotating the block of z with row stride ld (see `qlReference`); false if not converged. */
  "linalg.ql": (
    d: Float64Array, e: Float64Array, z: Float64Array, n: number, ld: number, maxIterations: number, cs: Float64Array, sn: Float64Array,
  ) => boolean;
}

/**
 * Signed square root and L2 normalisation applied to `rows` vectors of length `dim`. Vector r is the
 * pair (n, l) = (⌊r/stride⌋, r mod stride) and starts at n·dim·stride + l.
 */
export interface PostPlan {
  readonly rows: number;
  readonly dim: number;
  /** Distance between consecutive elements of a vector: 1 for `[N, D]`, L for `[N, D, ...spatial]`. */
  readonly stride: number;
  readonly signedSqrt: boolean;
  readonly l2: boolean;
  readonly sqrtEps: number;
  readonly l2Eps: number;
}

/**
 * Signatures of the other kernels, by family (the reference implementations live in
 * src/kernels/<family>.ts, named in the comments): a backend's replacement registered with
 * {@link registerKernel}, and the reference passed to {@link kernel} at each call site, are
 * type-checked against them. The table imports no kernel code and no op.
 */
export interface FamilyKernels {
  // weighted windows (src/kernels/weighted.ts)
  "softmaxWindows.forward": (x: FloatArray, L: FloatArray, y: FloatArray, planes: number, axes: Axes3, E: FloatArray | null) => boolean;
  "softmaxWindows.backward": (
    x: FloatArray, L: FloatArray, _y: FloatArray, dy: FloatArray, dx: FloatArray, dL: FloatArray | null, planes: number, axes: Axes3, E: FloatArray | null,
  ) => void;
  "lpPool.forward": (x: FloatArray, s: FloatArray, u: FloatArray, y: FloatArray, p: number, area: number, planes: number, axes: Axes3, div: Float64Array) => void;
  "lpPool.backward": (x: FloatArray, s: FloatArray, u: FloatArray, dy: FloatArray, dx: FloatArray, p: number, area: number, planes: number, axes: Axes3, div: Float64Array) => void;
  "detailPreservingPool.forward": (x: FloatArray, thA: FloatArray, thL: FloatArray, filt: FloatArray | null, y: FloatArray, planes: number, channels: number, geom: BlockGeometry, asym: boolean) => void;
  "detailPreservingPool.backward": (x: FloatArray, thA: FloatArray, thL: FloatArray, filt: FloatArray | null, dy: FloatArray, dx: FloatArray, gA: Float64Array, gL: Float64Array, gF: Float64Array | null, planes: number, channels: number, geom: BlockGeometry, asym: boolean) => void;
  // per-plane windows (src/kernels/window.ts)
  /** y = max over each window, values only: bit-identical to `maxWindows.forward`'s y (plain forward calls). */
  "maxWindows.forwardValues": (x: FloatArray, y: FloatArray, planes: number, axes: Axes3) => void;
  /** dx = 0, then `avgWindows.backward` (dx's contents on entry ignored). */
  "avgWindows.backwardWrite": (dy: FloatArray, dx: FloatArray, planes: number, axes: Axes3, divisor: Float64Array) => void;
  "fractionalMaxPool.forward": (x: FloatArray, y: FloatArray, idx: Int32Array, inPlane: number, outPlane: number, planeAxes: readonly Axes3[]) => void;
  // stochastic windows (src/kernels/stochastic.ts)
  "stochasticPool.forwardTrain": (x: FloatArray, u: FloatArray, y: FloatArray, idx: Int32Array, planes: number, axes: Axes3) => void;
  "stochasticPool.forwardEval": (x: FloatArray, y: FloatArray, sums: Float64Array, planes: number, axes: Axes3) => void;
  "stochasticPool.backwardEval": (dy: FloatArray, x: FloatArray, y: FloatArray, sums: Float64Array, dx: FloatArray, planes: number, axes: Axes3) => void;
  // regions (src/kernels/region.ts); roiPool's arg: the saved argmax, 16-bit entries packed two per word when roiArgCompact
  "roiPool.forward": (x: FloatArray, y: FloatArray, arg: Int32Array, p: RoiPoolPlan) => void;
  "roiPool.backward": (dy: FloatArray, arg: Int32Array, dx: FloatArray, p: RoiPoolPlan) => void;
  "roiAlign.forward": (x: FloatArray, y: FloatArray, p: RoiAlignPlan) => void;
  "roiAlign.backward": (dy: FloatArray, dx: FloatArray, p: RoiAlignPlan) => void;
  "dynamicPool.forward": (x: FloatArray, y: FloatArray, win: Int32Array, planes: number, H: number, W: number, outH: number, outW: number, geo: Float64Array) => void;
  "dynamicPool.backward": (x: FloatArray, dy: FloatArray, win: Int32Array, dx: FloatArray, gGeo: Float64Array, planes: number, H: number, W: number, outH: number, outW: number, geo: Float64Array) => void;
  // scatter (src/kernels/scatter.ts)
  /** dx = 0, then dx[plane][idx] += dy in output order (dx's contents on entry ignored); `axes`: the forward's windows. */
  "maxWindows.backwardWrite": (dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, axes: Axes3) => void;
  /** dx = 0, then dx[plane][idx] += dy in output order (dx's contents on entry ignored); per-plane windows. */
  "maxWindows.scatterWrite": (dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, inPlane: number, outPlane: number) => void;
  /**
   * Mixed pooling's backward, dx written: maxBackward(w·dy) by `idx` + avgBackward((1 − w)·dy) over `axes`;
   * w: the max-branch weight per plane (length `planes`) or per output element.
   */
  "mix.backward": (dy: FloatArray, w: Float64Array, idx: Int32Array, dx: FloatArray, planes: number, axes: Axes3, divisor: Float64Array) => void;
  /** y = 0, then y[plane][idx[i]] = x[i] in order; returns the flat position of the first index outside [0, outPlane), or −1 (then y is not an answer). */
  "maxUnpool.forward": (x: FloatArray, idx: Int32Array, y: FloatArray, planes: number, inPlane: number, outPlane: number) => number;
  "maxUnpool.backward": (dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, inPlane: number, outPlane: number) => void;
  // mixing (src/kernels/mix.ts)
  "mix.forward": (mx: FloatArray, av: FloatArray, w: Float64Array, y: FloatArray) => void;
  "gatedMixPool.forward": (x: FloatArray, omega: FloatArray, y: FloatArray, gate: Float64Array, idx: Int32Array, diff: Float64Array, planes: number, channels: number, perChannel: boolean, axes: Axes3, kW: number, kk: number) => void;
  "gatedMixPool.backward": (dy: FloatArray, x: FloatArray, omega: FloatArray, gate: Float64Array, idx: Int32Array, diff: Float64Array, dx: FloatArray, dOmega: Float64Array, planes: number, channels: number, perChannel: boolean, axes: Axes3, kW: number, kk: number) => void;
  "treePool.forward": (x: FloatArray, v1: FloatArray, v2: FloatArray, omega: FloatArray, y: FloatArray, gate: Float64Array, diff: Float64Array, planes: number, channels: number, perChannel: boolean, axes: Axes3, kW: number, kk: number) => void;
  "treePool.backward": (dy: FloatArray, x: FloatArray, v1: FloatArray, v2: FloatArray, omega: FloatArray, gate: Float64Array, diff: Float64Array, dx: FloatArray, dv1: Float64Array, dv2: Float64Array, dOmega: Float64Array, planes: number, channels: number, perChannel: boolean, axes: Axes3, kW: number, kk: number) => void;
  // bilinear (src/kernels/bilinear.ts)
  "bilinear.signedSqrtL2": (p: PostPlan, v: FloatArray, u: FloatArray, z: FloatArray) => Float64Array;
  "bilinear.signedSqrtL2Backward": (p: PostPlan, v: FloatArray, u: FloatArray, norms: Float64Array, dz: TypedArray, dv: FloatArray) => void;
  "bilinearPool.gram": (a: TypedArray, b: TypedArray, out: FloatArray, n: number, ca: number, cb: number, l: number, scale: number, same: boolean) => void;
  "bilinearPool.gramBackward": (g: FloatArray, a: TypedArray, b: TypedArray, da: FloatArray, db: FloatArray | null, n: number, ca: number, cb: number, l: number, scale: number) => void;
  "compactBilinearPool.tensorSketch": (a: TypedArray, b: TypedArray, out: FloatArray, n: number, c1: number, c2: number, l: number, bBroadcast: boolean, d: number, h1: Int32Array, s1: Float64Array, h2: Int32Array, s2: Float64Array, zeroed: Int32Array, sumPool: boolean) => void;
  "compactBilinearPool.tensorSketchBackward": (g: FloatArray, a: TypedArray, b: TypedArray, da: FloatArray, db: FloatArray | null, n: number, c1: number, c2: number, l: number, bBroadcast: boolean, d: number, h1: Int32Array, s1: Float64Array, h2: Int32Array, s2: Float64Array, zeroed: Int32Array, sumPool: boolean) => void;
  "compactBilinearPool.randomMaclaurin": (a: TypedArray, b: TypedArray, out: FloatArray, n: number, c1: number, c2: number, l: number, bBroadcast: boolean, d: number, w1: Float64Array, w2: Float64Array, sumPool: boolean) => void;
  "compactBilinearPool.randomMaclaurinBackward": (g: FloatArray, a: TypedArray, b: TypedArray, da: FloatArray, db: FloatArray | null, n: number, c1: number, c2: number, l: number, bBroadcast: boolean, d: number, w1: Float64Array, w2: Float64Array, sumPool: boolean) => void;
  "lowRankBilinearPool.forward": (x: TypedArray, y: TypedArray, U: TypedArray, V: TypedArray, P: TypedArray, bu: TypedArray | null, bv: TypedArray | null, bp: TypedArray | null, out: FloatArray, n: number, cx: number, cy: number, l: number, yStep: number, rank: number, outDim: number, mode: number, tanh: number, keep?: MlbKept | null) => void;
  "lowRankBilinearPool.backward": (g: TypedArray, x: TypedArray, y: TypedArray, U: TypedArray, V: TypedArray, P: TypedArray, bu: TypedArray | null, bv: TypedArray | null, dx: FloatArray, dy: FloatArray, dU: FloatArray, dV: FloatArray, dP: FloatArray, dbu: FloatArray, dbv: FloatArray, dbp: FloatArray, n: number, cx: number, cy: number, l: number, yStep: number, rank: number, outDim: number, mode: number, tanh: number, keep?: MlbKept | null) => void;
}

/**
 * MLB's σ(U x_l + b_u) and σ(V y_l + b_v), n·rank·l float64 each, kept by the forward pass for the
 * backward (which otherwise recomputes them): image s's location block [l0, l0 + lb) at s·rank·l + rank·l0,
 * rank × lb row-major (src/kernels/bilinear.ts).
 */
export interface MlbKept {
  readonly a: Float64Array;
  readonly c: Float64Array;
}

/** Every kernel's signature, by kernel name. */
export type Kernels = WindowKernels & LinalgKernels & FamilyKernels;
export type KernelName = keyof Kernels;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyKernel = (...args: any[]) => unknown;

const overrides = new Map<string, AnyKernel>();

/** @internal Test hook: called with (name, dtype, reference) on every dispatch. */
let observer: ((name: KernelName, dtype: DType, reference: AnyKernel) => void) | null = null;
/** @internal Install (or remove, with null) the dispatch observer used by the kernel-coverage test. */
export function observeKernels(fn: ((name: KernelName, dtype: DType, reference: AnyKernel) => void) | null): void {
  observer = fn;
}

/** The implementation of kernel `name` for `dtype`: a registered replacement, else `reference`. */
export function kernel<K extends KernelName, F extends Kernels[K]>(name: K, dtype: DType, reference: F): F {
  if (observer !== null) observer(name, dtype, reference);
  if (overrides.size === 0) return reference;
  return (overrides.get(`${name}:${dtype}`) as F | undefined) ?? reference;
}

/**
 * Replace kernel `name` for `dtype` (every op using that kernel picks it up). The implementation must
 * give the reference's results: max-type outputs and indices bit-identical, sums within float32
 * accumulation error.
 */
export function registerKernel<K extends KernelName>(name: K, dtype: DType, impl: Kernels[K]): void {
  overrides.set(`${name}:${dtype}`, impl as AnyKernel);
}

/** Remove a replacement registered with {@link registerKernel} (the reference runs again). */
export function unregisterKernel(name: KernelName, dtype: DType): void {
  overrides.delete(`${name}:${dtype}`);
}
