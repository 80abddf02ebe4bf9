import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { gatedMixPool2d, learnedMixPool2d, treePool2d } from "../../src/ops/novel.js";
import { exampleInputs, getPool } from "../../src/registry.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { Generator } from "../../src/tensor/random.js";
import { expectClose, tolFor } from "../helpers/close.js";
import { expected, FLOAT_DTYPES, fromJSON, loadFixture, replayCases, type TensorJSON } from "../helpers/fixtures.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";
import { randomTensor } from "../helpers/tensors.js";


describe("learned mix / gated / tree: shape / smoke", () => {
  it("Caffe ceil output sizes, batched and unbatched, both dtypes; outputShape agrees with the forward", () => {
    const cases: [number[], Record<string, unknown>, number[]][] = [
      [[2, 3, 8, 8], {}, [2, 3, 4, 4]], // default 3×3 stride 2: ceil(5/2) + 1 = 4 (last window overhangs)
      [[2, 3, 7, 9], {}, [2, 3, 3, 4]],
      [[3, 8, 8], { kernelSize: 2 }, [3, 4, 4]], // stride = kernelSize when only kernelSize is given
      [[1, 2, 5, 6], { kernelSize: 2, stride: 2 }, [1, 2, 3, 3]],
      [[1, 2, 6, 7], { kernelSize: [2, 3], stride: [1, 2] }, [1, 2, 5, 3]],
      [[1, 1, 2, 2], {}, [1, 1, 1, 1]], // input smaller than the kernel: one clipped window (Caffe)
    ];
    for (const [shape, opts, want] of cases) {
      for (const dtype of FLOAT_DTYPES) {
        const x = randomTensor(shape, 1, dtype);
        const kernel = (opts.kernelSize ?? 3) as number | number[];
        const k = typeof kernel === "number" ? [kernel, kernel] : kernel;
        const c = shape.length === 4 ? (shape[1] as number) : (shape[0] as number);
        for (const sharing of ["layer", "channel"] as const) {
          const lead = sharing === "layer" ? 1 : c;
          const mask = () => randomTensor([lead, ...k], 2, dtype, 0.3);
          const o = { ...opts, sharing };
          const ys = [
            learnedMixPool2d(x, tensor(new Array(lead).fill(0.4), [lead], dtype), o),
            gatedMixPool2d(x, mask(), o),
            treePool2d(x, mask(), mask(), mask(), o),
          ];
          for (const y of ys) {
            expect(y.shape).toEqual(want);
            expect(y.dtype).toBe(dtype);
          }
        }
        for (const op of [learnedMixPool2d, gatedMixPool2d, treePool2d]) expect(op.outputShape(shape, opts as never)).toEqual(want);
        for (const name of ["LearnedMix", "GatedMix", "Tree"]) expect(getPool(name).outputShape(shape, opts)).toEqual(want);
      }
    }
  });

  it("registry inputs have the op's parameter shapes and the documented inits", () => {
    const x = randomTensor([2, 3, 8, 8], 1);
    const gen = new Generator(0);
    const [alpha] = exampleInputs(getPool("learned-mix"), x, gen, { sharing: "channel" });
    expect(alpha!.shape).toEqual([3]);
    expect(Array.from(alpha!.data)).toEqual([0.5, 0.5, 0.5]);
    expect(Array.from(exampleInputs(getPool("LearnedMix"), x, gen, { mixing: "sigmoid" })[0]!.data)).toEqual([0]);
    const tree = exampleInputs(getPool("tree"), x, gen, { kernelSize: 2 });
    expect(tree.map((t) => t.shape)).toEqual([[1, 2, 2], [1, 2, 2], [1, 2, 2]]);
    const gate = exampleInputs(getPool("gated"), x, gen, { sharing: "channel" })[0]!;
    expect(gate.shape).toEqual([3, 3, 3]);
    expect(treePool2d(x, ...(tree as [Tensor, Tensor, Tensor]), { kernelSize: 2 }).shape).toEqual([2, 3, 4, 4]);
    expect(gatedMixPool2d(x, gate, { sharing: "channel" }).shape).toEqual([2, 3, 4, 4]);
  });

  it("backward may be called twice and mutates nothing; one gradient per tensor input", () => {
    const x = randomTensor([1, 2, 7, 7], 3);
    const v = [0, 1, 2].map((i) => randomTensor([1, 3, 3], 10 + i, "float64", 0.3)) as [Tensor, Tensor, Tensor];
    const before = [x, ...v].map((t) => Array.from(t.data));
    const { backward } = treePool2d.vjp(x, ...v);
    const dy = randomTensor([1, 2, 3, 3], 4);
    const a = backward(dy);
    const b = backward(dy);
    expect(a.length).toBe(4);
    for (let i = 0; i < 4; i++) expect(Array.from(b[i]!.data)).toEqual(Array.from(a[i]!.data));
    expect([x, ...v].map((t) => Array.from(t.data))).toEqual(before);
  });
});

