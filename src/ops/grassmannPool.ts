/**
 * Grassmann pooling (Wei et al., ECCV 2018): the feature matrix is replaced by the projector onto its
 * top-k left singular subspace, a point on the Grassmann manifold.
 */
import { expectFloatTensor, expectOptions, numberOption, batchedShape2d } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { symEigBatch } from "../linalg/eigen.js";
import { gemm } from "../linalg/gemm.js";
import { checkMaxDim, maxDimOption } from "../linalg/guard.js";
import { gram, gramBackward, spectralApply, spectralBackward, sym } from "../linalg/matrix.js";
import { defineOp } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray } from "../tensor/dtype.js";
import { fromArray, type Tensor } from "../tensor/tensor.js";

/** Options of {@link grassmannPool} and {@link grassmannCompactPool}. */
export interface GrassmannPoolOptions {
  /** Dimension of the subspace (number of leading singular vectors kept). Required; 1 ≤ k ≤ min(C, H·W). */
  k: number;
  /**
   * Largest channel count C accepted: the per-image cost grows as C³ (a C × C eigendecomposition).
   * Default 1024; an integer ≥ 1, or `Infinity`. At C = 1024 one image takes seconds.
   */
  maxDim?: number;
}

const KNOWN = ["k", "maxDim"] as const;

/** Gaps λ_i − λ_j at or below this fraction of λ_max count as ties: the projector is not differentiable there. */
const TIE = 1e-12;

function parseK(op: string, opts: unknown, xShape: readonly number[]): number {
  const o = expectOptions<GrassmannPoolOptions>(op, opts, KNOWN);
  if (o.k === undefined) throw new PoolkitTypeError(op, `k is required (the subspace dimension)`);
  const k = numberOption(op, "k", o.k, 1, { integer: true, min: 1 });
  const maxDim = maxDimOption(op, o.maxDim);
  const c = xShape[1] as number;
  checkMaxDim(op, "channel count", c, maxDim);
  const m = (xShape[2] as number) * (xShape[3] as number);
  const limit = Math.min(c, m);
  if (k > limit) {
    throw new PoolkitRangeError(op, `k must be at most min(C, H·W) = ${limit} (the rank limit of the ${c} × ${m} feature matrix), got k ${k}`);
  }
  return k;
}

/**
 * Per image: X̃ = 2⁻ᵉ·X (c × M, float64; 2ᵉ the power of two that brings max |x| into [½, 1), so that
 * X̃X̃ᵀ can neither overflow nor underflow — P does not depend on the scale), the eigenvectors of
 * X̃ X̃ᵀ, the divided differences of the top-k indicator, P, and 2⁻ᵉ (dP/dX = 2⁻ᵉ·dP/dX̃). `bad`: the
 * image has a NaN or ±∞ (its output and gradient are NaN).
 */
interface Subspace {
  readonly xm: Float64Array;
  readonly u: Float64Array;
  readonly dd: Float64Array;
  readonly p: Float64Array;
  readonly xScale: number;
  readonly bad: boolean;
}

