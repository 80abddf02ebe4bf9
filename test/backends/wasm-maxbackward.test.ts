/**
 * Max pooling's backward into a fresh gradient, `maxWindows.backwardWrite` (assembly/scatter.ts:
 * maxBackwardTiled's one pass for tiled windows, maxBackwardWrite's zero-and-scatter per plane
 * otherwise; SIMD and scalar builds), against the TypeScript reference (src/kernels/scatter.ts: zero,
 * then scatter in output order) bit for bit, called as a kernel so the indices can be any int32:
 * indices from the reference forward (NaN, ±∞, −∞ windows, ties), and the same indices with some
 * moved outside their window — into another window, outside the plane, negative — carrying dy ≠ 0
 * (the tiled pass must notice and fall back) or dy = 0. dy has NaN, ±∞ and −0 (0 + (−0) = +0 in the
 * reference). dx starts as garbage (the kernel must write every element). Random 1-d, 2-d and 3-d
 * sliding geometries (sizes 1–113, odd, 1×1, padding, dilation, ceil mode; half of them tiled:
 * stride = kernel) and adaptive ones; inputs in WebAssembly memory and in the JS heap. Max-unpool's
 * forward zeroes its output the same way (just ahead of its writes): garbage y, any indices.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend } from "../../src/backends/index.js";
import { tiledExtents } from "../../src/backends/wasm/scatter.js";
import { spatialShapeInput } from "../../src/check.js";
import { planAdaptiveFor } from "../../src/geometry/adaptive.js";
import type { WindowPlan } from "../../src/geometry/plan.js";
import { planSlidingFor, slidingGeometry } from "../../src/geometry/sliding.js";
import { kernel } from "../../src/kernels/registry.js";
import { maxWindowsBackwardWrite, unpoolForward } from "../../src/kernels/scatter.js";
import { maxWindowsForward } from "../../src/kernels/window.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor } from "../../src/tensor/tensor.js";
import { firstBitDifference, int, values, WASM } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

const GARBAGE = 12345.5;

/** A random sliding plan (null when the options are invalid for the shape) or an adaptive one. */
function randomPlan(g: Generator): WindowPlan | null {
  const rank = g.uniform() < 0.7 ? 2 : g.uniform() < 0.5 ? 1 : 3;
  const big = rank === 3 ? 13 : 113;
  const spatial = Array.from({ length: rank }, () => (g.uniform() < 0.2 ? int(g, 1, 3) : int(g, 1, big)));
  const shape = [int(g, 1, 2), int(g, 1, 3), ...spatial];
  const input = spatialShapeInput("test", "x", shape, rank);
  try {
    if (g.uniform() < 0.15) return planAdaptiveFor("test", input, spatial.map((s) => int(g, 1, s)));
    const tiled = g.uniform() < 0.5;
    const k = Array.from({ length: rank }, () => (tiled && g.uniform() < 0.6 ? 2 : int(g, 1, 4)));
    const stride = tiled ? k : k.map(() => int(g, 1, 4));
    const padding = tiled && g.uniform() < 0.7 ? 0 : Math.floor(g.uniform() * (Math.min(...k) / 2 + 0.5));
    const dilation = g.uniform() < 0.2 ? 2 : 1;
    return planSlidingFor("test", input, slidingGeometry("test", { kernelSize: k, stride, padding, dilation, ceilMode: g.uniform() < 0.4 }, rank));
  } catch {
    return null;
  }
}

/** Indices from the reference forward; with `move`, about one in 8 moved (another window's, outside the plane, negative). */
function indicesFor(g: Generator, p: WindowPlan, x: Float32Array, move: boolean): Int32Array {
  const n = p.planes * p.outPlaneSize;
  const idx = new Int32Array(n);
  maxWindowsForward(x, new Float32Array(n), idx, p.planes, p.axes);
  if (move) {
    for (let o = 0; o < n; o++) {
      const u = g.uniform();
      if (u < 0.08) idx[o] = int(g, 0, p.inPlaneSize - 1);
      else if (u < 0.1) idx[o] = p.inPlaneSize + int(g, 0, 3);
      else if (u < 0.12) idx[o] = -int(g, 1, 3);
    }
  }
  return idx;
}

