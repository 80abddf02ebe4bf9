// Large-window max and average (float32): adaptive pooling's bins, global pooling and any plan whose
// windows are wide, computed row-wise. Counterparts of maxWindowsForward/avgWindowsForward in
// src/kernels/window.ts for plans with every step 1 (the JS glue routes such plans here when their
// windows are wide; narrow sliding windows stay with pool.ts's kernels).
//
// For each output row (oa, ob) the window's rows are first reduced column by column into a row
// buffer — whole rows at a time, 4 columns per SIMD step — and each output column then reduces its
// segment of that buffer. A window of a single row (global pooling's one flattened row) is reduced
// straight from x with 4 lanes (max over 64 columns or more: the maximum first, then its index, see
// longRowArgmax; the glue flattens any plan of one window per whole plane to such a row).
//
// max: bit-identical to the reference's sequential scan (replace when `v > best || v != v`, in
// d/h/w order). Column by column that scan gives, per column, the first maximum (smallest row) or the
// last NaN (largest row); the scan over the whole window is recovered from those because, within a
// plane, scan order is flat-index order: with a NaN the result is the NaN with the largest index,
// otherwise the maximum with the smallest index (ties, −0/+0 and all-(−∞) windows included).
// avg: the window sum in float64 (rows summed first, then the segment; a different order from the
// reference's scan, so equal to it within float64 rounding before the one rounding to float32;
// one-row windows of 64 columns or more within γ(3)·Σ|x| — float32 sums of 8, see sumSegment) —
// except one window over a whole plane of at most 1024 elements (global pooling): float32 plane sums,
// 4 planes at a time, within float32 accumulation error.
import { ldd, ldf, ldi, stf, sti } from "./util";

/** The lane-wise scan state of 4 interleaved sequences merged into the sequential scan's (best, index). */
// @ts-ignore: decorator
@inline function mergeLanes(best: v128, bi: v128, out: usize): void {
  // out[0] = value (f32 bits), out[1] = index
  let b: f32 = f32x4.extract_lane(best, 0);
  let i: i32 = i32x4.extract_lane(bi, 0);
  for (let l = 1; l < 4; l++) {
    let v: f32 = 0;
    let j: i32 = 0;
    if (l == 1) { v = f32x4.extract_lane(best, 1); j = i32x4.extract_lane(bi, 1); }
    else if (l == 2) { v = f32x4.extract_lane(best, 2); j = i32x4.extract_lane(bi, 2); }
    else { v = f32x4.extract_lane(best, 3); j = i32x4.extract_lane(bi, 3); }
    if (b != b) {
      if (v != v && j > i) {
        // the later NaN, its payload too
        b = v;
        i = j;
      }
    } else if (v != v) {
      b = v;
      i = j;
    } else if (v > b || (v == b && j < i)) {
      b = v;
      i = j;
    }
  }
  store<f32>(out, b);
  store<i32>(out, i, 4);
}

/**
 * Lane-wise merge of two scan states (value, index) by the order-independent rule of the sequential
 * scan: a NaN wins over numbers and the later (larger-index) NaN over an earlier one; otherwise the
 * larger value, and between equal values the smaller index. Returns B's lanes where B wins.
 */
// @ts-ignore: decorator
@inline function takeB(va: v128, ia: v128, vb: v128, ib: v128): v128 {
  const nanA = f32x4.ne(va, va);
  const nanB = f32x4.ne(vb, vb);
  const whenNaN = v128.and(nanB, i32x4.gt_s(ib, ia));
  const whenNum = v128.or(v128.or(nanB, f32x4.gt(vb, va)), v128.and(f32x4.eq(vb, va), i32x4.lt_s(ib, ia)));
  return v128.bitselect(whenNaN, whenNum, nanA);
}

/** One-row windows at least this long take {@link longRowArgmax} (SIMD build). */
const LONG_ROW: i32 = 64;

/**
 * The index the sequential scan (`v > best || v != v`) ends on over x[i..i+n), n ≥ 16, in two
 * passes: the largest number of the row (4 independent chains) and whether it holds a NaN, then
 * the last NaN if there is one, else the first element equal to that maximum (the scan keeps the
 * first of equal values; −0 and +0 compare equal, so the first zero is found, as the scan keeps
 * it; an all-(−∞) row gives its first element). The caller reads the
 * value at the index, so it is bit-identical to the scan's (NaN payloads and the sign of zero included).
 */
