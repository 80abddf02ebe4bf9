/**
 * JS-heap buffer reuse (src/tensor/alloc.ts, "JS-heap buffer reuse"): under the "js" backend a
 * disposed tensor's buffer (≥ 64 KiB) goes back to a size-class free list and the next tensor of that
 * class takes it — zero-filled when asked — instead of a fresh engine buffer whose pages fault in
 * again on every call (the W2 backward regression: ~6,270 page faults a call).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sizeClass } from "../../src/backends/linear.js";
import { avgPool2d, maxPool2d } from "../../src/index.js";
import { heapPoolInfo, resetHeapPool, setStorageBackend, storageBackend } from "../../src/tensor/alloc.js";
import { rand } from "../../src/tensor/random.js";
import { emptyTensor, full, memory, tensor, tidy, zeros, type Tensor } from "../../src/tensor/tensor.js";

const BIG = 1 << 16; // 64K float32 = 256 KiB: pooled

describe("JS-heap buffer reuse", () => {
  let saved: ReturnType<typeof storageBackend>;
  let cap: number;
  beforeEach(() => {
    saved = storageBackend();
    setStorageBackend(null);
    cap = resetHeapPool();
  });
  afterEach(() => {
    resetHeapPool(cap);
    setStorageBackend(saved);
  });

  it("a disposed tensor's buffer is taken by the next tensor of its size class, zero-filled for zeros()", () => {
    const a = full([BIG], 7);
    const buf = a.data.buffer;
    expect(buf.byteLength).toBe(sizeClass(BIG * 4));
    a.dispose();
    expect(heapPoolInfo()).toEqual({ bytes: buf.byteLength, buffers: 1 });
    const b = zeros([BIG - 3], "int32"); // same class, other dtype and length
    expect(b.data.buffer).toBe(buf);
    expect(b.data.length).toBe(BIG - 3);
    expect(b.data.every((v) => v === 0)).toBe(true);
    expect(heapPoolInfo().buffers).toBe(0);
    b.dispose();
  });

  it("emptyTensor (a kernel overwrites it) reuses without zeroing; other classes and small tensors are not pooled", () => {
    const a = full([BIG], 3);
    const buf = a.data.buffer;
    a.dispose();
    const other = zeros([BIG * 2]); // another class: a fresh buffer
    expect(other.data.buffer).not.toBe(buf);
    const e = emptyTensor([BIG], "float32");
    expect(e.data.buffer).toBe(buf);
    expect(e.data[0]).toBe(3); // not zero-filled: the caller writes every element
    const small = tensor([1, 2, 3], [3]);
    small.dispose();
    expect(heapPoolInfo().buffers).toBe(0);
    other.dispose();
    e.dispose();
  });

  it("reshape shares: the buffer returns only when the last sharing tensor is disposed", () => {
    const a = zeros([BIG]);
    const r = a.reshape([256, 256]);
    a.dispose();
    expect(heapPoolInfo().buffers).toBe(0);
    r.data[5] = 1;
    r.dispose();
    expect(heapPoolInfo().buffers).toBe(1);
  });

  it("the pool holds at most its cap; past it a freed buffer is left to the collector", () => {
    resetHeapPool(sizeClass(BIG * 4) * 2);
    const ts: Tensor[] = [zeros([BIG]), zeros([BIG]), zeros([BIG])];
    for (const t of ts) t.dispose();
    expect(heapPoolInfo()).toEqual({ bytes: sizeClass(BIG * 4) * 2, buffers: 2 });
  });

  it("values are unchanged by reuse: max pooling forward+backward in a tidy loop equals its first call on fresh buffers, and takes the same buffers every iteration", () => {
    const x = rand([2, 4, 64, 64], { seed: 3 });
    const dy = rand([2, 4, 32, 32], { seed: 4 });
    const opts = { kernelSize: 3, stride: 2, padding: 1 };
    // the first call runs on fresh (engine-zeroed) buffers: the pool was emptied before the test
    const vjp0 = maxPool2d.vjp(x, opts);
    const want = vjp0.backward(dy)[0]!.data.slice();
    const wantY = vjp0.output.data.slice();
    const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => Object.is(v, b[i]));
    let bufs: ArrayBufferLike[] = [];
    const before = memory();
    for (let i = 0; i < 20; i++) {
      tidy(() => {
        const v = maxPool2d.vjp(x, opts);
        const dx = v.backward(dy)[0]!;
        const a = avgPool2d(x, { kernelSize: 2 }); // another shape in between
        a.data.fill(9); // dirty buffers go back to the pool: dx (zeros) must not see them
        expect(same(dx.data, want)).toBe(true);
        expect(same(v.output.data, wantY)).toBe(true);
        const now = [v.output.data.buffer, dx.data.buffer, a.data.buffer];
        if (i >= 2) expect(now).toEqual(bufs);
        bufs = now;
      });
    }
    expect(memory()).toEqual(before);
  });
});
