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

// e^x in float32 for x ≤ 0 (the softmax kernels only exponentiate L − max L): Cody–Waite reduction
// x = n·ln2 + r, |r| ≤ ln2/2, with ln2 split into a short high part (exact n·C1) and a correction,
// then the degree-6 minimax polynomial of Cephes' expf (S. Moshier, Cephes Math Library, expf.c;
// relative error about 1e-7 on the reduced range), scaled by 2^n through the exponent bits.
// Arguments below −87.3 are clamped there (e^−87.3 ≈ 1.2e−38: next to the window maximum's weight 1
// such a weight is nothing in float32), which keeps 2^n normal; below −745.13, where the reference's
// float64 e^x underflows to 0, the result is 0 as well (so 0·∞ = NaN where the reference has it, and
// e^−∞ = 0). NaN stays NaN (max and nearest propagate it; the exponent from a NaN is 0 in both forms).
const EXP_LO: f32 = -87.3;
const EXP_ZERO: f32 = -745.1332;
const LOG2E: f32 = 1.44269504088896341;
const C1: f32 = 0.693359375;
const C2: f32 = -2.12194440e-4;
const P0: f32 = 1.9875691500e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;

/** Scalar e^x (x ≤ 0 or NaN): the same float32 operations as one lane of {@link exp4}. */
// @ts-ignore: decorator
@inline export function expf32(x0: f32): f32 {
  if (x0 < EXP_ZERO) return 0;
  const x = max<f32>(x0, EXP_LO);
  const n = nearest<f32>(x * LOG2E);
  const r = (x - n * C1) - n * C2;
  const r2 = r * r;
  let p = P0 * r + P1;
  p = p * r + P2;
  p = p * r + P3;
  p = p * r + P4;
  p = p * r + P5;
  p = p * r2 + r + 1;
  const ni: i32 = n != n ? 0 : <i32>n;
  return p * reinterpret<f32>((ni + 127) << 23);
}

/** e^x lane-wise (x ≤ 0 or NaN), bit-identical per lane to {@link expf32}. */
// @ts-ignore: decorator
@inline export function exp4(x0: v128): v128 {
  const x = f32x4.max(x0, f32x4.splat(EXP_LO));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, f32x4.splat(C1))), f32x4.mul(n, f32x4.splat(C2)));
  const r2 = f32x4.mul(r, r);
  let p = f32x4.add(f32x4.mul(f32x4.splat(P0), r), f32x4.splat(P1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P5));
  p = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1));
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const r0 = f32x4.mul(p, i32x4.shl(i32x4.add(ni, i32x4.splat(127)), 23));
  return v128.andnot(r0, f32x4.lt(x0, f32x4.splat(EXP_ZERO)));
}
