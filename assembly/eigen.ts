// The divide-and-conquer symmetric tridiagonal eigensolver as one WebAssembly call, float64:
// src/linalg/tridiagDC.ts's tridiagonalEigDC (its TypeScript is the reference; this file follows it
// operation by operation, so the results are the reference's bit for bit): the splitting test, the
// recursion, QL at the leaves (assembly/linalg.ts's qlStrided), and every merge — sort, deflation,
// secular equation (secularSolve), packing (dcPack, copyBlock) and the two eigenvector GEMMs, run by
// assembly/gemm.ts's gemmBatch on a one-problem batch (a GEMM's values depend only on where the k-sum
// is split, GEMM_KC, which the host glue and the reference share; see assembly/gemm.ts).
//
// No static scratch: every buffer is the caller's (several threads may run solves at once on one
// shared memory, each with its own workspace and GEMM packs).

import { copyBlock, dcPack, gatherColumns, pythag, qlStrided, secularSolve, trdPanel, trdUnblocked, wyBlock } from "./linalg";
import { gemmBatch } from "./gemm";
import { ldd, ldi, std, sti } from "./util";

const DC_EPS: f64 = 1.1102230246251565e-16; // 2⁻⁵³
const DC_SQRT1_2: f64 = 0.7071067811865476; // JavaScript's Math.SQRT1_2
/** tridiagDC.ts's DC_LEAF: blocks of at most this many rows go to QL. */
const DC_LEAF: i32 = 16;

// @ts-ignore: decorator
@inline function addr(p: usize, i: i32): usize {
  return p + ((<usize>i) << 3);
}

// One solve's work arrays (byte addresses, set by dcSolve; globals are per thread: each worker has its
// own instance).
let wNT: i32 = 0; // the whole matrix's n (row stride of z)
let wDD: usize = 0;
let wZZ: usize = 0;
let wDK: usize = 0;
let wZK: usize = 0;
let wTAU: usize = 0;
let wDEL: usize = 0;
let wZHAT: usize = 0;
let wORIGIN: usize = 0; // int32
let wPOS: usize = 0;
let wND: usize = 0;
let wDF: usize = 0;
let wKIND: usize = 0;
let wORDER: usize = 0;
let wTMP: usize = 0;
let wQ: usize = 0;
let wU: usize = 0;
let wDEFL: usize = 0;
let wPA: usize = 0;
let wPB: usize = 0;
let wSTATS: usize = 0; // int32 × 4: merges, smallZ, rotations, secularRoots
let wSWEEPS: i32 = 30;

/** Float64 of workspace {@link dcSolve} needs for an n × n problem (tridiagDC.ts's dcScratch). */
export function dcScratchSize(n: i32): i32 {
  return 2 + 11 * n + (n <= DC_LEAF ? 0 : 3 * n * n);
}

// @ts-ignore: decorator
@inline function bump(i: i32, by: i32): void {
  sti(wSTATS, i, ldi(wSTATS, i) + by);
}

/** Whether x comes strictly before y: x < y ascending, x > y descending. */
// @ts-ignore: decorator
@inline function before(x: f64, y: f64, desc: bool): bool {
  return desc ? x > y : x < y;
}

/**
 * order[lo … hi) sorted by increasing (or, when `desc`, decreasing) dd[order[i]], stable (ties keep their
 * order): a top-down merge sort with tmp. The references sort with `(a, b) => dd[a] − dd[b]` (the merges)
 * and `(i, j) => d[j] − d[i]` (eigen.ts's descendingOrder), both stable sorts; for finite values that
 * difference is 0 exactly when they are equal and has the sign of the comparison, so any stable sort by
 * `<` (or `>`) gives the same permutation.
 */
