/**
 * Symmetric eigendecomposition for the second-order pooling ops (covariance, Grassmann), float64.
 *
 * Three solvers behind one entry point, {@link symEig}, chosen by size:
 * - **cyclic Jacobi** up to {@link JACOBI_MAX_DIM}, where it is as fast and most accurate: for the
 *   positive semi-definite matrices met here Jacobi computes small eigenvalues with high *relative*
 *   accuracy (Demmel & Veselić, "Jacobi's method is more accurate than QR", SIAM J. Matrix Anal.
 *   Appl. 1992). It is also the fallback if QL (alone or at a divide-and-conquer leaf) ever fails to
 *   converge.
 * - **Householder tridiagonalisation + implicit QL with Wilkinson shifts** up to {@link QL_MAX_DIM} on the
 *   "js" backend (the WebAssembly backends use divide and conquer from JACOBI_MAX_DIM + 1 on, see
 *   {@link symEigMethodFor})
 *   (the classical EISPACK tred2/tql2 pair and LAPACK's dsytd2/dsteqr, written from Golub & Van Loan,
 *   "Matrix Computations", 4th ed., §8.3, and Parlett, "The Symmetric Eigenvalue Problem", ch. 8;
 *   QL itself is in src/linalg/tridiagQL.ts): about 9n³ flops, most of them the ~6n³ of applying
 *   the QL rotations to the eigenvectors.
 * - **Householder tridiagonalisation + divide and conquer** above (Cuppen 1981; Gu & Eisenstat 1995;
 *   the structure of LAPACK's dsyevd = dsytrd + dstedc + dormtr; src/linalg/tridiagDC.ts and
 *   src/linalg/secular.ts): at most 4/3·n³ for the tridiagonal eigenvectors, usually far less
 *   thanks to deflation, and almost all of it matrix products through src/linalg/gemm.ts; then Q is
 *   applied to them blockwise ({@link applyQ}, 2n³, GEMMs as well).
 * The reduction itself is blocked for large n (dsytrd/dlatrd: panels of TRD_NB rows whose trailing
 * update is one GEMM), unblocked and fused for the rest (one pass over the trailing triangle per step
 * does the rank-2 update and the next step's matrix–vector product).
 *
 * Kernels: the reduction's panel and unblocked loops (`linalg.trdPanel`, `linalg.trdUnblocked`) and the
 * merges' secular equation (`linalg.secular`) go through the kernel table, with this file's and
 * src/linalg/secular.ts's TypeScript as the references; the WebAssembly backends run them in
 * assembly/linalg.ts (f64x2). The divide-and-conquer path takes all its work arrays from one
 * `linalg.workspace` array (linear memory under WebAssembly), so those kernels and every GEMM of the
 * solve read them in place. Above them, the tridiagonal solve is one kernel (`linalg.dcSolve`,
 * reference `tridiagonalEigDC`) and the whole path for a batch of matrices another (`linalg.symEigDC`,
 * reference {@link symEigDCReference}): the WebAssembly backends run each matrix's solve in one call
 * (assembly/eigen.ts), the batch split over the worker pool in chunks of one matrix, bit for bit the
 * per-kernel path. {@link symEigBatch} is the batched entry the pooling ops use; {@link symEig} is a
 * batch of one.
 *
 * Accuracy. QL and divide and conquer are backward stable: eigenvalues accurate to a few ε·‖A‖ in
 * absolute terms, eigenvectors orthogonal to a few nε (Gu & Eisenstat's recomputed ẑ in the merges,
 * see src/linalg/secular.ts). QL's convergence test is the relative one of dsteqr (|e_m|² ≤
 * ε²·|d_m d_{m+1}|), and the divide-and-conquer splitting test the matching one of dstedc. What the
 * ops look at: `logm` takes log(λ + ε_reg) and `sqrtm` keeps only λ > 2⁻²³·λ_max (MPN-COV's
 * truncation), so an absolute error of a few ε·λ_max is a relative error below ε·λ_max/ε_reg resp.
 * 2⁻²⁹ in what is used; the tests check both paths against Jacobi on graded covariances, against
 * LAPACK (through PyTorch) on random, clustered, multiple and rank-deficient spectra up to D = 512,
 * and on deflation stress cases (glued Wilkinson matrices, tiny off-diagonals, multiple eigenvalues).
 *
 * Scaling: the matrix is multiplied by a power of two (exact) so that its largest entry lies in
 * [½, 1) before any solver runs, and the eigenvalues are scaled back: the result does not depend
 * on the input's scale (no overflow of ‖A‖², no underflow of tiny entries; eigenvectors are
 * bit-identical for A and 2ᵏA). A matrix with a NaN or ±∞ entry gets NaN eigenvalues and vectors.
 */
import { kernel } from "../kernels/registry.js";
import { allocArray } from "../tensor/alloc.js";
import { gemm } from "./gemm.js";
import { dcScratch, tridiagonalEigDC } from "./tridiagDC.js";
import { implicitQL, qlReference } from "./tridiagQL.js";

const EPS = 2 ** -53;
const MAX_SWEEPS = 100;
/**
 * Up to this size {@link symEig} uses cyclic Jacobi; above it, Householder + QL. Measured per call
 * (Node 20, warmed up, random symmetric matrices): n = 4: 3.2 µs Jacobi vs 3.8 µs QL; n = 6: 6.4 vs
 * 7.2; n = 8: 12.7 vs 10.0; n = 12: 36 vs 26; n = 32: 720 vs 270. The crossover is at 6–8; up to 8
 * Jacobi costs at most microseconds more and keeps its relative accuracy.
 */
