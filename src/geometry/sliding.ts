/**
 * PyTorch's sliding windows (aten/src/ATen/native/Pool.h: pooling_output_shape_pad_lr,
 * pool2d_shape_check; cpu/MaxPoolKernel.cpp, cpu/AvgPoolKernel.cpp for the window loops).
 *
 * Output size per axis, with `pb` / `pa` the padding before / after (both `p` for PyTorch's
 * symmetric `padding: p`; PyTorch's `pooling_output_shape_pad_lr` takes them separately too):
 *   o = floor((In + pb + pa − d·(k−1) − 1 + (ceilMode ? s − 1 : 0)) / s) + 1
 *   and in ceil mode, if (o − 1)·s ≥ In + pb then o −= 1  (a window may not start in the after-padding).
 *
 * Window o covers positions `o·s − pb + j·d` (j = 0 … k − 1) of the input. With per-side padding
 * this is exactly `F.pad(x, pads)` followed by pooling with padding 0 — except that in ceil mode a
 * last window starting in the after-padding is dropped (the rule above), as PyTorch drops one
 * starting in its right padding.
 */
import { spatialInput, sizeOption, boolOption, ownProps, type SpatialInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { MAX_INT32 } from "../tensor/limits.js";
import { makePlan, planOutShape, type Axis, type WindowPlan } from "./plan.js";

/**
 * Sliding-window padding as options take it: a number (both sides of every spatial axis), one
 * number per spatial axis (both sides), or one `[before, after]` pair per spatial axis (per-side,
 * as ONNX `pads`, TensorFlow's "same" and Keras' `ZeroPadding` need; PyTorch has no such option).
 */
export type SlidingPadding = number | readonly number[] | readonly (readonly [number, number])[];

export interface SlidingGeometry {
  readonly kernelSize: readonly number[];
  readonly stride: readonly number[];
  /** Padding before each spatial axis (top / left / front), one entry per spatial dim. */
  readonly padBefore: readonly number[];
  /** Padding after each spatial axis (bottom / right / back); equals `padBefore` for the number forms. */
  readonly padAfter: readonly number[];
  readonly dilation: readonly number[];
  readonly ceilMode: boolean;
}

/**
 * PyTorch's pooled length along one axis (may be < 1 for invalid configs; callers check). `p` is the
 * padding before, `pAfter` the padding after (default `p`: PyTorch's symmetric padding).
 */
export function slidingOutputSize(inSize: number, k: number, s: number, p: number, d: number, ceilMode: boolean, pAfter = p): number {
  const num = inSize + p + pAfter - d * (k - 1) - 1 + (ceilMode ? s - 1 : 0);
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
export function slidingAxis(inSize: number, k: number, s: number, p: number, d: number, ceilMode: boolean, pAfter = p): Axis {
  const outSize = slidingOutputSize(inSize, k, s, p, d, ceilMode, pAfter);
  const start = new Int32Array(outSize);
  const end = new Int32Array(outSize);
  const padCount = new Float64Array(outSize);
  const span = (k - 1) * d + 1;
  for (let o = 0; o < outSize; o++) {
    let hs = o * s - p;
    const he = Math.min(hs + span, inSize);
    // avg-pool divisor with count_include_pad: the window clipped at In + pAfter (the padded
    // extent's end), before clipping to the input.
    padCount[o] = Math.min(hs + span, inSize + pAfter) - hs;
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
  padding?: SlidingPadding;
  dilation?: number | readonly number[];
  ceilMode?: boolean;
}

const AXIS_LABELS: Readonly<Record<number, readonly string[]>> = { 1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"] };

/** The name of spatial axis `i` of a `rank`-d op in messages: L; H, W; D, H, W. */
function axisLabel(rank: number, i: number): string {
  return AXIS_LABELS[rank]?.[i] ?? String(i);
}

/** Is `value` the per-side form (an array whose entries are arrays)? */
function isPerSide(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && value.some((v) => Array.isArray(v));
}

/**
 * Parse `padding`: the number forms as {@link sizeOption} (the same messages as before), or the
 * per-side form `[[before, after], ...]` with exactly one pair of non-negative integers per axis.
 */
function paddingOption(op: string, value: unknown, rank: number): { before: number[]; after: number[]; perSide: boolean } {
  if (!isPerSide(value)) {
    const p = sizeOption(op, "padding", value, rank, 0);
    return { before: p, after: p, perSide: false };
  }
  const pairs = rank === 1 ? "one [before, after] pair" : `${rank} [before, after] pairs`;
  if (value.length !== rank || value.some((v) => !Array.isArray(v) || v.length !== 2)) {
    throw new PoolkitTypeError(op, `padding must be a number, an array of ${rank} numbers or an array of ${pairs} (one per spatial axis), got ${show(value)}`);
  }
  const before: number[] = [];
  const after: number[] = [];
  for (const pair of value as readonly (readonly unknown[])[]) {
    for (const v of pair) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
        throw new PoolkitRangeError(op, `padding pairs must hold non-negative integers, got ${show(value)}`);
      }
    }
    before.push(pair[0] as number);
    after.push(pair[1] as number);
  }
  return { before, after, perSide: true };
}

/**
 * Parse and validate sliding-window options for a `rank`-d op. `stride` defaults to `kernelSize`.
 * Checks (PyTorch): k, s, d > 0; p ≥ 0; a number-form padding p ≤ ⌊((k−1)·d + 1)/2⌋ (half the
 * effective kernel, as current PyTorch; torch 1.13 used ⌊k/2⌋, which only differs when dilation > 1).
 *
 * Per-side padding `[[before, after], ...]` has no half-kernel limit; instead every window must
 * overlap the input: the padding before must be less than the effective kernel `(k−1)·d + 1` (so
 * the first window reaches position 0), and the last window must start inside the input — checked
 * by {@link slidingOutputShape}, which knows the input size. (With dilation a window whose span
 * overlaps the input may still have all its taps in the padding, as with PyTorch's own padding: max
 * pooling then outputs −∞ for it; the other sliding ops take no dilation.)
 *
 * poolkit's own: (k−1)·d + 1 ≤ 2⁵¹ and s ≤ 2⁵¹ ({@link MAX_WINDOW_SPAN}), so window arithmetic is
 * exact in float64. Only `options`' own properties are read.
 */
export function slidingGeometry(op: string, options: SlidingOptions, rank: number): SlidingGeometry {
  const opts = ownProps(options); // own properties only: callers pass literals with absent keys
  if (opts.kernelSize === undefined) throw new PoolkitRangeError(op, `kernelSize is required`);
  const kernelSize = sizeOption(op, "kernelSize", opts.kernelSize, rank, 1);
  const stride = opts.stride === undefined || opts.stride === null ? kernelSize : sizeOption(op, "stride", opts.stride, rank, 1);
  const { before: padBefore, after: padAfter, perSide } = paddingOption(op, opts.padding ?? 0, rank);
  const dilation = sizeOption(op, "dilation", opts.dilation ?? 1, rank, 1);
  const ceilMode = boolOption(op, "ceilMode", opts.ceilMode, false);
  checkWindowSpan(op, kernelSize, dilation, stride, opts);
  for (let i = 0; i < rank; i++) {
    const k = kernelSize[i] as number;
    const d = dilation[i] as number;
    const p = padBefore[i] as number;
    const span = (k - 1) * d + 1;
    if (perSide) {
      if (p >= span) {
        const what = d > 1 ? `the effective kernel size (kernelSize − 1)·dilation + 1 = ${span}` : `the kernel size ${k}`;
        throw new PoolkitRangeError(
          op,
          `padding before axis ${axisLabel(rank, i)} must be less than ${what} (else the first window lies wholly in the padding), ` +
            `got padding ${show(opts.padding)} for kernelSize ${show(opts.kernelSize)}`,
        );
      }
      continue;
    }
    const half = Math.floor(span / 2);
    if (p > half) {
      const what = d > 1 ? `half the effective kernel size ${span}` : "half the kernel size";
      throw new PoolkitRangeError(
        op,
        `padding must be at most ${what}, got padding ${show(opts.padding)} for kernelSize ${show(opts.kernelSize)}`,
      );
    }
  }
  return { kernelSize, stride, padBefore, padAfter, dilation, ceilMode };
}

/** The geometry's padding for messages: per-axis numbers when symmetric, else [before, after] pairs. */
function showPadding(g: SlidingGeometry): string {
  const symmetric = g.padBefore.every((b, i) => b === g.padAfter[i]);
  return show(symmetric ? g.padBefore : g.padBefore.map((b, i) => [b, g.padAfter[i] as number]));
}

/**
 * Output spatial sizes; throws when a window does not fit the padded input, or when a window would
 * lie wholly in the after-padding (its start at or past the input's end — possible only with
 * per-side padding, the number forms' half-kernel limit excludes it).
 */
export function slidingOutputShape(op: string, spatial: readonly number[], g: SlidingGeometry): number[] {
  return spatial.map((inSize, i) => {
    const k = g.kernelSize[i] as number;
    const s = g.stride[i] as number;
    const pb = g.padBefore[i] as number;
    const pa = g.padAfter[i] as number;
    const d = g.dilation[i] as number;
    const o = slidingOutputSize(inSize, k, s, pb, d, g.ceilMode, pa);
    if (o < 1) {
      throw new PoolkitRangeError(
        op,
        `kernel is larger than the padded input: input size ${show(spatial)} with padding ${showPadding(g)}, ` +
          `kernelSize ${show(g.kernelSize)} and dilation ${show(g.dilation)} gives output size ${o}`,
      );
    }
    const lastStart = (o - 1) * s - pb;
    if (lastStart >= inSize) {
      throw new PoolkitRangeError(
        op,
        `padding after axis ${axisLabel(spatial.length, i)} is too large: input size ${show(spatial)} with padding ${showPadding(g)}, ` +
          `kernelSize ${show(g.kernelSize)} and stride ${show(g.stride)} puts the last window wholly in the padding ` +
          `(it starts at ${lastStart}, the input ends at ${inSize}); every window must overlap the input`,
      );
    }
    return o;
  });
}

/** Plan sliding windows for an already-parsed input. */
export function planSlidingFor(op: string, input: SpatialInput, g: SlidingGeometry): WindowPlan {
  planOutShape(op, input, slidingOutputShape(op, input.spatial, g));
  const axes = input.spatial.map((inSize, i) =>
    slidingAxis(inSize, g.kernelSize[i] as number, g.stride[i] as number, g.padBefore[i] as number, g.dilation[i] as number, g.ceilMode, g.padAfter[i] as number),
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

/**
 * Output positions (within one plane) whose window misses the input entirely — possible
 * only with dilation, e.g. L = 1, k = 2, d = 2, p = 1 has taps at −1 and 1. Null when there are none.
 */
export function emptyWindows(plan: WindowPlan): Int32Array | null {
  const [A, B, C] = plan.axes;
  const emptyAlong = (a: typeof A, i: number) => (a.start[i] as number) >= (a.end[i] as number);
  // a position is empty when its window is empty along some axis: none when no axis has one (the
  // usual case, decided in A + B + C steps instead of a pass over the plane)
  const anyAlong = (a: typeof A) => {
    for (let i = 0; i < a.outSize; i++) if (emptyAlong(a, i)) return true;
    return false;
  };
  if (!anyAlong(A) && !anyAlong(B) && !anyAlong(C)) return null;
  const found: number[] = [];
  let o = 0;
  for (let ia = 0; ia < A.outSize; ia++) {
    for (let ib = 0; ib < B.outSize; ib++) {
      for (let ic = 0; ic < C.outSize; ic++) {
        if (emptyAlong(A, ia) || emptyAlong(B, ib) || emptyAlong(C, ic)) found.push(o);
        o++;
      }
    }
  }
  return found.length === 0 ? null : Int32Array.from(found);
}
