/**
 * Average pooling's backward for strided windows on the wasm backends: assembly/avgstrided.ts
 * avgBackwardPasses, the "passes" path of `avgWindows.backwardWrite` (src/backends/wasm/index.ts,
 * avgWritePlan and passGeometry). It writes each dx element once with the reference's float
 * operations in the reference's order — g = f64(dy) / divisor, then fl32(…fl32(fl32(0 + g₁) + g₂)…)
 * over the outputs holding the element in scan order (src/kernels/window.ts, zero fill then
 * avgWindowsBackward) — so it must equal the reference BIT FOR BIT (no error bound): ±0 in dy (0 + (−0)
 * is +0, a tiny negative quotient rounds to −0), subnormals, ±max, NaN and ±∞, positions no window
 * holds (+0), dx starting as garbage.
 *
 * Checked: the program of a hand-worked plan (rows from earlier rows, column runs, the SIMD
 * interior); random strided plans, 1-d/2-d/3-d, sizes 1–113 (odd, 1, smaller than the kernel),
 * padding, ceil mode, count_include_pad false, divisor_override, stride 1 along some axes (rows of
 * several passes), kernels up to 7 (interior patterns of 1–3 terms and none), on both builds, inputs
 * in WebAssembly memory and in the JS heap — with counts that each branch of the kernel ran (the
 * interior's literal and run-time term counts, row pairs — kernel 3's own loop among them — copies,
 * rows no window holds, several passes, scalar border columns); dilated windows stay off this path; every call split over 2 threads
 * (each way a part can run).
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, setThreads } from "../../src/backends/index.js";
import { activeWasm, avgWritePlan, passGeometry, type PassGeometry } from "../../src/backends/wasm/index.js";
import { setClaimMode, setMinPartBytes, type ClaimMode } from "../../src/backends/wasm/threads.js";
import { spatialShapeInput } from "../../src/check.js";
import { avgDivisors } from "../../src/geometry/divisors.js";
import type { Axes3, WindowPlan } from "../../src/geometry/plan.js";
import { planSlidingFor, slidingGeometry } from "../../src/geometry/sliding.js";
import { kernel } from "../../src/kernels/registry.js";
import { avgWindowsBackwardWrite } from "../../src/kernels/window.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor } from "../../src/tensor/tensor.js";
import { firstBitDifference, int, values, WASM, workerParts } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

const GARBAGE = 12345.5;

/** dy with the division's and the additions' edge cases: subnormals, ±max, ±0, NaN, ±∞, and tiny negatives (−0 after division). */
function edgeValues(g: Generator, n: number): Float32Array {
  const out = values(g, n);
  const edge = [1e-45, -1e-45, -3e-45, 1.5e-39, -2.9e-38, 3.4028235e38, -3.4028235e38, -0, 0, NaN, Infinity, -Infinity];
  for (let i = 0; i < n; i++) if (g.uniform() < 0.1) out[i] = edge[int(g, 0, edge.length - 1)] as number;
  return out;
}

/** The passes plan of a sliding-window plan. */
function geometryOf(axes: Axes3, simd: boolean): PassGeometry {
  const w = avgWritePlan(axes, simd);
  if (w.path !== "passes") throw new Error(`expected the passes path, got ${w.path}`);
  return passGeometry(axes, w.t);
}

/** What the kernel does with each dx row (assembly/avgstrided.ts avgBackwardPasses): the branches a plan exercises. */
function branches(p: PassGeometry): Set<string> {
  const out = new Set<string>();
  const [cA, cB, , , nE, nO] = p.inner;
  const inner = cB > cA;
  const W = (p.geo.length - p.colsAt) / 2;
  if (inner) out.add(nE <= 2 && nO <= 2 && nE + nO >= 2 ? `inner ${nE}${nO}` : "inner run-time counts");
  if (inner && (cA > 0 || cB < W)) out.add("border columns");
  for (let r = 0; r < p.nRows; r++) {
    const [init, p0, p1] = [p.geo[3 * r], p.geo[3 * r + 1], p.geo[3 * r + 2]] as [number, number, number];
    if (p1 === p0) out.add(init >= 0 ? "copy" : "zero row");
    else {
      if (p1 - p0 > 1) out.add("several passes");
      out.add(init >= 0 ? "from a row" : "from 0");
      const next = r + 1 < p.nRows && p.geo[3 * r + 3] === r && (p.geo[3 * r + 5] as number) > (p.geo[3 * r + 4] as number);
      if (inner && next) {
        const single = p1 - p0 === 1 && (p.geo[3 * r + 5] as number) - (p.geo[3 * r + 4] as number) === 1;
        // kernel 3, padding 1 in 2-d: pairZeroK3 (SIMD); else passBlocks for one pass or several
        out.add(init < 0 && nE === 1 && nO === 2 && p.inner[3] === 0 && single ? "pair k3" : single ? "pair" : "pair several passes");
        r++;
      }
    }
  }
  return out;
}

