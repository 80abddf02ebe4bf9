import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { lpPool1d, lpPool2d, lpPool3d, maxPool1d, maxPool2d, maxPool3d, avgPool1d, avgPool2d, avgPool3d } from "../../src/ops/pytorch.js";
import { tensor, zeros, type Tensor } from "../../src/tensor/tensor.js";
import { randn, rand } from "../../src/tensor/random.js";
import type { FloatDType } from "../../src/tensor/dtype.js";
import { expectClose } from "../helpers/close.js";
import { decodeNumbers, expectVjpMatches, fromJSON, loadFixture, rankOf, replayCases, type PyTorchCase } from "../helpers/fixtures.js";
import { gradcheck } from "../helpers/gradcheck.js";
import { onesLike } from "../helpers/tensors.js";

const LP = { 1: lpPool1d, 2: lpPool2d, 3: lpPool3d } as const;
const MAX = { 1: maxPool1d, 2: maxPool2d, 3: maxPool3d } as const;
const AVG = { 1: avgPool1d, 2: avgPool2d, 3: avgPool3d } as const;

const f64 = (v: number[][][][] | number[][][]) => tensor(v, undefined, "float64");
/** normType may be stored as "Infinity" in the JSON options. */
const decodeOpts = (o: Record<string, unknown>) => ({ ...o, normType: decodeNumbers([o.normType as number | string])[0] });

describe("lpPool — shape / smoke", () => {
  it("batched and unbatched, float32 and float64, outputShape equals the forward shape", () => {
    for (const rank of [1, 2, 3] as const) {
      for (const dtype of ["float32", "float64"] as FloatDType[]) {
        const spatial = [7, 6, 5].slice(0, rank);
        const opts = { normType: 2, kernelSize: 3, stride: 2, ceilMode: true };
        for (const shape of [[2, 3, ...spatial], [3, ...spatial]]) {
          const y = LP[rank](randn(shape, { seed: 3, dtype }), opts);
          expect(y.dtype).toBe(dtype);
          expect([...y.shape]).toEqual(LP[rank].outputShape(shape, opts));
        }
      }
    }
  });

  it("does not mutate its input; backward twice gives the same result", () => {
    const x = randn([1, 2, 6], { seed: 4, dtype: "float64" });
    const before = Float64Array.from(x.data);
    const { output, backward } = lpPool1d.vjp(x, { normType: 2, kernelSize: 2 });
    expect([...(backward(onesLike(output))[0] as Tensor).data]).toEqual([...(backward(onesLike(output))[0] as Tensor).data]);
    expect([...x.data]).toEqual([...before]);
  });
});

describe("lpPool — errors", () => {
  const x = zeros([1, 1, 4, 4]);
  it("rejects a missing or invalid normType", () => {
    expect(() => lpPool2d(x, { kernelSize: 2 } as never)).toThrow("lpPool2d: normType is required");
    expect(() => lpPool2d(x, { normType: 0, kernelSize: 2 })).toThrow("lpPool2d: normType must be > 0, got 0");
    expect(() => lpPool2d(x, { normType: -1, kernelSize: 2 })).toThrow("lpPool2d: normType must be > 0, got -1");
    expect(() => lpPool1d(zeros([1, 4]), { normType: NaN, kernelSize: 2 })).toThrow("lpPool1d: normType must be a number, got NaN");
    expect(() => lpPool1d(zeros([1, 4]), { normType: "2" as never, kernelSize: 2 })).toThrow('lpPool1d: normType must be a number, got "2"');
  });
  it("rejects bad sizes, kernel larger than the input, padding past half the kernel, dilation (not an LP option), wrong rank, int32", () => {
    expect(() => lpPool2d(x, { normType: 2, kernelSize: 0 })).toThrow("lpPool2d: kernelSize must be positive integers, got 0");
    expect(() => lpPool2d(x, { normType: 2, kernelSize: 2, stride: 1.5 })).toThrow("lpPool2d: stride must be positive integers, got 1.5");
    expect(() => lpPool2d(x, { normType: 2, kernelSize: 5 })).toThrow(/^lpPool2d: kernel is larger than the padded input: input size \[4, 4\]/);
    expect(() => lpPool2d(x, { normType: 2, kernelSize: 2, padding: 2 })).toThrow("lpPool2d: padding must be at most half the kernel size, got padding 2 for kernelSize 2");
    expect(() => lpPool2d(x, { normType: 2, kernelSize: 2, dilation: 1 } as never)).toThrow(
      'lpPool2d: unknown option "dilation"; known options: normType, kernelSize, stride, padding, ceilMode',
    );
    expect(() => lpPool3d(zeros([4, 4]), { normType: 2, kernelSize: 2 })).toThrow("lpPool3d: x must have shape [N, C, D, H, W] or [C, D, H, W], got [4, 4]");
    expect(() => lpPool2d(zeros([1, 1, 4, 4], "int32"), { normType: 2, kernelSize: 2 })).toThrow("lpPool2d: x must be float32 or float64, got int32");
    expect(() => lpPool2d({ shape: [1, 1, 2, 2] } as never, { normType: 2, kernelSize: 2 })).toThrow("lpPool2d: x must be a Tensor, got an object");
  });
});

