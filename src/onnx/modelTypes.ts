/**
 * The structural view of a TensorFlow.js `tf.LayersModel` that {@link exportModel} reads, and the
 * layout bookkeeping of the values it writes. poolkit/onnx never imports TensorFlow.js: a model is
 * read through these few properties (the same ones every tfjs 4.x `LayersModel`, `Sequential` and
 * `Layer` has), so users of poolkit/onnx who export pooling methods alone do not load tfjs.
 */
import type { Graph } from "./graph.js";
import type { HostTensor } from "./emitters.js";

/** A `tf.SymbolicTensor`: one tensor of the model's graph, shape with `null` for the batch. */
export interface SymbolicTensorLike {
  readonly id: number;
  readonly name: string;
  readonly shape: readonly (number | null)[];
  readonly dtype: string;
  readonly sourceLayer: { readonly name: string };
}

/** A call of a layer in a model's graph (tfjs-layers' `Node`). */
export interface LayerNodeLike {
  readonly inputTensors: readonly SymbolicTensorLike[];
  readonly outputTensors: readonly SymbolicTensorLike[];
}

/** A `tf.layers.LayerVariable`. */
export interface LayerVariableLike {
  /** `"<layer name>/<weight name>"`. */
  readonly originalName: string;
  read(): { dataSync(): ArrayLike<number>; readonly dtype: string; readonly shape: readonly number[] };
}

/** A `tf.layers.Layer`. */
export interface LayerLike {
  readonly name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  readonly weights: readonly LayerVariableLike[];
  readonly inboundNodes: readonly LayerNodeLike[];
}

/** A `tf.LayersModel` (functional) or `tf.Sequential`. */
export interface LayersModelLike {
  readonly name: string;
  readonly layers: readonly LayerLike[];
  readonly inputs: readonly SymbolicTensorLike[];
  readonly outputs: readonly SymbolicTensorLike[];
}

/**
 * How an ONNX value holds a tfjs tensor T:
 * - `tf`: exactly T (same shape, same order);
 * - `cf`: T of rank ≥ 3 with its last axis (channels) moved to axis 1: `[N, ...S, C]` → `[N, C, ...S]`,
 *   which is what ONNX's Conv / pooling operators take;
 * - `cfflat`: T = flatten of a channels-last `[N, ...S, C]` map (rank 2), held as the flatten of its
 *   channels-first form `[N, C, ...S]` — feature `c·|S| + s` of the value is feature `s·C + c` of T.
 */
export type Layout = { readonly kind: "tf" } | { readonly kind: "cf" } | { readonly kind: "cfflat"; readonly spatial: readonly number[]; readonly c: number };

/** One tfjs tensor in the ONNX graph. */
export interface Value {
  /** ONNX value name. */
  readonly name: string;
  readonly layout: Layout;
  /** The tfjs tensor's static shape (batch included). */
  readonly tfShape: readonly number[];
  readonly type: "float32" | "int32";
  /** Conversions already written (one Transpose per value, however many layers read it). */
  readonly memo: { tf?: Value; cf?: Value };
}

/** What a layer converter gets. */
export interface LayerContext {
  readonly g: Graph;
  readonly layer: LayerLike;
  readonly className: string;
  readonly config: Record<string, unknown>;
  readonly inputs: readonly Value[];
  /** The tfjs shapes of the call's outputs (batch included; null where tfjs does not know a size, e.g. Reshape's −1). */
  readonly outShapes: readonly (readonly (number | null)[])[];
  /** The layer's weights by name (the part of `originalName` after the last "/"). */
  readonly weights: ReadonlyMap<string, HostTensor & { readonly dtype: string }>;
  /** Prefix for initializer names: `"<layer name>/"` (`"<layer name>_<k>/"` for the k-th call of a shared layer). */
  readonly prefix: string;
}

/** A layer converter: the values of the call's outputs. */
export type LayerConverter = (ctx: LayerContext) => Value[];
