import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { getBackend, setBackend } from "../../src/backends/index.js";
import { bilinearPool } from "../../src/ops/bilinearPool.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { Generator, randn } from "../../src/tensor/random.js";
import { expectClose, expectTensorClose, tolFor } from "../helpers/close.js";
import { expected, fromJSON, loadFixture, replayCases, type TensorJSON } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";

interface Case {
  name: string;
  options: Record<string, unknown>;
  a: TensorJSON;
  b: TensorJSON | null;
  output: TensorJSON;
  dy: TensorJSON;
  da: TensorJSON;
  db: TensorJSON | null;
}

function norm(row: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < row.length; i++) s += (row[i] as number) ** 2;
  return Math.sqrt(s);
}

describe("bilinearPool: shape / smoke", () => {
  it("two streams [N, M, H, W] x [N, P, H, W] -> [N, M*P]; homogeneous -> [N, M^2]; every float dtype", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const a = randn([2, 3, 4, 4], { seed: 1, dtype });
      const b = randn([2, 5, 4, 4], { seed: 2, dtype });
      const y = bilinearPool(a, b);
      expect(y.shape).toEqual([2, 15]);
      expect(y.dtype).toBe(dtype);
      expect(bilinearPool.outputShape(a.shape, b.shape)).toEqual([2, 15]);
      const h = bilinearPool(a, { pooling: "mean" });
      expect(h.shape).toEqual([2, 9]);
      expect(bilinearPool.outputShape(a.shape)).toEqual([2, 9]);
      expect(bilinearPool(a, null).shape).toEqual([2, 9]);
    }
  });

  it("vjp returns one gradient per tensor input and does not mutate inputs", () => {
    const a = randn([1, 2, 3, 3], { seed: 3, dtype: "float64" });
    const b = randn([1, 3, 3, 3], { seed: 4, dtype: "float64" });
    const a0 = Float64Array.from(a.data);
    const two = bilinearPool.vjp(a, b).backward(randn([1, 6], { seed: 5, dtype: "float64" }));
    expect(two.length).toBe(2);
    expect(two[1]?.shape).toEqual([1, 3, 3, 3]);
    const one = bilinearPool.vjp(a).backward(randn([1, 4], { seed: 5 }));
    expect(one.length).toBe(1);
    expect(one[0]?.dtype).toBe("float64");
    expect([...a.data]).toEqual([...a0]);
  });

  it("an all-zero map gives a zero output (no NaN)", () => {
    const z = bilinearPool(tensor(new Float64Array(8), [1, 2, 2, 2], "float64"));
    expect([...z.data]).toEqual([0, 0, 0, 0]);
  });
});

describe("bilinearPool: errors", () => {
  const a = randn([2, 3, 4, 4], { seed: 1 });
  it("outputShape rejects a b of another batch or spatial size, as the forward pass does (it used to return [N, M·P])", () => {
    expect(() => bilinearPool.outputShape([2, 3, 4, 4], [2, 5, 4, 5])).toThrow("bilinearPool: b must have the batch size and spatial size of a [2, C, 4, 4], got shape [2, 5, 4, 5]");
    expect(() => bilinearPool.outputShape([2, 3, 4, 4], [1, 5, 4, 4])).toThrow("bilinearPool: b must have the batch size and spatial size of a [2, C, 4, 4], got shape [1, 5, 4, 4]");
    expect(() => bilinearPool.outputShape([2, 3, 4, 4], [2, 5, 16])).toThrow("bilinearPool: b must have the batch size and spatial size of a [2, C, 4, 4], got shape [2, 5, 16]");
  });
  it("rejects mismatched batch or spatial sizes, dtypes and bad ranks", () => {
    expect(() => bilinearPool(a, randn([2, 3, 4, 5]))).toThrow("bilinearPool: b must have the batch size and spatial size of a [2, C, 4, 4], got shape [2, 3, 4, 5]");
    expect(() => bilinearPool(a, randn([1, 3, 4, 4]))).toThrow("bilinearPool: b must have the batch size and spatial size of a [2, C, 4, 4], got shape [1, 3, 4, 4]");
    expect(() => bilinearPool(a, randn([2, 3, 16]))).toThrow("got shape [2, 3, 16]");
    expect(() => bilinearPool(a, randn([2, 3, 4, 4], { dtype: "float64" }))).toThrow("bilinearPool: b must have a's dtype float32, got float64");
    expect(() => bilinearPool(randn([5]))).toThrow("bilinearPool: a must have shape [N, C, H, W] (or [N, C, ...spatial]), got [5]");
    expect(() => bilinearPool(randn([2, 0, 3]))).toThrow("bilinearPool: a must have non-empty channel and spatial dims, got shape [2, 0, 3]");
    expect(() => bilinearPool(tensor([1, 2], [1, 2], "int32"))).toThrow("bilinearPool: a must be float32 or float64, got int32");
    expect(() => bilinearPool([1, 2] as unknown as Tensor)).toThrow("bilinearPool: a must be a Tensor, got [1, 2]");
    expect(() => bilinearPool(a, 3 as unknown as Tensor)).toThrow("bilinearPool: b must be a Tensor, null or omitted, got 3");
  });
  it("rejects bad options", () => {
    expect(() => bilinearPool(a, { pooling: "max" as "sum" })).toThrow('bilinearPool: pooling must be one of "sum", "mean", got "max"');
    expect(() => bilinearPool(a, { signedSqrt: 1 as unknown as boolean })).toThrow("bilinearPool: signedSqrt must be a boolean, got 1");
    expect(() => bilinearPool(a, { sqrtEps: 0 })).toThrow("bilinearPool: sqrtEps must be > 0 and < Infinity, got 0");
    expect(() => bilinearPool(a, { l2Eps: -1 })).toThrow("bilinearPool: l2Eps must be > 0 and < Infinity, got -1");
    expect(() => bilinearPool(a, { eps: 1 } as never)).toThrow('bilinearPool: unknown option "eps"; known options: pooling, signedSqrt, l2, sqrtEps, l2Eps');
    expect(() => bilinearPool.vjp(a).backward(randn([2, 4]))).toThrow("bilinearPool: backward: dy must have the output's shape [2, 9], got [2, 4]");
  });
});

