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
import { boolOption, expectOptions, sizeOption, spatialInput, type SpatialInput, spatialShapeInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { makePlan, type Axis, type WindowPlan } from "../geometry/plan.js";
import { planSlidingFor, slidingGeometry, slidingOutputSize } from "../geometry/sliding.js";
import { kernel } from "../kernels/registry.js";
import { avgDivisors } from "../geometry/divisors.js";
import { avgWindowsBackward, avgWindowsForward, maxWindowsBackward, maxWindowsForward } from "../kernels/window.js";
import { defineOp } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray, FloatDType } from "../tensor/dtype.js";
import { generatorFor, type Generator } from "../tensor/random.js";
import { Tensor, fromArray } from "../tensor/tensor.js";

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

/** Per-axis S3Pool geometry, validated. */
interface S3Axis {
  readonly inSize: number;
  readonly k: number;
  readonly g: number;
  readonly s: number;
  /** Max-pooled length H − k + 1. */
  readonly m: number;
  readonly cells: number;
  readonly per: number;
  readonly outSize: number;
}

const AXIS_NAME = ["height", "width"] as const;

function s3Axes(op: string, spatial: readonly number[], o: S3PoolOptions): S3Axis[] {
  const k = sizeOption(op, "kernelSize", o.kernelSize ?? 2, 2, 1);
  const g = o.gridSize === undefined ? k : sizeOption(op, "gridSize", o.gridSize, 2, 1);
  const s = o.stride === undefined ? k : sizeOption(op, "stride", o.stride, 2, 1);
  return spatial.map((inSize, i) => {
    const ki = k[i] as number;
    const gi = g[i] as number;
    const si = s[i] as number;
    const axis = AXIS_NAME[i] as string;
    if (ki > inSize) throw new PoolkitRangeError(op, `kernelSize ${ki} is larger than the input ${axis} ${inSize}`);
    if (gi % si !== 0) throw new PoolkitRangeError(op, `gridSize must be a multiple of stride, got gridSize ${gi} and stride ${si}`);
    // The official code silently lets the last cell absorb a remainder, which breaks the output shape (docs/methods/s3pool.md).
    if (inSize % gi !== 0) throw new PoolkitRangeError(op, `input ${axis} must be a multiple of gridSize, got ${axis} ${inSize} for gridSize ${gi}`);
    const m = inSize - ki + 1;
    const cells = inSize / gi;
    const per = gi / si;
    const last = m - gi * (cells - 1);
    if (last < per) {
      throw new PoolkitRangeError(
        op,
        `the last grid cell along the ${axis} has ${last} rows of the max-pooled map, fewer than the ${per} to select; ` +
          `need gridSize − kernelSize + 1 ≥ gridSize / stride, got kernelSize ${ki}, gridSize ${gi}, stride ${si}`,
      );
    }
    const outSize = cells * per;
    const evalSize = slidingOutputSize(m, si, si, Math.floor(si / 2), 1, false);
    if (evalSize !== outSize) {
      throw new PoolkitRangeError(
        op,
        `kernelSize ${ki} and stride ${si} give ${outSize} output ${axis === "height" ? "rows" : "columns"} in training but ${evalSize} in eval for input ${axis} ${inSize}; ` +
          `they agree for 2 ≤ kernelSize ≤ stride + 1 with an even stride and kernelSize ≤ stride with an odd one`,
      );
    }
    return { inSize, k: ki, g: gi, s: si, m, cells, per, outSize };
  });
}

/** Draw one axis's selection: per cell a sorted random subset of `per` positions without replacement. */
function drawSelection(a: S3Axis, gen: Generator): Int32Array {
  const out = new Int32Array(a.outSize);
  let j = 0;
  for (let c = 0; c < a.cells; c++) {
    const offset = a.g * c;
    const size = c < a.cells - 1 ? a.g : a.m - offset;
    const chosen = gen.permutation(size).subarray(0, a.per).sort();
    for (const r of chosen) out[j++] = offset + r;
  }
  return out;
}

function parseSelection(op: string, name: string, v: unknown, a: S3Axis): Int32Array {
  let src: ArrayLike<number>;
  if (v instanceof Tensor) src = v.data;
  else if (v !== null && typeof v === "object" && typeof (v as ArrayLike<number>).length === "number") src = v as ArrayLike<number>;
  else throw new PoolkitTypeError(op, `${name} must be an array of integers or a Tensor, got ${show(v)}`);
  if (src.length !== a.outSize) throw new PoolkitRangeError(op, `${name} must hold ${a.outSize} indices (${a.per} per grid cell), got ${src.length}`);
  const out = new Int32Array(a.outSize);
  for (let c = 0; c < a.cells; c++) {
    const lo = a.g * c;
    const hi = c < a.cells - 1 ? lo + a.g : a.m;
    for (let t = 0; t < a.per; t++) {
      const j = c * a.per + t;
      const r = src[j] as number;
      const prev = t > 0 ? (src[j - 1] as number) : lo - 1;
      if (!Number.isInteger(r) || r < lo || r >= hi || r <= prev) {
        throw new PoolkitRangeError(op, `${name} of grid cell ${c} must be increasing integers in [${lo}, ${hi}), got ${show(r)} at index ${j}`);
      }
      out[j] = r;
    }
  }
  return out;
}

/** One-tap windows at the selected positions: the training step as a window plan on the max-pooled map. */
function selectionAxis(inSize: number, sel: Int32Array): Axis {
  const end = new Int32Array(sel.length);
  for (let i = 0; i < sel.length; i++) end[i] = (sel[i] as number) + 1;
  return { inSize, outSize: sel.length, start: sel, end, step: 1, padCount: new Int32Array(sel.length).fill(1) };
}

