/**
 * ONNX emitters of the stochastic (eval mode), learned and weighted methods: mixed, learned-mix,
 * gated and tree pooling (Lee et al. 2016), stochastic pooling and S3Pool in eval, detail-preserving
 * pooling (lite) and DynOPool with its learned ratio frozen. Learnable parameters are initializers;
 * windows come from poolkit's planners (Caffe windows for the Lee et al. and Zeiler & Fergus ops).
 */
import { caffeGeometry } from "../geometry/caffe.js";
import { dynamicGrid } from "../geometry/dynamic.js";
import { slidingGeometry, type SlidingGeometry, type SlidingOptions } from "../geometry/sliding.js";
import { DYNAMIC_DEFAULT_DELTA } from "../ops/dynamicPool.js";
import { PoolkitRangeError } from "../errors.js";
import { avgValue, emitMaxPool, fill, outputShapeOf, prod, spatialOf, type EmitContext, type Emitter } from "./emitters.js";
import { attr } from "./graph.js";
import { reduce, reshape, scalar, unfold } from "./ops.js";

// ---------------------------------------------------------------------------------------------
// Mixed pooling (Yu et al. 2014), eval

const emitMixed: Emitter = (ctx) => {
  const o = ctx.options;
  const geom = slidingGeometry("mixedPool2d", { kernelSize: o.kernelSize as number, stride: o.stride as number, padding: (o.padding as SlidingOptions["padding"]) ?? 0, ceilMode: o.ceilMode as boolean }, 2);
  const shape = outputShapeOf(ctx);
  const out = shape.slice(2);
  const g = ctx.g;
  const evalMode = (o.evalMode as string | undefined) ?? (o.maxFrequency === undefined ? "mean-of-both" : "frequency");
  const mx = (): string => emitMaxPool(ctx, ctx.x, geom, out);
  const av = (): string => avgValue(ctx, ctx.x, spatialOf(ctx), geom, out, o.countIncludePad !== false, undefined);
  if (evalMode === "max") return { output: mx(), shape };
  if (evalMode === "avg") return { output: av(), shape };
  if (evalMode === "mean-of-both") {
    const half = scalar(g, 0.5);
    return { output: g.node("Add", [g.node("Mul", [mx(), half]), g.node("Mul", [av(), half])]), shape };
  }
  // "frequency": per channel the branch training chose more often (ties → max), as poolkit.
  const c = ctx.xShape[1] as number;
  const f = o.maxFrequency as number | number[];
  const perChannel = Array.from({ length: c }, (_, i) => ((typeof f === "number" ? f : (f[i] as number)) >= 0.5 ? 1 : 0));
  const choose = g.addInitializer(perChannel, [1, c, 1, 1], "bool");
  return { output: g.node("Where", [choose, mx(), av()]), shape };
};

// ---------------------------------------------------------------------------------------------
// Lee, Gallagher & Tu 2016: learned mix, gated, tree — Caffe windows (no padding, ceil, clipped)

function leeGeometry(op: string, ctx: EmitContext): SlidingGeometry {
  const k = ctx.options.kernelSize ?? 3;
  const s = ctx.options.stride ?? (ctx.options.kernelSize === undefined ? 2 : undefined);
  return caffeGeometry(op, k, s, 2);
}

/** max and valid-count average of the Caffe windows (the overhang is excluded from both). */
function maxAndAvg(ctx: EmitContext, geom: SlidingGeometry, out: readonly number[]): { mx: string; av: string } {
  return { mx: emitMaxPool(ctx, ctx.x, geom, out), av: avgValue(ctx, ctx.x, spatialOf(ctx), geom, out, false, undefined) };
}

/** A per-layer `[1]` / per-channel `[C]` scalar parameter broadcast as `[1, C', 1, 1]`. */
function channelScalar(ctx: EmitContext, name: string): string {
  const shape = ctx.inputShapes[name] as readonly number[];
  return reshape(ctx.g, ctx.inputs[name] as string, [1, shape[0] as number, 1, 1]);
}

