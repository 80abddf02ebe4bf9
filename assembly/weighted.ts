// Weighted-window kernels (float32): the softmax windows of SoftPool and LIP, and power-average (LP)
// pooling fused into one pass. Counterparts of src/ops/softmaxWindows.ts and src/ops/lpPool.ts (the
// readable references); geometry as in pool.ts: three axes (A = depth, B = height, C = width), start/end
// per output position, every step 1 (neither method has dilation), and an interior run of output
// columns [cLo, cHi) whose windows have cK taps starting cStride apart, taken 4 at a time by SIMD.
import { exp4, expf32, ldd, ldf, ldi, load4, stf } from "./util";

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
 * y = Σ e^{L}·x / Σ e^{L} over each window (x and L may be the same pointer: SoftPool), float32.
 *
 * Each plane is exponentiated once, relative to the plane's largest logit M (NaN ignored):
 * E = e^{L−M} and EX = E·x into scratch `ex`; then every input row's taps are summed per output
 * column (HE, HEX: the horizontal sums, tap order) and every window adds its rows' sums in row order,
 * 4 output columns at a time — one order of float32 operations used by the SIMD lanes and the scalar
 * path alike, so the result does not depend on the build. `ex` holds 2·inPlane + 2·rows·nC floats.
 * Subtracting M instead of the window's own maximum changes nothing mathematically; a
 * window whose Σ E falls below e^−8 (its logits far below M, where E would lose relative precision or
 * underflow) or is not finite (NaN inside) is recomputed with its own maximum ({@link windowSoftmax}),
 * as is every window of a plane whose M is ±∞ (no finite logit, or +∞ present).
 * NaN anywhere in a window's logits gives NaN, as in the reference.
 */
