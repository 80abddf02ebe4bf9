/**
 * The wide-window WebAssembly kernels (assembly/adaptive.ts; SIMD and scalar builds) against the
 * TypeScript reference kernels, through adaptive max/avg pooling (1-d/2-d/3-d), global max/avg
 * pooling and max/avg pooling with wide kernels (padding, ceil mode): on the PyTorch fixture cases and
 * on random shapes with sizes 1–113 (odd sizes and 1×1 included), inputs in WebAssembly memory and in
 * the JS heap.
 *
 * Max: values, indices and gradients bit-identical (NaN, ties, ±∞, −0 included). Average: wide plans
 * take adaptive.ts's float64 sums (rows first), narrow ones (small adaptive bins) pool.ts's float32
 * sums, so the outputs are held to the float32 accumulation bound derived in
 * test/backends/wasm-kernels.test.ts: |ŷ − y_ref| ≤ γ(K+4)·|a| + 2⁻²³·|y_ref|, with K the largest
 * window's tap count, a the reference's average of |x| over the same windows and
 * γ(m) = m·2⁻²⁴/(1 − m·2⁻²⁴); average gradients (assembly/avg.ts's float32 window sums over the
 * transposed axes) to the bound derived there too: |d̂x − dx_ref| ≤ γ(3M+3)·|b|, with M the most
 * windows holding one input position and b the reference's gradient for |dy|.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, type BackendName } from "../../src/backends/index.js";
import { isWide } from "../../src/backends/wasm/adaptive.js";
import { planAdaptive } from "../../src/geometry/index.js";
import * as pk from "../../src/index.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import type { TypedArray } from "../../src/tensor/dtype.js";
import { decodeNumbers, loadFixture, type TensorJSON } from "../helpers/fixtures.js";
import { expectBits, firstFarDifference, int, runOn, U32, values, WASM, type Input, type Run } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Vjp = (...a: any[]) => { output: unknown; backward: (dy: Tensor) => (Tensor | null)[] };
const vjp = (name: string): Vjp => (pk as unknown as Record<string, { vjp: Vjp }>)[name]!.vjp;
const dyOf = (m: number): Float32Array => Float32Array.from({ length: m }, (_, i) => (((i * 7919) % 13) - 6.5) / 4);

const gamma = (m: number): number => (m * U32) / (1 - m * U32);

/** The largest number of taps in one window: all spatial positions (global), the kernel's volume (sliding) or the widest bins (adaptive: ⌈in/out⌉ + 1 per axis). */
function maxTaps(name: string, shape: number[], opts: object | undefined): number {
  if (opts === undefined) return shape.slice(2).reduce((a, s) => a * s, 1);
  const o = opts as { kernelSize?: number | number[]; outputSize?: number | number[] };
  const rank = Number(/(\d)d$/.exec(name)?.[1]);
  const spatial = shape.slice(shape.length - rank);
  const per = (v: unknown, i: number): number | null => (Array.isArray(v) ? (v[i] as number | null) : (v as number | null));
  if (o.kernelSize !== undefined) return spatial.reduce((a, s, i) => a * (per(o.kernelSize, i) ?? s), 1);
  return spatial.reduce((a, s, i) => a * (Math.ceil(s / (per(o.outputSize, i) ?? s)) + 1), 1); // null: that axis keeps its size
}

/** The most windows holding one input position: 1 (global), ⌈k / s⌉ per axis (sliding) or ⌈out / in⌉ + 1 per axis (adaptive). */
function maxCovers(name: string, shape: number[], opts: object | undefined): number {
  if (opts === undefined) return 1;
  const o = opts as { kernelSize?: number | number[]; stride?: number | number[]; outputSize?: number | number[] };
  const rank = Number(/(\d)d$/.exec(name)?.[1]);
  const spatial = shape.slice(shape.length - rank);
  const per = (v: unknown, i: number): number | null => (Array.isArray(v) ? (v[i] as number | null) : (v as number | null));
  if (o.kernelSize !== undefined) return spatial.reduce((a, _s, i) => a * Math.ceil((per(o.kernelSize, i) as number) / (per(o.stride ?? o.kernelSize, i) as number)), 1);
  return spatial.reduce((a, s, i) => a * (Math.ceil((per(o.outputSize, i) ?? s) / s) + 1), 1);
}

