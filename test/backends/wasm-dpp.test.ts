/**
 * Detail-preserving pooling's WebAssembly kernels (assembly/dpp.ts; SIMD and scalar builds) against
 * the TypeScript reference kernels (src/kernels/weighted.ts dppForward / dppBackward, float64
 * arithmetic on the float32 inputs): lite and full, symmetric and asymmetric, random shapes (H and W
 * even, as DPP requires: 1 block, single rows and columns of blocks, block rows whose length is not a
 * multiple of 4, many planes), inputs in WebAssembly memory and in the JS heap, extreme parameters.
 *
 * Bounds (u = 2^−24, h = λ/2 = e^{θλ}/2 of the block's channel, s = max − min of the block's pixels):
 * the kernel computes each block in float32 with a float32 logarithm (≤ 2 ulp, measured below) and
 * exponential (≤ 1 ulp, util.ts), taking the deviations from pairwise differences of the pixels
 * (lite) or from the float64 Ĩ rounded once (full), and i_j − y as δ − (i_0 − i_j) with
 * δ = Σ w_k (i_0 − i_k)/S. So ln(q_j/q̄) carries an absolute error of a few u·(1 + |ln(q_j/q̄)|),
 * each weight (q_j/q̄)^h a relative error of that times h, and y, a convex combination of the block
 * moved by relative weight errors, errs by at most s·(weight error):
 * - y:           |Δy| ≤ 2·u·|y| + 16·u·s·(1 + h)    (the largest seen over the random cases: 1.7·u·(s + |y|)·(1 + h);
 *   2·u·|y| is one float32 ulp of y: values next to a rounding boundary may round the other way)
 * - dx, lite:    |Δ| ≤ 16·u·|dy_b|·(1 + h)²·(1 + s)  (dy_b: the block's upstream gradient; seen ≤ 0.94)
 *   (each term of ∂y/∂x holds one weight (h·u relative error) times h·(x_j − y)·2d/q, which is
 *   O(1 + s) — d/q ≤ 1/(2√ε²) only where |d| ≈ √ε, then x_j − y ≤ s)
 * - dx, full:    |Δ| ≤ 16·u·max|dy|·(1 + h)²·(1 + max|x|) per plane (a pixel takes the filter share
 *   of up to 4 blocks, and d = x − Ĩ scales with |x|, not with s; seen ≤ 0.37)
 * - dθα:         |Δ| ≤ 2·u·|dθα| + 4·u·Σ_b |dy_b|·s_b·(1 + h) over the channel's blocks (float32 terms
 *   per block, (Σ_j gw_j)·α with gw_j = dy/S·(x_j − y), summed in float64; seen ≤ 0.62)
 * - dθλ:         |Δ| ≤ 2·u·|dθλ| + 4·u·Σ_b |dy_b|·s_b·(1 + h)² (its terms carry one more factor h; seen ≤ 0.13)
 * - dfilter:     |Δ| ≤ 2·u·|dF| + 4·u·Σ_b |dy_b|·(1 + h)²·(1 + max|x|)² (terms ∂L/∂Ĩ·x; seen ≤ 0.02)
 * Blocks outside the float32 path (a non-finite pixel, Σ|d| ≥ 1e15) and channels with h > 2^24 or
 * a non-finite α go through a float64 port of the reference: non-finite values must match exactly
 * (NaN where the reference has NaN, the same infinity), finite ones within the bounds above.
 * θα above 10: the clamp's gradient is exactly 0 on every backend.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, getThreads, setBackend, setThreads } from "../../src/backends/index.js";
import { activeWasm } from "../../src/backends/wasm/index.js";
import { setMinPartBytes } from "../../src/backends/wasm/threads.js";
import { kernel } from "../../src/kernels/registry.js";
import { detailPreservingPool2d } from "../../src/ops/detailPreservingPool.js";
import { dppBackward, dppForward } from "../../src/kernels/weighted.js";
import { Generator } from "../../src/tensor/random.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import type { TypedArray } from "../../src/tensor/dtype.js";
import { expectBits, firstFarDifference, int, maxAbs, runArrayHook, runOn, U32, values, WASM, type Input, type Run } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

interface Case {
  shape: [number, number, number, number];
  x: Float32Array;
  thA: Float32Array;
  thL: Float32Array;
  filt: Float32Array | null;
  asym: boolean;
}

const call = (c: Case) => (t: Tensor[]) => {
  const opts = { reward: c.asym ? ("asymmetric" as const) : ("symmetric" as const) };
  return c.filt !== null ? detailPreservingPool2d.vjp(t[0]!, t[1]!, t[2]!, t[3]!, opts) : detailPreservingPool2d.vjp(t[0]!, t[1]!, t[2]!, opts);
};

const inputs = (c: Case): Input[] => {
  const C = c.shape[1];
  const ins: Input[] = [{ data: c.x, shape: c.shape }, { data: c.thA, shape: [C] }, { data: c.thL, shape: [C] }];
  if (c.filt !== null) ins.push({ data: c.filt, shape: [C, 1, 3, 3] });
  return ins;
};

/** Upstream gradients: finite, mixed signs, a few zeros. */
const dyOf = (m: number): Float32Array => Float32Array.from({ length: m }, (_, i) => (((i * 7919) % 13) - 6) / 4);

