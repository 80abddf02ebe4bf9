/**
 * How large a tensor may be: the one size check every allocation and every op's plan goes through.
 *
 * Ops call {@link checkAlloc} with their output (and scratch) shape *before* allocating anything,
 * and `outputShape` runs the same check, so an absurd size (`outputSize: 1e9`, `zeros([1e5, 1e5])`)
 * is a {@link PoolkitRangeError} naming the op, the shape and the limit at once — never minutes of
 * allocation followed by V8's bare `Array buffer allocation failed`. The allocator
 * (src/tensor/alloc.ts) runs it again on every buffer as a backstop, naming the op that is running
 * ({@link runAs}).
 *
 * The limit is a setting, not a constant: the JS heap allows 2³¹ − 1 elements per tensor (the
 * largest length whose flat positions fit the int32 indices that max pooling returns, as PyTorch's
 * are int64 but ours are int32; V8 itself allows 2³² elements in Node 20 and other engines less),
 * while a WebAssembly backend lowers it to the bytes its 32-bit memory can address
 * ({@link setAllocLimit}).
 */
import { PoolkitRangeError, show } from "../errors.js";
import type { DType } from "./dtype.js";

/** The most a single tensor or buffer may hold. */
export interface AllocLimit {
  /** Most elements in one buffer. */
  readonly elements: number;
  /** Most bytes in one buffer. */
  readonly bytes: number;
  /** What sets the limit, for messages: "the largest tensor the JS heap backend allows". */
  readonly reason: string;
}

/** 2³¹ − 1: the largest element count whose flat positions fit an int32 index. */
export const MAX_INT32 = 0x7fffffff;

/** The JS heap backend's limit (the default). */
export const HEAP_LIMIT: AllocLimit = Object.freeze({
  elements: MAX_INT32,
  bytes: Number.MAX_SAFE_INTEGER,
  reason: "the largest tensor poolkit allocates (2^31 - 1 elements)",
});

let limit: AllocLimit = HEAP_LIMIT;

/** The limit in force. */
export function allocLimit(): AllocLimit {
  return limit;
}

/**
 * Set the limit (a backend does this when it becomes active: a wasm32 heap can address at most
 * 4 GiB); `null` restores the JS heap default. It may only lower the default, never raise it.
 */
export function setAllocLimit(next: AllocLimit | null): void {
  if (next === null) {
    limit = HEAP_LIMIT;
    return;
  }
  limit = Object.freeze({
    elements: Math.min(next.elements, HEAP_LIMIT.elements),
    bytes: Math.min(next.bytes, HEAP_LIMIT.bytes),
    reason: next.reason,
  });
}

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };

/**
 * Elements in a shape, as a float: exact below 2⁵³, and never less than the exact product above
 * (rounding is monotone), so comparing it with a limit below 2⁵³ is exact. A zero dim gives 0 even
 * when the others overflow (∞ · 0 would be NaN).
 */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (d === 0) return 0;
    n *= d;
  }
  return n;
}

/**
 * Throw unless a buffer of `shape` (or of that many elements) fits the limit; returns its element
 * count. `dtype` sets the bytes per element (unknown for `outputShape`: then 4, the smallest).
 *
 * @example checkAlloc("adaptiveAvgPool2d", [1, 1, 1e9, 1e9], "float32")
 * // PoolkitRangeError: adaptiveAvgPool2d: output of shape [1, 1, 1000000000, 1000000000] has 1e+18
 * // elements, more than 2147483647, the largest tensor poolkit allocates (2^31 - 1 elements)
 */
export function checkAlloc(op: string, shape: readonly number[] | number, dtype?: DType, what?: string): number {
  const n = typeof shape === "number" ? shape : elementCount(shape);
  // the message is built only when thrown: this runs on every allocation
  const desc = (): string => (typeof shape === "number" ? `a ${what ?? "buffer"}` : `${what ?? "output"} of shape ${show(shape)}`);
  if (!(n <= limit.elements)) {
    throw new PoolkitRangeError(op, `${desc()} has ${n} elements, more than ${limit.elements}, ${limit.reason}`);
  }
  const bytes = n * (dtype === undefined ? 4 : BYTES[dtype]);
  if (!(bytes <= limit.bytes)) {
    throw new PoolkitRangeError(op, `${desc()} needs ${bytes} bytes${dtype ? ` of ${dtype}` : ""}, more than ${limit.bytes}, ${limit.reason}`);
  }
  return n;
}

let running: string | null = null;
/** Called after each outermost op call (alloc.ts: tensors an op returns or keeps escape then). */
let opEnd: (() => void) | null = null;

/** @internal alloc.ts registers what runs when an outermost op call returns or throws. */
export function onOpEnd(f: () => void): void {
  opEnd = f;
}

/** @internal Whether an op is running. */
export function inOp(): boolean {
  return running !== null;
}

/**
 * Run `fn` as op `op`: allocations inside it that exceed the limit (or that the engine refuses)
 * throw errors naming `op`. Nested ops keep the outermost name — the one the user called.
 */
export function runAs<T>(op: string, fn: () => T): T {
  if (running !== null) return fn();
  running = op;
  try {
    return fn();
  } finally {
    running = null;
    opEnd?.();
  }
}

/** The op that is running (for the allocator's messages), or "allocate" outside any op. */
export function runningOp(): string {
  return running ?? "allocate";
}
