/**
 * Spectral functions of a covariance C = Z Zᵀ (Z = Xc/√M, D × M, Xc row-centred) computed through the
 * M × M Gram matrix G = ZᵀZ instead of C: for M < D the eigenproblem shrinks from D³ to M³ (C has rank
 * ≤ M − 1 and its nonzero eigenvalues are G's). With G = V Λ Vᵀ and Y = Z V (D × M; column i has
 * norm √λ_i), C's eigenpairs with λ_i > 0 are (λ_i, Y_i/√λ_i) and every other direction of C has
 * eigenvalue 0, so for a spectral function f with f(0) = f₀
 *
 *   f(C) = f₀·I + Y·diag(φ)·Yᵀ,   φ_i = f[λ_i, 0] = (f(λ_i) − f₀)/λ_i   (a divided difference).
 *
 * Backward (Daleckii–Krein on C's full eigenbasis, the null space's block collapsed through Y): for a
 * symmetric upstream Gs, the gradient S = dL/dC satisfies
 *
 *   S·Z = [Gs·Y·Φ + Y·(H ∘ Q)]·Vᵀ,   H = Yᵀ·Gs·Y,   Q_ij = f[λ_i, λ_j, 0]   (second divided differences),
 *
 * where the range block's P_ij = f[λ_i, λ_j] and the range × null block's φ_j combine, entry by entry,
 * into H_ij·(P_ij − φ_j)/λ_i = H_ij·Q_ij: no division by a small singular value is left. The op's
 * dXc = (2/√M)·S·Z. Cost per image: ½M²D (G) + eig(M) + M²D (Y) + ½D²r (the SYRK of the output, r
 * columns with φ ≠ 0) forward; D²M + ½M²D + 2M²D backward — against ½D²M + eig(D) + ½D²r and
 * 3D³ + D²M through C.
 */
import { allocArray } from "../tensor/alloc.js";
import { kernel } from "../kernels/registry.js";
import { releaseWorkspaceReference, symEig, workspaceReference } from "./eigen.js";
import { gemm, gemmBatched, gemmF32, gemmt, gemmtBatched, syrk } from "./gemm.js";
import { centreRowsInto, hadamardReference } from "./matrix.js";

/** The Gram factorisation of one image's covariance (see the file comment). */
export interface GramFactor {
  /** G's eigenvalues, descending (length M): C's nonzero ones, then (near-)zeros. */
  readonly values: Float64Array;
  /** V, M × M row-major: column i is the unit eigenvector of `values[i]`. */
  readonly v: Float64Array;
  /** Y = Z·V = Xc·V/√M, D × M row-major: column i has norm √λ_i. */
  readonly y: Float64Array;
}

/**
 * The Gram factorisation of C = (1/M)·Xc·Xcᵀ for the row-centred D × M `xc` (row-major): G = Xcᵀ·Xc/M
 * (SYRK), G's eigendecomposition ({@link symEig}, float64) and Y = Xc·V/√M. Null when G has a NaN or
 * ±∞ entry (a non-finite input, or |x| ≳ 10¹⁵⁴ overflowing the products).
 */
export function gramFactor(xc: Float64Array, d: number, m: number): GramFactor | null {
  const g = allocArray("float64", m * m);
  syrk(true, m, d, 1 / m, xc, 0, m, 0, g, 0, m);
  for (let i = 0; i < m * m; i++) if (!Number.isFinite(g[i] as number)) return null;
  const { values, vectors } = symEig(g, m);
  const y = allocArray("float64", d * m);
  gemm(false, false, d, m, m, 1 / Math.sqrt(m), xc, 0, m, vectors, 0, m, 0, y, 0, m);
  return { values, v: vectors, y };
}

/**
 * f(C) = f₀·I + Y·diag(φ)·Yᵀ (D × D, row-major, exactly symmetric) for φ ≥ 0: one SYRK of
 * W = Y[:, φ > 0]·diag(√φ) (upper-triangle tiles, mirrored), columns with φ_i = 0 left out.
 */
