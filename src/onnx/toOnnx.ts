/**
 * `toOnnx(method, …)`: one pooling method as a standalone ONNX model (a serialised ModelProto).
 */
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { getPool, type InputSpec, type PoolMethod } from "../registry.js";
import { isTensor, type Tensor } from "../tensor/tensor.js";
import type { EmitContext, Emitted, HostTensor } from "./emitters.js";
import { EMITTERS, NOT_EXPRESSIBLE } from "./methods.js";
import { DEFAULT_OPSET, Graph } from "./graph.js";

const OP = "toOnnx";

/** Learnable tensors a method accepts beyond its registry inputs. */
const EXTRA_PARAMS: Readonly<Record<string, readonly string[]>> = { DPP: ["filter"] };

/** A learnable parameter's value: a poolkit Tensor, `{ data, shape }`, or a flat array in the registry's shape. */
export type ParamValue = Tensor | HostTensor | ArrayLike<number>;

/** Options of {@link toOnnx}. */
export interface ToOnnxOptions {
  /** The feature map's shape `[N, C, ...spatial]` (static: ONNX shapes are fixed at export). */
  inputShape: readonly number[];
  /** The method's options, exactly as the op takes them. */
  options?: Record<string, unknown>;
  /**
   * Values of the method's learnable inputs (the registry's `learnable` names, e.g. `alpha` and
   * `lambda` for DPP), written into the model as initializers. Required for every learnable input.
   * DPP also takes `filter` ([C, 1, 3, 3], the full variant's guidance filter).
   */
  params?: Record<string, ParamValue>;
  /**
   * Shapes of the extra graph inputs (`logits`, `boxes`, `indices`, `b`, …), by registry input name;
   * default: the registry's shape for the input shape. `null` omits an optional input
   * (`bilinearPool`'s `b`: homogeneous pooling).
   */
  inputShapes?: Record<string, readonly number[] | null>;
  /** Default-domain opset, 17–21; default 17. */
  opset?: number;
  /**
   * Max pooling only: a second graph output `indices` (int32, the output's shape) with poolkit's
   * (PyTorch's) per-plane flat argmax, as `maxPoolNdWithIndices` returns.
   */
  withIndices?: boolean;
}

/** Whether a method (with these options) can be exported, and if not, why. */
export function onnxSupport(method: string | PoolMethod, options: Record<string, unknown> = {}): { supported: true } | { supported: false; reason: string } {
  const m = typeof method === "string" ? getPool(method) : method;
  const reason = notExpressible(m, options);
  return reason === undefined ? { supported: true } : { supported: false, reason };
}

function notExpressible(m: PoolMethod, options: Record<string, unknown>): string | undefined {
  const fixed = NOT_EXPRESSIBLE[m.name];
  if (fixed !== undefined) return fixed;
  if (m.trainEval && options.training !== false) {
    return `its training mode draws random numbers on every call, which an ONNX graph cannot reproduce; export the inference computation with options.training = false`;
  }
  if (m.name === "FractionalMax" && options.samples === undefined) {
    return `it draws its windows at random on every call, which an ONNX graph cannot reproduce; pass options.samples ([N, C, dims] in [0, 1)) to export fixed windows`;
  }
  if (m.name === "Covariance") {
    const norm = options.normalization ?? "sqrtm";
    if (norm === "logm" || norm === "sqrtm") {
      return `normalization ${JSON.stringify(norm)} needs an eigendecomposition, which standard ONNX has no operator for; use "newton-schulz" (unrolled matrix products) or "none"`;
    }
  }
  if (EMITTERS[m.name] === undefined) return `there is no ONNX emitter for ${m.name}`;
  return undefined;
}

