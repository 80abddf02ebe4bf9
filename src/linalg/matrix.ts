/**
 * Dense float64 matrix helpers (row-major) for the second-order pooling ops, every product through
 * the matrix core ({@link gemm}, {@link syrk}). Square n × n unless stated; results are fresh arrays
 * from the allocator.
 */
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray } from "../tensor/dtype.js";
import { kernel } from "../kernels/registry.js";
import { releaseWorkspaceReference, workspaceReference } from "./eigen.js";
import { gemm, gemmBatched, gemmt, gemmtBatched, syrk, syrkBatched } from "./gemm.js";

/** a · b. */
export function mm(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = allocArray("float64", n * n);
  gemm(false, false, n, n, n, 1, a, 0, n, b, 0, n, 0, out, 0, n);
  return out;
}

/** aᵀ · b. */
export function mmTN(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = allocArray("float64", n * n);
  gemm(true, false, n, n, n, 1, a, 0, n, b, 0, n, 0, out, 0, n);
  return out;
}

/** (a + aᵀ) / 2. */
export function sym(a: Float64Array, n: number): Float64Array {
  const out = allocArray("float64", n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = 0.5 * ((a[i * n + j] as number) + (a[j * n + i] as number));
  return out;
}

/** α·a + β·b (element-wise). */
export function axpby(alpha: number, a: Float64Array, beta: number, b: Float64Array): Float64Array {
  const out = allocArray("float64", a.length);
  for (let i = 0; i < a.length; i++) out[i] = alpha * (a[i] as number) + beta * (b[i] as number);
  return out;
}

/** s·a (element-wise). */
export function scaled(a: Float64Array, s: number): Float64Array {
  const out = allocArray("float64", a.length);
  for (let i = 0; i < a.length; i++) out[i] = s * (a[i] as number);
  return out;
}

/** s·I − a. */
export function scaledIdentityMinus(s: number, a: Float64Array, n: number): Float64Array {
  const out = allocArray("float64", n * n);
  for (let i = 0; i < n * n; i++) out[i] = -(a[i] as number);
  for (let i = 0; i < n; i++) out[i * n + i] = (out[i * n + i] as number) + s;
  return out;
}

/** <a, b>_F = Σ a_ij b_ij. */
export function frobDot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/**
 * U · diag(f) · Uᵀ for U n × n (columns = eigenvectors), exactly symmetric. Only the columns with
 * f_k ≠ 0 take part (the truncated square root and the Grassmann projector use a few of them).
 * Computed as S₊S₊ᵀ − S₋S₋ᵀ with S± = U[:, f ≷ 0]·diag(√|f|): two SYRKs (upper-triangle tiles
 * only, mirrored), half the multiply-adds of one GEMM with a scaled copy of U. Each entry's error
 * stays within a small multiple of n·ε·Σ_k |u_ik|·|f_k|·|u_jk|, as for the GEMM form.
 */
export function spectralApply(u: Float64Array, f: Float64Array, n: number): Float64Array {
  const out = allocArray("float64", n * n);
  let beta = 0;
  for (const sign of [1, -1]) {
    const cols: number[] = [];
    for (let k = 0; k < n; k++) if (sign * (f[k] as number) > 0) cols.push(k);
    const r = cols.length;
    if (r === 0) continue;
    const s = allocArray("float64", n * r);
    const sq = cols.map((k) => Math.sqrt(sign * (f[k] as number)));
    for (let i = 0; i < n; i++) {
      const ro = i * n;
      const so = i * r;
      for (let t = 0; t < r; t++) s[so + t] = (u[ro + (cols[t] as number)] as number) * (sq[t] as number);
    }
    syrk(false, n, r, sign, s, 0, r, beta, out, 0, n);
    beta = 1;
  }
  return out;
}

/**
 * {@link spectralApply} for `count` matrices at once: out[b·n² …] = U_b·diag(f_b)·U_bᵀ for
 * b < count (U_b = us[b], n × n, columns = eigenvectors; f_b = fs[b], n entries). The same
 * S₊S₊ᵀ − S₋S₋ᵀ form, as two batched SYRKs ({@link syrkBatched}) over every matrix: S₊ of matrix b holds
 * its columns with f_k > 0 in index order, zero-padded to P = the batch's largest count of them (likewise
 * S₋, Q columns); the padding adds exact zeros, so each entry is the sum {@link spectralApply} forms.
 * `s` is scratch of at least count·n·(P + Q) ≤ 2·count·n² float64; `out` (count·n², row-major) is
 * overwritten. Both may be views of linear memory (the SYRKs then read and write them in place): this
 * function allocates nothing there.
 */
export function spectralApplyBatched(count: number, n: number, us: readonly Float64Array[], fs: readonly Float64Array[], s: Float64Array, out: Float64Array): void {
  const nn = n * n;
  let pMax = 0;
  let qMax = 0;
  for (let b = 0; b < count; b++) {
    const f = fs[b] as Float64Array;
    let p = 0;
    let q = 0;
    for (let k = 0; k < n; k++) {
      const v = f[k] as number;
      if (v > 0) p++;
      else if (v < 0) q++;
    }
    if (p > pMax) pMax = p;
    if (q > qMax) qMax = q;
  }
  if (pMax === 0 && qMax === 0) {
    out.fill(0, 0, count * nn);
    return;
  }
  const sq = new Float64Array(n);
  const cols = new Int32Array(n);
  let beta = 0;
  let o = 0;
  for (const sign of [1, -1]) {
    const r = sign > 0 ? pMax : qMax;
    if (r === 0) continue;
    const base = o;
    for (let b = 0; b < count; b++) {
      const c = positiveRoots(fs[b] as Float64Array, sign, n, cols, sq);
      scaledColumnsInto(us[b] as Float64Array, 0, n, n, cols, sq, c, s, base + b * n * r, r);
    }
    syrkBatched(count, false, n, r, sign, s, base, r, n * r, beta, out, 0, n, nn);
    o += count * n * r;
    beta = 1;
  }
}

/**
 * The indices k < n with v = sign·f[k] > 0, in index order, into `cols`, and √v into `sq`; returns how
 * many there are (the columns of S₊ or S₋ in F = S₊S₊ᵀ − S₋S₋ᵀ).
 */
export function positiveRoots(f: Float64Array, sign: number, n: number, cols: Int32Array, sq: Float64Array): number {
  let c = 0;
  for (let k = 0; k < n; k++) {
    const v = sign * (f[k] as number);
    if (v > 0) {
      cols[c] = k;
      sq[c++] = Math.sqrt(v);
    }
  }
  return c;
}

/**
 * w[wo + i·r + t] = src[so + i·ld + cols[t]]·sq[t] for t < c, 0 for c ≤ t < r (i < rows): the
 * rows × r block src[:, cols]·diag(sq), zero-padded. The common case cols = 0, 1, …, c − 1 (all the
 * leading columns) reads src's rows contiguously.
 */
export function scaledColumnsInto(src: Float64Array, so: number, ld: number, rows: number, cols: Int32Array, sq: Float64Array, c: number, w: Float64Array, wo: number, r: number): void {
  let prefix = true;
  for (let t = 0; t < c; t++) if (cols[t] !== t) prefix = false;
  for (let i = 0; i < rows; i++) {
    const ro = so + i * ld;
    const o = wo + i * r;
    if (prefix) for (let t = 0; t < c; t++) w[o + t] = (src[ro + t] as number) * (sq[t] as number);
    else for (let t = 0; t < c; t++) w[o + t] = (src[ro + (cols[t] as number)] as number) * (sq[t] as number);
    for (let t = c; t < r; t++) w[o + t] = 0;
  }
}

/**
 * Daleckii–Krein: the gradient through F = U f(Λ) Uᵀ is dC = U (P ∘ (Uᵀ Gs U)) Uᵀ for a symmetric
 * upstream Gs, where P holds the divided differences of f (P_ii = f'(λ_i)).
 */
export function spectralBackward(u: Float64Array, p: Float64Array, gs: Float64Array, n: number): Float64Array {
  const b = mmTN(u, mm(gs, u, n), n);
  for (let i = 0; i < n * n; i++) b[i] = (b[i] as number) * (p[i] as number);
  // U · B · Uᵀ
  const ub = mm(u, b, n);
  const out = allocArray("float64", n * n);
  gemm(false, true, n, n, n, 1, ub, 0, n, u, 0, n, 0, out, 0, n);
  return out;
}

/**
 * The data gradient through F = f(s·X Xᵀ) = U f(Λ) Uᵀ in one pass: with B = P ∘ (Uᵀ Gs U) (Daleckii–Krein,
 * as {@link spectralBackward}) and dC = U B Uᵀ, writes s·(dC + dCᵀ)·X = 2s·dC·X (d × m, what
 * {@link gramBackward} gives for dC) into `out` from element `outOff`. U d × d (columns = eigenvectors),
 * P and Gs d × d symmetric, X d × m, all row-major.
 *
 * Both symmetric products (Uᵀ·(Gs U) and (U B)·Uᵀ) compute only their upper triangle ({@link gemmt}):
 * 3d³ + d²m multiply-adds instead of 4d³ + d²m, and dC is exactly symmetric. Every operand and
 * intermediate lives in one `linalg.workspace` array (linear memory under the WebAssembly backends:
 * the products read it in place, and its block is reused call after call instead of fresh JS-heap
 * arrays); `out` may be any array the allocation of the workspace cannot detach (a JS-heap one).
 *
 * Float64 throughout, also for a float32 `out`: B = P ∘ (…) amplifies any error of Uᵀ Gs U by max|P|
 * (1/ε for logm's dropped eigenvalues, 1/√λ for sqrtm's), and dX may be far smaller than the terms
 * summed into it, so float32 products ({@link gemmF32}) missed the float32 PyTorch fixtures'
 * tolerance (rank-deficient D = 5, M = 4, logm: |Δ| 1.9e-5 on 0.80).
 */
export function spectralGramBackward(
  u: Float64Array, p: Float64Array, gs: Float64Array, xm: Float64Array, d: number, m: number, s: number, out: Float64Array | Float32Array, outOff: number,
): void {
  const dd = d * d;
  const ws = kernel("linalg.workspace", "float64", workspaceReference)(5 * dd + 2 * d * m);
  try {
    let o = 0;
    const take = (len: number): Float64Array => ws.subarray(o, (o += len));
    const wu = take(dd);
    const t1 = take(dd);
    const t2 = take(dd);
    const t3 = take(dd);
    const wp = take(dd);
    const wx = take(d * m);
    const wo = take(d * m);
    wu.set(u.subarray(0, dd));
    t3.set(gs.subarray(0, dd));
    wx.set(xm.subarray(0, d * m));
    wp.set(p.subarray(0, dd));
    // t1 = Gs·U; t2 = Uᵀ·t1 (symmetric); t2 ∘= P
    gemm(false, false, d, d, d, 1, t3, 0, d, wu, 0, d, 0, t1, 0, d);
    gemmt(true, false, d, d, 1, wu, 0, d, t1, 0, d, 0, t2, 0, d);
    kernel("linalg.hadamard", "float64", hadamardReference)(t2, wp, dd);
    // t1 = U·B; t3 = t1·Uᵀ = dC (symmetric); wo = 2s·dC·X
    gemm(false, false, d, d, d, 1, wu, 0, d, t2, 0, d, 0, t1, 0, d);
    gemmt(false, true, d, d, 1, t1, 0, d, wu, 0, d, 0, t3, 0, d);
    gemm(false, false, d, m, d, 2 * s, t3, 0, d, wx, 0, m, 0, wo, 0, m);
    out.set(wo, outOff);
  } finally {
    kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
  }
}

/**
 * {@link spectralGramBackward} for `count` problems at once, each array a batch (problem b's d × d
 * matrices at b·d², its d × m ones at b·d·m, row-major): out_b = 2s·dC_b·X_b with
 * dC_b = U_b (P_b ∘ U_bᵀ Gs_b U_b) U_bᵀ — the same products, each one batched GEMM
 * ({@link gemmBatched}, {@link gemmtBatched}) over the problems, so the same values bit for bit. `gs` is
 * overwritten (dC on return), `t1`, `t2` are scratch (count·d² each). Nothing is allocated: when the
 * arrays are views of linear memory (a `linalg.workspace`, a tensor), every product reads them in place.
 */
export function spectralGramBackwardBatched(
  count: number, d: number, m: number, s: number, u: Float64Array, p: Float64Array, gs: Float64Array, x: Float64Array,
  t1: Float64Array, t2: Float64Array, out: Float64Array,
): void {
  const dd = d * d;
  // t1 = Gs·U; t2 = Uᵀ·t1 (symmetric); t2 ∘= P
  gemmBatched(count, false, false, d, d, d, 1, gs, 0, d, dd, u, 0, d, dd, 0, t1, 0, d, dd);
  gemmtBatched(count, true, false, d, d, 1, u, 0, d, dd, t1, 0, d, dd, 0, t2, 0, d, dd);
  kernel("linalg.hadamard", "float64", hadamardReference)(t2, p, count * dd);
  // t1 = U·B; gs = t1·Uᵀ = dC (symmetric); out = 2s·dC·X
  gemmBatched(count, false, false, d, d, d, 1, u, 0, d, dd, t2, 0, d, dd, 0, t1, 0, d, dd);
  gemmtBatched(count, false, true, d, d, 1, t1, 0, d, dd, u, 0, d, dd, 0, gs, 0, d, dd);
  gemmBatched(count, false, false, d, m, d, 2 * s, gs, 0, d, dd, x, 0, m, d * m, 0, out, 0, m, d * m);
}

/**
 * {@link gramBackward} for `count` problems at once: out_b = s·(G_b + G_bᵀ)·X_b (G_b d × d at b·d² of
 * `g`, X_b and out_b d × m at b·d·m), one batched GEMM; `gs` (count·d²) is scratch. The same values as
 * gramBackward per problem, bit for bit.
 */
export function gramBackwardBatched(count: number, d: number, m: number, s: number, g: Float64Array, x: Float64Array, gs: Float64Array, out: Float64Array): void {
  const dd = d * d;
  for (let b = 0; b < count; b++) {
    const o = b * dd;
    for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) gs[o + i * d + k] = (g[o + i * d + k] as number) + (g[o + k * d + i] as number);
  }
  gemmBatched(count, false, false, d, m, d, s, gs, 0, d, dd, x, 0, m, d * m, 0, out, 0, m, d * m);
}

