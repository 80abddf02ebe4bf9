import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { detailPreservingPool2d } from "../../src/ops/detailPreservingPool.js";
import { exampleInputs, getPool } from "../../src/registry.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, zeros, full, type Tensor } from "../../src/tensor/tensor.js";
import type { DType } from "../../src/tensor/dtype.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";
import { expected, fromJSON, loadFixture, type TensorJSON } from "../helpers/fixtures.js";

interface Case {
  reward: "symmetric" | "asymmetric";
  x: TensorJSON;
  alpha: TensorJSON;
  lambda: TensorJSON;
  filter: TensorJSON | null;
  y: TensorJSON;
  dy: TensorJSON;
  dx: TensorJSON;
  dalpha: TensorJSON;
  dlambda: TensorJSON;
  dfilter: TensorJSON | null;
}

const f64 = (v: number[], shape: number[]) => tensor(v, shape, "float64");
const ones = (shape: number[]) => tensor(new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(1), shape, "float64");

describe("detailPreservingPool2d: shape / smoke", () => {
  it("[N, C, H, W] → [N, C, H/2, W/2], unbatched too, lite and full, both dtypes", () => {
    for (const dtype of ["float32", "float64"] as DType[]) {
      for (const shape of [[2, 3, 4, 6], [3, 6, 2]]) {
        const C = shape[shape.length - 3] as number;
        const x = tensor(distinctRandom(shape, 1).data, shape, dtype);
        const a = zeros([C], dtype);
        const l = zeros([C], dtype);
        const f = tensor(distinctRandom([C, 1, 3, 3], 2).data, [C, 1, 3, 3], dtype);
        const lite = detailPreservingPool2d.vjp(x, a, l);
        const fullV = detailPreservingPool2d.vjp(x, a, l, f, { reward: "asymmetric" });
        const outShape = detailPreservingPool2d.outputShape(shape);
        expect(outShape).toEqual([...shape.slice(0, -2), (shape.at(-2) as number) / 2, (shape.at(-1) as number) / 2]);
        for (const v of [lite, fullV]) {
          expect([...v.output.shape]).toEqual(outShape);
          expect(v.output.dtype).toBe(dtype);
        }
        const dy = ones(outShape);
        expect(lite.backward(dy).length).toBe(3);
        const g = fullV.backward(dy);
        expect(g.length).toBe(4);
        expect([...(g[3] as Tensor).shape]).toEqual([C, 1, 3, 3]);
        expect((g[1] as Tensor).dtype).toBe(dtype);
      }
    }
  });

  it("registry: DPP (alias detail-preserving) runs its defaults with its example parameters", () => {
    const m = getPool("detail-preserving");
    expect(getPool("DPP")).toBe(m);
    expect(m.learnable).toEqual(["alpha", "lambda"]);
    const x = distinctRandom([2, 3, 16, 16], 3);
    const [a, l] = exampleInputs(m, x, new Generator(4), m.defaults as Record<string, unknown>) as [Tensor, Tensor];
    expect([...a.shape]).toEqual([3]);
    for (const v of a.data) expect(Math.abs(v)).toBeLessThanOrEqual(1 / Math.sqrt(3));
    const y = (m.ops[2] as typeof detailPreservingPool2d)(x, a, l, m.defaults);
    expect([...y.shape]).toEqual(m.outputShape(x.shape, m.defaults as Record<string, unknown>));
  });

  it("does not mutate its inputs; backward twice gives the same result", () => {
    const x = distinctRandom([1, 2, 4, 4], 5);
    const a = f64([0.1, 10.3], [2]);
    const l = f64([-0.2, 0.4], [2]);
    const f = distinctRandom([2, 1, 3, 3], 6);
    const snap = [x, a, l, f].map((t) => Array.from(t.data));
    const { backward } = detailPreservingPool2d.vjp(x, a, l, f);
    const g1 = backward(ones([1, 2, 2, 2])).map((t) => Array.from((t as Tensor).data));
    const g2 = backward(ones([1, 2, 2, 2])).map((t) => Array.from((t as Tensor).data));
    expect(g2).toEqual(g1);
    expect([x, a, l, f].map((t) => Array.from(t.data))).toEqual(snap);
  });
});

