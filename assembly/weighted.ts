// Weighted-window kernels (float32): the softmax windows of SoftPool and LIP, and power-average (LP)
// pooling fused into one pass. Counterparts of src/ops/softmaxWindows.ts and src/ops/lpPool.ts (the
// readable references); geometry as in pool.ts: three axes (A = depth, B = height, C = width), start/end
// per output position, every step 1 (neither method has dilation), and an interior run of output
// columns [cLo, cHi) whose windows have cK taps starting cStride apart, taken 4 at a time by SIMD.
import { exp4w, expf32, ldd, ldf, ldi, load4, stf, sti } from "./util";

/** Windows whose Σ e^{L−M} (M = the plane's largest logit) is below this (e^−8) are recomputed with their own maximum. */
const SUM_MIN: f32 = 3.3546262e-4;

/**
 * One window of {@link softmaxForward} with its own maximum m: Σ e^{L−m}·x / Σ e^{L−m} (float32, scan
 * order) — the path for windows far below the plane's maximum, and for planes holding ±∞ or only NaN.
 */
function windowSoftmax(xp: usize, lp: usize, HW: i32, W: i32, a0: i32, a1: i32, b0: i32, b1: i32, c0: i32, c1: i32): f32 {
  let m: f32 = -Infinity;
  for (let ia = a0; ia < a1; ia++) {
    for (let ib = b0; ib < b1; ib++) {
      const row = ia * HW + ib * W;
      for (let ic = c0; ic < c1; ic++) m = max<f32>(m, ldf(lp, row + ic));
    }
  }
  let s: f32 = 0;
  let sx: f32 = 0;
  for (let ia = a0; ia < a1; ia++) {
    for (let ib = b0; ib < b1; ib++) {
      const row = ia * HW + ib * W;
      for (let ic = c0; ic < c1; ic++) {
        const e = expf32(ldf(lp, row + ic) - m);
        s += e;
        sx += e * ldf(xp, row + ic);
      }
    }
  }
  return sx / s;
}

/**
 * Horizontal window sums of one row: h[oc] = Σ_{ic ∈ [cS[oc], cE[oc])} v[ic] in tap order (v: a row
 * buffer with 8 floats of slack after the row, which the stride-2 loads of the interior run may touch).
 * The interior run [cLo, cHi) (windows of cK taps, cStride apart) 4 output columns at a time.
 */
// @ts-ignore: decorator
@inline function rowWindowSums(v: usize, h: usize, cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, cStride: i32, cK: i32): void {
  let oc = 0;
  while (oc < nC) {
    if (ASC_FEATURE_SIMD) {
      if (oc >= cLo && oc + 4 <= cHi) {
        const c0 = ldi(cS, oc);
        let a = f32x4.splat(0);
        for (let k = 0; k < cK; k++) a = f32x4.add(a, load4(v, c0 + k, cStride));
        v128.store(h + ((<usize>oc) << 2), a);
        oc += 4;
        continue;
      }
    }
    const c1 = ldi(cE, oc);
    let a: f32 = 0;
    for (let ic = ldi(cS, oc); ic < c1; ic++) a += ldf(v, ic);
    stf(h, oc, a);
    oc++;
  }
}

/**
 * One input row of a plane exponentiated relative to M, the products formed and the row's horizontal
 * window sums taken (the exponentials never leave L1): rE = e^{L−M}, rX = rE·(x − c), then
 * HE, HX = {@link rowWindowSums} of rE and rX. `keep` = 1: rE is also written to the plane buffer Ep
 * (the backward pass reads it again); `keep` = 2: E is read from Ep (saved by the forward pass) instead
 * of exponentiated (the same values: one exponential, bit-identical per lane). c = 0 in the forward pass (x − 0 = x exactly).
 */
// @ts-ignore: decorator
@inline function expRow(
  xr: usize, lr: usize, W: i32, M: f32, c: f32, rE: usize, rX: usize, Ep: usize, keep: i32, HE: usize, HX: usize,
  cS: usize, cE: usize, nC: i32, cLo: i32, cHi: i32, cStride: i32, cK: i32,
): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const m4 = f32x4.splat(M);
    const c4 = f32x4.splat(c);
    for (; i + 4 <= W; i += 4) {
      const q = (<usize>i) << 2;
      const e = keep == 2 ? v128.load(Ep + q) : exp4w(f32x4.sub(v128.load(lr + q), m4));
      v128.store(rE + q, e);
      if (keep == 1) v128.store(Ep + q, e);
      v128.store(rX + q, f32x4.mul(e, f32x4.sub(v128.load(xr + q), c4)));
    }
  }
  for (; i < W; i++) {
    const e = keep == 2 ? ldf(Ep, i) : expf32(ldf(lr, i) - M);
    stf(rE, i, e);
    if (keep == 1) stf(Ep, i, e);
    stf(rX, i, e * (ldf(xr, i) - c));
  }
  rowWindowSums(rE, HE, cS, cE, nC, cLo, cHi, cStride, cK);
  rowWindowSums(rX, HX, cS, cE, nC, cLo, cHi, cStride, cK);
}

/**
 * {@link expRow} for the two common last axes, without the row buffers: windows [2·oc, 2·oc + 2)
 * (k = 2, stride 2, SoftPool's default) or [2·oc − 1, 2·oc + 2) clipped to the row (k = 3, stride 2,
 * padding 1). 8 inputs at a time are exponentiated in registers and de-interleaved into the even and
 * odd taps (k = 3: the previous block's last odd tap shifted in), and each window's sums are formed in
 * tap order from 0, as rowWindowSums does (a clipped tap adds 0 first: 0 + 0 = 0), so the values equal
 * the general path's bit for bit; the scalar build and the last columns take the taps one by one with
 * expf32 (bit-identical per lane to exp4). HX takes E·(x − c) (c = 0 in the forward pass: x − 0 = x
 * exactly); `keep` = 1: E is also written to Ep for every input of the row (0 where no window covers
 * it), `keep` = 2: read from there instead of exponentiated, as in {@link expRow}.
 */
// @ts-ignore: decorator
@inline function expRowPairs(xr: usize, lr: usize, W: i32, M: f32, c: f32, Ep: usize, keep: i32, HE: usize, HX: usize, nC: i32, k: i32): void {
  let oc = 0;
  if (ASC_FEATURE_SIMD) {
    const m4 = f32x4.splat(M);
    const c4 = f32x4.splat(c);
    const z = f32x4.splat(0);
    let pe = z; // k = 3: e and e·x of column 2·oc − 1 in lane 3
    let px = z;
    for (; oc + 4 <= nC && 2 * oc + 8 <= W; oc += 4) {
      const q = (<usize>(2 * oc)) << 2;
      const e0 = keep == 2 ? v128.load(Ep + q) : exp4w(f32x4.sub(v128.load(lr + q), m4));
      const e1 = keep == 2 ? v128.load(Ep + q, 16) : exp4w(f32x4.sub(v128.load(lr + q, 16), m4));
      if (keep == 1) {
        v128.store(Ep + q, e0);
        v128.store(Ep + q, e1, 16);
      }
      const x0 = f32x4.mul(e0, f32x4.sub(v128.load(xr + q), c4));
      const x1 = f32x4.mul(e1, f32x4.sub(v128.load(xr + q, 16), c4));
      const ev = v128.shuffle<f32>(e0, e1, 0, 2, 4, 6);
      const od = v128.shuffle<f32>(e0, e1, 1, 3, 5, 7);
      const xe = v128.shuffle<f32>(x0, x1, 0, 2, 4, 6);
      const xo = v128.shuffle<f32>(x0, x1, 1, 3, 5, 7);
      let h = z;
      let hx = z;
      if (k == 3) {
        h = f32x4.add(h, v128.shuffle<f32>(pe, od, 3, 4, 5, 6));
        hx = f32x4.add(hx, v128.shuffle<f32>(px, xo, 3, 4, 5, 6));
        pe = od;
        px = xo;
      }
      v128.store(HE + ((<usize>oc) << 2), f32x4.add(f32x4.add(h, ev), od));
      v128.store(HX + ((<usize>oc) << 2), f32x4.add(f32x4.add(hx, xe), xo));
    }
  }
  for (; oc < nC; oc++) {
    const c0 = k == 3 ? 2 * oc - 1 : 2 * oc;
    let h: f32 = 0;
    let hx: f32 = 0;
    if (c0 < 0) {
      h += 0;
      hx += 0;
    }
    for (let ic = max<i32>(c0, 0); ic < min<i32>(c0 + k, W); ic++) {
      const e = keep == 2 ? ldf(Ep, ic) : expf32(ldf(lr, ic) - M);
      if (keep == 1) stf(Ep, ic, e);
      h += e;
      hx += e * (ldf(xr, ic) - c);
    }
    stf(HE, oc, h);
    stf(HX, oc, hx);
  }
  // inputs after the last window (k = 2, odd W): no window, E = 0 (so E·A = 0 in the backward pass)
  if (keep == 1) for (let ic = min<i32>(W, 2 * nC); ic < W; ic++) stf(Ep, ic, 0);
}

/**
 * y = Σ e^{L}·x / Σ e^{L} over each window (x and L may be the same pointer: SoftPool), float32.
 *
 * Each plane is exponentiated once, relative to the plane's largest logit M (NaN ignored), one input
 * row at a time: E = e^{L−M} and EX = E·x into two row buffers, then the row's taps summed per output
 * column (HE, HEX: the horizontal sums, tap order); every window then adds its rows' sums in row order,
 * 4 output columns at a time — one order of float32 operations used by the SIMD lanes and the scalar
 * path alike, so the result does not depend on the build. `ex` holds 6·(W + 8) + 2·rows·nC + 8 floats
 * (2-d 3×3 stride-2 padding-1 planes take {@link k3Forward}, with four more row buffers).
 * Subtracting M instead of the window's own maximum changes nothing mathematically; a
 * window whose Σ E falls below e^−8 (its logits far below M, where E would lose relative precision or
 * underflow) or is not finite (NaN inside) is recomputed with its own maximum ({@link windowSoftmax}),
 * as is every window of a plane whose M is ±∞ (no finite logit, or +∞ present).
 * NaN anywhere in a window's logits gives NaN, as in the reference. (cReg, cOff, cS2, cK2) describe
 * the last axis as for {@link softmaxBackward}; two common cases take {@link expRowPairs}.
 * Es ≠ 0: every plane's E = e^{L−M} is also written there (planes × inPlane floats; a plane whose M is
 * not finite gets NaN as its first value and nothing else), for {@link softmaxBackward} to read
 * instead of exponentiating again (the NaN sends that plane to its exact path).
 */
export function softmaxForward(
  x: usize, L: usize, y: usize, ex: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, cReg: i32, cOff: i32, cS2: i32, cK2: i32, Es: usize,
): void {
  const keep = Es != 0 ? 1 : 0;
  // the last axis k = 2 s = 2 (offset 0) or k = 3 s = 2 (offset −1): exponentials in registers
  const pairs = cReg != 0 && cS2 == 2 && ((cK2 == 2 && cOff == 0) || (cK2 == 3 && cOff == -1));
  const HW = H * W;
  const R = W > 0 ? inPlane / W : 0; // input rows of a plane (depth × height)
  const rE = ex;
  const rX = rE + ((<usize>(W + 8)) << 2);
  const HE = rX + ((<usize>(W + 8)) << 2);
  const HEX = HE + ((<usize>(R * nC + 4)) << 2);
  const EB0 = HEX + ((<usize>(R * nC + 4)) << 2);
  const EB1 = EB0 + ((<usize>(W + 8)) << 2);
  const PB0 = EB1 + ((<usize>(W + 8)) << 2);
  const PB1 = PB0 + ((<usize>(W + 8)) << 2);
  // 2-d windows 3×3, stride 2, padding 1 on both axes (LIP's default): rows [2ob − 1, 2ob + 2) clipped
  let k3 = pairs && cK2 == 3 && R == H && nA == 1 && ldi(aS, 0) == 0 && ldi(aE, 0) == 1 && nB > 0;
  for (let ob = 0; ob < nB && k3; ob++) k3 = ldi(bS, ob) == max<i32>(0, 2 * ob - 1) && ldi(bE, ob) == min<i32>(H, 2 * ob + 2);
  for (let p = 0; p < planes; p++) {
    const off = (<usize>p * <usize>inPlane) << 2;
    const xp = x + off;
    const lp = L + off;
    const M = planeMax(lp, inPlane);
    const planeOk = M > -Infinity && M < Infinity;
    // a plane without exponentials: NaN as its first saved value, which tells the backward so
    if (!planeOk && keep == 1 && inPlane > 0) stf(Es + off, 0, NaN);
    if (planeOk && k3) {
      k3Forward(xp, lp, M, y + ((<usize>p * <usize>outPlane) << 2), Es + off, keep, rE, rX, EB0, EB1, PB0, PB1, H, W, nB, nC, bS, bE, cS, cE);
      continue;
    }
    if (planeOk) {
      for (let r = 0; r < R; r++) {
        const q = (<usize>(r * W)) << 2;
        const h = (<usize>(r * nC)) << 2;
        const ep = Es + off + q;
        // keep and k as constants in each inlined copy: the row loop without their per-iteration branches
        if (pairs && cK2 == 3) {
          if (keep == 1) expRowPairs(xp + q, lp + q, W, M, 0, ep, 1, HE + h, HEX + h, nC, 3);
          else expRowPairs(xp + q, lp + q, W, M, 0, ep, 0, HE + h, HEX + h, nC, 3);
        } else if (pairs) {
          if (keep == 1) expRowPairs(xp + q, lp + q, W, M, 0, ep, 1, HE + h, HEX + h, nC, 2);
          else expRowPairs(xp + q, lp + q, W, M, 0, ep, 0, HE + h, HEX + h, nC, 2);
        } else expRow(xp + q, lp + q, W, M, 0, rE, rX, ep, keep, HE + h, HEX + h, cS, cE, nC, cLo, cHi, cStride, cK);
      }
    }
    let o = p * outPlane;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = ldi(aS, oa);
      const a1 = ldi(aE, oa);
      for (let ob = 0; ob < nB; ob++) {
        const b0 = ldi(bS, ob);
        const b1 = ldi(bE, ob);
        let oc = 0;
        if (planeOk) {
          // window sums = the rows' horizontal sums added in row order, 4 output columns at a time
          if (ASC_FEATURE_SIMD) {
            for (; oc + 4 <= nC; oc += 4) {
              let s = f32x4.splat(0);
              let sx = f32x4.splat(0);
              for (let ia = a0; ia < a1; ia++) {
                for (let ib = b0; ib < b1; ib++) {
                  const q = (<usize>((ia * H + ib) * nC + oc)) << 2;
                  s = f32x4.add(s, v128.load(HE + q));
                  sx = f32x4.add(sx, v128.load(HEX + q));
                }
              }
              v128.store(y + ((<usize>(o + oc)) << 2), f32x4.div(sx, s));
              const ok = f32x4.ge(s, f32x4.splat(SUM_MIN));
              if (!i32x4.all_true(ok)) {
                // the lanes whose Σ E is too small (or NaN): their own maximum
                for (let l = 0; l < 4; l++) {
                  const good = l == 0 ? i32x4.extract_lane(ok, 0) : l == 1 ? i32x4.extract_lane(ok, 1) : l == 2 ? i32x4.extract_lane(ok, 2) : i32x4.extract_lane(ok, 3);
                  if (good == 0) stf(y, o + oc + l, windowSoftmax(xp, lp, HW, W, a0, a1, b0, b1, ldi(cS, oc + l), ldi(cE, oc + l)));
                }
              }
            }
          }
          for (; oc < nC; oc++) {
            let s: f32 = 0;
            let sx: f32 = 0;
            for (let ia = a0; ia < a1; ia++) {
              for (let ib = b0; ib < b1; ib++) {
                const q = (ia * H + ib) * nC + oc;
                s += ldf(HE, q);
                sx += ldf(HEX, q);
              }
            }
            stf(y, o + oc, s >= SUM_MIN ? sx / s : windowSoftmax(xp, lp, HW, W, a0, a1, b0, b1, ldi(cS, oc), ldi(cE, oc)));
          }
        } else {
          for (; oc < nC; oc++) stf(y, o + oc, windowSoftmax(xp, lp, HW, W, a0, a1, b0, b1, ldi(cS, oc), ldi(cE, oc)));
        }
        o += nC;
      }
    }
  }
}

