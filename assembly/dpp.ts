// Detail-preserving pooling (Saeedan et al., CVPR 2018) in float32: forward and backward over 2×2
// blocks, lite (guidance Ĩ = the block mean) and full (Ĩ = a depthwise 3×3 / stride 2 / pad 1
// convolution), symmetric and asymmetric reward. Counterpart of src/kernels/weighted.ts dppForward /
// dppBackward (the readable float64 references); the formulas and their derivation are there and in
// docs/methods/dpp.md.
//
// The SIMD build takes 4 neighbouring blocks of a block row at a time, one block per lane: the two
// input rows are loaded 8 floats each and de-interleaved into the blocks' pixels i0 i1 / i2 i3, so
// every step is a vertical f32x4 operation. Every block keeps the reference's overflow-safe form (all
// weights divided by R = max_j r_j), in float32 with a float32 logarithm (below) and exponential
// (util.ts exp4w / expf32). The scalar build and the last blocks of a row run the same float32
// operations one block at a time (bit-identical per lane).
//
// Precision: the deviations are taken from pairwise differences of the block's pixels (lite:
// d_j = Σ_k (i_j − i_k)/4; both: i_j − y = δ − (i_0 − i_j), δ = Σ_k w_k (i_0 − i_k)/S), so their
// errors scale with the block's spread, never with |x| (large, nearly equal pixels keep their
// detail); the full variant's Ĩ is the reference's float64 sum, and d_j = i_j − Ĩ is rounded once.
// Blocks the float32 path cannot take as they are — a non-finite pixel or deviation, or Σ|d_j| ≥ 1e15
// (q = d² + ε² could then leave float32's normal range) — and every block of a channel with
// λ/2 > 2^24 or a non-finite α are computed by a port of the float64 reference ({@link refForward},
// {@link refBackward}), so NaN and ±∞ propagate as there. Error bounds: test/backends/wasm-dpp.test.ts.
import { exp4w, expf32, ldd, ldf, std, stf } from "./util";

/** ε² of the reward (nngraph `AddConstant(1e-3)`). */
const EPS2: f32 = 1e-3;
/** The float32 path's limit on Σ_j |d_j| of a block: q ≤ 1e30, so q/q̄ ≥ 1e−33 stays normal. */
const DEV_MAX: f32 = 1e15;
/**
 * The float32 path's limit on λ/2: exp4w clamps its argument at −87.3, so a weight that should be
 * smaller (but not 0) comes out as e^−87.3 ≈ 1.2e−38; the gradients multiply weights by λ/2, and with
 * λ/2 ≤ 2^24 such a spurious term stays below 2e−31 of dy.
 */
const HALF_LAMBDA_MAX: f64 = 16777216;

// ---- the float32 logarithm

// ln x for normal x > 0: x = m·2^k with m ∈ [√½, √2) read from the bits (subtracting the bits of √½
// rounded to float32, 0x3f3504f3, makes the exponent field k and leaves m's bits to add back), then
// ln m = 2·atanh(s) = 2s + 2s³/3 + 2s⁵/5 + 2s⁷/7 + 2s⁹/9 + … with s = (m − 1)/(m + 1), |s| ≤ 0.1716
// (the series of atanh; the first omitted term is below 7e−10, 2e−9 of ln m). m − 1 is exact
// (Sterbenz), s carries two roundings, so ln m is within about 2 ulp; k·ln 2 is added with the
// two-constant split of ln 2 used by util.ts's exponential (k·LN2_HI exact for |k| < 2^15).
const SQRTH_BITS: i32 = 0x3f3504f3;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const T1: f32 = 0.6666666666666666; // 2/3
const T2: f32 = 0.4; // 2/5
const T3: f32 = 0.2857142857142857; // 2/7
const T4: f32 = 0.2222222222222222; // 2/9

/** ln x (x normal and positive), the same float32 operations as one lane of {@link log4}. */
// @ts-ignore: decorator
@inline function log32(x: f32): f32 {
  const ix = reinterpret<i32>(x) - SQRTH_BITS;
  const k = <f32>(ix >> 23);
  const m = reinterpret<f32>((ix & 0x7fffff) + SQRTH_BITS);
  const s = (m - 1) / (m + 1);
  const z = s * s;
  let p = T4 * z + T3;
  p = p * z + T2;
  p = p * z + T1;
  const lm = (s * z) * p + (s + s);
  return k * LN2_HI + (k * LN2_LO + lm);
}

/** ln x lane-wise (x normal and positive), bit-identical per lane to {@link log32}. */
// @ts-ignore: decorator
@inline function log4(x: v128): v128 {
  const ix = i32x4.sub(x, i32x4.splat(SQRTH_BITS));
  const k = f32x4.convert_i32x4_s(i32x4.shr_s(ix, 23));
  const m = i32x4.add(v128.and(ix, i32x4.splat(0x7fffff)), i32x4.splat(SQRTH_BITS));
  const one = f32x4.splat(1);
  const s = f32x4.div(f32x4.sub(m, one), f32x4.add(m, one));
  const z = f32x4.mul(s, s);
  let p = f32x4.add(f32x4.mul(f32x4.splat(T4), z), f32x4.splat(T3));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(T2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(T1));
  const lm = f32x4.add(f32x4.mul(f32x4.mul(s, z), p), f32x4.add(s, s));
  return f32x4.add(f32x4.mul(k, f32x4.splat(LN2_HI)), f32x4.add(f32x4.mul(k, f32x4.splat(LN2_LO)), lm));
}

