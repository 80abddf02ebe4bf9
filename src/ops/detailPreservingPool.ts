/**
 * Detail-Preserving Pooling (Saeedan, Weber, Goesele & Roth, "Detail-Preserving Pooling in Deep
 * Networks", CVPR 2018, arXiv 1804.04076), following the official nngraph graphs (`visinf/dpp`,
 * `visinf_package/DPP_{sym,asym}_{lite,full}.lua`, `CWeightCalc.lua`, `PositiveBias.lua`).
 */
import { enumOption, expectFloatTensor, expectOptions, expectShape, leadDims, spatialInput, spatialShapeInput, type SpatialInput } from "../check.js";
import { PoolkitTypeError, show } from "../errors.js";
import { blockGeometry, type BlockGeometry } from "../geometry/blocks.js";
import { kernel } from "../kernels/registry.js";
import { dppBackward, dppForward } from "../kernels/weighted.js";
/** DPP's per-channel parameters and one block's weights, for the playground's explanation view. */
export { dppBlock, dppChannelParams } from "../kernels/weighted.js";
import { defineOp } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray } from "../tensor/dtype.js";
import { emptyTensor, isTensor, type Tensor } from "../tensor/tensor.js";

export interface DetailPreservingPoolOptions {
  /** `"symmetric"` (default): ρ rewards any deviation from Ĩ; `"asymmetric"`: only pixels above Ĩ (relu). */
  reward?: "symmetric" | "asymmetric";
}

const NAME = "detailPreservingPool2d";
const KNOWN = ["reward"] as const;
const REWARDS = ["symmetric", "asymmetric"] as const;


/** The plan of DPP: input layout, the 2×2 block geometry and the reward. */
export interface DetailPreservingPoolPlan extends SpatialInput {
  readonly geom: BlockGeometry;
  readonly asym: boolean;
  readonly outShape: readonly number[];
}

/** The one plan of DPP: shape and options parsed and checked once. */
function planDpp(shape: readonly number[], opts?: DetailPreservingPoolOptions | null): DetailPreservingPoolPlan {
  const input = spatialShapeInput(NAME, "x", shape, 2);
  const o = expectOptions<DetailPreservingPoolOptions>(NAME, opts, KNOWN);
  const asym = enumOption(NAME, "reward", o.reward, REWARDS, "symmetric") === "asymmetric";
  const geom = blockGeometry(NAME, input.spatial);
  return { ...input, geom, asym, outShape: [...leadDims(input), geom.outH, geom.outW] };
}

function expectParam(name: string, t: unknown, x: Tensor, shape: readonly number[]): asserts t is Tensor {
  expectFloatTensor(NAME, name, t);
  expectShape(NAME, name, t, shape);
  if (t.dtype !== x.dtype) throw new PoolkitTypeError(NAME, `${name} must have x's dtype ${x.dtype}, got ${t.dtype}`);
}

/**
 * Detail-preserving pooling (DPP): each 2×2 block becomes a weighted mean whose weights reward
 * pixels that deviate from a smoothed guidance image Ĩ, so fine detail survives downsampling
 * (Saeedan, Weber, Goesele & Roth, CVPR 2018, arXiv 1804.04076).
 *
 * Signature: `detailPreservingPool2d(x, alpha, lambda, opts?)` (lite) or
 * `detailPreservingPool2d(x, alpha, lambda, filter, opts?)` (full). `alpha` and `lambda` are the raw
 * per-channel parameters θ_α, θ_λ, shape `[C]`; `filter` is `[C, 1, 3, 3]` (one learned depthwise
 * 3×3 filter per channel; officially initialised N(0, √(2/9)), no bias). All share x's dtype.
 *
 * Shapes: `x` `[N, C, H, W]` (or `[C, H, W]`) with **H and W even** → `[N, C, H/2, W/2]`.
 *
 * Per 2×2 block of channel c, the official nngraph parametrisation:
 * - `Ĩ` = the block mean (lite), or the depthwise 3×3 / stride 2 / padding 1 convolution with
 *   `filter[c]` (full), shared by the block's 4 pixels (nearest ×2 upsampling);
 * - `d = I − Ĩ` (`reward: "asymmetric"`: `d = relu(I − Ĩ)`), `q = d² + 1e-3` (ε² = 1e-3);
 * - `r = (q / mean_block q)^{λ/2}`, `λ = exp(θ_λ[c])` (`CWeightCalc`);
 * - `w = r + α`, `α = exp(min(θ_α[c], 10))`. The gradient to θ_α is that of `torch.clamp` (0 where
 *   θ_α > 10, full at θ_α = 10). Deviation: the official `PositiveBias` clamps the **stored**
 *   parameter to ≤ 10 in place on every forward pass (inputs are never mutated here), so officially
 *   the gradient is always taken at the clamped value, e^10·Σ…, and a θ_α above 10 keeps learning.
 *   To reproduce that, clamp θ_α to ≤ 10 after each optimiser step (then the two agree exactly);
 * - `y = Σ_block w·I / Σ_block w`.
 *
 * Normaliser: we use the nngraph graphs' block **mean** of q; the black-box CUDA layer
 * (`SpatialInverseBilateralPooling.cu`) divides by the block **sum**, which scales r by 4^{−λ/2}
 * relative to α and so gives different outputs (block `[1,2,3,6]`, λ = α = 1: 3.295888 here,
 * 3.190441 there). The paper's formula `ω = α + ρ_λ(I − Ĩ)` has no block normalisation at all.
 *
 * `backward(dy)` returns `[dx, dalpha, dlambda]` (+ `dfilter` for full), gradients to the raw θs.
 * Properties: λ → 0 gives the block mean; the output is always a convex combination of the block
 * (within its min and max); a constant block returns its value.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const x = tensor([[[[1, 2], [3, 6]]]]);
 * detailPreservingPool2d(x, zeros([1]), zeros([1])); // [[[[3.295888]]]]
 * detailPreservingPool2d(x, zeros([1]), zeros([1]), { reward: "asymmetric" }); // [[[[3.979032]]]]
 */
