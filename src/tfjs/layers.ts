/**
 * Every registry method as a trainable, serialisable TensorFlow.js layer.
 *
 * `layers.<exportName>(config)` (e.g. `layers.softPool2d({ poolSize: 2 })`) builds a
 * `tf.layers.Layer` subclass registered with `tf.serialization.registerClass` under the class name
 * `Poolkit>SoftPool2d`, so `model.save` / `tf.loadLayersModel` round-trip once `poolkit/tfjs` is imported.
 *
 * Config (TensorFlow.js style, mapped onto poolkit's PyTorch-style options; typed per layer as
 * {@link PoolLayerConfig}, derived from the core op's option type):
 * - `poolSize` → `kernelSize`, `strides` → `stride` (defaulting to `poolSize`, as in both libraries),
 *   for the methods whose op has them. The layer speaks only these names: its errors say `poolSize`
 *   and `strides`, and the core's `kernelSize` / `stride` in a config are unknown options.
 * - `padding`: `"valid"` (= 0), a number / one number per axis (PyTorch's symmetric padding), one
 *   `[before, after]` pair per axis (poolkit's per-side padding), or `"same"`; only `"valid"` for
 *   windowed methods whose op has no padding. `"same"` (output size ⌈in / stride⌉, TensorFlow's extra
 *   padding on the bottom/right) becomes per-side padding for the actual input size — total
 *   `max((⌈in/s⌉ − 1)·s + k − in, 0)`, `⌊total / 2⌋` before, the rest after — which places every
 *   window exactly where TensorFlow places it, for every pool size and stride (with `ceilMode` off;
 *   `ceilMode: true` and dilation are errors with "same"). Methods with `countIncludePad` (average,
 *   mixed) exclude the padding from the divisor under "same", as TensorFlow's average does, unless
 *   the config sets `countIncludePad`; other padded positions follow the method's own semantics.
 * - `dataFormat`: `"channelsLast"` (default) or `"channelsFirst"`.
 * - `seed`: seeds the layer's generator (initial values of learnable inputs, and the draws of random
 *   methods); without it the layer draws from poolkit's global generator (`manualSeed`).
 * - every other key is the method's own option (`normType`, `countIncludePad`, `gridSize`, ...),
 *   passed to the op unchanged. Tensor-valued options (fixed draws such as `samples`, compact bilinear's
 *   `params`) and `training` are not layer options. An unknown key is an error when the layer is
 *   constructed, listing the layer's options.
 * - options the config does not set come from the registry descriptor's `defaults`; when the config
 *   sets the pool size, the default stride and padding are dropped (they belong to the default size).
 *
 * Output shapes (`computeOutputShape`) come from the descriptor's `outputShape`, i.e. poolkit's
 * geometry — never a second formula.
 *
 * Learnable inputs of the op (mixing α, gate masks, tree filters v₁/v₂/ω, DPP's θ_α/θ_λ, DynOPool's r
 * and δ, Grassmann and low-rank bilinear projections, ...) are the layer's trainable weights
 * (`addWeight`, named after the input), initialised from the descriptor's `inputs[].init` with the
 * layer's generator. Special cases, each documented on its class:
 * - local importance pooling computes its logits with the SimplifiedLIP module ({@link LocalImportancePoolLayer});
 * - DPP's `variant: "full"` adds the learned guidance filter ({@link DetailPreservingPoolLayer});
 * - compact bilinear pooling keeps its random hashes / projections as non-trainable int32 weights
 *   ({@link CompactBilinearPoolLayer});
 * - learned mixing projects α onto [0, 1] before use (projected gradient descent, the op's "clamped" mode);
 * - DynOPool's `computeOutputShape` follows the current r. Its output size changes only when round(H/r)
 *   does; a following Flatten → Dense cannot follow such a change, so put global pooling after it if r
 *   is meant to move far.
 * Further data inputs batched like x (a second bilinear stream `b` / `y`, max-unpool `indices`) are
 * further layer inputs: call the layer on `[x, ...inputs]` in the op's order (bilinear's `b` is
 * optional). RoI pooling / RoIAlign are ops only: their boxes `[K, 5]` and outputs `[K, C, oh, ow]`
 * are batched by box, which a tf.layers model cannot express.
 *
 * Random methods draw only when called with `training: true` (as `model.fit` does), a fresh seed per
 * call from the layer's generator; in `predict` / `evaluate` they run with `training: false` (their
 * eval mode) and a fixed seed (the config's `seed`, else 0) — fixed for methods that stay random in
 * eval, like fractional max pooling — so inference is deterministic.
 */
import type { TfLayerName } from "./names.js";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { isPlainObject, kindOf } from "../check.js";
import type { Initializer } from "@tensorflow/tfjs-layers/dist/initializers.js";
import { coreOptionKinds, LAYER_ARG_KEYS, LAYER_NAME_OF, layerOptionNames, type AnyPoolLayerConfig, type PoolLayerConfig } from "./options.js";
import { listPools, type InputSpec, type PoolMethod } from "../registry.js";
import { Generator, generatorFor } from "../tensor/random.js";
import { Tensor, tensor } from "../tensor/tensor.js";
import { compactBilinearParams } from "../ops/compactBilinearPool.js";
import { parseDataFormat, shapeToFirst, shapeToLast, type DataFormat } from "./convert.js";
import { createOps, ops, type AnyTfPoolOp } from "./ops.js";
import * as poolkit from "../index.js";

