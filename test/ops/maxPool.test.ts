import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  maxPool1d,
  maxPool2d,
  maxPool3d,
  maxPool1dWithIndices,
  maxPool2dWithIndices,
  maxPool3dWithIndices,
  avgPool1d,
  avgPool2d,
  avgPool3d,
} from "../../src/ops/pytorch.js";
import { tensor, zeros, type Tensor } from "../../src/tensor/tensor.js";
import { randn } from "../../src/tensor/random.js";
import type { FloatDType } from "../../src/tensor/dtype.js";
import { expectClose, expectTensorClose, tolFor } from "../helpers/close.js";
import { expected, fromJSON, loadFixture, rankOf, replayCases, type PyTorchCase, type TensorJSON } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";

const POOL = { 1: maxPool1d, 2: maxPool2d, 3: maxPool3d } as const;
const WITH_INDICES = { 1: maxPool1dWithIndices, 2: maxPool2dWithIndices, 3: maxPool3dWithIndices } as const;
const AVG = { 1: avgPool1d, 2: avgPool2d, 3: avgPool3d } as const;

/** Max fixtures also store the indices, and no dx where every window misses the input. */
interface Result {
  output: TensorJSON;
  indices?: TensorJSON;
  dx: TensorJSON | null;
}

describe("maxPool — shape / smoke", () => {
  it("batched and unbatched, float32 and float64, outputShape equals the forward shape", () => {
    for (const rank of [1, 2, 3] as const) {
      for (const dtype of ["float32", "float64"] as FloatDType[]) {
        const spatial = [7, 6, 5].slice(0, rank);
        const opts = { kernelSize: 3, stride: 2, padding: 1, ceilMode: true };
        for (const shape of [[2, 3, ...spatial], [3, ...spatial]]) {
          const x = randn(shape, { seed: 1, dtype });
          const y = POOL[rank](x, opts);
          expect(y.dtype).toBe(dtype);
          expect([...y.shape]).toEqual(POOL[rank].outputShape(shape, opts));
          expect(y.shape.length).toBe(shape.length);
          const r = WITH_INDICES[rank](x, opts);
          expect(r.indices.dtype).toBe("int32");
          expect([...r.indices.shape]).toEqual([...y.shape]);
          expect([...r.output.data]).toEqual([...y.data]);
        }
      }
    }
  });

  it("does not mutate its input, and backward can be called twice with the same result", () => {
    const x = randn([1, 2, 5, 5], { seed: 3, dtype: "float64" });
    const before = Float64Array.from(x.data);
    const { output, backward } = maxPool2d.vjp(x, { kernelSize: 2, stride: 1 });
    const dy = randn(output.shape, { seed: 4, dtype: "float64" });
    const a = backward(dy)[0] as Tensor;
    const b = backward(dy)[0] as Tensor;
    expect([...a.data]).toEqual([...b.data]);
    expect([...x.data]).toEqual([...before]);
    expect(backward(dy).length).toBe(1);
  });

  it("the WithIndices backward takes dy of the output's shape", () => {
    const x = distinctRandom([1, 1, 4, 4]);
    const { output, backward } = maxPool2dWithIndices.vjp(x, { kernelSize: 2 });
    const [dx] = backward(tensor([1, 2, 3, 4], [1, 1, 2, 2], "float64"));
    expect(dx?.shape).toEqual([1, 1, 4, 4]);
    let s = 0;
    for (const v of dx!.data) s += v;
    expect(s).toBe(10);
    expect(output.output.shape).toEqual([1, 1, 2, 2]);
  });
});