function subspaces(x: Tensor, k: number): Subspace[] {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const m = h * w;
  const cc = c * c;
  const out: Subspace[] = [];
  // every finite image's X Xᵀ, then their eigenproblems in one batch
  const grams: Float64Array[] = [];
  const xs: { xm: Float64Array; xScale: number }[] = [];
  for (let b = 0; b < n; b++) {
    // read per image (a view of linear memory is re-taken after anything that might allocate there)
    const xd = x.data;
    const xm = allocArray("float64", c * m);
    let maxAbs = 0;
    for (let i = 0; i < c * m; i++) {
      const v = xd[b * c * m + i] as number;
      xm[i] = v;
      const av = Math.abs(v);
      maxAbs = av > maxAbs || Number.isNaN(av) ? av : maxAbs;
    }
    if (!(maxAbs <= Number.MAX_VALUE)) {
      xs.push({ xm, xScale: NaN });
      continue;
    }
    const xScale = maxAbs > 0 ? pow2Below(maxAbs) : 1;
    for (let i = 0; i < c * m; i++) xm[i] = (xm[i] as number) * xScale;
    xs.push({ xm, xScale });
    // Eigen-decompose the c × c matrix X Xᵀ = U Σ² Uᵀ rather than SVD the c × M matrix (c ≪ M typically).
    grams.push(gram(xm, c, m, 1));
  }
  const all = allocArray("float64", grams.length * cc);
  grams.forEach((g, j) => all.set(g, j * cc));
  const eigs = symEigBatch(all, grams.length, c);
  let j = 0;
  for (const { xm, xScale } of xs) {
    if (Number.isNaN(xScale)) {
      const nan = allocArray("float64", cc).fill(NaN);
      out.push({ xm, u: nan, dd: nan, p: nan, xScale: NaN, bad: true });
      continue;
    }
    const { values, vectors } = eigs[j++] as { values: Float64Array; vectors: Float64Array };
    const ind = allocArray("float64", c);
    for (let i = 0; i < k; i++) ind[i] = 1;
    // Daleckii–Krein for f = indicator(top k): (f_i − f_j)/(λ_i − λ_j) is 1/(λ_i − λ_j) across the
    // top-k / rest boundary and 0 inside either block (f' = 0); zeroed at ties (no derivative there).
    const dd = allocArray("float64", cc);
    const scale = Math.max(Math.abs(values[0] as number), Number.MIN_VALUE);
    for (let i = 0; i < k; i++) {
      for (let jj = k; jj < c; jj++) {
        const gap = (values[i] as number) - (values[jj] as number);
        const v = gap > TIE * scale ? 1 / gap : 0;
        dd[i * c + jj] = v;
        dd[jj * c + i] = v;
      }
    }
    out.push({ xm, u: vectors, dd, p: spectralApply(vectors, ind, c), xScale, bad: false });
  }
  return out;
}

/** 2⁻ᵉ with 2^(e−1) ≤ v < 2^e (v finite > 0): multiplying by it is exact and brings v into [½, 1). */
function pow2Below(v: number): number {
  let e = Math.ceil(Math.log2(v));
  if (2 ** e <= v) e++;
  while (2 ** (e - 1) > v) e--;
  // 2^−e for e ≤ −1023 (subnormal v) is not representable as one factor; the nearest power that is
  // keeps the product exact and far from overflow.
  return e < -1022 ? 2 ** 1022 : 2 ** -e;
}

/** dL/dP (c × c, per image) → dL/dX (c × M): dA = U (DD ∘ Uᵀ sym(Ḡ) U) Uᵀ, dX = (dA + dAᵀ) X. */
function projectorBackward(s: Subspace, gp: Float64Array, c: number, m: number): Float64Array {
  if (s.bad) return allocArray("float64", c * m).fill(NaN);
  const dA = spectralBackward(s.u, s.dd, sym(gp, c), c);
  return gramBackward(dA, s.xm, c, m, s.xScale);
}

/** The plan of Grassmann pooling: the input shape, the subspace dimension k and the output shape. */
export interface GrassmannPoolPlan {
  readonly xShape: readonly number[];
  readonly k: number;
  readonly outShape: readonly number[];
}

/** The one plan of grassmannPool: `[N, C, C]`. */
function planGrassmann(xShape: readonly number[], opts: GrassmannPoolOptions): GrassmannPoolPlan {
  batchedShape2d("grassmannPool", "x", xShape);
  const k = parseK("grassmannPool", opts, xShape);
  return { xShape: [...xShape], k, outShape: [xShape[0] as number, xShape[1] as number, xShape[1] as number] };
}

