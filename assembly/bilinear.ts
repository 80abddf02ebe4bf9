// The bilinear family's elementwise passes (src/backends/wasm/bilinear.ts; TypeScript references
// postForward / postBackward in src/kernels/bilinear.ts): signed square root + L2 normalisation of
// float32 rows and its backward, over `rows` contiguous rows of `dim` entries.
//
// Per entry the arithmetic is the reference's: u = sign(v)·√|v| rounded to float32 (f32 sqrt of a
// float32 is the correctly rounded √, as fround(Math.sqrt(v)) is), z = f32(u·(1/n)) with the product in
// float64, and in the backward f32((dz·(1/n) − u·c)·(0.5/√(|v| + ε))) in float64. Only the row sums
// (Σu², Σu·dz, float64) are added in another order in the SIMD build: four float64 partial sums
// (lanes i mod 4) added at the end; the scalar build sums sequentially, as the reference.

import { exp4, expf32, ldd, ldf, std, stf } from "./util";

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

// ---- Low-rank bilinear (MLB) pooling, float32 (src/backends/wasm/bilinear.ts; reference mlbForward /
// mlbBackward in src/kernels/bilinear.ts). The projections U X, V Y are float32 GEMMs outside; these
// kernels do the per-location work on rows q = s·rank + r of the projections (image s, rank row r, l
// locations each). The kept σ values are float64 in the reference's layout: image s, location block
// [l0, l0 + lb) (blocks of `blk` locations) at s·rank·l + rank·l0, rank × lb row-major.


// tanh in float32: for |z| < 0.4 the Taylor series z − z³/3 + 2z⁵/15 − … through z¹³ (the next term is
// below 2·10⁻⁹ there, under 0.1 ulp of tanh z), Horner in z²; else sign(z)·(1 − e)/(1 + e) with e = e^(−2|z|)
// (the softmax exponential of util.ts, ≤ 1 ulp; e ≤ 0.45, so 1 − e has no cancellation), both on |z| with z's
// sign bit put back (tanh(−0) = −0). Measured against
// float64 Math.tanh (test/backends/wasm-bilinear.test.ts, "tanh accuracy"). NaN gives NaN, ±∞ gives ±1.
const T3: f32 = -0.3333333333333333;
const T5: f32 = 0.13333333333333333;
const T7: f32 = -0.05396825396825397;
const T9: f32 = 0.021869488536155203;
const T11: f32 = -0.008863235529902197;
const T13: f32 = 0.003592128036572481;
const T_SMALL: f32 = 0.4;

// @ts-ignore: decorator
@inline function tanh1(z: f32): f32 {
  const q = abs<f32>(z);
  let t: f32;
  if (q < T_SMALL) {
    const s = q * q;
    let p = T13 * s + T11;
    p = p * s + T9;
    p = p * s + T7;
    p = p * s + T5;
    p = p * s + T3;
    t = q + q * (s * p);
  } else {
    const e = expf32(<f32>-2 * q);
    t = (<f32>1 - e) / (<f32>1 + e);
  }
  return copysign<f32>(t, z);
}

// @ts-ignore: decorator
@inline function tanh4(z: v128): v128 {
  const q = f32x4.abs(z);
  const s = f32x4.mul(q, q);
  let p = f32x4.add(f32x4.mul(f32x4.splat(T13), s), f32x4.splat(T11));
  p = f32x4.add(f32x4.mul(p, s), f32x4.splat(T9));
  p = f32x4.add(f32x4.mul(p, s), f32x4.splat(T7));
  p = f32x4.add(f32x4.mul(p, s), f32x4.splat(T5));
  p = f32x4.add(f32x4.mul(p, s), f32x4.splat(T3));
  const small = f32x4.add(q, f32x4.mul(q, f32x4.mul(s, p)));
  const e = exp4(f32x4.mul(q, f32x4.splat(-2)));
  const one = f32x4.splat(1);
  const big = f32x4.div(f32x4.sub(one, e), f32x4.add(one, e));
  // NaN lanes: q < 0.4 is false, so the big branch: e and t are NaN; the sign bit is z's (tanh(−0) = −0)
  const t = v128.bitselect(small, big, f32x4.lt(q, f32x4.splat(T_SMALL)));
  return v128.or(t, v128.and(z, i32x4.splat(0x80000000)));
}

/** y[i] = tanh(x[i]) as the MLB kernels compute it (SIMD 4 at a time where built): the accuracy test's hook. */
export function tanhArray(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const q = (<usize>i) << 2;
      v128.store(y + q, tanh4(v128.load(x + q)));
    }
  }
  for (; i < n; i++) stf(y, i, tanh1(ldf(x, i)));
}

/** Element offset of (row q = s·rank + r, location t) in the kept σ layout. */
// @ts-ignore: decorator
@inline function keptAt(q: i32, rank: i32, l: i32, blk: i32, t0: i32): i32 {
  const s = q / rank;
  const r = q - s * rank;
  const l0 = (t0 / blk) * blk;
  const lb = min(blk, l - l0);
  return s * rank * l + rank * l0 + r * lb + (t0 - l0);
}

