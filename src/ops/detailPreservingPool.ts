/**
 * Detail-Preserving Pooling (Saeedan, Weber, Goesele & Roth, "Detail-Preserving Pooling in Deep
 * Networks", CVPR 2018, arXiv 1804.04076), following the official nngraph graphs (`visinf/dpp`,
 * `visinf_package/DPP_{sym,asym}_{lite,full}.lua`, `CWeightCalc.lua`, `PositiveBias.lua`).
 */
import { enumOption, expectFloatTensor, expectOptions, expectShape, leadDims, spatialInput, spatialShapeInput } from "../check.js";
import { PoolkitTypeError, show } from "../errors.js";
import { blockGeometry, type BlockGeometry } from "../geometry/blocks.js";
import { kernel } from "../kernels/registry.js";
import { defineOp } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray } from "../tensor/dtype.js";
import { fromArray, isTensor, type Tensor } from "../tensor/tensor.js";

export interface DetailPreservingPoolOptions {
  /** `"symmetric"` (default): ρ rewards any deviation from Ĩ; `"asymmetric"`: only pixels above Ĩ (relu). */
  reward?: "symmetric" | "asymmetric";
}

const NAME = "detailPreservingPool2d";
const KNOWN = ["reward"] as const;
const REWARDS = ["symmetric", "asymmetric"] as const;
/** ε² of the reward, added to d² before normalisation (nngraph graphs: `AddConstant(1e-3)`). */
const EPS2 = 1e-3;
/** PositiveBias clamps the stored α parameter to ≤ 10 on every forward pass. */
const ALPHA_CLAMP = 10;

/**
 * Forward over all planes. Per 2×2 block of channel c (λ = e^{θλ[c]}, α = e^{min(θα[c], 10)}):
 *   Ĩ = block mean (lite) or Σ F[c]·I over the 3×3 / stride-2 / pad-1 neighbourhood (full);
 *   d = I − Ĩ (asym: relu), q = d² + ε², q̄ = mean_block q, w = (q/q̄)^{λ/2} + α, y = Σ w·I / Σ w.
 */
export function dppForward(
  x: FloatArray, thA: FloatArray, thL: FloatArray, filt: FloatArray | null, y: FloatArray,
  planes: number, channels: number, geom: BlockGeometry, asym: boolean,
): void {
  const { inH: H, inW: W, outH, outW } = geom;
  for (let p = 0; p < planes; p++) {
    const c = p % channels;
    const h = Math.exp(thL[c] as number) / 2;
    const alpha = Math.exp(Math.min(thA[c] as number, ALPHA_CLAMP));
    const xo = p * H * W;
    let o = p * outH * outW;
    for (let bi = 0; bi < outH; bi++) {
      for (let bj = 0; bj < outW; bj++) {
        const j0 = xo + 2 * bi * W + 2 * bj;
        const i0 = x[j0] as number;
        const i1 = x[j0 + 1] as number;
        const i2 = x[j0 + W] as number;
        const i3 = x[j0 + W + 1] as number;
        const g = filt === null ? (i0 + i1 + i2 + i3) / 4 : guidance(x, filt, c, xo, H, W, bi, bj);
        let d0 = i0 - g;
        let d1 = i1 - g;
        let d2 = i2 - g;
        let d3 = i3 - g;
        if (asym) {
          d0 = d0 > 0 ? d0 : 0;
          d1 = d1 > 0 ? d1 : 0;
          d2 = d2 > 0 ? d2 : 0;
          d3 = d3 > 0 ? d3 : 0;
        }
        const q0 = d0 * d0 + EPS2;
        const q1 = d1 * d1 + EPS2;
        const q2 = d2 * d2 + EPS2;
        const q3 = d3 * d3 + EPS2;
        const qm = (q0 + q1 + q2 + q3) / 4;
        // w = (q/q̄)^h + α, all four divided by R = max_j (q_j/q̄)^h (y is a ratio, so R cancels):
        // (q/q̄)^h alone overflows to ∞ (then y = ∞/∞ = NaN) once 4^h > 1.8e308, i.e. λ > 1024.
        const l0 = Math.log(q0 / qm);
        const l1 = Math.log(q1 / qm);
        const l2 = Math.log(q2 / qm);
        const l3 = Math.log(q3 / qm);
        const lm = Math.max(l0, l1, l2, l3);
        const a = alpha * Math.exp(-h * lm);
        const w0 = Math.exp(h * (l0 - lm)) + a;
        const w1 = Math.exp(h * (l1 - lm)) + a;
        const w2 = Math.exp(h * (l2 - lm)) + a;
        const w3 = Math.exp(h * (l3 - lm)) + a;
        y[o++] = (w0 * i0 + w1 * i1 + w2 * i2 + w3 * i3) / (w0 + w1 + w2 + w3);
      }
    }
  }
}

