/**
 * Max unpooling on the WebAssembly backends (assembly/scatter.ts unpoolForward / unpoolBackward, SIMD
 * and scalar builds; 1 thread and 2 threads with every split forced, parts run by the worker) against
 * the TypeScript reference through the ops (`js` backend), bit for bit: random 1-d, 2-d and 3-d
 * geometries (sizes 1–113, kernel 1–4, stride 1–4, padding, explicit output sizes anywhere in
 * (default − stride, default + stride)), x with NaN, ±∞, −0 and ties, and indices of four kinds —
 * inside their pooling window (as a max pool gives), those with some copied from an earlier position
 * (duplicates: the later write wins), uniform over the plane (many duplicates, in no order), and any of
 * those with indices outside the plane (≥ the plane, negative, ±2³¹) at random positions. An
 * out-of-range index must give the reference's error, naming the first bad flat position (computed
 * here independently), on every backend and thread count. Inputs in WebAssembly memory and in the JS
 * heap. The kernel itself, on garbage output in WebAssembly memory between guard zones, zeroing
 * ahead of its writes by a few elements (so the zeroed part ends under the indices again and again)
 * or by the default: the same returned position as the reference, and nothing written outside its
 * output.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, getThreads, setBackend, setThreads, type BackendName } from "../../src/backends/index.js";
import { setUnpoolAhead } from "../../src/backends/wasm/scatter.js";
import { setClaimMode, setMinPartBytes } from "../../src/backends/wasm/threads.js";
import { kernel } from "../../src/kernels/registry.js";
import { unpoolBackward, unpoolForward } from "../../src/kernels/scatter.js";
import * as pk from "../../src/index.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, zeros } from "../../src/tensor/tensor.js";
import { DETACH, expectBits, firstBitDifference, int, runOn, values, WASM, workerParts, type Input, type Run } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(async () => {
  setMinPartBytes(undefined);
  setClaimMode("both");
  await setThreads(1);
  setBackend(initial);
});

const UNPOOL = { 1: pk.maxUnpool1d, 2: pk.maxUnpool2d, 3: pk.maxUnpool3d } as const;
const BAD = [2 ** 31 - 1, -(2 ** 31), -1];

interface Case {
  label: string;
  rank: 1 | 2 | 3;
  opts: { kernelSize: number[]; stride: number[]; padding: number[]; outputSize?: number[] };
  inputs: Input[];
  outSpatial: number[];
  /** The expected error (first index outside the plane), or null. */
  error: string | null;
}

/** A random case; `kind` 0: indices in their windows, 1: some copied from earlier, 2: uniform, 3: any of those with bad ones. */
function randomCase(g: Generator, t: number): Case {
  const rank = (t % 3) + 1 as 1 | 2 | 3;
  const big = rank === 1 ? 113 : rank === 2 ? 40 : 9;
  const spatial = Array.from({ length: rank }, () => (g.uniform() < 0.2 ? int(g, 1, 3) : int(g, 1, big)));
  const tiled = g.uniform() < 0.5;
  const k = spatial.map(() => (tiled && g.uniform() < 0.6 ? 2 : int(g, 1, 4)));
  const stride = tiled ? k : k.map(() => int(g, 1, 4));
  const padding = k.map((kk) => (g.uniform() < 0.6 ? 0 : int(g, 0, kk >> 1)));
  const dflt = spatial.map((s, i) => (s - 1) * (stride[i] as number) + (k[i] as number) - 2 * (padding[i] as number));
  // an explicit size anywhere in (default − stride, default + stride), at least 1, half the time
  const explicit = g.uniform() < 0.5;
  const out = dflt.map((d, i) => (explicit ? Math.max(1, int(g, d - (stride[i] as number) + 1, d + (stride[i] as number) - 1)) : d));
  if (out.some((v) => v < 1)) return randomCase(g, t + 3); // a geometry without output: another draw
  const opts = { kernelSize: k, stride, padding, ...(explicit ? { outputSize: out } : {}) };
  const shape = [int(g, 1, 2), int(g, 1, 3), ...spatial];
  const planes = (shape[0] as number) * (shape[1] as number);
  const inPlane = spatial.reduce((a, b) => a * b, 1);
  const outPlane = out.reduce((a, b) => a * b, 1);
  const kind = t % 4 === 3 ? int(g, 0, 2) : t % 4;
  const idx = new Int32Array(planes * inPlane);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < inPlane; i++) {
      const f = p * inPlane + i;
      if (kind === 2) {
        idx[f] = int(g, 0, outPlane - 1);
        continue;
      }
      // a position in the window of pooled element i (clipped to the output), or anywhere when the window misses it
      let rest = i;
      let lin = 0;
      for (let d = rank - 1, mul = 1; d >= 0; d--) {
        const o = rest % (spatial[d] as number);
        rest = Math.floor(rest / (spatial[d] as number));
        const lo = Math.max(0, o * (stride[d] as number) - (padding[d] as number));
        const hi = Math.min(out[d] as number, o * (stride[d] as number) - (padding[d] as number) + (k[d] as number));
        lin += (lo < hi ? int(g, lo, hi - 1) : int(g, 0, (out[d] as number) - 1)) * mul;
        mul *= out[d] as number;
      }
      idx[f] = kind === 1 && i > 0 && g.uniform() < 0.2 ? (idx[f - int(g, 1, i)] as number) : lin;
    }
  }
  let error: string | null = null;
  if (t % 4 === 3) {
    const nBad = int(g, 1, 3);
    for (let j = 0; j < nBad; j++) {
      const u = g.uniform();
      idx[int(g, 0, idx.length - 1)] = u < 0.4 ? outPlane + int(g, 0, 3) : u < 0.7 ? -int(g, 1, 3) : (BAD[int(g, 0, 2)] as number);
    }
    const first = idx.findIndex((v) => v < 0 || v >= outPlane);
    error = `maxUnpool${rank}d: indices must lie in [0, ${outPlane}) for an output plane of size [${out.join(", ")}], got index ${idx[first]} at flat position ${first}`;
  }
  const x = values(g, planes * inPlane);
  return {
    label: `maxUnpool${rank}d [${shape}] ${JSON.stringify(opts)} kind ${kind}${error === null ? "" : " (bad)"}`,
    rank,
    opts,
    inputs: [{ data: x, shape }, { data: idx, shape }],
    outSpatial: out,
    error,
  };
}

