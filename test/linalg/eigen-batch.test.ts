/**
 * The batched eigensolver: `symEigBatch` (src/linalg/eigen.ts) and its kernel `linalg.symEigDC` —
 * under the WebAssembly backends the whole divide-and-conquer solve of every matrix (reduction,
 * `dcSolve`, back-transformation, sort, gather) in one WebAssembly call per thread (assembly/eigen.ts
 * `symEigBatch`), the batch split over the worker pool in chunks of one matrix taken in turn.
 *
 * Checks, all bit for bit (the kernel performs the reference's operations in its order; a GEMM's values
 * depend only on GEMM_KC):
 * - every backend (js, wasm, wasm-simd): symEigBatch's answer for each matrix is symEig's for it alone,
 *   on batches mixing random, clustered, rank-deficient, exactly repeated (diagonal), zero and non-finite matrices, n = 9 … 200
 *   (odd sizes, sizes around the leaf size and the blocked reduction's threshold), every method;
 * - WebAssembly: the kernel against its reference `symEigDCReference` run on the same backend (the
 *   per-kernel path: each step a separate kernel or GEMM call on linear memory — the solver before
 *   the batched kernel), including the merge counters (dcStats) and the QL-failure flag; with its
 *   workspace filled with NaN or garbage first (nothing relies on zeroed scratch);
 * - threads: 2 and 3 threads with every split forced (setMinPartBytes(0)), parts claimed by workers
 *   only, by the calling thread only, and raced — equal to 1 thread, and the counters summed over parts;
 *   with the default thresholds on 2 threads, a lone n = 256 matrix (the per-kernel path, whose GEMMs
 *   split by rows) and a batch (split by matrices) equal 1 thread.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, setThreads, type BackendName } from "../../src/backends/index.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { setSymEigScratchFill } from "../../src/backends/wasm/linalg.js";
import { setClaimMode, setMinPartBytes, type ClaimMode } from "../../src/backends/wasm/threads.js";
import { kernel } from "../../src/kernels/registry.js";
import { symEig, symEigBatch, symEigDCReference, type SymEigMethod } from "../../src/linalg/eigen.js";
import { dcStats, resetDCStats } from "../../src/linalg/tridiagDC.js";
import { setQLSweepLimitForTesting } from "../../src/linalg/tridiagQL.js";
import { Generator } from "../../src/tensor/random.js";
import { firstBitDifference, WASM } from "../helpers/wasm.js";

/** A symmetric n × n matrix of one of the test kinds. */
function matrix(kind: string, n: number, g: Generator): Float64Array {
  const a = new Float64Array(n * n);
  if (kind === "zero") return a;
  if (kind === "random") {
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = g.normal();
    return a;
  }
  if (kind === "repeated") {
    // diagonal, values repeated exactly: ties in the final sort (its stability decides the vectors' order)
    for (let i = 0; i < n; i++) a[i * n + i] = [0.75, -0.5, 0.75, 0.25][i % 4] as number;
    return a;
  }
  if (kind === "nan") {
    for (let i = 0; i < n * n; i++) a[i] = 1;
    a[n + 1] = NaN;
    return a;
  }
  // X Xᵀ/m for X n × r: rank-deficient (r < n) or clustered (rows from 3 directions plus 1e-9 noise)
  const r = kind === "rank-deficient" ? Math.max(1, n >> 2) : n + 5;
  const x = new Float64Array(n * r);
  const dirs = [0, 1, 2].map(() => Array.from({ length: r }, () => g.normal()));
  for (let i = 0; i < n; i++) for (let t = 0; t < r; t++) x[i * r + t] = kind === "clustered" ? (dirs[i % 3] as number[])[t] as number + 1e-9 * g.normal() : g.normal();
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let t = 0; t < r; t++) s += (x[i * r + t] as number) * (x[j * r + t] as number);
    a[i * n + j] = a[j * n + i] = s / r;
  }
  return a;
}

const KINDS = ["random", "clustered", "rank-deficient", "repeated", "zero", "nan"];

