import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { s3Pool2d, s3Pool2dWithSelection } from "../../src/ops/novel.js";
import { getPool } from "../../src/registry.js";
import { tensor } from "../../src/tensor/tensor.js";
import { manualSeed } from "../../src/tensor/random.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { expected, FLOAT_DTYPES, fromJSON, loadFixture, replayCases, type TensorJSON } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";
import { randomTensor } from "../helpers/tensors.js";


const arange16 = () => tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4], "float64");

describe("s3Pool2d: shape / smoke", () => {
  it("[N, C, H/s, W/s] in training and eval, batched and unbatched, both dtypes; outputShape agrees", () => {
    const cases: [number[], Record<string, unknown>, number[]][] = [
      [[2, 3, 8, 8], {}, [2, 3, 4, 4]],
      [[3, 8, 12], { kernelSize: 2, gridSize: 4 }, [3, 4, 6]],
      [[1, 2, 16, 16], { kernelSize: 2, gridSize: 8 }, [1, 2, 8, 8]],
      [[1, 1, 9, 6], { kernelSize: 3 }, [1, 1, 3, 2]],
      [[1, 2, 8, 9], { kernelSize: [2, 3], gridSize: [4, 3], stride: [2, 3] }, [1, 2, 4, 3]],
      [[1, 1, 8, 8], { kernelSize: 3, gridSize: 4, stride: 2 }, [1, 1, 4, 4]],
    ];
    for (const [shape, opts, want] of cases) {
      for (const dtype of FLOAT_DTYPES) {
        const x = randomTensor(shape, 1, dtype);
        for (const training of [true, false]) {
          const y = s3Pool2d(x, { ...opts, training, seed: 3 } as never);
          const r = s3Pool2dWithSelection(x, { ...opts, training, seed: 3 } as never);
          expect(y.shape).toEqual(want);
          expect(y.dtype).toBe(dtype);
          expect(Array.from(r.output.data)).toEqual(Array.from(y.data));
          if (training) {
            expect(r.rows!.shape).toEqual([want.at(-2)]);
            expect(r.cols!.shape).toEqual([want.at(-1)]);
            expect(r.rows!.dtype).toBe("int32");
          } else {
            expect(r.rows).toBeNull();
            expect(r.cols).toBeNull();
          }
        }
        expect(s3Pool2d.outputShape(shape, opts as never)).toEqual(want);
        expect(getPool("s3pool").outputShape(shape, opts)).toEqual(want);
      }
    }
  });

  it("same seed → same selection; unseeded calls redraw from the global generator; eval is deterministic", () => {
    const x = randomTensor([2, 3, 16, 16], 2);
    const a = s3Pool2dWithSelection(x, { gridSize: 8, seed: 4 });
    const b = s3Pool2dWithSelection(x, { gridSize: 8, seed: 4 });
    expect(Array.from(b.output.data)).toEqual(Array.from(a.output.data));
    manualSeed(6);
    const g1 = s3Pool2dWithSelection(x, { gridSize: 8 });
    const g2 = s3Pool2dWithSelection(x, { gridSize: 8 });
    manualSeed(6);
    const g3 = s3Pool2dWithSelection(x, { gridSize: 8 });
    expect(Array.from(g3.rows!.data)).toEqual(Array.from(g1.rows!.data));
    expect(Array.from(g3.cols!.data)).toEqual(Array.from(g1.cols!.data));
    expect([...g2.rows!.data, ...g2.cols!.data]).not.toEqual([...g1.rows!.data, ...g1.cols!.data]);
    const e1 = s3Pool2d(x, { training: false });
    manualSeed(7);
    const e2 = s3Pool2d(x, { training: false });
    expect(Array.from(e2.data)).toEqual(Array.from(e1.data));
  });

  it("one selection shared by all samples and channels; returned rows/cols replay the call", () => {
    const plane = randomTensor([1, 1, 8, 8], 3);
    const copies = new Float64Array(6 * 64);
    for (let i = 0; i < 6; i++) copies.set(plane.data, i * 64);
    const x = tensor(copies, [2, 3, 8, 8], "float64");
    const r = s3Pool2dWithSelection(x, { gridSize: 4, seed: 9 });
    for (let i = 1; i < 6; i++) expect(Array.from(r.output.data.subarray(i * 16, i * 16 + 16))).toEqual(Array.from(r.output.data.subarray(0, 16)));
    const again = s3Pool2d(x, { gridSize: 4, rows: r.rows!, cols: Array.from(r.cols!.data) });
    expect(Array.from(again.data)).toEqual(Array.from(r.output.data));
  });

  it("backward uses the forward's selection, may be called twice, and mutates nothing", () => {
    const x = randomTensor([1, 2, 8, 8], 5);
    const before = Array.from(x.data);
    manualSeed(2);
    const { output, backward } = s3Pool2dWithSelection.vjp(x, { gridSize: 4 });
    s3Pool2d(x, { gridSize: 4 }); // moves the global generator on
    const dy = randomTensor([1, 2, 4, 4], 6);
    const d1 = backward(dy)[0]!;
    expect(Array.from(backward(dy)[0]!.data)).toEqual(Array.from(d1.data));
    const replay = s3Pool2d.vjp(x, { gridSize: 4, rows: output.rows!, cols: output.cols! }).backward(dy)[0]!;
    expect(Array.from(replay.data)).toEqual(Array.from(d1.data));
    expect(Array.from(x.data)).toEqual(before);
  });
});

