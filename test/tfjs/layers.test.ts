/**
 * poolkit/tfjs layers: for every registry method and rank, a small model
 * (conv → pool layer → flatten → dense) trains on a fixed batch (loss finite and decreasing, learnable
 * weights move), computeOutputShape matches the real output, and save → load round-trips
 * (same predictions, same weights).
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { exampleInputs, listPools, type PoolMethod } from "../../src/registry.js";
import { Generator } from "../../src/tensor/random.js";
import { PoolkitPoolLayer } from "../../src/tfjs/index.js";
import { cl, distinct, findLayerClass, layersByName, opCases, toTf, useBackend } from "./setup.js";

const SPATIAL = { 1: [16], 2: [8, 8], 3: [6, 6, 6] } as const;
const CHANNELS = 3;

function convFor(rank: 1 | 2 | 3, inputShape: number[]): tf.layers.Layer {
  const args = { inputShape, filters: CHANNELS, kernelSize: 3, padding: "same" as const, activation: "relu" as const, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) };
  return rank === 1 ? tf.layers.conv1d(args) : rank === 2 ? tf.layers.conv2d(args) : tf.layers.conv3d(args);
}

function fixedBatch(rank: 1 | 2 | 3, n: number): { xs: tf.Tensor; ys: tf.Tensor } {
  const shape = [n, ...SPATIAL[rank], 2];
  const size = shape.reduce((a, b) => a * b, 1);
  const g = new Generator(42);
  const v = new Float32Array(size);
  for (let i = 0; i < size; i++) v[i] = g.uniform24();
  const labels = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) labels[i * 4 + (i % 4)] = 1;
  return { xs: tf.tensor(v, shape), ys: tf.tensor(labels, [n, 4]) };
}

async function saveToMemory(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  if (!saved) throw new Error("nothing saved");
  return saved;
}

function poolLayerOf(model: tf.LayersModel): PoolkitPoolLayer {
  const l = model.layers.find((x) => x instanceof PoolkitPoolLayer);
  if (!l) throw new Error("no pool layer");
  return l as PoolkitPoolLayer;
}

/** A batch of the extra feature-map inputs a layer takes after x (second streams, unpool indices), channels-last. */
function extraInputs(layer: PoolkitPoolLayer, method: PoolMethod, rank: 1 | 2 | 3, n: number): tf.Tensor[] {
  const cfShape = [n, CHANNELS, ...SPATIAL[rank]];
  const kinds = layer.inputKinds(cfShape);
  const wanted = kinds.filter((k) => k.kind === "input").map((k) => k.spec.name);
  if (wanted.length === 0) return [];
  const options = layer.resolveOptions(cfShape);
  const x = distinct(cfShape, 17);
  const all = exampleInputs(method, x, new Generator(5), options);
  return method.inputs.flatMap((spec, i) => (wanted.includes(spec.name) ? [cl(toTf(all[i]!))] : []));
}

beforeAll(() => useBackend("cpu"));

const CASES = opCases(listPools());

it("every registry method and rank has a layer class with a unique registered className (RoI methods are ops only)", () => {
  const names = new Set<string>();
  for (const { method, exportName } of CASES) {
    const cls = findLayerClass(exportName);
    if (method.category === "region" && method.inputs.length > 0) {
      expect(cls, `${exportName} is an op only`).toBeUndefined();
      continue;
    }
    if (names.has(cls?.className ?? "") && Object.values(method.exports).filter((e) => e === exportName).length > 1) continue;
    expect(cls, exportName).toBeDefined();
    expect(cls!.className).toMatch(/^Poolkit>/);
    expect(names.has(cls!.className)).toBe(false);
    names.add(cls!.className);
    expect(tf.serialization.SerializationMap.getMap().classNameMap[cls!.className], cls!.className).toBeDefined();
  }
});

