/**
 * The bilinear family's WebAssembly post-processing kernels (assembly/bilinear.ts: signed square root +
 * L2 normalisation, `bilinear.signedSqrtL2` and its backward) against the TypeScript references
 * postForward / postBackward (src/kernels/bilinear.ts), SIMD and scalar builds, on 1 and 2 threads
 * (splits forced), rows of 1–1031 entries (SIMD body and scalar tail), inputs in linear memory and on
 * the JS heap, zeros of both signs, NaN and ±∞.
 *
 * Bounds (float32 ulp u = 2⁻²⁴): u = sign(v)√|v| bit-identical on both builds (a float32 √ is correctly
 * rounded, as fround(Math.sqrt) is). The scalar build sums Σu² and Σu·dz in the reference's order, so
 * its norms, z and dv are bit-identical too. The SIMD build adds those float64 sums in four partial sums:
 * |Δnorm| ≤ dim·2⁻⁵²·norm (every term is non-negative), so z = f32(u/n) may round the other way:
 * |Δz| ≤ 2u·|z|; the backward's c = Σu·dz/n³ differs by ≤ dim·2⁻⁵²·Σ|u·dz|/n³ (plus the norm's part),
 * so |Δdv| ≤ 2u·|dv| + f·(|u|·dim·2⁻⁵⁰·(Σ|u·dz| + |Σu·dz|)/n³) with f = 0.5/√(|v| + ε).
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, setThreads } from "../../src/backends/index.js";
import type { LinearStorage } from "../../src/backends/linear.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { setMinPartBytes } from "../../src/backends/wasm/threads.js";
import { postBackward, postForward } from "../../src/kernels/bilinear.js";
import { kernel, type PostPlan } from "../../src/kernels/registry.js";
import { lowRankBilinearPool } from "../../src/ops/lowRankBilinearPool.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { WASM } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(async () => {
  setMinPartBytes(undefined);
  await setThreads(1);
  setBackend(initial);
});

const U = 2 ** -24;

function plan(rows: number, dim: number, signedSqrt: boolean, l2: boolean): PostPlan {
  return { rows, dim, stride: 1, signedSqrt, l2, sqrtEps: 1e-8, l2Eps: 1e-10 };
}

/** Values with exact zeros of both signs, tiny and large magnitudes; `special` adds NaN / ±∞ to the last row. */
function values(rows: number, dim: number, gen: Generator, special: boolean): Float32Array {
  const v = new Float32Array(rows * dim);
  for (let i = 0; i < v.length; i++) {
    const r = gen.uniform();
    v[i] = r < 0.05 ? 0 : r < 0.1 ? -0 : r < 0.15 ? gen.normal() * 1e-30 : gen.normal() * (r < 0.5 ? 1 : 300);
  }
  if (special && dim >= 3) {
    const o = (rows - 1) * dim;
    v[o] = NaN;
    v[o + 1] = Infinity;
    v[o + 2] = -Infinity;
  }
  return v;
}

function same(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) expect.fail(`${what}: element ${i}: ${a[i]} vs ${b[i]}`);
  }
}

function within(got: ArrayLike<number>, want: ArrayLike<number>, bound: (i: number) => number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    if (Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w))) continue;
    if (!Number.isFinite(w) || !(Math.abs(g - w) <= bound(i))) expect.fail(`${what}: element ${i}: ${g} vs ${w} (bound ${bound(i)})`);
  }
}

const SHAPES: [number, number][] = [[1, 1], [3, 1], [1, 3], [2, 4], [5, 7], [4, 64], [3, 1031], [9, 257]];

