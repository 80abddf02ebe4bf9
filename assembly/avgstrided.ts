// Average pooling's backward for strided windows (AssemblyScript), float32, re-exported by
// assembly/pool.ts: dx written once, bit-identical to the reference (src/kernels/window.ts: dx = 0,
// then dx[window] += dy[o] / divisor[o] over the outputs o in scan order, each addition made in
// float64 and stored to float32).
//
// So a dx element at (a, b, c) is fl32(…fl32(fl32(0 + g[o₁]) + g[o₂])… + g[oₙ]) with g = f64(dy) /
// divisor (float64) and o₁ < o₂ < … the outputs whose windows hold it. With every step 1 and the
// windows' starts and ends non-decreasing, those are the product of one run of outputs per axis
// (src/backends/wasm/index.ts, transposedAxis), and in scan order: for each output row (oa, ob) of
// the depth and row runs, in order, the output columns lo(c) … lo(c) + n(c) − 1 holding column c.
// A dx row is therefore a sequence of passes over output rows, each adding one output row's terms to
// every column; and when an earlier dx row's sequence is a prefix of this one's, its float32 values
// are exactly this row's partial sums after that prefix, so the row starts from them (`init`) and
// makes only the remaining passes (stride 2, kernel 3: an odd row is the even row above plus one
// pass). The program — per dx row (init row or −1 for 0, the passes' range), the passes' output rows,
// per column (lo, n) — is made once per plan (index.ts, passGeometry).
//
// Columns: one at a time at the borders, and over an interior run [cA, cB) whose columns follow one
// period-2 pattern (stride 2 along the last axis): column cA + 2i holds outputs m0 + i … (nE of
// them), column cA + 2i + 1 outputs m0 + i + d1 … (nO), clipped to the outputs that exist — the g
// rows carry PAD entries of −0 on each side for the pattern's terms beyond them. The SIMD build takes
// 4 columns at a time: the even and odd ones in two float64x2 lane pairs, so each term of a pass is
// one unaligned 2-lane load of g (lanes i, i + 1) and one f64x2.add; the values are rounded to
// float32 between additions (demote, promote) as the reference stores them, and interleaved on the
// final store. A row followed by a row that starts from it is swept together with that row, which
// starts from the float32 values still in registers. The scalar build walks the same pattern one
// column pair at a time.

import { ldd, ldf, ldi, std, stf } from "./util";
import { copyRow, gTerms } from "./avg";

/** Round float64 lanes to float32 and back: the reference's store to float32 after each addition. */
// @ts-ignore: decorator
@inline function round2(v: v128): v128 {
  return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(v));
}

/** −0 entries each side of a g row: terms the pattern of the interior has beyond the first and last output (adding −0 leaves every value as it is, −0 included). */
const PAD: i32 = 3;

/** One column c of a dx row: v = init (or 0), then v = fl32(v + g[r][lo + t]) for each pass r and t < n. */
// @ts-ignore: decorator
@inline function passColumn(out: usize, src: usize, hasSrc: bool, g: usize, passes: usize, p0: i32, p1: i32, oW: i32, cols: usize, c: i32): void {
  const lo = ldi(cols, 2 * c);
  const n = ldi(cols, 2 * c + 1);
  let v: f32 = hasSrc ? ldf(src, c) : 0;
  for (let q = p0; q < p1; q++) {
    const gr = ldi(passes, q) * (oW + 2 * PAD) + PAD + lo;
    for (let t = 0; t < n; t++) v = <f32>(<f64>v + ldd(g, gr + t));
  }
  stf(out, c, v);
}

/**
 * One pass's terms for a lane pair: v + g[k], then fl32 and + g[k + 1], … (n terms from g row gr; a
 * literal n ≤ 3 is unrolled, n = −1 loops over nRun terms).
 */
