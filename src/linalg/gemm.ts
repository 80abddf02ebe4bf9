/**
 * The matrix core in TypeScript: blocked, packed GEMM (C = α·op(A)·op(B) + β·C) and SYRK
 * (C = α·A·Aᵀ + β·C or α·Aᵀ·A + β·C) on row-major float32/float64 arrays, plus batched forms.
 * It is the reference implementation a faster backend (WebAssembly SIMD) must match, and what the
 * second-order pooling ops (covariance, Grassmann, bilinear, low-rank bilinear, Newton–Schulz,
 * Random Maclaurin) use for every product, forward and backward.
 *
 * Structure (Goto & van de Geijn, "Anatomy of High-Performance Matrix Multiplication", ACM TOMS
 * 2008): op(B) is packed KC × NC at a time into column strips NR wide, op(A) MC × KC at a time into
 * row strips MR tall, both contiguous in the order the micro-kernel reads them (any transpose is
 * absorbed by the packing, so the kernel is the same for all four cases); the micro-kernel keeps an
 * MR × NR = 4 × 4 tile of C in local variables, which V8 keeps in registers, and streams KC steps of
 * 4 + 4 packed values. Arithmetic is float64 throughout (a float32 C is accumulated in a float64
 * buffer when the sum spans several KC blocks, so it is rounded once), as the scalar kernels did.
 *
 * {@link gemm} and {@link syrk} dispatch through the kernel table (`linalg.gemm`, `linalg.syrk`, keyed
 * by C's dtype): the WebAssembly backends register a packed f64x2 version (src/backends/wasm/gemm.ts)
 * that gives these functions' results bit for bit; {@link gemmReference} and {@link syrkReference}
 * are this file's TypeScript code, run under the "js" backend.
 */
import { kernel } from "../kernels/registry.js";
import { allocArray } from "../tensor/alloc.js";

/** The storage GEMM reads and writes. */
export type NumArray = Float32Array | Float64Array;

const MR = 4;
const NR = 4;
/**
 * Depth of a packed block: 256 float64 × (4 + 4) per k-step keeps the micro-kernel's panels in L1/L2.
 * Every backend splits the k-sum at the same multiples of KC, so their results are bit-identical.
 */
export const GEMM_KC = 256;
const KC = GEMM_KC;
/** Rows of op(A) packed at once (MC × KC float64 = 128 KiB). */
const MC = 64;
/** Columns of op(B) packed at once (KC × NC float64 = 512 KiB). */
const NC = 256;

// Packing buffers, reused across calls (GEMM is not re-entered). Made on first use, not at import:
// the WebAssembly backend imports this module while the allocator's module graph is still loading.
let packA: Float64Array = new Float64Array(0);
let packB: Float64Array = new Float64Array(0);

/**
 * C[m × n] = α·op(A)·op(B) + β·C, all row-major with leading dimensions (row strides) lda, ldb, ldc
 * and element offsets. op(A) = A (m × k, `a[aOff + i·lda + p]`) or Aᵀ (A stored k × m,
 * `a[aOff + p·lda + i]`) when `transA`; likewise op(B) is k × n. β = 0 overwrites C (NaN in C is not
 * propagated, as in BLAS). k = 0 gives β·C. A, B and C may each be float32 or float64; the arithmetic
 * is float64. Runs the kernel table's `linalg.gemm` for C's dtype (the WebAssembly backends register
 * a SIMD one; {@link gemmReference} otherwise).
 */
