import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FFTPlan, dft, fftPlan } from "../../src/linalg/fft.js";
import { Generator } from "../../src/tensor/random.js";
import { expectClose } from "../helpers/close.js";

function randomComplex(n: number, seed: number): Float64Array {
  const g = new Generator(seed);
  const d = new Float64Array(2 * n);
  for (let i = 0; i < d.length; i++) d[i] = g.normal();
  return d;
}

describe("FFTPlan", () => {
  it("matches a hand-computed transform: FFT([1, 2, 3]) and FFT([1, 0, 0, 0, 0, 0])", () => {
    // [1,2,3]: X0 = 6, X1 = 1 + 2ω + 3ω², ω = e^{-2πi/3}: X1 = -1.5 + 0.866025i, X2 = conj(X1)
    const d = new Float64Array([1, 0, 2, 0, 3, 0]);
    new FFTPlan(3).forward(d);
    expectClose(d, [6, 0, -1.5, Math.sqrt(3) / 2, -1.5, -Math.sqrt(3) / 2], { atol: 1e-12, rtol: 0 });
    const e = new Float64Array(12);
    e[0] = 1;
    new FFTPlan(6).forward(e);
    expectClose(e, [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0], { atol: 1e-12, rtol: 0 });
  });

  it("length 1 is the identity, and lengths must be positive integers", () => {
    const d = new Float64Array([2.5, -1]);
    const p = new FFTPlan(1);
    p.forward(d);
    p.inverse(d);
    expect([...d]).toEqual([2.5, -1]);
    expect(() => new FFTPlan(0)).toThrow("fft: length must be a positive integer, got 0");
    expect(() => new FFTPlan(2.5)).toThrow("fft: length must be a positive integer, got 2.5");
    expect(() => new FFTPlan(4).forward(new Float64Array(6))).toThrow("fft: data must hold 4 interleaved complex values (length 8), got length 6");
  });

  it("forward and inverse equal the direct DFT for random sizes (powers of two and Bluestein)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 1e6 }), (n, seed) => {
        const x = randomComplex(n, seed);
        const f = x.slice();
        fftPlan(n).forward(f);
        expectClose(f, dft(x), { atol: 1e-9 * n, rtol: 1e-9 });
        const b = x.slice();
        fftPlan(n).inverse(b);
        expectClose(b, dft(x, true), { atol: 1e-10, rtol: 1e-9 });
      }),
      { numRuns: 60 },
    );
  });

  it("inverse(forward(x)) = x at MCB's length 16000 and at 8192", () => {
    for (const n of [16000, 8192]) {
      const x = randomComplex(n, n);
      const y = x.slice();
      const p = fftPlan(n);
      p.forward(y);
      // spot-check a few bins against the direct sum
      for (const k of [0, 1, 7, n - 1]) {
        let re = 0;
        let im = 0;
        for (let j = 0; j < n; j++) {
          const a = (-2 * Math.PI * ((j * k) % n)) / n;
          re += (x[2 * j] as number) * Math.cos(a) - (x[2 * j + 1] as number) * Math.sin(a);
          im += (x[2 * j] as number) * Math.sin(a) + (x[2 * j + 1] as number) * Math.cos(a);
        }
        expect(Math.abs((y[2 * k] as number) - re)).toBeLessThan(1e-8);
        expect(Math.abs((y[2 * k + 1] as number) - im)).toBeLessThan(1e-8);
      }
      p.inverse(y);
      expectClose(y, x, { atol: 1e-11, rtol: 0 });
    }
  });

  it("fftPlan caches plans per length", () => {
    expect(fftPlan(12)).toBe(fftPlan(12));
    expect(fftPlan(12)).not.toBe(fftPlan(16));
  });
});
