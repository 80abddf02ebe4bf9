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
 * disposed (or garbage-collected, see tensor.ts) a linear block returns to its free list. How tensors
 * that nobody disposes are kept from growing the memory without bound: see "tensors nobody disposes".
 */
import { chooseDefaultBackend } from "../backends/index.js";
import { LinearHeap, LinearStorage, sizeClass } from "../backends/linear.js";
import { PoolkitRangeError, PoolkitTypeError } from "../errors.js";
import type { DType, FloatArray, FloatDType, TypedArray } from "./dtype.js";
import { checkAlloc, inOp, onOpEnd, runningOp } from "./limits.js";

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
  /** The reference count and the release of the memory; what the FinalizationRegistry holds. */
  readonly handle: StorageHandle;
  /** Give the memory back (called when `handle.refs` drops to 0). Reading `view` afterwards throws. */
  free(): void;
  readonly freed: boolean;
  /**
   * Called when a tensor on this storage may outlive every `tidy` scope (made outside one, or
   * returned or kept out of the outermost): from then on only the garbage collector can find it
   * dropped, so a linear block takes a share of a pressure token (see {@link pressureToken}).
   */
  escape(): void;
}

/**
 * A storage's reference count (tensors sharing it: `reshape` shares) and how to give its memory back.
 * The FinalizationRegistry (tensor.ts) holds this small object, never the storage: a held value stays
 * alive until its cleanup callback runs, and cleanup callbacks run only after the current job ends —
 * a synchronous loop, or one that awaits only promises (microtasks), is a single job. Holding the
 * storage there kept every dropped JS-heap tensor's typed array alive for the whole loop.
 */
export interface StorageHandle {
  refs: number;
  readonly freed: boolean;
  free(): void;
}

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };

/** The handle of both storage kinds: a linear block (until it is moved to the heap) or heap bytes. */
class Handle implements StorageHandle {
  refs = 0;
  freed = false;
  bytes: number;
  block: LinearStorage | null;
  /** The job ({@link job}) in which this linear block escaped, or −1. */
  escapedIn = -1;
  constructor(bytes: number, block: LinearStorage | null) {
    this.bytes = bytes;
    this.block = block;
  }
  free(): void {
    if (this.freed) return;
    this.freed = true;
    stats.bytes -= this.bytes;
    if (this.block !== null) {
      if (this.escapedIn === job.id) uncount(this.block.bytes);
      this.block.free();
      this.block = null;
    }
  }
}

