/**
 * Covariance (second-order) pooling with matrix normalisation: log-Euclidean (DeepO2P-style),
 * MPN-COV's exact square root, or iSQRT-COV's Newton–Schulz iteration.
 */
import { enumOption, expectFloatTensor, expectOptions, numberOption, batchedShape2d } from "../check.js";
import { PoolkitRangeError, show } from "../errors.js";
import { symEigBatch } from "../linalg/eigen.js";
import { kernel } from "../kernels/registry.js";
import { checkMaxDim, maxDimOption } from "../linalg/guard.js";
import { gemm, gemmBatched, gemmF32, syrk, syrkBatched } from "../linalg/gemm.js";
import { gramSpectralBackwardBatched, logGramPhi, logGramQ, sqrtGramPhi, sqrtGramQ } from "../linalg/gramSpectral.js";
import { centreInto, centreRowsInto, gramBackwardBatched, positiveRoots, scaledColumnsInto, spectralApplyBatched, spectralGramBackwardBatched } from "../linalg/matrix.js";
import { defineOp } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray } from "../tensor/dtype.js";
import { emptyTensor, fromArray, type Tensor } from "../tensor/tensor.js";

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
 * How many of the n descending eigenvalues sqrtm keeps: those above MATLAB's single-precision
 * eps(λ_max) = 2^(⌊log2 λ_max⌋ − 23) — MPN-COV (EIG.m) drops the rest as rounding noise (none when
 * λ_max ≤ 0).
 */
function keptCount(values: Float64Array, n: number): number {
  const top = values[0] as number;
  const thr = top > 0 ? 2 ** (Math.floor(Math.log2(top)) - 23) : Infinity;
  let kept = 0;
  while (kept < n && (values[kept] as number) > thr) kept++;
  return kept;
}

/** Forced eigenproblem of the logm/sqrtm paths (tests): null lets {@link gramRoute} choose. */
let eigPathOverride: "gram" | "dense" | null = null;

/**
 * Test hook: make logm and sqrtm solve the M × M Gram eigenproblem (`"gram"`) or the D × D covariance's
 * (`"dense"`) whatever the shape; `null` restores the choice by shape ({@link gramRoute}). Not part of
 * the public API.
 */
export function setCovarianceEigPathForTesting(path: "gram" | "dense" | null): void {
  eigPathOverride = path;
}

/**
 * Whether logm/sqrtm go through the M × M Gram matrix (src/linalg/gramSpectral.ts) rather than the
 * D × D covariance: when M < D, where C has rank ≤ M − 1 and the M³ eigenproblem is the smaller one.
 * Measured (wasm-simd, one thread, CPU time, 2 float64 images; forward / backward ms, Gram vs dense):
 * D = 256, M = 144: sqrtm 18.9 / 12.4 vs 26.9 / 21.3; M = 225: 25.0 / 14.5 vs 27.3 / 17.1; M = 256:
 * 31.7 / 16.6 vs 25.8 / 17.0; D = 128, M = 121: 5.0 / 2.4 vs 4.8 / 3.0 — even at M ≈ 0.95·D, dense
 * at M = D (the dense solver deflates C's D − M + 1 zero eigenvalues cheaply, so the gain at M < D is
 * less than (M/D)³).
 */
function gramRoute(d: number, m: number): boolean {
  if (eigPathOverride !== null) return eigPathOverride === "gram";
  return m < d;
}

/**
 * Every entry of a[off … off+len) finite: v − v is 0 for a finite v and NaN for ±∞ and NaN, so the sum
 * of the differences is NaN exactly when some entry is not finite (no branch per entry).
 */
function allFinite(a: Float64Array, off: number, len: number): boolean {
  let s0 = 0;
  let s1 = 0;
  let i = off;
  const end = off + len;
  for (; i + 2 <= end; i += 2) {
    const v0 = a[i] as number;
    const v1 = a[i + 1] as number;
    s0 += v0 - v0;
    s1 += v1 - v1;
  }
  if (i < end) s0 += (a[i] as number) - (a[i] as number);
  return s0 + s1 === 0;
}

/**
 * The dense route's (M ≥ D, or every D for newton-schulz and none) per-batch matrices: Xc (N × D × M) and
 * C = Xc·Xcᵀ/M + εI (N × D × D), each image's row-major at b·D·M resp. b·D², in tensors (linear memory
 * under WebAssembly: the batched SYRK reads and writes them in place). Views are taken at each use: an
 * allocation in between may move the memory.
 */
interface Dense {
  readonly xc: Tensor;
  readonly c: Tensor;
}

/** Centre every image of x (N × D × M) into one tensor and form every C with one batched SYRK; ε added to C's diagonal. */
function denseCovariances(x: Tensor, n: number, d: number, m: number, eps: number): Dense {
  const xcT = emptyTensor([n * d * m], "float64");
  const cT = emptyTensor([n * d * d], "float64");
  // views taken after both allocations
  const xs = x.data as FloatArray;
  const xc = xcT.data as Float64Array;
  const c = cT.data as Float64Array;
  // the images' rows are consecutive: one centring of N·D rows
  kernel("linalg.centreRows", x.dtype as "float32" | "float64", centreInto)(xs, 0, n * d, m, xc, 0);
  syrkBatched(n, false, d, m, 1 / m, xc, 0, m, d * m, 0, c, 0, d, d * d);
  if (eps > 0) for (let b = 0; b < n; b++) for (let i = 0; i < d; i++) c[b * d * d + i * d + i] = (c[b * d * d + i * d + i] as number) + eps;
  return { xc: xcT, c: cT };
}

/**
 * The upstream gradient Ḡ of one image (d × d at out[oo …]) from dy's entries g[o …]: the triangle's
 * gradient goes to the upper half only (no mirroring, no doubling); `full`: the whole matrix.
 */
