/**
 * Divide-and-conquer eigensolver for a symmetric tridiagonal matrix T (diagonal d, off-diagonal e),
 * float64: Cuppen, "A divide and conquer method for the symmetric tridiagonal eigenproblem", Numer.
 * Math. 36 (1981), with the stable eigenvectors of Gu & Eisenstat, SIAM J. Matrix Anal. Appl. 16
 * (1995) (see src/linalg/secular.ts). The structure follows the description of LAPACK's dstedc /
 * dlaed0–dlaed4 (read to understand the method; this is not a translation).
 *
 * Divide: T = diag(T₁, T₂) + β(e_m e_{m+1}ᵀ + e_{m+1} e_mᵀ) with β = e[m]; writing the coupling as
 * |β|·v vᵀ with v = e_m + sign(β)·e_{m+1} and subtracting |β| from the two diagonal entries it touches,
 * T = diag(T₁', T₂') + |β| v vᵀ. Solve both halves recursively (implicit QL at the leaves), T_i' =
 * Q_i D_i Q_iᵀ, so T = Q (D + ρ z zᵀ) Qᵀ with Q = diag(Q₁, Q₂), z = Qᵀv/√2 (the last row of Q₁ and
 * ±the first row of Q₂) and ρ = 2|β|.
 *
 * Conquer (the merge): sort D; deflate (a) every i with ρ|z_i| ≤ tol — d_i is then an eigenvalue and
 * column i of Q its vector — and (b) pairs of nearly equal d_i, d_j, by a Givens rotation that zeroes
 * z_i when the off-diagonal it creates, |(d_j − d_i)·c·s|, is ≤ tol (tol = 8ε·max(|d|max, ρ), the
 * size of a perturbation backward stability allows); solve the secular equation for the K remaining
 * poles; form the eigenvectors U (K × K) of the small problem and the new vectors Q·U as matrix
 * products through src/linalg/gemm.ts. Q's columns are of three kinds: nonzero only in the top n₁
 * rows (from Q₁), only in the bottom n₂ rows (from Q₂), or in both (mixed by a deflating rotation).
 * Ordering them top-only, mixed, bottom-only makes the product two GEMMs of n₁ × (k₁+k₂) and
 * n₂ × (k₂+k₃) blocks instead of one n × K, about half the work (as dlaed3 does).
 *
 * Before dividing, T is split wherever |e_i| ≤ ε·√|d_i|·√|d_{i+1}| (dstedc's test), and every
 * unreduced block is solved on its own; blocks of at most {@link DC_LEAF} rows go to QL.
 */
import { allocArray } from "../tensor/alloc.js";
import { gemm } from "./gemm.js";
import { kernel } from "../kernels/registry.js";
import { secularSolveReference } from "./secular.js";
import { pythag, qlIterationLimit, qlReference } from "./tridiagQL.js";

const EPS = 2 ** -53;
/**
 * Subproblems up to this size are solved by implicit QL (LAPACK's SMLSIZ is 25). QL's rotations run in
 * TypeScript on the leaf's vectors (~6·len³ flops), the merges mostly in GEMMs: 16 measured faster than
 * 32 (the size up to which QL alone beats divide and conquer on whole matrices, QL_MAX_DIM in
 * src/linalg/eigen.ts) — symEig CPU time, interleaved, loaded 2-core machine: n = 64 0.46 → 0.31 ms,
 * n = 256 9.2 → 8.5 ms, n = 512 55 → 52 ms; 8 was no faster than 16.
 */
export const DC_LEAF = 16;

/**
 * Counters of what the merges did since the last reset (diagnostics for tests and benchmarks: they
 * show that a case really exercised a deflation path). Not part of the public API.
 */
export const dcStats = { merges: 0, smallZ: 0, rotations: 0, secularRoots: 0 };

/** Reset {@link dcStats}. */
export function resetDCStats(): void {
  dcStats.merges = 0;
  dcStats.smallZ = 0;
  dcStats.rotations = 0;
  dcStats.secularRoots = 0;
}