describe("learned mix / gated / tree: errors", () => {
  const x = randomTensor([2, 3, 8, 8], 1);
  const mask = randomTensor([1, 3, 3], 2, "float64", 0.3);
  it("parameter shapes must match sharing and kernel; dtypes must match x", () => {
    expect(() => gatedMixPool2d(x, randomTensor([3, 3], 2))).toThrow('gatedMixPool2d: gate must have shape [1, 3, 3] for sharing "layer", got [3, 3]');
    expect(() => gatedMixPool2d(x, mask, { sharing: "channel" })).toThrow('gatedMixPool2d: gate must have shape [3, 3, 3] for sharing "channel", got [1, 3, 3]');
    expect(() => gatedMixPool2d(x, mask, { kernelSize: 2 })).toThrow('gatedMixPool2d: gate must have shape [1, 2, 2] for sharing "layer", got [1, 3, 3]');
    expect(() => treePool2d(x, mask, mask, randomTensor([1, 2, 2], 3))).toThrow('treePool2d: omega must have shape [1, 3, 3] for sharing "layer", got [1, 2, 2]');
    expect(() => treePool2d(x, mask, randomTensor([1, 3, 3], 3, "float32"), mask)).toThrow("treePool2d: v2 must have x's dtype float64, got float32");
    expect(() => treePool2d(x, mask, mask, "w" as never)).toThrow('treePool2d: omega must be a Tensor, got "w"');
    expect(() => learnedMixPool2d(x, tensor([0.5, 0.5], [2], "float64"))).toThrow('learnedMixPool2d: alpha must have shape [1] for sharing "layer", got [2]');
    expect(() => learnedMixPool2d(x, tensor([0.5], [1], "float64"), { sharing: "channel" })).toThrow(
      'learnedMixPool2d: alpha must have shape [3] for sharing "channel", got [1]',
    );
    expect(() => learnedMixPool2d(x, tensor([NaN], [1], "float64"))).toThrow("learnedMixPool2d: alpha must not be NaN, got NaN at index 0");
  });

  it("bad options name the argument and show the value", () => {
    const a = tensor([0.5], [1], "float64");
    expect(() => gatedMixPool2d(x, mask, { sharing: "pixel" } as never)).toThrow('gatedMixPool2d: sharing must be one of "layer", "channel", got "pixel"');
    expect(() => learnedMixPool2d(x, a, { mixing: "softmax" } as never)).toThrow('learnedMixPool2d: mixing must be one of "clamped", "sigmoid", got "softmax"');
    expect(() => gatedMixPool2d(x, mask, { padding: 1 } as never)).toThrow(/gatedMixPool2d: unknown option "padding"; known options: kernelSize, stride, sharing/);
    expect(() => treePool2d(x, mask, mask, mask, { stride: 0 })).toThrow("treePool2d: stride must be positive integers, got 0");
    expect(() => gatedMixPool2d(x, mask, { kernelSize: [3] })).toThrow("gatedMixPool2d: kernelSize must be a number or an array of 2 numbers, got [3]");
    expect(() => learnedMixPool2d(tensor([1, 2], [2]), a)).toThrow("learnedMixPool2d: x must have shape [N, C, H, W] or [C, H, W], got [2]");
  });
});

