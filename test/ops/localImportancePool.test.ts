import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { localImportancePool2d } from "../../src/ops/localImportancePool.js";
import { softPool2d } from "../../src/ops/softPool.js";
import { exampleInputs, getPool } from "../../src/registry.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, zeros, type Tensor } from "../../src/tensor/tensor.js";
import type { DType } from "../../src/tensor/dtype.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";
import { expected, fromJSON, loadFixture, type TensorJSON } from "../helpers/fixtures.js";

interface Case {
  options: Record<string, unknown>;
  x: TensorJSON;
  logits: TensorJSON;
  y: TensorJSON;
  dy: TensorJSON;
  dx: TensorJSON;
  dlogits: TensorJSON;
}

/** Pad-excluded average pooling by hand (the independent reference for zero logits). */
function avgExcludePad(x: ArrayLike<number>, H: number, W: number, k: number, s: number, p: number): number[] {
  const oh = Math.floor((H + 2 * p - k) / s) + 1;
  const ow = Math.floor((W + 2 * p - k) / s) + 1;
  const out: number[] = [];
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      let sum = 0;
      let n = 0;
      for (let a = i * s - p; a < i * s - p + k; a++) {
        for (let b = j * s - p; b < j * s - p + k; b++) {
          if (a < 0 || a >= H || b < 0 || b >= W) continue;
          sum += x[a * W + b] as number;
          n++;
        }
      }
      out.push(sum / n);
    }
  }
  return out;
}

describe("localImportancePool2d: shape / smoke", () => {
  it("k3/s2/p1 defaults give ⌈H/2⌉ (56 → 28, 7 → 4); batched, unbatched, both dtypes", () => {
    expect(localImportancePool2d.outputShape([1, 4, 56, 56])).toEqual([1, 4, 28, 28]);
    expect(localImportancePool2d.outputShape([1, 4, 7, 7])).toEqual([1, 4, 4, 4]);
    expect(localImportancePool2d.outputShape([3, 6, 8], { kernelSize: 2, stride: 2, padding: 0 })).toEqual([3, 3, 4]);
    for (const dtype of ["float32", "float64"] as DType[]) {
      for (const shape of [[2, 3, 7, 6], [3, 7, 6]]) {
        const x = tensor(distinctRandom(shape, 2).data, shape, dtype);
        const l = tensor(distinctRandom(shape, 3).data, shape, dtype);
        const { output, backward } = localImportancePool2d.vjp(x, l);
        expect(output.dtype).toBe(dtype);
        expect([...output.shape]).toEqual(localImportancePool2d.outputShape(shape));
        const g = backward(tensor(new Float64Array(output.size).fill(1), output.shape, "float64"));
        expect(g.length).toBe(2);
        expect([...(g[1] as Tensor).shape]).toEqual(shape);
        expect((g[0] as Tensor).dtype).toBe(dtype);
      }
    }
  });

  it("registry: LIP, alias local-importance, logits input built from the descriptor", () => {
    const m = getPool("local-importance");
    expect(getPool("LIP")).toBe(m);
    expect(m.inputs.map((i) => i.name)).toEqual(["logits"]);
    const x = distinctRandom([2, 3, 16, 16], 4);
    const extra = exampleInputs(m, x, new Generator(1), m.defaults as Record<string, unknown>);
    const y = (m.ops[2] as typeof localImportancePool2d)(x, extra[0] as Tensor, m.defaults);
    expect([...y.shape]).toEqual(m.outputShape(x.shape, m.defaults as Record<string, unknown>));
  });

  it("does not mutate its inputs", () => {
    const x = distinctRandom([1, 2, 5, 5], 5);
    const l = distinctRandom([1, 2, 5, 5], 6);
    const bx = Array.from(x.data);
    const bl = Array.from(l.data);
    const { output, backward } = localImportancePool2d.vjp(x, l);
    backward(tensor(new Float64Array(output.size).fill(1), output.shape, "float64"));
    expect(Array.from(x.data)).toEqual(bx);
    expect(Array.from(l.data)).toEqual(bl);
  });
});

