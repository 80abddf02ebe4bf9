/**
 * Dense float64 matrix helpers (row-major) for the second-order pooling ops, every product through
 * the matrix core ({@link gemm}, {@link syrk}). Square n × n unless stated; results are fresh arrays
 * from the allocator.
 */
import { allocArray } from "../tensor/alloc.js";
import { gemm, syrk } from "./gemm.js";

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
 */
export function spectralApply(u: Float64Array, f: Float64Array, n: number): Float64Array {
  const out = allocArray("float64", n * n);
  const cols: number[] = [];
  for (let k = 0; k < n; k++) if ((f[k] as number) !== 0) cols.push(k);
  const r = cols.length;
  if (r === 0) return out;
  // W = U[:, cols] (n × r), S = U[:, cols]·diag(f): out = S Wᵀ, computed as the upper triangle and mirrored.
  const w = allocArray("float64", n * r);
  const sc = allocArray("float64", n * r);
  for (let i = 0; i < n; i++) for (let t = 0; t < r; t++) {
    const k = cols[t] as number;
    const v = u[i * n + k] as number;
    w[i * r + t] = v;
    sc[i * r + t] = v * (f[k] as number);
  }
  gemm(false, true, n, n, r, 1, sc, 0, r, w, 0, r, 0, out, 0, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) out[i * n + j] = out[j * n + i] as number;
  return out;
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
 * Centre the rows of the d × m block of `x` starting at `offset`: Xc = X − row means. Returns Xc (float64).
 */
export function centredRows(x: ArrayLike<number>, offset: number, d: number, m: number): Float64Array {
  const xc = allocArray("float64", d * m);
  for (let i = 0; i < d; i++) {
    let mean = 0;
    for (let t = 0; t < m; t++) mean += x[offset + i * m + t] as number;
    mean /= m;
    for (let t = 0; t < m; t++) xc[i * m + t] = (x[offset + i * m + t] as number) - mean;
  }
  return xc;
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
