/**
 * Max-type backward passes that write a fresh gradient, part 2: max pooling's 3×3 stride 2 padding 1
 * windows (W2: assembly/scatter.ts maxBackwardWrite, the plane zeroed just ahead of the scatter) and
 * `maxWindows.scatterWrite` (fractional max pooling's backward, and the max part of mixed, stochastic
 * and S3 pooling's: zero, then scatter; sparse planes such as global and adaptive max pooling's
 * zeroed a group of planes per fill by maxBackwardSmall), against the TypeScript references (src/kernels/scatter.ts: zero,
 * then scatter in output order) bit for bit, on both WebAssembly builds, called as kernels so the
 * indices can be any int32: the forward's indices (NaN, ±∞, all −∞ windows, ties), and the same with
 * some moved — into another window, outside the plane, negative — carrying dy ≠ 0 or dy = 0. dy has
 * NaN, ±∞ and −0. dx starts as garbage (every element must be written). Sizes 1–113, odd and even,
 * ceil mode; inputs in WebAssembly memory and in the JS heap. RoIPool's backward (assembly/region.ts
 * roiPoolBackward) now writes dx whole too: checked on garbage dx the same way.
 */
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { getBackend, setBackend, type BackendName } from "../../src/backends/index.js";
import { spatialShapeInput } from "../../src/check.js";
import type { WindowPlan } from "../../src/geometry/plan.js";
import { planSlidingFor, slidingGeometry } from "../../src/geometry/sliding.js";
import { setZeroedBytes } from "../../src/backends/wasm/scatter.js";
import { planRoiPool } from "../../src/geometry/roi.js";
import { kernel } from "../../src/kernels/registry.js";
import { roiPoolBackward, roiPoolForward } from "../../src/kernels/region.js";
import { maxWindowsBackwardWrite, maxWindowsScatterWrite } from "../../src/kernels/scatter.js";
import { maxWindowsForward } from "../../src/kernels/window.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor } from "../../src/tensor/tensor.js";
import { firstBitDifference, int, values, WASM } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => {
  setBackend(initial);
  setZeroedBytes(undefined);
});

/**
 * The two scatter paths of a dx that is not tiled: zeroed in one fill then scattered (dx up to 8 MB),
 * or zeroed just ahead of the scatter (larger) — forced here by the size limit.
 */
const PATHS: [string, number | undefined][] = [["one fill, then the scatter", undefined], ["zeroed just ahead", 0]];

const GARBAGE = 12345.5;

function plan(shape: number[], opts: Record<string, unknown>): WindowPlan | null {
  try {
    return planSlidingFor("test", spatialShapeInput("test", "x", shape, shape.length - 1), slidingGeometry("test", opts, shape.length - 1));
  } catch {
    return null;
  }
}

/** Indices from the reference forward; `move` of them (a fraction) moved: another window's, outside the plane, negative. */
function indicesFor(g: Generator, p: WindowPlan, x: Float32Array, move: number): Int32Array {
  const n = p.planes * p.outPlaneSize;
  const idx = new Int32Array(n);
  maxWindowsForward(x, new Float32Array(n), idx, p.planes, p.axes);
  for (let o = 0; o < n; o++) {
    const u = g.uniform();
    if (u >= move) continue;
    const v = g.uniform();
    idx[o] = v < 0.6 ? int(g, 0, p.inPlaneSize - 1) : v < 0.8 ? p.inPlaneSize + int(g, 0, 3) : -int(g, 1, 3);
  }
  return idx;
}

