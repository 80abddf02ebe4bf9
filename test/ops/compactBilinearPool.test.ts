import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compactBilinearParams, compactBilinearPool, MAX_MACLAURIN_WEIGHTS, MAX_OUTPUT_DIM, type CompactBilinearParams } from "../../src/ops/compactBilinearPool.js";
import { PoolkitRangeError } from "../../src/errors.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { Generator, manualSeed, randn } from "../../src/tensor/random.js";
import { expectClose, expectTensorClose, tolFor } from "../helpers/close.js";
import { expected, fromJSON, loadFixture, replayCases } from "../helpers/fixtures.js";
import { paramsFromJSON, type CompactBilinearCase } from "../helpers/compactBilinear.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

const RAW = { signedSqrt: false, l2: false } as const;

describe("compactBilinearPool: shape / smoke", () => {
  it("[N, C1, H, W] (x [N, C2, H, W]) -> [N, d]; sumPool false -> [N, d, H, W]; both dtypes, both methods", () => {
    for (const dtype of ["float32", "float64"] as const) {
      for (const method of ["tensor-sketch", "random-maclaurin"] as const) {
        const a = randn([2, 3, 4, 4], { seed: 1, dtype });
        const b = randn([2, 5, 4, 4], { seed: 2, dtype });
        const y = compactBilinearPool(a, b, { outputDim: 24, method });
        expect(y.shape).toEqual([2, 24]);
        expect(y.dtype).toBe(dtype);
        expect(compactBilinearPool.outputShape(a.shape, { outputDim: 24 })).toEqual([2, 24]);
        const h = compactBilinearPool(a, { outputDim: 10, method, sumPool: false });
        expect(h.shape).toEqual([2, 10, 4, 4]);
        expect(compactBilinearPool.outputShape(a.shape, { outputDim: 10, sumPool: false })).toEqual([2, 10, 4, 4]);
        expect([...h.data].every(Number.isFinite)).toBe(true);
      }
    }
  });

  it("vjp gives [da, db] for two streams and [da] when homogeneous; inputs are not mutated", () => {
    const a = randn([1, 3, 2, 2], { seed: 3, dtype: "float64" });
    const a0 = Float64Array.from(a.data);
    const b = randn([1, 2, 2, 2], { seed: 4, dtype: "float64" });
    const dy = randn([1, 8], { seed: 5, dtype: "float64" });
    const two = compactBilinearPool.vjp(a, b, { outputDim: 8 }).backward(dy);
    expect(two.map((g) => g?.shape)).toEqual([[1, 3, 2, 2], [1, 2, 2, 2]]);
    expect(compactBilinearPool.vjp(a, { outputDim: 8 }).backward(dy).length).toBe(1);
    expect([...a.data]).toEqual([...a0]);
  });

  it("the same seed gives the same output; a different seed a different one; an explicit default seed of 1", () => {
    const a = randn([1, 4, 3], { seed: 6, dtype: "float64" });
    const y1 = compactBilinearPool(a, { outputDim: 16, seed: 5 });
    expect([...compactBilinearPool(a, { outputDim: 16, seed: 5 }).data]).toEqual([...y1.data]);
    expect([...compactBilinearPool(a, { outputDim: 16, seed: 6 }).data]).not.toEqual([...y1.data]);
    expect([...compactBilinearPool(a, { outputDim: 16 }).data]).toEqual([...compactBilinearPool(a, { outputDim: 16, seed: 1 }).data]);
  });
});

