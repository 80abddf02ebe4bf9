/**
 * One ONNX emitter per registry method: given a {@link Graph} with the method's inputs declared,
 * it adds the nodes computing the method's inference-time output with poolkit's exact semantics.
 * Methods that standard ONNX cannot express are listed in {@link NOT_EXPRESSIBLE} with the reason.
 *
 * Geometry comes from poolkit's own planners (src/geometry/), never from a runtime's rules: every
 * window, bin and divisor is computed here and written into the graph as explicit Pads, Slices and
 * constant tensors.
 */
import { spatialShapeInput } from "../check.js";
import { PoolkitRangeError } from "../errors.js";
import { adaptiveAxis } from "../geometry/adaptive.js";
import { planFractional } from "../geometry/fractional.js";
import type { Axis } from "../geometry/plan.js";
import { slidingGeometry, type SlidingGeometry, type SlidingOptions } from "../geometry/sliding.js";
import { unpoolOutputSpatial } from "../ops/maxUnpool.js";
import type { PoolMethod } from "../registry.js";
import type { FloatDType } from "../tensor/dtype.js";
import { attr, type ElemType, type Graph } from "./graph.js";
import { concat, explicitPads, nanAwareMax, padSpatial, reduce, reshape, scalar, slice, slidingAxes, squeeze, tuples, unfold } from "./ops.js";

/** A host-side tensor value (learnable parameters and constant options). */
export interface HostTensor {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
}

/** Everything an emitter sees: the graph, the method, shapes, options and the value names of its inputs. */
export interface EmitContext {
  readonly g: Graph;
  readonly method: PoolMethod;
  readonly rank: 1 | 2 | 3;
  /** The feature map's shape `[N, C, ...spatial]`. */
  readonly xShape: readonly number[];
  readonly options: Record<string, unknown>;
  /** The value name of x. */
  readonly x: string;
  /**
   * Value names of the extra inputs (graph inputs, or initializers for learnable ones, created on
   * first read so parameters an emitter folds into constants leave no unused initializer); absent when omitted.
   */
  readonly inputs: Readonly<Record<string, string>>;
  readonly inputShapes: Readonly<Record<string, readonly number[]>>;
  /** Host values of the learnable inputs (the same numbers as their initializers). */
  readonly params: Readonly<Record<string, HostTensor>>;
  /** The element type of the float values. */
  readonly dtype: ElemType & FloatDType;
  /** Also output poolkit's per-plane flat argmax indices (max pooling only). */
  readonly withIndices?: boolean;
}

/** What an emitter produced: the output value and its shape (plus extra outputs). */
export interface Emitted {
  readonly output: string;
  readonly shape: readonly number[];
  /** Extra outputs (e.g. indices), each with a name and shape. */
  readonly extra?: readonly { readonly name: string; readonly value: string; readonly shape: readonly number[]; readonly type: ElemType }[];
}

/** Adds one method's nodes to `ctx.g`. */
export type Emitter = (ctx: EmitContext) => Emitted;

/** Product of the entries (1 for an empty list). */
export const prod = (a: readonly number[]): number => a.reduce((p, v) => p * v, 1);

/** A constant of the model's float type with the given values and dims. */
export function fill(g: Graph, ctx: EmitContext, values: ArrayLike<number>, dims: readonly number[]): string {
  return g.addInitializer(values, dims, ctx.dtype);
}

/** The spatial sizes of the feature map. */
export function spatialOf(ctx: EmitContext): number[] {
  return ctx.xShape.slice(2);
}

/** The method's output shape from its own `outputShape` (the same geometry as its forward pass). */
export function outputShapeOf(ctx: EmitContext): number[] {
  return ctx.method.outputShape(ctx.xShape, ctx.options, ctx.rank);
}

/** The per-output-position constant `[1, 1, ...out]` from per-axis factors (product over axes). */
export function separableConstant(ctx: EmitContext, perAxis: readonly Float64Array[], out: readonly number[]): string {
  const values = new Float64Array(prod(out));
  let q = 0;
  for (const o of tuples(out)) {
    let v = 1;
    for (let i = 0; i < o.length; i++) v *= (perAxis[i] as Float64Array)[o[i] as number] as number;
    values[q++] = v;
  }
  return fill(ctx.g, ctx, values, [1, 1, ...out]);
}

