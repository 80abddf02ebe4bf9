import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  adaptiveAvgPool3d,
  adaptiveMaxPool1d,
  adaptiveMaxPool2d,
  adaptiveMaxPool3d,
  adaptiveMaxPool1dWithIndices,
  adaptiveMaxPool2dWithIndices,
  adaptiveMaxPool3dWithIndices,
} from "../../src/ops/adaptive.js";
import { adaptiveAxis } from "../../src/geometry/adaptive.js";
import { getPool } from "../../src/registry.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { expected, FLOAT_DTYPES, fromJSON, loadFixture, type TensorJSON } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";
import { randomTensor } from "../helpers/tensors.js";

const AVG = { 1: adaptiveAvgPool1d, 2: adaptiveAvgPool2d, 3: adaptiveAvgPool3d } as const;
const MAX = { 1: adaptiveMaxPool1d, 2: adaptiveMaxPool2d, 3: adaptiveMaxPool3d } as const;
const MAXI = { 1: adaptiveMaxPool1dWithIndices, 2: adaptiveMaxPool2dWithIndices, 3: adaptiveMaxPool3dWithIndices } as const;

describe("adaptive pooling: shape / smoke", () => {
  it("batched and unbatched, every rank and dtype; outputShape equals the forward shape", () => {
    const cases: [1 | 2 | 3, number[], number | (number | null)[], number[]][] = [
      [1, [2, 3, 10], 4, [2, 3, 4]],
      [1, [3, 10], [null], [3, 10]],
      [2, [2, 3, 7, 9], [null, 4], [2, 3, 7, 4]],
      [2, [3, 7, 9], [5, null], [3, 5, 9]],
      [2, [1, 2, 3, 2], [5, 7], [1, 2, 5, 7]],
      [3, [2, 1, 4, 5, 6], [2, null, 3], [2, 1, 2, 5, 3]],
      [3, [2, 4, 5, 6], 3, [2, 3, 3, 3]],
    ];
    for (const [rank, shape, outputSize, want] of cases) {
      for (const dtype of FLOAT_DTYPES) {
        const x = randomTensor(shape, 1, dtype);
        const a = AVG[rank](x, { outputSize });
        const m = MAX[rank](x, { outputSize });
        const { output, indices } = MAXI[rank](x, { outputSize });
        for (const t of [a, m, output]) {
          expect(t.shape).toEqual(want);
          expect(t.dtype).toBe(dtype);
        }
        expect(indices.dtype).toBe("int32");
        expect(indices.shape).toEqual(want);
        expect(AVG[rank].outputShape(shape, { outputSize })).toEqual(want);
        expect(MAX[rank].outputShape(shape, { outputSize })).toEqual(want);
        expect(MAXI[rank].outputShape(shape, { outputSize })).toEqual(want);
      }
    }
  });

  it("accepts an empty batch", () => {
    expect(adaptiveAvgPool2d(tensor([], [0, 2, 4, 4]), { outputSize: 2 }).shape).toEqual([0, 2, 2, 2]);
    expect(adaptiveMaxPool2d(tensor([], [0, 2, 4, 4]), { outputSize: 2 }).shape).toEqual([0, 2, 2, 2]);
  });

  it("does not mutate inputs; backward may be called twice and returns one gradient", () => {
    const x = randomTensor([1, 2, 5, 6], 3);
    const before = Array.from(x.data);
    for (const op of [adaptiveAvgPool2d, adaptiveMaxPool2d, adaptiveMaxPool2dWithIndices]) {
      const { backward } = op.vjp(x, { outputSize: [3, 4] });
      const dy = randomTensor([1, 2, 3, 4], 4);
      const g1 = backward(dy);
      const g2 = backward(dy);
      expect(g1.length).toBe(1);
      expect(Array.from(g1[0]!.data)).toEqual(Array.from(g2[0]!.data));
      expect(g1[0]!.shape).toEqual(x.shape);
    }
    expect(Array.from(x.data)).toEqual(before);
  });

  it("backward keeps its own indices when the caller overwrites the returned ones", () => {
    const x = tensor([[[1, 9, 2, 3, 0]]], undefined, "float64");
    const { output, backward } = adaptiveMaxPool1dWithIndices.vjp(x, { outputSize: 3 });
    (output.indices.data as Int32Array).fill(0);
    expect(Array.from(backward(tensor([[[1, 1, 1]]], undefined, "float64"))[0]!.data)).toEqual([0, 2, 0, 1, 0]);
  });

  it("registry descriptors: names, aliases and outputShape from the ops", () => {
    expect(getPool("adaptive-avg").export).toBe("adaptiveAvgPool2d");
    expect(getPool("AdaptiveMaxPool3d").name).toBe("AdaptiveMax");
    expect(getPool("adaptiveAvgPool1d").name).toBe("AdaptiveAverage");
    for (const name of ["AdaptiveAverage", "AdaptiveMax"]) {
      const m = getPool(name);
      expect(m.outputShape([2, 3, 16, 16], m.defaults)).toEqual([2, 3, 5, 5]);
      expect(m.outputShape([2, 3, 16], m.defaults, 1)).toEqual([2, 3, 5]);
      expect(m.outputShape([2, 3, 16, 16, 16], { outputSize: [2, null, 3] }, 3)).toEqual([2, 3, 2, 16, 3]);
      for (const d of m.dims) expect(m.ops[d]!.opName).toBe(m.exports[d]);
      const y = m.ops[2]!(randomTensor([2, 3, 16, 16], 5, "float32"), m.defaults) as Tensor;
      expect(y.shape).toEqual([2, 3, 5, 5]);
    }
  });
});