/**
 * Grassmann pooling: `[N, C, H, W]` → `[N, C, C]`, the projector P = U_k U_kᵀ onto the span of the
 * top-k left singular vectors of each image's C × (H·W) feature matrix X (not centred).
 *
 * P is bilinear pooling X Xᵀ = U Σ² Uᵀ with the top-k singular values flattened to 1 and the rest
 * dropped, so a few bursty locations cannot dominate; ⟨P₁, P₂⟩_F = ‖U_k,1ᵀ U_k,2‖²_F is the
 * Grassmann projection similarity. P is invariant to the signs and rotations of U_k.
 *
 * Paper: Wei, Zhang, Gong, Zhang & Zheng, "Grassmann Pooling as Compact Homogeneous Bilinear Pooling
 * for Fine-Grained Visual Classification", ECCV 2018. No official code exists; this is our
 * reconstruction (docs/methods/grassmann.md) from the abstract and standard Grassmann geometry: U_k from
 * the eigendecomposition of X Xᵀ in float64 (equal to the SVD's left vectors), output cast to x's dtype.
 * Backward (exact where λ_k > λ_{k+1}): dA = U H Uᵀ with H_ij = (Uᵀ sym(Ḡ) U)_ij / (λ_i − λ_j) across the
 * top-k / rest boundary only, dX = 2·dA·X; at a tie (gap ≤ 1e-12·λ_max) the projector is not
 * differentiable and those terms are set to 0. Requires k ≤ min(C, H·W).
 *
 * Scale and range: each image is multiplied by a power of two (exact) before X Xᵀ is formed, so the
 * result does not depend on the input's scale (x·10¹⁵⁰ gives the same projector as x, up to
 * rounding) and X Xᵀ cannot overflow. An image with a NaN or ±∞ gets NaN output and gradient.
 * Cost per image: O(C²·H·W) for X Xᵀ and O(C³) for the eigendecomposition (blocked Householder +
 * divide and conquer, src/linalg/eigen.ts): measured 0.08 s at C = 256, 0.37 s at C = 512, 1.9 s at
 * C = 1024 with the wasm-simd matrix core on one thread of a shared 2-core machine; `maxDim` (default 1024) refuses larger C up front.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const x = tensor([3, 0, 0, 0, 2, 0, 0, 0, 1], [1, 3, 1, 3]);
 * grassmannPool(x, { k: 2 }); // [[[1, 0, 0], [0, 1, 0], [0, 0, 0]]]
 */
export const grassmannPool = defineOp("grassmannPool", {
  planArgs: (x: Tensor, opts: GrassmannPoolOptions): [readonly number[], GrassmannPoolOptions] => {
    expectFloatTensor("grassmannPool", "x", x);
    return [x.shape, opts];
  },
  plan: planGrassmann,
  forward: ({ k, xShape }, x) => {
    const [n, c, h, w] = xShape as [number, number, number, number];
    const m = h * w;
    const dtype = x.dtype as "float32" | "float64";
    const subs = subspaces(x, k);
    const y = allocArray(dtype, n * c * c);
    subs.forEach((s, b) => y.set(s.p, b * c * c));
    return {
      output: fromArray(y, [n, c, c]),
      backward: (dy: Tensor) => {
        const dx = allocArray(dtype, x.size);
        const g = dy.data as FloatArray;
        subs.forEach((s, b) => {
          const gp = Float64Array.from(g.subarray(b * c * c, (b + 1) * c * c));
          dx.set(projectorBackward(s, gp, c, m), b * c * m);
        });
        return [fromArray(dx, x.shape)];
      },
    };
  },
});

/** w must be `[C, d]` with d ≥ 1 (shared by the forward pass and `outputShape`). */
function checkW(op: string, wShape: unknown, c: number): void {
  const s = wShape as readonly number[];
  if (!Array.isArray(s) || s.length !== 2 || s[0] !== c || !Number.isInteger(s[1]) || (s[1] as number) < 1) {
    throw new PoolkitRangeError(op, `w must have shape [C, d] = [${c}, d] with d ≥ 1, got ${show(wShape)}`);
  }
}

/** The plan of compact Grassmann pooling: shapes, k and the output shape `[N, d]`. */
export interface GrassmannCompactPoolPlan extends GrassmannPoolPlan {
  readonly d: number;
}

