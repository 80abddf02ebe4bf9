/**
 * RoIPool and fractional max pooling's WebAssembly kernels (assembly/region.ts; SIMD and scalar builds)
 * against the TypeScript reference kernels, bit for bit (values, indices, gradients), on shapes the
 * other suites do not reach: RoIPool with 1–11 channels (the SIMD build takes four channels per lane
 * group, the rest one by one), boxes inside, partly or wholly outside the map, degenerate, tiny and
 * whole-map (bins of one element up to bins wider than the SIMD block), 1×1 maps; fractional max
 * pooling in 2-d and 3-d with windows up to 4 per axis. Inputs mix ties (small integers), NaN, ±∞, −0
 * and −FLT_MAX (RoIPool never selects a value ≤ −FLT_MAX), including planes made only of NaN and −∞.
 * Splits across threads are covered by test/backends/threads.test.ts; RoIPool's backward is checked
 * on 2 threads here too, with order-sensitive gradients.
 *
 * Order of additions: the gradients above (dyOf: quarters below 2) sum exactly in float32, so they
 * cannot tell one order of additions from another. RoIPool's backward is also run with gradients of
 * random signs and exponents (2^−12 … 2^12, 24 random mantissa bits): then a different order of the
 * additions into one dx element changes its bits — the test checks this on its own inputs by summing
 * the same terms in another order (each RoI's own sum, RoIs last to first) and seeing the result differ — so the bit-for-bit comparison with
 * the reference (RoIs in order, bins in order) fails for a kernel that reorders them.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, getThreads, setBackend, setThreads } from "../../src/backends/index.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { setMinPartBytes } from "../../src/backends/wasm/threads.js";
import { NEG_FLT_MAX } from "../../src/geometry/roi.js";
import * as pk from "../../src/index.js";
import { Generator } from "../../src/tensor/random.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { DETACH, expectBits, firstBitDifference, int, runOn, values, WASM, type Input, type Run } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(async () => {
  setMinPartBytes(undefined);
  await setThreads(1);
  setBackend(initial);
});

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

/** Gradients whose sums depend on the order of the additions: random signs, exponents 2^−12 … 2^12 and mantissas. */
function inexact(seed: number): (m: number) => Float32Array {
  return (m) => {
    const g = new Generator(seed + m);
    return Float32Array.from({ length: m }, () => (g.uniform() < 0.5 ? -1 : 1) * (1 + g.uniform()) * 2 ** int(g, -12, 12));
  };
}

/** RoIPool cases where many bins share an argmax: ties (small integers), specials, overlapping, tiny, degenerate and whole-map boxes. */
function roiCases(seed: number, count: number, wide = false): { label: string; inputs: Input[]; opts: { outputSize: [number, number]; spatialScale: number } }[] {
  const g = new Generator(seed);
  const out = [];
  for (let t = 0; t < count; t++) {
    // wide: planes above 65535 elements (int32 argmax entries), two rows
    const h = wide ? 2 : int(g, 1, 24);
    const w = wide ? int(g, 32768, 33000) : int(g, 1, 24);
    const shape = [int(g, 1, wide ? 2 : 3), int(g, 1, wide ? 3 : 11), h, w];
    const n = shape.reduce((a, s) => a * s, 1);
    // ties on a few levels (many equal maxima: the first one wins, shared by overlapping bins), or specials
    const xs = t % 3 === 0 ? data(g, n, 3) : t % 3 === 1 ? Float32Array.from({ length: n }, () => int(g, 0, 2)) : values(g, n, true);
    const k = int(g, 1, 16);
    const boxes = new Float32Array(5 * k);
    // a few anchor boxes, the others near copies of them: heavy overlap, so one element gets many additions
    for (let r = 0; r < k; r++) {
      const kind = int(g, 0, 5);
      let x1 = g.uniform() * (w + 2) - 1;
      let y1 = g.uniform() * (h + 2) - 1;
      let x2 = x1 + g.uniform() * (wide ? 40 : w);
      let y2 = y1 + g.uniform() * h;
      if (kind === 0) [x1, y1, x2, y2] = [-1, -1, w + 1, h + 1]; // the whole map
      else if (kind === 1) [x2, y2] = [x1 + g.uniform(), y1 + g.uniform()]; // tiny: every bin on one element
      else if (kind === 2) [x2, y2] = [x1 - g.uniform() * 3, y1 - g.uniform() * 3]; // degenerate
      else if (kind === 3 && r > 0) {
        const j = int(g, 0, r - 1); // a near copy of an earlier box
        [x1, y1, x2, y2] = Array.from(boxes.subarray(5 * j + 1, 5 * j + 5), (v) => v + (g.uniform() - 0.5)) as [number, number, number, number];
      }
      boxes.set([int(g, 0, (shape[0] as number) - 1), x1, y1, x2, y2], 5 * r);
    }
    const opts = { outputSize: [int(g, 1, 9), int(g, 1, 9)] as [number, number], spatialScale: 1 };
    out.push({ label: `roiPool [${shape}] ${k} boxes ${JSON.stringify(opts)}`, inputs: [{ data: xs, shape }, { data: boxes, shape: [k, 5] }], opts });
  }
  return out;
}

