/**
 * The weighted-window WebAssembly kernels (SIMD and scalar builds) against the TypeScript reference
 * kernels: SoftPool and LIP (`softmaxWindows.forward/backward`) and LP pooling (`lpPool.forward`, the
 * fused pass), on the fixture cases and on random shapes with sizes 1–113 (odd sizes and 1×1
 * included), inputs in WebAssembly memory (pointer path) and in the JS heap (copy path).
 *
 * Bounds (u = 2^−24):
 * - softmax forward, |Δy| ≤ (8n + 64)·u·max|x| (n = taps per window). The wasm kernel exponentiates
 *   t = L − M in float32 with M the plane's largest logit (the reference: float64, the window's
 *   maximum); a weight's relative error is ≤ (2 + |t|)·u (2u for the exponential, u·|t| from rounding t).
 *   Windows are computed this way only when Σ e^t ≥ e^−8, so their largest weight has |t_max| ≤ 8 + ln n,
 *   and a smaller weight's extra error (t_max − t)·u is damped by its size e^{t − t_max} (≤ u/e overall):
 *   the weights' average relative error is ≤ (11 + ln n)·u and moves y by at most twice that times
 *   max|x − y| ≤ 2·max|x|. The float32 sums of n terms (Σe and Σe·x) add ≤ 2n·u·max|x|, the product
 *   e·x and the division 2u·max|x|: in all ≤ (47 + 4 ln n + 2n)·u·max|x| < (8n + 64)·u·max|x|.
 * - softmax backward, |Δ| ≤ 16·n²·u·max|dy|·(1 + 2·spread) with spread = max x − min x: each of the
 *   ≤ n windows covering a tap adds dy·w (weights off by the forward's relative error: the kernel too
 *   takes each plane's exponentials once, relative to the plane's maximum, with the same e^−8 fallback
 *   to the window's own maximum, so w's relative error is ≤ (13 + ln n)·u ≤ 16n·u) and dy·w·(x − y).
 *   The kernel gathers in float32: dx_i = E_i·Σ_o G_o, dL_i = E_i·((x_i − c)·Σ_o G_o − Σ_o G_o·(y_o − c))
 *   with G_o = dy_o/S_o and c the plane's first input, so x_i − c, y_o − c and the cancellation between
 *   the two sums carry errors of u·(the plane's spread)·n·|dy| at most, never u·|x| (large, nearly equal
 *   x keep x − y's precision: a case below). The accumulation bounds hold for any order of the n terms:
 *   the 2-d 3×3 stride-2 padding-1 paths (k3Forward, k3Plane) sum each window's taps column by column
 *   (the three rows, then the three columns), and k3Plane the windows covering an input vertically, then
 *   horizontally (the forward's bound above is order-free too).
 * - LP forward: bit-identical for p = 1 and p = 2 (the same float32 powers summed in float64 in scan
 *   order, a correctly rounded root); other p within 4u·|y| (AssemblyScript's and the engine's pow may
 *   differ in the last float64 bit before the rounding to float32).
 * - LP backward (wasm lpBackward, one pass: lpFinishBackward's gs, its window-average transpose
 *   gathered in float32 (gs/div rounded once to float32, the covering windows added in another order
 *   than the reference's scatter), times lpPowBackward's factor): every gradient within the average
 *   backward's bound γ(3n + 5)·b (b: the reference on |x|, |dy|; expectLpClose), p = 1 and p = 2
 *   compared that way too. p = 1 and p = 2's last step use no pow (x^0 = 1; 2x exact, and a float32 product of
 *   float32 values is the same rounded once or via float64). p = 2's u^(−½) is 1/√u in float64 (two
 *   correctly rounded steps) where the reference has the engine's pow: the float64 values may differ
 *   by an ulp, and the float32 results then differ only when u^(−½) lies within ~2 float64 ulps of a
 *   float32 rounding boundary (chance ~2^−28 per output; none of 2·10^7 random float32 u differed in
 *   V8), well inside that bound. The SIMD build's p = 2 with float32-exact divisors (every LP plan:
 *   window counts) computes each q_o = ((dy·½u^(−½))·area)/div in float32 with u^(−½) = fl(1/fl(√u))
 *   (relative error ≤ 2u + u², u = 2⁻²⁴, against the reference's ≤ u): a term may then differ by
 *   ≤ (3 + 2·3)u relative after the three products and the quotient each side rounds, so p = 2's
 *   gradients get 10u·b on top of γ(3n + 5)·b. That build's p = 2 row path (each output row's q
 *   summed along the row, then the output rows covering an input added in output order; no q is −0,
 *   so a zero sum is +0 as the reference's) adds the same terms in yet another order: the same bound,
 *   which holds for any order; the row-path tests at the end also check zero signs and 2 threads. Other p: gradients within 32·n·u·max|dx| more (s, u
 *   and each pow may differ by an ulp before the float32 roundings, and ≤ n windows add into a tap).
 * Non-finite values must match exactly everywhere (NaN where the reference has NaN, the same infinity).
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, setThreads, type BackendName } from "../../src/backends/index.js";
import { setClaimMode, setMinPartBytes } from "../../src/backends/wasm/threads.js";
import { kernel } from "../../src/kernels/registry.js";
import * as pk from "../../src/index.js";
import { lpBackward, lpForward } from "../../src/kernels/weighted.js";
import { softmaxWindowsBackward, softmaxWindowsForward } from "../../src/kernels/weighted.js";
import { Generator } from "../../src/tensor/random.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import type { TypedArray } from "../../src/tensor/dtype.js";
import { decodeNumbers, loadFixture, type TensorJSON } from "../helpers/fixtures.js";
import { expectAvgGradsWithin, expectBits, firstBitDifference, firstFarDifference, int, maxAbs, runArrayHook, runOn, U32, values, WASM, type Input, type Run } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Vjp = (...a: any[]) => { output: unknown; backward: (dy: Tensor) => (Tensor | null)[] };
const vjp = (name: string): Vjp => (pk as unknown as Record<string, { vjp: Vjp }>)[name]!.vjp;

const f32 = (t: TensorJSON): Float32Array => Float32Array.from(decodeNumbers(t.data));
const dyOf = (m: number): Float32Array => Float32Array.from({ length: m }, (_, i) => (((i * 7919) % 13) - 6.5) / 4);

/** Compare a softmax-window run with the reference within the bounds stated at the top. */
function expectSoftmaxClose(label: string, got: Run, ref: Run, taps: number, x: Float32Array, dy: (n: number) => Float32Array): void {
  const mx = maxAbs(x);
  const tolY = (8 * taps + 64) * U32 * mx;
  ref.outputs.forEach((o, i) => expect(firstFarDifference(got.outputs[i] as TypedArray, o, () => tolY), `${label}: output ${i}`).toBeNull());
  const mdy = maxAbs(dy((ref.outputs[0] as TypedArray).length));
  const tolG = 16 * taps * taps * U32 * mdy * (1 + 2 * spread(x));
  expect(got.grads.length).toBe(ref.grads.length);
  ref.grads.forEach((g, i) => expect(firstFarDifference(got.grads[i] as TypedArray, g, () => tolG), `${label}: grad ${i}`).toBeNull());
}

