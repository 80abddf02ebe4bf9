import { describe, expect, it } from "vitest";
import { DOWNSTREAM_METHODS } from "../../src/methods/downstream.js";
import { exampleInputs, getPool } from "../../src/registry.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";

function sample(shape: number[]): Tensor {
  const gen = new Generator(3);
  return tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => gen.uniform()), shape);
}

describe("downstream registry descriptors", () => {
  it("resolve by forgiving names and aliases", () => {
    expect(getPool("cov").name).toBe("Covariance");
    expect(getPool("second-order").name).toBe("Covariance");
    expect(getPool("spp").name).toBe("SpatialPyramid");
    expect(getPool("roi-align").name).toBe("RoIAlign");
    expect(getPool("RoIPool").name).toBe("RoIPool");
    expect(getPool("grassmann").name).toBe("Grassmann");
    expect(getPool("grassmannCompactPool").name).toBe("GrassmannCompact");
  });
  for (const m of DOWNSTREAM_METHODS) {
    for (const shape of [[2, 3, 16, 16], [1, 4, 7, 5], [3, 2, 9, 12]]) {
      it(`${m.name}: defaults run on ${JSON.stringify(shape)} and outputShape equals the forward shape`, () => {
        const x = sample(shape);
        const extras = exampleInputs(m, x, new Generator(1), { ...m.defaults });
        const op = m.ops[2]!;
        const y = op(x, ...extras, { ...m.defaults }) as Tensor;
        expect([...y.shape]).toEqual(m.outputShape(shape, { ...m.defaults }, 2));
        for (const v of y.data) expect(Number.isFinite(v)).toBe(true);
        m.inputs.forEach((spec, i) => expect([...extras[i]!.shape]).toEqual(spec.shape(shape, { ...m.defaults })));
      });
    }
  }
  it("the example boxes lie inside the map (in feature coordinates) and cover every image", () => {
    const m = getPool("roialign");
    for (const spatialScale of [1, 0.25]) {
      const x = sample([3, 2, 9, 12]);
      const [boxes] = exampleInputs(m, x, new Generator(7), { ...m.defaults, spatialScale });
      const b = boxes!.data;
      const seen = new Set<number>();
      for (let r = 0; r < boxes!.shape[0]!; r++) {
        const [bi, x1, y1, x2, y2] = Array.from(b.subarray(r * 5, r * 5 + 5), (v, q) => (q === 0 ? v : v * spatialScale)) as number[];
        seen.add(bi!);
        expect(x1).toBeGreaterThanOrEqual(0);
        expect(y1).toBeGreaterThanOrEqual(0);
        expect(x2! - x1!).toBeGreaterThanOrEqual(0.999);
        expect(y2! - y1!).toBeGreaterThanOrEqual(0.999);
        expect(x2).toBeLessThanOrEqual(11 + 1e-9);
        expect(y2).toBeLessThanOrEqual(8 + 1e-9);
      }
      expect([...seen].sort()).toEqual([0, 1, 2]);
    }
  });
});
