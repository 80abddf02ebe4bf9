/**
 * Fractional max pooling, 2-d and 3-d, as PyTorch 1.13 CPU computes it
 * (aten/src/ATen/native/FractionalMaxPool2d.cpp, FractionalMaxPool3d.cpp; torch/nn/functional.py):
 * fixed k-sized windows at pseudo-random starts, one uniform sample per (plane, axis). Geometry
 * (starts in the input's float arithmetic, output sizes, checks) lives in src/geometry/fractional.ts.
 */
import { expectOptions, expectTensor, sizeOption, spatialShapeInput, type SpatialInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { fractionalOutputShape, planFractional, type FractionalPlan } from "../geometry/fractional.js";
import { planOutShape } from "../geometry/plan.js";
import { kernel } from "../kernels/registry.js";
import { maxWindowsScatterWrite } from "../kernels/scatter.js";
import { fractionalMaxForward } from "../kernels/window.js";
import { defineOp, xShapeArgs, type Grads } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray, FloatDType } from "../tensor/dtype.js";
import { generatorFor } from "../tensor/random.js";
import { emptyTensor, fromArray, type Tensor } from "../tensor/tensor.js";

export interface FractionalMaxPoolOptions {
  /** Window size k (a number or one per spatial dim); required. */
  kernelSize: number | readonly number[];
  /** Output size (a number or one per dim). Give this or `outputRatio`. */
  outputSize?: number | readonly number[];
  /** Output size as a fraction of the input, each in (0, 1): `o = trunc(In · r)`. */
  outputRatio?: number | readonly number[];
  /**
   * Fixed samples in [0, 1), shape `[N, C, rank]` (`[1, C, rank]` or `[C, rank]` for unbatched
   * input), the input's dtype, in PyTorch's `_random_samples` order: 2-d `(u_W, u_H)` (width
   * first), 3-d `(u_D, u_H, u_W)`. Without it, samples are drawn from the generator.
   */
  samples?: Tensor;
  /** Seed for a fresh generator (ignored when `samples` is given); else the global generator. */
  seed?: number;
}

/** `{ output, indices, samples }`: indices are flat in-plane argmax positions (int32); samples are the ones used, `[N, C, rank]` (N = 1 unbatched). */
export interface FractionalMaxPoolResult {
  readonly output: Tensor;
  readonly indices: Tensor;
  readonly samples: Tensor;
}

const KNOWN = ["kernelSize", "outputSize", "outputRatio", "samples", "seed"] as const;

/**
 * The plan of fractional max pooling: input layout, kernel and output sizes, and the seed. The
 * windows themselves depend on each plane's random sample, drawn (or read from `samples`) by the
 * forward pass: they are data, like RoI boxes, not part of the plan.
 */
export interface FractionalMaxPoolPlan extends SpatialInput {
  readonly kernelSize: readonly number[];
  readonly outSpatial: readonly number[];
  readonly outShape: readonly number[];
  readonly seed: number | undefined;
}

/** The one plan of a fractional max-pooling op: shape and options parsed and checked once. */
function planFractionalOp(op: string, rank: 2 | 3) {
  return (shape: readonly number[], opts: FractionalMaxPoolOptions): FractionalMaxPoolPlan => {
    const input = spatialShapeInput(op, "x", shape, rank);
    const o = expectOptions<FractionalMaxPoolOptions>(op, opts, KNOWN);
    if (o.kernelSize === undefined) throw new PoolkitRangeError(op, `kernelSize is required`);
    const kernelSize = sizeOption(op, "kernelSize", o.kernelSize, rank, 1);
    const outSpatial = fractionalOutputShape(op, input.spatial, kernelSize, o.outputSize, o.outputRatio);
    if (o.seed !== undefined && !(typeof o.seed === "number" && Number.isSafeInteger(o.seed))) {
      throw new PoolkitRangeError(op, `seed must be a safe integer, got ${show(o.seed)}`);
    }
    return { ...input, kernelSize, outSpatial, outShape: planOutShape(op, input, outSpatial), seed: o.seed };
  };
}