function gradInto(g: FloatArray, o: number, d: number, full: boolean, out: Float64Array, oo: number): void {
  if (full) for (let i = 0; i < d * d; i++) out[oo + i] = g[o++] as number;
  else {
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < i; j++) out[oo + i * d + j] = 0;
      for (let j = i; j < d; j++) out[oo + i * d + j] = g[o++] as number;
    }
  }
}

/** sym(Ḡ) = (Ḡ + Ḡᵀ)/2 of {@link gradInto}'s Ḡ, into out[oo …] (the values sym() gives, up to the sign of a zero). */
function symGradInto(g: FloatArray, o: number, d: number, full: boolean, out: Float64Array, oo: number): void {
  if (full) {
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[oo + i * d + j] = 0.5 * ((g[o + i * d + j] as number) + (g[o + j * d + i] as number));
    return;
  }
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = g[o++] as number;
      const h = i === j ? v : 0.5 * v;
      out[oo + i * d + j] = h;
      out[oo + j * d + i] = h;
    }
  }
}

/**
 * y[o …] = s·F for the d × d matrix F = f[fo …]: whole (`full`) or its upper triangle row by row;
 * `symmetrise`: F's entries replaced by ½(s·f_ij + s·f_ji).
 */
function putAt(y: FloatArray, o: number, f: Mat, fo: number, d: number, full: boolean, s = 1, symmetrise = false): void {
  for (let i = 0; i < d; i++) {
    for (let j = full ? 0 : i; j < d; j++) {
      const v = s * (f[fo + i * d + j] as number);
      y[o++] = symmetrise ? 0.5 * (v + s * (f[fo + j * d + i] as number)) : v;
    }
  }
}

/** NaN over every image of `a` (images `stride` elements apart) whose covariance is not finite. */
function fillNonFinite(a: FloatArray, states: readonly ImageState[], stride: number): void {
  states.forEach((st, b) => {
    if (st.nonFinite) a.fill(NaN, b * stride, (b + 1) * stride);
  });
}

/**
 * The Gram route's backward for every image with a finite G at once (src/linalg/gramSpectral.ts,
 * gramSpectralBackwardBatched: the values of gramSpectralBackward per image, bit for bit, up to the sign
 * of a zero in sym(Ḡ)): Y read in place from the forward's tensor, V, sym(Ḡ), Q, φ and the products'
 * scratch in one tensor, each image's result centred straight into dx; NaN for the other images.
 */
function gramBackward(
  states: readonly ImageState[], pos: readonly number[], yT: Tensor, dy: Tensor, shape: readonly number[], dtype: "float32" | "float64",
  n: number, d: number, m: number, norm: "logm" | "sqrtm", eps: number, per: number, full: boolean,
): Tensor {
  const dm = d * m;
  const mm = m * m;
  const dd = d * d;
  const dxT = emptyTensor(shape, dtype);
  let count = 0;
  for (let b = 0; b < n; b++) if ((pos[b] as number) >= 0) count++;
  if (count > 0) {
    const f32 = dtype === "float32";
    // V, sym(Ḡ), Q, φ (float64), then t, wo (D × M) and h (M × M) in float64, or in float32 for a float32 x
    const head = count * (2 * mm + dd + m);
    const tail = count * (2 * dm + mm);
    const wsT = emptyTensor([head + (f32 ? Math.ceil(tail / 2) : tail)], "float64");
    try {
      const ws = wsT.data as Float64Array;
      // views taken after both allocations (either may grow WebAssembly memory)
      const ys = yT.data as Float64Array;
      const g = dy.data as FloatArray;
      const dx = dxT.data as FloatArray;
      let o = 0;
      const take = (len: number): Float64Array => ws.subarray(o, (o += len));
      const v = take(count * mm);
      const gs = take(count * dd);
      const q = take(count * mm);
      const phi = take(count * m);
      const rest = f32 ? new Float32Array(ws.buffer, ws.byteOffset + o * 8, tail) : ws.subarray(o, o + tail);
      const t = rest.subarray(0, count * dm);
      const wo = rest.subarray(count * dm, 2 * count * dm);
      const h = rest.subarray(2 * count * dm);
      for (let b = 0; b < n; b++) {
        const j = pos[b] as number;
        if (j < 0) continue;
        const st = states[b] as ImageState;
        const values = st.values as Float64Array;
        v.set(st.v as Float64Array, j * mm);
        phi.set(st.phi as Float64Array, j * m);
        q.set(norm === "logm" ? logGramQ(values, eps, m) : sqrtGramQ(values, st.kept as number, eps, m), j * mm);
        symGradInto(g, b * per, d, full, gs, j * dd);
      }
      gramSpectralBackwardBatched(count, d, m, phi, v, ys, gs, q, t, h, wo);
      // the centring's backward: each row of dXc minus its mean
      for (let b = 0; b < n; b++) {
        const j = pos[b] as number;
        if (j >= 0) centreRowsInto(wo, j * dm, d, m, dx, b * dm);
      }
    } finally {
      wsT.dispose();
    }
  }
  const dx = dxT.data as FloatArray;
  for (let b = 0; b < n; b++) if ((pos[b] as number) < 0) dx.fill(NaN, b * dm, (b + 1) * dm);
  return dxT;
}


/**
 * The Gram route's forward for every image (src/linalg/gramSpectral.ts; the values of
 * gramFactor + gramSpectralApply per image, bit for bit): every Xc centred into one float64 tensor, per
 * image G = Xcᵀ·Xc/M (SYRK reading Xc in place) and its eigendecomposition, then for the images with a
 * finite G (image b ↔ batch entry j = pos[b], −1 for the others) Y_j = Xc·V/√M into a tensor, W_j = Y_j[:, φ > 0]·diag(√φ)
 * zero-padded to the batch's widest (exact zeros: the same sums) and f(C) = f₀·I + W·Wᵀ in one batched
 * SYRK, written into y. Returns the Y tensor (count·D·M, kept for the backward).
 */