/**
 * y[i] = {@link log32}(x[i]) for i < n, SIMD 4 at a time where built (bit-identical per lane): the
 * hook of the logarithm's accuracy test.
 */
export function logArray(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const q = (<usize>i) << 2;
      v128.store(y + q, log4(v128.load(x + q)));
    }
  }
  for (; i < n; i++) stf(y, i, log32(ldf(x, i)));
}

// ---- the float64 reference path (src/kernels/weighted.ts dppBlock and dppBackward's block body)

// refBackward's results (globals are per instance: every worker thread has its own)
let R_DX0: f64 = 0;
let R_DX1: f64 = 0;
let R_DX2: f64 = 0;
let R_DX3: f64 = 0;
let R_A: f64 = 0;
let R_L: f64 = 0;
let R_G: f64 = 0;

/** One block's y in float64, as src/kernels/weighted.ts dppBlock (R = max r divided out). */
function refForward(i0: f64, i1: f64, i2: f64, i3: f64, g: f64, h: f64, alpha: f64, asym: i32): f64 {
  let d0 = i0 - g;
  let d1 = i1 - g;
  let d2 = i2 - g;
  let d3 = i3 - g;
  if (asym != 0) {
    d0 = d0 > 0 ? d0 : 0;
    d1 = d1 > 0 ? d1 : 0;
    d2 = d2 > 0 ? d2 : 0;
    d3 = d3 > 0 ? d3 : 0;
  }
  const q0 = d0 * d0 + 1e-3;
  const q1 = d1 * d1 + 1e-3;
  const q2 = d2 * d2 + 1e-3;
  const q3 = d3 * d3 + 1e-3;
  const qm = (q0 + q1 + q2 + q3) / 4;
  const l0 = Math.log(q0 / qm);
  const l1 = Math.log(q1 / qm);
  const l2 = Math.log(q2 / qm);
  const l3 = Math.log(q3 / qm);
  const lm = max4(l0, l1, l2, l3);
  const a = alpha * Math.exp(-h * lm);
  const w0 = Math.exp(h * (l0 - lm)) + a;
  const w1 = Math.exp(h * (l1 - lm)) + a;
  const w2 = Math.exp(h * (l2 - lm)) + a;
  const w3 = Math.exp(h * (l3 - lm)) + a;
  const S = w0 + w1 + w2 + w3;
  return (w0 * i0 + w1 * i1 + w2 * i2 + w3 * i3) / S;
}

/** Math.max of four (NaN if any is NaN, as JavaScript's). */
// @ts-ignore: decorator
@inline function max4(a: f64, b: f64, c: f64, d: f64): f64 {
  return Math.max(Math.max(Math.max(a, b), c), d);
}

/**
 * One block's backward in float64, as the reference's block body: R_DX0–3 the pixels' direct
 * gradients (gs·w_j + ∂/∂d_j; lite: plus Ĩ's share gG/4), R_A and R_L the block's θα (before the
 * clamp's gate) and θλ terms, R_G = ∂L/∂Ĩ (the full variant scatters it through the filter).
 */
function refBackward(i0: f64, i1: f64, i2: f64, i3: f64, g: f64, gy: f64, h: f64, alpha: f64, asym: i32, lite: i32): void {
  let d0 = i0 - g;
  let d1 = i1 - g;
  let d2 = i2 - g;
  let d3 = i3 - g;
  if (asym != 0) {
    d0 = d0 > 0 ? d0 : 0;
    d1 = d1 > 0 ? d1 : 0;
    d2 = d2 > 0 ? d2 : 0;
    d3 = d3 > 0 ? d3 : 0;
  }
  const q0 = d0 * d0 + 1e-3;
  const q1 = d1 * d1 + 1e-3;
  const q2 = d2 * d2 + 1e-3;
  const q3 = d3 * d3 + 1e-3;
  const qm = (q0 + q1 + q2 + q3) / 4;
  const l0 = Math.log(q0 / qm);
  const l1 = Math.log(q1 / qm);
  const l2 = Math.log(q2 / qm);
  const l3 = Math.log(q3 / qm);
  const lm = max4(l0, l1, l2, l3);
  const a = alpha * Math.exp(-h * lm);
  const r0 = Math.exp(h * (l0 - lm));
  const r1 = Math.exp(h * (l1 - lm));
  const r2 = Math.exp(h * (l2 - lm));
  const r3 = Math.exp(h * (l3 - lm));
  const w0 = r0 + a;
  const w1 = r1 + a;
  const w2 = r2 + a;
  const w3 = r3 + a;
  const S = w0 + w1 + w2 + w3;
  const yv = (w0 * i0 + w1 * i1 + w2 * i2 + w3 * i3) / S;
  const gs = gy / S;
  const gw0 = gs * (i0 - yv);
  const gw1 = gs * (i1 - yv);
  const gw2 = gs * (i2 - yv);
  const gw3 = gs * (i3 - yv);
  R_A = (gw0 + gw1 + gw2 + gw3) * a;
  const t0 = gw0 * r0 * h;
  const t1 = gw1 * r1 * h;
  const t2 = gw2 * r2 * h;
  const t3 = gw3 * r3 * h;
  R_L = t0 * l0 + t1 * l1 + t2 * l2 + t3 * l3;
  const gqm = -(t0 + t1 + t2 + t3) / qm / 4;
  const gd0 = (t0 / q0 + gqm) * 2 * d0;
  const gd1 = (t1 / q1 + gqm) * 2 * d1;
  const gd2 = (t2 / q2 + gqm) * 2 * d2;
  const gd3 = (t3 / q3 + gqm) * 2 * d3;
  const gG = -(gd0 + gd1 + gd2 + gd3);
  const sh = lite != 0 ? gG / 4 : 0;
  R_DX0 = gs * w0 + gd0 + sh;
  R_DX1 = gs * w1 + gd1 + sh;
  R_DX2 = gs * w2 + gd2 + sh;
  R_DX3 = gs * w3 + gd3 + sh;
  R_G = gG;
}

