/**
 * S3Pool (Zhai, Wu, Kumar, Cheng, Lu, Zhang & Feris, "S3Pool: Pooling with Stochastic Spatial
 * Sampling", CVPR 2017, arXiv 1611.05138). Semantics of the official Theano/Lasagne code
 * (Shuangfei/s3pool @ 19a8e11, build_net.py `StochasticPool2DLayer`; docs/methods/s3pool.md):
 *   1. m = max pool k×k, stride 1, no padding → (H − k + 1) × (W − k + 1);
 *   2. training: per grid cell of g rows, g/s distinct random rows (sorted); columns likewise;
 *      one draw per call shared by every sample and channel; y = m[rows][cols];
 *      eval: average pool of m, kernel = stride = s, padding ⌊s/2⌋, padded cells excluded.
 * Both steps are window plans: the selection in step 2 is a plan of one-tap windows.
 */
import { boolOption, expectOptions, leadDims, type SpatialInput, spatialShapeInput } from "../check.js";
import { PoolkitRangeError } from "../errors.js";
import { avgDivisors } from "../geometry/divisors.js";
import { makePlan, type WindowPlan } from "../geometry/plan.js";
import { drawSelection, parseSelection, s3Axes, selectionAxis, type S3Axis } from "../geometry/s3.js";
import { planSlidingFor, slidingGeometry } from "../geometry/sliding.js";
import { kernel } from "../kernels/registry.js";
import { maxWindowsBackwardWrite } from "../kernels/scatter.js";
import { avgWindowsBackward, avgWindowsForward, maxWindowsForward } from "../kernels/window.js";
import { defineOp, xShapeArgsOptional } from "../op.js";
import type { FloatArray, FloatDType } from "../tensor/dtype.js";
import { checkAlloc } from "../tensor/limits.js";
import { generatorFor } from "../tensor/random.js";
import { emptyTensor, fromArray, zeros, type Tensor } from "../tensor/tensor.js";

export interface S3PoolOptions {
  /** Stride-1 max-pool kernel (default 2). */
  kernelSize?: number | readonly number[];
  /** Grid cell size g (default kernelSize); H and W must be multiples of it. */
  gridSize?: number | readonly number[];
  /** Downsampling factor s (default kernelSize); g must be a multiple of it. */
  stride?: number | readonly number[];
  /** Default true: random rows/columns; false: pad-excluding average pool of the max-pooled map. */
  training?: boolean;
  seed?: number;
  /** Training only: the selected rows of the max-pooled map (instead of drawing), cell by cell, sorted within each cell. */
  rows?: ArrayLike<number> | Tensor;
  /** Training only: the selected columns, as `rows`. */
  cols?: ArrayLike<number> | Tensor;
}

const KNOWN = ["kernelSize", "gridSize", "stride", "training", "seed", "rows", "cols"] as const;

interface S3Result {
  readonly output: Tensor;
  /** Training: the selected rows and columns of the max-pooled map (int32); eval: null. */
  readonly rows: Tensor | null;
  readonly cols: Tensor | null;
}

/** The plan of S3Pool: both axes' geometry, the stride-1 max pool, and (eval) the average pool of the max-pooled map. */
export interface S3PoolPlan {
  readonly ah: S3Axis;
  readonly aw: S3Axis;
  readonly pre: WindowPlan;
  /** The max-pooled map's layout. */
  readonly mInput: SpatialInput;
  readonly training: boolean;
  readonly seed: number | undefined;
  /** Eval: the pad-excluding average pool of the max-pooled map and its divisors; null in training. */
  readonly evalPlan: WindowPlan | null;
  readonly evalDivisor: Float64Array | null;
  readonly outShape: readonly number[];
}

