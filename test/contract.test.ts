/**
 * Conformance to the public API contract (/work/shared/API.md), checked generically: every export the
 * contract names exists, and every method in `listPools()` — on its descriptor defaults and
 * `exampleInputs` — honours the op contract (dtypes, one gradient per tensor input with `null` for
 * constants, backward callable twice, nothing mutated, unbatched input for windowed ops, typed errors
 * starting with the op name, seed / manualSeed reproducibility, `training` default true).
 */
import { describe, expect, it } from "vitest";
import * as poolkit from "../src/index.js";
import { exampleInputs, getPool, listPools, type PoolMethod } from "../src/registry.js";
import { Generator, manualSeed, rand } from "../src/tensor/random.js";
import { Tensor, tensor } from "../src/tensor/tensor.js";
import type { FloatDType, TypedArray } from "../src/tensor/dtype.js";

type AnyFn = ((...args: unknown[]) => unknown) & { vjp: (...args: unknown[]) => { output: unknown; backward: (dy: Tensor) => (Tensor | null)[] }; opName: string };
const api = poolkit as unknown as Record<string, unknown>;
const op = (name: string): AnyFn => api[name] as AnyFn;

/** Every export API.md names (ops, tensor, registry, errors). */
const API_EXPORTS = [
  "Tensor", "tensor", "manualSeed", "listPools", "getPool", "PoolkitTypeError", "PoolkitRangeError",
  ...["maxPool", "avgPool", "lpPool", "maxUnpool", "adaptiveAvgPool", "adaptiveMaxPool", "softPool"].flatMap((b) => [1, 2, 3].map((d) => `${b}${d}d`)),
  ...[1, 2, 3].flatMap((d) => [`maxPool${d}dWithIndices`, `adaptiveMaxPool${d}dWithIndices`]),
  "fractionalMaxPool2d", "fractionalMaxPool3d", "fractionalMaxPool2dWithIndices", "fractionalMaxPool3dWithIndices",
  "mixedPool2d", "learnedMixPool2d", "gatedMixPool2d", "stochasticPool2d", "s3Pool2d", "detailPreservingPool2d",
  "localImportancePool2d", "dynamicPool2d",
  "globalAvgPool", "globalMaxPool", "covariancePool", "spatialPyramidPool", "roiPool", "roiAlign",
  "bilinearPool", "compactBilinearPool", "lowRankBilinearPool", "grassmannPool",
];
const OP_EXPORTS = API_EXPORTS.filter((n) => /^[a-z].*Pool|^roi/.test(n) && !["listPools", "getPool"].includes(n));

/** Methods the contract calls "windowed": they also take unbatched `[C, ...spatial]` input. */
const WINDOWED = new Set([
  "Max", "Average", "LP", "MaxUnpool", "AdaptiveAverage", "AdaptiveMax", "FractionalMax", "SoftPool",
  "Mixed", "LearnedMix", "GatedMix", "Tree", "Stochastic", "S3Pool", "DPP", "LIP", "DynOPool",
]);

/** Every tensor reachable in an op result (the tensor itself, or the fields of `{ output, indices, ... }`). */
function tensorsOf(out: unknown): [string, Tensor][] {
  if (out instanceof Tensor) return [["output", out]];
  if (out !== null && typeof out === "object") {
    return Object.entries(out as Record<string, unknown>).filter((e): e is [string, Tensor] => e[1] instanceof Tensor);
  }
  return [];
}
function primary(out: unknown): Tensor {
  if (out instanceof Tensor) return out;
  const o = (out as { output?: unknown }).output;
  if (o instanceof Tensor) return o;
  throw new Error("no primary output");
}
const snap = (t: Tensor): number[] => Array.from(t.data);
/** Whether two tensors' values occupy common bytes (tensors in WebAssembly memory share one buffer). */
function sharesStorage(a: Tensor, b: Tensor): boolean {
  const u = a.data;
  const v = b.data;
  return u.buffer === v.buffer && u.byteOffset < v.byteOffset + v.byteLength && v.byteOffset < u.byteOffset + u.byteLength;
}

/** A `[2, 3, 16, 16]`-ish input for a rank. */
function shapeFor(rank: 1 | 2 | 3, n = 2): number[] {
  return [n, 3, ...[16, 16, 8].slice(0, rank).map((s) => (rank === 3 ? 8 : s))];
}