/** Compare a run with the reference run within the bounds stated at the top. */
function expectDppClose(label: string, c: Case, got: Run, ref: Run): void {
  const [N, C, H, W] = c.shape;
  const oH = H / 2;
  const oW = W / 2;
  const planes = N * C;
  const dy = dyOf(planes * oH * oW);
  const hOf = (p: number): number => Math.exp(c.thL[p % C] as number) / 2;
  const planeMaxX = (p: number): number => maxAbs(c.x.subarray(p * H * W, (p + 1) * H * W));
  const spread = (p: number, bi: number, bj: number): number => {
    const j0 = p * H * W + 2 * bi * W + 2 * bj;
    const v = [c.x[j0], c.x[j0 + 1], c.x[j0 + W], c.x[j0 + W + 1]] as number[];
    return Math.max(...v) - Math.min(...v); // NaN or ∞ for a non-finite pixel: no bound (must then match exactly)
  };
  const blockOf = (i: number): [number, number, number] => {
    const p = Math.floor(i / (H * W));
    const r = i - p * H * W;
    return [p, Math.floor(r / W / 2), Math.floor((r % W) / 2)];
  };
  const y = ref.outputs[0] as TypedArray;
  const tolY = (o: number): number => {
    const p = Math.floor(o / (oH * oW));
    const b = o - p * oH * oW;
    const s = spread(p, Math.floor(b / oW), b % oW);
    return 2 * U32 * Math.abs(y[o] as number) + 16 * U32 * s * (1 + hOf(p));
  };
  expect(firstFarDifference(got.outputs[0] as TypedArray, y, (o) => tolOrInf(tolY(o))), `${label}: y`).toBeNull();
  const pmDy: number[] = [];
  for (let p = 0; p < planes; p++) pmDy.push(maxAbs(dy.subarray(p * oH * oW, (p + 1) * oH * oW)));
  const tolDx = (i: number): number => {
    const [p, bi, bj] = blockOf(i);
    const h = hOf(p);
    if (c.filt === null) return 16 * U32 * Math.abs(dy[p * oH * oW + bi * oW + bj] as number) * (1 + h) ** 2 * (1 + spread(p, bi, bj));
    return 16 * U32 * (pmDy[p] as number) * (1 + h) ** 2 * (1 + planeMaxX(p));
  };
  expect(firstFarDifference(got.grads[0] as TypedArray, ref.grads[0] as TypedArray, (i) => tolOrInf(tolDx(i))), `${label}: dx`).toBeNull();
  // per channel: Σ over its blocks of |dy_b|·s_b·(1 + h) (θα), ·(1 + h)² (θλ), |dy_b|·(1 + h)²·(1 + max|x|)² (filter)
  const sA = new Float64Array(C);
  const sL = new Float64Array(C);
  const sF = new Float64Array(C);
  for (let p = 0; p < planes; p++) {
    const q = p % C;
    const h = hOf(p);
    const mx = planeMaxX(p);
    for (let bi = 0; bi < oH; bi++) {
      for (let bj = 0; bj < oW; bj++) {
        const d = Math.abs(dy[p * oH * oW + bi * oW + bj] as number);
        const s = spread(p, bi, bj);
        sA[q] = (sA[q] as number) + d * s * (1 + h);
        sL[q] = (sL[q] as number) + d * s * (1 + h) ** 2;
        sF[q] = (sF[q] as number) + d * (1 + h) ** 2 * (1 + mx) ** 2;
      }
    }
  }
  const tolT = (r: TypedArray, sums: Float64Array, per: number) => (i: number): number =>
    tolOrInf(2 * U32 * Math.abs(r[i] as number) + 4 * U32 * (sums[Math.floor(i / per)] as number));
  const [rA, rL] = [ref.grads[1] as TypedArray, ref.grads[2] as TypedArray];
  expect(firstFarDifference(got.grads[1] as TypedArray, rA, tolT(rA, sA, 1)), `${label}: dθα`).toBeNull();
  expect(firstFarDifference(got.grads[2] as TypedArray, rL, tolT(rL, sL, 1)), `${label}: dθλ`).toBeNull();
  if (c.filt !== null) {
    const rF = ref.grads[3] as TypedArray;
    expect(firstFarDifference(got.grads[3] as TypedArray, rF, tolT(rF, sF, 9)), `${label}: dfilter`).toBeNull();
  }
  expect(got.grads.length).toBe(ref.grads.length);
}

