/**
 * Local Importance Pooling (Gao, Wang & Wu, "LIP: Local Importance-Based Pooling", ICCV 2019).
 */
import { expectFloatTensor, expectOptions, expectShape, spatialShapeInput } from "../check.js";
import { PoolkitTypeError } from "../errors.js";
import type { WindowPlan } from "../geometry/plan.js";
import { planSlidingFor, slidingGeometry } from "../geometry/sliding.js";
import { kernel } from "../kernels/registry.js";
import { defineOp } from "../op.js";
import type { FloatArray } from "../tensor/dtype.js";
import { emptyTensor, type Tensor } from "../tensor/tensor.js";
import { softmaxWindowsBackward, softmaxWindowsForward } from "../kernels/weighted.js";

export interface LocalImportancePoolOptions {
  /** Default 3. */
  kernelSize?: number | readonly [number, number];
  /** Default 2 (not `kernelSize`: the official default is k3/s2/p1). */
  stride?: number | readonly [number, number];
  /**
   * Default 1; padded positions do not take part. A number or `[pH, pW]` pads both sides, at most half
   * the kernel; per-side `[[top, bottom], [left, right]]` has no half-kernel limit, but the padding
   * before must be less than the kernel and every window must overlap the input.
   */
  padding?: number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]];
}

const NAME = "localImportancePool2d";
const KNOWN = ["kernelSize", "stride", "padding"] as const;

/** The one plan of LIP: shape and options parsed and checked once (the sliding windows). */
function planLip(shape: readonly number[], opts?: LocalImportancePoolOptions): WindowPlan {
  const input = spatialShapeInput(NAME, "x", shape, 2);
  const o = expectOptions<LocalImportancePoolOptions>(NAME, opts, KNOWN);
  const g = slidingGeometry(NAME, { kernelSize: o.kernelSize ?? 3, stride: o.stride ?? 2, padding: o.padding ?? 1 }, 2);
  return planSlidingFor(NAME, input, g);
}

/**
 * Local Importance Pooling: a softmax-weighted average over each window with importance logits,
 * `y = Σ_{valid i∈R} e^{L_i}·x_i / Σ_{valid i∈R} e^{L_i}` (Gao, Wang & Wu, ICCV 2019; official code
 * `sebgao/LIP`: `avg_pool2d(x·exp(L)) / avg_pool2d(exp(L))`).
 *
 * Shapes: `x` and `logits` both `[N, C, H, W]` (or both unbatched `[C, H, W]`; no broadcasting,
 * as the official CUDA path) → `[N, C, H_out, W_out]`,
 * `H_out = ⌊(H + pb + pa − kernelSize) / stride⌋ + 1` with `pb = pa = padding`, or per side
 * `padding: [[pb, pa], ...]` (k3/s2/p1: `⌈H/2⌉`, 56 → 28, 7 → 4).
 *
 * Gradients: `∂y/∂x_i = w̃_i`, `∂y/∂L_i = w̃_i·(x_i − y)` with `w̃_i = e^{L_i}/Σ e^{L_j}`, accumulated
 * over overlapping windows; `backward(dy)` returns `[dx, dlogits]`.
 *
 * Padding: the official ratio of two zero-padded `avg_pool2d`s (count_include_pad=True) excludes the
 * padded positions, because they are 0 in both sums and the divisors cancel; we compute exactly that
 * (with `logits = 0` LIP is pad-*excluded* average pooling).
 *
 * The logits come from a module the caller owns. Officially (`imagenet/lip_resnet.py`):
 * `SoftGate(z) = 12·sigmoid(z)` on top of either **SimplifiedLIP** (conv3×3 C→C, no bias →
 * InstanceNorm2d(affine) → SoftGate; conv initialised to 0 so LIP starts as average pooling; replaces
 * the stem max-pool) or the **bottleneck** logit module (conv1×1 C→128 → IN → ReLU → conv3×3 128→128
 * → IN → ReLU → conv1×1 128→C → IN → SoftGate, last conv initialised to 0). README toy modules:
 * identity (= SoftPool), `20·x` (≈ max), `0·x` (= average). Chain `dlogits` into that module.
 *
 * Deviations: the official primitive path exponentiates without max-subtraction (it relies on the
 * SoftGate's bound, logits ∈ (0, 12)); we subtract each window's largest logit, which changes nothing
 * mathematically but keeps unbounded logits finite. The official CUDA kernel allocates `H // stride`
 * rows (7 → 3) with centred windows; we follow the PyTorch primitive path's size rule above.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const x = tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);
 * localImportancePool2d(x, zeros([1, 1, 4, 4])); // [[[[2.5, 4], [8.5, 10]]]]
 */
export const localImportancePool2d = defineOp(NAME, {
  planArgs: (x: Tensor, logits: Tensor, opts?: LocalImportancePoolOptions): [readonly number[], LocalImportancePoolOptions | undefined] => {
    expectFloatTensor(NAME, "x", x);
    expectFloatTensor(NAME, "logits", logits);
    expectShape(NAME, "logits", logits, x.shape);
    if (logits.dtype !== x.dtype) {
      throw new PoolkitTypeError(NAME, `logits must have x's dtype ${x.dtype}, got ${logits.dtype}`);
    }
    return [x.shape, opts];
  },
  plan: planLip,
  forward: (plan, x, logits) => {
    const dtype = x.dtype as "float32" | "float64";
    const fwd = kernel("softmaxWindows.forward", dtype, softmaxWindowsForward);
    // the output, and room where a backend's kernel may save the planes' exponentials for the backward
    // pass (x's size; the reference saves nothing), allocated where the backend keeps tensors; views
    // read at the call
    const output = emptyTensor(plan.outShape, dtype);
    let cache: Tensor | null = fwd === softmaxWindowsForward ? null : emptyTensor(x.shape, dtype);
    if (!fwd(x.data as FloatArray, logits.data as FloatArray, output.data as FloatArray, plan.planes, plan.axes, cache === null ? null : (cache.data as FloatArray))) {
      cache?.dispose();
      cache = null;
    }
    return {
      output,
      backward: (dy: Tensor) => {
        const dx = emptyTensor(x.shape, dtype);
        const dl = emptyTensor(x.shape, dtype);
        kernel("softmaxWindows.backward", dtype, softmaxWindowsBackward)(
          x.data as FloatArray, logits.data as FloatArray, output.data as FloatArray, dy.data as FloatArray, dx.data as FloatArray, dl.data as FloatArray, plan.planes, plan.axes,
          cache === null ? null : (cache.data as FloatArray),
        );
        return [dx, dl];
      },
    };
  },
  // the plain call: no backward, nothing saved
  infer: (plan, x, logits) => {
    const output = emptyTensor(plan.outShape, x.dtype);
    kernel("softmaxWindows.forward", x.dtype, softmaxWindowsForward)(x.data as FloatArray, logits.data as FloatArray, output.data as FloatArray, plan.planes, plan.axes, null);
    return output;
  },
});
