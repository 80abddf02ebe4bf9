import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { globalAvgPool, globalMaxPool, maxPool2d, avgPool2d } from "../../src/ops/pytorch.js";
import { tensor, zeros, type Tensor } from "../../src/tensor/tensor.js";
import { randn } from "../../src/tensor/random.js";
import type { FloatDType } from "../../src/tensor/dtype.js";
import { expectClose } from "../helpers/close.js";
import { expectVjpMatches, fromJSON, loadFixture, replayCases, type PyTorchCase } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";
import { onesLike } from "../helpers/tensors.js";

const OPS = { globalAvgPool, globalMaxPool } as const;

interface Case extends PyTorchCase {
  op: keyof typeof OPS;
}

describe("globalPool — shape / smoke", () => {
  it("[N, C, ...any spatial] → [N, C] in both dtypes; outputShape equals the forward shape", () => {
    for (const op of [globalAvgPool, globalMaxPool]) {
      for (const dtype of ["float32", "float64"] as FloatDType[]) {
        for (const shape of [[2, 3, 5], [2, 3, 4, 5], [1, 2, 3, 4, 2], [2, 1, 2, 2, 2, 2], [0, 3, 4, 4]]) {
          const y = op(randn(shape, { seed: 1, dtype }));
          expect(y.dtype).toBe(dtype);
          expect([...y.shape]).toEqual(shape.slice(0, 2));
          expect(op.outputShape(shape)).toEqual(shape.slice(0, 2));
        }
      }
    }
  });

  it("does not mutate its input; backward twice gives the same result; {} is accepted as options", () => {
    const x = randn([2, 2, 3, 3], { seed: 2, dtype: "float64" });
    const before = Float64Array.from(x.data);
    for (const op of [globalAvgPool, globalMaxPool]) {
      const { output, backward } = op.vjp(x, {});
      expect([...(backward(onesLike(output))[0] as Tensor).data]).toEqual([...(backward(onesLike(output))[0] as Tensor).data]);
    }
    expect([...x.data]).toEqual([...before]);
  });
});

describe("globalPool — errors", () => {
  it("rejects wrong rank, empty dims, non-tensors, int32 input, any option", () => {
    expect(() => globalAvgPool(zeros([2, 3]))).toThrow("globalAvgPool: x must have shape [N, C, ...spatial] with at least one spatial dim, got [2, 3]");
    expect(() => globalMaxPool(zeros([2, 3, 0, 4]))).toThrow("globalMaxPool: x must have non-empty channel and spatial dims, got shape [2, 3, 0, 4]");
    expect(() => globalMaxPool(undefined as never)).toThrow("globalMaxPool: x must be a Tensor, got undefined");
    expect(() => globalAvgPool(zeros([1, 1, 2, 2], "int32"))).toThrow("globalAvgPool: x must be float32 or float64, got int32");
    expect(() => globalAvgPool(zeros([1, 1, 2, 2]), { keepDims: true } as never)).toThrow('globalAvgPool: takes no options, got unknown option "keepDims"');
    expect(() => globalMaxPool.outputShape([1, 2])).toThrow("globalMaxPool: x must have shape [N, C, ...spatial] with at least one spatial dim, got [1, 2]");
  });
});

describe("globalPool — values", () => {
  const fixture = loadFixture<Case>("pytorch_sliding_global.json");
  it("has the committed PyTorch fixture", () => expect(fixture.cases.length).toBeGreaterThanOrEqual(10));
  replayCases(
    fixture.cases,
    (c, i, dtype) => `matches PyTorch: case ${i} ${c.op} ${JSON.stringify(c.x.shape)} ${c.note ?? ""} (${dtype})`,
    (c, dtype) => expectVjpMatches(OPS[c.op].vjp(fromJSON(c.x, dtype)), fromJSON(c.dy, dtype), c[dtype], dtype),
  );

  it("docs/methods/adaptive.md: the whole gradient goes to the first of tied maxima ([0, 1, 0, 0], not amax's [0, .5, .5, 0])", () => {
    const { output, backward } = globalMaxPool.vjp(tensor([[[[1, 4], [4, 2]]]], undefined, "float64"));
    expect([...output.data]).toEqual([4]);
    expect([...(backward(onesLike(output))[0] as Tensor).data]).toEqual([0, 1, 0, 0]);
  });

  it("docs/methods/adaptive.md: global average of [[1, 2], [3, 4]] is 2.5 with gradient 1/4 each; NaN propagates in max", () => {
    const { output, backward } = globalAvgPool.vjp(tensor([[[[1, 2], [3, 4]]]], undefined, "float64"));
    expectClose(output.data, [2.5], { atol: 1e-12 });
    expectClose((backward(onesLike(output))[0] as Tensor).data, [0.25, 0.25, 0.25, 0.25], { atol: 1e-12 });
    expectClose(globalMaxPool(tensor([[[1, NaN, 3]]])).data, [NaN]);
  });
});

describe("globalPool — gradcheck (float64)", () => {
  it("avg and max, 1 to 3 spatial dims", () => {
    for (const shape of [[2, 2, 5], [2, 3, 3, 4], [1, 2, 2, 3, 2]]) {
      gradcheck(([t]) => globalAvgPool.vjp(t!), [randn(shape, { seed: 50, dtype: "float64" })]);
      gradcheck(([t]) => globalMaxPool.vjp(t!), [distinctRandom(shape, 51)]);
    }
  });
});

describe("globalPool — properties", () => {
  it("equal to 2-d max / avg pooling with the kernel covering the plane; max ≥ avg", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 999 }), (h, w, seed) => {
        const x = randn([2, 3, h, w], { seed, dtype: "float64" });
        const gm = globalMaxPool(x);
        const ga = globalAvgPool(x);
        expect([...gm.data]).toEqual([...maxPool2d(x, { kernelSize: [h, w] }).data]);
        expectClose(avgPool2d(x, { kernelSize: [h, w] }).data, [...ga.data], { atol: 1e-12 });
        for (let i = 0; i < gm.size; i++) expect(gm.data[i]!).toBeGreaterThanOrEqual(ga.data[i]! - 1e-12);
      }),
    );
  });
});