const dyOf = (m: number): Float32Array => {
  const g = new Generator(m);
  return values(g, m);
};

/** The op on backend `b` (inputs made on `inputsOn`): outputs and gradient, or the error message. */
function run(c: Case, b: BackendName, inputsOn: BackendName): Run | string {
  try {
    return runOn(b, inputsOn, (ts) => UNPOOL[c.rank].vjp(ts[0]!, ts[1]!, c.opts), c.inputs, dyOf);
  } catch (e) {
    return (e as Error).message;
  }
}

const CASES = (() => {
  const g = new Generator(71);
  return Array.from({ length: 72 }, (_, t) => randomCase(g, t));
})();

describe("maxUnpool1d/2d/3d: wasm equals the TypeScript reference bit for bit (threads 1 and 2), the same error for bad indices", () => {
  it("the cases cover every rank, kind, bad indices, explicit sizes and planes above 16 elements", () => {
    expect(new Set(CASES.map((c) => c.rank)).size).toBe(3);
    expect(CASES.filter((c) => c.error !== null).length).toBeGreaterThan(10);
    expect(CASES.filter((c) => c.opts.outputSize !== undefined).length).toBeGreaterThan(10);
    expect(CASES.filter((c) => (c.inputs[0]!.data.length / ((c.inputs[0]!.shape[0] as number) * (c.inputs[0]!.shape[1] as number))) > 64).length).toBeGreaterThan(20);
  });

  const refs = CASES.map((c) => run(c, "js", "js"));
  it("the reference: its error names the first index outside the plane; no error otherwise", () => {
    CASES.forEach((c, i) => {
      const r = refs[i] as Run | string;
      if (c.error !== null) expect(r, c.label).toBe(c.error);
      else expect(typeof r, `${c.label}: ${String(r)}`).toBe("object");
    });
  });

  for (const b of WASM) {
    for (const threads of [1, 2]) {
      it(`${b}, ${threads} thread${threads > 1 ? "s (every split forced, parts run by the worker)" : ""}`, async () => {
        setBackend(b);
        await setThreads(threads);
        if (threads > 1) {
          setMinPartBytes(0);
          setClaimMode("workers");
        }
        if (threads > 1 && !DETACH) expect(getThreads()).toBe(2);
        const before = workerParts();
        try {
          CASES.forEach((c, i) => {
            for (const inputsOn of [b, "js"] as BackendName[]) {
              const label = `${c.label} on ${b}, ${threads} threads, inputs on ${inputsOn}`;
              const got = run(c, b, inputsOn);
              const ref = refs[i] as Run | string;
              if (typeof ref === "string") expect(got, label).toBe(ref);
              else {
                expect(typeof got, `${label}: ${String(got)}`).toBe("object");
                expectBits(label, got as Run, ref);
              }
            }
          });
          if (threads > 1 && !DETACH) expect(workerParts(), "a worker ran parts").toBeGreaterThan(before + 50);
        } finally {
          setMinPartBytes(undefined);
          setClaimMode("both");
          await setThreads(1);
        }
      });
    }
  }

  it.each(WASM)("%s: a rejected call leaves its inputs as they were", (b) => {
    setBackend(b);
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    const i = tensor([0, 5, 17, 3], [1, 1, 2, 2], "int32");
    expect(() => pk.maxUnpool2d(x, i, { kernelSize: 2 })).toThrow("maxUnpool2d: indices must lie in [0, 16) for an output plane of size [4, 4], got index 17 at flat position 2");
    expect([...x.data, ...i.data]).toEqual([1, 2, 3, 4, 0, 5, 17, 3]);
    expect(() => pk.maxUnpool1d(zeros([2, 3, 40]), tensor(Int32Array.from({ length: 240 }, (_, k) => (k === 239 ? 80 : k % 80)), [2, 3, 40], "int32"), { kernelSize: 2 })).toThrow(
      "maxUnpool1d: indices must lie in [0, 80) for an output plane of size [80], got index 80 at flat position 239",
    );
  });
});

