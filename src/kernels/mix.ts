/**
 * Mixing kernels: mixed pooling's blend of a max and an average map, and the gated and tree pooling
 * kernels of Lee, Gallagher & Tu (AISTATS 2016) over Caffe windows (2-d: axes[1] = height,
 * axes[2] = width). Kernels see typed arrays, learned masks and plan numbers only.
 */
import type { Axes3 } from "../geometry/plan.js";
import type { FloatArray } from "../tensor/dtype.js";

/**
 * y = w·max + (1 − w)·avg per output element. w ∈ {0, 1} selects (so the output is exactly the max or
 * the average, even when the other branch is ±∞/NaN); other w blend.
 */
export function mixForward(mx: FloatArray, av: FloatArray, w: Float64Array, y: FloatArray): void {
  for (let i = 0; i < y.length; i++) {
    const a = w[i] as number;
    y[i] = a === 1 ? (mx[i] as number) : a === 0 ? (av[i] as number) : a * (mx[i] as number) + (1 - a) * (av[i] as number);
  }
}

/**
 * Gated max-avg forward: z = ωᵀx_R, g = σ(z), y = g·M + (1 − g)·A. Saves g, the first argmax (flat
 * in-plane index) and M − A per output for backward.
 */
export function gatedForward(
  x: FloatArray, omega: FloatArray, y: FloatArray, gate: Float64Array, idx: Int32Array, diff: Float64Array,
  planes: number, channels: number, perChannel: boolean, axes: Axes3, kW: number, kk: number,
): void {
  const B = axes[1];
  const C = axes[2];
  const W = C.inSize;
  const inPlane = B.inSize * W;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    const wo = perChannel ? (p % channels) * kk : 0;
    for (let ob = 0; ob < B.outSize; ob++) {
      const h0 = B.start[ob] as number;
      const h1 = B.end[ob] as number;
      for (let oc = 0; oc < C.outSize; oc++) {
        const w0 = C.start[oc] as number;
        const w1 = C.end[oc] as number;
        let best = -Infinity;
        let bi = h0 * W + w0;
        let sum = 0;
        let z = 0;
        for (let ih = h0; ih < h1; ih++) {
          const row = ih * W;
          const mrow = wo + (ih - h0) * kW - w0;
          for (let iw = w0; iw < w1; iw++) {
            const v = x[xo + row + iw] as number;
            if (v > best || v !== v) {
              best = v;
              bi = row + iw;
            }
            sum += v;
            z += (omega[mrow + iw] as number) * v;
          }
        }
        const avg = sum / ((h1 - h0) * (w1 - w0));
        const g = sigmoid(z);
        y[o] = g * best + (1 - g) * avg;
        gate[o] = g;
        idx[o] = bi;
        diff[o] = best - avg;
        o++;
      }
    }
  }
}

/**
 * Gated backward (docs/methods/mixed.md): dx_i += c·ω_i + dy(1 − g)/n_valid, dx_argmax += dy·g, dω_i += c·x_i,
 * with c = dy·g(1 − g)(M − A). The max gradient goes to the first maximum only (PyTorch convention;
 * the official kernel sends it to every tied maximum).
 */
export function gatedBackward(
  dy: FloatArray, x: FloatArray, omega: FloatArray, gate: Float64Array, idx: Int32Array, diff: Float64Array,
  dx: FloatArray, dOmega: Float64Array, planes: number, channels: number, perChannel: boolean, axes: Axes3, kW: number, kk: number,
): void {
  const B = axes[1];
  const C = axes[2];
  const W = C.inSize;
  const inPlane = B.inSize * W;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    const wo = perChannel ? (p % channels) * kk : 0;
    for (let ob = 0; ob < B.outSize; ob++) {
      const h0 = B.start[ob] as number;
      const h1 = B.end[ob] as number;
      for (let oc = 0; oc < C.outSize; oc++) {
        const w0 = C.start[oc] as number;
        const w1 = C.end[oc] as number;
        const d = dy[o] as number;
        const g = gate[o] as number;
        const c = d * g * (1 - g) * (diff[o] as number);
        const ca = (d * (1 - g)) / ((h1 - h0) * (w1 - w0));
        for (let ih = h0; ih < h1; ih++) {
          const row = xo + ih * W;
          const mrow = wo + (ih - h0) * kW - w0;
          for (let iw = w0; iw < w1; iw++) {
            dx[row + iw] = (dx[row + iw] as number) + c * (omega[mrow + iw] as number) + ca;
            dOmega[mrow + iw] = (dOmega[mrow + iw] as number) + c * (x[row + iw] as number);
          }
        }
        const i = xo + (idx[o] as number);
        dx[i] = (dx[i] as number) + d * g;
        o++;
      }
    }
  }
}

