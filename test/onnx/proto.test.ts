import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import {
  AttributeType,
  DataType,
  encodeAttribute,
  encodeModel,
  encodeNode,
  encodeTensor,
  encodeValueInfo,
  ProtoWriter,
} from "../../src/onnx/proto.js";
import { attr, Graph, irVersionFor } from "../../src/onnx/graph.js";
import { PoolkitRangeError, tensor } from "../../src/index.js";
import { runOnnx, expectExact } from "./ort.js";

const hex = (b: Uint8Array): string => Array.from(b, (v) => v.toString(16).padStart(2, "0")).join(" ");
const ascii = (s: string): string => Array.from(s, (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join(" ");

describe("protobuf wire format (hand-worked bytes)", () => {
  it("encodes the protobuf guide's examples: field 1 = 150 and field 2 = \"testing\"", () => {
    // protobuf.dev/programming-guides/encoding: "08 96 01" and "12 07 74 65 73 74 69 6e 67".
    expect(hex(new ProtoWriter().int(1, 150).finish())).toBe("08 96 01");
    expect(hex(new ProtoWriter().string(2, "testing").finish())).toBe("12 07 74 65 73 74 69 6e 67");
  });

  it("writes a negative int64 as a 10-byte two's-complement varint", () => {
    expect(hex(new ProtoWriter().varint(-1).finish())).toBe("ff ff ff ff ff ff ff ff ff 01");
    expect(hex(new ProtoWriter().varint(-2n).finish())).toBe("fe ff ff ff ff ff ff ff ff 01");
  });

  it("writes varints above 2^31 exactly", () => {
    // 2^35 = 0x8_0000_0000: five 7-bit groups of zeros, then 1 << (35 − 35).
    expect(hex(new ProtoWriter().varint(2 ** 35).finish())).toBe("80 80 80 80 80 01");
    expect(() => new ProtoWriter().varint(2 ** 60)).toThrow(RangeError);
  });

  it("writes a float attribute: name (1), type (20) = FLOAT, f (2) as fixed32", () => {
    const bytes = encodeAttribute({ name: "alpha", type: AttributeType.FLOAT, f: 0.5 });
    expect(hex(bytes)).toBe(`0a 05 ${ascii("alpha")} a0 01 01 15 00 00 00 3f`);
  });

  it("writes ints as a packed repeated field (8) and a string attribute (4)", () => {
    expect(hex(encodeAttribute({ name: "k", type: AttributeType.INTS, ints: [2, 3] }))).toBe(`0a 01 ${ascii("k")} a0 01 07 42 02 02 03`);
    expect(hex(encodeAttribute({ name: "m", type: AttributeType.STRING, s: "avg" }))).toBe(`0a 01 ${ascii("m")} a0 01 03 22 03 ${ascii("avg")}`);
    expect(hex(encodeAttribute({ name: "f", type: AttributeType.FLOATS, floats: [1] }))).toBe(`0a 01 ${ascii("f")} a0 01 06 3a 04 00 00 80 3f`);
  });

  it("writes a TensorProto: dims (1), data_type (2), name (8), raw_data (9) little-endian", () => {
    const bytes = encodeTensor({ name: "w", dims: [2], dataType: DataType.FLOAT, rawData: new Uint8Array([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]) });
    expect(hex(bytes)).toBe(`0a 01 02 10 01 42 01 ${ascii("w")} 4a 08 00 00 80 3f 00 00 00 40`);
  });

  it("writes a NodeProto: inputs (1), outputs (2), name (3), op_type (4), attributes (5)", () => {
    const bytes = encodeNode({ opType: "Relu", inputs: ["a"], outputs: ["b"], name: "n" });
    expect(hex(bytes)).toBe(`0a 01 ${ascii("a")} 12 01 ${ascii("b")} 1a 01 ${ascii("n")} 22 04 ${ascii("Relu")}`);
  });

  it("writes a ValueInfoProto with a static and a symbolic dimension", () => {
    const bytes = encodeValueInfo({ name: "x", elemType: DataType.FLOAT, shape: [3, "N"] });
    // type (2) { tensor_type (1) { elem_type (1) = 1, shape (2) { dim (1) { dim_value (1) = 3 }, dim { dim_param (2) = "N" } } } }
    // Lengths: dim 3 = 4 bytes (0a 02 08 03), dim "N" = 5 (0a 03 12 01 4e) → shape 9, tensor_type 2 + 2 + 9 = 13, type 15.
    expect(hex(bytes)).toBe(`0a 01 ${ascii("x")} 12 0f 0a 0d 08 01 12 09 0a 02 08 03 0a 03 12 01 ${ascii("N")}`);
  });

  it("writes a ModelProto that ONNX Runtime loads: ir_version, opset_import, graph", async () => {
    const model = encodeModel({
      irVersion: 8,
      opsetImports: [{ domain: "", version: 17 }],
      producerName: "t",
      producerVersion: "0",
      graph: {
        name: "g",
        nodes: [{ opType: "Neg", inputs: ["x"], outputs: ["output"] }],
        initializers: [],
        inputs: [{ name: "x", elemType: DataType.FLOAT, shape: [2] }],
        outputs: [{ name: "output", elemType: DataType.FLOAT, shape: [2] }],
      },
    });
    const session = await ort.InferenceSession.create(model);
    expect(session.inputNames).toEqual(["x"]);
    expect(session.outputNames).toEqual(["output"]);
    await session.release();
    const out = await runOnnx(model, { x: tensor([1, -2.5]) });
    expectExact(out.output!, tensor([-1, 2.5]), "Neg");
  });
});

describe("Graph builder", () => {
  it("builds a model with typed attributes, int64/bool/float initializers and symbolic dims that ORT runs", async () => {
    const g = new Graph({ opset: 18 });
    const x = g.input("x", ["N", 4]);
    const idx = g.constInt64([3, 0]);
    const picked = g.node("Gather", [x, idx], { axis: attr.int(1) });
    const mask = g.addInitializer([1, 0], [1, 2], "bool");
    const y = g.node("Where", [mask, picked, g.constFloat([-1], [])]);
    g.output(y, "output", ["N", 2]);
    const out = await runOnnx(g.toModel(), { x: tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]) });
    expectExact(out.output!, tensor([4, -1, 8, -1], [2, 2]), "Gather/Where");
  });

  it("pairs each opset with its IR version (ONNX's released-versions table)", () => {
    expect([17, 18, 19, 20, 21].map(irVersionFor)).toEqual([8, 8, 9, 9, 10]);
  });

  it("rejects opsets outside 17–21, duplicate value names, a graph without outputs and wrong initializer sizes", () => {
    expect(() => new Graph({ opset: 16 })).toThrow(/toOnnx: opset must be between 17 and 21, got 16/);
    expect(() => new Graph({ opset: 22 })).toThrow(PoolkitRangeError);
    expect(() => new Graph({ opset: 17.5 })).toThrow(/opset must be an integer/);
    const g = new Graph();
    g.input("x", [1]);
    expect(() => g.input("x", [1])).toThrow(/value name "x" is used twice/);
    expect(() => g.toModel()).toThrow(/the graph has no outputs/);
    expect(() => g.addInitializer([1, 2, 3], [2, 2])).toThrow(/initializer of shape \[2, 2\] needs 4 values, got 3/);
  });
});
