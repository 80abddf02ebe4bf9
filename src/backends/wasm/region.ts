/**
 * WebAssembly RoIAlign (float32), forward and backward (`roiAlign.forward/backward`; references in
 * src/ops/roiAlign.ts, plan in src/geometry/roi.ts). AssemblyScript source: assembly/region.ts —
 * separable: the sample rows are blended into one row over the RoI's column span (SIMD), then each
 * bin reads two columns of it per sample column; float32 arithmetic, within the bounds stated in
 * test/backends/wasm-region.test.ts of the float64-accumulating reference.
 */
import type { RoiAlignPlan } from "../../geometry/roi.js";
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
  args.add(new Float32Array(Math.max(p.w, 1)), false);
}

const NAMES = ["roiAlign.forward", "roiAlign.backward"] as const;

/**
 * The forward splits by boxes: RoI r writes only its own C·ph·pw outputs, and its per-RoI plan entries
 * (batch, count, the axes' off/grid, the column span) advance with r — the per-sample arrays are
 * addressed through off, so they stay whole. Arguments: x, y, K, C, H, W, ph, pw, batch, count,
 * yOff, yGrid, yLow, yHigh, yW0, yW1, xOff, xGrid, xLow, xHigh, xW0, xW1, span, buf.
 * The backward adds each RoI's gradient into dx, where boxes of one image overlap: not separable by
 * boxes (two threads would add into the same elements), so it runs on one thread.
 */
function forwardSplit(p: RoiAlignPlan): Split {
  const out = 4 * p.c * p.ph * p.pw;
  return { count: 2, step: [[1, out], [8, 4], [9, 4], [10, 4], [11, 4], [16, 4], [17, 4], [22, 8]], scratch: [[23, 4 * Math.max(p.w, 1)]], bytes: 4 * out };
}

/** Register RoIAlign's kernels of backend `b` for float32. */
export function registerRegion(b: WasmBackend): void {
  const call = (name: "roiAlignForward" | "roiAlignBackward", input: FloatArray, output: FloatArray, p: RoiAlignPlan): void => {
    if (p.k === 0 || p.c === 0 || p.ph === 0 || p.pw === 0) return;
    const args = new Args(b);
    args.add(input, false);
    args.add(output, true);
    planArgs(args, p);
    args.resolve();
    const [pi, po, ...rest] = args.ptrs as number[];
    const a = [pi as number, po as number, p.k, p.c, p.h, p.w, p.ph, p.pw, ...rest];
    if (name === "roiAlignForward") splitCall(b, name, a, forwardSplit(p));
    else (b.exports as unknown as Record<string, (...v: number[]) => void>)[name]?.(...a);
    args.finish();
  };
  registerKernel("roiAlign.forward", "float32", (x: FloatArray, y: FloatArray, p: RoiAlignPlan): void => call("roiAlignForward", x, y, p));
  registerKernel("roiAlign.backward", "float32", (dy: FloatArray, dx: FloatArray, p: RoiAlignPlan): void => call("roiAlignBackward", dy, dx, p));
}

/** Remove RoIAlign's wasm kernels. */
export function unregisterRegion(): void {
  for (const name of NAMES) unregisterKernel(name, "float32");
}
