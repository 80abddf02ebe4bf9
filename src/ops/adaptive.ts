// Barrel of the adaptive ops; each op lives in its own file in this folder.
export {
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  adaptiveAvgPool3d,
  adaptiveMaxPool1d,
  adaptiveMaxPool2d,
  adaptiveMaxPool3d,
  adaptiveMaxPool1dWithIndices,
  adaptiveMaxPool2dWithIndices,
  adaptiveMaxPool3dWithIndices,
  type AdaptivePoolOptions,
} from "./adaptivePool.js";
export {
  fractionalMaxPool2d,
  fractionalMaxPool3d,
  fractionalMaxPool2dWithIndices,
  fractionalMaxPool3dWithIndices,
  type FractionalMaxPoolOptions,
  type FractionalMaxPoolResult,
} from "./fractionalMaxPool.js";
