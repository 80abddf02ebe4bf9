/**
 * Weighted-window kernels: softmax-weighted windows (SoftPool, LIP) and LP pooling's power average.
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
import { avgWindowsForward } from "./window.js";

/** y[o] = softmax(L over window o) · x over window o. `x` and `L` may be the same array (SoftPool). */
export function softmaxWindowsForward(x: FloatArray, L: FloatArray, y: FloatArray, planes: number, axes: Axes3): void {
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
 * Backward of {@link softmaxWindowsForward}, accumulated over overlapping windows, with
 * w_i = e^{L_i} / Σ_R e^{L_j} recomputed exactly as in the forward pass:
 *   dx_i += dy · w_i,     dL_i += dy · w_i · (x_i − y).
 * `dL` may be null (no logit gradient: SoftPool's "official" mode) or the same array as `dx`
 * (SoftPool's exact gradient, w_i·(1 + x_i − y)). `y` is the forward output; the kernel recomputes
 * each window's y in float64 instead of reading it, so x_i − y is not spoiled by y's rounding to
 * float32 (the parameter stays for the kernel signature). Each window's
 * e^{L−m} are kept in a scratch array between the sum and the scatter (one exp per tap, not two;
 * the same values, since L is never written here).
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
