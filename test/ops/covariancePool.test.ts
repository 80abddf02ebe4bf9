import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { getBackend, setBackend, setThreads } from "../../src/backends/index.js";
import { setMinPartBytes } from "../../src/backends/wasm/threads.js";
import { covariancePool, setCovarianceEigPathForTesting } from "../../src/ops/covariancePool.js";
import { symEig } from "../../src/linalg/eigen.js";
import { gramFactor, gramSpectralApply, gramSpectralBackward, logGramPhi, logGramQ, sqrtGramPhi, sqrtGramQ } from "../../src/linalg/gramSpectral.js";
import { centredRows, sym } from "../../src/linalg/matrix.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { expected, fromJSON, loadFixture } from "../helpers/fixtures.js";
import { gradcheck } from "../helpers/gradcheck.js";
import { gramF32Bound } from "../helpers/gramBound.js";

/**
 * The Gram route's φ and Q (src/linalg/gramSpectral.ts) for G's descending eigenvalues: sqrtm keeps
 * those above MATLAB's single-precision eps(λ_max) = 2^(⌊log2 λ_max⌋ − 23), as MPN-COV's EIG.m does.
 */
function gramPhiQ(values: Float64Array, normalization: "logm" | "sqrtm", eps: number, m: number): { phi: Float64Array; q: Float64Array } {
  if (normalization === "logm") return { phi: logGramPhi(values, eps, m), q: logGramQ(values, eps, m) };
  const l0 = values[0] as number;
  const thr = l0 > 0 ? 2 ** (Math.floor(Math.log2(l0)) - 23) : Infinity;
  let kept = 0;
  while (kept < m && (values[kept] as number) > thr) kept++;
  return { phi: sqrtGramPhi(values, kept, eps, m), q: sqrtGramQ(values, kept, eps, m) };
}

const X = (dtype: "float32" | "float64" = "float64"): Tensor => tensor([1, 2, 3, 4, 2, 0, 1, 3], [1, 2, 2, 2], dtype);
const ones3 = tensor([1, 1, 1], [1, 3], "float64");

function randomX(shape: number[], seed: number): Tensor {
  const gen = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Array.from({ length: n }, () => gen.normal()), shape, "float64");
}

/** Full D × D matrix of image b from an `output: "full"` result. */
function mat(t: Tensor, b: number, d: number): Float64Array {
  return Float64Array.from(t.data.subarray(b * d * d, (b + 1) * d * d));
}

describe("covariancePool: shape / smoke", () => {
  it("triu [N, D(D+1)/2] and full [N, D, D] in both dtypes; outputShape agrees", () => {
    for (const dtype of ["float32", "float64"] as const) {
      for (const normalization of ["logm", "sqrtm", "newton-schulz", "none"] as const) {
        const x = tensor(randomX([2, 3, 4, 4], 1).data, [2, 3, 4, 4], dtype);
        const y = covariancePool(x, { normalization });
        expect(y.shape).toEqual([2, 6]);
        expect(y.dtype).toBe(dtype);
        expect(covariancePool.outputShape(x.shape, { normalization })).toEqual([2, 6]);
        const f = covariancePool(x, { normalization, output: "full" });
        expect(f.shape).toEqual([2, 3, 3]);
        expect(covariancePool.outputShape(x.shape, { normalization, output: "full" })).toEqual([2, 3, 3]);
      }
    }
  });
  it("does not mutate x; backward may be called twice", () => {
    const x = randomX([1, 3, 2, 3], 2);
    const before = Array.from(x.data);
    const { backward } = covariancePool.vjp(x, { normalization: "sqrtm" });
    const dy = tensor([1, 2, 3, 4, 5, 6], [1, 6], "float64");
    expect(Array.from(backward(dy)[0]!.data)).toEqual(Array.from(backward(dy)[0]!.data));
    expect(Array.from(x.data)).toEqual(before);
  });
  it("guards a constant map (C = 0): finite outputs, zero gradients", () => {
    const x = tensor(new Float64Array(12).fill(2), [1, 3, 2, 2], "float64");
    for (const normalization of ["logm", "sqrtm", "newton-schulz", "none"] as const) {
      const { output, backward } = covariancePool.vjp(x, { normalization });
      const want = normalization === "logm" ? [Math.log(1e-3), 0, 0, Math.log(1e-3), 0, Math.log(1e-3)] : [0, 0, 0, 0, 0, 0];
      expectClose(output.data, want, { atol: 1e-12 });
      expectClose(backward(tensor([1, 2, 3, 4, 5, 6], [1, 6], "float64"))[0]!.data, new Float64Array(12), { atol: 1e-12 });
    }
  });
});

describe("covariancePool: eps is the regularised covariance C + εI for every normalisation", () => {
  // Spec §3 example: X = [[1,2,3,4],[2,0,1,3]] has C = [[1.25, 0.5], [0.5, 1.25]], eigenvectors
  // (1, ±1)/√2 with eigenvalues 1.75 and 0.75. With ε = 0.1: C + εI = [[1.35, .5], [.5, 1.35]] and
  // sqrtm(C + εI) = [[a, b], [b, a]] with a = (√1.85 + √0.85)/2, b = (√1.85 − √0.85)/2 (by hand).
  const X2 = () => tensor([1, 2, 3, 4, 2, 0, 1, 3], [1, 2, 2, 2], "float64");
  const a = (Math.sqrt(1.85) + Math.sqrt(0.85)) / 2;
  const b = (Math.sqrt(1.85) - Math.sqrt(0.85)) / 2;
  it('"none" outputs C + εI', () => {
    expectClose(covariancePool(X2(), { normalization: "none", eps: 0.1 }).data, [1.35, 0.5, 1.35], { atol: 1e-12 });
  });
  it("sqrtm and many Newton–Schulz steps agree with the hand-worked sqrtm(C + εI)", () => {
    expectClose(covariancePool(X2(), { normalization: "sqrtm", eps: 0.1 }).data, [a, b, a], { atol: 1e-12 });
    expectClose(covariancePool(X2(), { normalization: "newton-schulz", eps: 0.1, iterations: 30 }).data, [a, b, a], { atol: 1e-9 });
  });
  it("one options object serves all four normalisations (iterations only changes newton-schulz)", () => {
    const withIt = covariancePool(X2(), { normalization: "logm", eps: 1e-3, iterations: 3 });
    const without = covariancePool(X2(), { normalization: "logm", eps: 1e-3 });
    expect([...withIt.data]).toEqual([...without.data]);
  });
  it("gradcheck with ε for none and newton-schulz", () => {
    const x = tensor([0.3, -1.2, 0.8, 2.1, 0.5, 1.7, -0.4, 0.9, 1.1, -0.6, 0.2, 1.4], [1, 3, 2, 2], "float64");
    for (const normalization of ["none", "newton-schulz"] as const) {
      gradcheck(([t]) => covariancePool.vjp(t!, { normalization, eps: 0.05, iterations: 4 }), [x]);
    }
  });
});

