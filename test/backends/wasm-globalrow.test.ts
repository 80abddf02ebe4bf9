/**
 * One window per whole plane on the WebAssembly backends (SIMD and scalar builds): global pooling and
 * adaptive pooling to size 1 in any rank, which src/backends/wasm/adaptive.ts `flatPlane` turns into
 * one window over the flattened plane, reduced by assembly/adaptive.ts's one-row paths — on the SIMD
 * build, rows of 64 columns or more take `longRowArgmax` (max) and `sumSegment`'s 32-column steps
 * (average). Against the TypeScript reference kernels (maxWindowsForward, maxWindowsForwardValues,
 * avgWindowsForward), with rows 1–1100 long (every length around the 4-, 16- and 256-column steps)
 * and crafted planes: the maximum tied in two blocks, in the tail, ±0 only, all −∞, +∞, NaNs of
 * distinct payloads (the reference keeps the last NaN).
 *
 * Max: values (NaN payloads and the sign of zero included: compared as bits), indices and gradients
 * bit-identical. Average bound (u = 2⁻²⁴, γ(m) = m·u/(1 − m·u); Higham, Accuracy and Stability of
 * Numerical Algorithms, 2nd ed., §3.1, §4.2): the kernel's sum is float32 pairwise sums of 8 columns
 * per lane (each within γ(3)·Σ|its terms|) added in float64 (n ≤ 2²⁰ terms: within n·2⁻⁵³·Σ|x| ≤
 * 2⁻³³·Σ|x|), or a float64 sum (shorter rows), or, for planes of at most 1024 elements, float32 sums
 * in 4 lanes (within γ(n/4 + 3)·Σ|x|); the reference's float64 sum is within 2⁻³³·Σ|x|; d is exact,
 * the float64 division adds 2⁻⁵³ relative, and the two roundings to float32 at most 2⁻²⁴ of each
 * result. So |ŷ − y_ref| ≤ γ(K + 4)·|a| + 2⁻²²·|y_ref| for planes ≤ 1024 (K = n taps) and
 * ≤ γ(4)·|a| + 2⁻²²·|y_ref| beyond, with a = Σ|x|/n (the extra u·|a| and u·|y_ref| cover the
 * float64 terms and the products of small terms). NaN where the reference has NaN, the same infinity.
 * Results on 2 threads (every split forced) are bit-identical to 1 thread. Also: wide windows of
 * several rows (the column merge keeps the last NaN's bits; average windows of more than 16 rows,
 * summed row by row into the column buffer, within float64 rounding before the rounding to float32).
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, getThreads, setBackend, setThreads, type BackendName } from "../../src/backends/index.js";
import { flatPlane } from "../../src/backends/wasm/adaptive.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { setMinPartBytes } from "../../src/backends/wasm/threads.js";
import { spatialShapeInput } from "../../src/check.js";
import { planAdaptiveFor } from "../../src/geometry/adaptive.js";
import { avgDivisors } from "../../src/geometry/divisors.js";
import type { WindowPlan } from "../../src/geometry/plan.js";
import { planSlidingFor, slidingGeometry } from "../../src/geometry/sliding.js";
import * as pk from "../../src/index.js";
import { kernel } from "../../src/kernels/registry.js";
import { avgWindowsForward, maxWindowsForward, maxWindowsForwardValues } from "../../src/kernels/window.js";
import { Generator } from "../../src/tensor/random.js";
import { firstBitDifference, firstFarDifference, gamma32, int, values, WASM } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

const NAN_A = 0x7fc00001;
const NAN_B = 0x7fc12345;
const NAN_C = 0xffc00abc | 0;

function f32(bits: number): number {
  return new Float32Array(Int32Array.of(bits).buffer)[0] as number;
}

/** Row lengths: short ones, and every length around the 4-, 16- and 256-column steps of the long-row paths. */
const LENGTHS = [1, 7, 16, 63, 64, 65, 79, 255, 256, 257, 271, 272, 511, 512, 513, 700, 1024, 1025, 1100];

