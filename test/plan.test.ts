/**
 * One plan per op: every registered op built with a plan exposes `plan`, `planFor` and an
 * `outputShape` derived from it. The plan is the message a worker will receive, so it must be a
 * plain serialisable object (numbers, strings, booleans, null, arrays, typed arrays, plain objects)
 * that survives `structuredClone` unchanged, and its `outShape` must be the forward pass's shape.
 */
import { describe, expect, it } from "vitest";
import { exampleInputs, listPools, type AnyOp, type PoolMethod } from "../src/registry.js";
import { Generator, rand } from "../src/tensor/random.js";
import type { Tensor } from "../src/tensor/tensor.js";

type Planned = AnyOp & { planFor?: (...a: unknown[]) => { outShape: readonly number[] } };

/** Why `v` is not plain data, or null when it is. */
function notPlain(v: unknown, path: string): string | null {
  if (v === null || v === undefined || typeof v === "number" || typeof v === "string" || typeof v === "boolean") return null;
  if (ArrayBuffer.isView(v)) return null;
  if (typeof v !== "object") return `${path} is a ${typeof v}`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const bad = notPlain(v[i], `${path}[${i}]`);
      if (bad) return bad;
    }
    return null;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return `${path} is an instance of ${(proto as { constructor?: { name?: string } }).constructor?.name ?? "a class"}`;
  for (const [k, x] of Object.entries(v)) {
    const bad = notPlain(x, `${path}.${k}`);
    if (bad) return bad;
  }
  return null;
}

function argsFor(m: PoolMethod, rank: 1 | 2 | 3): { args: unknown[]; x: Tensor; options: Record<string, unknown> } {
  const x = rand(rank === 1 ? [2, 3, 16] : rank === 2 ? [2, 3, 16, 16] : [2, 3, 8, 8, 8], { seed: 1 });
  const options = { ...m.defaults, ...(m.random ? { seed: 1 } : {}) };
  return { args: [x, ...exampleInputs(m, x, new Generator(2), options), options], x, options };
}

const planned = listPools().flatMap((m) => m.dims.map((rank) => ({ m, rank, op: m.ops[rank] as Planned })));

describe("one plan per op", () => {
  it.each(planned.map((c) => [`${c.op.opName}`, c] as const))(
    "%s: the plan is plain data, survives structuredClone, and its outShape is outputShape's and the forward's",
    (_name, { m, rank, op }) => {
      const { args, x, options } = argsFor(m, rank);
      const plan = (op.planFor as NonNullable<Planned["planFor"]>)(...args);
      expect(notPlain(plan, "plan")).toBeNull();
      const copy = structuredClone(plan);
      expect(copy).toEqual(plan);
      expect([...copy.outShape]).toEqual(m.outputShape(x.shape, options, rank));
      const out = op(...args) as Tensor | { output: Tensor };
      expect([...("shape" in out ? out.shape : out.output.shape)]).toEqual([...plan.outShape]);
    },
  );

  it("every registered op has a plan (no op parses its options twice)", () => {
    const without = [...new Set(planned.filter((c) => typeof c.op.planFor !== "function").map((c) => c.op.opName))];
    expect(without).toEqual([]);
  });
});