describe("compactBilinearParams: exposed, savable parameters", () => {
  it("returns the exact parameters the op draws (params and seed give identical outputs)", () => {
    const a = randn([2, 5, 3], { seed: 8, dtype: "float64" });
    const b = randn([2, 3, 3], { seed: 9, dtype: "float64" });
    for (const method of ["tensor-sketch", "random-maclaurin"] as const) {
      const p = compactBilinearParams(5, 3, { outputDim: 12, method, seed: 42 });
      expect(p.method).toBe(method);
      const viaSeed = compactBilinearPool(a, b, { outputDim: 12, method, seed: 42 });
      const viaParams = compactBilinearPool(a, b, { params: p });
      expect([...viaParams.data]).toEqual([...viaSeed.data]);
    }
  });
  it("Tensor Sketch has two independent (h, s) pairs, also for one stream; values in range", () => {
    const p = compactBilinearParams(64, 64, { outputDim: 1000, seed: 3 });
    if (p.method !== "tensor-sketch") throw new Error("expected tensor-sketch");
    expect(p.h1.shape).toEqual([64]);
    expect(p.h1.dtype).toBe("int32");
    expect([...p.h1.data]).not.toEqual([...p.h2.data]);
    expect([...p.s1.data]).not.toEqual([...p.s2.data]);
    expect([...p.h1.data, ...p.h2.data].every((h) => h >= 0 && h < 1000)).toBe(true);
    expect(new Set([...p.s1.data, ...p.s2.data])).toEqual(new Set([-1, 1]));
    const r = compactBilinearParams(4, 2, { outputDim: 6, method: "random-maclaurin" });
    if (r.method !== "random-maclaurin") throw new Error("expected random-maclaurin");
    expect(r.w1.shape).toEqual([6, 4]);
    expect(r.w2.shape).toEqual([6, 2]);
  });
  it("the draws never touch the global generator (they are a fixed projection, not per-call noise)", () => {
    manualSeed(77);
    const expectedNext = [...randn([4]).data];
    manualSeed(77);
    compactBilinearPool(randn([1, 3, 2], { seed: 1 }), { outputDim: 16, seed: 123 });
    compactBilinearPool(randn([1, 3, 2], { seed: 1 }), { outputDim: 16, method: "random-maclaurin" });
    expect([...randn([4]).data]).toEqual(expectedNext);
  });
  it("params may hold float signs / weights (e.g. learned ones) as well as int32", () => {
    const p = compactBilinearParams(3, 2, { outputDim: 8, seed: 4 });
    if (p.method !== "tensor-sketch") throw new Error("expected tensor-sketch");
    const x = randn([2, 3, 5], { seed: 2, dtype: "float64" });
    const y = randn([2, 2, 5], { seed: 3, dtype: "float64" });
    const asFloat = { ...p, s1: p.s1.cast("float32"), s2: tensor(Float64Array.from(p.s2.data, (v) => 0.5 * v), [2], "float64") };
    const half = compactBilinearPool(x, y, { params: asFloat, ...RAW });
    const full = compactBilinearPool(x, y, { params: p, ...RAW });
    expectClose(half.data, Float64Array.from(full.data, (v) => 0.5 * v), { atol: 1e-12 });
  });
  it("returned tensors are copies: writing them does not change later draws", () => {
    const p = compactBilinearParams(3, 3, { outputDim: 8, seed: 11 });
    if (p.method !== "tensor-sketch") throw new Error("expected tensor-sketch");
    const before = [...p.h1.data];
    p.h1.data.fill(0);
    const q = compactBilinearParams(3, 3, { outputDim: 8, seed: 11 });
    if (q.method !== "tensor-sketch") throw new Error("expected tensor-sketch");
    expect([...q.h1.data]).toEqual(before);
  });
  it("rejects bad arguments", () => {
    expect(() => compactBilinearParams(0, 3, { outputDim: 8 })).toThrow("compactBilinearParams: c1 must be an integer and >= 1, got 0");
    expect(() => compactBilinearParams(3, 3, {} as never)).toThrow("compactBilinearParams: outputDim is required (a positive integer), got undefined");
    expect(() => compactBilinearParams(3, 3, { outputDim: 8, method: "x" as never })).toThrow('compactBilinearParams: method must be one of "tensor-sketch", "random-maclaurin", got "x"');
  });
});

