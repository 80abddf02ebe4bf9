/**
 * Compact bilinear pooling (Gao et al., CVPR 2016) by Tensor Sketch or Random Maclaurin, and
 * multimodal compact bilinear pooling (MCB, Fukui et al., EMNLP 2016) when a second stream is given.
 */
import { boolOption, enumOption, expectOptions, numberOption } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { postBackward, postForward, randomMaclaurinBackward, randomMaclaurinForward, tensorSketchBackward, tensorSketchForward, type PostPlan } from "../kernels/bilinear.js";
import { kernel } from "../kernels/registry.js";
import { defineOp } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import { runAs } from "../tensor/limits.js";
import type { FloatArray, FloatDType } from "../tensor/dtype.js";
import { Generator } from "../tensor/random.js";
import { Tensor, fromArray, zeros } from "../tensor/tensor.js";
import { POST_KEYS, featureMap, featureShape, pairedFeatureMap, postOptions, splitOptionalSecond, type PostOptions } from "./bilinearPool.js";

export type CompactBilinearMethod = "tensor-sketch" | "random-maclaurin";
const METHODS = ["tensor-sketch", "random-maclaurin"] as const;

/**
 * Tensor Sketch's fixed random parameters: two independent count sketches (h, s), one per stream
 * (two pairs even when both streams are the same map, as in the paper and every reference code).
 */
export interface TensorSketchParams {
  readonly method: "tensor-sketch";
  readonly outputDim: number;
  /** `[C1]` int32 bucket of each channel of the first stream, in [0, outputDim). */
  readonly h1: Tensor;
  /** `[C1]` sign (±1) of each channel of the first stream; any real weights are accepted. */
  readonly s1: Tensor;
  /** `[C2]` int32 buckets of the second stream. */
  readonly h2: Tensor;
  /** `[C2]` signs of the second stream. */
  readonly s2: Tensor;
}

/** Random Maclaurin's fixed projections: W1 `[outputDim, C1]` and W2 `[outputDim, C2]`, entries ±1. */
export interface RandomMaclaurinParams {
  readonly method: "random-maclaurin";
  readonly outputDim: number;
  readonly w1: Tensor;
  readonly w2: Tensor;
}

export type CompactBilinearParams = TensorSketchParams | RandomMaclaurinParams;

export interface CompactBilinearParamsOptions {
  /** Sketch length d (the output dimension): a positive integer. */
  outputDim: number;
  /** `"tensor-sketch"` (default) or `"random-maclaurin"`. */
  method?: CompactBilinearMethod;
  /** Seed of the draws (default 1, like the Caffe layer's `srand(1)`; the draws themselves are poolkit's own). */
  seed?: number;
}

export interface CompactBilinearPoolOptions extends PostOptions {
  /** Sketch length d, the output dimension (8192 in the CVPR paper, 16000 in MCB). Taken from `params` if omitted. */
  outputDim?: number;
  /** `"tensor-sketch"` (default) or `"random-maclaurin"`. */
  method?: CompactBilinearMethod;
  /** Seed of the fixed random hashes / projections (default 1). Not allowed together with `params`. */
  seed?: number;
  /** Saved parameters from {@link compactBilinearParams} (or a trained model) instead of drawing them from `seed`. */
  params?: CompactBilinearParams;
  /** Sum the per-location features over all locations → `[N, d]` (default true); false → `[N, d, ...spatial]`. */
  sumPool?: boolean;
}

const KNOWN = ["outputDim", "method", "seed", "params", "sumPool", ...POST_KEYS] as const;

/**
 * Largest sketch length d: 2¹⁶ = 65536, 4× the largest in the papers (8192 in Gao et al., 16000 in
 * MCB). Tensor Sketch runs d-point FFTs at every location (Bluestein's, three FFTs of ≥ 2d points,
 * when d is not a power of two): at d = 10⁶ that was 1.2 s per location, 90 s for a 2 × 6 × 6 map.
 */
export const MAX_OUTPUT_DIM = 2 ** 16;

/**
 * Largest Random Maclaurin projection, d·(C1 + C2) entries: 2²⁴ ≈ 1.7·10⁷ (134 MB of float64, and
 * that many multiply-adds per location), e.g. d = 16384 for two 512-channel streams. Random
 * Maclaurin costs d·(C1 + C2) per location where Tensor Sketch costs C1 + C2 + d·log d.
 */