describe("maxPool — errors", () => {
  const x = zeros([1, 1, 5, 5]);
  it("rejects bad sizes, padding, kernel larger than the input", () => {
    expect(() => maxPool2d(x, { kernelSize: 0 })).toThrow("maxPool2d: kernelSize must be positive integers, got 0");
    expect(() => maxPool2d(x, { kernelSize: -2 })).toThrow("maxPool2d: kernelSize must be positive integers, got -2");
    expect(() => maxPool2d(x, { kernelSize: 1.5 })).toThrow("maxPool2d: kernelSize must be positive integers, got 1.5");
    expect(() => maxPool2d(x, { kernelSize: 2, stride: 0 })).toThrow("maxPool2d: stride must be positive integers, got 0");
    expect(() => maxPool2d(x, { kernelSize: 2, padding: -1 })).toThrow("maxPool2d: padding must be non-negative integers, got -1");
    expect(() => maxPool2d(x, { kernelSize: 2, dilation: 0 })).toThrow("maxPool2d: dilation must be positive integers, got 0");
    expect(() => maxPool2d(x, { kernelSize: [2, 2, 2] })).toThrow("maxPool2d: kernelSize must be a number or an array of 2 numbers, got [2, 2, 2]");
    expect(() => maxPool2d(x, { kernelSize: 3, padding: 2 })).toThrow(
      "maxPool2d: padding must be at most half the kernel size, got padding 2 for kernelSize 3",
    );
    expect(() => maxPool2d(x, { kernelSize: 6 })).toThrow(/^maxPool2d: kernel is larger than the padded input: input size \[5, 5\]/);
    expect(() => maxPool1d(zeros([1, 1, 3]), { kernelSize: 3, dilation: 2 })).toThrow(/maxPool1d: kernel is larger than the padded input/);
    expect(() => maxPool2d(x, {} as never)).toThrow("maxPool2d: kernelSize is required");
  });

  it("rejects wrong rank, non-tensors, int32 input, unknown options, bad ceilMode", () => {
    expect(() => maxPool2d(zeros([5, 5]), { kernelSize: 2 })).toThrow("maxPool2d: x must have shape [N, C, H, W] or [C, H, W], got [5, 5]");
    expect(() => maxPool1d(zeros([1, 1, 1, 4]), { kernelSize: 2 })).toThrow("maxPool1d: x must have shape [N, C, L] or [C, L], got [1, 1, 1, 4]");
    expect(() => maxPool3dWithIndices(zeros([1, 4, 4]), { kernelSize: 2 })).toThrow(
      "maxPool3dWithIndices: x must have shape [N, C, D, H, W] or [C, D, H, W], got [1, 4, 4]",
    );
    expect(() => maxPool2d([[1, 2]] as never, { kernelSize: 2 })).toThrow("maxPool2d: x must be a Tensor, got [[1, 2]]");
    expect(() => maxPool2d(zeros([1, 1, 4, 4], "int32"), { kernelSize: 2 })).toThrow("maxPool2d: x must be float32 or float64, got int32");
    expect(() => maxPool2d(x, { kernelSize: 2, kernel_size: 2 } as never)).toThrow(
      'maxPool2d: unknown option "kernel_size"; known options: kernelSize, stride, padding, dilation, ceilMode',
    );
    expect(() => maxPool2d(x, { kernelSize: 2, ceilMode: 1 } as never)).toThrow("maxPool2d: ceilMode must be a boolean, got 1");
    expect(() => maxPool2d(zeros([1, 0, 4, 4]), { kernelSize: 2 })).toThrow("maxPool2d: x must have non-empty channel and spatial dims, got shape [1, 0, 4, 4]");
    expect(() => maxPool2d.outputShape([1, 4, 4, 4, 4], { kernelSize: 2 })).toThrow("maxPool2d: x must have shape [N, C, H, W] or [C, H, W], got [1, 4, 4, 4, 4]");
  });

  it("rejects dy of the wrong shape", () => {
    const { backward } = maxPool2d.vjp(x, { kernelSize: 2 });
    expect(() => backward(zeros([1, 1, 3, 3]))).toThrow("maxPool2d: backward: dy must have the output's shape [1, 1, 2, 2], got [1, 1, 3, 3]");
  });
});