export const JACOBI_MAX_DIM = 8;
/**
 * Up to this size (and above {@link JACOBI_MAX_DIM}) {@link symEig} uses QL when the eigensolver's
 * kernels are the TypeScript references (the "js" backend); above it, divide and conquer. Measured per
 * call (Node 20, warmed up, interleaved, on a loaded 2-core machine; random symmetric / rank-deficient
 * covariance): n = 24: QL 234 / 282 µs vs D&C 290 / 318; n = 32: 756 / 543 vs 414 / 570; n = 48:
 * 1402 / 1817 vs 913 / 750; n = 64: 2446 / 3058 vs 1969 / 1860. At and below 32 D&C is a single QL
 * leaf anyway. Under the WebAssembly backends (leaves, merges, reduction and back-transformation in
 * linear memory) divide and conquer is faster from n = 9 on and is used above {@link JACOBI_MAX_DIM}
 * (see {@link symEigMethodFor}): covariances, symEig CPU time median, wasm-simd, loaded 2-core
 * machine, QL vs D&C: n = 9: 20 vs 16 µs; 12: 27 vs 20; 16: 38 vs 29; 24: 78 vs 54; 32: 149 vs 91;
 * 48: 379 vs 186; 64: 802 vs 352.
 */
export const QL_MAX_DIM = 32;

export interface SymEig {
  /** Eigenvalues, descending. */
  readonly values: Float64Array;
  /** n × n row-major; column i (entries `vectors[r·n + i]`) is the unit eigenvector of `values[i]`. */
  readonly vectors: Float64Array;
}

/** Which solver {@link symEig} uses: `"auto"` (by size), or one forced (tests, benchmarks). */
export type SymEigMethod = "auto" | "jacobi" | "ql" | "dc";

/** x · 2^e without intermediate overflow/underflow of the factor (2^e alone may not be representable). */
function ldexp(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
  }
  return x * 2 ** e;
}

/** The exponent e with 2^(e−1) ≤ v < 2^e for finite v > 0 (exact, also for subnormals). */
function exponentOf(v: number): number {
  let e = Math.ceil(Math.log2(v));
  // log2 may round across a power of two: correct by one step either way.
  if (ldexp(1, e) <= v) e++;
  while (e > -1074 && ldexp(1, e - 1) > v) e--;
  return e;
}

/**
 * Eigen-decompose the symmetric n × n row-major matrix `a` (only read, never written; assumed
 * symmetric — the QL path reads the upper triangle, Jacobi the whole matrix): `a = V diag(values) Vᵀ`,
 * values descending, V orthogonal. A non-finite entry gives all-NaN values and vectors.
 */
export function symEig(a: Float64Array, n: number, method: SymEigMethod = "auto"): SymEig {
  return symEigBatch(a, 1, n, method)[0] as SymEig;
}

/**
 * {@link symEig} for `count` symmetric n × n matrices stored one after another in `a` (matrix s at
 * a[s·n² …]; only read): every matrix's answer is the one {@link symEig} gives for it alone, bit for
 * bit. The matrices that take the divide-and-conquer path are solved in one `linalg.symEigDC` call —
 * under the WebAssembly backends one WebAssembly call per matrix, the batch split over the worker
 * pool (chunks of one matrix taken in turn by the threads) — the others (Jacobi, QL, zero or non-finite matrices) one by one.
 * The returned arrays may be views of one array per batch (never of `a`).
 */
export function symEigBatch(a: Float64Array, count: number, n: number, method: SymEigMethod = "auto"): SymEig[] {
  const nn = n * n;
  const out: SymEig[] = new Array<SymEig>(count);
  const chosen = method === "auto" ? symEigMethodFor(n) : method;
  // the matrices for the batched divide and conquer: their index and scale exponent
  const dcAt: number[] = [];
  const dcExp: number[] = [];
  for (let s = 0; s < count; s++) {
    const off = s * nn;
    let maxAbs = 0;
    let finite = true;
    for (let i = off; i < off + nn; i++) {
      const v = Math.abs(a[i] as number);
      if (!(v <= Number.MAX_VALUE)) {
        finite = false;
        break;
      }
      if (v > maxAbs) maxAbs = v;
    }
    if (!finite) {
      out[s] = { values: allocArray("float64", n).fill(NaN), vectors: allocArray("float64", nn).fill(NaN) };
      continue;
    }
    if (maxAbs === 0) {
      // The zero matrix: every eigenvalue 0, eigenvectors the identity (what both solvers give).
      const vectors = allocArray("float64", nn);
      for (let i = 0; i < n; i++) vectors[i * n + i] = 1;
      out[s] = { values: allocArray("float64", n), vectors };
      continue;
    }
    // Scale by an exact power of two so the largest entry is in [½, 1).
    const e = exponentOf(maxAbs);
    if (chosen === "dc") {
      dcAt.push(s);
      dcExp.push(e);
      continue;
    }
    const m = a.subarray(off, off + nn);
    let res = chosen === "ql" ? tridiagonalQL(scaledCopy(m, nn, e, allocArray("float64", nn)), n) : null;
    // QL failing to converge is not expected (LAPACK allows 30n iterations; we allow the same): if it
    // happens, the slower Jacobi still gives an answer.
    if (res === null) res = jacobi(scaledCopy(m, nn, e, allocArray("float64", nn)), n);
    scaleValues(res.values, n, e);
    out[s] = res;
  }
  const k = dcAt.length;
  if (k > 0) {
    const mats = allocArray("float64", k * nn);
    for (let j = 0; j < k; j++) {
      const off = (dcAt[j] as number) * nn;
      scaledCopy(a.subarray(off, off + nn), nn, dcExp[j] as number, mats.subarray(j * nn, (j + 1) * nn));
    }
    const values = allocArray("float64", k * n);
    const ok = new Int32Array(k);
    kernel("linalg.symEigDC", "float64", symEigDCReference)(k, n, mats, values, ok);
    for (let j = 0; j < k; j++) {
      const s = dcAt[j] as number;
      const e = dcExp[j] as number;
      let res: SymEig;
      if (ok[j] === 1) res = { values: values.subarray(j * n, (j + 1) * n), vectors: mats.subarray(j * nn, (j + 1) * nn) };
      else res = jacobi(scaledCopy(a.subarray(s * nn, (s + 1) * nn), nn, e, allocArray("float64", nn)), n);
      scaleValues(res.values, n, e);
      out[s] = res;
    }
  }
  return out;
}

