// poolkit's WebAssembly average-pooling window kernels (AssemblyScript), float32; re-exported by
// assembly/pool.ts. Counterparts of avgWindowsForward/avgWindowsBackward in src/kernels/window.ts.
//
// Forward: float32 window sums, separable — column sums over the window's rows, then across the
// window (for stride 1 and 3 columns a running pair of column-sum vectors kept in registers, so each
// column sum is computed once) — divided in float32 by the float32-rounded divisor. Within float32
// accumulation error of the reference's float64 sums, not bit-identical.
//
// Backward as window sums too: dx[i] = Σ over the windows w covering i of dy[w] / divisor[w]. When
// every step is 1 and the windows' starts and ends do not decrease along each axis (sliding windows
// with padding and ceil-mode clipping, adaptive bins), the windows covering position i of an axis are
// one run of outputs [lo(i), hi(i)) — the "transposed" axis — and the set covering (a, b, c) is the
// product of the three runs. So dx is the forward's separable window sum over dy on the transposed
// axes: with a constant divisor (count_include_pad, divisor_override, adaptive bins of one size)
// the sum is divided once; otherwise dy is first scaled by 1/divisor (float32) into a plane-sized
// scratch. Each dx element is read and written once (dx += the sum; no scatter). Other plans (dilated
// windows, which avg pooling does not have, or non-monotone axes) keep the reference's scatter loop
// ({@link avgBackward}).
//
// Error of the sums: a sum of n terms in any order differs from the exact sum by at most
// γ(n−1)·Σ|terms| (γ(m) = m·u/(1 − m·u), u = 2⁻²⁴; Higham, Accuracy and Stability of Numerical
// Algorithms, 2nd ed., §4.2); the float32 divisor or reciprocal and the division or product add two
// roundings (test/backends/wasm-kernels.test.ts states the bound it checks).
//
// Pointers are byte addresses; axes arrays are int32 (start, end per output position).

import { ldd, ldf, ldi, load4, rowAt, rowCount, std, stf } from "./util";

/** What a plane pass writes: y = (sum + 0) / divisor[k] (forward), y += sum / d (constant d), y += sum. */
const FWD: i32 = 0;
const ACC_DIV: i32 = 1;
const ACC: i32 = 2;

/**
 * Column sums of 4 neighbouring columns (x[row + c + l·s], lanes l) over the window's rows: the
 * vertical half of the separable sum. `nr` (a literal 1–3) fixed rows at flat offsets r0, r1, r2, or
 * 0 to walk the rows a0..a1 × b0..b1 (rows of the interior path have step 1).
 */
// @ts-ignore: decorator
@inline function colSums(
  xp: usize, c: i32, s: i32, nr: i32, r0: i32, r1: i32, r2: i32, a0: i32, a1: i32, b0: i32, b1: i32, HW: i32, W: i32,
): v128 {
  let v = load4(xp, r0 + c, s);
  if (nr >= 2) v = f32x4.add(v, load4(xp, r1 + c, s));
  if (nr >= 3) v = f32x4.add(v, load4(xp, r2 + c, s));
  if (nr == 0) {
    let ib0 = b0 + 1;
    for (let ia = a0; ia < a1; ia++) {
      for (let ib = ib0; ib < b1; ib++) v = f32x4.add(v, load4(xp, ia * HW + ib * W + c, s));
      ib0 = b0;
    }
  }
  return v;
}

/** Write 4 sums at y[o..o+4) by `mode` (FWD: divided by d, with `+ 0` turning an all-(−0) sum into +0 as the reference's sum from +0 has it). */
// @ts-ignore: decorator
@inline function put4(y: usize, o: i32, sum: v128, d: v128, mode: i32): void {
  const q = y + ((<usize>o) << 2);
  if (mode == FWD) v128.store(q, f32x4.div(f32x4.add(sum, f32x4.splat(0)), d));
  else if (mode == ACC_DIV) v128.store(q, f32x4.add(v128.load(q), f32x4.div(sum, d)));
  else v128.store(q, f32x4.add(v128.load(q), sum));
}

/** The 4 divisors of outputs kRow + oc .. +3 (float64 → float32). */
// @ts-ignore: decorator
@inline function div4(div: usize, k: i32): v128 {
  const dp = div + ((<usize>k) << 3);
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(v128.load(dp)), f32x4.demote_f64x2_zero(v128.load(dp, 16)), 0, 1, 4, 5);
}

