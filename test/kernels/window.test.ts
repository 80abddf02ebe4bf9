/**
 * The shared window kernels (src/kernels/window.ts) against a deliberately simple reference written
 * here from the PyTorch rules (cpu/MaxPoolKernel.cpp, cpu/AvgPoolKernel.cpp): windows enumerated
 * tap by tap from kernelSize/stride/padding/dilation (or the adaptive start/end formula), a plain
 * d, h, w scan with `v > best || isNaN(v)`, sums from 0 in scan order, gradients scattered in output
 * order. The kernels have fast paths (contiguous taps, unrolled 3×3/2×2, a branch-free tournament
 * for max); every comparison here is exact — same bits, same indices — for max and avg alike.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { avgWindowsBackward, avgWindowsForward, maxWindowsBackward, maxWindowsForward } from "../../src/kernels/window.js";
import { avgDivisors } from "../../src/geometry/divisors.js";
import { slidingAxis } from "../../src/geometry/sliding.js";
import { adaptiveAxis } from "../../src/geometry/adaptive.js";
import { TRIVIAL_AXIS, type Axes3, type Axis } from "../../src/geometry/plan.js";
import type { FloatArray, FloatDType } from "../../src/tensor/dtype.js";

// ------------------------------------------------------------------ reference

/** One axis of the reference: per output position, its in-bounds taps in scan order. */
interface RefAxis {
  readonly inSize: number;
  readonly outSize: number;
  taps(o: number): number[];
  /** The first tap on the dilation grid at or after 0 (PyTorch's index for an empty window). */
  firstOnGrid(o: number): number;
  /** count_include_pad length: the window clipped at In + p only. */
  padLen(o: number): number;
}

function refSliding(inSize: number, k: number, s: number, p: number, d: number, ceilMode: boolean): RefAxis {
  // Pool.h pooling_output_shape_pad_lr
  let outSize = Math.floor((inSize + 2 * p - d * (k - 1) - 1 + (ceilMode ? s - 1 : 0)) / s) + 1;
  if (ceilMode && (outSize - 1) * s >= inSize + p) outSize--;
  return {
    inSize,
    outSize,
    taps(o) {
      const t: number[] = [];
      for (let j = 0; j < k; j++) {
        const h = o * s - p + j * d;
        if (h >= 0 && h < inSize) t.push(h);
      }
      return t;
    },
    firstOnGrid(o) {
      let h = o * s - p;
      while (h < 0) h += d;
      return h;
    },
    padLen(o) {
      const h = o * s - p;
      return Math.min(h + (k - 1) * d + 1, inSize + p) - h;
    },
  };
}

function refAdaptive(inSize: number, outSize: number): RefAxis {
  // AdaptivePooling.h: start = ⌊o·In/Out⌋, end = ⌈(o+1)·In/Out⌉
  const lo = (o: number) => Math.floor((o * inSize) / outSize);
  const hi = (o: number) => Math.ceil(((o + 1) * inSize) / outSize);
  return {
    inSize,
    outSize,
    taps(o) {
      const t: number[] = [];
      for (let h = lo(o); h < hi(o); h++) t.push(h);
      return t;
    },
    firstOnGrid: lo,
    padLen: (o) => hi(o) - lo(o),
  };
}

const REF_TRIVIAL: RefAxis = { inSize: 1, outSize: 1, taps: () => [0], firstOnGrid: () => 0, padLen: () => 1 };

interface Case {
  readonly dtype: FloatDType;
  readonly planes: number;
  readonly ref: readonly [RefAxis, RefAxis, RefAxis];
  readonly axes: Axes3;
}

const alloc = (dtype: FloatDType, n: number): FloatArray => (dtype === "float32" ? new Float32Array(n) : new Float64Array(n));
const inPlaneOf = (c: Case) => c.ref[0].inSize * c.ref[1].inSize * c.ref[2].inSize;
const outPlaneOf = (c: Case) => c.ref[0].outSize * c.ref[1].outSize * c.ref[2].outSize;