describe("s3Pool2d: errors", () => {
  const x = randomTensor([1, 2, 8, 8], 1);
  it("H and W must be multiples of gridSize; g a multiple of s; shapes must agree between train and eval", () => {
    expect(() => s3Pool2d(randomTensor([1, 1, 10, 8], 1), { gridSize: 4 })).toThrow("s3Pool2d: input height must be a multiple of gridSize, got height 10 for gridSize 4");
    expect(() => s3Pool2d(randomTensor([1, 1, 8, 7], 1), {})).toThrow("s3Pool2d: input width must be a multiple of gridSize, got width 7 for gridSize 2");
    expect(() => s3Pool2d(x, { gridSize: 3, stride: 2 })).toThrow("s3Pool2d: gridSize must be a multiple of stride, got gridSize 3 and stride 2");
    expect(() => s3Pool2d(x, { kernelSize: 4, gridSize: 8, stride: 2 })).toThrow(
      /s3Pool2d: kernelSize 4 and stride 2 give 4 output rows in training but 3 in eval for input height 8/,
    );
    expect(() => s3Pool2d(x, { kernelSize: 4, gridSize: 2, stride: 2 })).toThrow(/s3Pool2d: the last grid cell along the height has -1 rows of the max-pooled map, fewer than the 1 to select/);
    expect(() => s3Pool2d(randomTensor([1, 1, 2, 2], 1), { kernelSize: 3, gridSize: 1, stride: 1 })).toThrow("s3Pool2d: kernelSize 3 is larger than the input height 2");
  });

  it("rejects bad options, selections and inputs", () => {
    expect(() => s3Pool2d(x, { pool_size: 2 } as never)).toThrow(/s3Pool2d: unknown option "pool_size"; known options: kernelSize, gridSize, stride/);
    expect(() => s3Pool2d(x, { kernelSize: 0 })).toThrow("s3Pool2d: kernelSize must be positive integers, got 0");
    expect(() => s3Pool2d(x, { training: 1 } as never)).toThrow("s3Pool2d: training must be a boolean, got 1");
    expect(() => s3Pool2d(x, { seed: -0.5 })).toThrow("s3Pool2d: seed must be a safe integer, got -0.5");
    expect(() => s3Pool2d(x, { rows: [0, 2, 4, 6] })).toThrow("s3Pool2d: rows and cols must be given together, got only rows");
    expect(() => s3Pool2d(x, { rows: [0, 2, 4], cols: [0, 2, 4, 6] })).toThrow("s3Pool2d: rows must hold 4 indices (1 per grid cell), got 3");
    expect(() => s3Pool2d(x, { rows: [0, 2, 6, 6], cols: [0, 2, 4, 6] })).toThrow("s3Pool2d: rows of grid cell 2 must be increasing integers in [4, 6), got 6 at index 2");
    expect(() => s3Pool2d(x, { rows: [0, 2, 4, 7], cols: [0, 2, 4, 6] })).toThrow("s3Pool2d: rows of grid cell 3 must be increasing integers in [6, 7), got 7 at index 3");
    expect(() => s3Pool2d(x, { gridSize: 4, rows: [1, 1, 4, 5], cols: [0, 1, 4, 5] })).toThrow("s3Pool2d: rows of grid cell 0 must be increasing integers in [0, 4), got 1 at index 1");
    expect(() => s3Pool2d(x, { rows: "0246", cols: [0, 2, 4, 6] } as never)).toThrow('s3Pool2d: rows must be an array of integers or a Tensor, got "0246"');
    expect(() => s3Pool2d(x, { training: false, rows: [0, 2, 4, 6], cols: [0, 2, 4, 6] })).toThrow("s3Pool2d: rows and cols only apply with training: true");
    expect(() => s3Pool2d(tensor([1, 2, 3, 4], [2, 2]), {})).toThrow("s3Pool2d: x must have shape [N, C, H, W] or [C, H, W], got [2, 2]");
  });
});