/**
 * SIMD window sums over the interior run [cLo, cHi) (cHi − cLo ≥ 4, every step 1), 4 outputs per
 * block: separable — column sums over the window's rows ({@link colSums}), then the k columns of
 * each window added left to right, de-interleaved for stride 2. Stride 1 with 3 columns keeps the
 * next block's column sums in a register (each column summed once); the other geometries, and the
 * last block of a run, move the block back to end at cHi (recomputing a few outputs identically) —
 * when writing (FWD); when accumulating, the run's last outputs are added one by one instead.
 * `dConst` is the divisor for ACC_DIV; FWD reads divisor[kRow + oc] (one splat when `rowConst`).
 */
// @ts-ignore: decorator
@inline function avgRun(
  xp: usize, y: usize, div: usize, dConst: f32, mode: i32, oRow: i32, kRow: i32, a0: i32, a1: i32, b0: i32, b1: i32, HW: i32, W: i32,
  cS: usize, cLo: i32, cHi: i32, s: i32, k: i32, nr: i32, rowConst: bool,
): void {
  const dRow = mode == FWD ? f32x4.splat(<f32>ldd(div, kRow + cLo)) : f32x4.splat(dConst);
  const r0 = a0 * HW + b0 * W;
  const r1 = nr >= 2 ? rowAt(1, a0, b0, b1 - b0, HW, W) : 0;
  const r2 = nr >= 3 ? rowAt(2, a0, b0, b1 - b0, HW, W) : 0;
  let oc = cLo;
  if (s == 1 && k == 3) {
    // running: block oc sums columns c0 .. c0+5 from v0 (c0..c0+3, carried) and v4 (c0+4..c0+7);
    // v4 reads 2 columns past the block's windows, so only while block oc + 4 is whole (oc + 5 ≤ cHi)
    let c0 = ldi(cS, oc);
    let v0 = colSums(xp, c0, 1, nr, r0, r1, r2, a0, a1, b0, b1, HW, W);
    while (oc + 5 <= cHi) {
      const v4 = colSums(xp, c0 + 4, 1, nr, r0, r1, r2, a0, a1, b0, b1, HW, W);
      const sum = f32x4.add(f32x4.add(v0, v128.shuffle<f32>(v0, v4, 1, 2, 3, 4)), v128.shuffle<f32>(v0, v4, 2, 3, 4, 5));
      put4(y, oRow + oc, sum, mode == FWD && !rowConst ? div4(div, kRow + oc) : dRow, mode);
      v0 = v4;
      oc += 4;
      c0 += 4;
    }
  }
  while (oc < cHi) {
    if (oc + 4 > cHi) {
      if (mode != FWD) {
        // accumulating: a block moved back would add its first outputs twice; the last ones one by one
        for (; oc < cHi; oc++) {
          const c = ldi(cS, oc);
          avgOne(xp, y, oRow + oc, dConst, mode, a0, a1, 1, b0, b1, 1, c, c + k, 1, HW, W);
        }
        break;
      }
      oc = cHi - 4;
    }
    const c0 = ldi(cS, oc);
    let sum: v128;
    if (s == 1 && k == 3) {
      // columns c0 .. c0+5: sums at c0 (lanes c0..c0+3) and c0+2 (c0+2..c0+5); the middle tap by a shuffle
      const v0 = colSums(xp, c0, 1, nr, r0, r1, r2, a0, a1, b0, b1, HW, W);
      const v2 = colSums(xp, c0 + 2, 1, nr, r0, r1, r2, a0, a1, b0, b1, HW, W);
      sum = f32x4.add(f32x4.add(v0, v128.shuffle<f32>(v0, v2, 1, 2, 3, 6)), v2);
    } else if (s == 1 && k == 2) {
      sum = f32x4.add(colSums(xp, c0, 1, nr, r0, r1, r2, a0, a1, b0, b1, HW, W), colSums(xp, c0 + 1, 1, nr, r0, r1, r2, a0, a1, b0, b1, HW, W));
    } else if (s == 2 && (k == 2 || k == 3)) {
      // columns c0 .. c0+7 (+ c0+8 for k = 3) summed once, then de-interleaved into the taps
      const v0 = colSums(xp, c0, 1, nr, r0, r1, r2, a0, a1, b0, b1, HW, W);
      const v4 = colSums(xp, c0 + 4, 1, nr, r0, r1, r2, a0, a1, b0, b1, HW, W);
      const t0 = v128.shuffle<f32>(v0, v4, 0, 2, 4, 6);
      sum = f32x4.add(t0, v128.shuffle<f32>(v0, v4, 1, 3, 5, 7));
      if (k == 3) sum = f32x4.add(sum, v128.shuffle<f32>(t0, colSums(xp, c0 + 5, 1, nr, r0, r1, r2, a0, a1, b0, b1, HW, W), 1, 2, 3, 7));
    } else {
      sum = colSums(xp, c0, s, nr, r0, r1, r2, a0, a1, b0, b1, HW, W);
      for (let t = 1; t < k; t++) sum = f32x4.add(sum, colSums(xp, c0 + t, s, nr, r0, r1, r2, a0, a1, b0, b1, HW, W));
    }
    put4(y, oRow + oc, sum, mode == FWD && !rowConst ? div4(div, kRow + oc) : dRow, mode);
    oc += 4;
  }
}

