/**
 * setThreads / getThreads: the worker pool over shared WebAssembly memory (src/backends/wasm/threads.ts).
 *
 * - Results on 2 and 3 threads are bit-identical to 1 thread (same backend) for every kernel that
 *   splits — max (1d/2d/3d, with indices or values only, forward and backward), average (including the
 *   stride-1 window-sum backward), global average and max, LP, SoftPool, LIP, adaptive
 *   (the wide-window kernels), max-unpool, RoIAlign and RoIPool (by channels), fractional max pooling's
 *   forward, stochastic pooling (evaluation) and the mixed-pooling mix — on random shapes whose plane counts include 1, fewer planes than threads, and
 *   counts that do not divide evenly; every split is forced (no size threshold, and as many chunks as
 *   units, so a thread runs several chunks in turn with its scratch re-zeroed), and each of the three
 *   ways a part can run is checked on its own: by the worker (the test checks it really did), by the
 *   calling thread claiming a part no worker started, and the default race between the two — so a
 *   wrong pointer offset or scratch block shows up as a bit difference.
 * - Semantics: validation errors, the count reported only once workers are ready, 1 stops them, the
 *   "js" backend and unshared memory report 1, a trap inside a worker is thrown by the caller (and the
 *   pool keeps working), idle workers do not keep Node running.
 * - memory() stays flat over tidy()'d iterations on 2 threads; a heap on shared memory refreshes its
 *   views after growth (where old views stay valid instead of detaching).
 *
 * In the "detach" project the backend runs on an unshared memory (growth must detach views there), so
 * that project checks the other half of the contract: setThreads(2) keeps one thread, no error.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, getThreads, setBackend, setThreads, type BackendName } from "../../src/backends/index.js";
import { LinearHeap } from "../../src/backends/linear.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { setClaimMode, setMinPartBytes, splitCall, wantedThreads, type ClaimMode } from "../../src/backends/wasm/threads.js";
import * as pk from "../../src/index.js";
import { PoolkitRangeError, PoolkitTypeError } from "../../src/errors.js";
import { Generator } from "../../src/tensor/random.js";
import { memory, tensor, tidy, type Tensor } from "../../src/tensor/tensor.js";
import { DETACH, expectBits, int, runOn, values, WASM, workerParts, type Input, type Run } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(async () => {
  setMinPartBytes(undefined);
  setClaimMode("both");
  await setThreads(1);
  setBackend(initial);
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Vjp = (...a: any[]) => { output: unknown; backward: (dy: Tensor) => (Tensor | null)[] };
const vjp = (name: string): Vjp => (pk as unknown as Record<string, { vjp: Vjp }>)[name]!.vjp;
const dyOf = (m: number): Float32Array => Float32Array.from({ length: m }, (_, i) => (((i * 7919) % 13) - 6.5) / 4);

interface Case {
  label: string;
  call: (t: Tensor[]) => ReturnType<Vjp>;
  inputs: Input[];
  /** Units the split kernels see (planes, channels): ≥ 2 means a worker must have run a part. */
  units: number;
}

