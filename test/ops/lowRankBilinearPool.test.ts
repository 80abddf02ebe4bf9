import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { lowRankBilinearPool } from "../../src/ops/lowRankBilinearPool.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { randn } from "../../src/tensor/random.js";
import { expectClose, expectTensorClose, tolFor } from "../helpers/close.js";
import { expected, fromJSON, loadFixture, replayCases, type TensorJSON } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";

type Maybe = TensorJSON | null;
interface Case {
  name: string;
  options: Record<string, unknown>;
  x: TensorJSON; y: TensorJSON; U: TensorJSON; V: TensorJSON; P: TensorJSON; bU: Maybe; bV: Maybe; bP: Maybe;
  output: TensorJSON;
  dy: TensorJSON;
  grads: Maybe[];
}

const f64 = (v: number[] | number[][], shape: number[]) => tensor(v.flat(), shape, "float64");
const rt = (shape: number[], seed: number): Tensor => randn(shape, { seed, dtype: "float64" });

describe("lowRankBilinearPool: shape / smoke", () => {
  it("[N, Cx, H, W], [N, Cy, H, W] -> [N, O] (mean/sum) or [N, O, H, W] (none); y may be [N, Cy]; both dtypes", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const x = randn([2, 3, 4, 4], { seed: 1, dtype });
      const y = randn([2, 5, 4, 4], { seed: 2, dtype });
      const U = randn([6, 3], { seed: 3, dtype });
      const V = randn([6, 5], { seed: 4, dtype });
      const P = randn([2, 6], { seed: 5, dtype });
      const f = lowRankBilinearPool(x, y, U, V, P);
      expect(f.shape).toEqual([2, 2]);
      expect(f.dtype).toBe(dtype);
      expect(lowRankBilinearPool.outputShape(x.shape, P.shape)).toEqual([2, 2]);
      expect(lowRankBilinearPool(x, y, U, V, P, null, null, null, { pooling: "none" }).shape).toEqual([2, 2, 4, 4]);
      expect(lowRankBilinearPool.outputShape(x.shape, P.shape, { pooling: "none" })).toEqual([2, 2, 4, 4]);
      expect(lowRankBilinearPool(x, randn([2, 5], { seed: 6, dtype }), U, V, P).shape).toEqual([2, 2]);
    }
  });
  it("backward returns eight gradients, null for absent biases; inputs are not mutated", () => {
    const x = randn([1, 2, 3], { seed: 1, dtype: "float64" });
    const y = randn([1, 2, 3], { seed: 2, dtype: "float64" });
    const U = randn([3, 2], { seed: 3, dtype: "float64" });
    const U0 = [...U.data];
    const bP = randn([2], { seed: 4, dtype: "float64" });
    const grads = lowRankBilinearPool.vjp(x, y, U, U, randn([2, 3], { seed: 5, dtype: "float64" }), null, undefined, bP).backward(randn([1, 2], { seed: 6, dtype: "float64" }));
    expect(grads.length).toBe(8);
    expect(grads.map((g) => (g === null ? null : g.shape))).toEqual([[1, 2, 3], [1, 2, 3], [3, 2], [3, 2], [2, 3], null, null, [2]]);
    expect([...U.data]).toEqual(U0);
  });
});