// ---------------------------------------------------------------------------------------------
// Sliding windows: max / average / LP

/** The method's sliding geometry (its own option parsing) and output spatial sizes; `extra` overrides options the method fixes. */
export function slidingOf(ctx: EmitContext, extra: Partial<Record<"padding" | "dilation" | "ceilMode", unknown>> = {}): { geom: SlidingGeometry; out: number[] } {
  const o = { ...ctx.options, ...extra } as Record<string, never>;
  const geom = slidingGeometry(ctx.method.ops[ctx.rank]?.opName ?? ctx.method.name, o, ctx.rank);
  const out = outputShapeOf(ctx).slice(2);
  return { geom, out };
}

/** kernel_shape / strides (/ dilations) attributes of a padding-free, floor-mode ONNX pool. */
export function poolAttrs(geom: SlidingGeometry, withDilation: boolean) {
  return {
    kernel_shape: attr.ints(geom.kernelSize),
    strides: attr.ints(geom.stride),
    ...(withDilation ? { dilations: attr.ints(geom.dilation) } : {}),
  };
}

/** Max pooling: Pad(−∞) then a padding-free floor-mode MaxPool (−∞ never wins over a real value). */
export function emitMaxPool(ctx: EmitContext, x: string, geom: SlidingGeometry, out: readonly number[]): string {
  const spatial = spatialOf(ctx);
  const { before, after } = explicitPads(spatial, geom, out);
  return nanAwareMax(ctx.g, x, (v) => ctx.g.node("MaxPool", [padSpatial(ctx.g, v, before, after, -Infinity)], poolAttrs(geom, true)), ctx.dtype);
}

/**
 * Window sums: Pad(0), a padding-free AveragePool (divisor prod(k) everywhere), times prod(k).
 * Returned as the AveragePool output and the factor that turns it into a sum.
 */
function windowMean(ctx: EmitContext, x: string, geom: SlidingGeometry, out: readonly number[]): string {
  const { before, after } = explicitPads(spatialOf(ctx), geom, out);
  const xp = padSpatial(ctx.g, x, before, after, 0);
  return ctx.g.node("AveragePool", [xp], poolAttrs(geom, false));
}

const emitMax: Emitter = (ctx) => {
  const { geom, out } = slidingOf(ctx);
  const shape = outputShapeOf(ctx);
  const output = emitMaxPool(ctx, ctx.x, geom, out);
  if (!ctx.withIndices) return { output, shape };
  return { output, shape, extra: [{ name: "indices", value: maxIndices(ctx, geom, out), shape, type: "int32" }] };
};

/**
 * poolkit's (PyTorch's) argmax of every window as a flat index into its input plane: the first tap
 * holding the window's maximum among the real taps (padding excluded; a window of −∞ gives its first
 * real tap), or the last NaN when the window holds one (`v > best || v !== v`). Taps are laid out by
 * {@link unfold}; ArgMax picks the tap, and tap j of window o is input position base[o] + offset[j].
 */
function maxIndices(ctx: EmitContext, geom: SlidingGeometry, out: readonly number[]): string {
  const g = ctx.g;
  const spatial = spatialOf(ctx);
  const X = unfold(g, ctx.x, spatial, geom, out, 0);
  const ninf = scalar(g, -Infinity);
  const Xm = X.anyPadding ? g.node("Where", [X.mask(), X.taps, ninf]) : X.taps;
  const m = reduce(g, "ReduceMax", Xm, [2], true);
  let isMax = g.node("Equal", [Xm, m]);
  if (X.anyPadding) isMax = g.node("And", [isMax, X.mask()]);
  const argmax = (b: string, last: boolean): string =>
    g.node("ArgMax", [g.node("Cast", [b], { to: attr.int(1) })], { axis: attr.int(2), keepdims: attr.int(1), select_last_index: attr.int(last ? 1 : 0) });
  const nan = g.node("IsNaN", [X.taps]);
  const anyNan = g.node("Cast", [reduce(g, "ReduceMax", g.node("Cast", [nan], { to: attr.int(1) }), [2], true)], { to: attr.int(9) });
  const tap = g.node("Where", [anyNan, argmax(nan, true), argmax(isMax, false)]); // [N, C, 1, ...out] int64
  const strides = spatial.map((_, i) => prod(spatial.slice(i + 1)));
  const offsets: number[] = [];
  for (const t of tuples(geom.kernelSize)) offsets.push(t.reduce((acc, v, i) => acc + v * (geom.dilation[i] as number) * (strides[i] as number), 0));
  const base: number[] = [];
  for (const o of tuples(out)) base.push(o.reduce((acc, v, i) => acc + (v * (geom.stride[i] as number) - (geom.padBefore[i] as number)) * (strides[i] as number), 0));
  const flatIdx = g.node("Add", [g.constInt64(base, [1, 1, 1, ...out]), g.node("Gather", [g.constInt64(offsets), tap], { axis: attr.int(0) })]);
  return g.node("Cast", [squeeze(g, flatIdx, [2])], { to: attr.int(6) });
}

