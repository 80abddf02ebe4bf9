/**
 * Stochastic pooling kernels (Zeiler & Fergus, ICLR 2013; Caffe's StoPoolForwardTrain /
 * StoPoolForwardTest / StoPoolBackward): probability-weighted windows over a {@link WindowPlan}'s
 * axes (Caffe geometry: no padding, overhanging windows clipped). Kernels see typed arrays, the
 * uniform draws and the plan's axes only.
 */
import type { Axes3 } from "../geometry/plan.js";
import type { FloatArray } from "../tensor/dtype.js";

/**
 * Training: per window, τ = u·Σx, then the first tap (row-major) whose running sum is ≥ τ (Caffe's
 * CDF walk). If round-off leaves the running sum below τ at the end, the last tap with x > 0 is
 * taken (Caffe would leave the output stale; docs/methods/stochastic.md, "rounding hole"). An all-zero window has τ = 0
 * and picks its first tap. Writes y and the picked flat in-plane index.
 */
export function stochasticTrainForward(x: FloatArray, u: FloatArray, y: FloatArray, idx: Int32Array, planes: number, axes: Axes3): void {
  const B = axes[1];
  const C = axes[2];
  const W = C.inSize;
  const inPlane = B.inSize * W;
  // Caffe does the walk in the layer's dtype; rounding τ and the running sum to float32 decides
  // boundary cases the same way (docs/methods/stochastic.md: u = 0.1 on [1, 2, 3, 4] picks the first tap).
  const f32 = x instanceof Float32Array;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    for (let ob = 0; ob < B.outSize; ob++) {
      const h0 = B.start[ob] as number;
      const h1 = B.end[ob] as number;
      for (let oc = 0; oc < C.outSize; oc++) {
        const w0 = C.start[oc] as number;
        const w1 = C.end[oc] as number;
        let sum = 0;
        for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            sum += x[xo + ih * W + iw] as number;
            if (f32) sum = Math.fround(sum);
          }
        }
        const tau = f32 ? Math.fround((u[o] as number) * sum) : (u[o] as number) * sum;
        let run = 0;
        let pick = -1;
        let lastPositive = h0 * W + w0;
        search: for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            const v = x[xo + ih * W + iw] as number;
            run = f32 ? Math.fround(run + v) : run + v;
            if (v > 0) lastPositive = ih * W + iw;
            if (run >= tau) {
              pick = ih * W + iw;
              break search;
            }
          }
        }
        if (pick < 0) pick = lastPositive;
        idx[o] = pick;
        y[o] = x[xo + pick] as number;
        o++;
      }
    }
  }
}

/** Eval: y = Σx² / Σx (= Σ p_i x_i); an all-zero window gives 0. */
export function stochasticEvalForward(x: FloatArray, y: FloatArray, sums: Float64Array, planes: number, axes: Axes3): void {
  const B = axes[1];
  const C = axes[2];
  const W = C.inSize;
  const inPlane = B.inSize * W;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    for (let ob = 0; ob < B.outSize; ob++) {
      const h0 = B.start[ob] as number;
      const h1 = B.end[ob] as number;
      for (let oc = 0; oc < C.outSize; oc++) {
        const w0 = C.start[oc] as number;
        const w1 = C.end[oc] as number;
        let s = 0;
        let s2 = 0;
        for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            const v = x[xo + ih * W + iw] as number;
            s += v;
            s2 += v * v;
          }
        }
        sums[o] = s;
        y[o] = s > 0 ? s2 / s : 0;
        o++;
      }
    }
  }
}

/** Eval backward: dx_i += dy·(2x_i − y)/Σx; an all-zero window sends dy to its first tap. */
export function stochasticEvalBackward(dy: FloatArray, x: FloatArray, y: FloatArray, sums: Float64Array, dx: FloatArray, planes: number, axes: Axes3): void {
  const B = axes[1];
  const C = axes[2];
  const W = C.inSize;
  const inPlane = B.inSize * W;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    for (let ob = 0; ob < B.outSize; ob++) {
      const h0 = B.start[ob] as number;
      const h1 = B.end[ob] as number;
      for (let oc = 0; oc < C.outSize; oc++) {
        const w0 = C.start[oc] as number;
        const w1 = C.end[oc] as number;
        const s = sums[o] as number;
        const d = dy[o] as number;
        if (s > 0) {
          const yo = y[o] as number;
          const f = d / s;
          for (let ih = h0; ih < h1; ih++) {
            const row = xo + ih * W;
            for (let iw = w0; iw < w1; iw++) dx[row + iw] = (dx[row + iw] as number) + f * (2 * (x[row + iw] as number) - yo);
          }
        } else {
          const i = xo + h0 * W + w0;
          dx[i] = (dx[i] as number) + d;
        }
        o++;
      }
    }
  }
}
