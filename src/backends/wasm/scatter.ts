/**
 * WebAssembly implementations (float32) of the scatter kernels, ported loop for loop from their
 * TypeScript references and bit-identical to them (test/backends/wasm-scatter.test.ts,
 * wasm-maxbackward*.test.ts): max pooling's backward into a fresh gradient (one pass for tiled
 * windows; else one fill and the scatter for a dx that stays in the cache, a scatter that zeroes each
 * plane just ahead of itself for a larger one, groups of small planes zeroed per fill for global max
 * pooling), max-unpool forward/backward, stochastic pooling's evaluation forward/backward and mixed
 * pooling's mix and backward (one kernel writing dx from dy, the weights, the max indices and the
 * average's windows). AssemblyScript: assembly/scatter.ts. (RoIPool and fractional max
 * pooling's forward: ./region.ts.)
 */
import type { Axes3, Axis } from "../../geometry/plan.js";
import { registerKernel, unregisterKernel } from "../../kernels/registry.js";
import type { FloatArray } from "../../tensor/dtype.js";
import { mixWindowsBackward } from "../../kernels/scatter.js";
import { Args, axesArray, transposedAxis, type ArgUse, type WasmBackend } from "./index.js";
import { splitCall, type Split } from "./threads.js";
import { axisPointers } from "./weighted.js";

interface ScatterExports {
  maxBackwardWrite(...args: number[]): void;
  maxBackwardTiled(...args: number[]): void;
  maxBackwardSmall(...args: number[]): void;
  maxBackwardZeroed(...args: number[]): void;
  unpoolForward(...args: number[]): void;
  unpoolBackward(...args: number[]): void;
  stochasticEvalForward(...args: number[]): void;
  stochasticEvalBackward(...args: number[]): void;
  mixForward(...args: number[]): void;
  mixBackward(...args: number[]): void;
}

type Arr = FloatArray | Int32Array | Float64Array;

/**
 * Call export `name` with the pointers of `arrays` (true = written by the kernel) followed by `rest`,
 * split across threads by `split` (its argument indices count the pointers first) where given.
 */
function run(b: WasmBackend, name: keyof ScatterExports, arrays: [Arr, ArgUse][], rest: number[], split?: Split): void {
  const args = new Args(b);
  for (const [a, w] of arrays) args.add(a, w);
  args.resolve();
  const all = [...args.ptrs, ...rest];
  if (split !== undefined) splitCall(b, name, all, split);
  else (b.exports as unknown as ScatterExports)[name](...all);
  args.finish();
}

/** A separable call: `count` indexes the unit count (planes, boxes, elements); `step` the bytes per unit of each array. */
const split = (count: number, step: [number, number][], bytes: number): Split => ({ count, step, bytes });

/** The B and C axes' pointers (stochastic pooling is 2-d: A is trivial). */
function bcPointers(axes: Axes3, base: number): number[] {
  return axisPointers(axes, base).slice(3);
}

/**
 * The window extents (kB, kC) when the windows tile the plane — 2-d (A trivial), along B and C window o
 * is [k·o, min(k·o + k, size)) — else null. Tiled windows share no element (the one-pass kernel's
 * condition); dilation only thins the taps inside each range.
 */
export function tiledExtents(axes: Axes3): [number, number] | null {
  const [A, B, C] = axes;
  if (A.inSize !== 1 || A.outSize !== 1 || A.start[0] !== 0 || A.end[0] !== 1) return null;
  const kB = tiledExtent(B);
  const kC = tiledExtent(C);
  return kB === null || kC === null ? null : [kB, kC];
}

function tiledExtent(a: Axis): number | null {
  if (a.outSize === 0) return null;
  const k = (a.end[0] as number) - (a.start[0] as number);
  if (k <= 0) return null;
  for (let o = 0; o < a.outSize; o++) {
    const s = a.start[o] as number;
    if (s !== k * o || a.end[o] !== Math.min(s + k, a.inSize) || s >= a.inSize) return null;
  }
  return k;
}

/**
 * The column sums of mixed pooling's backward (assembly/scatter.ts mixBackward) as swizzles: for each
 * block of 4 input columns and each tap j < J (J: the most windows holding one column of the
 * transposed axis `t`), the first output column `base` any of the 4 takes as its j-th tap, and the
 * i8x16.swizzle byte mask picking each column's tap from the 4 floats at base (bytes 0x80: no such
 * tap, 0). Null when a block's taps spread over more than 4 outputs (or J = 0).
 */
