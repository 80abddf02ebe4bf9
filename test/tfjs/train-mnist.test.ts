/**
 * The training example on a reduced setting: a few hundred real MNIST digits, one epoch, with poolkit
 * layers (SoftPool; max pooling through poolkit for comparison) — test accuracy must be clearly above chance
 * (10%). (LIP's logit convolution is too slow on TensorFlow.js's cpu backend for CI at this size; the
 * LIP layer trains in layers.test.ts.)
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, expect, it } from "vitest";
import { runExperiment } from "../../examples/train-mnist.js";
import { useBackend } from "./setup.js";

beforeAll(() => useBackend("cpu"));

// SoftPool; DynOPool also exercises the example's adaptive head, as its learned ratio moves its output size.
for (const method of ["soft", "dynopool"]) {
  it(`train-mnist: ${method} reaches well above chance on 400 digits in one epoch`, async () => {
    const r = await runExperiment({ method, train: 400, test: 300, epochs: 1, batch: 16, lr: 0.01, seed: 1 });
    expect(Number.isFinite(r.finalLoss)).toBe(true);
    expect(r.testAccuracy, `test accuracy ${r.testAccuracy}`).toBeGreaterThan(0.4);
    expect(r.params).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBeLessThan(100);
  });
}