function gramForward(
  x: Tensor, n: number, d: number, m: number, norm: "logm" | "sqrtm", eps: number, states: ImageState[], pos: number[],
  y: FloatArray, per: number, full: boolean,
): Tensor {
  const dm = d * m;
  const dd = d * d;
  const xcT = emptyTensor([n * dm], "float64");
  kernel("linalg.centreRows", x.dtype as "float32" | "float64", centreInto)(x.data as FloatArray, 0, n * d, m, xcT.data as Float64Array, 0);
  // every image's G (on the JS heap: the eigensolver may grow WebAssembly memory), then every finite
  // one's eigenproblem in one batch
  const mm = m * m;
  const gs = allocArray("float64", n * mm);
  syrkBatched(n, true, m, d, 1 / m, xcT.data as Float64Array, 0, m, dm, 0, gs, 0, m, mm);
  const finite: number[] = [];
  for (let b = 0; b < n; b++) if (allFinite(gs, b * mm, mm)) finite.push(b);
  const fs = allocArray("float64", finite.length * mm);
  finite.forEach((b, j) => fs.set(gs.subarray(b * mm, (b + 1) * mm), j * mm));
  const eigs = symEigBatch(fs, finite.length, m);
  const ok: number[] = [];
  const phis: Float64Array[] = [];
  let rMax = 0;
  for (let b = 0, j = 0; b < n; b++) {
    const st: ImageState = {};
    states.push(st);
    pos.push(-1);
    if (finite[j] !== b) {
      st.nonFinite = true;
      continue;
    }
    const { values, vectors } = eigs[j++] as { values: Float64Array; vectors: Float64Array };
    let phi: Float64Array;
    if (norm === "logm") phi = logGramPhi(values, eps, m);
    else {
      const kept = keptCount(values, m);
      st.kept = kept;
      phi = sqrtGramPhi(values, kept, eps, m);
    }
    let r = 0;
    for (let k = 0; k < m; k++) if ((phi[k] as number) > 0) r++;
    if (r > rMax) rMax = r;
    st.values = values;
    st.v = vectors;
    st.phi = phi;
    pos[b] = ok.length;
    ok.push(b);
    phis.push(phi);
  }
  const count = ok.length;
  const yT = emptyTensor([count * dm], "float64");
  if (count > 0) {
    // V then W then f(C), in linear memory where the backend keeps tensors (allocated before any view is taken)
    const wsT = emptyTensor([count * (m * m + d * rMax + dd)], "float64");
    try {
      const ws = wsT.data as Float64Array;
      const xc = xcT.data as Float64Array;
      const ys = yT.data as Float64Array;
      const vs = ws.subarray(0, count * m * m);
      const w = ws.subarray(count * m * m, count * (m * m + d * rMax));
      const out = ws.subarray(count * (m * m + d * rMax));
      ok.forEach((b, j) => vs.set((states[b] as ImageState).v as Float64Array, j * m * m));
      if (count === n) gemmBatched(n, false, false, d, m, m, 1 / Math.sqrt(m), xc, 0, m, dm, vs, 0, m, m * m, 0, ys, 0, m, dm);
      else ok.forEach((b, j) => gemm(false, false, d, m, m, 1 / Math.sqrt(m), xc, b * dm, m, vs, j * m * m, m, 0, ys, j * dm, m));
      if (rMax === 0) out.fill(0);
      else {
        const cols = new Int32Array(m);
        const sq = new Float64Array(m);
        for (let j = 0; j < count; j++) {
          const c = positiveRoots(phis[j] as Float64Array, 1, m, cols, sq);
          scaledColumnsInto(ys, j * dm, m, d, cols, sq, c, w, j * d * rMax, rMax);
        }
        syrkBatched(count, false, d, rMax, 1, w, 0, rMax, d * rMax, 0, out, 0, d, dd);
      }
      const f0 = norm === "logm" ? Math.log(eps) : 0;
      ok.forEach((b, j) => {
        if (f0 !== 0) for (let i = 0; i < d; i++) out[j * dd + i * d + i] = (out[j * dd + i * d + i] as number) + f0;
        putAt(y, b * per, out, j * dd, d, full);
      });
    } finally {
      wsT.dispose();
    }
  }
  xcT.dispose();
  fillNonFinite(y, states, per);
  return yT;
}


/** A float64 matrix, or float32 for a float32 input's Newton–Schulz products (the matrix core's float32 path). */
type Mat = Float64Array | Float32Array;

/** Per-image state kept for the backward pass. */
interface ImageState {
  // Xc and C of the dense route are in the batch's {@link Dense}; the Gram route keeps `v` here and every Y in one tensor (gramForward).
  /** The Gram route's V (M × M, columns = G's eigenvectors; its Y is in the op's batch tensor). */
  v?: Float64Array;
  phi?: Float64Array;
  // eig paths
  u?: Float64Array;
  /** The eigenvalues (descending) and, for sqrtm, how many are kept: the backward's divided differences are made from them. */
  values?: Float64Array;
  kept?: number;
  /** C has a NaN/∞ entry (sqrtm, newton-schulz): output and gradient are NaN. */
  nonFinite?: boolean;
}

/**
 * Divided differences of f(λ) = log(max(λ, 0) + ε) (log1p form: no cancellation for close eigenvalues),
 * the d × d matrix written into p from element o.
 * Symmetric: computed for j ≥ i, where (eigenvalues descending) μ_i ≥ μ_j and log1p's argument
 * (μ_i − μ_j)/μ_j is ≥ 0, and mirrored — half the log1p calls, and never log1p near −1.
 */