/** Scratch shared by all merges of one solve (sized for the whole matrix, allocated once). */
interface Work {
  readonly nTotal: number;
  readonly dd: Float64Array;
  readonly zz: Float64Array;
  readonly dk: Float64Array;
  readonly zk: Float64Array;
  readonly tau: Float64Array;
  readonly del: Float64Array;
  readonly zhat: Float64Array;
  readonly origin: Int32Array;
  readonly pos: Int32Array;
  readonly kind: Int8Array;
  readonly order: Int32Array;
  readonly nd: Int32Array;
  readonly df: Int32Array;
  /** Q's non-deflated columns, packed: top rows (n₁ × (k₁+k₂)) then bottom rows (n₂ × (k₂+k₃)). */
  readonly q: Float64Array;
  /** The small problem's eigenvectors, one per row. */
  readonly u: Float64Array;
  /** Q's deflated columns (n × #deflated). */
  readonly defl: Float64Array;
}

/**
 * Float64 scratch {@link tridiagonalEigDC} takes for an n × n problem when given it (its merges' work
 * arrays): the layout of the WebAssembly kernel `linalg.dcSolve` (assembly/eigen.ts: 2 for its merge
 * counters, 7n float64 and seven int32 arrays, three n × n blocks), of which this reference uses 9n + 3n².
 */
export function dcScratch(n: number): number {
  return 2 + 11 * n + (n <= DC_LEAF ? 0 : 3 * n * n);
}

/**
 * All eigenpairs of the n × n symmetric tridiagonal (d, e) (e[i] couples d[i] and d[i+1]; e[n−1]
 * unused): on return d holds the eigenvalues (in no particular order) and column i of the row-major
 * n × n `z` (overwritten) the unit eigenvector of d[i]. d and e are overwritten. Returns false if
 * QL fails to converge on a leaf. `scratch` (≥ {@link dcScratch}(n) float64, contents ignored) holds
 * the merges' work arrays; without it they are allocated.
 */
export function tridiagonalEigDC(d: Float64Array, e: Float64Array, n: number, z: Float64Array, scratch?: Float64Array): boolean {
  z.fill(0, 0, n * n);
  if (n === 0) return true;
  const ws = scratch ?? allocArray("float64", dcScratch(n));
  let o = 0;
  const take = (len: number): Float64Array => ws.subarray(o, (o += len));
  const big = n <= DC_LEAF ? 0 : n * n;
  // n float64 holding the int32 origin and pos (in linear memory with the rest, for `linalg.secular`)
  const ints = take(n);
  const ints2 = take(n);
  const w: Work = {
    nTotal: n,
    dd: take(n),
    zz: take(n),
    dk: take(n),
    zk: take(n),
    tau: take(n),
    del: take(n),
    zhat: take(n),
    origin: new Int32Array(ints.buffer, ints.byteOffset, n),
    pos: new Int32Array(ints.buffer, ints.byteOffset + 4 * n, n),
    kind: new Int8Array(n),
    order: new Int32Array(n),
    nd: new Int32Array(ints2.buffer, ints2.byteOffset, n),
    df: new Int32Array(ints2.buffer, ints2.byteOffset + 4 * n, n),
    q: take(big),
    u: take(big),
    defl: take(big),
  };
  let start = 0;
  for (let i = 0; i < n; i++) {
    const ei = i < n - 1 ? Math.abs(e[i] as number) : 0;
    if (i < n - 1 && ei > EPS * Math.sqrt(Math.abs(d[i] as number)) * Math.sqrt(Math.abs(d[i + 1] as number))) continue;
    // rows start … i form an unreduced block
    if (i < n - 1) e[i] = 0;
    if (!solveBlock(d, e, start, i + 1 - start, z, w)) return false;
    start = i + 1;
  }
  return true;
}