/** n floats at p set to +0 (a loop: V8's memory.fill is a runtime call, slow for the short rows here). */
// @ts-ignore: decorator
@inline function zeroF32(p: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const z = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) v128.store(p + ((<usize>i) << 2), z);
  }
  for (; i < n; i++) stf(p, i, 0);
}

/** The plane's largest logit, NaN skipped (pmax keeps its first operand unless the second is larger). */
function planeMax(lp: usize, inPlane: i32): f32 {
  let M: f32 = -Infinity;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let m4 = f32x4.splat(-Infinity);
    for (; i + 4 <= inPlane; i += 4) m4 = f32x4.pmax(m4, v128.load(lp + ((<usize>i) << 2)));
    for (let l = 0; l < 4; l++) {
      const v = l == 0 ? f32x4.extract_lane(m4, 0) : l == 1 ? f32x4.extract_lane(m4, 1) : l == 2 ? f32x4.extract_lane(m4, 2) : f32x4.extract_lane(m4, 3);
      if (v > M) M = v;
    }
  }
  for (; i < inPlane; i++) {
    const v = ldf(lp, i);
    if (v > M) M = v;
  }
  return M;
}

/**
 * 1 when the plane's logits hold a NaN or its inputs a non-finite value — x checked in the SIMD lanes
 * and the scalar tail alike, also when x is L (SoftPool): whether x and L share memory depends on
 * where the caller's tensors live, and the path taken must not.
 */
function planeIrregular(xp: usize, lp: usize, inPlane: i32): i32 {
  let i = 0;
  let bad = 0;
  if (ASC_FEATURE_SIMD) {
    let nan = i32x4.splat(0);
    let fin = i32x4.splat(-1);
    const inf = f32x4.splat(Infinity);
    for (; i + 4 <= inPlane; i += 4) {
      const q = (<usize>i) << 2;
      const l = v128.load(lp + q);
      nan = v128.or(nan, f32x4.ne(l, l));
      fin = v128.and(fin, f32x4.lt(f32x4.abs(v128.load(xp + q)), inf));
    }
    if (v128.any_true(nan) || !i32x4.all_true(fin)) bad = 1;
  }
  for (; i < inPlane; i++) {
    const l = ldf(lp, i);
    if (l != l || !(Math.abs(ldf(xp, i)) < Infinity)) bad = 1;
  }
  return bad;
}

/**
 * One window of {@link softmaxBackward} with the exponentials e^{L−m} of the window's own maximum m
 * (written to scratch `ex`, one per tap), the reference's order and float64 arithmetic — the path for
 * windows far below the plane's maximum and for planes holding ±∞ or NaN. Accumulates into dx, dL.
 */
function windowBackward(
  xp: usize, lp: usize, dxp: usize, dlp: usize, hasDL: i32, ex: usize, g: f64, HW: i32, W: i32,
  a0: i32, a1: i32, b0: i32, b1: i32, c0: i32, c1: i32,
): void {
  let m: f32 = -Infinity;
  for (let ia = a0; ia < a1; ia++) {
    for (let ib = b0; ib < b1; ib++) {
      const row = ia * HW + ib * W;
      for (let ic = c0; ic < c1; ic++) m = max<f32>(m, ldf(lp, row + ic));
    }
  }
  let s: f64 = 0;
  let sx: f64 = 0;
  let t = 0;
  for (let ia = a0; ia < a1; ia++) {
    for (let ib = b0; ib < b1; ib++) {
      const row = ia * HW + ib * W;
      for (let ic = c0; ic < c1; ic++) {
        const e = expf32(ldf(lp, row + ic) - m);
        stf(ex, t++, e);
        s += <f64>e;
        sx += <f64>e * <f64>ldf(xp, row + ic);
      }
    }
  }
  const yo = sx / s;
  const gs = g / s;
  t = 0;
  for (let ia = a0; ia < a1; ia++) {
    for (let ib = b0; ib < b1; ib++) {
      const row = ia * HW + ib * W;
      for (let ic = c0; ic < c1; ic++) {
        const j = row + ic;
        const gw = gs * <f64>ldf(ex, t++);
        const xj = <f64>ldf(xp, j);
        stf(dxp, j, <f32>(<f64>ldf(dxp, j) + gw));
        if (hasDL != 0) stf(dlp, j, <f32>(<f64>ldf(dlp, j) + gw * (xj - yo)));
      }
    }
  }
}

/**
 * Backward of {@link softmaxForward}: dx_i += Σ_{o ∋ i} dy_o·w_oi, dL_i += Σ_{o ∋ i} dy_o·w_oi·(x_i − y_o)
 * (hasDL = 0: no logit gradient; dL may equal dx, SoftPool's exact gradient: then dx gets both).
 *
 * Gathered, not scattered: with E_i = e^{L_i−M} (one exponential per input, M the plane's largest
 * logit), S_o = Σ_{i∈o} E_i and w_oi = E_i/S_o, the sums over the windows covering i factor as
 *   dx_i += E_i·A_i,   dL_i += E_i·((x_i − c)·A_i − B_i),
 *   A_i = Σ_{o∋i} G_o, B_i = Σ_{o∋i} G_o·Ȳ_o,   G_o = dy_o·(1/S_o),   Ȳ_o = (Σ_{i∈o} E_i·(x_i − c))·(1/S_o) = y_o − c,
 * with c the plane's first input: x_i − c and y_o − c keep their precision when the inputs are large
 * and nearly equal (the error of each scales with the plane's spread, not with |x|); one reciprocal
 * per window. Per plane, in one sweep of rows each: the exponentials and horizontal sums
 * ({@link expRow}, E kept), the window sums and G, Ȳ (4 output columns at a time), G and G·Ȳ added
 * onto the input rows their windows cover (vertical, 4 columns at a time, then horizontal), and dx, dL
 * written once per input (0 for an input no window covers). 2-d windows 2×2, stride 2, no padding
 * (SoftPool's default) take {@link tiledBackward}, all of it in registers; 2-d windows 3×3, stride 2,
 * padding 1 on both axes (LIP's default) take {@link k3Backward}: per output row, vertical then
 * horizontal sums and G, G·Ȳ in registers, then dx, dL of the input rows it completes. All in float32 (the
 * reference: float64 per window), within the accumulation error stated in
 * test/backends/wasm-weighted.test.ts. A window whose S_o is below e^−8 or not finite takes no part in
 * A, B and is scattered afterwards with its own maximum ({@link windowBackward}, the reference's way);
 * a plane whose M is ±∞, whose logits hold a NaN or whose inputs a ±∞/NaN is done window by window
 * that way (so non-finite values propagate exactly as in the reference). Those planes are found
 * without a pass of their own on the register paths (k 2 s 2 and k 3 s 2 p 1 along the last axis): a
 * NaN logit makes its E NaN, a non-finite x makes E·(x − c) non-finite (E = 0 included: 0·∞ = NaN),
 * and a plane whose M is not finite has NaN as its first saved E (or is seen from M when E is
 * computed here), so each shows in the sum of the windows' Σ E·(x − c) — the plane is then redone
 * the exact way, overwriting what was written (a sum that merely overflows sends a finite plane
 * there too, which is exact). Inputs no window covers take no part: their dx, dL are 0, as in the
 * reference. The other last axes check the plane first ({@link planeIrregular}).
 * The last axis: (cReg, cOff, cS2, cK2) = (1, offset, stride, taps) when every window is
 * [cOff + cS2·oc, … + cK2) clipped to the row with stride 1 or 2 (the gathered transpose of
 * {@link horizontalTranspose}), else cReg = 0 (cK2 still bounds the padding: pass the largest window).
 * Scratch `ex` (floats): inPlane + 2·(W + 8) + 2·(W + 24) + 2·(nC + 2·cK2 + 24) + 2·(rows·nC + 4)
 * + 2·(outPlane + 4) + outPlane + 2·(nC + 4) + 4·(nC + 8) + taps. dx and dL are written (not accumulated). The vertical transpose
 * is gathered per input row: cov holds, per input index of axes A then B, the range [lo, hi) of the
 * outputs covering it. Eg ≠ 0: the planes' E as {@link softmaxForward} saved them (Es), read instead
 * of exponentiated (the same values: fast planes have the same M in both passes).
 */
