/**
 * Train the MNIST example's CNN (examples/train-mnist.ts: conv3×3(8, relu) → POOL → flatten →
 * dense(10, softmax)) with a poolkit pooling layer, export the trained model to ONNX with
 * `exportModel`, and check that ONNX Runtime reproduces TensorFlow.js's test predictions: the same
 * digit (argmax) on every test image and probabilities within 1e-5.
 *
 *   npx tsx examples/export-mnist.ts --method soft --out mnist-soft.onnx
 *   npx tsx examples/export-mnist.ts --all            (every poolkit layer the example network takes)
 *
 * Flags: --method NAME | --all · --train N · --test N · --epochs E · --seed S · --out FILE (with
 * --method). Serving: the .onnx file runs in onnxruntime-node / onnxruntime-web / any ONNX engine
 * with input `[N, 28, 28, 1]` (tfjs's channels-last images; N = --test) and output `[N, 10]`.
 * In your own code import `exportModel` from "poolkit/onnx"; this example imports the sources.
 */
import * as tf from "@tensorflow/tfjs";
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { exportModel, onnxSupport } from "../src/onnx/index.js";
import { getPool, listPools, type PoolMethod } from "../src/registry.js";
import { Generator } from "../src/tensor/random.js";
import { buildModel, digits } from "./train-mnist.js";

export interface ExportMnistOptions {
  method: string;
  train: number;
  test: number;
  epochs: number;
  seed: number;
  batch?: number;
  lr?: number;
}

export interface ExportMnistResult {
  method: string;
  /** The exported ModelProto (static batch = the number of test digits). */
  onnx: Uint8Array;
  /** The test images `[N, 28, 28, 1]` (row-major) and labels. */
  images: Float32Array;
  labels: number[];
  /** TensorFlow.js's predictions on the test images, `[N, 10]` softmax probabilities. */
  predictions: Float32Array;
  testAccuracy: number;
}

/**
 * The registry methods the example's network can hold (a 2-d layer whose output is a map, so
 * flatten → dense follows) and that ONNX can express in inference.
 */
export function mnistExportableMethods(): PoolMethod[] {
  return listPools().filter((m) => {
    if (!m.exports[2]) return false;
    try {
      const { model, pool } = buildModel(m, 1);
      // A layer that needs a further input (max-unpooling's indices) does not fit the example's Sequential.
      if (pool.inputKinds([1, 8, 28, 28]).some((k) => k.kind === "input")) return false;
      const options = { ...pool.resolveOptions([1, 8, 28, 28]), training: false, samples: "drawn by the layer" };
      model.dispose();
      return onnxSupport(m, options).supported;
    } catch {
      return false; // no map output (global, second-order, pyramid) or a further input (unpooling)
    }
  });
}

/** Train the example network with one method, export it, and keep tfjs's test predictions. */
export async function trainAndExport(o: ExportMnistOptions): Promise<ExportMnistResult> {
  const method = getPool(o.method);
  const train = digits(o.train, 0, o.seed);
  const test = digits(o.test, 600, o.seed + 1);
  const { model } = buildModel(method, o.seed);
  model.compile({ optimizer: tf.train.adam(o.lr ?? 0.01), loss: "categoricalCrossentropy", metrics: ["accuracy"] });
  // Seeded order (fit's own shuffle uses Math.random).
  const gen = new Generator(o.seed + 2);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = Array.from({ length: o.train }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(gen.uniform() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const idx = tf.tensor1d(order, "int32");
    const xs = tf.gather(train.xs, idx);
    const ys = tf.gather(train.ys, idx);
    await model.fit(xs, ys, { epochs: 1, batchSize: o.batch ?? 32, shuffle: false, verbose: 0 });
    tf.dispose([idx, xs, ys]);
  }
  const onnx = exportModel(model, { batchSize: o.test });
  const probs = model.predict(test.xs) as tf.Tensor2D;
  const predictions = probs.dataSync() as Float32Array;
  const labels = Array.from(tf.argMax(test.ys, 1).dataSync());
  const guessed = Array.from(tf.argMax(probs, 1).dataSync());
  const testAccuracy = guessed.filter((g, i) => g === labels[i]).length / labels.length;
  const images = test.xs.dataSync() as Float32Array;
  tf.dispose([train.xs, train.ys, test.xs, test.ys, probs]);
  model.dispose();
  return { method: method.name, onnx, images: Float32Array.from(images), labels, predictions: Float32Array.from(predictions), testAccuracy };
}

/** Index of the largest of each row of 10. */
export function argmaxRows(p: ArrayLike<number>, width = 10): number[] {
  const out: number[] = [];
  for (let r = 0; r * width < p.length; r++) {
    let best = 0;
    for (let c = 1; c < width; c++) if ((p[r * width + c] as number) > (p[r * width + best] as number)) best = c;
    out.push(best);
  }
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args[i + 1];
  };
  const num = (name: string, d: number): number => {
    const v = flag(name);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} needs a positive integer, got ${v}`);
    return n;
  };
  const methods = args.includes("--all") ? mnistExportableMethods().map((m) => m.name) : [flag("--method") ?? "soft"];
  const opts = { train: num("--train", 1000), test: num("--test", 500), epochs: num("--epochs", 1), seed: num("--seed", 1) };
  await tf.setBackend("cpu");
  // onnxruntime-node is a devDependency of poolkit: the check runs where it is installed.
  const ort = await import("onnxruntime-node");
  for (const method of methods) {
    const r = await trainAndExport({ method, ...opts });
    const out = flag("--out") ?? `mnist-${r.method.toLowerCase()}.onnx`;
    writeFileSync(out, r.onnx);
    const session = await ort.InferenceSession.create(r.onnx);
    const feeds = { [session.inputNames[0] as string]: new ort.Tensor("float32", r.images, [opts.test, 28, 28, 1]) };
    const got = (await session.run(feeds))[session.outputNames[0] as string]?.data as Float32Array;
    const same = argmaxRows(got).filter((g, i) => g === argmaxRows(r.predictions)[i]).length;
    const maxDiff = got.reduce((m, v, i) => Math.max(m, Math.abs(v - (r.predictions[i] as number))), 0);
    console.log(`${r.method}: test accuracy ${(100 * r.testAccuracy).toFixed(1)}%, wrote ${out} (${r.onnx.length} bytes); ONNX Runtime: same digit on ${same}/${opts.test}, max |Δp| ${maxDiff.toExponential(2)}`);
    await session.release();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
