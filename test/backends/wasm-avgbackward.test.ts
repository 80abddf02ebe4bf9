/**
 * Average pooling's backward into a fresh gradient, `avgWindows.backwardWrite` (dx = 0, then
 * dx[window] += dy / divisor in output order; src/kernels/window.ts). The wasm kernel
 * (assembly/avg.ts avgBackwardWrite for wide column segments and, on the SIMD build, strided windows
 * that do not overlap along the last axis; assembly/avgstrided.ts avgBackwardPasses for the other
 * strided windows — test/backends/wasm-avgstrided.test.ts tests it on its own; SIMD and scalar
 * builds) writes each dx element once from the
 * same float64 terms g = dy/divisor added in the same order (outputs in scan order), so it must equal
 * the reference BIT FOR BIT: NaN, ±∞ and −0 in dy (0 + (−0) = +0 in the reference), positions no
 * window holds (+0), dx starting as garbage (every element must be written). Plans: random sliding
 * windows 1-d/2-d/3-d (sizes 1–113, odd, 1×1, padding, ceil mode, count_include_pad false,
 * divisor_override, dilation — which falls back), adaptive bins that do not divide the input, global
 * bins; inputs in WebAssembly memory and in the JS heap. Plans the one-write kernels do not take
 * (src/backends/wasm/index.ts, avgWritePlan) zero dx and accumulate: sliding windows of stride 1 through
 * the separable sums of avgBackwardSum, checked within its bound γ(3M+5)·|b| (derived in
 * test/backends/wasm-kernels.test.ts); dilated windows through the exact scatter. The ops (avgPool, adaptiveAvgPool,
 * globalAvgPool) are compared across wasm-simd, wasm and js.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, setThreads, type BackendName } from "../../src/backends/index.js";
import { activeWasm, avgWritePlan, columnBlocks, segmentMode } from "../../src/backends/wasm/index.js";
import { setClaimMode, setMinPartBytes } from "../../src/backends/wasm/threads.js";
import { spatialShapeInput } from "../../src/check.js";
import { adaptiveAxis, planAdaptiveFor } from "../../src/geometry/adaptive.js";
import { avgDivisors } from "../../src/geometry/divisors.js";
import { makePlan, type Axes3, type WindowPlan } from "../../src/geometry/plan.js";
import { planSlidingFor, slidingGeometry } from "../../src/geometry/sliding.js";
import { kernel } from "../../src/kernels/registry.js";
import { avgWindowsBackward, avgWindowsBackwardWrite } from "../../src/kernels/window.js";
import * as pk from "../../src/index.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { firstBitDifference, firstFarDifference, gamma32, int, values, WASM, workerParts } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

const GARBAGE = 12345.5;

/** Whether the wasm kernel takes a one-write pass (bit-identical) rather than zero + accumulate. */
function writePath(axes: Axes3, simd: boolean): boolean {
  return avgWritePlan(axes, simd).path !== "fill";
}

/** Which one-write kernel the plan takes: avgBackwardWrite (column segments) or avgBackwardPasses. */
function writeKernel(axes: Axes3, simd: boolean): string {
  return avgWritePlan(axes, simd).path;
}

/** The most windows holding one position (M of the bound). */
function maxCovers(axes: Axes3): number {
  let m = 1;
  for (const ax of axes) {
    const cover = new Int32Array(ax.inSize);
    for (let o = 0; o < ax.outSize; o++) for (let i = ax.start[o] as number; i < (ax.end[o] as number); i += ax.step) cover[i] = (cover[i] as number) + 1;
    m *= Math.max(1, ...cover);
  }
  return m;
}

interface Case {
  p: WindowPlan;
  divisor: Float64Array;
  kind: string;
}

