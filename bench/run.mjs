// poolkit benchmarks (`npm run bench` builds first, then runs this file; a full run takes about
// 1–2 minutes and writes bench/results/latest.md; `npm run bench -- --quick` samples less and
// writes bench/results/quick.tmp instead).
//
// 1. Max and average pooling, forward, poolkit vs TensorFlow.js (cpu and wasm backends) and
//    onnxruntime-node (CPU), plus forward+backward vs tfjs's gradients (ONNX has no gradients),
//    on realistic sizes; all peers side by side, reported as ratios peer / poolkit (> 1: poolkit
//    is faster).
// 2. Every registered method (its defaults, extra inputs from exampleInputs): forward and
//    forward+backward (vjp) time on one mid size.
// 3. PyTorch CPU (one thread) as a peer on the WebAssembly issue's workloads (bench/torch-peer.mjs,
//    bench/torch_pool.py through /usr/bin/python3; skipped with a note when torch is missing, or with
//    --no-torch): W1/W2/W3, LP, SoftPool, LIP, RoIAlign, RoIPool, mixed, fractional, adaptive, global and
//    detail-preserving pooling, forward, backward and forward+backward, rounds alternating between poolkit and torch; ratio = poolkit / PyTorch.
//
// `--only-w` runs only section 1's backend table (W1/W2/W3 and W2's backward, tfjs-wasm, ORT and the
// floor in the same rounds), prints it and writes nothing; `--w W1,W2` keeps those workloads;
// `--baseline <other dist/index.js>` adds that build's wasm-simd (1 and 2 threads) to the same rounds
// as an A/B (e.g. `node bench/run.mjs --only-w --w W1,W2 --baseline /path/to/main/dist/index.js`).
//
// Fairness notes (also written into the report):
// - Layout conversion is excluded: tfjs gets its NHWC copy of the input before timing, ONNX and
//   poolkit read NCHW. Input creation and dy creation are outside the timed functions.
// - One thread for everyone: poolkit is single-threaded TypeScript, tfjs-wasm runs without worker
//   threads in Node, onnxruntime is pinned to intraOpNumThreads = 1.
// - Timed: median (p50) latency over at least ITER runs and TIME_MS of sampling per task.
// - tfjs counts padding out of average windows (TF semantics); poolkit and ONNX use PyTorch's
//   default count_include_pad = true. Same work, slightly different divisors.
import { cpus, loadavg, totalmem } from "node:os";
import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import * as tf from "@tensorflow/tfjs";
import * as poolkit from "../dist/index.js";
import { buildArgs, mergeOptions, opFor, pickRank, primaryOutput, sampleTensor } from "../dist/cli/invoke.js";
import { poolModel } from "./onnx.mjs";
import { runWorkloads } from "./workloads.mjs";
import { runTorchPeer, torchTable } from "./torch-peer.mjs";

// Peers load dynamically: a missing optional peer (moved to bench/package.json, not installed)
// turns into a note instead of a crash.
await import("@tensorflow/tfjs-backend-wasm").catch((e) => console.error(`tfjs-backend-wasm unavailable: ${e.message}`));
const ort = await import("onnxruntime-node").catch((e) => {
  console.error(`onnxruntime-node unavailable: ${e.message}`);
  return null;
});

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes("--quick");
const onlyW = process.argv.includes("--only-w");
const argValue = (flag) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const workIds = argValue("--w")?.split(",");
const baselinePath = argValue("--baseline");
const TIME_MS = quick ? 100 : 600;
const ITER = quick ? 2 : 5;
const seed = 1;

/** Median latency (ms) of one function, or an error string. */
async function measure(name, fn, opts = {}) {
  try {
    await fn(); // first call outside the samples: compiles, allocates, checks it works
  } catch (e) {
    return { error: (e instanceof Error ? e.message : String(e)).split("\n")[0] };
  }
  const bench = new Bench({ time: opts.time ?? TIME_MS, iterations: opts.iterations ?? ITER, warmupIterations: 1, warmupTime: 0, throws: false });
  bench.add(name, fn);
  await bench.run();
  const r = bench.tasks[0]?.result;
  if (!r || r.state !== "completed") return { error: r?.error?.message ?? `task ${r?.state ?? "missing"}` };
  return { ms: r.latency.p50, runs: r.latency.samplesCount ?? r.latency.samples?.length };
}

