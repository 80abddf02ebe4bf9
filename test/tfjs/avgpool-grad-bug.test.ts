/**
 * TensorFlow.js's average-pool gradient ignores padding and ceil rounding: its backward re-derives the
 * window geometry from attributes that drop `dimRoundingMode` and treats every window as full, so with
 * `'same'` padding (or `dimRoundingMode: 'ceil'`) the gradient of a clipped window is spread with the
 * wrong divisor. poolkit's op routes the backward through the forward's own plan. Finite differences of
 * the (correct) forward pass are the judge.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { ops } from "../../src/tfjs/index.js";
import { useBackend } from "./setup.js";

beforeAll(() => useBackend("cpu"));

/** Central differences of sum(w · f(x)) (avg pooling is linear, so this is exact up to rounding). */
function finiteDifferences(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, w: tf.Tensor, eps = 0.5): Float32Array {
  const base = x.dataSync();
  const out = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const plus = Float32Array.from(base);
    const minus = Float32Array.from(base);
    plus[i] = (plus[i] as number) + eps;
    minus[i] = (minus[i] as number) - eps;
    const lp = tf.tidy(() => tf.sum(tf.mul(f(tf.tensor(plus, x.shape)), w)).dataSync()[0] as number);
    const lm = tf.tidy(() => tf.sum(tf.mul(f(tf.tensor(minus, x.shape)), w)).dataSync()[0] as number);
    out[i] = (lp - lm) / (2 * eps);
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

const input = (): tf.Tensor4D => tf.tensor4d(Array.from({ length: 25 }, (_, i) => (i * 7) % 11), [1, 5, 5, 1]);

describe("tf.avgPool's gradient bug, and poolkit's avgPool2d on the same input", () => {
  const cases = [
    {
      label: "'same' padding, 5×5 input, pool 2, stride 2",
      tfjs: (t: tf.Tensor) => tf.avgPool(t as tf.Tensor4D, 2, 2, "same"),
      // TensorFlow's 'same' here: output 3×3, no padding at the top/left, one padded row/column at the
      // bottom/right, not counted in the average — PyTorch's ceil mode with countIncludePad false.
      poolkit: (t: tf.Tensor) => ops.avgPool2d(t, { kernelSize: 2, stride: 2, ceilMode: true, countIncludePad: false }),
    },
    {
      label: "dimRoundingMode 'ceil', 5×5 input, pool 2, stride 2, no padding",
      tfjs: (t: tf.Tensor) => tf.avgPool(t as tf.Tensor4D, 2, 2, 0, "ceil"),
      poolkit: (t: tf.Tensor) => ops.avgPool2d(t, { kernelSize: 2, stride: 2, ceilMode: true, countIncludePad: false }),
    },
  ];
  for (const c of cases) {
    it(c.label, () => {
      const x = input();
      const yTf = c.tfjs(x);
      const yPk = c.poolkit(x);
      // The forward passes agree: TensorFlow.js's forward is right.
      expect(yPk.shape).toEqual(yTf.shape);
      expect(maxAbsDiff(yPk.dataSync(), yTf.dataSync())).toBeLessThan(1e-6);
      const w = tf.tensor(Array.from({ length: yTf.size }, (_, i) => 1 + i), yTf.shape);
      const fd = finiteDifferences(c.tfjs, x, w);
      const gTf = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(c.tfjs(t), w)))(x).dataSync();
      const gPk = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(c.poolkit(t), w)))(x).dataSync();
      // TensorFlow.js's gradient is wrong near the clipped windows; poolkit's matches finite differences.
      expect(maxAbsDiff(gTf, fd), "tf.avgPool gradient vs finite differences").toBeGreaterThan(1);
      expect(maxAbsDiff(gPk, fd), "poolkit gradient vs finite differences").toBeLessThan(1e-3);
    });
  }
});