/** A random plan: sliding (strided half the time; padding, ceil mode, count_include_pad, divisor_override, sometimes dilation), adaptive or global. */
function randomCase(g: Generator): Case | null {
  const rank = g.uniform() < 0.6 ? 2 : g.uniform() < 0.5 ? 1 : 3;
  const big = rank === 3 ? 13 : 113;
  const spatial = Array.from({ length: rank }, () => (g.uniform() < 0.2 ? int(g, 1, 3) : int(g, 1, big)));
  const shape = [int(g, 1, 2), int(g, 1, 3), ...spatial];
  const input = spatialShapeInput("test", "x", shape, rank);
  const u = g.uniform();
  try {
    if (u < 0.25) {
      const p = planAdaptiveFor("test", input, spatial.map((s) => int(g, 1, s)));
      return { p, divisor: avgDivisors(p.axes, true), kind: "adaptive" };
    }
    if (u < 0.35) {
      const plane = spatial.reduce((a, b) => a * b, 1);
      const p = makePlan("test", { batched: true, n: shape[0] as number, c: shape[1] as number, spatial: [plane] }, [adaptiveAxis(plane, 1)]);
      return { p, divisor: avgDivisors(p.axes, true), kind: "global" };
    }
    const k = Array.from({ length: rank }, () => int(g, 1, 5));
    const stride = g.uniform() < 0.25 ? 1 : k.map((kk) => int(g, 1, kk + 2));
    const padding = Math.floor(g.uniform() * (Math.min(...k) / 2 + 0.5));
    const dilation = g.uniform() < 0.1 ? 2 : 1;
    const p = planSlidingFor("test", input, slidingGeometry("test", { kernelSize: k, stride, padding, dilation, ceilMode: g.uniform() < 0.4 }, rank));
    const v = g.uniform();
    const divisor = v < 0.3 ? avgDivisors(p.axes, false) : v < 0.45 ? avgDivisors(p.axes, true, int(g, 1, 20)) : avgDivisors(p.axes, true);
    return { p, divisor, kind: "sliding" };
  } catch {
    return null;
  }
}

