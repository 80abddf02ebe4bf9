/**
 * Test page for test/browser/wasm.test.ts, bundled with esbuild from poolkit's source. It runs in
 * headless Chromium and leaves its findings in `globalThis.__wasmResult` for the test to assert on
 * (the page itself asserts nothing, so every verdict and its message live in the test):
 *
 * - the environment a threaded backend needs: `crossOriginIsolated` and `SharedArrayBuffer`;
 * - the default backend, read before anything has allocated a tensor;
 * - seeded random cases of maxPool2dWithIndices (padding, ceil mode, dilation, NaN, ties, ±∞, −0,
 *   windows that are all −∞) and avgPool2d (countIncludePad both ways, divisorOverride), forward and
 *   vjp backward, each run under "wasm-simd", "wasm" and "js" on the same input values; float32
 *   results travel as base64 of their bytes, so NaN payloads and −0 survive the trip bit for bit;
 * - memory() over 200 tidy()'d forward+backward iterations on "wasm-simd";
 * - threads: getThreads() before and after `await setThreads(2)`, whether the memory is shared, and
 *   max (with indices, forward and vjp), average (forward and vjp) and SoftPool on random shapes run on
 *   1 and then 2 threads (every call split, the worker's parts run by the worker: the page's main
 *   thread spins while the Web Worker runs its part), with the number of parts the worker ran.
 *
 * Type-checked with the Node-only library set (tsconfig.test.json has no DOM), so the few browser
 * globals are reached through `globalThis`.
 */
import { Generator, avgPool2d, getBackend, getThreads, maxPool2dWithIndices, memory, randn, setBackend, setThreads, softPool2d, tensor, tidy, type BackendName, type Tensor } from "../../../src/index.js";
import { activeWasm } from "../../../src/backends/wasm/index.js";
import { setClaimMode, setMinPartBytes } from "../../../src/backends/wasm/threads.js";

const BACKENDS: readonly BackendName[] = ["wasm-simd", "wasm", "js"];
const g = globalThis as unknown as {
  crossOriginIsolated?: boolean;
  SharedArrayBuffer?: unknown;
  btoa(s: string): string;
  __wasmResult?: unknown;
  document?: { getElementById(id: string): { textContent: string } | null };
};

/** Base64 of a typed array's bytes (little-endian, as the engine stores them). */
function bytes64(a: Float32Array | Int32Array | Float64Array): string {
  const u8 = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = "";
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return g.btoa(s);
}

/** Whether a tensor's storage is the active WebAssembly backend's memory (so the wasm kernels were reachable). */
function inWasmMemory(t: Tensor): boolean {
  const w = activeWasm();
  return w !== null && t.data.buffer === (w.heap.memory.buffer as unknown);
}

const ri = (gen: Generator, lo: number, hi: number): number => lo + gen.int(hi - lo + 1);

interface MaxCase {
  shape: [number, number, number, number];
  opts: { kernelSize: [number, number]; stride: [number, number]; padding: [number, number]; dilation: [number, number]; ceilMode: boolean };
  x: Float32Array;
  dySeed: number;
}

function maxCase(gen: Generator, i: number): MaxCase {
  for (;;) {
    const shape: [number, number, number, number] = [ri(gen, 1, 2), ri(gen, 1, 2), ri(gen, 1, 29), ri(gen, 1, 29)];
    if (i === 0) shape.splice(0, 4, 1, 1, 1, 1); // 1×1 input
    const k: [number, number] = [ri(gen, 1, 4), ri(gen, 1, 4)];
    const s: [number, number] = [ri(gen, 1, 3), ri(gen, 1, 3)];
    const d: [number, number] = [ri(gen, 1, 2), ri(gen, 1, 2)];
    const p: [number, number] = [ri(gen, 0, Math.floor(k[0] / 2)), ri(gen, 0, Math.floor(k[1] / 2))];
    const ceilMode = gen.int(2) === 1;
    if (shape[2] + 2 * p[0] < d[0] * (k[0] - 1) + 1 || shape[3] + 2 * p[1] < d[1] * (k[1] - 1) + 1) continue;
    const n = shape[0] * shape[1] * shape[2] * shape[3];
    const x = new Float32Array(n);
    // Few distinct values (steps of 0.5) so ties are common; NaN, ±∞ and −0 sprinkled in.
    for (let j = 0; j < n; j++) {
      const r = gen.uniform();
      if (r < 0.04) x[j] = NaN;
      else if (r < 0.1) x[j] = -Infinity;
      else if (r < 0.12) x[j] = Infinity;
      else if (r < 0.16) x[j] = -0;
      else x[j] = Math.round(gen.normal() * 2) / 2;
    }
    // A block of −∞ at least one dilated kernel wide in every plane, so whole windows are −∞.
    const bh = Math.min(shape[2], d[0] * (k[0] - 1) + 1 + 2);
    const bw = Math.min(shape[3], d[1] * (k[1] - 1) + 1 + 2);
    const r0 = gen.int(shape[2] - bh + 1);
    const c0 = gen.int(shape[3] - bw + 1);
    for (let pl = 0; pl < shape[0] * shape[1]; pl++) {
      for (let r = r0; r < r0 + bh; r++) for (let c = c0; c < c0 + bw; c++) x[pl * shape[2] * shape[3] + r * shape[3] + c] = -Infinity;
    }
    // One case with a plane of NaN only.
    if (i === 1) x.fill(NaN, 0, shape[2] * shape[3]);
    return { shape, opts: { kernelSize: k, stride: s, padding: p, dilation: d, ceilMode }, x, dySeed: 5000 + i };
  }
}