/** values[i] ← values[i]·2^e (the scaling undone). */
function scaleValues(values: Float64Array, n: number, e: number): void {
  for (let i = 0; i < n; i++) values[i] = ldexp(values[i] as number, e);
}

/** dst[0 … nn) = 2^(−e)·a (exact); returns dst. */
function scaledCopy(a: Float64Array, nn: number, e: number, dst: Float64Array): Float64Array {
  if (e > 1000 || e < -1000) for (let i = 0; i < nn; i++) dst[i] = ldexp(a[i] as number, -e);
  else {
    const s = 2 ** -e;
    for (let i = 0; i < nn; i++) dst[i] = (a[i] as number) * s;
  }
  return dst;
}

/** The indices 0 … n−1 ordered by decreasing d (a stable sort: ties keep their index order). */
function descendingOrder(d: Float64Array, n: number): number[] {
  return Array.from({ length: n }, (_, i) => i).sort((i, j) => (d[j] as number) - (d[i] as number));
}

/**
 * The reference `linalg.gatherColumns`: dst[r·n + i] = src[r·n + order[i]] for the row-major n × n
 * src and dst (column i of dst is column order[i] of src).
 */
export function gatherColumnsReference(src: Float64Array, dst: Float64Array, n: number, order: Int32Array): void {
  for (let r = 0; r < n; r++) {
    const ro = r * n;
    for (let i = 0; i < n; i++) dst[ro + i] = src[ro + (order[i] as number)] as number;
  }
}

/**
 * The solver `symEig(a, n)` ("auto") uses: Jacobi up to {@link JACOBI_MAX_DIM}; above, divide and
 * conquer — from {@link QL_MAX_DIM} + 1 on when the eigensolver's kernels are the TypeScript references
 * (QL up to there), right away when a backend runs them (`linalg.ql` is not the reference).
 */
export function symEigMethodFor(n: number): "jacobi" | "ql" | "dc" {
  if (n <= JACOBI_MAX_DIM) return "jacobi";
  const accelerated = kernel("linalg.ql", "float64", qlReference) !== qlReference;
  return accelerated || n > QL_MAX_DIM ? "dc" : "ql";
}

/** Sort eigenpairs descending: eigenvalue i is `d[i]`, its eigenvector column i of the row-major `z`. */
function sorted(d: Float64Array, z: Float64Array, n: number): SymEig {
  const order = descendingOrder(d, n);
  const values = allocArray("float64", n);
  const vectors = allocArray("float64", n * n);
  for (let i = 0; i < n; i++) values[i] = d[order[i] as number] as number;
  for (let r = 0; r < n; r++) {
    const ro = r * n;
    for (let i = 0; i < n; i++) vectors[ro + i] = z[ro + (order[i] as number)] as number;
  }
  return { values, vectors };
}