describe("avgWindows.backwardWrite: wasm against the TypeScript reference", () => {
  for (const b of WASM) {
    for (const inputsOn of [b, "js"] as const) {
      it(`${b}, inputs in ${inputsOn === "js" ? "the JS heap (copied in)" : "WebAssembly memory"}`, () => {
        const g = new Generator(b === "wasm" ? 31 : 37);
        let cases = 0;
        let exact = 0;
        let tries = 0;
        const kinds = new Map<string, number>();
        const kernels = new Map<string, number>();
        while (cases < 120 && tries < 2000) {
          tries++;
          const c = randomCase(g);
          if (c === null) continue;
          const { p, divisor } = c;
          if (p.planes * p.inPlaneSize === 0) continue;
          cases++;
          const n = p.planes * p.outPlaneSize;
          const dy = values(g, n);
          const ref = new Float32Array(p.planes * p.inPlaneSize).fill(GARBAGE);
          avgWindowsBackwardWrite(dy, ref, p.planes, p.axes, divisor);
          setBackend(inputsOn);
          const tdy = tensor(dy, [n], "float32");
          const tdx = tensor(new Float32Array(p.planes * p.inPlaneSize).fill(GARBAGE), [p.planes * p.inPlaneSize], "float32");
          setBackend(b);
          const impl = kernel("avgWindows.backwardWrite", "float32", avgWindowsBackwardWrite);
          expect(impl, b).not.toBe(avgWindowsBackwardWrite);
          impl(tdy.data as Float32Array, tdx.data as Float32Array, p.planes, p.axes, divisor);
          const got = tdx.data as Float32Array;
          const label = `${b} ${c.kind} planes ${p.planes} in [${p.axes.map((a) => a.inSize)}] out [${p.axes.map((a) => a.outSize)}] steps [${p.axes.map((a) => a.step)}]`;
          const simd = b === "wasm-simd";
          if (writePath(p.axes, simd)) {
            exact++;
            kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
            kernels.set(writeKernel(p.axes, simd), (kernels.get(writeKernel(p.axes, simd)) ?? 0) + 1);
            expect(firstBitDifference(got, ref), label).toBeNull();
          } else {
            // zero + avgBackwardSum (or the exact scatter): within γ(3M+5)·|b|, b the reference gradient for |dy|
            const bAbs = new Float32Array(ref.length);
            avgWindowsBackwardWrite(dy.map(Math.abs), bAbs, p.planes, p.axes, divisor);
            const tol = gamma32(3 * maxCovers(p.axes) + 5);
            expect(firstFarDifference(got, ref, (i) => tol * (bAbs[i] as number)), label).toBeNull();
          }
          for (const v of [tdy, tdx]) v.dispose();
        }
        expect(cases).toBe(120);
        expect(exact).toBeGreaterThan(40);
        for (const kind of ["adaptive", "global", "sliding"]) expect(kinds.get(kind) ?? 0, kind).toBeGreaterThan(5);
        // (the passes are counted and tested on their own plans in test/backends/wasm-avgstrided.test.ts)
        expect(kernels.get("segments") ?? 0).toBeGreaterThan(8);
        expect(kernels.get("passes") ?? 0).toBeGreaterThan(0);
      });
    }
  }

  it.each(WASM)("%s: the benchmark's geometries (adaptive 56→7 and 56→5, global 7×7, avg k3 s2 p1, k2 s2, k3 s3, k3 s4) with ±0, NaN and ±∞ in dy, bit for bit", (b) => {
    const g = new Generator(9);
    const plans: [string, WindowPlan, Float64Array, string][] = [];
    const sh = spatialShapeInput("test", "x", [3, 5, 56, 56], 2);
    for (const out of [7, 5, 1, 3]) {
      const p = planAdaptiveFor("test", sh, [out, out]);
      plans.push([`adaptive →${out}`, p, avgDivisors(p.axes, true), "segments"]);
    }
    const gp = makePlan("test", { batched: true, n: 3, c: 5, spatial: [49] }, [adaptiveAxis(49, 1)]);
    plans.push(["global 7×7", gp, avgDivisors(gp.axes, true), "segments"]);
    // strided windows: overlapping ones (k3 s2) by passes; non-overlapping ones by column blocks on the SIMD build (k2 s2 by passes on the scalar build)
    const simd = b === "wasm-simd";
    for (const [k, s, pad, cip, path] of [[3, 2, 1, true, "passes"], [3, 2, 1, false, "passes"], [2, 2, 0, true, simd ? "segments" : "passes"], [3, 3, 1, false, "segments"], [3, 4, 0, true, "segments"]] as [number, number, number, boolean, string][]) {
      const p = planSlidingFor("test", sh, slidingGeometry("test", { kernelSize: k, stride: s, padding: pad }, 2));
      plans.push([`k${k} s${s} p${pad} cip ${cip}`, p, avgDivisors(p.axes, cip), path]);
    }
    for (const [label, p, div, path] of plans) {
      expect(writeKernel(p.axes, simd), label).toBe(path);
      const n = p.planes * p.outPlaneSize;
      const dy = values(g, n);
      dy[0] = -0;
      dy[n - 1] = NaN;
      const ref = new Float32Array(p.planes * p.inPlaneSize).fill(GARBAGE);
      avgWindowsBackwardWrite(dy, ref, p.planes, p.axes, div);
      setBackend(b);
      const got = new Float32Array(ref.length).fill(-GARBAGE);
      kernel("avgWindows.backwardWrite", "float32", avgWindowsBackwardWrite)(dy, got, p.planes, p.axes, div);
      expect(firstBitDifference(got, ref), `${b} ${label}`).toBeNull();
    }
  });

  it("the reference is zero-fill + avgWindows.backward (dx's contents on entry ignored)", () => {
    const p = planSlidingFor("test", spatialShapeInput("test", "x", [2, 9, 11], 2), slidingGeometry("test", { kernelSize: 3, stride: 2, padding: 1 }, 2));
    const div = avgDivisors(p.axes, false);
    const dy = values(new Generator(4), p.planes * p.outPlaneSize);
    const a = new Float32Array(p.planes * p.inPlaneSize).fill(7);
    avgWindowsBackwardWrite(dy, a, p.planes, p.axes, div);
    const z = new Float32Array(a.length);
    avgWindowsBackward(dy, z, p.planes, p.axes, div);
    expect(firstBitDifference(a, z)).toBeNull();
  });
});

/** dy values with the division's edge cases mixed in: subnormals, the largest floats, ±0, NaN, ±∞. */
function edgeValues(g: Generator, n: number): Float32Array {
  const out = values(g, n);
  const edge = [1e-45, -1e-45, 1.5e-39, -2.9e-38, 3.4028235e38, -3.4028235e38, 1.1754944e-38, -0, 0, NaN, Infinity, -Infinity];
  for (let i = 0; i < n; i++) if (g.uniform() < 0.1) out[i] = edge[int(g, 0, edge.length - 1)] as number;
  return out;
}

