/**
 * Sum-pooled Tensor Sketch's direct route (src/kernels/bilinear.ts tensorSketchForwardDirect /
 * tensorSketchBackwardDirect: the sketch of B = X·Yᵀ by the matrix core) against the FFT route (one FFT per
 * location), each forced through the `tensorSketchRoute` hook, on every backend (js, wasm scalar,
 * wasm-simd; threads 1 and 2), plus float64 finite differences through the direct route.
 *
 * Bounds (u64 = 2⁻⁵², u32 = 2⁻²⁴; S = Σ_l ‖x_l‖₁‖y_l‖₁ per image, which bounds every |Ψ1_l|·|Ψ2_l| sum):
 * - forward, float64: the FFT route is within τ ≤ 8⌈log2 2d⌉·u64·S of the exact sketch (its roundoff
 *   bound, as ‖Ψ_l‖₂ ≤ ‖x_l‖₁), the direct one within (L + C1·C2)·u64·S (the GEMM's L-term sums, then a
 *   bucket sum of at most C1·C2 terms): |Δφ| ≤ (8⌈log2 2d⌉ + L + C1·C2)·u64·S.
 * - forward, float32 (same float32 inputs): the direct route's float32 product adds (min(L, 256) + 2)·u32
 *   per entry of |X||Y|ᵀ, and each output is rounded to float32 once: |Δφ| ≤ (min(L, 256) + 4)·u32·S + the float64 term.
 * - backward (raw output, ḡ = dz): da[i, l] = Σ_j ±ḡ_k·y_jl, |da[i, l]| ≤ ‖ḡ‖∞‖y_l‖₁ (twice with b = a). The FFT
 *   correlation is within 8⌈log2 2d⌉·√d·u64·‖ḡ‖∞‖y_l‖₁ (‖ḡ‖₂ ≤ √d‖ḡ‖∞), the direct GEMM within (C + 3)·u64 of
 *   the same (C the summed channels); float32 adds (min(C, 256) + 3)·u32 and one output rounding.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, setThreads, type BackendName } from "../../src/backends/index.js";
import { setMinPartBytes } from "../../src/backends/wasm/threads.js";
import { tensorSketchDirect, tensorSketchRoute } from "../../src/kernels/bilinear.js";
import { compactBilinearParams, compactBilinearPool, type CompactBilinearParams } from "../../src/ops/compactBilinearPool.js";
import type { FloatDType } from "../../src/tensor/dtype.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { expectTensorClose, tolFor } from "../helpers/close.js";
import { expected, fromJSON, loadFixture } from "../helpers/fixtures.js";
import { paramsFromJSON, type CompactBilinearCase } from "../helpers/compactBilinear.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";

const RAW = { signedSqrt: false, l2: false } as const;
const U64 = 2 ** -52;
const U32 = 2 ** -24;

function withRoute<T>(route: "fft" | "direct", f: () => T): T {
  tensorSketchRoute.force = route;
  try {
    return f();
  } finally {
    tensorSketchRoute.force = null;
  }
}

function rand(shape: number[], seed: number, dtype: FloatDType): Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((p, q) => p * q, 1);
  return tensor(Float64Array.from({ length: n }, () => g.normal()), shape, dtype);
}

interface Case { name: string; n: number; c1: number; c2: number | null; spatial: number[]; d: number; broadcast?: boolean }
const CASES: Case[] = [
  { name: "two streams, C1 ≠ C2, d a power of two", n: 2, c1: 7, c2: 5, spatial: [3, 4], d: 16 },
  { name: "two streams, d = 13 (Bluestein, some buckets unreached)", n: 3, c1: 3, c2: 2, spatial: [5], d: 13 },
  { name: "homogeneous (b = a), d = 24", n: 2, c1: 9, c2: null, spatial: [2, 3], d: 24 },
  { name: "homogeneous, many channels per bucket, d = 32", n: 1, c1: 40, c2: null, spatial: [7, 7], d: 32 },
  { name: "broadcast [N, C2] second stream, d = 20", n: 2, c1: 6, c2: 4, spatial: [3, 3], d: 20, broadcast: true },
  { name: "no spatial dims (vectors), two streams, d = 8", n: 4, c1: 5, c2: 6, spatial: [], d: 8 },
];

/** Per image S = Σ_l ‖x_l‖₁‖y_l‖₁ and per (image, location) ‖y_l‖₁ / ‖x_l‖₁ for the bounds. */
function l1(t: Tensor, n: number, c: number, l: number, i: number, loc: number): number {
  let s = 0;
  for (let ch = 0; ch < c; ch++) s += Math.abs(t.data[(i * c + ch) * l + loc] as number);
  return s;
}

