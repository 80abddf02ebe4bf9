/**
 * Average pooling forward for strided sliding windows on the WebAssembly backends (float32): plans of
 * step 1 whose interior run (src/backends/wasm/index.ts, {@link interior}) has stride ≥ 2 — k3 s2 p1,
 * k2 s2 and the like, 1-d, 2-d and 3-d — take assembly/avgrows.ts `avgRowsForward` (row-wise column
 * sums, de-interleaved by shuffles for stride 2) instead of avgForward's per-block sums. Same result
 * bound as avgForward: float32 sums divided by the float32 divisor
 * (test/backends/wasm-avgrows.test.ts states and checks it).
 */
import type { Axes3, Axis } from "../../geometry/plan.js";
import type { FloatArray } from "../../tensor/dtype.js";
import { Args, axesArray, interior, type WasmBackend } from "./index.js";
import { splitCall } from "./threads.js";

/**
 * The interior run avgRowsForward computes 4 outputs at a time: outputs [lo, hi) of windows `k` wide
 * starting `s` apart, the first at column `c0` — with c0 = −1 (lo = 0) when the first window is a
 * 3-wide stride-2 window clipped by one padding column (padding 1), which the kernel sums in the run.
 */
export interface AvgRowsRun {
  lo: number;
  hi: number;
  s: number;
  k: number;
  c0: number;
}

/**
 * The run of a plan that avgRowsForward takes, or null (the plan stays with avgForward): every step
 * 1 and an interior run of at least 4 outputs with stride ≥ 2.
 */
export function avgRowsRun(axes: Axes3): AvgRowsRun | null {
  const C = axes[2];
  const [cLo, cHi, s, k] = interior(axes); // (an empty run unless every step is 1)
  if (k === 0 || s < 2) return null;
  const c0 = C.start[cLo] as number;
  if (s === 2 && k === 3 && cLo === 1 && c0 === 1 && C.start[0] === 0 && C.end[0] === 2) return { lo: 0, hi: cHi, s, k, c0: -1 };
  return { lo: cLo, hi: cHi, s, k, c0 };
}

/** The largest window extent along an axis. */
function extent(ax: Axis): number {
  let m = 0;
  for (let o = 0; o < ax.outSize; o++) m = Math.max(m, (ax.end[o] as number) - (ax.start[o] as number));
  return m;
}

/**
 * Whether avgRowsForward may use its scratch row for a plan: always unless every output row sums its
 * window rows in registers (stride 2, width 2 or 3, and windows of at most 4 rows or 3 × 3 rows).
 */
export function avgRowsScratch(axes: Axes3, run: AvgRowsRun): boolean {
  if (!(run.s === 2 && (run.k === 2 || run.k === 3))) return true;
  const na = extent(axes[0]);
  const nb = extent(axes[1]);
  return na * nb > 4 && (na > 3 || nb > 3);
}

/** @internal Calls that took avgRowsForward (tests check the path is taken). */
export const avgRowsStats = { calls: 0 };

/** y = window sums / divisor by avgRowsForward for a plan with a run from {@link avgRowsRun}. */
export function avgRowsForward(b: WasmBackend, x: FloatArray, y: FloatArray, planes: number, axes: Axes3, divisor: Float64Array, run: AvgRowsRun): void {
  const [A, B, C] = axes;
  const outPlane = A.outSize * B.outSize * C.outSize;
  const inPlane = A.inSize * B.inSize * C.inSize;
  const W = C.inSize;
  const div32 = new Float32Array(outPlane);
  for (let i = 0; i < outPlane; i++) div32[i] = divisor[i] as number;
  avgRowsStats.calls++;
  const args = new Args(b);
  args.add(x, false);
  args.add(y, "out"); // every output written
  args.add(div32, false);
  const scratch = avgRowsScratch(axes, run);
  if (scratch) args.add(new Float32Array(W + 8), false); // one output row's column sums (+ room for stride 2's last read)
  args.add(axesArray(axes), false);
  args.resolve();
  const [px, py, pd] = args.ptrs as [number, number, number];
  const pc = scratch ? (args.ptrs[3] as number) : 0;
  const pa = args.ptrs[scratch ? 4 : 3] as number;
  const offB = pa + 8 * A.outSize;
  const offC = offB + 8 * B.outSize;
  splitCall(b, "avgRowsForward", [px, py, pd, pc, planes, B.inSize, W, inPlane, outPlane,
    pa, pa + 4 * A.outSize, A.outSize, offB, offB + 4 * B.outSize, B.outSize, offC, offC + 4 * C.outSize, C.outSize,
    run.lo, run.hi, run.s, run.k, run.c0], {
    count: 4, step: [[0, 4 * inPlane], [1, 4 * outPlane]], scratch: scratch ? [[3, 4 * (W + 8)]] : [], bytes: 4 * (inPlane + outPlane),
  });
  args.finish();
}
