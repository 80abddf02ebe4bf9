/**
 * poolkit's own tfjs layers (`poolkit/tfjs` `layers.*`, class names `Poolkit>…`) in a whole-model
 * export: each layer resolves its options for the actual input size exactly as its `call` does
 * (tfjs-style config → poolkit options, "same" padding, eval mode, the inference seed), and its
 * method's nodes are added by {@link emitPool} with the layer's trained weights as initializers.
 * The layer object is read structurally (poolkit/onnx does not import TensorFlow.js).
 */
import { PoolkitRangeError } from "../errors.js";
import { fractionalMaxPool2dWithIndices, fractionalMaxPool3dWithIndices } from "../ops/fractionalMaxPool.js";
import type { InputSpec, PoolMethod } from "../registry.js";
import { tensor } from "../tensor/tensor.js";
import type { HostTensor } from "./emitters.js";
import { attr } from "./graph.js";
import { asTf, channelsFirstInput, makeValue, OP, onnxShape, permute, resultLike } from "./modelLayout.js";
import type { LayerContext, LayerLike, Value } from "./modelTypes.js";
import { emitPool, type ParamValue } from "./toOnnx.js";

/** The part of a poolkit tfjs layer (`PoolkitPoolLayer`) the exporter reads. */
export interface PoolkitLayerLike extends LayerLike {
  readonly method: PoolMethod;
  readonly dataFormat: "channelsLast" | "channelsFirst";
  resolveOptions(cfShape: readonly number[]): Record<string, unknown>;
  inputKinds(cfShape: readonly (number | null)[]): { spec: InputSpec; kind: "weight" | "computed" | "input" }[];
}

/** Is this one of poolkit's tfjs layers? */
export function isPoolkitLayer(layer: LayerLike): layer is PoolkitLayerLike {
  const l = layer as Partial<PoolkitLayerLike>;
  return layer.getClassName().startsWith("Poolkit>") && typeof l.resolveOptions === "function" && typeof l.inputKinds === "function" && typeof l.method === "object";
}

/** LIP's SoftGate coefficient and InstanceNorm ε (src/tfjs/layers.ts LocalImportancePoolLayer: sebgao/LIP `COEFF = 12`, PyTorch InstanceNorm2d eps). */
const LIP_COEFF = 12;
const LIP_EPS = 1e-5;

/**
 * Convert one call of a poolkit layer. Weights: the method's learnable inputs (by registry name),
 * DPP's full-variant `filter`, LIP's logit module (`logitKernel`, `logitGamma`, `logitBeta`) and
 * compact bilinear's saved sketch (non-trainable int32 weights, handed over as the op's `params`).
 */
