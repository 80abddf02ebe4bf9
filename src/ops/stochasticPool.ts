/**
 * Stochastic pooling (Zeiler & Fergus, "Stochastic Pooling for Regularization of Deep Convolutional
 * Neural Networks", ICLR 2013, arXiv 1301.3557). Sampling follows Caffe's reference kernels
 * (BVLC/caffe src/caffe/layers/pooling_layer.cu, StoPoolForwardTrain / StoPoolForwardTest /
 * StoPoolBackward; docs/methods/stochastic.md): Caffe geometry (ceil output size, no padding, overhanging windows clipped).
 */
import { boolOption, expectOptions, expectTensor, spatialShapeInput } from "../check.js";
import { PoolkitRangeError, show } from "../errors.js";
import { caffeGeometry, planCaffe } from "../geometry/caffe.js";
import type { WindowPlan } from "../geometry/plan.js";
import { kernel } from "../kernels/registry.js";
import { stochasticEvalBackward, stochasticEvalForward, stochasticTrainForward } from "../kernels/stochastic.js";
import { maxWindowsBackwardWrite } from "../kernels/scatter.js";
import { defineOp, xShapeArgsOptional } from "../op.js";
import type { FloatArray, FloatDType } from "../tensor/dtype.js";
import { generatorFor } from "../tensor/random.js";
import { emptyTensor, zeros, type Tensor } from "../tensor/tensor.js";

export interface StochasticPoolOptions {
  kernelSize: number | readonly number[];
  /** Default: kernelSize. */
  stride?: number | readonly number[];
  /** Default true: sample; false: probability-weighted average Σx²/Σx. */
  training?: boolean;
  seed?: number;
  /** Training only: the uniforms u ∈ (0, 1] to use instead of drawing, one per output element (output shape). */
  uniforms?: Tensor;
}

const KNOWN = ["kernelSize", "stride", "training", "seed", "uniforms"] as const;



interface StochasticResult {
  readonly output: Tensor;
  /** Training: the sampled position of each output (int32, flat index into its input plane); eval: null. */
  readonly indices: Tensor | null;
}

/** The plan of stochastic pooling: Caffe windows, the mode and the seed (draws are made per call). */
export interface StochasticPoolPlan extends WindowPlan {
  readonly training: boolean;
  readonly seed: number | undefined;
}

/** The one plan of a stochastic-pooling op: shape and options parsed and checked once. */
function planStochastic(op: string) {
  return (shape: readonly number[], opts?: StochasticPoolOptions): StochasticPoolPlan => {
    const input = spatialShapeInput(op, "x", shape, 2);
    const o = expectOptions<StochasticPoolOptions>(op, opts, KNOWN);
    if (o.kernelSize === undefined) throw new PoolkitRangeError(op, `kernelSize is required`);
    const g = caffeGeometry(op, o.kernelSize, o.stride, 2);
    const training = boolOption(op, "training", o.training, true);
    const plan = planCaffe(op, input, g);
    if (!training) {
      if (o.uniforms !== undefined) throw new PoolkitRangeError(op, `uniforms only apply with training: true`);
      if (o.seed !== undefined) generatorFor(o.seed, op); // validate; eval draws nothing
    }
    return { ...plan, training, seed: o.seed };
  };
}