const BACKENDS: [BackendName, number][] = [["js", 1], ["wasm", 1], ["wasm-simd", 1], ["wasm-simd", 2]];

describe("compactBilinearPool Tensor Sketch: the direct route (sketch of X·Yᵀ) equals the FFT route", () => {
  const initial = getBackend();
  afterAll(async () => {
    tensorSketchRoute.force = null;
    setMinPartBytes(undefined);
    await setThreads(1);
    setBackend(initial);
  });
  for (const [backend, threads] of BACKENDS) {
    for (const dtype of ["float64", "float32"] as const) {
      it(`${backend}, ${threads} thread(s), ${dtype}: outputs, zeroed entries and gradients on ${CASES.length} shapes`, async () => {
        setBackend(backend);
        await setThreads(threads);
        setMinPartBytes(0);
        let seed = 100;
        for (const c of CASES) {
          const l = c.spatial.reduce((p, q) => p * q, 1);
          const c2 = c.c2 ?? c.c1;
          const a = rand([c.n, c.c1, ...c.spatial], seed++, dtype);
          const b = c.c2 === null ? null : rand(c.broadcast ? [c.n, c2] : [c.n, c2, ...c.spatial], seed++, dtype);
          const bl = c.broadcast ? 1 : l;
          const opts = { outputDim: c.d, seed: seed++, ...RAW };
          const run = (route: "fft" | "direct") => withRoute(route, () => {
            const r = b ? compactBilinearPool.vjp(a, b, opts) : compactBilinearPool.vjp(a, opts);
            const dz = rand([c.n, c.d], 7, dtype);
            const out = Float64Array.from(r.output.data);
            const grads = r.backward(dz).map((t) => Float64Array.from((t as Tensor).data));
            return { out, grads, dz: Float64Array.from(dz.data) };
          });
          const f = run("fft");
          const g = run("direct");
          // forward
          const lg = Math.ceil(Math.log2(2 * c.d));
          for (let i = 0; i < c.n; i++) {
            let S = 0;
            for (let loc = 0; loc < l; loc++) S += l1(a, c.n, c.c1, l, i, loc) * l1(b ?? a, c.n, c2, bl, i, c.broadcast ? 0 : loc);
            let bound = (8 * lg + l + c.c1 * c2) * U64 * S;
            if (dtype === "float32") bound += (Math.min(l, 256) + 4) * U32 * S;
            for (let k = 0; k < c.d; k++) {
              const x = f.out[i * c.d + k] as number;
              const y = g.out[i * c.d + k] as number;
              expect(Math.abs(x - y), `${c.name}: φ[${i}, ${k}]`).toBeLessThanOrEqual(bound);
              // zeroed entries agree except within the rounding difference of τ (≤ 8⌈log2 2d⌉·u64·S)
              if ((x === 0) !== (y === 0)) expect(Math.max(Math.abs(x), Math.abs(y)), `${c.name}: zeroed [${i}, ${k}]`).toBeLessThanOrEqual(2 * bound);
            }
          }
          // backward: da against ‖ḡ‖∞‖y_l‖₁, db against ‖ḡ‖∞‖x_l‖₁ (summed over l when broadcast)
          const gmax = f.dz.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          const check = (gf: Float64Array, gd: Float64Array, cs: number, lt: number, other: Tensor, oc: number, ol: number, what: string, twice: number) => {
            for (let i = 0; i < c.n; i++) for (let ch = 0; ch < cs; ch++) for (let loc = 0; loc < lt; loc++) {
              let ref = 0;
              if (c.broadcast && what === "db") for (let t = 0; t < l; t++) ref += l1(other, c.n, oc, ol, i, t);
              else ref = l1(other, c.n, oc, ol, i, c.broadcast ? 0 : loc);
              ref *= gmax * twice;
              const C = oc;
              let bound = (8 * lg * Math.sqrt(c.d) + C + 3) * U64 * ref;
              if (dtype === "float32") bound += (Math.min(C, 256) + 4) * U32 * ref;
              const idx = (i * cs + ch) * lt + loc;
              expect(Math.abs((gf[idx] as number) - (gd[idx] as number)), `${c.name}: ${what}[${idx}]`).toBeLessThanOrEqual(bound);
            }
          };
          expect(g.grads.length).toBe(f.grads.length);
          check(f.grads[0] as Float64Array, g.grads[0] as Float64Array, c.c1, l, b ?? a, c2, bl, "da", b ? 1 : 2);
          if (b) check(f.grads[1] as Float64Array, g.grads[1] as Float64Array, c2, bl, a, c.c1, l, "db", 1);
        }
      });
    }
  }
});

