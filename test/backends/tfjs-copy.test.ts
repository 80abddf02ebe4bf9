/**
 * poolkit/tfjs hands tfjs copies, never views of poolkit's WebAssembly memory: tfjs keeps the array
 * it is given, and a freed block is handed to the next tensor of its size class.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, expect, it } from "vitest";
import { getBackend, setBackend } from "../../src/backends/index.js";
import { fromCore } from "../../src/tfjs/convert.js";
import { tensor } from "../../src/tensor/tensor.js";

const before = getBackend();
afterAll(() => setBackend(before));

it("fromCore's tf.Tensor keeps its values after the poolkit tensor is disposed and its block reused", async () => {
  await tf.setBackend("cpu");
  setBackend("wasm-simd");
  const t = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
  const tt = fromCore(t);
  t.dispose();
  const u = tensor([9, 9, 9, 9], [1, 1, 2, 2]); // same size class: reuses t's block
  expect(u.storage.ptr).toBeGreaterThan(0);
  expect(Array.from(tt.dataSync())).toEqual([1, 2, 3, 4]);
  tt.dispose();
});
