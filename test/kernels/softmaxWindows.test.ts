/**
 * SoftPool/LIP window kernels (src/ops/softmaxWindows.ts) against a direct reference written here
 * from the formula y = Σ e^{L−m} x / Σ e^{L−m} (m = the window's largest logit) and its gradient
 * dx_i += dy·w_i, dL_i += dy·w_i·(x_i − y) (y unrounded, in float64), recomputing every exponential where it is used. The
 * kernels cache a window's exponentials between passes; results must be the same bits.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { softmaxWindowsBackward, softmaxWindowsForward } from "../../src/kernels/weighted.js";
import { slidingAxis } from "../../src/geometry/sliding.js";
import { TRIVIAL_AXIS, type Axes3, type Axis } from "../../src/geometry/plan.js";
import type { FloatArray, FloatDType } from "../../src/tensor/dtype.js";

const alloc = (dtype: FloatDType, n: number): FloatArray => (dtype === "float32" ? new Float32Array(n) : new Float64Array(n));

/** Flat in-plane tap lists of every window, in output order and d, h, w scan order. */
function windows(axes: Axes3): number[][] {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const out: number[][] = [];
  const taps = (a: Axis, o: number) => {
    const t: number[] = [];
    for (let i = a.start[o] as number; i < (a.end[o] as number); i += a.step) t.push(i);
    return t;
  };
  for (let oa = 0; oa < A.outSize; oa++)
    for (let ob = 0; ob < B.outSize; ob++)
      for (let oc = 0; oc < C.outSize; oc++) {
        const w: number[] = [];
        for (const a of taps(A, oa)) for (const b of taps(B, ob)) for (const c of taps(C, oc)) w.push((a * H + b) * W + c);
        out.push(w);
      }
  return out;
}

function reference(x: FloatArray, L: FloatArray, dy: FloatArray, dtype: FloatDType, planes: number, axes: Axes3, withDL: boolean, aliasDL: boolean) {
  const ws = windows(axes);
  const inPlane = axes[0].inSize * axes[1].inSize * axes[2].inSize;
  const y = alloc(dtype, planes * ws.length);
  const dx = alloc(dtype, x.length);
  const dL = aliasDL ? dx : alloc(dtype, x.length);
  for (let p = 0; p < planes; p++) {
    ws.forEach((w, o) => {
      const at = (t: number) => p * inPlane + t;
      let m = -Infinity;
      for (const t of w) if ((L[at(t)] as number) > m) m = L[at(t)] as number;
      let s = 0;
      let sx = 0;
      for (const t of w) {
        s += Math.exp((L[at(t)] as number) - m);
        sx += Math.exp((L[at(t)] as number) - m) * (x[at(t)] as number);
      }
      y[p * ws.length + o] = sx / s;
    });
  }
  for (let p = 0; p < planes; p++) {
    ws.forEach((w, o) => {
      const at = (t: number) => p * inPlane + t;
      let m = -Infinity;
      for (const t of w) if ((L[at(t)] as number) > m) m = L[at(t)] as number;
      let s = 0;
      let sx = 0;
      for (const t of w) {
        s += Math.exp((L[at(t)] as number) - m);
        sx += Math.exp((L[at(t)] as number) - m) * (x[at(t)] as number);
      }
      const yo = sx / s; // y before rounding to the dtype (the backward kernel's x − y uses it)
      const gs = (dy[p * ws.length + o] as number) / s;
      for (const t of w) {
        const gw = gs * Math.exp((L[at(t)] as number) - m);
        const xj = x[at(t)] as number;
        dx[at(t)] = (dx[at(t)] as number) + gw;
        if (withDL) dL[at(t)] = (dL[at(t)] as number) + gw * (xj - yo);
      }
    });
  }
  return { y, dx, dL };
}

function same(a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `index ${i}: got ${a[i]}, expected ${b[i]}`;
  return a.length === b.length ? null : `length ${a.length} != ${b.length}`;
}

describe("softmax window kernels vs a direct reference (exact)", () => {
  it("forward and backward (separate logits, no logit gradient, SoftPool's aliased dL = dx) on random sliding plans", () => {
    const arb = fc.record({
      dtype: fc.constantFrom<FloatDType>("float32", "float64"),
      planes: fc.integer({ min: 1, max: 3 }),
      axes: fc.array(
        fc.record({ inSize: fc.integer({ min: 1, max: 9 }), k: fc.integer({ min: 1, max: 4 }), s: fc.integer({ min: 1, max: 3 }), pf: fc.double({ min: 0, max: 1, noNaN: true }), ceilMode: fc.boolean() }),
        { minLength: 1, maxLength: 3 },
      ),
      values: fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { minLength: 1, maxLength: 64 }),
      mode: fc.constantFrom("lip", "official", "exact"),
    });
    fc.assert(
      fc.property(arb, ({ dtype, planes, axes, values, mode }) => {
        const specs = axes.map((a) => ({ ...a, p: Math.floor(a.pf * Math.floor(a.k / 2)) }));
        fc.pre(specs.every((a) => Math.floor((a.inSize + 2 * a.p - a.k + (a.ceilMode ? a.s - 1 : 0)) / a.s) + 1 >= 1));
        const full: Axis[] = [];
        for (let i = specs.length; i < 3; i++) full.push(TRIVIAL_AXIS);
        for (const a of specs) full.push(slidingAxis(a.inSize, a.k, a.s, a.p, 1, a.ceilMode));
        const ax = full as unknown as Axes3;
        const inPlane = ax[0].inSize * ax[1].inSize * ax[2].inSize;
        const outPlane = ax[0].outSize * ax[1].outSize * ax[2].outSize;
        const n = planes * inPlane;
        const x = alloc(dtype, n).map((_, i) => values[i % values.length] as number);
        const L = mode === "lip" ? alloc(dtype, n).map((_, i) => (values[(i * 7 + 3) % values.length] as number) / 3) : x;
        const dy = alloc(dtype, planes * outPlane).map((_, i) => Math.sin(i + 1));
        const want = reference(x, L, dy, dtype, planes, ax, mode !== "official", mode === "exact");
        const y = alloc(dtype, planes * outPlane);
        softmaxWindowsForward(x, L, y, planes, ax);
        expect(same(y, want.y)).toBeNull();
        const dx = alloc(dtype, n);
        const dL = mode === "lip" ? alloc(dtype, n) : mode === "exact" ? dx : null;
        softmaxWindowsBackward(x, L, y, dy, dx, dL, planes, ax);
        expect(same(dx, want.dx)).toBeNull();
        if (mode === "lip") expect(same(dL as FloatArray, want.dL)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
