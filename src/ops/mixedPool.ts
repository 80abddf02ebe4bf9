/**
 * Mixed pooling (Yu, Wang, Chen & Wei, "Mixed Pooling for Convolutional Neural Networks",
 * RSKT 2014, LNCS 8818, pp. 364–375): each window is pooled by max (λ = 1) or average (λ = 0),
 * with λ drawn at random in training. Also holds the max/avg mixing kernels that
 * `learnedMixPool2d` reuses.
 */
import { boolOption, enumOption, expectOptions, expectTensor, spatialShapeInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { planSlidingFor, slidingGeometry, type SlidingPadding } from "../geometry/sliding.js";
import type { WindowPlan } from "../geometry/plan.js";
import { mixForward } from "../kernels/mix.js";
import { kernel } from "../kernels/registry.js";
import { avgDivisors } from "../geometry/divisors.js";
import { mixWindowsBackward } from "../kernels/scatter.js";
import { avgWindowsForward, maxWindowsForward } from "../kernels/window.js";
import { defineOp, xShapeArgsOptional } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray, FloatDType } from "../tensor/dtype.js";
import { generatorFor } from "../tensor/random.js";
import { emptyTensor, type Tensor } from "../tensor/tensor.js";

/** How many λ draws a call makes: one per call, per sample, per (sample, channel), or per output element. */
export type MixedGranularity = "layer" | "sample" | "channel" | "window";
/** Eval rule: the paper's majority vote per channel, always max, always average, or ½(max + avg). */
export type MixedEvalMode = "frequency" | "max" | "avg" | "mean-of-both";

export interface MixedPoolOptions {
  kernelSize: number | readonly number[];
  /** Default: kernelSize. */
  stride?: number | readonly number[];
  /**
   * Default 0. The max branch ignores padded cells (pads −∞), the avg branch counts them as 0. A number
   * or `[pH, pW]` pads both sides, at most half the kernel; per-side `[[top, bottom], [left, right]]`
   * has no half-kernel limit, but the padding before must be less than the kernel and every window
   * must overlap the input.
   */
  padding?: SlidingPadding;
  /** PyTorch ceil rounding of the output size (default false). */
  ceilMode?: boolean;
  /** Avg branch divisor, as PyTorch `avg_pool2d` (default true: padded cells count in the divisor). */
  countIncludePad?: boolean;
  /** Default true: draw λ. With false, `evalMode` decides. */
  training?: boolean;
  seed?: number;
  /** Default "channel": one λ per (n, c). */
  granularity?: MixedGranularity;
  /**
   * Default: "frequency" (the paper's rule) when `maxFrequency` is given, else "mean-of-both"
   * (½(max + avg), the expectation of the training output over λ).
   */
  evalMode?: MixedEvalMode;
  /**
   * Fraction of training draws that chose max, per channel (one number for all channels, or C numbers
   * in [0, 1]). Used by `evalMode: "frequency"`: max where the fraction ≥ 0.5 (ties go to max), else avg.
   */
  maxFrequency?: number | readonly number[];
  /** Training only: use these draws (0 = avg, 1 = max; shape from `granularity`) instead of drawing. */
  lambdas?: Tensor;
}

const KNOWN = [
  "kernelSize",
  "stride",
  "padding",
  "ceilMode",
  "countIncludePad",
  "training",
  "seed",
  "granularity",
  "evalMode",
  "maxFrequency",
  "lambdas",
] as const;
const GRANULARITIES: readonly MixedGranularity[] = ["layer", "sample", "channel", "window"];
const EVAL_MODES: readonly MixedEvalMode[] = ["frequency", "max", "avg", "mean-of-both"];

// ---------------------------------------------------------------------------------------------
// Kernels shared with learnedMixPool2d.

/** Max (with first-argmax indices) and average of every window of a plan, as tensors where the backend keeps them. */
export interface MaxAvgMaps {
  readonly mx: Tensor;
  readonly idx: Tensor;
  readonly av: Tensor;
  readonly div: Float64Array;
}

export function maxAvgMaps(x: Tensor, plan: WindowPlan, div: Float64Array): MaxAvgMaps {
  const dtype = x.dtype as FloatDType;
  const n = [plan.planes * plan.outPlaneSize];
  const mx = emptyTensor(n, dtype);
  const idx = emptyTensor(n, "int32");
  const av = emptyTensor(n, dtype);
  // views read at each call: an allocation may have moved them
  kernel("maxWindows.forward", dtype, maxWindowsForward)(x.data as FloatArray, mx.data as FloatArray, idx.data as Int32Array, plan.planes, plan.axes);
  kernel("avgWindows.forward", dtype, avgWindowsForward)(x.data as FloatArray, av.data as FloatArray, plan.planes, plan.axes, div);
  return { mx, idx, av, div };
}

