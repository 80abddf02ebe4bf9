/**
 * poolkit/tfjs — every poolkit method as a TensorFlow.js op (exact gradient via `tf.customGrad`) and
 * as a trainable, serialisable `tf.layers` layer. The only part of poolkit that imports TensorFlow.js
 * (`@tensorflow/tfjs-core` and `@tensorflow/tfjs-layers`, peer dependencies).
 *
 * Ops and layers run on the CPU through poolkit's own kernels: inputs are read with `dataSync()`,
 * whatever the active backend (cpu, wasm, webgl), and the results uploaded back.
 *
 * @example
 * import * as tf from "@tensorflow/tfjs";
 * import { ops, layers } from "poolkit/tfjs";
 * const y = ops.softPool2d(tf.randomNormal([1, 8, 8, 3]), { kernelSize: 2 }); // [1, 4, 4, 3]
 * const layer = layers.softPool2d({ poolSize: 2 });
 */
export {
  ops,
  opsWithIndices,
  createOps,
  createOpsWithIndices,
  makeTfOp,
  makeTfOpWithIndices,
  type TfOps,
  type TfOpsWithIndices,
  type TfPoolOp,
  type TfPoolOpWithIndices,
  type AnyTfPoolOp,
  type AnyTfPoolOpWithIndices,
  type AnyTfOpOptions,
  type TfOpArg,
  type TfOpInfo,
  type TfWithIndices,
} from "./ops.js";
export {
  layers,
  layerClasses,
  findLayerClass,
  createLayerClasses,
  createLayerFactories,
  PoolkitPoolLayer,
  LocalImportancePoolLayer,
  CompactBilinearPoolLayer,
  DetailPreservingPoolLayer,
  type TfLayers,
  type TfLayerClasses,
  type PoolLayerClass,
  type PoolLayerOf,
  type AnyPoolLayerClass,
} from "./layers.js";
export type {
  CoreOptions,
  TfOpOptions,
  TfLayoutOption,
  PoolLayerConfig,
  PoolLayerCommonOptions,
  DetailPreservingLayerOptions,
  AnyPoolLayerConfig,
  BaseLayerArgs,
} from "./options.js";
export { TF_OP_NAMES, TF_OP_WITH_INDICES_NAMES, TF_LAYER_NAMES, type TfOpName, type TfOpWithIndicesName, type TfLayerName } from "./names.js";
export { toChannelsFirst, toChannelsLast, type DataFormat } from "./convert.js";
