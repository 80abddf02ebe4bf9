// poolkit's WebAssembly window kernels (AssemblyScript), float32.
//
// One source, two builds (scripts/build-wasm.mjs): `--enable simd` and `--disable simd`. The SIMD
// branches sit behind the compile-time constant ASC_FEATURE_SIMD, so the scalar build contains no
// v128 instruction and loads on engines without SIMD. No relaxed SIMD: results must not depend on
// the CPU.
//
// Every kernel gives exactly what the TypeScript reference (src/kernels/window.ts) gives:
// - max: the sequential PyTorch scan (replace when `v > best || v != v`, d/h/w order), so ties go
//   to the first maximum, NaN propagates with the last NaN's index, and an empty window keeps
//   (−∞, its first tap). The SIMD path runs that same scan in each of 4 lanes (4 neighbouring
//   outputs), with compare masks and bitselect instead of branches: bit-identical values and indices.
// - avg: window sums accumulated in float64 from +0 in scan order and divided in float64, then
//   rounded once to float32 — what the reference does with JS numbers — so results are
//   bit-identical too (SIMD: two f64x2 accumulators per 4 outputs).
// - backward: the reference's loops, with float64 intermediate `g` for avg.
//
// Memory: imported (tensors live in it; the host allocator owns all of it above the first page).
// Pointers are byte addresses; axes arrays are int32 (start, end per output position).

// @ts-ignore: decorator
@inline function ldf(p: usize, i: i32): f32 {
  return load<f32>(p + ((<usize>i) << 2));
}
// @ts-ignore: decorator
@inline function ldi(p: usize, i: i32): i32 {
  return load<i32>(p + ((<usize>i) << 2));
}
// @ts-ignore: decorator
@inline function stf(p: usize, i: i32, v: f32): void {
  store<f32>(p + ((<usize>i) << 2), v);
}
// @ts-ignore: decorator
@inline function sti(p: usize, i: i32, v: i32): void {
  store<i32>(p + ((<usize>i) << 2), v);
}

// Four taps at element i, i + s, i + 2s, i + 3s of x (s = the output stride along the last axis).
// @ts-ignore: decorator
@inline function load4(x: usize, i: i32, s: i32): v128 {
  const p = x + ((<usize>i) << 2);
  if (s == 1) return v128.load(p);
  if (s == 2) return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
  const q = (<usize>s) << 2;
  let v = f32x4.splat(load<f32>(p));
  v = f32x4.replace_lane(v, 1, load<f32>(p + q));
  v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * q));
  return f32x4.replace_lane(v, 3, load<f32>(p + 3 * q));
}

/**
 * SIMD max over the interior run [cLo, cHi) of one output row (cHi − cLo ≥ 4): blocks of 4 outputs,
 * the last block moved back to end at cHi (it recomputes a few outputs, with identical results), so
 * no output of the run is left to the scalar path. `s` is the column stride; the callers pass the
 * literals 1 and 2 so that, once inlined, the load's stride test folds away.
 */
// @ts-ignore: decorator
@inline function maxRun(
  xp: usize, y: usize, idx: usize, oRow: i32, a0: i32, a1: i32, b0: i32, b1: i32, H: i32, W: i32,
  cS: usize, cLo: i32, cHi: i32, s: i32, cK: i32,
): void {
  const lane = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(0), 1, s), 2, 2 * s), 3, 3 * s);
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
        // PyTorch's rule `v > best || isnan(v)` per lane; taps unrolled for windows 2 and 3 wide
        const k0 = select<i32>(1, 0, row == first);
        if (cK == 3 && k0 == 0) {
          let v = load4(xp, row, s);
          let m = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
          best = v128.bitselect(v, best, m);
          bi = v128.bitselect(rowIdx, bi, m);
          v = load4(xp, row + 1, s);
          m = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
          best = v128.bitselect(v, best, m);
          bi = v128.bitselect(i32x4.add(rowIdx, i32x4.splat(1)), bi, m);
          v = load4(xp, row + 2, s);
          m = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
          best = v128.bitselect(v, best, m);
          bi = v128.bitselect(i32x4.add(rowIdx, i32x4.splat(2)), bi, m);
        } else if (cK == 2 && k0 == 0) {
          let v = load4(xp, row, s);
          let m = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
          best = v128.bitselect(v, best, m);
          bi = v128.bitselect(rowIdx, bi, m);
          v = load4(xp, row + 1, s);
          m = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
          best = v128.bitselect(v, best, m);
          bi = v128.bitselect(i32x4.add(rowIdx, i32x4.splat(1)), bi, m);
        } else {
          for (let k = k0; k < cK; k++) {
            const v = load4(xp, row + k, s);
            const m = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
            best = v128.bitselect(v, best, m);
            bi = v128.bitselect(i32x4.add(rowIdx, i32x4.splat(k)), bi, m);
          }
        }
      }
    }
    const o = oRow + oc;
    v128.store(y + ((<usize>o) << 2), best);
    v128.store(idx + ((<usize>o) << 2), bi);
    oc += 4;
  }
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
            if (cStride == 2 && cK == 2) maxRun(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, 2, 2);
            else if (cStride == 2 && cK == 3) maxRun(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, 2, 3);
            else if (cStride == 1 && cK == 3) maxRun(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, 1, 3);
            else if (cStride == 1) maxRun(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, 1, cK);
            else if (cStride == 2) maxRun(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, 2, cK);
            else maxRun(xp, y, idx, oRow, a0, a1, b0, b1, H, W, cS, cLo, cHi, cStride, cK);
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