/** A NaN bound (non-finite pixels in the block) allows anything finite: the exact match of non-finite values is checked regardless. */
const tolOrInf = (t: number): number => (Number.isNaN(t) ? Infinity : t);

function check(label: string, c: Case, backends = WASM): void {
  const ref = runOn("js", "js", call(c), inputs(c), dyOf);
  for (const b of backends) {
    for (const on of [b, "js"] as const) expectDppClose(`${label} on ${b} (inputs on ${on})`, c, runOn(b, on, call(c), inputs(c), dyOf), ref);
  }
}

function randomCase(g: Generator, opts: { special?: boolean; thL?: number; thA?: number; full?: boolean; asym?: boolean } = {}): Case {
  const N = int(g, 1, 2);
  const C = int(g, 1, 4);
  const H = 2 * int(g, 1, g.uniform() < 0.3 ? 1 : 9);
  const W = 2 * int(g, 1, g.uniform() < 0.3 ? 3 : 21);
  const shape: [number, number, number, number] = [N, C, H, W];
  const x = values(g, N * C * H * W, opts.special ?? false, [0.01, 1, 3, 50][int(g, 0, 3)]);
  const thA = Float32Array.from({ length: C }, () => opts.thA ?? g.normal() * 2);
  const thL = Float32Array.from({ length: C }, () => (opts.thL ?? 0) + g.normal());
  const full = opts.full ?? g.uniform() < 0.5;
  const filt = full ? Float32Array.from({ length: 9 * C }, () => g.normal() * 0.47) : null;
  return { shape, x, thA, thL, filt, asym: opts.asym ?? g.uniform() < 0.5 };
}

describe("the wasm backends register DPP's kernels for float32 only", () => {
  it.each(WASM)("%s", (b) => {
    setBackend(b);
    expect(kernel("detailPreservingPool.forward", "float32", dppForward)).not.toBe(dppForward);
    expect(kernel("detailPreservingPool.backward", "float32", dppBackward)).not.toBe(dppBackward);
    expect(kernel("detailPreservingPool.forward", "float64", dppForward)).toBe(dppForward);
    expect(kernel("detailPreservingPool.backward", "float64", dppBackward)).toBe(dppBackward);
    setBackend("js");
    expect(kernel("detailPreservingPool.forward", "float32", dppForward)).toBe(dppForward);
  });
});