interface Case { m: PoolMethod; rank: 1 | 2 | 3; dtype: FloatDType }
const CASES: Case[] = listPools().flatMap((m) => m.dims.flatMap((rank) => (["float32", "float64"] as const).map((dtype) => ({ m, rank, dtype }))));
const label = (c: Case): string => `${c.m.name} ${c.rank}d ${c.dtype}`;

/** Defaults plus a fixed seed for random methods, so two calls can be compared. */
function optsOf(m: PoolMethod, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...m.defaults, ...(m.random ? { seed: 17 } : {}), ...extra };
}
function argsOf(m: PoolMethod, x: Tensor, options: Record<string, unknown>): Tensor[] {
  return exampleInputs(m, x, new Generator(23), options);
}

describe("API.md exports", () => {
  it("every export named in the contract is present (ops are functions with vjp and opName)", () => {
    for (const name of API_EXPORTS) expect(api[name], name).toBeDefined();
    for (const name of OP_EXPORTS) {
      const f = op(name);
      expect(f, name).toBeTypeOf("function");
      expect(f.vjp, `${name}.vjp`).toBeTypeOf("function");
      expect(f.opName, `${name}.opName`).toBe(name);
    }
  });

  it("every exported op (WithIndices variants and helpers included) carries its export name and names itself in errors", () => {
    const ops = Object.entries(api).filter(([, v]) => typeof v === "function" && typeof (v as { vjp?: unknown }).vjp === "function");
    expect(ops.length).toBeGreaterThan(OP_EXPORTS.length);
    for (const [name, fn] of ops) {
      const f = fn as AnyFn;
      expect(f.opName, name).toBe(name);
      expect(f.name, name).toBe(name);
      expectOpErrorLoose(thrown(() => f("not a tensor", {})), name);
    }
  });

  it("tensor() defaults to float32 and exposes shape, dtype, data, size, toArray", () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.dtype).toBe("float32");
    expect(t.data).toBeInstanceOf(Float32Array);
    expect([...t.shape]).toEqual([2, 3]);
    expect(t.size).toBe(6);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(tensor([1, 2], [2], "float64").data).toBeInstanceOf(Float64Array);
    expect(tensor([1, 2], [2], "int32").data).toBeInstanceOf(Int32Array);
  });
});

describe("registry contract", () => {
  it("listPools() descriptors carry name, export, category, dims, random, learnable inputs, paper", () => {
    const cats = ["sliding", "adaptive", "stochastic", "learned", "weighted", "second-order", "region"];
    for (const m of listPools()) {
      expect(m.name.length, "name").toBeGreaterThan(0);
      expect(api[m.export], `${m.name} export`).toBe(m.ops[m.dims.includes(2) ? 2 : (m.dims[0] as 1 | 2 | 3)]);
      expect(cats, `${m.name} category`).toContain(m.category);
      expect(m.dims.length).toBeGreaterThan(0);
      for (const d of m.dims) expect([1, 2, 3]).toContain(d);
      expect(typeof m.random, `${m.name} random`).toBe("boolean");
      expect(Array.isArray(m.learnable)).toBe(true);
      for (const l of m.learnable) expect(m.inputs.find((i) => i.name === l)?.role, `${m.name} learnable ${l}`).toBe("learnable");
      for (const i of m.inputs) if (i.role === "learnable") expect(m.learnable, `${m.name} learnable list`).toContain(i.name);
      expect(m.paper.length, `${m.name} paper`).toBeGreaterThan(0);
    }
  });

  it("the list listPools() returns cannot be reordered or emptied in place (it is the registry itself)", () => {
    const list = listPools() as PoolMethod[];
    const n = list.length;
    expect(() => list.sort((a, b) => b.name.localeCompare(a.name))).toThrow(TypeError);
    expect(() => list.splice(0, n)).toThrow(TypeError);
    expect(listPools().length).toBe(n);
    expect(listPools()[0]!.name).toBe("Max");
    expect(getPool("soft").export).toBe("softPool2d");
  });

  it("getPool forgives names: soft, soft-pool, SoftPool, softPool2d; unknown names throw listing the known ones", () => {
    for (const n of ["soft", "soft-pool", "SoftPool", "softPool2d", "SOFT_POOL"]) expect(getPool(n).export, n).toBe("softPool2d");
    expect(() => getPool("nope")).toThrow(RangeError);
    expect(() => getPool("nope")).toThrow(/^getPool: .*"nope".*SoftPool/);
    // a non-string name is a type error that shows the value (it was a RangeError showing only "number")
    expect(() => getPool(42 as unknown as string)).toThrow(TypeError);
    expect(() => getPool(42 as unknown as string)).toThrow(/^getPool: name must be a string, got 42$/);
  });
});

