/**
 * A worker that dies must not hang the caller (src/backends/wasm/threads.ts, threads-worker.ts): a
 * kernel call whose worker exits, throws out of its loop or is terminated mid-part throws a clear
 * error; the pool starts a replacement (at most 3 per setThreads, then it keeps the threads it has
 * and says so); later results are bit-identical to one thread. A worker terminated between calls
 * costs nothing: its unclaimed part runs on the calling thread.
 *
 * Each scenario runs in a child process with a timeout: a hang blocks its thread in Atomics.wait,
 * which no in-process test timeout can interrupt.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(__dirname, "..", "..");
const src = (p: string): string => JSON.stringify(join(root, "src", p));

/** The script: prints one JSON line per step. */
const SCRIPT = `
import * as pk from ${src("index.ts")};
import { activeWasm } from ${src("backends/wasm/index.ts")};
import { setCallThreadLimit, setClaimMode, setMinPartBytes } from ${src("backends/wasm/threads.ts")};
const out = (o) => console.log(JSON.stringify(o));
pk.setBackend("wasm-simd");
await pk.setThreads(2);
const pool = activeWasm().pool;
setMinPartBytes(0);
setClaimMode("workers"); // a worker runs its part: the fault fires in it
const x = pk.randn([2, 3, 17, 16], { seed: 1 });
const dy = pk.randn([2, 3, 9, 8], { seed: 2 });
const opts = { kernelSize: 3, stride: 2, padding: 1 };
const step = () => pk.tidy(() => {
  const v = pk.maxPool2dWithIndices.vjp(x, opts);
  const dx = v.backward(dy)[0];
  return [...v.output.output.data, ...v.output.indices.data, ...dx.data].map((f) => Object.is(f, -0) ? "-0" : String(f)).join(",");
});
setCallThreadLimit(1);
const ref = step();
setCallThreadLimit(undefined);
const parts = () => pool.stats.workerParts;
const waitThreads = async (n, ms) => {
  const t0 = Date.now();
  while (pk.getThreads() !== n && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 20));
  return pk.getThreads();
};
const mem0 = pk.memory();
for (const fault of ["exit", "throw", "terminate", "exit"]) {
  pool.injectWorkerFault(fault);
  let error = "";
  try { step(); } catch (e) { error = String(e && e.message); }
  const threadsNow = pk.getThreads();
  const threadsLater = await waitThreads(2, fault === "exit" && pool.stats.deaths === 4 ? 500 : 10000);
  const p0 = parts();
  const same = step() === ref;
  out({ fault, error, threadsNow, threadsLater, same, workerRan: parts() > p0, deaths: pool.stats.deaths, respawns: pool.stats.respawns, memFlat: JSON.stringify(pk.memory()) === JSON.stringify(mem0) });
}
await pk.setThreads(2);
out({ after: "setThreads(2)", threads: pk.getThreads(), same: step() === ref });
pool.killIdleWorker();
const p1 = parts();
const r = step(); // before the exit event is seen: the dead worker's part runs on this thread
out({ after: "killIdleWorker", same: r === ref, workerRan: parts() > p1, threadsLater: await waitThreads(2, 10000) });
setMinPartBytes(undefined);
setClaimMode("both");
await pk.setThreads(1);
`;

describe("worker death", () => {
  it("exit, uncaught error and termination mid-call throw (no hang), the pool replaces the worker up to 3 times, results stay bit-identical", () => {
    const dir = mkdtempSync(join(tmpdir(), "poolkit-death-"));
    try {
      const script = join(dir, "death.mts");
      writeFileSync(script, SCRIPT);
      const r = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: root, encoding: "utf8", timeout: 60_000 });
      expect(r.error, `the script hung or failed to run; stdout so far:\n${r.stdout}`).toBeUndefined();
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(6);
      const [exit, thrown, terminated, fourth, again, idle] = lines as Record<string, unknown>[];
      expect(exit!.error).toMatch(/^poolkit worker thread \d+: died during a kernel call: the worker exited \(exit code 7\): this call's results are lost; a replacement worker is starting/);
      expect(thrown!.error).toMatch(/^poolkit worker thread \d+: died during a kernel call: uncaught Error: injected worker fault \(exit code 1\): this call's results are lost; a replacement/);
      expect(terminated!.error).toMatch(/^poolkit worker thread \d+ was terminated during a kernel call: this call's results are lost; a replacement/);
      for (const l of [exit, thrown, terminated]) {
        expect(l).toMatchObject({ threadsNow: 1, threadsLater: 2, same: true, workerRan: true, memFlat: true });
      }
      expect([exit!.deaths, thrown!.deaths, terminated!.deaths]).toEqual([1, 2, 3]);
      expect(terminated!.respawns).toBe(3);
      // the fourth death: no more replacements, one thread, correct results
      expect(fourth!.error).toMatch(/no replacement \(3 replacements since the last setThreads, the limit\): kernels continue on 1 thread\(s\); setThreads\(n\) starts new workers/);
      expect(fourth).toMatchObject({ threadsNow: 1, threadsLater: 1, same: true, workerRan: false, deaths: 4, respawns: 3, memFlat: true });
      expect(again).toEqual({ after: "setThreads(2)", threads: 2, same: true });
      expect(idle).toEqual({ after: "killIdleWorker", same: true, workerRan: false, threadsLater: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
