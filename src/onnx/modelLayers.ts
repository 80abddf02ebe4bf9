/**
 * Converters of TensorFlow.js's own layers (tfjs-layers 4.x class names) for {@link exportModel}.
 * Each computes the layer's inference (`predict`) output: convolutions, dense, activations,
 * batch normalisation with the moving statistics, dropout-like layers as the identity, merges,
 * padding / cropping, tfjs's pooling with TensorFlow's "same" placement, global pooling, flatten,
 * reshape and permute. Formulas cite the tfjs-layers / tfjs-core source they follow.
 */
import { PoolkitRangeError } from "../errors.js";
import type { HostTensor } from "./emitters.js";
import { attr, type Attr, type Graph } from "./graph.js";
import { asCf, asTf, channelsFirstInput, makeValue, OP, onnxAxis, onnxShape, permute, resultLike } from "./modelLayout.js";
import type { LayerContext, LayerConverter, Value } from "./modelTypes.js";
import { reduce } from "./ops.js";

const who = (ctx: LayerContext): string => `layer "${ctx.layer.name}" (${ctx.className})`;

function fail(ctx: LayerContext, msg: string): never {
  throw new PoolkitRangeError(OP, `${who(ctx)}: ${msg}`);
}

function ints(ctx: LayerContext, key: string, v: unknown, rank: number, dflt?: number): number[] {
  if (v === undefined || v === null) {
    if (dflt === undefined) fail(ctx, `config.${key} is missing`);
    return new Array<number>(rank).fill(dflt);
  }
  if (typeof v === "number") return new Array<number>(rank).fill(v);
  if (Array.isArray(v) && v.length === rank && v.every((e) => typeof e === "number")) return v as number[];
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === "number") return new Array<number>(rank).fill(v[0]);
  return fail(ctx, `config.${key} must be a number or ${rank} numbers, got ${JSON.stringify(v)}`);
}

function weight(ctx: LayerContext, name: string): HostTensor {
  const w = ctx.weights.get(name);
  if (!w) fail(ctx, `weight "${name}" is missing (the layer has ${[...ctx.weights.keys()].join(", ") || "no weights"}; is it built?)`);
  return w;
}

function init(ctx: LayerContext, name: string, t: HostTensor): string {
  return ctx.g.addInitializer(t.data, t.shape, "float32", `${ctx.prefix}${name}`);
}

function only(ctx: LayerContext): Value {
  const x = ctx.inputs[0];
  if (!x || ctx.inputs.length !== 1) fail(ctx, `expected one input, got ${ctx.inputs.length}`);
  return x;
}

/**
 * TensorFlow's explicit padding of `padding` for one spatial axis (tfjs-core conv_util.ts
 * `getPadAndOutInfo`): "same" → output ⌈in / s⌉, total = max((out − 1)·s + (k − 1)·d + 1 − in, 0),
 * ⌊total / 2⌋ before and the rest (the extra one) after; "valid" → none.
 */
export function tfPads(ctx: LayerContext, padding: unknown, spatial: readonly number[], k: readonly number[], s: readonly number[], d: readonly number[]): { before: number[]; after: number[] } {
  const before: number[] = [];
  const after: number[] = [];
  spatial.forEach((inSize, i) => {
    const eff = ((k[i] as number) - 1) * (d[i] as number) + 1;
    if (padding === "valid" || padding === undefined) {
      before.push(0);
      after.push(0);
    } else if (padding === "same") {
      const out = Math.ceil(inSize / (s[i] as number));
      const total = Math.max((out - 1) * (s[i] as number) + eff - inSize, 0);
      before.push(Math.floor(total / 2));
      after.push(total - Math.floor(total / 2));
    } else if (padding === "causal") {
      // tfjs-layers 4.x throws NotImplementedError for it in predict: there is nothing to reproduce.
      fail(ctx, `padding "causal" is not implemented by TensorFlow.js itself; use "valid" or "same"`);
    } else fail(ctx, `padding must be "valid" or "same", got ${JSON.stringify(padding)}`);
  });
  return { before, after };
}

