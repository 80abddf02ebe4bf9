import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { caffeGeometry } from "../src/geometry/caffe.js";
import { slidingAxis, slidingOutputSize, slidingGeometry, adaptiveAxis, adaptiveBin, fractionalStarts } from "../src/geometry/index.js";

describe("sliding windows (PyTorch Pool.h)", () => {
  it("output sizes match the spec's checked table", () => {
    // downstream spec §2, verified against torch: [In, k, s, p, d, ceil, out]
    const table: [number, number, number, number, number, boolean, number][] = [
      [5, 2, 2, 0, 1, true, 3],
      [6, 3, 2, 1, 1, true, 4],
      [7, 3, 2, 1, 2, false, 3],
      [7, 3, 2, 1, 2, true, 3],
      [10, 3, 3, 1, 1, true, 4],
      [5, 3, 3, 1, 1, true, 2], // third window would start in the right padding
    ];
    for (const [i, k, s, p, d, c, o] of table) expect(slidingOutputSize(i, k, s, p, d, c)).toBe(o);
  });

  it("avg divisor with padding clips at In + p (spec: [1..6], k3 s2 p1 ceil)", () => {
    const a = slidingAxis(6, 3, 2, 1, 1, true);
    expect([...a.start]).toEqual([0, 1, 3, 5]);
    expect([...a.end]).toEqual([2, 4, 6, 6]);
    expect([...a.padCount]).toEqual([3, 3, 3, 2]);
  });

  it("dilated windows stay on the dilation grid when they start in the padding", () => {
    const a = slidingAxis(7, 3, 2, 1, 2, false); // starts -1, 1, 3 → first tap 1 for the first window
    expect([...a.start]).toEqual([1, 1, 3]);
    expect([...a.end]).toEqual([4, 6, 7]);
    expect(a.step).toBe(2);
  });

  it("rejects padding over half the kernel with the op name, argument and value", () => {
    expect(() => slidingGeometry("maxPool2d", { kernelSize: 3, padding: 2 }, 2)).toThrow(
      "maxPool2d: padding must be at most half the kernel size, got padding 2 for kernelSize 3",
    );
    expect(() => slidingGeometry("maxPool2d", { kernelSize: 0 }, 2)).toThrow(/maxPool2d: kernelSize must be positive integers, got 0/);
    expect(() => slidingGeometry("maxPool1d", { kernelSize: 2.5 }, 1)).toThrow(/maxPool1d: kernelSize must be positive integers, got 2.5/);
    expect(() => slidingGeometry("avgPool2d", { kernelSize: [2, 2, 2] }, 2)).toThrow(/avgPool2d: kernelSize must be a number or an array of 2 numbers/);
    expect(() => slidingGeometry("maxPool2d", {}, 2)).toThrow(/maxPool2d: kernelSize is required/);
  });

  it("windows lie in the input, and are non-empty without dilation (property)", () => {
    // With dilation a window can miss the input entirely (In=1, k=2, d=2, p=1: taps at -1 and 1).
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        (inSize, k, s, d, p, ceil) => {
          const eff = (k - 1) * d + 1;
          fc.pre(p <= Math.floor(eff / 2));
          const o = slidingOutputSize(inSize, k, s, p, d, ceil);
          fc.pre(o >= 1);
          const a = slidingAxis(inSize, k, s, p, d, ceil);
          for (let i = 0; i < o; i++) {
            expect(a.start[i]!).toBeGreaterThanOrEqual(0);
            expect(a.end[i]!).toBeLessThanOrEqual(inSize);
            if (d === 1) expect(a.start[i]!).toBeLessThan(a.end[i]!);
          }
        },
      ),
    );
  });
});

describe("adaptive bins", () => {
  it("match the spec's table", () => {
    const bins = (i: number, o: number) => {
      const a = adaptiveAxis(i, o);
      return [...a.start].map((s, j) => [s, a.end[j]]);
    };
    expect(bins(5, 3)).toEqual([[0, 2], [1, 4], [3, 5]]);
    expect(bins(10, 4)).toEqual([[0, 3], [2, 5], [5, 8], [7, 10]]);
    expect(bins(3, 5)).toEqual([[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]]);
  });
});

describe("fractional intervals (PyTorch generate_intervals)", () => {
  it("float32 arithmetic differs from float64 where the spec says it does", () => {
    expect([...fractionalStarts(7, 4, 2, Math.fround(0.8), "float32")]).toEqual([0, 1, 3, 5]);
    expect([...fractionalStarts(7, 4, 2, 0.8, "float64")]).toEqual([0, 2, 3, 5]);
  });
  it("spec worked example: L=7, K=2, O=4, u=0.3 (width) and 0.5 (height)", () => {
    expect([...fractionalStarts(7, 4, 2, Math.fround(0.3), "float32")]).toEqual([0, 2, 3, 5]);
    expect([...fractionalStarts(7, 4, 2, Math.fround(0.5), "float32")]).toEqual([0, 2, 4, 5]);
  });
});