describe("maxWindows.backwardWrite: wasm equals the TypeScript reference bit for bit", () => {
  for (const b of WASM) {
    for (const inputsOn of [b, "js"] as const) {
      it(`${b}, inputs in ${inputsOn === "js" ? "the JS heap (copied in)" : "WebAssembly memory"}`, () => {
        const g = new Generator(b === "wasm" ? 21 : 23);
        let cases = 0;
        let tiled2 = 0;
        let moved = 0;
        let tries = 0;
        while (cases < 80 && tries < 1000) {
          tries++;
          const p = randomPlan(g);
          if (p === null || p.planes * p.inPlaneSize === 0) continue;
          cases++;
          const t = tiledExtents(p.axes);
          if (t !== null && t[1] === 2) tiled2++;
          const x = values(g, p.planes * p.inPlaneSize);
          const n = p.planes * p.outPlaneSize;
          const mode = cases % 3; // 0: forward's indices; 1: moved, dy as drawn; 2: moved, dy = 0 where moved
          const idx = indicesFor(g, p, x, mode !== 0);
          const dy = values(g, n);
          if (mode === 2) {
            const fwd = indicesFor(g, p, x, false);
            for (let o = 0; o < n; o++) if (idx[o] !== fwd[o]) dy[o] = g.uniform() < 0.5 ? 0 : -0;
          }
          if (mode === 1) moved++;
          const ref = new Float32Array(p.planes * p.inPlaneSize).fill(GARBAGE);
          maxWindowsBackwardWrite(dy, idx, ref, p.planes, p.axes);
          setBackend(inputsOn);
          const tdy = tensor(dy, [n], "float32");
          const tidx = tensor(idx, [n], "int32");
          const tdx = tensor(new Float32Array(p.planes * p.inPlaneSize).fill(GARBAGE), [p.planes * p.inPlaneSize], "float32");
          setBackend(b);
          const impl = kernel("maxWindows.backwardWrite", "float32", maxWindowsBackwardWrite);
          expect(impl, b).not.toBe(maxWindowsBackwardWrite);
          impl(tdy.data as Float32Array, tidx.data as Int32Array, tdx.data as Float32Array, p.planes, p.axes);
          const label = `${b} planes ${p.planes} in [${p.axes.map((a) => a.inSize)}] out [${p.axes.map((a) => a.outSize)}] mode ${mode}`;
          expect(firstBitDifference(tdx.data as Float32Array, ref), label).toBeNull();
          for (const v of [tdy, tidx, tdx]) v.dispose();
        }
        expect(cases).toBe(80);
        expect(tiled2).toBeGreaterThan(10);
        expect(moved).toBeGreaterThan(10);
      });
    }
  }

  it.each(WASM)("%s: W1's geometry (2×2 s2) with odd sizes, 1×1 and ceil mode, every window −∞ or NaN", (b) => {
    const g = new Generator(5);
    for (const [h, w] of [[1, 1], [2, 2], [1, 9], [9, 1], [7, 113], [112, 112], [113, 17]] as [number, number][]) {
      for (const ceilMode of [false, true]) {
        for (const fill of [-Infinity, NaN, 0]) {
          let p: WindowPlan;
          try {
            p = planSlidingFor("test", spatialShapeInput("test", "x", [3, h, w], 2), slidingGeometry("test", { kernelSize: 2, stride: 2, ceilMode }, 2));
          } catch {
            continue; // a window of 2 does not fit a side of 1 without ceil mode
          }
          const x = new Float32Array(p.planes * p.inPlaneSize).fill(fill);
          const idx = indicesFor(g, p, x, false);
          const dy = values(g, p.planes * p.outPlaneSize);
          const ref = new Float32Array(x.length).fill(GARBAGE);
          maxWindowsBackwardWrite(dy, idx, ref, p.planes, p.axes);
          setBackend(b);
          const got = new Float32Array(x.length).fill(GARBAGE);
          kernel("maxWindows.backwardWrite", "float32", maxWindowsBackwardWrite)(dy, idx, got, p.planes, p.axes);
          expect(firstBitDifference(got, ref), `${b} [3,${h},${w}] ceil ${ceilMode} x = ${fill}`).toBeNull();
        }
      }
    }
  });
});

describe("tiledExtents: the one-pass kernel's condition", () => {
  const plan = (shape: number[], opts: Record<string, unknown>) => planSlidingFor("test", spatialShapeInput("test", "x", shape, shape.length - 1), slidingGeometry("test", opts, shape.length - 1));
  it("tiles stride = kernel without padding (ceil mode's clipped last window too), not overlapping or padded windows", () => {
    expect(tiledExtents(plan([1, 8, 8], { kernelSize: 2, stride: 2 }).axes)).toEqual([2, 2]);
    expect(tiledExtents(plan([1, 7, 9], { kernelSize: 2, stride: 2, ceilMode: true }).axes)).toEqual([2, 2]);
    expect(tiledExtents(plan([1, 9, 9], { kernelSize: 3 }).axes)).toEqual([3, 3]);
    expect(tiledExtents(plan([1, 8, 8], { kernelSize: 3, stride: 2, padding: 1 }).axes)).toBeNull();
    expect(tiledExtents(plan([1, 8, 8], { kernelSize: 2, stride: 2, padding: 1 }).axes)).toBeNull();
    expect(tiledExtents(plan([1, 8, 8], { kernelSize: 2, stride: 3 }).axes)).toBeNull();
    expect(tiledExtents(plan([1, 4, 8, 8], { kernelSize: 2, stride: 2 }).axes)).toBeNull();
    expect(tiledExtents(planAdaptiveFor("test", spatialShapeInput("test", "x", [1, 56, 56], 2), 7).axes)).toEqual([8, 8]);
  });
});

describe("maxUnpool.forward: y's contents on entry ignored; wasm equals the TypeScript reference bit for bit", () => {
  it.each(WASM)("%s: garbage y, indices growing as pooling's or random (repeats: the last write wins), empty planes", (b) => {
    const g = new Generator(31);
    for (let t = 0; t < 40; t++) {
      const planes = int(g, 1, 3);
      const inPlane = int(g, 0, 300);
      const outPlane = inPlane === 0 ? int(g, 0, 9) : t % 5 === 0 ? int(g, 1, 4000) : int(g, Math.max(inPlane, 1), 4 * inPlane + 3);
      const x = values(g, planes * inPlane);
      const idx = Int32Array.from({ length: planes * inPlane }, (_, i) => {
        const o = i % Math.max(inPlane, 1);
        return t % 2 === 0 ? Math.min(4 * o + int(g, 0, 3), outPlane - 1) : int(g, 0, outPlane - 1);
      });
      const ref = new Float32Array(planes * outPlane).fill(GARBAGE);
      unpoolForward(x, idx, ref, planes, inPlane, outPlane);
      setBackend(b);
      const got = new Float32Array(planes * outPlane).fill(GARBAGE);
      kernel("maxUnpool.forward", "float32", unpoolForward)(x, idx, got, planes, inPlane, outPlane);
      expect(firstBitDifference(got, ref), `${b} planes ${planes} in ${inPlane} out ${outPlane}`).toBeNull();
    }
  });
});