describe("bilinearPool: values", () => {
  it("docs/methods/bilinear.md worked example (B-CNN): sum and mean both give [0.57735, 0, 0.57735, -0.57735]", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const a = tensor([[[1, 0, 2], [0, 1, 1]]], [1, 2, 3], dtype);
      const b = tensor([[[1, 1, 0], [2, 0, -1]]], [1, 2, 3], dtype);
      const r = 1 / Math.sqrt(3);
      for (const pooling of ["sum", "mean"] as const) {
        expectClose(bilinearPool(a, b, { pooling }).data, [r, 0, r, -r], tolFor(dtype));
      }
      // B(sum) = [[1, 0], [1, -1]] without post-processing; B(avg) = B(sum)/3
      expectClose(bilinearPool(a, b, { signedSqrt: false, l2: false }).data, [1, 0, 1, -1], tolFor(dtype));
      expectClose(bilinearPool(a, b, { pooling: "mean", l2: false }).data, [r, 0, r, -r], tolFor(dtype));
    }
  });

  const fx = loadFixture<Case>("bilinear_bcnn.json");
  replayCases(
    fx.cases,
    (c, _i, dtype) => `PyTorch reference (${c.name}), ${dtype}`,
    (c, dtype) => {
      const tol = tolFor(dtype);
      // float32 gradients: the signed-√ derivative 0.5/√|v| amplifies input rounding where |v| is small
      const gtol = dtype === "float32" ? { atol: 1e-4, rtol: 1e-4 } : tol;
      const a = fromJSON(c.a, dtype);
      const b = c.b ? fromJSON(c.b, dtype) : null;
      const { output, backward } = b ? bilinearPool.vjp(a, b, c.options) : bilinearPool.vjp(a, c.options);
      expectTensorClose(output, expected(c.output), tol, "output");
      const grads = backward(fromJSON(c.dy, dtype));
      expectTensorClose(grads[0] as Tensor, expected(c.da), gtol, "da");
      if (c.db) expectTensorClose(grads[1] as Tensor, expected(c.db), gtol, "db");
      else expect(grads.length).toBe(1);
    },
  );

  it("homogeneous gradient is the exact s(G + G^T)X, twice the official G X for symmetric G", () => {
    // no post-processing, so G = dy; with symmetric dy the exact gradient is 2 s G X
    const x = tensor([[[1, 0, 2], [0, 1, 1]]], [1, 2, 3], "float64");
    const dy = tensor([[1, 0.5, 0.5, -2]], [1, 4], "float64");
    const [dx] = bilinearPool.vjp(x, { signedSqrt: false, l2: false }).backward(dy);
    // G X = [[1, 0.5, 2.5], [0.5, -2, -1]]
    expectClose((dx as Tensor).data, [2, 1, 5, 1, -4, -2], { atol: 1e-12 });
  });
});

