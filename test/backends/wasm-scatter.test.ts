/**
 * The remaining WebAssembly kernels (assembly/scatter.ts; SIMD and scalar builds) against the
 * TypeScript reference kernels, bit for bit (values, indices, gradients; NaN, ties, ±∞, −0): max-unpool
 * forward/backward, RoIPool forward/backward, stochastic pooling (evaluation) forward/backward, mixed
 * pooling's mix, fractional max pooling's forward — on the fixture cases and on random shapes with
 * sizes 1–113 (odd sizes and 1×1 included), inputs in WebAssembly memory and in the JS heap.
 *
 * Mixed pooling's outputs are the exception: y = λ·max + (1 − λ)·avg with λ ∈ {0, ½, 1}, and the wasm
 * average sums in float32 (test/backends/wasm-kernels.test.ts derives its bound γ(K+4)·|a| + 2⁻²³·|avg|,
 * K the window's tap count, a the reference's average of |x|, γ(m) = m·2⁻²⁴/(1 − m·2⁻²⁴)). Scaling by
 * λ ≤ 1 only shrinks that, |avg| ≤ a, and the mix's own rounding can differ by one rounding per side,
 * so mixed outputs are held to γ(K+6)·a + 2⁻²²·|y|; its gradients (max indices, λ, the average's
 * backward) stay bit-identical.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, type BackendName } from "../../src/backends/index.js";
import { kernel } from "../../src/kernels/registry.js";
import * as pk from "../../src/index.js";
import { mixForward } from "../../src/kernels/mix.js";
import { roiPoolForward } from "../../src/kernels/region.js";
import { stochasticEvalForward } from "../../src/kernels/stochastic.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { decodeNumbers, loadFixture, type TensorJSON } from "../helpers/fixtures.js";
import { expectAvgGradsWithin, expectBits, firstFarDifference, int, runOn, U32, values, WASM, type Input } from "../helpers/wasm.js";
import type { TypedArray } from "../../src/tensor/dtype.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Vjp = (...a: any[]) => { output: unknown; backward: (dy: Tensor) => (Tensor | null)[] };
const vjp = (name: string): Vjp => (pk as unknown as Record<string, { vjp: Vjp }>)[name]!.vjp;
const f32 = (t: TensorJSON): Float32Array => Float32Array.from(decodeNumbers(t.data));
const i32 = (t: TensorJSON): Int32Array => Int32Array.from(decodeNumbers(t.data));
const dyOf = (m: number): Float32Array => Float32Array.from({ length: m }, (_, i) => (((i * 7919) % 13) - 6.5) / 4);

/**
 * Mixed pooling against the reference: outputs within the bound of the header (the average's float32
 * sums), gradients bit for bit.
 */
function mixedClose(label: string, b: BackendName, inputsOn: BackendName, call: (t: Tensor[]) => ReturnType<Vjp>, x: Input, opts: Record<string, unknown>): void {
  const got = runOn(b, inputsOn, call, [x], dyOf);
  const ref = runOn("js", "js", call, [x], dyOf);
  const geo = { kernelSize: opts.kernelSize, stride: opts.stride, padding: opts.padding ?? 0, ceilMode: opts.ceilMode ?? false, countIncludePad: opts.countIncludePad ?? true };
  const abs = runOn("js", "js", (t) => vjp("avgPool2d")(t[0], geo), [{ data: (x.data as Float32Array).map((v) => Math.abs(v)), shape: x.shape }], null).outputs[0] as TypedArray;
  const ks = opts.kernelSize as number | number[];
  const K = Array.isArray(ks) ? (ks[0] as number) * (ks[1] as number) : ks * ks;
  const g = ((K + 6) * U32) / (1 - (K + 6) * U32);
  const y = ref.outputs[0] as TypedArray;
  expect(firstFarDifference(got.outputs[0] as TypedArray, y, (j) => g * Math.abs(abs[j] as number) + 2 ** -22 * Math.abs(y[j] as number)), `${label} on ${b}: output`).toBeNull();
  expect(got.grads.length, label).toBe(ref.grads.length);
  // the average part's backward is summed in the wasm kernel's own order: within its bound, not bit for bit
  const absDy = (m: number): Float32Array => dyOf(m).map((v) => Math.abs(v));
  expectAvgGradsWithin(`${label} on ${b}`, got, ref, runOn("js", "js", call, [x], absDy), K);
}

