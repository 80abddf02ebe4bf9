/**
 * exportModel on poolkit's own tfjs layers: every layer class of poolkit/tfjs (enumerated from
 * `layerClasses`, i.e. the registry — never a hand list) in a small functional model with its weights
 * moved away from their initial values, exported and run in onnxruntime-node (default graph
 * optimisations), compared with tfjs's `predict` (poolkit's own forward through the tfjs adapter) on the
 * same inputs. Methods ONNX cannot express fail with an error naming the layer.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { exportModel } from "../../src/onnx/index.js";
import { onnxSupport } from "../../src/onnx/index.js";
import { Generator } from "../../src/tensor/random.js";
import { layerClasses, layers, type PoolkitPoolLayer } from "../../src/tfjs/index.js";
import { useBackend } from "../tfjs/setup.js";
import { compareModel, normals, perturbPoolkit, seedWeights } from "./modelHelpers.js";

beforeAll(() => useBackend("cpu"));

const EXACT = new Set(["Max", "AdaptiveMax", "GlobalMax", "FractionalMax", "MaxUnpool"]);
// Even 2-d sizes: DPP works on 2×2 blocks and S3Pool's grid must divide the map.
const SPATIAL: Record<1 | 2 | 3, number[]> = { 1: [15], 2: [8, 10], 3: [6, 5, 7] };
const C = 3;

/** `[N, C, ...S]` values → `[N, ...S, C]` tf tensor. */
function channelsLast(values: ArrayLike<number>, cf: readonly number[], dtype: "float32" | "int32"): tf.Tensor {
  const t = tf.tensor(Array.from(values), [...cf], dtype);
  if (cf.length < 3) return t;
  const perm = [0, ...cf.slice(2).map((_, i) => i + 2), 1];
  return tf.transpose(t, perm);
}

type AnyLayerClass = new (config?: Record<string, unknown>) => PoolkitPoolLayer;
/** Every layer class by export name (typed loosely: the test builds each with generic configs). */
const CLASSES = new Map(Object.entries(layerClasses).map(([k, v]) => [k, v as unknown as AnyLayerClass]));

/** A model x (+ the layer's further data inputs) → layer, with seeded inputs in model order. */
function build(exportName: string, config: Record<string, unknown>, seed: number): { model: tf.LayersModel; inputs: tf.Tensor[]; layer: PoolkitPoolLayer } {
  const cls = CLASSES.get(exportName);
  if (!cls) throw new Error(`no layer ${exportName}`);
  const layer = new cls({ name: `p_${exportName}`, ...config });
  const rank = layer.rank;
  const spatial = SPATIAL[rank as 1 | 2 | 3];
  const batch = 2;
  const cf = [batch, C, ...spatial];
  const x = tf.input({ shape: [...spatial, C], name: "x" });
  const options = layer.resolveOptions(cf);
  const gen = new Generator(seed);
  const inputs: tf.Tensor[] = [normals([batch, ...spatial, C], seed + 1)];
  const symbolic: tf.SymbolicTensor[] = [x];
  for (const { spec, kind } of layer.inputKinds(cf)) {
    if (kind !== "input") continue;
    // Example values from the registry (valid unpooling indices, a second stream, ...), channels-last.
    const shape = spec.shape(cf, options);
    const dtype = spec.dtype === "int32" ? "int32" : "float32";
    inputs.push(channelsLast(spec.init(shape, gen, cf, options), shape, dtype));
    const tfShape = shape.length >= 3 ? [...shape.slice(2), shape[1] as number] : shape.slice(1);
    symbolic.push(tf.input({ shape: tfShape, dtype, name: spec.name }));
  }
  const y = layer.apply(symbolic.length === 1 ? x : symbolic) as tf.SymbolicTensor;
  const model = tf.model({ inputs: symbolic, outputs: y });
  perturbPoolkit(layer, seed + 2);
  return { model, inputs, layer };
}

const RANDOM_SEED = { seed: 5 };

