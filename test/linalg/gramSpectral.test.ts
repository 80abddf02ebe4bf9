import { describe, expect, it } from "vitest";
import { getBackend, setBackend } from "../../src/backends/index.js";
import { gramFactor, gramSpectralBackward, logGramPhi, logGramQ, sqrtGramPhi, sqrtGramQ } from "../../src/linalg/gramSpectral.js";
import { Generator } from "../../src/tensor/random.js";
import { gramF32Bound } from "../helpers/gramBound.js";

/** Gauss–Legendre nodes and weights on [0, 1] (Newton on P_n from the Chebyshev guesses). */
function gaussLegendre(n: number): { x: number[]; w: number[] } {
  const x: number[] = [];
  const w: number[] = [];
  for (let i = 1; i <= n; i++) {
    let z = Math.cos((Math.PI * (i - 0.25)) / (n + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = z;
      for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * z * p1 - (k - 1) * p0) / k];
      dp = (n * (z * p1 - p0)) / (z * z - 1);
      const dz = p1 / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-16) break;
    }
    x.push((1 - z) / 2);
    w.push(1 / ((1 - z * z) * dp * dp));
  }
  return { x, w };
}

/**
 * The second divided difference f[a, b, 0] by the Hermite–Genocchi formula ∫∫_{s,t ≥ 0, s+t ≤ 1}
 * f''(s·a + t·b) ds dt (Duffy map s = p, t = (1 − p)·q, 60 × 60 Gauss–Legendre): independent of the
 * closed forms and of the series, exact to rounding for f'' analytic on a neighbourhood of [0, max(a, b)]
 * (here a, b ≤ ε: f'' = −1/(λ + ε)² has its pole at −ε).
 */
function hermiteGenocchi(f2: (l: number) => number, a: number, b: number): number {
  const { x, w } = gaussLegendre(60);
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const p = x[i] as number;
    for (let j = 0; j < x.length; j++) s += (w[i] as number) * (w[j] as number) * (1 - p) * f2(p * a + (1 - p) * (x[j] as number) * b);
  }
  return s;
}

describe("logGramPhi, logGramQ: divided differences f[λ, 0] and f[λ_i, λ_j, 0] of f(λ) = log(max(λ, 0) + ε)", () => {
  const eps = 1e-3;
  it("φ: log1p(λ/ε)/λ, its series below λ/ε = 0.01 (continuous across), 1/ε at λ ≤ 0", () => {
    const lam = Float64Array.from([5, 1e-3, 1.01e-5, 0.99e-5, 1e-9, 1e-300, 0, -1e-12]);
    const phi = logGramPhi(lam, eps, lam.length);
    for (let i = 0; i < 4; i++) {
      const l = lam[i] as number;
      // the series branch (i = 3) against the closed form at the same point: both accurate there
      expect(Math.abs((phi[i] as number) - Math.log1p(l / eps) / l)).toBeLessThanOrEqual(4e-16 / eps);
    }
    expect(Math.abs((phi[4] as number) - (1 - 0.5e-6 + 1e-12 / 3) / eps)).toBeLessThanOrEqual(2e-16 / eps);
    for (const i of [5, 6, 7]) expect(phi[i]).toBe(1 / eps);
  });
  it("Q is symmetric and matches the Hermite–Genocchi integral for λ ≤ ε (series and closed-form branches, λ = 0, clamped λ < 0)", () => {
    const f2 = (l: number): number => -1 / ((l + eps) * (l + eps));
    const xs = [0, 1e-300, 1e-12, 1e-6, 0.005, 0.00999, 0.0101, 0.05, 0.3, 1];
    const lam = Float64Array.from([...xs.map((x) => x * eps).reverse(), -1e-15]);
    const m = lam.length;
    const q = logGramQ(lam, eps, m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
      expect(q[i * m + j]).toBe(q[j * m + i]);
      const want = hermiteGenocchi(f2, Math.max(lam[i] as number, 0), Math.max(lam[j] as number, 0));
      const got = q[i * m + j] as number;
      // the closed form (a/ε > 0.01) cancels: relative error ≲ 4u·ε/a ≤ 2e-13; the series ≤ 1e-15
      expect(Math.abs(got - want), `λ ${lam[i]}, ${lam[j]}: ${got} vs ${want}`).toBeLessThanOrEqual(2e-13 * Math.abs(want));
    }
  });
  it("Q for separated λ ≥ ε: the three-point formula f(a)/((a−b)a) + f(b)/((b−a)b) + f(0)/(ab)", () => {
    const lam = Float64Array.from([7, 2, 0.5, 0.01]);
    const q = logGramQ(lam, eps, 4);
    const f = (l: number): number => Math.log(l + eps);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
      if (i === j) continue;
      const a = lam[i] as number;
      const b = lam[j] as number;
      const want = f(a) / ((a - b) * a) + f(b) / ((b - a) * b) + f(0) / (a * b);
      expect(Math.abs((q[i * 4 + j] as number) - want)).toBeLessThanOrEqual(1e-12 * Math.abs(want));
    }
  });
});

