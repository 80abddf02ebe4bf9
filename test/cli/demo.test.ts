import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/commands.js";
import { checkMethod, runDemo } from "../../src/cli/demo.js";
import { exampleInputs, listPools, type PoolMethod } from "../../src/registry.js";
import { runMethod, sampleTensor, vjpMethod } from "../../src/cli/invoke.js";
import { full, tensor, type Tensor } from "../../src/tensor/tensor.js";
import { defineOp } from "../../src/op.js";
import { Generator } from "../../src/tensor/random.js";
import { FAKE_AVG, FAKE_GAIN, FAKE_THROWS, FAKE_WRONG, capture, fakeRegistry } from "./fakes.js";

describe("demo over the real registry", () => {
  // One test per registered method, so a failure names the method and says why.
  for (const m of listPools()) {
    for (const d of m.dims) {
      it(`${m.name} ${d}-d: forward and backward checks pass with its defaults`, () => {
        const r = checkMethod(m, d);
        expect(r.forward.ok, `forward: ${r.forward.detail}`).toBe(true);
        expect(r.backward.ok, `backward: ${r.backward.detail}`).toBe(true);
      });
    }
  }

  it("poolkit demo exits 0 and prints every method", async () => {
    const c = capture();
    const code = await main(["demo"], c.io);
    const text = c.out.join("\n");
    expect(code, text).toBe(0);
    for (const m of listPools()) expect(text).toContain(`✓ ${m.name}  `);
    expect(text).toContain(`${listPools().length} of ${listPools().length} methods passed`);
  });
});

describe("demo checks catch broken methods without crashing", () => {
  it("passes a correct method, including the gradient of a learnable input", () => {
    for (const m of [FAKE_AVG, FAKE_GAIN]) {
      const r = checkMethod(m);
      expect(r.forward.ok, r.forward.detail).toBe(true);
      expect(r.backward.ok, r.backward.detail).toBe(true);
      expect(r.outputShape).toEqual([2, 3, 8, 8]);
    }
  });

  it("flags a wrong backward (dx not divided by k²) by the finite-difference check", () => {
    const r = checkMethod(FAKE_WRONG);
    expect(r.forward.ok).toBe(true);
    expect(r.backward.ok).toBe(false);
    expect(r.backward.detail).toMatch(/^x: ⟨grad, v⟩ .* vs finite difference .*rel\. err/);
  });

  it("flags an outputShape that disagrees with the op", () => {
    const r = checkMethod({ ...FAKE_AVG, outputShape: () => [2, 3, 4, 4] });
    expect(r.forward.ok).toBe(false);
    expect(r.forward.detail).toBe("shape [2, 3, 8, 8] but outputShape says [2, 3, 4, 4]");
  });

  it("prints a throwing method's error, carries on, and exits 1", async () => {
    const c = capture();
    const code = await main(["demo"], c.io, fakeRegistry([FAKE_THROWS, FAKE_AVG, FAKE_WRONG]));
    const text = c.out.join("\n");
    expect(code).toBe(1);
    expect(text).toContain("✗ FakeThrows");
    expect(text).toContain("forward ✗  fakeThrows2d: always fails, got nothing");
    expect(text).toContain("✓ FakeAvg  fakeAvg2d(x: [2, 3, 16, 16], {kernelSize: 2})");
    expect(text).toContain("✗ FakeWrong");
    expect(text).toContain("1 of 3 methods passed, 2 failed");
  });

  it("checks the other spatial ranks too and reports them in one line", async () => {
    const c = capture();
    const twoRanks = { ...FAKE_AVG, name: "TwoRanks", dims: [2, 3] as const, ops: { 2: FAKE_AVG.ops[2], 3: FAKE_WRONG.ops[2] } };
    expect(await main(["demo"], c.io, fakeRegistry([twoRanks]))).toBe(1);
    const text = c.out.join("\n");
    expect(text).toContain("✗ TwoRanks");
    expect(text).toContain("    also 3-d ✗");
    expect(text).toMatch(/ {6}3-d backward: x: ⟨grad, v⟩ .* vs finite difference/);
  });

  it("runMethod and vjpMethod agree and give one gradient per tensor input", () => {
    const x = sampleTensor([1, 3, 4, 4], "float64", 3);
    const fwd = runMethod(FAKE_GAIN, x, { kernelSize: 2 }, 7, 2);
    const v = vjpMethod(FAKE_GAIN, x, { kernelSize: 2 }, 7, 2);
    expect(Array.from(v.output.data)).toEqual(Array.from(fwd.output.data));
    const grads = v.backward(full(v.output.shape, 1, "float64"));
    expect(grads.map((g) => g?.shape)).toEqual([[1, 3, 4, 4], [3]]);
    // d(Σy)/dx = gain[c] / 4 everywhere in channel c; the gain comes from Generator(7) via exampleInputs.
    const gain = exampleInputs(FAKE_GAIN, x, new Generator(7), { kernelSize: 2 })[0] as Tensor;
    expect(grads[0]?.data[16]).toBeCloseTo((gain.data[1] as number) / 4, 12);
  });

  it("an empty registry is not a failure", () => {
    const lines: string[] = [];
    expect(runDemo([], (l) => lines.push(l))).toBe(true);
    expect(lines.at(-1)).toBe("no methods are registered yet");
  });
});

