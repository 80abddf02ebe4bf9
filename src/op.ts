/**
 * How every op is put together: one `plan(shapes, options)` that parses and validates everything
 * once, a forward pass given that plan, and `op.vjp`, which runs the forward pass and returns
 * `{ output, backward }`. The backward closure holds the forward's plan and random draws, so it can
 * never disagree with the pass it came from; `outputShape` is `plan(...).outShape`, so it can never
 * disagree with the forward pass either.
 */
import { expectFloatTensor } from "./check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "./errors.js";
import { isFloatDType } from "./tensor/dtype.js";
import { checkAlloc, runAs } from "./tensor/limits.js";
import { Tensor, sameShape, tidy } from "./tensor/tensor.js";

/** One gradient per tensor input, in positional order; `null` for inputs without a gradient. */
export type Grads = (Tensor | null)[];

export interface VJP<O> {
  readonly output: O;
  /** Vector-Jacobian product for dy = dL/d(output); may be called more than once; mutates nothing. */
  backward(dy: Tensor): Grads;
}

export type Op<A extends unknown[], O> = ((...args: A) => O) & {
  vjp(...args: A): VJP<O>;
  readonly opName: string;
};

/**
 * What an op's `plan` returns: everything its forward pass, backward pass and `outputShape` need,
 * parsed and validated once. A plain serialisable object — numbers, strings, booleans, arrays, typed
 * arrays and plain objects of those, no functions or class instances — because it is also the
 * message a worker thread receives (test/plan.test.ts checks each op's plan survives
 * `structuredClone`).
 */
export interface OpPlan {
  /** Shape of the op's primary output (`output` of an `{ output, indices }` result). */
  readonly outShape: readonly number[];
}

/** An op defined with a plan: {@link defineOp}'s three parts. */
export interface OpSpec<A extends unknown[], O, S extends unknown[], P extends OpPlan> {
  /**
   * The plan's arguments from the op's own: tensors are checked here (in positional order, so the
   * first bad argument is the one named) and replaced by their shapes (or, where the geometry depends
   * on values, e.g. DynOPool's r, by those numbers).
   */
  planArgs(...args: A): S;
  /** Parse and validate shapes and options once; the result is serialisable ({@link OpPlan}). */
  plan(...shapes: S): P;
  /** The forward pass for `plan` (computed from `args` by planArgs + plan); returns output and backward. */
  forward(plan: P, ...args: A): VJP<O>;
  /**
   * Optional forward pass without a backward: what a plain call `op(...args)` runs (never `op.vjp`),
   * for ops that can skip work only the backward needs (max pooling's indices). Must return exactly
   * the output `forward` returns (max-type values bit-identical); without it the plain call runs
   * `forward` and drops the backward.
   */
  infer?(plan: P, ...args: A): O;
}

/** The properties defineOp attaches to an op that has a plan. */
export interface Planned<A extends unknown[], S extends unknown[], P extends OpPlan> {
  /** The op's plan for shapes and options (what forward, backward and `outputShape` share). */
  plan(...shapes: S): P;
  /** The plan the forward pass uses for these arguments: `plan(...planArgs(...args))`. */
  planFor(...args: A): P;
  /** Shape of the primary output for shapes and options: `plan(...).outShape`, checked against the size limit. */
  outputShape(...shapes: S): number[];
}

/** The tensor that `dy` must match: the output itself, or `output.output` for `{ output, indices }` results. */
function primary(out: unknown): Tensor | undefined {
  if (out instanceof Tensor) return out;
  if (out !== null && typeof out === "object" && (out as { output?: unknown }).output instanceof Tensor) {
    return (out as { output: Tensor }).output;
  }
  return undefined;
}

/**
 * Build an op. Ops of the library pass an {@link OpSpec}: the forward pass receives the one plan
 * (`plan(...planArgs(...args))`) and `outputShape` is derived from the same `plan`, so no op can
 * parse its options twice or compute its output size by a second formula. A bare vjp implementation
 * (no plan, no `outputShape`) is accepted for ops outside the registry (test fakes).
 *
 * `backward(dy)` is checked here once for all ops: dy must be a float Tensor of the output's shape; a
 * dy of the other float dtype is converted to the output's. Forward, backward, `plan` and
 * `outputShape` run as the op ({@link runAs}), so an allocation past the size limit names it, and the
 * shape `outputShape` returns is checked against the same limit (src/tensor/limits.ts): a shape the
 * forward pass could not allocate is an error there too, not a number to trust.
 */