describe("lowRankBilinearPool: errors", () => {
  const x = randn([2, 3, 4, 4], { seed: 1 });
  const y = randn([2, 5, 4, 4], { seed: 2 });
  const U = randn([6, 3], { seed: 3 });
  const V = randn([6, 5], { seed: 4 });
  const P = randn([2, 6], { seed: 5 });
  it("outputShape rejects options and P shapes the forward pass rejects (it used to ignore them)", () => {
    expect(() => lowRankBilinearPool.outputShape(x.shape, P.shape, { pooling: "max" } as never)).toThrow('lowRankBilinearPool: pooling must be one of "mean", "sum", "none", got "max"');
    expect(() => lowRankBilinearPool.outputShape(x.shape, P.shape, { pool: "sum" } as never)).toThrow('lowRankBilinearPool: unknown option "pool"');
    expect(() => lowRankBilinearPool.outputShape(x.shape, [2], {})).toThrow("lowRankBilinearPool: P must be a matrix [outputs, rank] with positive sizes, got shape [2]");
    expect(() => lowRankBilinearPool.outputShape(x.shape, [0, 6], {})).toThrow("lowRankBilinearPool: P must be a matrix [outputs, rank] with positive sizes, got shape [0, 6]");
    expect(() => lowRankBilinearPool.outputShape(x.shape, P.shape, { outputDim: 3 })).toThrow("lowRankBilinearPool: outputDim 3 does not match P's 2 rows");
    expect(() => lowRankBilinearPool.outputShape(x.shape, P.shape, { rank: 5 })).toThrow("lowRankBilinearPool: rank 5 does not match P's 6 columns");
    expect(lowRankBilinearPool.outputShape(x.shape, P.shape, { rank: 6, outputDim: 2, pooling: "sum" })).toEqual([2, 2]);
  });
  it("wrong parameter shapes", () => {
    expect(() => lowRankBilinearPool(x, y, randn([6, 4]), V, P)).toThrow("lowRankBilinearPool: U must have shape [6, 3] (rank × channels of x), got [6, 4]");
    expect(() => lowRankBilinearPool(x, y, U, randn([5, 5]), P)).toThrow("lowRankBilinearPool: V must have shape [6, 5] (U's rank × channels of y), got [5, 5]");
    expect(() => lowRankBilinearPool(x, y, U, V, randn([2, 5]))).toThrow("lowRankBilinearPool: P must have shape [2, 6] (outputs × U's rank), got [2, 5]");
    expect(() => lowRankBilinearPool(x, y, U, V, randn([2, 6, 1]))).toThrow("lowRankBilinearPool: P must be a matrix, got shape [2, 6, 1]");
    expect(() => lowRankBilinearPool(x, y, U, V, P, randn([5]))).toThrow("lowRankBilinearPool: bU must have shape [6] (U's rank), got [5]");
    expect(() => lowRankBilinearPool(x, y, U, V, P, null, null, randn([6]))).toThrow("lowRankBilinearPool: bP must have shape [2] (P's rows), got [6]");
    expect(() => lowRankBilinearPool(x, y, U, V, P, randn([6], { dtype: "float64" }))).toThrow("lowRankBilinearPool: bU must have x's dtype float32, got float64");
  });
  it("mismatched spatial sizes / batch, dtypes, options in a bias slot, bad options", () => {
    expect(() => lowRankBilinearPool(x, randn([2, 5, 4, 3]), U, V, P)).toThrow("lowRankBilinearPool: y must have the batch size and spatial size of x [2, C, 4, 4] (or be [2, C], broadcast over locations), got shape [2, 5, 4, 3]");
    expect(() => lowRankBilinearPool(x, randn([3, 5]), U, V, P)).toThrow("got shape [3, 5]");
    expect(() => lowRankBilinearPool(x, y, U, V, randn([2, 6], { dtype: "float64" }))).toThrow("lowRankBilinearPool: P must have x's dtype float32, got float64");
    expect(() => lowRankBilinearPool(x, y, U, V, P, { pooling: "sum" } as never)).toThrow(
      "lowRankBilinearPool: bU must be a Tensor or null, got an object (options go after the three bias arguments: (x, y, U, V, P, null, null, null, options))",
    );
    expect(() => lowRankBilinearPool(x, y, U, V, P, null, null, null, { pooling: "max" as never })).toThrow('lowRankBilinearPool: pooling must be one of "mean", "sum", "none", got "max"');
    expect(() => lowRankBilinearPool(x, y, U, V, P, null, null, null, { activation: "relu" as never })).toThrow('lowRankBilinearPool: activation must be one of "tanh", "identity", got "relu"');
    expect(() => lowRankBilinearPool(x, y, U, V, P, null, null, null, { rnak: 3 } as never)).toThrow('lowRankBilinearPool: unknown option "rnak"; known options: pooling, activation, rank, outputDim');
    expect(() => lowRankBilinearPool(x, y, U, V, P, null, null, null, { rank: 3 })).toThrow("lowRankBilinearPool: rank 3 does not match U's 6 rows (U shape [6, 3])");
    expect(() => lowRankBilinearPool(x, y, U, V, P, null, null, null, { outputDim: 3 })).toThrow("lowRankBilinearPool: outputDim 3 does not match P's 2 rows (P shape [2, 6])");
    expect(() => lowRankBilinearPool(x, y, U, V, P, null, null, null, { rank: 1.5 })).toThrow("lowRankBilinearPool: rank must be an integer and >= 1, got 1.5");
    expect(lowRankBilinearPool(x, y, U, V, P, null, null, null, { rank: 6, outputDim: 2 }).shape).toEqual([2, 2]);
    expect(() => lowRankBilinearPool(x, undefined as unknown as Tensor, U, V, P)).toThrow("lowRankBilinearPool: y must be a Tensor, got undefined");
  });
});

