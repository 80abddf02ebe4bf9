/**
 * Max pooling forward (AssemblyScript: assembly/maxfast.ts), float32: the values-only kernel of plain
 * forward calls (`maxWindows.forwardValues`) and the same kernel with indices for
 * `maxWindows.forward`'s narrow windows — rows reduced in registers for the common geometries, a
 * ring of row maxima for the rest. Bit-identical to the TypeScript reference
 * (test/backends/wasm-maxfast.test.ts). Wide windows (adaptive and global pooling) keep
 * assembly/adaptive.ts's column kernel; values-only calls on them run it with a throwaway index block.
 */
import { PoolkitRangeError } from "../../errors.js";
import type { Axes3 } from "../../geometry/plan.js";
import { kernel, registerKernel, unregisterKernel } from "../../kernels/registry.js";
import { maxWindowsForward } from "../../kernels/window.js";
import type { FloatArray } from "../../tensor/dtype.js";
import type { LinearStorage } from "../linear.js";
import { isWide } from "./adaptive.js";
import { Args, axesArray, geometry, interior, type WasmBackend } from "./index.js";
import { splitCall } from "./threads.js";

/**
 * Rows of row maxima each thread part keeps (assembly/maxfast.ts): the largest window's row span
 * `(kD − 1)·H + kH`, so one window's rows never share a slot, capped at the plane's row count.
 */
function ringRows(axes: Axes3): number {
  const [A, B] = axes;
  let ka = 0;
  let kb = 0;
  for (let i = 0; i < A.outSize; i++) ka = Math.max(ka, (A.end[i] as number) - (A.start[i] as number));
  for (let i = 0; i < B.outSize; i++) kb = Math.max(kb, (B.end[i] as number) - (B.start[i] as number));
  return Math.max(1, Math.min(A.inSize * B.inSize, (ka - 1) * B.inSize + kb));
}

/** Scratch block (bytes) of one thread part: [tag, NaN flag] per ring row, then the rows' maxima (and indices). */
function scratchBytes(axes: Axes3, withIdx: boolean): [number, number] {
  const ring = ringRows(axes);
  return [ring, ring * 8 + ring * axes[2].outSize * 4 * (withIdx ? 2 : 1)];
}

function allocScratch(b: WasmBackend, bytes: number): LinearStorage {
  const s = b.heap.allocate("int32", Math.max(4, Math.ceil(bytes / 4)), false);
  if (s === null) throw new PoolkitRangeError("wasm backend", `out of WebAssembly memory for a ${bytes}-byte max-pooling scratch block`);
  return s;
}

/** Register the row-reuse max kernels for float32 (after registerAdaptive, whose narrow path they replace). */
export function registerMaxFast(b: WasmBackend): void {
  const fns = b.exports as unknown as Record<string, (...a: number[]) => void>;
  if (typeof fns["maxValuesForward"] !== "function") return;
  const withIndices = (x: FloatArray, y: FloatArray, idx: Int32Array, planes: number, axes: Axes3): void => {
    const [A, B, C] = axes;
    const outPlane = A.outSize * B.outSize * C.outSize;
    if (planes === 0 || outPlane === 0) return;
    const args = new Args(b);
    args.add(x, false);
    args.add(y, true);
    args.add(idx, true);
    args.add(axesArray(axes), false);
    args.resolve();
    const [px, py, pi, pa] = args.ptrs as [number, number, number, number];
    const [ring, bytes] = scratchBytes(axes, true);
    let s: LinearStorage | null = null;
    try {
      s = allocScratch(b, bytes);
      const inPlane = A.inSize * B.inSize * C.inSize;
      const all = [px, py, pi, planes, B.inSize, C.inSize, inPlane, outPlane, ...geometry(axes, pa), ...interior(axes), s.ptr, ring];
      splitCall(b, "maxRowsForward", all, {
        count: 3, step: [[0, 4 * inPlane], [1, 4 * outPlane], [2, 4 * outPlane]], scratch: [[all.length - 2, bytes]], bytes: 4 * (inPlane + 2 * outPlane),
      });
    } finally {
      s?.free();
      args.finish();
    }
  };
  // the adaptive wrapper registered before: wide windows keep its kernel, narrow ones come here
  const wide = kernel("maxWindows.forward", "float32", maxWindowsForward);
  registerKernel("maxWindows.forward", "float32", (x: FloatArray, y: FloatArray, idx: Int32Array, planes: number, axes: Axes3): void => {
    if (isWide(axes)) wide(x, y, idx, planes, axes);
    else withIndices(x, y, idx, planes, axes);
  });
  registerKernel("maxWindows.forwardValues", "float32", (x: FloatArray, y: FloatArray, planes: number, axes: Axes3): void => {
    const [A, B, C] = axes;
    const outPlane = A.outSize * B.outSize * C.outSize;
    if (planes === 0 || outPlane === 0) return;
    if (isWide(axes)) {
      // on the JS heap: allocating in the memory here could grow it and detach the views passed in
      wide(x, y, new Int32Array(planes * outPlane), planes, axes);
      return;
    }
    const args = new Args(b);
    args.add(x, false);
    args.add(y, true);
    args.add(axesArray(axes), false);
    args.resolve();
    const [px, py, pa] = args.ptrs as [number, number, number];
    const [ring, bytes] = scratchBytes(axes, false);
    let s: LinearStorage | null = null;
    try {
      s = allocScratch(b, bytes);
      const inPlane = A.inSize * B.inSize * C.inSize;
      const all = [px, py, planes, B.inSize, C.inSize, inPlane, outPlane, ...geometry(axes, pa), ...interior(axes), s.ptr, ring];
      splitCall(b, "maxValuesForward", all, {
        count: 2, step: [[0, 4 * inPlane], [1, 4 * outPlane]], scratch: [[all.length - 2, bytes]], bytes: 4 * (inPlane + outPlane),
      });
    } finally {
      s?.free();
      args.finish();
    }
  });
}

/** Remove {@link registerMaxFast}'s values-only kernel (removeWasmKernels unregisters maxWindows.forward). */
export function unregisterMaxFast(): void {
  unregisterKernel("maxWindows.forwardValues", "float32");
}