/** avgBackwardWrite's mode on the SIMD build for a "segments" plan (src/backends/wasm/index.ts segmentMode). */
function simdMode(axes: Axes3, divisor: Float64Array): number {
  const w = avgWritePlan(axes, true);
  if (w.path !== "segments") return -1;
  return segmentMode(axes, w.t, w.seg, divisor, true).mode;
}

/**
 * A plan for the column modes: adaptive bins that divide the input (tiled: one term per element) or
 * not (rows or columns overlap), tiled sliding windows k = s ≥ 4 (padding, ceil mode: clipped last
 * windows, columns no window holds), 1-d/2-d/3-d, widths 1–61 (W < 4, W % 4 ≠ 0); divisors the op's,
 * or a constant that is not exact in float32 (1/3) or above 2²⁴, or not positive (−2, 0) — the float64 path.
 */
function columnCase(g: Generator): Case | null {
  const rank = g.uniform() < 0.6 ? 2 : g.uniform() < 0.5 ? 1 : 3;
  const spatial = Array.from({ length: rank }, () => (g.uniform() < 0.1 ? int(g, 1, 3) : int(g, 1, rank === 3 ? 12 : 61)));
  const input = spatialShapeInput("test", "x", [int(g, 1, 2), int(g, 1, 3), ...spatial], rank);
  try {
    let p: WindowPlan;
    let divisor: Float64Array;
    if (g.uniform() < 0.6) {
      const out = spatial.map((s) => {
        const divs = Array.from({ length: s }, (_, i) => i + 1).filter((d) => s % d === 0);
        const u = g.uniform();
        // dividing, wide overlapping bins (column segments of 4 or more with a column held twice), any
        return u < 0.5 ? (divs[int(g, 0, divs.length - 1)] as number) : u < 0.75 ? int(g, 1, Math.max(1, Math.floor(s / 6))) : int(g, 1, s);
      });
      p = planAdaptiveFor("test", input, out);
      divisor = avgDivisors(p.axes, true);
    } else {
      const k = Array.from({ length: rank }, () => int(g, 4, 9));
      p = planSlidingFor("test", input, slidingGeometry("test", { kernelSize: k, stride: k, padding: g.uniform() < 0.3 ? 1 : 0, ceilMode: g.uniform() < 0.5 }, rank));
      divisor = avgDivisors(p.axes, g.uniform() < 0.5);
    }
    const v = g.uniform();
    if (v < 0.1) divisor = new Float64Array(divisor.length).fill(v < 0.05 ? 1 / 3 : 2 ** 25);
    else if (v < 0.15) divisor = divisor.map((d, i) => (i % 3 === 0 ? -2 : i % 3 === 1 ? 0 : d));
    return { p, divisor, kind: "column" };
  } catch {
    return null;
  }
}

