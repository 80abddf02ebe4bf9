/**
 * Covariance (second-order) pooling with matrix normalisation: log-Euclidean (DeepO2P-style),
 * MPN-COV's exact square root, or iSQRT-COV's Newton–Schulz iteration.
 */
import { enumOption, expectFloatTensor, expectOptions, numberOption, batchedShape2d } from "../check.js";
import { PoolkitRangeError, show } from "../errors.js";
import { symEig } from "../linalg/eigen.js";
import { checkMaxDim, maxDimOption } from "../linalg/guard.js";
import { axpby, centredRows, scaled, frobDot, gram, gramBackward, mm, scaledIdentityMinus, spectralApply, spectralBackward, sym } from "../linalg/matrix.js";
import { defineOp } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray } from "../tensor/dtype.js";
import { fromArray, type Tensor } from "../tensor/tensor.js";

/** Matrix normalisation of {@link covariancePool}. */
export type CovarianceNormalization = "logm" | "sqrtm" | "newton-schulz" | "none";

/** Options of {@link covariancePool}. */
export interface CovariancePoolOptions {
  /** Matrix normalisation of the covariance. Default `"logm"`. */
  normalization?: CovarianceNormalization;
  /**
   * Regularisation: the op normalises C + εI. For logm and sqrtm this is ε added to the eigenvalues.
   * Default 1e-3 for logm (must be > 0), 0 otherwise (sqrtm: MPN-COV's training value).
   */
  eps?: number;
  /** Newton–Schulz iterations (used by newton-schulz, validated for all). Default 5, as in the released iSQRT-COV models. */
  iterations?: number;
  /** `"triu"`: upper triangle row by row, `[N, D(D+1)/2]` (default); `"full"`: `[N, D, D]`. */
  output?: "triu" | "full";
  /**
   * Largest channel count D accepted by `"logm"`, `"sqrtm"` and `"newton-schulz"`, whose per-image
   * cost grows as D³ (`"none"` is not limited). Default 1024; an integer ≥ 1,
   * or `Infinity`. Raise it deliberately: at D = 1024 one image takes seconds, at D = 4096 minutes.
   */
  maxDim?: number;
}

const OP = "covariancePool";
const KNOWN = ["normalization", "eps", "iterations", "output", "maxDim"] as const;
const NORMS = ["logm", "sqrtm", "newton-schulz", "none"] as const;

interface Parsed {
  readonly norm: CovarianceNormalization;
  readonly eps: number;
  readonly iterations: number;
  readonly full: boolean;
  readonly maxDim: number;
}

function parseOptions(opts: unknown): Parsed {
  const o = expectOptions<CovariancePoolOptions>(OP, opts, KNOWN);
  const norm = enumOption(OP, "normalization", o.normalization, NORMS, "logm");
  const full = enumOption(OP, "output", o.output, ["triu", "full"] as const, "triu") === "full";
  // ε always means the regularised covariance C + εI: added to the eigenvalues for logm/sqrtm (the
  // same matrix function), to the diagonal before Newton–Schulz or as the output for "none".
  let eps: number;
  if (norm === "logm") eps = numberOption(OP, "eps", o.eps, 1e-3, { min: 0, minExclusive: true });
  else eps = numberOption(OP, "eps", o.eps, 0, { min: 0 });
  if (!Number.isFinite(eps)) throw new PoolkitRangeError(OP, `eps must be finite, got ${show(eps)}`);
  // `iterations` is validated whatever the normalisation (one options object can serve all four) and used by newton-schulz.
  const iterations = numberOption(OP, "iterations", o.iterations, 5, { integer: true, min: 1, max: 100 });
  const maxDim = maxDimOption(OP, o.maxDim);
  return { norm, eps, iterations, full, maxDim };
}

/** The D³ paths refuse D > maxDim (shared by the op and `outputShape`). */
function checkDim(p: Parsed, d: number): void {
  if (p.norm !== "none") checkMaxDim(OP, `normalization "${p.norm}" with`, d, p.maxDim);
}

function outShapeOf(xShape: readonly number[], full: boolean): number[] {
  const n = xShape[0] as number;
  const d = xShape[1] as number;
  return full ? [n, d, d] : [n, (d * (d + 1)) / 2];
}

