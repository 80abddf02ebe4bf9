/**
 * The WebAssembly matrix core (assembly/gemm.ts + src/backends/wasm/gemm.ts), SIMD and scalar builds:
 * bit-identical to the TypeScript reference (gemmReference / syrkReference, same float64 arithmetic
 * and the same KC split of the k-sum) and within float64 rounding of a textbook triple loop, over
 * every transpose, α, β (β = 0 overwriting NaN), offsets, leading dimensions, sizes 1–67 and sizes
 * spanning several MC / NC / KC blocks, float32, float64 and mixed operands, operands in linear memory
 * (read in place) and on the JS heap (packed from JS; C through the staging block).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { getBackend, setBackend, useDetachingStorage } from "../../src/backends/index.js";
import type { LinearHeap, LinearStorage } from "../../src/backends/linear.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { WASM_GEMM_KC } from "../../src/backends/wasm/gemm.js";
import { kernel } from "../../src/kernels/registry.js";
import { GEMM_KC, gemm, gemmBatched, gemmF32, gemmF32Reference, gemmReference, gemmt, gemmtBatched, gemmtBatchedReference, gemmtReference, syrk, syrkBatched, syrkReference, type NumArray } from "../../src/linalg/gemm.js";
import { Generator } from "../../src/tensor/random.js";
import { WASM } from "../helpers/wasm.js";

type DT = "float32" | "float64";
type Where = "js" | "wasm";

/** Textbook triple loop in float64 (the independent reference). */
function naive(tA: boolean, tB: boolean, m: number, n: number, k: number, alpha: number, a: NumArray, ao: number, lda: number, b: NumArray, bo: number, ldb: number, beta: number, c: NumArray, co: number, ldc: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += (a[ao + (tA ? p * lda + i : i * lda + p)] as number) * (b[bo + (tB ? j * ldb + p : p * ldb + j)] as number);
    out[i * n + j] = alpha * s + (beta === 0 ? 0 : beta * (c[co + i * ldc + j] as number));
  }
  return out;
}

function randArray(n: number, gen: Generator, dtype: DT): NumArray {
  const a = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = gen.normal();
  return a;
}

/** Operands placed in the active backend's linear memory (views re-read after every allocation). */
class Placer {
  readonly blocks: LinearStorage[] = [];
  constructor(readonly heap: LinearHeap) {}
  /** A block holding `x`'s values (when `where` is "wasm"), else x itself; call `view()` after the last allocation. */
  put(x: NumArray, where: Where): () => NumArray {
    if (where === "js") return () => x;
    const s = this.heap.allocate(x instanceof Float32Array ? "float32" : "float64", x.length, false) as LinearStorage;
    this.blocks.push(s);
    const vals = x.slice();
    let filled = false;
    return () => {
      const v = s.view as NumArray;
      if (!filled) {
        v.set(vals);
        filled = true;
      }
      return v;
    };
  }
  free(): void {
    for (const s of this.blocks) s.free();
  }
}

function heap(): LinearHeap {
  const w = activeWasm();
  if (w === null) throw new Error("no wasm backend active");
  return w.heap;
}

/** First index where the two differ in value (NaN equal to NaN), or −1. */
function firstDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i]) && !(Number.isNaN(x[i]) && Number.isNaN(y[i]))) return i;
  return x.length === y.length ? -1 : x.length;
}

function expectNear(c: NumArray, co: number, ldc: number, want: Float64Array, m: number, n: number, k: number, f32: boolean, what: string): void {
  // float64: rounding of a k-term sum of O(1) products; float32 C: one rounding of the result
  const tol = f32 ? 1e-6 : 1e-14 * Math.max(k, 1);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    const w = want[i * n + j] as number;
    const got = c[co + i * ldc + j] as number;
    if (!(Math.abs(got - w) <= tol * (1 + Math.abs(w)))) expect(got, `${what}: C[${i},${j}] (m ${m} n ${n} k ${k})`).toBe(w);
  }
}

interface Case {
  m: number; n: number; k: number; tA: boolean; tB: boolean; alpha: number; beta: number; pad: number;
  dA: DT; dB: DT; dC: DT; wA: Where; wB: Where; wC: Where; seed: number;
}

