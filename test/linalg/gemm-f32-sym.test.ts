/**
 * The float32 matrix core's symmetric paths (assembly/gemm.ts gemmBatch32), on both WebAssembly builds,
 * 1 and 2 threads (problems split among them, forced):
 *  - `upper` with β = 0: C's lower triangle is written by transposed copies of the tiles wholly above
 *    the diagonal as they are stored (mirrorTile32), the band left of the diagonal inside each 8-column
 *    strip by mirrorBand32 — checked bit for bit against gemmF32Reference (upper triangle summed, then
 *    mirrored) at sizes around the 4 × 8 tile, MC (96) and the float32 panel width (256), k across KC
 *    (several k-blocks), over a NaN-filled C, for A = B (SYRK) and A ≠ B (a product that is not
 *    symmetric: the lower triangle must still be the upper's mirror, not the lower product).
 *  - `symA` (bilinearPool's backward): op(A) = G + Gᵀ packed straight from G — checked bit for bit
 *    against gemmF32Reference on G + Gᵀ formed in float32 first, at square sizes around the tile, MC
 *    and KC, column counts around the panel width.
 * Both are exact (the same operations as the reference), so equality is the test; no tolerance.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, setThreads } from "../../src/backends/index.js";
import type { LinearStorage } from "../../src/backends/linear.js";
import { gemmAt } from "../../src/backends/wasm/gemm.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { setCallThreadLimit, setMinPartBytes } from "../../src/backends/wasm/threads.js";
import { gemmF32, gemmF32Reference } from "../../src/linalg/gemm.js";
import { Generator } from "../../src/tensor/random.js";
import { firstBitDiff } from "../helpers/close.js";
import { WASM } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(async () => {
  setMinPartBytes(undefined);
  setCallThreadLimit(undefined);
  await setThreads(1);
  setBackend(initial);
});

function rand(n: number, gen: Generator): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = gen.normal();
  return a;
}

/** A copy of x in the active backend's linear memory. */
function place(x: Float32Array, blocks: LinearStorage[]): LinearStorage {
  const s = activeWasm()!.heap.allocate("float32", Math.max(x.length, 1), false) as LinearStorage;
  blocks.push(s);
  (s.view as Float32Array).set(x);
  return s;
}

// n around the tile (4 rows × 8 columns), MC = 96 and the float32 panel (256 columns); k around KC = 256
const SYM_SIZES: [n: number, k: number][] = [
  [1, 1], [2, 3], [3, 1], [4, 2], [5, 7], [7, 4], [8, 8], [9, 5], [11, 3], [12, 12], [13, 2], [16, 1], [17, 9],
  [31, 6], [33, 33], [95, 4], [96, 3], [97, 257], [104, 10], [255, 2], [256, 5], [257, 3], [300, 260],
];

describe.each(WASM)("float32 symmetric paths on %s", (backend) => {
  for (const threads of [1, 2]) {
    it(`${threads} thread(s): upper with β = 0 (transposed tile copies + band), A = B and A ≠ B, NaN in C: bit-identical to gemmF32Reference`, async () => {
      setBackend(backend);
      await setThreads(threads);
      setMinPartBytes(0);
      try {
        let seed = 700;
        for (const [n, k] of SYM_SIZES) {
          for (const same of [true, false]) {
            for (const [tA, tB] of [[false, true], [true, false]] as const) {
              const gen = new Generator(seed++);
              const count = 2;
              const lda = (tA ? n : k) + 1;
              const sA = (tA ? k : n) * lda;
              const a = rand(count * sA, gen);
              const b = same ? a : rand(count * sA, gen);
              const ldc = n + 2;
              const sC = n * ldc + 1;
              const c = new Float32Array(count * sC).fill(NaN);
              const ref = c.slice();
              gemmF32Reference(count, tA, tB, n, n, k, 0.5, a, 0, lda, sA, b, 0, lda, sA, 0, ref, 0, ldc, sC, true);
              const blocks: LinearStorage[] = [];
              try {
                const [pa, pb, pc] = [place(a, blocks), same ? null : place(b, blocks), place(c, blocks)];
                const va = pa.view as Float32Array;
                gemmF32(count, tA, tB, n, n, k, 0.5, va, 0, lda, sA, pb === null ? va : (pb.view as Float32Array), 0, lda, sA, 0, pc.view as Float32Array, 0, ldc, sC, true);
                const got = (pc.view as Float32Array).slice();
                expect(firstBitDiff(got, ref), `n ${n} k ${k} same ${same} tA ${tA} tB ${tB} ${threads} thread(s)`).toBe(-1);
              } finally {
                for (const s of blocks) s.free();
              }
            }
          }
        }
      } finally {
        setMinPartBytes(undefined);
      }
    });

    it(`${threads} thread(s): op(A) = G + Gᵀ packed from G (gemmAt symA): bit-identical to the product with G + Gᵀ formed first`, async () => {
      setBackend(backend);
      await setThreads(threads);
      setMinPartBytes(0);
      const w = activeWasm()!;
      try {
        let seed = 900;
        for (const [m, n] of [[1, 1], [3, 7], [4, 8], [5, 196], [8, 3], [13, 257], [97, 20], [260, 9], [300, 33]] as const) {
          const gen = new Generator(seed++);
          const count = 3;
          const mm = m * m;
          const g = rand(count * mm, gen);
          const x = rand(count * m * n, gen);
          const gs = new Float32Array(count * mm);
          for (let s = 0; s < count; s++) for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) gs[s * mm + i * m + j] = (g[s * mm + i * m + j] as number) + (g[s * mm + j * m + i] as number);
          const ref = new Float32Array(count * m * n).fill(NaN);
          gemmF32Reference(count, false, false, m, n, m, 0.25, gs, 0, m, mm, x, 0, n, m * n, 0, ref, 0, n, m * n, false);
          const blocks: LinearStorage[] = [];
          try {
            const [pg, px, pc] = [place(g, blocks), place(x, blocks), place(new Float32Array(count * m * n).fill(NaN), blocks)];
            gemmAt(w, true, count, false, false, m, n, m, 0.25, pg.ptr, true, m, mm, px.ptr, true, n, m * n, pc.ptr, true, n, m * n, true, true);
            const got = (pc.view as Float32Array).slice();
            expect(firstBitDiff(got, ref), `m ${m} n ${n} ${threads} thread(s)`).toBe(-1);
          } finally {
            for (const s of blocks) s.free();
          }
        }
        // what it does not do is refused, naming the function
        expect(() => gemmAt(w, true, 1, false, false, 3, 2, 4, 1, 0, true, 4, 0, 0, true, 2, 0, 0, true, 2, 0, true, true)).toThrow("gemmAt: op(A) = A + Aᵀ needs");
        expect(() => gemmAt(w, false, 1, false, false, 3, 2, 3, 1, 0, true, 3, 0, 0, true, 2, 0, 0, true, 2, 0, true, true)).toThrow("gemmAt");
      } finally {
        setMinPartBytes(undefined);
      }
    });
  }
});
