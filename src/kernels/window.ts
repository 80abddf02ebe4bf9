/**
 * Shared window kernels over a {@link WindowPlan}'s axes: max (with flat in-plane indices) and
 * average, forward and backward. Used by max/avg pooling, adaptive pooling, fractional max pooling,
 * mixed pooling, S3Pool and spatial pyramid pooling. Kernels see typed arrays and the plan's axes
 * only — never option objects — so a SIMD kernel can replace any of them per dtype.
 *
 * Planes are contiguous: plane p of x starts at p·inPlane, of y at p·outPlane.
 */
import type { FloatArray } from "../tensor/dtype.js";
import type { Axes3 } from "../geometry/plan.js";

/**
 * y = max over each window; idx = flat in-plane index (d·H·W + h·W + w) of the maximum.
 * PyTorch rules (cpu/MaxPoolKernel.cpp): replace when `v > best || isNaN(v)` scanning d, h, w in
 * order, so ties go to the first maximum, NaN propagates and the last NaN's index wins. An empty
 * window (possible only with dilation) gives −∞ and the index of its first tap on the grid, as PyTorch.
 *
 * Speed (no semantic change): plans without dilation take {@link maxStep1}, which reduces small
 * windows by a branch-free ordered tournament ({@link pickMax}); everything else takes
 * {@link maxGeneral}. Starting a window from its first tap instead of (−∞, first tap) gives the
 * same value and index: the first comparison against −∞ only replaces for v > −∞ or NaN, i.e.
 * exactly when v ≠ −∞, and a −∞ first tap leaves (−∞, first tap) either way.
 */
export function maxWindowsForward(x: FloatArray, y: FloatArray, idx: Int32Array, planes: number, axes: Axes3): void {
  const [A, B, C] = axes;
  // pickMax selects positions with 32-bit integer masks: only for arrays indexable by an int32.
  if (A.step === 1 && B.step === 1 && C.step === 1 && x.length <= 0x7fffffff) maxStep1(x, y, idx, planes, axes);
  else maxGeneral(x, y, idx, planes, axes);
}

/** {@link maxWindowsForward} for any plan (dilation, empty windows). */
function maxGeneral(x: FloatArray, y: FloatArray, idx: Int32Array, planes: number, axes: Axes3): void {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const inPlane = A.inSize * H * W;
  const outPlane = A.outSize * B.outSize * C.outSize;
  const sa = A.step;
  const sb = B.step;
  const sc = C.step;
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
      const a1 = aE[oa] as number;
      for (let ob = 0; ob < nB; ob++) {
        const b0 = bS[ob] as number;
        const b1 = bE[ob] as number;
        for (let oc = 0; oc < nC; oc++) {
          const c0 = cS[oc] as number;
          const c1 = cE[oc] as number;
          let best = -Infinity;
          let bi = (a0 * H + b0) * W + c0;
          for (let ia = a0; ia < a1; ia += sa) {
            for (let ib = b0; ib < b1; ib += sb) {
              const row = (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic += sc) {
                const v = x[xo + row + ic] as number;
                if (v > best || v !== v) {
                  best = v;
                  bi = row + ic;
                }
              }
            }
          }
          y[o] = best;
          idx[o] = bi;
          o++;
        }
      }
    }
  }
}

/**
 * Of two taps of one window at positions i and j of x, i earlier in d, h, w scan order: j when
 * `x[j] > x[i] || isNaN(x[j])` (PyTorch's replace rule), else i. Branch-free — on unordered data
 * the outcome is unpredictable and mispredicted branches cost more than the comparisons (the
 * branchy 3×3 scan measured ~3× slower on random input than on sorted input) — via an
 * all-ones/zero mask from the comparison bits.
 *
 * Reducing a window with this rule over any tree that keeps earlier taps on the left gives exactly
 * the sequential scan's (value, index): by induction, a segment's winner is its last NaN if it has
 * one, else its first maximum; combining an earlier winner i with a later winner j picks j iff j is
 * NaN (then the last NaN is in the later segment) or x[j] > x[i], which means the earlier segment
 * holds no NaN (nothing is > NaN) and no value ≥ x[j]. Trees let consecutive comparisons run in
 * parallel instead of one chain.
 */
