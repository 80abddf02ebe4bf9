import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, type BackendName } from "../../src/backends/index.js";
import { JACOBI_MAX_DIM, QL_MAX_DIM, symEig, symEigMethodFor, type SymEigMethod } from "../../src/linalg/eigen.js";
import { Generator } from "../../src/tensor/random.js";
import { decodeNumbers, loadFixture, type TensorJSON } from "../helpers/fixtures.js";
import { WASM } from "../helpers/wasm.js";

/** The fixture's matrices, rebuilt with the generator and the arithmetic order of scripts/fixtures/linalg_eigh.py. */
function build(kind: string, d: number, seed: number): Float64Array {
  const g = new Generator(seed);
  const uni = (rows: number, cols: number): Float64Array => {
    const out = new Float64Array(rows * cols);
    for (let i = 0; i < out.length; i++) out[i] = g.uniform() * 2 - 1;
    return out;
  };
  const a = new Float64Array(d * d);
  if (kind === "random" || kind === "clustered") {
    const b = uni(d, d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      const s = (b[i * d + j] as number) + (b[j * d + i] as number);
      a[i * d + j] = kind === "random" ? s : (i === j ? 1000 : 0) + 1e-6 * s;
    }
  } else if (kind === "multiple") {
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a[i * d + j] = 1 + (i === j ? 2 : 0);
  } else {
    const r = Math.floor((d + 3) / 4);
    const gm = uni(d, r);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc += (gm[i * r + k] as number) * (gm[j * r + k] as number);
      a[i * d + j] = acc;
    }
  }
  return a;
}

/** max |A V − V Λ| and max |VᵀV − I|. */
function quality(a: Float64Array, values: Float64Array, vectors: Float64Array, n: number): { residual: number; orth: number } {
  let residual = 0;
  let orth = 0;
  for (let i = 0; i < n; i++) for (let c = 0; c < n; c++) {
    let av = 0;
    let o = 0;
    for (let k = 0; k < n; k++) {
      av += (a[i * n + k] as number) * (vectors[k * n + c] as number);
      o += (vectors[k * n + i] as number) * (vectors[k * n + c] as number);
    }
    residual = Math.max(residual, Math.abs(av - (values[c] as number) * (vectors[i * n + c] as number)));
    orth = Math.max(orth, Math.abs(o - (i === c ? 1 : 0)));
  }
  return { residual, orth };
}

interface EighCase { kind: string; d: number; seed: number; values: TensorJSON; columns: number[]; vectors: TensorJSON }

describe("symEig against LAPACK (torch.linalg.eigh, float64)", () => {
  const fx = loadFixture<EighCase>("linalg_eigh.json");
  it("the fixture covers random, clustered, multiple and rank-deficient spectra at D = 3, 17, 64, 200, and random and rank-deficient at D = 512", () => {
    expect(fx.cases.map((c) => `${c.kind}${c.d}`).sort()).toEqual(
      ["3", "17", "64", "200"].flatMap((d) => ["random", "clustered", "multiple", "rankdef"].map((k) => `${k}${d}`)).concat(["random512", "rankdef512"]).sort(),
    );
  });
  for (const c of fx.cases) {
    const methods: SymEigMethod[] = c.d <= 64 ? ["auto", "ql", "dc", "jacobi"] : c.d <= 200 ? ["auto", "ql", "dc"] : ["auto", "dc"];
    for (const method of methods) {
      it(`${c.kind} D = ${c.d} (${method}): eigenvalues, eigenvectors up to sign, residual, orthogonality`, () => checkAgainstLapack(c, method));
    }
  }
});

// The divide-and-conquer path on the WebAssembly backends: its reduction and secular equation run in
// assembly/linalg.ts and its GEMMs in the wasm matrix core, on a workspace in linear memory.
for (const backend of WASM) {
  describe(`symEig against LAPACK on ${backend} (divide and conquer: wasm kernels)`, () => {
    let before: BackendName;
    beforeAll(() => {
      before = getBackend();
      setBackend(backend);
    });
    afterAll(() => setBackend(before));
    for (const c of loadFixture<EighCase>("linalg_eigh.json").cases.filter((x) => x.d > QL_MAX_DIM)) {
      it(`${c.kind} D = ${c.d} (dc): eigenvalues, eigenvectors up to sign, residual, orthogonality`, () => checkAgainstLapack(c, "dc"));
    }
  });
}

