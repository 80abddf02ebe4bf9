import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { softPool1d, softPool2d, softPool3d } from "../../src/ops/softPool.js";
import { getPool } from "../../src/registry.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import type { DType } from "../../src/tensor/dtype.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";
import { expected, fromJSON, loadFixture, type TensorJSON } from "../helpers/fixtures.js";

const OPS = { 1: softPool1d, 2: softPool2d, 3: softPool3d } as const;

interface Case {
  rank: 1 | 2 | 3;
  options: Record<string, unknown>;
  x: TensorJSON;
  y: TensorJSON;
  dy: TensorJSON;
  dx: TensorJSON;
  dxOfficial: TensorJSON;
}

/** Naive 2-d window statistics over pad-excluded windows, for the property tests. */
function windowStats(x: number[], H: number, W: number, k: number, s: number, p: number) {
  const oh = Math.floor((H + 2 * p - k) / s) + 1;
  const ow = Math.floor((W + 2 * p - k) / s) + 1;
  const out: { min: number; max: number; mean: number }[] = [];
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      let mn = Infinity;
      let mx = -Infinity;
      let sum = 0;
      let n = 0;
      for (let a = i * s - p; a < i * s - p + k; a++) {
        for (let b = j * s - p; b < j * s - p + k; b++) {
          if (a < 0 || a >= H || b < 0 || b >= W) continue;
          const v = x[a * W + b] as number;
          mn = Math.min(mn, v);
          mx = Math.max(mx, v);
          sum += v;
          n++;
        }
      }
      out.push({ min: mn, max: mx, mean: sum / n });
    }
  }
  return out;
}

describe("softPool: shape / smoke", () => {
  it("batched and unbatched, every rank and float dtype; outputShape equals the forward shape", () => {
    const shapes: Record<1 | 2 | 3, number[]> = { 1: [2, 3, 9], 2: [2, 3, 7, 6], 3: [1, 2, 5, 4, 6] };
    for (const rank of [1, 2, 3] as const) {
      for (const dtype of ["float32", "float64"] as DType[]) {
        for (const batched of [true, false]) {
          const shape = batched ? shapes[rank] : shapes[rank].slice(1);
          const x = distinctRandom(shape, 3);
          const xt = tensor(x.data, shape, dtype);
          const opts = { kernelSize: 3, stride: 2, padding: 1 };
          const y = OPS[rank](xt, opts);
          expect(y.dtype).toBe(dtype);
          expect([...y.shape]).toEqual(OPS[rank].outputShape(shape, opts));
          expect([...y.shape]).toEqual(getPool("soft").outputShape(shape, opts, rank));
          expect(y.shape.length).toBe(shape.length);
        }
      }
    }
    expect(softPool2d.outputShape([2, 3, 16, 16], { kernelSize: 2 })).toEqual([2, 3, 8, 8]);
  });

  it("does not mutate its input and backward can be called twice", () => {
    const x = distinctRandom([1, 2, 4, 4], 5);
    const before = Float64Array.from(x.data);
    const { output, backward } = softPool2d.vjp(x, { kernelSize: 2 });
    const dy = tensor(new Float64Array(output.size).fill(1), output.shape, "float64");
    const a = backward(dy)[0] as Tensor;
    const b = backward(dy)[0] as Tensor;
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(x.data)).toEqual(Array.from(before));
  });

  it("is registered under forgiving names with working defaults", () => {
    const m = getPool("SoftPool");
    expect(getPool("soft-pool")).toBe(m);
    expect(getPool("softPool3d")).toBe(m);
    const x = distinctRandom([2, 3, 16, 16], 1);
    const y = (m.ops[2] as typeof softPool2d)(x, m.defaults as { kernelSize: number });
    expect([...y.shape]).toEqual(m.outputShape(x.shape, m.defaults as Record<string, unknown>));
  });
});

