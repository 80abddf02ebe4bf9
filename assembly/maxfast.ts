// Max pooling forward, SIMD (AssemblyScript, float32): values only (`maxValuesForward`,
// plain forward calls) and values with flat in-plane indices (`maxRowsForward`). Exported through
// assembly/pool.ts.
//
// Results are bit for bit those of the TypeScript reference (src/kernels/window.ts): PyTorch's
// sequential scan — replace when `v > best || v != v`, d/h/w order — so ties (±0 included) go to the
// first maximum, NaN propagates with the last NaN's bits and index, and an empty window keeps
// (−∞, its first tap).
//
// Separable, horizontal first. Without NaN, the scan's winner over a window is its first maximum in
// scan order, and any reduction tree that keeps the earlier operand on ties gives it: `f32x4.pmax(a,
// b)` is `a < b ? b : a` (one vmaxps), keeping `a` unless b is strictly greater. So each window row's
// maxima over its k taps are computed for 4 neighbouring outputs (with the index of the winning tap)
// and the rows are merged in scan order, earlier rows on the left. The vertical-first order is not
// exact: with −0 in an earlier row and +0 in a later row's earlier column, the scan keeps −0 and the
// column-first order +0 (a variant that re-ran blocks with a zero maximum row-first measured no
// faster for 3×3 stride 2, so it is not kept).
//
// Values only, 2×2 stride 2 and 3×3 stride 2 padding 1 windows one depth row deep (W1, W2) first
// take whole-plane runs ({@link runsPlane}: {@link runs22}, {@link runs23}), chosen once per call
// ({@link runsMode}): every output row of a plane in one loop, with no per-row call, dispatch or NaN
// test — one NaN flag per plane, and a plane with a NaN goes on to plane2d below, which finds its
// rows and scans them exactly. 2×2 reads both window rows block by block, two blocks per step (a
// 64-byte line of each row); 3×3 reduces each input row once in address order through two scratch
// rows. Against plane2d in one memory (scratch A/B, 1001 calls each in random order, load 2–7 from
// other jobs): W1 0.92–0.93×, W2 0.93× (median wall time); the 3×3 rows read as two interleaved
// streams measured the same within 1–2 %, and vertical-first 2×2 (fewer shuffles, but a ±0 check)
// 1.03–1.07× the 2×2 run's time. Everything else merges the rows of an output row's windows in one
// of three ways:
// - plane2d ({@link plane2d}, {@link rowRun}): windows one depth row deep (1-d, 2-d, 3-d with kernel
//   depth 1) with at most 3 rows, stride 1–2 and width 2–3 (every common geometry, W1 and W2): a whole
//   plane per call of a function specialised for its row geometry, each row reduced in registers and
//   merged at once; a row shared by consecutive output rows (3×3 stride 2, 2×2 stride 1) is reduced
//   once and its maxima carried to the next output row in a scratch row (one store and one load per
//   4 outputs instead of a row's loads, shuffles and maxima). Values only, this skips the index
//   arithmetic and the int32 stores entirely. W2 values measured 10–15 % faster than the fused path
//   below (which it replaced for these planes), W2 with indices ~20 %. Values only, windows 3 wide at
//   stride 2 with padding 1 on the left (W2's planes with a NaN, other kernel heights) take
//   {@link pairRun} instead: 2 aligned loads and 3 shuffles per row and 4 outputs (the padding
//   column a −∞ lane, so no left-edge scalar window), the rows reduced one after the other over the
//   whole output row so the input is read in address order — 0.81× the rowRun plane's time for W2
//   (scratch A/B in one memory, caches evicted before each call; the kernel then runs at ~0.8× the
//   time of a plain read of x and write of y). For W1 (2×2 stride 2) the same row-at-a-time order
//   measured no faster than rowRun (0.999–1.004×), so W1's planes with a NaN keep rowRun: its loop
//   is 4 loads, 4 shuffles, 3 maxima, 4 adds and a store per 4 outputs, and stalls on the loads
//   (perf: about a third of its samples on one load).
// - fused ({@link fusedRow}): the same row geometries for the remaining windows with 1–3 rows (3-d
//   windows 2–3 deep with one row each), per output row, no carried row.
// - ring ({@link rowMaxima}, {@link combine}): everything else with an interior run (3-d windows,
//   wider or more strided windows): each input row's maxima for every interior output column go to a
//   small ring of rows, so a row shared by overlapping windows is reduced once per plane, and each
//   output row combines its rows from there. For 3×3 stride 2 this reduces a third fewer rows than
//   the fused path but measured slower (values: 3.2 ms against 2.3 ms for [8,64,112,112]): the
//   store and reload of the ring rows cost more than the row work they save.
//
// NaN: pmax and `>` ignore a NaN operand in the second place, so each row's loaded vectors are added
// into an accumulator (NaN + anything is NaN; ∞ − ∞ gives a false alarm, which only costs the exact
// path). An output row any of whose window rows held a NaN is computed by the exact per-window scan.
//
// Scratch (per thread part, from the host): `ring` rows of [tag, nan flag] (i32 pairs) followed by
// `ring` rows of nC maxima and, with indices, `ring` rows of nC indices. A row lives in slot
// `row mod ring`; the host sets ring ≥ the largest window's row span ((kD − 1)·H + kH), so the rows
// of one window never share a slot and computing a row only evicts one no longer needed.

import { laneSteps, ldf, ldi, load4, mergeArg, mergeMax, rowArg, rowMax, stf, sti, tap } from "./util";

/** Scalar scan of one window (branch-free selects: on random data a branchy scan mispredicts). */
// @ts-ignore: decorator
@inline function oneWindow(
  withIdx: bool, xp: usize, y: usize, idx: usize, o: i32,
  a0: i32, a1: i32, sa: i32, b0: i32, b1: i32, sb: i32, c0: i32, c1: i32, sc: i32, H: i32, W: i32,
): void {
  let best: f32 = -Infinity;
  let bi = (a0 * H + b0) * W + c0;
  for (let ia = a0; ia < a1; ia += sa) {
    for (let ib = b0; ib < b1; ib += sb) {
      const row = (ia * H + ib) * W;
      for (let ic = c0; ic < c1; ic += sc) {
        const v = ldf(xp, row + ic);
        const m = (<i32>(v > best)) | (<i32>(v != v));
        best = select<f32>(v, best, m != 0);
        if (withIdx) bi = select<i32>(row + ic, bi, m != 0);
      }
    }
  }
  stf(y, o, best);
  if (withIdx) sti(idx, o, bi);
}

/**
 * Row maxima of input row `r` (flat offset of its first element) for the interior output columns
 * [cLo, cHi) — k taps `s` apart per column, windows starting at cS[oc] — into hv (and indices into
 * hi), element oc. Returns true when a loaded value was NaN (or ∞ − ∞ arose in the check).
 */