/** The plan of covariance pooling: the input shape, the resolved options and the output shape. */
export interface CovariancePoolPlan {
  readonly xShape: readonly number[];
  readonly norm: CovarianceNormalization;
  readonly eps: number;
  readonly iterations: number;
  readonly full: boolean;
  readonly maxDim: number;
  readonly outShape: readonly number[];
}

/** The one plan of covariance pooling: `[N, D(D+1)/2]`, or `[N, D, D]` with `output: "full"`. */
function planCovariance(xShape: readonly number[], opts?: CovariancePoolOptions): CovariancePoolPlan {
  batchedShape2d(OP, "x", xShape, "N, D, H, W");
  const parsed = parseOptions(opts);
  checkDim(parsed, xShape[1] as number);
  return { xShape: [...xShape], ...parsed, outShape: outShapeOf(xShape, parsed.full) };
}

/**
 * MATLAB's single-precision `eps(v)` = 2^(⌊log2 v⌋ − 23): MPN-COV (EIG.m) keeps eigenvalues above
 * eps(λ_max) and drops the rest as rounding noise.
 */
function singleEps(v: number): number {
  return v > 0 ? 2 ** (Math.floor(Math.log2(v)) - 23) : Infinity;
}

/** Per-image state kept for the backward pass. */
interface ImageState {
  readonly xc: Float64Array;
  readonly c: Float64Array;
  // eig paths
  u?: Float64Array;
  /** The eigenvalues (descending) and, for sqrtm, how many are kept: the backward's divided differences are made from them. */
  values?: Float64Array;
  kept?: number;
  // Newton–Schulz
  tr?: number;
  a?: Float64Array;
  ys?: Float64Array[];
  zs?: Float64Array[];
  yN?: Float64Array;
  /** C has a NaN/∞ entry (sqrtm, newton-schulz): output and gradient are NaN. */
  nonFinite?: boolean;
}

/** Divided differences of f(λ) = log(max(λ, 0) + ε) (log1p form: no cancellation for close eigenvalues). */
function logDividedDifferences(lam: Float64Array, eps: number, d: number): Float64Array {
  const p = allocArray("float64", d * d);
  for (let i = 0; i < d; i++) {
    const mi = Math.max(lam[i] as number, 0) + eps;
    for (let j = 0; j < d; j++) {
      const mj = Math.max(lam[j] as number, 0) + eps;
      const delta = mi - mj;
      // Below the tolerance use f' at the midpoint (Daleckii–Krein limit); else the exact difference.
      p[i * d + j] = Math.abs(delta) <= 1e-9 * Math.max(mi, mj) ? 2 / (mi + mj) : Math.log1p(delta / mj) / delta;
    }
  }
  return p;
}

/**
 * Divided differences of the truncated square root: f(λ) = √(λ + ε) for kept eigenvalues, 0 for dropped
 * ones. Kept–kept pairs use 1/(√μ_i + √μ_j) (exact, and equal to f'(λ) on the diagonal, so close
 * eigenvalues are stable); kept–dropped pairs f(λ_i)/(λ_i − λ_j); dropped–dropped 0.
 */
function sqrtDividedDifferences(lam: Float64Array, kept: number, eps: number, d: number): Float64Array {
  const p = allocArray("float64", d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const li = lam[i] as number;
      const lj = lam[j] as number;
      if (i < kept && j < kept) p[i * d + j] = 1 / (Math.sqrt(li + eps) + Math.sqrt(lj + eps));
      else if (i < kept) p[i * d + j] = Math.sqrt(li + eps) / (li - lj);
      else if (j < kept) p[i * d + j] = Math.sqrt(lj + eps) / (lj - li);
    }
  }
  return p;
}