export function softmaxBackward(
  x: usize, L: usize, dy: usize, dx: usize, dL: usize, hasDL: i32, ex: usize,
  planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, cReg: i32, cOff: i32, cS2: i32, cK2: i32, cov: usize, Eg: usize,
): void {
  const keep = Eg != 0 ? 2 : 1;
  const pairs = cReg != 0 && cS2 == 2 && ((cK2 == 2 && cOff == 0) || (cK2 == 3 && cOff == -1));
  const HW = H * W;
  const R = W > 0 ? inPlane / W : 0;
  const RC = R * nC;
  const D = H > 0 ? R / H : 0; // input depth (axis A)
  // 2-d 2×2 windows, stride 2, no padding: every input in at most one window
  let tiled = pairs && cK2 == 2 && D == 1 && nA == 1 && ldi(aS, 0) == 0 && ldi(aE, 0) == 1 && nB == H >> 1 && 2 * nC <= W;
  for (let ob = 0; ob < nB && tiled; ob++) tiled = ldi(bS, ob) == 2 * ob && ldi(bE, ob) == 2 * ob + 2;
  // 2-d windows 3×3, stride 2, padding 1 on both axes (LIP's default): rows [2ob − 1, 2ob + 2) clipped
  let k3 = pairs && cK2 == 3 && D == 1 && nA == 1 && ldi(aS, 0) == 0 && ldi(aE, 0) == 1 && nB > 0;
  for (let ob = 0; ob < nB && k3; ob++) k3 = ldi(bS, ob) == max<i32>(0, 2 * ob - 1) && ldi(bE, ob) == min<i32>(H, 2 * ob + 2);
  const E = ex;
  const rE = E + ((<usize>inPlane) << 2);
  const rX = rE + ((<usize>(W + 8)) << 2);
  const rA = rX + ((<usize>(W + 8)) << 2);
  const rB = rA + ((<usize>(W + PADA + 16)) << 2);
  const gp = rB + ((<usize>(W + PADA + 16)) << 2);
  const yp = gp + ((<usize>(nC + 2 * cK2 + 24)) << 2);
  const HE = yp + ((<usize>(nC + 2 * cK2 + 24)) << 2);
  const HX = HE + ((<usize>(RC + 4)) << 2);
  const G = HX + ((<usize>(RC + 4)) << 2);
  const Y = G + ((<usize>(outPlane + 4)) << 2);
  const fb = Y + ((<usize>(outPlane + 4)) << 2);
  const VG = fb + ((<usize>outPlane) << 2);
  const VY = VG + ((<usize>(nC + 4)) << 2);
  const KG = VY + ((<usize>(nC + 4)) << 2);
  const win = KG + ((<usize>(4 * (nC + 8))) << 2);
  const alias = dL == dx && hasDL != 0;
  for (let p = 0; p < planes; p++) {
    const off = (<usize>p * <usize>inPlane) << 2;
    const xp = x + off;
    const lp = L + off;
    const dxp = dx + off;
    const dlp = dL + off;
    const dyp = dy + ((<usize>p * <usize>outPlane) << 2);
    // the plane's exponentials: saved by the forward pass (Eg; NaN first when it has none), else
    // computed from M into scratch
    const Epl = Eg != 0 ? Eg + off : E;
    let M: f32 = 0;
    let fast = true;
    if (keep == 1) {
      M = planeMax(lp, inPlane);
      fast = M > -Infinity && M < Infinity;
    } else fast = !isNaN(ldf(Epl, 0));
    if (fast && !pairs) fast = planeIrregular(xp, lp, inPlane) == 0;
    const c = ldf(xp, 0);
    let nfb = 0;
    if (fast && k3) {
      // the plane's exponentials into scratch when the forward saved none (the same values)
      if (keep == 1) expPlane(lp, Epl, M, inPlane);
      nfb = k3Backward(Epl, xp, c, dyp, dxp, dlp, fb, rA, KG, H, W, nB, nC, hasDL, alias ? 1 : 0);
      fast = nfb >= 0;
    } else if (fast && tiled) {
      nfb = tiledBackward(xp, lp, Epl, keep, M, c, dyp, dxp, dlp, hasDL, alias ? 1 : 0, fb, H, W, nB, nC);
      fast = nfb >= 0;
    } else if (fast) {
      nfb = gatheredBackward(xp, lp, Epl, keep, M, c, dyp, dxp, dlp, hasDL, alias ? 1 : 0, fb, rE, rX, rA, rB, gp, yp, HE, HX, G, Y, VG, VY,
        H, W, R, D, nA, aS, aE, nB, bS, bE, nC, cS, cE, cLo, cHi, cStride, cK, cReg, cOff, cS2, cK2, pairs ? 1 : 0, cov);
      fast = nfb >= 0;
    }
    if (!fast) {
      // dx, dL are written, not accumulated: zeroed here, then every window adds its share
      zeroF32(dxp, inPlane);
      if (hasDL != 0 && !alias) zeroF32(dlp, inPlane);
      let o = 0;
      for (let oa = 0; oa < nA; oa++) {
        for (let ob = 0; ob < nB; ob++) {
          for (let oc = 0; oc < nC; oc++) {
            windowBackward(xp, lp, dxp, dlp, hasDL, win, <f64>ldf(dyp, o), HW, W, ldi(aS, oa), ldi(aE, oa), ldi(bS, ob), ldi(bE, ob), ldi(cS, oc), ldi(cE, oc));
            o++;
          }
        }
      }
      continue;
    }
    // the windows with too small a sum: their own maximum, added afterwards
    for (let k = 0; k < nfb; k++) {
      const ow = ldi(fb, k);
      const oc = ow % nC;
      const ob = (ow / nC) % nB;
      const oa = ow / (nC * nB);
      windowBackward(xp, lp, dxp, dlp, hasDL, win, <f64>ldf(dyp, ow), HW, W, ldi(aS, oa), ldi(aE, oa), ldi(bS, ob), ldi(bE, ob), ldi(cS, oc), ldi(cE, oc));
    }
  }
}

/** The sum of v's lanes (finite exactly when every lane is finite and the sum does not overflow). */
// @ts-ignore: decorator
@inline function lanesSum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * {@link softmaxBackward}'s gathered path for one plane (every last axis but 2-d 2×2 stride 2): the
 * exponentials and horizontal sums, G and G·Ȳ per window, then dx, dL per input row. Returns the
 * number of windows listed in fb for their own maximum, or −1 when the plane must be done the exact
 * way (pairs = 1: the sum of the windows' Σ E·(x − c) is not finite; the caller checked the other axes).
 */
function gatheredBackward(
  xp: usize, lp: usize, Epl: usize, keep: i32, M: f32, c: f32, dyp: usize, dxp: usize, dlp: usize, hasDL: i32, alias: i32, fb: usize,
  rE: usize, rX: usize, rA: usize, rB: usize, gp: usize, yp: usize, HE: usize, HX: usize, G: usize, Y: usize, VG: usize, VY: usize,
  H: i32, W: i32, R: i32, D: i32, nA: i32, aS: usize, aE: usize, nB: i32, bS: usize, bE: usize, nC: i32, cS: usize, cE: usize,
  cLo: i32, cHi: i32, cStride: i32, cK: i32, cReg: i32, cOff: i32, cS2: i32, cK2: i32, pairs: i32, cov: usize,
): i32 {
  // One sweep down the plane: before an output row's windows are summed, the input rows they reach are
  // exponentiated and summed across (ra: rows done); after it, the input rows whose last covering
  // output row it is get their dx, dL (rc: rows done) — the rows in flight stay in L1. The same
  // operations in the same order as three whole-plane passes.
  let ra = 0;
  let rc = 0;
  // window sums (rows in order), G = dy·(1/S) and Ȳ·G; windows with too small a sum go to the list;
  // acc: the sum of every window's Σ E·(x − c), finite unless the plane holds a NaN or ±∞
  let nfb = 0;
  let o = 0;
  let acc: f32 = 0;
  for (let oa = 0; oa < nA; oa++) {
    const a0 = ldi(aS, oa);
    const a1 = ldi(aE, oa);
    for (let ob = 0; ob < nB; ob++) {
      const b0 = ldi(bS, ob);
      const b1 = ldi(bE, ob);
      // the input rows up to this window's last, (a1 − 1, b1 − 1)
      const last = min<i32>(R, (a1 - 1) * H + b1);
      for (; ra < last; ra++) {
        const q = (<usize>(ra * W)) << 2;
        const h = (<usize>(ra * nC)) << 2;
        if (pairs != 0) expRowPairs(xp + q, lp + q, W, M, c, Epl + q, keep, HE + h, HX + h, nC, cK2);
        else expRow(xp + q, lp + q, W, M, c, rE, rX, Epl + q, keep, HE + h, HX + h, cS, cE, nC, cLo, cHi, cStride, cK);
      }
      let oc = 0;
      if (ASC_FEATURE_SIMD) {
        let acc4 = f32x4.splat(0);
        for (; oc + 4 <= nC; oc += 4) {
          let s = f32x4.splat(0);
          let sx = f32x4.splat(0);
          for (let ia = a0; ia < a1; ia++) {
            for (let ib = b0; ib < b1; ib++) {
              const q = (<usize>((ia * H + ib) * nC + oc)) << 2;
              s = f32x4.add(s, v128.load(HE + q));
              sx = f32x4.add(sx, v128.load(HX + q));
            }
          }
          acc4 = f32x4.add(acc4, sx);
          const ok = f32x4.ge(s, f32x4.splat(SUM_MIN));
          const rs = f32x4.div(f32x4.splat(1), s);
          const g = v128.and(f32x4.mul(v128.load(dyp + ((<usize>(o + oc)) << 2)), rs), ok);
          v128.store(G + ((<usize>(o + oc)) << 2), g);
          v128.store(Y + ((<usize>(o + oc)) << 2), v128.and(f32x4.mul(g, f32x4.mul(sx, rs)), ok));
          if (!i32x4.all_true(ok)) {
            for (let l = 0; l < 4; l++) {
              const good = l == 0 ? i32x4.extract_lane(ok, 0) : l == 1 ? i32x4.extract_lane(ok, 1) : l == 2 ? i32x4.extract_lane(ok, 2) : i32x4.extract_lane(ok, 3);
              if (good == 0) sti(fb, nfb++, o + oc + l);
            }
          }
        }
        acc += lanesSum(acc4);
      }
      for (; oc < nC; oc++) {
        let s: f32 = 0;
        let sx: f32 = 0;
        for (let ia = a0; ia < a1; ia++) {
          for (let ib = b0; ib < b1; ib++) {
            const q = (ia * H + ib) * nC + oc;
            s += ldf(HE, q);
            sx += ldf(HX, q);
          }
        }
        acc += sx;
        if (s >= SUM_MIN) {
          const rs = <f32>1 / s;
          const g = ldf(dyp, o + oc) * rs;
          stf(G, o + oc, g);
          stf(Y, o + oc, g * (sx * rs));
        } else {
          stf(G, o + oc, 0);
          stf(Y, o + oc, 0);
          sti(fb, nfb++, o + oc);
        }
      }
      o += nC;
      // the input rows no later output row covers
      const orow = oa * nB + ob;
      for (; rc < R && lastCover(cov, rc, H, D, nB) <= orow; rc++) {
        finishRow(rc, c, Epl, xp, dxp, dlp, hasDL, alias, rA, rB, gp, yp, G, Y, VG, VY, H, W, D, nB, nC, cS, cE, cReg, cOff, cS2, cK2, pairs, cov);
      }
    }
  }
  for (; rc < R; rc++) finishRow(rc, c, Epl, xp, dxp, dlp, hasDL, alias, rA, rB, gp, yp, G, Y, VG, VY, H, W, D, nB, nC, cS, cE, cReg, cOff, cS2, cK2, pairs, cov);
  // x·0 is 0 exactly for finite x, NaN for ±∞ and NaN (the plane is then redone the exact way)
  return pairs != 0 && acc * 0 != 0 ? -1 : nfb;
}

/** The last output row (oa·nB + ob) whose windows cover input row r (ia·H + ib), or −1 when none does. */
// @ts-ignore: decorator
@inline function lastCover(cov: usize, r: i32, H: i32, D: i32, nB: i32): i32 {
  const ia = r / H;
  const ib = r - ia * H;
  const qa = cov + ((<usize>(2 * ia)) << 2);
  const qb = cov + ((<usize>(2 * (D + ib))) << 2);
  const va0 = load<i32>(qa);
  const va1 = load<i32>(qa, 4);
  const vb0 = load<i32>(qb);
  const vb1 = load<i32>(qb, 4);
  return va1 == va0 || vb1 == vb0 ? -1 : (va1 - 1) * nB + vb1 - 1;
}

/**
 * dx, dL of input row r (ia, ib) in {@link gatheredBackward}: G and G·Ȳ of the output rows whose
 * windows cover it, added in output order (vertical gather into VG, VY), then the horizontal gather
 * (in registers for the pairs axes, else into A (rA) and B (rB)), then dx, dL written once per input.
 */
function finishRow(
  r: i32, c: f32, Epl: usize, xp: usize, dxp: usize, dlp: usize, hasDL: i32, alias: i32, rA: usize, rB: usize, gp: usize, yp: usize,
  G: usize, Y: usize, VG: usize, VY: usize, H: i32, W: i32, D: i32, nB: i32, nC: i32, cS: usize, cE: usize,
  cReg: i32, cOff: i32, cS2: i32, cK2: i32, pairs: i32, cov: usize,
): void {
  const ia = r / H;
  const ib = r - ia * H;
  const qa = cov + ((<usize>(2 * ia)) << 2);
  const qb = cov + ((<usize>(2 * (D + ib))) << 2);
  const va0 = load<i32>(qa);
  const va1 = load<i32>(qa, 4);
  const vb0 = load<i32>(qb);
  const vb1 = load<i32>(qb, 4);
  const q0 = (<usize>(r * W)) << 2;
  if (va1 == va0 || vb1 == vb0) {
    // no window covers this row: 0, as the reference's zeroed gradient
    zeroF32(dxp + q0, W);
    if (hasDL != 0 && alias == 0) zeroF32(dlp + q0, W);
    return;
  }
  let Gv = VG;
  let Yv = VY;
  if (va1 - va0 == 1 && vb1 - vb0 == 1) {
    // one output row covers this input row: its G, G·Ȳ as they are (0 + v = v up to the sign of a
    // zero, which every result below loses to its final 0 + …)
    const q = (<usize>((va0 * nB + vb0) * nC)) << 2;
    Gv = G + q;
    Yv = Y + q;
  } else {
    verticalGather(G, VG, nC, nB, va0, va1, vb0, vb1);
    verticalGather(Y, VY, nC, nB, va0, va1, vb0, vb1);
  }
  if (pairs != 0) {
    pairsRowBackward(Gv, Yv, Epl + q0, xp + q0, dxp + q0, dlp + q0, W, nC, cK2, c, hasDL, alias);
    return;
  }
  horizontalTranspose(Gv, Yv, rA, rB, gp, yp, W, cS, cE, nC, cReg, cOff, cS2, cK2);
  const Ar = rA + ((<usize>PADA) << 2);
  const Br = rB + ((<usize>PADA) << 2);
  const Er = Epl + q0;
  const xr = xp + q0;
  const dxr = dxp + q0;
  const dlr = dlp + q0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const c4 = f32x4.splat(c);
    const z4 = f32x4.splat(0);
    for (; i + 4 <= W; i += 4) {
      const q = (<usize>i) << 2;
      const e = v128.load(Er + q);
      const a = v128.load(Ar + q);
      const ea = f32x4.mul(e, a);
      // 0 + v: the reference's zeroed-then-accumulated result (−0 becomes +0)
      if (hasDL == 0) {
        v128.store(dxr + q, f32x4.add(z4, ea));
        continue;
      }
      const t = f32x4.sub(f32x4.mul(f32x4.sub(v128.load(xr + q), c4), a), v128.load(Br + q));
      const el = f32x4.mul(e, t);
      if (alias != 0) v128.store(dxr + q, f32x4.add(z4, f32x4.add(ea, el)));
      else {
        v128.store(dxr + q, f32x4.add(z4, ea));
        v128.store(dlr + q, f32x4.add(z4, el));
      }
    }
  }
  for (; i < W; i++) {
    const e = ldf(Er, i);
    const a = ldf(Ar, i);
    const ea = e * a;
    if (hasDL == 0) {
      stf(dxr, i, <f32>0 + ea);
      continue;
    }
    const el = e * ((ldf(xr, i) - c) * a - ldf(Br, i));
    if (alias != 0) stf(dxr, i, <f32>0 + (ea + el));
    else {
      stf(dxr, i, <f32>0 + ea);
      stf(dlr, i, <f32>0 + el);
    }
  }
}

