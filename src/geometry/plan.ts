/**
 * Window plans: the one data structure forward kernels, backward kernels and `outputShape` share.
 *
 * Every windowed op is planned as 3 spatial axes (depth, height, width); 1-d and 2-d ops get
 * trivial leading axes (in = out = 1). Along each axis, output position `o` reads input positions
 * `start[o], start[o] + step, ... < end[o]` — already clipped to the real input, so kernels never
 * see padding.
 */
import type { SpatialInput } from "../check.js";
import type { DType } from "../tensor/dtype.js";
import { checkAlloc } from "../tensor/limits.js";

export interface Axis {
  readonly inSize: number;
  readonly outSize: number;
  /** First in-bounds tap of each window (on the dilation grid). */
  readonly start: Int32Array;
  /** Exclusive end of each window, clipped to the input. */
  readonly end: Int32Array;
  /** Distance between taps (dilation). */
  readonly step: number;
  /**
   * Window length counting padding but clipped at `inSize + padding after` (PyTorch's avg-pool
   * `count_include_pad` factor along this axis; with per-side padding, the window clipped to the
   * padded extent `[−before, inSize + after)`). Equals `end - start` where there is no padding.
   * Float64 where it may exceed 2³¹ − 1 (sliding windows with huge kernels and padding).
   */
  readonly padCount: Int32Array | Float64Array;
}

export type Axes3 = readonly [Axis, Axis, Axis];

export interface WindowPlan extends SpatialInput {
  readonly op: string;
  readonly spatialRank: 1 | 2 | 3;
  /** Spatial output sizes (length = spatialRank). */
  readonly outSpatial: readonly number[];
  /** Full input and output tensor shapes (unbatched stays unbatched). */
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  /** n · c independent planes. */
  readonly planes: number;
  readonly inPlaneSize: number;
  readonly outPlaneSize: number;
  /** [depth, height, width]; trivial leading axes for 1-d and 2-d. */
  readonly axes: Axes3;
}

/** An axis with one window covering its single element: pads 1-d and 2-d plans to 3 axes. */
export const TRIVIAL_AXIS: Axis = Object.freeze({
  inSize: 1,
  outSize: 1,
  start: Int32Array.of(0),
  end: Int32Array.of(1),
  step: 1,
  padCount: Int32Array.of(1),
});

/**
 * The plan's output shape (`[N, C, ...outSpatial]`, or `[C, ...]` unbatched), checked against the
 * allocation limit (src/tensor/limits.ts) before anything of that size — the axes included — is
 * allocated. Planners call it as soon as they know the output sizes.
 */
export function planOutShape(op: string, input: SpatialInput, outSpatial: readonly number[], dtype?: DType): number[] {
  const shape = [...(input.batched ? [input.n, input.c] : [input.c]), ...outSpatial];
  checkAlloc(op, shape, dtype);
  return shape;
}

/** Assemble a plan from the parsed input and one axis per spatial dim. */
export function makePlan(op: string, input: SpatialInput, axes: readonly Axis[]): WindowPlan {
  const rank = axes.length as 1 | 2 | 3;
  const full: Axis[] = [];
  for (let i = rank; i < 3; i++) full.push(TRIVIAL_AXIS);
  full.push(...axes);
  const outSpatial = axes.map((a) => a.outSize);
  const lead = input.batched ? [input.n, input.c] : [input.c];
  const inPlaneSize = input.spatial.reduce((a, b) => a * b, 1);
  const outPlaneSize = outSpatial.reduce((a, b) => a * b, 1);
  // the input's fields written out, not spread: V8 (Node 20) builds `{ ...input, op, … }` through a slow
  // path, about 0.5 µs per property after the spread — 7 µs of every windowed op's call here
  return {
    batched: input.batched,
    n: input.n,
    c: input.c,
    spatial: input.spatial,
    op,
    spatialRank: rank,
    outSpatial,
    inShape: [...lead, ...input.spatial],
    outShape: planOutShape(op, input, outSpatial),
    planes: input.n * input.c,
    inPlaneSize,
    outPlaneSize,
    axes: full as unknown as Axes3,
  };
}