type Shape = (number | null)[];
type Kwargs = Record<string, unknown>;

/** Options that exclude each other: setting one in the config drops the defaults of the others. */
const ALTERNATIVES: readonly (readonly string[])[] = [["outputSize", "outputRatio"]];

/** Values the spatial axes of an unknown-size input are probed with; dims that change are unknown. */
const PROBE_SIZES = [64, 96] as const;

function layerArgsOf(config: Record<string, unknown>): { layerArgs: Record<string, unknown>; poolConfig: Record<string, unknown> } {
  const layerArgs: Record<string, unknown> = {};
  const poolConfig: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    // tf.loadLayersModel passes `customObjects` inside the config given to the constructor.
    if (k === "customObjects") continue;
    if ((LAYER_ARG_KEYS as readonly string[]).includes(k)) layerArgs[k] = v;
    else poolConfig[k] = v;
  }
  return { layerArgs, poolConfig };
}

function perAxis(v: unknown, rank: number): number[] | undefined {
  if (typeof v === "number") return new Array<number>(rank).fill(v);
  if (Array.isArray(v) && v.length === rank && v.every((e) => typeof e === "number")) return v as number[];
  return undefined;
}

function dependsOnBatch(spec: InputSpec, cfShape: readonly number[], options: Record<string, unknown>): boolean {
  try {
    const a = spec.shape([1, ...cfShape.slice(1)], options);
    const b = spec.shape([3, ...cfShape.slice(1)], options);
    return a.length !== b.length || a.some((d, i) => d !== b[i]);
  } catch {
    return true;
  }
}

const nameCounts = new Map<string, number>();

/** `softPool2d` → `soft_pool2d_1`, `soft_pool2d_2`, ... (unique in this process, like tf.layers' names). */
function defaultLayerName(exportName: string): string {
  const base = exportName.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
  const n = (nameCounts.get(base) ?? 0) + 1;
  nameCounts.set(base, n);
  return `${base}_${n}`;
}

/** Is this input a feature map batched like x (`[N, ...]` of x's rank)? */
function isFeatureMapSpec(spec: InputSpec, cfShape: readonly number[], options: Record<string, unknown>): boolean {
  try {
    return [2, 3].every((n) => {
      const s = spec.shape([n, ...cfShape.slice(1)], options);
      return s.length === cfShape.length && s[0] === n;
    });
  } catch {
    return false;
  }
}

/** Initialiser returning fixed values (the descriptor's seeded init), for `addWeight`. */
function valuesInitializer(values: ArrayLike<number>, dtype: "float32" | "int32"): Initializer {
  const init = {
    apply: (shape: number[]) => tf.tensor(dtype === "int32" ? Int32Array.from(values) : Float32Array.from(values), shape, dtype),
    getConfig: () => ({}),
    getClassName: () => "PoolkitValues",
  };
  return init as unknown as Initializer;
}

/**
 * The generic pooling layer over one registry method at one spatial rank. Use the per-method classes
 * made by {@link layers} (`layers.softPool2d(...)`), which fix the method and register for serialisation.
 */
export class PoolkitPoolLayer extends tfl.layers.Layer {
  static className = "Poolkit>PoolLayer";
  readonly method: PoolMethod;
  readonly rank: 1 | 2 | 3;
  readonly exportName: string;
  readonly dataFormat: DataFormat;
  protected readonly op: AnyTfPoolOp;
  /** The core op's option names and kinds (undefined for a method outside poolkit's registry). */
  protected readonly coreKinds: Readonly<Record<string, "value" | "tensor">> | undefined;
  /** The config as given (minus tf.layers' own arguments): what `getConfig` returns. */
  protected readonly poolConfig: Record<string, unknown>;
  protected readonly seed: number | undefined;
  protected generator: Generator | undefined;
  /** Weights standing for the op's tensor inputs, by input name. */
  protected readonly inputWeights = new Map<string, tfl.LayerVariable>();

