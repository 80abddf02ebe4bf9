/**
 * The option types of poolkit/tfjs's ops and layers, derived from the core ops' own signatures, and
 * the one runtime table of option names the layers and ops check configs against.
 *
 * Types: `TfOpOptions<"softPool2d">` is the core's `SoftPoolOptions` plus `dataFormat`;
 * `PoolLayerConfig<"softPool2d">` is the same options in TensorFlow.js's layer vocabulary
 * (`kernelSize` → `poolSize`, `stride` → `strides`, `padding` also `"valid"` / `"same"`), all
 * optional (the registry's defaults fill the rest), plus `dataFormat`, `seed` and tf.layers' own
 * arguments (`name`, `inputShape`, ...). Both are mapped types over the core op's parameter types,
 * so an option added to a core op appears here, and a typo (`pool_size`, `kernel_size`) is a
 * compile error.
 *
 * Runtime: types are gone at run time, so {@link CORE_OPTION_KINDS} names each core op's options.
 * It is not a second source of truth: the compiler checks it against the core's option types
 * (`_exact` below), so a missing, extra or misclassified key fails `tsc`.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type * as core from "../index.js";
import type { Tensor } from "../tensor/tensor.js";
import type { DataFormat } from "./convert.js";
import type { TfLayerName, TfOpName, TfOpWithIndicesName } from "./names.js";

/** A core op's parameter list, e.g. `[x: Tensor, opts: SoftPoolOptions]`. */
export type CoreArgs<N extends TfOpName | TfOpWithIndicesName> = Parameters<(typeof core)[N]>;

type Last<T extends readonly unknown[]> = T extends readonly [...unknown[], infer L] ? L : never;

/** Only the named options: drops index signatures (`GlobalPoolOptions` is `Record<string, never>`). */
type Named<O> = { [K in keyof O as string extends K ? never : number extends K ? never : K]: O[K] };

/** Flatten an intersection so hovers list the options themselves. */
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The core op's options object type (its last parameter, without tensors, null and undefined). */
export type CoreOptions<N extends TfOpName | TfOpWithIndicesName> = Named<Exclude<Last<Required<CoreArgs<N>>>, Tensor | null | undefined>>;

/** The options every tfjs op adds to its core op's. */
export interface TfLayoutOption {
  /**
   * `"channelsLast"` (default, TensorFlow.js's `[N, ...S, C]`) or `"channelsFirst"` (poolkit's
   * `[N, C, ...S]`, taken as is).
   */
  dataFormat?: DataFormat;
}

/** A tfjs op's options: the core op's options plus `dataFormat`. */
export type TfOptionsOf<O> = Simplify<Named<O> & TfLayoutOption>;

/** The options of `ops.<N>`, e.g. `TfOpOptions<"softPool2d">` = `SoftPoolOptions` + `dataFormat`. */
export type TfOpOptions<N extends TfOpName | TfOpWithIndicesName> = TfOptionsOf<CoreOptions<N>>;

/** One core argument type as the tfjs op takes it: poolkit Tensor → tf.Tensor, options + `dataFormat`. */
type TfArg<A> = A extends Tensor ? tf.Tensor : A extends null | undefined ? A : A extends object ? TfOptionsOf<A> : A;

/** A core op's parameter list as the tfjs op takes it (names and optional positions kept). */
export type TfArgs<P extends readonly unknown[]> = { [I in keyof P]: TfArg<P[I]> };

// ---------------------------------------------------------------------------------------------
// Which options hold tensors: per-call draws (`samples`, `uniforms`, `lambdas`, `rows`, `cols`) and
// compact bilinear's `params`. A tfjs op passes them to the core op unchanged (as poolkit Tensors);
// a layer cannot take them in its config (they belong to one batch and cannot be saved as JSON).

type HoldsTensor<V> = V extends Tensor
  ? true
  : V extends readonly unknown[]
    ? false
    : V extends object
      ? true extends { [K in keyof V]-?: [Extract<V[K], Tensor>] extends [never] ? false : true }[keyof V]
        ? true
        : false
      : false;

/** `"tensor"` for an option whose value is or holds a poolkit Tensor, `"value"` otherwise. */
export type OptionKind<V> = true extends HoldsTensor<V> ? "tensor" : "value";

/** Every option of a core options type with its kind. */
export type OptionKinds<O> = { readonly [K in keyof O]-?: OptionKind<O[K]> };

const sliding = { kernelSize: "value", stride: "value", padding: "value" } as const;
const maxKinds = { ...sliding, dilation: "value", ceilMode: "value" } as const;
const avgKinds = { ...sliding, ceilMode: "value", countIncludePad: "value", divisorOverride: "value" } as const;
const lpKinds = { normType: "value", kernelSize: "value", stride: "value", padding: "value", ceilMode: "value" } as const;
const unpoolKinds = { ...sliding, outputSize: "value" } as const;
const adaptiveKinds = { outputSize: "value" } as const;
const fractionalKinds = { kernelSize: "value", outputSize: "value", outputRatio: "value", samples: "tensor", seed: "value" } as const;
const softKinds = { ...sliding, gradMode: "value" } as const;
const generalizedKinds = { kernelSize: "value", stride: "value", sharing: "value" } as const;
const grassmannKinds = { k: "value", maxDim: "value" } as const;
const postKinds = { signedSqrt: "value", l2: "value", sqrtEps: "value", l2Eps: "value" } as const;