export const detailPreservingPool2d = defineOp(NAME, {
  planArgs: (
    x: Tensor,
    alpha: Tensor,
    lambda: Tensor,
    filterOrOpts?: Tensor | DetailPreservingPoolOptions | null,
    opts?: DetailPreservingPoolOptions,
  ): [readonly number[], DetailPreservingPoolOptions | null | undefined] => {
    // The 4th argument is the filter (full variant), null/undefined (lite) or, in the lite form, the options.
    const filter = isTensor(filterOrOpts) ? filterOrOpts : null;
    const noFilter = filterOrOpts === null || filterOrOpts === undefined;
    // null stands for "no filter" only when options follow it; a trailing null is null options,
    // rejected like every other op's (the options check reports it).
    const options = isTensor(filterOrOpts) || noFilter ? (filterOrOpts === null && opts === undefined ? null : opts) : filterOrOpts;
    if (!isTensor(filterOrOpts) && !noFilter && opts !== undefined) {
      throw new PoolkitTypeError(NAME, `the 4th argument must be the filter Tensor (or null) when options follow it, got ${show(filterOrOpts)}`);
    }
    const C = spatialInput(NAME, "x", x, 2).c;
    expectParam("alpha", alpha, x, [C]);
    expectParam("lambda", lambda, x, [C]);
    if (filter !== null) expectParam("filter", filter, x, [C, 1, 3, 3]);
    return [x.shape, options];
  },
  plan: planDpp,
  forward: (plan, x, alpha, lambda, filterOrOpts) => {
    const filter = isTensor(filterOrOpts) ? filterOrOpts : null;
    const { geom, asym } = plan;
    const C = plan.c;
    const dtype = x.dtype as "float32" | "float64";
    const planes = plan.n * C;
    // the output where the backend keeps tensors (the kernel writes every element); views read at each call
    const output = emptyTensor(plan.outShape, dtype);
    kernel("detailPreservingPool.forward", dtype, dppForward)(
      x.data as FloatArray, alpha.data as FloatArray, lambda.data as FloatArray, filter ? (filter.data as FloatArray) : null,
      output.data as FloatArray, planes, C, geom, asym,
    );
    return {
      output,
      backward: (dy: Tensor) => {
        // written whole by the kernel (the reference zeroes it first)
        const dx = emptyTensor(x.shape, dtype);
        const gA = allocArray("float64", C);
        const gL = allocArray("float64", C);
        const gF = filter ? allocArray("float64", C * 9) : null;
        kernel("detailPreservingPool.backward", dtype, dppBackward)(
          x.data as FloatArray, alpha.data as FloatArray, lambda.data as FloatArray, filter ? (filter.data as FloatArray) : null,
          dy.data as FloatArray, dx.data as FloatArray, gA, gL, gF, planes, C, geom, asym,
        );
        const cast = (a: Float64Array, shape: readonly number[]): Tensor => {
          const out = emptyTensor(shape, dtype);
          (out.data as FloatArray).set(a);
          return out;
        };
        const grads: (Tensor | null)[] = [dx, cast(gA, alpha.shape), cast(gL, lambda.shape)];
        if (filter && gF) grads.push(cast(gF, filter.shape));
        return grads;
      },
    };
  },
});