/** dx[plane][idx] += dy for every output, one plane at a time; out-of-plane indices are skipped. */
export function maxBackward(dy: usize, idx: usize, dx: usize, planes: i32, inPlane: i32, outPlane: i32): void {
  for (let p = 0; p < planes; p++) {
    const xp = dx + ((<usize>p * <usize>inPlane) << 2);
    const yo = p * outPlane;
    for (let o = 0; o < outPlane; o++) {
      const i = ldi(idx, yo + o);
      if (<u32>i < <u32>inPlane) stf(xp, i, ldf(xp, i) + ldf(dy, yo + o));
    }
  }
}

/**
 * y = (window sum) / divisor[k] (float64 divisors, one per output position in a plane); an empty
 * window gives 0. Same axes and interior columns as {@link maxForward}.
 */
export function avgForward(
  x: usize, y: usize, div: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, sa: i32,
  bS: usize, bE: usize, nB: i32, sb: i32,
  cS: usize, cE: usize, nC: i32, sc: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32,
): void {
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
        let oc = 0;
        while (oc < nC) {
          if (ASC_FEATURE_SIMD) {
            if (oc >= cLo && oc + 4 <= cHi && a1 > a0 && b1 > b0) {
              const c0 = ldi(cS, oc);
              let s0 = f64x2.splat(0);
              let s1 = f64x2.splat(0);
              for (let ia = a0; ia < a1; ia++) {
                for (let ib = b0; ib < b1; ib++) {
                  const row = (ia * H + ib) * W + c0;
                  for (let t = 0; t < cK; t++) {
                    const v = load4(xp, row + t, cStride);
                    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
                    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
                  }
                }
              }
              const dp = div + ((<usize>k) << 3);
              const r0 = f32x4.demote_f64x2_zero(f64x2.div(s0, v128.load(dp)));
              const r1 = f32x4.demote_f64x2_zero(f64x2.div(s1, v128.load(dp, 16)));
              v128.store(y + ((<usize>o) << 2), v128.shuffle<f32>(r0, r1, 0, 1, 4, 5));
              o += 4;
              k += 4;
              oc += 4;
              continue;
            }
          }
          const c0 = ldi(cS, oc);
          const c1 = ldi(cE, oc);
          let sum: f64 = 0;
          let any = false;
          for (let ia = a0; ia < a1; ia += sa) {
            for (let ib = b0; ib < b1; ib += sb) {
              const row = (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic += sc) {
                sum += <f64>ldf(xp, row + ic);
                any = true;
              }
            }
          }
          stf(y, o, any ? <f32>(sum / load<f64>(div + ((<usize>k) << 3))) : 0);
          o++;
          k++;
          oc++;
        }
      }
    }
  }
}

/** dx[window] += dy / divisor[k], outputs in order (each dx element receives its additions in the reference's order). */
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
          const g: f64 = <f64>ldf(dy, o) / load<f64>(div + ((<usize>k) << 3));
          for (let ia = a0; ia < a1; ia += sa) {
            for (let ib = b0; ib < b1; ib += sb) {
              const row = (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic += sc) {
                const q = row + ic;
                stf(xp, q, <f32>(<f64>ldf(xp, q) + g));
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
export { softmaxForward, softmaxBackward, lpForward, lpFinishBackward, lpPowBackward } from "./weighted";
export { wideMaxForward, wideAvgForward } from "./adaptive";
export { roiAlignForward, roiAlignBackward } from "./region";
export { unpoolForward, unpoolBackward, roiPoolForward, roiPoolBackward, stochasticEvalForward, stochasticEvalBackward, mixForward } from "./scatter";
export { gemmPackA, gemmPackB, gemmMacro } from "./gemm";