function outSize(inSize: number, k: number, s: number, d: number, before: number, after: number): number {
  return Math.floor((inSize + before + after - ((k - 1) * d + 1)) / s) + 1;
}

// ---------------------------------------------------------------------------------------------
// Activations (tfjs-layers activations.ts; tfjs-layers backend hardSigmoid / softsign)

const SELU_ALPHA = 1.6732632423543772848170429916717; // tfjs-core selu_util.ts SELU_SCALEALPHA / SELU_SCALE
const SELU_SCALE = 1.0507009873554804934193349852946;

/** The names of the activations {@link activation} writes (every activation tfjs-layers 4.x has). */
export const ACTIVATIONS = ["linear", "relu", "relu6", "sigmoid", "hardSigmoid", "tanh", "softmax", "logSoftmax", "elu", "selu", "softplus", "softsign", "swish", "mish", "gelu", "gelu_new"] as const;

/** Apply a tfjs activation by name (softmax over the tfjs tensor's last axis). */
export function activation(g: Graph, v: Value, name: unknown, whoami: string): Value {
  if (name === undefined || name === null || name === "linear") return v;
  const x = v.name;
  const c = (n: number): string => g.constFloat([n], []);
  const same = (y: string): Value => ({ ...v, name: y, memo: {} });
  switch (name) {
    case "relu":
      return same(g.node("Relu", [x]));
    case "relu6":
      return same(g.node("Clip", [x, c(0), c(6)]));
    case "sigmoid":
      return same(g.node("Sigmoid", [x]));
    case "hardSigmoid": // clip(0.2·x + 0.5, 0, 1)
      return same(g.node("HardSigmoid", [x], { alpha: attr.float(0.2), beta: attr.float(0.5) }));
    case "tanh":
      return same(g.node("Tanh", [x]));
    case "softmax":
    case "logSoftmax": {
      // tfjs normalises over the last axis; a flattened channels-first value holds the same features in another order, which softmax does not see.
      const axis = v.layout.kind === "cfflat" ? 1 : onnxAxis(v, -1, whoami);
      return same(g.node(name === "softmax" ? "Softmax" : "LogSoftmax", [x], { axis: attr.int(axis) }));
    }
    case "elu":
      return same(g.node("Elu", [x], { alpha: attr.float(1) }));
    case "selu":
      return same(g.node("Selu", [x], { alpha: attr.float(SELU_ALPHA), gamma: attr.float(SELU_SCALE) }));
    case "softplus":
      return same(g.node("Softplus", [x]));
    case "softsign":
      return same(g.node("Softsign", [x]));
    case "swish": // x·σ(x)
      return same(g.node("Mul", [g.node("Sigmoid", [x]), x]));
    case "mish": // x·tanh(softplus(x))
      return same(g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x])])]));
    case "gelu": // x·½(1 + erf(x/√2))
      return same(g.node("Mul", [x, g.node("Mul", [c(0.5), g.node("Add", [c(1), g.node("Erf", [g.node("Div", [x, c(Math.SQRT2)])])])])]));
    case "gelu_new": {
      // ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      const cube = g.node("Pow", [x, c(3)]);
      const inner = g.node("Mul", [c(Math.sqrt(2 / Math.PI)), g.node("Add", [x, g.node("Mul", [c(0.044715), cube])])]);
      return same(g.node("Mul", [c(0.5), g.node("Mul", [x, g.node("Add", [c(1), g.node("Tanh", [inner])])])]));
    }
    default:
      throw new PoolkitRangeError(OP, `${whoami}: activation ${JSON.stringify(name)} is not supported; supported: ${ACTIVATIONS.join(", ")}`);
  }
}

const act = (ctx: LayerContext, v: Value): Value => activation(ctx.g, v, ctx.config.activation, who(ctx));

// ---------------------------------------------------------------------------------------------
// Convolutions

