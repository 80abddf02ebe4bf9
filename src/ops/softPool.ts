/**
 * SoftPool (Stergiou, Poppe & Kalliatakis, "Refining Activation Downsampling with SoftPool",
 * ICCV 2021, arXiv 2101.00440): each window is replaced by its softmax-weighted average.
 */
import { enumOption, expectOptions, spatialShapeInput } from "../check.js";
import type { WindowPlan } from "../geometry/plan.js";
import { planSlidingFor, slidingGeometry, type SlidingPadding } from "../geometry/sliding.js";
import { kernel } from "../kernels/registry.js";
import { defineOp, xShapeArgs } from "../op.js";
import type { FloatArray } from "../tensor/dtype.js";
import { emptyTensor, type Tensor } from "../tensor/tensor.js";
import { softmaxWindowsBackward, softmaxWindowsForward } from "../kernels/weighted.js";

export interface SoftPoolOptions {
  /** Window size: a number or one per spatial dim. Required. */
  kernelSize: number | readonly number[];
  /** Default: `kernelSize`. */
  stride?: number | readonly number[] | null;
  /**
   * Implicit padding (default 0); padded positions do not take part. A number or one per spatial axis
   * pads both sides, at most half the kernel; per-side `[[before, after], ...]` has no half-kernel
   * limit, but the padding before must be less than the kernel and every window must overlap the input.
   */
  padding?: SlidingPadding;
  /**
   * `"exact"` (default): the true derivative `∂y/∂x_i = w_i·(1 + x_i − y)`.
   * `"official"`: `∂y/∂x_i = w_i`, the weights treated as constants, as the official CUDA kernel does.
   */
  gradMode?: "exact" | "official";
}

const KNOWN = ["kernelSize", "stride", "padding", "gradMode"] as const;
const GRAD_MODES = ["exact", "official"] as const;

/** The plan of `softPool{1,2,3}d`: the sliding windows and whether the gradient is the official one. */
export interface SoftPoolPlan extends WindowPlan {
  readonly official: boolean;
}

/** The one plan of a SoftPool op: shape and options parsed and checked once. */
function planSoft(name: string, rank: 1 | 2 | 3) {
  return (shape: readonly number[], opts: SoftPoolOptions): SoftPoolPlan => {
    const input = spatialShapeInput(name, "x", shape, rank);
    const o = expectOptions<SoftPoolOptions>(name, opts, KNOWN);
    const g = slidingGeometry(name, { kernelSize: o.kernelSize, stride: o.stride, padding: o.padding ?? 0 }, rank);
    const official = enumOption(name, "gradMode", o.gradMode, GRAD_MODES, "exact") === "official";
    return { ...planSlidingFor(name, input, g), official };
  };
}

function softPoolN(rank: 1 | 2 | 3) {
  const name = `softPool${rank}d`;
  return defineOp(name, {
    planArgs: xShapeArgs<SoftPoolOptions>(name),
    plan: planSoft(name, rank),
    forward: (plan, x) => {
      const fwd = kernel("softmaxWindows.forward", x.dtype, softmaxWindowsForward);
      // the output, and room where a backend's kernel may save the planes' exponentials for the
      // backward pass (x's size; the reference saves nothing), allocated where the backend keeps
      // tensors; views read after every allocation
      const output = emptyTensor(plan.outShape, x.dtype);
      let cache: Tensor | null = fwd === softmaxWindowsForward ? null : emptyTensor(x.shape, x.dtype);
      const xd = x.data as FloatArray;
      if (!fwd(xd, xd, output.data as FloatArray, plan.planes, plan.axes, cache === null ? null : (cache.data as FloatArray))) {
        cache?.dispose();
        cache = null;
      }
      return {
        output,
        backward: (dy: Tensor) => {
          const dx = emptyTensor(x.shape, x.dtype);
          const xs = x.data as FloatArray;
          const d = dx.data as FloatArray;
          // Exact: dx gets w (as an input) + w·(x − y) (as the logit), i.e. w·(1 + x − y).
          kernel("softmaxWindows.backward", x.dtype, softmaxWindowsBackward)(
            xs, xs, output.data as FloatArray, dy.data as FloatArray, d, plan.official ? null : d, plan.planes, plan.axes, cache === null ? null : (cache.data as FloatArray),
          );
          return [dx];
        },
      };
    },
    // the plain call: no backward, nothing saved
    infer: (plan, x) => {
      const output = emptyTensor(plan.outShape, x.dtype);
      const xd = x.data as FloatArray;
      kernel("softmaxWindows.forward", x.dtype, softmaxWindowsForward)(xd, xd, output.data as FloatArray, plan.planes, plan.axes, null);
      return output;
    },
  });
}

