/**
 * The matrix core on the WebAssembly backends: `linalg.gemm` and `linalg.syrk` (C = α·op(A)·op(B) + β·C
 * and its symmetric case) for float32 and float64 C, with float32 or float64 A and B, arithmetic in
 * float64. AssemblyScript source: assembly/gemm.ts (packing and a 4 × 4 f64x2 register-tile
 * macro-kernel; a scalar build of the same source for engines without SIMD).
 *
 * The blocking loops run here, the work per block in WebAssembly (Goto & van de Geijn, ACM TOMS 2008):
 * for each NC-column panel and KC-deep slice, op(B) is packed once; for each MC-row block op(A) is
 * packed and the macro-kernel updates C's MC × NC block. The packs and a staging block for C live in
 * one arena allocated when the backend is installed, so a call never allocates linear memory: the
 * caller's views of linear memory stay attached through the call (an op may keep using them), and no
 * scratch is allocated per call. Operands in linear memory are read in place (pointer = byteOffset);
 * others (the float64 intermediates the linalg code makes on the JS heap) are copied whole into the
 * arena's 8 MiB copy region while they fit (one memcpy each), else packed from JS into the arena
 * block by block, with a C not in linear memory updated through the staging block, one MC × NC block
 * at a time.
 *
 * Threads: for each (NC panel, KC slice), once B is packed, C's rows are split among the worker pool's
 * threads (src/backends/wasm/threads.ts) — each part runs gemmRows, packing its rows of op(A) into its
 * own block of the arena — when the operands are on pointers and the panel's work pays for a split.
 * Every C entry gets the same operations whichever thread computes it, so the results do not depend on
 * the thread count (test/linalg/gemm-threads.test.ts).
 *
 * Batches (`linalg.gemmBatched`, `linalg.syrkBatched`, `linalg.gemmtBatched`: many small products of one shape, e.g. one per
 * image): the whole batch's operands are copied into the copy region at once (or read in place), and
 * each thread runs one WebAssembly call (gemmBatch) over its share of whole problems, with its own A
 * and B packs — no per-panel barrier and no per-problem JS glue; a batch that does not fit runs problem
 * by problem through the path above.
 *
 * Results are bit-identical to the TypeScript reference (`gemmReference`, `syrkReference` in
 * src/linalg/gemm.ts): the k-sum is split at the same multiples of GEMM_KC, each entry is a
 * sequential float64 sum (no FMA) added into C as C + α·sum, and a float32 C whose k spans several
 * KC blocks is accumulated in a float64 copy and rounded once — as the reference does
 * (test/linalg/gemm-wasm.test.ts checks equality, for both builds).
 *
 * Why float64 for float32 operands by default (not f32x4, which does twice the work per instruction):
 * the error of a float32 result stays at one rounding (|ΔC| ≤ u₃₂·|C| + k·u₆₄·|A||B|) instead of
 * float32 accumulation's k·u₃₂·|A||B| (PyTorch's, with OpenBLAS's sgemm), which matters wherever a
 * product's error is amplified afterwards (the eigen paths' divided differences: a float32 try of the
 * covariance backward missed a float32 PyTorch fixture). Callers that accept float32 accumulation
 * error take `linalg.gemmF32` (float32 arithmetic, f32x4 4 × 8 tile, gemmBatch32; measured 31 vs
 * 18 GFLOP/s at n = 256 on one thread): Newton–Schulz on float32 input.
 *
 * Block sizes: MC = 96 rows × KC = 256 (the packed A block, 192 KiB, stays in L2), NC = 512 (B panel
 * 1 MiB). On the 2-core AMD EPYC (Zen 4, AVX-512 — unused by wasm's 128-bit SIMD) this project
 * benchmarks on, MC ∈ {64, 96, 128} and NC ∈ {256, 512, 1024} gave the same 9–18 GFLOP/s float64 for
 * n = 64–512 within the machine's noise (load ~10 from other work); the register tile mattered more
 * (see assembly/gemm.ts).
 */
import { registerKernel, unregisterKernel } from "../../kernels/registry.js";
import { gemmF32Reference, mirrorUpper, scaleC, type NumArray } from "../../linalg/gemm.js";
import { PoolkitRangeError } from "../../errors.js";
import type { LinearStorage } from "../linear.js";
import type { WasmBackend } from "./index.js";
import { callThreads } from "./threads.js";

