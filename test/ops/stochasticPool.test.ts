import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { stochasticPool2d, stochasticPool2dWithIndices } from "../../src/ops/novel.js";
import { getPool } from "../../src/registry.js";
import { Tensor, tensor } from "../../src/tensor/tensor.js";
import { Generator, manualSeed } from "../../src/tensor/random.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { expected, FLOAT_DTYPES, fromJSON, loadFixture, replayCases, type TensorJSON } from "../helpers/fixtures.js";
import { gradcheck } from "../helpers/gradcheck.js";


/** Non-negative random values in [lo, lo + 1). */
function positive(shape: number[], seed: number, dtype: "float32" | "float64" = "float64", lo = 0): Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Array.from({ length: n }, () => lo + g.uniform()), shape, dtype);
}

const ONE = (dtype: "float32" | "float64" = "float64") => tensor([1], [1, 1, 1, 1], dtype);

describe("stochasticPool2d: shape / smoke", () => {
  it("Caffe ceil output sizes, batched and unbatched, both dtypes, train and eval; outputShape agrees", () => {
    const cases: [number[], Record<string, unknown>, number[]][] = [
      [[2, 3, 8, 8], { kernelSize: 2 }, [2, 3, 4, 4]],
      [[2, 3, 8, 8], { kernelSize: 3, stride: 2 }, [2, 3, 4, 4]], // ceil(5/2) + 1 = 4, last window clipped
      [[3, 7, 9], { kernelSize: 3, stride: 2 }, [3, 3, 4]],
      [[1, 2, 5, 6], { kernelSize: [2, 3], stride: [1, 2] }, [1, 2, 4, 3]],
    ];
    for (const [shape, opts, want] of cases) {
      for (const dtype of FLOAT_DTYPES) {
        const x = positive(shape, 1, dtype);
        for (const training of [true, false]) {
          const y = stochasticPool2d(x, { ...opts, training, seed: 2 } as never);
          const r = stochasticPool2dWithIndices(x, { ...opts, training, seed: 2 } as never);
          expect(y.shape).toEqual(want);
          expect(y.dtype).toBe(dtype);
          expect(Array.from(r.output.data)).toEqual(Array.from(y.data));
          if (training) {
            expect(r.indices!.dtype).toBe("int32");
            expect(r.indices!.shape).toEqual(want);
          } else expect(r.indices).toBeNull();
        }
        expect(stochasticPool2d.outputShape(shape, opts as never)).toEqual(want);
        expect(getPool("stochastic").outputShape(shape, opts)).toEqual(want);
      }
    }
  });

  it("same seed → same output; unseeded calls use the global generator and differ; eval is deterministic", () => {
    const x = positive([2, 3, 8, 8], 2);
    const a = stochasticPool2d(x, { kernelSize: 2, seed: 5 });
    expect(Array.from(stochasticPool2d(x, { kernelSize: 2, seed: 5 }).data)).toEqual(Array.from(a.data));
    manualSeed(8);
    const g1 = stochasticPool2dWithIndices(x, { kernelSize: 2 }).indices!;
    const g2 = stochasticPool2dWithIndices(x, { kernelSize: 2 }).indices!;
    manualSeed(8);
    const g3 = stochasticPool2dWithIndices(x, { kernelSize: 2 }).indices!;
    expect(Array.from(g3.data)).toEqual(Array.from(g1.data));
    expect(Array.from(g2.data)).not.toEqual(Array.from(g1.data));
    const e1 = stochasticPool2d(x, { kernelSize: 2, training: false });
    const e2 = stochasticPool2d(x, { kernelSize: 2, training: false, seed: 3 });
    expect(Array.from(e2.data)).toEqual(Array.from(e1.data));
  });

  it("backward uses the forward's draws, may be called twice, and mutates nothing", () => {
    const x = positive([1, 2, 6, 6], 3);
    const before = Array.from(x.data);
    manualSeed(1);
    const { output, backward } = stochasticPool2dWithIndices.vjp(x, { kernelSize: 3, stride: 1 });
    stochasticPool2d(x, { kernelSize: 3, stride: 1 }); // moves the global generator on
    const dy = positive([1, 2, 4, 4], 4);
    const d1 = backward(dy)[0]!;
    expect(Array.from(backward(dy)[0]!.data)).toEqual(Array.from(d1.data));
    // dx is dy scattered to the returned indices
    const want = new Float64Array(x.size);
    for (let p = 0; p < 2; p++) for (let o = 0; o < 16; o++) want[p * 36 + (output.indices!.data[p * 16 + o] as number)]! += dy.data[p * 16 + o] as number;
    expectClose(d1.data, want, { atol: 1e-15 });
    expect(Array.from(x.data)).toEqual(before);
  });
});

