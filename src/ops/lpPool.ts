/**
 * Power-average (LP) pooling, PyTorch 1.13's `F.lp_pool1d/2d` formula, forward and backward:
 *
 *   s = avg_pool(x^p)   (zero padding counted in the divisor: the window clipped to the padded extent)
 *   y = (sign(s) · relu(|s|) · prod(k))^(1/p)
 *
 * Every step is evaluated in the input dtype, and backward is the chain rule through exactly these
 * steps as PyTorch's autograd takes it, so NaN, ±∞ and zero gradients appear where PyTorch has them.
 */
import { boolOption, expectFloatTensor, expectOptions, spatialInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { planSlidingFor, slidingGeometry, type SlidingGeometry, type SlidingPadding } from "../geometry/sliding.js";
import { kernel } from "../kernels/registry.js";
import { avgDivisors, avgWindowsBackward, avgWindowsForward } from "../kernels/window.js";
import { defineOp } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray } from "../tensor/dtype.js";
import { emptyTensor, fromArray, type Tensor } from "../tensor/tensor.js";
import type { Axes3 } from "../geometry/plan.js";
import { slidingShape } from "./maxPool.js";

/** Options of `lpPool1d/2d/3d` (PyTorch's `LPPoolNd` arguments, camelCased). */
export interface LpPoolOptions {
  /** The power p > 0 (may be `Infinity`, which does *not* give max pooling: see the docs). Required. */
  normType: number;
  /** Window size: a number or one per spatial dim. Required. */
  kernelSize: number | readonly number[];
  /** Step between windows; defaults to `kernelSize`. */
  stride?: number | readonly number[] | null;
  /**
   * Zero padding (not in PyTorch's `LPPoolNd`): the result is `lp_pool(F.pad(x, pads))`. A number or
   * one per spatial axis pads both sides, at most ⌊k/2⌋; per-side `[[before, after], ...]` has no
   * half-kernel limit, but the padding before must be less than k and every window must overlap the
   * input. Default 0.
   */
  padding?: SlidingPadding;
  /** Round the output size up. Default false. */
  ceilMode?: boolean;
}

const LP_KEYS = ["normType", "kernelSize", "stride", "padding", "ceilMode"] as const;

function parseLp(name: string, rank: number, opts: unknown): { g: SlidingGeometry; p: number } {
  const o = expectOptions<LpPoolOptions>(name, opts, LP_KEYS);
  const p = o.normType;
  if (p === undefined) throw new PoolkitRangeError(name, `normType is required`);
  if (typeof p !== "number" || Number.isNaN(p)) throw new PoolkitTypeError(name, `normType must be a number, got ${show(p)}`);
  if (!(p > 0)) throw new PoolkitRangeError(name, `normType must be > 0, got ${show(p)}`);
  const ceilMode = boolOption(name, "ceilMode", o.ceilMode, false);
  const g = slidingGeometry(name, { kernelSize: o.kernelSize, stride: o.stride, padding: o.padding, ceilMode }, rank);
  return { g, p };
}

/**
 * @internal `base ** exp` with C's `pow` rules where JavaScript's differ: `pow(1, y) = 1` for every y (NaN
 * included) and `pow(−1, ±∞) = 1` (JS gives NaN for both). PyTorch evaluates `Tensor.pow` with C's pow.
 */
export function cpow(base: number, exp: number): number {
  if (base === 1) return 1;
  if (base === -1 && (exp === Infinity || exp === -Infinity)) return 1;
  return Math.pow(base, exp);
}

/** out[i] = x[i]^p (rounded to out's dtype, as PyTorch's `x.pow(p)`). */
function lpPowForward(x: FloatArray, out: FloatArray, p: number): void {
  for (let i = 0; i < x.length; i++) out[i] = cpow(x[i] as number, p);
}

/** u = sign(s)·relu(|s|)·K (rounded in the dtype), y = u^(1/p). */
function lpFinishForward(s: FloatArray, u: FloatArray, y: FloatArray, invP: number, area: number): void {
  for (let o = 0; o < s.length; o++) {
    const v = s[o] as number;
    // torch.sign(NaN) = 0; torch.relu(NaN) = NaN; the product is NaN, as here.
    const sg = v > 0 ? 1 : v < 0 ? -1 : 0;
    u[o] = sg * Math.abs(v) * area;
    y[o] = cpow(u[o] as number, invP);
  }
}

