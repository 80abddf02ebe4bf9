/**
 * MLB's backward from the σ values the forward kept (src/kernels/bilinear.ts, `keep`) against the
 * backward that recomputes them (keep = null, used above the op's size cap): bit-identical gradients
 * and the same forward output, over pooling modes, σ, a broadcast y, location counts across the
 * 256-location blocks, 1×1 and odd sizes, float32 and float64.
 */
import { describe, expect, it } from "vitest";
import { mlbBackward, mlbForward } from "../../src/kernels/bilinear.js";
import type { MlbKept } from "../../src/kernels/registry.js";
import { Generator } from "../../src/tensor/random.js";

type Arr = Float32Array | Float64Array;

function rand(n: number, gen: Generator, f32: boolean): Arr {
  const a = f32 ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = gen.normal() * 0.5;
  return a;
}

describe("MLB backward from the forward's kept σ values", () => {
  const cases = [
    [1, 1, 1, 1, 1, 1, 1], [2, 3, 5, 7, 4, 3, 1], [3, 6, 4, 300, 5, 2, 1], [2, 5, 3, 9, 6, 4, 0], [1, 4, 4, 513, 3, 3, 0],
  ] as const;
  let seed = 1;
  for (const [n, cx, cy, l, rank, outDim, yStep] of cases) {
    for (const mode of [0, 1, 2]) {
      for (const tanh of [0, 1]) {
        const f32 = seed % 2 === 0;
        it(`n ${n} cx ${cx} cy ${cy} l ${l} rank ${rank} O ${outDim} ${yStep ? "" : "broadcast y "}mode ${mode} tanh ${tanh} ${f32 ? "float32" : "float64"}`, () => {
          const gen = new Generator(seed++);
          const x = rand(n * cx * l, gen, f32);
          const y = rand(yStep ? n * cy * l : n * cy, gen, f32);
          const U = rand(rank * cx, gen, f32);
          const V = rand(rank * cy, gen, f32);
          const P = rand(outDim * rank, gen, f32);
          const bu = rand(rank, gen, f32);
          const bv = rand(rank, gen, f32);
          const bp = rand(outDim, gen, f32);
          const outLen = mode === 2 ? n * outDim * l : n * outDim;
          const mk = (len: number): Arr => (f32 ? new Float32Array(len) : new Float64Array(len));
          const out1 = mk(outLen);
          const out2 = mk(outLen);
          const keep: MlbKept = { a: new Float64Array(n * rank * l).fill(NaN), c: new Float64Array(n * rank * l).fill(NaN) };
          mlbForward(x, y, U, V, P, bu, bv, bp, out1, n, cx, cy, l, yStep, rank, outDim, mode, tanh, null);
          mlbForward(x, y, U, V, P, bu, bv, bp, out2, n, cx, cy, l, yStep, rank, outDim, mode, tanh, keep);
          expect(Array.from(out2)).toEqual(Array.from(out1));
          expect(keep.a.some(Number.isNaN) || keep.c.some(Number.isNaN)).toBe(false);
          const g = rand(outLen, gen, f32);
          const grads = (k: MlbKept | null): Arr[] => {
            const gs = [mk(x.length), mk(y.length), mk(U.length), mk(V.length), mk(P.length), mk(rank), mk(rank), mk(outDim)] as const;
            mlbBackward(g, x, y, U, V, P, bu, bv, ...gs, n, cx, cy, l, yStep, rank, outDim, mode, tanh, k);
            return [...gs];
          };
          const want = grads(null);
          const got = grads(keep);
          got.forEach((arr, i) => expect(Array.from(arr), `gradient ${i}`).toEqual(Array.from(want[i] as Arr)));
        });
      }
    }
  }
});