// @ts-ignore: decorator
@inline function terms(v: v128, gr: usize, k: i32, n: i32, nRun: i32): v128 {
  const q = gr + ((<usize>k) << 3);
  if (n >= 0) {
    if (n >= 1) v = f64x2.add(v, v128.load(q));
    if (n >= 2) v = f64x2.add(round2(v), v128.load(q, 8));
    if (n >= 3) v = f64x2.add(round2(v), v128.load(q, 16));
    return v;
  }
  for (let t = 0; t < nRun; t++) {
    if (t > 0) v = round2(v);
    v = f64x2.add(v, v128.load(q + ((<usize>t) << 3)));
  }
  return v;
}

/**
 * A lane pair through passes p0 … p1 − 1 (at least one): the first pass's terms from row pointer r
 * (its first added to v as it is), the others' from their rows, each after rounding to float32.
 * Lane pair j of the interior, its terms at offset k; n, nRun as in {@link terms}.
 */
// @ts-ignore: decorator
@inline function lanes(v: v128, r: usize, g: usize, passes: usize, p0: i32, p1: i32, more: bool, gS: i32, m0: i32, j: i32, k: i32, n: i32, nRun: i32): v128 {
  v = terms(v, r, k, n, nRun);
  if (more) {
    for (let q = p0 + 1; q < p1; q++) v = terms(round2(v), g + ((<usize>(ldi(passes, q) * gS + PAD + m0 + j)) << 3), k, n, nRun);
  }
  return v;
}

/**
 * Columns [cA, cB) of a dx row, 4 at a time (cB − cA even, ≥ 4; the last block ends at cB and
 * recomputes up to 2 columns identically): lanes (c, c + 2) and (c + 1, c + 3) as float64 pairs, nE
 * and nO terms per pass (literals up to 3 in each caller, else −1 and the counts nEr, nOr), the
 * passes' additions in order, rounded to float32 between them. `hasSrc` (a literal): start from the
 * float32 row src, else from +0. `pair` (a literal): the next dx row, which starts from this one,
 * too (passes q0 … q1 − 1, into outB), from the lanes' float32 values still in registers.
 */
// @ts-ignore: decorator
@inline function passBlocks(
  out: usize, src: usize, hasSrc: bool, g: usize, passes: usize, p0: i32, p1: i32, oW: i32,
  cA: i32, cB: i32, m0: i32, d1: i32, nE: i32, nO: i32, nEr: i32, nOr: i32, pair: bool, outB: usize, q0: i32, q1: i32, single: bool,
): void {
  const gS = oW + 2 * PAD;
  const r0 = g + ((<usize>(ldi(passes, p0) * gS + PAD + m0)) << 3);
  const more = !single && p1 - p0 > 1;
  const rB = pair ? g + ((<usize>(ldi(passes, q0) * gS + PAD + m0)) << 3) : 0;
  const moreB = !single && pair && q1 - q0 > 1;
  const last = cB - 4;
  let c = cA;
  let j = 0;
  while (true) {
    let e: v128;
    let o: v128;
    if (hasSrc) {
      const v = v128.load(src + ((<usize>c) << 2));
      e = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 0, 2, 0, 2));
      o = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 1, 3, 1, 3));
    } else {
      e = f64x2.splat(0);
      o = e;
    }
    const off = (<usize>j) << 3;
    e = lanes(e, r0 + off, g, passes, p0, p1, more, gS, m0, j, 0, nE, nEr);
    o = lanes(o, r0 + off, g, passes, p0, p1, more, gS, m0, j, d1, nO, nOr);
    const fe = f32x4.demote_f64x2_zero(e);
    const fo = f32x4.demote_f64x2_zero(o);
    v128.store(out + ((<usize>c) << 2), v128.shuffle<f32>(fe, fo, 0, 4, 1, 5));
    if (pair) {
      const e2 = lanes(f64x2.promote_low_f32x4(fe), rB + off, g, passes, q0, q1, moreB, gS, m0, j, 0, nE, nEr);
      const o2 = lanes(f64x2.promote_low_f32x4(fo), rB + off, g, passes, q0, q1, moreB, gS, m0, j, d1, nO, nOr);
      v128.store(outB + ((<usize>c) << 2), v128.shuffle<f32>(f32x4.demote_f64x2_zero(e2), f32x4.demote_f64x2_zero(o2), 0, 4, 1, 5));
    }
    if (c == last) break;
    c += 4;
    j += 2;
    if (c > last) {
      j -= (c - last) >> 1;
      c = last;
    }
  }
}