/**
 * PyTorch average pooling of `x` (spatial sizes `spatial`): Pad(0), a padding-free AveragePool, then
 * times prod(k)/divisor per window — divisorOverride, else the window clipped at In + p
 * (countIncludePad) or at the input; both are products of per-axis lengths (aten AvgPoolKernel.cpp).
 */
export function avgValue(
  ctx: EmitContext, x: string, spatial: readonly number[], geom: SlidingGeometry, out: readonly number[],
  countIncludePad: boolean, override: number | undefined,
): string {
  const { before, after } = explicitPads(spatial, geom, out);
  const mean = ctx.g.node("AveragePool", [padSpatial(ctx.g, x, before, after, 0)], poolAttrs(geom, false));
  const K = prod(geom.kernelSize);
  if (override !== undefined) return K === override ? mean : ctx.g.node("Mul", [mean, scalar(ctx.g, K / override)]);
  const divisors = slidingAxes(spatial, geom).map((a: Axis) => {
    const f = new Float64Array(a.outSize);
    for (let o = 0; o < a.outSize; o++) f[o] = countIncludePad ? (a.padCount[o] as number) : (a.end[o] as number) - (a.start[o] as number);
    return f;
  });
  if (divisors.every((d, i) => d.every((v) => v === geom.kernelSize[i]))) return mean;
  const inv = divisors.map((d, i) => d.map((v) => (geom.kernelSize[i] as number) / v));
  return ctx.g.node("Mul", [mean, separableConstant(ctx, inv, out)]);
}

const emitAverage: Emitter = (ctx) => {
  const { geom, out } = slidingOf(ctx, { dilation: 1 });
  const countIncludePad = ctx.options.countIncludePad !== false;
  const override = typeof ctx.options.divisorOverride === "number" ? ctx.options.divisorOverride : undefined;
  return { output: avgValue(ctx, ctx.x, spatialOf(ctx), geom, out, countIncludePad, override), shape: outputShapeOf(ctx) };
};

/**
 * LP pooling, PyTorch's formula: s = avg_pool(x^p) (divisor: the window clipped to the padded extent),
 * y = (sign(s)·relu(|s|)·prod(k))^(1/p) = (s·prod(k))^(1/p) — no |x| (unlike ONNX's LpPool).
 */
const emitLp: Emitter = (ctx) => {
  const p = ctx.options.normType as number;
  const { geom, out } = slidingOf(ctx, { dilation: 1 });
  const g = ctx.g;
  const xp = g.node("Pow", [ctx.x, scalar(g, p)]);
  const mean = windowMean(ctx, xp, geom, out); // Σ/K
  const K = prod(geom.kernelSize);
  const axes = slidingAxes(spatialOf(ctx), geom);
  // s·K = (Σ/div)·K = mean·K²/div, div = product of the window lengths clipped to the padded extent
  // (poolkit's LP padding is lp_pool of the zero-padded input; without padding: the in-input lengths).
  const perAxis = axes.map((a, i) => {
    const f = new Float64Array(a.outSize);
    const k = geom.kernelSize[i] as number;
    for (let o = 0; o < a.outSize; o++) f[o] = (k * k) / (a.padCount[o] as number);
    return f;
  });
  void K;
  const u = g.node("Mul", [mean, separableConstant(ctx, perAxis, out)]);
  return { output: g.node("Pow", [u, scalar(g, 1 / p)]), shape: outputShapeOf(ctx) };
};

