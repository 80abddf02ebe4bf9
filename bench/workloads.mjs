// The backend workloads of the WebAssembly issue (W1, W2, W3 and W2's backward): poolkit's
// wasm-simd and TypeScript ("js") backends against tfjs-wasm (XNNPACK) and onnxruntime-node, one
// thread each — and poolkit wasm-simd and ORT on 2 threads (poolkit: `setThreads(2)`, the split
// limited per round to interleave with the 1-thread runs; ORT: intraOpNumThreads 2) — in one process, contenders interleaved round by round (host noise hits all alike),
// medians after warm-up, minor page faults per call, and this machine's bandwidth floor for each
// workload: one plain read of the input plus one write of the output, timed as one more contender in
// the same rounds (bench/stream.ts: v128 loads and stores over WebAssembly memory, one thread — the
// medium every poolkit wasm kernel works in), and beside it the bound a native typed-array copy gives
// (the engine's memcpy, which may use non-temporal stores that WebAssembly cannot issue).
//
// Fairness: every contender's input is made before timing in its own layout and memory (poolkit:
// NCHW tensor in the backend's storage — WebAssembly memory for wasm-simd; tfjs: NHWC tensor; ORT:
// NCHW Float32Array); outputs are read back synchronously (tfjs dataSync) or left in the engine's
// memory (poolkit: a tensor, freed by tidy; ORT: its output tensor). Everyone computes values only:
// a plain `maxPool2d(x)` call skips the indices only its backward would need (`maxPool2d.vjp` and
// `maxPool2dWithIndices` compute them).
//
// Each timed call starts on a machine at rest: SETTLE_MS of idle time (a timer) comes before it.
// onnxruntime's intra-op thread pool spins after a run (its default allow_spinning), and with 2 cores
// that spin took the core of whoever ran next: poolkit's W1 right after an ORT 2-thread run measured
// 12.6 ms, 3.3 ms after a 1 ms pause, 2.1 ms after 10 ms and 1.9 ms with no ORT run at all (median of 25,
// 2026-12-07). Every contender gets the same pause, and the pause is not timed.
//
// A call after the pause is a cold call: both cores of this VM have been idle for 10 ms, and a
// worker thread (poolkit's, ORT's) must be woken on a core that was halted. Right after it, in the
// same turn, each contender makes WARM_CALLS more calls back to back — the steady state of a layer
// inside a network's forward pass — timed apart ("warm" times; medians over the rounds' warm calls).
// Measured with W1 on 2 threads, 2026-12-08: 1.56 ms after a 10 ms pause, 0.94 ms back to back (one
// thread: 2.07 and 1.73 ms).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Idle time before each timed call (see above). */
const SETTLE_MS = 10;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));
/** Back-to-back calls after each cold call (see above). */
const WARM_CALLS = 2;

/** Median of a numeric array. */
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const WORKLOADS = [
  { id: "W1", label: "max 2×2 s2, [8,64,112,112]", kind: "max", shape: [8, 64, 112, 112], k: 2, s: 2, p: 0 },
  { id: "W2", label: "max 3×3 s2 p1, [8,64,112,112]", kind: "max", shape: [8, 64, 112, 112], k: 3, s: 2, p: 1 },
  { id: "W3", label: "avg 3×3 s1 p1, [8,64,56,56]", kind: "avg", shape: [8, 64, 56, 56], k: 3, s: 1, p: 1 },
  { id: "W2 backward", label: "max 3×3 s2 p1 backward, [8,64,112,112]", kind: "max", shape: [8, 64, 112, 112], k: 3, s: 2, p: 1, backward: true },
];

function nchwToNhwc(data, [n, c, h, w]) {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + ch] = data[((b * c + ch) * h + y) * w + x];
  return out;
}