/** max − min of the finite values: a bound on |x_i − y| within any window (y is a convex combination). */
function spread(x: Float32Array): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return hi >= lo ? hi - lo : 0;
}

const taps = (k: number | number[], rank: number): number => (Array.isArray(k) ? k.reduce((a, b) => a * b, 1) : k ** rank);

describe("the wasm backends register the weighted-window kernels for float32 only", () => {
  it.each(WASM)("%s", (b) => {
    setBackend(b);
    const refs = [
      ["softmaxWindows.forward", softmaxWindowsForward], ["softmaxWindows.backward", softmaxWindowsBackward], ["lpPool.forward", lpForward],
      ["lpPool.backward", lpBackward],
    ] as const;
    for (const [name, ref] of refs) {
      expect(kernel(name, "float32", ref), name).not.toBe(ref);
      expect(kernel(name, "float64", ref), name).toBe(ref);
    }
    setBackend("js");
    expect(kernel("softmaxWindows.forward", "float32", softmaxWindowsForward)).toBe(softmaxWindowsForward);
  });
});

describe("fixture cases (PyTorch): wasm within float32 accumulation error of the TypeScript kernels (LP p = 1, 2: bit for bit)", () => {
  for (const b of WASM) {
    it(`weighted_softpool.json (exact and official gradients) on ${b}`, () => {
      const { cases } = loadFixture<{ rank: 1 | 2 | 3; options: { kernelSize: number | number[] }; x: TensorJSON }>("weighted_softpool.json");
      for (const c of cases) {
        const xs = f32(c.x);
        for (const gradMode of ["exact", "official"]) {
          const opts = { ...c.options, gradMode };
          const call = (t: Tensor[]) => vjp(`softPool${c.rank}d`)(t[0], opts);
          const inputs: Input[] = [{ data: xs, shape: c.x.shape }];
          const ref = runOn("js", "js", call, inputs, dyOf);
          expectSoftmaxClose(`softPool${c.rank}d ${JSON.stringify(opts)} ${b}`, runOn(b, b, call, inputs, dyOf), ref, taps(c.options.kernelSize, c.rank), xs, dyOf);
        }
      }
      expect(cases.length).toBeGreaterThan(3);
    });
    it(`weighted_lip.json on ${b}`, () => {
      const { cases } = loadFixture<{ options: { kernelSize?: number }; x: TensorJSON; logits: TensorJSON }>("weighted_lip.json");
      for (const c of cases) {
        const xs = f32(c.x);
        const call = (t: Tensor[]) => vjp("localImportancePool2d")(t[0], t[1], c.options);
        const inputs: Input[] = [{ data: xs, shape: c.x.shape }, { data: f32(c.logits), shape: c.logits.shape }];
        const ref = runOn("js", "js", call, inputs, dyOf);
        expectSoftmaxClose(`LIP ${JSON.stringify(c.options)} ${b}`, runOn(b, b, call, inputs, dyOf), ref, taps(c.options.kernelSize ?? 3, 2), xs, dyOf);
      }
      expect(cases.length).toBeGreaterThan(2);
    });
    it(`pytorch_sliding_lp.json on ${b}`, () => {
      const { cases } = loadFixture<{ op: string; opts: { normType: number; kernelSize: number | number[] }; x: TensorJSON }>("pytorch_sliding_lp.json");
      let exact = 0;
      for (const c of cases) {
        const xs = f32(c.x);
        const opts = { ...c.opts, normType: decodeNumbers([c.opts.normType])[0] as number }; // "Infinity" is stored as a string
        const call = (t: Tensor[]) => vjp(c.op)(t[0], opts);
        const inputs: Input[] = [{ data: xs, shape: c.x.shape }];
        const ref = runOn("js", "js", call, inputs, dyOf);
        const got = runOn(b, b, call, inputs, dyOf);
        expectLpClose(`${c.op} ${JSON.stringify(c.opts)} ${b}`, got, ref, absRun(call, inputs, dyOf), opts.normType, taps(c.opts.kernelSize, Number(c.op.slice(6, 7))));
        if (c.opts.normType === 1 || c.opts.normType === 2) exact++;
      }
      expect(exact).toBeGreaterThan(3);
    });
  }
});

/** The reference run on |x| and |dy| (the bound's b for gradients through avgWindows.backward). */
function absRun(call: (t: Tensor[]) => ReturnType<Vjp>, inputs: Input[], dy: (m: number) => Float32Array): Run {
  const abs = inputs.map((i) => ({ data: Float32Array.from(i.data, (v) => Math.abs(v)), shape: i.shape }));
  return runOn("js", "js", call, abs, (m) => dy(m).map((v) => Math.abs(v)));
}