function convNode(ctx: LayerContext, x: Value, W: string, B: string | undefined, k: number[], s: number[], d: number[], group: number, outC: number, padding: unknown): Value {
  const xs = onnxShape(x);
  const spatial = xs.slice(2);
  const { before, after } = tfPads(ctx, padding, spatial, k, s, d);
  const attrs: Record<string, Attr> = {
    kernel_shape: attr.ints(k),
    strides: attr.ints(s),
    dilations: attr.ints(d),
    pads: attr.ints([...before, ...after]),
    group: attr.int(group),
  };
  const y = ctx.g.node("Conv", B === undefined ? [x.name, W] : [x.name, W, B], attrs);
  const out = spatial.map((n, i) => outSize(n, k[i] as number, s[i] as number, d[i] as number, before[i] as number, after[i] as number));
  return resultLike(x, y, [xs[0] as number, outC, ...out]);
}

/** Conv1D / Conv2D / Conv3D: kernel `[...k, Cin, Cout]` → ONNX `[Cout, Cin, ...k]`. */
const conv: LayerConverter = (ctx) => {
  const x = channelsFirstInput(ctx.g, only(ctx), ctx.config.dataFormat, who(ctx));
  const rank = x.tfShape.length - 2;
  const kernel = weight(ctx, "kernel");
  const k = kernel.shape.slice(0, rank);
  const s = ints(ctx, "strides", ctx.config.strides, rank, 1);
  const d = ints(ctx, "dilationRate", ctx.config.dilationRate, rank, 1);
  const W = init(ctx, "kernel", permute(kernel, [rank + 1, rank, ...Array.from({ length: rank }, (_, i) => i)]));
  const B = ctx.config.useBias === false ? undefined : init(ctx, "bias", weight(ctx, "bias"));
  return [act(ctx, convNode(ctx, x, W, B, k, s, d, 1, kernel.shape[rank + 1] as number, ctx.config.padding))];
};

/** Depthwise kernel `[...k, C, M]` → grouped-Conv weight `[C·M, 1, ...k]` (output channel c·M + m, as tfjs). */
function depthwiseWeight(t: HostTensor, rank: number): HostTensor {
  const p = permute(t, [rank, rank + 1, ...Array.from({ length: rank }, (_, i) => i)]); // [C, M, ...k]
  const c = t.shape[rank] as number;
  const m = t.shape[rank + 1] as number;
  return { data: p.data, shape: [c * m, 1, ...t.shape.slice(0, rank)] };
}

const depthwiseConv: LayerConverter = (ctx) => {
  const x = channelsFirstInput(ctx.g, only(ctx), ctx.config.dataFormat, who(ctx));
  const rank = x.tfShape.length - 2;
  const kernel = weight(ctx, "depthwise_kernel");
  const c = kernel.shape[rank] as number;
  const m = kernel.shape[rank + 1] as number;
  const s = ints(ctx, "strides", ctx.config.strides, rank, 1);
  const d = ints(ctx, "dilationRate", ctx.config.dilationRate, rank, 1);
  const W = init(ctx, "depthwise_kernel", depthwiseWeight(kernel, rank));
  const B = ctx.config.useBias === false ? undefined : init(ctx, "bias", weight(ctx, "bias"));
  return [act(ctx, convNode(ctx, x, W, B, kernel.shape.slice(0, rank), s, d, c, c * m, ctx.config.padding))];
};