describe("bilinear.signedSqrtL2 on WebAssembly against postForward / postBackward", () => {
  for (const backend of WASM) {
    for (const threads of [1, 2]) {
      it(`${backend}, ${threads} thread(s): u bit-identical, norms/z/dv within the stated bounds (scalar build: bit-identical)`, async () => {
        setBackend(backend);
        await setThreads(threads);
        setMinPartBytes(threads > 1 ? 0 : undefined);
        const gen = new Generator(threads * 10 + (backend === "wasm" ? 1 : 0));
        const exact = backend === "wasm";
        let ci = 0;
        for (const [rows, dim] of SHAPES) {
          for (const [signedSqrt, l2] of [[true, true], [true, false], [false, true], [false, false]] as const) {
            for (const inWasm of [true, false]) {
              const what = `${backend} ${threads}t [${rows}, ${dim}] sqrt ${signedSqrt} l2 ${l2} ${inWasm ? "linear memory" : "JS heap"}`;
              const p = plan(rows, dim, signedSqrt, l2);
              const v0 = values(rows, dim, gen, ci++ % 3 === 0);
              const dz0 = Float32Array.from({ length: rows * dim }, () => gen.normal());
              // reference, on copies in the JS heap
              const uR = new Float32Array(rows * dim);
              const zR = new Float32Array(rows * dim);
              const nR = postForward(p, v0.slice(), uR, zR);
              const dvR = new Float32Array(rows * dim);
              postBackward(p, v0.slice(), uR.slice(), nR.slice(), dz0.slice(), dvR);
              // the backend's kernel
              const blocks: LinearStorage[] = [];
              const arr = (src: Float32Array): Float32Array => {
                if (!inWasm) return src.slice();
                const s = activeWasm()!.heap.allocate("float32", Math.max(src.length, 1), false) as LinearStorage;
                blocks.push(s);
                const view = (s.view as Float32Array).subarray(0, src.length);
                view.set(src);
                return view;
              };
              const v = arr(v0);
              const u = arr(new Float32Array(rows * dim).fill(7));
              const z = arr(new Float32Array(rows * dim).fill(7));
              const dz = arr(dz0);
              const dv = arr(new Float32Array(rows * dim).fill(7));
              const fwd = kernel("bilinear.signedSqrtL2", "float32", postForward);
              expect(fwd, "a wasm kernel is registered").not.toBe(postForward);
              const nW = fwd(p, v, u, z);
              kernel("bilinear.signedSqrtL2Backward", "float32", postBackward)(p, v, u, nW, dz, dv);
              const got = { u: u.slice(), z: z.slice(), dv: dv.slice(), n: nW.slice() };
              for (const s of blocks) s.free();
              // the inputs are not written
              same(inWasm ? v0 : v, v0, `${what} v unchanged`);
              same(got.u, uR, `${what} u`);
              if (exact) {
                same(got.n, nR, `${what} norms`);
                same(got.z, zR, `${what} z`);
                same(got.dv, dvR, `${what} dv`);
                continue;
              }
              within(got.n, nR, (r) => dim * 2 ** -52 * (nR[r] as number), `${what} norms`);
              within(got.z, zR, (i) => 2 * U * Math.abs(zR[i] as number), `${what} z`);
              within(got.dv, dvR, (i) => {
                const r = Math.floor(i / dim);
                const n = nR[r] as number;
                let sAbs = 0;
                let s = 0;
                for (let k = r * dim; k < (r + 1) * dim; k++) {
                  sAbs += Math.abs((uR[k] as number) * (dz0[k] as number));
                  s += (uR[k] as number) * (dz0[k] as number);
                }
                const f = signedSqrt ? 0.5 / Math.sqrt(Math.abs(v0[i] as number) + 1e-8) : 1;
                const dc = l2 ? (dim * 2 ** -50 * (sAbs + Math.abs(s))) / (n * n * n) : 0;
                return 2 * U * Math.abs(dvR[i] as number) + f * Math.abs(uR[i] as number) * dc;
              }, `${what} dv`);
            }
          }
        }
      });
    }
  }
});

