/** Element-wise closeness with NaN/±Infinity treated as values (NaN matches NaN). */
import { expect } from "vitest";
import type { Tensor } from "../../src/tensor/tensor.js";

export interface Tol {
  atol?: number;
  rtol?: number;
}

export function tolFor(dtype: string): Required<Tol> {
  return dtype === "float64" ? { atol: 1e-10, rtol: 1e-9 } : { atol: 1e-5, rtol: 1e-5 };
}

/** Returns the first mismatch as a message, or null. */
export function mismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tol = {}): string | null {
  const atol = tol.atol ?? 1e-6;
  const rtol = tol.rtol ?? 1e-6;
  if (actual.length !== expected.length) return `length ${actual.length} != expected ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) && Number.isNaN(a)) continue;
      return `index ${i}: got ${a}, expected ${e}`;
    }
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a === e) continue;
      return `index ${i}: got ${a}, expected ${e}`;
    }
    if (Math.abs(a - e) > atol + rtol * Math.abs(e)) return `index ${i}: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)})`;
  }
  return null;
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tol = {}, label = ""): void {
  const m = mismatch(actual, expected, tol);
  expect(m, label).toBeNull();
}

export function expectTensorClose(actual: Tensor, expected: { shape: readonly number[]; data: ArrayLike<number> }, tol: Tol = {}, label = ""): void {
  expect([...actual.shape], `${label} shape`).toEqual([...expected.shape]);
  expectClose(actual.data, expected.data, tol, label);
}

/** First index where the two differ bit for bit (NaN equal to NaN, −0 ≠ +0; a length mismatch at the shorter length), or −1. */
export function firstBitDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) return Math.min(x.length, y.length);
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return i;
  return -1;
}
