/**
 * The WebAssembly backends in a real browser: Debian's chromium, headless, driven by puppeteer-core
 * (which downloads nothing), the page served by poolkit's own `poolkit serve` (which sends the
 * COOP/COEP headers cross-origin isolation needs). The page (test/browser/wasm-page/, bundled here
 * with esbuild from poolkit's source) runs seeded random cases of maxPool2dWithIndices and avgPool2d,
 * forward and backward, under "wasm-simd", "wasm" and "js", and a 200-iteration tidy() loop; it
 * returns what it saw and this file judges it:
 *
 * - max pooling: outputs, indices and gradients bit-identical across the three backends, compared as
 *   Uint32 bit patterns (NaN payloads and −0 included). The gradients can be held to bits because dy
 *   is made of small integers, so every partial sum of the scatter is exact in float32 in any order.
 * - average pooling: forward and backward within float32 accumulation error of the "js" result:
 *   |a − b| ≤ 2·γₘ·S with γₘ = m·u/(1 − m·u), u = 2⁻²⁴, m = kh·kw + 1 (at most kh·kw terms, each
 *   backend may round every partial sum and the division once), and S the same pooling of |x|
 *   (Σ|xᵢ|/divisor, forward) or the same backward of |dy| (Σ|dyⱼ|/divisorⱼ, backward), in float64 —
 *   the standard recursive-summation bound (Higham, Accuracy and Stability of Numerical Algorithms,
 *   2nd ed., §4.2), doubled because both results may err in opposite directions.
 * - memory(): flat (bytes and tensor count, and the WebAssembly memory's size) over 200 tidy()'d
 *   forward+backward iterations.
 * - threads: on this cross-origin-isolated page the memory is shared, getThreads() is 1 before and 2
 *   after `await setThreads(2)` (1 again after setThreads(1)), a Web Worker ran parts of the calls,
 *   and max (values, indices, gradients), average (forward, gradients) and SoftPool are bit-identical
 *   on 2 threads and on 1.
 *
 * Needs /usr/bin/chromium (or POOLKIT_CHROMIUM): `.ci/run` installs it with apt; elsewhere
 * `apt-get install -y chromium`. Without it this file fails (it never skips).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import type { Browser, Page } from "puppeteer-core";
import { launchChromium, requireBrowserAndBuild, startServe, watchProblems } from "./harness.js";

const scratch = mkdtempSync(join(tmpdir(), "poolkit-wasm-browser-"));

interface BackendRun {
  backend: string;
  inWasm: boolean;
  inputUnchanged?: boolean;
  error?: string;
  output?: string;
  indices?: string;
  dx?: string;
  scaleOut?: string;
  scaleDx?: string;
}
interface Case {
  shape: number[];
  opts: { kernelSize: [number, number]; stride: [number, number]; padding: [number, number]; dilation?: [number, number]; ceilMode: boolean; countIncludePad?: boolean; divisorOverride?: number };
  input?: string;
  runs: BackendRun[];
}
interface MemReading {
  bytes: number;
  tensors: number;
  heapBytes?: number;
}
interface ThreadsResult {
  before: number;
  after: number;
  afterOne: number;
  shared: boolean;
  workerParts: number;
  shapes: number[][];
  one: string[][];
  two: string[][];
}
interface PageResult {
  error?: string;
  threads?: ThreadsResult;
  threadsError?: string;
  defaultBackend: string;
  env: { crossOriginIsolated: boolean; sharedArrayBuffer: string };
  max: Case[];
  avg: Case[];
  memory: { before: MemReading; samples: (MemReading & { i: number })[]; leaked: MemReading; afterDispose: MemReading };
}

let server: ChildProcess | undefined;
let browser: Browser | undefined;
let page: Page;
let headers: Record<string, string> = {};
let result: PageResult;
const problems: string[] = [];

function bytesOf(b64: string | undefined): Buffer {
  if (b64 === undefined) throw new Error("missing result array");
  return Buffer.from(b64, "base64");
}
const u32 = (b64: string | undefined): Uint32Array => {
  const b = bytesOf(b64);
  return new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const f32 = (b64: string | undefined): Float32Array => {
  const b = bytesOf(b64);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const f64 = (b64: string | undefined): Float64Array => {
  const b = bytesOf(b64);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const hex = (v: number | undefined): string => `0x${(v ?? 0).toString(16).padStart(8, "0")}`;

/** The first element whose bits differ, described, or null. */
function bitDifference(a: Uint32Array, b: Uint32Array): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `element ${i}: ${hex(a[i])} vs ${hex(b[i])}`;
  return null;
}

/**
 * Windows of a max case whose largest value (not NaN, not −∞) is held by two or more of its taps,
 * worked out on the input here with PyTorch's geometry (window r starts at r·s − p, taps every d).
 * Only the windows floor mode has are counted; ceil mode has those too.
 */