describe("avgBackwardWrite's modes: column segments, column swizzles/splats, one term by float32 division", () => {
  it("column blocks: bases and swizzle masks of a hand-worked axis (W = 6 → 2 outputs of 3, last block at W − 4)", () => {
    // transposed axis of adaptive 6 → 2: columns 0–2 held by output 0, 3–5 by output 1
    const t = { inSize: 2, outSize: 6, start: Int32Array.of(0, 0, 0, 1, 1, 1), end: Int32Array.of(1, 1, 1, 2, 2, 2), step: 1, padCount: new Int32Array(6) };
    const b = columnBlocks(t);
    expect(b).not.toBeNull();
    const lane = (tap: number): number => (4 * tap) | ((4 * tap + 1) << 8) | ((4 * tap + 2) << 16) | ((4 * tap + 3) << 24);
    // block 0: columns 0–3 → outputs 0, 0, 0, 1; block 1 (columns 2–5) → 0, 1, 1, 1
    expect(Array.from(b?.bases ?? [])).toEqual([0, 0]);
    expect(Array.from(b?.masks ?? [])).toEqual([lane(0), lane(0), lane(0), lane(1), lane(0), lane(1), lane(1), lane(1)]);
    expect(b?.splat).toBe(false);
    // a column no window holds: mask 0x80 (+0); a column two windows hold: no blocks
    const gap = { ...t, start: Int32Array.of(0, 0, 1, 1, 1, 1), end: Int32Array.of(1, 1, 1, 2, 2, 2) };
    expect((columnBlocks(gap)?.masks[2] ?? 0) >>> 0).toBe(0x80808080);
    expect(columnBlocks({ ...t, end: Int32Array.of(1, 1, 2, 2, 2, 2) })).toBeNull();
    expect(columnBlocks({ ...t, outSize: 3 })).toBeNull();
  });

  it.each(WASM)("%s: global planes (avgBackwardGlobal, float32 division) bit for bit with subnormal, ±max, ±0, NaN, ±∞ dy; divisors not integers in [1, 2²⁴] take the general path", (b) => {
    const g = new Generator(71);
    for (const [plane, planes] of [[49, 64], [1, 9], [3, 5], [5, 7], [4096, 3]] as [number, number][]) {
      const p = makePlan("test", { batched: true, n: 1, c: planes, spatial: [plane] }, [adaptiveAxis(plane, 1)]);
      for (const divisor of [avgDivisors(p.axes, true), Float64Array.of(0.5), Float64Array.of(2 ** 25), Float64Array.of(Infinity), Float64Array.of(-3)]) {
        const dy = edgeValues(g, planes);
        dy[0] = -1e-45; // −1e−45/d: −0 in the reference (fl32 of a tiny negative float64)
        const ref = new Float32Array(planes * plane).fill(GARBAGE);
        avgWindowsBackwardWrite(dy, ref, planes, p.axes, divisor);
        setBackend(b);
        const got = new Float32Array(ref.length).fill(-GARBAGE);
        kernel("avgWindows.backwardWrite", "float32", avgWindowsBackwardWrite)(dy, got, planes, p.axes, divisor);
        expect(firstBitDifference(got, ref), `${b} plane ${plane} divisor ${divisor[0]}`).toBeNull();
      }
    }
  });

  for (const b of WASM) {
    it(`${b}: random column plans bit for bit against the reference (dy with subnormals, ±max, ±0, NaN, ±∞)`, () => {
      const g = new Generator(b === "wasm" ? 61 : 67);
      const modes = new Map<number, number>();
      let cases = 0;
      let tries = 0;
      while (cases < 200 && tries < 4000) {
        tries++;
        const c = columnCase(g);
        if (c === null || c.p.planes * c.p.inPlaneSize === 0) continue;
        const { p, divisor } = c;
        const mode = simdMode(p.axes, divisor);
        if (mode < 0) continue;
        cases++;
        modes.set(mode, (modes.get(mode) ?? 0) + 1);
        const dy = edgeValues(g, p.planes * p.outPlaneSize);
        const ref = new Float32Array(p.planes * p.inPlaneSize).fill(GARBAGE);
        avgWindowsBackwardWrite(dy, ref, p.planes, p.axes, divisor);
        setBackend(b);
        const got = new Float32Array(ref.length).fill(-GARBAGE);
        kernel("avgWindows.backwardWrite", "float32", avgWindowsBackwardWrite)(dy, got, p.planes, p.axes, divisor);
        expect(firstBitDifference(got, ref), `${b} mode ${mode} planes ${p.planes} in [${p.axes.map((a) => a.inSize)}] out [${p.axes.map((a) => a.outSize)}] divisor ${divisor[0]}`).toBeNull();
      }
      expect(cases).toBe(200);
      // every mode taken (as the SIMD build picks it; the scalar build always takes 0): 0 segments,
      // 1 swizzles, 2 splats, 5 and 6 the same with one term per element
      for (const m of [0, 1, 2, 5, 6]) expect(modes.get(m) ?? 0, `mode ${m}`).toBeGreaterThan(3);
    });
  }
});

type AnyOp = ((...a: unknown[]) => unknown) & { vjp: (...a: unknown[]) => { output: unknown; backward: (dy: Tensor) => (Tensor | null)[] } };
const op = (name: string): AnyOp => (pk as unknown as Record<string, AnyOp>)[name] as AnyOp;

