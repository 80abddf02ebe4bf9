/**
 * Max pooling over sliding windows, PyTorch 1.13 CPU semantics (`F.max_pool1d/2d/3d`,
 * `return_indices=True` for the `WithIndices` variants). Geometry: src/geometry/sliding.ts;
 * kernels: src/kernels/window.ts.
 */
import { expectOptions, spatialShapeInput } from "../check.js";
import { emptyWindows, planSlidingFor, slidingGeometry, type SlidingOptions, type SlidingPadding } from "../geometry/sliding.js";
import type { WindowPlan } from "../geometry/plan.js";
import { kernel } from "../kernels/registry.js";
import { maxWindowsBackwardWrite } from "../kernels/scatter.js";
import { maxWindowsForward, maxWindowsForwardValues } from "../kernels/window.js";
import { defineOp, xShapeArgs } from "../op.js";
import { PoolkitRangeError, show } from "../errors.js";
import { MAX_INT32 } from "../tensor/limits.js";
import type { FloatArray } from "../tensor/dtype.js";
import { emptyTensor, type Tensor } from "../tensor/tensor.js";

/** Options of `maxPool1d/2d/3d` (PyTorch's `MaxPoolNd` arguments, camelCased). */
export interface MaxPoolOptions {
  /** Window size: a number or one per spatial dim. Required. With dilation, `(k−1)·d + 1 ≤ 2⁵¹`. */
  kernelSize: number | readonly number[];
  /** Step between windows; defaults to `kernelSize`. */
  stride?: number | readonly number[] | null;
  /**
   * Implicit −∞ padding. A number (every axis) or one per spatial axis pads both sides, at most half
   * the effective kernel `(k−1)·d+1` (PyTorch). Per-side `[[before, after], ...]`, one pair per
   * spatial axis (= `F.pad(x, pads, value=−∞)` then pooling with padding 0): no half-kernel limit,
   * but the padding before must be less than `(k−1)·d+1` and every window must overlap the input.
   * Default 0.
   */
  padding?: SlidingPadding;
  /** Spacing between window taps. Default 1. */
  dilation?: number | readonly number[];
  /** Round the output size up (an extra window must start inside the input or the left padding). Default false. */
  ceilMode?: boolean;
}

/** `{ output, indices }`: `indices` (int32, same shape) is the flat position of each maximum in its input plane. */
export interface MaxPoolResult {
  readonly output: Tensor;
  readonly indices: Tensor;
}

const MAX_KEYS = ["kernelSize", "stride", "padding", "dilation", "ceilMode"] as const;

/**
 * The plan of `maxPool{1,2,3}d[WithIndices]`: the sliding windows and the output positions whose
 * window misses the input (dilation only), which output −∞ and get no gradient.
 */
export interface MaxPoolPlan extends WindowPlan {
  readonly empty: Int32Array | null;
}

/**
 * The WithIndices variants return PyTorch's index for a window that misses the input: its first tap
 * on the dilation grid, `(a·H + b)·W + c`, which can lie far outside the plane. PyTorch's indices are
 * int64, ours int32: refuse a plan where such an index would not fit rather than return a wrapped one.
 */
function checkEmptyIndices(name: string, plan: WindowPlan, empty: Int32Array): void {
  const [A, B, C] = plan.axes;
  const H = B.inSize;
  const W = C.inSize;
  const nBC = B.outSize * C.outSize;
  for (const e of empty) {
    const a0 = A.start[Math.floor(e / nBC)] as number;
    const b0 = B.start[Math.floor(e / C.outSize) % B.outSize] as number;
    const c0 = C.start[e % C.outSize] as number;
    const flat = (a0 * H + b0) * W + c0;
    if (flat >= MAX_INT32) {
      throw new PoolkitRangeError(
        name,
        `dilation ${show(plan.axes.slice(3 - plan.spatialRank).map((a) => a.step))} makes an output window miss the input with its first tap at flat index ` +
          `${Math.max(a0, b0, c0) === MAX_INT32 ? "≥ " : ""}${flat}, beyond the int32 indices this op returns (PyTorch's are int64); use a smaller dilation or maxPool${plan.spatialRank}d`,
      );
    }
  }
}

/** The one plan of a max-pooling op: shape and options parsed and checked once. */
function planMax(name: string, rank: 1 | 2 | 3, withIndices: boolean) {
  return (shape: readonly number[], opts: MaxPoolOptions): MaxPoolPlan => {
    const input = spatialShapeInput(name, "x", shape, rank);
    const g = slidingGeometry(name, expectOptions<SlidingOptions>(name, opts, MAX_KEYS), rank);
    const plan = planSlidingFor(name, input, g);
    const empty = emptyWindows(plan);
    if (withIndices && empty) checkEmptyIndices(name, plan, empty);
    return { ...plan, empty };
  };
}