function longRowArgmax(xp: usize, i: i32, n: i32): i32 {
  const p = xp + ((<usize>i) << 2);
  // f32x4.pmax (b > a ? b : a) keeps numbers only — a third of f32x4.max's cost, whose NaN and
  // signed-zero rules take several instructions — and NaNs are flagged apart. Blocks of 256
  // columns, each reduced to one number: `at`, the first block whose maximum exceeds every earlier
  // block's, holds the first element equal to the row's maximum.
  let m: f32 = -Infinity;
  let at = 0;
  let q0 = i32x4.splat(0);
  let q1 = q0;
  let c = 0;
  for (; c + 256 <= n; c += 256) {
    let m0 = f32x4.splat(-Infinity);
    let m1 = m0;
    let m2 = m0;
    let m3 = m0;
    for (let k = c; k < c + 256; k += 16) {
      const q = p + ((<usize>k) << 2);
      const v0 = v128.load(q);
      const v1 = v128.load(q, 16);
      const v2 = v128.load(q, 32);
      const v3 = v128.load(q, 48);
      m0 = f32x4.pmax(m0, v0);
      m1 = f32x4.pmax(m1, v1);
      m2 = f32x4.pmax(m2, v2);
      m3 = f32x4.pmax(m3, v3);
      q0 = v128.or(q0, v128.or(f32x4.ne(v0, v0), f32x4.ne(v1, v1)));
      q1 = v128.or(q1, v128.or(f32x4.ne(v2, v2), f32x4.ne(v3, v3)));
    }
    m0 = f32x4.pmax(f32x4.pmax(m0, m1), f32x4.pmax(m2, m3));
    m0 = f32x4.pmax(m0, v128.shuffle<f32>(m0, m0, 2, 3, 0, 1));
    const b = max(f32x4.extract_lane(m0, 0), f32x4.extract_lane(m0, 1));
    if (b > m) {
      m = b;
      at = c;
    }
  }
  // the last n mod 256 columns: one more block
  const c0 = c;
  let t: f32 = -Infinity;
  for (; c + 4 <= n; c += 4) {
    const v = v128.load(p + ((<usize>c) << 2));
    const u = f32x4.pmax(f32x4.splat(t), v);
    t = max(max(f32x4.extract_lane(u, 0), f32x4.extract_lane(u, 1)), max(f32x4.extract_lane(u, 2), f32x4.extract_lane(u, 3)));
    q0 = v128.or(q0, f32x4.ne(v, v));
  }
  let nan = v128.any_true(v128.or(q0, q1));
  for (; c < n; c++) {
    const v = load<f32>(p + ((<usize>c) << 2));
    if (v > t) t = v;
    if (v != v) nan = true;
  }
  if (t > m) {
    m = t;
    at = c0;
  }
  if (nan) {
    // the last NaN: the tail first, then 4 columns at a time backwards from the last full block
    const n4 = n & ~3;
    for (let k = n - 1; k >= n4; k--) {
      const v = load<f32>(p + ((<usize>k) << 2));
      if (v != v) return i + k;
    }
    for (let k = n4 - 4; k >= 0; k -= 4) {
      const v = v128.load(p + ((<usize>k) << 2));
      if (v128.any_true(f32x4.ne(v, v))) {
        for (let l = 3; l >= 0; l--) {
          const u = load<f32>(p + ((<usize>(k + l)) << 2));
          if (u != u) return i + k + l;
        }
      }
    }
    return i; // unreachable: `nan` is set only by a NaN element
  }
  // the first element equal to the maximum, from block `at` on
  const mv = f32x4.splat(m);
  let k = at;
  for (; k + 16 <= n; k += 16) {
    const q = p + ((<usize>k) << 2);
    const e01 = v128.or(f32x4.eq(v128.load(q), mv), f32x4.eq(v128.load(q, 16), mv));
    const e23 = v128.or(f32x4.eq(v128.load(q, 32), mv), f32x4.eq(v128.load(q, 48), mv));
    if (v128.any_true(v128.or(e01, e23))) break;
  }
  for (; k + 4 <= n; k += 4) {
    if (v128.any_true(f32x4.eq(v128.load(p + ((<usize>k) << 2)), mv))) break;
  }
  for (; k < n; k++) if (load<f32>(p + ((<usize>k) << 2)) == m) return i + k;
  return i; // unreachable: some element equals the maximum
}

