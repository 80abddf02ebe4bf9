/**
 * poolkit/tfjs frees what it makes: the poolkit copies of tf.Tensor inputs, the core op's outputs,
 * intermediates and gradients are disposed by the adapter — at once without a gradient tape
 * (inference, model.predict), after tfjs took the gradient under one — so poolkit's memory() stays
 * flat over many calls (tfjs users dispose tf.Tensors only, and a synchronous loop never lets the
 * garbage collector's safety net run). Outputs are copied back once.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, type BackendName } from "../../src/backends/index.js";
import { fromCore } from "../../src/tfjs/convert.js";
import { layers, ops, opsWithIndices } from "../../src/tfjs/index.js";
import { memory, tensor } from "../../src/tensor/tensor.js";
import { useBackend } from "./setup.js";

const initial = getBackend();
beforeAll(() => useBackend("cpu"));
afterAll(() => setBackend(initial));

const N = 300;

for (const backend of ["js", "wasm-simd"] as BackendName[]) {
  describe(`poolkit ${backend} backend`, () => {
    const flat = (label: string, call: () => void): void => {
      setBackend(backend);
      for (let i = 0; i < 3; i++) call();
      const before = { ...memory(), tf: tf.memory().numTensors };
      for (let i = 0; i < N; i++) call();
      expect({ ...memory(), tf: tf.memory().numTensors }, label).toEqual(before);
    };

    it(`ops forward, ${N} calls: memory() and tf's tensor count stay flat (channelsLast and channelsFirst)`, () => {
      const x = tf.randomNormal([2, 12, 12, 3], 0, 1, "float32", 1);
      flat("maxPool2d", () => tf.tidy(() => void ops.maxPool2d(x, { kernelSize: 2 })));
      flat("softPool2d channelsFirst", () => tf.tidy(() => void ops.softPool2d(x, { kernelSize: 2, dataFormat: "channelsFirst" })));
      flat("maxPool2dWithIndices", () => tf.tidy(() => void opsWithIndices.maxPool2dWithIndices(x, { kernelSize: 3, stride: 2, padding: 1 })));
      x.dispose();
    });

    it(`ops gradients (tf.grad), ${N} calls: the forward's poolkit tensors are freed once tfjs took the gradient`, () => {
      const x = tf.randomNormal([2, 12, 12, 3], 0, 1, "float32", 2);
      flat("grad softPool2d", () => tf.tidy(() => void tf.grad((t: tf.Tensor) => ops.softPool2d(t, { kernelSize: 2 }).sum())(x)));
      flat("grad maxPool2d", () => tf.tidy(() => void tf.grad((t: tf.Tensor) => ops.maxPool2d(t, { kernelSize: 3, stride: 2, padding: 1 }).square().sum())(x)));
      flat("grad maxPool2dWithIndices", () => tf.tidy(() => void tf.grad((t: tf.Tensor) => opsWithIndices.maxPool2dWithIndices(t, { kernelSize: 2 }).output.sum())(x)));
      x.dispose();
    });

    it("a model with a poolkit layer: fit and predict leave memory() flat", async () => {
      setBackend(backend);
      const model = tf.sequential({
        layers: [tf.layers.inputLayer({ inputShape: [8, 8, 3] }), layers.softPool2d({ poolSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })],
      });
      model.compile({ optimizer: tf.train.sgd(0.01), loss: "meanSquaredError" });
      const xs = tf.randomNormal([8, 8, 8, 3], 0, 1, "float32", 4);
      const ys = tf.randomNormal([8, 2], 0, 1, "float32", 5);
      await model.fit(xs, ys, { epochs: 1, batchSize: 4, verbose: 0 });
      tf.tidy(() => void model.predict(xs));
      const before = memory();
      await model.fit(xs, ys, { epochs: 20, batchSize: 4, verbose: 0 });
      for (let i = 0; i < 50; i++) tf.tidy(() => void model.predict(xs));
      expect(memory()).toEqual(before);
      model.dispose();
      xs.dispose();
      ys.dispose();
    });
  });
}

it("fromCore copies once: a channels-last upload is written straight from poolkit's storage (no intermediate slice), float64 rounded", () => {
  setBackend("js");
  const t = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.1], [1, 3, 2, 2], "float64");
  const slice = Float64Array.prototype.slice;
  const from = Float32Array.from;
  let copies = 0;
  Float64Array.prototype.slice = function (this: Float64Array, ...a: [number?, number?]) {
    copies++;
    return slice.apply(this, a);
  };
  Float32Array.from = ((...a: Parameters<typeof from>) => {
    copies++;
    return from.apply(Float32Array, a);
  }) as typeof from;
  let y: tf.Tensor;
  try {
    y = fromCore(t, true);
  } finally {
    Float64Array.prototype.slice = slice;
    Float32Array.from = from;
  }
  expect(copies).toBe(0);
  expect(y.shape).toEqual([1, 2, 2, 3]);
  expect(Array.from(y.dataSync())).toEqual([1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, Math.fround(12.1)]);
  y.dispose();
  t.dispose();
});
