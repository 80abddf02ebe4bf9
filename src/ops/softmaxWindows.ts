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

/** y[o] = softmax(L over window o) · x over window o. `x` and `L` may be the same array (SoftPool). */
export function softmaxWindowsForward(x: FloatArray, L: FloatArray, y: FloatArray, planes: number, axes: Axes3): void {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const inPlane = A.inSize * H * W;
  const outPlane = A.outSize * B.outSize * C.outSize;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    let o = p * outPlane;
    for (let oa = 0; oa < A.outSize; oa++) {
      const a0 = A.start[oa] as number;
      const a1 = A.end[oa] as number;
      for (let ob = 0; ob < B.outSize; ob++) {
        const b0 = B.start[ob] as number;
        const b1 = B.end[ob] as number;
        for (let oc = 0; oc < C.outSize; oc++) {
          const c0 = C.start[oc] as number;
          const c1 = C.end[oc] as number;
          // Pass 1: the window's largest logit (NaN propagates through the exponentials below).
          let m = -Infinity;
          for (let ia = a0; ia < a1; ia++) {
            for (let ib = b0; ib < b1; ib++) {
              const row = xo + (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic++) {
                const l = L[row + ic] as number;
                if (l > m) m = l;
              }
            }
          }
          // Pass 2: Σ e^{L−m} and Σ e^{L−m}·x; the largest term is 1, so S ≥ 1.
          let s = 0;
          let sx = 0;
          for (let ia = a0; ia < a1; ia++) {
            for (let ib = b0; ib < b1; ib++) {
              const row = xo + (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic++) {
                const e = Math.exp((L[row + ic] as number) - m);
                s += e;
                sx += e * (x[row + ic] as number);
              }
            }
          }
          y[o++] = sx / s;
        }
      }
    }
  }
}

/**
 * Backward of {@link softmaxWindowsForward}, accumulated over overlapping windows, with
 * w_i = e^{L_i} / Σ_R e^{L_j} recomputed exactly as in the forward pass:
 *   dx_i += dy · w_i,     dL_i += dy · w_i · (x_i − y).
 * `dL` may be null (no logit gradient: SoftPool's "official" mode) or the same array as `dx`
 * (SoftPool's exact gradient, w_i·(1 + x_i − y)). `y` is the forward output.
 */
export function softmaxWindowsBackward(
  x: FloatArray,
  L: FloatArray,
  y: FloatArray,
  dy: FloatArray,
  dx: FloatArray,
  dL: FloatArray | null,
  planes: number,
  axes: Axes3,
): void {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const inPlane = A.inSize * H * W;
  const outPlane = A.outSize * B.outSize * C.outSize;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    let o = p * outPlane;
    for (let oa = 0; oa < A.outSize; oa++) {
      const a0 = A.start[oa] as number;
      const a1 = A.end[oa] as number;
      for (let ob = 0; ob < B.outSize; ob++) {
        const b0 = B.start[ob] as number;
        const b1 = B.end[ob] as number;
        for (let oc = 0; oc < C.outSize; oc++) {
          const c0 = C.start[oc] as number;
          const c1 = C.end[oc] as number;
          const g = dy[o] as number;
          const yo = y[o] as number;
          o++;
          let m = -Infinity;
          for (let ia = a0; ia < a1; ia++) {
            for (let ib = b0; ib < b1; ib++) {
              const row = xo + (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic++) {
                const l = L[row + ic] as number;
                if (l > m) m = l;
              }
            }
          }
          let s = 0;
          for (let ia = a0; ia < a1; ia++) {
            for (let ib = b0; ib < b1; ib++) {
              const row = xo + (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic++) s += Math.exp((L[row + ic] as number) - m);
            }
          }
          const gs = g / s;
          for (let ia = a0; ia < a1; ia++) {
            for (let ib = b0; ib < b1; ib++) {
              const row = xo + (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic++) {
                const j = row + ic;
                const gw = gs * Math.exp((L[j] as number) - m);
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