describe.each(CASES)("op contract: $m.name $rank d $dtype", (c) => {
  const { m, rank, dtype } = c;
  const f = m.ops[rank] as unknown as AnyFn;

  it("forward: dtype preserved, indices int32, outputShape agrees, inputs not mutated, vjp output equals op output", () => {
    const x = rand(shapeFor(rank), { seed: 5, dtype });
    const options = optsOf(m);
    const extras = argsOf(m, x, options);
    const before = [x, ...extras].map(snap);
    const optsBefore = JSON.stringify(options);
    const y = f(x, ...extras, options);
    for (const [k, t] of tensorsOf(y)) {
      if (/ind/i.test(k)) expect(t.dtype, `${label(c)} ${k}`).toBe("int32");
      else if (k === "output") expect(t.dtype, `${label(c)} ${k}`).toBe(dtype);
    }
    expect([...primary(y).shape], label(c)).toEqual(m.outputShape(x.shape, options, rank));
    for (const v of primary(y).data) expect(Number.isFinite(v), `${label(c)} finite output`).toBe(true);
    for (const [k, t] of tensorsOf(y)) {
      for (const inp of [x, ...extras]) expect(sharesStorage(t, inp), `${label(c)} ${k} shares storage with an input`).toBe(false);
    }
    const { output } = f.vjp(x, ...extras, options);
    expect(snap(primary(output)), `${label(c)} vjp output`).toEqual(snap(primary(y)));
    expect([x, ...extras].map(snap), `${label(c)} inputs untouched`).toEqual(before);
    expect(JSON.stringify(options)).toBe(optsBefore);
  });

  it("backward: one gradient per tensor input (null for constants), right shapes/dtypes, twice identical, mutates nothing", () => {
    const x = rand(shapeFor(rank), { seed: 6, dtype });
    const options = optsOf(m);
    const extras = argsOf(m, x, options);
    const before = [x, ...extras].map(snap);
    const { output, backward } = f.vjp(x, ...extras, options);
    const out = primary(output);
    const outBefore = tensorsOf(output).map(([, t]) => snap(t));
    const dy = rand(out.shape as number[], { seed: 9, dtype });
    const dyBefore = snap(dy);
    const g1 = backward(dy);
    const g2 = backward(dy);
    expect(g1.length, `${label(c)} gradient count`).toBe(1 + extras.length);
    const inputs = [x, ...extras];
    const roles = ["data", ...m.inputs.map((i) => i.role)];
    g1.forEach((g, i) => {
      const what = `${label(c)} grad ${i} (${i === 0 ? "x" : m.inputs[i - 1]!.name})`;
      if (roles[i] === "constant") {
        expect(g, what).toBeNull();
        return;
      }
      expect(g, what).toBeInstanceOf(Tensor);
      expect([...g!.shape], what).toEqual([...inputs[i]!.shape]);
      expect(g!.dtype, what).toBe(dtype);
      for (const v of g!.data) expect(Number.isFinite(v), `${what} finite`).toBe(true);
      expect(snap(g2[i]!), `${what} second call`).toEqual(snap(g!));
      expect(sharesStorage(g2[i]!, g!), `${what}: the two calls share storage`).toBe(false);
      for (const t of inputs) expect(sharesStorage(g!, t), `${what}: shares storage with an input`).toBe(false);
    });
    expect(snap(dy), `${label(c)} dy untouched`).toEqual(dyBefore);
    expect(inputs.map(snap), `${label(c)} inputs untouched`).toEqual(before);
    expect(tensorsOf(output).map(([, t]) => snap(t)), `${label(c)} output untouched`).toEqual(outBefore);
  });

  it("errors: a non-tensor x and an unknown option throw TypeError/RangeError starting with the op name", () => {
    const x = rand(shapeFor(rank), { seed: 5, dtype });
    const options = optsOf(m);
    const extras = argsOf(m, x, options);
    const isTypedError = (e: unknown): boolean => e instanceof TypeError || e instanceof RangeError;
    for (const call of [() => f([1, 2, 3], ...extras, options), () => f(x, ...extras, { ...options, notAnOption: 1 })]) {
      let err: unknown;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(isTypedError(err), `${label(c)}: ${String(err)}`).toBe(true);
      expect((err as Error).message.startsWith(`${f.opName}: `), `${label(c)}: ${(err as Error).message}`).toBe(true);
    }
  });

  if (m.random) {
    it("seed reproduces; manualSeed resets the global generator; training defaults to true", () => {
      const x = rand(shapeFor(rank), { seed: 8, dtype });
      const base = { ...m.defaults };
      const extras = argsOf(m, x, base);
      const a = snap(primary(f(x, ...extras, { ...base, seed: 3 })));
      expect(snap(primary(f(x, ...extras, { ...base, seed: 3 }))), label(c)).toEqual(a);
      manualSeed(41);
      const g1 = snap(primary(f(x, ...extras, base)));
      manualSeed(41);
      expect(snap(primary(f(x, ...extras, base))), `${label(c)} manualSeed`).toEqual(g1);
      if (m.trainEval) {
        expect(snap(primary(f(x, ...extras, { ...base, seed: 3, training: true }))), `${label(c)} training default`).toEqual(a);
      }
    });
  }

  if (WINDOWED.has(m.name) && dtype === "float64") {
    it("accepts unbatched [C, ...spatial] input and returns unbatched output equal to the batched one", () => {
      const xb = rand(shapeFor(rank, 1), { seed: 12, dtype });
      const xu = tensor(xb.data, xb.shape.slice(1), dtype);
      const options = optsOf(m);
      const eb = argsOf(m, xb, options);
      const eu = argsOf(m, xu, options);
      const yb = primary(f(xb, ...eb, options));
      const yu = primary(f(xu, ...eu, options));
      expect([...yu.shape], label(c)).toEqual(yb.shape.slice(1));
      expect([...yu.shape], label(c)).toEqual(m.outputShape(xu.shape, options, rank));
      if (eb.every((e, i) => e.size === eu[i]!.size)) {
        const eu2 = eb.map((e, i) => tensor(e.data, eu[i]!.shape, e.dtype));
        expect(snap(primary(f(xu, ...eu2, options))), label(c)).toEqual(snap(yb));
      }
    });
  }
});

