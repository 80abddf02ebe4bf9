/**
 * Float64 finite-difference gradient check shared by every op's tests.
 *
 * For f(inputs) → output and a random upstream gradient dy, compares backward(dy)[i] with the
 * central difference of L = <f(inputs), dy> for every element of every differentiable input.
 */
import { expect } from "vitest";
import { Generator } from "../../src/tensor/random.js";
import { Tensor, tensor } from "../../src/tensor/tensor.js";
import type { Grads, VJP } from "../../src/op.js";

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Indices of the inputs to check (default: every input whose gradient is not null). */
  check?: number[];
  seed?: number;
}

function primary(out: unknown): Tensor {
  if (out instanceof Tensor) return out;
  return (out as { output: Tensor }).output;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/**
 * @param run   runs the op's vjp on the given inputs (all float64 except constants you keep fixed).
 * @param inputs the tensor inputs, float64.
 */
export function gradcheck(run: (inputs: Tensor[]) => VJP<unknown>, inputs: Tensor[], opts: GradcheckOptions = {}): void {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-6;
  const rtol = opts.rtol ?? 1e-5;
  const gen = new Generator(opts.seed ?? 1234);
  const base = run(inputs);
  const out = primary(base.output);
  const dyData = new Float64Array(out.size);
  for (let i = 0; i < dyData.length; i++) dyData[i] = gen.normal();
  const dy = tensor(dyData, out.shape, "float64");
  const grads: Grads = base.backward(dy);
  expect(grads.length, "one gradient per tensor input").toBe(inputs.length);
  const which = opts.check ?? inputs.map((_, i) => i).filter((i) => grads[i] !== null);
  for (const i of which) {
    const g = grads[i];
    const x = inputs[i] as Tensor;
    expect(g, `gradient for input ${i}`).not.toBeNull();
    if (!g) continue;
    expect([...g.shape], `gradient ${i} shape`).toEqual([...x.shape]);
    const xd = Float64Array.from(x.data);
    for (let j = 0; j < xd.length; j++) {
      const orig = xd[j] as number;
      xd[j] = orig + eps;
      const plus = dot(primary(run(replace(inputs, i, tensor(xd, x.shape, "float64"))).output).data, dyData);
      xd[j] = orig - eps;
      const minus = dot(primary(run(replace(inputs, i, tensor(xd, x.shape, "float64"))).output).data, dyData);
      xd[j] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const analytic = g.data[j] as number;
      if (!(Math.abs(numeric - analytic) <= atol + rtol * Math.abs(numeric))) {
        expect.fail(`gradcheck: input ${i} element ${j}: analytic ${analytic}, numeric ${numeric}`);
      }
    }
  }
}

function replace(inputs: Tensor[], i: number, t: Tensor): Tensor[] {
  const copy = inputs.slice();
  copy[i] = t;
  return copy;
}

/** Distinct random float64 values (no ties, so max-type ops are differentiable at the point). */
export function distinctRandom(shape: readonly number[], seed = 7, scale = 1): Tensor {
  const gen = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const perm = gen.permutation(n);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = ((perm[i] as number) - n / 2) * (scale / n) * 4 + gen.uniform() * (scale / n);
  return tensor(d, shape, "float64");
}