/** SeparableConv2D: depthwise (strides, padding, dilation; no bias) then a pointwise 1×1 convolution with the bias. */
const separableConv: LayerConverter = (ctx) => {
  const x = channelsFirstInput(ctx.g, only(ctx), ctx.config.dataFormat, who(ctx));
  const rank = x.tfShape.length - 2;
  const dk = weight(ctx, "depthwise_kernel");
  const pk = weight(ctx, "pointwise_kernel");
  const c = dk.shape[rank] as number;
  const m = dk.shape[rank + 1] as number;
  const s = ints(ctx, "strides", ctx.config.strides, rank, 1);
  const d = ints(ctx, "dilationRate", ctx.config.dilationRate, rank, 1);
  const Wd = init(ctx, "depthwise_kernel", depthwiseWeight(dk, rank));
  const mid = convNode(ctx, x, Wd, undefined, dk.shape.slice(0, rank), s, d, c, c * m, ctx.config.padding);
  const ones = new Array<number>(rank).fill(1);
  const filters = pk.shape[rank + 1] as number;
  const Wp = init(ctx, "pointwise_kernel", permute(pk, [rank + 1, rank, ...Array.from({ length: rank }, (_, i) => i)]));
  const B = ctx.config.useBias === false ? undefined : init(ctx, "bias", weight(ctx, "bias"));
  const midIn = mid.layout.kind === "cf" ? mid : asTf(ctx.g, mid);
  return [act(ctx, convNode(ctx, midIn, Wp, B, ones, ones, ones, 1, filters, "valid"))];
};

// ---------------------------------------------------------------------------------------------
// Dense

/**
 * Dense: `y = x·W + b` over the last axis. On a flattened channels-first value the kernel's rows are
 * permuted instead of the features (no Transpose before Flatten); on a channels-first map it is a 1×1
 * convolution (the last tfjs axis is the channel axis).
 */
const dense: LayerConverter = (ctx) => {
  const g = ctx.g;
  const x = only(ctx);
  const kernel = weight(ctx, "kernel"); // [in, units]
  const units = kernel.shape[1] as number;
  const bias = ctx.config.useBias === false ? undefined : weight(ctx, "bias");
  const r = x.tfShape.length;
  if (x.layout.kind === "cf") {
    const rank = r - 2;
    const ones = new Array<number>(rank).fill(1);
    const W = permute(kernel, [1, 0]);
    const Wn = init(ctx, "kernel", { data: W.data, shape: [units, kernel.shape[0] as number, ...ones] });
    const B = bias ? init(ctx, "bias", bias) : undefined;
    return [act(ctx, convNode(ctx, x, Wn, B, ones, ones, ones, 1, units, "valid"))];
  }
  let W: HostTensor = kernel;
  if (x.layout.kind === "cfflat") {
    const { spatial, c } = x.layout;
    const S = spatial.reduce((a, b) => a * b, 1);
    const rows = new Float32Array(kernel.data.length);
    // Row c·|S| + s of the permuted kernel is row s·C + c of tfjs's.
    for (let ch = 0; ch < c; ch++) {
      for (let s = 0; s < S; s++) {
        const src = (s * c + ch) * units;
        const dst = (ch * S + s) * units;
        for (let u = 0; u < units; u++) rows[dst + u] = kernel.data[src + u] as number;
      }
    }
    W = { data: rows, shape: kernel.shape };
  }
  const Wn = init(ctx, "kernel", W);
  let y: string;
  if (r === 2) {
    y = g.node("Gemm", bias ? [x.name, Wn, init(ctx, "bias", bias)] : [x.name, Wn]);
  } else {
    y = g.node("MatMul", [x.name, Wn]);
    if (bias) y = g.node("Add", [y, init(ctx, "bias", bias)]);
  }
  return [act(ctx, makeValue(y, { kind: "tf" }, [...x.tfShape.slice(0, -1), units]))];
};

// ---------------------------------------------------------------------------------------------
// Activation layers

const activationLayer: LayerConverter = (ctx) => [act(ctx, only(ctx))];

const unary = (f: (ctx: LayerContext, x: Value) => string): LayerConverter => (ctx) => {
  const x = only(ctx);
  return [{ ...x, name: f(ctx, x), memo: {} }];
};

