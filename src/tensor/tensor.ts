/**
 * The Tensor: a dtype, a shape and contiguous row-major storage. Layout is channels-first,
 * as in PyTorch: `[N, C, ...spatial]`, or unbatched `[C, ...spatial]` for windowed ops.
 */
import { adopt, allocArray, type Storage } from "./alloc.js";
import { dtypeOf, isDType, type DType, type TypedArray } from "./dtype.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { checkAlloc } from "./limits.js";

export type NestedArray = number | NestedArray[];

export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly size: number;
  readonly #storage: Storage;

  /** @internal Use {@link tensor} or {@link fromArray}; ops build outputs through the allocator. */
  constructor(storage: Storage, shape: readonly number[], dtype: DType) {
    this.#storage = storage;
    this.shape = Object.freeze(shape.slice());
    this.dtype = dtype;
    this.size = shapeSize(shape);
  }

  /** Contiguous row-major values. Read through this property each time; never cache the view. */
  get data(): TypedArray {
    return this.#storage.view;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The values as nested arrays (a plain number for a rank-0 tensor). */
  toArray(): NestedArray {
    const data = this.data;
    const shape = this.shape;
    if (shape.length === 0) return data[0] ?? 0;
    let pos = 0;
    const build = (dim: number): NestedArray[] => {
      const n = shape[dim] ?? 0;
      const out: NestedArray[] = new Array(n);
      if (dim === shape.length - 1) {
        for (let i = 0; i < n; i++) out[i] = data[pos++] ?? 0;
      } else {
        for (let i = 0; i < n; i++) out[i] = build(dim + 1);
      }
      return out;
    };
    return build(0);
  }

  /** A tensor with the same storage and a new shape of the same size (the storage is never written). */
  reshape(shape: readonly number[]): Tensor {
    checkShape("reshape", shape);
    if (shapeSize(shape) !== this.size) {
      throw new PoolkitRangeError("reshape", `cannot reshape a tensor of shape ${show(this.shape)} (size ${this.size}) to ${show(shape)}`);
    }
    return new Tensor(this.#storage, shape, this.dtype);
  }

  /** A copy converted to another dtype (float → int32 truncates toward zero). */
  cast(dtype: DType): Tensor {
    const out = allocArray(dtype, this.size);
    const src = this.data;
    if (dtype === "int32") for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i] as number);
    else out.set(src);
    return new Tensor(adopt(out), this.shape, dtype);
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(", ")}])`;
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * @internal A shape argument: an array of non-negative integers whose size fits the allocation
 * limit (src/tensor/limits.ts). Returns the element count.
 */
export function checkShape(op: string, shape: readonly number[], dtype?: DType): number {
  if (!Array.isArray(shape)) throw new PoolkitTypeError(op, `shape must be an array of integers, got ${show(shape)}`);
  if (shape.length > MAX_RANK) throw new PoolkitRangeError(op, `shape must have at most ${MAX_RANK} dims, got ${shape.length}`);
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      throw new PoolkitRangeError(op, `shape must hold non-negative integers, got ${show(shape)}`);
    }
  }
  return checkAlloc(op, shape, dtype, "tensor");
}

/**
 * Most dims a tensor may have (PyTorch allows 64 on the CPU). Nested arrays deeper than this — or
 * an array that contains itself — are refused instead of overflowing the stack or looping forever.
 */
export const MAX_RANK = 64;

function inferShape(values: NestedArray[]): number[] {
  const shape: number[] = [];
  let cur: NestedArray = values;
  while (Array.isArray(cur)) {
    if (shape.length === MAX_RANK) throw new PoolkitRangeError("tensor", `nested arrays must be at most ${MAX_RANK} deep (or an array contains itself)`);
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0] as NestedArray;
  }
  return shape;
}

function flattenInto(op: string, v: NestedArray, shape: readonly number[], dim: number, out: number[]): void {
  if (dim === shape.length) {
    if (typeof v !== "number") throw new PoolkitTypeError(op, `values must be numbers or nested arrays of numbers, got ${show(v)}`);
    out.push(v);
    return;
  }
  if (!Array.isArray(v) || v.length !== shape[dim]) {
    throw new PoolkitRangeError(op, `nested arrays are ragged: expected length ${shape[dim]} at depth ${dim}, got ${Array.isArray(v) ? v.length : show(v)}`);
  }
  for (const e of v) flattenInto(op, e, shape, dim + 1, out);
}

/**
 * Make a tensor from flat values (with a shape) or nested arrays (shape inferred, or checked if given).
 * The values are copied. Default dtype: float32; int32 requires integer values.
 *
 * @example tensor([[1, 2], [3, 4]]) // float32, shape [2, 2]
 * @example tensor(new Float64Array(16), [1, 1, 4, 4], "float64")
 */
export function tensor(values: ArrayLike<number> | NestedArray, shape?: readonly number[], dtype: DType = "float32"): Tensor {
  const op = "tensor";
  if (!isDType(dtype)) throw new PoolkitTypeError(op, `dtype must be "float32", "float64" or "int32", got ${show(dtype)}`);
  if (shape !== undefined) checkShape(op, shape, dtype);
  let flat: ArrayLike<number>;
  let finalShape: readonly number[];
  if (typeof values === "number") {
    flat = [values];
    finalShape = shape ?? [];
  } else if (Array.isArray(values)) {
    const inferred = inferShape(values);
    const out: number[] = [];
    flattenInto(op, values, inferred, 0, out);
    flat = out;
    if (shape !== undefined) {
      if (inferred.length > 1 && !sameShape(shape, inferred)) {
        throw new PoolkitRangeError(op, `shape ${show(shape)} does not match the nested values' shape ${show(inferred)}`);
      }
      finalShape = shape;
    } else finalShape = inferred;
  } else if (values !== null && typeof values === "object" && typeof (values as ArrayLike<number>).length === "number") {
    flat = values as ArrayLike<number>;
    finalShape = shape ?? [flat.length];
  } else {
    throw new PoolkitTypeError(op, `values must be an array, a typed array or nested arrays, got ${show(values)}`);
  }
  if (shapeSize(finalShape) !== flat.length) {
    throw new PoolkitRangeError(op, `shape ${show(finalShape)} needs ${shapeSize(finalShape)} values, got ${flat.length}`);
  }
  checkAlloc(op, finalShape, dtype, "tensor");
  const data = allocArray(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== "number") throw new PoolkitTypeError(op, `values must be numbers, got ${show(v)} at index ${i}`);
    if (dtype === "int32" && !(Number.isInteger(v) && v >= -2147483648 && v <= 2147483647)) {
      throw new PoolkitRangeError(op, `int32 values must be 32-bit integers, got ${show(v)} at index ${i}`);
    }
    data[i] = v;
  }
  return new Tensor(adopt(data), finalShape, dtype);
}

/** @internal Wrap a freshly allocated typed array (no copy). */
export function fromArray(data: TypedArray, shape: readonly number[]): Tensor {
  if (shapeSize(shape) !== data.length) throw new PoolkitRangeError("fromArray", `shape ${show(shape)} needs ${shapeSize(shape)} values, got ${data.length}`);
  return new Tensor(adopt(data), shape, dtypeOf(data));
}

/** A tensor of zeros. */
export function zeros(shape: readonly number[], dtype: DType = "float32"): Tensor {
  checkDType("zeros", dtype);
  const n = checkShape("zeros", shape, dtype);
  return new Tensor(adopt(allocArray(dtype, n)), shape, dtype);
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, dtype: DType = "float32"): Tensor {
  checkDType("full", dtype);
  if (typeof value !== "number") throw new PoolkitTypeError("full", `value must be a number, got ${show(value)}`);
  const n = checkShape("full", shape, dtype);
  const a = allocArray(dtype, n);
  a.fill(value);
  return new Tensor(adopt(a), shape, dtype);
}

function checkDType(op: string, dtype: unknown): asserts dtype is DType {
  if (!isDType(dtype)) throw new PoolkitTypeError(op, `dtype must be "float32", "float64" or "int32", got ${show(dtype)}`);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}