/** The one plan of an S3Pool op: shape and options parsed and checked once. */
function planS3(op: string) {
  return (shape: readonly number[], opts?: S3PoolOptions): S3PoolPlan => {
    const input = spatialShapeInput(op, "x", shape, 2);
    const o = expectOptions<S3PoolOptions>(op, opts, KNOWN);
    const training = boolOption(op, "training", o.training, true);
    const [ah, aw] = s3Axes(op, input.spatial, o) as [S3Axis, S3Axis];
    const outShape = [...leadDims(input), ah.outSize, aw.outSize];
    checkAlloc(op, outShape);
    // Step 1: max pool k×k, stride 1, no padding.
    const pre = planSlidingFor(op, input, slidingGeometry(op, { kernelSize: [ah.k, aw.k], stride: 1 }, 2));
    const mInput: SpatialInput = { batched: input.batched, n: input.n, c: input.c, spatial: [ah.m, aw.m] };
    let evalPlan: WindowPlan | null = null;
    let evalDivisor: Float64Array | null = null;
    if (training) {
      if ((o.rows === undefined) !== (o.cols === undefined)) throw new PoolkitRangeError(op, `rows and cols must be given together, got only ${o.rows === undefined ? "cols" : "rows"}`);
    } else {
      if (o.rows !== undefined || o.cols !== undefined) throw new PoolkitRangeError(op, `rows and cols only apply with training: true`);
      if (o.seed !== undefined) generatorFor(o.seed, op); // validate; eval draws nothing
      evalPlan = planSlidingFor(op, mInput, slidingGeometry(op, { kernelSize: [ah.s, aw.s], padding: [Math.floor(ah.s / 2), Math.floor(aw.s / 2)] }, 2));
      evalDivisor = avgDivisors(evalPlan.axes, false);
    }
    return { ah, aw, pre, mInput, training, seed: o.seed, evalPlan, evalDivisor, outShape };
  };
}

function s3Impl(op: string, p: S3PoolPlan, x: Tensor, opts?: S3PoolOptions) {
  const { ah, aw, pre } = p;
  const dtype = x.dtype as FloatDType;
  // Step 1: the stride-1 max-pooled map and its argmax, where the backend keeps tensors (kept for backward)
  const mSize = [pre.planes * pre.outPlaneSize];
  const mMap = emptyTensor(mSize, dtype);
  const mIdx = emptyTensor(mSize, "int32");
  kernel("maxWindows.forward", dtype, maxWindowsForward)(x.data as FloatArray, mMap.data as FloatArray, mIdx.data as Int32Array, pre.planes, pre.axes);

  let plan: WindowPlan;
  let rows: Tensor | null = null;
  let cols: Tensor | null = null;
  let selIdx: Tensor | null = null;
  let output: Tensor;
  if (p.training) {
    let r: Int32Array;
    let c: Int32Array;
    const o = (opts ?? {}) as S3PoolOptions; // rows and cols are inputs carried in the options (checked in the plan)
    if (o.rows !== undefined && o.cols !== undefined) {
      r = parseSelection(op, "rows", o.rows, ah);
      c = parseSelection(op, "cols", o.cols, aw);
    } else {
      const gen = generatorFor(p.seed, op);
      // Rows first, then columns (independent draws); one selection for the whole batch.
      r = drawSelection(ah, gen);
      c = drawSelection(aw, gen);
    }
    rows = fromArray(r, [r.length]);
    cols = fromArray(c, [c.length]);
    plan = makePlan(op, p.mInput, [selectionAxis(ah.m, r.slice()), selectionAxis(aw.m, c.slice())]);
    output = emptyTensor(plan.outShape, dtype);
    selIdx = emptyTensor(plan.outShape, "int32");
    kernel("maxWindows.forward", dtype, maxWindowsForward)(mMap.data as FloatArray, output.data as FloatArray, selIdx.data as Int32Array, plan.planes, plan.axes);
  } else {
    plan = p.evalPlan as WindowPlan;
    output = emptyTensor(plan.outShape, dtype);
    kernel("avgWindows.forward", dtype, avgWindowsForward)(mMap.data as FloatArray, output.data as FloatArray, plan.planes, plan.axes, p.evalDivisor as Float64Array);
  }
  mMap.dispose(); // only its argmax is needed by the backward pass
  const finalPlan = plan;
  return {
    output: { output, rows, cols } as S3Result,
    backward: (dy: Tensor) => {
      // the max scatters write their whole output (0, then the scatter): no zero-filled allocation
      let dm: Tensor;
      if (selIdx) {
        dm = emptyTensor(mSize, dtype);
        kernel("maxWindows.backwardWrite", dtype, maxWindowsBackwardWrite)(dy.data as FloatArray, selIdx.data as Int32Array, dm.data as FloatArray, finalPlan.planes, finalPlan.axes);
      } else {
        dm = zeros(mSize, dtype);
        kernel("avgWindows.backward", dtype, avgWindowsBackward)(dy.data as FloatArray, dm.data as FloatArray, finalPlan.planes, finalPlan.axes, p.evalDivisor as Float64Array);
      }
      const dx = emptyTensor(x.shape, dtype);
      kernel("maxWindows.backwardWrite", dtype, maxWindowsBackwardWrite)(dm.data as FloatArray, mIdx.data as Int32Array, dx.data as FloatArray, pre.planes, pre.axes);
      dm.dispose();
      return [dx];
    },
  };
}

