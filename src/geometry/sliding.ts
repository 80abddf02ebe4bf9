/**
 * PyTorch's sliding windows (aten/src/ATen/native/Pool.h: pooling_output_shape_pad_lr,
 * pool2d_shape_check; cpu/MaxPoolKernel.cpp, cpu/AvgPoolKernel.cpp for the window loops).
 *
 * Output size per axis:
 *   o = floor((In + 2p − d·(k−1) − 1 + (ceilMode ? s − 1 : 0)) / s) + 1
 *   and in ceil mode, if (o − 1)·s ≥ In + p then o −= 1  (a window may not start in the right padding).
 */
import { spatialInput, sizeOption, boolOption, ownProps, type SpatialInput } from "../check.js";
import { PoolkitRangeError, show } from "../errors.js";
import { MAX_INT32 } from "../tensor/limits.js";
import { makePlan, planOutShape, type Axis, type WindowPlan } from "./plan.js";

export interface SlidingGeometry {
  readonly kernelSize: readonly number[];
  readonly stride: readonly number[];
  readonly padding: readonly number[];
  readonly dilation: readonly number[];
  readonly ceilMode: boolean;
}

/** PyTorch's pooled length along one axis (may be < 1 for invalid configs; callers check). */
export function slidingOutputSize(inSize: number, k: number, s: number, p: number, d: number, ceilMode: boolean): number {
  const num = inSize + 2 * p - d * (k - 1) - 1 + (ceilMode ? s - 1 : 0);
  let o = Math.floor(num / s) + 1;
  if (ceilMode && (o - 1) * s >= inSize + p) o -= 1;
  return o;
}

/**
 * Windows along one axis, clipped to the input, taps on the dilation grid. O(1) per window whatever
 * the kernel size and padding: the first in-bounds tap is found by division, not by stepping
 * through the padding (a kernel of 2·10⁹ + 1 with padding 10⁹ used to take 23 s on 64 elements).
 *
 * Exactness: with the limits {@link slidingGeometry} enforces every quantity here is an integer
 * below 2⁵³. `padCount` (the avg-pool divisor factor) is kept in float64: it may exceed 2³¹ − 1
 * (kernelSize 3·10⁹ + 1 with padding 1.5·10⁹), where an Int32Array wrapped it to a negative
 * divisor. `start` of a window that misses the input may lie past 2³¹ − 1 (dilation > 2³¹); it is
 * then stored as 2³¹ − 1, still ≥ `end`, so the window stays empty (see `maxPool`'s index check).
 */
export function slidingAxis(inSize: number, k: number, s: number, p: number, d: number, ceilMode: boolean): Axis {
  const outSize = slidingOutputSize(inSize, k, s, p, d, ceilMode);
  const start = new Int32Array(outSize);
  const end = new Int32Array(outSize);
  const padCount = new Float64Array(outSize);
  const span = (k - 1) * d + 1;
  for (let o = 0; o < outSize; o++) {
    let hs = o * s - p;
    const he = Math.min(hs + span, inSize);
    // avg-pool divisor with count_include_pad: the window clipped at In + p, before clipping to the input.
    padCount[o] = Math.min(hs + span, inSize + p) - hs;
    // first tap at or after 0 on the grid hs, hs + d, ...
    if (hs < 0) hs += Math.ceil(-hs / d) * d;
    start[o] = Math.min(hs, MAX_INT32);
    end[o] = he;
  }
  return { inSize, outSize, start, end, step: d, padCount };
}

/**
 * Largest effective kernel `(k − 1)·d + 1` and stride: with inputs below 2³¹ every window
 * coordinate (`o·s − p + (k − 1)·d + 1`, the output-size numerator) then stays below 2⁵³, where
 * float64 integers are exact.
 */
export const MAX_WINDOW_SPAN = 2 ** 51;

/** Refuse effective kernels `(k − 1)·d + 1` or strides past {@link MAX_WINDOW_SPAN} (shared with Caffe windows). */
export function checkWindowSpan(
  op: string,
  kernelSize: readonly number[],
  dilation: readonly number[],
  stride: readonly number[],
  given: { kernelSize?: unknown; dilation?: unknown; stride?: unknown },
): void {
  for (let i = 0; i < kernelSize.length; i++) {
    if (((kernelSize[i] as number) - 1) * (dilation[i] as number) + 1 > MAX_WINDOW_SPAN || (stride[i] as number) > MAX_WINDOW_SPAN) {
      throw new PoolkitRangeError(
        op,
        `the effective kernel size (kernelSize − 1)·dilation + 1 and the stride must be at most 2^51 (${MAX_WINDOW_SPAN}), ` +
          `got kernelSize ${show(given.kernelSize)}, dilation ${show(given.dilation ?? 1)}, stride ${show(given.stride ?? given.kernelSize)}`,
      );
    }
  }
}