/** Plane `p` of length n with a crafted pattern (p mod 10), else random values (ties, NaN, ±∞, −0 sprinkled in). */
function plane(g: Generator, n: number, p: number): Float32Array {
  const x = values(g, n, p % 3 === 0);
  const at = (): number => int(g, 0, n - 1);
  switch (p % 10) {
    case 1: {
      // the maximum twice: the first one wins (they may lie in different 256-column blocks)
      const v = Math.fround(50 + g.uniform());
      x.forEach((_, i) => (x[i] = Math.min(x[i] as number, 10)));
      const i = at();
      const j = at();
      x[Math.min(i, j)] = v;
      x[Math.max(i, j)] = v;
      break;
    }
    case 2:
      // the maximum in the last n mod 256 columns and equal to an earlier element when n > 1
      x.forEach((_, i) => (x[i] = Math.min(Number.isNaN(x[i]) ? 0 : (x[i] as number), 10)));
      x[n - 1] = 99;
      if (n > 1) x[int(g, 0, n - 2)] = 99;
      break;
    case 3:
      // only zeros of both signs: the first zero (and its sign) wins
      x.forEach((_, i) => (x[i] = g.uniform() < 0.5 ? -0 : 0));
      break;
    case 4:
      x.fill(-Infinity);
      break;
    case 5:
      x.forEach((_, i) => (x[i] = Number.isNaN(x[i]) ? 0 : (x[i] as number)));
      x[at()] = Infinity;
      x[at()] = Infinity;
      break;
    case 6: {
      // NaNs of distinct payloads: the last one wins (compared as bits)
      const b = new Int32Array(x.buffer);
      b[at()] = NAN_A;
      b[at()] = NAN_B;
      b[at()] = NAN_C;
      break;
    }
    case 7:
      // one NaN in the tail only
      x.forEach((_, i) => (x[i] = Number.isNaN(x[i]) ? 1 : (x[i] as number)));
      new Int32Array(x.buffer)[n - 1 - int(g, 0, Math.min(n - 1, 3))] = NAN_B;
      break;
    case 8:
      // −0 before +0 as the maximum, negatives elsewhere
      x.forEach((_, i) => (x[i] = -1 - Math.abs(Number.isNaN(x[i]) ? 1 : (x[i] as number))));
      x[at()] = -0;
      x[at()] = 0;
      break;
  }
  return x;
}

interface Case {
  p: WindowPlan;
  x: Float32Array;
  label: string;
}

/** A plan of one window per whole plane of n elements (rank 1–3, adaptive to size 1 or sliding with the whole plane as kernel) and its input. */
function wholeCase(g: Generator, n: number, planes: number): Case {
  const rank = int(g, 1, 3) as 1 | 2 | 3;
  // spatial sizes whose product is n: the row length last, or n split into factors
  const spatial = [n];
  while (spatial.length < rank) {
    const head = spatial[0] as number;
    const f = [2, 3, 4, 5, 7].find((d) => head % d === 0 && g.uniform() < 0.7);
    spatial.splice(0, 1, f ?? 1, f === undefined ? head : head / f);
  }
  const shape = [1, planes, ...spatial];
  const input = spatialShapeInput("test", "x", shape, rank);
  const p = g.uniform() < 0.7
    ? planAdaptiveFor("test", input, spatial.map(() => 1))
    : planSlidingFor("test", input, slidingGeometry("test", { kernelSize: spatial }, rank));
  const x = new Float32Array(planes * n);
  for (let q = 0; q < planes; q++) x.set(plane(g, n, int(g, 0, 9)), q * n);
  return { p, x, label: `[${shape}] → 1` };
}

function cases(seed: number): Case[] {
  const g = new Generator(seed);
  const out: Case[] = [];
  for (const n of LENGTHS) {
    // every pattern at least once per length: planes 0–9 take patterns 0–9 in a fixed order
    const c = wholeCase(g, n, 10);
    for (let q = 0; q < 10; q++) c.x.set(plane(g, n, q), q * n);
    out.push(c, wholeCase(g, n, int(g, 1, 5)));
  }
  return out;
}