function expectLpClose(label: string, got: Run, ref: Run, abs: Run, p: number, n: number): void {
  // the backward's middle step is avgWindows.backward, summed in the wasm kernel's own order: every
  // gradient is allowed that kernel's bound on top of the ones stated at the top (abs: the reference
  // on |x| and |dy|, whose gradient is Σ of the terms' magnitudes, p·|x|^(p−1) included)
  if (p === 1 || p === 2) {
    ref.outputs.forEach((o, i) => expect(firstBitDifference(got.outputs[i] as TypedArray, o), `${label}: output ${i}`).toBeNull());
    // p = 2 (SIMD build): each term's u^(−½) is 1/√u in float32, 10u·b more (see the header)
    const absG = abs.grads;
    expectAvgGradsWithin(label, got, ref, abs, n, p === 2 ? (i, j) => 10 * U32 * Math.abs((absG[i] as TypedArray)[j] as number) : () => 0);
    return;
  }
  ref.outputs.forEach((o, i) => expect(firstFarDifference(got.outputs[i] as TypedArray, o, (j) => 4 * U32 * Math.abs(o[j] as number)), `${label}: output ${i}`).toBeNull());
  ref.grads.forEach((g, i) => {
    const tol = 32 * n * U32 * maxAbs(g);
    expectAvgGradsWithin(label, { outputs: [], grads: [got.grads[i] as TypedArray] }, { outputs: [], grads: [g] }, { outputs: [], grads: [abs.grads[i] as TypedArray] }, n, () => tol);
  });
}

interface Case {
  op: string;
  rank: number;
  shape: number[];
  opts: Record<string, unknown>;
  n: number;
}

/** A random sliding case: rank 1–3, one or two large dims (up to 113), kernel ≤ 5, stride ≤ k + 1. */
function slidingCase(g: Generator, maxRank: number): Omit<Case, "op" | "opts"> & { kernelSize: number[]; stride: number[] } {
  const rank = int(g, 1, maxRank);
  const spatial = Array.from({ length: rank }, (_, i) => (i === rank - 1 || g.uniform() < 0.3 ? int(g, 1, 113) : int(g, 1, rank === 3 ? 9 : 40)));
  const shape = [int(g, 1, 2), int(g, 1, 3), ...spatial];
  const kernelSize = spatial.map((s) => int(g, 1, Math.min(s, 5)));
  const stride = kernelSize.map((k) => int(g, 1, k + 1));
  return { rank, shape, kernelSize, stride, n: kernelSize.reduce((a, b) => a * b, 1) };
}

