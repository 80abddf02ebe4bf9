/**
 * poolkit/tfjs layer behaviour: "same" padding through poolkit's options (equal to tf.layers' own max /
 * average pooling), train vs inference for random methods, LIP's logit module, weights initialised
 * from the descriptors, channelsFirst, config round trip and config errors.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { getPool, listPools } from "../../src/registry.js";
import { Generator } from "../../src/tensor/random.js";
import { layerClasses, layers, PoolkitPoolLayer } from "../../src/tfjs/index.js";
import { cf, cl, distinct, findLayerClass, layersByName, toTf, useBackend } from "./setup.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { expectClose } from "../helpers/close.js";

beforeAll(() => useBackend("cpu"));

/** A channels-last `[N, ...S, C]` tf input with distinct positive values. */
function input(shape: number[], seed = 5): tf.Tensor {
  return toTf(distinct(shape, seed));
}

describe('padding "same"', () => {
  const configs = [
    { poolSize: 2, strides: 2 },
    { poolSize: 3, strides: 2 },
    { poolSize: 3, strides: 3 },
    { poolSize: 3, strides: 1 },
    { poolSize: [3, 2], strides: [2, 1] },
  ];
  for (const size of [7, 8, 9]) {
    for (const c of configs) {
      const label = `${size}×${size + 1}, poolSize ${JSON.stringify(c.poolSize)}, strides ${JSON.stringify(c.strides)}`;
      it(`maxPool2d and avgPool2d (countIncludePad false) equal tf.layers' pooling: ${label}`, () => {
        const x = input([2, size, size + 1, 3]);
        const ours = layers.maxPool2d({ ...c, padding: "same" }).apply(x) as tf.Tensor;
        const theirs = tf.layers.maxPooling2d({ poolSize: c.poolSize as [number, number], strides: c.strides as [number, number], padding: "same" }).apply(x) as tf.Tensor;
        expect(ours.shape).toEqual(theirs.shape);
        expect(Array.from(ours.dataSync())).toEqual(Array.from(theirs.dataSync()));
        const oursAvg = layers.avgPool2d({ ...c, padding: "same", countIncludePad: false }).apply(x) as tf.Tensor;
        const theirsAvg = tf.layers.averagePooling2d({ poolSize: c.poolSize as [number, number], strides: c.strides as [number, number], padding: "same" }).apply(x) as tf.Tensor;
        expect(oursAvg.shape).toEqual(theirsAvg.shape);
        expectClose(oursAvg.dataSync(), theirsAvg.dataSync(), { atol: 1e-6, rtol: 1e-6 });
        // computeOutputShape agrees with the real output.
        const layer = layers.maxPool2d({ ...c, padding: "same" });
        expect(layer.computeOutputShape([null, size, size + 1, 3])).toEqual([null, ...ours.shape.slice(1)]);
      });
    }
  }

  it("is an error with ceilMode true or dilation, which would move TensorFlow's windows", () => {
    const x = input([1, 8, 8, 2]);
    expect(() => layers.maxPool2d({ poolSize: 3, strides: 2, padding: "same", ceilMode: true }).apply(x)).toThrow(
      'maxPool2d: padding "same" fixes the output size at ⌈in / strides⌉; ceilMode must be false or absent, got ceilMode true',
    );
    expect(() => layers.maxPool2d({ poolSize: 3, strides: 2, padding: "same", dilation: 2 }).apply(x)).toThrow(
      'maxPool2d: padding "same" is not supported with dilation, got dilation 2',
    );
  });

  it('"valid" and numbers map to poolkit padding', () => {
    const x = input([1, 6, 6, 2]);
    const valid = layers.maxPool2d({ poolSize: 2, padding: "valid" }).apply(x) as tf.Tensor;
    expect(valid.shape).toEqual([1, 3, 3, 2]);
    const padded = layers.avgPool2d({ poolSize: 3, strides: 2, padding: 1 }).apply(x) as tf.Tensor;
    expect(padded.shape).toEqual([1, 3, 3, 2]);
  });
});

/** poolkit Tensor (channels-first) from a channels-last tf.Tensor. */
function coreOf(x: tf.Tensor): Tensor {
  return tensor(cf(x).dataSync() as Float32Array, cf(x).shape, "float32");
}

describe("random methods sample only in training", () => {
  for (const m of listPools().filter((p) => p.random && p.exports[2] && findLayerClass(p.exports[2]))) {
    it(`${m.exports[2]}: fresh draws per training call, deterministic inference`, () => {
      // outputSize 5 from 12: fractional pooling's start positions are random only for a non-integer α.
      const layer = layersByName[m.exports[2]!]!({ seed: 3, ...("outputRatio" in m.defaults ? { outputSize: 5 } : {}) });
      const x = input([2, 12, 12, 3], 9);
      const a = (layer.apply(x, { training: true }) as tf.Tensor).dataSync();
      const b = (layer.apply(x, { training: true }) as tf.Tensor).dataSync();
      expect(Array.from(a)).not.toEqual(Array.from(b));
      const p = layer.apply(x) as tf.Tensor;
      const q = layer.apply(x, { training: false }) as tf.Tensor;
      expect(Array.from(q.dataSync())).toEqual(Array.from(p.dataSync()));
      // Inference is the core op in eval mode (or, without a train/eval difference, with the fixed seed 3).
      const opts: Record<string, unknown> = { ...layer.resolveOptions([2, 3, 12, 12]), seed: 3 };
      if (m.trainEval) opts.training = false;
      const core = m.ops[2]!(coreOf(x), opts) as Tensor | { output: Tensor };
      const y = core instanceof Object && "output" in core ? core.output : (core as Tensor);
      expect(Array.from(q.dataSync())).toEqual(Array.from(cl(toTf(y)).dataSync()));
    });
  }
});