/** passBlocks with (nE, nO) literal: (1, 2) kernel 3, (2, 1), (2, 2) kernel 4, (1, 1) kernel 2; −1: the counts at run time. */
// @ts-ignore: decorator
@inline function blocksBy(
  out: usize, src: usize, hasSrc: bool, g: usize, passes: usize, p0: i32, p1: i32, oW: i32, cA: i32, cB: i32, m0: i32, d1: i32, combo: i32, nE: i32, nO: i32,
  pair: bool, outB: usize, q0: i32, q1: i32, single: bool,
): void {
  if (ASC_FEATURE_SIMD) {
    if (combo == 12) passBlocks(out, src, hasSrc, g, passes, p0, p1, oW, cA, cB, m0, d1, 1, 2, 1, 2, pair, outB, q0, q1, single);
    else if (combo == 21) passBlocks(out, src, hasSrc, g, passes, p0, p1, oW, cA, cB, m0, d1, 2, 1, 2, 1, pair, outB, q0, q1, single);
    else if (combo == 22) passBlocks(out, src, hasSrc, g, passes, p0, p1, oW, cA, cB, m0, d1, 2, 2, 2, 2, pair, outB, q0, q1, single);
    else if (combo == 11) passBlocks(out, src, hasSrc, g, passes, p0, p1, oW, cA, cB, m0, d1, 1, 1, 1, 1, pair, outB, q0, q1, single);
    else passBlocks(out, src, hasSrc, g, passes, p0, p1, oW, cA, cB, m0, d1, -1, -1, nE, nO, pair, outB, q0, q1, single);
  } else {
    if (combo == 12) passPairs(out, src, hasSrc, g, passes, p0, p1, oW, cA, cB, m0, d1, 1, 2, 1, 2, pair, outB, q0, q1);
    else if (combo == 21) passPairs(out, src, hasSrc, g, passes, p0, p1, oW, cA, cB, m0, d1, 2, 1, 2, 1, pair, outB, q0, q1);
    else if (combo == 22) passPairs(out, src, hasSrc, g, passes, p0, p1, oW, cA, cB, m0, d1, 2, 2, 2, 2, pair, outB, q0, q1);
    else if (combo == 11) passPairs(out, src, hasSrc, g, passes, p0, p1, oW, cA, cB, m0, d1, 1, 1, 1, 1, pair, outB, q0, q1);
    else passPairs(out, src, hasSrc, g, passes, p0, p1, oW, cA, cB, m0, d1, -1, -1, nE, nO, pair, outB, q0, q1);
  }
}

function blocksFrom(out: usize, src: usize, g: usize, passes: usize, p0: i32, p1: i32, oW: i32, cA: i32, cB: i32, m0: i32, d1: i32, combo: i32, nE: i32, nO: i32): void {
  if (p1 - p0 == 1) blocksBy(out, src, true, g, passes, p0, p1, oW, cA, cB, m0, d1, combo, nE, nO, false, 0, 0, 0, true);
  else blocksBy(out, src, true, g, passes, p0, p1, oW, cA, cB, m0, d1, combo, nE, nO, false, 0, 0, 0, false);
}

function blocksZero(out: usize, g: usize, passes: usize, p0: i32, p1: i32, oW: i32, cA: i32, cB: i32, m0: i32, d1: i32, combo: i32, nE: i32, nO: i32): void {
  if (p1 - p0 == 1) blocksBy(out, 0, false, g, passes, p0, p1, oW, cA, cB, m0, d1, combo, nE, nO, false, 0, 0, 0, true);
  else blocksBy(out, 0, false, g, passes, p0, p1, oW, cA, cB, m0, d1, combo, nE, nO, false, 0, 0, 0, false);
}