interface Case {
  p: WindowPlan;
  divisor: Float64Array;
  label: string;
}

/** A random sliding plan with a stride ≥ 2 along some axis (usually all); divisors of every kind; sometimes dilated. */
function randomCase(g: Generator): Case | null {
  const rank = g.uniform() < 0.5 ? 2 : g.uniform() < 0.5 ? 1 : 3;
  const big = rank === 3 ? 15 : 113;
  const spatial = Array.from({ length: rank }, () => (g.uniform() < 0.15 ? int(g, 1, 4) : int(g, 1, big)));
  const shape = [int(g, 1, 2), int(g, 1, 3), ...spatial];
  const k = Array.from({ length: rank }, () => (g.uniform() < 0.6 ? int(g, 2, 3) : int(g, 1, 7)));
  const stride = k.map((kk, i) => (i < rank - 1 && g.uniform() < 0.2 ? 1 : g.uniform() < 0.7 ? 2 : int(g, 2, kk + 1)));
  const padding = k.map((kk) => int(g, 0, Math.floor(kk / 2)));
  const dilation = g.uniform() < 0.05 ? 2 : 1;
  const ceilMode = g.uniform() < 0.4;
  try {
    const p = planSlidingFor("test", spatialShapeInput("test", "x", shape, rank), slidingGeometry("test", { kernelSize: k, stride, padding, dilation, ceilMode }, rank));
    const v = g.uniform();
    const cip = v >= 0.3;
    const divisor = v < 0.3 ? avgDivisors(p.axes, false) : v < 0.45 ? avgDivisors(p.axes, true, int(g, 1, 20)) : avgDivisors(p.axes, true);
    const label = `in [${shape}] k [${k}] s [${stride}] p [${padding}] d ${dilation} ceil ${ceilMode} cip ${cip} divisor ${divisor[0]}`;
    return { p, divisor, label };
  } catch {
    return null; // an invalid geometry (padding over half the kernel, an empty output)
  }
}

describe("avgBackwardPasses' program (src/backends/wasm/index.ts passGeometry)", () => {
  it("a hand-worked plan: k3 s2 p1 on 5 × 7 — rows from earlier rows, column runs, the interior", () => {
    // rows: windows [0,2) [1,4) [3,5) → dx rows 0: {0}; 1: {0, 1}; 2: {1}; 3: {1, 2}; 4: {2}
    // columns: windows [0,2) [1,4) [3,6) [5,7) → columns 0: {0}; 1: {0, 1}; 2: {1}; 3: {1, 2}; 4: {2}; 5: {2, 3}; 6: {3}
    const p = planSlidingFor("test", spatialShapeInput("test", "x", [1, 1, 5, 7], 2), slidingGeometry("test", { kernelSize: 3, stride: 2, padding: 1 }, 2));
    for (const simd of [true, false]) {
      const pg = geometryOf(p.axes, simd);
      expect(pg.nRows).toBe(5);
      const rows = Array.from(pg.geo.subarray(0, pg.passesAt));
      const passes = Array.from(pg.geo.subarray(pg.passesAt, pg.colsAt));
      const cols = Array.from(pg.geo.subarray(pg.colsAt));
      // (init, p0, p1): row 1 = row 0 + output row 1; row 3 = row 2 + output row 2; rows 0, 2, 4 from 0
      expect(rows).toEqual([-1, 0, 1, 0, 1, 2, -1, 2, 3, 2, 3, 4, -1, 4, 5]);
      expect(passes).toEqual([0, 1, 1, 2, 2]);
      expect(cols).toEqual([0, 1, 0, 2, 1, 1, 1, 2, 2, 1, 2, 2, 3, 1]);
      // columns 0–5 by the pattern (column 2i: output i; 2i + 1: i, i + 1); column 6 alone (odd width)
      expect(pg.inner).toEqual([0, 6, 0, 0, 1, 2]);
    }
  });

  it("padding terms: k5 s2 p2 on 9 columns — the interior reaches past the first and last output (−0 terms) and covers every column pair", () => {
    // windows [0,3) [0,5) [2,7) [4,9) [6,9): column 0 is held by outputs 0, 1 (the pattern's −1, 0, 1 clipped)
    const p = planSlidingFor("test", spatialShapeInput("test", "x", [1, 1, 9], 1), slidingGeometry("test", { kernelSize: 5, stride: 2, padding: 2 }, 1));
    const pg = geometryOf(p.axes, true);
    // column c: outputs ⌈(c − 2)/2⌉ … ⌊(c + 2)/2⌋ within 0 … 4
    expect(Array.from(pg.geo.subarray(pg.colsAt))).toEqual([0, 2, 0, 2, 0, 3, 1, 2, 1, 3, 2, 2, 2, 3, 3, 2, 3, 2]);
    // odd width 9: 8 columns in the run, from column 0 (its pattern −1, 0, 1: −0 first) or from column 1
    const [cA, cB, m0, d1, nE, nO] = pg.inner;
    expect(cB - cA).toBe(8);
    expect([nE, nO, d1]).toEqual(cA === 0 ? [3, 2, 1] : [2, 3, 0]);
    expect(m0).toBe(cA === 0 ? -1 : 0);
  });

  it("routing: dilated windows, stride 1 along the last axis and plans without a stride-2 interior are not strided passes; non-overlapping columns take column blocks on SIMD", () => {
    const sh = spatialShapeInput("test", "x", [1, 2, 20, 20], 2);
    const plan = (o: { kernelSize: number | number[]; stride: number | number[]; dilation?: number }): Axes3 => planSlidingFor("test", sh, slidingGeometry("test", o, 2)).axes;
    expect(avgWritePlan(plan({ kernelSize: 3, stride: 2, dilation: 2 }), true).path).toBe("fill");
    expect(avgWritePlan(plan({ kernelSize: 3, stride: [2, 1] }), true).path).toBe("fill");
    expect(avgWritePlan(plan({ kernelSize: 3, stride: [1, 2] }), true).path).toBe("passes");
    expect(avgWritePlan(plan({ kernelSize: 2, stride: 2 }), true).path).toBe("segments");
    expect(avgWritePlan(plan({ kernelSize: 2, stride: 2 }), false).path).toBe("passes");
    expect(avgWritePlan(plan({ kernelSize: 3, stride: 2 }), false).path).toBe("passes");
    // no stride-2 interior along the last axis: the scatter (overlapping windows) or column segments
    for (const simd of [true, false]) {
      expect(avgWritePlan(plan({ kernelSize: 4, stride: 3 }), simd).path).toBe("fill");
      expect(avgWritePlan(plan({ kernelSize: 2, stride: 3 }), simd).path).toBe("segments");
      expect(avgWritePlan(plan({ kernelSize: 7, stride: 2 }), simd).path).toBe("fill"); // 4 windows hold a column: more than PASS_PAD terms
    }
  });
});

