import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/commands.js";
import { checkMethod, runDemo } from "../../src/cli/demo.js";
import { exampleInputs, listPools } from "../../src/registry.js";
import { runMethod, sampleTensor, vjpMethod } from "../../src/cli/invoke.js";
import { full, type Tensor } from "../../src/tensor/tensor.js";
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
