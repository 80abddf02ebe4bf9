/**
 * Mixed pooling's backward as one kernel (`mix.backward`, assembly/scatter.ts mixBackward: dx written
 * once from dy, the max-branch weights, the forward's max indices and the average's windows) against
 * the TypeScript reference (src/kernels/scatter.ts mixWindowsBackward: the branches split, zero and
 * scatter, then the average's scatter), on both WebAssembly builds, called as a kernel on a dx of
 * garbage (every element must be written):
 * - planes whose weight is 1 (the max branch whole): bit for bit (NaN, ±∞, −0 in dy; ties and −∞
 *   windows in x; indices moved into other windows, outside the plane, negative);
 * - every other plane: the average part is summed in the kernel's order (column sums, then row sums,
 *   in float32, g = dA/divisor rounded to float32 first) and the max part added after it, so per
 *   element |got − ref| ≤ γ(3K + 5)·b, K the window's tap count and b the reference's gradient for
 *   |dy| (Σ of the terms' magnitudes): each side rounds at most once per term plus once per partial
 *   sum (≤ 2K + 2 roundings on the kernel's side, ≤ 2K on the reference's, γ(m) = m·u/(1 − m·u),
 *   u = 2⁻²⁴); non-finite values must match exactly.
 * Weights per plane (0, 1, ½, ¼) and per output element (0/1 and blends); sliding plans of sizes
 * 1–113 (odd and even), kernels 1–5, strides 1–5, padding, ceil mode, countIncludePad both ways;
 * dilated plans (the kernel's TypeScript fallback); inputs in WebAssembly memory and the JS heap.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, type BackendName } from "../../src/backends/index.js";
import { spatialShapeInput } from "../../src/check.js";
import { avgDivisors } from "../../src/geometry/divisors.js";
import type { WindowPlan } from "../../src/geometry/plan.js";
import { planSlidingFor, slidingGeometry } from "../../src/geometry/sliding.js";
import { kernel } from "../../src/kernels/registry.js";
import { mixWindowsBackward } from "../../src/kernels/scatter.js";
import { maxWindowsForward } from "../../src/kernels/window.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor } from "../../src/tensor/tensor.js";
import { firstBitDifference, firstFarDifference, gamma32, int, values, WASM } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

const GARBAGE = 12345.5;

function plan(shape: number[], opts: Record<string, unknown>): WindowPlan | null {
  try {
    return planSlidingFor("test", spatialShapeInput("test", "x", shape, shape.length - 1), slidingGeometry("test", opts, shape.length - 1));
  } catch {
    return null;
  }
}

interface Case {
  p: WindowPlan;
  dy: Float32Array;
  w: Float64Array;
  idx: Int32Array;
  div: Float64Array;
  /** The weight of each plane (NaN: per element, varying). */
  planeW: Float64Array;
}

function makeCase(g: Generator, p: WindowPlan, countIncludePad: boolean, perPlane: boolean): Case {
  const n = p.planes * p.outPlaneSize;
  const fill = g.uniform();
  const x = fill < 0.1 ? new Float32Array(p.planes * p.inPlaneSize).fill(-Infinity) : values(g, p.planes * p.inPlaneSize);
  const idx = new Int32Array(n);
  maxWindowsForward(x, new Float32Array(n), idx, p.planes, p.axes);
  if (g.uniform() < 0.3) {
    for (let o = 0; o < n; o++) {
      if (g.uniform() >= 0.05) continue;
      const v = g.uniform();
      idx[o] = v < 0.6 ? int(g, 0, p.inPlaneSize - 1) : v < 0.8 ? p.inPlaneSize + int(g, 0, 3) : -int(g, 1, 3);
    }
  }
  const dy = values(g, n);
  const planeW = new Float64Array(p.planes);
  for (let q = 0; q < p.planes; q++) {
    const u = g.uniform();
    planeW[q] = perPlane ? (u < 0.4 ? 1 : u < 0.8 ? 0 : u < 0.9 ? 0.5 : 0.25) : NaN;
  }
  const w = perPlane
    ? planeW.slice()
    : Float64Array.from({ length: n }, () => {
        const u = g.uniform();
        return u < 0.4 ? 1 : u < 0.8 ? 0 : g.uniform();
      });
  return { p, dy, w, idx, div: avgDivisors(p.axes, countIncludePad), planeW };
}

