// PyTorch CPU (one thread) as a peer for the WebAssembly and matrix issues' windowed and region
// workloads: W1/W2/W3, avg 3×3 s2 p1 and 2×2 s2, max-unpooling, LP p = 2, SoftPool and LIP (as the PyTorch composites their users write),
// RoIAlign and RoIPool (torchvision.ops), mixed pooling (λ·max + (1−λ)·avg with the same λ),
// fractional max pooling (the same samples), adaptive avg/max → 7×7, global avg/max,
// 3-d (video: max 1×3×3 and 3×3×3, avg 3×3×3, adaptive avg → 1) and 1-d (max k2 s2) pooling, and
// detail-preserving pooling (the composite of its official nngraph graphs, the same θ); each
// forward, backward alone, and forward+backward. PyTorch runs in one
// persistent /usr/bin/python3 process (bench/torch_pool.py, torch.set_num_threads(1)); it is optional:
// when torch cannot be imported the section is skipped with a note.
//
// Rounds alternate (poolkit, torch, poolkit, …) so both see the same machine noise; medians of every
// timed call. poolkit: wasm-simd backend, one thread, each call inside `tidy` (its documented loop form),
// inputs made once in WebAssembly memory. PyTorch: inputs made once; forward under no_grad; backward
// timed alone on a forward made once (torch.autograd.grad with retain_graph), like poolkit's
// `vjp(...).backward(dy)` on a vjp made once; forward+backward: the forward with the graph (PyTorch)
// or `vjp` (poolkit) and the backward, both timed. Ratio = poolkit / PyTorch (below 1: poolkit is faster).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const nextTask = () => new Promise((r) => setTimeout(r, 0));

/** `k` boxes on `n` images of `size`×`size` (torchvision layout [batch, x1, y1, x2, y2]), sides 4–40, from a fixed LCG. */
export function boxesFor(k, n, size, seed) {
  let s = seed;
  const u = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const b = new Float32Array(5 * k);
  for (let r = 0; r < k; r++) {
    const w = 4 + u() * 36;
    const h = 4 + u() * 36;
    const x1 = u() * (size - 1 - w);
    const y1 = u() * (size - 1 - h);
    b.set([r % n, x1, y1, x1 + w, y1 + h], 5 * r);
  }
  return b;
}

const S112 = [8, 64, 112, 112];
const S56 = [8, 64, 56, 56];
const SR = [2, 256, 50, 50];
const SG = [32, 512, 7, 7];
const S3D = [2, 64, 16, 56, 56];
const S1D = [16, 128, 4096];
const BOXES = boxesFor(128, 2, 50, 7);