/** The one plan of grassmannCompactPool: `[N, d]` for w `[C, d]`. */
function planGrassmannCompact(xShape: readonly number[], wShape: readonly number[], opts: GrassmannPoolOptions): GrassmannCompactPoolPlan {
  batchedShape2d("grassmannCompactPool", "x", xShape);
  checkW("grassmannCompactPool", wShape, xShape[1] as number);
  const k = parseK("grassmannCompactPool", opts, xShape);
  return { xShape: [...xShape], k, d: wShape[1] as number, outShape: [xShape[0] as number, wShape[1] as number] };
}

/**
 * Compact Grassmann descriptor: `x [N, C, H, W]`, `w [C, d]` → `[N, d]`, z_j = ‖U_kᵀ w_j‖² = w_jᵀ P w_j.
 *
 * The "bilinear feature mapping without explicitly computing the bilinear feature matrix" of Wei et
 * al. (ECCV 2018), instantiated with a learned projection W = [w_1 … w_d] (our reconstruction,
 * docs/methods/grassmann.md — no official code): invariant to sign flips and rotations of U_k, like P itself.
 * Backward: dL/dP = W diag(z̄) Wᵀ then as {@link grassmannPool}; dW = 2 P W diag(z̄).
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const x = tensor([3, 0, 0, 0, 2, 0, 0, 0, 1], [1, 3, 1, 3]);
 * grassmannCompactPool(x, tensor([[1], [1], [1]]), { k: 2 }); // [[2]]
 */
export const grassmannCompactPool = defineOp("grassmannCompactPool", {
  planArgs: (x: Tensor, w: Tensor, opts: GrassmannPoolOptions): [readonly number[], readonly number[], GrassmannPoolOptions] => {
    expectFloatTensor("grassmannCompactPool", "x", x);
    expectFloatTensor("grassmannCompactPool", "w", w);
    return [x.shape, w.shape, opts];
  },
  plan: planGrassmannCompact,
  forward: ({ k, d, xShape }, x, w) => {
    const [n, c, h, wd] = xShape as [number, number, number, number];
    const m = h * wd;
    const dtype = x.dtype as "float32" | "float64";
    const wm = Float64Array.from(w.data);
    const subs = subspaces(x, k);
    // PW (c × d) per image: z_j = Σ_i W_ij (PW)_ij.
    const pws = subs.map((s) => {
      const pw = allocArray("float64", c * d);
      gemm(false, false, c, d, c, 1, s.p, 0, c, wm, 0, d, 0, pw, 0, d);
      return pw;
    });
    const y = allocArray(dtype, n * d);
    pws.forEach((pw, b) => {
      for (let j = 0; j < d; j++) {
        let z = 0;
        for (let i = 0; i < c; i++) z += (wm[i * d + j] as number) * (pw[i * d + j] as number);
        y[b * d + j] = z;
      }
    });
    return {
      output: fromArray(y, [n, d]),
      backward: (dy: Tensor) => {
        const g = dy.data as FloatArray;
        const dx = allocArray(dtype, x.size);
        const dw64 = allocArray("float64", c * d);
        subs.forEach((s, b) => {
          // dL/dP = W diag(z̄) Wᵀ (symmetric)
          const wg = allocArray("float64", c * d);
          for (let i = 0; i < c; i++) for (let j = 0; j < d; j++) wg[i * d + j] = (wm[i * d + j] as number) * (g[b * d + j] as number);
          const gp = allocArray("float64", c * c);
          gemm(false, true, c, c, d, 1, wg, 0, d, wm, 0, d, 0, gp, 0, c);
          dx.set(projectorBackward(s, gp, c, m), b * c * m);
          const pw = pws[b] as Float64Array;
          for (let i = 0; i < c; i++) for (let j = 0; j < d; j++) dw64[i * d + j] = (dw64[i * d + j] as number) + 2 * (pw[i * d + j] as number) * (g[b * d + j] as number);
        });
        const dw = allocArray(w.dtype as "float32" | "float64", c * d);
        dw.set(dw64);
        return [fromArray(dx, x.shape), fromArray(dw, w.shape)];
      },
    };
  },
});