/**
 * dx = maxBackward(w·dy) + avgBackward((1 − w)·dy) over the plan's windows (dx's contents on entry
 * ignored). `w`: the max-branch weight per output element (a float64 tensor), or per plane (a
 * float64 array of `plan.planes`, where one weight holds for a whole plane — a backend's kernel then
 * skips the branch a plane does not take).
 */
export function mixBackward(dy: Tensor, w: Tensor | Float64Array, maps: MaxAvgMaps, plan: WindowPlan, dx: Tensor): void {
  const dtype = dx.dtype as FloatDType;
  const wd = w instanceof Float64Array ? w : (w.data as Float64Array);
  kernel("mix.backward", dtype, mixWindowsBackward)(dy.data as FloatArray, wd, maps.idx.data as Int32Array, dx.data as FloatArray, plan.planes, plan.axes, maps.div);
}

// ---------------------------------------------------------------------------------------------

/** Shape of the λ tensor for a granularity: [1], [N], [N, C] (unbatched [C]) or the output shape. */
function lambdaShape(plan: WindowPlan, granularity: MixedGranularity): number[] {
  switch (granularity) {
    case "layer":
      return [1];
    case "sample":
      return [plan.n];
    case "channel":
      return plan.batched ? [plan.n, plan.c] : [plan.c];
    case "window":
      return [...plan.outShape];
  }
}

/** Expand λ draws (one per group) to one weight per output element. */
function expandLambdas(lam: Int32Array, plan: WindowPlan, granularity: MixedGranularity, w: Float64Array): void {
  const out = plan.outPlaneSize;
  for (let p = 0; p < plan.planes; p++) {
    const n = Math.floor(p / plan.c);
    for (let o = 0; o < out; o++) {
      const i = p * out + o;
      const j = granularity === "layer" ? 0 : granularity === "sample" ? n : granularity === "channel" ? p : i;
      w[i] = lam[j] as number;
    }
  }
}

/** One λ draw per plane (granularity "layer", "sample" or "channel"): each plane's weight. */
function planeLambdas(lam: Int32Array, plan: WindowPlan, granularity: Exclude<MixedGranularity, "window">): Float64Array {
  const w = allocArray("float64", plan.planes);
  for (let p = 0; p < plan.planes; p++) w[p] = lam[granularity === "layer" ? 0 : granularity === "sample" ? Math.floor(p / plan.c) : p] as number;
  return w;
}

function parseMaxFrequency(op: string, v: unknown, c: number): Float64Array {
  const arr = typeof v === "number" ? new Array<number>(c).fill(v) : v;
  if (!Array.isArray(arr) || arr.length !== c) {
    throw new PoolkitTypeError(op, `maxFrequency must be a number or an array of ${c} numbers (one per channel), got ${show(v)}`);
  }
  const out = allocArray("float64", c);
  arr.forEach((f: unknown, i) => {
    if (typeof f !== "number" || !(f >= 0 && f <= 1)) {
      throw new PoolkitRangeError(op, `maxFrequency must hold fractions in [0, 1], got ${show(v)}`);
    }
    out[i] = f;
  });
  return out;
}

interface MixedResult {
  readonly output: Tensor;
  /** The λ draws of a training call (int32, 1 = max, 0 = avg; shape from `granularity`); null in eval. */
  readonly lambdas: Tensor | null;
}

/** The plan of mixed pooling: the windows, the avg branch's divisors, and every option resolved. */
export interface MixedPoolPlan extends WindowPlan {
  readonly divisor: Float64Array;
  readonly training: boolean;
  readonly granularity: MixedGranularity;
  readonly evalMode: MixedEvalMode;
  readonly seed: number | undefined;
  /** Shape of the λ draws of a training call. */
  readonly lambdaShape: readonly number[];
  /** Eval: the weight of the max branch per output element (training draws it per call): null in training. */
  readonly evalWeights: Float64Array | null;
}

