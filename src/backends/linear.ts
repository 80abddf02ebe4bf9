/**
 * An allocator over one `WebAssembly.Memory`: the storage that tensors live in when a WebAssembly
 * backend is active, so kernels receive pointers instead of copying inputs in (copying a 25 MB input
 * into linear memory costs more than the pooling kernel itself).
 *
 * Blocks are 16-byte aligned (v128 loads) and rounded up to a size class: multiples of 16 bytes up
 * to 256 bytes, above that four classes per power of two (≤ 25 % slack). A freed block goes on its
 * class's free list and the next request of that class takes it back — a training loop that makes
 * the same shapes every step reuses the same blocks, so its pages are faulted in once instead of on
 * every call (glibc returns large freed typed arrays to the OS; see the benchmark's page-fault
 * column). Blocks are never split or merged: simple, and exact for the repeated-shape workloads that
 * matter; a mix of ever-changing sizes can strand memory in unused classes (`memory()` shows it).
 * New blocks come from a bump pointer; when it passes the end, the memory grows, which detaches
 * every view of the old buffer — hence {@link LinearStorage.view} re-creates its view on demand.
 */
import type { DType, TypedArray } from "../tensor/dtype.js";
import { wasmApi, type WasmMemory } from "./wasm/api.js";

const PAGE = 65536;
/** wasm32 addresses 4 GiB = 65536 pages. */
const MAX_PAGES = 65536;
/**
 * The first page is left to the kernels module's own static data (AssemblyScript places its data
 * segments from address 8 upward; the kernels have none beyond a few bytes).
 */
const RESERVED = PAGE;
/** Bytes kept mapped past the last block (one v128). */
const GUARD = 16;

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };

/** The size class (in bytes, a multiple of 16) that a request of `bytes` is served from. */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 256) return b;
  // four classes per power of two: 2^k, 1.25·2^k, 1.5·2^k, 1.75·2^k
  const step = 2 ** (Math.floor(Math.log2(b)) - 2);
  return Math.ceil(b / step) * step;
}

/** One block of linear memory holding a tensor's values. */
export class LinearStorage {
  readonly dtype: DType;
  readonly length: number;
  /** Byte address of the first element in the heap's memory; stable across growth. */
  readonly ptr: number;
  readonly bytes: number;
  readonly heap: LinearHeap;
  #view: TypedArray | null = null;
  #buffer: ArrayBuffer | null = null;
  #freed = false;

  constructor(heap: LinearHeap, dtype: DType, length: number, ptr: number, bytes: number) {
    this.heap = heap;
    this.dtype = dtype;
    this.length = length;
    this.ptr = ptr;
    this.bytes = bytes;
  }

  get freed(): boolean {
    return this.#freed;
  }

  /** A view of the block on the memory's current buffer (a new object after the memory grew). */
  get view(): TypedArray {
    const buf = this.heap.memory.buffer;
    if (this.#buffer !== buf || this.#view === null) {
      this.#buffer = buf;
      this.#view = makeView(this.dtype, buf, this.ptr, this.length);
    }
    return this.#view;
  }

  /** Return the block to its size class's free list. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#view = null;
    this.#buffer = null;
    this.heap.release(this.ptr, this.bytes);
  }
}

function makeView(dtype: DType, buf: ArrayBuffer, ptr: number, length: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(buf, ptr, length);
    case "float64":
      return new Float64Array(buf, ptr, length);
    case "int32":
      return new Int32Array(buf, ptr, length);
  }
}

export interface LinearHeapOptions {
  /** An existing memory (e.g. one a module imports); default a new one of one page. */
  memory?: WasmMemory;
  /**
   * Test mode: after every allocation grow the memory by 0 pages, which detaches every earlier view
   * of its buffer (exactly what real growth does), so code that keeps a typed-array view across an
   * allocation reads an empty array and fails its test instead of silently working until the day
   * memory happens to grow.
   */
  detachOnAllocate?: boolean;
  /**
   * Zero `bytes` bytes at `ptr` (the kernels module's `zeroFill`, one `memory.fill`); default a
   * typed-array fill, which V8 runs element by element on a shared memory.
   */
  zeroFill?: (ptr: number, bytes: number) => void;
}