export interface SlidingOptions {
  kernelSize?: number | readonly number[];
  stride?: number | readonly number[] | null;
  padding?: number | readonly number[];
  dilation?: number | readonly number[];
  ceilMode?: boolean;
}

/**
 * Parse and validate sliding-window options for a `rank`-d op. `stride` defaults to `kernelSize`.
 * Checks (PyTorch): k, s, d > 0; p ≥ 0; p ≤ ⌊((k−1)·d + 1)/2⌋ (half the effective kernel, as
 * current PyTorch; torch 1.13 used ⌊k/2⌋, which only differs when dilation > 1). poolkit's own:
 * (k−1)·d + 1 ≤ 2⁵¹ and s ≤ 2⁵¹ ({@link MAX_WINDOW_SPAN}), so window arithmetic is exact in float64.
 * Only `options`' own properties are read.
 */
export function slidingGeometry(op: string, options: SlidingOptions, rank: number): SlidingGeometry {
  const opts = ownProps(options); // own properties only: callers pass literals with absent keys
  if (opts.kernelSize === undefined) throw new PoolkitRangeError(op, `kernelSize is required`);
  const kernelSize = sizeOption(op, "kernelSize", opts.kernelSize, rank, 1);
  const stride = opts.stride === undefined || opts.stride === null ? kernelSize : sizeOption(op, "stride", opts.stride, rank, 1);
  const padding = sizeOption(op, "padding", opts.padding ?? 0, rank, 0);
  const dilation = sizeOption(op, "dilation", opts.dilation ?? 1, rank, 1);
  const ceilMode = boolOption(op, "ceilMode", opts.ceilMode, false);
  checkWindowSpan(op, kernelSize, dilation, stride, opts);
  for (let i = 0; i < rank; i++) {
    const k = kernelSize[i] as number;
    const d = dilation[i] as number;
    const p = padding[i] as number;
    const half = Math.floor(((k - 1) * d + 1) / 2);
    if (p > half) {
      const what = d > 1 ? `half the effective kernel size ${(k - 1) * d + 1}` : "half the kernel size";
      throw new PoolkitRangeError(op, `padding must be at most ${what}, got padding ${show(opts.padding)} for kernelSize ${show(opts.kernelSize)}`);
    }
  }
  return { kernelSize, stride, padding, dilation, ceilMode };
}

/** Output spatial sizes; throws when a window does not fit the padded input. */
export function slidingOutputShape(op: string, spatial: readonly number[], g: SlidingGeometry): number[] {
  return spatial.map((inSize, i) => {
    const k = g.kernelSize[i] as number;
    const p = g.padding[i] as number;
    const d = g.dilation[i] as number;
    const o = slidingOutputSize(inSize, k, g.stride[i] as number, p, d, g.ceilMode);
    if (o < 1) {
      throw new PoolkitRangeError(
        op,
        `kernel is larger than the padded input: input size ${show(spatial)} with padding ${show(g.padding)}, ` +
          `kernelSize ${show(g.kernelSize)} and dilation ${show(g.dilation)} gives output size ${o}`,
      );
    }
    return o;
  });
}

/** Plan sliding windows for an already-parsed input. */
export function planSlidingFor(op: string, input: SpatialInput, g: SlidingGeometry): WindowPlan {
  planOutShape(op, input, slidingOutputShape(op, input.spatial, g));
  const axes = input.spatial.map((inSize, i) =>
    slidingAxis(inSize, g.kernelSize[i] as number, g.stride[i] as number, g.padding[i] as number, g.dilation[i] as number, g.ceilMode),
  );
  return makePlan(op, input, axes);
}

/** Parse `x` as `[N, C, ...]`/`[C, ...]` of the rank and plan its sliding windows. */
export function planSliding(op: string, x: unknown, rank: number, g: SlidingGeometry): WindowPlan {
  return planSlidingFor(op, spatialInput(op, "x", x, rank), g);
}

/** PyTorch's default MaxUnpool output length: (In − 1)·s + k − 2p (no dilation, no ceil mode). */
export function unpoolDefaultSize(inSize: number, k: number, s: number, p: number): number {
  return (inSize - 1) * s + k - 2 * p;
}