describe("detailPreservingPool2d: errors", () => {
  const x = zeros([1, 2, 4, 4]);
  const p = zeros([2]);
  it("odd H or W, wrong parameter shapes and dtypes", () => {
    expect(() => detailPreservingPool2d(zeros([1, 2, 5, 4]), p, p)).toThrow(
      "detailPreservingPool2d: x must have even height and width (2×2 blocks), got H, W = [5, 4]",
    );
    expect(() => detailPreservingPool2d.outputShape([2, 4, 3])).toThrow("detailPreservingPool2d: x must have even height and width (2×2 blocks), got H, W = [4, 3]");
    expect(() => detailPreservingPool2d(x, zeros([3]), p)).toThrow("detailPreservingPool2d: alpha must have shape [2], got [3]");
    expect(() => detailPreservingPool2d(x, p, zeros([1, 2]))).toThrow("detailPreservingPool2d: lambda must have shape [2], got [1, 2]");
    expect(() => detailPreservingPool2d(x, p, p, zeros([2, 3, 3]))).toThrow("detailPreservingPool2d: filter must have shape [2, 1, 3, 3], got [2, 3, 3]");
    expect(() => detailPreservingPool2d(x, zeros([2], "float64"), p)).toThrow("detailPreservingPool2d: alpha must have x's dtype float32, got float64");
    expect(() => detailPreservingPool2d(x, 1 as never, p)).toThrow("detailPreservingPool2d: alpha must be a Tensor, got 1");
  });
  it("bad options", () => {
    expect(() => detailPreservingPool2d(x, p, p, { reward: "sym" as never })).toThrow(
      'detailPreservingPool2d: reward must be one of "symmetric", "asymmetric", got "sym"',
    );
    expect(() => detailPreservingPool2d(x, p, p, { variant: "full" } as never)).toThrow(
      'detailPreservingPool2d: unknown option "variant"; known options: reward',
    );
    expect(() => detailPreservingPool2d(x, p, p, { reward: "symmetric" }, { reward: "symmetric" })).toThrow(
      "detailPreservingPool2d: the 4th argument must be the filter Tensor (or null) when options follow it, got an object",
    );
  });
});

describe("detailPreservingPool2d: values", () => {
  const fx = loadFixture<Case>("weighted_dpp.json");
  for (const dtype of ["float32", "float64"] as DType[]) {
    it(`matches the nngraph-graph PyTorch fixtures in ${dtype} (lite/full × sym/asym, θα above the clamp)`, () => {
      const tol = tolFor(dtype);
      expect(fx.cases.length).toBe(4);
      fx.cases.forEach((c, i) => {
        const x = fromJSON(c.x, dtype);
        const a = fromJSON(c.alpha, dtype);
        const l = fromJSON(c.lambda, dtype);
        const v = c.filter
          ? detailPreservingPool2d.vjp(x, a, l, fromJSON(c.filter, dtype), { reward: c.reward })
          : detailPreservingPool2d.vjp(x, a, l, { reward: c.reward });
        const e = expected(c.y);
        expect([...v.output.shape]).toEqual(e.shape);
        expectClose(v.output.data, e.data, tol, `case ${i} y`);
        const g = v.backward(fromJSON(c.dy, dtype)) as Tensor[];
        expectClose(g[0]!.data, expected(c.dx).data, tol, `case ${i} dx`);
        expectClose(g[1]!.data, expected(c.dalpha).data, tol, `case ${i} dalpha`);
        expectClose(g[2]!.data, expected(c.dlambda).data, tol, `case ${i} dlambda`);
        if (c.dfilter) expectClose(g[3]!.data, expected(c.dfilter).data, tol, `case ${i} dfilter`);
        else expect(g.length).toBe(3);
      });
    });
  }

  it("docs/methods/dpp.md worked numbers: block [1,2,3,6], λ = α = 1 → sym 3.295888, asym 3.979032, and the autograd gradients", () => {
    const I = f64([1, 2, 3, 6], [1, 1, 2, 2]);
    const z = f64([0], [1]);
    const sym = detailPreservingPool2d.vjp(I, z, z);
    expectClose(sym.output.data, [3.295888], { atol: 1e-6 });
    const [dI, dA, dL] = sym.backward(f64([1], [1, 1, 1, 1])) as Tensor[];
    expectClose(dI!.data, [0.363213, 0.203543, 0.024341, 0.408903], { atol: 1e-6 });
    expectClose(dL!.data, [0.323573], { atol: 1e-6 });
    expectClose(dA!.data, [-0.163835], { atol: 1e-6 });
    expectClose(detailPreservingPool2d(I, z, z, { reward: "asymmetric" }).data, [3.979032], { atol: 1e-6 });
    // λ = 10, α = 0.01 → 5.913627 (block max 6, mean 3)
    expectClose(detailPreservingPool2d(I, f64([Math.log(0.01)], [1]), f64([Math.log(10)], [1])).data, [5.913627], { atol: 1e-6 });
  });

  it("docs/methods/dpp.md, a 4×4 input: sym lite → [3.295888, 0, 5, 0], asym lite → [3.979032, 0, 5, 0.395824]", () => {
    const I = tensor([[[[1, 2, 0, 0], [3, 6, 0, 0], [5, 5, 1, -1], [5, 5, -1, 1]]]]);
    const z = zeros([1]);
    expectClose(detailPreservingPool2d(I, z, z).data, [3.295888, 0, 5, 0], { atol: 1e-5 });
    expectClose(detailPreservingPool2d(I, z, z, null, { reward: "asymmetric" }).data, [3.979032, 0, 5, 0.395824], { atol: 1e-5 });
    expectClose(detailPreservingPool2d(I, z, z, undefined, { reward: "asymmetric" }).data, [3.979032, 0, 5, 0.395824], { atol: 1e-5 });
  });

  it("large λ with small α tends to the most-deviating pixel: sym [0,0,0,−8] → −8", () => {
    const y = detailPreservingPool2d(f64([0, 0, 0, -8], [1, 1, 2, 2]), f64([-20], [1]), f64([Math.log(40)], [1]));
    expectClose(y.data, [-8], { atol: 1e-6 });
  });

  it("θα above 10 is clamped: same output as 10, zero gradient", () => {
    const x = distinctRandom([1, 1, 4, 4], 9);
    const l = f64([0.3], [1]);
    const a = detailPreservingPool2d.vjp(x, f64([12], [1]), l);
    expectClose(detailPreservingPool2d(x, f64([10], [1]), l).data, [...a.output.data], { atol: 0 });
    expect((a.backward(ones([1, 1, 2, 2]))[1] as Tensor).data[0]).toBe(0);
  });
});

