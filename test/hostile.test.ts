/**
 * A battery of hostile inputs against every registry method: absurd sizes (huge kernel, stride,
 * padding, dilation, output sizes, levels), NaN, ±Infinity, −0, fractions, 2^31, 2^53 + 1, strings,
 * booleans, nested junk — for every option the op knows (read from its own "unknown option" message).
 * Every call must either return a result whose shape agrees with `outputShape`, or throw a
 * PoolkitTypeError / PoolkitRangeError whose message starts with the op name — never V8's bare
 * RangeError / TypeError, never a crash inside a kernel, never a hang. Huge sizes are chosen so that a
 * mistaken allocation exceeds 2^31 elements and fails at once instead of eating memory (the inputs
 * have N·C = 6 planes, so even a 1-d output size of 1e9 is past the limit).
 */
import { describe, expect, it } from "vitest";
import { PoolkitRangeError, PoolkitTypeError } from "../src/errors.js";
import { exampleInputs, getPool, listPools, type PoolMethod } from "../src/registry.js";
import { Generator, rand, randn } from "../src/tensor/random.js";
import { Tensor, full, tensor, zeros } from "../src/tensor/tensor.js";

type AnyFn = ((...args: unknown[]) => unknown) & { vjp: (...args: unknown[]) => { output: unknown; backward: (dy: Tensor) => (Tensor | null)[] }; opName: string };

function primary(out: unknown): Tensor | undefined {
  if (out instanceof Tensor) return out;
  const o = (out as { output?: unknown } | null)?.output;
  return o instanceof Tensor ? o : undefined;
}

function thrown(call: () => unknown): { value?: unknown; error?: unknown } {
  try {
    return { value: call() };
  } catch (error) {
    return { error };
  }
}

/** The error is poolkit's own, and names the op first. */
function expectOpError(error: unknown, op: string, what: string): void {
  const ok = error instanceof PoolkitTypeError || error instanceof PoolkitRangeError;
  expect(ok, `${what}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`).toBe(true);
  expect((error as Error).message.startsWith(`${op}: `), `${what}: ${(error as Error).message}`).toBe(true);
}

/** The options an op knows, as its "unknown option" error lists them. */
function knownOptions(f: AnyFn, args: unknown[], defaults: Record<string, unknown>): string[] {
  const { error } = thrown(() => f(...args, { ...defaults, __probe__: 1 }));
  const m = /known options: (.*)$/.exec((error as Error | undefined)?.message ?? "");
  return m ? m[1]!.split(", ") : [];
}

const HOSTILE: unknown[] = [
  0, -0, -1, 0.5, 1.5, 3, 1e5, 65537, 1e6, 1e9, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 53 + 1, 1e300,
  NaN, Infinity, -Infinity, "2", "", true, false, null, [], [1e9, 1e9], [2 ** 31, 1], [NaN, 1], [1, 2, 3, 4],
  [-1, 2], [0.5, 0.5], { a: 1 }, [1e6], [1, 1e9, 1],
];

/** N·C = 6 planes: a 1-d output of 1e9 per plane already exceeds the 2^31 − 1 limit. */
function shapeFor(rank: 1 | 2 | 3): number[] {
  return [2, 3, ...[6, 5, 4].slice(0, rank)];
}

interface Case { m: PoolMethod; rank: 1 | 2 | 3 }
const CASES: Case[] = listPools().flatMap((m) => m.dims.map((rank) => ({ m, rank })));