export const MAX_MACLAURIN_WEIGHTS = 2 ** 24;

/** d within {@link MAX_OUTPUT_DIM}, checked before anything is drawn or allocated. */
function checkOutputDim(op: string, name: string, value: unknown): number {
  const d = numberOption(op, name, value, 0, { integer: true, min: 1 });
  if (d > MAX_OUTPUT_DIM) {
    throw new PoolkitRangeError(op, `${name} must be at most ${MAX_OUTPUT_DIM} (2^16; the papers use 8192 to 16000), got ${show(value)}`);
  }
  return d;
}

/** Random Maclaurin's projection size d·(C1 + C2) within {@link MAX_MACLAURIN_WEIGHTS}. */
function checkMaclaurin(op: string, method: CompactBilinearMethod, d: number, c1: number, c2: number): void {
  if (method === "random-maclaurin" && d * (c1 + c2) > MAX_MACLAURIN_WEIGHTS) {
    throw new PoolkitRangeError(
      op,
      `random-maclaurin with outputDim ${d} and ${c1} + ${c2} channels needs ${d * (c1 + c2)} projection weights (and as many ` +
        `multiply-adds per location), more than ${MAX_MACLAURIN_WEIGHTS} (2^24); use a smaller outputDim or method "tensor-sketch"`,
    );
  }
}
const PARAM_KNOWN = ["outputDim", "method", "seed"] as const;
const DEFAULT_SEED = 1;

// ---------------------------------------------------------------------------------------------
// Parameters: drawn once from a seed, cached, exposed for saving / restoring
// ---------------------------------------------------------------------------------------------

interface TSArrays { readonly method: "tensor-sketch"; readonly d: number; readonly h1: Int32Array; readonly s1: Float64Array; readonly h2: Int32Array; readonly s2: Float64Array }
interface RMArrays { readonly method: "random-maclaurin"; readonly d: number; readonly w1: Float64Array; readonly w2: Float64Array }
type ParamArrays = TSArrays | RMArrays;

// Generated parameters are a pure function of (method, C1, C2, d, seed); a few are kept so that a
// training loop does not redraw a d×C projection every step. Callers get copies, never these arrays.
const CACHE_SIZE = 4;
const cache = new Map<string, ParamArrays>();

function signs(g: Generator, n: number): Float64Array {
  const s = allocArray("float64", n);
  for (let i = 0; i < n; i++) s[i] = g.int(2) === 0 ? -1 : 1;
  return s;
}

function hashes(g: Generator, n: number, d: number): Int32Array {
  const h = allocArray("int32", n);
  for (let i = 0; i < n; i++) h[i] = g.int(d);
  return h;
}

