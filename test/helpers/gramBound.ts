/**
 * The first-order bound on the float32 products of the Gram route's backward (src/linalg/gramSpectral.ts,
 * gramSpectralBackwardF32) against the float64 products, entry by entry.
 *
 * gemmF32: P̂ = α·op(A)·op(B) + β·C with |P̂ − P| ≤ γ·|α|·|A|·|B| + u·|C_out| (β = 1), γ = (k_b + 2)·u,
 * u = 2⁻²⁴, k_b = min(k, 256), the operands' rounding to float32 included. With A1 = |Gs|·|Y|,
 * A2 = |Y|ᵀ·A1 and c = 2/√M:
 *   T̂ = Gs·Y + E1,            |E1| ≤ γ·A1
 *   Ĥ = Yᵀ·T̂ + E2,            |Ĥ − H| ≤ |Y|ᵀ|E1| + γ·|Y|ᵀ|T̂| ≤ (2γ + γ²)·A2
 *   fl(Ĥ ∘ Q), fl(T̂·Φ):       one more rounding each (u)
 *   T̂2 = T̂Φ + Y·(Ĥ ∘ Q):      |ΔT2| ≤ (3γ + 2u)·[A1·Φ + |Y|·(A2 ∘ |Q|)] + O(γ²)
 *   wo = c·T̂2·Vᵀ:              |Δwo| ≤ (4γ + 2u)·R,  R = c·[A1·Φ + |Y|·(A2 ∘ |Q|)]·|V|ᵀ, + O(γ²)
 *   dx = wo − row mean (float64), rounded to float32:
 *                              |Δdx_ij| ≤ (4γ + 2u)·(R_ij + mean_j R_ij) + 2u·|dx_ij|
 * The O(γ²) terms and the float64 reference's own error are covered by a factor 1.01.
 */
import type { GramFactor } from "../../src/linalg/gramSpectral.js";

export function gramF32Bound(fac: GramFactor, phi: Float64Array, q: Float64Array, gs: Float64Array, d: number, m: number, ref: ArrayLike<number>, refOff = 0): Float64Array {
  const u = 2 ** -24;
  const gamma = (Math.min(Math.max(d, m), 256) + 2) * u;
  const ay = Array.from(fac.y, Math.abs);
  const a1 = new Float64Array(d * m);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) {
    const g = Math.abs(gs[i * d + k] as number);
    for (let j = 0; j < m; j++) a1[i * m + j] = (a1[i * m + j] as number) + g * (ay[k * m + j] as number);
  }
  const a2q = new Float64Array(m * m);
  for (let k = 0; k < d; k++) for (let i = 0; i < m; i++) {
    const y = ay[k * m + i] as number;
    for (let j = 0; j < m; j++) a2q[i * m + j] = (a2q[i * m + j] as number) + y * (a1[k * m + j] as number);
  }
  for (let i = 0; i < m * m; i++) a2q[i] = (a2q[i] as number) * Math.abs(q[i] as number);
  const t = new Float64Array(d * m);
  for (let i = 0; i < d; i++) for (let j = 0; j < m; j++) {
    let s = (a1[i * m + j] as number) * Math.abs(phi[j] as number);
    for (let k = 0; k < m; k++) s += (ay[i * m + k] as number) * (a2q[k * m + j] as number);
    t[i * m + j] = s;
  }
  const c = 2 / Math.sqrt(m);
  const bound = new Float64Array(d * m);
  for (let i = 0; i < d; i++) {
    const r = new Float64Array(m);
    let mean = 0;
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += (t[i * m + k] as number) * Math.abs(fac.v[j * m + k] as number);
      r[j] = c * s;
      mean += c * s;
    }
    mean /= m;
    for (let j = 0; j < m; j++) bound[i * m + j] = 1.01 * ((4 * gamma + 2 * u) * ((r[j] as number) + mean) + 2 * u * Math.abs(ref[refOff + i * m + j] as number));
  }
  return bound;
}
