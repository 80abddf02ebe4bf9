/**
 * A small protobuf encoder for the ONNX messages poolkit writes: ModelProto, OperatorSetIdProto,
 * GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto (tensor types),
 * TensorShapeProto.
 *
 * Field numbers and enum values are ONNX's `onnx/onnx.proto` (github.com/onnx/onnx, proto2 syntax;
 * checked against the copy Debian's python3-onnx 1.12 ships). Wire format: the Protocol Buffers
 * encoding guide (protobuf.dev/programming-guides/encoding): a key is `(field << 3) | wireType`,
 * wire type 0 = varint, 2 = length-delimited, 5 = 32-bit; int64 values are two's-complement
 * varints (10 bytes when negative); repeated scalars are written packed, which proto2 parsers
 * accept for every repeated numeric field.
 *
 * Only encoding: the models are read back by ONNX Runtime and onnx.checker in the tests.
 */

/** TensorProto.DataType values (onnx.proto). */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  DOUBLE: 11,
} as const;
/** One of the {@link DataType} codes. */
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values (onnx.proto). */
export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

/** TensorProto: dims, data type and the little-endian bytes of the values (`raw_data`). */
export interface TensorMessage {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: DataTypeCode;
  readonly rawData: Uint8Array;
}

/** AttributeProto: exactly one value field is set, named by `type`. */
export type AttributeMessage =
  | { readonly name: string; readonly type: typeof AttributeType.FLOAT; readonly f: number }
  | { readonly name: string; readonly type: typeof AttributeType.INT; readonly i: number | bigint }
  | { readonly name: string; readonly type: typeof AttributeType.STRING; readonly s: string }
  | { readonly name: string; readonly type: typeof AttributeType.TENSOR; readonly t: TensorMessage }
  | { readonly name: string; readonly type: typeof AttributeType.FLOATS; readonly floats: readonly number[] }
  | { readonly name: string; readonly type: typeof AttributeType.INTS; readonly ints: readonly (number | bigint)[] }
  | { readonly name: string; readonly type: typeof AttributeType.STRINGS; readonly strings: readonly string[] };

/** NodeProto: one operator application. */
export interface NodeMessage {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly domain?: string;
  readonly attributes?: readonly AttributeMessage[];
}

/** ValueInfoProto of a tensor: element type and shape; a string dimension is symbolic (`dim_param`). */
export interface ValueInfoMessage {
  readonly name: string;
  readonly elemType: DataTypeCode;
  readonly shape: readonly (number | string)[];
  readonly docString?: string;
}

/** GraphProto: nodes in topological order, initializers, inputs and outputs. */
export interface GraphMessage {
  readonly name: string;
  readonly nodes: readonly NodeMessage[];
  readonly initializers: readonly TensorMessage[];
  readonly inputs: readonly ValueInfoMessage[];
  readonly outputs: readonly ValueInfoMessage[];
  readonly docString?: string;
}

