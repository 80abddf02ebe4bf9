/**
 * WebAssembly implementations (float32) of the remaining kernels, ported loop for loop from their
 * TypeScript references and bit-identical to them (test/backends/wasm-scatter.test.ts): max-unpool
 * forward/backward, RoIPool forward/backward, stochastic pooling's evaluation forward/backward, mixed
 * pooling's mix, and fractional max pooling's forward (each plane's own windows through pool.ts's
 * max kernel). AssemblyScript: assembly/scatter.ts.
 */
import type { Axes3 } from "../../geometry/plan.js";
import type { RoiPoolPlan } from "../../geometry/roi.js";
import { registerKernel, unregisterKernel } from "../../kernels/registry.js";
import type { FloatArray } from "../../tensor/dtype.js";
import { Args, axesArray, interior, type WasmBackend } from "./index.js";
import { axisPointers } from "./weighted.js";

interface ScatterExports {
  unpoolForward(...args: number[]): void;
  unpoolBackward(...args: number[]): void;
  roiPoolForward(...args: number[]): void;
  roiPoolBackward(...args: number[]): void;
  stochasticEvalForward(...args: number[]): void;
  stochasticEvalBackward(...args: number[]): void;
  mixForward(...args: number[]): void;
  maxForward(...args: number[]): void;
}

type Arr = FloatArray | Int32Array | Float64Array;

/** Call `fn` with the pointers of `arrays` (true = written by the kernel) followed by `rest`. */
function run(b: WasmBackend, fn: (...a: number[]) => void, arrays: [Arr, boolean][], rest: number[]): void {
  const args = new Args(b);
  for (const [a, w] of arrays) args.add(a, w);
  args.resolve();
  fn(...args.ptrs, ...rest);
  args.finish();
}

/** The B and C axes' pointers (stochastic pooling is 2-d: A is trivial). */
function bcPointers(axes: Axes3, base: number): number[] {
  return axisPointers(axes, base).slice(3);
}

const NAMES = [
  "maxUnpool.forward", "maxUnpool.backward", "roiPool.forward", "roiPool.backward",
  "stochasticPool.forwardEval", "stochasticPool.backwardEval", "mix.forward", "fractionalMaxPool.forward",
] as const;

/** Register the remaining kernels of backend `b` for float32. */
export function registerScatter(b: WasmBackend): void {
  const e = b.exports as unknown as ScatterExports;
  registerKernel("maxUnpool.forward", "float32", (x: FloatArray, idx: Int32Array, y: FloatArray, planes: number, inPlane: number, outPlane: number): void => {
    if (planes === 0 || inPlane === 0) return;
    run(b, e.unpoolForward, [[x, false], [idx, false], [y, true]], [planes, inPlane, outPlane]);
  });
  registerKernel("maxUnpool.backward", "float32", (dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, inPlane: number, outPlane: number): void => {
    if (planes === 0 || inPlane === 0) return;
    run(b, e.unpoolBackward, [[dy, false], [idx, false], [dx, true]], [planes, inPlane, outPlane]);
  });
  registerKernel("roiPool.forward", "float32", (x: FloatArray, y: FloatArray, arg: Int32Array, p: RoiPoolPlan): void => {
    if (p.k === 0 || p.c === 0) return;
    run(b, (px, py, pa, pb, h0, h1, w0, w1) => e.roiPoolForward(px as number, py as number, pa as number, p.k, p.c, p.h, p.w, p.ph, p.pw, pb as number, h0 as number, h1 as number, w0 as number, w1 as number), [
      [x, false], [y, true], [arg, true], [p.batch, false], [p.hStart, false], [p.hEnd, false], [p.wStart, false], [p.wEnd, false],
    ], []);
  });
  registerKernel("roiPool.backward", "float32", (dy: FloatArray, arg: Int32Array, dx: FloatArray, p: RoiPoolPlan): void => {
    if (p.k === 0 || p.c === 0) return;
    run(b, (pd, pa, px, pb) => e.roiPoolBackward(pd as number, pa as number, px as number, p.k, p.c, p.h, p.w, p.ph, p.pw, pb as number), [
      [dy, false], [arg, false], [dx, true], [p.batch, false],
    ], []);
  });
  registerKernel("stochasticPool.forwardEval", "float32", (x: FloatArray, y: FloatArray, sums: Float64Array, planes: number, axes: Axes3): void => {
    if (planes === 0 || y.length === 0) return;
    run(b, (px, py, ps, pa) => e.stochasticEvalForward(px as number, py as number, ps as number, planes, axes[1].inSize, axes[2].inSize, ...bcPointers(axes, pa as number)), [
      [x, false], [y, true], [sums, true], [axesArray(axes), false],
    ], []);
  });
  registerKernel(
    "stochasticPool.backwardEval",
    "float32",
    (dy: FloatArray, x: FloatArray, y: FloatArray, sums: Float64Array, dx: FloatArray, planes: number, axes: Axes3): void => {
      if (planes === 0 || y.length === 0) return;
      run(b, (pd, px, py, ps, pdx, pa) => e.stochasticEvalBackward(pd as number, px as number, py as number, ps as number, pdx as number, planes, axes[1].inSize, axes[2].inSize, ...bcPointers(axes, pa as number)), [
        [dy, false], [x, false], [y, false], [sums, false], [dx, true], [axesArray(axes), false],
      ], []);
    },
  );
  registerKernel("mix.forward", "float32", (mx: FloatArray, av: FloatArray, w: Float64Array, y: FloatArray): void => {
    if (y.length === 0) return;
    run(b, e.mixForward, [[mx, false], [av, false], [w, false], [y, true]], [y.length]);
  });
  registerKernel(
    "fractionalMaxPool.forward",
    "float32",
    (x: FloatArray, y: FloatArray, idx: Int32Array, inPlane: number, outPlane: number, planeAxes: readonly Axes3[]): void => {
      // Each plane has its own windows: every plane's axes in one block, then pool.ts's max kernel once
      // per plane by pointer (no view is kept across the scratch allocation; no per-plane copies).
      const planes = planeAxes.length;
      if (planes === 0 || outPlane === 0) return;
      const blocks = planeAxes.map(axesArray);
      const all = new Int32Array(blocks.reduce((n, a) => n + a.length, 0));
      let off = 0;
      const offs = blocks.map((a) => {
        all.set(a, off);
        off += a.length;
        return off - a.length;
      });
      const args = new Args(b);
      args.add(x, false);
      args.add(y, true);
      args.add(idx, true);
      args.add(all, false);
      args.resolve();
      const [px, py, pi, pa] = args.ptrs as [number, number, number, number];
      for (let p = 0; p < planes; p++) {
        const axes = planeAxes[p] as Axes3;
        const [A, B, C] = axes;
        const base = pa + 4 * (offs[p] as number);
        const geo: number[] = [];
        let o = 0;
        for (const ax of axes) {
          geo.push(base + 4 * o, base + 4 * (o + ax.outSize), ax.outSize, ax.step);
          o += 2 * ax.outSize;
        }
        e.maxForward(px + 4 * p * inPlane, py + 4 * p * outPlane, pi + 4 * p * outPlane, 1, B.inSize, C.inSize, A.inSize * B.inSize * C.inSize, outPlane, ...geo, ...interior(axes));
      }
      args.finish();
    },
  );
}

/** Remove the remaining kernels (the TypeScript references run again). */
export function unregisterScatter(): void {
  for (const name of NAMES) unregisterKernel(name, "float32");
}
