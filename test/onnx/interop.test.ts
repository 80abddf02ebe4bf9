import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { PoolkitRangeError, PoolkitTypeError, tensor } from "../../src/index.js";
import { fromOrt, toOrt } from "../../src/onnx/index.js";

describe("fromOrt / toOrt", () => {
  it("round-trip float32, float64 and int32 with shapes, copying in both directions", () => {
    for (const dtype of ["float32", "float64", "int32"] as const) {
      const t = tensor([1, -2, 3, 4, 5, 6], [2, 3], dtype);
      const o = toOrt(t, ort.Tensor);
      expect(o.type).toBe(dtype);
      expect(o.dims).toEqual([2, 3]);
      expect(Array.from(o.data as ArrayLike<number>)).toEqual([1, -2, 3, 4, 5, 6]);
      expect(o.data).not.toBe(t.data); // a copy: poolkit's view may be re-created, ORT may keep its buffer
      (o.data as Float32Array)[0] = 99;
      expect(t.data[0]).toBe(1);
      const back = fromOrt(o);
      expect(back.dtype).toBe(dtype);
      expect(back.shape).toEqual([2, 3]);
      expect(Array.from(back.data)).toEqual([99, -2, 3, 4, 5, 6]);
      (o.data as Float32Array)[1] = 42;
      expect(back.data[1]).toBe(-2);
    }
  });

  it("int64 (ONNX's index type) becomes int32 when it fits, else a RangeError", () => {
    const ok = fromOrt(new ort.Tensor("int64", BigInt64Array.from([0n, -5n, 2147483647n]), [3]));
    expect(ok.dtype).toBe("int32");
    expect(Array.from(ok.data)).toEqual([0, -5, 2147483647]);
    expect(() => fromOrt(new ort.Tensor("int64", BigInt64Array.from([2147483648n]), [1]))).toThrow(PoolkitRangeError);
    expect(() => fromOrt(new ort.Tensor("int64", BigInt64Array.from([2147483648n]), [1]))).toThrow("fromOrt: int64 value 2147483648 at flat index 0 does not fit in int32");
  });

  it("rejects what is not an ORT tensor, unsupported element types and a missing constructor", () => {
    expect(() => fromOrt({} as never)).toThrow(PoolkitTypeError);
    expect(() => fromOrt(new ort.Tensor("uint8", Uint8Array.from([1]), [1]))).toThrow(`fromOrt: tensor type must be float32, float64, int32 or int64, got "uint8"`);
    expect(() => fromOrt({ type: "float32", data: [1, 2], dims: [2] })).toThrow("fromOrt: a float32 tensor must hold a typed array, got [1, 2]");
    expect(() => toOrt(tensor([1]), undefined as never)).toThrow("toOrt: expected an ONNX Runtime Tensor constructor (ort.Tensor), got undefined");
    expect(() => toOrt([1] as never, ort.Tensor)).toThrow(PoolkitTypeError);
  });
});