/** Run one GEMM case through the table (the wasm kernel) and check it against the reference and the triple loop. */
function checkGemm(cs: Case): void {
  const { m, n, k, tA, tB, alpha, beta, pad, dA, dB, dC, wA, wB, wC, seed } = cs;
  const gen = new Generator(seed);
  const lda = (tA ? m : k) + pad;
  const ldb = (tB ? k : n) + pad;
  const ldc = n + pad;
  const a = randArray(3 + Math.max((tA ? k : m) * lda, 1), gen, dA);
  const b = randArray(2 + Math.max((tB ? n : k) * ldb, 1), gen, dB);
  const c = randArray(1 + m * ldc + 1, gen, dC);
  const want = naive(tA, tB, m, n, k, alpha, a, 3, lda, b, 2, ldb, beta, c, 1, ldc);
  const ref = c.slice();
  gemmReference(tA, tB, m, n, k, alpha, a, 3, lda, b, 2, ldb, beta, ref, 1, ldc);
  const p = new Placer(heap());
  try {
    const [ga, gb, gc] = [p.put(a, wA), p.put(b, wB), p.put(c, wC)];
    const [va, vb, vc] = [ga(), gb(), gc()];
    gemm(tA, tB, m, n, k, alpha, va, 3, lda, vb, 2, ldb, beta, vc, 1, ldc);
    const got = gc().slice();
    const what = JSON.stringify(cs);
    expect(firstDiff(got, ref), `${what}: bit-identical to gemmReference`).toBe(-1);
    expectNear(got, 1, ldc, want, m, n, k, dC === "float32", what);
    expect(got[0]).toBe(c[0]); // nothing before the offset or after the last row is written
    expect(got[got.length - 1]).toBe(c[c.length - 1]);
  } finally {
    p.free();
  }
}

const initial = getBackend();
afterAll(() => setBackend(initial));

it("the WebAssembly glue splits the k-sum where the reference does (GEMM_KC)", () => {
  expect(WASM_GEMM_KC).toBe(GEMM_KC);
});