function newtonSchulzForward(st: ImageState, d: number, iterations: number): Float64Array {
  let tr = 0;
  for (let i = 0; i < d; i++) tr += st.c[i * d + i] as number;
  st.tr = tr;
  // Guard tr = 0 (a constant feature map): C = 0, so the output is 0 (not in the reference code).
  if (!(tr > 0)) return allocArray("float64", d * d);
  const a = scaled(st.c, 1 / tr);
  st.a = a;
  let yN: Float64Array;
  const ys: Float64Array[] = [];
  const zs: Float64Array[] = [];
  if (iterations === 1) {
    yN = scaled(mm(a, scaledIdentityMinus(3, a, d), d), 0.5);
  } else {
    let t = scaled(scaledIdentityMinus(3, a, d), 0.5);
    let y = mm(a, t, d);
    let z = t;
    ys.push(y);
    zs.push(z);
    for (let k = 2; k < iterations; k++) {
      t = scaled(scaledIdentityMinus(3, mm(z, y, d), d), 0.5);
      y = mm(y, t, d);
      z = mm(t, z, d);
      ys.push(y);
      zs.push(z);
    }
    yN = scaled(mm(y, scaledIdentityMinus(3, mm(z, y, d), d), d), 0.5);
  }
  st.ys = ys;
  st.zs = zs;
  st.yN = yN;
  return scaled(yN, Math.sqrt(tr));
}

/** iSQRT-COV backward (docs/methods/covariance.md, fast-MPN-COV `Sqrtm.backward` plus the trace terms): Ḡ → dC. */
function newtonSchulzBackward(st: ImageState, g: Float64Array, d: number, iterations: number): Float64Array {
  const tr = st.tr as number;
  if (!(tr > 0)) return allocArray("float64", d * d);
  const a = st.a as Float64Array;
  const ys = st.ys as Float64Array[];
  const zs = st.zs as Float64Array[];
  const sq = Math.sqrt(tr);
  const dYN = scaled(g, sq);
  const gTr = frobDot(g, st.yN as Float64Array) / (2 * sq);
  const threeMinusA = scaledIdentityMinus(3, a, d);
  let dA: Float64Array;
  if (iterations === 1) {
    dA = axpby(0.5, mm(dYN, threeMinusA, d), -0.5, mm(a, dYN, d));
  } else {
    const yl = ys[iterations - 2] as Float64Array;
    const zl = zs[iterations - 2] as Float64Array;
    let dY = axpby(0.5, mm(dYN, scaledIdentityMinus(3, mm(yl, zl, d), d), d), -0.5, mm(mm(zl, yl, d), dYN, d));
    let dZ = scaled(mm(mm(yl, dYN, d), yl, d), -0.5);
    for (let k = iterations - 3; k >= 0; k--) {
      const yk = ys[k] as Float64Array;
      const zk = zs[k] as Float64Array;
      const b = scaledIdentityMinus(3, mm(yk, zk, d), d);
      const zy = mm(zk, yk, d);
      // Simultaneous update: dY ← ½(dY·B − Z_k·dZ·Z_k − Z_kY_k·dY), dZ ← ½(B·dZ − Y_k·dY·Y_k − dZ·Z_kY_k).
      const nY = scaled(axpby(1, mm(dY, b, d), -1, axpby(1, mm(mm(zk, dZ, d), zk, d), 1, mm(zy, dY, d))), 0.5);
      const nZ = scaled(axpby(1, mm(b, dZ, d), -1, axpby(1, mm(mm(yk, dY, d), yk, d), 1, mm(dZ, zy, d))), 0.5);
      dY = nY;
      dZ = nZ;
    }
    // Y_1 = ½A(3I − A), Z_1 = ½(3I − A): dA = ½(dY·(3I − A) − dZ − A·dY).
    dA = scaled(axpby(1, mm(dY, threeMinusA, d), -1, axpby(1, dZ, 1, mm(a, dY, d))), 0.5);
  }
  // A = C / tr and out = √tr·Y_N: dC = dA/tr + (g_tr − <dA, C>/tr²)·I.
  const dC = scaled(dA, 1 / tr);
  const diag = gTr - frobDot(dA, st.c) / (tr * tr);
  for (let i = 0; i < d; i++) dC[i * d + i] = (dC[i * d + i] as number) + diag;
  return dC;
}