describe("softPool: errors", () => {
  const x = tensor(new Float32Array(16), [1, 1, 4, 4]);
  it("rejects bad options with the op name, argument and value", () => {
    expect(() => softPool2d(x, {} as never)).toThrow("softPool2d: kernelSize is required");
    expect(() => softPool2d(x, { kernelSize: 3, padding: 2 })).toThrow(
      "softPool2d: padding must be at most half the kernel size, got padding 2 for kernelSize 3",
    );
    expect(() => softPool2d(x, { kernelSize: 2, gradMode: "cuda" as never })).toThrow(
      'softPool2d: gradMode must be one of "exact", "official", got "cuda"',
    );
    expect(() => softPool2d(x, { kernelSize: 2, dilation: 2 } as never)).toThrow(/softPool2d: unknown option "dilation"/);
    expect(() => softPool1d(x, { kernelSize: 2 })).toThrow("softPool1d: x must have shape [N, C, L] or [C, L], got [1, 1, 4, 4]");
    expect(() => softPool2d(tensor([1, 2, 3, 4], [1, 1, 2, 2], "int32"), { kernelSize: 2 })).toThrow(
      "softPool2d: x must be float32 or float64, got int32",
    );
    expect(() => softPool2d(x, { kernelSize: 5 })).toThrow(/softPool2d: kernel is larger than the padded input/);
  });
  it("rejects a dy of the wrong shape", () => {
    const { backward } = softPool2d.vjp(x, { kernelSize: 2 });
    expect(() => backward(tensor(new Float32Array(3), [3]))).toThrow("softPool2d: backward: dy must have the output's shape [1, 1, 2, 2], got [3]");
  });
});

describe("softPool: values", () => {
  const fx = loadFixture<Case>("weighted_softpool.json");
  for (const dtype of ["float32", "float64"] as DType[]) {
    it(`matches the PyTorch reference fixtures in ${dtype} (output, exact and official gradients)`, () => {
      const tol = tolFor(dtype);
      expect(fx.cases.length).toBe(7);
      fx.cases.forEach((c, i) => {
        const op = OPS[c.rank];
        const x = fromJSON(c.x, dtype);
        const { output, backward } = op.vjp(x, c.options as never);
        const e = expected(c.y);
        expect([...output.shape]).toEqual(e.shape);
        expectClose(output.data, e.data, tol, `case ${i} y`);
        const dy = fromJSON(c.dy, dtype);
        expectClose((backward(dy)[0] as Tensor).data, expected(c.dx).data, tol, `case ${i} dx`);
        const off = op.vjp(x, { ...c.options, gradMode: "official" } as never);
        expectClose(off.output.data, e.data, tol, `case ${i} y (official)`);
        expectClose((off.backward(dy)[0] as Tensor).data, expected(c.dxOfficial).data, tol, `case ${i} dx official`);
      });
    });
  }

  it("reproduces the spec's window [1,2,3,4]: y, exact gradient and official gradient = w", () => {
    for (const dtype of ["float32", "float64"] as DType[]) {
      const x = tensor([1, 2, 3, 4], [1, 1, 2, 2], dtype);
      const dy = tensor([1], [1, 1, 1, 1], dtype);
      const ex = softPool2d.vjp(x, { kernelSize: 2 });
      expectClose(ex.output.data, [3.4926529], { atol: 1e-6 });
      expectClose((ex.backward(dy)[0] as Tensor).data, [-0.047852, -0.042932, 0.120182, 0.970602], { atol: 1e-6 });
      const of = softPool2d.vjp(x, { kernelSize: 2, gradMode: "official" });
      expectClose((of.backward(dy)[0] as Tensor).data, [0.032059, 0.087144, 0.236883, 0.643914], { atol: 1e-6 });
    }
  });

  it("reproduces the spec's 4×4 example, negative windows and per-channel weights", () => {
    const x = tensor([[[[1, 2, 0, 0], [3, 4, 0, 0], [-1, -2, 10, 0], [-3, -4, 0, 0]]]]);
    expectClose(softPool2d(x, { kernelSize: 2 }).data, [3.492653, 0, -1.507347, 9.998638], { atol: 1e-5 });
    // Two channels [1,2,3,4] and [4,3,2,1]: per channel both are 3.492653 (the official CPU path gives 2.5).
    const two = tensor([[[[1, 2], [3, 4]], [[4, 3], [2, 1]]]], undefined, "float64");
    expectClose(softPool2d(two, { kernelSize: 2 }).data, [3.492653, 3.492653], { atol: 1e-6 });
    // 1-d: [1,2,3,4], k2 → softmax averages of (1,2) and (3,4).
    const s = 1 / (1 + Math.E);
    expectClose(softPool1d(tensor([[[1, 2, 3, 4]]], undefined, "float64"), { kernelSize: 2 }).data, [1 * s + 2 * (1 - s), 3 * s + 4 * (1 - s)], { atol: 1e-12 });
  });

  it("is stable: [100,90,80,70] → 99.99955 in float32 (the naive formula overflows), [−1000…] stays finite", () => {
    const big = softPool2d(tensor([100, 90, 80, 70], [1, 1, 2, 2], "float32"), { kernelSize: 2 });
    expectClose(big.data, [99.99955], { atol: 1e-4 });
    const neg = softPool2d(tensor([-1000, -1001, -1002, -1003], [1, 1, 2, 2], "float64"), { kernelSize: 2 });
    expectClose(neg.data, [-1000 + (-1 * Math.exp(-1) - 2 * Math.exp(-2) - 3 * Math.exp(-3)) / (1 + Math.exp(-1) + Math.exp(-2) + Math.exp(-3))], { atol: 1e-9 });
  });

  it("padded positions take no part: a padded window equals SoftPool of its real pixels", () => {
    const x = tensor([[[-5, -6, -7]]], undefined, "float64");
    // k2 s2 p1: windows {pad, −5} and {−6, −7}; with zero padding the first would be pulled towards 0.
    const y = softPool1d(x, { kernelSize: 2, padding: 1 });
    const w = Math.exp(-6) / (Math.exp(-6) + Math.exp(-7));
    expectClose(y.data, [-5, -6 * w - 7 * (1 - w)], { atol: 1e-12 });
  });
});