/**
 * dx, dL of 4 inputs from their E, x − c (u) and their windows' A = G, B = G·Ȳ (one window each):
 * dx = 0 + E·A, dL = 0 + E·(u·A − B), or dx = 0 + E·(A + (u·A − B)) when they alias.
 */
// @ts-ignore: decorator
@inline function tiledStore4(e: v128, u: v128, a: v128, b: v128, dxq: usize, dlq: usize, hasDL: i32, alias: i32): void {
  const z4 = f32x4.splat(0);
  if (hasDL == 0) {
    v128.store(dxq, f32x4.add(z4, f32x4.mul(e, a)));
    return;
  }
  const t = f32x4.sub(f32x4.mul(u, a), b);
  if (alias != 0) v128.store(dxq, f32x4.add(z4, f32x4.mul(e, f32x4.add(a, t))));
  else {
    v128.store(dxq, f32x4.add(z4, f32x4.mul(e, a)));
    v128.store(dlq, f32x4.add(z4, f32x4.mul(e, t)));
  }
}

/** {@link tiledStore4} for one input (the scalar build and the last columns; the same operations per lane). */
// @ts-ignore: decorator
@inline function tiledStore1(e: f32, u: f32, a: f32, b: f32, dxp: usize, dlp: usize, i: i32, hasDL: i32, alias: i32): void {
  if (hasDL == 0) {
    stf(dxp, i, <f32>0 + e * a);
    return;
  }
  const t = u * a - b;
  if (alias != 0) stf(dxp, i, <f32>0 + e * (a + t));
  else {
    stf(dxp, i, <f32>0 + e * a);
    stf(dlp, i, <f32>0 + e * t);
  }
}

/**
 * One E of {@link tiledBackward}: saved (keep = 2) or e^{L−M} (bit-identical per lane to exp4w).
 */
// @ts-ignore: decorator
@inline function tiledE(Ep: usize, lp: usize, i: i32, M: f32, keep: i32): f32 {
  return keep == 2 ? ldf(Ep, i) : expf32(ldf(lp, i) - M);
}

/**
 * {@link softmaxBackward} for one plane of 2-d windows 2×2, stride 2, no padding (SoftPool's default):
 * every input lies in at most one window, so each output row's two input rows are read once: E (saved
 * or exponentiated), u = x − c and E·u, the window sums S = (E₀₀ + E₀₁) + (E₁₀ + E₁₁) and Σ E·u the
 * same way, G = dy·(1/S) and G·Ȳ, and dx, dL of the 4 inputs ({@link tiledStore4}) — 4 windows (16
 * inputs) at a time in registers, the same operations per lane in the scalar build and the last
 * columns. The last row and column, when H or W is odd, lie in no window: 0. Windows with S < e^−8 (or
 * NaN) get G = 0 and are listed in fb. Returns their count, or −1 when the sum of every window's Σ E·u
 * is not finite (a NaN or ±∞ in the plane: see {@link softmaxBackward}).
 */
function tiledBackward(
  xp: usize, lp: usize, Ep: usize, keep: i32, M: f32, c: f32, dyp: usize, dxp: usize, dlp: usize, hasDL: i32, alias: i32, fb: usize,
  H: i32, W: i32, nB: i32, nC: i32,
): i32 {
  let nfb = 0;
  let acc: f32 = 0;
  const sep = hasDL != 0 && alias == 0;
  for (let ob = 0; ob < nB; ob++) {
    const r0 = 2 * ob * W;
    const r1 = r0 + W;
    const o = ob * nC;
    let oc = 0;
    if (ASC_FEATURE_SIMD) {
      const m4 = f32x4.splat(M);
      const c4 = f32x4.splat(c);
      const one = f32x4.splat(1);
      const smin = f32x4.splat(SUM_MIN);
      let acc4 = f32x4.splat(0);
      for (; oc + 4 <= nC; oc += 4) {
        const q0 = (<usize>(r0 + 2 * oc)) << 2;
        const q1 = (<usize>(r1 + 2 * oc)) << 2;
        const e00 = keep == 2 ? v128.load(Ep + q0) : exp4w(f32x4.sub(v128.load(lp + q0), m4));
        const e01 = keep == 2 ? v128.load(Ep + q0, 16) : exp4w(f32x4.sub(v128.load(lp + q0, 16), m4));
        const e10 = keep == 2 ? v128.load(Ep + q1) : exp4w(f32x4.sub(v128.load(lp + q1), m4));
        const e11 = keep == 2 ? v128.load(Ep + q1, 16) : exp4w(f32x4.sub(v128.load(lp + q1, 16), m4));
        const u00 = f32x4.sub(v128.load(xp + q0), c4);
        const u01 = f32x4.sub(v128.load(xp + q0, 16), c4);
        const u10 = f32x4.sub(v128.load(xp + q1), c4);
        const u11 = f32x4.sub(v128.load(xp + q1, 16), c4);
        const p00 = f32x4.mul(e00, u00);
        const p01 = f32x4.mul(e01, u01);
        const p10 = f32x4.mul(e10, u10);
        const p11 = f32x4.mul(e11, u11);
        // per window: (its two taps of row 0) + (its two taps of row 1)
        const s = f32x4.add(
          f32x4.add(v128.shuffle<f32>(e00, e01, 0, 2, 4, 6), v128.shuffle<f32>(e00, e01, 1, 3, 5, 7)),
          f32x4.add(v128.shuffle<f32>(e10, e11, 0, 2, 4, 6), v128.shuffle<f32>(e10, e11, 1, 3, 5, 7)),
        );
        const sx = f32x4.add(
          f32x4.add(v128.shuffle<f32>(p00, p01, 0, 2, 4, 6), v128.shuffle<f32>(p00, p01, 1, 3, 5, 7)),
          f32x4.add(v128.shuffle<f32>(p10, p11, 0, 2, 4, 6), v128.shuffle<f32>(p10, p11, 1, 3, 5, 7)),
        );
        acc4 = f32x4.add(acc4, sx);
        const ok = f32x4.ge(s, smin);
        const rs = f32x4.div(one, s);
        const g = v128.and(f32x4.mul(v128.load(dyp + ((<usize>(o + oc)) << 2)), rs), ok);
        const yb = v128.and(f32x4.mul(g, f32x4.mul(sx, rs)), ok);
        if (!i32x4.all_true(ok)) {
          for (let l = 0; l < 4; l++) {
            const good = l == 0 ? i32x4.extract_lane(ok, 0) : l == 1 ? i32x4.extract_lane(ok, 1) : l == 2 ? i32x4.extract_lane(ok, 2) : i32x4.extract_lane(ok, 3);
            if (good == 0) sti(fb, nfb++, o + oc + l);
          }
        }
        const a0 = v128.shuffle<f32>(g, g, 0, 0, 1, 1);
        const a1 = v128.shuffle<f32>(g, g, 2, 2, 3, 3);
        const b0 = v128.shuffle<f32>(yb, yb, 0, 0, 1, 1);
        const b1 = v128.shuffle<f32>(yb, yb, 2, 2, 3, 3);
        tiledStore4(e00, u00, a0, b0, dxp + q0, dlp + q0, hasDL, alias);
        tiledStore4(e01, u01, a1, b1, dxp + q0 + 16, dlp + q0 + 16, hasDL, alias);
        tiledStore4(e10, u10, a0, b0, dxp + q1, dlp + q1, hasDL, alias);
        tiledStore4(e11, u11, a1, b1, dxp + q1 + 16, dlp + q1 + 16, hasDL, alias);
      }
      acc += lanesSum(acc4);
    }
    for (; oc < nC; oc++) {
      const i0 = r0 + 2 * oc;
      const i1 = r1 + 2 * oc;
      const e00 = tiledE(Ep, lp, i0, M, keep);
      const e01 = tiledE(Ep, lp, i0 + 1, M, keep);
      const e10 = tiledE(Ep, lp, i1, M, keep);
      const e11 = tiledE(Ep, lp, i1 + 1, M, keep);
      const u00 = ldf(xp, i0) - c;
      const u01 = ldf(xp, i0 + 1) - c;
      const u10 = ldf(xp, i1) - c;
      const u11 = ldf(xp, i1 + 1) - c;
      const s = (e00 + e01) + (e10 + e11);
      const sx = (e00 * u00 + e01 * u01) + (e10 * u10 + e11 * u11);
      acc += sx;
      let g: f32 = 0;
      let yb: f32 = 0;
      if (s >= SUM_MIN) {
        const rs = <f32>1 / s;
        g = ldf(dyp, o + oc) * rs;
        yb = g * (sx * rs);
      } else sti(fb, nfb++, o + oc);
      tiledStore1(e00, u00, g, yb, dxp, dlp, i0, hasDL, alias);
      tiledStore1(e01, u01, g, yb, dxp, dlp, i0 + 1, hasDL, alias);
      tiledStore1(e10, u10, g, yb, dxp, dlp, i1, hasDL, alias);
      tiledStore1(e11, u11, g, yb, dxp, dlp, i1 + 1, hasDL, alias);
    }
    // the last column of an odd width: in no window
    for (let ic = 2 * nC; ic < W; ic++) {
      stf(dxp, r0 + ic, 0);
      stf(dxp, r1 + ic, 0);
      if (sep) {
        stf(dlp, r0 + ic, 0);
        stf(dlp, r1 + ic, 0);
      }
    }
  }
  // the last row of an odd height: in no window
  const rest = (H - 2 * nB) * W;
  zeroF32(dxp + ((<usize>(2 * nB * W)) << 2), rest);
  if (sep) zeroF32(dlp + ((<usize>(2 * nB * W)) << 2), rest);
  return acc * 0 != 0 ? -1 : nfb;
}

/**
 * E = e^{L−M} for a plane of n inputs into Ep, 4 at a time with exp4w and the rest with expf32
 * (bit-identical per lane, the values {@link softmaxForward} saves): {@link k3Backward}'s exponentials
 * when the forward saved none.
 */
function expPlane(lp: usize, Ep: usize, M: f32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const m4 = f32x4.splat(M);
    for (; i + 4 <= n; i += 4) {
      const q = (<usize>i) << 2;
      v128.store(Ep + q, exp4w(f32x4.sub(v128.load(lp + q), m4)));
    }
  }
  for (; i < n; i++) stf(Ep, i, expf32(ldf(lp, i) - M));
}

/**
 * dx, dL of 4 inputs from E, x and their A, B (as {@link tiledStore4}, u = x − c formed here):
 * dx = 0 + E·A, dL = 0 + E·((x − c)·A − B), or dx = 0 + (E·A + that) when they alias.
 */
// @ts-ignore: decorator
@inline function k3Store4(a: v128, b: v128, Eq: usize, xq: usize, dxq: usize, dlq: usize, c4: v128, z4: v128, hasDL: i32, alias: i32): void {
  const e = v128.load(Eq);
  const ea = f32x4.mul(e, a);
  if (hasDL == 0) {
    v128.store(dxq, f32x4.add(z4, ea));
    return;
  }
  const el = f32x4.mul(e, f32x4.sub(f32x4.mul(f32x4.sub(v128.load(xq), c4), a), b));
  if (alias != 0) v128.store(dxq, f32x4.add(z4, f32x4.add(ea, el)));
  else {
    v128.store(dxq, f32x4.add(z4, ea));
    v128.store(dlq, f32x4.add(z4, el));
  }
}

/**
 * dx, dL of one input row in {@link k3Plane}: the row's covering output rows' G and G·Ȳ (Gc, Yc;
 * `two` = 1: plus the previous output row's Gp, Yp, added as Gp + Gc), then the horizontal gather
 * A[2j] = G[j], A[2j + 1] = G[j + 1] + G[j] (G[nC] = 0: the buffers' zero padding), B likewise, then
 * {@link k3Store4}; 8 inputs at a time in registers, the scalar build and the last columns the same
 * operations one by one. Inputs after the last window (i ≥ 2·nC) get 0.
 */