/** The reference `linalg.hadamard`: a[i] ← a[i]·b[i] for i < len (the Daleckii–Krein P ∘ B). */
export function hadamardReference(a: Float64Array, b: Float64Array, len: number): void {
  for (let i = 0; i < len; i++) a[i] = (a[i] as number) * (b[i] as number);
}

/**
 * Centre the rows of the d × m block of `x` starting at `offset`: Xc = X − row means. Returns Xc (float64).
 * Each row's mean is the sequential float64 sum of its entries divided by m.
 */
export function centredRows(x: ArrayLike<number>, offset: number, d: number, m: number): Float64Array {
  const xc = allocArray("float64", d * m);
  centreInto(x, offset, d, m, xc, 0);
  return xc;
}

/**
 * {@link centredRows} written into `out` from element `outOff` (d × m, row-major) instead of a fresh
 * array: the same values.
 */
export function centreInto(x: ArrayLike<number>, offset: number, d: number, m: number, out: Float64Array, outOff: number): void {
  // one loop per array type: each loop's element reads then see one type (a loop over ArrayLike fed
  // both typed arrays costs several times more per element); the same sums in the same order throughout
  if (x instanceof Float32Array) centreF32(x, offset, d, m, out, outOff);
  else if (x instanceof Float64Array) centreF64(x, offset, d, m, out, outOff);
  else centreRowsInto(x, offset, d, m, out, outOff);
}

