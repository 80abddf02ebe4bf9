/**
 * The WebAssembly matrix core split over the worker pool (src/backends/wasm/gemm.ts → gemmRows on
 * every thread): on 2 and 3 threads, GEMM and SYRK are bit-identical to the same backend on 1 thread
 * and to the TypeScript reference (gemmReference / syrkReference), SIMD and scalar builds, over every
 * transpose, α, β (0 over NaN included), odd sizes (fewer row strips than threads), sizes spanning
 * several MC / NC / KC blocks, float32 / float64 / mixed operands, operands in linear memory and on
 * the JS heap; SYRK stays exactly symmetric. Every split is forced (setMinPartBytes(0)), and each way
 * a part can run is checked on its own — by a worker (the test checks workers really ran parts), by
 * the calling thread claiming it, and the default race — so a wrong row range, pointer or shared
 * scratch shows up as a bit difference. With the default threshold a large product splits and a
 * small one does not.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, setThreads } from "../../src/backends/index.js";
import type { LinearStorage } from "../../src/backends/linear.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { setCallThreadLimit, setClaimMode, setMinPartBytes, type ClaimMode } from "../../src/backends/wasm/threads.js";
import { gemm, gemmBatched, gemmReference, gemmtBatched, gemmtReference, syrk, syrkBatched, syrkReference, type NumArray } from "../../src/linalg/gemm.js";
import { Generator } from "../../src/tensor/random.js";
import { firstBitDiff } from "../helpers/close.js";
import { WASM } from "../helpers/wasm.js";

type DT = "float32" | "float64";

const initial = getBackend();
afterAll(async () => {
  setMinPartBytes(undefined);
  setClaimMode("both");
  setCallThreadLimit(undefined);
  await setThreads(1);
  setBackend(initial);
});

function rand(n: number, gen: Generator, dtype: DT): NumArray {
  const a = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = gen.normal();
  return a;
}

const stats = (): { splitCalls: number; workerParts: number } => {
  const s = activeWasm()?.pool?.stats;
  if (s === undefined) throw new Error("no pool on the active backend");
  return { ...s };
};

/** `x` copied into a block of the active backend's linear memory (`js`: x itself). */
function place(x: NumArray, inWasm: boolean, blocks: LinearStorage[]): () => NumArray {
  if (!inWasm) return () => x;
  const s = activeWasm()!.heap.allocate(x instanceof Float32Array ? "float32" : "float64", x.length, false) as LinearStorage;
  blocks.push(s);
  (s.view as NumArray).set(x);
  return () => s.view as NumArray;
}

interface Case {
  m: number; n: number; k: number; tA: boolean; tB: boolean; alpha: number; beta: number;
  dA: DT; dB: DT; dC: DT; wasm: boolean; seed: number;
}

/** GEMM results of `cs` on the current thread settings, with the reference's. */
function runGemm(cs: Case, threads: number | undefined): { got: NumArray; ref: NumArray } {
  const { m, n, k, tA, tB, alpha, beta, dA, dB, dC, wasm, seed } = cs;
  const gen = new Generator(seed);
  const lda = (tA ? m : k) + 1;
  const ldb = (tB ? k : n) + 2;
  const ldc = n + 1;
  const a = rand(2 + (tA ? k : m) * lda, gen, dA);
  const b = rand(1 + (tB ? n : k) * ldb, gen, dB);
  const c = rand(m * ldc + 3, gen, dC);
  if (beta === 0) c.fill(NaN);
  const ref = c.slice();
  gemmReference(tA, tB, m, n, k, alpha, a, 2, lda, b, 1, ldb, beta, ref, 3, ldc);
  const blocks: LinearStorage[] = [];
  try {
    const [ga, gb, gc] = [place(a, wasm, blocks), place(b, !wasm, blocks), place(c, wasm, blocks)];
    setCallThreadLimit(threads);
    gemm(tA, tB, m, n, k, alpha, ga(), 2, lda, gb(), 1, ldb, beta, gc(), 3, ldc);
    return { got: gc().slice(), ref };
  } finally {
    setCallThreadLimit(undefined);
    for (const s of blocks) s.free();
  }
}

/** SYRK results (n × n, leading dimension n + 1) on the current thread settings, with the reference's. */
function runSyrk(n: number, k: number, trans: boolean, beta: number, dA: DT, dC: DT, wasm: boolean, seed: number, threads: number | undefined): { got: NumArray; ref: NumArray } {
  const gen = new Generator(seed);
  const lda = (trans ? n : k) + 1;
  const a = rand(1 + (trans ? k : n) * lda, gen, dA);
  const c = rand(n * (n + 1), gen, dC);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) c[i * (n + 1) + j] = c[j * (n + 1) + i] as number;
  const ref = c.slice();
  syrkReference(trans, n, k, -0.75, a, 1, lda, beta, ref, 0, n + 1);
  const blocks: LinearStorage[] = [];
  try {
    const [ga, gc] = [place(a, wasm, blocks), place(c, wasm, blocks)];
    setCallThreadLimit(threads);
    syrk(trans, n, k, -0.75, ga(), 1, lda, beta, gc(), 0, n + 1);
    return { got: gc().slice(), ref };
  } finally {
    setCallThreadLimit(undefined);
    for (const s of blocks) s.free();
  }
}

