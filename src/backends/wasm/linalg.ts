/**
 * The symmetric eigensolver's kernels on the WebAssembly backends (float64): the workspace of the
 * divide-and-conquer path (`linalg.workspace`, `linalg.releaseWorkspace`), the Householder
 * tridiagonalisation's loops (`linalg.trdPanel`, `linalg.trdUnblocked`; references
 * `trdPanelReference` / `trdUnblockedReference` in src/linalg/eigen.ts) and the merges' secular
 * equation (`linalg.secular`, reference `secularSolveReference` in src/linalg/secular.ts, bit for bit),
 * the divide-and-conquer leaves' implicit QL (`linalg.ql`, reference `qlReference` in
 * src/linalg/tridiagQL.ts, bit for bit) and the compact WY factor of the back-transformation's
 * blocks (`linalg.wy`, reference `wyReference` in src/linalg/eigen.ts, bit for bit), and the sort of
 * the eigenvectors (`linalg.gatherColumns`, reference `gatherColumnsReference`, a copy), the
 * divide-and-conquer merges' packing (`linalg.dcPack`, `linalg.copyBlock`; references in
 * src/linalg/tridiagDC.ts, copies), the backward's P ∘ B (`linalg.hadamard`, reference
 * `hadamardReference` in src/linalg/matrix.ts, bit for bit) and covariance pooling's row centring
 * (`linalg.centreRows`, float32 or float64 input, reference `centreInto` in src/linalg/matrix.ts, bit for bit);
 * AssemblyScript source assembly/linalg.ts. Above those, two kernels that run whole stages in one
 * WebAssembly call (assembly/eigen.ts, bit for bit the per-kernel path): the divide-and-conquer
 * tridiagonal solve (`linalg.dcSolve`, reference `tridiagonalEigDC` in src/linalg/tridiagDC.ts) and the
 * whole divide-and-conquer eigendecomposition of a batch of matrices (`linalg.symEigDC`, reference
 * `symEigDCReference` in src/linalg/eigen.ts), split over the worker pool in chunks of one matrix, each
 * thread with its own workspace (allocated here, not zero-filled: nothing reads scratch before writing it)
 * and its own GEMM packs (the matrix core's per-part blocks, gemmPacks).
 *
 * The workspace is a block of linear memory: the solver carves all its work arrays from it, so the
 * matrix core's GEMMs (src/backends/wasm/gemm.ts) and the kernels here read them in place, without a
 * copy, and the GEMMs may split over the worker threads. It is taken from the heap's free lists and
 * given back at the end of the solve (a repeated solve of the same size reuses the same block);
 * allocating it may grow the memory, which is why it happens at the solve's start, before any view of
 * it exists. An argument that is not a view of linear memory (the "js" backend's arrays, or the QL
 * path's small JS-heap arrays) runs the TypeScript reference instead.
 *
 * Accuracy: the SIMD build sums the long dot products in two lanes, so its results differ from the
 * reference by rounding (test/linalg/eigen-wasm.test.ts: the reduced T and the eigenpairs agree to
 * within a small multiple of n·ε·‖A‖).
 */
import { registerKernel, unregisterKernel } from "../../kernels/registry.js";
import { gatherColumnsReference, symEigDCReference, symEigScratch, trdPanelReference, trdUnblockedReference, wyReference } from "../../linalg/eigen.js";
import { secularSolveReference } from "../../linalg/secular.js";
import { qlReference } from "../../linalg/tridiagQL.js";
import { copyBlockReference, dcPackReference, dcScratch, dcStats, tridiagonalEigDC } from "../../linalg/tridiagDC.js";
import { qlIterationLimit } from "../../linalg/tridiagQL.js";
import { gemmPacks, MAX_PARTS } from "./gemm.js";
import { callThreads } from "./threads.js";
import { centreInto, hadamardReference } from "../../linalg/matrix.js";
import type { LinearStorage } from "../linear.js";
import type { WasmBackend } from "./index.js";