interface S3Result {
  readonly output: Tensor;
  /** Training: the selected rows and columns of the max-pooled map (int32); eval: null. */
  readonly rows: Tensor | null;
  readonly cols: Tensor | null;
}

function s3Impl(op: string, x: Tensor, opts?: S3PoolOptions) {
  const o = expectOptions<S3PoolOptions>(op, opts, KNOWN);
  const input = spatialInput(op, "x", x, 2);
  const training = boolOption(op, "training", o.training, true);
  const [ah, aw] = s3Axes(op, input.spatial, o) as [S3Axis, S3Axis];
  const dtype = x.dtype as FloatDType;

  // Step 1: max pool k×k, stride 1, no padding.
  const pre = planSlidingFor(op, input, slidingGeometry(op, { kernelSize: [ah.k, aw.k], stride: 1 }, 2));
  const mSize = pre.planes * pre.outPlaneSize;
  const mMap = allocArray(dtype, mSize);
  const mIdx = allocArray("int32", mSize);
  kernel("maxWindows.forward", dtype, maxWindowsForward)((x.data as FloatArray), mMap, mIdx, pre.planes, pre.axes);
  const mInput: SpatialInput = { batched: input.batched, n: input.n, c: input.c, spatial: [ah.m, aw.m] };

  let plan: WindowPlan;
  let rows: Tensor | null = null;
  let cols: Tensor | null = null;
  let selIdx: Int32Array | null = null;
  let div: Float64Array | null = null;
  const y = () => allocArray(dtype, plan.planes * plan.outPlaneSize);
  let out: FloatArray;
  if (training) {
    let r: Int32Array;
    let c: Int32Array;
    if (o.rows !== undefined || o.cols !== undefined) {
      if (o.rows === undefined || o.cols === undefined) throw new PoolkitRangeError(op, `rows and cols must be given together, got only ${o.rows === undefined ? "cols" : "rows"}`);
      r = parseSelection(op, "rows", o.rows, ah);
      c = parseSelection(op, "cols", o.cols, aw);
    } else {
      const gen = generatorFor(o.seed, op);
      // Rows first, then columns (independent draws); one selection for the whole batch.
      r = drawSelection(ah, gen);
      c = drawSelection(aw, gen);
    }
    rows = fromArray(r, [r.length]);
    cols = fromArray(c, [c.length]);
    plan = makePlan(op, mInput, [selectionAxis(ah.m, r.slice()), selectionAxis(aw.m, c.slice())]);
    out = y();
    selIdx = allocArray("int32", out.length);
    kernel("maxWindows.forward", dtype, maxWindowsForward)(mMap, out, selIdx, plan.planes, plan.axes);
  } else {
    if (o.rows !== undefined || o.cols !== undefined) throw new PoolkitRangeError(op, `rows and cols only apply with training: true`);
    if (o.seed !== undefined) generatorFor(o.seed, op); // validate; eval draws nothing
    plan = planSlidingFor(op, mInput, slidingGeometry(op, { kernelSize: [ah.s, aw.s], padding: [Math.floor(ah.s / 2), Math.floor(aw.s / 2)] }, 2));
    div = avgDivisors(plan.axes, false);
    out = y();
    kernel("avgWindows.forward", dtype, avgWindowsForward)(mMap, out, plan.planes, plan.axes, div);
  }
  const finalPlan = plan;
  return {
    output: { output: fromArray(out, finalPlan.outShape), rows, cols } as S3Result,
    backward: (dy: Tensor) => {
      const dm = allocArray(dtype, mSize);
      if (selIdx) kernel("maxWindows.backward", dtype, maxWindowsBackward)((dy.data as FloatArray), selIdx, dm, finalPlan.planes, finalPlan.inPlaneSize, finalPlan.outPlaneSize);
      else kernel("avgWindows.backward", dtype, avgWindowsBackward)((dy.data as FloatArray), dm, finalPlan.planes, finalPlan.axes, div as Float64Array);
      const dx = allocArray(dtype, x.size);
      kernel("maxWindows.backward", dtype, maxWindowsBackward)(dm, mIdx, dx, pre.planes, pre.inPlaneSize, pre.outPlaneSize);
      return [fromArray(dx, x.shape)];
    },
  };
}

function outputShapeOf(op: string, shape: readonly number[], opts?: S3PoolOptions): number[] {
  const o = expectOptions<S3PoolOptions>(op, opts, KNOWN);
  spatialShapeInput(op, "x", shape, 2); // the same input checks and messages as the forward pass
  const spatial = shape.slice(shape.length - 2);
  const axes = s3Axes(op, spatial, o);
  return [...shape.slice(0, shape.length - 2), ...axes.map((a) => a.outSize)];
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
export const s3Pool2d = defineOp(
  "s3Pool2d",
  (x: Tensor, opts?: S3PoolOptions) => {
    const r = s3Impl("s3Pool2d", x, opts);
    return { output: r.output.output, backward: r.backward };
  },
  { outputShape: (shape: readonly number[], opts?: S3PoolOptions) => outputShapeOf("s3Pool2d", shape, opts) },
);

/**
 * {@link s3Pool2d} returning `{ output, rows, cols }`: the selected rows and columns of the max-pooled
 * map (int32, `[H/s]` and `[W/s]`), null with `training: false`. Pass them back as options to replay.
 *
 * @example
 * const { output, rows, cols } = s3Pool2dWithSelection(x, { seed: 5 });
 */
export const s3Pool2dWithSelection = defineOp(
  "s3Pool2dWithSelection",
  (x: Tensor, opts?: S3PoolOptions) => s3Impl("s3Pool2dWithSelection", x, opts),
  { outputShape: (shape: readonly number[], opts?: S3PoolOptions) => outputShapeOf("s3Pool2dWithSelection", shape, opts) },
);