/** Random cases: plane counts 1, 2, 3, 5, 7 (fewer than, equal to and not dividing by the thread counts). */
function cases(seed: number): Case[] {
  const g = new Generator(seed);
  const out: Case[] = [];
  const PLANES: [number, number][] = [[1, 1], [1, 2], [1, 3], [5, 1], [1, 7], [2, 3]];
  for (let t = 0; t < 48; t++) {
    const [n, c] = PLANES[t % PLANES.length] as [number, number];
    const h = int(g, 1, 33);
    const w = int(g, 1, 33);
    const shape = [n, c, h, w];
    const size = n * c * h * w;
    const xs = values(g, size, t % 3 !== 0);
    const k = [int(g, 1, Math.min(h, 4)), int(g, 1, Math.min(w, 4))];
    const stride = k.map((kk) => int(g, 1, kk));
    const padding = k.map((kk) => int(g, 0, Math.floor(kk / 2)));
    const planes = n * c;
    const x: Input = { data: xs, shape };
    const add = (label: string, call: Case["call"], inputs: Input[], units = planes): void => {
      out.push({ label: `${label} [${shape}]`, call, inputs, units });
    };
    switch (t % 12) {
      case 0: {
        const opts = { kernelSize: k, stride, padding, dilation: [int(g, 1, 2), 1], ceilMode: g.uniform() < 0.5 };
        if (h + 2 * padding[0]! < opts.dilation[0]! * (k[0]! - 1) + 1) opts.dilation[0] = 1;
        add(`maxPool2dWithIndices ${JSON.stringify(opts)}`, (ts) => vjp("maxPool2dWithIndices")(ts[0], opts), [x]);
        break;
      }
      case 1: {
        const opts = { kernelSize: k, stride, padding, ceilMode: g.uniform() < 0.5, countIncludePad: g.uniform() < 0.5, ...(g.uniform() < 0.3 ? { divisorOverride: 3 } : {}) };
        add(`avgPool2d ${JSON.stringify(opts)}`, (ts) => vjp("avgPool2d")(ts[0], opts), [x]);
        break;
      }
      case 2: {
        const opts = { normType: [1, 2, 3][t % 3] as number, kernelSize: k, stride };
        add(`lpPool2d ${JSON.stringify(opts)}`, (ts) => vjp("lpPool2d")(ts[0], opts), [{ data: values(g, size, false), shape }]);
        break;
      }
      case 3: {
        const opts = { kernelSize: k, stride };
        add(`softPool2d ${JSON.stringify(opts)}`, (ts) => vjp("softPool2d")(ts[0], opts), [{ data: values(g, size, false, 1), shape }]);
        break;
      }
      case 4: {
        // every other case LIP's default 3×3 stride 2 padding 1 (the backward's register path)
        const opts = t % 24 === 4 ? { kernelSize: k, stride, padding: 0 } : { kernelSize: 3, stride: 2, padding: 1 };
        add(`localImportancePool2d ${JSON.stringify(opts)}`, (ts) => vjp("localImportancePool2d")(ts[0], ts[1], opts), [
          { data: values(g, size, false), shape },
          { data: values(g, size, false, 1), shape },
        ]);
        break;
      }
      case 5: {
        const opts = { outputSize: [int(g, 1, Math.min(h, 3)), int(g, 1, Math.min(w, 3))] };
        add(`adaptiveMaxPool2dWithIndices ${JSON.stringify(opts)}`, (ts) => vjp("adaptiveMaxPool2dWithIndices")(ts[0], opts), [x]);
        break;
      }
      case 6: {
        const opts = { outputSize: [int(g, 1, Math.min(h, 3)), int(g, 1, Math.min(w, 3))] };
        add(`adaptiveAvgPool2d ${JSON.stringify(opts)}`, (ts) => vjp("adaptiveAvgPool2d")(ts[0], opts), [x]);
        break;
      }
      case 7: {
        const opts = { kernelSize: [int(g, 1, 3), k[0]!, k[1]!], stride: [1, ...stride] };
        const d = int(g, 1, 3);
        const s3 = [n, c, d, h, w];
        const shape3 = opts.kernelSize[0]! > d ? { ...opts, kernelSize: [1, k[0]!, k[1]!] } : opts;
        add(`maxPool3dWithIndices ${JSON.stringify(shape3)}`, (ts) => vjp("maxPool3dWithIndices")(ts[0], shape3), [{ data: values(g, size * d), shape: s3 }]);
        break;
      }
      case 8: {
        // unpool a max pool's output (its indices made on the TypeScript backend)
        setBackend("js");
        const opts = { kernelSize: k, stride };
        const r = pk.maxPool2dWithIndices(tensor(xs, shape, "float32"), opts);
        const y = { data: r.output.data.slice() as Float32Array, shape: r.output.shape as number[] };
        const idx = { data: r.indices.data.slice() as Int32Array, shape: r.indices.shape as number[] };
        add(`maxUnpool2d ${JSON.stringify(opts)}`, (ts) => vjp("maxUnpool2d")(ts[0], ts[1], { ...opts, outputSize: [h, w] }), [y, idx]);
        break;
      }
      case 9: {
        const boxes = new Float32Array(5 * (1 + (t % 5)));
        for (let r = 0; r < boxes.length / 5; r++) {
          const x1 = g.uniform() * w - 1;
          const y1 = g.uniform() * h - 1;
          boxes.set([int(g, 0, n - 1), x1, y1, x1 + g.uniform() * w, y1 + g.uniform() * h], 5 * r);
        }
        const bx: Input = { data: boxes, shape: [boxes.length / 5, 5] };
        const ra = { outputSize: [int(g, 1, 4), int(g, 1, 4)], samplingRatio: int(g, -1, 2), aligned: g.uniform() < 0.5 };
        // RoI kernels split by channels
        add(`roiAlign ${JSON.stringify(ra)} ${boxes.length / 5} boxes`, (ts) => vjp("roiAlign")(ts[0], ts[1], ra), [x, bx], c);
        const rp = { outputSize: [int(g, 1, 4), int(g, 1, 4)] };
        add(`roiPool ${JSON.stringify(rp)} ${boxes.length / 5} boxes`, (ts) => vjp("roiPool")(ts[0], ts[1], rp), [x, bx], c);
        // fractional max pooling's forward splits by planes (each plane's own windows)
        const kf = int(g, 1, Math.min(h, w, 3));
        const fr = { kernelSize: kf, outputSize: [int(g, 1, h - kf + 1), int(g, 1, w - kf + 1)], seed: t };
        add(`fractionalMaxPool2dWithIndices ${JSON.stringify(fr)}`, (ts) => vjp("fractionalMaxPool2dWithIndices")(ts[0], fr), [x], planes);
        break;
      }
      case 10: {
        const opts = { kernelSize: k, stride, training: false };
        const pos = values(g, size, false).map((v) => Math.abs(v) * (g.uniform() < 0.2 ? 0 : 1));
        add(`stochasticPool2d ${JSON.stringify(opts)}`, (ts) => vjp("stochasticPool2d")(ts[0], opts), [{ data: pos, shape }]);
        break;
      }
      default: {
        const opts = { kernelSize: k, stride, training: true, seed: t, granularity: "channel" as const };
        add(`mixedPool2d ${JSON.stringify(opts)}`, (ts) => vjp("mixedPool2d")(ts[0], opts), [x]);
      }
    }
  }
  // kernels the random cases above may miss: the values-only max forward (no indices), the stride-1
  // average backward (window sums over the transposed plan: one divisor, or per-position reciprocals
  // in a per-thread scratch block), global average and max pooling
  for (let t = 0; t < PLANES.length; t++) {
    const [n, c] = PLANES[t] as [number, number];
    const h = int(g, 3, 40);
    const w = int(g, 3, 40);
    const shape = [n, c, h, w];
    const x: Input = { data: values(g, n * c * h * w, t % 2 === 0), shape };
    const units = n * c;
    const mo = { kernelSize: [int(g, 1, 3), int(g, 2, 3)], stride: [int(g, 1, 2), int(g, 1, 2)] };
    out.push({ label: `maxPool2d (values only) ${JSON.stringify(mo)} [${shape}]`, call: (ts) => ({ output: pk.maxPool2d(ts[0] as Tensor, mo), backward: () => [] }), inputs: [x], units });
    // 3 wide, stride 2, padding 1 (assembly/maxfast.ts pairRun: its carried rows per thread part)
    const mp = { kernelSize: [int(g, 1, 3), 3], stride: [int(g, 1, 2), 2], padding: [0, 1] };
    out.push({ label: `maxPool2d (values only) ${JSON.stringify(mp)} [${shape}]`, call: (ts) => ({ output: pk.maxPool2d(ts[0] as Tensor, mp), backward: () => [] }), inputs: [x], units });
    // 2×2 stride 2 and 3×3 stride 2 padding 1 (assembly/maxfast.ts runs22/runs23: whole-plane runs, the
    // 3×3 run's carried row in each thread part's scratch, a plane with a NaN re-run per row)
    for (const mw of [{ kernelSize: 2, stride: 2, ceilMode: t % 2 === 0 }, { kernelSize: 3, stride: 2, padding: 1, ceilMode: t % 2 === 1 }]) {
      out.push({ label: `maxPool2d (values only) ${JSON.stringify(mw)} [${shape}]`, call: (ts) => ({ output: pk.maxPool2d(ts[0] as Tensor, mw), backward: () => [] }), inputs: [x], units });
    }
    const ao = { kernelSize: 3, stride: 1, padding: 1, countIncludePad: t % 2 === 0 };
    out.push({ label: `avgPool2d ${JSON.stringify(ao)} [${shape}]`, call: (ts) => vjp("avgPool2d")(ts[0], ao), inputs: [x], units });
    out.push({ label: `globalAvgPool [${shape}]`, call: (ts) => vjp("globalAvgPool")(ts[0]), inputs: [x], units });
    out.push({ label: `globalMaxPool [${shape}]`, call: (ts) => vjp("globalMaxPool")(ts[0]), inputs: [x], units });
  }
  // RoIPool's saved argmax in both forms (16-bit entries up to H·W = 65535, int32 beyond): the split
  // advances it by 2 or 4 bytes per entry
  for (const [h, w] of [[255, 257], [256, 256]] as const) {
    const shape = [2, 3, h, w];
    const boxes = Float32Array.from([0, -2, -2, w + 2, h + 2, 1, 10, 20, 200, 240, 0, 100, 3, 250, 60]);
    const rp = { outputSize: [3, 4] };
    out.push({ label: `roiPool ${JSON.stringify(rp)} 3 boxes [${shape}]`, call: (ts) => vjp("roiPool")(ts[0], ts[1], rp), inputs: [{ data: values(g, 6 * h * w), shape }, { data: boxes, shape: [3, 5] }], units: 3 });
  }
  return out;
}

