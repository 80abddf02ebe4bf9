/**
 * RoIPool and fractional max pooling's WebAssembly kernels (assembly/region.ts; SIMD and scalar builds)
 * against the TypeScript reference kernels, bit for bit (values, indices, gradients), on shapes the
 * other suites do not reach: RoIPool with 1–11 channels (the SIMD build takes four channels per lane
 * group, the rest one by one), boxes inside, partly or wholly outside the map, degenerate, tiny and
 * whole-map (bins of one element up to bins wider than the SIMD block), 1×1 maps; fractional max
 * pooling in 2-d and 3-d with windows up to 4 per axis. Inputs mix ties (small integers), NaN, ±∞, −0
 * and −FLT_MAX (RoIPool never selects a value ≤ −FLT_MAX), including planes made only of NaN and −∞.
 * Splits across threads are covered by test/backends/threads.test.ts.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend } from "../../src/backends/index.js";
import { NEG_FLT_MAX } from "../../src/geometry/roi.js";
import * as pk from "../../src/index.js";
import { Generator } from "../../src/tensor/random.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { expectBits, int, runOn, values, WASM, type Input } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Vjp = (...a: any[]) => { output: unknown; backward: (dy: Tensor) => (Tensor | null)[] };
const vjp = (name: string): Vjp => (pk as unknown as Record<string, { vjp: Vjp }>)[name]!.vjp;
const dyOf = (m: number): Float32Array => Float32Array.from({ length: m }, (_, i) => (((i * 7919) % 13) - 6.5) / 4);

/** Input values: `values` (ties, NaN, ±∞, −0 or normals), or a heavy mix of NaN, −∞, −FLT_MAX and −0 (whole windows of them). */
function data(g: Generator, n: number, t: number): Float32Array {
  if (t % 4 !== 3) return values(g, n, t % 4 !== 0);
  const pick = [NaN, -Infinity, NEG_FLT_MAX, -0, 0, 1];
  const out = new Float32Array(n);
  const few = int(g, 2, pick.length);
  for (let i = 0; i < n; i++) out[i] = pick[int(g, 0, few - 1)] as number;
  return out;
}

function same(label: string, b: (typeof WASM)[number], call: (t: Tensor[]) => ReturnType<Vjp>, inputs: Input[]): void {
  expectBits(`${label} on ${b}`, runOn(b, b, call, inputs, dyOf), runOn("js", "js", call, inputs, dyOf));
}

describe("RoIPool: wasm equals the TypeScript kernels bit for bit", () => {
  for (const b of WASM) {
    it(`${b}: 1–11 channels, boxes in, across and outside the map, tiny to whole-map bins`, () => {
      const g = new Generator(b === "wasm" ? 801 : 803);
      for (let t = 0; t < 60; t++) {
        const h = t % 10 === 0 ? 1 : int(g, 1, 40);
        const w = t % 10 === 5 ? 1 : int(g, 1, 40);
        const shape = [int(g, 1, 2), int(g, 1, 11), h, w];
        const xs = data(g, shape.reduce((a, s) => a * s, 1), t);
        const scale = [1, 0.5, 0.25][int(g, 0, 2)] as number;
        const k = int(g, 0, 12);
        const boxes = new Float32Array(5 * k);
        for (let r = 0; r < k; r++) {
          const kind = int(g, 0, 4);
          let x1 = (g.uniform() * (w + 6) - 3) / scale;
          let y1 = (g.uniform() * (h + 6) - 3) / scale;
          let x2 = x1 + (g.uniform() * w) / scale;
          let y2 = y1 + (g.uniform() * h) / scale;
          if (kind === 0) [x1, y1, x2, y2] = [-2 / scale, -2 / scale, (w + 2) / scale, (h + 2) / scale]; // the whole map and beyond
          else if (kind === 1) [x2, y2] = [x1 + g.uniform(), y1 + g.uniform()]; // tiny
          else if (kind === 2) [x2, y2] = [x1 - g.uniform() * 3, y1 - g.uniform() * 3]; // degenerate (x2 < x1)
          else if (kind === 3) [x1, x2] = [(w + 1 + g.uniform() * 4) / scale, (w + 8) / scale]; // right of the map
          boxes.set([int(g, 0, (shape[0] as number) - 1), x1, y1, x2, y2], 5 * r);
        }
        const opts = { outputSize: [int(g, 1, 7), int(g, 1, 7)], spatialScale: scale };
        same(`roiPool [${shape}] ${k} boxes ${JSON.stringify(opts)}`, b, (ts) => vjp("roiPool")(ts[0], ts[1], opts), [{ data: xs, shape }, { data: boxes, shape: [k, 5] }]);
      }
    });
  }
});