interface AvgCase {
  shape: [number, number, number, number];
  opts: { kernelSize: [number, number]; stride: [number, number]; padding: [number, number]; ceilMode: boolean; countIncludePad: boolean; divisorOverride?: number };
  seed: number;
}

function avgCase(gen: Generator, i: number): AvgCase {
  const shape: [number, number, number, number] = [ri(gen, 1, 2), ri(gen, 1, 2), ri(gen, 1, 29), ri(gen, 1, 29)];
  const k: [number, number] = [Math.min(ri(gen, 1, 5), shape[2]), Math.min(ri(gen, 1, 5), shape[3])];
  const s: [number, number] = [ri(gen, 1, 3), ri(gen, 1, 3)];
  const p: [number, number] = [ri(gen, 0, Math.floor(k[0] / 2)), ri(gen, 0, Math.floor(k[1] / 2))];
  const opts: AvgCase["opts"] = { kernelSize: k, stride: s, padding: p, ceilMode: gen.int(2) === 1, countIncludePad: i % 2 === 0 };
  if (i % 3 === 2) opts.divisorOverride = ri(gen, 1, 9);
  return { shape, opts, seed: 1000 + i };
}

interface BackendRun {
  backend: string;
  inWasm: boolean;
  /** The input's bits after forward and backward equal what went in (no op mutates its input). */
  inputUnchanged?: boolean;
  error?: string;
  output?: string;
  indices?: string;
  dx?: string;
}

function runMax(c: MaxCase, b: BackendName): BackendRun {
  setBackend(b);
  try {
    return tidy(() => {
      const x = tensor(c.x, c.shape);
      const { output, backward } = maxPool2dWithIndices.vjp(x, c.opts);
      // Integer dy in [−8, 8]: every partial sum of the backward scatter is exact in float32, so the
      // gradient is bit-identical whatever order a kernel adds in.
      const dg = new Generator(c.dySeed);
      const dy = tensor(Float32Array.from({ length: output.output.size }, () => dg.int(17) - 8), output.output.shape);
      const [dx] = backward(dy);
      return {
        backend: b,
        inWasm: inWasmMemory(output.output) && inWasmMemory(output.indices) && dx !== null && dx !== undefined && inWasmMemory(dx),
        output: bytes64(output.output.data),
        indices: bytes64(output.indices.data),
        dx: bytes64((dx as Tensor).data),
        inputUnchanged: bytes64(x.data) === bytes64(c.x),
      };
    });
  } catch (e) {
    return { backend: b, inWasm: false, error: String(e) };
  }
}

function runAvg(c: AvgCase, b: BackendName): BackendRun & { scaleOut?: string; scaleDx?: string } {
  setBackend(b);
  try {
    return tidy(() => {
      const x = randn(c.shape, { seed: c.seed });
      const { output, backward } = avgPool2d.vjp(x, c.opts);
      const dy = randn(output.shape, { seed: c.seed + 500 });
      const [dx] = backward(dy);
      const r: BackendRun & { scaleOut?: string; scaleDx?: string } = {
        backend: b,
        inWasm: inWasmMemory(output) && dx !== null && dx !== undefined && inWasmMemory(dx),
        output: bytes64(output.data),
        dx: bytes64((dx as Tensor).data),
      };
      if (b === "js") {
        // The size of what is summed, for the tolerance: the same pooling of |x| (Σ|xᵢ|/divisor per
        // window) and the same backward of |dy| (Σ|dyⱼ|/divisorⱼ per input element), in float64.
        const ax = tensor(Float64Array.from(x.data, Math.abs), c.shape, "float64");
        const v = avgPool2d.vjp(ax, c.opts);
        const ady = tensor(Float64Array.from(dy.data, Math.abs), output.shape, "float64");
        r.scaleOut = bytes64(v.output.data);
        r.scaleDx = bytes64((v.backward(ady)[0] as Tensor).data);
      }
      return r;
    });
  } catch (e) {
    return { backend: b, inWasm: false, error: String(e) };
  }
}