describe("sliding windows at absurd sizes", () => {
  /** The windows by the old definition: step from o·s − p through the padding tap by tap. */
  function steppedAxis(inSize: number, k: number, s: number, p: number, d: number, ceil: boolean) {
    const out = slidingOutputSize(inSize, k, s, p, d, ceil);
    const start: number[] = [];
    const end: number[] = [];
    const pad: number[] = [];
    for (let o = 0; o < out; o++) {
      let hs = o * s - p;
      end.push(Math.min(hs + (k - 1) * d + 1, inSize));
      pad.push(Math.min(hs + (k - 1) * d + 1, inSize + p) - hs);
      while (hs < 0) hs += d;
      start.push(hs);
    }
    return { start, end, pad };
  }

  it("the first in-bounds tap found by division equals stepping through the padding (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        fc.nat(),
        (inSize, k, s, d, ceil, pr) => {
          const p = pr % (Math.floor(((k - 1) * d + 1) / 2) + 1);
          if (slidingOutputSize(inSize, k, s, p, d, ceil) < 1) return;
          const a = slidingAxis(inSize, k, s, p, d, ceil);
          const want = steppedAxis(inSize, k, s, p, d, ceil);
          expect([...a.start]).toEqual(want.start);
          expect([...a.end]).toEqual(want.end);
          expect([...a.padCount]).toEqual(want.pad);
        },
      ),
    );
  });

  it("kernel 2e9 + 1 with padding 1e9 on 64 elements: 64 windows covering the input, planned without walking the padding", () => {
    for (const [k, p] of [[2e9 + 1, 1e9], [2e13 + 1, 1e13]]) {
      const a = slidingAxis(64, k!, 1, p!, 1, false);
      expect(a.outSize).toBe(64);
      expect([...a.start]).toEqual(new Array(64).fill(0));
      expect([...a.end]).toEqual(new Array(64).fill(64));
    }
  });

  it("count_include_pad divisors past 2^31 − 1 are kept exactly (an Int32Array wrapped 3e9 + 1 to a negative number)", () => {
    const a = slidingAxis(1, 3000000001, 1, 1500000000, 1, false);
    expect([...a.padCount]).toEqual([3000000001]);
  });

  it("a window that misses the input with its first tap past 2^31 − 1 stays empty (start clamped, not wrapped)", () => {
    const a = slidingAxis(1, 2, 1, 2.5e9, 5e9, false);
    expect(a.outSize).toBe(1);
    expect(a.start[0]!).toBeGreaterThanOrEqual(a.end[0]!);
  });

  it("kernel spans and strides past 2^51 are refused with the op name (float64 window arithmetic would be inexact)", () => {
    expect(() => slidingGeometry("maxPool1d", { kernelSize: 2 ** 53 + 1 }, 1)).toThrow(/^maxPool1d: the effective kernel size .* must be at most 2\^51/);
    expect(() => slidingGeometry("avgPool2d", { kernelSize: 3, dilation: 2 ** 51 }, 2)).toThrow(/^avgPool2d: the effective kernel size/);
    expect(() => slidingGeometry("lpPool1d", { kernelSize: 2, stride: 1e300 }, 1)).toThrow(/^lpPool1d: .*stride must be at most 2\^51/);
    expect(slidingGeometry("maxPool1d", { kernelSize: 2 ** 51 }, 1).kernelSize).toEqual([2 ** 51]);
    // Caffe windows (stochastic, gated, tree pooling) share the limit
    expect(() => caffeGeometry("stochasticPool2d", 3, 1e300, 2)).toThrow(/^stochasticPool2d: the effective kernel size .* stride must be at most 2\^51/);
  });
});

describe("adaptive bins past 2^53", () => {
  it("adaptiveBin is exact when i·In exceeds 2^53 (BigInt reference)", () => {
    const cases: [number, number, number][] = [
      [0, 1e8 + 7, 1e8],
      [99999999, 1e8 + 7, 1e8],
      [123456789, 2147483647, 2147483646],
      [2147483645, 2147483647, 2147483646],
      [5, 7, 3],
    ];
    for (const [i, In, Out] of cases) {
      const s = Number((BigInt(i) * BigInt(In)) / BigInt(Out));
      const e = Number(((BigInt(i) + 1n) * BigInt(In) + BigInt(Out) - 1n) / BigInt(Out));
      expect(adaptiveBin(i, In, Out), `${i} ${In} ${Out}`).toEqual([s, e]);
    }
    // the float formula is wrong here: the reason for the BigInt path
    const i = 2147483645, In = 2147483647, Out = 2147483646;
    expect(Math.floor((i * In) / Out)).not.toBe(Number((BigInt(i) * BigInt(In)) / BigInt(Out)));
  });
});