describe("random shapes 1–113 (NaN, ±∞, −0, ties): wasm within the stated bounds of the TypeScript kernels", () => {
  for (const b of WASM) {
    for (const inputsOn of [b, "js"] as const) {
      const where = inputsOn === "js" ? "inputs in the JS heap (copied in)" : "inputs in WebAssembly memory";
      it(`SoftPool 1-d/2-d/3-d and LIP on ${b}, ${where}`, () => {
        const g = new Generator(inputsOn === "js" ? 21 : 23);
        for (let i = 0; i < 40; i++) {
          const lip = i % 3 === 2;
          const c = slidingCase(g, lip ? 2 : 3);
          const rank = lip ? 2 : c.rank;
          const shape = lip && c.rank === 1 ? [c.shape[0] as number, c.shape[1] as number, int(g, 1, 20), c.shape[2] as number] : c.shape;
          const spatial = shape.slice(2);
          const kernelSize = lip && c.rank === 1 ? [Math.min(int(g, 1, 3), spatial[0] as number), ...c.kernelSize] : c.kernelSize;
          const stride = lip && c.rank === 1 ? [int(g, 1, 3), ...c.stride] : c.stride;
          const padding = kernelSize.map((k) => int(g, 0, Math.floor(k / 2)));
          const size = shape.reduce((a, s) => a * s, 1);
          const xs = values(g, size, i % 2 === 0);
          const dyv = (m: number) => values(new Generator(m), m, false);
          const n = kernelSize.reduce((a, k) => a * k, 1);
          if (lip) {
            const opts = { kernelSize: kernelSize as [number, number], stride: stride as [number, number], padding: padding as [number, number] };
            const logits = values(g, size, i % 4 === 0);
            const call = (t: Tensor[]) => vjp("localImportancePool2d")(t[0], t[1], opts);
            const inputs: Input[] = [{ data: xs, shape }, { data: logits, shape }];
            const ref = runOn("js", "js", call, inputs, dyv);
            expectSoftmaxClose(`LIP [${shape}] ${JSON.stringify(opts)} ${b}`, runOn(b, inputsOn, call, inputs, dyv), ref, n, xs, dyv);
          } else {
            const opts = { kernelSize, stride, padding, gradMode: g.uniform() < 0.3 ? "official" : "exact" };
            const call = (t: Tensor[]) => vjp(`softPool${rank}d`)(t[0], opts);
            const inputs: Input[] = [{ data: xs, shape }];
            const ref = runOn("js", "js", call, inputs, dyv);
            expectSoftmaxClose(`softPool${rank}d [${shape}] ${JSON.stringify(opts)} ${b}`, runOn(b, inputsOn, call, inputs, dyv), ref, n, xs, dyv);
          }
        }
      });

      it(`LP 1-d/2-d/3-d, p ∈ {1, 2, 3, 1.5}, on ${b}, ${where}`, () => {
        const g = new Generator(inputsOn === "js" ? 31 : 33);
        let valid = 0;
        for (let i = 0; i < 80 && valid < 40; i++) {
          const c = slidingCase(g, 3);
          const normType = [1, 2, 3, 1.5][i % 4] as number;
          const opts = { normType, kernelSize: c.kernelSize, stride: c.stride, ceilMode: g.uniform() < 0.4 };
          const xs = values(g, c.shape.reduce((a, s) => a * s, 1), i % 2 === 0, 1);
          const dyv = (m: number) => values(new Generator(m), m, false);
          const call = (t: Tensor[]) => vjp(`lpPool${c.rank}d`)(t[0], opts);
          const inputs: Input[] = [{ data: xs, shape: c.shape }];
          let ref: Run;
          try {
            ref = runOn("js", "js", call, inputs, dyv);
          } catch {
            continue; // an invalid option combination (the reference rejects it)
          }
          valid++;
          expectLpClose(`lpPool${c.rank}d [${c.shape}] ${JSON.stringify(opts)} ${b}`, runOn(b, inputsOn, call, inputs, dyv), ref, absRun(call, inputs, dyv), normType, c.n);
        }
        expect(valid).toBe(40);
      });
    }

    it(`${b}: 1×1 planes, one-column and 4-wide rows (the SIMD path's edges), strides 1, 2, 3, large and flat windows`, () => {
      const g = new Generator(5);
      for (const [h, w] of [[1, 1], [1, 4], [4, 1], [2, 5], [3, 8], [5, 9], [7, 113]] as [number, number][]) {
        for (const s of [1, 2, 3]) {
          for (const k of [1, 2, 3]) {
            if (k > h || k > w) continue;
            const opts = { kernelSize: k, stride: s, padding: Math.floor(k / 2) };
            // large, nearly equal values: x − y must keep its precision in the backward pass
            const xs = Float32Array.from(values(g, 2 * h * w, false), (v) => 1e4 + v);
            const call = (t: Tensor[]) => vjp("softPool2d")(t[0], opts);
            const inputs: Input[] = [{ data: xs, shape: [2, h, w] }];
            const dyv = (m: number) => Float32Array.from({ length: m }, (_, i) => i % 5);
            const ref = runOn("js", "js", call, inputs, dyv);
            expectSoftmaxClose(`softPool2d [2,${h},${w}] ${JSON.stringify(opts)} ${b}`, runOn(b, b, call, inputs, dyv), ref, k * k, xs, dyv);
            const lp = { normType: 2, kernelSize: k, stride: s };
            const lcall = (t: Tensor[]) => vjp("lpPool2d")(t[0], lp);
            expectLpClose(`lpPool2d [2,${h},${w}] ${JSON.stringify(lp)} ${b}`, runOn(b, b, lcall, inputs, dyv), runOn("js", "js", lcall, inputs, dyv), absRun(lcall, inputs, dyv), 2, k * k);
          }
        }
      }
    });

    it(`${b}: logits of ±1000 neither overflow nor give 0/0 (the window maximum is subtracted)`, () => {
      const x = Float32Array.from({ length: 32 }, (_, i) => i - 10);
      const logits = Float32Array.from({ length: 32 }, (_, i) => (i % 2 === 0 ? 1000 : -1000) + i);
      const call = (t: Tensor[]) => vjp("localImportancePool2d")(t[0], t[1], { kernelSize: 2, stride: 2, padding: 0 });
      const inputs: Input[] = [{ data: x, shape: [1, 4, 8] }, { data: logits, shape: [1, 4, 8] }];
      const got = runOn(b, b, call, inputs, dyOf);
      const ref = runOn("js", "js", call, inputs, dyOf);
      for (const v of got.outputs[0] as Float32Array) expect(Number.isFinite(v)).toBe(true);
      expectSoftmaxClose(`LIP ±1000 ${b}`, got, ref, 4, x, dyOf);
    });

    it(`${b}: logits ramping over 0–300 across a plane: windows far below the plane's maximum take their own maximum`, () => {
      const g = new Generator(8);
      const shape = [2, 3, 17, 41];
      const n = 2 * 3 * 17 * 41;
      const x = values(g, n, false);
      const logits = Float32Array.from({ length: n }, (_, i) => ((i % (17 * 41)) / (17 * 41)) * 300 + (g.uniform() - 0.5));
      for (const opts of [{ kernelSize: 3, stride: 2, padding: 1 }, { kernelSize: 2, stride: 1, padding: 0 }]) {
        const call = (t: Tensor[]) => vjp("localImportancePool2d")(t[0], t[1], opts);
        const inputs: Input[] = [{ data: x, shape }, { data: logits, shape }];
        expectSoftmaxClose(`LIP ramp ${JSON.stringify(opts)} ${b}`, runOn(b, b, call, inputs, dyOf), runOn("js", "js", call, inputs, dyOf), opts.kernelSize ** 2, x, dyOf);
      }
    });
  }
});

describe("the SIMD and scalar builds give the same softmax-window outputs bit for bit (one order of float32 operations)", () => {
  it("and the same gradients (SoftPool exact/official, LIP; the plane's exponentials exp4/expf32 agree per lane), NaN/±∞ included", () => {
    const g = new Generator(78);
    for (let i = 0; i < 30; i++) {
      const lip = i % 3 === 2;
      const c = slidingCase(g, lip ? 2 : 3);
      const rank = lip ? 2 : c.rank;
      const shape = lip && c.rank === 1 ? [c.shape[0] as number, c.shape[1] as number, int(g, 1, 20), c.shape[2] as number] : c.shape;
      const kernelSize = lip && c.rank === 1 ? [Math.min(int(g, 1, 3), shape[2] as number), ...c.kernelSize] : c.kernelSize;
      const stride = lip && c.rank === 1 ? [int(g, 1, 3), ...c.stride] : c.stride;
      const padding = kernelSize.map((k) => int(g, 0, Math.floor(k / 2)));
      const size = shape.reduce((a, v) => a * v, 1);
      const xs = values(g, size, i % 2 === 0);
      const dyv = (m: number) => values(new Generator(m), m, false);
      const label = `${lip ? "LIP" : `softPool${rank}d`} [${shape}] k${kernelSize} s${stride} p${padding}`;
      let call: (t: Tensor[]) => ReturnType<Vjp>;
      const inputs: Input[] = [{ data: xs, shape }];
      if (lip) {
        inputs.push({ data: values(g, size, i % 4 === 2), shape });
        call = (t) => vjp("localImportancePool2d")(t[0], t[1], { kernelSize, stride, padding });
      } else {
        const opts = { kernelSize, stride, padding, gradMode: i % 4 === 1 ? "official" : "exact" };
        call = (t) => vjp(`softPool${rank}d`)(t[0], opts);
      }
      const simd = runOn("wasm-simd", "wasm-simd", call, inputs, dyv);
      expect(simd.grads.length).toBe(lip ? 2 : 1);
      expectBits(label, simd, runOn("wasm", "wasm", call, inputs, dyv));
    }
  });
  it("SoftPool 1-d/2-d/3-d and LIP, random shapes, NaN/±∞ included", () => {
    const g = new Generator(77);
    for (let i = 0; i < 30; i++) {
      const c = slidingCase(g, 3);
      const padding = c.kernelSize.map((k) => int(g, 0, Math.floor(k / 2)));
      const size = c.shape.reduce((a, v) => a * v, 1);
      const xs = values(g, size, i % 2 === 0);
      const opts = { kernelSize: c.kernelSize, stride: c.stride, padding };
      const call = (t: Tensor[]) => vjp(`softPool${c.rank}d`)(t[0], opts);
      const inputs: Input[] = [{ data: xs, shape: c.shape }];
      const simd = runOn("wasm-simd", "wasm-simd", call, inputs, null);
      const scalar = runOn("wasm", "wasm", call, inputs, null);
      expectBits(`softPool${c.rank}d [${c.shape}] ${JSON.stringify(opts)}`, simd, scalar);
    }
  });
});