/** Cyclic Jacobi on the (scaled, finite) matrix `m`, which it overwrites. */
function jacobi(m: Float64Array, n: number): SymEig {
  const vt = allocArray("float64", n * n);
  for (let i = 0; i < n; i++) vt[i * n + i] = 1;
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm += (m[i] as number) * (m[i] as number);
  // Off-diagonal entries below this are exact zeros for every purpose here (far below rounding noise).
  // m is scaled to max |m_ij| ∈ [½, 1), so this is a normal number.
  const tiny = Math.sqrt(norm) * 2 ** -120;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q] as number;
        const app = m[p * n + p] as number;
        const aqq = m[q * n + q] as number;
        // Relative criterion (Demmel–Veselić): skip when |a_pq| ≤ ε·√|a_pp·a_qq|.
        if (Math.abs(apq) <= EPS * Math.sqrt(Math.abs(app * aqq)) || Math.abs(apq) <= tiny) {
          m[p * n + q] = 0;
          m[q * n + p] = 0;
          continue;
        }
        rotated = true;
        const theta = (aqq - app) / (2 * apq);
        const t = theta >= 0 ? 1 / (theta + Math.sqrt(1 + theta * theta)) : -1 / (-theta + Math.sqrt(1 + theta * theta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        // Rows p and q are contiguous: rotate them, then mirror into columns p and q (A stays symmetric).
        const rp = p * n;
        const rq = q * n;
        for (let k = 0; k < n; k++) {
          const akp = m[rp + k] as number;
          const akq = m[rq + k] as number;
          m[rp + k] = c * akp - s * akq;
          m[rq + k] = s * akp + c * akq;
        }
        m[rp + p] = app - t * apq;
        m[rq + q] = aqq + t * apq;
        m[rp + q] = 0;
        m[rq + p] = 0;
        for (let k = 0; k < n; k++) {
          m[k * n + p] = m[rp + k] as number;
          m[k * n + q] = m[rq + k] as number;
        }
        // Eigenvectors are kept as rows of vt (contiguous updates).
        for (let k = 0; k < n; k++) {
          const vkp = vt[rp + k] as number;
          const vkq = vt[rq + k] as number;
          vt[rp + k] = c * vkp - s * vkq;
          vt[rq + k] = s * vkp + c * vkq;
        }
      }
    }
    if (!rotated) break;
  }
  const d = allocArray("float64", n);
  for (let i = 0; i < n; i++) d[i] = m[i * n + i] as number;
  // vt's rows are the eigenvectors; sorted() wants them as columns.
  const z = allocArray("float64", n * n);
  for (let i = 0; i < n; i++) for (let r = 0; r < n; r++) z[r * n + i] = vt[i * n + r] as number;
  return sorted(d, z, n);
}

/**
 * Householder tridiagonalisation Qᵀ A Q = T of the upper triangle of `m` (overwritten), then implicit
 * QL on T with the rotations accumulated into Q. Returns null if QL does not converge.
 */
function tridiagonalQL(m: Float64Array, n: number): SymEig | null {
  const d = allocArray("float64", n);
  const e = allocArray("float64", n);
  const beta = allocArray("float64", n);
  tridiagonalise(m, n, d, e, beta, allocArray("float64", trdScratch(n)));
  const z = accumulateQ(m, n, beta);
  if (!implicitQL(d, e, z, n)) return null;
  return sorted(d, z, n);
}

/** Float64 scratch one divide-and-conquer solve takes besides its matrix (the layout of assembly/eigen.ts's symEigScratchSize). */
export function symEigScratch(n: number): number {
  return dcScratch(n) + 3 * n + n * n + Math.max(trdScratch(n), applyQScratch(n));
}

/**
 * The reference `linalg.symEigDC`: for each of `count` symmetric n × n matrices in `a` (matrix s at
 * a[s·n² …], already scaled so that its largest entry is in [½, 1); its upper triangle is read),
 * Householder tridiagonalisation Qᵀ A Q = T, the divide-and-conquer solver (`linalg.dcSolve`,
 * src/linalg/tridiagDC.ts) on T and Q applied to its eigenvectors, sorted by decreasing eigenvalue:
 * matrix s is overwritten by its eigenvectors (column i that of values[s·n + i]), values[s·n …] gets
 * its eigenvalues (descending), ok[s] = 1 — or 0 if QL failed to converge on a leaf (then matrix s
 * and its values are meaningless). `a`, `values`, `ok` must not be views of linear memory (the solve
 * allocates there).
 *
 * Each matrix's work arrays (a copy of it, T, the eigenvectors, the merges' and the reduction's scratch)
 * are carved from one `linalg.workspace` array: under the WebAssembly backends it lives in linear
 * memory, so the matrix core's GEMMs and the `linalg.*` kernels read it in place (no copies, and the
 * GEMMs may split over threads); under "js" it is an ordinary Float64Array. Nothing in the solve
 * allocates in linear memory, so the views stay valid until the workspace is released. The sorted
 * vectors are gathered (`linalg.gatherColumns`) into the copy of the matrix, free by then, and copied out.
 */
export function symEigDCReference(count: number, n: number, a: Float64Array, values: Float64Array, ok: Int32Array): void {
  const nn = n * n;
  const trd = trdScratch(n);
  const aq = applyQScratch(n);
  for (let s = 0; s < count; s++) {
    const ws = kernel("linalg.workspace", "float64", workspaceReference)(nn + symEigScratch(n));
    try {
      let o = 0;
      const take = (len: number): Float64Array => ws.subarray(o, (o += len));
      const m = take(nn);
      m.set(a.subarray(s * nn, (s + 1) * nn));
      const dc = take(dcScratch(n));
      const d = take(n);
      const e = take(n);
      const beta = take(n);
      const z = take(nn);
      const shared = take(Math.max(trd, aq));
      tridiagonalise(m, n, d, e, beta, shared);
      if (!kernel("linalg.dcSolve", "float64", tridiagonalEigDC)(d, e, n, z, dc)) {
        ok[s] = 0;
        continue;
      }
      applyQ(m, n, beta, z, false, shared);
      const order = descendingOrder(d, n);
      // e (n float64, free since the solve) holds the order as int32
      const ord = new Int32Array(e.buffer, e.byteOffset, n);
      for (let i = 0; i < n; i++) {
        ord[i] = order[i] as number;
        values[s * n + i] = d[order[i] as number] as number;
      }
      kernel("linalg.gatherColumns", "float64", gatherColumnsReference)(z, m, n, ord);
      a.set(m, s * nn);
      ok[s] = 1;
    } finally {
      kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
    }
  }
}

