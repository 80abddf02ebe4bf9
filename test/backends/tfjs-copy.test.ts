/**
 * poolkit/tfjs hands tfjs copies, never views of poolkit's WebAssembly memory: tfjs keeps the array
 * it is given, and a freed block is handed to the next tensor of its size class.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, expect, it } from "vitest";
import { getBackend, setBackend } from "../../src/backends/index.js";
import { fromCore, toCore } from "../../src/tfjs/convert.js";
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

it("toCore copies a tf.Tensor once, straight into WebAssembly memory (both layouts), values intact", async () => {
  await tf.setBackend("cpu");
  setBackend("wasm-simd");
  // [N=1, H=2, W=3, C=2] channels-last → [1, 2, 2, 3] channels-first
  const values = [0, 100, 1, 101, 2, 102, 10, 110, 11, 111, 12, 112];
  const t = tf.tensor(values, [1, 2, 3, 2]);
  const same = toCore("test", "x", t, false);
  expect(same.storage.heap).not.toBeNull();
  expect(same.shape).toEqual([1, 2, 3, 2]);
  expect(Array.from(same.data)).toEqual(values);
  const first = toCore("test", "x", t, true);
  expect(first.storage.heap).not.toBeNull();
  expect(first.shape).toEqual([1, 2, 2, 3]);
  expect(Array.from(first.data)).toEqual([0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112]);
  setBackend("js");
  expect(toCore("test", "x", t, true).storage.heap).toBeNull();
  t.dispose();
});