const fmtMs = (m) => (m.error ? "n/a" : m.ms >= 100 ? m.ms.toFixed(0) : m.ms >= 10 ? m.ms.toFixed(1) : m.ms.toFixed(2));
const ratio = (peer, base) => (peer.error || base.error ? "n/a" : `${(peer.ms / base.ms).toFixed(2)}×`);

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

// ---------------------------------------------------------------- 1. peers
const CASES = [
  { label: "[8, 64, 56, 56] k3 s2 p1", shape: [8, 64, 56, 56], k: 3, s: 2, p: 1 },
  { label: "[32, 32, 32, 32] k2 s2", shape: [32, 32, 32, 32], k: 2, s: 2, p: 0 },
];

function nchwToNhwc(data, [n, c, h, w]) {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + ch] = data[((b * c + ch) * h + y) * w + x];
  return out;
}

async function tfjsBackend(name) {
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new Error(`tfjs backend ${name} unavailable`);
}

async function peerRows() {
  const notes = [];
  const fwdRows = [];
  const bwdRows = [];
  for (const kind of ["max", "avg"]) {
    const fwdOp = kind === "max" ? poolkit.maxPool2d : poolkit.avgPool2d;
    if (typeof fwdOp !== "function") {
      notes.push(`poolkit has no ${kind}Pool2d export yet: ${kind} rows skipped`);
      continue;
    }
    for (const c of CASES) {
      const { shape, k, s, p } = c;
      const x = sampleTensor(shape, "float32", seed);
      const opts = { kernelSize: k, stride: s, padding: p };
      const yShape = fwdOp(x, opts).shape;
      const dy = sampleTensor(yShape, "float32", seed + 1);
      console.error(`  ${kind} ${c.label} …`);

      const pk = await measure("poolkit", () => fwdOp(x, opts));
      const pkBwd = await measure("poolkit vjp", () => fwdOp.vjp(x, opts).backward(dy));

      // tfjs: NHWC tensors made once, outside the timings.
      const nhwc = nchwToNhwc(x.data, shape);
      const [n, ch, h, w] = shape;
      const [, , oh, ow] = yShape;
      const dyNhwc = nchwToNhwc(dy.data, yShape);
      const tfTimes = {};
      let tfDiff = "n/a";
      for (const backend of ["cpu", "wasm"]) {
        await tfjsBackend(backend);
        const tx = tf.tensor4d(nhwc, [n, h, w, ch]);
        const tdy = tf.tensor4d(dyNhwc, [n, oh, ow, ch]);
        const f = (t) => (kind === "max" ? tf.maxPool(t, k, s, p) : tf.avgPool(t, k, s, p));
        const grad = tf.grad(f);
        if (backend === "cpu") {
          // Agreement check (NHWC → NCHW indexing); tfjs's avg divisor differs where windows hit padding.
          const tyT = f(tx);
          const ty = tyT.dataSync();
          tyT.dispose();
          const mine = fwdOp(x, opts).data;
          let diff = 0;
          for (let b = 0; b < n; b++)
            for (let cc = 0; cc < ch; cc++)
              for (let i = 0; i < oh * ow; i++) diff = Math.max(diff, Math.abs(ty[(b * oh * ow + i) * ch + cc] - mine[(b * ch + cc) * oh * ow + i]));
          tfDiff = diff.toExponential(0);
        }
        tfTimes[backend] = await measure(`tfjs-${backend}`, () => {
          const y = f(tx);
          y.dataSync();
          y.dispose();
        });
        tfTimes[`${backend}-bwd`] = await measure(`tfjs-${backend} grad`, () => {
          const g = grad(tx, tdy);
          g.dataSync();
          g.dispose();
        });
        tx.dispose();
        tdy.dispose();
      }

      // onnxruntime: NCHW directly.
      const model = poolModel(kind === "max" ? "MaxPool" : "AveragePool", {
        inShape: shape,
        outShape: yShape,
        kernel: [k, k],
        strides: [s, s],
        pads: [p, p, p, p],
        countIncludePad: true,
      });
      let onnx;
      let agree = "n/a";
      try {
        const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ["cpu"] });
        const feed = { x: new ort.Tensor("float32", new Float32Array(x.data), shape) }; // a copy: ORT rejects views of shared memory
        // Same work, same answer: ONNX's pooling semantics equal PyTorch's for these options.
        const ref = (await session.run(feed)).y.data;
        const mine = fwdOp(x, opts).data;
        let diff = ref.length === mine.length ? 0 : Infinity;
        for (let i = 0; i < ref.length && i < mine.length; i++) diff = Math.max(diff, Math.abs(ref[i] - mine[i]));
        agree = diff.toExponential(0);
        onnx = await measure("onnxruntime", async () => {
          await session.run(feed);
        });
      } catch (e) {
        onnx = { error: e instanceof Error ? e.message : String(e) };
      }

      const name = `${kind}Pool2d ${c.label}`;
      fwdRows.push([name, fmtMs(pk), fmtMs(tfTimes.cpu), ratio(tfTimes.cpu, pk), fmtMs(tfTimes.wasm), ratio(tfTimes.wasm, pk), fmtMs(onnx), ratio(onnx, pk), `${agree} / ${tfDiff}`]);
      bwdRows.push([name, fmtMs(pkBwd), fmtMs(tfTimes["cpu-bwd"]), ratio(tfTimes["cpu-bwd"], pkBwd), fmtMs(tfTimes["wasm-bwd"]), ratio(tfTimes["wasm-bwd"], pkBwd)]);
      for (const [peer, m] of [["tfjs-cpu", tfTimes.cpu], ["tfjs-wasm", tfTimes.wasm], ["tfjs-cpu grad", tfTimes["cpu-bwd"]], ["tfjs-wasm grad", tfTimes["wasm-bwd"]], ["onnxruntime", onnx], ["poolkit", pk], ["poolkit vjp", pkBwd]]) {
        if (m.error) notes.push(`${name}, ${peer}: ${m.error}`);
      }
    }
  }
  return { fwdRows, bwdRows, notes };
}