  constructor(method: PoolMethod, rank: 1 | 2 | 3, op: AnyTfPoolOp, config: AnyPoolLayerConfig = {}) {
    const name = op.opName;
    if (!isPlainObject(config)) throw new PoolkitTypeError(name, `layer config must be a plain object, got ${kindOf(config)}`);
    const { layerArgs, poolConfig } = layerArgsOf(config);
    // tf.layers derives default names from the class name, whose ">" is not valid in a tensor name.
    if (layerArgs.name === undefined) layerArgs.name = defaultLayerName(name);
    super(layerArgs as ConstructorParameters<typeof tfl.layers.Layer>[0]);
    this.method = method;
    this.rank = rank;
    this.exportName = name;
    this.op = op;
    this.poolConfig = poolConfig;
    // The table describes poolkit's own ops: a custom method reusing a name keeps its op's own checks.
    this.coreKinds = method.ops[rank] !== undefined && (poolkit as Readonly<Record<string, unknown>>)[name] === method.ops[rank] ? coreOptionKinds(name) : undefined;
    if ("training" in poolConfig) {
      throw new PoolkitTypeError(name, `training is not a layer option: the layer samples when called with training: true (model.fit) and not in predict`);
    }
    this.checkOptionNames();
    this.dataFormat = parseDataFormat(name, poolConfig.dataFormat);
    if (poolConfig.poolSize !== undefined && poolConfig.kernelSize !== undefined) {
      throw new PoolkitTypeError(name, `give poolSize or kernelSize, not both (got poolSize ${show(poolConfig.poolSize)} and kernelSize ${show(poolConfig.kernelSize)})`);
    }
    if (poolConfig.strides !== undefined && poolConfig.stride !== undefined) {
      throw new PoolkitTypeError(name, `give strides or stride, not both (got strides ${show(poolConfig.strides)} and stride ${show(poolConfig.stride)})`);
    }
    const seed = poolConfig.seed;
    if (seed !== undefined && (typeof seed !== "number" || !Number.isSafeInteger(seed))) {
      throw new PoolkitRangeError(name, `seed must be a safe integer, got ${show(seed)}`);
    }
    this.seed = seed;
    const p = poolConfig.padding;
    if (p !== undefined && !this.coreHas("padding") && p !== "valid") {
      throw new PoolkitRangeError(name, `padding must be "valid" (${name} has no padding), got ${show(p)}`);
    }
    if (p !== undefined && typeof p === "string" && p !== "valid" && p !== "same") {
      throw new PoolkitRangeError(name, `padding must be "valid", "same", a number, one number per axis or one [before, after] pair per axis, got ${show(p)}`);
    }
  }

  /** Does the core op take this option? (Assumed for a method outside poolkit's registry.) */
  protected coreHas(option: string): boolean {
    return this.coreKinds === undefined || Object.hasOwn(this.coreKinds, option);
  }

  /**
   * The options this layer takes, in its own vocabulary (`poolSize`, `strides`, `padding`, the
   * method's options, `dataFormat`, `seed`; tf.layers' own arguments aside); undefined for a method
   * outside poolkit's registry, whose options the op checks.
   */
  optionNames(): string[] | undefined {
    return this.coreKinds ? layerOptionNames(this.coreKinds) : undefined;
  }

  /** Reject, at construction, a config key the layer does not know, listing the ones it does. */
  private checkOptionNames(): void {
    const known = this.optionNames();
    if (!known) return;
    for (const k of Object.keys(this.poolConfig)) {
      if (known.includes(k)) continue;
      const renamed = LAYER_NAME_OF[k];
      const hint =
        renamed !== undefined && known.includes(renamed)
          ? ` (a layer calls it ${renamed})`
          : this.coreKinds?.[k] === "tensor"
            ? ` (a tensor for one call: give it to ops.${this.exportName}, not to a layer)`
            : "";
      throw new PoolkitTypeError(
        this.exportName,
        `unknown layer option ${show(k)}${hint}; known options: ${known.join(", ")} (and tf.layers' ${LAYER_ARG_KEYS.join(", ")})`,
      );
    }
  }