/** Calls f(o, taps as flat in-plane indices in d, h, w order, the first on-grid index) for every output of a plane. */
function eachWindow(c: Case, f: (o: number, taps: number[], first: number) => void): void {
  const [A, B, C] = c.ref;
  const H = B.inSize;
  const W = C.inSize;
  let o = 0;
  for (let oa = 0; oa < A.outSize; oa++) {
    for (let ob = 0; ob < B.outSize; ob++) {
      for (let oc = 0; oc < C.outSize; oc++) {
        const taps: number[] = [];
        for (const a of A.taps(oa)) for (const b of B.taps(ob)) for (const cc of C.taps(oc)) taps.push((a * H + b) * W + cc);
        f(o, taps, (A.firstOnGrid(oa) * H + B.firstOnGrid(ob)) * W + C.firstOnGrid(oc));
        o++;
      }
    }
  }
}

function refMax(c: Case, x: FloatArray): { y: FloatArray; idx: Int32Array } {
  const inPlane = inPlaneOf(c);
  const outPlane = outPlaneOf(c);
  const y = alloc(c.dtype, c.planes * outPlane);
  const idx = new Int32Array(c.planes * outPlane);
  for (let p = 0; p < c.planes; p++) {
    eachWindow(c, (o, taps, first) => {
      let best = -Infinity;
      let bi = first;
      for (const t of taps) {
        const v = x[p * inPlane + t] as number;
        if (v > best || Number.isNaN(v)) {
          best = v;
          bi = t;
        }
      }
      y[p * outPlane + o] = best;
      idx[p * outPlane + o] = bi;
    });
  }
  return { y, idx };
}

/** Scatters dy to the reference indices in output order, adding into a copy of `dx0`. */
function refMaxBackward(c: Case, dy: FloatArray, idx: Int32Array, dx0: FloatArray): FloatArray {
  const inPlane = inPlaneOf(c);
  const outPlane = outPlaneOf(c);
  const dx = dx0.slice();
  for (let p = 0; p < c.planes; p++) {
    for (let o = 0; o < outPlane; o++) {
      const i = idx[p * outPlane + o] as number;
      if (i >= 0 && i < inPlane) dx[p * inPlane + i] = (dx[p * inPlane + i] as number) + (dy[p * outPlane + o] as number);
    }
  }
  return dx;
}

function refDivisors(c: Case, countIncludePad: boolean, divisorOverride: number | undefined): number[] {
  const [A, B, C] = c.ref;
  const div: number[] = [];
  for (let oa = 0; oa < A.outSize; oa++) {
    for (let ob = 0; ob < B.outSize; ob++) {
      for (let oc = 0; oc < C.outSize; oc++) {
        if (divisorOverride !== undefined) div.push(divisorOverride);
        else if (countIncludePad) div.push(A.padLen(oa) * B.padLen(ob) * C.padLen(oc));
        else div.push(A.taps(oa).length * B.taps(ob).length * C.taps(oc).length);
      }
    }
  }
  return div;
}

function refAvg(c: Case, x: FloatArray, div: readonly number[]): FloatArray {
  const inPlane = inPlaneOf(c);
  const outPlane = outPlaneOf(c);
  const y = alloc(c.dtype, c.planes * outPlane);
  for (let p = 0; p < c.planes; p++) {
    eachWindow(c, (o, taps) => {
      let sum = 0;
      for (const t of taps) sum += x[p * inPlane + t] as number;
      y[p * outPlane + o] = taps.length === 0 ? 0 : sum / (div[o] as number);
    });
  }
  return y;
}

function refAvgBackward(c: Case, dy: FloatArray, div: readonly number[]): FloatArray {
  const inPlane = inPlaneOf(c);
  const outPlane = outPlaneOf(c);
  const dx = alloc(c.dtype, c.planes * inPlane);
  for (let p = 0; p < c.planes; p++) {
    eachWindow(c, (o, taps) => {
      const g = (dy[p * outPlane + o] as number) / (div[o] as number);
      for (const t of taps) dx[p * inPlane + t] = (dx[p * inPlane + t] as number) + g;
    });
  }
  return dx;
}

// ------------------------------------------------------------------ inputs

/** mulberry32: a tiny deterministic generator for filling test inputs from a fast-check seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = [NaN, Infinity, -Infinity, -0, 0];

/**
 * mode 0: distinct continuous values; 1: small integers (many ties); 2: small integers with
 * NaN, ±∞ and ±0 mixed in; 3: mostly NaN and −∞ (last-NaN and all-−∞ windows).
 */
