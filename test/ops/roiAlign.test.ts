import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { roiAlign } from "../../src/ops/roiAlign.js";
import { roiPool } from "../../src/ops/roiPool.js";
import { checkSampling, MAX_SAMPLES_PER_ROI } from "../../src/geometry/roi.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { expected, fromJSON, loadFixture } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";

const ar16 = (dtype: "float32" | "float64" = "float32"): Tensor => tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4], dtype);
const box = (...v: number[]): Tensor => tensor([v], [1, 5]);

describe("roiAlign: the sampling cap (2^24 samples per box)", () => {
  const x = ar16("float64");
  it("samplingRatio 1e6 is refused up front (it ran for hours): forward and outputShape", () => {
    const msg = /^roiAlign: samplingRatio 1000000 needs a 1000000 × 1000000 sampling grid per bin, 1000000000000 samples over its 1 × 1 bins, more than the 16777216 \(2\^24\) samples per box/;
    expect(() => roiAlign(x, box(0, 0, 0, 3, 3), { outputSize: 1, samplingRatio: 1e6 })).toThrow(msg);
    expect(() => roiAlign.outputShape([1, 1, 4, 4], 1, { outputSize: 1, samplingRatio: 1e6 })).toThrow(msg);
  });

  it("the cap is on samples per bin × bins: 3000 per axis is refused at outputSize 7; exactly 2^24 per box is allowed", () => {
    expect(() => roiAlign(x, box(0, 0, 0, 3, 3), { outputSize: 7, samplingRatio: 3000 })).toThrow(/^roiAlign: samplingRatio 3000 needs .* 441000000 samples over its 7 × 7 bins/);
    expect(() => roiAlign(x, box(0, 0, 0, 3, 3), { outputSize: 2, samplingRatio: 2049 })).toThrow(RangeError);
    expect(() => checkSampling("roiAlign", 2, 2, 2048, 2048, "samplingRatio 2048")).not.toThrow();
    expect(MAX_SAMPLES_PER_ROI).toBe(2 ** 24);
    // a large allowed grid still gives the right number: the mean of the bilinear surface over the box
    const y = roiAlign(tensor([0, 1, 2, 3], [1, 1, 2, 2], "float64"), box(0, 0, 0, 1, 1), { outputSize: 1, samplingRatio: 1024 });
    expect(y.data[0]!).toBeCloseTo(1.5, 12);
  });

  it("the adaptive grid of a huge box counts the same way, and says how to avoid it", () => {
    expect(() => roiAlign(x, box(0, 0, 0, 1e4, 1e4), { outputSize: 2 })).toThrow(/^roiAlign: boxes\[0\] needs a 5000 × 5000 sampling grid per bin, 100000000 samples .*pass a positive samplingRatio/);
    expect(roiAlign(x, box(0, 0, 0, 1e4, 1e4), { outputSize: 2, samplingRatio: 2 }).shape).toEqual([1, 1, 2, 2]);
  });
});

describe("roiAlign / roiPool: coordinates that overflow x's dtype once scaled", () => {
  it("float32 boxes times spatialScale past 3.4e38 are an op error (they made every bin NaN)", () => {
    const x = ar16();
    const big = tensor([[0, 0, 0, 3e38, 3]]);
    expect(() => roiAlign(x, big, { outputSize: 2, spatialScale: 2, samplingRatio: 2 })).toThrow(/^roiAlign: boxes\[0\] coordinates times spatialScale overflow float32; got a box edge or size of Infinity$/);
    expect(() => roiPool(x, big, { outputSize: 2, spatialScale: 2 })).toThrow(/^roiPool: boxes\[0\] coordinates times spatialScale overflow float32/);
    // the size overflows even though both edges are finite
    expect(() => roiAlign(x, tensor([[0, -3e38, 0, 3e38, 3]]), { outputSize: 2, samplingRatio: 2 })).toThrow(/^roiAlign: boxes\[0\] coordinates times spatialScale overflow float32/);
    // float64 has the range: the same box is fine
    expect(roiAlign(ar16("float64"), tensor([[0, 0, 0, 3e38, 3]], [1, 5], "float64"), { outputSize: 2, spatialScale: 2, samplingRatio: 2 }).shape).toEqual([1, 1, 2, 2]);
  });
});

