/**
 * Test helpers for whole-model export: run a tfjs model's `predict` and its exported ONNX graph in
 * onnxruntime-node on the same inputs and compare every output; seeded weights; a minimal protobuf
 * reader listing the graph's node types (to check where Transposes are).
 */
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { exportModel, type ExportModelOptions } from "../../src/onnx/index.js";
import { Generator } from "../../src/tensor/random.js";

/** Standard normal float32 values from poolkit's seeded generator. */
export function normals(shape: readonly number[], seed: number, scale = 1): tf.Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => scale * g.normal()), [...shape]);
}

/**
 * Seeded weights for every tfjs layer (tfjs's initialisers draw from Math.random): normals, with
 * batch-norm variances made positive and biases non-zero. poolkit layers: `perturbPoolkit`.
 */
export function seedWeights(model: tf.LayersModel, seed: number): void {
  const g = new Generator(seed);
  for (const layer of model.layers) {
    if (layer.getClassName().startsWith("Poolkit>")) continue;
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    const names = layer.weights.map((w) => w.originalName.slice(w.originalName.lastIndexOf("/") + 1));
    layer.setWeights(
      ws.map((w, i) => {
        const name = names[i] as string;
        const v = Float32Array.from({ length: w.size }, () => (name === "moving_variance" ? 0.5 + Math.abs(g.normal()) : 0.5 * g.normal()));
        return tf.tensor(v, w.shape);
      }),
    );
  }
}

/**
 * Move a poolkit layer's float weights away from their initial values (so the export must read the
 * layer's weights, not re-derive the registry's initialisation): +0.1·N(0, 1), mixing proportions kept
 * in [0, 1], DynOPool's ratio r kept (it sets the output size tfjs already planned).
 */
export function perturbPoolkit(layer: tf.layers.Layer, seed: number): void {
  const g = new Generator(seed);
  const names = layer.weights.map((w) => w.originalName.slice(w.originalName.lastIndexOf("/") + 1));
  const ws = layer.getWeights();
  if (ws.length === 0) return;
  layer.setWeights(
    ws.map((w, i) => {
      const name = names[i] as string;
      if (w.dtype !== "float32" || name === "r") return w.clone();
      const d = w.dataSync();
      const v = Float32Array.from(d, (x) => (name === "alpha" ? 0.5 * x + 0.25 : x + 0.1 * g.normal()));
      return tf.tensor(v, w.shape);
    }),
  );
}

export interface CompareOptions extends ExportModelOptions {
  /** Bit-identical outputs (max-type layers on exact inputs). */
  exact?: boolean;
  rtol?: number;
  atol?: number;
}

/** Run the exported model in ONNX Runtime on `inputs` (in model input order); outputs in model output order. */
export async function runExported(bytes: Uint8Array, inputs: readonly tf.Tensor[]): Promise<{ data: Float32Array | Int32Array; dims: readonly number[] }[]> {
  const session = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, ort.Tensor> = {};
  session.inputNames.forEach((name, i) => {
    const t = inputs[i] as tf.Tensor;
    feeds[name] = t.dtype === "int32" ? new ort.Tensor("int32", t.dataSync() as Int32Array, t.shape) : new ort.Tensor("float32", t.dataSync() as Float32Array, t.shape);
  });
  const out = await session.run(feeds);
  const result = session.outputNames.map((n) => {
    const t = out[n] as ort.Tensor;
    return { data: t.data as Float32Array | Int32Array, dims: t.dims };
  });
  await session.release();
  return result;
}

/**
 * Export `model`, run it in ONNX Runtime and compare with tfjs's `predict` on the same inputs:
 * |onnx − tfjs| ≤ atol + rtol·|tfjs| (default 1e-5 each), or bit-identical with `exact`.
 * Returns the exported bytes.
 */
export async function compareModel(model: tf.LayersModel, inputs: readonly tf.Tensor[], o: CompareOptions = {}): Promise<Uint8Array> {
  const { exact, rtol = 1e-5, atol = 1e-5, ...exportOpts } = o;
  const bytes = exportModel(model, { batchSize: inputs[0]?.shape[0] ?? 1, ...exportOpts });
  const predicted = model.predict(inputs.length === 1 ? (inputs[0] as tf.Tensor) : [...inputs]);
  const want = Array.isArray(predicted) ? predicted : [predicted];
  const got = await runExported(bytes, inputs);
  if (got.length !== want.length) throw new Error(`${model.name}: ${got.length} ONNX outputs for ${want.length} tfjs outputs`);
  want.forEach((w, k) => {
    const name = model.outputs[k]?.name ?? String(k);
    const g = got[k] as { data: Float32Array | Int32Array; dims: readonly number[] };
    if (JSON.stringify([...g.dims]) !== JSON.stringify(w.shape)) throw new Error(`${name}: ONNX shape ${JSON.stringify(g.dims)}, tfjs ${JSON.stringify(w.shape)}`);
    const e = w.dataSync();
    for (let i = 0; i < e.length; i++) {
      const a = g.data[i] as number;
      const b = e[i] as number;
      const ok = exact ? Object.is(a, b) || a === b : Number.isNaN(b) ? Number.isNaN(a) : Math.abs(a - b) <= atol + rtol * Math.abs(b);
      if (!ok) throw new Error(`${name}: element ${i} differs: onnx ${a}, tfjs ${b}`);
    }
  });
  tf.dispose(want);
  return bytes;
}

// --- a minimal protobuf reader: ModelProto.graph (7) → GraphProto.node (1) → NodeProto.op_type (4)

function fields(buf: Uint8Array): { field: number; bytes?: Uint8Array }[] {
  const out: { field: number; bytes?: Uint8Array }[] = [];
  let p = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[p++] as number;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  while (p < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      const len = varint();
      out.push({ field, bytes: buf.subarray(p, p + len) });
      p += len;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

/** The op types of the graph's nodes, in order. */
export function opTypes(model: Uint8Array): string[] {
  const graph = fields(model).find((f) => f.field === 7)?.bytes;
  if (!graph) throw new Error("no graph");
  return fields(graph)
    .filter((f) => f.field === 1)
    .map((n) => new TextDecoder().decode(fields(n.bytes as Uint8Array).find((f) => f.field === 4)?.bytes));
}