function fill(dtype: FloatDType, n: number, seed: number, mode: number): FloatArray {
  const r = rng(seed);
  const a = alloc(dtype, n);
  for (let i = 0; i < n; i++) {
    const u = r();
    // full 53-bit mantissas over a spread of exponents, so that summing in another order rounds differently
    if (mode === 0) a[i] = (u + r() * 2 ** -32 - 0.5) * 2 ** Math.floor(r() * 16 - 8);
    else if (mode === 1) a[i] = Math.floor(u * 4) - 1;
    else if (mode === 2) a[i] = u < 0.25 ? (SPECIAL[Math.floor(r() * SPECIAL.length)] as number) : Math.floor(r() * 4) - 1;
    else a[i] = u < 0.4 ? NaN : u < 0.8 ? -Infinity : Math.floor(r() * 3);
  }
  return a;
}

/** First position where two arrays differ bit for bit (Object.is: NaN = NaN, −0 ≠ 0), or null. */
function firstDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) return `index ${i}: got ${actual[i]}, expected ${expected[i]}`;
  }
  return null;
}

function expectSame(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(firstDiff(actual, expected), what).toBeNull();
}

const dtypeArb = fc.constantFrom<FloatDType>("float32", "float64");

/** Sliding-window cases of rank 1–3: kernel/stride/padding/dilation/ceil per axis, PyTorch's padding limit. */
const slidingArb = fc
  .record({
    dtype: dtypeArb,
    planes: fc.integer({ min: 1, max: 3 }),
    axes: fc.array(
      fc.record({
        inSize: fc.integer({ min: 1, max: 12 }),
        k: fc.integer({ min: 1, max: 4 }),
        s: fc.integer({ min: 1, max: 3 }),
        d: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 3 })),
        pf: fc.double({ min: 0, max: 1, noNaN: true }),
        ceilMode: fc.boolean(),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .map(({ dtype, planes, axes }) => {
    const specs = axes.map(({ inSize, k, s, d, pf, ceilMode }) => {
      const p = Math.floor(pf * Math.floor(((k - 1) * d + 1) / 2));
      return { inSize, k, s, d, p, ceilMode };
    });
    return { dtype, planes, specs };
  })
  .filter(({ specs }) => specs.every((a) => refSliding(a.inSize, a.k, a.s, a.p, a.d, a.ceilMode).outSize >= 1));

function slidingCase(dtype: FloatDType, planes: number, specs: readonly { inSize: number; k: number; s: number; d: number; p: number; ceilMode: boolean }[]): Case {
  const ref: RefAxis[] = [];
  const axes: Axis[] = [];
  for (let i = specs.length; i < 3; i++) {
    ref.push(REF_TRIVIAL);
    axes.push(TRIVIAL_AXIS);
  }
  for (const a of specs) {
    ref.push(refSliding(a.inSize, a.k, a.s, a.p, a.d, a.ceilMode));
    axes.push(slidingAxis(a.inSize, a.k, a.s, a.p, a.d, a.ceilMode));
  }
  return { dtype, planes, ref: ref as unknown as Case["ref"], axes: axes as unknown as Axes3 };
}

const adaptiveArb = fc.record({
  dtype: dtypeArb,
  planes: fc.integer({ min: 1, max: 3 }),
  axes: fc.array(fc.record({ inSize: fc.integer({ min: 1, max: 12 }), outSize: fc.integer({ min: 1, max: 12 }) }), { minLength: 1, maxLength: 3 }),
});

function adaptiveCase(dtype: FloatDType, planes: number, specs: readonly { inSize: number; outSize: number }[]): Case {
  const ref: RefAxis[] = [];
  const axes: Axis[] = [];
  for (let i = specs.length; i < 3; i++) {
    ref.push(REF_TRIVIAL);
    axes.push(TRIVIAL_AXIS);
  }
  for (const a of specs) {
    ref.push(refAdaptive(a.inSize, a.outSize));
    axes.push(adaptiveAxis(a.inSize, a.outSize));
  }
  return { dtype, planes, ref: ref as unknown as Case["ref"], axes: axes as unknown as Axes3 };
}

const valuesArb = fc.record({ seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }), mode: fc.integer({ min: 0, max: 3 }) });