describe("lowRankBilinearPool: values", () => {
  it("spec §8b MLB example: h = [0.351946, -0.580026], f = [-0.228080, 0.931971]", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const q = tensor([[1, -1]], [1, 2], dtype);
      const v = tensor([[0.5, 2, 1]], [1, 3], dtype);
      const U = tensor([[1, 0], [0, 1]], [2, 2], dtype);
      const V = tensor([[1, 0, 0], [0, 0, 1]], [2, 3], dtype);
      const P = tensor([[1, 1], [1, -1]], [2, 2], dtype);
      expectClose(lowRankBilinearPool(q, v, U, V, P).data, [-0.22807993204985932, 0.9319713847220884], tolFor(dtype));
      // P = I exposes h itself
      expectClose(lowRankBilinearPool(q, v, U, V, tensor([[1, 0], [0, 1]], [2, 2], dtype)).data, [0.35194572633611454, -0.5800256583859739], tolFor(dtype));
    }
  });

  it("spec §8a LRBP example as MLB with identity activation, y = x, V = U, sum pooling: score 13 - 5 = 8", () => {
    const X = f64([[1, 0, 2], [0, 1, 1]], [1, 2, 3]);
    const U = f64([[1, 1], [1, -1]], [2, 2]); // rows: U+ = [1, 1], U- = [1, -1]
    const P = f64([[1, -1]], [1, 2]);
    const opts = { activation: "identity", pooling: "sum" } as const;
    expectClose(lowRankBilinearPool(X, X, U, U, P, null, null, null, opts).data, [8], { atol: 1e-12 });
  });

  it("LRBP scores <W_k, X X^T> + b_k for K classes with W_k = U+U+^T - U-U-^T (direct matrix computation)", () => {
    const c = 4, m = 5, half = 2, K = 3;
    const X = randn([1, c, m], { seed: 11, dtype: "float64" });
    const Ucls = randn([K, 2 * half, c], { seed: 12, dtype: "float64" }); // class k: rows 0..half-1 positive, half.. negative
    const b = randn([K], { seed: 13, dtype: "float64" });
    const P = new Float64Array(K * K * 2 * half);
    for (let k = 0; k < K; k++) for (let r = 0; r < 2 * half; r++) P[k * K * 2 * half + k * 2 * half + r] = r < half ? 1 : -1;
    const U = tensor(Ucls.data, [K * 2 * half, c], "float64");
    const f = lowRankBilinearPool(X, X, U, U, tensor(P, [K, K * 2 * half], "float64"), null, null, b, { activation: "identity", pooling: "sum" });
    const xd = X.data, ud = Ucls.data;
    const want: number[] = [];
    for (let k = 0; k < K; k++) {
      let s = b.data[k] as number;
      for (let i = 0; i < c; i++) {
        for (let j = 0; j < c; j++) {
          let w = 0; // W_k[i, j]
          for (let r = 0; r < 2 * half; r++) w += (r < half ? 1 : -1) * (ud[(k * 2 * half + r) * c + i] as number) * (ud[(k * 2 * half + r) * c + j] as number);
          let g = 0; // (X X^T)[i, j]
          for (let l = 0; l < m; l++) g += (xd[i * m + l] as number) * (xd[j * m + l] as number);
          s += w * g;
        }
      }
      want.push(s);
    }
    expectClose(f.data, want, { atol: 1e-10, rtol: 1e-10 });
  });

  const fx = loadFixture<Case>("bilinear_mlb.json");
  const names = ["x", "y", "U", "V", "P", "bU", "bV", "bP"] as const;
  replayCases(
    fx.cases,
    (c, _i, dtype) => `PyTorch reference (${c.name}), ${dtype}`,
    (c, dtype) => {
      const tol = tolFor(dtype);
      const t = names.map((k) => (c[k] ? fromJSON(c[k] as TensorJSON, dtype) : null));
      const [x, y, U, V, P, bU, bV, bP] = t;
      const { output, backward } = lowRankBilinearPool.vjp(x as Tensor, y as Tensor, U as Tensor, V as Tensor, P as Tensor, bU ?? null, bV ?? null, bP ?? null, c.options);
      expectTensorClose(output, expected(c.output), tol, "output");
      const grads = backward(fromJSON(c.dy, dtype));
      expect(grads.length).toBe(8);
      c.grads.forEach((gj, i) => {
        if (gj === null) expect(grads[i], names[i]).toBeNull();
        else expectTensorClose(grads[i] as Tensor, expected(gj), tol, `d${names[i]}`);
      });
    },
  );
});