// ---------------------------------------------------------------- 2. every method
const MID = { 1: [4, 32, 1024], 2: [4, 32, 32, 32], 3: [4, 32, 8, 16, 16] };

async function methodRows() {
  const rows = [];
  const notes = [];
  for (const m of poolkit.listPools()) {
    let rank;
    let op;
    try {
      rank = pickRank(m);
      op = opFor(m, rank);
    } catch (e) {
      rows.push([m.name, "-", "-", "n/a", "n/a"]);
      notes.push(`${m.name}: ${e.message}`);
      continue;
    }
    const x = sampleTensor(MID[rank], "float32", seed);
    const options = mergeOptions(m);
    let args;
    let dy;
    try {
      args = buildArgs(m, x, options, seed);
      poolkit.manualSeed(seed);
      const y = primaryOutput(op(...args));
      dy = sampleTensor(y.shape, "float32", seed + 1);
    } catch (e) {
      rows.push([m.name, op.opName, `[${MID[rank].join(", ")}]`, "n/a", "n/a"]);
      notes.push(`${m.name}: ${e.message}`);
      continue;
    }
    console.error(`  ${m.name} …`);
    // Slow methods (matrix functions, many draws) get fewer samples so the run stays short.
    const fwd = await measure(m.name, () => op(...args), { time: TIME_MS / 3, iterations: 3 });
    const vjp = await measure(`${m.name} vjp`, () => op.vjp(...args).backward(dy), { time: TIME_MS / 3, iterations: 3 });
    for (const [what, r] of [["forward", fwd], ["vjp", vjp]]) if (r.error) notes.push(`${m.name} ${what}: ${r.error}`);
    rows.push([m.name, op.opName, `[${MID[rank].join(", ")}]`, fmtMs(fwd), fmtMs(vjp)]);
  }
  return { rows, notes };
}