  /**
   * Run `fn`, rewording errors of this layer's op into the layer's vocabulary: the core op validates
   * the options the layer mapped (`poolSize` → `kernelSize`, ...), and a user who wrote `poolSize`
   * should read `poolSize` in the message.
   */
  protected inLayerTerms<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw this.reworded(e);
    }
  }

  private reworded(e: unknown): unknown {
    if (!(e instanceof PoolkitTypeError || e instanceof PoolkitRangeError) || e.op !== this.exportName) return e;
    const known = this.optionNames();
    if (!known) return e;
    const prefix = `${e.op}: `;
    const detail = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    let worded = detail;
    for (const [coreName, layerName] of Object.entries(LAYER_NAME_OF)) {
      if (known.includes(layerName)) worded = worded.replace(new RegExp(`\\b${coreName}\\b`, "g"), layerName);
    }
    if (worded === detail) return e;
    const out = e instanceof PoolkitTypeError ? new PoolkitTypeError(e.op, worded) : new PoolkitRangeError(e.op, worded);
    out.stack = `${out.name}: ${out.message}\n${(e.stack ?? "").split("\n").slice(1).join("\n")}`;
    return out;
  }

  /** The layer's generator: seeded from `seed`, else poolkit's global generator. */
  protected gen(): Generator {
    if (this.seed === undefined) return generatorFor(undefined);
    this.generator ??= new Generator(this.seed);
    return this.generator;
  }

  /** Input shape → the feature map's shape in channels-first order (`[N, C, ...S]`). */
  protected featureShapeCF(inputShape: Shape | Shape[]): Shape {
    const first = (Array.isArray(inputShape[0]) || inputShape.length === 0 ? inputShape[0] : inputShape) as Shape | undefined;
    if (!first || !Array.isArray(first)) throw new PoolkitRangeError(this.exportName, `layer input shape is missing`);
    return this.dataFormat === "channelsLast" ? shapeToFirst(first) : first.slice();
  }

  /**
   * The core op's options for a channels-first input shape: descriptor defaults, the config mapped to
   * poolkit's names, and "same" padding resolved for the input's spatial size.
   */
  resolveOptions(cfShape: readonly number[]): Record<string, unknown> {
    const name = this.exportName;
    const { poolSize, strides, padding, dataFormat: _df, seed: _seed, ...own } = this.poolConfig;
    void _df;
    void _seed;
    const opts: Record<string, unknown> = {};
    const setsSize = (poolSize !== undefined && this.coreHas("kernelSize")) || own.kernelSize !== undefined;
    for (const [k, v] of Object.entries(this.method.defaults)) {
      if (k === "seed" || k === "training") continue;
      if (setsSize && (k === "stride" || k === "padding")) continue;
      // Alternatives: a configured outputSize replaces a default outputRatio and vice versa.
      if (ALTERNATIVES.some((group) => group.includes(k) && group.some((g) => g !== k && own[g] !== undefined))) continue;
      opts[k] = v;
    }
    Object.assign(opts, own);
    if (poolSize !== undefined && this.coreHas("kernelSize")) opts.kernelSize = poolSize;
    if (strides !== undefined && this.coreHas("stride")) opts.stride = strides;
    if (padding === "valid") {
      if (this.coreHas("padding")) opts.padding = 0;
    } else if (padding === "same") this.resolveSame(opts, cfShape);
    else if (padding !== undefined) opts.padding = padding;
    return opts;
  }

  /**
   * The spatial rank of an input: its rank − 2 when the method supports that rank (rank-generic
   * methods such as global pooling share one layer class over 1-d/2-d/3-d), else the class's rank.
   */
  protected spatialRankOf(cfShape: readonly unknown[]): 1 | 2 | 3 {
    const r = cfShape.length - 2;
    return r === 1 || r === 2 || r === 3 ? (this.method.dims.includes(r) ? r : this.rank) : this.rank;
  }

  /**
   * TensorFlow's "same" for the actual input size, as poolkit's per-side padding: output size
   * ⌈in / s⌉, total padding `max((⌈in/s⌉ − 1)·s + k − in, 0)`, `⌊total/2⌋` before and the rest after
   * (tfjs-core `conv_util.ts` `getPadAndOutInfo`). These pads are always valid per-side padding
   * (each is at most k − 1, and the last window starts inside the input), so every pool size and
   * stride works. The average of the methods with `countIncludePad` excludes the padding, as
   * TensorFlow's does, unless the config sets `countIncludePad`.
   */
  private resolveSame(opts: Record<string, unknown>, cfShape: readonly number[]): void {
    const name = this.exportName;
    const rank = this.spatialRankOf(cfShape);
    const spatial = cfShape.slice(cfShape.length - rank);
    const k = perAxis(opts.kernelSize, rank);
    const s = opts.stride === undefined || opts.stride === null ? k : perAxis(opts.stride, rank);
    if (!k || !s) {
      throw new PoolkitRangeError(name, `padding "same" needs a pool size and strides (a number or ${rank} numbers), got poolSize ${show(opts.kernelSize)} and strides ${show(opts.stride)}`);
    }
    if (opts.dilation !== undefined && perAxis(opts.dilation, rank)?.some((d) => d !== 1)) {
      throw new PoolkitRangeError(name, `padding "same" is not supported with dilation, got dilation ${show(opts.dilation)}`);
    }
    if (opts.ceilMode === true) {
      throw new PoolkitRangeError(name, `padding "same" fixes the output size at ⌈in / strides⌉; ceilMode must be false or absent, got ceilMode true`);
    }
    const pads: [number, number][] = [];
    for (let i = 0; i < rank; i++) {
      const inSize = spatial[i] as number;
      const si = s[i] as number;
      const out = Math.ceil(inSize / si);
      // TensorFlow (tfjs-core conv_util.ts getPadAndOutInfo): total = max((out − 1)·s + k − in, 0), top = ⌊total/2⌋.
      const total = Math.max((out - 1) * si + (k[i] as number) - inSize, 0);
      const before = Math.floor(total / 2);
      pads.push([before, total - before]);
    }
    // The number form where it is symmetric: ops with a numbers-only padding (max unpooling) keep working.
    opts.padding = pads.every(([b, a]) => b === a) ? pads.map(([b]) => b) : pads;
    if (this.coreHas("countIncludePad") && !Object.hasOwn(this.poolConfig, "countIncludePad")) opts.countIncludePad = false;
  }

  /** Is this input owned by the layer as a weight (trainable or not) rather than a layer input? */
  protected ownsInput(spec: InputSpec, cfShape: readonly number[], options: Record<string, unknown>): boolean {
    if (spec.role === "learnable") return true;
    return spec.role === "constant" && this.method.category !== "region" && !dependsOnBatch(spec, cfShape, options);
  }

  /** An input the layer computes itself (LIP's logits); `undefined` for the others. */
  protected computedInput(_spec: InputSpec, _x: tf.Tensor): tf.Tensor | undefined {
    return undefined;
  }

  protected isComputed(_spec: InputSpec): boolean {
    return false;
  }

  /**
   * How the layer supplies each of the op's tensor inputs for a channels-first input shape: as its own
   * weight, computed (LIP's logits), or as a further layer input.
   */
  inputKinds(cfShape: readonly (number | null)[]): { spec: InputSpec; kind: "weight" | "computed" | "input" }[] {
    const probe = cfShape.map((d, i) => (d === null ? (i === 0 ? 1 : (PROBE_SIZES[0] as number)) : d));
    const options = this.resolveOptions(probe);
    return this.method.inputs.map((spec) => ({
      spec,
      kind: this.isComputed(spec) ? "computed" : this.ownsInput(spec, probe, options) ? "weight" : "input",
    }));
  }

  override build(inputShape: Shape | Shape[]): void {
    this.inLayerTerms(() => this.buildWeights(inputShape));
  }

  private buildWeights(inputShape: Shape | Shape[]): void {
    const cf = this.featureShapeCF(inputShape);
    if (cf[1] === null) throw new PoolkitRangeError(this.exportName, `the channel dimension must be known, got input shape ${show(inputShape)}`);
    const probe = cf.map((d, i) => (d === null ? (i === 0 ? 1 : (PROBE_SIZES[0] as number)) : d));
    const options = this.resolveOptions(probe);
    for (const { spec, kind } of this.inputKinds(cf)) {
      if (kind !== "weight") continue;
      const shape = spec.shape([1, ...probe.slice(1)], options);
      const values = spec.init(shape, this.gen(), [1, ...probe.slice(1)], options);
      const dtype = spec.dtype === "int32" ? "int32" : "float32";
      const w = this.addWeight(spec.name, shape, dtype, valuesInitializer(values, dtype), undefined, spec.role === "learnable");
      this.inputWeights.set(spec.name, w);
    }
    this.buildExtra(cf, inputShape);
    this.built = true;
  }

  /** Extra weights (LIP's logit module). */
  protected buildExtra(_cfShape: Shape, _inputShape: Shape | Shape[]): void {}

  /** Tensor arguments after the descriptor's inputs (DPP's full-variant filter). */
  protected trailingInputs(): tf.Tensor[] {
    return [];
  }

  /** Extra options for the op at call time (compact bilinear's saved hashes). */
  protected extraOptions(): Record<string, unknown> {
    return {};
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return this.inLayerTerms(() => this.outputShapeOf(inputShape));
  }

  private outputShapeOf(inputShape: Shape | Shape[]): Shape {
    const cf = this.featureShapeCF(inputShape);
    const run = (k: number): number[] => {
      const probe = cf.map((d, i) => (d === null ? (i === 0 ? 1 + k : (PROBE_SIZES[k] as number)) : d));
      const options = this.resolveOptions(probe);
      // DynOPool's output size follows the current value of its learnable ratio r. While a model is
      // being loaded, tf.layers builds with placeholder zeros before the saved values arrive: then the
      // descriptor's initial r stands in.
      const r = this.inputWeights.get("r");
      if (r && this.method.learnable.includes("r")) {
        try {
          return this.method.outputShape(probe, { ...options, r: Array.from(r.read().dataSync()) }, this.spatialRankOf(probe));
        } catch {
          /* placeholder values: fall through */
        }
      }
      return this.method.outputShape(probe, options, this.spatialRankOf(probe));
    };
    const a = run(0);
    const unknown = cf.some((d) => d === null);
    const b = unknown ? run(1) : a;
    const out: Shape = a.map((d, i) => (d === b[i] ? d : null));
    return this.dataFormat === "channelsLast" && out.length >= 3 ? shapeToLast(out) : out;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return this.inLayerTerms(() => this.run(inputs, kwargs));
  }

  private run(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const x = list[0];
      if (!x) throw new PoolkitTypeError(this.exportName, `layer called without inputs`);
      const cf = this.dataFormat === "channelsLast" ? shapeToFirst(x.shape) : x.shape.slice();
      const opts = this.resolveOptions(cf);
      const training = kwargs?.training === true;
      if (this.method.trainEval) opts.training = training;
      if (this.method.random) {
        // Training: a fresh draw per call; inference: a fixed seed, so predict is deterministic.
        opts.seed = training ? this.gen().nextUint32() : (this.seed ?? 0);
      }
      this.project(opts);
      const args: tf.Tensor[] = [x];
      let next = 1;
      for (const spec of this.method.inputs) {
        const w = this.inputWeights.get(spec.name);
        const computed = this.isComputed(spec) ? this.computedInput(spec, x) : undefined;
        if (w) args.push(w.read());
        else if (computed) args.push(computed);
        else if (next < list.length) args.push(list[next++] as tf.Tensor);
        else if (this.method.inputs.slice(this.method.inputs.indexOf(spec)).every((s) => s.role !== "learnable")) break;
        else throw new PoolkitRangeError(this.exportName, `layer input ${show(spec.name)} is missing: call the layer on [x, ${this.dataInputNames().join(", ")}]`);
      }
      if (next < list.length) {
        throw new PoolkitRangeError(this.exportName, `layer got ${list.length} inputs, expected at most ${next}: [x${this.dataInputNames().map((n) => ", " + n).join("")}]`);
      }
      args.push(...this.trailingInputs());
      return this.op(...args, { ...opts, ...this.extraOptions(), dataFormat: this.dataFormat });
    });
  }

  /**
   * Projected gradient descent for learned mixing's `alpha` in its default "clamped" mode (the op's
   * contract: clip alpha to [0, 1] after each step, so the clamp never acts): an optimizer step may
   * leave [0, 1], so the weight is clipped back before it is used.
   */
  protected project(opts: Record<string, unknown>): void {
    const alpha = this.inputWeights.get("alpha");
    if (!alpha || !/^learnedMix/.test(this.method.export) || opts.mixing === "sigmoid") return;
    const v = alpha.read();
    const data = v.dataSync();
    if (data.every((a) => a >= 0 && a <= 1)) return;
    alpha.write(tf.clipByValue(v, 0, 1));
  }

  /** Names of the inputs the layer takes after x. */
  dataInputNames(): string[] {
    return this.method.inputs.filter((s) => !this.inputWeights.has(s.name) && !this.isComputed(s)).map((s) => s.name);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...(this.poolConfig as tf.serialization.ConfigDict), ...super.getConfig() };
  }
}

