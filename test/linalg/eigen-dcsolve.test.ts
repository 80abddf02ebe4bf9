/**
 * `linalg.dcSolve` — the whole divide-and-conquer tridiagonal solver as one WebAssembly call
 * (assembly/eigen.ts), SIMD and scalar builds — against its TypeScript reference `tridiagonalEigDC`
 * (src/linalg/tridiagDC.ts), bit for bit: every leaf's QL, merge, deflation, secular solve and GEMM is
 * the reference's operations in the reference's order (the GEMMs split their k-sums at the same GEMM_KC),
 * so the eigenvalues d, the eigenvectors z, the success flag and the merges' counters (dcStats) must
 * be identical — to the reference on the JS heap (the "js" backend's kernels) and to the reference on
 * linear memory (the per-kernel WebAssembly path before this kernel). Tridiagonals: random, graded,
 * clustered (glued Wilkinson), tiny off-diagonals (every merge deflates), repeated eigenvalues,
 * split into blocks (zero off-diagonals), and the tridiagonal of a rank-deficient covariance; n from 1
 * to 200, odd sizes, sizes just above a leaf (17, 33). The QL sweep limit reaches the kernel: with no
 * sweeps allowed both report failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, type BackendName } from "../../src/backends/index.js";
import { kernel } from "../../src/kernels/registry.js";
import { releaseWorkspaceReference, workspaceReference } from "../../src/linalg/eigen.js";
import { dcScratch, dcStats, resetDCStats, tridiagonalEigDC } from "../../src/linalg/tridiagDC.js";
import { setQLSweepLimitForTesting } from "../../src/linalg/tridiagQL.js";
import { Generator } from "../../src/tensor/random.js";
import { firstBitDifference, WASM } from "../helpers/wasm.js";

interface Tri {
  name: string;
  d: Float64Array;
  e: Float64Array;
}

/** Tridiagonal test problems of size n (e has n entries, the last unused). */
function problems(n: number, seed: number): Tri[] {
  const g = new Generator(seed);
  const out: Tri[] = [];
  const make = (name: string, fd: (i: number) => number, fe: (i: number) => number): void => {
    const d = new Float64Array(n);
    const e = new Float64Array(n);
    for (let i = 0; i < n; i++) d[i] = fd(i);
    for (let i = 0; i + 1 < n; i++) e[i] = fe(i);
    out.push({ name, d, e });
  };
  make("random", () => g.normal(), () => g.normal());
  make("graded", (i) => 10 ** (-8 * i / n) * (1 + g.uniform()), (i) => 10 ** (-8 * i / n) * g.normal());
  // glued Wilkinson W⁺₂₁ blocks (clusters of nearly equal eigenvalues: rotation deflation)
  make("glued Wilkinson", (i) => Math.abs(10 - (i % 21)), (i) => ((i + 1) % 21 === 0 ? 1e-10 : 1));
  // off-diagonals just above the splitting threshold: tiny ρ in every merge (small-z deflation)
  make("tiny off-diagonals", () => g.uniform() * 2 - 1, () => 1e-15);
  // three values repeated: the merges' exact ties (the sort's stability) and rotations
  make("repeated", (i) => [1, 2, -3][i % 3] as number, () => 1e-9);
  // zero off-diagonals every 7 rows: the solve splits into independent blocks
  make("split", () => g.normal(), (i) => (i % 7 === 6 ? 0 : g.normal()));
  // a PSD covariance's spectrum shape: rank-deficient (many zero diagonal entries, small couplings)
  make("rank-deficient", (i) => (i % 4 === 0 ? g.uniform() : 0), (i) => (i % 4 === 0 ? 1e-3 * g.normal() : 0));
  return out;
}

const SIZES = [1, 2, 9, 16, 17, 33, 48, 63, 64, 65, 97, 128, 131, 200];

interface Result {
  ok: boolean;
  d: Float64Array;
  z: Float64Array;
  stats: typeof dcStats;
}

