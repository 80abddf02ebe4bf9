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
import type { Axes3 } from "../geometry/plan.js";
import type { DType, FloatArray } from "../tensor/dtype.js";

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
}

// Kernels private to one op: typed by the reference function passed at the call site.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type OpKernel = (...args: any[]) => unknown;
type OpKernelName =
  | "bilinear.signedSqrtL2" | "bilinear.signedSqrtL2Backward" | "bilinearPool.gram" | "bilinearPool.gramBackward"
  | "compactBilinearPool.randomMaclaurin" | "compactBilinearPool.randomMaclaurinBackward"
  | "compactBilinearPool.tensorSketch" | "compactBilinearPool.tensorSketchBackward"
  | "detailPreservingPool.forward" | "detailPreservingPool.backward" | "dynamicPool.forward" | "dynamicPool.backward"
  | "fractionalMaxPool.forward" | "gatedMixPool.forward" | "gatedMixPool.backward" | "mix.forward"
  | "softmaxWindows.forward" | "softmaxWindows.backward" | "lowRankBilinearPool.forward" | "lowRankBilinearPool.backward"
  | "lpPool.forward" | "lpPool.finishBackward" | "lpPool.powBackward"
  | "maxUnpool.forward" | "maxUnpool.backward" | "roiAlign.forward" | "roiAlign.backward" | "roiPool.forward" | "roiPool.backward"
  | "stochasticPool.forwardEval" | "stochasticPool.backwardEval" | "stochasticPool.forwardTrain"
  | "treePool.forward" | "treePool.backward";

/** Every kernel's signature, by kernel name. */
export type Kernels = WindowKernels & LinalgKernels & { [K in OpKernelName]: OpKernel };
export type KernelName = keyof Kernels;

const overrides = new Map<string, OpKernel>();

/** @internal Test hook: called with (name, dtype, reference) on every dispatch. */
let observer: ((name: KernelName, dtype: DType, reference: OpKernel) => void) | null = null;
/** @internal Install (or remove, with null) the dispatch observer used by the kernel-coverage test. */
export function observeKernels(fn: ((name: KernelName, dtype: DType, reference: OpKernel) => void) | null): void {
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
  overrides.set(`${name}:${dtype}`, impl as OpKernel);
}

/** Remove a replacement registered with {@link registerKernel} (the reference runs again). */
export function unregisterKernel(name: KernelName, dtype: DType): void {
  overrides.delete(`${name}:${dtype}`);
}
