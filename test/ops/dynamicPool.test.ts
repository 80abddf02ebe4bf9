import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { dynamicPool2d, dynamicPoolCost } from "../../src/ops/dynamicPool.js";
import { dynamicPoolForward } from "../../src/kernels/region.js";
import { exampleInputs, getPool } from "../../src/registry.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, zeros, type Tensor } from "../../src/tensor/tensor.js";
import type { DType } from "../../src/tensor/dtype.js";
import type { VJP } from "../../src/op.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";
import { expected, fromJSON, loadFixture, type TensorJSON } from "../helpers/fixtures.js";

interface Case {
  x: TensorJSON;
  r: TensorJSON;
  delta: TensorJSON | null;
  y: TensorJSON;
  dy: TensorJSON;
  dx: TensorJSON;
  dr: TensorJSON;
  ddelta: TensorJSON | null;
  maxPool?: TensorJSON;
}

const f64 = (v: number[], shape: number[]) => tensor(v, shape, "float64");
const arange16 = () => tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4], "float64");

/** MaxPool2d(2, 2) by hand, with PyTorch's first-maximum index for the gradient. */
function maxPool2x2(x: ArrayLike<number>, planes: number, H: number, W: number): { y: number[]; arg: number[] } {
  const y: number[] = [];
  const arg: number[] = [];
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < H / 2; i++) {
      for (let j = 0; j < W / 2; j++) {
        let best = -Infinity;
        let bi = -1;
        for (const [a, b] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
          const k = p * H * W + (2 * i + a) * W + 2 * j + b;
          if ((x[k] as number) > best) {
            best = x[k] as number;
            bi = k;
          }
        }
        y.push(best);
        arg.push(bi);
      }
    }
  }
  return { y, arg };
}

describe("dynamicPool2d: shape / smoke", () => {
  it("output size max(1, round(H / r)) per axis, halves up; batched and unbatched; both dtypes", () => {
    expect(dynamicPool2d.outputShape([2, 3, 16, 16], f64([2, 2], [2]))).toEqual([2, 3, 8, 8]);
    expect(dynamicPool2d.outputShape([3, 5, 7], [2, 2])).toEqual([3, 3, 4]); // 2.5 → 3, 3.5 → 4
    expect(dynamicPool2d.outputShape([1, 1, 4, 4], [100, 0.5])).toEqual([1, 1, 1, 8]);
    expect(dynamicPool2d.outputShape([1, 1, 9, 10], 3)).toEqual([1, 1, 3, 3]);
    for (const dtype of ["float32", "float64"] as DType[]) {
      for (const shape of [[2, 3, 9, 10], [3, 9, 10]]) {
        const x = tensor(distinctRandom(shape, 1).data, shape, dtype);
        const r = tensor([1.7, 2.3], [2], dtype);
        const d = tensor([0.2, 0.3], [2], dtype);
        const { output, backward } = dynamicPool2d.vjp(x, r, d);
        expect(output.dtype).toBe(dtype);
        expect([...output.shape]).toEqual(dynamicPool2d.outputShape(shape, r));
        const g = backward(tensor(new Float64Array(output.size).fill(1), output.shape, "float64"));
        expect(g.map((t) => (t ? [...t.shape] : null))).toEqual([shape, [2], [2]]);
        expect((g[1] as Tensor).dtype).toBe(dtype);
        // Without delta: the offsets are the derived 0.25 and the delta gradient is null.
        const noDelta = dynamicPool2d.vjp(x, r);
        expect(noDelta.backward(tensor(new Float64Array(output.size).fill(1), output.shape, "float64"))[2]).toBeNull();
        expectClose(dynamicPool2d(x, r, tensor([0.25, 0.25], [2], dtype)).data, [...noDelta.output.data], { atol: 0 });
      }
    }
  });

  it("registry: DynOPool (alias dynamic); inputs r = 2 and delta = 0.25; outputShape at the initial r or options.r", () => {
    const m = getPool("dynamic");
    expect(getPool("DynOPool")).toBe(m);
    expect(m.learnable).toEqual(["r", "delta"]);
    const x = distinctRandom([2, 3, 16, 16], 2);
    const [r, d] = exampleInputs(m, x, new Generator(1), m.defaults as Record<string, unknown>) as [Tensor, Tensor];
    expect(Array.from(r.data)).toEqual([2, 2]);
    expect(Array.from(d.data)).toEqual([0.25, 0.25]);
    const y = (m.ops[2] as typeof dynamicPool2d)(x, r, d, m.defaults);
    expect([...y.shape]).toEqual(m.outputShape(x.shape, m.defaults as Record<string, unknown>));
    expect(m.outputShape(x.shape, { r: [4, 1.6] })).toEqual([2, 3, 4, 10]);
  });

  it("does not mutate its inputs", () => {
    const x = distinctRandom([1, 2, 6, 6], 3);
    const r = f64([1.5, 1.5], [2]);
    const d = f64([0.2, 0.3], [2]);
    const snap = [x, r, d].map((t) => Array.from(t.data));
    const { output, backward } = dynamicPool2d.vjp(x, r, d);
    backward(tensor(new Float64Array(output.size).fill(1), output.shape, "float64"));
    expect([x, r, d].map((t) => Array.from(t.data))).toEqual(snap);
  });
});

