/**
 * The one place tensor storage is allocated.
 *
 * A {@link Storage} hands out its typed-array view through a property that is read each time:
 * a WebAssembly backend will keep tensors in linear memory, where a view must be re-created after
 * memory growth. Ops and kernels therefore never cache `storage.view` (or `tensor.data`) across
 * another op's call.
 */
import type { DType, FloatArray, FloatDType, TypedArray } from "./dtype.js";
import { PoolkitRangeError } from "../errors.js";
import { checkAlloc, runningOp } from "./limits.js";

export interface Storage {
  /** The current view of the storage; may be a new object after an allocator grows its memory. */
  readonly view: TypedArray;
}

class HeapStorage implements Storage {
  constructor(readonly view: TypedArray) {}
}

/** Zero-filled storage of `size` elements. */
export function allocate(dtype: DType, size: number): Storage {
  return new HeapStorage(allocArray(dtype, size));
}

/**
 * A zero-filled typed array of the dtype: kernels' scratch and output buffers come from here.
 * Sizes past the limit (src/tensor/limits.ts), and buffers the engine refuses (out of memory),
 * throw a PoolkitRangeError naming the running op, never the engine's bare RangeError.
 */
export function allocArray(dtype: "float32", size: number): Float32Array;
export function allocArray(dtype: "float64", size: number): Float64Array;
export function allocArray(dtype: "int32", size: number): Int32Array;
export function allocArray(dtype: FloatDType, size: number): FloatArray;
export function allocArray(dtype: DType, size: number): TypedArray;
export function allocArray(dtype: DType, size: number): TypedArray {
  checkAlloc(runningOp(), size, dtype);
  try {
    switch (dtype) {
      case "float32":
        return new Float32Array(size);
      case "float64":
        return new Float64Array(size);
      case "int32":
        return new Int32Array(size);
    }
  } catch (e) {
    if (e instanceof RangeError) throw new PoolkitRangeError(runningOp(), `cannot allocate ${size} ${dtype} elements: ${e.message}`);
    throw e;
  }
}

/** Wrap an array the allocator produced (ownership passes to the storage: do not write it after). */
export function adopt(view: TypedArray): Storage {
  return new HeapStorage(view);
}