function pickMax(x: FloatArray, i: number, j: number): number {
  const a = x[i] as number;
  const b = x[j] as number;
  return i ^ ((i ^ j) & -(+(b > a) | +(b !== b)));
}

// Per-dtype copies of the hottest window reductions (3×3 and 2×2 max, sum and gradient scatter).
// V8 keeps type feedback per function literal: one function fed both Float32Array and Float64Array
// turns polymorphic, every element load then checks which, and the 3×3 max path measured ~1.7×
// slower once a process had used both dtypes. The F32/F64 copies differ only in the array type;
// test/kernels/window.test.ts runs both against the reference.

/** {@link pickMax} for Float32Array. */
function pickF32(x: Float32Array, i: number, j: number): number {
  const a = x[i] as number;
  const b = x[j] as number;
  return i ^ ((i ^ j) & -(+(b > a) | +(b !== b)));
}

/** {@link pickMax} for Float64Array. */
function pickF64(x: Float64Array, i: number, j: number): number {
  const a = x[i] as number;
  const b = x[j] as number;
  return i ^ ((i ^ j) & -(+(b > a) | +(b !== b)));
}

/** Position of the maximum of the 3×3 window whose first tap is x[r] (rows W apart): taps 0–3, 4–7, then 8. */
function max3x3F32(x: Float32Array, r: number, W: number): number {
  const r1 = r + W;
  const r2 = r1 + W;
  const i03 = pickF32(x, pickF32(x, r, r + 1), pickF32(x, r + 2, r1));
  const i47 = pickF32(x, pickF32(x, r1 + 1, r1 + 2), pickF32(x, r2, r2 + 1));
  return pickF32(x, pickF32(x, i03, i47), r2 + 2);
}

function max3x3F64(x: Float64Array, r: number, W: number): number {
  const r1 = r + W;
  const r2 = r1 + W;
  const i03 = pickF64(x, pickF64(x, r, r + 1), pickF64(x, r + 2, r1));
  const i47 = pickF64(x, pickF64(x, r1 + 1, r1 + 2), pickF64(x, r2, r2 + 1));
  return pickF64(x, pickF64(x, i03, i47), r2 + 2);
}

/** Position of the maximum of the 2×2 window whose first tap is x[r]. */
function max2x2F32(x: Float32Array, r: number, W: number): number {
  return pickF32(x, pickF32(x, r, r + 1), pickF32(x, r + W, r + W + 1));
}

function max2x2F64(x: Float64Array, r: number, W: number): number {
  return pickF64(x, pickF64(x, r, r + 1), pickF64(x, r + W, r + W + 1));
}

/**
 * {@link maxWindowsForward} for plans whose taps are contiguous (every step 1). Windows whose
 * depth slices are 3×3 or 2×2 (the interior of k3/k2 pooling, 2-d or 3-d) reduce each slice by a
 * fixed tree of {@link pickMax} and combine the slices in order; windows whose rows have 2 or 3
 * taps (borders, 1-d) reduce each row by a tree and combine the rows in order; other windows (large adaptive/global ones, where the running
 * maximum rarely changes and branches predict well) run the plain scan.
 */