interface LinalgExports {
  trdPanel(m: number, n: number, k0: number, nb: number, d: number, e: number, beta: number, vw: number, wv: number, v: number, p: number, y: number): void;
  trdUnblocked(m: number, n: number, k0: number, d: number, e: number, beta: number, work: number): void;
  secularSolve(k: number, d: number, z: number, rho: number, origin: number, tau: number, del: number, u: number, zhat: number, pos: number): void;
  wyBlock(m: number, n: number, k0: number, nb: number, beta: number, vt: number, t: number, ldt: number): void;
  gatherColumns(src: number, dst: number, n: number, order: number): void;
  dcPack(z: number, ld: number, n1: number, n2: number, k: number, k1: number, k2: number, nd: number, pos: number, q: number, df: number, nDefl: number, defl: number): void;
  copyBlock(src: number, ldSrc: number, dst: number, ldDst: number, rows: number, cols: number): void;
  hadamard(a: number, b: number, len: number): void;
  qlStrided(d: number, e: number, z: number, n: number, ld: number, maxIterations: number, cs: number, sn: number): number;
  centreRows(x: number, xF32: number, d: number, m: number, out: number): void;
  dcSolve(d: number, e: number, n: number, z: number, ws: number, pa: number, pb: number, sweeps: number): number;
  symEigBatch(s0: number, s1: number, n: number, a: number, values: number, ok: number, ws: number, pa: number, pb: number, sweeps: number): void;
}

/**
 * Work (flops) per thread below which a batch of eigenproblems is not split (as the matrix core's
 * batches: a part wakes a worker once for whole matrices). A solve is counted as 4n³ flops (the
 * reduction's 4/3·n³, the back-transformation's 2n³, the merges' share).
 */
const MIN_EIG_PART_FLOPS = 1 << 20;
/**
 * From this size on, a lone matrix on several threads takes the per-kernel path (the reference on
 * linear memory), whose large GEMMs split over the threads (src/backends/wasm/gemm.ts: parts of ≥ 4
 * MFLOP, which the back-transformation's and the top merges' products reach from about n = 256 on);
 * below it one call. The same for `linalg.dcSolve` on its own.
 */
const LONE_SPLIT_N = 256;

/** @internal Tests: fill each batched solve's workspace with this value before the call (null: leave it as allocated). */
let scratchFill: number | null = null;
/** @internal Tests: see {@link scratchFill}. */
export function setSymEigScratchFill(v: number | null): void {
  scratchFill = v;
}

/** Byte addresses of the arrays when every one is a view of the backend's memory, else null. */
function pointers(b: WasmBackend, xs: readonly (Float64Array | Float32Array | Int32Array)[]): number[] | null {
  const buf = b.heap.memory.buffer;
  const out: number[] = [];
  for (const x of xs) {
    if (x.buffer !== buf) return null;
    out.push(x.byteOffset);
  }
  return out;
}

const NAMES = ["linalg.workspace", "linalg.releaseWorkspace", "linalg.trdPanel", "linalg.trdUnblocked", "linalg.secular", "linalg.ql", "linalg.wy", "linalg.gatherColumns", "linalg.dcPack", "linalg.copyBlock", "linalg.hadamard", "linalg.centreRows", "linalg.dcSolve", "linalg.symEigDC"] as const;

