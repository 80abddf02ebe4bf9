import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { mixedPool2d, mixedPool2dWithLambdas } from "../../src/ops/novel.js";
import { getPool } from "../../src/registry.js";
import { tensor } from "../../src/tensor/tensor.js";
import { manualSeed } from "../../src/tensor/random.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { expected, FLOAT_DTYPES, fromJSON, loadFixture, replayCases, type TensorJSON } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";
import { randomTensor } from "../helpers/tensors.js";


describe("mixedPool2d: shape / smoke", () => {
  it("batched and unbatched, both dtypes; outputShape agrees; λ shape follows granularity", () => {
    const cases: [number[], Record<string, unknown>, number[]][] = [
      [[2, 3, 8, 8], { kernelSize: 2 }, [2, 3, 4, 4]],
      [[3, 8, 7], { kernelSize: 3, stride: 2 }, [3, 3, 3]],
      [[1, 2, 7, 7], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }, [1, 2, 4, 4]],
      [[2, 1, 6, 9], { kernelSize: [2, 3] }, [2, 1, 3, 3]],
    ];
    const lam = (shape: number[], out: number[]) => ({
      layer: [1],
      sample: [shape.length === 4 ? (shape[0] as number) : 1],
      channel: shape.length === 4 ? shape.slice(0, 2) : shape.slice(0, 1),
      window: out,
    });
    for (const [shape, opts, want] of cases) {
      for (const dtype of FLOAT_DTYPES) {
        const x = randomTensor(shape, 1, dtype);
        for (const granularity of ["layer", "sample", "channel", "window"] as const) {
          const y = mixedPool2d(x, { ...opts, granularity, seed: 4 } as never);
          const r = mixedPool2dWithLambdas(x, { ...opts, granularity, seed: 4 } as never);
          expect(y.shape).toEqual(want);
          expect(y.dtype).toBe(dtype);
          expect(Array.from(r.output.data)).toEqual(Array.from(y.data));
          expect(r.lambdas!.dtype).toBe("int32");
          expect(r.lambdas!.shape).toEqual(lam(shape, want)[granularity]);
        }
        const e = mixedPool2dWithLambdas(x, { ...opts, training: false, evalMode: "max" } as never);
        expect(e.output.shape).toEqual(want);
        expect(e.lambdas).toBeNull();
        expect(mixedPool2d.outputShape(shape, opts as never)).toEqual(want);
        expect(getPool("mixed").outputShape(shape, opts)).toEqual(want);
      }
    }
  });

  it("returned λ replay the call; same seed → same output; unseeded calls use the global generator", () => {
    const x = randomTensor([2, 3, 8, 8], 2);
    const r = mixedPool2dWithLambdas(x, { kernelSize: 2, granularity: "window", seed: 11 });
    expect(Array.from(mixedPool2d(x, { kernelSize: 2, granularity: "window", lambdas: r.lambdas! }).data)).toEqual(Array.from(r.output.data));
    expect(Array.from(mixedPool2d(x, { kernelSize: 2, granularity: "window", seed: 11 }).data)).toEqual(Array.from(r.output.data));
    manualSeed(5);
    const a = mixedPool2dWithLambdas(x, { kernelSize: 2, granularity: "window" });
    const b = mixedPool2dWithLambdas(x, { kernelSize: 2, granularity: "window" });
    manualSeed(5);
    const c = mixedPool2dWithLambdas(x, { kernelSize: 2, granularity: "window" });
    expect(Array.from(c.lambdas!.data)).toEqual(Array.from(a.lambdas!.data));
    expect(Array.from(b.lambdas!.data)).not.toEqual(Array.from(a.lambdas!.data));
  });

  it("training: false is deterministic and draws nothing", () => {
    const x = randomTensor([2, 3, 6, 6], 3);
    manualSeed(1);
    const e1 = mixedPool2d(x, { kernelSize: 2, training: false, evalMode: "mean-of-both" });
    const afterEval = mixedPool2dWithLambdas(x, { kernelSize: 2 }).lambdas!;
    manualSeed(1);
    const e2 = mixedPool2d(x, { kernelSize: 2, training: false, evalMode: "mean-of-both" });
    const fresh = mixedPool2dWithLambdas(x, { kernelSize: 2 }).lambdas!;
    expect(Array.from(e2.data)).toEqual(Array.from(e1.data));
    expect(Array.from(afterEval.data)).toEqual(Array.from(fresh.data));
  });

  it("backward uses the forward's draws, may be called twice, and mutates nothing", () => {
    const x = randomTensor([1, 2, 6, 6], 5);
    const before = Array.from(x.data);
    manualSeed(3);
    const { output, backward } = mixedPool2dWithLambdas.vjp(x, { kernelSize: 2, granularity: "window" });
    mixedPool2d(x, { kernelSize: 2, granularity: "window" }); // moves the global generator on
    const dy = randomTensor([1, 2, 3, 3], 6);
    const d1 = backward(dy)[0]!;
    const d2 = backward(dy)[0]!;
    expect(Array.from(d2.data)).toEqual(Array.from(d1.data));
    const replay = mixedPool2d.vjp(x, { kernelSize: 2, granularity: "window", lambdas: output.lambdas! }).backward(dy)[0]!;
    expect(Array.from(replay.data)).toEqual(Array.from(d1.data));
    expect(Array.from(x.data)).toEqual(before);
  });
});