describe("compactBilinearPool: errors", () => {
  const a = randn([2, 3, 4, 4], { seed: 1 });
  it("outputShape rejects the options the forward pass rejects (it used to return [N, 0] without outputDim, or crash on no options)", () => {
    expect(() => compactBilinearPool.outputShape([2, 3, 4, 4], {})).toThrow("compactBilinearPool: outputDim is required (a positive integer), got undefined");
    expect(() => compactBilinearPool.outputShape([2, 3, 4, 4], undefined as never)).toThrow("compactBilinearPool: outputDim is required (a positive integer), got undefined");
    expect(() => compactBilinearPool.outputShape([2, 3, 4, 4], { outputDim: 2.5 })).toThrow("compactBilinearPool: outputDim must be an integer and >= 1, got 2.5");
    expect(() => compactBilinearPool.outputShape([2, 3, 4, 4], { outputDim: 8, sumpool: false } as never)).toThrow('compactBilinearPool: unknown option "sumpool"');
    const params = compactBilinearParams(3, 3, { outputDim: 4 });
    expect(() => compactBilinearPool.outputShape([2, 3, 4, 4], { params, outputDim: 8 })).toThrow("compactBilinearPool: outputDim 8 does not match params.outputDim 4");
    expect(compactBilinearPool.outputShape([2, 3, 4, 4], { params })).toEqual([2, 4]);
  });
  it("outputDim 0, fractional or missing; unknown method; bad seed; unknown option", () => {
    expect(() => compactBilinearPool(a, { outputDim: 0 })).toThrow("compactBilinearPool: outputDim must be an integer and >= 1, got 0");
    expect(() => compactBilinearPool(a, { outputDim: 2.5 })).toThrow("compactBilinearPool: outputDim must be an integer and >= 1, got 2.5");
    expect(() => compactBilinearPool(a, {})).toThrow("compactBilinearPool: outputDim is required (a positive integer), got undefined");
    expect(() => compactBilinearPool(a, { outputDim: 8, method: "fft" as never })).toThrow('compactBilinearPool: method must be one of "tensor-sketch", "random-maclaurin", got "fft"');
    expect(() => compactBilinearPool(a, { outputDim: 8, seed: 0.5 })).toThrow("compactBilinearPool: seed must be a safe integer, got 0.5");
    expect(() => compactBilinearPool(a, { outputDim: 8, sumpool: false } as never)).toThrow('compactBilinearPool: unknown option "sumpool"');
  });
  it("mismatched batch / spatial sizes and dtypes for two streams", () => {
    expect(() => compactBilinearPool(a, randn([2, 3, 4, 3]), { outputDim: 8 })).toThrow(
      "compactBilinearPool: b must have the batch size and spatial size of a [2, C, 4, 4] (or be [2, C], broadcast over locations), got shape [2, 3, 4, 3]",
    );
    expect(() => compactBilinearPool(a, randn([3, 3]), { outputDim: 8 })).toThrow("got shape [3, 3]");
    expect(() => compactBilinearPool(a, randn([2, 3, 16]), { outputDim: 8 })).toThrow("got shape [2, 3, 16]");
    expect(() => compactBilinearPool(randn([2, 3]), randn([2, 3, 4]), { outputDim: 8 })).toThrow("compactBilinearPool: b must have the batch size and spatial size of a [2, C], got shape [2, 3, 4]");
    expect(() => compactBilinearPool(a, randn([2, 3, 4, 4], { dtype: "float64" }), { outputDim: 8 })).toThrow("compactBilinearPool: b must have a's dtype float32, got float64");
  });
  it("wrong parameter shapes and values", () => {
    const p = compactBilinearParams(3, 3, { outputDim: 8 });
    if (p.method !== "tensor-sketch") throw new Error("expected tensor-sketch");
    const b5 = randn([2, 5, 4, 4]);
    expect(() => compactBilinearPool(a, b5, { params: p })).toThrow("compactBilinearPool: params.h2 must have shape [5], got [3]");
    expect(() => compactBilinearPool(a, { params: { ...p, h1: tensor([0, 1, 8], [3], "int32") } })).toThrow("compactBilinearPool: params.h1 must hold integers in [0, 8), got 8 at index 2");
    expect(() => compactBilinearPool(a, { params: { ...p, h1: tensor([0, 1, 2], [3]) } })).toThrow("compactBilinearPool: params.h1 must be an int32 tensor, got float32");
    expect(() => compactBilinearPool(a, { params: { ...p, s1: tensor([1, NaN, 1], [3]) } })).toThrow("compactBilinearPool: params.s1 must hold finite numbers, got NaN at index 1");
    expect(() => compactBilinearPool(a, { params: p, seed: 3 })).toThrow("compactBilinearPool: seed and params cannot both be given (params already fixes the draws), got seed 3");
    expect(() => compactBilinearPool(a, { params: p, outputDim: 16 })).toThrow("compactBilinearPool: outputDim 16 does not match params.outputDim 8");
    expect(() => compactBilinearPool(a, { params: p, method: "random-maclaurin" })).toThrow('compactBilinearPool: method "random-maclaurin" does not match params.method "tensor-sketch"');
    const r = compactBilinearParams(3, 3, { outputDim: 8, method: "random-maclaurin" });
    expect(() => compactBilinearPool(a, b5, { params: r })).toThrow("compactBilinearPool: params.w2 must have shape [8, 5], got [8, 3]");
    expect(() => compactBilinearPool(a, { params: 3 as never })).toThrow("compactBilinearPool: params must be an object from compactBilinearParams, got 3");
  });
});