export function gramSpectralApply(fac: GramFactor, phi: Float64Array, f0: number, d: number, m: number): Float64Array {
  const cols: number[] = [];
  for (let k = 0; k < m; k++) if ((phi[k] as number) > 0) cols.push(k);
  const r = cols.length;
  const out = allocArray("float64", d * d);
  if (r > 0) {
    const w = allocArray("float64", d * r);
    const sq = cols.map((k) => Math.sqrt(phi[k] as number));
    const y = fac.y;
    for (let i = 0; i < d; i++) {
      const yo = i * m;
      const wo = i * r;
      for (let t = 0; t < r; t++) w[wo + t] = (y[yo + (cols[t] as number)] as number) * (sq[t] as number);
    }
    syrk(false, d, r, 1, w, 0, r, 0, out, 0, d);
  }
  if (f0 !== 0) for (let i = 0; i < d; i++) out[i * d + i] = (out[i * d + i] as number) + f0;
  return out;
}

/**
 * The data gradient through F = f(C), C = (1/M)·Xc·Xcᵀ, on the Gram route: writes
 * dX = (2/√M)·[Gs·Y·Φ + Y·(H ∘ Q)]·Vᵀ, H = Yᵀ·Gs·Y, followed by the centring's backward (each row minus
 * its mean, which the exact result already has as 0: it removes the rounding of the null direction),
 * into `out` from element `outOff` (D × M). Gs is the symmetric D × D upstream gradient, φ (length M)
 * and Q (M × M, symmetric) the first and second divided differences f[λ_i, 0], f[λ_i, λ_j, 0].
 *
 * Products: Gs·Y (D²M), Yᵀ·(Gs·Y) upper triangle only ({@link gemmt}, ½M²D), Y·(H ∘ Q) added into
 * Gs·Y·Φ (M²D), then ·Vᵀ (M²D), all float64, operands in one `linalg.workspace` array (linear memory
 * under the WebAssembly backends: read in place). `out` must be an array the workspace's allocation
 * cannot detach (a JS-heap one).
 */
export function gramSpectralBackward(
  fac: GramFactor, phi: Float64Array, q: Float64Array, gs: Float64Array, d: number, m: number, out: Float64Array | Float32Array, outOff: number,
): void {
  const dm = d * m;
  const mm = m * m;
  if (out instanceof Float32Array) {
    gramSpectralBackwardF32(fac, phi, q, gs, d, m, out, outOff);
    return;
  }
  const ws = kernel("linalg.workspace", "float64", workspaceReference)(3 * dm + 2 * mm + d * d + mm);
  try {
    let o = 0;
    const take = (len: number): Float64Array => ws.subarray(o, (o += len));
    const wy = take(dm);
    const t = take(dm);
    const wo = take(dm);
    const wv = take(mm);
    const h = take(mm);
    const wg = take(d * d);
    const wq = take(mm);
    wy.set(fac.y.subarray(0, dm));
    wv.set(fac.v.subarray(0, mm));
    wg.set(gs.subarray(0, d * d));
    wq.set(q.subarray(0, mm));
    // t = Gs·Y; h = Yᵀ·t (symmetric); h ∘= Q
    gemm(false, false, d, m, d, 1, wg, 0, d, wy, 0, m, 0, t, 0, m);
    gemmt(true, false, m, d, 1, wy, 0, m, t, 0, m, 0, h, 0, m);
    kernel("linalg.hadamard", "float64", hadamardReference)(h, wq, mm);
    // t = Gs·Y·Φ + Y·(H ∘ Q); wo = (2/√M)·t·Vᵀ
    scaleColumnsAt(t, 0, phi, 0, d, m);
    gemm(false, false, d, m, m, 1, wy, 0, m, h, 0, m, 1, t, 0, m);
    gemm(false, true, d, m, m, 2 / Math.sqrt(m), t, 0, m, wv, 0, m, 0, wo, 0, m);
    // the centring's backward: each row of dXc minus its mean
    centreRowsInto(wo, 0, d, m, out, outOff);
  } finally {
    kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
  }
}

