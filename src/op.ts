/**
 * How every op is put together: a plain forward function plus `op.vjp`, which runs the forward pass
 * and returns `{ output, backward }`. The backward closure holds the forward's plan and random
 * draws, so it can never disagree with the pass it came from.
 */
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

/** The tensor that `dy` must match: the output itself, or `output.output` for `{ output, indices }` results. */
function primary(out: unknown): Tensor | undefined {
  if (out instanceof Tensor) return out;
  if (out !== null && typeof out === "object" && (out as { output?: unknown }).output instanceof Tensor) {
    return (out as { output: Tensor }).output;
  }
  return undefined;
}

/**
 * Build an op from its vjp implementation. `backward(dy)` is checked here once for all ops: dy must be
 * a float Tensor of the output's shape; a dy of the other float dtype is converted to the output's.
 * Forward and backward run as the op ({@link runAs}), so an allocation past the size limit names it,
 * and an `outputShape` in `extras` is checked against the same limit (src/tensor/limits.ts): a shape
 * the forward pass could not allocate is an error there too, not a number to trust.
 */
export function defineOp<A extends unknown[], O, E extends object = object>(
  name: string,
  impl: (...args: A) => VJP<O>,
  extras?: E,
): Op<A, O> & E {
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
  // to the garbage collector (see "tensors nobody disposes" in src/tensor/alloc.ts).
  const fn = ((...args: A): O => runAs(name, () => tidy(() => impl(...args).output))) as Op<A, O> & E;
  Object.defineProperty(fn, "name", { value: name });
  const ext: Record<string, unknown> = { ...extras };
  const shapeFn = ext["outputShape"];
  if (typeof shapeFn === "function") {
    ext["outputShape"] = (...a: unknown[]): unknown => {
      const s = runAs(name, () => (shapeFn as (...b: unknown[]) => unknown)(...a));
      if (Array.isArray(s)) checkAlloc(name, s as number[]);
      return s;
    };
  }
  Object.assign(fn, { vjp, opName: name }, ext);
  return fn;
}
