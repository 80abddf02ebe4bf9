/**
 * The eigensolver's WebAssembly kernels (assembly/linalg.ts via src/backends/wasm/linalg.ts), SIMD and
 * scalar builds, against the TypeScript references in src/linalg/eigen.ts:
 * - `linalg.trdUnblocked` on arrays in linear memory: Q T Qᵀ reproduces A within a few n·u·max|A|
 *   (the reduction's backward error, checked independently) and T's spectrum matches the reference's
 *   (the SIMD build sums in two lanes, so T is not bit for bit the reference's, and T's entries are not
 *   forward-stable quantities); `linalg.trdPanel` (32 steps) agrees with the reference within n·u in
 *   d, e, β, the reflectors and V, W; on JS-heap arrays both are the reference, bit for bit;
 * - `symEig` (divide-and-conquer path, whose work arrays then live in linear memory) under each build:
 *   residual and orthogonality within a few n·u (independent checks), eigenvalues within n·u·‖A‖ of the
 *   "js" backend's, and on graded PSD covariances the small eigenvalues as relatively accurate as
 *   Jacobi's where logm and sqrtm use them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getBackend, setBackend } from "../../src/backends/index.js";
import { kernel } from "../../src/kernels/registry.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { gatherColumnsReference, releaseWorkspaceReference, symEig, trdPanelReference, trdUnblockedReference, workspaceReference, wyReference } from "../../src/linalg/eigen.js";
import { secularSolveReference } from "../../src/linalg/secular.js";
import { qlReference } from "../../src/linalg/tridiagQL.js";
import { copyBlockReference, dcPackReference } from "../../src/linalg/tridiagDC.js";
import { hadamardReference } from "../../src/linalg/matrix.js";
import { Generator } from "../../src/tensor/random.js";
import { WASM } from "../helpers/wasm.js";

const U = 2 ** -53;

function randomSymmetric(n: number, seed: number): Float64Array {
  const g = new Generator(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) {
    const v = g.normal();
    a[i * n + j] = v;
    a[j * n + i] = v;
  }
  return a;
}

/** (1/m)·X Xᵀ for X n × m with row r scaled by 10^(−grade·r/n): a graded, possibly rank-deficient covariance. */
function covariance(n: number, m: number, grade: number, seed: number): Float64Array {
  const g = new Generator(seed);
  const x = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const s = 10 ** ((-grade * i) / n);
    for (let t = 0; t < m; t++) x[i * m + t] = s * g.normal();
  }
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let t = 0; t < m; t++) s += (x[i * m + t] as number) * (x[j * m + t] as number);
    a[i * n + j] = s / m;
    a[j * n + i] = s / m;
  }
  return a;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** max |A V − V Λ| / max|A| and max |VᵀV − I|, both in units of n·u. */
function quality(a: Float64Array, values: Float64Array, v: Float64Array, n: number): { residual: number; orth: number } {
  const scale = maxAbs(a);
  let residual = 0;
  let orth = 0;
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (a[i * n + k] as number) * (v[k * n + c] as number);
      residual = Math.max(residual, Math.abs(s - (values[c] as number) * (v[i * n + c] as number)));
    }
    for (let c2 = c; c2 < n; c2++) {
      let o = 0;
      for (let k = 0; k < n; k++) o += (v[k * n + c] as number) * (v[k * n + c2] as number);
      orth = Math.max(orth, Math.abs(o - (c === c2 ? 1 : 0)));
    }
  }
  return { residual: residual / scale / (n * U), orth: orth / (n * U) };
}

/**
 * max |A₂₂ − Q T Qᵀ| over indices ≥ k0, for the reduction of A's trailing block A₂₂ = A[k0:, k0:]
 * stored as the tridiagonalisers leave it: T = (d, e), H_k = I − β_k v_k v_kᵀ with v_k in row k of m,
 * columns k+1 …, Q = H_k0 ⋯ H_{n−3} (the backward error of the reduction, computed independently).
 */