describe("maxPool — values", () => {
  const fixture = loadFixture<PyTorchCase<Result>>("pytorch_sliding_max.json");
  it("has the committed PyTorch fixture", () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(14);
  });
  replayCases(
    fixture.cases,
    (c, i, dtype) => `matches PyTorch: case ${i} ${c.op} ${JSON.stringify(c.opts)} ${c.note ?? ""} (${dtype})`,
    (c, dtype) => {
      const rank = rankOf(c.op);
      const ref = c[dtype];
      const x = fromJSON(c.x, dtype);
      const { output, backward } = WITH_INDICES[rank].vjp(x, c.opts as never);
      expectTensorClose(output.output, expected(ref.output), tolFor(dtype), "output");
      expect([...output.indices.data], "indices").toEqual([...expected(ref.indices!).data]);
      expect([...POOL[rank](x, c.opts as never).data]).toEqual([...output.output.data]);
      const [dx] = backward(fromJSON(c.dy, dtype));
      if (ref.dx) expectTensorClose(dx!, expected(ref.dx), tolFor(dtype), "dx");
      else {
        // Windows that miss the input (dilation): output −∞ whatever x is, so no gradient at all.
        expect([...dx!.data].every((v) => v === 0)).toBe(true);
      }
    },
  );

  it("spec: ties go to the first maximum", () => {
    const x = tensor([[[[1, 5, 5, 2], [5, 0, 3, 3], [9, 9, 1, 1], [0, 9, 1, 1]]]]);
    const { output, indices } = maxPool2dWithIndices(x, { kernelSize: 2 });
    expect([...output.data]).toEqual([5, 5, 9, 1]);
    expect([...indices.data]).toEqual([1, 2, 8, 10]);
  });

  it("spec: NaN propagates, and the last NaN supplies the index", () => {
    const r = maxPool2dWithIndices(tensor([[[[1, NaN, 7, 2], [3, 4, 5, 6]]]]), { kernelSize: 2 });
    expectClose(r.output.data, [NaN, 7]);
    expect([...r.indices.data]).toEqual([1, 2]);
    const r2 = maxPool2dWithIndices(tensor([[[[NaN, 1], [NaN, 0]]]]), { kernelSize: 2 });
    expect([...r2.indices.data]).toEqual([2]);
    const r3 = maxPool1dWithIndices(tensor([[[-Infinity, -Infinity]]]), { kernelSize: 2 });
    expect([...r3.output.data]).toEqual([-Infinity]);
    expect([...r3.indices.data]).toEqual([0]);
  });

  it("spec: padding is −∞; indices are into the unpadded plane", () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const r = maxPool2dWithIndices(x, { kernelSize: 2, stride: 2, padding: 1 });
    expect([...r.output.data]).toEqual([1, 3, 7, 9]);
    expect([...r.indices.data]).toEqual([0, 2, 6, 8]);
  });

  it("spec: overlapping windows accumulate the gradient (4 at the centre)", () => {
    const x = tensor([[[[1, 2, 3], [4, 9, 5], [6, 7, 8]]]], undefined, "float64");
    const { output, backward } = maxPool2d.vjp(x, { kernelSize: 2, stride: 1 });
    const [dx] = backward(tensor(new Float64Array(output.size).fill(1), output.shape, "float64"));
    expect([...dx!.data]).toEqual([0, 0, 0, 0, 4, 0, 0, 0, 0]);
  });

  it("spec: output sizes of the checked table, including a window that may not start in the right padding", () => {
    const table: [number, number, number, number, number, boolean, number][] = [
      [5, 2, 2, 0, 1, true, 3],
      [5, 3, 3, 1, 1, true, 2],
      [6, 3, 2, 1, 1, true, 4],
      [7, 3, 2, 1, 2, false, 3],
      [7, 3, 2, 1, 2, true, 3],
      [4, 2, 3, 1, 1, true, 2],
      [10, 3, 3, 1, 1, true, 4],
    ];
    for (const [L, k, s, p, d, ceilMode, o] of table) {
      expect(maxPool1d(zeros([1, 1, L]), { kernelSize: k, stride: s, padding: p, dilation: d, ceilMode }).shape).toEqual([1, 1, o]);
    }
  });

  it("padding up to half the effective kernel is accepted with dilation (current PyTorch; torch 1.13 allowed only ⌊k/2⌋)", () => {
    // L = 7, k = 3, d = 2, p = 2: taps of window o at 2o − 2, 2o, 2o + 2 → 4 windows
    const x = tensor([1, 7, 2, 6, 3, 5, 4], [1, 1, 7], "float64");
    const r = maxPool1dWithIndices(x, { kernelSize: 3, stride: 2, padding: 2, dilation: 2 });
    expect([...r.output.data]).toEqual([2, 3, 4, 4]);
    expect([...r.indices.data]).toEqual([2, 4, 6, 6]);
    expect(() => maxPool1d(x, { kernelSize: 3, padding: 3, dilation: 2 })).toThrow(
      "maxPool1d: padding must be at most half the effective kernel size 5, got padding 3 for kernelSize 3",
    );
  });

  it("a dilated window that misses the input: −∞ with PyTorch's index 1 (length-1 input, k=2, d=2, p=1)", () => {
    const x = tensor([[[5]]], undefined, "float64");
    const { output, backward } = maxPool1dWithIndices.vjp(x, { kernelSize: 2, dilation: 2, padding: 1 });
    expect([...output.output.data]).toEqual([-Infinity]);
    expect([...output.indices.data]).toEqual([1]);
    expect([...(backward(tensor([[[1]]], undefined, "float64"))[0] as Tensor).data]).toEqual([0]);
  });
});