/**
 * Max with flat in-plane indices over plans of step 1. `buf`: scratch of two words for merging
 * lanes, then, unless every window is one row deep, 2·W words (column maxima, column indices).
 */
export function wideMaxForward(
  x: usize, y: usize, idx: usize, buf: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32,
): void {
  const HW = H * W;
  const out = buf; // two words for mergeLanes
  const cb = buf + 8;
  const ci = cb + ((<usize>W) << 2);
  for (let p = 0; p < planes; p++) {
    const xp = x + ((<usize>p * <usize>inPlane) << 2);
    let o = p * outPlane;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = ldi(aS, oa);
      const a1 = ldi(aE, oa);
      for (let ob = 0; ob < nB; ob++) {
        const b0 = ldi(bS, ob);
        const b1 = ldi(bE, ob);
        if (a1 - a0 == 1 && b1 - b0 == 1) {
          // one row: scan each column segment straight from x
          const row = a0 * HW + b0 * W;
          for (let oc = 0; oc < nC; oc++) {
            const c0 = ldi(cS, oc);
            const c1 = ldi(cE, oc);
            let best: f32 = -Infinity;
            let bi = row + c0;
            let c = c0;
            if (ASC_FEATURE_SIMD) {
              if (c1 - c0 >= LONG_ROW) {
                // long rows (global pooling): the maximum first, then where the scan takes it
                bi = longRowArgmax(xp, row + c0, c1 - c0);
                stf(y, o, ldf(xp, bi));
                sti(idx, o, bi);
                o++;
                continue;
              }
              if (c1 - c0 >= 8) {
                let vb = f32x4.splat(-Infinity);
                const lane = i32x4(0, 1, 2, 3);
                let vi = i32x4.add(i32x4.splat(row + c0), lane);
                for (; c + 4 <= c1; c += 4) {
                  const v = v128.load(xp + ((<usize>(row + c)) << 2));
                  const m = v128.or(f32x4.gt(v, vb), f32x4.ne(v, v));
                  vb = v128.bitselect(v, vb, m);
                  vi = v128.bitselect(i32x4.add(i32x4.splat(row + c), lane), vi, m);
                }
                mergeLanes(vb, vi, out);
                best = load<f32>(out);
                bi = load<i32>(out, 4);
              }
            }
            for (; c < c1; c++) {
              const v = ldf(xp, row + c);
              if (v > best || v != v) {
                best = v;
                bi = row + c;
              }
            }
            stf(y, o, best);
            sti(idx, o, bi);
            o++;
          }
          continue;
        }
        // column maxima over the window's rows, in scan order (first maximum, last NaN)
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          // row by row (each row read once, in address order), the columns' states in cb/ci
          const lane = i32x4(0, 1, 2, 3);
          const W4 = W & ~3;
          if (W4 > 0 && a1 > a0 && b1 > b0) {
            for (let k = 0; k < W4; k += 4) {
              v128.store(cb + ((<usize>k) << 2), f32x4.splat(-Infinity));
              v128.store(ci + ((<usize>k) << 2), i32x4.add(i32x4.splat(a0 * HW + b0 * W + k), lane));
            }
            for (let ia = a0; ia < a1; ia++) {
              for (let ib = b0; ib < b1; ib++) {
                const row = ia * HW + ib * W;
                let ri = i32x4.add(i32x4.splat(row), lane);
                const four = i32x4.splat(4);
                for (let k = 0; k < W4; k += 4) {
                  const qb = cb + ((<usize>k) << 2);
                  const qi = ci + ((<usize>k) << 2);
                  const v = v128.load(xp + ((<usize>(row + k)) << 2));
                  const vb = v128.load(qb);
                  const m = v128.or(f32x4.gt(v, vb), f32x4.ne(v, v));
                  v128.store(qb, v128.bitselect(v, vb, m));
                  v128.store(qi, v128.bitselect(ri, v128.load(qi), m));
                  ri = i32x4.add(ri, four);
                }
              }
            }
            c = W4;
          } else {
            for (; c + 4 <= W; c += 4) {
              v128.store(cb + ((<usize>c) << 2), f32x4.splat(-Infinity));
              v128.store(ci + ((<usize>c) << 2), i32x4.add(i32x4.splat(a0 * HW + b0 * W + c), lane));
            }
          }
        }
        for (; c < W; c++) {
          let best: f32 = -Infinity;
          let bi = a0 * HW + b0 * W + c;
          for (let ia = a0; ia < a1; ia++) {
            for (let ib = b0; ib < b1; ib++) {
              const r = ia * HW + ib * W + c;
              const v = ldf(xp, r);
              if (v > best || v != v) {
                best = v;
                bi = r;
              }
            }
          }
          stf(cb, c, best);
          sti(ci, c, bi);
        }
        // each output column: merge its columns (NaN: the largest index; else the maximum with the smallest index)
        for (let oc = 0; oc < nC; oc++) {
          const c0 = ldi(cS, oc);
          const c1 = ldi(cE, oc);
          let best: f32 = -Infinity;
          let bi = a0 * HW + b0 * W + c0;
          let nan = false;
          let cc = c0;
          if (ASC_FEATURE_SIMD) {
            if (c1 - c0 >= 8) {
              // 4 columns at a time by the same rule, then the lanes, then the remaining columns
              let va = v128.load(cb + ((<usize>c0) << 2));
              let ia = v128.load(ci + ((<usize>c0) << 2));
              for (cc = c0 + 4; cc + 4 <= c1; cc += 4) {
                const vb = v128.load(cb + ((<usize>cc) << 2));
                const ib = v128.load(ci + ((<usize>cc) << 2));
                const t = takeB(va, ia, vb, ib);
                va = v128.bitselect(vb, va, t);
                ia = v128.bitselect(ib, ia, t);
              }
              mergeLanes(va, ia, out);
              best = load<f32>(out);
              bi = load<i32>(out, 4);
              nan = best != best;
            }
          }
          for (; cc < c1; cc++) {
            const v = ldf(cb, cc);
            const j = ldi(ci, cc);
            if (nan) {
              if (v != v && j > bi) {
                best = v;
                bi = j;
              }
            } else if (v != v) {
              nan = true;
              best = v;
              bi = j;
            } else if (v > best || (v == best && j < bi)) {
              best = v;
              bi = j;
            }
          }
          stf(y, o, best);
          sti(idx, o, bi);
          o++;
        }
      }
    }
  }
}