/** Reference and wasm `maxWindows.backwardWrite` on garbage dx (inputs on `inputsOn`); the first differing bit or null. */
function compare(b: BackendName, inputsOn: BackendName, p: WindowPlan, dy: Float32Array, idx: Int32Array): string | null {
  const ref = new Float32Array(p.planes * p.inPlaneSize).fill(GARBAGE);
  maxWindowsBackwardWrite(dy, idx, ref, p.planes, p.axes);
  setBackend(inputsOn);
  const tdy = tensor(dy, [dy.length], "float32");
  const tidx = tensor(idx, [idx.length], "int32");
  const tdx = tensor(new Float32Array(ref.length).fill(GARBAGE), [ref.length], "float32");
  setBackend(b);
  const impl = kernel("maxWindows.backwardWrite", "float32", maxWindowsBackwardWrite);
  expect(impl).not.toBe(maxWindowsBackwardWrite);
  impl(tdy.data as Float32Array, tidx.data as Int32Array, tdx.data as Float32Array, p.planes, p.axes);
  const d = firstBitDifference(tdx.data as Float32Array, ref);
  for (const t of [tdy, tidx, tdx]) t.dispose();
  return d;
}

for (const [path, bytes] of PATHS) {
  describe(`maxWindows.backwardWrite, 3×3 stride 2 padding 1 (W2), ${path}: wasm equals the TypeScript reference bit for bit`, () => {
    beforeEach(() => setZeroedBytes(bytes));
    const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 18, 19, 24, 25, 33, 56, 112, 113];

    for (const b of WASM) {
      for (const inputsOn of [b, "js"] as const) {
        it(`${b}, inputs in ${inputsOn === "js" ? "the JS heap" : "WebAssembly memory"}: odd and even sizes, ceil mode, moved indices, special values`, () => {
          const g = new Generator(b === "wasm" ? 41 : 43);
          let cases = 0;
          for (const h of SIZES) {
            for (let t = 0; t < 3; t++) {
              const w = t === 0 ? h : SIZES[int(g, 0, SIZES.length - 1)] as number;
              const ceilMode = g.uniform() < 0.4;
              const p = plan([int(g, 1, 5), h, w], { kernelSize: 3, stride: 2, padding: 1, ceilMode });
              if (p === null) continue;
              const fill = g.uniform();
              const x = fill < 0.15 ? new Float32Array(p.planes * p.inPlaneSize).fill(-Infinity) : fill < 0.25 ? new Float32Array(p.planes * p.inPlaneSize).fill(NaN) : values(g, p.planes * p.inPlaneSize);
              const mode = cases % 3; // 0: forward's indices; 1: some moved, dy as drawn; 2: some moved, dy = ±0 there
              const idx = indicesFor(g, p, x, mode === 0 ? 0 : g.uniform() < 0.5 ? 0.1 : 0.005);
              const dy = values(g, idx.length);
              if (mode === 2) {
                const fwd = indicesFor(g, p, x, 0);
                for (let o = 0; o < dy.length; o++) if (idx[o] !== fwd[o]) dy[o] = g.uniform() < 0.5 ? 0 : -0;
              }
              cases++;
              expect(compare(b, inputsOn, p, dy, idx), `${b} planes ${p.planes} [${h},${w}] ceil ${ceilMode} mode ${mode}`).toBeNull();
            }
          }
          expect(cases).toBeGreaterThan(40);
        });
      }
    }

    it.each(WASM)("%s: W2's shape [8,64,112,112] on 2 planes, ties (x integer-valued) and a dy of ones", (b) => {
      const g = new Generator(7);
      const p = plan([2, 112, 112], { kernelSize: 3, stride: 2, padding: 1 }) as WindowPlan;
      const x = Float32Array.from({ length: p.planes * p.inPlaneSize }, () => int(g, 0, 2));
      const idx = indicesFor(g, p, x, 0);
      expect(compare(b, b, p, new Float32Array(idx.length).fill(1), idx)).toBeNull();
      expect(compare(b, b, p, values(g, idx.length), idx)).toBeNull();
    });
  });

  describe(`maxWindows.scatterWrite, ${path}: wasm equals the TypeScript reference bit for bit`, () => {
    beforeEach(() => setZeroedBytes(bytes));
    it.each(WASM)("%s: garbage dx, any indices (repeats accumulate in order), dense and sparse planes, empty ones", (b) => {
      const g = new Generator(51);
      for (let t = 0; t < 60; t++) {
        const planes = int(g, 1, 4);
        const inPlane = t % 10 === 0 ? int(g, 0, 2) : int(g, 1, 400);
        const outPlane = t % 7 === 0 ? 0 : t % 3 === 0 ? int(g, 1, 8) : int(g, 1, inPlane + 3);
        const n = planes * outPlane;
        const idx = Int32Array.from({ length: n }, (_, i) => {
          const u = g.uniform();
          const o = i % Math.max(outPlane, 1);
          // growing as pooling's (with repeats), random, outside the plane, negative
          return u < 0.5 ? Math.min(Math.floor((o * inPlane) / Math.max(outPlane, 1)) + int(g, 0, 2), inPlane - 1) : u < 0.9 ? int(g, 0, inPlane - 1) : u < 0.95 ? inPlane + int(g, 0, 2) : -int(g, 1, 2);
        });
        const dy = values(g, n);
        const ref = new Float32Array(planes * inPlane).fill(GARBAGE);
        maxWindowsScatterWrite(dy, idx, ref, planes, inPlane, outPlane);
        setBackend(b);
        const impl = kernel("maxWindows.scatterWrite", "float32", maxWindowsScatterWrite);
        expect(impl).not.toBe(maxWindowsScatterWrite);
        const got = new Float32Array(ref.length).fill(GARBAGE);
        impl(dy, idx, got, planes, inPlane, outPlane);
        expect(firstBitDifference(got, ref), `${b} planes ${planes} in ${inPlane} out ${outPlane}`).toBeNull();
      }
    });
  });
}

