/**
 * Helpers for comparing the WebAssembly kernels (SIMD and scalar builds) with the TypeScript
 * reference kernels through the ops: run an op's vjp under a backend with inputs made under another
 * (so both the pointer path and the copy path are exercised), copy out outputs and gradients, and
 * compare them bit for bit or within a stated bound.
 */
import { expect } from "vitest";
import { setBackend, type BackendName } from "../../src/backends/index.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import type { TypedArray } from "../../src/tensor/dtype.js";
import { Generator } from "../../src/tensor/random.js";
import { Tensor, tensor } from "../../src/tensor/tensor.js";

export const WASM: BackendName[] = ["wasm-simd", "wasm"];

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
/** Whether this is the "detach" project: the backends run on unshared memory there, so one thread (test/backends/setup.ts). */
export const DETACH = env.POOLKIT_TEST_STORAGE === "detach";

/** Parts the worker pool's workers have run so far (0 without a pool). */
export function workerParts(): number {
  return activeWasm()?.pool?.stats.workerParts ?? 0;
}

export interface Input {
  data: Float32Array | Int32Array;
  shape: number[];
}

export interface Run {
  outputs: TypedArray[];
  grads: TypedArray[];
}

type Vjp = { output: unknown; backward: (dy: Tensor) => (Tensor | null)[] };

/**
 * Run `call(inputs)` (an op's vjp) on backend `b`, its inputs made on `inputsOn` and its upstream
 * gradient `dy(n)` too; returns copies of every output and every non-null gradient.
 * `backward: false` skips the backward pass.
 */
export function runOn(b: BackendName, inputsOn: BackendName, call: (xs: Tensor[]) => Vjp, inputs: Input[], dy: ((n: number) => Float32Array) | null): Run {
  setBackend(inputsOn);
  const xs = inputs.map((i) => tensor(i.data, i.shape, i.data instanceof Int32Array ? "int32" : "float32"));
  setBackend(b);
  const r = call(xs);
  const outs = r.output instanceof Tensor ? [r.output] : Object.values(r.output as Record<string, Tensor>);
  const outputs = outs.map((t) => t.data.slice());
  if (dy === null) return { outputs, grads: [] };
  const primary = outs[0] as Tensor;
  setBackend(inputsOn);
  const d = tensor(dy(primary.size), primary.shape, "float32");
  setBackend(b);
  const grads = r.backward(d).filter((g): g is Tensor => g !== null);
  return { outputs, grads: grads.map((t) => t.data.slice()) };
}

/** The first element where `a` and `b` differ in bits (any NaN equals any NaN: computed NaNs' payloads may differ), or null. */
export function firstBitDifference(a: TypedArray, b: TypedArray): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const per = ua.length / a.length;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    for (let j = 0; j < per; j++) {
      if (ua[i * per + j] !== ub[i * per + j]) return `element ${i}: ${a[i]} vs ${b[i]}`;
    }
  }
  return null;
}

/**
 * The first element where `got` and `ref` differ by more than `tol(i)`; non-finite values must match
 * exactly (NaN where the reference has NaN, the same infinity), or null.
 */
export function firstFarDifference(got: TypedArray, ref: TypedArray, tol: (i: number) => number): string | null {
  if (got.length !== ref.length) return `length ${got.length} vs ${ref.length}`;
  for (let i = 0; i < got.length; i++) {
    const a = got[i] as number;
    const r = ref[i] as number;
    if (!Number.isFinite(a) || !Number.isFinite(r)) {
      if (!(Object.is(a, r) || (Number.isNaN(a) && Number.isNaN(r)))) return `element ${i}: ${a} vs reference ${r}`;
      continue;
    }
    const t = tol(i);
    if (!(Math.abs(a - r) <= t)) return `element ${i}: ${a} vs reference ${r} (|Δ| = ${Math.abs(a - r)} > ${t})`;
  }
  return null;
}

export function expectBits(label: string, got: Run, ref: Run): void {
  expect(got.outputs.length, label).toBe(ref.outputs.length);
  expect(got.grads.length, label).toBe(ref.grads.length);
  ref.outputs.forEach((o, i) => expect(firstBitDifference(got.outputs[i] as TypedArray, o), `${label}: output ${i}`).toBeNull());
  ref.grads.forEach((g, i) => expect(firstBitDifference(got.grads[i] as TypedArray, g), `${label}: grad ${i}`).toBeNull());
}

