/**
 * The batched forms covariancePool's dense route uses (src/linalg/matrix.ts): spectralApplyBatched
 * against spectralApply matrix by matrix, and centreInto against centredRows, on every backend ("js",
 * and the WebAssembly SIMD and scalar builds, whose batched SYRK reads a scratch in linear memory in
 * place). spectralApplyBatched pads each matrix's columns with zeros up to the batch's largest count,
 * which adds exact zeros to each entry's sequential sum: the results are spectralApply's bit for bit
 * (compared with ===, so up to the sign of a zero). spectralGramBackwardBatched and gramBackwardBatched
 * against spectralGramBackward and gramBackward problem by problem: the same products, batched, so the
 * same values bit for bit.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend } from "../../src/backends/index.js";
import { kernel } from "../../src/kernels/registry.js";
import { releaseWorkspaceReference, workspaceReference } from "../../src/linalg/eigen.js";
import { centreInto, centredRows, gramBackward, gramBackwardBatched, spectralApply, spectralApplyBatched, spectralGramBackward, spectralGramBackwardBatched } from "../../src/linalg/matrix.js";
import { Generator } from "../../src/tensor/random.js";

const before = getBackend();
afterAll(() => setBackend(before));

/** A random orthogonal-ish n × n matrix (its values only matter as inputs: any matrix works here). */
function randMat(n: number, gen: Generator): Float64Array {
  return Float64Array.from({ length: n * n }, () => gen.normal());
}

/**
 * f for matrix b: a mix of positive, negative and zero entries whose counts differ between matrices
 * (kind 0: all positive; 1: mixed; 2: all zero; 3: all negative; 4: one positive among zeros).
 */
function fOf(n: number, kind: number, gen: Generator): Float64Array {
  const f = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const v = Math.abs(gen.normal()) + 0.1;
    if (kind === 0) f[k] = v;
    else if (kind === 1) f[k] = k % 3 === 0 ? -v : k % 3 === 1 ? v : 0;
    else if (kind === 3) f[k] = -v;
    else if (kind === 4) f[k] = k === n >> 1 ? v : 0;
  }
  return f;
}

describe("spectralApplyBatched", () => {
  for (const backend of ["js", "wasm", "wasm-simd"] as const) {
    it(`${backend}: equals spectralApply per matrix (n = 1, 5, 17, 64; mixed, all-positive, all-negative, zero f)`, () => {
      setBackend(backend);
      const gen = new Generator(3);
      for (const n of [1, 5, 17, 64]) {
        for (const kinds of [[0], [1, 0, 2, 3, 4], [2, 2], [3, 1]]) {
          const count = kinds.length;
          const us = kinds.map(() => randMat(n, gen));
          const fs = kinds.map((k) => fOf(n, k, gen));
          const want = us.map((u, b) => spectralApply(u, fs[b] as Float64Array, n));
          // scratch and output in one workspace (linear memory under WebAssembly), after a poisoned fill
          const ws = kernel("linalg.workspace", "float64", workspaceReference)(3 * count * n * n);
          try {
            ws.fill(NaN);
            spectralApplyBatched(count, n, us, fs, ws.subarray(count * n * n), ws);
            for (let b = 0; b < count; b++) {
              const w = want[b] as Float64Array;
              for (let i = 0; i < n * n; i++) {
                const got = ws[b * n * n + i] as number;
                if (!(got === w[i])) expect.fail(`n ${n} kinds ${kinds} matrix ${b} entry ${i}: ${got} vs ${w[i]}`);
              }
            }
          } finally {
            kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
          }
        }
      }
    });
  }
  it("on JS-heap arrays (the copy path of the WebAssembly SYRK) as well", () => {
    setBackend("wasm-simd");
    const gen = new Generator(5);
    const n = 9;
    const us = [randMat(n, gen), randMat(n, gen)];
    const fs = [fOf(n, 1, gen), fOf(n, 0, gen)];
    const out = new Float64Array(2 * n * n);
    spectralApplyBatched(2, n, us, fs, new Float64Array(4 * n * n), out);
    for (let b = 0; b < 2; b++) {
      const w = spectralApply(us[b] as Float64Array, fs[b] as Float64Array, n);
      for (let i = 0; i < n * n; i++) expect(out[b * n * n + i] === w[i]).toBe(true);
    }
  });
});

describe("centreInto", () => {
  it("writes centredRows' values at an offset, for float32, float64 and plain-array inputs (rows not a multiple of 4)", () => {
    const gen = new Generator(9);
    for (const [d, m] of [[1, 1], [3, 5], [6, 7], [9, 196]] as const) {
      const src = Array.from({ length: 2 * d * m + 3 }, () => gen.normal() * 10);
      for (const x of [Float32Array.from(src), Float64Array.from(src), src]) {
        const want = centredRows(x, 3 + d * m, d, m);
        const out = new Float64Array(d * m + 11).fill(NaN);
        centreInto(x, 3 + d * m, d, m, out, 11);
        expect(Array.from(out.subarray(11))).toEqual(Array.from(want));
        expect(out.subarray(0, 11).every((v) => Number.isNaN(v))).toBe(true);
      }
    }
  });
});

