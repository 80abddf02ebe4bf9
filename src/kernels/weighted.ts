/**
 * Weighted-window kernels: softmax-weighted windows (SoftPool, LIP), LP pooling's power average and
 * detail-preserving pooling's reward-weighted 2×2 blocks.
 *
 * Softmax-weighted window kernels are shared by SoftPool (logits = x) and LIP (logits from a module):
 *
 *   y = Σ_{i∈R} e^{L_i} x_i / Σ_{i∈R} e^{L_i}
 *
 * over each window R of a {@link WindowPlan}'s axes. The plan's windows are already clipped to the
 * real input, so padded positions never take part (LIP's ratio of zero-padded average pools, whose
 * divisors cancel, gives exactly this). The exponentials are taken relative to the window's largest
 * logit, `e^{L_i − max_R L}`, which changes nothing mathematically but never overflows (logits of
 * 1000) and never underflows to 0/0 (windows of −1000).
 *
 * Kernels see typed arrays and the plan's axes only, never option objects. The plans they get come
 * from SoftPool/LIP options, which have no dilation, so every axis step is 1 (asserted by the ops'
 * option lists: `dilation` is not accepted).
 */
import type { FloatArray } from "../tensor/dtype.js";
import type { Axes3 } from "../geometry/plan.js";
import { allocArray } from "../tensor/alloc.js";
import type { BlockGeometry } from "../geometry/blocks.js";
import { avgWindowsBackward, avgWindowsForward } from "./window.js";

/**
 * y[o] = softmax(L over window o) · x over window o. `x` and `L` may be the same array (SoftPool).
 * `_E`: room (x's size) where a backend's kernel may save what its backward pass would otherwise
 * recompute (the WebAssembly kernel: the planes' exponentials); returns whether it did. The reference
 * saves nothing (false), and its backward never reads a cache.
 */
export function softmaxWindowsForward(x: FloatArray, L: FloatArray, y: FloatArray, planes: number, axes: Axes3, _E: FloatArray | null = null): boolean {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const HW = H * W;
  const inPlane = A.inSize * HW;
  const outPlane = A.outSize * B.outSize * C.outSize;
  const nA = A.outSize;
  const nB = B.outSize;
  const nC = C.outSize;
  const aS = A.start;
  const aE = A.end;
  const bS = B.start;
  const bE = B.end;
  const cS = C.start;
  const cE = C.end;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    let o = p * outPlane;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = aS[oa] as number;
      const na = (aE[oa] as number) - a0;
      for (let ob = 0; ob < nB; ob++) {
        const b0 = bS[ob] as number;
        const nb = (bE[ob] as number) - b0;
        const rowBase = xo + (a0 * H + b0) * W;
        for (let oc = 0; oc < nC; oc++) {
          const c0 = cS[oc] as number;
          const nc = (cE[oc] as number) - c0;
          const r = rowBase + c0; // the window's first tap
          // Pass 1: the window's largest logit (NaN propagates through the exponentials below).
          let m = -Infinity;
          for (let ia = 0; ia < na; ia++) {
            for (let ib = 0; ib < nb; ib++) {
              const q = r + ia * HW + ib * W;
              for (let ic = 0; ic < nc; ic++) {
                const l = L[q + ic] as number;
                if (l > m) m = l;
              }
            }
          }
          // Pass 2: Σ e^{L−m} and Σ e^{L−m}·x; the largest term is 1, so S ≥ 1.
          let s = 0;
          let sx = 0;
          for (let ia = 0; ia < na; ia++) {
            for (let ib = 0; ib < nb; ib++) {
              const q = r + ia * HW + ib * W;
              for (let ic = 0; ic < nc; ic++) {
                const e = Math.exp((L[q + ic] as number) - m);
                s += e;
                sx += e * (x[q + ic] as number);
              }
            }
          }
          y[o++] = sx / s;
        }
      }
    }
  }
  return false;
}

/** The largest number of taps in one window of the plan (scratch size for the backward pass). */
function maxTaps(axes: Axes3): number {
  let n = 1;
  for (const a of axes) {
    let m = 0;
    for (let o = 0; o < a.outSize; o++) m = Math.max(m, (a.end[o] as number) - (a.start[o] as number));
    n *= m;
  }
  return n;
}

