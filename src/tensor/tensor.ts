/**
 * The Tensor: a dtype, a shape and contiguous row-major storage. Layout is channels-first,
 * as in PyTorch: `[N, C, ...spatial]`, or unbatched `[C, ...spatial]` for windowed ops.
 */
import { adopt, allocArray, allocate, stats, tidyScope, type Storage, type StorageHandle } from "./alloc.js";
import { dtypeOf, isDType, type DType, type TypedArray } from "./dtype.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { checkAlloc } from "./limits.js";

export type NestedArray = number | NestedArray[];

/** What a Tensor can be built on: a full {@link Storage}, or (tests, adapters) anything with a `view`. */
export type StorageLike = Storage | { readonly view: TypedArray };

/** Adapt a bare `{ view }` holder to a Storage (no accounting: its memory is the caller's). */
function asStorage(s: StorageLike): Storage {
  if (typeof (s as Storage).free === "function") return s as Storage;
  const src = s as { readonly view: TypedArray };
  let freed = false;
  const handle: StorageHandle = {
    refs: 0,
    get freed(): boolean {
      return freed;
    },
    free(): void {
      freed = true;
    },
  };
  return {
    get view(): TypedArray {
      if (handle.freed) throw new PoolkitTypeError("Tensor", "this tensor was disposed (by dispose() or tidy()); it cannot be read or used any more");
      return src.view;
    },
    get dtype(): DType {
      return dtypeOf(src.view);
    },
    get length(): number {
      return src.view.length;
    },
    bytes: 0,
    heap: null,
    ptr: -1,
    handle,
    get freed(): boolean {
      return handle.freed;
    },
    free(): void {
      handle.free();
    },
    escape(): void {},
  };
}

/** Live-tensor count (read by `memory()`). */
const live = { tensors: 0 };

function release(handle: StorageHandle): void {
  live.tensors--;
  if (--handle.refs === 0) handle.free();
}

/**
 * The safety net for tensors nobody disposed: when a Tensor is garbage-collected its storage
 * reference is dropped (and a linear-memory block goes back to its free list). It holds the storage's
 * small handle, never the storage (which holds the values): see {@link StorageHandle}. `tidy`/`dispose`
 * remain the documented way in loops: collection comes late, and cleanup callbacks wait until the
 * running job (a synchronous loop, or one awaiting only promises) ends.
 */
const finalizer: FinalizationRegistry<StorageHandle> | null =
  typeof FinalizationRegistry === "function" ? new FinalizationRegistry<StorageHandle>((h) => release(h)) : null;

/** Open `tidy` scopes, innermost last: every tensor created while one is open is recorded in it. */
const scopes: Tensor[][] = [];

export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly size: number;
  readonly #storage: Storage;
  #disposed = false;

  /** @internal Use {@link tensor} or {@link fromArray}; ops build outputs through the allocator. */
  constructor(storage: StorageLike, shape: readonly number[], dtype: DType) {
    const s = asStorage(storage);
    this.#storage = s;
    this.shape = Object.freeze(shape.slice());
    this.dtype = dtype;
    this.size = shapeSize(shape);
    s.handle.refs++;
    live.tensors++;
    finalizer?.register(this, s.handle, this);
    const scope = scopes[scopes.length - 1];
    if (scope !== undefined) scope.push(this);
    else s.escape();
  }

  /** Contiguous row-major values. Read through this property each time; never cache the view. */
  get data(): TypedArray {
    return this.#storage.view;
  }

  /** @internal The storage (shared by reshapes); kernels of a WebAssembly backend read its `ptr`. */
  get storage(): Storage {
    return this.#storage;
  }

  /** True once {@link Tensor.dispose} (or an enclosing `tidy`) has released this tensor. */
  get isDisposed(): boolean {
    return this.#disposed;
  }

  /**
   * Release this tensor's storage now (shared storage is freed when its last tensor goes). Reading
   * the tensor afterwards throws. Calling it twice is harmless.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    finalizer?.unregister(this);
    const s = this.#storage;
    if (--s.handle.refs === 0) s.free();
    live.tensors--;
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
    const s = allocate(dtype, this.size, false);
    const out = s.view;
    const src = this.data;
    if (dtype === "int32") for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i] as number);
    else out.set(src);
    return new Tensor(s, this.shape, dtype);
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
  return new Tensor(adopt(data, dtype), finalShape, dtype);
}

/** @internal Wrap a freshly allocated typed array (no copy). */
export function fromArray(data: TypedArray, shape: readonly number[]): Tensor {
  if (shapeSize(shape) !== data.length) throw new PoolkitRangeError("fromArray", `shape ${show(shape)} needs ${shapeSize(shape)} values, got ${data.length}`);
  const dtype = dtypeOf(data);
  return new Tensor(adopt(data, dtype), shape, dtype);
}