/** Run `call`; return the error it threw (or undefined). */
function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (e) {
    return e;
  }
  return undefined;
}
function expectOpErrorLoose(err: unknown, opName: string): void {
  expect(err instanceof TypeError || err instanceof RangeError, `${opName}: ${String(err)}`).toBe(true);
  expect((err as Error).message.startsWith(`${opName}: `), (err as Error).message).toBe(true);
}
/** The error is a TypeError/RangeError whose message starts with the op name (never a bare JS crash). */
function expectOpError(err: unknown, opName: string, what: string): void {
  expect(err instanceof TypeError || err instanceof RangeError, `${what}: ${String(err)}`).toBe(true);
  expect((err as Error).message.startsWith(`${opName}: `), `${what}: ${(err as Error).message}`).toBe(true);
  expect(/undefined|NaN|\[object/.test((err as Error).message.slice(opName.length)) && /Cannot read|is not/.test((err as Error).message), `${what}: ${(err as Error).message}`).toBe(false);
}

describe.each(listPools().map((m) => ({ m, rank: (m.dims.includes(2) ? 2 : m.dims[0]) as 1 | 2 | 3 })))("bad input: $m.name", ({ m, rank }) => {
  const f = m.ops[rank] as unknown as AnyFn;
  const x = rand(shapeFor(rank), { seed: 5, dtype: "float64" });
  const options = optsOf(m);
  const extras = argsOf(m, x, options);

  it("int32 x, wrong-rank x, null options and a dy of the wrong shape are op errors", () => {
    expectOpError(thrown(() => f(tensor(new Int32Array(x.size), x.shape, "int32"), ...extras, options)), f.opName, `${m.name} int32 x`);
    expectOpError(thrown(() => f(tensor([1, 2, 3], [3], "float64"), ...extras, options)), f.opName, `${m.name} 1-element-rank x`);
    const e = thrown(() => f(x, ...extras, null));
    if (e !== undefined) expectOpError(e, f.opName, `${m.name} null options`);
    const { backward } = f.vjp(x, ...extras, options);
    expectOpError(thrown(() => backward(tensor([1], [1], "float64"))), f.opName, `${m.name} dy shape`);
  });

  it("bad option values are op errors", () => {
    const bad: Record<string, unknown[]> = {
      kernelSize: [0, -1, 2.5, NaN, "2", [2, 2, 2, 2]],
      stride: [0, -2, 1.5, NaN],
      padding: [-1, 0.5],
      outputSize: [0, -3, 1.5],
      seed: ["abc", NaN, 1.5],
      training: ["yes", 1],
    };
    for (const [key, values] of Object.entries(bad)) {
      if (!(key in options) && !(key === "seed" && m.random) && !(key === "training" && m.trainEval)) continue;
      for (const v of values) {
        expectOpError(thrown(() => f(x, ...extras, { ...options, [key]: v })), f.opName, `${m.name} ${key}=${String(v)}`);
      }
    }
  });

  if (extras.length > 0) {
    it("an extra tensor input of the wrong shape or a non-tensor is an op error", () => {
      for (let i = 0; i < extras.length; i++) {
        const wrong = extras.map((e, j) => (j === i ? tensor(new Float64Array(e.size + 1).fill(e.dtype === "int32" ? 0 : 0.5), [e.size + 1], e.dtype) : e));
        expectOpError(thrown(() => f(x, ...wrong, options)), f.opName, `${m.name} input ${m.inputs[i]!.name} shape`);
        const missing = extras.map((e, j) => (j === i ? ([1, 2] as unknown as Tensor) : e));
        expectOpError(thrown(() => f(x, ...missing, options)), f.opName, `${m.name} input ${m.inputs[i]!.name} non-tensor`);
      }
    });
  }
});

/**
 * Options objects, for every registry method: only plain objects are accepted (a Map, a boxed Number,
 * an array, a class instance or null is a PoolkitTypeError with one message for all ops), and only
 * their own properties are read — options inherited from a polluted Object.prototype change nothing.
 */
class OptionsLike {
  kernelSize = 2;
}
/** Option names the ops know, with values that would change any op's result if it read them. */
const POLLUTION: Record<string, unknown> = {
  ceilMode: true, padding: 1, stride: 1, dilation: 2, countIncludePad: false, divisorOverride: 3, normType: 1,
  training: false, seed: 99, outputSize: 1, outputRatio: 0.5, levels: [1], mode: "avg", normalization: "none",
  method: "random-maclaurin", sumPool: false, pooling: "mean", reward: "asymmetric", sharing: "channel", mixing: "sigmoid",
  samplingRatio: 1, aligned: true, spatialScale: 0.5, gridSize: 1, k: 1, eps: 0.5, iterations: 1, official: true,
  variant: "official", signedSqrt: false, l2: false, rank: 1, outputDim: 3, activation: "none", r: 1,
};

describe.each(listPools().map((m) => ({ m, rank: (m.dims.includes(2) ? 2 : m.dims[0]) as 1 | 2 | 3 })))("options objects: $m.name", ({ m, rank }) => {
  const f = m.ops[rank] as unknown as AnyFn;
  const x = rand(shapeFor(rank), { seed: 5, dtype: "float64" });
  const options = optsOf(m);
  const extras = argsOf(m, x, options);

  it("a Map, a Number object, an array, a class instance and null are rejected with one message", () => {
    const cases: [unknown, string][] = [
      [new Map(Object.entries(options)), "Map"],
      [new Number(2), "Number"],
      [[options], "Array"],
      [new OptionsLike(), "OptionsLike"],
      [null, "null"],
    ];
    for (const [bad, kind] of cases) {
      const e = thrown(() => f(x, ...extras, bad));
      expect(e, `${m.name} ${kind}: ${String(e)}`).toBeInstanceOf(poolkit.PoolkitTypeError);
      expect((e as Error).message, `${m.name} ${kind}`).toBe(`${f.opName}: options must be a plain object, got ${kind}`);
    }
  });

  it("a null-prototype options object is accepted like a plain one", () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, options);
    expect(snap(primary(f(x, ...extras, bare)))).toEqual(snap(primary(f(x, ...extras, options))));
  });

  it("options inherited from a polluted Object.prototype are ignored (forward, backward and outputShape)", () => {
    const clean = f.vjp(x, ...extras, options);
    const dy = rand(primary(clean.output).shape as number[], { seed: 7, dtype: "float64" });
    const cleanGrads = clean.backward(dy).map((g) => (g ? snap(g) : null));
    const cleanShape = m.outputShape(x.shape, options, rank);
    const proto = Object.prototype as Record<string, unknown>;
    const added: string[] = [];
    let polluted: { output: unknown; grads: (number[] | null)[]; shape: number[] } | undefined;
    let error: unknown;
    try {
      for (const [k, v] of Object.entries(POLLUTION)) {
        if (Object.prototype.hasOwnProperty.call(proto, k)) continue;
        proto[k] = v;
        added.push(k);
      }
      const r = f.vjp(x, ...extras, options);
      polluted = { output: snap(primary(r.output)), grads: r.backward(dy).map((g) => (g ? snap(g) : null)), shape: m.outputShape(x.shape, options, rank) };
    } catch (e) {
      error = e;
    } finally {
      for (const k of added) delete proto[k];
    }
    expect(error, `${m.name}: ${String(error)}`).toBeUndefined();
    expect(polluted!.output, `${m.name} output`).toEqual(snap(primary(clean.output)));
    expect(polluted!.grads, `${m.name} gradients`).toEqual(cleanGrads);
    expect(polluted!.shape, `${m.name} outputShape`).toEqual(cleanShape);
  });
});

