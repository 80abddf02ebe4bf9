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
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import type { DType } from "../../src/tensor/dtype.js";

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