function gemmCases(): Case[] {
  const out: Case[] = [];
  let seed = 1;
  // odd sizes (1–3 row strips: fewer than the threads), and sizes across MC (96), NC (512), KC (256)
  const sizes = [[1, 1, 1], [3, 5, 2], [9, 7, 13], [37, 29, 41], [197, 37, 600], [13, 1030, 257], [100, 517, 70]] as const;
  const dtypes = [["float64", "float64", "float64"], ["float32", "float32", "float32"], ["float32", "float64", "float32"]] as const;
  for (const [m, n, k] of sizes) {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const [dA, dB, dC] = dtypes[seed % 3] as readonly [DT, DT, DT];
      const [alpha, beta] = ([[1, 0], [-0.5, 1], [2, 0.25]] as const)[seed % 3] as readonly [number, number];
      out.push({ m, n, k, tA, tB, alpha, beta, dA, dB, dC, wasm: seed % 2 === 0, seed });
      seed++;
    }
  }
  return out;
}

const SYRK: [n: number, k: number][] = [[1, 3], [6, 5], [67, 41], [97, 300], [530, 20]];

describe.each(WASM)("matrix core split over threads on %s", (backend) => {
  for (const threads of [2, 3]) {
    for (const mode of ["workers", "caller", "both"] as ClaimMode[]) {
      it(`${threads} threads, parts claimed by ${mode}: GEMM and SYRK bit-identical to 1 thread and to the reference`, async () => {
        setBackend(backend);
        await setThreads(threads);
        setMinPartBytes(0);
        setClaimMode(mode);
        try {
          const before = stats();
          for (const cs of gemmCases()) {
            const one = runGemm(cs, 1);
            const many = runGemm(cs, undefined);
            const what = JSON.stringify(cs);
            expect(firstBitDiff(many.got, one.got), `${what}: ${threads} threads vs 1`).toBe(-1);
            expect(firstBitDiff(many.got, many.ref), `${what}: vs gemmReference`).toBe(-1);
          }
          let seed = 200;
          for (const [n, k] of SYRK) {
            for (const trans of [false, true]) {
              for (const beta of [0, 0.5]) {
                const [dA, dC] = (seed % 2 === 0 ? ["float64", "float64"] : ["float32", "float32"]) as [DT, DT];
                const one = runSyrk(n, k, trans, beta, dA, dC, seed % 3 !== 0, seed, 1);
                const many = runSyrk(n, k, trans, beta, dA, dC, seed % 3 !== 0, seed, undefined);
                const what = `syrk n ${n} k ${k} trans ${trans} β ${beta} ${dA}`;
                expect(firstBitDiff(many.got, one.got), `${what}: ${threads} threads vs 1`).toBe(-1);
                expect(firstBitDiff(many.got, many.ref), `${what}: vs syrkReference`).toBe(-1);
                for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (many.got[i * (n + 1) + j] !== many.got[j * (n + 1) + i]) expect.fail(`${what}: C[${i},${j}] ≠ C[${j},${i}]`);
                seed++;
              }
            }
          }
          const after = stats();
          expect(after.splitCalls).toBeGreaterThan(before.splitCalls);
          // "workers": every worker part ran on a worker; "caller": none did
          if (mode === "workers") expect(after.workerParts).toBeGreaterThan(before.workerParts);
          if (mode === "caller") expect(after.workerParts).toBe(before.workerParts);
        } finally {
          setMinPartBytes(undefined);
          setClaimMode("both");
        }
      });
    }
  }

  for (const threads of [2, 3]) {
    for (const mode of ["workers", "caller", "both"] as ClaimMode[]) {
      it(`batched GEMM / SYRK / upper-triangle GEMM on ${threads} threads (problems split among them), parts claimed by ${mode}: bit-identical to 1 thread and to the reference`, async () => {
        setBackend(backend);
        await setThreads(threads);
        setMinPartBytes(0);
        setClaimMode(mode);
        try {
          const before = stats();
          let seed = 400;
          // counts below, at and above the thread count; odd sizes, 1×1, k past KC (float64 C)
          for (const [count, m, n, k] of [[1, 5, 3, 2], [2, 1, 1, 1], [3, 9, 7, 13], [5, 33, 17, 64], [7, 64, 64, 64], [4, 6, 130, 300]] as const) {
            for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
              const gen = new Generator(seed++);
              const dIn: DT = seed % 2 === 0 ? "float32" : "float64";
              const dC: DT = k > 256 || seed % 3 !== 0 ? "float64" : "float32";
              const lda = (tA ? m : k) + 1;
              const ldb = (tB ? k : n) + 2;
              const ldc = n + 1;
              const [sA, sB, sC] = [(tA ? k : m) * lda + 3, (tB ? n : k) * ldb, m * ldc + 1];
              const a = rand(1 + count * sA, gen, dIn);
              const b = rand(2 + count * sB, gen, "float64");
              const c = rand(count * sC, gen, dC);
              const beta = seed % 2 === 0 ? 0 : 0.5;
              const ref = c.slice();
              for (let s = 0; s < count; s++) gemmReference(tA, tB, m, n, k, 0.5, a, 1 + s * sA, lda, b, 2 + s * sB, ldb, beta, ref, s * sC, ldc);
              const results: NumArray[] = [];
              for (const t of [1, undefined]) {
                const blocks: LinearStorage[] = [];
                try {
                  const [ga, gb, gc] = [place(a, seed % 2 === 0, blocks), place(b, true, blocks), place(c.slice(), seed % 4 < 2, blocks)];
                  setCallThreadLimit(t);
                  gemmBatched(count, tA, tB, m, n, k, 0.5, ga(), 1, lda, sA, gb(), 2, ldb, sB, beta, gc(), 0, ldc, sC);
                  results.push(gc().slice());
                } finally {
                  setCallThreadLimit(undefined);
                  for (const x of blocks) x.free();
                }
              }
              const what = `gemmBatched ${count} × ${m}×${n}×${k} ${tA} ${tB} ${dIn}→${dC}`;
              expect(firstBitDiff(results[1] as NumArray, results[0] as NumArray), `${what}: ${threads} threads vs 1`).toBe(-1);
              expect(firstBitDiff(results[1] as NumArray, ref), `${what}: vs gemmReference`).toBe(-1);
              if (tA === tB) {
                // SYRK on the same A (n = m): C_s = 0.5·op(A_s)·op(A_s)ᵀ
                const g = new Float64Array(count * m * m);
                const gref = g.slice();
                for (let s = 0; s < count; s++) syrkReference(tA, m, k, 0.5, a, 1 + s * sA, lda, 0, gref, s * m * m, m);
                syrkBatched(count, tA, m, k, 0.5, a, 1, lda, sA, 0, g, 0, m, m * m);
                expect(firstBitDiff(g, gref), `syrkBatched ${count} × ${m}×${k} ${tA}`).toBe(-1);
              }
              if (m === n) {
                // the upper-triangle GEMM (gemmt) per problem, mirrored
                const h = new Float64Array(count * m * ldc);
                const href = h.slice();
                for (let s = 0; s < count; s++) gemmtReference(tA, tB, m, k, 0.5, a, 1 + s * sA, lda, b, 2 + s * sB, ldb, 0, href, s * m * ldc, ldc);
                gemmtBatched(count, tA, tB, m, k, 0.5, a, 1, lda, sA, b, 2, ldb, sB, 0, h, 0, ldc, m * ldc);
                expect(firstBitDiff(h, href), `gemmtBatched ${count} × ${m}×${k} ${tA} ${tB}`).toBe(-1);
              }
            }
          }
          const after = stats();
          expect(after.splitCalls).toBeGreaterThan(before.splitCalls);
          if (mode === "workers") expect(after.workerParts).toBeGreaterThan(before.workerParts);
          if (mode === "caller") expect(after.workerParts).toBe(before.workerParts);
        } finally {
          setMinPartBytes(undefined);
          setClaimMode("both");
        }
      });
    }
  }

  it("with the default threshold a large product is split and a small one is not", async () => {
    setBackend(backend);
    await setThreads(2);
    setClaimMode("workers");
    try {
      const small = { m: 8, n: 8, k: 8, tA: false, tB: false, alpha: 1, beta: 0, dA: "float64", dB: "float64", dC: "float64", wasm: true, seed: 3 } as const;
      let before = stats();
      const s = runGemm(small, undefined);
      expect(stats().splitCalls).toBe(before.splitCalls);
      expect(firstBitDiff(s.got, s.ref)).toBe(-1);
      before = stats();
      const large = runGemm({ ...small, m: 256, n: 256, k: 256 }, undefined);
      expect(stats().workerParts).toBeGreaterThan(before.workerParts);
      expect(firstBitDiff(large.got, large.ref)).toBe(-1);
    } finally {
      setClaimMode("both");
    }
  });
});