export function columnSwizzles(t: Axis): { J: number; bases: Int32Array; masks: Int32Array } | null {
  const W = t.outSize;
  let J = 0;
  for (let c = 0; c < W; c++) J = Math.max(J, (t.end[c] as number) - (t.start[c] as number));
  if (J === 0) return null;
  const nBlk = Math.ceil(W / 4);
  const bases = new Int32Array(nBlk * J);
  const masks = new Int32Array(nBlk * J * 4);
  for (let q = 0; q < nBlk; q++) {
    for (let j = 0; j < J; j++) {
      const k = q * J + j;
      let base = Infinity;
      for (let c = 4 * q; c < Math.min(4 * q + 4, W); c++) {
        if ((t.start[c] as number) + j < (t.end[c] as number)) base = Math.min(base, (t.start[c] as number) + j);
      }
      bases[k] = base === Infinity ? 0 : base;
      for (let l = 0; l < 4; l++) {
        const c = 4 * q + l;
        const tap = c < W && (t.start[c] as number) + j < (t.end[c] as number) ? (t.start[c] as number) + j - (bases[k] as number) : -1;
        if (tap > 3) return null;
        // little-endian bytes 4·tap … 4·tap + 3 of the loaded vector, or 0x80 (zero)
        masks[4 * k + l] = tap < 0 ? 0x80808080 | 0 : (4 * tap) | ((4 * tap + 1) << 8) | ((4 * tap + 2) << 16) | ((4 * tap + 3) << 24);
      }
    }
  }
  return { J, bases, masks };
}

/** Up to this size dx is zeroed in one fill before the scatter (below the last-level cache of the machines measured). */
let zeroedBytes = 8 * 2 ** 20;

/** @internal Tests: the largest dx zeroed in one fill before the scatter (0: always zero just ahead), or the default. */
export function setZeroedBytes(bytes: number | undefined): void {
  zeroedBytes = bytes ?? 8 * 2 ** 20;
}

/** The elements max-unpool's forward zeroes ahead of its writes (undefined: 512, or the whole plane when sparse). */
let unpoolAhead: number | undefined;

/** @internal Tests: max-unpool's forward zeroes `ahead` elements at a time (small values put every chunk edge under the indices), or the default. */
export function setUnpoolAhead(ahead: number | undefined): void {
  unpoolAhead = ahead;
}

const NAMES = [
  "maxWindows.backwardWrite", "maxWindows.scatterWrite", "maxUnpool.forward", "maxUnpool.backward", "stochasticPool.forwardEval",
  "stochasticPool.backwardEval", "mix.forward", "mix.backward",
] as const;