/** Bytes per second of a plain Float32Array copy of `bytes` bytes (median of several copies). */
function copyBandwidth(bytes) {
  const n = bytes / 4;
  const a = new Float32Array(n).fill(1);
  const b = new Float32Array(n);
  for (let i = 0; i < 5; i++) b.set(a);
  const t = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    b.set(a);
    t.push(performance.now() - t0);
  }
  return (2 * bytes) / (median(t) / 1000); // a copy reads and writes every byte
}

/** Compile bench/stream.ts (AssemblyScript, SIMD); returns its module bytes. */
async function streamModule() {
  const { default: asc } = await import("assemblyscript/asc");
  let bin = null;
  const stderr = asc.createMemoryStream();
  const here = dirname(fileURLToPath(import.meta.url));
  const { error } = await asc.main(["stream.ts", "--outFile", "stream.wasm", "--runtime", "stub", "--importMemory", "--noAssert", "-O3", "--enable", "simd"], {
    stderr,
    // asc resolves sources against the working directory: read the one source from here
    readFile: (name) => (name === "stream.ts" ? readFileSync(join(here, name), "utf8") : null),
    writeFile(name, contents) {
      if (name.endsWith(".wasm")) bin = contents;
    },
  });
  if (error || bin === null) throw new Error(`bench/stream.ts did not compile: ${error?.message ?? "no output"}\n${stderr.toString()}`);
  return bin;
}

/**
 * The floor contender of one workload: reads `inBytes` and writes `outBytes` in a WebAssembly memory of
 * its own (filled once, so its pages are mapped before timing).
 */
async function streamContender(bytes, inBytes, outBytes) {
  const memory = new WebAssembly.Memory({ initial: Math.ceil((inBytes + outBytes) / 65536) + 1 });
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(bytes), { env: { memory, abort() {} } });
  new Float32Array(memory.buffer).fill(1);
  const stream = instance.exports.stream;
  return { name: "floor (plain stream)", run: () => stream(0, inBytes / 4, inBytes, outBytes / 4) };
}

/**
 * Run the workloads. `deps`: { poolkit, tf (or null), ort (or null), poolModel, rounds, warmupMs, ids
 * (workload ids to keep; default all), baseline (another poolkit build's module, or null) and
 * baselinePath (where it was imported from) }: the baseline's wasm-simd on 1 and 2 threads join the rounds.
 * Returns { rows, notes, bandwidth } with per-contender median ms and faults per call.
 */