describe.each(WASM)("matrix core on %s", (backend) => {
  beforeAll(() => setBackend(backend));

  it("is the kernel table's linalg.gemm and linalg.syrk for float32 and float64 C", () => {
    for (const dtype of ["float32", "float64"] as const) {
      expect(kernel("linalg.gemm", dtype, gemmReference)).not.toBe(gemmReference);
      expect(kernel("linalg.syrk", dtype, syrkReference)).not.toBe(syrkReference);
      expect(kernel("linalg.gemmt", dtype, gemmtReference)).not.toBe(gemmtReference);
      expect(kernel("linalg.gemmtBatched", dtype, gemmtBatchedReference)).not.toBe(gemmtBatchedReference);
    }
    expect(kernel("linalg.gemmF32", "float32", gemmF32Reference)).not.toBe(gemmF32Reference);
  });

  it("every transpose, α, β, offset, leading dimension, size 1–67, dtype mix and operand placement: bit-identical to the reference, within rounding of the triple loop (property)", () => {
    const dt = fc.constantFrom<DT>("float32", "float64");
    const wh = fc.constantFrom<Where>("js", "wasm");
    fc.assert(
      fc.property(
        fc.record({
          m: fc.integer({ min: 1, max: 67 }), n: fc.integer({ min: 1, max: 67 }), k: fc.integer({ min: 0, max: 67 }),
          tA: fc.boolean(), tB: fc.boolean(), alpha: fc.constantFrom(1, -0.5, 2), beta: fc.constantFrom(0, 1, 0.25, -1.5),
          pad: fc.integer({ min: 0, max: 3 }), dA: dt, dB: dt, dC: dt, wA: wh, wB: wh, wC: wh, seed: fc.nat(),
        }),
        (cs) => checkGemm(cs),
      ),
      { numRuns: 250 },
    );
  });

  it("every transpose and placement at sizes spanning several MC (96), NC (512) and KC (256) blocks, float32 C over several KC blocks included", () => {
    let seed = 10;
    for (const [m, n, k] of [[197, 37, 600], [13, 1030, 257], [100, 517, 70]] as const) {
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        for (const [dA, dB, dC] of [["float64", "float64", "float64"], ["float32", "float32", "float32"], ["float32", "float64", "float32"]] as const) {
          const w: Where = seed % 2 === 0 ? "wasm" : "js";
          checkGemm({ m, n, k, tA, tB, alpha: 0.75, beta: 0.5, pad: 1, dA, dB, dC, wA: w, wB: seed % 3 === 0 ? "js" : "wasm", wC: w, seed: seed++ });
        }
      }
    }
  });

  it("JS-heap operands too large for the 8 MiB copy region: packed from JS block by block, C through the staging block", () => {
    let seed = 50;
    // each case has one float64 operand of 1100 × 1000 (8.8 MB) on the JS heap
    for (const [m, n, k] of [[1100, 9, 1000], [5, 1100, 1000], [1100, 1000, 3]] as const) {
      for (const [tA, tB] of [[false, false], [true, true]] as const) {
        for (const beta of [0, 0.5]) {
          checkGemm({ m, n, k, tA, tB, alpha: -1.5, beta, pad: 0, dA: "float64", dB: "float64", dC: "float64", wA: "js", wB: "js", wC: "js", seed: seed++ });
        }
      }
    }
    checkGemm({ m: 1100, n: 1000, k: 3, tA: false, tB: true, alpha: 1, beta: 1, pad: 1, dA: "float32", dB: "float64", dC: "float64", wA: "wasm", wB: "js", wC: "js", seed: seed++ });
  });

  it("β = 0 overwrites NaN in C (in and out of linear memory); k = 0 and α = 0 give β·C", () => {
    for (const where of ["js", "wasm"] as const) {
      const p = new Placer(heap());
      try {
        const gc = p.put(new Float64Array([NaN, NaN, NaN, NaN]), where);
        gemm(false, false, 2, 2, 1, 1, new Float64Array([1, 2]), 0, 1, new Float64Array([3, 4]), 0, 2, 0, gc(), 0, 2);
        expect(Array.from(gc())).toEqual([3, 4, 6, 8]);
        gemm(false, false, 2, 2, 0, 1, new Float64Array(0), 0, 0, new Float64Array(0), 0, 2, 0.5, gc(), 0, 2);
        expect(Array.from(gc())).toEqual([1.5, 2, 3, 4]);
        gemm(false, false, 2, 2, 1, 0, new Float64Array([NaN, 1]), 0, 1, new Float64Array([1, 1]), 0, 2, 2, gc(), 0, 2);
        expect(Array.from(gc())).toEqual([3, 4, 6, 8]);
        const g32 = p.put(new Float32Array([NaN, NaN]), where);
        gemm(false, true, 1, 2, 3, -1, new Float32Array([1, 2, 3]), 0, 3, new Float32Array([1, 0, 0, 0, 1, 1]), 0, 3, 0, g32(), 0, 2);
        expect(Array.from(g32())).toEqual([-1, -5]);
        // α·sum = −0 lands as 0 + (−0) = +0, as after the reference's zero-fill
        const gz = p.put(new Float64Array([NaN]), where);
        gemm(false, false, 1, 1, 1, -1, new Float64Array([1]), 0, 1, new Float64Array([0]), 0, 1, 0, gz(), 0, 1);
        expect(Object.is(gz()[0], 0)).toBe(true);
      } finally {
        p.free();
      }
    }
  });

  it("β = 0 over a NaN-filled C spanning several blocks (GEMM and SYRK, float32 and float64, in and out of linear memory)", () => {
    const gen = new Generator(5);
    const [m, n, k] = [100, 520, 300];
    for (const dtype of ["float32", "float64"] as const) {
      for (const where of ["js", "wasm"] as const) {
        const a = randArray(m * k, gen, dtype);
        const b = randArray(k * n, gen, "float64");
        const ref = (dtype === "float32" ? new Float32Array(m * n) : new Float64Array(m * n)).fill(NaN);
        gemmReference(false, false, m, n, k, 1, a, 0, k, b, 0, n, 0, ref, 0, n);
        const sref = ref.slice(0, m * m).fill(NaN);
        syrkReference(false, m, k, 1, a, 0, k, 0, sref, 0, m);
        const p = new Placer(heap());
        try {
          const [ga, gc, gs] = [p.put(a, where), p.put(ref.slice().fill(NaN), where), p.put(sref.slice().fill(NaN), where)];
          gemm(false, false, m, n, k, 1, ga(), 0, k, b, 0, n, 0, gc(), 0, n);
          syrk(false, m, k, 1, ga(), 0, k, 0, gs(), 0, m);
          expect(firstDiff(gc(), ref), `gemm ${dtype} ${where}`).toBe(-1);
          expect(firstDiff(gs(), sref), `syrk ${dtype} ${where}`).toBe(-1);
          expect(gc().some(Number.isNaN)).toBe(false);
        } finally {
          p.free();
        }
      }
    }
  });

  it("SYRK: exactly symmetric and bit-identical to the reference (both transposes, placements, dtypes, β, sizes across blocks)", () => {
    let seed = 100;
    for (const [n, k] of [[1, 1], [5, 3], [67, 41], [97, 300], [530, 20]] as const) {
      for (const trans of [false, true]) {
        for (const [dA, dC] of [["float64", "float64"], ["float32", "float32"], ["float32", "float64"]] as const) {
          for (const beta of [0, 0.5]) {
            const gen = new Generator(seed++);
            const lda = (trans ? n : k) + 2;
            const a = randArray(1 + (trans ? k : n) * lda, gen, dA);
            // β ≠ 0 needs a symmetric C
            const c0 = randArray(n * (n + 1), gen, dC);
            for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) c0[i * (n + 1) + j] = c0[j * (n + 1) + i] as number;
            const ref = c0.slice();
            syrkReference(trans, n, k, 1.25, a, 1, lda, beta, ref, 0, n + 1);
            const want = naive(trans, !trans, n, n, k, 1.25, a, 1, lda, a, 1, lda, beta, c0, 0, n + 1);
            const where: Where = seed % 2 === 0 ? "wasm" : "js";
            const p = new Placer(heap());
            try {
              const [ga, gc] = [p.put(a, where), p.put(c0, seed % 3 === 0 ? "js" : "wasm")];
              syrk(trans, n, k, 1.25, ga(), 1, lda, beta, gc(), 0, n + 1);
              const got = gc().slice();
              const what = `n ${n} k ${k} trans ${trans} ${dA}→${dC} β ${beta}`;
              expect(firstDiff(got, ref), what).toBe(-1);
              for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (got[i * (n + 1) + j] !== got[j * (n + 1) + i]) expect.fail(`${what}: C[${i},${j}] ≠ C[${j},${i}]`);
              expectNear(got, 0, n + 1, want, n, n, k, dC === "float32", what);
            } finally {
              p.free();
            }
          }
        }
      }
    }
  });

  it("GEMMT (upper triangle of a product, mirrored): exactly symmetric and bit-identical to the reference (transposes, placements, dtypes, β, sizes across blocks)", () => {
    let seed = 300;
    for (const [n, k] of [[1, 1], [5, 3], [67, 41], [97, 300], [530, 20]] as const) {
      for (const [tA, tB] of [[true, false], [false, true], [false, false]] as const) {
        for (const [dA, dC] of [["float64", "float64"], ["float32", "float32"], ["float32", "float64"]] as const) {
          for (const beta of [0, 0.5]) {
            const gen = new Generator(seed++);
            const lda = (tA ? n : k) + 1;
            const ldb = (tB ? k : n) + 3;
            const a = randArray(2 + (tA ? k : n) * lda, gen, dA);
            const b = randArray((tB ? n : k) * ldb, gen, "float64");
            const c0 = randArray(n * (n + 1), gen, dC);
            for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) c0[i * (n + 1) + j] = c0[j * (n + 1) + i] as number;
            const ref = c0.slice();
            gemmtReference(tA, tB, n, k, 1.25, a, 2, lda, b, 0, ldb, beta, ref, 0, n + 1);
            // the upper triangle is the triple loop's (the product need not be symmetric: the lower half is its mirror)
            const want = naive(tA, tB, n, n, k, 1.25, a, 2, lda, b, 0, ldb, beta, c0, 0, n + 1);
            for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) want[i * n + j] = want[j * n + i] as number;
            const p = new Placer(heap());
            try {
              const [ga, gb, gc] = [p.put(a, seed % 2 === 0 ? "wasm" : "js"), p.put(b, seed % 3 === 0 ? "js" : "wasm"), p.put(c0, seed % 5 === 0 ? "js" : "wasm")];
              gemmt(tA, tB, n, k, 1.25, ga(), 2, lda, gb(), 0, ldb, beta, gc(), 0, n + 1);
              const got = gc().slice();
              const what = `n ${n} k ${k} tA ${tA} tB ${tB} ${dA}→${dC} β ${beta}`;
              expect(firstDiff(got, ref), what).toBe(-1);
              for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (got[i * (n + 1) + j] !== got[j * (n + 1) + i]) expect.fail(`${what}: C[${i},${j}] ≠ C[${j},${i}]`);
              expectNear(got, 0, n + 1, want, n, n, k, dC === "float32", what);
            } finally {
              p.free();
            }
          }
        }
      }
    }
  });

  it("float32 path (gemmF32): bit-identical to its reference over transposes, placements, operand dtypes, β, upper, batches, 1×1, odd sizes and sizes across MC / NC / KC blocks; within its stated float32 bound of the float64 triple loop", () => {
    let seed = 500;
    const cases: [number, number, number, number][] = [[1, 1, 1, 1], [3, 5, 7, 2], [13, 13, 9, 3], [67, 41, 300, 1], [97, 130, 33, 2], [200, 200, 257, 1]];
    for (const [m, n0, k, count] of cases) {
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        for (const upper of [false, true]) {
          const n = upper ? m : n0;
          const seedNow = seed++;
          const gen = new Generator(seedNow);
          const dA: DT = seedNow % 2 === 0 ? "float32" : "float64";
          const dB: DT = seedNow % 3 === 0 ? "float32" : "float64";
          const beta = seedNow % 4 === 0 ? 0.5 : 0;
          const lda = (tA ? m : k) + 1;
          const ldb = (tB ? k : n) + 2;
          const ldc = n + 1;
          const sA = (tA ? k : m) * lda + 3;
          const sB = (tB ? n : k) * ldb;
          const sC = m * ldc + 1;
          const a = randArray(count * sA, gen, dA);
          const b = randArray(count * sB, gen, dB);
          const c0 = randArray(count * sC, gen, "float32") as Float32Array;
          if (upper) for (let s = 0; s < count; s++) for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) c0[s * sC + i * ldc + j] = c0[s * sC + j * ldc + i] as number;
          const ref = c0.slice();
          gemmF32Reference(count, tA, tB, m, n, k, 0.75, a, 0, lda, sA, b, 0, ldb, sB, beta, ref, 0, ldc, sC, upper);
          const p = new Placer(heap());
          try {
            const [ga, gb, gc] = [p.put(a, seedNow % 2 === 0 ? "wasm" : "js"), p.put(b, seedNow % 5 < 2 ? "js" : "wasm"), p.put(c0.slice(), seedNow % 3 === 0 ? "js" : "wasm")];
            gemmF32(count, tA, tB, m, n, k, 0.75, ga(), 0, lda, sA, gb(), 0, ldb, sB, beta, gc() as Float32Array, 0, ldc, sC, upper);
            const got = gc().slice();
            const what = `m ${m} n ${n} k ${k} count ${count} tA ${tA} tB ${tB} upper ${upper} ${dA}/${dB} β ${beta}`;
            expect(firstDiff(got, ref), what).toBe(-1);
            for (let s = 0; s < count; s++) {
              // stated bound: |ΔC| ≤ (min(k, KC) + 2)·u·|α|·(|op(A)||op(B)|) + u·|C|, u = 2⁻²⁴ (per entry, upper triangle; lower mirrored)
              const want = naive(tA, tB, m, n, k, 0.75, a, s * sA, lda, b, s * sB, ldb, beta, c0, s * sC, ldc);
              const absA = Float64Array.from(a, Math.abs);
              const absB = Float64Array.from(b, Math.abs);
              const mag = naive(tA, tB, m, n, k, 0.75, absA, s * sA, lda, absB, s * sB, ldb, 0, c0, 0, ldc);
              const u = 2 ** -24;
              for (let i = 0; i < m; i++) for (let j = upper ? i : 0; j < n; j++) {
                const g = got[s * sC + i * ldc + j] as number;
                const w = want[i * n + j] as number;
                const bound = (Math.min(k, GEMM_KC) + 2) * u * (mag[i * n + j] as number) + u * Math.abs(w) + 2 * u * Math.abs(beta * (c0[s * sC + i * ldc + j] as number));
                if (!(Math.abs(g - w) <= bound)) expect.fail(`${what}: problem ${s} C[${i},${j}] = ${g}, float64 ${w}, bound ${bound}`);
                if (upper && g !== got[s * sC + j * ldc + i]) expect.fail(`${what}: not mirrored at ${i},${j}`);
              }
            }
          } finally {
            p.free();
          }
        }
      }
    }
  });

  it("batched forms: each problem at its stride, equal to the reference", () => {
    const gen = new Generator(7);
    const [count, m, n, k] = [3, 9, 11, 300];
    const a = randArray(count * m * k, gen, "float32");
    const b = randArray(count * n * k, gen, "float64");
    const c = randArray(count * m * n, gen, "float32");
    const ref = c.slice();
    for (let s = 0; s < count; s++) gemmReference(false, true, m, n, k, 1, a, s * m * k, k, b, s * n * k, k, 0.5, ref, s * m * n, n);
    gemmBatched(count, false, true, m, n, k, 1, a, 0, k, m * k, b, 0, k, n * k, 0.5, c, 0, n, m * n);
    expect(firstDiff(c, ref)).toBe(-1);
    const g = new Float64Array(count * m * m);
    const gref = g.slice();
    for (let s = 0; s < count; s++) syrkReference(false, m, k, 2, a, s * m * k, k, 0, gref, s * m * m, m);
    syrkBatched(count, false, m, k, 2, a, 0, k, m * k, 0, g, 0, m, m * m);
    expect(firstDiff(g, gref)).toBe(-1);
  });

  it("batched forms (GEMM, SYRK, upper-triangle GEMM) over random shapes (1×1, odd sizes, k past KC), transposes, β, gaps between problems, float32 / float64 / mixed, linear memory and JS heap: bit-identical to the reference per problem", () => {
    fc.assert(
      fc.property(
        fc.record({
          count: fc.integer({ min: 1, max: 7 }), m: fc.integer({ min: 1, max: 40 }), n: fc.integer({ min: 1, max: 140 }), k: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 250, max: 300 })),
          tA: fc.boolean(), tB: fc.boolean(), syrk: fc.boolean(), upper: fc.boolean(), beta: fc.constantFrom(0, 1, -0.5), gap: fc.integer({ min: 0, max: 3 }), pad: fc.integer({ min: 0, max: 2 }),
          dA: fc.constantFrom<DT>("float32", "float64"), dB: fc.constantFrom<DT>("float32", "float64"), dC: fc.constantFrom<DT>("float32", "float64"),
          wA: fc.constantFrom<Where>("js", "wasm"), wC: fc.constantFrom<Where>("js", "wasm"), seed: fc.integer({ min: 1, max: 1 << 20 }),
        }),
        (cs) => {
          const { count, k, tA, syrk: sy, beta, gap, pad, dA, dC, wA, wC, seed } = cs;
          // gemmt: a general A and B, C's upper triangle (square)
          const gt = !sy && cs.upper;
          const m = cs.m;
          const n = sy || gt ? m : cs.n;
          const tB = sy ? !tA : cs.tB;
          const gen = new Generator(seed);
          const lda = (tA ? m : k) + pad;
          const ldb = (tB ? k : n) + pad;
          const ldc = n + pad;
          const sA = (tA ? k : m) * lda + gap;
          const sB = (tB ? n : k) * ldb + gap;
          const sC = m * ldc + gap;
          const a = randArray(2 + count * sA, gen, dA);
          const b = sy ? a : randArray(1 + count * sB, gen, cs.dB);
          const c = randArray(3 + count * sC, gen, dC);
          // the C problems hold NaN where β = 0 must overwrite them
          if (beta === 0) c[3] = NaN;
          const ref = c.slice();
          for (let s = 0; s < count; s++) {
            if (sy) syrkReference(tA, n, k, 0.75, a, 2 + s * sA, lda, beta, ref, 3 + s * sC, ldc);
            else if (gt) gemmtReference(tA, tB, n, k, 0.75, a, 2 + s * sA, lda, b, 1 + s * sB, ldb, beta, ref, 3 + s * sC, ldc);
            else gemmReference(tA, tB, m, n, k, 0.75, a, 2 + s * sA, lda, b, 1 + s * sB, ldb, beta, ref, 3 + s * sC, ldc);
          }
          const p = new Placer(heap());
          try {
            const ga = p.put(a, wA);
            const gb = sy ? ga : p.put(b, wA === "js" ? "wasm" : "js");
            const gc = p.put(c, wC);
            const [va, vb, vc] = [ga(), gb(), gc()];
            if (sy) syrkBatched(count, tA, n, k, 0.75, va, 2, lda, sA, beta, vc, 3, ldc, sC);
            else if (gt) gemmtBatched(count, tA, tB, n, k, 0.75, va, 2, lda, sA, vb, 1, ldb, sB, beta, vc, 3, ldc, sC);
            else gemmBatched(count, tA, tB, m, n, k, 0.75, va, 2, lda, sA, vb, 1, ldb, sB, beta, vc, 3, ldc, sC);
            expect(firstDiff(gc(), ref), JSON.stringify(cs)).toBe(-1);
          } finally {
            p.free();
          }
        },
      ),
      { numRuns: 120, seed: 91 },
    );
  });

  it("a batch larger than the copy region runs problem by problem, with the same results", () => {
    const gen = new Generator(12);
    const [count, n, k] = [3, 400, 300];
    const a = randArray(count * n * k, gen, "float64");
    const c = new Float64Array(count * n * n);
    const ref = c.slice();
    for (let s = 0; s < count; s++) syrkReference(false, n, k, 1, a, s * n * k, k, 0, ref, s * n * n, n);
    syrkBatched(count, false, n, k, 1, a, 0, k, n * k, 0, c, 0, n, n * n);
    expect(firstDiff(c, ref)).toBe(-1);
  });

  it("an operand too short for its shape fails at once, naming the function", () => {
    expect(() => gemm(false, false, 2, 2, 2, 1, new Float64Array(3), 0, 2, new Float64Array(4), 0, 2, 0, new Float64Array(4), 0, 2)).toThrow(
      "gemm: A must hold elements 0…3 (2 rows × 2 columns, leading dimension 2), got an array of 3",
    );
    expect(() => syrk(false, 3, 2, 1, new Float64Array(6), 0, 2, 0, new Float64Array(8), 0, 3)).toThrow("syrk: C must hold elements 0…8");
  });
});