/**
 * S3Pool (Zhai et al., CVPR 2017): max pool k×k with stride 1, then keep a random, sorted subset of
 * g/s rows in each grid cell of g rows (and independently of columns), shared by the whole batch.
 *
 * - Shapes: `x` `[N, C, H, W]` (or `[C, H, W]`) → `[N, C, H/s, W/s]`. The max-pooled map is
 *   `(H − k + 1) × (W − k + 1)`; its last grid cell is k − 1 rows shorter.
 * - Requires H % g = 0 and W % g = 0 (the official code would let the last cell absorb a remainder and
 *   change the shape), g % s = 0, and training and eval shapes to agree: 2 ≤ k ≤ s + 1 for even s,
 *   k ≤ s for odd s (eval pads ⌊s/2⌋ on each side of the (H − k + 1)-long map).
 * - Training: one selection per call (rows drawn before columns) shared by all samples and channels,
 *   redrawn every call; pass `rows` and `cols` to fix it; {@link s3Pool2dWithSelection} returns it.
 * - Eval (`training: false`, the official deterministic mode): average pool of the max-pooled map,
 *   kernel = stride = s, padding ⌊s/2⌋, padded cells excluded from the divisor:
 *   `Ho = floor((H − k + 1 + 2⌊s/2⌋ − s)/s) + 1`.
 * - Backward: gradient scattered to the selected (or averaged) cells of the max-pooled map, then to
 *   the first maximum of each stride-1 window (PyTorch ties; Theano is recalled to split ties).
 * - Defaults: k = g = s = 2 (the mildest setting); the paper's CIFAR ResNet uses g = 16, then 8.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const y = s3Pool2d(x, { kernelSize: 2, seed: 1 });               // [N, C, H/2, W/2]
 * const z = s3Pool2d(x, { kernelSize: 2, gridSize: 16, seed: 1 }); // 8 of 16 rows per cell
 */
export const s3Pool2d = defineOp("s3Pool2d", {
  planArgs: xShapeArgsOptional<S3PoolOptions>("s3Pool2d"),
  plan: planS3("s3Pool2d"),
  forward: (plan, x, opts) => {
    const r = s3Impl("s3Pool2d", plan, x, opts);
    return { output: r.output.output, backward: r.backward };
  },
});

/**
 * {@link s3Pool2d} returning `{ output, rows, cols }`: the selected rows and columns of the max-pooled
 * map (int32, `[H/s]` and `[W/s]`), null with `training: false`. Pass them back as options to replay.
 *
 * @example
 * const { output, rows, cols } = s3Pool2dWithSelection(x, { seed: 5 });
 */
export const s3Pool2dWithSelection = defineOp("s3Pool2dWithSelection", {
  planArgs: xShapeArgsOptional<S3PoolOptions>("s3Pool2dWithSelection"),
  plan: planS3("s3Pool2dWithSelection"),
  forward: (plan, x, opts) => s3Impl("s3Pool2dWithSelection", plan, x, opts),
});