interface GemmExports {
  gemmPackA(src: number, f32: number, ld: number, trans: number, i0: number, mb: number, p0: number, kb: number, dst: number): void;
  gemmPackB(src: number, f32: number, ld: number, trans: number, p0: number, kb: number, j0: number, nb: number, dst: number): void;
  gemmMacro(mb: number, nb: number, kb: number, alpha: number, pa: number, pb: number, c: number, ldc: number, cF32: number, diag: number, fresh: number): void;
  gemmRows(
    a: number, aF32: number, lda: number, transA: number, i0: number, i1: number, p0: number, kb: number, pa: number, mc: number,
    nb: number, alpha: number, pb: number, c: number, ldc: number, cF32: number, j0: number, upper: number, fresh: number,
  ): void;
  gemmBatch(
    s0: number, s1: number, a: number, aF32: number, lda: number, sa: number, transA: number, b: number, bF32: number, ldb: number, sb: number, transB: number,
    m: number, n: number, k: number, alpha: number, c: number, cF32: number, ldc: number, sc: number, fresh: number, upper: number, pa: number, pb: number,
  ): void;
  gemmBatch32(
    s0: number, s1: number, a: number, aF32: number, lda: number, sa: number, transA: number, b: number, bF32: number, ldb: number, sb: number, transB: number,
    m: number, n: number, k: number, alpha: number, c: number, ldc: number, sc: number, fresh: number, upper: number, pa: number, pb: number, symA: number,
  ): void;
}

/** Register tile of assembly/gemm.ts (GEMM_MR × GEMM_NR); the JS packing must use the same layout. */
const MR = 4;
const NR = 4;
/**
 * Depth of a packed block: must equal GEMM_KC of src/linalg/gemm.ts (the reference splits the k-sum
 * there; test/linalg/gemm-wasm.test.ts checks). A literal, not an import: the two modules import each
 * other through the allocator, and a `const` read during that cycle's evaluation would not be set yet.
 */
export const WASM_GEMM_KC = 256;
const KC = WASM_GEMM_KC;
/** Rows of op(A) per packed block (a multiple of MR). */
const MC = 96;
/** Columns of op(B) per packed panel (a multiple of NR). */
const NC = 512;
/**
 * Most threads one panel is split over (each needs its own packed-A block in the arena: 192 KiB each).
 * Issue 9's target is 2 threads; 8 keeps larger machines busy without a per-call allocation.
 */
export const MAX_PARTS = 8;
/**
 * Work (flops: 2 × multiply-adds) per thread below which a panel is not split. A forced split of
 * GEMMs of n = 32–192 cost 3–30 µs more than one thread on the project's 2-core machine under load
 * (the worker's wake-up and the wait for it; it never won there, the cores being busy), so a part
 * must be worth ~200 µs of work at the SIMD core's ~20 GFLOP/s: ≥ 4 MFLOP, e.g. a 256 × 256 × 256
 * GEMM's panels split, a 128³ one's do not.
 */
const MIN_PART_FLOPS = 1 << 22;
const PACK_A = 0;
const PACK_B = MAX_PARTS * MC * KC;
const STAGE = PACK_B + KC * NC;
/**
 * Columns of op(B) per panel in gemmBatch (GEMM_BATCH_NC of assembly/gemm.ts): one KC × 128 float64 pack per
 * part — the same bytes hold gemmBatch32's KC × 256 float32 panel (GEMM_BATCH_NC32).
 */
const BATCH_NC = 128;
const PACK_BATCH_B = STAGE + MC * NC;
const COPY = PACK_BATCH_B + MAX_PARTS * KC * BATCH_NC;
/** Bytes for operands copied in whole (8 MiB: float64 512 × 512 A, B and C, or one 1024 × 1024). */
const COPY_BYTES = 1 << 23;
const ARENA = COPY + COPY_BYTES / 8;
/** `diag` for a full GEMM: no tile is skipped. */
const NO_DIAG = 0x3fffffff;

const arenas = new WeakMap<WasmBackend, LinearStorage>();

function arenaOf(b: WasmBackend): LinearStorage {
  let a = arenas.get(b);
  if (a === undefined) {
    const s = b.heap.allocate("float64", ARENA, false);
    if (s === null) throw new PoolkitRangeError("wasm backend", `out of WebAssembly memory: the matrix core's ${ARENA * 8} byte arena does not fit`);
    a = s;
    arenas.set(b, a);
  }
  return a;
}

/** Check that op reads stay inside the array (a detached view has length 0: fail loudly, not with NaN). */
function extent(op: string, name: string, x: NumArray, off: number, rows: number, cols: number, ld: number): void {
  if (rows <= 0 || cols <= 0) return;
  const last = off + (rows - 1) * ld + cols - 1;
  if (off < 0 || last >= x.length) {
    throw new PoolkitRangeError(op, `${name} must hold elements ${off}…${last} (${rows} rows × ${cols} columns, leading dimension ${ld}), got an array of ${x.length}`);
  }
}

/** Pack op(A)[i0…, p0…] (a not in linear memory) into MR-row strips of `dst` from element `d0` (layout of gemmPackA). */
function packAJs(trans: boolean, a: NumArray, off: number, ld: number, i0: number, mb: number, p0: number, kb: number, dst: Float64Array, d0: number): void {
  for (let s = 0; s * MR < mb; s++) {
    const base = d0 + s * kb * MR;
    const rows = Math.min(MR, mb - s * MR);
    for (let r = 0; r < MR; r++) {
      const i = i0 + s * MR + r;
      if (r >= rows) for (let p = 0; p < kb; p++) dst[base + p * MR + r] = 0;
      else if (trans) for (let p = 0; p < kb; p++) dst[base + p * MR + r] = a[off + (p0 + p) * ld + i] as number;
      else {
        const ro = off + i * ld + p0;
        for (let p = 0; p < kb; p++) dst[base + p * MR + r] = a[ro + p] as number;
      }
    }
  }
}

