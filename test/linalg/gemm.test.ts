import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { gemm, gemmBatched, gemmt, syrk, syrkBatched, type NumArray } from "../../src/linalg/gemm.js";
import { Generator } from "../../src/tensor/random.js";

/** Textbook triple loop (the independent reference), in float64. */
function naive(tA: boolean, tB: boolean, m: number, n: number, k: number, alpha: number, a: ArrayLike<number>, lda: number, b: ArrayLike<number>, ldb: number, beta: number, c: ArrayLike<number>, ldc: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += (tA ? (a[p * lda + i] as number) : (a[i * lda + p] as number)) * (tB ? (b[j * ldb + p] as number) : (b[p * ldb + j] as number));
    out[i * n + j] = alpha * s + (beta === 0 ? 0 : beta * (c[i * ldc + j] as number));
  }
  return out;
}

function rand(n: number, gen: Generator, dtype: "float32" | "float64"): NumArray {
  const a = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = gen.normal();
  return a;
}

function expectNear(c: NumArray, cOff: number, ldc: number, want: Float64Array, m: number, n: number, k: number, dtype: string): void {
  // float64: rounding of a k-term sum of O(1) products; float32: one rounding of the result.
  const tol = dtype === "float32" ? 1e-6 : 1e-14 * Math.max(k, 1);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    const w = want[i * n + j] as number;
    const got = c[cOff + i * ldc + j] as number;
    if (!(Math.abs(got - w) <= tol * (1 + Math.abs(w)))) expect(got, `C[${i},${j}] (m ${m} n ${n} k ${k})`).toBe(w);
  }
}

describe("gemm", () => {
  it("matches the triple loop for all transposes, α, β, edge sizes, offsets and leading dimensions (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          m: fc.integer({ min: 1, max: 70 }), n: fc.integer({ min: 1, max: 70 }), k: fc.integer({ min: 0, max: 300 }),
          tA: fc.boolean(), tB: fc.boolean(), alpha: fc.constantFrom(1, -0.5, 2), beta: fc.constantFrom(0, 1, 0.25),
          pad: fc.integer({ min: 0, max: 3 }), dtype: fc.constantFrom("float32" as const, "float64" as const), seed: fc.nat(),
        }),
        ({ m, n, k, tA, tB, alpha, beta, pad, dtype, seed }) => {
          const gen = new Generator(seed);
          const lda = (tA ? m : k) + pad;
          const ldb = (tB ? k : n) + pad;
          const ldc = n + pad;
          const a = rand(3 + (tA ? k : m) * lda, gen, dtype);
          const b = rand(2 + (tB ? n : k) * ldb, gen, dtype);
          const c = rand(1 + m * ldc, gen, dtype);
          const want = naive(tA, tB, m, n, k, alpha, a.subarray(3), lda, b.subarray(2), ldb, beta, c.subarray(1), ldc);
          const c0 = c[0];
          gemm(tA, tB, m, n, k, alpha, a, 3, lda, b, 2, ldb, beta, c, 1, ldc);
          expectNear(c, 1, ldc, want, m, n, k, dtype);
          expect(c[0]).toBe(c0); // nothing before the offset is written
        },
      ),
      { numRuns: 120 },
    );
  });
  it("large blocks (several MC, NC and KC blocks) in both dtypes", () => {
    const gen = new Generator(1);
    for (const dtype of ["float64", "float32"] as const) {
      const [m, n, k] = [131, 517, 600];
      const a = rand(m * k, gen, dtype);
      const b = rand(n * k, gen, dtype);
      const c = rand(m * n, gen, dtype);
      const want = naive(false, true, m, n, k, 1, a, k, b, k, 1, c, n);
      gemm(false, true, m, n, k, 1, a, 0, k, b, 0, k, 1, c, 0, n);
      expectNear(c, 0, n, want, m, n, k, dtype);
    }
  });
  it("β = 0 overwrites NaN in C; k = 0 gives β·C", () => {
    const c = new Float64Array([NaN, NaN, NaN, NaN]);
    gemm(false, false, 2, 2, 1, 1, new Float64Array([1, 2]), 0, 1, new Float64Array([3, 4]), 0, 2, 0, c, 0, 2);
    expect(Array.from(c)).toEqual([3, 4, 6, 8]);
    gemm(false, false, 2, 2, 0, 1, new Float64Array(0), 0, 0, new Float64Array(0), 0, 2, 0.5, c, 0, 2);
    expect(Array.from(c)).toEqual([1.5, 2, 3, 4]);
  });
  it("batched: each problem at its stride", () => {
    const gen = new Generator(2);
    const [count, m, n, k] = [3, 5, 6, 7];
    const a = rand(count * m * k, gen, "float64");
    const b = rand(count * k * n, gen, "float64");
    const c = new Float64Array(count * m * n);
    gemmBatched(count, false, false, m, n, k, 1, a, 0, k, m * k, b, 0, n, k * n, 0, c, 0, n, m * n);
    for (let s = 0; s < count; s++) {
      const want = naive(false, false, m, n, k, 1, a.subarray(s * m * k), k, b.subarray(s * k * n), n, 0, c, n);
      expectNear(c, s * m * n, n, want, m, n, k, "float64");
    }
  });
});

/** Number of entries with C[i, j] ≠ C[j, i]. */
function asymmetry(c: NumArray, n: number): number {
  let bad = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (c[i * n + j] !== c[j * n + i]) bad++;
  return bad;
}