function tiedWindows(c: Case): number {
  const [n, ch, h, w] = c.shape as [number, number, number, number];
  const { kernelSize: k, stride: s, padding: p, dilation: d = [1, 1] } = c.opts;
  const x = f32(c.input);
  const oh = Math.floor((h + 2 * p[0] - d[0] * (k[0] - 1) - 1) / s[0]) + 1;
  const ow = Math.floor((w + 2 * p[1] - d[1] * (k[1] - 1) - 1) / s[1]) + 1;
  let ties = 0;
  for (let plane = 0; plane < n * ch; plane++) {
    for (let r = 0; r < oh; r++) {
      for (let q = 0; q < ow; q++) {
        let best = -Infinity;
        let count = 0;
        let nan = false;
        for (let i = 0; i < k[0]; i++) {
          const y = r * s[0] - p[0] + i * d[0];
          for (let j = 0; j < k[1]; j++) {
            const xx = q * s[1] - p[1] + j * d[1];
            if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
            const v = x[plane * h * w + y * w + xx] as number;
            if (Number.isNaN(v)) nan = true;
            else if (v > best) [best, count] = [v, 1];
            else if (v === best) count++;
          }
        }
        if (!nan && count >= 2 && best !== -Infinity) ties++;
      }
    }
  }
  return ties;
}

const U = 2 ** -24;
const gamma = (m: number): number => (m * U) / (1 - m * U);

beforeAll(async () => {
  requireBrowserAndBuild();
  const site = join(scratch, "site");
  mkdirSync(site, { recursive: true });
  await build({
    entryPoints: [join(__dirname, "wasm-page", "main.ts")],
    outfile: join(site, "main.js"),
    bundle: true,
    format: "esm",
    platform: "browser", // a node: import reachable from the core would fail the build here
    target: "es2022",
    logLevel: "error",
  });
  copyFileSync(join(__dirname, "wasm-page", "index.html"), join(site, "index.html"));
  let base: string;
  ({ server, base } = await startServe(site));
  browser = await launchChromium(join(scratch, "profile"));
  page = await browser.newPage();
  watchProblems(page, problems);
  const response = await page.goto(`${base}index.html`, { waitUntil: "load" });
  headers = response?.headers() ?? {};
  await page.waitForFunction("globalThis.__wasmResult !== undefined", { timeout: 40_000 });
  result = (await page.evaluate("globalThis.__wasmResult")) as PageResult;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.kill();
  rmSync(scratch, { recursive: true, force: true });
});

