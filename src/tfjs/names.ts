/**
 * The names of `ops`, `opsWithIndices` and `layers`, as types, so `ops.softPool2d(...)` type-checks
 * without a non-null assertion. They mirror the registry's exports; test/tfjs/names.test.ts fails
 * when the registry and these lists drift apart.
 */
export const TF_OP_NAMES = [
  "maxPool1d", "maxPool2d", "maxPool3d", "avgPool1d", "avgPool2d", "avgPool3d",
  "lpPool1d", "lpPool2d", "lpPool3d", "maxUnpool1d", "maxUnpool2d", "maxUnpool3d",
  "globalAvgPool", "globalMaxPool",
  "adaptiveAvgPool1d", "adaptiveAvgPool2d", "adaptiveAvgPool3d", "adaptiveMaxPool1d", "adaptiveMaxPool2d", "adaptiveMaxPool3d",
  "fractionalMaxPool2d", "fractionalMaxPool3d",
  "mixedPool2d", "learnedMixPool2d", "gatedMixPool2d", "treePool2d", "stochasticPool2d", "s3Pool2d",
  "softPool1d", "softPool2d", "softPool3d", "localImportancePool2d", "detailPreservingPool2d", "dynamicPool2d",
  "covariancePool", "grassmannPool", "grassmannCompactPool", "spatialPyramidPool", "roiPool", "roiAlign",
  "bilinearPool", "compactBilinearPool", "lowRankBilinearPool",
] as const;

export type TfOpName = (typeof TF_OP_NAMES)[number];

/** Ops whose core twin has a `WithIndices` variant. */
export const TF_OP_WITH_INDICES_NAMES = [
  "maxPool1dWithIndices", "maxPool2dWithIndices", "maxPool3dWithIndices",
  "adaptiveMaxPool1dWithIndices", "adaptiveMaxPool2dWithIndices", "adaptiveMaxPool3dWithIndices",
  "fractionalMaxPool2dWithIndices", "fractionalMaxPool3dWithIndices", "stochasticPool2dWithIndices",
] as const;

export type TfOpWithIndicesName = (typeof TF_OP_WITH_INDICES_NAMES)[number];

/** Every op except RoIPool and RoIAlign, whose boxes are not a batch-aligned input, has a layer. */
export type TfLayerName = Exclude<TfOpName, "roiPool" | "roiAlign">;

export const TF_LAYER_NAMES: readonly TfLayerName[] = TF_OP_NAMES.filter(
  (n): n is TfLayerName => n !== "roiPool" && n !== "roiAlign",
);
