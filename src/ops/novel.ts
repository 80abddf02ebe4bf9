// Barrel of the novel ops; each op (or closely related family) lives in its own file in this folder.
export { mixedPool2d, mixedPool2dWithLambdas, type MixedPoolOptions, type MixedGranularity, type MixedEvalMode } from "./mixedPool.js";
export {
  learnedMixPool2d,
  gatedMixPool2d,
  treePool2d,
  type GeneralizedPoolOptions,
  type LearnedMixPoolOptions,
  type Sharing,
} from "./generalizedPool.js";
export { stochasticPool2d, stochasticPool2dWithIndices, type StochasticPoolOptions } from "./stochasticPool.js";
export { s3Pool2d, s3Pool2dWithSelection, type S3PoolOptions } from "./s3Pool.js";