describe("compactBilinearPool Tensor Sketch: the direct route's semantics", () => {
  afterAll(() => {
    tensorSketchRoute.force = null;
  });
  it("entries exactly 0 in exact arithmetic (empty buckets, homogeneous pairs that cancel) are exactly 0, with 0 gradient", () => {
    // pairs (0, 1) and (1, 0) cancel in bucket 1 (as in compactBilinearPool.test.ts), over 3 locations
    const params: CompactBilinearParams = {
      method: "tensor-sketch", outputDim: 5,
      h1: tensor([0, 1], [2], "int32"), s1: tensor([1, 1], [2], "int32"),
      h2: tensor([0, 1], [2], "int32"), s2: tensor([1, -1], [2], "int32"),
    };
    for (const dtype of ["float64", "float32"] as const) {
      const x = tensor([[[0.3, -1.1, 0.2], [0.7, 0.4, -2.3]]], [1, 2, 3], dtype);
      const raw = withRoute("direct", () => Array.from(compactBilinearPool(x, { params, ...RAW }).data));
      expect([raw[1], raw[3], raw[4]]).toEqual([0, 0, 0]);
      const xx = [0.3, -1.1, 0.2].reduce((s, v) => s + v * v, 0);
      const yy = [0.7, 0.4, -2.3].reduce((s, v) => s + v * v, 0);
      expect(raw[0]).toBeCloseTo(xx, dtype === "float64" ? 14 : 5);
      expect(raw[2]).toBeCloseTo(-yy, dtype === "float64" ? 14 : 5);
      const r = withRoute("direct", () => compactBilinearPool.vjp(x, { params }));
      expect([r.output.data[1], r.output.data[3], r.output.data[4]]).toEqual([0, 0, 0]);
      const da = withRoute("direct", () => r.backward(tensor([[0, 1, 0, 1, 1]], [1, 5], dtype))[0] as Tensor);
      expect(Array.from(da.data)).toEqual([0, 0, 0, 0, 0, 0]);
    }
  });

  it("the same τ on both routes: an entry of 1e-20 (exact, but below τ ≈ 5e-15) is zeroed by both, with 0 gradient", () => {
    const params: CompactBilinearParams = {
      method: "tensor-sketch", outputDim: 4,
      h1: tensor([0, 1], [2], "int32"), s1: tensor([1, 1], [2], "int32"),
      h2: tensor([0], [1], "int32"), s2: tensor([1], [1], "int32"),
    };
    const x = tensor([[1, 1e-20]], [1, 2], "float64");
    const y = tensor([[1]], [1, 1], "float64");
    for (const route of ["fft", "direct"] as const) {
      const r = withRoute(route, () => compactBilinearPool.vjp(x, y, { params, ...RAW }));
      expect(Array.from(r.output.data), route).toEqual([1, 0, 0, 0]);
      const [da, db] = withRoute(route, () => r.backward(tensor([[0, 1, 0, 0]], [1, 4], "float64")) as Tensor[]);
      expect([...(da as Tensor).data, ...(db as Tensor).data], route).toEqual([0, 0, 0]);
    }
  });

  it("float64 finite differences through the direct route: two streams, homogeneous, broadcast, d not a power of two", () => {
    const a = distinctRandom([2, 3, 2, 2], 41, 2);
    const b = distinctRandom([2, 2, 2, 2], 42, 2);
    const q = distinctRandom([2, 4], 43, 2);
    withRoute("direct", () => {
      gradcheck(([x, y]) => compactBilinearPool.vjp(x as Tensor, y as Tensor, { outputDim: 8 }), [a, b]);
      gradcheck(([x, y]) => compactBilinearPool.vjp(x as Tensor, y as Tensor, { outputDim: 7, seed: 4 }), [a, b]);
      gradcheck(([x]) => compactBilinearPool.vjp(x as Tensor, { outputDim: 6, seed: 5 }), [a]);
      gradcheck(([x]) => compactBilinearPool.vjp(x as Tensor, { outputDim: 11, seed: 6, l2: false }), [a]);
      gradcheck(([x, y]) => compactBilinearPool.vjp(x as Tensor, y as Tensor, { outputDim: 9, seed: 7 }), [a, q]);
    });
  });

  it("the direct route is the count sketch of Σ_l x_l y_lᵀ (hand-built reference, homogeneous and two streams)", () => {
    const n = 2, c1 = 5, c2 = 4, l = 6, d = 10;
    const x = rand([n, c1, l], 3, "float64");
    const y = rand([n, c2, l], 4, "float64");
    for (const [b, cb] of [[y, c2], [null, c1]] as const) {
      const p = compactBilinearParams(c1, cb, { outputDim: d, seed: 8 });
      if (p.method !== "tensor-sketch") throw new Error("expected tensor-sketch");
      const yy = b ?? x;
      const want = new Float64Array(n * d);
      for (let s = 0; s < n; s++) for (let i = 0; i < c1; i++) for (let j = 0; j < cb; j++) {
        let bij = 0;
        for (let t = 0; t < l; t++) bij += (x.data[(s * c1 + i) * l + t] as number) * (yy.data[(s * cb + j) * l + t] as number);
        const k = ((p.h1.data[i] as number) + (p.h2.data[j] as number)) % d;
        want[s * d + k] = (want[s * d + k] as number) + (p.s1.data[i] as number) * (p.s2.data[j] as number) * bij;
      }
      const got = withRoute("direct", () => Array.from((b ? compactBilinearPool(x, b, { params: p, ...RAW }) : compactBilinearPool(x, { params: p, ...RAW })).data));
      for (let k = 0; k < n * d; k++) expect(Math.abs((got[k] as number) - (want[k] as number))).toBeLessThanOrEqual(1e-12);
    }
  });

  it("route choice: sum pooling only, by the cost model C1·C2·L (÷2 when b = a) ≤ 16·L·d·log2 d (×6 Bluestein), B ≤ 2^20 entries", () => {
    expect(tensorSketchDirect(512, 512, 196, false, 8192, true, true)).toBe(true); // the CVPR setting
    expect(tensorSketchDirect(512, 512, 196, false, 8192, false, true)).toBe(false); // per-location outputs: FFT
    expect(tensorSketchDirect(1024, 1024, 196, false, 1024, true, true)).toBe(false); // GEMM 51× the FFT work
    expect(tensorSketchDirect(2048, 2048, 196, false, 65536, true, true)).toBe(false); // B too large
    expect(tensorSketchDirect(2048, 3000, 1, true, 16, true)).toBe(true); // broadcast: rank-one B
    expect(tensorSketchDirect(768, 768, 196, false, 1000, true, true)).toBe(true); // Bluestein
    expect(tensorSketchDirect(768, 768, 196, false, 1024, true, false)).toBe(false);
  });
});