describe("options objects: the issue's case", () => {
  it("Object.prototype.ceilMode = true leaves maxPool2d(x [1,1,5,5], { kernelSize: 2 }) at [1, 1, 2, 2]", () => {
    const x = rand([1, 1, 5, 5], { seed: 1 });
    const proto = Object.prototype as Record<string, unknown>;
    let shape: readonly number[] = [];
    try {
      proto["ceilMode"] = true;
      shape = (op("maxPool2d")(x, { kernelSize: 2 }) as Tensor).shape;
    } finally {
      delete proto["ceilMode"];
    }
    expect([...shape]).toEqual([1, 1, 2, 2]);
  });
});

describe("the { output, indices } variants", () => {
  const cases: [string, 1 | 2 | 3, Record<string, unknown>][] = [
    ...([1, 2, 3] as const).flatMap((r): [string, 1 | 2 | 3, Record<string, unknown>][] => [
      [`maxPool${r}dWithIndices`, r, { kernelSize: 3, stride: 2, padding: 1 }],
      [`adaptiveMaxPool${r}dWithIndices`, r, { outputSize: 3 }],
    ]),
    ["fractionalMaxPool2dWithIndices", 2, { kernelSize: 2, outputSize: 3, seed: 1 }],
    ["fractionalMaxPool3dWithIndices", 3, { kernelSize: 2, outputSize: 3, seed: 1 }],
  ];
  it.each(cases)("%s: int32 indices, float64 kept, one gradient, unbatched too, nothing mutated", (name, rank, options) => {
    const f = op(name);
    for (const batched of [true, false]) {
      const x = rand(batched ? shapeFor(rank) : shapeFor(rank).slice(1), { seed: 3, dtype: "float64" });
      const before = snap(x);
      const r = f(x, options) as { output: Tensor; indices: Tensor };
      expect(r.output.dtype).toBe("float64");
      expect(r.indices.dtype).toBe("int32");
      expect([...r.indices.shape]).toEqual([...r.output.shape]);
      expect(r.output.shape.length).toBe(x.shape.length);
      // indices are flat into each input plane and point at the maximum they report
      const plane = x.shape.slice(-rank).reduce((a, b) => a * b, 1);
      const planes = x.size / plane;
      const per = r.output.size / planes;
      for (let i = 0; i < r.output.size; i++) {
        const k = r.indices.data[i]!;
        expect(k >= 0 && k < plane, `${name} index ${k}`).toBe(true);
        expect(x.data[Math.floor(i / per) * plane + k]).toBe(r.output.data[i]);
      }
      const { backward } = f.vjp(x, options);
      const g = backward(tensor(new Float64Array(r.output.size).fill(1), r.output.shape, "float64"));
      expect(g.length).toBe(1);
      expect([...g[0]!.shape]).toEqual([...x.shape]);
      expect(snap(x)).toEqual(before);
    }
  });
});