function bitsOf(a: Float32Array): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, a.length);
}

function firstDiff(got: Int32Array, ref: Int32Array): number {
  for (let i = 0; i < ref.length; i++) if (got[i] !== ref[i]) return i;
  return -1;
}

/** Max through the registered kernels (indices and values-only) and the references. */
function maxRun(c: Case): { y: Float32Array; idx: Int32Array; yv: Float32Array } {
  const out = c.p.planes * c.p.outPlaneSize;
  const y = new Float32Array(out).fill(12345.5);
  const idx = new Int32Array(out).fill(-7);
  const yv = new Float32Array(out).fill(12345.5);
  kernel("maxWindows.forward", "float32", maxWindowsForward)(c.x, y, idx, c.p.planes, c.p.axes);
  kernel("maxWindows.forwardValues", "float32", maxWindowsForwardValues)(c.x, yv, c.p.planes, c.p.axes);
  return { y, idx, yv };
}

function maxRef(c: Case): { y: Float32Array; idx: Int32Array } {
  const out = c.p.planes * c.p.outPlaneSize;
  const y = new Float32Array(out);
  const idx = new Int32Array(out);
  maxWindowsForward(c.x, y, idx, c.p.planes, c.p.axes);
  return { y, idx };
}

function avgRun(c: Case, reference: boolean): Float32Array {
  const y = new Float32Array(c.p.planes * c.p.outPlaneSize).fill(12345.5);
  const d = avgDivisors(c.p.axes, true);
  (reference ? avgWindowsForward : kernel("avgWindows.forward", "float32", avgWindowsForward))(c.x, y, c.p.planes, c.p.axes, d);
  return y;
}

function checkMax(c: Case, b: BackendName): void {
  const got = maxRun(c);
  const ref = maxRef(c);
  const i = firstDiff(got.idx, ref.idx);
  expect(i, `${c.label} on ${b}: index ${i}: ${got.idx[i]} vs reference ${ref.idx[i]}`).toBe(-1);
  const j = firstDiff(bitsOf(got.y), bitsOf(ref.y));
  expect(j, `${c.label} on ${b}: value ${j}: ${got.y[j]} vs reference ${ref.y[j]}`).toBe(-1);
  const k = firstDiff(bitsOf(got.yv), bitsOf(ref.y));
  expect(k, `${c.label} on ${b}: values-only ${k}: ${got.yv[k]} vs reference ${ref.y[k]}`).toBe(-1);
}

function checkAvg(c: Case, b: BackendName): void {
  const got = avgRun(c, false);
  const ref = avgRun(c, true);
  const n = c.p.inPlaneSize;
  for (let q = 0; q < c.p.planes; q++) {
    const r = ref[q] as number;
    const v = got[q] as number;
    if (!Number.isFinite(r) || !Number.isFinite(v)) {
      expect(Object.is(v, r) || (Number.isNaN(v) && Number.isNaN(r)), `${c.label} on ${b}: plane ${q}: ${v} vs reference ${r}`).toBe(true);
      continue;
    }
    let a = 0;
    for (let i = 0; i < n; i++) a += Math.abs(c.x[q * n + i] as number);
    a /= n;
    const tol = (n <= 1024 ? gamma32(n + 4) : gamma32(4)) * a + 2 ** -22 * Math.abs(r);
    expect(Math.abs(v - r) <= tol, `${c.label} on ${b}: plane ${q}: ${v} vs reference ${r} (|Δ| = ${Math.abs(v - r)} > ${tol})`).toBe(true);
  }
}