/**
 * Covariance pooling: `[N, D, H, W]` → `[N, D(D+1)/2]` (upper triangle of the normalised D × D
 * covariance, row by row: (0,0), (0,1), …, (0,D−1), (1,1), …) or `[N, D, D]` with `output: "full"`.
 *
 * Per image, with X the D × M feature matrix (M = H·W) and Xc its row-centred copy,
 * C = (1/M)·Xc·Xcᵀ (biased covariance), then
 * - `"logm"`: U·log(max(λ, 0) + ε)·Uᵀ = logm(C + εI) (log-Euclidean; Ionescu, Vantzos & Sminchisescu,
 *   "Matrix Backpropagation for Deep Networks with Structured Layers", ICCV 2015). Eigenvalues that
 *   rounding made slightly negative are clamped to 0 (C is positive semi-definite); ε must be > 0.
 * - `"sqrtm"`: MPN-COV's exact square root Σ (λ_i + ε)^½ u_i u_iᵀ over the eigenvalues above MATLAB's
 *   single-precision eps(λ_max) = 2^(⌊log2 λ_max⌋ − 23) — the truncation of MPN-COV's EIG.m, which
 *   drops the rounding-noise eigenvalues of rank-deficient covariances (M ≤ D) so √ is never taken of
 *   noise (Li, Xie, Wang & Zuo, "Is Second-order Information Helpful for Large-scale Visual
 *   Recognition?", ICCV 2017).
 * - `"newton-schulz"`: iSQRT-COV (Li, Xie, Wang & Gao, CVPR 2018): A = C / tr(C), `iterations` coupled
 *   Newton–Schulz steps, output √tr(C)·Y_N, symmetrised to remove rounding asymmetry (fast-MPN-COV
 *   does not; the values differ in the last bits only). tr(C) = 0 (constant map) gives 0 with a 0 gradient.
 * - `"none"`: C itself (C + εI when `eps` > 0).
 * `eps` regularises every normalisation the same way: the matrix normalised is C + εI.
 * The triangle is not scaled (neither official code multiplies off-diagonals by √2).
 *
 * Everything is computed in float64 and the result cast to the input dtype: products through the
 * matrix core (src/linalg/gemm.ts), the eigendecomposition by Householder tridiagonalisation +
 * implicit QL (Jacobi for D ≤ 8; src/linalg/eigen.ts), on the covariance scaled by a power of two so
 * that the result does not depend on the input's scale (x·10⁸⁰ gives 10⁸⁰ times the sqrtm of x). A
 * NaN or ±∞ in an image (or a covariance overflowing float64, |x| ≳ 10¹⁵⁴) gives NaN for that image's
 * output and gradient under logm, sqrtm and newton-schulz.
 *
 * Cost per image: O(D²·H·W) for the covariance and O(D³) for the normalisation. The
 * eigendecomposition alone measured (bench/matrix.mjs, wasm-simd matrix core, one thread of a shared
 * 2-core machine) 0.08 s at D = 256, 0.37 s at D = 512, 1.9 s at D = 1024 (about 5× per doubling); the
 * backward pass adds four D × D × D products. `maxDim` (default 1024) refuses larger D up front;
 * raise it with `{ maxDim }` when that cost is intended. Backward is exact: Daleckii–Krein divided differences for the
 * eigen paths (closed forms for log and √ that stay exact for equal or close eigenvalues), iSQRT's
 * backward recursion with the trace terms, and the triangle's gradient is scattered to the upper
 * half without doubling. Deviations: MPN-COV writes the triangle column by column (we use fast-MPN-COV's
 * row-major `Triuvec`); MPN-COV's backward zeroes the kept×dropped block of its K matrix, which is not
 * the derivative when eigenvalues are dropped — we keep those terms, the exact gradient (checked
 * against autograd through an equivalent Gram-matrix formulation in the fixtures).
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const x = tensor([1, 2, 3, 4, 2, 0, 1, 3], [1, 2, 2, 2]);
 * covariancePool(x, { normalization: "none" }); // [[1.25, 0.5, 1.25]]
 */