/** {@link avgRun} with the row count as a literal (2 or 3 fixed rows, else the row walk). */
// @ts-ignore: decorator
@inline function avgRows(
  xp: usize, y: usize, div: usize, dConst: f32, mode: i32, oRow: i32, kRow: i32, a0: i32, a1: i32, b0: i32, b1: i32, HW: i32, W: i32,
  cS: usize, cLo: i32, cHi: i32, s: i32, k: i32, rowConst: bool,
): void {
  const nr = rowCount(a0, a1, b0, b1);
  if (nr == 3) avgRun(xp, y, div, dConst, mode, oRow, kRow, a0, a1, b0, b1, HW, W, cS, cLo, cHi, s, k, 3, rowConst);
  else if (nr == 2) avgRun(xp, y, div, dConst, mode, oRow, kRow, a0, a1, b0, b1, HW, W, cS, cLo, cHi, s, k, 2, rowConst);
  else avgRun(xp, y, div, dConst, mode, oRow, kRow, a0, a1, b0, b1, HW, W, cS, cLo, cHi, s, k, 0, rowConst);
}

/** Scalar window sum, written by `mode`: the same separable float32 sums (columns over rows, then left to right); an empty window gives 0 (FWD) or adds nothing. */
// @ts-ignore: decorator
@inline function avgOne(
  xp: usize, y: usize, o: i32, d: f32, mode: i32, a0: i32, a1: i32, sa: i32, b0: i32, b1: i32, sb: i32, c0: i32, c1: i32, sc: i32, HW: i32, W: i32,
): void {
  let sum: f32 = 0;
  for (let ic = c0; ic < c1; ic += sc) {
    let col: f32 = 0;
    for (let ia = a0; ia < a1; ia += sa) {
      for (let ib = b0; ib < b1; ib += sb) col += ldf(xp, ia * HW + ib * W + ic);
    }
    sum += col;
  }
  if (mode == FWD) stf(y, o, c1 > c0 ? sum / d : 0);
  else if (mode == ACC_DIV) stf(y, o, ldf(y, o) + sum / d);
  else stf(y, o, ldf(y, o) + sum);
}

/**
 * One plane's window sums from xp into y (plane-relative output offsets), written by `mode` (a
 * literal). `div`: float64 divisors per output position (FWD); `dConst`: the divisor of ACC_DIV.
 * Axes and interior run as in {@link avgForward}.
 */
// @ts-ignore: decorator
@inline function avgPlane(
  xp: usize, y: usize, div: usize, dConst: f32, mode: i32, H: i32, W: i32,
  aS: usize, aE: usize, nA: i32, sa: i32,
  bS: usize, bE: usize, nB: i32, sb: i32,
  cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool, rowConst: bool, walk: bool,
): void {
  const HW = H * W;
  let o = 0;
  for (let oa = 0; oa < nA; oa++) {
    const a0 = ldi(aS, oa);
    const a1 = ldi(aE, oa);
    for (let ob = 0; ob < nB; ob++) {
      const b0 = ldi(bS, ob);
      const b1 = ldi(bE, ob);
      if (a1 <= a0 || b1 <= b0) {
        // no row of the input: every window of this output row is empty
        if (mode == FWD) for (let oc = 0; oc < nC; oc++) stf(y, o + oc, 0);
      } else if (ASC_FEATURE_SIMD && simd) {
        for (let oc = 0; oc < cLo; oc++) avgOne(xp, y, o + oc, mode == FWD ? <f32>ldd(div, o + oc) : dConst, mode, a0, a1, sa, b0, b1, sb, ldi(cS, oc), ldi(cE, oc), sc, HW, W);
        if (walk) avgRun(xp, y, div, dConst, mode, o, o, a0, a1, b0, b1, HW, W, cS, cLo, cHi, cStride, cK, 0, rowConst);
        else avgRows(xp, y, div, dConst, mode, o, o, a0, a1, b0, b1, HW, W, cS, cLo, cHi, cStride, cK, rowConst);
        for (let oc = cHi; oc < nC; oc++) avgOne(xp, y, o + oc, mode == FWD ? <f32>ldd(div, o + oc) : dConst, mode, a0, a1, sa, b0, b1, sb, ldi(cS, oc), ldi(cE, oc), sc, HW, W);
      } else {
        for (let oc = 0; oc < nC; oc++) avgOne(xp, y, o + oc, mode == FWD ? <f32>ldd(div, o + oc) : dConst, mode, a0, a1, sa, b0, b1, sb, ldi(cS, oc), ldi(cE, oc), sc, HW, W);
      }
      o += nC;
    }
  }
}

