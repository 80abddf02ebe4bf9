/**
 * The WebAssembly kernels (SIMD and scalar builds) against the TypeScript reference kernels, on the
 * PyTorch fixture cases and on random shapes with sizes 1–113 (odd sizes and 1×1 included),
 * 1-d/2-d/3-d, random kernel/stride/padding/dilation/ceil/divisor options, inputs in WebAssembly
 * memory (pointer path) and in the JS heap (copy path):
 *
 * - max pooling: values and indices bit-identical (NaN, ties, ±∞, −0, windows that miss the input),
 *   including tie-heavy inputs drawn from {0, 1} and {−0, +0} and inputs with ±∞ and −0 but no NaN
 *   (which stay on the SIMD fast path instead of its exact NaN re-run); gradients bit-identical.
 * - average pooling: the wasm kernels sum in float32 (the reference in float64, in scan order), so
 *   the outputs agree within float32 accumulation error. Bound, for an output y = S/d over a window
 *   of n ≤ K taps (K = the largest window), u = 2⁻²⁴, γ(m) = m·u/(1 − m·u) (Higham, Accuracy and
 *   Stability of Numerical Algorithms, 2nd ed., §3.1 and §4.2):
 *     wasm: ŝ = the float32 sum in any order, |ŝ − S| ≤ γ(n−1)·Σ|x|; d̂ = fl32(d) = d(1 + δ₁);
 *           ŷ = fl32(ŝ / d̂) = ŝ/d̂ · (1 + δ₂), |δᵢ| ≤ u, so |ŷ − S/d| ≤ (γ(n−1)(1 + γ(2)) + γ(2))·Σ|x|/|d|
 *           ≤ γ(n+1)·Σ|x|/|d|;
 *     reference: a float64 sum (error ≤ n·2⁻⁵³·Σ|x|, below γ(1)·Σ|x| for these n) divided in float64
 *           and rounded once to float32, so |y_ref − S/d| ≤ γ(1)·Σ|x|/|d| + 2⁻²⁴·|y_ref|·(1 + u).
 *   Hence |ŷ − y_ref| ≤ γ(n+2)·Σ|x|/|d| + 2⁻²³·|y_ref| (γ(j) + γ(k) ≤ γ(j+k)). Σ|x|/|d| is read from
 *   a = the reference's average of |x| over the same windows: Σ|x|/|d| ≤ |a|·(1 + γ(2)), and
 *   γ(n+2)·(1 + γ(2)) ≤ γ(n+4) (Higham's Lemma 3.3), so the test allows
 *     |ŷ − y_ref| ≤ γ(K+4)·|a| + 2⁻²³·|y_ref|.
 *   NaN must match NaN and ±∞ the same infinity (no float32 overflow at these magnitudes);
 *   −0 and +0 count as equal.
 *   Gradients: dx_i = G = Σ dy_w/d_w over the m ≤ M windows w holding position i (M: maxCovers).
 *     wasm (assembly/avg.ts): the float32 sum of dy_w then one division by d̂ (constant divisor), or
 *           the float32 sum of fl32(dy_w·fl32(1/d_w)) (two roundings per term); either way, as above,
 *           |d̂x − G| ≤ γ(m+1)·Σ|dy_w/d_w| (and dx starts at 0, so adding the sum to it is exact);
 *     reference: float64 terms added into float32 dx, one rounding per addition:
 *           |dx_ref − G| ≤ γ(m+1)·Σ|dy_w/d_w|.
 *   Σ|dy_w/d_w| is read from b = the reference's gradient for |dy|: Σ|dy_w/d_w| ≤ |b|·(1 + γ(m+1)),
 *   so the test allows |d̂x − dx_ref| ≤ γ(3M+3)·|b|.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, type BackendName } from "../../src/backends/index.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { kernel } from "../../src/kernels/registry.js";
import { avgWindowsForward, maxWindowsForward } from "../../src/kernels/window.js";
import * as pk from "../../src/index.js";
import { Generator } from "../../src/tensor/random.js";
import { Tensor, tensor } from "../../src/tensor/tensor.js";
import type { TypedArray } from "../../src/tensor/dtype.js";
import { decodeNumbers, loadFixture, type TensorJSON } from "../helpers/fixtures.js";
import { firstFarDifference, gamma32 } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

type AnyOp = ((...a: unknown[]) => unknown) & { vjp: (...a: unknown[]) => { output: unknown; backward: (dy: Tensor) => (Tensor | null)[] } };
const op = (name: string): AnyOp => (pk as unknown as Record<string, AnyOp>)[name] as AnyOp;

/** Bitwise equality of two typed arrays; `nanAny`: any NaN equals any NaN (payloads of computed NaNs may differ between engines). */
function firstBitDifference(a: TypedArray, b: TypedArray, nanAny: boolean): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const per = ua.length / a.length;
  for (let i = 0; i < a.length; i++) {
    if (nanAny && Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    for (let j = 0; j < per; j++) {
      if (ua[i * per + j] !== ub[i * per + j]) return `element ${i}: ${a[i]} vs ${b[i]}`;
    }
  }
  return null;
}