/**
 * Each core op's option names and whether they hold tensors, keyed by export name. Checked against
 * the core's option types by the compiler (see `_exact`); read at run time to speak the layer's
 * vocabulary in errors and to reject unknown options before the core op runs.
 */
export const CORE_OPTION_KINDS = {
  maxPool1d: maxKinds,
  maxPool2d: maxKinds,
  maxPool3d: maxKinds,
  avgPool1d: avgKinds,
  avgPool2d: avgKinds,
  avgPool3d: avgKinds,
  lpPool1d: lpKinds,
  lpPool2d: lpKinds,
  lpPool3d: lpKinds,
  maxUnpool1d: unpoolKinds,
  maxUnpool2d: unpoolKinds,
  maxUnpool3d: unpoolKinds,
  globalAvgPool: {},
  globalMaxPool: {},
  adaptiveAvgPool1d: adaptiveKinds,
  adaptiveAvgPool2d: adaptiveKinds,
  adaptiveAvgPool3d: adaptiveKinds,
  adaptiveMaxPool1d: adaptiveKinds,
  adaptiveMaxPool2d: adaptiveKinds,
  adaptiveMaxPool3d: adaptiveKinds,
  fractionalMaxPool2d: fractionalKinds,
  fractionalMaxPool3d: fractionalKinds,
  mixedPool2d: {
    ...sliding, ceilMode: "value", countIncludePad: "value", training: "value", seed: "value",
    granularity: "value", evalMode: "value", maxFrequency: "value", lambdas: "tensor",
  },
  learnedMixPool2d: { ...generalizedKinds, mixing: "value" },
  gatedMixPool2d: generalizedKinds,
  treePool2d: generalizedKinds,
  stochasticPool2d: { kernelSize: "value", stride: "value", training: "value", seed: "value", uniforms: "tensor" },
  s3Pool2d: { kernelSize: "value", gridSize: "value", stride: "value", training: "value", seed: "value", rows: "tensor", cols: "tensor" },
  softPool1d: softKinds,
  softPool2d: softKinds,
  softPool3d: softKinds,
  localImportancePool2d: sliding,
  detailPreservingPool2d: { reward: "value" },
  dynamicPool2d: {},
  covariancePool: { normalization: "value", eps: "value", iterations: "value", output: "value", maxDim: "value" },
  grassmannPool: grassmannKinds,
  grassmannCompactPool: grassmannKinds,
  spatialPyramidPool: { levels: "value", mode: "value" },
  roiPool: { outputSize: "value", spatialScale: "value" },
  roiAlign: { outputSize: "value", spatialScale: "value", samplingRatio: "value", aligned: "value" },
  bilinearPool: { pooling: "value", ...postKinds },
  compactBilinearPool: { outputDim: "value", method: "value", seed: "value", params: "tensor", sumPool: "value", ...postKinds },
  lowRankBilinearPool: { pooling: "value", activation: "value", rank: "value", outputDim: "value" },
} as const;

// Compile-time proof that the table is exactly the core's options: same keys, same kinds, for every
// op and every `WithIndices` twin (whose options are its op's). A drift is a type error here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type BaseName<N extends string> = N extends `${infer B}WithIndices` ? B : N;
type TableOf<N extends string> = BaseName<N> extends keyof typeof CORE_OPTION_KINDS ? (typeof CORE_OPTION_KINDS)[BaseName<N>] : never;
const _exact: { [N in TfOpName | TfOpWithIndicesName]: Same<TableOf<N>, OptionKinds<CoreOptions<N>>> } = null as unknown as {
  [N in TfOpName | TfOpWithIndicesName]: true;
};
void _exact;