/** The one plan of a mixed-pooling op: shape and options parsed and checked once. */
function planMixed(op: string) {
  return (shape: readonly number[], opts?: MixedPoolOptions): MixedPoolPlan => {
    const input = spatialShapeInput(op, "x", shape, 2);
    const o = expectOptions<MixedPoolOptions>(op, opts, KNOWN);
    const g = slidingGeometry(op, { kernelSize: o.kernelSize, stride: o.stride, padding: o.padding, ceilMode: o.ceilMode }, 2);
    const countIncludePad = boolOption(op, "countIncludePad", o.countIncludePad, true);
    const training = boolOption(op, "training", o.training, true);
    const granularity = enumOption(op, "granularity", o.granularity, GRANULARITIES, "channel");
    // Without training counts the paper's rule cannot run: default to the expectation over λ.
    const evalMode = enumOption(op, "evalMode", o.evalMode, EVAL_MODES, o.maxFrequency === undefined ? "mean-of-both" : "frequency");
    const plan = planSlidingFor(op, input, g);
    // Validated whenever given (a stateful layer passes it on every call); used by eval "frequency" only.
    const maxFrequency = o.maxFrequency === undefined ? null : parseMaxFrequency(op, o.maxFrequency, plan.c);
    let evalWeights: Float64Array | null = null;
    if (!training) {
      if (o.lambdas !== undefined) throw new PoolkitRangeError(op, `lambdas only apply with training: true (evalMode ${show(evalMode)} decides in eval)`);
      const out = plan.outPlaneSize;
      evalWeights = allocArray("float64", plan.planes * out);
      let perChannel: Float64Array | null = null;
      if (evalMode === "frequency") {
        if (maxFrequency === null) {
          throw new PoolkitRangeError(
            op,
            `evalMode "frequency" needs maxFrequency, the fraction of training draws that chose max per channel; got undefined (or pass evalMode "max", "avg" or "mean-of-both")`,
          );
        }
        // The paper's test rule: the branch chosen more often in training; a tie goes to max (docs/methods/mixed.md).
        perChannel = maxFrequency.map((v) => (v >= 0.5 ? 1 : 0));
      }
      const constant = evalMode === "max" ? 1 : evalMode === "avg" ? 0 : 0.5;
      for (let p = 0; p < plan.planes; p++) {
        const v = perChannel ? (perChannel[p % plan.c] as number) : constant;
        evalWeights.fill(v, p * out, (p + 1) * out);
      }
    }
    return {
      ...plan,
      divisor: avgDivisors(plan.axes, countIncludePad),
      training,
      granularity,
      evalMode,
      seed: o.seed,
      lambdaShape: lambdaShape(plan, granularity),
      evalWeights,
    };
  };
}

function mixedImpl(op: string, plan: MixedPoolPlan, x: Tensor, opts?: MixedPoolOptions) {
  const dtype = x.dtype as FloatDType;
  let lambdas: Tensor | null = null;
  // the max-branch weight per output element, where the backend keeps tensors (the mix kernel's input)
  const w = emptyTensor([plan.planes * plan.outPlaneSize], "float64");
  // the same weights per plane, where one holds for a whole plane (every granularity but "window"): the backward's
  let wPlane: Float64Array | null = null;
  if (plan.training) {
    const shape = plan.lambdaShape;
    const count = shape.reduce((a, b) => a * b, 1);
    lambdas = emptyTensor(shape, "int32");
    const given = (opts as { lambdas?: unknown } | undefined)?.lambdas; // an input carried in the options
    if (given !== undefined) {
      expectTensor(op, "lambdas", given);
      const s = given.shape;
      if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
        throw new PoolkitRangeError(op, `lambdas must have shape ${show(shape)} for granularity ${show(plan.granularity)}, got ${show(s)}`);
      }
      const src = given.data;
      const lam = lambdas.data as Int32Array;
      for (let i = 0; i < count; i++) {
        const v = src[i] as number;
        if (v !== 0 && v !== 1) throw new PoolkitRangeError(op, `lambdas must be 0 (avg) or 1 (max), got ${show(v)} at index ${i}`);
        lam[i] = v;
      }
    } else {
      const gen = generatorFor(plan.seed, op);
      const lam = lambdas.data as Int32Array;
      // P(λ = 1) = 0.5 (docs/methods/mixed.md); one 53-bit uniform per group, in the λ tensor's row-major order.
      for (let i = 0; i < count; i++) lam[i] = gen.uniform() < 0.5 ? 1 : 0;
    }
    expandLambdas(lambdas.data as Int32Array, plan, plan.granularity, w.data as Float64Array);
    if (plan.granularity !== "window") wPlane = planeLambdas(lambdas.data as Int32Array, plan, plan.granularity);
  } else {
    (w.data as Float64Array).set(plan.evalWeights as Float64Array);
    const ew = plan.evalWeights as Float64Array;
    wPlane = allocArray("float64", plan.planes);
    for (let p = 0; p < plan.planes; p++) wPlane[p] = ew[p * plan.outPlaneSize] as number;
  }

  const maps = maxAvgMaps(x, plan, plan.divisor);
  const output = emptyTensor(plan.outShape, dtype);
  kernel("mix.forward", dtype, mixForward)(maps.mx.data as FloatArray, maps.av.data as FloatArray, w.data as Float64Array, output.data as FloatArray);
  return {
    output: { output, lambdas } as MixedResult,
    backward: (dy: Tensor) => {
      const dx = emptyTensor(x.shape, dtype); // written by mixBackward
      mixBackward(dy, wPlane ?? w, maps, plan, dx);
      return [dx];
    },
  };
}