/** Pack op(B)[p0…, j0…] (b not in linear memory) into NR-column strips (layout of gemmPackB). */
function packBJs(trans: boolean, b: NumArray, off: number, ld: number, p0: number, kb: number, j0: number, nb: number, dst: Float64Array, d0: number): void {
  for (let s = 0; s * NR < nb; s++) {
    const base = d0 + s * kb * NR;
    const cols = Math.min(NR, nb - s * NR);
    for (let q = 0; q < NR; q++) {
      const j = j0 + s * NR + q;
      if (q >= cols) for (let p = 0; p < kb; p++) dst[base + p * NR + q] = 0;
      else if (trans) {
        const ro = off + j * ld + p0;
        for (let p = 0; p < kb; p++) dst[base + p * NR + q] = b[ro + p] as number;
      } else for (let p = 0; p < kb; p++) dst[base + p * NR + q] = b[off + (p0 + p) * ld + j] as number;
    }
  }
}

/**
 * One k-block of one column panel (B's pack at `pb` made), A and C in linear memory: C's rows 0 … m
 * (`c` = C's address at row 0, column j0) updated by gemmRows — split over the pool's threads when the
 * panel's work pays for it. The split is by rows, at multiples of MR, balanced by work (SYRK's rows
 * near the bottom reach fewer upper-triangle columns); each part packs its rows of op(A) into its own
 * block of the arena and reads the shared packed B, and every C entry gets the same operations in the
 * same order whichever thread runs it — so the results are one thread's, bit for bit.
 */
function rows(
  b: WasmBackend, e: GemmExports, a: number, aF32: number, lda: number, transA: number, m: number, p0: number, kb: number,
  pa: number, nb: number, alpha: number, pb: number, c: number, ldc: number, cF32: number, j0: number, upper: boolean, fresh: boolean,
): void {
  const end = upper ? Math.min(m, j0 + nb) : m;
  const args = (i0: number, i1: number, part: number): number[] =>
    [a, aF32, lda, transA, i0, i1, p0, kb, pa + part * MC * KC * 8, MC, nb, alpha, pb, c, ldc, cF32, j0, upper ? 1 : 0, fresh ? 1 : 0];
  const pool = b.pool;
  const { threads, force } = callThreads(pool);
  // columns of the panel row i contributes to (SYRK: those on or right of the diagonal)
  const width = (i: number): number => (upper ? Math.max(0, Math.min(nb, j0 + nb - i)) : nb);
  const strips = Math.ceil(end / MR);
  let parts = Math.min(threads, MAX_PARTS, strips);
  if (!force && parts > 1) {
    let work = 0;
    for (let s = 0; s < strips; s++) work += Math.min(MR, end - s * MR) * width(s * MR);
    parts = Math.min(parts, Math.floor((2 * work * kb) / MIN_PART_FLOPS));
  }
  if (parts < 2 || pool === null) {
    // a direct call (not a spread of args()): V8 then calls the export through its fast wrapper
    e.gemmRows(a, aF32, lda, transA, 0, end, p0, kb, pa, MC, nb, alpha, pb, c, ldc, cF32, j0, upper ? 1 : 0, fresh ? 1 : 0);
    return;
  }
  // part boundaries at multiples of MR, each part about 1/parts of the work
  let total = 0;
  for (let s = 0; s < strips; s++) total += width(s * MR);
  const cuts = [0];
  let acc = 0;
  for (let s = 0; s < strips && cuts.length < parts; s++) {
    acc += width(s * MR);
    if (acc >= (total * cuts.length) / parts) cuts.push(Math.min(end, (s + 1) * MR));
  }
  if (cuts[cuts.length - 1] !== end) cuts.push(end);
  const all: number[][] = [];
  for (let q = 0; q + 1 < cuts.length; q++) if ((cuts[q + 1] as number) > (cuts[q] as number)) all.push(args(cuts[q] as number, cuts[q + 1] as number, all.length));
  const own = all[0] as Parameters<GemmExports["gemmRows"]>;
  pool.run(e.gemmRows as (...x: number[]) => void, pool.id("gemmRows"), () => e.gemmRows(...own), all.slice(1));
}

