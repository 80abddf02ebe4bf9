/**
 * Test helpers: run an exported model in onnxruntime-node and compare it with poolkit's forward.
 */
import * as ort from "onnxruntime-node";
import { expect } from "vitest";
import { fromOrt, toOnnx, toOrt, type ToOnnxOptions } from "../../src/onnx/index.js";
import { getPool, Generator, tensor as makeTensor, type Tensor, type PoolMethod } from "../../src/index.js";
import { exampleInputs } from "../../src/registry.js";

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

export interface CompareCase {
  method: string;
  xShape: number[];
  options?: Record<string, unknown>;
  /** Bit-identical comparison (max-type methods); else float32 tolerance. */
  exact?: boolean;
  opset?: number;
  /** Feature map values (default: standard normal draws). */
  x?: ArrayLike<number>;
  seed?: number;
  rtol?: number;
  atol?: number;
  /** Override extra inputs (by registry name). */
  inputs?: Record<string, Tensor>;
  inputShapes?: ToOnnxOptions["inputShapes"];
}

/** Export a case's model and compute poolkit's output on the same (seeded) inputs. */
export function prepareCase(c: CompareCase): { model: Uint8Array; feeds: Record<string, Tensor>; want: Tensor; method: PoolMethod } {
  const m: PoolMethod = getPool(c.method);
  const gen = new Generator(c.seed ?? 7);
  const size = c.xShape.reduce((a, b) => a * b, 1);
  const x = makeTensor(c.x ?? Array.from({ length: size }, () => gen.normal()), c.xShape);
  const options = c.options ?? { ...m.defaults };
  const rank = (c.xShape.length - 2) as 1 | 2 | 3;
  const extras = exampleInputs(m, x, gen, options);
  const params: Record<string, Tensor> = {};
  const feeds: Record<string, Tensor> = { x };
  const args: (Tensor | null)[] = [];
  m.inputs.forEach((spec, i) => {
    const omitted = c.inputShapes?.[spec.name] === null;
    const t = c.inputs?.[spec.name] ?? (extras[i] as Tensor);
    args.push(omitted ? null : t);
    if (omitted) return;
    if (spec.role === "learnable") params[spec.name] = t;
    else feeds[spec.name] = t;
  });
  // Omitted inputs are passed as null (bilinearPool(a, null, opts) is homogeneous; null biases).
  const op = m.ops[rank] as (...a: unknown[]) => unknown;
  const want = op(x, ...args, options) as Tensor;
  const inputShapes: Record<string, readonly number[] | null> = { ...(c.inputShapes ?? {}) };
  for (const [k, t] of Object.entries(c.inputs ?? {})) if (!(k in inputShapes) && k in feeds) inputShapes[k] = t.shape;
  const model = toOnnx(m, {
    inputShape: c.xShape,
    options,
    params,
    ...(c.opset ? { opset: c.opset } : {}),
    ...(Object.keys(inputShapes).length ? { inputShapes } : {}),
  });
  return { model, feeds, want, method: m };
}

/** Export a method, run it in ONNX Runtime and compare with poolkit's own forward on the same inputs. */
export async function compareWithPoolkit(c: CompareCase): Promise<{ model: Uint8Array; y: Tensor; want: Tensor }> {
  const { model, feeds, want, method } = prepareCase(c);
  const out = await runOnnx(model, feeds);
  const y = out.output as Tensor;
  if (c.exact) expectExact(y, want, method.name);
  else expectClose(y, want, method.name, c.rtol ?? 1e-5, c.atol ?? 1e-5);
  return { model, y, want };
}
