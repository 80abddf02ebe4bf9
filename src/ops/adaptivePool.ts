/**
 * Adaptive average and max pooling, 1-d/2-d/3-d, as PyTorch 1.13 CPU computes them
 * (aten/src/ATen/native/AdaptivePooling.h for the bins; cpu/AdaptiveAvgPoolKernel.cpp,
 * cpu/AdaptiveMaxPoolKernel.cpp, AdaptiveAveragePooling3d.cpp, AdaptiveMaxPooling3d.cpp for the
 * loops). Bins come from src/geometry/adaptive.ts; the window kernels are the shared ones in
 * src/kernels/window.ts.
 */
import { expectOptions, spatialShapeInput } from "../check.js";
import { planAdaptiveFor } from "../geometry/adaptive.js";
import { avgDivisors } from "../geometry/divisors.js";
import type { WindowPlan } from "../geometry/plan.js";
import { kernel } from "../kernels/registry.js";
import { maxWindowsBackwardWrite } from "../kernels/scatter.js";
import { avgWindowsBackwardWrite, avgWindowsForward, maxWindowsForward } from "../kernels/window.js";
import { defineOp, xShapeArgs, type Grads } from "../op.js";
import type { FloatArray, FloatDType } from "../tensor/dtype.js";
import { emptyTensor, type Tensor } from "../tensor/tensor.js";

/** `outputSize`: one size for every spatial dim, or one per dim where `null` keeps the input size (PyTorch's `None`). */
export interface AdaptivePoolOptions {
  outputSize: number | readonly (number | null)[];
}

const KNOWN = ["outputSize"] as const;

/** The one plan of an adaptive avg/max op: shape and options parsed and checked once (the bins). */
function planAdaptiveOp(op: string, rank: 1 | 2 | 3) {
  return (shape: readonly number[], opts: AdaptivePoolOptions): WindowPlan => {
    const input = spatialShapeInput(op, "x", shape, rank);
    const o = expectOptions<AdaptivePoolOptions>(op, opts, KNOWN);
    return planAdaptiveFor(op, input, o.outputSize);
  };
}

/** Adaptive average pooling's plan: the bins and their sizes as divisors (PyTorch: sum / kh / kw). */
export interface AdaptiveAvgPlan extends WindowPlan {
  readonly divisor: Float64Array;
}

function adaptiveAvgPoolN(rank: 1 | 2 | 3) {
  const name = `adaptiveAvgPool${rank}d`;
  const bins = planAdaptiveOp(name, rank);
  return defineOp(name, {
    planArgs: xShapeArgs<AdaptivePoolOptions>(name),
    // Every bin is non-empty and unpadded, so its size is the divisor.
    plan: (shape: readonly number[], opts: AdaptivePoolOptions): AdaptiveAvgPlan => {
      const p = bins(shape, opts);
      return { ...p, divisor: avgDivisors(p.axes, true) };
    },
    forward: (p, x) => {
      const dtype = x.dtype as FloatDType;
      // output and gradient where the backend keeps tensors; views read at the call
      const output = emptyTensor(p.outShape, dtype);
      kernel("avgWindows.forward", dtype, avgWindowsForward)(x.data as FloatArray, output.data as FloatArray, p.planes, p.axes, p.divisor);
      return {
        output,
        backward: (dy: Tensor): Grads => {
          const dx = emptyTensor(p.inShape, dtype); // every element written by the kernel
          kernel("avgWindows.backwardWrite", dtype, avgWindowsBackwardWrite)(dy.data as FloatArray, dx.data as FloatArray, p.planes, p.axes, p.divisor);
          return [dx];
        },
      };
    },
  });
}

/** Forward of adaptive max: output, flat in-plane argmax indices (int32), backward. */
function adaptiveMaxCore(p: WindowPlan, x: Tensor) {
  const dtype = x.dtype as FloatDType;
  // output, indices and gradient where the backend keeps tensors; views read at the call
  const output = emptyTensor(p.outShape, dtype);
  const idx = emptyTensor(p.outShape, "int32");
  kernel("maxWindows.forward", dtype, maxWindowsForward)(x.data as FloatArray, output.data as FloatArray, idx.data as Int32Array, p.planes, p.axes);
  const backward = (dy: Tensor): Grads => {
    const dx = emptyTensor(p.inShape, dtype); // every element written by the kernel
    kernel("maxWindows.backwardWrite", dtype, maxWindowsBackwardWrite)(dy.data as FloatArray, idx.data as Int32Array, dx.data as FloatArray, p.planes, p.axes);
    return [dx];
  };
  return { output, idx, backward };
}

function adaptiveMaxPoolN(rank: 1 | 2 | 3) {
  const name = `adaptiveMaxPool${rank}d`;
  return defineOp(name, {
    planArgs: xShapeArgs<AdaptivePoolOptions>(name),
    plan: planAdaptiveOp(name, rank),
    forward: (p, x) => {
      const r = adaptiveMaxCore(p, x);
      return { output: r.output, backward: r.backward };
    },
  });
}

function adaptiveMaxPoolWithIndicesN(rank: 1 | 2 | 3) {
  const name = `adaptiveMaxPool${rank}dWithIndices`;
  return defineOp(name, {
    planArgs: xShapeArgs<AdaptivePoolOptions>(name),
    plan: planAdaptiveOp(name, rank),
    forward: (p, x) => {
      const r = adaptiveMaxCore(p, x);
      // A copy: the backward pass keeps its own indices even if the caller writes into these.
      const indices = emptyTensor(p.outShape, "int32");
      (indices.data as Int32Array).set(r.idx.data as Int32Array);
      return { output: { output: r.output, indices }, backward: r.backward };
    },
  });
}