describe("s3Pool2d: values", () => {
  interface Case {
    name: string;
    options: Record<string, unknown>;
    rows?: number[];
    cols?: number[];
    x: TensorJSON;
    y: TensorJSON;
    dy: TensorJSON;
    dx: TensorJSON;
  }
  const fixture = loadFixture<Case>("novel_s3pool.json");

  it("has the fixture cases", () => expect(fixture.cases.length).toBeGreaterThanOrEqual(10));
  replayCases(
    fixture.cases,
    (c, _i, dtype) => `${c.name} (${dtype}) matches the PyTorch reference, forward and backward`,
    (c, dtype) => {
      const x = fromJSON(c.x, dtype);
      const opts: Record<string, unknown> = { ...c.options };
      if (c.rows) Object.assign(opts, { rows: c.rows, cols: c.cols });
      const { output, backward } = s3Pool2d.vjp(x, opts as never);
      const tol = tolFor(dtype);
      expect(output.shape).toEqual(c.y.shape);
      expectClose(output.data, expected(c.y).data, tol, "y");
      expectClose(backward(fromJSON(c.dy, dtype))[0]!.data, expected(c.dx).data, tol, "dx");
    },
  );

  it("docs/methods/s3pool.md worked numbers: arange(16) 4×4, k = g = s = 2: eval [[5, 6.5], [11, 12.5]]; rows [1,2], cols [0,2] give [[9,11],[13,15]]", () => {
    const x = arange16();
    expect(Array.from(s3Pool2d(x, { training: false }).data)).toEqual([5, 6.5, 11, 12.5]);
    const r = s3Pool2d.vjp(x, { rows: [1, 2], cols: [0, 2] });
    expect(Array.from(r.output.data)).toEqual([9, 11, 13, 15]);
    const dx = Array.from(r.backward(tensor([1, 1, 1, 1], [1, 1, 2, 2], "float64"))[0]!.data);
    const want = new Array(16).fill(0);
    for (const [i, j] of [[2, 1], [2, 3], [3, 1], [3, 3]] as const) want[i * 4 + j] = 1;
    expect(dx).toEqual(want);
  });

  it("docs/methods/s3pool.md worked numbers: the last cell has one row fewer, so rows are {0 or 1} then 2", () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const r = s3Pool2dWithSelection(arange16(), { seed });
      seen.add(Array.from(r.rows!.data).join(","));
      expect(r.cols!.data[1]).toBe(2);
    }
    expect([...seen].sort()).toEqual(["0,2", "1,2"]);
  });
});