describe("learned mix / gated / tree: values", () => {
  interface Case {
    name: string;
    op: "gated" | "tree" | "learnedMix";
    options: Record<string, unknown>;
    x: TensorJSON;
    y: TensorJSON;
    dy: TensorJSON;
    dx: TensorJSON;
    params: Record<string, TensorJSON>;
    grads: Record<string, TensorJSON>;
  }
  const fixture = loadFixture<Case>("novel_generalized.json");
  const ORDER = { gated: ["gate"], tree: ["v1", "v2", "omega"], learnedMix: ["alpha"] } as const;
  const OPS = { gated: gatedMixPool2d, tree: treePool2d, learnedMix: learnedMixPool2d } as const;

  it("has the fixture cases", () => expect(fixture.cases.length).toBeGreaterThanOrEqual(16));
  replayCases(
    fixture.cases,
    (c, _i, dtype) => `${c.op}: ${c.name} (${dtype}) matches the PyTorch reference for y, dx and every parameter gradient`,
    (c, dtype) => {
      const names = ORDER[c.op];
      const params = names.map((n) => fromJSON(c.params[n]!, dtype));
      const x = fromJSON(c.x, dtype);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const { output, backward } = (OPS[c.op].vjp as any)(x, ...params, c.options) as { output: Tensor; backward: (dy: Tensor) => (Tensor | null)[] };
      // Parameter gradients sum over every window: float32 gets a looser absolute tolerance.
      const tol = dtype === "float64" ? tolFor(dtype) : { atol: 1e-4, rtol: 1e-4 };
      expect(output.shape).toEqual(c.y.shape);
      expectClose(output.data, expected(c.y).data, tol, "y");
      const grads = backward(fromJSON(c.dy, dtype));
      expect(grads.length).toBe(names.length + 1);
      expectClose(grads[0]!.data, expected(c.dx).data, tol, "dx");
      names.forEach((n, i) => {
        expect(grads[i + 1]!.shape).toEqual(c.params[n]!.shape);
        expectClose(grads[i + 1]!.data, expected(c.grads[n]!).data, tol, `d${n}`);
      });
    },
  );

  it("docs/methods/mixed.md worked numbers (Lee et al.): gated window [1,2,3,4] with ω = [0.1, −0.2, 0.3, 0.05], and the 2-level tree", () => {
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2], "float64");
    const omega = tensor([0.1, -0.2, 0.3, 0.05], [1, 2, 2], "float64");
    const r = gatedMixPool2d.vjp(x, omega, { kernelSize: 2 });
    expectClose(r.output.data, [3.5349617], { atol: 5e-7 });
    const [dx, dOmega] = r.backward(tensor([1], [1, 1, 1, 1], "float64"));
    expectClose(dx!.data, [0.109593, 0.013333, 0.173766, 0.783524], { atol: 5e-6 }, "dx");
    expectClose(dOmega!.data, [0.320865, 0.641729, 0.962594, 1.283458], { atol: 5e-6 }, "dω");
    const v1 = tensor([0.5, 0, 0, 0.5], [1, 2, 2], "float64");
    const v2 = tensor([0, 0.25, 0.25, 0.5], [1, 2, 2], "float64");
    expectClose(treePool2d(x, v1, v2, omega, { kernelSize: 2 }).data, [2.7325191], { atol: 5e-7 });
  });

  it("overhanging windows: zeros in ωᵀx, max and average over the valid positions only", () => {
    // 1×3 input, kernel 2, stride 2 → windows {0,1} and {2} (+ one outside position).
    const x = tensor([1, -2, -3], [1, 1, 1, 3], "float64");
    const omega = tensor([0, 0, 0, 5], [1, 2, 2], "float64"); // weights only the (1,1) tap, never valid here
    const y = gatedMixPool2d(x, omega, { kernelSize: 2 });
    // g = σ(0) = 0.5: window 2 has max = avg = −3 (valid count 1), not avg −1.5 or max 0.
    expectClose(y.data, [0.5 * 1 + 0.5 * -0.5, -3], { atol: 1e-12 });
    expectClose(learnedMixPool2d(x, tensor([0.25], [1], "float64"), { kernelSize: 2 }).data, [0.25 * 1 + 0.75 * -0.5, -3], { atol: 1e-12 });
  });

  it("ties send the max gradient to the first maximum only (not every tie, unlike the official kernel)", () => {
    const x = tensor([3, 1, 2, 3], [1, 1, 2, 2], "float64");
    const omega = tensor([0, 0, 0, 0], [1, 2, 2], "float64");
    const [dx] = gatedMixPool2d.vjp(x, omega, { kernelSize: 2 }).backward(tensor([1], [1, 1, 1, 1], "float64"));
    // g = 0.5: 0.5 to the first 3, plus (1 − g)/4 everywhere.
    expectClose(dx!.data, [0.625, 0.125, 0.125, 0.125], { atol: 1e-12 });
  });

  it("the gate is numerically stable for huge logits", () => {
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2], "float64");
    const y1 = gatedMixPool2d(x, tensor([1e4, 1e4, 1e4, 1e4], [1, 2, 2], "float64"), { kernelSize: 2 });
    const y0 = gatedMixPool2d(x, tensor([-1e4, -1e4, -1e4, -1e4], [1, 2, 2], "float64"), { kernelSize: 2 });
    expect(Array.from(y1.data)).toEqual([4]);
    expect(Array.from(y0.data)).toEqual([2.5]);
  });
});