describe("softPool: gradcheck (float64)", () => {
  it("1-d, 2-d and 3-d with padding and overlapping windows", () => {
    gradcheck(([x]) => softPool1d.vjp(x as Tensor, { kernelSize: 3, stride: 2, padding: 1 }), [distinctRandom([2, 2, 9], 11, 3)]);
    gradcheck(([x]) => softPool2d.vjp(x as Tensor, { kernelSize: 3, stride: 2, padding: 1 }), [distinctRandom([2, 2, 5, 6], 12, 3)]);
    gradcheck(([x]) => softPool2d.vjp(x as Tensor, { kernelSize: [2, 3], stride: 1 }), [distinctRandom([3, 4, 5], 13, 3)]);
    gradcheck(([x]) => softPool3d.vjp(x as Tensor, { kernelSize: 2, stride: 1, padding: 1 }), [distinctRandom([1, 1, 3, 3, 4], 14, 3)]);
  });
});

describe("softPool: properties", () => {
  const arb = fc.record({
    H: fc.integer({ min: 1, max: 7 }),
    W: fc.integer({ min: 1, max: 7 }),
    k: fc.integer({ min: 1, max: 4 }),
    s: fc.integer({ min: 1, max: 3 }),
    p: fc.integer({ min: 0, max: 2 }),
    seed: fc.integer({ min: 0, max: 1e6 }),
    scale: fc.constantFrom(0.1, 3, 50, 1000),
  });

  it("avg ≤ softPool ≤ max over every pad-excluded window (scales up to 1000, no NaN)", () => {
    fc.assert(
      fc.property(arb, ({ H, W, k, s, p, seed, scale }) => {
        fc.pre(p <= Math.floor(k / 2) && H + 2 * p >= k && W + 2 * p >= k);
        const x = distinctRandom([1, 1, H, W], seed, scale);
        const y = softPool2d(x, { kernelSize: k, stride: s, padding: p });
        const stats = windowStats(Array.from(x.data), H, W, k, s, p);
        expect(y.size).toBe(stats.length);
        stats.forEach((st, i) => {
          const v = y.data[i] as number;
          expect(Number.isFinite(v)).toBe(true);
          const slack = 1e-12 * (Math.abs(st.max) + 1);
          expect(v).toBeGreaterThanOrEqual(st.mean - slack);
          expect(v).toBeLessThanOrEqual(st.max + slack);
        });
      }),
      { numRuns: 120 },
    );
  });

  it("float32 inputs of ±1000 never produce NaN or ±Infinity", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(-1000, -999.5, 0, 999, 1000), { minLength: 16, maxLength: 16 }), (vals) => {
        const y = softPool2d(tensor(vals, [1, 1, 4, 4], "float32"), { kernelSize: 2 });
        for (const v of y.data) expect(Number.isFinite(v)).toBe(true);
        const { backward } = softPool2d.vjp(tensor(vals, [1, 1, 4, 4], "float32"), { kernelSize: 2 });
        for (const v of (backward(tensor(new Float32Array(4).fill(1), [1, 1, 2, 2]))[0] as Tensor).data) expect(Number.isFinite(v)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it("shift equivariance: softPool(x + c) = softPool(x) + c", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.double({ min: -50, max: 50, noNaN: true }), (seed, c) => {
        const x = distinctRandom([2, 5, 5], seed, 4);
        const shifted = tensor(Array.from(x.data, (v) => v + c), x.shape, "float64");
        const a = softPool2d(x, { kernelSize: 3, stride: 2, padding: 1 });
        const b = softPool2d(shifted, { kernelSize: 3, stride: 2, padding: 1 });
        expectClose(b.data, Array.from(a.data, (v) => v + c), { atol: 1e-9, rtol: 1e-12 });
      }),
      { numRuns: 50 },
    );
  });

  it("gradMode official sums to dy per window (weights are a partition of unity)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), (seed) => {
        const x = distinctRandom([1, 1, 6, 6], seed, 5);
        const { backward } = softPool2d.vjp(x, { kernelSize: 2, gradMode: "official" });
        const dx = backward(tensor(new Float64Array(9).fill(1), [1, 1, 3, 3], "float64"))[0] as Tensor;
        let sum = 0;
        for (const v of dx.data) sum += v;
        expect(Math.abs(sum - 9)).toBeLessThan(1e-12);
      }),
      { numRuns: 30 },
    );
  });
});