/** 12·σ(z): LIP's SoftGate (sebgao/LIP, lip_resnet.py `COEFF = 12`). */
const LIP_COEFF = 12;
/** PyTorch InstanceNorm2d's default eps. */
const INSTANCE_NORM_EPS = 1e-5;

/**
 * Local importance pooling with its logit module (SimplifiedLIP, sebgao/LIP `lip_resnet.py`):
 * logits = 12·σ(InstanceNorm_affine(conv3×3(x, pad 1, no bias))), conv weight initialised to 0 (so the
 * layer starts as padding-excluded average pooling, logits 6 everywhere), InstanceNorm γ = 1, β = 0
 * (PyTorch's affine init, eps 1e-5, no running statistics). The logit module is written with
 * TensorFlow.js ops, so its weights (`logitKernel` `[3, 3, C, C]`, `logitGamma`, `logitBeta` `[C]`)
 * train through poolkit's exact ∂y/∂logits.
 */
export class LocalImportancePoolLayer extends PoolkitPoolLayer {
  static override className = "Poolkit>LocalImportancePool2dBase";
  private logitKernel: tfl.LayerVariable | undefined;
  private logitGamma: tfl.LayerVariable | undefined;
  private logitBeta: tfl.LayerVariable | undefined;

  protected override isComputed(spec: InputSpec): boolean {
    return spec.role === "data" && spec === this.method.inputs[0];
  }

