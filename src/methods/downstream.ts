/**
 * Registry descriptors of the downstream methods: covariance (second-order) pooling, Grassmann
 * pooling, spatial pyramid pooling, RoI pooling and RoIAlign. Output shapes come from each op's own
 * `outputShape` (the same geometry as its forward pass).
 */
import type { InputSpec, PoolMethod } from "../registry.js";
import type { Generator } from "../tensor/random.js";
import { covariancePool, type CovariancePoolOptions } from "../ops/covariancePool.js";
import { grassmannCompactPool, grassmannPool, type GrassmannPoolOptions } from "../ops/grassmannPool.js";
import { spatialPyramidPool, type SpatialPyramidPoolOptions } from "../ops/spatialPyramidPool.js";
import { roiPool, type RoiPoolOptions } from "../ops/roiPool.js";
import { roiAlign, type RoiAlignOptions } from "../ops/roiAlign.js";
import { channelsOf, normalInit, opsByRank, ownOption } from "./common.js";

/** Example boxes per image in the registry's seeded `boxes` input (K = 2·N). */
const BOXES_PER_IMAGE = 2;
const boxCount = (xShape: readonly number[]): number => BOXES_PER_IMAGE * (xShape.length === 4 ? (xShape[0] as number) : 1);

/**
 * Seeded example boxes `[K, 5]` that are valid for the feature map: image r mod N, and a box of at
 * least one feature pixel lying inside [0, W−1] × [0, H−1], given in image coordinates
 * (feature coordinates / spatialScale).
 */
function initBoxes(shape: readonly number[], gen: Generator, xShape: readonly number[], options: Record<string, unknown>): Float64Array {
  const k = shape[0] as number;
  const n = xShape.length === 4 ? (xShape[0] as number) : 1;
  const h = xShape[xShape.length - 2] as number;
  const w = xShape[xShape.length - 1] as number;
  const s = ownOption(options, "spatialScale");
  const scale = typeof s === "number" && s > 0 ? s : 1;
  const out = new Float64Array(k * 5);
  const side = (size: number): [number, number] => {
    if (size <= 1) return [0, 0];
    const lo = gen.uniform() * (size - 1) * 0.5;
    const hi = Math.min(size - 1, lo + 1 + gen.uniform() * (size - 2 - lo));
    return [lo, Math.max(hi, lo)];
  };
  for (let r = 0; r < k; r++) {
    const [x1, x2] = side(w);
    const [y1, y2] = side(h);
    out.set([r % n, x1 / scale, y1 / scale, x2 / scale, y2 / scale], r * 5);
  }
  return out;
}

const BOXES: InputSpec = {
  name: "boxes",
  role: "constant",
  shape: (xShape) => [boxCount(xShape), 5],
  init: initBoxes,
  doc: "RoIs [K, 5] = (batchIndex, x1, y1, x2, y2) in image coordinates (scaled by spatialScale onto the map); no gradient. The example holds two valid boxes per image.",
};

/** Covariance pooling (`covariancePool`). */
export const Covariance: PoolMethod = {
  name: "Covariance",
  aliases: ["cov", "second-order", "covariance-pooling", "mpn-cov", "isqrt-cov", "o2p"],
  ...opsByRank({ 2: covariancePool }),
  category: "second-order",
  random: false,
  trainEval: false,
  inputs: [],
  learnable: [],
  paper:
    "Ionescu, Vantzos & Sminchisescu, Matrix Backpropagation for Deep Networks with Structured Layers, ICCV 2015; Li, Xie, Wang & Zuo, MPN-COV, ICCV 2017; Li, Xie, Wang & Gao, iSQRT-COV, CVPR 2018",
  summary: "Per image, the C × C covariance of the feature vectors over all locations, matrix-normalised (logm, exact sqrtm or Newton–Schulz) and flattened to its upper triangle.",
  defaults: { normalization: "sqrtm" },
  outputShape: (xShape, options) => covariancePool.outputShape(xShape, options as CovariancePoolOptions),
};

/** Grassmann pooling (`grassmannPool`, projector onto the top-k singular subspace). */
export const Grassmann: PoolMethod = {
  name: "Grassmann",
  aliases: ["grassmann-pooling", "grassmannpool"],
  ...opsByRank({ 2: grassmannPool }),
  category: "second-order",
  random: false,
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: "Wei, Zhang, Gong, Zhang & Zheng, Grassmann Pooling as Compact Homogeneous Bilinear Pooling for Fine-Grained Visual Classification, ECCV 2018",
  summary: "Per image, the C × C projector U_k U_kᵀ onto the top-k left singular vectors of the C × HW feature matrix: bilinear pooling with the top singular values flattened to 1.",
  defaults: { k: 2 },
  outputShape: (xShape, options) => grassmannPool.outputShape(xShape, options as unknown as GrassmannPoolOptions),
};

