import { describe, expect, it } from "vitest";
import { detailPreservingPool2d, Generator, tensor } from "../../src/index.js";
import { toOnnx } from "../../src/onnx/index.js";
import { compareWithPoolkit, expectClose, runOnnx } from "./ort.js";

const gen = new Generator(5);
const normals = (n: number, scale = 1): number[] => Array.from({ length: n }, () => scale * gen.normal());

describe("weighted windows: SoftPool and LIP", () => {
  it("SoftPool 1d–3d with padding, overlapping windows and huge values (per-window max stabilisation)", async () => {
    await compareWithPoolkit({ method: "soft", xShape: [2, 3, 11], options: { kernelSize: 3, stride: 2, padding: 1 } });
    await compareWithPoolkit({ method: "soft", xShape: [1, 2, 7, 6], options: { kernelSize: [3, 2], stride: 1, padding: [1, 1] }, x: normals(84, 300) });
    await compareWithPoolkit({ method: "soft", xShape: [1, 2, 5, 4, 6], options: { kernelSize: 2 } });
  });

  it("LIP with logits in the hundreds (per-window stabilisation) and without padding", async () => {
    const logits = tensor(normals(2 * 3 * 9 * 7, 500), [2, 3, 9, 7]);
    await compareWithPoolkit({ method: "lip", xShape: [2, 3, 9, 7], options: { kernelSize: 3, stride: 2, padding: 1 }, inputs: { logits } });
    await compareWithPoolkit({ method: "lip", xShape: [1, 2, 6, 6], options: { kernelSize: 2, stride: 2, padding: 0 } });
  });
});

describe("stochastic methods in eval mode", () => {
  it("mixed pooling: every eval rule, per-channel frequencies, padding and ceil mode", async () => {
    const base = { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, training: false };
    for (const evalMode of ["max", "avg", "mean-of-both"]) {
      await compareWithPoolkit({ method: "mixed", xShape: [2, 3, 7, 8], options: { ...base, evalMode }, exact: evalMode === "max" });
    }
    await compareWithPoolkit({ method: "mixed", xShape: [2, 3, 7, 8], options: { ...base, evalMode: "frequency", maxFrequency: [0.2, 0.5, 0.9] } });
    await compareWithPoolkit({ method: "mixed", xShape: [2, 3, 7, 8], options: { ...base, countIncludePad: false, maxFrequency: 0.3 } });
  });

  it("stochastic pooling eval Σx²/Σx of relu(x) with overhanging Caffe windows and all-zero windows", async () => {
    const x = normals(2 * 2 * 7 * 5).map((v, i) => (i < 20 ? 0 : v));
    await compareWithPoolkit({ method: "stochastic", xShape: [2, 2, 7, 5], x, options: { kernelSize: 3, stride: 2, training: false } });
    await compareWithPoolkit({ method: "stochastic", xShape: [1, 2, 6, 6], options: { kernelSize: 2, training: false } });
  });

  it("S3Pool eval for kernel, grid and stride combinations", async () => {
    await compareWithPoolkit({ method: "s3pool", xShape: [2, 3, 8, 8], options: { kernelSize: 2, gridSize: 4, stride: 2, training: false } });
    await compareWithPoolkit({ method: "s3pool", xShape: [1, 2, 12, 6], options: { kernelSize: 3, gridSize: 6, stride: 2, training: false } });
  });
});

describe("learned pooling with parameters as initializers", () => {
  it("learned mix: clamped (values outside [0, 1]) and sigmoid, per layer and per channel", async () => {
    await compareWithPoolkit({ method: "learnedmix", xShape: [2, 3, 7, 8], options: { kernelSize: 3, stride: 2 }, inputs: { alpha: tensor([1.3]) } });
    await compareWithPoolkit({ method: "learnedmix", xShape: [2, 3, 7, 8], options: { sharing: "channel", mixing: "sigmoid" }, inputs: { alpha: tensor([-2, 0.1, 3]) } });
  });

  it("gated and tree pooling per layer and per channel, with overhanging last windows", async () => {
    for (const sharing of ["layer", "channel"]) {
      await compareWithPoolkit({ method: "gated", xShape: [2, 3, 8, 7], options: { kernelSize: 3, stride: 2, sharing } });
      await compareWithPoolkit({ method: "tree", xShape: [2, 3, 8, 7], options: { kernelSize: [2, 3], stride: [2, 2], sharing } });
    }
  });

  it("DPP lite, symmetric and asymmetric, with large λ (poolkit's overflow-safe rescaling)", async () => {
    for (const reward of ["symmetric", "asymmetric"]) {
      await compareWithPoolkit({ method: "dpp", xShape: [2, 3, 6, 8], options: { reward } });
      await compareWithPoolkit({
        method: "dpp",
        xShape: [1, 2, 4, 4],
        options: { reward },
        inputs: { alpha: tensor([12, -3]), lambda: tensor([7, 0.5]) },
        rtol: 1e-4,
      });
    }
  });

  it("DPP full variant: the learned 3×3 guidance filter as a depthwise Conv", async () => {
    const x = tensor(normals(2 * 3 * 6 * 8), [2, 3, 6, 8]);
    const alpha = tensor([0.2, -0.4, 1]);
    const lambda = tensor([0.5, 1.5, -1]);
    const filter = tensor(normals(27, 0.5), [3, 1, 3, 3]);
    for (const reward of ["symmetric", "asymmetric"] as const) {
      const model = toOnnx("dpp", { inputShape: [2, 3, 6, 8], options: { reward }, params: { alpha, lambda, filter } });
      const { output } = await runOnnx(model, { x });
      expectClose(output!, detailPreservingPool2d(x, alpha, lambda, filter, { reward }), `dpp full ${reward}`, 1e-4, 1e-5);
    }
    expect(() => toOnnx("dpp", { inputShape: [2, 3, 6, 8], params: { alpha, lambda, filter: [1, 2] } })).toThrow("toOnnx: params.filter needs its shape: pass a Tensor or { data, shape }");
  });

  it("DynOPool with non-default frozen ratios and offsets (output size from r), NaN wins the max", async () => {
    const { y } = await compareWithPoolkit({ method: "dynopool", xShape: [2, 3, 9, 10], options: {}, inputs: { r: tensor([1.7, 2.6]), delta: tensor([0.1, 0.4]) } });
    expect(y.shape).toEqual([2, 3, 5, 4]);
    await compareWithPoolkit({ method: "dynopool", xShape: [1, 2, 5, 5], options: {}, inputs: { r: tensor([0.8, 3]), delta: tensor([-0.3, 0.7]) } });
    const x = normals(50);
    x[7] = NaN;
    await compareWithPoolkit({ method: "dynopool", xShape: [1, 2, 5, 5], x, options: {}, inputs: { r: tensor([2, 2]), delta: tensor([0.25, 0.25]) } });
  });
});
