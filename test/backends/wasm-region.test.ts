/**
 * The WebAssembly RoIAlign kernels (assembly/region.ts; SIMD and scalar builds) against the
 * TypeScript reference kernels (src/ops/roiAlign.ts), on the torchvision fixture cases and on random
 * maps with sizes 1–113 (odd sizes, 1×1 maps), random boxes (inside, overlapping the border, outside,
 * degenerate), sampling ratios (adaptive and fixed), `aligned` both ways, inputs in WebAssembly memory
 * and in the JS heap.
 *
 * Bounds (u = 2^−24). Forward, per RoI r with a gh × gw sample grid:
 * |Δy| ≤ 4·(gh + gw + 2)·u·max|x|. The wasm kernel works in float32 where the reference accumulates
 * in float64: the blended row V sums 2·gh weighted values and a bin 2·gw weighted values of V, each
 * product and sum rounded once, then one division — at most (2gh + 2gw + 3) roundings of quantities
 * bounded by Σ|w|·max|x| ≤ count·max|x| before the division by count. (In detail: V is a sum of 2gh
 * products with weights summing to gh, so |ΔV| ≤ γ_2gh·gh·max|x|; the bin sums 2gw products of V with
 * weights summing to gw, adding γ_2gw·gw·gh·max|x| and gw·|ΔV|; the division by count = gh·gw and its
 * rounding leave ≤ (2gh + 2gw + 1)·u·max|x| to first order, and the reference's own float32 rounding
 * ½u·max|x| — the factor 4 covers the γ terms.) The SIMD build blends eight bin rows at once (one per
 * lane) but performs per output the same operations in the same order, so the same bound holds.
 * Backward: |Δdx_i| ≤ 2^−16·S_i, S_i = Σ|contributions to dx_i| (the reference's backward of |dy| in
 * float64): both kernels add their contributions into a float32 dx one by one, in different orders and
 * with differently rounded products, each rounding off by at most u·S_i — room for 256 of them.
 * Non-finite values must match exactly (NaN where the reference has NaN, the same infinity).
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend } from "../../src/backends/index.js";
import { planRoiAlign } from "../../src/geometry/roi.js";
import { kernel } from "../../src/kernels/registry.js";
import { roiAlign } from "../../src/ops/roiAlign.js";
import { roiAlignForward } from "../../src/kernels/region.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import type { TypedArray } from "../../src/tensor/dtype.js";
import { decodeNumbers, loadFixture, type TensorJSON } from "../helpers/fixtures.js";
import { firstFarDifference, int, maxAbs, runOn, U32, values, WASM, type Input } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

interface Opts {
  outputSize: number | [number, number];
  spatialScale: number;
  samplingRatio: number;
  aligned: boolean;
}

/** Compare wasm backend `b` with the reference on one case (forward and backward). */
function check(b: (typeof WASM)[number], inputsOn: (typeof WASM)[number] | "js", xs: Float32Array, xShape: number[], boxes: Float32Array, opts: Opts, dy: (n: number) => Float32Array): void {
  const label = `roiAlign x [${xShape}] ${boxes.length / 5} boxes ${JSON.stringify(opts)} on ${b}`;
  const call = (t: Tensor[]) => roiAlign.vjp(t[0] as Tensor, t[1] as Tensor, opts);
  const inputs: Input[] = [{ data: xs, shape: xShape }, { data: boxes, shape: [boxes.length / 5, 5] }];
  const ref = runOn("js", "js", call, inputs, dy);
  const got = runOn(b, inputsOn, call, inputs, dy);
  // per-RoI forward bound from the plan's sample grids
  setBackend("js");
  const plan = planRoiAlign("roiAlign", tensor(xs, xShape, "float32"), tensor(boxes, [boxes.length / 5, 5], "float32"), opts.outputSize, opts.spatialScale, opts.samplingRatio, opts.aligned);
  const perRoi = plan.c * plan.ph * plan.pw;
  const mx = maxAbs(xs);
  const tolY = (i: number) => {
    const r = Math.floor(i / perRoi);
    return 4 * ((plan.ys.grid[r] as number) + (plan.xs.grid[r] as number) + 2) * U32 * mx;
  };
  expect(firstFarDifference(got.outputs[0] as TypedArray, ref.outputs[0] as TypedArray, tolY), `${label}: output`).toBeNull();
  // S_i: the reference backward of |dy| in float64
  const dyAbs = Float64Array.from(dy((ref.outputs[0] as TypedArray).length), Math.abs);
  const r64 = roiAlign.vjp(tensor(Float64Array.from(xs), xShape, "float64"), tensor(Float64Array.from(boxes), [boxes.length / 5, 5], "float64"), opts);
  const S = (r64.backward(tensor(dyAbs, r64.output.shape, "float64"))[0] as Tensor).data.slice();
  expect(firstFarDifference(got.grads[0] as TypedArray, ref.grads[0] as TypedArray, (i) => 2 ** -16 * (S[i] as number)), `${label}: dx`).toBeNull();
}

