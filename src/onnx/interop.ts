/**
 * Conversions between poolkit tensors and ONNX Runtime tensors (onnxruntime-node / -web / -common),
 * by structural typing so poolkit never depends on onnxruntime's types or code.
 *
 * Both directions copy the values once: poolkit's `tensor.data` is a view that may be re-created
 * (WebAssembly memory growth) and ONNX Runtime may keep a tensor's buffer beyond the call, so
 * neither side may alias the other's storage. (The tfjs conversions live in `poolkit/tfjs`,
 * src/tfjs/convert.ts.)
 */
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { tensor, type Tensor } from "../tensor/tensor.js";
import type { DType } from "../tensor/dtype.js";

/** The part of an ONNX Runtime tensor poolkit reads: `type`, `data`, `dims`. */
export interface OrtTensorLike {
  readonly type: string;
  readonly data: unknown;
  readonly dims: readonly number[];
}

/** An ONNX Runtime tensor constructor: `new ort.Tensor(type, data, dims)`. */
export type OrtTensorConstructor<T> = new (type: "float32" | "float64" | "int32", data: Float32Array | Float64Array | Int32Array, dims: readonly number[]) => T;

/**
 * An ONNX Runtime tensor as a poolkit Tensor (a copy). float32, float64 and int32 keep their type;
 * int64 (ONNX's index type) becomes int32 when every value fits, else a RangeError.
 */
export function fromOrt(t: OrtTensorLike): Tensor {
  const op = "fromOrt";
  if (typeof t !== "object" || t === null || typeof t.type !== "string" || !Array.isArray(t.dims)) {
    throw new PoolkitTypeError(op, `expected an ONNX Runtime tensor { type, data, dims }, got ${show(t)}`);
  }
  const dims = t.dims.map((d) => Number(d));
  const data = t.data;
  const map: Record<string, DType> = { float32: "float32", float64: "float64", int32: "int32" };
  const dtype = map[t.type];
  if (dtype !== undefined) {
    if (!(data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array)) {
      throw new PoolkitTypeError(op, `a ${t.type} tensor must hold a typed array, got ${show(data)}`);
    }
    return tensor(data, dims, dtype);
  }
  if (t.type === "int64" && data instanceof BigInt64Array) {
    const out = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as bigint;
      if (v < -2147483648n || v > 2147483647n) throw new PoolkitRangeError(op, `int64 value ${v} at flat index ${i} does not fit in int32`);
      out[i] = Number(v);
    }
    return tensor(out, dims, "int32");
  }
  throw new PoolkitTypeError(op, `tensor type must be float32, float64, int32 or int64, got ${show(t.type)}`);
}

/**
 * A poolkit Tensor as an ONNX Runtime tensor (a copy), built with the given constructor:
 * `toOrt(y, ort.Tensor)`.
 */
export function toOrt<T>(t: Tensor, Ctor: OrtTensorConstructor<T>): T {
  const op = "toOrt";
  if (typeof t !== "object" || t === null || !("dtype" in t) || !("data" in t)) throw new PoolkitTypeError(op, `expected a poolkit Tensor, got ${show(t)}`);
  if (typeof Ctor !== "function") throw new PoolkitTypeError(op, `expected an ONNX Runtime Tensor constructor (ort.Tensor), got ${show(Ctor)}`);
  return new Ctor(t.dtype, t.data.slice(), [...t.shape]);
}