/** A size-class allocator over a `WebAssembly.Memory`. */
export class LinearHeap {
  readonly memory: WasmMemory;
  readonly detachOnAllocate: boolean;
  readonly #zeroFill: ((ptr: number, bytes: number) => void) | null;
  #top = RESERVED;
  readonly #free = new Map<number, number[]>();
  #liveBytes = 0;
  #blocks = 0;

  constructor(opts: LinearHeapOptions = {}) {
    const api = wasmApi();
    if (opts.memory === undefined && api === undefined) throw new Error("LinearHeap: this engine has no WebAssembly");
    this.memory = opts.memory ?? new (api as NonNullable<typeof api>).Memory({ initial: 1, maximum: MAX_PAGES });
    this.detachOnAllocate = opts.detachOnAllocate ?? false;
    this.#zeroFill = opts.zeroFill ?? null;
    if (this.memory.buffer.byteLength < RESERVED) this.memory.grow(Math.ceil((RESERVED - this.memory.buffer.byteLength) / PAGE));
  }

  /** Bytes in live blocks (size classes, not requested sizes). */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  /**
   * The end of the highest block ever handed out: bytes of the memory in use or on free lists. It only
   * grows, by the size of each block no free list could serve (tensor.ts's budget for tensors nobody
   * disposes is measured in it).
   */
  get top(): number {
    return this.#top;
  }

  /** Bytes the memory spans (live, free-listed and reserved). */
  get capacity(): number {
    return this.memory.buffer.byteLength;
  }

  get liveBlocks(): number {
    return this.#blocks;
  }

  /**
   * A block for `length` elements of `dtype`, zero-filled when `zero`; `null` when it cannot fit in
   * the 4 GiB address space (the caller then falls back to heap storage).
   */
  allocate(dtype: DType, length: number, zero: boolean): LinearStorage | null {
    const bytes = sizeClass(length * BYTES[dtype]);
    const list = this.#free.get(bytes);
    let ptr: number;
    if (list !== undefined && list.length > 0) {
      ptr = list.pop() as number;
      if (zero) {
        if (this.#zeroFill !== null) this.#zeroFill(ptr, bytes);
        else new Int32Array(this.memory.buffer, ptr, bytes >> 2).fill(0); // size classes are multiples of 16
      }
    } else {
      ptr = this.#top;
      const end = ptr + bytes;
      if (end + GUARD > MAX_PAGES * PAGE) return null;
      const have = this.memory.buffer.byteLength;
      // GUARD bytes stay mapped past the last block: SIMD kernels may load one vector past a row's end
      if (end + GUARD > have) {
        // grow by at least a quarter of the current size so a run of new shapes does not grow page by page
        const need = Math.ceil((end + GUARD - have) / PAGE);
        const pages = Math.min(Math.max(need, Math.ceil(have / PAGE / 4)), MAX_PAGES - have / PAGE);
        try {
          this.memory.grow(pages);
        } catch {
          try {
            this.memory.grow(need);
          } catch {
            return null;
          }
        }
      }
      this.#top = end; // fresh pages are zero
    }
    this.#liveBytes += bytes;
    this.#blocks++;
    if (this.detachOnAllocate) this.memory.grow(0);
    return new LinearStorage(this, dtype, length, ptr, bytes);
  }

  /** @internal Called by {@link LinearStorage.free}. */
  release(ptr: number, bytes: number): void {
    let list = this.#free.get(bytes);
    if (list === undefined) this.#free.set(bytes, (list = []));
    list.push(ptr);
    this.#liveBytes -= bytes;
    this.#blocks--;
  }
}