export function gemm(
  transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, b: NumArray, bOff: number, ldb: number,
  beta: number, c: NumArray, cOff: number, ldc: number,
): void {
  kernel("linalg.gemm", dtypeOf(c), gemmReference)(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
}

/**
 * C[n × n] = α·A·Aᵀ + β·C (A n × k, `trans` false) or α·Aᵀ·A + β·C (A k × n, `trans` true). Only tiles
 * touching the upper triangle are computed; the lower triangle is then mirrored from it, so C comes
 * out exactly symmetric (C's input is assumed symmetric when β ≠ 0). Runs the kernel table's
 * `linalg.syrk` for C's dtype ({@link syrkReference} unless a backend registered one).
 */
export function syrk(trans: boolean, n: number, k: number, alpha: number, a: NumArray, aOff: number, lda: number, beta: number, c: NumArray, cOff: number, ldc: number): void {
  kernel("linalg.syrk", dtypeOf(c), syrkReference)(trans, n, k, alpha, a, aOff, lda, beta, c, cOff, ldc);
}

/**
 * The upper triangle of C[n × n] = α·op(A)·op(B) + β·C (op(A) n × k, op(B) k × n), then the lower
 * triangle mirrored from it: for a product known to be symmetric (Uᵀ·(G·U) with G symmetric, U·B·Uᵀ
 * with B symmetric), about half the multiply-adds of {@link gemm} and an exactly symmetric result.
 * C's input is assumed symmetric when β ≠ 0. Runs the kernel table's `linalg.gemmt` for C's dtype
 * ({@link gemmtReference} unless a backend registered one).
 */
export function gemmt(
  transA: boolean, transB: boolean, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, b: NumArray, bOff: number, ldb: number,
  beta: number, c: NumArray, cOff: number, ldc: number,
): void {
  kernel("linalg.gemmt", dtypeOf(c), gemmtReference)(transA, transB, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
}

/**
 * The float32 path of the matrix core: `count` problems C_s = α·op(A_s)·op(B_s) + β·C_s (A_s from
 * aOff + s·strideA, likewise B, C; C float32; A, B float32 or float64, rounded to float32) in float32
 * arithmetic — each entry a sequential float32 sum (product and sum rounded to float32, no FMA) per
 * GEMM_KC-deep block, added into C as C + α·sum in float64 and rounded once. `upper`: only C's upper
 * triangle is computed (m = n) and the lower mirrored from it ({@link gemmt}'s meaning).
 *
 * For callers whose result is float32 and who accept float32 accumulation error — PyTorch's, with an
 * sgemm: |ΔC| ≤ (k_b + 2)·u·|α|·|op(A)|·|op(B)| + u·|C| elementwise, u = 2⁻²⁴, k_b = min(k, GEMM_KC)
 * the terms in one block (the blocks' partial sums then add in float64 into a float32 C, one rounding
 * each) — in exchange for twice the SIMD lanes of the float64 path. Runs the kernel table's
 * `linalg.gemmF32` ({@link gemmF32Reference} unless a backend registered one).
 */
export function gemmF32(
  count: number, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, strideA: number, b: NumArray, bOff: number, ldb: number, strideB: number,
  beta: number, c: Float32Array, cOff: number, ldc: number, strideC: number, upper: boolean,
): void {
  kernel("linalg.gemmF32", "float32", gemmF32Reference)(count, transA, transB, m, n, k, alpha, a, aOff, lda, strideA, b, bOff, ldb, strideB, beta, c, cOff, ldc, strideC, upper);
}

/** The TypeScript float32 GEMM (the reference for `linalg.gemmF32`, every operation rounded with Math.fround); see {@link gemmF32}. */
export function gemmF32Reference(
  count: number, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, strideA: number, b: NumArray, bOff: number, ldb: number, strideB: number,
  beta: number, c: Float32Array, cOff: number, ldc: number, strideC: number, upper: boolean,
): void {
  const f = Math.fround;
  const acc = new Float32Array(Math.max(n, 0));
  for (let s = 0; s < count; s++) {
    const ao = aOff + s * strideA;
    const bo = bOff + s * strideB;
    const co = cOff + s * strideC;
    if (m <= 0 || n <= 0) continue;
    scaleC(m, n, beta, c, co, ldc);
    if (k > 0 && alpha !== 0) {
      for (let i = 0; i < m; i++) {
        const j0 = upper ? i : 0;
        const ro = co + i * ldc;
        for (let p0 = 0; p0 < k; p0 += KC) {
          const p1 = Math.min(k, p0 + KC);
          // acc[j] = the block's sequential float32 sum of op(A)[i, p]·op(B)[p, j] (p outer: same order per entry)
          acc.fill(0);
          for (let p = p0; p < p1; p++) {
            const aip = f(transA ? (a[ao + p * lda + i] as number) : (a[ao + i * lda + p] as number));
            if (transB) for (let j = j0; j < n; j++) acc[j] = f((acc[j] as number) + f(aip * f(b[bo + j * ldb + p] as number)));
            else {
              const rb = bo + p * ldb;
              for (let j = j0; j < n; j++) acc[j] = f((acc[j] as number) + f(aip * f(b[rb + j] as number)));
            }
          }
          for (let j = j0; j < n; j++) c[ro + j] = (c[ro + j] as number) + alpha * (acc[j] as number);
        }
      }
    }
    if (upper) mirrorUpper(n, c, co, ldc);
  }
}

/**
 * {@link gemm} over `count` problems whose A, B, C start `strideA`, `strideB`, `strideC` elements apart
 * (C's problems must not overlap). Runs the kernel table's `linalg.gemmBatched` for C's dtype: the
 * WebAssembly backends do a batch of small products in one call per thread, splitting the problems
 * among the worker pool; {@link gemmBatchedReference} (one {@link gemm} per problem) otherwise.
 */
export function gemmBatched(
  count: number, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, strideA: number, b: NumArray, bOff: number, ldb: number, strideB: number,
  beta: number, c: NumArray, cOff: number, ldc: number, strideC: number,
): void {
  kernel("linalg.gemmBatched", dtypeOf(c), gemmBatchedReference)(count, transA, transB, m, n, k, alpha, a, aOff, lda, strideA, b, bOff, ldb, strideB, beta, c, cOff, ldc, strideC);
}

/** The reference of `linalg.gemmBatched`: {@link gemm} (the kernel table's) per problem. */
export function gemmBatchedReference(
  count: number, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, strideA: number, b: NumArray, bOff: number, ldb: number, strideB: number,
  beta: number, c: NumArray, cOff: number, ldc: number, strideC: number,
): void {
  for (let s = 0; s < count; s++) {
    gemm(transA, transB, m, n, k, alpha, a, aOff + s * strideA, lda, b, bOff + s * strideB, ldb, beta, c, cOff + s * strideC, ldc);
  }
}

/**
 * {@link syrk} over `count` problems `strideA` / `strideC` elements apart (C's must not overlap):
 * `linalg.syrkBatched` for C's dtype, or {@link syrkBatchedReference}.
 */
export function syrkBatched(count: number, trans: boolean, n: number, k: number, alpha: number, a: NumArray, aOff: number, lda: number, strideA: number, beta: number, c: NumArray, cOff: number, ldc: number, strideC: number): void {
  kernel("linalg.syrkBatched", dtypeOf(c), syrkBatchedReference)(count, trans, n, k, alpha, a, aOff, lda, strideA, beta, c, cOff, ldc, strideC);
}

/** The reference of `linalg.syrkBatched`: {@link syrk} (the kernel table's) per problem. */
export function syrkBatchedReference(count: number, trans: boolean, n: number, k: number, alpha: number, a: NumArray, aOff: number, lda: number, strideA: number, beta: number, c: NumArray, cOff: number, ldc: number, strideC: number): void {
  for (let s = 0; s < count; s++) syrk(trans, n, k, alpha, a, aOff + s * strideA, lda, beta, c, cOff + s * strideC, ldc);
}

/**
 * {@link gemmt} over `count` problems whose A, B, C start `strideA`, `strideB`, `strideC` elements apart
 * (C's must not overlap): `linalg.gemmtBatched` for C's dtype, or {@link gemmtBatchedReference}.
 */
export function gemmtBatched(
  count: number, transA: boolean, transB: boolean, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, strideA: number, b: NumArray, bOff: number, ldb: number, strideB: number,
  beta: number, c: NumArray, cOff: number, ldc: number, strideC: number,
): void {
  kernel("linalg.gemmtBatched", dtypeOf(c), gemmtBatchedReference)(count, transA, transB, n, k, alpha, a, aOff, lda, strideA, b, bOff, ldb, strideB, beta, c, cOff, ldc, strideC);
}

/** The reference of `linalg.gemmtBatched`: {@link gemmt} (the kernel table's) per problem. */
export function gemmtBatchedReference(
  count: number, transA: boolean, transB: boolean, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, strideA: number, b: NumArray, bOff: number, ldb: number, strideB: number,
  beta: number, c: NumArray, cOff: number, ldc: number, strideC: number,
): void {
  for (let s = 0; s < count; s++) gemmt(transA, transB, n, k, alpha, a, aOff + s * strideA, lda, b, bOff + s * strideB, ldb, beta, c, cOff + s * strideC, ldc);
}

function dtypeOf(c: NumArray): "float32" | "float64" {
  return c instanceof Float32Array ? "float32" : "float64";
}

/** The TypeScript GEMM (the reference every backend's `linalg.gemm` is tested against); see {@link gemm}. */
export function gemmReference(
  transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, b: NumArray, bOff: number, ldb: number,
  beta: number, c: NumArray, cOff: number, ldc: number,
): void {
  run(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, false);
}

/** The TypeScript SYRK (the reference for `linalg.syrk`); see {@link syrk}. */
export function syrkReference(trans: boolean, n: number, k: number, alpha: number, a: NumArray, aOff: number, lda: number, beta: number, c: NumArray, cOff: number, ldc: number): void {
  run(trans, !trans, n, n, k, alpha, a, aOff, lda, a, aOff, lda, beta, c, cOff, ldc, true);
  mirrorUpper(n, c, cOff, ldc);
}

/** The TypeScript upper-triangle GEMM (the reference for `linalg.gemmt`); see {@link gemmt}. */
export function gemmtReference(
  transA: boolean, transB: boolean, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, b: NumArray, bOff: number, ldb: number,
  beta: number, c: NumArray, cOff: number, ldc: number,
): void {
  run(transA, transB, n, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, true);
  mirrorUpper(n, c, cOff, ldc);
}

/** @internal C's lower triangle ← its upper triangle (SYRK's last step, shared with the backends). */
export function mirrorUpper(n: number, c: NumArray, cOff: number, ldc: number): void {
  for (let i = 1; i < n; i++) {
    const ri = cOff + i * ldc;
    for (let j = 0; j < i; j++) c[ri + j] = c[cOff + j * ldc + i] as number;
  }
}

/** @internal C ← β·C over m × n (β = 0 writes zeros, so NaN in C does not propagate); shared with the backends. */
export function scaleC(m: number, n: number, beta: number, c: NumArray, cOff: number, ldc: number): void {
  if (beta === 1) return;
  for (let i = 0; i < m; i++) {
    const r = cOff + i * ldc;
    if (beta === 0) c.fill(0, r, r + n);
    else for (let j = 0; j < n; j++) c[r + j] = beta * (c[r + j] as number);
  }
}

function run(
  transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: NumArray, aOff: number, lda: number, b: NumArray, bOff: number, ldb: number,
  beta: number, c: NumArray, cOff: number, ldc: number, upper: boolean,
): void {
  if (m <= 0 || n <= 0) return;
  // β·C first; the blocks then accumulate into C.
  scaleC(m, n, beta, c, cOff, ldc);
  if (k <= 0 || alpha === 0) return;
  if (packA.length === 0) {
    packA = allocArray("float64", MC * KC);
    packB = allocArray("float64", KC * NC);
  }
  // A float32 C is accumulated in float64 when there is more than one k-block (rounded once at the end).
  let cc: Float64Array | NumArray = c;
  let co = cOff;
  let cl = ldc;
  const spill = k > KC && !(c instanceof Float64Array);
  // (a fresh buffer per call: keeping the largest one alive could pin hundreds of MB)
  const wide = spill ? allocArray("float64", m * n) : null;
  if (wide) {
    cc = wide;
    co = 0;
    cl = n;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) wide[i * n + j] = c[cOff + i * ldc + j] as number;
  }
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nb = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kb = Math.min(KC, k - p0);
      packPanelB(transB, b, bOff, ldb, p0, kb, j0, nb);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mb = Math.min(MC, m - i0);
        // SYRK: a row block entirely below this column block contributes nothing to the upper triangle.
        if (upper && i0 >= j0 + nb) break;
        packPanelA(transA, a, aOff, lda, i0, mb, p0, kb);
        macroKernel(mb, nb, kb, alpha, cc, co + i0 * cl + j0, cl, upper ? j0 - i0 : Infinity);
      }
    }
  }
  if (wide) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[cOff + i * ldc + j] = wide[i * n + j] as number;
}