describe.each(CASES)("hostile options: $m.name $rank d", ({ m, rank }) => {
  const f = m.ops[rank] as unknown as AnyFn;
  const x = rand(shapeFor(rank), { seed: 3, dtype: "float64" });
  const defaults: Record<string, unknown> = { ...m.defaults, ...(m.random ? { seed: 5 } : {}) };
  const extras = exampleInputs(m, x, new Generator(9), defaults);
  const keys = knownOptions(f, [x, ...extras], defaults);

  it("knows its options (the probe works)", () => {
    const { error } = thrown(() => f(x, ...extras, { ...defaults, __probe__: 1 }));
    expectOpError(error, f.opName, `${m.name} probe`);
  });

  it("every known option at every hostile value: a consistent result or an op error", () => {
    for (const key of keys) {
      for (const v of HOSTILE) {
        const opts = { ...defaults, [key]: v };
        const what = `${m.name} ${rank}d ${key}=${JSON.stringify(v)}`;
        const fwd = thrown(() => f.vjp(x, ...extras, opts));
        const shape = thrown(() => m.outputShape(x.shape, opts, rank));
        if (shape.error !== undefined) expectOpError(shape.error, f.opName, `${what} (outputShape)`);
        if (fwd.error !== undefined) {
          expectOpError(fwd.error, f.opName, what);
          continue;
        }
        const r = fwd.value as { output: unknown; backward: (dy: Tensor) => (Tensor | null)[] };
        const y = primary(r.output);
        expect(y, what).toBeInstanceOf(Tensor);
        for (const d of y!.shape) expect(Number.isSafeInteger(d) && d >= 0, `${what}: shape ${String(y!.shape)}`).toBe(true);
        if (shape.error === undefined) expect([...y!.shape], `${what}: outputShape`).toEqual(shape.value);
        const g = thrown(() => r.backward(full(y!.shape as number[], 1, "float64")));
        if (g.error !== undefined) expectOpError(g.error, f.opName, `${what} (backward)`);
        else for (const [i, t] of (g.value as (Tensor | null)[]).entries()) if (t) expect([...t.shape], `${what} grad ${i}`).toEqual([...[x, ...extras][i]!.shape]);
      }
    }
  });

  it("hostile positional arguments: junk in every tensor slot and as options", () => {
    const junk: unknown[] = [undefined, null, 3, "x", [1, 2], {}, new Map(), tensor([1], [1], "float64"), tensor([NaN, Infinity], [2], "float64"), zeros([0], "float64")];
    const args = [x, ...extras];
    for (let i = 0; i < args.length; i++) {
      for (const j of junk) {
        if (i > 0 && (j === undefined || j === null)) continue; // optional inputs (b, delta, filter) may be omitted
        const a: unknown[] = args.slice();
        a[i] = j;
        const { error } = thrown(() => f(...a, defaults));
        if (error !== undefined) expectOpError(error, f.opName, `${m.name} arg ${i} = ${String(j)}`);
      }
    }
    for (const j of [3, "x", true, [1], () => 1, Symbol("s")]) {
      const { error } = thrown(() => f(...args, j));
      expectOpError(error, f.opName, `${m.name} options = ${String(j)}`);
    }
  });

  it("inputs with extreme shapes: empty batch, 1×1, a huge dim of a zero-size tensor", () => {
    for (const s of [[0, 3, ...shapeFor(rank).slice(2)], [1, 1, ...new Array<number>(rank).fill(1)], [1, 3, ...new Array<number>(rank).fill(1)]]) {
      const xs = rand(s, { seed: 1, dtype: "float64" });
      const { error } = thrown(() => {
        const e = exampleInputs(m, xs, new Generator(2), defaults);
        return f(xs, ...e, defaults);
      });
      if (error !== undefined) expectOpError(error, f.opName, `${m.name} x shape ${JSON.stringify(s)}`);
    }
  });
});

describe("hostile tensor creation", () => {
  it("tensor / zeros / full / rand / randn with absurd shapes and values throw their own errors", () => {
    const calls: [string, () => unknown][] = [
      ["zeros", () => zeros([NaN])],
      ["zeros", () => zeros([-0, 2]) && zeros([2 ** 53 + 1])],
      ["zeros", () => zeros("3" as never)],
      ["zeros", () => zeros([2], "float16" as never)],
      ["full", () => full([2], "a" as never)],
      ["full", () => full([1e10], 1)],
      ["rand", () => rand([Infinity])],
      ["rand", () => rand([2], { seed: NaN })],
      ["rand", () => rand([2], new Map() as never)],
      ["randn", () => randn([1e6, 1e6], { dtype: "float64" })],
      ["tensor", () => tensor([1, 2], [1e10])],
      ["tensor", () => tensor([1, 2], [2], "int64" as never)],
      ["tensor", () => tensor([[1], [2, 3]])],
      ["tensor", () => tensor(null as never)],
      ["tensor", () => tensor([1.5], [1], "int32")],
      ["tensor", () => { const a: unknown[] = [1]; a[0] = a; return tensor(a as never); }], // contains itself: looped forever
      ["tensor", () => tensor(JSON.parse("[".repeat(5000) + "]".repeat(5000)) as never)], // 5000 deep
      ["zeros", () => zeros(new Array<number>(100000).fill(1))],
    ];
    for (const [op, call] of calls) {
      const { error } = thrown(call);
      expectOpError(error, op, `${op}: ${call.toString()}`);
    }
  });

  it("getPool with junk names throws its own error", () => {
    for (const n of [undefined, null, 3, {}, "", "__proto__", "constructor", "toString"]) {
      const { error } = thrown(() => getPool(n as string));
      expectOpError(error, "getPool", `getPool(${String(n)})`);
    }
  });
});
