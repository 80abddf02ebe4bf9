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
import type * as bilinear from "./bilinear.js";
import type * as mix from "./mix.js";
import type * as region from "./region.js";
import type * as scatter from "./scatter.js";
import type * as stochastic from "./stochastic.js";
import type * as weighted from "./weighted.js";
import type * as window from "./window.js";
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

/**
 * Signatures of the other kernels, by family: each is its reference implementation's type, so a
 * backend's replacement registered with {@link registerKernel} is type-checked against it.
 * (Type-only imports: the table loads no kernel code.)
 */
export interface FamilyKernels {
  // weighted windows (src/kernels/weighted.ts)
  "softmaxWindows.forward": typeof weighted.softmaxWindowsForward;
  "softmaxWindows.backward": typeof weighted.softmaxWindowsBackward;
  "lpPool.forward": typeof weighted.lpForward;
  "lpPool.finishBackward": typeof weighted.lpFinishBackward;
  "lpPool.powBackward": typeof weighted.lpPowBackward;
  "detailPreservingPool.forward": typeof weighted.dppForward;
  "detailPreservingPool.backward": typeof weighted.dppBackward;
  // per-plane windows (src/kernels/window.ts)
  "fractionalMaxPool.forward": typeof window.fractionalMaxForward;
  // stochastic windows (src/kernels/stochastic.ts)
  "stochasticPool.forwardTrain": typeof stochastic.stochasticTrainForward;
  "stochasticPool.forwardEval": typeof stochastic.stochasticEvalForward;
  "stochasticPool.backwardEval": typeof stochastic.stochasticEvalBackward;
  // regions (src/kernels/region.ts)
  "roiPool.forward": typeof region.roiPoolForward;
  "roiPool.backward": typeof region.roiPoolBackward;
  "roiAlign.forward": typeof region.roiAlignForward;
  "roiAlign.backward": typeof region.roiAlignBackward;
  "dynamicPool.forward": typeof region.dynamicPoolForward;
  "dynamicPool.backward": typeof region.dynamicPoolBackward;
  // scatter (src/kernels/scatter.ts)
  "maxUnpool.forward": typeof scatter.unpoolForward;
  "maxUnpool.backward": typeof scatter.unpoolBackward;
  // mixing (src/kernels/mix.ts)
  "mix.forward": typeof mix.mixForward;
  "gatedMixPool.forward": typeof mix.gatedForward;
  "gatedMixPool.backward": typeof mix.gatedBackward;
  "treePool.forward": typeof mix.treeForward;
  "treePool.backward": typeof mix.treeBackward;
  // bilinear (src/kernels/bilinear.ts)
  "bilinear.signedSqrtL2": typeof bilinear.postForward;
  "bilinear.signedSqrtL2Backward": typeof bilinear.postBackward;
  "bilinearPool.gram": typeof bilinear.gramForward;
  "bilinearPool.gramBackward": typeof bilinear.gramBackward;
  "compactBilinearPool.tensorSketch": typeof bilinear.tensorSketchForward;
  "compactBilinearPool.tensorSketchBackward": typeof bilinear.tensorSketchBackward;
  "compactBilinearPool.randomMaclaurin": typeof bilinear.randomMaclaurinForward;
  "compactBilinearPool.randomMaclaurinBackward": typeof bilinear.randomMaclaurinBackward;
  "lowRankBilinearPool.forward": typeof bilinear.mlbForward;
  "lowRankBilinearPool.backward": typeof bilinear.mlbBackward;
}

/** Every kernel's signature, by kernel name. */
export type Kernels = WindowKernels & FamilyKernels;
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