function stableSort(order: usize, tmp: usize, lo: i32, hi: i32, dd: usize, desc: bool): void {
  const len = hi - lo;
  if (len <= 16) {
    for (let i = lo + 1; i < hi; i++) {
      const x = ldi(order, i);
      const v = ldd(dd, x);
      let j = i - 1;
      while (j >= lo && before(v, ldd(dd, ldi(order, j)), desc)) {
        sti(order, j + 1, ldi(order, j));
        j--;
      }
      sti(order, j + 1, x);
    }
    return;
  }
  const mid = lo + (len >> 1);
  stableSort(order, tmp, lo, mid, dd, desc);
  stableSort(order, tmp, mid, hi, dd, desc);
  // already in order: nothing to merge
  if (!before(ldd(dd, ldi(order, mid)), ldd(dd, ldi(order, mid - 1)), desc)) return;
  for (let i = lo; i < hi; i++) sti(tmp, i, ldi(order, i));
  let a = lo;
  let b = mid;
  let o = lo;
  while (a < mid && b < hi) {
    const xa = ldi(tmp, a);
    const xb = ldi(tmp, b);
    // take from the right run only when it strictly comes first (stability)
    if (before(ldd(dd, xb), ldd(dd, xa), desc)) {
      sti(order, o++, xb);
      b++;
    } else {
      sti(order, o++, xa);
      a++;
    }
  }
  while (a < mid) sti(order, o++, ldi(tmp, a++));
  while (b < hi) sti(order, o++, ldi(tmp, b++));
}

/**
 * C (m × nn, row stride ldc) = A·Bᵀ for A m × k (row stride lda) and B nn × k (row stride ldb), β = 0:
 * the matrix core's GEMM (gemmBatch on one problem, the host's operations); k = 0 zeroes C, as the
 * host's β·C does.
 */
function gemmABt(m: i32, nn: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32): void {
  if (m <= 0 || nn <= 0) return;
  if (k <= 0) {
    for (let i = 0; i < m; i++) memory.fill(addr(c, i * ldc), 0, (<usize>nn) << 3);
    return;
  }
  gemmBatch(0, 1, a, 0, lda, 0, 0, b, 0, ldb, 0, 1, m, nn, k, 1.0, c, 0, ldc, 0, 1, 0, wPA, wPB);
}

/**
 * Merge two solved halves (rows lo … lo+n1−1 and lo+n1 … lo+n−1 of the solve, eigenvalues in d,
 * vectors in the diagonal blocks of z) coupled by β: tridiagDC.ts's merge, step by step.
 */
function merge(d: usize, lo: i32, n1: i32, n: i32, beta: f64, z: usize): void {
  const ld = wNT;
  const n2 = n - n1;
  const dd = wDD;
  const zz = wZZ;
  const kind = wKIND;
  const order = wORDER;
  const nd = wND;
  const df = wDF;
  const base = addr(z, lo * ld + lo);
  const rho = 2 * abs(beta);
  const sg = beta >= 0 ? DC_SQRT1_2 : -DC_SQRT1_2;
  const rLast = addr(base, (n1 - 1) * ld);
  const rFirst = addr(base, n1 * ld + n1);
  let dmax: f64 = 0;
  for (let i = 0; i < n; i++) {
    const v = ldd(d, lo + i);
    std(dd, i, v);
    dmax = max(dmax, abs(v));
    sti(order, i, i);
    sti(kind, i, i < n1 ? 1 : 3);
  }
  for (let i = 0; i < n1; i++) std(zz, i, ldd(rLast, i) * DC_SQRT1_2);
  for (let i = 0; i < n2; i++) std(zz, n1 + i, ldd(rFirst, i) * sg);
  stableSort(order, wTMP, 0, n, dd, false);
  const tol = 8 * DC_EPS * max(dmax, rho);

  // Deflation, in increasing order of d.
  let k = 0;
  let nDefl = 0;
  let prev = -1;
  for (let t = 0; t < n; t++) {
    const j = ldi(order, t);
    const zj = ldd(zz, j);
    if (rho * abs(zj) <= tol) {
      bump(1, 1);
      sti(df, nDefl++, j);
      continue;
    }
    if (prev < 0) {
      prev = j;
      continue;
    }
    const zp = ldd(zz, prev);
    const r = pythag(zp, zj);
    const c = zj / r;
    const s = -zp / r;
    if (abs((ldd(dd, j) - ldd(dd, prev)) * c * s) <= tol) {
      std(zz, j, r);
      std(zz, prev, 0);
      const dp = ldd(dd, prev);
      const dj = ldd(dd, j);
      std(dd, prev, dp * c * c + dj * s * s);
      std(dd, j, dp * s * s + dj * c * c);
      let o = base;
      for (let row = 0; row < n; row++) {
        const qp = ldd(o, prev);
        const qj = ldd(o, j);
        std(o, prev, c * qp + s * qj);
        std(o, j, c * qj - s * qp);
        o = addr(o, ld);
      }
      if (ldi(kind, prev) != ldi(kind, j)) {
        sti(kind, prev, 2);
        sti(kind, j, 2);
      }
      bump(2, 1);
      sti(df, nDefl++, prev);
    } else sti(nd, k++, prev);
    prev = j;
  }
  if (prev >= 0) sti(nd, k++, prev);
  bump(0, 1);
  bump(3, k);

  if (k == 0) {
    for (let i = 0; i < n; i++) std(d, lo + i, ldd(dd, i));
    return;
  }

  // The secular problem on the K non-deflated poles (increasing d).
  const dk = wDK;
  const zk = wZK;
  const tau = wTAU;
  const origin = wORIGIN;
  const pos = wPOS;
  let k1 = 0;
  let k2 = 0;
  for (let t = 0; t < k; t++) {
    const j = ldi(nd, t);
    std(dk, t, ldd(dd, j));
    std(zk, t, ldd(zz, j));
    const kd = ldi(kind, j);
    if (kd == 1) k1++;
    else if (kd == 2) k2++;
  }
  let c1 = 0;
  let c2 = k1;
  let c3 = k1 + k2;
  for (let t = 0; t < k; t++) {
    const kd = ldi(kind, ldi(nd, t));
    sti(pos, t, kd == 1 ? c1++ : kd == 2 ? c2++ : c3++);
  }
  secularSolve(k, dk, zk, rho, origin, tau, wDEL, wU, wZHAT, pos);

  const k12 = k1 + k2;
  const k23 = k - k1;
  const q = wQ;
  const u = wU;
  dcPack(base, ld, n1, n2, k, k1, k2, nd, pos, q, df, nDefl, wDEFL);
  // New vectors: top (n₁ × K) = Q_top · Uᵀ[0 … k₁₂), bottom (n₂ × K) = Q_bottom · Uᵀ[k₁ … K).
  gemmABt(n1, k, k12, q, k12, u, k, base, ld);
  gemmABt(n2, k, k23, addr(q, n1 * k12), k23, addr(u, k1), k, addr(base, n1 * ld), ld);
  copyBlock(wDEFL, nDefl, addr(base, k), ld, n, nDefl);
  for (let t = 0; t < k; t++) std(d, lo + t, ldd(dk, ldi(origin, t)) + ldd(tau, t));
  for (let t = 0; t < nDefl; t++) std(d, lo + k + t, ldd(dd, ldi(df, t)));
}