/** Runs every kernel on the case and compares with the reference, bit for bit. */
function checkAll(c: Case, seed: number, mode: number, countIncludePad: boolean, divisorOverride: number | undefined): void {
  const inPlane = inPlaneOf(c);
  const outPlane = outPlaneOf(c);
  const x = fill(c.dtype, c.planes * inPlane, seed, mode);
  const xCopy = x.slice();
  const dy = fill(c.dtype, c.planes * outPlane, seed + 1, 0);

  // max forward: values and indices
  const y = alloc(c.dtype, c.planes * outPlane);
  const idx = new Int32Array(c.planes * outPlane);
  maxWindowsForward(x, y, idx, c.planes, c.axes);
  const want = refMax(c, x);
  expectSame("max values", y, want.y);
  expectSame("max indices", idx, want.idx);

  // max backward (accumulating into a non-zero dx, as a second backward call would)
  const dx0 = fill(c.dtype, c.planes * inPlane, seed + 2, 0);
  const dxMax = dx0.slice();
  maxWindowsBackward(dy, idx, dxMax, c.planes, inPlane, outPlane);
  expectSame("max gradient", dxMax, refMaxBackward(c, dy, want.idx, dx0));

  // avg forward and backward with the same divisors as PyTorch
  const div = avgDivisors(c.axes, countIncludePad, divisorOverride);
  const wantDiv = refDivisors(c, countIncludePad, divisorOverride);
  expectSame("avg divisors", div, wantDiv);
  const ya = alloc(c.dtype, c.planes * outPlane);
  avgWindowsForward(x, ya, c.planes, c.axes, div);
  expectSame("avg values", ya, refAvg(c, x, wantDiv));
  const dxa = alloc(c.dtype, c.planes * inPlane);
  avgWindowsBackward(dy, dxa, c.planes, c.axes, div);
  expectSame("avg gradient", dxa, refAvgBackward(c, dy, wantDiv));

  expectSame("x untouched", x, xCopy);
}

// ------------------------------------------------------------------ tests