/** Run `solve` on copies of (d, e) in one workspace (linear memory under a WebAssembly backend). */
function runIn(t: Tri, n: number, solve: (d: Float64Array, e: Float64Array, n: number, z: Float64Array, s: Float64Array) => boolean): Result {
  const ws = kernel("linalg.workspace", "float64", workspaceReference)(2 * n + n * n + dcScratch(n));
  try {
    const d = ws.subarray(0, n);
    const e = ws.subarray(n, 2 * n);
    const z = ws.subarray(2 * n, 2 * n + n * n);
    const s = ws.subarray(2 * n + n * n);
    d.set(t.d);
    e.set(t.e);
    // garbage in z and the scratch: neither may be read before written
    z.fill(7.5);
    s.fill(-3.25);
    resetDCStats();
    const ok = solve(d, e, n, z, s);
    return { ok, d: d.slice(), z: z.slice(), stats: { ...dcStats } };
  } finally {
    kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
  }
}

function expectSame(got: Result, want: Result, what: string): void {
  expect(got.ok, what).toBe(want.ok);
  expect(firstBitDifference(got.d, want.d), `${what}: eigenvalues`).toBeNull();
  expect(firstBitDifference(got.z, want.z), `${what}: eigenvectors`).toBeNull();
  expect(got.stats, `${what}: merge counters`).toEqual(want.stats);
}

const initial = getBackend();
afterAll(() => {
  setQLSweepLimitForTesting(null);
  setBackend(initial);
});

for (const backend of WASM as BackendName[]) {
  describe(`linalg.dcSolve on ${backend}`, () => {
    beforeAll(() => setBackend(backend));

    it("is the backend's kernel (not the reference)", () => {
      expect(kernel("linalg.dcSolve", "float64", tridiagonalEigDC)).not.toBe(tridiagonalEigDC);
    });

    for (const n of SIZES) {
      it(`n = ${n}: d, z, the flag and the merge counters bit for bit the reference's (JS heap and linear memory)`, () => {
        for (const t of problems(n, 100 + n)) {
          const got = runIn(t, n, kernel("linalg.dcSolve", "float64", tridiagonalEigDC));
          // the reference on linear memory: its leaves, merges and GEMMs through this backend's kernels
          const old = runIn(t, n, tridiagonalEigDC);
          setBackend("js");
          let ref: Result;
          try {
            ref = runIn(t, n, tridiagonalEigDC);
          } finally {
            setBackend(backend);
          }
          expectSame(got, ref, `${t.name} vs the reference`);
          expectSame(got, old, `${t.name} vs the per-kernel path`);
          if (n > 16 && t.name !== "split" && t.name !== "rank-deficient") expect(got.stats.merges, t.name).toBeGreaterThan(0);
        }
      });
    }

    it("the merges deflate both ways on the stress problems (the counters come from the kernel)", () => {
      const [, , glued, tiny] = problems(200, 5) as [Tri, Tri, Tri, Tri];
      expect(runIn(glued, 200, kernel("linalg.dcSolve", "float64", tridiagonalEigDC)).stats.rotations).toBeGreaterThan(0);
      expect(runIn(tiny, 200, kernel("linalg.dcSolve", "float64", tridiagonalEigDC)).stats.smallZ).toBeGreaterThan(0);
    });

    it("QL's sweep limit reaches the kernel: with none allowed, failure as the reference reports it", () => {
      setQLSweepLimitForTesting(0);
      try {
        const [random] = problems(40, 9) as [Tri];
        const got = runIn(random, 40, kernel("linalg.dcSolve", "float64", tridiagonalEigDC));
        const old = runIn(random, 40, tridiagonalEigDC);
        expect(got.ok).toBe(false);
        expect(old.ok).toBe(false);
      } finally {
        setQLSweepLimitForTesting(null);
      }
    });
  });
}
