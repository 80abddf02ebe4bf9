/**
 * Stochastic pooling (Zeiler & Fergus, "Stochastic Pooling for Regularization of Deep Convolutional
 * Neural Networks", ICLR 2013, arXiv 1301.3557). Sampling follows Caffe's reference kernels
 * (BVLC/caffe src/caffe/layers/pooling_layer.cu, StoPoolForwardTrain / StoPoolForwardTest /
 * StoPoolBackward; docs/methods/stochastic.md): Caffe geometry (ceil output size, no padding, overhanging windows clipped).
 */
import { boolOption, expectOptions, expectTensor, spatialInput, spatialShapeInput } from "../check.js";
import { PoolkitRangeError, show } from "../errors.js";
import { caffeGeometry, caffeOutputShape, planCaffe } from "../geometry/caffe.js";
import type { Axes3 } from "../geometry/plan.js";
import { kernel } from "../kernels/registry.js";
import { maxWindowsBackward } from "../kernels/window.js";
import { defineOp } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray, FloatDType } from "../tensor/dtype.js";
import { generatorFor } from "../tensor/random.js";
import { fromArray, type Tensor } from "../tensor/tensor.js";

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

/**
 * Training: per window, τ = u·Σx, then the first tap (row-major) whose running sum is ≥ τ (Caffe's
 * CDF walk). If round-off leaves the running sum below τ at the end, the last tap with x > 0 is
 * taken (Caffe would leave the output stale; docs/methods/stochastic.md, "rounding hole"). An all-zero window has τ = 0
 * and picks its first tap. Writes y and the picked flat in-plane index.
 */
export function stochasticTrainForward(x: FloatArray, u: FloatArray, y: FloatArray, idx: Int32Array, planes: number, axes: Axes3): void {
  const B = axes[1];
  const C = axes[2];
  const W = C.inSize;
  const inPlane = B.inSize * W;
  // Caffe does the walk in the layer's dtype; rounding τ and the running sum to float32 decides
  // boundary cases the same way (docs/methods/stochastic.md: u = 0.1 on [1, 2, 3, 4] picks the first tap).
  const f32 = x instanceof Float32Array;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    for (let ob = 0; ob < B.outSize; ob++) {
      const h0 = B.start[ob] as number;
      const h1 = B.end[ob] as number;
      for (let oc = 0; oc < C.outSize; oc++) {
        const w0 = C.start[oc] as number;
        const w1 = C.end[oc] as number;
        let sum = 0;
        for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            sum += x[xo + ih * W + iw] as number;
            if (f32) sum = Math.fround(sum);
          }
        }
        const tau = f32 ? Math.fround((u[o] as number) * sum) : (u[o] as number) * sum;
        let run = 0;
        let pick = -1;
        let lastPositive = h0 * W + w0;
        search: for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            const v = x[xo + ih * W + iw] as number;
            run = f32 ? Math.fround(run + v) : run + v;
            if (v > 0) lastPositive = ih * W + iw;
            if (run >= tau) {
              pick = ih * W + iw;
              break search;
            }
          }
        }
        if (pick < 0) pick = lastPositive;
        idx[o] = pick;
        y[o] = x[xo + pick] as number;
        o++;
      }
    }
  }
}

/** Eval: y = Σx² / Σx (= Σ p_i x_i); an all-zero window gives 0. */
export function stochasticEvalForward(x: FloatArray, y: FloatArray, sums: Float64Array, planes: number, axes: Axes3): void {
  const B = axes[1];
  const C = axes[2];
  const W = C.inSize;
  const inPlane = B.inSize * W;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    for (let ob = 0; ob < B.outSize; ob++) {
      const h0 = B.start[ob] as number;
      const h1 = B.end[ob] as number;
      for (let oc = 0; oc < C.outSize; oc++) {
        const w0 = C.start[oc] as number;
        const w1 = C.end[oc] as number;
        let s = 0;
        let s2 = 0;
        for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            const v = x[xo + ih * W + iw] as number;
            s += v;
            s2 += v * v;
          }
        }
        sums[o] = s;
        y[o] = s > 0 ? s2 / s : 0;
        o++;
      }
    }
  }
}

/** Eval backward: dx_i += dy·(2x_i − y)/Σx; an all-zero window sends dy to its first tap. */
export function stochasticEvalBackward(dy: FloatArray, x: FloatArray, y: FloatArray, sums: Float64Array, dx: FloatArray, planes: number, axes: Axes3): void {
  const B = axes[1];
  const C = axes[2];
  const W = C.inSize;
  const inPlane = B.inSize * W;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    for (let ob = 0; ob < B.outSize; ob++) {
      const h0 = B.start[ob] as number;
      const h1 = B.end[ob] as number;
      for (let oc = 0; oc < C.outSize; oc++) {
        const w0 = C.start[oc] as number;
        const w1 = C.end[oc] as number;
        const s = sums[o] as number;
        const d = dy[o] as number;
        if (s > 0) {
          const yo = y[o] as number;
          const f = d / s;
          for (let ih = h0; ih < h1; ih++) {
            const row = xo + ih * W;
            for (let iw = w0; iw < w1; iw++) dx[row + iw] = (dx[row + iw] as number) + f * (2 * (x[row + iw] as number) - yo);
          }
        } else {
          const i = xo + h0 * W + w0;
          dx[i] = (dx[i] as number) + d;
        }
        o++;
      }
    }
  }
}

interface StochasticResult {
  readonly output: Tensor;
  /** Training: the sampled position of each output (int32, flat index into its input plane); eval: null. */
  readonly indices: Tensor | null;
}