describe("window kernels vs a simple reference (exact)", () => {
  it("sliding windows of rank 1–3: any kernel/stride/padding/dilation/ceil mode, ties, NaN, ±∞, ±0", () => {
    fc.assert(
      fc.property(slidingArb, valuesArb, fc.boolean(), fc.option(fc.integer({ min: 1, max: 7 }), { nil: undefined }), ({ dtype, planes, specs }, v, cip, dov) => {
        checkAll(slidingCase(dtype, planes, specs), v.seed, v.mode, cip, dov);
      }),
      { numRuns: 400 },
    );
  });

  it("2-d and 3-d k3 and k2 windows without dilation (the unrolled paths) on larger planes", () => {
    const arb = fc.record({
      dtype: dtypeArb,
      depth: fc.option(fc.integer({ min: 2, max: 6 }), { nil: undefined }),
      h: fc.integer({ min: 2, max: 20 }),
      w: fc.integer({ min: 2, max: 20 }),
      k: fc.constantFrom(2, 3),
      s: fc.integer({ min: 1, max: 3 }),
      p: fc.integer({ min: 0, max: 1 }),
      ceilMode: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, valuesArb, fc.boolean(), ({ dtype, depth, h, w, k, s, p, ceilMode }, v, cip) => {
        const sizes = depth === undefined ? [h, w] : [depth, h, w];
        const specs = sizes.map((inSize) => ({ inSize, k, s, d: 1, p, ceilMode }));
        fc.pre(specs.every((a) => refSliding(a.inSize, a.k, a.s, a.p, a.d, a.ceilMode).outSize >= 1));
        checkAll(slidingCase(dtype, 2, specs), v.seed, v.mode, cip, undefined);
      }),
      { numRuns: 300 },
    );
  });

  it("adaptive windows of rank 1–3 (variable window sizes)", () => {
    fc.assert(
      fc.property(adaptiveArb, valuesArb, ({ dtype, planes, axes }, v) => {
        checkAll(adaptiveCase(dtype, planes, axes), v.seed, v.mode, true, undefined);
      }),
      { numRuns: 200 },
    );
  });

  // Exhaustive over small value alphabets for the fixed-size tournaments: every tie/NaN pattern.
  const exhaustive = (h: number, w: number, alphabet: readonly number[]) => () => {
    const n = h * w;
    const c = slidingCase("float64", 1, [
      { inSize: h, k: h, s: 1, d: 1, p: 0, ceilMode: false },
      { inSize: w, k: w, s: 1, d: 1, p: 0, ceilMode: false },
    ]);
    const x = new Float64Array(n);
    const y = new Float64Array(1);
    const idx = new Int32Array(1);
    let count = 0;
    for (let code = 0; code < alphabet.length ** n; code++) {
      let rest = code;
      for (let i = 0; i < n; i++) {
        x[i] = alphabet[rest % alphabet.length] as number;
        rest = Math.floor(rest / alphabet.length);
      }
      maxWindowsForward(x, y, idx, 1, c.axes);
      const want = refMax(c, x);
      if (!Object.is(y[0], want.y[0]) || idx[0] !== want.idx[0]) {
        throw new Error(`x = [${Array.from(x).join(", ")}]: got ${y[0]} at ${idx[0]}, expected ${want.y[0]} at ${want.idx[0]}`);
      }
      count++;
    }
    expect(count).toBe(alphabet.length ** n);
  };
  it("3×3 window: every assignment of {1, 2, NaN}", exhaustive(3, 3, [1, 2, NaN]));
  it("2×2 window: every assignment of {−∞, −0, 0, 1, NaN}", exhaustive(2, 2, [-Infinity, -0, 0, 1, NaN]));
  it("2×3 and 3×2 windows (row tournaments): every assignment of {0, 1, NaN}", () => {
    exhaustive(2, 3, [0, 1, NaN])();
    exhaustive(3, 2, [0, 1, NaN])();
  });

  it("hand-worked 4×4, k3 s1: ties go to the first maximum, the last NaN wins, −0 before 0 stays −0", () => {
    const c = slidingCase("float32", 1, [
      { inSize: 4, k: 3, s: 1, d: 1, p: 0, ceilMode: false },
      { inSize: 4, k: 3, s: 1, d: 1, p: 0, ceilMode: false },
    ]);
    // prettier-ignore
    const x = Float32Array.from([
      -0, 0, 5, 5,
      0, 0, NaN, 1,
      5, 0, 0, NaN,
      0, 0, 0, 0,
    ]);
    const y = new Float32Array(4);
    const idx = new Int32Array(4);
    maxWindowsForward(x, y, idx, 1, c.axes);
    // windows at (0,0): rows 0–2 cols 0–2 → NaN at 6; (0,1): NaN at 6 then 11 → 11;
    // (1,0): rows 1–3 cols 0–2 → NaN at 6; (1,1): rows 1–3 cols 1–3 → last NaN 11.
    expect(Array.from(idx)).toEqual([6, 11, 6, 11]);
    expect(y.every((v) => Number.isNaN(v))).toBe(true);
    const x2 = Float32Array.from([-0, 0, 0, -1, 5, 0, 5, 0, 0, 2, 0, 0, 0, 0, 0, 5]);
    maxWindowsForward(x2, y, idx, 1, c.axes);
    // rows: [−0 0 0 −1] [5 0 5 0] [0 2 0 0] [0 0 0 5]. (0,0) and (1,0): the 5s at 4 and 6 tie → 4;
    // (0,1): 5 at 6; (1,1): the 5s at 6 and 15 tie → 6.
    expect(Array.from(idx)).toEqual([4, 6, 4, 6]);
    expect(Array.from(y)).toEqual([5, 5, 5, 5]);
    const zeros = Float32Array.from([-0, 0, 0, 0, -0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    maxWindowsForward(zeros, y, idx, 1, c.axes);
    expect(Object.is(y[0], -0)).toBe(true); // −0 first, 0 is not greater
    expect(Object.is(y[1], 0)).toBe(true);
  });

  it("average of −0 taps is +0 (sums start from 0, as PyTorch's accumulator) for 3×3, 2×2 and other windows", () => {
    for (const k of [3, 2, 4]) {
      const c = slidingCase("float64", 1, [
        { inSize: 4, k, s: 1, d: 1, p: 0, ceilMode: false },
        { inSize: 4, k, s: 1, d: 1, p: 0, ceilMode: false },
      ]);
      const x = new Float64Array(16).fill(-0);
      const y = new Float64Array(outPlaneOf(c)).fill(NaN);
      avgWindowsForward(x, y, 1, c.axes, avgDivisors(c.axes, true));
      expect(Array.from(y, (v) => Object.is(v, 0)), `k${k}`).toEqual(Array.from(y, () => true));
    }
  });
});
