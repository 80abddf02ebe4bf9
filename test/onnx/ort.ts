/**
 * Test helpers: run an exported model in onnxruntime-node and compare it with poolkit's forward.
 */
import * as ort from "onnxruntime-node";
import { expect } from "vitest";
import { fromOrt, toOrt } from "../../src/onnx/index.js";
import type { Tensor } from "../../src/index.js";

/** Run a model on named poolkit tensors; returns every output as a poolkit tensor. */
export async function runOnnx(model: Uint8Array, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: "disabled" });
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrt(v, ort.Tensor);
  const out = await session.run(ortFeeds);
  const result: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(out)) result[k] = fromOrt(v as ort.Tensor);
  await session.release();
  return result;
}

/** Bit-identical (NaN equals NaN, +0 and −0 distinguished only if `signedZero`). */
export function expectExact(actual: Tensor, expected: Tensor, what = ""): void {
  expect(actual.shape, `${what} shape`).toEqual(expected.shape);
  const a = actual.data;
  const e = expected.data;
  for (let i = 0; i < e.length; i++) {
    const x = a[i] as number;
    const y = e[i] as number;
    if (!(Object.is(x, y) || x === y)) {
      throw new Error(`${what}: element ${i} differs: onnx ${x}, poolkit ${y}`);
    }
  }
}

/** Within float32 accumulation tolerance: |a − e| ≤ atol + rtol·|e|; NaN and ±∞ must match exactly. */
export function expectClose(actual: Tensor, expected: Tensor, what = "", rtol = 1e-5, atol = 1e-5): void {
  expect(actual.shape, `${what} shape`).toEqual(expected.shape);
  const a = actual.data;
  const e = expected.data;
  for (let i = 0; i < e.length; i++) {
    const x = a[i] as number;
    const y = e[i] as number;
    if (Number.isNaN(y) || !Number.isFinite(y)) {
      if (!Object.is(x, y)) throw new Error(`${what}: element ${i}: onnx ${x}, poolkit ${y}`);
      continue;
    }
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) throw new Error(`${what}: element ${i} differs: onnx ${x}, poolkit ${y}`);
  }
}