describe("learned mix / gated / tree: gradcheck (float64)", () => {
  const x = distinctRandom([2, 3, 8, 7], 5);
  for (const sharing of ["layer", "channel"] as const) {
    const lead = sharing === "layer" ? 1 : 3;
    it(`gated, sharing ${sharing}, overhanging windows: x and gate`, () => {
      const gate = randomTensor([lead, 3, 3], 6, "float64", 0.5);
      gradcheck((t) => gatedMixPool2d.vjp(t[0]!, t[1]!, { sharing }), [x, gate]);
    });
    it(`tree, sharing ${sharing}: x, v1, v2 and omega`, () => {
      const ps = [7, 8, 9].map((s) => randomTensor([lead, 3, 3], s, "float64", 0.5));
      gradcheck((t) => treePool2d.vjp(t[0]!, t[1]!, t[2]!, t[3]!, { sharing }), [x, ...ps]);
    });
    it(`learned mix (clamped and sigmoid), sharing ${sharing}: x and alpha`, () => {
      const alpha = tensor(lead === 1 ? [0.35] : [0.2, 0.5, 0.85], [lead], "float64");
      gradcheck((t) => learnedMixPool2d.vjp(t[0]!, t[1]!, { sharing }), [x, alpha]);
      const logits = tensor(lead === 1 ? [-0.4] : [-1, 0.3, 2], [lead], "float64");
      gradcheck((t) => learnedMixPool2d.vjp(t[0]!, t[1]!, { sharing, mixing: "sigmoid" }), [x, logits]);
    });
  }
  it("rectangular kernel and stride, unbatched, overlapping windows", () => {
    const xu = distinctRandom([2, 6, 7], 9);
    const opts = { kernelSize: [2, 3], stride: [1, 2] };
    const ps = [1, 2, 3].map((s) => randomTensor([1, 2, 3], s, "float64", 0.5));
    gradcheck((t) => gatedMixPool2d.vjp(t[0]!, t[1]!, opts), [xu, ps[0]!]);
    gradcheck((t) => treePool2d.vjp(t[0]!, t[1]!, t[2]!, t[3]!, opts), [xu, ...ps]);
  });
});

