/**
 * Lee, Gallagher & Tu, "Generalizing Pooling Functions in Convolutional Neural Networks: Mixed,
 * Gated, and Tree", AISTATS 2016 (PMLR 51:464–472, arXiv 1509.08985): learned mixed max-average,
 * gated max-average and 2-level tree pooling, each with exact gradients for x and every parameter.
 *
 * Geometry follows the official Caffe code (chl260/general-pooling @ c65d6a2,
 * `treepool_max_ave.cpp`, `treepool_kernel_1layer.cpp`; docs/methods/mixed.md): no padding, Caffe's ceil output
 * size, and in an overhanging last window the positions outside the input contribute 0 to the inner
 * products ωᵀx / vᵀx while max and average run over the valid positions only (average divides by
 * the valid count).
 */
import { enumOption, expectFloatTensor, expectOptions, spatialShapeInput } from "../check.js";
import { PoolkitRangeError, show } from "../errors.js";
import { caffeGeometry, planCaffe } from "../geometry/caffe.js";
import { avgDivisors } from "../geometry/divisors.js";
import type { SlidingGeometry } from "../geometry/sliding.js";
import type { WindowPlan } from "../geometry/plan.js";
import { kernel } from "../kernels/registry.js";
import { avgWindowsForward } from "../kernels/window.js";
import { defineOp, xShapeArgsWith } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray, FloatDType } from "../tensor/dtype.js";
import { emptyTensor, zeros, type Tensor } from "../tensor/tensor.js";
import { gatedBackward, gatedForward, mixForward, sigmoid, treeBackward, treeForward } from "../kernels/mix.js";
import { maxAvgMaps, mixBackward } from "./mixedPool.js";

/** Parameter sharing: one set per layer (official) or one per channel (the paper's finer option). */
export type Sharing = "layer" | "channel";

export interface GeneralizedPoolOptions {
  /** Default 3 (official configuration). */
  kernelSize?: number | readonly number[];
  /** Default: kernelSize when kernelSize is given; 2 when both are omitted (official 3×3 stride 2). */
  stride?: number | readonly number[];
  /** Default "layer": parameters shared by all channels (official). */
  sharing?: Sharing;
}

export interface LearnedMixPoolOptions extends GeneralizedPoolOptions {
  /**
   * How the mixing weight a ∈ [0, 1] is obtained from `alpha` (default "clamped"):
   * `"clamped"`: a = clamp(alpha, 0, 1); meant for projected gradient descent (clip alpha to [0, 1]
   * after each step), so the clamp never acts — its gradient is 1 on the closed interval [0, 1]
   * (so alpha can leave a bound it was projected onto) and 0 outside.
   * `"sigmoid"`: a = σ(alpha), unconstrained; gradient scaled by σ'(alpha).
   */
  mixing?: "clamped" | "sigmoid";
}

const SHARINGS: readonly Sharing[] = ["layer", "channel"];
const KNOWN = ["kernelSize", "stride", "sharing"] as const;
const KNOWN_MIX = ["kernelSize", "stride", "sharing", "mixing"] as const;

function geometry(op: string, o: GeneralizedPoolOptions): SlidingGeometry {
  const k = o.kernelSize ?? 3;
  const s = o.stride ?? (o.kernelSize === undefined ? 2 : undefined);
  return caffeGeometry(op, k, s, 2);
}


/** Shape a parameter must have: [1] / [C] for scalars, [1, kH, kW] / [C, kH, kW] for masks and filters. */
export function paramShape(sharing: Sharing, c: number, kernel: readonly number[] | null): number[] {
  const lead = sharing === "layer" ? 1 : c;
  return kernel ? [lead, ...kernel] : [lead];
}