interface Run {
  outputs: TypedArray[];
  grads: TypedArray[];
}

/** Run op.vjp on backend `b` (inputs made on `inputsOn`), returning copies of outputs and gradients (none when `dyValues` is null). */
function run(b: BackendName, inputsOn: BackendName, name: string, xs: Float32Array, shape: number[], opts: object, dyValues: ((n: number) => Float32Array) | null): Run {
  setBackend(inputsOn);
  const x = tensor(xs, shape, "float32");
  setBackend(b);
  const r = op(name).vjp(x, opts);
  const outs = r.output instanceof Tensor ? [r.output] : Object.values(r.output as Record<string, Tensor>);
  if (dyValues === null) return { outputs: outs.map((t) => t.data.slice()), grads: [] };
  const primary = outs[0] as Tensor;
  setBackend(inputsOn);
  const dy = tensor(dyValues(primary.size), primary.shape, "float32");
  setBackend(b);
  const grads = r.backward(dy).filter((g): g is Tensor => g !== null);
  return { outputs: outs.map((t) => t.data.slice()), grads: grads.map((t) => t.data.slice()) };
}

/**
 * Compare a backend's run with the reference run. Max-type: bits. Average: within the bound of the
 * header, from `absRef` (the reference's outputs and gradients on |x| and |dy|) and `taps` (the
 * largest window's tap count; outputs) and `covers` (the most windows holding one input position;
 * gradients).
 */
function compare(label: string, name: string, ref: Run, got: Run, avg?: { absRef: Run; taps: number; covers: number }): void {
  if (/max/i.test(name)) {
    ref.outputs.forEach((o, i) => expect(firstBitDifference(got.outputs[i] as TypedArray, o, false), `${label}: output ${i}`).toBeNull());
    ref.grads.forEach((g, i) => expect(firstBitDifference(got.grads[i] as TypedArray, g, true), `${label}: grad ${i}`).toBeNull());
    return;
  }
  if (avg === undefined) throw new Error("compare: average pooling needs the |x| reference");
  const g = gamma32(avg.taps + 4);
  ref.outputs.forEach((o, i) => {
    const abs = avg.absRef.outputs[i] as TypedArray;
    expect(firstFarDifference(got.outputs[i] as TypedArray, o, (j) => g * Math.abs(abs[j] as number) + 2 ** -23 * Math.abs(o[j] as number)), `${label}: output ${i}`).toBeNull();
  });
  const gb = gamma32(3 * avg.covers + 3);
  ref.grads.forEach((r, i) => {
    const abs = avg.absRef.grads[i] as TypedArray;
    expect(firstFarDifference(got.grads[i] as TypedArray, r, (j) => gb * Math.abs(abs[j] as number)), `${label}: grad ${i}`).toBeNull();
  });
}