export async function runWorkloads({ poolkit, tf, ort, poolModel, rounds = 15, warmupMs = 2000, ids, baseline = null, baselinePath }) {
  const notes = [];
  const rows = [];
  const bandwidth = copyBandwidth(64 * 2 ** 20);
  let streamBytes = null;
  try {
    streamBytes = await streamModule();
  } catch (e) {
    notes.push(`floor: ${e.message}`);
  }
  const faults = () => process.resourceUsage().minorPageFault;
  const initialBackend = poolkit.getBackend();
  // 2 threads: one pool of workers kept up for the whole run; the 1-thread contenders limit each call
  // to one thread (an internal hook: setThreads(1) would stop the workers between rounds)
  const { setCallThreadLimit } = await import("../dist/backends/wasm/threads.js");
  poolkit.setBackend("wasm-simd");
  await poolkit.setThreads(2);
  const threads2 = poolkit.getThreads() === 2;
  if (!threads2) notes.push("poolkit 2 threads unavailable (no shared WebAssembly memory)");
  const limit = (c) => (c.limit ?? setCallThreadLimit)(c.threads ?? 1);
  let baseLimit = null;
  if (baseline !== null) {
    baseLimit = (await import(new URL("backends/wasm/threads.js", new URL(baselinePath, `file://${process.cwd()}/`)).href)).setCallThreadLimit;
    baseline.setBackend("wasm-simd");
    await baseline.setThreads(2);
  }
  for (const w of WORKLOADS.filter((x) => ids === undefined || ids.includes(x.id))) {
    console.error(`  ${w.id} ${w.label} …`);
    const { shape, k, s, p } = w;
    const opts = { kernelSize: k, stride: s, padding: p };
    const fwdOp = w.kind === "max" ? poolkit.maxPool2d : poolkit.avgPool2d;
    const contenders = [];

    // poolkit, one contender per backend (and wasm-simd on 2 threads); inputs made in that backend's storage
    for (const backend of ["wasm-simd", "js", ...(threads2 ? ["wasm-simd 2 threads"] : [])]) {
      const threads = backend.endsWith("2 threads") ? 2 : 1;
      const be = backend.split(" ")[0];
      try {
        poolkit.setBackend(be);
      } catch (e) {
        notes.push(`${w.id}: poolkit ${backend} unavailable (${e.message})`);
        continue;
      }
      const x = poolkit.randn(shape, { seed: 1 });
      const yShape = fwdOp.outputShape(shape, opts);
      const dy = poolkit.randn(yShape, { seed: 2 });
      // backward alone: the forward (and its indices) made once, outside the timing
      const vjp = w.backward ? fwdOp.vjp(x, opts) : null;
      contenders.push({
        name: `poolkit ${backend}`,
        backend: be,
        threads,
        run: w.backward ? () => poolkit.tidy(() => void vjp.backward(dy)) : () => poolkit.tidy(() => void fwdOp(x, opts)),
        check: () => (w.backward ? vjp.backward(dy)[0].data.slice() : fwdOp(x, opts).data.slice()),
      });
    }
    poolkit.setBackend(initialBackend);
    // the baseline build (A/B), wasm-simd on 1 and 2 threads, inputs in its own memory
    if (baseline !== null) {
      const x = baseline.randn(shape, { seed: 1 });
      const op = w.kind === "max" ? baseline.maxPool2d : baseline.avgPool2d;
      const dy = baseline.randn(op.outputShape(shape, opts), { seed: 2 });
      const vjp = w.backward ? op.vjp(x, opts) : null;
      for (const threads of [1, 2]) {
        contenders.push({
          name: `baseline wasm-simd${threads === 2 ? " 2 threads" : ""}`,
          threads,
          limit: baseLimit,
          run: w.backward ? () => baseline.tidy(() => void vjp.backward(dy)) : () => baseline.tidy(() => void op(x, opts)),
        });
      }
    }

    // tfjs-wasm (XNNPACK)
    if (tf !== null) {
      try {
        await tf.setBackend("wasm");
        await tf.ready();
        if (tf.getBackend() !== "wasm") throw new Error("wasm backend did not load");
        const [n, c, h, ww] = shape;
        const xs = poolkit.randn(shape, { seed: 1 }).data;
        const tx = tf.tensor4d(nchwToNhwc(xs, shape), [n, h, ww, c]);
        const f = (t) => (w.kind === "max" ? tf.maxPool(t, k, s, p) : tf.avgPool(t, k, s, p));
        if (w.backward) {
          const y = f(tx);
          const tdy = tf.randomNormal(y.shape);
          y.dispose();
          const grad = tf.grad(f);
          contenders.push({
            name: "tfjs-wasm",
            run: () => {
              const g = grad(tx, tdy);
              g.dataSync();
              g.dispose();
            },
          });
        } else {
          contenders.push({
            name: "tfjs-wasm",
            run: () => {
              const y = f(tx);
              y.dataSync();
              y.dispose();
            },
          });
        }
      } catch (e) {
        notes.push(`${w.id}: tfjs-wasm unavailable (${e.message})`);
      }
    }

    // onnxruntime-node, 1 and 2 threads (no gradients: forward only)
    for (const ortThreads of [1, 2]) if (ort !== null && !w.backward) {
      try {
        const yShape = fwdOp.outputShape(shape, opts);
        const model = poolModel(w.kind === "max" ? "MaxPool" : "AveragePool", {
          inShape: shape,
          outShape: yShape,
          kernel: [k, k],
          strides: [s, s],
          pads: [p, p, p, p],
          countIncludePad: true,
        });
        const session = await ort.InferenceSession.create(model, { intraOpNumThreads: ortThreads, interOpNumThreads: 1, executionProviders: ["cpu"] });
        const feed = { x: new ort.Tensor("float32", Float32Array.from(poolkit.randn(shape, { seed: 1 }).data), shape) };
        contenders.push({ name: `onnxruntime-node ${ortThreads} thread${ortThreads > 1 ? "s" : ""}`, run: () => session.run(feed), async: true });
      } catch (e) {
        notes.push(`${w.id}: onnxruntime-node unavailable (${e.message})`);
      }
    }

    // the floor: a plain read of the input and write of the output, in the same rounds
    // forward: read x, write y (values only); backward: read dy + int32 indices, write dx
    const inBytes = shape.reduce((a, b) => a * b, 4);
    const outElems = fwdOp.outputShape(shape, opts).reduce((a, b) => a * b, 1);
    const [readBytes, writeBytes] = w.backward ? [8 * outElems, inBytes] : [inBytes, 4 * outElems];
    if (streamBytes !== null) contenders.push(await streamContender(streamBytes, readBytes, writeBytes));

    // same results from both poolkit backends (max-type bit-identical; avg within float32 accumulation error)
    const pkc = contenders.filter((c) => c.check);
    const set = async (c) => {
      poolkit.setBackend(c.backend);
      limit(c);
      const r = c.check();
      return r;
    };
    const compare = async (x, y) => {
      const a = await set(x);
      const b = await set(y);
      poolkit.setBackend(initialBackend);
      let diff = a.length === b.length ? 0 : Infinity;
      for (let i = 0; i < a.length && i < b.length; i++) if (!(Object.is(a[i], b[i]) || Math.abs(a[i] - b[i]) <= 0)) diff = Math.max(diff, Math.abs(a[i] - b[i]));
      notes.push(`${w.id}: ${x.name} vs ${y.name} results ${diff === 0 ? "bit-identical" : `differ by up to ${diff}`}`);
    };
    if (pkc.length >= 2) await compare(pkc[0], pkc[1]);
    if (pkc.length === 3) await compare(pkc[0], pkc[2]);

    const call = async (c) => {
      if (c.backend) poolkit.setBackend(c.backend);
      limit(c);
      if (c.async) await c.run();
      else c.run();
    };
    // warm-up: V8 needs about a second of calls to optimise a kernel
    const t0 = performance.now();
    while (performance.now() - t0 < warmupMs) for (const c of contenders) await call(c);
    const times = new Map(contenders.map((c) => [c.name, []]));
    const pf = new Map(contenders.map((c) => [c.name, []]));
    const warm = new Map(contenders.map((c) => [c.name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const c of contenders) {
        if (c.backend) poolkit.setBackend(c.backend);
        limit(c);
        await settle();
        const f0 = faults();
        const s0 = performance.now();
        if (c.async) await c.run();
        else c.run();
        const dt = performance.now() - s0;
        times.get(c.name).push(dt);
        pf.get(c.name).push(faults() - f0);
        for (let j = 0; j < WARM_CALLS; j++) {
          const w0 = performance.now();
          if (c.async) await c.run();
          else c.run();
          warm.get(c.name).push(performance.now() - w0);
        }
      }
    }
    poolkit.setBackend(initialBackend);
    const bytes = readBytes + writeBytes;
    const memcpyMs = (bytes / bandwidth) * 1000;
    const floor = times.get("floor (plain stream)");
    const floorMs = floor ? median(floor) : memcpyMs;
    const result = { id: w.id, label: w.label, floorMs, memcpyMs, floorMeasured: floor !== undefined, bytes, contenders: {} };
    for (const c of contenders) {
      result.contenders[c.name] = { ms: median(times.get(c.name)), faults: median(pf.get(c.name)), runs: rounds, warmMs: median(warm.get(c.name)) };
    }
    rows.push(result);
  }
  setCallThreadLimit(undefined);
  await poolkit.setThreads(1);
  if (baseline !== null) {
    baseLimit(undefined);
    await baseline.setThreads(1);
  }
  return { rows, notes, bandwidth };
}