describe("detailPreservingPool2d: gradcheck (float64)", () => {
  const x = distinctRandom([2, 2, 4, 6], 31, 3);
  const a = f64([0.2, -0.4], [2]);
  const l = f64([0.3, -0.5], [2]);
  const f = distinctRandom([2, 1, 3, 3], 32, 1);
  for (const reward of ["symmetric", "asymmetric"] as const) {
    it(`lite, ${reward}: x, alpha, lambda`, () => {
      gradcheck(([xi, ai, li]) => detailPreservingPool2d.vjp(xi as Tensor, ai as Tensor, li as Tensor, { reward }), [x, a, l]);
    });
    it(`full, ${reward}: x, alpha, lambda, filter`, () => {
      gradcheck(([xi, ai, li, fi]) => detailPreservingPool2d.vjp(xi as Tensor, ai as Tensor, li as Tensor, fi as Tensor, { reward }), [x, a, l, f]);
    });
  }
  it("unbatched, θα above the clamp (zero gradient agrees with finite differences)", () => {
    gradcheck(([xi, ai, li]) => detailPreservingPool2d.vjp(xi as Tensor, ai as Tensor, li as Tensor), [
      distinctRandom([2, 2, 4], 33, 2),
      f64([10.5, 0.1], [2]),
      f64([1.1, 0.2], [2]),
    ]);
  });
});