function pairFrom(out: usize, src: usize, g: usize, passes: usize, p0: i32, p1: i32, oW: i32, cA: i32, cB: i32, m0: i32, d1: i32, combo: i32, nE: i32, nO: i32, outB: usize, q0: i32, q1: i32): void {
  if (p1 - p0 == 1 && q1 - q0 == 1) blocksBy(out, src, true, g, passes, p0, p1, oW, cA, cB, m0, d1, combo, nE, nO, true, outB, q0, q1, true);
  else blocksBy(out, src, true, g, passes, p0, p1, oW, cA, cB, m0, d1, combo, nE, nO, true, outB, q0, q1, false);
}

function pairZero(out: usize, g: usize, passes: usize, p0: i32, p1: i32, oW: i32, cA: i32, cB: i32, m0: i32, d1: i32, combo: i32, nE: i32, nO: i32, outB: usize, q0: i32, q1: i32): void {
  if (p1 - p0 == 1 && q1 - q0 == 1) blocksBy(out, 0, false, g, passes, p0, p1, oW, cA, cB, m0, d1, combo, nE, nO, true, outB, q0, q1, true);
  else blocksBy(out, 0, false, g, passes, p0, p1, oW, cA, cB, m0, d1, combo, nE, nO, true, outB, q0, q1, false);
}

/**
 * {@link pairZero} for kernel 3, stride 2 with the interior aligned so that d1 = 0 (column 2i: output
 * i; 2i + 1: outputs i, i + 1 — padding 1), one pass per row (2-d): row A from 0 and row B from row A.
 * The same operations as passBlocks, with the ones it would make twice made once: the odd columns'
 * first partial fl32(0 + g[i]) is the even columns' value, and row B's even columns start from it too.
 */
function pairZeroK3(out: usize, g: usize, passes: usize, p0: i32, oW: i32, cA: i32, cB: i32, m0: i32, outB: usize, q0: i32): void {
  const gS = oW + 2 * PAD;
  const rA = g + ((<usize>(ldi(passes, p0) * gS + PAD + m0)) << 3);
  const rB = g + ((<usize>(ldi(passes, q0) * gS + PAD + m0)) << 3);
  const last = cB - 4;
  const zero = f64x2.splat(0);
  let c = cA;
  let j = 0;
  while (true) {
    const off = (<usize>j) << 3;
    const fe = f32x4.demote_f64x2_zero(f64x2.add(zero, v128.load(rA + off)));
    const pe = f64x2.promote_low_f32x4(fe);
    const fo = f32x4.demote_f64x2_zero(f64x2.add(pe, v128.load(rA + off, 8)));
    v128.store(out + ((<usize>c) << 2), v128.shuffle<f32>(fe, fo, 0, 4, 1, 5));
    const h = v128.load(rB + off);
    const fe2 = f32x4.demote_f64x2_zero(f64x2.add(pe, h));
    const fo2 = f32x4.demote_f64x2_zero(f64x2.add(round2(f64x2.add(f64x2.promote_low_f32x4(fo), h)), v128.load(rB + off, 8)));
    v128.store(outB + ((<usize>c) << 2), v128.shuffle<f32>(fe2, fo2, 0, 4, 1, 5));
    if (c == last) break;
    c += 4;
    j += 2;
    if (c > last) {
      j -= (c - last) >> 1;
      c = last;
    }
  }
}

/** {@link terms} for one float64 lane (the scalar build): v + g[k], then fl32 and + g[k + 1], … */
// @ts-ignore: decorator
@inline function terms1(v: f64, gr: usize, k: i32, n: i32, nRun: i32): f64 {
  const q = gr + ((<usize>k) << 3);
  if (n >= 0) {
    if (n >= 1) v = v + load<f64>(q);
    if (n >= 2) v = <f64><f32>v + load<f64>(q, 8);
    if (n >= 3) v = <f64><f32>v + load<f64>(q, 16);
    return v;
  }
  for (let t = 0; t < nRun; t++) {
    if (t > 0) v = <f64><f32>v;
    v = v + load<f64>(q + ((<usize>t) << 3));
  }
  return v;
}