describe("roiAlign: shape / smoke", () => {
  it("returns [K, C, ph, pw] in the input dtype, and outputShape agrees", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const x = tensor(new Float64Array(2 * 3 * 6 * 7).map((_, i) => Math.cos(i)), [2, 3, 6, 7], dtype);
      const b = tensor([[0, 0, 0, 4, 4], [1, 1.5, 2, 6, 5]], [2, 5], dtype);
      const y = roiAlign(x, b, { outputSize: [3, 2], samplingRatio: 2 });
      expect(y.shape).toEqual([2, 3, 3, 2]);
      expect(y.dtype).toBe(dtype);
      expect(roiAlign.outputShape(x.shape, 2, { outputSize: [3, 2] })).toEqual([...y.shape]);
    }
  });
  it("backward returns null for boxes, may be called twice, inputs untouched", () => {
    const x = ar16("float64");
    const xs = Array.from(x.data);
    const { backward } = roiAlign.vjp(x, box(0, 0.5, 0.5, 2.5, 2.5), { outputSize: 1, samplingRatio: 2 });
    const g1 = backward(tensor([1], [1, 1, 1, 1], "float64"));
    const g2 = backward(tensor([1], [1, 1, 1, 1], "float64"));
    expect(g1[1]).toBeNull();
    expect(Array.from(g1[0]!.data)).toEqual(Array.from(g2[0]!.data));
    expect(Array.from(x.data)).toEqual(xs);
  });
});

describe("roiAlign: errors", () => {
  const x = ar16();
  it("rejects bad boxes, batch indices, ranks and options", () => {
    expect(() => roiAlign(x, tensor([[0, 0, 0, 3, 3, 1]]), { outputSize: 2 })).toThrow("roiAlign: boxes must have shape [K, 5] (batchIndex, x1, y1, x2, y2), got [1, 6]");
    expect(() => roiAlign(x, box(3, 0, 0, 3, 3), { outputSize: 2 })).toThrow("roiAlign: boxes[0] batch index must be in [0, 0] for a batch of 1, got 3");
    expect(() => roiAlign(x, box(0, 0, Infinity, 3, 3), { outputSize: 2 })).toThrow("roiAlign: boxes[0] coordinates must be finite");
    expect(() => roiAlign(x, box(0, 0, 0, 1e12, 3), { outputSize: 2 })).toThrow("roiAlign: boxes[0] needs a 2 × 499999997952 sampling grid per bin");
    // many boxes within the per-box cap whose grids together pass the size limit: an op error, not V8's
    const many = tensor(Array.from({ length: 200 }, () => [0, 0, 0, 1.6e7, 0.5]).flat(), [200, 5], "float32");
    expect(() => roiAlign(x, many, { outputSize: 1 })).toThrow(/^roiAlign: a sample grid of all boxes has 3200000000 elements/);
    expect(roiAlign(x, box(0, 0, 0, 1e12, 3), { outputSize: 2, samplingRatio: 2 }).shape).toEqual([1, 1, 2, 2]);
    expect(() => roiAlign(x, box(0, 0, 0, 3, 3), { outputSize: 2, samplingRatio: 1.5 })).toThrow("roiAlign: samplingRatio must be an integer, got 1.5");
    expect(() => roiAlign(x, box(0, 0, 0, 3, 3), { outputSize: 2, aligned: 1 as never })).toThrow("roiAlign: aligned must be a boolean, got 1");
    expect(() => roiAlign(x, box(0, 0, 0, 3, 3), { outputSize: [2, 2, 2] as never })).toThrow("roiAlign: outputSize must be a number or an array of 2 numbers, got [2, 2, 2]");
    expect(() => roiAlign(x, box(0, 0, 0, 3, 3), { outputSize: 2, spatial_scale: 1 } as never)).toThrow('roiAlign: unknown option "spatial_scale"');
    expect(() => roiAlign(tensor(new Float32Array(32), [1, 2, 1, 4, 4]), box(0, 0, 0, 3, 3), { outputSize: 2 })).toThrow("roiAlign: x must have shape [N, C, H, W], got [1, 2, 1, 4, 4]");
  });
  it("outputShape rejects the options the forward pass rejects (it used to accept them, or crash on no options)", () => {
    expect(() => roiAlign.outputShape([1, 1, 4, 4], 2, undefined as never)).toThrow("roiAlign: outputSize is required");
    expect(() => roiAlign.outputShape([1, 1, 4, 4], 2, { outputSize: 2, samplingRatio: 1.5 })).toThrow("roiAlign: samplingRatio must be an integer, got 1.5");
    expect(() => roiAlign.outputShape([1, 1, 4, 4], 2, { outputSize: 2, aligned: 1 as never })).toThrow("roiAlign: aligned must be a boolean, got 1");
    expect(() => roiAlign.outputShape([1, 1, 4, 4], 2, { outputSize: 2, spatial_scale: 1 } as never)).toThrow('roiAlign: unknown option "spatial_scale"');
  });
});

