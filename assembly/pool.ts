// poolkit's WebAssembly window kernels (AssemblyScript), float32.
//
// One source, two builds (scripts/build-wasm.mjs): `--enable simd` and `--disable simd`. The SIMD
// branches sit behind the compile-time constant ASC_FEATURE_SIMD, so the scalar build contains no
// v128 instruction and loads on engines without SIMD. No relaxed SIMD: results must not depend on
// the CPU.
//
// What each kernel gives relative to the TypeScript reference (src/kernels/window.ts):
// - max: exactly its values and indices — the sequential PyTorch scan (replace when
//   `v > best || v != v`, d/h/w order), so ties go to the first maximum, NaN propagates with the last
//   NaN's index, and an empty window keeps (−∞, its first tap). The SIMD fast path computes 4
//   neighbouring outputs per block with `f32x4.pmax` tournaments, exact whenever no tap is NaN, and
//   re-runs the lane-wise scan (compare masks and bitselect) for an output row whose taps held a NaN.
// - avg: float32 sums (separable: columns over the window's rows, then across the window) divided in
//   float32 — within float32 accumulation error of the reference's float64 sums, not bit-identical.
// - backward: the reference's loops, with float64 intermediate `g` for avg (bit-identical).
//
// Memory: imported (tensors live in it; the host allocator owns all of it above the first page).
// Pointers are byte addresses; axes arrays are int32 (start, end per output position).

import { laneSteps, ldd, ldf, ldi, load4, mergeArg, mergeMax, rowArg, rowAt, rowCount, rowMax, stf, sti, tap } from "./util";

/**
 * Exact SIMD max over the interior run [cLo, cHi) of one output row (cHi − cLo ≥ 4): blocks of 4
 * outputs, the last block moved back to end at cHi (it recomputes a few outputs, with identical
 * results), so no output of the run is left to the scalar path. Each lane runs PyTorch's sequential
 * scan (compare masks and bitselect instead of branches), so NaN, ties and −∞ come out as the
 * reference has them. Used for geometries without a fast path and as the fast path's slow path
 * (re-run for an output row whose taps held a NaN). `s` is the column stride; the callers pass
 * literals where they can so that, once inlined, the load's stride test folds away.
 */
// @ts-ignore: decorator
@inline function exactRun(
  xp: usize, y: usize, idx: usize, oRow: i32, a0: i32, a1: i32, b0: i32, b1: i32, H: i32, W: i32,
  cS: usize, cLo: i32, cHi: i32, s: i32, cK: i32,
): void {
  const lane = laneSteps(s);
  let oc = cLo;
  while (oc < cHi) {
    if (oc + 4 > cHi) oc = cHi - 4;
    const c0 = ldi(cS, oc);
    // The window's first tap starts the scan: comparing it against −∞ would replace exactly when
    // it is not −∞, and a −∞ first tap gives (−∞, first tap) either way.
    const first = (a0 * H + b0) * W + c0;
    let best = load4(xp, first, s);
    let bi = i32x4.add(i32x4.splat(first), lane);
    for (let ia = a0; ia < a1; ia++) {
      for (let ib = b0; ib < b1; ib++) {
        const row = (ia * H + ib) * W + c0;
        const rowIdx = i32x4.add(i32x4.splat(row), lane);
        // PyTorch's rule `v > best || isnan(v)` per lane
        for (let k = select<i32>(1, 0, row == first); k < cK; k++) {
          const v = load4(xp, row + k, s);
          const m = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
          best = v128.bitselect(v, best, m);
          bi = v128.bitselect(i32x4.add(rowIdx, i32x4.splat(k)), bi, m);
        }
      }
    }
    const o = oRow + oc;
    v128.store(y + ((<usize>o) << 2), best);
    v128.store(idx + ((<usize>o) << 2), bi);
    oc += 4;
  }
}

// The fast path reduces one window row of 4 neighbouring windows (k taps, `s` apart) with tap,
// rowMax and rowArg (./util). Without NaN, PyTorch's scan over taps t0, t1, t2 (replace when strictly
// greater) is the ordered tournament pmax(pmax(t0, t1), t2), whose winner moves right only on a
// strict `>`: `f32x4.pmax(a, b)` is `a < b ? b : a` — one vmaxps, keeping the earlier tap on ties
// (±0 and −∞ included). The index follows from the same comparisons.

/** {@link exactRun} as one (not inlined) function for any stride: the NaN re-run and the geometries without a fast path. */
function exactRunAny(
  xp: usize, y: usize, idx: usize, oRow: i32, a0: i32, a1: i32, b0: i32, b1: i32, H: i32, W: i32,
  cS: usize, cLo: i32, cHi: i32, s: i32, cK: i32,
): void {
  exactRun(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, s, cK);
}