describe("covariancePool: errors", () => {
  const x = X();
  it("rejects unknown normalisations, misplaced options and wrong ranks", () => {
    expect(() => covariancePool(x, { normalization: "expm" as never })).toThrow('covariancePool: normalization must be one of "logm", "sqrtm", "newton-schulz", "none", got "expm"');
    expect(() => covariancePool(x, { normalization: "logm", eps: 0 })).toThrow("covariancePool: eps must be > 0, got 0");
    expect(() => covariancePool(x, { normalization: "sqrtm", eps: -1 })).toThrow("covariancePool: eps must be >= 0, got -1");
    expect(() => covariancePool(x, { normalization: "none", eps: -1 })).toThrow("covariancePool: eps must be >= 0, got -1");
    expect(() => covariancePool(x, { normalization: "logm", iterations: 0 })).toThrow("covariancePool: iterations must be an integer and >= 1 and <= 100, got 0");
    expect(() => covariancePool(x, { normalization: "newton-schulz", iterations: 0 })).toThrow("covariancePool: iterations must be an integer and >= 1 and <= 100, got 0");
    expect(() => covariancePool(x, { output: "vec" as never })).toThrow('covariancePool: output must be one of "triu", "full", got "vec"');
    expect(() => covariancePool(x, { norm: "logm" } as never)).toThrow('covariancePool: unknown option "norm"');
    expect(() => covariancePool(tensor(new Float32Array(8), [2, 2, 2]))).toThrow("covariancePool: x must have shape [N, D, H, W], got [2, 2, 2]");
    expect(() => covariancePool(tensor(new Float32Array(0), [1, 2, 0, 2]))).toThrow("covariancePool: x must have non-empty channel and spatial dims, got shape [1, 2, 0, 2]");
  });
});

describe("covariancePool: values", () => {
  it("a NaN or ∞ input gives NaN (value and gradient) for sqrtm and newton-schulz, not a silent 0; other images are unaffected", () => {
    // Image 0 holds a NaN (or ∞, whose centring gives ∞ − ∞ = NaN); image 1 is docs/methods/covariance.md's worked X (C = [[1.25, .5], [.5, 1.25]]).
    for (const bad of [NaN, Infinity]) {
      const x = tensor([1, bad, 3, 4, 2, 0, 1, 3, 1, 2, 3, 4, 2, 0, 1, 3], [2, 2, 2, 2], "float64");
      for (const normalization of ["sqrtm", "newton-schulz"] as const) {
        const { output, backward } = covariancePool.vjp(x, { normalization });
        expect(Array.from(output.data.subarray(0, 3)).every(Number.isNaN)).toBe(true);
        // Image 1: sqrtm of [[1.25, .5], [.5, 1.25]] — docs/methods/covariance.md "Worked numbers": MPN-COV triu [1.094451, 0.228425, 1.094451] (N = 5 agrees to 1e-6).
        expectClose(output.data.subarray(3, 6), [1.094451, 0.228425, 1.094451], { atol: 2e-6, rtol: 0 });
        const dx = backward(tensor([1, 1, 1, 1, 1, 1], [2, 3], "float64"))[0]!.data;
        expect(Array.from(dx.subarray(0, 8)).every(Number.isNaN)).toBe(true);
        expect(Array.from(dx.subarray(8)).every(Number.isFinite)).toBe(true);
      }
    }
  });
  it("reproduces docs/methods/covariance.md's worked numbers", () => {
    const run = (opts: object): [number[], number[]] => {
      const { output, backward } = covariancePool.vjp(X(), opts);
      return [Array.from(output.data), Array.from(backward(ones3)[0]!.data)];
    };
    const tol = { atol: 1e-6, rtol: 0 };
    let [y, g] = run({ normalization: "none" });
    expectClose(y, [1.25, 0.5, 1.25], tol);
    [y, g] = run({ normalization: "logm", eps: 1e-3 });
    expectClose(y, [0.136919, 0.423268, 0.136919], tol);
    expectClose(g, [-0.547053, -0.261882, 0.166445, 0.64249, 0.118726, -0.594771, -0.166445, 0.64249], tol);
    [y, g] = run({ normalization: "sqrtm" });
    expectClose(y, [1.094451, 0.228425, 1.094451], tol);
    expectClose(g, [-0.286074, -0.211305, 0.072169, 0.42521, 0.002601, -0.355642, -0.072169, 0.42521], tol);
    [y, g] = run({ normalization: "newton-schulz", iterations: 3 });
    expectClose(y, [1.089002, 0.233864, 1.089002], tol);
    expectClose(g, [-0.292475, -0.2025, 0.07649, 0.418485, 0.013485, -0.35548, -0.07649, 0.418485], tol);
    [y] = run({ normalization: "newton-schulz", iterations: 5 });
    expectClose(y, [1.09445, 0.228425, 1.09445], tol);
  });
  it("eigendecomposition (own Jacobi) agrees with ml-matrix on random and clustered symmetric matrices", () => {
    const gen = new Generator(5);
    for (let trial = 0; trial < 20; trial++) {
      const n = 1 + (trial % 7);
      const b = Array.from({ length: n * n }, () => gen.normal());
      const a = new Float64Array(n * n);
      // clustered spectrum on odd trials: A = B Bᵀ / n + I·1e3 (eigenvalues 1e3 + small)
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += (b[i * n + k] as number) * (b[j * n + k] as number);
        a[i * n + j] = s / n + (trial % 2 === 1 && i === j ? 1e3 : 0);
      }
      const mine = symEig(a, n);
      const ref = new EigenvalueDecomposition(new Matrix(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, i * n + n)))), { assumeSymmetric: true });
      const want = [...ref.realEigenvalues].sort((p, q) => q - p);
      expectClose(mine.values, want, { atol: 1e-11, rtol: 1e-12 });
      // V diag(λ) Vᵀ reconstructs A and V is orthogonal
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        let r = 0;
        let o = 0;
        for (let k = 0; k < n; k++) {
          r += (mine.vectors[i * n + k] as number) * (mine.values[k] as number) * (mine.vectors[j * n + k] as number);
          o += (mine.vectors[k * n + i] as number) * (mine.vectors[k * n + j] as number);
        }
        expect(Math.abs(r - (a[i * n + j] as number))).toBeLessThan(1e-11);
        expect(Math.abs(o - (i === j ? 1 : 0))).toBeLessThan(1e-13);
      }
    }
  });
  const fx = loadFixture("downstream_cov.json");
  for (const dtype of ["float32", "float64"] as const) {
    it(`matches the PyTorch references (output and autograd gradient) in ${dtype}: ${fx.cases.length} cases`, () => {
      const tol = tolFor(dtype);
      let n = 0;
      for (const c of fx.cases) {
        if (dtype === "float32" && c.f64only) continue;
        const { output, backward } = covariancePool.vjp(fromJSON(c.x, dtype), c.options);
        expect([...output.shape], c.name).toEqual(c.y.shape);
        expectClose(output.data, expected(c.y).data, tol, `${c.name} y`);
        const [dx] = backward(fromJSON(c.dy, dtype));
        expectClose(dx!.data, expected(c.dx).data, tol, `${c.name} dx`);
        n++;
      }
      expect(n).toBeGreaterThan(90);
    });
  }
});