interface MaxForward {
  readonly output: Tensor;
  readonly indices: Tensor;
  backward(dy: Tensor): [Tensor];
}

function maxPoolForward(plan: MaxPoolPlan, x: Tensor): MaxForward {
  // outputs allocated where the backend keeps tensors (no copy afterwards); views read at the call
  const output = emptyTensor(plan.outShape, x.dtype);
  const indices = emptyTensor(plan.outShape, "int32");
  kernel("maxWindows.forward", x.dtype, maxWindowsForward)(x.data as FloatArray, output.data as FloatArray, indices.data as Int32Array, plan.planes, plan.axes);
  const xShape = x.shape;
  const xDtype = x.dtype;
  const empty = plan.empty;
  return {
    output,
    indices,
    backward(dy: Tensor): [Tensor] {
      // every element written by the kernel: no zero-filled allocation (a full pass over dx)
      const dx = emptyTensor(xShape, xDtype);
      let g = dy;
      if (empty) {
        // A window that misses the input outputs −∞ regardless of x: no gradient. PyTorch keeps its
        // index (the first tap on the dilation grid) and, when that lands inside the plane, sends
        // the gradient there; we keep the index in the output but send nothing.
        g = emptyTensor(dy.shape, xDtype);
        const masked = g.data as FloatArray;
        masked.set(dy.data as FloatArray);
        for (let p = 0; p < plan.planes; p++) for (const e of empty) masked[p * plan.outPlaneSize + e] = 0;
      }
      kernel("maxWindows.backwardWrite", xDtype, maxWindowsBackwardWrite)(g.data as FloatArray, indices.data as Int32Array, dx.data as FloatArray, plan.planes, plan.axes);
      if (g !== dy) g.dispose();
      return [dx];
    },
  };
}

/** The plain call's forward pass (no backward will run): values only, no indices computed or stored. */
function maxPoolValues(plan: MaxPoolPlan, x: Tensor): Tensor {
  const output = emptyTensor(plan.outShape, x.dtype);
  kernel("maxWindows.forwardValues", x.dtype, maxWindowsForwardValues)(x.data as FloatArray, output.data as FloatArray, plan.planes, plan.axes);
  return output;
}

function maxPoolN(rank: 1 | 2 | 3) {
  const name = `maxPool${rank}d`;
  return defineOp(name, {
    planArgs: xShapeArgs<MaxPoolOptions>(name),
    plan: planMax(name, rank, false),
    forward: (plan, x) => {
      const r = maxPoolForward(plan, x);
      return { output: r.output, backward: (dy: Tensor) => r.backward(dy) };
    },
    infer: maxPoolValues,
  });
}

function maxPoolWithIndicesN(rank: 1 | 2 | 3) {
  const name = `maxPool${rank}dWithIndices`;
  return defineOp(name, {
    planArgs: xShapeArgs<MaxPoolOptions>(name),
    plan: planMax(name, rank, true),
    forward: (plan, x) => {
      const r = maxPoolForward(plan, x);
      const output: MaxPoolResult = { output: r.output, indices: r.indices };
      return { output, backward: (dy: Tensor) => r.backward(dy) };
    },
  });
}

/**
 * 1-d max pooling, as PyTorch's `F.max_pool1d`.
 *
 * Shapes: `[N, C, L] → [N, C, Lo]` or unbatched `[C, L] → [C, Lo]`, with
 * `Lo = ⌊(L + pb + pa − d·(k−1) − 1 + (ceilMode ? s−1 : 0)) / s⌋ + 1`, minus 1 in ceil mode when the
 * last window would start in the after-padding (`(Lo−1)·s ≥ L + pb`); `pb = pa = p` for a number
 * padding, `[[pb, pa]]` per side.
 *
 * Each output is the maximum over its window; padding counts as −∞. Ties go to the first maximum in
 * scan order, NaN propagates (the last NaN supplies the index). Backward sends each upstream
 * gradient to its window's maximum, accumulating over overlapping windows.
 *
 * Deviations from PyTorch 1.13: padding may be up to half the *effective* kernel `(k−1)·d + 1`
 * (current PyTorch; 1.13 allowed only ⌊k/2⌋). A window that misses the input entirely (only
 * possible with dilation, e.g. L = 1, k = 2, d = 2, p = 1) outputs −∞ with PyTorch's index, but gets
 * no gradient (PyTorch sends it to that index when it lies inside the plane).
 *
 * Reference: PyTorch `aten/src/ATen/native/cpu/MaxPoolKernel.cpp`; max pooling as in Riesenhuber &
 * Poggio, Hierarchical models of object recognition in cortex, Nature Neuroscience 1999.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const y = maxPool1d(tensor([[[1, 3, 2, 5, 4]]]), { kernelSize: 2 }); // [[[3, 5]]]
 */
