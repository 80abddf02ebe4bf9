/**
 * The exporter's method table: an emitter for every registry method standard ONNX can express, and
 * the reason for every one it cannot. test/onnx/registry.test.ts checks that every method of
 * `listPools()` is in exactly one of the two.
 */
import { WINDOWED_EMITTERS, type Emitter } from "./emitters.js";
import { LEARNED_EMITTERS } from "./learned.js";
import { SECOND_ORDER_EMITTERS } from "./secondOrder.js";

/** Emitters by registry method name. */
export const EMITTERS: Readonly<Record<string, Emitter>> = { ...WINDOWED_EMITTERS, ...LEARNED_EMITTERS, ...SECOND_ORDER_EMITTERS };

const SVD =
  "it needs the top-k singular vectors of each feature matrix (an SVD / eigendecomposition), which standard ONNX has no operator for";

/** Methods standard ONNX cannot express at all, with the reason `toOnnx` gives. */
export const NOT_EXPRESSIBLE: Readonly<Record<string, string>> = {
  Grassmann: SVD,
  GrassmannCompact: SVD,
};
