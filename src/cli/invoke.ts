/**
 * Calling a registered method generically: pick its op, merge options over its `defaults`, build its
 * extra tensor inputs with `exampleInputs`, and read the primary output. Shared by the CLI (demo,
 * run, info), the playground and the benchmarks, so all of them enumerate the registry the same way.
 *
 * No `node:*` import here: the playground bundles this file for the browser.
 */
import { exampleInputs, type AnyOp, type PoolMethod } from "../registry.js";
import { Generator, manualSeed } from "../tensor/random.js";
import { Tensor, fromArray } from "../tensor/tensor.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatDType } from "../tensor/dtype.js";
import { show } from "../errors.js";
import type { Grads } from "../op.js";

/** The registry as the CLI sees it; tests can hand in their own. */
export interface Registry {
  list(): readonly PoolMethod[];
  get(name: string): PoolMethod;
}

/** The spatial rank a method is shown with: 2-d where it has one, else its first rank. */
export function pickRank(method: PoolMethod, wanted?: 1 | 2 | 3): 1 | 2 | 3 {
  if (wanted !== undefined) {
    if (!method.dims.includes(wanted)) {
      throw new RangeError(`${method.name} has no ${wanted}-d op; it supports ${method.dims.map((d) => `${d}-d`).join(", ")}`);
    }
    return wanted;
  }
  if (method.dims.includes(2)) return 2;
  const first = method.dims[0];
  if (first === undefined) throw new RangeError(`${method.name} lists no spatial ranks (dims is empty)`);
  return first;
}

/** The method's op for a spatial rank; a clear error when it has none. */
export function opFor(method: PoolMethod, rank: 1 | 2 | 3): AnyOp {
  const op = method.ops[rank];
  if (!op) throw new RangeError(`${method.name} has no ${rank}-d op (exports: ${show(Object.values(method.exports))})`);
  return op;
}

/**
 * `defaults` overridden by `overrides`; an override of `undefined` removes the default. Keys are
 * defined as own properties (never assigned), so a key such as `__proto__` typed on a command line
 * stays an option the op rejects as unknown instead of silently replacing the object's prototype.
 */
export function mergeOptions(method: PoolMethod, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...method.defaults };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete merged[k];
    else Object.defineProperty(merged, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return merged;
}

/**
 * Parse an option value typed on a command line or in a form field: JSON (`2`, `[2, 3]`, `true`,
 * `"max"`), a comma list of numbers (`2,3`), or else the bare string (`logm`). An empty string means
 * "no value" (`undefined`), which removes a default.
 */
export function parseOptionValue(text: string): unknown {
  const s = text.trim();
  if (s === "" || s === "undefined") return undefined;
  if (/^-?\d+(\.\d+)?(\s*,\s*-?\d+(\.\d+)?)+$/.test(s)) return s.split(",").map(Number);
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}

/** The positional arguments `(x, ...extraInputs, options)` with extra inputs drawn from `Generator(seed)`. */
export function buildArgs(method: PoolMethod, x: Tensor, options: Record<string, unknown>, seed: number): unknown[] {
  const extras = exampleInputs(method, x, new Generator(seed), options);
  return [x, ...extras, options];
}

/**
 * Run a method once on `x` (rank `rank` op): the global generator is reset to `seed` (random
 * methods draw from it) and the extra inputs come from `Generator(seed)`, so a seed fixes everything.
 */
export function runMethod(method: PoolMethod, x: Tensor, options: Record<string, unknown>, seed: number, rank: 1 | 2 | 3): { op: AnyOp; output: Tensor } {
  const op = opFor(method, rank);
  const args = buildArgs(method, x, options, seed);
  manualSeed(seed);
  return { op, output: primaryOutput(op(...args)) };
}

/** {@link runMethod} through `op.vjp`: the output plus its `backward(dy)` (one gradient per tensor input). */
export function vjpMethod(
  method: PoolMethod,
  x: Tensor,
  options: Record<string, unknown>,
  seed: number,
  rank: 1 | 2 | 3,
): { op: AnyOp; output: Tensor; backward(dy: Tensor): Grads } {
  const op = opFor(method, rank);
  const args = buildArgs(method, x, options, seed);
  manualSeed(seed);
  const { output, backward } = op.vjp(...args);
  return { op, output: primaryOutput(output), backward };
}

/** The message of an Error, or the thrown value as text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The tensor an op returned, or its `output` for `{ output, indices }` results. */
export function primaryOutput(out: unknown): Tensor {
  if (out instanceof Tensor) return out;
  if (out !== null && typeof out === "object" && (out as { output?: unknown }).output instanceof Tensor) {
    return (out as { output: Tensor }).output;
  }
  throw new TypeError(`expected the op to return a Tensor or { output: Tensor }, got ${show(out)}`);
}

/** A batched sample shape for a spatial rank: [2, 3, 16], [2, 3, 16, 16] or [2, 3, 8, 8, 8]. */
export function sampleShape(rank: 1 | 2 | 3, n = 2, c = 3): number[] {
  return rank === 1 ? [n, c, 16] : rank === 2 ? [n, c, 16, 16] : [n, c, 8, 8, 8];
}

/** Uniform [0, 1) values from `Generator(seed)`: distinct with probability ~1, so no ties in windows. */
export function sampleTensor(shape: readonly number[], dtype: FloatDType, seed: number): Tensor {
  const g = new Generator(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = allocArray(dtype, size);
  for (let i = 0; i < size; i++) data[i] = g.uniform();
  return fromArray(data, shape);
}

/** Normal(0, 1) values of a shape, for upstream gradients and perturbation directions. */
export function normalTensor(shape: readonly number[], dtype: FloatDType, gen: Generator): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = allocArray(dtype, size);
  for (let i = 0; i < size; i++) data[i] = gen.normal();
  return fromArray(data, shape);
}

/** `a + s·b` elementwise (same shape and dtype as `a`). */
export function axpy(a: Tensor, s: number, b: Tensor): Tensor {
  const out = allocArray(a.dtype, a.size);
  const ad = a.data;
  const bd = b.data;
  for (let i = 0; i < out.length; i++) out[i] = (ad[i] as number) + s * (bd[i] as number);
  return fromArray(out, a.shape);
}

/** Σ a·b over all elements (float64 accumulation). */
export function dot(a: Tensor, b: Tensor): number {
  const ad = a.data;
  const bd = b.data;
  let s = 0;
  for (let i = 0; i < ad.length; i++) s += (ad[i] as number) * (bd[i] as number);
  return s;
}

/** True when no element is NaN or ±Infinity. */
export function allFinite(t: Tensor): boolean {
  const d = t.data;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i] as number)) return false;
  return true;
}

/** Compact one-line rendering of an options object: `{kernelSize: 2, stride: [1, 2]}`. */
export function showOptions(options: Record<string, unknown>): string {
  const parts = Object.entries(options).map(([k, v]) => `${k}: ${show(v)}`);
  return `{${parts.join(", ")}}`;
}
