/**
 * exportModel on TensorFlow.js's own layers: every supported layer type in a small model with seeded
 * random weights, exported and run in onnxruntime-node, compared with tfjs's `predict` on the same
 * inputs (within 1e-5 relative + 1e-5 absolute; max pooling bit-identical). The reference is
 * TensorFlow.js itself.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { exportModel } from "../../src/onnx/index.js";
import { ACTIVATIONS } from "../../src/onnx/modelLayers.js";
import { useBackend } from "../tfjs/setup.js";
import { compareModel, normals, opTypes, runExported, seedWeights } from "./modelHelpers.js";

beforeAll(() => useBackend("cpu"));

let seed = 100;
/** A Sequential model of `layers` on input `[N, ...shape]`, seeded, compared on seeded normals. */
async function seq(shape: number[], layers: tf.layers.Layer[], o: { batch?: number; exact?: boolean; x?: tf.Tensor } = {}): Promise<Uint8Array> {
  const input = tf.input({ shape });
  let y: tf.SymbolicTensor = input;
  for (const l of layers) y = l.apply(y) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: y });
  seedWeights(model, seed++);
  const x = o.x ?? normals([o.batch ?? 2, ...shape], seed++);
  return compareModel(model, [x], { exact: o.exact ?? false });
}

describe("convolutions", () => {
  it("conv2d: valid / same, strides 1–3, rectangular kernels, dilation, odd sizes, bias or not", async () => {
    for (const padding of ["valid", "same"] as const) {
      for (const strides of [1, 2, 3]) {
        for (const kernelSize of [3, [2, 4]] as (number | number[])[]) {
          await seq([7, 9, 2], [tf.layers.conv2d({ filters: 3, kernelSize, strides, padding, activation: "relu" })]);
        }
      }
      await seq([9, 8, 2], [tf.layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, padding, useBias: false })]);
    }
  });

  it("conv1d (valid, same, dilation) and conv3d; causal padding (which tfjs does not implement) is an error", async () => {
    for (const padding of ["valid", "same"] as const) {
      for (const dilationRate of [1, 2]) await seq([11, 3], [tf.layers.conv1d({ filters: 4, kernelSize: 3, padding, dilationRate })]);
    }
    const causal = tf.sequential({ layers: [tf.layers.conv1d({ inputShape: [11, 3], filters: 1, kernelSize: 3, padding: "causal", name: "c" })] });
    expect(() => exportModel(causal)).toThrow(/exportModel: layer "c" \(Conv1D\): padding "causal" is not implemented by TensorFlow.js itself/);
    await seq([11, 3], [tf.layers.conv1d({ filters: 2, kernelSize: 4, strides: 3, padding: "same" })]);
    await seq([5, 6, 7, 2], [tf.layers.conv3d({ filters: 3, kernelSize: [2, 3, 3], strides: [1, 2, 2], padding: "same" })]);
  });

  it("depthwiseConv2d with depth multipliers 1 and 3, strides, same and valid", async () => {
    for (const depthMultiplier of [1, 3]) {
      for (const [padding, strides] of [["valid", 1], ["same", 2], ["same", 3]] as const) {
        await seq([8, 7, 3], [tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier, padding, strides })]);
      }
    }
  });

  it("separableConv2d: depth multiplier 2, same with stride 2, dilation, activation", async () => {
    await seq([9, 9, 3], [tf.layers.separableConv2d({ filters: 4, kernelSize: 3, depthMultiplier: 2, padding: "same", strides: 2, activation: "tanh" })]);
    await seq([9, 9, 2], [tf.layers.separableConv2d({ filters: 3, kernelSize: 2, dilationRate: 2, useBias: false })]);
  });

  it("channelsFirst layers read tfjs's NCHW tensors as they are (conv, pool, padding, channelsFirst flatten)", async () => {
    await seq([3, 7, 8], [
      tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", dataFormat: "channelsFirst" }),
      tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 2]], dataFormat: "channelsFirst" }),
      tf.layers.maxPooling2d({ poolSize: 2, dataFormat: "channelsFirst" }),
      tf.layers.flatten({ dataFormat: "channelsFirst" } as never),
      tf.layers.dense({ units: 5 }),
    ]);
  });
});