/** Pack op(A)[i0 … i0+mb, p0 … p0+kb] into MR-row strips: strip s, step p at packA[(s·kb + p)·MR + r]. */
function packPanelA(trans: boolean, a: NumArray, off: number, ld: number, i0: number, mb: number, p0: number, kb: number): void {
  const pa = packA;
  for (let s = 0; s * MR < mb; s++) {
    const base = s * kb * MR;
    const rows = Math.min(MR, mb - s * MR);
    for (let r = 0; r < MR; r++) {
      const i = i0 + s * MR + r;
      if (r >= rows) {
        for (let p = 0; p < kb; p++) pa[base + p * MR + r] = 0;
      } else if (trans) {
        // op(A)[i, p] = A[p, i]
        for (let p = 0; p < kb; p++) pa[base + p * MR + r] = a[off + (p0 + p) * ld + i] as number;
      } else {
        const ro = off + i * ld + p0;
        for (let p = 0; p < kb; p++) pa[base + p * MR + r] = a[ro + p] as number;
      }
    }
  }
}

/** Pack op(B)[p0 … p0+kb, j0 … j0+nb] into NR-column strips: strip s, step p at packB[(s·kb + p)·NR + c]. */
function packPanelB(trans: boolean, b: NumArray, off: number, ld: number, p0: number, kb: number, j0: number, nb: number): void {
  const pb = packB;
  for (let s = 0; s * NR < nb; s++) {
    const base = s * kb * NR;
    const cols = Math.min(NR, nb - s * NR);
    for (let q = 0; q < NR; q++) {
      const j = j0 + s * NR + q;
      if (q >= cols) {
        for (let p = 0; p < kb; p++) pb[base + p * NR + q] = 0;
      } else if (trans) {
        // op(B)[p, j] = B[j, p]
        const ro = off + j * ld + p0;
        for (let p = 0; p < kb; p++) pb[base + p * NR + q] = b[ro + p] as number;
      } else {
        for (let p = 0; p < kb; p++) pb[base + p * NR + q] = b[off + (p0 + p) * ld + j] as number;
      }
    }
  }
}