/** The reference `linalg.workspace`: a fresh zero-filled array on the JS heap. */
export function workspaceReference(length: number): Float64Array {
  return allocArray("float64", length);
}

/** The reference `linalg.releaseWorkspace`: nothing to do (the garbage collector takes the array). */
export function releaseWorkspaceReference(ws: Float64Array): void {
  void ws;
}

/** Rows per panel of the blocked tridiagonalisation. */
const TRD_NB = 32;
/** The blocked reduction stops when this many rows are left; the unblocked one finishes. */
const TRD_NX = 64;
/** Column-block width of the trailing update's upper-triangle GEMMs. */
const TRD_CB = 128;

/**
 * Reduce the symmetric matrix (upper triangle of row-major `m`) to tridiagonal form by n − 2
 * Householder reflections H_k = I − β_k v_k v_kᵀ acting on indices k+1 … n−1 (GVL Alg. 8.3.1):
 * H_k zeroes row k beyond the superdiagonal. On return d is the diagonal, e[k] = T[k, k+1], and
 * row k of m holds v_k in columns k+1 … n−1 (β_k in beta[k], 0 for an identity step).
 *
 * Large matrices are reduced TRD_NB rows at a time ({@link trdPanelReference}, LAPACK's dsytrd/dlatrd
 * scheme), with the trailing matrix updated once per panel by a rank-2·TRD_NB product through
 * src/linalg/gemm.ts; the last TRD_NX rows (or a small matrix) by {@link trdUnblockedReference}. Both loops run through
 * the kernel table (`linalg.trdPanel`, `linalg.trdUnblocked`; WebAssembly in assembly/linalg.ts); `scratch`
 * holds {@link trdScratch}(n) float64.
 */
function tridiagonalise(m: Float64Array, n: number, d: Float64Array, e: Float64Array, beta: Float64Array, scratch: Float64Array): void {
  let k0 = 0;
  const ld = 2 * TRD_NB;
  let o = 0;
  const take = (len: number): Float64Array => scratch.subarray(o, (o += len));
  const work = take(5 * n);
  if (n > TRD_NX + TRD_NB) {
    const vw = take(n * ld);
    const wv = take(n * ld);
    const v = take(n);
    const p = take(n);
    const y = take(ld);
    const panel = kernel("linalg.trdPanel", "float64", trdPanelReference);
    for (; n - k0 > TRD_NX + TRD_NB; k0 += TRD_NB) {
      panel(m, n, k0, TRD_NB, d, e, beta, vw, wv, v, p, y);
      // Trailing update of the upper triangle, rows/columns ≥ k1: A −= [V W]·[W V]ᵀ, one column block
      // at a time over the rows that reach its upper part (the diagonal blocks' lower parts are
      // updated too, but never read).
      const k1 = k0 + TRD_NB;
      for (let j0 = k1; j0 < n; j0 += TRD_CB) {
        const j1 = Math.min(n, j0 + TRD_CB);
        gemm(false, true, j1 - k1, j1 - j0, ld, -1, vw, k1 * ld, ld, wv, j0 * ld, ld, 1, m, k1 * n + j0, n);
      }
    }
  }
  kernel("linalg.trdUnblocked", "float64", trdUnblockedReference)(m, n, k0, d, e, beta, work);
}

/** Float64 scratch {@link tridiagonalise} needs for an n × n matrix. */
function trdScratch(n: number): number {
  return 5 * n + (n > TRD_NX + TRD_NB ? 2 * n * 2 * TRD_NB + 2 * n + 2 * TRD_NB : 0);
}

/**
 * The reference `linalg.trdPanel`: reduce rows k0 … k0+nb−1, for the caller's trailing update of rows
 * and columns ≥ k0+nb as A ← A − V Wᵀ − W Vᵀ (one GEMM, see {@link tridiagonalise}). Within the panel the trailing matrix is not updated: row k is brought up
 * to date just before its reflector is formed, and the product A v_k that the next w needs is taken
 * with the panel-start matrix and corrected by the panel's earlier reflectors, p = A v − V(Wᵀv) −
 * W(Vᵀv) (Dongarra, Hammarling & Sorensen, "Block reduction of matrices to condensed forms for
 * eigenvalue computations", J. Comput. Appl. Math. 27 (1989); LAPACK's dlatrd). V and W are kept as
 * the n × 2nb row-major `vw` = [V | W]; on return `wv` = [W | V] (rows ≥ k0+nb) for the trailing
 * product. v, p: n float64 each; y: 2nb.
 */