/**
 * {@link gramSpectralBackward} for `count` problems at once, before the centring's backward: writes
 * W_b = (2/√M)·[Gs_b·Y_b·Φ_b + Y_b·(H_b ∘ Q_b)]·V_bᵀ into `wo` (problem b's D × M matrices at b·D·M, its
 * M × M ones at b·M², Gs_b at b·D², φ_b at b·M). The same products, each one batched GEMM over the
 * problems, so the same values bit for bit; a float32 `t`, `h`, `wo` take the float32 path
 * (gramSpectralBackwardF32's products, reading the float64 Y, V, Gs rounded to float32 as its float32
 * copies are). `t`, `h` are scratch. Nothing is allocated: when the arrays are views of linear memory
 * every product reads them in place. The caller centres each W_b's rows ({@link centreRowsInto}).
 */
export function gramSpectralBackwardBatched(
  count: number, d: number, m: number, phi: Float64Array, v: Float64Array, y: Float64Array, gs: Float64Array, q: Float64Array,
  t: Float64Array | Float32Array, h: Float64Array | Float32Array, wo: Float64Array | Float32Array,
): void {
  const dm = d * m;
  const mm = m * m;
  const dd = d * d;
  if (t instanceof Float32Array && h instanceof Float32Array && wo instanceof Float32Array) {
    gemmF32(count, false, false, d, m, d, 1, gs, 0, d, dd, y, 0, m, dm, 0, t, 0, m, dm, false);
    gemmF32(count, true, false, m, m, d, 1, y, 0, m, dm, t, 0, m, dm, 0, h, 0, m, mm, true);
    for (let i = 0; i < count * mm; i++) h[i] = (h[i] as number) * (q[i] as number);
    for (let b = 0; b < count; b++) scaleColumnsAt(t, b * dm, phi, b * m, d, m);
    gemmF32(count, false, false, d, m, m, 1, y, 0, m, dm, h, 0, m, mm, 1, t, 0, m, dm, false);
    gemmF32(count, false, true, d, m, m, 2 / Math.sqrt(m), t, 0, m, dm, v, 0, m, mm, 0, wo, 0, m, dm, false);
    return;
  }
  if (t instanceof Float32Array || h instanceof Float32Array || wo instanceof Float32Array) throw new TypeError("gramSpectralBackwardBatched: t, h, wo must share one dtype");
  gemmBatched(count, false, false, d, m, d, 1, gs, 0, d, dd, y, 0, m, dm, 0, t, 0, m, dm);
  gemmtBatched(count, true, false, m, d, 1, y, 0, m, dm, t, 0, m, dm, 0, h, 0, m, mm);
  kernel("linalg.hadamard", "float64", hadamardReference)(h, q, count * mm);
  for (let b = 0; b < count; b++) scaleColumnsAt(t, b * dm, phi, b * m, d, m);
  gemmBatched(count, false, false, d, m, m, 1, y, 0, m, dm, h, 0, m, mm, 1, t, 0, m, dm);
  gemmBatched(count, false, true, d, m, m, 2 / Math.sqrt(m), t, 0, m, dm, v, 0, m, mm, 0, wo, 0, m, dm);
}

/** t[to + i·m + j] ← t[to + i·m + j]·φ[po + j] for the d × m matrix at `to` (t·Φ, Φ = diag(φ)). */
function scaleColumnsAt(t: Float64Array | Float32Array, to: number, phi: Float64Array, po: number, d: number, m: number): void {
  for (let i = 0; i < d; i++) {
    const ro = to + i * m;
    for (let j = 0; j < m; j++) t[ro + j] = (t[ro + j] as number) * (phi[po + j] as number);
  }
}