// ---------------------------------------------------------------------------------------------
// Global and adaptive

const emitGlobal =
  (op: "ReduceMean" | "ReduceMax"): Emitter =>
  (ctx) => {
    const axes = Array.from({ length: ctx.xShape.length - 2 }, (_, i) => i + 2);
    const output = op === "ReduceMax" ? nanAwareMax(ctx.g, ctx.x, (v) => reduce(ctx.g, op, v, axes, false), ctx.dtype) : reduce(ctx.g, op, ctx.x, axes, false);
    return { output, shape: ctx.xShape.slice(0, 2) };
  };

/**
 * Adaptive pooling over PyTorch's bins [⌊i·In/Out⌋, ⌈(i+1)·In/Out⌉), axis by axis (the bins are a
 * product of per-axis intervals, so max of maxes and mean of equal-width means are exact): a
 * strided pool along the axis where Out divides In, else one Slice + Reduce per bin and a Concat.
 */
export function emitAdaptiveValue(
  g: Graph, x: string, spatial: readonly number[], outSpatial: readonly number[], mode: "max" | "avg", type: "float32" | "float64" = "float32",
): string {
  if (mode === "max") return nanAwareMax(g, x, (v) => adaptiveCore(g, v, spatial, outSpatial, mode), type);
  return adaptiveCore(g, x, spatial, outSpatial, mode);
}

function adaptiveCore(g: Graph, x: string, spatial: readonly number[], outSpatial: readonly number[], mode: "max" | "avg"): string {
  const rank = spatial.length;
  let cur = x;
  for (let i = 0; i < rank; i++) {
    const inSize = spatial[i] as number;
    const outSize = outSpatial[i] as number;
    if (inSize === outSize) continue;
    const axis = i + 2;
    if (inSize % outSize === 0) {
      const k = inSize / outSize;
      const kernel = Array.from({ length: rank }, (_, j) => (j === i ? k : 1));
      cur = g.node(mode === "max" ? "MaxPool" : "AveragePool", [cur], { kernel_shape: attr.ints(kernel), strides: attr.ints(kernel) });
      continue;
    }
    const bins = adaptiveAxis(inSize, outSize);
    const parts: string[] = [];
    for (let o = 0; o < outSize; o++) {
      const s = bins.start[o] as number;
      const e = bins.end[o] as number;
      const part = slice(g, cur, [s], [e], [axis]);
      parts.push(e - s === 1 ? part : reduce(g, mode === "max" ? "ReduceMax" : "ReduceMean", part, [axis], true));
    }
    cur = concat(g, parts, axis);
  }
  return cur === x ? g.node("Identity", [x]) : cur;
}

const emitAdaptive =
  (mode: "max" | "avg"): Emitter =>
  (ctx) => {
    const shape = outputShapeOf(ctx);
    return { output: emitAdaptiveValue(ctx.g, ctx.x, spatialOf(ctx), shape.slice(2), mode, ctx.dtype), shape };
  };

const emitSpatialPyramid: Emitter = (ctx) => {
  const levels = (ctx.options.levels as number[] | undefined) ?? [4, 2, 1];
  const mode = ctx.options.mode === "avg" ? "avg" : "max";
  const [n, c] = ctx.xShape as [number, number];
  const parts = levels.map((l) => reshape(ctx.g, emitAdaptiveValue(ctx.g, ctx.x, spatialOf(ctx), [l, l], mode, ctx.dtype), [n, c * l * l]));
  return { output: concat(ctx.g, parts, 1), shape: outputShapeOf(ctx) };
};

// ---------------------------------------------------------------------------------------------
// Max unpooling, fractional max, RoI

