/**
 * Backend selection: where tensors live and which kernels run.
 *
 * - `"js"`: tensors in the JS heap (one typed array each), TypeScript kernels.
 * - `"wasm"` / `"wasm-simd"`: tensors in one `WebAssembly.Memory` managed by a size-class allocator
 *   (src/backends/linear.ts); the kernels compiled from assembly/ (scalar or v128 SIMD) replace the
 *   TypeScript kernels they cover, through the kernel table (src/kernels/registry.ts). Kernels not
 *   covered keep running in TypeScript on views of the same memory.
 *
 * The default is the fastest available, chosen on first use (not at import): `wasm-simd` where the
 * engine validates the SIMD module, else `js` (the scalar `wasm` build is selectable, but slower than
 * the TypeScript kernels for max pooling). In Node the environment variable
 * `POOLKIT_BACKEND` forces one (read through `globalThis.process`, so this module imports nothing
 * from Node). Every backend gives the same results: max-type outputs and indices bit-identical,
 * sums within float32 accumulation error (see docs/backends.md).
 */
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { setStorageBackend } from "../tensor/alloc.js";
import { LinearHeap } from "./linear.js";
import { activeWasm, installWasmKernels, removeWasmKernels, simdSupported, wasmSupported } from "./wasm/index.js";
import { requestThreads } from "./wasm/threads.js";

/** A backend name accepted by {@link setBackend}. */
export type BackendName = "wasm-simd" | "wasm" | "js";

const NAMES: readonly BackendName[] = ["wasm-simd", "wasm", "js"];

let current: BackendName | null = null;

function available(name: BackendName): boolean {
  if (name === "js") return true;
  if (name === "wasm") return wasmSupported();
  return simdSupported();
}

function activate(name: BackendName): void {
  removeWasmKernels();
  if (name === "js") {
    setStorageBackend(null);
  } else {
    const heap = installWasmKernels(name === "wasm-simd");
    setStorageBackend(heap);
  }
  current = name;
}

function envBackend(): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const v = proc?.env?.POOLKIT_BACKEND;
  return v === undefined || v === "" ? undefined : v;
}

/** @internal Activate the default backend unless one is active (called on the first allocation). */
export function chooseDefaultBackend(): void {
  if (current !== null) return;
  const forced = envBackend();
  if (forced !== undefined) {
    if (!(NAMES as readonly string[]).includes(forced)) {
      throw new PoolkitTypeError("POOLKIT_BACKEND", `expected "wasm-simd", "wasm" or "js", got ${show(forced)}`);
    }
    const name = forced as BackendName;
    if (!available(name)) throw new PoolkitRangeError("POOLKIT_BACKEND", `backend "${name}" is not supported by this JavaScript engine`);
    activate(name);
    return;
  }
  // Without SIMD the TypeScript kernels are the faster choice: the scalar wasm build's max pooling
  // measured ~2× slower than the TypeScript kernels' branch-free tournaments (bench/results).
  activate(simdSupported() ? "wasm-simd" : "js");
}


/**
 * Select where new tensors live and which kernels run: `"wasm-simd"`, `"wasm"` or `"js"`. Tensors
 * made before keep their storage and stay valid (every kernel accepts either kind). Throws a
 * RangeError for a backend this engine cannot run (e.g. `"wasm-simd"` without SIMD support).
 *
 * @example
 * setBackend("js"); // TypeScript kernels on JS-heap tensors
 */
export function setBackend(name: BackendName): void {
  if (!(NAMES as readonly unknown[]).includes(name)) {
    throw new PoolkitTypeError("setBackend", `expected "wasm-simd", "wasm" or "js", got ${show(name)}`);
  }
  if (!available(name)) throw new PoolkitRangeError("setBackend", `backend "${name}" is not supported by this JavaScript engine`);
  activate(name);
}

/** The active backend's name (choosing the default on first call). */
export function getBackend(): BackendName {
  chooseDefaultBackend();
  return current as BackendName;
}

/**
 * @internal Test mode: JS kernels on tensors in a linear heap that detaches every earlier view on
 * each allocation (as memory growth does), so a view kept across an allocation fails loudly.
 * `kernels` selects which kernels run on it ("js" or a wasm variant).
 */
export function useDetachingStorage(kernels: BackendName = "js"): LinearHeap {
  removeWasmKernels();
  let heap: LinearHeap;
  if (kernels === "js") heap = new LinearHeap({ detachOnAllocate: true });
  else heap = installWasmKernels(kernels === "wasm-simd", { detachOnAllocate: true });
  setStorageBackend(heap);
  current = kernels;
  return heap;
}

/**
 * Run the WebAssembly kernels on `n` threads: this one plus `n − 1` workers (worker_threads in Node,
 * Web Workers in browsers) sharing the backend's `WebAssembly.Memory`. Each large kernel call is split
 * into `n` parts — by planes (N·C) for the window kernels (max, average, LP, SoftPool, LIP, adaptive
 * and global pooling, max-unpool, stochastic pooling's evaluation, fractional max pooling's forward, the
 * mixed-pooling mix), by channels for RoIAlign and RoIPool (forward and backward) — with bit-identical
 * results to one thread. Small calls (under about 256 KB of data per part) run on the calling thread.
 * `1` stops every worker.
 *
 * Workers start in the background: the returned promise resolves when they are ready; until then
 * kernels run on one thread (nothing ever blocks waiting for a worker to start). Threads need shared
 * memory: always available in Node; in browsers only on cross-origin-isolated pages (COOP
 * `same-origin` + COEP `require-corp`, as `poolkit serve` sends). Elsewhere, and under the `"js"`
 * backend, `setThreads(n > 1)` is accepted and keeps one thread; {@link getThreads} tells which.
 * Idle workers do not keep Node running. The default is 2 in Node where the process has at least 2
 * cores (measured faster on the benchmark's max/avg workloads; docs/backends.md, "Threads"), started
 * in the background when the first WebAssembly tensor is made; 1 in browsers.
 *
 * @param n - threads, an integer from 1 to 64 (more than the machine's cores only adds overhead).
 * @example
 * await setThreads(2);
 * getThreads(); // 2 where shared memory is available
 */
export function setThreads(n: number): Promise<void> {
  chooseDefaultBackend();
  return requestThreads(n, activeWasm()?.pool ?? null);
}

/**
 * The number of threads kernels run on now: 1 plus the workers of the active WebAssembly backend that
 * are ready (so 1 under the `"js"` backend, without shared memory, or while workers are starting).
 */
export function getThreads(): number {
  chooseDefaultBackend();
  return activeWasm()?.pool?.threads ?? 1;
}