describe("compactBilinearPool: values", () => {
  it("docs/methods/bilinear.md worked Tensor Sketch example: [1.5, -2, 0, 3.5]; the unnormalised-IFFT convention is d times it", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const params: CompactBilinearParams = {
        method: "tensor-sketch", outputDim: 4,
        h1: tensor([0, 3, 1], [3], "int32"), s1: tensor([1, -1, 1], [3], "int32"),
        h2: tensor([2, 3], [2], "int32"), s2: tensor([-1, 1], [2], "int32"),
      };
      const y = compactBilinearPool(tensor([[1, 2, 3]], [1, 3], dtype), tensor([[-1, 0.5]], [1, 2], dtype), { params, ...RAW });
      expectClose(y.data, [1.5, -2, 0, 3.5], tolFor(dtype));
      expectClose(Float64Array.from(y.data, (v) => 4 * v), [6, -8, 0, 14], tolFor(dtype));
    }
  });

  it("Tensor Sketch equals the count sketch of the outer product with H = (h1 + h2) mod d, S = s1 s2", () => {
    const x = randn([1, 6], { seed: 21, dtype: "float64" });
    const y = randn([1, 5], { seed: 22, dtype: "float64" });
    const d = 11;
    const p = compactBilinearParams(6, 5, { outputDim: d, seed: 9 });
    if (p.method !== "tensor-sketch") throw new Error("expected tensor-sketch");
    const direct = new Float64Array(d);
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 5; j++) {
        const k = ((p.h1.data[i] as number) + (p.h2.data[j] as number)) % d;
        direct[k] = (direct[k] as number) + (p.s1.data[i] as number) * (p.s2.data[j] as number) * (x.data[i] as number) * (y.data[j] as number);
      }
    }
    expectClose(compactBilinearPool(x, y, { params: p, ...RAW }).data, direct, { atol: 1e-12, rtol: 1e-10 });
  });

  it("entries that are exactly 0 (empty buckets, homogeneous pairs that cancel) are exactly 0, not FFT noise", () => {
    // h1 - h2 is 0 for both channels and s1[0]s2[1] = -s1[1]s2[0]: pairs (0, 1) and (1, 0) cancel in bucket 1
    const params: CompactBilinearParams = {
      method: "tensor-sketch", outputDim: 5,
      h1: tensor([0, 1], [2], "int32"), s1: tensor([1, 1], [2], "int32"),
      h2: tensor([0, 1], [2], "int32"), s2: tensor([1, -1], [2], "int32"),
    };
    const x = tensor([[0.3, 0.7]], [1, 2], "float64");
    const raw = compactBilinearPool(x, { params, ...RAW }).data;
    expectClose(raw, [0.09, 0, -0.49, 0, 0], { atol: 1e-15 });
    expect([raw[1], raw[3], raw[4]]).toEqual([0, 0, 0]);
    const { output, backward } = compactBilinearPool.vjp(x, { params });
    expect([output.data[1], output.data[3], output.data[4]]).toEqual([0, 0, 0]);
    gradcheck(([t]) => compactBilinearPool.vjp(t as Tensor, { params }), [x]);
    expect([...(backward(tensor([[0, 1, 0, 1, 1]], [1, 5], "float64"))[0] as Tensor).data]).toEqual([0, 0]);
  });

  it("sum pooling: the pooled raw feature is the sum of the per-location features", () => {
    const a = randn([2, 3, 5], { seed: 23, dtype: "float64" });
    for (const method of ["tensor-sketch", "random-maclaurin"] as const) {
      const pooled = compactBilinearPool(a, { outputDim: 9, method, ...RAW });
      const per = compactBilinearPool(a, { outputDim: 9, method, sumPool: false, ...RAW });
      const sums = new Float64Array(18);
      for (let i = 0; i < 18; i++) for (let l = 0; l < 5; l++) sums[i] = (sums[i] as number) + (per.data[i * 5 + l] as number);
      expectClose(pooled.data, sums, { atol: 1e-12, rtol: 1e-10 });
    }
  });

  const fx = loadFixture<CompactBilinearCase>("bilinear_compact.json");
  replayCases(
    fx.cases,
    (c, _i, dtype) => `PyTorch reference (${c.name}), ${dtype}`,
    (c, dtype) => {
      const tol = tolFor(dtype);
      // float32 gradients: the signed-√ derivative 0.5/√|v| amplifies input rounding where |v| is small
      const gtol = dtype === "float32" ? { atol: 1e-4, rtol: 1e-4 } : tol;
      const a = fromJSON(c.a, dtype);
      const b = c.b ? fromJSON(c.b, dtype) : null;
      const opts = { ...c.options, params: paramsFromJSON(c) };
      const { output, backward } = b ? compactBilinearPool.vjp(a, b, opts) : compactBilinearPool.vjp(a, opts);
      expectTensorClose(output, expected(c.output), tol, "output");
      const grads = backward(fromJSON(c.dy, dtype));
      expectTensorClose(grads[0] as Tensor, expected(c.da), gtol, "da");
      if (c.db) expectTensorClose(grads[1] as Tensor, expected(c.db), gtol, "db");
      else expect(grads.length).toBe(1);
    },
  );

  it("MCB's d = 16000 runs (Bluestein) and matches the direct outer-product sketch", () => {
    const x = randn([1, 40], { seed: 31, dtype: "float64" });
    const y = randn([1, 30], { seed: 32, dtype: "float64" });
    const d = 16000;
    const p = compactBilinearParams(40, 30, { outputDim: d, seed: 2 });
    if (p.method !== "tensor-sketch") throw new Error("expected tensor-sketch");
    const direct = new Float64Array(d);
    for (let i = 0; i < 40; i++) {
      for (let j = 0; j < 30; j++) {
        const k = ((p.h1.data[i] as number) + (p.h2.data[j] as number)) % d;
        direct[k] = (direct[k] as number) + (p.s1.data[i] as number) * (p.s2.data[j] as number) * (x.data[i] as number) * (y.data[j] as number);
      }
    }
    expectClose(compactBilinearPool(x, y, { params: p, ...RAW }).data, direct, { atol: 1e-11, rtol: 1e-9 });
  });
});