/**
 * Gradient with respect to s, step by step as autograd takes it (torch/csrc/autograd/FunctionsManual.cpp,
 * derivatives.yaml), each product rounded to the dtype as PyTorch's tensors are (gs[o] is the register):
 * pow(u, 1/p): dy·((1/p)·u^(1/p−1)), or exactly 0 when 1/p = 0 (pow_backward's exponent-0 rule);
 * mul(K); mul(sign(s), r): the sign factor has zero gradient, r gets g·sign(s);
 * relu: threshold_backward, zero where r = relu(|s|) <= 0 (a mask, so s = 0 gives 0, not ∞·0 = NaN;
 * r = NaN passes); abs: times sign(s), with torch.sign(NaN) = 0.
 */
function lpFinishBackward(dy: FloatArray, s: FloatArray, u: FloatArray, gs: FloatArray, invP: number, area: number): void {
  for (let o = 0; o < s.length; o++) {
    const v = s[o] as number;
    const sg = v > 0 ? 1 : v < 0 ? -1 : 0;
    if (invP === 0) gs[o] = 0;
    else {
      gs[o] = cpow(u[o] as number, invP - 1);
      gs[o] = invP * (gs[o] as number);
      gs[o] = (dy[o] as number) * (gs[o] as number);
    }
    gs[o] = (gs[o] as number) * area;
    const gr = (gs[o] as number) * sg;
    const ga = Math.abs(v) <= 0 ? 0 : gr;
    gs[o] = ga * sg;
  }
}

/** dx[i] = g[i]·(p·x[i]^(p−1)) — pow_backward of `x.pow(p)`, each product rounded to the dtype (dx[i] is the register). */
function lpPowBackward(g: FloatArray, x: FloatArray, dx: FloatArray, p: number): void {
  for (let i = 0; i < x.length; i++) {
    dx[i] = cpow(x[i] as number, p - 1);
    dx[i] = p * (dx[i] as number);
    dx[i] = (g[i] as number) * (dx[i] as number);
  }
}

/**
 * The whole forward pass, one kernel (the readable reference of the fused WebAssembly kernel):
 * `x.pow(p)` rounded to the dtype, the window averages s (float64 sums, divisor = in-input window
 * size), then u and y as {@link lpFinishForward}. Writes s and u (kept for backward) and y.
 */
export function lpForward(x: FloatArray, s: FloatArray, u: FloatArray, y: FloatArray, p: number, area: number, planes: number, axes: Axes3, div: Float64Array): void {
  const xp = allocArray(x instanceof Float32Array ? "float32" : "float64", x.length);
  lpPowForward(x, xp, p);
  avgWindowsForward(xp, s, planes, axes, div);
  lpFinishForward(s, u, y, 1 / p, area);
}

function lpPoolN(rank: 1 | 2 | 3) {
  const name = `lpPool${rank}d`;
  return defineOp(
    name,
    (x: Tensor, opts: LpPoolOptions) => {
      expectFloatTensor(name, "x", x);
      const input = spatialInput(name, "x", x, rank);
      const { g, p } = parseLp(name, rank, opts);
      const plan = planSlidingFor(name, input, g);
      const dtype = x.dtype;
      const invP = 1 / p;
      const area = g.kernelSize.reduce((a, b) => a * b, 1);
      // count_include_pad: each window's divisor is its length clipped to the padded extent, as
      // avg_pool of the zero-padded input (padding 0: its in-input size).
      const div = avgDivisors(plan.axes, true);
      const nOut = plan.planes * plan.outPlaneSize;
      // s and u (kept for the backward pass) and y where the backend keeps tensors; views read at the call
      const s = emptyTensor([nOut], dtype);
      const u = emptyTensor([nOut], dtype);
      const output = emptyTensor(plan.outShape, dtype);
      kernel("lpPool.forward", dtype, lpForward)(x.data as FloatArray, s.data as FloatArray, u.data as FloatArray, output.data as FloatArray, p, area, plan.planes, plan.axes, div);
      const xShape = x.shape;
      return {
        output,
        backward: (dy: Tensor) => {
          const gs = allocArray(dtype, nOut);
          kernel("lpPool.finishBackward", dtype, lpFinishBackward)(dy.data as FloatArray, s.data as FloatArray, u.data as FloatArray, gs, invP, area);
          const gxp = allocArray(dtype, x.size);
          kernel("avgWindows.backward", dtype, avgWindowsBackward)(gs, gxp, plan.planes, plan.axes, div);
          const dx = allocArray(dtype, x.size);
          kernel("lpPool.powBackward", dtype, lpPowBackward)(gxp, x.data as FloatArray, dx, p);
          return [fromArray(dx, xShape)];
        },
      };
    },
    {
      outputShape: (shape: readonly number[], opts: LpPoolOptions): number[] => slidingShape(name, shape, rank, parseLp(name, rank, opts).g),
    },
  );
}