// @ts-ignore: decorator
@inline function k3FinishRow(
  Gp: usize, Yp: usize, Gc: usize, Yc: usize, two: i32, Er: usize, xr: usize, dxr: usize, dlr: usize,
  W: i32, nC: i32, c: f32, hasDL: i32, alias: i32,
): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const c4 = f32x4.splat(c);
    const z4 = f32x4.splat(0);
    for (; j + 4 <= nC && 2 * j + 8 <= W; j += 4) {
      const qj = (<usize>j) << 2;
      let g = v128.load(Gc + qj);
      let gn = v128.load(Gc + qj, 4);
      let y = v128.load(Yc + qj);
      let yn = v128.load(Yc + qj, 4);
      if (two != 0) {
        g = f32x4.add(v128.load(Gp + qj), g);
        gn = f32x4.add(v128.load(Gp + qj, 4), gn);
        y = f32x4.add(v128.load(Yp + qj), y);
        yn = f32x4.add(v128.load(Yp + qj, 4), yn);
      }
      const go = f32x4.add(gn, g);
      const yo = f32x4.add(yn, y);
      const q = (<usize>(2 * j)) << 2;
      k3Store4(v128.shuffle<f32>(g, go, 0, 4, 1, 5), v128.shuffle<f32>(y, yo, 0, 4, 1, 5), Er + q, xr + q, dxr + q, dlr + q, c4, z4, hasDL, alias);
      k3Store4(v128.shuffle<f32>(g, go, 2, 6, 3, 7), v128.shuffle<f32>(y, yo, 2, 6, 3, 7), Er + q + 16, xr + q + 16, dxr + q + 16, dlr + q + 16, c4, z4, hasDL, alias);
    }
  }
  for (let i = 2 * j; i < W; i++) {
    const jj = i >> 1;
    if (jj >= nC) {
      stf(dxr, i, 0);
      if (hasDL != 0 && alias == 0) stf(dlr, i, 0);
      continue;
    }
    let g = ldf(Gc, jj);
    let y = ldf(Yc, jj);
    if (two != 0) {
      g = ldf(Gp, jj) + g;
      y = ldf(Yp, jj) + y;
    }
    if ((i & 1) != 0) {
      let gn = ldf(Gc, jj + 1);
      let yn = ldf(Yc, jj + 1);
      if (two != 0) {
        gn = ldf(Gp, jj + 1) + gn;
        yn = ldf(Yp, jj + 1) + yn;
      }
      g = gn + g;
      y = yn + y;
    }
    const e = ldf(Er, i);
    const ea = e * g;
    if (hasDL == 0) {
      stf(dxr, i, <f32>0 + ea);
      continue;
    }
    const el = e * ((ldf(xr, i) - c) * g - y);
    if (alias != 0) stf(dxr, i, <f32>0 + (ea + el));
    else {
      stf(dxr, i, <f32>0 + ea);
      stf(dlr, i, <f32>0 + el);
    }
  }
}

/** Column q's vertical sums of {@link k3Plane} (rows t, m, b; an absent row is the zero row): (E_t + E_m) + E_b. */
// @ts-ignore: decorator
@inline function k3ColE(Et: usize, Em: usize, Eb: usize, q: i32): f32 {
  return (ldf(Et, q) + ldf(Em, q)) + ldf(Eb, q);
}

/** Column q's (P_t + P_m) + P_b with P = E·(x − c) (an absent row: 0·(0 − c)). */
// @ts-ignore: decorator
@inline function k3ColX(Et: usize, Em: usize, Eb: usize, xt: usize, xm: usize, xb: usize, q: i32, c: f32): f32 {
  return (ldf(Et, q) * (ldf(xt, q) - c) + ldf(Em, q) * (ldf(xm, q) - c)) + ldf(Eb, q) * (ldf(xb, q) - c);
}

/**
 * {@link softmaxBackward} for one 2-d plane whose windows are 3×3, stride 2, padding 1 on both axes
 * (LIP's default; windows [2o − 1, 2o + 2) clipped, per-side padding included), in one sweep down the
 * plane with every row's work in registers and nothing stored but G, G·Ȳ of two output rows. Per output
 * row ob (input rows t = 2ob − 1, m = 2ob, b = 2ob + 1; an absent row reads a zero row Zr):
 * the columns' vertical sums (E_t + E_m) + E_b and (P_t + P_m) + P_b (P = E·(x − c)), then each
 * window's S = (V[2j − 1] + V[2j]) + V[2j + 1] (0 for column −1) and Σ P the same way, G = dy·(1/S)
 * and G·Ȳ = G·(Σ P·(1/S)) (8 inputs, 4 windows at a time, de-interleaved in registers); then dx, dL
 * of row t (windows ob − 1 and ob) and row m (window ob) by {@link k3FinishRow}; row 2nB − 1 after the
 * last output row, 0 below. The scalar build and the last columns take the same operations one by one,
 * so the builds agree bit for bit. Windows with S < e^−8 (or NaN) get G = 0 and are listed in fb;
 * returns their count, or −1 when the sum of every window's Σ P is not finite (as {@link tiledBackward}).
 * Scratch: Zr (W floats, zeroed here), Gb (4·(nC + 8) floats: two G, Y row pairs, zero-padded).
 */
// @ts-ignore: decorator
@inline function k3Plane(
  Ep: usize, xp: usize, c: f32, dyp: usize, dxp: usize, dlp: usize, fb: usize, Zr: usize, Gb: usize,
  H: i32, W: i32, nB: i32, nC: i32, hasDL: i32, alias: i32,
): i32 {
  const NS = nC + 8;
  let Gp = Gb;
  let Yp = Gp + ((<usize>NS) << 2);
  let Gc = Yp + ((<usize>NS) << 2);
  let Yc = Gc + ((<usize>NS) << 2);
  zeroF32(Zr, W);
  zeroF32(Gp + ((<usize>nC) << 2), 8);
  zeroF32(Yp + ((<usize>nC) << 2), 8);
  zeroF32(Gc + ((<usize>nC) << 2), 8);
  zeroF32(Yc + ((<usize>nC) << 2), 8);
  const rowB = (<usize>W) << 2;
  let nfb = 0;
  let acc: f32 = 0;
  for (let ob = 0; ob < nB; ob++) {
    const rt = 2 * ob - 1;
    const rm = 2 * ob;
    const rb = rm + 1;
    const qt = (<usize>rt) * rowB;
    const qm = (<usize>rm) * rowB;
    const qb = (<usize>rb) * rowB;
    const Et = rt >= 0 ? Ep + qt : Zr;
    const xt = rt >= 0 ? xp + qt : Zr;
    const Em = rm < H ? Ep + qm : Zr;
    const xm = rm < H ? xp + qm : Zr;
    const Eb = rb < H ? Ep + qb : Zr;
    const xb = rb < H ? xp + qb : Zr;
    const o = ob * nC;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const c4 = f32x4.splat(c);
      const one = f32x4.splat(1);
      const smin = f32x4.splat(SUM_MIN);
      let pe = f32x4.splat(0); // column 2j − 1's sums in lane 3
      let px = pe;
      let acc4 = pe;
      for (; j + 4 <= nC && 2 * j + 8 <= W; j += 4) {
        const q = (<usize>(2 * j)) << 2;
        let e = v128.load(Et + q);
        let e2 = v128.load(Et + q, 16);
        let v0 = e;
        let v1 = e2;
        let w0 = f32x4.mul(e, f32x4.sub(v128.load(xt + q), c4));
        let w1 = f32x4.mul(e2, f32x4.sub(v128.load(xt + q, 16), c4));
        e = v128.load(Em + q);
        e2 = v128.load(Em + q, 16);
        v0 = f32x4.add(v0, e);
        v1 = f32x4.add(v1, e2);
        w0 = f32x4.add(w0, f32x4.mul(e, f32x4.sub(v128.load(xm + q), c4)));
        w1 = f32x4.add(w1, f32x4.mul(e2, f32x4.sub(v128.load(xm + q, 16), c4)));
        e = v128.load(Eb + q);
        e2 = v128.load(Eb + q, 16);
        v0 = f32x4.add(v0, e);
        v1 = f32x4.add(v1, e2);
        w0 = f32x4.add(w0, f32x4.mul(e, f32x4.sub(v128.load(xb + q), c4)));
        w1 = f32x4.add(w1, f32x4.mul(e2, f32x4.sub(v128.load(xb + q, 16), c4)));
        const od = v128.shuffle<f32>(v0, v1, 1, 3, 5, 7);
        const s = f32x4.add(f32x4.add(v128.shuffle<f32>(pe, od, 3, 4, 5, 6), v128.shuffle<f32>(v0, v1, 0, 2, 4, 6)), od);
        pe = od;
        const ox = v128.shuffle<f32>(w0, w1, 1, 3, 5, 7);
        const sx = f32x4.add(f32x4.add(v128.shuffle<f32>(px, ox, 3, 4, 5, 6), v128.shuffle<f32>(w0, w1, 0, 2, 4, 6)), ox);
        px = ox;
        acc4 = f32x4.add(acc4, sx);
        const ok = f32x4.ge(s, smin);
        const rs = f32x4.div(one, s);
        const g = v128.and(f32x4.mul(v128.load(dyp + ((<usize>(o + j)) << 2)), rs), ok);
        v128.store(Gc + ((<usize>j) << 2), g);
        v128.store(Yc + ((<usize>j) << 2), v128.and(f32x4.mul(g, f32x4.mul(sx, rs)), ok));
        if (!i32x4.all_true(ok)) {
          for (let l = 0; l < 4; l++) {
            const good = l == 0 ? i32x4.extract_lane(ok, 0) : l == 1 ? i32x4.extract_lane(ok, 1) : l == 2 ? i32x4.extract_lane(ok, 2) : i32x4.extract_lane(ok, 3);
            if (good == 0) sti(fb, nfb++, o + j + l);
          }
        }
      }
      acc += lanesSum(acc4);
    }
    for (; j < nC; j++) {
      let s: f32 = 0;
      let sx: f32 = 0;
      if (j > 0) {
        s = k3ColE(Et, Em, Eb, 2 * j - 1);
        sx = k3ColX(Et, Em, Eb, xt, xm, xb, 2 * j - 1, c);
      }
      if (2 * j < W) {
        s += k3ColE(Et, Em, Eb, 2 * j);
        sx += k3ColX(Et, Em, Eb, xt, xm, xb, 2 * j, c);
      }
      if (2 * j + 1 < W) {
        s += k3ColE(Et, Em, Eb, 2 * j + 1);
        sx += k3ColX(Et, Em, Eb, xt, xm, xb, 2 * j + 1, c);
      }
      acc += sx;
      if (s >= SUM_MIN) {
        const rs = <f32>1 / s;
        const g = ldf(dyp, o + j) * rs;
        stf(Gc, j, g);
        stf(Yc, j, g * (sx * rs));
      } else {
        stf(Gc, j, 0);
        stf(Yc, j, 0);
        sti(fb, nfb++, o + j);
      }
    }
    // row t: windows ob − 1 and ob; row m: window ob
    if (rt >= 0) k3FinishRow(Gp, Yp, Gc, Yc, 1, Ep + qt, xp + qt, dxp + qt, dlp + qt, W, nC, c, hasDL, alias);
    if (rm < H) k3FinishRow(0, 0, Gc, Yc, 0, Ep + qm, xp + qm, dxp + qm, dlp + qm, W, nC, c, hasDL, alias);
    const tg = Gp;
    Gp = Gc;
    Gc = tg;
    const ty = Yp;
    Yp = Yc;
    Yc = ty;
  }
  // row 2nB − 1: the last output row's only; the rows below: no window, 0
  const rl = 2 * nB - 1;
  if (rl < H) {
    const ql = (<usize>rl) * rowB;
    k3FinishRow(0, 0, Gp, Yp, 0, Ep + ql, xp + ql, dxp + ql, dlp + ql, W, nC, c, hasDL, alias);
  }
  if (rl + 1 < H) {
    const qz = (<usize>(rl + 1)) * rowB;
    zeroF32(dxp + qz, (H - rl - 1) * W);
    if (hasDL != 0 && alias == 0) zeroF32(dlp + qz, (H - rl - 1) * W);
  }
  return acc * 0 != 0 ? -1 : nfb;
}

/** {@link k3Plane} with the gradient mode fixed (no dL; dL aliasing dx; separate dL): three straight-line copies. */
function k3Backward(
  Ep: usize, xp: usize, c: f32, dyp: usize, dxp: usize, dlp: usize, fb: usize, Zr: usize, Gb: usize,
  H: i32, W: i32, nB: i32, nC: i32, hasDL: i32, alias: i32,
): i32 {
  if (hasDL == 0) return k3Plane(Ep, xp, c, dyp, dxp, dlp, fb, Zr, Gb, H, W, nB, nC, 0, 0);
  if (alias != 0) return k3Plane(Ep, xp, c, dyp, dxp, dlp, fb, Zr, Gb, H, W, nB, nC, 1, 1);
  return k3Plane(Ep, xp, c, dyp, dxp, dlp, fb, Zr, Gb, H, W, nB, nC, 1, 0);
}

/**
 * {@link softmaxForward} for one 2-d plane whose windows are 3×3, stride 2, padding 1 on both axes
 * (LIP's default), M finite, in one sweep: per output row ob, input rows m = 2ob and b = 2ob + 1 are
 * exponentiated in registers (E = e^{L−M}; `keep`: written to the cache Ep), P = E·x formed, and row
 * t = 2ob − 1's E and P read back from the previous output row's (row b's E and P are kept in row
 * buffers EB0/EB1, PB0/PB1, alternately); then the columns' vertical sums (E_t + E_m) + E_b,
 * (P_t + P_m) + P_b and each window's S = (V[2j − 1] + V[2j]) + V[2j + 1] (0 for column −1), Σ P the
 * same way, y = Σ P / S — 4 windows at a time de-interleaved in registers; the scalar build and the last
 * columns the same operations one by one (expf32, bit-identical per lane to exp4w), so the builds agree
 * bit for bit. An absent row (above the first or below the last input row) reads logits −∞ (Ni: E = 0)
 * and x = 0 (Zr). A window with S < e^−8 (or NaN) takes {@link windowSoftmax}. `keep`: inputs no
 * window covers get E = 0 (columns from 2·nC) or e^{L−M} (rows from 2·nB), so the cache is all written.
 */