describe("adaptive pooling: errors", () => {
  const x = randomTensor([1, 2, 5, 5], 1);
  it("rejects bad outputSize with the value in the message", () => {
    expect(() => adaptiveAvgPool2d(x, { outputSize: 0 })).toThrow("adaptiveAvgPool2d: outputSize must hold positive integers or null, got 0");
    expect(() => adaptiveMaxPool2d(x, { outputSize: -2 })).toThrow("adaptiveMaxPool2d: outputSize must hold positive integers or null, got -2");
    expect(() => adaptiveAvgPool2d(x, { outputSize: 2.5 })).toThrow("adaptiveAvgPool2d: outputSize must hold positive integers or null, got 2.5");
    expect(() => adaptiveAvgPool2d(x, { outputSize: [2, 0] })).toThrow("adaptiveAvgPool2d: outputSize must hold positive integers or null, got [2, 0]");
    expect(() => adaptiveAvgPool2d(x, { outputSize: [2, 2, 2] })).toThrow(
      "adaptiveAvgPool2d: outputSize must be a number or an array of 2 numbers (or nulls), got [2, 2, 2]",
    );
    expect(() => adaptiveMaxPool3d(randomTensor([1, 1, 3, 3, 3], 1), { outputSize: [2] })).toThrow(
      "adaptiveMaxPool3d: outputSize must be a number or an array of 3 numbers (or nulls), got [2]",
    );
    expect(() => adaptiveAvgPool1d(randomTensor([1, 4], 1), { outputSize: "2" as never })).toThrow(
      'adaptiveAvgPool1d: outputSize must be a number or an array of 1 numbers (or nulls), got "2"',
    );
    expect(() => adaptiveAvgPool2d(x, {} as never)).toThrow("adaptiveAvgPool2d: outputSize is required");
    expect(() => adaptiveAvgPool2d(x, undefined as never)).toThrow("adaptiveAvgPool2d: outputSize is required");
    expect(() => adaptiveAvgPool2d.outputShape([1, 2, 5, 5], { outputSize: 0 })).toThrow("adaptiveAvgPool2d: outputSize must hold positive integers or null, got 0");
  });
  it("rejects bad inputs and options", () => {
    expect(() => adaptiveAvgPool2d(randomTensor([5, 5], 1), { outputSize: 2 })).toThrow("adaptiveAvgPool2d: x must have shape [N, C, H, W] or [C, H, W], got [5, 5]");
    expect(() => adaptiveMaxPool1d(randomTensor([1, 1, 2, 5], 1), { outputSize: 2 })).toThrow("adaptiveMaxPool1d: x must have shape [N, C, L] or [C, L], got [1, 1, 2, 5]");
    expect(() => adaptiveMaxPool3dWithIndices(randomTensor([2, 5, 5], 1), { outputSize: 2 })).toThrow(
      "adaptiveMaxPool3dWithIndices: x must have shape [N, C, D, H, W] or [C, D, H, W], got [2, 5, 5]",
    );
    expect(() => adaptiveAvgPool2d([[1, 2]] as never, { outputSize: 2 })).toThrow("adaptiveAvgPool2d: x must be a Tensor, got [[1, 2]]");
    expect(() => adaptiveMaxPool2d(tensor([1, 2, 3, 4], [1, 1, 2, 2], "int32"), { outputSize: 1 })).toThrow("adaptiveMaxPool2d: x must be float32 or float64, got int32");
    expect(() => adaptiveAvgPool2d(tensor([], [1, 0, 2, 2]), { outputSize: 1 })).toThrow("adaptiveAvgPool2d: x must have non-empty channel and spatial dims, got shape [1, 0, 2, 2]");
    expect(() => adaptiveAvgPool2d(x, { outputSize: 2, output_size: 2 } as never)).toThrow('adaptiveAvgPool2d: unknown option "output_size"; known options: outputSize');
    expect(() => adaptiveAvgPool2d.outputShape([5, 5], { outputSize: 2 })).toThrow("adaptiveAvgPool2d: x must have shape [N, C, H, W] or [C, H, W], got [5, 5]");
    const { backward } = adaptiveAvgPool2d.vjp(x, { outputSize: 2 });
    expect(() => backward(randomTensor([1, 2, 3, 3], 1))).toThrow("adaptiveAvgPool2d: backward: dy must have the output's shape [1, 2, 2, 2], got [1, 2, 3, 3]");
  });
});

