/**
 * Average pooling forward for strided windows on the WebAssembly backends (assembly/avgrows.ts,
 * avgRowsForward, taken by src/backends/wasm/avgrows.ts for plans of step 1 whose interior run has
 * stride ≥ 2), SIMD and scalar builds, against the TypeScript reference kernel (avgWindowsForward,
 * float64 sums in scan order divided in float64, rounded once to float32).
 *
 * Bound (as test/backends/wasm-kernels.test.ts derives it for the window kernels; Higham, Accuracy
 * and Stability of Numerical Algorithms, 2nd ed., §3.1, §4.2; u = 2⁻²⁴, γ(m) = m·u/(1 − m·u)): the
 * kernel's ŝ is a float32 sum of the window's n ≤ K taps in some order (rows first, then columns;
 * the padding lane adds an exact +0), |ŝ − S| ≤ γ(n−1)·Σ|x|; ŝ + 0 is exact; dividing by d̂ = fl32(d)
 * adds two roundings, so |ŷ − S/d| ≤ γ(n+1)·Σ|x|/|d|; the reference is within γ(1)·Σ|x|/|d| +
 * 2⁻²⁴·|y_ref|·(1 + u) of S/d; with Σ|x|/|d| ≤ |a|·(1 + γ(2)) (a = the reference's average of |x|)
 * the test allows |ŷ − y_ref| ≤ γ(K+4)·|a| + 2⁻²³·|y_ref|. NaN must match NaN, ±∞ the same infinity
 * (inputs stay far from float32 overflow), −0 and +0 count as equal; every output is written (y
 * starts as garbage). Results on 2 and 3 threads (every split forced) are bit-identical to 1 thread.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, getThreads, setBackend, setThreads } from "../../src/backends/index.js";
import { avgRowsRun, avgRowsScratch, avgRowsStats } from "../../src/backends/wasm/avgrows.js";
import { isWide } from "../../src/backends/wasm/adaptive.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { setMinPartBytes } from "../../src/backends/wasm/threads.js";
import { spatialShapeInput } from "../../src/check.js";
import { planAdaptiveFor } from "../../src/geometry/adaptive.js";
import { avgDivisors } from "../../src/geometry/divisors.js";
import { makePlan, type WindowPlan } from "../../src/geometry/plan.js";
import { planSlidingFor, slidingGeometry } from "../../src/geometry/sliding.js";
import { kernel } from "../../src/kernels/registry.js";
import { avgWindowsForward } from "../../src/kernels/window.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor } from "../../src/tensor/tensor.js";
import { firstBitDifference, firstFarDifference, gamma32, int, values, WASM } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

const GARBAGE = 12345.5;

interface Case {
  p: WindowPlan;
  divisor: Float64Array;
  label: string;
}

/** A strided sliding plan (stride ≥ 2 on the last axis; padding, ceil mode, count_include_pad false, divisor_override) or adaptive bins. */
function randomCase(g: Generator): Case | null {
  const rank = g.uniform() < 0.5 ? 2 : g.uniform() < 0.5 ? 1 : 3;
  const big = rank === 3 ? 19 : 113;
  const spatial = Array.from({ length: rank }, (_, i) => (i === rank - 1 ? int(g, 1, 113) : g.uniform() < 0.2 ? int(g, 1, 3) : int(g, 1, big)));
  const shape = [int(g, 1, 2), int(g, 1, 3), ...spatial];
  const input = spatialShapeInput("test", "x", shape, rank);
  try {
    if (g.uniform() < 0.1) {
      const out = spatial.map((s) => int(g, 1, s));
      const p = planAdaptiveFor("test", input, out);
      return { p, divisor: avgDivisors(p.axes, true), label: `adaptive [${shape}] → [${out}]` };
    }
    const k = Array.from({ length: rank }, () => (g.uniform() < 0.6 ? int(g, 2, 3) : int(g, 1, 5)));
    const stride = k.map((kk, i) => (i === rank - 1 ? (g.uniform() < 0.6 ? 2 : int(g, 2, kk + 2)) : int(g, 1, kk + 1)));
    const padding = k.map((kk) => int(g, 0, Math.floor(kk / 2)));
    const ceilMode = g.uniform() < 0.4;
    const p = planSlidingFor("test", input, slidingGeometry("test", { kernelSize: k, stride, padding, ceilMode }, rank));
    const v = g.uniform();
    const countIncludePad = v >= 0.35;
    const override = v > 0.8 ? (int(g, -3, 12) || 1) : undefined;
    const divisor = avgDivisors(p.axes, countIncludePad, override);
    return { p, divisor, label: `[${shape}] k [${k}] s [${stride}] p [${padding}] ceil ${ceilMode} countIncludePad ${countIncludePad} override ${override}` };
  } catch {
    return null;
  }
}