function backwardError(a: Float64Array, m: Float64Array, d: Float64Array, e: Float64Array, beta: Float64Array, n: number, k0: number): number {
  const s = n - k0;
  const q = new Float64Array(s * s);
  for (let i = 0; i < s; i++) q[i * s + i] = 1;
  for (let k = n - 3; k >= k0; k--) {
    const b = beta[k] as number;
    if (b === 0) continue;
    // Q ← H_k Q: rows k+1 … of Q (local index k+1−k0 …)
    for (let c = 0; c < s; c++) {
      let dotv = 0;
      for (let r = k + 1; r < n; r++) dotv += (m[k * n + r] as number) * (q[(r - k0) * s + c] as number);
      for (let r = k + 1; r < n; r++) q[(r - k0) * s + c] = (q[(r - k0) * s + c] as number) - b * dotv * (m[k * n + r] as number);
    }
  }
  const t = new Float64Array(s * s);
  for (let i = 0; i < s; i++) {
    t[i * s + i] = d[k0 + i] as number;
    if (i + 1 < s) {
      t[i * s + i + 1] = e[k0 + i] as number;
      t[(i + 1) * s + i] = e[k0 + i] as number;
    }
  }
  let err = 0;
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) {
    let acc = 0;
    for (let r = Math.max(0, 0); r < s; r++) {
      const qt = (q[i * s + r] as number);
      if (qt === 0) continue;
      let tq = 0;
      for (let c = Math.max(0, r - 1); c <= Math.min(s - 1, r + 1); c++) tq += (t[r * s + c] as number) * (q[j * s + c] as number);
      acc += qt * tq;
    }
    err = Math.max(err, Math.abs(acc - (a[(k0 + i) * n + k0 + j] as number)));
  }
  return err;
}

/** The eigenvalues (descending) of the tridiagonal (d, e) over indices ≥ k0, by Jacobi on the js backend's reference path. */
function tridiagSpectrum(d: Float64Array, e: Float64Array, n: number, k0: number): Float64Array {
  const s = n - k0;
  const t = new Float64Array(s * s);
  for (let i = 0; i < s; i++) {
    t[i * s + i] = d[k0 + i] as number;
    if (i + 1 < s) {
      t[i * s + i + 1] = e[k0 + i] as number;
      t[(i + 1) * s + i] = e[k0 + i] as number;
    }
  }
  return symEig(t, s, "jacobi").values;
}

/** Work arrays of one reduction, carved from `ws`. */
function carve(ws: Float64Array, n: number, nb: number) {
  let o = 0;
  const take = (len: number): Float64Array => ws.subarray(o, (o += len));
  return {
    m: take(n * n), d: take(n), e: take(n), beta: take(n), work: take(5 * n),
    vw: take(n * 2 * nb), wv: take(n * 2 * nb), v: take(n), p: take(n), y: take(2 * nb),
  };
}
const carveSize = (n: number, nb: number): number => n * n + 10 * n + 4 * n * nb + 2 * n + 2 * nb;

let before: ReturnType<typeof getBackend>;
beforeAll(() => {
  before = getBackend();
});
afterAll(() => setBackend(before));