export function softmaxForward(
  x: usize, L: usize, y: usize, ex: usize, planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32,
): void {
  const HW = H * W;
  const R = W > 0 ? inPlane / W : 0; // input rows of a plane (depth × height)
  const E = ex;
  const EX = ex + ((<usize>inPlane) << 2);
  const HE = EX + ((<usize>inPlane) << 2);
  const HEX = HE + ((<usize>(R * nC)) << 2);
  for (let p = 0; p < planes; p++) {
    const off = (<usize>p * <usize>inPlane) << 2;
    const xp = x + off;
    const lp = L + off;
    // the plane's largest logit, NaN skipped (pmax keeps its first operand unless the second is larger)
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
    const planeOk = M > -Infinity && M < Infinity;
    if (planeOk) {
      i = 0;
      if (ASC_FEATURE_SIMD) {
        const m4 = f32x4.splat(M);
        for (; i + 4 <= inPlane; i += 4) {
          const q = (<usize>i) << 2;
          const e = exp4(f32x4.sub(v128.load(lp + q), m4));
          v128.store(E + q, e);
          v128.store(EX + q, f32x4.mul(e, v128.load(xp + q)));
        }
      }
      for (; i < inPlane; i++) {
        const e = expf32(ldf(lp, i) - M);
        stf(E, i, e);
        stf(EX, i, e * ldf(xp, i));
      }
    }
    if (planeOk) {
      // horizontal sums of E and E·x over each output column's taps, for every input row (in tap order)
      for (let r = 0; r < R; r++) {
        const ro = r * W;
        const ho = r * nC;
        let oc = 0;
        while (oc < nC) {
          if (ASC_FEATURE_SIMD) {
            if (oc >= cLo && oc + 4 <= cHi) {
              const c0 = ro + ldi(cS, oc);
              let h = f32x4.splat(0);
              let hx = f32x4.splat(0);
              for (let k = 0; k < cK; k++) {
                h = f32x4.add(h, load4(E, c0 + k, cStride));
                hx = f32x4.add(hx, load4(EX, c0 + k, cStride));
              }
              v128.store(HE + ((<usize>(ho + oc)) << 2), h);
              v128.store(HEX + ((<usize>(ho + oc)) << 2), hx);
              oc += 4;
              continue;
            }
          }
          const c1 = ro + ldi(cE, oc);
          let h: f32 = 0;
          let hx: f32 = 0;
          for (let ic = ro + ldi(cS, oc); ic < c1; ic++) {
            h += ldf(E, ic);
            hx += ldf(EX, ic);
          }
          stf(HE, ho + oc, h);
          stf(HEX, ho + oc, hx);
          oc++;
        }
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
 * One window of {@link softmaxBackward} with the exponentials e^{L−m} of the window's own maximum m
 * (written to scratch `ex`, one per tap) — the path for windows far below the plane's maximum and
 * planes holding ±∞ or only NaN, the reference's own order. Returns nothing; accumulates into dx, dL.
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
 * The scatter of one window of {@link softmaxBackward} from its sums s = Σ E and sx = Σ E·x (float64):
 * returns false, touching nothing, when s is below e^−8 or not finite (then the caller takes the
 * window's own maximum).
 */
// @ts-ignore: decorator
@inline function scatterWindow(
  xp: usize, dxp: usize, dlp: usize, E: usize, hasDL: i32, g: f64, s: f64, sx: f64, HW: i32, W: i32,
  a0: i32, a1: i32, b0: i32, b1: i32, c0: i32, c1: i32,
): bool {
  if (!(s >= <f64>SUM_MIN && s < Infinity)) return false;
  const yo = sx / s;
  const gs = g / s;
  for (let ia = a0; ia < a1; ia++) {
    for (let ib = b0; ib < b1; ib++) {
      const row = ia * HW + ib * W;
      if (hasDL != 0) {
        for (let j = row + c0; j < row + c1; j++) {
          const gw = gs * <f64>ldf(E, j);
          const xj = <f64>ldf(xp, j);
          stf(dxp, j, <f32>(<f64>ldf(dxp, j) + gw));
          stf(dlp, j, <f32>(<f64>ldf(dlp, j) + gw * (xj - yo)));
        }
      } else {
        for (let j = row + c0; j < row + c1; j++) stf(dxp, j, <f32>(<f64>ldf(dxp, j) + gs * <f64>ldf(E, j)));
      }
    }
  }
  return true;
}

/** One window of {@link softmaxBackward} on a plane with finite maximum: sums of E, then {@link scatterWindow} or the own-maximum path. */
function oneWindow(
  xp: usize, lp: usize, dxp: usize, dlp: usize, hasDL: i32, E: usize, win: usize, g: f64, HW: i32, W: i32,
  a0: i32, a1: i32, b0: i32, b1: i32, c0: i32, c1: i32,
): void {
  let s: f64 = 0;
  let sx: f64 = 0;
  for (let ia = a0; ia < a1; ia++) {
    for (let ib = b0; ib < b1; ib++) {
      const row = ia * HW + ib * W;
      for (let ic = c0; ic < c1; ic++) {
        const e = <f64>ldf(E, row + ic);
        s += e;
        sx += e * <f64>ldf(xp, row + ic);
      }
    }
  }
  if (!scatterWindow(xp, dxp, dlp, E, hasDL, g, s, sx, HW, W, a0, a1, b0, b1, c0, c1)) windowBackward(xp, lp, dxp, dlp, hasDL, win, g, HW, W, a0, a1, b0, b1, c0, c1);
}

/**
 * Backward of {@link softmaxForward}, window by window in the reference's order:
 * dx_i += dy·w_i, dL_i += dy·w_i·(x_i − y) (hasDL = 0: no logit gradient; dL may equal dx, SoftPool's
 * exact gradient, read after dx's update exactly as the reference does).
 *
 * As in the forward pass, each plane is exponentiated once (SIMD where built), E = e^{L−M} relative to
 * the plane's largest logit M, into scratch `ex` (inPlane floats, then room for one window's taps);
 * each window then reads its E — the reference takes one exponential per tap per window, e^{L−m} with
 * the window's maximum m, which is the same up to a common factor that cancels in w = E/Σ E. A window
 * whose Σ E is below e^−8 or not finite (NaN inside), and every window of a plane whose M is ±∞, is
 * done with its own maximum instead ({@link windowBackward}), the reference's way. The window's sums,
 * y and x_i − y are float64, so x_i − y keeps its precision when x is large and the window flat; the
 * exponentials (exp4 and expf32 are bit-identical per lane) make the SIMD and scalar builds agree bit
 * for bit.
 */
export function softmaxBackward(
  x: usize, L: usize, dy: usize, dx: usize, dL: usize, hasDL: i32, ex: usize,
  planes: i32, H: i32, W: i32, inPlane: i32, outPlane: i32,
  aS: usize, aE: usize, nA: i32, bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32,
  cLo: i32, cHi: i32, cStride: i32, cK: i32,
): void {
  const HW = H * W;
  const E = ex;
  const win = ex + ((<usize>inPlane) << 2);
  for (let p = 0; p < planes; p++) {
    const off = (<usize>p * <usize>inPlane) << 2;
    const xp = x + off;
    const lp = L + off;
    const dxp = dx + off;
    const dlp = dL + off;
    const M = planeMax(lp, inPlane);
    const planeOk = M > -Infinity && M < Infinity;
    if (planeOk) {
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        const m4 = f32x4.splat(M);
        for (; i + 4 <= inPlane; i += 4) {
          const q = (<usize>i) << 2;
          v128.store(E + q, exp4(f32x4.sub(v128.load(lp + q), m4)));
        }
      }
      for (; i < inPlane; i++) stf(E, i, expf32(ldf(lp, i) - M));
    }
    let o = p * outPlane;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = ldi(aS, oa);
      const a1 = ldi(aE, oa);
      for (let ob = 0; ob < nB; ob++) {
        const b0 = ldi(bS, ob);
        const b1 = ldi(bE, ob);
        let oc = 0;
        if (ASC_FEATURE_SIMD) {
          if (planeOk && a1 > a0 && b1 > b0) {
            // 4 interior windows' sums at once (float64 lanes, each lane the scalar path's order: rows, then
            // taps), then each window's scatter in column order as the scalar path does
            for (; oc < nC; oc++) {
              if (oc < cLo || oc + 4 > cHi) {
                if (oc >= cLo) break;
                const c0 = ldi(cS, oc);
                const c1 = ldi(cE, oc);
                oneWindow(xp, lp, dxp, dlp, hasDL, E, win, <f64>ldf(dy, o + oc), HW, W, a0, a1, b0, b1, c0, c1);
                continue;
              }
              const c0 = ldi(cS, oc);
              let s01 = f64x2.splat(0);
              let s23 = f64x2.splat(0);
              let x01 = f64x2.splat(0);
              let x23 = f64x2.splat(0);
              for (let ia = a0; ia < a1; ia++) {
                for (let ib = b0; ib < b1; ib++) {
                  const row = ia * HW + ib * W + c0;
                  for (let k = 0; k < cK; k++) {
                    const e = load4(E, row + k, cStride);
                    const xv = load4(xp, row + k, cStride);
                    const elo = f64x2.promote_low_f32x4(e);
                    const ehi = f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1));
                    s01 = f64x2.add(s01, elo);
                    s23 = f64x2.add(s23, ehi);
                    x01 = f64x2.add(x01, f64x2.mul(elo, f64x2.promote_low_f32x4(xv)));
                    x23 = f64x2.add(x23, f64x2.mul(ehi, f64x2.promote_low_f32x4(v128.shuffle<f32>(xv, xv, 2, 3, 0, 1))));
                  }
                }
              }
              for (let l = 0; l < 4; l++) {
                const sl = l == 0 ? f64x2.extract_lane(s01, 0) : l == 1 ? f64x2.extract_lane(s01, 1) : l == 2 ? f64x2.extract_lane(s23, 0) : f64x2.extract_lane(s23, 1);
                const xl = l == 0 ? f64x2.extract_lane(x01, 0) : l == 1 ? f64x2.extract_lane(x01, 1) : l == 2 ? f64x2.extract_lane(x23, 0) : f64x2.extract_lane(x23, 1);
                const cl0 = ldi(cS, oc + l);
                const cl1 = ldi(cE, oc + l);
                const gl = <f64>ldf(dy, o + oc + l);
                if (!scatterWindow(xp, dxp, dlp, E, hasDL, gl, sl, xl, HW, W, a0, a1, b0, b1, cl0, cl1)) {
                  windowBackward(xp, lp, dxp, dlp, hasDL, win, gl, HW, W, a0, a1, b0, b1, cl0, cl1);
                }
              }
              oc += 3;
            }
          }
        }
        o += oc;
        for (; oc < nC; oc++) {
          const c0 = ldi(cS, oc);
          const c1 = ldi(cE, oc);
          const g = <f64>ldf(dy, o);
          o++;
          if (planeOk) oneWindow(xp, lp, dxp, dlp, hasDL, E, win, g, HW, W, a0, a1, b0, b1, c0, c1);
          else windowBackward(xp, lp, dxp, dlp, hasDL, win, g, HW, W, a0, a1, b0, b1, c0, c1);
        }
      }
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