// @ts-ignore: decorator
@inline function rowMaxima(
  withIdx: bool, s: i32, k: i32, xp: usize, r: i32, cS: usize, cLo: i32, cHi: i32, hv: usize, hi: usize,
): bool {
  const lane = laneSteps(s);
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let oc = cLo;
  let c0 = 0;
  while (oc < cHi) {
    if (oc + 4 > cHi) oc = cHi - 4;
    c0 = ldi(cS, oc);
    const q = r + c0;
    const p = xp + ((<usize>q) << 2);
    let m: v128;
    let bi: v128 = i32x4.splat(0);
    if ((s == 1 || s == 2) && (k == 2 || k == 3)) {
      let t0: v128;
      let t1: v128;
      let t2: v128 = f32x4.splat(0);
      if (s == 1) {
        t0 = v128.load(p);
        t1 = v128.load(p, 4);
        if (k == 3) t2 = v128.load(p, 8);
        acc0 = f32x4.add(acc0, t0);
      } else {
        const u = v128.load(p);
        const w = v128.load(p, 16);
        t0 = v128.shuffle<f32>(u, w, 0, 2, 4, 6);
        t1 = v128.shuffle<f32>(u, w, 1, 3, 5, 7);
        if (k == 3) t2 = v128.shuffle<f32>(t0, v128.load(p, 20), 1, 2, 3, 7); // x2 x4 x6 | x8
        acc0 = f32x4.add(acc0, u);
        acc1 = f32x4.add(acc1, w);
      }
      const m01 = f32x4.pmax(t0, t1);
      m = k == 3 ? f32x4.pmax(m01, t2) : m01;
      if (withIdx) {
        // base + 1 where t1 > t0 (masks are −1/0); base + 2 where t2 > max(t0, t1), through i32 max
        const base = i32x4.add(i32x4.splat(q), lane);
        const i01 = i32x4.sub(base, f32x4.gt(t1, t0));
        bi = k == 3 ? i32x4.max_s(i01, v128.and(f32x4.gt(t2, m01), i32x4.add(base, i32x4.splat(2)))) : i01;
      }
    } else {
      // any stride and width: taps gathered lane-wise, each added to the NaN check
      m = load4(xp, q, s);
      acc0 = f32x4.add(acc0, m);
      if (withIdx) bi = i32x4.add(i32x4.splat(q), lane);
      for (let j = 1; j < k; j++) {
        const t = load4(xp, q + j, s);
        acc0 = f32x4.add(acc0, t);
        if (withIdx) bi = v128.bitselect(i32x4.add(i32x4.splat(q + j), lane), bi, f32x4.gt(t, m));
        m = f32x4.pmax(m, t);
      }
    }
    v128.store(hv + ((<usize>oc) << 2), m);
    if (withIdx) v128.store(hi + ((<usize>oc) << 2), bi);
    oc += 4;
  }
  let nan = v128.any_true(v128.or(f32x4.ne(acc0, acc0), f32x4.ne(acc1, acc1)));
  if ((s == 1 || s == 2) && (k == 2 || k == 3)) {
    // the last block's taps past x[c0 + 4s), which no vector added above held
    for (let c = c0 + 4 * s; c < c0 + 3 * s + k; c++) {
      const v = ldf(xp, r + c);
      nan = nan || v != v;
    }
  }
  return nan;
}

/** {@link rowMaxima} with the common strides and widths as literals, so the inlined copies fold their tests. */
function rowMaximaAny(withIdx: bool, s: i32, k: i32, xp: usize, r: i32, cS: usize, cLo: i32, cHi: i32, hv: usize, hi: usize): bool {
  if (withIdx) {
    if (s == 2 && k == 3) return rowMaxima(true, 2, 3, xp, r, cS, cLo, cHi, hv, hi);
    if (s == 2 && k == 2) return rowMaxima(true, 2, 2, xp, r, cS, cLo, cHi, hv, hi);
    if (s == 1 && k == 3) return rowMaxima(true, 1, 3, xp, r, cS, cLo, cHi, hv, hi);
    if (s == 1 && k == 2) return rowMaxima(true, 1, 2, xp, r, cS, cLo, cHi, hv, hi);
    return rowMaxima(true, s, k, xp, r, cS, cLo, cHi, hv, hi);
  }
  if (s == 2 && k == 3) return rowMaxima(false, 2, 3, xp, r, cS, cLo, cHi, hv, hi);
  if (s == 2 && k == 2) return rowMaxima(false, 2, 2, xp, r, cS, cLo, cHi, hv, hi);
  if (s == 1 && k == 3) return rowMaxima(false, 1, 3, xp, r, cS, cLo, cHi, hv, hi);
  if (s == 1 && k == 2) return rowMaxima(false, 1, 2, xp, r, cS, cLo, cHi, hv, hi);
  return rowMaxima(false, s, k, xp, r, cS, cLo, cHi, hv, hi);
}

/**
 * Output columns [cLo, cHi) of one output row whose window has nr (1–3, a literal) rows at flat
 * offsets r0, r1, r2, without a ring: every row reduced in registers and merged at once. For plans
 * whose consecutive windows share no input row (nothing to reuse: 2×2 stride 2), where the ring's
 * store and reload would only cost. Stride and width literals (1 or 2, 2 or 3). Returns true when a
 * tap was NaN (then the caller takes the exact scan).
 */
// @ts-ignore: decorator
@inline function fusedRow(
  withIdx: bool, s: i32, k: i32, nr: i32, xp: usize, y: usize, idx: usize, r0: i32, r1: i32, r2: i32, cS: usize, cLo: i32, cHi: i32,
): bool {
  const lane = laneSteps(s);
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let oc = cLo;
  let c0 = 0;
  while (oc < cHi) {
    if (oc + 4 > cHi) oc = cHi - 4;
    c0 = ldi(cS, oc);
    let q = r0 + c0;
    let p = xp + ((<usize>q) << 2);
    let bv = rowMax(p, s, k);
    let bi: v128 = withIdx ? rowArg(p, i32x4.add(i32x4.splat(q), lane), s, k) : i32x4.splat(0);
    acc0 = f32x4.add(acc0, v128.load(p));
    if (s == 2) acc1 = f32x4.add(acc1, v128.load(p, 16));
    if (nr >= 2) {
      q = r1 + c0;
      p = xp + ((<usize>q) << 2);
      const rv = rowMax(p, s, k);
      if (withIdx) bi = mergeArg(bv, bi, rv, rowArg(p, i32x4.add(i32x4.splat(q), lane), s, k));
      bv = mergeMax(bv, rv);
      acc0 = f32x4.add(acc0, v128.load(p));
      if (s == 2) acc1 = f32x4.add(acc1, v128.load(p, 16));
    }
    if (nr >= 3) {
      q = r2 + c0;
      p = xp + ((<usize>q) << 2);
      const rv = rowMax(p, s, k);
      if (withIdx) bi = mergeArg(bv, bi, rv, rowArg(p, i32x4.add(i32x4.splat(q), lane), s, k));
      bv = mergeMax(bv, rv);
      acc0 = f32x4.add(acc0, v128.load(p));
      if (s == 2) acc1 = f32x4.add(acc1, v128.load(p, 16));
    }
    const off = (<usize>oc) << 2;
    v128.store(y + off, bv);
    if (withIdx) v128.store(idx + off, bi);
    oc += 4;
  }
  let nan = v128.any_true(v128.or(f32x4.ne(acc0, acc0), f32x4.ne(acc1, acc1)));
  // the last block's taps past x[c0 + 4s), which no vector added above held
  for (let c = c0 + 4 * s; c < c0 + 3 * s + k; c++) {
    nan = nan || ldf(xp, r0 + c) != ldf(xp, r0 + c);
    if (nr >= 2) nan = nan || ldf(xp, r1 + c) != ldf(xp, r1 + c);
    if (nr >= 3) nan = nan || ldf(xp, r2 + c) != ldf(xp, r2 + c);
  }
  return nan;
}

