// poolkit's WebAssembly average pooling forward for strided sliding windows (AssemblyScript, float32),
// re-exported by assembly/pool.ts: `avgRowsForward`, taken by src/backends/wasm/avgrows.ts for plans
// of step 1 whose interior run has stride ≥ 2 (k3 s2 p1, k2 s2, …; 1-d, 2-d and 3-d), in both builds.
//
// Row-wise and separable, vertical first, per output row (one (depth, row) pair of windows):
// - register mode (stride 2, width 2 or 3; windows of 1–4 rows, or 3-d windows of 2–3 × 2–3 rows):
//   the column sums of the window's rows are made in registers, 8 input columns (4 outputs) per
//   step, and split into even and odd columns by shuffles. Width 3 carries the previous step's odd
//   column sums so that each column is summed once (2 column-sum vectors per 4 outputs instead of
//   3); with padding 1 on the left the padding column is a +0 lane, so the clipped first window
//   needs no scalar sum. The scalar build does the same one output at a time.
// - scratch mode (every other plan with an interior run): the window rows' column sums for all the
//   row's columns go to a scratch row first (4 rows per pass), and every window of the output row is
//   then summed from it.
//
// Result: y = fl32(ŝ + 0) / fl32(d), ŝ a float32 sum of the window's taps in some order (rows first,
// then columns), d the float64 divisor rounded to float32 — the same bound as the window kernels of
// assembly/avg.ts (within float32 accumulation error of the reference's float64 sums; stated in
// test/backends/wasm-avgrows.test.ts). `+ 0` turns an all-(−0) sum into +0, as the reference's sum
// from +0 has it; an empty window gives 0.
//
// Pointers are byte addresses; axes arrays are int32 (start, end per output position), every step 1.

import { ldf, ldi, load4, stf } from "./util";

/**
 * Column sums of 4 neighbouring columns at p over the window's rows, `nr` a literal: 1–4 rows, d1,
 * d2, d3 bytes after the first; or 23, 32, 33: a grid of nr / 10 depths × nr % 10 rows (3-d
 * windows), d1 bytes between depths and d2 between rows. Rows in scan order (depth-major).
 */
// @ts-ignore: decorator
@inline function vsum(p: usize, nr: i32, d1: usize, d2: usize, d3: usize): v128 {
  if (nr > 4) {
    const na = nr / 10;
    const nb = nr % 10;
    let v = f32x4.add(v128.load(p), v128.load(p + d2));
    if (nb >= 3) v = f32x4.add(v, v128.load(p + 2 * d2));
    v = f32x4.add(v, v128.load(p + d1));
    v = f32x4.add(v, v128.load(p + d1 + d2));
    if (nb >= 3) v = f32x4.add(v, v128.load(p + d1 + 2 * d2));
    if (na >= 3) {
      v = f32x4.add(v, v128.load(p + 2 * d1));
      v = f32x4.add(v, v128.load(p + 2 * d1 + d2));
      if (nb >= 3) v = f32x4.add(v, v128.load(p + 2 * d1 + 2 * d2));
    }
    return v;
  }
  let v = v128.load(p);
  if (nr >= 2) v = f32x4.add(v, v128.load(p + d1));
  if (nr >= 3) v = f32x4.add(v, v128.load(p + d2));
  if (nr >= 4) v = f32x4.add(v, v128.load(p + d3));
  return v;
}