/**
 * Methods whose output is positively homogeneous of degree 1 in x once the windows and random draws
 * are fixed (max / average / LP / selection / bilinear interpolation). For them Euler's identity
 * Σ x·(∂L/∂x) = Σ dy·y holds exactly, so a backward that routed through other windows or other
 * random draws than its forward would break it. No seed is passed: the draws come from the global
 * generator, which is advanced between the forward and the backward calls.
 */
const HOMOGENEOUS_1 = ["Max", "Average", "LP", "MaxUnpool", "GlobalAverage", "GlobalMax", "AdaptiveAverage", "AdaptiveMax", "FractionalMax", "Mixed", "Stochastic", "S3Pool", "SpatialPyramid", "RoIPool", "RoIAlign"];

describe.each(HOMOGENEOUS_1.map((n) => ({ m: getPool(n) })))("backward uses the forward's windows and draws: $m.name", ({ m }) => {
  it.each(m.dims.map((rank) => ({ rank })))("Euler: Σ x·dx = Σ dy·y ($rank d), with the global generator advanced in between", ({ rank }) => {
    const f = m.ops[rank] as unknown as AnyFn;
    // fractional sizes so the fractional windows really depend on the draws
    const x = rand(rank === 2 ? [2, 3, 16, 18] : shapeFor(rank), { seed: 31, dtype: "float64" });
    const options = { ...m.defaults, ...(m.name === "FractionalMax" ? { outputRatio: 0.6 } : {}) };
    const extras = argsOf(m, x, options);
    manualSeed(1234);
    const { output, backward } = f.vjp(x, ...extras, options);
    const y = primary(output);
    rand([1000]); // advance the global generator: backward must not draw again
    const dy = rand(y.shape as number[], { seed: 32, dtype: "float64" });
    const [dx] = backward(dy);
    let lhs = 0;
    let rhs = 0;
    for (let i = 0; i < x.size; i++) lhs += x.data[i]! * dx!.data[i]!;
    for (let i = 0; i < y.size; i++) rhs += dy.data[i]! * y.data[i]!;
    expect(Math.abs(lhs - rhs), `${m.name} ${rank}d: ${lhs} vs ${rhs}`).toBeLessThan(1e-9 * Math.max(1, Math.abs(rhs)));
  });
});

