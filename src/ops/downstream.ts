// Barrel of the downstream ops; each op lives in its own file in this folder.
export { covariancePool, type CovariancePoolOptions, type CovarianceNormalization } from "./covariancePool.js";
export { grassmannPool, grassmannCompactPool, type GrassmannPoolOptions } from "./grassmannPool.js";
export { spatialPyramidPool, type SpatialPyramidPoolOptions } from "./spatialPyramidPool.js";
export { roiPool, type RoiPoolOptions } from "./roiPool.js";
export { roiAlign, type RoiAlignOptions } from "./roiAlign.js";
