import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Tensor, tensor, zeros, full } from "../src/tensor/tensor.js";

describe("tensor()", () => {
  it("accepts nested arrays and infers the shape", () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe("float32");
    expect(t.size).toBe(6);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
  });

  it("accepts flat values with a shape, in every dtype", () => {
    expect(tensor([1, 2, 3, 4], [2, 2], "float64").data).toBeInstanceOf(Float64Array);
    const i = tensor([1, -2, 3, 4], [1, 4], "int32");
    expect(i.data).toBeInstanceOf(Int32Array);
    expect(i.toArray()).toEqual([[1, -2, 3, 4]]);
    expect(tensor(new Float32Array([1, 2]), [2, 1]).toArray()).toEqual([[1], [2]]);
  });

  it("copies its values: changing the source later does not change the tensor", () => {
    const src = new Float64Array([1, 2, 3]);
    const t = tensor(src, [3], "float64");
    src[0] = 99;
    expect(t.data[0]).toBe(1);
  });

  it("rounds float32 values as Float32Array does", () => {
    expect(tensor([0.1]).data[0]).toBe(Math.fround(0.1));
  });

  it("keeps NaN and infinities", () => {
    const t = tensor([NaN, Infinity, -Infinity], [3], "float64");
    expect(Number.isNaN(t.data[0])).toBe(true);
    expect(t.data[1]).toBe(Infinity);
  });

  it("rejects a shape that does not match the values", () => {
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/^tensor: shape \[2, 2\] needs 4 values, got 3/);
    expect(() => tensor([[1, 2], [3]])).toThrow(/^tensor: nested arrays are ragged/);
  });

  it("rejects negative, fractional and non-numeric dims", () => {
    expect(() => tensor([1], [-1])).toThrow(RangeError);
    expect(() => tensor([1, 2], [1.5])).toThrow(/tensor: shape must hold non-negative integers, got \[1.5\]/);
  });

  it("rejects unknown dtypes and non-integers for int32", () => {
    expect(() => tensor([1], [1], "float16" as never)).toThrow(/tensor: dtype must be "float32", "float64" or "int32", got "float16"/);
    expect(() => tensor([1.5], [1], "int32")).toThrow(/tensor: int32 values must be 32-bit integers, got 1.5/);
  });

  it("rejects non-array values", () => {
    expect(() => tensor("abc" as never)).toThrow(TypeError);
    expect(() => tensor([1, "a" as never])).toThrow(/tensor: values must be numbers/);
  });

  it("reshape shares nothing writable and checks the size", () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.reshape([3, 2]).toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(() => t.reshape([4, 2])).toThrow(/reshape: cannot reshape/);
  });

  it("zeros/full and rank-0 toArray", () => {
    expect(zeros([2, 2]).toArray()).toEqual([[0, 0], [0, 0]]);
    expect(full([2], 3, "int32").toArray()).toEqual([3, 3]);
    expect(tensor(5).toArray()).toBe(5);
    expect(tensor(5).shape).toEqual([]);
  });

  it("shape is frozen", () => {
    const t = tensor([1, 2]);
    expect(Object.isFrozen(t.shape)).toBe(true);
    expect(t).toBeInstanceOf(Tensor);
  });

  it("round-trips random nested arrays (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer(), (a, b, seed) => {
        const nested = Array.from({ length: a }, (_, i) => Array.from({ length: b }, (_, j) => (seed % 1000) + i * b + j));
        const t = tensor(nested, undefined, "float64");
        expect(t.shape).toEqual([a, b]);
        expect(t.toArray()).toEqual(nested);
      }),
    );
  });
});