describe("softPool2d audit: float32 exact gradient at large magnitudes", () => {
  // References: torch 1.13 float64 autograd of y = Σ softmax(x)·x on [10000, 9990, 9980, 9970]
  // (`w = torch.softmax(x, 0); (w * x).sum().backward()`): y = 9999.99954598009,
  // dx = [1.0004085993675047, -0.0004085602059435536, -3.915920511567237e-08, -2.713544975147728e-12].
  // The backward used to form x − y with the float32-rounded y (= 10000), giving dx[0] = 0.99995.
  const want = [1.0004085993675047, -0.0004085602059435536, -3.915920511567237e-8, -2.713544975147728e-12];
  for (const dtype of ["float32", "float64"] as const) {
    it(`${dtype}: dx = w·(1 + x − y) to the dtype's precision, and Σ dx = dy (shift equivariance)`, () => {
      const x = tensor([10000, 9990, 9980, 9970], [1, 1, 2, 2], dtype);
      const { output, backward } = softPool2d.vjp(x, { kernelSize: 2 });
      expectClose(output.data, [9999.99954598009], tolFor(dtype));
      const dx = backward(tensor([1], [1, 1, 1, 1], dtype))[0] as Tensor;
      expectClose(dx.data, want, { rtol: dtype === "float32" ? 1e-6 : 1e-10, atol: 1e-12 });
      let sum = 0;
      for (const v of dx.data) sum += v;
      expect(Math.abs(sum - 1)).toBeLessThan(dtype === "float32" ? 1e-6 : 1e-12);
    });
  }
});