/** Every entry of got equal (===) to want's, else a failure naming the entry. */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) if (!(got[i] === want[i])) expect.fail(`${what} entry ${i}: ${got[i]} vs ${want[i]}`);
}

/** A random symmetric n × n matrix. */
function randSym(n: number, gen: Generator): Float64Array {
  const a = randMat(n, gen);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i] as number;
  return a;
}

describe("batched data gradients", () => {
  for (const backend of ["js", "wasm", "wasm-simd"] as const) {
    it(`${backend}: spectralGramBackwardBatched and gramBackwardBatched equal the per-problem functions (d = 1, 6, 64; m = 1, 7, 196)`, () => {
      setBackend(backend);
      const gen = new Generator(11);
      for (const [count, d, m] of [[1, 1, 1], [3, 6, 7], [8, 64, 196], [2, 64, 5]] as const) {
        const dd = d * d;
        const us = Array.from({ length: count }, () => randMat(d, gen));
        const ps = Array.from({ length: count }, () => randSym(d, gen));
        const gss = Array.from({ length: count }, () => randSym(d, gen));
        const gs = Array.from({ length: count }, () => randMat(d, gen));
        const xs = Array.from({ length: count }, () => Float64Array.from({ length: d * m }, () => gen.normal()));
        const s = 1 / m;
        const ws = kernel("linalg.workspace", "float64", workspaceReference)(7 * count * dd + 2 * count * d * m);
        try {
          ws.fill(NaN);
          let o = 0;
          const take = (len: number): Float64Array => ws.subarray(o, (o += len));
          const [u, p, g, t1, t2, gsum, gg] = [0, 1, 2, 3, 4, 5, 6].map(() => take(count * dd)) as Float64Array[];
          const x = take(count * d * m);
          const out = take(count * d * m);
          for (let b = 0; b < count; b++) {
            (u as Float64Array).set(us[b] as Float64Array, b * dd);
            (p as Float64Array).set(ps[b] as Float64Array, b * dd);
            (g as Float64Array).set(gss[b] as Float64Array, b * dd);
            (gg as Float64Array).set(gs[b] as Float64Array, b * dd);
            x.set(xs[b] as Float64Array, b * d * m);
          }
          spectralGramBackwardBatched(count, d, m, s, u as Float64Array, p as Float64Array, g as Float64Array, x, t1 as Float64Array, t2 as Float64Array, out);
          for (let b = 0; b < count; b++) {
            const want = new Float64Array(d * m);
            spectralGramBackward(us[b] as Float64Array, ps[b] as Float64Array, gss[b] as Float64Array, xs[b] as Float64Array, d, m, s, want, 0);
            expectSame(out.subarray(b * d * m, (b + 1) * d * m), want, `spectral count ${count} d ${d} m ${m} problem ${b}`);
          }
          out.fill(NaN);
          gramBackwardBatched(count, d, m, s, gg as Float64Array, x, gsum as Float64Array, out);
          for (let b = 0; b < count; b++) {
            expectSame(out.subarray(b * d * m, (b + 1) * d * m), gramBackward(gs[b] as Float64Array, xs[b] as Float64Array, d, m, s), `gram count ${count} d ${d} m ${m} problem ${b}`);
          }
        } finally {
          kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
        }
      }
    });
  }
});

describe("linalg.centreRows (covariance pooling's row centring)", () => {
  for (const backend of ["wasm", "wasm-simd"] as const) {
    it(`${backend}: the WebAssembly kernel gives centreInto's values bit for bit (float32 and float64 input in linear memory, offsets, d = 1 … 9, m = 1, 2, 7, 196)`, () => {
      setBackend(backend);
      const gen = new Generator(17);
      for (const dtype of ["float32", "float64"] as const) {
        const fn = kernel("linalg.centreRows", dtype, centreInto);
        expect(fn).not.toBe(centreInto);
        for (const d of [1, 2, 3, 4, 5, 8, 9]) {
          for (const m of [1, 2, 7, 196]) {
            const len = 3 + d * m;
            const vals = Array.from({ length: len }, () => gen.normal() * 100 + 50);
            // input and output both in linear memory (one workspace; the input as float32 or float64 view)
            const ws = kernel("linalg.workspace", "float64", workspaceReference)(len + 5 + d * m);
            try {
              const x = dtype === "float32" ? new Float32Array(ws.buffer, ws.byteOffset, len) : ws.subarray(0, len);
              x.set(vals);
              const out = ws.subarray(len, len + 5 + d * m).fill(NaN);
              fn(x, 3, d, m, out, 5);
              const want = new Float64Array(d * m);
              centreInto(dtype === "float32" ? Float32Array.from(vals) : Float64Array.from(vals), 3, d, m, want, 0);
              expectSame(out.subarray(5), want, `${dtype} d ${d} m ${m}`);
              expect(out.subarray(0, 5).every((v) => Number.isNaN(v))).toBe(true);
            } finally {
              kernel("linalg.releaseWorkspace", "float64", releaseWorkspaceReference)(ws);
            }
          }
        }
      }
    });
  }
});
