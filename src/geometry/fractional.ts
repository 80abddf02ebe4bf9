/**
 * PyTorch's fractional max-pooling intervals (aten/src/ATen/native/FractionalMaxPool2d.cpp,
 * generate_intervals): fixed-size windows of length K at pseudo-random starts along an axis of
 * length L pooled to O, with one sample u ∈ [0, 1) per (plane, axis):
 *
 *   alpha = (L − K) / (O − 1);  start[i] = trunc((i + u)·alpha) − trunc(u·alpha)  for i < O − 1;
 *   start[O − 1] = L − K.
 *
 * PyTorch computes this in the input's scalar type; for float32 every step is rounded to float32
 * (`Math.fround`), which changes starts in many configurations (spec §2.2: L=7, O=4, K=2, u=0.8
 * gives [0,1,3,5] in float32 but [0,2,3,5] in float64).
 */
import type { FloatDType } from "../tensor/dtype.js";
import type { Axis } from "./plan.js";

export function fractionalStarts(L: number, O: number, K: number, u: number, dtype: FloatDType): Int32Array {
  const starts = new Int32Array(O);
  if (O > 1) {
    if (dtype === "float32") {
      const f = Math.fround;
      const uf = f(u);
      const alpha = f(f(L - K) / f(O - 1));
      const base = Math.trunc(f(uf * alpha));
      for (let i = 0; i < O - 1; i++) starts[i] = Math.trunc(f(f(i + uf) * alpha)) - base;
    } else {
      const alpha = (L - K) / (O - 1);
      const base = Math.trunc(u * alpha);
      for (let i = 0; i < O - 1; i++) starts[i] = Math.trunc((i + u) * alpha) - base;
    }
  }
  starts[O - 1] = L - K;
  return starts;
}

/** The axis of K-long windows at the given starts. */
export function fractionalAxis(L: number, K: number, starts: Int32Array): Axis {
  const O = starts.length;
  const end = new Int32Array(O);
  const padCount = new Int32Array(O).fill(K);
  for (let i = 0; i < O; i++) end[i] = (starts[i] as number) + K;
  return { inSize: L, outSize: O, start: starts, end, step: 1, padCount };
}