describe("flatPlane: one window per whole plane as one row", () => {
  it("flattens adaptive-to-1 and whole-plane windows of rank 2 and 3, nothing else", () => {
    const plan = (shape: number[], out: number[]): WindowPlan => planAdaptiveFor("test", spatialShapeInput("test", "x", shape, out.length), out);
    const f = flatPlane(plan([2, 3, 4, 5, 6], [1, 1, 1]).axes);
    expect(f).not.toBeNull();
    expect(f!.map((a) => [a.inSize, a.outSize, a.start[0], a.end[0], a.step, a.padCount[0]])).toEqual([[1, 1, 0, 1, 1, 1], [1, 1, 0, 1, 1, 1], [120, 1, 0, 120, 1, 120]]);
    expect(flatPlane(plan([2, 3, 5, 6], [1, 1]).axes)![2].end[0]).toBe(30);
    // already one row, or more than one window, or a window that misses part of the plane: unchanged
    expect(flatPlane(plan([2, 3, 30], [1]).axes)).toBeNull();
    expect(flatPlane(plan([2, 3, 4, 5, 6], [1, 1, 2]).axes)).toBeNull();
    const partial = planSlidingFor("test", spatialShapeInput("test", "x", [1, 1, 5, 6], 2), slidingGeometry("test", { kernelSize: [4, 6] }, 2));
    expect(partial.outPlaneSize).toBe(1);
    expect(flatPlane(partial.axes)).toBeNull();
    // cached: the same axes give the same object
    const p = plan([1, 1, 3, 3], [1, 1]);
    expect(flatPlane(p.axes)).toBe(flatPlane(p.axes));
  });
});

describe("one window per whole plane against the TypeScript reference", () => {
  for (const b of WASM) {
    it(`max (indices and values-only) on ${b}: bit-identical`, () => {
      setBackend(b);
      for (const c of cases(71)) checkMax(c, b);
    });
    it(`average on ${b}: within the bound`, () => {
      setBackend(b);
      for (const c of cases(72)) checkAvg(c, b);
    });
    it(`ops on ${b}: adaptiveMaxPool3d → 1, globalMaxPool, adaptiveAvgPool2d → 1 with gradients as on the js backend`, () => {
      const g = new Generator(73);
      /** Outputs and gradient as bits. */
      const run = (be: BackendName, x: Float32Array, shape: number[], what: number): Int32Array[] => {
        setBackend(be);
        const t = pk.tensor(x, shape, "float32");
        const bits = (u: pk.Tensor): Int32Array => (u.dtype === "int32" ? (u.data as Int32Array).slice() : bitsOf((u.data as Float32Array).slice()));
        let outs: pk.Tensor[];
        let backward: (dy: pk.Tensor) => (pk.Tensor | null)[];
        if (what === 0) {
          const v = pk.adaptiveMaxPool3dWithIndices.vjp(t, { outputSize: 1 });
          outs = [v.output.output, v.output.indices];
          backward = v.backward;
        } else {
          const v = what === 1 ? pk.globalMaxPool.vjp(t) : pk.adaptiveAvgPool2d.vjp(t, { outputSize: 1 });
          outs = [v.output];
          backward = v.backward;
        }
        const o0 = outs[0] as pk.Tensor;
        const dy = pk.tensor(Float32Array.from({ length: o0.size }, (_, i) => i - 3.5), o0.shape, "float32");
        const [dx] = backward(dy);
        return [...outs.map(bits), bits(dx!)];
      };
      for (const [shape, what] of [[[2, 3, 4, 9, 8], 0], [[1, 6, 300], 1], [[2, 2, 5, 7, 11], 1], [[3, 4, 17, 19], 2]] as [number[], number][]) {
        const n = shape.slice(2).reduce((a, s) => a * s, 1);
        const planes = shape[0]! * shape[1]!;
        const x = new Float32Array(planes * n);
        for (let q = 0; q < planes; q++) x.set(plane(g, n, q), q * n);
        const ref = run("js", x, shape, what);
        const got = run(b, x, shape, what);
        got.forEach((a, i) => {
          if (what === 2 && i === 0) return; // the average itself: checked against the bound above
          expect(firstDiff(a, ref[i]!), `[${shape}] op ${what} result ${i} on ${b}`).toBe(-1);
        });
      }
    });
  }
});

