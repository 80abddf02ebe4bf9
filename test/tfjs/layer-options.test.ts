/**
 * poolkit/tfjs layers speak the layer's vocabulary: a config is checked when the layer is made, an
 * unknown key lists `poolSize, strides, padding, …` (never the core's `kernelSize, stride`), the
 * core's value errors are reworded, and detail-preserving pooling takes `poolSize: 2`. Every layer
 * of the registry-driven list is checked for the same class of problem: each option it advertises
 * reaches the op, and none it does not is passed on.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { getPool } from "../../src/registry.js";
import { layers, TF_LAYER_NAMES, type PoolkitPoolLayer } from "../../src/tfjs/index.js";
import { distinct, findLayerClass, layersByName, toTf, useBackend } from "./setup.js";

beforeAll(() => useBackend("cpu"));

const TF_LAYER_ARGS = "(and tf.layers' name, trainable, inputShape, batchInputShape, batchSize, dtype, weights, inputDType)";

/** A channels-last input `[N, ...S, C]` with distinct values. */
function input(shape: number[], seed = 1): tf.Tensor {
  const [n, ...rest] = shape;
  const c = rest.pop()!;
  const t = distinct([n!, c, ...rest], seed);
  const perm = [0, ...rest.map((_, i) => i + 2), 1];
  return tf.transpose(toTf(t), perm);
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

describe("unknown layer options", () => {
  it("are refused when the layer is made, listing the layer's own option names", () => {
    expect(() => layers.softPool2d({ pool_size: 2 } as never)).toThrow(
      `softPool2d: unknown layer option "pool_size"; known options: poolSize, strides, padding, gradMode, dataFormat, seed ${TF_LAYER_ARGS}`,
    );
    expect(() => layers.maxPool2d({ poolSize: 2, strid: 1 } as never)).toThrow(
      `maxPool2d: unknown layer option "strid"; known options: poolSize, strides, padding, dilation, ceilMode, dataFormat, seed ${TF_LAYER_ARGS}`,
    );
    expect(() => layers.lpPool2d({ norm: 2 } as never)).toThrow(
      `lpPool2d: unknown layer option "norm"; known options: poolSize, strides, padding, normType, ceilMode, dataFormat, seed ${TF_LAYER_ARGS}`,
    );
  });

  it("the core's kernelSize / stride point to the layer's names", () => {
    expect(() => layers.softPool2d({ kernelSize: 2 } as never)).toThrow(
      `softPool2d: unknown layer option "kernelSize" (a layer calls it poolSize); known options: poolSize, strides, padding, gradMode, dataFormat, seed ${TF_LAYER_ARGS}`,
    );
    expect(() => layers.avgPool2d({ poolSize: 2, stride: 1 } as never)).toThrow(
      /^avgPool2d: unknown layer option "stride" \(a layer calls it strides\); known options: poolSize, strides, padding, ceilMode, countIncludePad, divisorOverride, dataFormat, seed/,
    );
  });

  it("tensor-valued op options (one call's draws) are not layer options", () => {
    expect(() => layers.fractionalMaxPool2d({ samples: null } as never)).toThrow(
      /^fractionalMaxPool2d: unknown layer option "samples" \(a tensor for one call: give it to ops.fractionalMaxPool2d, not to a layer\); known options: poolSize, padding, outputSize, outputRatio, dataFormat, seed/,
    );
  });

  it("a method without a pool size refuses poolSize at once, instead of the op's 'unknown option \"kernelSize\"' at apply time", () => {
    expect(() => layers.adaptiveAvgPool2d({ poolSize: 2 } as never)).toThrow(
      `adaptiveAvgPool2d: unknown layer option "poolSize"; known options: outputSize, dataFormat, seed ${TF_LAYER_ARGS}`,
    );
    expect(() => layers.globalAvgPool({ strides: 2 } as never)).toThrow(`globalAvgPool: unknown layer option "strides"; known options: dataFormat, seed ${TF_LAYER_ARGS}`);
  });

  it("padding is 'valid' only for windowed methods whose op has no padding", () => {
    const y = layers.lpPool2d({ poolSize: 2, padding: "valid" }).apply(input([1, 4, 4, 2])) as tf.Tensor;
    expect(y.shape).toEqual([1, 2, 2, 2]);
    expect(() => layers.treePool2d({ poolSize: 3, padding: "same" } as never)).toThrow('treePool2d: padding must be "valid" (treePool2d has no padding), got "same"');
    expect(() => layers.stochasticPool2d({ padding: 1 } as never)).toThrow('stochasticPool2d: padding must be "valid" (stochasticPool2d has no padding), got 1');
  });
});

describe("the op's value errors, reworded into the layer's names", () => {
  it("kernelSize → poolSize", () => {
    const layer = layers.softPool2d({ poolSize: 2, padding: 2 });
    expect(() => layer.apply(input([1, 6, 6, 2]))).toThrow("softPool2d: padding must be at most half the kernel size, got padding 2 for poolSize 2");
  });

  it("stride → strides", () => {
    const layer = layers.s3Pool2d({ poolSize: 2, gridSize: 3, strides: 2 });
    const msg = messageOf(() => layer.apply(input([1, 6, 6, 2])));
    expect(msg).toMatch(/^s3Pool2d: /);
    expect(msg).toContain("strides 2");
    expect(msg).not.toMatch(/\bstride\b|\bkernelSize\b/);
  });

  it("computeOutputShape speaks the same words", () => {
    const layer = layers.maxPool2d({ poolSize: 3, padding: 2 });
    expect(() => layer.computeOutputShape([null, 8, 8, 2])).toThrow(/^maxPool2d: padding must be at most half the kernel size, got padding 2 for poolSize 3$/);
  });

  it("the error keeps its class (TypeError / RangeError)", () => {
    const layer = layers.softPool2d({ poolSize: 2, padding: 2 });
    expect(() => layer.apply(input([1, 6, 6, 2]))).toThrow(RangeError);
  });
});

describe("detail-preserving pooling: fixed 2×2 blocks", () => {
  const x = () => input([2, 6, 6, 3], 4);

  it("accepts poolSize 2, strides 2 and padding 'valid' (as TensorFlow.js users write them), with the result of the default", () => {
    const reference = Array.from((layers.detailPreservingPool2d({ seed: 5 }).apply(x()) as tf.Tensor).dataSync());
    for (const config of [{ poolSize: 2 }, { poolSize: 2, strides: 2 }, { poolSize: [2, 2], strides: [2, 2], padding: "valid" }] as const) {
      const y = layers.detailPreservingPool2d({ ...config, seed: 5 }).apply(x()) as tf.Tensor;
      expect(y.shape, JSON.stringify(config)).toEqual([2, 3, 3, 3]);
      expect(Array.from(y.dataSync()), JSON.stringify(config)).toEqual(reference);
    }
  });

  it("refuses other pool sizes, strides and padding plainly", () => {
    expect(() => layers.detailPreservingPool2d({ poolSize: 3 } as never)).toThrow(
      "detailPreservingPool2d: poolSize must be 2 or [2, 2]: detail-preserving pooling pools fixed 2×2 blocks, got poolSize 3",
    );
    expect(() => layers.detailPreservingPool2d({ strides: [2, 1] } as never)).toThrow(
      "detailPreservingPool2d: strides must be 2 or [2, 2]: detail-preserving pooling pools fixed 2×2 blocks, got strides [2, 1]",
    );
    expect(() => layers.detailPreservingPool2d({ padding: "same" } as never)).toThrow(
      'detailPreservingPool2d: padding must be "valid" (detailPreservingPool2d has no padding), got "same"',
    );
    expect(() => layers.detailPreservingPool2d({ kernelSize: 2 } as never)).toThrow(
      `detailPreservingPool2d: unknown layer option "kernelSize" (a layer calls it poolSize); known options: poolSize, strides, padding, reward, variant, dataFormat, seed ${TF_LAYER_ARGS}`,
    );
  });

  it("poolSize survives save and load (getConfig → fromConfig)", () => {
    const layer = layers.detailPreservingPool2d({ poolSize: 2, strides: 2, variant: "full", seed: 2 });
    const cls = findLayerClass("detailPreservingPool2d") as unknown as { fromConfig(c: unknown, config: unknown): PoolkitPoolLayer };
    const again = cls.fromConfig(cls, layer.getConfig());
    expect(again.getConfig()).toEqual(layer.getConfig());
  });
});

/** The registry defaults of a layer's method, in the layer's vocabulary. */
function defaultsInLayerTerms(name: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(getPool(name).defaults)) {
    if (k === "training" || k === "seed") continue;
    out[k === "kernelSize" ? "poolSize" : k === "stride" ? "strides" : k] = v;
  }
  return out;
}