/** {@link lanes} for one float64 lane. */
// @ts-ignore: decorator
@inline function lane1(v: f64, r: usize, g: usize, passes: usize, p0: i32, p1: i32, more: bool, gS: i32, m0: i32, j: i32, k: i32, n: i32, nRun: i32): f64 {
  v = terms1(v, r, k, n, nRun);
  if (more) {
    for (let q = p0 + 1; q < p1; q++) v = terms1(<f64><f32>v, g + ((<usize>(ldi(passes, q) * gS + PAD + m0 + j)) << 3), k, n, nRun);
  }
  return v;
}

/** {@link passBlocks} one column pair (c, c + 1) at a time, in float64 scalars (the scalar build; cB − cA even). */
// @ts-ignore: decorator
@inline function passPairs(
  out: usize, src: usize, hasSrc: bool, g: usize, passes: usize, p0: i32, p1: i32, oW: i32,
  cA: i32, cB: i32, m0: i32, d1: i32, nE: i32, nO: i32, nEr: i32, nOr: i32, pair: bool, outB: usize, q0: i32, q1: i32,
): void {
  const gS = oW + 2 * PAD;
  const r0 = g + ((<usize>(ldi(passes, p0) * gS + PAD + m0)) << 3);
  const more = p1 - p0 > 1;
  const rB = pair ? g + ((<usize>(ldi(passes, q0) * gS + PAD + m0)) << 3) : 0;
  const moreB = pair && q1 - q0 > 1;
  for (let c = cA, j = 0; c < cB; c += 2, j++) {
    const off = (<usize>j) << 3;
    const e = <f32>lane1(hasSrc ? <f64>ldf(src, c) : 0, r0 + off, g, passes, p0, p1, more, gS, m0, j, 0, nE, nEr);
    const o = <f32>lane1(hasSrc ? <f64>ldf(src, c + 1) : 0, r0 + off, g, passes, p0, p1, more, gS, m0, j, d1, nO, nOr);
    stf(out, c, e);
    stf(out, c + 1, o);
    if (pair) {
      stf(outB, c, <f32>lane1(<f64>e, rB + off, g, passes, q0, q1, moreB, gS, m0, j, 0, nE, nEr));
      stf(outB, c + 1, <f32>lane1(<f64>o, rB + off, g, passes, q0, q1, moreB, gS, m0, j, d1, nO, nOr));
    }
  }
}

/** g rows from … to − 1 of a plane (each after PAD entries of its padded row of gS): f64(dy) / divisor. Returns the rows now done. */
// @ts-ignore: decorator
@inline function gRows(g: usize, yp: usize, div: usize, oW: i32, gS: i32, from: i32, to: i32): i32 {
  for (let r = from; r < to; r++) gTerms(g + ((<usize>(r * gS + PAD)) << 3), yp + ((<usize>(r * oW)) << 2), div + ((<usize>(r * oW)) << 3), oW);
  return max(from, to);
}

/**
 * dx (dx's contents on entry ignored) = the reference's avg backward, bit for bit (see the header).
 * Per plane g = f64(dy) / divisor (scratch g: outPlane / oW rows of oW + 2·PAD float64, the pads −0),
 * made row by row as the dx rows first need them, then the dx rows in order: `rows` int32 triples
 * (init, p0, p1) per dx row (nRows = D·H of them): start from dx row `init` of this plane (an
 * earlier row) or from +0 (init = −1), then passes p0 … p1 − 1, entries of `passes` (output row
 * indices oa·oH + ob, each oW outputs). `cols`: int32 (lo, n) per column of the W. Interior [cA, cB)
 * (even length ≥ 4, or empty) with its pattern m0, d1, nE, nO (each ≤ PAD; see the header).
 */