/** FakeGain with dgain doubled: x's gradient is right, the extra input's is wrong. */
const fakeGainWrongGrad = defineOp("fakeGainWrong2d", (x: Tensor, gain: Tensor, opts?: { kernelSize?: number }) => {
  const r = FAKE_GAIN.ops[2]!.vjp(x, gain, opts);
  return {
    output: r.output as Tensor,
    backward: (dy: Tensor) => {
      const [dx, dg] = r.backward(dy) as [Tensor, Tensor];
      return [dx, tensor(Array.from(dg.data, (v) => 2 * v), dg.shape, dg.dtype)];
    },
  };
});

/**
 * y = round(s)·blockMean(x) with a declared-or-not straight-through gradient dy·mean for s (`[1]`,
 * example value 2); with `smooth`, y = s·blockMean(x) (the output then moves with s).
 */
function scaledBy(name: string, smooth: boolean, declared: boolean): PoolMethod {
  const op = defineOp(`${name}2d`, (x: Tensor, s: Tensor, opts?: { kernelSize?: number }) => {
    const r = FAKE_AVG.ops[2]!.vjp(x, opts);
    const mean = r.output as Tensor;
    const sv = s.data[0] as number;
    const k = smooth ? sv : Math.round(sv);
    return {
      output: tensor(Array.from(mean.data, (v) => k * v), mean.shape, mean.dtype),
      backward: (dy: Tensor) => {
        const [dx] = r.backward(tensor(Array.from(dy.data, (v) => k * v), dy.shape, dy.dtype)) as [Tensor];
        let ds = 0;
        for (let i = 0; i < dy.size; i++) ds += (dy.data[i] as number) * (mean.data[i] as number);
        return [dx, tensor([ds], [1], s.dtype)];
      },
    };
  });
  return {
    ...FAKE_AVG,
    name,
    export: op.opName,
    exports: { 2: op.opName },
    ops: { 2: op },
    inputs: [
      {
        name: "s",
        role: "learnable",
        shape: () => [1],
        init: () => Float64Array.of(2),
        doc: "scale",
        ...(declared ? { gradient: "straight-through" as const } : {}),
      },
    ],
    learnable: ["s"],
  };
}