function expectParam(op: string, name: string, t: unknown, x: Tensor, shape: readonly number[], sharing: Sharing): asserts t is Tensor {
  expectFloatTensor(op, name, t);
  if (t.dtype !== x.dtype) throw new PoolkitRangeError(op, `${name} must have x's dtype ${x.dtype}, got ${t.dtype}`);
  const s = t.shape;
  if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
    throw new PoolkitRangeError(op, `${name} must have shape ${show(shape)} for sharing ${show(sharing)}, got ${show(s)}`);
  }
}



// ---------------------------------------------------------------------------------------------
// learnedMixPool2d

/** The plan of learned mixed pooling: Caffe windows, the avg divisors, parameter sharing and the mixing rule. */
export interface LearnedMixPoolPlan extends WindowPlan {
  readonly divisor: Float64Array;
  readonly sharing: Sharing;
  readonly mixing: "clamped" | "sigmoid";
  readonly alphaShape: readonly number[];
}

/** The one plan of learnedMixPool2d: shape and options parsed and checked once. */
function planLearnedMix(shape: readonly number[], opts?: LearnedMixPoolOptions): LearnedMixPoolPlan {
  const op = "learnedMixPool2d";
  const input = spatialShapeInput(op, "x", shape, 2);
  const o = expectOptions<LearnedMixPoolOptions>(op, opts, KNOWN_MIX);
  const g = geometry(op, o);
  const sharing = enumOption(op, "sharing", o.sharing, SHARINGS, "layer");
  const plan = planCaffe(op, input, g);
  const mixing = enumOption(op, "mixing", o.mixing, ["clamped", "sigmoid"] as const, "clamped");
  // p = 0, so the valid count is the avg divisor either way (docs/methods/mixed.md).
  return { ...plan, divisor: avgDivisors(plan.axes, true), sharing, mixing, alphaShape: paramShape(sharing, plan.c, null) };
}

/**
 * Learned mixed max-average pooling (Lee et al. 2016, "mixed max-average"):
 * `y = a·max_R x + (1 − a)·avg_R x` with one learnable a ∈ [0, 1] per layer (`alpha` `[1]`) or per
 * channel (`sharing: "channel"`, `alpha` `[C]`).
 *
 * - Shapes: `x` `[N, C, H, W]` (or `[C, H, W]`) → `[N, C, Ho, Wo]`, Caffe rule
 *   `Ho = ceil((H − k)/s) + 1`, no padding; an overhanging last window pools its valid positions only.
 * - Defaults: kernel 3, stride 2 (official); stride = kernelSize when only kernelSize is given.
 * - a from alpha: see `mixing`. The paper does not say how a is kept in [0, 1] (docs/methods/mixed.md);
 *   "clamped" (default) is meant for projected gradient descent, init 0.5; "sigmoid" is the
 *   alternative, init 0.
 * - Gradients: dx = a·[first argmax] + (1 − a)/n_valid; dalpha = Σ dy·(max − avg)·da/dalpha.
 * - Not in the official code release (which has gated and tree only); implemented from the paper.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const alpha = tensor([0.5]);
 * const y = learnedMixPool2d(x, alpha);                 // 3×3 stride 2
 * const [dx, dalpha] = learnedMixPool2d.vjp(x, alpha).backward(dy);
 */