/**
 * {@link gramSpectralBackward} for a float32 `out` (a float32 input's gradient): the same four products
 * in float32 arithmetic ({@link gemmF32}, twice the SIMD lanes; the operands rounded to float32 in a
 * float32 view of the workspace), H ∘ Q and the scaling by Φ rounded once each, the centring in float64.
 * With γ = (min(max(D, M), 256) + 2)·2⁻²⁴ (gemmF32's bound per product) and
 * R = (2/√M)·[|Gs|·|Y|·Φ + |Y|·((|Y|ᵀ·|Gs|·|Y|) ∘ |Q|)]·|V|ᵀ, the result differs from the float64
 * products' by at most (4γ + 2·2⁻²⁴)·(R_ij + mean_j R_ij) + 2⁻²³·|dx_ij| (first order; derivation and
 * check in test/linalg/gramSpectral.test.ts) — the float32 accumulation error PyTorch's float32
 * backward has. The divided differences stay float64: only the products are float32.
 */
function gramSpectralBackwardF32(
  fac: GramFactor, phi: Float64Array, q: Float64Array, gs: Float64Array, d: number, m: number, out: Float32Array, outOff: number,
): void {
  const dm = d * m;
  const mm = m * m;
  const len = 3 * dm + 2 * mm + d * d;
  const ws = kernel("linalg.workspace", "float64", workspaceReference)(Math.ceil(len / 2));
  try {
    const all = new Float32Array(ws.buffer, ws.byteOffset, len);
    let o = 0;
    const take = (n: number): Float32Array => all.subarray(o, (o += n));
    const wy = take(dm);
    const t = take(dm);
    const wo = take(dm);
    const wv = take(mm);
    const h = take(mm);
    const wg = take(d * d);
    wy.set(fac.y.subarray(0, dm));
    wv.set(fac.v.subarray(0, mm));
    wg.set(gs.subarray(0, d * d));
    gemmF32(1, false, false, d, m, d, 1, wg, 0, d, 0, wy, 0, m, 0, 0, t, 0, m, 0, false);
    gemmF32(1, true, false, m, m, d, 1, wy, 0, m, 0, t, 0, m, 0, 0, h, 0, m, 0, true);
    for (let i = 0; i < mm; i++) h[i] = (h[i] as number) * (q[i] as number);
    scaleColumnsAt(t, 0, phi, 0, d, m);
    gemmF32(1, false, false, d, m, m, 1, wy, 0, m, 0, h, 0, m, 0, 1, t, 0, m, 0, false);
    gemmF32(1, false, true, d, m, m, 2 / Math.sqrt(m), t, 0, m, 0, wv, 0, m, 0, 0, wo, 0, m, 0, false);
    // the centring's backward: each row of dXc minus its mean
    centreRowsInto(wo, 0, d, m, out, outOff);
  } finally {
    kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
  }
}

/**
 * Below this ratio λ/ε the log's divided differences use their Taylor series in λ/ε: the closed forms
 * divide by λ (0 at the centring's null direction) and cancel there.
 */
const LOG_SERIES = 0.01;

/**
 * φ_i = f[λ_i, 0] for f(λ) = log(max(λ, 0) + ε): log1p(λ/ε)/λ, at small λ/ε its series
 * (1/ε)·Σ_k (−1)^(k+1)·(λ/ε)^(k−1)/k (to x⁸ with x ≤ 0.01: error < 10⁻¹⁷ relative), 1/ε at λ ≤ 0.
 */
export function logGramPhi(values: Float64Array, eps: number, m: number): Float64Array {
  const phi = allocArray("float64", m);
  for (let i = 0; i < m; i++) phi[i] = logPhi(Math.max(values[i] as number, 0), eps);
  return phi;
}

function logPhi(a: number, eps: number): number {
  const x = a / eps;
  if (x > LOG_SERIES) return Math.log1p(x) / a;
  let s = 0;
  // Horner: s = c_1 + x·(c_2 + x·(c_3 + …)), c_k = (−1)^(k+1)/k
  for (let k = 9; k >= 1; k--) s = (k % 2 === 1 ? 1 : -1) / k + x * s;
  return s / eps;
}