function expectMatch(label: string, name: string, got: Run, ref: Run, absRef: Run, taps: number, covers: number): void {
  if (/max/i.test(name)) {
    expectBits(label, got, ref);
    return;
  }
  const g = gamma(taps + 4);
  ref.outputs.forEach((o, i) => {
    const a = absRef.outputs[i] as TypedArray;
    expect(firstFarDifference(got.outputs[i] as TypedArray, o, (j) => g * Math.abs(a[j] as number) + 2 ** -23 * Math.abs(o[j] as number)), `${label}: output ${i}`).toBeNull();
  });
  const gb = gamma(3 * covers + 3);
  ref.grads.forEach((r, i) => {
    const b = absRef.grads[i] as TypedArray;
    expect(firstFarDifference(got.grads[i] as TypedArray, r, (j) => gb * Math.abs(b[j] as number)), `${label}: grad ${i}`).toBeNull();
  });
}

function check(b: BackendName, inputsOn: BackendName, name: string, xs: Float32Array, shape: number[], opts: object | undefined, dy: (n: number) => Float32Array): void {
  const call = (t: Tensor[]) => vjp(name)(t[0], opts);
  const inputs: Input[] = [{ data: xs, shape }];
  const ref = runOn("js", "js", call, inputs, dy);
  const absRef = runOn("js", "js", call, [{ data: xs.map((v) => Math.abs(v)), shape }], (m) => dy(m).map((v) => Math.abs(v)));
  expectMatch(`${name} [${shape}] ${JSON.stringify(opts)} on ${b}`, name, runOn(b, inputsOn, call, inputs, dy), ref, absRef, maxTaps(name, shape, opts), maxCovers(name, shape, opts));
}

describe("routing: wide plans take the row-wise kernels", () => {
  it("adaptive 56 → 7 and global pooling are wide; a 3×3 sliding window and dilation are not", () => {
    const x = tensor(new Float32Array(56 * 56), [1, 1, 56, 56]);
    expect(isWide(planAdaptive("t", x, 2, 7).axes)).toBe(true);
    expect(isWide(planAdaptive("t", x, 2, 1).axes)).toBe(true);
    expect(isWide(planAdaptive("t", x, 2, 28).axes)).toBe(false);
  });
});

describe("fixture cases (PyTorch): max bit for bit, average within float32 accumulation error", () => {
  for (const b of WASM) {
    it(`pytorch_adaptive.json on ${b}`, () => {
      const { cases } = loadFixture<{ kind: string; rank: number; outputSize: unknown; x: TensorJSON }>("pytorch_adaptive.json");
      let n = 0;
      for (const c of cases) {
        const name = c.kind === "max" ? `adaptiveMaxPool${c.rank}dWithIndices` : `adaptiveAvgPool${c.rank}d`;
        check(b, b, name, Float32Array.from(decodeNumbers(c.x.data)), c.x.shape, { outputSize: c.outputSize }, dyOf);
        n++;
      }
      expect(n).toBeGreaterThan(20);
    });
    it(`pytorch_sliding_global.json on ${b}`, () => {
      const { cases } = loadFixture<{ op: string; x: TensorJSON }>("pytorch_sliding_global.json");
      for (const c of cases) check(b, b, c.op, Float32Array.from(decodeNumbers(c.x.data)), c.x.shape, undefined, dyOf);
      expect(cases.length).toBeGreaterThan(5);
    });
  }
});