/**
 * Fast SIMD max over the interior run [cLo, cHi) (cHi − cLo ≥ 4) for k ∈ {2, 3} taps per row and
 * column stride s ∈ {1, 2}, every step 1: per block of 4 outputs, each window row's tournament
 * (rowMax/rowArg), then the rows merged in scan order ({@link mergeMax}). `nr` (a literal 1–3, or
 * 0 for the general row walk) is the number of window rows. Exact
 * unless a tap is NaN (pmax and > ignore NaN); NaN is detected by adding every loaded value into
 * accumulators (NaN + anything = NaN; a false alarm from ∞ − ∞ only costs the exact re-run).
 * Returns true when the run saw a NaN: the caller re-runs it with {@link exactRun}.
 */
// @ts-ignore: decorator
@inline function fastRun(
  xp: usize, y: usize, idx: usize, oRow: i32, a0: i32, a1: i32, b0: i32, b1: i32, H: i32, W: i32,
  cS: usize, cLo: i32, cHi: i32, s: i32, k: i32, nr: i32,
): bool {
  const HW = H * W;
  const lane = laneSteps(s);
  const r0 = a0 * HW + b0 * W;
  const r1 = nr >= 2 ? rowAt(1, a0, b0, b1 - b0, HW, W) : 0;
  const r2 = nr >= 3 ? rowAt(2, a0, b0, b1 - b0, HW, W) : 0;
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
    let bi = rowArg(p, i32x4.add(i32x4.splat(q), lane), s, k);
    // NaN watch: the vectors loaded from x[p .. p + 4s) — every tap of the run but the last block's last k − s columns
    acc0 = f32x4.add(acc0, v128.load(p));
    if (s == 2) acc1 = f32x4.add(acc1, v128.load(p, 16));
    if (nr >= 2) {
      q = r1 + c0;
      p = xp + ((<usize>q) << 2);
      const rv = rowMax(p, s, k);
      const ri = rowArg(p, i32x4.add(i32x4.splat(q), lane), s, k);
      acc0 = f32x4.add(acc0, v128.load(p));
      if (s == 2) acc1 = f32x4.add(acc1, v128.load(p, 16));
      bi = mergeArg(bv, bi, rv, ri);
      bv = mergeMax(bv, rv);
    }
    if (nr >= 3) {
      q = r2 + c0;
      p = xp + ((<usize>q) << 2);
      const rv = rowMax(p, s, k);
      const ri = rowArg(p, i32x4.add(i32x4.splat(q), lane), s, k);
      acc0 = f32x4.add(acc0, v128.load(p));
      if (s == 2) acc1 = f32x4.add(acc1, v128.load(p, 16));
      bi = mergeArg(bv, bi, rv, ri);
      bv = mergeMax(bv, rv);
    }
    if (nr == 0) {
      let ib0 = b0 + 1;
      for (let ia = a0; ia < a1; ia++) {
        for (let ib = ib0; ib < b1; ib++) {
          q = ia * HW + ib * W + c0;
          p = xp + ((<usize>q) << 2);
          const rv = rowMax(p, s, k);
          const ri = rowArg(p, i32x4.add(i32x4.splat(q), lane), s, k);
          acc0 = f32x4.add(acc0, v128.load(p));
          if (s == 2) acc1 = f32x4.add(acc1, v128.load(p, 16));
          bi = mergeArg(bv, bi, rv, ri);
          bv = mergeMax(bv, rv);
        }
        ib0 = b0;
      }
    }
    const o = oRow + oc;
    v128.store(y + ((<usize>o) << 2), bv);
    v128.store(idx + ((<usize>o) << 2), bi);
    oc += 4;
  }
  let nan = v128.any_true(v128.or(f32x4.ne(acc0, acc0), f32x4.ne(acc1, acc1)));
  // the last block's columns past x[c0 + 4s), which no load above added
  for (let ia = a0; ia < a1; ia++) {
    for (let ib = b0; ib < b1; ib++) {
      const row = ia * HW + ib * W;
      for (let c = c0 + 4 * s; c < c0 + 3 * s + k; c++) {
        const v = ldf(xp, row + c);
        nan = nan || v != v;
      }
    }
  }
  return nan;
}

/** {@link fastRun} with the row count as a literal (2 or 3 fixed rows, else the row walk). */
// @ts-ignore: decorator
@inline function fastRows(
  xp: usize, y: usize, idx: usize, oRow: i32, a0: i32, a1: i32, b0: i32, b1: i32, H: i32, W: i32,
  cS: usize, cLo: i32, cHi: i32, s: i32, k: i32,
): bool {
  const nr = rowCount(a0, a1, b0, b1);
  if (nr == 3) return fastRun(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, s, k, 3);
  if (nr == 2) return fastRun(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, s, k, 2);
  return fastRun(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, s, k, 0);
}

