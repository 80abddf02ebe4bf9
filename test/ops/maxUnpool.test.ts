import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  maxUnpool1d,
  maxUnpool2d,
  maxUnpool3d,
  maxPool1dWithIndices,
  maxPool2dWithIndices,
  maxPool3dWithIndices,
} from "../../src/ops/pytorch.js";
import { tensor, zeros, type Tensor } from "../../src/tensor/tensor.js";
import { randn } from "../../src/tensor/random.js";
import type { FloatDType } from "../../src/tensor/dtype.js";
import { expected, expectVjpMatches, fromJSON, loadFixture, rankOf, replayCases, type PyTorchCase, type TensorJSON } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";

const UNPOOL = { 1: maxUnpool1d, 2: maxUnpool2d, 3: maxUnpool3d } as const;
const POOL = { 1: maxPool1dWithIndices, 2: maxPool2dWithIndices, 3: maxPool3dWithIndices } as const;

interface Case extends PyTorchCase {
  indices: TensorJSON;
}
const idx = (t: TensorJSON) => tensor(expected(t).data, t.shape, "int32");
const arange25 = () => tensor(Array.from({ length: 25 }, (_, i) => i + 1), [1, 1, 5, 5], "float64");

describe("maxUnpool — shape / smoke", () => {
  it("batched and unbatched, both dtypes, outputShape equals the forward shape", () => {
    for (const rank of [1, 2, 3] as const) {
      for (const dtype of ["float32", "float64"] as FloatDType[]) {
        const spatial = [6, 8, 4].slice(0, rank);
        for (const shape of [[2, 3, ...spatial], [3, ...spatial]]) {
          const pooled = POOL[rank](randn(shape, { seed: 5, dtype }), { kernelSize: 2 });
          const opts = { kernelSize: 2, outputSize: spatial };
          const y = UNPOOL[rank](pooled.output, pooled.indices, opts);
          expect(y.dtype).toBe(dtype);
          expect([...y.shape]).toEqual([...shape]);
          expect(UNPOOL[rank].outputShape(pooled.output.shape, opts)).toEqual([...shape]);
          const dflt = UNPOOL[rank](pooled.output, pooled.indices, { kernelSize: 2, stride: 2 });
          expect([...dflt.shape]).toEqual(UNPOOL[rank].outputShape(pooled.output.shape, { kernelSize: 2, stride: 2 }));
        }
      }
    }
  });

  it("returns null for the indices gradient; does not mutate inputs; backward twice is stable", () => {
    const { output, indices } = maxPool2dWithIndices(distinctRandom([1, 2, 4, 4]), { kernelSize: 2 });
    const before = [...output.data];
    const { output: up, backward } = maxUnpool2d.vjp(output, indices, { kernelSize: 2 });
    const dy = randn(up.shape, { seed: 6, dtype: "float64" });
    const g = backward(dy);
    expect(g.length).toBe(2);
    expect(g[1]).toBeNull();
    expect([...(g[0] as Tensor).data]).toEqual([...(backward(dy)[0] as Tensor).data]);
    expect([...output.data]).toEqual(before);
  });
});