/** C += α·op(A)·op(B) (after β·C) over backend `b`; `upper`: SYRK's upper-triangle tiles only. */
function run(
  b: WasmBackend, op: string, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, bm: NumArray, bOff: number, ldb: number,
  beta: number, c: NumArray, cOff: number, ldc: number, upper: boolean,
): void {
  if (m <= 0 || n <= 0) return;
  extent(op, "C", c, cOff, m, n, ldc);
  if (k > 0 && alpha !== 0) {
    extent(op, "A", a, aOff, transA ? k : m, transA ? m : k, lda);
    extent(op, "B", bm, bOff, transB ? n : k, transB ? k : n, ldb);
  }
  if (k <= 0 || alpha === 0) {
    scaleC(m, n, beta, c, cOff, ldc);
    return;
  }
  // β = 0: the first k-block writes 0 + α·sum without reading C (no zero-fill pass; NaN in C is overwritten)
  const fresh = beta === 0;
  if (!fresh) scaleC(m, n, beta, c, cOff, ldc);
  const e = b.exports as unknown as GemmExports;
  const arena = arenaOf(b);
  // Nothing below allocates linear memory, so this buffer (and the caller's views) stay valid.
  const buf = b.heap.memory.buffer;
  const ar = new Float64Array(buf, arena.ptr, ARENA);
  const pa = arena.ptr + PACK_A * 8;
  const pb = arena.ptr + PACK_B * 8;
  const stage = arena.ptr + STAGE * 8;
  // A float32 C summed over several k-blocks is accumulated in float64 and rounded once (as the reference).
  const wide = k > KC && c instanceof Float32Array ? new Float64Array(m * n) : null;
  let t: NumArray = c;
  let to = cOff;
  let tl = ldc;
  if (wide !== null) {
    if (!fresh) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) wide[i * n + j] = c[cOff + i * ldc + j] as number;
    t = wide;
    to = 0;
    tl = n;
  }
  let aP = a.buffer === buf ? a.byteOffset + aOff * a.BYTES_PER_ELEMENT : -1;
  let bP = bm.buffer === buf ? bm.byteOffset + bOff * bm.BYTES_PER_ELEMENT : -1;
  let cP = t.buffer === buf ? t.byteOffset + to * t.BYTES_PER_ELEMENT : -1;
  // Operands off linear memory are copied whole into the copy region (one memcpy each, in their own
  // dtype) while they fit — C first (else it goes through the staging block per block), then B, then
  // A — so the blocks below run on pointers; any that do not fit are packed from JS block by block
  // (their O(n²) copying is then small beside the O(n³) work).
  const aSpan = transA ? (k - 1) * lda + m : (m - 1) * lda + k;
  const bSpan = transB ? (n - 1) * ldb + k : (k - 1) * ldb + n;
  const cSpan = (m - 1) * tl + n;
  const sameAB = bm === a && bOff === aOff && bSpan === aSpan;
  let at = arena.ptr + COPY * 8;
  const end = at + COPY_BYTES;
  /** Copy x[off … off+span) into the region; its address, or −1 when it does not fit. */
  const copyIn = (x: NumArray, off: number, span: number): number => {
    const bytes = Math.ceil((span * x.BYTES_PER_ELEMENT) / 16) * 16;
    if (at + bytes > end) return -1;
    const v = x instanceof Float32Array ? new Float32Array(buf, at, span) : new Float64Array(buf, at, span);
    v.set(x.subarray(off, off + span));
    const p = at;
    at += bytes;
    return p;
  };
  const cCopied = cP < 0 ? (cP = copyIn(t, to, cSpan)) >= 0 : false;
  if (bP < 0) bP = copyIn(bm, bOff, bSpan);
  if (aP < 0) aP = sameAB && bP >= 0 ? bP : copyIn(a, aOff, aSpan);
  const aF32 = a instanceof Float32Array ? 1 : 0;
  const bF32 = bm instanceof Float32Array ? 1 : 0;
  const cF32 = t instanceof Float32Array ? 1 : 0;
  const cBytes = t.BYTES_PER_ELEMENT;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nb = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kb = Math.min(KC, k - p0);
      if (bP >= 0) e.gemmPackB(bP, bF32, ldb, transB ? 1 : 0, p0, kb, j0, nb, pb);
      else packBJs(transB, bm, bOff, ldb, p0, kb, j0, nb, ar, PACK_B);
      if (aP >= 0 && cP >= 0) {
        rows(b, e, aP, aF32, lda, transA ? 1 : 0, m, p0, kb, pa, nb, alpha, pb, cP + j0 * cBytes, tl, cF32, j0, upper, fresh && p0 === 0);
        continue;
      }
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mb = Math.min(MC, m - i0);
        // SYRK: a row block entirely below this column block adds nothing to the upper triangle
        if (upper && i0 >= j0 + nb) break;
        if (aP >= 0) e.gemmPackA(aP, aF32, lda, transA ? 1 : 0, i0, mb, p0, kb, pa);
        else packAJs(transA, a, aOff, lda, i0, mb, p0, kb, ar, PACK_A);
        const diag = upper ? j0 - i0 : NO_DIAG;
        const first = fresh && p0 === 0 ? 1 : 0;
        if (cP >= 0) {
          e.gemmMacro(mb, nb, kb, alpha, pa, pb, cP + (i0 * tl + j0) * cBytes, tl, cF32, diag, first);
        } else {
          // C off linear memory: through the staging block (float64, row stride nb)
          for (let r = 0; r < mb; r++) {
            const src = to + (i0 + r) * tl + j0;
            const dst = STAGE + r * nb;
            for (let q = 0; q < nb; q++) ar[dst + q] = t[src + q] as number;
          }
          e.gemmMacro(mb, nb, kb, alpha, pa, pb, stage, nb, 0, diag, first);
          for (let r = 0; r < mb; r++) {
            const dst = to + (i0 + r) * tl + j0;
            const src = STAGE + r * nb;
            for (let q = 0; q < nb; q++) t[dst + q] = ar[src + q] as number;
          }
        }
      }
    }
  }
  if (cCopied) t.set(t instanceof Float32Array ? new Float32Array(buf, cP, cSpan) : new Float64Array(buf, cP, cSpan), to);
  if (wide !== null) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[cOff + i * ldc + j] = wide[i * n + j] as number;
}