/**
 * API.md, "Where storage is heading": a tensor's view may be re-created after WebAssembly memory
 * growth, so no op may keep a typed-array view of an input from its forward pass for its backward.
 * Simulated here with a storage whose `grow()` moves the values to a new buffer and detaches the
 * old one (a stale view then has length 0 and reads undefined).
 */
class MovableStorage {
  #view: TypedArray;
  constructor(view: TypedArray) {
    this.#view = view;
  }
  get view(): TypedArray {
    return this.#view;
  }
  grow(): void {
    const old = this.#view;
    this.#view = old.slice();
    structuredClone(old.buffer, { transfer: [old.buffer as ArrayBuffer] });
  }
}

describe("no typed-array view is kept across ops (storage may move)", () => {
  it.each(CASES.filter((c) => c.dtype === "float64"))("$m.name $rank d: backward after the inputs' storage moved equals the plain backward", ({ m, rank }) => {
    const f = m.ops[rank] as unknown as AnyFn;
    const x = rand(shapeFor(rank), { seed: 3, dtype: "float64" });
    const options = optsOf(m);
    const extras = argsOf(m, x, options);
    const ref = f.vjp(x, ...extras, options);
    const dy = rand(primary(ref.output).shape as number[], { seed: 4, dtype: "float64" });
    const want = ref.backward(dy).map((g) => (g ? snap(g) : null));
    const stores = [x, ...extras].map((t) => new MovableStorage(t.data.slice()));
    const moved = [x, ...extras].map((t, i) => new Tensor(stores[i]!, t.shape, t.dtype));
    const { output, backward } = f.vjp(...moved, options);
    expect(snap(primary(output))).toEqual(snap(primary(ref.output)));
    for (const s of stores) s.grow();
    rand([64]); // another op in between
    expect(backward(dy).map((g) => (g ? snap(g) : null))).toEqual(want);
  });
});