describe("the fused paths' geometries (k 2 s 2, k 3 s 2 p 1 in registers; stride-1/2 gathered backward) against the reference and across builds", () => {
  it("SoftPool and LIP on widths 1–113 (odd, 8-aligned and not), heights 1–9, NaN/±∞ included", () => {
    const g = new Generator(2026);
    const cases: [number, number, number][] = [[2, 2, 0], [3, 2, 1], [3, 1, 1], [2, 1, 0], [3, 2, 0], [5, 2, 2], [4, 2, 1]];
    for (let i = 0; i < 42; i++) {
      const [k, st, pd] = cases[i % cases.length] as [number, number, number];
      const W = i < 7 ? [1, 8, 9, 16, 17, 57, 113][i] as number : int(g, k, 113);
      const H = int(g, k, 9);
      const shape = [int(g, 1, 2), int(g, 1, 3), H, Math.max(W, k)];
      const size = shape.reduce((a, v) => a * v, 1);
      const xs = values(g, size, i % 3 === 0);
      const dyv = (m: number) => values(new Generator(m), m, false);
      const lip = i % 2 === 1;
      const opts = { kernelSize: k, stride: st, padding: pd };
      const inputs: Input[] = [{ data: xs, shape }];
      let call: (t: Tensor[]) => ReturnType<Vjp>;
      if (lip) {
        inputs.push({ data: values(g, size, i % 4 === 1), shape });
        call = (t) => vjp("localImportancePool2d")(t[0], t[1], opts);
      } else call = (t) => vjp("softPool2d")(t[0], { ...opts, gradMode: i % 4 === 0 ? "official" : "exact" });
      const label = `${lip ? "LIP" : "softPool2d"} [${shape}] k${k} s${st} p${pd}`;
      const ref = runOn("js", "js", call, inputs, dyv);
      const simd = runOn("wasm-simd", "wasm-simd", call, inputs, dyv);
      expectSoftmaxClose(label, simd, ref, k * k, xs, dyv);
      expectBits(label, simd, runOn("wasm", "wasm", call, inputs, dyv));
    }
  });
});

describe("exp accuracy: the kernels' float32 exponential (assembly/util.ts expFull/expFull4, hook expArray)", () => {
  /** The float32 ulp at |v| (v a float32 value; 2^−149 in the subnormal range). */
  const ulpOf = (v: number): number => {
    const a = Math.abs(v);
    if (a < 2 ** -126) return 2 ** -149;
    let e = Math.floor(Math.log2(a));
    if (2 ** e > a) e--;
    else if (2 ** (e + 1) <= a) e++;
    return 2 ** (e - 23);
  };
  const run = (b64: string, xs: Float32Array): Float32Array => runArrayHook(b64, "expArray", xs);
  // every 4099th float32 bit pattern of each sign (all exponents, NaN payloads, ±∞) and the edges
  const edges = [0, -0, Infinity, -Infinity, NaN, 1, -1, 88.72283172607422, 88.72283935546875, 88.7, 89, 1e30, -87.3, -87.33654, -87.34, -100,
    -103.27893, -103.972, -103.97208, -103.98, -104, -105, -1e30, 2 ** -149, -(2 ** -149), 1e-30, 0.34657359, -0.34657359, 0.3466, -16.9283447265625];
  const bits = new Uint32Array(2 * Math.ceil(2 ** 32 / 4099));
  let k = 0;
  for (let u = 0; u < 2 ** 32; u += 4099) bits[k++] = u;
  for (let u = 1; u < 2 ** 32; u += 4099) bits[k++] = u ^ 0x80000000;
  const xs = new Float32Array(k + edges.length);
  xs.set(new Float32Array(bits.buffer, 0, k));
  xs.set(edges, k);
  it("≤ 1 ulp of float64 Math.exp over the whole float32 range; +∞ exactly where e^x rounds to +∞, 0 below −103.97, NaN for NaN; SIMD = scalar bit for bit", async () => {
    const { SIMD_WASM, SCALAR_WASM } = await import("../../src/backends/wasm/module.generated.js");
    const ySimd = run(SIMD_WASM, xs);
    const yScalar = run(SCALAR_WASM, xs);
    expect(firstBitDifference(ySimd, yScalar)).toBeNull();
    let worst = 0;
    let where = 0;
    let wrong: string | null = null;
    for (let i = 0; i < xs.length && wrong === null; i++) {
      const x = xs[i] as number;
      const y = ySimd[i] as number;
      const exact = Math.exp(x);
      const r = Math.fround(exact);
      if (Number.isNaN(x)) {
        if (!Number.isNaN(y)) wrong = `e^NaN = ${y}`;
      } else if (r === Infinity || r === 0) {
        // e^x rounds to +∞ (x ≥ 88.7228394) or to 0 (e^x ≤ 2^−150): exactly that, or within an ulp of 0
        if (r === Infinity ? y !== Infinity : !(y === 0 || y === 2 ** -149)) wrong = `e^${x} = ${y}, float32(e^x) = ${r}`;
      } else if (!Number.isFinite(y)) wrong = `e^${x} = ${y}, float32(e^x) = ${r}`;
      else {
        const e = Math.abs(y - exact) / ulpOf(r);
        if (e > worst) {
          worst = e;
          where = x;
        }
      }
    }
    expect(wrong).toBeNull();
    expect(worst, `worst at x = ${where}`).toBeLessThanOrEqual(1);
    // the edges: overflow boundary, subnormal results, tiny arguments
    const at = (x: number): number => ySimd[k + edges.indexOf(x)] as number;
    expect(at(88.72283172607422)).toBeLessThan(Infinity);
    expect(at(88.72283935546875)).toBe(Infinity);
    expect(at(-Infinity)).toBe(0);
    expect(at(0)).toBe(1);
    expect(at(-0)).toBe(1);
    expect(at(-100)).toBeGreaterThan(0);
    expect(at(-100)).toBeLessThan(2 ** -126);
    expect(at(-105)).toBe(0);
  });
});