/**
 * Mixed pooling (Yu et al., RSKT 2014): each window is max-pooled (λ = 1) or average-pooled (λ = 0),
 * with λ ~ Bernoulli(0.5) drawn afresh on every training call.
 *
 * `y = λ·max_R x + (1 − λ)·avg_R x` — a hard switch, not a blend.
 *
 * - Shapes: `x` `[N, C, H, W]` → `[N, C, Ho, Wo]` (or unbatched `[C, H, W]` → `[C, Ho, Wo]`), with
 *   PyTorch's sliding rule `Ho = floor((H + pb + pa − k)/s) + 1` (ceil with `ceilMode`; `pb = pa = p` for
 *   a number padding, `[[pb, pa], ...]` per side); both branches use
 *   exactly the same windows.
 * - Padding: the max branch pads −∞ (padded cells are never chosen), the average branch pads 0 and
 *   divides as PyTorch's `avg_pool2d` with `countIncludePad` (default true, PyTorch's default).
 * - `granularity` (default `"channel"`): one λ per call (`"layer"`), per sample, per (n, c), or per
 *   output element (`"window"`). The paper's granularity could not be verified (docs/methods/mixed.md); per
 *   feature map is the recalled one.
 * - Eval (`training: false`) is deterministic; `evalMode`:
 *   `"frequency"` (the paper's rule; the default when `maxFrequency` is given) uses per channel the
 *   branch that training chose more often, given as `maxFrequency` (ties → max); `"max"`; `"avg"`;
 *   `"mean-of-both"` = ½(max + avg) (the default without `maxFrequency`): the expectation of the
 *   training output over λ, a common re-implementation choice that is not the paper's rule.
 * - Draws: pass `lambdas` to fix them; {@link mixedPool2dWithLambdas} returns them, so a stateful layer
 *   can keep the per-channel counters that `maxFrequency` needs. Backward uses the forward's draws:
 *   the max branch routes the gradient to the first maximum (PyTorch), the average branch spreads it
 *   over the window divided by the divisor.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const y = mixedPool2d(x, { kernelSize: 2, seed: 1 });                  // [N, C, H/2, W/2]
 * const z = mixedPool2d(x, { kernelSize: 2, training: false, evalMode: "mean-of-both" });
 */
export const mixedPool2d = defineOp("mixedPool2d", {
  planArgs: xShapeArgsOptional<MixedPoolOptions>("mixedPool2d"),
  plan: planMixed("mixedPool2d"),
  forward: (plan, x, opts) => {
    const r = mixedImpl("mixedPool2d", plan, x, opts);
    return { output: r.output.output, backward: r.backward };
  },
});

/**
 * {@link mixedPool2d} that also returns its λ draws: `{ output, lambdas }`, where `lambdas` is an int32
 * tensor (1 = max, 0 = avg) of shape `[1]` (layer), `[N]` (sample), `[N, C]` / `[C]` (channel) or the
 * output shape (window), and `null` with `training: false`. Feed `lambdas` back through the option of
 * the same name to replay a call.
 *
 * @example
 * const { output, lambdas } = mixedPool2dWithLambdas(x, { kernelSize: 2, seed: 3 });
 * const again = mixedPool2d(x, { kernelSize: 2, lambdas: lambdas! }); // same output
 */
export const mixedPool2dWithLambdas = defineOp("mixedPool2dWithLambdas", {
  planArgs: xShapeArgsOptional<MixedPoolOptions>("mixedPool2dWithLambdas"),
  plan: planMixed("mixedPool2dWithLambdas"),
  forward: (plan, x, opts) => mixedImpl("mixedPool2dWithLambdas", plan, x, opts),
});