describe("lowRankBilinearPool: gradcheck (float64), every input", () => {
  const x = distinctRandom([2, 3, 2, 2], 21, 2);
  const y = distinctRandom([2, 2, 2, 2], 22, 2);
  const U = distinctRandom([4, 3], 23, 1.5);
  const V = distinctRandom([4, 2], 24, 1.5);
  const P = distinctRandom([3, 4], 25, 2);
  const bU = distinctRandom([4], 26, 0.5);
  const bV = distinctRandom([4], 27, 0.5);
  const bP = distinctRandom([3], 28, 1);
  for (const pooling of ["mean", "sum", "none"] as const) {
    it(`tanh, pooling ${pooling}`, () => {
      gradcheck(([a, b, u, v, p, bu, bv, bp]) => lowRankBilinearPool.vjp(a as Tensor, b as Tensor, u as Tensor, v as Tensor, p as Tensor, bu ?? null, bv ?? null, bp ?? null, { pooling }), [x, y, U, V, P, bU, bV, bP]);
    });
  }
  it("broadcast y [N, Cy] and identity activation", () => {
    const q = distinctRandom([2, 2], 29, 2);
    gradcheck(([a, b, u, v, p, bu, bv, bp]) => lowRankBilinearPool.vjp(a as Tensor, b as Tensor, u as Tensor, v as Tensor, p as Tensor, bu ?? null, bv ?? null, bp ?? null), [x, q, U, V, P, bU, bV, bP]);
    // no biases: the three bias gradients are null; check the five tensor inputs
    gradcheck(([a, b, u, v, p]) => {
      const r = lowRankBilinearPool.vjp(a as Tensor, b as Tensor, u as Tensor, v as Tensor, p as Tensor, null, null, null, { activation: "identity", pooling: "sum" });
      return { output: r.output, backward: (dy: Tensor) => {
        const g = r.backward(dy);
        expect(g.slice(5)).toEqual([null, null, null]);
        return g.slice(0, 5);
      } };
    }, [x, y, U, V, P]);
  });
});

describe("lowRankBilinearPool: properties", () => {
  it("mean pooling equals the mean of the per-location outputs; broadcasting y equals tiling it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), (seed, rank, l) => {
        const x = randn([2, 3, l], { seed, dtype: "float64" });
        const q = randn([2, 2], { seed: seed + 1, dtype: "float64" });
        const U = randn([rank, 3], { seed: seed + 2, dtype: "float64" });
        const V = randn([rank, 2], { seed: seed + 3, dtype: "float64" });
        const P = randn([3, rank], { seed: seed + 4, dtype: "float64" });
        const bP = randn([3], { seed: seed + 5, dtype: "float64" });
        const tiled = tensor(Float64Array.from({ length: 2 * 2 * l }, (_, i) => q.data[Math.floor(i / l)] as number), [2, 2, l], "float64");
        const pooled = lowRankBilinearPool(x, q, U, V, P, null, null, bP);
        expectClose(lowRankBilinearPool(x, tiled, U, V, P, null, null, bP).data, pooled.data, { atol: 1e-12 });
        const per = lowRankBilinearPool(x, q, U, V, P, null, null, bP, { pooling: "none" }).data;
        const means = Array.from({ length: 6 }, (_, i) => { let s = 0; for (let k = 0; k < l; k++) s += per[i * l + k] as number; return s / l; });
        expectClose(pooled.data, means, { atol: 1e-12, rtol: 1e-10 });
      }),
      { numRuns: 30 },
    );
  });
  it("with tanh and no biases on P, every output is bounded by sum_r |P_or|", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), (seed) => {
        const x = randn([1, 3, 4], { seed, dtype: "float64" });
        const U = randn([5, 3], { seed: seed + 1, dtype: "float64" });
        const P = randn([2, 5], { seed: seed + 2, dtype: "float64" });
        const f = lowRankBilinearPool(x, x, U, U, P, null, null, null, { pooling: "none" }).data;
        for (let i = 0; i < f.length; i++) {
          const o = Math.floor(i / 4);
          let bound = 0;
          for (let r = 0; r < 5; r++) bound += Math.abs(P.data[o * 5 + r] as number);
          expect(Math.abs(f[i] as number)).toBeLessThanOrEqual(bound + 1e-12);
        }
      }),
      { numRuns: 30 },
    );
  });
});