describe("dynamicPool2d: errors", () => {
  const x = zeros([1, 2, 4, 4]);
  it("bad r, delta and options", () => {
    expect(() => dynamicPool2d(x, zeros([3]))).toThrow("dynamicPool2d: r must have shape [2], got [3]");
    expect(() => dynamicPool2d(x, tensor([0, 2], [2]))).toThrow("dynamicPool2d: r must be finite scale factors >= 1/16, got [0, 2]");
    expect(() => dynamicPool2d(x, tensor([2, NaN], [2]))).toThrow("dynamicPool2d: r must be finite scale factors >= 1/16, got [2, NaN]");
    expect(() => dynamicPool2d(x, [2, 2] as never)).toThrow("dynamicPool2d: r must be a Tensor of shape [2], got [2, 2]");
    expect(() => dynamicPool2d(x, tensor([2, 2], [2], "float64"))).toThrow("dynamicPool2d: r must have x's dtype float32, got float64");
    expect(() => dynamicPool2d(x, tensor([2, 2], [2]), zeros([1, 2]))).toThrow("dynamicPool2d: delta must have shape [2], got [1, 2]");
    expect(() => dynamicPool2d(x, tensor([2, 2], [2]), tensor([0.25, Infinity], [2]))).toThrow(
      "dynamicPool2d: delta must be finite, got [0.25, Infinity]",
    );
    expect(() => dynamicPool2d(x, tensor([2, 2], [2]), null, { r: 2 } as never)).toThrow('dynamicPool2d: takes no options, got unknown option "r"');
    expect(() => dynamicPool2d(zeros([4, 4]), tensor([2, 2], [2]))).toThrow("dynamicPool2d: x must have shape [N, C, H, W] or [C, H, W], got [4, 4]");
  });
  it("dynamicPoolCost: bad options", () => {
    const r = tensor([2, 2], [2]);
    expect(() => dynamicPoolCost(r, {} as never)).toThrow("dynamicPoolCost: inputShape is required");
    expect(() => dynamicPoolCost(r, { inputShape: [4] })).toThrow("dynamicPoolCost: inputShape must be [N, C, H, W], [C, H, W] or [H, W] of positive integers, got [4]");
    expect(() => dynamicPoolCost(r, { inputShape: [8, 8], budget: 0 })).toThrow("dynamicPoolCost: budget must be > 0, got 0");
    expect(() => dynamicPoolCost(r, { inputShape: [8, 8], flopsPerPixel: -1 })).toThrow("dynamicPoolCost: flopsPerPixel must be >= 0, got -1");
    expect(() => dynamicPoolCost(tensor([2, -1], [2]), { inputShape: [8, 8] })).toThrow("dynamicPoolCost: r must be finite scale factors >= 1/16, got [2, -1]");
  });
});