/** The scalar column sum at p (as {@link vsum}, one column). */
// @ts-ignore: decorator
@inline function ssum(p: usize, nr: i32, d1: usize, d2: usize, d3: usize): f32 {
  if (nr > 4) {
    const na = nr / 10;
    const nb = nr % 10;
    let v = load<f32>(p) + load<f32>(p + d2);
    if (nb >= 3) v += load<f32>(p + 2 * d2);
    v += load<f32>(p + d1);
    v += load<f32>(p + d1 + d2);
    if (nb >= 3) v += load<f32>(p + d1 + 2 * d2);
    if (na >= 3) {
      v += load<f32>(p + 2 * d1);
      v += load<f32>(p + 2 * d1 + d2);
      if (nb >= 3) v += load<f32>(p + 2 * d1 + 2 * d2);
    }
    return v;
  }
  let v = load<f32>(p);
  if (nr >= 2) v += load<f32>(p + d1);
  if (nr >= 3) v += load<f32>(p + d2);
  if (nr >= 4) v += load<f32>(p + d3);
  return v;
}

/** y[o..o+4) = (sum + 0) / dv[o..o+4) (float32 divisors). */
// @ts-ignore: decorator
@inline function put(y: usize, dv: usize, o: i32, sum: v128): void {
  const off = (<usize>o) << 2;
  v128.store(y + off, f32x4.div(f32x4.add(sum, f32x4.splat(0)), v128.load(dv + off)));
}

/**
 * n ≥ 4 outputs at y (divisors at dv) of windows `k` (2 or 3, a literal) columns wide starting 2
 * apart, the first at column p (a pointer into the first of the rows `nr`, d1, d2, d3 of {@link vsum}). Width 3: each
 * step loads the column sums of columns 8j + 1 … 8j + 8 (even lanes: each window's middle tap, odd
 * lanes: its last) and takes the first tap from the previous step's odd lanes; the first window's
 * first column sum is `first` (0 for a padding column, which is then never read). Width 2: columns
 * 8j … 8j + 7, even + odd. A last partial step is moved back to end at output n (its outputs
 * recomputed from three column-sum vectors for width 3); nothing past the last window is read.
 */
// @ts-ignore: decorator
@inline function pairRow(k: i32, nr: i32, p: usize, d1: usize, d2: usize, d3: usize, first: f32, n: i32, y: usize, dv: usize): void {
  const nb = n >> 2;
  if (k == 3) {
    let prev = f32x4.replace_lane(f32x4.splat(0), 3, first);
    let q = p + 4;
    for (let j = 0; j < nb; j++) {
      const u = vsum(q, nr, d1, d2, d3);
      const w = vsum(q + 16, nr, d1, d2, d3);
      const odd = v128.shuffle<f32>(u, w, 1, 3, 5, 7);
      const sum = f32x4.add(f32x4.add(v128.shuffle<f32>(prev, odd, 3, 4, 5, 6), v128.shuffle<f32>(u, w, 0, 2, 4, 6)), odd);
      put(y, dv, j << 2, sum);
      prev = odd;
      q += 32;
    }
    if (n & 3) {
      // outputs n − 4 … n − 1 (n > 4, so the block starts at column 2(n − 4) ≥ 2 past the first window's start)
      const o = n - 4;
      const c = p + ((<usize>o) << 3);
      const v0 = vsum(c, nr, d1, d2, d3);
      const v4 = vsum(c + 16, nr, d1, d2, d3);
      const v5 = vsum(c + 20, nr, d1, d2, d3);
      const t0 = v128.shuffle<f32>(v0, v4, 0, 2, 4, 6);
      const sum = f32x4.add(f32x4.add(t0, v128.shuffle<f32>(v0, v4, 1, 3, 5, 7)), v128.shuffle<f32>(t0, v5, 1, 2, 3, 7));
      put(y, dv, o, sum);
    }
  } else {
    let q = p;
    for (let j = 0; j < nb; j++) {
      const u = vsum(q, nr, d1, d2, d3);
      const w = vsum(q + 16, nr, d1, d2, d3);
      put(y, dv, j << 2, f32x4.add(v128.shuffle<f32>(u, w, 0, 2, 4, 6), v128.shuffle<f32>(u, w, 1, 3, 5, 7)));
      q += 32;
    }
    if (n & 3) {
      const o = n - 4;
      const c = p + ((<usize>o) << 3);
      const u = vsum(c, nr, d1, d2, d3);
      const w = vsum(c + 16, nr, d1, d2, d3);
      put(y, dv, o, f32x4.add(v128.shuffle<f32>(u, w, 0, 2, 4, 6), v128.shuffle<f32>(u, w, 1, 3, 5, 7)));
    }
  }
}