/** Full variant's Ĩ for block (bi, bj): depthwise 3×3, stride 2, zero padding 1, filter F[c]. */
function guidance(x: FloatArray, filt: FloatArray, c: number, xo: number, H: number, W: number, bi: number, bj: number): number {
  let s = 0;
  const f0 = c * 9;
  for (let a = 0; a < 3; a++) {
    const r = 2 * bi - 1 + a;
    if (r < 0 || r >= H) continue;
    for (let b = 0; b < 3; b++) {
      const col = 2 * bj - 1 + b;
      if (col < 0 || col >= W) continue;
      s += (filt[f0 + a * 3 + b] as number) * (x[xo + r * W + col] as number);
    }
  }
  return s;
}

/**
 * Backward of {@link dppForward}: the closed forms of docs/methods/dpp.md per block (S = Σ w):
 *   ∂y/∂I_j (direct) = w_j/S, ∂y/∂w_j = (I_j − y)/S, ∂w_j/∂θα = α (0 when θα > 10, as autograd of
 *   the clamp), ∂r_j/∂θλ = r_j·ln(q_j/q̄)·λ/2, ∂r_j/∂q_j = (λ/2)·r_j/q_j and through q̄ = mean q
 *   −(λ/2)·r_j/(4q̄) for every pixel of the block, ∂q/∂d = 2d (asym: d = relu(·), zero below),
 *   ∂d/∂I = 1, ∂d/∂Ĩ = −1, then Ĩ's backward (1/4 each for lite; the depthwise conv's for full).
 * gA, gL (length C) and gF (C·9) are float64 accumulators; dx accumulates.
 */