const SPATIAL: Record<number, number[]> = { 1: [16], 2: [8, 8], 3: [6, 6, 6] };

describe("every layer of the registry-driven list", () => {
  for (const name of TF_LAYER_NAMES) {
    const method = getPool(name);
    const rank = (Object.entries(method.exports).find(([, e]) => e === name)?.[0] ?? "2") as "1" | "2" | "3";
    const make = (config: Record<string, unknown>) => layersByName[name]!(config);

    it(`${name}: an unknown key lists only the layer's vocabulary`, () => {
      const msg = messageOf(() => make({ poolSze: 2 }));
      const known = make({}).optionNames()!;
      expect(msg).toBe(`${name}: unknown layer option "poolSze"; known options: ${known.join(", ")} ${TF_LAYER_ARGS}`);
      expect(known).not.toContain("kernelSize");
      expect(known).not.toContain("stride");
      expect(known).not.toContain("training");
    });

    it(`${name}: its registry defaults, written in the layer's vocabulary, are accepted`, () => {
      const layer = make(defaultsInLayerTerms(name));
      expect(layer.computeOutputShape([null, ...SPATIAL[Number(rank)]!, 3]).length).toBeGreaterThanOrEqual(2);
    });

    it(`${name}: each of poolSize, strides, padding it lists reaches the op; the others are refused at once`, () => {
      const known = make({}).optionNames()!;
      const base = defaultsInLayerTerms(name);
      const values: Record<string, unknown> = { poolSize: 2, strides: 2, padding: "valid" };
      for (const option of ["poolSize", "strides", "padding"]) {
        const config = { ...base, [option]: values[option] };
        if (!known.includes(option)) {
          expect(() => make(config), `${name} ${option}`).toThrow(`${name}: unknown layer option "${option}"`);
          continue;
        }
        const layer = make(config);
        // The output shape runs the op's own option checks on the mapped options.
        const shape = layer.computeOutputShape([null, ...SPATIAL[Number(rank)]!, 3]);
        expect(shape.length, `${name} ${option}`).toBeGreaterThanOrEqual(2);
        // Layers without further data inputs run for real.
        const cfShape = [2, 3, ...SPATIAL[Number(rank)]!];
        if (layer.inputKinds(cfShape).every((k) => k.kind !== "input")) {
          const y = layer.apply(input([2, ...SPATIAL[Number(rank)]!, 3], 9)) as tf.Tensor;
          expect(y.shape.slice(1), `${name} ${option}`).toEqual(shape.slice(1));
          y.dispose();
        }
      }
    });
  }
});

describe("a layer config that is not a plain object", () => {
  it("is refused with the core's wording (a Map was read as an empty config)", () => {
    expect(() => layers.softPool2d(new Map([["poolSize", 3]]) as never)).toThrow("softPool2d: layer config must be a plain object, got Map");
    expect(() => layers.softPool2d([] as never)).toThrow("softPool2d: layer config must be a plain object, got Array");
  });
});