function maxStep1(x: FloatArray, y: FloatArray, idx: Int32Array, planes: number, axes: Axes3): void {
  const [A, B, C] = axes;
  const f32 = x instanceof Float32Array;
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
        // in-plane index of the first tap of this row of windows
        const rowBase = (a0 * H + b0) * W;
        for (let oc = 0; oc < nC; oc++) {
          const c0 = cS[oc] as number;
          const nc = (cE[oc] as number) - c0;
          const r = xo + rowBase + c0; // first tap's position in x
          let i: number;
          if (nb === 3 && nc === 3 && na > 0) {
            // depth slices in order, each a 3×3 tournament (one slice for 2-d pooling)
            i = f32 ? max3x3F32(x as Float32Array, r, W) : max3x3F64(x as Float64Array, r, W);
            for (let ia = 1; ia < na; ia++) {
              const q = r + ia * HW;
              i = pickMax(x, i, f32 ? max3x3F32(x as Float32Array, q, W) : max3x3F64(x as Float64Array, q, W));
            }
          } else if (nb === 2 && nc === 2 && na > 0) {
            i = f32 ? max2x2F32(x as Float32Array, r, W) : max2x2F64(x as Float64Array, r, W);
            for (let ia = 1; ia < na; ia++) {
              const q = r + ia * HW;
              i = pickMax(x, i, f32 ? max2x2F32(x as Float32Array, q, W) : max2x2F64(x as Float64Array, q, W));
            }
          } else if ((nc === 3 || nc === 2) && na > 0 && nb > 0) {
            i = r;
            let first = true;
            for (let ia = 0; ia < na; ia++) {
              for (let ib = 0; ib < nb; ib++) {
                const q = r + ia * HW + ib * W;
                const iq = nc === 3 ? pickMax(x, pickMax(x, q, q + 1), q + 2) : pickMax(x, q, q + 1);
                i = first ? iq : pickMax(x, i, iq);
                first = false;
              }
            }
          } else {
            // plain scan, as maxGeneral with step 1 (an empty window keeps −∞ and its first tap)
            let best = -Infinity;
            i = r;
            for (let ia = 0; ia < na; ia++) {
              for (let ib = 0; ib < nb; ib++) {
                const q = r + ia * HW + ib * W;
                for (let ic = 0; ic < nc; ic++) {
                  const v = x[q + ic] as number;
                  if (v > best || v !== v) {
                    best = v;
                    i = q + ic;
                  }
                }
              }
            }
            y[o] = best;
            idx[o] = i - xo;
            o++;
            continue;
          }
          y[o] = x[i] as number;
          idx[o] = i - xo;
          o++;
        }
      }
    }
  }
}

/**
 * y = max over each window, values only: what {@link maxWindowsForward} writes to y, bit for bit,
 * without the indices (plain forward calls, whose backward nobody will run). The same sequential
 * PyTorch scan — replace when `v > best || isNaN(v)` in d, h, w order — so ±0 ties keep the first
 * maximum's sign, NaN propagates (the last NaN's bits) and an empty window gives −∞.
 *
 * Speed (no semantic change): plans without dilation take {@link maxStep1} one plane at a time with
 * a one-plane index buffer — JavaScript has no branch-free select on floats, and its branch-free
 * index tournament measured ~15 % faster than the branchy value scan below on random input.
 */
export function maxWindowsForwardValues(x: FloatArray, y: FloatArray, planes: number, axes: Axes3): void {
  const [A, B, C] = axes;
  const inPlane = A.inSize * B.inSize * C.inSize;
  const outPlane = A.outSize * B.outSize * C.outSize;
  if (A.step === 1 && B.step === 1 && C.step === 1 && inPlane <= 0x7fffffff) {
    const idx = new Int32Array(outPlane);
    for (let p = 0; p < planes; p++) {
      maxStep1(x.subarray(p * inPlane, (p + 1) * inPlane), y.subarray(p * outPlane, (p + 1) * outPlane), idx, 1, axes);
    }
    return;
  }
  maxValuesScan(x, y, planes, axes);
}

/** {@link maxWindowsForwardValues} for any plan: the sequential scan, values only. */
function maxValuesScan(x: FloatArray, y: FloatArray, planes: number, axes: Axes3): void {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const inPlane = A.inSize * H * W;
  const sa = A.step;
  const sb = B.step;
  const sc = C.step;
  const aS = A.start;
  const aE = A.end;
  const bS = B.start;
  const bE = B.end;
  const cS = C.start;
  const cE = C.end;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    for (let oa = 0; oa < A.outSize; oa++) {
      const a0 = aS[oa] as number;
      const a1 = aE[oa] as number;
      for (let ob = 0; ob < B.outSize; ob++) {
        const b0 = bS[ob] as number;
        const b1 = bE[ob] as number;
        for (let oc = 0; oc < C.outSize; oc++) {
          const c0 = cS[oc] as number;
          const c1 = cE[oc] as number;
          let best = -Infinity;
          for (let ia = a0; ia < a1; ia += sa) {
            for (let ib = b0; ib < b1; ib += sb) {
              const row = xo + (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic += sc) {
                const v = x[row + ic] as number;
                if (v > best || v !== v) best = v;
              }
            }
          }
          y[o++] = best;
        }
      }
    }
  }
}

