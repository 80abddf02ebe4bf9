#!/usr/bin/env node
/**
 * Matrix-bound workloads of issue 9 (covariance sqrtm/logm/Newton–Schulz, bilinear, low-rank bilinear,
 * compact bilinear by Tensor Sketch, one C = 1024 covariance), poolkit (TypeScript matrix core, one thread) against PyTorch CPU with one
 * thread (bench/torch_matrix.py through /usr/bin/python3; skipped when torch is missing), float32,
 * forward and forward+backward. Rounds alternate (poolkit, torch, poolkit, …) so both see the same
 * machine noise; medians of all timed calls; ratio = poolkit / torch (above 1: poolkit slower).
 * poolkit's calls run inside `tidy` (its documented loop form), as in bench/torch-peer.mjs.
 *
 *   npm run build && node bench/matrix.mjs [--rounds 3] [--only cov-sqrtm-256-8,…] [--blas openblas|netlib|both]
 *                                          [--poolkit path/to/dist/index.js] [--out bench/results/matrix]
 *                                          [--eigen 256,512,1024]  (symEig timings; "" to skip)
 *                                          [--baseline path/to/other/dist/index.js]
 *                                          [--gemm 64,256,512]  (GFLOP/s of one float64 GEMM per backend; "" to skip)
 *                                          [--threads 1,2]  (poolkit's thread counts, interleaved in each round)
 *
 * `--blas netlib` runs torch with LD_LIBRARY_PATH pointing at Debian's reference BLAS/LAPACK
 * (/usr/lib/x86_64-linux-gnu/{blas,lapack}) for that process only; `openblas` uses whatever
 * libblas.so.3 the system's alternatives select. Nothing global is changed.
 * `--baseline` times a second poolkit build (e.g. the previous commit's dist) in the same alternating
 * rounds (baseline, poolkit, torch, …), so before/after speed-ups see the same machine noise.
 * `--threads`: the worker pool runs max(counts) threads and each timed call is limited to one count
 * (setCallThreadLimit), counts alternating within each round — 1- and 2-thread times see the same
 * noise; ratios are given per count. Writes <out>.json and <out>.md.
 */
import { execFileSync, spawn } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const rounds = Number(opt("rounds", "3"));
const only = opt("only", "");
const blasMode = opt("blas", "openblas");
const pkPath = resolve(opt("poolkit", resolve(here, "..", "dist", "index.js")));
const out = resolve(opt("out", resolve(here, "results", "matrix")));
const pk = await import(pathToFileURL(pkPath).href);
const basePath = opt("baseline", "");
const base = basePath ? await import(pathToFileURL(resolve(basePath)).href) : null;
const threadCounts = opt("threads", "1,2").split(",").filter(Boolean).map(Number);
const threadsMod = await import(pathToFileURL(resolve(dirname(pkPath), "backends", "wasm", "threads.js")).href);
await pk.setThreads(Math.max(...threadCounts));
const withThreads = (t, f) => {
  threadsMod.setCallThreadLimit(t);
  try {
    return f();
  } finally {
    threadsMod.setCallThreadLimit(undefined);
  }
};
const loadStart = loadavg()[0];
let commit = "unknown";
try {
  commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: dirname(pkPath), encoding: "utf8" }).trim();
} catch {
  // not a git checkout
}

/** Same shapes as bench/torch_matrix.py. `budget`: seconds of calls per round (at least one call). */
const WORKLOADS = [
  { name: "cov-sqrtm-256-8", label: "covariancePool sqrtm [8,256,14,14]", budget: 4 },
  { name: "cov-logm-256-8", label: "covariancePool logm [8,256,14,14]", budget: 4 },
  { name: "cov-sqrtm-64-8", label: "covariancePool sqrtm [8,64,14,14]", budget: 1.5 },
  { name: "cov-logm-64-8", label: "covariancePool logm [8,64,14,14]", budget: 1.5 },
  { name: "cov-ns5-64-8", label: "covariancePool newton-schulz 5 [8,64,14,14]", budget: 1.5 },
  { name: "lowrank-256", label: "lowRankBilinearPool d 256, x,y [8,512,14,14], O 200", budget: 4 },
  { name: "bilinear-512", label: "bilinearPool [8,512,14,14]", budget: 4 },
  { name: "cbp-ts-8192", label: "compactBilinearPool Tensor Sketch d 8192, [8,512,14,14]", budget: 4 },
  { name: "cov-logm-1024-1", label: "covariancePool logm, C = 1024, one image [1,1024,14,14]", budget: 1 },
].filter((w) => !only || only.split(",").includes(w.name));

