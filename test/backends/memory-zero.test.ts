/**
 * Reused blocks are zeroed when zeros are asked for: with the kernels module's `zeroFill` (one
 * bulk-memory `memory.fill`, used because V8's typed-array fill stores element by element on a
 * shared memory) and with the typed-array fallback. A block is dirtied, freed, and taken again.
 */
import { describe, expect, it } from "vitest";
import { LinearHeap } from "../../src/backends/linear.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { getBackend } from "../../src/backends/index.js";
import { zeros, full } from "../../src/tensor/tensor.js";

function dirtyThenZero(heap: LinearHeap, length: number): Float32Array {
  const a = heap.allocate("float32", length, false);
  if (a === null) throw new Error("no block");
  (a.view as Float32Array).fill(7.5);
  a.free();
  const b = heap.allocate("float32", length, true);
  if (b === null) throw new Error("no block");
  expect(b.ptr).toBe(a.ptr); // the same block, reused
  return b.view as Float32Array;
}

describe("zeroing reused linear blocks", () => {
  it("the typed-array fallback zeroes every byte of the reused block", () => {
    for (const n of [1, 3, 4, 61, 1000, 100_003]) expect(dirtyThenZero(new LinearHeap(), n).every((v) => Object.is(v, 0))).toBe(true);
  });

  it("a zeroFill hook is called with the block's pointer and size class, and its zeros are what zeros() sees", () => {
    const calls: [number, number][] = [];
    const heap: LinearHeap = new LinearHeap({
      zeroFill: (ptr, bytes) => {
        calls.push([ptr, bytes]);
        new Uint8Array(heap.memory.buffer, ptr, bytes).fill(0);
      },
    });
    const v = dirtyThenZero(heap, 1000);
    expect(v.every((x) => Object.is(x, 0))).toBe(true);
    expect(calls.length).toBe(1);
    expect(calls[0]![1]).toBeGreaterThanOrEqual(4000);
    expect(calls[0]![1] % 16).toBe(0);
  });

  it("the active WebAssembly backend's heap zeroes reused blocks (zeros after a dirty free)", () => {
    if (getBackend() === "js") return expect(activeWasm()).toBe(null);
    for (const n of [5, 4096, 250_001]) {
      const t = full([n], 3.25);
      t.dispose();
      const z = zeros([n]);
      expect(Array.from(z.data as Float32Array).every((x) => Object.is(x, 0))).toBe(true);
      z.dispose();
    }
  });
});
