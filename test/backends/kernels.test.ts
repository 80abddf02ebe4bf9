/**
 * The kernel table: every op reaches its kernels through it (a spy registered for every kernel name
 * is called by the ops the hand-written table below says use it), every kernel name has exactly one
 * reference function and every reference function exactly one name (a faster `maxWindows.forward`
 * reaches max, adaptive max, global max, mixed, S3Pool and spatial pyramid pooling alike).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, type BackendName } from "../../src/backends/index.js";
import { observeKernels, registerKernel, unregisterKernel, type KernelName, type Kernels } from "../../src/kernels/registry.js";
import { exampleInputs, listPools, type PoolMethod } from "../../src/registry.js";
import { Generator, rand } from "../../src/tensor/random.js";
import type { DType, FloatDType } from "../../src/tensor/dtype.js";
import type { Tensor } from "../../src/tensor/tensor.js";

/** The kernels each method's forward + backward must reach (training mode, descriptor defaults). */
const EXPECTED: Record<string, KernelName[]> = {
  Max: ["maxWindows.forward", "maxWindows.backwardWrite"],
  Average: ["avgWindows.forward", "avgWindows.backwardWrite"],
  LP: ["lpPool.forward", "lpPool.backward"],
  MaxUnpool: ["maxUnpool.forward", "maxUnpool.backward"],
  GlobalAverage: ["avgWindows.forward", "avgWindows.backwardWrite"],
  GlobalMax: ["maxWindows.forward", "maxWindows.backwardWrite"],
  AdaptiveAverage: ["avgWindows.forward", "avgWindows.backwardWrite"],
  AdaptiveMax: ["maxWindows.forward", "maxWindows.backwardWrite"],
  FractionalMax: ["fractionalMaxPool.forward", "maxWindows.scatterWrite"],
  Mixed: ["maxWindows.forward", "avgWindows.forward", "mix.forward", "mix.backward"],
  LearnedMix: ["maxWindows.forward", "avgWindows.forward", "mix.forward", "mix.backward"],
  GatedMix: ["gatedMixPool.forward", "gatedMixPool.backward"],
  Tree: ["treePool.forward", "treePool.backward"],
  Stochastic: ["stochasticPool.forwardTrain", "maxWindows.backwardWrite"],
  S3Pool: ["maxWindows.forward", "maxWindows.backwardWrite"],
  SoftPool: ["softmaxWindows.forward", "softmaxWindows.backward"],
  LIP: ["softmaxWindows.forward", "softmaxWindows.backward"],
  DPP: ["detailPreservingPool.forward", "detailPreservingPool.backward"],
  DynOPool: ["dynamicPool.forward", "dynamicPool.backward"],
  // The matrix methods reach the matrix core (src/linalg/gemm.ts) through the table.
  Covariance: ["linalg.gemm", "linalg.syrk", "linalg.gemmt", "linalg.syrkBatched", "linalg.gemmBatched", "linalg.gemmtBatched", "linalg.hadamard", "linalg.centreRows"],
  Grassmann: ["linalg.gemm", "linalg.syrk"],
  GrassmannCompact: ["linalg.gemm", "linalg.syrk"],
  SpatialPyramid: ["maxWindows.forward", "maxWindows.backward"],
  RoIPool: ["roiPool.forward", "roiPool.backward"],
  RoIAlign: ["roiAlign.forward", "roiAlign.backward"],
  Bilinear: ["bilinearPool.gram", "bilinear.signedSqrtL2", "bilinear.signedSqrtL2Backward", "bilinearPool.gramBackward", "linalg.gemm"],
  // sum-pooled Tensor Sketch of a small map takes the direct route (the sketch of X·Yᵀ by the matrix core)
  CompactBilinear: ["compactBilinearPool.tensorSketch", "bilinear.signedSqrtL2", "bilinear.signedSqrtL2Backward", "compactBilinearPool.tensorSketchBackward", "linalg.gemm"],
  LowRankBilinear: ["lowRankBilinearPool.forward", "lowRankBilinearPool.backward", "linalg.gemm"],
};