/** dx[plane][idx] += dy for every output (accumulates over overlapping windows; skips empty windows' out-of-plane indices). */
export function maxWindowsBackward(dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, inPlane: number, outPlane: number): void {
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    const yo = p * outPlane;
    for (let o = 0; o < outPlane; o++) {
      const i = idx[yo + o] as number;
      if (i >= 0 && i < inPlane) dx[xo + i] = (dx[xo + i] as number) + (dy[yo + o] as number);
    }
  }
}

/**
 * y = (sum over each window) / divisor[o]; an empty window gives 0.
 *
 * Speed (no semantic change): plans without dilation take {@link avgStep1}, which unrolls the
 * 3×3 and 2×2 slices of windows. Every window is still summed from 0 in d, h, w order (so results
 * are bit-identical, −0 included) and divided once.
 */
export function avgWindowsForward(x: FloatArray, y: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void {
  const [A, B, C] = axes;
  if (A.step === 1 && B.step === 1 && C.step === 1) avgStep1(x, y, planes, axes, divisor);
  else avgGeneral(x, y, planes, axes, divisor);
}

/** {@link avgWindowsForward} for any plan. */
function avgGeneral(x: FloatArray, y: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const inPlane = A.inSize * H * W;
  const outPlane = A.outSize * B.outSize * C.outSize;
  const sa = A.step;
  const sb = B.step;
  const sc = C.step;
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
    let k = 0;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = aS[oa] as number;
      const a1 = aE[oa] as number;
      for (let ob = 0; ob < nB; ob++) {
        const b0 = bS[ob] as number;
        const b1 = bE[ob] as number;
        for (let oc = 0; oc < nC; oc++) {
          const c0 = cS[oc] as number;
          const c1 = cE[oc] as number;
          let sum = 0;
          let any = false;
          for (let ia = a0; ia < a1; ia += sa) {
            for (let ib = b0; ib < b1; ib += sb) {
              const row = xo + (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic += sc) {
                sum += x[row + ic] as number;
                any = true;
              }
            }
          }
          y[o] = any ? sum / (divisor[k] as number) : 0;
          o++;
          k++;
        }
      }
    }
  }
}

/** sum + the 9 taps of the 3×3 window at x[r], in scan order (see the per-dtype note above {@link pickF32}). */
function sum3x3F32(x: Float32Array, r: number, W: number, sum: number): number {
  const r1 = r + W;
  const r2 = r1 + W;
  sum += x[r] as number;
  sum += x[r + 1] as number;
  sum += x[r + 2] as number;
  sum += x[r1] as number;
  sum += x[r1 + 1] as number;
  sum += x[r1 + 2] as number;
  sum += x[r2] as number;
  sum += x[r2 + 1] as number;
  sum += x[r2 + 2] as number;
  return sum;
}

function sum3x3F64(x: Float64Array, r: number, W: number, sum: number): number {
  const r1 = r + W;
  const r2 = r1 + W;
  sum += x[r] as number;
  sum += x[r + 1] as number;
  sum += x[r + 2] as number;
  sum += x[r1] as number;
  sum += x[r1 + 1] as number;
  sum += x[r1 + 2] as number;
  sum += x[r2] as number;
  sum += x[r2 + 1] as number;
  sum += x[r2 + 2] as number;
  return sum;
}

/** sum + the 4 taps of the 2×2 window at x[r], in scan order. */
function sum2x2F32(x: Float32Array, r: number, W: number, sum: number): number {
  sum += x[r] as number;
  sum += x[r + 1] as number;
  sum += x[r + W] as number;
  sum += x[r + W + 1] as number;
  return sum;
}

