/**
 * `exportModel(model)`: a whole TensorFlow.js LayersModel (Sequential or functional) — tfjs's common
 * layers plus every poolkit layer with its trained weights — as one ONNX model.
 */
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { DEFAULT_OPSET, Graph } from "./graph.js";
import { asTf, makeValue, OP, onnxShape } from "./modelLayout.js";
import { TFJS_LAYERS } from "./modelLayers.js";
import { convertPoolkitLayer, isPoolkitLayer } from "./modelPool.js";
import type { LayerContext, LayerLike, LayerNodeLike, LayersModelLike, SymbolicTensorLike, Value } from "./modelTypes.js";

export type { LayersModelLike, LayerLike, SymbolicTensorLike } from "./modelTypes.js";

/** Options of {@link exportModel}. */
export interface ExportModelOptions {
  /**
   * The batch size N written into the graph (ONNX shapes are static, as poolkit plans every window
   * at export time); default: the model's own fixed batch size, else 1. Run larger batches by
   * exporting with that size.
   */
  batchSize?: number;
  /** Default-domain opset, 17–21; default 17. */
  opset?: number;
}

/** Class names of tfjs's own layers {@link exportModel} converts (poolkit's layers come in addition). */
export const EXPORTABLE_TFJS_LAYERS: readonly string[] = Object.keys(TFJS_LAYERS);

function isModelLike(m: unknown): m is LayersModelLike {
  const o = m as Partial<LayersModelLike> | null;
  return typeof o === "object" && o !== null && Array.isArray(o.layers) && Array.isArray(o.inputs) && Array.isArray(o.outputs);
}

function staticShape(t: SymbolicTensorLike, batch: number, what: string): number[] {
  return t.shape.map((d, i) => {
    if (i === 0) return batch;
    if (d === null || d === undefined) {
      throw new PoolkitRangeError(OP, `${what} has an unknown dimension ${i} (shape ${show([...t.shape])}); ONNX export needs static sizes: give the model's input a full shape`);
    }
    return d;
  });
}

function weightsOf(layer: LayerLike): Map<string, { data: ArrayLike<number>; shape: readonly number[]; dtype: string }> {
  const out = new Map<string, { data: ArrayLike<number>; shape: readonly number[]; dtype: string }>();
  for (const v of layer.weights) {
    const name = v.originalName.slice(v.originalName.lastIndexOf("/") + 1);
    const t = v.read();
    out.set(name, { data: t.dataSync(), shape: [...t.shape], dtype: t.dtype });
  }
  return out;
}

/**
 * Export a TensorFlow.js `tf.LayersModel` — `tf.sequential(...)` or a functional `tf.model(...)`,
 * with any number of inputs and outputs — as an ONNX model (a serialised `ModelProto`) that computes
 * the model's `predict` in ONNX Runtime or any ONNX engine.
 *
 * Layers: tfjs's Conv1D/2D/3D, DepthwiseConv2D, SeparableConv2D, Dense, Activation (and the
 * `activation` of every layer: linear, relu, relu6, sigmoid, hardSigmoid, tanh, softmax, logSoftmax,
 * elu, selu, softplus, softsign, swish, mish, gelu, gelu_new), ReLU, LeakyReLU, ELU, ThresholdedReLU,
 * Softmax, BatchNormalization (inference: moving statistics), Dropout / SpatialDropout1D /
 * GaussianNoise / GaussianDropout / AlphaDropout (identity), Add, Multiply, Average,
 * Maximum, Minimum, Concatenate, ZeroPadding2D, Cropping2D, Max/AveragePooling1D–3D ("valid" and
 * TensorFlow's "same"), GlobalAverage/MaxPooling1D–2D, Flatten, Reshape, Permute — and every
 * poolkit layer (`layers.*` of poolkit/tfjs) whose method ONNX can express, through the same
 * emitters as `toOnnx`, with the layer's trained weights as initializers named `<layer>/<weight>`.
 * Any other layer is a PoolkitRangeError naming its class and name.
 *
 * Layout: tfjs computes channels-last (`[N, H, W, C]`), ONNX's Conv and pooling take channels-first.
 * Each graph input keeps tfjs's shape and is transposed once; the graph then stays `[N, C, H, W]`.
 * `Flatten` flattens the channels-first map as it is, and the following Dense gets its kernel rows
 * permuted to match (so no Transpose back is needed); any other reader of a flattened value gets the
 * features gathered back into tfjs's order. Reshape / Permute and the graph outputs see tfjs's own
 * order, so every output has exactly the shape and element order of `model.predict`.
 *
 * Graph inputs are named after the model's input layers, outputs after the layers producing them.
 * Shapes are static: the batch size is `opts.batchSize` (default the model's, else 1).
 *
 * The model is read structurally (its `layers`, `inputs`, `outputs`, each layer's `getConfig()`,
 * `weights` and `inboundNodes`), so poolkit/onnx does not import TensorFlow.js.
 *
 * @example
 * ```ts
 * import { exportModel } from "poolkit/onnx";
 * const bytes = exportModel(model, { batchSize: 1 }); // Uint8Array: write it to model.onnx
 * ```
 */