/** {@link fusedRow} for one stride and width, the row count as a literal. */
// @ts-ignore: decorator
@inline function fusedRows(
  withIdx: bool, s: i32, k: i32, nr: i32, xp: usize, y: usize, idx: usize, r0: i32, r1: i32, r2: i32, cS: usize, cLo: i32, cHi: i32,
): i32 {
  if (nr == 3) return <i32>fusedRow(withIdx, s, k, 3, xp, y, idx, r0, r1, r2, cS, cLo, cHi);
  if (nr == 2) return <i32>fusedRow(withIdx, s, k, 2, xp, y, idx, r0, r1, r2, cS, cLo, cHi);
  return <i32>fusedRow(withIdx, s, k, 1, xp, y, idx, r0, r1, r2, cS, cLo, cHi);
}

/**
 * {@link fusedRow} with the common strides and widths as literals, so the inlined copies fold their
 * tests: 0 done, 1 a tap was NaN (the caller re-runs the row exactly), 2 no copy for this geometry.
 */
function fusedAny(
  withIdx: bool, s: i32, k: i32, nr: i32, xp: usize, y: usize, idx: usize, r0: i32, r1: i32, r2: i32, cS: usize, cLo: i32, cHi: i32,
): i32 {
  if (withIdx) {
    if (s == 2 && k == 2) return fusedRows(true, 2, 2, nr, xp, y, idx, r0, r1, r2, cS, cLo, cHi);
    if (s == 2 && k == 3) return fusedRows(true, 2, 3, nr, xp, y, idx, r0, r1, r2, cS, cLo, cHi);
    if (s == 1 && k == 3) return fusedRows(true, 1, 3, nr, xp, y, idx, r0, r1, r2, cS, cLo, cHi);
    if (s == 1 && k == 2) return fusedRows(true, 1, 2, nr, xp, y, idx, r0, r1, r2, cS, cLo, cHi);
    return 2;
  }
  if (s == 2 && k == 2) return fusedRows(false, 2, 2, nr, xp, y, idx, r0, r1, r2, cS, cLo, cHi);
  if (s == 2 && k == 3) return fusedRows(false, 2, 3, nr, xp, y, idx, r0, r1, r2, cS, cLo, cHi);
  if (s == 1 && k == 3) return fusedRows(false, 1, 3, nr, xp, y, idx, r0, r1, r2, cS, cLo, cHi);
  if (s == 1 && k == 2) return fusedRows(false, 1, 2, nr, xp, y, idx, r0, r1, r2, cS, cLo, cHi);
  return 2;
}

/**
 * Combine n (1–3) row maxima in scan order into output columns [cLo, cHi): row j's values at vj
 * (indices at ij). A later row replaces only where strictly greater, and its indices exceed every
 * earlier row's, so `max_s(bi, m & ri)` picks them.
 */
// @ts-ignore: decorator
@inline function combine(
  withIdx: bool, n: i32, y: usize, idx: usize, v0: usize, i0: usize, v1: usize, i1: usize, v2: usize, i2: usize, cLo: i32, cHi: i32,
): void {
  let oc = cLo;
  while (oc < cHi) {
    if (oc + 4 > cHi) oc = cHi - 4;
    const off = (<usize>oc) << 2;
    let bv = v128.load(v0 + off);
    let bi: v128 = withIdx ? v128.load(i0 + off) : i32x4.splat(0);
    if (n >= 2) {
      const rv = v128.load(v1 + off);
      if (withIdx) bi = i32x4.max_s(bi, v128.and(f32x4.gt(rv, bv), v128.load(i1 + off)));
      bv = f32x4.pmax(bv, rv);
    }
    if (n >= 3) {
      const rv = v128.load(v2 + off);
      if (withIdx) bi = i32x4.max_s(bi, v128.and(f32x4.gt(rv, bv), v128.load(i2 + off)));
      bv = f32x4.pmax(bv, rv);
    }
    v128.store(y + off, bv);
    if (withIdx) v128.store(idx + off, bi);
    oc += 4;
  }
}

/**
 * One plane: the shared body of {@link maxValuesForward} and {@link maxRowsForward}. `y`/`idx`
 * point at the plane's first output; scratch as described at the top of the file. The SIMD build
 * takes {@link rowsPlane} when the plan has an interior run; everything else is the scalar scan.
 */
// @ts-ignore: decorator
@inline function plane(
  withIdx: bool, xp: usize, y: usize, idx: usize, H: i32, W: i32,
  aS: usize, aE: usize, nA: i32, sa: i32,
  bS: usize, bE: usize, nB: i32, sb: i32,
  cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, scratch: usize, ring: i32,
): void {
  if (ASC_FEATURE_SIMD) {
    if (cHi - cLo >= 4) {
      rowsPlane(withIdx, xp, y, idx, H, W, aS, aE, nA, bS, bE, nB, cS, cE, nC, cLo, cHi, cStride, cK, scratch, ring);
      return;
    }
  }
  let o = 0;
  for (let oa = 0; oa < nA; oa++) {
    const a0 = ldi(aS, oa);
    const a1 = ldi(aE, oa);
    for (let ob = 0; ob < nB; ob++) {
      const b0 = ldi(bS, ob);
      const b1 = ldi(bE, ob);
      for (let oc = 0; oc < nC; oc++) oneWindow(withIdx, xp, y, idx, o++, a0, a1, sa, b0, b1, sb, ldi(cS, oc), ldi(cE, oc), sc, H, W);
    }
  }
}

// ---- 2-d planes with at most 3 window rows and a common row geometry (every 2-d max pool with
// kernel height ≤ 3 and width 2–3, stride 1–2, no dilation: W1, W2 and their stride-1 cousins)

/**
 * Tap j (0–2) of 4 neighbouring windows `s` (1 or 2) apart at p: lane l is x[p + l·s + j]. Stride 2
 * de-interleaves two vectors (one shufps each); its tap 2 (x2 x4 x6 x8) comes from two more loads
 * (x2..x5 and x5..x8: nothing past the last window's last tap, which may end the input) and one
 * shufps (lanes 0 2 | 1 3), not from a cross-vector shuffle of tap 0 (three instructions).
 */
// @ts-ignore: decorator
@inline function tapAt(p: usize, s: i32, j: i32): v128 {
  if (s == 1) {
    if (j == 0) return v128.load(p);
    if (j == 1) return v128.load(p, 4);
    return v128.load(p, 8);
  }
  if (j == 0) return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
  if (j == 1) return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 1, 3, 5, 7);
  return v128.shuffle<f32>(v128.load(p, 8), v128.load(p, 20), 0, 2, 5, 7); // x2..x5, x5..x8: no read past x8
}

/** One window row's maxima for 4 windows (no NaN): pmax over the taps in scan order. */
// @ts-ignore: decorator
@inline function hMax(p: usize, s: i32, k: i32): v128 {
  const m01 = f32x4.pmax(tapAt(p, s, 0), tapAt(p, s, 1));
  return k == 2 ? m01 : f32x4.pmax(m01, tapAt(p, s, 2));
}