/** u = 2^−24, the unit roundoff of float32. */
export const U32 = 2 ** -24;

/** Values with ties (small integers), NaN, ±∞ and −0 sprinkled in (`special`), or plain normals. */
export function values(g: Generator, n: number, special = true, scale = 3): Float32Array {
  const kind = g.uniform();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = g.uniform();
    if (kind < 0.3) out[i] = Math.floor(g.uniform() * 4) - 2;
    else out[i] = g.normal() * scale;
    if (special && kind > 0.5) {
      if (u < 0.03) out[i] = NaN;
      else if (u < 0.06) out[i] = -Infinity;
      else if (u < 0.08) out[i] = Infinity;
      else if (u < 0.1) out[i] = -0;
    }
  }
  return out;
}

/** Largest finite |v| (0 for none). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i] as number);
    if (Number.isFinite(v) && v > m) m = v;
  }
  return m;
}

export const int = (g: Generator, lo: number, hi: number): number => lo + Math.floor(g.uniform() * (hi - lo + 1));

/** γ(m) = m·u/(1 − m·u), u = 2⁻²⁴ (Higham, Accuracy and Stability of Numerical Algorithms, §3.1). */
export function gamma32(m: number): number {
  return (m * U32) / (1 - m * U32);
}

/**
 * Gradients that pass through `avgWindows.backward` on their way: the wasm kernel sums the windows
 * covering an element in its own order (separable sums over transposed windows, assembly/avg.ts), so
 * they may differ from the reference's scatter by γ(3M + 3)·|b| per element, M the most windows
 * covering one element and b the reference gradient for |dy| (derived in
 * test/backends/wasm-kernels.test.ts). Two more roundings are allowed: adding into a gradient that
 * does not start at 0 (mixed pooling's max part) and one product after it (LP's p·|x|^(p−1)). `abs` is
 * the reference run on |x| and |dy| (its gradient bounds Σ of the terms' magnitudes), `extra(i, j)` a
 * further allowance. Non-finite values must match exactly.
 */
export function expectAvgGradsWithin(label: string, got: Run, ref: Run, abs: Run, m: number, extra: (i: number, j: number) => number = () => 0): void {
  expect(got.grads.length, label).toBe(ref.grads.length);
  const g = gamma32(3 * m + 5);
  ref.grads.forEach((r, i) => {
    const b = abs.grads[i] as TypedArray;
    const tol = (j: number): number => {
      const bj = Math.abs(b[j] as number);
      return (Number.isFinite(bj) ? g * bj : Infinity) + extra(i, j);
    };
    expect(firstFarDifference(got.grads[i] as TypedArray, r, tol), `${label}: grad ${i}`).toBeNull();
  });
}

// the test tsconfig has no DOM/WebAssembly lib: the few constructors used, typed here
const WA = (globalThis as unknown as {
  WebAssembly: {
    Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
    Module: new (b: Uint8Array) => object;
    Instance: new (m: object, i: object) => { exports: Record<string, unknown> };
  };
}).WebAssembly;

/**
 * Apply an elementwise test hook export (`expArray`, `logArray`: `f(x, y, n)` writes y[i] = f(x[i]))
 * of the module built as base64 `b64`, instantiated alone on a fresh memory, to `xs`; returns a copy of y.
 */
export function runArrayHook(b64: string, name: string, xs: Float32Array): Float32Array {
  const memory = new WA.Memory({ initial: 2 + Math.ceil((8 * xs.length) / 65536) });
  const inst = new WA.Instance(new WA.Module(new Uint8Array(Buffer.from(b64, "base64"))), { env: { memory } });
  const hook = inst.exports[name] as (x: number, y: number, n: number) => void;
  const base = 65536;
  new Float32Array(memory.buffer, base, xs.length).set(xs);
  hook(base, base + 4 * xs.length, xs.length);
  return new Float32Array(memory.buffer, base + 4 * xs.length, xs.length).slice();
}