/**
 * Work (flops) per thread below which a batch is not split among threads. Lower than a panel's
 * MIN_PART_FLOPS: a batch part wakes a worker once for whole problems (no per-panel barrier), and a part
 * no worker has claimed yet runs on the calling thread (ThreadPool.run), so a busy machine costs little.
 */
const MIN_BATCH_PART_FLOPS = 1 << 20;

/**
 * `count` problems C_s = α·op(A_s)·op(B_s) + β·C_s (A_s = A from aOff + s·sA, likewise B, C) in one
 * WebAssembly call per thread: the batch [0, count) is split among the pool's threads, whole problems
 * per part, each part packing into its own blocks of the arena (gemmBatch). Operands off linear memory
 * are copied whole into the copy region. Returns false — nothing done — when the batch does not fit
 * that path (operands too large for the copy region, a float32 C over several k-blocks, overlapping C
 * problems); the caller then runs the problems one by one. Each entry's operations are those of
 * {@link run}'s, so the results are the reference's bit for bit, whatever the thread count.
 */
function runBatch(
  b: WasmBackend, op: string, count: number, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, sA: number, bm: NumArray, bOff: number, ldb: number, sB: number,
  beta: number, c: NumArray, cOff: number, ldc: number, sC: number, upper: boolean,
): boolean {
  if (count < 1 || m <= 0 || n <= 0 || k <= 0 || alpha === 0) return false;
  if (k > KC && c instanceof Float32Array) return false;
  const aSpan = transA ? (k - 1) * lda + m : (m - 1) * lda + k;
  const bSpan = transB ? (n - 1) * ldb + k : (k - 1) * ldb + n;
  const cOne = (m - 1) * ldc + n;
  if (sA < 0 || sB < 0 || (count > 1 && sC < cOne)) return false;
  const last = count - 1;
  extent(op, "C", c, cOff + last * sC, m, n, ldc);
  extent(op, "A", a, aOff + last * sA, transA ? k : m, transA ? m : k, lda);
  extent(op, "B", bm, bOff + last * sB, transB ? n : k, transB ? k : n, ldb);
  const aAll = aSpan + last * sA;
  const bAll = bSpan + last * sB;
  const cAll = cOne + last * sC;
  const buf = b.heap.memory.buffer;
  const arena = arenaOf(b);
  let aP = a.buffer === buf ? a.byteOffset + aOff * a.BYTES_PER_ELEMENT : -1;
  let bP = bm.buffer === buf ? bm.byteOffset + bOff * bm.BYTES_PER_ELEMENT : -1;
  let cP = c.buffer === buf ? c.byteOffset + cOff * c.BYTES_PER_ELEMENT : -1;
  const bytes = (x: NumArray, span: number): number => Math.ceil((span * x.BYTES_PER_ELEMENT) / 16) * 16;
  const sameAB = bm === a && bOff === aOff && bAll === aAll;
  const need = (cP < 0 ? bytes(c, cAll) : 0) + (bP < 0 ? bytes(bm, bAll) : 0) + (aP < 0 && !sameAB ? bytes(a, aAll) : 0);
  if (need > COPY_BYTES) return false;
  if (beta !== 0) for (let s = 0; s < count; s++) scaleC(m, n, beta, c, cOff + s * sC, ldc);
  let at = arena.ptr + COPY * 8;
  const copyIn = (x: NumArray, off: number, span: number, values = true): number => {
    if (values) {
      const v = x instanceof Float32Array ? new Float32Array(buf, at, span) : new Float64Array(buf, at, span);
      v.set(x.subarray(off, off + span));
    }
    const p = at;
    at += bytes(x, span);
    return p;
  };
  // C's values are copied in unless β = 0 and its problems are contiguous: then the kernel writes every
  // entry of the span (SYRK's skipped tiles lie below the diagonal, which mirrorUpper rewrites); else
  // the copy back must carry the entries between rows and problems unchanged
  const cCopied = cP < 0;
  if (cCopied) cP = copyIn(c, cOff, cAll, !(beta === 0 && ldc === n && (count === 1 || sC === cOne)));
  if (bP < 0) bP = copyIn(bm, bOff, bAll);
  if (aP < 0) aP = sameAB ? bP : copyIn(a, aOff, aAll);
  const args = (s0: number, s1: number, part: number): number[] => [
    s0, s1, aP, a instanceof Float32Array ? 1 : 0, lda, sA, transA ? 1 : 0, bP, bm instanceof Float32Array ? 1 : 0, ldb, sB, transB ? 1 : 0,
    m, n, k, alpha, cP, c instanceof Float32Array ? 1 : 0, ldc, sC, beta === 0 ? 1 : 0, upper ? 1 : 0,
    arena.ptr + (PACK_A + part * MC * KC) * 8, arena.ptr + (PACK_BATCH_B + part * KC * BATCH_NC) * 8,
  ];
  dispatchBatch(b, "gemmBatch", count, 2 * m * (upper ? (n + 1) / 2 : n) * k, args);
  if (cCopied) c.set(c instanceof Float32Array ? new Float32Array(buf, cP, cAll) : new Float64Array(buf, cP, cAll), cOff);
  if (upper) for (let s = 0; s < count; s++) mirrorUpper(n, c, cOff + s * sC, ldc);
  return true;
}