describe("maxPool — gradcheck (float64)", () => {
  it("1d: padding, dilation, ceil mode, overlap", () => {
    const x = distinctRandom([2, 2, 11], 11);
    gradcheck(([t]) => maxPool1d.vjp(t!, { kernelSize: 3, stride: 2, padding: 1, dilation: 2, ceilMode: true }), [x]);
    gradcheck(([t]) => maxPool1dWithIndices.vjp(t!, { kernelSize: 4, stride: 1 }), [x]);
  });
  it("2d: batched and unbatched", () => {
    gradcheck(([t]) => maxPool2d.vjp(t!, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }), [distinctRandom([2, 2, 6, 7], 12)]);
    gradcheck(([t]) => maxPool2dWithIndices.vjp(t!, { kernelSize: [2, 3], stride: 1, dilation: [2, 1] }), [distinctRandom([2, 6, 5], 13)]);
  });
  it("3d", () => {
    gradcheck(([t]) => maxPool3d.vjp(t!, { kernelSize: 2, stride: [1, 2, 2], padding: 1 }), [distinctRandom([1, 2, 4, 5, 4], 14)]);
    gradcheck(([t]) => maxPool3dWithIndices.vjp(t!, { kernelSize: 3, stride: 2, ceilMode: true }), [distinctRandom([2, 5, 5, 6], 15)]);
  });
});

/** Random valid sliding configs for a rank. */
const configArb = (rank: 1 | 2 | 3, withDilation: boolean) =>
  fc
    .record({
      spatial: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: rank, maxLength: rank }),
      k: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: rank, maxLength: rank }),
      s: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: rank, maxLength: rank }),
      d: fc.array(fc.integer({ min: 1, max: withDilation ? 3 : 1 }), { minLength: rank, maxLength: rank }),
      pf: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: rank, maxLength: rank }),
      ceilMode: fc.boolean(),
      batched: fc.boolean(),
      seed: fc.integer({ min: 0, max: 1000 }),
    })
    .map((c) => {
      const padding = c.k.map((k, i) => Math.floor(c.pf[i]! * (Math.floor(((k - 1) * c.d[i]! + 1) / 2) + 0.999)));
      const fits = c.spatial.every((L, i) => L + 2 * padding[i]! >= (c.k[i]! - 1) * c.d[i]! + 1);
      const shape = c.batched ? [2, 2, ...c.spatial] : [2, ...c.spatial];
      return { ...c, padding, fits, shape };
    });