describe("maxWindows.scatterWrite on many small planes (global max pooling's shape): groups of planes zeroed per fill", () => {
  it.each(WASM)("%s: 1–3 outputs per plane of 7–256 elements, up to 700 planes, garbage dx", (b) => {
    const g = new Generator(61);
    for (const [inPlane, outPlane, planes] of [[49, 1, 700], [49, 3, 301], [7, 1, 513], [256, 1, 9], [200, 2, 37], [16, 1, 1000]] as [number, number, number][]) {
      const idx = Int32Array.from({ length: planes * outPlane }, () => (g.uniform() < 0.97 ? int(g, 0, inPlane - 1) : g.uniform() < 0.5 ? inPlane : -1));
      const dy = values(g, idx.length);
      const ref = new Float32Array(planes * inPlane).fill(GARBAGE);
      maxWindowsScatterWrite(dy, idx, ref, planes, inPlane, outPlane);
      setBackend(b);
      const got = new Float32Array(ref.length).fill(GARBAGE);
      kernel("maxWindows.scatterWrite", "float32", maxWindowsScatterWrite)(dy, idx, got, planes, inPlane, outPlane);
      expect(firstBitDifference(got, ref), `${b} planes ${planes} in ${inPlane} out ${outPlane}`).toBeNull();
    }
  });
});

describe("maxWindows.scatterWrite on sparse planes (≥ 16 elements per output: adaptive 56 → 7's shape): groups of planes of about 32 KB zeroed per fill", () => {
  it.each(WASM)("%s: one or two planes per fill and a last smaller group, repeated indices (accumulated in output order), indices outside the plane, garbage dx", (b) => {
    const g = new Generator(63);
    for (const [inPlane, outPlane, planes] of [[3136, 49, 7], [3136, 49, 1], [8193, 3, 3], [4000, 250, 5], [2048, 128, 9], [300, 1, 57]] as [number, number, number][]) {
      const u = g.uniform();
      const idx = Int32Array.from({ length: planes * outPlane }, (_, i) => {
        const v = g.uniform();
        const o = i % outPlane;
        // within its bin (as adaptive max's), one shared index (every output of the plane adds there), outside, negative
        return v < 0.7 ? Math.min(Math.floor((o * inPlane) / outPlane) + int(g, 0, 15), inPlane - 1) : v < 0.9 ? (u < 0.5 ? 5 : inPlane - 1) : v < 0.95 ? inPlane + int(g, 0, 2) : -1;
      });
      const dy = values(g, idx.length);
      const ref = new Float32Array(planes * inPlane).fill(GARBAGE);
      maxWindowsScatterWrite(dy, idx, ref, planes, inPlane, outPlane);
      setBackend(b);
      const got = new Float32Array(ref.length).fill(GARBAGE);
      kernel("maxWindows.scatterWrite", "float32", maxWindowsScatterWrite)(dy, idx, got, planes, inPlane, outPlane);
      expect(firstBitDifference(got, ref), `${b} planes ${planes} in ${inPlane} out ${outPlane}`).toBeNull();
    }
  });
});

