import { describe, expect, it } from "vitest";
import { listPools } from "../../src/registry.js";
import { ops, opsWithIndices, layers, TF_OP_NAMES, TF_OP_WITH_INDICES_NAMES, TF_LAYER_NAMES } from "../../src/tfjs/index.js";

// The typed name lists must match what the registry actually produces, so that adding a method
// without naming it (or naming one that does not exist) fails here rather than in a user's types.
describe("poolkit/tfjs name lists", () => {
  it("ops has exactly the registry's exports", () => {
    const fromRegistry = [...new Set(listPools().flatMap((m) => Object.values(m.exports)))];
    expect([...TF_OP_NAMES].sort()).toEqual([...fromRegistry].sort());
    expect(Object.keys(ops).sort()).toEqual([...TF_OP_NAMES].sort());
  });
  it("opsWithIndices and layers have exactly the listed names", () => {
    expect(Object.keys(opsWithIndices).sort()).toEqual([...TF_OP_WITH_INDICES_NAMES].sort());
    expect(Object.keys(layers).sort()).toEqual([...TF_LAYER_NAMES].sort());
  });
});