describe("localImportancePool2d: errors", () => {
  const x = zeros([1, 2, 4, 4]);
  it("logits must match x's shape and dtype", () => {
    expect(() => localImportancePool2d(x, zeros([1, 1, 4, 4]))).toThrow(
      "localImportancePool2d: logits must have shape [1, 2, 4, 4], got [1, 1, 4, 4]",
    );
    expect(() => localImportancePool2d(x, zeros([2, 4, 4]))).toThrow("localImportancePool2d: logits must have shape [1, 2, 4, 4], got [2, 4, 4]");
    expect(() => localImportancePool2d(x, zeros([1, 2, 4, 4], "float64"))).toThrow(
      "localImportancePool2d: logits must have x's dtype float32, got float64",
    );
    expect(() => localImportancePool2d(x, [1, 2] as never)).toThrow("localImportancePool2d: logits must be a Tensor, got [1, 2]");
  });
  it("bad options", () => {
    expect(() => localImportancePool2d(x, x, { kernelSize: 2, padding: 2 })).toThrow(
      "localImportancePool2d: padding must be at most half the kernel size, got padding 2 for kernelSize 2",
    );
    expect(() => localImportancePool2d(x, x, { kernel_size: 3 } as never)).toThrow(
      'localImportancePool2d: unknown option "kernel_size"; known options: kernelSize, stride, padding',
    );
    expect(() => localImportancePool2d(x, x, { stride: 0 })).toThrow("localImportancePool2d: stride must be positive integers, got 0");
    expect(() => localImportancePool2d(zeros([4, 4]), zeros([4, 4]))).toThrow(
      "localImportancePool2d: x must have shape [N, C, H, W] or [C, H, W], got [4, 4]",
    );
  });
});

describe("localImportancePool2d: values", () => {
  const fx = loadFixture<Case>("weighted_lip.json");
  for (const dtype of ["float32", "float64"] as DType[]) {
    it(`matches the PyTorch primitive-path fixtures in ${dtype}`, () => {
      const tol = tolFor(dtype);
      expect(fx.cases.length).toBe(4);
      fx.cases.forEach((c, i) => {
        const { output, backward } = localImportancePool2d.vjp(fromJSON(c.x, dtype), fromJSON(c.logits, dtype), c.options);
        const e = expected(c.y);
        expect([...output.shape]).toEqual(e.shape);
        expectClose(output.data, e.data, tol, `case ${i} y`);
        const [dx, dl] = backward(fromJSON(c.dy, dtype)) as [Tensor, Tensor];
        expectClose(dx.data, expected(c.dx).data, tol, `case ${i} dx`);
        expectClose(dl.data, expected(c.dlogits).data, tol, `case ${i} dlogits`);
      });
    });
  }

  it("spec: arange(16) with zero logits → [2.5, 4, 8.5, 10] (pad-excluded, not [1.111, 2.667, 5.667, 10])", () => {
    const x = tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);
    expectClose(localImportancePool2d(x, zeros([1, 1, 4, 4])).data, [2.5, 4, 8.5, 10], { atol: 1e-6 });
  });

  it("spec: 2×2 window x = [1,2,3,4], L = [0,1,2,0.5] → y and both gradients", () => {
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2], "float64");
    const l = tensor([0, 1, 2, 0.5], [1, 1, 2, 2], "float64");
    const { output, backward } = localImportancePool2d.vjp(x, l, { kernelSize: 2, stride: 2, padding: 0 });
    expectClose(output.data, [2.759364], { atol: 2e-6 });
    const [dx, dl] = backward(tensor([1], [1, 1, 1, 1], "float64")) as [Tensor, Tensor];
    expectClose(dx.data, [0.078394, 0.213097, 0.579259, 0.12925], { atol: 1e-6 });
    expectClose(dl.data, [-0.137924, -0.161818, 0.13939, 0.160352], { atol: 1e-6 });
  });

  it("huge logits stay finite (max-subtraction), and logits = x gives SoftPool", () => {
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2], "float32");
    const y = localImportancePool2d(x, tensor([5000, 4000, 1, 0], [1, 1, 2, 2], "float32"), { kernelSize: 2, stride: 2, padding: 0 });
    expectClose(y.data, [1], { atol: 0 });
    const z = distinctRandom([2, 3, 7, 7], 8, 4);
    const lip = localImportancePool2d(z, z);
    const soft = softPool2d(z, { kernelSize: 3, stride: 2, padding: 1 });
    expectClose(lip.data, soft.data, { atol: 1e-14 }); // .data read after both calls (views may move)
  });
});