describe("stochasticPool2d: errors", () => {
  const x = positive([1, 2, 4, 4], 1);
  it("rejects NaN and infinite inputs", () => {
    expect(() => stochasticPool2d(tensor([1, NaN, 3, 4], [1, 1, 2, 2]), { kernelSize: 2, training: false })).toThrow(
      "stochasticPool2d: x must be finite (probabilities are relu(x) / Σ relu(x) over each window), got NaN at index 1",
    );
    expect(() => stochasticPool2d(tensor([1, 2, Infinity, 4], [1, 1, 2, 2]), { kernelSize: 2 })).toThrow(/got Infinity at index 2/);
  });

  it("rejects bad options and uniforms", () => {
    expect(() => stochasticPool2d(x, {} as never)).toThrow("stochasticPool2d: kernelSize is required");
    expect(() => stochasticPool2d(x, { kernelSize: 2, padding: 1 } as never)).toThrow(/stochasticPool2d: unknown option "padding"; known options: kernelSize, stride, training, seed, uniforms/);
    expect(() => stochasticPool2d(x, { kernelSize: 2, stride: -1 })).toThrow("stochasticPool2d: stride must be positive integers, got -1");
    expect(() => stochasticPool2d(x, { kernelSize: 2, seed: "a" as never })).toThrow('stochasticPool2d: seed must be a safe integer, got "a"');
    expect(() => stochasticPool2d(x, { kernelSize: 2, uniforms: tensor([0.5], [1]) })).toThrow("stochasticPool2d: uniforms must have the output shape [1, 2, 2, 2], got [1]");
    expect(() => stochasticPool2d(x, { kernelSize: 4, uniforms: tensor([0.5, 0], [1, 2, 1, 1]) })).toThrow("stochasticPool2d: uniforms must lie in (0, 1], got 0 at index 1");
    expect(() => stochasticPool2d(x, { kernelSize: 4, uniforms: tensor([1.5, 0.5], [1, 2, 1, 1]) })).toThrow("stochasticPool2d: uniforms must lie in (0, 1], got 1.5 at index 0");
    expect(() => stochasticPool2d(x, { kernelSize: 4, training: false, uniforms: tensor([0.5, 0.5], [1, 2, 1, 1]) })).toThrow(
      "stochasticPool2d: uniforms only apply with training: true",
    );
  });
});

