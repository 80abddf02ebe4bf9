import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { roiPool } from "../../src/ops/roiPool.js";
import { cRound } from "../../src/geometry/roi.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { expected, fromJSON, loadFixture } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";

const ar16 = (dtype: "float32" | "float64" = "float32"): Tensor => tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4], dtype);
const box = (...v: number[]): Tensor => tensor([v], [1, 5]);

describe("roiPool: shape / smoke", () => {
  it("returns [K, C, ph, pw] in the input dtype, and outputShape agrees", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const x = tensor(new Float64Array(2 * 3 * 6 * 7).map((_, i) => Math.sin(i)), [2, 3, 6, 7], dtype);
      const b = tensor([[0, 0, 0, 4, 4], [1, 1, 2, 6, 5], [1, 0, 0, 1, 1]], [3, 5], dtype);
      const y = roiPool(x, b, { outputSize: [2, 3] });
      expect(y.shape).toEqual([3, 3, 2, 3]);
      expect(y.dtype).toBe(dtype);
      expect(roiPool.outputShape(x.shape, 3, { outputSize: [2, 3] })).toEqual([...y.shape]);
    }
  });
  it("accepts zero boxes", () => {
    expect(roiPool(ar16(), tensor([], [0, 5]), { outputSize: 2 }).shape).toEqual([0, 1, 2, 2]);
  });
  it("does not mutate inputs, and backward returns null for boxes and may be called twice", () => {
    const x = ar16("float64");
    const b = box(0, 0, 0, 2, 2);
    const xs = Array.from(x.data);
    const { backward } = roiPool.vjp(x, b, { outputSize: 2 });
    const dy = tensor([1, 1, 1, 1], [1, 1, 2, 2], "float64");
    const g1 = backward(dy);
    const g2 = backward(dy);
    expect(g1[1]).toBeNull();
    expect(Array.from(g1[0]!.data)).toEqual(Array.from(g2[0]!.data));
    expect(Array.from(x.data)).toEqual(xs);
  });
});

describe("roiPool: errors", () => {
  const x = ar16();
  it("rejects bad boxes, batch indices, ranks and options", () => {
    expect(() => roiPool(x, tensor([[0, 0, 0, 3]]), { outputSize: 2 })).toThrow("roiPool: boxes must have shape [K, 5] (batchIndex, x1, y1, x2, y2), got [1, 4]");
    expect(() => roiPool(x, tensor([0, 0, 0, 3, 3]), { outputSize: 2 })).toThrow("roiPool: boxes must have shape [K, 5]");
    expect(() => roiPool(x, [[0, 0, 0, 3, 3]] as unknown as Tensor, { outputSize: 2 })).toThrow("roiPool: boxes must be a Tensor of shape [K, 5], got [[0, 0, 0, 3, 3]]");
    expect(() => roiPool(x, box(1, 0, 0, 3, 3), { outputSize: 2 })).toThrow("roiPool: boxes[0] batch index must be in [0, 0] for a batch of 1, got 1");
    expect(() => roiPool(x, box(-1, 0, 0, 3, 3), { outputSize: 2 })).toThrow("batch index must be in [0, 0]");
    expect(() => roiPool(x, box(0, NaN, 0, 3, 3), { outputSize: 2 })).toThrow("roiPool: boxes[0] coordinates must be finite, got [0, NaN, 0, 3, 3]");
    expect(() => roiPool(tensor(new Float32Array(16), [1, 4, 4]), box(0, 0, 0, 3, 3), { outputSize: 2 })).toThrow("roiPool: x must have shape [N, C, H, W], got [1, 4, 4]");
    expect(() => roiPool(x, box(0, 0, 0, 3, 3), {} as never)).toThrow("roiPool: outputSize is required");
    expect(() => roiPool(x, box(0, 0, 0, 3, 3), { outputSize: 0 })).toThrow("roiPool: outputSize must be positive integers, got 0");
    expect(() => roiPool(x, box(0, 0, 0, 3, 3), { outputSize: 2, spatialScale: -1 })).toThrow("roiPool: spatialScale must be > 0, got -1");
    expect(() => roiPool(x, box(0, 0, 0, 3, 3), { outputSize: 2, samplingRatio: 2 } as never)).toThrow('roiPool: unknown option "samplingRatio"');
    expect(() => roiPool(tensor([1, 2, 3, 4], [1, 1, 2, 2], "int32"), box(0, 0, 0, 1, 1), { outputSize: 1 })).toThrow("roiPool: x must be float32 or float64, got int32");
  });
  it("outputShape rejects the options the forward pass rejects (it used to accept them, or crash on no options)", () => {
    expect(() => roiPool.outputShape([1, 1, 4, 4], 2, undefined as never)).toThrow("roiPool: outputSize is required");
    expect(() => roiPool.outputShape([1, 1, 4, 4], 2, {} as never)).toThrow("roiPool: outputSize is required");
    expect(() => roiPool.outputShape([1, 1, 4, 4], 2, { outputSize: 2, spatialScale: -1 })).toThrow("roiPool: spatialScale must be > 0, got -1");
    expect(() => roiPool.outputShape([1, 1, 4, 4], 2, { outputSize: 2, samplingRatio: 2 } as never)).toThrow('roiPool: unknown option "samplingRatio"');
  });
});