/** The winning taps' flat indices of {@link hMax}: as util.ts rowArg (base = the lanes' first taps). */
// @ts-ignore: decorator
@inline function hArg(p: usize, base: v128, s: i32, k: i32): v128 {
  const t0 = tapAt(p, s, 0);
  const t1 = tapAt(p, s, 1);
  const i01 = i32x4.sub(base, f32x4.gt(t1, t0));
  if (k == 2) return i01;
  const m2 = f32x4.gt(tapAt(p, s, 2), f32x4.pmax(t0, t1));
  return i32x4.max_s(i01, v128.and(m2, i32x4.add(base, i32x4.splat(2))));
}

// The NaN check adds, per block and row, the taps that together with the row's first vector
// x[cb .. cb + 4) (added once before the loop) hold every element the row's windows read: blocks
// are 4s elements apart (the last one may overlap its predecessor), and the added taps cover a
// block's elements 1 .. 3s + k − 1 (stride 2 width 2: 0 .. 7, so no first vector). NaN + anything
// is NaN; ∞ − ∞ is a false alarm, which only costs the exact path.

/** The first NaN-check vector of a block (see above). */
// @ts-ignore: decorator
@inline function nanA(p: usize, s: i32, k: i32): v128 {
  if (s == 2 && k == 2) return tapAt(p, 2, 0);
  return k == 2 ? tapAt(p, s, 1) : s == 2 ? tapAt(p, 2, 1) : tapAt(p, 1, 2);
}
/** The second NaN-check vector of a stride-2 block: tap 1 (width 2) or tap 2 (width 3). */
// @ts-ignore: decorator
@inline function nanB(p: usize, k: i32): v128 {
  return k == 2 ? tapAt(p, 2, 1) : tapAt(p, 2, 2);
}

/**
 * Interior output columns (n ≥ 4 of them, from cLo) of one output row whose window has nr (1–3)
 * rows at flat offsets r0, r1, r2; `cb` is the interior run's first input column. `from`: the first
 * row's maxima (and indices) are not computed but read at (fv, fi) — the previous output row left
 * them there, its last row being this row's first; `to`: the last row's maxima are kept at (tv, ti)
 * for the next output row. All arguments but the pointers and offsets are literals. Rows are merged
 * in scan order, the output so far on the left (pmax keeps it on ties), so the results are the
 * scan's. Returns true when a tap of the rows reduced here was NaN (or ∞ − ∞ arose in the check).
 */
// @ts-ignore: decorator
@inline function rowRun(
  withIdx: bool, s: i32, k: i32, nr: i32, from: bool, to: bool,
  xp: usize, r0: i32, r1: i32, r2: i32, cb: i32, n: i32, yb: usize, ib: usize, fv: usize, fi: usize, tv: usize, ti: usize,
): bool {
  const lane = laneSteps(s);
  const p0 = xp + ((<usize>(r0 + cb)) << 2);
  const p1 = xp + ((<usize>(r1 + cb)) << 2);
  const p2 = xp + ((<usize>(r2 + cb)) << 2);
  // two accumulators shared by the rows (a chain of at most 3 adds per block each)
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  if (!(s == 2 && k == 2)) {
    if (!from) a0 = v128.load(p0);
    if (nr >= 2) a1 = v128.load(p1);
    if (nr >= 3) a0 = f32x4.add(a0, v128.load(p2));
  }
  const last = (<usize>(n - 4)) << 2;
  let d: usize = 0;
  while (true) {
    if (d > last) d = last;
    const pin = d * <usize>s;
    const col = cb + <i32>(d >> 2) * s;
    let bv: v128;
    let bi: v128 = i32x4.splat(0);
    if (from) {
      bv = v128.load(fv + d);
      if (withIdx) bi = v128.load(fi + d);
    } else {
      const p = p0 + pin;
      bv = hMax(p, s, k);
      if (withIdx) bi = hArg(p, i32x4.add(i32x4.splat(r0 + col), lane), s, k);
      a0 = f32x4.add(a0, nanA(p, s, k));
      if (s == 2) a1 = f32x4.add(a1, nanB(p, k));
    }
    let lv: v128 = bv;
    let li: v128 = bi;
    if (nr >= 2) {
      const p = p1 + pin;
      const rv = hMax(p, s, k);
      a0 = f32x4.add(a0, nanA(p, s, k));
      if (s == 2) a1 = f32x4.add(a1, nanB(p, k));
      if (withIdx) {
        const ri = hArg(p, i32x4.add(i32x4.splat(r1 + col), lane), s, k);
        bi = mergeArg(bv, bi, rv, ri);
        li = ri;
      }
      bv = mergeMax(bv, rv);
      lv = rv;
    }
    if (nr >= 3) {
      const p = p2 + pin;
      const rv = hMax(p, s, k);
      a0 = f32x4.add(a0, nanA(p, s, k));
      if (s == 2) a1 = f32x4.add(a1, nanB(p, k));
      if (withIdx) {
        const ri = hArg(p, i32x4.add(i32x4.splat(r2 + col), lane), s, k);
        bi = mergeArg(bv, bi, rv, ri);
        li = ri;
      }
      bv = mergeMax(bv, rv);
      lv = rv;
    }
    if (to) {
      v128.store(tv + d, lv);
      if (withIdx) v128.store(ti + d, li);
    }
    v128.store(yb + d, bv);
    if (withIdx) v128.store(ib + d, bi);
    if (d == last) break;
    d += 16;
  }
  const acc = f32x4.add(a0, a1);
  const nanLanes = f32x4.ne(acc, acc);
  return v128.any_true(nanLanes);
}

/**
 * One window row of {@link pairRun}: row maxima h of 4 windows per block over [0, 4·nb) for the row at
 * p, stored at dst — merged as pmax(src, h) (the earlier rows on the left) when `merge` — and kept at
 * tv when `keep`. Block j reads x[8j .. 8j + 8) with two loads and splits it into even (x[8j + 2l],
 * tap 1) and odd (x[8j + 2l + 1], tap 2) columns; tap 0 (x[8j + 2l − 1]) is the previous block's odd
 * vector moved up one lane under this block's, −∞ before the row (the padding column, which the
 * scan's −∞ start equals: pmax(−∞, v) is v, or −∞ itself). Returns the sum of the loaded vectors
 * (NaN when one held a NaN — or ∞ − ∞ arose, a false alarm).
 */
// @ts-ignore: decorator
@inline function pairPass(merge: bool, keep: bool, p: usize, nb: i32, src: usize, dst: usize, tv: usize): v128 {
  let q = f32x4.splat(-Infinity);
  let acc = f32x4.splat(0);
  const end = (<usize>nb) << 4;
  for (let d: usize = 0; d < end; d += 16) {
    const u = v128.load(p + (d << 1));
    const w = v128.load(p + (d << 1), 16);
    const odd = v128.shuffle<f32>(u, w, 1, 3, 5, 7);
    const h = f32x4.pmax(f32x4.pmax(v128.shuffle<f32>(q, odd, 3, 4, 5, 6), v128.shuffle<f32>(u, w, 0, 2, 4, 6)), odd);
    q = odd;
    acc = f32x4.add(acc, f32x4.add(u, w));
    if (keep) v128.store(tv + d, h);
    v128.store(dst + d, merge ? f32x4.pmax(v128.load(src + d), h) : h);
  }
  return acc;
}

