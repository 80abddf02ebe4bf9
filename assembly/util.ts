// Shared helpers of poolkit's later WebAssembly kernels (weighted, adaptive, region): typed loads and
// stores at element offsets, the strided 4-tap load of the row-wise SIMD loops, and one float32
// exponential written twice — as a v128 function and as a scalar function that performs exactly the
// same float32 operations in the same order, so a SIMD lane and the scalar tail (and the scalar
// build) give bit-identical results.

// @ts-ignore: decorator
@inline export function ldf(p: usize, i: i32): f32 {
  return load<f32>(p + ((<usize>i) << 2));
}
// @ts-ignore: decorator
@inline export function ldi(p: usize, i: i32): i32 {
  return load<i32>(p + ((<usize>i) << 2));
}
// @ts-ignore: decorator
@inline export function ldd(p: usize, i: i32): f64 {
  return load<f64>(p + ((<usize>i) << 3));
}
// @ts-ignore: decorator
@inline export function stf(p: usize, i: i32, v: f32): void {
  store<f32>(p + ((<usize>i) << 2), v);
}
// @ts-ignore: decorator
@inline export function sti(p: usize, i: i32, v: i32): void {
  store<i32>(p + ((<usize>i) << 2), v);
}
// @ts-ignore: decorator
@inline export function std(p: usize, i: i32, v: f64): void {
  store<f64>(p + ((<usize>i) << 3), v);
}

/** Four taps at element i, i + s, i + 2s, i + 3s of x (s = the output stride along the last axis). */
// @ts-ignore: decorator
@inline export function load4(x: usize, i: i32, s: i32): v128 {
  const p = x + ((<usize>i) << 2);
  if (s == 1) return v128.load(p);
  if (s == 2) return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
  const q = (<usize>s) << 2;
  let v = f32x4.splat(load<f32>(p));
  v = f32x4.replace_lane(v, 1, load<f32>(p + q));
  v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * q));
  return f32x4.replace_lane(v, 3, load<f32>(p + 3 * q));
}

// e^x in float32. Range reduction x = n·ln2 + r with n = nearest(x·log2 e), so |r| ≤ ln2/2 (plus the
// rounding of x·log2 e, |r| < 0.3466 + 2^−17), done with Cody–Waite's two-constant split of ln2:
// C1 = 355/512 has 9 significant bits, so n·C1 is exact for |n| ≤ 2^15 and x − n·C1 is exact (Sterbenz:
// x and n·C1 are within a factor 2 when n ≠ 0); C2 = ln2 − C1 rounded to float32 adds an error of
// |n|·(ulp(C2)/2 + |ln2 − C1 − C2|) < 150·1.1e−11 ≈ 1.7e−9 to r, i.e. ≤ 0.03 ulp of the result.
// Then e^r = 1 + r + r²·P(r), P of degree 5: the minimax coefficients of Cephes' expf (S. Moshier,
// Cephes Math Library, expf.c), relative error below 2^−24·0.1 on the reduced range in exact
// arithmetic; evaluated in float32 (Horner), the rounding errors of the 14 operations are damped by
// |r|ⁱ except the last two additions, so the result is within about 1 ulp. The scale 2^n is made from
// the exponent bits. Measured against float64 Math.exp over every float32 exponent (test/backends/
// wasm-weighted.test.ts, "exp accuracy"): ≤ 1 ulp for normal results, ≤ 1 ulp of the smallest
// subnormal in the subnormal range; +∞ from x ≥ 88.7228394 (the first float32 above ln FLT_MAX);
// 0 below −103.97 (e^x < 2^−150); NaN for NaN.
const LOG2E: f32 = 1.44269504088896341;
const C1: f32 = 0.693359375;
const C2: f32 = -2.12194440e-4;
const P0: f32 = 1.9875691500e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;
/** Full-range clamps: x·log2 e stays in [−150, 128] (below −104: e^x rounds to 0; above 89: +∞). */
const FULL_LO: f32 = -104;
const FULL_HI: f32 = 89;

/** n = nearest(x·log2 e) and e^r for x = n·ln2 + r (scalar; the same float32 operations as {@link reduce4}). */
// @ts-ignore: decorator
@inline function polyScalar(x: f32, n: f32): f32 {
  const r = (x - n * C1) - n * C2;
  const r2 = r * r;
  let p = P0 * r + P1;
  p = p * r + P2;
  p = p * r + P3;
  p = p * r + P4;
  p = p * r + P5;
  return p * r2 + r + 1;
}