/** ReLU layer: clip(x, 0, maxValue) with a maxValue, else relu. */
const reluLayer = unary((ctx, x) => {
  const max = ctx.config.maxValue;
  if (max === undefined || max === null) return ctx.g.node("Relu", [x.name]);
  return ctx.g.node("Clip", [x.name, ctx.g.constFloat([0], []), ctx.g.constFloat([max as number], [])]);
});
const leakyRelu = unary((ctx, x) => ctx.g.node("LeakyRelu", [x.name], { alpha: attr.float((ctx.config.alpha as number | undefined) ?? 0.3) }));
const eluLayer = unary((ctx, x) => ctx.g.node("Elu", [x.name], { alpha: attr.float((ctx.config.alpha as number | undefined) ?? 1) }));
/** x where x > θ, else 0. */
const thresholdedRelu = unary((ctx, x) => ctx.g.node("ThresholdedRelu", [x.name], { alpha: attr.float((ctx.config.theta as number | undefined) ?? 1) }));

const softmaxLayer: LayerConverter = (ctx) => {
  let x = only(ctx);
  const axisCfg = ctx.config.axis ?? -1;
  const axis = Array.isArray(axisCfg) && axisCfg.length === 1 ? (axisCfg[0] as number) : axisCfg;
  if (typeof axis !== "number") fail(ctx, `only a single softmax axis is supported, got ${JSON.stringify(axisCfg)}`);
  if (x.layout.kind === "cfflat") x = asTf(ctx.g, x);
  return [{ ...x, name: ctx.g.node("Softmax", [x.name], { axis: attr.int(onnxAxis(x, axis, who(ctx))) }), memo: {} }];
};

// ---------------------------------------------------------------------------------------------
// Normalisation, identity layers

/**
 * BatchNormalization in inference: (x − movingMean) / √(movingVariance + ε) · γ + β over `axis`
 * (tfjs-layers normalization.ts with `training` false). ONNX BatchNormalization where the axis is the
 * ONNX channel axis 1, else the same formula with broadcast constants.
 */
const batchNorm: LayerConverter = (ctx) => {
  const g = ctx.g;
  let x = only(ctx);
  if (x.layout.kind === "cfflat") x = asTf(g, x);
  const axisCfg = ctx.config.axis ?? -1;
  const axisTf = Array.isArray(axisCfg) && axisCfg.length === 1 ? (axisCfg[0] as number) : axisCfg;
  if (typeof axisTf !== "number") fail(ctx, `only a single normalisation axis is supported, got ${JSON.stringify(axisCfg)}`);
  const axis = onnxAxis(x, axisTf, who(ctx));
  const shape = onnxShape(x);
  const c = shape[axis] as number;
  const eps = (ctx.config.epsilon as number | undefined) ?? 1e-3;
  const mean = weight(ctx, "moving_mean");
  const variance = weight(ctx, "moving_variance");
  const gamma = ctx.config.scale === false ? { data: new Float32Array(c).fill(1), shape: [c] } : weight(ctx, "gamma");
  const beta = ctx.config.center === false ? { data: new Float32Array(c), shape: [c] } : weight(ctx, "beta");
  if (axis === 1) {
    const y = g.node("BatchNormalization", [x.name, init(ctx, "gamma", gamma), init(ctx, "beta", beta), init(ctx, "moving_mean", mean), init(ctx, "moving_variance", variance)], {
      epsilon: attr.float(eps),
    });
    return [{ ...x, name: y, memo: {} }];
  }
  const bshape = shape.map((d, i) => (i === axis ? d : 1));
  const factor = Float32Array.from({ length: c }, (_, i) => (gamma.data[i] as number) / Math.sqrt(Math.fround((variance.data[i] as number) + eps)));
  const centred = g.node("Sub", [x.name, g.addInitializer(mean.data, bshape, "float32", `${ctx.prefix}moving_mean`)]);
  const y = g.node("Add", [g.node("Mul", [centred, g.addInitializer(factor, bshape, "float32", `${ctx.prefix}scale`)]), g.addInitializer(beta.data, bshape, "float32", `${ctx.prefix}beta`)]);
  return [{ ...x, name: y, memo: {} }];
};

/** Dropout-like layers are the identity in inference (tfjs runs them only with `training: true`). */
const identity: LayerConverter = (ctx) => [only(ctx)];

// ---------------------------------------------------------------------------------------------
// Merges