describe("stochasticPool2d: values", () => {
  interface Case {
    name: string;
    options: Record<string, unknown>;
    uniforms?: TensorJSON;
    indices?: TensorJSON;
    x: TensorJSON;
    y: TensorJSON;
    dy: TensorJSON;
    dx: TensorJSON;
  }
  const fixture = loadFixture<Case>("novel_stochastic.json");

  it("has the fixture cases", () => expect(fixture.cases.length).toBeGreaterThanOrEqual(8));
  replayCases(
    fixture.cases,
    (c, _i, dtype) => `${c.name} (${dtype}) matches the reference (picks, y, dx)`,
    (c, dtype) => {
      const x = fromJSON(c.x, dtype);
      const opts: Record<string, unknown> = { ...c.options };
      if (c.uniforms) opts.uniforms = fromJSON(c.uniforms, "float64");
      const { output, backward } = stochasticPool2dWithIndices.vjp(x, opts as never);
      const tol = tolFor(dtype);
      if (c.indices) expect(Array.from(output.indices!.data)).toEqual(Array.from(expected(c.indices).data));
      expectClose(output.output.data, expected(c.y).data, tol, "y");
      const [dx] = backward(fromJSON(c.dy, dtype));
      expectClose(dx!.data, expected(c.dx).data, tol, "dx");
    },
  );

  for (const dtype of FLOAT_DTYPES) {
    it(`docs/methods/stochastic.md worked numbers (${dtype}): window [1,2,3,4], the ≥ rule maps u = 0.1, 0.35, 0.6, 0.61, 1 to 1, 3, 3, 4, 4`, () => {
      const x = tensor([1, 2, 3, 4], [1, 1, 2, 2], dtype);
      const pick = (u: number) => stochasticPool2d(x, { kernelSize: 2, uniforms: tensor([u], [1, 1, 1, 1], "float64") }).data[0];
      expect([0.05, 0.1, 0.1001, 0.3, 0.35, 0.6, 0.61, 1].map(pick)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    });
  }

  it("docs/methods/stochastic.md worked numbers: eval output 3 and gradient [−0.1, 0.1, 0.3, 0.5]", () => {
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2], "float64");
    const r = stochasticPool2d.vjp(x, { kernelSize: 2, training: false });
    expectClose(r.output.data, [3], { atol: 1e-15 });
    expectClose(r.backward(ONE())[0]!.data, [-0.1, 0.1, 0.3, 0.5], { atol: 1e-15 });
  });

  it("all-zero windows: output 0 and the gradient goes to the first element (train and eval)", () => {
    const x = tensor([0, 0, 0, 0], [1, 1, 2, 2], "float64");
    for (const training of [true, false]) {
      const r = stochasticPool2d.vjp(x, { kernelSize: 2, training, seed: 1 });
      expect(Array.from(r.output.data)).toEqual([0]);
      expect(Array.from(r.backward(ONE())[0]!.data)).toEqual([1, 0, 0, 0]);
    }
  });

  it("zero-probability positions are never picked, even with u at the bounds", () => {
    const x = tensor([0, 2, 0, 2], [1, 1, 2, 2], "float64");
    const picks = [1e-12, 0.5, 0.5000001, 1].map(
      (u) => stochasticPool2dWithIndices(x, { kernelSize: 2, uniforms: tensor([u], [1, 1, 1, 1], "float64") }).indices!.data[0],
    );
    expect(picks).toEqual([1, 1, 3, 3]);
  });
});

describe("stochasticPool2d: negative inputs are taken as 0 (the op pools relu(x))", () => {
  // Window [1, −2, 3, 4] → relu [1, 0, 3, 4], Σ = 8. By hand: eval Σr²/Σr = 26/8 = 3.25, gradient
  // (2r − y)/Σr = [−0.15625, ·, 0.34375, 0.59375] with 0 for the negative input.
  const x = tensor([1, -2, 3, 4], [1, 1, 2, 2], "float64");
  it("eval value and gradient", () => {
    const { output, backward } = stochasticPool2d.vjp(x, { kernelSize: 2, training: false });
    expect([...output.data]).toEqual([3.25]);
    expectClose(backward(tensor([1], [1, 1, 1, 1], "float64"))[0]!.data, [-0.15625, 0, 0.34375, 0.59375], { atol: 1e-15 });
  });
  it("training walks relu(x): u = 0.1 picks tap 0, u = 0.2 skips the negative tap and picks tap 2", () => {
    const pick = (u: number) => stochasticPool2dWithIndices(x, { kernelSize: 2, uniforms: tensor([u], [1, 1, 1, 1], "float64") });
    expect([...pick(0.1).indices!.data, ...pick(0.1).output.data]).toEqual([0, 1]);
    expect([...pick(0.2).indices!.data, ...pick(0.2).output.data]).toEqual([2, 3]);
  });
  it("never picks a negative input and never outputs a negative value (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), (seed) => {
        const g = new Generator(seed);
        const d = Float64Array.from({ length: 16 }, () => g.normal());
        const { output, indices } = stochasticPool2dWithIndices(tensor(d, [1, 1, 4, 4], "float64"), { kernelSize: 2, seed });
        for (let o = 0; o < 4; o++) {
          const v = output.data[o] as number;
          expect(v).toBeGreaterThanOrEqual(0);
          const i = indices!.data[o] as number;
          if (v > 0) expect(d[i]).toBe(v);
        }
      }),
      { numRuns: 200 },
    );
  });
  it("gradcheck in eval with inputs of both signs (away from 0)", () => {
    const d = Float64Array.from([0.9, -1.3, 2.2, 0.4, -0.7, 1.6, 0.3, -2.1, 1.1, 0.8, -0.5, 1.9, 0.6, 1.4, -0.9, 2.5]);
    gradcheck((t) => stochasticPool2d.vjp(t[0]!, { kernelSize: 2, stride: 2, training: false }), [tensor(d, [1, 1, 4, 4], "float64")]);
  });
});