/**
 * Backward of {@link softmaxWindowsForward}: dx and dL are overwritten (set to 0, then accumulated
 * over overlapping windows), with w_i = e^{L_i} / Σ_R e^{L_j} recomputed exactly as in the forward pass:
 *   dx_i = Σ_{R∋i} dy · w_i,     dL_i = Σ_{R∋i} dy · w_i · (x_i − y).
 * `dL` may be null (no logit gradient: SoftPool's "official" mode) or the same array as `dx`
 * (SoftPool's exact gradient, w_i·(1 + x_i − y)). `y` is the forward output; the kernel recomputes
 * each window's y in float64 instead of reading it, so x_i − y is not spoiled by y's rounding to
 * float32 (the parameter stays for the kernel signature). Each window's
 * e^{L−m} are kept in a scratch array between the sum and the scatter (one exp per tap, not two;
 * the same values, since L is never written here). `_E`: the cache a backend's forward kernel filled
 * (see {@link softmaxWindowsForward}), or null; the reference does not read it.
 */
export function softmaxWindowsBackward(
  x: FloatArray,
  L: FloatArray,
  _y: FloatArray,
  dy: FloatArray,
  dx: FloatArray,
  dL: FloatArray | null,
  planes: number,
  axes: Axes3,
  _E: FloatArray | null = null,
): void {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const HW = H * W;
  const inPlane = A.inSize * HW;
  const outPlane = A.outSize * B.outSize * C.outSize;
  const nA = A.outSize;
  const nB = B.outSize;
  const nC = C.outSize;
  const aS = A.start;
  const aE = A.end;
  const bS = B.start;
  const bE = B.end;
  const cS = C.start;
  const cE = C.end;
  const ex = allocArray("float64", maxTaps(axes));
  dx.fill(0);
  dL?.fill(0);
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    let o = p * outPlane;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = aS[oa] as number;
      const na = (aE[oa] as number) - a0;
      for (let ob = 0; ob < nB; ob++) {
        const b0 = bS[ob] as number;
        const nb = (bE[ob] as number) - b0;
        const rowBase = xo + (a0 * H + b0) * W;
        for (let oc = 0; oc < nC; oc++) {
          const c0 = cS[oc] as number;
          const nc = (cE[oc] as number) - c0;
          const r = rowBase + c0; // the window's first tap
          const g = dy[o] as number;
          o++;
          let m = -Infinity;
          for (let ia = 0; ia < na; ia++) {
            for (let ib = 0; ib < nb; ib++) {
              const q = r + ia * HW + ib * W;
              for (let ic = 0; ic < nc; ic++) {
                const l = L[q + ic] as number;
                if (l > m) m = l;
              }
            }
          }
          let s = 0;
          let sx = 0;
          let t = 0;
          for (let ia = 0; ia < na; ia++) {
            for (let ib = 0; ib < nb; ib++) {
              const q = r + ia * HW + ib * W;
              for (let ic = 0; ic < nc; ic++) {
                const e = Math.exp((L[q + ic] as number) - m);
                ex[t++] = e;
                s += e;
                sx += e * (x[q + ic] as number);
              }
            }
          }
          // The window's y in float64 (the forward's value before rounding to the dtype): x_i − y with
          // a float32-rounded y is off by up to ulp(y), e.g. 0 instead of 4.5e-4 for [1e4, 9990, ...].
          const yo = sx / s;
          const gs = g / s;
          t = 0;
          for (let ia = 0; ia < na; ia++) {
            for (let ib = 0; ib < nb; ib++) {
              const q = r + ia * HW + ib * W;
              for (let ic = 0; ic < nc; ic++) {
                const j = q + ic;
                const gw = gs * (ex[t++] as number);
                // Read x before writing dx: for SoftPool dL aliases dx, never x.
                const xj = x[j] as number;
                dx[j] = (dx[j] as number) + gw;
                if (dL !== null) dL[j] = (dL[j] as number) + gw * (xj - yo);
              }
            }
          }
        }
      }
    }
  }
}

// ---- LP (power-average) pooling, PyTorch's lp_pool formula: see src/ops/lpPool.ts ----

/**
 * `base ** exp` with C's `pow` rules where JavaScript's differ: `pow(1, y) = 1` for every y (NaN
 * included) and `pow(−1, ±∞) = 1` (JS gives NaN for both). PyTorch evaluates `Tensor.pow` with C's pow.
 */
export function cpow(base: number, exp: number): number {
  if (base === 1) return 1;
  if (base === -1 && (exp === Infinity || exp === -Infinity)) return 1;
  return Math.pow(base, exp);
}

/** out[i] = x[i]^p (rounded to out's dtype, as PyTorch's `x.pow(p)`). */
export function lpPowForward(x: FloatArray, out: FloatArray, p: number): void {
  for (let i = 0; i < x.length; i++) out[i] = cpow(x[i] as number, p);
}