function logDividedDifferences(lam: Float64Array, eps: number, d: number, p: Float64Array, o: number): void {
  for (let i = 0; i < d; i++) {
    const mi = Math.max(lam[i] as number, 0) + eps;
    for (let j = i; j < d; j++) {
      const mj = Math.max(lam[j] as number, 0) + eps;
      const delta = mi - mj;
      // Below the tolerance use f' at the midpoint (Daleckii–Krein limit); else the exact difference.
      const v = Math.abs(delta) <= 1e-9 * Math.max(mi, mj) ? 2 / (mi + mj) : Math.log1p(delta / mj) / delta;
      p[o + i * d + j] = v;
      p[o + j * d + i] = v;
    }
  }
}

/**
 * Divided differences of the truncated square root: f(λ) = √(λ + ε) for kept eigenvalues, 0 for dropped
 * ones. Kept–kept pairs use 1/(√μ_i + √μ_j) (exact, and equal to f'(λ) on the diagonal, so close
 * eigenvalues are stable); kept–dropped pairs f(λ_i)/(λ_i − λ_j); dropped–dropped 0. Written into p from element o.
 */
function sqrtDividedDifferences(lam: Float64Array, kept: number, eps: number, d: number, p: Float64Array, o: number): void {
  const r = new Float64Array(kept);
  for (let i = 0; i < kept; i++) r[i] = Math.sqrt((lam[i] as number) + eps);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const li = lam[i] as number;
      const lj = lam[j] as number;
      if (i < kept && j < kept) p[o + i * d + j] = 1 / ((r[i] as number) + (r[j] as number));
      else if (i < kept) p[o + i * d + j] = (r[i] as number) / (li - lj);
      else if (j < kept) p[o + i * d + j] = (r[j] as number) / (lj - li);
      else p[o + i * d + j] = 0;
    }
  }
}

/**
 * Newton–Schulz state of the images a batch normalises (those with tr(C) > 0 and a finite C): B
 * matrices d × d per array, image j's at j·d², row-major. With K iterations (iSQRT-COV, Li, Xie, Wang &
 * Gao, CVPR 2018): T_0 = ½(3I − A), Y_1 = A·T_0, Z_1 = T_0; for k = 1 … K−2: T_k = ½(3I − Z_k·Y_k),
 * Y_{k+1} = Y_k·T_k, Z_{k+1} = T_k·Z_k; W = 3I − Z_{K−1}·Y_{K−1} and Y_N = ½·Y_{K−1}·W (K = 1:
 * W = 3I − A, Y_N = ½·A·W). Every product is one batched GEMM over the B images; every one is symmetric
 * (all the iterates are polynomials in A), which the float32 path uses (see {@link mmBatch}).
 */
interface NsBatch {
  /** Image index of each batch entry. */
  readonly idx: readonly number[];
  readonly tr: Float64Array;
  readonly dt: "float32" | "float64";
  /**
   * Every matrix of the iteration in one tensor, where the backend keeps tensors (the WebAssembly matrix
   * core reads it in place, with no copy in or out and no per-matrix allocation); null for an empty
   * batch. Views are taken at each use ({@link nsMats}): an allocation in between may move the memory.
   */
  readonly ws: Tensor | null;
  /** Element offsets in ws of each B × d² matrix: ys[j] = Y_{j+1}, zs[j] = Z_{j+1}, ts[j] = T_j, for j = 0 … K−2. */
  readonly at: { readonly a: number; readonly ys: readonly number[]; readonly zs: readonly number[]; readonly ts: readonly number[]; readonly w: number; readonly yN: number };
}

/** Views of a batch's matrices (valid until the next allocation of tensor storage), in ws or in a copy of it. */
interface NsMats {
  readonly a: Mat;
  readonly ys: Mat[];
  readonly zs: Mat[];
  readonly ts: Mat[];
  readonly w: Mat;
  readonly yN: Mat;
}

function nsMats(ns: NsBatch, d: number, copy?: Mat): NsMats {
  const size = ns.idx.length * d * d;
  const data: Mat = copy ?? (ns.ws !== null ? (ns.ws.data as Mat) : ns.dt === "float32" ? new Float32Array(0) : new Float64Array(0));
  const v = (o: number): Mat => data.subarray(o, o + size);
  const { at } = ns;
  return { a: v(at.a), ys: at.ys.map(v), zs: at.zs.map(v), ts: at.ts.map(v), w: v(at.w), yN: v(at.yN) };
}

/**
 * C[j] = α·op(A[j])·op(B[j]) + β·C[j] for the B = count square d × d matrices of each array. `symmetric`:
 * the product is symmetric in exact arithmetic (both factors polynomials in the same symmetric A, so
 * they commute): a float32 C gets its upper triangle computed and mirrored (gemmF32's `upper`, about
 * half the multiply-adds; each computed entry the same float32 sum as the full product's, so the same
 * error bound), a float64 C the full product.
 */
function mmBatch(count: number, d: number, tA: boolean, tB: boolean, alpha: number, a: Mat, b: Mat, beta: number, c: Mat, symmetric = false): void {
  const dd = d * d;
  if (c instanceof Float32Array) gemmF32(count, tA, tB, d, d, d, alpha, a, 0, d, dd, b, 0, d, dd, beta, c, 0, d, dd, symmetric);
  else gemmBatched(count, tA, tB, d, d, d, alpha, a, 0, d, dd, b, 0, d, dd, beta, c, 0, d, dd);
}

/** out = s·(3I − m) for each of the count d × d matrices of m (every element of out written). */
function threeIMinus(m: Mat, count: number, d: number, s: number, out: Mat): void {
  for (let i = 0; i < m.length; i++) out[i] = -s * (m[i] as number);
  for (let j = 0; j < count; j++) for (let i = 0; i < d; i++) {
    const q = j * d * d + i * d + i;
    out[q] = s * (3 - (m[q] as number));
  }
}

/** out = s·I for each of the count d × d matrices of out (every element written). */
function scaledIdentities(out: Mat, count: number, d: number, s: number): void {
  out.fill(0);
  for (let j = 0; j < count; j++) for (let i = 0; i < d; i++) out[j * d * d + i * d + i] = s;
}