/** Register the remaining kernels of backend `b` for float32. */
export function registerScatter(b: WasmBackend): void {
  const e = b.exports as unknown as ScatterExports;
  /** dx = 0, then the scatter, for planes of windows not known to tile (or differing per plane). */
  const scatterWrite = (dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, inPlane: number, outPlane: number): void => {
    if (planes === 0 || inPlane === 0) return;
    const step = split(3, [[0, 4 * outPlane], [1, 4 * outPlane], [2, 4 * inPlane]], 4 * (inPlane + 2 * outPlane));
    if (inPlane >= 16 * outPlane) {
      // sparse planes (global max: 1 output per 49; adaptive 56 → 7: 1 per 64): zero about 32 KB of
      // planes per fill, then scatter into them while they are in L1/L2 (measured faster than one fill
      // of all dx and the scatter after it, and than zeroing ahead index by index)
      run(b, "maxBackwardSmall", [[dy, false], [idx, false], [dx, true]], [planes, inPlane, outPlane, Math.max(1, Math.floor(8192 / inPlane))], step);
      return;
    }
    // a dx that stays in the cache (fractional's and mixed pooling's 6.4 MB): one fill, then the plain
    // scatter (measured faster there); a larger one: zeroed 1 KB just ahead of a dense scatter, so each
    // part is zeroed and scattered while in L1 (W2's 25.7 MB)
    if (4 * planes * inPlane <= zeroedBytes) {
      run(b, "maxBackwardZeroed", [[dy, false], [idx, false], [dx, true]], [planes, inPlane, outPlane], step);
      return;
    }
    run(b, "maxBackwardWrite", [[dy, false], [idx, false], [dx, true]], [planes, inPlane, outPlane, 256], step);
  };
  registerKernel("maxWindows.scatterWrite", "float32", scatterWrite);
  registerKernel("maxWindows.backwardWrite", "float32", (dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, axes: Axes3): void => {
    const [A, B, C] = axes;
    const inPlane = A.inSize * B.inSize * C.inSize;
    const outPlane = A.outSize * B.outSize * C.outSize;
    if (planes === 0 || inPlane === 0) return;
    // one pass for tiled windows two columns wide (the SIMD loop writes 4 windows per step); else zero
    // and scatter (scatterWrite) — for wide windows (adaptive 56 → 7: 64 elements per index) zeroing
    // and a sparse scatter beat comparing every element
    const tiles = b.simd && outPlane !== 0 ? tiledExtents(axes) : null;
    const step = split(3, [[0, 4 * outPlane], [1, 4 * outPlane], [2, 4 * inPlane]], 4 * (inPlane + 2 * outPlane));
    if (tiles !== null && tiles[1] === 2) run(b, "maxBackwardTiled", [[dy, false], [idx, false], [dx, true]], [planes, B.inSize, C.inSize, B.outSize, C.outSize, tiles[0], tiles[1]], step);
    else scatterWrite(dy, idx, dx, planes, inPlane, outPlane);
  });
  registerKernel("maxUnpool.forward", "float32", (x: FloatArray, idx: Int32Array, y: FloatArray, planes: number, inPlane: number, outPlane: number): number => {
    if (planes === 0 || outPlane === 0) return planes * inPlane > 0 ? 0 : -1; // no plane to write: every index is outside
    // y zeroed just ahead of the writes, 2 KB at a time (measured against 1, 4 and 8 KB; the whole
    // plane at once when sparse); bad[p]: the plane's first out-of-range index, or −1
    const ahead = unpoolAhead ?? (outPlane >= 16 * inPlane ? outPlane : 512);
    const bad = new Int32Array(planes);
    run(b, "unpoolForward", [[x, false], [idx, false], [y, true], [bad, "out"]], [planes, inPlane, outPlane, ahead], split(4, [[0, 4 * inPlane], [1, 4 * inPlane], [2, 4 * outPlane], [3, 4]], 4 * (2 * inPlane + outPlane + 1)));
    for (let p = 0; p < planes; p++) {
      const i = bad[p] as number;
      if (i >= 0) return p * inPlane + i;
    }
    return -1;
  });
  registerKernel("maxUnpool.backward", "float32", (dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, inPlane: number, outPlane: number): void => {
    if (planes === 0 || inPlane === 0) return;
    run(b, "unpoolBackward", [[dy, false], [idx, false], [dx, true]], [planes, inPlane, outPlane], split(3, [[0, 4 * outPlane], [1, 4 * inPlane], [2, 4 * inPlane]], 4 * (2 * inPlane + outPlane)));
  });
  registerKernel("stochasticPool.forwardEval", "float32", (x: FloatArray, y: FloatArray, sums: Float64Array, planes: number, axes: Axes3): void => {
    if (planes === 0 || y.length === 0) return;
    const a = new Args(b);
    a.add(x, false);
    a.add(y, true);
    a.add(sums, true);
    a.add(axesArray(axes), false);
    a.resolve();
    const [px, py, ps, pa] = a.ptrs as number[];
    const inPlane = axes[1].inSize * axes[2].inSize;
    const outPlane = axes[1].outSize * axes[2].outSize;
    splitCall(b, "stochasticEvalForward", [px as number, py as number, ps as number, planes, axes[1].inSize, axes[2].inSize, ...bcPointers(axes, pa as number)], {
      count: 3, step: [[0, 4 * inPlane], [1, 4 * outPlane], [2, 8 * outPlane]], bytes: 4 * inPlane + 12 * outPlane,
    });
    a.finish();
  });
  registerKernel(
    "stochasticPool.backwardEval",
    "float32",
    (dy: FloatArray, x: FloatArray, y: FloatArray, sums: Float64Array, dx: FloatArray, planes: number, axes: Axes3): void => {
      if (planes === 0 || y.length === 0) return;
      const a = new Args(b);
      for (const [t, w] of [[dy, false], [x, false], [y, false], [sums, false], [dx, true], [axesArray(axes), false]] as [Arr, boolean][]) a.add(t, w);
      a.resolve();
      const [pd, px, py, ps, pdx, pa] = a.ptrs as number[];
      const inPlane = axes[1].inSize * axes[2].inSize;
      const outPlane = axes[1].outSize * axes[2].outSize;
      splitCall(b, "stochasticEvalBackward", [pd as number, px as number, py as number, ps as number, pdx as number, planes, axes[1].inSize, axes[2].inSize, ...bcPointers(axes, pa as number)], {
        count: 5, step: [[0, 4 * outPlane], [1, 4 * inPlane], [2, 4 * outPlane], [3, 8 * outPlane], [4, 4 * inPlane]], bytes: 8 * inPlane + 16 * outPlane,
      });
      a.finish();
    },
  );
  registerKernel("mix.forward", "float32", (mx: FloatArray, av: FloatArray, w: Float64Array, y: FloatArray): void => {
    if (y.length === 0) return;
    // element-wise: split by elements (mx, av, y float32; the weights float64)
    run(b, "mixForward", [[mx, false], [av, false], [w, false], [y, true]], [y.length], split(4, [[0, 4], [1, 4], [2, 8], [3, 4]], 20));
  });
  registerKernel("mix.backward", "float32", (dy: FloatArray, w: Float64Array, idx: Int32Array, dx: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void => {
    const [A, B, C] = axes;
    const inPlane = A.inSize * B.inSize * C.inSize;
    const outPlane = A.outSize * B.outSize * C.outSize;
    if (planes === 0 || inPlane === 0) return;
    const tB = transposedAxis(B);
    const tC = transposedAxis(C);
    // 2-d planes whose windows transpose (step 1, starts and ends not decreasing: every sliding and
    // Caffe plan) and positive divisors exact in float32 (window counts): the fused kernel; anything
    // else the TypeScript reference
    let ok = tB !== null && tC !== null && outPlane > 0 && A.inSize === 1 && A.outSize === 1 && A.start[0] === 0 && A.end[0] === 1 && A.step === 1;
    const div = new Float32Array(outPlane);
    for (let o = 0; ok && o < outPlane; o++) {
      const d = divisor[o] as number;
      div[o] = d;
      ok = d > 0 && div[o] === d;
    }
    if (!ok || tB === null || tC === null) {
      mixWindowsBackward(dy, w, idx, dx, planes, axes, divisor);
      return;
    }
    const perPlane = w.length === planes && w.length !== dy.length ? 1 : 0;
    const H = B.inSize;
    const W = C.inSize;
    const geo = new Int32Array(2 * H + 2 * W);
    geo.set(tB.start, 0);
    geo.set(tB.end, H);
    geo.set(tC.start, 2 * H);
    geo.set(tC.end, 2 * H + W);
    const cols = b.simd ? columnSwizzles(tC) : null;
    const J = cols === null ? 0 : cols.J;
    const nBlk = Math.ceil(W / 4);
    const eW = J > 0 ? 4 * nBlk : W;
    const args = new Args(b);
    args.add(dy, false);
    args.add(w, false);
    args.add(idx, false);
    args.add(dx, "out"); // every element written
    args.add(new Float32Array(outPlane + 4), false); // g: one plane's dA / divisor (+ 4: the last 4-float load)
    args.add(new Float32Array(outPlane), false); // m: one plane's w·dy
    args.add(new Float32Array(B.outSize * eW), false); // e: the column sums of each output row
    args.add(geo, false);
    args.add(div, false);
    args.add(cols === null ? new Int32Array(1) : cols.bases, false);
    args.add(cols === null ? new Int32Array(4) : cols.masks, false);
    args.resolve();
    const [pdy, pw, pi, pdx, pg, pm, pe, pa, pd, pb, pk] = args.ptrs as [number, number, number, number, number, number, number, number, number, number, number];
    splitCall(b, "mixBackward", [pdy, pw, pi, pdx, pg, pm, pe, planes, perPlane, H, W, B.outSize, C.outSize, pa, pa + 4 * H, pa + 8 * H, pa + 8 * H + 4 * W, pd, J, nBlk, pb, pk], {
      count: 7,
      step: [[0, 4 * outPlane], [1, perPlane === 1 ? 8 : 8 * outPlane], [2, 4 * outPlane], [3, 4 * inPlane]],
      scratch: [[4, 4 * (outPlane + 4)], [5, 4 * outPlane], [6, 4 * B.outSize * eW]],
      bytes: 4 * inPlane + 8 * outPlane,
    });
    args.finish();
  });
}

/** Remove the remaining kernels (the TypeScript references run again). */
export function unregisterScatter(): void {
  for (const name of NAMES) unregisterKernel(name, "float32");
}