describe("the demo never prints ✓ beside a gradient that differs", () => {
  it("a wrong gradient on an extra input fails (it was reported as 'differs' under a ✓)", async () => {
    const wrong = { ...FAKE_GAIN, name: "FakeGainWrong", export: "fakeGainWrong2d", exports: { 2: "fakeGainWrong2d" }, ops: { 2: fakeGainWrongGrad } };
    const r = checkMethod(wrong);
    expect(r.backward.ok).toBe(false);
    expect(r.backward.detail).toMatch(/^gain at its example value \+ jitter: ⟨grad, v⟩ .* vs finite difference .*rel\. err/);
    const c = capture();
    expect(await main(["demo"], c.io, fakeRegistry([wrong]))).toBe(1);
    expect(c.out.join("\n")).toContain("✗ FakeGainWrong");
  });

  it("a declared straight-through input is named and not checked; the output must indeed not move with it", () => {
    const st = checkMethod(scaledBy("FakeRound", false, true));
    expect(st.backward.ok, st.backward.detail).toBe(true);
    expect(st.backward.detail).toContain("s: straight-through gradient (a designed surrogate; the output is piecewise constant in s, unchanged at ±1e-6), not checkable by finite differences");
    // The same surrogate undeclared is a failure: finite differences see 0, the gradient is not 0.
    const undeclared = checkMethod(scaledBy("FakeRoundUndeclared", false, false));
    expect(undeclared.backward.ok).toBe(false);
    expect(undeclared.backward.detail).toMatch(/^s at its example value \+ jitter: ⟨grad, v⟩ .* vs finite difference 0\.0+ /);
    // Declared but the output moves with it: the declaration is false.
    const moving = checkMethod(scaledBy("FakeSmoothDeclared", true, true));
    expect(moving.backward.ok).toBe(false);
    expect(moving.backward.detail).toMatch(/^s: declared straight-through, but the output moves with it/);
  });

  it("DynOPool: δ is checked off the kink and agrees; r is named straight-through; no 'differs' anywhere", async () => {
    const dyn = listPools().find((m) => m.name === "DynOPool");
    expect(dyn?.inputs.map((i) => [i.name, i.gradient])).toEqual([
      ["r", "straight-through"],
      ["delta", undefined],
    ]);
    const r = checkMethod(dyn as PoolMethod);
    expect(r.backward.ok, r.backward.detail).toBe(true);
    expect(r.backward.detail).toMatch(/finite differences agree \(rel\. err: x \de-\d+, delta \de-\d+\)/);
    expect(r.backward.detail).toContain("r: straight-through gradient");
    const c = capture();
    await main(["demo"], c.io);
    for (const line of c.out) {
      if (line.includes("✓")) expect(line).not.toMatch(/\bdiffers\b/);
    }
  });

  it("at the example value δ = 0.25 (queries on pixel centres) the finite difference is not valid: why the check moves off it", () => {
    // dynamicPool2d's queries sit at (i + ½)·2 ± 0.25·2 − ½, integers, where bilinear weights kink;
    // the op returns the one-sided derivative, so a central difference at exactly δ = 0.25 differs.
    const dyn = listPools().find((m) => m.name === "DynOPool") as PoolMethod;
    const op = dyn.ops[2]!;
    const x = sampleTensor([1, 1, 8, 8], "float64", 5);
    const r = tensor([2, 2], [2], "float64");
    const at = (d: number) => op(x, r, tensor([d, d], [2], "float64")) as Tensor;
    const { backward } = op.vjp(x, r, tensor([0.25, 0.25], [2], "float64"));
    const dy = full([1, 1, 4, 4], 1, "float64");
    const dDelta = backward(dy)[2] as Tensor;
    const sum = (t: Tensor) => Array.from(t.data).reduce((a, b) => a + b, 0);
    const eps = 1e-6;
    const fd = (sum(at(0.25 + eps)) - sum(at(0.25 - eps))) / (2 * eps);
    const analytic = (dDelta.data[0] as number) + (dDelta.data[1] as number);
    expect(Math.abs(fd - analytic)).toBeGreaterThan(1e-3);
  });
});