describe("RoIPool's saved argmax: 16-bit entries up to H·W = 65535 (0xFFFF = none), int32 beyond", () => {
  // Planes of 65535 elements (the largest with 16-bit entries: index 65534 = 0xFFFE is the largest
  // stored) and of 65536 and 70000 (int32 entries: index 65535 would read as none in 16 bits). Channel 0
  // has its unique maximum at the last element, channel 1 at index 65534, channel 2 is random.
  const PLANES: [number, number][] = [[255, 257], [256, 256], [1, 70000]];
  function input(g: Generator, h: number, w: number): Float32Array {
    const plane = h * w;
    const xs = values(g, 3 * plane, false);
    xs[plane - 1] = 1e6;
    xs[plane + 65534] = 1e6;
    return xs;
  }
  for (const b of ["js", ...WASM] as const) {
    it(`${b}: one whole-map bin puts dy on the maximum (hand-worked); the plane's bins bit for bit as the TypeScript kernels`, () => {
      const g = new Generator(821);
      for (const [h, w] of PLANES) {
        const shape = [1, 3, h, w];
        const plane = h * w;
        const xs = input(g, h, w);
        setBackend(b);
        const x = pk.tensor(xs, shape, "float32");
        const whole = pk.tensor([[0, -2, -2, w + 2, h + 2]], [1, 5], "float32");
        const v = pk.roiPool.vjp(x, whole, { outputSize: 1 });
        expect(Array.from(v.output.data.subarray(0, 2)), `[${shape}]`).toEqual([1e6, 1e6]);
        const [dx] = v.backward(pk.tensor([2, 3, 5], [1, 3, 1, 1], "float32"));
        const d = (dx as Tensor).data;
        const nonzero = [0, 1, 2].map((c) => Array.from(d.subarray(c * plane, (c + 1) * plane)).flatMap((e, i) => (e === 0 ? [] : [[i, e]])));
        expect(nonzero[0], `[${shape}] channel 0`).toEqual([[plane - 1, 2]]);
        expect(nonzero[1], `[${shape}] channel 1`).toEqual([[65534, 3]]);
        expect(nonzero[2]?.length, `[${shape}] channel 2`).toBe(1);
        if (b === "js") continue;
        const k = 6;
        const boxes = new Float32Array(5 * k);
        for (let r = 0; r < k; r++) {
          const x1 = g.uniform() * (w + 4) - 2;
          const y1 = g.uniform() * (h + 4) - 2;
          boxes.set([0, x1, y1, r === 0 ? w + 2 : x1 + g.uniform() * w, r === 0 ? h + 2 : y1 + g.uniform() * h], 5 * r);
        }
        const opts = { outputSize: [int(g, 1, 7), int(g, 1, 7)] };
        same(`roiPool [${shape}] ${k} boxes ${JSON.stringify(opts)}`, b, (ts) => vjp("roiPool")(ts[0], ts[1], opts), [{ data: xs, shape }, { data: boxes, shape: [k, 5] }]);
      }
    });
  }
});

describe("fractional max pooling: wasm equals the TypeScript kernels bit for bit", () => {
  for (const b of WASM) {
    it(`${b}: 2-d and 3-d, windows 1–4, NaN and −∞ windows`, () => {
      const g = new Generator(b === "wasm" ? 811 : 813);
      for (let t = 0; t < 48; t++) {
        const rank = t % 3 === 2 ? 3 : 2;
        const spatial = Array.from({ length: rank }, () => int(g, 1, rank === 3 ? 12 : 40));
        const shape = [int(g, 1, 2), int(g, 1, 5), ...spatial];
        const xs = data(g, shape.reduce((a, s) => a * s, 1), t);
        const kernelSize = spatial.map((L) => int(g, 1, Math.min(L, 4)));
        const outputSize = spatial.map((L, i) => int(g, 1, L - (kernelSize[i] as number) + 1));
        const opts = { kernelSize, outputSize, seed: t };
        const name = `fractionalMaxPool${rank}dWithIndices`;
        same(`${name} [${shape}] ${JSON.stringify(opts)}`, b, (ts) => vjp(name)(ts[0], opts), [{ data: xs, shape }]);
      }
    });
  }
});

it("the heavy-specials generator really makes windows without a finite value", () => {
  const xs = data(new Generator(5), 64, 3);
  expect(xs.some((v) => Number.isNaN(v) || v === -Infinity || v === NEG_FLT_MAX)).toBe(true);
});