// ---- the full variant's guidance

/**
 * Ĩ of every block of block row bi into G (float64, nB values): Σ F[a][b]·x[2bi − 1 + a][2bj − 1 + b]
 * over the taps inside the plane, in the reference's order (src/kernels/weighted.ts guidance), so
 * the values are the reference's bit for bit (the SIMD build: two interior blocks per f64x2).
 */
function guidanceRow(xp: usize, f: usize, G: usize, H: i32, W: i32, bi: i32, nB: i32): void {
  let bj = 0;
  if (ASC_FEATURE_SIMD) {
    // blocks 1 … two at a time (the first block's left taps are padding): lane 0 block bj, lane 1
    // block bj + 1, the taps added in the reference's order, so the sums are its sums bit for bit
    if (nB >= 3) guidanceBlock(xp, f, G, H, W, bi, 0);
    bj = nB >= 3 ? 1 : 0;
    const a0 = bi == 0 ? 1 : 0;
    for (; bj >= 1 && bj + 2 <= nB; bj += 2) {
      let s = f64x2.splat(0);
      for (let a = a0; a < 3; a++) {
        const p = xp + ((<usize>((2 * bi - 1 + a) * W + 2 * bj - 1)) << 2);
        const v = v128.load(p); // columns 2bj − 1 … 2bj + 2
        const t2 = f32x4.replace_lane(v128.shuffle<f32>(v, v, 2, 2, 2, 2), 1, load<f32>(p, 16)); // 2bj + 1, 2bj + 3
        s = f64x2.add(s, f64x2.mul(f64x2.splat(<f64>ldf(f, a * 3)), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 0, 2, 0, 2))));
        s = f64x2.add(s, f64x2.mul(f64x2.splat(<f64>ldf(f, a * 3 + 1)), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 1, 3, 1, 3))));
        s = f64x2.add(s, f64x2.mul(f64x2.splat(<f64>ldf(f, a * 3 + 2)), f64x2.promote_low_f32x4(t2)));
      }
      v128.store(G + ((<usize>bj) << 3), s);
    }
  }
  for (; bj < nB; bj++) guidanceBlock(xp, f, G, H, W, bi, bj);
}

/** Ĩ of block (bi, bj) into G[bj], the taps inside the plane in the reference's order. */
function guidanceBlock(xp: usize, f: usize, G: usize, H: i32, W: i32, bi: i32, bj: i32): void {
  let s: f64 = 0;
  for (let a = 0; a < 3; a++) {
    const r = 2 * bi - 1 + a;
    if (r < 0 || r >= H) continue;
    for (let b = 0; b < 3; b++) {
      const col = 2 * bj - 1 + b;
      if (col < 0 || col >= W) continue;
      s += <f64>ldf(f, a * 3 + b) * <f64>ldf(xp, r * W + col);
    }
  }
  std(G, bj, s);
}

// ---- one block in float32 (scalar), the same operations as one lane of the row loops below

// the scalar block's results besides y (the forward's y is returned)
let S_DX0: f32 = 0;
let S_DX1: f32 = 0;
let S_DX2: f32 = 0;
let S_DX3: f32 = 0;
let S_A: f32 = 0;
let S_L: f32 = 0;
let S_G: f32 = 0;
let S_OK: bool = false;

/**
 * One block in float32: lite (g unused) takes d from the pairwise differences, full from i − g in
 * float64. Returns y; with `back` ≠ 0 also the backward's S_* for upstream gradient gy. S_OK: whether
 * the block is within the float32 path's limits (else the caller takes the float64 reference).
 */
