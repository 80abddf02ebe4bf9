import { describe, expect, it } from "vitest";
import { Generator, maxPool1d, maxPool1dWithIndices, maxPool2dWithIndices, tensor } from "../../src/index.js";
import { compareWithPoolkit } from "./ort.js";
import { toOnnx } from "../../src/onnx/index.js";

/** Whether poolkit accepts these 1d options for this length (else the case is not a valid pooling). */
function slidingGeometryFree(In: number, options: Record<string, unknown>): boolean {
  try {
    maxPool1d.outputShape([1, 1, In], options as never);
    return true;
  } catch {
    return false;
  }
}

const gen = new Generator(11);
const normals = (n: number): number[] => Array.from({ length: n }, () => gen.normal());
/** Small integers: many ties. */
const ties = (n: number): number[] => Array.from({ length: n }, () => gen.int(3));
/** Normals with ±∞ sprinkled in. */
const withInf = (n: number): number[] => Array.from({ length: n }, (_, i) => (i % 7 === 3 ? Infinity : i % 5 === 1 ? -Infinity : gen.normal()));
const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

describe("max / avg / LP: explicit padding reproduces PyTorch's ceil rule, padding, dilation and divisors", () => {
  it("ceil mode whose last window would start in the right padding: the window is dropped, as PyTorch", async () => {
    // In = 5, k = 2, s = 2, p = 1, ceil: ⌈(5 + 2 − 2)/2⌉ + 1 = 4, but window 3 would start at 6 − 1 = 5 ≥ In + p − … → 3.
    const { y } = await compareWithPoolkit({ method: "max", xShape: [1, 1, 5], options: { kernelSize: 2, stride: 2, padding: 1, ceilMode: true }, exact: true, x: [1, 2, 3, 4, 5] });
    expect(y.shape).toEqual([1, 1, 3]);
    expect(Array.from(y.data)).toEqual([1, 3, 5]);
    const avg = await compareWithPoolkit({ method: "avg", xShape: [1, 1, 5], options: { kernelSize: 2, stride: 2, padding: 1, ceilMode: true }, x: [1, 2, 3, 4, 5] });
    // PyTorch: windows [−1, 1), [1, 3), [3, 5) with divisor 2 (count_include_pad): 0.5, 2.5, 4.5.
    expect(Array.from(avg.y.data)).toEqual([0.5, 2.5, 4.5]);
  });

  it("the graph has no ceil_mode and no pads attribute: the result cannot depend on the runtime's ceil rule", () => {
    const model = toOnnx("max", { inputShape: [1, 1, 5, 5], options: { kernelSize: 3, stride: 2, padding: 1, ceilMode: true } });
    const text = new TextDecoder("latin1").decode(model);
    expect(text).not.toContain("ceil_mode");
    expect(text).not.toContain("auto_pad");
    expect(text).toContain("Pad");
  });

  it("1d: every kernel, stride, padding, dilation and ceil mode on sizes 1–9 (max exact, avg and LP within float32)", async () => {
    let checked = 0;
    for (let In = 1; In <= 9; In += 2) {
      for (const k of [1, 2, 3]) {
        for (const s of [1, 2, 3]) {
          for (const ceilMode of [false, true]) {
            for (let p = 0; p <= Math.floor(k / 2); p++) {
              for (const d of [1, 2]) {
                const options = { kernelSize: k, stride: s, padding: p, dilation: d, ceilMode };
                if (!slidingGeometryFree(In, options)) continue;
                const x = ties(2 * In);
                await compareWithPoolkit({ method: "max", xShape: [1, 2, In], options, exact: true, x });
                if (d === 1) {
                  for (const countIncludePad of [true, false]) {
                    await compareWithPoolkit({ method: "avg", xShape: [1, 2, In], options: { kernelSize: k, stride: s, padding: p, ceilMode, countIncludePad }, x });
                  }
                  if (p === 0) await compareWithPoolkit({ method: "lp", xShape: [1, 2, In], options: { normType: 2, kernelSize: k, stride: s, ceilMode }, x });
                }
                checked++;
              }
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("2d and 3d with ties, ±∞ and ceil mode (max exact; avg gives ±∞/NaN where poolkit does)", async () => {
    for (const [xShape, options] of [
      [[2, 2, 7, 6], { kernelSize: [3, 2], stride: [2, 3], padding: [1, 1], ceilMode: true }],
      [[1, 2, 5, 6, 7], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }],
      [[1, 1, 9, 9], { kernelSize: 3, stride: 2, padding: 1, dilation: 2, ceilMode: true }],
    ] as const) {
      for (const x of [ties(size([...xShape])), withInf(size([...xShape]))]) {
        await compareWithPoolkit({ method: "max", xShape: [...xShape], options: { ...options }, exact: true, x });
        const { dilation: _d, ...avgOptions } = options as Record<string, unknown>;
        await compareWithPoolkit({ method: "avg", xShape: [...xShape], options: avgOptions, x });
        await compareWithPoolkit({ method: "avg", xShape: [...xShape], options: { ...avgOptions, countIncludePad: false }, x });
      }
    }
  });

  it("NaN propagates through max pooling as in PyTorch (ONNX Runtime's MaxPool alone skips it)", async () => {
    const x = [1, NaN, 3, 2, -Infinity, Infinity, NaN, 0, 5];
    const { y } = await compareWithPoolkit({ method: "max", xShape: [1, 1, 9], x, options: { kernelSize: 2, stride: 1 }, exact: true });
    expect(Number.isNaN(y.data[0])).toBe(true);
    await compareWithPoolkit({ method: "gmp", xShape: [1, 1, 9], x, options: {}, exact: true });
    await compareWithPoolkit({ method: "adaptivemax", xShape: [1, 1, 9], x, options: { outputSize: 4 }, exact: true });
  });

  it("a window holding only −∞ gives −∞ (ONNX Runtime's MaxPool alone gives −FLT_MAX)", async () => {
    const x = [-Infinity, -Infinity, -Infinity, 2, -Infinity, -Infinity, -Infinity, -Infinity, 1];
    const { y } = await compareWithPoolkit({ method: "max", xShape: [1, 1, 9], x, options: { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }, exact: true });
    expect(y.data[0]).toBe(-Infinity);
    await compareWithPoolkit({ method: "adaptivemax", xShape: [1, 1, 9], x, options: { outputSize: 5 }, exact: true });
    await compareWithPoolkit({ method: "spp", xShape: [1, 1, 3, 3], x, options: { levels: [3, 2] }, exact: true });
    await compareWithPoolkit({ method: "fractional", xShape: [1, 1, 3, 3], x, options: { kernelSize: 2, outputSize: 2, samples: tensor([0.3, 0.7], [1, 1, 2]) }, exact: true });
  });

  it("avg: divisorOverride (also negative), ceil mode partial windows, countIncludePad both ways", async () => {
    for (const divisorOverride of [5, -3, 1]) {
      await compareWithPoolkit({ method: "avg", xShape: [2, 3, 7, 8], options: { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, divisorOverride } });
    }
    await compareWithPoolkit({ method: "avg", xShape: [1, 3, 7, 5, 6], options: { kernelSize: [3, 2, 3], stride: [2, 2, 1], padding: [1, 1, 0], ceilMode: true, countIncludePad: false } });
  });

  it("LP: p = 1, 2, 3, 0.5, Infinity and negative inputs (NaN for fractional powers, as PyTorch's formula)", async () => {
    for (const normType of [1, 2, 3, 0.5]) {
      await compareWithPoolkit({ method: "lp", xShape: [2, 2, 7, 6], options: { normType, kernelSize: [3, 2], stride: 2, ceilMode: true }, rtol: 1e-4 });
    }
    // x ≥ 0 with p = Infinity: x^∞ ∈ {0, 1, ∞} and (·)^(1/∞) = 1 or NaN-free pow rules.
    await compareWithPoolkit({ method: "lp", xShape: [1, 1, 6], options: { normType: Infinity, kernelSize: 2 }, x: [0.5, 2, 0, 0.25, 3, 1] });
  });

  it("one-pixel maps", async () => {
    await compareWithPoolkit({ method: "max", xShape: [1, 3, 1, 1], options: { kernelSize: 1 }, exact: true });
    await compareWithPoolkit({ method: "max", xShape: [1, 3, 1, 1], options: { kernelSize: 2, stride: 1, padding: 1, ceilMode: true }, exact: true });
    await compareWithPoolkit({ method: "avg", xShape: [1, 3, 1, 1], options: { kernelSize: 2, stride: 2, padding: 1, ceilMode: true, countIncludePad: false } });
    await compareWithPoolkit({ method: "gap", xShape: [2, 3, 1, 1], options: {} });
    await compareWithPoolkit({ method: "adaptivemax", xShape: [1, 2, 1, 1], options: { outputSize: 3 }, exact: true });
    await compareWithPoolkit({ method: "adaptiveavg", xShape: [1, 2, 1], options: { outputSize: 4 } });
  });
});

describe("adaptive, global and spatial pyramid pooling", () => {
  it("non-dividing sizes, Out > In, dividing sizes (plain pooling), 1d–3d", async () => {
    for (const [xShape, outputSize] of [
      [[2, 3, 7], 3],
      [[2, 3, 5], 8],
      [[1, 2, 7, 5], [3, 4]],
      [[1, 2, 8, 6], [4, 3]],
      [[1, 2, 8, 6], [4, null]],
      [[1, 2, 5, 7, 6], [2, 3, 4]],
    ] as const) {
      for (const x of [normals(size([...xShape])), ties(size([...xShape])), withInf(size([...xShape]))]) {
        await compareWithPoolkit({ method: "adaptivemax", xShape: [...xShape], options: { outputSize }, exact: true, x });
        await compareWithPoolkit({ method: "adaptiveavg", xShape: [...xShape], options: { outputSize }, x });
      }
    }
  });

  it("global pooling with ±∞, and spatial pyramid in both modes on a non-dividing map", async () => {
    await compareWithPoolkit({ method: "gmp", xShape: [2, 3, 4, 5, 3], options: {}, exact: true, x: withInf(360) });
    await compareWithPoolkit({ method: "gap", xShape: [2, 3, 7], options: {}, x: withInf(42) });
    await compareWithPoolkit({ method: "spp", xShape: [2, 3, 13, 11], options: { levels: [4, 3, 1], mode: "max" }, exact: true, x: ties(858) });
    await compareWithPoolkit({ method: "spp", xShape: [2, 3, 13, 11], options: { levels: [5, 2], mode: "avg" } });
  });

  it("the same graphs run under opsets 17–21 (Reduce* axes move from attribute to input at 18)", async () => {
    for (const opset of [17, 18, 19, 20, 21]) {
      await compareWithPoolkit({ method: "adaptivemax", xShape: [1, 2, 7, 5], options: { outputSize: [3, 2] }, exact: true, opset });
      await compareWithPoolkit({ method: "gap", xShape: [1, 2, 7, 5], options: {}, opset });
      await compareWithPoolkit({ method: "soft", xShape: [1, 2, 7, 5], options: { kernelSize: 3, stride: 2, padding: 1 }, opset });
    }
  });
});

describe("max unpooling and fractional max pooling", () => {
  it("unpools poolkit's own maxPoolWithIndices output, with the default and an explicit outputSize", async () => {
    const x = tensor(normals(2 * 3 * 7 * 6), [2, 3, 7, 6]);
    const { output, indices } = maxPool2dWithIndices(x, { kernelSize: 2, stride: 2 });
    await compareWithPoolkit({ method: "unpool", xShape: [...output.shape], x: output.data, options: { kernelSize: 2, stride: 2 }, inputs: { indices }, exact: true });
    await compareWithPoolkit({ method: "unpool", xShape: [...output.shape], x: output.data, options: { kernelSize: 2, stride: 2, outputSize: [7, 6] }, inputs: { indices }, exact: true });
    const p1 = maxPool1dWithIndices(tensor(normals(10), [1, 2, 5]), { kernelSize: 3, stride: 2, padding: 1 });
    await compareWithPoolkit({ method: "unpool", xShape: [...p1.output.shape], x: p1.output.data, options: { kernelSize: 3, stride: 2, padding: 1 }, inputs: { indices: p1.indices }, exact: true });
  });

  it("fractional max with given samples: every plane's own windows, ties and ±∞", async () => {
    const samples = tensor(Array.from({ length: 12 }, () => gen.uniform()), [2, 3, 2]);
    for (const x of [normals(2 * 3 * 11 * 9), ties(2 * 3 * 11 * 9), withInf(2 * 3 * 11 * 9)]) {
      await compareWithPoolkit({ method: "fractional", xShape: [2, 3, 11, 9], x, options: { kernelSize: [3, 2], outputSize: [5, 6], samples }, exact: true });
    }
    const s3 = tensor(Array.from({ length: 6 }, () => gen.uniform()), [1, 2, 3]);
    await compareWithPoolkit({ method: "fractional", xShape: [1, 2, 7, 8, 6], options: { kernelSize: 2, outputRatio: 0.6, samples: s3 }, exact: true });
  });
});
