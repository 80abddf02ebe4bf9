import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fractionalMaxPool2d, fractionalMaxPool3d, fractionalMaxPool2dWithIndices, fractionalMaxPool3dWithIndices } from "../../src/ops/adaptive.js";
import { getPool } from "../../src/registry.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { manualSeed } from "../../src/tensor/random.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { expected, FLOAT_DTYPES, fromJSON, loadFixture, type TensorJSON } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";
import { randomTensor } from "../helpers/tensors.js";

const FMP = { 2: fractionalMaxPool2d, 3: fractionalMaxPool3d } as const;
const FMPI = { 2: fractionalMaxPool2dWithIndices, 3: fractionalMaxPool3dWithIndices } as const;

const arange = (shape: number[], dtype: "float32" | "float64" = "float32"): Tensor =>
  tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i), shape, dtype);

describe("fractionalMaxPool: shape / smoke", () => {
  it("batched and unbatched, both ranks and dtypes, outputSize or outputRatio; outputShape agrees", () => {
    const cases: [2 | 3, number[], Record<string, unknown>, number[]][] = [
      [2, [2, 3, 10, 9], { kernelSize: 2, outputSize: [5, 4] }, [2, 3, 5, 4]],
      [2, [3, 7, 7], { kernelSize: [3, 2], outputSize: 4 }, [3, 4, 4]],
      [2, [1, 2, 10, 7], { kernelSize: 2, outputRatio: 0.5 }, [1, 2, 5, 3]],
      [2, [2, 11, 10], { kernelSize: 2, outputRatio: [0.75, 0.6] }, [2, 8, 6]],
      [3, [2, 2, 6, 7, 8], { kernelSize: 2, outputSize: [3, 4, 5] }, [2, 2, 3, 4, 5]],
      [3, [2, 6, 7, 8], { kernelSize: [1, 2, 3], outputRatio: 0.5 }, [2, 3, 3, 4]],
    ];
    for (const [rank, shape, opts, want] of cases) {
      for (const dtype of FLOAT_DTYPES) {
        const x = randomTensor(shape, 2, dtype);
        const y = FMP[rank](x, { ...opts, seed: 1 } as never);
        const r = FMPI[rank](x, { ...opts, seed: 1 } as never);
        expect(y.shape).toEqual(want);
        expect(y.dtype).toBe(dtype);
        expect(r.output.shape).toEqual(want);
        expect(r.indices.dtype).toBe("int32");
        expect(r.indices.shape).toEqual(want);
        const batched = shape.length === rank + 2;
        expect(r.samples.shape).toEqual([batched ? shape[0] : 1, shape[batched ? 1 : 0], rank]);
        expect(r.samples.dtype).toBe(dtype);
        expect(Array.from(r.output.data)).toEqual(Array.from(y.data));
        expect(FMP[rank].outputShape(shape, opts as never)).toEqual(want);
        expect(FMPI[rank].outputShape(shape, opts as never)).toEqual(want);
      }
    }
  });

  it("returned samples replay the call; unbatched samples may also be [C, rank]", () => {
    const x = randomTensor([2, 9, 8], 3);
    const r = fractionalMaxPool2dWithIndices(x, { kernelSize: 2, outputSize: 4 });
    const again = fractionalMaxPool2dWithIndices(x, { kernelSize: 2, outputSize: 4, samples: r.samples });
    expect(Array.from(again.indices.data)).toEqual(Array.from(r.indices.data));
    const flat = tensor(Array.from(r.samples.data), [2, 2], "float64");
    expect(Array.from(fractionalMaxPool2dWithIndices(x, { kernelSize: 2, outputSize: 4, samples: flat }).indices.data)).toEqual(Array.from(r.indices.data));
  });

  it("draws from the global generator without a seed (manualSeed resets it), and differs between calls", () => {
    const x = randomTensor([2, 3, 12, 12], 4);
    manualSeed(99);
    const a = fractionalMaxPool2dWithIndices(x, { kernelSize: 2, outputSize: 5 });
    const b = fractionalMaxPool2dWithIndices(x, { kernelSize: 2, outputSize: 5 });
    manualSeed(99);
    const c = fractionalMaxPool2dWithIndices(x, { kernelSize: 2, outputSize: 5 });
    expect(Array.from(c.samples.data)).toEqual(Array.from(a.samples.data));
    expect(Array.from(c.indices.data)).toEqual(Array.from(a.indices.data));
    expect(Array.from(b.samples.data)).not.toEqual(Array.from(a.samples.data));
    // float32 draws are float32-exact (24 random bits)
    const s32 = fractionalMaxPool2dWithIndices(randomTensor([1, 4, 9, 9], 1, "float32"), { kernelSize: 2, outputSize: 4, seed: 3 }).samples;
    for (const u of s32.data) expect(Math.fround(u)).toBe(u);
  });

  it("backward uses the forward's samples, may be called twice, and mutates nothing", () => {
    const x = randomTensor([1, 2, 9, 9], 5);
    const before = Array.from(x.data);
    const { output, backward } = fractionalMaxPool2dWithIndices.vjp(x, { kernelSize: 3, outputSize: 5 });
    fractionalMaxPool2d(x, { kernelSize: 3, outputSize: 5 }); // advances the global generator
    const dy = randomTensor([1, 2, 5, 5], 6);
    const g1 = backward(dy)[0]!;
    const g2 = backward(dy)[0]!;
    expect(Array.from(g1.data)).toEqual(Array.from(g2.data));
    const want = new Float64Array(x.size);
    for (let i = 0; i < dy.size; i++) want[Math.floor(i / 25) * 81 + output.indices.data[i]!]! += dy.data[i]!;
    expectClose(g1.data, want, { atol: 1e-15, rtol: 0 });
    (output.indices.data as Int32Array).fill(0);
    expect(Array.from(backward(dy)[0]!.data)).toEqual(Array.from(g1.data));
    expect(Array.from(x.data)).toEqual(before);
  });

  it("accepts o + k − 1 = In in 3-d (torch 1.13 rejects it; the windows then step by 1)", () => {
    const x = randomTensor([1, 1, 4, 4, 4], 8);
    const r = fractionalMaxPool3dWithIndices(x, { kernelSize: 2, outputSize: 3, seed: 1 });
    // stride-1 windows of size 2: output (d, h, w) covers [d, d+2) × [h, h+2) × [w, w+2)
    for (let d = 0; d < 3; d++)
      for (let h = 0; h < 3; h++)
        for (let w = 0; w < 3; w++) {
          let best = -Infinity;
          for (let a = d; a < d + 2; a++) for (let b = h; b < h + 2; b++) for (let c = w; c < w + 2; c++) best = Math.max(best, x.data[a * 16 + b * 4 + c]!);
          expect(r.output.data[d * 9 + h * 3 + w]).toBe(best);
        }
  });

  it("registry descriptor: aliases, defaults work on [2, 3, 16, 16], outputShape from the op", () => {
    const m = getPool("fmp");
    expect(m.name).toBe("FractionalMax");
    expect(getPool("fractional")).toBe(m);
    expect(getPool("FractionalMaxPool3d")).toBe(m);
    expect(m.random).toBe(true);
    expect(m.outputShape([2, 3, 16, 16], m.defaults)).toEqual([2, 3, 8, 8]);
    expect(m.outputShape([2, 3, 16, 16, 10], m.defaults, 3)).toEqual([2, 3, 8, 8, 5]);
    expect(() => m.outputShape([2, 3, 16], m.defaults, 1)).toThrow("FractionalMax: dims must be one of 2, 3, got 1");
    const y = m.ops[2]!(randomTensor([2, 3, 16, 16], 1, "float32"), m.defaults) as Tensor;
    expect(y.shape).toEqual([2, 3, 8, 8]);
  });
});