// @ts-ignore: decorator
@inline function block32(i0: f32, i1: f32, i2: f32, i3: f32, g: f64, lite: i32, asym: i32, h: f32, al: f32, back: i32, gy: f32): f32 {
  const a01 = i0 - i1;
  const a02 = i0 - i2;
  const a03 = i0 - i3;
  let u0: f32, u1: f32, u2: f32, u3: f32;
  if (lite != 0) {
    const a12 = i1 - i2;
    const a13 = i1 - i3;
    const a23 = i2 - i3;
    u0 = ((a01 + a02) + a03) * 0.25;
    u1 = ((a12 + a13) - a01) * 0.25;
    u2 = ((a23 - a02) - a12) * 0.25;
    u3 = -((a03 + a13) + a23) * 0.25;
  } else {
    u0 = <f32>(<f64>i0 - g);
    u1 = <f32>(<f64>i1 - g);
    u2 = <f32>(<f64>i2 - g);
    u3 = <f32>(<f64>i3 - g);
  }
  S_OK = ((abs<f32>(u0) + abs<f32>(u1)) + (abs<f32>(u2) + abs<f32>(u3))) < DEV_MAX;
  let d0 = u0;
  let d1 = u1;
  let d2 = u2;
  let d3 = u3;
  if (asym != 0) {
    d0 = 0 < d0 ? d0 : 0;
    d1 = 0 < d1 ? d1 : 0;
    d2 = 0 < d2 ? d2 : 0;
    d3 = 0 < d3 ? d3 : 0;
  }
  const q0 = d0 * d0 + EPS2;
  const q1 = d1 * d1 + EPS2;
  const q2 = d2 * d2 + EPS2;
  const q3 = d3 * d3 + EPS2;
  const qs = (q0 + q1) + (q2 + q3);
  const k = <f32>4 / qs;
  const l0 = log32(q0 * k);
  const l1 = log32(q1 * k);
  const l2 = log32(q2 * k);
  const l3 = log32(q3 * k);
  const lm = pmax32(pmax32(l0, l1), pmax32(l2, l3));
  const r0 = expf32(h * (l0 - lm));
  const r1 = expf32(h * (l1 - lm));
  const r2 = expf32(h * (l2 - lm));
  const r3 = expf32(h * (l3 - lm));
  const A = al * expf32(-(h * lm));
  const w0 = r0 + A;
  const w1 = r1 + A;
  const w2 = r2 + A;
  const w3 = r3 + A;
  const S = (w0 + w1) + (w2 + w3);
  // δ = i0 − y
  const dl = ((w1 * a01 + w2 * a02) + w3 * a03) / S;
  if (back != 0) {
    const gs = gy / S;
    const gw0 = gs * dl;
    const gw1 = gs * (dl - a01);
    const gw2 = gs * (dl - a02);
    const gw3 = gs * (dl - a03);
    S_A = ((gw0 + gw1) + (gw2 + gw3)) * A;
    const t0 = (gw0 * r0) * h;
    const t1 = (gw1 * r1) * h;
    const t2 = (gw2 * r2) * h;
    const t3 = (gw3 * r3) * h;
    S_L = (t0 * l0 + t1 * l1) + (t2 * l2 + t3 * l3);
    const gqm = -((t0 + t1) + (t2 + t3)) / qs;
    const gd0 = (t0 / q0 + gqm) * (d0 + d0);
    const gd1 = (t1 / q1 + gqm) * (d1 + d1);
    const gd2 = (t2 / q2 + gqm) * (d2 + d2);
    const gd3 = (t3 / q3 + gqm) * (d3 + d3);
    const sg = (gd0 + gd1) + (gd2 + gd3);
    const sh: f32 = lite != 0 ? sg * 0.25 : 0;
    S_DX0 = (gs * w0 + gd0) - sh;
    S_DX1 = (gs * w1 + gd1) - sh;
    S_DX2 = (gs * w2 + gd2) - sh;
    S_DX3 = (gs * w3 + gd3) - sh;
    S_G = -sg;
  }
  return i0 - dl;
}

/** f32x4.pmax's rule for one lane: b where a < b, else a. */
// @ts-ignore: decorator
@inline function pmax32(a: f32, b: f32): f32 {
  return a < b ? b : a;
}

// ---- block rows

/**
 * One block row's outputs: x0, x1 the row's two input rows (nB blocks, 2·nB floats each), y the nB
 * outputs, G the blocks' Ĩ (full; 0: lite). `fast` = 0: every block by the float64 reference.
 */