describe("lpPool — values", () => {
  const fixture = loadFixture<PyTorchCase>("pytorch_sliding_lp.json");
  it("has the committed PyTorch fixture", () => expect(fixture.cases.length).toBeGreaterThanOrEqual(15));
  replayCases(
    fixture.cases,
    (c, i, dtype) => `matches PyTorch: case ${i} ${c.op} ${JSON.stringify(c.opts)} ${c.note ?? ""} (${dtype})`,
    (c, dtype) => expectVjpMatches(LP[rankOf(c.op)].vjp(fromJSON(c.x, dtype), decodeOpts(c.opts) as never), fromJSON(c.dy, dtype), c[dtype], dtype),
  );

  const grad = (x: Tensor, opts: Parameters<typeof lpPool2d>[1]) => {
    const { output, backward } = lpPool2d.vjp(x, opts);
    return { y: output, dx: backward(onesLike(output))[0] as Tensor };
  };
  it("spec: [[1,2],[3,4]] p = 2 → √30 with ∂y/∂x = x / y; p = 3 → ∛100", () => {
    const a = grad(f64([[[[1, 2], [3, 4]]]]), { normType: 2, kernelSize: 2 });
    expectClose(a.y.data, [Math.sqrt(30)], { atol: 1e-12 });
    expectClose(a.dx.data, [0.182574, 0.365148, 0.547723, 0.730297], { atol: 1e-6 });
    const b = grad(f64([[[[1, 2], [3, 4]]]]), { normType: 3, kernelSize: 2 });
    expectClose(b.y.data, [4.6415887], { atol: 1e-7 });
    expectClose(b.dx.data, [0.046416, 0.185664, 0.417743, 0.742654], { atol: 1e-6 });
    const c = grad(f64([[[[1, -2], [3, -4]]]]), { normType: 2, kernelSize: 2 });
    expectClose(c.y.data, [Math.sqrt(30)], { atol: 1e-12 });
    expectClose(c.dx.data, [0.182574, -0.365148, 0.547723, -0.730297], { atol: 1e-6 });
  });
  it("spec: a zero window gives 0 and a zero gradient (the relu mask), not NaN", () => {
    const z = grad(f64([[[[0, 0], [0, 0]]]]), { normType: 2, kernelSize: 2 });
    expect([...z.y.data]).toEqual([0]);
    expect([...z.dx.data]).toEqual([0, 0, 0, 0]);
  });
  it("spec: ceil mode over-counts: arange(1..9) 3×3, k2, p1 → [[12, 18], [30, 36]]", () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3], "float64");
    const r = grad(x, { normType: 1, kernelSize: 2, ceilMode: true });
    expectClose(r.y.data, [12, 18, 30, 36], { atol: 1e-12 });
    expectClose(r.dx.data, [1, 1, 2, 1, 1, 2, 2, 2, 4], { atol: 1e-12 });
  });
  it("spec: negative bases — p = 1 is the signed sum; odd and fractional p give NaN", () => {
    const p1 = grad(f64([[[[1, -2], [3, -4]]]]), { normType: 1, kernelSize: 2 });
    expectClose(p1.y.data, [-2], { atol: 1e-12 });
    expectClose(p1.dx.data, [1, 1, 1, 1], { atol: 1e-12 });
    expect(Number.isNaN(lpPool2d(f64([[[[1, 2], [3, -4]]]]), { normType: 3, kernelSize: 2 }).data[0])).toBe(true);
    expect(Number.isNaN(lpPool2d(f64([[[[1, 2], [3, -4]]]]), { normType: 1.5, kernelSize: 2 }).data[0])).toBe(true);
  });
  it("spec: p = ∞ is not max pooling (output 1), and its gradient is NaN as in PyTorch", () => {
    const r = grad(f64([[[[1, 2], [3, 4]]]]), { normType: Infinity, kernelSize: 2 });
    expect([...r.y.data]).toEqual([1]);
    expect([...r.dx.data].every(Number.isNaN)).toBe(true);
  });
  it("spec: p = 20 on [100, 50, 1, 2] overflows to ∞ in float32 but not in float64", () => {
    expect(lpPool2d(tensor([[[[100, 50], [1, 2]]]], undefined, "float32"), { normType: 20, kernelSize: 2 }).data[0]).toBe(Infinity);
    const y64 = lpPool2d(f64([[[[100, 50], [1, 2]]]]), { normType: 20, kernelSize: 2 }).data[0]!;
    expect(y64).toBeGreaterThan(100);
    expect(y64).toBeLessThan(100.01);
  });
});