/** The 24 numbers gemmBatch and gemmBatch32 take. */
type Args24 = [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];

/**
 * Run a batch export (`gemmBatch` or `gemmBatch32`) over problems [0, count): on the calling thread
 * alone, or cut into up to {@link MAX_PARTS} contiguous ranges of problems (each ≥
 * {@link MIN_BATCH_PART_FLOPS} unless a test forces the split), one per thread, where part q packs into
 * its own arena blocks. `args(s0, s1, part)` gives the export's arguments for one range.
 */
function dispatchBatch(
  b: WasmBackend, name: "gemmBatch" | "gemmBatch32", count: number, flopsPerProblem: number,
  args: (s0: number, s1: number, part: number) => number[],
): void {
  const fn = (b.exports as unknown as GemmExports)[name] as (...x: number[]) => void;
  const pool = b.pool;
  const { threads, force } = callThreads(pool);
  let parts = Math.min(threads, MAX_PARTS, count);
  if (!force && parts > 1) parts = Math.min(parts, Math.floor((count * flopsPerProblem) / MIN_BATCH_PART_FLOPS));
  if (parts < 2 || pool === null) {
    // both exports take 24 numbers: a direct call (not a spread) lets V8 use the export's fast wrapper
    const v = args(0, count, 0) as Args24;
    fn(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16], v[17], v[18], v[19], v[20], v[21], v[22], v[23]);
    return;
  }
  const all: number[][] = [];
  for (let q = 0; q < parts; q++) {
    const s0 = Math.floor((count * q) / parts);
    const s1 = Math.floor((count * (q + 1)) / parts);
    if (s1 > s0) all.push(args(s0, s1, all.length));
  }
  const own = all[0] as number[];
  pool.run(fn, pool.id(name), () => fn(...own), all.slice(1));
}

/**
 * `linalg.gemmF32` (float32 arithmetic, assembly/gemm.ts gemmBatch32): the batch's operands are read in
 * place or copied whole into the copy region, and one WebAssembly call per thread runs whole problems
 * (split as {@link runBatch} splits). Operands too large for the copy region run the TypeScript
 * reference (same results, bit for bit).
 */
