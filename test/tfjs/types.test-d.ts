/**
 * Type tests for poolkit/tfjs: compiled by `npm run typecheck` (`tsc -p tsconfig.test.json`, which CI
 * runs), never executed. Each `@ts-expect-error` line must be a compile error — if a type grows
 * loose again (e.g. back to `Record<string, unknown>` options or an index signature on `layers`), the
 * directive is unused, tsc reports TS2578 and the type check fails. The `expectTypeOf` lines pin the
 * derived types to the core's option types.
 */
import type * as tf from "@tensorflow/tfjs";
import { expectTypeOf } from "vitest";
import type { AvgPoolOptions, DetailPreservingPoolOptions, LpPoolOptions, SoftPoolOptions } from "../../src/index.js";
import {
  layerClasses,
  layers,
  ops,
  opsWithIndices,
  type CompactBilinearPoolLayer,
  type DetailPreservingPoolLayer,
  type LocalImportancePoolLayer,
  type PoolLayerConfig,
  type PoolkitPoolLayer,
  type TfOpOptions,
  type TfWithIndices,
} from "../../src/tfjs/index.js";

export function opTypes(x: tf.Tensor4D, t: tf.Tensor, r: tf.Tensor): void {
  // The core's options plus dataFormat.
  expectTypeOf(ops.softPool2d(x, { kernelSize: 2 })).toEqualTypeOf<tf.Tensor>();
  ops.softPool2d(x, { kernelSize: [2, 2], stride: 1, padding: 1, gradMode: "official", dataFormat: "channelsFirst" });
  // @ts-expect-error snake_case typo of kernelSize
  ops.softPool2d(x, { kernel_size: 2 });
  // @ts-expect-error kernelSize is required, as in the core op
  ops.softPool2d(x, {});
  // @ts-expect-error options are required, as in the core op
  ops.softPool2d(x);
  // @ts-expect-error a size is a number or one per axis
  ops.softPool2d(x, { kernelSize: "2" });
  // @ts-expect-error not one of gradMode's values
  ops.softPool2d(x, { kernelSize: 2, gradMode: "exactly" });
  // @ts-expect-error the layer's vocabulary is not the op's
  ops.softPool2d(x, { poolSize: 2 });
  // @ts-expect-error not a dataFormat
  ops.softPool2d(x, { kernelSize: 2, dataFormat: "NHWC" });
  // @ts-expect-error no such op: names are exact ("possibly undefined" before)
  ops.softpool2d(x, { kernelSize: 2 });
  // @ts-expect-error a poolkit-only option of another op
  ops.maxPool2d(x, { kernelSize: 2, countIncludePad: false });
  ops.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false, divisorOverride: 4 });

  // Further tensor inputs in the core op's positions.
  ops.localImportancePool2d(x, t, { kernelSize: 3, stride: 2, padding: 1 });
  // @ts-expect-error the logits are missing
  ops.localImportancePool2d(x, { kernelSize: 3 });
  ops.detailPreservingPool2d(x, t, t, { reward: "asymmetric" });
  ops.detailPreservingPool2d(x, t, t, t, { reward: "asymmetric" });
  ops.detailPreservingPool2d(x, t, t, null, { dataFormat: "channelsFirst" });
  // @ts-expect-error not one of reward's values
  ops.detailPreservingPool2d(x, t, t, { reward: "both" });
  ops.lowRankBilinearPool(x, x, t, t, t, null, null, null, { pooling: "mean", activation: "identity" });
  ops.bilinearPool(x, { pooling: "mean" });
  ops.bilinearPool(x, x, { signedSqrt: false });
  ops.globalAvgPool(x);
  ops.globalAvgPool(x, { dataFormat: "channelsFirst" });
  // @ts-expect-error global pooling has no options but dataFormat
  ops.globalAvgPool(x, { kernelSize: 2 });
  ops.dynamicPool2d(x, r, null, { dataFormat: "channelsLast" });
  // @ts-expect-error DynOPool has no options but dataFormat
  ops.dynamicPool2d(x, r, null, { ratio: 2 });
  ops.roiAlign(x, t, { outputSize: 7, spatialScale: 0.25, samplingRatio: 2, aligned: true });
  // @ts-expect-error roiAlign's outputSize is required
  ops.roiAlign(x, t, { spatialScale: 0.25 });

  // Index-returning ops.
  expectTypeOf(opsWithIndices.maxPool2dWithIndices(x, { kernelSize: 2 })).toEqualTypeOf<TfWithIndices>();
  // @ts-expect-error lowercase s
  opsWithIndices.maxPool2dWithIndices(x, { kernelsize: 2 });

  // The types are the core's, mapped: same keys, same value types.
  expectTypeOf<keyof TfOpOptions<"softPool2d">>().toEqualTypeOf<keyof SoftPoolOptions | "dataFormat">();
  expectTypeOf<TfOpOptions<"avgPool2d">["countIncludePad"]>().toEqualTypeOf<AvgPoolOptions["countIncludePad"]>();
}