export function trdPanelReference(
  m: Float64Array, n: number, k0: number, nb: number, d: Float64Array, e: Float64Array, beta: Float64Array,
  vw: Float64Array, wv: Float64Array, v: Float64Array, p: Float64Array, y: Float64Array,
): void {
  const ld = 2 * nb;
  for (let i = 0; i < nb; i++) {
    const k = k0 + i;
    const rk = k * n;
    if (i > 0) {
      // Row k ← row k − Σ_l (V[k, l] W[:, l] + W[k, l] V[:, l]) over the panel's earlier reflectors.
      const ok = k * ld;
      for (let j = k; j < n; j++) {
        const oj = j * ld;
        let acc = 0;
        for (let l = 0; l < i; l++) acc += (vw[oj + l] as number) * (vw[ok + nb + l] as number) + (vw[oj + nb + l] as number) * (vw[ok + l] as number);
        m[rk + j] = (m[rk + j] as number) - acc;
      }
    }
    d[k] = m[rk + k] as number;
    const b = makeReflector(m, n, k, v, e);
    beta[k] = b;
    for (let j = 0; j <= k; j++) {
      vw[j * ld + i] = 0;
      vw[j * ld + nb + i] = 0;
    }
    if (b === 0) {
      for (let j = k + 1; j < n; j++) {
        vw[j * ld + i] = 0;
        vw[j * ld + nb + i] = 0;
      }
      continue;
    }
    for (let j = k + 1; j < n; j++) vw[j * ld + i] = v[j] as number;
    symv(m, n, k + 1, v, p);
    if (i > 0) {
      // y[0 … i) = Wᵀv, y[nb …] = Vᵀv over rows > k; then p −= V·(Wᵀv) + W·(Vᵀv).
      y.fill(0);
      for (let j = k + 1; j < n; j++) {
        const oj = j * ld;
        const vj = v[j] as number;
        for (let l = 0; l < i; l++) {
          y[l] = (y[l] as number) + (vw[oj + nb + l] as number) * vj;
          y[nb + l] = (y[nb + l] as number) + (vw[oj + l] as number) * vj;
        }
      }
      for (let j = k + 1; j < n; j++) {
        const oj = j * ld;
        let acc = 0;
        for (let l = 0; l < i; l++) acc += (vw[oj + l] as number) * (y[l] as number) + (vw[oj + nb + l] as number) * (y[nb + l] as number);
        p[j] = (p[j] as number) - acc;
      }
    }
    let vp = 0;
    for (let j = k + 1; j < n; j++) vp += (v[j] as number) * (p[j] as number);
    const kk = 0.5 * b * b * vp;
    for (let j = k + 1; j < n; j++) vw[j * ld + nb + i] = b * (p[j] as number) - kk * (v[j] as number);
  }
  // [W | V] over the trailing rows, the right operand of the caller's trailing GEMM.
  const k1 = k0 + nb;
  for (let j = k1; j < n; j++) {
    const o = j * ld;
    for (let l = 0; l < nb; l++) {
      wv[o + l] = vw[o + nb + l] as number;
      wv[o + nb + l] = vw[o + l] as number;
    }
  }
}

/**
 * The unblocked reduction of rows k0 … n−1 (the trailing matrix at k0 already up to date).
 * Each step applies A₂₂ ← A₂₂ − v wᵀ − w vᵀ with p = A₂₂ v, w = β p − (β² vᵀp / 2) v. The update of
 * step k and the product A₂₂' v_{k+1} of step k+1 are done in one pass over the trailing upper
 * triangle (each entry read and written once per step), with row k+1 updated first so that v_{k+1}
 * is known when the pass starts.
 */
export function trdUnblockedReference(m: Float64Array, n: number, k0: number, d: Float64Array, e: Float64Array, beta: Float64Array, work: Float64Array): void {
  work.fill(0, 0, 5 * n);
  let v = work.subarray(0, n);
  let p = work.subarray(n, 2 * n);
  let vn = work.subarray(2 * n, 3 * n);
  let pn = work.subarray(3 * n, 4 * n);
  const w = work.subarray(4 * n, 5 * n);
  let b = n - k0 >= 2 ? makeReflector(m, n, k0, v, e) : 0;
  beta[k0] = b;
  if (n - k0 > 2 && b !== 0) symv(m, n, k0 + 1, v, p);
  for (let k = k0; k < n - 2; k++) {
    d[k] = m[k * n + k] as number;
    const k1 = k + 1;
    if (b !== 0) {
      let vp = 0;
      for (let i = k1; i < n; i++) vp += (v[i] as number) * (p[i] as number);
      const kk = 0.5 * b * b * vp;
      for (let i = k1; i < n; i++) w[i] = b * (p[i] as number) - kk * (v[i] as number);
    } else w.fill(0);
    // Row k+1 first: it is the next reflector's source.
    const r1 = k1 * n;
    const v1 = v[k1] as number;
    const w1 = w[k1] as number;
    for (let j = k1; j < n; j++) m[r1 + j] = (m[r1 + j] as number) - v1 * (w[j] as number) - w1 * (v[j] as number);
    if (k === n - 3) {
      // The trailing 2 × 2 block: only its last diagonal entry is left to update.
      const vl = v[n - 1] as number;
      const wl = w[n - 1] as number;
      m[n * n - 1] = (m[n * n - 1] as number) - 2 * vl * wl;
      break;
    }
    const bn = makeReflector(m, n, k1, vn, e);
    beta[k1] = bn;
    fusedUpdate(m, n, k + 2, v, w, vn, pn);
    [v, vn] = [vn, v];
    [p, pn] = [pn, p];
    b = bn;
  }
  if (n >= 2) {
    d[n - 2] = m[(n - 2) * n + n - 2] as number;
    e[n - 2] = m[(n - 2) * n + n - 1] as number;
  }
  if (n >= 1) d[n - 1] = m[n * n - 1] as number;
}