describe("lowRankBilinearPool: many locations (several blocks of the GEMM path)", () => {
  /** Direct per-location evaluation of f = P(σ(U x_l + b_u) ∘ σ(V y_l + b_v)) + b_p (independent reference). */
  function direct(x: Tensor, y: Tensor, U: Tensor, V: Tensor, P: Tensor, bu: Tensor, bv: Tensor, bp: Tensor, pooling: "mean" | "sum" | "none", bcast: boolean): number[] {
    const [n, cx] = x.shape as [number, number];
    const l = x.size / (n * cx);
    const cy = y.shape[1] as number;
    const [o, d] = P.shape as [number, number];
    const out: number[] = [];
    for (let s = 0; s < n; s++) {
      const perLoc: number[][] = [];
      for (let t = 0; t < l; t++) {
        const h: number[] = [];
        for (let r = 0; r < d; r++) {
          let a = bu.data[r] as number;
          for (let j = 0; j < cx; j++) a += (U.data[r * cx + j] as number) * (x.data[(s * cx + j) * l + t] as number);
          let c = bv.data[r] as number;
          for (let j = 0; j < cy; j++) c += (V.data[r * cy + j] as number) * (y.data[bcast ? s * cy + j : (s * cy + j) * l + t] as number);
          h.push(Math.tanh(a) * Math.tanh(c));
        }
        perLoc.push(Array.from({ length: o }, (_, k) => h.reduce((acc, hr, r) => acc + (P.data[k * d + r] as number) * hr, bp.data[k] as number)));
      }
      if (pooling === "none") for (let k = 0; k < o; k++) for (let t = 0; t < l; t++) out.push(perLoc[t]![k]!);
      else for (let k = 0; k < o; k++) {
        const sum = perLoc.reduce((acc, f) => acc + f[k]! - (bp.data[k] as number), 0);
        out.push((pooling === "mean" ? sum / l : sum) + (bp.data[k] as number));
      }
    }
    return out;
  }
  for (const pooling of ["mean", "sum", "none"] as const) {
    for (const bcast of [false, true]) {
      it(`L = 600, pooling ${pooling}${bcast ? ", broadcast y" : ""}: forward equals the direct sum; backward passes directional finite differences`, () => {
        const x = rt([2, 5, 20, 30], 1);
        const y = bcast ? rt([2, 4], 2) : rt([2, 4, 20, 30], 2);
        const U = rt([6, 5], 3), V = rt([6, 4], 4), P = rt([3, 6], 5), bu = rt([6], 6), bv = rt([6], 7), bp = rt([3], 8);
        const opts = { pooling };
        const { output, backward } = lowRankBilinearPool.vjp(x, y, U, V, P, bu, bv, bp, opts);
        expectClose(output.data, direct(x, y, U, V, P, bu, bv, bp, pooling, bcast), { atol: 1e-12, rtol: 1e-12 });
        const g = rt([...output.shape], 9);
        const grads = backward(g);
        const inputs = [x, y, U, V, P, bu, bv, bp];
        const loss = (ts: Tensor[]): number => {
          const f = lowRankBilinearPool(ts[0]!, ts[1]!, ts[2]!, ts[3]!, ts[4]!, ts[5]!, ts[6]!, ts[7]!, opts);
          let acc = 0;
          for (let i = 0; i < f.size; i++) acc += (f.data[i] as number) * (g.data[i] as number);
          return acc;
        };
        const h = 1e-6;
        inputs.forEach((t, idx) => {
          const dir = rt([...t.shape], 100 + idx);
          const shift = (sgn: number): Tensor[] => inputs.map((u, j) => (j === idx ? tensor(Array.from(u.data, (v, i) => v + sgn * h * (dir.data[i] as number)), [...u.shape], "float64") : u));
          const fd = (loss(shift(1)) - loss(shift(-1))) / (2 * h);
          let an = 0;
          for (let i = 0; i < t.size; i++) an += (grads[idx]!.data[i] as number) * (dir.data[i] as number);
          expect(Math.abs(an - fd), `input ${idx}`).toBeLessThan(1e-6 * (1 + Math.abs(fd)));
        });
      });
    }
  }
});