/** Where a float32 input reaches other kernels than EXPECTED: float32 products take the matrix core's float32 GEMM. */
const EXPECTED_F32: Record<string, KernelName[]> = {
  Bilinear: ["bilinearPool.gram", "bilinear.signedSqrtL2", "bilinear.signedSqrtL2Backward", "bilinearPool.gramBackward", "linalg.gemmF32"],
  CompactBilinear: ["compactBilinearPool.tensorSketch", "bilinear.signedSqrtL2", "bilinear.signedSqrtL2Backward", "compactBilinearPool.tensorSketchBackward", "linalg.gemmF32"],
};

/** Extra option sets that route to other kernels. */
const VARIANTS: Record<string, [Record<string, unknown>, KernelName[]][]> = {
  SpatialPyramid: [[{ mode: "avg" }, ["avgWindows.forward", "avgWindows.backward"]]],
  Stochastic: [[{ training: false }, ["stochasticPool.forwardEval", "stochasticPool.backwardEval"]]],
  CompactBilinear: [[{ method: "random-maclaurin" }, ["compactBilinearPool.randomMaclaurin", "bilinear.signedSqrtL2", "bilinear.signedSqrtL2Backward", "compactBilinearPool.randomMaclaurinBackward", "linalg.gemm"]]],
};

const ALL_NAMES = [...new Set([...Object.values(EXPECTED).flat(), ...Object.values(EXPECTED_F32).flat(), ...Object.values(VARIANTS).flatMap((v) => v.flatMap((e) => e[1]))])];

type AnyOp = { vjp: (...a: unknown[]) => { output: unknown; backward: (dy: Tensor) => unknown } };

function runMethod(m: PoolMethod, rank: 1 | 2 | 3, dtype: FloatDType, extra: Record<string, unknown>): void {
  const x = rand(rank === 1 ? [2, 3, 16] : rank === 2 ? [2, 3, 16, 16] : [2, 3, 8, 8, 8], { seed: 1, dtype });
  const opts = { ...m.defaults, ...(m.random ? { seed: 1 } : {}), ...extra };
  const f = m.ops[rank] as unknown as AnyOp;
  const r = f.vjp(x, ...exampleInputs(m, x, new Generator(2), opts), opts);
  const out = (r.output as { output?: Tensor }).output ?? (r.output as Tensor);
  r.backward(rand(out.shape as number[], { seed: 3, dtype }));
}

let before: BackendName;
beforeAll(() => {
  before = getBackend();
  setBackend("js");
});
afterAll(() => setBackend(before));