/** Draw order (part of the reproducibility contract): TS h1, s1, h2, s2 (Caffe's order); RM W1 then W2, row-major. */
function generate(method: CompactBilinearMethod, c1: number, c2: number, d: number, seed: number): ParamArrays {
  const key = `${method}|${c1}|${c2}|${d}|${seed}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const g = new Generator(seed);
  let p: ParamArrays;
  if (method === "tensor-sketch") {
    const h1 = hashes(g, c1, d);
    const s1 = signs(g, c1);
    const h2 = hashes(g, c2, d);
    const s2 = signs(g, c2);
    p = { method, d, h1, s1, h2, s2 };
  } else {
    p = { method, d, w1: signs(g, d * c1), w2: signs(g, d * c2) };
  }
  if (cache.size >= CACHE_SIZE) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, p);
  return p;
}

function toInt32Tensor(a: Int32Array, shape: number[]): Tensor {
  const out = allocArray("int32", a.length);
  out.set(a);
  return fromArray(out, shape);
}

function toSignTensor(a: Float64Array, shape: number[]): Tensor {
  const out = allocArray("int32", a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] as number;
  return fromArray(out, shape);
}

/**
 * The fixed random parameters compact bilinear pooling uses for C1- and C2-channel streams (C2 = C1
 * for homogeneous pooling): Tensor Sketch hashes h1 `[C1]`, h2 `[C2]` (int32 in [0, d)) and signs
 * s1, s2 (int32 ±1), or Random Maclaurin projections w1 `[d, C1]`, w2 `[d, C2]` (int32 ±1).
 *
 * `compactBilinearPool(a, b, { outputDim, method, seed })` draws exactly these, so a model can
 * save them (e.g. `p.h1.toArray()`) and later pass them back with `{ params }` — which also loads
 * hashes from another implementation (convert MATLAB's 1-based h to 0-based). Parameters are
 * never shared between implementations' seeds: Caffe, MATLAB, TensorFlow and poolkit all draw
 * differently, so save and restore them with the model.
 *
 * @example
 * const p = compactBilinearParams(512, 512, { outputDim: 8192, seed: 7 });
 * const saved = JSON.stringify({ h1: p.h1.toArray(), s1: p.s1.toArray(), h2: p.h2.toArray(), s2: p.s2.toArray() });
 * const q = JSON.parse(saved);
 * const params = { method: "tensor-sketch", outputDim: 8192, h1: tensor(q.h1, undefined, "int32"),
 *   s1: tensor(q.s1, undefined, "int32"), h2: tensor(q.h2, undefined, "int32"), s2: tensor(q.s2, undefined, "int32") } as const;
 * compactBilinearPool(x, { params });   // identical to compactBilinearPool(x, { outputDim: 8192, seed: 7 })
 */
export function compactBilinearParams(c1: number, c2: number, options: CompactBilinearParamsOptions): CompactBilinearParams {
  return runAs("compactBilinearParams", () => drawParams(c1, c2, options));
}

function drawParams(c1: number, c2: number, options: CompactBilinearParamsOptions): CompactBilinearParams {
  const op = "compactBilinearParams";
  numberOption(op, "c1", c1, 0, { integer: true, min: 1 });
  numberOption(op, "c2", c2, 0, { integer: true, min: 1 });
  const o = expectOptions<CompactBilinearParamsOptions>(op, options, PARAM_KNOWN);
  if (o.outputDim === undefined) throw new PoolkitRangeError(op, "outputDim is required (a positive integer), got undefined");
  const d = checkOutputDim(op, "outputDim", o.outputDim);
  const method = enumOption(op, "method", o.method, METHODS, "tensor-sketch");
  checkMaclaurin(op, method, d, c1, c2);
  const seed = seedOption(op, o.seed);
  const p = generate(method, c1, c2, d, seed);
  if (p.method === "tensor-sketch") {
    return { method: "tensor-sketch", outputDim: d, h1: toInt32Tensor(p.h1, [c1]), s1: toSignTensor(p.s1, [c1]), h2: toInt32Tensor(p.h2, [c2]), s2: toSignTensor(p.s2, [c2]) };
  }
  return { method: "random-maclaurin", outputDim: d, w1: toSignTensor(p.w1, [d, c1]), w2: toSignTensor(p.w2, [d, c2]) };
}

function seedOption(op: string, seed: unknown): number {
  if (seed === undefined) return DEFAULT_SEED;
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) throw new PoolkitRangeError(op, `seed must be a safe integer, got ${show(seed)}`);
  return seed;
}

function paramTensor(op: string, name: string, t: unknown, shape: number[], kind: "hash" | "weight", d: number): Float64Array | Int32Array {
  if (!(t instanceof Tensor)) throw new PoolkitTypeError(op, `params.${name} must be a Tensor, got ${show(t)}`);
  if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
    throw new PoolkitRangeError(op, `params.${name} must have shape ${show(shape)}, got ${show(t.shape)}`);
  }
  const data = t.data;
  if (kind === "hash") {
    if (t.dtype !== "int32") throw new PoolkitTypeError(op, `params.${name} must be an int32 tensor, got ${t.dtype}`);
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number;
      if (v < 0 || v >= d) throw new PoolkitRangeError(op, `params.${name} must hold integers in [0, ${d}), got ${v} at index ${i}`);
    }
    return Int32Array.from(data);
  }
  const out = allocArray("float64", data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!Number.isFinite(v)) throw new PoolkitRangeError(op, `params.${name} must hold finite numbers, got ${show(v)} at index ${i}`);
    out[i] = v;
  }
  return out;
}

/** The method and sketch length the options ask for (checked, nothing drawn): shared by the op and `outputShape`. */
function resolveDim(op: string, o: CompactBilinearPoolOptions): { method: CompactBilinearMethod; d: number } {
  if (o.params === undefined) {
    if (o.outputDim === undefined) throw new PoolkitRangeError(op, "outputDim is required (a positive integer), got undefined");
    const d = checkOutputDim(op, "outputDim", o.outputDim);
    const method = enumOption(op, "method", o.method, METHODS, "tensor-sketch");
    return { method, d };
  }
  const p = o.params as Partial<CompactBilinearParams> | null;
  if (p === null || typeof p !== "object" || p instanceof Tensor) throw new PoolkitTypeError(op, `params must be an object from compactBilinearParams, got ${show(p)}`);
  if (o.seed !== undefined) throw new PoolkitRangeError(op, `seed and params cannot both be given (params already fixes the draws), got seed ${show(o.seed)}`);
  const method = enumOption(op, "params.method", p.method, METHODS, "tensor-sketch");
  if (o.method !== undefined && o.method !== method) {
    throw new PoolkitRangeError(op, `method ${show(o.method)} does not match params.method ${show(method)}`);
  }
  const d = checkOutputDim(op, "params.outputDim", p.outputDim);
  if (p.outputDim === undefined) throw new PoolkitRangeError(op, "params.outputDim is required (a positive integer), got undefined");
  if (o.outputDim !== undefined && o.outputDim !== d) {
    throw new PoolkitRangeError(op, `outputDim ${show(o.outputDim)} does not match params.outputDim ${d}`);
  }
  return { method, d };
}

function resolveParams(op: string, o: CompactBilinearPoolOptions, c1: number, c2: number): ParamArrays {
  const { method, d } = resolveDim(op, o);
  checkMaclaurin(op, method, d, c1, c2);
  if (o.params === undefined) return generate(method, c1, c2, d, seedOption(op, o.seed));
  const p = o.params as Partial<CompactBilinearParams>;
  if (method === "tensor-sketch") {
    const q = p as Partial<TensorSketchParams>;
    return {
      method, d,
      h1: paramTensor(op, "h1", q.h1, [c1], "hash", d) as Int32Array,
      s1: paramTensor(op, "s1", q.s1, [c1], "weight", d) as Float64Array,
      h2: paramTensor(op, "h2", q.h2, [c2], "hash", d) as Int32Array,
      s2: paramTensor(op, "s2", q.s2, [c2], "weight", d) as Float64Array,
    };
  }
  const q = p as Partial<RandomMaclaurinParams>;
  return {
    method, d,
    w1: paramTensor(op, "w1", q.w1, [d, c1], "weight", d) as Float64Array,
    w2: paramTensor(op, "w2", q.w2, [d, c2], "weight", d) as Float64Array,
  };
}

// ---------------------------------------------------------------------------------------------
// The op
// ---------------------------------------------------------------------------------------------

/** The one output-shape rule, shared by the op and `outputShape`. */
function outShape(n: number, spatial: readonly number[], d: number, sumPool: boolean): number[] {
  return sumPool ? [n, d] : [n, d, ...spatial];
}

/** The plan of compact bilinear pooling: sizes, the resolved projections (drawn from the seed or given), pooling and post-processing. */
export interface CompactBilinearPoolPlan {
  readonly n: number;
  readonly c1: number;
  readonly c2: number;
  readonly l: number;
  readonly bBroadcast: boolean;
  readonly sumPool: boolean;
  readonly params: ParamArrays;
  readonly post: PostPlan;
  readonly outShape: readonly number[];
}

/**
 * The one plan of compact bilinear pooling: `[N, d]` (sumPool, default) or `[N, d, ...spatial]`,
 * d = outputDim (or params.outputDim). `bShape` is the second stream's shape (null or left out: b = a).
 */
function planCompact(aShape: readonly number[], options: CompactBilinearPoolOptions, bShape?: readonly number[] | null): CompactBilinearPoolPlan {
  const op = "compactBilinearPool";
  featureShape(op, "a", aShape);
  const o = expectOptions<CompactBilinearPoolOptions>(op, options, KNOWN);
  const post = postOptions(op, o);
  const sumPool = boolOption(op, "sumPool", o.sumPool, true);
  const n = aShape[0] ?? 0;
  const spatial = aShape.slice(2);
  const l = spatial.reduce((p, q) => p * q, 1);
  const c1 = aShape[1] ?? 0;
  const c2 = bShape ? (bShape[1] ?? 0) : c1;
  const bBroadcast = bShape !== null && bShape !== undefined && bShape.length === 2 && spatial.length > 0;
  // the projections are part of the plan: seeded draws (cached; the global generator is never used) or the given params
  const params = resolveParams(op, o, c1, c2);
  const d = params.d;
  return {
    n, c1, c2, l, bBroadcast, sumPool, params,
    post: { rows: sumPool ? n : n * l, dim: d, stride: sumPool ? 1 : l, ...post },
    outShape: outShape(n, spatial, d, sumPool),
  };
}

/**
 * Compact bilinear pooling: a d-dimensional random feature map whose inner products approximate
 * the bilinear (outer-product) features' — <φ(x), φ(y)> ≈ <x, y>² per location pair — without
 * forming the C1×C2 outer product. Gao, Beijbom, Zhang & Darrell, "Compact Bilinear Pooling",
 * CVPR 2016; with two streams of different modalities it is MCB (Fukui et al., "Multimodal Compact
 * Bilinear Pooling for Visual Question Answering and Visual Grounding", EMNLP 2016).
 *
 * Shapes: a `[N, C1, H, W]`, b `[N, C2, H, W]` (same N and spatial dims; any number of spatial dims,
 * including none, e.g. MCB of two `[N, 2048]` vectors) or b `[N, C2]`, broadcast to every location
 * (MCB's tiled question vector; its gradient sums over locations) → `[N, d]` with `sumPool`
 * (default), else `[N, d, H, W]`; d = `outputDim`. With b omitted the pooling is homogeneous
 * (b = a, C2 = C1).
 *
 * Per location l (x = a[n, :, l], y = b[n, :, l]):
 * - `"tensor-sketch"`: Ψ1 = count sketch of x with (h1, s1), Ψ2 of y with (h2, s2) — two independent
 *   pairs, also in the homogeneous case — and φ_l = Ψ1 ⊛ Ψ2 = IFFT(FFT Ψ1 ∘ FFT Ψ2), IFFT with 1/d.
 * - `"random-maclaurin"`: φ_l = (1/√d)(W1 x) ∘ (W2 y), W1, W2 ∈ {±1}^{d×C}.
 * Then Φ = Σ_l φ_l (a sum, as the paper and all reference code), signed √ and L2 as in
 * {@link bilinearPool} (with sumPool false they are applied to each location's d-vector).
 *
 * Backward: exact — circular correlation (conjugate FFT) for Tensor Sketch, W1ᵀ(φ̄ ∘ W2 y) + ...
 * for Random Maclaurin — for a and b. The hashes, signs and projections are constants (no gradient).
 *
 * Parameters are drawn once from `seed` (default 1) by poolkit's portable generator — never from
 * the global generator, because they are a fixed projection, not per-call noise — and cached.
 * Get them with {@link compactBilinearParams} to save with a model; pass them back with `params`.
 * Any length d works: the FFT is radix-2 for powers of two and Bluestein otherwise (MCB's 16000).
 *
 * Limits (checked up front, RangeError naming the op): `outputDim ≤ 2¹⁶ = 65536` ({@link MAX_OUTPUT_DIM});
 * Random Maclaurin also needs `outputDim·(C1 + C2) ≤ 2²⁴` ({@link MAX_MACLAURIN_WEIGHTS}), its
 * projection size and per-location work. `outputShape`, which does not see b, checks the first.
 *
 * Deviations: the Caffe layer's unnormalised inverse FFT scales Tensor Sketch by d (it cancels after
 * L2); the MATLAB RM code scales each W by 1/√d (overall 1/d) where the paper's unbiased 1/√d is
 * used here; hashes from Caffe/MATLAB/TensorFlow seeds are not reproduced (load them via `params`).
 * Tensor Sketch entries within the FFT's rounding bound (buckets no channel pair reaches, pairs that
 * cancel) are set to exactly 0 rather than left as ~1e-16 noise that the signed √ would amplify.
 *
 * Computation: with sum pooling, Φ[k] = Σ_{(h1(i) + h2(j)) mod d = k} s1_i·s2_j·B_ij is the Tensor Sketch
 * of the bilinear matrix B = Σ_l x_l·y_lᵀ (C1 × C2 per image), so when that is cheaper than the FFTs
 * (C1·C2·L, halved for b = a, ≤ 16·L·d·log2 d; always for a broadcast b) B is formed by the matrix core —
 * float32 data in float32 arithmetic like {@link bilinearPool} (each B_ij within (min(L, 256) + 2)·2⁻²⁴·Σ_l|x_il||y_jl|),
 * b = a by the symmetric product — and scattered into the d buckets in float64; the backward gathers
 * dB_ij = s1_i·s2_j·Φ̄[(h1(i) + h2(j)) mod d] and multiplies dB·Y, dBᵀ·X. The same cleaning rule holds on
 * both routes: |Φ_k| ≤ τ = 8·⌈log2 2d⌉·2⁻⁵²·Σ_l ‖Ψ1_l‖₂‖Ψ2_l‖₂ → exactly 0 and gradient 0. On the direct route
 * empty buckets and (b = a) cancelling pairs (i, j), (j, i) — added as one term — are exactly 0, so the two
 * routes zero the same entries except those within their rounding difference of τ. Per-location outputs
 * (sumPool false) always take the FFTs.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const x = randn([2, 512, 14, 14]);
 * const z = compactBilinearPool(x, { outputDim: 8192 });                    // [2, 8192], Tensor Sketch
 * const m = compactBilinearPool(img, question, { outputDim: 16000 });       // MCB
 * const r = compactBilinearPool(x, { outputDim: 4096, method: "random-maclaurin", seed: 3 });
 */
export const compactBilinearPool = defineOp("compactBilinearPool", {
  planArgs: (
    a: Tensor,
    b?: Tensor | CompactBilinearPoolOptions | null,
    options?: CompactBilinearPoolOptions,
  ): [readonly number[], CompactBilinearPoolOptions, readonly number[] | null] => {
    const op = "compactBilinearPool";
    const split = splitOptionalSecond<CompactBilinearPoolOptions>(op, b, options);
    const fa = featureMap(op, "a", a);
    if (split.y !== null) pairedFeatureMap(op, "b", split.y, fa, "a", true);
    return [a.shape, split.opts as CompactBilinearPoolOptions, split.y ? split.y.shape : null];
  },
  plan: planCompact,
  forward: (plan, a, b) => {
    const bT = b instanceof Tensor ? b : null;
    const { n, c1, c2, l, bBroadcast, sumPool, params: p } = plan;
    const d = p.d;
    const dtype = a.dtype as FloatDType;
    const size = sumPool ? n * d : n * d * l;
    // v and u (kept for backward) and the output z where the backend keeps tensors (zero-filled, as the
    // kernels were written against); views read at each call
    const v = zeros([size], dtype);
    // Tensor Sketch: entries cleaned to exactly 0 (see roundoffBound); constant, so no gradient
    const zeroed = zeros([p.method === "tensor-sketch" ? size : 0], "int32");
    if (p.method === "tensor-sketch") {
      kernel("compactBilinearPool.tensorSketch", dtype, tensorSketchForward)(
        a.data, (bT ?? a).data, v.data as FloatArray, n, c1, c2, l, bBroadcast, d, p.h1, p.s1, p.h2, p.s2, zeroed.data as Int32Array, sumPool,
      );
    } else {
      kernel("compactBilinearPool.randomMaclaurin", dtype, randomMaclaurinForward)(a.data, (bT ?? a).data, v.data as FloatArray, n, c1, c2, l, bBroadcast, d, p.w1, p.w2, sumPool);
    }
    const u = zeros([size], dtype);
    const z = zeros(plan.outShape, dtype);
    const norms = kernel("bilinear.signedSqrtL2", dtype, postForward)(plan.post, v.data as FloatArray, u.data as FloatArray, z.data as FloatArray);

    return {
      output: z,
      backward: (dz: Tensor) => {
        const g = zeros([size], dtype);
        kernel("bilinear.signedSqrtL2Backward", dtype, postBackward)(plan.post, v.data as FloatArray, u.data as FloatArray, norms, dz.data, g.data as FloatArray);
        const da = zeros(a.shape, dtype);
        const db = bT ? zeros(bT.shape, dtype) : null;
        const dbd = (): FloatArray | null => (db ? (db.data as FloatArray) : null);
        if (p.method === "tensor-sketch") {
          kernel("compactBilinearPool.tensorSketchBackward", dtype, tensorSketchBackward)(
            g.data as FloatArray, a.data, (bT ?? a).data, da.data as FloatArray, dbd(), n, c1, c2, l, bBroadcast, d, p.h1, p.s1, p.h2, p.s2, zeroed.data as Int32Array, sumPool,
          );
        } else {
          kernel("compactBilinearPool.randomMaclaurinBackward", dtype, randomMaclaurinBackward)(
            g.data as FloatArray, a.data, (bT ?? a).data, da.data as FloatArray, dbd(), n, c1, c2, l, bBroadcast, d, p.w1, p.w2, sumPool,
          );
        }
        g.dispose();
        return db ? [da, db] : [da];
      },
    };
  },
});