  protected override buildExtra(cfShape: Shape): void {
    const c = cfShape[1] as number;
    this.logitKernel = this.addWeight("logitKernel", [3, 3, c, c], "float32", tfl.initializers.zeros());
    this.logitGamma = this.addWeight("logitGamma", [c], "float32", tfl.initializers.ones());
    this.logitBeta = this.addWeight("logitBeta", [c], "float32", tfl.initializers.zeros());
  }

  protected override computedInput(_spec: InputSpec, x: tf.Tensor): tf.Tensor {
    if (!this.logitKernel || !this.logitGamma || !this.logitBeta) throw new PoolkitRangeError(this.exportName, `layer is not built`);
    const nhwc = (this.dataFormat === "channelsLast" ? x : tf.transpose(x, [0, 2, 3, 1])) as tf.Tensor4D;
    const z = tf.conv2d(nhwc, this.logitKernel.read() as tf.Tensor4D, 1, "same");
    // InstanceNorm2d: per sample and channel over H, W, biased variance.
    const { mean, variance } = tf.moments(z, [1, 2], true);
    const zn = tf.add(tf.mul(tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, INSTANCE_NORM_EPS))), this.logitGamma.read()), this.logitBeta.read());
    const logits = tf.mul(tf.sigmoid(zn), LIP_COEFF);
    return this.dataFormat === "channelsLast" ? logits : tf.transpose(logits, [0, 3, 1, 2]);
  }
}

/**
 * Compact bilinear pooling (Gao et al., CVPR 2016) whose fixed random draws — Tensor Sketch hashes
 * h1, h2 and signs s1, s2, or Random Maclaurin projections w1, w2 — are non-trainable int32 weights,
 * drawn at build time by `compactBilinearParams` from the config's `seed` (default 1) and handed to
 * the op as `params`. They are saved with the model, so a reloaded model uses exactly the same sketch.
 * Call the layer on `x` (homogeneous) or `[a, b]`.
 */
export class CompactBilinearPoolLayer extends PoolkitPoolLayer {
  static override className = "Poolkit>CompactBilinearPoolBase";
  private readonly drawn = new Map<string, tfl.LayerVariable>();
  private sketch: { method: string; outputDim: number } | undefined;

