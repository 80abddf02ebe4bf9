import { describe, expect, it } from "vitest";
import { compactBilinearParams, Generator, tensor } from "../../src/index.js";
import { PoolkitRangeError } from "../../src/index.js";
import { toOnnx } from "../../src/onnx/index.js";
import { compareWithPoolkit } from "./ort.js";

const gen = new Generator(9);
const normals = (n: number): number[] => Array.from({ length: n }, () => gen.normal());

describe("bilinear family", () => {
  it("B-CNN: two streams, homogeneous (b omitted), mean pooling, post-processing switched off", async () => {
    const b = tensor(normals(2 * 4 * 5 * 6), [2, 4, 5, 6]);
    await compareWithPoolkit({ method: "bilinear", xShape: [2, 3, 5, 6], options: {}, inputs: { b } });
    await compareWithPoolkit({ method: "bilinear", xShape: [2, 3, 5, 6], options: { pooling: "mean" }, inputShapes: { b: null } });
    await compareWithPoolkit({ method: "bilinear", xShape: [2, 3, 5, 6], options: { signedSqrt: false, l2: false }, inputs: { b } });
  });

  it("low-rank bilinear: tanh and identity, mean / sum / none, a broadcast question vector, omitted biases", async () => {
    const y = tensor(normals(2 * 5 * 4 * 3), [2, 5, 4, 3]);
    const U = tensor(normals(6 * 3), [6, 3]);
    const V = tensor(normals(6 * 5), [6, 5]);
    const P = tensor(normals(4 * 6), [4, 6]);
    for (const pooling of ["mean", "sum", "none"]) {
      for (const activation of ["tanh", "identity"]) {
        await compareWithPoolkit({ method: "mlb", xShape: [2, 3, 4, 3], options: { pooling, activation, rank: 6, outputDim: 4 }, inputs: { y, U, V, P }, rtol: 1e-4, atol: 1e-4 });
      }
    }
    const q = tensor(normals(2 * 5), [2, 5]);
    await compareWithPoolkit({ method: "mlb", xShape: [2, 3, 4, 3], options: { rank: 6, outputDim: 4 }, inputs: { y: q, U, V, P } });
    await compareWithPoolkit({ method: "mlb", xShape: [2, 3, 4, 3], options: { rank: 6, outputDim: 4 }, inputs: { y, U, V, P }, inputShapes: { bU: null, bV: null, bP: null } });
  });

  it("compact bilinear: tensor sketch and random Maclaurin, homogeneous and two streams, per location, saved params", async () => {
    const b = tensor(normals(2 * 4 * 5 * 3), [2, 4, 5, 3]);
    for (const method of ["tensor-sketch", "random-maclaurin"]) {
      await compareWithPoolkit({ method: "cbp", xShape: [2, 3, 5, 3], options: { outputDim: 32, method, seed: 4 }, inputShapes: { b: null }, rtol: 1e-4, atol: 1e-5 });
      await compareWithPoolkit({ method: "cbp", xShape: [2, 3, 5, 3], options: { outputDim: 20, method }, inputs: { b }, rtol: 1e-4, atol: 1e-5 });
      await compareWithPoolkit({ method: "cbp", xShape: [2, 3, 5, 3], options: { outputDim: 16, method, sumPool: false }, inputs: { b }, rtol: 1e-4, atol: 1e-5 });
    }
    // MCB: a question vector [N, C2] broadcast to every location.
    const q = tensor(normals(2 * 4), [2, 4]);
    await compareWithPoolkit({ method: "cbp", xShape: [2, 3, 5, 3], options: { outputDim: 20 }, inputs: { b: q }, rtol: 1e-4, atol: 1e-5 });
    await compareWithPoolkit({ method: "cbp", xShape: [2, 3, 5, 3], options: { outputDim: 20, method: "random-maclaurin", sumPool: false }, inputs: { b: q }, rtol: 1e-4, atol: 1e-5 });
    const params = compactBilinearParams(3, 3, { outputDim: 24, seed: 11 });
    await compareWithPoolkit({ method: "cbp", xShape: [2, 3, 5, 3], options: { params }, inputShapes: { b: null }, rtol: 1e-4, atol: 1e-5 });
  });
});

describe("covariance pooling", () => {
  it("Newton–Schulz for 1, 2 and 5 iterations, with eps, full output, and 'none'", async () => {
    for (const iterations of [1, 2, 5]) {
      await compareWithPoolkit({ method: "cov", xShape: [2, 4, 5, 6], options: { normalization: "newton-schulz", iterations }, rtol: 1e-5, atol: 1e-6 });
    }
    await compareWithPoolkit({ method: "cov", xShape: [2, 4, 5, 6], options: { normalization: "newton-schulz", eps: 0.1, output: "full" }, atol: 1e-6 });
    await compareWithPoolkit({ method: "cov", xShape: [2, 4, 5, 6], options: { normalization: "none", eps: 0.01 }, atol: 1e-6 });
  });

  it("a constant map (trace 0) gives 0, as poolkit's guard", async () => {
    const x = [...new Array<number>(30).fill(2), ...normals(30)];
    const { y } = await compareWithPoolkit({ method: "cov", xShape: [2, 3, 2, 5], x, options: { normalization: "newton-schulz" }, atol: 1e-6 });
    expect(Array.from(y.data.slice(0, 6))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("logm and sqrtm need an eigendecomposition: a clear error naming the alternatives", () => {
    for (const normalization of ["logm", "sqrtm"]) {
      expect(() => toOnnx("cov", { inputShape: [1, 3, 4, 4], options: { normalization } })).toThrow(PoolkitRangeError);
      expect(() => toOnnx("cov", { inputShape: [1, 3, 4, 4], options: { normalization } })).toThrow(
        `toOnnx: Covariance cannot be expressed in ONNX: normalization "${normalization}" needs an eigendecomposition, which standard ONNX has no operator for; use "newton-schulz" (unrolled matrix products) or "none"`,
      );
    }
  });
});
