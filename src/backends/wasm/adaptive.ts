/**
 * WebAssembly max and average over wide windows (float32): adaptive pooling's bins, global pooling,
 * and any plan of step 1 whose windows are at least {@link WIDE} columns wide or one window per row.
 * They serve the same kernel names as the window kernels (`maxWindows.forward`, `avgWindows.forward`):
 * this module registers a wrapper that sends wide plans to the row-wise kernels of
 * assembly/adaptive.ts and everything else to the window kernels registered before it (pool.ts's,
 * tuned for narrow sliding windows). Max is bit-identical to the TypeScript reference (values and
 * indices); average within float64 rounding of it before the one rounding to float32
 * (test/backends/wasm-adaptive.test.ts).
 */
import type { Axes3 } from "../../geometry/plan.js";
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

/** Register the wide-window wrappers for float32 (call after the window kernels are registered). */
export function registerAdaptive(b: WasmBackend): void {
  const narrow = wasmKernels(b);
  registerKernel("maxWindows.forward", "float32", (x: FloatArray, y: FloatArray, idx: Int32Array, planes: number, axes: Axes3): void => {
    if (!isWide(axes)) return narrow["maxWindows.forward"](x, y, idx, planes, axes);
    const sz = sizes(planes, axes);
    if (planes === 0 || sz[4] === 0) return;
    const args = new Args(b);
    args.add(x, false);
    args.add(y, true);
    args.add(idx, true);
    args.add(new Int32Array(2 * sz[2] + 2), false); // column maxima and indices, and two words for merging lanes
    args.add(axesArray(axes), false);
    args.resolve();
    const [px, py, pi, pb, pa] = args.ptrs as [number, number, number, number, number];
    splitCall(b, "wideMaxForward", [px, py, pi, pb, ...sz, ...axisPointers(axes, pa)], {
      count: 4, step: [[0, 4 * sz[3]], [1, 4 * sz[4]], [2, 4 * sz[4]]], scratch: [[3, 4 * (2 * sz[2] + 2)]], bytes: 4 * (sz[3] + 2 * sz[4]),
    });
    args.finish();
  });
  registerKernel("avgWindows.forward", "float32", (x: FloatArray, y: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void => {
    if (!isWide(axes)) return narrow["avgWindows.forward"](x, y, planes, axes, divisor);
    const sz = sizes(planes, axes);
    if (planes === 0 || sz[4] === 0) return;
    const args = new Args(b);
    args.add(x, false);
    args.add(y, true);
    args.add(divisor, false);
    args.add(new Float64Array(Math.max(sz[2], 1)), false);
    args.add(axesArray(axes), false);
    args.resolve();
    const [px, py, pd, pb, pa] = args.ptrs as [number, number, number, number, number];
    splitCall(b, "wideAvgForward", [px, py, pd, pb, ...sz, ...axisPointers(axes, pa)], {
      count: 4, step: [[0, 4 * sz[3]], [1, 4 * sz[4]]], scratch: [[3, 8 * Math.max(sz[2], 1)]], bytes: 4 * (sz[3] + sz[4]),
    });
    args.finish();
  });
}