export function dppBackward(
  x: FloatArray, thA: FloatArray, thL: FloatArray, filt: FloatArray | null, dy: FloatArray,
  dx: FloatArray, gA: Float64Array, gL: Float64Array, gF: Float64Array | null,
  planes: number, channels: number, geom: BlockGeometry, asym: boolean,
): void {
  const { inH: H, inW: W, outH, outW } = geom;
  for (let p = 0; p < planes; p++) {
    const c = p % channels;
    const lam = Math.exp(thL[c] as number);
    const h = lam / 2;
    const thetaA = thA[c] as number;
    const alpha = Math.exp(Math.min(thetaA, ALPHA_CLAMP));
    // clamp(max=10)'s autograd passes the gradient where θα ≤ 10 (inclusive): ∂w/∂θα = α there, else 0.
    const xo = p * H * W;
    let o = p * outH * outW;
    let accA = 0;
    let accL = 0;
    for (let bi = 0; bi < outH; bi++) {
      for (let bj = 0; bj < outW; bj++) {
        const gy = dy[o++] as number;
        const j0 = xo + 2 * bi * W + 2 * bj;
        const i0 = x[j0] as number;
        const i1 = x[j0 + 1] as number;
        const i2 = x[j0 + W] as number;
        const i3 = x[j0 + W + 1] as number;
        const g = filt === null ? (i0 + i1 + i2 + i3) / 4 : guidance(x, filt, c, xo, H, W, bi, bj);
        let d0 = i0 - g;
        let d1 = i1 - g;
        let d2 = i2 - g;
        let d3 = i3 - g;
        if (asym) {
          d0 = d0 > 0 ? d0 : 0;
          d1 = d1 > 0 ? d1 : 0;
          d2 = d2 > 0 ? d2 : 0;
          d3 = d3 > 0 ? d3 : 0;
        }
        const q0 = d0 * d0 + EPS2;
        const q1 = d1 * d1 + EPS2;
        const q2 = d2 * d2 + EPS2;
        const q3 = d3 * d3 + EPS2;
        const qm = (q0 + q1 + q2 + q3) / 4;
        // Everything below in units of R = max_j r_j, as in the forward pass: r, α, w and S are
        // divided by R, and every gradient formula is homogeneous of degree 0 in that scaling
        // (∂y/∂I_j = w_j/S, t_j = (I_j − y)·r_j·h/S, ∂y/∂θα = α·Σ(I_j − y)/S).
        const l0 = Math.log(q0 / qm);
        const l1 = Math.log(q1 / qm);
        const l2 = Math.log(q2 / qm);
        const l3 = Math.log(q3 / qm);
        const lm = Math.max(l0, l1, l2, l3);
        const a = alpha * Math.exp(-h * lm);
        const r0 = Math.exp(h * (l0 - lm));
        const r1 = Math.exp(h * (l1 - lm));
        const r2 = Math.exp(h * (l2 - lm));
        const r3 = Math.exp(h * (l3 - lm));
        const w0 = r0 + a;
        const w1 = r1 + a;
        const w2 = r2 + a;
        const w3 = r3 + a;
        const S = w0 + w1 + w2 + w3;
        const yv = (w0 * i0 + w1 * i1 + w2 * i2 + w3 * i3) / S;
        const gs = gy / S;
        // ∂L/∂w_j = ∂L/∂r_j
        const gw0 = gs * (i0 - yv);
        const gw1 = gs * (i1 - yv);
        const gw2 = gs * (i2 - yv);
        const gw3 = gs * (i3 - yv);
        accA += thetaA <= ALPHA_CLAMP ? (gw0 + gw1 + gw2 + gw3) * a : 0;
        // ∂L/∂r_j·r_j·h, shared by the θλ and q terms.
        const t0 = gw0 * r0 * h;
        const t1 = gw1 * r1 * h;
        const t2 = gw2 * r2 * h;
        const t3 = gw3 * r3 * h;
        accL += t0 * l0 + t1 * l1 + t2 * l2 + t3 * l3;
        const gqm = -(t0 + t1 + t2 + t3) / qm / 4;
        const gd0 = (t0 / q0 + gqm) * 2 * d0;
        const gd1 = (t1 / q1 + gqm) * 2 * d1;
        const gd2 = (t2 / q2 + gqm) * 2 * d2;
        const gd3 = (t3 / q3 + gqm) * 2 * d3;
        dx[j0] = (dx[j0] as number) + gs * w0 + gd0;
        dx[j0 + 1] = (dx[j0 + 1] as number) + gs * w1 + gd1;
        dx[j0 + W] = (dx[j0 + W] as number) + gs * w2 + gd2;
        dx[j0 + W + 1] = (dx[j0 + W + 1] as number) + gs * w3 + gd3;
        const gG = -(gd0 + gd1 + gd2 + gd3);
        if (filt === null || gF === null) {
          const q = gG / 4;
          dx[j0] = (dx[j0] as number) + q;
          dx[j0 + 1] = (dx[j0 + 1] as number) + q;
          dx[j0 + W] = (dx[j0 + W] as number) + q;
          dx[j0 + W + 1] = (dx[j0 + W + 1] as number) + q;
        } else {
          const f0 = c * 9;
          for (let a = 0; a < 3; a++) {
            const r = 2 * bi - 1 + a;
            if (r < 0 || r >= H) continue;
            for (let b = 0; b < 3; b++) {
              const col = 2 * bj - 1 + b;
              if (col < 0 || col >= W) continue;
              const k = xo + r * W + col;
              dx[k] = (dx[k] as number) + gG * (filt[f0 + a * 3 + b] as number);
              gF[f0 + a * 3 + b] = (gF[f0 + a * 3 + b] as number) + gG * (x[k] as number);
            }
          }
        }
      }
    }
    gA[c] = (gA[c] as number) + accA;
    gL[c] = (gL[c] as number) + accL;
  }
}