/**
 * 1-d SoftPool: `[N, C, L]` (or `[C, L]`) → `[N, C, L_out]`; see {@link softPool2d}.
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example softPool1d(tensor([[[1, 2, 3, 4]]]), { kernelSize: 2 }) // [[[1.731059, 3.731059]]]
 */
export const softPool1d = softPoolN(1);

/**
 * SoftPool: every window becomes its softmax-weighted average, `y = Σ_R e^{x_i}·x_i / Σ_R e^{x_j}`,
 * per channel (Stergiou, Poppe & Kalliatakis, ICCV 2021, arXiv 2101.00440).
 *
 * Shapes: `[N, C, H, W]` (or unbatched `[C, H, W]`) → `[N, C, H_out, W_out]`, with PyTorch's
 * sliding rule `H_out = ⌊(H + pb + pa − kernelSize) / stride⌋ + 1` (stride defaults to kernelSize;
 * `pb = pa = padding` for a number, `[[pb, pa], ...]` per side).
 *
 * Padding: padded positions do **not** take part (they are neither zeros nor −∞ in the softmax),
 * so every window is a softmax over real pixels only; the padding rules keep every window non-empty.
 *
 * Stability: the exponentials are taken relative to the window maximum, so inputs of 1000 do not
 * overflow and windows of −1000 do not become 0/0; the result lies in [mean, max] of the window.
 *
 * Gradient: `gradMode: "exact"` (default) gives `∂y/∂x_i = w_i·(1 + x_i − y)`; `"official"` gives
 * `w_i`, which is what the official CUDA backward computes (weights treated as constants).
 *
 * Deviations from the official code (`alexandrosstergiou/SoftPool`, pytorch/SoftPool/idea.py and
 * CUDA/softpool_cuda_kernel.cu), all deliberate:
 * - its CPU path sums `exp(x)` over the **channel** axis and shares those weights between channels;
 *   we use per-channel weights, as the paper and the CUDA path do;
 * - its CPU path clamps outputs at 0 and its CUDA path clamps the magnitude at FLT_MAX and replaces
 *   NaN by 0; we clamp nothing (negative outputs are legitimate: `[−1,−2,−3,−4] → −1.507347`);
 * - neither path subtracts the maximum, so `exp` overflows above ≈ 88.7 in float32; we do;
 * - its CUDA backward uses `w_i` (available here as `gradMode: "official"`);
 * - its 3-d CUDA kernel centres windows at `o·s − k/2`; we use PyTorch's windows starting at `o·s − p`
 *   in every rank.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const x = tensor([[[[1, 2], [3, 4]]]]);
 * softPool2d(x, { kernelSize: 2 }); // [[[[3.492653]]]]
 * const { output, backward } = softPool2d.vjp(x, { kernelSize: 2 });
 * backward(tensor([[[[1]]]]))[0]; // [[[[-0.047852, -0.042932], [0.120182, 0.970602]]]] = w·(1 + x − y)
 */
export const softPool2d = softPoolN(2);

/**
 * 3-d SoftPool: `[N, C, D, H, W]` (or `[C, D, H, W]`) → `[N, C, D_out, H_out, W_out]`; see {@link softPool2d}.
 * @example softPool3d(x, { kernelSize: 2 })
 */
export const softPool3d = softPoolN(3);