// @ts-ignore: decorator
@inline function k3ForwardPlane(
  xp: usize, lp: usize, M: f32, yp: usize, Ep: usize, keep: i32, Zr: usize, Ni: usize, EB0: usize, EB1: usize, PB0: usize, PB1: usize,
  H: i32, W: i32, nB: i32, nC: i32, bS: usize, bE: usize, cS: usize, cE: usize,
): void {
  const HW = H * W;
  const rowB = (<usize>W) << 2;
  zeroF32(Zr, W);
  for (let i = 0; i < W; i++) stf(Ni, i, -Infinity);
  const cov = min<i32>(W, 2 * nC); // columns some window covers
  let Et = Zr;
  let Pt = Zr;
  let alt = 0;
  for (let ob = 0; ob < nB; ob++) {
    const rm = 2 * ob;
    const rb = rm + 1;
    const qm = (<usize>rm) * rowB;
    const qb = (<usize>rb) * rowB;
    const Lm = rm < H ? lp + qm : Ni;
    const xm = rm < H ? xp + qm : Zr;
    const Lb = rb < H ? lp + qb : Ni;
    const xb = rb < H ? xp + qb : Zr;
    // where row m's and b's E go (keep: the cache; an absent row's: a buffer nobody reads) and b's P
    const Emd = rm < H ? Ep + qm : EB0;
    const Ebd = keep != 0 ? (rb < H ? Ep + qb : EB1) : alt == 0 ? EB0 : EB1;
    const Pbd = alt == 0 ? PB0 : PB1;
    const b0 = ldi(bS, ob);
    const b1 = ldi(bE, ob);
    const yo = yp + ((<usize>(ob * nC)) << 2);
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const m4 = f32x4.splat(M);
      const smin = f32x4.splat(SUM_MIN);
      let pe = f32x4.splat(0); // column 2j − 1's sums in lane 3
      let px = pe;
      for (; j + 4 <= nC && 2 * j + 8 <= W; j += 4) {
        const q = (<usize>(2 * j)) << 2;
        let v0 = v128.load(Et + q);
        let v1 = v128.load(Et + q, 16);
        let w0 = v128.load(Pt + q);
        let w1 = v128.load(Pt + q, 16);
        let e = exp4w(f32x4.sub(v128.load(Lm + q), m4));
        let e2 = exp4w(f32x4.sub(v128.load(Lm + q, 16), m4));
        if (keep != 0) {
          v128.store(Emd + q, e);
          v128.store(Emd + q, e2, 16);
        }
        v0 = f32x4.add(v0, e);
        v1 = f32x4.add(v1, e2);
        w0 = f32x4.add(w0, f32x4.mul(e, v128.load(xm + q)));
        w1 = f32x4.add(w1, f32x4.mul(e2, v128.load(xm + q, 16)));
        e = exp4w(f32x4.sub(v128.load(Lb + q), m4));
        e2 = exp4w(f32x4.sub(v128.load(Lb + q, 16), m4));
        v128.store(Ebd + q, e);
        v128.store(Ebd + q, e2, 16);
        const p = f32x4.mul(e, v128.load(xb + q));
        const p2 = f32x4.mul(e2, v128.load(xb + q, 16));
        v128.store(Pbd + q, p);
        v128.store(Pbd + q, p2, 16);
        v0 = f32x4.add(v0, e);
        v1 = f32x4.add(v1, e2);
        w0 = f32x4.add(w0, p);
        w1 = f32x4.add(w1, p2);
        const od = v128.shuffle<f32>(v0, v1, 1, 3, 5, 7);
        const s = f32x4.add(f32x4.add(v128.shuffle<f32>(pe, od, 3, 4, 5, 6), v128.shuffle<f32>(v0, v1, 0, 2, 4, 6)), od);
        pe = od;
        const ox = v128.shuffle<f32>(w0, w1, 1, 3, 5, 7);
        const sx = f32x4.add(f32x4.add(v128.shuffle<f32>(px, ox, 3, 4, 5, 6), v128.shuffle<f32>(w0, w1, 0, 2, 4, 6)), ox);
        px = ox;
        v128.store(yo + ((<usize>j) << 2), f32x4.div(sx, s));
        const ok = f32x4.ge(s, smin);
        if (!i32x4.all_true(ok)) {
          for (let l = 0; l < 4; l++) {
            const good = l == 0 ? i32x4.extract_lane(ok, 0) : l == 1 ? i32x4.extract_lane(ok, 1) : l == 2 ? i32x4.extract_lane(ok, 2) : i32x4.extract_lane(ok, 3);
            if (good == 0) stf(yo, j + l, windowSoftmax(xp, lp, HW, W, 0, 1, b0, b1, ldi(cS, j + l), ldi(cE, j + l)));
          }
        }
      }
    }
    for (; j < nC; j++) {
      let s: f32 = 0;
      let sx: f32 = 0;
      for (let q = max<i32>(0, 2 * j - 1); q < min<i32>(W, 2 * j + 2); q++) {
        const em = expf32(ldf(Lm, q) - M);
        const eb = expf32(ldf(Lb, q) - M);
        const pb = eb * ldf(xb, q);
        if (keep != 0) stf(Emd, q, em);
        stf(Ebd, q, eb);
        stf(Pbd, q, pb);
        const v = (ldf(Et, q) + em) + eb;
        const w = (ldf(Pt, q) + em * ldf(xm, q)) + pb;
        // column 2j − 1 starts the window's sums (0 + V[0] for window 0, as the SIMD lanes)
        if (q == 2 * j - 1) {
          s = v;
          sx = w;
        } else {
          s += v;
          sx += w;
        }
      }
      stf(yo, j, s >= SUM_MIN ? sx / s : windowSoftmax(xp, lp, HW, W, 0, 1, b0, b1, ldi(cS, j), ldi(cE, j)));
    }
    if (keep != 0) {
      for (let q = cov; q < W; q++) {
        if (rm < H) stf(Emd, q, 0);
        if (rb < H) stf(Ebd, q, 0);
      }
    }
    Et = Ebd;
    Pt = Pbd;
    alt ^= 1;
  }
  if (keep != 0) {
    for (let r = 2 * nB; r < H; r++) expPlane(lp + (<usize>r) * rowB, Ep + (<usize>r) * rowB, M, W);
  }
}

/** {@link k3ForwardPlane} with `keep` fixed (two straight-line copies). */
function k3Forward(
  xp: usize, lp: usize, M: f32, yp: usize, Ep: usize, keep: i32, Zr: usize, Ni: usize, EB0: usize, EB1: usize, PB0: usize, PB1: usize,
  H: i32, W: i32, nB: i32, nC: i32, bS: usize, bE: usize, cS: usize, cE: usize,
): void {
  if (keep != 0) k3ForwardPlane(xp, lp, M, yp, Ep, 1, Zr, Ni, EB0, EB1, PB0, PB1, H, W, nB, nC, bS, bE, cS, cE);
  else k3ForwardPlane(xp, lp, M, yp, Ep, 0, Zr, Ni, EB0, EB1, PB0, PB1, H, W, nB, nC, bS, bE, cS, cE);
}

/**
 * One input row of {@link softmaxBackward}'s last step for the two common last axes (as
 * {@link expRowPairs}: windows [2j, 2j + 2) or [2j − 1, 2j + 2) clipped, k = 2 or 3), the horizontal
 * gather done in registers: A at input 2j is G[j] and at 2j + 1 is G[j] (k = 2) or G[j + 1] + G[j]
 * (k = 3; G beyond the row is 0), B likewise from Y — {@link gatherRow}'s values and order. Then
 * dx = 0 + E·A, dL = 0 + E·((x − c)·A − B) (or dx = 0 + (E·A + that) when they alias), as the general path.
 */
function pairsRowBackward(Gv: usize, Yv: usize, Er: usize, xr: usize, dxr: usize, dlr: usize, W: i32, nC: i32, k: i32, c: f32, hasDL: i32, alias: i32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const c4 = f32x4.splat(c);
    const z4 = f32x4.splat(0);
    // k = 3 reads G[j + 4]: only while j + 4 < nC
    const jEnd = k == 3 ? nC - 1 : nC;
    for (; j + 4 <= jEnd && 2 * j + 8 <= W; j += 4) {
      const qj = (<usize>j) << 2;
      const g = v128.load(Gv + qj);
      const y = v128.load(Yv + qj);
      let go = g;
      let yo = y;
      if (k == 3) {
        go = f32x4.add(v128.load(Gv + qj, 4), g);
        yo = f32x4.add(v128.load(Yv + qj, 4), y);
      }
      const q = (<usize>(2 * j)) << 2;
      for (let h = 0; h < 2; h++) {
        const a = h == 0 ? v128.shuffle<f32>(g, go, 0, 4, 1, 5) : v128.shuffle<f32>(g, go, 2, 6, 3, 7);
        const qh = q + ((<usize>h) << 4);
        const e = v128.load(Er + qh);
        const ea = f32x4.mul(e, a);
        if (hasDL == 0) {
          v128.store(dxr + qh, f32x4.add(z4, ea));
          continue;
        }
        const b = h == 0 ? v128.shuffle<f32>(y, yo, 0, 4, 1, 5) : v128.shuffle<f32>(y, yo, 2, 6, 3, 7);
        const el = f32x4.mul(e, f32x4.sub(f32x4.mul(f32x4.sub(v128.load(xr + qh), c4), a), b));
        if (alias != 0) v128.store(dxr + qh, f32x4.add(z4, f32x4.add(ea, el)));
        else {
          v128.store(dxr + qh, f32x4.add(z4, ea));
          v128.store(dlr + qh, f32x4.add(z4, el));
        }
      }
    }
  }
  for (let i = 2 * j; i < W; i++) {
    const jj = i >> 1;
    if (jj >= nC) {
      // in no window (k = 2, odd W): 0, as the reference's zeroed gradient
      stf(dxr, i, 0);
      if (hasDL != 0 && alias == 0) stf(dlr, i, 0);
      continue;
    }
    let a: f32 = 0;
    let b: f32 = 0;
    if ((i & 1) == 0 || k == 2) {
      if (jj < nC) {
        a = ldf(Gv, jj);
        b = ldf(Yv, jj);
      }
    } else {
      const gn: f32 = jj + 1 < nC ? ldf(Gv, jj + 1) : 0;
      const yn: f32 = jj + 1 < nC ? ldf(Yv, jj + 1) : 0;
      const gc: f32 = jj < nC ? ldf(Gv, jj) : 0;
      const yc: f32 = jj < nC ? ldf(Yv, jj) : 0;
      a = gn + gc;
      b = yn + yc;
    }
    const e = ldf(Er, i);
    const ea = e * a;
    if (hasDL == 0) {
      stf(dxr, i, <f32>0 + ea);
      continue;
    }
    const el = e * ((ldf(xr, i) - c) * a - b);
    if (alias != 0) stf(dxr, i, <f32>0 + (ea + el));
    else {
      stf(dxr, i, <f32>0 + ea);
      stf(dlr, i, <f32>0 + el);
    }
  }
}

/** n floats from src to dst (a loop: V8's memory.copy is a runtime call, slow for the short rows here). */
// @ts-ignore: decorator
@inline function copyF32(dst: usize, src: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(dst + ((<usize>i) << 2), v128.load(src + ((<usize>i) << 2)));
  }
  for (; i < n; i++) stf(dst, i, ldf(src, i));
}

/**
 * The vertical transpose of the window sums, gathered for one input row: dst[oc] = Σ_{oa ∈ [a0, a1)}
 * Σ_{ob ∈ [b0, b1)} src[(oa·nB + ob)·nC + oc] in (oa, ob) order from +0 (the output rows whose windows
 * cover the row; empty ranges give 0), 4 columns at a time — each lane the scalar path's order.
 */
function verticalGather(src: usize, dst: usize, nC: i32, nB: i32, a0: i32, a1: i32, b0: i32, b1: i32): void {
  let oc = 0;
  if (ASC_FEATURE_SIMD) {
    for (; oc + 4 <= nC; oc += 4) {
      let v = f32x4.splat(0);
      for (let oa = a0; oa < a1; oa++) {
        for (let ob = b0; ob < b1; ob++) v = f32x4.add(v, v128.load(src + ((<usize>((oa * nB + ob) * nC + oc)) << 2)));
      }
      v128.store(dst + ((<usize>oc) << 2), v);
    }
  }
  for (; oc < nC; oc++) {
    let v: f32 = 0;
    for (let oa = a0; oa < a1; oa++) {
      for (let ob = b0; ob < b1; ob++) v += ldf(src, (oa * nB + ob) * nC + oc);
    }
    stf(dst, oc, v);
  }
}

/** Floats before index 0 of the backward's A and B row buffers (stride-2 gathers may start at −1). */
const PADA = 8;

/**
 * The transpose of {@link rowWindowSums} for two rows at once: a[ic] = Σ_{oc: ic ∈ [cS[oc], cE[oc])} g[oc],
 * b likewise from yv, for ic in [0, W) (a, b: row buffers with PADA floats before index 0 and slack after).
 *
 * Regular axes (reg ≠ 0: every window [off + s·oc, off + s·oc + k) clipped to the row, s = 1 or 2) gather
 * instead of scattering, each input written once: with g, yv copied into zero-padded rows (gp, yp: PAD
 * zeros on either side), a[off + s·j + d] = Σ_{q ≥ 0, d + s·q < k} g[j − q] for d < s, 4 j at a time
 * (stride 2: the even and odd sums interleaved), q ascending in the SIMD lanes and the scalar build alike,
 * so the builds agree bit for bit. Other axes: zeroed, then window by window.
 */