/** ModelProto: IR version, opset imports, producer and the graph. */
export interface ModelMessage {
  readonly irVersion: number;
  readonly opsetImports: readonly { readonly domain: string; readonly version: number }[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString?: string;
  readonly graph: GraphMessage;
}

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;
const utf8 = new TextEncoder();

/** A growable byte buffer with the protobuf primitives. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** An unsigned or two's-complement (negative int64) varint. */
  varint(value: number | bigint): this {
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) throw new RangeError(`ProtoWriter: varint must be a safe integer, got ${value}`);
      if (value >= 0 && value < 0x80000000) {
        // Fast path: fits in 31 bits, so the bit operators are exact.
        this.ensure(5);
        let v = value;
        while (v >= 0x80) {
          this.buf[this.len++] = (v & 0x7f) | 0x80;
          v >>>= 7;
        }
        this.buf[this.len++] = v;
        return this;
      }
    }
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
    return this;
  }

  key(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  bytes(field: number, data: Uint8Array): this {
    this.key(field, WIRE_LEN).varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  int(field: number, v: number | bigint): this {
    return this.key(field, WIRE_VARINT).varint(v);
  }

  float(field: number, v: number): this {
    this.key(field, WIRE_FIXED32);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, v, true);
    this.len += 4;
    return this;
  }

  /** A packed repeated varint field. */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated float field. */
  packedFloats(field: number, values: readonly number[]): this {
    const data = new Uint8Array(values.length * 4);
    const view = new DataView(data.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return this.bytes(field, data);
  }

  /** A nested message. */
  message(field: number, write: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    write(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

// Field numbers, onnx.proto.
function writeTensor(w: ProtoWriter, t: TensorMessage): void {
  if (t.dims.length > 0) w.packedInts(1, t.dims); // dims
  w.int(2, t.dataType); // data_type
  w.string(8, t.name); // name
  w.bytes(9, t.rawData); // raw_data
}

function writeAttribute(w: ProtoWriter, a: AttributeMessage): void {
  w.string(1, a.name); // name
  w.int(20, a.type); // type
  switch (a.type) {
    case AttributeType.FLOAT:
      w.float(2, a.f);
      break;
    case AttributeType.INT:
      w.int(3, a.i);
      break;
    case AttributeType.STRING:
      w.string(4, a.s);
      break;
    case AttributeType.TENSOR:
      w.message(5, (m) => writeTensor(m, a.t));
      break;
    case AttributeType.FLOATS:
      w.packedFloats(7, a.floats);
      break;
    case AttributeType.INTS:
      w.packedInts(8, a.ints);
      break;
    case AttributeType.STRINGS:
      for (const s of a.strings) w.string(9, s);
      break;
  }
}

function writeNode(w: ProtoWriter, n: NodeMessage): void {
  for (const i of n.inputs) w.string(1, i); // input
  for (const o of n.outputs) w.string(2, o); // output
  if (n.name !== undefined) w.string(3, n.name); // name
  w.string(4, n.opType); // op_type
  for (const a of n.attributes ?? []) w.message(5, (m) => writeAttribute(m, a)); // attribute
  if (n.domain !== undefined && n.domain !== "") w.string(7, n.domain); // domain
}

function writeValueInfo(w: ProtoWriter, v: ValueInfoMessage): void {
  w.string(1, v.name); // name
  // type: TypeProto.tensor_type (1) → Tensor.elem_type (1), Tensor.shape (2) → TensorShapeProto.dim (1)
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType);
      tensor.message(2, (shape) => {
        for (const d of v.shape) {
          // Dimension: dim_value (1) or dim_param (2).
          shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
  if (v.docString !== undefined) w.string(3, v.docString); // doc_string
}

function writeGraph(w: ProtoWriter, g: GraphMessage): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n)); // node
  w.string(2, g.name); // name
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t)); // initializer
  if (g.docString !== undefined) w.string(10, g.docString); // doc_string
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v)); // input
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v)); // output
}

/** Serialise a ModelProto. */
export function encodeModel(model: ModelMessage): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, model.irVersion); // ir_version
  w.string(2, model.producerName); // producer_name
  w.string(3, model.producerVersion); // producer_version
  if (model.docString !== undefined) w.string(6, model.docString); // doc_string
  w.message(7, (m) => writeGraph(m, model.graph)); // graph
  for (const o of model.opsetImports) {
    // opset_import: OperatorSetIdProto { domain = 1, version = 2 }
    w.message(8, (m) => {
      m.string(1, o.domain);
      m.int(2, o.version);
    });
  }
  return w.finish();
}

/** Encode one message on its own (used by the tests). */
export function encodeTensor(t: TensorMessage): Uint8Array {
  const w = new ProtoWriter();
  writeTensor(w, t);
  return w.finish();
}

/** Encode one AttributeProto on its own (used by the tests). */
export function encodeAttribute(a: AttributeMessage): Uint8Array {
  const w = new ProtoWriter();
  writeAttribute(w, a);
  return w.finish();
}

/** Encode one NodeProto on its own (used by the tests). */
export function encodeNode(n: NodeMessage): Uint8Array {
  const w = new ProtoWriter();
  writeNode(w, n);
  return w.finish();
}

/** Encode one ValueInfoProto on its own (used by the tests). */
export function encodeValueInfo(v: ValueInfoMessage): Uint8Array {
  const w = new ProtoWriter();
  writeValueInfo(w, v);
  return w.finish();
}
