/**
 * Seeded, portable randomness: the same seed gives the same numbers in Node and in browsers,
 * because everything is 32-bit integer arithmetic (`Math.imul`, `>>>`), never Math.random.
 *
 * Generator: xoshiro128** (Blackman & Vigna, 2018), state seeded by SplitMix32 from the seed.
 * Written here rather than taken from a package because it is 30 lines and its exact output
 * sequence is part of poolkit's reproducibility contract (a dependency upgrade must never change it).
 */
import { expectOptions } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { allocArray } from "./alloc.js";
import type { FloatArray, FloatDType } from "./dtype.js";
import { checkShape, fromArray, type Tensor } from "./tensor.js";

const TWO_NEG_24 = 2 ** -24;
const TWO_NEG_53 = 2 ** -53;

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Generator {
  #a = 0;
  #b = 0;
  #c = 0;
  #d = 0;

  /** @param seed any safe integer (negative allowed); its full 53 bits enter the state. */
  constructor(seed: number) {
    this.seed(seed);
  }

  seed(seed: number): void {
    if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
      throw new PoolkitRangeError("Generator", `seed must be a safe integer, got ${show(seed)}`);
    }
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    const st = { s: lo ^ Math.imul(hi, 0x27d4eb2d) };
    this.#a = splitmix32(st);
    this.#b = splitmix32(st) ^ hi;
    this.#c = splitmix32(st);
    this.#d = splitmix32(st);
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1;
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const b = this.#b;
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    this.#c ^= this.#a;
    this.#d ^= b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits (exactly representable in float64). */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) * TWO_NEG_53;
  }

  /** Uniform in [0, 1) with 24 random bits: exactly representable in float32 (never rounds up to 1). */
  uniform24(): number {
    return (this.nextUint32() >>> 8) * TWO_NEG_24;
  }

  /** Uniform in [0, 1) for the dtype: 24 bits for float32, 53 for float64. */
  uniformFor(dtype: FloatDType): number {
    return dtype === "float32" ? this.uniform24() : this.uniform();
  }

  /** Uniform integer in [0, n), n ≤ 2^32, without modulo bias (rejection sampling). */
  int(n: number): number {
    if (!(Number.isInteger(n) && n > 0 && n <= 4294967296)) {
      throw new PoolkitRangeError("Generator.int", `n must be an integer in [1, 2^32], got ${show(n)}`);
    }
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** Standard normal (Box–Muller on two 53-bit uniforms). */
  normal(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i] as number;
      p[i] = p[j] as number;
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Not 32 random bits of Math.random: a fixed default so runs are reproducible until manualSeed. */
const DEFAULT_SEED = 0x5eed;
let globalGenerator = new Generator(DEFAULT_SEED);

/** Reset the global generator that random ops use when no `seed` is given. */
export function manualSeed(seed: number): void {
  globalGenerator = new Generator(seed);
}

/** The generator an op should draw from: a fresh one for an explicit seed, else the global one. */
export function generatorFor(seed: number | undefined, op = "random"): Generator {
  if (seed === undefined) return globalGenerator;
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
    throw new PoolkitRangeError(op, `seed must be a safe integer, got ${show(seed)}`);
  }
  return new Generator(seed);
}

/** Options of {@link rand} and {@link randn}. */
export interface RandomTensorOptions {
  /** Draw from a fresh generator with this seed instead of the global one. */
  seed?: number;
  /** Default float32. */
  dtype?: FloatDType;
}

/** Validate a random tensor's shape (against the allocation limit too) and options; its storage. */
function randomStorage(op: string, shape: readonly number[], opts: unknown): { out: FloatArray; g: Generator; dtype: FloatDType } {
  const o = expectOptions<RandomTensorOptions>(op, opts, ["seed", "dtype"]);
  const dtype = o.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float64") throw new PoolkitTypeError(op, `dtype must be "float32" or "float64", got ${show(dtype)}`);
  const n = checkShape(op, shape, dtype);
  const g = generatorFor(o.seed, op);
  return { out: allocArray(dtype, n), g, dtype };
}

/** Uniform [0, 1) tensor. */
export function rand(shape: readonly number[], opts: RandomTensorOptions = {}): Tensor {
  const { out, g, dtype } = randomStorage("rand", shape, opts);
  for (let i = 0; i < out.length; i++) out[i] = g.uniformFor(dtype);
  return fromArray(out, shape);
}

/** Standard-normal tensor. */
export function randn(shape: readonly number[], opts: RandomTensorOptions = {}): Tensor {
  const { out, g } = randomStorage("randn", shape, opts);
  for (let i = 0; i < out.length; i++) out[i] = g.normal();
  return fromArray(out, shape);
}
