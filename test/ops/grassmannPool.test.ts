import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { grassmannCompactPool, grassmannPool } from "../../src/ops/grassmannPool.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { expected, fromJSON, loadFixture } from "../helpers/fixtures.js";
import { gradcheck } from "../helpers/gradcheck.js";

function randomT(shape: number[], seed: number, dtype: "float32" | "float64" = "float64"): Tensor {
  const gen = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Array.from({ length: n }, () => gen.normal()), shape, dtype);
}
const diag321 = (): Tensor => tensor([3, 0, 0, 0, 2, 0, 0, 0, 1], [1, 3, 1, 3], "float64");

describe("grassmannPool: shape / smoke", () => {
  it("[N, C, C] projector and [N, d] compact descriptor in both dtypes; outputShape agrees", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const x = randomT([2, 4, 3, 3], 1, dtype);
      const p = grassmannPool(x, { k: 2 });
      expect(p.shape).toEqual([2, 4, 4]);
      expect(p.dtype).toBe(dtype);
      expect(grassmannPool.outputShape(x.shape, { k: 2 })).toEqual([2, 4, 4]);
      const z = grassmannCompactPool(x, randomT([4, 5], 2, dtype), { k: 2 });
      expect(z.shape).toEqual([2, 5]);
      expect(grassmannCompactPool.outputShape(x.shape, [4, 5], { k: 2 })).toEqual([2, 5]);
    }
  });
  it("backward may be called twice and leaves inputs untouched", () => {
    const x = randomT([1, 3, 2, 2], 4);
    const w = randomT([3, 2], 5);
    const xs = Array.from(x.data);
    const { backward } = grassmannCompactPool.vjp(x, w, { k: 1 });
    const dy = tensor([1, -1], [1, 2], "float64");
    const [a, b] = backward(dy);
    const [a2, b2] = backward(dy);
    expect(Array.from(a!.data)).toEqual(Array.from(a2!.data));
    expect(Array.from(b!.data)).toEqual(Array.from(b2!.data));
    expect(Array.from(x.data)).toEqual(xs);
  });
});

describe("grassmannPool: ties", () => {
  it("an all-zero map (every eigenvalue tied) gives a finite rank-k projector and a zero gradient", () => {
    const x = tensor(new Float64Array(12), [1, 3, 2, 2], "float64");
    const { output, backward } = grassmannPool.vjp(x, { k: 2 });
    let tr = 0;
    for (let i = 0; i < 3; i++) tr += output.data[i * 4] as number;
    expect(tr).toBeCloseTo(2, 12);
    const dx = backward(tensor(Array.from({ length: 9 }, (_, i) => i), [1, 3, 3], "float64"))[0]!;
    expect(Array.from(dx.data)).toEqual(new Array(12).fill(0));
  });
});

describe("grassmannPool: errors", () => {
  const x = randomT([1, 3, 1, 2], 1);
  it("rejects k beyond the rank limit, missing k, bad w and wrong ranks", () => {
    expect(() => grassmannPool(x, { k: 3 })).toThrow("grassmannPool: k must be at most min(C, H·W) = 2 (the rank limit of the 3 × 2 feature matrix), got k 3");
    expect(() => grassmannPool(randomT([1, 2, 2, 2], 1), { k: 3 })).toThrow("grassmannPool: k must be at most min(C, H·W) = 2");
    expect(() => grassmannPool(x, {} as never)).toThrow("grassmannPool: k is required (the subspace dimension)");
    expect(() => grassmannPool(x, { k: 0 })).toThrow("grassmannPool: k must be an integer and >= 1, got 0");
    expect(() => grassmannPool(x, { k: 1.5 })).toThrow("grassmannPool: k must be an integer and >= 1, got 1.5");
    expect(() => grassmannPool(x, { k: 1, rank: 2 } as never)).toThrow('grassmannPool: unknown option "rank"');
    expect(() => grassmannPool(randomT([3, 1, 2], 1), { k: 1 })).toThrow("grassmannPool: x must have shape [N, C, H, W], got [3, 1, 2]");
    expect(() => grassmannCompactPool(x, randomT([2, 4], 1), { k: 1 })).toThrow("grassmannCompactPool: w must have shape [C, d] = [3, d] with d ≥ 1, got [2, 4]");
    expect(() => grassmannCompactPool(x, randomT([3], 1), { k: 1 })).toThrow("grassmannCompactPool: w must have shape [C, d] = [3, d] with d ≥ 1, got [3]");
  });
  it("grassmannCompactPool.outputShape rejects the w shapes the forward pass rejects (it used to return [N, d] for them)", () => {
    expect(() => grassmannCompactPool.outputShape([1, 3, 1, 2], [2, 4], { k: 1 })).toThrow("grassmannCompactPool: w must have shape [C, d] = [3, d] with d ≥ 1, got [2, 4]");
    expect(() => grassmannCompactPool.outputShape([1, 3, 1, 2], [3], { k: 1 })).toThrow("grassmannCompactPool: w must have shape [C, d] = [3, d] with d ≥ 1, got [3]");
    expect(grassmannCompactPool.outputShape([1, 3, 1, 2], [3, 4], { k: 1 })).toEqual([1, 4]);
  });
});