function hostOf(name: string, v: ParamValue): { data: ArrayLike<number>; shape: readonly number[] | undefined } {
  if (isTensor(v)) return { data: v.data, shape: v.shape };
  if (typeof v === "object" && v !== null && "data" in v && "shape" in v) return v as HostTensor;
  if (typeof v === "object" && v !== null && typeof (v as ArrayLike<number>).length === "number") return { data: v as ArrayLike<number>, shape: undefined };
  throw new PoolkitTypeError(OP, `params.${name} must be a Tensor, { data, shape } or an array of numbers, got ${show(v)}`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Export one pooling method as an ONNX model (a serialised `ModelProto`) whose graph computes the
 * method's inference-time output with poolkit's exact semantics: every window, bin and divisor is
 * planned by poolkit and written explicitly (explicit `Pad` instead of a runtime's ceil rule,
 * divisor tensors, per-bin slices), so any conforming ONNX runtime reproduces poolkit's forward.
 *
 * Graph inputs: `x` (`inputShape`), then the method's data / constant inputs by their registry
 * names (`logits`, `boxes`, `indices`, `b`, `y`); learnable inputs become initializers from
 * `params`. Graph output: `output`. Shapes are static.
 *
 * Methods ONNX cannot express (eigendecomposition-based normalisations, Grassmann pooling,
 * training-time randomness) throw a PoolkitRangeError saying why; {@link onnxSupport} asks first.
 *
 * @example
 * ```ts
 * import { toOnnx } from "poolkit/onnx";
 * const bytes = toOnnx("soft", { inputShape: [1, 3, 32, 32], options: { kernelSize: 2 } });
 * ```
 */
export function toOnnx(method: string | PoolMethod, opts: ToOnnxOptions): Uint8Array {
  const m = typeof method === "string" ? getPool(method) : method;
  if (typeof opts !== "object" || opts === null) throw new PoolkitTypeError(OP, `expected an options object { inputShape, options?, params?, opset? }, got ${show(opts)}`);
  const known = ["inputShape", "options", "params", "inputShapes", "opset", "withIndices"];
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) throw new PoolkitTypeError(OP, `unknown option ${JSON.stringify(k)}; known: ${known.join(", ")}`);
  }
  const xShape = opts.inputShape;
  if (Array.isArray(xShape) && xShape.some((d) => typeof d === "string" || d === null || d === -1)) {
    throw new PoolkitRangeError(
      OP,
      `dynamic input shapes cannot be expressed: poolkit plans every window, adaptive bin and divisor from the static input shape at export time; give every dimension as a number, got inputShape ${show(xShape)}`,
    );
  }
  if (!Array.isArray(xShape) || xShape.some((d) => typeof d !== "number" || !Number.isInteger(d) || d < 1)) {
    throw new PoolkitTypeError(OP, `inputShape must be an array of positive integers [N, C, ...spatial], got ${show(xShape)}`);
  }
  const options = { ...(opts.options ?? {}) };
  // float32 models: ONNX Runtime's CPU provider has no float64 kernels for AveragePool and others.
  const dtype = "float32";
  if (opts.withIndices !== undefined && typeof opts.withIndices !== "boolean") throw new PoolkitTypeError(OP, `withIndices must be a boolean, got ${show(opts.withIndices)}`);

  const g = new Graph({ opset: opts.opset ?? DEFAULT_OPSET, name: `poolkit_${m.name}`, floatType: dtype });
  const x = g.input("x", xShape, dtype, `feature map [N, C, ...spatial]`);
  for (const name of Object.keys(opts.inputShapes ?? {})) {
    if (!m.inputs.some((s) => s.name === name)) throw new PoolkitTypeError(OP, `inputShapes.${name}: ${m.name} has no input ${JSON.stringify(name)}`);
  }
  const result = emitPool(g, m, {
    x,
    xShape,
    options,
    params: opts.params ?? {},
    withIndices: opts.withIndices === true,
    // Data and constant inputs become graph inputs under their registry names.
    dataInput: (spec, expected) => {
      const override = opts.inputShapes?.[spec.name];
      if (override === null) return null; // omitted optional input
      const shape = override ?? expected;
      return { value: g.input(spec.name, shape, spec.dtype === "int32" ? "int32" : dtype, spec.doc), shape };
    },
    omitted: (name) => opts.inputShapes?.[name] === null,
  });
  g.output(result.output, "output", result.shape, dtype);
  for (const e of result.extra ?? []) g.output(e.value, e.name, e.shape, e.type);
  const doc = `poolkit ${m.name} (${m.ops[(xShape.length - 2) as 1 | 2 | 3]?.opName ?? m.export}) with options ${JSON.stringify(options, (_k, v) => (isTensor(v) ? `Tensor[${v.shape.join(",")}]` : v))}`;
  return g.toModel(doc);
}

/** What {@link emitPool} needs besides the graph and the method. */
export interface EmitPoolSpec {
  /** Value name of the feature map, `[N, C, ...spatial]` channels-first. */
  readonly x: string;
  readonly xShape: readonly number[];
  readonly options: Record<string, unknown>;
  /** Learnable parameters, written as initializers named `${prefix}${name}`. */
  readonly params: Record<string, ParamValue>;
  /** Prefix of the initializer names (a model exporter's layer name); default "". */
  readonly prefix?: string;
  readonly withIndices?: boolean;
  /** The value of a data / constant input (`logits`, `boxes`, …) and its shape, or null when omitted. */
  dataInput(spec: InputSpec, expectedShape: number[]): { value: string; shape: readonly number[] } | null;
  /** Whether a learnable input is omitted (a null bias). */
  omitted?(name: string): boolean;
}