/**
 * Every method's backward is the vector-Jacobian product of its forward: float64 central differences
 * on a sample of the elements of every input with a gradient, on distinct (tie-free) values, with the
 * descriptor defaults (training and, where there is one, eval mode). Excluded: DynOPool's `r`, whose
 * gradient is a documented straight-through estimate (the forward is piecewise constant in r), and its
 * `delta` at the defaults r = 2, delta = 0.25, where every query sits on a pixel centre — a kink of the
 * bilinear interpolation (test/ops/dynamicPool.test.ts gradchecks delta away from it).
 */
const STRAIGHT_THROUGH = new Set(["DynOPool:r", "DynOPool:delta"]);
const GRAD_CASES = listPools().flatMap((m) =>
  m.dims.flatMap((rank) => (m.trainEval ? [true, false] : [true]).map((training) => ({ m, rank, training }))),
);
describe.each(GRAD_CASES)("finite differences: $m.name $rank d (training $training)", ({ m, rank, training }) => {
  it("backward matches central differences for every differentiable input", () => {
    const f = m.ops[rank] as unknown as AnyFn;
    const shape = [2, 2, ...(rank === 3 ? [6, 6, 6] : rank === 2 ? [8, 8] : [10])];
    const n = shape.reduce((a, b) => a * b, 1);
    const gen = new Generator(11);
    const perm = gen.permutation(n);
    const x = tensor(Array.from(perm, (v) => 0.2 + v / n + 0.01 * gen.uniform()), shape, "float64");
    const options = { ...optsOf(m), ...(m.trainEval ? { training } : {}) };
    const inputs = [x, ...argsOf(m, x, options)];
    const run = (ins: Tensor[]): Float64Array => primary(f(...ins, options)).data as Float64Array;
    const base = f.vjp(...inputs, options);
    const y = primary(base.output);
    const dy = tensor(Array.from({ length: y.size }, () => gen.normal()), y.shape, "float64");
    const grads = base.backward(dy);
    const dot = (a: Float64Array): number => a.reduce((s, v, i) => s + v * dy.data[i]!, 0);
    grads.forEach((g, i) => {
      const name = i === 0 ? "x" : m.inputs[i - 1]!.name;
      if (!g || STRAIGHT_THROUGH.has(`${m.name}:${name}`)) return;
      const xd = Float64Array.from(inputs[i]!.data);
      const step = Math.max(1, Math.floor(xd.length / 40));
      for (let j = 0; j < xd.length; j += step) {
        const orig = xd[j]!;
        const eps = 1e-6;
        const at = (v: number): number => {
          xd[j] = v;
          const ins = inputs.slice();
          ins[i] = tensor(xd.slice(), inputs[i]!.shape, "float64");
          return dot(run(ins));
        };
        const numeric = (at(orig + eps) - at(orig - eps)) / (2 * eps);
        xd[j] = orig;
        const analytic = g.data[j]!;
        expect(Math.abs(numeric - analytic), `${m.name} ${rank}d ${name}[${j}]: analytic ${analytic}, numeric ${numeric}`).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(numeric));
      }
    });
  });
});

describe("optional second stream: op(a) is op(a, a)", () => {
  it.each([
    ["bilinearPool", {}],
    ["compactBilinearPool", { outputDim: 16 }],
    ["compactBilinearPool", { outputDim: 16, method: "random-maclaurin" }],
  ] as const)("%s %j: same output, and the one-stream gradient is da + db", (name, options) => {
    const f = op(name);
    const a = rand([2, 3, 4, 5], { seed: 1, dtype: "float64" });
    const one = f.vjp(a, options);
    const two = f.vjp(a, a, options);
    expect(snap(primary(one.output))).toEqual(snap(primary(two.output)));
    const dy = rand(primary(one.output).shape as number[], { seed: 2, dtype: "float64" });
    const [g] = one.backward(dy);
    const [ga, gb] = two.backward(dy);
    for (let i = 0; i < a.size; i++) expect(g!.data[i]!).toBeCloseTo(ga!.data[i]! + gb!.data[i]!, 12);
  });
});