/**
 * The reflector H = I − β v vᵀ with H x = α e₁ for x = row k of m, columns k+1 … n−1 (GVL Alg. 5.1.1,
 * with α = −sign(x₀)‖x‖ so v₀ = x₀ − α has no cancellation). x is first divided by max|x_j| so that
 * ‖x‖² can neither overflow nor underflow. Writes v (indices k+1 …) into `v` and into row k of m,
 * α into e[k]; returns β (0 when x is already a multiple of e₁: H = I, v = 0).
 */
function makeReflector(m: Float64Array, n: number, k: number, v: Float64Array, e: Float64Array): number {
  const r = k * n;
  const x0 = m[r + k + 1] as number;
  let tail = 0;
  for (let j = k + 2; j < n; j++) tail = Math.max(tail, Math.abs(m[r + j] as number));
  if (tail === 0) {
    e[k] = x0;
    v.fill(0);
    return 0;
  }
  const mx = Math.max(tail, Math.abs(x0));
  const inv = 1 / mx;
  let ss = 0;
  for (let j = k + 1; j < n; j++) {
    const t = (m[r + j] as number) * inv;
    v[j] = t;
    ss += t * t;
  }
  const nrm = Math.sqrt(ss);
  const u0 = v[k + 1] as number;
  const alpha = u0 >= 0 ? -nrm : nrm;
  e[k] = alpha * mx;
  v[k + 1] = u0 - alpha;
  // vᵀv = 2‖u‖(‖u‖ + |u₀|), β = 2 / vᵀv
  const b = 1 / (nrm * (nrm + Math.abs(u0)));
  for (let j = k + 1; j < n; j++) m[r + j] = v[j] as number;
  return b;
}

/**
 * p = A v over indices ≥ start, A given by its upper triangle in m. Each stored entry a_ij (i < j)
 * serves both p_i += a_ij v_j and p_j += a_ij v_i; four rows are taken at a time so that p_j is
 * loaded and stored once per four rows (the loop is bound by memory traffic, not arithmetic).
 */
function symv(m: Float64Array, n: number, start: number, v: Float64Array, p: Float64Array): void {
  p.fill(0, start, n);
  let i = start;
  for (; i + 4 <= n; i += 4) {
    const r0 = i * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    const v0 = v[i] as number;
    const v1 = v[i + 1] as number;
    const v2 = v[i + 2] as number;
    const v3 = v[i + 3] as number;
    // the 4 × 4 diagonal block (upper part)
    const a01 = m[r0 + i + 1] as number;
    const a02 = m[r0 + i + 2] as number;
    const a03 = m[r0 + i + 3] as number;
    const a12 = m[r1 + i + 2] as number;
    const a13 = m[r1 + i + 3] as number;
    const a23 = m[r2 + i + 3] as number;
    let s0 = (m[r0 + i] as number) * v0 + a01 * v1 + a02 * v2 + a03 * v3;
    let s1 = a01 * v0 + (m[r1 + i + 1] as number) * v1 + a12 * v2 + a13 * v3;
    let s2 = a02 * v0 + a12 * v1 + (m[r2 + i + 2] as number) * v2 + a23 * v3;
    let s3 = a03 * v0 + a13 * v1 + a23 * v2 + (m[r3 + i + 3] as number) * v3;
    for (let j = i + 4; j < n; j++) {
      const a0 = m[r0 + j] as number;
      const a1 = m[r1 + j] as number;
      const a2 = m[r2 + j] as number;
      const a3 = m[r3 + j] as number;
      const vj = v[j] as number;
      s0 += a0 * vj;
      s1 += a1 * vj;
      s2 += a2 * vj;
      s3 += a3 * vj;
      p[j] = (p[j] as number) + a0 * v0 + a1 * v1 + a2 * v2 + a3 * v3;
    }
    p[i] = (p[i] as number) + s0;
    p[i + 1] = (p[i + 1] as number) + s1;
    p[i + 2] = (p[i + 2] as number) + s2;
    p[i + 3] = (p[i + 3] as number) + s3;
  }
  for (; i < n; i++) {
    const ri = i * n;
    const vi = v[i] as number;
    let acc = (m[ri + i] as number) * vi;
    for (let j = i + 1; j < n; j++) {
      const a = m[ri + j] as number;
      acc += a * (v[j] as number);
      p[j] = (p[j] as number) + a * vi;
    }
    p[i] = (p[i] as number) + acc;
  }
}

/**
 * For rows i ≥ start of the upper triangle: A ← A − v wᵀ − w vᵀ, then pn = A vn (the next step's
 * product) from the updated entries, in the same pass.
 */
function fusedUpdate(m: Float64Array, n: number, start: number, v: Float64Array, w: Float64Array, vn: Float64Array, pn: Float64Array): void {
  pn.fill(0, start, n);
  for (let i = start; i < n; i++) {
    const ri = i * n;
    const vi = v[i] as number;
    const wi = w[i] as number;
    const vni = vn[i] as number;
    const aii = (m[ri + i] as number) - 2 * vi * wi;
    m[ri + i] = aii;
    let acc = aii * vni;
    for (let j = i + 1; j < n; j++) {
      const a = (m[ri + j] as number) - vi * (w[j] as number) - wi * (v[j] as number);
      m[ri + j] = a;
      acc += a * (vn[j] as number);
      pn[j] = (pn[j] as number) + a * vni;
    }
    pn[i] = (pn[i] as number) + acc;
  }
}