/**
 * Values of one output row's windows 3 wide at stride 2 starting one column before the row (padding
 * 1: window oc covers columns 2oc − 1 .. 2oc + 1), for output columns [0, 4·nb), with no left-edge
 * window left to the scalar scan: two loads and three shuffles per row and 4 outputs
 * ({@link pairPass}) where the general {@link rowRun} loads 3 overlapping taps. The rows are reduced
 * one after the other over the whole output row, each merged into the output row so far (kept in
 * the output itself, in L1 by then), so the input is read in address order — one stream, not one
 * per window row: W2 measured 5–15 % faster so than with the rows interleaved per block. `from`/`to`
 * and the carried rows are {@link rowRun}'s. Returns true when a loaded value was NaN (or ∞ − ∞ arose
 * in the check).
 */
// @ts-ignore: decorator
@inline function pairRun(
  nr: i32, from: bool, to: bool, xp: usize, r0: i32, r1: i32, r2: i32, nb: i32, yb: usize, fv: usize, tv: usize,
): bool {
  const p0 = xp + ((<usize>r0) << 2);
  const p1 = xp + ((<usize>r1) << 2);
  const p2 = xp + ((<usize>r2) << 2);
  let acc = f32x4.splat(0);
  if (!from) acc = pairPass(false, false, p0, nb, 0, yb, 0);
  if (nr == 2) acc = f32x4.add(acc, pairPass(true, to, p1, nb, from ? fv : yb, yb, tv));
  if (nr == 3) {
    acc = f32x4.add(acc, pairPass(true, false, p1, nb, from ? fv : yb, yb, 0));
    acc = f32x4.add(acc, pairPass(true, to, p2, nb, yb, yb, tv));
  }
  return v128.any_true(f32x4.ne(acc, acc));
}

// ---- whole-plane runs of the two ImageNet stems' pools, values only: 2×2 stride 2 (W1) and 3×3
// stride 2 padding 1 (W2). One loop over all output rows of a plane, no per-row call, dispatch or
// NaN test (the per-row overhead of plane2d measured ~10 % of W1's time): the NaN check is one flag
// for the plane, and a plane with a NaN is recomputed by plane2d's per-row path.

/** Even (tap 0) and odd (tap 1) columns of the 8 floats in u, w. */
// @ts-ignore: decorator
@inline function evens(u: v128, w: v128): v128 {
  return v128.shuffle<f32>(u, w, 0, 2, 4, 6);
}
// @ts-ignore: decorator
@inline function odds(u: v128, w: v128): v128 {
  return v128.shuffle<f32>(u, w, 1, 3, 5, 7);
}

/**
 * 4 outputs of 2×2 stride-2 windows over rows p0 and p0 + row, 8 columns from byte offset o, stored at
 * dst: pmax(pmax(x00, x01), pmax(x10, x11)), the scan's first maximum. Returns acc plus every tap
 * but x00 (acc turns NaN when one is NaN): a NaN x00 needs no check, as pmax keeps its left operand
 * when either is NaN, so the tree yields x00's bits — the scan's result too (later taps never replace
 * a NaN best).
 */
// @ts-ignore: decorator
@inline function block22(p0: usize, row: usize, o: usize, dst: usize, acc: v128): v128 {
  const u0 = v128.load(p0 + o);
  const w0 = v128.load(p0 + o, 16);
  const u1 = v128.load(p0 + row + o);
  const w1 = v128.load(p0 + row + o, 16);
  const t1 = odds(u0, w0);
  v128.store(dst, f32x4.pmax(f32x4.pmax(evens(u0, w0), t1), f32x4.pmax(evens(u1, w1), odds(u1, w1))));
  return f32x4.add(acc, f32x4.add(t1, f32x4.add(u1, w1)));
}

/**
 * nB output rows of 2×2 stride-2 windows, output row i over input rows 2i and 2i + 1 from p (the
 * first window's top-left tap; input rows `row` bytes apart), n ≥ 4 outputs each, to yb (output rows
 * yRow bytes apart). Two blocks of 4 outputs per step (with 64-byte-aligned rows, one cache line of
 * each row), a row's last block overlapping its predecessor when n is not a multiple of 4. Returns
 * false when a tap was NaN (or ∞ − ∞ arose in the check).
 */
function runs22(p: usize, row: usize, nB: i32, n: i32, yb: usize, yRow: usize): bool {
  const outB = (<usize>n) << 2;
  const last = outB - 16;
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  for (let i = 0; i < nB; i++) {
    let d: usize = 0;
    for (; d + 32 <= outB; d += 32) {
      a0 = block22(p, row, d << 1, yb + d, a0);
      a1 = block22(p, row, (d << 1) + 32, yb + d + 16, a1);
    }
    if (d + 16 < outB) a1 = block22(p, row, d << 1, yb + d, a1);
    if (d < outB) a0 = block22(p, row, last << 1, yb + last, a0);
    p += row << 1;
    yb += yRow;
  }
  const a = f32x4.add(a0, a1);
  return !v128.any_true(f32x4.ne(a, a));
}

/**
 * nB output rows of 3×3 stride-2 windows with padding 1 on the top and left, values only: output
 * row 0 over input rows 0–1, row i ≥ 1 over rows 2i − 1 .. 2i + 1 (the last over 2i − 1 .. 2i when
 * `last2`), output columns [0, 4·nb), input from p (row 0, column 0; rows `row` bytes apart), output
 * to yb (rows yRow bytes apart). Each input row is reduced once ({@link pairPass}), in address order
 * — one read stream: row 2i's maxima merged into the carried maxima of row 2i − 1 (scratch row c) go
 * to scratch row s, then row 2i + 1's merged into s go to the output and replace c. Rows merge in
 * scan order, earlier on the left, so results are the scan's. Returns false when a loaded value was
 * NaN (or ∞ − ∞ arose in the check).
 */
function runs23(p: usize, row: usize, nB: i32, last2: bool, nb: i32, yb: usize, yRow: usize, c: usize, s: usize): bool {
  let acc = pairPass(false, false, p, nb, 0, s, 0);
  acc = f32x4.add(acc, pairPass(true, true, p + row, nb, s, yb, c));
  const full = last2 ? nB - 1 : nB;
  for (let i = 1; i < full; i++) {
    p += row << 1;
    yb += yRow;
    acc = f32x4.add(acc, pairPass(true, false, p, nb, c, s, 0));
    acc = f32x4.add(acc, pairPass(true, true, p + row, nb, s, yb, c));
  }
  if (last2 && nB > 1) acc = f32x4.add(acc, pairPass(true, false, p + (row << 1), nb, c, yb + yRow, 0));
  return !v128.any_true(f32x4.ne(acc, acc));
}

