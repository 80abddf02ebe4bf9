/**
 * A small ONNX graph builder: named graph inputs and outputs, initializers, nodes with typed
 * attributes, and opset-aware helpers for the operators whose signature changed between opsets
 * (the Reduce* family takes `axes` as an input from opset 18, ReduceSum from 13). The per-method
 * emitters (src/onnx/emitters.ts) and a future whole-model exporter build on it.
 */
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import {
  AttributeType,
  DataType,
  encodeModel,
  type AttributeMessage,
  type DataTypeCode,
  type NodeMessage,
  type TensorMessage,
  type ValueInfoMessage,
} from "./proto.js";

/** Element types the builder writes. */
export type ElemType = "float32" | "float64" | "int32" | "int64" | "bool";

const CODES: Record<ElemType, DataTypeCode> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  int32: DataType.INT32,
  int64: DataType.INT64,
  bool: DataType.BOOL,
};

/** The lowest default-domain opset the exporter writes (RoiAlign-16, ScatterElements-16 reduction, opset 17 = ONNX 1.12). */
export const MIN_OPSET = 17;
/** The highest default-domain opset the exporter writes (every opset 17–21 is run in the tests). */
export const MAX_OPSET = 21;
/** The default opset: the oldest supported, for the widest range of runtimes. */
export const DEFAULT_OPSET = 17;

/**
 * The IR version that goes with an opset (onnx/onnx docs/Versioning.md, "Released Versions":
 * ONNX 1.12–1.13 = IR 8 with opsets 17–18, 1.14–1.15 = IR 9 with opsets 19–20, 1.16 = IR 10 with 21).
 */