export function exportModel(model: LayersModelLike, opts: ExportModelOptions = {}): Uint8Array {
  if (!isModelLike(model)) throw new PoolkitTypeError(OP, `expected a tf.LayersModel (with layers, inputs and outputs), got ${show(model)}`);
  if (typeof opts !== "object" || opts === null) throw new PoolkitTypeError(OP, `expected an options object { batchSize?, opset? }, got ${show(opts)}`);
  for (const k of Object.keys(opts)) {
    if (k !== "batchSize" && k !== "opset") throw new PoolkitTypeError(OP, `unknown option ${JSON.stringify(k)}; known: batchSize, opset`);
  }
  const fixed = model.inputs.map((t) => t.shape[0]).find((d): d is number => typeof d === "number");
  const batch = opts.batchSize ?? fixed ?? 1;
  if (typeof batch !== "number" || !Number.isInteger(batch) || batch < 1) throw new PoolkitRangeError(OP, `batchSize must be a positive integer, got ${show(batch)}`);
  if (fixed !== undefined && batch !== fixed) throw new PoolkitRangeError(OP, `batchSize ${batch} differs from the model's fixed batch size ${fixed}`);

  const g = new Graph({ opset: opts.opset ?? DEFAULT_OPSET, name: model.name || "tfjs_model", floatType: "float32" });
  const values = new Map<number, Value>();
  const names = new Set<string>();
  const unique = (base: string): string => {
    let n = base;
    for (let k = 1; names.has(n); k++) n = `${base}_${k}`;
    names.add(n);
    return n;
  };

  model.inputs.forEach((t, i) => {
    const shape = staticShape(t, batch, `input ${i} ("${t.sourceLayer.name}")`);
    const type = t.dtype === "int32" ? "int32" : "float32";
    if (t.dtype !== "float32" && t.dtype !== "int32") throw new PoolkitTypeError(OP, `input "${t.sourceLayer.name}" has dtype ${t.dtype}; float32 and int32 inputs are supported`);
    const name = g.input(unique(t.sourceLayer.name), shape, type, `tfjs input ${JSON.stringify(t.name)}, shape ${JSON.stringify(shape)}`);
    values.set(t.id, makeValue(name, { kind: "tf" }, shape, type));
  });

  // Every call of every layer whose inputs are known, until nothing changes (tfjs lists a model's
  // layers in topological order, so this is one pass for almost every model).
  const calls: { layer: LayerLike; node: LayerNodeLike; k: number }[] = [];
  for (const layer of model.layers) layer.inboundNodes.forEach((node, k) => calls.push({ layer, node, k }));
  const done = new Set<LayerNodeLike>();
  const callIndex = new Map<LayerLike, number>();
  let progress = true;
  while (progress) {
    progress = false;
    for (const { layer, node } of calls) {
      if (done.has(node)) continue;
      if (node.inputTensors.length === 0 || !node.inputTensors.every((t) => values.has(t.id))) continue;
      if (node.outputTensors.every((t) => values.has(t.id))) {
        done.add(node);
        continue;
      }
      done.add(node);
      progress = true;
      const className = layer.getClassName();
      const k = callIndex.get(layer) ?? 0;
      callIndex.set(layer, k + 1);
      const ctx: LayerContext = {
        g,
        layer,
        className,
        config: layer.getConfig(),
        inputs: node.inputTensors.map((t) => values.get(t.id) as Value),
        outShapes: node.outputTensors.map((t) => t.shape.map((d, i) => (i === 0 ? batch : d ?? null))),
        weights: weightsOf(layer),
        prefix: k === 0 ? `${layer.name}/` : `${layer.name}_${k}/`,
      };
      let outs: Value[];
      if (isPoolkitLayer(layer)) outs = convertPoolkitLayer(ctx, layer);
      else {
        const convert = TFJS_LAYERS[className];
        if (!convert) {
          throw new PoolkitRangeError(
            OP,
            `layer "${layer.name}" (${className}) is not supported; supported: ${EXPORTABLE_TFJS_LAYERS.join(", ")} and poolkit's layers`,
          );
        }
        outs = convert(ctx);
      }
      if (outs.length !== node.outputTensors.length) throw new PoolkitRangeError(OP, `layer "${layer.name}" (${className}): ${outs.length} outputs written for ${node.outputTensors.length}`);
      node.outputTensors.forEach((t, i) => {
        const v = outs[i] as Value;
        const want = ctx.outShapes[i] as (number | null)[];
        // tfjs's own shape inference is the cross-check of every converter's geometry.
        if (v.tfShape.length !== want.length || v.tfShape.some((d, j) => want[j] !== null && d !== want[j])) {
          throw new PoolkitRangeError(OP, `layer "${layer.name}" (${className}): the exported output has shape ${show([...v.tfShape])} but tfjs's is ${show(want)}`);
        }
        values.set(t.id, v);
      });
    }
  }

  model.outputs.forEach((t, i) => {
    const v = values.get(t.id);
    if (!v) throw new PoolkitRangeError(OP, `output ${i} ("${t.name}") cannot be reached from the model's inputs`);
    const out = asTf(g, v);
    g.output(out.name, unique(t.sourceLayer.name), onnxShape(out), out.type, `tfjs output ${JSON.stringify(t.name)}`);
  });
  return g.toModel(`TensorFlow.js model ${JSON.stringify(model.name)} exported by poolkit`);
}
