/**
 * The small vocabulary of argument checks every op uses at its top. Each throws a
 * PoolkitTypeError / PoolkitRangeError whose message starts with the op name and says what was
 * expected and what was got.
 */
import { PoolkitRangeError, PoolkitTypeError, show } from "./errors.js";
import { isFloatDType, type FloatDType } from "./tensor/dtype.js";
import { Tensor } from "./tensor/tensor.js";

export function expectTensor(op: string, name: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new PoolkitTypeError(op, `${name} must be a Tensor, got ${show(x)}`);
}

export function expectFloatTensor(op: string, name: string, x: unknown): asserts x is Tensor & { dtype: FloatDType } {
  expectTensor(op, name, x);
  if (!isFloatDType(x.dtype)) throw new PoolkitTypeError(op, `${name} must be float32 or float64, got ${x.dtype}`);
}

/**
 * A plain object: `{ ... }` or `Object.create(null)` — also from another realm (an iframe's
 * `Object.prototype` is not ours, so compare its shape, not its identity). Maps, boxed numbers,
 * arrays, Tensors and class instances are not.
 */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === null || proto === Object.prototype) return true;
  return (
    Object.getPrototypeOf(proto) === null &&
    typeof (proto as { constructor?: unknown }).constructor === "function" &&
    (proto as { constructor: { name?: unknown } }).constructor.name === "Object"
  );
}

/** What a non-plain options value is, for the message: `Map`, `Number`, `Array`, `null`, `5`, `"x"`. */
export function kindOf(v: unknown): string {
  if (v === null || typeof v !== "object") return show(v);
  if (Array.isArray(v)) return "Array";
  const ctor = (v as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof ctor === "string" && ctor !== "" ? ctor : "an object with a custom prototype";
}

/**
 * Options must be a plain object (or undefined) whose keys are all known (catches `kernel_size`
 * typos). Returns a snapshot of its **own** enumerable properties on a null-prototype object: a
 * property inherited from a polluted `Object.prototype` (`Object.prototype.ceilMode = true`) is never
 * read, and a getter is read once. Ops read options only through the returned object.
 */
export function expectOptions<T extends object>(op: string, opts: unknown, known: readonly string[]): T {
  const out = Object.create(null) as Record<string, unknown>;
  if (opts === undefined) return out as T;
  if (!isPlainObject(opts)) throw new PoolkitTypeError(op, `options must be a plain object, got ${kindOf(opts)}`);
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) {
      throw new PoolkitTypeError(
        op,
        known.length === 0 ? `takes no options, got unknown option ${show(k)}` : `unknown option ${show(k)}; known options: ${known.join(", ")}`,
      );
    }
    out[k] = opts[k];
  }
  return out as T;
}

/**
 * The own enumerable properties of an internal options-like object on a null prototype: for
 * helpers that receive object literals built by ops (`{ kernelSize: o.kernelSize, stride: o.stride }`),
 * where an absent key would otherwise be looked up on a possibly polluted `Object.prototype`.
 */
export function ownProps<T extends object>(obj: T): Partial<T> {
  return Object.assign(Object.create(null) as Partial<T>, obj);
}

export interface SpatialInput {
  readonly batched: boolean;
  readonly n: number;
  readonly c: number;
  readonly spatial: readonly number[];
}

const AXIS_NAMES: Record<number, string> = { 1: "L", 2: "H, W", 3: "D, H, W" };

/** A windowed op's input: float `[N, C, ...spatial]` or unbatched `[C, ...spatial]`, non-empty spatial dims. */
export function spatialInput(op: string, name: string, x: unknown, rank: number): SpatialInput {
  expectFloatTensor(op, name, x);
  return spatialShapeInput(op, name, x.shape, rank);
}

/** A bare shape (for `outputShape`): an array of non-negative integers. */
export function expectShapeArray(op: string, shape: unknown): readonly number[] {
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== "number" || !Number.isInteger(d) || d < 0)) {
    throw new PoolkitTypeError(op, `shape must be an array of non-negative integers, got ${show(shape)}`);
  }
  return shape as readonly number[];
}

/**
 * The shape-level half of {@link spatialInput}, for `outputShape` functions that get a bare shape:
 * `[N, C, ...spatial]` (N may be 0) or unbatched `[C, ...spatial]` of the given spatial rank, with
 * non-empty channel and spatial dims. Same checks and messages as `spatialInput`.
 */