/** Eigenpairs of the unreduced block at rows lo … lo+len−1 into the same block of z. */
function solveBlock(d: Float64Array, e: Float64Array, lo: number, len: number, z: Float64Array, w: Work): boolean {
  const ld = w.nTotal;
  if (len <= DC_LEAF) {
    // QL on the leaf's diagonal block of z (still zero: nothing else writes it before), from the identity;
    // the merges' del and zhat (unused until the merges) hold one sweep's rotations.
    for (let i = 0; i < len; i++) z[(lo + i) * ld + lo + i] = 1;
    // e[lo+len−1] is the coupling to the next block, already taken by the caller: QL may clobber it.
    const ql = kernel("linalg.ql", "float64", qlReference);
    return ql(d.subarray(lo, lo + len), e.subarray(lo, lo + len), z.subarray(lo * ld + lo), len, ld, qlIterationLimit(len), w.del, w.zhat);
  }
  const n1 = len >> 1;
  const m = lo + n1 - 1;
  const beta = e[m] as number;
  const ab = Math.abs(beta);
  d[m] = (d[m] as number) - ab;
  d[m + 1] = (d[m + 1] as number) - ab;
  if (!solveBlock(d, e, lo, n1, z, w)) return false;
  if (!solveBlock(d, e, lo + n1, len - n1, z, w)) return false;
  merge(d, lo, n1, len, beta, z, w);
  return true;
}

/**
 * The reference `linalg.dcPack`: a merge's operands for its two products, from the n × n block z
 * (row stride ld; n = n1 + n2). For the K non-deflated columns (column nd[t] of the block goes to
 * component pos[t]; components < k1 are top-only, < k1 + k2 mixed, the rest bottom-only): the top
 * n1 rows of the top-only and mixed columns into q (n1 × (k1+k2), row-major), then the bottom n2 rows
 * of the mixed and bottom-only ones (n2 × (k − k1)) after them. The nDefl deflated columns df[…]
 * whole into defl (n × nDefl).
 */
export function dcPackReference(
  z: Float64Array, ld: number, n1: number, n2: number, k: number, k1: number, k2: number, nd: Int32Array, pos: Int32Array,
  q: Float64Array, df: Int32Array, nDefl: number, defl: Float64Array,
): void {
  const k12 = k1 + k2;
  const k23 = k - k1;
  const qb = n1 * k12;
  for (let t = 0; t < k; t++) {
    const j = nd[t] as number;
    const p = pos[t] as number;
    if (p < k12) for (let row = 0; row < n1; row++) q[row * k12 + p] = z[row * ld + j] as number;
    if (p >= k1) {
      const pc = p - k1;
      for (let row = 0; row < n2; row++) q[qb + row * k23 + pc] = z[(n1 + row) * ld + j] as number;
    }
  }
  const n = n1 + n2;
  for (let t = 0; t < nDefl; t++) {
    const j = df[t] as number;
    for (let row = 0; row < n; row++) defl[row * nDefl + t] = z[row * ld + j] as number;
  }
}

/** The reference `linalg.copyBlock`: dst[r·ldDst + c] = src[r·ldSrc + c] for r < rows, c < cols. */
export function copyBlockReference(src: Float64Array, ldSrc: number, dst: Float64Array, ldDst: number, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[r * ldDst + c] = src[r * ldSrc + c] as number;
}

/**
 * Merge two solved halves (rows lo … lo+n1−1 and lo+n1 … lo+n−1, eigenvalues in d, vectors in the
 * diagonal blocks of z) coupled by β into the eigenpairs of the whole block.
 */