interface AdaptiveCase {
  name: string;
  kind: "avg" | "max";
  rank: 1 | 2 | 3;
  outputSize: number | (number | null)[];
  x: TensorJSON;
  dy: TensorJSON;
  f32: { y: TensorJSON; idx: TensorJSON | null; dx: TensorJSON };
  f64: { y: TensorJSON; idx: TensorJSON | null; dx: TensorJSON };
}

describe("adaptive pooling: values", () => {
  const fixture = loadFixture<AdaptiveCase>("pytorch_adaptive.json");

  it("fixture covers overlap, repeat, None, ties, NaN, -inf, unbatched and every rank", () => {
    const names = fixture.cases.map((c) => c.name).join(" | ");
    for (const word of ["overlap", "repeat", "None", "ties", "NaN", "-inf", "unbatched", "1d", "2d", "3d"]) expect(names).toContain(word);
    expect(fixture.cases.length).toBeGreaterThanOrEqual(40);
  });

  for (const dtype of FLOAT_DTYPES) {
    it(`replays PyTorch values, indices and gradients in ${dtype}`, () => {
      const key = dtype === "float32" ? "f32" : "f64";
      const tol = tolFor(dtype);
      for (const c of fixture.cases) {
        const x = fromJSON(c.x, dtype);
        const dy = fromJSON(c.dy, dtype);
        const ref = c[key];
        const label = `${c.name} (${dtype})`;
        if (c.kind === "avg") {
          const { output, backward } = AVG[c.rank].vjp(x, { outputSize: c.outputSize });
          expect([...output.shape], label).toEqual(ref.y.shape);
          expectClose(output.data, expected(ref.y).data, tol, `${label} y`);
          expectClose(backward(dy)[0]!.data, expected(ref.dx).data, tol, `${label} dx`);
        } else {
          const { output, backward } = MAXI[c.rank].vjp(x, { outputSize: c.outputSize });
          expect([...output.output.shape], label).toEqual(ref.y.shape);
          // max selects an input element: exact, NaN included
          expectClose(output.output.data, expected(ref.y).data, { atol: 0, rtol: 0 }, `${label} y`);
          expect(Array.from(output.indices.data), `${label} idx`).toEqual(ref.idx!.data);
          expectClose(backward(dy)[0]!.data, expected(ref.dx).data, tol, `${label} dx`);
          // the plain op gives the same output
          expectClose(MAX[c.rank](x, { outputSize: c.outputSize }).data, expected(ref.y).data, { atol: 0, rtol: 0 }, `${label} plain`);
        }
      }
    });
  }

  it("spec bins table (downstream §1)", () => {
    const bins = (In: number, Out: number): [number, number][] => {
      const a = adaptiveAxis(In, Out);
      return Array.from(a.start, (s, i) => [s, a.end[i] as number]);
    };
    expect(bins(5, 3)).toEqual([[0, 2], [1, 4], [3, 5]]);
    expect(bins(10, 4)).toEqual([[0, 3], [2, 5], [5, 8], [7, 10]]);
    expect(bins(3, 5)).toEqual([[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]]);
  });

  it("spec worked examples (downstream §1)", () => {
    const t = (v: number[]): Tensor => tensor([[v]], undefined, "float64");
    const ones = (n: number): Tensor => t(new Array<number>(n).fill(1));
    const avg = adaptiveAvgPool1d.vjp(t([1, 2, 3, 4, 5]), { outputSize: 3 });
    expectClose(avg.output.data, [1.5, 3.0, 4.5], { atol: 1e-12 });
    expectClose(avg.backward(ones(3))[0]!.data, [0.5, 0.5 + 1 / 3, 1 / 3, 0.5 + 1 / 3, 0.5], { atol: 1e-12 });
    expectClose(adaptiveAvgPool1d(t([10, 20, 30]), { outputSize: 5 }).data, [10, 15, 20, 25, 30], { atol: 1e-12 });
    const m1 = adaptiveMaxPool1dWithIndices(t([3, 1, 4, 1, 5]), { outputSize: 3 });
    expect(Array.from(m1.output.data)).toEqual([3, 4, 5]);
    expect(Array.from(m1.indices.data)).toEqual([0, 2, 4]);
    const m2 = adaptiveMaxPool1dWithIndices.vjp(t([1, 9, 2, 3, 0]), { outputSize: 3 });
    expect(Array.from(m2.output.output.data)).toEqual([9, 9, 3]);
    expect(Array.from(m2.output.indices.data)).toEqual([1, 1, 3]);
    expect(Array.from(m2.backward(ones(3))[0]!.data)).toEqual([0, 2, 0, 1, 0]);
    const m3 = adaptiveMaxPool1d.vjp(t([4, 7, 1]), { outputSize: 5 });
    expect(Array.from(m3.output.data)).toEqual([4, 7, 7, 7, 1]);
    expect(Array.from(m3.backward(ones(5))[0]!.data)).toEqual([1, 3, 1]);
    const m4 = adaptiveMaxPool1dWithIndices(t([1, NaN, 3, 4]), { outputSize: 2 });
    expect(Number.isNaN(m4.output.data[0])).toBe(true);
    expect(m4.output.data[1]).toBe(4);
    expect(Array.from(m4.indices.data)).toEqual([1, 3]);
    // the last NaN's index wins
    expect(Array.from(adaptiveMaxPool1dWithIndices(t([NaN, 2, NaN, 1]), { outputSize: 1 }).indices.data)).toEqual([2]);
    // global max: the whole gradient goes to the first argmax
    expect(Array.from(adaptiveMaxPool2d.vjp(tensor([[[[0, 5], [5, 1]]]], undefined, "float64"), { outputSize: 1 }).backward(tensor([[[[1]]]], undefined, "float64"))[0]!.data)).toEqual([0, 1, 0, 0]);
    expect(adaptiveAvgPool2d(randomTensor([1, 1, 7, 9], 1), { outputSize: [null, 4] }).shape).toEqual([1, 1, 7, 4]);
    expect(adaptiveMaxPool2d(randomTensor([1, 1, 7, 9], 1), { outputSize: [5, null] }).shape).toEqual([1, 1, 5, 9]);
  });
});