describe("the forward's saved exponentials: the backward without them, and the plain call, give the same values bit for bit", () => {
  /** The vjp's forward on `fwdOn` (inputs there), the backward on `b`: outputs and gradients copied out. */
  function runSplit(fwdOn: BackendName, b: BackendName, call: (t: Tensor[]) => ReturnType<Vjp>, inputs: Input[], dy: (m: number) => Float32Array): Run {
    setBackend(fwdOn);
    const xs = inputs.map((i) => pk.tensor(i.data, i.shape, "float32"));
    const r = call(xs);
    const out = r.output as Tensor;
    const outputs = [out.data.slice()];
    const d = pk.tensor(dy(out.size), out.shape, "float32");
    setBackend(b);
    const grads = r.backward(d).filter((g): g is Tensor => g !== null);
    return { outputs, grads: grads.map((t) => t.data.slice()) };
  }
  for (const b of WASM) {
    it(`${b}: forward on js (no cache) then backward on ${b} = forward and backward on ${b}; plain call = vjp output (SoftPool 1-d/2-d/3-d, LIP, NaN/±∞)`, () => {
      const g = new Generator(4242);
      for (let i = 0; i < 24; i++) {
        const lip = i % 3 === 2;
        const c = slidingCase(g, lip ? 2 : 3);
        const rank = lip ? 2 : c.rank;
        const shape = lip && c.rank === 1 ? [c.shape[0] as number, c.shape[1] as number, int(g, 1, 20), c.shape[2] as number] : c.shape;
        const kernelSize = lip && c.rank === 1 ? [Math.min(int(g, 1, 3), shape[2] as number), ...c.kernelSize] : c.kernelSize;
        const stride = lip && c.rank === 1 ? [int(g, 1, 3), ...c.stride] : c.stride;
        // every third case the two register geometries of the last axis (k2 s2, k3 s2 p1)
        if (i % 3 === 0) {
          const k = i % 2 === 0 ? 2 : 3;
          const last = shape.length - 1;
          shape[last] = Math.max(shape[last] as number, k);
          kernelSize[kernelSize.length - 1] = k;
          stride[stride.length - 1] = 2;
        }
        const padding = kernelSize.map((k, j) => (i % 3 === 0 && j === kernelSize.length - 1 ? Math.floor(k / 2) : int(g, 0, Math.floor(k / 2))));
        const size = shape.reduce((a, v) => a * v, 1);
        const inputs: Input[] = [{ data: values(g, size, i % 2 === 0), shape }];
        let call: (t: Tensor[]) => ReturnType<Vjp>;
        let plain: (t: Tensor[]) => Tensor;
        if (lip) {
          inputs.push({ data: values(g, size, i % 4 === 2), shape });
          const opts = { kernelSize, stride, padding };
          call = (t) => vjp("localImportancePool2d")(t[0], t[1], opts);
          plain = (t) => (pk.localImportancePool2d as unknown as (...a: unknown[]) => Tensor)(t[0], t[1], opts);
        } else {
          const opts = { kernelSize, stride, padding, gradMode: i % 4 === 1 ? "official" : "exact" };
          call = (t) => vjp(`softPool${rank}d`)(t[0], opts);
          plain = (t) => (pk as unknown as Record<string, (...a: unknown[]) => Tensor>)[`softPool${rank}d`]!(t[0], opts);
        }
        const label = `${lip ? "LIP" : `softPool${rank}d`} [${shape}] k${kernelSize} s${stride} p${padding}`;
        const dyv = (m: number) => values(new Generator(m), m, false);
        const cached = runOn(b, b, call, inputs, dyv);
        const fresh = runSplit("js", b, call, inputs, dyv);
        cached.grads.forEach((gr, j) => expect(firstBitDifference(fresh.grads[j] as TypedArray, gr), `${label}: grad ${j}`).toBeNull());
        expect(cached.grads.length).toBe(lip ? 2 : 1);
        setBackend(b);
        const y = plain(inputs.map((t) => pk.tensor(t.data, t.shape, "float32")));
        expect(firstBitDifference(y.data, cached.outputs[0] as TypedArray), `${label}: plain call`).toBeNull();
      }
    });

    it(`${b}: LP with all-zero windows (s = 0: the relu mask, gradient 0; p < 1: NaN as in PyTorch), p ∈ {1, 2, 3, 1.5, 0.5}`, () => {
      const g = new Generator(99);
      for (const normType of [1, 2, 3, 1.5, 0.5]) {
        for (const [k, s] of [[2, 2], [3, 2], [3, 1]] as [number, number][]) {
          const shape = [2, 9, 13];
          // rows 0–3 zero (whole windows of zeros), the rest positive (fractional p: no NaN from negative bases)
          const xs = Float32Array.from({ length: 2 * 9 * 13 }, (_, j) => (j % (9 * 13) < 4 * 13 ? 0 : Math.abs(g.normal()) + 0.1));
          const opts = { normType, kernelSize: k, stride: s };
          const call = (t: Tensor[]) => vjp("lpPool2d")(t[0], opts);
          const inputs: Input[] = [{ data: xs, shape }];
          const ref = runOn("js", "js", call, inputs, dyOf);
          const got = runOn(b, b, call, inputs, dyOf);
          expectLpClose(`lpPool2d zero windows ${JSON.stringify(opts)} ${b}`, got, ref, absRun(call, inputs, dyOf), normType, k * k);
          // the zero rows' gradient: 0 for p ≥ 1 (masked), NaN for p < 1 (0·0^(p−1) = 0·∞)
          const g0 = got.grads[0] as Float32Array;
          for (let j = 0; j < 2 * 13; j++) expect(normType < 1 ? Number.isNaN(g0[j]) : g0[j] === 0, `${JSON.stringify(opts)} element ${j}: ${g0[j]}`).toBe(true);
        }
      }
    });
  }
});