describe("DPP wasm vs the TypeScript reference within the stated bounds", () => {
  it("random shapes, lite and full, both rewards (θλ around 0)", () => {
    const g = new Generator(71);
    for (let i = 0; i < 24; i++) {
      const c = randomCase(g, { full: i % 2 === 1, asym: (i >> 1) % 2 === 1 });
      check(`case ${i} ${JSON.stringify(c.shape)} ${c.filt ? "full" : "lite"} ${c.asym ? "asym" : "sym"}`, c);
    }
  });

  it("one block; one plane row of blocks; many planes of one block", () => {
    const g = new Generator(5);
    for (const shape of [[1, 1, 2, 2], [1, 2, 2, 30], [3, 37, 2, 2], [2, 3, 18, 2]] as [number, number, number, number][]) {
      for (const full of [false, true]) {
        for (const asym of [false, true]) {
          const c = randomCase(g, { full, asym });
          const C = shape[1];
          const n = shape.reduce((a, b) => a * b, 1);
          check(`${JSON.stringify(shape)} ${full ? "full" : "lite"} ${asym ? "asym" : "sym"}`, {
            ...c, shape, x: values(g, n, false), thA: c.thA.length === C ? c.thA : Float32Array.from({ length: C }, () => g.normal()),
            thL: Float32Array.from({ length: C }, () => g.normal()), filt: full ? Float32Array.from({ length: 9 * C }, () => g.normal() * 0.47) : null,
          });
        }
      }
    }
  });

  it("extreme parameters: θλ large (λ/2 up to 1.3e8 — past 2^24 the float64 path), θλ very negative, θα above 10 (zero gradient) and at 10", () => {
    const g = new Generator(9);
    let passing = 0;
    for (const thL of [-30, 4, 8, 12, 20]) {
      for (const full of [false, true]) {
        const c = randomCase(g, { thL, full });
        const [N, , H, W] = c.shape;
        const C = Math.max(2, c.shape[1]);
        c.shape = [N, C, H, W];
        c.x = values(g, N * C * H * W, false);
        c.thA = Float32Array.from({ length: C }, (_, q) => (q === 0 ? 12 : q === 1 ? 10 : g.normal() * 2));
        c.thL = Float32Array.from({ length: C }, () => thL + g.normal());
        c.filt = full ? Float32Array.from({ length: 9 * C }, () => g.normal() * 0.47) : null;
        check(`θλ ≈ ${thL} ${full ? "full" : "lite"} ${c.asym ? "asym" : "sym"}`, c);
        const ref = runOn("js", "js", call(c), inputs(c), dyOf).grads[1] as TypedArray;
        for (const b of WASM) {
          const dA = runOn(b, b, call(c), inputs(c), dyOf).grads[1] as TypedArray;
          expect(dA[0], `${b}: θα = 12, the clamp's gradient`).toBe(0);
          // θα = 10 is inside the clamp: its gradient passes (within the bound, checked above; the
          // reference's may underflow to 0 at θλ ≈ 20: α·e^{−λ/2·ln(q_max/q̄)})
          if (ref[1] !== 0) {
            expect(dA[1], `${b}: θα = 10`).not.toBe(0);
            passing++;
          }
        }
      }
    }
    expect(passing).toBeGreaterThanOrEqual(8);
  });

  it("constant blocks (y = the value, dx = dy/4 each), large nearly equal pixels (errors scale with the spread, not |x|)", () => {
    const g = new Generator(13);
    for (const full of [false, true]) {
      const c = randomCase(g, { full, asym: false });
      const [N, C, H, W] = c.shape;
      const x = new Float32Array(N * C * H * W);
      for (let i = 0; i < x.length; i++) {
        const r = Math.floor(i / W);
        const col = i % W;
        x[i] = 1e4 + ((Math.floor(r / 2) * 7 + Math.floor(col / 2) * 3) % 5) + ((r + col) % 3 === 0 && col > W / 2 ? 2 ** -10 * (col % 4) : 0);
      }
      const cc = { ...c, x };
      check(`constant and nearly constant blocks at 1e4 ${full ? "full" : "lite"}`, cc);
      if (!full) {
        // blocks whose 4 pixels are equal: y is the value exactly, dx = dy/4 within the bound
        setBackend("wasm-simd");
        const run = runOn("wasm-simd", "wasm-simd", call(cc), inputs(cc), dyOf);
        const y = run.outputs[0] as TypedArray;
        let n = 0;
        for (let p = 0; p < N * C; p++) {
          for (let bi = 0; bi < H / 2; bi++) {
            for (let bj = 0; bj < W / 2; bj++) {
              const j0 = p * H * W + 2 * bi * W + 2 * bj;
              const v = x[j0] as number;
              if (x[j0 + 1] === v && x[j0 + W] === v && x[j0 + W + 1] === v) {
                expect(y[p * (H / 2) * (W / 2) + bi * (W / 2) + bj]).toBe(v);
                n++;
              }
            }
          }
        }
        expect(n).toBeGreaterThan(0);
      }
    }
  });

  it("NaN, ±∞ and −0 in x (blocks through the float64 path: non-finite results exactly as the reference's)", () => {
    const g = new Generator(17);
    let special = 0;
    for (let i = 0; i < 16; i++) {
      const c = randomCase(g, { special: true, full: i % 2 === 1, asym: (i >> 1) % 2 === 1 });
      if (c.x.some((v) => !Number.isFinite(v))) special++;
      check(`special values case ${i} ${c.filt ? "full" : "lite"} ${c.asym ? "asym" : "sym"}`, c);
    }
    expect(special).toBeGreaterThan(3);
  });

  it("huge deviations (|x| ~ 1e20: d² leaves float32, the float64 path) next to ordinary blocks", () => {
    const g = new Generator(19);
    for (const full of [false, true]) {
      const c = randomCase(g, { full });
      for (let i = 0; i < c.x.length; i += 9) c.x[i] = (c.x[i] as number) * 1e20;
      check(`huge deviations ${full ? "full" : "lite"}`, c);
    }
  });
});