/**
 * {@link pairRow} in the scalar build: the same column sums (each column once), one output at a time
 * (n ≥ 1; no partial step).
 */
// @ts-ignore: decorator
@inline function pairRowScalar(k: i32, nr: i32, p: usize, d1: usize, d2: usize, d3: usize, first: f32, n: i32, y: usize, dv: usize): void {
  if (k == 3) {
    let prev = first;
    let q = p + 4;
    for (let o = 0; o < n; o++) {
      const odd = ssum(q + 4, nr, d1, d2, d3);
      stf(y, o, ((prev + ssum(q, nr, d1, d2, d3)) + odd + <f32>0) / ldf(dv, o));
      prev = odd;
      q += 8;
    }
  } else {
    let q = p;
    for (let o = 0; o < n; o++) {
      stf(y, o, (ssum(q, nr, d1, d2, d3) + ssum(q + 4, nr, d1, d2, d3) + <f32>0) / ldf(dv, o));
      q += 8;
    }
  }
}

/**
 * n ≥ 4 outputs at y of windows k columns wide starting s apart (any s ≥ 2, k ≥ 1), the first at
 * column sum p of the scratch row: per 4 outputs, the k taps gathered lane-wise and added left to
 * right; the last partial step moved back to end at output n. Stride 2 reads up to one column past
 * the last window (the scratch row has room; the lane is dropped).
 */
// @ts-ignore: decorator
@inline function gatherRow(s: i32, k: i32, p: usize, n: i32, y: usize, dv: usize): void {
  let o = 0;
  while (o < n) {
    if (o + 4 > n) o = n - 4;
    const c = o * s;
    let sum = load4(p, c, s);
    for (let t = 1; t < k; t++) sum = f32x4.add(sum, load4(p, c + t, s));
    put(y, dv, o, sum);
    o += 4;
  }
}

/** One output's window sum over rows given by (nr, d1, d2, d3) at p, columns [c0, c1) from p's column 0, divided; 0 when empty. */
// @ts-ignore: decorator
@inline function edge(nr: i32, p: usize, d1: usize, d2: usize, d3: usize, c0: i32, c1: i32, y: usize, dv: usize, o: i32): void {
  let sum: f32 = 0;
  for (let c = c0; c < c1; c++) sum += ssum(p + ((<usize>c) << 2), nr, d1, d2, d3);
  stf(y, o, c1 > c0 ? (sum + <f32>0) / ldf(dv, o) : 0);
}

/**
 * The column sums of rows a0..a1 × b0..b1 (scan order) of plane xp for columns [lo, hi) into
 * cs[lo..hi): four rows per pass (the first pass writes, later ones add), 4 columns per step in the
 * SIMD build.
 */
