/**
 * The test set-up silences TensorFlow.js's "running in Node.js" notice of the cpu backend — and
 * nothing else: tfjs's own warnings still reach the console.
 */
import * as tf from "@tensorflow/tfjs";
import { afterEach, beforeAll, expect, it, vi } from "vitest";
import { quietNodeBanner, useBackend } from "./setup.js";

const BANNER = /looks like you are running TensorFlow\.js in Node\.js/;

/** A fresh, unregistered cpu backend instance (the same class tfjs registers as "cpu"). */
function freshCpuBackend(): tf.KernelBackend {
  const registered = tf.findBackend("cpu");
  if (!registered) throw new Error("no cpu backend");
  const Ctor = registered.constructor as new () => tf.KernelBackend;
  return new Ctor();
}

function warnings(fn: () => void): string[] {
  const spy = vi.spyOn(console, "warn").mockImplementation(() => {});
  try {
    fn();
    return spy.mock.calls.map((args) => args.map(String).join(" "));
  } finally {
    spy.mockRestore();
  }
}

beforeAll(() => useBackend("cpu"));
afterEach(() => vi.restoreAllMocks());

it("a cpu backend prints the Node.js notice on its first write unless quietNodeBanner cleared it", () => {
  // Control: without the set-up's call the notice is printed (so the check below can fail).
  const loud = freshCpuBackend();
  const printed = warnings(() => loud.write(new Float32Array([1]), [1], "float32"));
  expect(printed.some((w) => BANNER.test(w)), printed.join("\n")).toBe(true);
  loud.dispose();

  const quiet = freshCpuBackend();
  expect(quietNodeBanner(quiet)).toBe(true);
  const none = warnings(() => quiet.write(new Float32Array([1]), [1], "float32"));
  expect(none).toEqual([]);
  quiet.dispose();
});

it("the registered cpu backend used by the tests is quiet", () => {
  const printed = warnings(() => {
    tf.tidy(() => {
      const y = tf.add(tf.tensor([1, 2]), 1);
      y.dataSync();
    });
  });
  expect(printed.filter((w) => BANNER.test(w))).toEqual([]);
});

it("tfjs's other warnings still print (no global IS_TEST / PROD switch)", () => {
  expect(tf.env().getBool("IS_TEST")).toBe(false);
  expect(tf.env().getBool("PROD")).toBe(false);
  const printed = warnings(() => tf.deprecationWarn("poolkit banner test"));
  expect(printed.some((w) => w.includes("poolkit banner test"))).toBe(true);
});