/**
 * 1-d adaptive average pooling (PyTorch `F.adaptive_avg_pool1d`): `[N, C, L]` or `[C, L]` →
 * `[N, C, oL]` / `[C, oL]`.
 *
 * Bin i covers `[⌊i·L/oL⌋, ⌈(i+1)·L/oL⌉)` and outputs its mean; bins overlap when `L % oL ≠ 0` and
 * repeat elements when `oL > L`. Backward spreads `dy / binSize` over each bin, accumulating.
 * Sums run in double precision before the result is rounded to the input dtype, where PyTorch sums
 * in the dtype (float32 results may differ in the last bits).
 * Origin of the bins: He et al., Spatial Pyramid Pooling in Deep Convolutional Networks, ECCV 2014.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example adaptiveAvgPool1d(tensor([[1, 2, 3, 4, 5]]), { outputSize: 3 }) // [[1.5, 3, 4.5]]
 */
export const adaptiveAvgPool1d = adaptiveAvgPoolN(1);
/**
 * 2-d adaptive average pooling (PyTorch `F.adaptive_avg_pool2d`): `[N, C, H, W]` or `[C, H, W]` →
 * `[N, C, oH, oW]`; `outputSize` is a number or `[oH, oW]` where `null` keeps that input size.
 *
 * Bins per axis: `[⌊i·In/Out⌋, ⌈(i+1)·In/Out⌉)` (integer arithmetic, PyTorch AdaptivePooling.h);
 * output = bin mean; backward spreads `dy / (kh·kw)` over the bin, accumulating where bins overlap.
 * Sums run in double precision (PyTorch sums in the dtype). Bins as in He et al., SPP-net, ECCV 2014.
 *
 * @example adaptiveAvgPool2d(x, { outputSize: [null, 4] }) // [N, C, H, 4]
 */
export const adaptiveAvgPool2d = adaptiveAvgPoolN(2);
/**
 * 3-d adaptive average pooling (PyTorch `F.adaptive_avg_pool3d`): `[N, C, D, H, W]` or
 * `[C, D, H, W]` → `[N, C, oD, oH, oW]`; bins per axis `[⌊i·In/Out⌋, ⌈(i+1)·In/Out⌉)`, output = bin
 * mean, backward = `dy / binSize` spread over the bin. Sums in double precision.
 *
 * @example adaptiveAvgPool3d(x, { outputSize: 1 }) // global average, [N, C, 1, 1, 1]
 */
export const adaptiveAvgPool3d = adaptiveAvgPoolN(3);

/**
 * 1-d adaptive max pooling (PyTorch `F.adaptive_max_pool1d`): `[N, C, L]` / `[C, L]` → `[N, C, oL]`.
 * Bins `[⌊i·L/oL⌋, ⌈(i+1)·L/oL⌉)`; ties go to the first maximum, NaN propagates (the last NaN's
 * index wins); backward adds dy at each bin's argmax (accumulating over overlapping bins).
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example adaptiveMaxPool1d(tensor([[1, 9, 2, 3, 0]]), { outputSize: 3 }) // [[9, 9, 3]]
 */
export const adaptiveMaxPool1d = adaptiveMaxPoolN(1);
/**
 * 2-d adaptive max pooling (PyTorch `F.adaptive_max_pool2d`): `[N, C, H, W]` / `[C, H, W]` →
 * `[N, C, oH, oW]`; `outputSize` a number or `[oH, oW]` with `null` = keep. Bins per axis
 * `[⌊i·In/Out⌋, ⌈(i+1)·In/Out⌉)`; row-major scan, first maximum wins ties, NaN propagates (last NaN
 * wins); backward routes dy to the argmax, accumulating.
 *
 * @example adaptiveMaxPool2d(x, { outputSize: 7 }) // [N, C, 7, 7]
 */
export const adaptiveMaxPool2d = adaptiveMaxPoolN(2);
/**
 * 3-d adaptive max pooling (PyTorch `F.adaptive_max_pool3d`): `[N, C, D, H, W]` / `[C, D, H, W]` →
 * `[N, C, oD, oH, oW]`, same bin, tie and NaN rules as {@link adaptiveMaxPool2d}.
 *
 * @example adaptiveMaxPool3d(x, { outputSize: [2, null, 2] })
 */
export const adaptiveMaxPool3d = adaptiveMaxPoolN(3);

/**
 * {@link adaptiveMaxPool1d} returning `{ output, indices }`: `indices` (int32, output's shape) is the
 * argmax's position in its input plane (PyTorch `return_indices=True`; PyTorch uses int64).
 *
 * @example const { output, indices } = adaptiveMaxPool1dWithIndices(x, { outputSize: 3 });
 */
export const adaptiveMaxPool1dWithIndices = adaptiveMaxPoolWithIndicesN(1);
/**
 * {@link adaptiveMaxPool2d} returning `{ output, indices }`: `indices` (int32) is the flat in-plane
 * index `h·W + w` of each argmax, as PyTorch's (which are int64). Usable with `maxUnpool2d`.
 *
 * @example const { output, indices } = adaptiveMaxPool2dWithIndices(x, { outputSize: [3, 4] });
 */
export const adaptiveMaxPool2dWithIndices = adaptiveMaxPoolWithIndicesN(2);
/**
 * {@link adaptiveMaxPool3d} returning `{ output, indices }`: flat in-plane indices `d·H·W + h·W + w` (int32).
 *
 * @example const { output, indices } = adaptiveMaxPool3dWithIndices(x, { outputSize: 2 });
 */
export const adaptiveMaxPool3dWithIndices = adaptiveMaxPoolWithIndicesN(3);
