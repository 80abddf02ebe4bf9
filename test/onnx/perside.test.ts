import { describe, expect, it } from "vitest";
import { Generator, avgPool1d, maxPool2d } from "../../src/index.js";
import { compareWithPoolkit } from "./ort.js";

// Per-side padding `[[before, after], ...]` reaches ONNX as explicit `pads`: poolkit's own forward
// (checked against PyTorch's F.pad-then-pool in test/ops/perside.test.ts) is the reference here.
const gen = new Generator(23);
const ties = (n: number): number[] => Array.from({ length: n }, () => gen.int(4) - 2);

function valid(In: number, options: Record<string, unknown>): boolean {
  try {
    avgPool1d.outputShape([1, 1, In], options as never);
    return true;
  } catch {
    return false;
  }
}

describe("per-side padding in exported graphs", () => {
  it("1d max / avg (both divisor rules) / LP over every valid [before, after] on sizes 1–8, with and without ceil mode", async () => {
    let checked = 0;
    for (let In = 1; In <= 8; In += 3) {
      for (const k of [2, 3]) {
        for (const s of [1, 2]) {
          for (let pb = 0; pb <= 2; pb++) {
            for (let pa = 0; pa <= 3; pa++) {
              for (const ceilMode of [false, true]) {
                const padding: [number, number][] = [[pb, pa]];
                if (!valid(In, { kernelSize: k, stride: s, padding, ceilMode })) continue;
                const x = ties(2 * In);
                await compareWithPoolkit({ method: "max", xShape: [1, 2, In], options: { kernelSize: k, stride: s, padding, ceilMode }, exact: true, x });
                for (const countIncludePad of [true, false]) {
                  await compareWithPoolkit({ method: "avg", xShape: [1, 2, In], options: { kernelSize: k, stride: s, padding, ceilMode, countIncludePad }, x });
                }
                await compareWithPoolkit({ method: "lp", xShape: [1, 2, In], options: { normType: 2, kernelSize: k, stride: s, padding, ceilMode }, x });
                checked++;
              }
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it("2d TensorFlow-'same'-like pads (extra on the end) for max, avg and SoftPool", async () => {
    const padding: [number, number][] = [[0, 1], [1, 2]];
    const xShape = [1, 2, 5, 6];
    const x = ties(60);
    const { y } = await compareWithPoolkit({ method: "max", xShape, options: { kernelSize: [2, 4], stride: [2, 3], padding }, exact: true, x });
    expect(y.shape).toEqual(maxPool2d.outputShape(xShape, { kernelSize: [2, 4], stride: [2, 3], padding }));
    await compareWithPoolkit({ method: "avg", xShape, options: { kernelSize: [2, 4], stride: [2, 3], padding, countIncludePad: false }, x });
    await compareWithPoolkit({ method: "soft", xShape, options: { kernelSize: [2, 4], stride: [2, 3], padding }, x });
  });
});