describe("local importance pooling's logit module", () => {
  it("starts as padding-excluded average pooling (logits 12·σ(0) = 6 everywhere) and trains its conv, γ and β", async () => {
    const x = input([2, 8, 8, 3], 4);
    const layer = layers.localImportancePool2d({});
    const y = layer.apply(x) as tf.Tensor;
    const lip = getPool("lip");
    const logits = tensor(new Float32Array(2 * 3 * 8 * 8).fill(6), [2, 3, 8, 8], "float32");
    const core = lip.ops[2]!(coreOf(x), logits, { kernelSize: 3, stride: 2, padding: 1 }) as Tensor;
    expectClose(y.dataSync(), cl(toTf(core)).dataSync(), { atol: 1e-6, rtol: 1e-6 });
    // … which is avg pooling with countIncludePad false.
    const avg = layers.avgPool2d({ poolSize: 3, strides: 2, padding: 1, countIncludePad: false }).apply(x) as tf.Tensor;
    expectClose(y.dataSync(), avg.dataSync(), { atol: 1e-5, rtol: 1e-5 });
    expect(layer.trainableWeights.map((w) => w.originalName).sort()).toEqual(
      [`${layer.name}/logitBeta`, `${layer.name}/logitGamma`, `${layer.name}/logitKernel`].sort(),
    );
    // Gradients reach every logit-module weight through poolkit's ∂y/∂logits.
    const target = tf.randomNormal(y.shape, 0, 1, "float32", 1);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, target)) as tf.Scalar, layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
    for (const [name, g] of Object.entries(grads)) {
      if (name.endsWith("logitKernel") || name.endsWith("logitBeta")) {
        expect(Math.max(...Array.from(g.abs().dataSync())), name).toBeGreaterThan(0);
      }
    }
  });
});

describe("learnable weights come from the descriptors' init", () => {
  for (const m of listPools().filter((p) => p.learnable.length > 0 && p.exports[2] && findLayerClass(p.exports[2]) && !/^localImportance/.test(p.export))) {
    it(`${m.exports[2]}: ${m.learnable.join(", ")}`, () => {
      const layer = layersByName[m.exports[2]!]!({ seed: 21 });
      // Further layer inputs (a second stream) are feature maps like x.
      const extra = m.inputs.filter((s) => s.role !== "learnable").map(() => input([2, 8, 8, 3], 8));
      layer.apply(extra.length ? [input([2, 8, 8, 3]), ...extra] : input([2, 8, 8, 3]));
      const opts = layer.resolveOptions([1, 3, 8, 8]);
      const gen = new Generator(21);
      for (const spec of m.inputs.filter((s) => s.role === "learnable")) {
        const shape = spec.shape([1, 3, 8, 8], opts);
        const expected = spec.init(shape, gen, [1, 3, 8, 8], opts);
        const w = layer.trainableWeights.find((v) => v.originalName === `${layer.name}/${spec.name}`);
        expect(w, spec.name).toBeDefined();
        expect(w!.shape).toEqual(shape);
        expectClose(w!.read().dataSync(), Float32Array.from(expected), { atol: 0, rtol: 0 }, spec.name);
      }
    });
  }
});

describe("learned mixing's alpha is projected onto [0, 1] (projected gradient descent)", () => {
  it("clips alpha before use when an optimizer step left [0, 1]", () => {
    const layer = layers.learnedMixPool2d({ seed: 1 });
    const x = input([1, 7, 7, 2]);
    layer.apply(x);
    const alpha = layer.trainableWeights.find((w) => w.originalName.endsWith("/alpha"))!;
    alpha.write(tf.tensor([1.7]));
    const y = layer.apply(x) as tf.Tensor;
    expect(Array.from(alpha.read().dataSync())).toEqual([1]);
    // a = 1 is max pooling (k3, s2).
    const max = layers.maxPool2d({ poolSize: 3, strides: 2, padding: 0 }).apply(x) as tf.Tensor;
    expectClose(y.dataSync(), max.dataSync(), { atol: 1e-6, rtol: 1e-6 });
    alpha.write(tf.tensor([-0.25]));
    layer.apply(x);
    expect(Array.from(alpha.read().dataSync())).toEqual([0]);
  });
});