function runF32(
  b: WasmBackend, count: number, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, sA: number, bm: NumArray, bOff: number, ldb: number, sB: number,
  beta: number, c: Float32Array, cOff: number, ldc: number, sC: number, upper: boolean,
): void {
  if (count < 1 || m <= 0 || n <= 0) return;
  const op = "gemmF32";
  const last = count - 1;
  const cOne = (m - 1) * ldc + n;
  extent(op, "C", c, cOff + last * sC, m, n, ldc);
  const work = k > 0 && alpha !== 0;
  if (work) {
    extent(op, "A", a, aOff + last * sA, transA ? k : m, transA ? m : k, lda);
    extent(op, "B", bm, bOff + last * sB, transB ? n : k, transB ? k : n, ldb);
  }
  const aAll = (transA ? (k - 1) * lda + m : (m - 1) * lda + k) + last * sA;
  const bAll = (transB ? (n - 1) * ldb + k : (k - 1) * ldb + n) + last * sB;
  const cAll = cOne + last * sC;
  const buf = b.heap.memory.buffer;
  let aP = a.buffer === buf ? a.byteOffset + aOff * a.BYTES_PER_ELEMENT : -1;
  let bP = bm.buffer === buf ? bm.byteOffset + bOff * bm.BYTES_PER_ELEMENT : -1;
  let cP = c.buffer === buf ? c.byteOffset + cOff * 4 : -1;
  const bytes = (x: NumArray, span: number): number => Math.ceil((span * x.BYTES_PER_ELEMENT) / 16) * 16;
  const sameAB = bm === a && bOff === aOff && bAll === aAll;
  const need = (cP < 0 ? bytes(c, cAll) : 0) + (work && bP < 0 ? bytes(bm, bAll) : 0) + (work && aP < 0 && !sameAB ? bytes(a, aAll) : 0);
  if (!work || need > COPY_BYTES || (count > 1 && sC < cOne) || sA < 0 || sB < 0) {
    gemmF32Reference(count, transA, transB, m, n, k, alpha, a, aOff, lda, sA, bm, bOff, ldb, sB, beta, c, cOff, ldc, sC, upper);
    return;
  }
  const arena = arenaOf(b);
  if (beta !== 0) for (let s = 0; s < count; s++) scaleC(m, n, beta, c, cOff + s * sC, ldc);
  let at = arena.ptr + COPY * 8;
  const copyIn = (x: NumArray, off: number, span: number): number => {
    const v = x instanceof Float32Array ? new Float32Array(buf, at, span) : new Float64Array(buf, at, span);
    v.set(x.subarray(off, off + span));
    const p = at;
    at += bytes(x, span);
    return p;
  };
  const cCopied = cP < 0;
  if (cCopied) cP = copyIn(c, cOff, cAll);
  if (bP < 0) bP = copyIn(bm, bOff, bAll);
  if (aP < 0) aP = sameAB ? bP : copyIn(a, aOff, aAll);
  const args = (s0: number, s1: number, part: number): number[] => [
    s0, s1, aP, a instanceof Float32Array ? 1 : 0, lda, sA, transA ? 1 : 0, bP, bm instanceof Float32Array ? 1 : 0, ldb, sB, transB ? 1 : 0,
    m, n, k, alpha, cP, ldc, sC, beta === 0 ? 1 : 0, upper ? 1 : 0,
    arena.ptr + (PACK_A + part * MC * KC) * 8, arena.ptr + (PACK_BATCH_B + part * KC * BATCH_NC) * 8, 0,
  ];
  dispatchBatch(b, "gemmBatch32", count, 2 * m * (upper ? (n + 1) / 2 : n) * k, args);
  // gemmBatch32 mirrored each upper problem's lower triangle
  if (cCopied) c.set(new Float32Array(buf, cP, cAll), cOff);
}

const DTYPES = ["float32", "float64"] as const;

/** Register the matrix core of backend `b` (for float32 and float64 C) in the kernel table. */
export function registerGemm(b: WasmBackend): void {
  arenaOf(b); // allocated now, not inside an op's call (allocating may detach the op's views)
  registerKernel("linalg.gemmF32", "float32", (count, transA, transB, m, n, k, alpha, a, aOff, lda, sA, bm, bOff, ldb, sB, beta, c, cOff, ldc, sC, upper) => {
    runF32(b, count, transA, transB, m, n, k, alpha, a, aOff, lda, sA, bm, bOff, ldb, sB, beta, c, cOff, ldc, sC, upper);
  });
  for (const dtype of DTYPES) {
    registerKernel("linalg.gemm", dtype, (transA, transB, m, n, k, alpha, a, aOff, lda, bm, bOff, ldb, beta, c, cOff, ldc) => {
      run(b, "gemm", transA, transB, m, n, k, alpha, a, aOff, lda, bm, bOff, ldb, beta, c, cOff, ldc, false);
    });
    registerKernel("linalg.syrk", dtype, (trans, n, k, alpha, a, aOff, lda, beta, c, cOff, ldc) => {
      run(b, "syrk", trans, !trans, n, n, k, alpha, a, aOff, lda, a, aOff, lda, beta, c, cOff, ldc, true);
      if (n > 0) mirrorUpper(n, c, cOff, ldc);
    });
    registerKernel("linalg.gemmt", dtype, (transA, transB, n, k, alpha, a, aOff, lda, bm, bOff, ldb, beta, c, cOff, ldc) => {
      run(b, "gemmt", transA, transB, n, n, k, alpha, a, aOff, lda, bm, bOff, ldb, beta, c, cOff, ldc, true);
      if (n > 0) mirrorUpper(n, c, cOff, ldc);
    });
    registerKernel("linalg.gemmBatched", dtype, (count, transA, transB, m, n, k, alpha, a, aOff, lda, sA, bm, bOff, ldb, sB, beta, c, cOff, ldc, sC) => {
      if (runBatch(b, "gemmBatched", count, transA, transB, m, n, k, alpha, a, aOff, lda, sA, bm, bOff, ldb, sB, beta, c, cOff, ldc, sC, false)) return;
      for (let s = 0; s < count; s++) run(b, "gemmBatched", transA, transB, m, n, k, alpha, a, aOff + s * sA, lda, bm, bOff + s * sB, ldb, beta, c, cOff + s * sC, ldc, false);
    });
    registerKernel("linalg.gemmtBatched", dtype, (count, transA, transB, n, k, alpha, a, aOff, lda, sA, bm, bOff, ldb, sB, beta, c, cOff, ldc, sC) => {
      if (runBatch(b, "gemmtBatched", count, transA, transB, n, n, k, alpha, a, aOff, lda, sA, bm, bOff, ldb, sB, beta, c, cOff, ldc, sC, true)) return;
      for (let s = 0; s < count; s++) {
        run(b, "gemmtBatched", transA, transB, n, n, k, alpha, a, aOff + s * sA, lda, bm, bOff + s * sB, ldb, beta, c, cOff + s * sC, ldc, true);
        if (n > 0) mirrorUpper(n, c, cOff + s * sC, ldc);
      }
    });
    registerKernel("linalg.syrkBatched", dtype, (count, trans, n, k, alpha, a, aOff, lda, sA, beta, c, cOff, ldc, sC) => {
      if (runBatch(b, "syrkBatched", count, trans, !trans, n, n, k, alpha, a, aOff, lda, sA, a, aOff, lda, sA, beta, c, cOff, ldc, sC, true)) return;
      for (let s = 0; s < count; s++) {
        run(b, "syrkBatched", trans, !trans, n, n, k, alpha, a, aOff + s * sA, lda, a, aOff + s * sA, lda, beta, c, cOff + s * sC, ldc, true);
        if (n > 0) mirrorUpper(n, c, cOff + s * sC, ldc);
      }
    });
  }
}