/** The reference on x and on |x|, and the largest window's tap count. */
function reference(c: Case, x: Float32Array): { y: Float32Array; a: Float32Array; K: number } {
  const { p, divisor } = c;
  const y = new Float32Array(p.planes * p.outPlaneSize);
  const a = new Float32Array(y.length);
  avgWindowsForward(x, y, p.planes, p.axes, divisor);
  avgWindowsForward(x.map(Math.abs), a, p.planes, p.axes, divisor);
  let K = 1;
  for (const ax of p.axes) {
    let m = 0;
    for (let o = 0; o < ax.outSize; o++) m = Math.max(m, (ax.end[o] as number) - (ax.start[o] as number));
    K *= m;
  }
  return { y, a, K };
}

/**
 * The modes of avgRowsForward's output rows in a plan (assembly/avgrows.ts, for stride 2 and width 2
 * or 3): "rows" (1–4 window rows in registers), "grid" (3-d windows of 2–3 × 2–3 rows in
 * registers), "scratch" (column sums through the scratch row).
 */
function rowModes(p: WindowPlan): Set<string> {
  const [A, B] = p.axes;
  const modes = new Set<string>();
  for (let oa = 0; oa < A.outSize; oa++) {
    for (let ob = 0; ob < B.outSize; ob++) {
      const na = (A.end[oa] as number) - (A.start[oa] as number);
      const nb = (B.end[ob] as number) - (B.start[ob] as number);
      if (na * nb > 0) modes.add(na * nb <= 4 ? "rows" : na <= 3 && nb <= 3 ? "grid" : "scratch");
    }
  }
  return modes;
}

/** The wasm kernel's output for case c on the active backend (x and y made under `inputsOn`, y full of garbage). */
function runKernel(c: Case, x: Float32Array, b: string, inputsOn: string): Float32Array {
  const { p, divisor } = c;
  setBackend(inputsOn as "js");
  const tx = tensor(x, [x.length], "float32");
  const ty = tensor(new Float32Array(p.planes * p.outPlaneSize).fill(GARBAGE), [p.planes * p.outPlaneSize], "float32");
  setBackend(b as "wasm");
  const impl = kernel("avgWindows.forward", "float32", avgWindowsForward);
  expect(impl).not.toBe(avgWindowsForward);
  impl(tx.data as Float32Array, ty.data as Float32Array, p.planes, p.axes, divisor);
  const out = (ty.data as Float32Array).slice();
  tx.dispose();
  ty.dispose();
  return out;
}

function check(label: string, got: Float32Array, r: { y: Float32Array; a: Float32Array; K: number }): void {
  const g = gamma32(r.K + 4);
  expect(firstFarDifference(got, r.y, (j) => g * Math.abs(r.a[j] as number) + 2 ** -23 * Math.abs(r.y[j] as number)), label).toBeNull();
}