function merge(d: Float64Array, lo: number, n1: number, n: number, beta: number, z: Float64Array, w: Work): void {
  const ld = w.nTotal;
  const n2 = n - n1;
  const { dd, zz, kind, order, nd, df } = w;
  const base = lo * ld + lo;
  const rho = 2 * Math.abs(beta);
  const sg = beta >= 0 ? Math.SQRT1_2 : -Math.SQRT1_2;
  // z = Qᵀv/√2: the last row of Q₁ and ±the first row of Q₂.
  const rLast = base + (n1 - 1) * ld;
  const rFirst = base + n1 * ld + n1;
  let dmax = 0;
  for (let i = 0; i < n; i++) {
    dd[i] = d[lo + i] as number;
    dmax = Math.max(dmax, Math.abs(dd[i] as number));
    order[i] = i;
    kind[i] = i < n1 ? 1 : 3;
  }
  for (let i = 0; i < n1; i++) zz[i] = (z[rLast + i] as number) * Math.SQRT1_2;
  for (let i = 0; i < n2; i++) zz[n1 + i] = (z[rFirst + i] as number) * sg;
  const ord = order.subarray(0, n).sort((a, b) => (dd[a] as number) - (dd[b] as number));
  const tol = 8 * EPS * Math.max(dmax, rho);

  // Deflation, in increasing order of d.
  let k = 0;
  let nDefl = 0;
  let prev = -1;
  for (let t = 0; t < n; t++) {
    const j = ord[t] as number;
    const zj = zz[j] as number;
    if (rho * Math.abs(zj) <= tol) {
      dcStats.smallZ++;
      df[nDefl++] = j;
      continue;
    }
    if (prev < 0) {
      prev = j;
      continue;
    }
    const zp = zz[prev] as number;
    const r = pythag(zp, zj);
    const c = zj / r;
    const s = -zp / r;
    if (Math.abs(((dd[j] as number) - (dd[prev] as number)) * c * s) <= tol) {
      // Rotate (prev, j) so that z_prev = 0: Q ← Q Gᵀ, D ← G D Gᵀ with the off-diagonal c·s·(d_j − d_prev) dropped.
      zz[j] = r;
      zz[prev] = 0;
      const dp = dd[prev] as number;
      const dj = dd[j] as number;
      dd[prev] = dp * c * c + dj * s * s;
      dd[j] = dp * s * s + dj * c * c;
      for (let row = 0, o = base; row < n; row++, o += ld) {
        const qp = z[o + prev] as number;
        const qj = z[o + j] as number;
        z[o + prev] = c * qp + s * qj;
        z[o + j] = c * qj - s * qp;
      }
      if (kind[prev] !== kind[j]) {
        kind[prev] = 2;
        kind[j] = 2;
      }
      dcStats.rotations++;
      df[nDefl++] = prev;
    } else nd[k++] = prev;
    prev = j;
  }
  if (prev >= 0) nd[k++] = prev;
  dcStats.merges++;
  dcStats.secularRoots += k;

  if (k === 0) {
    for (let i = 0; i < n; i++) d[lo + i] = dd[i] as number;
    return;
  }

  // The secular problem on the K non-deflated poles (increasing d).
  const { dk, zk, tau, del, zhat, origin, pos, q, u, defl } = w;
  let k1 = 0;
  let k2 = 0;
  for (let t = 0; t < k; t++) {
    const j = nd[t] as number;
    dk[t] = dd[j] as number;
    zk[t] = zz[j] as number;
    if (kind[j] === 1) k1++;
    else if (kind[j] === 2) k2++;
  }
  const k3 = k - k1 - k2;
  // Component order for the products: top-only, mixed, bottom-only.
  let c1 = 0;
  let c2 = k1;
  let c3 = k1 + k2;
  for (let t = 0; t < k; t++) {
    const kd = kind[nd[t] as number];
    pos[t] = kd === 1 ? c1++ : kd === 2 ? c2++ : c3++;
  }
  kernel("linalg.secular", "float64", secularSolveReference)(k, dk, zk, rho, origin, tau, del, u, zhat, pos);

  // Pack Q's columns: top rows of the top-only and mixed columns, bottom rows of the mixed and bottom-only ones.
  const k12 = k1 + k2;
  const k23 = k2 + k3;
  const qb = n1 * k12;
  kernel("linalg.dcPack", "float64", dcPackReference)(z.subarray(base), ld, n1, n2, k, k1, k2, nd, pos, q, df, nDefl, defl);
  // New vectors: top (n₁ × K) = Q_top · Uᵀ[0 … k₁₂), bottom (n₂ × K) = Q_bottom · Uᵀ[k₁ … K).
  gemm(false, true, n1, k, k12, 1, q, 0, k12, u, 0, k, 0, z, base, ld);
  gemm(false, true, n2, k, k23, 1, q, qb, k23, u, k1, k, 0, z, base + n1 * ld, ld);
  kernel("linalg.copyBlock", "float64", copyBlockReference)(defl, nDefl, z.subarray(base + k), ld, n, nDefl);
  for (let t = 0; t < k; t++) d[lo + t] = (dk[origin[t] as number] as number) + (tau[t] as number);
  for (let t = 0; t < nDefl; t++) d[lo + k + t] = dd[df[t] as number] as number;
}