/** The wasm kernel on garbage dx, inputs made on `inputsOn`; returns dx. */
function runWasm(b: BackendName, inputsOn: BackendName, c: Case): Float32Array {
  setBackend(inputsOn);
  const tdy = tensor(c.dy, [c.dy.length], "float32");
  const tw = tensor(c.w, [c.w.length], "float64");
  const tidx = tensor(c.idx, [c.idx.length], "int32");
  const tdx = tensor(new Float32Array(c.p.planes * c.p.inPlaneSize).fill(GARBAGE), [c.p.planes * c.p.inPlaneSize], "float32");
  setBackend(b);
  const impl = kernel("mix.backward", "float32", mixWindowsBackward);
  expect(impl).not.toBe(mixWindowsBackward);
  impl(tdy.data as Float32Array, tw.data as Float64Array, tidx.data as Int32Array, tdx.data as Float32Array, c.p.planes, c.p.axes, c.div);
  const out = (tdx.data as Float32Array).slice();
  for (const t of [tdy, tw, tidx, tdx]) t.dispose();
  return out;
}

/** Compare the kernel with the reference: bit for bit on planes of weight 1, within γ(3K + 5)·b elsewhere. */
function check(label: string, b: BackendName, inputsOn: BackendName, c: Case, K: number): void {
  const { p } = c;
  const ref = new Float32Array(p.planes * p.inPlaneSize).fill(GARBAGE);
  mixWindowsBackward(c.dy, c.w, c.idx, ref, p.planes, p.axes, c.div);
  const abs = new Float32Array(ref.length);
  mixWindowsBackward(c.dy.map((v) => Math.abs(v)), c.w.map((v) => Math.abs(v)), c.idx, abs, p.planes, p.axes, c.div);
  const got = runWasm(b, inputsOn, c);
  const gam = gamma32(3 * K + 5);
  for (let q = 0; q < p.planes; q++) {
    const lo = q * p.inPlaneSize;
    const hi = lo + p.inPlaneSize;
    const gq = got.subarray(lo, hi);
    const rq = ref.subarray(lo, hi);
    if (c.planeW[q] === 1) expect(firstBitDifference(gq, rq), `${label} plane ${q} (max): bits`).toBeNull();
    else {
      const aq = abs.subarray(lo, hi);
      expect(firstFarDifference(gq, rq, (j) => (Number.isFinite(aq[j]) ? gam * (aq[j] as number) : Infinity)), `${label} plane ${q} (w ${c.planeW[q]})`).toBeNull();
    }
  }
}

const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 28, 31, 56, 57, 113];

describe("mix.backward: wasm equals the TypeScript reference (max planes bit for bit, the rest within γ(3K + 5)·|terms|)", () => {
  for (const b of WASM) {
    for (const inputsOn of [b, "js"] as const) {
      it(`${b}, inputs in ${inputsOn === "js" ? "the JS heap" : "WebAssembly memory"}: random sliding plans, weights per plane and per element`, () => {
        const g = new Generator(b === "wasm" ? 91 : 93);
        let cases = 0;
        for (let t = 0; t < 60; t++) {
          const h = SIZES[int(g, 0, SIZES.length - 1)] as number;
          const w = t % 4 === 0 ? h : (SIZES[int(g, 0, SIZES.length - 1)] as number);
          const k = [int(g, 1, Math.min(h, 5)), int(g, 1, Math.min(w, 5))];
          const stride = [int(g, 1, 5), int(g, 1, 5)];
          const padding = [int(g, 0, Math.floor((k[0] as number) / 2)), int(g, 0, Math.floor((k[1] as number) / 2))];
          const ceilMode = g.uniform() < 0.3;
          const dilation = t % 10 === 9 ? [int(g, 1, 2), 2] : undefined;
          const opts = { kernelSize: k, stride, padding, ceilMode, ...(dilation ? { dilation } : {}) };
          const p = plan([int(g, 1, 6), h, w], opts);
          if (p === null) continue;
          const perPlane = t % 3 !== 2;
          const c = makeCase(g, p, g.uniform() < 0.5, perPlane);
          check(`${b} [${p.planes}, ${h}, ${w}] ${JSON.stringify(opts)} ${perPlane ? "per plane" : "per element"}`, b, inputsOn, c, (k[0] as number) * (k[1] as number));
          cases++;
        }
        expect(cases).toBeGreaterThan(40);
      });
    }

    it(`${b}: the benchmark's plan (3×3 stride 2 padding 1, [2, 6, 56, 56]), λ per plane`, () => {
      const g = new Generator(5);
      const p = plan([12, 56, 56], { kernelSize: 3, stride: 2, padding: 1 }) as WindowPlan;
      const c = makeCase(g, p, true, true);
      c.planeW.set([1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0.5, 1]);
      c.w.set(c.planeW);
      check(`${b} [12, 56, 56]`, b, b, c, 9);
    });
  }
});