function forwardRow(x0: usize, x1: usize, y: usize, nB: i32, G: usize, asym: i32, fast: i32, h: f32, al: f32, h64: f64, al64: f64): void {
  const lite = G == 0 ? 1 : 0;
  let j = 0;
  if (fast != 0) {
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= nB; j += 4) {
        const q = (<usize>(2 * j)) << 2;
        const va = v128.load(x0 + q);
        const vb = v128.load(x0 + q, 16);
        const vc = v128.load(x1 + q);
        const vd = v128.load(x1 + q, 16);
        const i0 = v128.shuffle<f32>(va, vb, 0, 2, 4, 6);
        const i1 = v128.shuffle<f32>(va, vb, 1, 3, 5, 7);
        const i2 = v128.shuffle<f32>(vc, vd, 0, 2, 4, 6);
        const i3 = v128.shuffle<f32>(vc, vd, 1, 3, 5, 7);
        const a01 = f32x4.sub(i0, i1);
        const a02 = f32x4.sub(i0, i2);
        const a03 = f32x4.sub(i0, i3);
        let u0: v128, u1: v128, u2: v128, u3: v128;
        if (lite != 0) {
          const a12 = f32x4.sub(i1, i2);
          const a13 = f32x4.sub(i1, i3);
          const a23 = f32x4.sub(i2, i3);
          const qt = f32x4.splat(0.25);
          u0 = f32x4.mul(f32x4.add(f32x4.add(a01, a02), a03), qt);
          u1 = f32x4.mul(f32x4.sub(f32x4.add(a12, a13), a01), qt);
          u2 = f32x4.mul(f32x4.sub(f32x4.sub(a23, a02), a12), qt);
          u3 = f32x4.mul(f32x4.neg(f32x4.add(f32x4.add(a03, a13), a23)), qt);
        } else {
          const g0 = v128.load(G + ((<usize>j) << 3));
          const g1 = v128.load(G + ((<usize>j) << 3), 16);
          u0 = devFull(i0, g0, g1);
          u1 = devFull(i1, g0, g1);
          u2 = devFull(i2, g0, g1);
          u3 = devFull(i3, g0, g1);
        }
        const ok = f32x4.lt(f32x4.add(f32x4.add(f32x4.abs(u0), f32x4.abs(u1)), f32x4.add(f32x4.abs(u2), f32x4.abs(u3))), f32x4.splat(DEV_MAX));
        // ---- weights (one block per lane, the operations of block32)
        let d0 = u0;
        let d1 = u1;
        let d2 = u2;
        let d3 = u3;
        if (asym != 0) {
          const z = f32x4.splat(0);
          d0 = f32x4.pmax(z, d0);
          d1 = f32x4.pmax(z, d1);
          d2 = f32x4.pmax(z, d2);
          d3 = f32x4.pmax(z, d3);
        }
        const e2 = f32x4.splat(EPS2);
        const q0 = f32x4.add(f32x4.mul(d0, d0), e2);
        const q1 = f32x4.add(f32x4.mul(d1, d1), e2);
        const q2 = f32x4.add(f32x4.mul(d2, d2), e2);
        const q3 = f32x4.add(f32x4.mul(d3, d3), e2);
        const qs = f32x4.add(f32x4.add(q0, q1), f32x4.add(q2, q3));
        const kq = f32x4.div(f32x4.splat(4), qs);
        const l0 = log4(f32x4.mul(q0, kq));
        const l1 = log4(f32x4.mul(q1, kq));
        const l2 = log4(f32x4.mul(q2, kq));
        const l3 = log4(f32x4.mul(q3, kq));
        const lm = f32x4.pmax(f32x4.pmax(l0, l1), f32x4.pmax(l2, l3));
        const hv = f32x4.splat(h);
        const A = f32x4.mul(f32x4.splat(al), exp4w(f32x4.neg(f32x4.mul(hv, lm))));
        const w0 = f32x4.add(exp4w(f32x4.mul(hv, f32x4.sub(l0, lm))), A);
        const w1 = f32x4.add(exp4w(f32x4.mul(hv, f32x4.sub(l1, lm))), A);
        const w2 = f32x4.add(exp4w(f32x4.mul(hv, f32x4.sub(l2, lm))), A);
        const w3 = f32x4.add(exp4w(f32x4.mul(hv, f32x4.sub(l3, lm))), A);
        const S = f32x4.add(f32x4.add(w0, w1), f32x4.add(w2, w3));
        const dl = f32x4.div(f32x4.add(f32x4.add(f32x4.mul(w1, a01), f32x4.mul(w2, a02)), f32x4.mul(w3, a03)), S);
        v128.store(y + ((<usize>j) << 2), f32x4.sub(i0, dl));
        if (!i32x4.all_true(ok)) {
          for (let l = 0; l < 4; l++) {
            const good = l == 0 ? i32x4.extract_lane(ok, 0) : l == 1 ? i32x4.extract_lane(ok, 1) : l == 2 ? i32x4.extract_lane(ok, 2) : i32x4.extract_lane(ok, 3);
            if (good == 0) forwardRef(x0, x1, y, G, j + l, asym, h64, al64);
          }
        }
      }
    }
    for (; j < nB; j++) {
      const i0 = ldf(x0, 2 * j);
      const i1 = ldf(x0, 2 * j + 1);
      const i2 = ldf(x1, 2 * j);
      const i3 = ldf(x1, 2 * j + 1);
      const v = block32(i0, i1, i2, i3, lite != 0 ? 0 : ldd(G, j), lite, asym, h, al, 0, 0);
      if (S_OK) stf(y, j, v);
      else forwardRef(x0, x1, y, G, j, asym, h64, al64);
    }
  }
  for (; j < nB; j++) forwardRef(x0, x1, y, G, j, asym, h64, al64);
}

/** d = i − Ĩ per lane: i promoted, Ĩ of lanes 0–1 in g0 and 2–3 in g1 (float64), the difference rounded to float32 once. */
// @ts-ignore: decorator
@inline function devFull(i: v128, g0: v128, g1: v128): v128 {
  const lo = f32x4.demote_f64x2_zero(f64x2.sub(f64x2.promote_low_f32x4(i), g0));
  const hi = f32x4.demote_f64x2_zero(f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(i, i, 2, 3, 0, 1)), g1));
  return v128.shuffle<f32>(lo, hi, 0, 1, 4, 5);
}

/** Block j of a row by the float64 reference (Ĩ: the mean for lite, G[j] for full). */
function forwardRef(x0: usize, x1: usize, y: usize, G: usize, j: i32, asym: i32, h: f64, al: f64): void {
  const i0 = <f64>ldf(x0, 2 * j);
  const i1 = <f64>ldf(x0, 2 * j + 1);
  const i2 = <f64>ldf(x1, 2 * j);
  const i3 = <f64>ldf(x1, 2 * j + 1);
  const g = G == 0 ? (i0 + i1 + i2 + i3) / 4 : ldd(G, j);
  stf(y, j, <f32>refForward(i0, i1, i2, i3, g, h, al, asym));
}

/**
 * One block row's backward: dy the nB upstream gradients, dx0/dx1 the two gradient rows (written:
 * every pixel belongs to exactly one block; the full variant's filter share is added afterwards),
 * G the blocks' Ĩ (full; 0: lite) and GG their ∂L/∂Ĩ (full, float64, written), acc the plane's
 * float64 sums [θα terms, θλ terms], added to.
 */