export function irVersionFor(opset: number): number {
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

/** A typed attribute value; build with {@link attr}. */
export type Attr =
  | { readonly kind: "int"; readonly v: number }
  | { readonly kind: "ints"; readonly v: readonly number[] }
  | { readonly kind: "float"; readonly v: number }
  | { readonly kind: "floats"; readonly v: readonly number[] }
  | { readonly kind: "string"; readonly v: string };

/** Attribute constructors: ONNX distinguishes INT from FLOAT, so the type is explicit. */
export const attr = {
  int: (v: number): Attr => ({ kind: "int", v }),
  ints: (v: readonly number[]): Attr => ({ kind: "ints", v }),
  float: (v: number): Attr => ({ kind: "float", v }),
  floats: (v: readonly number[]): Attr => ({ kind: "floats", v }),
  string: (v: string): Attr => ({ kind: "string", v }),
};

function toAttributeMessage(name: string, a: Attr): AttributeMessage {
  switch (a.kind) {
    case "int":
      return { name, type: AttributeType.INT, i: a.v };
    case "ints":
      return { name, type: AttributeType.INTS, ints: a.v };
    case "float":
      return { name, type: AttributeType.FLOAT, f: a.v };
    case "floats":
      return { name, type: AttributeType.FLOATS, floats: a.v };
    case "string":
      return { name, type: AttributeType.STRING, s: a.v };
  }
}

/** Little-endian bytes of values in an element type (float64 values rounded to float32 for "float32"). */
export function rawBytes(values: ArrayLike<number> | ArrayLike<bigint>, type: ElemType): Uint8Array {
  const n = values.length;
  const size = type === "float64" || type === "int64" ? 8 : type === "bool" ? 1 : 4;
  const out = new Uint8Array(n * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number | bigint;
    switch (type) {
      case "float32":
        view.setFloat32(i * 4, Number(v), true);
        break;
      case "float64":
        view.setFloat64(i * 8, Number(v), true);
        break;
      case "int32":
        view.setInt32(i * 4, Number(v), true);
        break;
      case "int64":
        view.setBigInt64(i * 8, typeof v === "bigint" ? v : BigInt(v), true);
        break;
      case "bool":
        view.setUint8(i, v ? 1 : 0);
        break;
    }
  }
  return out;
}

/** Options of {@link Graph}. */
export interface GraphOptions {
  /** Default-domain opset, {@link MIN_OPSET}–{@link MAX_OPSET}; default {@link DEFAULT_OPSET}. */
  opset?: number;
  /** Graph name. */
  name?: string;
  /** Element type of float constants ({@link Graph.constFloat}'s default): the model's float dtype. Default "float32". */
  floatType?: "float32" | "float64";
}

/**
 * Builds one ONNX graph. Value names are generated (`<OpType>_<n>`) unless given; every method
 * returns the name of the value it creates so nodes chain as expressions:
 *
 * ```ts
 * const g = new Graph({ opset: 17 });
 * const x = g.input("x", [1, 3, 8, 8]);
 * const y = g.node("MaxPool", [x], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) });
 * g.output(y, "y", [1, 3, 4, 4]);
 * const bytes = g.toModel();
 * ```
 */
export class Graph {
  readonly opset: number;
  readonly name: string;
  readonly floatType: "float32" | "float64";
  private readonly nodes: NodeMessage[] = [];
  private readonly initializers: TensorMessage[] = [];
  private readonly inputs: ValueInfoMessage[] = [];
  private readonly outputs: ValueInfoMessage[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(options: GraphOptions = {}) {
    const opset = options.opset ?? DEFAULT_OPSET;
    if (typeof opset !== "number" || !Number.isInteger(opset)) throw new PoolkitTypeError("toOnnx", `opset must be an integer, got ${show(opset)}`);
    if (opset < MIN_OPSET || opset > MAX_OPSET) {
      throw new PoolkitRangeError("toOnnx", `opset must be between ${MIN_OPSET} and ${MAX_OPSET}, got ${opset}`);
    }
    this.opset = opset;
    this.name = options.name ?? "poolkit";
    this.floatType = options.floatType ?? "float32";
  }

  /** A fresh value name. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new PoolkitRangeError("toOnnx", `value name ${JSON.stringify(name)} is used twice in the graph`);
    this.used.add(name);
    return name;
  }

  /** Declare a graph input; a string dimension is symbolic. */
  input(name: string, shape: readonly (number | string)[], type: ElemType = "float32", docString?: string): string {
    this.claim(name);
    this.inputs.push({ name, elemType: CODES[type], shape: [...shape], ...(docString === undefined ? {} : { docString }) });
    return name;
  }

  /** Declare a graph output `name` holding `value` (through an Identity when the names differ). */
  output(value: string, name: string, shape: readonly (number | string)[], type: ElemType = "float32", docString?: string): void {
    if (value !== name) {
      this.claim(name);
      this.nodes.push({ opType: "Identity", inputs: [value], outputs: [name], name: `Identity_${name}` });
    }
    this.outputs.push({ name, elemType: CODES[type], shape: [...shape], ...(docString === undefined ? {} : { docString }) });
  }

  /** A constant tensor stored as an initializer (`name` generated when omitted). */
  addInitializer(values: ArrayLike<number> | ArrayLike<bigint>, dims: readonly number[], type: ElemType = "float32", name?: string): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (values.length !== size) {
      throw new PoolkitRangeError("toOnnx", `initializer of shape ${show([...dims])} needs ${size} values, got ${values.length}`);
    }
    const id = name === undefined ? this.fresh("const") : this.claim(name);
    this.initializers.push({ name: id, dims: [...dims], dataType: CODES[type], rawData: rawBytes(values, type) });
    return id;
  }

  /** A float constant of the graph's float type (a scalar when `dims` is `[]`). */
  constFloat(values: ArrayLike<number>, dims: readonly number[] = [values.length], type: ElemType = this.floatType): string {
    return this.addInitializer(values, dims, type);
  }

  /** An int64 constant (shapes, axes, pads, indices). */
  constInt64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.addInitializer(values, dims, "int64");
  }

  /** Add a node with `outputs` fresh output names; returns them. */
  addNode(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType));
    this.nodes.push({
      opType,
      inputs: [...inputs],
      outputs: outs,
      name: `${opType}_node_${this.nodes.length}`,
      attributes: Object.entries(attrs).map(([k, a]) => toAttributeMessage(k, a)),
    });
    return outs;
  }

  /** Add a single-output node; returns its output name. */
  node(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}): string {
    return this.addNode(opType, inputs, attrs, 1)[0] as string;
  }

  /** Number of nodes so far (tests and docs). */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Serialise the ModelProto. */
  toModel(docString?: string, producerVersion = "0.1.0"): Uint8Array {
    if (this.outputs.length === 0) throw new PoolkitRangeError("toOnnx", `the graph has no outputs`);
    return encodeModel({
      irVersion: irVersionFor(this.opset),
      opsetImports: [{ domain: "", version: this.opset }],
      producerName: "poolkit",
      producerVersion,
      ...(docString === undefined ? {} : { docString }),
      graph: { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs },
    });
  }
}