// Four rows at a time: four independent sums (each row's still sequential in t, so the same means);
// one row's running sum alone waits on every addition's latency.
function centreF32(x: Float32Array, offset: number, d: number, m: number, xc: Float64Array, xcOff: number): void {
  let i = 0;
  for (; i + 4 <= d; i += 4) {
    const r0 = offset + i * m;
    const r1 = r0 + m;
    const r2 = r1 + m;
    const r3 = r2 + m;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let t = 0; t < m; t++) {
      s0 += x[r0 + t] as number;
      s1 += x[r1 + t] as number;
      s2 += x[r2 + t] as number;
      s3 += x[r3 + t] as number;
    }
    s0 /= m;
    s1 /= m;
    s2 /= m;
    s3 /= m;
    const o = xcOff + i * m;
    for (let t = 0; t < m; t++) {
      xc[o + t] = (x[r0 + t] as number) - s0;
      xc[o + m + t] = (x[r1 + t] as number) - s1;
      xc[o + 2 * m + t] = (x[r2 + t] as number) - s2;
      xc[o + 3 * m + t] = (x[r3 + t] as number) - s3;
    }
  }
  centreRowsInto(x, offset + i * m, d - i, m, xc, xcOff + i * m);
}

function centreF64(x: Float64Array, offset: number, d: number, m: number, xc: Float64Array, xcOff: number): void {
  let i = 0;
  for (; i + 4 <= d; i += 4) {
    const r0 = offset + i * m;
    const r1 = r0 + m;
    const r2 = r1 + m;
    const r3 = r2 + m;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let t = 0; t < m; t++) {
      s0 += x[r0 + t] as number;
      s1 += x[r1 + t] as number;
      s2 += x[r2 + t] as number;
      s3 += x[r3 + t] as number;
    }
    s0 /= m;
    s1 /= m;
    s2 /= m;
    s3 /= m;
    const o = xcOff + i * m;
    for (let t = 0; t < m; t++) {
      xc[o + t] = (x[r0 + t] as number) - s0;
      xc[o + m + t] = (x[r1 + t] as number) - s1;
      xc[o + 2 * m + t] = (x[r2 + t] as number) - s2;
      xc[o + 3 * m + t] = (x[r3 + t] as number) - s3;
    }
  }
  centreRowsInto(x, offset + i * m, d - i, m, xc, xcOff + i * m);
}