/**
 * Q_ij = f[λ_i, λ_j, 0] for f(λ) = log(max(λ, 0) + ε), M × M symmetric. With a ≥ b the clamped pair:
 * (f[a, b] − f[b, 0])/a, dividing by the larger (f[a, b] in log1p form, as the dense path's
 * divided differences); when a/ε ≤ 0.01 the series ε⁻²·Σ_{k≥2} (−1)^(k+1)/k·h_(k−2)(a/ε, b/ε), h_n the
 * complete homogeneous polynomial of degree n in two variables (the second divided difference of λᵏ
 * at (a, b, 0)), to k = 11 (error < 10⁻¹⁸·ε⁻²).
 */
export function logGramQ(values: Float64Array, eps: number, m: number): Float64Array {
  const q = allocArray("float64", m * m);
  const phi = logGramPhi(values, eps, m);
  for (let i = 0; i < m; i++) {
    const li = Math.max(values[i] as number, 0);
    for (let j = i; j < m; j++) {
      const lj = Math.max(values[j] as number, 0);
      const a = Math.max(li, lj);
      const b = Math.min(li, lj);
      let v: number;
      if (a / eps <= LOG_SERIES) {
        const x = a / eps;
        const y = b / eps;
        let h = 1; // h_0
        let yn = 1;
        let s = -0.5;
        for (let k = 3; k <= 11; k++) {
          yn *= y;
          h = x * h + yn; // h_(k−2) = x·h_(k−3) + y^(k−2)
          s += ((k % 2 === 1 ? 1 : -1) / k) * h;
        }
        v = s / (eps * eps);
      } else {
        const ma = a + eps;
        const mb = b + eps;
        const delta = ma - mb;
        const pab = delta <= 1e-9 * ma ? 2 / (ma + mb) : Math.log1p(delta / mb) / delta;
        v = (pab - (phi[li >= lj ? j : i] as number)) / a;
      }
      q[i * m + j] = v;
      q[j * m + i] = v;
    }
  }
  return q;
}

/**
 * φ_i = f[λ_i, 0] for MPN-COV's truncated square root (f = √(λ + ε) on the `kept` leading eigenvalues,
 * 0 on the others and on C's null space): √(λ_i + ε)/λ_i for i < kept, else 0.
 */
export function sqrtGramPhi(values: Float64Array, kept: number, eps: number, m: number): Float64Array {
  const phi = allocArray("float64", m);
  for (let i = 0; i < kept; i++) phi[i] = Math.sqrt((values[i] as number) + eps) / (values[i] as number);
  return phi;
}

/**
 * Q_ij = f[λ_i, λ_j, 0] for the truncated square root, M × M symmetric, r = √(λ + ε): both kept
 * −(ε + r_i·r_j)/(λ_i·λ_j·(r_i + r_j)) (no cancellation); i kept, j dropped r_i/(λ_i·(λ_i − λ_j)) (the
 * dropped λ_j as computed, as the dense path's kept × dropped divided difference); both dropped 0.
 * Divisions in sequence, so λ ~ 10¹⁶⁰ or 10⁻¹⁶⁰ does not overflow an intermediate.
 */
export function sqrtGramQ(values: Float64Array, kept: number, eps: number, m: number): Float64Array {
  const q = allocArray("float64", m * m);
  const r = allocArray("float64", kept);
  for (let i = 0; i < kept; i++) r[i] = Math.sqrt((values[i] as number) + eps);
  for (let i = 0; i < kept; i++) {
    const li = values[i] as number;
    const ri = r[i] as number;
    for (let j = i; j < kept; j++) {
      const rj = r[j] as number;
      const v = -((eps + ri * rj) / (ri + rj)) / li / (values[j] as number);
      q[i * m + j] = v;
      q[j * m + i] = v;
    }
    for (let j = kept; j < m; j++) {
      const v = ri / li / (li - (values[j] as number));
      q[i * m + j] = v;
      q[j * m + i] = v;
    }
  }
  return q;
}