describe("every poolkit layer class exports with its weights and reproduces tfjs's predict", () => {
  const names = [...CLASSES.keys()];
  it("the enumeration covers every registry layer", () => {
    expect(names.length).toBeGreaterThan(35);
  });
  for (const exportName of names) {
    it(exportName, async () => {
      const probe = new (CLASSES.get(exportName) as AnyLayerClass)({});
      const m = probe.method;
      const config = m.random ? RANDOM_SEED : {};
      const { model, inputs, layer } = build(exportName, config, 17);
      // The exporter supplies eval mode and, for fractional max pooling, the windows the layer draws in predict.
      const support = onnxSupport(m, { ...layer.resolveOptions([2, C, ...SPATIAL[layer.rank as 1 | 2 | 3]]), training: false, samples: "drawn by the layer" });
      if (!support.supported) {
        expect(() => exportModel(model, { batchSize: 2 })).toThrow(new RegExp(`exportModel: layer "p_${exportName}" \\(Poolkit>\\w+\\): .*cannot be expressed in ONNX`));
        return;
      }
      await compareModel(model, inputs, { exact: EXACT.has(m.name) });
    });
  }
});

describe("poolkit layers in context", () => {
  it("covariance pooling with Newton–Schulz normalisation (its default sqrtm cannot be expressed)", async () => {
    const { model, inputs } = build("covariancePool", { normalization: "newton-schulz", iterations: 4 }, 3);
    await compareModel(model, inputs, { rtol: 1e-4, atol: 1e-5 });
  });

  it("padded and ceil-mode poolkit pools (explicit Pads) under ONNX Runtime's default optimisations, after a zeroPadding2d", async () => {
    const x = tf.input({ shape: [7, 9, 2] });
    const z = tf.layers.zeroPadding2d({ padding: 1 }).apply(x) as tf.SymbolicTensor;
    const outs = [
      layers.maxPool2d({ poolSize: 3, strides: 2, padding: 1, ceilMode: true }),
      layers.avgPool2d({ poolSize: 3, strides: 2, padding: 1, countIncludePad: false }),
      layers.avgPool2d({ poolSize: 3, strides: 2, padding: 1, ceilMode: true }),
      layers.softPool2d({ poolSize: 2, strides: 2, padding: 1 }),
      layers.avgPool2d({ poolSize: 3, strides: 1, padding: "same" }),
    ].flatMap((l) => [l.apply(x) as tf.SymbolicTensor, (l as PoolkitPoolLayer).apply(z) as tf.SymbolicTensor]);
    const model = tf.model({ inputs: x, outputs: outs });
    await compareModel(model, [tf.neg(tf.abs(normals([2, 7, 9, 2], 12)))]);
  });

  it("bilinear pooling on one stream (homogeneous) and DPP's full variant with its learned filter", async () => {
    const x = tf.input({ shape: [6, 8, 3] });
    const model = tf.model({ inputs: x, outputs: [layers.bilinearPool({}).apply(x) as tf.SymbolicTensor, layers.detailPreservingPool2d({ variant: "full", seed: 2 }).apply(x) as tf.SymbolicTensor] });
    for (const l of model.layers) perturbPoolkit(l, 4);
    await compareModel(model, [normals([2, 6, 8, 3], 8)]);
  });

  it("'same' padding, channelsFirst data and a stack conv → poolkit pool → flatten → dense", async () => {
    const x = tf.input({ shape: [9, 7, 2] });
    const c = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" }).apply(x) as tf.SymbolicTensor;
    const p = layers.maxPool2d({ poolSize: 3, strides: 2, padding: "same" }).apply(c) as tf.SymbolicTensor;
    const s = layers.softPool2d({ poolSize: 2, strides: 1, padding: "valid" }).apply(p) as tf.SymbolicTensor;
    const lip = layers.localImportancePool2d({}).apply(c) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 5, activation: "softmax" }).apply(tf.layers.flatten().apply(s)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: x, outputs: [out, lip] });
    seedWeights(model, 6);
    for (const l of model.layers) if (l.getClassName().startsWith("Poolkit>")) perturbPoolkit(l, 7);
    await compareModel(model, [normals([2, 9, 7, 2], 9)]);

    const xf = tf.input({ shape: [3, 8, 6] });
    const cfModel = tf.model({ inputs: xf, outputs: layers.softPool2d({ poolSize: 2, dataFormat: "channelsFirst" }).apply(xf) as tf.SymbolicTensor });
    await compareModel(cfModel, [normals([2, 3, 8, 6], 10)]);
  });
});