function sum2x2F64(x: Float64Array, r: number, W: number, sum: number): number {
  sum += x[r] as number;
  sum += x[r + 1] as number;
  sum += x[r + W] as number;
  sum += x[r + W + 1] as number;
  return sum;
}

/** {@link avgWindowsForward} for plans whose taps are contiguous (every step 1). */
function avgStep1(x: FloatArray, y: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void {
  const [A, B, C] = axes;
  const f32 = x instanceof Float32Array;
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
    let k = 0;
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
          const r = rowBase + c0; // first tap's position in x
          let sum = 0;
          if (nb === 3 && nc === 3 && na > 0) {
            for (let ia = 0; ia < na; ia++) {
              const q = r + ia * HW;
              sum = f32 ? sum3x3F32(x as Float32Array, q, W, sum) : sum3x3F64(x as Float64Array, q, W, sum);
            }
          } else if (nb === 2 && nc === 2 && na > 0) {
            for (let ia = 0; ia < na; ia++) {
              const q = r + ia * HW;
              sum = f32 ? sum2x2F32(x as Float32Array, q, W, sum) : sum2x2F64(x as Float64Array, q, W, sum);
            }
          } else if (na > 0 && nb > 0 && nc > 0) {
            for (let ia = 0; ia < na; ia++) {
              for (let ib = 0; ib < nb; ib++) {
                const q = r + ia * HW + ib * W;
                for (let ic = 0; ic < nc; ic++) sum += x[q + ic] as number;
              }
            }
          } else {
            y[o++] = 0;
            k++;
            continue;
          }
          y[o++] = sum / (divisor[k++] as number);
        }
      }
    }
  }
}

/**
 * dx[window] += dy / divisor[o], accumulated over overlapping windows.
 *
 * Speed (no semantic change): plans without dilation take {@link avgBackwardStep1}, which unrolls
 * the 3×3 and 2×2 slices of windows; windows are visited in the same order, so each dx element
 * receives the same additions in the same order.
 */