/** Columns of the compact Grassmann projection W in the registry example. */
const COMPACT_DIM = 8;

/** Compact Grassmann descriptor (`grassmannCompactPool`) with a learnable projection W. */
export const GrassmannCompact: PoolMethod = {
  name: "GrassmannCompact",
  aliases: ["grassmann-compact", "compact-grassmann"],
  ...opsByRank({ 2: grassmannCompactPool }),
  category: "second-order",
  random: false,
  trainEval: false,
  inputs: [
    {
      name: "w",
      role: "learnable",
      shape: (xShape) => [channelsOf(xShape, 2), COMPACT_DIM],
      init: (shape, gen) => normalInit(shape, gen, 1 / Math.sqrt(shape[0] as number)),
      doc: "Projection W [C, d]; output z_j = ‖U_kᵀ w_j‖². Example init N(0, 1/C).",
    },
  ],
  learnable: ["w"],
  paper: "Wei, Zhang, Gong, Zhang & Zheng, Grassmann Pooling as Compact Homogeneous Bilinear Pooling for Fine-Grained Visual Classification, ECCV 2018 (compact mapping reconstructed)",
  summary: "The Grassmann projector read through a learned projection: z_j = w_jᵀ U_k U_kᵀ w_j, a d-dimensional descriptor without forming the C × C matrix downstream.",
  defaults: { k: 2 },
  outputShape: (xShape, options) => grassmannCompactPool.outputShape(xShape, [xShape[1] as number, COMPACT_DIM], options as unknown as GrassmannPoolOptions),
};

/** Spatial pyramid pooling (`spatialPyramidPool`). */
export const SpatialPyramid: PoolMethod = {
  name: "SpatialPyramid",
  aliases: ["spp", "spatial-pyramid", "sppnet", "spatialpyramidpooling"],
  ...opsByRank({ 2: spatialPyramidPool }),
  category: "region",
  random: false,
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: "He, Zhang, Ren & Sun, Spatial Pyramid Pooling in Deep Convolutional Networks for Visual Recognition, ECCV 2014",
  summary: "Max (or average) pools the map into n × n adaptive bins for every pyramid level and concatenates the levels into a fixed-length vector C·Σn² for any input size.",
  defaults: { levels: [4, 2, 1], mode: "max" },
  outputShape: (xShape, options) => spatialPyramidPool.outputShape(xShape, options as SpatialPyramidPoolOptions),
};

/** RoI max pooling (`roiPool`). */
export const RoIPool: PoolMethod = {
  name: "RoIPool",
  aliases: ["roi", "roi-pool", "roipooling", "roi-max-pool"],
  ...opsByRank({ 2: roiPool }),
  category: "region",
  random: false,
  trainEval: false,
  inputs: [BOXES],
  learnable: [],
  paper: "Girshick, Fast R-CNN, ICCV 2015 (torchvision's roi_pool semantics)",
  summary: "Max pools each box (rounded to the feature grid) into a fixed ph × pw grid of bins: [K, C, ph, pw].",
  defaults: { outputSize: 2, spatialScale: 1 },
  outputShape: (xShape, options) => roiPool.outputShape(xShape, boxCount(xShape), options as unknown as RoiPoolOptions),
};

/** RoIAlign (`roiAlign`). */
export const RoIAlign: PoolMethod = {
  name: "RoIAlign",
  aliases: ["roi-align", "roialign"],
  ...opsByRank({ 2: roiAlign }),
  category: "region",
  random: false,
  trainEval: false,
  inputs: [BOXES],
  learnable: [],
  paper: "He, Gkioxari, Dollár & Girshick, Mask R-CNN, ICCV 2017 (torchvision's roi_align semantics)",
  summary: "Averages bilinear samples on a regular grid inside each of the ph × pw bins of every box, with no quantisation: [K, C, ph, pw].",
  defaults: { outputSize: 2, spatialScale: 1, samplingRatio: 2, aligned: false },
  outputShape: (xShape, options) => roiAlign.outputShape(xShape, boxCount(xShape), options as unknown as RoiAlignOptions),
};

/** The downstream family, in registry order. */
export const DOWNSTREAM_METHODS: readonly PoolMethod[] = [Covariance, Grassmann, GrassmannCompact, SpatialPyramid, RoIPool, RoIAlign];
