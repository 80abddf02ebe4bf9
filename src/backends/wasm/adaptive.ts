/**
 * WebAssembly max and average over wide windows (float32): adaptive pooling's bins, global pooling,
 * and any plan of step 1 whose windows are at least {@link WIDE} columns wide or one window per row.
 * They serve the same kernel names as the window kernels (`maxWindows.forward`, `avgWindows.forward`):
 * this module registers a wrapper that sends wide plans to the row-wise kernels of
 * assembly/adaptive.ts and everything else to the window kernels registered before it (pool.ts's,
 * tuned for narrow sliding windows). One window per whole plane (global pooling, adaptive pooling
 * to size 1) is flattened to one row first ({@link flatPlane}). Max is bit-identical to the
 * TypeScript reference (values and indices); average within float64 rounding of it before the one
 * rounding to float32, one-row windows of 64 columns or more on the SIMD build within γ(3)·Σ|x|
 * (test/backends/wasm-adaptive.test.ts, wasm-globalrow.test.ts).
 */
import type { Axes3, Axis } from "../../geometry/plan.js";
import { registerKernel } from "../../kernels/registry.js";
import type { FloatArray } from "../../tensor/dtype.js";
import { Args, axesArray, wasmKernels, type WasmBackend } from "./index.js";
import { splitCall } from "./threads.js";
import { axisPointers } from "./weighted.js";

/** Windows at least this many columns wide go row-wise. */
const WIDE = 6;

/** Whether a plan takes the row-wise kernels: every step 1 and wide windows (or a single window per row). */
export function isWide(axes: Axes3): boolean {
  const [A, B, C] = axes;
  if (A.step !== 1 || B.step !== 1 || C.step !== 1 || C.outSize === 0) return false;
  if (C.outSize === 1) return true;
  let w = Infinity;
  for (let i = 0; i < C.outSize; i++) w = Math.min(w, (C.end[i] as number) - (C.start[i] as number));
  return w >= WIDE;
}

function sizes(planes: number, axes: Axes3): [number, number, number, number, number] {
  const [A, B, C] = axes;
  return [planes, B.inSize, C.inSize, A.inSize * B.inSize * C.inSize, A.outSize * B.outSize * C.outSize];
}

const flatCache = new WeakMap<Axes3, Axes3 | null>();

/**
 * A plan of one window covering each whole plane (step 1; adaptive pooling to size 1 in any rank,
 * global pooling) as the same window over the flattened plane — trivial A and B, one window over the
 * D·H·W columns — so the kernels reduce one contiguous row (the same elements in the same flat
 * order; flat in-plane indices unchanged). Null for any other plan. Cached per plan's axes.
 */
export function flatPlane(axes: Axes3): Axes3 | null {
  const hit = flatCache.get(axes);
  if (hit !== undefined) return hit;
  const whole = axes.every((a) => a.outSize === 1 && a.step === 1 && a.start[0] === 0 && a.end[0] === a.inSize && a.inSize > 0);
  const flat = whole && axes[0].inSize * axes[1].inSize > 1 ? [unitAxis(1), unitAxis(1), unitAxis(axes[0].inSize * axes[1].inSize * axes[2].inSize)] as const : null;
  flatCache.set(axes, flat);
  return flat;
}

/** One window over a whole axis of `n` (no padding). */
function unitAxis(n: number): Axis {
  return { inSize: n, outSize: 1, start: Int32Array.of(0), end: Int32Array.of(n), step: 1, padCount: Int32Array.of(n) };
}

/** Whether every window is one row deep (A and B windows of one element): the kernels then need no column buffer. */
function oneRow(axes: Axes3): boolean {
  for (const ax of [axes[0], axes[1]]) {
    for (let o = 0; o < ax.outSize; o++) if ((ax.end[o] as number) - (ax.start[o] as number) !== 1) return false;
  }
  return true;
}

/** Register the wide-window wrappers for float32 (call after the window kernels are registered). */
export function registerAdaptive(b: WasmBackend): void {
  const narrow = wasmKernels(b);
  registerKernel("maxWindows.forward", "float32", (x: FloatArray, y: FloatArray, idx: Int32Array, planes: number, plan: Axes3): void => {
    if (!isWide(plan)) return narrow["maxWindows.forward"](x, y, idx, planes, plan);
    const axes = flatPlane(plan) ?? plan;
    const sz = sizes(planes, axes);
    if (planes === 0 || sz[4] === 0) return;
    // two words for merging lanes, then the column maxima and indices (windows of several rows)
    const bufLen = 2 + (oneRow(axes) ? 0 : 2 * sz[2]);
    const args = new Args(b);
    args.add(x, false);
    args.add(y, true);
    args.add(idx, true);
    args.add(new Int32Array(bufLen), false);
    args.add(axesArray(axes), false);
    args.resolve();
    const [px, py, pi, pb, pa] = args.ptrs as [number, number, number, number, number];
    splitCall(b, "wideMaxForward", [px, py, pi, pb, ...sz, ...axisPointers(axes, pa)], {
      count: 4, step: [[0, 4 * sz[3]], [1, 4 * sz[4]], [2, 4 * sz[4]]], scratch: [[3, 4 * bufLen]], bytes: 4 * (sz[3] + 2 * sz[4]),
    });
    args.finish();
  });
  registerKernel("avgWindows.forward", "float32", (x: FloatArray, y: FloatArray, planes: number, plan: Axes3, divisor: Float64Array): void => {
    if (!isWide(plan)) return narrow["avgWindows.forward"](x, y, planes, plan, divisor);
    const axes = flatPlane(plan) ?? plan;
    const sz = sizes(planes, axes);
    if (planes === 0 || sz[4] === 0) return;
    const bufLen = oneRow(axes) ? 1 : Math.max(sz[2], 1); // column sums (windows of several rows)
    const args = new Args(b);
    args.add(x, false);
    args.add(y, true);
    args.add(divisor, false);
    args.add(new Float64Array(bufLen), false);
    args.add(axesArray(axes), false);
    args.resolve();
    const [px, py, pd, pb, pa] = args.ptrs as [number, number, number, number, number];
    splitCall(b, "wideAvgForward", [px, py, pd, pb, ...sz, ...axisPointers(axes, pa)], {
      count: 4, step: [[0, 4 * sz[3]], [1, 4 * sz[4]]], scratch: [[3, 8 * bufLen]], bytes: 4 * (sz[3] + sz[4]),
    });
    args.finish();
  });
}