/** Worker parts run so far by the active backend's pool. */

if (DETACH) {
  describe("threads on the detaching (unshared) memory", () => {
    it("setThreads(2) keeps one thread, without an error, and results are unchanged", async () => {
      // the backend test/backends/setup.ts installed (setBackend would replace it with the shared one)
      const b = activeWasm();
      expect(b).not.toBeNull();
      expect(b!.heap.detachOnAllocate).toBe(true);
      expect(b!.pool).toBeNull();
      expect(b!.heap.memory.buffer).not.toBeInstanceOf(SharedArrayBuffer);
      const x = pk.randn([2, 3, 20, 20], { seed: 11 });
      const run = (): Float32Array => pk.maxPool2d(x, { kernelSize: 3, stride: 2 }).data.slice() as Float32Array;
      const ref = run();
      await setThreads(2);
      expect(getThreads()).toBe(1);
      expect(activeWasm()).toBe(b);
      expect(Buffer.from(run().buffer).equals(Buffer.from(ref.buffer))).toBe(true);
      await setThreads(1);
    });
  });
} else {
  describe("setThreads / getThreads", () => {
    it("rejects what is not an integer from 1 to 64, naming setThreads", () => {
      setBackend("wasm-simd");
      for (const bad of [1.5, NaN, "2", null]) expect(() => setThreads(bad as number)).toThrow(PoolkitTypeError);
      for (const bad of [0, -1, 65]) expect(() => setThreads(bad)).toThrow(PoolkitRangeError);
      expect(() => setThreads(0)).toThrow(/^setThreads: expected 1 to 64 threads, got 0/);
      expect(() => setThreads(2.5)).toThrow(/^setThreads: expected an integer thread count, got 2\.5/);
    });

    it("defaults to 2 in Node on 2 or more cores; counts workers once they are ready; 1 stops them", async () => {
      setBackend("wasm-simd");
      // the default asked for, before any setThreads call in this file (its workers start in the background)
      expect(wantedThreads()).toBe(availableParallelism() >= 2 ? 2 : 1);
      await setThreads(1);
      expect(getThreads()).toBe(1);
      const ready = setThreads(2);
      // the workers are still starting: calls run on one thread, and nothing waits for them
      expect(getThreads()).toBe(1);
      const c = cases(9)[1] as Case;
      const during = runOn("wasm-simd", "wasm-simd", c.call, c.inputs, dyOf);
      await ready;
      expect(getThreads()).toBe(2);
      expectBits(`${c.label} while the workers started`, runOn("wasm-simd", "wasm-simd", c.call, c.inputs, dyOf), during);
      await setThreads(3);
      expect(getThreads()).toBe(3);
      await setThreads(1);
      expect(getThreads()).toBe(1);
      await setThreads(2);
      expect(getThreads()).toBe(2);
      await setThreads(1);
    });

    it('reports 1 under the "js" backend, and the count asked for applies when a wasm backend is chosen again', async () => {
      setBackend("wasm-simd");
      await setThreads(2);
      setBackend("js");
      expect(getThreads()).toBe(1);
      await setThreads(2); // accepted, still one thread
      expect(getThreads()).toBe(1);
      setBackend("wasm");
      await setThreads(2);
      expect(getThreads()).toBe(2);
      setBackend("wasm-simd");
      expect(getThreads()).toBe(2); // its workers kept running
      await setThreads(1);
      expect(getThreads()).toBe(1);
    });

    it("a trap inside a worker is thrown by the caller (not a hang), and the pool keeps working", async () => {
      setBackend("wasm-simd");
      await setThreads(2);
      const b = activeWasm()!;
      const heap = b.heap;
      const dy = heap.allocate("float32", 8, true)!;
      const idx = heap.allocate("int32", 8, true)!;
      const dx = heap.allocate("float32", 8, true)!;
      setMinPartBytes(0);
      setClaimMode("workers");
      try {
        // Two planes; the second part's dx pointer is moved 3 GiB past the first (beyond the memory):
        // only the worker's part can trap.
        const call = (): void => splitCall(b, "maxBackward", [dy.ptr, idx.ptr, dx.ptr, 2, 4, 4], { count: 3, step: [[0, 16], [1, 16], [2, 3 * 2 ** 30]], bytes: 48 });
        expect(call).toThrow(/^poolkit worker thread \d+: RuntimeError: memory access out of bounds/);
        // when the calling thread claims that part itself, the trap is its own
        setClaimMode("caller");
        expect(call).toThrow(/^memory access out of bounds/);
        setClaimMode("workers");
        // the same call with honest offsets works, on both threads
        const before = workerParts();
        splitCall(b, "maxBackward", [dy.ptr, idx.ptr, dx.ptr, 2, 4, 4], { count: 3, step: [[0, 16], [1, 16], [2, 16]], bytes: 48 });
        expect(workerParts()).toBe(before + 1);
        const c = cases(9)[0] as Case;
        await setThreads(1);
        const ref = runOn("wasm-simd", "wasm-simd", c.call, c.inputs, dyOf);
        await setThreads(2);
        expectBits(`${c.label} after a worker's error`, runOn("wasm-simd", "wasm-simd", c.call, c.inputs, dyOf), ref);
      } finally {
        setMinPartBytes(undefined);
        setClaimMode("both");
        for (const s of [dy, idx, dx]) s.free();
        await setThreads(1);
      }
    });

    it("idle workers do not keep Node running: scripts that pool on 2 threads (asked for, or the default) exit by themselves", () => {
      const dir = mkdtempSync(join(tmpdir(), "poolkit-threads-"));
      try {
        const script = join(dir, "run.mts");
        const src = join(__dirname, "..", "..", "src", "index.ts");
        writeFileSync(
          script,
          `import * as pk from ${JSON.stringify(src)};
await pk.setThreads(2);
const y = pk.maxPool2d(pk.randn([4, 8, 64, 64], { seed: 1 }), { kernelSize: 2 });
console.log(pk.getThreads(), y.shape.join("x"));
`,
        );
        const r = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: join(__dirname, "..", ".."), encoding: "utf8", timeout: 30_000 });
        expect(r.error, "the script did not exit within 30 s").toBeUndefined();
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(r.stdout.trim()).toBe("2 4x8x32x32");
        // the default (workers started in the background by the first tensor, never awaited) too
        const script2 = join(dir, "default.mts");
        writeFileSync(script2, `import * as pk from ${JSON.stringify(src)};\nconsole.log(pk.maxPool2d(pk.randn([4, 8, 64, 64], { seed: 1 }), { kernelSize: 2 }).shape.join("x"));\n`);
        const r2 = spawnSync(process.execPath, ["--import", "tsx", script2], { cwd: join(__dirname, "..", ".."), encoding: "utf8", timeout: 30_000 });
        expect(r2.error, "the script did not exit within 30 s").toBeUndefined();
        expect(r2.stderr).toBe("");
        expect([r2.status, r2.stdout.trim()]).toEqual([0, "4x8x32x32"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("2 and 3 threads give bit-identical results to 1 thread (every split forced)", () => {
    for (const b of WASM) {
      it(`${b}: max, avg, LP, SoftPool, LIP, adaptive, 3-d max, unpool, RoIAlign, RoIPool, fractional, stochastic, mixed`, async () => {
        setBackend(b);
        await setThreads(1);
        setMinPartBytes(0);
        try {
          const all = cases(b === "wasm" ? 21 : 17);
          const refs: Run[] = all.map((c) => runOn(b, b, c.call, c.inputs, dyOf));
          let split = 0;
          for (const n of [2, 3]) {
            setBackend(b);
            await setThreads(n);
            expect(getThreads()).toBe(n);
            for (const mode of ["workers", "caller", "both"] as ClaimMode[]) {
              setClaimMode(mode);
              all.forEach((c, i) => {
                const before = workerParts();
                const calls = activeWasm()!.pool!.stats.splitCalls;
                expectBits(`${c.label} on ${n} threads (${b}, parts run by ${mode})`, runOn(b, b, c.call, c.inputs, dyOf), refs[i] as Run);
                if (c.units < 2) return;
                expect(activeWasm()!.pool!.stats.splitCalls, `${c.label}: split`).toBeGreaterThan(calls);
                if (mode === "workers") {
                  expect(workerParts(), `${c.label}: a worker ran a part`).toBeGreaterThan(before);
                  split++;
                } else if (mode === "caller") {
                  expect(workerParts(), `${c.label}: the caller ran every part`).toBe(before);
                }
              });
            }
          }
          expect(split).toBeGreaterThan(40);
          expect(all.some((c) => c.units === 1)).toBe(true);
        } finally {
          setMinPartBytes(undefined);
          setClaimMode("both");
          await setThreads(1);
        }
      });
    }
  });

  describe("memory and storage with threads", () => {
    it("memory() and the heap's size stay flat over 200 tidy()'d forward+backward iterations on 2 threads", async () => {
      setBackend("wasm-simd");
      await setThreads(2);
      setMinPartBytes(0);
      setClaimMode("workers");
      try {
        const x = pk.randn([2, 3, 24, 24], { seed: 3 });
        const step = (): void => {
          tidy(() => {
            const m = pk.maxPool2dWithIndices.vjp(x, { kernelSize: 3, stride: 2, padding: 1 });
            m.backward(pk.randn(m.output.output.shape, { seed: 4 }));
            const s = pk.softPool2d.vjp(x, { kernelSize: 2 });
            s.backward(pk.randn(s.output.shape, { seed: 5 }));
            pk.adaptiveAvgPool2d(x, { outputSize: 2 });
          });
        };
        for (let i = 0; i < 5; i++) step();
        const before = { ...memory(), heap: activeWasm()!.heap.capacity };
        const parts = workerParts();
        for (let i = 0; i < 200; i++) step();
        expect({ ...memory(), heap: activeWasm()!.heap.capacity }).toEqual(before);
        expect(workerParts() - parts).toBeGreaterThanOrEqual(200 * 4);
      } finally {
        setMinPartBytes(undefined);
        setClaimMode("both");
        await setThreads(1);
      }
    });

    it("a heap on shared memory re-creates views after growth (old views stay valid: shared buffers do not detach)", () => {
      const W = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: ArrayBuffer; grow(n: number): number } } }).WebAssembly;
      const heap = new LinearHeap({ memory: new W.Memory({ initial: 1, maximum: 65536, shared: true }) });
      const a = heap.allocate("float32", 4, true)!;
      a.view.set([1, 2, 3, 4]);
      const old = a.view;
      expect(old.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(a.view).toBe(old); // no growth: the same view object
      heap.allocate("float32", 1 << 20, true); // 4 MiB: grows
      expect(old.length).toBe(4); // not detached
      expect(a.view).not.toBe(old); // re-created on the grown buffer
      expect(a.view.buffer.byteLength).toBe(heap.capacity);
      expect([...a.view]).toEqual([1, 2, 3, 4]);
      old[0] = 9; // the old view still aliases the same memory
      expect(a.view[0]).toBe(9);
    });

    it("the wasm backends' memory is shared in Node, so workers can run on it", () => {
      for (const b of WASM as BackendName[]) {
        setBackend(b);
        expect(activeWasm()!.heap.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
        expect(activeWasm()!.pool).not.toBeNull();
      }
    });
  });
}