/** σ(z + b) in place over one row segment of n float32 (b added in float32); `act`: 1 tanh, 0 identity. */
function activate(z: usize, n: i32, b: f32, act: i32): void {
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    const vb = f32x4.splat(b);
    if (act) {
      for (; k + 4 <= n; k += 4) {
        const p = z + ((<usize>k) << 2);
        v128.store(p, tanh4(f32x4.add(v128.load(p), vb)));
      }
    } else {
      for (; k + 4 <= n; k += 4) {
        const p = z + ((<usize>k) << 2);
        v128.store(p, f32x4.add(v128.load(p), vb));
      }
    }
  }
  for (; k < n; k++) {
    const v = ldf(z, k) + b;
    stf(z, k, act ? tanh1(v) : v);
  }
}

/** f64 copies of n float32 values from x to y. */
function widen(x: usize, y: usize, n: i32): void {
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    for (; k + 4 <= n; k += 4) {
      const v = v128.load(x + ((<usize>k) << 2));
      const p = y + ((<usize>k) << 3);
      v128.store(p, f64x2.promote_low_f32x4(v));
      v128.store(p, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), 16);
    }
  }
  for (; k < n; k++) std(y, k, <f64>ldf(x, k));
}

/**
 * MLB forward's per-location work, rows q0 … q0 + rows − 1 (pointers za, zc, h at row q0; keepA, keepC,
 * bu, bv at their starts): a = σ(za + bu[r]), c = σ(zc + bv[r]) in place (float32), copied to the kept
 * arrays as float64, and h[q] = Σ_t a·c in float64 (SIMD: partial sums by t mod 4). hasBu / hasBv: 0 when
 * the bias is null.
 */
export function mlbHidden32(
  za: usize, zc: usize, h: usize, q0: i32, rows: i32, bu: usize, hasBu: i32, bv: usize, hasBv: i32,
  keepA: usize, keepC: usize, rank: i32, l: i32, blk: i32, act: i32,
): void {
  const row = (<usize>l) << 2;
  for (let i = 0; i < rows; i++) {
    const q = q0 + i;
    const r = q % rank;
    const a = za + <usize>i * row;
    const c = zc + <usize>i * row;
    activate(a, l, hasBu ? ldf(bu, r) : 0, act);
    activate(c, l, hasBv ? ldf(bv, r) : 0, act);
    for (let t0 = 0; t0 < l; t0 += blk) {
      const lb = min(blk, l - t0);
      const at = keptAt(q, rank, l, blk, t0);
      widen(a + ((<usize>t0) << 2), keepA + ((<usize>at) << 3), lb);
      widen(c + ((<usize>t0) << 2), keepC + ((<usize>at) << 3), lb);
    }
    std(h, i, sumProducts(a, c, l));
  }
}

/**
 * MLB backward's per-location work, rows q0 … (pointers zu, zv, dh, su, sv, hs at row q0; keepA, keepC at
 * their starts): with a, c the kept σ values and d = dh[q], zu = d·c·σ'(a), zv = d·a·σ'(c) (σ' = 1 − σ²
 * for tanh, 1 for the identity) in float64, stored as float32; su[q] = Σ zu, sv[q] = Σ zv, hs[q] = Σ a·c
 * (float64, sequential over t: the reference's order).
 */
export function mlbGrad32(
  zu: usize, zv: usize, dh: usize, su: usize, sv: usize, hs: usize, q0: i32, rows: i32,
  keepA: usize, keepC: usize, rank: i32, l: i32, blk: i32, act: i32,
): void {
  const row = (<usize>l) << 2;
  for (let i = 0; i < rows; i++) {
    const q = q0 + i;
    const u = zu + <usize>i * row;
    const v = zv + <usize>i * row;
    const d = ldd(dh, i);
    let s1 = 0.0;
    let s2 = 0.0;
    let s3 = 0.0;
    for (let t0 = 0; t0 < l; t0 += blk) {
      const lb = min(blk, l - t0);
      const at = keptAt(q, rank, l, blk, t0);
      const pa = keepA + ((<usize>at) << 3);
      const pc = keepC + ((<usize>at) << 3);
      for (let t = 0; t < lb; t++) {
        const ar = ldd(pa, t);
        const cr = ldd(pc, t);
        const x = d * cr * (act ? 1 - ar * ar : 1.0);
        const y = d * ar * (act ? 1 - cr * cr : 1.0);
        stf(u, t0 + t, <f32>x);
        stf(v, t0 + t, <f32>y);
        s1 += x;
        s2 += y;
        s3 += ar * cr;
      }
    }
    std(su, i, s1);
    std(sv, i, s2);
    std(hs, i, s3);
  }
}

/** dst[i] = f32(Σ_s src[s·stride + i]) for i < n, s < count (float64 sums, in s order). */
export function sumImages32(src: usize, dst: usize, n: i32, count: i32, stride: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      let lo = f64x2.splat(0);
      let hi = f64x2.splat(0);
      for (let s = 0; s < count; s++) {
        const v = v128.load(src + ((<usize>(s * stride + i)) << 2));
        lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
        hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
      }
      v128.store(dst + ((<usize>i) << 2), v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
    }
  }
  for (; i < n; i++) {
    let acc = 0.0;
    for (let s = 0; s < count; s++) acc += <f64>ldf(src, s * stride + i);
    stf(dst, i, <f32>acc);
  }
}
