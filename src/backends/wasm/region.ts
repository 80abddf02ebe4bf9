/**
 * WebAssembly region kernels (float32) and fractional max pooling's forward; AssemblyScript source:
 * assembly/region.ts.
 * - RoIAlign forward/backward (`roiAlign.forward/backward`; references in src/kernels/region.ts, plan
 *   in src/geometry/roi.ts): separable — the sample rows are blended into one row over the RoI's
 *   column span (SIMD), then each bin reads two columns of it per sample column (the SIMD build's
 *   forward stores eight bin rows' blended rows transposed, so that pass serves eight bin rows per
 *   vector); float32 arithmetic, within the bounds stated in test/backends/wasm-region.test.ts of the
 *   float64-accumulating reference.
 * - RoIPool forward/backward (`roiPool.forward/backward`): per row of bins a column-wise scan, then each
 *   bin combines its columns (SIMD build: four channels at once, one per lane); the argmax saved with
 *   16-bit entries when H·W ≤ 65535 (roiArgCompact), which the backward's scalar scatter reads four at a
 *   time; values, indices and gradients bit-identical to the reference.
 * - Fractional max pooling's forward (`fractionalMaxPool.forward`, reference fractionalMaxForward in
 *   src/kernels/window.ts): each plane's own window starts, a column-wise SIMD scan, then the columns
 *   combined by doubling; bit-identical.
 * Threads: RoI kernels split by channels (a channel's planes belong to one part: no two threads add
 * into the same dx element, and each element receives its additions in the reference's order);
 * fractional max pooling by planes.
 */
import type { Axes3 } from "../../geometry/plan.js";
import type { RoiAlignPlan, RoiPoolPlan } from "../../geometry/roi.js";
import { roiArgCompact } from "../../kernels/region.js";
import { registerKernel, unregisterKernel } from "../../kernels/registry.js";
import type { FloatArray } from "../../tensor/dtype.js";
import { Args, type WasmBackend } from "./index.js";
import { splitCall, type Split } from "./threads.js";

/** Per RoI the column range [lo, hi) that any of its samples reads (lo = hi when none is inside the map). */
function columnSpans(p: RoiAlignPlan): Int32Array {
  const { k, pw, xs } = p;
  const out = new Int32Array(2 * k);
  for (let r = 0; r < k; r++) {
    let lo = Infinity;
    let hi = -Infinity;
    const s0 = xs.off[r] as number;
    const s1 = s0 + pw * (xs.grid[r] as number);
    for (let s = s0; s < s1; s++) {
      const l = xs.low[s] as number;
      if (l < 0) continue;
      lo = Math.min(lo, l);
      hi = Math.max(hi, xs.high[s] as number);
    }
    out[2 * r] = lo <= hi ? lo : 0;
    out[2 * r + 1] = lo <= hi ? hi + 1 : 0;
  }
  return out;
}

/** The plan's arrays as kernel arguments (weights and divisors as float32: they are float32 values for float32 inputs). */
function planArgs(args: Args, p: RoiAlignPlan): void {
  args.add(p.batch, false);
  args.add(Float32Array.from(p.count), false);
  for (const a of [p.ys, p.xs]) {
    args.add(a.off, false);
    args.add(a.grid, false);
    args.add(a.low, false);
    args.add(a.high, false);
    args.add(Float32Array.from(a.wLow), false);
    args.add(Float32Array.from(a.wHigh), false);
  }
  args.add(columnSpans(p), false);
  // scratch: the forward's transposed rows T (8 floats per column; the backward uses the first W)
  args.add(new Float32Array(8 * Math.max(p.w, 1)), false);
}

const NAMES = ["roiAlign.forward", "roiAlign.backward", "roiPool.forward", "roiPool.backward", "fractionalMaxPool.forward"] as const;

/**
 * RoIAlign's forward and backward split by channels. Arguments: in, out, K, Cn, C, H, W, ph, pw, batch,
 * count, yOff, yGrid, yLow, yHigh, yW0, yW1, xOff, xGrid, xLow, xHigh, xW0, xW1, span, buf; per channel
 * the map side (x or dx) advances by H·W elements and the RoI side (y or dy) by ph·pw (the kernels
 * stride by C); each part gets its own row buffer.
 */
function alignSplit(p: RoiAlignPlan, backward: boolean): Split {
  const map = 4 * p.h * p.w;
  const bins = 4 * p.ph * p.pw;
  return { count: 3, step: backward ? [[0, bins], [1, map]] : [[0, map], [1, bins]], scratch: [[24, 32 * Math.max(p.w, 1)]], bytes: p.n * map + p.k * bins };
}

/** RoIPool: per RoI the columns [lo, hi) its non-empty bins read (lo = hi = 0 when every bin is empty). */
function poolSpans(p: RoiPoolPlan): Int32Array {
  const { k, pw, wStart, wEnd } = p;
  const out = new Int32Array(2 * k);
  for (let r = 0; r < k; r++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = r * pw; j < (r + 1) * pw; j++) {
      const w0 = wStart[j] as number;
      const w1 = wEnd[j] as number;
      if (w1 <= w0) continue;
      lo = Math.min(lo, w0);
      hi = Math.max(hi, w1);
    }
    out[2 * r] = lo < hi ? lo : 0;
    out[2 * r + 1] = lo < hi ? hi : 0;
  }
  return out;
}