describe("covariancePool: gradcheck", () => {
  const cases: [string, object][] = [
    ["none", { normalization: "none" }],
    ["logm", { normalization: "logm", eps: 1e-2 }],
    ["sqrtm", { normalization: "sqrtm" }],
    ["sqrtm eps", { normalization: "sqrtm", eps: 0.1 }],
    ["newton-schulz 1", { normalization: "newton-schulz", iterations: 1 }],
    ["newton-schulz 4", { normalization: "newton-schulz", iterations: 4 }],
    ["logm full", { normalization: "logm", output: "full" }],
    ["newton-schulz full", { normalization: "newton-schulz", output: "full" }],
  ];
  for (const [name, opts] of cases) {
    it(`float64 finite differences: ${name}`, () => {
      gradcheck(([t]) => covariancePool.vjp(t!, opts), [randomX([2, 3, 2, 3], 3)], { atol: 1e-6, rtol: 1e-5 });
    });
  }
  it("float64 finite differences: newton-schulz 5 and 7 at D = 6 (the backward's forward-carried derivative through every middle step)", () => {
    for (const iterations of [5, 7]) {
      gradcheck(([t]) => covariancePool.vjp(t!, { normalization: "newton-schulz", iterations }), [randomX([2, 6, 3, 3], 11)], { atol: 1e-6, rtol: 1e-5 });
    }
  });
  it("float64 finite differences: rank-deficient sqrtm and logm (D = 4, M = 3)", () => {
    gradcheck(([t]) => covariancePool.vjp(t!, { normalization: "sqrtm" }), [randomX([1, 4, 1, 3], 8)], { atol: 1e-6, rtol: 1e-5 });
    gradcheck(([t]) => covariancePool.vjp(t!, { normalization: "logm" }), [randomX([1, 4, 1, 3], 8)], { atol: 1e-5, rtol: 1e-5 });
  });
});

/** Matrix exponential of a symmetric matrix through its eigendecomposition (ml-matrix, independent). */
function expmSym(a: Float64Array, n: number): Float64Array {
  const e = new EigenvalueDecomposition(new Matrix(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, i * n + n)))), { assumeSymmetric: true });
  const v = e.eigenvectorMatrix;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += v.get(i, k) * Math.exp(e.realEigenvalues[k] as number) * v.get(j, k);
    out[i * n + j] = s;
  }
  return out;
}