describe("avgBackwardPasses against the TypeScript reference, bit for bit", () => {
  for (const b of WASM) {
    for (const inputsOn of [b, "js"] as const) {
      it(`${b}, inputs in ${inputsOn === "js" ? "the JS heap (copied in)" : "WebAssembly memory"}: random strided plans`, () => {
        const simd = b === "wasm-simd";
        const g = new Generator((simd ? 101 : 103) + (inputsOn === "js" ? 10 : 0));
        const seen = new Map<string, number>();
        let cases = 0;
        let tries = 0;
        while (cases < 150 && tries < 3000) {
          tries++;
          const c = randomCase(g);
          if (c === null || c.p.planes * c.p.inPlaneSize === 0) continue;
          const { p, divisor } = c;
          const w = avgWritePlan(p.axes, simd);
          if (p.axes.some((a) => a.step !== 1)) expect(w.path, c.label).toBe("fill");
          if (w.path !== "passes") continue;
          cases++;
          for (const br of branches(passGeometry(p.axes, w.t))) seen.set(br, (seen.get(br) ?? 0) + 1);
          const n = p.planes * p.outPlaneSize;
          const dy = edgeValues(g, n);
          const ref = new Float32Array(p.planes * p.inPlaneSize).fill(GARBAGE);
          avgWindowsBackwardWrite(dy, ref, p.planes, p.axes, divisor);
          setBackend(inputsOn);
          const tdy = tensor(dy, [n], "float32");
          const tdx = tensor(new Float32Array(ref.length).fill(-GARBAGE), [ref.length], "float32");
          setBackend(b);
          const impl = kernel("avgWindows.backwardWrite", "float32", avgWindowsBackwardWrite);
          expect(impl).not.toBe(avgWindowsBackwardWrite);
          impl(tdy.data as Float32Array, tdx.data as Float32Array, p.planes, p.axes, divisor);
          expect(firstBitDifference(tdx.data as Float32Array, ref), `${b} ${c.label}`).toBeNull();
          for (const v of [tdy, tdx]) v.dispose();
        }
        expect(cases).toBe(150);
        // every branch of the kernel ran (the SIMD interior's on both builds: the scalar build walks the same pattern)
        const want = ["inner 12", "inner 21", "inner 22", "inner run-time counts", "border columns", "pair", "pair several passes", "several passes", "from a row", "from 0", "copy", "zero row"];
        want.push(simd ? "pair k3" : "inner 11"); // pairZeroK3 is SIMD only; the SIMD build takes column blocks for (1, 1)
        for (const br of want) expect(seen.get(br) ?? 0, `${b}: ${br} (${[...seen].join(", ")})`).toBeGreaterThan(1);
      });
    }
  }

  it.each(WASM)("%s: the benchmark's plans ([2,5,56,56] and [1,3,112,112], k3 s2 p1 with and without padding counted, k2 s2, k3 s2 ceil on 55, 3-d k3 s2 p1) with edge values", (b) => {
    const simd = b === "wasm-simd";
    const g = new Generator(5);
    const cases: [number[], Record<string, unknown>, boolean][] = [
      [[2, 5, 56, 56], { kernelSize: 3, stride: 2, padding: 1 }, true],
      [[2, 5, 56, 56], { kernelSize: 3, stride: 2, padding: 1 }, false],
      [[1, 3, 112, 112], { kernelSize: 3, stride: 2, padding: 1 }, true],
      [[2, 5, 56, 56], { kernelSize: 2, stride: 2 }, true],
      [[2, 5, 55, 55], { kernelSize: 3, stride: 2, ceilMode: true }, false],
      [[1, 4, 17, 18, 19], { kernelSize: 3, stride: 2, padding: 1 }, true],
    ];
    for (const [shape, o, cip] of cases) {
      const rank = shape.length - 2;
      const p = planSlidingFor("test", spatialShapeInput("test", "x", shape, rank), slidingGeometry("test", o, rank));
      const divisor = avgDivisors(p.axes, cip);
      const w = avgWritePlan(p.axes, simd);
      expect(w.path).toBe(simd && o["kernelSize"] === 2 ? "segments" : "passes");
      if (w.path === "passes") expect(passGeometry(p.axes, w.t).inner[1], "the interior covers the row").toBeGreaterThan(shape[shape.length - 1] as number - 2);
      const dy = edgeValues(g, p.planes * p.outPlaneSize);
      const ref = new Float32Array(p.planes * p.inPlaneSize).fill(GARBAGE);
      avgWindowsBackwardWrite(dy, ref, p.planes, p.axes, divisor);
      setBackend(b);
      const got = new Float32Array(ref.length).fill(-GARBAGE);
      kernel("avgWindows.backwardWrite", "float32", avgWindowsBackwardWrite)(dy, got, p.planes, p.axes, divisor);
      expect(firstBitDifference(got, ref), `${b} [${shape}] ${JSON.stringify(o)} cip ${cip}`).toBeNull();
    }
  });
});