describe.each(WASM)("matrix core on %s with a heap that detaches views on every allocation", (backend) => {
  afterAll(() => setBackend(initial));

  it("a call allocates no linear memory: the caller's views of it stay attached and the results are right", () => {
    const h = useDetachingStorage(backend);
    const gen = new Generator(3);
    const [m, n, k] = [70, 530, 300];
    const a = randArray(m * k, gen, "float32");
    const b = randArray(k * n, gen, "float64");
    const ref = new Float32Array(m * n);
    gemmReference(false, false, m, n, k, 1, a, 0, k, b, 0, n, 0, ref, 0, n);
    const sa = h.allocate("float32", m * k, false) as LinearStorage;
    const sc = h.allocate("float32", m * n, false) as LinearStorage;
    const va = sa.view as Float32Array;
    va.set(a);
    const vc = sc.view as Float32Array;
    const buffer = h.memory.buffer;
    const blocks = h.liveBlocks;
    gemm(false, false, m, n, k, 1, va, 0, k, b, 0, n, 0, vc, 0, n);
    expect(h.memory.buffer).toBe(buffer);
    expect(h.liveBlocks).toBe(blocks);
    expect(vc.length).toBe(m * n);
    expect(firstDiff(vc, ref)).toBe(-1);
    sa.free();
    sc.free();
  });
});