describe("the softmax backward's non-finite planes found from the window sums (no plane scan), uncovered inputs 0, 2×2 stride-2 windows in registers", () => {
  /** One plane at a time: clean, or one special value (NaN, ±∞) in x or the logits at a covered or an uncovered spot, or all −∞ logits. */
  function planted(g: Generator, shape: number[], lip: boolean, uncovered: (h: number, w: number) => boolean): [Float32Array, Float32Array] {
    const [n, c, H, W] = shape as [number, number, number, number];
    const xs = values(g, n * c * H * W, false);
    const ls = lip ? values(g, n * c * H * W, false) : xs;
    const kinds = ["none", "nan-in", "inf-in", "-inf-in", "nan-out", "inf-out", "all-inf-logits", "+inf-logit"];
    for (let p = 0; p < n * c; p++) {
      const kind = kinds[(p + int(g, 0, kinds.length - 1)) % kinds.length] as string;
      const base = p * H * W;
      if (kind === "none") continue;
      if (kind === "all-inf-logits") {
        ls.fill(-Infinity, base, base + H * W);
        continue;
      }
      // a spot under some window ("-in") or under none ("-out"; an inside spot when every input is covered)
      const want = kind.endsWith("-out");
      const spots: number[] = [];
      for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) if (uncovered(h, w) === want) spots.push(h * W + w);
      const at = base + (spots.length > 0 ? (spots[int(g, 0, spots.length - 1)] as number) : 0);
      const v = kind.startsWith("nan") ? NaN : kind.startsWith("-inf") ? -Infinity : Infinity;
      if (kind === "+inf-logit") ls[at] = Infinity;
      else if (lip && g.uniform() < 0.5) ls[at] = v;
      else xs[at] = v;
    }
    return [xs, ls];
  }
  for (const b of WASM) {
    it(`${b}: SoftPool k2 s2 (tiled; per-side padding: not tiled) and k3 s2 p1, LIP k3 s2 p1, p[[1,1],[1,0]] and p[[1,0],[1,2]], SoftPool p[[1,2],[1,0]] (rows or columns below the last window); against the reference, the other build and the uncached backward`, () => {
      const g = new Generator(b === "wasm" ? 6061 : 6067);
      const geoms: { lip: boolean; opts: Record<string, unknown>; covered: (H: number, W: number) => (h: number, w: number) => boolean }[] = [
        { lip: false, opts: { kernelSize: 2 }, covered: (H, W) => (h, w) => h >= 2 * (H >> 1) || w >= 2 * (W >> 1) },
        { lip: false, opts: { kernelSize: 2, padding: [[0, 1], [0, 1]] }, covered: () => () => false },
        { lip: false, opts: { kernelSize: 3, stride: 2, padding: 1 }, covered: () => () => false },
        { lip: true, opts: { kernelSize: 3, stride: 2, padding: 1 }, covered: () => () => false },
        { lip: true, opts: { kernelSize: 3, stride: 2, padding: [[1, 1], [1, 0]] }, covered: (_H, W) => (_h, w) => w >= 2 * Math.floor((W - 2) / 2) + 2 },
        // the 3×3 stride-2 register path's edges: rows below the last window (0), a last window holding only its top row
        { lip: true, opts: { kernelSize: 3, stride: 2, padding: [[1, 0], [1, 2]] }, covered: (H) => (h) => h >= 2 * Math.floor((H - 2) / 2) + 2 },
        { lip: false, opts: { kernelSize: 3, stride: 2, padding: [[1, 2], [1, 0]] }, covered: (_H, W) => (_h, w) => w >= 2 * Math.floor((W - 2) / 2) + 2 },
      ];
      for (let i = 0; i < 56; i++) {
        const geo = geoms[i % geoms.length]!;
        const H = [5, 6, 9, 3, 12][int(g, 0, 4)] as number;
        const W = [7, 8, 9, 17, 33, 40, 3][int(g, 0, 6)] as number;
        const shape = [2, 4, H, W];
        const [xs, ls] = planted(g, shape, geo.lip, geo.covered(H, W));
        const dyv = (m: number) => values(new Generator(m), m, false);
        const inputs: Input[] = [{ data: xs, shape }];
        let call: (t: Tensor[]) => ReturnType<Vjp>;
        if (geo.lip) {
          inputs.push({ data: ls, shape });
          call = (t) => vjp("localImportancePool2d")(t[0], t[1], geo.opts);
        } else call = (t) => vjp("softPool2d")(t[0], { ...geo.opts, gradMode: i % 4 === 0 ? "official" : "exact" });
        const label = `${geo.lip ? "LIP" : "softPool2d"} [${shape}] ${JSON.stringify(geo.opts)} ${b}`;
        const got = runOn(b, b, call, inputs, dyv);
        expectSoftmaxClose(label, got, runOn("js", "js", call, inputs, dyv), 9, xs, dyv);
        expectBits(`${label} vs the other build`, got, runOn(b === "wasm" ? "wasm-simd" : "wasm", b === "wasm" ? "wasm-simd" : "wasm", call, inputs, dyv));
        // the backward without the forward's saved exponentials (forward on js)
        setBackend("js");
        const r = call(inputs.map((t) => pk.tensor(t.data, t.shape, "float32")));
        const out = r.output as Tensor;
        const d = pk.tensor(dyv(out.size), out.shape, "float32");
        setBackend(b);
        const fresh = r.backward(d).filter((t): t is Tensor => t !== null);
        fresh.forEach((t, j) => expect(firstBitDifference(t.data, got.grads[j] as TypedArray), `${label}: uncached grad ${j}`).toBeNull());
      }
    });
  }
});