// @ts-ignore: decorator
@inline function horizontalTranspose(
  g: usize, yv: usize, a: usize, b: usize, gp: usize, yp: usize, W: i32, cS: usize, cE: usize, nC: i32,
  reg: i32, off: i32, s: i32, k: i32,
): void {
  gatherRow(g, a, gp, W, cS, cE, nC, reg, off, s, k);
  gatherRow(yv, b, yp, W, cS, cE, nC, reg, off, s, k);
}

/**
 * One row of {@link horizontalTranspose}: a[ic] = Σ_{oc: ic ∈ [cS[oc], cE[oc])} g[oc] for ic in [0, W)
 * (a: a row buffer with PADA floats before index 0 and slack after; gp: the padded copy's buffer,
 * nC + 2k + 16 floats).
 */
function gatherRow(g: usize, a: usize, gp: usize, W: i32, cS: usize, cE: usize, nC: i32, reg: i32, off: i32, s: i32, k: i32): void {
  const a0 = a + ((<usize>PADA) << 2);
  if (reg != 0) {
    // the padded copy: PAD zeros, the row, PAD zeros
    const PAD = k + 8;
    zeroF32(gp, PAD);
    const g0 = gp + ((<usize>PAD) << 2);
    copyF32(g0, g, nC);
    zeroF32(g0 + ((<usize>nC) << 2), PAD);
    gatherPadded(g0, a0, W, off, s, k);
    return;
  }
  zeroF32(a0, W);
  for (let oc = 0; oc < nC; oc++) {
    const gg = ldf(g, oc);
    const c1 = ldi(cE, oc);
    for (let ic = ldi(cS, oc); ic < c1; ic++) stf(a0, ic, ldf(a0, ic) + gg);
  }
}

/**
 * {@link gatherRow} on a regular axis from a row already padded (g0: the row, with k + 8 zeros before
 * and after it) into a0 (the row buffer's index 0: PADA floats before it, slack after).
 */
// @ts-ignore: decorator
@inline function gatherPadded(g0: usize, a0: usize, W: i32, off: i32, s: i32, k: i32): void {
  if (s == 1) {
    // a[ic] = Σ_{t<k} g[ic − off − t]
    let ic = 0;
    if (ASC_FEATURE_SIMD) {
      for (; ic + 4 <= W; ic += 4) {
        let va = v128.load(g0 + ((<usize>(ic - off)) << 2));
        for (let t = 1; t < k; t++) va = f32x4.add(va, v128.load(g0 + ((<usize>(ic - off - t)) << 2)));
        v128.store(a0 + ((<usize>ic) << 2), va);
      }
    }
    for (; ic < W; ic++) {
      let va = ldf(g0, ic - off);
      for (let t = 1; t < k; t++) va += ldf(g0, ic - off - t);
      stf(a0, ic, va);
    }
  } else {
    // stride 2: j from ⌊−off/2⌋ while off + 2j < W; even (d = 0) taps q < ⌈k/2⌉, odd (d = 1) q < ⌊k/2⌋
    const jS = (-off) >> 1;
    const jE = (W - off + 1) >> 1;
    const ke = (k + 1) >> 1;
    const ko = k >> 1;
    let j = jS;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= jE; j += 4) {
        let ev = v128.load(g0 + ((<usize>j) << 2));
        for (let q = 1; q < ke; q++) ev = f32x4.add(ev, v128.load(g0 + ((<usize>(j - q)) << 2)));
        let od = f32x4.splat(0);
        if (ko > 0) {
          od = v128.load(g0 + ((<usize>j) << 2));
          for (let q = 1; q < ko; q++) od = f32x4.add(od, v128.load(g0 + ((<usize>(j - q)) << 2)));
        }
        const at = a0 + ((<usize>(off + 2 * j)) << 2);
        v128.store(at, v128.shuffle<f32>(ev, od, 0, 4, 1, 5));
        v128.store(at, v128.shuffle<f32>(ev, od, 2, 6, 3, 7), 16);
      }
    }
    for (; j < jE; j++) {
      let ev = ldf(g0, j);
      for (let q = 1; q < ke; q++) ev += ldf(g0, j - q);
      let od: f32 = 0;
      if (ko > 0) {
        od = ldf(g0, j);
        for (let q = 1; q < ko; q++) od += ldf(g0, j - q);
      }
      stf(a0, off + 2 * j, ev);
      stf(a0, off + 2 * j + 1, od);
    }
  }
}

/** C's pow rules where they differ from a plain pow: pow(1, y) = 1 (NaN too), pow(−1, ±∞) = 1 (as src/ops/lpPool.ts cpow). */
// @ts-ignore: decorator
@inline function cpow(b: f64, e: f64): f64 {
  if (b == 1) return 1;
  if (b == -1 && (e == Infinity || e == -Infinity)) return 1;
  return Math.pow(b, e);
}

/** x^p rounded to float32, as the reference's `x.pow(p)` stored in the dtype (mode 1: p = 1, 2: p = 2, else pow). */
// @ts-ignore: decorator
@inline function powTap(v: f32, p: f64, mode: i32): f64 {
  if (mode == 2) return <f64>(v * v);
  if (mode == 1) return <f64>v;
  return <f64>(<f32>cpow(<f64>v, p));
}

/**
 * LP pooling forward in one pass: s = (Σ_window x^p) / div (x^p rounded to float32 per tap, as the
 * reference stores `x.pow(p)`; the sum in float64 in scan order, as the reference's average), then
 * u = sign(s)·|s|·area and y = u^(1/p), each rounded to float32 — PyTorch's
 * `(sign(s)·relu(|s|)·k)^(1/p)` exactly as src/ops/lpPool.ts evaluates it (s and u are written for the
 * backward pass). p = 2 and p = 1 take the SIMD path (x·x rounded to float32 is the correctly rounded
 * square, what pow gives); other p call pow per tap. For p = 2 the root is a square root (correctly
 * rounded; pow(u, ½) differs only at u = −∞, which x² cannot produce). `area` must be an integer
 * (the kernel's element count), so s·area is exact in float64.
 */
export function lpForward(
  x: usize, s: usize, u: usize, y: usize, div: usize, p: f64, invP: f64, area: f64, mode: i32,
  planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32,
): void {
  const HW = H * W;
  for (let pl = 0; pl < planes; pl++) {
    const xp = x + ((<usize>pl * <usize>inPlane) << 2);
    let o = pl * outPlane;
    let k = 0;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = ldi(aS, oa);
      const a1 = ldi(aE, oa);
      for (let ob = 0; ob < nB; ob++) {
        const b0 = ldi(bS, ob);
        const b1 = ldi(bE, ob);
        let oc = 0;
        while (oc < nC) {
          let n = 1;
          if (ASC_FEATURE_SIMD) {
            if (mode != 0 && oc >= cLo && oc + 4 <= cHi && a1 > a0 && b1 > b0) {
              const c0 = ldi(cS, oc);
              let s0 = f64x2.splat(0);
              let s1 = f64x2.splat(0);
              for (let ia = a0; ia < a1; ia++) {
                for (let ib = b0; ib < b1; ib++) {
                  const row = ia * HW + ib * W + c0;
                  for (let t = 0; t < cK; t++) {
                    let v = load4(xp, row + t, cStride);
                    if (mode == 2) v = f32x4.mul(v, v);
                    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
                    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
                  }
                }
              }
              const dp = div + ((<usize>k) << 3);
              const r0 = f32x4.demote_f64x2_zero(f64x2.div(s0, v128.load(dp)));
              const r1 = f32x4.demote_f64x2_zero(f64x2.div(s1, v128.load(dp, 16)));
              const sv = v128.shuffle<f32>(r0, r1, 0, 1, 4, 5);
              v128.store(s + ((<usize>o) << 2), sv);
              // u = sign(s)·|s|·area: s·area is exact in float64, so the float32 product is its correct
              // rounding; + 0 turns −0 into the reference's +0 (sign(−0) = 0). p = 2: y = √u, p = 1: y = u.
              const uv = f32x4.add(f32x4.mul(sv, f32x4.splat(<f32>area)), f32x4.splat(0));
              v128.store(u + ((<usize>o) << 2), uv);
              v128.store(y + ((<usize>o) << 2), mode == 2 ? f32x4.sqrt(uv) : uv);
              n = 4;
            }
          }
          if (n == 1) {
            const c0 = ldi(cS, oc);
            const c1 = ldi(cE, oc);
            let sum: f64 = 0;
            for (let ia = a0; ia < a1; ia++) {
              for (let ib = b0; ib < b1; ib++) {
                const row = ia * HW + ib * W;
                for (let ic = c0; ic < c1; ic++) sum += powTap(ldf(xp, row + ic), p, mode);
              }
            }
            // the reference's average of an empty window is 0 (LP has no padding: cannot happen)
            stf(s, o, a1 > a0 && b1 > b0 && c1 > c0 ? <f32>(sum / ldd(div, k)) : 0);
          }
          if (n == 1) {
            const v = <f64>ldf(s, o);
            // torch.sign(NaN) = 0, times NaN = NaN
            const sg: f64 = v > 0 ? 1 : v < 0 ? -1 : 0;
            const uu = <f32>(sg * Math.abs(v) * area);
            stf(u, o, uu);
            let r: f64;
            if (mode == 2 && uu != -Infinity) r = Math.sqrt(<f64>uu);
            else r = cpow(<f64>uu, invP);
            stf(y, o, <f32>r);
          }
          o += n;
          k += n;
          oc += n;
        }
      }
    }
  }
}

/**
 * LP backward, first step (src/kernels/weighted.ts lpFinishBackward, the same float32 roundings): per
 * output, gs = (((dy·(invP·u^(invP−1))·area)·sign(s)) masked where |s| ≤ 0)·sign(s), each product
 * rounded to float32; invP = 0 gives gs = 0 before the area factor (pow_backward's exponent-0 rule).
 * mode 2 (p = 2): u^(−½) is 1/√u in float64 for u > 0 (both correctly rounded, so within an ulp of
 * pow's float64 value before the rounding to float32), SIMD 2 lanes at a time; other u and other p: pow.
 * Elements are independent, so the threads may split the `n` outputs anywhere.
 */
export function lpFinishBackward(dy: usize, s: usize, u: usize, gs: usize, invP: f64, area: f64, mode: i32, n: i32): void {
  let o = 0;
  if (ASC_FEATURE_SIMD) {
    if (mode == 2) {
      const one = f64x2.splat(1);
      const half = f64x2.splat(0.5);
      const ar = f32x4.splat(<f32>area);
      const zero = f32x4.splat(0);
      for (; o + 4 <= n; o += 4) {
        const q = (<usize>o) << 2;
        const uv = v128.load(u + q);
        // lanes with u ≤ 0 or NaN take the scalar path below (rare: zero windows)
        if (!i32x4.all_true(f32x4.gt(uv, zero))) {
          for (let l = 0; l < 4; l++) stf(gs, o + l, finishOne(ldf(dy, o + l), ldf(s, o + l), ldf(u, o + l), invP, area, mode));
          continue;
        }
        const r0 = f64x2.div(one, f64x2.sqrt(f64x2.promote_low_f32x4(uv)));
        const r1 = f64x2.div(one, f64x2.sqrt(f64x2.promote_low_f32x4(v128.shuffle<f32>(uv, uv, 2, 3, 0, 1))));
        let g = v128.shuffle<f32>(f32x4.demote_f64x2_zero(r0), f32x4.demote_f64x2_zero(r1), 0, 1, 4, 5);
        // invP·pow rounded to float32: ½·g is exact in float32 unless g is subnormal; do it in float64 as the reference
        const h0 = f64x2.mul(half, f64x2.promote_low_f32x4(g));
        const h1 = f64x2.mul(half, f64x2.promote_low_f32x4(v128.shuffle<f32>(g, g, 2, 3, 0, 1)));
        g = v128.shuffle<f32>(f32x4.demote_f64x2_zero(h0), f32x4.demote_f64x2_zero(h1), 0, 1, 4, 5);
        g = f32x4.mul(v128.load(dy + q), g);
        g = f32x4.mul(g, ar);
        // u > 0 means s > 0 (u = s·area): sign 1, mask open, so gs = g·1·1
        v128.store(gs + q, g);
      }
    }
  }
  for (; o < n; o++) stf(gs, o, finishOne(ldf(dy, o), ldf(s, o), ldf(u, o), invP, area, mode));
}

// @ts-ignore: decorator
@inline function finishOne(d: f32, v: f32, uu: f32, invP: f64, area: f64, mode: i32): f32 {
  const sg: f64 = v > 0 ? 1 : v < 0 ? -1 : 0;
  let g: f32;
  if (invP == 0) g = 0;
  else {
    g = mode == 2 && uu > 0 ? <f32>(1 / Math.sqrt(<f64>uu)) : <f32>cpow(<f64>uu, invP - 1);
    g = <f32>(invP * <f64>g);
    g = <f32>(<f64>d * <f64>g);
  }
  g = <f32>(<f64>g * area);
  const gr = <f32>(<f64>g * sg);
  const ga: f32 = Math.abs(<f64>v) <= 0 ? 0 : gr;
  return <f32>(<f64>ga * sg);
}

/**
 * LP backward, last step (src/kernels/weighted.ts lpPowBackward): dx = g·(p·x^(p−1)), each product
 * rounded to float32. mode 2 (p = 2): x^1 = x, so dx = g·(2x) — 2x is exact, and a float32 product of
 * float32 values rounds the same in float32 as via float64: SIMD. mode 1 (p = 1): x^0 = 1 (pow(NaN, 0)
 * = 1 too), dx = g·1 = g. Other p: pow per element. Elements independent (threads split `n` anywhere).
 */