function memoryLoop(): unknown {
  setBackend("wasm-simd");
  const x = randn([2, 8, 33, 31], { seed: 77 });
  const maxOpts = { kernelSize: 3, stride: 2, padding: 1, ceilMode: true };
  const avgOpts = { kernelSize: 3, stride: 1, padding: 1, countIncludePad: false };
  const step = (i: number): void => {
    tidy(() => {
      const m = maxPool2dWithIndices.vjp(x, maxOpts);
      m.backward(randn(m.output.output.shape, { seed: i }));
      const a = avgPool2d.vjp(x, avgOpts);
      a.backward(randn(a.output.shape, { seed: i + 1 }));
    });
  };
  step(-1); // warm-up: the allocator's size classes get their first blocks
  const heap = activeWasm()?.heap;
  const before = { ...memory(), heapBytes: heap?.memory.buffer.byteLength ?? -1 };
  const samples: { i: number; bytes: number; tensors: number; heapBytes: number }[] = [];
  for (let i = 0; i < 200; i++) {
    step(i);
    if (i % 50 === 49) samples.push({ i, ...memory(), heapBytes: heap?.memory.buffer.byteLength ?? -1 });
  }
  // The same step without tidy must show up in memory() (so a flat reading means something).
  const m = maxPool2dWithIndices.vjp(x, maxOpts);
  const leaked = memory();
  m.output.output.dispose();
  m.output.indices.dispose();
  const afterDispose = memory();
  return { before, samples, leaked, afterDispose };
}

function main(): unknown {
  // First, before any tensor exists: the default choice.
  const defaultBackend = getBackend();
  const env = {
    crossOriginIsolated: g.crossOriginIsolated === true,
    sharedArrayBuffer: typeof g.SharedArrayBuffer,
  };
  const gen = new Generator(20261207);
  const max = [];
  for (let i = 0; i < 40; i++) {
    const c = maxCase(gen, i);
    max.push({ shape: c.shape, opts: c.opts, input: bytes64(c.x), runs: BACKENDS.map((b) => runMax(c, b)) });
  }
  const avg = [];
  for (let i = 0; i < 40; i++) {
    const c = avgCase(gen, i);
    avg.push({ shape: c.shape, opts: c.opts, runs: BACKENDS.map((b) => runAvg(c, b)) });
  }
  return { defaultBackend, env, max, avg, memory: memoryLoop() };
}

/** Every output and gradient of the threaded cases, as base64 of their bytes. */
function threadedRun(gen: Generator, shape: number[]): string[] {
  const out: string[] = [];
  const x = randn(shape, { seed: gen.int(1000) });
  const m = maxPool2dWithIndices.vjp(x, { kernelSize: 3, stride: 2, padding: 1 });
  out.push(bytes64(m.output.output.data as Float32Array), bytes64(m.output.indices.data as Int32Array));
  out.push(bytes64((m.backward(randn(m.output.output.shape, { seed: 7 }))[0] as Tensor).data as Float32Array));
  const a = avgPool2d.vjp(x, { kernelSize: 3, stride: 1, padding: 1 });
  out.push(bytes64(a.output.data as Float32Array), bytes64((a.backward(randn(a.output.shape, { seed: 8 }))[0] as Tensor).data as Float32Array));
  out.push(bytes64(softPool2d(x, { kernelSize: 2 }).data as Float32Array));
  return out;
}

async function threaded(): Promise<unknown> {
  setBackend("wasm-simd");
  const before = getThreads();
  const shapes: number[][] = [[1, 1, 9, 9], [1, 2, 17, 5], [2, 3, 30, 31], [1, 5, 64, 64], [3, 1, 7, 40]];
  setMinPartBytes(0);
  try {
    const one = shapes.map((s, i) => tidy(() => threadedRun(new Generator(100 + i), s)));
    await setThreads(2);
    const after = getThreads();
    const pool = activeWasm()?.pool;
    const parts0 = pool?.stats.workerParts ?? 0;
    // the worker runs its parts (by default the page's thread may claim a part no worker has started:
    // on a busy machine that would leave the worker's share of the check to chance)
    setClaimMode("workers");
    const two = shapes.map((s, i) => tidy(() => threadedRun(new Generator(100 + i), s)));
    const workerParts = (pool?.stats.workerParts ?? 0) - parts0;
    const shared = g.SharedArrayBuffer !== undefined && activeWasm()?.heap.memory.buffer instanceof (g.SharedArrayBuffer as new () => object);
    await setThreads(1);
    return { before, after, afterOne: getThreads(), shared, workerParts, shapes, one, two };
  } finally {
    setMinPartBytes(undefined);
    setClaimMode("both");
  }
}

let result: Record<string, unknown>;
try {
  result = main() as Record<string, unknown>;
} catch (e) {
  result = { error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e) };
}
threaded()
  .then((t) => (result.threads = t))
  .catch((e: unknown) => (result.threadsError = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e)))
  .finally(() => {
    g.__wasmResult = result;
    const log = g.document?.getElementById("log");
    if (log) log.textContent = "done";
  });