describe("syrk", () => {
  it("A·Aᵀ and Aᵀ·A match the triple loop and are exactly symmetric (property)", () => {
    fc.assert(
      fc.property(
        fc.record({ n: fc.integer({ min: 1, max: 140 }), k: fc.integer({ min: 1, max: 300 }), trans: fc.boolean(), beta: fc.constantFrom(0, 1), dtype: fc.constantFrom("float32" as const, "float64" as const), seed: fc.nat() }),
        ({ n, k, trans, beta, dtype, seed }) => {
          const gen = new Generator(seed);
          const a = rand(n * k, gen, dtype);
          const c0 = rand(n * n, gen, dtype);
          for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) c0[i * n + j] = c0[j * n + i] as number;
          const lda = trans ? n : k;
          const want = naive(trans, !trans, n, n, k, 0.5, a, lda, a, lda, beta, c0, n);
          const c = c0.slice();
          syrk(trans, n, k, 0.5, a, 0, lda, beta, c, 0, n);
          expectNear(c, 0, n, want, n, n, k, dtype);
          expect(asymmetry(c, n)).toBe(0);
        },
      ),
      { numRuns: 30 },
    );
  });
  it("several NC and KC blocks (D = 300, k = 270), both forms", () => {
    const gen = new Generator(5);
    for (const trans of [false, true]) {
      const [n, k] = [300, 270];
      const a = rand(n * k, gen, "float64");
      const lda = trans ? n : k;
      const c = new Float64Array(n * n);
      syrk(trans, n, k, 1, a, 0, lda, 0, c, 0, n);
      expectNear(c, 0, n, naive(trans, !trans, n, n, k, 1, a, lda, a, lda, 0, c, n), n, n, k, "float64");
      expect(asymmetry(c, n)).toBe(0);
    }
  });
  it("batched", () => {
    const gen = new Generator(4);
    const a = rand(2 * 9 * 4, gen, "float64");
    const c = new Float64Array(2 * 81);
    syrkBatched(2, false, 9, 4, 1, a, 0, 4, 36, 0, c, 0, 9, 81);
    for (let s = 0; s < 2; s++) expectNear(c, s * 81, 9, naive(false, true, 9, 9, 4, 1, a.subarray(s * 36), 4, a.subarray(s * 36), 4, 0, c, 9), 9, 9, 4, "float64");
  });
});

describe("gemmt (upper triangle of a symmetric product)", () => {
  it("Uᵀ·(G·U) and (U·B)·Uᵀ with G, B symmetric: the triple loop's upper triangle, mirrored exactly (property)", () => {
    fc.assert(
      fc.property(
        fc.record({ n: fc.integer({ min: 1, max: 140 }), k: fc.integer({ min: 1, max: 300 }), tA: fc.boolean(), beta: fc.constantFrom(0, 1), dtype: fc.constantFrom("float32" as const, "float64" as const), seed: fc.nat() }),
        ({ n, k, tA, beta, dtype, seed }) => {
          const gen = new Generator(seed);
          // U is k × n. tA: Uᵀ·(S·U) (op(A) = Uᵀ by transA); else (Uᵀ·S)·U … written as V·S·Vᵀ with V = Uᵀ
          // stored as U (n × k by transB): A = Uᵀ·S (n × k, made here), op(B) = (Uᵀ)ᵀ = U through transB on Uᵀ.
          const u = rand(k * n, gen, "float64");
          const sm = rand(k * k, gen, "float64");
          for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) sm[i * k + j] = sm[j * k + i] as number;
          const c0 = rand(n * n, gen, dtype);
          for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) c0[i * n + j] = c0[j * n + i] as number;
          const c = c0.slice();
          let want: Float64Array;
          if (tA) {
            const su = naive(false, false, k, n, k, 1, sm, k, u, n, 0, [], n);
            want = naive(true, false, n, n, k, 0.5, u, n, su, n, beta, c0, n);
            gemmt(true, false, n, k, 0.5, u, 0, n, su, 0, n, beta, c, 0, n);
          } else {
            const v = naive(true, false, n, k, k, 1, u, n, [...Array(k * k)].map((_, i) => (i % (k + 1) === 0 ? 1 : 0)), k, 0, [], k); // V = Uᵀ (n × k)
            const vs = naive(false, false, n, k, k, 1, v, k, sm, k, 0, [], k);
            want = naive(false, true, n, n, k, 0.5, vs, k, v, k, beta, c0, n);
            gemmt(false, true, n, k, 0.5, vs, 0, k, v, 0, k, beta, c, 0, n);
          }
          expectNear(c, 0, n, want, n, n, k, dtype);
          expect(asymmetry(c, n)).toBe(0);
        },
      ),
      { numRuns: 30 },
    );
  });
  it("(U·B)·Uᵀ through transB, across NC and KC blocks (n = 300, k = 270)", () => {
    const gen = new Generator(6);
    const [n, k] = [300, 270];
    const u = rand(n * k, gen, "float64");
    const b = rand(k * k, gen, "float64");
    for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) b[i * k + j] = b[j * k + i] as number;
    const ub = naive(false, false, n, k, k, 1, u, k, b, k, 0, [], k);
    const c = new Float64Array(n * n).fill(NaN);
    gemmt(false, true, n, k, 1, ub, 0, k, u, 0, k, 0, c, 0, n);
    expectNear(c, 0, n, naive(false, true, n, n, k, 1, ub, k, u, k, 0, c, n), n, n, k, "float64");
    expect(asymmetry(c, n)).toBe(0);
  });
});