/** For each of the n images, its entry in the batch, or −1 (tr(C) = 0 or a non-finite C). */
function batchPositions(ns: NsBatch, n: number): Int32Array {
  const pos = new Int32Array(n).fill(-1);
  ns.idx.forEach((b, j) => {
    pos[b] = j;
  });
  return pos;
}

/** The forward pass of the Newton–Schulz images (see {@link NsBatch}); Y_N in the returned state. */
function newtonSchulzForward(states: readonly ImageState[], cT: Tensor, d: number, iterations: number, dt: "float32" | "float64"): NsBatch {
  const dd = d * d;
  const idx: number[] = [];
  const trs: number[] = [];
  const c0 = cT.data as Float64Array;
  states.forEach((st, b) => {
    if (st.nonFinite) return;
    let tr = 0;
    for (let i = 0; i < d; i++) tr += c0[b * dd + i * d + i] as number;
    // Guard tr = 0 (a constant feature map): C = 0, so the output is 0 (not in the reference code).
    if (tr > 0) {
      idx.push(b);
      trs.push(tr);
    }
  });
  const count = idx.length;
  const tr = Float64Array.from(trs);
  // one workspace for every matrix (B·d² elements each); every element is written before it is read
  const size = count * dd;
  let next = 0;
  const slot = (): number => next++ * size;
  const at = { a: slot(), yN: slot(), w: slot(), ts: [] as number[], ys: [] as number[], zs: [] as number[] };
  for (let k = 0; k <= iterations - 2; k++) {
    at.ts.push(slot());
    at.ys.push(slot());
    at.zs.push(k === 0 ? (at.ts[0] as number) : slot());
  }
  const ns: NsBatch = { idx, tr, dt, ws: count === 0 ? null : emptyTensor([next * size], dt), at };
  if (count === 0) return ns;
  // views taken once: nothing below allocates tensor storage (the matrix core's scratch is its own)
  const { a, ys, zs, ts, w, yN } = nsMats(ns, d);
  const c = cT.data as Float64Array;
  for (let j = 0; j < count; j++) {
    const co = (idx[j] as number) * dd;
    const r = 1 / (tr[j] as number);
    for (let i = 0; i < dd; i++) a[j * dd + i] = r * (c[co + i] as number);
  }
  if (iterations === 1) {
    threeIMinus(a, count, d, 1, w);
    mmBatch(count, d, false, false, 0.5, a, w, 0, yN, true);
  } else {
    const t0 = ts[0] as Mat;
    threeIMinus(a, count, d, 0.5, t0);
    let y = ys[0] as Mat;
    mmBatch(count, d, false, false, 1, a, t0, 0, y, true);
    let z = t0;
    for (let k = 1; k <= iterations - 2; k++) {
      // T_k = ½(3I − Z·Y) as 1.5·I − ½·Z·Y: one product into 1.5·I (β = 1); the same values as
      // ½(3I − M) from M = Z·Y (halving is exact, so 1.5 − ½m and ½(3 − m) round alike)
      const t = ts[k] as Mat;
      scaledIdentities(t, count, d, 1.5);
      mmBatch(count, d, false, false, -0.5, z, y, 1, t, true);
      const y2 = ys[k] as Mat;
      const z2 = zs[k] as Mat;
      mmBatch(count, d, false, false, 1, y, t, 0, y2, true);
      mmBatch(count, d, false, false, 1, t, z, 0, z2, true);
      y = y2;
      z = z2;
    }
    // W = 3I − Z·Y, likewise into 3·I
    scaledIdentities(w, count, d, 3);
    mmBatch(count, d, false, false, -1, z, y, 1, w, true);
    mmBatch(count, d, false, false, 0.5, y, w, 0, yN, true);
  }
  return ns;
}

/**
 * iSQRT-COV backward by the derivative's self-adjointness: Y_N = p(A) for a real polynomial p, and for
 * a symmetric A the adjoint of its Fréchet derivative L(A, ·) is L(A, ·) itself (Higham, "Functions of
 * Matrices", SIAM 2008, §3.2: L*(A, E) = L(Aᵀ, E)), so dA = L(A, Ē) with Ē = √tr·Ḡ — the derivative of
 * the iteration in the direction Ē, propagated forward through {@link newtonSchulzForward}'s products
 * beside their stored values: for P = X·W, dP = X·dW + dX·W (docs/methods/covariance.md). Every X, W
 * pair commutes (all are polynomials in A), so P(A + tĒ) is symmetric for every t and so is dP: each
 * dP is two upper-triangle products ({@link mmBatch}'s `symmetric`), the cost of one GEMM — twelve
 * GEMMs' worth for K = 5 instead of reverse mode's 24 (fast-MPN-COV's closed form takes more). `g`
 * holds the symmetric upstream gradients Ḡ of the batch's outputs √tr·Y_N (B × d²); returns dC, B × d²,
 * plus the trace terms.
 */