/** dx from the same terms in another order (each RoI's own sum, RoIs last to first): for checking that the inputs can tell orders apart. */
function reversedSum(c: { inputs: Input[]; opts: { outputSize: [number, number]; spatialScale: number } }, dy: (m: number) => Float32Array): Float32Array {
  setBackend("js");
  const x = pk.tensor(c.inputs[0]!.data, c.inputs[0]!.shape, "float32");
  const boxes = c.inputs[1]!.data;
  const k = c.inputs[1]!.shape[0] as number;
  const [N, C, H, W] = c.inputs[0]!.shape as [number, number, number, number];
  const [ph, pw] = c.opts.outputSize;
  const all = pk.roiPool.vjp(x, pk.tensor(boxes, [k, 5], "float32"), c.opts);
  const d = dy(all.output.size);
  const dx = new Float32Array(N * C * H * W);
  for (let r = k - 1; r >= 0; r--) {
    // box r alone: its argmax positions are its column of the full result (the bins do not depend on other boxes)
    const one = pk.roiPool.vjp(x, pk.tensor(boxes.subarray(5 * r, 5 * r + 5), [1, 5], "float32"), c.opts);
    const g = one.backward(pk.tensor(d.subarray(r * C * ph * pw, (r + 1) * C * ph * pw), [1, C, ph, pw], "float32"))[0]!.data;
    // g holds box r's own sums (its bins in order); add them box by box, last box first
    for (let i = 0; i < dx.length; i++) dx[i] = Math.fround((dx[i] as number) + (g[i] as number));
  }
  return dx;
}

describe("RoIPool backward: the order of additions into each dx element (order-sensitive gradients)", () => {
  const cases = [...roiCases(831, 40), ...roiCases(833, 4, true)];
  it("the inputs tell orders apart: summing the RoIs in reverse gives different bits in at least 10 of the 44 cases", () => {
    let differ = 0;
    for (const c of cases) {
      const ref = runOn("js", "js", (ts) => pk.roiPool.vjp(ts[0]!, ts[1]!, c.opts), c.inputs, inexact(7));
      if (firstBitDifference(reversedSum(c, inexact(7)), ref.grads[0] as Float32Array) !== null) differ++;
    }
    expect(differ).toBeGreaterThanOrEqual(10);
  });
  for (const b of WASM) {
    it(`${b}: bit for bit as the TypeScript kernels, 1 thread`, () => {
      for (const c of cases) expectBits(`${c.label} on ${b}`, runOn(b, b, (ts) => pk.roiPool.vjp(ts[0]!, ts[1]!, c.opts), c.inputs, inexact(7)), runOn("js", "js", (ts) => pk.roiPool.vjp(ts[0]!, ts[1]!, c.opts), c.inputs, inexact(7)));
    });
    // (the detaching storage is unshared memory: one thread there, see test/backends/threads.test.ts)
    if (!DETACH) it(`${b}: bit for bit as the TypeScript kernels, 2 threads (every split forced)`, async () => {
      const refs: Run[] = cases.map((c) => runOn("js", "js", (ts) => pk.roiPool.vjp(ts[0]!, ts[1]!, c.opts), c.inputs, inexact(7)));
      setBackend(b);
      await setThreads(2);
      setMinPartBytes(0);
      try {
        expect(getThreads()).toBe(2);
        const before = activeWasm()!.pool!.stats.splitCalls;
        cases.forEach((c, i) => expectBits(`${c.label} on ${b}, 2 threads`, runOn(b, b, (ts) => pk.roiPool.vjp(ts[0]!, ts[1]!, c.opts), c.inputs, inexact(7)), refs[i] as Run));
        expect(activeWasm()!.pool!.stats.splitCalls).toBeGreaterThan(before + cases.length);
      } finally {
        setMinPartBytes(undefined);
        await setThreads(1);
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