describe("s3Pool2d: gradcheck (float64)", () => {
  it("training with a fixed selection, several grids", () => {
    const x = distinctRandom([2, 2, 8, 8], 3);
    gradcheck((t) => s3Pool2d.vjp(t[0]!, { seed: 4 }), [x]);
    gradcheck((t) => s3Pool2d.vjp(t[0]!, { gridSize: 4, seed: 5 }), [x]);
    gradcheck((t) => s3Pool2d.vjp(t[0]!, { kernelSize: 3, gridSize: 4, stride: 2, seed: 6 }), [x]);
  });
  it("eval (pad-excluding average of the max-pooled map)", () => {
    gradcheck((t) => s3Pool2d.vjp(t[0]!, { training: false }), [distinctRandom([2, 2, 8, 8], 7)]);
    gradcheck((t) => s3Pool2d.vjp(t[0]!, { kernelSize: 3, training: false }), [distinctRandom([2, 9, 6], 8)]);
  });
});

describe("s3Pool2d: properties", () => {
  it("output shape is [N, C, H/s, W/s] for valid grids, in training and eval, and equals outputShape", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 999 }),
        (s, per, cellsH, cellsW, kExtra, training, seed) => {
          const g = s * per;
          // Training and eval shapes agree for 2 ≤ k ≤ s + 1 (even s) or k ≤ s (odd s).
          const k = s % 2 === 0 ? 1 + Math.min(s, kExtra) : Math.min(s, kExtra);
          const H = g * cellsH;
          const W = g * cellsW;
          fc.pre(g - k + 1 >= per && k <= H && k <= W);
          const x = randomTensor([2, 1, H, W], seed);
          const opts = { kernelSize: k, gridSize: g, stride: s, training, seed };
          const y = s3Pool2d(x, opts);
          expect(y.shape).toEqual([2, 1, H / s, W / s]);
          expect(s3Pool2d.outputShape(x.shape, opts)).toEqual([2, 1, H / s, W / s]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("training selections are sorted, distinct and per cell: g/s indices in each cell, the last cell k − 1 shorter", () => {
    fc.assert(
      fc.property(fc.constantFrom(2, 4, 8), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 9999 }), (g, cells, seed) => {
        const H = g * cells;
        const r = s3Pool2dWithSelection(randomTensor([1, 1, H, H], seed), { kernelSize: 2, gridSize: g, stride: 2, seed });
        const rows = Array.from(r.rows!.data);
        const per = g / 2;
        expect(rows.length).toBe(cells * per);
        for (let c = 0; c < cells; c++) {
          const cell = rows.slice(c * per, (c + 1) * per);
          const hi = c < cells - 1 ? (c + 1) * g : H - 1; // max-pooled map has H − 1 rows
          for (let t = 0; t < per; t++) {
            expect(cell[t]!).toBeGreaterThanOrEqual(c * g);
            expect(cell[t]!).toBeLessThan(hi);
            if (t > 0) expect(cell[t]!).toBeGreaterThan(cell[t - 1]!);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it("every row of a full cell is selected with frequency ≈ per/g (binomial bound)", () => {
    // g = 4, s = 2: 2 of the 4 rows of the first cell, so each row has probability 1/2.
    const x = randomTensor([1, 1, 8, 8], 1);
    const counts = [0, 0, 0, 0];
    const n = 2000;
    for (let seed = 0; seed < n; seed++) {
      const rows = s3Pool2dWithSelection(x, { gridSize: 4, seed }).rows!.data;
      counts[rows[0] as number]! += 1;
      counts[rows[1] as number]! += 1;
    }
    for (const c of counts) expect(Math.abs(c / n - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / n));
  });
});