/** symEig(build(c), method) against the fixture: eigenvalues, eigenvectors up to sign where separated, residual, orthogonality. */
function checkAgainstLapack(c: EighCase, method: SymEigMethod): void {
  const n = c.d;
  const a = build(c.kind, n, c.seed);
  const { values, vectors } = symEig(a, n, method);
  const want = decodeNumbers(c.values.data);
  const norm = Math.max(...Array.from(want, Math.abs));
  // Backward-stable solvers: eigenvalue errors are a small multiple of ε·‖A‖.
  for (let i = 0; i < n; i++) expect(Math.abs((values[i] as number) - (want[i] as number)), `λ${i}`).toBeLessThanOrEqual(1e-13 * n * norm);
  const q = quality(a, values, vectors, n);
  expect(q.residual).toBeLessThanOrEqual(1e-14 * n * norm);
  expect(q.orth).toBeLessThanOrEqual(1e-14 * n);
  // Eigenvectors are determined (up to sign) where the eigenvalue is separated from the others;
  // their error is then about ε‖A‖ / gap (Davis–Kahan), so compare where the gap allows.
  const ref = decodeNumbers(c.vectors.data);
  const nc = c.columns.length;
  let compared = 0;
  c.columns.forEach((col, t) => {
    let gap = Infinity;
    for (let j = 0; j < n; j++) if (j !== col) gap = Math.min(gap, Math.abs((want[col] as number) - (want[j] as number)));
    if (gap < 1e-6 * norm) return;
    let dot = 0;
    for (let r = 0; r < n; r++) dot += (vectors[r * n + col] as number) * (ref[r * nc + t] as number);
    const sign = dot < 0 ? -1 : 1;
    const tol = (1e-13 * n * norm) / gap;
    for (let r = 0; r < n; r++) {
      expect(Math.abs((vectors[r * n + col] as number) - sign * (ref[r * nc + t] as number)), `v${col}[${r}]`).toBeLessThanOrEqual(tol);
    }
    compared++;
  });
  // The spectra with separated eigenvalues must have had their vectors checked.
  if (c.kind === "random" || (c.kind === "rankdef" && n === 512)) expect(compared).toBe(nc);
  if (c.kind === "multiple" && n > 1) expect(compared).toBe(1); // only the simple eigenvalue D + 2
}

for (const backend of ["js", ...WASM] as BackendName[]) describe(`symEig: solver choice on ${backend}`, () => {
  let before: BackendName;
  beforeAll(() => {
    before = getBackend();
    setBackend(backend);
  });
  afterAll(() => setBackend(before));
  it(`Jacobi up to D = ${JACOBI_MAX_DIM}, tridiagonal QL up to ${QL_MAX_DIM} on "js", divide and conquer above (on every WebAssembly backend from ${JACOBI_MAX_DIM + 1}), the same answers`, () => {
    const gen = new Generator(3);
    for (const n of [1, 2, 3, JACOBI_MAX_DIM, JACOBI_MAX_DIM + 1, 30, QL_MAX_DIM, QL_MAX_DIM + 1, 70]) {
      const b = Array.from({ length: n * n }, () => gen.normal());
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (b[i * n + j] as number) + (b[j * n + i] as number);
      const j = symEig(a, n, "jacobi");
      const q = symEig(a, n, "ql");
      const dc = symEig(a, n, "dc");
      const auto = symEig(a, n);
      const chosen = symEigMethodFor(n);
      expect(chosen).toBe(n <= JACOBI_MAX_DIM ? "jacobi" : n <= QL_MAX_DIM && getBackend() === "js" ? "ql" : "dc");
      const same = chosen === "jacobi" ? j : chosen === "ql" ? q : dc;
      expect(Array.from(auto.values)).toEqual(Array.from(same.values));
      expect(Array.from(auto.vectors)).toEqual(Array.from(same.vectors));
      for (const other of [q, dc]) {
        for (let i = 0; i < n; i++) expect(Math.abs((other.values[i] as number) - (j.values[i] as number))).toBeLessThan(1e-13 * n * 10);
        // projectors onto each eigenvector agree (signs may differ)
        for (let c = 0; c < n; c++) for (let r = 0; r < n; r++) for (let s = 0; s < n; s++) {
          const pj = (j.vectors[r * n + c] as number) * (j.vectors[s * n + c] as number);
          const po = (other.vectors[r * n + c] as number) * (other.vectors[s * n + c] as number);
          expect(Math.abs(pj - po)).toBeLessThan(1e-9);
        }
      }
    }
  });
});

/**
 * A covariance-like PSD matrix with graded channel scales (row i of X scaled by 10^(−i/8)): its
 * spectrum spans many orders of magnitude, which is where Jacobi's relative accuracy shows.
 */
function gradedCovariance(d: number, m: number, seed: number): Float64Array {
  const g = new Generator(seed);
  const x = new Float64Array(d * m);
  for (let i = 0; i < d; i++) for (let t = 0; t < m; t++) x[i * m + t] = g.normal() * 10 ** (-i / 8);
  const c = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let s = 0;
    for (let t = 0; t < m; t++) s += (x[i * m + t] as number) * (x[j * m + t] as number);
    c[i * d + j] = s / m;
  }
  return c;
}