/**
 * Σ x[i..i+n) (float32 values) in float64: two f64x2 accumulators, 4 columns a step, then the tail.
 * Rows of {@link LONG_ROW} columns or more (SIMD build; global pooling's flattened planes) add 32
 * columns a step: per lane the pairwise float32 sum of its 8 columns, ((a + b) + (c + d)) +
 * ((e + f) + (g + h)), then promoted and added in float64 — each of those float32 sums within
 * γ(3)·Σ|its terms| (γ(m) = m·2⁻²⁴/(1 − m·2⁻²⁴)), so the row sum within γ(3)·Σ|x| plus float64
 * rounding; a fourth of the float64 path's operations, the speed of a plain read.
 */
// @ts-ignore: decorator
@inline function sumSegment(xp: usize, i: i32, n: i32): f64 {
  let s: f64 = 0;
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    if (n >= 8) {
      let s0 = f64x2.splat(0);
      let s1 = f64x2.splat(0);
      if (n >= LONG_ROW) {
        let s2 = f64x2.splat(0);
        let s3 = f64x2.splat(0);
        for (; c + 32 <= n; c += 32) {
          const q = xp + ((<usize>(i + c)) << 2);
          const a = f32x4.add(f32x4.add(v128.load(q), v128.load(q, 16)), f32x4.add(v128.load(q, 32), v128.load(q, 48)));
          const b = f32x4.add(f32x4.add(v128.load(q, 64), v128.load(q, 80)), f32x4.add(v128.load(q, 96), v128.load(q, 112)));
          const v = f32x4.add(a, b);
          s2 = f64x2.add(s2, f64x2.promote_low_f32x4(v));
          s3 = f64x2.add(s3, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
        }
        s0 = s2;
        s1 = s3;
      }
      for (; c + 4 <= n; c += 4) {
        const v = v128.load(xp + ((<usize>(i + c)) << 2));
        s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
        s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
      }
      const t = f64x2.add(s0, s1);
      s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
    }
  }
  for (; c < n; c++) s += <f64>ldf(xp, i + c);
  return s;
}