describe("LP backward's row path (SIMD build, p = 2: per output row its q and horizontal transpose; each input row from the one, two or more output rows covering it) and the paths beside it", () => {
  // every branch of the row path: one covering row (2×2 s2; the odd rows of 3×3 s2), two in a plane
  // (the even rows of 3×3 s2: (oa, ob), (oa, ob + 1)) or across depth (3-d k [2, 1, ·]: (oa, ob), (oa + 1, ob)),
  // none (stride 3 > k: rows below or between windows), more than two (stride 1, 3-d 2×2); regular last
  // axes with stride 1 or 2 (padding: negative offsets) and irregular ones (stride 3, ceil mode's clipped
  // last window); widths ≡ 0–3 mod 4 (the scalar tails), one-element planes and rows
  const geoms: { op: string; shape: number[]; opts: Record<string, unknown>; n: number }[] = [
    { op: "lpPool2d", shape: [2, 3, 13, 56], opts: { kernelSize: 3, stride: 2 }, n: 9 },
    { op: "lpPool2d", shape: [1, 2, 12, 57], opts: { kernelSize: 3, stride: 2 }, n: 9 },
    { op: "lpPool2d", shape: [1, 2, 11, 58], opts: { kernelSize: 3, stride: 2, padding: 1 }, n: 9 },
    { op: "lpPool2d", shape: [1, 2, 10, 59], opts: { kernelSize: 3, stride: 2, ceilMode: true }, n: 9 },
    { op: "lpPool2d", shape: [2, 2, 9, 17], opts: { kernelSize: 2, stride: 2 }, n: 4 },
    { op: "lpPool2d", shape: [2, 2, 11, 23], opts: { kernelSize: 2, stride: 3 }, n: 4 },
    { op: "lpPool2d", shape: [1, 3, 9, 14], opts: { kernelSize: [5, 3], stride: 1, padding: [2, 1] }, n: 15 },
    { op: "lpPool2d", shape: [1, 2, 8, 21], opts: { kernelSize: [4, 3], stride: [2, 1] }, n: 12 },
    { op: "lpPool3d", shape: [1, 2, 3, 7, 10], opts: { kernelSize: [2, 1, 3], stride: [1, 2, 2] }, n: 6 },
    { op: "lpPool3d", shape: [1, 2, 4, 5, 9], opts: { kernelSize: 2, stride: 1 }, n: 8 },
    { op: "lpPool2d", shape: [3, 1, 1], opts: { kernelSize: 1 }, n: 1 },
    { op: "lpPool2d", shape: [2, 5, 1], opts: { kernelSize: [3, 1], stride: [2, 1] }, n: 3 },
    { op: "lpPool1d", shape: [2, 3, 21], opts: { kernelSize: 3, stride: 2 }, n: 3 },
  ];
  /** dy: normals with a third of them ±0 (a −0 q must not give a −0 sum: the reference adds into +0). */
  const dyZeros = (m: number): Float32Array => {
    const g = new Generator(m + 5);
    return Float32Array.from({ length: m }, (_, i) => (i % 3 === 0 ? (i % 2 === 0 ? -0 : 0) : g.normal()));
  };
  const cases = (special: boolean) => {
    const g = new Generator(special ? 404 : 402);
    return geoms.flatMap((c) => [2, 1, 3].map((normType) => {
      const size = c.shape.reduce((a, s) => a * s, 1);
      // p = 3 on negative x: NaN (as PyTorch), so |x| there
      const xs = values(g, size, special, 1).map((v) => (normType === 3 ? Math.abs(v) : v));
      const opts = { ...c.opts, normType };
      return { label: `${c.op} [${c.shape}] ${JSON.stringify(opts)}`, call: (t: Tensor[]) => vjp(c.op)(t[0], opts), inputs: [{ data: xs, shape: c.shape }] as Input[], normType, n: c.n };
    }));
  };
  for (const b of WASM) {
    it(`${b}: within the stated bounds of the reference, NaN/±∞ included; exact zeros with the reference's sign`, () => {
      for (const special of [false, true]) {
        for (const c of cases(special)) {
          for (const dy of special ? [dyOf] : [dyZeros, dyOf]) {
            const ref = runOn("js", "js", c.call, c.inputs, dy);
            const got = runOn(b, b, c.call, c.inputs, dy);
            expectLpClose(`${c.label} ${b}`, got, ref, absRun(c.call, c.inputs, dy), c.normType, c.n);
            if (dy !== dyZeros) continue;
            // a zero gradient at a finite x ≠ 0 has the reference's sign: the sum of the q covering it is +0
            // (dy normal or ±0: no exact cancellation, so the sum is 0 only when every q is ±0)
            const r = ref.grads[0] as Float32Array;
            const w = got.grads[0] as Float32Array;
            const xs = c.inputs[0]!.data;
            for (let j = 0; j < r.length; j++) {
              const xj = xs[j] as number;
              if (r[j] === 0 && xj !== 0 && Number.isFinite(xj)) expect(Object.is(w[j], r[j]), `${c.label} ${b}: element ${j} ${w[j]} vs ${r[j]}`).toBe(true);
            }
          }
        }
      }
    });
  }
  describe("split over worker threads", () => {
    afterAll(async () => {
      setMinPartBytes(undefined);
      setClaimMode("both");
      await setThreads(1);
    });
    it("every call split (2 threads, parts run by the workers, each with its own row scratch): the same gradients bit for bit as one thread", async () => {
      for (const b of WASM) {
        const one = cases(true).map((c) => runOn(b, b, c.call, c.inputs, dyOf));
        await setThreads(2);
        setMinPartBytes(0);
        setClaimMode("workers");
        cases(true).forEach((c, i) => {
          const two = runOn(b, b, c.call, c.inputs, dyOf);
          expect(firstBitDifference(two.grads[0] as TypedArray, one[i]!.grads[0] as TypedArray), `${c.label} ${b}`).toBeNull();
        });
        setMinPartBytes(undefined);
        setClaimMode("both");
        await setThreads(1);
      }
    });
  });
});