function rand(lib, shape, seed) {
  return lib.randn(shape, { seed, dtype: "float32" });
}
function scaled(t, s) {
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] *= s;
  return t;
}

function make(lib, name) {
  if (name.startsWith("cov-")) {
    const [, norm, d, n] = name.split("-");
    const normalization = { sqrtm: "sqrtm", logm: "logm", ns5: "newton-schulz" }[norm];
    const x = rand(lib, [Number(n), Number(d), 14, 14], 1);
    const opts = { normalization, ...(Number(d) > 1024 ? { maxDim: Number(d) } : {}) };
    return { fwd: () => lib.covariancePool(x, opts), vjp: () => lib.covariancePool.vjp(x, opts) };
  }
  if (name === "bilinear-512") {
    const a = rand(lib, [8, 512, 14, 14], 2);
    return { fwd: () => lib.bilinearPool(a), vjp: () => lib.bilinearPool.vjp(a) };
  }
  if (name === "cbp-ts-8192") {
    const a = rand(lib, [8, 512, 14, 14], 11);
    const opts = { outputDim: 8192 };
    return { fwd: () => lib.compactBilinearPool(a, opts), vjp: () => lib.compactBilinearPool.vjp(a, opts) };
  }
  if (name === "lowrank-256") {
    const r = (shape, seed) => rand(lib, shape, seed);
    const ins = [r([8, 512, 14, 14], 3), r([8, 512, 14, 14], 4), scaled(r([256, 512], 5), 0.05), scaled(r([256, 512], 6), 0.05), scaled(r([200, 256], 7), 0.05), r([256], 8), r([256], 9), r([200], 10)];
    return { fwd: () => lib.lowRankBilinearPool(...ins), vjp: () => lib.lowRankBilinearPool.vjp(...ins) };
  }
  throw new Error(name);
}

function timePoolkit(w, mode, budgetS, warm, lib = pk) {
  const f = make(lib, w.name);
  // inside tidy, poolkit's documented loop form (as the PyTorch table of bench/torch-peer.mjs): the
  // call's tensors are freed at its end, as torch frees a dropped result, instead of being moved out of
  // WebAssembly memory for the collector (src/tensor/alloc.ts, "tensors nobody disposes")
  const call = mode === "fwd" ? () => lib.tidy(() => void f.fwd()) : () => lib.tidy(() => {
    const { output, backward } = f.vjp();
    backward(lib.full([...output.shape], 1, output.dtype));
  });
  // warm-up (V8 optimises hot loops after ~1 s of calls): only in the first round
  if (warm) {
    const t0 = performance.now();
    do call(); while (performance.now() - t0 < Math.min(2000, budgetS * 1000));
  }
  const times = [];
  const t0 = performance.now();
  do {
    const s = performance.now();
    call();
    times.push(performance.now() - s);
  } while (performance.now() - t0 < budgetS * 1000);
  return times;
}

class Torch {
  static async start(blas) {
    const env = { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };
    if (blas === "netlib") env.LD_LIBRARY_PATH = "/usr/lib/x86_64-linux-gnu/blas:/usr/lib/x86_64-linux-gnu/lapack";
    if (!existsSync("/usr/bin/python3")) return null;
    const p = spawn("/usr/bin/python3", [resolve(here, "torch_matrix.py")], { env, stdio: ["pipe", "pipe", "inherit"] });
    const t = new Torch(p);
    const hello = await t.next().catch(() => null);
    if (!hello || !hello.ready) return null;
    t.info = hello;
    return t;
  }
  constructor(p) {
    this.p = p;
    this.lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  }
  async next() {
    const { value, done } = await this.lines.next();
    if (done) throw new Error("torch_matrix.py exited");
    return JSON.parse(value);
  }
  async time(workload, mode, reps, warmup) {
    this.p.stdin.write(JSON.stringify({ workload, mode, reps, warmup }) + "\n");
    return (await this.next()).times;
  }
  stop() {
    this.p.stdin.end();
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// One symmetric eigendecomposition (float64, src/linalg/eigen.ts) at the sizes that set maxDim's default.
const eigenSizes = opt("eigen", "256,512,1024").split(",").filter(Boolean).map(Number);
const eigenRows = [];
if (eigenSizes.length) {
  const { symEig } = await import(pathToFileURL(resolve(dirname(pkPath), "linalg", "eigen.js")).href);
  for (const n of eigenSizes) {
    const g = pk.randn([n, n + 8], { seed: n, dtype: "float64" }).data;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let t = 0; t < n + 8; t++) s += g[i * (n + 8) + t] * g[j * (n + 8) + t];
      a[i * n + j] = s;
      a[j * n + i] = s;
    }
    // warm-up: V8 optimises the solver's loops after about a second of calls
    const w0 = performance.now();
    do symEig(a, n); while (performance.now() - w0 < 1500);
    const times = [];
    const reps = n <= 256 ? 5 : n <= 512 ? 3 : 1;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      symEig(a, n);
      times.push(performance.now() - t0);
    }
    eigenRows.push({ n, ms: median(times), calls: reps });
    console.log(`symEig D = ${n}: ${median(times).toFixed(0)} ms (median of ${reps})`);
  }
}