describe("roiAlign: values", () => {
  it("reproduces the spec's worked examples (v3_roi_examples.out)", () => {
    const x = ar16("float64");
    const run = (b: number[], out: number, sr: number, aligned: boolean): number[] =>
      Array.from(roiAlign(x, box(...b), { outputSize: out, samplingRatio: sr, aligned }).data);
    for (const sr of [1, 2, -1]) expectClose(run([0, 0, 0, 3, 3], 2, sr, false), [3.75, 5.25, 9.75, 11.25], { atol: 1e-12 });
    expectClose(run([0, 0, 0, 3, 3], 2, 1, true), [1.25, 2.75, 7.25, 8.75], { atol: 1e-12 });
    for (const sr of [2, -1]) expectClose(run([0, 0, 0, 3, 3], 2, sr, true), [1.5625, 3.0, 7.3125, 8.75], { atol: 1e-12 });
    expectClose(run([0, 1, 1, 2, 2], 1, 2, false), [7.5], { atol: 1e-12 });
    expectClose(run([0, 1, 1, 2, 2], 1, 2, true), [5.0], { atol: 1e-12 });
    expectClose(run([0, 3, 0, 7, 1], 1, 2, false), [2.5], { atol: 1e-12 });
    expectClose(run([0, 1, 1, 1, 1], 1, -1, true), [0], { atol: 1e-12 });
    expectClose(run([0, 1, 1, 1, 1], 1, -1, false), [7.5], { atol: 1e-12 });
    const { output, backward } = roiAlign.vjp(x, box(0, 0.5, 0.5, 2.5, 2.5), { outputSize: 1, samplingRatio: 2 });
    expectClose(output.data, [7.5], { atol: 1e-12 });
    const g = backward(tensor([1], [1, 1, 1, 1], "float64"))[0]!;
    expectClose(g.data, [0, 0, 0, 0, 0, 0.25, 0.25, 0, 0, 0.25, 0.25, 0, 0, 0, 0, 0], { atol: 1e-12 });
  });
  const fx = loadFixture("downstream_roi_align.json");
  for (const dtype of ["float32", "float64"] as const) {
    it(`matches torchvision roi_align (output and gradient) in ${dtype}: ${fx.cases.length} cases`, () => {
      const s = dtype === "float32" ? "f32" : "f64";
      const tol = tolFor(dtype);
      for (const c of fx.cases) {
        const x = fromJSON(c.x, dtype);
        const b = fromJSON(c.boxes, dtype);
        const opts = { outputSize: c.outputSize, spatialScale: c.spatialScale, samplingRatio: c.samplingRatio, aligned: c.aligned };
        const { output, backward } = roiAlign.vjp(x, b, opts);
        expect([...output.shape]).toEqual(c[`y_${s}`].shape);
        expectClose(output.data, expected(c[`y_${s}`]).data, tol, `${c.name} y`);
        const [dx] = backward(fromJSON(c.dy, dtype));
        expectClose(dx!.data, expected(c[`dx_${s}`]).data, tol, `${c.name} dx`);
      }
    });
  }
});

