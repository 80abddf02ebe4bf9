import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { spatialPyramidPool } from "../../src/ops/spatialPyramidPool.js";
import { tensor } from "../../src/tensor/tensor.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { expected, fromJSON, loadFixture } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";

describe("spatialPyramidPool: shape / smoke", () => {
  it("batched [N, C·Σn²] and unbatched [C·Σn²], every dtype, outputShape agrees", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const x = tensor(new Float64Array(2 * 3 * 7 * 5).map((_, i) => Math.sin(i)), [2, 3, 7, 5], dtype);
      const y = spatialPyramidPool(x);
      expect(y.shape).toEqual([2, 3 * 21]);
      expect(y.dtype).toBe(dtype);
      expect(spatialPyramidPool.outputShape(x.shape)).toEqual([2, 63]);
      const u = spatialPyramidPool(x.reshape([6, 7, 5]).reshape([3, 2 * 7, 5]), { levels: [3, 1], mode: "avg" });
      expect(u.shape).toEqual([30]);
      expect(spatialPyramidPool.outputShape([3, 14, 5], { levels: [3, 1] })).toEqual([30]);
    }
  });
});

describe("spatialPyramidPool: errors", () => {
  const x = tensor(new Float32Array(16), [1, 1, 4, 4]);
  it("rejects bad levels, modes, ranks and unknown options", () => {
    expect(() => spatialPyramidPool(x, { levels: [] })).toThrow("spatialPyramidPool: levels must be a non-empty array of positive integers, got []");
    expect(() => spatialPyramidPool(x, { levels: [2, 0] })).toThrow("spatialPyramidPool: levels must hold positive integers, got [2, 0]");
    // 1e5 levels of size 1 ran for 21 s (one adaptive pass per level) for 6e5 outputs
    expect(() => spatialPyramidPool(x, { levels: new Array<number>(100000).fill(1) })).toThrow("spatialPyramidPool: levels must have at most 64 entries (SPP-net uses 3 or 4), got 100000");
    expect(() => spatialPyramidPool.outputShape([...x.shape], { levels: new Array<number>(65).fill(1) })).toThrow(/^spatialPyramidPool: levels must have at most 64 entries/);
    expect(spatialPyramidPool.outputShape([...x.shape], { levels: new Array<number>(64).fill(1) })[1]).toBe(64 * x.shape[1]!);
    expect(() => spatialPyramidPool(x, { levels: 2 as never })).toThrow("spatialPyramidPool: levels must be a non-empty array of positive integers, got 2");
    expect(() => spatialPyramidPool(x, { mode: "sum" as never })).toThrow('spatialPyramidPool: mode must be one of "max", "avg", got "sum"');
    expect(() => spatialPyramidPool(x, { level: [1] } as never)).toThrow('spatialPyramidPool: unknown option "level"');
    expect(() => spatialPyramidPool(tensor(new Float32Array(4), [4]))).toThrow("spatialPyramidPool: x must have shape [N, C, H, W] or [C, H, W], got [4]");
  });
});

describe("spatialPyramidPool: values", () => {
  it("reproduces the spec's worked example (arange(32), levels [2, 1])", () => {
    const x = tensor(Array.from({ length: 32 }, (_, i) => i), [1, 2, 4, 4]);
    expect(Array.from(spatialPyramidPool(x, { levels: [2, 1] }).data)).toEqual([5, 7, 13, 15, 21, 23, 29, 31, 15, 31]);
    expect(Array.from(spatialPyramidPool(x, { levels: [2, 1], mode: "avg" }).data)).toEqual([2.5, 4.5, 10.5, 12.5, 18.5, 20.5, 26.5, 28.5, 7.5, 23.5]);
  });
  it("gives exactly n bins where the paper's ⌈a/n⌉/⌊a/n⌋ rule does not (spec §4 table)", () => {
    for (const [a, n] of [[5, 3], [6, 4], [7, 4], [9, 6], [10, 6], [11, 4], [11, 6], [2, 4], [1, 3]] as const) {
      const x = tensor(new Float32Array(a * a), [1, 1, a, a]);
      expect(spatialPyramidPool(x, { levels: [n] }).shape).toEqual([1, n * n]);
    }
  });
  const fx = loadFixture("downstream_spp.json");
  for (const dtype of ["float32", "float64"] as const) {
    it(`matches the PyTorch adaptive-pooling reference (output and gradient) in ${dtype}: ${fx.cases.length} cases`, () => {
      const s = dtype === "float32" ? "f32" : "f64";
      for (const c of fx.cases) {
        const { output, backward } = spatialPyramidPool.vjp(fromJSON(c.x, dtype), { levels: c.levels, mode: c.mode });
        expect([...output.shape]).toEqual(c[`y_${s}`].shape);
        expectClose(output.data, expected(c[`y_${s}`]).data, tolFor(dtype), `${c.name} y`);
        const [dx] = backward(fromJSON(c.dy, dtype));
        expectClose(dx!.data, expected(c[`dx_${s}`]).data, tolFor(dtype), `${c.name} dx`);
      }
    });
  }
});

describe("spatialPyramidPool: gradcheck", () => {
  for (const mode of ["max", "avg"] as const) {
    it(`float64 finite differences (${mode}, overlapping bins)`, () => {
      gradcheck(([t]) => spatialPyramidPool.vjp(t!, { levels: [3, 2, 1], mode }), [distinctRandom([2, 2, 5, 4], 9)]);
    });
  }
});

describe("spatialPyramidPool: properties", () => {
  it("output length is C·Σn² for random map sizes and levels; level 1 equals the global max / mean", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom("max" as const, "avg" as const),
        (c, h, w, levels, mode) => {
          const x = distinctRandom([1, c, h, w], h * 13 + w);
          const y = spatialPyramidPool(x, { levels: [...levels, 1], mode });
          const total = c * levels.reduce((a, n) => a + n * n, 0);
          expect(y.shape).toEqual([1, total + c]);
          for (let ch = 0; ch < c; ch++) {
            const plane = Array.from(x.data.subarray(ch * h * w, (ch + 1) * h * w));
            const want = mode === "max" ? Math.max(...plane) : plane.reduce((a, v) => a + v, 0) / plane.length;
            expect(Math.abs((y.data[total + ch] as number) - want)).toBeLessThan(1e-12);
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});