/** The largest number of taps in one window: the kernel's volume (sliding) or the widest bins (adaptive: ⌈in/out⌉ + 1 per axis). */
function maxTaps(name: string, shape: number[], opts: Record<string, unknown>): number {
  const rank = Number(/(\d)d$/.exec(name)?.[1]);
  if (!(rank >= 1 && rank <= 3)) throw new Error(`maxTaps: no rank in ${name}`);
  const spatial = shape.slice(shape.length - rank);
  const per = (v: unknown, i: number): number | null => (Array.isArray(v) ? (v[i] as number | null) : (v as number | null));
  if (opts.kernelSize !== undefined) return spatial.reduce((a, s, i) => a * (per(opts.kernelSize, i) ?? s), 1);
  return spatial.reduce((a, s, i) => a * (Math.ceil(s / (per(opts.outputSize, i) ?? s)) + 1), 1); // null: that axis keeps its size
}

/**
 * The most windows holding one input position: per axis ⌈k / s⌉ (sliding; avg pooling has no
 * dilation) or ⌈out / in⌉ + 1 (adaptive bins), multiplied over the axes.
 */
function maxCovers(name: string, shape: number[], opts: Record<string, unknown>): number {
  const rank = Number(/(\d)d$/.exec(name)?.[1]);
  const spatial = shape.slice(shape.length - rank);
  const per = (v: unknown, i: number): number | null => (Array.isArray(v) ? (v[i] as number | null) : (v as number | null));
  if (opts.kernelSize !== undefined) {
    return spatial.reduce((a, _s, i) => a * Math.ceil((per(opts.kernelSize, i) as number) / (per(opts.stride ?? opts.kernelSize, i) as number)), 1);
  }
  return spatial.reduce((a, s, i) => a * (Math.ceil((per(opts.outputSize, i) ?? s) / s) + 1), 1);
}

/** The bound's inputs for an average-pooling case: the reference on |x| and |dy|, and the tap and cover counts. */
function avgBound(name: string, xs: Float32Array, shape: number[], opts: Record<string, unknown>, dyv: ((n: number) => Float32Array) | null = null): { absRef: Run; taps: number; covers: number } | undefined {
  if (/max/i.test(name)) return undefined;
  const absDy = dyv === null ? null : (m: number) => dyv(m).map((v) => Math.abs(v));
  const absRef = run("js", "js", name, xs.map((v) => Math.abs(v)), shape, opts, absDy);
  return { absRef, taps: maxTaps(name, shape, opts), covers: maxCovers(name, shape, opts) };
}

const WASM: BackendName[] = ["wasm-simd", "wasm"];

describe("the wasm backends replace the window kernels (float32 only)", () => {
  it.each(WASM)("%s: maxWindows/avgWindows dispatch to the wasm implementation; float64 keeps the reference; js restores it", (b) => {
    setBackend(b);
    expect(activeWasm()?.simd).toBe(b === "wasm-simd");
    expect(kernel("maxWindows.forward", "float32", maxWindowsForward)).not.toBe(maxWindowsForward);
    expect(kernel("avgWindows.forward", "float32", avgWindowsForward)).not.toBe(avgWindowsForward);
    expect(kernel("maxWindows.forward", "float64", maxWindowsForward)).toBe(maxWindowsForward);
    setBackend("js");
    expect(kernel("maxWindows.forward", "float32", maxWindowsForward)).toBe(maxWindowsForward);
  });
});

describe("fixture cases (PyTorch): wasm equals the TypeScript kernels (max bit for bit, average within float32 accumulation error)", () => {
  for (const file of ["pytorch_sliding_max.json", "pytorch_sliding_avg.json"]) {
    const { cases } = loadFixture<{ op: string; opts: object; x: TensorJSON }>(file);
    for (const b of WASM) {
      it(`${file} on ${b}`, () => {
        let n = 0;
        for (const c of cases) {
          const name = c.op.startsWith("maxPool") ? `${c.op}WithIndices` : c.op;
          const xs = Float32Array.from(decodeNumbers(c.x.data));
          const dyv = (m: number) => Float32Array.from({ length: m }, (_, i) => ((i * 7919) % 13) - 6.5);
          const ref = run("js", "js", name, xs, c.x.shape, c.opts, dyv);
          compare(`${c.op} ${JSON.stringify(c.opts)} [${c.x.shape}] ${b}`, name, ref, run(b, b, name, xs, c.x.shape, c.opts, dyv), avgBound(name, xs, c.x.shape, c.opts as Record<string, unknown>, dyv));
          n++;
        }
        expect(n).toBeGreaterThan(5);
      });
    }
  }
});

