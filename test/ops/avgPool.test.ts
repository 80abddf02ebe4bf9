import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { avgPool1d, avgPool2d, avgPool3d } from "../../src/ops/pytorch.js";
import { tensor, zeros, type Tensor } from "../../src/tensor/tensor.js";
import { randn } from "../../src/tensor/random.js";
import type { FloatDType } from "../../src/tensor/dtype.js";
import { expectClose } from "../helpers/close.js";
import { expectVjpMatches, fromJSON, loadFixture, rankOf, replayCases, type PyTorchCase } from "../helpers/fixtures.js";
import { gradcheck } from "../helpers/gradcheck.js";
import { onesLike } from "../helpers/tensors.js";

const AVG = { 1: avgPool1d, 2: avgPool2d, 3: avgPool3d } as const;


describe("avgPool — shape / smoke", () => {
  it("batched and unbatched, float32 and float64, outputShape equals the forward shape", () => {
    for (const rank of [1, 2, 3] as const) {
      for (const dtype of ["float32", "float64"] as FloatDType[]) {
        const spatial = [7, 6, 5].slice(0, rank);
        const opts = { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false };
        for (const shape of [[2, 3, ...spatial], [3, ...spatial]]) {
          const x = randn(shape, { seed: 2, dtype });
          const y = AVG[rank](x, opts);
          expect(y.dtype).toBe(dtype);
          expect([...y.shape]).toEqual(AVG[rank].outputShape(shape, opts));
        }
      }
    }
  });

  it("does not mutate its input; backward twice gives the same result", () => {
    const x = randn([2, 5, 5], { seed: 3, dtype: "float64" });
    const before = Float64Array.from(x.data);
    const { output, backward } = avgPool2d.vjp(x, { kernelSize: 2, stride: 1, padding: 1 });
    const dy = randn(output.shape, { seed: 5, dtype: "float64" });
    expect([...(backward(dy)[0] as Tensor).data]).toEqual([...(backward(dy)[0] as Tensor).data]);
    expect([...x.data]).toEqual([...before]);
  });
});

describe("avgPool — errors", () => {
  const x = zeros([1, 1, 5, 5]);
  it("rejects bad sizes, padding, kernel larger than the padded input", () => {
    expect(() => avgPool2d(x, { kernelSize: 0 })).toThrow("avgPool2d: kernelSize must be positive integers, got 0");
    expect(() => avgPool2d(x, { kernelSize: [2, -1] })).toThrow("avgPool2d: kernelSize must be positive integers, got [2, -1]");
    expect(() => avgPool1d(zeros([1, 4]), { kernelSize: 2, stride: 0.5 })).toThrow("avgPool1d: stride must be positive integers, got 0.5");
    expect(() => avgPool2d(x, { kernelSize: 2, padding: 2 })).toThrow("avgPool2d: padding must be at most half the kernel size, got padding 2 for kernelSize 2");
    expect(() => avgPool3d(zeros([1, 2, 2, 2]), { kernelSize: 3 })).toThrow(/^avgPool3d: kernel is larger than the padded input: input size \[2, 2, 2\]/);
  });

  it("rejects divisorOverride 0, fractional or non-number", () => {
    expect(() => avgPool2d(x, { kernelSize: 2, divisorOverride: 0 })).toThrow("avgPool2d: divisorOverride must be a non-zero integer, got 0");
    expect(() => avgPool1d(zeros([1, 4]), { kernelSize: 2, divisorOverride: 2.5 })).toThrow("avgPool1d: divisorOverride must be a non-zero integer, got 2.5");
    expect(() => avgPool2d(x, { kernelSize: 2, divisorOverride: "2" } as never)).toThrow('avgPool2d: divisorOverride must be a number, got "2"');
  });

  it("rejects wrong rank, non-tensors, int32, unknown options (dilation is not an avg-pool option)", () => {
    expect(() => avgPool2d(zeros([4, 4]), { kernelSize: 2 })).toThrow("avgPool2d: x must have shape [N, C, H, W] or [C, H, W], got [4, 4]");
    expect(() => avgPool1d(null as never, { kernelSize: 2 })).toThrow("avgPool1d: x must be a Tensor, got null");
    expect(() => avgPool3d(zeros([1, 1, 2, 2, 2], "int32"), { kernelSize: 2 })).toThrow("avgPool3d: x must be float32 or float64, got int32");
    expect(() => avgPool2d(x, { kernelSize: 2, dilation: 2 } as never)).toThrow(
      'avgPool2d: unknown option "dilation"; known options: kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride',
    );
    expect(() => avgPool2d(x, { kernelSize: 2, countIncludePad: "no" } as never)).toThrow('avgPool2d: countIncludePad must be a boolean, got "no"');
    expect(() => avgPool2d(x, 2 as never)).toThrow("avgPool2d: options must be a plain object, got 2");
  });
});