/** Tree forward: L1 = v1ᵀx_R, L2 = v2ᵀx_R, g = σ(ωᵀx_R), y = g·L1 + (1 − g)·L2; saves g and L1 − L2. */
export function treeForward(
  x: FloatArray, v1: FloatArray, v2: FloatArray, omega: FloatArray, y: FloatArray, gate: Float64Array, diff: Float64Array,
  planes: number, channels: number, perChannel: boolean, axes: Axes3, kW: number, kk: number,
): void {
  const B = axes[1];
  const C = axes[2];
  const W = C.inSize;
  const inPlane = B.inSize * W;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    const wo = perChannel ? (p % channels) * kk : 0;
    for (let ob = 0; ob < B.outSize; ob++) {
      const h0 = B.start[ob] as number;
      const h1 = B.end[ob] as number;
      for (let oc = 0; oc < C.outSize; oc++) {
        const w0 = C.start[oc] as number;
        const w1 = C.end[oc] as number;
        let l1 = 0;
        let l2 = 0;
        let z = 0;
        for (let ih = h0; ih < h1; ih++) {
          const row = xo + ih * W;
          const mrow = wo + (ih - h0) * kW - w0;
          for (let iw = w0; iw < w1; iw++) {
            const v = x[row + iw] as number;
            l1 += (v1[mrow + iw] as number) * v;
            l2 += (v2[mrow + iw] as number) * v;
            z += (omega[mrow + iw] as number) * v;
          }
        }
        const g = sigmoid(z);
        y[o] = g * l1 + (1 - g) * l2;
        gate[o] = g;
        diff[o] = l1 - l2;
        o++;
      }
    }
  }
}

/**
 * Tree backward (docs/methods/mixed.md): with a = dy·g, b = dy(1 − g), c = dy·g(1 − g)(L1 − L2):
 * dx_i += a·v1_i + b·v2_i + c·ω_i; dv1_i += a·x_i; dv2_i += b·x_i; dω_i += c·x_i.
 */
export function treeBackward(
  dy: FloatArray, x: FloatArray, v1: FloatArray, v2: FloatArray, omega: FloatArray, gate: Float64Array, diff: Float64Array,
  dx: FloatArray, dv1: Float64Array, dv2: Float64Array, dOmega: Float64Array,
  planes: number, channels: number, perChannel: boolean, axes: Axes3, kW: number, kk: number,
): void {
  const B = axes[1];
  const C = axes[2];
  const W = C.inSize;
  const inPlane = B.inSize * W;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    const wo = perChannel ? (p % channels) * kk : 0;
    for (let ob = 0; ob < B.outSize; ob++) {
      const h0 = B.start[ob] as number;
      const h1 = B.end[ob] as number;
      for (let oc = 0; oc < C.outSize; oc++) {
        const w0 = C.start[oc] as number;
        const w1 = C.end[oc] as number;
        const d = dy[o] as number;
        const g = gate[o] as number;
        const a = d * g;
        const b = d - a;
        const c = a * (1 - g) * (diff[o] as number);
        for (let ih = h0; ih < h1; ih++) {
          const row = xo + ih * W;
          const mrow = wo + (ih - h0) * kW - w0;
          for (let iw = w0; iw < w1; iw++) {
            const m = mrow + iw;
            const v = x[row + iw] as number;
            dx[row + iw] = (dx[row + iw] as number) + a * (v1[m] as number) + b * (v2[m] as number) + c * (omega[m] as number);
            dv1[m] = (dv1[m] as number) + a * v;
            dv2[m] = (dv2[m] as number) + b * v;
            dOmega[m] = (dOmega[m] as number) + c * v;
          }
        }
        o++;
      }
    }
  }
}

/** Numerically stable logistic sigmoid (branch on the sign so exp never overflows). */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}