/** {@link oneWindow} for one depth row (rows b0..b1 of the slice starting at flat row `rs`, columns c0..c1, steps 1). */
// @ts-ignore: decorator
@inline function edgeWindow(withIdx: bool, xp: usize, y: usize, idx: usize, o: i32, rs: i32, b0: i32, b1: i32, c0: i32, c1: i32, W: i32): void {
  let best: f32 = -Infinity;
  let bi = (rs + b0) * W + c0;
  for (let ib = b0; ib < b1; ib++) {
    const row = (rs + ib) * W;
    for (let ic = c0; ic < c1; ic++) {
      const v = ldf(xp, row + ic);
      const m = (<i32>(v > best)) | (<i32>(v != v));
      best = select<f32>(v, best, m != 0);
      if (withIdx) bi = select<i32>(row + ic, bi, m != 0);
    }
  }
  stf(y, o, best);
  if (withIdx) sti(idx, o, bi);
}

/**
 * One 2-d plane (depth 1) whose windows have at most 3 rows, with row geometry (s, k) literals:
 * border columns by the exact scan, the interior run by {@link rowRun}, carrying a window row shared
 * by consecutive output rows (vertical stride = kernel height − 1: 3×3 stride 2, 2×2 stride 1) so it
 * is reduced once. An output row any of whose rows held a NaN is re-run by the exact scan. The
 * carried rows alternate between ring slots 0 and 1 of the scratch (the last, overlapping block of a
 * row reads carried columns that the row's earlier blocks would otherwise already have replaced).
 */
// @ts-ignore: decorator
@inline function plane2d(
  withIdx: bool, s: i32, k: i32, xp: usize, y: usize, idx: usize, a0: i32, H: i32, W: i32,
  bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, vals: usize, inds: usize, rowBytes: usize,
): void {
  const cb = ldi(cS, cLo);
  const n = cHi - cLo;
  const rs = a0 * H;
  // 3 wide, stride 2, padding 1 on the left (W2): pairRun from column 0, no left-edge window
  const pair = !withIdx && s == 2 && k == 3 && cLo == 1 && cb == 1 && ldi(cS, 0) == 0 && ldi(cE, 0) == 2;
  const lo = pair ? 0 : cLo;
  const hi = pair ? (cHi >> 2) << 2 : cHi;
  const cOff = (<usize>lo) << 2;
  let carried = -1;
  let carriedNan = false;
  let slot: usize = 0;
  let o = 0;
  for (let ob = 0; ob < nB; ob++) {
    const b0 = ldi(bS, ob);
    const b1 = ldi(bE, ob);
    for (let oc = 0; oc < lo; oc++) edgeWindow(withIdx, xp, y, idx, o + oc, rs, b0, b1, ldi(cS, oc), ldi(cE, oc), W);
    const nr = b1 - b0;
    const r0 = (rs + b0) * W;
    const r1 = r0 + W;
    const r2 = r1 + W;
    const from = nr >= 2 && carried == r0;
    const to = nr >= 2 && ob + 1 < nB && ldi(bS, ob + 1) == b1 - 1;
    const yb = y + ((<usize>o) << 2) + cOff;
    const ib = idx + ((<usize>o) << 2) + cOff;
    const fv = vals + slot * rowBytes + cOff;
    const fi = inds + slot * rowBytes + cOff;
    const tv = vals + (slot ^ 1) * rowBytes + cOff;
    const ti = inds + (slot ^ 1) * rowBytes + cOff;
    let nan = true;
    if (pair) {
      const nb = hi >> 2;
      if (nr == 3) {
        if (from && to) nan = pairRun(3, true, true, xp, r0, r1, r2, nb, yb, fv, tv);
        else if (from) nan = pairRun(3, true, false, xp, r0, r1, r2, nb, yb, fv, tv);
        else if (to) nan = pairRun(3, false, true, xp, r0, r1, r2, nb, yb, fv, tv);
        else nan = pairRun(3, false, false, xp, r0, r1, r2, nb, yb, fv, tv);
      } else if (nr == 2) {
        if (from && to) nan = pairRun(2, true, true, xp, r0, r1, r2, nb, yb, fv, tv);
        else if (from) nan = pairRun(2, true, false, xp, r0, r1, r2, nb, yb, fv, tv);
        else if (to) nan = pairRun(2, false, true, xp, r0, r1, r2, nb, yb, fv, tv);
        else nan = pairRun(2, false, false, xp, r0, r1, r2, nb, yb, fv, tv);
      } else if (nr == 1) {
        nan = pairRun(1, false, false, xp, r0, r1, r2, nb, yb, fv, tv);
      }
    } else if (nr == 3) {
      if (from && to) nan = rowRun(withIdx, s, k, 3, true, true, xp, r0, r1, r2, cb, n, yb, ib, fv, fi, tv, ti);
      else if (from) nan = rowRun(withIdx, s, k, 3, true, false, xp, r0, r1, r2, cb, n, yb, ib, fv, fi, tv, ti);
      else if (to) nan = rowRun(withIdx, s, k, 3, false, true, xp, r0, r1, r2, cb, n, yb, ib, fv, fi, tv, ti);
      else nan = rowRun(withIdx, s, k, 3, false, false, xp, r0, r1, r2, cb, n, yb, ib, fv, fi, tv, ti);
    } else if (nr == 2) {
      if (from && to) nan = rowRun(withIdx, s, k, 2, true, true, xp, r0, r1, r2, cb, n, yb, ib, fv, fi, tv, ti);
      else if (from) nan = rowRun(withIdx, s, k, 2, true, false, xp, r0, r1, r2, cb, n, yb, ib, fv, fi, tv, ti);
      else if (to) nan = rowRun(withIdx, s, k, 2, false, true, xp, r0, r1, r2, cb, n, yb, ib, fv, fi, tv, ti);
      else nan = rowRun(withIdx, s, k, 2, false, false, xp, r0, r1, r2, cb, n, yb, ib, fv, fi, tv, ti);
    } else if (nr == 1) {
      nan = rowRun(withIdx, s, k, 1, false, false, xp, r0, r1, r2, cb, n, yb, ib, fv, fi, tv, ti);
    }
    // (an empty window row set, nr = 0, takes the exact scan: −∞ and the first tap)
    const own = nan;
    if (from && carriedNan) nan = true;
    carriedNan = own;
    carried = to ? (rs + b1 - 1) * W : -1;
    if (to) slot ^= 1;
    if (nan) for (let oc = lo; oc < hi; oc++) edgeWindow(withIdx, xp, y, idx, o + oc, rs, b0, b1, ldi(cS, oc), ldi(cE, oc), W);
    for (let oc = hi; oc < nC; oc++) edgeWindow(withIdx, xp, y, idx, o + oc, rs, b0, b1, ldi(cS, oc), ldi(cE, oc), W);
    o += nC;
  }
}

/**
 * {@link plane2d} for the common row geometries, each a function of its own (s, k literal): 0 done,
 * 2 no copy for this geometry (the caller takes the general path).
 */