describe("avgRowsForward: strided average pooling forward against the TypeScript reference", () => {
  for (const b of WASM) {
    for (const inputsOn of [b, "js"] as const) {
      it(`${b}, inputs in ${inputsOn === "js" ? "the JS heap (copied in)" : "WebAssembly memory"}: random 1-d/2-d/3-d strided plans, sizes 1–113`, () => {
        const g = new Generator(b === "wasm" ? 41 : 43);
        let cases = 0;
        let tries = 0;
        const seen = new Map<string, number>();
        while (cases < 150 && tries < 3000) {
          tries++;
          const c = randomCase(g);
          if (c === null || c.p.planes * c.p.inPlaneSize === 0 || c.p.outPlaneSize === 0) continue;
          // (wide windows go to assembly/adaptive.ts before this kernel is asked)
          const run = avgRowsRun(c.p.axes);
          if (run === null || isWide(c.p.axes)) continue;
          cases++;
          const C = c.p.axes[2];
          const pairs = run.s === 2 && (run.k === 2 || run.k === 3);
          // no scratch row is passed only where no output row needs one (the kernel would write at address 0)
          if (!avgRowsScratch(c.p.axes, run)) expect(pairs && !rowModes(c.p).has("scratch"), `${c.label}: scratch row`).toBe(true);
          for (const mode of pairs ? rowModes(c.p) : ["other"]) {
            const kind = pairs ? `s2k${run.k}${run.c0 < 0 ? " pad" : ""} ${mode}` : mode;
            seen.set(kind, (seen.get(kind) ?? 0) + 1);
          }
          const x = values(g, c.p.planes * c.p.inPlaneSize);
          const before = avgRowsStats.calls;
          const got = runKernel(c, x, b, inputsOn);
          expect(avgRowsStats.calls, `${c.label}: avgRowsForward taken`).toBe(before + 1);
          check(`${c.label} [${C.inSize}] on ${b}`, got, reference(c, x));
        }
        expect(cases).toBe(150);
        // every kind of run: stride 2 width 2 and 3 (with the padding column) in each row mode, other strides and widths
        // (the hand-picked plans below take every mode with and without the padding column at every size)
        for (const kind of ["s2k2 rows", "s2k3 rows", "s2k3 pad rows", "other"]) expect(seen.get(kind) ?? 0, `${kind} in ${JSON.stringify([...seen])}`).toBeGreaterThan(5);
        for (const mode of ["grid", "scratch"]) expect([...seen].filter(([kind]) => kind.endsWith(mode)).length, `${mode} in ${JSON.stringify([...seen])}`).toBeGreaterThan(0);
      });
    }
  }

  it.each(WASM)("%s: hand-picked plans — k3 s2 p1 and k2 s2 on odd and even sizes, 4–9 outputs per row, the row's tail block, every row mode", (b) => {
    const g = new Generator(3);
    const handModes = new Set<string>();
    for (const W of [7, 8, 9, 10, 11, 12, 15, 16, 17, 18, 56, 57]) {
      for (const [k, s, pad] of [[3, 2, 1], [3, 2, 0], [2, 2, 0], [2, 2, 1], [3, 3, 1], [5, 3, 2], [4, 2, 2]] as [number, number, number][]) {
        for (const ceilMode of [false, true]) {
          // 1-d; 2-d; 2-d windows 5 rows tall (scratch mode); 3-d windows up to 2 × 3 and 3 × 3 rows (grid)
          const variants: [number[], number[], number[], number[]][] = [
            [[W], [k], [s], [pad]],
            [[5, W], [k, k], [s, s], [pad, pad]],
            [[9, W], [5, k], [2, s], [2, pad]],
            [[3, 4, W], [k, k, k], [s, s, s], [pad, pad, pad]],
            [[5, 5, W], [3, 3, k], [1, 2, s], [1, 1, pad]],
          ];
          for (const [spatial, kernelSize, stride, padding] of variants) {
            const rank = spatial.length as 1 | 2 | 3;
            const shape = [2, 1, ...spatial];
            const input = spatialShapeInput("test", "x", shape, rank);
            let p: WindowPlan;
            try {
              p = planSlidingFor("test", input, slidingGeometry("test", { kernelSize, stride, padding, ceilMode }, rank));
            } catch {
              continue;
            }
            for (const countIncludePad of [true, false]) {
              const c: Case = { p, divisor: avgDivisors(p.axes, countIncludePad), label: `[${shape}] k [${kernelSize}] s [${stride}] p [${padding}] ceil ${ceilMode} cip ${countIncludePad}` };
              const run = avgRowsRun(p.axes);
              // from 16 columns on, every plan here has at least 4 full windows along the last axis
              if (W >= 16) expect(run, c.label).not.toBeNull();
              if (run === null) continue;
              if (k === 3 && s === 2 && pad === 1) expect(run?.c0, c.label).toBe(-1);
              const x = values(g, p.planes * p.inPlaneSize);
              const before = avgRowsStats.calls;
              const got = runKernel(c, x, b, b);
              expect(avgRowsStats.calls).toBe(before + 1);
              check(`${c.label} on ${b}`, got, reference(c, x));
              if (s === 2 && (k === 2 || k === 3)) for (const m of rowModes(p)) handModes.add(`${m}${run.c0 < 0 ? " pad" : ""}`);
            }
          }
        }
      }
    }
    expect([...handModes].sort()).toEqual(["grid", "grid pad", "rows", "rows pad", "scratch", "scratch pad"]);
  });

  it.each(WASM)("%s: hand-made axes — a first window [0, 3) before a 3-wide stride-2 run from column 1 stays a border window (only [0, 2) is the padding column's)", (b) => {
    const g = new Generator(8);
    for (const first of [1, 2, 3]) {
      // columns: window 0 = [0, first), then windows [1 + 2i, 4 + 2i), i < 6, over 13 columns
      const start = Int32Array.from([0, 1, 3, 5, 7, 9, 11]);
      const end = Int32Array.from([first, 4, 6, 8, 10, 12, 13]);
      const C = { inSize: 13, outSize: 7, start, end, step: 1, padCount: Int32Array.from(end, (e, i) => e - (start[i] as number)) };
      const p = makePlan("test", { batched: true, n: 2, c: 1, spatial: [13] }, [C]);
      const run = avgRowsRun(p.axes);
      expect(run, `first window [0, ${first})`).not.toBeNull();
      if (first === 2) expect(run?.c0).toBe(-1);
      else expect(run?.c0).not.toBe(-1);
      const c: Case = { p, divisor: avgDivisors(p.axes, true), label: `hand-made, first window [0, ${first})` };
      const x = values(g, p.planes * p.inPlaneSize, false);
      check(`${c.label} on ${b}`, runKernel(c, x, b, b), reference(c, x));
    }
  });

  it.each(WASM)("%s: windows of signed zeros give the reference's zero bit for bit (+0 / d: an all-(−0) window sums to +0, as from the reference's +0 start)", (b) => {
    const g = new Generator(12);
    for (const [spatial, k, pad] of [[[40], 3, 1], [[6, 41], 3, 1], [[5, 33], 2, 0], [[4, 5, 37], 3, 1], [[9, 30], 5, 2]] as [number[], number, number][]) {
      const rank = spatial.length as 1 | 2 | 3;
      const shape = [2, 2, ...spatial];
      const input = spatialShapeInput("test", "x", shape, rank);
      const kernelSize = spatial.map((_, i) => (i === rank - 1 ? Math.min(k, 3) : k));
      const p = planSlidingFor("test", input, slidingGeometry("test", { kernelSize, stride: 2, padding: spatial.map((_, i) => (i === rank - 1 ? Math.min(pad, 1) : pad)) }, rank));
      expect(avgRowsRun(p.axes)).not.toBeNull();
      for (const override of [undefined, 3, -3]) {
        const c: Case = { p, divisor: avgDivisors(p.axes, true, override), label: `[${shape}] zeros, divisor ${override}` };
        for (const x of [new Float32Array(p.planes * p.inPlaneSize).fill(-0), Float32Array.from({ length: p.planes * p.inPlaneSize }, () => (g.uniform() < 0.9 ? -0 : 0))]) {
          const r = reference(c, x);
          expect(firstBitDifference(runKernel(c, x, b, b), r.y), `${c.label} on ${b}`).toBeNull();
        }
      }
    }
  });

  it("plans the kernel leaves to avgForward: stride 1, fewer than 4 full windows per row", () => {
    const input = spatialShapeInput("test", "x", [1, 1, 9, 56], 2);
    expect(avgRowsRun(planSlidingFor("test", input, slidingGeometry("test", { kernelSize: 3, stride: 1, padding: 1 }, 2)).axes)).toBeNull();
    const narrow = spatialShapeInput("test", "x", [1, 1, 9, 7], 2);
    expect(avgRowsRun(planSlidingFor("test", narrow, slidingGeometry("test", { kernelSize: 3, stride: 2 }, 2)).axes)).toBeNull();
  });
});

