/**
 * Registry descriptors of the weighted methods: SoftPool, LIP, detail-preserving pooling and DynOPool.
 * Output shapes come from the ops' own `outputShape` (the same geometry as the forward pass).
 */
import type { PoolMethod } from "../registry.js";
import type { Generator } from "../tensor/random.js";
import { softPool1d, softPool2d, softPool3d } from "../ops/softPool.js";
import { localImportancePool2d } from "../ops/localImportancePool.js";
import { detailPreservingPool2d } from "../ops/detailPreservingPool.js";
import { DYNAMIC_DEFAULT_DELTA, dynamicPool2d } from "../ops/dynamicPool.js";
import { channelsOf, normalInit, opsByRank, ownOption, rankOps, shapeByRank, uniformInit } from "./common.js";

export const SoftPool: PoolMethod = {
  name: "SoftPool",
  aliases: ["soft", "soft-pool"],
  ...rankOps("SoftPool", { 1: softPool1d, 2: softPool2d, 3: softPool3d }),
  category: "weighted",
  random: false,
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: "Stergiou, Poppe & Kalliatakis, Refining Activation Downsampling with SoftPool, ICCV 2021 (arXiv 2101.00440)",
  summary: "Replaces each window by its softmax-weighted average Σ e^x·x / Σ e^x (per channel, numerically stable), between average and max pooling.",
  defaults: { kernelSize: 2 },
};

export const LocalImportance: PoolMethod = {
  name: "LIP",
  aliases: ["local-importance", "local-importance-pool", "lip"],
  ...rankOps("LIP", { 2: localImportancePool2d }),
  category: "learned",
  random: false,
  trainEval: false,
  inputs: [
    {
      name: "logits",
      role: "data",
      shape: (xShape) => xShape.slice(),
      // Example logits: standard normal. Officially they come from a logit module, e.g. SimplifiedLIP
      // (conv3×3 → InstanceNorm → 12·sigmoid), whose zero-initialised conv gives 6 everywhere.
      init: (shape, gen) => normalInit(shape, gen),
      doc: "Importance logits L, the shape of x: y = Σ e^L·x / Σ e^L over each window (padding excluded). Produced by a logit module, e.g. 12·sigmoid(InstanceNorm(conv3×3(x))).",
    },
  ],
  learnable: [],
  paper: "Gao, Wang & Wu, LIP: Local Importance-Based Pooling, ICCV 2019",
  summary: "A softmax-weighted window average with importance logits from a learned module: avg(x·e^L) / avg(e^L), padding excluded.",
  defaults: { kernelSize: 3, stride: 2, padding: 1 },
};

/** U(−1/√C, 1/√C) for a `[C]` parameter: the nngraph modules' default init, so λ and α start near 1. */
const uniformPerChannel = (shape: readonly number[], gen: Generator): Float64Array => uniformInit(shape, gen, 1 / Math.sqrt(shape[0] as number));

export const DetailPreserving: PoolMethod = {
  name: "DPP",
  aliases: ["detail-preserving", "detail-preserving-pool", "dpp"],
  ...rankOps("DPP", { 2: detailPreservingPool2d }),
  category: "learned",
  random: false,
  trainEval: false,
  // The lite variant (2×2 box guidance). The full variant takes a 4th tensor, filter [C, 1, 3, 3]
  // (initialised N(0, √(2/9)) officially); pass it to the op directly.
  inputs: [
    {
      name: "alpha",
      role: "learnable",
      shape: (xShape) => [channelsOf(xShape, 2)],
      init: (shape, gen) => uniformPerChannel(shape, gen),
      doc: "θ_α, one per channel: α = exp(min(θ_α, 10)) is added to every reward. Train without weight decay.",
    },
    {
      name: "lambda",
      role: "learnable",
      shape: (xShape) => [channelsOf(xShape, 2)],
      init: (shape, gen) => uniformPerChannel(shape, gen),
      doc: "θ_λ, one per channel: the reward is (q / mean q)^{λ/2} with λ = exp(θ_λ). Train without weight decay.",
    },
  ],
  learnable: ["alpha", "lambda"],
  paper: "Saeedan, Weber, Goesele & Roth, Detail-Preserving Pooling in Deep Networks, CVPR 2018 (arXiv 1804.04076)",
  summary: "Weights each 2×2 block's pixels by α + (normalised deviation from a smoothed guidance)^{λ/2}, so detail survives downsampling (official nngraph parametrisation).",
  defaults: { reward: "symmetric" },
};

/** The initial scale factor: the stride of the max-pool 2×2 that DynOPool replaces. */
const DYNAMIC_INITIAL_R = 2;

export const DynOPool: PoolMethod = {
  name: "DynOPool",
  aliases: ["dynamic", "dynamic-pool", "dynopool"],
  ...opsByRank({ 2: dynamicPool2d }),
  category: "learned",
  random: false,
  trainEval: false,
  inputs: [
    {
      name: "r",
      role: "learnable",
      shape: () => [2],
      init: () => Float64Array.of(DYNAMIC_INITIAL_R, DYNAMIC_INITIAL_R),
      gradient: "straight-through",
      doc: "Scale factor per axis (input size / output size), initialised to 2 so training starts as max-pool 2×2. Output size max(1, round(H / r_h)); gradient straight through the rounding.",
    },
    {
      name: "delta",
      role: "learnable",
      shape: () => [2],
      init: () => Float64Array.of(DYNAMIC_DEFAULT_DELTA, DYNAMIC_DEFAULT_DELTA),
      doc: "Query offsets per axis as a fraction of the cell (0.25: the sub-cell centres).",
    },
  ],
  learnable: ["r", "delta"],
  paper: "Jang, Chu, Kim & Han, Pooling Revisited: Your Receptive Field is Suboptimal, CVPR 2022 (arXiv 2205.15254); reconstruction, no official code",
  summary: "Learns the resize ratio per axis: each output cell takes the max of 4 bilinear queries inside it; gradients reach the ratio (straight-through rounding) and the query offsets.",
  defaults: {},
  /**
   * The output shape depends on r's value, which is a tensor input, not an option: this descriptor
   * uses `options.r` when present (a number or two numbers; the op itself rejects an `r` option) and
   * otherwise the initial r = 2 of `inputs`. For other r call `dynamicPool2d.outputShape(shape, r)`.
   */
  outputShape: shapeByRank("DynOPool", {
    2: (xShape, options) => dynamicPool2d.outputShape(xShape, (ownOption(options, "r") as number | number[] | undefined) ?? DYNAMIC_INITIAL_R),
  }),
};

export const WEIGHTED_METHODS: readonly PoolMethod[] = [SoftPool, LocalImportance, DetailPreserving, DynOPool];