/** The samples to use: validated copies of the `samples` option, or fresh draws (plane-major, PyTorch's order). */
function drawSamples(op: string, rank: number, plan: FractionalMaxPoolPlan, samples: unknown, dtype: FloatDType): FloatArray {
  const count = plan.n * plan.c * rank;
  const out = allocArray(dtype, count);
  if (samples !== undefined) {
    const s = samples;
    expectTensor(op, "samples", s);
    const want = [plan.n, plan.c, rank];
    const ok =
      (s.shape.length === 3 && s.shape[0] === plan.n && s.shape[1] === plan.c && s.shape[2] === rank) ||
      (!plan.batched && s.shape.length === 2 && s.shape[0] === plan.c && s.shape[1] === rank);
    if (!ok) {
      const also = plan.batched ? "" : ` (or ${show([plan.c, rank])})`;
      throw new PoolkitRangeError(op, `samples must have shape ${show(want)}${also}, got ${show(s.shape)}`);
    }
    if (s.dtype !== dtype) throw new PoolkitTypeError(op, `samples must have the input's dtype ${dtype}, got ${s.dtype}`);
    const src = s.data;
    for (let i = 0; i < count; i++) {
      const u = src[i] as number;
      if (!(u >= 0 && u < 1)) throw new PoolkitRangeError(op, `samples must lie in [0, 1), got ${show(u)} at flat index ${i}`);
      out[i] = u;
    }
    return out;
  }
  const gen = generatorFor(plan.seed, op);
  for (let i = 0; i < count; i++) out[i] = gen.uniformFor(dtype);
  return out;
}

function fractionalCore(name: string, rank: 2 | 3, op: FractionalMaxPoolPlan, x: Tensor, opts: FractionalMaxPoolOptions) {
  const dtype = x.dtype as FloatDType;
  // the samples tensor is an input carried in the options: read (and checked) here, not parsed again
  const samples = drawSamples(name, rank, op, (opts as { samples?: unknown }).samples, dtype);
  const plan: FractionalPlan = planFractional(name, op, op.kernelSize, op.outSpatial, samples, dtype);
  const output = emptyTensor(plan.outShape, dtype);
  const idx = emptyTensor(plan.outShape, "int32");
  kernel("fractionalMaxPool.forward", dtype, fractionalMaxForward)(x.data as FloatArray, output.data as FloatArray, idx.data as Int32Array, plan.inPlaneSize, plan.outPlaneSize, plan.planeAxes);
  const backward = (dy: Tensor): Grads => {
    // dx = 0, then dx[argmax] += dy, accumulating where overlapping windows share an argmax: every
    // element written by the kernel (no zero-filled allocation, a full pass over dx)
    const dx = emptyTensor(plan.inShape, dtype);
    kernel("maxWindows.scatterWrite", dtype, maxWindowsScatterWrite)(dy.data as FloatArray, idx.data as Int32Array, dx.data as FloatArray, plan.planes, plan.inPlaneSize, plan.outPlaneSize);
    return [dx];
  };
  return { output, idx, samples, plan, backward };
}

function fractionalMaxPoolN(rank: 2 | 3) {
  const name = `fractionalMaxPool${rank}d`;
  return defineOp(name, {
    planArgs: xShapeArgs<FractionalMaxPoolOptions>(name),
    plan: planFractionalOp(name, rank),
    forward: (plan, x, opts) => {
      const r = fractionalCore(name, rank, plan, x, opts);
      return { output: r.output, backward: r.backward };
    },
  });
}