describe("avgPool — values", () => {
  const fixture = loadFixture<PyTorchCase>("pytorch_sliding_avg.json");
  it("has the committed PyTorch fixture", () => expect(fixture.cases.length).toBeGreaterThanOrEqual(15));
  replayCases(
    fixture.cases,
    (c, i, dtype) => `matches PyTorch: case ${i} ${c.op} ${JSON.stringify(c.opts)} ${c.note ?? ""} (${dtype})`,
    (c, dtype) => expectVjpMatches(AVG[rankOf(c.op)].vjp(fromJSON(c.x, dtype), c.opts as never), fromJSON(c.dy, dtype), c[dtype], dtype),
  );

  const x6 = tensor([[[1, 2, 3, 4, 5, 6]]], undefined, "float64");
  const base = { kernelSize: 3, stride: 2, padding: 1, ceilMode: true };
  it("spec: [1..6], k3 s2 p1 ceil → [1, 3, 5, 3] (last window {6, pad} divided by 2)", () => {
    expectClose(avgPool1d(x6, base).data, [1, 3, 5, 3], { atol: 1e-12 });
  });
  it("spec: countIncludePad = false → [1.5, 3, 5, 6]; divisorOverride 5 → [0.6, 1.8, 3, 1.2]", () => {
    expectClose(avgPool1d(x6, { ...base, countIncludePad: false }).data, [1.5, 3, 5, 6], { atol: 1e-12 });
    expectClose(avgPool1d(x6, { ...base, divisorOverride: 5 }).data, [0.6, 1.8, 3, 1.2], { atol: 1e-12 });
    expectClose(avgPool2d(tensor([[[[1, 2, 3, 4, 5, 6]]]]), { kernelSize: [1, 3], stride: [1, 2], padding: [0, 1], ceilMode: true, divisorOverride: 5 }).data, [0.6, 1.8, 3, 1.2]);
  });
  it("spec: [1..5], k2 s2 ceil → [1.5, 3.5, 5] (last divisor 1)", () => {
    expectClose(avgPool1d(tensor([[[1, 2, 3, 4, 5]]]), { kernelSize: 2, ceilMode: true }).data, [1.5, 3.5, 5]);
  });
  it("spec: gradient of [1..6] k3 s2 p1 ceil with ones = [1/3, 2/3, 1/3, 2/3, 1/3, 5/6]", () => {
    const { output, backward } = avgPool1d.vjp(x6, base);
    expectClose((backward(onesLike(output))[0] as Tensor).data, [1 / 3, 2 / 3, 1 / 3, 2 / 3, 1 / 3, 5 / 6], { atol: 1e-12 });
  });
  it("avgPool3d accepts an unpadded input smaller than the kernel (documented deviation: torch 1.13's avg_pool3d rejects it)", () => {
    // Hand-worked: D = H = 1, W = 2, kernel [2, 1, 2], padding [1, 0, 1], stride = kernel. Depth window
    // [-1, 1) and width windows [-1, 1), [1, 3): each holds one input value, divisor 2·1·2 = 4.
    // Same numbers as F.avg_pool2d(x[:, :, 0], (1, 2), padding=(0, 1)) / 2 with the depth padding plane.
    const x = tensor([1, 2], [1, 1, 1, 1, 2], "float64");
    expectClose(avgPool3d(x, { kernelSize: [2, 1, 2], padding: [1, 0, 1] }).data, [0.25, 0.5], { atol: 1e-15 });
    expectClose(avgPool3d(x, { kernelSize: [2, 1, 2], padding: [1, 0, 1], countIncludePad: false }).data, [1, 2], { atol: 1e-15 });
  });
  it("a negative divisorOverride divides by it, as PyTorch", () => {
    expectClose(avgPool2d(tensor(new Float32Array(16).fill(1), [1, 1, 4, 4]), { kernelSize: 2, divisorOverride: -2 }).data, [-2, -2, -2, -2]);
  });
});

