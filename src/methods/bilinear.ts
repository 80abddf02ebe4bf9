/**
 * Registry descriptors of the bilinear family: B-CNN bilinear pooling, compact bilinear pooling
 * (Tensor Sketch / Random Maclaurin / MCB) and MLB low-rank bilinear pooling. Output shapes come
 * from each op's own `outputShape` (the same rule as its forward pass).
 */
import type { InputSpec, PoolMethod } from "../registry.js";
import { bilinearPool } from "../ops/bilinearPool.js";
import { compactBilinearPool, type CompactBilinearPoolOptions } from "../ops/compactBilinearPool.js";
import { lowRankBilinearPool, type LowRankBilinearPoolOptions } from "../ops/lowRankBilinearPool.js";
import type { Generator } from "../tensor/random.js";
import { normalInit, opsByRank, uniformInit } from "./common.js";

/** PyTorch's nn.Linear initialisation: U(−1/√fanIn, 1/√fanIn) for weights and biases. */
function linearInit(fanIn: (shape: readonly number[], xShape: readonly number[], options: Record<string, unknown>) => number) {
  return (shape: readonly number[], gen: Generator, xShape: readonly number[], options: Record<string, unknown>): Float64Array => {
    return uniformInit(shape, gen, 1 / Math.sqrt(Math.max(1, fanIn(shape, xShape, options))));
  };
}

/** The optional second stream of the two-input methods: same shape as x in the examples. */
function secondStream(doc: string): InputSpec {
  return { name: "b", role: "data", shape: (xShape) => xShape.slice(), init: (shape, gen) => normalInit(shape, gen), doc };
}

const channels = (xShape: readonly number[]): number => (xShape[1] ?? 1) as number;

/** Rank d and outputs O of the low-rank example / layer weights: the `rank` / `outputDim` options, else 8 and 4. */
const DEFAULT_RANK = 8;
const DEFAULT_OUTPUTS = 4;
const rankOf = (o: Record<string, unknown>): number => (typeof o.rank === "number" ? o.rank : DEFAULT_RANK);
const outputsOf = (o: Record<string, unknown>): number => (typeof o.outputDim === "number" ? o.outputDim : DEFAULT_OUTPUTS);

/** B-CNN bilinear pooling (`bilinearPool`). */
export const Bilinear: PoolMethod = {
  name: "Bilinear",
  aliases: ["bcnn", "b-cnn", "bilinear-cnn", "bilinear-pooling"],
  ...opsByRank({ 2: bilinearPool }),
  category: "second-order",
  random: false,
  trainEval: false,
  inputs: [secondStream("Optional second feature map [N, P, H, W] (same N, H, W as x); omit it for homogeneous B-CNN (b = x). Output [N, C·P].")],
  learnable: [],
  paper: "Lin, RoyChowdhury & Maji, Bilinear CNN Models for Fine-grained Visual Recognition, ICCV 2015",
  summary: "Sums the outer products a_l b_lᵀ of two feature maps over all locations, then signed square root and L2 normalisation: [N, C·P].",
  defaults: { pooling: "sum" },
  outputShape: (xShape) => bilinearPool.outputShape(xShape, xShape),
};

/** Compact bilinear pooling (`compactBilinearPool`): Tensor Sketch, Random Maclaurin; MCB with two streams. */
export const CompactBilinear: PoolMethod = {
  name: "CompactBilinear",
  aliases: ["compact-bilinear", "cbp", "tensor-sketch", "mcb", "random-maclaurin", "multimodal-compact-bilinear"],
  ...opsByRank({ 2: compactBilinearPool }),
  category: "second-order",
  // The hashes / projections are drawn once from `seed` (default 1), not per call: deterministic.
  random: false,
  trainEval: false,
  inputs: [secondStream("Optional second stream [N, C2, H, W] (same N, H, W as x) or a vector [N, C2] broadcast to every location, e.g. MCB's question; omit it for homogeneous compact bilinear pooling.")],
  learnable: [],
  paper:
    "Gao, Beijbom, Zhang & Darrell, Compact Bilinear Pooling, CVPR 2016; Fukui, Park, Yang, Rohrbach, Darrell & Rohrbach, Multimodal Compact Bilinear Pooling for Visual Question Answering and Visual Grounding, EMNLP 2016",
  summary: "A d-dimensional random feature (Tensor Sketch: circular convolution of count sketches via FFT, or when summed the count sketch of the bilinear matrix X·Yᵀ; or Random Maclaurin) whose inner products approximate bilinear pooling's, summed over locations, signed √ and L2.",
  defaults: { outputDim: 128, method: "tensor-sketch" },
  outputShape: (xShape, options) => compactBilinearPool.outputShape(xShape, options as CompactBilinearPoolOptions),
};

