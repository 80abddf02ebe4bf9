/**
 * PyTorch's adaptive bins (aten/src/ATen/native/AdaptivePooling.h): along an axis of length In
 * pooled to Out, bin i covers [⌊i·In/Out⌋, ⌈(i+1)·In/Out⌉). Integer arithmetic; bins overlap when
 * In % Out ≠ 0 and repeat elements when Out > In. Every bin is non-empty.
 */
import { spatialInput, type SpatialInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import type { DType } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { makePlan, planOutShape, type Axis, type WindowPlan } from "./plan.js";

/**
 * Bin i's `[start, end)`: `⌊i·In/Out⌋` and `⌈(i+1)·In/Out⌉`. The products pass 2⁵³ (where float64
 * integers stop being exact) only for In·Out > 2⁵³ — sizes past 9·10⁷ each; those take BigInt.
 */
export function adaptiveBin(i: number, inSize: number, outSize: number): [number, number] {
  if ((i + 1) * inSize + outSize <= Number.MAX_SAFE_INTEGER) {
    return [Math.floor((i * inSize) / outSize), Math.floor(((i + 1) * inSize + outSize - 1) / outSize)];
  }
  const I = BigInt(i);
  const L = BigInt(inSize);
  const O = BigInt(outSize);
  return [Number((I * L) / O), Number(((I + 1n) * L + O - 1n) / O)];
}

export function adaptiveAxis(inSize: number, outSize: number): Axis {
  const start = new Int32Array(outSize);
  const end = new Int32Array(outSize);
  const padCount = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const [s, e] = adaptiveBin(i, inSize, outSize);
    start[i] = s;
    end[i] = e;
    padCount[i] = e - s;
  }
  return { inSize, outSize, start, end, step: 1, padCount };
}

/**
 * `outputSize`: a number, or one entry per spatial dim where `null` keeps that input size
 * (PyTorch's `None`). Entries must be positive integers.
 */
export function adaptiveOutputShape(op: string, outputSize: unknown, spatial: readonly number[]): number[] {
  const rank = spatial.length;
  if (outputSize === undefined) throw new PoolkitRangeError(op, `outputSize is required`);
  const arr = typeof outputSize === "number" ? new Array<number>(rank).fill(outputSize) : outputSize;
  if (!Array.isArray(arr) || arr.length !== rank) {
    throw new PoolkitTypeError(op, `outputSize must be a number or an array of ${rank} numbers (or nulls), got ${show(outputSize)}`);
  }
  return arr.map((v: unknown, i) => {
    if (v === null) return spatial[i] as number;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      throw new PoolkitRangeError(op, `outputSize must hold positive integers or null, got ${show(outputSize)}`);
    }
    return v;
  });
}

export function planAdaptive(op: string, x: unknown, rank: number, outputSize: unknown): WindowPlan {
  return planAdaptiveFor(op, spatialInput(op, "x", x, rank), outputSize, (x as Tensor).dtype);
}

/** Plan adaptive bins for an already-parsed input (the output size checked before the axes are built). */
export function planAdaptiveFor(op: string, input: SpatialInput, outputSize: unknown, dtype?: DType): WindowPlan {
  const out = adaptiveOutputShape(op, outputSize, input.spatial);
  planOutShape(op, input, out, dtype);
  return makePlan(op, input, input.spatial.map((inSize, i) => adaptiveAxis(inSize, out[i] as number)));
}