/** Values with ties (small integers), NaN, ±∞ and −0 sprinkled in, or plain normals. */
function values(g: Generator, n: number): Float32Array {
  const kind = g.uniform();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = g.uniform();
    if (kind < 0.3) out[i] = Math.floor(g.uniform() * 4) - 2; // many ties
    else out[i] = g.normal() * 3;
    if (kind > 0.5) {
      if (u < 0.03) out[i] = NaN;
      else if (u < 0.06) out[i] = -Infinity;
      else if (u < 0.08) out[i] = Infinity;
      else if (u < 0.1) out[i] = -0;
    }
  }
  return out;
}

interface RandomCase {
  name: string;
  shape: number[];
  opts: Record<string, unknown>;
}

function randomCase(g: Generator): RandomCase {
  const int = (lo: number, hi: number) => lo + Math.floor(g.uniform() * (hi - lo + 1));
  const rank = int(1, 3);
  // one or two large dims (up to 113), the rest small, keeping the element count moderate
  const spatial = Array.from({ length: rank }, (_, i) => (i === rank - 1 || g.uniform() < 0.3 ? int(1, 113) : int(1, rank === 3 ? 9 : 40)));
  const shape = [int(1, 2), int(1, 3), ...spatial];
  const family = int(0, 3);
  const kernelSize = spatial.map((s) => int(1, Math.min(s, 5)));
  const stride = kernelSize.map((k) => int(1, k + 1));
  if (family === 0) {
    const dilation = g.uniform() < 0.3 ? kernelSize.map(() => int(1, 3)) : 1;
    const dil = (i: number) => (Array.isArray(dilation) ? (dilation[i] as number) : 1);
    const padding = kernelSize.map((k, i) => int(0, Math.floor(((k - 1) * dil(i) + 1) / 2)));
    return { name: `maxPool${rank}dWithIndices`, shape, opts: { kernelSize, stride, padding, dilation, ceilMode: g.uniform() < 0.4 } };
  }
  if (family === 1) {
    const padding = kernelSize.map((k) => int(0, Math.floor(k / 2)));
    const divisorOverride = g.uniform() < 0.2 ? int(-3, 7) || 1 : undefined;
    return { name: `avgPool${rank}d`, shape, opts: { kernelSize, stride, padding, ceilMode: g.uniform() < 0.4, countIncludePad: g.uniform() < 0.5, divisorOverride } };
  }
  const outputSize = spatial.map((s) => int(1, Math.min(s + 2, 12)));
  return { name: family === 2 ? `adaptiveMaxPool${rank}dWithIndices` : `adaptiveAvgPool${rank}d`, shape, opts: { outputSize } };
}