describe("dense, flatten, reshape, permute", () => {
  it("flatten → dense permutes the kernel rows instead of transposing back: one Transpose in the whole graph", async () => {
    const bytes = await seq([6, 5, 3], [tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: "relu" }), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 7, activation: "softmax" })]);
    expect(opTypes(bytes).filter((t) => t === "Transpose")).toHaveLength(1);
  });

  it("a flattened map read by something else than Dense is gathered back into tfjs's feature order", async () => {
    await seq([4, 3, 5], [tf.layers.conv2d({ filters: 2, kernelSize: 1 }), tf.layers.flatten()]);
    await seq([4, 3, 5], [tf.layers.conv2d({ filters: 2, kernelSize: 1 }), tf.layers.flatten(), tf.layers.batchNormalization(), tf.layers.dense({ units: 3 })]);
  });

  it("dense on rank-2, on a channels-last map (a 1×1 convolution) and on a rank-3 sequence", async () => {
    await seq([6], [tf.layers.dense({ units: 4, activation: "sigmoid" }), tf.layers.dense({ units: 2, useBias: false })]);
    await seq([5, 4, 3], [tf.layers.conv2d({ filters: 3, kernelSize: 2 }), tf.layers.dense({ units: 6 })]);
    await seq([5, 4], [tf.layers.dense({ units: 3, activation: "relu" })]);
  });

  it("reshape (with −1) and permute; a reshape back to a map before a convolution", async () => {
    await seq([4, 6, 2], [tf.layers.conv2d({ filters: 3, kernelSize: 1 }), tf.layers.reshape({ targetShape: [8, -1] }), tf.layers.permute({ dims: [2, 1] })]);
    await seq([12], [tf.layers.dense({ units: 48 }), tf.layers.reshape({ targetShape: [4, 4, 3] }), tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: "same" }), tf.layers.flatten()]);
  });
});

describe("activations", () => {
  it(`every tfjs activation inside a layer: ${ACTIVATIONS.join(", ")}`, async () => {
    for (const activation of ACTIVATIONS) {
      await seq([7], [tf.layers.dense({ units: 5, activation: activation as never })]);
      // On a channels-first map (softmax over the channel axis).
      await seq([3, 4, 2], [tf.layers.conv2d({ filters: 3, kernelSize: 1 }), tf.layers.activation({ activation: activation as never })]);
    }
  });

  it("advanced activation layers: ReLU (maxValue), LeakyReLU, ELU, ThresholdedReLU, Softmax", async () => {
    const x = normals([2, 4, 5, 3], 9, 3);
    await seq([4, 5, 3], [tf.layers.reLU({ maxValue: 1.5 }), tf.layers.leakyReLU({ alpha: 0.2 }), tf.layers.thresholdedReLU({ theta: 0.3 })], { x });
    await seq([4, 5, 3], [tf.layers.reLU(), tf.layers.elu({ alpha: 1 })], { x });
    // tfjs's softmax supports the last axis only.
    await seq([4, 5, 3], [tf.layers.conv2d({ filters: 3, kernelSize: 1 }), tf.layers.softmax({ axis: -1 })], { x });
    await seq([4, 5, 3], [tf.layers.flatten(), tf.layers.softmax()], { x });
  });
});

describe("batch normalisation, dropout", () => {
  it("batchNormalization in inference (moving statistics, epsilon): on channels, after dense, without scale/center", async () => {
    await seq([5, 6, 3], [tf.layers.conv2d({ filters: 4, kernelSize: 3 }), tf.layers.batchNormalization({ epsilon: 0.01 })]);
    await seq([6], [tf.layers.dense({ units: 4 }), tf.layers.batchNormalization()]);
    await seq([5, 6, 3], [tf.layers.conv2d({ filters: 2, kernelSize: 1 }), tf.layers.batchNormalization({ center: false, scale: false })]);
  });

  it("batchNormalization over a non-channel axis equals Keras's formula (tfjs's cpu kernel cycles the statistics over the last axis there, so the reference is the formula in tf ops)", async () => {
    for (const [axis, center] of [[1, true], [2, false]] as const) {
      const model = tf.sequential({ layers: [tf.layers.batchNormalization({ inputShape: [5, 6, 3], axis, center, scale: center })] });
      seedWeights(model, 40 + axis);
      const x = normals([2, 5, 6, 3], 50 + axis);
      const b = axis === 1 ? [1, 5, 1, 1] : [1, 1, 6, 1];
      const ws = (model.layers[0] as tf.layers.Layer).getWeights().map((w) => w.reshape(b));
      const [gamma, beta, mean, variance] = (center ? ws : [tf.ones(b), tf.zeros(b), ...ws]) as tf.Tensor[];
      const want = tf.add(tf.mul(tf.div(tf.sub(x, mean as tf.Tensor), tf.sqrt(tf.add(variance as tf.Tensor, 1e-3))), gamma as tf.Tensor), beta as tf.Tensor);
      const [got] = await runExported(exportModel(model, { batchSize: 2 }), [x]);
      const e = want.dataSync();
      for (let i = 0; i < e.length; i++) expect(Math.abs((got?.data[i] as number) - (e[i] as number))).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(e[i] as number));
    }
  });

  it("dropout, spatialDropout1d, gaussianNoise, gaussianDropout, alphaDropout are the identity", async () => {
    await seq([6, 4], [tf.layers.dropout({ rate: 0.5 }), tf.layers.spatialDropout1d({ rate: 0.3 }), tf.layers.gaussianNoise({ stddev: 1 }), tf.layers.gaussianDropout({ rate: 0.2 }), tf.layers.alphaDropout({ rate: 0.2 })], { exact: true });
  });
});