/** The inputs in one common layout: their own when they all share it, else tfjs's order. */
function common(ctx: LayerContext): Value[] {
  const xs = ctx.inputs;
  const first = xs[0];
  if (!first) fail(ctx, `expected inputs`);
  const sameShape = xs.every((v) => v.tfShape.length === first.tfShape.length && v.tfShape.every((d, i) => d === first.tfShape[i]));
  const sameLayout = xs.every((v) => JSON.stringify(v.layout) === JSON.stringify(first.layout));
  if (sameShape && sameLayout) return [...xs];
  if (sameShape && first.layout.kind === "cf" && xs.every((v) => v.layout.kind !== "cfflat")) return xs.map((v) => asCf(ctx.g, v, who(ctx)));
  return xs.map((v) => asTf(ctx.g, v));
}

const merge = (op: "Sum" | "Mul" | "Mean" | "Max" | "Min"): LayerConverter => (ctx) => {
  const xs = common(ctx);
  const first = xs[0] as Value;
  if (!xs.every((v) => v.tfShape.every((d, i) => d === first.tfShape[i]) && v.tfShape.length === first.tfShape.length)) {
    fail(ctx, `inputs of different shapes (${xs.map((v) => JSON.stringify(v.tfShape)).join(", ")}) are not supported`);
  }
  let y: string;
  // tfjs multiplies pairwise from the left; ONNX's Mul is binary.
  if (op === "Mul") y = xs.slice(1).reduce((a, v) => ctx.g.node(op, [a, v.name]), first.name);
  else y = ctx.g.node(op, xs.map((v) => v.name));
  return [{ ...first, name: y, memo: {} }];
};

const concatenate: LayerConverter = (ctx) => {
  let xs = common(ctx);
  if (xs.some((v) => v.layout.kind === "cfflat")) xs = xs.map((v) => asTf(ctx.g, v));
  const first = xs[0] as Value;
  const axisTf = (ctx.config.axis as number | undefined) ?? -1;
  const axis = onnxAxis(first, axisTf, who(ctx));
  const y = ctx.g.node("Concat", xs.map((v) => v.name), { axis: attr.int(axis) });
  const a = axisTf < 0 ? axisTf + first.tfShape.length : axisTf;
  const tfShape = first.tfShape.map((d, i) => (i === a ? xs.reduce((s, v) => s + (v.tfShape[i] as number), 0) : d));
  return [makeValue(y, first.layout, tfShape)];
};

// ---------------------------------------------------------------------------------------------
// Padding, cropping

function pairs(ctx: LayerContext, key: string, v: unknown): [number, number][] {
  if (typeof v === "number") return [[v, v], [v, v]];
  if (Array.isArray(v) && v.length === 2) {
    return v.map((e) => {
      if (typeof e === "number") return [e, e] as [number, number];
      if (Array.isArray(e) && e.length === 2 && e.every((n) => typeof n === "number")) return e as [number, number];
      return fail(ctx, `config.${key} must be a number, [a, b] or [[top, bottom], [left, right]], got ${JSON.stringify(v)}`);
    });
  }
  return fail(ctx, `config.${key} must be a number, [a, b] or [[top, bottom], [left, right]], got ${JSON.stringify(v)}`);
}

const zeroPadding2d: LayerConverter = (ctx) => {
  const x = channelsFirstInput(ctx.g, only(ctx), ctx.config.dataFormat, who(ctx));
  const p = pairs(ctx, "padding", ctx.config.padding ?? 1);
  const before = p.map((e) => e[0]);
  const after = p.map((e) => e[1]);
  // The pad value is −0, not +0: ONNX Runtime's PadFusion (onnxruntime/core/optimizer/pad_fusion.cc,
  // on by default) merges a Pad whose value has all-zero bytes into a following MaxPool / AveragePool /
  // Conv `pads` attribute — which MaxPool treats as −∞ and AveragePool with count_include_pad 0 leaves
  // out of the divisor, so tfjs's zeros would silently vanish. −0 has a sign byte, is never fused, and
  // is equal to 0 in every arithmetic use.
  const y = ctx.g.node("Pad", [x.name, ctx.g.constInt64([0, 0, ...before, 0, 0, ...after]), ctx.g.constFloat([-0], [])], { mode: attr.string("constant") });
  const s = onnxShape(x);
  return [resultLike(x, y, [s[0] as number, s[1] as number, ...s.slice(2).map((d, i) => d + (before[i] as number) + (after[i] as number))])];
};

