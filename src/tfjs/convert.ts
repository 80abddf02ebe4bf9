/**
 * tf.Tensor ↔ poolkit Tensor, and the channels-last ↔ channels-first permutations.
 *
 * poolkit's ops are channels-first (`[N, C, ...spatial]`) and run on the CPU through poolkit's own
 * kernels: a tf.Tensor is read with `dataSync()` (a GPU/WASM backend downloads it), computed on, and
 * the result uploaded again with `tf.tensor`. TensorFlow.js's own default layout is channels-last
 * (`[N, ...spatial, C]`), so the adapter transposes on the way in and out.
 */
import * as tf from "@tensorflow/tfjs-core";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { tensor, type Tensor } from "../tensor/tensor.js";

export type DataFormat = "channelsLast" | "channelsFirst";

export function parseDataFormat(op: string, value: unknown): DataFormat {
  if (value === undefined) return "channelsLast";
  if (value !== "channelsLast" && value !== "channelsFirst") {
    throw new PoolkitRangeError(op, `dataFormat must be "channelsLast" or "channelsFirst", got ${show(value)}`);
  }
  return value;
}

/** `[N, ...S, C]` → `[N, C, ...S]` permutation for a rank-r tensor. */
export function lastToFirstPerm(rank: number): number[] {
  const perm = [0, rank - 1];
  for (let i = 1; i < rank - 1; i++) perm.push(i);
  return perm;
}

/** `[N, C, ...S]` → `[N, ...S, C]` permutation for a rank-r tensor. */
export function firstToLastPerm(rank: number): number[] {
  const perm = [0];
  for (let i = 2; i < rank; i++) perm.push(i);
  perm.push(1);
  return perm;
}

/** Shape `[N, ...S, C]` → `[N, C, ...S]` (entries may be null). */
export function shapeToFirst<T>(shape: readonly T[]): T[] {
  return lastToFirstPerm(shape.length).map((i) => shape[i] as T);
}

/** Shape `[N, C, ...S]` → `[N, ...S, C]` (entries may be null). */
export function shapeToLast<T>(shape: readonly T[]): T[] {
  return firstToLastPerm(shape.length).map((i) => shape[i] as T);
}

/** Channels-last → channels-first (tensors of rank < 3 pass through). */
export function toChannelsFirst(t: tf.Tensor): tf.Tensor {
  return t.rank < 3 ? t : tf.transpose(t, lastToFirstPerm(t.rank));
}

/** Channels-first → channels-last (tensors of rank < 3 pass through). */
export function toChannelsLast(t: tf.Tensor): tf.Tensor {
  return t.rank < 3 ? t : tf.transpose(t, firstToLastPerm(t.rank));
}

/** Copy a tf.Tensor (float32 or int32) into a poolkit Tensor of the same shape. */
export function toCore(op: string, name: string, t: tf.Tensor): Tensor {
  if (t.dtype !== "float32" && t.dtype !== "int32") {
    throw new PoolkitTypeError(op, `${name} must be a float32 or int32 tf.Tensor, got dtype ${t.dtype}`);
  }
  return tensor(t.dataSync() as Float32Array | Int32Array, t.shape, t.dtype);
}

/** Upload a poolkit Tensor as a tf.Tensor (float64 results are rounded to float32). */
export function fromCore(t: Tensor): tf.Tensor {
  const dtype = t.dtype === "int32" ? "int32" : "float32";
  const data = t.data;
  const values = t.dtype === "float64" ? Float32Array.from(data) : data;
  return tf.tensor(values as Float32Array | Int32Array, [...t.shape], dtype);
}

export function isTfTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}