describe("tanh accuracy (assembly/bilinear.ts tanhArray, the MLB kernels' σ)", () => {
  for (const backend of WASM) {
    it(`${backend}: within 3 float32 ulps of float64 Math.tanh (ulp of the result), ±0, NaN, ±∞ exact, builds bit-identical`, () => {
      setBackend(backend);
      const b = activeWasm()!;
      const xs: number[] = [0, -0, NaN, Infinity, -Infinity, 1e-30, -1e-30, 1e-8, 0.39999997, 0.4, 0.40000004, -0.4, 9, 9.1, 20, -20, 88, 1e30];
      for (let i = -200000; i <= 200000; i++) xs.push(i * 5e-5); // [−10, 10]
      const gen = new Generator(5);
      for (let i = 0; i < 20000; i++) xs.push(gen.normal() * 10 ** (gen.uniform() * 8 - 6));
      const x = Float32Array.from(xs);
      const px = b.heap.allocate("float32", x.length, false)!;
      const py = b.heap.allocate("float32", x.length, false)!;
      (px.view as Float32Array).set(x);
      (b.exports as unknown as { tanhArray(x: number, y: number, n: number): void }).tanhArray(px.ptr, py.ptr, x.length);
      const y = (py.view as Float32Array).slice();
      px.free();
      py.free();
      let worst = 0;
      for (let i = 0; i < x.length; i++) {
        const want = Math.tanh(x[i] as number);
        const got = y[i] as number;
        if (Number.isNaN(want)) {
          expect(Number.isNaN(got), `tanh(${x[i]})`).toBe(true);
          continue;
        }
        if (want === 0 || !Number.isFinite(x[i] as number)) {
          expect(Object.is(got, want === 0 ? (x[i] as number) : want), `tanh(${x[i]}) = ${got}`).toBe(true);
          continue;
        }
        const ulp = 2 ** (Math.floor(Math.log2(Math.abs(want))) - 23);
        worst = Math.max(worst, Math.abs(got - want) / ulp);
      }
      expect(worst).toBeLessThanOrEqual(3);
      // the other build gives the same bits
      tanhBits.set(backend, y);
      const other = tanhBits.get(backend === "wasm" ? "wasm-simd" : "wasm");
      if (other !== undefined) same(y, other, "SIMD vs scalar build");
    });
  }
});
const tanhBits = new Map<string, Float32Array>();