describe("maxUnpool — errors", () => {
  const x = zeros([1, 1, 2, 2]);
  const i = tensor([0, 1, 2, 3], [1, 1, 2, 2], "int32");
  it("rejects out-of-range indices, naming the index", () => {
    const { output, indices } = maxPool2dWithIndices(arange25(), { kernelSize: 2 });
    expect([...indices.data]).toEqual([6, 8, 16, 18]);
    expect(() => maxUnpool2d(output, indices, { kernelSize: 2 })).toThrow(
      "maxUnpool2d: indices must lie in [0, 16) for an output plane of size [4, 4], got index 16 at flat position 2",
    );
    expect(() => maxUnpool2d(output, indices, { kernelSize: 2, outputSize: [3, 3] })).toThrow(/maxUnpool2d: indices must lie in \[0, 9\).*got index 16/);
    expect(() => maxUnpool1d(zeros([1, 2]), tensor([[0, -1]], undefined, "int32"), { kernelSize: 2 })).toThrow(
      "maxUnpool1d: indices must lie in [0, 4) for an output plane of size [4], got index -1 at flat position 1",
    );
  });

  it("rejects an outputSize outside (default − stride, default + stride), of the wrong length, or not integers", () => {
    const { output, indices } = maxPool2dWithIndices(arange25(), { kernelSize: 2 });
    expect(() => maxUnpool2d(output, indices, { kernelSize: 2, outputSize: [6, 6] })).toThrow(
      "maxUnpool2d: outputSize must lie strictly between default − stride and default + stride, got outputSize [6, 6]: dim 0 must be between 2 and 6 (exclusive)",
    );
    expect(() => maxUnpool2d(output, indices, { kernelSize: 2, outputSize: [5, 6] })).toThrow(/dim 1 must be between 2 and 6 \(exclusive\)/);
    expect(() => maxUnpool2d(x, i, { kernelSize: 2, outputSize: [4] })).toThrow("maxUnpool2d: outputSize must be an array of 2 or 4 numbers, got [4]");
    expect(() => maxUnpool2d(x, i, { kernelSize: 2, outputSize: [4, 4.5] })).toThrow("maxUnpool2d: outputSize must hold positive integers, got [4, 4.5]");
    expect(() => maxUnpool2d(x, i, { kernelSize: 2, outputSize: 4 as never })).toThrow("maxUnpool2d: outputSize must be an array of 2 or 4 numbers, got 4");
  });

  it("rejects bad sizes, an empty output, indices of the wrong shape or dtype, wrong rank, non-tensors, int32 x, unknown options", () => {
    expect(() => maxUnpool2d(x, i, { kernelSize: 0 })).toThrow("maxUnpool2d: kernelSize must be positive integers, got 0");
    expect(() => maxUnpool2d(x, i, { kernelSize: 2, stride: -1 })).toThrow("maxUnpool2d: stride must be positive integers, got -1");
    expect(() => maxUnpool2d(x, i, { kernelSize: 2, padding: 1.5 })).toThrow("maxUnpool2d: padding must be non-negative integers, got 1.5");
    expect(() => maxUnpool1d(zeros([1, 1, 1]), tensor([[[0]]], undefined, "int32"), { kernelSize: 1, padding: 1 })).toThrow(
      /^maxUnpool1d: output size must be positive, got \[-1\]/,
    );
    expect(() => maxUnpool2d(x, tensor([0, 1, 2], [1, 1, 1, 3], "int32"), { kernelSize: 2 })).toThrow(
      "maxUnpool2d: indices must have shape [1, 1, 2, 2], got [1, 1, 1, 3]",
    );
    expect(() => maxUnpool2d(x, zeros([1, 1, 2, 2]), { kernelSize: 2 })).toThrow("maxUnpool2d: indices must be an int32 Tensor, got float32");
    expect(() => maxUnpool2d(x, [0, 1] as never, { kernelSize: 2 })).toThrow("maxUnpool2d: indices must be a Tensor, got [0, 1]");
    expect(() => maxUnpool2d(zeros([4]), tensor([0], [1], "int32"), { kernelSize: 2 })).toThrow("maxUnpool2d: x must have shape [N, C, H, W] or [C, H, W], got [4]");
    expect(() => maxUnpool2d("x" as never, i, { kernelSize: 2 })).toThrow('maxUnpool2d: x must be a Tensor, got "x"');
    expect(() => maxUnpool2d(zeros([1, 1, 2, 2], "int32"), i, { kernelSize: 2 })).toThrow("maxUnpool2d: x must be float32 or float64, got int32");
    expect(() => maxUnpool2d(x, i, { kernelSize: 2, dilation: 1 } as never)).toThrow(
      'maxUnpool2d: unknown option "dilation"; known options: kernelSize, stride, padding, outputSize',
    );
    expect(() => maxUnpool2d(x, i, {} as never)).toThrow("maxUnpool2d: kernelSize is required");
  });
});