/** Remove the matrix core's kernels (the TypeScript reference runs again). */
export function unregisterGemm(): void {
  unregisterKernel("linalg.gemmF32", "float32");
  for (const dtype of DTYPES) {
    unregisterKernel("linalg.gemm", dtype);
    unregisterKernel("linalg.syrk", dtype);
    unregisterKernel("linalg.gemmt", dtype);
    unregisterKernel("linalg.gemmBatched", dtype);
    unregisterKernel("linalg.syrkBatched", dtype);
    unregisterKernel("linalg.gemmtBatched", dtype);
  }
}

/**
 * @internal A batch of GEMMs on operands already in linear memory, by byte address (for kernels that
 * allocate their scratch in linear memory, after which views taken before may be detached): `f32`
 * selects float32 arithmetic (gemmBatch32; C must be float32) or float64 (gemmBatch). `fresh`: C is
 * overwritten (β = 0), else C ← C + α·op(A)·op(B) (β = 1). Problems split over the worker threads as
 * in {@link runF32}. No bounds checks: the caller owns the addresses. `symA` (float32 arithmetic, a float32
 * A not transposed, m = k only): op(A) = A + Aᵀ, packed from A directly (gemmBatch32's `symA`) — the
 * product with A + Aᵀ formed in float32 first, bit for bit.
 */
export function gemmAt(
  b: WasmBackend, f32: boolean, count: number, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  aP: number, aF32: boolean, lda: number, sA: number, bP: number, bF32: boolean, ldb: number, sB: number,
  cP: number, cF32: boolean, ldc: number, sC: number, fresh: boolean, symA = false,
): void {
  if (symA && (!f32 || !aF32 || transA || m !== k)) throw new PoolkitRangeError("gemmAt", `op(A) = A + Aᵀ needs float32 arithmetic and a float32, untransposed, square A (m = k), got f32 ${f32}, aF32 ${aF32}, transA ${transA}, m ${m}, k ${k}`);
  if (count < 1 || m <= 0 || n <= 0 || k <= 0) return;
  const arena = arenaOf(b);
  const args = (s0: number, s1: number, part: number): number[] => {
    const pa = arena.ptr + (PACK_A + part * MC * KC) * 8;
    const pb = arena.ptr + (PACK_BATCH_B + part * KC * BATCH_NC) * 8;
    const head = [s0, s1, aP, aF32 ? 1 : 0, lda, sA, transA ? 1 : 0, bP, bF32 ? 1 : 0, ldb, sB, transB ? 1 : 0, m, n, k, alpha, cP];
    return f32 ? [...head, ldc, sC, fresh ? 1 : 0, 0, pa, pb, symA ? 1 : 0] : [...head, cF32 ? 1 : 0, ldc, sC, fresh ? 1 : 0, 0, pa, pb];
  };
  dispatchBatch(b, f32 ? "gemmBatch32" : "gemmBatch", count, 2 * m * n * k, args);
}

/**
 * @internal The GEMM packs of part `part` (< {@link MAX_PARTS}) of a batch: byte addresses of its
 * packed-A block (MC × KC float64) and its packed-B block (KC × 128 float64), gemmBatch's `pa` and `pb`.
 * For kernels that run gemmBatch themselves inside a larger WebAssembly call (the eigensolver's merges):
 * nothing else uses a part's packs while such a call runs, as the matrix core is not re-entered.
 */
export function gemmPacks(b: WasmBackend, part: number): { pa: number; pb: number } {
  const arena = arenaOf(b);
  return { pa: arena.ptr + (PACK_A + part * MC * KC) * 8, pb: arena.ptr + (PACK_BATCH_B + part * KC * BATCH_NC) * 8 };
}