describe("compactBilinearPool: Random Maclaurin over many locations (blocked kernels)", () => {
  it("matches the direct sum of (1/sqrt d)(W1 x_l)(W2 y_l) and passes gradcheck with L = 130 > one block", () => {
    const a = distinctRandom([1, 2, 10, 13], 51, 2);
    const b = distinctRandom([1, 3, 10, 13], 52, 2);
    const d = 4;
    const p = compactBilinearParams(2, 3, { outputDim: d, method: "random-maclaurin", seed: 8 });
    if (p.method !== "random-maclaurin") throw new Error("expected random-maclaurin");
    const want = new Float64Array(d);
    for (let k = 0; k < d; k++) {
      for (let l = 0; l < 130; l++) {
        let u = 0;
        let v = 0;
        for (let j = 0; j < 2; j++) u += (p.w1.data[k * 2 + j] as number) * (a.data[j * 130 + l] as number);
        for (let j = 0; j < 3; j++) v += (p.w2.data[k * 3 + j] as number) * (b.data[j * 130 + l] as number);
        want[k] = (want[k] as number) + (u * v) / Math.sqrt(d);
      }
    }
    expectClose(compactBilinearPool(a, b, { params: p, ...RAW }).data, want, { atol: 1e-10, rtol: 1e-10 });
    gradcheck(([x, y]) => compactBilinearPool.vjp(x as Tensor, y as Tensor, { params: p }), [a, b]);
    gradcheck(([x, y]) => compactBilinearPool.vjp(x as Tensor, y as Tensor, { params: p, sumPool: false, l2: false }), [a, b]);
  });
});