/**
 * out[outOff + i·m + t] = x[offset + i·m + t] − mean_i for the `rows` × m block of `x`: each row's mean
 * the sequential float64 sum of its entries divided by m. The rows the four-at-a-time loops leave, other
 * array types, and the Gram route's centring backward (src/linalg/gramSpectral.ts).
 */
export function centreRowsInto(x: ArrayLike<number>, offset: number, rows: number, m: number, out: FloatArray, outOff: number): void {
  for (let i = 0; i < rows; i++) {
    const ro = offset + i * m;
    let mean = 0;
    for (let t = 0; t < m; t++) mean += x[ro + t] as number;
    mean /= m;
    for (let t = 0; t < m; t++) out[outOff + i * m + t] = (x[ro + t] as number) - mean;
  }
}

/** s · X Xᵀ for X d × m (symmetric by construction: the upper triangle is mirrored). */
export function gram(xm: Float64Array, d: number, m: number, s: number): Float64Array {
  const out = allocArray("float64", d * d);
  syrk(false, d, m, s, xm, 0, m, 0, out, 0, d);
  return out;
}

/** s · (G + Gᵀ) · X for G d × d and X d × m: the data gradient of s·X Xᵀ (d × m). */
export function gramBackward(g: Float64Array, xm: Float64Array, d: number, m: number, s: number): Float64Array {
  const gs = allocArray("float64", d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) gs[i * d + k] = (g[i * d + k] as number) + (g[k * d + i] as number);
  const out = allocArray("float64", d * m);
  gemm(false, false, d, m, d, s, gs, 0, d, xm, 0, m, 0, out, 0, m);
  return out;
}