/**
 * 1-d power-average pooling, PyTorch's `F.lp_pool1d`: `y = (Σ_window x^p)^(1/p)` for full windows.
 *
 * Shapes: `[N, C, L] → [N, C, Lo]` or unbatched `[C, L] → [C, Lo]`, with
 * `Lo = ⌊(L + pb + pa − k + (ceilMode ? s−1 : 0)) / s⌋ + 1` (minus 1 in ceil mode when the last window
 * would start at or past `L + pb`), `pb`, `pa` the padding before and after (default 0; PyTorch's
 * LP pooling has none: padding here means `lp_pool1d(F.pad(x, [pb, pa]), ...)` — padded zeros add
 * 0^p = 0 to the sum, and count in the divisor that the kernel size k then cancels).
 *
 * Exactly PyTorch's formula `(sign(s)·relu(|s|)·k)^(1/p)` with `s = avg_pool(x^p)`, which means:
 * - ceil-mode overhang windows are over-counted: their mean over the valid elements is multiplied
 *   by the full kernel size k;
 * - where the pooled value s is 0 the gradient is 0 (the relu mask), not NaN — for p ≥ 1; with
 *   p < 1 the zero inputs of such a window still get NaN, as in PyTorch (pow's backward multiplies
 *   the masked 0 by 0^(p−1) = ∞; torch 1.13 `F.lp_pool2d(zeros, 0.5, 2)` gives NaN gradients), and a
 *   zero input in a non-zero window gets ±∞ (the true one-sided derivative for p < 1);
 * - negative bases are not `abs`-ed: odd or fractional p with negative values gives NaN, p = 1 gives
 *   the signed sum;
 * - p = ∞ gives 1 everywhere (not max pooling) and, as in PyTorch, a NaN gradient;
 * - large p overflows (to ∞ in float32 sooner than in float64).
 *
 * Deviation: normType must be > 0 (PyTorch accepts any float; p ≤ 0 is meaningless here).
 *
 * Paper: Sermanet, Chintala & LeCun, Convolutional neural networks applied to house numbers digit
 * classification, ICPR 2012. Reference: PyTorch `torch/nn/functional.py::lp_pool1d`.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * lpPool1d(tensor([[[3, 4, 1]]]), { normType: 2, kernelSize: 2 }); // [[[5]]]
 */
export const lpPool1d = lpPoolN(1);

/**
 * 2-d power-average pooling, PyTorch's `F.lp_pool2d`: `[N, C, H, W] → [N, C, Ho, Wo]` (or unbatched
 * `[C, H, W]`), `y = (avg_pool(x^p)·kH·kW)^(1/p)` with the sign/relu trick. See {@link lpPool1d}.
 *
 * @example
 * lpPool2d(tensor([[[[1, 2], [3, 4]]]]), { normType: 2, kernelSize: 2 }); // [[[[√30]]]]
 */
export const lpPool2d = lpPoolN(2);

/**
 * 3-d power-average pooling: `[N, C, D, H, W] → [N, C, Do, Ho, Wo]` (or unbatched `[C, D, H, W]`).
 * torch 1.13 has no `lp_pool3d`; this applies the same formula with `avg_pool3d` and `kD·kH·kW`
 * (what later PyTorch releases added). See {@link lpPool1d}.
 *
 * @example
 * lpPool3d(x, { normType: 3, kernelSize: 2 });
 */
export const lpPool3d = lpPoolN(3);
