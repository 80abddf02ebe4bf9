/**
 * Replays committed JSON fixtures written by `scripts/fixtures/*.py` (PyTorch / torchvision / our own
 * PyTorch reference implementations). Non-finite numbers are stored as the strings "NaN",
 * "Infinity", "-Infinity".
 *
 * Fixture file layout:
 *   { "generator": "scripts/fixtures/x.py", "torch": "1.13.1", "cases": [ Case, ... ] }
 * A Case is free-form per generator; tensors inside are { "shape": [...], "data": [...] }.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { it } from "vitest";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import type { DType, FloatDType } from "../../src/tensor/dtype.js";
import type { Grads, VJP } from "../../src/op.js";
import { expectTensorClose, tolFor } from "./close.js";

export interface TensorJSON {
  shape: number[];
  data: (number | string)[];
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadFixture<T = any>(name: string): { generator: string; torch?: string; cases: T[] } {
  return JSON.parse(readFileSync(join(root, name), "utf8"));
}

export function decodeNumbers(data: (number | string)[]): Float64Array {
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    out[i] = typeof v === "number" ? v : v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : Number(v);
  }
  return out;
}

export function fromJSON(t: TensorJSON, dtype: DType = "float64"): Tensor {
  return tensor(decodeNumbers(t.data), t.shape, dtype);
}

export function expected(t: TensorJSON): { shape: number[]; data: Float64Array } {
  return { shape: t.shape, data: decodeNumbers(t.data) };
}

/** Both float dtypes, in the order fixture cases are replayed. */
export const FLOAT_DTYPES = ["float32", "float64"] as const satisfies readonly FloatDType[];

/**
 * Register one vitest test per fixture case and float dtype: `title(case, index, dtype)` names it and
 * `check(case, dtype)` runs it.
 */
export function replayCases<C>(cases: readonly C[], title: (c: C, i: number, dtype: FloatDType) => string, check: (c: C, dtype: FloatDType) => void): void {
  for (const [i, c] of cases.entries()) {
    for (const dtype of FLOAT_DTYPES) it(title(c, i, dtype), () => check(c, dtype));
  }
}

/** A float64 / float32 reference pair of a PyTorch fixture case: forward output and the input's gradient. */
export interface OutputGrad {
  output: TensorJSON;
  dx: TensorJSON;
}

/** The case layout of the PyTorch sliding-window fixtures (`pytorch_sliding_*.json`). */
export interface PyTorchCase<R = OutputGrad> {
  op: string;
  opts: Record<string, unknown>;
  x: TensorJSON;
  dy: TensorJSON;
  float64: R;
  float32: R;
  note?: string;
}

/** Spatial rank of a fixture op name: `"avgPool2d"` → 2. */
export const rankOf = (op: string) => Number(/(\d)d/.exec(op)?.[1]) as 1 | 2 | 3;

/**
 * Check a vjp against a reference `{ output, dx }` in `dtype`'s tolerance: the output, then the first
 * gradient for `dy`. Returns all gradients for further checks.
 */
export function expectVjpMatches(vjp: VJP<Tensor>, dy: Tensor, ref: OutputGrad, dtype: FloatDType): Grads {
  expectTensorClose(vjp.output, expected(ref.output), tolFor(dtype), "output");
  const grads = vjp.backward(dy);
  expectTensorClose(grads[0] as Tensor, expected(ref.dx), tolFor(dtype), "dx");
  return grads;
}