/** e^r lane-wise for x = n·ln2 + r (n given), bit-identical per lane to {@link polyScalar}. */
// @ts-ignore: decorator
@inline function poly4(x: v128, n: v128): v128 {
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, f32x4.splat(C1))), f32x4.mul(n, f32x4.splat(C2)));
  const r2 = f32x4.mul(r, r);
  let p = f32x4.add(f32x4.mul(f32x4.splat(P0), r), f32x4.splat(P1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P5));
  return f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1));
}

/**
 * e^x over the whole float32 range (scalar): x clamped to [−104, 89], then e^r·2^{n1}·2^{n2} with
 * n1 = ⌊n/2⌋, n2 = n − n1, both powers normal, so results in the subnormal range are rounded once and
 * overflow gives +∞. Bit-identical per lane to {@link expFull4}.
 */
// @ts-ignore: decorator
@inline export function expFull(x0: f32): f32 {
  const x = min<f32>(max<f32>(x0, FULL_LO), FULL_HI);
  const n = nearest<f32>(x * LOG2E);
  const p = polyScalar(x, n);
  const ni: i32 = n != n ? 0 : <i32>n;
  const n1 = ni >> 1;
  return (p * reinterpret<f32>((n1 + 127) << 23)) * reinterpret<f32>((ni - n1 + 127) << 23);
}

/** e^x lane-wise over the whole float32 range, bit-identical per lane to {@link expFull}. */
// @ts-ignore: decorator
@inline export function expFull4(x0: v128): v128 {
  const x = f32x4.min(f32x4.max(x0, f32x4.splat(FULL_LO)), f32x4.splat(FULL_HI));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  const p = poly4(x, n);
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const n1 = i32x4.shr_s(ni, 1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(ni, n1), i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

// The softmax weights' exponential, e^x for x ≤ 0 (the kernels only exponentiate L − max L): the same
// reduction and polynomial with the argument clamped below at −87.3, which keeps 2^n normal (one
// scaling step suffices: e^−87.3 ≈ 1.2e−38, next to the window maximum's weight 1 such a weight is
// nothing in float32); below −745.13, where the reference's float64 e^x underflows to 0, the result is
// 0 as well (so 0·∞ = NaN where the reference has it, and e^−∞ = 0). NaN stays NaN (max and nearest
// propagate it; the exponent from a NaN is 0 in both forms). On [−87.3, 0] it equals expFull bit for bit.
const EXP_LO: f32 = -87.3;
const EXP_ZERO: f32 = -745.1332;

/** Scalar softmax-weight e^x (x ≤ 0 or NaN): the same float32 operations as one lane of {@link exp4}. */
// @ts-ignore: decorator
@inline export function expf32(x0: f32): f32 {
  if (x0 < EXP_ZERO) return 0;
  const x = max<f32>(x0, EXP_LO);
  const n = nearest<f32>(x * LOG2E);
  const p = polyScalar(x, n);
  const ni: i32 = n != n ? 0 : <i32>n;
  return p * reinterpret<f32>((ni + 127) << 23);
}

/** Softmax-weight e^x lane-wise (x ≤ 0 or NaN), bit-identical per lane to {@link expf32}. */
// @ts-ignore: decorator
@inline export function exp4(x0: v128): v128 {
  const x = f32x4.max(x0, f32x4.splat(EXP_LO));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  const p = poly4(x, n);
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const r0 = f32x4.mul(p, i32x4.shl(i32x4.add(ni, i32x4.splat(127)), 23));
  return v128.andnot(r0, f32x4.lt(x0, f32x4.splat(EXP_ZERO)));
}

/**
 * y[i] = {@link expFull}(x[i]) for i < n, SIMD 4 at a time where built (the scalar tail and build use
 * the scalar form, bit-identical per lane): the hook of the exponential's accuracy test.
 */
export function expArray(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const q = (<usize>i) << 2;
      v128.store(y + q, expFull4(v128.load(x + q)));
    }
  }
  for (; i < n; i++) store<f32>(y + ((<usize>i) << 2), expFull(load<f32>(x + ((<usize>i) << 2))));
}

/**
 * {@link exp4} with cheaper lowerings, bit-identical per lane to {@link expf32} (and to exp4): the
 * clamp as pmax (maxps; a NaN lane stays NaN: pmax(a, b) = a < b ? b : a), and n = nearest(x·log2 e)
 * by the 1.5·2^23 trick (|x·log2 e| ≤ 126 after the clamp, so adding and subtracting 1.5·2^23 rounds
 * to the nearest integer, ties to even, exactly as `nearest`), whose sum's low bits are n itself
 * (no float-to-int conversion). A NaN lane gives NaN (p is NaN whatever the scale).
 */
