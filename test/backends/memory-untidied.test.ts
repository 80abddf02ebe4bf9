/**
 * Tensors nobody disposes (no tidy, no dispose): memory stays bounded and freed blocks are reused.
 *
 * The FinalizationRegistry returns a dropped tensor's block only in its cleanup callback, which runs
 * between tasks — never inside a synchronous loop, nor inside a loop that awaits only promises. These
 * tests check the three remedies in src/tensor/alloc.ts: the registry holds no values (JS-heap arrays
 * are freed by the collector itself), a per-job budget (past it, tensors made outside tidy get JS-heap
 * storage), and pressure tokens (escaped blocks make V8 collect, so a loop that awaits a task
 * between calls gets its blocks back). No timings: only memory, storage kinds and values.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LinearHeap } from "../../src/backends/linear.js";
import { getBackend, setBackend, type BackendName } from "../../src/backends/index.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { maxPool2d, maxPool2dWithIndices, avgPool2d } from "../../src/index.js";
import { setGrowthBudget, setStorageBackend, storageBackend } from "../../src/tensor/alloc.js";
import { rand } from "../../src/tensor/random.js";
import { keep, memory, tidy, zeros, type Tensor } from "../../src/tensor/tensor.js";

const nextTask = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

async function exposeGc(): Promise<() => void> {
  const { setFlagsFromString } = await import("node:v8");
  const { runInNewContext } = await import("node:vm");
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

const MiB = 2 ** 20;
const opts = { kernelSize: 3, stride: 2, padding: 1 };

describe("tensors dropped without dispose or tidy", () => {
  let savedHeap: ReturnType<typeof storageBackend>;
  let savedBackend: BackendName;
  let savedBudget: number;
  beforeEach(() => {
    savedBackend = getBackend();
    savedHeap = storageBackend();
    savedBudget = setGrowthBudget(64 * MiB);
  });
  afterEach(() => {
    setGrowthBudget(savedBudget);
    setBackend(savedBackend);
    setStorageBackend(savedHeap);
  });

  it("the FinalizationRegistry does not keep a dropped JS-heap tensor's values alive until its cleanup callback", async () => {
    const gc = await exposeGc();
    setStorageBackend(null);
    let ref: WeakRef<ArrayBufferLike> | undefined;
    (() => {
      const t = zeros([100_000]);
      ref = new WeakRef(t.data.buffer);
    })();
    await nextTask(); // a new job: the WeakRef no longer keeps its target alive
    gc(); // the tensor is collected now; its cleanup callback can only run after this job
    expect(ref?.deref()).toBeUndefined();
  });

  for (const kernels of ["js", "wasm-simd"] as const) {
    it(`in one synchronous job at most 8 same-class blocks escape into linear memory; later tensors get JS-heap storage with the same values (${kernels} kernels)`, () => {
      let heap: LinearHeap;
      if (kernels === "js") {
        heap = new LinearHeap();
        setStorageBackend(heap);
      } else {
        setBackend("wasm-simd");
        heap = activeWasm()!.heap;
      }
      const x = rand([4, 8, 32, 32], { seed: 1 }); // outputs 32 KiB + 32 KiB indices a call (one size class)
      const want = tidy(() => [...maxPool2d(x, opts).data]);
      setGrowthBudget(64 * MiB); // a fresh job's budget
      const top = heap.top;
      const outs: Tensor[] = [];
      for (let i = 0; i < 400; i++) outs.push(maxPool2d(x, opts)); // 25 MiB of outputs, none disposed
      const linear = outs.filter((t) => t.storage.heap === heap);
      expect(linear.length).toBe(8); // the outputs of the first 8 calls (their indices are freed on return)
      expect(heap.top - top).toBeLessThanOrEqual(8 * 32 * 1024 + 2 * 32 * 1024); // + indices and scratch, reused
      for (const t of [outs[0]!, outs[4]!, outs[399]!]) expect([...t.data]).toEqual(want);
      // tidy still computes in linear memory (its tensors are freed on time)
      const before = heap.liveBlocks;
      tidy(() => {
        const y = avgPool2d(x, opts);
        expect(y.storage.heap).toBe(heap);
      });
      expect(heap.liveBlocks).toBe(before);
      for (const t of outs) t.dispose();
      x.dispose();
    });
  }

  it("code that disposes what it makes outside tidy keeps linear storage (the budget counts live escapes), and reuses the blocks", () => {
    const heap = new LinearHeap();
    setStorageBackend(heap);
    setGrowthBudget(64 * MiB);
    const x = rand([4, 8, 32, 32], { seed: 4 });
    let linear = 0;
    let top = 0;
    for (let i = 0; i < 400; i++) {
      const y = avgPool2d(x, opts);
      const z = avgPool2d(y, { kernelSize: 2 });
      if (y.storage.heap === heap && z.storage.heap === heap) linear++;
      y.dispose();
      z.dispose();
      if (i === 0) top = heap.top;
    }
    expect(linear).toBe(400);
    expect(heap.top).toBe(top);
    x.dispose();
  });

  it("tensors of ever-new sizes in one synchronous job grow the linear heap by at most the growth budget", () => {
    const heap = new LinearHeap();
    setStorageBackend(heap);
    setGrowthBudget(2 * MiB);
    const top = heap.top;
    const outs: Tensor[] = [];
    for (let i = 0; i < 200; i++) outs.push(zeros([8192 + 64 * i])); // 32 KiB and up, 7 MiB in all
    expect(heap.top - top).toBeLessThanOrEqual(2 * MiB + 64 * 1024); // budget + the block that crossed it
    expect(outs.filter((t) => t.storage.heap === null).length).toBeGreaterThan(100);
    expect(outs.every((t) => t.data.every((v) => v === 0))).toBe(true);
    for (const t of outs) t.dispose();
  });

  it("past the budget, a tensor leaving the outermost tidy (returned or kept) moves to the JS heap and frees its block", () => {
    const heap = new LinearHeap();
    setStorageBackend(heap);
    setGrowthBudget(64 * MiB);
    const x = rand([2, 8, 32, 32], { seed: 2 });
    const want = tidy(() => [...maxPool2d(x, opts).data]);
    const leaked: Tensor[] = [];
    for (let i = 0; i < 8; i++) leaked.push(maxPool2d(x, opts), avgPool2d(x, opts)); // exhaust the budget of both classes
    const blocks = heap.liveBlocks;
    const memBefore = memory().bytes;
    let kept: Tensor | undefined;
    const step = (): Tensor => tidy(() => {
      const y = maxPool2d(x, opts);
      expect(y.storage.heap).toBe(heap); // inside tidy: linear memory
      kept = keep(avgPool2d(x, opts));
      expect(kept.storage.heap).toBeNull(); // kept out of every scope: moved at once
      return y;
    });
    const returned = step();
    expect(returned.storage.heap).toBeNull();
    expect([...returned.data]).toEqual(want);
    expect(heap.liveBlocks).toBe(blocks); // every block of the tidy went back
    expect(memory().bytes - memBefore).toBe(returned.storage.bytes + kept!.storage.bytes);
    const firstKept = kept!;
    const top = heap.top;
    const again = step(); // the same blocks again: no growth
    expect(heap.top).toBe(top);
    expect(heap.liveBlocks).toBe(blocks);
    for (const t of [...leaked, returned, firstKept, again, kept!]) t.dispose();
    x.dispose();
  });

  it("a forward call outside tidy leaves only its output: what only the dropped backward needed (max pooling's indices) is freed on return", () => {
    for (const heap of [null, new LinearHeap()]) {
      setStorageBackend(heap);
      const x = rand([2, 3, 8, 8], { seed: 5 });
      const before = memory();
      const y = maxPool2d(x, { kernelSize: 2 });
      expect(memory().tensors).toBe(before.tensors + 1);
      expect(memory().bytes).toBe(before.bytes + y.storage.bytes);
      const mid = memory();
      const { output, indices } = maxPool2dWithIndices(x, { kernelSize: 2 }); // both returned: both kept
      expect(memory().tensors).toBe(mid.tensors + 2);
      expect([...output.data]).toEqual([...y.data]);
      expect(indices.dtype).toBe("int32");
      for (const t of [x, y, output, indices]) t.dispose();
    }
  });

  it("a loop that awaits a task between untidied calls stays bounded: memory(), the linear heap's span and its memory's byteLength (freed blocks are reused)", async () => {
    setBackend("wasm-simd");
    const heap = activeWasm()!.heap;
    const x = rand([8, 32, 56, 56], { seed: 3 }); // outputs 0.8 MiB + 0.8 MiB indices a call
    await nextTask();
    const top = heap.top;
    const bytes = memory().bytes;
    let linear = 0;
    let peak = 0;
    for (let i = 0; i < 400; i++) {
      const y = maxPool2d(x, opts); // 640 MiB over the loop, never disposed
      if (y.storage.heap === heap) linear++;
      peak = Math.max(peak, memory().bytes - bytes);
      await nextTask();
    }
    // Without pressure tokens V8 saw only small JS objects and collected late (measured here: the
    // span grew by ~200 MiB, in a plain Node process by ~500 MiB); with them it collects about every
    // 64 MiB of escaped blocks (measured: ~45 MiB).
    expect(heap.top - top).toBeLessThan(128 * MiB);
    expect(heap.memory.buffer.byteLength - top).toBeLessThan(160 * MiB);
    expect(peak).toBeLessThan(128 * MiB);
    expect(linear).toBe(400); // each job stayed within its budget: all in linear memory, so blocks were reused
    x.dispose();
  }, 60_000);
});