describe("avgBackwardPasses split over worker threads", () => {
  afterAll(async () => {
    setMinPartBytes(undefined);
    setClaimMode("both");
    await setThreads(1);
  });
  it.each(["workers", "caller", "both"] as ClaimMode[])("every call split on 2 threads (parts claimed by %s): per-part g scratch (re-padded with −0), bit for bit", async (mode) => {
    for (const b of WASM) {
      setBackend(b);
      await setThreads(2);
      setMinPartBytes(0);
      setClaimMode(mode);
      const before = workerParts();
      const g = new Generator(91);
      const plans: [number[], Record<string, unknown>][] = [
        [[2, 7, 29, 31], { kernelSize: 3, stride: 2, padding: 1 }],
        [[3, 3, 9, 11, 13], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }],
        [[1, 9, 40], { kernelSize: 5, stride: 2, padding: 2 }],
        [[2, 5, 21, 22], { kernelSize: [3, 4], stride: [1, 2] }],
      ];
      for (const [shape, o] of plans) {
        const rank = shape.length - 2;
        const p = planSlidingFor("test", spatialShapeInput("test", "x", shape, rank), slidingGeometry("test", o, rank));
        expect(avgWritePlan(p.axes, b === "wasm-simd").path).toBe("passes");
        const div = avgDivisors(p.axes, false);
        const dy = edgeValues(g, p.planes * p.outPlaneSize);
        const ref = new Float32Array(p.planes * p.inPlaneSize).fill(GARBAGE);
        avgWindowsBackwardWrite(dy, ref, p.planes, p.axes, div);
        const tdy = tensor(dy, [dy.length], "float32");
        const tdx = tensor(new Float32Array(ref.length).fill(GARBAGE), [ref.length], "float32");
        kernel("avgWindows.backwardWrite", "float32", avgWindowsBackwardWrite)(tdy.data as Float32Array, tdx.data as Float32Array, p.planes, p.axes, div);
        expect(firstBitDifference(tdx.data as Float32Array, ref), `${b} ${mode} [${shape}] ${JSON.stringify(o)}`).toBeNull();
        for (const v of [tdy, tdx]) v.dispose();
      }
      // a worker ran parts where the engine has shared memory (the detaching test mode has none)
      if (mode === "workers" && activeWasm()?.pool) expect((workerParts()) - before).toBeGreaterThan(0);
    }
  });
});
