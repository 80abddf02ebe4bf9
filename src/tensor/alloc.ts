/**
 * The one place tensor storage is allocated, and the seam between tensors and where their values live.
 *
 * A {@link Storage} hands out its typed-array view through a property that is read each time: under
 * a WebAssembly backend tensors live in linear memory, where growing the memory detaches every view
 * and the view must be re-created. Ops and kernels therefore never cache `storage.view` (or
 * `tensor.data`) across an allocation or another op's call, and backward closures hold tensors, not
 * views.
 *
 * Two storage kinds exist: the JS heap (one typed array per tensor) and a {@link LinearHeap} over a
 * `WebAssembly.Memory` (one block per tensor, pointer = `ptr`). Which one new tensors get is chosen by
 * {@link setStorageBackend} (the public switch is `setBackend` in src/backends/index.ts). Both can be
 * alive at once: a tensor keeps the storage it was made with.
 *
 * Storage is reference-counted by the tensors that share it (`reshape` shares); when the last one is
 * disposed (or garbage-collected, see tensor.ts) a linear block returns to its free list.
 */
import { chooseDefaultBackend } from "../backends/index.js";
import { LinearHeap, LinearStorage } from "../backends/linear.js";
import { PoolkitRangeError, PoolkitTypeError } from "../errors.js";
import type { DType, FloatArray, FloatDType, TypedArray } from "./dtype.js";
import { checkAlloc, runningOp } from "./limits.js";

export interface Storage {
  /** The current view of the storage; may be a new object after an allocator grows its memory. */
  readonly view: TypedArray;
  readonly dtype: DType;
  /** Elements. */
  readonly length: number;
  /** Bytes held (a linear block's size class). */
  readonly bytes: number;
  /** The linear heap the values live in, or null for JS-heap storage. */
  readonly heap: LinearHeap | null;
  /** Byte address in `heap.memory` (linear storage only; −1 for heap storage). */
  readonly ptr: number;
  /** Tensors sharing this storage. */
  refs: number;
  /** Give the memory back (called when `refs` drops to 0). Reading `view` afterwards throws. */
  free(): void;
  readonly freed: boolean;
}

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };

class HeapStorage implements Storage {
  #view: TypedArray | null;
  readonly dtype: DType;
  readonly length: number;
  readonly bytes: number;
  readonly heap = null;
  readonly ptr = -1;
  refs = 0;
  constructor(view: TypedArray, dtype: DType) {
    this.#view = view;
    this.dtype = dtype;
    this.length = view.length;
    this.bytes = view.length * BYTES[dtype];
  }
  get view(): TypedArray {
    if (this.#view === null) throw usedAfterFree();
    return this.#view;
  }
  get freed(): boolean {
    return this.#view === null;
  }
  free(): void {
    if (this.#view === null) return;
    this.#view = null;
    stats.bytes -= this.bytes;
  }
}

/** Linear-memory storage: a {@link LinearStorage} block with the reference count and accounting. */
class LinearBlock implements Storage {
  readonly block: LinearStorage;
  refs = 0;
  constructor(block: LinearStorage) {
    this.block = block;
  }
  get view(): TypedArray {
    if (this.block.freed) throw usedAfterFree();
    return this.block.view;
  }
  get dtype(): DType {
    return this.block.dtype;
  }
  get length(): number {
    return this.block.length;
  }
  get bytes(): number {
    return this.block.bytes;
  }
  get heap(): LinearHeap {
    return this.block.heap;
  }
  get ptr(): number {
    return this.block.ptr;
  }
  get freed(): boolean {
    return this.block.freed;
  }
  free(): void {
    if (this.block.freed) return;
    stats.bytes -= this.block.bytes;
    this.block.free();
  }
}

function usedAfterFree(): PoolkitTypeError {
  return new PoolkitTypeError("Tensor", "this tensor was disposed (by dispose() or tidy()); it cannot be read or used any more");
}

/** @internal Bytes held by live storage of every kind (read by `memory()`). */
export const stats = { bytes: 0 };

/** Where new tensors are stored: the JS heap, or a linear heap. */
let linear: LinearHeap | null = null;

/** @internal Select the storage new tensors get: `null` = JS heap, else blocks of that linear heap. */
export function setStorageBackend(heap: LinearHeap | null): void {
  linear = heap;
}

/** @internal The linear heap new tensors go to, or null (JS heap). */
export function storageBackend(): LinearHeap | null {
  ensureBackend();
  return linear;
}

/**
 * The default backend is chosen on first allocation, not at import. A direct import (not a hook the
 * backend module installs at load) so that bundlers honouring `"sideEffects": false` cannot drop it.
 */
let chosen = false;
function ensureBackend(): void {
  if (!chosen) {
    chosen = true;
    chooseDefaultBackend();
  }
}

/**
 * A zero-filled JS-heap array. Sizes past the limit (src/tensor/limits.ts), and buffers the engine
 * refuses (out of memory), throw a PoolkitRangeError naming the running op, never the engine's bare
 * RangeError.
 */
function heapArray(dtype: DType, size: number): TypedArray {
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

/**
 * Storage of `size` elements from the active backend: zero-filled unless `zero` is false (for
 * outputs a kernel writes in full). A tensor that does not fit in the 4 GiB wasm32 address space
 * falls back to JS-heap storage (kernels then run the TypeScript path for it).
 */
export function allocate(dtype: DType, size: number, zero = true): Storage {
  checkAlloc(runningOp(), size, dtype);
  ensureBackend();
  if (linear !== null) {
    const block = linear.allocate(dtype, size, zero);
    if (block !== null) {
      stats.bytes += block.bytes;
      return new LinearBlock(block);
    }
  }
  const s = new HeapStorage(heapArray(dtype, size), dtype);
  stats.bytes += s.bytes;
  return s;
}

/**
 * A zero-filled JS-heap typed array of the dtype: kernels' private scratch, and outputs an op fills
 * before wrapping with {@link adopt}. Never a view of linear memory, so it cannot be detached.
 */
export function allocArray(dtype: "float32", size: number): Float32Array;
export function allocArray(dtype: "float64", size: number): Float64Array;
export function allocArray(dtype: "int32", size: number): Int32Array;
export function allocArray(dtype: FloatDType, size: number): FloatArray;
export function allocArray(dtype: DType, size: number): TypedArray;
export function allocArray(dtype: DType, size: number): TypedArray {
  return heapArray(dtype, size);
}

/**
 * Storage holding the values of an array the caller filled (do not write the array after). With a
 * linear backend the values are copied into linear memory, so every tensor an op returns lives
 * where the fast kernels can read it without a copy; with the JS heap the array is kept as is.
 */
export function adopt(view: TypedArray, dtype: DType): Storage {
  ensureBackend();
  if (linear !== null) {
    const block = linear.allocate(dtype, view.length, false);
    if (block !== null) {
      stats.bytes += block.bytes;
      block.view.set(view);
      return new LinearBlock(block);
    }
  }
  const s = new HeapStorage(view, dtype);
  stats.bytes += s.bytes;
  return s;
}