/** Scatter each value to its per-plane index in a zero plane (ScatterElements keeps the last write, as poolkit). */
const emitMaxUnpool: Emitter = (ctx) => {
  const g = ctx.g;
  const [n, c] = ctx.xShape as [number, number];
  const spatial = spatialOf(ctx);
  const { out } = unpoolOutputSpatial(ctx.method.ops[ctx.rank]?.opName ?? "maxUnpool", spatial, ctx.options);
  const inPlane = prod(spatial);
  const outPlane = prod(out);
  const values = reshape(g, ctx.x, [n, c, inPlane]);
  const idx = g.node("Cast", [reshape(g, ctx.inputs.indices as string, [n, c, inPlane])], { to: attr.int(7) });
  const zeros = g.node("ConstantOfShape", [g.constInt64([n, c, outPlane])]);
  const z = ctx.dtype === "float32" ? zeros : g.node("Cast", [zeros], { to: attr.int(11) });
  const scattered = g.node("ScatterElements", [z, idx, values], { axis: attr.int(2) });
  return { output: reshape(g, scattered, [n, c, ...out]), shape: [n, c, ...out] };
};

/**
 * Fractional max pooling with given samples: every plane has its own windows (from poolkit's
 * planner), so the taps are gathered by constant per-plane indices and reduced with ReduceMax.
 */
const emitFractionalMax: Emitter = (ctx) => {
  const g = ctx.g;
  const opName = ctx.method.ops[ctx.rank]?.opName ?? "fractionalMaxPool";
  // toOnnx rejects a missing `samples` first (random windows cannot be exported).
  const samples = ctx.options.samples as { data: ArrayLike<number>; shape: readonly number[] };
  const shape = outputShapeOf(ctx); // validates samples' options
  const outSpatial = shape.slice(2);
  const input = spatialShapeInput(opName, "x", ctx.xShape, ctx.rank);
  const kernelSize = typeof ctx.options.kernelSize === "number" ? new Array<number>(ctx.rank).fill(ctx.options.kernelSize) : (ctx.options.kernelSize as number[]);
  const plan = planFractional(opName, input, kernelSize, outSpatial, samples.data, ctx.dtype);
  const spatial = spatialOf(ctx);
  const K = prod(kernelSize);
  const outPlane = prod(outSpatial);
  const planes = plan.planes;
  const indices = new Array<number>(planes * outPlane * K);
  const strides = spatial.map((_, i) => prod(spatial.slice(i + 1)));
  let q = 0;
  for (let p = 0; p < planes; p++) {
    const axes = (plan.planeAxes[p] as readonly Axis[]).slice(3 - ctx.rank);
    for (const o of tuples(outSpatial)) {
      for (const t of tuples(kernelSize)) {
        let flat = 0;
        for (let i = 0; i < ctx.rank; i++) flat += (((axes[i] as Axis).start[o[i] as number] as number) + (t[i] as number)) * (strides[i] as number);
        indices[q++] = flat;
      }
    }
  }
  const xf = reshape(g, ctx.x, [planes, prod(spatial)]);
  const idx = g.constInt64(indices, [planes, outPlane * K]);
  const windowMax = (v: string): string =>
    reduce(g, "ReduceMax", reshape(g, g.node("GatherElements", [v, idx], { axis: attr.int(1) }), [planes, outPlane, K]), [2], false);
  const m = nanAwareMax(g, xf, windowMax, ctx.dtype);
  return { output: reshape(g, m, shape), shape };
};

/** RoI max pooling: ONNX MaxRoiPool (Fast R-CNN's rounding, as torchvision). */
const emitRoiPool: Emitter = (ctx) => {
  const os = ctx.options.outputSize as number | number[];
  const [ph, pw] = typeof os === "number" ? [os, os] : (os as [number, number]);
  const scale = typeof ctx.options.spatialScale === "number" ? ctx.options.spatialScale : 1;
  const boxes = ctx.inputs.boxes as string;
  const k = (ctx.inputShapes.boxes as number[])[0] as number;
  const y = ctx.g.node("MaxRoiPool", [ctx.x, boxes], { pooled_shape: attr.ints([ph, pw]), spatial_scale: attr.float(scale) });
  return { output: y, shape: [k, ctx.xShape[1] as number, ph, pw] };
};

/**
 * RoIAlign: ONNX RoiAlign-16 (average mode) with coordinate_transformation_mode `half_pixel` for
 * `aligned: true` and `output_half_pixel` (the legacy no-offset mode) for `aligned: false`;
 * samplingRatio ≤ 0 is ONNX's adaptive 0 (ceil(roi / bins)). The batch-index column of the
 * `[K, 5]` boxes becomes RoiAlign's separate int64 `batch_indices`.
 */