// @ts-ignore: decorator
@inline function colSumsTo(cs: usize, xp: usize, a0: i32, a1: i32, b0: i32, b1: i32, HW: i32, W: i32, lo: i32, hi: i32): void {
  const n = (a1 - a0) * (b1 - b0);
  let ia = a0;
  let ib = b0;
  for (let i = 0; i < n; i += 4) {
    const g = min<i32>(4, n - i);
    // the next g rows in scan order (no division: a cursor (ia, ib))
    const r0 = ia * HW + ib * W;
    if (++ib == b1) {
      ib = b0;
      ia++;
    }
    let r1 = r0;
    let r2 = r0;
    let r3 = r0;
    if (g >= 2) {
      r1 = ia * HW + ib * W;
      if (++ib == b1) {
        ib = b0;
        ia++;
      }
    }
    if (g >= 3) {
      r2 = ia * HW + ib * W;
      if (++ib == b1) {
        ib = b0;
        ia++;
      }
    }
    if (g >= 4) {
      r3 = ia * HW + ib * W;
      if (++ib == b1) {
        ib = b0;
        ia++;
      }
    }
    const p = xp + ((<usize>r0) << 2);
    const d1 = (<usize>(r1 - r0)) << 2;
    const d2 = (<usize>(r2 - r0)) << 2;
    const d3 = (<usize>(r3 - r0)) << 2;
    let c = lo;
    if (ASC_FEATURE_SIMD) {
      for (; c + 4 <= hi; c += 4) {
        const q = (<usize>c) << 2;
        let v: v128;
        if (g == 4) v = vsum(p + q, 4, d1, d2, d3);
        else if (g == 3) v = vsum(p + q, 3, d1, d2, d3);
        else if (g == 2) v = vsum(p + q, 2, d1, d2, d3);
        else v = vsum(p + q, 1, d1, d2, d3);
        if (i > 0) v = f32x4.add(v128.load(cs + q), v);
        v128.store(cs + q, v);
      }
    }
    for (; c < hi; c++) {
      const q = (<usize>c) << 2;
      let v: f32;
      if (g == 4) v = ssum(p + q, 4, d1, d2, d3);
      else if (g == 3) v = ssum(p + q, 3, d1, d2, d3);
      else if (g == 2) v = ssum(p + q, 2, d1, d2, d3);
      else v = ssum(p + q, 1, d1, d2, d3);
      if (i > 0) v = load<f32>(cs + q) + v;
      store<f32>(cs + q, v);
    }
  }
}

/** One output row in register mode, rows (nr, d1, d2, d3) as {@link vsum}'s: border windows one by one, the interior run by {@link pairRow}. */
// @ts-ignore: decorator
@inline function regRow(
  k: i32, nr: i32, p: usize, d1: usize, d2: usize, d3: usize, pc: usize, c0: i32, cS: usize, cE: usize, nC: i32, lo: i32, hi: i32,
  yr: usize, dv: usize, yo: usize, dvo: usize,
): void {
  for (let oc = 0; oc < lo; oc++) edge(nr, p, d1, d2, d3, ldi(cS, oc), ldi(cE, oc), yr, dv, oc);
  const first: f32 = k == 3 && c0 >= 0 ? ssum(pc, nr, d1, d2, d3) : 0; // (width 2 carries nothing)
  if (ASC_FEATURE_SIMD) pairRow(k, nr, pc, d1, d2, d3, first, hi - lo, yo, dvo);
  else pairRowScalar(k, nr, pc, d1, d2, d3, first, hi - lo, yo, dvo);
  for (let oc = hi; oc < nC; oc++) edge(nr, p, d1, d2, d3, ldi(cS, oc), ldi(cE, oc), yr, dv, oc);
}

/**
 * Every output row of one plane: register mode for windows of 1–4 rows or 2–3 × 2–3 rows when `reg` (a literal: stride
 * 2 and width 2 or 3), else scratch mode; `s`, `k` the interior's stride and
 * width (literals where a specialisation exists). Interior outputs [lo, hi) (hi − lo ≥ 4) start at
 * column c0 (−1: a padding column before the first window, width 3 and stride 2 only).
 */
