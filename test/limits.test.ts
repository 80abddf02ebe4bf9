/**
 * Sizes that could never be allocated are a PoolkitRangeError naming the op, the shape and the limit,
 * thrown before anything is allocated (issue: adaptiveAvgPool2d with outputSize [1e9, 1e9] spent 72 s
 * and 11.5 GB before V8's bare "Array buffer allocation failed"; zeros([1e5, 1e5]) gave V8's
 * "Invalid typed array length" with no op name). Every size here would need gigabytes to terabytes:
 * a missing check shows up as a bare V8 error (or an out-of-memory failure), not a slow pass.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as pk from "../src/index.js";
import { PoolkitRangeError } from "../src/errors.js";
import { allocLimit, checkAlloc, HEAP_LIMIT, setAllocLimit } from "../src/tensor/limits.js";
import { allocArray } from "../src/tensor/alloc.js";
import { full, tensor, zeros } from "../src/tensor/tensor.js";
import { rand, randn } from "../src/tensor/random.js";

function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** A PoolkitRangeError starting with the op name and stating the limit. */
function expectLimitError(call: () => unknown, op: string, shapeText?: string): void {
  const e = thrown(call);
  expect(e, `${op}: nothing thrown`).toBeInstanceOf(PoolkitRangeError);
  const msg = (e as Error).message;
  expect(msg.startsWith(`${op}: `), msg).toBe(true);
  expect(msg, msg).toContain(String(allocLimit().elements));
  if (shapeText) expect(msg, msg).toContain(shapeText);
}

const x4 = tensor(new Float32Array(16), [1, 1, 4, 4]);

describe("tensor creation past the limit", () => {
  it("zeros/full/rand/randn([1e5, 1e5]) name the function and the shape", () => {
    expectLimitError(() => zeros([1e5, 1e5]), "zeros", "[100000, 100000]");
    expectLimitError(() => full([1e5, 1e5], 1), "full", "[100000, 100000]");
    expectLimitError(() => rand([1e5, 1e5]), "rand", "[100000, 100000]");
    expectLimitError(() => randn([1e5, 1e5]), "randn", "[100000, 100000]");
    expectLimitError(() => zeros([1e5, 1e5], "float64"), "zeros");
  });

  it("a product beyond 2^53 is still refused (no float wrap-around), and a zero dim makes it empty", () => {
    expectLimitError(() => zeros([2 ** 40, 2 ** 40, 2 ** 40]), "zeros");
    expectLimitError(() => zeros([1e300, 1e300]), "zeros");
    expect(zeros([0, 1e300]).size).toBe(0);
  });

  it("rand/randn reject bad shapes and dtypes as their own errors", () => {
    for (const bad of [[-1], [1.5], ["3"]] as unknown as number[][]) {
      const e = thrown(() => rand(bad));
      expect(e instanceof TypeError || e instanceof RangeError).toBe(true);
      expect((e as Error).message.startsWith("rand: "), (e as Error).message).toBe(true);
    }
    expect(() => randn([2], { dtype: "int32" as "float32" })).toThrow(/^randn: dtype must be/);
  });

  it("an allocation the engine refuses (out of memory, a lower engine limit) is an op error too", () => {
    const real = globalThis.Float64Array;
    const x = tensor(new Float64Array(16), [1, 1, 4, 4], "float64");
    let err: unknown;
    try {
      // the engine's failure, simulated: "Array buffer allocation failed" is V8's message
      (globalThis as { Float64Array: unknown }).Float64Array = class {
        constructor() {
          throw new RangeError("Array buffer allocation failed");
        }
      };
      pk.adaptiveAvgPool2d(x, { outputSize: 3 });
    } catch (e) {
      err = e;
    } finally {
      (globalThis as { Float64Array: unknown }).Float64Array = real;
    }
    expect(err).toBeInstanceOf(PoolkitRangeError);
    expect((err as Error).message).toMatch(/^adaptiveAvgPool2d: cannot allocate \d+ float64 elements: Array buffer allocation failed$/);
  });

  it("the allocator names the running op; outside any op it says allocate", () => {
    expect(() => allocArray("float32", 2 ** 40)).toThrow(/^allocate: .*1099511627776 elements/);
  });
});