describe("every layer trains, reports its output shape and round-trips through save/load", () => {
  for (const { method, rank, exportName } of CASES) {
    if (!findLayerClass(exportName)) continue; // ops only (RoI)
    it(`${exportName} (${rank}-d input)`, async () => {
      const inputShape = [...SPATIAL[rank], 2];
      const poolLayer = layersByName[exportName]!({ seed: 7 });
      const conv = convFor(rank, inputShape);
      const extra = extraInputs(poolLayer, method, rank, 8);
      // x → conv → pool([h, ...extra]) → (flatten) → dense; extra inputs enter the model as they are.
      const xIn = tf.input({ shape: inputShape });
      const extraIn = extra.map((t) => tf.input({ shape: t.shape.slice(1), dtype: t.dtype as "float32" | "int32" }));
      const h = conv.apply(xIn) as tf.SymbolicTensor;
      const pooled = poolLayer.apply(extra.length ? [h, ...extraIn] : h) as tf.SymbolicTensor;
      const flat = pooled.shape.length > 2 ? (tf.layers.flatten().apply(pooled) as tf.SymbolicTensor) : pooled;
      const out = tf.layers.dense({ units: 4, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(flat) as tf.SymbolicTensor;
      const model = tf.model({ inputs: [xIn, ...extraIn], outputs: out });
      model.compile({ optimizer: tf.train.adam(0.02), loss: "categoricalCrossentropy" });
      const batch = fixedBatch(rank, 8);
      const xs: tf.Tensor | tf.Tensor[] = extra.length ? [batch.xs, ...extra] : batch.xs;
      const ys = batch.ys;
      const pool = poolLayerOf(model);

      // computeOutputShape (poolkit's geometry) equals the real output's shape.
      const probe = tf.model({ inputs: model.inputs, outputs: pool.output as tf.SymbolicTensor });
      expect(pool.outputShape, "computeOutputShape matches the symbolic shape").toEqual(pooled.shape);
      const real = probe.predict(xs) as tf.Tensor;
      expect([null, ...real.shape.slice(1)]).toEqual(pool.outputShape);

      const learnable = pool.trainableWeights.map((w) => ({ name: w.originalName, before: Array.from(w.read().dataSync()) }));
      const lossBefore = (model.evaluate(xs, ys) as tf.Scalar).dataSync()[0]!;
      const hist = await model.fit(xs, ys, { epochs: 6, batchSize: 8, shuffle: false, verbose: 0 });
      const losses = hist.history.loss as number[];
      expect(losses.every(Number.isFinite), `losses ${losses}`).toBe(true);
      const lossAfter = (model.evaluate(xs, ys) as tf.Scalar).dataSync()[0]!;
      expect(Number.isFinite(lossBefore) && Number.isFinite(lossAfter)).toBe(true);
      expect(lossAfter, `loss before ${lossBefore}, after ${lossAfter}`).toBeLessThan(lossBefore);
      for (const w of learnable) {
        const now = Array.from(pool.trainableWeights.find((v) => v.originalName === w.name)!.read().dataSync());
        expect(now, `${w.name} trained`).not.toEqual(w.before);
      }

      // Inference is deterministic, also for random methods.
      const p1 = Array.from((model.predict(xs) as tf.Tensor).dataSync());
      const p2 = Array.from((model.predict(xs) as tf.Tensor).dataSync());
      expect(p2).toEqual(p1);

      const artifacts = await saveToMemory(model);
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
      const lpool = poolLayerOf(loaded);
      expect(lpool.constructor).toBe(pool.constructor);
      expect(lpool.getConfig()).toEqual(pool.getConfig());
      const p3 = Array.from((loaded.predict(xs) as tf.Tensor).dataSync());
      expect(p3).toEqual(p1);
      const w1 = pool.getWeights().map((t) => Array.from(t.dataSync()));
      const w2 = lpool.getWeights().map((t) => Array.from(t.dataSync()));
      expect(w2).toEqual(w1);
      expect(lpool.trainableWeights.map((w) => w.originalName)).toEqual(pool.trainableWeights.map((w) => w.originalName));
      tf.dispose([batch.xs, ys, real, ...extra]);
      model.dispose();
      loaded.dispose();
    });
  }
});