describe("maxWindows.scatterWrite on dense planes (fractional max pooling's shape): several planes of up to 4097 elements", () => {
  it.each(WASM)("%s: 2–5000 planes, repeats in a row (accumulated in output order), indices outside the plane, garbage dx", (b) => {
    setZeroedBytes(undefined);
    const g = new Generator(65);
    for (const [inPlane, outPlane, planes] of [[3136, 1600, 3], [4096, 2000, 2], [1500, 700, 5], [1000, 600, 9], [1, 1, 5000], [4097, 1000, 2]] as [number, number, number][]) {
      const idx = Int32Array.from({ length: planes * outPlane }, (_, i) => {
        const v = g.uniform();
        const o = i % outPlane;
        // growing as fractional max's (neighbours often repeat), random, outside, negative
        return v < 0.8 ? Math.min(Math.floor((o * inPlane) / outPlane) + int(g, 0, 1), inPlane - 1) : v < 0.9 ? int(g, 0, inPlane - 1) : v < 0.95 ? inPlane + int(g, 0, 2) : -1;
      });
      const dy = values(g, idx.length);
      const ref = new Float32Array(planes * inPlane).fill(GARBAGE);
      maxWindowsScatterWrite(dy, idx, ref, planes, inPlane, outPlane);
      setBackend(b);
      const got = new Float32Array(ref.length).fill(GARBAGE);
      kernel("maxWindows.scatterWrite", "float32", maxWindowsScatterWrite)(dy, idx, got, planes, inPlane, outPlane);
      expect(firstBitDifference(got, ref), `${b} planes ${planes} in ${inPlane} out ${outPlane}`).toBeNull();
    }
  });
});

describe("roiPool.backward writes dx whole (each channel's planes zeroed before its scatter): wasm equals the TypeScript reference bit for bit", () => {
  it.each(WASM)("%s: garbage dx, boxes inside, across and outside the map, empty bins, no boxes", (b) => {
    const g = new Generator(71);
    for (let t = 0; t < 30; t++) {
      const shape = [int(g, 1, 3), int(g, 1, 5), int(g, 1, 17), int(g, 1, 17)];
      const [n, c, h, w] = shape as [number, number, number, number];
      const k = t % 10 === 0 ? 0 : int(g, 1, 9);
      const boxes = new Float32Array(5 * k);
      for (let r = 0; r < k; r++) {
        const x1 = g.uniform() * (w + 4) - 2;
        const y1 = g.uniform() * (h + 4) - 2;
        boxes.set([int(g, 0, n - 1), x1, y1, x1 + g.uniform() * w - 1, y1 + g.uniform() * h], 5 * r);
      }
      setBackend("js");
      const x = tensor(values(g, n * c * h * w), shape, "float32");
      const plan = planRoiPool("test", x, tensor(boxes, [k, 5], "float32"), [int(g, 1, 7), int(g, 1, 7)], 1);
      const bins = plan.k * plan.c * plan.ph * plan.pw;
      const y = new Float32Array(bins);
      const arg = new Int32Array(bins);
      roiPoolForward(x.data as Float32Array, y, arg, plan);
      const dy = values(g, bins);
      const ref = new Float32Array(n * c * h * w).fill(GARBAGE);
      roiPoolBackward(dy, arg, ref, plan);
      setBackend(b);
      const impl = kernel("roiPool.backward", "float32", roiPoolBackward);
      expect(impl).not.toBe(roiPoolBackward);
      const got = new Float32Array(ref.length).fill(GARBAGE);
      impl(dy, arg, got, plan);
      expect(firstBitDifference(got, ref), `${b} [${shape}] ${k} boxes`).toBeNull();
    }
  });
});
