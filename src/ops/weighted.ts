// Barrel of the weighted ops; each op lives in its own file in this folder.
export { softPool1d, softPool2d, softPool3d, type SoftPoolOptions } from "./softPool.js";
export { localImportancePool2d, type LocalImportancePoolOptions } from "./localImportancePool.js";
export { detailPreservingPool2d, type DetailPreservingPoolOptions } from "./detailPreservingPool.js";
export {
  dynamicPool2d,
  dynamicPoolCost,
  DYNAMIC_DEFAULT_DELTA,
  type DynamicPoolOptions,
  type DynamicPoolCostOptions,
} from "./dynamicPool.js";