export function avgWindowsBackward(dy: FloatArray, dx: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void {
  const [A, B, C] = axes;
  if (A.step === 1 && B.step === 1 && C.step === 1) avgBackwardStep1(dy, dx, planes, axes, divisor);
  else avgBackwardGeneral(dy, dx, planes, axes, divisor);
}

/**
 * Average pooling's backward into a gradient that need not be zeroed: dx = 0, then
 * {@link avgWindowsBackward} (dx[window] += dy / divisor[o], outputs in scan order). A backend may
 * write each dx element once, adding the same float64 terms in the same order.
 */
export function avgWindowsBackwardWrite(dy: FloatArray, dx: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void {
  dx.fill(0);
  avgWindowsBackward(dy, dx, planes, axes, divisor);
}

/** {@link avgWindowsBackward} for any plan. */
function avgBackwardGeneral(dy: FloatArray, dx: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void {
  const [A, B, C] = axes;
  const H = B.inSize;
  const W = C.inSize;
  const inPlane = A.inSize * H * W;
  const outPlane = A.outSize * B.outSize * C.outSize;
  const sa = A.step;
  const sb = B.step;
  const sc = C.step;
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
    let k = 0;
    for (let oa = 0; oa < nA; oa++) {
      const a0 = aS[oa] as number;
      const a1 = aE[oa] as number;
      for (let ob = 0; ob < nB; ob++) {
        const b0 = bS[ob] as number;
        const b1 = bE[ob] as number;
        for (let oc = 0; oc < nC; oc++) {
          const c0 = cS[oc] as number;
          const c1 = cE[oc] as number;
          const g = (dy[o] as number) / (divisor[k] as number);
          for (let ia = a0; ia < a1; ia += sa) {
            for (let ib = b0; ib < b1; ib += sb) {
              const row = xo + (ia * H + ib) * W;
              for (let ic = c0; ic < c1; ic += sc) dx[row + ic] = (dx[row + ic] as number) + g;
            }
          }
          o++;
          k++;
        }
      }
    }
  }
}

/** dx += g over the 3×3 window at dx[r], in scan order. */
function add3x3F32(dx: Float32Array, r: number, W: number, g: number): void {
  const r1 = r + W;
  const r2 = r1 + W;
  dx[r] = (dx[r] as number) + g;
  dx[r + 1] = (dx[r + 1] as number) + g;
  dx[r + 2] = (dx[r + 2] as number) + g;
  dx[r1] = (dx[r1] as number) + g;
  dx[r1 + 1] = (dx[r1 + 1] as number) + g;
  dx[r1 + 2] = (dx[r1 + 2] as number) + g;
  dx[r2] = (dx[r2] as number) + g;
  dx[r2 + 1] = (dx[r2 + 1] as number) + g;
  dx[r2 + 2] = (dx[r2 + 2] as number) + g;
}

function add3x3F64(dx: Float64Array, r: number, W: number, g: number): void {
  const r1 = r + W;
  const r2 = r1 + W;
  dx[r] = (dx[r] as number) + g;
  dx[r + 1] = (dx[r + 1] as number) + g;
  dx[r + 2] = (dx[r + 2] as number) + g;
  dx[r1] = (dx[r1] as number) + g;
  dx[r1 + 1] = (dx[r1 + 1] as number) + g;
  dx[r1 + 2] = (dx[r1 + 2] as number) + g;
  dx[r2] = (dx[r2] as number) + g;
  dx[r2 + 1] = (dx[r2 + 1] as number) + g;
  dx[r2 + 2] = (dx[r2 + 2] as number) + g;
}

/** dx += g over the 2×2 window at dx[r], in scan order. */
function add2x2F32(dx: Float32Array, r: number, W: number, g: number): void {
  dx[r] = (dx[r] as number) + g;
  dx[r + 1] = (dx[r + 1] as number) + g;
  dx[r + W] = (dx[r + W] as number) + g;
  dx[r + W + 1] = (dx[r + W + 1] as number) + g;
}

function add2x2F64(dx: Float64Array, r: number, W: number, g: number): void {
  dx[r] = (dx[r] as number) + g;
  dx[r + 1] = (dx[r + 1] as number) + g;
  dx[r + W] = (dx[r + W] as number) + g;
  dx[r + W + 1] = (dx[r + W + 1] as number) + g;
}

/** {@link avgWindowsBackward} for plans whose taps are contiguous (every step 1). */
function avgBackwardStep1(dy: FloatArray, dx: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void {
  const [A, B, C] = axes;
  const f32 = dx instanceof Float32Array;
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
    let k = 0;
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
          const r = rowBase + c0; // first tap's position in dx
          const g = (dy[o++] as number) / (divisor[k++] as number);
          if (nb === 3 && nc === 3) {
            for (let ia = 0; ia < na; ia++) {
              if (f32) add3x3F32(dx as Float32Array, r + ia * HW, W, g);
              else add3x3F64(dx as Float64Array, r + ia * HW, W, g);
            }
          } else if (nb === 2 && nc === 2) {
            for (let ia = 0; ia < na; ia++) {
              if (f32) add2x2F32(dx as Float32Array, r + ia * HW, W, g);
              else add2x2F64(dx as Float64Array, r + ia * HW, W, g);
            }
          } else {
            for (let ia = 0; ia < na; ia++) {
              for (let ib = 0; ib < nb; ib++) {
                const q = r + ia * HW + ib * W;
                for (let ic = 0; ic < nc; ic++) dx[q + ic] = (dx[q + ic] as number) + g;
              }
            }
          }
        }
      }
    }
  }
}

/**
 * Max over each plane's own windows: the shared max kernel, run once per plane on that plane's
 * axes (the windows differ between planes because each plane has its own samples).
 */
export function fractionalMaxForward(x: FloatArray, y: FloatArray, idx: Int32Array, inPlane: number, outPlane: number, planeAxes: readonly Axes3[]): void {
  for (let p = 0; p < planeAxes.length; p++) {
    const lo = p * outPlane;
    maxWindowsForward(x.subarray(p * inPlane, (p + 1) * inPlane), y.subarray(lo, lo + outPlane), idx.subarray(lo, lo + outPlane), 1, planeAxes[p] as Axes3);
  }
}
