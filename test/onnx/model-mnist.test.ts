/**
 * The MNIST example exported to ONNX: for every poolkit layer the example's network takes (enumerated
 * from the registry by examples/export-mnist.ts), train briefly on real digits, export the trained
 * model with exportModel, run it in onnxruntime-node (default graph optimisations) on the test digits
 * and require tfjs's predictions exactly: the same digit on every test image and every softmax
 * probability within 1e-5. Training is one short step (the check is the exporter's exactness on
 * trained weights, not accuracy); LIP's logit convolution is slow on tfjs's cpu backend, so it gets
 * fewer digits.
 */
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { argmaxRows, mnistExportableMethods, trainAndExport } from "../../examples/export-mnist.js";
import { useBackend } from "../tfjs/setup.js";

// Before collecting: building the example's models (to enumerate them) needs an initialised backend.
await useBackend("cpu");
beforeAll(() => useBackend("cpu"));

const methods = mnistExportableMethods().map((m) => m.name);

describe("MNIST example → ONNX Runtime reproduces tfjs's test predictions", () => {
  it("covers the example's poolkit layers", () => {
    // The example's own sweep list is a subset of what is exported here.
    for (const m of ["Max", "Average", "SoftPool", "LIP", "Mixed", "Stochastic", "DPP", "GatedMix", "DynOPool", "FractionalMax"]) expect(methods).toContain(m);
  });

  for (const method of methods) {
    it(method, async () => {
      const slow = method === "LIP";
      const test = slow ? 40 : 100;
      const r = await trainAndExport({ method, train: slow ? 4 : 20, batch: slow ? 4 : 20, test, epochs: 1, seed: 3 });
      const session = await ort.InferenceSession.create(r.onnx);
      const out = await session.run({ [session.inputNames[0] as string]: new ort.Tensor("float32", r.images, [test, 28, 28, 1]) });
      const got = out[session.outputNames[0] as string]?.data as Float32Array;
      await session.release();
      expect(got.length).toBe(test * 10);
      expect(argmaxRows(got)).toEqual(argmaxRows(r.predictions));
      for (let i = 0; i < got.length; i++) {
        const want = r.predictions[i] as number;
        if (!(Math.abs((got[i] as number) - want) <= 1e-5 + 1e-5 * Math.abs(want))) throw new Error(`${method}: probability ${i}: onnx ${got[i]}, tfjs ${want}`);
      }
    });
  }
});