export function convertPoolkitLayer(ctx: LayerContext, layer: PoolkitLayerLike): Value[] {
  const g = ctx.g;
  const who = `layer "${layer.name}" (${ctx.className})`;
  const fail = (msg: string): never => {
    throw new PoolkitRangeError(OP, `${who}: ${msg}`);
  };
  const m = layer.method;
  const [x0, ...rest] = ctx.inputs;
  if (!x0) return fail(`called without inputs`);
  const x = channelsFirstInput(g, x0, layer.dataFormat, who);
  const xShape = onnxShape(x);
  const rank = (xShape.length - 2) as 1 | 2 | 3;
  const config = ctx.config;
  let options: Record<string, unknown>;
  try {
    options = layer.resolveOptions(xShape);
  } catch (e) {
    return fail((e as Error).message);
  }
  // As the layer's call in predict: eval mode, and random methods with the fixed inference seed.
  if (m.trainEval) options.training = false;
  if (m.random) options.seed = typeof config.seed === "number" ? config.seed : 0;
  // Compact bilinear's saved sketch (what the layer's call passes as the op's `params`).
  const extra = (layer as unknown as { extraOptions?: () => Record<string, unknown> }).extraOptions?.() ?? {};
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete options[k];
    else options[k] = v;
  }
  if (m.name === "FractionalMax") {
    // The windows the layer draws in predict: poolkit's own draw from the same seed (it depends on the shape only).
    const op = rank === 3 ? fractionalMaxPool3dWithIndices : fractionalMaxPool2dWithIndices;
    const probe = tensor(new Float32Array(xShape.reduce((a, b) => a * b, 1)), xShape);
    options.samples = op(probe, options as unknown as Parameters<typeof op>[1]).samples;
  }

  const kinds = layer.inputKinds(xShape);
  const params: Record<string, ParamValue> = {};
  const used = new Set<string>();
  const w = (name: string): HostTensor & { dtype: string } => {
    const v = ctx.weights.get(name);
    if (!v) return fail(`weight "${name}" is missing; is the layer built?`);
    used.add(name);
    return v;
  };
  for (const { spec, kind } of kinds) if (kind === "weight" && spec.role === "learnable") params[spec.name] = w(spec.name);
  if (ctx.weights.has("filter")) params.filter = w("filter");
  // Compact bilinear's sketch weights reach the emitter through the `params` option.
  for (const k of ctx.weights.keys()) if (extra.params && typeof extra.params === "object" && k in (extra.params as object)) used.add(k);

  let next = 0;
  const dataInput = (spec: InputSpec): { value: string; shape: readonly number[] } | null => {
    const kind = kinds.find((e) => e.spec === spec)?.kind;
    if (kind === "computed") {
      if (m.name !== "LIP") return fail(`the layer computes its input "${spec.name}" in a way the exporter does not know`);
      const v = lipLogits(ctx, x, w("logitKernel"), w("logitGamma"), w("logitBeta"));
      return { value: v, shape: xShape };
    }
    if (kind === "weight") {
      // A constant input the layer owns as a weight: no registry method has one today.
      return fail(`the layer holds its input "${spec.name}" as a weight, which the exporter does not support`);
    }
    const v = rest[next++];
    if (!v) {
      // Optional trailing inputs (bilinear's second stream) may be left out, as the layer allows.
      return null;
    }
    const inp = v.tfShape.length >= 3 ? channelsFirstInput(g, v, layer.dataFormat, who) : asTf(g, v);
    return { value: inp.name, shape: onnxShape(inp) };
  };
  let result;
  try {
    result = emitPool(g, m, { x: x.name, xShape, options, params, prefix: ctx.prefix, dataInput });
  } catch (e) {
    return fail((e as Error).message);
  }
  if (next < rest.length) fail(`got ${rest.length + 1} inputs, the method takes ${next + 1}`);
  for (const k of ctx.weights.keys()) if (!used.has(k)) fail(`weight "${k}" is not understood by the exporter`);
  const y = result.shape.length >= 3 ? resultLike(x, result.output, result.shape) : makeValue(result.output, { kind: "tf" }, result.shape);
  return [y];
}

/**
 * LIP's logit module (src/tfjs/layers.ts LocalImportancePoolLayer, SimplifiedLIP of sebgao/LIP):
 * 12·σ(InstanceNorm_affine(conv3×3(x, "same", no bias))), ε 1e-5, biased variance.
 */
function lipLogits(ctx: LayerContext, x: Value, kernel: HostTensor, gamma: HostTensor, beta: HostTensor): string {
  const g = ctx.g;
  const W = g.addInitializer(permute(kernel, [3, 2, 0, 1]).data, [kernel.shape[3] as number, kernel.shape[2] as number, 3, 3], "float32", `${ctx.prefix}logitKernel`);
  const z = g.node("Conv", [x.name, W], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([1, 1]) });
  const zn = g.node("InstanceNormalization", [z, g.addInitializer(gamma.data, gamma.shape, "float32", `${ctx.prefix}logitGamma`), g.addInitializer(beta.data, beta.shape, "float32", `${ctx.prefix}logitBeta`)], {
    epsilon: attr.float(LIP_EPS),
  });
  return g.node("Mul", [g.node("Sigmoid", [zn]), g.constFloat([LIP_COEFF], [])]);
}