/** count matrices of size n, kinds cycling (shifted by `shift`), one after another. */
function batch(n: number, count: number, seed: number, shift = 0): Float64Array {
  const g = new Generator(seed);
  const a = new Float64Array(count * n * n);
  for (let s = 0; s < count; s++) a.set(matrix(KINDS[(s + shift) % KINDS.length] as string, n, g), s * n * n);
  return a;
}

/** A batch of only finite, nonzero matrices (for the kernel, which takes scaled matrices). */
function finiteBatch(n: number, count: number, seed: number): Float64Array {
  const g = new Generator(seed);
  const a = new Float64Array(count * n * n);
  for (let s = 0; s < count; s++) {
    const m = matrix(KINDS[s % 4] as string, n, g);
    // scaled as symEig does: the largest entry in [½, 1)
    let mx = 0;
    for (const v of m) mx = Math.max(mx, Math.abs(v));
    const e = Math.ceil(Math.log2(mx)) + (2 ** Math.ceil(Math.log2(mx)) <= mx ? 1 : 0);
    for (let i = 0; i < n * n; i++) a[s * n * n + i] = (m[i] as number) * 2 ** -e;
  }
  return a;
}

interface KernelRun {
  a: Float64Array;
  values: Float64Array;
  ok: Int32Array;
  stats: typeof dcStats;
}

function runKernel(f: typeof symEigDCReference, count: number, n: number, a0: Float64Array): KernelRun {
  const a = a0.slice();
  const values = new Float64Array(count * n);
  const ok = new Int32Array(count).fill(-1);
  resetDCStats();
  f(count, n, a, values, ok);
  return { a, values, ok, stats: { ...dcStats } };
}

function expectSameRun(got: KernelRun, want: KernelRun, what: string): void {
  expect(Array.from(got.ok), `${what}: ok`).toEqual(Array.from(want.ok));
  expect(firstBitDifference(got.values, want.values), `${what}: values`).toBeNull();
  expect(firstBitDifference(got.a, want.a), `${what}: vectors`).toBeNull();
  expect(got.stats, `${what}: merge counters`).toEqual(want.stats);
}

const SIZES = [9, 16, 17, 31, 64, 65, 97, 128, 200];

const initial = getBackend();
afterAll(async () => {
  setMinPartBytes(undefined);
  setClaimMode("both");
  setSymEigScratchFill(null);
  setQLSweepLimitForTesting(null);
  await setThreads(1);
  setBackend(initial);
});

for (const backend of ["js", ...WASM] as BackendName[]) {
  describe(`symEigBatch on ${backend}`, () => {
    it("each matrix's answer is symEig's for it alone (random, clustered, rank-deficient, repeated, zero, NaN; n = 9 … 200; every method)", () => {
      setBackend(backend);
      for (const n of SIZES) {
        const count = 6;
        const a = batch(n, count, n, n);
        const copy = a.slice();
        const methods: SymEigMethod[] = n <= 17 ? ["auto", "dc", "ql", "jacobi"] : n <= 65 ? ["auto", "dc", "ql"] : ["auto"];
        for (const method of methods) {
          const got = symEigBatch(a, count, n, method);
          expect(got.length).toBe(count);
          for (let s = 0; s < count; s++) {
            const want = symEig(a.subarray(s * n * n, (s + 1) * n * n), n, method);
            const what = `n ${n} ${method} matrix ${s} (${KINDS[(s + n) % KINDS.length]})`;
            expect(firstBitDifference((got[s] as { values: Float64Array }).values, want.values), `${what}: values`).toBeNull();
            expect(firstBitDifference((got[s] as { vectors: Float64Array }).vectors, want.vectors), `${what}: vectors`).toBeNull();
          }
        }
        expect(firstBitDifference(a, copy), "the input is not written").toBeNull();
      }
    });
  });
}