/** Eigenpairs of the unreduced block at rows lo … lo+len−1 into the same block of z (tridiagDC.ts's solveBlock). */
function solveBlock(d: usize, e: usize, lo: i32, len: i32, z: usize): bool {
  const ld = wNT;
  if (len <= DC_LEAF) {
    for (let i = 0; i < len; i++) std(z, (lo + i) * ld + lo + i, 1);
    return qlStrided(addr(d, lo), addr(e, lo), addr(z, lo * ld + lo), len, ld, wSWEEPS * len, wDEL, wZHAT) != 0;
  }
  const n1 = len >> 1;
  const m = lo + n1 - 1;
  const beta = ldd(e, m);
  const ab = abs(beta);
  std(d, m, ldd(d, m) - ab);
  std(d, m + 1, ldd(d, m + 1) - ab);
  if (!solveBlock(d, e, lo, n1, z)) return false;
  if (!solveBlock(d, e, lo + n1, len - n1, z)) return false;
  merge(d, lo, n1, len, beta, z);
  return true;
}

/**
 * All eigenpairs of the n × n symmetric tridiagonal (d, e) (tridiagDC.ts's tridiagonalEigDC): d ← the
 * eigenvalues (in no particular order), column i of the row-major n × n z ← the unit eigenvector of
 * d[i]; d and e overwritten. `ws`: {@link dcScratchSize}(n) float64, its first 16 bytes the merges'
 * counters (int32: merges, small-z deflations, rotations, secular roots — added to, not reset); pa,
 * pb: GEMM packs (gemmBatch's A and B blocks); `sweeps`: QL sweeps allowed per row of a leaf. Returns 1,
 * or 0 if QL fails to converge on a leaf.
 */