describe("compactBilinearPool: a [N, C2] second stream broadcast over locations (MCB's tiled question)", () => {
  for (const method of ["tensor-sketch", "random-maclaurin"] as const) {
    it(`${method}: equals tiling it, and its gradient is the tiled gradient summed over locations`, () => {
      const a = randn([2, 3, 70], { seed: 61, dtype: "float64" }); // 70 locations: more than one RM block
      const q = randn([2, 2], { seed: 62, dtype: "float64" });
      const tiled = tensor(Float64Array.from({ length: 2 * 2 * 70 }, (_, i) => q.data[Math.floor(i / 70)] as number), [2, 2, 70], "float64");
      for (const sumPool of [true, false]) {
        const opts = { outputDim: 9, method, sumPool };
        const bc = compactBilinearPool.vjp(a, q, opts);
        const tl = compactBilinearPool.vjp(a, tiled, opts);
        expectClose(bc.output.data, tl.output.data, { atol: 1e-12, rtol: 1e-10 });
        const dy = randn(bc.output.shape, { seed: 63, dtype: "float64" });
        const [da1, dq] = bc.backward(dy);
        const [da2, dt] = tl.backward(dy);
        expectClose((da1 as Tensor).data, (da2 as Tensor).data, { atol: 1e-10, rtol: 1e-9 });
        const summed = Array.from({ length: 4 }, (_, i) => { let s = 0; for (let l = 0; l < 70; l++) s += (dt as Tensor).data[i * 70 + l] as number; return s; });
        expectClose((dq as Tensor).data, summed, { atol: 1e-10, rtol: 1e-9 });
      }
      gradcheck(([x, y]) => compactBilinearPool.vjp(x as Tensor, y as Tensor, { outputDim: 6, method }), [distinctRandom([1, 2, 2, 3], 64, 2), distinctRandom([1, 3], 65, 2)]);
    });
  }
});

describe("compactBilinearPool: gradcheck (float64)", () => {
  const a = distinctRandom([2, 3, 2, 2], 41, 2);
  const b = distinctRandom([2, 2, 2, 2], 42, 2);
  it("Tensor Sketch: two streams (radix-2 and Bluestein), homogeneous, per location", () => {
    gradcheck(([x, y]) => compactBilinearPool.vjp(x as Tensor, y as Tensor, { outputDim: 8 }), [a, b]);
    gradcheck(([x, y]) => compactBilinearPool.vjp(x as Tensor, y as Tensor, { outputDim: 7, seed: 4 }), [a, b]);
    gradcheck(([x]) => compactBilinearPool.vjp(x as Tensor, { outputDim: 6, seed: 5 }), [a]);
    gradcheck(([x, y]) => compactBilinearPool.vjp(x as Tensor, y as Tensor, { outputDim: 5, sumPool: false }), [a, b]);
  });
  it("Random Maclaurin: two streams, homogeneous, per location", () => {
    const opts = { method: "random-maclaurin" } as const;
    gradcheck(([x, y]) => compactBilinearPool.vjp(x as Tensor, y as Tensor, { ...opts, outputDim: 8 }), [a, b]);
    gradcheck(([x]) => compactBilinearPool.vjp(x as Tensor, { ...opts, outputDim: 6, seed: 5 }), [a]);
    gradcheck(([x, y]) => compactBilinearPool.vjp(x as Tensor, y as Tensor, { ...opts, outputDim: 5, sumPool: false, l2: false }), [a, b]);
  });
});

