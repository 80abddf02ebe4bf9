/**
 * Small helpers shared by the registry descriptor files (src/methods/*.ts): the `export` / `exports`
 * / `ops` / `dims` fields derived from the ops themselves (`opsByRank`), a per-rank `outputShape`
 * that uses each op's own `outputShape` (`rankOps`, `shapeByRank`), the channel count of an input
 * shape, and the seeded normal / uniform fills used by the `init` of extra inputs.
 */
import { PoolkitRangeError } from "../errors.js";
import type { AnyOp, PoolMethod } from "../registry.js";
import type { Generator } from "../tensor/random.js";
import { shapeSize } from "../tensor/tensor.js";

type Rank = 1 | 2 | 3;
type ShapeFn<O> = (shape: readonly number[], opts: O) => number[];

/**
 * A descriptor's `outputShape` dispatching on `dims` (default 2) to one op's `outputShape` per rank.
 * An unsupported rank throws `<method>: dims must be one of 1, 2, 3, got 4` (`dims must be 2, got 3`
 * when there is a single rank).
 */
export function shapeByRank<O>(method: string, fns: Partial<Record<Rank, ShapeFn<O>>>): PoolMethod["outputShape"] {
  const ranks = Object.keys(fns);
  const allowed = ranks.length === 1 ? (ranks[0] as string) : `one of ${ranks.join(", ")}`;
  return (xShape, options, dims = 2) => {
    const fn = fns[dims];
    if (!fn) throw new PoolkitRangeError(method, `dims must be ${allowed}, got ${String(dims)}`);
    return fn(xShape, options as O);
  };
}

/** An op with the `outputShape` that `defineOp` attaches (any options type). */
type ShapedOp = AnyOp & { readonly outputShape: ShapeFn<never> };

/**
 * The `export`, `exports`, `ops` and `dims` fields of a method from its ops keyed by spatial rank
 * (`{ 1: maxPool1d, 2: maxPool2d, 3: maxPool3d }`, or `{ 2: roiPool }`): export names are the ops'
 * names and the primary export is the 2-d op (else the lowest rank).
 */
export function opsByRank(ops: Partial<Record<Rank, AnyOp>>): Pick<PoolMethod, "export" | "exports" | "ops" | "dims"> {
  const dims = ([1, 2, 3] as const).filter((r) => ops[r] !== undefined);
  const exports: Partial<Record<Rank, string>> = {};
  for (const r of dims) exports[r] = (ops[r] as AnyOp).opName;
  return { export: exports[2] ?? (exports[dims[0] as Rank] as string), exports, ops, dims };
}

/** {@link opsByRank} plus an `outputShape` that dispatches on `dims` to each op's own `outputShape`. */
export function rankOps(method: string, ops: Partial<Record<Rank, ShapedOp>>): Pick<PoolMethod, "export" | "exports" | "ops" | "dims" | "outputShape"> {
  const shapes: Partial<Record<Rank, ShapeFn<never>>> = {};
  for (const [r, op] of Object.entries(ops)) shapes[Number(r) as Rank] = op.outputShape;
  return { ...opsByRank(ops), outputShape: shapeByRank(method, shapes) };
}

/** The channel count of `[N, C, ...spatial]` / `[C, ...spatial]` for a `rank`-d op. */
export function channelsOf(xShape: readonly number[], rank: number): number {
  return (xShape.length === rank + 2 ? xShape[1] : xShape[0]) as number;
}

/**
 * An option's own value (undefined when absent, inherited, or when `options` is not an object):
 * descriptor helpers read options like the ops do, never through a polluted `Object.prototype`.
 */
export function ownOption(options: unknown, key: string): unknown {
  return options !== null && typeof options === "object" && Object.prototype.hasOwnProperty.call(options, key)
    ? (options as Record<string, unknown>)[key]
    : undefined;
}

/** `std · N(0, 1)` draws for every element of `shape`. */
export function normalInit(shape: readonly number[], gen: Generator, std = 1): Float64Array {
  const n = shapeSize(shape);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = std * gen.normal();
  return out;
}

/** U(−bound, bound) draws for every element of `shape`. */
export function uniformInit(shape: readonly number[], gen: Generator, bound: number): Float64Array {
  const n = shapeSize(shape);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * gen.uniform() - 1) * bound;
  return out;
}
