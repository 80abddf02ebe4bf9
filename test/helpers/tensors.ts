/** Small tensor builders shared by the op tests. */
import { Generator } from "../../src/tensor/random.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import type { FloatDType } from "../../src/tensor/dtype.js";

/** `scale · N(0, 1)` values from a fresh `Generator(seed)`, float64 unless told otherwise. */
export function randomTensor(shape: number[], seed: number, dtype: FloatDType = "float64", scale = 1): Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Array.from({ length: n }, () => scale * g.normal()), shape, dtype);
}

/** A float64 tensor of ones shaped like `t` (a `dy` for ∂Σy/∂x). */
export const onesLike = (t: Tensor): Tensor => tensor(new Float64Array(t.size).fill(1), t.shape, "float64");
