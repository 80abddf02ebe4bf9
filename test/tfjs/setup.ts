/** Shared set-up for the tfjs tests: the cpu and wasm backends, and example inputs per registry method. */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import path from "node:path";
import { exampleInputs, type PoolMethod } from "../../src/registry.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { layers, ops, opsWithIndices, findLayerClass, type AnyPoolLayerConfig, type AnyTfPoolOp, type AnyTfPoolOpWithIndices, type PoolkitPoolLayer } from "../../src/tfjs/index.js";

const require = createRequire(import.meta.url);
// In Node the wasm backend reads its .wasm binaries from disk: point it at the package's dist folder.
setWasmPaths(path.join(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + path.sep);

export const BACKENDS = ["cpu", "wasm"] as const;

/**
 * Turn off, on one cpu backend instance, the notice it prints on its first tensor write in Node
 * ("Hi, looks like you are running TensorFlow.js in Node.js. To speed things up dramatically,
 * install our node backend…"): these tests use the pure-JS cpu backend on purpose (tfjs-node
 * downloads a native binary). The notice is guarded by the instance's `firstUse` flag
 * (tfjs-backend-cpu `backend_cpu.ts`, `MathBackendCPU.write`); clearing that flag silences exactly it.
 * Not `env().set("IS_TEST" | "PROD", true)`: those mute every tfjs warning and log
 * (tfjs-core `log.ts`), real ones included. Returns whether the flag was found; banner.test.ts fails
 * if a tfjs upgrade renames it.
 */
export function quietNodeBanner(backend: unknown): boolean {
  if (backend === null || typeof backend !== "object" || typeof (backend as { firstUse?: unknown }).firstUse !== "boolean") return false;
  (backend as { firstUse: boolean }).firstUse = false;
  return true;
}

// Before any test file creates a tensor: `findBackend` builds the cpu backend (synchronously) without
// making it the active one.
quietNodeBanner(tf.findBackend("cpu"));

export async function useBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}

/** A channels-first input shape for a method at a rank, small but valid for its defaults. */
export function exampleShape(method: PoolMethod, rank: 1 | 2 | 3): number[] {
  const spatial = { 1: [16], 2: [8, 8], 3: [6, 6, 6] }[rank];
  void method;
  return [2, 3, ...spatial];
}

/** Options that make the op deterministic (random methods get a seed). */
export function exampleOptions(method: PoolMethod): Record<string, unknown> {
  const o: Record<string, unknown> = { ...method.defaults };
  if (method.random) o.seed = 11;
  return o;
}

/** Distinct, tie-free values in (0.05, 2.05) (no ties for max-type ops; non-negative for stochastic pooling). */
export function distinct(shape: readonly number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const g = new Generator(seed);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(g.uniform() * (i + 1));
    [perm[i], perm[j]] = [perm[j] as number, perm[i] as number];
  }
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = 0.05 + (2 * ((perm[i] as number) + 0.5)) / n;
  return tensor(v, shape, "float32");
}

/** The core inputs `(x, ...inputs)` for a method at a rank with its example options. */
export function coreInputs(method: PoolMethod, rank: 1 | 2 | 3, seed = 3): { x: Tensor; extra: Tensor[]; options: Record<string, unknown> } {
  const options = exampleOptions(method);
  const x = distinct(exampleShape(method, rank), seed);
  const extra = exampleInputs(method, x, new Generator(seed + 1), options);
  return { x, extra, options };
}

/** poolkit Tensor → tf.Tensor. */
export function toTf(t: Tensor): tf.Tensor {
  // a copy: tfjs keeps the array it is given, and a poolkit view of WebAssembly memory may move
  return tf.tensor(t.data.slice() as Float32Array | Int32Array, [...t.shape], t.dtype === "int32" ? "int32" : "float32");
}

/** `[N, C, ...S]` → `[N, ...S, C]`. */
export function cl(t: tf.Tensor): tf.Tensor {
  if (t.rank < 3) return t;
  const perm = [0];
  for (let i = 2; i < t.rank; i++) perm.push(i);
  perm.push(1);
  return tf.transpose(t, perm);
}

/** `[N, ...S, C]` → `[N, C, ...S]`. */
export function cf(t: tf.Tensor): tf.Tensor {
  if (t.rank < 3) return t;
  const perm = [0, t.rank - 1];
  for (let i = 1; i < t.rank - 1; i++) perm.push(i);
  return tf.transpose(t, perm);
}

/** Every (method, rank) pair of a registry list that has an op. */
export function opCases(methods: readonly PoolMethod[]): { method: PoolMethod; rank: 1 | 2 | 3; exportName: string }[] {
  const out: { method: PoolMethod; rank: 1 | 2 | 3; exportName: string }[] = [];
  for (const method of methods) {
    for (const rank of [1, 2, 3] as const) {
      const exportName = method.exports[rank];
      if (exportName && method.ops[rank]) out.push({ method, rank, exportName });
    }
  }
  return out;
}

// The registry-driven tests look ops and layers up by run-time names (a method's `exports[rank]`);
// user code with literal names gets the typed `ops.softPool2d` / `layers.softPool2d` instead.
/** `ops` by a run-time name. */
export const opsByName = ops as unknown as Readonly<Record<string, AnyTfPoolOp | undefined>>;
/** `opsWithIndices` by a run-time name. */
export const opsWithIndicesByName = opsWithIndices as unknown as Readonly<Record<string, AnyTfPoolOpWithIndices | undefined>>;
/** `layers` by a run-time name. */
export const layersByName = layers as unknown as Readonly<Record<string, ((config?: AnyPoolLayerConfig) => PoolkitPoolLayer) | undefined>>;
export { findLayerClass };