function same(label: string, b: BackendName, inputsOn: BackendName, call: (t: Tensor[]) => ReturnType<Vjp>, inputs: Input[], dy: (n: number) => Float32Array = dyOf): void {
  expectBits(`${label} on ${b}`, runOn(b, inputsOn, call, inputs, dy), runOn("js", "js", call, inputs, dy));
}

describe("the wasm backends register the remaining kernels for float32", () => {
  it.each(WASM)("%s", (b) => {
    setBackend(b);
    expect(kernel("roiPool.forward", "float32", roiPoolForward)).not.toBe(roiPoolForward);
    expect(kernel("stochasticPool.forwardEval", "float32", stochasticEvalForward)).not.toBe(stochasticEvalForward);
    expect(kernel("mix.forward", "float32", mixForward)).not.toBe(mixForward);
    expect(kernel("mix.forward", "float64", mixForward)).toBe(mixForward);
  });
});

describe("fixture cases: wasm equals the TypeScript kernels bit for bit", () => {
  for (const b of WASM) {
    it(`pytorch_sliding_unpool.json on ${b}`, () => {
      const { cases } = loadFixture<{ op: string; opts: object; x: TensorJSON; indices: TensorJSON }>("pytorch_sliding_unpool.json");
      for (const c of cases) {
        same(`${c.op} ${JSON.stringify(c.opts)}`, b, b, (t) => vjp(c.op)(t[0], t[1], c.opts), [{ data: f32(c.x), shape: c.x.shape }, { data: i32(c.indices), shape: c.indices.shape }]);
      }
      expect(cases.length).toBeGreaterThan(5);
    });
    it(`downstream_roi_pool.json on ${b}`, () => {
      const { cases } = loadFixture<{ outputSize: number[]; spatialScale: number; x: TensorJSON; boxes: TensorJSON }>("downstream_roi_pool.json");
      for (const c of cases) {
        const opts = { outputSize: c.outputSize, spatialScale: c.spatialScale };
        same(`roiPool ${JSON.stringify(opts)}`, b, b, (t) => vjp("roiPool")(t[0], t[1], opts), [{ data: f32(c.x), shape: c.x.shape }, { data: f32(c.boxes), shape: c.boxes.shape }]);
      }
      expect(cases.length).toBeGreaterThan(5);
    });
    it(`novel_stochastic.json (evaluation) and novel_mixed.json on ${b}`, () => {
      const st = loadFixture<{ options: Record<string, unknown>; x: TensorJSON }>("novel_stochastic.json").cases;
      for (const c of st) {
        const opts = { ...c.options, training: false };
        same(`stochasticPool2d ${JSON.stringify(opts)}`, b, b, (t) => vjp("stochasticPool2d")(t[0], opts), [{ data: f32(c.x), shape: c.x.shape }]);
      }
      const mx = loadFixture<{ options: Record<string, unknown>; lambdas: TensorJSON; x: TensorJSON }>("novel_mixed.json").cases;
      for (const c of mx) {
        const lam = c.options.training === false ? undefined : tensor(Float32Array.from(decodeNumbers(c.lambdas.data)), c.lambdas.shape, "float32");
        const call = (t: Tensor[]) => {
          const l = lam === undefined ? undefined : tensor(lam.data.slice(), lam.shape, lam.dtype);
          return vjp("mixedPool2d")(t[0], l === undefined ? c.options : { ...c.options, lambdas: l });
        };
        mixedClose(`mixedPool2d ${JSON.stringify(c.options)}`, b, b, call, { data: f32(c.x), shape: c.x.shape }, c.options);
      }
      expect(st.length + mx.length).toBeGreaterThan(10);
    });
    it(`pytorch_adaptive_fractional.json on ${b}`, () => {
      const { cases } = loadFixture<{ rank: number; kernelSize: number; outputSize: unknown; outputRatio: unknown; x: TensorJSON; samples: TensorJSON }>("pytorch_adaptive_fractional.json");
      let n = 0;
      for (const c of cases) {
        if (c.samples === undefined || c.x === undefined) continue;
        const opts = (s: Tensor) => ({ kernelSize: c.kernelSize, ...(c.outputSize != null ? { outputSize: c.outputSize } : { outputRatio: c.outputRatio }), samples: s });
        const call = (t: Tensor[]) => vjp(`fractionalMaxPool${c.rank}dWithIndices`)(t[0], opts(t[1] as Tensor));
        same(`fractionalMaxPool${c.rank}d ${c.kernelSize}`, b, b, call, [{ data: f32(c.x), shape: c.x.shape }, { data: f32(c.samples), shape: c.samples.shape }]);
        n++;
      }
      expect(n).toBeGreaterThan(20);
    });
  }
});