class HeapStorage implements Storage {
  #view: TypedArray | null;
  readonly dtype: DType;
  readonly length: number;
  readonly heap = null;
  readonly ptr = -1;
  readonly handle: Handle;
  /** The view's buffer is a pool buffer ({@link heapPool}) that goes back to the pool when freed. */
  readonly #pooled: boolean;
  constructor(view: TypedArray, dtype: DType, pooled = false) {
    this.#view = view;
    this.dtype = dtype;
    this.length = view.length;
    this.handle = new Handle(view.length * BYTES[dtype], null);
    this.#pooled = pooled;
  }
  get bytes(): number {
    return this.handle.bytes;
  }
  get view(): TypedArray {
    if (this.#view === null || this.handle.freed) throw usedAfterFree();
    return this.#view;
  }
  get freed(): boolean {
    return this.handle.freed;
  }
  free(): void {
    const view = this.#view;
    this.#view = null;
    if (this.#pooled && view !== null && !this.handle.freed) poolRelease(view.buffer as ArrayBuffer);
    this.handle.free();
  }
  escape(): void {
    // a typed array's size is known to the engine already
  }
}

/**
 * Linear-memory storage: a {@link LinearStorage} block with the reference count and accounting. When
 * it escapes past the job's budget its values move to a JS-heap array and the block is freed at once.
 */
class LinearBlock implements Storage {
  readonly #block: LinearStorage;
  readonly handle: Handle;
  /** A share of a pressure token once the storage escaped every tidy scope (dies with this object). */
  #pressure: ArrayBuffer | null = null;
  /** The values after a move to the JS heap. */
  #moved: TypedArray | null = null;
  constructor(block: LinearStorage) {
    this.#block = block;
    this.handle = new Handle(block.bytes, block);
  }
  get view(): TypedArray {
    if (this.handle.freed) throw usedAfterFree();
    return this.#moved ?? this.#block.view;
  }
  get dtype(): DType {
    return this.#block.dtype;
  }
  get length(): number {
    return this.#block.length;
  }
  get bytes(): number {
    return this.handle.bytes;
  }
  get heap(): LinearHeap | null {
    return this.#moved === null ? this.#block.heap : null;
  }
  get ptr(): number {
    return this.#moved === null ? this.#block.ptr : -1;
  }
  get freed(): boolean {
    return this.handle.freed;
  }
  free(): void {
    this.#pressure = null;
    this.#moved = null;
    this.handle.free();
  }
  escape(): void {
    if (this.#pressure !== null || this.#moved !== null || this.handle.freed) return;
    if (inOp()) {
      pending.push(this); // decided when the op returns: its kernels write in place first
      return;
    }
    if (this.handle.escapedIn < 0 && !mayEscape(this.#block.heap, this.#block.bytes)) {
      // copy out and free the block now: the next allocation of its class reuses it
      const moved = this.#block.view.slice();
      const bytes = moved.length * BYTES[this.dtype];
      stats.bytes += bytes - this.handle.bytes;
      this.handle.bytes = bytes;
      this.handle.block = null;
      this.#block.free();
      this.#moved = moved;
      return;
    }
    if (this.handle.escapedIn < 0) this.handle.escapedIn = job.id;
    this.#pressure = pressureToken(this.#block.bytes);
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

// ---------------------------------------------------------------- tensors nobody disposes
//
// A tensor dropped without dispose()/tidy() is found by the garbage collector, and its linear block
// goes back to the free list in the FinalizationRegistry's cleanup callback (tensor.ts). Two things
// stand in the way, measured with maxPool2d [8,64,56,56] k3 s2 p1 (3.2 MB of outputs per call) in a
// loop that drops its results:
// 1. V8 does not know that a tensor holds megabytes: to the collector it is a few hundred bytes of JS
//    objects, so it collects rarely (in a loop that yields to the event loop each call, the memory
//    grew to 500 MB before the first collection). Remedy: pressure tokens, below.
// 2. Cleanup callbacks run only between tasks, never inside a synchronous loop nor inside a loop
//    that awaits only promises (`await fn()` in tinybench's sampler: one job, all microtasks). There
//    the library cannot learn that a tensor was dropped, so every call took fresh pages (≈ 790 minor
//    page faults a call, 11–14 ms instead of 1.7 ms on this busy 2-core machine, and the memory grew
//    by 3.5 MB a call, to gigabytes, never returned to the system). Remedy: a budget per job, below.
//    (Nothing else can tell: a WeakRef keeps its target alive until the job ends once it was created
//    or dereferenced in it, and FinalizationRegistry.cleanupSome is not in the language.)

/**
 * Pressure tokens tell the engine how much memory escaped tensors hold. An `ArrayBuffer` is the one
 * object whose size engines count as external memory and collect for (V8 starts a collection once
 * external memory grew by 64 MB since the last one). Each token is a `new ArrayBuffer` of
 * {@link TOKEN_BYTES} that is never read or written, shared by the escaped linear blocks that together
 * hold that many bytes; a block larger than that gets its own token of its size. Never touched, a
 * token costs address space, not memory: allocations this large are mapped directly (glibc's malloc
 * maps anything ≥ 32 MiB with mmap, zero pages that only become resident when written; Chromium's
 * PartitionAlloc maps large buffers directly too); measured: one page fault per token, RSS unchanged.
 * Tensors inside `tidy` never take tokens (they are freed on time without the collector's help).
 */
const TOKEN_BYTES = 32 * 2 ** 20;
let token: ArrayBuffer | null = null;
let tokenLeft = 0;

function pressureToken(bytes: number): ArrayBuffer | null {
  try {
    if (bytes >= TOKEN_BYTES) return new ArrayBuffer(bytes);
    if (token === null || tokenLeft < bytes) {
      token = new ArrayBuffer(TOKEN_BYTES);
      tokenLeft = TOKEN_BYTES;
    }
    tokenLeft -= bytes;
    return token;
  } catch {
    return null; // no address space for a token: the tensor works without one
  }
}

/**
 * The per-job budget. Within one job (until the event loop next runs a task) a linear block may escape
 * every `tidy` scope (a tensor made outside `tidy`, or returned or kept out of the outermost one) only
 * while
 * - fewer than {@link JOB_REPEATS} blocks of its size class escaped in this job and are still alive
 *   (a loop that drops its results makes the same shapes over and over; code that disposes what it
 *   makes gives the count back, and a few inputs of one shape stay well under it), and
 * - the job has extended the linear heap by at most {@link JOB_GROWTH} bytes (many distinct sizes).
 * Otherwise a tensor made outside `tidy` gets JS-heap storage, and a tensor leaving the outermost
 * `tidy` moves its values to the JS heap and frees its block at once. The engine frees heap storage as
 * soon as it is dropped (its allocator reuses the pages, so after the first collections such a call
 * takes no fresh pages), so a loop that never disposes stays bounded. An op's outputs are still
 * written in linear memory and copied out once when it returns ({@link pending}); measured for
 * maxPool2d [8,64,56,56] k3 s2 p1 in such a loop: ≈ 1.2× the CPU time of the same call inside `tidy`
 * once the engine's allocator recycles (its first collections), 2–7 page faults a call; WebAssembly
 * kernels reach heap inputs through scratch blocks, freed at once and reused. A block that a
 * dropped tensor holds is lost until the job ends, so even a free block must not go to an escaping
 * tensor past the budget: a scratch block freed and taken by the next output would make the next
 * scratch grow the memory, call after call. Tensors inside `tidy` always get linear storage (they are
 * freed on time). The next job starts with a fresh budget, and by then the FinalizationRegistry has
 * usually returned the dropped blocks (pressure tokens make V8 collect).
 */
const JOB_REPEATS = 8;
let JOB_GROWTH = 256 * 2 ** 20;

/** The current job: its id, a heap and its `top` when the job began, live escaped blocks per size class. */
const job = { id: 0, armed: false, heap: null as LinearHeap | null, top: 0, escaped: new Map<number, number>() };

/** @internal Tests: set the per-job growth budget in bytes and start a fresh job; returns the previous budget. */
export function setGrowthBudget(bytes: number): number {
  const prev = JOB_GROWTH;
  JOB_GROWTH = bytes;
  endJob();
  return prev;
}

/** Open `tidy` scopes (tensor.ts keeps the count): tensors made inside one are freed on time. */
let tidyDepth = 0;

/** @internal tensor.ts: a `tidy` scope opens (+1) or closes (−1). */
export function tidyScope(delta: 1 | -1): void {
  tidyDepth += delta;
}

function endJob(): void {
  job.id++;
  job.armed = false;
  job.heap = null;
  job.escaped.clear();
}

/**
 * Whether a block of `bytes` (a size class) may escape in the current job; counts it if so. The first
 * call of a job arms its end (a timer: the next task).
 */
function mayEscape(heap: LinearHeap, bytes: number): boolean {
  if (!job.armed) {
    const timer = (globalThis as { setTimeout?: (f: () => void, ms: number) => unknown }).setTimeout;
    if (typeof timer !== "function") return true; // no event loop to tell jobs apart: no budget
    job.armed = true;
    const t = timer(endJob, 0) as { unref?: () => void } | undefined;
    t?.unref?.(); // Node: the timer keeps no process alive
  }
  if (job.heap !== heap) {
    job.heap = heap;
    job.top = heap.top;
  }
  const n = job.escaped.get(bytes) ?? 0;
  if (n >= JOB_REPEATS || heap.top - job.top > JOB_GROWTH) return false;
  job.escaped.set(bytes, n + 1);
  return true;
}

function uncount(bytes: number): void {
  const n = job.escaped.get(bytes) ?? 0;
  if (n > 0) job.escaped.set(bytes, n - 1);
}

/**
 * Linear storage made inside an op outside `tidy`, waiting for the op to return: an op's outputs (and
 * what its backward closure keeps) are written by its kernels in place, in linear memory, and only
 * then escape — or, past the budget, move to the JS heap (one copy), freeing their blocks for the next
 * call. Cheaper than JS-heap outputs that the kernels would reach through scratch copies.
 */
const pending: LinearBlock[] = [];

function flushPending(): void {
  if (pending.length === 0) return;
  const list = pending.splice(0);
  for (const s of list) s.escape();
}
onOpEnd(flushPending);

/** Linear storage for a new tensor, or null: past the job's budget for a tensor made outside tidy or an op. */
function linearBlock(heap: LinearHeap, dtype: DType, size: number, zero: boolean): LinearBlock | null {
  if (tidyDepth > 0 || inOp()) {
    const block = heap.allocate(dtype, size, zero);
    return block === null ? null : new LinearBlock(block);
  }
  const cls = sizeClass(Math.max(size, 1) * BYTES[dtype]);
  if (!mayEscape(heap, cls)) return null;
  const block = heap.allocate(dtype, size, zero);
  if (block === null) {
    uncount(cls);
    return null;
  }
  const s = new LinearBlock(block);
  s.handle.escapedIn = job.id;
  return s;
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

// ---------------------------------------------------------------- JS-heap buffer reuse
//
// Under the "js" backend every tensor is a typed array. A disposed one (dispose, tidy) used to be
// dropped for the garbage collector, and the next call of the same shape asked the engine for a new
// zero-filled buffer. For tens of MB V8 gets it from calloc, and glibc serves such requests with
// fresh mmap'd pages (and unmaps them again on free, or trims the heap top past its threshold), so
// every call faulted its whole output in again: maxPool2d [8,64,112,112] k3 s2 p1 backward (a 25.7 MB
// dx) took ~6,270 minor page faults and 50–170 ms a call on this 2-core machine instead of ~1 fault
// and under 10 ms. Like the linear heap (src/backends/linear.ts), storage made by `allocate` now
// comes from buffers of the same size classes, and a buffer whose tensors were all disposed goes
// back on its class's free list for the next request (zero-filled again when asked: a plain
// typed-array fill, a memset on unshared memory). Only explicit disposal returns buffers: a tensor
// the garbage collector finds takes its buffer with it. Small arrays are left to the engine, and the
// pool keeps at most HEAP_POOL_MAX bytes (past that a freed buffer is dropped for the collector).

/** Requests below this many bytes get a plain typed array (V8 and malloc recycle small ones well). */
const HEAP_POOL_MIN = 64 * 1024;
/** Bytes the free lists may hold in total. */
let HEAP_POOL_MAX = 256 * 2 ** 20;
const heapPool = new Map<number, ArrayBuffer[]>();
let heapPoolBytes = 0;

function poolRelease(buf: ArrayBuffer): void {
  const bytes = buf.byteLength;
  if (heapPoolBytes + bytes > HEAP_POOL_MAX) return;
  let list = heapPool.get(bytes);
  if (list === undefined) heapPool.set(bytes, (list = []));
  list.push(buf);
  heapPoolBytes += bytes;
}

/** @internal Tests and memory-tight callers: the bytes held by free JS-heap buffers. */
export function heapPoolInfo(): { bytes: number; buffers: number } {
  let buffers = 0;
  for (const l of heapPool.values()) buffers += l.length;
  return { bytes: heapPoolBytes, buffers };
}

/** @internal Drop every free JS-heap buffer (for the collector) and set the pool's cap; returns the previous cap. */
export function resetHeapPool(maxBytes = HEAP_POOL_MAX): number {
  const prev = HEAP_POOL_MAX;
  heapPool.clear();
  heapPoolBytes = 0;
  HEAP_POOL_MAX = maxBytes;
  return prev;
}

function makeView(dtype: DType, buf: ArrayBuffer, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(buf, 0, size);
    case "float64":
      return new Float64Array(buf, 0, size);
    case "int32":
      return new Int32Array(buf, 0, size);
  }
}

/** JS-heap storage for `allocate`: a pooled buffer of the size class when large enough. */
function heapStorage(dtype: DType, size: number, zero: boolean): HeapStorage {
  const want = size * BYTES[dtype];
  if (want < HEAP_POOL_MIN) return new HeapStorage(heapArray(dtype, size), dtype);
  checkAlloc(runningOp(), size, dtype);
  const cls = sizeClass(want);
  const list = heapPool.get(cls);
  if (list !== undefined && list.length > 0) {
    const buf = list.pop() as ArrayBuffer;
    heapPoolBytes -= cls;
    const view = makeView(dtype, buf, size);
    if (zero) view.fill(0);
    return new HeapStorage(view, dtype, true);
  }
  let buf: ArrayBuffer;
  try {
    buf = new ArrayBuffer(cls); // zero-filled by the engine
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    resetHeapPool(HEAP_POOL_MAX); // give the free buffers back and try once more
    try {
      buf = new ArrayBuffer(cls);
    } catch (e2) {
      if (e2 instanceof RangeError) throw new PoolkitRangeError(runningOp(), `cannot allocate ${size} ${dtype} elements: ${e2.message}`);
      throw e2;
    }
  }
  return new HeapStorage(makeView(dtype, buf, size), dtype, true);
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
 * outputs a kernel writes in full). A tensor that does not fit in the 4 GiB wasm32 address space, or
 * past the current job's budget ({@link mayEscape}), gets JS-heap storage instead (the
 * WebAssembly kernels copy it through scratch blocks of their memory).
 */
export function allocate(dtype: DType, size: number, zero = true): Storage {
  checkAlloc(runningOp(), size, dtype);
  ensureBackend();
  if (linear !== null) {
    const s = linearBlock(linear, dtype, size, zero);
    if (s !== null) {
      stats.bytes += s.bytes;
      return s;
    }
  }
  const s = heapStorage(dtype, size, zero);
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
    const s = linearBlock(linear, dtype, view.length, false);
    if (s !== null) {
      stats.bytes += s.bytes;
      s.view.set(view);
      return s;
    }
  }
  const s = new HeapStorage(view, dtype);
  stats.bytes += s.bytes;
  return s;
}