// The matrix core alone: C = A·B, float64 n × n on the JS heap (as the linalg code calls it), per
// backend (WebAssembly SIMD, scalar WebAssembly, TypeScript), backends alternating within each round.
const gemmSizes = opt("gemm", "64,256,512").split(",").filter(Boolean).map(Number);
const gemmRows = [];
if (gemmSizes.length) {
  const { gemm } = await import(pathToFileURL(resolve(dirname(pkPath), "linalg", "gemm.js")).href);
  // wasm-simd at each thread count, then the scalar build and TypeScript on one thread
  const configs = [...threadCounts.map((t) => ({ key: `wasm-simd ${t}t`, backend: "wasm-simd", t })), { key: "wasm", backend: "wasm", t: 1 }, { key: "js", backend: "js", t: 1 }];
  const backends = configs.map((c) => c.key);
  const before = pk.getBackend();
  for (const n of gemmSizes) {
    const a = pk.randn([n, n], { seed: 1, dtype: "float64" }).data.slice();
    const b = pk.randn([n, n], { seed: 2, dtype: "float64" }).data.slice();
    const c = new Float64Array(n * n);
    const best = Object.fromEntries(backends.map((k) => [k, Infinity]));
    for (let r = 0; r < 3; r++) {
      for (const { key: k, backend, t } of configs) {
        pk.setBackend(backend);
        const t0 = performance.now();
        let calls = 0;
        // the first round warms up (V8 and wasm tier-up), later rounds time
        withThreads(t, () => {
          do {
            const s = performance.now();
            gemm(false, false, n, n, n, 1, a, 0, n, b, 0, n, 0, c, 0, n);
            if (r > 0) best[k] = Math.min(best[k], performance.now() - s);
            calls++;
          } while (performance.now() - t0 < 600 || calls < 2);
        });
      }
    }
    const row = { n, ...Object.fromEntries(backends.map((k) => [k, (2 * n ** 3) / best[k] / 1e6])) };
    gemmRows.push(row);
    console.log(`gemm float64 n = ${n}: ${backends.map((k) => `${k} ${row[k].toFixed(2)}`).join(", ")} GFLOP/s (best call)`);
  }
  pk.setBackend(before);
}

const blasModes = blasMode === "both" ? ["openblas", "netlib"] : [blasMode];
const peers = {};
for (const b of blasModes) {
  const t = await Torch.start(b);
  if (t) peers[b] = t;
  else console.log(`torch (${b}): not available — poolkit only`);
}
for (const [b, t] of Object.entries(peers)) console.log(`torch ${t.info.torch} (${b}): libblas = ${t.info.blas}`);

const results = [];
for (const w of WORKLOADS) {
  for (const mode of ["fwd", "fwdbwd"]) {
    const pkTimes = [];
    const byThreads = Object.fromEntries(threadCounts.map((t) => [t, []]));
    const baseTimes = [];
    const torchTimes = Object.fromEntries(Object.keys(peers).map((b) => [b, []]));
    for (let r = 0; r < rounds; r++) {
      if (base) baseTimes.push(...timePoolkit(w, mode, w.budget / rounds, r === 0, base));
      for (const t of threadCounts) byThreads[t].push(...withThreads(t, () => timePoolkit(w, mode, w.budget / rounds, r === 0)));
      pkTimes.push(...byThreads[threadCounts[0]].slice(pkTimes.length));
      const reps = Math.max(1, Math.min(20, pkTimes.length));
      for (const [b, t] of Object.entries(peers)) torchTimes[b].push(...(await t.time(w.name, mode, reps, r === 0 ? 1 : 0)));
    }
    const row = { workload: w.name, label: w.label, mode, poolkitMs: median(pkTimes), poolkitCalls: pkTimes.length, threads: threadCounts[0] };
    for (const t of threadCounts) row[`poolkit_${t}tMs`] = median(byThreads[t]);
    if (base) {
      row.baselineMs = median(baseTimes);
      row.baselineCalls = baseTimes.length;
    }
    for (const b of Object.keys(peers)) {
      row[`torch_${b}Ms`] = median(torchTimes[b]);
      row[`ratio_${b}`] = row.poolkitMs / row[`torch_${b}Ms`];
      for (const t of threadCounts) row[`ratio_${b}_${t}t`] = row[`poolkit_${t}tMs`] / row[`torch_${b}Ms`];
    }
    results.push(row);
    const peerText = Object.keys(peers).map((b) => `torch/${b} ${row[`torch_${b}Ms`].toFixed(1)} ms, ratio ${threadCounts.map((t) => `${t}t ${row[`ratio_${b}_${t}t`].toFixed(2)}×`).join(" ")}`).join("; ");
    const thText = threadCounts.map((t) => `${t}t ${row[`poolkit_${t}tMs`].toFixed(1)} ms`).join(", ");
    const baseText = base ? ` (baseline ${row.baselineMs.toFixed(1)} ms, ${(row.baselineMs / row.poolkitMs).toFixed(2)}× faster now)` : "";
    console.log(`${w.label} ${mode}: poolkit ${thText} (${pkTimes.length} calls at ${threadCounts[0]}t)${baseText}${peerText ? "; " + peerText : ""}`);
  }
}
for (const t of Object.values(peers)) t.stop();

