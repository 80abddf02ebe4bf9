// W1/W2 max-pool forward: poolkit wasm-simd (plain forward and WithIndices, 1 and 2 threads) vs
// tfjs-wasm (XNNPACK), interleaved round by round in one process; median and minimum wall time and
// median CPU time per call, as ratios to tfjs-wasm. `POOLKIT_BASE=/path/to/other/dist` adds a second
// poolkit build (e.g. the commit before a change) to the same rounds. Needs `npm run build`.
// Usage: node bench/maxfwd.mjs [rounds]
import { loadavg } from "node:os";
import * as tf from "@tensorflow/tfjs";
await import("@tensorflow/tfjs-backend-wasm");

const builds = [["pk", new URL("../dist", import.meta.url).href]];
if (process.env.POOLKIT_BASE) builds.push(["base", `file://${process.env.POOLKIT_BASE}`]);
const rounds = Number(process.argv[2] ?? 41);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
function nchwToNhwc(d, [n, c, h, w]) {
  const o = new Float32Array(d.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) o[((b * h + y) * w + x) * c + ch] = d[((b * c + ch) * h + y) * w + x];
  return o;
}
const libs = [];
for (const [tag, dist] of builds) {
  const pk = await import(`${dist}/index.js`);
  const { setCallThreadLimit } = await import(`${dist}/backends/wasm/threads.js`);
  pk.setBackend("wasm-simd");
  await pk.setThreads(2);
  libs.push({ tag, pk, setCallThreadLimit });
}
await tf.setBackend("wasm");
await tf.ready();
console.log(`load ${loadavg().map((v) => v.toFixed(2)).join(" ")}  threads ${libs.map((l) => l.pk.getThreads()).join(",")}`);
for (const [id, k, s, p] of [["W1", 2, 2, 0], ["W2", 3, 2, 1]]) {
  const shape = [8, 64, 112, 112];
  const opts = { kernelSize: k, stride: s, padding: p };
  const c = [];
  let xs = null;
  for (const { tag, pk, setCallThreadLimit } of libs) {
    const x = pk.randn(shape, { seed: 1 });
    xs ??= x.data.slice();
    for (const th of [1, 2]) {
      c.push([`${tag} ${th}t`, () => { setCallThreadLimit(th); pk.tidy(() => void pk.maxPool2d(x, opts)); }]);
      c.push([`${tag} idx ${th}t`, () => { setCallThreadLimit(th); pk.tidy(() => void pk.maxPool2dWithIndices(x, opts)); }]);
    }
  }
  const tx = tf.tensor4d(nchwToNhwc(xs, shape), [8, 112, 112, 64]);
  c.unshift(["tfjs-wasm", () => { const y = tf.maxPool(tx, k, s, p); y.dataSync(); y.dispose(); }]);
  const t0 = performance.now();
  while (performance.now() - t0 < 1500) for (const [, f] of c) f();
  const t = new Map(c.map(([n]) => [n, []]));
  const cpu = new Map(c.map(([n]) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [n, f] of c) {
      const u = process.cpuUsage();
      const a = performance.now();
      f();
      t.get(n).push(performance.now() - a);
      const d = process.cpuUsage(u);
      cpu.get(n).push((d.user + d.system) / 1000);
    }
  }
  const min = (a) => Math.min(...a);
  const [m1, n1, c1] = [median(t.get("tfjs-wasm")), min(t.get("tfjs-wasm")), median(cpu.get("tfjs-wasm"))];
  console.log(`${id} ms: median wall (ratio to tfjs-wasm) | min wall (ratio) | median process CPU (ratio)`);
  for (const [n] of c) {
    const [m, mn, cp] = [median(t.get(n)), min(t.get(n)), median(cpu.get(n))];
    console.log(`  ${n.padEnd(12)} ${m.toFixed(2).padStart(6)} (${(m / m1).toFixed(2)}x) | ${mn.toFixed(2).padStart(6)} (${(mn / n1).toFixed(2)}x) | ${cp.toFixed(2).padStart(6)} (${(cp / c1).toFixed(2)}x)`);
  }
}
console.log(`load ${loadavg().map((v) => v.toFixed(2)).join(" ")}`);
for (const { pk } of libs) await pk.setThreads(1);
process.exit(0);