describe("mixedPool2d: errors", () => {
  const x = randomTensor([2, 3, 6, 6], 1);
  it("rejects bad options with the op name, the argument and the value", () => {
    expect(() => mixedPool2d(x, { kernelSize: 2, granularity: "pixel" } as never)).toThrow(
      'mixedPool2d: granularity must be one of "layer", "sample", "channel", "window", got "pixel"',
    );
    expect(() => mixedPool2d(x, { kernelSize: 2, evalMode: "median", training: false } as never)).toThrow(
      'mixedPool2d: evalMode must be one of "frequency", "max", "avg", "mean-of-both", got "median"',
    );
    expect(() => mixedPool2d(x, { kernelSize: 2, kernel_size: 2 } as never)).toThrow(/mixedPool2d: unknown option "kernel_size"; known options: kernelSize/);
    expect(() => mixedPool2d(x, { kernelSize: 3, padding: 2 })).toThrow("mixedPool2d: padding must be at most half the kernel size, got padding 2 for kernelSize 3");
    expect(() => mixedPool2d(x, {} as never)).toThrow("mixedPool2d: kernelSize is required");
    expect(() => mixedPool2d(x, { kernelSize: 2, training: "yes" } as never)).toThrow('mixedPool2d: training must be a boolean, got "yes"');
    expect(() => mixedPool2d(x, { kernelSize: 2, seed: 1.5 })).toThrow("mixedPool2d: seed must be a safe integer, got 1.5");
    expect(() => mixedPool2d(tensor([1, 2, 3, 4], [4]), { kernelSize: 2 })).toThrow("mixedPool2d: x must have shape [N, C, H, W] or [C, H, W], got [4]");
    expect(() => mixedPool2d(x, { kernelSize: 7 })).toThrow(/mixedPool2d: kernel is larger than the padded input/);
  });

  it("eval without counts is deterministic ½(max + avg); the frequency rule needs maxFrequency of one fraction per channel", () => {
    const xe = tensor([1, 2, 0, 0, 3, 4, 0, 8], [1, 2, 2, 2], "float64"); // windows [1,2,0,0] and [3,4,0,8]
    expect([...mixedPool2d(xe, { kernelSize: 2, training: false }).data]).toEqual([0.5 * (2 + 0.75), 0.5 * (8 + 3.75)]);
    expect(() => mixedPool2d(x, { kernelSize: 2, training: false, evalMode: "frequency" })).toThrow(/mixedPool2d: evalMode "frequency" needs maxFrequency/);
    expect(() => mixedPool2d(x, { kernelSize: 2, training: false, maxFrequency: [0.5, 0.5] })).toThrow(
      "mixedPool2d: maxFrequency must be a number or an array of 3 numbers (one per channel), got [0.5, 0.5]",
    );
    expect(() => mixedPool2d(x, { kernelSize: 2, training: false, maxFrequency: 1.5 })).toThrow("mixedPool2d: maxFrequency must hold fractions in [0, 1], got 1.5");
    // validated in training too, where a stateful layer passes it along unused
    expect(() => mixedPool2d(x, { kernelSize: 2, maxFrequency: [0.1, -1, 0.2] })).toThrow("mixedPool2d: maxFrequency must hold fractions in [0, 1], got [0.1, -1, 0.2]");
  });

  it("lambdas must match the granularity's shape, hold 0/1, and apply only in training", () => {
    expect(() => mixedPool2d(x, { kernelSize: 2, lambdas: tensor([1, 0, 1], [3], "int32") })).toThrow(
      'mixedPool2d: lambdas must have shape [2, 3] for granularity "channel", got [3]',
    );
    expect(() => mixedPool2d(x, { kernelSize: 2, granularity: "layer", lambdas: tensor([2], [1], "int32") })).toThrow(
      "mixedPool2d: lambdas must be 0 (avg) or 1 (max), got 2 at index 0",
    );
    expect(() => mixedPool2d(x, { kernelSize: 2, granularity: "layer", lambdas: [1] as never })).toThrow("mixedPool2d: lambdas must be a Tensor, got [1]");
    expect(() => mixedPool2d(x, { kernelSize: 2, training: false, evalMode: "max", lambdas: tensor([1], [1], "int32") })).toThrow(
      /mixedPool2d: lambdas only apply with training: true/,
    );
  });
});