export const covariancePool = defineOp(OP, {
  planArgs: (x: Tensor, opts?: CovariancePoolOptions): [readonly number[], CovariancePoolOptions | undefined] => {
    expectFloatTensor(OP, "x", x);
    return [x.shape, opts];
  },
  plan: planCovariance,
  forward: (plan, x) => {
    const { norm, eps, iterations, full, outShape } = plan;
    const [n, d, h, w] = plan.xShape as [number, number, number, number];
    const m = h * w;
    const dtype = x.dtype as "float32" | "float64";
    const per = full ? d * d : (d * (d + 1)) / 2;
    const y = allocArray(dtype, n * per);
    const states: ImageState[] = [];
    for (let b = 0; b < n; b++) {
      // x.data read per image: the eigensolver's workspace may grow WebAssembly memory (detaching older views)
      const xc = centredRows(x.data, b * d * m, d, m);
      const c = gram(xc, d, m, 1 / m);
      if (eps > 0 && (norm === "none" || norm === "newton-schulz")) for (let i = 0; i < d; i++) c[i * d + i] = (c[i * d + i] as number) + eps;
      const st: ImageState = { xc, c };
      let f: Float64Array;
      // A NaN/∞ covariance (NaN or ∞ input, or a covariance beyond float64's range) would otherwise come
      // out as 0 or as some finite matrix: the eigenvalue truncation drops NaN eigenvalues and the tr = 0
      // guard catches tr = NaN. Every normalising path gives NaN for that image instead ("none" returns C).
      if (norm !== "none" && !c.every(Number.isFinite)) {
        st.nonFinite = true;
        f = allocArray("float64", d * d).fill(NaN);
      } else if (norm === "none") f = c;
      // Y_N is a polynomial in A, so symmetric in exact arithmetic; sym() removes the rounding asymmetry.
      else if (norm === "newton-schulz") f = sym(newtonSchulzForward(st, d, iterations), d);
      else {
        const { values, vectors } = symEig(c, d);
        const fl = allocArray("float64", d);
        if (norm === "logm") {
          for (let i = 0; i < d; i++) fl[i] = Math.log(Math.max(values[i] as number, 0) + eps);
        } else {
          const thr = singleEps(values[0] as number);
          let kept = 0;
          while (kept < d && (values[kept] as number) > thr) kept++;
          for (let i = 0; i < kept; i++) fl[i] = Math.sqrt((values[i] as number) + eps);
          st.kept = kept;
        }
        st.u = vectors;
        st.values = values;
        f = spectralApply(vectors, fl, d);
      }
      states.push(st);
      let o = b * per;
      if (full) for (let i = 0; i < d * d; i++) y[o++] = f[i] as number;
      else for (let i = 0; i < d; i++) for (let j = i; j < d; j++) y[o++] = f[i * d + j] as number;
    }
    return {
      output: fromArray(y, [...outShape]),
      backward: (dy: Tensor) => {
        const dx = allocArray(dtype, x.size);
        const g = dy.data as FloatArray;
        for (let b = 0; b < n; b++) {
          const st = states[b] as ImageState;
          // Ḡ = dL/dF: the triangle's gradient goes to the upper half only (no mirroring, no doubling).
          const gm = allocArray("float64", d * d);
          let o = b * per;
          if (full) for (let i = 0; i < d * d; i++) gm[i] = g[o++] as number;
          else for (let i = 0; i < d; i++) for (let j = i; j < d; j++) gm[i * d + j] = g[o++] as number;
          let dC: Float64Array;
          if (st.nonFinite) dC = allocArray("float64", d * d).fill(NaN);
          else if (norm === "none") dC = gm;
          else if (norm === "newton-schulz") dC = newtonSchulzBackward(st, sym(gm, d), d, iterations);
          else {
            // divided differences made here, not in the forward: a forward-only call skips their D² logs / roots
            const values = st.values as Float64Array;
            const p = norm === "logm" ? logDividedDifferences(values, eps, d) : sqrtDividedDifferences(values, st.kept as number, eps, d);
            dC = spectralBackward(st.u as Float64Array, p, sym(gm, d), d);
          }
          // C = Xc Xcᵀ / M with Xc = X·(I − 11ᵀ/M): dX = (dC + dCᵀ)·Xc / M.
          dx.set(gramBackward(dC, st.xc, d, m, 1 / m), b * d * m);
        }
        return [fromArray(dx, x.shape)];
      },
    };
  },
});