describe("grassmannPool: values", () => {
  it("spec worked example: X = diag(3, 2, 1), k = 2 → P = diag(1, 1, 0); w = [1, 1, 1] → z = 2", () => {
    expectClose(grassmannPool(diag321(), { k: 2 }).data, [1, 0, 0, 0, 1, 0, 0, 0, 0], { atol: 1e-14 });
    expectClose(grassmannCompactPool(diag321(), tensor([[1], [1], [1]], [3, 1], "float64"), { k: 2 }).data, [2], { atol: 1e-14 });
  });
  const fx = loadFixture("downstream_grassmann.json");
  for (const dtype of ["float32", "float64"] as const) {
    it(`matches the PyTorch SVD reference (output and autograd gradients) in ${dtype}: ${fx.cases.length} cases`, () => {
      const tol = tolFor(dtype);
      for (const c of fx.cases) {
        const x = fromJSON(c.x, dtype);
        if (c.op === "projector") {
          const { output, backward } = grassmannPool.vjp(x, { k: c.k });
          expectClose(output.data, expected(c.y).data, tol, `${c.name} y`);
          expectClose(backward(fromJSON(c.dy, dtype))[0]!.data, expected(c.dx).data, tol, `${c.name} dx`);
        } else {
          const { output, backward } = grassmannCompactPool.vjp(x, fromJSON(c.w, dtype), { k: c.k });
          expectClose(output.data, expected(c.y).data, tol, `${c.name} y`);
          const [dx, dw] = backward(fromJSON(c.dy, dtype));
          expectClose(dx!.data, expected(c.dx).data, tol, `${c.name} dx`);
          expectClose(dw!.data, expected(c.dw).data, tol, `${c.name} dw`);
        }
      }
    });
  }
});

describe("grassmannPool: gradcheck", () => {
  for (const k of [1, 2, 3]) {
    it(`float64 finite differences for x (projector, k = ${k})`, () => {
      gradcheck(([t]) => grassmannPool.vjp(t!, { k }), [randomT([2, 4, 2, 3], 10 + k)]);
    });
  }
  it("float64 finite differences for x and w (compact descriptor)", () => {
    gradcheck(([t, w]) => grassmannCompactPool.vjp(t!, w!, { k: 2 }), [randomT([2, 4, 2, 2], 21), randomT([4, 3], 22)]);
  });
});

describe("grassmannPool: properties", () => {
  it("P is a symmetric idempotent of trace k, invariant to scaling X and to permuting locations", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.nat(), fc.double({ min: 0.1, max: 10, noNaN: true }), (c, m, seed, s) => {
        const k = 1 + (seed % Math.min(c, m));
        const x = randomT([1, c, 1, m], seed);
        const p = [...grassmannPool(x, { k }).data]; // a copy: later op calls may move the view
        let tr = 0;
        for (let i = 0; i < c; i++) {
          tr += p[i * c + i] as number;
          for (let j = 0; j < c; j++) {
            expect(Math.abs((p[i * c + j] as number) - (p[j * c + i] as number))).toBeLessThan(1e-12);
            let pp = 0;
            for (let t = 0; t < c; t++) pp += (p[i * c + t] as number) * (p[t * c + j] as number);
            expect(Math.abs(pp - (p[i * c + j] as number))).toBeLessThan(1e-10);
          }
        }
        expect(Math.abs(tr - k)).toBeLessThan(1e-10);
        const scaled = tensor(Array.from(x.data, (v) => v * s), x.shape, "float64");
        expectClose(grassmannPool(scaled, { k }).data, p, { atol: 1e-9 });
        const rev = tensor(Array.from({ length: c * m }, (_, i) => x.data[Math.floor(i / m) * m + (m - 1 - (i % m))] as number), x.shape, "float64");
        expectClose(grassmannPool(rev, { k }).data, p, { atol: 1e-9 });
      }),
      { numRuns: 80 },
    );
  });
});