function backwardRow(
  x0: usize, x1: usize, dy: usize, dx0: usize, dx1: usize, nB: i32, G: usize, GG: usize, acc: usize,
  asym: i32, fast: i32, h: f32, al: f32, h64: f64, al64: f64,
): void {
  const lite = G == 0 ? 1 : 0;
  let j = 0;
  let sA: f64 = 0;
  let sL: f64 = 0;
  if (fast != 0) {
    if (ASC_FEATURE_SIMD) {
      let vA = f64x2.splat(0);
      let vL = f64x2.splat(0);
      for (; j + 4 <= nB; j += 4) {
        const q = (<usize>(2 * j)) << 2;
        const va = v128.load(x0 + q);
        const vb = v128.load(x0 + q, 16);
        const vc = v128.load(x1 + q);
        const vd = v128.load(x1 + q, 16);
        const i0 = v128.shuffle<f32>(va, vb, 0, 2, 4, 6);
        const i1 = v128.shuffle<f32>(va, vb, 1, 3, 5, 7);
        const i2 = v128.shuffle<f32>(vc, vd, 0, 2, 4, 6);
        const i3 = v128.shuffle<f32>(vc, vd, 1, 3, 5, 7);
        const a01 = f32x4.sub(i0, i1);
        const a02 = f32x4.sub(i0, i2);
        const a03 = f32x4.sub(i0, i3);
        let u0: v128, u1: v128, u2: v128, u3: v128;
        if (lite != 0) {
          const a12 = f32x4.sub(i1, i2);
          const a13 = f32x4.sub(i1, i3);
          const a23 = f32x4.sub(i2, i3);
          const qt = f32x4.splat(0.25);
          u0 = f32x4.mul(f32x4.add(f32x4.add(a01, a02), a03), qt);
          u1 = f32x4.mul(f32x4.sub(f32x4.add(a12, a13), a01), qt);
          u2 = f32x4.mul(f32x4.sub(f32x4.sub(a23, a02), a12), qt);
          u3 = f32x4.mul(f32x4.neg(f32x4.add(f32x4.add(a03, a13), a23)), qt);
        } else {
          const g0 = v128.load(G + ((<usize>j) << 3));
          const g1 = v128.load(G + ((<usize>j) << 3), 16);
          u0 = devFull(i0, g0, g1);
          u1 = devFull(i1, g0, g1);
          u2 = devFull(i2, g0, g1);
          u3 = devFull(i3, g0, g1);
        }
        const ok = f32x4.lt(f32x4.add(f32x4.add(f32x4.abs(u0), f32x4.abs(u1)), f32x4.add(f32x4.abs(u2), f32x4.abs(u3))), f32x4.splat(DEV_MAX));
        let d0 = u0;
        let d1 = u1;
        let d2 = u2;
        let d3 = u3;
        if (asym != 0) {
          const z = f32x4.splat(0);
          d0 = f32x4.pmax(z, d0);
          d1 = f32x4.pmax(z, d1);
          d2 = f32x4.pmax(z, d2);
          d3 = f32x4.pmax(z, d3);
        }
        const e2 = f32x4.splat(EPS2);
        const q0 = f32x4.add(f32x4.mul(d0, d0), e2);
        const q1 = f32x4.add(f32x4.mul(d1, d1), e2);
        const q2 = f32x4.add(f32x4.mul(d2, d2), e2);
        const q3 = f32x4.add(f32x4.mul(d3, d3), e2);
        const qs = f32x4.add(f32x4.add(q0, q1), f32x4.add(q2, q3));
        const kq = f32x4.div(f32x4.splat(4), qs);
        const l0 = log4(f32x4.mul(q0, kq));
        const l1 = log4(f32x4.mul(q1, kq));
        const l2 = log4(f32x4.mul(q2, kq));
        const l3 = log4(f32x4.mul(q3, kq));
        const lm = f32x4.pmax(f32x4.pmax(l0, l1), f32x4.pmax(l2, l3));
        const hv = f32x4.splat(h);
        const A = f32x4.mul(f32x4.splat(al), exp4w(f32x4.neg(f32x4.mul(hv, lm))));
        const r0 = exp4w(f32x4.mul(hv, f32x4.sub(l0, lm)));
        const r1 = exp4w(f32x4.mul(hv, f32x4.sub(l1, lm)));
        const r2 = exp4w(f32x4.mul(hv, f32x4.sub(l2, lm)));
        const r3 = exp4w(f32x4.mul(hv, f32x4.sub(l3, lm)));
        const w0 = f32x4.add(r0, A);
        const w1 = f32x4.add(r1, A);
        const w2 = f32x4.add(r2, A);
        const w3 = f32x4.add(r3, A);
        const S = f32x4.add(f32x4.add(w0, w1), f32x4.add(w2, w3));
        const dl = f32x4.div(f32x4.add(f32x4.add(f32x4.mul(w1, a01), f32x4.mul(w2, a02)), f32x4.mul(w3, a03)), S);
        // ---- the backward (block32's back part)
        const gs = f32x4.div(v128.load(dy + ((<usize>j) << 2)), S);
        const gw0 = f32x4.mul(gs, dl);
        const gw1 = f32x4.mul(gs, f32x4.sub(dl, a01));
        const gw2 = f32x4.mul(gs, f32x4.sub(dl, a02));
        const gw3 = f32x4.mul(gs, f32x4.sub(dl, a03));
        const pA = f32x4.mul(f32x4.add(f32x4.add(gw0, gw1), f32x4.add(gw2, gw3)), A);
        const t0 = f32x4.mul(f32x4.mul(gw0, r0), hv);
        const t1 = f32x4.mul(f32x4.mul(gw1, r1), hv);
        const t2 = f32x4.mul(f32x4.mul(gw2, r2), hv);
        const t3 = f32x4.mul(f32x4.mul(gw3, r3), hv);
        const pL = f32x4.add(f32x4.add(f32x4.mul(t0, l0), f32x4.mul(t1, l1)), f32x4.add(f32x4.mul(t2, l2), f32x4.mul(t3, l3)));
        const gqm = f32x4.div(f32x4.neg(f32x4.add(f32x4.add(t0, t1), f32x4.add(t2, t3))), qs);
        const gd0 = f32x4.mul(f32x4.add(f32x4.div(t0, q0), gqm), f32x4.add(d0, d0));
        const gd1 = f32x4.mul(f32x4.add(f32x4.div(t1, q1), gqm), f32x4.add(d1, d1));
        const gd2 = f32x4.mul(f32x4.add(f32x4.div(t2, q2), gqm), f32x4.add(d2, d2));
        const gd3 = f32x4.mul(f32x4.add(f32x4.div(t3, q3), gqm), f32x4.add(d3, d3));
        const sg = f32x4.add(f32x4.add(gd0, gd1), f32x4.add(gd2, gd3));
        const sh = lite != 0 ? f32x4.mul(sg, f32x4.splat(0.25)) : f32x4.splat(0);
        const x0v = f32x4.sub(f32x4.add(f32x4.mul(gs, w0), gd0), sh);
        const x1v = f32x4.sub(f32x4.add(f32x4.mul(gs, w1), gd1), sh);
        const x2v = f32x4.sub(f32x4.add(f32x4.mul(gs, w2), gd2), sh);
        const x3v = f32x4.sub(f32x4.add(f32x4.mul(gs, w3), gd3), sh);
        v128.store(dx0 + q, v128.shuffle<f32>(x0v, x1v, 0, 4, 1, 5));
        v128.store(dx0 + q, v128.shuffle<f32>(x0v, x1v, 2, 6, 3, 7), 16);
        v128.store(dx1 + q, v128.shuffle<f32>(x2v, x3v, 0, 4, 1, 5));
        v128.store(dx1 + q, v128.shuffle<f32>(x2v, x3v, 2, 6, 3, 7), 16);
        if (lite == 0) {
          const gg = f32x4.neg(sg);
          v128.store(GG + ((<usize>j) << 3), f64x2.promote_low_f32x4(gg));
          v128.store(GG + ((<usize>j) << 3), f64x2.promote_low_f32x4(v128.shuffle<f32>(gg, gg, 2, 3, 0, 1)), 16);
        }
        // the θ terms of the lanes within the float32 path (others: from the reference below)
        const mA = v128.and(pA, ok);
        const mL = v128.and(pL, ok);
        vA = f64x2.add(vA, f64x2.add(f64x2.promote_low_f32x4(mA), f64x2.promote_low_f32x4(v128.shuffle<f32>(mA, mA, 2, 3, 0, 1))));
        vL = f64x2.add(vL, f64x2.add(f64x2.promote_low_f32x4(mL), f64x2.promote_low_f32x4(v128.shuffle<f32>(mL, mL, 2, 3, 0, 1))));
        if (!i32x4.all_true(ok)) {
          for (let l = 0; l < 4; l++) {
            const good = l == 0 ? i32x4.extract_lane(ok, 0) : l == 1 ? i32x4.extract_lane(ok, 1) : l == 2 ? i32x4.extract_lane(ok, 2) : i32x4.extract_lane(ok, 3);
            if (good == 0) {
              backwardRef(x0, x1, dy, dx0, dx1, G, GG, j + l, asym, h64, al64);
              sA += R_A;
              sL += R_L;
            }
          }
        }
      }
      sA += f64x2.extract_lane(vA, 0) + f64x2.extract_lane(vA, 1);
      sL += f64x2.extract_lane(vL, 0) + f64x2.extract_lane(vL, 1);
    }
    for (; j < nB; j++) {
      const i0 = ldf(x0, 2 * j);
      const i1 = ldf(x0, 2 * j + 1);
      const i2 = ldf(x1, 2 * j);
      const i3 = ldf(x1, 2 * j + 1);
      block32(i0, i1, i2, i3, lite != 0 ? 0 : ldd(G, j), lite, asym, h, al, 1, ldf(dy, j));
      if (S_OK) {
        stf(dx0, 2 * j, S_DX0);
        stf(dx0, 2 * j + 1, S_DX1);
        stf(dx1, 2 * j, S_DX2);
        stf(dx1, 2 * j + 1, S_DX3);
        if (lite == 0) std(GG, j, <f64>S_G);
        sA += <f64>S_A;
        sL += <f64>S_L;
      } else {
        backwardRef(x0, x1, dy, dx0, dx1, G, GG, j, asym, h64, al64);
        sA += R_A;
        sL += R_L;
      }
    }
  }
  for (; j < nB; j++) {
    backwardRef(x0, x1, dy, dx0, dx1, G, GG, j, asym, h64, al64);
    sA += R_A;
    sL += R_L;
  }
  std(acc, 0, ldd(acc, 0) + sA);
  std(acc, 1, ldd(acc, 1) + sL);
}