/**
 * Average windows of more than this many rows sum their columns row by row into the buffer (the
 * 4-column chains down the rows measured 1.4× slower for 128 rows, 3-d adaptive → [1, 7, 7]; 10 %
 * faster for 8 rows, 2-d 56 → 7).
 */
const DEEP: i32 = 16;

/** Planes up to this many elements take {@link planeMeans} (float32 sums). */
const PLANE_MEAN_MAX: i32 = 1024;

/**
 * y[p] = (Σ of plane p's n contiguous floats) / d, for global pooling and adaptive pooling to one
 * bin: float32 sums, 4 planes at a time in the SIMD build (one accumulator each, independent
 * chains), the 4 accumulators then reduced lane-wise with shuffles into one vector of 4 sums; the
 * remaining planes, and the scalar build, add in the same order, so every build and every split of
 * the planes gives the same bits.
 */
// @ts-ignore: decorator
@inline function planeMeans(x: usize, y: usize, planes: i32, n: i32, d: f32): void {
  let p = 0;
  if (ASC_FEATURE_SIMD) {
    const n4 = n & ~3;
    const dv = f32x4.splat(d);
    const step = (<usize>n) << 2;
    for (; p + 4 <= planes; p += 4) {
      const x0 = x + ((<usize>p * <usize>n) << 2);
      const x1 = x0 + step;
      const x2 = x1 + step;
      const x3 = x2 + step;
      let s0 = f32x4.splat(0);
      let s1 = f32x4.splat(0);
      let s2 = f32x4.splat(0);
      let s3 = f32x4.splat(0);
      for (let c = 0; c < n4; c += 4) {
        const q = (<usize>c) << 2;
        s0 = f32x4.add(s0, v128.load(x0 + q));
        s1 = f32x4.add(s1, v128.load(x1 + q));
        s2 = f32x4.add(s2, v128.load(x2 + q));
        s3 = f32x4.add(s3, v128.load(x3 + q));
      }
      // [s0, s1, s2, s3] lane sums: pair lanes (0+2, 1+3) across two accumulators, then once more
      const t0 = f32x4.add(v128.shuffle<f32>(s0, s1, 0, 4, 1, 5), v128.shuffle<f32>(s0, s1, 2, 6, 3, 7));
      const t1 = f32x4.add(v128.shuffle<f32>(s2, s3, 0, 4, 1, 5), v128.shuffle<f32>(s2, s3, 2, 6, 3, 7));
      let r = f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
      for (let c = n4; c < n; c++) {
        let v = f32x4.splat(ldf(x0, c));
        v = f32x4.replace_lane(v, 1, ldf(x1, c));
        v = f32x4.replace_lane(v, 2, ldf(x2, c));
        v = f32x4.replace_lane(v, 3, ldf(x3, c));
        r = f32x4.add(r, v);
      }
      v128.store(y + ((<usize>p) << 2), f32x4.div(f32x4.add(r, f32x4.splat(0)), dv));
    }
  }
  // the other planes (and every plane of the scalar build) in a SIMD lane's order: 4 column-phase
  // sums, (a0 + a2) + (a1 + a3), the last n mod 4 columns, + 0 — so a plane's mean does not depend
  // on where it falls in the call (a thread's part may start at any plane)
  const n4 = n & ~3;
  for (; p < planes; p++) {
    const xp = x + ((<usize>p * <usize>n) << 2);
    let a0: f32 = 0;
    let a1: f32 = 0;
    let a2: f32 = 0;
    let a3: f32 = 0;
    for (let c = 0; c < n4; c += 4) {
      a0 += ldf(xp, c);
      a1 += ldf(xp, c + 1);
      a2 += ldf(xp, c + 2);
      a3 += ldf(xp, c + 3);
    }
    let s: f32 = (a0 + a2) + (a1 + a3);
    for (let c = n4; c < n; c++) s += ldf(xp, c);
    stf(y, p, (s + 0) / d);
  }
}

