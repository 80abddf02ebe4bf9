import { describe, expect, it } from "vitest";
import { PoolkitRangeError, PoolkitTypeError, tensor } from "../../src/index.js";
import { onnxSupport, toOnnx } from "../../src/onnx/index.js";

describe("toOnnx rejects bad input at once, naming what was expected and what was got", () => {
  it("the method's own option checks run before anything is built", () => {
    expect(() => toOnnx("max", { inputShape: [1, 1, 4, 4], options: { kernelSize: 3, padding: 2 } })).toThrow(
      "maxPool2d: padding must be at most half the kernel size, got padding 2 for kernelSize 3",
    );
    expect(() => toOnnx("soft", { inputShape: [1, 1, 4, 4], options: { kernelSize: 2, bogus: 1 } })).toThrow(/softPool2d: .*bogus/);
    expect(() => toOnnx("nope", { inputShape: [1, 1, 4] })).toThrow(/getPool: unknown pooling method "nope"/);
  });

  it("inputShape, opset and unknown keys", () => {
    expect(() => toOnnx("max", { inputShape: [1, 1, 0], options: { kernelSize: 1 } })).toThrow(PoolkitTypeError);
    expect(() => toOnnx("adaptiveavg", { inputShape: [1, 3, "H", "W"] as never, options: { outputSize: 3 } })).toThrow(PoolkitRangeError);
    expect(() => toOnnx("adaptiveavg", { inputShape: [-1, 3, 8, 8], options: { outputSize: 3 } })).toThrow(
      "toOnnx: dynamic input shapes cannot be expressed: poolkit plans every window, adaptive bin and divisor from the static input shape at export time; give every dimension as a number, got inputShape [-1, 3, 8, 8]",
    );
    expect(() => toOnnx("max", { inputShape: [1, 1, 4, 4, 4, 4], options: { kernelSize: 1 } })).toThrow(
      "toOnnx: Max takes [N, C, ...spatial] with 1 or 2 or 3 spatial dims, got inputShape [1, 1, 4, 4, 4, 4]",
    );
    expect(() => toOnnx("dpp", { inputShape: [1, 1, 4], params: {} })).toThrow(/toOnnx: DPP takes \[N, C, \.\.\.spatial\] with 2 spatial dims/);
    expect(() => toOnnx("max", { inputShape: [1, 1, 4], options: { kernelSize: 2 }, opset: 13 })).toThrow("toOnnx: opset must be between 17 and 21, got 13");
    expect(() => toOnnx("max", { inputShape: [1, 1, 4], options: { kernelSize: 2 }, dtype: "float64" } as never)).toThrow(
      `toOnnx: unknown option "dtype"; known: inputShape, options, params, inputShapes, opset, withIndices`,
    );
    expect(() => toOnnx("max", null as never)).toThrow(PoolkitTypeError);
  });

  it("learnable parameters: required, known names only, right size", () => {
    expect(() => toOnnx("dpp", { inputShape: [1, 2, 4, 4] })).toThrow(PoolkitRangeError);
    expect(() => toOnnx("dpp", { inputShape: [1, 2, 4, 4] })).toThrow(/toOnnx: DPP: params.alpha is required/);
    expect(() => toOnnx("dpp", { inputShape: [1, 2, 4, 4], params: { alpha: [0, 0], lambda: [0, 0], beta: [1] } })).toThrow(
      "toOnnx: params.beta is not a learnable input of DPP; its learnable inputs: alpha, lambda",
    );
    expect(() => toOnnx("dpp", { inputShape: [1, 2, 4, 4], params: { alpha: [0], lambda: [0, 0] } })).toThrow("toOnnx: params.alpha must have 2 values for shape [2], got 1");
    expect(() => toOnnx("dpp", { inputShape: [1, 2, 4, 4], params: { alpha: "x" as never, lambda: [0, 0] } })).toThrow(PoolkitTypeError);
    expect(() => toOnnx("soft", { inputShape: [1, 2, 4, 4], options: { kernelSize: 2 }, params: { alpha: [1] } })).toThrow(
      "toOnnx: params.alpha is not a learnable input of SoftPool; its learnable inputs: none",
    );
    expect(() => toOnnx("lip", { inputShape: [1, 2, 4, 4], inputShapes: { gate: [1] } })).toThrow(`toOnnx: inputShapes.gate: LIP has no input "gate"`);
  });

  it("what ONNX cannot express: training-time randomness, random fractional windows, SVD-based methods", () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ["mixed", { kernelSize: 2 }, "Mixed cannot be expressed in ONNX: its training mode draws random numbers on every call"],
      ["stochastic", { kernelSize: 2, training: true }, "Stochastic cannot be expressed in ONNX: its training mode"],
      ["s3pool", {}, "S3Pool cannot be expressed in ONNX: its training mode"],
      ["fractional", { kernelSize: 2, outputRatio: 0.5, seed: 1 }, "FractionalMax cannot be expressed in ONNX: it draws its windows at random on every call"],
      ["grassmann", { k: 2 }, "Grassmann cannot be expressed in ONNX: it needs the top-k singular vectors"],
      ["grassmann-compact", { k: 2 }, "GrassmannCompact cannot be expressed in ONNX: it needs the top-k singular vectors"],
    ];
    for (const [name, options, message] of cases) {
      expect(() => toOnnx(name, { inputShape: [1, 2, 8, 8], options, params: {} }), name).toThrow(PoolkitRangeError);
      expect(() => toOnnx(name, { inputShape: [1, 2, 8, 8], options, params: {} }), name).toThrow(`toOnnx: ${message}`);
      const support = onnxSupport(name, options);
      expect(support.supported).toBe(false);
    }
    expect(onnxSupport("mixed", { kernelSize: 2, training: false })).toEqual({ supported: true });
    const samples = tensor(new Array(4).fill(0.5), [1, 2, 2]);
    expect(onnxSupport("fractional", { kernelSize: 2, outputRatio: 0.5, samples })).toEqual({ supported: true });
  });
});
