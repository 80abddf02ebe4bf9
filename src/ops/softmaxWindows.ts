/**
 * Softmax-weighted window kernels shared by SoftPool (logits = x) and LIP (logits from a module):
 *
 *   y = Σ_{i∈R} e^{L_i} x_i / Σ_{i∈R} e^{L_i}
 *
 * over each window R of a {@link WindowPlan}'s axes. The plan's windows are already clipped to the
 * real input, so padded positions never take part (LIP's ratio of zero-padded average pools, whose
 * divisors cancel, gives exactly this). The exponentials are taken relative to the window's largest
 * logit, `e^{L_i − max_R L}`, which changes nothing mathematically but never overflows (logits of
 * 1000) and never underflows to 0/0 (windows of −1000).
 *
 * Kernels see typed arrays and the plan's axes only, never option objects. The plans they get come
 * from SoftPool/LIP options, which have no dilation, so every axis step is 1 (asserted by the ops'
 * option lists: `dilation` is not accepted).
 */
import type { FloatArray } from "../tensor/dtype.js";
import type { Axes3 } from "../geometry/plan.js";
import { allocArray } from "../tensor/alloc.js";

/** y[o] = softmax(L over window o) · x over window o. `x` and `L` may be the same array (SoftPool). */
export function softmaxWindowsForward(x: FloatArray, L: FloatArray, y: FloatArray, planes: number, axes: Axes3): void {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const HW = H * W;
  const inPlane = A.inSize * HW;
  const outPlane = A.outSize * B.outSize * C.outSize;
  const nA = A.outSize;
  const nB = B.outSize;
  const nC = C.outSize;
  const aS = A.start;
  const aE = A.end;
  const bS = B.start;
  const bE = B.end;
  const cS = C.start;
  const cE = C.end;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    let o = p * outPlane;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = aS[oa] as number;
      const na = (aE[oa] as number) - a0;
      for (let ob = 0; ob < nB; ob++) {
        const b0 = bS[ob] as number;
        const nb = (bE[ob] as number) - b0;
        const rowBase = xo + (a0 * H + b0) * W;
        for (let oc = 0; oc < nC; oc++) {
          const c0 = cS[oc] as number;
          const nc = (cE[oc] as number) - c0;
          const r = rowBase + c0; // the window's first tap
          // Pass 1: the window's largest logit (NaN propagates through the exponentials below).
          let m = -Infinity;
          for (let ia = 0; ia < na; ia++) {
            for (let ib = 0; ib < nb; ib++) {
              const q = r + ia * HW + ib * W;
              for (let ic = 0; ic < nc; ic++) {
                const l = L[q + ic] as number;
                if (l > m) m = l;
              }
            }
          }
          // Pass 2: Σ e^{L−m} and Σ e^{L−m}·x; the largest term is 1, so S ≥ 1.
          let s = 0;
          let sx = 0;
          for (let ia = 0; ia < na; ia++) {
            for (let ib = 0; ib < nb; ib++) {
              const q = r + ia * HW + ib * W;
              for (let ic = 0; ic < nc; ic++) {
                const e = Math.exp((L[q + ic] as number) - m);
                s += e;
                sx += e * (x[q + ic] as number);
              }
            }
          }
          y[o++] = sx / s;
        }
      }
    }
  }
}

/** The largest number of taps in one window of the plan (scratch size for the backward pass). */
function maxTaps(axes: Axes3): number {
  let n = 1;
  for (const a of axes) {
    let m = 0;
    for (let o = 0; o < a.outSize; o++) m = Math.max(m, (a.end[o] as number) - (a.start[o] as number));
    n *= m;
  }
  return n;
}

/**
 * Backward of {@link softmaxWindowsForward}, accumulated over overlapping windows, with
 * w_i = e^{L_i} / Σ_R e^{L_j} recomputed exactly as in the forward pass:
 *   dx_i += dy · w_i,     dL_i += dy · w_i · (x_i − y).
 * `dL` may be null (no logit gradient: SoftPool's "official" mode) or the same array as `dx`
 * (SoftPool's exact gradient, w_i·(1 + x_i − y)). `y` is the forward output; the kernel recomputes
 * each window's y in float64 instead of reading it, so x_i − y is not spoiled by y's rounding to
 * float32 (the parameter stays for the kernel signature). Each window's
 * e^{L−m} are kept in a scratch array between the sum and the scatter (one exp per tap, not two;
 * the same values, since L is never written here).
 */
export function softmaxWindowsBackward(
  x: FloatArray,
  L: FloatArray,
  _y: FloatArray,
  dy: FloatArray,
  dx: FloatArray,
  dL: FloatArray | null,
  planes: number,
  axes: Axes3,
): void {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const HW = H * W;
  const inPlane = A.inSize * HW;
  const outPlane = A.outSize * B.outSize * C.outSize;
  const nA = A.outSize;
  const nB = B.outSize;
  const nC = C.outSize;
  const aS = A.start;
  const aE = A.end;
  const bS = B.start;
  const bE = B.end;
  const cS = C.start;
  const cE = C.end;
  const ex = allocArray("float64", maxTaps(axes));
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    let o = p * outPlane;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = aS[oa] as number;
      const na = (aE[oa] as number) - a0;
      for (let ob = 0; ob < nB; ob++) {
        const b0 = bS[ob] as number;
        const nb = (bE[ob] as number) - b0;
        const rowBase = xo + (a0 * H + b0) * W;
        for (let oc = 0; oc < nC; oc++) {
          const c0 = cS[oc] as number;
          const nc = (cE[oc] as number) - c0;
          const r = rowBase + c0; // the window's first tap
          const g = dy[o] as number;
          o++;
          let m = -Infinity;
          for (let ia = 0; ia < na; ia++) {
            for (let ib = 0; ib < nb; ib++) {
              const q = r + ia * HW + ib * W;
              for (let ic = 0; ic < nc; ic++) {
                const l = L[q + ic] as number;
                if (l > m) m = l;
              }
            }
          }
          let s = 0;
          let sx = 0;
          let t = 0;
          for (let ia = 0; ia < na; ia++) {
            for (let ib = 0; ib < nb; ib++) {
              const q = r + ia * HW + ib * W;
              for (let ic = 0; ic < nc; ic++) {
                const e = Math.exp((L[q + ic] as number) - m);
                ex[t++] = e;
                s += e;
                sx += e * (x[q + ic] as number);
              }
            }
          }
          // The window's y in float64 (the forward's value before rounding to the dtype): x_i − y with
          // a float32-rounded y is off by up to ulp(y), e.g. 0 instead of 4.5e-4 for [1e4, 9990, ...].
          const yo = sx / s;
          const gs = g / s;
          t = 0;
          for (let ia = 0; ia < na; ia++) {
            for (let ib = 0; ib < nb; ib++) {
              const q = r + ia * HW + ib * W;
              for (let ic = 0; ic < nc; ic++) {
                const j = q + ic;
                const gw = gs * (ex[t++] as number);
                // Read x before writing dx: for SoftPool dL aliases dx, never x.
                const xj = x[j] as number;
                dx[j] = (dx[j] as number) + gw;
                if (dL !== null) dL[j] = (dL[j] as number) + gw * (xj - yo);
              }
            }
          }
        }
      }
    }
  }
}