describe("WebAssembly backends in chromium, served by poolkit serve", () => {
  it("the page is cross-origin isolated, has SharedArrayBuffer, and ran without an error", () => {
    expect(problems).toEqual([]);
    expect(result.error, "the page threw").toBeUndefined();
    expect(headers["cross-origin-opener-policy"]).toBe("same-origin");
    expect(headers["cross-origin-embedder-policy"]).toBe("require-corp");
    expect(result.env.crossOriginIsolated, "crossOriginIsolated (a threaded backend needs it)").toBe(true);
    expect(result.env.sharedArrayBuffer, "typeof SharedArrayBuffer").toBe("function");
  });

  it('defaults to "wasm-simd" in Chromium', () => {
    expect(result.defaultBackend).toBe("wasm-simd");
  });

  it("maxPool2dWithIndices: outputs, indices and gradients bit-identical on wasm-simd, wasm and js", () => {
    expect(result.max.length).toBe(40);
    let nanOut = 0;
    let negInfOut = 0;
    for (const [i, c] of result.max.entries()) {
      const where = `max case ${i} ${JSON.stringify(c.shape)} ${JSON.stringify(c.opts)}`;
      for (const r of c.runs) {
        expect(r.error, `${where} on ${r.backend}`).toBeUndefined();
        expect(r.inWasm, `${where}: tensors in WebAssembly memory on ${r.backend}`).toBe(r.backend !== "js");
        expect(r.inputUnchanged, `${where}: input bits unchanged on ${r.backend}`).toBe(true);
      }
      const ref = c.runs.find((r) => r.backend === "js") as BackendRun;
      for (const r of c.runs) {
        if (r === ref) continue;
        for (const key of ["output", "indices", "dx"] as const) {
          expect(bitDifference(u32(r[key]), u32(ref[key])), `${where}: ${key} on ${r.backend} vs js`).toBeNull();
        }
      }
      const out = f32(ref.output);
      nanOut += out.filter(Number.isNaN).length;
      negInfOut += out.filter((v) => v === -Infinity).length;
      // one gradient element per input element
      expect(u32(ref.dx).length, where).toBe(u32(c.input).length);
    }
    // The random cases really exercise what they are meant to.
    const opts = result.max.map((c) => c.opts);
    expect(nanOut, "outputs that are NaN").toBeGreaterThan(0);
    expect(negInfOut, "windows that are all −∞").toBeGreaterThan(0);
    expect(opts.some((o) => o.ceilMode) && opts.some((o) => !o.ceilMode)).toBe(true);
    expect(opts.some((o) => o.padding[0] > 0 || o.padding[1] > 0)).toBe(true);
    expect(opts.some((o) => (o.dilation?.[0] ?? 1) > 1 || (o.dilation?.[1] ?? 1) > 1)).toBe(true);
    expect(result.max.some((c) => c.shape.every((s) => s === 1))).toBe(true);
    // Ties: windows whose maximum (not NaN) occurs at two or more positions, counted on the input
    // with the windows worked out here (PyTorch's geometry: start oh·s − p, step d, k taps).
    expect(result.max.reduce((n, c) => n + tiedWindows(c), 0), "windows with a tied maximum").toBeGreaterThan(0);
  });

  it("avgPool2d: forward and backward within float32 accumulation error of js on wasm-simd and wasm", () => {
    expect(result.avg.length).toBe(40);
    for (const [i, c] of result.avg.entries()) {
      const where = `avg case ${i} ${JSON.stringify(c.shape)} ${JSON.stringify(c.opts)}`;
      for (const r of c.runs) {
        expect(r.error, `${where} on ${r.backend}`).toBeUndefined();
        expect(r.inWasm, `${where}: tensors in WebAssembly memory on ${r.backend}`).toBe(r.backend !== "js");
      }
      const ref = c.runs.find((r) => r.backend === "js") as BackendRun;
      const m = c.opts.kernelSize[0] * c.opts.kernelSize[1] + 1;
      for (const [key, scaleKey] of [["output", "scaleOut"], ["dx", "scaleDx"]] as const) {
        const want = f32(ref[key]);
        const scale = f64(ref[scaleKey]);
        expect(scale.length, where).toBe(want.length);
        for (const r of c.runs) {
          if (r === ref) continue;
          const got = f32(r[key]);
          expect(got.length, `${where}: ${key} length on ${r.backend}`).toBe(want.length);
          for (let j = 0; j < want.length; j++) {
            const bound = 2 * gamma(m) * (scale[j] as number);
            const diff = Math.abs((got[j] as number) - (want[j] as number));
            if (!(diff <= bound)) {
              expect.fail(`${where}: ${key}[${j}] on ${r.backend} = ${got[j]}, js = ${want[j]}, |difference| ${diff} > bound ${bound}`);
            }
          }
        }
      }
    }
    const opts = result.avg.map((c) => c.opts);
    expect(opts.some((o) => o.countIncludePad === true) && opts.some((o) => o.countIncludePad === false)).toBe(true);
    expect(opts.some((o) => o.divisorOverride !== undefined)).toBe(true);
    expect(opts.some((o) => o.ceilMode) && opts.some((o) => !o.ceilMode)).toBe(true);
    expect(opts.some((o) => o.padding[0] > 0 || o.padding[1] > 0)).toBe(true);
  });

  it("threads: getThreads() is 2 after await setThreads(2), a Web Worker runs parts, results bit-identical to 1 thread", () => {
    expect(result.threadsError, "the threaded run threw").toBeUndefined();
    const t = result.threads as ThreadsResult;
    expect(t.shared, "the WebAssembly memory is a SharedArrayBuffer").toBe(true);
    expect([t.before, t.after, t.afterOne]).toEqual([1, 2, 1]);
    // every shape but the 1-plane one splits each of its five kernel calls (max, avg: forward and backward; SoftPool forward)
    expect(t.workerParts).toBeGreaterThanOrEqual(5 * (t.shapes.length - 1));
    expect(t.two.length).toBe(t.shapes.length);
    t.shapes.forEach((s, i) => {
      const names = ["max output", "max indices", "max dx", "avg output", "avg dx", "softPool output"];
      names.forEach((name, j) => {
        expect(u32(t.one[i]?.[j]).length, `${name} [${s}]`).toBeGreaterThan(0);
        expect(bitDifference(u32(t.two[i]?.[j]), u32(t.one[i]?.[j])), `${name} [${s}] on 2 threads vs 1`).toBeNull();
      });
    });
  });

  it("memory() stays flat over 200 tidy()'d forward+backward iterations on wasm-simd", () => {
    const { before, samples, leaked, afterDispose } = result.memory;
    expect(samples.map((s) => s.i)).toEqual([49, 99, 149, 199]);
    for (const s of samples) {
      expect({ bytes: s.bytes, tensors: s.tensors, heapBytes: s.heapBytes }, `after iteration ${s.i}`).toEqual(before);
    }
    expect(before.heapBytes).toBeGreaterThan(0);
    // The same forward without tidy is counted: memory() does see tensors this loop would leak.
    expect(leaked.tensors).toBe(before.tensors + 2);
    expect(leaked.bytes).toBeGreaterThan(before.bytes);
    expect({ bytes: afterDispose.bytes, tensors: afterDispose.tensors }).toEqual({ bytes: before.bytes, tensors: before.tensors });
  });
});