describe("covariancePool: properties", () => {
  const arb = fc.record({ d: fc.integer({ min: 1, max: 5 }), h: fc.integer({ min: 1, max: 4 }), w: fc.integer({ min: 1, max: 4 }), seed: fc.nat() });
  it("output: full is symmetric, and triu is its upper triangle row by row", () => {
    fc.assert(
      fc.property(arb, fc.constantFrom("logm" as const, "sqrtm" as const, "newton-schulz" as const, "none" as const), ({ d, h, w, seed }, normalization) => {
        const x = randomX([2, d, h, w], seed);
        const f = covariancePool(x, { normalization, output: "full" });
        const t = covariancePool(x, { normalization });
        for (let b = 0; b < 2; b++) {
          const m = mat(f, b, d);
          let o = b * ((d * (d + 1)) / 2);
          for (let i = 0; i < d; i++) {
            for (let j = 0; j < d; j++) expect(m[i * d + j]).toBe(m[j * d + i]);
            for (let j = i; j < d; j++) expect(t.data[o++]).toBe(m[i * d + j]);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
  it("logm followed by a matrix exponential gives back C + εI", () => {
    fc.assert(
      fc.property(arb, fc.constantFrom(1e-3, 1e-1), ({ d, h, w, seed }, eps) => {
        const x = randomX([1, d, h, w], seed);
        const c = mat(covariancePool(x, { normalization: "none", output: "full" }), 0, d);
        const l = mat(covariancePool(x, { normalization: "logm", eps, output: "full" }), 0, d);
        const back = expmSym(l, d);
        for (let i = 0; i < d; i++) c[i * d + i] = (c[i * d + i] as number) + eps;
        expectClose(back, c, { atol: 1e-10, rtol: 1e-8 });
      }),
      { numRuns: 60 },
    );
  });
  it("Newton–Schulz with many iterations approaches sqrtm (full-rank features)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.nat(), (d, seed) => {
        const x = randomX([1, d, 3, 4], seed);
        const sq = covariancePool(x, { normalization: "sqrtm" });
        const n30 = covariancePool(x, { normalization: "newton-schulz", iterations: 30 }).data;
        const s = [...sq.data]; // a copy: a view may not outlive another op call
        expectClose(n30, s, { atol: 1e-9, rtol: 1e-7 });
        // and the error shrinks with the number of iterations
        const err = (it: number): number => {
          const v = covariancePool(x, { normalization: "newton-schulz", iterations: it }).data;
          return Math.max(...Array.from(v, (q, i) => Math.abs(q - (s[i] as number))));
        };
        expect(err(8)).toBeLessThanOrEqual(err(2) + 1e-12);
      }),
      { numRuns: 40 },
    );
  });
});

describe("covariancePool: scale, range and non-finite input", () => {
  const scaledT = (x: Tensor, s: number): Tensor => tensor(Array.from(x.data, (v) => v * s), [...x.shape], "float64");
  it("sqrtm of x·s is s·sqrtm(x) for s = 1e80, 1e-80 (the old solver returned exact zeros off the diagonal at 1e80)", () => {
    for (const shape of [[1, 3, 2, 3], [2, 12, 3, 3]]) {
      const x = randomX(shape, 21);
      const ref = covariancePool(x, { normalization: "sqrtm", output: "full" });
      for (const s of [1e80, 1e-80]) {
        const y = covariancePool(scaledT(x, s), { normalization: "sqrtm", output: "full" });
        expectClose(Array.from(y.data, (v) => v / s), ref.data, { atol: 1e-12, rtol: 1e-9 }, `s = ${s}`);
        const d = shape[1] as number;
        expect(Math.abs(y.data[1] as number)).toBeGreaterThan(0);
        expect(Math.abs(y.data[d] as number)).toBeGreaterThan(0);
      }
    }
  });
  it("logm of x·s is 2·log(s)·I + logm(C + (ε/s²)I): checked at s = 1e80 against the eigenvalues of C", () => {
    const x = randomX([1, 10, 3, 4], 22);
    const s = 1e80;
    const y = covariancePool(scaledT(x, s), { normalization: "logm", output: "full" });
    // reference: logm(C) (ε/s² is negligible) from ml-matrix, plus 2·log(s) on the diagonal
    const c = covariancePool(x, { normalization: "none", output: "full" }).data as Float64Array;
    const e = new EigenvalueDecomposition(new Matrix(Array.from({ length: 10 }, (_, i) => Array.from(c.subarray(i * 10, i * 10 + 10)))), { assumeSymmetric: true });
    const v = e.eigenvectorMatrix;
    for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) {
      let r = i === j ? 2 * Math.log(s) : 0;
      for (let k = 0; k < 10; k++) r += v.get(i, k) * Math.log(e.realEigenvalues[k] as number) * v.get(j, k);
      expect(Math.abs((y.data[i * 10 + j] as number) - r)).toBeLessThan(1e-9);
    }
  });
  it("an image with a NaN or ±∞ element gets NaN output and gradient under logm, sqrtm and newton-schulz; the other image is unaffected", () => {
    const x = randomX([2, 10, 2, 2], 23);
    const g = randomX([2, 55], 24);
    for (const normalization of ["logm", "sqrtm", "newton-schulz"] as const) {
      const ref = covariancePool.vjp(x, { normalization });
      const [dref] = ref.backward(g);
      for (const bad of [NaN, Infinity, -Infinity]) {
        const xb = tensor(Array.from(x.data), [2, 10, 2, 2], "float64");
        xb.data[7] = bad;
        const { output, backward } = covariancePool.vjp(xb, { normalization });
        expect(Array.from(output.data.subarray(0, 55)).every(Number.isNaN), `${normalization} ${bad}`).toBe(true);
        expect(Array.from(output.data.subarray(55))).toEqual(Array.from(ref.output.data.subarray(55)));
        const [dx] = backward(g);
        expect(Array.from(dx!.data.subarray(0, 40)).every(Number.isNaN)).toBe(true);
        expect(Array.from(dx!.data.subarray(40))).toEqual(Array.from(dref!.data.subarray(40)));
      }
    }
  });
});

describe("covariancePool: maxDim", () => {
  it("refuses D > maxDim (default 1024) for logm, sqrtm and newton-schulz, in the op and outputShape; not for none", () => {
    for (const normalization of ["logm", "sqrtm", "newton-schulz"] as const) {
      expect(() => covariancePool.outputShape([1, 1025, 1, 1], { normalization })).toThrow(
        new RegExp(`covariancePool: normalization "${normalization}" with D = 1025 exceeds maxDim = 1024.*pass \\{ maxDim: 1025 \\}`),
      );
      expect(covariancePool.outputShape([1, 1025, 1, 1], { normalization, maxDim: 1025 })).toEqual([1, 525825]);
    }
    expect(covariancePool.outputShape([1, 1025, 1, 1], { normalization: "none" })).toEqual([1, 525825]);
    const x = randomX([1, 6, 2, 2], 3);
    expect(() => covariancePool(x, { maxDim: 5 })).toThrow(/covariancePool: normalization "logm" with D = 6 exceeds maxDim = 5/);
    expect(covariancePool(x, { maxDim: 6 }).shape).toEqual([1, 21]);
    expect(covariancePool(x, { maxDim: Infinity }).shape).toEqual([1, 21]);
    for (const bad of [0, 2.5, -3, "7"]) expect(() => covariancePool(x, { maxDim: bad as number })).toThrow(/covariancePool: maxDim must be/);
  });
});

describe("covariancePool: the QL eigensolver path (D > 8) against the Jacobi path", () => {
  it("logm and sqrtm outputs and gradients of a graded, rank-deficient covariance (D = 24, M = 12) agree", async () => {
    const { symEig } = await import("../../src/linalg/eigen.js");
    // reference: the op's formulas evaluated with Jacobi's eigendecomposition (relatively accurate)
    const d = 24;
    const gen = new Generator(31);
    const data: number[] = [];
    for (let i = 0; i < d; i++) for (let t = 0; t < 12; t++) data.push(gen.normal() * 10 ** (-i / 6));
    const x = tensor(data, [1, d, 3, 4], "float64");
    const c = covariancePool(x, { normalization: "none", output: "full" }).data as Float64Array;
    const j = symEig(c, d, "jacobi");
    for (const normalization of ["logm", "sqrtm"] as const) {
      const y = covariancePool(x, { normalization, output: "full" });
      const lmax = j.values[0] as number;
      const f = Array.from(j.values, (l) => (normalization === "logm" ? Math.log(Math.max(l, 0) + 1e-3) : l > 2 ** (Math.floor(Math.log2(lmax)) - 23) ? Math.sqrt(l) : 0));
      for (let r = 0; r < d; r++) for (let s = 0; s < d; s++) {
        let want = 0;
        for (let k = 0; k < d; k++) want += (j.vectors[r * d + k] as number) * (f[k] as number) * (j.vectors[s * d + k] as number);
        expect(Math.abs((y.data[r * d + s] as number) - want), `${normalization} [${r},${s}]`).toBeLessThan(1e-9);
      }
    }
  });
});

describe("covariancePool: newton-schulz on float32 input runs the matrix core's float32 path", () => {
  // Every product of a float32 input's iteration (forward and backward) is a float32-arithmetic GEMM
  // (gemmF32: |Δ| ≤ (k + 2)·u·|A||B| per product, u = 2⁻²⁴). A = C/tr(C) has eigenvalues in [0, 1] and
  // the iterates stay O(1), so the ≤ 3K products of K iterations give, normwise, at most
  // 3K·(D + 2)·u·max|ref| against the float64 path on the same (float32-valued) input — the stated bound.
  for (const backend of ["wasm-simd", "wasm", "js"] as const) {
    it(`${backend}: forward and gradient within 3K·(D+2)·u of the float64 result (D = 1, 17, 64; K = 1, 3, 5)`, () => {
      const before = getBackend();
      setBackend(backend);
      try {
        for (const [d, k] of [[1, 1], [17, 3], [64, 5], [64, 1]] as const) {
          const x64 = randomX([2, d, 5, 7], 40 + d);
          const x32 = tensor(Float32Array.from(x64.data), [...x64.shape], "float32");
          const xr = tensor(Float64Array.from(x32.data), [...x64.shape], "float64");
          const opts = { normalization: "newton-schulz" as const, iterations: k };
          const r64 = covariancePool.vjp(xr, opts);
          const r32 = covariancePool.vjp(x32, opts);
          const gen = new Generator(7);
          const g = Float32Array.from({ length: r64.output.size }, () => gen.normal());
          const d64 = r64.backward(tensor(Float64Array.from(g), [...r64.output.shape], "float64"))[0]!.data;
          const d32 = r32.backward(tensor(g, [...r64.output.shape], "float32"))[0]!.data;
          expect(r32.output.dtype).toBe("float32");
          const bound = 3 * k * (d + 2) * 2 ** -24;
          for (const [got, want, what] of [[r32.output.data, r64.output.data, "y"], [d32, d64, "dx"]] as const) {
            let err = 0;
            let mag = 0;
            for (let i = 0; i < want.length; i++) {
              err = Math.max(err, Math.abs((got[i] as number) - (want[i] as number)));
              mag = Math.max(mag, Math.abs(want[i] as number));
            }
            expect(mag, `${backend} D ${d} K ${k} ${what}`).toBeGreaterThan(0);
            expect(err, `${backend} D ${d} K ${k} ${what}: max error ${err} vs bound ${bound * mag}`).toBeLessThanOrEqual(bound * mag);
          }
        }
      } finally {
        setBackend(before);
      }
    });
  }
});

describe("covariancePool: the Gram route (M < D: eigenproblem of the M × M Xcᵀ·Xc/M) against the dense route (D × D C)", () => {
  /**
   * X (D × M) = Σ_k s_k·u_k·w_kᵀ with u_k orthonormal in R^D and w_k orthonormal in R^M and ⊥ 1, so
   * X is already centred and C = X·Xᵀ/M has eigenvalues s_k²/M exactly (as far as X's rounding goes).
   */
  function spectrumX(d: number, m: number, s: readonly number[], seed: number): number[] {
    const gen = new Generator(seed);
    const orth = (n: number, count: number, first: number[] | null): number[][] => {
      const basis: number[][] = first ? [first.map((v) => v / Math.hypot(...first))] : [];
      while (basis.length < count + (first ? 1 : 0)) {
        const v = Array.from({ length: n }, () => gen.normal());
        for (const b of basis) {
          const p = v.reduce((acc, x, i) => acc + x * (b[i] as number), 0);
          for (let i = 0; i < n; i++) v[i] = (v[i] as number) - p * (b[i] as number);
        }
        const nv = Math.hypot(...v);
        basis.push(v.map((x) => x / nv));
      }
      return first ? basis.slice(1) : basis;
    };
    const u = orth(d, s.length, null);
    const w = orth(m, s.length, new Array<number>(m).fill(1));
    const x: number[] = [];
    for (let i = 0; i < d; i++) for (let t = 0; t < m; t++) x.push(s.reduce((acc, sk, k) => acc + sk * (u[k]![i] as number) * (w[k]![t] as number), 0));
    return x;
  }
  type Kind = "random" | "graded" | "clustered" | "constant rows";
  function inputs(kind: Kind, d: number, m: number, seed: number): number[] {
    const gen = new Generator(seed);
    const x: number[] = [];
    for (let b = 0; b < 2; b++) {
      if (kind === "clustered") {
        // eigenvalue clusters {1, 1 + 1e-12, 1 + 2e-12}, {0.25, 0.25}, then 0.01 apart
        const s = [1, 1 + 1e-12, 1 + 2e-12, 0.5, 0.5, 0.3, 0.2, 0.1].slice(0, m - 1).map((v) => v * Math.sqrt(m));
        x.push(...spectrumX(d, m, s, seed + b));
        continue;
      }
      for (let i = 0; i < d; i++) for (let t = 0; t < m; t++) {
        // graded: position t scaled by 10^(−t/3), singular values spread over 10^(−(M−1)/3): the sqrtm
        // truncation keeps some and drops others with nonzero eigenvalues (the kept × dropped terms)
        let v = gen.normal();
        if (kind === "graded") v *= 10 ** (-t / 3);
        if (kind === "constant rows" && i % 2 === 0) v = 3;
        x.push(v);
      }
    }
    return x;
  }
  const u = 2 ** -53;
  /** The upstream gradient run() uses (float32-exact values). */
  const upstream = (size: number): number[] => {
    const gen = new Generator(99);
    return Array.from({ length: size }, () => Math.fround(gen.normal()));
  };
  const run = (x: Tensor, opts: object, route: "gram" | "dense"): [Float64Array, Float64Array] => {
    setCovarianceEigPathForTesting(route);
    try {
      const { output, backward } = covariancePool.vjp(x, { ...opts, output: "full" });
      const g = upstream(output.size);
      const dx = backward(tensor(x.dtype === "float32" ? Float32Array.from(g) : g, [...output.shape], x.dtype))[0]!;
      return [Float64Array.from(output.data), Float64Array.from(dx.data)];
    } finally {
      setCovarianceEigPathForTesting(null);
    }
  };
  // Tolerance: both routes are backward-stable float64 eigendecompositions of the same C (the Gram one
  // through G = ZᵀZ, which carries C's nonzero spectrum), each within ~D·u·λ_max of exact, and the
  // spectral function and its gradient move by at most their largest (first or second) divided difference
  // times that: relative to the largest entry of the result, κ = 1 + λ_max/ε for logm (f' ≤ 1/ε) and
  // κ = 1 + λ_max/λ_k for sqrtm (λ_k the smallest kept eigenvalue: f[λ_i, λ_j] ≤ 1/(2√λ_k),
  // f[λ_i, λ_j, 0] up to 1/λ_k^{3/2}). Bound δ = 8·D·u·κ·max|ref|. A float32 input: both compute in float64
  // and round each entry once, so |a − b| ≤ 1.01·(δ + 2⁻²³·|b|) — plus, for the gradient, the Gram route's
  // float32 products (gramSpectralBackward's float32 path) within test/helpers/gramBound.ts's derived bound.
  /** gramF32Bound for image b of x (float32 input) and run()'s upstream gradient, from the Gram factor of its float64 copy. */
  function f32ProductBound(x: Tensor, b: number, d: number, m: number, opts: { normalization: "logm" | "sqrtm"; eps?: number }, ref: Float64Array): Float64Array {
    const xc = centredRows(Float64Array.from(x.data), b * d * m, d, m);
    const fac = gramFactor(xc, d, m)!;
    const eps = opts.eps ?? (opts.normalization === "logm" ? 1e-3 : 0);
    const { phi, q } = gramPhiQ(fac.values, opts.normalization, eps, m);
    const g = upstream(2 * d * d).slice(b * d * d, (b + 1) * d * d);
    const gs = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) gs[i * d + j] = 0.5 * ((g[i * d + j] as number) + (g[j * d + i] as number));
    return gramF32Bound(fac, phi, q, gs, d, m, ref, b * d * m);
  }
  const backends = ["js", "wasm", "wasm-simd"] as const;
  for (const backend of backends) {
    it(`${backend}: forward and gradient agree (random, graded, clustered, constant rows; logm ε 1e-3, 1e-6; sqrtm ε 0, 0.01; float64 and float32)`, () => {
      const before = getBackend();
      setBackend(backend);
      try {
        const shapes: [number, number][] = [[10, 4], [40, 12], [64, 33], [30, 2], [12, 1], [9, 8]];
        const settings = [{ normalization: "logm", eps: 1e-3 }, { normalization: "logm", eps: 1e-6 }, { normalization: "sqrtm" }, { normalization: "sqrtm", eps: 0.01 }] as const;
        let compared = 0;
        for (const kind of ["random", "graded", "clustered", "constant rows"] as const) {
          for (const [d, m] of shapes) {
            const data = inputs(kind, d, m, d * 7 + m);
            for (const dtype of ["float64", "float32"] as const) {
              const x = tensor(dtype === "float32" ? Float32Array.from(data) : data, [2, d, 1, m], dtype);
              const c = covariancePool(tensor(Float64Array.from(x.data), [2, d, 1, m], "float64"), { normalization: "none", output: "full" }).data as Float64Array;
              for (const opts of settings) {
                const [yg, dg] = run(x, opts, "gram");
                const [yd, dd] = run(x, opts, "dense");
                for (let b = 0; b < 2; b++) {
                  const lam = symEig(c.slice(b * d * d, (b + 1) * d * d), d, "jacobi").values;
                  const lmax = Math.max(lam[0] as number, 0);
                  const eps = "eps" in opts ? opts.eps : 0;
                  let kappa = 1;
                  if (opts.normalization === "logm") kappa += lmax / eps;
                  else {
                    const thr = lmax > 0 ? 2 ** (Math.floor(Math.log2(lmax)) - 23) : Infinity;
                    let lk = lmax;
                    for (const l of lam) if (l > thr) lk = l;
                    if (lmax > 0) kappa += lmax / lk;
                  }
                  const f32 = dtype === "float32" ? f32ProductBound(x, b, d, m, opts, dg) : null;
                  for (const [got, want, what, per] of [[yg, yd, "y", d * d], [dg, dd, "dx", d * m]] as const) {
                    const g = got.subarray(b * per, (b + 1) * per);
                    const w = want.subarray(b * per, (b + 1) * per);
                    let mag = 0;
                    for (const v of w) mag = Math.max(mag, Math.abs(v));
                    const delta = 8 * d * u * kappa * mag;
                    for (let i = 0; i < per; i++) {
                      const bound = dtype === "float64" ? delta : 1.01 * (delta + 2 ** -23 * Math.abs(w[i] as number)) + (what === "dx" ? ((f32 as Float64Array)[i] as number) : 0);
                      const err = Math.abs((g[i] as number) - (w[i] as number));
                      if (!(err <= bound)) expect.fail(`${kind} D ${d} M ${m} ${dtype} ${JSON.stringify(opts)} image ${b} ${what}[${i}]: ${g[i]} vs ${w[i]}, |Δ| ${err} > ${bound} (κ ${kappa})`);
                    }
                    compared++;
                  }
                }
              }
            }
          }
        }
        expect(compared).toBe(4 * 6 * 2 * 4 * 2 * 2);
      } finally {
        setBackend(before);
      }
    });
  }
  it("the op takes the Gram route exactly when M < D (bit-identical to the forced route)", () => {
    for (const [d, m] of [[5, 4], [6, 6], [4, 9], [9, 1]] as const) {
      const x = randomX([1, d, 1, m], 60 + d);
      for (const normalization of ["logm", "sqrtm"] as const) {
        const [y, dx] = run(x, { normalization }, m < d ? "gram" : "dense");
        const auto = covariancePool.vjp(x, { normalization, output: "full" });
        const g = upstream(auto.output.size);
        expect(Array.from(auto.output.data)).toEqual(Array.from(y));
        expect(Array.from(auto.backward(tensor(g, [...auto.output.shape], "float64"))[0]!.data)).toEqual(Array.from(dx));
      }
    }
  });
  it("float64 finite differences through the Gram route: M = 1, 2, 3, constant rows, two images, triu and full", () => {
    const withConstantRows = (shape: number[], seed: number): Tensor => {
      const x = randomX(shape, seed);
      const m = (shape[2] as number) * (shape[3] as number);
      for (let i = 0; i < m; i++) x.data[i] = 1.5; // image 0, channel 0 constant
      for (let i = 2 * m; i < 3 * m; i++) x.data[i] = -2; // image 0, channel 2 constant
      return x;
    };
    const cases: [number[], Tensor][] = [
      [[1, 5, 1, 1], randomX([1, 5, 1, 1], 70)],
      [[1, 5, 1, 2], randomX([1, 5, 1, 2], 71)],
      [[2, 6, 1, 3], randomX([2, 6, 1, 3], 72)],
      [[2, 7, 2, 2], withConstantRows([2, 7, 2, 2], 73)],
      [[1, 9, 2, 3], randomX([1, 9, 2, 3], 74)],
    ];
    for (const [, x] of cases) {
      for (const opts of [{ normalization: "logm" }, { normalization: "logm", eps: 0.05, output: "full" }, { normalization: "sqrtm" }, { normalization: "sqrtm", eps: 0.1, output: "full" }] as const) {
        gradcheck(([t]) => covariancePool.vjp(t!, opts), [x], { atol: 1e-5, rtol: 1e-5 });
      }
    }
  });
  it("NaN / ±∞ input: NaN output and gradient for that image on both routes; the other image unaffected", () => {
    const x = randomX([2, 10, 2, 2], 23);
    const g = randomX([2, 55], 24);
    for (const route of ["gram", "dense"] as const) {
      setCovarianceEigPathForTesting(route);
      try {
        for (const normalization of ["logm", "sqrtm"] as const) {
          const ref = covariancePool.vjp(x, { normalization });
          const [dref] = ref.backward(g);
          for (const bad of [NaN, Infinity, -Infinity, 1e200]) {
            const xb = tensor(Array.from(x.data), [2, 10, 2, 2], "float64");
            xb.data[5] = bad;
            const { output, backward } = covariancePool.vjp(xb, { normalization });
            expect(Array.from(output.data.subarray(0, 55)).every(Number.isNaN), `${route} ${normalization} ${bad}`).toBe(true);
            expect(Array.from(output.data.subarray(55))).toEqual(Array.from(ref.output.data.subarray(55)));
            const [dx] = backward(g);
            expect(Array.from(dx!.data.subarray(0, 40)).every(Number.isNaN)).toBe(true);
            expect(Array.from(dx!.data.subarray(40))).toEqual(Array.from(dref!.data.subarray(40)));
          }
        }
      } finally {
        setCovarianceEigPathForTesting(null);
      }
    }
  });
});

describe("covariancePool: the Gram route does not depend on the thread count", () => {
  const initial = getBackend();
  afterAll(async () => {
    setMinPartBytes(undefined);
    await setThreads(1);
    setBackend(initial);
  });
  it("wasm-simd, every product split (setMinPartBytes(0)): threads 1 and 2 give bit-identical logm / sqrtm outputs and gradients (D = 48, M = 25)", async () => {
    setBackend("wasm-simd");
    setMinPartBytes(0);
    const x = randomX([2, 48, 5, 5], 80);
    const g = randomX([2, 48 * 49 / 2], 81);
    const runAt = async (threads: number): Promise<number[][]> => {
      await setThreads(threads);
      return (["logm", "sqrtm"] as const).flatMap((normalization) => {
        const { output, backward } = covariancePool.vjp(x, { normalization });
        return [Array.from(output.data), Array.from(backward(g)[0]!.data)];
      });
    };
    const one = await runAt(1);
    const two = await runAt(2);
    expect(two).toEqual(one);
  });
});

describe("covariancePool: the Gram route's batched forward and backward against the per-image reference (gramFactor + gramSpectralApply, gramSpectralBackward)", () => {
  // the op centres every image into one tensor, computes every Y in one batched GEMM and every f(C) in one
  // batched SYRK over zero-padded W; the reference does each image alone with the gramSpectral functions
  // the gradient per image with gramSpectralBackward (Ḡ symmetrised with sym)
  function referenceGrad(x: Tensor, normalization: "logm" | "sqrtm", eps: number, full: boolean, dy: Float64Array): Float64Array {
    const [n, d, h, w] = x.shape as [number, number, number, number];
    const m = h * w;
    const per = full ? d * d : (d * (d + 1)) / 2;
    const dx = x.dtype === "float32" ? new Float32Array(n * d * m) : new Float64Array(n * d * m);
    for (let b = 0; b < n; b++) {
      const fac = gramFactor(centredRows(x.data, b * d * m, d, m), d, m);
      if (fac === null) {
        dx.fill(NaN, b * d * m, (b + 1) * d * m);
        continue;
      }
      const { phi, q } = gramPhiQ(fac.values, normalization, eps, m);
      const gm = new Float64Array(d * d);
      let o = b * per;
      if (full) for (let i = 0; i < d * d; i++) gm[i] = dy[o++] as number;
      else for (let i = 0; i < d; i++) for (let j = i; j < d; j++) gm[i * d + j] = dy[o++] as number;
      gramSpectralBackward(fac, phi, q, sym(gm, d), d, m, dx, b * d * m);
    }
    return Float64Array.from(dx);
  }
  function reference(x: Tensor, normalization: "logm" | "sqrtm", eps: number, full: boolean): Float64Array {
    const [n, d, h, w] = x.shape as [number, number, number, number];
    const m = h * w;
    const per = full ? d * d : (d * (d + 1)) / 2;
    const y = new Float64Array(n * per);
    for (let b = 0; b < n; b++) {
      const fac = gramFactor(centredRows(x.data, b * d * m, d, m), d, m);
      if (fac === null) {
        y.fill(NaN, b * per, (b + 1) * per);
        continue;
      }
      const { phi } = gramPhiQ(fac.values, normalization, eps, m);
      const f = gramSpectralApply(fac, phi, normalization === "logm" ? Math.log(eps) : 0, d, m);
      let o = b * per;
      if (full) for (let i = 0; i < d * d; i++) y[o++] = f[i] as number;
      else for (let i = 0; i < d; i++) for (let j = i; j < d; j++) y[o++] = f[i * d + j] as number;
    }
    return y;
  }
  const initial = getBackend();
  afterAll(async () => {
    await setThreads(1);
    setBackend(initial);
  });
  for (const backend of ["js", "wasm", "wasm-simd"] as const) {
    for (const threads of backend === "js" ? [1] : [1, 2]) {
      it(`${backend}, ${threads} thread(s): bit-identical outputs and gradients (float32 / float64, logm / sqrtm, triu / full, a constant image, a NaN image)`, async () => {
        setBackend(backend);
        await setThreads(threads);
        let compared = 0;
        for (const [n, d, m] of [[3, 40, 12], [2, 70, 36], [1, 9, 1]] as const) {
          const data = Float64Array.from(randomX([n, d, 1, m], 90 + d).data);
          // image 1 (when there is one): constant rows (C = 0); a second run puts a NaN into image 0
          if (n > 1) data.fill(0.25, d * m, 2 * d * m);
          for (const withNaN of [false, true]) {
            const v = Float64Array.from(data);
            if (withNaN) v[3] = NaN;
            for (const dtype of ["float64", "float32"] as const) {
              const x = tensor(dtype === "float32" ? Float32Array.from(v) : v, [n, d, 1, m], dtype);
              for (const [normalization, eps] of [["logm", 1e-3], ["sqrtm", 0], ["sqrtm", 0.01]] as const) {
                for (const output of ["triu", "full"] as const) {
                  const got = covariancePool(x, { normalization, eps, output }).data;
                  const want = reference(x, normalization, eps, output === "full");
                  expect(Array.from(got)).toEqual(Array.from(dtype === "float32" ? Float32Array.from(want) : want));
                  const per = output === "full" ? d * d : (d * (d + 1)) / 2;
                  const dy = Float64Array.from(randomX([n, per], 7 + d).data);
                  const vjp = covariancePool.vjp(x, { normalization, eps, output });
                  const dyT = tensor(dtype === "float32" ? Float32Array.from(dy) : dy, [...vjp.output.shape], dtype);
                  const dx = vjp.backward(dyT)[0]!.data;
                  expect(Array.from(dx)).toEqual(Array.from(referenceGrad(x, normalization, eps, output === "full", Float64Array.from(dyT.data))));
                  compared++;
                }
              }
            }
          }
        }
        expect(compared).toBe(3 * 2 * 2 * 3 * 2);
      });
    }
  }
});
