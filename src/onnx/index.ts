/**
 * poolkit/onnx — export poolkit's pooling methods as ONNX models that any ONNX runtime runs with
 * poolkit's (PyTorch's) exact semantics, plus ONNX Runtime tensor conversions. Browser-safe: no
 * `node:` imports, no dependency on onnxruntime.
 */
export { toOnnx, onnxSupport, emitPool, type ToOnnxOptions, type ParamValue, type EmitPoolSpec } from "./toOnnx.js";
export { fromOrt, toOrt, type OrtTensorLike, type OrtTensorConstructor } from "./interop.js";
export { Graph, attr, irVersionFor, MIN_OPSET, MAX_OPSET, DEFAULT_OPSET, type Attr, type ElemType, type GraphOptions } from "./graph.js";
export { emitAdaptiveValue, type Emitter, type EmitContext, type Emitted, type HostTensor } from "./emitters.js";
export { EMITTERS, NOT_EXPRESSIBLE } from "./methods.js";
export { encodeModel, ProtoWriter, DataType, AttributeType } from "./proto.js";
export { exportModel, EXPORTABLE_TFJS_LAYERS, type ExportModelOptions, type LayersModelLike } from "./model.js";
