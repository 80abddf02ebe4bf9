/**
 * The method registry: one descriptor per pooling method. The CLI, the playground, the benchmarks
 * and the tfjs layers enumerate methods through `listPools()`; `getPool(name)` accepts forgiving
 * names ("soft", "soft-pool", "SoftPool", "softPool2d").
 */
import { PoolkitRangeError, PoolkitTypeError, show } from "./errors.js";
import type { Generator } from "./tensor/random.js";
import { tensor, type Tensor } from "./tensor/tensor.js";
import type { VJP } from "./op.js";
import { PYTORCH_METHODS } from "./methods/pytorch.js";
import { NOVEL_METHODS } from "./methods/novel.js";
import { DOWNSTREAM_METHODS } from "./methods/downstream.js";
import { ADAPTIVE_METHODS } from "./methods/adaptive.js";
import { WEIGHTED_METHODS } from "./methods/weighted.js";
import { BILINEAR_METHODS } from "./methods/bilinear.js";

export type Category =
  | "sliding" // max / avg / LP windows (PyTorch)
  | "adaptive" // adaptive and global pooling
  | "stochastic" // random windows or draws
  | "learned" // learnable parameters or logits
  | "weighted" // deterministic weighted windows (SoftPool, ...)
  | "second-order" // covariance, bilinear, Grassmann
  | "region"; // spatial pyramid, RoI

/** Any op: a function of tensors and one options object, with `vjp`. */
export interface AnyOp {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (...args: any[]): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  vjp(...args: any[]): VJP<unknown>;
  readonly opName: string;
}

/** A tensor input after the feature map `x` (alpha, logits, boxes, projections, ...). */
export interface InputSpec {
  readonly name: string;
  /** `learnable`: a trainable parameter; `data`: input data with a gradient (e.g. logits, a second stream); `constant`: no gradient (boxes, indices, samples). */
  readonly role: "learnable" | "data" | "constant";
  /** Its shape, given the feature map's shape `[N, C, ...]` and the options. */
  shape(xShape: readonly number[], options: Record<string, unknown>): number[];
  /** Default initial values (learnable) or example values (data / constant), from a seeded generator. */
  init(shape: readonly number[], gen: Generator, xShape: readonly number[], options: Record<string, unknown>): Float64Array;
  readonly doc: string;
  /** `int32` for index inputs; otherwise the feature map's dtype. */
  readonly dtype?: "int32";
  /**
   * `straight-through`: the gradient is a designed surrogate, not the derivative of the forward
   * pass (e.g. DynOPool's r, which the forward rounds to an output size), so no finite difference
   * can check it. Absent: the gradient is the exact derivative (for `learnable` and `data` inputs).
   */
  readonly gradient?: "straight-through";
}

export interface PoolMethod {
  /** Display name, e.g. "SoftPool". */
  readonly name: string;
  /** Extra names getPool accepts (normalised: lowercase, no separators). */
  readonly aliases: readonly string[];
  /** The export name of the primary op (2-d where there is one), e.g. "softPool2d". */
  readonly export: string;
  /** Export names per spatial rank, e.g. { 1: "softPool1d", 2: "softPool2d", 3: "softPool3d" }. */
  readonly exports: Readonly<Partial<Record<1 | 2 | 3, string>>>;
  /** The ops themselves, keyed like `exports`. */
  readonly ops: Readonly<Partial<Record<1 | 2 | 3, AnyOp>>>;
  readonly category: Category;
  /** Spatial ranks supported. */
  readonly dims: readonly (1 | 2 | 3)[];
  /** Draws random numbers in training. */
  readonly random: boolean;
  /** Behaves differently with `training: false`. */
  readonly trainEval: boolean;
  /** Tensor inputs after `x`, in positional order. */
  readonly inputs: readonly InputSpec[];
  /** Names of the learnable inputs (a subset of `inputs`). */
  readonly learnable: readonly string[];
  /** Citation, e.g. "Stergiou, Poppe & Kalliatakis, Refining Activation Downsampling with SoftPool, ICCV 2021". */
  readonly paper: string;
  /** One sentence on what it does. */
  readonly summary: string;
  /** Options that make a sensible example (demo, CLI, playground, benchmarks). */
  readonly defaults: Readonly<Record<string, unknown>>;
  /** Shape of the op's primary output for an input shape and options (from the shared geometry). */
  outputShape(xShape: readonly number[], options: Record<string, unknown>, dims?: 1 | 2 | 3): number[];
}

/** Build the full argument list `(x, ...inputs, options)` for a method with example extra inputs. */
export function exampleInputs(method: PoolMethod, x: Tensor, gen: Generator, options: Record<string, unknown>): Tensor[] {
  return method.inputs.map((spec) => {
    const shape = spec.shape(x.shape, options);
    const values = spec.init(shape, gen, x.shape, options);
    return tensor(values, shape, spec.dtype === "int32" ? "int32" : x.dtype);
  });
}

// Frozen: listPools() hands this very array out, and getPool, the CLI and the tfjs layers all read it,
// so a caller's in-place sort/push/splice must not reorder or empty the registry for everyone.
const METHODS: readonly PoolMethod[] = Object.freeze([
  ...PYTORCH_METHODS,
  ...ADAPTIVE_METHODS,
  ...NOVEL_METHODS,
  ...WEIGHTED_METHODS,
  ...DOWNSTREAM_METHODS,
  ...BILINEAR_METHODS,
]);

/** Lowercase, drop separators; `pooling`/`pool` suffixes and a trailing `1d/2d/3d` are optional. */
export function normalizeName(name: string): string[] {
  const base = name.toLowerCase().replace(/[^a-z0-9]/g, "");
  const forms = new Set<string>([base]);
  const noDims = base.replace(/[123]d$/, "");
  forms.add(noDims);
  for (const f of [base, noDims]) {
    for (const suffix of ["pooling", "pool"]) {
      if (f.endsWith(suffix) && f.length > suffix.length) forms.add(f.slice(0, -suffix.length));
    }
  }
  return [...forms];
}

function keysOf(m: PoolMethod): Set<string> {
  const keys = new Set<string>();
  for (const n of [m.name, m.export, ...Object.values(m.exports), ...m.aliases]) {
    if (n) for (const f of normalizeName(n)) keys.add(f);
  }
  return keys;
}

/** Every method, in a stable order (PyTorch family, the novel methods, downstream). */
export function listPools(): readonly PoolMethod[] {
  return METHODS;
}

/** Look a method up by a forgiving name; an unknown name throws listing the known ones. */
export function getPool(name: string): PoolMethod {
  if (typeof name !== "string") throw new PoolkitTypeError("getPool", `name must be a string, got ${show(name)}`);
  const wanted = normalizeName(name);
  // Exact export or display name first, then any normalised form.
  for (const m of METHODS) if (keysOf(m).has(wanted[0] as string)) return m;
  for (const m of METHODS) {
    const keys = keysOf(m);
    if (wanted.some((w) => keys.has(w))) return m;
  }
  throw new PoolkitRangeError("getPool", `unknown pooling method ${JSON.stringify(name)}; known: ${METHODS.map((m) => m.name).join(", ")}`);
}