describe("lpPool — gradcheck (float64)", () => {
  it("1d / 2d / 3d, several p, ceil mode, overlap (positive inputs: no kinks)", () => {
    const pos = (shape: number[], seed: number) => {
      const t = rand(shape, { seed, dtype: "float64" });
      return tensor(Float64Array.from(t.data, (v) => v + 0.2), shape, "float64");
    };
    gradcheck(([t]) => lpPool1d.vjp(t!, { normType: 2, kernelSize: 3, stride: 2, ceilMode: true }), [randn([2, 2, 9], { seed: 31, dtype: "float64" })]);
    gradcheck(([t]) => lpPool1d.vjp(t!, { normType: 1, kernelSize: 2, stride: 1 }), [randn([2, 7], { seed: 32, dtype: "float64" })]);
    gradcheck(([t]) => lpPool2d.vjp(t!, { normType: 3, kernelSize: [2, 3], stride: 1, ceilMode: true }), [pos([1, 2, 4, 5], 33)]);
    gradcheck(([t]) => lpPool2d.vjp(t!, { normType: 1.5, kernelSize: 2, ceilMode: true }), [pos([2, 5, 5], 34)]);
    gradcheck(([t]) => lpPool3d.vjp(t!, { normType: 2, kernelSize: 2, stride: [1, 2, 2], ceilMode: true }), [randn([1, 2, 3, 5, 4], { seed: 35, dtype: "float64" })]);
  });
});

describe("lpPool — properties", () => {
  it("outputShape equals the forward shape; for positive x, max ≤ LP_p ≤ (avg·k) with p = 1 equal to avg·k", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
        fc.double({ min: 1, max: 6, noNaN: true }),
        fc.boolean(),
        fc.integer({ min: 0, max: 999 }),
        (rank, sp, ks, ss, p, ceilMode, seed) => {
          const r = rank as 1 | 2 | 3;
          const spatial = sp.slice(0, r);
          const k = ks.slice(0, r);
          fc.pre(spatial.every((L, i) => L >= k[i]!));
          const shape = [2, 2, ...spatial];
          const x = rand(shape, { seed, dtype: "float64" });
          const opts = { kernelSize: k, stride: ss.slice(0, r), ceilMode };
          const lp = LP[r](x, { ...opts, normType: p });
          expect([...lp.shape]).toEqual(LP[r].outputShape(shape, { ...opts, normType: p }));
          const mx = MAX[r](x, opts);
          const area = k.reduce((a, b) => a * b, 1);
          const l1 = LP[r](x, { ...opts, normType: 1 });
          const av = AVG[r](x, opts);
          for (let i = 0; i < lp.size; i++) {
            expect(lp.data[i]!).toBeGreaterThanOrEqual(mx.data[i]! - 1e-12);
            expect(lp.data[i]!).toBeLessThanOrEqual(l1.data[i]! + 1e-9);
            expect(Math.abs(l1.data[i]! - av.data[i]! * area)).toBeLessThan(1e-9);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("lpPool2d audit: zero windows with p < 1", () => {
  // torch 1.13: x = zeros(1,1,2,2), F.lp_pool2d(x, 0.5, 2).sum().backward() → grad all NaN (pow's
  // backward: masked 0 · 0^(−0.5) = 0·∞); x = [[0,1],[2,3]] → grad [inf, 4.146264369941973,
  // 2.9318516525781364, 2.3938468501173524]. The relu mask gives 0 only for p ≥ 1 (documented).
  it("p = 0.5: NaN gradient on an all-zero window and +∞ at a zero inside a non-zero window, as PyTorch", () => {
    const z = lpPool2d.vjp(tensor([0, 0, 0, 0], [1, 1, 2, 2], "float64"), { normType: 0.5, kernelSize: 2 });
    expect([...z.output.data]).toEqual([0]);
    expect([...(z.backward(tensor([1], [1, 1, 1, 1], "float64"))[0] as Tensor).data].every(Number.isNaN)).toBe(true);
    const m = lpPool2d.vjp(tensor([0, 1, 2, 3], [1, 1, 2, 2], "float64"), { normType: 0.5, kernelSize: 2 });
    const dx = (m.backward(tensor([1], [1, 1, 1, 1], "float64"))[0] as Tensor).data;
    expect(dx[0]).toBe(Infinity);
    expectClose([...dx].slice(1), [4.146264369941973, 2.9318516525781364, 2.3938468501173524], { atol: 1e-12, rtol: 1e-12 });
  });
});