for (const backend of WASM) {
  describe(`eigensolver kernels on ${backend}`, () => {
    beforeAll(() => setBackend(backend));

    it("linalg.workspace is linear memory, zero-filled", () => {
      const ws = kernel("linalg.workspace", "float64", workspaceReference)(1000);
      try {
        expect(ws.length).toBe(1000);
        expect(ws.buffer).toBe(activeWasm()?.heap.memory.buffer);
        expect(maxAbs(ws)).toBe(0);
        expect(kernel("linalg.trdUnblocked", "float64", trdUnblockedReference)).not.toBe(trdUnblockedReference);
      } finally {
        kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
      }
    });

    for (const n of [1, 2, 3, 4, 5, 9, 33, 64, 97, 130]) {
      for (const k0 of n > 40 ? [0, 17] : [0]) {
        it(`trdUnblocked n = ${n}, k0 = ${k0}: Q T Qᵀ reproduces A within a few n·u·max|A|, T's spectrum the reference's`, () => {
          const a = randomSymmetric(n, 100 + n);
          const ref = carve(new Float64Array(carveSize(n, 1)), n, 1);
          ref.m.set(a);
          trdUnblockedReference(ref.m, n, k0, ref.d, ref.e, ref.beta, ref.work);
          const ws = kernel("linalg.workspace", "float64", workspaceReference)(carveSize(n, 1));
          try {
            const w = carve(ws, n, 1);
            w.m.set(a);
            kernel("linalg.trdUnblocked", "float64", trdUnblockedReference)(w.m, n, k0, w.d, w.e, w.beta, w.work);
            const scale = maxAbs(a);
            expect(backwardError(a, w.m, w.d, w.e, w.beta, n, k0) / (n * U * scale)).toBeLessThan(4);
            expect(backwardError(a, ref.m, ref.d, ref.e, ref.beta, n, k0) / (n * U * scale)).toBeLessThan(4);
            expect(maxDiff(tridiagSpectrum(w.d, w.e, n, k0), tridiagSpectrum(ref.d, ref.e, n, k0))).toBeLessThanOrEqual(4 * n * U * scale);
          } finally {
            kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
          }
        });
      }
    }

    for (const [n, k0] of [[97, 0], [130, 32], [200, 0], [261, 64]] as const) {
      it(`trdPanel n = ${n}, k0 = ${k0}: agrees with the reference within n·u (d, e, β, reflectors, V, W, [W | V])`, () => {
        const nb = 32;
        const a = randomSymmetric(n, 200 + n);
        const ref = carve(new Float64Array(carveSize(n, nb)), n, nb);
        ref.m.set(a);
        trdPanelReference(ref.m, n, k0, nb, ref.d, ref.e, ref.beta, ref.vw, ref.wv, ref.v, ref.p, ref.y);
        const ws = kernel("linalg.workspace", "float64", workspaceReference)(carveSize(n, nb));
        try {
          const w = carve(ws, n, nb);
          w.m.set(a);
          kernel("linalg.trdPanel", "float64", trdPanelReference)(w.m, n, k0, nb, w.d, w.e, w.beta, w.vw, w.wv, w.v, w.p, w.y);
          const tol = 16 * n * U * maxAbs(a);
          expect(maxDiff(w.d, ref.d)).toBeLessThanOrEqual(tol);
          expect(maxDiff(w.e, ref.e)).toBeLessThanOrEqual(tol);
          expect(maxDiff(w.beta, ref.beta)).toBeLessThanOrEqual(16 * n * U * Math.max(1, maxAbs(ref.beta)));
          expect(maxDiff(w.m, ref.m)).toBeLessThanOrEqual(tol);
          expect(maxDiff(w.vw, ref.vw)).toBeLessThanOrEqual(16 * n * U * Math.max(1, maxAbs(ref.vw)));
          const k1 = (k0 + nb) * 2 * nb;
          expect(maxDiff(w.wv.subarray(k1), ref.wv.subarray(k1))).toBeLessThanOrEqual(16 * n * U * Math.max(1, maxAbs(ref.wv)));
        } finally {
          kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
        }
      });
    }

    it("on JS-heap arrays the kernels are the reference, bit for bit", () => {
      const n = 70;
      const a = randomSymmetric(n, 7);
      const r1 = carve(new Float64Array(carveSize(n, 32)), n, 32);
      const r2 = carve(new Float64Array(carveSize(n, 32)), n, 32);
      r1.m.set(a);
      r2.m.set(a);
      trdPanelReference(r1.m, n, 0, 32, r1.d, r1.e, r1.beta, r1.vw, r1.wv, r1.v, r1.p, r1.y);
      kernel("linalg.trdPanel", "float64", trdPanelReference)(r2.m, n, 0, 32, r2.d, r2.e, r2.beta, r2.vw, r2.wv, r2.v, r2.p, r2.y);
      trdUnblockedReference(r1.m, n, 32, r1.d, r1.e, r1.beta, r1.work);
      kernel("linalg.trdUnblocked", "float64", trdUnblockedReference)(r2.m, n, 32, r2.d, r2.e, r2.beta, r2.work);
      expect(Array.from(r2.m)).toEqual(Array.from(r1.m));
      expect(Array.from(r2.d)).toEqual(Array.from(r1.d));
      expect(Array.from(r2.e)).toEqual(Array.from(r1.e));
    });

    it("linalg.secular: roots and vectors bit for bit the reference's (random, clustered and pressed poles)", () => {
      const g = new Generator(11);
      for (const k of [1, 2, 3, 7, 40, 129]) {
        for (const kind of ["random", "clustered", "pressed"] as const) {
          const d = new Float64Array(k);
          const z = new Float64Array(k);
          let x = g.normal();
          for (let i = 0; i < k; i++) {
            x += kind === "clustered" ? 1e-9 * (1 + g.uniform()) : kind === "pressed" && i % 2 ? 1e-13 : 0.1 + g.uniform();
            d[i] = x;
            z[i] = (kind === "pressed" ? 1e-7 : 1) * g.normal();
          }
          const rho = 0.5 + g.uniform();
          const ref = { origin: new Int32Array(k), tau: new Float64Array(k), del: new Float64Array(k), zhat: new Float64Array(k) };
          const len = 4 * k + k * k + 2 * k;
          const ws = kernel("linalg.workspace", "float64", workspaceReference)(len);
          try {
            let o = 0;
            const take = (l: number): Float64Array => ws.subarray(o, (o += l));
            const wd = take(k);
            const wz = take(k);
            const tau = take(k);
            const del = take(k);
            const u = take(k * k);
            const zhat = take(k);
            const ints = take(k);
            const origin = new Int32Array(ints.buffer, ints.byteOffset, k);
            const wpos = new Int32Array(ws.buffer, ws.byteOffset + 8 * o, k);
            wd.set(d);
            wz.set(z);
            // reversed component order: exercises `pos`
            for (let i = 0; i < k; i++) wpos[i] = k - 1 - i;
            const rpos = new Int32Array(k).map((_, i) => k - 1 - i);
            const ru = new Float64Array(k * k);
            secularSolveReference(k, d, z, rho, ref.origin, ref.tau, ref.del, ru, ref.zhat, rpos);
            kernel("linalg.secular", "float64", secularSolveReference)(k, wd, wz, rho, origin, tau, del, u, zhat, wpos);
            expect(Array.from(origin)).toEqual(Array.from(ref.origin));
            expect(Array.from(tau)).toEqual(Array.from(ref.tau));
            expect(Array.from(zhat)).toEqual(Array.from(ref.zhat));
            expect(Array.from(u)).toEqual(Array.from(ru));
          } finally {
            kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
          }
        }
      }
    });

    it("linalg.ql: eigenvalues, rotated block and convergence flag bit for bit the reference's (random, graded, split, strided)", () => {
      const g = new Generator(13);
      for (const n of [1, 2, 3, 5, 16, 17, 40]) {
        for (const kind of ["random", "graded", "split"] as const) {
          const ld = n + 3;
          const d = new Float64Array(n);
          const e = new Float64Array(n);
          for (let i = 0; i < n; i++) {
            d[i] = kind === "graded" ? 10 ** (-i / 2) * (1 + g.uniform()) : g.normal();
            e[i] = i === n - 1 ? 0 : kind === "graded" ? 10 ** (-i / 2) * g.normal() : kind === "split" && i % 5 === 2 ? 1e-300 : g.normal();
          }
          // the block starts at row 1, column 2 of an (n + 1) × ld array whose other entries must stay put
          const zRef = new Float64Array((n + 1) * ld);
          for (let i = 0; i < zRef.length; i++) zRef[i] = g.normal();
          for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) zRef[(1 + r) * ld + 2 + c] = r === c ? 1 : 0;
          const limit = kind === "split" && n === 17 ? 1 : 30 * n;
          const dRef = d.slice();
          const eRef = e.slice();
          const okRef = qlReference(dRef, eRef, zRef.subarray(ld + 2), n, ld, limit, new Float64Array(n), new Float64Array(n));
          const ws = kernel("linalg.workspace", "float64", workspaceReference)(zRef.length + 4 * n);
          try {
            let o = 0;
            const take = (l: number): Float64Array => ws.subarray(o, (o += l));
            const wz = take(zRef.length);
            const wd = take(n);
            const we = take(n);
            const cs = take(n);
            const sn = take(n);
            wd.set(d);
            we.set(e);
            // the same start as the reference's block: identity in the block, the same noise around it
            for (let r = 0; r <= n; r++) for (let c = 0; c < ld; c++) {
              const inBlock = r >= 1 && c >= 2 && c < 2 + n;
              wz[r * ld + c] = inBlock ? (r - 1 === c - 2 ? 1 : 0) : (zRef[r * ld + c] as number);
            }
            const ok = kernel("linalg.ql", "float64", qlReference)(wd, we, wz.subarray(ld + 2), n, ld, limit, cs, sn);
            expect(ok).toBe(okRef);
            expect(Array.from(wd)).toEqual(Array.from(dRef));
            expect(Array.from(we)).toEqual(Array.from(eRef));
            expect(Array.from(wz)).toEqual(Array.from(zRef));
          } finally {
            kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
          }
        }
      }
    });

    it("linalg.ql: the block's columns are eigenvectors (residual ≤ a few n·u·‖T‖, orthogonal), and an iteration limit of 0 is reported", () => {
      const g = new Generator(17);
      const n = 16;
      const ld = 20;
      const d = Float64Array.from({ length: n }, () => g.normal());
      const e = Float64Array.from({ length: n }, (_, i) => (i < n - 1 ? g.normal() : 0));
      const ws = kernel("linalg.workspace", "float64", workspaceReference)(n * ld + 4 * n);
      try {
        const z = ws.subarray(0, n * ld);
        const wd = ws.subarray(n * ld, n * ld + n);
        const we = ws.subarray(n * ld + n, n * ld + 2 * n);
        const cs = ws.subarray(n * ld + 2 * n, n * ld + 3 * n);
        const sn = ws.subarray(n * ld + 3 * n, n * ld + 4 * n);
        wd.set(d);
        we.set(e);
        for (let i = 0; i < n; i++) z[i * ld + i] = 1;
        const ql = kernel("linalg.ql", "float64", qlReference);
        expect(ql(wd, we, z, n, ld, 30 * n, cs, sn)).toBe(true);
        let tn = 0;
        for (let i = 0; i < n; i++) tn = Math.max(tn, Math.abs(d[i] as number) + Math.abs(e[i] as number) + (i > 0 ? Math.abs(e[i - 1] as number) : 0));
        let res = 0;
        let orth = 0;
        for (let k = 0; k < n; k++) {
          for (let r = 0; r < n; r++) {
            // (T v)_r − λ v_r
            let tv = (d[r] as number) * (z[r * ld + k] as number);
            if (r > 0) tv += (e[r - 1] as number) * (z[(r - 1) * ld + k] as number);
            if (r < n - 1) tv += (e[r] as number) * (z[(r + 1) * ld + k] as number);
            res = Math.max(res, Math.abs(tv - (wd[k] as number) * (z[r * ld + k] as number)));
          }
          for (let k2 = 0; k2 < n; k2++) {
            let dot = 0;
            for (let r = 0; r < n; r++) dot += (z[r * ld + k] as number) * (z[r * ld + k2] as number);
            orth = Math.max(orth, Math.abs(dot - (k === k2 ? 1 : 0)));
          }
          for (let c = n; c < ld; c++) for (let r = 0; r < n; r++) expect(z[r * ld + c]).toBe(0);
        }
        expect(res / (n * U * tn)).toBeLessThan(4);
        expect(orth / (n * U)).toBeLessThan(4);
        wd.set(d);
        we.set(e);
        expect(ql(wd, we, z, n, ld, 0, cs, sn)).toBe(false);
      } finally {
        kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
      }
    });

    it("linalg.wy: Vᵀ and T bit for bit the reference's, and I − V T Vᵀ = H_k0 ⋯ H_k0+nb−1 within a few n·u", () => {
      const g = new Generator(19);
      for (const [n, k0, nb] of [[3, 0, 1], [10, 0, 8], [70, 32, 32], [97, 0, 32], [130, 96, 32], [130, 64, 17]] as const) {
        const rows = n - k0 - 1;
        const mRef = Float64Array.from({ length: n * n }, () => g.normal());
        // β_j = 2/‖v_j‖² over the entries the block uses: each H_j a true reflector
        const beta = new Float64Array(n);
        for (let j = 0; j < nb; j++) {
          let ss = 0;
          for (let c = k0 + 1 + j; c < n; c++) ss += (mRef[(k0 + j) * n + c] as number) ** 2;
          beta[k0 + j] = 2 / ss;
        }
        const ldt = 32;
        const vtRef = Float64Array.from({ length: nb * rows }, () => g.normal());
        const tRef = Float64Array.from({ length: ldt * ldt }, () => g.normal());
        const ws = kernel("linalg.workspace", "float64", workspaceReference)(n * n + 2 * n + nb * rows + ldt * ldt);
        try {
          let o = 0;
          const take = (l: number): Float64Array => ws.subarray(o, (o += l));
          const wm = take(n * n);
          const wb = take(2 * n).subarray(0, n);
          const wvt = take(nb * rows);
          const wt = take(ldt * ldt);
          wm.set(mRef);
          wb.set(beta);
          wvt.set(vtRef);
          wt.set(tRef);
          wyReference(mRef, n, k0, nb, beta, vtRef, tRef, ldt);
          kernel("linalg.wy", "float64", wyReference)(wm, n, k0, nb, wb, wvt, wt, ldt);
          expect(Array.from(wvt)).toEqual(Array.from(vtRef));
          expect(Array.from(wt)).toEqual(Array.from(tRef));
          expect(Array.from(wm)).toEqual(Array.from(mRef));
        } finally {
          kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
        }
        // independent: (I − V T Vᵀ) x against the reflectors applied one by one, H_j x = x − β_j v_j (v_jᵀ x)
        const x = Float64Array.from({ length: rows }, () => g.normal());
        const y = x.slice();
        for (let j = nb - 1; j >= 0; j--) {
          let dot = 0;
          for (let r = j; r < rows; r++) dot += (vtRef[j * rows + r] as number) * (y[r] as number);
          for (let r = j; r < rows; r++) y[r] = (y[r] as number) - (beta[k0 + j] as number) * dot * (vtRef[j * rows + r] as number);
        }
        const vx = new Float64Array(nb);
        for (let j = 0; j < nb; j++) for (let r = 0; r < rows; r++) vx[j] = (vx[j] as number) + (vtRef[j * rows + r] as number) * (x[r] as number);
        let err = 0;
        let scale = 0;
        for (let r = 0; r < rows; r++) {
          let acc = 0;
          for (let i = 0; i < nb; i++) for (let j = i; j < nb; j++) acc += (vtRef[i * rows + r] as number) * (tRef[i * ldt + j] as number) * (vx[j] as number);
          err = Math.max(err, Math.abs((x[r] as number) - acc - (y[r] as number)));
          scale = Math.max(scale, Math.abs(x[r] as number));
        }
        for (let i = 0; i < nb; i++) for (let j = 0; j < i; j++) expect(tRef[i * ldt + j]).toBe(0);
        expect(err / (n * U * scale)).toBeLessThan(8);
      }
    });

    it("linalg.gatherColumns: column i of dst is column order[i] of src (every entry, random permutations)", () => {
      const g = new Generator(23);
      for (const n of [1, 2, 5, 64]) {
        const src = Float64Array.from({ length: n * n }, () => g.normal());
        const order = Int32Array.from({ length: n }, (_, i) => i);
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(g.uniform() * (i + 1));
          [order[i], order[j]] = [order[j] as number, order[i] as number];
        }
        const ws = kernel("linalg.workspace", "float64", workspaceReference)(2 * n * n + n);
        try {
          const ws1 = ws.subarray(0, n * n);
          const wd = ws.subarray(n * n, 2 * n * n);
          const wo = new Int32Array(ws.buffer, ws.byteOffset + 16 * n * n, n);
          ws1.set(src);
          wo.set(order);
          kernel("linalg.gatherColumns", "float64", gatherColumnsReference)(ws1, wd, n, wo);
          for (let r = 0; r < n; r++) for (let i = 0; i < n; i++) expect(wd[r * n + i]).toBe(src[r * n + (order[i] as number)]);
        } finally {
          kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
        }
      }
    });

    it("linalg.dcPack and linalg.copyBlock: every packed entry the reference's (random column kinds, deflated columns, strided block)", () => {
      const g = new Generator(29);
      for (const [n1, n2, ld] of [[1, 1, 2], [3, 4, 9], [16, 17, 40], [64, 64, 130]] as const) {
        const n = n1 + n2;
        const z = Float64Array.from({ length: n * ld }, () => g.normal());
        // a random split of the columns into non-deflated (top-only, mixed, bottom-only) and deflated
        const perm = Array.from({ length: n }, (_, i) => i);
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(g.uniform() * (i + 1));
          [perm[i], perm[j]] = [perm[j] as number, perm[i] as number];
        }
        const k = Math.max(1, Math.floor(n * (0.5 + 0.5 * g.uniform())));
        const nDefl = n - k;
        const k1 = Math.floor(k * g.uniform() * 0.5);
        const k2 = Math.floor((k - k1) * g.uniform());
        const nd = Int32Array.from(perm.slice(0, k));
        const df = Int32Array.from(perm.slice(k));
        const pos = Int32Array.from({ length: k }, (_, i) => i);
        for (let i = k - 1; i > 0; i--) {
          const j = Math.floor(g.uniform() * (i + 1));
          [pos[i], pos[j]] = [pos[j] as number, pos[i] as number];
        }
        const qLen = n1 * (k1 + k2) + n2 * (k - k1);
        const qRef = new Float64Array(qLen);
        const dRef = new Float64Array(n * nDefl);
        dcPackReference(z, ld, n1, n2, k, k1, k2, nd, pos, qRef, df, nDefl, dRef);
        const back = z.slice();
        copyBlockReference(dRef, nDefl, back.subarray(3), ld, n, nDefl);
        const ws = kernel("linalg.workspace", "float64", workspaceReference)(2 * n * ld + qLen + n * nDefl + 2 * n);
        try {
          let o = 0;
          const take = (l: number): Float64Array => ws.subarray(o, (o += l));
          const wz = take(n * ld);
          const wq = take(qLen);
          const wdefl = take(n * nDefl);
          const ints = take(2 * n);
          const wnd = new Int32Array(ints.buffer, ints.byteOffset, n).subarray(0, k);
          const wpos = new Int32Array(ints.buffer, ints.byteOffset + 4 * n, n).subarray(0, k);
          const wdf = new Int32Array(ints.buffer, ints.byteOffset + 8 * n, n).subarray(0, nDefl);
          const wback = take(n * ld);
          wz.set(z);
          wnd.set(nd);
          wpos.set(pos);
          wdf.set(df);
          kernel("linalg.dcPack", "float64", dcPackReference)(wz, ld, n1, n2, k, k1, k2, wnd, wpos, wq, wdf, nDefl, wdefl);
          expect(Array.from(wq)).toEqual(Array.from(qRef));
          expect(Array.from(wdefl)).toEqual(Array.from(dRef));
          // independent spot check of the layout: component pos[t]'s top rows are column nd[t]'s
          for (let t = 0; t < k; t++) if ((pos[t] as number) < k1 + k2) expect(qRef[pos[t] as number]).toBe(z[nd[t] as number]);
          wback.set(z);
          kernel("linalg.copyBlock", "float64", copyBlockReference)(wdefl, nDefl, wback.subarray(3), ld, n, nDefl);
          expect(Array.from(wback)).toEqual(Array.from(back));
        } finally {
          kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
        }
      }
    });

    it("linalg.hadamard: every product bit for bit the reference's (odd lengths, ±0, ±∞, NaN, subnormals)", () => {
      const g = new Generator(31);
      const special = [0, -0, Infinity, -Infinity, NaN, 2 ** -1074, -(2 ** -1060), 1e300];
      for (const len of [1, 2, 7, 64, 4097]) {
        const a = Float64Array.from({ length: len }, (_, i) => (i % 11 === 3 ? (special[i % special.length] as number) : g.normal()));
        const b = Float64Array.from({ length: len }, (_, i) => (i % 13 === 5 ? (special[(i >> 1) % special.length] as number) : 1e10 * g.normal()));
        const ref = a.slice();
        hadamardReference(ref, b, len);
        const ws = kernel("linalg.workspace", "float64", workspaceReference)(2 * len + 1);
        try {
          const wa = ws.subarray(1, 1 + len);
          const wb = ws.subarray(1 + len, 1 + 2 * len);
          wa.set(a);
          wb.set(b);
          kernel("linalg.hadamard", "float64", hadamardReference)(wa, wb, len);
          for (let i = 0; i < len; i++) expect(Object.is(wa[i], ref[i]) || (Number.isNaN(wa[i]) && Number.isNaN(ref[i]))).toBe(true);
          for (let i = 0; i < len; i++) expect(Object.is(ref[i], (a[i] as number) * (b[i] as number)) || Number.isNaN(ref[i])).toBe(true);
          expect(ws[0]).toBe(0);
        } finally {
          kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
        }
      }
    });

    const cases: [string, number, () => Float64Array][] = [
      ["random D = 97", 97, () => randomSymmetric(97, 1)],
      ["random D = 200", 200, () => randomSymmetric(200, 2)],
      ["covariance D = 300 (rank 196)", 300, () => covariance(300, 196, 0, 3)],
      ["graded covariance D = 150", 150, () => covariance(150, 400, 6, 4)],
    ];
    for (const [name, n, make] of cases) {
      it(`symEig ${name}: residual and orthogonality ≤ a few n·u, eigenvalues within n·u·‖A‖ of the js backend's`, () => {
        const a = make();
        const got = symEig(a, n);
        setBackend("js");
        let want;
        try {
          want = symEig(a, n);
        } finally {
          setBackend(backend);
        }
        const q = quality(a, got.values, got.vectors, n);
        expect(q.residual).toBeLessThan(4);
        expect(q.orth).toBeLessThan(4);
        expect(maxDiff(got.values, want.values)).toBeLessThanOrEqual(4 * n * U * maxAbs(a));
      });
    }

    it("graded PSD covariance: the eigenvalues logm and sqrtm use are relatively accurate (against Jacobi)", () => {
      const n = 120;
      const a = covariance(n, 400, 4, 9);
      const got = symEig(a, n, "dc");
      const jac = symEig(a, n, "jacobi");
      const lmax = jac.values[0] as number;
      const eps = 1e-3 * lmax;
      for (let i = 0; i < n; i++) {
        const g = got.values[i] as number;
        const j = jac.values[i] as number;
        // logm: log(λ + ε) to a relative 1e-12; sqrtm: the λ > 2⁻²³λ_max it keeps to a relative 1e-9
        expect(Math.abs(Math.log(Math.max(g, 0) + eps) - Math.log(Math.max(j, 0) + eps))).toBeLessThan(1e-12);
        if (j > 2 ** -23 * lmax) expect(Math.abs(g - j) / j).toBeLessThan(1e-9);
      }
    });
  });
}
