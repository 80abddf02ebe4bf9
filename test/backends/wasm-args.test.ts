/**
 * The wasm glue's argument copies (src/backends/wasm/index.ts `Args`): arrays outside the backend's
 * memory (JS-heap tensors) go through scratch blocks. A read argument is copied in; an accumulator
 * (`true`) in and back out; a write-only output (`"out"`: the forward kernels write every element) is
 * not copied in — and the kernels then still produce the TypeScript reference's values.
 */
import { describe, expect, it } from "vitest";
import { slidingGeometry, planSlidingFor } from "../../src/geometry/sliding.js";
import { activeWasm, Args, installWasmKernels, removeWasmKernels, wasmKernels } from "../../src/backends/wasm/index.js";
import { avgWindowsForward, maxWindowsForward } from "../../src/kernels/window.js";
import { getBackend, setBackend } from "../../src/backends/index.js";
import { spatialShapeInput } from "../../src/check.js";

describe("wasm glue: Args", () => {
  it("read and accumulator arguments are copied in, write-only ones are not; written ones are copied back", () => {
    const prev = getBackend();
    installWasmKernels(true);
    try {
      const b = activeWasm()!;
      const read = new Float32Array(40).fill(7);
      const acc = new Float32Array(40).fill(7);
      const out = new Float32Array(40).fill(7);
      const args = new Args(b);
      args.add(read, false);
      args.add(acc, true);
      args.add(out, "out");
      args.resolve();
      const [pr, pa, po] = args.ptrs as [number, number, number];
      const mem = (p: number) => new Float32Array(b.heap.memory.buffer, p, 40);
      expect(Array.from(mem(pr))).toEqual(Array(40).fill(7));
      expect(Array.from(mem(pa))).toEqual(Array(40).fill(7));
      expect(mem(po).some((v) => v === 7)).toBe(false); // not copied in
      mem(pa).fill(1);
      mem(po).fill(2);
      mem(pr).fill(3);
      args.finish();
      expect([acc[0], out[39], read[0]]).toEqual([1, 2, 7]); // the read argument is not copied back
    } finally {
      removeWasmKernels();
      setBackend(prev);
    }
  });

  it("max and average forward into JS-heap outputs full of garbage equal the TypeScript kernels (every element written)", () => {
    const prev = getBackend();
    installWasmKernels(true);
    try {
      const k = wasmKernels(activeWasm()!);
      for (const [shape, o] of [
        [[2, 3, 9, 11], { kernelSize: 3, stride: 2, padding: 1 }],
        [[1, 2, 7, 5], { kernelSize: [2, 3], stride: 1, dilation: 2 }],
        [[3, 1, 1, 1], { kernelSize: 1 }],
      ] as const) {
        const input = spatialShapeInput("test", "x", shape, 2);
        const plan = planSlidingFor("test", input, slidingGeometry("test", o, 2));
        const n = (shape as readonly number[]).reduce((a, c) => a * c, 1);
        const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 3);
        const m = plan.planes * plan.outPlaneSize;
        const y = new Float32Array(m).fill(Number.NaN);
        const idx = new Int32Array(m).fill(-5);
        k["maxWindows.forward"](x, y, idx, plan.planes, plan.axes);
        const yr = new Float32Array(m);
        const ir = new Int32Array(m);
        maxWindowsForward(x, yr, ir, plan.planes, plan.axes);
        expect(Array.from(y)).toEqual(Array.from(yr));
        expect(Array.from(idx)).toEqual(Array.from(ir));
        const div = new Float64Array(plan.outPlaneSize).fill(4);
        const ya = new Float32Array(m).fill(Number.NaN);
        k["avgWindows.forward"](x, ya, plan.planes, plan.axes, div);
        const yar = new Float32Array(m);
        avgWindowsForward(x, yar, plan.planes, plan.axes, div);
        for (let i = 0; i < m; i++) expect(Math.abs((ya[i] as number) - (yar[i] as number))).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(yar[i] as number)));
      }
    } finally {
      removeWasmKernels();
      setBackend(prev);
    }
  });
});