/** Interior geometries (stride, taps) with their own literal-specialised loops; ANY: the generic run. */
const ANY: i32 = 0;
const S1K3: i32 = 1;
const S2K2: i32 = 2;
const S2K3: i32 = 3;
const S1K2: i32 = 4;

/** The interior geometry's code for (cStride, cK). */
function comboOf(cStride: i32, cK: i32): i32 {
  if (cStride == 1 && cK == 3) return S1K3;
  if (cStride == 2 && cK == 2) return S2K2;
  if (cStride == 2 && cK == 3) return S2K3;
  if (cStride == 1 && cK == 2) return S1K2;
  return ANY;
}

/**
 * Every plane's window sums from src (planes of srcPlane floats) into dst (dstPlane), written by
 * `mode`: FWD reads the divisors `div`, ACC_DIV divides by dConst, ACC first scales each plane by
 * `recip` into the scratch `g`. `mode`, `rowConst`, the interior's (cStride, cK) and `walk` (the
 * generic row walk instead of fixed rows) are literals in each of the planes* functions below, so
 * every specialisation is compiled as a function of its own: inlined into the two exports, they made
 * two functions of 15,000 locals that Binaryen took three minutes to optimise (now ~20 s in all).
 */
// @ts-ignore: decorator
@inline function avgPlanes(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool, mode: i32, rowConst: bool, walk: bool,
): void {
  for (let p = 0; p < planes; p++) {
    let sp = src + ((<usize>p * <usize>srcPlane) << 2);
    const dp = dst + ((<usize>p * <usize>dstPlane) << 2);
    if (mode == ACC) {
      let k = 0;
      if (ASC_FEATURE_SIMD) {
        for (; k + 4 <= srcPlane; k += 4) {
          const q = (<usize>k) << 2;
          v128.store(g + q, f32x4.mul(v128.load(sp + q), v128.load(recip + q)));
        }
      }
      for (; k < srcPlane; k++) stf(g, k, ldf(sp, k) * ldf(recip, k));
      sp = g;
    }
    avgPlane(sp, dp, div, mode == ACC ? 1 : dConst, mode, H, W, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd, rowConst, walk);
  }
}

function planesFwdANY(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd, FWD, true, true);
}

function planesFwdS1K3(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, 1, 3, simd, FWD, true, false);
}



function planesFwdS1K2(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, 1, 2, simd, FWD, true, false);
}

function planesFwdVarANY(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd, FWD, false, true);
}

function planesFwdVarS1K3(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, 1, 3, simd, FWD, false, false);
}



function planesFwdVarS1K2(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, 1, 2, simd, FWD, false, false);
}

function planesAccDivANY(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd, ACC_DIV, true, true);
}

function planesAccDivS1K3(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, 1, 3, simd, ACC_DIV, true, false);
}

function planesAccDivS2K2(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, 2, 2, simd, ACC_DIV, true, false);
}

function planesAccDivS2K3(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, 2, 3, simd, ACC_DIV, true, false);
}

function planesAccDivS1K2(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, 1, 2, simd, ACC_DIV, true, false);
}

function planesAccANY(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd, ACC, true, true);
}

function planesAccS1K3(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, 1, 3, simd, ACC, true, false);
}

function planesAccS2K2(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, 2, 2, simd, ACC, true, false);
}

function planesAccS2K3(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, 2, 3, simd, ACC, true, false);
}

function planesAccS1K2(
  src: usize, dst: usize, div: usize, recip: usize, g: usize, dConst: f32, planes: i32, H: i32, W: i32, srcPlane: i32, dstPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32, bS: usize, bE: usize, nB: i32, sb: i32, cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, simd: bool,
): void {
  avgPlanes(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, 1, 2, simd, ACC, true, false);
}

/**
 * y = (window sum) / divisor[k] (float64 divisors, one per output position in a plane, rounded to
 * float32); an empty window gives 0. Axes (A = depth, B = height, C = width; trivial leading axes
 * for 1-d/2-d): start/end per output position, step = dilation. Output columns [cLo, cHi) are
 * interior windows of cK taps starting cStride apart (only when every step is 1 and the run has at
 * least 4 columns); the SIMD build computes them 4 at a time. Plans whose interior run has a stride
 * ≥ 2 take assembly/avgrows.ts avgRowsForward instead (src/backends/wasm/avgrows.ts), so the literal
 * specialisations here are the stride-1 ones (a stride-2 run would take the generic loop).
 */