mkdirSync(dirname(out), { recursive: true });
const meta = { date: new Date().toISOString(), node: process.version, poolkit: pkPath, baseline: basePath || null, commit, loadavg: [loadStart, loadavg()[0]], rounds, threads: threadCounts, torch: Object.fromEntries(Object.entries(peers).map(([b, t]) => [b, t.info])) };
writeFileSync(`${out}.json`, JSON.stringify({ meta, eigen: eigenRows, gemm: gemmRows, results }, null, 1) + "\n");
const cols = Object.keys(peers);
let md = `# Matrix workloads: poolkit vs PyTorch CPU (1 thread, float32)\n\n${meta.date}, Node ${meta.node}, poolkit ${commit}, ${rounds} alternating rounds, medians; ratio = poolkit / torch; poolkit's calls inside \`tidy\`.\n`;
md += `1-minute load average ${meta.loadavg[0].toFixed(1)} at the start, ${meta.loadavg[1].toFixed(1)} at the end (on ${availableParallelism()} cores).\n`;
for (const b of cols) md += `torch ${peers[b].info.torch} with ${b}: ${peers[b].info.blas}\n`;
if (base) md += `baseline: ${basePath} (timed in the same alternating rounds)\n`;
md += `poolkit thread counts (alternating within each round): ${threadCounts.join(", ")}; the baseline and the first count's columns are at ${threadCounts[0]}.\n`;
const bh = base ? " baseline ms | speed-up |" : "";
const tc = threadCounts;
md += `\n| workload | mode |${bh}${tc.map((t) => ` poolkit ${t}t ms |`).join("")}${cols.map((b) => ` torch (${b}) ms |${tc.map((t) => ` ratio ${t}t (${b}) |`).join("")}`).join("")}\n|---|---|${base ? "---|---|" : ""}${tc.map(() => "---|").join("")}${cols.map(() => "---|" + tc.map(() => "---|").join("")).join("")}\n`;
for (const r of results) {
  const bc = base ? ` ${r.baselineMs.toFixed(1)} | ${(r.baselineMs / r.poolkitMs).toFixed(2)}× |` : "";
  md += `| ${r.label} | ${r.mode === "fwd" ? "forward" : "forward+backward"} |${bc}${tc.map((t) => ` ${r[`poolkit_${t}tMs`].toFixed(1)} |`).join("")}${cols.map((b) => ` ${r[`torch_${b}Ms`].toFixed(1)} |${tc.map((t) => ` ${r[`ratio_${b}_${t}t`].toFixed(2)}× |`).join("")}`).join("")}\n`;
}
if (eigenRows.length) {
  md += `\nOne symmetric eigendecomposition (float64, Householder + implicit QL, TypeScript, one thread):\n\n| D | ms |\n|---|---|\n`;
  for (const e of eigenRows) md += `| ${e.n} | ${e.ms.toFixed(0)} |\n`;
}
if (gemmRows.length) {
  const keys = Object.keys(gemmRows[0]).filter((k) => k !== "n");
  md += `\nThe matrix core alone: C = A·B, float64 n × n operands on the JS heap, GFLOP/s of the best call (backends and thread counts alternating):\n\n| n |${keys.map((k) => ` ${k} |`).join("")}\n|---|${keys.map(() => "---|").join("")}\n`;
  for (const g of gemmRows) md += `| ${g.n} |${keys.map((k) => ` ${g[k].toFixed(2)} |`).join("")}\n`;
}
writeFileSync(`${out}.md`, md);
console.log(`wrote ${out}.json and ${out}.md`);