describe("random shapes 1–113: wasm equals the TypeScript kernels (max values, indices, gradients bit for bit; average within float32 accumulation error)", () => {
  for (const b of WASM) {
    for (const inputsOn of [b, "js"] as const) {
      it(`${b}, inputs in ${inputsOn === "js" ? "the JS heap (copied in)" : "WebAssembly memory"}`, () => {
        const g = new Generator(inputsOn === "js" ? 11 : 7);
        let n = 0;
        let valid = 0;
        while (valid < 60 && n < 400) {
          n++;
          const c = randomCase(g);
          const size = c.shape.reduce((a, s) => a * s, 1);
          const xs = values(g, size);
          const dyv = (m: number) => values(new Generator(m), m).map((v) => (Number.isFinite(v) ? v : 1));
          let ref: Run;
          try {
            ref = run("js", "js", c.name, xs, c.shape, c.opts, dyv);
          } catch {
            continue; // an invalid option combination (the reference rejects it)
          }
          valid++;
          compare(`${c.name} [${c.shape}] ${JSON.stringify(c.opts)} on ${b}`, c.name, ref, run(b, inputsOn, c.name, xs, c.shape, c.opts, dyv), avgBound(c.name, xs, c.shape, c.opts, dyv));
        }
        expect(valid).toBe(60);
      });
    }
  }

  it.each(WASM)("%s: 1×1 planes, one-column and 4-wide rows (the SIMD path's edges), strides 1, 2, 3", (b) => {
    const g = new Generator(5);
    for (const [h, w] of [[1, 1], [1, 4], [4, 1], [2, 5], [3, 8], [5, 9], [7, 113]] as [number, number][]) {
      for (const s of [1, 2, 3]) {
        for (const k of [1, 2, 3]) {
          if (k > h || k > w) continue;
          for (const name of ["maxPool2dWithIndices", "avgPool2d"]) {
            const opts = { kernelSize: k, stride: s, padding: Math.floor(k / 2), ceilMode: s > 1 };
            const xs = values(g, 2 * h * w);
            const dyv = (m: number) => Float32Array.from({ length: m }, (_, i) => i % 5);
            const ref = run("js", "js", name, xs, [2, h, w], opts, dyv);
            compare(`${name} [2,${h},${w}] ${JSON.stringify(opts)} ${b}`, name, ref, run(b, b, name, xs, [2, h, w], opts, dyv), avgBound(name, xs, [2, h, w], opts, dyv));
          }
        }
      }
    }
  });
});

describe("max pooling on the SIMD fast path's geometries (kernel 2 or 3, stride 1 or 2): ties and NaN-free specials, bit for bit", () => {
  // Inputs without NaN (and without both infinities, whose sum is NaN) stay on the fast path
  // (pmax tournaments); ties must still go to the first maximum in scan order, −0/+0 keep the first
  // one's sign, and all-(−∞) windows keep their first tap.
  const SETS: [string, number[]][] = [
    ["{0, 1}", [0, 1]],
    ["{−0, +0}", [-0, 0]],
    ["{−∞, −0, +0, 1}", [-Infinity, -0, 0, 1]],
    ["{+∞, −0, +0, −1}", [Infinity, -0, 0, -1]],
    ["{−∞}", [-Infinity]],
  ];
  for (const b of WASM) {
    for (const [label, set] of SETS) {
      it(`${b}: inputs drawn from ${label}`, () => {
        const g = new Generator(101 + set.length);
        const int = (lo: number, hi: number) => lo + Math.floor(g.uniform() * (hi - lo + 1));
        for (let n = 0; n < 30; n++) {
          const rank = int(1, 3);
          const spatial = Array.from({ length: rank }, (_, i) => (i === rank - 1 ? int(4, 113) : int(1, rank === 3 ? 9 : 40)));
          const shape = [int(1, 2), int(1, 3), ...spatial];
          const kernelSize = spatial.map((s) => Math.min(s, int(2, 3)));
          const stride = kernelSize.map(() => int(1, 2));
          const padding = kernelSize.map((k) => int(0, Math.floor(k / 2)));
          const opts = { kernelSize, stride, padding, ceilMode: g.uniform() < 0.4 };
          const name = `maxPool${rank}dWithIndices`;
          const xs = Float32Array.from({ length: shape.reduce((a, s) => a * s, 1) }, () => set[Math.floor(g.uniform() * set.length)] as number);
          const dyv = (m: number) => Float32Array.from({ length: m }, (_, i) => (i % 7) - 3);
          compare(`${name} [${shape}] ${JSON.stringify(opts)} ${label} on ${b}`, name, run("js", "js", name, xs, shape, opts, dyv), run(b, b, name, xs, shape, opts, dyv));
        }
      });
    }
  }
});
