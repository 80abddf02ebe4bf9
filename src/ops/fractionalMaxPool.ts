/**
 * Fractional max pooling, 2-d and 3-d, as PyTorch 1.13 CPU computes it
 * (aten/src/ATen/native/FractionalMaxPool2d.cpp, FractionalMaxPool3d.cpp; torch/nn/functional.py):
 * fixed k-sized windows at pseudo-random starts, one uniform sample per (plane, axis). Geometry
 * (starts in the input's float arithmetic, output sizes, checks) lives in src/geometry/fractional.ts.
 */
import { expectOptions, expectTensor, leadDims, sizeOption, spatialInput, spatialShapeInput, type SpatialInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { fractionalOutputShape, planFractional, type FractionalPlan } from "../geometry/fractional.js";
import { kernel } from "../kernels/registry.js";
import { maxWindowsBackward, maxWindowsForward } from "../kernels/window.js";
import type { Axes3 } from "../geometry/plan.js";
import { defineOp, type Grads } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray, FloatDType } from "../tensor/dtype.js";
import { generatorFor } from "../tensor/random.js";
import { fromArray, type Tensor } from "../tensor/tensor.js";

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

interface Geometry {
  readonly kernelSize: number[];
  readonly outSpatial: number[];
}

function geometry(op: string, rank: number, o: FractionalMaxPoolOptions, input: SpatialInput): Geometry {
  if (o.kernelSize === undefined) throw new PoolkitRangeError(op, `kernelSize is required`);
  const kernelSize = sizeOption(op, "kernelSize", o.kernelSize, rank, 1);
  const outSpatial = fractionalOutputShape(op, input.spatial, kernelSize, o.outputSize, o.outputRatio);
  return { kernelSize, outSpatial };
}

/** The samples to use: validated copies of `opts.samples`, or fresh draws (plane-major, PyTorch's order). */
function drawSamples(op: string, rank: number, o: FractionalMaxPoolOptions, input: SpatialInput, dtype: FloatDType): FloatArray {
  const count = input.n * input.c * rank;
  if (o.seed !== undefined && !(typeof o.seed === "number" && Number.isSafeInteger(o.seed))) {
    throw new PoolkitRangeError(op, `seed must be a safe integer, got ${show(o.seed)}`);
  }
  const out = allocArray(dtype, count);
  if (o.samples !== undefined) {
    const s = o.samples;
    expectTensor(op, "samples", s);
    const want = [input.n, input.c, rank];
    const ok =
      (s.shape.length === 3 && s.shape[0] === input.n && s.shape[1] === input.c && s.shape[2] === rank) ||
      (!input.batched && s.shape.length === 2 && s.shape[0] === input.c && s.shape[1] === rank);
    if (!ok) {
      const also = input.batched ? "" : ` (or ${show([input.c, rank])})`;
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
  const gen = generatorFor(o.seed, op);
  for (let i = 0; i < count; i++) out[i] = gen.uniformFor(dtype);
  return out;
}

/**
 * Max over each plane's own windows: the shared max kernel, run once per plane on that plane's
 * axes (the windows differ between planes because each plane has its own samples).
 */
function fractionalMaxForward(x: FloatArray, y: FloatArray, idx: Int32Array, inPlane: number, outPlane: number, planeAxes: readonly Axes3[]): void {
  for (let p = 0; p < planeAxes.length; p++) {
    const lo = p * outPlane;
    maxWindowsForward(x.subarray(p * inPlane, (p + 1) * inPlane), y.subarray(lo, lo + outPlane), idx.subarray(lo, lo + outPlane), 1, planeAxes[p] as Axes3);
  }
}

function fractionalCore(name: string, rank: 2 | 3, x: Tensor, opts: FractionalMaxPoolOptions) {
  const o = expectOptions<FractionalMaxPoolOptions>(name, opts, KNOWN);
  const input = spatialInput(name, "x", x, rank);
  const dtype = x.dtype as FloatDType;
  const g = geometry(name, rank, o, input);
  const samples = drawSamples(name, rank, o, input, dtype);
  const plan: FractionalPlan = planFractional(name, input, g.kernelSize, g.outSpatial, samples, dtype);
  const y = allocArray(dtype, plan.planes * plan.outPlaneSize);
  const idx = allocArray("int32", plan.planes * plan.outPlaneSize);
  kernel("fractionalMaxPool.forward", dtype, fractionalMaxForward)(x.data as FloatArray, y, idx, plan.inPlaneSize, plan.outPlaneSize, plan.planeAxes);
  const backward = (dy: Tensor): Grads => {
    const dx = allocArray(dtype, plan.planes * plan.inPlaneSize);
    // dx[argmax] += dy, accumulating where overlapping windows share an argmax.
    kernel("maxWindows.backward", dtype, maxWindowsBackward)(dy.data as FloatArray, idx, dx, plan.planes, plan.inPlaneSize, plan.outPlaneSize);
    return [fromArray(dx, plan.inShape)];
  };
  return { output: fromArray(y, plan.outShape), idx, samples, plan, backward };
}

function outputShapeFn(name: string, rank: 2 | 3) {
  return (shape: readonly number[], opts: FractionalMaxPoolOptions): number[] => {
    const o = expectOptions<FractionalMaxPoolOptions>(name, opts, KNOWN);
    const input = spatialShapeInput(name, "x", shape, rank);
    const g = geometry(name, rank, o, input);
    return [...leadDims(input), ...g.outSpatial];
  };
}

function fractionalMaxPoolN(rank: 2 | 3) {
  const name = `fractionalMaxPool${rank}d`;
  return defineOp(
    name,
    (x: Tensor, opts: FractionalMaxPoolOptions) => {
      const r = fractionalCore(name, rank, x, opts);
      return { output: r.output, backward: r.backward };
    },
    { outputShape: outputShapeFn(name, rank) },
  );
}

function fractionalMaxPoolWithIndicesN(rank: 2 | 3) {
  const name = `fractionalMaxPool${rank}dWithIndices`;
  return defineOp(
    name,
    (x: Tensor, opts: FractionalMaxPoolOptions) => {
      const r = fractionalCore(name, rank, x, opts);
      const output: FractionalMaxPoolResult = {
        output: r.output,
        // Copies: backward keeps its own indices and samples even if the caller writes into these.
        indices: fromArray(Int32Array.from(r.idx), r.plan.outShape),
        samples: fromArray(r.samples.slice(), [r.plan.n, r.plan.c, rank]),
      };
      return { output, backward: r.backward };
    },
    { outputShape: outputShapeFn(name, rank) },
  );
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
