// The bilinear family's elementwise passes (src/backends/wasm/bilinear.ts; TypeScript references
// postForward / postBackward in src/kernels/bilinear.ts): signed square root + L2 normalisation of
// float32 rows and its backward, over `rows` contiguous rows of `dim` entries.
//
// Per entry the arithmetic is the reference's: u = sign(v)·√|v| rounded to float32 (f32 sqrt of a
// float32 is the correctly rounded √, as fround(Math.sqrt(v)) is), z = f32(u·(1/n)) with the product in
// float64, and in the backward f32((dz·(1/n) − u·c)·(0.5/√(|v| + ε))) in float64. Only the row sums
// (Σu², Σu·dz, float64) are added in another order in the SIMD build: four float64 partial sums
// (lanes i mod 4) added at the end; the scalar build sums sequentially, as the reference.

import { ldd, ldf, std, stf } from "./util";

/** Σ_k x[k]² over one row, float64 (SIMD: partial sums by k mod 4, then (s0 + s2) + (s1 + s3)). */
function sumSquares(x: usize, dim: i32): f64 {
  let k = 0;
  let s = 0.0;
  if (ASC_FEATURE_SIMD) {
    let a = f64x2.splat(0);
    let b = f64x2.splat(0);
    for (; k + 4 <= dim; k += 4) {
      const v = v128.load(x + ((<usize>k) << 2));
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
      a = f64x2.add(a, f64x2.mul(lo, lo));
      b = f64x2.add(b, f64x2.mul(hi, hi));
    }
    const t = f64x2.add(a, b);
    s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  }
  for (; k < dim; k++) {
    const y = <f64>ldf(x, k);
    s += y * y;
  }
  return s;
}

/** Σ_k x[k]·y[k] over one row, float64, in {@link sumSquares}' order. */
function sumProducts(x: usize, y: usize, dim: i32): f64 {
  let k = 0;
  let s = 0.0;
  if (ASC_FEATURE_SIMD) {
    let a = f64x2.splat(0);
    let b = f64x2.splat(0);
    for (; k + 4 <= dim; k += 4) {
      const q = (<usize>k) << 2;
      const v = v128.load(x + q);
      const w = v128.load(y + q);
      a = f64x2.add(a, f64x2.mul(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(w)));
      b = f64x2.add(b, f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), f64x2.promote_low_f32x4(v128.shuffle<f32>(w, w, 2, 3, 0, 1))));
    }
    const t = f64x2.add(a, b);
    s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  }
  for (; k < dim; k++) s += <f64>ldf(x, k) * <f64>ldf(y, k);
  return s;
}

/**
 * Rows [0, rows) of v (float32, `dim` apart): u = sign(v)√|v| if `signedSqrt` (else u = v), norms[r] =
 * √(Σu² + l2Eps) if `l2` (else 1), z = u·(1/norms[r]). The reference's postForward for stride 1.
 */
export function postForward32(v: usize, u: usize, z: usize, norms: usize, rows: i32, dim: i32, signedSqrt: i32, l2: i32, l2Eps: f64): void {
  const row = (<usize>dim) << 2;
  for (let r = 0; r < rows; r++) {
    const vr = v + <usize>r * row;
    const ur = u + <usize>r * row;
    const zr = z + <usize>r * row;
    let k = 0;
    if (ASC_FEATURE_SIMD) {
      const sign = i32x4.splat(0x80000000);
      for (; k + 4 <= dim; k += 4) {
        const q = (<usize>k) << 2;
        const x = v128.load(vr + q);
        const y = signedSqrt ? v128.or(f32x4.sqrt(f32x4.abs(x)), v128.and(x, sign)) : x;
        v128.store(ur + q, y);
      }
    }
    for (; k < dim; k++) {
      const x = ldf(vr, k);
      stf(ur, k, signedSqrt ? (x < 0 ? -Mathf.sqrt(-x) : Mathf.sqrt(x)) : x);
    }
    const n = l2 ? Math.sqrt(sumSquares(ur, dim) + l2Eps) : 1.0;
    std(norms, r, n);
    const inv = 1 / n;
    k = 0;
    if (ASC_FEATURE_SIMD) {
      const s = f64x2.splat(inv);
      for (; k + 4 <= dim; k += 4) {
        const q = (<usize>k) << 2;
        const y = v128.load(ur + q);
        const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(y), s));
        const hi = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(y, y, 2, 3, 0, 1)), s));
        v128.store(zr + q, v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
      }
    }
    for (; k < dim; k++) stf(zr, k, <f32>(<f64>ldf(ur, k) * inv));
  }
}

/**
 * The backward of {@link postForward32} (the reference's postBackward for stride 1): per row
 * c = (Σu·dz)/n³ (l2), dv = (dz/n − u·c)·0.5/√(|v| + sqrtEps) (the last factor if `signedSqrt`).
 */
export function postBackward32(v: usize, u: usize, norms: usize, dz: usize, dv: usize, rows: i32, dim: i32, signedSqrt: i32, l2: i32, sqrtEps: f64): void {
  const row = (<usize>dim) << 2;
  for (let r = 0; r < rows; r++) {
    const vr = v + <usize>r * row;
    const ur = u + <usize>r * row;
    const gr = dz + <usize>r * row;
    const dr = dv + <usize>r * row;
    const n = ldd(norms, r);
    const c = l2 ? sumProducts(ur, gr, dim) / (n * n * n) : 0.0;
    const inv = 1 / n;
    let k = 0;
    if (ASC_FEATURE_SIMD) {
      const vi = f64x2.splat(inv);
      const vc = f64x2.splat(c);
      const half = f64x2.splat(0.5);
      const eps = f64x2.splat(sqrtEps);
      for (; k + 4 <= dim; k += 4) {
        const q = (<usize>k) << 2;
        const g4 = v128.load(gr + q);
        const u4 = v128.load(ur + q);
        const v4 = v128.load(vr + q);
        let glo = f64x2.promote_low_f32x4(g4);
        let ghi = f64x2.promote_low_f32x4(v128.shuffle<f32>(g4, g4, 2, 3, 0, 1));
        if (l2) {
          glo = f64x2.sub(f64x2.mul(glo, vi), f64x2.mul(f64x2.promote_low_f32x4(u4), vc));
          ghi = f64x2.sub(f64x2.mul(ghi, vi), f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(u4, u4, 2, 3, 0, 1)), vc));
        }
        if (signedSqrt) {
          const a = f32x4.abs(v4);
          const alo = f64x2.promote_low_f32x4(a);
          const ahi = f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 0, 1));
          glo = f64x2.mul(glo, f64x2.div(half, f64x2.sqrt(f64x2.add(alo, eps))));
          ghi = f64x2.mul(ghi, f64x2.div(half, f64x2.sqrt(f64x2.add(ahi, eps))));
        }
        v128.store(dr + q, v128.shuffle<f32>(f32x4.demote_f64x2_zero(glo), f32x4.demote_f64x2_zero(ghi), 0, 1, 4, 5));
      }
    }
    for (; k < dim; k++) {
      const gz = <f64>ldf(gr, k);
      let g = l2 ? gz * inv - <f64>ldf(ur, k) * c : gz;
      if (signedSqrt) g *= 0.5 / Math.sqrt(Math.abs(<f64>ldf(vr, k)) + sqrtEps);
      stf(dr, k, <f32>g);
    }
  }
}
