import { describe, expect, it } from "vitest";
import { Generator, manualSeed, generatorFor, rand } from "../src/tensor/random.js";

describe("Generator", () => {
  it("same seed, same sequence; different seeds differ", () => {
    const a = new Generator(42);
    const b = new Generator(42);
    const c = new Generator(43);
    const sa = Array.from({ length: 8 }, () => a.nextUint32());
    const sb = Array.from({ length: 8 }, () => b.nextUint32());
    const sc = Array.from({ length: 8 }, () => c.nextUint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it("produces a fixed, platform-independent sequence (golden values)", () => {
    // These values pin the algorithm (xoshiro128** seeded by SplitMix32): a change here breaks
    // every saved seed, so it must be deliberate. They were computed once with a Python
    // transcription of the published algorithm (scripts/golden_rng.py), not by this code.
    const g = new Generator(1);
    const got = Array.from({ length: 4 }, () => g.nextUint32());
    expect(got).toEqual(GOLDEN_SEED1);
  });

  it("uniform values lie in [0, 1) and uniform24 is float32-exact", () => {
    const g = new Generator(7);
    for (let i = 0; i < 10000; i++) {
      const u = g.uniform();
      const v = g.uniform24();
      expect(u >= 0 && u < 1).toBe(true);
      expect(v >= 0 && v < 1).toBe(true);
      expect(Math.fround(v)).toBe(v);
    }
  });

  it("int(n) is unbiased enough: a chi-square test over 6 bins passes", () => {
    const g = new Generator(123);
    const counts = new Array(6).fill(0);
    const draws = 60000;
    for (let i = 0; i < draws; i++) counts[g.int(6)]++;
    const e = draws / 6;
    const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
    expect(chi2).toBeLessThan(20.5); // 5 dof, p = 0.001
  });

  it("permutation is a permutation", () => {
    const p = new Generator(5).permutation(50);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("rejects non-integer seeds", () => {
    expect(() => new Generator(1.5)).toThrow(/Generator: seed must be a safe integer, got 1.5/);
    expect(() => generatorFor(NaN, "mixedPool2d")).toThrow(/^mixedPool2d: seed must be a safe integer/);
  });

  it("manualSeed resets the global generator", () => {
    manualSeed(9);
    const a = rand([5]).data.slice();
    manualSeed(9);
    const b = rand([5]).data.slice();
    expect([...a]).toEqual([...b]);
    expect([...rand([5], { seed: 3 }).data]).toEqual([...rand([5], { seed: 3 }).data]);
  });
});

const GOLDEN_SEED1: number[] = [2442144158, 3238099751, 3819917871, 2104621829];
