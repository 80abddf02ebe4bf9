// A minimal ONNX model writer for single-node pooling graphs (MaxPool / AveragePool), so the
// benchmark needs no Python, no onnx package and no committed binary model.
// Field numbers from onnx/onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
// ValueInfoProto, TypeProto, TensorShapeProto); wire format from the protobuf encoding spec.

function varint(n) {
  const out = [];
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n; // int64 two's complement (not needed for our values, kept correct)
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const key = (field, wire) => varint((field << 3) | wire);
const int = (field, n) => [...key(field, 0), ...varint(n)];
function bytes(field, data) {
  return [...key(field, 2), ...varint(data.length), ...data];
}
const str = (field, s) => bytes(field, [...new TextEncoder().encode(s)]);

// AttributeProto: name = 1, i = 3, ints = 8, type = 20 (INT = 2, INTS = 7).
const attrInt = (name, i) => bytes(5, [...str(1, name), ...int(3, i), ...int(20, 2)]);
const attrInts = (name, list) => bytes(5, [...str(1, name), ...list.flatMap((v) => int(8, v)), ...int(20, 7)]);

// ValueInfoProto { name = 1, type = 2: TypeProto { tensor_type = 1: { elem_type = 1 (FLOAT), shape = 2: { dim = 1: { dim_value = 1 } } } } }
function valueInfo(field, name, shape) {
  const dims = shape.flatMap((d) => bytes(1, int(1, d)));
  const tensorType = [...int(1, 1), ...bytes(2, dims)];
  return bytes(field, [...str(1, name), ...bytes(2, bytes(1, tensorType))]);
}

/**
 * Bytes of an ONNX model computing y = op(x) on NCHW float32.
 * @param {"MaxPool"|"AveragePool"} op
 * @param {{ inShape: number[], outShape: number[], kernel: number[], strides: number[], pads: number[], ceilMode?: boolean, countIncludePad?: boolean }} p
 *   pads are ONNX's [top, left, bottom, right].
 */
export function poolModel(op, p) {
  const attrs = [attrInts("kernel_shape", p.kernel), attrInts("strides", p.strides), attrInts("pads", p.pads), attrInt("ceil_mode", p.ceilMode ? 1 : 0)];
  if (op === "AveragePool") attrs.push(attrInt("count_include_pad", p.countIncludePad ? 1 : 0));
  // NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5.
  const node = bytes(1, [...str(1, "x"), ...str(2, "y"), ...str(3, "pool"), ...str(4, op), ...attrs.flat()]);
  // GraphProto: node = 1, name = 2, input = 11, output = 12.
  const graph = [...node, ...str(2, "poolkit-bench"), ...valueInfo(11, "x", p.inShape), ...valueInfo(12, "y", p.outShape)];
  // ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 { domain = 1, version = 2 }.
  const model = [...int(1, 8), ...str(2, "poolkit bench"), ...bytes(7, graph), ...bytes(8, [...str(1, ""), ...int(2, 13)])];
  return Uint8Array.from(model);
}