// ---------------------------------------------------------------- report
const t0 = performance.now();
const loadBefore = loadavg()[0];
const version = (pkg) => {
  try {
    return JSON.parse(readFileSync(join(here, "..", "node_modules", ...pkg.split("/"), "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
};
await tfjsBackend("wasm");
const wasmFlags = `SIMD ${await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")}, threads ${await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT")}`;
console.error("backend workloads W1/W2/W3 (interleaved) …");
const baseline = baselinePath === undefined ? null : await import(new URL(baselinePath, `file://${process.cwd()}/`).href);
const work = await runWorkloads({ poolkit, tf, ort, poolModel, rounds: quick ? 5 : 15, warmupMs: quick ? 300 : 2000, ids: workIds, baseline, baselinePath });
if (!onlyW) console.error("PyTorch CPU peer (alternating rounds) …");
const torchPeer = process.argv.includes("--no-torch") || onlyW
  ? { rows: [], notes: [onlyW ? "PyTorch peer skipped (--only-w)" : "PyTorch peer skipped (--no-torch)"], info: null }
  : await runTorchPeer({ poolkit, rounds: quick ? 3 : 7, warmupMs: quick ? 200 : 1000, roundMs: quick ? 60 : 150 });
if (!onlyW) console.error("peers (max/avg pooling) …");
const peers = onlyW ? { fwdRows: [], bwdRows: [], notes: [] } : await peerRows();
if (!onlyW) console.error("every registered method …");
const methods = onlyW ? { rows: [], notes: [] } : await methodRows();
const seconds = ((performance.now() - t0) / 1000).toFixed(0);

const env = [
  `- date: ${new Date().toISOString()}, ${quick ? "quick mode (--quick), " : ""}total bench time ${seconds} s`,
  `- machine: ${cpus()[0]?.model ?? "unknown CPU"} × ${cpus().length} logical cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}`,
  `- 1-minute load average ${loadBefore.toFixed(1)} before and ${loadavg()[0].toFixed(1)} after the run: above ~1 other processes shared the cores and the times are noisier`,
  `- peers: @tensorflow/tfjs ${version("@tensorflow/tfjs")} (cpu backend; wasm backend ${version("@tensorflow/tfjs-backend-wasm")}: ${wasmFlags}), onnxruntime-node ${version("onnxruntime-node")} (CPU execution provider)`,
  `- float32 everywhere; times are median (p50) latencies in ms over ≥ ${ITER} runs and ≥ ${TIME_MS} ms per task`,
  "- one thread for all except the backend table's 2-thread columns (poolkit setThreads(2), ORT intraOpNumThreads = 2): tfjs-wasm has no worker threads in Node (flags above); onnxruntime intraOpNumThreads = interOpNumThreads = 1",
  "- layout conversion is excluded from every timing: tfjs gets its NHWC input before timing; poolkit and ONNX read NCHW",
  "- ratio = peer time / poolkit time: above 1× poolkit is faster, below 1× the peer is faster",
  "- tfjs avgPool excludes padding from the divisor (TF semantics); poolkit and ONNX include it (PyTorch default), hence the avg k3 p1 difference vs tfjs",
  "- the last column checks that the peers computed the same thing: the largest absolute difference between their output and poolkit's",
  "- the forward and forward+backward tables call poolkit without `tidy` and drop the results, as a user who forgets it would (tinybench awaits only promises between calls: one job, in which no dropped tensor can be found dead); poolkit bounds the memory such a loop takes (src/tensor/alloc.ts, \"tensors nobody disposes\"), and the W tables and the PyTorch table call it inside `tidy`",
];

const cell = (r, name) => {
  const c = r.contenders[name];
  return c ? `${fmtMs(c)} (${Math.round(c.faults)})` : "n/a";
};
const rel = (r, a, b) => {
  const x = r.contenders[a];
  const y = r.contenders[b];
  return x && y ? `${(x.ms / y.ms).toFixed(2)}×` : "n/a";
};
const workTable = table(
  ["workload", "floor ms (plain stream)", "memcpy bound ms", "poolkit wasm-simd ms (faults)", "% of floor", "poolkit js ms (faults)", "tfjs-wasm ms (faults)", "wasm-simd / tfjs-wasm", "ORT 1 thread ms (faults)", "wasm-simd / ORT", "poolkit wasm-simd 2 threads ms (faults)", "2 threads / tfjs-wasm", "ORT 2 threads ms (faults)"],
  work.rows.map((r) => {
    const simd = r.contenders["poolkit wasm-simd"];
    return [
      `${r.id}: ${r.label}`,
      `${r.floorMs.toFixed(2)}${r.floorMeasured ? "" : " (memcpy)"}`,
      r.memcpyMs.toFixed(2),
      cell(r, "poolkit wasm-simd"),
      simd ? `${((100 * r.floorMs) / simd.ms).toFixed(0)} %` : "n/a",
      cell(r, "poolkit js"),
      cell(r, "tfjs-wasm"),
      rel(r, "poolkit wasm-simd", "tfjs-wasm"),
      cell(r, "onnxruntime-node 1 thread"),
      rel(r, "poolkit wasm-simd", "onnxruntime-node 1 thread"),
      cell(r, "poolkit wasm-simd 2 threads"),
      rel(r, "poolkit wasm-simd 2 threads", "tfjs-wasm"),
      cell(r, "onnxruntime-node 2 threads"),
    ];
  }),
);
// the same rounds' back-to-back calls (bench/workloads.mjs: WARM_CALLS after each cold call)
const warmCell = (r, name) => {
  const c = r.contenders[name];
  return c && c.warmMs !== undefined ? fmtMs({ ...c, ms: c.warmMs }) : "n/a";
};
const warmRel = (r, a, b) => {
  const x = r.contenders[a];
  const y = r.contenders[b];
  return x && y ? `${(x.warmMs / y.warmMs).toFixed(2)}×` : "n/a";
};
const warmTable = table(
  ["workload", "floor ms (plain stream)", "poolkit wasm-simd ms", "% of floor", "tfjs-wasm ms", "wasm-simd / tfjs-wasm", "ORT 1 thread ms", "poolkit wasm-simd 2 threads ms", "2 threads / tfjs-wasm", "ORT 2 threads ms"],
  work.rows.map((r) => {
    const simd = r.contenders["poolkit wasm-simd"];
    const floor = r.contenders["floor (plain stream)"];
    return [
      `${r.id}: ${r.label}`,
      floor ? warmCell(r, "floor (plain stream)") : "n/a",
      warmCell(r, "poolkit wasm-simd"),
      simd && floor ? `${((100 * floor.warmMs) / simd.warmMs).toFixed(0)} %` : "n/a",
      warmCell(r, "tfjs-wasm"),
      warmRel(r, "poolkit wasm-simd", "tfjs-wasm"),
      warmCell(r, "onnxruntime-node 1 thread"),
      warmCell(r, "poolkit wasm-simd 2 threads"),
      warmRel(r, "poolkit wasm-simd 2 threads", "tfjs-wasm"),
      warmCell(r, "onnxruntime-node 2 threads"),
    ];
  }),
);
if (onlyW) {
  const ab = baseline === null ? [] : [
    "",
    table(["workload", "baseline wasm-simd ms", "new / baseline", "baseline 2 threads ms", "new / baseline (2 threads)"], work.rows.map((r) => [
      r.id, cell(r, "baseline wasm-simd"), rel(r, "poolkit wasm-simd", "baseline wasm-simd"),
      cell(r, "baseline wasm-simd 2 threads"), rel(r, "poolkit wasm-simd 2 threads", "baseline wasm-simd 2 threads"),
    ])),
  ];
  console.log([`load ${loadBefore.toFixed(2)} → ${loadavg()[0].toFixed(2)}, ${quick ? 5 : 15} rounds`, "", workTable, "", "back to back (warm):", "", warmTable, ...ab, "", ...work.notes.map((n) => `- ${n}`)].join("\n"));
  process.exit(0);
}
const fwdTable = table(["op, input", "poolkit ms", "tfjs-cpu ms", "ratio", "tfjs-wasm ms", "ratio", "onnxruntime ms", "ratio", "max abs diff vs ONNX / tfjs-cpu"], peers.fwdRows);
const bwdTable = table(["op, input", "poolkit ms", "tfjs-cpu ms", "ratio", "tfjs-wasm ms", "ratio"], peers.bwdRows);
const methodTable = table(["method", "op", "input", "forward ms", "forward+backward ms"], methods.rows);
const notes = [...work.notes, ...torchPeer.notes, ...peers.notes, ...methods.notes];
const [torchHead, torchBody] = torchTable(torchPeer.rows, (ms) => fmtMs({ ms }));
const torchSection = torchPeer.rows.length
  ? `## PyTorch CPU, one thread (${torchPeer.info.torch}, torchvision ${torchPeer.info.torchvision ?? "missing"}), rounds alternating with poolkit

poolkit: wasm-simd, one thread, each call in \`tidy\`, inputs made once in WebAssembly memory. PyTorch
(\`/usr/bin/python3\`, \`torch.set_num_threads(1)\`, bench/torch_pool.py kept running): inputs made once;
forward under \`no_grad\` (PyTorch's max pooling then computes no indices; poolkit's always does); backward
timed alone on a forward made once (\`torch.autograd.grad(..., retain_graph=True)\`, like poolkit's
\`vjp(...).backward(dy)\`); forward+backward times both in one call (torch: forward with the graph, then
\`autograd.grad\`; poolkit: \`vjp\` then \`backward\`). SoftPool and LIP run as the composites PyTorch users write
(\`avg_pool2d(x·eˣ)/avg_pool2d(eˣ)\`; LIP with the same logit input as poolkit); RoIAlign and RoIPool are
\`torchvision.ops.roi_{align,pool}\` (aligned = false, the same 128 boxes); mixed pooling is
\`λ·max_pool2d + (1−λ)·avg_pool2d\` with the same λ per (n, c); fractional max pooling gets the same
samples through \`_random_samples\`; global pooling is \`adaptive_{avg,max}_pool2d(x, 1)\`; DPP is the
official nngraph graph as tensor ops (\`r = (q / mean_block q)^(λ/2)\`, \`w = r + α\`, \`avg_pool2d(w·x)/avg_pool2d(w)\`)
with the same θ. ${quick ? 3 : 7} rounds,
medians of every call; ratio = poolkit / PyTorch (below 1× poolkit is faster); targets: every windowed
backward ≤ 0.3×, SoftPool and LIP forward ≤ 0.5× (the WebAssembly issue), every forward and forward+backward
≤ 1.0× (the matrix-core issue).

${table(torchHead, torchBody)}
`
  : `## PyTorch CPU, one thread

${torchPeer.notes.join("; ")}
`;

const md = `# poolkit benchmarks

${env.join("\n")}

## Backends: W1/W2/W3 (the WebAssembly issue's workloads), interleaved rounds

One process; contenders run in turn in each of ${quick ? 5 : 15} rounds after ${quick ? 0.3 : 2} s of warm-up; medians. "faults" =
median minor page faults per call (\`process.resourceUsage().minorPageFault\`). "floor" = a plain read of
the input and write of the output (forward: x read, y written; backward: dy and the int32 indices read,
dx written), timed as one more contender in the same rounds: v128 loads and stores over WebAssembly
memory on one thread (bench/stream.ts), the medium poolkit's kernels work in. "memcpy bound" = the same
bytes at the rate of a plain 64 MiB typed-array copy (${(work.bandwidth / 1e9).toFixed(1)} GB/s, read + written; the engine's memcpy
may use non-temporal stores, which WebAssembly has no instruction for).
Ratios below 1× mean poolkit wasm-simd is faster. poolkit runs inside \`tidy\` (its documented loop
form, so storage is reused). Each timed call follows 10 ms of idle time, so no contender runs while
another's threads still spin (onnxruntime's intra-op pool spins after a run and took the second core
from whoever came next). One thread except the 2-thread columns.

${workTable}

The same rounds' back-to-back calls: in each contender's turn, right after the timed call above, two
more calls with no pause — the steady state of a layer inside a network's forward pass, with the
worker threads awake (after the 10 ms pause both cores of this VM were idle, and a worker must first
be woken on a halted core); medians of those calls.

${warmTable}

${torchSection}
## Forward: max and average pooling vs TensorFlow.js and onnxruntime (poolkit on its default backend, ${poolkit.getBackend()})

${fwdTable}

## Forward + backward: poolkit \`op.vjp(x).backward(dy)\` vs tfjs \`tf.grad\` (ONNX Runtime has no gradients)

${bwdTable}

## Every registered method (defaults, extra inputs from \`exampleInputs\`), float32 on a mid size

${methodTable}
${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join("\n")}\n` : ""}`;

console.log(md);
const resultsDir = join(here, "results");
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, quick ? "quick.tmp" : "latest.md"), md);
writeFileSync(
  join(resultsDir, quick ? "quick.json.tmp" : "latest.json"),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, load: [loadBefore, loadavg()[0]], bandwidthBytesPerS: work.bandwidth, workloads: work.rows, torch: { info: torchPeer.info, rows: torchPeer.rows }, notes }, null, 2) + "\n",
);
console.error(`wrote ${join(resultsDir, quick ? "quick.tmp" : "latest.md")}`);