/**
 * C[mb × nb] (at c[co], row stride ldc) += α·(packed A)(packed B), tile by tile. `diag` = j0 − i0 for
 * SYRK: tiles whose columns all lie below the diagonal (j < i for every entry) are skipped.
 */
function macroKernel(mb: number, nb: number, kb: number, alpha: number, c: NumArray, co: number, ldc: number, diag: number): void {
  const pa = packA;
  const pb = packB;
  for (let jr = 0; jr < nb; jr += NR) {
    const bBase = (jr / NR) * kb * NR;
    const cols = Math.min(NR, nb - jr);
    for (let ir = 0; ir < mb; ir += MR) {
      // the tile's largest column (diag + jr + NR − 1, in C's coordinates relative to row 0) < its smallest row
      if (diag + jr + NR - 1 < ir) continue;
      const aBase = (ir / MR) * kb * MR;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0, ai = aBase, bi = bBase; p < kb; p++, ai += MR, bi += NR) {
        const a0 = pa[ai] as number;
        const a1 = pa[ai + 1] as number;
        const a2 = pa[ai + 2] as number;
        const a3 = pa[ai + 3] as number;
        const b0 = pb[bi] as number;
        const b1 = pb[bi + 1] as number;
        const b2 = pb[bi + 2] as number;
        const b3 = pb[bi + 3] as number;
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
      }
      const rows = Math.min(MR, mb - ir);
      const o = co + ir * ldc + jr;
      if (rows === MR && cols === NR) {
        let r = o;
        c[r] = (c[r] as number) + alpha * c00; c[r + 1] = (c[r + 1] as number) + alpha * c01; c[r + 2] = (c[r + 2] as number) + alpha * c02; c[r + 3] = (c[r + 3] as number) + alpha * c03;
        r += ldc;
        c[r] = (c[r] as number) + alpha * c10; c[r + 1] = (c[r + 1] as number) + alpha * c11; c[r + 2] = (c[r + 2] as number) + alpha * c12; c[r + 3] = (c[r + 3] as number) + alpha * c13;
        r += ldc;
        c[r] = (c[r] as number) + alpha * c20; c[r + 1] = (c[r + 1] as number) + alpha * c21; c[r + 2] = (c[r + 2] as number) + alpha * c22; c[r + 3] = (c[r + 3] as number) + alpha * c23;
        r += ldc;
        c[r] = (c[r] as number) + alpha * c30; c[r + 1] = (c[r + 1] as number) + alpha * c31; c[r + 2] = (c[r + 2] as number) + alpha * c32; c[r + 3] = (c[r + 3] as number) + alpha * c33;
      } else {
        const t = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
        for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) {
          const idx = o + r * ldc + q;
          c[idx] = (c[idx] as number) + alpha * (t[r * 4 + q] as number);
        }
      }
    }
  }
}