/** A tensor of zeros. */
export function zeros(shape: readonly number[], dtype: DType = "float32"): Tensor {
  checkDType("zeros", dtype);
  const n = checkShape("zeros", shape, dtype);
  return new Tensor(allocate(dtype, n), shape, dtype);
}

/**
 * @internal An output tensor for a kernel that writes every element: storage from the active backend,
 * not zero-filled (a reused linear-memory block keeps old values until the kernel overwrites them).
 */
export function emptyTensor(shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(allocate(dtype, shapeSize(shape), false), shape, dtype);
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, dtype: DType = "float32"): Tensor {
  checkDType("full", dtype);
  if (typeof value !== "number") throw new PoolkitTypeError("full", `value must be a number, got ${show(value)}`);
  const n = checkShape("full", shape, dtype);
  const s = allocate(dtype, n, false);
  s.view.fill(value);
  return new Tensor(s, shape, dtype);
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

/** Tensors alive (created and not yet disposed or collected) and the bytes their storage holds. */
export interface MemoryInfo {
  /** Bytes of storage held by live tensors (linear-memory blocks count their size class). */
  readonly bytes: number;
  /** Live Tensor objects (a reshape is a tensor of its own that shares storage). */
  readonly tensors: number;
}

/**
 * Memory held by tensors: `{ bytes, tensors }`. Flat across the iterations of a loop whose body
 * runs in {@link tidy} (or disposes what it makes); growing otherwise until the garbage collector
 * runs the `FinalizationRegistry` safety net.
 *
 * @example
 * const before = memory().tensors;
 * tidy(() => maxPool2d.vjp(x, { kernelSize: 2 }).backward(dy));
 * memory().tensors === before; // true
 */
export function memory(): MemoryInfo {
  return { bytes: stats.bytes, tensors: live.tensors };
}

/**
 * Run `fn` and dispose every tensor created inside it except those it returns (a Tensor, or Tensors
 * found in returned arrays and plain objects, e.g. `{ output, indices }` or a gradient list), as
 * TensorFlow.js's `tf.tidy`. Kept tensors pass to the enclosing `tidy`, if any. `fn` must be
 * synchronous. A `backward` closure returned from inside `tidy` cannot be called after it: the
 * forward's intermediates it needs were disposed (it throws) — run forward and backward in one `tidy`.
 *
 * @example
 * for (let step = 0; step < 1000; step++) {
 *   const dx = tidy(() => { const { output, backward } = maxPool2d.vjp(x, { kernelSize: 2 }); return backward(dy)[0]; });
 *   // ... use dx, then dx?.dispose()
 * }
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== "function") throw new PoolkitTypeError("tidy", `expected a function, got ${show(fn)}`);
  const scope: Tensor[] = [];
  scopes.push(scope);
  tidyScope(1);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    tidyScope(-1);
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  tidyScope(-1);
  if (result !== null && typeof result === "object" && typeof (result as { then?: unknown }).then === "function") {
    for (const t of scope) t.dispose();
    throw new PoolkitTypeError("tidy", "fn must be synchronous, got a function that returned a Promise");
  }
  const keep = new Set<Tensor>();
  collect(result, keep, 0);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (!keep.has(t)) t.dispose();
    else if (parent !== undefined) parent.push(t);
    else t.storage.escape(); // out of every scope: only the collector can find it dropped now
  }
  return result;
}

/**
 * @internal Run `fn` and return what it returned with every tensor created inside it, none disposed:
 * the caller disposes them later (the tfjs adapter, when tfjs has taken the gradient). They then belong
 * to the enclosing `tidy`, if any, as if made there; outside every scope they escape (see tidy).
 */
export function track<T>(fn: () => T): { result: T; tensors: Tensor[] } {
  const scope: Tensor[] = [];
  scopes.push(scope);
  tidyScope(1);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
    tidyScope(-1);
    const parent = scopes[scopes.length - 1];
    for (const t of scope) {
      if (t.isDisposed) continue;
      if (parent !== undefined) parent.push(t);
      else t.storage.escape();
    }
  }
  return { result, tensors: scope };
}

/** Tensors reachable from a tidy result through arrays and plain objects (a few levels deep). */
function collect(v: unknown, into: Set<Tensor>, depth: number): void {
  if (v instanceof Tensor) {
    into.add(v);
    return;
  }
  if (depth > 4 || v === null || typeof v !== "object") return;
  if (Array.isArray(v)) {
    for (const e of v) collect(e, into, depth + 1);
    return;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return;
  for (const e of Object.values(v as Record<string, unknown>)) collect(e, into, depth + 1);
}

/** Exempt a tensor created inside a {@link tidy} from being disposed when it ends. Returns it. */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of scopes) {
    const i = scope.indexOf(t);
    if (i >= 0) scope.splice(i, 1);
  }
  t.storage.escape();
  return t;
}