function stochasticImpl(op: string, x: Tensor, opts?: StochasticPoolOptions) {
  const o = expectOptions<StochasticPoolOptions>(op, opts, KNOWN);
  const input = spatialInput(op, "x", x, 2);
  if (o.kernelSize === undefined) throw new PoolkitRangeError(op, `kernelSize is required`);
  const g = caffeGeometry(op, o.kernelSize, o.stride, 2);
  const training = boolOption(op, "training", o.training, true);
  const plan = planCaffe(op, input, g);
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
  let xd = raw;
  if (hasNegative) {
    xd = allocArray(dtype, raw.length);
    for (let i = 0; i < raw.length; i++) xd[i] = Math.max(raw[i] as number, 0);
  }
  /** relu's gradient: nothing reaches inputs that were negative (0 passes, as in the x ≥ 0 rules). */
  const maskNegative = (dx: FloatArray): void => {
    if (!hasNegative) return;
    const cur = x.data as FloatArray; // read at use: the forward's view may be stale by now
    for (let i = 0; i < cur.length; i++) if ((cur[i] as number) < 0) dx[i] = 0;
  };
  const n = plan.planes * plan.outPlaneSize;
  const y = allocArray(dtype, n);
  if (training) {
    const u = allocArray(dtype, n);
    if (o.uniforms !== undefined) {
      expectTensor(op, "uniforms", o.uniforms);
      const s = o.uniforms.shape;
      if (s.length !== plan.outShape.length || s.some((d, i) => d !== plan.outShape[i])) {
        throw new PoolkitRangeError(op, `uniforms must have the output shape ${show(plan.outShape)}, got ${show(s)}`);
      }
      const src = o.uniforms.data;
      for (let i = 0; i < n; i++) {
        const v = src[i] as number;
        if (!(v > 0 && v <= 1)) throw new PoolkitRangeError(op, `uniforms must lie in (0, 1], got ${show(v)} at index ${i}`);
        u[i] = v;
      }
    } else {
      const gen = generatorFor(o.seed, op);
      // Caffe draws u ~ U(0, 1]; 1 − U[0, 1) is exact in the dtype (24 bits for float32).
      for (let i = 0; i < n; i++) u[i] = 1 - gen.uniformFor(dtype);
    }
    const idx = allocArray("int32", n);
    kernel("stochasticPool.forwardTrain", dtype, stochasticTrainForward)(xd, u, y, idx, plan.planes, plan.axes);
    return {
      output: { output: fromArray(y, plan.outShape), indices: fromArray(idx, plan.outShape) } as StochasticResult,
      backward: (dy: Tensor) => {
        const dx = allocArray(dtype, x.size);
        kernel("maxWindows.backward", dtype, maxWindowsBackward)((dy.data as FloatArray), idx, dx, plan.planes, plan.inPlaneSize, plan.outPlaneSize);
        maskNegative(dx);
        return [fromArray(dx, x.shape)];
      },
    };
  }
  if (o.uniforms !== undefined) throw new PoolkitRangeError(op, `uniforms only apply with training: true`);
  if (o.seed !== undefined) generatorFor(o.seed, op); // validate; eval draws nothing
  const sums = new Float64Array(n);
  kernel("stochasticPool.forwardEval", dtype, stochasticEvalForward)(xd, y, sums, plan.planes, plan.axes);
  return {
    output: { output: fromArray(y, plan.outShape), indices: null } as StochasticResult,
    backward: (dy: Tensor) => {
      const dx = allocArray(dtype, x.size);
      // The relu copy is ours; without negatives x itself is pooled, read through x.data at use.
      const xs = hasNegative ? xd : (x.data as FloatArray);
      kernel("stochasticPool.backwardEval", dtype, stochasticEvalBackward)((dy.data as FloatArray), xs, y, sums, dx, plan.planes, plan.axes);
      maskNegative(dx);
      return [fromArray(dx, x.shape)];
    },
  };
}

function outputShapeOf(op: string, shape: readonly number[], opts: StochasticPoolOptions): number[] {
  const o = expectOptions<StochasticPoolOptions>(op, opts, KNOWN);
  spatialShapeInput(op, "x", shape, 2); // the same input checks and messages as the forward pass
  if (o.kernelSize === undefined) throw new PoolkitRangeError(op, `kernelSize is required`);
  const g = caffeGeometry(op, o.kernelSize, o.stride, 2);
  return [...shape.slice(0, shape.length - 2), ...caffeOutputShape(op, shape.slice(shape.length - 2), g)];
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
export const stochasticPool2d = defineOp(
  "stochasticPool2d",
  (x: Tensor, opts?: StochasticPoolOptions) => {
    const r = stochasticImpl("stochasticPool2d", x, opts);
    return { output: r.output.output, backward: r.backward };
  },
  { outputShape: (shape: readonly number[], opts: StochasticPoolOptions) => outputShapeOf("stochasticPool2d", shape, opts) },
);

/**
 * {@link stochasticPool2d} returning `{ output, indices }`: the sampled tap of every output element as
 * a flat index into its input plane (`h·W + w`, int32, like `maxPool2dWithIndices`); `indices` is
 * null with `training: false`.
 *
 * @example
 * const { output, indices } = stochasticPool2dWithIndices(x, { kernelSize: 2, seed: 1 });
 */
export const stochasticPool2dWithIndices = defineOp(
  "stochasticPool2dWithIndices",
  (x: Tensor, opts?: StochasticPoolOptions) => stochasticImpl("stochasticPool2dWithIndices", x, opts),
  { outputShape: (shape: readonly number[], opts: StochasticPoolOptions) => outputShapeOf("stochasticPool2dWithIndices", shape, opts) },
);