function newtonSchulzBackward(ns: NsBatch, cT: Tensor, g: Float64Array, d: number, iterations: number): Float64Array {
  const dd = d * d;
  const count = ns.idx.length;
  const dt = ns.dt;
  const dC = allocArray("float64", count * dd);
  if (count === 0) return dC;
  // The forward's matrices and the derivative's seven B·d² ones in one tensor (a block of linear memory
  // under WebAssembly, allocated before any view is taken): every product then
  // reads its operands in place. The forward's tensor, kept since the forward, may have moved to the
  // JS heap (src/tensor/alloc.ts: escaped past the job's budget), so it is read in place only where it
  // still lies in the workspace's memory, else copied in once. Every slot is written before it is read.
  const size = count * dd;
  const fws = ns.ws as Tensor;
  const fwLen = fws.size;
  const perF64 = dt === "float32" ? 2 : 1;
  const wsT = emptyTensor([Math.ceil((fwLen + 7 * size) / perF64)], "float64");
  try {
    const wsf = wsT.data as Float64Array;
    const all: Mat = dt === "float32" ? new Float32Array(wsf.buffer, wsf.byteOffset, wsf.length * 2) : wsf;
    const src = fws.data as Mat;
    let fw = src;
    if (src.buffer !== wsf.buffer) {
      fw = all.subarray(0, fwLen);
      fw.set(src);
    }
    const slot = (i: number): Mat => all.subarray(fwLen + i * size, fwLen + (i + 1) * size);
    const M = nsMats(ns, d, fw);
    // Ē = √tr·Ḡ (the direction); g_tr = <Ḡ, Y_N> / (2√tr)
    const e = slot(0);
    const gTr = allocArray("float64", count);
    for (let j = 0; j < count; j++) {
      const sq = Math.sqrt(ns.tr[j] as number);
      let dot = 0;
      for (let i = j * dd; i < (j + 1) * dd; i++) {
        dot += (g[i] as number) * (M.yN[i] as number);
        e[i] = sq * (g[i] as number);
      }
      gTr[j] = dot / (2 * sq);
    }
    const dA = slot(1);
    const sy = true;
    if (iterations === 1) {
      // Y_N = ½·A·W, W = 3I − A, dW = −Ē: dY_N = −½·A·Ē + ½·Ē·W
      mmBatch(count, d, false, false, -0.5, M.a, e, 0, dA, sy);
      mmBatch(count, d, false, false, 0.5, e, M.w, 1, dA, sy);
    } else {
      // T_0 = ½(3I − A): dT_0 = −½Ē; Y_1 = A·T_0: dY_1 = −½·A·Ē + Ē·T_0; Z_1 = T_0: dZ_1 = −½Ē
      let dY = slot(2);
      let dZ = slot(3);
      const dM = slot(4);
      let nY = slot(5);
      let nZ = slot(6);
      mmBatch(count, d, false, false, -0.5, M.a, e, 0, dY, sy);
      mmBatch(count, d, false, false, 1, e, M.ts[0] as Mat, 1, dY, sy);
      for (let i = 0; i < size; i++) dZ[i] = -0.5 * (e[i] as number);
      for (let k = 1; k <= iterations - 2; k++) {
        const y = M.ys[k - 1] as Mat;
        const z = M.zs[k - 1] as Mat;
        const t = M.ts[k] as Mat;
        // M_k = Z_k·Y_k: dM = Z_k·dY_k + dZ_k·Y_k; T_k = ½(3I − M_k): dT_k = −½·dM
        mmBatch(count, d, false, false, 1, z, dY, 0, dM, sy);
        mmBatch(count, d, false, false, 1, dZ, y, 1, dM, sy);
        // Y_{k+1} = Y_k·T_k: dY_{k+1} = −½·Y_k·dM + dY_k·T_k; Z_{k+1} = T_k·Z_k: dZ_{k+1} = T_k·dZ_k − ½·dM·Z_k
        mmBatch(count, d, false, false, -0.5, y, dM, 0, nY, sy);
        mmBatch(count, d, false, false, 1, dY, t, 1, nY, sy);
        mmBatch(count, d, false, false, 1, t, dZ, 0, nZ, sy);
        mmBatch(count, d, false, false, -0.5, dM, z, 1, nZ, sy);
        // the new dY, dZ; the old ones' storage takes the next step's (overwritten, β = 0)
        [dY, nY] = [nY, dY];
        [dZ, nZ] = [nZ, dZ];
      }
      const y = M.ys[iterations - 2] as Mat;
      const z = M.zs[iterations - 2] as Mat;
      // M = Z·Y: dM = Z·dY + dZ·Y; W = 3I − M; Y_N = ½·Y·W: dY_N = −½·Y·dM + ½·dY·W
      mmBatch(count, d, false, false, 1, z, dY, 0, dM, sy);
      mmBatch(count, d, false, false, 1, dZ, y, 1, dM, sy);
      mmBatch(count, d, false, false, -0.5, y, dM, 0, dA, sy);
      mmBatch(count, d, false, false, 0.5, dY, M.w, 1, dA, sy);
    }
    // A = C / tr and out = √tr·Y_N: dC = dA/tr + (g_tr − <dA, C>/tr²)·I.
    const c = cT.data as Float64Array;
    for (let j = 0; j < count; j++) {
      const tr = ns.tr[j] as number;
      const co = (ns.idx[j] as number) * dd;
      let dot = 0;
      for (let i = 0; i < dd; i++) {
        dot += (dA[j * dd + i] as number) * (c[co + i] as number);
        dC[j * dd + i] = (dA[j * dd + i] as number) / tr;
      }
      const diag = (gTr[j] as number) - dot / (tr * tr);
      for (let i = 0; i < d; i++) dC[j * dd + i * d + i] = (dC[j * dd + i * d + i] as number) + diag;
    }
  } finally {
    wsT.dispose();
  }
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
 * Everything is computed in float64 and the result cast to the input dtype — except the Gram route's
 * backward products for a float32 input (below) and Newton–Schulz on a float32 input, whose products
 * (and iterates) are float32, as iSQRT-COV's own code and PyTorch do
 * (the matrix core's float32 path, `gemmF32`: each product within (k + 2)·2⁻²⁴·|A||B|; the test bounds
 * the result by 3K·(D + 2)·2⁻²⁴·max|y| against the float64 path): products through the
 * matrix core (src/linalg/gemm.ts), the eigendecomposition by Householder tridiagonalisation +
 * divide and conquer (Jacobi for n ≤ 8, implicit QL for n ≤ 32 on the "js" backend; src/linalg/eigen.ts), on the matrix scaled by a power of two so
 * that the result does not depend on the input's scale (x·10⁸⁰ gives 10⁸⁰ times the sqrtm of x). A
 * NaN or ±∞ in an image (or a covariance or Gram matrix overflowing float64, |x| ≳ 10¹⁵⁴) gives NaN for
 * that image's output and gradient under logm, sqrtm and newton-schulz.
 *
 * Fewer positions than channels (M < D, e.g. 14 × 14 maps of 256 or 1024 channels): C has rank ≤ M − 1
 * and logm and sqrtm never form it. They eigendecompose the M × M Gram matrix G = Xcᵀ·Xc/M = V·Λ·Vᵀ,
 * whose eigenvalues are C's nonzero ones, and with Y = Xc·V/√M (column i of norm √λ_i) return
 * f₀·I + Y·diag(φ)·Yᵀ, φ_i = (f(λ_i) − f₀)/λ_i, f₀ the value on C's null space (log ε; 0 for the
 * truncated sqrtm, whose truncation is the same); the backward is the same Daleckii–Krein derivative
 * with C's null-space block folded in, dXc = (2/√M)·[Gs·Y·Φ + Y·(H ∘ Q)]·Vᵀ, H = Yᵀ·Gs·Y,
 * Q_ij = f[λ_i, λ_j, 0] the second divided differences (src/linalg/gramSpectral.ts,
 * docs/methods/covariance.md). The two routes agree to rounding (bound in the tests). For a float32
 * input this backward's four products are float32 (`gemmF32`, as PyTorch's float32 backward; the
 * eigendecomposition, φ and Q stay float64), within (4γ + 2u)·R of the float64 products, γ =
 * (min(max(D, M), 256) + 2)·u, u = 2⁻²⁴, R the products' absolute-value bound (test/helpers/gramBound.ts).
 *
 * Cost per image, multiply-adds: M ≥ D: ½D²M (C) + the D × D eigendecomposition + ½D²r (the output's
 * SYRK over the r eigenvalues used); backward 3D³ + D²M. M < D: ½M²D (G) + the M × M eigendecomposition
 * + M²D (Y) + ½D²r; backward D²M + 2½·M²D. The eigendecomposition dominates: measured (bench/matrix.mjs,
 * wasm-simd matrix core, one thread of a shared 2-core machine) 0.08 s at n = 256, 0.37 s at n = 512,
 * 1.9 s at n = 1024 (about 5× per doubling) — so [1, 1024, 14, 14] solves a 196 × 196 problem. `maxDim` (default 1024) refuses larger D up front;
 * raise it with `{ maxDim }` when that cost is intended. Backward is exact: Daleckii–Krein divided differences for the
 * eigen paths (closed forms for log and √ that stay exact for equal or close eigenvalues), the
 * Newton–Schulz iteration's derivative (carried forward: it is self-adjoint) with the trace terms, and the triangle's gradient is scattered to the upper
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
    const viaGram = (norm === "logm" || norm === "sqrtm") && gramRoute(d, m);
    let dense: Dense | null = null;
    let ns: NsBatch | null = null;
    let gramY: Tensor | null = null;
    const gramPos: number[] = [];
    if (viaGram) gramY = gramForward(x, n, d, m, norm as "logm" | "sqrtm", eps, states, gramPos, y, per, full);
    else {
      dense = denseCovariances(x, n, d, m, norm === "none" || norm === "newton-schulz" ? eps : 0);
      for (let b = 0; b < n; b++) states.push({});
      const dd = d * d;
      // A NaN/∞ covariance (NaN or ∞ input, or a covariance beyond float64's range) would otherwise come
      // out as 0 or as some finite matrix: the eigenvalue truncation drops NaN eigenvalues and the tr = 0
      // guard catches tr = NaN. Every normalising path gives NaN for that image instead ("none" returns C).
      if (norm !== "none") {
        const c = dense.c.data as Float64Array;
        for (let b = 0; b < n; b++) if (!allFinite(c, b * dd, dd)) (states[b] as ImageState).nonFinite = true;
      }
      if (norm === "none") {
        const c = dense.c.data as Float64Array;
        for (let b = 0; b < n; b++) putAt(y, b * per, c, b * dd, d, full);
      } else if (norm === "newton-schulz") {
        // all images at once: every product one batched GEMM
        ns = newtonSchulzForward(states, dense.c, d, iterations, dtype === "float32" ? "float32" : "float64");
        const yN = nsMats(ns, d).yN;
        const pos = batchPositions(ns, n);
        for (let b = 0; b < n; b++) {
          const j = pos[b] as number;
          if ((states[b] as ImageState).nonFinite) y.fill(NaN, b * per, (b + 1) * per);
          else if (j < 0) y.fill(0, b * per, (b + 1) * per);
          else {
            // out = √tr·Y_N; Y_N is a polynomial in A, so symmetric in exact arithmetic: symmetrised to
            // remove the rounding asymmetry (float32 products mirror their upper triangle (mmBatch), so
            // Y_N is exactly symmetric there and ½(v + v) = v: the plain copy gives the same values)
            putAt(y, b * per, yN, j * dd, d, full, Math.sqrt(ns.tr[j] as number), ns.dt === "float64");
          }
        }
      } else {
        // every image's eigendecomposition, then U·f(Λ)·Uᵀ for all of them in two batched SYRKs
        const us: Float64Array[] = [];
        const fs: Float64Array[] = [];
        // the finite C's copied to the JS heap (the eigensolver may grow WebAssembly memory, detaching a
        // view of dense.c), then every image's eigenproblem in one batch
        const ok: number[] = [];
        for (let b = 0; b < n; b++) if (!(states[b] as ImageState).nonFinite) ok.push(b);
        const cs = allocArray("float64", ok.length * dd);
        const cAll = dense.c.data as Float64Array;
        ok.forEach((b, j) => cs.set(cAll.subarray(b * dd, (b + 1) * dd), j * dd));
        const eigs = symEigBatch(cs, ok.length, d);
        for (let j = 0; j < ok.length; j++) {
          const st = states[ok[j] as number] as ImageState;
          const { values, vectors } = eigs[j] as { values: Float64Array; vectors: Float64Array };
          const fl = allocArray("float64", d);
          if (norm === "logm") {
            for (let i = 0; i < d; i++) fl[i] = Math.log(Math.max(values[i] as number, 0) + eps);
          } else {
            const kept = keptCount(values, d);
            for (let i = 0; i < kept; i++) fl[i] = Math.sqrt((values[i] as number) + eps);
            st.kept = kept;
          }
          st.u = vectors;
          st.values = values;
          us.push(vectors);
          fs.push(fl);
        }
        const count = ok.length;
        // out (count·d²) then the SYRKs' S (≤ 2·count·d²), in linear memory where the backend keeps tensors
        const ws = count === 0 ? null : emptyTensor([3 * count * dd], "float64");
        try {
          if (ws !== null) {
            const all = ws.data as Float64Array;
            spectralApplyBatched(count, d, us, fs, all.subarray(count * dd), all);
            ok.forEach((b, j) => putAt(y, b * per, all, j * dd, d, full));
          }
        } finally {
          ws?.dispose();
        }
        fillNonFinite(y, states, per);
      }
    }
    return {
      output: fromArray(y, [...outShape]),
      backward: (dy: Tensor) => {
        const dd = d * d;
        if (dense === null) return [gramBackward(states, gramPos, gramY as Tensor, dy, x.shape, dtype, n, d, m, norm as "logm" | "sqrtm", eps, per, full)];
        const dn = dense;
        // the images with a finite C (all but NaN/∞ ones), batch entry j ↔ image ok[j]
        const ok: number[] = [];
        for (let b = 0; b < n; b++) if (!(states[b] as ImageState).nonFinite) ok.push(b);
        const count = ok.length;
        // dx written in place (every element: the batch's images from the products, the others NaN)
        const dxT = emptyTensor(x.shape, dtype);
        const nanFill = (): void => fillNonFinite(dxT.data as FloatArray, states, d * m);
        if (count === 0) {
          nanFill();
          return [dxT];
        }
        let nsDC: Float64Array | null = null;
        let nsPos: Int32Array | null = null;
        if (ns !== null) {
          // the batch's symmetrised Ḡ, then every image's dC at once
          const gs = allocArray("float64", ns.idx.length * dd);
          ns.idx.forEach((b, j) => symGradInto(dy.data as FloatArray, b * per, d, full, gs, j * dd));
          nsDC = newtonSchulzBackward(ns, dn.c, gs, d, iterations);
          nsPos = batchPositions(ns, n);
        }
        const eig = norm === "logm" || norm === "sqrtm";
        // Every operand of the batch's products in one workspace (linear memory under WebAssembly, allocated
        // before any view is taken: the products read it in place); Xc read in place from the forward's
        // tensor when every image takes part, else the taking images' copied in.
        const inPlace = count === n;
        const size = (eig ? 5 * count * dd : 2 * count * dd) + count * d * m + (inPlace ? 0 : count * d * m);
        // a tensor, not a zero-filled `linalg.workspace`: every element is written before it is read
        const wsT = emptyTensor([size], "float64");
        try {
          const ws = wsT.data as Float64Array;
          let o = 0;
          const take = (len: number): Float64Array => ws.subarray(o, (o += len));
          const g = dy.data as FloatArray;
          const out = take(count * d * m);
          let xs: Float64Array;
          if (inPlace) xs = dn.xc.data as Float64Array;
          else {
            xs = take(count * d * m);
            const all = dn.xc.data as Float64Array;
            ok.forEach((b, j) => xs.set(all.subarray(b * d * m, (b + 1) * d * m), j * d * m));
          }
          if (eig) {
            // dX = (dC + dCᵀ)·Xc / M with dC = U (P ∘ Uᵀ Ḡs U) Uᵀ (Daleckii–Krein), every image at once;
            // divided differences made here, not in the forward: a forward-only call skips their D² logs / roots
            const u = take(count * dd);
            const pm = take(count * dd);
            const gs = take(count * dd);
            const t1 = take(count * dd);
            const t2 = take(count * dd);
            ok.forEach((b, j) => {
              const st = states[b] as ImageState;
              u.set(st.u as Float64Array, j * dd);
              const values = st.values as Float64Array;
              if (norm === "logm") logDividedDifferences(values, eps, d, pm, j * dd);
              else sqrtDividedDifferences(values, st.kept as number, eps, d, pm, j * dd);
              symGradInto(g, b * per, d, full, gs, j * dd);
            });
            spectralGramBackwardBatched(count, d, m, 1 / m, u, pm, gs, xs, t1, t2, out);
          } else {
            // C = Xc Xcᵀ / M with Xc = X·(I − 11ᵀ/M): dX = (dC + dCᵀ)·Xc / M, every image at once
            const dC = take(count * dd);
            const gs = take(count * dd);
            ok.forEach((b, j) => {
              if (nsPos !== null && nsDC !== null) {
                const q = nsPos[b] as number;
                // tr(C) = 0: the output is 0 whatever C, dC = 0
                if (q < 0) dC.fill(0, j * dd, (j + 1) * dd);
                else dC.set(nsDC.subarray(q * dd, (q + 1) * dd), j * dd);
              } else gradInto(g, b * per, d, full, dC, j * dd);
            });
            gramBackwardBatched(count, d, m, 1 / m, dC, xs, gs, out);
          }
          const dx = dxT.data as FloatArray;
          ok.forEach((b, j) => dx.set(out.subarray(j * d * m, (j + 1) * d * m), b * d * m));
        } finally {
          wsT.dispose();
        }
        nanFill();
        return [dxT];
      },
    };
  },
});
