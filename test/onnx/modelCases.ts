/**
 * Whole-model exports that onnx.checker sees: scripts/fixtures/onnx_check_models.py runs
 * `npx tsx test/onnx/modelCases.ts <dir>` to write them, checks each, and records the result with
 * the model's sha256 in test/fixtures/onnx_checker_models.json (read by model-checker.test.ts).
 * Everything is named and seeded, so the bytes are the same in every process.
 */
import * as tf from "@tensorflow/tfjs";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { exportModel } from "../../src/onnx/index.js";
import { layers } from "../../src/tfjs/index.js";
import { sha256 } from "./cases.js";
import { perturbPoolkit, seedWeights } from "./modelHelpers.js";

function finish(model: tf.LayersModel, seed: number): tf.LayersModel {
  seedWeights(model, seed);
  model.layers.forEach((l, i) => {
    if (l.getClassName().startsWith("Poolkit>")) perturbPoolkit(l, seed + i);
  });
  return model;
}

/** The models, exported at opset 17 (the checker's onnx 1.12 knows opsets up to 17). */
export function checkerModels(): { id: string; model: Uint8Array }[] {
  const out: { id: string; model: Uint8Array }[] = [];
  {
    // Every tfjs layer type in one chain (channels-last, one Transpose, Flatten → Dense by permuted rows).
    const x = tf.input({ shape: [11, 10, 3], name: "image" });
    const chain = [
      tf.layers.zeroPadding2d({ padding: [[1, 0], [2, 1]], name: "pad" }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: "same", activation: "relu6", name: "conv" }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: "same", activation: "swish", name: "dw" }),
      tf.layers.separableConv2d({ filters: 5, kernelSize: 2, activation: "gelu", name: "sep" }),
      tf.layers.batchNormalization({ name: "bn" }),
      tf.layers.cropping2D({ cropping: [[0, 1], [1, 0]], name: "crop" }),
      tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: "same", name: "maxpool" }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: "same", name: "avgpool" }),
      tf.layers.dropout({ rate: 0.3, name: "drop" }),
      tf.layers.flatten({ name: "flat" }),
      tf.layers.dense({ units: 6, activation: "selu", name: "fc" }),
      tf.layers.dense({ units: 3, activation: "softmax", name: "head" }),
    ];
    let y: tf.SymbolicTensor = x;
    for (const l of chain) y = l.apply(y) as tf.SymbolicTensor;
    out.push({ id: "tfjs-chain", model: exportModel(finish(tf.model({ inputs: x, outputs: y, name: "chain" }), 1), { batchSize: 2 }) });
  }
  {
    // Functional: two inputs, merges, concatenation, global pooling, reshape/permute, two outputs.
    const a = tf.input({ shape: [6, 5, 2], name: "a" });
    const b = tf.input({ shape: [6, 5, 2], name: "b" });
    const conv = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same", name: "shared" });
    const ca = conv.apply(a) as tf.SymbolicTensor;
    const cb = conv.apply(b) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: "add" }).apply([ca, cb]) as tf.SymbolicTensor;
    const mx = tf.layers.maximum({ name: "max" }).apply([ca, cb]) as tf.SymbolicTensor;
    const cat = tf.layers.concatenate({ name: "cat" }).apply([sum, mx]) as tf.SymbolicTensor;
    const g = tf.layers.globalAveragePooling2d({ name: "gap" }).apply(cat) as tf.SymbolicTensor;
    const r = tf.layers.permute({ dims: [2, 1], name: "perm" }).apply(tf.layers.reshape({ targetShape: [3, -1], name: "reshape" }).apply(g)) as tf.SymbolicTensor;
    out.push({ id: "tfjs-functional", model: exportModel(finish(tf.model({ inputs: [a, b], outputs: [g, r], name: "functional" }), 2), { batchSize: 3 }) });
  }
  {
    // poolkit layers in a network: "same" max pooling, SoftPool, LIP's logit module, DPP full, global pooling.
    const x = tf.input({ shape: [8, 8, 2], name: "x" });
    const c = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same", activation: "relu", name: "c" }).apply(x) as tf.SymbolicTensor;
    const p = layers.maxPool2d({ poolSize: 3, strides: 2, padding: "same", name: "pmax" }).apply(c) as tf.SymbolicTensor;
    const s = layers.softPool2d({ poolSize: 2, strides: 1, name: "psoft" }).apply(p) as tf.SymbolicTensor;
    const lip = layers.localImportancePool2d({ name: "plip", seed: 1 }).apply(c) as tf.SymbolicTensor;
    const dpp = layers.detailPreservingPool2d({ variant: "full", name: "pdpp", seed: 2 }).apply(c) as tf.SymbolicTensor;
    const gm = layers.globalMaxPool({ name: "pgmax" }).apply(lip) as tf.SymbolicTensor;
    const head = tf.layers.dense({ units: 4, name: "fc" }).apply(tf.layers.flatten({ name: "flat" }).apply(s)) as tf.SymbolicTensor;
    out.push({ id: "poolkit-layers", model: exportModel(finish(tf.model({ inputs: x, outputs: [head, gm, dpp], name: "pooling" }), 3), { batchSize: 2 }) });
  }
  return out;
}

async function main(dir: string): Promise<void> {
  await tf.setBackend("cpu");
  const index = checkerModels().map(({ id, model }) => {
    const file = `${id}.onnx`;
    writeFileSync(join(dir, file), model);
    return { id, file, sha256: sha256(model) };
  });
  writeFileSync(join(dir, "index.json"), JSON.stringify(index, null, 1));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2];
  if (!dir) throw new Error("usage: tsx test/onnx/modelCases.ts <output dir>");
  void main(dir);
}
