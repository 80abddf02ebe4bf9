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
import { allocArray } from "../tensor/alloc.js";
import { emptyTensor, type Tensor } from "../tensor/tensor.js";

/** TensorFlow.js's layout names: `channelsLast` = `[N, ...S, C]` (its default), `channelsFirst` = `[N, C, ...S]` (poolkit's). */
export type DataFormat = "channelsLast" | "channelsFirst";

/** Validate a `dataFormat` option (default `"channelsLast"`). */
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

/**
 * Copy `[A, B, C]`-ordered values into `[A, C, B]` order (a batched 2-d transpose). With A = N,
 * B = spatial size, C = channels it turns channels-last into channels-first; with B = C, C = spatial
 * the reverse. Done here on the typed arrays rather than with tf.transpose, which costs far more on
 * TensorFlow.js's cpu backend than the pooling itself.
 */
function swapLastTwo<T extends Float32Array | Int32Array>(src: ArrayLike<number>, out: T, a: number, b: number, c: number): T {
  for (let n = 0; n < a; n++) {
    const base = n * b * c;
    for (let i = 0; i < b; i++) {
      const row = base + i * c;
      for (let j = 0; j < c; j++) out[base + j * b + i] = src[row + j] as number;
    }
  }
  return out;
}

function spatialSize(shape: readonly number[], from: number, to: number): number {
  let s = 1;
  for (let i = from; i < to; i++) s *= shape[i] as number;
  return s;
}

/**
 * Copy a tf.Tensor (float32 or int32) into a poolkit Tensor; with `toFirst`, from channels-last
 * `[N, ...S, C]` to channels-first `[N, C, ...S]` (tensors of rank < 3 are copied as they are).
 */
export function toCore(op: string, name: string, t: tf.Tensor, toFirst = false): Tensor {
  if (t.dtype !== "float32" && t.dtype !== "int32") {
    throw new PoolkitTypeError(op, `${name} must be a float32 or int32 tf.Tensor, got dtype ${t.dtype}`);
  }
  const data = t.dataSync() as Float32Array | Int32Array;
  const shape = t.shape;
  const transpose = toFirst && t.rank >= 3;
  // One copy, straight into the storage of the active backend (WebAssembly memory under a wasm
  // backend, where the fast kernels read it in place); the view is taken after the allocation.
  const out = emptyTensor(transpose ? shapeToFirst(shape) : shape, t.dtype);
  const dst = out.data as Float32Array | Int32Array;
  if (!transpose) dst.set(data);
  else swapLastTwo(data, dst, shape[0] as number, spatialSize(shape, 1, shape.length - 1), shape[shape.length - 1] as number);
  return out;
}

/**
 * Upload a poolkit Tensor as a tf.Tensor (float64 results are rounded to float32); with `toLast`,
 * from channels-first `[N, C, ...S]` to channels-last `[N, ...S, C]` (rank < 3: as it is).
 */
export function fromCore(t: Tensor, toLast = false): tf.Tensor {
  const dtype = t.dtype === "int32" ? "int32" : "float32";
  const data = t.data;
  // One copy, never a view: tfjs keeps the array it is given, and poolkit's view may be of WebAssembly
  // memory, which growth detaches and dispose/tidy hand to other tensors. Transposed outputs are
  // written straight from poolkit's storage into their channels-last order (float64 rounded on the way).
  if (!toLast || t.shape.length < 3) {
    const values = (t.dtype === "float64" ? Float32Array.from(data) : data.slice()) as Float32Array | Int32Array;
    return tf.tensor(values, [...t.shape], dtype);
  }
  const shape = t.shape;
  const out = allocArray(dtype, data.length) as Float32Array | Int32Array;
  swapLastTwo(data, out, shape[0] as number, shape[1] as number, spatialSize(shape, 2, shape.length));
  return tf.tensor(out, shapeToLast(shape), dtype);
}

/** Is this a TensorFlow.js tensor (of the tfjs-core instance poolkit/tfjs was loaded with)? */
export function isTfTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}