describe("sqrtGramPhi, sqrtGramQ: MPN-COV's truncated square root (√(λ + ε) on the kept, 0 on the dropped and at 0)", () => {
  for (const eps of [0, 0.01]) {
    it(`ε = ${eps}: φ and Q against the three-point divided difference, kept and dropped`, () => {
      // kept: 4, 1, 0.25; dropped: 1e-9, −1e-12 (rounding noise)
      const lam = Float64Array.from([4, 1, 0.25, 1e-9, -1e-12]);
      const kept = 3;
      const f = (i: number): number => (i < kept ? Math.sqrt((lam[i] as number) + eps) : 0);
      const phi = sqrtGramPhi(lam, kept, eps, 5);
      for (let i = 0; i < 5; i++) expect(Math.abs((phi[i] as number) - f(i) / (lam[i] as number))).toBeLessThanOrEqual(1e-15 * Math.abs(phi[i] as number));
      const q = sqrtGramQ(lam, kept, eps, 5);
      for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) {
        expect(q[i * 5 + j]).toBe(q[j * 5 + i]);
        const a = lam[i] as number;
        const b = lam[j] as number;
        // f[a, b, 0] with f(0) = 0 (the null space is dropped); a = b: the limit (f'(a) − f[a, 0])/a
        const want = i === j ? (i < kept ? (0.5 / f(i) - f(i) / a) / a : 0) : f(i) / ((a - b) * a) + f(j) / ((b - a) * b);
        expect(Math.abs((q[i * 5 + j] as number) - want), `${i}, ${j}`).toBeLessThanOrEqual(1e-12 * Math.abs(want));
      }
    });
  }
  it("no overflow of an intermediate at λ ~ 10¹⁶⁰ or 10⁻¹⁶⁰ (Q = −1/(r_i·r_j·(r_i + r_j)) at ε = 0)", () => {
    for (const s of [1e160, 1e-160]) {
      const lam = Float64Array.from([4 * s, s]);
      const q = sqrtGramQ(lam, 2, 0, 2);
      const r = [2 * Math.sqrt(s), Math.sqrt(s)];
      const want = -1 / (r[0]! * r[1]! * (r[0]! + r[1]!));
      expect(Math.abs((q[1] as number) - want)).toBeLessThanOrEqual(1e-15 * Math.abs(want));
      expect(Number.isFinite(q[0] as number) && Number.isFinite(q[3] as number)).toBe(true);
    }
  });
});

describe("gramSpectralBackward: float32 products for a float32 gradient, within the derived bound of the float64 products", () => {
  // bound: test/helpers/gramBound.ts (gemmF32's per-product bound carried through the four products)
  for (const backend of ["js", "wasm", "wasm-simd"] as const) {
    it(`${backend}: logm (ε 1e-3, 1e-5) and sqrtm (ε 0, 0.01); random, graded and constant-row inputs; D up to 300 (k past GEMM_KC)`, () => {
      const before = getBackend();
      setBackend(backend);
      try {
        let checked = 0;
        for (const [d, m, kind] of [[12, 5, "random"], [40, 17, "graded"], [33, 8, "constant rows"], [300, 20, "random"]] as const) {
          const gen = new Generator(d + m);
          const xc = new Float64Array(d * m);
          for (let i = 0; i < d; i++) {
            let mean = 0;
            for (let t = 0; t < m; t++) {
              let v = gen.normal();
              if (kind === "graded") v *= 10 ** (-t / 2);
              if (kind === "constant rows" && i % 3 === 0) v = 1;
              xc[i * m + t] = v;
              mean += v / m;
            }
            for (let t = 0; t < m; t++) xc[i * m + t] = (xc[i * m + t] as number) - mean;
          }
          const fac = gramFactor(xc, d, m)!;
          const gs = new Float64Array(d * d);
          for (let i = 0; i < d; i++) for (let j = i; j < d; j++) {
            const v = Math.fround(gen.normal());
            gs[i * d + j] = v;
            gs[j * d + i] = v;
          }
          for (const [norm, eps] of [["logm", 1e-3], ["logm", 1e-5], ["sqrtm", 0], ["sqrtm", 0.01]] as const) {
            let phi: Float64Array;
            let q: Float64Array;
            if (norm === "logm") {
              phi = logGramPhi(fac.values, eps, m);
              q = logGramQ(fac.values, eps, m);
            } else {
              const thr = 2 ** (Math.floor(Math.log2(fac.values[0] as number)) - 23);
              let kept = 0;
              while (kept < m && (fac.values[kept] as number) > thr) kept++;
              phi = sqrtGramPhi(fac.values, kept, eps, m);
              q = sqrtGramQ(fac.values, kept, eps, m);
            }
            const ref = new Float64Array(d * m);
            const got = new Float32Array(d * m);
            gramSpectralBackward(fac, phi, q, gs, d, m, ref, 0);
            gramSpectralBackward(fac, phi, q, gs, d, m, got, 0);
            const bound = gramF32Bound(fac, phi, q, gs, d, m, ref);
            let worst = 0;
            for (let i = 0; i < d * m; i++) {
              const err = Math.abs((got[i] as number) - (ref[i] as number));
              if (!(err <= (bound[i] as number))) expect.fail(`${kind} D ${d} M ${m} ${norm} ε ${eps} [${i}]: ${got[i]} vs ${ref[i]}, |Δ| ${err} > ${bound[i]}`);
              worst = Math.max(worst, err / (bound[i] as number));
            }
            // the float32 products are in use (not the float64 ones rounded at the end)
            expect(Array.from(got).some((v, i) => v !== Math.fround(ref[i] as number)), `${kind} D ${d} ${norm} ${eps}`).toBe(true);
            expect(worst).toBeGreaterThan(0);
            checked++;
          }
        }
        expect(checked).toBe(16);
      } finally {
        setBackend(before);
      }
    });
  }
});