export function layerTypes(): void {
  layers.softPool2d();
  layers.softPool2d({ poolSize: 2 });
  layers.softPool2d({ poolSize: [2, 2], strides: 2, padding: "same", gradMode: "official", dataFormat: "channelsLast", seed: 1, name: "pool", trainable: false, inputShape: [28, 28, 3] });
  // @ts-expect-error snake_case typo of poolSize
  layers.softPool2d({ pool_size: 2 });
  // @ts-expect-error the core's name: a layer says poolSize
  layers.softPool2d({ kernelSize: 2 });
  // @ts-expect-error the core's name: a layer says strides
  layers.softPool2d({ stride: 2 });
  // @ts-expect-error not a padding
  layers.softPool2d({ padding: "full" });
  // @ts-expect-error no such layer: names are exact
  layers.softpool2d({ poolSize: 2 });
  // @ts-expect-error training is decided by the call (model.fit), not the config
  layers.mixedPool2d({ training: true });
  // @ts-expect-error tensor-valued draws are op options only
  layers.fractionalMaxPool2d({ samples: undefined });
  // @ts-expect-error RoI pooling is an op only
  void layers.roiAlign;
  layers.lpPool2d({ poolSize: 2, padding: "valid", normType: 3 });
  // Per-side padding flows from the core's SlidingPadding into the layer configs.
  layers.lpPool2d({ poolSize: 3, padding: [[0, 2], [1, 1]], normType: 2 });
  layers.maxPool2d({ poolSize: 3, padding: [[2, 0], [0, 2]] });
  layers.localImportancePool2d({ padding: [[0, 1], [1, 0]] });
  // @ts-expect-error a padding pair has two entries
  layers.maxPool2d({ padding: [[0, 1, 2], [0, 1]] });
  // @ts-expect-error LIP is 2-d: two pairs, not three
  layers.localImportancePool2d({ padding: [[0, 1], [1, 0], [1, 1]] });
  // @ts-expect-error stochastic pooling has no padding: "valid" only
  layers.stochasticPool2d({ padding: 1 });
  layers.adaptiveAvgPool2d({ outputSize: [7, 7] });
  // @ts-expect-error adaptive pooling has no pool size
  layers.adaptiveAvgPool2d({ poolSize: 2 });
  layers.detailPreservingPool2d({ poolSize: 2, strides: [2, 2], padding: "valid", variant: "full", reward: "asymmetric" });
  // @ts-expect-error DPP pools 2×2 blocks only
  layers.detailPreservingPool2d({ poolSize: 3 });
  // @ts-expect-error not a DPP variant
  layers.detailPreservingPool2d({ variant: "half" });
  new layerClasses.softPool2d({ poolSize: 2 });
  // @ts-expect-error snake_case typo, on the class too
  new layerClasses.softPool2d({ kernel_size: 2 });

  // Each factory returns its layer class.
  expectTypeOf(layers.detailPreservingPool2d()).toEqualTypeOf<DetailPreservingPoolLayer>();
  expectTypeOf(layers.localImportancePool2d()).toEqualTypeOf<LocalImportancePoolLayer>();
  expectTypeOf(layers.compactBilinearPool()).toEqualTypeOf<CompactBilinearPoolLayer>();
  expectTypeOf(layers.softPool2d()).toEqualTypeOf<PoolkitPoolLayer>();

  // The layer's options are the core's, renamed: same value types.
  expectTypeOf<NonNullable<PoolLayerConfig<"softPool2d">["poolSize"]>>().toEqualTypeOf<SoftPoolOptions["kernelSize"]>();
  expectTypeOf<PoolLayerConfig<"softPool2d">["gradMode"]>().toEqualTypeOf<SoftPoolOptions["gradMode"]>();
  expectTypeOf<PoolLayerConfig<"lpPool2d">["normType"]>().toEqualTypeOf<LpPoolOptions["normType"] | undefined>();
  expectTypeOf<PoolLayerConfig<"detailPreservingPool2d">["reward"]>().toEqualTypeOf<DetailPreservingPoolOptions["reward"]>();
}