/** Inner products ωᵀx over each window (taps outside the input contribute 0): `[N, C, ...out]`. */
function windowDot(ctx: EmitContext, taps: string, name: string): string {
  const shape = ctx.inputShapes[name] as readonly number[];
  const w = reshape(ctx.g, ctx.inputs[name] as string, [1, shape[0] as number, prod(shape.slice(1)), 1, 1]);
  return reduce(ctx.g, "ReduceSum", ctx.g.node("Mul", [taps, w]), [2], false);
}

/** a·p + (1 − a)·q. */
function mix(ctx: EmitContext, a: string, p: string, q: string): string {
  const g = ctx.g;
  return g.node("Add", [g.node("Mul", [a, p]), g.node("Mul", [g.node("Sub", [scalar(g, 1), a]), q])]);
}

const emitLearnedMix: Emitter = (ctx) => {
  const geom = leeGeometry("learnedMixPool2d", ctx);
  const shape = outputShapeOf(ctx);
  const { mx, av } = maxAndAvg(ctx, geom, shape.slice(2));
  const alpha = channelScalar(ctx, "alpha");
  const a =
    ctx.options.mixing === "sigmoid"
      ? ctx.g.node("Sigmoid", [alpha])
      : ctx.g.node("Clip", [alpha, scalar(ctx.g, 0), scalar(ctx.g, 1)]);
  return { output: mix(ctx, a, mx, av), shape };
};

const emitGatedMix: Emitter = (ctx) => {
  const geom = leeGeometry("gatedMixPool2d", ctx);
  const shape = outputShapeOf(ctx);
  const out = shape.slice(2);
  const { mx, av } = maxAndAvg(ctx, geom, out);
  const X = unfold(ctx.g, ctx.x, spatialOf(ctx), geom, out, 0);
  const gate = ctx.g.node("Sigmoid", [windowDot(ctx, X.taps, "gate")]);
  return { output: mix(ctx, gate, mx, av), shape };
};

const emitTree: Emitter = (ctx) => {
  const geom = leeGeometry("treePool2d", ctx);
  const shape = outputShapeOf(ctx);
  const X = unfold(ctx.g, ctx.x, spatialOf(ctx), geom, shape.slice(2), 0);
  const gate = ctx.g.node("Sigmoid", [windowDot(ctx, X.taps, "omega")]);
  return { output: mix(ctx, gate, windowDot(ctx, X.taps, "v1"), windowDot(ctx, X.taps, "v2")), shape };
};

// ---------------------------------------------------------------------------------------------
// Stochastic pooling and S3Pool, eval

/** Zeiler & Fergus eval: Σx²/Σx of relu(x) per Caffe window (clipped), an all-zero window gives 0. */
const emitStochastic: Emitter = (ctx) => {
  const g = ctx.g;
  const geom = caffeGeometry("stochasticPool2d", ctx.options.kernelSize, ctx.options.stride, 2);
  const shape = outputShapeOf(ctx);
  const out = shape.slice(2);
  // Both sums as zero-padded AveragePools: the common factor 1/prod(k) cancels in the ratio.
  // poolkit pools relu(x): p ∝ x needs x ≥ 0, negative values are taken as 0.
  const x = g.node("Relu", [ctx.x]);
  const s = avgValue(ctx, x, spatialOf(ctx), geom, out, true, prod(geom.kernelSize));
  const s2 = avgValue(ctx, g.node("Mul", [x, x]), spatialOf(ctx), geom, out, true, prod(geom.kernelSize));
  const zero = scalar(g, 0);
  return { output: g.node("Where", [g.node("Equal", [s, zero]), zero, g.node("Div", [s2, s])]), shape };
};