/** MLB low-rank bilinear pooling (`lowRankBilinearPool`). */
export const LowRankBilinear: PoolMethod = {
  name: "LowRankBilinear",
  aliases: ["mlb", "low-rank-bilinear", "hadamard-low-rank-bilinear", "lrbp"],
  ...opsByRank({ 2: lowRankBilinearPool }),
  category: "second-order",
  random: false,
  trainEval: false,
  inputs: [
    {
      name: "y",
      role: "data",
      shape: (xShape) => xShape.slice(),
      init: (shape, gen) => normalInit(shape, gen),
      doc: "Second feature map [N, Cy, H, W] (same N, H, W as x), or a vector [N, Cy] broadcast to every location (MLB's question embedding). Pass x again for one stream.",
    },
    {
      name: "U",
      role: "learnable",
      shape: (xShape, o) => [rankOf(o), channels(xShape)],
      init: linearInit((s) => s[1] as number),
      doc: "Projection of x, [d, Cx] (nn.Linear weight layout); d = the `rank` option (8 in the example).",
    },
    {
      name: "V",
      role: "learnable",
      shape: (xShape, o) => [rankOf(o), channels(xShape)],
      init: linearInit((s) => s[1] as number),
      doc: "Projection of y, [d, Cy].",
    },
    {
      name: "P",
      role: "learnable",
      shape: (_x, o) => [outputsOf(o), rankOf(o)],
      init: linearInit((s) => s[1] as number),
      doc: "Output projection, [O, d]; O = the `outputDim` option (4 in the example).",
    },
    {
      name: "bU",
      role: "learnable",
      shape: (_x, o) => [rankOf(o)],
      init: linearInit((_s, xShape) => channels(xShape)),
      doc: "Bias of U x, [d] (or null in direct calls).",
    },
    {
      name: "bV",
      role: "learnable",
      shape: (_x, o) => [rankOf(o)],
      init: linearInit((_s, xShape) => channels(xShape)),
      doc: "Bias of V y, [d] (or null).",
    },
    {
      name: "bP",
      role: "learnable",
      shape: (_x, o) => [outputsOf(o)],
      init: linearInit((_s, _x, o) => rankOf(o)),
      doc: "Output bias, [O] (or null).",
    },
  ],
  learnable: ["U", "V", "P", "bU", "bV", "bP"],
  paper:
    "Kim, On, Lim, Kim, Ha & Zhang, Hadamard Product for Low-rank Bilinear Pooling, ICLR 2017 (covers Kong & Fowlkes, Low-rank Bilinear Pooling for Fine-Grained Classification, CVPR 2017, with identity activation)",
  summary: "A rank-d bilinear map P(tanh(U x + b_u) ∘ tanh(V y + b_v)) + b at every location, averaged (or summed) over locations: [N, O].",
  defaults: { pooling: "mean", rank: DEFAULT_RANK, outputDim: DEFAULT_OUTPUTS },
  outputShape: (xShape, options) => lowRankBilinearPool.outputShape(xShape, [outputsOf(options), rankOf(options)], options as LowRankBilinearPoolOptions),
};

export const BILINEAR_METHODS: readonly PoolMethod[] = [Bilinear, CompactBilinear, LowRankBilinear];