/** Fractional max pooling's samples in [0, 1) for every (n, c) of S56, from a fixed LCG (width first, as `_random_samples`). */
export function samplesFor(n, c, seed) {
  let s = seed;
  const a = new Float32Array(n * c * 2);
  for (let i = 0; i < a.length; i++) a[i] = Math.fround((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  return a;
}
/** Mixed pooling's λ (0 = avg, 1 = max) per (n, c) of S56, alternating, so both branches run. */
const LAMBDAS = Int32Array.from({ length: 8 * 64 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
const SAMPLES = samplesFor(8, 64, 11);
/** DPP's raw per-channel parameters θα, θλ (64 each), uniform in [−1, 1) from a fixed LCG. */
const THETA_A = samplesFor(1, 32, 13).map((v) => Math.fround(2 * v - 1));
const THETA_L = samplesFor(1, 32, 17).map((v) => Math.fround(2 * v - 1));

/**
 * The workloads: `id` is torch_pool.py's name; `fn(pk)` is the poolkit op and `args(t)` its arguments
 * on the inputs made once (so `fn(pk)(...args)` is the forward and `fn(pk).vjp(...args)` the vjp).
 * `backward`: also timed backward alone and forward+backward. `target`: the WebAssembly issue's bound
 * on poolkit / PyTorch for the forward; every windowed backward's is 0.3×, and the matrix issue asks
 * ≤ 1.0× for every workload forward and forward+backward.
 */
const WORKLOADS = [
  { id: "W1", label: "W1 max 2×2 s2, [8,64,112,112]", fn: (pk) => pk.maxPool2d, args: (t) => [t.x112, { kernelSize: 2, stride: 2 }], backward: true },
  { id: "W2", label: "W2 max 3×3 s2 p1, [8,64,112,112]", fn: (pk) => pk.maxPool2d, args: (t) => [t.x112, { kernelSize: 3, stride: 2, padding: 1 }], backward: true },
  { id: "W3", label: "W3 avg 3×3 s1 p1, [8,64,56,56]", fn: (pk) => pk.avgPool2d, args: (t) => [t.x56, { kernelSize: 3, stride: 1, padding: 1 }], backward: true },
  { id: "avg-s2", label: "avg 3×3 s2 p1, [8,64,56,56]", fn: (pk) => pk.avgPool2d, args: (t) => [t.x56, { kernelSize: 3, stride: 2, padding: 1 }], backward: true },
  { id: "avg-k2", label: "avg 2×2 s2, [8,64,112,112]", fn: (pk) => pk.avgPool2d, args: (t) => [t.x112, { kernelSize: 2, stride: 2 }], backward: true },
  { id: "unpool", label: "max-unpool 2×2 s2, [8,64,56,56] → [8,64,112,112] (indices of a 2×2 max pool)", fn: (pk) => pk.maxUnpool2d, args: (t) => [t.yu, t.iu, { kernelSize: 2, stride: 2 }], backward: true },
  { id: "LP", label: "LP p=2 3×3 s2, [8,64,56,56]", fn: (pk) => pk.lpPool2d, args: (t) => [t.x56, { normType: 2, kernelSize: 3, stride: 2 }], backward: true },
  { id: "SoftPool", label: "SoftPool 2×2 s2, [8,64,56,56] (torch: avg_pool2d(x·eˣ)/avg_pool2d(eˣ))", fn: (pk) => pk.softPool2d, args: (t) => [t.x56, { kernelSize: 2 }], backward: true, target: 0.5 },
  { id: "LIP", label: "LIP 3×3 s2 p1, [8,64,56,56] (torch: avg_pool2d(x·eᴸ)/avg_pool2d(eᴸ))", fn: (pk) => pk.localImportancePool2d, args: (t) => [t.x56, t.l56, { kernelSize: 3, stride: 2, padding: 1 }], backward: true, target: 0.5 },
  { id: "RoIAlign", label: "RoIAlign 128 boxes, [2,256,50,50] → 7×7, sampling 2", fn: (pk) => pk.roiAlign, args: (t) => [t.xr, t.boxes, { outputSize: 7, samplingRatio: 2 }], backward: true },
  { id: "RoIPool", label: "RoIPool 128 boxes, [2,256,50,50] → 7×7", fn: (pk) => pk.roiPool, args: (t) => [t.xr, t.boxes, { outputSize: 7 }], backward: true },
  { id: "mixed", label: "mixed 3×3 s2 p1, λ per (n, c), [8,64,56,56] (torch: λ·max + (1−λ)·avg)", fn: (pk) => pk.mixedPool2d, args: (t) => [t.x56, { kernelSize: 3, stride: 2, padding: 1, training: true, lambdas: t.lambdas }], backward: true },
  { id: "fractional", label: "fractional max 2×2 → 40×40, [8,64,56,56], fixed samples", fn: (pk) => pk.fractionalMaxPool2d, args: (t) => [t.x56, { kernelSize: 2, outputSize: 40, samples: t.samples }], backward: true },
  { id: "adaptive-avg", label: "adaptive avg → 7×7, [8,64,56,56]", fn: (pk) => pk.adaptiveAvgPool2d, args: (t) => [t.x56, { outputSize: 7 }], backward: true },
  { id: "adaptive-max", label: "adaptive max → 7×7, [8,64,56,56]", fn: (pk) => pk.adaptiveMaxPool2d, args: (t) => [t.x56, { outputSize: 7 }], backward: true },
  { id: "global-avg", label: "global avg, [32,512,7,7]", fn: (pk) => pk.globalAvgPool, args: (t) => [t.xg], backward: true },
  { id: "global-max", label: "global max, [32,512,7,7]", fn: (pk) => pk.globalMaxPool, args: (t) => [t.xg], backward: true },
  { id: "max3d-133", label: "max 3-d 1×3×3 s1×2×2 p0×1×1 (I3D), [2,64,16,56,56]", fn: (pk) => pk.maxPool3d, args: (t) => [t.x3d, { kernelSize: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1] }], backward: true },
  { id: "max3d-k3", label: "max 3-d 3×3×3 s2 p1, [2,64,16,56,56]", fn: (pk) => pk.maxPool3d, args: (t) => [t.x3d, { kernelSize: 3, stride: 2, padding: 1 }], backward: true },
  { id: "avg3d-k3", label: "avg 3-d 3×3×3 s2 p1, [2,64,16,56,56]", fn: (pk) => pk.avgPool3d, args: (t) => [t.x3d, { kernelSize: 3, stride: 2, padding: 1 }], backward: true },
  { id: "adaptive-avg3d-1", label: "adaptive avg 3-d → 1, [2,64,16,56,56]", fn: (pk) => pk.adaptiveAvgPool3d, args: (t) => [t.x3d, { outputSize: 1 }], backward: true },
  { id: "max1d-k2", label: "max 1-d 2 s2, [16,128,4096]", fn: (pk) => pk.maxPool1d, args: (t) => [t.x1d, { kernelSize: 2, stride: 2 }], backward: true },
  { id: "DPP", label: "DPP lite symmetric, θ per channel, [8,64,56,56] (torch: the nngraph composite)", fn: (pk) => pk.detailPreservingPool2d, args: (t) => [t.x56, t.thetaA, t.thetaL], backward: true },
];

class Torch {
  static async start(log) {
    if (!existsSync("/usr/bin/python3")) return { note: "PyTorch peer skipped: /usr/bin/python3 not found" };
    const env = { ...process.env, OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" };
    const p = spawn("/usr/bin/python3", [resolve(here, "torch_pool.py")], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    p.stderr.on("data", (d) => (stderr += d));
    const t = new Torch(p);
    const hello = await t.next().catch(() => null);
    if (!hello || !hello.ready) {
      p.kill();
      const why = stderr.trim().split("\n").pop() || "no answer";
      return { note: `PyTorch peer skipped: torch is not importable by /usr/bin/python3 (${why})` };
    }
    t.info = hello;
    log(`  PyTorch ${hello.torch} (torchvision ${hello.torchvision ?? "missing"}), ${hello.threads} thread`);
    return { torch: t };
  }
  constructor(p) {
    this.p = p;
    this.lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  }
  async next() {
    const { value, done } = await this.lines.next();
    if (done) throw new Error("torch_pool.py exited");
    return JSON.parse(value);
  }
  async time(workload, mode, reps, warmup, extra = {}) {
    this.p.stdin.write(JSON.stringify({ workload, mode, reps, warmup, ...extra }) + "\n");
    const a = await this.next();
    if (a.error) throw new Error(a.error);
    return a.times;
  }
  stop() {
    this.p.stdin.end();
  }
}

/**
 * Run every workload against PyTorch (or those whose id is in `only`, an array of ids, e.g.
 * `["RoIPool", "global-max"]`). `deps`: { poolkit, rounds, warmupMs, roundMs, log, only }. Returns
 * { rows, notes, info } — rows: { id, label, mode, poolkitMs, torchMs, ratio, target, calls } — or
 * { rows: [], notes: [why skipped] } when torch is missing.
 */
export async function runTorchPeer({ poolkit: pk, rounds = 7, warmupMs = 1000, roundMs = 150, log = console.error, only = null }) {
  const notes = [];
  const rows = [];
  const started = await Torch.start(log);
  if (!started.torch) return { rows, notes: [started.note], info: null };
  const torch = started.torch;
  const initialBackend = pk.getBackend();
  // one thread per call: bench/workloads.mjs (run before this) leaves a pool of 2 threads up and no
  // per-call limit, so split kernels would otherwise run on 2 threads here
  const { setCallThreadLimit } = await import("../dist/backends/wasm/threads.js");
  setCallThreadLimit(1);
  try {
    pk.setBackend("wasm-simd");
  } catch (e) {
    torch.stop();
    setCallThreadLimit(undefined);
    return { rows, notes: [`PyTorch peer skipped: poolkit wasm-simd unavailable (${e.message})`], info: torch.info };
  }
  await nextTask(); // a fresh job: the inputs below are tensors made outside tidy (see src/tensor/alloc.ts)
  const inputs = {
    x112: pk.randn(S112, { seed: 1 }),
    x56: pk.randn(S56, { seed: 1 }),
    l56: pk.randn(S56, { seed: 2 }),
    xr: pk.randn(SR, { seed: 3 }),
    boxes: pk.tensor(BOXES, [128, 5], "float32"),
    xg: pk.randn(SG, { seed: 4 }),
    x3d: pk.randn(S3D, { seed: 5 }),
    x1d: pk.randn(S1D, { seed: 6 }),
    lambdas: pk.tensor(LAMBDAS, [8, 64], "int32"),
    samples: pk.tensor(SAMPLES, [8, 64, 2], "float32"),
    thetaA: pk.tensor(THETA_A, [64], "float32"),
    thetaL: pk.tensor(THETA_L, [64], "float32"),
  };
  // max-unpooling's input: the values and indices of a 2×2 max pool of x112 (made once)
  const pooled = pk.maxPool2dWithIndices(inputs.x112, { kernelSize: 2, stride: 2 });
  inputs.yu = pooled.output;
  inputs.iu = pooled.indices;
  const boxesList = Array.from(BOXES, (v) => Math.fround(v));
  const samplesList = Array.from(SAMPLES);
  for (const w of WORKLOADS) {
    if (only !== null && !only.includes(w.id)) continue;
    for (const mode of w.backward ? ["fwd", "bwd", "fwdbwd"] : ["fwd"]) {
      log(`  ${w.id} ${PASS[mode]} vs PyTorch …`);
      await nextTask();
      pk.setBackend("wasm-simd");
      let vjp = null;
      let dy = null;
      let call;
      try {
        const op = w.fn(pk);
        const args = w.args(inputs);
        if (mode === "fwd") call = () => pk.tidy(() => void op(...args));
        else {
          // the forward once, outside the timing (its indices/intermediates are what backward reads; its
          // output's shape is dy's)
          vjp = op.vjp(...args);
          dy = pk.randn(primary(vjp.output).shape, { seed: 9 });
          if (mode === "bwd") call = () => pk.tidy(() => void vjp.backward(dy));
          else call = () => pk.tidy(() => void op.vjp(...args).backward(dy));
        }
        call();
      } catch (e) {
        notes.push(`${w.id} ${mode}: poolkit failed (${e.message.split("\n")[0]})`);
        continue;
      }
      const extra = w.id === "RoIAlign" || w.id === "RoIPool" ? { boxes: boxesList } : w.id === "mixed" ? { lambdas: Array.from(LAMBDAS) } : w.id === "fractional" ? { samples: samplesList } : w.id === "DPP" ? { thetaA: Array.from(THETA_A), thetaL: Array.from(THETA_L) } : {};
      try {
        // warm-up both (V8 optimises the glue in about a second; torch's first calls allocate)
        const t0 = performance.now();
        do call();
        while (performance.now() - t0 < warmupMs);
        const warm = await torch.time(w.id, mode, 2, 1, extra);
        let torchLast = median(warm);
        const pkTimes = [];
        const torchTimes = [];
        for (let r = 0; r < rounds; r++) {
          const r0 = performance.now();
          let n = 0;
          do {
            const s = performance.now();
            call();
            pkTimes.push(performance.now() - s);
            n++;
          } while (n < 3 || performance.now() - r0 < roundMs);
          const reps = Math.max(1, Math.min(20, n, Math.round(roundMs / Math.max(torchLast, 0.01))));
          const t = await torch.time(w.id, mode, reps, 0, extra);
          torchTimes.push(...t);
          torchLast = median(t);
        }
        const poolkitMs = median(pkTimes);
        const torchMs = median(torchTimes);
        rows.push({ id: w.id, label: w.label, mode, poolkitMs, torchMs, ratio: poolkitMs / torchMs, target: mode === "bwd" ? 0.3 : mode === "fwdbwd" ? 1 : w.target ?? 1, calls: [pkTimes.length, torchTimes.length] });
      } catch (e) {
        notes.push(`${w.id} ${mode}: PyTorch failed (${e.message.split("\n")[0]})`);
      } finally {
        if (vjp) {
          disposeAll(vjp.output);
          dy?.dispose();
        }
      }
    }
  }
  for (const t of Object.values(inputs)) t.dispose();
  torch.stop();
  setCallThreadLimit(undefined);
  pk.setBackend(initialBackend);
  return { rows, notes, info: torch.info };
}

/** The tensor `dy` must match: the output itself, or `output` of an `{ output, indices, … }` result. */
function primary(out) {
  return typeof out.dispose === "function" ? out : out.output;
}

const PASS = { fwd: "forward", bwd: "backward", fwdbwd: "forward+backward" };

function disposeAll(v) {
  if (v && typeof v.dispose === "function") v.dispose();
  else if (v && typeof v === "object") for (const e of Object.values(v)) disposeAll(e);
}

/** Markdown table of the rows (ratio = poolkit / PyTorch; target: the bound). */
export function torchTable(rows, fmt) {
  const head = ["workload", "pass", "poolkit wasm-simd ms", "PyTorch ms", "poolkit / PyTorch", "target", "met"];
  const body = rows.map((r) => [
    r.label,
    PASS[r.mode],
    fmt(r.poolkitMs),
    fmt(r.torchMs),
    `${r.ratio.toFixed(2)}×`,
    r.target === null ? "—" : `≤ ${r.target}×`,
    r.target === null ? "—" : r.ratio <= r.target ? "yes" : "no",
  ]);
  return [head, body];
}

// Run directly for a few workloads: `node bench/torch-peer.mjs --only RoIPool,global-max [--rounds 9]`
// (poolkit from this checkout's dist/, built by `npm run build`), printing the table.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i < 0 ? undefined : process.argv[i + 1];
  };
  const pk = await import(resolve(here, "../dist/index.js"));
  const only = arg("--only")?.split(",") ?? null;
  const { rows, notes } = await runTorchPeer({ poolkit: pk, only, rounds: Number(arg("--rounds") ?? 7) });
  const [head, body] = torchTable(rows, (v) => (v < 10 ? v.toFixed(3) : v.toFixed(1)));
  for (const r of [head, ...body]) console.log(`| ${r.join(" | ")} |`);
  for (const n of notes) console.log(n);
  process.exit(0);
}