/** S3Pool eval (official Lasagne code): max pool k×k stride 1, then average pool s×s, padding ⌊s/2⌋, padding excluded. */
const emitS3Pool: Emitter = (ctx) => {
  const k = (ctx.options.kernelSize as number | number[] | undefined) ?? 2;
  const s = (ctx.options.stride as number | number[] | undefined) ?? k;
  const shape = outputShapeOf(ctx);
  const kk = typeof k === "number" ? [k, k] : k;
  const ss = typeof s === "number" ? [s, s] : s;
  const pre = slidingGeometry("s3Pool2d", { kernelSize: kk, stride: 1 }, 2);
  const spatial = spatialOf(ctx);
  const mSpatial = spatial.map((v, i) => v - (kk[i] as number) + 1);
  const m = emitMaxPool(ctx, ctx.x, pre, mSpatial);
  const post = slidingGeometry("s3Pool2d", { kernelSize: ss, stride: ss, padding: ss.map((v) => Math.floor(v / 2)) }, 2);
  return { output: avgValue(ctx, m, mSpatial, post, shape.slice(2), false, undefined), shape };
};

// ---------------------------------------------------------------------------------------------
// Detail-preserving pooling (lite) and DynOPool

/** ε² of DPP's reward and the α clamp (official nngraph graphs; as src/ops/detailPreservingPool.ts). */
const DPP_EPS2 = 1e-3;
const DPP_ALPHA_CLAMP = 10;

/**
 * DPP per 2×2 block: Ĩ = block mean (lite) or the guidance convolution (full), d = I − Ĩ (asymmetric: relu), q = d² + ε², l = ln(q/q̄),
 * w = e^{h(l − max l)} + α·e^{−h·max l} (poolkit's overflow-safe rescaling of (q/q̄)^h + α),
 * y = Σ w·I / Σ w, with h = e^{θλ}/2 and α = e^{min(θα, 10)} per channel.
 */
const emitDpp: Emitter = (ctx) => {
  const g = ctx.g;
  const shape = outputShapeOf(ctx);
  const out = shape.slice(2);
  const c = ctx.xShape[1] as number;
  const geom = slidingGeometry("detailPreservingPool2d", { kernelSize: 2, stride: 2 }, 2);
  const X = unfold(g, ctx.x, spatialOf(ctx), geom, out, 0).taps; // [N, C, 4, oh, ow]
  // Ĩ: the block mean (lite), or the full variant's depthwise 3×3 / stride 2 / padding 1 convolution
  // with the learned filter [C, 1, 3, 3], shared by the block's 4 pixels.
  const filter = ctx.inputs.filter;
  const guide =
    filter === undefined
      ? reduce(g, "ReduceMean", X, [2], true)
      : g.node("Unsqueeze", [
          g.node("Conv", [ctx.x, filter], { group: attr.int(c), kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }),
          g.constInt64([2]),
        ]);
  let d = g.node("Sub", [X, guide]);
  if (ctx.options.reward === "asymmetric") d = g.node("Relu", [d]);
  const q = g.node("Add", [g.node("Mul", [d, d]), scalar(g, DPP_EPS2)]);
  const l = g.node("Log", [g.node("Div", [q, reduce(g, "ReduceMean", q, [2], true)])]);
  const lm = reduce(g, "ReduceMax", l, [2], true);
  const perChannel = (name: string): string => reshape(g, ctx.inputs[name] as string, [1, c, 1, 1, 1]);
  const h = g.node("Mul", [g.node("Exp", [perChannel("lambda")]), scalar(g, 0.5)]);
  const alpha = g.node("Exp", [g.node("Min", [perChannel("alpha"), scalar(g, DPP_ALPHA_CLAMP)])]);
  const a = g.node("Mul", [alpha, g.node("Exp", [g.node("Neg", [g.node("Mul", [h, lm])])])]);
  const w = g.node("Add", [g.node("Exp", [g.node("Mul", [h, g.node("Sub", [l, lm])])]), a]);
  const num = reduce(g, "ReduceSum", g.node("Mul", [w, X]), [2], false);
  return { output: g.node("Div", [num, reduce(g, "ReduceSum", w, [2], false)]), shape };
};

/**
 * DynOPool with r and δ frozen: each output cell is the max of 4 bilinear queries at fixed
 * coordinates (poolkit's grid: r̂ = In/Out, centre (i + ½)·r̂ − ½, offsets ±δ·r̂, clamped to the
 * input), so every query is a Gather of 4 pixels and a lerp with constant weights, in poolkit's
 * lerp order: top = a + wx·(b − a), bottom likewise, y = top + wy·(bottom − top).
 */