describe("random shapes 1–113 (NaN, ±∞, −0, ties): wasm equals the TypeScript kernels bit for bit", () => {
  for (const b of WASM) {
    for (const inputsOn of [b, "js"] as const) {
      it(`${b}, inputs in ${inputsOn === "js" ? "the JS heap (copied in)" : "WebAssembly memory"}`, () => {
        const g = new Generator(inputsOn === "js" ? 61 : 63);
        for (let t = 0; t < 48; t++) {
          const h = int(g, 1, t % 2 ? 113 : 12);
          const w = int(g, 1, t % 2 ? 12 : 113);
          const shape = [int(g, 1, 2), int(g, 1, 3), h, w];
          const size = shape.reduce((a, s) => a * s, 1);
          const xs = values(g, size, t % 3 !== 0);
          const k = [int(g, 1, Math.min(h, 4)), int(g, 1, Math.min(w, 4))];
          const stride = k.map((kk) => int(g, 1, kk));
          switch (t % 5) {
            case 0: {
              // unpool the output of a max pool (indices from the reference)
              setBackend("js");
              const opts = { kernelSize: k, stride };
              const r = pk.maxPool2dWithIndices(tensor(xs, shape, "float32"), opts);
              const y = r.output.data.slice() as Float32Array;
              const idx = r.indices.data.slice() as Int32Array;
              same(`maxUnpool2d [${shape}] ${JSON.stringify(opts)}`, b, inputsOn, (ts) => vjp("maxUnpool2d")(ts[0], ts[1], { ...opts, outputSize: [h, w] }), [{ data: y, shape: r.output.shape as number[] }, { data: idx, shape: r.indices.shape as number[] }]);
              break;
            }
            case 1: {
              const kk = int(g, 0, 10);
              const boxes = new Float32Array(5 * kk);
              const scale = [1, 0.5][int(g, 0, 1)] as number;
              for (let r = 0; r < kk; r++) {
                const x1 = (g.uniform() * (w + 4) - 2) / scale;
                const y1 = (g.uniform() * (h + 4) - 2) / scale;
                boxes.set([int(g, 0, (shape[0] as number) - 1), x1, y1, x1 + (g.uniform() * w) / scale - (g.uniform() < 0.1 ? w : 0), y1 + (g.uniform() * h) / scale], 5 * r);
              }
              const opts = { outputSize: [int(g, 1, 7), int(g, 1, 7)], spatialScale: scale };
              same(`roiPool [${shape}] ${kk} boxes ${JSON.stringify(opts)}`, b, inputsOn, (ts) => vjp("roiPool")(ts[0], ts[1], opts), [{ data: xs, shape }, { data: boxes, shape: [kk, 5] }]);
              break;
            }
            case 2: {
              // evaluation mode (finite x only, the op's contract): non-negative inputs with zeros, or signed ones (relu'd by the op)
              const fin = values(g, size, false);
              const pos = t % 4 === 0 ? fin : fin.map((v) => Math.abs(v) * (g.uniform() < 0.2 ? 0 : 1));
              const opts = { kernelSize: k, stride, training: false };
              same(`stochasticPool2d [${shape}] ${JSON.stringify(opts)}`, b, inputsOn, (ts) => vjp("stochasticPool2d")(ts[0], opts), [{ data: pos, shape }]);
              break;
            }
            case 3: {
              const opts = { kernelSize: k, stride, training: g.uniform() < 0.5, seed: t, granularity: (["channel", "layer"] as const)[int(g, 0, 1)] };
              mixedClose(`mixedPool2d [${shape}] ${JSON.stringify(opts)}`, b, inputsOn, (ts) => vjp("mixedPool2d")(ts[0], opts), { data: xs, shape }, opts);
              break;
            }
            default: {
              const kernelSize = int(g, 1, Math.max(1, Math.min(h, w, 3)));
              const outputSize = [int(g, 1, Math.max(1, h - kernelSize + 1)), int(g, 1, Math.max(1, w - kernelSize + 1))];
              const opts = { kernelSize, outputSize, seed: t };
              same(`fractionalMaxPool2dWithIndices [${shape}] ${JSON.stringify(opts)}`, b, inputsOn, (ts) => vjp("fractionalMaxPool2dWithIndices")(ts[0], opts), [{ data: xs, shape }]);
            }
          }
        }
      });
    }
  }
});
