import { describe, it } from "vitest";
import { detailPreservingPool2d, Generator, learnedMixPool2d, maxPool2d, tensor } from "../../src/index.js";
import { emitPool, Graph } from "../../src/onnx/index.js";
import { expectClose, runOnnx } from "./ort.js";

const gen = new Generator(4);

describe("emitPool: methods as building blocks of a larger graph (what a model exporter reuses)", () => {
  it("chains DPP → max pool → learned mix in one graph, parameters under per-layer prefixes", async () => {
    const g = new Graph({ opset: 17 });
    const x = g.input("x", [2, 3, 12, 8]);
    const noData = () => null;
    const alpha = tensor([0.3, -0.2, 0.1]);
    const lambda = tensor([0.5, 1, 2]);
    const mix = tensor([0.7]);
    const a = emitPool(g, "dpp", { x, xShape: [2, 3, 12, 8], options: {}, params: { alpha, lambda }, prefix: "pool1/", dataInput: noData });
    const b = emitPool(g, "max", { x: a.output, xShape: a.shape, options: { kernelSize: 2, stride: 1, padding: 1 }, params: {}, prefix: "pool2/", dataInput: noData });
    const c = emitPool(g, "learnedmix", { x: b.output, xShape: b.shape, options: { kernelSize: 3, stride: 2 }, params: { alpha: mix }, prefix: "pool3/", dataInput: noData });
    g.output(c.output, "output", c.shape);
    const xv = tensor(Array.from({ length: 576 }, () => gen.normal()), [2, 3, 12, 8]);
    const { output } = await runOnnx(g.toModel(), { x: xv });
    const want = learnedMixPool2d(maxPool2d(detailPreservingPool2d(xv, alpha, lambda), { kernelSize: 2, stride: 1, padding: 1 }), mix, { kernelSize: 3, stride: 2 });
    expectClose(output!, want, "chain");
  });
});