describe("fractionalMaxPool: errors", () => {
  const x = randomTensor([1, 2, 7, 7], 1);
  const op = fractionalMaxPool2d;
  it("requires exactly one of outputSize and outputRatio, with ratios in (0, 1)", () => {
    expect(() => op(x, { kernelSize: 2 })).toThrow("fractionalMaxPool2d: exactly one of outputSize and outputRatio must be given, got neither");
    expect(() => op(x, { kernelSize: 2, outputSize: 3, outputRatio: 0.5 })).toThrow(
      "fractionalMaxPool2d: exactly one of outputSize and outputRatio must be given, got outputSize 3 and outputRatio 0.5",
    );
    expect(() => op(x, { kernelSize: 2, outputRatio: 1 })).toThrow("fractionalMaxPool2d: outputRatio must be in (0, 1), got 1");
    expect(() => op(x, { kernelSize: 2, outputRatio: 0 })).toThrow("fractionalMaxPool2d: outputRatio must be in (0, 1), got 0");
    expect(() => op(x, { kernelSize: 2, outputRatio: [0.5, 1.5] })).toThrow("fractionalMaxPool2d: outputRatio must be in (0, 1), got [0.5, 1.5]");
    expect(() => op(x, { kernelSize: 2, outputRatio: -0.5 })).toThrow("fractionalMaxPool2d: outputRatio must be in (0, 1), got -0.5");
    expect(() => op(x, { kernelSize: 2, outputRatio: NaN })).toThrow("fractionalMaxPool2d: outputRatio must be in (0, 1), got NaN");
    expect(() => op(x, { kernelSize: 2, outputRatio: [0.5] })).toThrow("fractionalMaxPool2d: outputRatio must be a number or an array of 2 numbers, got [0.5]");
    expect(() => op(x, { kernelSize: 1, outputRatio: 0.1 })).toThrow(
      "fractionalMaxPool2d: outputRatio 0.1 gives output size [0, 0] for input size [7, 7]; every output size must be at least 1",
    );
  });
  it("rejects bad outputSize and kernelSize", () => {
    expect(() => op(x, { kernelSize: 2, outputSize: 0 })).toThrow("fractionalMaxPool2d: outputSize must be positive integers, got 0");
    expect(() => op(x, { kernelSize: 2, outputSize: -3 })).toThrow("fractionalMaxPool2d: outputSize must be positive integers, got -3");
    expect(() => op(x, { kernelSize: 2, outputSize: 2.5 })).toThrow("fractionalMaxPool2d: outputSize must be positive integers, got 2.5");
    expect(() => op(x, { kernelSize: 2, outputSize: [3, 3, 3] })).toThrow("fractionalMaxPool2d: outputSize must be a number or an array of 2 numbers, got [3, 3, 3]");
    expect(() => op(x, { kernelSize: 3, outputSize: [4, 6] })).toThrow(
      "fractionalMaxPool2d: kernelSize is too large for the output size: need outputSize + kernelSize − 1 ≤ input size, got outputSize [4, 6], kernelSize [3, 3] for input size [7, 7]",
    );
    expect(() => fractionalMaxPool3d(randomTensor([1, 1, 5, 5, 5], 1), { kernelSize: 3, outputRatio: 0.9 })).toThrow(
      "fractionalMaxPool3d: kernelSize is too large for the output size",
    );
    expect(() => op(x, { outputSize: 3 } as never)).toThrow("fractionalMaxPool2d: kernelSize is required");
    expect(() => op(x, { kernelSize: 0, outputSize: 3 })).toThrow("fractionalMaxPool2d: kernelSize must be positive integers, got 0");
  });
  it("rejects bad samples", () => {
    const s = (v: number[], shape: number[], dtype: "float32" | "float64" = "float64") => tensor(v, shape, dtype);
    expect(() => op(x, { kernelSize: 2, outputSize: 3, samples: s([0.1, 0.2], [1, 1, 2]) })).toThrow("fractionalMaxPool2d: samples must have shape [1, 2, 2], got [1, 1, 2]");
    expect(() => op(x, { kernelSize: 2, outputSize: 3, samples: s([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [1, 2, 3]) })).toThrow(
      "fractionalMaxPool2d: samples must have shape [1, 2, 2], got [1, 2, 3]",
    );
    expect(() => op(x, { kernelSize: 2, outputSize: 3, samples: s([0.1, 0.2, 0.3, 0.4], [2, 2]) })).toThrow("fractionalMaxPool2d: samples must have shape [1, 2, 2], got [2, 2]");
    expect(() => op(randomTensor([2, 7, 7], 1), { kernelSize: 2, outputSize: 3, samples: s([0.1, 0.2], [1, 2]) })).toThrow(
      "fractionalMaxPool2d: samples must have shape [1, 2, 2] (or [2, 2]), got [1, 2]",
    );
    expect(() => op(x, { kernelSize: 2, outputSize: 3, samples: s([0.1, 0.2, 1, 0.4], [1, 2, 2]) })).toThrow("fractionalMaxPool2d: samples must lie in [0, 1), got 1 at flat index 2");
    expect(() => op(x, { kernelSize: 2, outputSize: 3, samples: s([0.1, -0.2, 0.3, 0.4], [1, 2, 2]) })).toThrow("fractionalMaxPool2d: samples must lie in [0, 1), got -0.2 at flat index 1");
    expect(() => op(x, { kernelSize: 2, outputSize: 3, samples: s([0.1, 0.2, 0.3, NaN], [1, 2, 2]) })).toThrow("fractionalMaxPool2d: samples must lie in [0, 1), got NaN at flat index 3");
    expect(() => op(x, { kernelSize: 2, outputSize: 3, samples: s([0.1, 0.2, 0.3, 0.4], [1, 2, 2], "float32") })).toThrow(
      "fractionalMaxPool2d: samples must have the input's dtype float64, got float32",
    );
    expect(() => op(x, { kernelSize: 2, outputSize: 3, samples: [[[0.1, 0.2], [0.3, 0.4]]] as never })).toThrow(
      "fractionalMaxPool2d: samples must be a Tensor, got [[[0.1, 0.2], [0.3, 0.4]]]",
    );
    expect(() => fractionalMaxPool3d(randomTensor([1, 1, 6, 6, 6], 1), { kernelSize: 2, outputSize: 3, samples: s([0.1, 0.2], [1, 1, 2]) })).toThrow(
      "fractionalMaxPool3d: samples must have shape [1, 1, 3], got [1, 1, 2]",
    );
  });
  it("rejects bad inputs, options and seeds", () => {
    expect(() => op(randomTensor([7, 7], 1), { kernelSize: 2, outputSize: 3 })).toThrow("fractionalMaxPool2d: x must have shape [N, C, H, W] or [C, H, W], got [7, 7]");
    expect(() => fractionalMaxPool3d(randomTensor([7, 7, 7], 1), { kernelSize: 2, outputSize: 3 })).toThrow(
      "fractionalMaxPool3d: x must have shape [N, C, D, H, W] or [C, D, H, W], got [7, 7, 7]",
    );
    expect(() => op("x" as never, { kernelSize: 2, outputSize: 3 })).toThrow('fractionalMaxPool2d: x must be a Tensor, got "x"');
    expect(() => op(tensor([1, 2, 3, 4], [1, 1, 2, 2], "int32"), { kernelSize: 1, outputSize: 1 })).toThrow("fractionalMaxPool2d: x must be float32 or float64, got int32");
    expect(() => op(x, { kernelSize: 2, outputSize: 3, output_ratio: 0.5 } as never)).toThrow(
      'fractionalMaxPool2d: unknown option "output_ratio"; known options: kernelSize, outputSize, outputRatio, samples, seed',
    );
    expect(() => op(x, { kernelSize: 2, outputSize: 3, seed: 1.5 })).toThrow("fractionalMaxPool2d: seed must be a safe integer, got 1.5");
    expect(() => op(x, { kernelSize: 2, outputSize: 3, training: false } as never)).toThrow('fractionalMaxPool2d: unknown option "training"');
    expect(() => op.outputShape([1, 2, 7, 7], { kernelSize: 2, outputRatio: 2 })).toThrow("fractionalMaxPool2d: outputRatio must be in (0, 1), got 2");
  });
});

interface FmpCase {
  name: string;
  rank: 2 | 3;
  kernelSize: number | number[];
  outputSize: number | number[] | null;
  outputRatio: number | number[] | null;
  x: TensorJSON;
  samples: TensorJSON;
  dy: TensorJSON;
  startsDiffer: boolean;
  f32: { y: TensorJSON; idx: TensorJSON; dx: TensorJSON };
  f64: { y: TensorJSON; idx: TensorJSON; dx: TensorJSON };
}

describe("fractionalMaxPool: values", () => {
  const fixture = loadFixture<FmpCase>("pytorch_adaptive_fractional.json");

  it("fixture covers float32-only window starts, ratios, overlap, NaN, ties, unbatched, 2-d and 3-d", () => {
    expect(fixture.cases.filter((c) => c.startsDiffer).length).toBeGreaterThanOrEqual(10);
    expect(fixture.cases.filter((c) => c.outputRatio !== null).length).toBeGreaterThanOrEqual(5);
    expect(fixture.cases.filter((c) => c.rank === 3).length).toBeGreaterThanOrEqual(10);
    const names = fixture.cases.map((c) => c.name).join(" | ");
    for (const word of ["overlap", "NaN", "ties", "unbatched"]) expect(names).toContain(word);
  });

  for (const dtype of FLOAT_DTYPES) {
    it(`replays PyTorch values, indices and gradients in ${dtype} with the given samples`, () => {
      const key = dtype === "float32" ? "f32" : "f64";
      for (const c of fixture.cases) {
        const x = fromJSON(c.x, dtype);
        const samples = fromJSON(c.samples, dtype);
        // PyTorch's unbatched samples are [1, C, rank]; ours accept the same
        const opts =
          c.outputSize !== null
            ? { kernelSize: c.kernelSize, outputSize: c.outputSize, samples }
            : { kernelSize: c.kernelSize, outputRatio: c.outputRatio as number | number[], samples };
        const { output, backward } = FMPI[c.rank].vjp(x, opts);
        const ref = c[key];
        const label = `${c.name} (${dtype})`;
        expect([...output.output.shape], label).toEqual(ref.y.shape);
        expect(Array.from(output.indices.data), `${label} idx`).toEqual(ref.idx.data);
        expectClose(output.output.data, expected(ref.y).data, { atol: 0, rtol: 0 }, `${label} y`);
        expectClose(backward(fromJSON(c.dy, dtype))[0]!.data, expected(ref.dx).data, tolFor(dtype), `${label} dx`);
        expect(Array.from(FMP[c.rank](x, opts).data), `${label} plain`).toEqual(Array.from(output.output.data));
      }
    });
  }

  it("docs/methods/fractional.md worked numbers 1: 7×7 arange, kernel 2, output 4, samples (0.3, 0.5)", () => {
    const r = fractionalMaxPool2dWithIndices(arange([1, 1, 7, 7]), { kernelSize: 2, outputSize: 4, samples: tensor([0.3, 0.5], [1, 1, 2]) });
    const want = [8, 10, 11, 13, 22, 24, 25, 27, 36, 38, 39, 41, 43, 45, 46, 48];
    expect(Array.from(r.output.data)).toEqual(want);
    expect(Array.from(r.indices.data)).toEqual(want);
  });

  it("docs/methods/fractional.md worked numbers 2: overlapping k=3 windows accumulate 4 gradients at (2, 2)", () => {
    const xs = new Float64Array(49);
    xs[2 * 7 + 2] = 9;
    for (const dtype of FLOAT_DTYPES) {
      const x = tensor(xs, [1, 1, 7, 7], dtype);
      const { output, backward } = fractionalMaxPool2dWithIndices.vjp(x, { kernelSize: 3, outputSize: 4, samples: tensor([0.5, 0.5], [1, 1, 2], dtype) });
      // starts [0, 2, 3, 4] on both axes: windows 0 and 1 contain row/col 2
      expect(Array.from(output.indices.data)).toEqual([16, 16, 3, 4, 16, 16, 17, 18, 21, 23, 24, 25, 28, 30, 31, 32]);
      const dx = backward(tensor(new Float64Array(16).fill(1), [1, 1, 4, 4], dtype))[0]!;
      expect(dx.data[16]).toBe(4);
      expect(Array.from(dx.data).reduce((a, b) => a + b, 0)).toBe(16);
    }
  });

  it("float32 arithmetic flips a start where float64 does not (docs/methods/fractional.md, window starts: L=7, O=4, K=2, u=0.8)", () => {
    // one row of increasing values: the argmax of each 2-wide window is its last element = start + 1
    const row = (dtype: "float32" | "float64") =>
      fractionalMaxPool2dWithIndices(arange([1, 1, 1, 7], dtype), { kernelSize: [1, 2], outputSize: [1, 4], samples: tensor([0.8, 0], [1, 1, 2], dtype) });
    expect(Array.from(row("float32").indices.data)).toEqual([1, 2, 4, 6]);
    expect(Array.from(row("float64").indices.data)).toEqual([1, 3, 4, 6]);
  });

  it("3-d samples are (u_D, u_H, u_W): each axis follows its own sample", () => {
    // 13×9×11 arange, k=2, outputs (6, 5, 4); samples (0.1, 0.5, 0.9): starts D [0,2,4,6,9,11], H [0,2,4,6,7], W [0,3,6,9]
    const r = fractionalMaxPool3dWithIndices(arange([1, 1, 13, 9, 11], "float64"), {
      kernelSize: 2,
      outputSize: [6, 5, 4],
      samples: tensor([0.1, 0.5, 0.9], [1, 1, 3], "float64"),
    });
    const idx = r.indices.data;
    const d = Array.from({ length: 6 }, (_, i) => Math.floor(idx[i * 20]! / 99) - 1);
    const h = Array.from({ length: 5 }, (_, i) => Math.floor((idx[i * 4]! % 99) / 11) - 1);
    const w = Array.from({ length: 4 }, (_, i) => (idx[i]! % 11) - 1);
    expect(d).toEqual([0, 2, 4, 6, 9, 11]);
    expect(h).toEqual([0, 2, 4, 6, 7]);
    expect(w).toEqual([0, 3, 6, 9]);
  });
});

describe("fractionalMaxPool: gradcheck (float64)", () => {
  const configs: [2 | 3, number[], Record<string, unknown>][] = [
    [2, [2, 2, 9, 8], { kernelSize: 3, outputSize: [5, 4] }],
    [2, [2, 7, 10], { kernelSize: [2, 3], outputRatio: [0.7, 0.6] }],
    [3, [1, 2, 5, 6, 7], { kernelSize: 2, outputSize: [3, 4, 4] }],
    [3, [2, 6, 5, 5], { kernelSize: [3, 2, 2], outputSize: [3, 3, 2] }],
  ];
  for (const [rank, shape, opts] of configs) {
    it(`${rank}d ${JSON.stringify(shape)} ${JSON.stringify(opts)} (fixed seed, overlapping windows)`, () => {
      const x = distinctRandom(shape, 21 + rank);
      gradcheck(([t]) => FMP[rank].vjp(t!, { ...opts, seed: 5 } as never), [x]);
      gradcheck(([t]) => FMPI[rank].vjp(t!, { ...opts, seed: 6 } as never), [x]);
    });
  }
});

describe("fractionalMaxPool: properties", () => {
  const caseArb = fc.constantFrom<2 | 3>(2, 3).chain((rank) =>
    fc
      .record({
        rank: fc.constant(rank),
        batched: fc.boolean(),
        n: fc.integer({ min: 1, max: 2 }),
        c: fc.integer({ min: 1, max: 2 }),
        dims: fc.array(fc.record({ L: fc.integer({ min: 2, max: 10 }), k: fc.integer({ min: 1, max: 4 }), o: fc.integer({ min: 1, max: 10 }) }), {
          minLength: rank,
          maxLength: rank,
        }),
        seed: fc.integer({ min: 0, max: 10000 }),
        dtype: fc.constantFrom(...FLOAT_DTYPES),
      })
      .map((r) => ({
        ...r,
        // clamp into valid configurations: k ≤ L, 1 ≤ o ≤ L − k + 1
        dims: r.dims.map(({ L, k, o }) => {
          const kk = Math.min(k, L);
          return { L, k: kk, o: Math.min(o, L - kk + 1) };
        }),
      })),
  );

  it("output lies within [min, max] of its plane; every index points at an element equal to the output", () => {
    fc.assert(
      fc.property(caseArb, ({ rank, batched, n, c, dims, seed, dtype }) => {
        const spatial = dims.map((d) => d.L);
        const shape = batched ? [n, c, ...spatial] : [c, ...spatial];
        const x = randomTensor(shape, seed, dtype);
        const opts = { kernelSize: dims.map((d) => d.k), outputSize: dims.map((d) => d.o), seed };
        const r = FMPI[rank](x, opts);
        expect([...r.output.shape]).toEqual(FMPI[rank].outputShape(shape, opts));
        expect([...FMP[rank](x, opts).shape]).toEqual(FMP[rank].outputShape(shape, opts));
        const inPlane = spatial.reduce((a, b) => a * b, 1);
        const outPlane = dims.reduce((a, d) => a * d.o, 1);
        for (let i = 0; i < r.output.size; i++) {
          const p = Math.floor(i / outPlane);
          const plane = Array.from(x.data.subarray(p * inPlane, (p + 1) * inPlane));
          const v = r.output.data[i]!;
          expect(v >= Math.min(...plane) && v <= Math.max(...plane)).toBe(true);
          const j = r.indices.data[i]!;
          expect(j >= 0 && j < inPlane).toBe(true);
          expect(x.data[p * inPlane + j]).toBe(v);
        }
      }),
      { numRuns: 80 },
    );
  });

  it("same seed → same output and samples; outputRatio agrees with outputSize = trunc(In · r)", () => {
    fc.assert(
      fc.property(caseArb, fc.double({ min: 0.05, max: 0.95, noNaN: true }), ({ rank, batched, n, c, dims, seed, dtype }, ratio) => {
        const spatial = dims.map((d) => d.L);
        const shape = batched ? [n, c, ...spatial] : [c, ...spatial];
        const x = randomTensor(shape, seed + 1, dtype);
        const opts = { kernelSize: dims.map((d) => d.k), outputSize: dims.map((d) => d.o), seed };
        const a = FMPI[rank](x, opts);
        const b = FMPI[rank](x, opts);
        expect(Array.from(b.output.data)).toEqual(Array.from(a.output.data));
        expect(Array.from(b.samples.data)).toEqual(Array.from(a.samples.data));
        const outs = spatial.map((L) => Math.trunc(L * ratio));
        if (outs.every((o, i) => o >= 1 && o + dims[i]!.k - 1 <= spatial[i]!)) {
          const byRatio = FMPI[rank](x, { kernelSize: opts.kernelSize, outputRatio: ratio, seed });
          const bySize = FMPI[rank](x, { kernelSize: opts.kernelSize, outputSize: outs, seed });
          expect([...byRatio.output.shape]).toEqual([...bySize.output.shape]);
          expect(Array.from(byRatio.indices.data)).toEqual(Array.from(bySize.indices.data));
        }
      }),
      { numRuns: 60 },
    );
  });
});