describe("roiPool: values", () => {
  it("truncates a fractional batch index toward zero, as torchvision's int cast", () => {
    const x = tensor(Array.from({ length: 32 }, (_, i) => i), [2, 1, 4, 4]);
    expect(Array.from(roiPool(x, box(1.9, 0, 0, 3, 3), { outputSize: 1 }).data)).toEqual([31]);
    expect(Array.from(roiPool(x, box(0.99, 0, 0, 3, 3), { outputSize: 1 }).data)).toEqual([15]);
  });
  it("C round goes half away from zero", () => {
    expect([cRound(2.5), cRound(-2.5), cRound(0.5), cRound(-0.5), cRound(1.49), cRound(-1.5)]).toEqual([3, -3, 1, -1, 1, -2]);
  });
  it("reproduces docs/methods/roi.md's worked numbers", () => {
    const x = ar16();
    const run = (b: number[], out: number, scale = 1): number[] => Array.from(roiPool(x, box(...b), { outputSize: out, spatialScale: scale }).data);
    expect(run([0, 0, 0, 3, 3], 2)).toEqual([5, 7, 13, 15]);
    expect(run([0, 1, 1, 5, 5], 2, 0.5)).toEqual([10, 11, 14, 15]);
    expect(run([0, 0, 0, 2, 2], 2)).toEqual([5, 6, 9, 10]);
    expect(run([0, 5, 5, 8, 8], 2)).toEqual([0, 0, 0, 0]);
    expect(run([0, 2, 2, 5, 5], 2)).toEqual([15, 0, 0, 0]);
    expect(run([0, 3, 3, 1, 1], 2)).toEqual([15, 15, 15, 15]);
    const { backward } = roiPool.vjp(x, box(0, 0, 0, 2, 2), { outputSize: 2 });
    const g = Array.from(backward(tensor([1, 1, 1, 1], [1, 1, 2, 2]))[0]!.data);
    expect(g).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    const xn = tensor([NaN], [1, 1, 1, 1]);
    expect(Array.from(roiPool(xn, box(0, 0, 0, 0, 0), { outputSize: 1 }).data)).toEqual([-3.4028234663852886e38]);
  });
  const fx = loadFixture("downstream_roi_pool.json");
  for (const dtype of ["float32", "float64"] as const) {
    it(`matches torchvision roi_pool (output and gradient) in ${dtype}: ${fx.cases.length} cases`, () => {
      const s = dtype === "float32" ? "f32" : "f64";
      for (const c of fx.cases) {
        const x = fromJSON(c.x, dtype);
        const b = fromJSON(c.boxes, dtype);
        const { output, backward } = roiPool.vjp(x, b, { outputSize: c.outputSize, spatialScale: c.spatialScale });
        expect([...output.shape]).toEqual(c[`y_${s}`].shape);
        expectClose(output.data, expected(c[`y_${s}`]).data, tolFor(dtype), `${c.name} y`);
        const [dx] = backward(fromJSON(c.dy, dtype));
        expectClose(dx!.data, expected(c[`dx_${s}`]).data, tolFor(dtype), `${c.name} dx`);
      }
    });
  }
});

describe("roiPool: gradcheck", () => {
  it("float64 finite differences for x (distinct values, overlapping bins, two images)", () => {
    const x = distinctRandom([2, 2, 5, 6], 3);
    const b = tensor([[0, 0, 0, 4, 3], [1, 1, 1, 5, 4], [0, 2, 1, 3, 4]], [3, 5], "float64");
    gradcheck(([t, bb]) => roiPool.vjp(t!, bb!, { outputSize: [2, 3] }), [x, b], { check: [0] });
  });
});

describe("roiPool: properties", () => {
  it("every output is an element of its image plane (or 0 for empty bins) and argmax gradients sum to dy's sum", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.double({ min: -3, max: 9, noNaN: true }), fc.double({ min: -3, max: 9, noNaN: true }), fc.double({ min: -3, max: 9, noNaN: true }), fc.double({ min: -3, max: 9, noNaN: true })), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (h, w, bx, out) => {
          const x = distinctRandom([1, 2, h, w], h * 7 + w);
          const b = tensor(bx.map((q) => [0, ...q]), [bx.length, 5], "float64");
          const { output, backward } = roiPool.vjp(x, b, { outputSize: out });
          const vals = new Set(Array.from(x.data));
          let nonzeroBins = 0;
          for (const v of output.data) {
            if (v !== 0) {
              expect(vals.has(v)).toBe(true);
              nonzeroBins++;
            }
          }
          const dy = tensor(new Float64Array(output.size).fill(1), output.shape, "float64");
          const dx = backward(dy)[0]!;
          const total = Array.from(dx.data).reduce((a, v) => a + v, 0);
          expect(total).toBeGreaterThanOrEqual(nonzeroBins);
          expect(total).toBeLessThanOrEqual(output.size);
        },
      ),
      { numRuns: 60 },
    );
  });
});