export function defineOp<A extends unknown[], O, S extends unknown[], P extends OpPlan, E extends object = object>(
  name: string,
  spec: OpSpec<A, O, S, P>,
  extras?: E & { readonly outputShape?: never; readonly plan?: never },
): Op<A, O> & Planned<A, S, P> & E;
export function defineOp<A extends unknown[], O>(name: string, impl: (...args: A) => VJP<O>): Op<A, O>;
export function defineOp<A extends unknown[], O, S extends unknown[], P extends OpPlan>(
  name: string,
  spec: OpSpec<A, O, S, P> | ((...args: A) => VJP<O>),
  extras?: object,
): Op<A, O> {
  const impl: (...args: A) => VJP<O> = typeof spec === "function" ? spec : (...args: A) => spec.forward(spec.plan(...spec.planArgs(...args)), ...args);
  const vjp = (...args: A): VJP<O> => {
    const res = runAs(name, () => impl(...args));
    const ref = primary(res.output);
    return {
      output: res.output,
      backward: (dy: Tensor): Grads => runAs(name, () => checkedBackward(dy)),
    };
    function checkedBackward(dy: Tensor): Grads {
      if (!(dy instanceof Tensor)) throw new PoolkitTypeError(name, `backward: dy must be a Tensor, got ${show(dy)}`);
      if (!isFloatDType(dy.dtype)) throw new PoolkitTypeError(name, `backward: dy must be float32 or float64, got ${dy.dtype}`);
      if (ref) {
        if (!sameShape(dy.shape, ref.shape)) {
          throw new PoolkitRangeError(name, `backward: dy must have the output's shape ${show(ref.shape)}, got ${show(dy.shape)}`);
        }
        if (dy.dtype !== ref.dtype) dy = dy.cast(ref.dtype);
      }
      return res.backward(dy);
    }
  };
  // A forward-only call drops the backward closure, so what only it kept (max pooling's indices, LP's
  // sums, …) is freed when the call returns, as in `tidy`: a call outside `tidy` leaves only its output
  // to the garbage collector (see "tensors nobody disposes" in src/tensor/alloc.ts). An op with an
  // `infer` pass does not compute that state at all.
  const infer = typeof spec !== "function" && spec.infer !== undefined ? spec.infer.bind(spec) : null;
  const plain: (...args: A) => O =
    infer !== null && typeof spec !== "function" ? (...args: A) => infer(spec.plan(...spec.planArgs(...args)), ...args) : (...args: A) => impl(...args).output;
  const fn = ((...args: A): O => runAs(name, () => tidy(() => plain(...args)))) as Op<A, O>;
  Object.defineProperty(fn, "name", { value: name });
  const ext: Record<string, unknown> = { ...extras };
  if (typeof spec !== "function") {
    ext["plan"] = (...s: S): P => runAs(name, () => spec.plan(...s));
    ext["planFor"] = (...a: A): P => runAs(name, () => spec.plan(...spec.planArgs(...a)));
    ext["outputShape"] = (...s: S): number[] => {
      const shape = [...runAs(name, () => spec.plan(...s)).outShape];
      checkAlloc(name, shape);
      return shape;
    };
  }
  Object.assign(fn, { vjp, opName: name }, ext);
  return fn;
}

/**
 * The usual {@link OpSpec.planArgs}: a float tensor `x` and an options object → `[x.shape, options]`
 * (the shape itself is checked by the plan, with the same messages for `outputShape`).
 */
export function xShapeArgs<O>(op: string): (x: Tensor, opts: O) => [readonly number[], O] {
  return (x, opts) => {
    expectFloatTensor(op, "x", x);
    return [x.shape, opts];
  };
}

/** {@link xShapeArgs} for ops whose options object may be left out. */
export function xShapeArgsOptional<O>(op: string): (x: Tensor, opts?: O) => [readonly number[], O | undefined] {
  return (x, opts) => {
    expectFloatTensor(op, "x", x);
    return [x.shape, opts];
  };
}

/**
 * {@link xShapeArgsOptional} for ops with one more tensor after `x` whose checks need the plan
 * (e.g. a parameter whose shape depends on the options): that tensor is checked by the forward pass.
 */
export function xShapeArgsWith<T, O>(op: string): (x: Tensor, t: T, opts?: O) => [readonly number[], O | undefined] {
  return (x, _t, opts) => {
    expectFloatTensor(op, "x", x);
    return [x.shape, opts];
  };
}