describe("random shapes 1–113 (NaN, ±∞, −0, ties): adaptive, global and wide sliding windows", () => {
  for (const b of WASM) {
    for (const inputsOn of [b, "js"] as const) {
      it(`${b}, inputs in ${inputsOn === "js" ? "the JS heap (copied in)" : "WebAssembly memory"}`, () => {
        const g = new Generator(inputsOn === "js" ? 41 : 43);
        let wide = 0;
        let valid = 0;
        for (let i = 0; i < 200 && valid < 72; i++) {
          const rank = int(g, 1, 3);
          const spatial = Array.from({ length: rank }, (_, j) => (j === rank - 1 || g.uniform() < 0.3 ? int(g, 1, 113) : int(g, 1, rank === 3 ? 9 : 40)));
          const shape = [int(g, 1, 2), int(g, 1, 3), ...spatial];
          const family = i % 6;
          let name: string;
          let opts: object | undefined;
          if (family === 0 || family === 1) {
            // output sizes from 1 (one window per row) to a few bins, wide and narrow
            const outputSize = spatial.map((s) => (g.uniform() < 0.3 ? 1 : int(g, 1, Math.min(s + 2, 9))));
            name = family === 0 ? `adaptiveMaxPool${rank}dWithIndices` : `adaptiveAvgPool${rank}d`;
            opts = { outputSize };
          } else if (family === 2 || family === 3) {
            name = family === 2 ? "globalMaxPool" : "globalAvgPool";
            opts = undefined;
          } else {
            // wide kernels (6–9 columns), padding up to half, ceil mode: the sliding plans the router sends here
            const kernelSize = spatial.map((s, j) => (j === rank - 1 ? Math.min(s, int(g, 6, 9)) : int(g, 1, Math.min(s, 3))));
            const stride = kernelSize.map((k) => int(g, 1, k));
            const padding = kernelSize.map((k) => int(g, 0, Math.floor(k / 2)));
            name = family === 4 ? `maxPool${rank}dWithIndices` : `avgPool${rank}d`;
            opts = family === 4 ? { kernelSize, stride, padding, ceilMode: g.uniform() < 0.4 } : { kernelSize, stride, padding, ceilMode: g.uniform() < 0.4, countIncludePad: g.uniform() < 0.5 };
          }
          const xs = values(g, shape.reduce((a, s) => a * s, 1));
          const dy = (m: number) => values(new Generator(m), m, false);
          try {
            runOn("js", "js", (t) => vjp(name)(t[0], opts), [{ data: xs, shape }], null);
          } catch {
            continue; // an invalid option combination (the reference rejects it)
          }
          valid++;
          if (/Pool\dd/.test(name) && (spatial[rank - 1] as number) >= 6) wide++;
          check(b, inputsOn, name, xs, shape, opts, dy);
        }
        expect(valid).toBe(72);
        expect(wide).toBeGreaterThan(10);
      });
    }

    it(`${b}: the benchmark shapes' geometry (56 → 7, 7×7 global), all-(−∞) and all-NaN planes, ties across rows`, () => {
      const g = new Generator(3);
      const x = values(g, 2 * 3 * 56 * 56);
      check(b, b, "adaptiveMaxPool2dWithIndices", x, [2, 3, 56, 56], { outputSize: 7 }, dyOf);
      check(b, b, "adaptiveAvgPool2d", x, [2, 3, 56, 56], { outputSize: 7 }, dyOf);
      const special = new Float32Array(4 * 49);
      special.fill(-Infinity, 0, 49);
      special.fill(NaN, 49, 98);
      for (let i = 98; i < 147; i++) special[i] = i % 3 === 0 ? 5 : -0; // ties in every row
      for (let i = 147; i < 196; i++) special[i] = i % 7 === 0 ? NaN : 1;
      for (const name of ["globalMaxPool", "globalAvgPool"]) check(b, b, name, special, [4, 1, 7, 7], undefined, dyOf);
      check(b, b, "adaptiveMaxPool2dWithIndices", special, [1, 4, 7, 7], { outputSize: [2, 1] }, dyOf);
    });
  }
});