/**
 * y = window sum / divisor[k] (float64 sums, one rounding to float32); an empty window gives 0.
 * `buf`: scratch of W float64 (column sums over the window's rows; unused when every window is one row deep). One window over whole planes of
 * at most {@link PLANE_MEAN_MAX} elements (global pooling, adaptive pooling to one bin) takes
 * {@link planeMeans} instead: float32 sums, within float32 accumulation error of the reference.
 */
export function wideAvgForward(
  x: usize, y: usize, div: usize, buf: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32,
): void {
  const HW = H * W;
  if (
    outPlane == 1 && inPlane <= PLANE_MEAN_MAX && inPlane > 0 &&
    ldi(aS, 0) == 0 && ldi(bS, 0) == 0 && ldi(cS, 0) == 0 && ldi(bE, 0) == H && ldi(cE, 0) == W && ldi(aE, 0) * HW == inPlane
  ) {
    planeMeans(x, y, planes, inPlane, <f32>ldd(div, 0));
    return;
  }
  for (let p = 0; p < planes; p++) {
    const xp = x + ((<usize>p * <usize>inPlane) << 2);
    let o = p * outPlane;
    let k = 0;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = ldi(aS, oa);
      const a1 = ldi(aE, oa);
      for (let ob = 0; ob < nB; ob++) {
        const b0 = ldi(bS, ob);
        const b1 = ldi(bE, ob);
        if (a1 <= a0 || b1 <= b0) {
          for (let oc = 0; oc < nC; oc++) stf(y, o++, 0);
          k += nC;
          continue;
        }
        if (a1 - a0 == 1 && b1 - b0 == 1) {
          const row = a0 * HW + b0 * W;
          for (let oc = 0; oc < nC; oc++) {
            const c0 = ldi(cS, oc);
            const c1 = ldi(cE, oc);
            stf(y, o++, c1 > c0 ? <f32>(sumSegment(xp, row + c0, c1 - c0) / ldd(div, k)) : 0);
            k++;
          }
          continue;
        }
        // column sums over the window's rows (float64)
        let c = 0;
        if (ASC_FEATURE_SIMD && (a1 - a0) * (b1 - b0) <= DEEP) {
          // few rows: 4 columns at a time down the rows, the sums in registers
          for (; c + 4 <= W; c += 4) {
            let s0 = f64x2.splat(0);
            let s1 = f64x2.splat(0);
            for (let ia = a0; ia < a1; ia++) {
              for (let ib = b0; ib < b1; ib++) {
                const v = v128.load(xp + ((<usize>(ia * HW + ib * W + c)) << 2));
                s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
                s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
              }
            }
            v128.store(buf + ((<usize>c) << 3), s0);
            v128.store(buf + ((<usize>c) << 3), s1, 16);
          }
        } else if (ASC_FEATURE_SIMD) {
          // many rows: row by row (each row read once, in address order), the columns' sums in buf —
          // each column's rows added in the same order as above
          const W4 = W & ~3;
          memory.fill(buf, 0, (<usize>W4) << 3);
          for (let ia = a0; ia < a1; ia++) {
            for (let ib = b0; ib < b1; ib++) {
              const row = ia * HW + ib * W;
              for (let k = 0; k < W4; k += 4) {
                const q = buf + ((<usize>k) << 3);
                const v = v128.load(xp + ((<usize>(row + k)) << 2));
                v128.store(q, f64x2.add(v128.load(q), f64x2.promote_low_f32x4(v)));
                v128.store(q, f64x2.add(v128.load(q, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1))), 16);
              }
            }
          }
          c = W4;
        }
        for (; c < W; c++) {
          let s: f64 = 0;
          for (let ia = a0; ia < a1; ia++) {
            for (let ib = b0; ib < b1; ib++) s += <f64>ldf(xp, ia * HW + ib * W + c);
          }
          store<f64>(buf + ((<usize>c) << 3), s);
        }
        for (let oc = 0; oc < nC; oc++) {
          const c0 = ldi(cS, oc);
          const c1 = ldi(cE, oc);
          let s: f64 = 0;
          for (let cc = c0; cc < c1; cc++) s += ldd(buf, cc);
          stf(y, o++, c1 > c0 ? <f32>(s / ldd(div, k)) : 0);
          k++;
        }
      }
    }
  }
}