// @ts-ignore: decorator
@inline export function exp4w(x0: v128): v128 {
  const x = f32x4.pmax(x0, f32x4.splat(EXP_LO));
  const magic = f32x4.splat(12582912);
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), magic);
  const n = f32x4.sub(t, magic);
  const p = poly4(x, n);
  const ni = i32x4.sub(t, magic);
  const r0 = f32x4.mul(p, i32x4.shl(i32x4.add(ni, i32x4.splat(127)), 23));
  return v128.andnot(r0, f32x4.lt(x0, f32x4.splat(EXP_ZERO)));
}

// ---- the row loops of the max and average window kernels (assembly/pool.ts, maxfast.ts, avg.ts)

/**
 * The number of window rows of one output row when there are at most three (2-d pooling with kernel
 * height ≤ 3, and 1-d pooling), so block loops can run with fixed rows ({@link rowAt}) instead of
 * nested row loops; 0 for more rows (the loops then walk them).
 */
// @ts-ignore: decorator
@inline export function rowCount(a0: i32, a1: i32, b0: i32, b1: i32): i32 {
  const n = (a1 - a0) * (b1 - b0);
  return n > 3 ? 0 : n;
}

/** Flat offset of the i-th window row (scan order: depth-major) of rows a0.., b0.. (nb per depth). */
// @ts-ignore: decorator
@inline export function rowAt(i: i32, a0: i32, b0: i32, nb: i32, HW: i32, W: i32): i32 {
  return (a0 + i / nb) * HW + (b0 + i % nb) * W;
}

// strict `>`: `f32x4.pmax(a, b)` is `a < b ? b : a` — one vmaxps, keeping the earlier tap on ties
// (±0 and −∞ included). The index follows from the same comparisons.

/** Tap j (0–2) of 4 neighbouring windows k (2 or 3) taps wide, `s` (1 or 2) apart: lane l is x[p + l·s + j]. */
// @ts-ignore: decorator
@inline export function tap(p: usize, s: i32, j: i32): v128 {
  if (s == 1) {
    if (j == 0) return v128.load(p);
    if (j == 1) return v128.load(p, 4);
    return v128.load(p, 8);
  }
  // stride 2: de-interleave two vectors (x0..x7) into even and odd taps; tap 2 = even shifted by one with x8
  if (j == 0) return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
  if (j == 1) return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 1, 3, 5, 7);
  return v128.shuffle<f32>(tap(p, 2, 0), v128.load(p, 20), 1, 2, 3, 7); // x2 x4 x6 | x8
}

/** One window row's maxima for 4 windows (no NaN): pmax over the taps in order. */
// @ts-ignore: decorator
@inline export function rowMax(p: usize, s: i32, k: i32): v128 {
  const m01 = f32x4.pmax(tap(p, s, 0), tap(p, s, 1));
  return k == 2 ? m01 : f32x4.pmax(m01, tap(p, s, 2));
}

/**
 * The winning taps' flat indices of {@link rowMax} (no NaN): `base` (the lanes' first taps) plus 1
 * where t1 > t0, and base + 2 where t2 > max(t0, t1). Comparison masks are −1/0, so `base − m` adds
 * one; the third tap takes over through i32 max (base + 2 exceeds either earlier index).
 */
// @ts-ignore: decorator
@inline export function rowArg(p: usize, base: v128, s: i32, k: i32): v128 {
  const t0 = tap(p, s, 0);
  const t1 = tap(p, s, 1);
  const i01 = i32x4.sub(base, f32x4.gt(t1, t0));
  if (k == 2) return i01;
  const m2 = f32x4.gt(tap(p, s, 2), f32x4.pmax(t0, t1));
  return i32x4.max_s(i01, v128.and(m2, i32x4.add(base, i32x4.splat(2))));
}

/**
 * One window row's tournament merged into the block's (bv, bi) — a later row replaces only where
 * strictly greater, and its index is larger than every earlier row's, so `max_s(bi, m & ri)` picks
 * it. Returns the new bv; the new bi is {@link mergeArg}'s.
 */
// @ts-ignore: decorator
@inline export function mergeMax(bv: v128, rv: v128): v128 {
  return f32x4.pmax(bv, rv);
}
// @ts-ignore: decorator
@inline export function mergeArg(bv: v128, bi: v128, rv: v128, ri: v128): v128 {
  return i32x4.max_s(bi, v128.and(f32x4.gt(rv, bv), ri));
}

/** The lanes' offsets (0, s, 2s, 3s) of 4 windows `s` apart: added to a first index, the 4 windows' indices. */
// @ts-ignore: decorator
@inline export function laneSteps(s: i32): v128 {
  return i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(0), 1, s), 2, 2 * s), 3, 3 * s);
}