export function avgBackwardPasses(
  dy: usize, dx: usize, div: usize, g: usize, planes: i32, W: i32, oW: i32, inPlane: i32, outPlane: i32,
  rows: usize, nRows: i32, passes: usize, cols: usize, cA: i32, cB: i32, m0: i32, d1: i32, nE: i32, nO: i32,
): void {
  const rowB = (<usize>W) << 2;
  const inner = cB > cA;
  const combo = nE == 1 && nO == 2 ? 12 : nE == 2 && nO == 1 ? 21 : nE == 2 && nO == 2 ? 22 : nE == 1 && nO == 1 ? 11 : 0;
  const gS = oW + 2 * PAD;
  const oRows = outPlane / oW;
  for (let r = 0; r < oRows; r++) {
    for (let k = 0; k < PAD; k++) {
      std(g, r * gS + k, -0.0);
      std(g, r * gS + PAD + oW + k, -0.0);
    }
  }
  for (let p = 0; p < planes; p++) {
    const xp = dx + ((<usize>p * <usize>inPlane) << 2);
    const yp = dy + ((<usize>p * <usize>outPlane) << 2);
    let gDone = 0;
    for (let r = 0; r < nRows; r++) {
      const out = xp + <usize>r * rowB;
      const init = ldi(rows, 3 * r);
      const p0 = ldi(rows, 3 * r + 1);
      const p1 = ldi(rows, 3 * r + 2);
      const hasSrc = init >= 0;
      const src = hasSrc ? xp + <usize>init * rowB : 0;
      if (p1 == p0) {
        // no pass: a copy of the init row, or +0 (no window holds the row)
        if (hasSrc) copyRow(out, src, W);
        else memory.fill(out, 0, rowB);
        continue;
      }
      // the next row starting from this one, with passes of its own: both in one sweep of the interior
      const pair = inner && r + 1 < nRows && ldi(rows, 3 * r + 3) == r && ldi(rows, 3 * r + 5) > ldi(rows, 3 * r + 4);
      const outB = out + rowB;
      const q0 = pair ? ldi(rows, 3 * r + 4) : 0;
      const q1 = pair ? ldi(rows, 3 * r + 5) : 0;
      // g's rows as the dx rows first need them (so the divisions overlap the additions of the rows before)
      for (let q = p0; q < p1; q++) gDone = gRows(g, yp, div, oW, gS, gDone, ldi(passes, q) + 1);
      for (let q = q0; q < q1; q++) gDone = gRows(g, yp, div, oW, gS, gDone, ldi(passes, q) + 1);
      if (inner) {
        for (let c = 0; c < cA; c++) passColumn(out, src, hasSrc, g, passes, p0, p1, oW, cols, c);
        for (let c = cB; c < W; c++) passColumn(out, src, hasSrc, g, passes, p0, p1, oW, cols, c);
        if (pair) {
          for (let c = 0; c < cA; c++) passColumn(outB, out, true, g, passes, q0, q1, oW, cols, c);
          for (let c = cB; c < W; c++) passColumn(outB, out, true, g, passes, q0, q1, oW, cols, c);
          if (hasSrc) pairFrom(out, src, g, passes, p0, p1, oW, cA, cB, m0, d1, combo, nE, nO, outB, q0, q1);
          else if (ASC_FEATURE_SIMD && combo == 12 && d1 == 0 && p1 - p0 == 1 && q1 - q0 == 1) pairZeroK3(out, g, passes, p0, oW, cA, cB, m0, outB, q0);
          else pairZero(out, g, passes, p0, p1, oW, cA, cB, m0, d1, combo, nE, nO, outB, q0, q1);
          r++;
        } else if (hasSrc) blocksFrom(out, src, g, passes, p0, p1, oW, cA, cB, m0, d1, combo, nE, nO);
        else blocksZero(out, g, passes, p0, p1, oW, cA, cB, m0, d1, combo, nE, nO);
      } else {
        for (let c = 0; c < W; c++) passColumn(out, src, hasSrc, g, passes, p0, p1, oW, cols, c);
      }
    }
  }
}