describe("mixedPool2d: values", () => {
  interface Case {
    name: string;
    options: Record<string, unknown>;
    lambdas?: TensorJSON;
    x: TensorJSON;
    y: TensorJSON;
    dy: TensorJSON;
    dx: TensorJSON;
  }
  const fixture = loadFixture<Case>("novel_mixed.json");

  it("has the fixture cases", () => expect(fixture.cases.length).toBeGreaterThanOrEqual(13));
  replayCases(
    fixture.cases,
    (c, _i, dtype) => `${c.name} (${dtype}) matches the PyTorch reference, forward and backward`,
    (c, dtype) => {
      const x = fromJSON(c.x, dtype);
      const opts: Record<string, unknown> = { ...c.options };
      if (c.lambdas) opts.lambdas = fromJSON(c.lambdas, "int32");
      const { output, backward } = mixedPool2d.vjp(x, opts as never);
      const tol = tolFor(dtype);
      expect(output.shape).toEqual(c.y.shape);
      expectClose(output.data, expected(c.y).data, tol, "y");
      const [dx] = backward(fromJSON(c.dy, dtype));
      expectClose(dx!.data, expected(c.dx).data, tol, "dx");
    },
  );

  it("docs/methods/mixed.md worked example: [[1,2],[3,4]] gives 4 (max) or 2.5 (avg) with the note's gradients", () => {
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2], "float64");
    const one = tensor([1], [1, 1, 1, 1], "float64");
    const max = mixedPool2d.vjp(x, { kernelSize: 2, lambdas: tensor([1], [1, 1], "int32") });
    expect(Array.from(max.output.data)).toEqual([4]);
    expect(Array.from(max.backward(one)[0]!.data)).toEqual([0, 0, 0, 1]);
    const avg = mixedPool2d.vjp(x, { kernelSize: 2, lambdas: tensor([0], [1, 1], "int32") });
    expect(Array.from(avg.output.data)).toEqual([2.5]);
    expect(Array.from(avg.backward(one)[0]!.data)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it("ties go to the first maximum (PyTorch), and eval frequency ties pick max", () => {
    const x = tensor([3, 1, 2, 3], [1, 1, 2, 2], "float64");
    const r = mixedPool2d.vjp(x, { kernelSize: 2, training: false, maxFrequency: 0.5 });
    expect(Array.from(r.output.data)).toEqual([3]);
    expect(Array.from(r.backward(tensor([1], [1, 1, 1, 1], "float64"))[0]!.data)).toEqual([1, 0, 0, 0]);
    expect(Array.from(mixedPool2d(x, { kernelSize: 2, training: false, maxFrequency: 0.49 }).data)).toEqual([2.25]);
  });
});

describe("mixedPool2d: gradcheck (float64)", () => {
  const x = distinctRandom([2, 2, 5, 6], 3);
  for (const granularity of ["layer", "sample", "channel", "window"] as const) {
    it(`granularity ${granularity}, overlapping windows with padding`, () => {
      const opts = { kernelSize: 3, stride: 2, padding: 1, granularity, seed: 17 };
      gradcheck((t) => mixedPool2d.vjp(t[0]!, opts), [x]);
    });
  }
  for (const evalMode of ["max", "avg", "mean-of-both"] as const) {
    it(`eval ${evalMode}, ceil mode, countIncludePad false`, () => {
      const opts = { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false, training: false, evalMode };
      gradcheck((t) => mixedPool2d.vjp(t[0]!, opts), [x]);
    });
  }
  it("eval frequency, unbatched", () => {
    const xu = distinctRandom([2, 6, 6], 4);
    gradcheck((t) => mixedPool2d.vjp(t[0]!, { kernelSize: 2, training: false, maxFrequency: [0.8, 0.1] }), [xu]);
  });
});

describe("mixedPool2d: properties", () => {
  /** Max and average of a window computed naively (no padding, floor rule). */
  function naive(x: Float64Array, H: number, W: number, k: number, s: number, oh: number, ow: number): [number, number] {
    let m = -Infinity;
    let sum = 0;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const v = x[(oh * s + i) * W + ow * s + j] as number;
        m = Math.max(m, v);
        sum += v;
      }
    }
    return [m, sum / (k * k)];
  }

  it("every output is exactly the max or the average of its window (training, any granularity)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom("layer", "sample", "channel", "window"),
        fc.integer({ min: 0, max: 1000 }),
        (c, H, W, k, s, granularity, seed) => {
          fc.pre(k <= H && k <= W);
          const x = randomTensor([2, c, H, W], seed);
          const y = mixedPool2d(x, { kernelSize: k, stride: s, granularity: granularity as never, seed });
          const Ho = Math.floor((H - k) / s) + 1;
          const Wo = Math.floor((W - k) / s) + 1;
          expect(y.shape).toEqual([2, c, Ho, Wo]);
          const xd = x.data as Float64Array;
          for (let p = 0; p < 2 * c; p++) {
            const plane = xd.subarray(p * H * W, (p + 1) * H * W);
            for (let oh = 0; oh < Ho; oh++) {
              for (let ow = 0; ow < Wo; ow++) {
                const v = y.data[(p * Ho + oh) * Wo + ow] as number;
                const [m, a] = naive(plane, H, W, k, s, oh, ow);
                expect(v === m || Math.abs(v - a) <= 1e-12 * (1 + Math.abs(a))).toBe(true);
              }
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("one λ per (n, c) by default: each plane is entirely max-pooled or entirely average-pooled", () => {
    const x = randomTensor([3, 4, 6, 6], 8);
    const r = mixedPool2dWithLambdas(x, { kernelSize: 2, seed: 9 });
    const max = mixedPool2d(x, { kernelSize: 2, training: false, evalMode: "max" });
    const avg = mixedPool2d(x, { kernelSize: 2, training: false, evalMode: "avg" });
    for (let p = 0; p < 12; p++) {
      const ref = r.lambdas!.data[p] === 1 ? max : avg;
      expect(Array.from(r.output.data.subarray(p * 9, p * 9 + 9))).toEqual(Array.from(ref.data.subarray(p * 9, p * 9 + 9)));
    }
  });

  it("λ = 1 with frequency close to 0.5 (binomial bound), within a call and across seeds", () => {
    const x = randomTensor([4, 5, 40, 40], 1);
    const lam = mixedPool2dWithLambdas(x, { kernelSize: 2, granularity: "window", seed: 123 }).lambdas!;
    const n = lam.size; // 8000 draws
    let ones = 0;
    for (const v of lam.data) ones += v;
    // 5 standard deviations of Binomial(n, 0.5)/n.
    expect(Math.abs(ones / n - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / n));
    const small = randomTensor([1, 1, 2, 2], 2);
    let first = 0;
    const seeds = 2000;
    for (let seed = 0; seed < seeds; seed++) first += mixedPool2dWithLambdas(small, { kernelSize: 2, granularity: "layer", seed }).lambdas!.data[0] as number;
    expect(Math.abs(first / seeds - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / seeds));
  });
});