function fractionalMaxPoolWithIndicesN(rank: 2 | 3) {
  const name = `fractionalMaxPool${rank}dWithIndices`;
  return defineOp(name, {
    planArgs: xShapeArgs<FractionalMaxPoolOptions>(name),
    plan: planFractionalOp(name, rank),
    forward: (plan, x, opts) => {
      const r = fractionalCore(name, rank, plan, x, opts);
      // Copies: backward keeps its own indices and samples even if the caller writes into these.
      const indices = emptyTensor(r.plan.outShape, "int32");
      (indices.data as Int32Array).set(r.idx.data as Int32Array);
      const output: FractionalMaxPoolResult = {
        output: r.output,
        indices,
        samples: fromArray(r.samples.slice(), [r.plan.n, r.plan.c, rank]),
      };
      return { output, backward: r.backward };
    },
  });
}

/**
 * 2-d fractional max pooling (PyTorch `F.fractional_max_pool2d`): `[N, C, H, W]` or `[C, H, W]` →
 * `[N, C, oH, oW]`, with `o = outputSize` or `o = trunc(In · outputRatio)`; requires
 * `o + k − 1 ≤ In`.
 *
 * PyTorch's algorithm, not the paper's region scheme: per plane and axis one sample u ∈ [0, 1),
 * `alpha = (In − k)/(o − 1)`, window i starts at `trunc((i + u)·alpha) − trunc(u·alpha)` (the last
 * at `In − k`) and covers k elements; computed in the input's float arithmetic, so float32 and
 * float64 inputs can get different windows for the same u, exactly as in PyTorch. Output = window
 * max (first maximum wins ties, NaN propagates); backward adds dy at each argmax, accumulating over
 * overlapping windows. `samples` is `[N, C, 2]` in PyTorch's `_random_samples` order `(u_W, u_H)`.
 *
 * Randomness: without `samples`, fresh samples are drawn on every call (`seed` → a fresh generator,
 * else the global one) — in inference too: PyTorch has no eval mode for this op, and neither does
 * poolkit (pass `samples` or `seed` for a deterministic layer). The backward pass reuses the
 * forward's samples. Paper: B. Graham, Fractional Max-Pooling, arXiv:1412.6071, 2014.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example fractionalMaxPool2d(x, { kernelSize: 2, outputRatio: 0.5, seed: 1 }) // [N, C, ⌊H/2⌋, ⌊W/2⌋]
 */
export const fractionalMaxPool2d = fractionalMaxPoolN(2);
/**
 * 3-d fractional max pooling (PyTorch `F.fractional_max_pool3d`): `[N, C, D, H, W]` or
 * `[C, D, H, W]` → `[N, C, oD, oH, oW]`; same algorithm as {@link fractionalMaxPool2d} per axis.
 * `samples` is `[N, C, 3]` in PyTorch's 3-d order `(u_D, u_H, u_W)` — depth first, unlike the
 * 2-d op's width-first order (checked against torch 1.13).
 *
 * Deviation: torch 1.13's 3-d op rejects `o + k − 1 = In` (it checks `<`); poolkit accepts it, as
 * the 2-d op does (all windows then step by 1).
 *
 * @example fractionalMaxPool3d(x, { kernelSize: 2, outputSize: [4, 5, 6], seed: 7 })
 */
export const fractionalMaxPool3d = fractionalMaxPoolN(3);
/**
 * {@link fractionalMaxPool2d} returning `{ output, indices, samples }`: `indices` (int32) are flat
 * in-plane argmax positions `h·W + w` (PyTorch `return_indices=True`, which gives int64);
 * `samples` are the samples the call used, so a run can be replayed with `{ samples }`.
 *
 * @example const { output, indices, samples } = fractionalMaxPool2dWithIndices(x, { kernelSize: 3, outputSize: 5 });
 */
export const fractionalMaxPool2dWithIndices = fractionalMaxPoolWithIndicesN(2);
/**
 * {@link fractionalMaxPool3d} returning `{ output, indices, samples }`: flat in-plane indices
 * `d·H·W + h·W + w` (int32) and the `[N, C, 3]` samples used.
 *
 * @example const { output, indices } = fractionalMaxPool3dWithIndices(x, { kernelSize: 2, outputRatio: 0.6 });
 */
export const fractionalMaxPool3dWithIndices = fractionalMaxPoolWithIndicesN(3);