export const maxPool1d = maxPoolN(1);

/**
 * 2-d max pooling, as PyTorch's `F.max_pool2d`.
 *
 * Shapes: `[N, C, H, W] → [N, C, Ho, Wo]` or unbatched `[C, H, W] → [C, Ho, Wo]`, each output size
 * `⌊(In + pb + pa − d·(k−1) − 1 + (ceilMode ? s−1 : 0)) / s⌋ + 1` (minus 1 in ceil mode when the last
 * window would start in the after-padding, `(o−1)·s ≥ In + pb`), with `pb`, `pa` the padding before
 * and after (both `p` for a number padding; `padding: [[1, 2], [0, 1]]` pads top 1, bottom 2, left 0,
 * right 1 — TensorFlow's "same" and ONNX `pads` need such asymmetric padding).
 *
 * Ties go to the first maximum in row-major order; NaN propagates. Backward routes each upstream
 * gradient to its window's argmax (accumulating where windows overlap). Deviations from PyTorch 1.13
 * (padding limit with dilation, no gradient for windows that miss the input): see {@link maxPool1d}.
 *
 * Reference: PyTorch `aten/src/ATen/native/cpu/MaxPoolKernel.cpp`.
 *
 * @example
 * const x = tensor([[[[1, 5, 5, 2], [5, 0, 3, 3], [9, 9, 1, 1], [0, 9, 1, 1]]]]);
 * maxPool2d(x, { kernelSize: 2 }); // [[[[5, 5], [9, 1]]]]
 * const { output, backward } = maxPool2d.vjp(x, { kernelSize: 3, stride: 2, padding: 1 });
 */
export const maxPool2d = maxPoolN(2);

/**
 * 3-d max pooling, as PyTorch's `F.max_pool3d`: `[N, C, D, H, W] → [N, C, Do, Ho, Wo]` (or unbatched
 * `[C, D, H, W]`), each output size as in {@link maxPool2d}. Semantics and deviations: see {@link maxPool1d}.
 *
 * @example
 * maxPool3d(x, { kernelSize: 2, stride: [1, 2, 2] });
 */
export const maxPool3d = maxPoolN(3);

/**
 * 1-d max pooling returning `{ output, indices }`, as `F.max_pool1d(..., return_indices=True)`.
 * `indices` is int32 with the output's shape: the position of each maximum in its input plane
 * (no batch or channel offset), ready for {@link maxUnpool1d}. A window that misses the input
 * (dilation only) has value −∞ and PyTorch's index of its first tap on the dilation grid, which may
 * lie outside the plane. Backward takes dy of the output's shape. See {@link maxPool1d}.
 *
 * @example
 * const { output, indices } = maxPool1dWithIndices(tensor([[[1, 3, 2, 5, 4]]]), { kernelSize: 2 }); // indices [[[1, 3]]]
 */
export const maxPool1dWithIndices = maxPoolWithIndicesN(1);

/**
 * 2-d max pooling returning `{ output, indices }`, as `F.max_pool2d(..., return_indices=True)`;
 * indices are `h·W + w` in the unpadded input plane. See {@link maxPool1dWithIndices}, {@link maxPool2d}.
 *
 * @example
 * const { output, indices } = maxPool2dWithIndices(x, { kernelSize: 2 });
 * const restored = maxUnpool2d(output, indices, { kernelSize: 2, outputSize: [x.shape[2], x.shape[3]] });
 */
export const maxPool2dWithIndices = maxPoolWithIndicesN(2);

/**
 * 3-d max pooling returning `{ output, indices }`, as `F.max_pool3d(..., return_indices=True)`;
 * indices are `d·H·W + h·W + w`. See {@link maxPool1dWithIndices}.
 *
 * @example
 * const { output, indices } = maxPool3dWithIndices(x, { kernelSize: 2 });
 */
export const maxPool3dWithIndices = maxPoolWithIndicesN(3);