describe("maxPool — properties", () => {
  for (const rank of [1, 2, 3] as const) {
    it(`${rank}d: outputShape equals the forward shape, and every index lies in its window`, () => {
      fc.assert(
        fc.property(configArb(rank, true), (c) => {
          const opts = { kernelSize: c.k, stride: c.s, padding: c.padding, dilation: c.d, ceilMode: c.ceilMode };
          const x = randn(c.shape, { seed: c.seed, dtype: "float64" });
          // outputShape and the forward pass reject the same configs with the same message (a kernel
          // larger than the padded input still fits in ceil mode when the window starts inside it)
          let msg = "";
          try {
            POOL[rank].outputShape(c.shape, opts);
          } catch (e) {
            msg = (e as Error).message;
          }
          if (msg) {
            expect(c.fits).toBe(false);
            expect(msg).toMatch(new RegExp(`^maxPool${rank}d: kernel is larger than the padded input`));
            expect(() => POOL[rank](x, opts)).toThrow(msg);
            return;
          }
          const r = WITH_INDICES[rank](x, opts);
          expect([...r.output.shape]).toEqual(WITH_INDICES[rank].outputShape(c.shape, opts));
          expect([...POOL[rank](x, opts).shape]).toEqual(POOL[rank].outputShape(c.shape, opts));
          // value at the index is the output (or the window is empty and the output is −∞)
          const plane = c.spatial.reduce((a, b) => a * b, 1);
          const outPlane = r.output.size / c.shape.slice(0, c.shape.length - rank).reduce((a, b) => a * b, 1);
          for (let o = 0; o < r.output.size; o++) {
            const p = Math.floor(o / outPlane);
            const idx = r.indices.data[o]!;
            if (idx >= 0 && idx < plane && r.output.data[o] !== -Infinity) expect(x.data[p * plane + idx]).toBe(r.output.data[o]);
          }
        }),
        { numRuns: 150 },
      );
    });

    it(`${rank}d: max ≥ avg (countIncludePad = false) over the same windows`, () => {
      fc.assert(
        fc.property(configArb(rank, false), (c) => {
          fc.pre(c.fits);
          const opts = { kernelSize: c.k, stride: c.s, padding: c.padding, ceilMode: c.ceilMode };
          const x = randn(c.shape, { seed: c.seed, dtype: "float64" });
          const mx = POOL[rank](x, opts);
          const av = AVG[rank](x, { ...opts, countIncludePad: false });
          expect([...av.shape]).toEqual([...mx.shape]);
          for (let i = 0; i < mx.size; i++) expect(mx.data[i]!).toBeGreaterThanOrEqual(av.data[i]! - 1e-12);
        }),
        { numRuns: 150 },
      );
    });
  }
});

describe("maxPool — absurd kernel, padding and dilation", () => {
  it("kernelSize 2e9 + 1, padding 1e9 on [1, 1, 64]: every window is the whole input (cost follows the input, not the padding)", () => {
    const x = randn([1, 1, 64], { seed: 4, dtype: "float64" });
    const { output, indices } = maxPool1dWithIndices(x, { kernelSize: 2e9 + 1, padding: 1e9, stride: 1 });
    const xs = Array.from(x.data);
    const best = Math.max(...xs);
    expect([...output.shape]).toEqual([1, 1, 64]);
    expect([...output.data]).toEqual(new Array(64).fill(best));
    expect([...indices.data]).toEqual(new Array(64).fill(xs.indexOf(best)));
    // 500× the padding: stepping through it tap by tap would take hours, the division takes no longer
    const far = maxPool1d(x, { kernelSize: 1e12 + 1, padding: 5e11, stride: 1 });
    expect([...far.data]).toEqual(new Array(64).fill(best));
  });

  it("a window missing the input whose PyTorch index would not fit int32: −∞ without indices, an op error with them", () => {
    const x = tensor([7], [1, 1, 1], "float64");
    const opts = { kernelSize: 2, dilation: 5e9, padding: 2.5e9, stride: 1 };
    expect([...maxPool1d(x, opts).data]).toEqual([-Infinity]);
    expect(() => maxPool1dWithIndices(x, opts)).toThrow(/^maxPool1dWithIndices: dilation \[5000000000\] makes an output window miss the input .*int32/);
    // a first tap that fits int32 keeps PyTorch's index: taps at −1e9 and 1e9, the first on the grid in bounds is 1e9
    const r = maxPool1dWithIndices(x, { kernelSize: 2, dilation: 2e9, padding: 1e9, stride: 1 });
    expect([...r.output.data]).toEqual([-Infinity]);
    expect([...r.indices.data]).toEqual([1e9]);
  });
});