describe("stochasticPool2d: gradcheck (float64)", () => {
  it("eval: (2x − y)/Σx through overlapping, overhanging windows", () => {
    const x = positive([2, 2, 7, 6], 5, "float64", 0.1);
    gradcheck((t) => stochasticPool2d.vjp(t[0]!, { kernelSize: 3, stride: 2, training: false }), [x]);
    gradcheck((t) => stochasticPool2d.vjp(t[0]!, { kernelSize: 2, stride: 1, training: false }), [positive([3, 5, 5], 6, "float64", 0.1)]);
  });
  it("training with fixed draws (piecewise: dy goes to the sampled element)", () => {
    const x = positive([2, 2, 7, 6], 7, "float64", 0.1);
    gradcheck((t) => stochasticPool2d.vjp(t[0]!, { kernelSize: 3, stride: 2, seed: 9 }), [x]);
  });
});

describe("stochasticPool2d: properties", () => {
  it("eval equals Σ p_i x_i with p_i = x_i / Σx over each window", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 9 }), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 999 }), (H, W, k, s, seed) => {
        fc.pre(k <= H && k <= W);
        const x = positive([1, 2, H, W], seed);
        const y = stochasticPool2d(x, { kernelSize: k, stride: s, training: false });
        // Caffe's ceil rule; a window may not start outside the input (only matters for k < s).
        const size = (n: number) => Math.ceil((n - k) / s) + 1 - ((Math.ceil((n - k) / s)) * s >= n ? 1 : 0);
        const Ho = size(H);
        const Wo = size(W);
        expect(y.shape).toEqual([1, 2, Ho, Wo]);
        for (let p = 0; p < 2; p++) {
          for (let oh = 0; oh < Ho; oh++) {
            for (let ow = 0; ow < Wo; ow++) {
              const vals: number[] = [];
              for (let i = oh * s; i < Math.min(oh * s + k, H); i++) for (let j = ow * s; j < Math.min(ow * s + k, W); j++) vals.push(x.data[(p * H + i) * W + j] as number);
              const sum = vals.reduce((a, b) => a + b, 0);
              const want = vals.reduce((a, v) => a + (v / sum) * v, 0);
              expect(Math.abs((y.data[(p * Ho + oh) * Wo + ow] as number) - want)).toBeLessThan(1e-12);
            }
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it("training outputs are elements of their window with positive probability", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 2, max: 3 }), fc.integer({ min: 0, max: 999 }), (H, k, seed) => {
        fc.pre(k <= H);
        const g = new Generator(seed);
        const x = tensor(Array.from({ length: 2 * H * H }, () => (g.uniform() < 0.4 ? 0 : g.uniform())), [2, H, H], "float64");
        const r = stochasticPool2dWithIndices(x, { kernelSize: k, stride: 2, seed });
        const Ho = Math.ceil((H - k) / 2) + 1;
        for (let p = 0; p < 2; p++) {
          for (let o = 0; o < Ho * Ho; o++) {
            const idx = r.indices!.data[p * Ho * Ho + o] as number;
            const [i, j] = [Math.floor(idx / H), idx % H];
            const [oh, ow] = [Math.floor(o / Ho), o % Ho];
            expect(i >= oh * 2 && i < oh * 2 + k && j >= ow * 2 && j < ow * 2 + k).toBe(true);
            const v = x.data[p * H * H + idx] as number;
            expect(r.output.data[p * Ho * Ho + o]).toBe(v);
            let windowSum = 0;
            for (let a = oh * 2; a < Math.min(oh * 2 + k, H); a++) for (let b = ow * 2; b < Math.min(ow * 2 + k, H); b++) windowSum += x.data[p * H * H + a * H + b] as number;
            if (windowSum > 0) expect(v).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it("picks each element with frequency ≈ its probability (chi-square, 3 dof, p = 1e-6 bound)", () => {
    // 5000 copies of the window [1, 2, 3, 4] (p = .1, .2, .3, .4) in one call, over 4 seeds.
    const C = 5000;
    const data = new Float64Array(C * 4);
    for (let c = 0; c < C; c++) data.set([1, 2, 3, 4], c * 4);
    const x = tensor(data, [1, C, 2, 2], "float64");
    const p = [0.1, 0.2, 0.3, 0.4];
    for (const seed of [1, 2, 3, 4]) {
      const counts = [0, 0, 0, 0];
      const idx = stochasticPool2dWithIndices(x, { kernelSize: 2, seed }).indices!.data;
      for (const i of idx) counts[i as number]! += 1;
      const chi2 = counts.reduce((acc, n, i) => acc + (n - C * p[i]!) ** 2 / (C * p[i]!), 0);
      expect(chi2).toBeLessThan(30.7); // χ²(3) upper 1e-6 quantile
    }
  });

  it("float32 draws give the same statistics (chi-square on a [0, 1, 1, 2] window)", () => {
    const C = 8000;
    const data = new Float32Array(C * 4);
    for (let c = 0; c < C; c++) data.set([0, 1, 1, 2], c * 4);
    const idx = stochasticPool2dWithIndices(tensor(data, [C, 2, 2], "float32"), { kernelSize: 2, seed: 5 }).indices!.data;
    const counts = [0, 0, 0, 0];
    for (const i of idx) counts[i as number]! += 1;
    expect(counts[0]).toBe(0);
    const p = [0.25, 0.25, 0.5];
    const chi2 = [1, 2, 3].reduce((acc, i, j) => acc + (counts[i]! - C * p[j]!) ** 2 / (C * p[j]!), 0);
    expect(chi2).toBeLessThan(27.6); // χ²(2) upper 1e-6 quantile
  });
});

describe("stochasticPool2d audit: backward reads x.data at use (storage views may be re-created)", () => {
  /** A storage whose view is replaced, and the old buffer detached, as after WebAssembly memory growth. */
  class RegrowingStorage {
    #view: Float64Array;
    constructor(values: number[]) {
      this.#view = Float64Array.from(values);
    }
    get view(): Float64Array {
      return this.#view;
    }
    regrow(): void {
      const copy = this.#view.slice();
      structuredClone(this.#view.buffer, { transfer: [this.#view.buffer as ArrayBuffer] }); // detaches the old view
      this.#view = copy;
    }
  }
  // Hand-worked (docs/methods/stochastic.md, eval row): y = Σx²/Σx, ∂y/∂x_i = (2x_i − y)/Σx over relu(x).
  // [1, 2, 3, 4]: y = 3, dx = [−0.1, 0.1, 0.3, 0.5]. [1, −2, 3, 4] → relu [1, 0, 3, 4]: Σ = 8,
  // y = 26/8 = 3.25, dx = [−1.25, ·, 2.75, 4.75]/8 with the negative input masked to 0.
  for (const [values, want] of [
    [[1, 2, 3, 4], [-0.1, 0.1, 0.3, 0.5]],
    [[1, -2, 3, 4], [-0.15625, 0, 0.34375, 0.59375]],
  ] as const) {
    it(`eval gradient of ${JSON.stringify(values)} survives a storage regrow between forward and backward`, () => {
      const storage = new RegrowingStorage([...values]);
      const x = new Tensor(storage, [1, 1, 2, 2], "float64");
      const { backward } = stochasticPool2d.vjp(x, { kernelSize: 2, training: false });
      storage.regrow();
      const dx = backward(tensor([1], [1, 1, 1, 1], "float64"))[0] as Tensor;
      expectClose(dx.data, [...want], { atol: 1e-12, rtol: 0 });
    });
  }
});