export const learnedMixPool2d = defineOp("learnedMixPool2d", {
  planArgs: xShapeArgsWith<Tensor, LearnedMixPoolOptions>("learnedMixPool2d"),
  plan: planLearnedMix,
  forward: (plan, x, alpha) => {
    const op = "learnedMixPool2d";
    const { sharing, mixing } = plan;
    expectParam(op, "alpha", alpha, x, plan.alphaShape, sharing);
    const dtype = x.dtype as FloatDType;
    const alphaValues = alpha.data;
    const nA = alpha.size;
    // a and da/dalpha per parameter entry.
    const a = allocArray("float64", nA);
    const da = allocArray("float64", nA);
    for (let i = 0; i < nA; i++) {
      const t = alphaValues[i] as number;
      if (Number.isNaN(t)) throw new PoolkitRangeError(op, `alpha must not be NaN, got NaN at index ${i}`);
      if (mixing === "sigmoid") {
        a[i] = sigmoid(t);
        da[i] = (a[i] as number) * (1 - (a[i] as number));
      } else {
        a[i] = Math.min(Math.max(t, 0), 1);
        da[i] = t >= 0 && t <= 1 ? 1 : 0;
      }
    }
    const out = plan.outPlaneSize;
    // the max-branch weight per output element, where the backend keeps tensors (the mix kernel's input)
    const w = emptyTensor([plan.planes * out], "float64");
    const wd = w.data as Float64Array;
    // and per plane (the backward's: one weight holds for a whole plane)
    const wPlane = allocArray("float64", plan.planes);
    for (let p = 0; p < plan.planes; p++) {
      wPlane[p] = a[sharing === "layer" ? 0 : p % plan.c] as number;
      wd.fill(wPlane[p] as number, p * out, (p + 1) * out);
    }
    const maps = maxAvgMaps(x, plan, plan.divisor);
    const output = emptyTensor(plan.outShape, dtype);
    kernel("mix.forward", dtype, mixForward)(maps.mx.data as FloatArray, maps.av.data as FloatArray, w.data as Float64Array, output.data as FloatArray);
    return {
      output,
      backward: (dy: Tensor) => {
        const dx = emptyTensor(x.shape, dtype); // written by mixBackward
        mixBackward(dy, wPlane, maps, plan, dx);
        // max − avg with the average in float64: a float32-rounded average is off by up to ulp(avg)/2,
        // which is all of max − avg's precision when the window's spread is small against its level
        // (eight 10000s and one 10001: 0.888672 instead of 8/9). The max is an input value, exact.
        let av: Tensor = maps.av;
        if (dtype !== "float64") {
          const x64 = x.cast("float64");
          av = emptyTensor(maps.av.shape, "float64");
          kernel("avgWindows.forward", "float64", avgWindowsForward)(x64.data as FloatArray, av.data as FloatArray, plan.planes, plan.axes, plan.divisor);
          x64.dispose();
        }
        // views read after the last allocation (a WebAssembly kernel's scratch may grow memory and detach them)
        const g = dy.data as FloatArray;
        const mx = maps.mx.data as FloatArray;
        const avd = av.data as FloatArray;
        const acc = allocArray("float64", nA);
        for (let p = 0; p < plan.planes; p++) {
          const j = sharing === "layer" ? 0 : p % plan.c;
          let s = 0;
          for (let i = p * out; i < (p + 1) * out; i++) s += (g[i] as number) * ((mx[i] as number) - (avd[i] as number));
          acc[j] = (acc[j] as number) + s;
        }
        if (av !== maps.av) av.dispose();
        const dAlpha = emptyTensor(alpha.shape, dtype);
        const dad = dAlpha.data as FloatArray;
        for (let i = 0; i < nA; i++) dad[i] = (acc[i] as number) * (da[i] as number);
        return [dx, dAlpha];
      },
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Kernels for gated and tree pooling over Caffe windows (2-d: axes[1] = height, axes[2] = width).
// With no padding a window's nominal origin is its first valid position, so a tap's index into the
// k×k mask is (ih − h0)·kW + (iw − w0); taps outside the input simply do not occur (they would
// contribute 0 to the inner products).


/** The plan of gated and tree pooling: Caffe windows, parameter sharing and the mask geometry. */
export interface MaskedPoolPlan extends WindowPlan {
  readonly perChannel: boolean;
  readonly sharing: Sharing;
  /** Shape every mask / filter parameter must have. */
  readonly paramShape: readonly number[];
  readonly kW: number;
  readonly kk: number;
}

/** The one plan of gatedMixPool2d / treePool2d: shape and options parsed and checked once. */
function planMasked(op: string) {
  return (shape: readonly number[], opts?: GeneralizedPoolOptions): MaskedPoolPlan => {
    const input = spatialShapeInput(op, "x", shape, 2);
    const o = expectOptions<GeneralizedPoolOptions>(op, opts, KNOWN);
    const g = geometry(op, o);
    const sharing = enumOption(op, "sharing", o.sharing, SHARINGS, "layer");
    const plan = planCaffe(op, input, g);
    const kH = g.kernelSize[0] as number;
    const kW = g.kernelSize[1] as number;
    return { ...plan, perChannel: sharing === "channel", sharing, paramShape: paramShape(sharing, plan.c, g.kernelSize), kW, kk: kH * kW };
  };
}

/**
 * Gated max-average pooling (Lee et al. 2016): `g = σ(ωᵀx_R)`, `y = g·max_R x + (1 − g)·avg_R x`,
 * with a learned gating mask ω and no bias (official code).
 *
 * - Shapes: `x` `[N, C, H, W]` (or `[C, H, W]`) → `[N, C, Ho, Wo]`, Caffe rule `Ho = ceil((H − k)/s) + 1`;
 *   `gate` (ω, window row-major) `[1, kH, kW]` shared by all channels (`sharing: "layer"`, official)
 *   or `[C, kH, kW]` (`sharing: "channel"`).
 * - Overhanging windows: outside positions add 0 to ωᵀx; max/avg over valid positions (avg ÷ valid count).
 * - Defaults: kernel 3, stride 2 (official AlexNet demo); ω initialised N(0, 0.1²) officially.
 * - Gradients: x and ω (ω's summed over N, C, Ho, Wo). Ties: the max gradient goes to the first
 *   maximum in row-major order; the official kernel gives it to every tied maximum (a deliberate
 *   deviation, consistent with PyTorch max pooling; it only matters with exact ties).
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const omega = tensor(new Float32Array(9).fill(0.1), [1, 3, 3]);
 * const y = gatedMixPool2d(x, omega);                         // 3×3 windows, stride 2
 * const [dx, dOmega] = gatedMixPool2d.vjp(x, omega).backward(dy);
 */
export const gatedMixPool2d = defineOp("gatedMixPool2d", {
  planArgs: xShapeArgsWith<Tensor, GeneralizedPoolOptions>("gatedMixPool2d"),
  plan: planMasked("gatedMixPool2d"),
  forward: (plan, x, gate) => {
    const op = "gatedMixPool2d";
    expectParam(op, "gate", gate, x, plan.paramShape, plan.sharing);
    const { perChannel, kW, kk } = plan;
    const dtype = x.dtype as FloatDType;
    const n = [plan.planes * plan.outPlaneSize];
    // output, gate values, argmax and max − avg where the backend keeps tensors (kept for backward);
    // zero-filled as the kernels were written against; views read at each call
    const output = zeros(plan.outShape, dtype);
    const g = zeros(n, "float64");
    const idx = zeros(n, "int32");
    const diff = zeros(n, "float64");
    const f64 = (t: Tensor): Float64Array => t.data as Float64Array;
    kernel("gatedMixPool.forward", dtype, gatedForward)(
      x.data as FloatArray, gate.data as FloatArray, output.data as FloatArray, f64(g), idx.data as Int32Array, f64(diff), plan.planes, plan.c, perChannel, plan.axes, kW, kk,
    );
    return {
      output,
      backward: (dy: Tensor) => {
        const dx = zeros(x.shape, dtype);
        const dOmega = zeros(gate.shape, "float64");
        kernel("gatedMixPool.backward", dtype, gatedBackward)(
          dy.data as FloatArray, x.data as FloatArray, gate.data as FloatArray, f64(g), idx.data as Int32Array, f64(diff), dx.data as FloatArray, f64(dOmega),
          plan.planes, plan.c, perChannel, plan.axes, kW, kk,
        );
        return [dx, toDtype(dOmega, dtype)];
      },
    };
  },
});

/**
 * 2-level tree pooling (Lee et al. 2016): two learned linear pooling filters (leaves) v1, v2 and a
 * learned gating mask ω: `g = σ(ωᵀx_R)`, `y = g·v1ᵀx_R + (1 − g)·v2ᵀx_R`.
 *
 * Signature: `treePool2d(x, v1, v2, omega, opts)` — the leaves in order, then the gate.
 *
 * - Shapes: `x` `[N, C, H, W]` (or `[C, H, W]`) → `[N, C, Ho, Wo]`, Caffe rule `Ho = ceil((H − k)/s) + 1`;
 *   v1, v2, omega each `[1, kH, kW]` (`sharing: "layer"`, official: 27 parameters for 3×3) or
 *   `[C, kH, kW]` (`sharing: "channel"`), indexed in window row-major order.
 * - Overhanging windows: positions outside the input add 0 to every inner product.
 * - Defaults: kernel 3, stride 2; official init N(0, 0.1²) for all three.
 * - Gradients for x, v1, v2 and omega. The official 3-level tree is not implemented.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const [v1, v2, omega] = [a, b, c].map((v) => tensor(v, [1, 3, 3]));
 * const y = treePool2d(x, v1, v2, omega);
 * const [dx, dv1, dv2, dOmega] = treePool2d.vjp(x, v1, v2, omega).backward(dy);
 */
export const treePool2d = defineOp("treePool2d", {
  planArgs: (x: Tensor, _v1: Tensor, _v2: Tensor, _omega: Tensor, opts?: GeneralizedPoolOptions): [readonly number[], GeneralizedPoolOptions | undefined] => {
    expectFloatTensor("treePool2d", "x", x);
    return [x.shape, opts];
  },
  plan: planMasked("treePool2d"),
  forward: (plan, x, v1, v2, omega) => {
    const op = "treePool2d";
    for (const [name, t] of [["v1", v1], ["v2", v2], ["omega", omega]] as const) expectParam(op, name, t, x, plan.paramShape, plan.sharing);
    const { perChannel, kW, kk } = plan;
    const dtype = x.dtype as FloatDType;
    const n = [plan.planes * plan.outPlaneSize];
    // output, gate values and leaf difference where the backend keeps tensors (kept for backward);
    // zero-filled as the kernels were written against; views read at each call
    const output = zeros(plan.outShape, dtype);
    const g = zeros(n, "float64");
    const diff = zeros(n, "float64");
    const f = (t: Tensor): FloatArray => t.data as FloatArray;
    const f64 = (t: Tensor): Float64Array => t.data as Float64Array;
    kernel("treePool.forward", dtype, treeForward)(f(x), f(v1), f(v2), f(omega), f(output), f64(g), f64(diff), plan.planes, plan.c, perChannel, plan.axes, kW, kk);
    return {
      output,
      backward: (dy: Tensor) => {
        const dx = zeros(x.shape, dtype);
        const dv1 = zeros(v1.shape, "float64");
        const dv2 = zeros(v2.shape, "float64");
        const dOmega = zeros(omega.shape, "float64");
        kernel("treePool.backward", dtype, treeBackward)(
          f(dy), f(x), f(v1), f(v2), f(omega), f64(g), f64(diff), f(dx), f64(dv1), f64(dv2), f64(dOmega), plan.planes, plan.c, perChannel, plan.axes, kW, kk,
        );
        return [dx, toDtype(dv1, dtype), toDtype(dv2, dtype), toDtype(dOmega, dtype)];
      },
    };
  },
});

/** A float64 accumulator as a tensor of the op's dtype (the accumulator is freed; itself when already float64). */
function toDtype(acc: Tensor, dtype: FloatDType): Tensor {
  if (dtype === "float64") return acc;
  const out = acc.cast(dtype);
  acc.dispose();
  return out;
}