/** Scalar max of one window (branch-free selects: on random data a branchy scan mispredicts). */
// @ts-ignore: decorator
@inline function maxOne(
  xp: usize, y: usize, idx: usize, o: i32, a0: i32, a1: i32, sa: i32, b0: i32, b1: i32, sb: i32, c0: i32, c1: i32, sc: i32, H: i32, W: i32,
): void {
  let best: f32 = -Infinity;
  let bi = (a0 * H + b0) * W + c0;
  for (let ia = a0; ia < a1; ia += sa) {
    for (let ib = b0; ib < b1; ib += sb) {
      const row = (ia * H + ib) * W;
      for (let ic = c0; ic < c1; ic += sc) {
        const v = ldf(xp, row + ic);
        const m = (<i32>(v > best)) | (<i32>(v != v)); // no short-circuit branch
        best = select<f32>(v, best, m != 0);
        bi = select<i32>(row + ic, bi, m != 0);
      }
    }
  }
  stf(y, o, best);
  sti(idx, o, bi);
}

/**
 * Max over each window with flat in-plane indices, for a plan of three axes (A = depth, B = height,
 * C = width; trivial leading axes for 1-d/2-d). Axis arrays: start/end per output position, step =
 * dilation. Output columns [cLo, cHi) are interior windows of cK taps starting cStride apart
 * (given only when every step is 1 and the run has at least 4 columns); the SIMD build computes
 * them 4 at a time.
 */
export function maxForward(
  x: usize, y: usize, idx: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32,
  bS: usize, bE: usize, nB: i32, sb: i32,
  cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32,
): void {
  const simd = ASC_FEATURE_SIMD && cHi - cLo >= 4;
  for (let p = 0; p < planes; p++) {
    const xp = x + ((<usize>p * <usize>inPlane) << 2);
    let oRow = p * outPlane;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = ldi(aS, oa);
      const a1 = ldi(aE, oa);
      for (let ob = 0; ob < nB; ob++) {
        const b0 = ldi(bS, ob);
        const b1 = ldi(bE, ob);
        if (ASC_FEATURE_SIMD) {
          if (simd) {
            for (let oc = 0; oc < cLo; oc++) maxOne(xp, y, idx, oRow + oc, a0, a1, sa, b0, b1, sb, ldi(cS, oc), ldi(cE, oc), sc, H, W);
            // the common geometries with literal stride and width, so the inlined copies fold their tests
            let nan = false;
            if (cStride == 2 && cK == 2) nan = fastRows(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, 2, 2);
            else if (cStride == 2 && cK == 3) nan = fastRows(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, 2, 3);
            else if (cStride == 1 && cK == 3) nan = fastRows(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, 1, 3);
            else if (cStride == 1 && cK == 2) nan = fastRows(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, 1, 2);
            else nan = true;
            // a NaN among the taps (or a geometry without a fast path): the exact scan for this row
            if (nan) exactRunAny(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, cStride, cK);
            for (let oc = cHi; oc < nC; oc++) maxOne(xp, y, idx, oRow + oc, a0, a1, sa, b0, b1, sb, ldi(cS, oc), ldi(cE, oc), sc, H, W);
            oRow += nC;
            continue;
          }
        }
        for (let oc = 0; oc < nC; oc++) maxOne(xp, y, idx, oRow + oc, a0, a1, sa, b0, b1, sb, ldi(cS, oc), ldi(cE, oc), sc, H, W);
        oRow += nC;
      }
    }
  }
}

/**
 * Zero `bytes` bytes at `ptr` (one bulk-memory `memory.fill`). The allocator zeroes reused blocks
 * with it: on a shared memory, `TypedArray.prototype.fill` in V8 stores element by element (about
 * 15× slower than this for a Uint8Array, measured on 25 MB).
 */
export function zeroFill(ptr: usize, bytes: usize): void {
  memory.fill(ptr, 0, bytes);
}

export { avgForward, avgBackward, avgBackwardSum, avgBackwardWrite, avgBackwardGlobal } from "./avg";
export { avgBackwardPasses } from "./avgstrided";
export { softmaxForward, softmaxBackward, lpForward, lpBackward } from "./weighted";
export { expArray } from "./util";
export { wideMaxForward, wideAvgForward } from "./adaptive";
export { roiAlignForward, roiAlignBackward, roiPoolForward, roiPoolBackward, fractionalMaxForward } from "./region";
export { maxBackward, maxBackwardWrite, maxBackwardTiled, maxBackwardSmall, maxBackwardZeroed, unpoolForward, unpoolBackward, stochasticEvalForward, stochasticEvalBackward, mixForward, mixBackward } from "./scatter";
export { gemmPackA, gemmPackB, gemmMacro, gemmRows, gemmBatch, gemmBatch32 } from "./gemm";
export { maxValuesForward, maxRowsForward } from "./maxfast";
export { avgRowsForward } from "./avgrows";
export { trdPanel, trdUnblocked, secularSolve, qlStrided, wyBlock, gatherColumns, dcPack, copyBlock, hadamard, centreRows } from "./linalg";
export { dcSolve, symEigBatch } from "./eigen";
export { dppForward, dppBackward, logArray } from "./dpp";
export { postForward32, postBackward32, tanhArray, mlbHidden32, mlbGrad32, sumImages32 } from "./bilinear";