/** Register the eigensolver kernels of backend `b` (float64). */
export function registerLinalg(b: WasmBackend): void {
  const e = b.exports as unknown as LinalgExports;
  const live = new WeakMap<Float64Array, LinearStorage>();
  registerKernel("linalg.workspace", "float64", (length: number): Float64Array => {
    const s = b.heap.allocate("float64", Math.max(length, 1), true);
    // out of linear memory: the solve still runs, on the JS heap (its kernels then run the references)
    if (s === null) return new Float64Array(length);
    const view = new Float64Array(b.heap.memory.buffer, s.ptr, length);
    live.set(view, s);
    return view;
  });
  registerKernel("linalg.releaseWorkspace", "float64", (ws: Float64Array): void => {
    const s = live.get(ws);
    if (s !== undefined) {
      live.delete(ws);
      s.free();
    }
  });
  registerKernel("linalg.trdPanel", "float64", (m, n, k0, nb, d, ev, beta, vw, wv, v, p, y) => {
    const ptr = pointers(b, [m, d, ev, beta, vw, wv, v, p, y]);
    if (ptr === null) return trdPanelReference(m, n, k0, nb, d, ev, beta, vw, wv, v, p, y);
    const [pm, pd, pe, pb, pvw, pwv, pv, pp, py] = ptr as [number, number, number, number, number, number, number, number, number];
    e.trdPanel(pm, n, k0, nb, pd, pe, pb, pvw, pwv, pv, pp, py);
  });
  registerKernel("linalg.trdUnblocked", "float64", (m, n, k0, d, ev, beta, work) => {
    const ptr = pointers(b, [m, d, ev, beta, work]);
    if (ptr === null) return trdUnblockedReference(m, n, k0, d, ev, beta, work);
    const [pm, pd, pe, pb, pw] = ptr as [number, number, number, number, number];
    e.trdUnblocked(pm, n, k0, pd, pe, pb, pw);
  });
  registerKernel("linalg.secular", "float64", (k, d, z, rho, origin, tau, del, u, zhat, pos) => {
    const ptr = pointers(b, [d, z, origin, tau, del, u, zhat, pos]);
    if (ptr === null) return secularSolveReference(k, d, z, rho, origin, tau, del, u, zhat, pos);
    const [pd, pz, po, pt, pdel, pu, pzh, pp] = ptr as [number, number, number, number, number, number, number, number];
    e.secularSolve(k, pd, pz, rho, po, pt, pdel, pu, pzh, pp);
  });
  registerKernel("linalg.wy", "float64", (m, n, k0, nb, beta, vt, t, ldt) => {
    const ptr = pointers(b, [m, beta, vt, t]);
    if (ptr === null) return wyReference(m, n, k0, nb, beta, vt, t, ldt);
    const [pm, pb, pv, pt] = ptr as [number, number, number, number];
    e.wyBlock(pm, n, k0, nb, pb, pv, pt, ldt);
  });
  registerKernel("linalg.gatherColumns", "float64", (src, dst, n, order) => {
    const ptr = pointers(b, [src, dst, order]);
    if (ptr === null) return gatherColumnsReference(src, dst, n, order);
    const [ps, pd, po] = ptr as [number, number, number];
    e.gatherColumns(ps, pd, n, po);
  });
  registerKernel("linalg.dcPack", "float64", (z, ld, n1, n2, k, k1, k2, nd, pos, q, df, nDefl, defl) => {
    const ptr = pointers(b, [z, nd, pos, q, df, defl]);
    if (ptr === null) return dcPackReference(z, ld, n1, n2, k, k1, k2, nd, pos, q, df, nDefl, defl);
    const [pz, pnd, ppos, pq, pdf, pdefl] = ptr as [number, number, number, number, number, number];
    e.dcPack(pz, ld, n1, n2, k, k1, k2, pnd, ppos, pq, pdf, nDefl, pdefl);
  });
  registerKernel("linalg.copyBlock", "float64", (src, ldSrc, dst, ldDst, rows, cols) => {
    const ptr = pointers(b, [src, dst]);
    if (ptr === null) return copyBlockReference(src, ldSrc, dst, ldDst, rows, cols);
    const [ps, pd] = ptr as [number, number];
    e.copyBlock(ps, ldSrc, pd, ldDst, rows, cols);
  });
  registerKernel("linalg.hadamard", "float64", (a, bm, len) => {
    const ptr = pointers(b, [a, bm]);
    if (ptr === null) return hadamardReference(a, bm, len);
    const [pa, pb] = ptr as [number, number];
    e.hadamard(pa, pb, len);
  });
  for (const dtype of ["float32", "float64"] as const) {
    registerKernel("linalg.centreRows", dtype, (x, xOff, d, m, out, outOff) => {
      const ptr = pointers(b, [x, out]);
      if (ptr === null || d <= 0 || m <= 0) return centreInto(x, xOff, d, m, out, outOff);
      const [px, po] = ptr as [number, number];
      e.centreRows(px + xOff * x.BYTES_PER_ELEMENT, x instanceof Float32Array ? 1 : 0, d, m, po + outOff * 8);
    });
  }
  registerKernel("linalg.dcSolve", "float64", (d, ev, n, z, scratch) => {
    // a large solve on several threads: the per-kernel path, whose merges' GEMMs split over the threads
    const { threads, force } = callThreads(b.pool);
    const lone = threads > 1 && n >= LONE_SPLIT_N && !force;
    const ptr = lone || scratch === undefined || n <= 0 || scratch.length < dcScratch(n) ? null : pointers(b, [d, ev, z, scratch]);
    if (ptr === null) return tridiagonalEigDC(d, ev, n, z, scratch);
    const [pd, pe, pz, pw] = ptr as [number, number, number, number];
    // the merges' counters: zeroed here, added to dcStats after the call
    const counts = new Int32Array(b.heap.memory.buffer, pw, 4);
    counts.fill(0);
    const { pa, pb } = gemmPacks(b, 0);
    const ok = e.dcSolve(pd, pe, n, pz, pw, pa, pb, qlIterationLimit(1)) !== 0;
    addDCStats(new Int32Array(b.heap.memory.buffer, pw, 4));
    return ok;
  });
  registerKernel("linalg.symEigDC", "float64", (count, n, a, values, ok) => {
    if (count <= 0 || n <= 0) return;
    const { threads, force } = callThreads(b.pool);
    let parts = Math.min(threads, MAX_PARTS, count);
    if (!force && parts > 1) parts = Math.min(parts, Math.floor((count * 4 * n * n * n) / MIN_EIG_PART_FLOPS));
    if (parts < 2 && threads > 1 && n >= LONE_SPLIT_N && !force) return symEigDCReference(count, n, a, values, ok);
    parts = Math.max(parts, 1);
    const nn = n * n;
    const per = symEigScratch(n);
    // matrices, values, ok (int32, in whole float64), then each part's workspace
    const okLen = Math.ceil(count / 2);
    const block = b.heap.allocate("float64", count * (nn + n) + okLen + parts * per, false);
    if (block === null) return symEigDCReference(count, n, a, values, ok);
    try {
      const buf = b.heap.memory.buffer;
      const pA = block.ptr;
      const pV = pA + count * nn * 8;
      const pOk = pV + count * n * 8;
      const pW = pOk + okLen * 8;
      new Float64Array(buf, pA, count * nn).set(a.subarray(0, count * nn));
      if (scratchFill !== null) new Float64Array(buf, pW, parts * per).fill(scratchFill);
      // each part's merge counters: the first 16 bytes of its workspace
      for (let q = 0; q < parts; q++) new Int32Array(buf, pW + q * per * 8, 4).fill(0);
      const sweeps = qlIterationLimit(1);
      // thread q's arguments for matrices [0, count): its own workspace and GEMM packs
      const args = (q: number): number[] => {
        const { pa, pb } = gemmPacks(b, q);
        return [0, count, n, pA, pV, pOk, pW + q * per * 8, pa, pb, sweeps];
      };
      const pool = b.pool;
      if (parts < 2 || pool === null) {
        const { pa, pb } = gemmPacks(b, 0);
        e.symEigBatch(0, count, n, pA, pV, pOk, pW, pa, pb, sweeps);
      } else {
        // Chunks of one matrix, taken in turn by the threads (threads-worker.ts, "Chunked parts"): a
        // worker that starts late takes fewer matrices instead of holding up a fixed share. A chunk
        // [lo, lo + c) runs as matrices [0, c) at a, values, ok advanced by lo (arguments 3, 4, 5; its
        // count is argument 1); each thread keeps its workspace and packs (not zeroed per chunk).
        const fn = e.symEigBatch as (...x: number[]) => void;
        const step: [number, number][] = [[3, nn * 8], [4, n * 8], [5, 4]];
        pool.setChunks(count, count, 1, step, []);
        const base = args(0);
        const a = base.slice();
        const own = (): void => {
          for (let k = pool.takeChunk(); k >= 0; k = pool.takeChunk()) {
            for (let i = 0; i < base.length; i++) a[i] = base[i] as number;
            a[1] = 1;
            for (const [i, bytes] of step) a[i] = (base[i] as number) + k * bytes;
            fn(...a);
          }
        };
        const others: number[][] = [];
        for (let q = 1; q < parts; q++) others.push(args(q));
        pool.run(fn, pool.id("symEigBatch"), own, others, true);
      }
      a.set(new Float64Array(buf, pA, count * nn));
      values.set(new Float64Array(buf, pV, count * n));
      ok.set(new Int32Array(buf, pOk, count));
      for (let q = 0; q < parts; q++) addDCStats(new Int32Array(buf, pW + q * per * 8, 4));
    } finally {
      block.free();
    }
  });
  registerKernel("linalg.ql", "float64", (d, ev, z, n, ld, maxIterations, cs, sn) => {
    const ptr = pointers(b, [d, ev, z, cs, sn]);
    if (ptr === null) return qlReference(d, ev, z, n, ld, maxIterations, cs, sn);
    const [pd, pe, pz, pc, ps] = ptr as [number, number, number, number, number];
    return e.qlStrided(pd, pe, pz, n, ld, maxIterations, pc, ps) !== 0;
  });
}

/** Add a WebAssembly solve's merge counters (merges, small-z deflations, rotations, secular roots) to dcStats. */
function addDCStats(c: Int32Array): void {
  dcStats.merges += c[0] as number;
  dcStats.smallZ += c[1] as number;
  dcStats.rotations += c[2] as number;
  dcStats.secularRoots += c[3] as number;
}

/** Remove the eigensolver kernels (the TypeScript references run again). */
export function unregisterLinalg(): void {
  for (const name of NAMES) unregisterKernel(name, "float64");
  unregisterKernel("linalg.centreRows", "float32");
}
