/**
 * Storage substrate: the linear-memory allocator (alignment, size classes, reuse, growth), the
 * view-detaching test mode, dispose / tidy / memory(), and backend selection.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LinearHeap, sizeClass } from "../../src/backends/linear.js";
import { getBackend, getThreads, setBackend, setThreads, useDetachingStorage, type BackendName } from "../../src/backends/index.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { setClaimMode, setMinPartBytes } from "../../src/backends/wasm/threads.js";
import { maxPool2d, avgPool2d, softPool2d } from "../../src/index.js";
import { heapPoolInfo, setStorageBackend, storageBackend } from "../../src/tensor/alloc.js";
import { rand } from "../../src/tensor/random.js";
import { keep, memory, tensor, tidy, Tensor, zeros } from "../../src/tensor/tensor.js";
import { PoolkitTypeError } from "../../src/errors.js";

describe("LinearHeap", () => {
  it("size classes: multiples of 16 up to 256, then four per power of two (≤ 25 % slack)", () => {
    expect([1, 16, 17, 250, 256].map(sizeClass)).toEqual([16, 16, 32, 256, 256]);
    expect([257, 320, 321, 384, 448, 449, 1000].map(sizeClass)).toEqual([320, 320, 384, 384, 448, 512, 1024]);
    for (let b = 1; b < 1e6; b = Math.ceil(b * 1.37) + 3) {
      const c = sizeClass(b);
      expect(c % 16).toBe(0);
      expect(c).toBeGreaterThanOrEqual(b);
      expect(c).toBeLessThanOrEqual(Math.max(16, b * 1.25 + 16));
    }
  });

  it("blocks are 16-byte aligned, disjoint, zero-filled, and a freed block is reused by the same class", () => {
    const heap = new LinearHeap();
    const a = heap.allocate("float32", 5, true)!;
    const b = heap.allocate("float64", 3, true)!;
    expect(a.ptr % 16).toBe(0);
    expect(b.ptr % 16).toBe(0);
    expect(b.ptr >= a.ptr + 20 || a.ptr >= b.ptr + 24).toBe(true);
    a.view.fill(7);
    const bytes = heap.liveBytes;
    a.free();
    expect(heap.liveBytes).toBe(bytes - a.bytes);
    const c = heap.allocate("int32", 4, true)!; // 16 bytes: class 16, not a's class 32 (20 bytes rounded up)
    const d = heap.allocate("float32", 6, true)!; // 24 bytes → class 32, like a
    expect(d.ptr).toBe(a.ptr);
    expect([...d.view]).toEqual([0, 0, 0, 0, 0, 0]); // zero-filled on reuse
    expect(c.ptr).not.toBe(a.ptr);
  });

  it("growth keeps the values and re-creates views (the old view is detached)", () => {
    const heap = new LinearHeap();
    const a = heap.allocate("float32", 4, true)!;
    a.view.set([1, 2, 3, 4]);
    const old = a.view;
    const big = heap.allocate("float32", 1 << 20, true)!; // 4 MiB: grows the memory
    expect(old.length).toBe(0); // detached by growth
    expect([...a.view]).toEqual([1, 2, 3, 4]);
    expect(big.view.length).toBe(1 << 20);
  });

  it("a block past the 4 GiB wasm32 address space is refused (null: the caller falls back to JS-heap storage), without growing", () => {
    const heap = new LinearHeap();
    const capacity = heap.capacity;
    expect(heap.allocate("float64", 2 ** 29, false)).toBeNull(); // 4 GiB of values + the reserved first page
    expect(heap.capacity).toBe(capacity);
    expect(heap.liveBlocks).toBe(0);
  });

  it("detachOnAllocate detaches every earlier view on each allocation", () => {
    const heap = new LinearHeap({ detachOnAllocate: true });
    const a = heap.allocate("float64", 2, true)!;
    const v = a.view;
    v[0] = 3;
    heap.allocate("float64", 2, true);
    expect(v.length).toBe(0);
    expect(a.view[0]).toBe(3);
  });
});

describe("dispose, tidy, memory()", () => {
  let saved: ReturnType<typeof storageBackend>;
  beforeEach(() => {
    saved = storageBackend();
  });
  afterEach(() => setStorageBackend(saved));

  for (const kind of ["js heap", "linear heap"] as const) {
    describe(kind, () => {
      beforeEach(() => setStorageBackend(kind === "js heap" ? null : new LinearHeap()));

      it("dispose releases the bytes and makes the tensor unreadable; twice is harmless", () => {
        const before = memory();
        const t = tensor([1, 2, 3], [3]);
        expect(memory().tensors).toBe(before.tensors + 1);
        expect(memory().bytes).toBeGreaterThanOrEqual(before.bytes + 12);
        t.dispose();
        t.dispose();
        expect(memory()).toEqual(before);
        expect(t.isDisposed).toBe(true);
        expect(() => t.data).toThrow(PoolkitTypeError);
        expect(() => t.data).toThrow(/disposed/);
      });

      it("reshape shares storage: the bytes stay until the last sharing tensor is disposed", () => {
        const before = memory();
        const t = zeros([2, 3]);
        const r = t.reshape([3, 2]);
        t.dispose();
        expect(memory().tensors).toBe(before.tensors + 1);
        expect([...r.data]).toEqual([0, 0, 0, 0, 0, 0]);
        r.dispose();
        expect(memory()).toEqual(before);
      });

      it("tidy disposes what fn made except what it returns (nested objects and arrays), and hands kept tensors to the outer tidy", () => {
        const before = memory();
        const x = rand([1, 2, 6, 6], { seed: 1 });
        let inner: Tensor | undefined;
        const out = tidy(() => {
          const r = tidy(() => {
            const a = maxPool2d(x, { kernelSize: 2 });
            const b = avgPool2d(x, { kernelSize: 2 });
            inner = a;
            return { pair: [a], n: 3 };
          });
          expect(inner?.isDisposed).toBe(false);
          const kept = keep(softPool2d(x, { kernelSize: 2 }));
          zeros([4]);
          return { r, kept };
        });
        expect(out.r.pair[0]?.isDisposed).toBe(false);
        expect(out.kept.isDisposed).toBe(false);
        expect(memory().tensors).toBe(before.tensors + 3); // x, the max output, the kept softPool output
        x.dispose();
        out.r.pair[0]?.dispose();
        out.kept.dispose();
        expect(memory()).toEqual(before);
      });

      it("tidy disposes everything when fn throws, and rejects async functions", () => {
        const before = memory();
        expect(() =>
          tidy(() => {
            zeros([3]);
            throw new Error("boom");
          }),
        ).toThrow("boom");
        expect(memory()).toEqual(before);
        expect(() => tidy(() => Promise.resolve(zeros([1])))).toThrow(/tidy: fn must be synchronous/);
        expect(memory()).toEqual(before);
        expect(() => tidy(3 as unknown as () => void)).toThrow(/^tidy: expected a function/);
      });

      it("an op on a disposed tensor throws a clear error instead of reading freed memory", () => {
        const x = rand([1, 1, 4, 4], { seed: 2 });
        const { backward } = tidy(() => {
          const r = maxPool2d.vjp(x, { kernelSize: 2 });
          return { backward: r.backward };
        });
        expect(() => backward(zeros([1, 1, 2, 2]))).toThrow(/disposed/);
        x.dispose();
        expect(() => maxPool2d(x, { kernelSize: 2 })).toThrow(/disposed/);
      });
    });
  }

  it("10,000 forward+backward iterations under tidy leave memory() flat (linear heap: no growth either)", () => {
    const heap = new LinearHeap();
    setStorageBackend(heap);
    const x = rand([2, 3, 8, 8], { seed: 5 });
    const dy = rand([2, 3, 4, 4], { seed: 6 });
    const step = (): void =>
      tidy(() => {
        const m = maxPool2d.vjp(x, { kernelSize: 2 });
        const a = avgPool2d.vjp(x, { kernelSize: 3, stride: 2, padding: 1 });
        m.backward(dy);
        a.backward(dy);
      });
    step();
    const before = memory();
    const capacity = heap.capacity;
    for (let i = 0; i < 10_000; i++) step();
    expect(memory()).toEqual(before);
    expect(heap.capacity).toBe(capacity);
    x.dispose();
    dy.dispose();
  });
});

describe("10,000 forward+backward iterations under tidy, per backend", () => {
  const cases: [string, BackendName, number][] = [
    ["js (JS-heap storage, TypeScript kernels)", "js", 1],
    ["wasm-simd, one thread", "wasm-simd", 1],
    ["wasm-simd, 2 threads (every call split)", "wasm-simd", 2],
  ];
  for (const [label, backend, threads] of cases) {
    it(`${label}: memory() flat, and the storage does not grow (JS-heap pool or linear heap)`, async () => {
      const prev = getBackend();
      setBackend(backend);
      await setThreads(threads);
      if (threads > 1) {
        setMinPartBytes(0);
        setClaimMode("workers");
      }
      try {
        expect(getThreads()).toBe(threads);
        // dx is 64 KiB: large enough for the JS-heap pool
        const x = rand([2, 2, 64, 64], { seed: 5 });
        const dy = rand([2, 2, 32, 32], { seed: 6 });
        const step = (): void =>
          tidy(() => {
            const m = maxPool2d.vjp(x, { kernelSize: 2 });
            const a = avgPool2d.vjp(x, { kernelSize: 3, stride: 2, padding: 1 });
            m.backward(dy);
            a.backward(dy);
          });
        for (let i = 0; i < 3; i++) step();
        const wasm = activeWasm();
        const size = (): unknown => ({ ...memory(), pool: heapPoolInfo(), heap: wasm?.heap.capacity ?? 0, top: wasm?.heap.top ?? 0 });
        const before = size();
        const parts = wasm?.pool?.stats.workerParts ?? 0;
        for (let i = 0; i < 10_000; i++) step();
        expect(size()).toEqual(before);
        if (threads > 1) expect((wasm?.pool?.stats.workerParts ?? 0) - parts).toBeGreaterThanOrEqual(10_000 * 4);
        x.dispose();
        dy.dispose();
      } finally {
        setMinPartBytes(undefined);
        setClaimMode("both");
        await setThreads(1);
        setBackend(prev);
      }
    }, 300_000);
  }
});

describe("setBackend / getBackend", () => {
  let before: BackendName;
  beforeEach(() => {
    before = getBackend();
  });
  afterEach(() => setBackend(before));

  it("switches where new tensors live; tensors made before stay valid under the other backend", () => {
    setBackend("js");
    expect(getBackend()).toBe("js");
    const a = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    expect(a.storage.heap).toBeNull();
    setBackend("wasm");
    expect(getBackend()).toBe("wasm");
    const b = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    expect(b.storage.heap).not.toBeNull();
    expect([...maxPool2d(a, { kernelSize: 2 }).data]).toEqual([4]);
    setBackend("js");
    expect([...maxPool2d(b, { kernelSize: 2 }).data]).toEqual([4]);
  });

  it("rejects unknown names with the valid ones", () => {
    expect(() => setBackend("webgl" as BackendName)).toThrow(PoolkitTypeError);
    expect(() => setBackend("webgl" as BackendName)).toThrow(/^setBackend: expected "wasm-simd", "wasm" or "js", got "webgl"/);
  });

  it("the test-mode storage detaches views: an op result's view read before another op is empty afterwards", () => {
    const heap = useDetachingStorage("js");
    try {
      const x = rand([1, 1, 4, 4], { seed: 3 });
      const view = x.data;
      zeros([1]);
      expect(view.length).toBe(0);
      expect(x.data.length).toBe(16);
      expect(heap.detachOnAllocate).toBe(true);
    } finally {
      setBackend(before);
    }
  });
});

describe("FinalizationRegistry safety net", () => {
  it("tensors dropped without dispose() are released after garbage collection (linear blocks go back to the free list)", async () => {
    const { setFlagsFromString } = await import("node:v8");
    const { runInNewContext } = await import("node:vm");
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const saved = storageBackend();
    const heap = new LinearHeap();
    setStorageBackend(heap);
    try {
      const before = memory();
      (() => {
        // distinct sizes: one job keeps at most a few same-class escaped blocks in linear memory (alloc.ts)
        for (let i = 0; i < 50; i++) zeros([1000 + 64 * i]);
      })();
      expect(memory().tensors).toBe(before.tensors + 50);
      expect(heap.liveBlocks).toBe(50);
      for (let attempt = 0; attempt < 20 && heap.liveBlocks > 0; attempt++) {
        gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      // (earlier tests' undisposed tensors may be collected too, so memory() can drop below `before`)
      expect(heap.liveBlocks).toBe(0);
      expect(heap.liveBytes).toBe(0);
      expect(memory().tensors).toBeLessThanOrEqual(before.tensors);
    } finally {
      setStorageBackend(saved);
    }
  });
});

describe("POOLKIT_BACKEND (Node, read on first use)", () => {
  // runs the built package (npm test builds first) in a fresh process per value
  const run = async (value: string): Promise<string> => {
    const { spawnSync } = await import("node:child_process");
    const entry = new URL("../../dist/index.js", import.meta.url).href;
    const script = `import(${JSON.stringify(entry)}).then((m) => { try { m.tensor([1]); console.log(m.getBackend()); } catch (e) { console.log(e.constructor.name + " " + e.message); } })`;
    const r = spawnSync(process.execPath, ["-e", script], { env: { ...process.env, POOLKIT_BACKEND: value }, encoding: "utf8" });
    return r.stdout.trim();
  };
  it("forces a backend, and an unknown name is a clear error at the first allocation", async () => {
    expect(await run("js")).toBe("js");
    expect(await run("wasm")).toBe("wasm");
    expect(await run("wasm-simd")).toBe("wasm-simd");
    expect(await run("webgpu")).toBe('PoolkitTypeError POOLKIT_BACKEND: expected "wasm-simd", "wasm" or "js", got "webgpu"');
    expect(await run("")).toBe("wasm-simd"); // empty = unset: the fastest available
  }, 60_000);
});