describe("avgRowsForward on 2 and 3 threads: bit-identical to 1 thread (every split forced)", () => {
  for (const b of WASM) {
    it(b, async () => {
      setBackend(b);
      await setThreads(1);
      setMinPartBytes(0);
      try {
        const g = new Generator(59);
        const all: { c: Case; x: Float32Array }[] = [];
        while (all.length < 24) {
          const c = randomCase(g);
          if (c === null || c.p.planes < 2 || c.p.outPlaneSize === 0 || avgRowsRun(c.p.axes) === null || isWide(c.p.axes)) continue;
          all.push({ c, x: values(g, c.p.planes * c.p.inPlaneSize) });
        }
        // plans whose every interior row takes the scratch row (2-d windows 5 rows tall), many planes: each thread needs its own
        for (const [shape, kernelSize, stride, padding] of [[[3, 4, 40, 113], [5, 3], [1, 2], [2, 1]], [[2, 6, 30, 90], [5, 4], [1, 3], [2, 2]]] as [number[], number[], number[], number[]][]) {
          const p = planSlidingFor("test", spatialShapeInput("test", "x", shape, 2), slidingGeometry("test", { kernelSize, stride, padding }, 2));
          const run = avgRowsRun(p.axes);
          expect(run !== null && avgRowsScratch(p.axes, run)).toBe(true);
          all.push({ c: { p, divisor: avgDivisors(p.axes, false), label: `[${shape}] k [${kernelSize}] s [${stride}] p [${padding}]` }, x: values(g, p.planes * p.inPlaneSize) });
        }
        const refs = all.map(({ c, x }) => runKernel(c, x, b, b));
        all.forEach(({ c, x }, i) => check(`${c.label} on ${b}`, refs[i] as Float32Array, reference(c, x)));
        for (const n of [2, 3]) {
          setBackend(b);
          await setThreads(n);
          expect(getThreads()).toBe(n);
          all.forEach(({ c, x }, i) => {
            const calls = activeWasm()!.pool!.stats.splitCalls;
            expect(firstBitDifference(runKernel(c, x, b, b), refs[i] as Float32Array), `${c.label} on ${n} threads`).toBeNull();
            expect(activeWasm()!.pool!.stats.splitCalls, `${c.label}: split`).toBeGreaterThan(calls);
          });
        }
      } finally {
        setMinPartBytes(undefined);
        await setThreads(1);
      }
    });
  }
});
