/**
 * Scatter kernels: values written to (forward) or read from (backward) positions given by an index
 * tensor — max unpooling, the inverse of max pooling with indices. Kernels see typed arrays and plan
 * numbers only; planes are contiguous (plane p of x at p·inPlane, of y at p·outPlane).
 */
import type { FloatArray } from "../tensor/dtype.js";

/** y[plane][idx[i]] = x[plane][i] for every pooled element (later writes win, as PyTorch's serial loop); y zero-filled by the caller, indices checked by the op. */
export function unpoolForward(x: FloatArray, idx: Int32Array, y: FloatArray, planes: number, inPlane: number, outPlane: number): void {
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    const yo = p * outPlane;
    for (let i = 0; i < inPlane; i++) y[yo + (idx[xo + i] as number)] = x[xo + i] as number;
  }
}

/** Gather: dx[plane][i] = dy[plane][idx[i]] (PyTorch's derivative of max_unpool). */
export function unpoolBackward(dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, inPlane: number, outPlane: number): void {
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    const yo = p * outPlane;
    for (let i = 0; i < inPlane; i++) dx[xo + i] = dy[yo + (idx[xo + i] as number)] as number;
  }
}