/** Reflectors per block of the blocked Q accumulation. */
const NB = 32;

/**
 * Q = H_0 H_1 ⋯ H_{n−3} (so that A = Q T Qᵀ), formed by applying the reflectors to the identity: see
 * {@link applyQ}. Columns 0 … k0 of the identity are untouched by the reflectors k0 … (they act on
 * rows > k0), so each block only updates the trailing columns.
 */
function accumulateQ(m: Float64Array, n: number, beta: Float64Array): Float64Array {
  const q = allocArray("float64", n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  applyQ(m, n, beta, q, true, allocArray("float64", applyQScratch(n)));
  return q;
}

/**
 * z ← Q z for the row-major n × n `z`, Q = H_0 H_1 ⋯ H_{n−3} from {@link tridiagonalise}: the
 * reflectors are applied right to left, NB at a time in the compact WY form H_k0 ⋯ H_k1−1 = I − V T Vᵀ
 * (Schreiber & Van Loan, "A storage-efficient WY representation for products of Householder
 * transformations", SIAM J. Sci. Stat. Comput. 1989; LAPACK's dlarft/dlarfb/dormtr):
 * Z₂ ← Z₂ − V (T (Vᵀ Z₂)), two GEMMs per block. With `identity` (z = I on entry) only the columns
 * the block can have made nonzero are updated.
 */
function applyQ(m: Float64Array, n: number, beta: Float64Array, q: Float64Array, identity: boolean, scratch: Float64Array): void {
  const nRef = n - 2; // reflectors 0 … n−3
  if (nRef <= 0) return;
  let o = 0;
  const take = (len: number): Float64Array => scratch.subarray(o, (o += len));
  const vt = take(NB * n);
  const t = take(NB * NB);
  const w = take(NB * n);
  const tw = take(NB * n);
  const lastStart = Math.floor((nRef - 1) / NB) * NB;
  const wy = kernel("linalg.wy", "float64", wyReference);
  for (let k0 = lastStart; k0 >= 0; k0 -= NB) {
    const nb = Math.min(NB, nRef - k0);
    const s = k0 + 1;
    const rows = n - s;
    const c0 = identity ? s : 0;
    const cols = n - c0;
    // Vᵀ (nb × rows) and the triangular factor T (nb × nb, row stride NB): see wyReference
    wy(m, n, k0, nb, beta, vt, t, NB);
    // W = Vᵀ Z₂ (nb × cols), TW = T W, Z₂ −= V TW
    gemm(false, false, nb, cols, rows, 1, vt, 0, rows, q, s * n + c0, n, 0, w, 0, cols);
    gemm(false, false, nb, cols, nb, 1, t, 0, NB, w, 0, cols, 0, tw, 0, cols);
    gemm(true, false, rows, cols, nb, -1, vt, 0, rows, tw, 0, cols, 1, q, s * n + c0, n);
  }
}

/**
 * The reference `linalg.wy`: the compact WY form H_k0 ⋯ H_k0+nb−1 = I − V T Vᵀ of nb reflectors of
 * {@link tridiagonalise} (LAPACK's dlarft, forward, column-wise; Schreiber & Van Loan 1989). Writes
 * Vᵀ (nb × rows, rows = n − k0 − 1) into `vt`: row j = v_{k0+j} over global indices k0+1 …, zero
 * before its first entry k0+1+j (read from row k0+j of m); and the upper triangular T into `t` (row
 * stride ldt, zero below the diagonal): T_jj = β_j, T[0:j, j] = −β_j·T[0:j, 0:j]·g with g_l = v_lᵀv_j,
 * each g_l a sequential dot product over the rows where v_j is nonzero (the WebAssembly kernel
 * computes the same bits). While column j is formed, g is kept in row j of t, below the diagonal.
 */
export function wyReference(m: Float64Array, n: number, k0: number, nb: number, beta: Float64Array, vt: Float64Array, t: Float64Array, ldt: number): void {
  const s = k0 + 1;
  const rows = n - s;
  for (let j = 0; j < nb; j++) {
    const o = j * rows;
    vt.fill(0, o, o + j);
    const src = (k0 + j) * n + s;
    for (let r = j; r < rows; r++) vt[o + r] = m[src + r] as number;
  }
  for (let i = 0; i < nb; i++) t.fill(0, i * ldt, i * ldt + nb);
  for (let j = 0; j < nb; j++) {
    const bj = beta[k0 + j] as number;
    const oj = j * rows;
    const gj = j * ldt;
    for (let l = 0; l < j; l++) {
      const ol = l * rows;
      let acc = 0;
      for (let r = j; r < rows; r++) acc += (vt[ol + r] as number) * (vt[oj + r] as number);
      t[gj + l] = acc;
    }
    for (let i = 0; i < j; i++) {
      let acc = 0;
      for (let l = i; l < j; l++) acc += (t[i * ldt + l] as number) * (t[gj + l] as number);
      t[i * ldt + j] = -bj * acc;
    }
    t.fill(0, gj, gj + j);
    t[gj + j] = bj;
  }
}

/** Float64 scratch {@link applyQ} needs for an n × n matrix. */
function applyQScratch(n: number): number {
  return 3 * NB * n + NB * NB;
}