describe("DPP on 2 and 3 threads: bit-identical to 1 thread (every split forced; plane counts 1, 3, 5, 7)", () => {
  for (const b of WASM) {
    it(b, async () => {
      setBackend(b);
      await setThreads(1);
      setMinPartBytes(0);
      try {
        const g = new Generator(29);
        const all: Case[] = [];
        for (const [N, C] of [[1, 1], [1, 3], [5, 1], [1, 7], [2, 3]] as [number, number][]) {
          for (const full of [false, true]) {
            const c = randomCase(g, { full, special: N === 5 });
            c.shape = [N, C, c.shape[2], c.shape[3]];
            c.x = values(g, N * C * c.shape[2] * c.shape[3], N === 5);
            c.thA = Float32Array.from({ length: C }, () => g.normal() * 2);
            c.thL = Float32Array.from({ length: C }, () => g.normal());
            c.filt = full ? Float32Array.from({ length: 9 * C }, () => g.normal() * 0.47) : null;
            all.push(c);
          }
        }
        const refs = all.map((c) => runOn(b, b, call(c), inputs(c), dyOf));
        for (const n of [2, 3]) {
          setBackend(b);
          await setThreads(n);
          expect(getThreads()).toBe(n);
          all.forEach((c, i) => {
            const calls = activeWasm()!.pool!.stats.splitCalls;
            expectBits(`${JSON.stringify(c.shape)} ${c.filt ? "full" : "lite"} on ${n} threads`, runOn(b, b, call(c), inputs(c), dyOf), refs[i] as Run);
            if (c.shape[0] * c.shape[1] > 1) expect(activeWasm()!.pool!.stats.splitCalls, "split").toBeGreaterThan(calls);
          });
        }
      } finally {
        setMinPartBytes(undefined);
        await setThreads(1);
      }
    });
  }
});

describe("the float32 logarithm (assembly/dpp.ts log32/log4, hook logArray)", () => {
  const run = (b64: string, xs: Float32Array): Float32Array => runArrayHook(b64, "logArray", xs);
  it("within 2 ulp of ln x (float64 Math.log), for every 1009th float32 in [1e−33, 4.5]; SIMD = scalar bit for bit", async () => {
    const { SIMD_WASM, SCALAR_WASM } = await import("../../src/backends/wasm/module.generated.js");
    const lo = new Float32Array([1e-33]);
    const hi = new Float32Array([4.5]);
    const b0 = new Uint32Array(lo.buffer)[0] as number;
    const b1 = new Uint32Array(hi.buffer)[0] as number;
    const bits = new Uint32Array(Math.ceil((b1 - b0) / 1009) + 1);
    let k = 0;
    for (let u = b0; u <= b1; u += 1009) bits[k++] = u;
    const xs = new Float32Array(bits.buffer, 0, k);
    const a = run(SIMD_WASM, xs);
    const s = run(SCALAR_WASM, xs);
    let worst = 0;
    let differ = -1;
    for (let i = 0; i < k; i++) {
      if (!Object.is(a[i], s[i]) && differ < 0) differ = i;
      const ref = Math.log(xs[i] as number);
      const ulp = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(ref), 2 ** -126))) - 23);
      const err = Math.abs((a[i] as number) - ref) / ulp;
      worst = Math.max(worst, err);
    }
    expect(differ, `SIMD vs scalar differ at x = ${xs[differ]}`).toBe(-1);
    expect(worst).toBeLessThanOrEqual(2);
    expect(worst).toBeGreaterThan(0.3); // not the float64 logarithm by accident
  });
});