describe("compactBilinearPool Tensor Sketch: PyTorch fixtures through each route (sum-pooled cases)", () => {
  afterAll(() => {
    tensorSketchRoute.force = null;
  });
  const cases = loadFixture<CompactBilinearCase>("bilinear_compact.json").cases.filter((c) => c.params.method === "tensor-sketch" && c.options.sumPool !== false);
  for (const route of ["fft", "direct"] as const) {
    for (const c of cases) {
      for (const dtype of ["float64", "float32"] as const) {
        it(`${route}: ${c.name}, ${dtype}`, () => {
          const params = paramsFromJSON(c);
          // the tolerances of compactBilinearPool.test.ts (float32 gradients: the signed-√ derivative amplifies input rounding)
          const tol = tolFor(dtype);
          const gtol = dtype === "float32" ? { atol: 1e-4, rtol: 1e-4 } : tol;
          const a = fromJSON(c.a, dtype);
          const b = c.b ? fromJSON(c.b, dtype) : null;
          const opts = { ...c.options, params };
          withRoute(route, () => {
            const { output, backward } = b ? compactBilinearPool.vjp(a, b, opts) : compactBilinearPool.vjp(a, opts);
            expectTensorClose(output, expected(c.output), tol, "output");
            const grads = backward(fromJSON(c.dy, dtype));
            expectTensorClose(grads[0] as Tensor, expected(c.da), gtol, "da");
            if (c.db) expectTensorClose(grads[1] as Tensor, expected(c.db), gtol, "db");
          });
        });
      }
    }
  }
  it("covers homogeneous, two-stream, Bluestein, vector and broadcast cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(5);
  });
});