describe("padding and tfjs's own pooling", () => {
  it("zeroPadding2d before tfjs's max / average pooling keeps its zeros in ONNX Runtime's default optimisation (no Pad fusion into the pool)", async () => {
    const x = tf.neg(tf.add(tf.abs(normals([2, 5, 6, 2], 31)), 0.5)); // all negative: a padded zero wins every border max
    await seq([5, 6, 2], [tf.layers.zeroPadding2d({ padding: 1 }), tf.layers.maxPooling2d({ poolSize: 3, strides: 2 })], { x, exact: true });
    await seq([5, 6, 2], [tf.layers.zeroPadding2d({ padding: [[0, 2], [1, 0]] }), tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: "same" })], { x, exact: true });
    await seq([5, 6, 2], [tf.layers.zeroPadding2d({ padding: 1 }), tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: "same" })], { x });
    await seq([5, 6, 2], [tf.layers.zeroPadding2d({ padding: 2 }), tf.layers.conv2d({ filters: 2, kernelSize: 3 })], { x });
  });

  it("zeroPadding2d (symmetric, per side) and cropping2d", async () => {
    await seq([5, 4, 2], [tf.layers.zeroPadding2d({ padding: [[1, 2], [0, 3]] }), tf.layers.zeroPadding2d({ padding: 1 }), tf.layers.cropping2D({ cropping: [[2, 1], [0, 2]] })], { exact: true });
  });

  it("maxPooling2d and averagePooling2d: pool 1–4 × strides 1–3 × valid/same on odd and even sizes (TensorFlow's 'same': extra pad at the end; avg excludes it)", async () => {
    for (const [h, w] of [[7, 9], [8, 6]] as const) {
      const input = tf.input({ shape: [h, w, 2] });
      const outs: tf.SymbolicTensor[] = [];
      const maxOuts: tf.SymbolicTensor[] = [];
      for (const poolSize of [1, 2, 3, 4]) {
        for (const strides of [1, 2, 3]) {
          for (const padding of ["valid", "same"] as const) {
            maxOuts.push(tf.layers.maxPooling2d({ poolSize, strides, padding }).apply(input) as tf.SymbolicTensor);
            outs.push(tf.layers.averagePooling2d({ poolSize, strides, padding }).apply(input) as tf.SymbolicTensor);
          }
        }
      }
      const x = normals([2, h, w, 2], h * w);
      await compareModel(tf.model({ inputs: input, outputs: maxOuts }), [x], { exact: true });
      await compareModel(tf.model({ inputs: input, outputs: outs }), [x]);
    }
  });

  it("rectangular pools, 1d and 3d pools", async () => {
    await seq([7, 8, 2], [tf.layers.maxPooling2d({ poolSize: [3, 2], strides: [2, 3], padding: "same" })], { exact: true });
    await seq([7, 8, 2], [tf.layers.averagePooling2d({ poolSize: [2, 3], strides: [3, 1], padding: "same" })]);
    await seq([11, 3], [tf.layers.maxPooling1d({ poolSize: 3, strides: 2, padding: "same" })], { exact: true });
    await seq([11, 3], [tf.layers.averagePooling1d({ poolSize: 4, strides: 3, padding: "same" })]);
    await seq([5, 6, 7, 2], [tf.layers.maxPooling3d({ poolSize: 2, padding: "same" })], { exact: true });
    await seq([5, 6, 7, 2], [tf.layers.averagePooling3d({ poolSize: [2, 3, 2], strides: 2, padding: "same" })]);
  });

  it("opsets 17–21 (Reduce* take axes as an input from 18)", async () => {
    for (const opset of [17, 18, 21]) {
      const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [5, 5, 2], filters: 2, kernelSize: 2 }), tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 2 })] });
      seedWeights(model, opset);
      await compareModel(model, [normals([2, 5, 5, 2], opset)], { opset });
    }
  });

  it("global average and max pooling 1d / 2d", async () => {
    await seq([5, 7, 3], [tf.layers.globalMaxPooling2d({})], { exact: true });
    await seq([5, 7, 3], [tf.layers.globalAveragePooling2d({})]);
    await seq([9, 3], [tf.layers.globalMaxPooling1d({})], { exact: true });
    await seq([9, 3], [tf.layers.globalAveragePooling1d({})]);
  });
});