describe("localImportancePool2d: gradcheck (float64)", () => {
  it("x and logits, overlapping windows with padding", () => {
    const x = distinctRandom([2, 2, 5, 6], 21, 2);
    const l = distinctRandom([2, 2, 5, 6], 22, 3);
    gradcheck(([a, b]) => localImportancePool2d.vjp(a as Tensor, b as Tensor), [x, l]);
    gradcheck(([a, b]) => localImportancePool2d.vjp(a as Tensor, b as Tensor, { kernelSize: [2, 3], stride: 1, padding: [1, 0] }), [
      distinctRandom([3, 4, 4], 23, 2),
      distinctRandom([3, 4, 4], 24, 5),
    ]);
  });
});

describe("localImportancePool2d: properties", () => {
  it("zero logits equal pad-excluded average pooling", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 1e6 }),
        (H, W, k, s, p, seed) => {
          fc.pre(p <= Math.floor(k / 2) && H + 2 * p >= k && W + 2 * p >= k);
          const x = distinctRandom([1, 1, H, W], seed, 3);
          const y = localImportancePool2d(x, zeros([1, 1, H, W], "float64"), { kernelSize: k, stride: s, padding: p });
          expectClose(y.data, avgExcludePad(x.data, H, W, k, s, p), { atol: 1e-12, rtol: 1e-12 });
        },
      ),
      { numRuns: 100 },
    );
  });

  it("a constant added to all logits changes nothing; dlogits sums to 0 per window", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.double({ min: -300, max: 300, noNaN: true }), (seed, c) => {
        const x = distinctRandom([1, 2, 6, 6], seed, 2);
        const l = distinctRandom([1, 2, 6, 6], seed + 1, 4);
        const l2 = tensor(Array.from(l.data, (v) => v + c), l.shape, "float64");
        const a = localImportancePool2d(x, l, { kernelSize: 2, stride: 2, padding: 0 });
        const b = localImportancePool2d.vjp(x, l2, { kernelSize: 2, stride: 2, padding: 0 });
        expectClose(b.output.data, a.data, { atol: 1e-12, rtol: 1e-12 });
        const dl = b.backward(tensor(new Float64Array(18).fill(1), [1, 2, 3, 3], "float64"))[1] as Tensor;
        let sum = 0;
        for (const v of dl.data) sum += v;
        expect(Math.abs(sum)).toBeLessThan(1e-10);
      }),
      { numRuns: 40 },
    );
  });
});

describe("localImportancePool2d audit: float32 logit gradient at large x", () => {
  // Reference: torch 1.13 float64 autograd of y = Σ softmax(L)·x with x = [5000, 5001, 4999, 5002],
  // L = [0, 1, 2, 0.5]: y = 4999.892338871454,
  // dx = [0.07839411721683971, 0.21309730428862375, 0.5792585299413737, 0.12925004855316274],
  // dL = [0.008439999130945659, 0.23603960055848347, -0.5168949028878903, 0.27241530319820617].
  // dL = w·(x − y) used to take the float32-rounded y, off by up to ulp(5000)/2 ≈ 2.4e-4.
  it("float32 dlogits match the float64 reference to float32 precision", () => {
    const x = tensor([5000, 5001, 4999, 5002], [1, 1, 2, 2], "float32");
    const L = tensor([0, 1, 2, 0.5], [1, 1, 2, 2], "float32");
    const { output, backward } = localImportancePool2d.vjp(x, L, { kernelSize: 2, stride: 2, padding: 0 });
    expectClose(output.data, [4999.892338871454], tolFor("float32"));
    const [dx, dL] = backward(tensor([1], [1, 1, 1, 1], "float32")) as [Tensor, Tensor];
    expectClose(dx.data, [0.07839411721683971, 0.21309730428862375, 0.5792585299413737, 0.12925004855316274], { rtol: 1e-6, atol: 1e-7 });
    expectClose(dL.data, [0.008439999130945659, 0.23603960055848347, -0.5168949028878903, 0.27241530319820617], { rtol: 1e-5, atol: 1e-6 });
  });
});
