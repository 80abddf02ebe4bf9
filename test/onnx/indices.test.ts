import { describe, expect, it } from "vitest";
import { Generator, maxPool1dWithIndices, maxPool2dWithIndices, maxPool3dWithIndices, tensor, PoolkitRangeError } from "../../src/index.js";
import { toOnnx } from "../../src/onnx/index.js";
import { expectExact, runOnnx } from "./ort.js";

const gen = new Generator(21);
const ops = { 1: maxPool1dWithIndices, 2: maxPool2dWithIndices, 3: maxPool3dWithIndices } as const;

async function check(xShape: number[], options: Record<string, unknown>, values: number[]): Promise<void> {
  const x = tensor(values, xShape);
  const rank = (xShape.length - 2) as 1 | 2 | 3;
  const want = ops[rank](x, options as never);
  const model = toOnnx("max", { inputShape: xShape, options, withIndices: true });
  const out = await runOnnx(model, { x });
  expectExact(out.output!, want.output, "values");
  expect(out.indices!.dtype).toBe("int32");
  expectExact(out.indices!, want.indices, `indices ${JSON.stringify(options)}`);
}

describe("max pooling with poolkit's per-plane flat indices", () => {
  it("ties (first maximum), padding, dilation and ceil mode in 1d–3d", async () => {
    const ties = (n: number): number[] => Array.from({ length: n }, () => gen.int(3));
    await check([2, 2, 9], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }, ties(36));
    await check([1, 2, 9], { kernelSize: 2, stride: 1, dilation: 3, padding: 1 }, ties(18));
    await check([2, 2, 7, 6], { kernelSize: [3, 2], stride: [2, 3], padding: [1, 1], ceilMode: true }, ties(168));
    await check([1, 2, 9, 9], { kernelSize: 3, stride: 2, padding: 2, dilation: 2, ceilMode: true }, ties(162));
    await check([1, 2, 5, 4, 6], { kernelSize: 2, stride: [1, 2, 2], padding: 1 }, ties(240));
  });

  it("windows of −∞ next to padding pick their first real tap; the last NaN of a window wins", async () => {
    await check([1, 1, 6], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }, [-Infinity, -Infinity, 1, -Infinity, -Infinity, -Infinity]);
    await check([1, 1, 8], { kernelSize: 4, stride: 2, padding: 1 }, [1, NaN, 3, NaN, 2, 9, NaN, Infinity]);
    await check([1, 1, 3, 3], { kernelSize: 2, stride: 1, padding: 1 }, [NaN, 1, -Infinity, 2, NaN, 0, Infinity, -1, NaN]);
  });

  it("only for max pooling", () => {
    expect(() => toOnnx("avg", { inputShape: [1, 1, 4], options: { kernelSize: 2 }, withIndices: true })).toThrow(PoolkitRangeError);
    expect(() => toOnnx("avg", { inputShape: [1, 1, 4], options: { kernelSize: 2 }, withIndices: true })).toThrow("toOnnx: withIndices is supported for max pooling only, got Average");
  });
});