// @ts-ignore: decorator
@inline function rowsPlane(
  reg: bool, s: i32, k: i32, xp: usize, y: usize, div: usize, cs: usize, H: i32, W: i32,
  aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32,
  lo: i32, hi: i32, c0: i32, colLo: i32, colHi: i32,
): void {
  const HW = H * W;
  const n = hi - lo;
  let o = 0;
  for (let oa = 0; oa < nA; oa++) {
    const a0 = ldi(aS, oa);
    const a1 = ldi(aE, oa);
    for (let ob = 0; ob < nB; ob++) {
      const b0 = ldi(bS, ob);
      const b1 = ldi(bE, ob);
      const yr = y + ((<usize>o) << 2);
      const dv = div + ((<usize>o) << 2);
      const nr = (a1 - a0) * (b1 - b0);
      if (nr <= 0) {
        for (let oc = 0; oc < nC; oc++) stf(yr, oc, 0);
      } else if (reg && nr <= 4) {
        // rows in scan order: (a0, b0), then along b, then the next depth
        // (one depth: rows b0, b0 + 1, …; two depths of 2 rows or one row each: the second depth's follow)
        const nb = b1 - b0;
        const r0 = a0 * HW + b0 * W;
        const r1 = nb >= 2 ? r0 + W : r0 + HW;
        const r2 = nb >= 3 ? r0 + 2 * W : nb == 2 ? r0 + HW : r0 + 2 * HW;
        const r3 = nb >= 4 ? r0 + 3 * W : nb == 2 ? r0 + HW + W : nb == 1 ? r0 + 3 * HW : r0 + HW;
        const p = xp + ((<usize>r0) << 2);
        const d1 = (<usize>(r1 - r0)) << 2;
        const d2 = (<usize>(r2 - r0)) << 2;
        const d3 = (<usize>(r3 - r0)) << 2;
        const pc = p + ((<usize>c0) << 2);
        const yo = yr + ((<usize>lo) << 2);
        const dvo = dv + ((<usize>lo) << 2);
        if (nr == 4) regRow(k, 4, p, d1, d2, d3, pc, c0, cS, cE, nC, lo, hi, yr, dv, yo, dvo);
        else if (nr == 3) regRow(k, 3, p, d1, d2, d3, pc, c0, cS, cE, nC, lo, hi, yr, dv, yo, dvo);
        else if (nr == 2) regRow(k, 2, p, d1, d2, d3, pc, c0, cS, cE, nC, lo, hi, yr, dv, yo, dvo);
        else regRow(k, 1, p, d1, d2, d3, pc, c0, cS, cE, nC, lo, hi, yr, dv, yo, dvo);
      } else if (reg && a1 - a0 <= 3 && b1 - b0 <= 3) {
        // 3-d windows of 2–3 depths × 2–3 rows (more than 4 rows): the grid in registers
        const p = xp + ((<usize>(a0 * HW + b0 * W)) << 2);
        const dA = (<usize>HW) << 2;
        const dB = (<usize>W) << 2;
        const pc = p + ((<usize>c0) << 2);
        const yo = yr + ((<usize>lo) << 2);
        const dvo = dv + ((<usize>lo) << 2);
        const g = (a1 - a0) * 10 + (b1 - b0);
        if (g == 33) regRow(k, 33, p, dA, dB, 0, pc, c0, cS, cE, nC, lo, hi, yr, dv, yo, dvo);
        else if (g == 32) regRow(k, 32, p, dA, dB, 0, pc, c0, cS, cE, nC, lo, hi, yr, dv, yo, dvo);
        else regRow(k, 23, p, dA, dB, 0, pc, c0, cS, cE, nC, lo, hi, yr, dv, yo, dvo);
      } else {
        colSumsTo(cs, xp, a0, a1, b0, b1, HW, W, colLo, colHi);
        if (ASC_FEATURE_SIMD && hi > lo) {
          for (let oc = 0; oc < lo; oc++) edge(1, cs, 0, 0, 0, ldi(cS, oc), ldi(cE, oc), yr, dv, oc);
          const pc = cs + ((<usize>c0) << 2);
          const yo = yr + ((<usize>lo) << 2);
          const dvo = dv + ((<usize>lo) << 2);
          if (s == 2 && (k == 2 || k == 3)) pairRow(k, 1, pc, 0, 0, 0, c0 < 0 ? 0 : load<f32>(pc), n, yo, dvo);
          else gatherRow(s, k, pc, n, yo, dvo);
          for (let oc = hi; oc < nC; oc++) edge(1, cs, 0, 0, 0, ldi(cS, oc), ldi(cE, oc), yr, dv, oc);
        } else {
          for (let oc = 0; oc < nC; oc++) edge(1, cs, 0, 0, 0, ldi(cS, oc), ldi(cE, oc), yr, dv, oc);
        }
      }
      o += nC;
    }
  }
}