describe("maxUnpool.forward kernel: garbage output between guard zones in WebAssembly memory", () => {
  afterAll(() => setUnpoolAhead(undefined));
  it.each(WASM)("%s: the reference's returned position and output, nothing written outside; zeroing ahead by 1, 3, 16 elements or the default", (b) => {
    const g = new Generator(73);
    const GUARD = 64;
    for (let t = 0; t < 120; t++) {
      const ahead = [undefined, 1, 3, 16][(t >> 1) % 4];
      setUnpoolAhead(ahead);
      const planes = int(g, 1, 4);
      const inPlane = int(g, 0, 200);
      const outPlane = int(g, 1, t % 3 === 0 ? 3000 : 4 * inPlane + 5);
      const x = values(g, planes * inPlane);
      const idx = Int32Array.from({ length: planes * inPlane }, (_, f) => (t % 2 === 0 ? Math.min(4 * (f % Math.max(inPlane, 1)) + int(g, 0, 3), outPlane - 1) : int(g, 0, outPlane - 1)));
      if (t % 5 === 1 && idx.length > 0) idx[int(g, 0, idx.length - 1)] = [outPlane, -1, 2 ** 31 - 1, -(2 ** 31)][int(g, 0, 3)] as number;
      const ref = new Float32Array(planes * outPlane).fill(12345.5);
      const refBad = unpoolForward(x, idx, ref, planes, inPlane, outPlane);
      expect(refBad, "the reference's position").toBe(idx.findIndex((v) => v < 0 || v >= outPlane));
      setBackend(b);
      const block = pk.full([planes * outPlane + 2 * GUARD], 12345.5);
      const y = (block.data as Float32Array).subarray(GUARD, GUARD + planes * outPlane);
      const bad = kernel("maxUnpool.forward", "float32", unpoolForward)(x, idx, y, planes, inPlane, outPlane);
      const label = `${b} planes ${planes} in ${inPlane} out ${outPlane} ahead ${ahead}`;
      expect(bad, label).toBe(refBad);
      if (bad < 0) expect(firstBitDifference(y, ref), label).toBeNull();
      const data = block.data as Float32Array;
      expect([...data.subarray(0, GUARD), ...data.subarray(GUARD + planes * outPlane)].every((v) => v === 12345.5), `${label}: guards`).toBe(true);
      block.dispose();
    }
  });
});

describe("maxUnpool.backward kernel: an index outside the plane reads nothing (the op's forward never lets one through)", () => {
  it.each(WASM)("%s: dx = dy[plane][idx], 0 where idx is outside [0, outPlane)", (b) => {
    const g = new Generator(79);
    for (let t = 0; t < 20; t++) {
      const planes = int(g, 1, 3);
      const inPlane = int(g, 1, 70);
      const outPlane = int(g, 1, 90);
      const dy = values(g, planes * outPlane, false);
      const idx = Int32Array.from({ length: planes * inPlane }, () => (g.uniform() < 0.1 ? ([outPlane, outPlane + 1, -1, 2 ** 31 - 1, -(2 ** 31)][int(g, 0, 4)] as number) : int(g, 0, outPlane - 1)));
      const want = Float32Array.from(idx, (j, f) => (j >= 0 && j < outPlane ? (dy[Math.floor(f / inPlane) * outPlane + j] as number) : 0));
      setBackend(b);
      const got = new Float32Array(planes * inPlane).fill(12345.5);
      kernel("maxUnpool.backward", "float32", unpoolBackward)(dy, idx, got, planes, inPlane, outPlane);
      expect(firstBitDifference(got, want), `${b} planes ${planes} in ${inPlane} out ${outPlane}`).toBeNull();
    }
  });
});