  protected override buildExtra(cfShape: Shape, inputShape: Shape | Shape[]): void {
    const c1 = cfShape[1] as number;
    const second = Array.isArray(inputShape[0]) ? (inputShape[1] as Shape | undefined) : undefined;
    const c2 = second ? ((this.dataFormat === "channelsLast" ? second[second.length - 1] : second[1]) as number | null) ?? c1 : c1;
    const o = this.resolveOptions([1, ...(cfShape.slice(1) as number[]).map((d) => d ?? PROBE_SIZES[0])]);
    const p = compactBilinearParams(c1, c2, {
      outputDim: o.outputDim as number,
      ...(o.method !== undefined ? { method: o.method as "tensor-sketch" } : {}),
      seed: this.seed ?? 1,
    });
    this.sketch = { method: p.method, outputDim: p.outputDim };
    for (const [k, v] of Object.entries(p)) {
      if (v instanceof Tensor) {
        this.drawn.set(k, this.addWeight(k, [...v.shape], "int32", valuesInitializer(v.data.slice(), "int32"), undefined, false));
      }
    }
  }

  protected override extraOptions(): Record<string, unknown> {
    if (!this.sketch) throw new PoolkitRangeError(this.exportName, `layer is not built`);
    const params: Record<string, unknown> = { ...this.sketch };
    for (const [k, w] of this.drawn) {
      const t = w.read();
      params[k] = tensor(t.dataSync() as Int32Array, t.shape, "int32");
    }
    return { params, method: undefined };
  }
}

/**
 * Detail-preserving pooling (Saeedan et al., CVPR 2018; official nngraph modules, visinf/dpp) with its
 * per-channel θ_α, θ_λ as weights (from the descriptor) and, with the layer option `variant: "full"`,
 * the learned depthwise 3×3 guidance filter `filter` `[C, 1, 3, 3]`, initialised N(0, √(2/9)) as
 * `models/resnetdpp.lua` re-initialises its convolutions. `variant: "lite"` (default) uses the 2×2
 * box-filter guidance and has no filter.
 */
export class DetailPreservingPoolLayer extends PoolkitPoolLayer {
  static override className = "Poolkit>DetailPreservingPool2dBase";
  private filter: tfl.LayerVariable | undefined;

  constructor(method: PoolMethod, rank: 1 | 2 | 3, op: AnyTfPoolOp, config: AnyPoolLayerConfig = {}) {
    super(method, rank, op, config);
    this.variant();
    // DPP pools fixed, non-overlapping 2×2 blocks (the op has no size options): a TensorFlow.js user's
    // `poolSize: 2, strides: 2` says just that and is accepted; any other size is refused plainly.
    for (const key of ["poolSize", "strides"] as const) {
      const v = this.poolConfig[key];
      if (v !== undefined && v !== 2 && !(Array.isArray(v) && v.length === 2 && v[0] === 2 && v[1] === 2)) {
        throw new PoolkitRangeError(this.exportName, `${key} must be 2 or [2, 2]: detail-preserving pooling pools fixed 2×2 blocks, got ${key} ${show(v)}`);
      }
    }
  }

  /** The op's `reward`, `variant`, and `poolSize` / `strides` / `padding` (fixed: 2, 2, "valid"). */
  override optionNames(): string[] | undefined {
    const names = super.optionNames();
    return names && ["poolSize", "strides", "padding", ...names.filter((n) => n !== "dataFormat" && n !== "seed"), "variant", "dataFormat", "seed"];
  }

  private variant(): "lite" | "full" {
    const v = this.poolConfig.variant ?? "lite";
    if (v !== "lite" && v !== "full") throw new PoolkitRangeError(this.exportName, `variant must be "lite" or "full", got ${show(v)}`);
    return v;
  }

  override resolveOptions(cfShape: readonly number[]): Record<string, unknown> {
    const opts = super.resolveOptions(cfShape);
    delete opts.variant;
    return opts;
  }

  protected override buildExtra(cfShape: Shape): void {
    if (this.variant() !== "full") return;
    const c = cfShape[1] as number;
    const std = Math.sqrt(2 / 9);
    const gen = this.gen();
    const values = Float64Array.from({ length: c * 9 }, () => std * gen.normal());
    this.filter = this.addWeight("filter", [c, 1, 3, 3], "float32", valuesInitializer(values, "float32"));
  }

  protected override trailingInputs(): tf.Tensor[] {
    return this.filter ? [this.filter.read()] : [];
  }
}

/** The layer class behind `layers.<N>`: the specialised classes for LIP, compact bilinear and DPP. */
export type PoolLayerOf<N extends TfLayerName> = N extends "localImportancePool2d"
  ? LocalImportancePoolLayer
  : N extends "compactBilinearPool"
    ? CompactBilinearPoolLayer
    : N extends "detailPreservingPool2d"
      ? DetailPreservingPoolLayer
      : PoolkitPoolLayer;

/** A generated layer class, `new layerClasses.<N>(config)`, with its registered `className`. */
export type PoolLayerClass<N extends TfLayerName> = (new (config?: PoolLayerConfig<N>) => PoolLayerOf<N>) & { className: string };

/** A layer class made from a method not known at compile time (or looked up by a run-time name). */
export type AnyPoolLayerClass = (new (config?: AnyPoolLayerConfig) => PoolkitPoolLayer) & { className: string };

/** The type of {@link layerClasses}: one typed class per layer name. */
export type TfLayerClasses = { readonly [N in TfLayerName]: PoolLayerClass<N> };

