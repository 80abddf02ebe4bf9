/**
 * Average pooling over sliding windows, PyTorch 1.13 CPU semantics (`F.avg_pool1d/2d/3d`).
 * Geometry: src/geometry/sliding.ts and divisors.ts; kernels: src/kernels/window.ts.
 */
import { boolOption, expectOptions, spatialShapeInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { avgDivisors } from "../geometry/divisors.js";
import type { WindowPlan } from "../geometry/plan.js";
import { planSlidingFor, slidingGeometry, type SlidingPadding } from "../geometry/sliding.js";
import { kernel } from "../kernels/registry.js";
import { avgWindowsBackwardWrite, avgWindowsForward } from "../kernels/window.js";
import { defineOp, xShapeArgs } from "../op.js";
import type { FloatArray } from "../tensor/dtype.js";
import { emptyTensor, type Tensor } from "../tensor/tensor.js";

/** Options of `avgPool1d/2d/3d` (PyTorch's `AvgPoolNd` arguments, camelCased). */
export interface AvgPoolOptions {
  /** Window size: a number or one per spatial dim. Required. */
  kernelSize: number | readonly number[];
  /** Step between windows; defaults to `kernelSize`. */
  stride?: number | readonly number[] | null;
  /**
   * Implicit zero padding. A number (every axis) or one per spatial axis pads both sides, at most
   * ⌊k/2⌋ (PyTorch). Per-side `[[before, after], ...]`, one pair per spatial axis (= `F.pad(x, pads)`
   * then pooling with padding 0): no half-kernel limit, but the padding before must be less than k
   * and every window must overlap the input. Default 0.
   */
  padding?: SlidingPadding;
  /** Round the output size up (an extra window must start inside the input or the left padding). Default false. */
  ceilMode?: boolean;
  /**
   * Count padding in the divisor (the window clipped to the padded extent `[−pb, In + pa)`). Default
   * true. With false the divisor counts input elements only (TensorFlow's "SAME" average).
   */
  countIncludePad?: boolean;
  /** A fixed non-zero integer divisor for every window. */
  divisorOverride?: number | null;
}

const AVG_KEYS = ["kernelSize", "stride", "padding", "ceilMode", "countIncludePad", "divisorOverride"] as const;

/** The plan of `avgPool{1,2,3}d`: the sliding windows and each output position's divisor. */
export interface AvgPoolPlan extends WindowPlan {
  readonly divisor: Float64Array;
}

/** The one plan of an average-pooling op: shape and options parsed and checked once. */
function planAvg(name: string, rank: 1 | 2 | 3) {
  return (shape: readonly number[], opts: AvgPoolOptions): AvgPoolPlan => {
    const input = spatialShapeInput(name, "x", shape, rank);
    const o = expectOptions<AvgPoolOptions>(name, opts, AVG_KEYS);
    const g = slidingGeometry(name, { kernelSize: o.kernelSize, stride: o.stride, padding: o.padding, ceilMode: o.ceilMode }, rank);
    const countIncludePad = boolOption(name, "countIncludePad", o.countIncludePad, true);
    const d = o.divisorOverride;
    let divisorOverride: number | undefined;
    if (d !== undefined && d !== null) {
      if (typeof d !== "number") throw new PoolkitTypeError(name, `divisorOverride must be a number, got ${show(d)}`);
      // PyTorch: an int, "divisor must be not zero"; negative divisors are accepted.
      if (!Number.isInteger(d) || d === 0) throw new PoolkitRangeError(name, `divisorOverride must be a non-zero integer, got ${show(d)}`);
      divisorOverride = d;
    }
    const plan = planSlidingFor(name, input, g);
    return { ...plan, divisor: avgDivisors(plan.axes, countIncludePad, divisorOverride) };
  };
}

function avgPoolN(rank: 1 | 2 | 3) {
  const name = `avgPool${rank}d`;
  return defineOp(name, {
    planArgs: xShapeArgs<AvgPoolOptions>(name),
    plan: planAvg(name, rank),
    forward: (plan, x) => {
      // the output allocated where the backend keeps tensors (no copy afterwards); views read at the call
      const output = emptyTensor(plan.outShape, x.dtype);
      kernel("avgWindows.forward", x.dtype, avgWindowsForward)(x.data as FloatArray, output.data as FloatArray, plan.planes, plan.axes, plan.divisor);
      const xShape = x.shape;
      const xDtype = x.dtype;
      return {
        output,
        backward: (dy: Tensor) => {
          const dx = emptyTensor(xShape, xDtype); // every element written by the kernel
          kernel("avgWindows.backwardWrite", xDtype, avgWindowsBackwardWrite)(dy.data as FloatArray, dx.data as FloatArray, plan.planes, plan.axes, plan.divisor);
          return [dx];
        },
      };
    },
  });
}

/**
 * 1-d average pooling, as PyTorch's `F.avg_pool1d`.
 *
 * Shapes: `[N, C, L] → [N, C, Lo]` or unbatched `[C, L] → [C, Lo]`, with
 * `Lo = ⌊(L + pb + pa − k + (ceilMode ? s−1 : 0)) / s⌋ + 1`, minus 1 in ceil mode when the last window
 * would start in the after-padding (`(Lo−1)·s ≥ L + pb`); `pb = pa = p` for a number padding,
 * `padding: [[pb, pa]]` per side.
 *
 * Each output is the window's sum divided by `divisorOverride` if given, else (countIncludePad) the
 * window length clipped at `L + pa` — so a ceil-mode overhang window is *not* divided by k — else the
 * number of input elements in the window. With per-side padding this is `F.avg_pool1d(F.pad(x, [pb, pa]),
 * k, s, 0, ceilMode)` (countIncludePad) or TensorFlow's "SAME" average (padding excluded). Backward spreads `dy / divisor` over the same clipped window.
 *
 * Deviation: PyTorch's `avg_pool1d` has no `divisor_override`; it is accepted here for every rank
 * (as `avg_pool2d/3d` define it). Like PyTorch, negative divisors are allowed; zero is an error.
 *
 * Reference: PyTorch `aten/src/ATen/native/cpu/AvgPoolKernel.cpp`; average pooling as in LeCun,
 * Bottou, Bengio & Haffner, Gradient-based learning applied to document recognition, Proc. IEEE 1998.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * avgPool1d(tensor([[[1, 2, 3, 4, 5, 6]]]), { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }); // [[[1, 3, 5, 3]]]
 */
export const avgPool1d = avgPoolN(1);

/**
 * 2-d average pooling, as PyTorch's `F.avg_pool2d`: `[N, C, H, W] → [N, C, Ho, Wo]` (or unbatched
 * `[C, H, W]`), each output size as in {@link avgPool1d}; divisor rules likewise, per window
 * (`countIncludePad`: the product of the per-axis lengths clipped to `[−pb, In + pa)`).
 *
 * @example
 * const y = avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false });
 * const { output, backward } = avgPool2d.vjp(x, { kernelSize: 2 });
 */
export const avgPool2d = avgPoolN(2);

/**
 * 3-d average pooling, as PyTorch's `F.avg_pool3d`: `[N, C, D, H, W] → [N, C, Do, Ho, Wo]` (or
 * unbatched `[C, D, H, W]`). See {@link avgPool1d}.
 *
 * Deviation: PyTorch 1.13's `avg_pool3d` (Pool.h `pool3d_shape_check` with `check_input_size`) also
 * rejects inputs whose *unpadded* size is smaller than the kernel in some dim ("input image … smaller
 * than kernel size"), even when the padded input fits; `avg_pool1d/2d` have no such check. Here all
 * ranks follow the same rule — only the padded input must hold a window — and such inputs get the
 * same windows and divisors as in 2-d (e.g. D = 1, kernel 2, padding 1 averages one plane with one
 * padding plane).
 *
 * @example
 * avgPool3d(x, { kernelSize: 2, divisorOverride: 4 });
 */
export const avgPool3d = avgPoolN(3);