describe("symEig: the small eigenvalues the ops use", () => {
  for (const method of ["ql", "dc"] as const) {
    it(`${method} agrees with Jacobi (relatively accurate) on λ + ε (logm) and on the λ > 2⁻²³λ_max that sqrtm keeps`, () => {
      for (const [d, m] of [[40, 100], [64, 30], [100, 100], [200, 120]] as const) {
        const c = gradedCovariance(d, m, d + m);
        const j = symEig(c, d, "jacobi");
        const q = symEig(c, d, method);
        const lmax = j.values[0] as number;
        const eps = 1e-3 * lmax; // covariancePool's default ε on a unit-scale covariance
        let kept = 0;
        for (let i = 0; i < d; i++) {
          const lj = j.values[i] as number;
          const lq = q.values[i] as number;
          expect(Math.abs(Math.max(lq, 0) + eps - (Math.max(lj, 0) + eps)) / (Math.max(lj, 0) + eps)).toBeLessThan(1e-12);
          if (lj > 2 ** -23 * lmax) {
            expect(Math.abs(lq - lj) / lj).toBeLessThan(1e-8);
            kept++;
          }
        }
        // the spectrum really is wide: some eigenvalues are dropped by sqrtm, many kept (10^(−i/8)
        // grading leaves about 30 above 2⁻²³λ_max however large d is)
        expect(kept).toBeGreaterThan(Math.min(d / 4, 25));
        if (m < d) expect(kept).toBeLessThan(d);
      }
    });
  }
});

describe("symEig: scale and non-finite input", () => {
  const n = 20;
  const gen = new Generator(11);
  const b = Array.from({ length: n * n }, () => gen.normal());
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (b[i * n + j] as number) + (b[j * n + i] as number);
  const small = new Float64Array(9);
  for (let i = 0; i < 9; i++) small[i] = a[Math.floor(i / 3) * n + (i % 3)] as number;
  const nl = 200; // divide and conquer with the blocked reduction
  const bl = Array.from({ length: nl * nl }, () => gen.normal());
  const large = new Float64Array(nl * nl);
  for (let i = 0; i < nl; i++) for (let j = 0; j < nl; j++) large[i * nl + j] = (bl[i * nl + j] as number) + (bl[j * nl + i] as number);

  for (const [name, m, dim] of [["QL (D = 20)", a, n], ["Jacobi (D = 3)", small, 3], ["divide and conquer (D = 200)", large, nl]] as const) {
    it(`${name}: 2^k·A gives exactly 2^k·λ and the same vectors for k = ±600, ±1000`, () => {
      const ref = symEig(m, dim);
      for (const k of [600, -600, 1000, -1000]) {
        const s = 2 ** k;
        const r = symEig(m.map((v) => v * s), dim);
        expect(Array.from(r.vectors)).toEqual(Array.from(ref.vectors));
        expect(Array.from(r.values)).toEqual(Array.from(ref.values, (v) => v * s));
      }
    });
    it(`${name}: s·A for s = 1e70, 1e150, 1e300, 1e-150, 1e-300 gives s·λ and the same vectors up to rounding`, () => {
      const ref = symEig(m, dim);
      for (const s of [1e70, 1e150, 1e300, 1e-150, 1e-300]) {
        const r = symEig(m.map((v) => v * s), dim);
        for (let i = 0; i < dim; i++) expect(Math.abs((r.values[i] as number) / s - (ref.values[i] as number))).toBeLessThan(1e-12 * dim);
        for (let i = 0; i < dim * dim; i++) expect(Math.abs((r.vectors[i] as number) - (ref.vectors[i] as number))).toBeLessThan(1e-9);
      }
    });
    it(`${name}: a NaN or ±∞ entry gives NaN eigenvalues and vectors`, () => {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const mm = Float64Array.from(m);
        mm[1] = bad;
        mm[dim] = bad;
        const r = symEig(mm, dim);
        expect(r.values.every(Number.isNaN)).toBe(true);
        expect(r.vectors.every(Number.isNaN)).toBe(true);
      }
    });
  }
  it("subnormal-only and zero matrices", () => {
    const z = symEig(new Float64Array(16), 4);
    expect(Array.from(z.values)).toEqual([0, 0, 0, 0]);
    const tiny = symEig(Float64Array.from([5e-324, 0, 0, 1e-323]), 2);
    expect(Array.from(tiny.values)).toEqual([1e-323, 5e-324]);
  });
  it("does not write its input", () => {
    const copy = Float64Array.from(a);
    symEig(a, n);
    expect(Array.from(a)).toEqual(Array.from(copy));
  });
});