describe("avgPool — gradcheck (float64)", () => {
  it("1d / 2d / 3d with padding, ceil mode, both countIncludePad, divisorOverride", () => {
    for (const countIncludePad of [true, false]) {
      gradcheck(([t]) => avgPool1d.vjp(t!, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad }), [randn([2, 2, 10], { seed: 21, dtype: "float64" })]);
      gradcheck(([t]) => avgPool2d.vjp(t!, { kernelSize: [3, 2], stride: [2, 1], padding: [1, 1], ceilMode: true, countIncludePad }), [randn([2, 5, 6], { seed: 22, dtype: "float64" })]);
      gradcheck(([t]) => avgPool3d.vjp(t!, { kernelSize: 2, stride: [1, 2, 2], padding: 1, ceilMode: true, countIncludePad }), [randn([1, 2, 3, 5, 4], { seed: 23, dtype: "float64" })]);
    }
    gradcheck(([t]) => avgPool2d.vjp(t!, { kernelSize: 3, stride: 1, padding: 1, divisorOverride: 4 }), [randn([1, 2, 4, 5], { seed: 24, dtype: "float64" })]);
  });
});

describe("avgPool — properties", () => {
  it("outputShape equals the forward shape; a constant input stays constant with countIncludePad = false", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
        fc.boolean(),
        fc.boolean(),
        fc.double({ min: -5, max: 5, noNaN: true }),
        (rank, sp, ks, ss, ceilMode, padded, value) => {
          const r = rank as 1 | 2 | 3;
          const spatial = sp.slice(0, r);
          const k = ks.slice(0, r);
          const padding = k.map((kk) => (padded ? Math.floor(kk / 2) : 0));
          fc.pre(spatial.every((L, i) => L + 2 * padding[i]! >= k[i]!));
          const opts = { kernelSize: k, stride: ss.slice(0, r), padding, ceilMode, countIncludePad: false };
          const shape = [2, 1, ...spatial];
          const x = tensor(new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape, "float64");
          const y = AVG[r](x, opts);
          expect([...y.shape]).toEqual(AVG[r].outputShape(shape, opts));
          for (const v of y.data) expect(Math.abs(v - value)).toBeLessThan(1e-12);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("the gradient of sum(y) adds up to Σ (in-window count / divisor) — with countIncludePad = false that is the output count", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), (L, k, s, ceilMode) => {
        fc.pre(L >= k);
        const x = randn([1, 1, L], { seed: L * 31 + k, dtype: "float64" });
        const { output, backward } = avgPool1d.vjp(x, { kernelSize: k, stride: s, ceilMode, countIncludePad: false });
        let total = 0;
        for (const v of (backward(onesLike(output))[0] as Tensor).data) total += v;
        expect(total).toBeCloseTo(output.size, 10);
      }),
    );
  });
});

describe("avgPool — divisors past 2^31 − 1", () => {
  it("kernelSize 3000000001 with padding 1500000000 divides by 3000000001 (an int32 divisor wrapped to a negative mean)", () => {
    const y = avgPool1d(tensor([5], [1, 1, 1], "float64"), { kernelSize: 3000000001, padding: 1500000000 });
    expect([...y.data]).toEqual([5 / 3000000001]);
    const y3 = avgPool3d(tensor([5], [1, 1, 1, 1, 1], "float64"), { kernelSize: [3000000001, 1, 1], padding: [1500000000, 0, 0] });
    expect([...y3.data]).toEqual([5 / 3000000001]);
  });
});