describe("op output sizes past the limit", () => {
  it("adaptiveAvgPool2d outputSize [1e9, 1e9]: forward and outputShape throw", () => {
    expectLimitError(() => pk.adaptiveAvgPool2d(x4, { outputSize: [1e9, 1e9] }), "adaptiveAvgPool2d", "[1, 1, 1000000000, 1000000000]");
    expectLimitError(() => pk.adaptiveAvgPool2d.outputShape([1, 1, 4, 4], { outputSize: [1e9, 1e9] }), "adaptiveAvgPool2d", "[1, 1, 1000000000, 1000000000]");
    expectLimitError(() => pk.adaptiveAvgPool2d.vjp(x4, { outputSize: [1e9, 1e9] }), "adaptiveAvgPool2d");
  });

  it("adaptive pools with outputSize 1e5 (1d with a large N·C, 2d, 3d; max with indices too)", () => {
    expectLimitError(() => pk.adaptiveAvgPool1d(tensor(new Float32Array(4 * 64 * 4), [4, 64, 4]), { outputSize: 1e7 }), "adaptiveAvgPool1d", "[4, 64, 10000000]");
    expectLimitError(() => pk.adaptiveMaxPool2d(x4, { outputSize: 1e5 }), "adaptiveMaxPool2d");
    expectLimitError(() => pk.adaptiveMaxPool2dWithIndices(x4, { outputSize: 1e5 }), "adaptiveMaxPool2dWithIndices");
    expectLimitError(() => pk.adaptiveAvgPool3d(tensor(new Float32Array(8), [1, 2, 2, 2]), { outputSize: 1e5 }), "adaptiveAvgPool3d");
    expectLimitError(() => pk.adaptiveMaxPool3d.outputShape([1, 2, 2, 2], { outputSize: 1e5 }), "adaptiveMaxPool3d");
  });

  it("roiAlign / roiPool with outputSize 1e5", () => {
    const boxes = tensor([[0, 0, 0, 3, 3]]);
    expectLimitError(() => pk.roiAlign(x4, boxes, { outputSize: 1e5 }), "roiAlign", "[1, 1, 100000, 100000]");
    expectLimitError(() => pk.roiAlign.outputShape([1, 1, 4, 4], 1, { outputSize: 1e5 }), "roiAlign");
    expectLimitError(() => pk.roiPool(x4, boxes, { outputSize: 1e5 }), "roiPool", "[1, 1, 100000, 100000]");
  });

  it("maxUnpool2d with kernelSize 1e5", () => {
    const { output, indices } = pk.maxPool2dWithIndices(x4, { kernelSize: 2 });
    expectLimitError(() => pk.maxUnpool2d(output, indices, { kernelSize: 1e5 }), "maxUnpool2d");
    expectLimitError(() => pk.maxUnpool2d.outputShape([1, 1, 2, 2], { kernelSize: 1e5 }), "maxUnpool2d");
  });

  it("spatialPyramidPool with levels [1e6]", () => {
    expectLimitError(() => pk.spatialPyramidPool(x4, { levels: [1e6] }), "spatialPyramidPool");
    expectLimitError(() => pk.spatialPyramidPool.outputShape([1, 1, 4, 4], { levels: [1e6] }), "spatialPyramidPool");
  });
});

describe("the limit is a setting a backend can lower", () => {
  afterEach(() => setAllocLimit(null));

  it("a lower byte limit (a wasm32 heap) refuses what the JS heap allows, naming the bytes and the reason", () => {
    setAllocLimit({ elements: 2 ** 30, bytes: 2 ** 12, reason: "the 4 KiB test heap" });
    expect(() => zeros([2, 1024], "float32")).toThrow(/^zeros: tensor of shape \[2, 1024\] needs 8192 bytes of float32, more than 4096, the 4 KiB test heap$/);
    expect(zeros([1024], "float32").size).toBe(1024);
    expect(() => pk.adaptiveAvgPool2d(x4, { outputSize: [64, 64] })).toThrow(/^adaptiveAvgPool2d: .*the 4 KiB test heap/);
    expect(() => checkAlloc("op", 600, "float64", "scratch buffer")).toThrow(/^op: a scratch buffer needs 4800 bytes of float64, more than 4096, the 4 KiB test heap$/);
    expect(checkAlloc("op", 500, "float64")).toBe(500);
  });

  it("it can only lower the default", () => {
    setAllocLimit({ elements: 2 ** 40, bytes: 2 ** 60, reason: "too much" });
    expect(allocLimit().elements).toBe(HEAP_LIMIT.elements);
    setAllocLimit(null);
    expect(allocLimit()).toBe(HEAP_LIMIT);
  });
});