function stochasticImpl(op: string, plan: StochasticPoolPlan, x: Tensor, opts?: StochasticPoolOptions) {
  const dtype = x.dtype as FloatDType;
  // p ∝ x needs x ≥ 0 (post-ReLU): negative values are taken as 0, i.e. the op pools relu(x) (with
  // Caffe's walk they would pick arbitrary taps and Σx²/Σx could blow up, docs/methods/stochastic.md). NaN/±∞ are errors.
  const raw = x.data as FloatArray;
  let hasNegative = false;
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i] as number;
    if (!(v > -Infinity && v < Infinity)) {
      throw new PoolkitRangeError(op, `x must be finite (probabilities are relu(x) / Σ relu(x) over each window), got ${show(v)} at index ${i}`);
    }
    if (v < 0) hasNegative = true;
  }
  // relu(x) where the backend keeps tensors (kept for the eval backward); x itself when nothing is negative
  let xr: Tensor = x;
  if (hasNegative) {
    xr = emptyTensor(x.shape, dtype);
    const dst = xr.data as FloatArray;
    const src = x.data as FloatArray;
    for (let i = 0; i < src.length; i++) dst[i] = Math.max(src[i] as number, 0);
  }
  /** relu's gradient: nothing reaches inputs that were negative (0 passes, as in the x ≥ 0 rules). */
  const maskNegative = (dxT: Tensor): void => {
    if (!hasNegative) return;
    const cur = x.data as FloatArray; // read at use: the forward's view may be stale by now
    const dx = dxT.data as FloatArray;
    for (let i = 0; i < cur.length; i++) if ((cur[i] as number) < 0) dx[i] = 0;
  };
  const n = plan.planes * plan.outPlaneSize;
  // the output (every element written by the kernels) where the backend keeps tensors; views read at each call
  const output = emptyTensor(plan.outShape, dtype);
  if (plan.training) {
    const u = emptyTensor([n], dtype);
    const uniforms = (opts as { uniforms?: unknown } | undefined)?.uniforms; // an input carried in the options
    if (uniforms !== undefined) {
      expectTensor(op, "uniforms", uniforms);
      const s = uniforms.shape;
      if (s.length !== plan.outShape.length || s.some((d, i) => d !== plan.outShape[i])) {
        throw new PoolkitRangeError(op, `uniforms must have the output shape ${show(plan.outShape)}, got ${show(s)}`);
      }
      const src = uniforms.data;
      const ud = u.data as FloatArray;
      for (let i = 0; i < n; i++) {
        const v = src[i] as number;
        if (!(v > 0 && v <= 1)) throw new PoolkitRangeError(op, `uniforms must lie in (0, 1], got ${show(v)} at index ${i}`);
        ud[i] = v;
      }
    } else {
      const gen = generatorFor(plan.seed, op);
      const ud = u.data as FloatArray;
      // Caffe draws u ~ U(0, 1]; 1 − U[0, 1) is exact in the dtype (24 bits for float32).
      for (let i = 0; i < n; i++) ud[i] = 1 - gen.uniformFor(dtype);
    }
    const indices = emptyTensor(plan.outShape, "int32");
    kernel("stochasticPool.forwardTrain", dtype, stochasticTrainForward)(xr.data as FloatArray, u.data as FloatArray, output.data as FloatArray, indices.data as Int32Array, plan.planes, plan.axes);
    u.dispose();
    if (xr !== x) xr.dispose();
    return {
      output: { output, indices } as StochasticResult,
      backward: (dy: Tensor) => {
        const dx = emptyTensor(x.shape, dtype); // dx = 0, then the scatter: written by the kernel
        kernel("maxWindows.backwardWrite", dtype, maxWindowsBackwardWrite)(dy.data as FloatArray, indices.data as Int32Array, dx.data as FloatArray, plan.planes, plan.axes);
        maskNegative(dx);
        return [dx];
      },
    };
  }
  const sums = emptyTensor([n], "float64");
  kernel("stochasticPool.forwardEval", dtype, stochasticEvalForward)(xr.data as FloatArray, output.data as FloatArray, sums.data as Float64Array, plan.planes, plan.axes);
  return {
    output: { output, indices: null } as StochasticResult,
    backward: (dy: Tensor) => {
      const dx = zeros(x.shape, dtype);
      // the relu copy is ours; without negatives x itself is pooled
      kernel("stochasticPool.backwardEval", dtype, stochasticEvalBackward)(
        dy.data as FloatArray, xr.data as FloatArray, output.data as FloatArray, sums.data as Float64Array, dx.data as FloatArray, plan.planes, plan.axes,
      );
      maskNegative(dx);
      return [dx];
    },
  };
}

/**
 * Stochastic pooling (Zeiler & Fergus, ICLR 2013): in training each window outputs one of its
 * activations, drawn with probability p_i = x_i / Σ_R x; in eval the probability-weighted average
 * `Σ p_i x_i = Σx² / Σx`.
 *
 * - Shapes: `x` `[N, C, H, W]` (or `[C, H, W]`) → `[N, C, Ho, Wo]`, Caffe rule
 *   `Ho = ceil((H − k)/s) + 1`, no padding (Caffe forbids it); an overhanging last window is clipped.
 * - Sampling: one u ∈ (0, 1] per output element, fresh per call; the first tap (row-major) whose
 *   running sum reaches u·Σx is chosen (Caffe). Round-off fallback: the last tap with x > 0.
 *   Pass `uniforms` to fix the draws; {@link stochasticPool2dWithIndices} returns the picks.
 * - The method is defined for post-ReLU maps (p ∝ x): negative values are taken as 0, so the op pools
 *   relu(x) and sends no gradient to negative inputs (with negatives the reference implementations
 *   return arbitrary picks and Σx²/Σx can blow up, docs/methods/stochastic.md). NaN and ±∞ are errors.
 * - All-zero window: output 0, gradient to its first tap (train and eval).
 * - Backward: training sends dy to the sampled tap (accumulating over overlapping windows);
 *   eval gives `dy·(2x_i − y)/Σx`. The sampling walk runs in the input's dtype, as Caffe's.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const y = stochasticPool2d(relu(x), { kernelSize: 3, stride: 2, seed: 7 });
 * const z = stochasticPool2d(relu(x), { kernelSize: 3, stride: 2, training: false });
 */
export const stochasticPool2d = defineOp("stochasticPool2d", {
  planArgs: xShapeArgsOptional<StochasticPoolOptions>("stochasticPool2d"),
  plan: planStochastic("stochasticPool2d"),
  forward: (plan, x, opts) => {
    const r = stochasticImpl("stochasticPool2d", plan, x, opts);
    return { output: r.output.output, backward: r.backward };
  },
});

/**
 * {@link stochasticPool2d} returning `{ output, indices }`: the sampled tap of every output element as
 * a flat index into its input plane (`h·W + w`, int32, like `maxPool2dWithIndices`); `indices` is
 * null with `training: false`.
 *
 * @example
 * const { output, indices } = stochasticPool2dWithIndices(x, { kernelSize: 2, seed: 1 });
 */
export const stochasticPool2dWithIndices = defineOp("stochasticPool2dWithIndices", {
  planArgs: xShapeArgsOptional<StochasticPoolOptions>("stochasticPool2dWithIndices"),
  plan: planStochastic("stochasticPool2dWithIndices"),
  forward: (plan, x, opts) => stochasticImpl("stochasticPool2dWithIndices", plan, x, opts),
});