/** Mean over seeds of <φ(x), φ(y)> (raw features, homogeneous) and the scale ‖x‖²‖y‖². */
function kernelEstimate(x: Tensor, y: Tensor, method: "tensor-sketch" | "random-maclaurin", d: number, seeds: number, paramsFor?: (seed: number) => CompactBilinearParams): number {
  let acc = 0;
  for (let s = 0; s < seeds; s++) {
    const opts = paramsFor ? { params: paramsFor(s), ...RAW } : { outputDim: d, method, seed: 1000 + s, ...RAW };
    const u = compactBilinearPool(x, opts);
    const v = compactBilinearPool(y, opts);
    acc += dot(u.data, v.data); // .data read after both calls (a view may not outlive another op call)
  }
  return acc / seeds;
}

function correlatedPair(seed: number, c: number): [Tensor, Tensor] {
  const g = new Generator(seed);
  const x = new Float64Array(c);
  const y = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    x[i] = g.normal();
    y[i] = (x[i] as number) + 0.7 * g.normal(); // <x, y>² is a sizeable part of ‖x‖²‖y‖²
  }
  return [tensor(x, [1, c], "float64"), tensor(y, [1, c], "float64")];
}

describe("compactBilinearPool: properties", () => {
  // Bound: with d = 256 and 60 seeds the relative errors measured over 40 random pairs were at most
  // 0.019 (TS) and 0.050 (RM); the broken variants below were at least 0.14.
  const BOUND = 0.1;
  it("Tensor Sketch and Random Maclaurin inner products estimate <x, y>^2 (mean over 60 seeds within 0.1 ||x||^2 ||y||^2)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 4, max: 10 }), (seed, c) => {
        const [x, y] = correlatedPair(seed, c);
        const truth = dot(x.data, y.data) ** 2;
        const scale = dot(x.data, x.data) * dot(y.data, y.data);
        for (const method of ["tensor-sketch", "random-maclaurin"] as const) {
          const est = kernelEstimate(x, y, method, 256, 60);
          expect(Math.abs(est - truth) / scale, `${method}: estimate ${est} vs ${truth}`).toBeLessThan(BOUND);
        }
      }),
      { numRuns: 8 },
    );
  });

  it("the bound rejects broken sketches: one (h, s) pair shared by both factors, or RM scaled by 1/d", () => {
    const [x, y] = correlatedPair(5, 8);
    const truth = dot(x.data, y.data) ** 2;
    const scale = dot(x.data, x.data) * dot(y.data, y.data);
    const shared = kernelEstimate(x, y, "tensor-sketch", 256, 60, (s) => {
      const p = compactBilinearParams(8, 8, { outputDim: 256, seed: 1000 + s });
      if (p.method !== "tensor-sketch") throw new Error("expected tensor-sketch");
      return { ...p, h2: p.h1, s2: p.s1 };
    });
    expect(Math.abs(shared - truth) / scale).toBeGreaterThan(BOUND);
    const rmOverD = kernelEstimate(x, y, "random-maclaurin", 256, 60) / 256; // MATLAB's overall 1/d instead of 1/√d
    expect(Math.abs(rmOverD - truth) / scale).toBeGreaterThan(BOUND);
    // and the correct sketches pass on the same pair
    expect(Math.abs(kernelEstimate(x, y, "tensor-sketch", 256, 60) - truth) / scale).toBeLessThan(BOUND);
  });

  it("with L2 every output row (or location) has unit norm", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 20 }), fc.boolean(), fc.constantFrom("tensor-sketch", "random-maclaurin"), (seed, d, sumPool, method) => {
        const a = randn([2, 3, 4], { seed, dtype: "float64" });
        // a tiny l2Eps: the default 1e-10 shows when a sketch entry happens to be tiny
        const z = compactBilinearPool(a, { outputDim: d, method, sumPool, seed, l2Eps: 1e-30 });
        const rows = sumPool ? 2 : 8;
        const stride = sumPool ? 1 : 4;
        for (let r = 0; r < rows; r++) {
          const n = Math.floor(r / stride);
          const o = n * d * stride + (r % stride);
          let ss = 0;
          for (let k = 0; k < d; k++) ss += (z.data[o + k * stride] as number) ** 2;
          // a row that is entirely 0 (every bucket empty or cancelled) stays 0
          if (ss !== 0) expect(Math.sqrt(ss)).toBeCloseTo(1, 10);
        }
      }),
      { numRuns: 30 },
    );
  });
});