/** Block j of a row's backward by the float64 reference (writes its 4 dx and, full, GG[j]). */
function backwardRef(x0: usize, x1: usize, dy: usize, dx0: usize, dx1: usize, G: usize, GG: usize, j: i32, asym: i32, h: f64, al: f64): void {
  const i0 = <f64>ldf(x0, 2 * j);
  const i1 = <f64>ldf(x0, 2 * j + 1);
  const i2 = <f64>ldf(x1, 2 * j);
  const i3 = <f64>ldf(x1, 2 * j + 1);
  const lite = G == 0 ? 1 : 0;
  const g = lite != 0 ? (i0 + i1 + i2 + i3) / 4 : ldd(G, j);
  refBackward(i0, i1, i2, i3, g, <f64>ldf(dy, j), h, al, asym, lite);
  stf(dx0, 2 * j, <f32>R_DX0);
  stf(dx0, 2 * j + 1, <f32>R_DX1);
  stf(dx1, 2 * j, <f32>R_DX2);
  stf(dx1, 2 * j + 1, <f32>R_DX3);
  if (lite == 0) std(GG, j, R_G);
}

/**
 * The full variant's filter share of block row bi: for each block j (in order) and tap (a, b) inside
 * the plane, dx[2bi − 1 + a][2j − 1 + b] += GG[j]·F[a][b] (float64 product and sum, rounded to float32)
 * and the filter's sums gF[a·3 + b] += GG[j]·x (float64), as the reference's scatter.
 */