describe("dynamicPool2d: values", () => {
  const fx = loadFixture<Case>("weighted_dynopool.json");
  for (const dtype of ["float32", "float64"] as DType[]) {
    it(`matches the PyTorch reconstruction fixtures in ${dtype} (y, dx, dr straight-through, ddelta)`, () => {
      const tol = tolFor(dtype);
      expect(fx.cases.length).toBe(5);
      fx.cases.forEach((c, i) => {
        const x = fromJSON(c.x, dtype);
        const v = dynamicPool2d.vjp(x, fromJSON(c.r, dtype), c.delta ? fromJSON(c.delta, dtype) : null);
        const e = expected(c.y);
        expect([...v.output.shape]).toEqual(e.shape);
        expectClose(v.output.data, e.data, tol, `case ${i} y`);
        if (c.maxPool) expectClose(v.output.data, expected(c.maxPool).data, { atol: 0, rtol: 0 }, `case ${i} = max_pool2d`);
        const g = v.backward(fromJSON(c.dy, dtype));
        expectClose((g[0] as Tensor).data, expected(c.dx).data, tol, `case ${i} dx`);
        // dr sums over every output: allow for the float32 accumulation of many terms.
        const rtol = dtype === "float32" ? { atol: 1e-4, rtol: 1e-4 } : tol;
        expectClose((g[1] as Tensor).data, expected(c.dr).data, rtol, `case ${i} dr`);
        if (c.ddelta) expectClose((g[2] as Tensor).data, expected(c.ddelta).data, rtol, `case ${i} ddelta`);
        else expect(g[2]).toBeNull();
      });
    });
  }

  it("docs/methods/dynopool.md reconstruction values on arange(16): r = (2,2), (1.5,1.5), (2,1)", () => {
    expectClose(dynamicPool2d(arange16(), f64([2, 2], [2])).data, [5, 7, 13, 15], { atol: 0 });
    const y15 = dynamicPool2d(arange16(), f64([1.5, 1.5], [2]));
    expect([...y15.shape]).toEqual([1, 1, 3, 3]);
    expectClose(y15.data, [2.5, 3.8333, 5, 7.8333, 9.1667, 10.3333, 12.5, 13.8333, 15], { atol: 5e-5 });
    const y21 = dynamicPool2d(arange16(), f64([2, 1], [2]));
    expect([...y21.shape]).toEqual([1, 1, 2, 4]);
    expectClose(y21.data, [4.25, 5.25, 6.25, 7, 12.25, 13.25, 14.25, 15], { atol: 1e-12 });
  });

  it("dynamicPoolCost: (H/r_h)(W/r_w)·flopsPerPixel, gradient −cost/r, budget hinge", () => {
    const c = dynamicPoolCost.vjp(f64([2, 4], [2]), { inputShape: [1, 64, 32, 32], flopsPerPixel: 3 });
    expect(c.output.shape).toEqual([]);
    expectClose(c.output.data, [3 * 16 * 8], { atol: 1e-12 });
    expectClose((c.backward(f64([1], []))[0] as Tensor).data, [-384 / 2, -384 / 4], { atol: 1e-12 });
    const over = dynamicPoolCost.vjp(f64([2, 2], [2]), { inputShape: [32, 32], budget: 128 });
    expectClose(over.output.data, [1], { atol: 1e-12 }); // (256 − 128) / 128
    expectClose((over.backward(f64([1], []))[0] as Tensor).data, [-1, -1], { atol: 1e-12 });
    const under = dynamicPoolCost.vjp(f64([4, 4], [2]), { inputShape: [32, 32], budget: 128 });
    expectClose(under.output.data, [0], { atol: 0 });
    expectClose((under.backward(f64([1], []))[0] as Tensor).data, [0, 0], { atol: 0 });
  });
});