const emitDynOPool: Emitter = (ctx) => {
  const g = ctx.g;
  const [n, c, H, W] = ctx.xShape as [number, number, number, number];
  const rParam = ctx.params.r;
  if (rParam === undefined) throw new PoolkitRangeError("toOnnx", `DynOPool: params.r is required (the frozen scale factors)`);
  const rVals = Array.from(rParam.data);
  const [ah, aw] = dynamicGrid("dynamicPool2d", [H, W], rVals) as unknown as [{ outSize: number; ratio: number }, { outSize: number; ratio: number }];
  const deltaParam = ctx.params.delta;
  const dh = deltaParam ? (deltaParam.data[0] as number) : DYNAMIC_DEFAULT_DELTA;
  const dw = deltaParam ? (deltaParam.data[1] as number) : DYNAMIC_DEFAULT_DELTA;
  const outH = ah.outSize;
  const outW = aw.outSize;
  const rh = ah.ratio;
  const rw = aw.ratio;
  const oh = dh * rh;
  const ow = dw * rw;
  const clamp = (q: number, size: number): number => (q < 0 ? 0 : q > size - 1 ? size - 1 : q);
  const xf = reshape(g, ctx.x, [n, c, H * W]);
  const L = outH * outW;
  const queries: string[] = [];
  for (const [sy, sx] of [[-1, -1], [-1, 1], [1, -1], [1, 1]] as const) {
    const idx = [new Array<number>(L), new Array<number>(L), new Array<number>(L), new Array<number>(L)];
    const wy = new Float64Array(L);
    const wx = new Float64Array(L);
    let o = 0;
    for (let i = 0; i < outH; i++) {
      const qy = clamp((i + 0.5) * rh - 0.5 + sy * oh, H);
      for (let j = 0; j < outW; j++, o++) {
        const qx = clamp((j + 0.5) * rw - 0.5 + sx * ow, W);
        const y0 = Math.floor(qy);
        const x0 = Math.floor(qx);
        const y1 = y0 + 1 < H ? y0 + 1 : H - 1;
        const x1 = x0 + 1 < W ? x0 + 1 : W - 1;
        (idx[0] as number[])[o] = y0 * W + x0;
        (idx[1] as number[])[o] = y0 * W + x1;
        (idx[2] as number[])[o] = y1 * W + x0;
        (idx[3] as number[])[o] = y1 * W + x1;
        wy[o] = qy - y0;
        wx[o] = qx - x0;
      }
    }
    const [a, b, cc, d] = idx.map((ix) => g.node("Gather", [xf, g.constInt64(ix)], { axis: attr.int(2) })) as [string, string, string, string];
    const WX = fill(g, ctx, wx, [1, 1, L]);
    const WY = fill(g, ctx, wy, [1, 1, L]);
    const top = g.node("Add", [a, g.node("Mul", [WX, g.node("Sub", [b, a])])]);
    const bot = g.node("Add", [cc, g.node("Mul", [WX, g.node("Sub", [d, cc])])]);
    queries.push(g.node("Add", [top, g.node("Mul", [WY, g.node("Sub", [bot, top])])]));
  }
  // Max of the 4 queries; NaN wins (poolkit's `v !== v`), which ONNX's Max leaves unspecified.
  const anyNan = queries.map((q) => g.node("IsNaN", [q])).reduce((a, b) => g.node("Or", [a, b]));
  const y = g.node("Where", [anyNan, g.constFloat([NaN], [], ctx.dtype), g.node("Max", queries)]);
  const shape = [n, c, outH, outW];
  return { output: reshape(g, y, shape), shape };
};

/** Emitters of the stochastic (eval), learned and weighted methods, by registry method name. */
export const LEARNED_EMITTERS: Readonly<Record<string, Emitter>> = {
  Mixed: emitMixed,
  LearnedMix: emitLearnedMix,
  GatedMix: emitGatedMix,
  Tree: emitTree,
  Stochastic: emitStochastic,
  S3Pool: emitS3Pool,
  DPP: emitDpp,
  DynOPool: emitDynOPool,
};