function filterRow(xp: usize, dxp: usize, f: usize, GG: usize, gF: usize, H: i32, W: i32, bi: i32, nB: i32): void {
  for (let j = 0; j < nB; j++) {
    const gG = ldd(GG, j);
    for (let a = 0; a < 3; a++) {
      const r = 2 * bi - 1 + a;
      if (r < 0 || r >= H) continue;
      for (let b = 0; b < 3; b++) {
        const col = 2 * j - 1 + b;
        if (col < 0 || col >= W) continue;
        const k = r * W + col;
        stf(dxp, k, <f32>(<f64>ldf(dxp, k) + gG * <f64>ldf(f, a * 3 + b)));
        std(gF, a * 3 + b, ldd(gF, a * 3 + b) + gG * <f64>ldf(xp, k));
      }
    }
  }
}

// ---- exported kernels

/**
 * DPP forward over `planes` planes of H × W (both even) into y (H/2 × W/2 each). Plane p has channel
 * (p0 + p) mod C; par holds per channel [λ/2, α, gate] (float64, src/kernels/weighted.ts
 * dppChannelParams). filt: the [C, 1, 3, 3] filters (full) or 0 (lite). scratch: W/2 float64 (Ĩ of a
 * block row, full only).
 */
export function dppForward(x: usize, y: usize, par: usize, filt: usize, scratch: usize, planes: i32, C: i32, p0: i32, H: i32, W: i32, asym: i32): void {
  const oH = H >> 1;
  const oW = W >> 1;
  for (let p = 0; p < planes; p++) {
    const c = (p0 + p) % C;
    const h64 = ldd(par, 3 * c);
    const al64 = ldd(par, 3 * c + 1);
    const fast = h64 <= HALF_LAMBDA_MAX && al64 <= 22027 ? 1 : 0;
    const xp = x + ((<usize>p * <usize>(H * W)) << 2);
    const yp = y + ((<usize>p * <usize>(oH * oW)) << 2);
    const f = filt == 0 ? 0 : filt + ((<usize>(9 * c)) << 2);
    for (let bi = 0; bi < oH; bi++) {
      const x0 = xp + ((<usize>(2 * bi * W)) << 2);
      if (f != 0) guidanceRow(xp, f, scratch, H, W, bi, oW);
      forwardRow(x0, x0 + ((<usize>W) << 2), yp + ((<usize>(bi * oW)) << 2), oW, f != 0 ? scratch : 0, asym, fast, <f32>h64, <f32>al64, h64, al64);
    }
  }
}

/**
 * DPP backward: dx (planes × H × W) written, acc (float64, per plane: [θα sum, θλ sum] and, full, the
 * 9 filter sums) written — the caller adds them into the channels' gradients in plane order (θα's
 * gated by the clamp there). scratch: 2·(W/2) + 2 float64 (Ĩ and ∂L/∂Ĩ of a block row, the θ sums).
 */
export function dppBackward(
  x: usize, dy: usize, dx: usize, par: usize, filt: usize, acc: usize, scratch: usize, planes: i32, C: i32, p0: i32, H: i32, W: i32, asym: i32,
): void {
  const oH = H >> 1;
  const oW = W >> 1;
  const G = scratch;
  const GG = G + ((<usize>oW) << 3);
  const stride = filt == 0 ? 2 : 11;
  for (let p = 0; p < planes; p++) {
    const c = (p0 + p) % C;
    const h64 = ldd(par, 3 * c);
    const al64 = ldd(par, 3 * c + 1);
    const fast = h64 <= HALF_LAMBDA_MAX && al64 <= 22027 ? 1 : 0;
    const xp = x + ((<usize>p * <usize>(H * W)) << 2);
    const dxp = dx + ((<usize>p * <usize>(H * W)) << 2);
    const dyp = dy + ((<usize>p * <usize>(oH * oW)) << 2);
    const f = filt == 0 ? 0 : filt + ((<usize>(9 * c)) << 2);
    const ap = acc + ((<usize>(stride * p)) << 3);
    for (let i = 0; i < stride; i++) std(ap, i, 0);
    for (let bi = 0; bi < oH; bi++) {
      const x0 = xp + ((<usize>(2 * bi * W)) << 2);
      const d0 = dxp + ((<usize>(2 * bi * W)) << 2);
      if (f != 0) guidanceRow(xp, f, G, H, W, bi, oW);
      backwardRow(
        x0, x0 + ((<usize>W) << 2), dyp + ((<usize>(bi * oW)) << 2), d0, d0 + ((<usize>W) << 2), oW,
        f != 0 ? G : 0, GG, ap, asym, fast, <f32>h64, <f32>al64, h64, al64,
      );
      if (f != 0) filterRow(xp, dxp, f, GG, ap + 16, H, W, bi, oW);
    }
  }
}
