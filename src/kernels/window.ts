/**
 * Shared window kernels over a {@link WindowPlan}'s axes: max (with flat in-plane indices) and
 * average, forward and backward. Used by max/avg pooling, adaptive pooling, fractional max pooling,
 * mixed pooling, S3Pool and spatial pyramid pooling. Kernels see typed arrays and the plan's axes
 * only — never option objects — so a SIMD kernel can replace any of them per dtype.
 *
 * Planes are contiguous: plane p of x starts at p·inPlane, of y at p·outPlane.
 */
import type { FloatArray } from "../tensor/dtype.js";
import type { Axes3 } from "../geometry/plan.js";

/**
 * y = max over each window; idx = flat in-plane index (d·H·W + h·W + w) of the maximum.
 * PyTorch rules (cpu/MaxPoolKernel.cpp): replace when `v > best || isNaN(v)` scanning d, h, w in
 * order, so ties go to the first maximum, NaN propagates and the last NaN's index wins. An empty
 * window (possible only with dilation) gives −∞ and the index of its first tap on the grid, as PyTorch.
 */
export function maxWindowsForward(x: FloatArray, y: FloatArray, idx: Int32Array, planes: number, axes: Axes3): void {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const inPlane = A.inSize * H * W;
  const outPlane = A.outSize * B.outSize * C.outSize;
  const sa = A.step;
  const sb = B.step;
  const sc = C.step;
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
          let best = -Infinity;
          let bi = (a0 * H + b0) * W + c0;
          for (let ia = a0; ia < a1; ia += sa) {
            for (let ib = b0; ib < b1; ib += sb) {
              const row = (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic += sc) {
                const v = x[xo + row + ic] as number;
                if (v > best || v !== v) {
                  best = v;
                  bi = row + ic;
                }
              }
            }
          }
          y[o] = best;
          idx[o] = bi;
          o++;
        }
      }
    }
  }
}

/** dx[plane][idx] += dy for every output (accumulates over overlapping windows; skips empty windows' out-of-plane indices). */
export function maxWindowsBackward(dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, inPlane: number, outPlane: number): void {
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    const yo = p * outPlane;
    for (let o = 0; o < outPlane; o++) {
      const i = idx[yo + o] as number;
      if (i >= 0 && i < inPlane) dx[xo + i] = (dx[xo + i] as number) + (dy[yo + o] as number);
    }
  }
}

/**
 * Per-output-position divisors for average pooling (PyTorch cpu/AvgPoolKernel.cpp):
 * `divisorOverride` if given; else with `countIncludePad` the window clipped at In + p (padCount),
 * else the number of in-bounds elements. Length = outPlane; shared by forward and backward.
 */
export function avgDivisors(axes: Axes3, countIncludePad: boolean, divisorOverride?: number): Float64Array {
  const [A, B, C] = axes;
  const out = new Float64Array(A.outSize * B.outSize * C.outSize);
  let o = 0;
  for (let oa = 0; oa < A.outSize; oa++) {
    for (let ob = 0; ob < B.outSize; ob++) {
      for (let oc = 0; oc < C.outSize; oc++) {
        if (divisorOverride !== undefined) out[o] = divisorOverride;
        else if (countIncludePad) out[o] = (A.padCount[oa] as number) * (B.padCount[ob] as number) * (C.padCount[oc] as number);
        else {
          const na = Math.ceil(((A.end[oa] as number) - (A.start[oa] as number)) / A.step);
          const nb = Math.ceil(((B.end[ob] as number) - (B.start[ob] as number)) / B.step);
          const nc = Math.ceil(((C.end[oc] as number) - (C.start[oc] as number)) / C.step);
          out[o] = Math.max(na, 0) * Math.max(nb, 0) * Math.max(nc, 0);
        }
        o++;
      }
    }
  }
  return out;
}

/** y = (sum over each window) / divisor[o]; an empty window gives 0. */
export function avgWindowsForward(x: FloatArray, y: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const inPlane = A.inSize * H * W;
  const outPlane = A.outSize * B.outSize * C.outSize;
  const sa = A.step;
  const sb = B.step;
  const sc = C.step;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    let o = p * outPlane;
    let k = 0;
    for (let oa = 0; oa < A.outSize; oa++) {
      const a0 = A.start[oa] as number;
      const a1 = A.end[oa] as number;
      for (let ob = 0; ob < B.outSize; ob++) {
        const b0 = B.start[ob] as number;
        const b1 = B.end[ob] as number;
        for (let oc = 0; oc < C.outSize; oc++) {
          const c0 = C.start[oc] as number;
          const c1 = C.end[oc] as number;
          let sum = 0;
          let any = false;
          for (let ia = a0; ia < a1; ia += sa) {
            for (let ib = b0; ib < b1; ib += sb) {
              const row = xo + (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic += sc) {
                sum += x[row + ic] as number;
                any = true;
              }
            }
          }
          y[o] = any ? sum / (divisor[k] as number) : 0;
          o++;
          k++;
        }
      }
    }
  }
}

/** dx[window] += dy / divisor[o], accumulated over overlapping windows. */
export function avgWindowsBackward(dy: FloatArray, dx: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const inPlane = A.inSize * H * W;
  const outPlane = A.outSize * B.outSize * C.outSize;
  const sa = A.step;
  const sb = B.step;
  const sc = C.step;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    let o = p * outPlane;
    let k = 0;
    for (let oa = 0; oa < A.outSize; oa++) {
      const a0 = A.start[oa] as number;
      const a1 = A.end[oa] as number;
      for (let ob = 0; ob < B.outSize; ob++) {
        const b0 = B.start[ob] as number;
        const b1 = B.end[ob] as number;
        for (let oc = 0; oc < C.outSize; oc++) {
          const c0 = C.start[oc] as number;
          const c1 = C.end[oc] as number;
          const g = (dy[o] as number) / (divisor[k] as number);
          for (let ia = a0; ia < a1; ia += sa) {
            for (let ib = b0; ib < b1; ib += sb) {
              const row = xo + (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic += sc) dx[row + ic] = (dx[row + ic] as number) + g;
            }
          }
          o++;
          k++;
        }
      }
    }
  }
}