describe("detailPreservingPool2d: properties", () => {
  const arb = fc.record({
    seed: fc.integer({ min: 0, max: 1e6 }),
    thA: fc.double({ min: -5, max: 12, noNaN: true }),
    thL: fc.double({ min: -5, max: 3, noNaN: true }),
    asym: fc.boolean(),
    full: fc.boolean(),
  });

  it("the output is a convex combination of the block: within [min, max] of its 2×2 block", () => {
    fc.assert(
      fc.property(arb, ({ seed, thA, thL, asym, full: useFilter }) => {
        const x = distinctRandom([1, 1, 4, 6], seed, 10);
        const filt = distinctRandom([1, 1, 3, 3], seed + 1, 2);
        const opts = { reward: asym ? ("asymmetric" as const) : ("symmetric" as const) };
        const y = useFilter
          ? detailPreservingPool2d(x, f64([thA], [1]), f64([thL], [1]), filt, opts)
          : detailPreservingPool2d(x, f64([thA], [1]), f64([thL], [1]), opts);
        for (let bi = 0; bi < 2; bi++) {
          for (let bj = 0; bj < 3; bj++) {
            const blk = [0, 1, 6, 7].map((o) => x.data[2 * bi * 6 + 2 * bj + o] as number);
            const v = y.data[bi * 3 + bj] as number;
            expect(v).toBeGreaterThanOrEqual(Math.min(...blk) - 1e-12);
            expect(v).toBeLessThanOrEqual(Math.max(...blk) + 1e-12);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it("λ → 0 (θλ very negative) reduces to the block mean", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.double({ min: -3, max: 3, noNaN: true }), fc.boolean(), (seed, thA, asym) => {
        const x = distinctRandom([2, 4, 4], seed, 5);
        const y = detailPreservingPool2d(x, f64([thA, thA], [2]), f64([-40, -40], [2]), { reward: asym ? "asymmetric" : "symmetric" });
        const mean: number[] = [];
        for (let c = 0; c < 2; c++) {
          for (let bi = 0; bi < 2; bi++) {
            for (let bj = 0; bj < 2; bj++) {
              const o = c * 16 + 2 * bi * 4 + 2 * bj;
              mean.push(((x.data[o] as number) + (x.data[o + 1] as number) + (x.data[o + 4] as number) + (x.data[o + 5] as number)) / 4);
            }
          }
        }
        expectClose(y.data, mean, { atol: 1e-12, rtol: 1e-12 });
      }),
      { numRuns: 50 },
    );
  });

  it("a constant block returns its value for any parameters", () => {
    fc.assert(
      fc.property(fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: -5, max: 12, noNaN: true }), fc.double({ min: -5, max: 3, noNaN: true }), (v, thA, thL) => {
        const y = detailPreservingPool2d(full([1, 1, 2, 2], v, "float64"), f64([thA], [1]), f64([thL], [1]));
        expect(Math.abs((y.data[0] as number) - v)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(v)));
      }),
      { numRuns: 50 },
    );
  });
});

describe("detailPreservingPool2d audit: large λ does not overflow to NaN", () => {
  // Hand-worked limit (docs/methods/dpp.md "Forward": large λ with small α tends to the most-deviating pixel):
  // block [1, 2, 3, 6] has mean 3 and d = [−2, −1, 0, 3], so as λ = e^θλ → ∞ the weight
  // (q_j/q̄)^{λ/2} of the pixel 6 dominates every other weight and α: y → 6, ∂y/∂I → [0, 0, 0, 1],
  // ∂y/∂θα → 0, ∂y/∂θλ → 0. At θλ = 8 (λ ≈ 2981) the gaps are below 1e-300. (q/q̄)^{λ/2} ≤ 4^{λ/2}
  // used to overflow to ∞ there, giving y = ∞/∞ = NaN and NaN gradients.
  for (const dtype of ["float32", "float64"] as const) {
    for (const reward of ["symmetric", "asymmetric"] as const) {
      it(`${dtype} ${reward}: θλ = 8 gives the most-deviating pixel and finite gradients`, () => {
        const x = tensor([1, 2, 3, 6], [1, 1, 2, 2], dtype);
        const { output, backward } = detailPreservingPool2d.vjp(x, tensor([0], [1], dtype), tensor([8], [1], dtype), { reward });
        expectClose(output.data, [6], { atol: 1e-12, rtol: 0 });
        const [dx, dA, dL] = backward(tensor([1], [1, 1, 1, 1], dtype)) as [Tensor, Tensor, Tensor];
        expectClose(dx.data, [0, 0, 0, 1], { atol: 1e-12, rtol: 0 });
        expectClose(dA.data, [0], { atol: 1e-12, rtol: 0 });
        expectClose(dL.data, [0], { atol: 1e-12, rtol: 0 });
      });
    }
  }
  it("a constant block stays its value at θλ = 8 (all weights equal)", () => {
    const y = detailPreservingPool2d(tensor([2.5, 2.5, 2.5, 2.5], [1, 1, 2, 2], "float64"), tensor([0], [1], "float64"), tensor([8], [1], "float64"));
    expectClose(y.data, [2.5], { atol: 1e-12, rtol: 0 });
  });
});