/** Every plane (planes of inPlane and outPlane floats) by {@link rowsPlane}, `reg`, `s`, `k` literal where the callers specialise. */
// @ts-ignore: decorator
@inline function rowsPlanes(
  reg: bool, s: i32, k: i32, x: usize, y: usize, div: usize, cs: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, lo: i32, hi: i32, c0: i32,
): void {
  // the columns any window of a row reads (scratch mode)
  let colLo = W;
  let colHi = 0;
  for (let oc = 0; oc < nC; oc++) {
    if (ldi(cE, oc) > ldi(cS, oc)) {
      colLo = min<i32>(colLo, ldi(cS, oc));
      colHi = max<i32>(colHi, ldi(cE, oc));
    }
  }
  for (let p = 0; p < planes; p++) {
    const xp = x + ((<usize>p * <usize>inPlane) << 2);
    const yp = y + ((<usize>p * <usize>outPlane) << 2);
    rowsPlane(reg, s, k, xp, yp, div, cs, H, W, aS, aE, nA, bS, bE, nB, cS, cE, nC, lo, hi, c0, colLo, colHi);
  }
}

/** Each specialisation a function of its own (literal reg, s, k). */
function planesReg23(x: usize, y: usize, div: usize, cs: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32, aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, lo: i32, hi: i32, c0: i32): void {
  rowsPlanes(true, 2, 3, x, y, div, cs, planes, H, W, inPlane, outPlane, aS, aE, nA, bS, bE, nB, cS, cE, nC, lo, hi, c0);
}
function planesReg22(x: usize, y: usize, div: usize, cs: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32, aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, lo: i32, hi: i32, c0: i32): void {
  rowsPlanes(true, 2, 2, x, y, div, cs, planes, H, W, inPlane, outPlane, aS, aE, nA, bS, bE, nB, cS, cE, nC, lo, hi, c0);
}
function planesScratch(s: i32, k: i32, x: usize, y: usize, div: usize, cs: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32, aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, lo: i32, hi: i32, c0: i32): void {
  rowsPlanes(false, s, k, x, y, div, cs, planes, H, W, inPlane, outPlane, aS, aE, nA, bS, bE, nB, cS, cE, nC, lo, hi, c0);
}

/**
 * y = window sums / divisors for sliding windows of step 1 with an interior run of stride ≥ 2
 * (see the top of the file). `div`: float32 divisors per output position of a plane; `cs`: scratch
 * of W + 8 floats (the column sums of one output row, column c at cs + 4c). Axes as avgForward's
 * (A = depth, B = height, C = width) without steps; interior outputs [lo, hi) of windows `k` wide
 * starting `s` apart, the first at column c0 (−1 when the padding column is taken into the run: then
 * window lo = 0 is clipped to columns 0, 1 and s = 2, k = 3).
 */
export function avgRowsForward(
  x: usize, y: usize, div: usize, cs: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32,
  lo: i32, hi: i32, s: i32, k: i32, c0: i32,
): void {
  if (s == 2 && k == 3) planesReg23(x, y, div, cs, planes, H, W, inPlane, outPlane, aS, aE, nA, bS, bE, nB, cS, cE, nC, lo, hi, c0);
  else if (s == 2 && k == 2) planesReg22(x, y, div, cs, planes, H, W, inPlane, outPlane, aS, aE, nA, bS, bE, nB, cS, cE, nC, lo, hi, c0);
  else planesScratch(s, k, x, y, div, cs, planes, H, W, inPlane, outPlane, aS, aE, nA, bS, bE, nB, cS, cE, nC, lo, hi, c0);
}
