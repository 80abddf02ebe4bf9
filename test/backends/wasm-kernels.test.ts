/**
 * The WebAssembly kernels (SIMD and scalar builds) against the TypeScript reference kernels: max
 * pooling values and indices bit-identical (NaN, ties, ±∞, −0, windows that miss the input), average
 * pooling bit-identical too (both sum in float64 in scan order and round once), and both backward
 * passes bit-identical — on the PyTorch fixture cases and on random shapes with sizes 1–113 (odd
 * sizes and 1×1 included), 1-d/2-d/3-d, random kernel/stride/padding/dilation/ceil/divisor options,
 * inputs in WebAssembly memory (pointer path) and in the JS heap (copy path).
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

/** Run op.vjp on backend `b` (inputs made on `inputsOn`), returning copies of outputs and gradients. */
function run(b: BackendName, inputsOn: BackendName, name: string, xs: Float32Array, shape: number[], opts: object, dyValues: (n: number) => Float32Array): Run {
  setBackend(inputsOn);
  const x = tensor(xs, shape, "float32");
  setBackend(b);
  const r = op(name).vjp(x, opts);
  const outs = r.output instanceof Tensor ? [r.output] : Object.values(r.output as Record<string, Tensor>);
  const primary = outs[0] as Tensor;
  setBackend(inputsOn);
  const dy = tensor(dyValues(primary.size), primary.shape, "float32");
  setBackend(b);
  const grads = r.backward(dy).filter((g): g is Tensor => g !== null);
  return { outputs: outs.map((t) => t.data.slice()), grads: grads.map((t) => t.data.slice()) };
}

function compare(label: string, name: string, ref: Run, got: Run): void {
  const sum = !/max/i.test(name);
  ref.outputs.forEach((o, i) => expect(firstBitDifference(got.outputs[i] as TypedArray, o, sum), `${label}: output ${i}`).toBeNull());
  ref.grads.forEach((g, i) => expect(firstBitDifference(got.grads[i] as TypedArray, g, true), `${label}: grad ${i}`).toBeNull());
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

describe("fixture cases (PyTorch): wasm equals the TypeScript kernels bit for bit", () => {
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
          compare(`${c.op} ${JSON.stringify(c.opts)} [${c.x.shape}] ${b}`, name, ref, run(b, b, name, xs, c.x.shape, c.opts, dyv));
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

describe("random shapes 1–113: wasm equals the TypeScript kernels bit for bit (values, indices, gradients)", () => {
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
          compare(`${c.name} [${c.shape}] ${JSON.stringify(c.opts)} on ${b}`, c.name, ref, run(b, inputsOn, c.name, xs, c.shape, c.opts, dyv));
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
            compare(`${name} [2,${h},${w}] ${JSON.stringify(opts)} ${b}`, name, ref, run(b, b, name, xs, [2, h, w], opts, dyv));
          }
        }
      }
    }
  });
});
