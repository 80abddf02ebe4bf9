/**
 * Global average and max pooling: one window over every spatial position of each plane.
 * Planned as adaptive pooling to size 1 over the flattened spatial dims (src/geometry/adaptive.ts),
 * so any number of spatial dims works and the shared window kernels do the work.
 */
import { expectOptions, expectShapeArray } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { adaptiveAxis } from "../geometry/adaptive.js";
import { avgDivisors } from "../geometry/divisors.js";
import { makePlan, type WindowPlan } from "../geometry/plan.js";
import { kernel } from "../kernels/registry.js";
import { maxWindowsBackwardWrite } from "../kernels/scatter.js";
import { avgWindowsBackwardWrite, avgWindowsForward, maxWindowsForward } from "../kernels/window.js";
import { defineOp, xShapeArgsOptional } from "../op.js";
import type { FloatArray } from "../tensor/dtype.js";
import { emptyTensor, type Tensor } from "../tensor/tensor.js";

/** Global pooling takes no options; an empty object (or nothing) is accepted. */
export type GlobalPoolOptions = Record<string, never>;

function checkShape(op: string, shape: unknown): readonly number[] {
  const s = expectShapeArray(op, shape);
  if (s.length < 3) throw new PoolkitRangeError(op, `x must have shape [N, C, ...spatial] with at least one spatial dim, got ${show(s)}`);
  for (let i = 1; i < s.length; i++) {
    if (s[i] === 0) throw new PoolkitRangeError(op, `x must have non-empty channel and spatial dims, got shape ${show(s)}`);
  }
  return s;
}

/** The whole spatial extent as one window over the flattened plane (adaptive pooling to size 1). */
function globalPlan(op: string, shape: readonly number[]): WindowPlan {
  const s = checkShape(op, shape);
  const n = s[0] as number;
  const c = s[1] as number;
  const plane = s.slice(2).reduce((a, b) => a * b, 1);
  const plan = makePlan(op, { batched: true, n, c, spatial: [plane] }, [adaptiveAxis(plane, 1)]);
  return { ...plan, inShape: s, outShape: [n, c] };
}

/** The plan of global pooling: one window over each flattened plane, and (avg) its size as the divisor. */
export interface GlobalPoolPlan extends WindowPlan {
  readonly divisor: Float64Array | null;
}

function globalOp(name: string, mode: "avg" | "max") {
  return defineOp(name, {
    planArgs: xShapeArgsOptional<GlobalPoolOptions>(name),
    plan: (shape: readonly number[], opts?: GlobalPoolOptions): GlobalPoolPlan => {
      const plan = globalPlan(name, shape);
      expectOptions(name, opts, []);
      return { ...plan, divisor: mode === "avg" ? avgDivisors(plan.axes, true) : null };
    },
    forward: (plan, x) => {
      const dtype = x.dtype;
      const xShape = x.shape;
      // output, indices and gradient where the backend keeps tensors; views read at the call
      const output = emptyTensor(plan.outShape, dtype);
      const div = plan.divisor;
      if (div !== null) {
        kernel("avgWindows.forward", dtype, avgWindowsForward)(x.data as FloatArray, output.data as FloatArray, plan.planes, plan.axes, div);
        return {
          output,
          backward: (dy: Tensor) => {
            const dx = emptyTensor(xShape, dtype); // every element written by the kernel
            kernel("avgWindows.backwardWrite", dtype, avgWindowsBackwardWrite)(dy.data as FloatArray, dx.data as FloatArray, plan.planes, plan.axes, div);
            return [dx];
          },
        };
      }
      const idx = emptyTensor([plan.planes], "int32");
      kernel("maxWindows.forward", dtype, maxWindowsForward)(x.data as FloatArray, output.data as FloatArray, idx.data as Int32Array, plan.planes, plan.axes);
      return {
        output,
        backward: (dy: Tensor) => {
          const dx = emptyTensor(xShape, dtype); // every element written by the kernel
          kernel("maxWindows.backwardWrite", dtype, maxWindowsBackwardWrite)(dy.data as FloatArray, idx.data as Int32Array, dx.data as FloatArray, plan.planes, plan.axes);
          return [dx];
        },
      };
    },
  });
}

/**
 * Global average pooling: the mean of each channel over all spatial positions.
 *
 * Shapes: `[N, C, ...spatial] → [N, C]` (any number ≥ 1 of spatial dims, e.g. `[N, C, H, W]`).
 * Equals PyTorch's `adaptive_avg_pool{1,2,3}d(x, 1)` / `x.mean(spatial dims)`. Backward spreads
 * `dy / (H·W·…)` evenly over the plane.
 *
 * Paper: Lin, Chen & Yan, Network In Network, ICLR 2014.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * globalAvgPool(tensor([[[[1, 2], [3, 4]]]])); // [[2.5]]
 */
export const globalAvgPool = globalOp("globalAvgPool", "avg");

/**
 * Global max pooling: the maximum of each channel over all spatial positions.
 *
 * Shapes: `[N, C, ...spatial] → [N, C]`. Matches PyTorch's `adaptive_max_pool2d(x, 1)` and
 * `max_pool2d(x, kernel = H×W)`: NaN propagates, and the **whole** gradient goes to the first maximum
 * in row-major order. This is deliberately *not* `torch.amax`, which splits the gradient equally
 * among tied maxima (`[0, .5, .5, 0]` instead of `[0, 1, 0, 0]`).
 *
 * Paper: Oquab, Bottou, Laptev & Sivic, Is object localization for free? Weakly-supervised learning
 * with convolutional neural networks, CVPR 2015.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * globalMaxPool(tensor([[[[1, 4], [4, 2]]]])); // [[4]]; its gradient goes to position (0, 1) only
 */
export const globalMaxPool = globalOp("globalMaxPool", "max");