describe("dynamicPool2d: gradcheck (float64)", () => {
  it("x and delta, away from ties and integer query coordinates", () => {
    // r's own gradient is checked below with the grid held fixed; here inputs 0 (x) and 2 (delta).
    const run = ([xi, ri, di]: Tensor[]) => dynamicPool2d.vjp(xi as Tensor, ri as Tensor, di as Tensor);
    gradcheck(run, [distinctRandom([2, 2, 9, 10], 41, 3), f64([1.7, 2.3], [2]), f64([0.21, 0.27], [2])], { check: [0, 2] });
    gradcheck(run, [distinctRandom([1, 2, 5, 9], 42, 3), f64([0.8, 3.1], [2]), f64([0.15, 0.35], [2])], { check: [0, 2] });
  });

  it("r: the straight-through gradient equals the derivative in r̂ with the grid held fixed", () => {
    // H/r and W/r are integers here, so r̂ = r at the base point; finite differences move r̂ while
    // keeping H_out, W_out fixed (what the rounding's straight-through estimator differentiates).
    for (const [shape, rv, dv] of [
      [[2, 2, 6, 10], [1.5, 2.5], [0.21, 0.27]],
      [[1, 3, 9, 8], [2.25, 1.6], [0.3, 0.12]],
    ] as [number[], number[], number[]][]) {
      const x0 = distinctRandom(shape, 43, 3);
      const [H, W] = shape.slice(-2) as [number, number];
      const outH = Math.round(H / rv[0]!);
      const outW = Math.round(W / rv[1]!);
      const planes = shape[0]! * shape[1]!;
      const run = ([x, r, d]: Tensor[]): VJP<Tensor> => {
        const op = dynamicPool2d.vjp(x as Tensor, r as Tensor, d as Tensor);
        const y = new Float64Array(planes * outH * outW);
        const geo = Float64Array.of(r!.data[0]!, r!.data[1]!, d!.data[0]!, d!.data[1]!);
        dynamicPoolForward(x!.data as Float64Array, y, new Int32Array(y.length), planes, H, W, outH, outW, geo);
        return { output: tensor(y, op.output.shape, "float64"), backward: op.backward };
      };
      const base = run([x0, f64(rv, [2]), f64(dv, [2])]);
      expectClose(dynamicPool2d(x0, f64(rv, [2]), f64(dv, [2])).data, [...base.output.data], { atol: 0 });
      gradcheck(run, [x0, f64(rv, [2]), f64(dv, [2])], { check: [1] });
    }
  });

  it("dynamicPoolCost gradient", () => {
    gradcheck(([r]) => dynamicPoolCost.vjp(r as Tensor, { inputShape: [2, 4, 20, 30], flopsPerPixel: 0.5 }), [f64([1.7, 2.6], [2])]);
    gradcheck(([r]) => dynamicPoolCost.vjp(r as Tensor, { inputShape: [20, 30], budget: 50 }), [f64([1.7, 2.6], [2])]);
  });
});

describe("dynamicPool2d: properties", () => {
  it("r = (2, 2) with the default delta is exactly MaxPool2d(2, 2), gradient included", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1e6 }), fc.constantFrom<DType>("float32", "float64"), (h, w, seed, dtype) => {
        const H = 2 * h;
        const W = 2 * w;
        const x = tensor(distinctRandom([2, 2, H, W], seed, 10).data, [2, 2, H, W], dtype);
        const { output, backward } = dynamicPool2d.vjp(x, tensor([2, 2], [2], dtype));
        const ref = maxPool2x2(x.data, 4, H, W);
        expect(Array.from(output.data)).toEqual(ref.y);
        const dyv = Array.from({ length: output.size }, (_, i) => i + 1);
        const dx = backward(tensor(dyv, output.shape, dtype))[0] as Tensor;
        const want = new Array<number>(x.size).fill(0);
        ref.arg.forEach((k, o) => (want[k] = (want[k] as number) + (dyv[o] as number)));
        expect(Array.from(dx.data)).toEqual(want);
      }),
      { numRuns: 60 },
    );
  });

  it("outputs lie within [min, max] of the input plane, and outputShape matches the forward for any r", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.double({ min: 0.3, max: 6, noNaN: true }),
        fc.double({ min: 0.3, max: 6, noNaN: true }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 1e6 }),
        (H, W, rh, rw, dl, seed) => {
          const x = distinctRandom([1, H, W], seed, 4);
          const r = f64([rh, rw], [2]);
          const y = dynamicPool2d(x, r, f64([dl, -dl], [2]));
          expect([...y.shape]).toEqual(dynamicPool2d.outputShape([1, H, W], r));
          const mn = Math.min(...x.data);
          const mx = Math.max(...x.data);
          for (const v of y.data) {
            expect(v).toBeGreaterThanOrEqual(mn - 1e-12);
            expect(v).toBeLessThanOrEqual(mx + 1e-12);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