describe("grassmannPool: scale, range and non-finite input", () => {
  const scaledT = (x: Tensor, s: number): Tensor => tensor(Array.from(x.data, (v) => v * s), [...x.shape], "float64");
  it("x·s gives the projector of x for s = 1e70, 1e77, 1e150, 1e200, 1e-150, 1e-300 (float64, up to rounding)", () => {
    // The example of the hardening issue: with the old eigensolver s ≥ 1e77 returned an identity-like
    // projector and 1e200 overflowed X Xᵀ.
    for (const shape of [[1, 3, 1, 3], [2, 5, 2, 3], [1, 12, 3, 5]]) {
      const x = randomT(shape, 7);
      const c = shape[1] as number;
      const ref = grassmannPool(x, { k: 2 });
      for (const s of [1e70, 1e77, 1e150, 1e200, 1e-150, 1e-300]) {
        const p = grassmannPool(scaledT(x, s), { k: 2 });
        expectClose(p.data, ref.data, { atol: 1e-12, rtol: 0 }, `C = ${c}, s = ${s}`);
      }
    }
  });
  it("the gradient scales as 1/s (P is homogeneous of degree 0) and stays finite", () => {
    const x = randomT([1, 4, 2, 3], 9);
    const g = randomT([1, 4, 4], 10);
    const [ref] = grassmannPool.vjp(x, { k: 2 }).backward(g);
    for (const s of [1e77, 1e150, 1e-150]) {
      const [dx] = grassmannPool.vjp(scaledT(x, s), { k: 2 }).backward(g);
      expectClose(Array.from(dx!.data, (v) => v * s), ref!.data, { atol: 1e-10, rtol: 1e-8 }, `s = ${s}`);
    }
  });
  it("an image with a NaN or ±∞ element gets NaN output and gradient; the other images are unaffected", () => {
    const x = randomT([2, 3, 2, 2], 11);
    const ref = grassmannPool.vjp(x, { k: 2 });
    const g = randomT([2, 3, 3], 12);
    const [dref] = ref.backward(g);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const xb = tensor(Array.from(x.data), [2, 3, 2, 2], "float64");
      xb.data[5] = bad;
      const { output, backward } = grassmannPool.vjp(xb, { k: 2 });
      expect(Array.from(output.data.subarray(0, 9)).every(Number.isNaN), `${bad}`).toBe(true);
      expect(Array.from(output.data.subarray(9))).toEqual(Array.from(ref.output.data.subarray(9)));
      const [dx] = backward(g);
      expect(Array.from(dx!.data.subarray(0, 12)).every(Number.isNaN)).toBe(true);
      expect(Array.from(dx!.data.subarray(12))).toEqual(Array.from(dref!.data.subarray(12)));
      // the compact descriptor follows
      const z = grassmannCompactPool(xb, randomT([3, 2], 13), { k: 2 });
      expect(Number.isNaN(z.data[0])).toBe(true);
      expect(Number.isFinite(z.data[2])).toBe(true);
    }
  });
});

describe("grassmannPool: maxDim", () => {
  it("refuses C > maxDim (default 1024) up front, in the op and outputShape, naming the option; a raised limit allows it", () => {
    expect(() => grassmannPool.outputShape([1, 1025, 1, 1], { k: 1 })).toThrow(/grassmannPool: channel count D = 1025 exceeds maxDim = 1024.*pass \{ maxDim: 1025 \}/);
    expect(grassmannPool.outputShape([1, 1025, 1, 1], { k: 1, maxDim: 1025 })).toEqual([1, 1025, 1025]);
    expect(grassmannPool.outputShape([1, 1025, 1, 1], { k: 1, maxDim: Infinity })).toEqual([1, 1025, 1025]);
    const x = randomT([1, 6, 2, 2], 3);
    expect(() => grassmannPool(x, { k: 1, maxDim: 5 })).toThrow(/grassmannPool: channel count D = 6 exceeds maxDim = 5/);
    expect(() => grassmannCompactPool(x, randomT([6, 2], 4), { k: 1, maxDim: 5 })).toThrow(/grassmannCompactPool: channel count D = 6 exceeds maxDim = 5/);
    expect(grassmannPool(x, { k: 1, maxDim: 6 }).shape).toEqual([1, 6, 6]);
    for (const bad of [0, 1.5, -1, NaN, "9"]) expect(() => grassmannPool(x, { k: 1, maxDim: bad as number })).toThrow(/grassmannPool: maxDim must be/);
  });
});
