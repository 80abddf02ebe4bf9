import { describe, expect, it } from "vitest";
import { exampleInputs, getPool, listPools, normalizeName, type PoolMethod } from "../src/registry.js";
import * as poolkit from "../src/index.js";
import { Generator, rand, randn } from "../src/tensor/random.js";
import { Tensor } from "../src/tensor/tensor.js";

/** The primary output of any op: a Tensor, or `{ output }`. */
function primary(out: unknown): Tensor {
  if (out instanceof Tensor) return out;
  const o = (out as { output?: unknown }).output;
  if (o instanceof Tensor) return o;
  throw new Error(`no primary output tensor in ${String(out)}`);
}

/** A `[2, 3, 16, 16]`-ish input for the method's rank (2-d where supported). */
function sampleShape(m: PoolMethod): { rank: 1 | 2 | 3; shape: number[] } {
  if (m.dims.includes(2)) return { rank: 2, shape: [2, 3, 16, 16] };
  if (m.dims.includes(3)) return { rank: 3, shape: [2, 3, 8, 8, 8] };
  return { rank: 1, shape: [2, 3, 16] };
}

describe("registry — getPool", () => {
  it("finds the PyTorch family by forgiving names", () => {
    for (const name of ["max", "Max", "max-pool", "maxPool2d", "MAX_POOL", "maxpool3d", "max pooling"]) expect(getPool(name).name).toBe("Max");
    for (const name of ["avg", "Average", "avg-pool", "avgPool1d", "mean"]) expect(getPool(name).name).toBe("Average");
    for (const name of ["lp", "LP", "power-average", "lpPool2d", "lp-pool"]) expect(getPool(name).name).toBe("LP");
    for (const name of ["MaxUnpool", "max-unpool", "maxUnpool2d", "unpool"]) expect(getPool(name).name).toBe("MaxUnpool");
    for (const name of ["gap", "GlobalAverage", "globalAvgPool", "global-avg-pool"]) expect(getPool(name).name).toBe("GlobalAverage");
    for (const name of ["gmp", "GlobalMax", "globalMaxPool", "global-max"]) expect(getPool(name).name).toBe("GlobalMax");
  });

  it("an unknown name throws listing every known method", () => {
    let msg = "";
    try {
      getPool("definitely-not-a-pool");
    } catch (e) {
      expect(e).toBeInstanceOf(RangeError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^getPool: unknown pooling method "definitely-not-a-pool"; known: /);
    for (const m of listPools()) expect(msg).toContain(m.name);
  });

  it("every method is found by its display name, its export names and its aliases", () => {
    for (const m of listPools()) {
      expect(getPool(m.name)).toBe(m);
      for (const e of Object.values(m.exports)) if (e) expect(getPool(e)).toBe(m);
      for (const a of m.aliases) expect(getPool(a), `alias ${a} of ${m.name}`).toBe(m);
    }
  });

  it("no two methods share a normalised display name, export or alias", () => {
    const owner = new Map<string, string>();
    for (const m of listPools()) {
      for (const n of new Set([m.name, m.export, ...Object.values(m.exports), ...m.aliases])) {
        if (!n) continue;
        const key = normalizeName(n)[0] as string;
        const prev = owner.get(key);
        expect(prev === undefined || prev === m.name, `${n} names both ${prev} and ${m.name}`).toBe(true);
        owner.set(key, m.name);
      }
    }
  });
});

describe("registry — descriptors", () => {
  it("are well formed: unique names, exports present in the public API, ops keyed by dims", () => {
    const names = listPools().map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    const api = poolkit as unknown as Record<string, unknown>;
    for (const m of listPools()) {
      expect(m.dims.length, m.name).toBeGreaterThan(0);
      expect(m.paper.length, `${m.name} paper`).toBeGreaterThan(0);
      expect(m.summary.length, `${m.name} summary`).toBeGreaterThan(0);
      expect(m.learnable.every((l) => m.inputs.some((i) => i.name === l && i.role === "learnable")), `${m.name} learnable`).toBe(true);
      expect(api[m.export], `${m.name}: export ${m.export}`).toBeTypeOf("function");
      for (const d of m.dims) {
        const op = m.ops[d];
        expect(op, `${m.name} op for ${d}d`).toBeTypeOf("function");
        expect(api[m.exports[d] as string], `${m.name}: export ${m.exports[d]}`).toBe(op);
      }
    }
  });

  it("every method's outputShape equals its op's forward shape on its defaults ([2, 3, 16, 16]-ish input)", () => {
    for (const m of listPools()) {
      const { rank, shape } = sampleShape(m);
      // non-negative: some methods (stochastic pooling) require it
      const x = rand(shape, { seed: 7, dtype: "float32" });
      const options = { ...m.defaults } as Record<string, unknown>;
      const extras = exampleInputs(m, x, new Generator(11), options);
      const op = m.ops[rank]!;
      const y = primary(op(x, ...extras, options));
      expect([...y.shape], `${m.name} (${rank}d) defaults ${JSON.stringify(m.defaults)}`).toEqual(m.outputShape(shape, options, rank));
    }
  });

  it("the PyTorch family's descriptors agree with their ops on every supported rank", () => {
    for (const name of ["Max", "Average", "LP", "MaxUnpool", "GlobalAverage", "GlobalMax"]) {
      const m = getPool(name);
      expect(m.dims).toEqual([1, 2, 3]);
      for (const rank of m.dims) {
        const shape = [2, 3, ...[12, 10, 8].slice(0, rank)];
        const x = randn(shape, { seed: rank, dtype: "float64" });
        const extras = exampleInputs(m, x, new Generator(rank), { ...m.defaults });
        const y = primary(m.ops[rank]!(x, ...extras, { ...m.defaults }));
        expect([...y.shape], `${name} ${rank}d`).toEqual(m.outputShape(shape, { ...m.defaults }, rank));
      }
    }
  });

  it("MaxUnpool's example indices are distinct within each plane and lie in the output plane", () => {
    const m = getPool("MaxUnpool");
    for (const opts of [{ kernelSize: 2 }, { kernelSize: 3, stride: 2, padding: 1 }, { kernelSize: 3, stride: 1 }]) {
      const x = randn([2, 3, 5, 6], { seed: 1, dtype: "float32" });
      const [idx] = exampleInputs(m, x, new Generator(3), opts);
      expect(idx!.dtype).toBe("int32");
      const out = m.outputShape(x.shape, opts, 2);
      const plane = (out[2] as number) * (out[3] as number);
      for (let p = 0; p < 6; p++) {
        const seen = new Set<number>();
        for (let i = 0; i < 30; i++) {
          const v = idx!.data[p * 30 + i]!;
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThan(plane);
          seen.add(v);
        }
        expect(seen.size).toBe(30);
      }
      // and the op accepts them
      expect(primary(m.ops[2]!(x, idx, opts)).shape).toEqual(out);
    }
  });
});

describe("every method's outputShape checks the input shape like its forward pass", () => {
  it("a wrong-rank shape is rejected with the op's name, for every method and rank", () => {
    for (const m of listPools()) {
      for (const rank of m.dims) {
        const opName = (m.ops[rank] as { opName: string }).opName;
        expect(() => m.outputShape([5], { ...m.defaults }, rank), `${m.name} ${rank}d`).toThrow(new RegExp(`^(${opName}|${m.name}): `));
      }
    }
  });
});