const cropping2d: LayerConverter = (ctx) => {
  const x = channelsFirstInput(ctx.g, only(ctx), ctx.config.dataFormat, who(ctx));
  const p = pairs(ctx, "cropping", ctx.config.cropping);
  const s = onnxShape(x);
  const spatial = s.slice(2);
  const starts = p.map((e) => e[0]);
  const ends = spatial.map((d, i) => d - (p[i] as [number, number])[1]);
  const y = ctx.g.node("Slice", [x.name, ctx.g.constInt64(starts), ctx.g.constInt64(ends), ctx.g.constInt64([2, 3])]);
  return [resultLike(x, y, [s[0] as number, s[1] as number, ...ends.map((e, i) => e - (starts[i] as number))])];
};

// ---------------------------------------------------------------------------------------------
// tfjs's pooling

/**
 * MaxPooling / AveragePooling 1d–3d with TensorFlow's placement: "same" pads ⌊total/2⌋ before and
 * the rest after; max ignores the padding, the average divides by the real input pixels only
 * (`count_include_pad` 0, as tfjs-backend-cpu pool_utils.ts counts the clipped window).
 */
const pool = (op: "MaxPool" | "AveragePool"): LayerConverter => (ctx) => {
  const x = channelsFirstInput(ctx.g, only(ctx), ctx.config.dataFormat, who(ctx));
  const s0 = onnxShape(x);
  const rank = s0.length - 2;
  const k = ints(ctx, "poolSize", ctx.config.poolSize, rank);
  const st = ctx.config.strides === undefined || ctx.config.strides === null ? k : ints(ctx, "strides", ctx.config.strides, rank);
  const ones = new Array<number>(rank).fill(1);
  const { before, after } = tfPads(ctx, ctx.config.padding, s0.slice(2), k, st, ones);
  const attrs: Record<string, Attr> = { kernel_shape: attr.ints(k), strides: attr.ints(st), pads: attr.ints([...before, ...after]) };
  if (op === "AveragePool") attrs.count_include_pad = attr.int(0);
  const y = ctx.g.node(op, [x.name], attrs);
  const out = s0.slice(2).map((n, i) => outSize(n, k[i] as number, st[i] as number, 1, before[i] as number, after[i] as number));
  return [resultLike(x, y, [s0[0] as number, s0[1] as number, ...out])];
};

/** GlobalAverage / GlobalMaxPooling 1d–2d: `[N, C]`. */
const globalPool = (op: "ReduceMean" | "ReduceMax"): LayerConverter => (ctx) => {
  const x = channelsFirstInput(ctx.g, only(ctx), ctx.config.dataFormat, who(ctx));
  const s = onnxShape(x);
  const axes = s.slice(2).map((_, i) => i + 2);
  const y = reduce(ctx.g, op, x.name, axes, false);
  return [makeValue(y, { kind: "tf" }, [s[0] as number, s[1] as number])];
};

// ---------------------------------------------------------------------------------------------
// Flatten, reshape, permute

/**
 * Flatten. A channels-first value is flattened as it is and marked `cfflat` (a following Dense
 * permutes its kernel rows; anything else gathers the features back into tfjs's order).
 * `dataFormat: "channelsFirst"` flattens the `[N, ...S, C]` transpose of the `[N, C, ...S]` tensor
 * (tfjs-layers core.ts), which is exactly a `cfflat` of that tensor.
 */
