/**
 * Power-average (LP) pooling, PyTorch 1.13's `F.lp_pool1d/2d` formula, forward and backward:
 *
 *   s = avg_pool(x^p)   (zero padding counted in the divisor: the window clipped to the padded extent)
 *   y = (sign(s) · relu(|s|) · prod(k))^(1/p)
 *
 * Every step is evaluated in the input dtype, and backward is the chain rule through exactly these
 * steps as PyTorch's autograd takes it, so NaN, ±∞ and zero gradients appear where PyTorch has them.
 */
import { boolOption, expectOptions, spatialShapeInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { avgDivisors } from "../geometry/divisors.js";
import type { WindowPlan } from "../geometry/plan.js";
import { planSlidingFor, slidingGeometry, type SlidingPadding } from "../geometry/sliding.js";
import { kernel } from "../kernels/registry.js";
import { lpBackward, lpForward } from "../kernels/weighted.js";
import { defineOp, xShapeArgs } from "../op.js";
import type { FloatArray } from "../tensor/dtype.js";
import { emptyTensor, type Tensor } from "../tensor/tensor.js";

/** Options of `lpPool1d/2d/3d` (PyTorch's `LPPoolNd` arguments, camelCased). */
export interface LpPoolOptions {
  /** The power p > 0 (may be `Infinity`, which does *not* give max pooling: see the docs). Required. */
  normType: number;
  /** Window size: a number or one per spatial dim. Required. */
  kernelSize: number | readonly number[];
  /** Step between windows; defaults to `kernelSize`. */
  stride?: number | readonly number[] | null;
  /**
   * Zero padding (not in PyTorch's `LPPoolNd`): the result is `lp_pool(F.pad(x, pads))`. A number or
   * one per spatial axis pads both sides, at most ⌊k/2⌋; per-side `[[before, after], ...]` has no
   * half-kernel limit, but the padding before must be less than k and every window must overlap the
   * input. Default 0.
   */
  padding?: SlidingPadding;
  /** Round the output size up. Default false. */
  ceilMode?: boolean;
}

const LP_KEYS = ["normType", "kernelSize", "stride", "padding", "ceilMode"] as const;

/**
 * The plan of `lpPool{1,2,3}d`: the sliding windows, the power p, the kernel area prod(k) and each
 * window's divisor (count_include_pad: its length clipped to the padded extent, as avg_pool of the
 * zero-padded input; with padding 0 its in-input size).
 */
export interface LpPoolPlan extends WindowPlan {
  readonly p: number;
  readonly area: number;
  readonly divisor: Float64Array;
}

/** The one plan of an LP-pooling op: shape and options parsed and checked once. */
function planLp(name: string, rank: 1 | 2 | 3) {
  return (shape: readonly number[], opts: LpPoolOptions): LpPoolPlan => {
    const input = spatialShapeInput(name, "x", shape, rank);
    const o = expectOptions<LpPoolOptions>(name, opts, LP_KEYS);
    const p = o.normType;
    if (p === undefined) throw new PoolkitRangeError(name, `normType is required`);
    if (typeof p !== "number" || Number.isNaN(p)) throw new PoolkitTypeError(name, `normType must be a number, got ${show(p)}`);
    if (!(p > 0)) throw new PoolkitRangeError(name, `normType must be > 0, got ${show(p)}`);
    const ceilMode = boolOption(name, "ceilMode", o.ceilMode, false);
    const g = slidingGeometry(name, { kernelSize: o.kernelSize, stride: o.stride, padding: o.padding, ceilMode }, rank);
    const plan = planSlidingFor(name, input, g);
    return { ...plan, p, area: g.kernelSize.reduce((a, b) => a * b, 1), divisor: avgDivisors(plan.axes, true) };
  };
}

function lpPoolN(rank: 1 | 2 | 3) {
  const name = `lpPool${rank}d`;
  return defineOp(name, {
    planArgs: xShapeArgs<LpPoolOptions>(name),
    plan: planLp(name, rank),
    forward: (plan, x) => {
      const dtype = x.dtype;
      const { p, area, divisor } = plan;
      const nOut = plan.planes * plan.outPlaneSize;
      // s and u (kept for the backward pass) and y where the backend keeps tensors; views read at the call
      const s = emptyTensor([nOut], dtype);
      const u = emptyTensor([nOut], dtype);
      const output = emptyTensor(plan.outShape, dtype);
      kernel("lpPool.forward", dtype, lpForward)(x.data as FloatArray, s.data as FloatArray, u.data as FloatArray, output.data as FloatArray, p, area, plan.planes, plan.axes, divisor);
      const xShape = x.shape;
      return {
        output,
        backward: (dy: Tensor) => {
          const dx = emptyTensor(xShape, dtype);
          kernel("lpPool.backward", dtype, lpBackward)(
            x.data as FloatArray, s.data as FloatArray, u.data as FloatArray, dy.data as FloatArray, dx.data as FloatArray, p, area, plan.planes, plan.axes, divisor,
          );
          return [dx];
        },
      };
    },
  });
}

/**
 * 1-d power-average pooling, PyTorch's `F.lp_pool1d`: `y = (Σ_window x^p)^(1/p)` for full windows.
 *
 * Shapes: `[N, C, L] → [N, C, Lo]` or unbatched `[C, L] → [C, Lo]`, with
 * `Lo = ⌊(L + pb + pa − k + (ceilMode ? s−1 : 0)) / s⌋ + 1` (minus 1 in ceil mode when the last window
 * would start at or past `L + pb`), `pb`, `pa` the padding before and after (default 0; PyTorch's
 * LP pooling has none: padding here means `lp_pool1d(F.pad(x, [pb, pa]), ...)` — padded zeros add
 * 0^p = 0 to the sum, and count in the divisor that the kernel size k then cancels).
 *
 * Exactly PyTorch's formula `(sign(s)·relu(|s|)·k)^(1/p)` with `s = avg_pool(x^p)`, which means:
 * - ceil-mode overhang windows are over-counted: their mean over the valid elements is multiplied
 *   by the full kernel size k;
 * - where the pooled value s is 0 the gradient is 0 (the relu mask), not NaN — for p ≥ 1; with
 *   p < 1 the zero inputs of such a window still get NaN, as in PyTorch (pow's backward multiplies
 *   the masked 0 by 0^(p−1) = ∞; torch 1.13 `F.lp_pool2d(zeros, 0.5, 2)` gives NaN gradients), and a
 *   zero input in a non-zero window gets ±∞ (the true one-sided derivative for p < 1);
 * - negative bases are not `abs`-ed: odd or fractional p with negative values gives NaN, p = 1 gives
 *   the signed sum;
 * - p = ∞ gives 1 everywhere (not max pooling) and, as in PyTorch, a NaN gradient;
 * - large p overflows (to ∞ in float32 sooner than in float64).
 *
 * Deviation: normType must be > 0 (PyTorch accepts any float; p ≤ 0 is meaningless here).
 *
 * Paper: Sermanet, Chintala & LeCun, Convolutional neural networks applied to house numbers digit
 * classification, ICPR 2012. Reference: PyTorch `torch/nn/functional.py::lp_pool1d`.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * lpPool1d(tensor([[[3, 4, 1]]]), { normType: 2, kernelSize: 2 }); // [[[5]]]
 */
export const lpPool1d = lpPoolN(1);

/**
 * 2-d power-average pooling, PyTorch's `F.lp_pool2d`: `[N, C, H, W] → [N, C, Ho, Wo]` (or unbatched
 * `[C, H, W]`), `y = (avg_pool(x^p)·kH·kW)^(1/p)` with the sign/relu trick. See {@link lpPool1d}.
 *
 * @example
 * lpPool2d(tensor([[[[1, 2], [3, 4]]]]), { normType: 2, kernelSize: 2 }); // [[[[√30]]]]
 */
export const lpPool2d = lpPoolN(2);

/**
 * 3-d power-average pooling: `[N, C, D, H, W] → [N, C, Do, Ho, Wo]` (or unbatched `[C, D, H, W]`).
 * torch 1.13 has no `lp_pool3d`; this applies the same formula with `avg_pool3d` and `kD·kH·kW`
 * (what later PyTorch releases added). See {@link lpPool1d}.
 *
 * @example
 * lpPool3d(x, { normType: 3, kernelSize: 2 });
 */
export const lpPool3d = lpPoolN(3);