describe("kernel table", () => {
  it("the expectation table names every method", () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(listPools().map((m) => m.name).sort());
  });

  it("every op reaches exactly its kernels through the table (spies registered for every kernel name and dtype are called)", () => {
    const calls = new Map<string, number>();
    const refs = new Map<string, unknown>();
    // record each name's reference, then register a spy that counts and delegates to it
    observeKernels((name, dtype, ref) => {
      refs.set(`${name}:${dtype}`, ref);
    });
    try {
      for (const m of listPools()) for (const rank of m.dims) for (const dtype of ["float32", "float64"] as const) runMethod(m, rank, dtype, {});
      for (const [name, variants] of Object.entries(VARIANTS)) {
        for (const [extra] of variants) for (const dtype of ["float32", "float64"] as const) runMethod(listPools().find((m) => m.name === name) as PoolMethod, 2, dtype, extra);
      }
    } finally {
      observeKernels(null);
    }
    const spied: [KernelName, DType][] = [];
    for (const key of refs.keys()) {
      const [name, dtype] = key.split(":") as [KernelName, DType];
      const ref = refs.get(key) as (...a: unknown[]) => unknown;
      registerKernel(name, dtype, ((...a: unknown[]) => {
        calls.set(key, (calls.get(key) ?? 0) + 1);
        return ref(...a);
      }) as Kernels[typeof name]);
      spied.push([name, dtype]);
    }
    try {
      for (const m of listPools()) {
        const runs: [Record<string, unknown>, KernelName[]][] = [[{}, EXPECTED[m.name] as KernelName[]], ...(VARIANTS[m.name] ?? [])];
        for (const [extra, want] of runs) {
          for (const rank of extra && Object.keys(extra).length > 0 ? [2 as const] : m.dims) {
            for (const dtype of ["float32", "float64"] as const) {
              calls.clear();
              runMethod(m, rank, dtype, extra);
              const reached = [...new Set([...calls.keys()].map((k) => k.split(":")[0]))].sort();
              const wantD = dtype === "float32" && Object.keys(extra).length === 0 ? (EXPECTED_F32[m.name] ?? want) : want;
              expect(reached, `${m.name} ${rank}d ${dtype} ${JSON.stringify(extra)}`).toEqual([...new Set(wantD)].sort());
              // kernels run in the input's dtype; learnedMixPool2d's alpha gradient also averages in float64 (max − avg precision)
              // the matrix core is keyed by C's dtype: float64 intermediates of float32 inputs are products in float64
              const other = [...calls.keys()].filter((k) => !k.endsWith(`:${dtype}`) && !(k.startsWith("linalg.") && k.endsWith(":float64")));
              expect(other, `${m.name} ${rank}d ${dtype}`).toEqual(m.name === "LearnedMix" && dtype === "float32" ? ["avgWindows.forward:float64"] : []);
            }
          }
        }
      }
    } finally {
      for (const [name, dtype] of spied) unregisterKernel(name, dtype);
    }
    expect(new Set([...refs.keys()].map((k) => k.split(":")[0])).size).toBe(ALL_NAMES.length);
  });

  it("one reference function per kernel name, one name per reference function", () => {
    const byName = new Map<string, Set<unknown>>();
    const byRef = new Map<unknown, Set<string>>();
    observeKernels((name, _dtype, ref) => {
      (byName.get(name) ?? byName.set(name, new Set()).get(name))?.add(ref);
      (byRef.get(ref) ?? byRef.set(ref, new Set()).get(ref))?.add(name);
    });
    try {
      for (const m of listPools()) for (const rank of m.dims) runMethod(m, rank, "float32", {});
      for (const [name, variants] of Object.entries(VARIANTS)) for (const [extra] of variants) runMethod(listPools().find((m) => m.name === name) as PoolMethod, 2, "float32", extra);
    } finally {
      observeKernels(null);
    }
    for (const [name, fns] of byName) expect(fns.size, `${name} has ${fns.size} reference functions`).toBe(1);
    for (const [ref, names] of byRef) expect(names.size, `${(ref as { name: string }).name} is registered as ${[...names].join(", ")}`).toBe(1);
  });

  it("registerKernel type-checks a replacement against its kernel's signature (no untyped fallback)", () => {
    // Compile-time checks (tsconfig.test.json): a replacement of the wrong shape does not type-check.
    const wrong = (x: string): void => void x;
    // @ts-expect-error roiPool.forward takes (x, y, arg, plan) typed arrays and a plan, not a string
    registerKernel("roiPool.forward", "float32", wrong);
    unregisterKernel("roiPool.forward", "float32");
    // @ts-expect-error mix.forward's weights are a Float64Array
    registerKernel("mix.forward", "float64", (mx: Float64Array, av: Float64Array, w: Int32Array, y: Float64Array): void => void [mx, av, w, y]);
    unregisterKernel("mix.forward", "float64");
    const ok: Kernels["maxUnpool.forward"] = (x, idx, y, planes, inPlane, outPlane) => (void [x, idx, y, planes, inPlane, outPlane], -1);
    registerKernel("maxUnpool.forward", "float32", ok);
    unregisterKernel("maxUnpool.forward", "float32");
    expect(typeof ok).toBe("function");
  });
});