function plane2dValues(s: i32, k: i32, xp: usize, y: usize, a0: i32, H: i32, W: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, vals: usize, inds: usize, rowBytes: usize): i32 {
  if (s == 2 && k == 3) plane2dV23(xp, y, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
  else if (s == 2 && k == 2) plane2dV22(xp, y, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
  else if (s == 1 && k == 3) plane2dV13(xp, y, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
  else if (s == 1 && k == 2) plane2dV12(xp, y, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
  else return 2;
  return 0;
}
function plane2dIndices(s: i32, k: i32, xp: usize, y: usize, idx: usize, a0: i32, H: i32, W: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, vals: usize, inds: usize, rowBytes: usize): i32 {
  if (s == 2 && k == 3) plane2dI23(xp, y, idx, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
  else if (s == 2 && k == 2) plane2dI22(xp, y, idx, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
  else if (s == 1 && k == 3) plane2dI13(xp, y, idx, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
  else if (s == 1 && k == 2) plane2dI12(xp, y, idx, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
  else return 2;
  return 0;
}
function plane2dV23(xp: usize, y: usize, a0: i32, H: i32, W: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, vals: usize, inds: usize, rowBytes: usize): void {
  plane2d(false, 2, 3, xp, y, 0, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
}
function plane2dI23(xp: usize, y: usize, idx: usize, a0: i32, H: i32, W: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, vals: usize, inds: usize, rowBytes: usize): void {
  plane2d(true, 2, 3, xp, y, idx, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
}
function plane2dV22(xp: usize, y: usize, a0: i32, H: i32, W: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, vals: usize, inds: usize, rowBytes: usize): void {
  plane2d(false, 2, 2, xp, y, 0, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
}
function plane2dI22(xp: usize, y: usize, idx: usize, a0: i32, H: i32, W: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, vals: usize, inds: usize, rowBytes: usize): void {
  plane2d(true, 2, 2, xp, y, idx, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
}
function plane2dV13(xp: usize, y: usize, a0: i32, H: i32, W: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, vals: usize, inds: usize, rowBytes: usize): void {
  plane2d(false, 1, 3, xp, y, 0, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
}
function plane2dI13(xp: usize, y: usize, idx: usize, a0: i32, H: i32, W: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, vals: usize, inds: usize, rowBytes: usize): void {
  plane2d(true, 1, 3, xp, y, idx, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
}
function plane2dV12(xp: usize, y: usize, a0: i32, H: i32, W: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, vals: usize, inds: usize, rowBytes: usize): void {
  plane2d(false, 1, 2, xp, y, 0, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
}
function plane2dI12(xp: usize, y: usize, idx: usize, a0: i32, H: i32, W: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, vals: usize, inds: usize, rowBytes: usize): void {
  plane2d(true, 1, 2, xp, y, idx, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
}

/** The row-reuse SIMD plane (every step 1, an interior run of at least 4 columns). */
// @ts-ignore: decorator
@inline function rowsPlane(
  withIdx: bool, xp: usize, y: usize, idx: usize, H: i32, W: i32,
  aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, scratch: usize, ring: i32,
): void {
  let o = 0;
  const rowBytes = (<usize>nC) << 2;
  const vals = scratch + ((<usize>ring) << 3);
  const inds = vals + <usize>ring * rowBytes;
  // windows one depth row deep (2-d and 1-d pooling, 3-d with kernel depth 1) of at most 3 rows and a
  // common row geometry: plane2d, one depth slice of output rows at a time
  let flat = true;
  for (let oa = 0; oa < nA; oa++) flat = flat && ldi(aE, oa) - ldi(aS, oa) == 1;
  let rows = 0;
  for (let ob = 0; ob < nB; ob++) rows = max<i32>(rows, ldi(bE, ob) - ldi(bS, ob));
  if (flat && rows <= 3 && ((cStride == 1 || cStride == 2) && (cK == 2 || cK == 3))) {
    const slice = <usize>(nB * nC) << 2;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = ldi(aS, oa);
      const yo = y + <usize>oa * slice;
      const io = idx + <usize>oa * slice;
      if (withIdx) plane2dIndices(cStride, cK, xp, yo, io, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
      else plane2dValues(cStride, cK, xp, yo, a0, H, W, bS, bE, nB, cS, cE, nC, cLo, cHi, vals, inds, rowBytes);
    }
    return;
  }
  for (let j = 0; j < ring; j++) sti(scratch, 2 * j, -1);
  for (let oa = 0; oa < nA; oa++) {
    const a0 = ldi(aS, oa);
    const a1 = ldi(aE, oa);
    for (let ob = 0; ob < nB; ob++) {
      const b0 = ldi(bS, ob);
      const b1 = ldi(bE, ob);
      for (let oc = 0; oc < cLo; oc++) oneWindow(withIdx, xp, y, idx, o + oc, a0, a1, 1, b0, b1, 1, ldi(cS, oc), ldi(cE, oc), 1, H, W);
      const yo = y + ((<usize>o) << 2);
      const io = idx + ((<usize>o) << 2);
      const nr = (a1 - a0) * (b1 - b0);
      if (nr <= 3) {
        // rows in scan order (depth-major)
        const nb = b1 - b0;
        const r0 = (a0 * H + b0) * W;
        const r1 = nr >= 2 ? ((a0 + 1 / nb) * H + b0 + 1 % nb) * W : 0;
        const r2 = nr >= 3 ? ((a0 + 2 / nb) * H + b0 + 2 % nb) * W : 0;
        const f = fusedAny(withIdx, cStride, cK, nr, xp, yo, io, r0, r1, r2, cS, cLo, cHi);
        if (f != 2) {
          if (f == 1) for (let oc = cLo; oc < cHi; oc++) oneWindow(withIdx, xp, y, idx, o + oc, a0, a1, 1, b0, b1, 1, ldi(cS, oc), ldi(cE, oc), 1, H, W);
          for (let oc = cHi; oc < nC; oc++) oneWindow(withIdx, xp, y, idx, o + oc, a0, a1, 1, b0, b1, 1, ldi(cS, oc), ldi(cE, oc), 1, H, W);
          o += nC;
          continue;
        }
      }
      // the window's rows, each reduced once per plane while it stays in the ring
      let nan = false;
      for (let ia = a0; ia < a1; ia++) {
        for (let ib = b0; ib < b1; ib++) {
          const row = ia * H + ib;
          const slot = row % ring;
          if (ldi(scratch, 2 * slot) != row) {
            const f = rowMaximaAny(withIdx, cStride, cK, xp, row * W, cS, cLo, cHi, vals + <usize>slot * rowBytes, inds + <usize>slot * rowBytes);
            sti(scratch, 2 * slot, row);
            sti(scratch, 2 * slot + 1, <i32>f);
          }
          nan = nan || ldi(scratch, 2 * slot + 1) != 0;
        }
      }
      if (nan) {
        for (let oc = cLo; oc < cHi; oc++) oneWindow(withIdx, xp, y, idx, o + oc, a0, a1, 1, b0, b1, 1, ldi(cS, oc), ldi(cE, oc), 1, H, W);
      } else {
        // rows in scan order, three at a time; the output row so far is the earlier operand
        let ia = a0;
        let ib = b0;
        let first = true;
        while (ia < a1) {
          let n = 0;
          let s0: usize = 0;
          let s1: usize = 0;
          let s2: usize = 0;
          const take = first ? 3 : 2;
          while (n < take && ia < a1) {
            const slot = <usize>((ia * H + ib) % ring);
            if (n == 0) s0 = slot;
            else if (n == 1) s1 = slot;
            else s2 = slot;
            n++;
            if (++ib == b1) {
              ib = b0;
              ia++;
            }
          }
          if (first) {
            const v0 = vals + s0 * rowBytes;
            const v1 = vals + s1 * rowBytes;
            const v2 = vals + s2 * rowBytes;
            const i0 = inds + s0 * rowBytes;
            const i1 = inds + s1 * rowBytes;
            const i2 = inds + s2 * rowBytes;
            if (n == 3) combine(withIdx, 3, yo, io, v0, i0, v1, i1, v2, i2, cLo, cHi);
            else if (n == 2) combine(withIdx, 2, yo, io, v0, i0, v1, i1, 0, 0, cLo, cHi);
            else combine(withIdx, 1, yo, io, v0, i0, 0, 0, 0, 0, cLo, cHi);
            first = false;
          } else {
            const v0 = vals + s0 * rowBytes;
            const v1 = vals + s1 * rowBytes;
            const i0 = inds + s0 * rowBytes;
            const i1 = inds + s1 * rowBytes;
            if (n == 2) combine(withIdx, 3, yo, io, yo, io, v0, i0, v1, i1, cLo, cHi);
            else combine(withIdx, 2, yo, io, yo, io, v0, i0, 0, 0, cLo, cHi);
          }
        }
      }
      for (let oc = cHi; oc < nC; oc++) oneWindow(withIdx, xp, y, idx, o + oc, a0, a1, 1, b0, b1, 1, ldi(cS, oc), ldi(cE, oc), 1, H, W);
      o += nC;
    }
  }
}

/**
 * Max over each window, values only (what maxForward writes to y, bit for bit), for a plan of three
 * axes (A = depth, B = height, C = width; trivial leading axes for 1-d/2-d). Arguments as maxForward's
 * (assembly/pool.ts), without idx, plus the scratch block and its ring size (see the top of the file;
 * unused by the scalar build and when the interior run [cLo, cHi) has fewer than 4 columns).
 */
export function maxValuesForward(
  x: usize, y: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32,
  bS: usize, bE: usize, nB: i32, sb: i32,
  cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, scratch: usize, ring: i32,
): void {
  const mode = runsMode(aS, aE, nA, bS, bE, nB, cS, cE, cLo, cHi, cStride, cK);
  for (let p = 0; p < planes; p++) {
    const xp = x + ((<usize>p * <usize>inPlane) << 2);
    const yp = y + ((<usize>p * <usize>outPlane) << 2);
    if (ASC_FEATURE_SIMD) {
      // a plane with a NaN tap goes on to the per-row path, which finds its rows and scans them exactly
      if (mode != 0 && runsPlane(mode, xp, yp, H, W, aS, nA, bS, bE, nB, cS, cE, nC, cLo, cHi, scratch + ((<usize>ring) << 3))) continue;
    }
    plane(false, xp, yp, 0, H, W, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, scratch, ring);
  }
}

/**
 * Which whole-plane run a values-only plan takes (SIMD build): 1 {@link runs22} (windows one depth
 * row deep, 2×2 stride 2 with every output row over its own pair of input rows), 2 {@link runs23}
 * (3×3 stride 2 with padding 1 on the top and left: output row 0 over rows 0–1, row i over
 * 2i − 1 .. 2i + 1), 3 the same with a last output row of 2 rows (clipped at the bottom), 0 none.
 */
function runsMode(aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, cLo: i32, cHi: i32, cStride: i32, cK: i32): i32 {
  if (!ASC_FEATURE_SIMD || cHi - cLo < 4 || cStride != 2 || nB < 1) return 0;
  for (let oa = 0; oa < nA; oa++) if (ldi(aE, oa) - ldi(aS, oa) != 1) return 0;
  if (cK == 2) {
    const b0 = ldi(bS, 0);
    for (let ob = 0; ob < nB; ob++) if (ldi(bS, ob) != b0 + 2 * ob || ldi(bE, ob) != b0 + 2 * ob + 2) return 0;
    return 1;
  }
  if (cK != 3 || cLo != 1 || ldi(cS, 0) != 0 || ldi(cE, 0) != 2 || ldi(cS, 1) != 1 || ldi(bS, 0) != 0 || ldi(bE, 0) != 2) return 0;
  for (let ob = 1; ob < nB; ob++) {
    const e = ldi(bE, ob);
    if (ldi(bS, ob) != 2 * ob - 1 || (e != 2 * ob + 2 && !(ob == nB - 1 && e == 2 * ob + 1))) return 0;
  }
  return nB > 1 && ldi(bE, nB - 1) == 2 * nB - 1 ? 3 : 2;
}

/**
 * One plane by {@link runs22} / {@link runs23} (mode from {@link runsMode}), each depth slice of
 * output rows in one run, border columns by the exact scan; `c` is a scratch block of 2 rows of nC
 * floats (the host's ring has as many rows as the largest window, 2 or 3 here). Returns false when a tap was NaN (the outputs are then incomplete and the caller recomputes the plane).
 */
function runsPlane(
  mode: i32, xp: usize, y: usize, H: i32, W: i32, aS: usize, nA: i32, bS: usize, bE: usize, nB: i32,
  cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, c: usize,
): bool {
  const row = (<usize>W) << 2;
  const yRow = (<usize>nC) << 2;
  // the run's columns [lo, hi): W1 the interior run, W2 whole blocks of 4 from column 0
  const lo = mode == 1 ? cLo : 0;
  const hi = mode == 1 ? cHi : (cHi >> 2) << 2;
  for (let oa = 0; oa < nA; oa++) {
    const rs = ldi(aS, oa) * H;
    const yo = y + <usize>oa * <usize>nB * yRow;
    if (mode == 1) {
      const p = xp + ((<usize>((rs + ldi(bS, 0)) * W + ldi(cS, cLo))) << 2);
      if (!runs22(p, row, nB, cHi - cLo, yo + ((<usize>cLo) << 2), yRow)) return false;
    } else {
      if (!runs23(xp + <usize>rs * row, row, nB, mode == 3, hi >> 2, yo, yRow, c, c + yRow)) return false;
    }
    if (lo == 0 && hi == nC) continue;
    let o = oa * nB * nC;
    for (let ob = 0; ob < nB; ob++) {
      const b0 = ldi(bS, ob);
      const b1 = ldi(bE, ob);
      for (let oc = 0; oc < lo; oc++) edgeWindow(false, xp, y, 0, o + oc, rs, b0, b1, ldi(cS, oc), ldi(cE, oc), W);
      for (let oc = hi; oc < nC; oc++) edgeWindow(false, xp, y, 0, o + oc, rs, b0, b1, ldi(cS, oc), ldi(cE, oc), W);
      o += nC;
    }
  }
  return true;
}

/** {@link maxValuesForward} with flat in-plane indices of the maxima (maxForward's results, bit for bit). */
export function maxRowsForward(
  x: usize, y: usize, idx: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32,
  bS: usize, bE: usize, nB: i32, sb: i32,
  cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, scratch: usize, ring: i32,
): void {
  for (let p = 0; p < planes; p++) {
    const xp = x + ((<usize>p * <usize>inPlane) << 2);
    const yp = y + ((<usize>p * <usize>outPlane) << 2);
    const ip = idx + ((<usize>p * <usize>outPlane) << 2);
    plane(true, xp, yp, ip, H, W, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, scratch, ring);
  }
}