const emitRoiAlign: Emitter = (ctx) => {
  const g = ctx.g;
  const os = ctx.options.outputSize as number | number[];
  const [ph, pw] = typeof os === "number" ? [os, os] : (os as [number, number]);
  const scale = typeof ctx.options.spatialScale === "number" ? ctx.options.spatialScale : 1;
  const sr = typeof ctx.options.samplingRatio === "number" ? ctx.options.samplingRatio : -1;
  const aligned = ctx.options.aligned === true;
  const boxes = ctx.inputs.boxes as string;
  const k = (ctx.inputShapes.boxes as number[])[0] as number;
  const batch = g.node("Cast", [reshape(g, slice(g, boxes, [0], [1], [1]), [-1])], { to: attr.int(7) });
  const rois = slice(g, boxes, [1], [5], [1]);
  const y = g.node("RoiAlign", [ctx.x, rois, batch], {
    mode: attr.string("avg"),
    output_height: attr.int(ph),
    output_width: attr.int(pw),
    sampling_ratio: attr.int(Math.max(0, sr)),
    spatial_scale: attr.float(scale),
    coordinate_transformation_mode: attr.string(aligned ? "half_pixel" : "output_half_pixel"),
  });
  return { output: y, shape: [k, ctx.xShape[1] as number, ph, pw] };
};

// ---------------------------------------------------------------------------------------------
// Softmax-weighted windows: SoftPool and LIP

/**
 * y = Σ e^{L−m}·x / Σ e^{L−m} over each window's real taps, m the window's largest logit (the
 * same stabilisation as poolkit's kernel, so ±∞ and huge logits behave alike). Padding taps get
 * logit −∞ (weight 0) and value 0.
 */
export function softmaxWindows(ctx: EmitContext, x: string, logits: string, geom: SlidingGeometry, out: readonly number[]): string {
  const g = ctx.g;
  const spatial = spatialOf(ctx);
  const X = unfold(g, x, spatial, geom, out, 0);
  const Lraw = logits === x ? X.taps : unfold(g, logits, spatial, geom, out, 0).taps;
  const L = X.anyPadding ? g.node("Where", [X.mask(), Lraw, scalar(g, -Infinity)]) : Lraw;
  const m = reduce(g, "ReduceMax", L, [2], true);
  const e = g.node("Exp", [g.node("Sub", [L, m])]);
  const s = reduce(g, "ReduceSum", e, [2], false);
  const sx = reduce(g, "ReduceSum", g.node("Mul", [e, X.taps]), [2], false);
  return g.node("Div", [sx, s]);
}

const emitSoftPool: Emitter = (ctx) => {
  const { geom, out } = slidingOf(ctx);
  return { output: softmaxWindows(ctx, ctx.x, ctx.x, geom, out), shape: outputShapeOf(ctx) };
};

const emitLip: Emitter = (ctx) => {
  const o = ctx.options;
  const geom = slidingGeometry("localImportancePool2d", { kernelSize: (o.kernelSize as number) ?? 3, stride: (o.stride as number) ?? 2, padding: (o.padding as SlidingOptions["padding"]) ?? 1 }, 2);
  const out = outputShapeOf(ctx).slice(2);
  return { output: softmaxWindows(ctx, ctx.x, ctx.inputs.logits as string, geom, out), shape: outputShapeOf(ctx) };
};

/** Emitters of the windowed, adaptive and region methods, by registry method name. */
export const WINDOWED_EMITTERS: Readonly<Record<string, Emitter>> = {
  Max: emitMax,
  Average: emitAverage,
  LP: emitLp,
  MaxUnpool: emitMaxUnpool,
  GlobalAverage: emitGlobal("ReduceMean"),
  GlobalMax: emitGlobal("ReduceMax"),
  AdaptiveAverage: emitAdaptive("avg"),
  AdaptiveMax: emitAdaptive("max"),
  FractionalMax: emitFractionalMax,
  SpatialPyramid: emitSpatialPyramid,
  RoIPool: emitRoiPool,
  RoIAlign: emitRoiAlign,
  SoftPool: emitSoftPool,
  LIP: emitLip,
};