describe("compactBilinearPool — size limits", () => {
  const a = randn([1, 3, 2, 2], { seed: 1, dtype: "float64" });
  const b = randn([1, 2, 2, 2], { seed: 2, dtype: "float64" });

  it("outputDim 1e9 is an op error up front for both methods and outputShape (it was the FFT's plain Error, or > 100 s)", () => {
    const msg = /^compactBilinearPool: outputDim must be at most 65536 \(2\^16; the papers use 8192 to 16000\), got 1000000000$/;
    for (const method of ["tensor-sketch", "random-maclaurin"] as const) {
      expect(() => compactBilinearPool(a, b, { outputDim: 1e9, method })).toThrow(PoolkitRangeError);
      expect(() => compactBilinearPool(a, b, { outputDim: 1e9, method })).toThrow(msg);
      expect(() => compactBilinearPool.outputShape(a.shape, { outputDim: 1e9, method })).toThrow(msg);
      expect(() => compactBilinearParams(3, 2, { outputDim: 1e9, method })).toThrow(/^compactBilinearParams: outputDim must be at most 65536/);
    }
    expect(() => compactBilinearPool(a, { params: { method: "tensor-sketch", outputDim: 1e9 } as unknown as CompactBilinearParams })).toThrow(/^compactBilinearPool: params.outputDim must be at most 65536/);
    expect(MAX_OUTPUT_DIM).toBe(2 ** 16);
    // 1e6 passed the first limit (2^20) and took 90 s on a 2 × 3 × 6 × 6 map: refused now
    expect(() => compactBilinearPool(a, { outputDim: 1e6 })).toThrow(/^compactBilinearPool: outputDim must be at most 65536/);
    expect(compactBilinearPool.outputShape(a.shape, { outputDim: MAX_OUTPUT_DIM })).toEqual([1, MAX_OUTPUT_DIM]);
  });

  it("random-maclaurin bounds its projection, outputDim·(C1 + C2) ≤ 2^24, naming both and the way out", () => {
    const wide = randn([1, 512, 1, 1], { seed: 3 });
    expect(() => compactBilinearPool(wide, { outputDim: 32768, method: "random-maclaurin" })).toThrow(
      /^compactBilinearPool: random-maclaurin with outputDim 32768 and 512 \+ 512 channels needs 33554432 projection weights .*method "tensor-sketch"$/,
    );
    expect(() => compactBilinearParams(512, 512, { outputDim: 32768, method: "random-maclaurin" })).toThrow(/^compactBilinearParams: random-maclaurin/);
    expect(MAX_MACLAURIN_WEIGHTS).toBe(2 ** 24);
    // the same size is fine for Tensor Sketch, whose parameters are per channel
    expect((compactBilinearParams(512, 512, { outputDim: 65536 }) as { h1: { shape: readonly number[] } }).h1.shape).toEqual([512]);
  });
});