/** The type of {@link layers}: one typed factory per layer name. */
export type TfLayers = { readonly [N in TfLayerName]: (config?: PoolLayerConfig<N>) => PoolLayerOf<N> };

function pascal(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function isLip(m: PoolMethod): boolean {
  return /^localimportance/i.test(m.export) && m.inputs[0]?.role === "data";
}

/**
 * Whether a method can be a layer: every tensor input after x must be a weight the layer owns,
 * computed by it (LIP's logits) or a further input batched like x. Inputs that are neither — RoI
 * boxes `[K, 5]`, whose output `[K, C, oh, ow]` is batched by box, not by image — make the method an
 * op only (`ops.roiAlign(x, boxes, ...)`): a tf.layers model needs every output batched like its input.
 */
function layerable(m: PoolMethod, rank: 1 | 2 | 3): boolean {
  const shape = [2, 3, ...new Array<number>(rank).fill(PROBE_SIZES[0])];
  const options = { ...m.defaults };
  return m.inputs.every((spec, i) => {
    if (spec.role === "learnable" || (i === 0 && isLip(m))) return true;
    if (!dependsOnBatch(spec, shape, options)) return spec.role === "constant" && m.category !== "region";
    return isFeatureMapSpec(spec, shape, options);
  });
}

/** Build (and register for serialisation) one layer class per method and spatial rank. */
export function createLayerClasses(methods: readonly PoolMethod[], tfOps: Readonly<Record<string, AnyTfPoolOp>> = createOps(methods)): Record<string, AnyPoolLayerClass> {
  const out: Record<string, AnyPoolLayerClass> = {};
  for (const m of methods) {
    for (const rank of [1, 2, 3] as const) {
      const maybeName = m.exports[rank];
      const maybeOp = maybeName ? tfOps[maybeName] : undefined;
      if (!maybeName || !maybeOp || maybeName in out) continue;
      const exportName: string = maybeName;
      const op: AnyTfPoolOp = maybeOp;
      if (!layerable(m, rank)) continue;
      const Base =
        isLip(m) && rank === 2
          ? LocalImportancePoolLayer
          : /^compactBilinear/.test(m.export)
            ? CompactBilinearPoolLayer
            : /^detailPreserving/.test(m.export)
              ? DetailPreservingPoolLayer
              : PoolkitPoolLayer;
      const cls = class extends Base {
        static override className = `Poolkit>${pascal(exportName)}`;
        constructor(config: AnyPoolLayerConfig = {}) {
          super(m, rank, op, config);
        }
      };
      Object.defineProperty(cls, "name", { value: `${pascal(exportName)}Layer` });
      tf.serialization.registerClass(cls);
      out[exportName] = cls;
    }
  }
  return out;
}

const classesByName = createLayerClasses(listPools(), ops as unknown as Readonly<Record<string, AnyTfPoolOp>>);

/**
 * The layer classes, keyed by export name (`layerClasses.softPool2d`, className `Poolkit>SoftPool2d`),
 * each typed with its own config ({@link PoolLayerConfig}). Importing `poolkit/tfjs` registers every
 * one of them for `tf.loadLayersModel`. For a name known only at run time use {@link findLayerClass}.
 */
export const layerClasses: TfLayerClasses = classesByName as unknown as TfLayerClasses;

/**
 * The layer class of a name known only at run time (e.g. a registry method's `exports[2]`), or
 * undefined when it has none (RoI pooling is an op only). With a literal name, `layerClasses.<name>`
 * gives the typed class instead.
 *
 * @example
 * const cls = findLayerClass(getPool("soft").export); // SoftPool2dLayer
 */
export function findLayerClass(name: string): AnyPoolLayerClass | undefined {
  return Object.hasOwn(classesByName, name) ? classesByName[name] : undefined;
}

/** Layer factories in the style of `tf.layers`, keyed by export name. */
export function createLayerFactories(classes: Readonly<Record<string, AnyPoolLayerClass>>): Record<string, (config?: AnyPoolLayerConfig) => PoolkitPoolLayer> {
  const out: Record<string, (config?: AnyPoolLayerConfig) => PoolkitPoolLayer> = {};
  for (const [k, cls] of Object.entries(classes)) out[k] = (config?: AnyPoolLayerConfig) => new cls(config);
  return out;
}

/**
 * Every registry method as a `tf.layers`-style factory, keyed by its poolkit export name. Each takes
 * its own config type, {@link PoolLayerConfig}`<name>`, derived from the core op's options in the
 * layer's vocabulary, so `layers.softPool2d({ pool_size: 2 })` is a compile error.
 *
 * @example
 * import * as tf from "@tensorflow/tfjs";
 * import { layers } from "poolkit/tfjs";
 * const model = tf.sequential({ layers: [
 *   tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, padding: "same", activation: "relu" }),
 *   layers.softPool2d({ poolSize: 2 }),
 *   tf.layers.flatten(),
 *   tf.layers.dense({ units: 10, activation: "softmax" }),
 * ] });
 */
export const layers: TfLayers = createLayerFactories(classesByName) as unknown as TfLayers;
