/**
 * Scatter kernels: values written to (forward) or read from (backward) positions given by an index
 * tensor — max unpooling, the inverse of max pooling with indices, and max pooling's backward into a
 * fresh gradient. Kernels see typed arrays and plan numbers only; planes are contiguous (plane p of x
 * at p·inPlane, of y at p·outPlane).
 */
import type { Axes3 } from "../geometry/plan.js";
import type { FloatArray } from "../tensor/dtype.js";
import { allocArray } from "../tensor/alloc.js";
import { avgWindowsBackward, maxWindowsBackward } from "./window.js";

/**
 * Max pooling's backward into a gradient that need not be zeroed: dx = 0, then
 * dx[plane][idx[o]] += dy[o] in output order (out-of-plane indices skipped), as
 * {@link maxWindowsBackward}. `axes` are the forward's windows (`idx` came from them); a backend may
 * use them to write dx in one pass where no two windows share an element.
 */
export function maxWindowsBackwardWrite(dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, axes: Axes3): void {
  const [A, B, C] = axes;
  dx.fill(0);
  maxWindowsBackward(dy, idx, dx, planes, A.inSize * B.inSize * C.inSize, A.outSize * B.outSize * C.outSize);
}

/**
 * {@link maxWindowsBackwardWrite} where the windows differ per plane (fractional max pooling) or are
 * not at hand: dx = 0, then dx[plane][idx[o]] += dy[o] in output order (out-of-plane indices
 * skipped); dx's contents on entry are ignored.
 */
export function maxWindowsScatterWrite(dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, inPlane: number, outPlane: number): void {
  dx.fill(0);
  maxWindowsBackward(dy, idx, dx, planes, inPlane, outPlane);
}

/**
 * Mixed pooling's backward, split into its branches: dMax = w·dy and dAvg = (1 − w)·dy in float64,
 * rounded to dy's dtype, with w = 1 or 0 selecting exactly (dy itself, and 0 for the other branch).
 */
export function mixBackwardSplit(dy: FloatArray, w: Float64Array, dMax: FloatArray, dAvg: FloatArray): void {
  const n = dy.length;
  for (let i = 0; i < n; i++) {
    const a = w[i] as number;
    const v = dy[i] as number;
    dMax[i] = a === 1 ? v : a === 0 ? 0 : a * v;
    dAvg[i] = a === 1 ? 0 : a === 0 ? v : (1 - a) * v;
  }
}

/**
 * Mixed pooling's backward, dx written (its contents on entry ignored): with the max-branch weight w
 * (one per plane when `w.length` is `planes`, else one per output element), dx = maxBackward(w·dy) +
 * avgBackward((1 − w)·dy) over the windows of `axes` — {@link mixBackwardSplit}, then
 * {@link maxWindowsBackwardWrite} (dx = 0 and the scatter by the forward's first-argmax `idx`), then
 * {@link avgWindowsBackward} adding dAvg / divisor[o] over each window.
 */
export function mixWindowsBackward(dy: FloatArray, w: Float64Array, idx: Int32Array, dx: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void {
  const n = dy.length;
  const outPlane = planes === 0 ? 0 : n / planes;
  let wo = w;
  if (w.length !== n) {
    wo = allocArray("float64", n);
    for (let p = 0; p < planes; p++) wo.fill(w[p] as number, p * outPlane, (p + 1) * outPlane);
  }
  const f32 = dy instanceof Float32Array;
  const dMax = allocArray(f32 ? "float32" : "float64", n);
  const dAvg = allocArray(f32 ? "float32" : "float64", n);
  mixBackwardSplit(dy, wo, dMax, dAvg);
  maxWindowsBackwardWrite(dMax, idx, dx, planes, axes);
  avgWindowsBackward(dAvg, dx, planes, axes, divisor);
}

/**
 * y = 0, then y[plane][idx[i]] = x[plane][i] for every pooled element in order (later writes win, as
 * PyTorch's serial loop); y's contents on entry ignored. Returns the flat position (plane·inPlane + i)
 * of the first index outside [0, outPlane) — the scatter stops there and the op reports it, returning
 * no output — or −1.
 */
export function unpoolForward(x: FloatArray, idx: Int32Array, y: FloatArray, planes: number, inPlane: number, outPlane: number): number {
  y.fill(0);
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    const yo = p * outPlane;
    for (let i = 0; i < inPlane; i++) {
      const j = idx[xo + i] as number;
      if (j < 0 || j >= outPlane) return xo + i;
      y[yo + j] = x[xo + i] as number;
    }
  }
  return -1;
}

/** Gather: dx[plane][i] = dy[plane][idx[i]] (PyTorch's derivative of max_unpool). */
export function unpoolBackward(dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, inPlane: number, outPlane: number): void {
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    const yo = p * outPlane;
    for (let i = 0; i < inPlane; i++) dx[xo + i] = dy[yo + (idx[xo + i] as number)] as number;
  }
}