export function dcSolve(d: usize, e: usize, n: i32, z: usize, ws: usize, pa: usize, pb: usize, sweeps: i32): i32 {
  if (n <= 0) return 1;
  memory.fill(z, 0, (<usize>(n * n)) << 3);
  wNT = n;
  wPA = pa;
  wPB = pb;
  wSWEEPS = sweeps;
  wSTATS = ws;
  let o = addr(ws, 2);
  wDD = o; o = addr(o, n);
  wZZ = o; o = addr(o, n);
  wDK = o; o = addr(o, n);
  wZK = o; o = addr(o, n);
  wTAU = o; o = addr(o, n);
  wDEL = o; o = addr(o, n);
  wZHAT = o; o = addr(o, n);
  // seven int32 arrays in 4n float64
  const ints = o;
  const ni = (<usize>n) << 2;
  wORIGIN = ints;
  wPOS = ints + ni;
  wND = ints + 2 * ni;
  wDF = ints + 3 * ni;
  wKIND = ints + 4 * ni;
  wORDER = ints + 5 * ni;
  wTMP = ints + 6 * ni;
  o = addr(o, 4 * n);
  const big = n <= DC_LEAF ? 0 : n * n;
  wQ = o; o = addr(o, big);
  wU = o; o = addr(o, big);
  wDEFL = o;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const ei = i < n - 1 ? abs(ldd(e, i)) : 0;
    if (i < n - 1 && ei > DC_EPS * Math.sqrt(abs(ldd(d, i))) * Math.sqrt(abs(ldd(d, i + 1)))) continue;
    if (i < n - 1) std(e, i, 0);
    if (!solveBlock(d, e, start, i + 1 - start, z)) return 0;
    start = i + 1;
  }
  return 1;
}

// ---------------------------------------------------------------------------------------------------
// The whole solve of src/linalg/eigen.ts's divide-and-conquer path per matrix (its TypeScript —
// tridiagonalise, tridiagonalEigDC, applyQ, descendingOrder, gatherColumns — is the reference, each
// step the same kernel or the same GEMM), for a batch of matrices: one call per thread runs its range
// of matrices with its own workspace and GEMM packs, so a batch's eigenproblems run at once on the
// worker pool with no JavaScript between the steps (the host hands each thread chunks of the batch).

/** eigen.ts's TRD_NB, TRD_NX, TRD_CB (blocked reduction) and NB (reflectors per block of applyQ). */
const TRD_NB: i32 = 32;
const TRD_NX: i32 = 64;
const TRD_CB: i32 = 128;
const WY_NB: i32 = 32;

/** Float64 scratch of the reduction (eigen.ts's trdScratch). */
function trdScratchSize(n: i32): i32 {
  return 5 * n + (n > TRD_NX + TRD_NB ? 2 * n * 2 * TRD_NB + 2 * n + 2 * TRD_NB : 0);
}

/** Float64 scratch of the back-transformation (eigen.ts's applyQScratch). */
function applyQScratchSize(n: i32): i32 {
  return 3 * WY_NB * n + WY_NB * WY_NB;
}

/**
 * Float64 of workspace one thread's part of {@link symEigBatch} needs for n × n matrices: the
 * divide-and-conquer scratch (its first 16 bytes the merge counters), d, e, β, the tridiagonal's
 * eigenvectors (n × n) and the reduction's / back-transformation's shared scratch.
 */
export function symEigScratchSize(n: i32): i32 {
  return dcScratchSize(n) + 3 * n + n * n + max(trdScratchSize(n), applyQScratchSize(n));
}

/**
 * C (m × nn, row stride ldc) ← [C +] α·op(A)·op(B) (fresh: β = 0, else β = 1): the matrix core's GEMM
 * through gemmBatch on one problem, with the host's special cases (k = 0 or α = 0: C ← β·C).
 */
function gemmRun(transA: i32, transB: i32, m: i32, nn: i32, k: i32, alpha: f64, a: usize, lda: i32, b: usize, ldb: i32, fresh: i32, c: usize, ldc: i32): void {
  if (m <= 0 || nn <= 0) return;
  if (k <= 0 || alpha == 0) {
    if (fresh) for (let i = 0; i < m; i++) memory.fill(addr(c, i * ldc), 0, (<usize>nn) << 3);
    return;
  }
  gemmBatch(0, 1, a, 0, lda, 0, transA, b, 0, ldb, 0, transB, m, nn, k, alpha, c, 0, ldc, 0, fresh, 0, wPA, wPB);
}