describe("lowRankBilinearPool float32 on WebAssembly (float32 GEMMs, mlbHidden32 / mlbGrad32 / sumImages32)", () => {
  // Held to bounds propagated from exact (float64) arithmetic on the same float32 values (u = 2⁻²⁴):
  // pre-activations |Δz| ≤ (k_b + ⌈k/256⌉ + 3)·u·(|U||x| + |b|) (float32 GEMM blocks of k_b = min(k, 256)
  // terms, one float32 rounding per block, the bias added in float32), σ = tanh adds 3 ulps (≤ 6u·|σ|,
  // the tanh accuracy test), |Δσ| ≤ |Δz| (tanh is 1-Lipschitz). h = Σ a∘c and everything after it in
  // float64: |Δh| ≤ Σ (Δa|c| + |a|Δc + ΔaΔc); |Δout| ≤ s·|P|Δh + 2u|out|. Backward: dZ_u = dh∘c∘σ'(a)
  // with |Δσ'| ≤ 2|a|Δa + Δa², rounded to float32 (u|dZ|); dX = Uᵀ dZ_u: |U|ᵀΔZ + (k_b + ⌈rank/256⌉ + 2)·u·|U|ᵀ(|dZ| + ΔZ);
  // dU = Σ_s dZ_u,s X_sᵀ: |ΔZ||X|ᵀ + (k_b + ⌈L/256⌉ + n + 3)·u·(|dZ| + ΔZ)|X|ᵀ (per-image float32 results
  // summed in float64); db_u: Σ ΔZ + 2u|db_u|; dP = s·Gᵀ H: s·|G|ᵀΔh + 2u|dP|; db_P within 2u.
  const u = 2 ** -24;
  type Case = { n: number; cx: number; cy: number; sp: number[]; rank: number; outDim: number; pooling: "mean" | "sum"; activation: "tanh" | "identity"; bias: [boolean, boolean, boolean] };
  const cases: Case[] = [
    { n: 2, cx: 5, cy: 3, sp: [7], rank: 6, outDim: 4, pooling: "mean", activation: "tanh", bias: [true, true, true] },
    { n: 3, cx: 300, cy: 9, sp: [], rank: 5, outDim: 2, pooling: "sum", activation: "identity", bias: [false, false, false] },
    { n: 1, cx: 4, cy: 4, sp: [15, 20], rank: 3, outDim: 3, pooling: "mean", activation: "tanh", bias: [true, false, true] }, // L = 300: two kept blocks
    { n: 2, cx: 17, cy: 6, sp: [1, 1], rank: 1, outDim: 1, pooling: "sum", activation: "tanh", bias: [false, true, false] },
    { n: 5, cx: 33, cy: 20, sp: [3, 5], rank: 19, outDim: 7, pooling: "mean", activation: "tanh", bias: [true, true, true] },
  ];

  function check(c: Case, backend: string, threads: number, seed: number): void {
    const gen = new Generator(seed);
    const l = c.sp.reduce((p, d) => p * d, 1);
    const { n, cx, cy, rank, outDim } = c;
    const f = (len: number, sc = 1): Float32Array => Float32Array.from({ length: len }, () => gen.normal() * sc);
    const x = f(n * cx * l);
    const y = f(n * cy * l);
    const Um = f(rank * cx, 1 / Math.sqrt(cx));
    const Vm = f(rank * cy, 1 / Math.sqrt(cy));
    const Pm = f(outDim * rank);
    const bu = c.bias[0] ? f(rank, 0.5) : null;
    const bv = c.bias[1] ? f(rank, 0.5) : null;
    const bp = c.bias[2] ? f(outDim) : null;
    const g = f(n * outDim);
    const t = (d: Float32Array | null, shape: number[]): Tensor | null => (d ? tensor(d, shape, "float32") : null);
    const r = lowRankBilinearPool.vjp(
      t(x, [n, cx, ...c.sp])!, t(y, [n, cy, ...c.sp])!, t(Um, [rank, cx])!, t(Vm, [rank, cy])!, t(Pm, [outDim, rank])!,
      t(bu, [rank]), t(bv, [rank]), t(bp, [outDim]), { pooling: c.pooling, activation: c.activation },
    );
    const out = (r.output.data as Float32Array).slice();
    const grads = r.backward(tensor(g, [n, outDim], "float32")).map((q) => (q ? (q.data as Float32Array).slice() : null));
    const what = `${backend} ${threads}t ${JSON.stringify(c)}`;
    const tanh = c.activation === "tanh";
    const scale = c.pooling === "mean" ? 1 / l : 1;
    const kb = (k: number): number => Math.min(k, 256) + Math.ceil(k / 256);
    // float64 reference with the error bounds: a, c [n, rank, l], their bounds ea, ec
    const proj = (W: Float32Array, b: Float32Array | null, z: Float32Array, ch: number): { v: Float64Array; e: Float64Array } => {
      const v = new Float64Array(n * rank * l);
      const e = new Float64Array(n * rank * l);
      for (let s = 0; s < n; s++) for (let q = 0; q < rank; q++) for (let p = 0; p < l; p++) {
        let acc = b ? (b[q] as number) : 0;
        let mag = Math.abs(acc);
        for (let j = 0; j < ch; j++) {
          const term = (W[q * ch + j] as number) * (z[(s * ch + j) * l + p] as number);
          acc += term;
          mag += Math.abs(term);
        }
        const i = (s * rank + q) * l + p;
        v[i] = tanh ? Math.tanh(acc) : acc;
        e[i] = (kb(ch) + 3) * u * mag + (tanh ? 6 * u * Math.abs(v[i] as number) : 0);
      }
      return { v, e };
    };
    const A = proj(Um, bu, x, cx);
    const C = proj(Vm, bv, y, cy);
    const h = new Float64Array(n * rank);
    const eh = new Float64Array(n * rank);
    for (let q = 0; q < n * rank; q++) for (let p = 0; p < l; p++) {
      const i = q * l + p;
      const [a, ea, cc, ec] = [A.v[i] as number, A.e[i] as number, C.v[i] as number, C.e[i] as number];
      h[q] = (h[q] as number) + a * cc;
      eh[q] = (eh[q] as number) + ea * Math.abs(cc) + Math.abs(a) * ec + ea * ec;
    }
    const bound = (got: ArrayLike<number>, want: (i: number) => number, err: (i: number) => number, name: string): void => {
      for (let i = 0; i < got.length; i++) {
        const w = want(i);
        const e = err(i);
        if (!(Math.abs((got[i] as number) - w) <= e)) expect.fail(`${what} ${name}[${i}]: ${got[i]} vs ${w} (bound ${e})`);
      }
    };
    bound(out, (i) => {
      const [s, o] = [Math.floor(i / outDim), i % outDim];
      let acc = 0;
      for (let q = 0; q < rank; q++) acc += (Pm[o * rank + q] as number) * (h[s * rank + q] as number);
      return (bp ? (bp[o] as number) : 0) + scale * acc;
    }, (i) => {
      const [s, o] = [Math.floor(i / outDim), i % outDim];
      let e = 0;
      let m = bp ? Math.abs(bp[o] as number) : 0;
      for (let q = 0; q < rank; q++) {
        e += Math.abs(Pm[o * rank + q] as number) * (eh[s * rank + q] as number);
        m += scale * Math.abs((Pm[o * rank + q] as number) * (h[s * rank + q] as number));
      }
      return scale * e + 2 * u * m;
    }, "out");
    // backward
    const dh = new Float64Array(n * rank);
    for (let s = 0; s < n; s++) for (let q = 0; q < rank; q++) {
      let acc = 0;
      for (let o = 0; o < outDim; o++) acc += (g[s * outDim + o] as number) * (Pm[o * rank + q] as number);
      dh[s * rank + q] = scale * acc;
    }
    const dz = (first: typeof A, other: typeof A): { v: Float64Array; e: Float64Array } => {
      const v = new Float64Array(n * rank * l);
      const e = new Float64Array(n * rank * l);
      for (let i = 0; i < v.length; i++) {
        const d = dh[Math.floor(i / l)] as number;
        const [a, ea, cc, ec] = [first.v[i] as number, first.e[i] as number, other.v[i] as number, other.e[i] as number];
        const sp = tanh ? 1 - a * a : 1;
        const esp = tanh ? 2 * Math.abs(a) * ea + ea * ea : 0;
        v[i] = d * cc * sp;
        e[i] = Math.abs(d) * (ec * Math.abs(sp) + Math.abs(cc) * esp + ec * esp) + u * (Math.abs(v[i] as number) + 1e-300);
      }
      return { v, e };
    };
    const Zu = dz(A, C);
    const Zv = dz(C, A);
    const [gx, gy, gU, gV, gP, gbu, gbv, gbp] = grads;
    for (const [Z, W, z, ch, gz, gW, gb, name] of [[Zu, Um, x, cx, gx, gU, gbu, "x"], [Zv, Vm, y, cy, gy, gV, gbv, "y"]] as const) {
      // dX[s, j, p] = Σ_q W[q, j] Z[s, q, p]
      bound(gz!, (i) => {
        const [s, j, p] = [Math.floor(i / (ch * l)), Math.floor(i / l) % ch, i % l];
        let acc = 0;
        for (let q = 0; q < rank; q++) acc += (W[q * ch + j] as number) * (Z.v[(s * rank + q) * l + p] as number);
        return acc;
      }, (i) => {
        const [s, j, p] = [Math.floor(i / (ch * l)), Math.floor(i / l) % ch, i % l];
        let e = 0;
        let m = 0;
        for (let q = 0; q < rank; q++) {
          const k = (s * rank + q) * l + p;
          e += Math.abs(W[q * ch + j] as number) * (Z.e[k] as number);
          m += Math.abs(W[q * ch + j] as number) * (Math.abs(Z.v[k] as number) + (Z.e[k] as number));
        }
        return e + (kb(rank) + 2) * u * m;
      }, `d${name}`);
      // dW[q, j] = Σ_s Σ_p Z[s, q, p] X[s, j, p]
      bound(gW!, (i) => {
        const [q, j] = [Math.floor(i / ch), i % ch];
        let acc = 0;
        for (let s = 0; s < n; s++) for (let p = 0; p < l; p++) acc += (Z.v[(s * rank + q) * l + p] as number) * (z[(s * ch + j) * l + p] as number);
        return acc;
      }, (i) => {
        const [q, j] = [Math.floor(i / ch), i % ch];
        let e = 0;
        let m = 0;
        for (let s = 0; s < n; s++) for (let p = 0; p < l; p++) {
          const k = (s * rank + q) * l + p;
          const xv = Math.abs(z[(s * ch + j) * l + p] as number);
          e += (Z.e[k] as number) * xv;
          m += (Math.abs(Z.v[k] as number) + (Z.e[k] as number)) * xv;
        }
        return e + (kb(l) + n + 3) * u * m;
      }, `d${name === "x" ? "U" : "V"}`);
      if (gb) {
        bound(gb, (q) => {
          let acc = 0;
          for (let s = 0; s < n; s++) for (let p = 0; p < l; p++) acc += Z.v[(s * rank + q) * l + p] as number;
          return acc;
        }, (q) => {
          let e = 0;
          let m = 0;
          for (let s = 0; s < n; s++) for (let p = 0; p < l; p++) {
            e += Z.e[(s * rank + q) * l + p] as number;
            m += Math.abs(Z.v[(s * rank + q) * l + p] as number);
          }
          return e + 2 * u * m;
        }, `db${name === "x" ? "U" : "V"}`);
      } else expect(gb, `${what} no bias, no gradient`).toBeNull();
    }
    bound(gP!, (i) => {
      const [o, q] = [Math.floor(i / rank), i % rank];
      let acc = 0;
      for (let s = 0; s < n; s++) acc += (g[s * outDim + o] as number) * (h[s * rank + q] as number);
      return scale * acc;
    }, (i) => {
      const [o, q] = [Math.floor(i / rank), i % rank];
      let e = 0;
      let m = 0;
      for (let s = 0; s < n; s++) {
        e += Math.abs(g[s * outDim + o] as number) * (eh[s * rank + q] as number);
        m += Math.abs((g[s * outDim + o] as number) * (h[s * rank + q] as number));
      }
      return scale * e + 2 * u * scale * m;
    }, "dP");
    if (gbp) {
      bound(gbp, (o) => {
        let acc = 0;
        for (let s = 0; s < n; s++) acc += g[s * outDim + o] as number;
        return acc;
      }, (o) => {
        let m = 0;
        for (let s = 0; s < n; s++) m += Math.abs(g[s * outDim + o] as number);
        return 2 * u * m;
      }, "dbP");
    }
  }

  for (const backend of [...WASM, "js"] as const) {
    for (const threads of backend === "js" ? [1] : [1, 2]) {
      it(`${backend}, ${threads} thread(s): output and every gradient within the propagated float32 bounds`, async () => {
        setBackend(backend);
        await setThreads(threads);
        setMinPartBytes(threads > 1 ? 0 : undefined);
        cases.forEach((c, i) => check(c, backend, threads, 300 + i));
      });
    }
  }
});