/**
 * Add one pooling method's nodes to an existing graph (the building block of {@link toOnnx}, and of
 * a whole-model exporter): validates the options and parameters, writes the learnable parameters as
 * initializers (lazily: parameters an emitter folds into constants leave none), and returns the
 * output value(s). Throws the same "cannot be expressed" errors as `toOnnx`.
 */
export function emitPool(g: Graph, method: string | PoolMethod, spec: EmitPoolSpec): Emitted {
  const m = typeof method === "string" ? getPool(method) : method;
  const { xShape, options } = spec;
  const rank = (xShape.length - 2) as 1 | 2 | 3;
  if (!(m.dims as readonly number[]).includes(rank)) {
    throw new PoolkitRangeError(OP, `${m.name} takes [N, C, ...spatial] with ${m.dims.join(" or ")} spatial dims, got inputShape ${show([...xShape])}`);
  }
  const reason = notExpressible(m, options);
  if (reason !== undefined) throw new PoolkitRangeError(OP, `${m.name} cannot be expressed in ONNX: ${reason}`);
  if (spec.withIndices && m.name !== "Max") throw new PoolkitRangeError(OP, `withIndices is supported for max pooling only, got ${m.name}`);
  // The op's own option checks, before anything is built.
  m.outputShape(xShape, options, rank);
  const dtype = g.floatType;
  const prefix = spec.prefix ?? "";
  const inputs: Record<string, string> = {};
  const inputShapes: Record<string, readonly number[]> = {};
  const params: Record<string, HostTensor> = {};
  const givenParams = spec.params;
  for (const k of Object.keys(givenParams)) {
    if (!m.learnable.includes(k) && !(EXTRA_PARAMS[m.name] ?? []).includes(k)) {
      throw new PoolkitTypeError(OP, `params.${k} is not a learnable input of ${m.name}; its learnable inputs: ${m.learnable.length ? m.learnable.join(", ") : "none"}`);
    }
  }
  for (const input of m.inputs) {
    const expected = input.shape(xShape, options);
    if (input.role === "learnable") {
      if (spec.omitted?.(input.name)) continue;
      const v = givenParams[input.name];
      if (v === undefined) throw new PoolkitRangeError(OP, `${m.name}: params.${input.name} is required (${input.doc})`);
      const host = hostOf(input.name, v);
      const shape = host.shape ?? expected;
      if (host.data.length !== shape.reduce((a, b) => a * b, 1)) {
        throw new PoolkitRangeError(OP, `params.${input.name} must have ${shape.reduce((a, b) => a * b, 1)} values for shape ${show([...shape])}, got ${host.data.length}`);
      }
      let init: string | undefined;
      Object.defineProperty(inputs, input.name, {
        enumerable: true,
        get: () => (init ??= g.addInitializer(host.data, shape, dtype, `${prefix}${input.name}`)),
      });
      inputShapes[input.name] = shape;
      params[input.name] = { data: host.data, shape };
    } else {
      const given = spec.dataInput(input, expected);
      if (given === null) continue;
      inputs[input.name] = given.value;
      inputShapes[input.name] = given.shape;
    }
  }
  // Optional learnable tensors the registry example leaves out (DPP's full-variant filter).
  for (const name of EXTRA_PARAMS[m.name] ?? []) {
    const v = givenParams[name];
    if (v === undefined) continue;
    const host = hostOf(name, v);
    if (host.shape === undefined) throw new PoolkitTypeError(OP, `params.${name} needs its shape: pass a Tensor or { data, shape }`);
    const shape = host.shape;
    inputs[name] = g.addInitializer(host.data, shape, dtype, `${prefix}${name}`);
    inputShapes[name] = shape;
    params[name] = { data: host.data, shape };
  }
  const emitter = EMITTERS[m.name];
  if (emitter === undefined) throw new PoolkitRangeError(OP, `there is no ONNX emitter for ${m.name}`);
  const ctx: EmitContext = { g, method: m, rank, xShape, options, x: spec.x, inputs, inputShapes, params, dtype, withIndices: spec.withIndices === true };
  return emitter(ctx);
}