describe("functional models", () => {
  it("two inputs, two outputs, every merge (add, multiply, average, maximum, minimum, concatenate), a shared layer", async () => {
    const a = tf.input({ shape: [6, 5, 2], name: "image" });
    const b = tf.input({ shape: [6, 5, 2], name: "other" });
    const conv = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same" });
    const ca = conv.apply(a) as tf.SymbolicTensor;
    const cb = conv.apply(b) as tf.SymbolicTensor; // shared: called twice
    const merged = [tf.layers.add(), tf.layers.multiply(), tf.layers.average(), tf.layers.maximum(), tf.layers.minimum()].map((l) => l.apply([ca, cb]) as tf.SymbolicTensor);
    const cat = tf.layers.concatenate().apply(merged) as tf.SymbolicTensor; // channels axis
    const catH = tf.layers.concatenate({ axis: 1 }).apply([ca, cb]) as tf.SymbolicTensor;
    const head = tf.layers.dense({ units: 4, activation: "softmax" }).apply(tf.layers.flatten().apply(tf.layers.maxPooling2d({ poolSize: 2 }).apply(cat))) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [a, b], outputs: [head, catH] });
    seedWeights(model, 3);
    const bytes = await compareModel(model, [normals([2, 6, 5, 2], 1), normals([2, 6, 5, 2], 2)]);
    // One Transpose per input; the concatenated map is an output in tfjs's order (one more).
    expect(opTypes(bytes).filter((t) => t === "Transpose")).toHaveLength(3);
  });

  it("merges of values in different layouts (a map and a reshaped vector; two flattened maps concatenated)", async () => {
    const x = tf.input({ shape: [4, 4, 2] });
    const v = tf.input({ shape: [32] });
    const map = tf.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(x) as tf.SymbolicTensor;
    const fromV = tf.layers.reshape({ targetShape: [4, 4, 2] }).apply(v) as tf.SymbolicTensor;
    const sum = tf.layers.add().apply([map, fromV]) as tf.SymbolicTensor;
    const flat = tf.layers.concatenate().apply([tf.layers.flatten().apply(map) as tf.SymbolicTensor, tf.layers.flatten().apply(sum) as tf.SymbolicTensor]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [x, v], outputs: [tf.layers.dense({ units: 3 }).apply(flat) as tf.SymbolicTensor, sum] });
    seedWeights(model, 4);
    await compareModel(model, [normals([3, 4, 4, 2], 5), normals([3, 32], 6)]);
  });

  it("an input that is also an output keeps its values (names made unique)", async () => {
    const x = tf.input({ shape: [3], name: "same" });
    const model = tf.model({ inputs: x, outputs: [x, tf.layers.dense({ units: 2 }).apply(x) as tf.SymbolicTensor] });
    seedWeights(model, 5);
    await compareModel(model, [normals([2, 3], 7)]);
  });
});

describe("errors", () => {
  it("an unsupported layer names its class and its name", () => {
    const model = tf.sequential({ layers: [tf.layers.upSampling2d({ inputShape: [4, 4, 1], size: [2, 2], name: "grow" })] });
    expect(() => exportModel(model)).toThrow(/exportModel: layer "grow" \(UpSampling2D\) is not supported; supported: Conv1D/);
  });

  it("a nested model is an unsupported layer named by its class", () => {
    const inner = tf.sequential({ name: "inner", layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
    const x = tf.input({ shape: [3] });
    const outer = tf.model({ inputs: x, outputs: inner.apply(x) as tf.SymbolicTensor });
    expect(() => exportModel(outer)).toThrow(/exportModel: layer "inner" \(Sequential\) is not supported/);
  });

  it("an unsupported layer after supported ones, an unknown spatial size, a wrong batch size and bad options are clear errors", () => {
    const lstm = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, name: "d" })] });
    expect(() => exportModel(lstm, { batchSize: 0 })).toThrow(/exportModel: batchSize must be a positive integer, got 0/);
    expect(() => exportModel(lstm, { size: 3 } as never)).toThrow(/exportModel: unknown option "size"/);
    expect(() => exportModel({} as never)).toThrow(/exportModel: expected a tf.LayersModel/);
    const open = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [null, null, 1] as never, filters: 1, kernelSize: 1 })] });
    expect(() => exportModel(open)).toThrow(/exportModel: .*unknown dimension 1/);
    const prelu = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, activation: "relu" }), tf.layers.prelu({ name: "pr" })] });
    expect(() => exportModel(prelu)).toThrow(/layer "pr" \(PReLU\) is not supported/);
    const fixed = tf.sequential({ layers: [tf.layers.dense({ batchInputShape: [4, 3], units: 2 })] });
    expect(() => exportModel(fixed, { batchSize: 2 })).toThrow(/batchSize 2 differs from the model's fixed batch size 4/);
  });
});