/** The table entry of an op (or its `WithIndices` twin), if poolkit's registry has it. */
export function coreOptionKinds(opName: string): Readonly<Record<string, "value" | "tensor">> | undefined {
  const base = opName.replace(/WithIndices$/, "");
  return Object.hasOwn(CORE_OPTION_KINDS, base) ? (CORE_OPTION_KINDS as Readonly<Record<string, Readonly<Record<string, "value" | "tensor">>>>)[base] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Layers.

/** tf.layers' own constructor arguments that the pooling layers take (`tf.layers.Layer`'s `LayerArgs`). */
export type BaseLayerArgs = Pick<
  NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>,
  "name" | "trainable" | "inputShape" | "batchInputShape" | "batchSize" | "dtype" | "weights" | "inputDType"
>;

/** Options the layer decides itself: `training` comes from the call (`model.fit`), `seed` is the layer's own. */
type LayerDecided = "training" | "seed";
/** Core options the layer renames (TensorFlow.js's names) or extends (`padding: "same"`). */
type Renamed = "kernelSize" | "stride" | "padding";

/** The core options a layer passes through under their own names (all optional: registry defaults fill in). */
type PassedThrough<O> = {
  [K in keyof O as K extends Renamed | LayerDecided ? never : OptionKind<O[K]> extends "tensor" ? never : K]+?: O[K];
};

type Defined<O, K extends string> = K extends keyof O ? Exclude<O[K], undefined> : never;

interface PoolSizeOption<S> {
  /** The pooling window (the core op's `kernelSize`): a number or one per spatial axis. */
  poolSize?: S;
}
interface StridesOption<S> {
  /** The step between windows (the core op's `stride`); defaults to `poolSize`. */
  strides?: S;
}
interface PaddingOption<P> {
  /**
   * `"valid"` (no padding), `"same"` (output size ⌈in / strides⌉, TensorFlow's placement, through
   * per-side padding; averages then exclude the padding, as TensorFlow's) or the core op's `padding`
   * (symmetric numbers or per-side `[before, after]` pairs).
   */
  padding?: "valid" | "same" | P;
}
interface ValidPaddingOption {
  /** `"valid"` only: this method has no padding. */
  padding?: "valid";
}

/** The sliding-window options in TensorFlow.js's vocabulary, for the core options that exist. */
type SlidingLayerOptions<O> = ("kernelSize" extends keyof O ? PoolSizeOption<Defined<O, "kernelSize">> : unknown) &
  ("stride" extends keyof O ? StridesOption<Defined<O, "stride">> : unknown) &
  ("padding" extends keyof O ? PaddingOption<Defined<O, "padding">> : "kernelSize" extends keyof O ? ValidPaddingOption : unknown);

/** Options every poolkit layer takes. */
export interface PoolLayerCommonOptions {
  /** `"channelsLast"` (default, `[N, ...S, C]`) or `"channelsFirst"` (`[N, C, ...S]`). */
  dataFormat?: DataFormat;
  /** Seeds the layer's generator: initial values of learnable inputs and the draws of random methods. */
  seed?: number;
}

/** Detail-preserving pooling's layer options (beyond the op's `reward`). */
export interface DetailPreservingLayerOptions {
  /** `"lite"` (default): 2×2 box-filter guidance; `"full"`: a learned depthwise 3×3 guidance filter. */
  variant?: "lite" | "full";
  /** DPP pools fixed, non-overlapping 2×2 blocks: 2 (or `[2, 2]`) is the only pool size. */
  poolSize?: 2 | readonly [2, 2];
  /** 2 (or `[2, 2]`), the only stride of DPP's 2×2 blocks. */
  strides?: 2 | readonly [2, 2];
  /** `"valid"` only: DPP pools even-sized inputs without padding. */
  padding?: "valid";
}

/** Options a layer class adds to what it derives from its core op. */
type LayerExtras<N extends TfLayerName> = N extends "detailPreservingPool2d" ? DetailPreservingLayerOptions : unknown;

/**
 * The config of `layers.<N>(config)`: the core op's options in TensorFlow.js's layer vocabulary
 * (`poolSize`, `strides`, `padding` including `"valid"` / `"same"`; the method's other options under
 * their own names; tensor-valued and per-call options left out), all optional, plus `dataFormat`,
 * `seed` and tf.layers' own arguments.
 */
export type PoolLayerConfig<N extends TfLayerName> = Simplify<
  SlidingLayerOptions<CoreOptions<N>> & PassedThrough<CoreOptions<N>> & LayerExtras<N> & PoolLayerCommonOptions & BaseLayerArgs
>;

/** Any layer's config, for code that builds layers by a name known only at run time. */
export type AnyPoolLayerConfig = { readonly [option: string]: unknown };

/** tf.layers' own argument names (handled by `tf.layers.Layer`). */
export const LAYER_ARG_KEYS = ["name", "trainable", "inputShape", "batchInputShape", "batchSize", "dtype", "weights", "inputDType"] as const;
const _layerArgKeys: Same<(typeof LAYER_ARG_KEYS)[number], keyof BaseLayerArgs> = true;
void _layerArgKeys;

/** The layer's name for a core option (`kernelSize` → `poolSize`, `stride` → `strides`). */
export const LAYER_NAME_OF: Readonly<Record<string, string>> = { kernelSize: "poolSize", stride: "strides" };

/**
 * The option names of a layer over core op `opName` with the table entry `kinds`, in the layer's
 * vocabulary: pool size, strides, padding first, then the method's own options, then `dataFormat`
 * and `seed` (tf.layers' own arguments are not listed).
 */
export function layerOptionNames(kinds: Readonly<Record<string, "value" | "tensor">>): string[] {
  const sliding: string[] = [];
  const own: string[] = [];
  for (const [k, kind] of Object.entries(kinds)) {
    if (kind === "tensor" || k === "training" || k === "seed") continue;
    if (k === "kernelSize" || k === "stride" || k === "padding") sliding.push(LAYER_NAME_OF[k] ?? k);
    else own.push(k);
  }
  if ("kernelSize" in kinds && !("padding" in kinds)) sliding.push("padding");
  const order = ["poolSize", "strides", "padding"];
  sliding.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  return [...sliding, ...own, "dataFormat", "seed"];
}