for (const backend of WASM) {
  describe(`linalg.symEigDC on ${backend}`, () => {
    it("is the backend's kernel; bit for bit the per-kernel path (symEigDCReference on this backend), counters included, whatever the workspace held", () => {
      setBackend(backend);
      const ker = kernel("linalg.symEigDC", "float64", symEigDCReference);
      expect(ker).not.toBe(symEigDCReference);
      try {
        for (const n of [1, 2, 3, ...SIZES]) {
          const count = 5;
          const a = finiteBatch(n, count, 1000 + n);
          const want = runKernel(symEigDCReference, count, n, a);
          expect(Array.from(want.ok)).toEqual([1, 1, 1, 1, 1]);
          for (const fill of [null, NaN, 1e300]) {
            setSymEigScratchFill(fill);
            expectSameRun(runKernel(ker, count, n, a), want, `n ${n}, workspace ${fill}`);
          }
          setSymEigScratchFill(null);
        }
      } finally {
        setSymEigScratchFill(null);
      }
    });

    it("QL's sweep limit reaches the kernel: with none allowed every matrix reports failure, and symEigBatch falls back to Jacobi", () => {
      setBackend(backend);
      const n = 40;
      const a = finiteBatch(n, 3, 77);
      setQLSweepLimitForTesting(0);
      try {
        const got = runKernel(kernel("linalg.symEigDC", "float64", symEigDCReference), 3, n, a);
        expect(Array.from(got.ok)).toEqual([0, 0, 0]);
        const res = symEigBatch(a, 3, n, "dc");
        for (let s = 0; s < 3; s++) {
          const jac = symEig(a.subarray(s * n * n, (s + 1) * n * n), n, "jacobi");
          expect(firstBitDifference((res[s] as { values: Float64Array }).values, jac.values)).toBeNull();
        }
      } finally {
        setQLSweepLimitForTesting(null);
      }
    });

    it("default thresholds on 2 threads: a lone matrix of n = 256 (the per-kernel path, GEMMs split) and a batch (split by matrices) equal 1 thread", async () => {
      setBackend(backend);
      const ker = (): typeof symEigDCReference => kernel("linalg.symEigDC", "float64", symEigDCReference);
      const cases: [n: number, count: number][] = [[256, 1], [64, 8]];
      await setThreads(1);
      const one = cases.map(([n, count]) => runKernel(ker(), count, n, finiteBatch(n, count, 3 * n + count)));
      await setThreads(2);
      try {
        cases.forEach(([n, count], i) => expectSameRun(runKernel(ker(), count, n, finiteBatch(n, count, 3 * n + count)), one[i] as KernelRun, `n ${n}, ${count} matrices`));
      } finally {
        await setThreads(1);
      }
    });

    for (const threads of [2, 3]) {
      for (const mode of ["workers", "caller", "both"] as ClaimMode[]) {
        it(`${threads} threads, every split forced, parts claimed by ${mode}: bit for bit 1 thread (counters summed over the parts)`, async () => {
          setBackend(backend);
          const ker = (): typeof symEigDCReference => kernel("linalg.symEigDC", "float64", symEigDCReference);
          // counts below, at and above the thread count
          const cases: [n: number, count: number][] = [[9, 1], [33, 2], [64, 3], [97, 5], [17, 7], [130, 4]];
          const one: KernelRun[] = [];
          await setThreads(1);
          for (const [n, count] of cases) one.push(runKernel(ker(), count, n, finiteBatch(n, count, 50 + n + count)));
          await setThreads(threads);
          setMinPartBytes(0);
          setClaimMode(mode);
          try {
            const pool = activeWasm()?.pool;
            if (pool === undefined || pool === null) throw new Error("no worker pool");
            const before = { ...pool.stats };
            cases.forEach(([n, count], i) => expectSameRun(runKernel(ker(), count, n, finiteBatch(n, count, 50 + n + count)), one[i] as KernelRun, `n ${n}, ${count} matrices`));
            expect(pool.stats.splitCalls).toBeGreaterThan(before.splitCalls);
            if (mode === "workers") expect(pool.stats.workerParts).toBeGreaterThan(before.workerParts);
            if (mode === "caller") expect(pool.stats.workerParts).toBe(before.workerParts);
          } finally {
            setMinPartBytes(undefined);
            setClaimMode("both");
            await setThreads(1);
          }
        });
      }
    }
  });
}