export function spatialShapeInput(op: string, name: string, shape: unknown, rank: number): SpatialInput {
  const s = expectShapeArray(op, shape);
  const axes = AXIS_NAMES[rank] ?? "...";
  if (s.length !== rank + 1 && s.length !== rank + 2) {
    throw new PoolkitRangeError(op, `${name} must have shape [N, C, ${axes}] or [C, ${axes}], got ${show(s)}`);
  }
  const batched = s.length === rank + 2;
  for (let i = batched ? 1 : 0; i < s.length; i++) {
    if (s[i] === 0) throw new PoolkitRangeError(op, `${name} must have non-empty channel and spatial dims, got shape ${show(s)}`);
  }
  return { batched, n: batched ? (s[0] as number) : 1, c: s[batched ? 1 : 0] as number, spatial: s.slice(s.length - rank) };
}

/**
 * A batched-only input: float `[N, C, H, W]` with non-empty channel and spatial dims (N may be 0).
 * `dims` names the axes in the message, e.g. `"N, D, H, W"` for covariance pooling's feature dim.
 */
export function batchedInput2d(op: string, name: string, x: unknown, dims = "N, C, H, W"): asserts x is Tensor & { dtype: FloatDType } {
  expectFloatTensor(op, name, x);
  batchedShape2d(op, name, x.shape, dims);
}

/** The shape-level twin of {@link batchedInput2d}, for `outputShape`: the same checks and messages. */
export function batchedShape2d(op: string, name: string, shape: unknown, dims = "N, C, H, W"): void {
  const s = expectShapeArray(op, shape);
  if (s.length !== 4) throw new PoolkitRangeError(op, `${name} must have shape [${dims}], got ${show(s)}`);
  if (s[1] === 0 || s[2] === 0 || s[3] === 0) {
    throw new PoolkitRangeError(op, `${name} must have non-empty channel and spatial dims, got shape ${show(s)}`);
  }
}

/** The leading dims of an output: `[N, C]` for batched input, `[C]` for unbatched. */
export function leadDims(input: SpatialInput): number[] {
  return input.batched ? [input.n, input.c] : [input.c];
}

/**
 * A size option (`kernelSize`, `stride`, ...): a number or one number per spatial dim, integer, >= min.
 * Returns one entry per dim.
 */
export function sizeOption(op: string, name: string, value: unknown, rank: number, min = 1): number[] {
  const arr = typeof value === "number" ? new Array<number>(rank).fill(value) : value;
  if (!Array.isArray(arr) || arr.length !== rank) {
    throw new PoolkitTypeError(op, `${name} must be a number or an array of ${rank} numbers, got ${show(value)}`);
  }
  for (const v of arr) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      const what = min === 0 ? "non-negative integers" : min === 1 ? "positive integers" : `integers >= ${min}`;
      throw new PoolkitRangeError(op, `${name} must be ${what}, got ${show(value)}`);
    }
  }
  return arr as number[];
}

export function boolOption(op: string, name: string, value: unknown, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (typeof value !== "boolean") throw new PoolkitTypeError(op, `${name} must be a boolean, got ${show(value)}`);
  return value;
}

export function numberOption(
  op: string,
  name: string,
  value: unknown,
  dflt: number,
  range: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean; integer?: boolean } = {},
): number {
  if (value === undefined) return dflt;
  if (typeof value !== "number" || Number.isNaN(value)) throw new PoolkitTypeError(op, `${name} must be a number, got ${show(value)}`);
  const { min, max, minExclusive, maxExclusive, integer } = range;
  const bad =
    (integer && !Number.isInteger(value)) ||
    (min !== undefined && (minExclusive ? value <= min : value < min)) ||
    (max !== undefined && (maxExclusive ? value >= max : value > max));
  if (bad) {
    const parts: string[] = [];
    if (integer) parts.push("an integer");
    if (min !== undefined) parts.push(`${minExclusive ? ">" : ">="} ${min}`);
    if (max !== undefined) parts.push(`${maxExclusive ? "<" : "<="} ${max}`);
    throw new PoolkitRangeError(op, `${name} must be ${parts.join(" and ")}, got ${show(value)}`);
  }
  return value;
}

export function enumOption<T extends string>(op: string, name: string, value: unknown, allowed: readonly T[], dflt: T): T {
  if (value === undefined) return dflt;
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new PoolkitRangeError(op, `${name} must be one of ${allowed.map((a) => show(a)).join(", ")}, got ${show(value)}`);
  }
  return value as T;
}

/** A tensor input that must have exactly `shape` (e.g. logits matching x). */
export function expectShape(op: string, name: string, t: Tensor, shape: readonly number[]): void {
  const s = t.shape;
  if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
    throw new PoolkitRangeError(op, `${name} must have shape ${show(shape)}, got ${show(s)}`);
  }
}