const flatten: LayerConverter = (ctx) => {
  const g = ctx.g;
  const x0 = only(ctx);
  if (x0.tfShape.length < 3) fail(ctx, `needs an input of rank ≥ 3, got shape ${JSON.stringify(x0.tfShape)}`);
  const n = x0.tfShape[0] as number;
  const features = x0.tfShape.slice(1).reduce((a, b) => a * b, 1);
  if (ctx.config.dataFormat === "channelsFirst") {
    const x = asTf(g, x0); // [N, C, ...S]
    const y = g.node("Flatten", [x.name], { axis: attr.int(1) });
    return [makeValue(y, { kind: "cfflat", spatial: x.tfShape.slice(2), c: x.tfShape[1] as number }, [n, features])];
  }
  if (x0.layout.kind === "cf") {
    const y = g.node("Flatten", [x0.name], { axis: attr.int(1) });
    return [makeValue(y, { kind: "cfflat", spatial: x0.tfShape.slice(1, -1), c: x0.tfShape[x0.tfShape.length - 1] as number }, [n, features])];
  }
  const x = asTf(g, x0);
  return [makeValue(g.node("Flatten", [x.name], { axis: attr.int(1) }), { kind: "tf" }, [n, features])];
};

const reshapeLayer: LayerConverter = (ctx) => {
  const x = asTf(ctx.g, only(ctx));
  // tfjs leaves a −1 of targetShape unknown (null) in its symbolic shape: resolve it from the size.
  const known = (ctx.outShapes[0] as readonly (number | null)[]).map((d) => d ?? -1);
  const size = x.tfShape.reduce((a, b) => a * b, 1);
  const rest = known.reduce((a: number, b) => (b === -1 ? a : a * b), 1);
  const out = known.map((d) => (d === -1 ? size / rest : d));
  return [makeValue(ctx.g.node("Reshape", [x.name, ctx.g.constInt64([...out])]), { kind: "tf" }, out)];
};

const permuteLayer: LayerConverter = (ctx) => {
  const x = asTf(ctx.g, only(ctx));
  const dims = ctx.config.dims;
  if (!Array.isArray(dims)) fail(ctx, `config.dims must be an array, got ${JSON.stringify(dims)}`);
  const perm = [0, ...(dims as number[])];
  return [makeValue(ctx.g.node("Transpose", [x.name], { perm: attr.ints(perm) }), { kind: "tf" }, perm.map((p) => x.tfShape[p] as number))];
};

/** Converters of tfjs-layers' own classes, by `getClassName()`. */
export const TFJS_LAYERS: Readonly<Record<string, LayerConverter>> = {
  Conv1D: conv,
  Conv2D: conv,
  Conv3D: conv,
  DepthwiseConv2D: depthwiseConv,
  SeparableConv2D: separableConv,
  Dense: dense,
  Activation: activationLayer,
  ReLU: reluLayer,
  LeakyReLU: leakyRelu,
  ELU: eluLayer,
  ThresholdedReLU: thresholdedRelu,
  Softmax: softmaxLayer,
  BatchNormalization: batchNorm,
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  Add: merge("Sum"),
  Multiply: merge("Mul"),
  Average: merge("Mean"),
  Maximum: merge("Max"),
  Minimum: merge("Min"),
  Concatenate: concatenate,
  ZeroPadding2D: zeroPadding2d,
  Cropping2D: cropping2d,
  MaxPooling1D: pool("MaxPool"),
  MaxPooling2D: pool("MaxPool"),
  MaxPooling3D: pool("MaxPool"),
  AveragePooling1D: pool("AveragePool"),
  AveragePooling2D: pool("AveragePool"),
  AveragePooling3D: pool("AveragePool"),
  GlobalAveragePooling1D: globalPool("ReduceMean"),
  GlobalAveragePooling2D: globalPool("ReduceMean"),
  GlobalMaxPooling1D: globalPool("ReduceMax"),
  GlobalMaxPooling2D: globalPool("ReduceMax"),
  Flatten: flatten,
  Reshape: reshapeLayer,
  Permute: permuteLayer,
};