describe("maxUnpool — values", () => {
  const fixture = loadFixture<Case>("pytorch_sliding_unpool.json");
  it("has the committed PyTorch fixture", () => expect(fixture.cases.length).toBeGreaterThanOrEqual(9));
  replayCases(
    fixture.cases,
    (c, n, dtype) => `matches PyTorch: case ${n} ${c.op} ${JSON.stringify(c.opts)} ${c.note ?? ""} (${dtype})`,
    (c, dtype) => {
      const vjp = UNPOOL[rankOf(c.op)].vjp(fromJSON(c.x, dtype), idx(c.indices), c.opts as never);
      const [, di] = expectVjpMatches(vjp, fromJSON(c.dy, dtype), c[dtype], dtype);
      expect(di).toBeNull();
    },
  );

  it("spec: 5×5 arange pooled k=s=2, unpooled to (5, 5) puts 7, 9, 17, 19 back; the gradient is a gather", () => {
    const { output, indices } = maxPool2dWithIndices(arange25(), { kernelSize: 2 });
    const { output: up, backward } = maxUnpool2d.vjp(output, indices, { kernelSize: 2, outputSize: [5, 5] });
    const want = new Array(25).fill(0);
    want[6] = 7;
    want[8] = 9;
    want[16] = 17;
    want[18] = 19;
    expect([...up.data]).toEqual(want);
    expect(maxUnpool2d(output, indices, { kernelSize: 2, outputSize: [1, 1, 5, 5] }).shape).toEqual([1, 1, 5, 5]);
    const [dx] = backward(tensor(Array.from({ length: 25 }, (_, k) => k), [1, 1, 5, 5], "float64"));
    expect([...dx!.data]).toEqual([6, 8, 16, 18]);
  });

  it("spec: silent misplacement — a 9 at (1, 3) of a 5×5 plane (index 8) lands at (2, 0) of the default 4×4", () => {
    const src = new Float64Array(25);
    src[8] = 9;
    const { output, indices } = maxPool2dWithIndices(tensor(src, [1, 1, 5, 5], "float64"), { kernelSize: 2 });
    expect([...indices.data]).toEqual([0, 8, 10, 12]);
    const up = maxUnpool2d(output, indices, { kernelSize: 2 });
    expect(up.shape).toEqual([1, 1, 4, 4]);
    const want = new Array(16).fill(0);
    want[8] = 9;
    expect([...up.data]).toEqual(want);
  });
});

describe("maxUnpool — gradcheck (float64)", () => {
  // Non-overlapping pooling, so indices are distinct: with duplicate indices the forward keeps one write
  // while PyTorch's derivative (a gather) gives every duplicate the gradient — not a true Jacobian.
  it("1d / 2d / 3d, with respect to the values", () => {
    for (const rank of [1, 2, 3] as const) {
      const shape = [2, 2, ...[6, 5, 4].slice(0, rank)];
      const { output, indices } = POOL[rank](distinctRandom(shape, 40 + rank), { kernelSize: 2, ceilMode: true });
      const outputSize = shape.slice(2);
      gradcheck(([t, i]) => UNPOOL[rank].vjp(t!, i!, { kernelSize: 2, outputSize }), [output, indices]);
    }
  });
});

describe("maxUnpool — properties", () => {
  it("unpool(pool(x)) puts every maximum back at its index, and is zero elsewhere", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 999 }),
        (rank, sp, ks, ss, padded, seed) => {
          const r = rank as 1 | 2 | 3;
          const spatial = sp.slice(0, r);
          const k = ks.slice(0, r);
          const s = ss.slice(0, r);
          const padding = k.map((kk) => (padded ? Math.floor(kk / 2) : 0));
          fc.pre(spatial.every((L, i) => L + 2 * padding[i]! >= k[i]!));
          const shape = [2, 2, ...spatial];
          const x = randn(shape, { seed, dtype: "float64" });
          const pooled = POOL[r](x, { kernelSize: k, stride: s, padding });
          // The pooled windows always fit the original size, so unpooling to it is legal when it lies in PyTorch's range.
          const opts = { kernelSize: k, stride: s, padding };
          // PyTorch's default size (In − 1)·s + k − 2p, written out here as the independent expectation
          const dflt = pooled.output.shape.slice(2).map((L, i) => (L - 1) * s[i]! + k[i]! - 2 * padding[i]!);
          fc.pre(spatial.every((L, i) => L > dflt[i]! - s[i]! && L < dflt[i]! + s[i]!));
          const up = UNPOOL[r](pooled.output, pooled.indices, { ...opts, outputSize: spatial });
          expect([...up.shape]).toEqual(shape);
          const plane = spatial.reduce((a, b) => a * b, 1);
          const outPlane = pooled.output.size / 4;
          const hit = new Set<number>();
          for (let o = 0; o < pooled.output.size; o++) {
            const p = Math.floor(o / outPlane);
            const at = p * plane + pooled.indices.data[o]!;
            hit.add(at);
            expect(up.data[at]).toBe(pooled.output.data[o]);
            expect(x.data[at]).toBe(pooled.output.data[o]);
          }
          for (let j = 0; j < up.size; j++) if (!hit.has(j)) expect(up.data[j]).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
