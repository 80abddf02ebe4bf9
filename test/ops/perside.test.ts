/**
 * Per-side padding `padding: [[before, after], ...]` on the sliding geometry: max / avg / LP (1d–3d),
 * SoftPool, LIP and mixed pooling, forward and backward.
 *
 * References: test/fixtures/pytorch_perside.json (scripts/fixtures/pytorch_perside.py: PyTorch's
 * `F.pad` followed by pooling with padding 0, the compositions that define per-side padding),
 * hand-worked cases, float64 finite-difference gradchecks, and properties (a symmetric pair equals the
 * number form; outputShape equals the forward shape; mixed pooling's branches equal max / avg pooling).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { avgPool1d, avgPool2d, avgPool3d, lpPool1d, lpPool2d, lpPool3d, maxPool1d, maxPool2d, maxPool3d } from "../../src/ops/pytorch.js";
import { softPool1d, softPool2d, softPool3d } from "../../src/ops/softPool.js";
import { localImportancePool2d } from "../../src/ops/localImportancePool.js";
import { mixedPool2d } from "../../src/ops/mixedPool.js";
import { slidingGeometry } from "../../src/geometry/sliding.js";
import { randn } from "../../src/tensor/random.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import type { FloatDType } from "../../src/tensor/dtype.js";
import type { VJP } from "../../src/op.js";
import { expectClose, expectTensorClose, tolFor } from "../helpers/close.js";
import { expectVjpMatches, expected, fromJSON, loadFixture, replayCases, type PyTorchCase, type TensorJSON } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";
import { onesLike } from "../helpers/tensors.js";

type AnyOp = { (x: Tensor, o: never): Tensor; vjp(x: Tensor, o: never): VJP<Tensor>; outputShape(s: readonly number[], o: never): number[] };
const OPS: Record<string, AnyOp> = {
  maxPool1d, maxPool2d, maxPool3d, avgPool1d, avgPool2d, avgPool3d, lpPool1d, lpPool2d, lpPool3d, softPool1d, softPool2d, softPool3d,
} as unknown as Record<string, AnyOp>;

interface LipCase {
  op: "localImportancePool2d";
  opts: Record<string, unknown>;
  x: TensorJSON;
  logits: TensorJSON;
  dy: TensorJSON;
  float64: { output: TensorJSON; dx: TensorJSON; dlogits: TensorJSON };
  float32: { output: TensorJSON; dx: TensorJSON; dlogits: TensorJSON };
  note?: string;
}

describe("per-side padding — PyTorch fixtures (F.pad, then pooling with padding 0)", () => {
  const fixture = loadFixture<PyTorchCase | LipCase>("pytorch_perside.json");
  const single = fixture.cases.filter((c): c is PyTorchCase => c.op !== "localImportancePool2d");
  const lip = fixture.cases.filter((c): c is LipCase => c.op === "localImportancePool2d");
  it("has the committed fixture, with ceil-mode drops, every op and rank", () => {
    expect(single.length).toBeGreaterThanOrEqual(40);
    expect(lip.length).toBeGreaterThanOrEqual(2);
    expect(fixture.cases.filter((c) => /drops the padded pool's last window/.test(c.note ?? "")).length).toBeGreaterThanOrEqual(5);
    for (const op of Object.keys(OPS)) expect(single.some((c) => c.op === op), op).toBe(true);
  });
  replayCases(
    single,
    (c, i, dtype) => `case ${i} ${c.op} ${JSON.stringify(c.opts)} ${c.note ?? ""} (${dtype})`,
    (c, dtype) => {
      const op = OPS[c.op] as AnyOp;
      const x = fromJSON(c.x, dtype);
      expect(op.outputShape([...x.shape], c.opts as never)).toEqual(c[dtype].output.shape);
      expectVjpMatches(op.vjp(x, c.opts as never), fromJSON(c.dy, dtype), c[dtype], dtype);
    },
  );
  replayCases(
    lip,
    (c, i, dtype) => `LIP case ${i} ${JSON.stringify(c.opts)} (${dtype})`,
    (c, dtype) => {
      const r = localImportancePool2d.vjp(fromJSON(c.x, dtype), fromJSON(c.logits, dtype), c.opts as never);
      const ref = c[dtype];
      expectTensorClose(r.output, expected(ref.output), tolFor(dtype), "output");
      const [dx, dl] = r.backward(fromJSON(c.dy, dtype));
      expectTensorClose(dx as Tensor, expected(ref.dx), tolFor(dtype), "dx");
      expectTensorClose(dl as Tensor, expected(ref.dlogits), tolFor(dtype), "dlogits");
    },
  );
});

describe("per-side padding — hand-worked", () => {
  const x5 = tensor([[[1, 2, 3, 4, 5]]], undefined, "float64");
  it("[1..5], k3 s2, padding [[2, 0]]: windows {·,·,1}, {1,2,3}, {3,4,5}", () => {
    expectClose(maxPool1d(x5, { kernelSize: 3, stride: 2, padding: [[2, 0]] }).data, [1, 3, 5]);
    expectClose(avgPool1d(x5, { kernelSize: 3, stride: 2, padding: [[2, 0]] }).data, [1 / 3, 2, 4], { atol: 1e-15 });
    expectClose(avgPool1d(x5, { kernelSize: 3, stride: 2, padding: [[2, 0]], countIncludePad: false }).data, [1, 2, 4], { atol: 1e-15 });
    expectClose(lpPool1d(x5, { normType: 1, kernelSize: 3, stride: 2, padding: [[2, 0]] }).data, [1, 6, 12], { atol: 1e-12 });
  });
  it("[1..5], k2 s2, padding [[0, 1]]: the last window {5, ·} — countIncludePad divides by 2, TF SAME by 1", () => {
    expectClose(avgPool1d(x5, { kernelSize: 2, padding: [[0, 1]] }).data, [1.5, 3.5, 2.5], { atol: 1e-15 });
    expectClose(avgPool1d(x5, { kernelSize: 2, padding: [[0, 1]], countIncludePad: false }).data, [1.5, 3.5, 5], { atol: 1e-15 });
    const { output, backward } = avgPool1d.vjp(x5, { kernelSize: 2, padding: [[0, 1]], countIncludePad: false });
    expectClose((backward(onesLike(output))[0] as Tensor).data, [0.5, 0.5, 0.5, 0.5, 1], { atol: 1e-15 });
  });
  it("ceil mode drops a last window that would start in the after-padding: [1..6], k2 s3, [[0, 1]] → 2 windows", () => {
    const x6 = tensor([[[1, 2, 3, 4, 5, 6]]], undefined, "float64");
    // F.max_pool1d(F.pad(x, (0, 1)), 2, 3, ceil_mode=True) has a third window starting at 6 (the pad).
    expect(maxPool1d.outputShape([1, 1, 6], { kernelSize: 2, stride: 3, padding: [[0, 1]], ceilMode: true })).toEqual([1, 1, 2]);
    expectClose(maxPool1d(x6, { kernelSize: 2, stride: 3, padding: [[0, 1]], ceilMode: true }).data, [2, 5]);
    // ...while a window starting in the before-padding stays: [[1, 0]] gives windows at −1, 2, 5.
    expectClose(maxPool1d(x6, { kernelSize: 2, stride: 3, padding: [[1, 0]], ceilMode: true }).data, [1, 4, 6]);
  });
  it("2-d: padding [[0, 1], [1, 0]] pads the bottom row and the left column", () => {
    const x = tensor([[[[1, 2], [3, 4]]]], undefined, "float64");
    // Padded (0 = pad): [[0, 1, 2], [0, 3, 4], [0, 0, 0]], k2 s1 → 2×2 windows.
    expectClose(avgPool2d(x, { kernelSize: 2, stride: 1, padding: [[0, 1], [1, 0]] }).data, [1, 2.5, 0.75, 1.75], { atol: 1e-15 });
    expectClose(maxPool2d(x, { kernelSize: 2, stride: 1, padding: [[0, 1], [1, 0]] }).data, [3, 4, 3, 4]);
  });
});

describe("per-side padding — validation", () => {
  const x = randn([1, 1, 5, 5], { seed: 1 });
  it("the padding before must be less than the (effective) kernel", () => {
    expect(() => maxPool2d(x, { kernelSize: 3, padding: [[3, 0], [0, 0]] })).toThrow(
      "maxPool2d: padding before axis H must be less than the kernel size 3 (else the first window lies wholly in the padding), got padding [[3, 0], [0, 0]] for kernelSize 3",
    );
    expect(() => maxPool1d(randn([1, 9]), { kernelSize: 2, dilation: 3, padding: [[4, 0]] })).toThrow(
      "maxPool1d: padding before axis L must be less than the effective kernel size (kernelSize − 1)·dilation + 1 = 4 (else the first window lies wholly in the padding), got padding [[4, 0]] for kernelSize 2",
    );
    expect(() => avgPool3d.outputShape([1, 4, 4, 4], { kernelSize: [1, 2, 2], padding: [[0, 0], [0, 1], [2, 0]] })).toThrow(/^avgPool3d: padding before axis W must be less than the kernel size 2/);
  });
  it("every window must overlap the input: a last window wholly in the after-padding is an error", () => {
    // L = 5, k2 s3, after 3: windows start at 0, 3, 6 — the third covers [6, 8), all padding.
    expect(() => maxPool1d(randn([1, 5]), { kernelSize: 2, stride: 3, padding: [[0, 3]] })).toThrow(
      "maxPool1d: padding after axis L is too large: input size [5] with padding [[0, 3]], kernelSize [2] and stride [3] puts the last window wholly in the padding (it starts at 6, the input ends at 5); every window must overlap the input",
    );
    expect(() => softPool2d.outputShape([1, 1, 4, 4], { kernelSize: 2, padding: [[0, 0], [0, 2]] })).toThrow(/^softPool2d: padding after axis W is too large/);
    // ...while the same after-padding is fine where the stride lands the last window on the input (L = 4).
    expect(maxPool1d.outputShape([1, 4], { kernelSize: 2, stride: 3, padding: [[0, 3]] })).toEqual([1, 2]);
  });
  it("malformed pairs", () => {
    expect(() => maxPool2d(x, { kernelSize: 2, padding: [[0, 1]] as never })).toThrow(
      "maxPool2d: padding must be a number, an array of 2 numbers or an array of 2 [before, after] pairs (one per spatial axis), got [[0, 1]]",
    );
    expect(() => maxPool2d(x, { kernelSize: 2, padding: [1, [0, 1]] as never })).toThrow(/^maxPool2d: padding must be a number, an array of 2 numbers or an array of 2 \[before, after\] pairs/);
    expect(() => maxPool1d(randn([1, 4]), { kernelSize: 2, padding: [[0, 1, 1]] as never })).toThrow(/^maxPool1d: padding must be .* one \[before, after\] pair \(one per spatial axis\), got \[\[0, 1, 1\]\]/);
    expect(() => avgPool2d(x, { kernelSize: 2, padding: [[0, -1], [0, 0]] })).toThrow("avgPool2d: padding pairs must hold non-negative integers, got [[0, -1], [0, 0]]");
    expect(() => avgPool2d(x, { kernelSize: 2, padding: [[0, 0.5], [0, 0]] })).toThrow("avgPool2d: padding pairs must hold non-negative integers, got [[0, 0.5], [0, 0]]");
    expect(() => lpPool2d(x, { normType: 2, kernelSize: 2, padding: [[0, "1"], [0, 0]] as never })).toThrow('lpPool2d: padding pairs must hold non-negative integers, got [[0, "1"], [0, 0]]');
  });
  it("the number forms keep PyTorch's half-kernel limit", () => {
    expect(() => maxPool2d(x, { kernelSize: 3, padding: 2 })).toThrow("maxPool2d: padding must be at most half the kernel size, got padding 2 for kernelSize 3");
    expect(() => maxPool2d(x, { kernelSize: 3, padding: [[2, 2], [2, 2]] })).not.toThrow();
  });
  it("does not mutate the options' arrays", () => {
    const padding = [[1, 2], [0, 1]] as [number, number][];
    const frozen = JSON.stringify(padding);
    avgPool2d(x, { kernelSize: 3, stride: 2, padding });
    expect(JSON.stringify(padding)).toBe(frozen);
    const g = slidingGeometry("avgPool2d", { kernelSize: 3, padding }, 2);
    expect(g.padBefore).toEqual([1, 0]);
    expect(g.padAfter).toEqual([2, 1]);
  });
});

describe("per-side padding — gradcheck (float64)", () => {
  it("max (1d dilated, 2d ceil, 3d), distinct values so the argmax is stable", () => {
    gradcheck(([t]) => maxPool1d.vjp(t!, { kernelSize: 2, stride: 2, dilation: 2, padding: [[2, 1]] }), [distinctRandom([1, 2, 7], 1)]);
    gradcheck(([t]) => maxPool2d.vjp(t!, { kernelSize: 4, stride: 3, padding: [[1, 3], [3, 0]], ceilMode: true }), [distinctRandom([1, 2, 7, 8], 2)]);
    gradcheck(([t]) => maxPool3d.vjp(t!, { kernelSize: 2, padding: [[1, 0], [0, 1], [1, 1]], ceilMode: true }), [distinctRandom([1, 3, 4, 5], 3)]);
  });
  it("avg with both countIncludePad and divisorOverride, 1d–3d", () => {
    for (const countIncludePad of [true, false]) {
      gradcheck(([t]) => avgPool1d.vjp(t!, { kernelSize: 4, stride: 1, padding: [[3, 2]], countIncludePad }), [randn([2, 2, 5], { seed: 4, dtype: "float64" })]);
      gradcheck(([t]) => avgPool2d.vjp(t!, { kernelSize: [3, 2], stride: [2, 1], padding: [[2, 1], [0, 1]], ceilMode: true, countIncludePad }), [randn([1, 2, 6, 5], { seed: 5, dtype: "float64" })]);
      gradcheck(([t]) => avgPool3d.vjp(t!, { kernelSize: 2, stride: 2, padding: [[1, 0], [0, 1], [1, 1]], ceilMode: true, countIncludePad }), [randn([1, 1, 3, 4, 5], { seed: 6, dtype: "float64" })]);
    }
    gradcheck(([t]) => avgPool2d.vjp(t!, { kernelSize: 3, stride: 2, padding: [[0, 2], [2, 1]], divisorOverride: 5 }), [randn([1, 2, 5, 6], { seed: 7, dtype: "float64" })]);
  });
  it("LP, SoftPool (exact), LIP (x and logits), mixed pooling (training, fixed draws)", () => {
    const pos = (shape: number[], seed: number) => {
      const r = randn(shape, { seed, dtype: "float64" });
      return tensor(Float64Array.from(r.data, (v) => Math.abs(v) + 0.2), shape, "float64");
    };
    gradcheck(([t]) => lpPool1d.vjp(t!, { normType: 2, kernelSize: 3, stride: 2, padding: [[2, 1]] }), [randn([1, 2, 7], { seed: 8, dtype: "float64" })]);
    gradcheck(([t]) => lpPool2d.vjp(t!, { normType: 1.5, kernelSize: [3, 2], stride: [2, 1], padding: [[2, 1], [0, 1]], ceilMode: true }), [pos([1, 2, 6, 5], 9)]);
    gradcheck(([t]) => lpPool3d.vjp(t!, { normType: 3, kernelSize: 2, padding: [[1, 0], [0, 1], [1, 1]] }), [pos([1, 1, 3, 4, 5], 10)]);
    gradcheck(([t]) => softPool1d.vjp(t!, { kernelSize: 3, stride: 2, padding: [[2, 0]] }), [randn([1, 2, 7], { seed: 11, dtype: "float64" })]);
    gradcheck(([t]) => softPool2d.vjp(t!, { kernelSize: 3, stride: 2, padding: [[0, 2], [1, 0]] }), [randn([1, 2, 5, 6], { seed: 12, dtype: "float64" })]);
    gradcheck(([t]) => softPool3d.vjp(t!, { kernelSize: 2, padding: [[1, 0], [0, 1], [1, 1]] }), [randn([1, 1, 3, 4, 5], { seed: 13, dtype: "float64" })]);
    gradcheck(
      ([t, l]) => localImportancePool2d.vjp(t!, l!, { padding: [[2, 0], [1, 2]] }),
      [randn([1, 2, 7, 5], { seed: 14, dtype: "float64" }), randn([1, 2, 7, 5], { seed: 15, dtype: "float64" })],
    );
    const lambdas = tensor(Int32Array.of(1, 0), [1, 2], "int32");
    gradcheck(
      ([t]) => mixedPool2d.vjp(t!, { kernelSize: 3, stride: 2, padding: [[0, 2], [2, 1]], ceilMode: true, countIncludePad: false, lambdas }),
      [distinctRandom([1, 2, 5, 6], 16)],
    );
  });
});

describe("per-side padding — properties", () => {
  const sizes = (n: number, min: number, max: number) => fc.array(fc.integer({ min, max }), { minLength: n, maxLength: n });
  const dtypes: FloatDType[] = ["float32", "float64"];

  it("a symmetric pair [[p, p], ...] gives exactly the number form's output, gradient and outputShape", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        sizes(3, 1, 8),
        sizes(3, 1, 4),
        sizes(3, 1, 3),
        sizes(3, 0, 2),
        fc.boolean(),
        fc.constantFrom("max", "avg", "avgExcl", "lp", "soft"),
        fc.integer({ min: 0, max: 1 }),
        (rank, sp, ks, ss, ps, ceilMode, kind, di) => {
          const k = ks.slice(0, rank);
          const s = ss.slice(0, rank);
          const p = ps.slice(0, rank).map((v, i) => Math.min(v, Math.floor((k[i] as number) / 2)));
          const spatial = sp.slice(0, rank).map((v, i) => Math.max(v, (k[i] as number) - 2 * (p[i] as number)));
          const shape = [2, 2, ...spatial];
          const name = kind === "max" ? "maxPool" : kind === "lp" ? "lpPool" : kind === "soft" ? "softPool" : "avgPool";
          const op = OPS[`${name}${rank}d`] as AnyOp;
          const extra: Record<string, unknown> = kind === "lp" ? { normType: 2 } : kind === "avgExcl" ? { countIncludePad: false } : {};
          if (kind !== "soft") extra.ceilMode = ceilMode;
          const num = { ...extra, kernelSize: k, stride: s, padding: p };
          const pairs = { ...num, padding: p.map((v) => [v, v]) };
          const dtype = dtypes[di] as FloatDType;
          const x = randn(shape, { seed: sp[0]! * 7 + ks[0]!, dtype });
          const a = op.vjp(x, num as never);
          const b = op.vjp(x, pairs as never);
          expect(op.outputShape(shape, pairs as never)).toEqual(op.outputShape(shape, num as never));
          expect([...b.output.shape]).toEqual([...a.output.shape]);
          expect(Array.from(b.output.data)).toEqual(Array.from(a.output.data));
          const dy = randn([...a.output.shape], { seed: 3, dtype });
          expect(Array.from((b.backward(dy)[0] as Tensor).data)).toEqual(Array.from((a.backward(dy)[0] as Tensor).data));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("outputShape equals the forward shape, and per-side windows equal pooling the explicitly padded input", () => {
    fc.assert(
      fc.property(sizes(2, 1, 7), sizes(2, 1, 4), sizes(2, 1, 3), sizes(4, 0, 3), fc.boolean(), (sp, k, s, raw, ceilMode) => {
        const padding = [0, 1].map((i) => [Math.min(raw[2 * i] as number, (k[i] as number) - 1), raw[2 * i + 1] as number]) as [number, number][];
        const shape = [1, 1, ...sp];
        const opts = { kernelSize: k, stride: s, padding, ceilMode, countIncludePad: true };
        let out: number[];
        try {
          out = avgPool2d.outputShape(shape, opts);
        } catch (e) {
          // Only the documented rules may refuse: no window, or a last window wholly in the after-padding.
          expect((e as Error).message).toMatch(/^avgPool2d: (kernel is larger than the padded input|padding after axis [HW] is too large)/);
          return;
        }
        const x = randn(shape, { seed: 9, dtype: "float64" });
        const y = avgPool2d(x, opts);
        expect([...y.shape]).toEqual(out);
        // Reference: zero-pad explicitly, pool with padding 0 in floor mode at the same window starts.
        const [H, W] = sp as [number, number];
        const Hp = H + padding[0]![0] + padding[0]![1];
        const Wp = W + padding[1]![0] + padding[1]![1];
        const xp = new Float64Array(Hp * Wp);
        for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) xp[(h + padding[0]![0]) * Wp + w + padding[1]![0]] = x.data[h * W + w] as number;
        const ref: number[] = [];
        for (let oh = 0; oh < out[2]!; oh++) {
          for (let ow = 0; ow < out[3]!; ow++) {
            let sum = 0;
            let n = 0;
            for (let i = 0; i < k[0]!; i++) {
              for (let j = 0; j < k[1]!; j++) {
                const h = oh * s[0]! + i;
                const w = ow * s[1]! + j;
                if (h < Hp && w < Wp) {
                  sum += xp[h * Wp + w] as number;
                  n++;
                }
              }
            }
            ref.push(sum / n);
          }
        }
        expectClose(y.data, ref, { atol: 1e-12 });
      }),
      { numRuns: 200 },
    );
  });

  it("mixed pooling's eval branches equal max / avg pooling with the same per-side padding", () => {
    const x = randn([2, 3, 7, 6], { seed: 17 });
    for (const countIncludePad of [true, false]) {
      const opts = { kernelSize: 3, stride: 2, padding: [[2, 0], [1, 2]] as [number, number][], ceilMode: true, countIncludePad };
      expect(Array.from(mixedPool2d(x, { ...opts, training: false, evalMode: "max" }).data)).toEqual(Array.from(maxPool2d(x, { kernelSize: 3, stride: 2, padding: opts.padding, ceilMode: true }).data));
      expect(Array.from(mixedPool2d(x, { ...opts, training: false, evalMode: "avg" }).data)).toEqual(Array.from(avgPool2d(x, opts).data));
    }
  });
});