function parseOptions(opts: unknown): { asym: boolean } {
  const o = expectOptions<DetailPreservingPoolOptions>(NAME, opts, KNOWN);
  return { asym: enumOption(NAME, "reward", o.reward, REWARDS, "symmetric") === "asymmetric" };
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
export const detailPreservingPool2d = defineOp(
  NAME,
  (
    x: Tensor,
    alpha: Tensor,
    lambda: Tensor,
    filterOrOpts?: Tensor | DetailPreservingPoolOptions | null,
    opts?: DetailPreservingPoolOptions,
  ) => {
    // The 4th argument is the filter (full variant), null/undefined (lite) or, in the lite form, the options.
    const filter = isTensor(filterOrOpts) ? filterOrOpts : null;
    const noFilter = filterOrOpts === null || filterOrOpts === undefined;
    // null stands for "no filter" only when options follow it; a trailing null is null options,
    // rejected like every other op's (the options check reports it).
    const options = isTensor(filterOrOpts) || noFilter ? (filterOrOpts === null && opts === undefined ? null : opts) : filterOrOpts;
    if (!isTensor(filterOrOpts) && !noFilter && opts !== undefined) {
      throw new PoolkitTypeError(NAME, `the 4th argument must be the filter Tensor (or null) when options follow it, got ${show(filterOrOpts)}`);
    }
    const { asym } = parseOptions(options);
    const input = spatialInput(NAME, "x", x, 2);
    const geom = blockGeometry(NAME, input.spatial);
    const C = input.c;
    expectParam("alpha", alpha, x, [C]);
    expectParam("lambda", lambda, x, [C]);
    if (filter !== null) expectParam("filter", filter, x, [C, 1, 3, 3]);
    const dtype = x.dtype as "float32" | "float64";
    const planes = input.n * C;
    const y = allocArray(dtype, planes * geom.outH * geom.outW);
    kernel("detailPreservingPool.forward", dtype, dppForward)(
      x.data as FloatArray, alpha.data as FloatArray, lambda.data as FloatArray, filter ? (filter.data as FloatArray) : null,
      y, planes, C, geom, asym,
    );
    const output = fromArray(y, [...leadDims(input), geom.outH, geom.outW]);
    return {
      output,
      backward: (dy: Tensor) => {
        const dx = allocArray(dtype, x.size);
        const gA = allocArray("float64", C);
        const gL = allocArray("float64", C);
        const gF = filter ? allocArray("float64", C * 9) : null;
        kernel("detailPreservingPool.backward", dtype, dppBackward)(
          x.data as FloatArray, alpha.data as FloatArray, lambda.data as FloatArray, filter ? (filter.data as FloatArray) : null,
          dy.data as FloatArray, dx, gA, gL, gF, planes, C, geom, asym,
        );
        const cast = (a: Float64Array, shape: readonly number[]): Tensor => {
          const out = allocArray(dtype, a.length);
          out.set(a);
          return fromArray(out, shape);
        };
        const grads: (Tensor | null)[] = [fromArray(dx, x.shape), cast(gA, alpha.shape), cast(gL, lambda.shape)];
        if (filter && gF) grads.push(cast(gF, filter.shape));
        return grads;
      },
    };
  },
  {
    /** Output shape `[N, C, H/2, W/2]` (H and W must be even), from the same block geometry as the op. */
    outputShape(shape: readonly number[], opts?: DetailPreservingPoolOptions): number[] {
      parseOptions(opts);
      const input = spatialShapeInput(NAME, "x", shape, 2);
      const geom = blockGeometry(NAME, input.spatial);
      return [...leadDims(input), geom.outH, geom.outW];
    },
  },
);