describe("adaptive pooling: gradcheck (float64)", () => {
  const configs: [1 | 2 | 3, number[], number | (number | null)[]][] = [
    [1, [2, 2, 7], 3],
    [1, [2, 3], 5],
    [2, [1, 2, 5, 7], [3, 4]],
    [2, [2, 3, 4], [6, null]],
    [3, [1, 1, 3, 4, 5], [2, 3, 2]],
    [3, [2, 3, 2, 3], [4, 1, 2]],
  ];
  for (const [rank, shape, outputSize] of configs) {
    it(`avg and max ${rank}d ${JSON.stringify(shape)} → ${JSON.stringify(outputSize)}`, () => {
      const x = distinctRandom(shape, 11 + rank);
      gradcheck(([t]) => AVG[rank].vjp(t!, { outputSize }), [x]);
      gradcheck(([t]) => MAX[rank].vjp(t!, { outputSize }), [x]);
      gradcheck(([t]) => MAXI[rank].vjp(t!, { outputSize }), [x]);
    });
  }
});

describe("adaptive pooling: properties", () => {
  const rankArb = fc.constantFrom<1 | 2 | 3>(1, 2, 3);
  const caseArb = rankArb.chain((rank) =>
    fc.record({
      rank: fc.constant(rank),
      batched: fc.boolean(),
      n: fc.integer({ min: 1, max: 2 }),
      c: fc.integer({ min: 1, max: 2 }),
      spatial: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: rank, maxLength: rank }),
      out: fc.array(fc.option(fc.integer({ min: 1, max: 9 }), { nil: null }), { minLength: rank, maxLength: rank }),
      seed: fc.integer({ min: 0, max: 1000 }),
    }),
  );

  it("outputShape equals the forward shape", () => {
    fc.assert(
      fc.property(caseArb, ({ rank, batched, n, c, spatial, out, seed }) => {
        const shape = batched ? [n, c, ...spatial] : [c, ...spatial];
        const x = randomTensor(shape, seed, "float32");
        for (const op of [AVG[rank], MAX[rank]]) expect([...op(x, { outputSize: out }).shape]).toEqual(op.outputShape(shape, { outputSize: out }));
        const r = MAXI[rank](x, { outputSize: out });
        expect([...r.output.shape]).toEqual(MAXI[rank].outputShape(shape, { outputSize: out }));
      }),
      { numRuns: 60 },
    );
  });

  it("adaptive(out = in) is the identity for avg and max, with identity gradients", () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom(...FLOAT_DTYPES), ({ rank, batched, n, c, spatial, seed }, dtype) => {
        const shape = batched ? [n, c, ...spatial] : [c, ...spatial];
        const x = randomTensor(shape, seed, dtype);
        for (const outputSize of [spatial, spatial.map(() => null)]) {
          for (const op of [AVG[rank], MAX[rank]]) {
            const { output, backward } = op.vjp(x, { outputSize });
            expect(Array.from(output.data)).toEqual(Array.from(x.data));
            expect(Array.from(backward(x)[0]!.data)).toEqual(Array.from(x.data));
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it("max indices point at an element equal to the output ; avg ≤ max", () => {
    fc.assert(
      fc.property(caseArb, ({ rank, batched, n, c, spatial, out, seed }) => {
        const shape = batched ? [n, c, ...spatial] : [c, ...spatial];
        const x = randomTensor(shape, seed);
        const { output, indices } = MAXI[rank](x, { outputSize: out });
        const avg = AVG[rank](x, { outputSize: out });
        const inPlane = spatial.reduce((a, b) => a * b, 1);
        const outPlane = output.size / (batched ? n * c : c);
        for (let i = 0; i < output.size; i++) {
          const p = Math.floor(i / outPlane);
          expect(x.data[p * inPlane + (indices.data[i] as number)]).toBe(output.data[i]);
          expect(avg.data[i]! <= output.data[i]! + 1e-12).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });
});