/** eigen.ts's tridiagonalise: panels (trdPanel + the trailing GEMMs) while more than TRD_NX + TRD_NB rows are left, then trdUnblocked. */
function tridiagonalise(m: usize, n: i32, d: usize, e: usize, beta: usize, scratch: usize): void {
  let k0 = 0;
  const ld = 2 * TRD_NB;
  const work = scratch;
  if (n > TRD_NX + TRD_NB) {
    const vw = addr(work, 5 * n);
    const wv = addr(vw, n * ld);
    const v = addr(wv, n * ld);
    const p = addr(v, n);
    const y = addr(p, n);
    for (; n - k0 > TRD_NX + TRD_NB; k0 += TRD_NB) {
      trdPanel(m, n, k0, TRD_NB, d, e, beta, vw, wv, v, p, y);
      const k1 = k0 + TRD_NB;
      for (let j0 = k1; j0 < n; j0 += TRD_CB) {
        const j1 = min(n, j0 + TRD_CB);
        gemmRun(0, 1, j1 - k1, j1 - j0, ld, -1, addr(vw, k1 * ld), ld, addr(wv, j0 * ld), ld, 0, addr(m, k1 * n + j0), n);
      }
    }
  }
  trdUnblocked(m, n, k0, d, e, beta, work);
}

/** eigen.ts's applyQ (z not the identity): z ← Q z, the reflectors applied right to left, WY_NB at a time (wyBlock + three GEMMs). */
function applyQ(m: usize, n: i32, beta: usize, q: usize, scratch: usize): void {
  const nRef = n - 2;
  if (nRef <= 0) return;
  const vt = scratch;
  const t = addr(vt, WY_NB * n);
  const w = addr(t, WY_NB * WY_NB);
  const tw = addr(w, WY_NB * n);
  const lastStart = ((nRef - 1) / WY_NB) * WY_NB;
  for (let k0 = lastStart; k0 >= 0; k0 -= WY_NB) {
    const nb = min(WY_NB, nRef - k0);
    const s = k0 + 1;
    const rows = n - s;
    const cols = n;
    wyBlock(m, n, k0, nb, beta, vt, t, WY_NB);
    gemmRun(0, 0, nb, cols, rows, 1, vt, rows, addr(q, s * n), n, 1, w, cols);
    gemmRun(0, 0, nb, cols, nb, 1, t, WY_NB, w, cols, 1, tw, cols);
    gemmRun(1, 0, rows, cols, nb, -1, vt, rows, tw, cols, 0, addr(q, s * n), n);
  }
}

/**
 * One matrix (eigen.ts's tridiagonalDC after its scaled copy): the n × n matrix at a (overwritten) →
 * its eigenvectors, columns in the order of decreasing eigenvalue, and the eigenvalues (descending)
 * at values. Returns 0 if QL fails on a leaf (a and values then meaningless).
 */
function solveOne(a: usize, n: i32, values: usize, ws: usize, sweeps: i32): i32 {
  const dc = ws;
  const d = addr(dc, dcScratchSize(n));
  const e = addr(d, n);
  const beta = addr(e, n);
  const z = addr(beta, n);
  const shared = addr(z, n * n);
  tridiagonalise(a, n, d, e, beta, shared);
  // dcSolve leaves wPA, wPB as they are (the same packs)
  if (dcSolve(d, e, n, z, dc, wPA, wPB, sweeps) == 0) return 0;
  applyQ(a, n, beta, z, shared);
  // e holds the order (int32), β (free by now) the sort's scratch
  for (let i = 0; i < n; i++) sti(e, i, i);
  stableSort(e, beta, 0, n, d, true);
  for (let i = 0; i < n; i++) std(values, i, ldd(d, ldi(e, i)));
  gatherColumns(z, a, n, e);
  return 1;
}

/**
 * Matrices s0 … s1−1 of a batch of symmetric n × n float64 matrices, each already scaled (eigen.ts
 * multiplies by a power of two so its largest entry is in [½, 1)): matrix s at a + s·n²·8 (its upper
 * triangle read; overwritten by its eigenvectors, column i that of values[s·n + i]), its eigenvalues in
 * decreasing order at values + s·n·8, ok[s] (int32) = 1, or 0 if QL failed on a leaf. `ws`: this part's
 * {@link symEigScratchSize}(n) float64, whose first four int32 count the merges (added to); pa, pb:
 * this part's GEMM packs; sweeps: QL sweeps allowed per row of a leaf.
 */
export function symEigBatch(s0: i32, s1: i32, n: i32, a: usize, values: usize, ok: usize, ws: usize, pa: usize, pb: usize, sweeps: i32): void {
  for (let s = s0; s < s1; s++) {
    wPA = pa;
    wPB = pb;
    sti(ok, s, solveOne(addr(a, s * n * n), n, addr(values, s * n), ws, sweeps));
  }
}
