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
import { Generator } from "../../src/tensor/random.js";
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