describe("bilinearPool: gradcheck (float64)", () => {
  it("two streams, sum and mean", () => {
    const a = distinctRandom([2, 3, 2, 3], 11, 2);
    const b = distinctRandom([2, 2, 2, 3], 12, 2);
    gradcheck(([x, y]) => bilinearPool.vjp(x as Tensor, y as Tensor), [a, b]);
    gradcheck(([x, y]) => bilinearPool.vjp(x as Tensor, y as Tensor, { pooling: "mean" }), [a, b]);
  });
  it("homogeneous, and without signed sqrt / L2", () => {
    const a = distinctRandom([2, 3, 2, 2], 13, 2);
    gradcheck(([x]) => bilinearPool.vjp(x as Tensor), [a]);
    gradcheck(([x]) => bilinearPool.vjp(x as Tensor, { signedSqrt: false }), [a]);
    gradcheck(([x]) => bilinearPool.vjp(x as Tensor, { l2: false, pooling: "mean" }), [a]);
  });
});

describe("bilinearPool: properties", () => {
  it("each output row has unit L2 norm and is invariant to scaling a", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1e6 }), fc.double({ min: 0.1, max: 10, noNaN: true }),
        (n, ca, cb, l, seed, scale) => {
          const a = randn([n, ca, l], { seed, dtype: "float64" });
          const b = randn([n, cb, l], { seed: seed + 1, dtype: "float64" });
          // a tiny l2Eps makes both identities exact up to rounding (the default 1e-10 shows for tiny inputs)
          const z = bilinearPool(a, b, { l2Eps: 1e-30 });
          for (let i = 0; i < n; i++) expect(norm(z.data.subarray(i * ca * cb, (i + 1) * ca * cb))).toBeCloseTo(1, 12);
          const as = tensor(Float64Array.from(a.data, (v) => v * scale), a.shape, "float64");
          expectClose(bilinearPool(as, b, { l2Eps: 1e-30 }).data, z.data, { atol: 1e-12, rtol: 1e-10 });
        },
      ),
      { numRuns: 40 },
    );
  });
  it("homogeneous equals two streams of the same map in value, and the gradients add up", () => {
    const a = randn([2, 3, 5], { seed: 9, dtype: "float64" });
    const dy = randn([2, 9], { seed: 10, dtype: "float64" });
    const h = bilinearPool.vjp(a);
    const t = bilinearPool.vjp(a, a);
    expectClose(h.output.data, t.output.data, { atol: 1e-12 });
    const [dh] = h.backward(dy);
    const [d1, d2] = t.backward(dy);
    expectClose((dh as Tensor).data, Float64Array.from((d1 as Tensor).data, (v, i) => v + ((d2 as Tensor).data[i] as number)), { atol: 1e-12 });
  });
});