describe("roiAlign: gradcheck", () => {
  for (const aligned of [false, true]) {
    it(`float64 finite differences for x (aligned ${aligned}, adaptive grid, boxes partly outside)`, () => {
      const x = distinctRandom([2, 2, 5, 6], 11);
      const b = tensor([[0, 0.3, 0.7, 4.1, 3.9], [1, -1.2, 2.2, 7.5, 6.1], [1, 2.2, 1.1, 2.9, 1.4]], [3, 5], "float64");
      gradcheck(([t, bb]) => roiAlign.vjp(t!, bb!, { outputSize: [2, 3], spatialScale: 0.8, aligned }), [x, b], { check: [0] });
    });
  }
});

/** Independent bilinear sample of an [H, W] plane at a point inside [0, H−1] × [0, W−1]. */
function bilinear(p: ArrayLike<number>, H: number, W: number, y: number, x: number): number {
  const y0 = Math.min(Math.floor(y), H - 1);
  const x0 = Math.min(Math.floor(x), W - 1);
  const y1 = Math.min(y0 + 1, H - 1);
  const x1 = Math.min(x0 + 1, W - 1);
  const dy = y - y0;
  const dx = x - x0;
  const at = (a: number, b: number): number => p[a * W + b] as number;
  return (1 - dy) * (1 - dx) * at(y0, x0) + (1 - dy) * dx * at(y0, x1) + dy * (1 - dx) * at(y1, x0) + dy * dx * at(y1, x1);
}

describe("roiAlign: properties", () => {
  it("a box covering whole pixels (bin = 1 pixel) at samplingRatio 1 gives bilinear samples at the bin centres", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 7 }), fc.integer({ min: 2, max: 7 }), fc.nat(), fc.nat(), fc.nat(), fc.nat(), fc.boolean(), (H, W, a, b, c, d, aligned) => {
        const ph = 1 + (a % (H - 1));
        const pw = 1 + (b % (W - 1));
        const y1 = c % (H - ph);
        const x1 = d % (W - pw);
        const x = distinctRandom([1, 1, H, W], H * 31 + W);
        const y = roiAlign(x, tensor([[0, x1, y1, x1 + pw, y1 + ph]], [1, 5], "float64"), { outputSize: [ph, pw], samplingRatio: 1, aligned });
        const off = aligned ? 0 : 0.5; // aligned shifts by −½: the centre lands on the pixel itself
        const want: number[] = [];
        for (let i = 0; i < ph; i++) for (let j = 0; j < pw; j++) want.push(bilinear(x.data, H, W, y1 + i + off, x1 + j + off));
        expectClose(y.data, want, { atol: 1e-12, rtol: 1e-12 });
      }),
      { numRuns: 80 },
    );
  });
  it("is linear in x, and the gradient of a constant map sums to the in-range sample fraction", () => {
    fc.assert(
      fc.property(fc.double({ min: -2, max: 6, noNaN: true }), fc.double({ min: -2, max: 6, noNaN: true }), fc.double({ min: 0.1, max: 5, noNaN: true }), (x1, y1, s) => {
        const x = distinctRandom([1, 1, 5, 5], 5);
        const b = tensor([[0, x1, y1, x1 + s, y1 + s]], [1, 5], "float64");
        const y1v = roiAlign(x, b, { outputSize: 2, samplingRatio: 2 });
        const x2 = tensor(Array.from(x.data, (v) => 3 * v), x.shape, "float64");
        expectClose(roiAlign(x2, b, { outputSize: 2, samplingRatio: 2 }).data, Array.from(y1v.data, (v) => 3 * v), { atol: 1e-12 });
        const ones = tensor(new Float64Array(25).fill(1), [1, 1, 5, 5], "float64");
        const { output, backward } = roiAlign.vjp(ones, b, { outputSize: 2, samplingRatio: 2 });
        const dx = backward(tensor([1, 1, 1, 1], [1, 1, 2, 2], "float64"))[0]!;
        const total = Array.from(dx.data).reduce((p, v) => p + v, 0);
        expect(Math.abs(total - Array.from(output.data).reduce((p, v) => p + v, 0))).toBeLessThan(1e-12);
      }),
      { numRuns: 60 },
    );
  });
});
