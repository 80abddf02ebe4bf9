import { describe, expect, it } from "vitest";
import { listPools, PoolkitRangeError } from "../../src/index.js";
import { EMITTERS, NOT_EXPRESSIBLE, onnxSupport, toOnnx } from "../../src/onnx/index.js";
import { compareWithPoolkit } from "./ort.js";
import { EXACT_METHODS, inferenceOptions, SHAPES } from "./cases.js";

describe("every registry method either exports and matches poolkit in ONNX Runtime, or says why it cannot", () => {
  const names = listPools().map((m) => m.name);

  it("every method has an emitter or a documented reason, never both, and nothing else is listed", () => {
    for (const n of names) expect(Number(n in EMITTERS) + Number(n in NOT_EXPRESSIBLE), n).toBe(1);
    for (const n of [...Object.keys(EMITTERS), ...Object.keys(NOT_EXPRESSIBLE)]) expect(names).toContain(n);
  });

  for (const m of listPools()) {
    for (const rank of m.dims) {
      const xShape = SHAPES[rank];
      it(`${m.name} ${rank}d with the registry's example options`, async () => {
        const options = { ...m.defaults };
        const support = onnxSupport(m, options);
        if (support.supported) {
          await compareWithPoolkit({ method: m.name, xShape, options, exact: EXACT_METHODS.has(m.name) });
        } else {
          expect(() => toOnnx(m, { inputShape: xShape, options })).toThrow(PoolkitRangeError);
          expect(() => toOnnx(m, { inputShape: xShape, options })).toThrow(`toOnnx: ${m.name} cannot be expressed in ONNX: ${support.reason}`);
        }
      });
      if (NOT_EXPRESSIBLE[m.name] !== undefined) continue;
      it(`${m.name} ${rank}d for inference (eval mode, fixed samples, an expressible normalisation) exports and matches, opsets 17 and 21`, async () => {
        for (const opset of [17, 21]) {
          await compareWithPoolkit({ method: m.name, xShape, options: inferenceOptions(m, rank), exact: EXACT_METHODS.has(m.name), opset });
        }
      });
    }
  }
});
