/**
 * PyTorch's fractional max-pooling intervals (aten/src/ATen/native/FractionalMaxPool2d.cpp,
 * generate_intervals): fixed-size windows of length K at pseudo-random starts along an axis of
 * length L pooled to O, with one sample u ∈ [0, 1) per (plane, axis):
 *
 *   alpha = (L − K) / (O − 1);  start[i] = trunc((i + u)·alpha) − trunc(u·alpha)  for i < O − 1;
 *   start[O − 1] = L − K.
 *
 * PyTorch computes this in the input's scalar type; for float32 every step is rounded to float32
 * (`Math.fround`), which changes starts in many configurations (docs/methods/fractional.md: L=7, O=4, K=2, u=0.8
 * gives [0,1,3,5] in float32 but [0,2,3,5] in float64).
 */
import { sizeOption, type SpatialInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import type { FloatDType } from "../tensor/dtype.js";
import { makePlan, TRIVIAL_AXIS, type Axes3, type Axis, type WindowPlan } from "./plan.js";

export function fractionalStarts(L: number, O: number, K: number, u: number, dtype: FloatDType): Int32Array {
  const starts = new Int32Array(O);
  if (O > 1) {
    if (dtype === "float32") {
      const f = Math.fround;
      const uf = f(u);
      const alpha = f(f(L - K) / f(O - 1));
      const base = Math.trunc(f(uf * alpha));
      for (let i = 0; i < O - 1; i++) starts[i] = Math.trunc(f(f(i + uf) * alpha)) - base;
    } else {
      const alpha = (L - K) / (O - 1);
      const base = Math.trunc(u * alpha);
      for (let i = 0; i < O - 1; i++) starts[i] = Math.trunc((i + u) * alpha) - base;
    }
  }
  starts[O - 1] = L - K;
  return starts;
}

/** The axis of K-long windows at the given starts. */
export function fractionalAxis(L: number, K: number, starts: Int32Array): Axis {
  const O = starts.length;
  const end = new Int32Array(O);
  const padCount = new Int32Array(O).fill(K);
  for (let i = 0; i < O; i++) end[i] = (starts[i] as number) + K;
  return { inSize: L, outSize: O, start: starts, end, step: 1, padCount };
}

/**
 * Which spatial axis each of a plane's samples drives, in PyTorch's `_random_samples` order.
 * 2-d (FractionalMaxPool2d.cpp): sample 0 → width, sample 1 → height.
 * 3-d (FractionalMaxPool3d.cpp): sample 0 → time/depth, 1 → height, 2 → width — NOT width first;
 * established empirically with torch 1.13 (distinct start sequences per axis, see
 * scripts/fixtures/pytorch_adaptive.py, which replays it in random 3-d configurations).
 * Entry j = the spatial axis (0 = first spatial dim) that sample j drives.
 */
export const FRACTIONAL_SAMPLE_AXIS: Readonly<Record<2 | 3, readonly number[]>> = Object.freeze({
  2: Object.freeze([1, 0]),
  3: Object.freeze([0, 1, 2]),
});

/**
 * Output sizes of fractional max pooling: `outputSize` as given, or from `outputRatio`
 * `o = trunc(In · r)` (torch/nn/functional.py). Exactly one of the two; ratios in (0, 1);
 * every `o ≥ 1` and `o + k − 1 ≤ In` (FractionalMaxPool2d.cpp's check, which guarantees
 * alpha = (In − k)/(o − 1) ≥ 1, i.e. strictly increasing starts).
 *
 * Deviation: torch 1.13's 3-d op checks `o + k − 1 < In` (strict) on every axis, rejecting the
 * boundary case `o + k − 1 = In` that its own formula handles (all starts step 1); poolkit applies
 * the 2-d rule to both ranks.
 */
export function fractionalOutputShape(
  op: string,
  spatial: readonly number[],
  kernelSize: readonly number[],
  outputSize: unknown,
  outputRatio: unknown,
): number[] {
  const rank = spatial.length;
  if ((outputSize === undefined) === (outputRatio === undefined)) {
    throw new PoolkitRangeError(
      op,
      `exactly one of outputSize and outputRatio must be given, got ${outputSize === undefined ? "neither" : `outputSize ${show(outputSize)} and outputRatio ${show(outputRatio)}`}`,
    );
  }
  let out: number[];
  if (outputSize !== undefined) {
    out = sizeOption(op, "outputSize", outputSize, rank, 1);
  } else {
    const ratio = typeof outputRatio === "number" ? new Array<number>(rank).fill(outputRatio) : outputRatio;
    if (!Array.isArray(ratio) || ratio.length !== rank || ratio.some((r) => typeof r !== "number")) {
      throw new PoolkitTypeError(op, `outputRatio must be a number or an array of ${rank} numbers, got ${show(outputRatio)}`);
    }
    for (const r of ratio as number[]) {
      if (!(r > 0 && r < 1)) throw new PoolkitRangeError(op, `outputRatio must be in (0, 1), got ${show(outputRatio)}`);
    }
    out = spatial.map((inSize, i) => Math.trunc(inSize * (ratio[i] as number)));
    if (out.some((o) => o < 1)) {
      throw new PoolkitRangeError(op, `outputRatio ${show(outputRatio)} gives output size ${show(out)} for input size ${show(spatial)}; every output size must be at least 1`);
    }
  }
  for (let i = 0; i < rank; i++) {
    const o = out[i] as number;
    const k = kernelSize[i] as number;
    const L = spatial[i] as number;
    if (o + k - 1 > L) {
      throw new PoolkitRangeError(
        op,
        `kernelSize is too large for the output size: need outputSize + kernelSize − 1 ≤ input size, got outputSize ${show(out)}, kernelSize ${show(kernelSize)} for input size ${show(spatial)}`,
      );
    }
  }
  return out;
}

/** A fractional plan: shapes as a {@link WindowPlan}, and one set of axes per (n, c) plane. */
export interface FractionalPlan extends Omit<WindowPlan, "axes"> {
  readonly kernelSize: readonly number[];
  /** Axes of plane p (depth, height, width; trivial depth for 2-d), from that plane's samples. */
  readonly planeAxes: readonly Axes3[];
}

/**
 * Plan fractional max pooling: plane p's sample j (`samples[p·rank + j]`, PyTorch's order, see
 * {@link FRACTIONAL_SAMPLE_AXIS}) sets the starts along its axis with {@link fractionalStarts} in
 * the input's dtype. Options must already be validated ({@link fractionalOutputShape}).
 */
export function planFractional(
  op: string,
  input: SpatialInput,
  kernelSize: readonly number[],
  outSpatial: readonly number[],
  samples: ArrayLike<number>,
  dtype: FloatDType,
): FractionalPlan {
  const rank = input.spatial.length as 2 | 3;
  const order = FRACTIONAL_SAMPLE_AXIS[rank];
  const planes = input.n * input.c;
  const planeAxes: Axes3[] = new Array<Axes3>(planes);
  const axes: Axis[] = new Array<Axis>(rank);
  for (let p = 0; p < planes; p++) {
    for (let j = 0; j < rank; j++) {
      const ax = order[j] as number;
      const L = input.spatial[ax] as number;
      const K = kernelSize[ax] as number;
      axes[ax] = fractionalAxis(L, K, fractionalStarts(L, outSpatial[ax] as number, K, samples[p * rank + j] as number, dtype));
    }
    planeAxes[p] = (rank === 2 ? [TRIVIAL_AXIS, axes[0], axes[1]] : [axes[0], axes[1], axes[2]]) as unknown as Axes3;
  }
  // Shapes only: the placeholder axes (u = 0) are dropped; windows live in planeAxes.
  const shapeAxes = input.spatial.map((L, i) =>
    fractionalAxis(L, kernelSize[i] as number, fractionalStarts(L, outSpatial[i] as number, kernelSize[i] as number, 0, dtype)),
  );
  const { axes: _unused, ...shape } = makePlan(op, input, shapeAxes);
  return { ...shape, kernelSize, planeAxes };
}