/** u = sign(s)·relu(|s|)·K (rounded in the dtype), y = u^(1/p). */
export function lpFinishForward(s: FloatArray, u: FloatArray, y: FloatArray, invP: number, area: number): void {
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
export function lpFinishBackward(dy: FloatArray, s: FloatArray, u: FloatArray, gs: FloatArray, invP: number, area: number): void {
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
export function lpPowBackward(g: FloatArray, x: FloatArray, dx: FloatArray, p: number): void {
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

/**
 * The whole backward pass, one kernel (the readable reference of the fused WebAssembly kernel): gs from
 * {@link lpFinishBackward}, its window averages' transpose (avg_pool's backward, into zeros) and
 * {@link lpPowBackward}: dx_i = (Σ_{o∋i} gs_o/div_o)·(p·x_i^(p−1)), each step rounded to the dtype.
 * x, dx: planes × inPlane; s, u (from {@link lpForward}) and dy: planes × outPlane.
 */
export function lpBackward(
  x: FloatArray, s: FloatArray, u: FloatArray, dy: FloatArray, dx: FloatArray, p: number, area: number, planes: number, axes: Axes3, div: Float64Array,
): void {
  const dtype = x instanceof Float32Array ? "float32" : "float64";
  const gs = allocArray(dtype, s.length);
  lpFinishBackward(dy, s, u, gs, 1 / p, area);
  const g = allocArray(dtype, x.length);
  avgWindowsBackward(gs, g, planes, axes, div);
  lpPowBackward(g, x, dx, p);
}

// ---- Detail-preserving pooling (Saeedan et al., CVPR 2018): see src/ops/detailPreservingPool.ts ----

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
    const { halfLambda: h, alpha } = dppChannelParams(thA[c] as number, thL[c] as number);
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
        y[o++] = dppBlock(i0, i1, i2, i3, g, h, alpha, asym);
      }
    }
  }
}

/**
 * One channel's DPP parameters from the raw θs: λ/2 = e^{θλ}/2 and α = e^{min(θα, 10)} (the
 * official `PositiveBias` clamp). Shared by the op and the playground's weight display.
 * @internal
 */
export function dppChannelParams(thetaAlpha: number, thetaLambda: number): { halfLambda: number; alpha: number } {
  return { halfLambda: Math.exp(thetaLambda) / 2, alpha: Math.exp(Math.min(thetaAlpha, ALPHA_CLAMP)) };
}

/**
 * DPP of one 2×2 block (pixels i0 i1 / i2 i3, row-major) with guidance Ĩ = `g`: d = I − Ĩ (asym:
 * relu), q = d² + ε², q̄ = mean q, w = (q/q̄)^{λ/2} + α, returns y = Σ w·I / Σ w. When `weights` is
 * given, it receives the normalised weights w/Σw (they sum to 1 and Σ weights·I = y).
 * All w are divided by R = max_j (q_j/q̄)^{λ/2}, which cancels in y and w/Σw: (q/q̄)^{λ/2} alone
 * overflows to ∞ (then y = ∞/∞ = NaN) once 4^{λ/2} > 1.8e308, i.e. λ > 1024.
 * The one formula behind the op's forward pass and the playground's "where did this output come
 * from" weights; `halfLambda` and `alpha` come from {@link dppChannelParams}.
 * @internal
 */
export function dppBlock(
  i0: number, i1: number, i2: number, i3: number, g: number,
  halfLambda: number, alpha: number, asym: boolean, weights?: Float64Array,
): number {
  const h = halfLambda;
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
  const S = w0 + w1 + w2 + w3;
  if (weights) {
    weights[0] = w0 / S;
    weights[1] = w1 / S;
    weights[2] = w2 / S;
    weights[3] = w3 / S;
  }
  return (w0 * i0 + w1 * i1 + w2 * i2 + w3 * i3) / S;
}

/** Full variant's Ĩ for block (bi, bj): depthwise 3×3, stride 2, zero padding 1, filter F[c]. */
export function guidance(x: FloatArray, filt: FloatArray, c: number, xo: number, H: number, W: number, bi: number, bj: number): number {
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
 * gA, gL (length C) and gF (C·9) are float64 accumulators; dx is overwritten (zeroed here, then
 * each block adds its share: lite blocks cover disjoint pixels, full blocks' filter shares overlap).
 */
export function dppBackward(
  x: FloatArray, thA: FloatArray, thL: FloatArray, filt: FloatArray | null, dy: FloatArray,
  dx: FloatArray, gA: Float64Array, gL: Float64Array, gF: Float64Array | null,
  planes: number, channels: number, geom: BlockGeometry, asym: boolean,
): void {
  const { inH: H, inW: W, outH, outW } = geom;
  dx.fill(0);
  for (let p = 0; p < planes; p++) {
    const c = p % channels;
    const thetaA = thA[c] as number;
    const { halfLambda: h, alpha } = dppChannelParams(thetaA, thL[c] as number);
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