describe("the wasm backends register RoIAlign's kernels for float32 only", () => {
  it.each(WASM)("%s", (b) => {
    setBackend(b);
    expect(kernel("roiAlign.forward", "float32", roiAlignForward)).not.toBe(roiAlignForward);
    expect(kernel("roiAlign.forward", "float64", roiAlignForward)).toBe(roiAlignForward);
  });
});

describe("torchvision fixture cases: wasm within the stated float32 bounds of the TypeScript kernels", () => {
  for (const b of WASM) {
    it(`downstream_roi_align.json on ${b}`, () => {
      const { cases } = loadFixture<Opts & { x: TensorJSON; boxes: TensorJSON; dy: TensorJSON }>("downstream_roi_align.json");
      for (const c of cases) {
        const opts: Opts = { outputSize: c.outputSize, spatialScale: c.spatialScale, samplingRatio: c.samplingRatio, aligned: c.aligned };
        const dyv = Float32Array.from(decodeNumbers(c.dy.data));
        check(b, b, Float32Array.from(decodeNumbers(c.x.data)), c.x.shape, Float32Array.from(decodeNumbers(c.boxes.data)), opts, () => dyv);
      }
      expect(cases.length).toBeGreaterThan(10);
    });
  }
});

describe("random maps 1–113, random boxes: wasm within the stated float32 bounds of the TypeScript kernels", () => {
  for (const b of WASM) {
    for (const inputsOn of [b, "js"] as const) {
      it(`${b}, inputs in ${inputsOn === "js" ? "the JS heap (copied in)" : "WebAssembly memory"}`, () => {
        const g = new Generator(inputsOn === "js" ? 51 : 53);
        for (let t = 0; t < 30; t++) {
          const big = g.uniform() < 0.5;
          const h = big ? int(g, 1, 113) : int(g, 1, 9);
          const w = big ? int(g, 1, 113) : int(g, 1, 9);
          const n = int(g, 1, 2);
          const xShape = [n, int(g, 1, 3), h, w];
          const spatialScale = [1, 0.5, 0.25][int(g, 0, 2)] as number;
          const k = int(g, 0, 12);
          const boxes = new Float32Array(5 * k);
          for (let r = 0; r < k; r++) {
            const x1 = (g.uniform() * (w + 6) - 3) / spatialScale;
            const y1 = (g.uniform() * (h + 6) - 3) / spatialScale;
            const degenerate = g.uniform() < 0.15;
            boxes.set([int(g, 0, n - 1), x1, y1, degenerate ? x1 - g.uniform() : x1 + (g.uniform() * w) / spatialScale, degenerate ? y1 : y1 + (g.uniform() * h) / spatialScale], 5 * r);
          }
          const opts: Opts = {
            outputSize: [int(g, 1, 7), int(g, 1, 7)],
            spatialScale,
            samplingRatio: [-1, 0, 1, 2, 3][int(g, 0, 4)] as number,
            aligned: g.uniform() < 0.5,
          };
          const xs = values(g, xShape.reduce((a, s) => a * s, 1), t % 3 === 0);
          check(b, inputsOn, xs, xShape, boxes, opts, (m) => values(new Generator(m), m, false));
        }
      });
    }

    it(`${b}: more than 8 bin rows (the SIMD kernel's row groups), maps under 4 columns wide, adaptive grids of many samples`, () => {
      const g = new Generator(17);
      for (let t = 0; t < 16; t++) {
        const narrow = t % 2 === 0;
        const h = int(g, 1, 40);
        const w = narrow ? int(g, 1, 3) : int(g, 4, 60);
        const xShape = [2, int(g, 1, 5), h, w];
        const k = int(g, 1, 8);
        const boxes = new Float32Array(5 * k);
        for (let r = 0; r < k; r++) {
          const x1 = g.uniform() * (w + 4) - 2;
          const y1 = g.uniform() * (h + 4) - 2;
          boxes.set([int(g, 0, 1), x1, y1, x1 + g.uniform() * (w + 2), y1 + g.uniform() * (h + 2) * 2], 5 * r);
        }
        const opts: Opts = { outputSize: [int(g, 8, 20), int(g, 1, 9)], spatialScale: 1, samplingRatio: [-1, 0, 1, 2, 5][t % 5] as number, aligned: t % 3 === 0 };
        check(b, b, values(g, xShape.reduce((a, s) => a * s, 1), t % 4 === 1), xShape, boxes, opts, (m) => values(new Generator(m), m, false));
      }
    });

    it(`${b}: the benchmark geometry (7×7 bins, sampling 2) on a 50×50 map, boxes covering all of it`, () => {
      const g = new Generator(9);
      const xShape = [2, 4, 50, 50];
      const k = 16;
      const boxes = new Float32Array(5 * k);
      for (let r = 0; r < k; r++) {
        const x1 = g.uniform() * 40;
        const y1 = g.uniform() * 40;
        boxes.set([r % 2, x1, y1, x1 + 1 + g.uniform() * (49 - x1), y1 + 1 + g.uniform() * (49 - y1)], 5 * r);
      }
      boxes.set([0, 0, 0, 49, 49], 0);
      check(b, b, values(g, 2 * 4 * 2500, false), xShape, boxes, { outputSize: 7, spatialScale: 1, samplingRatio: 2, aligned: false }, (m) => values(new Generator(m), m, false));
    });
  }
});