describe("the ops' gradients on wasm-simd, wasm and js", () => {
  const run = (backend: BackendName, name: string, shape: number[], opts: unknown, seed: number): Float32Array => {
    setBackend(backend);
    const g = new Generator(seed);
    const size = shape.reduce((a, b) => a * b, 1);
    const x = tensor(values(g, size, false), shape, "float32");
    const r = op(name).vjp(x, ...(opts === undefined ? [] : [opts]));
    const out = r.output as Tensor;
    const dy = tensor(values(g, out.size), out.shape as number[], "float32");
    const dx = (r.backward(dy)[0] as Tensor).data.slice() as Float32Array;
    return dx;
  };
  const cases: [string, number[], unknown][] = [
    ["adaptiveAvgPool2d", [2, 3, 56, 56], { outputSize: 7 }],
    ["adaptiveAvgPool2d", [2, 3, 17, 23], { outputSize: [5, 9] }],
    ["adaptiveAvgPool1d", [2, 3, 113], { outputSize: 10 }],
    ["adaptiveAvgPool3d", [1, 2, 7, 9, 11], { outputSize: [3, 4, 5] }],
    ["globalAvgPool", [4, 8, 7, 7], undefined],
    ["globalAvgPool", [2, 3, 1, 1], undefined],
    ["avgPool2d", [2, 3, 56, 56], { kernelSize: 3, stride: 2, padding: 1 }],
    ["avgPool2d", [2, 3, 15, 17], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }],
    ["avgPool2d", [2, 3, 15, 17], { kernelSize: [2, 3], stride: [3, 2], divisorOverride: 5 }],
    ["avgPool1d", [2, 3, 101], { kernelSize: 4, stride: 3, padding: 2 }],
    ["avgPool3d", [1, 2, 9, 8, 7], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }],
  ];
  it.each(cases)("%s %j %j: wasm gradients bit-identical to js", (name, shape, opts) => {
    const ref = run("js", name, shape, opts, 3);
    for (const b of WASM) expect(firstBitDifference(run(b, name, shape, opts, 3), ref), `${b} ${name}`).toBeNull();
  });
});

describe("split over worker threads", () => {
  afterAll(async () => {
    setMinPartBytes(undefined);
    setClaimMode("both");
    await setThreads(1);
  });
  it("every call split (2 threads, parts run by the workers): per-part scratch, results bit-identical to the reference", async () => {
    setBackend("wasm-simd");
    await setThreads(2);
    setMinPartBytes(0);
    setClaimMode("workers"); // the workers take the parts (the caller would otherwise claim what it can)
    const before = workerParts();
    const g = new Generator(77);
    const sh = spatialShapeInput("test", "x", [2, 7, 29, 31], 2);
    const plans: WindowPlan[] = [
      planAdaptiveFor("test", sh, [5, 3]),
      planSlidingFor("test", sh, slidingGeometry("test", { kernelSize: 2, stride: 3, padding: 1, ceilMode: true }, 2)),
      planSlidingFor("test", sh, slidingGeometry("test", { kernelSize: [3, 2], stride: 2 }, 2)), // rows overlap, columns do not
      planAdaptiveFor("test", spatialShapeInput("test", "x", [2, 7, 30, 32], 2), [5, 8]), // column splats, one term
      planAdaptiveFor("test", spatialShapeInput("test", "x", [2, 7, 29, 35], 2), [5, 5]), // column swizzles, rows overlap
    ];
    for (const p of plans) {
      expect(avgWritePlan(p.axes, true).path).not.toBe("fill");
      const div = avgDivisors(p.axes, false);
      const dy = values(g, p.planes * p.outPlaneSize);
      const ref = new Float32Array(p.planes * p.inPlaneSize).fill(GARBAGE);
      avgWindowsBackwardWrite(dy, ref, p.planes, p.axes, div);
      const tdy = tensor(dy, [dy.length], "float32");
      const tdx = tensor(new Float32Array(ref.length).fill(GARBAGE), [ref.length], "float32");
      kernel("avgWindows.backwardWrite", "float32", avgWindowsBackwardWrite)(tdy.data as Float32Array, tdx.data as Float32Array, p.planes, p.axes, div);
      expect(firstBitDifference(tdx.data as Float32Array, ref), `in [${p.axes.map((a) => a.inSize)}] out [${p.axes.map((a) => a.outSize)}]`).toBeNull();
    }
    // a worker ran parts where the engine has shared memory (the detaching test mode has none)
    if (activeWasm()?.pool) expect((workerParts()) - before).toBeGreaterThan(0);
  });
});