describe("bilinearPool: float32 input runs the matrix core's float32 GEMM (gemmF32)", () => {
  // With signedSqrt and l2 off the output is the Gram s·A Bᵀ and the backward's dz is G, so each
  // product can be held to gemmF32's bound against float64 sums of the same float32 values, u = 2⁻²⁴:
  //   forward  |Δ(s·A Bᵀ)_ij| ≤ (min(L, 256) + 2)·u·s·(|A||B|ᵀ)_ij
  //   backward |Δda| ≤ (min(P, 256) + 2)·u·s·(|G||B|), |Δdb| ≤ (min(M, 256) + 2)·u·s·(|Gᵀ||A|);
  //   one stream |Δda| ≤ (min(M, 256) + 3)·u·s·((|G| + |Gᵀ|)|A|) (G + Gᵀ rounded to float32 first).
  const u = 2 ** -24;
  const opts = { signedSqrt: false, l2: false } as const;
  type Res = { y: Float32Array; grads: Float32Array[] };
  const cases = [
    { n: 2, ca: 5, cb: 3, sp: [4, 5], pooling: "sum", two: true },
    { n: 2, ca: 7, cb: 7, sp: [3, 3], pooling: "mean", two: false },
    { n: 1, ca: 19, cb: 6, sp: [17, 17], pooling: "mean", two: true }, // L = 289 > 256: two k-blocks
    { n: 2, ca: 33, cb: 33, sp: [300], pooling: "sum", two: false },
    { n: 3, ca: 600, cb: 600, sp: [3], pooling: "mean", two: false }, // G + Gᵀ in chunks of 2 images; k = M = 600 in the backward
  ] as const;

  function run(c: (typeof cases)[number], seed: number): { res: Res; a: Float32Array; b: Float32Array; g: Float32Array; l: number; s: number } {
    const gen = new Generator(seed);
    const l = c.sp.reduce((p, d) => p * d, 1);
    const a = Float32Array.from({ length: c.n * c.ca * l }, () => gen.normal());
    const b = c.two ? Float32Array.from({ length: c.n * c.cb * l }, () => gen.normal()) : a;
    const g = Float32Array.from({ length: c.n * c.ca * c.cb }, () => gen.normal());
    const at = tensor(a, [c.n, c.ca, ...c.sp], "float32");
    const o = { ...opts, pooling: c.pooling };
    const r = c.two ? bilinearPool.vjp(at, tensor(b, [c.n, c.cb, ...c.sp], "float32"), o) : bilinearPool.vjp(at, o);
    const grads = r.backward(tensor(g, [c.n, c.ca * c.cb], "float32")).map((t) => (t as Tensor).data as Float32Array);
    expect(r.output.dtype).toBe("float32");
    return { res: { y: r.output.data as Float32Array, grads }, a, b, g, l, s: c.pooling === "mean" ? 1 / l : 1 };
  }

  /** max over entries of |got − Σ x·y| / ((kb + extra)·u·s·Σ|x·y|): ≤ 1 means within the bound. */
  function ratio(got: ArrayLike<number>, m: number, q: number, k: number, extra: number, s: number, x: (img: number, i: number, p: number) => number, y: (img: number, p: number, j: number) => number, count: number): number {
    let worst = 0;
    for (let img = 0; img < count; img++) {
      for (let i = 0; i < m; i++) for (let j = 0; j < q; j++) {
        let sum = 0;
        let abs = 0;
        for (let p = 0; p < k; p++) {
          const t = x(img, i, p) * y(img, p, j);
          sum += t;
          abs += Math.abs(t);
        }
        const err = Math.abs((got[(img * m + i) * q + j] as number) - s * sum);
        const bound = (Math.min(k, 256) + extra) * u * s * abs;
        worst = Math.max(worst, bound === 0 ? (err === 0 ? 0 : Infinity) : err / bound);
      }
    }
    return worst;
  }

  it("forward and gradients within the bound on wasm-simd, wasm and js, and bit-identical across them", () => {
    const before = getBackend();
    try {
      cases.forEach((c, ci) => {
        const byBackend: Res[] = [];
        for (const backend of ["wasm-simd", "wasm", "js"] as const) {
          setBackend(backend);
          const { res, a, b, g, l, s } = run(c, 90 + ci);
          const { n, ca, cb } = c;
          const what = `${backend} case ${ci}`;
          const A = (img: number, i: number, p: number): number => a[(img * ca + i) * l + p] as number;
          const Bt = (img: number, p: number, j: number): number => b[(img * cb + j) * l + p] as number;
          expect(ratio(res.y, ca, cb, l, 2, s, A, Bt, n), `${what} y`).toBeLessThanOrEqual(1);
          const G = (img: number, i: number, p: number): number => g[(img * ca + i) * cb + p] as number;
          const Gt = (img: number, i: number, p: number): number => g[(img * ca + p) * cb + i] as number;
          const Bm = (img: number, p: number, j: number): number => b[(img * cb + p) * l + j] as number;
          const Am = (img: number, p: number, j: number): number => a[(img * ca + p) * l + j] as number;
          if (c.two) {
            expect(res.grads.length).toBe(2);
            expect(ratio(res.grads[0] as Float32Array, ca, l, cb, 2, s, G, Bm, n), `${what} da`).toBeLessThanOrEqual(1);
            expect(ratio(res.grads[1] as Float32Array, cb, l, ca, 2, s, Gt, Am, n), `${what} db`).toBeLessThanOrEqual(1);
          } else {
            expect(res.grads.length).toBe(1);
            // (|G| + |Gᵀ|)|A| ≥ |G + Gᵀ||A|: the sum over p of |G_ip + G_pi|·|A_pj| bounds the terms' magnitudes
            const Gs = (img: number, i: number, p: number): number => G(img, i, p) + Gt(img, i, p);
            expect(ratio(res.grads[0] as Float32Array, ca, l, ca, 3, s, Gs, Am, n), `${what} da`).toBeLessThanOrEqual(1);
          }
          byBackend.push(res);
        }
        const [ref, ...rest] = byBackend as [Res, ...Res[]];
        for (const r of rest) {
          expect(Buffer.from(r.y.buffer, r.y.byteOffset, r.y.byteLength).equals(Buffer.from(ref.y.buffer, ref.y.byteOffset, ref.y.byteLength)), `case ${ci} y bits`).toBe(true);
          r.grads.forEach((d, i) => {
            const e = ref.grads[i] as Float32Array;
            expect(Buffer.from(d.buffer, d.byteOffset, d.byteLength).equals(Buffer.from(e.buffer, e.byteOffset, e.byteLength)), `case ${ci} grad ${i} bits`).toBe(true);
          });
        }
      });
    } finally {
      setBackend(before);
    }
  });
});