export function avgForward(
  x: usize, y: usize, div: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32,
  bS: usize, bE: usize, nB: i32, sb: i32,
  cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32,
): void {
  const simd = ASC_FEATURE_SIMD && cHi - cLo >= 4;
  // Whether every output row's interior divisors are one value (they are for full windows; the
  // divisors are the same for every plane, so this is checked once per call).
  let rowConst = true;
  if (simd) {
    for (let r = 0, n = nA * nB; r < n && rowConst; r++) {
      const d0 = ldd(div, r * nC + cLo);
      for (let oc = cLo + 1; oc < cHi; oc++) {
        if (ldd(div, r * nC + oc) != d0) {
          rowConst = false;
          break;
        }
      }
    }
  }
  const src = x;
  const dst = y;
  const recip: usize = 0;
  const g: usize = 0;
  const dConst: f32 = 0;
  const srcPlane = inPlane;
  const dstPlane = outPlane;
  if (rowConst) {
    const combo = comboOf(cStride, cK);
    if (combo == S1K3) planesFwdS1K3(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
    else if (combo == S1K2) planesFwdS1K2(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
    else planesFwdANY(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
  } else {
    const combo = comboOf(cStride, cK);
    if (combo == S1K3) planesFwdVarS1K3(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
    else if (combo == S1K2) planesFwdVarS1K2(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
    else planesFwdVarANY(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
  }
}

/**
 * dx += window sums of dy over the transposed axes (see the header): per plane, dy (shape
 * [nA', nB', nC'] = the forward's output) is summed over the run of outputs covering each input
 * position, and dx (the forward's input, [D, H, W]) receives sum / dConst (dConst > 0: the one
 * divisor of every window), or — dConst = 0 — dy is first scaled by `recip` (float32 1/divisor per
 * output position) into `g` (scratch of outPlane floats) and dx receives the plain sum.
 * Geometry arguments: the transposed axes (one run per position of D, H, W; every step 1), with
 * gH = nB', gW = nC' the forward output's row sizes, and the transposed interior run.
 */
export function avgBackwardSum(
  dy: usize, dx: usize, recip: usize, g: usize, dConst: f32, planes: i32, gH: i32, gW: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32,
  bS: usize, bE: usize, nB: i32,
  cS: usize, cE: usize, nC: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32,
): void {
  const simd = ASC_FEATURE_SIMD && cHi - cLo >= 4;
  const src = dy;
  const dst = dx;
  const div: usize = 0;
  const H = gH;
  const W = gW;
  const srcPlane = outPlane;
  const dstPlane = inPlane;
  const sa = 1;
  const sb = 1;
  const sc = 1;
  if (dConst != 0) {
    const combo = comboOf(cStride, cK);
    if (combo == S1K3) planesAccDivS1K3(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
    else if (combo == S2K2) planesAccDivS2K2(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
    else if (combo == S2K3) planesAccDivS2K3(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
    else if (combo == S1K2) planesAccDivS1K2(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
    else planesAccDivANY(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
  } else {
    const combo = comboOf(cStride, cK);
    if (combo == S1K3) planesAccS1K3(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
    else if (combo == S2K2) planesAccS2K2(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
    else if (combo == S2K3) planesAccS2K3(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
    else if (combo == S1K2) planesAccS1K2(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
    else planesAccANY(src, dst, div, recip, g, dConst, planes, H, W, srcPlane, dstPlane, aS, aE, nA, sa, bS, bE, nB, sb, cS, cE, nC, sc, cLo, cHi, cStride, cK, simd);
  }
}

/**
 * dx[window] += dy / divisor[k], outputs in order (each dx element receives its additions in the
 * reference's order, float64 g): any plan, including those {@link avgBackwardSum} cannot take.
 */
export function avgBackward(
  dy: usize, dx: usize, div: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32,
  bS: usize, bE: usize, nB: i32, sb: i32,
  cS: usize, cE: usize, nC: i32, sc: i32,
): void {
  for (let p = 0; p < planes; p++) {
    const xp = dx + ((<usize>p * <usize>inPlane) << 2);
    let o = p * outPlane;
    let k = 0;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = ldi(aS, oa);
      const a1 = ldi(aE, oa);
      for (let ob = 0; ob < nB; ob++) {
        const b0 = ldi(bS, ob);
        const b1 = ldi(bE, ob);
        for (let oc = 0; oc < nC; oc++) {
          const c0 = ldi(cS, oc);
          const c1 = ldi(cE, oc);
          const gk: f64 = <f64>ldf(dy, o) / load<f64>(div + ((<usize>k) << 3));
          for (let ia = a0; ia < a1; ia += sa) {
            for (let ib = b0; ib < b1; ib += sb) {
              const row = (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic += sc) {
                const q = row + ic;
                stf(xp, q, <f32>(<f64>ldf(xp, q) + gk));
              }
            }
          }
          o++;
          k++;
        }
      }
    }
  }
}

/** g[k] = f64(dy[k]) / divisor[k], k < n (float64 division, 2 lanes at a time in the SIMD build). */
// @ts-ignore: decorator
@inline export function gTerms(g: usize, dy: usize, div: usize, n: i32): void {
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    for (; k + 2 <= n; k += 2) {
      const q = (<usize>k) << 3;
      v128.store(g + q, f64x2.div(f64x2.promote_low_f32x4(v128.load64_zero(dy + ((<usize>k) << 2))), v128.load(div + q)));
    }
  }
  for (; k < n; k++) std(g, k, <f64>ldf(dy, k) / ldd(div, k));
}

/** dst[0..n) = src[0..n) (float32 rows that do not overlap), 16 floats per step, then 4, then 1. */
// @ts-ignore: decorator
@inline export function copyRow(dst: usize, src: usize, n: i32): void {
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    for (; c + 16 <= n; c += 16) {
      const s = src + ((<usize>c) << 2);
      const d = dst + ((<usize>c) << 2);
      const v0 = v128.load(s);
      const v1 = v128.load(s, 16);
      const v2 = v128.load(s, 32);
      const v3 = v128.load(s, 48);
      v128.store(d, v0);
      v128.store(d, v1, 16);
      v128.store(d, v2, 32);
      v128.store(d, v3, 48);
    }
    for (; c + 4 <= n; c += 4) v128.store(dst + ((<usize>c) << 2), v128.load(src + ((<usize>c) << 2)));
  }
  for (; c < n; c++) stf(dst, c, ldf(src, c));
}

/** Rows 1 … m − 1 after `first` (each `W` floats) = row 0 (a group's rows share their values). */
// @ts-ignore: decorator
@inline function copyDown(first: usize, m: i32, W: i32): void {
  const rowB = (<usize>W) << 2;
  let dst = first + rowB;
  for (let i = 1; i < m; i++) {
    copyRow(dst, first, W);
    dst += rowB;
  }
}

/** Block q of a dx row from the group's float32 row f: lanes picked by the swizzle mask (mode COLS_SWIZZLE) or one value splat (COLS_SPLAT). */
// @ts-ignore: decorator
@inline function colBlock(f: usize, bases: usize, masks: usize, q: i32, splat: bool): v128 {
  const at = f + ((<usize>ldi(bases, q)) << 2);
  return splat ? v128.load32_splat(at) : i8x16.swizzle(v128.load(at), v128.load(masks + ((<usize>q) << 4)));
}

/**
 * The rows of one group (`m` rows from `first`, W floats each) from its float32 row f (one value per
 * output column): 4-column blocks q < W/4 at column 4q, and when W % 4 ≠ 0 a last block at W − 4
 * (overlapping; same values). Four blocks at a time (then two, then one) are made once and stored
 * into every row.
 */
// @ts-ignore: decorator
@inline function colRows(first: usize, m: i32, W: i32, f: usize, bases: usize, masks: usize, nBlk: i32, splat: bool): void {
  const rowB = (<usize>W) << 2;
  const full = W >> 2;
  let q = 0;
  for (; q + 4 <= full; q += 4) {
    const v0 = colBlock(f, bases, masks, q, splat);
    const v1 = colBlock(f, bases, masks, q + 1, splat);
    const v2 = colBlock(f, bases, masks, q + 2, splat);
    const v3 = colBlock(f, bases, masks, q + 3, splat);
    let rp = first + ((<usize>q) << 4);
    for (let i = 0; i < m; i++) {
      v128.store(rp, v0);
      v128.store(rp, v1, 16);
      v128.store(rp, v2, 32);
      v128.store(rp, v3, 48);
      rp += rowB;
    }
  }
  if (q + 2 <= full) {
    const v0 = colBlock(f, bases, masks, q, splat);
    const v1 = colBlock(f, bases, masks, q + 1, splat);
    let rp = first + ((<usize>q) << 4);
    for (let i = 0; i < m; i++) {
      v128.store(rp, v0);
      v128.store(rp, v1, 16);
      rp += rowB;
    }
    q += 2;
  }
  for (; q < nBlk; q++) {
    const v = colBlock(f, bases, masks, q, splat);
    let rp = first + (q < full ? (<usize>q) << 4 : (<usize>(W - 4)) << 2);
    for (let i = 0; i < m; i++) {
      v128.store(rp, v);
      rp += rowB;
    }
  }
}

/** avgBackwardWrite's modes: column segments; column blocks by swizzles or by splats; + ONE_TERM (every group one output row). */
const SEGMENTS: i32 = 0;
const COLS_SWIZZLE: i32 = 1;
const COLS_SPLAT: i32 = 2;
const ONE_TERM: i32 = 4;

/**
 * dx = Σ dy[w] / divisor[w] over the windows w holding each position, written (dx's contents on entry
 * ignored) with the reference's float operations in its order, so bit-identical to it on a zeroed dx:
 * g[k] = f64(dy[k]) / divisor[k] (float64, as the reference's g), and each dx element is
 * fl32(…fl32(fl32(0 + g[o₁]) + g[o₂])…) over the outputs o₁ < o₂ < … whose windows hold it — the
 * additions the reference's scatter makes to it, in scan order of the outputs. The windows holding
 * (a, b, c) are the product of the transposed runs (see the header). Rows of dx (row = a·H + b) come
 * in `groups`, int32 sextuples (row0, m, a0, a1, b0, b1): rows row0 … row0 + m − 1 share the depth
 * run [a0, a1) and row run [b0, b1), so they are equal (adaptive bins: one group per output row).
 * Per group and `mode`:
 * - SEGMENTS (any build): the columns `seg`, int32 quadruples (c0, c1, lo, hi) — columns [c0, c1)
 *   held by outputs [lo, hi) of their row — each summed in the reference's order and splat into the
 *   group's first row, which is then copied into the others.
 * - COLS_SWIZZLE / COLS_SPLAT (SIMD; every column held by at most one output column, W ≥ 4): the
 *   group's float32 row f[oc] = the sum over its (a, b) runs in scan order (2 float64 lanes per step)
 *   is spread over the columns by 4-column blocks: block q takes the 4 floats at f + bases[q] through
 *   the i8x16.swizzle mask masks[q] (0x80 bytes: a column no window holds, +0), or, when every block
 *   is one output's value, one 32-bit splat load. With ONE_TERM (every group holds one output row, no
 *   overlap: tiled bins such as 56 → 7), f for the whole plane is fl32(0 + f64(dy)/d) = (dy + 0)/d
 *   in float32, with float32 divisors `div` that are integers in [1, 2²⁴]: 0 + g is g except for
 *   dy = ±0 (then +0, as (dy + 0)/d), and the float32 quotient equals the float64 one rounded to
 *   float32 (double rounding is innocuous for division when q = 53 ≥ 2p = 48: S. Figueroa, "When is
 *   double rounding innocuous?", SIGNUM Newsletter 30(3), 1995; in the subnormal range the quotient
 *   is at least 2⁻¹⁵⁰/d ≥ 2⁻¹⁷⁴ from any float32 rounding midpoint, beyond the float64 error 2⁻¹⁸⁰).
 *   A tiny negative quotient rounds to −0 in both, where 0 + (dy/d) in float32 would give +0.
 * Scratch: g (outPlane + 4 float64; not used with ONE_TERM) and f (COLS: outPlane + 4 float32 with
 * ONE_TERM, else nG rows of ((oW + 7) & ~3) float32). oH, oW: the output's rows and columns per depth.
 */
export function avgBackwardWrite(
  dy: usize, dx: usize, div: usize, g: usize, f: usize, planes: i32, W: i32, oH: i32, oW: i32, inPlane: i32, outPlane: i32,
  groups: usize, nG: i32, seg: usize, nSeg: i32, bases: usize, masks: usize, nBlk: i32, mode: i32,
): void {
  const rowB = (<usize>W) << 2;
  const cols = (mode & 3) != SEGMENTS;
  const splat = (mode & 3) == COLS_SPLAT;
  const one = (mode & ONE_TERM) != 0;
  const fS = (<usize>((oW + 7) & ~3)) << 2;
  for (let p = 0; p < planes; p++) {
    const yp = dy + ((<usize>p * <usize>outPlane) << 2);
    const xp = dx + ((<usize>p * <usize>inPlane) << 2);
    if (ASC_FEATURE_SIMD && cols && one) {
      // f = fl32(0 + f64(dy) / d) = (dy + 0) / d in float32 for the whole plane (float32 divisors)
      let k = 0;
      const zero = f32x4.splat(0);
      for (; k + 4 <= outPlane; k += 4) {
        const q = (<usize>k) << 2;
        v128.store(f + q, f32x4.div(f32x4.add(v128.load(yp + q), zero), v128.load(div + q)));
      }
      for (; k < outPlane; k++) stf(f, k, (ldf(yp, k) + <f32>0) / ldf(div, k));
    } else {
      gTerms(g, yp, div, outPlane);
    }
    for (let gi = 0; gi < nG; gi++) {
      const gq = groups + <usize>(gi * 24);
      const row0 = load<i32>(gq);
      const m = load<i32>(gq, 4);
      const a0 = load<i32>(gq, 8);
      const a1 = load<i32>(gq, 12);
      const b0 = load<i32>(gq, 16);
      const b1 = load<i32>(gq, 20);
      const first = xp + <usize>row0 * rowB;
      if (a1 <= a0 || b1 <= b0) {
        memory.fill(first, 0, <usize>m * rowB); // rows no window holds
        continue;
      }
      if (ASC_FEATURE_SIMD && cols) {
        let fr = f + ((<usize>((a0 * oH + b0) * oW)) << 2);
        if (!one) {
          // the group's row: fl32 after each term, 4 output columns (2 float64 pairs) per step
          fr = f + <usize>gi * fS;
          let t = 0;
          for (let oa = a0; oa < a1; oa++) {
            for (let ob = b0; ob < b1; ob++) {
              const gr = g + ((<usize>((oa * oH + ob) * oW)) << 3);
              for (let oc = 0; oc < oW; oc += 4) {
                const s = gr + ((<usize>oc) << 3);
                const d = fr + ((<usize>oc) << 2);
                let lo = v128.load(s);
                let hi = v128.load(s, 16);
                if (t == 0) {
                  lo = f64x2.add(f64x2.splat(0), lo);
                  hi = f64x2.add(f64x2.splat(0), hi);
                } else {
                  const a = v128.load(d);
                  lo = f64x2.add(f64x2.promote_low_f32x4(a), lo);
                  hi = f64x2.add(f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 0, 1)), hi);
                }
                v128.store(d, v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
              }
              t++;
            }
          }
        }
        colRows(first, m, W, fr, bases, masks, nBlk, splat);
        continue;
      }
      for (let s = 0; s < nSeg; s++) {
        const q = seg + ((<usize>s) << 4);
        const c0 = load<i32>(q);
        const c1 = load<i32>(q, 4);
        const lo = load<i32>(q, 8);
        const hi = load<i32>(q, 12);
        let acc: f32 = 0;
        for (let oa = a0; oa < a1; oa++) {
          for (let ob = b0; ob < b1; ob++) {
            const r = (oa * oH + ob) * oW;
            for (let oc = lo; oc < hi; oc++) acc = <f32>(<f64>acc + ldd(g, r + oc));
          }
        }
        let c = c0;
        if (ASC_FEATURE_SIMD) {
          if (c1 - c0 >= 4) {
            const vv = f32x4.splat(acc);
            for (; c + 4 <= c1; c += 4) v128.store(first + ((<usize>c) << 2), vv);
            if (c < c1) v128.store(first + ((<usize>(c1 - 4)) << 2), vv);
            c = c1;
          }
        }
        for (; c < c1; c++) stf(first, c, acc);
      }
      copyDown(first, m, W);
    }
  }
}

/**
 * avgBackwardWrite for one window per plane covering the whole plane (global average pooling): every
 * element of plane p is fl32(0 + f64(dy[p])/d) — the reference's one addition into its zeroed dx —
 * computed as (dy[p] + 0)/d in float32, with d the divisor, an integer in [1, 2²⁴]: 0 + g is g except
 * for dy = ±0 (+0 both ways), and the float32 quotient is the float64 one rounded (double rounding is
 * innocuous for division; see avgBackwardWrite's ONE_TERM), so a tiny negative quotient is −0 as in
 * the reference. Each plane written with splats (the last 4 floats overlapping when inPlane is not a
 * multiple of 4).
 */
export function avgBackwardGlobal(dy: usize, dx: usize, planes: i32, inPlane: i32, d: f32): void {
  for (let p = 0; p < planes; p++) {
    const v: f32 = (ldf(dy, p) + <f32>0) / d;
    const xp = dx + ((<usize>p * <usize>inPlane) << 2);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      if (inPlane >= 4) {
        const vv = f32x4.splat(v);
        for (; i + 4 <= inPlane; i += 4) v128.store(xp + ((<usize>i) << 2), vv);
        if (i < inPlane) v128.store(xp + ((<usize>(inPlane - 4)) << 2), vv);
        i = inPlane;
      }
    }
    for (; i < inPlane; i++) stf(xp, i, v);
  }
}