/** Register the region kernels and fractional max pooling's forward of backend `b` for float32. */
export function registerRegion(b: WasmBackend): void {
  const align = (backward: boolean, input: FloatArray, output: FloatArray, p: RoiAlignPlan): void => {
    if (p.k === 0 || p.c === 0 || p.ph === 0 || p.pw === 0) return;
    const args = new Args(b);
    args.add(input, false);
    args.add(output, true);
    planArgs(args, p);
    args.resolve();
    const [pi, po, ...rest] = args.ptrs as number[];
    splitCall(b, backward ? "roiAlignBackward" : "roiAlignForward", [pi as number, po as number, p.k, p.c, p.c, p.h, p.w, p.ph, p.pw, ...rest], alignSplit(p, backward));
    args.finish();
  };
  registerKernel("roiAlign.forward", "float32", (x: FloatArray, y: FloatArray, p: RoiAlignPlan): void => align(false, x, y, p));
  registerKernel("roiAlign.backward", "float32", (dy: FloatArray, dx: FloatArray, p: RoiAlignPlan): void => align(true, dy, dx, p));

  registerKernel("roiPool.forward", "float32", (x: FloatArray, y: FloatArray, arg: Int32Array, p: RoiPoolPlan): void => {
    if (p.k === 0 || p.c === 0 || p.ph === 0 || p.pw === 0) return;
    // by channels: x advances by H·W, y and arg by ph·pw elements per channel (the kernel strides by C)
    const a = new Args(b);
    for (const t of [x, y, arg, p.batch, p.hStart, p.hEnd, p.wStart, p.wEnd, poolSpans(p)]) a.add(t, t === y || t === arg);
    a.add(new Float32Array(8 * Math.max(p.w, 1)), false);
    a.resolve();
    const [px, py, pa, ...rest] = a.ptrs as number[];
    const bins = p.ph * p.pw;
    const argBytes = roiArgCompact(p) ? 2 : 4; // the saved argmax's entries: 16-bit or int32
    splitCall(b, "roiPoolForward", [px as number, py as number, pa as number, p.k, p.c, p.c, p.h, p.w, p.ph, p.pw, ...rest, argBytes === 4 ? 1 : 0], {
      count: 4, step: [[0, 4 * p.h * p.w], [1, 4 * bins], [2, argBytes * bins]], scratch: [[16, 32 * Math.max(p.w, 1)]], bytes: 4 * p.n * p.h * p.w + (4 + argBytes) * p.k * bins,
    });
    a.finish();
  });
  registerKernel("roiPool.backward", "float32", (dy: FloatArray, arg: Int32Array, dx: FloatArray, p: RoiPoolPlan): void => {
    if (p.k === 0 || p.c === 0 || p.ph === 0 || p.pw === 0) {
      dx.fill(0); // no bins: dx = 0
      return;
    }
    // by channels: dy and arg advance by ph·pw entries, dx by H·W elements per channel (the kernel strides by C)
    const a = new Args(b);
    for (const t of [dy, arg, dx, p.batch]) a.add(t, t === dx);
    a.resolve();
    const [pd, pa, px, pb] = a.ptrs as number[];
    const bins = p.ph * p.pw;
    const argBytes = roiArgCompact(p) ? 2 : 4;
    // dx written whole (each group of ≤ 8 channels' planes zeroed just before its scatter; see assembly/region.ts)
    splitCall(b, "roiPoolBackward", [pd as number, pa as number, px as number, p.k, p.c, p.c, p.h, p.w, p.ph, p.pw, pb as number, p.n, argBytes === 4 ? 1 : 0], {
      count: 4, step: [[0, 4 * bins], [1, argBytes * bins], [2, 4 * p.h * p.w]], bytes: (4 + argBytes) * p.k * bins + 4 * p.n * p.h * p.w,
    });
    a.finish();
  });

  registerKernel(
    "fractionalMaxPool.forward",
    "float32",
    (x: FloatArray, y: FloatArray, idx: Int32Array, inPlane: number, outPlane: number, planeAxes: readonly Axes3[]): void => {
      const planes = planeAxes.length;
      if (planes === 0 || outPlane === 0) return;
      const [A0, B0, C0] = planeAxes[0] as Axes3;
      const [oD, oH, oW] = [A0.outSize, B0.outSize, C0.outSize];
      // window sizes: every window of an axis has the same length (src/geometry/fractional.ts)
      const [kd, kh, kw] = [A0, B0, C0].map((ax) => (ax.end[0] as number) - (ax.start[0] as number)) as [number, number, number];
      const dS = new Int32Array(planes * oD);
      const hS = new Int32Array(planes * oH);
      const wS = new Int32Array(planes * oW);
      for (let p = 0; p < planes; p++) {
        const [A, B, C] = planeAxes[p] as Axes3;
        dS.set(A.start, p * oD);
        hS.set(B.start, p * oH);
        wS.set(C.start, p * oW);
      }
      const a = new Args(b);
      for (const t of [x, y, idx, dS, hS, wS]) a.add(t, t === y || t === idx);
      a.add(new Float32Array(2 * C0.inSize), false);
      a.resolve();
      const [px, py, pi, pd, ph, pw, buf] = a.ptrs as number[];
      splitCall(b, "fractionalMaxForward", [px as number, py as number, pi as number, planes, A0.inSize, B0.inSize, C0.inSize, oD, oH, oW, kd, kh, kw, pd as number, ph as number, pw as number, buf as number], {
        count: 3, step: [[0, 4 * inPlane], [1, 4 * outPlane], [2, 4 * outPlane], [13, 4 * oD], [14, 4 * oH], [15, 4 * oW]], scratch: [[16, 8 * C0.inSize]], bytes: 4 * (inPlane + 2 * outPlane),
      });
      a.finish();
    },
  );
}

/** Remove the region kernels and fractional max pooling's forward. */
export function unregisterRegion(): void {
  for (const name of NAMES) unregisterKernel(name, "float32");
}