describe("learned mix / gated / tree: properties", () => {
  it("gated and learned mix lie between the window's average and max", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 10 }), fc.integer({ min: 3, max: 10 }), fc.integer({ min: 0, max: 999 }), (H, W, seed) => {
        const x = randomTensor([1, 2, H, W], seed);
        const gate = randomTensor([1, 3, 3], seed + 1, "float64", 2);
        const lo = learnedMixPool2d(x, tensor([0], [1], "float64"));
        const hi = learnedMixPool2d(x, tensor([1], [1], "float64"));
        const g = gatedMixPool2d(x, gate);
        const m = learnedMixPool2d(x, tensor([0.3], [1], "float64"));
        for (let i = 0; i < g.size; i++) {
          const a = lo.data[i] as number;
          const b = hi.data[i] as number;
          for (const v of [g.data[i] as number, m.data[i] as number]) {
            expect(v).toBeGreaterThanOrEqual(a - 1e-12);
            expect(v).toBeLessThanOrEqual(b + 1e-12);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it("tree with equal leaves is the linear filter v·x whatever the gate", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999 }), (seed) => {
        const x = randomTensor([2, 2, 7, 7], seed);
        const v = randomTensor([1, 3, 3], seed + 1);
        const a = treePool2d(x, v, v, randomTensor([1, 3, 3], seed + 2));
        const b = treePool2d(x, v, v, randomTensor([1, 3, 3], seed + 3));
        expectClose(a.data, b.data, { atol: 1e-12, rtol: 1e-12 });
      }),
      { numRuns: 20 },
    );
  });

  it("alpha's gradient under clamping is 0 strictly outside [0, 1] and passes through at the bounds", () => {
    const x = randomTensor([1, 4, 6, 6], 3);
    const dy = randomTensor([1, 4, 3, 3], 4);
    const grad = (v: number[]) => learnedMixPool2d.vjp(x, tensor(v, [4], "float64"), { sharing: "channel" }).backward(dy)[1]!.toArray() as number[];
    const inside = grad([0.5, 0.5, 0.5, 0.5]);
    const edges = grad([0, 1, -0.1, 1.1]);
    expect(edges[0]).toBe(inside[0]);
    expect(edges[1]).toBe(inside[1]);
    expect(Math.abs(edges[2] as number)).toBe(0);
    expect(Math.abs(edges[3] as number)).toBe(0);
    expect(inside[0]).not.toBe(0);
  });
});

describe("learnedMixPool2d audit: float32 dalpha when the window's spread is small against its level", () => {
  // Hand-worked: one 3×3 window (k3 s2 on 3×3) of eight 10000s and one 10001: max − avg = 1 − 1/9 = 8/9,
  // so ∂y/∂alpha = dy·(max − avg) = 8/9 ("clamped" mixing inside [0, 1]). The float32-rounded
  // average 10000.111328125 gave 0.888671875 (relative error 2.4e-4).
  for (const dtype of ["float32", "float64"] as const) {
    it(`${dtype}: dalpha = 8/9 to the dtype's precision`, () => {
      const values = new Array<number>(9).fill(10000);
      values[4] = 10001;
      const x = tensor(values, [1, 1, 3, 3], dtype);
      const { backward } = learnedMixPool2d.vjp(x, tensor([0.3], [1], dtype));
      const [, dAlpha] = backward(tensor([1], [1, 1, 1, 1], dtype)) as [Tensor, Tensor];
      expectClose(dAlpha.data, [8 / 9], { rtol: dtype === "float32" ? 1e-6 : 1e-12, atol: 0 });
    });
  }
});