describe("wide windows of several rows: the last NaN's bits", () => {
  for (const b of WASM) {
    it(`adaptive max with NaNs of distinct payloads on ${b}: bit-identical`, () => {
      setBackend(b);
      const g = new Generator(75);
      for (const [shape, out] of [[[1, 10, 12, 40], [2, 3]], [[1, 10, 3, 5, 33], [1, 2, 1]], [[1, 10, 9, 70], [1, 2]]] as [number[], number[]][]) {
        const n = shape.slice(2).reduce((a, v) => a * v, 1);
        const p = planAdaptiveFor("test", spatialShapeInput("test", "x", shape, out.length), out);
        expect(flatPlane(p.axes)).toBeNull();
        const x = new Float32Array(10 * n);
        for (let q = 0; q < 10; q++) x.set(plane(g, n, q % 2 === 0 ? 6 : q), q * n);
        checkMax({ p, x, label: `[${shape}] → [${out}]` }, b);
      }
    });
  }
});

describe("wide average windows of many rows (summed row by row into the column buffer)", () => {
  for (const b of WASM) {
    it(`adaptive average on ${b}: within float64 rounding of the reference before the one rounding to float32`, () => {
      // both sums float64 over n ≤ 2¹³ terms: within n·2⁻⁵³·Σ|x| ≤ 2⁻⁴⁰·Σ|x| of the exact sum, so the
      // means within 2⁻³⁹·max|x| of each other before rounding; the roundings to float32 add 2⁻²⁴·|y| each
      setBackend(b);
      const g = new Generator(76);
      for (const [shape, out] of [[[1, 6, 20, 9, 44], [1, 2, 5]], [[2, 3, 40, 37], [2, 3]], [[1, 4, 5, 30, 23], [2, 1, 2]]] as [number[], number[]][]) {
        const p = planAdaptiveFor("test", spatialShapeInput("test", "x", shape, out.length), out);
        const rows = (a: number): number => Math.max(...Array.from(p.axes[a]!.end, (e, o) => e - (p.axes[a]!.start[o] as number)));
        expect(rows(0) * rows(1)).toBeGreaterThan(16);
        const x = values(g, p.planes * p.inPlaneSize, false);
        const c = { p, x, label: `[${shape}] → [${out}]` };
        const got = avgRun(c, false);
        const ref = avgRun(c, true);
        let m = 0;
        for (const v of x) m = Math.max(m, Math.abs(v));
        expect(firstFarDifference(got, ref, (i) => 2 ** -23 * Math.abs(ref[i] as number) * (1 + 2 ** -20) + 2 ** -39 * m), `${c.label} on ${b}`).toBeNull();
      }
    });
  }
});

describe("one window per whole plane on 2 threads: bit-identical to 1 thread (every split forced)", () => {
  for (const b of WASM) {
    it(b, async () => {
      setBackend(b);
      await setThreads(1);
      setMinPartBytes(0);
      try {
        const all = cases(74).filter((c) => c.p.planes >= 2);
        const refs = all.map((c) => ({ ...maxRun(c), avg: avgRun(c, false) }));
        await setThreads(2);
        expect(getThreads()).toBe(2);
        all.forEach((c, i) => {
          const calls = activeWasm()!.pool!.stats.splitCalls;
          const got = maxRun(c);
          const r = refs[i]!;
          expect(firstDiff(got.idx, r.idx), `${c.label} indices`).toBe(-1);
          expect(firstDiff(bitsOf(got.y), bitsOf(r.y)), `${c.label} values`).toBe(-1);
          expect(firstDiff(bitsOf(got.yv), bitsOf(r.yv)), `${c.label} values-only`).toBe(-1);
          expect(firstBitDifference(avgRun(c, false), r.avg), `${c.label} average`).toBeNull(); // (a computed NaN's payload may differ)
          expect(activeWasm()!.pool!.stats.splitCalls, `${c.label}: split`).toBeGreaterThan(calls);
        });
      } finally {
        setMinPartBytes(undefined);
        await setThreads(1);
      }
    });
  }
});