export function lpPowBackward(g: usize, x: usize, dx: usize, p: f64, mode: i32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (mode == 2) {
      const two = f32x4.splat(2);
      for (; i + 4 <= n; i += 4) {
        const q = (<usize>i) << 2;
        v128.store(dx + q, f32x4.mul(v128.load(g + q), f32x4.mul(two, v128.load(x + q))));
      }
    } else if (mode == 1) {
      for (; i + 4 <= n; i += 4) {
        const q = (<usize>i) << 2;
        v128.store(dx + q, f32x4.mul(v128.load(g + q), f32x4.splat(1)));
      }
    }
  }
  for (; i < n; i++) {
    const xv = ldf(x, i);
    let t: f32;
    if (mode == 2) t = <f32>2 * xv;
    else if (mode == 1) t = 1;
    else t = <f32>(p * <f64>(<f32>cpow(<f64>xv, p - 1)));
    stf(dx, i, ldf(g, i) * t);
  }
}

/**
 * q_o = ((dy_o·(½·fl(1/fl(√u_o))))·area)/div32_o + 0 for o in [o0, o0 + n) into Qd[0, n), all in float32
 * (lpBackward's p = 2 formula, SIMD build); lanes with u ≤ 0 or NaN, and the last n mod 4, take
 * {@link finishOne} (float64 steps rounded to float32) divided by div32. The + 0 turns −0 into +0 (what
 * the reference's gradient, summed from +0, gives), so sums of these q never come out −0.
 */
// @ts-ignore: decorator
@inline function lpQ2(dy: usize, s: usize, u: usize, div32: usize, Qd: usize, o0: i32, n: i32, invP: f64, area: f64, fmode: i32): void {
  let t = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1);
    const half = f32x4.splat(0.5);
    const ar = f32x4.splat(<f32>area);
    const zero = f32x4.splat(0);
    for (; t + 4 <= n; t += 4) {
      const o = o0 + t;
      const q = (<usize>o) << 2;
      const uv = v128.load(u + q);
      if (!i32x4.all_true(f32x4.gt(uv, zero))) {
        for (let l = 0; l < 4; l++) stf(Qd, t + l, finishOne(ldf(dy, o + l), ldf(s, o + l), ldf(u, o + l), invP, area, fmode) / ldf(div32, o + l) + <f32>0);
        continue;
      }
      const g = f32x4.mul(f32x4.mul(v128.load(dy + q), f32x4.mul(half, f32x4.div(one, f32x4.sqrt(uv)))), ar);
      v128.store(Qd + ((<usize>t) << 2), f32x4.add(f32x4.div(g, v128.load(div32 + q)), zero));
    }
  }
  for (; t < n; t++) {
    const o = o0 + t;
    stf(Qd, t, finishOne(ldf(dy, o), ldf(s, o), ldf(u, o), invP, area, fmode) / ldf(div32, o) + <f32>0);
  }
}

/**
 * LP backward in one pass (src/kernels/weighted.ts lpBackward: lpFinishBackward, avgWindows.backward,
 * lpPowBackward fused): per plane, q_o = gs_o/div_o (gs_o as {@link lpFinishBackward} with `fmode`,
 * the quotient in float64 rounded to float32) into scratch; then per input row (ia, ib) the q of the
 * output rows whose windows cover it ({@link verticalGather}) and of the windows along the row
 * ({@link gatherRow}): g_i = Σ_{o∋i} q_o in float32 (0 where no window covers i), and dx_i =
 * g_i·(p·x_i^(p−1)) written once, as {@link lpPowBackward} with `pmode` (2: 2x, 1: 1, else pow). The
 * same formula as the reference, the window sums in another float32 order (its accumulation bound).
 * Every axis step 1; cov: per input index of axes A then B, the range [lo, hi) of the outputs covering it.
 * div32: the divisors in float32 when every one is exact there (then divided in float32, the same
 * quotients), else 0 (float64 division).
 *
 * eRows (SIMD build, p = 2; 0 otherwise): the row path. Scratch of (outPlane/nC)·(W + PADA + 16 +
 * nC + 2·(cK2 + 8)) floats: per output row k its horizontal transpose E_k (rows of ES = W + PADA + 16
 * floats, the row at PADA), then per output row its q (copied from the plane's q, + 0) padded with
 * cK2 + 8 zeros on either side, so the transpose reads them in place ({@link gatherPadded}; the plane's
 * q are computed 4 at a time over the whole plane, {@link lpQ2}: per row, each row's last nC mod 4 would
 * take the slower scalar step). Then each input row r: dx = (Σ E_k over the output rows k covering r, in
 * output order)·(2x), 4 columns at a time, with straight-line code for one and two covering rows (a 2-d
 * plan with vertical stride ≥ ⌈k/2⌉: every row) — the same values as summing from +0, since no q is −0.
 * Scratch `ex` (floats): outPlane + 4 + nC + 4 + W + PADA + 16 + nC + 2·cK2 + 24.
 */
export function lpBackward(
  x: usize, dy: usize, s: usize, u: usize, dx: usize, div: usize, ex: usize, invP: f64, p: f64, area: f64, fmode: i32, pmode: i32,
  planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32, nB: i32, nC: i32, cS: usize, cE: usize,
  cReg: i32, cOff: i32, cS2: i32, cK2: i32, cov: usize, div32: usize, eRows: usize,
): void {
  const R = W > 0 ? inPlane / W : 0;
  const D = H > 0 ? R / H : 0;
  const Q = ex;
  const V = Q + ((<usize>(outPlane + 4)) << 2);
  const Ab = V + ((<usize>(nC + 4)) << 2);
  const gp = Ab + ((<usize>(W + PADA + 16)) << 2);
  const Ar = Ab + ((<usize>PADA) << 2);
  // the row path's layout (see above)
  const rowPath = ASC_FEATURE_SIMD && eRows != 0 && pmode == 2 && nC > 0;
  const ES = W + PADA + 16;
  const nRo = nC > 0 ? outPlane / nC : 0;
  const PQ = cK2 + 8;
  const QS = nC + 2 * PQ;
  const Qp = eRows + ((<usize>(nRo * ES)) << 2);
  if (rowPath) zeroF32(Qp, nRo * QS); // the pads stay zero: only [PQ, PQ + nC) of a row is written
  for (let pl = 0; pl < planes; pl++) {
    const oo = (<usize>pl * <usize>outPlane) << 2;
    const xo = (<usize>pl * <usize>inPlane) << 2;
    {
      let o = 0;
      if (ASC_FEATURE_SIMD && fmode == 2 && div32 != 0) {
        // p = 2, divisors exact in float32: q = ((dy·½u^(−½))·area)/div in one float32 pass, u^(−½) as
        // 1/√u in float32 (two roundings: within 2.5 float32 ulps of the reference's pow rounded once)
        lpQ2(dy + oo, s + oo, u + oo, div32, Q, 0, outPlane, invP, area, fmode);
        o = outPlane;
      } else lpFinishBackward(dy + oo, s + oo, u + oo, Q, invP, area, fmode, outPlane);
      if (o == outPlane) {
        // done above
      } else if (div32 != 0) {
        // divisors exact in float32: the float32 quotient is the float64 one rounded to float32 (double
        // rounding is innocuous for division: 53 ≥ 2·24 + 2 bits), 4 lanes at a time
        if (ASC_FEATURE_SIMD) {
          for (; o + 4 <= outPlane; o += 4) {
            const q = Q + ((<usize>o) << 2);
            v128.store(q, f32x4.div(v128.load(q), v128.load(div32 + ((<usize>o) << 2))));
          }
        }
        for (; o < outPlane; o++) stf(Q, o, ldf(Q, o) / ldf(div32, o));
      }
      if (ASC_FEATURE_SIMD) {
        for (; o + 2 <= outPlane; o += 2) {
          const q = Q + ((<usize>o) << 2);
          const r = f64x2.div(f64x2.promote_low_f32x4(v128.load64_zero(q)), v128.load(div + ((<usize>o) << 3)));
          v128.store64_lane(q, f32x4.demote_f64x2_zero(r), 0);
        }
      }
      for (; o < outPlane; o++) stf(Q, o, <f32>(<f64>ldf(Q, o) / ldd(div, o)));
    }
    if (ASC_FEATURE_SIMD && rowPath) {
      // per output row: its q in the padded row (+ 0: never −0), then its horizontal transpose E_k
      for (let k = 0; k < nRo; k++) {
        const qr = Qp + ((<usize>(k * QS + PQ)) << 2);
        const src = Q + ((<usize>(k * nC)) << 2);
        const z = f32x4.splat(0);
        let i = 0;
        for (; i + 4 <= nC; i += 4) v128.store(qr + ((<usize>i) << 2), f32x4.add(v128.load(src + ((<usize>i) << 2)), z));
        for (; i < nC; i++) stf(qr, i, ldf(src, i) + <f32>0);
        const er = eRows + ((<usize>(k * ES)) << 2);
        if (cReg != 0) gatherPadded(qr, er + ((<usize>PADA) << 2), W, cOff, cS2, cK2);
        else gatherRow(qr, er, gp, W, cS, cE, nC, 0, cOff, cS2, cK2);
      }
      const E0 = eRows + ((<usize>PADA) << 2);
      const two = f32x4.splat(2);
      for (let r = 0; r < R; r++) {
        const ia = r / H;
        const ib = r - ia * H;
        const qa = cov + ((<usize>(2 * ia)) << 2);
        const qb = cov + ((<usize>(2 * (D + ib))) << 2);
        const va0 = load<i32>(qa);
        const va1 = load<i32>(qa, 4);
        const vb0 = load<i32>(qb);
        const vb1 = load<i32>(qb, 4);
        const na = va1 - va0;
        const nb = vb1 - vb0;
        const q0 = xo + ((<usize>(r * W)) << 2);
        const xr = x + q0;
        const dxr = dx + q0;
        const ea = E0 + ((<usize>((va0 * nB + vb0) * ES)) << 2);
        let i = 0;
        if (na == 1 && nb == 1) {
          // one covering row: dx = E·(2x)
          for (; i + 4 <= W; i += 4) {
            const q = (<usize>i) << 2;
            v128.store(dxr + q, f32x4.mul(v128.load(ea + q), f32x4.mul(two, v128.load(xr + q))));
          }
          for (; i < W; i++) stf(dxr, i, ldf(ea, i) * (<f32>2 * ldf(xr, i)));
        } else if (na * nb == 2) {
          // two: (oa, ob) then (oa, ob + 1), or (oa + 1, ob)
          const eb = ea + ((<usize>((nb == 2 ? 1 : nB) * ES)) << 2);
          for (; i + 4 <= W; i += 4) {
            const q = (<usize>i) << 2;
            v128.store(dxr + q, f32x4.mul(f32x4.add(v128.load(ea + q), v128.load(eb + q)), f32x4.mul(two, v128.load(xr + q))));
          }
          for (; i < W; i++) stf(dxr, i, (ldf(ea, i) + ldf(eb, i)) * (<f32>2 * ldf(xr, i)));
        } else {
          // none (g = 0: dx = 0·2x, NaN for a non-finite x) or more than two, from +0 in output order
          for (; i + 4 <= W; i += 4) {
            const q = (<usize>i) << 2;
            let acc = f32x4.splat(0);
            for (let oa = va0; oa < va1; oa++) {
              for (let ob = vb0; ob < vb1; ob++) acc = f32x4.add(acc, v128.load(E0 + ((<usize>((oa * nB + ob) * ES)) << 2) + q));
            }
            v128.store(dxr + q, f32x4.mul(acc, f32x4.mul(two, v128.load(xr + q))));
          }
          for (; i < W; i++) {
            let acc: f32 = 0;
            for (let oa = va0; oa < va1; oa++) {
              for (let ob = vb0; ob < vb1; ob++) acc += ldf(E0, (oa * nB + ob) * ES + i);
            }
            stf(dxr, i, acc * (<f32>2 * ldf(xr, i)));
          }
        }
      }
      continue;
    }
    for (let r = 0; r < R; r++) {
      const ia = r / H;
      const ib = r - ia * H;
      const qa = cov + ((<usize>(2 * ia)) << 2);
      const qb = cov + ((<usize>(2 * (D + ib))) << 2);
      const va0 = load<i32>(qa);
      const va1 = load<i32>(qa, 4);
      const vb0 = load<i32>(qb);
      const vb1 = load<i32>(qb, 4);
      // from +0, as the reference's zeroed gradient (a −0 q gives +0)
      verticalGather(Q, V, nC, nB, va0, va1, vb0, vb1);
      gatherRow(V, Ab, gp, W, cS, cE, nC, cReg, cOff, cS2, cK2);
      const q0 = xo + ((<usize>(r * W)) << 2);
      const xr = x + q0;
      const dxr = dx + q0;
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        if (pmode == 2) {
          const two = f32x4.splat(2);
          for (; i + 4 <= W; i += 4) {
            const q = (<usize>i) << 2;
            v128.store(dxr + q, f32x4.mul(v128.load(Ar + q), f32x4.mul(two, v128.load(xr + q))));
          }
        } else if (pmode == 1) {
          const one = f32x4.splat(1);
          for (; i + 4 <= W; i += 4) {
            const q = (<usize>i) << 2;
            v128.store(dxr + q, f32x4.mul(v128.load(Ar + q), one));
          }
        }
      }
      for (; i < W; i++) {
        const xv = ldf(xr, i);
        let t: f32;
        if (pmode == 2) t = <f32>2 * xv;
        else if (pmode == 1) t = 1;
        else t = <f32>(p * <f64>(<f32>cpow(<f64>xv, p - 1)));
        stf(dxr, i, ldf(Ar, i) * t);
      }
    }
  }
}