describe('detail-preserving pooling, variant "full"', () => {
  it("owns a learned [C, 1, 3, 3] guidance filter that trains and survives save/load", async () => {
    const x = input([4, 8, 8, 3], 6);
    const layer = layers.detailPreservingPool2d({ variant: "full", seed: 2 });
    const y = layer.apply(x) as tf.Tensor;
    const names = layer.trainableWeights.map((w) => w.originalName.split("/").pop());
    expect(names).toEqual(["alpha", "lambda", "filter"]);
    const [alpha, lambda, filter] = layer.getWeights().map((w) => tensor(w.dataSync() as Float32Array, w.shape, "float32"));
    expect(filter!.shape).toEqual([3, 1, 3, 3]);
    const core = getPool("dpp").ops[2]!(coreOf(x), alpha, lambda, filter, {}) as Tensor;
    expect(Array.from(y.dataSync())).toEqual(Array.from(cl(toTf(core)).dataSync()));
    // Train it inside a model; the filter moves; save → load keeps it.
    const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [8, 8, 3] }), layer, tf.layers.flatten(), tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })] });
    model.compile({ optimizer: tf.train.adam(0.05), loss: "meanSquaredError" });
    const ys = tf.tensor2d([[1, 0], [0, 1], [1, 1], [0, 0]]);
    const before = Array.from(layer.getWeights()[2]!.dataSync());
    await model.fit(x, ys, { epochs: 3, batchSize: 4, verbose: 0 });
    expect(Array.from(layer.getWeights()[2]!.dataSync())).not.toEqual(before);
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } })));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
  });

  it("rejects an unknown variant", () => {
    expect(() => layers.detailPreservingPool2d({ variant: "half" as never })).toThrow('detailPreservingPool2d: variant must be "lite" or "full", got "half"');
  });
});

describe("data format and config", () => {
  it("channelsFirst layers equal channelsLast layers on the transposed input", () => {
    const x = input([2, 8, 8, 3]);
    for (const name of ["softPool2d", "maxPool2d", "detailPreservingPool2d"]) {
      const a = layersByName[name]!({ seed: 1 }).apply(x) as tf.Tensor;
      const b = layersByName[name]!({ seed: 1, dataFormat: "channelsFirst" }).apply(cf(x)) as tf.Tensor;
      expect(Array.from(cf(a).dataSync()), name).toEqual(Array.from(b.dataSync()));
    }
  });

  it("LIP's logit module gives the same result in channelsFirst (non-zero conv weights)", () => {
    const x = input([2, 8, 8, 3], 12);
    const a = layers.localImportancePool2d({});
    const b = layers.localImportancePool2d({ dataFormat: "channelsFirst" });
    a.apply(x);
    b.apply(cf(x));
    const kernel = tf.randomNormal([3, 3, 3, 3], 0, 0.5, "float32", 4);
    const weights = [kernel, tf.tensor([1.5, 0.5, 1]), tf.tensor([0.1, -0.2, 0.3])];
    a.setWeights(weights);
    b.setWeights(weights);
    const ya = a.apply(x) as tf.Tensor;
    const yb = b.apply(cf(x)) as tf.Tensor;
    expectClose(cf(ya).dataSync(), yb.dataSync(), { atol: 1e-5, rtol: 1e-5 });
    // …and differs from the zero-weight (average) start, so the module is really in the path.
    const avg = layers.localImportancePool2d({}).apply(x) as tf.Tensor;
    expect(Math.max(...Array.from(tf.abs(tf.sub(ya, avg)).dataSync()))).toBeGreaterThan(1e-3);
  });

  it("getConfig holds the tfjs-style config and fromConfig rebuilds the same layer", () => {
    const layer = layers.avgPool2d({ poolSize: 3, strides: 2, padding: "same", countIncludePad: false, name: "pool_a" });
    const config = layer.getConfig();
    expect(config).toMatchObject({ poolSize: 3, strides: 2, padding: "same", countIncludePad: false, name: "pool_a" });
    const cls = layerClasses.avgPool2d!;
    const again = (cls as unknown as { fromConfig(c: unknown, config: unknown): PoolkitPoolLayer }).fromConfig(cls, config);
    expect(again).toBeInstanceOf(cls);
    expect(again.getConfig()).toEqual(config);
  });

  it("rejects bad configs with messages naming the op", () => {
    expect(() => layers.mixedPool2d({ training: true } as never)).toThrow(/mixedPool2d: training is not a layer option/);
    expect(() => layers.softPool2d({ padding: "full" as never })).toThrow(
      'softPool2d: padding must be "valid", "same", a number, one number per axis or one [before, after] pair per axis, got "full"',
    );
    expect(() => layers.softPool2d({ dataFormat: "NHWC" as never })).toThrow('softPool2d: dataFormat must be "channelsLast" or "channelsFirst", got "NHWC"');
    expect(() => layers.softPool2d({ seed: 1.5 })).toThrow("softPool2d: seed must be a safe integer, got 1.5");
    // Unknown keys are refused when the layer is made (layer-options.test.ts has the messages).
    expect(() => layers.softPool2d({ poolSize: 2, kernal: 3 } as never)).toThrow(/^softPool2d: unknown layer option "kernal"; known options: poolSize, strides, padding, gradMode, dataFormat, seed/);
  });
});
