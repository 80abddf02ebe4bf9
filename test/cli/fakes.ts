/**
 * Small stand-in methods for CLI tests, independent of which real methods have landed: a 2×2
 * average pool written out longhand, a variant with a learnable per-channel gain, one whose
 * backward is deliberately wrong and one whose forward throws. The real registry is tested too.
 */
import { defineOp } from "../../src/op.js";
import { PoolkitRangeError, show } from "../../src/errors.js";
import { expectOptions } from "../../src/check.js";
import { allocArray } from "../../src/tensor/alloc.js";
import { fromArray, type Tensor } from "../../src/tensor/tensor.js";
import type { PoolMethod } from "../../src/registry.js";
import type { Registry } from "../../src/cli/invoke.js";

interface Opts {
  kernelSize?: number;
}

function shapeOf(name: string, xShape: readonly number[], opts: Opts | undefined): number[] {
  const o = expectOptions<Opts>(name, opts, ["kernelSize"]);
  const k = o.kernelSize ?? 2;
  if (!Number.isInteger(k) || k < 1) throw new PoolkitRangeError(name, `kernelSize must be a positive integer, got ${show(k)}`);
  const [h, w] = xShape.slice(-2) as [number, number];
  return [...xShape.slice(0, -2), Math.floor(h / k), Math.floor(w / k)];
}

/** y[p, i, j] = gain[c(p)] · mean of the k×k block; dx spreads dy·gain/k², dgain sums dy·mean. */
function blockAvg(name: string, x: Tensor, gain: Tensor | null, opts: Opts | undefined, wrongBackward = false) {
  const outShape = shapeOf(name, x.shape, opts);
  const k = opts?.kernelSize ?? 2;
  const [h, w] = x.shape.slice(-2) as [number, number];
  const [oh, ow] = outShape.slice(-2) as [number, number];
  const c = x.shape[x.shape.length - 3] as number;
  const planes = x.size / (h * w);
  const mean = allocArray(x.dtype as "float64", planes * oh * ow);
  const xd = x.data;
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let s = 0;
        for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) s += xd[p * h * w + (i * k + a) * w + j * k + b] as number;
        mean[(p * oh + i) * ow + j] = s / (k * k);
      }
  const g = (p: number): number => (gain ? (gain.data[p % c] as number) : 1);
  const y = allocArray(x.dtype as "float64", mean.length);
  for (let q = 0; q < y.length; q++) y[q] = (mean[q] as number) * g(Math.floor(q / (oh * ow)));
  return {
    output: fromArray(y, outShape),
    backward: (dy: Tensor) => {
      const dx = allocArray(x.dtype as "float64", x.size);
      const dg = allocArray(x.dtype as "float64", c);
      for (let p = 0; p < planes; p++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            const q = (p * oh + i) * ow + j;
            const d = dy.data[q] as number;
            dg[p % c] = (dg[p % c] as number) + d * (mean[q] as number);
            for (let a = 0; a < k; a++)
              for (let b = 0; b < k; b++) dx[p * h * w + (i * k + a) * w + j * k + b] = (d * g(p)) / (wrongBackward ? 1 : k * k);
          }
      return gain ? [fromArray(dx, x.shape), fromArray(dg, gain.shape)] : [fromArray(dx, x.shape)];
    },
  };
}

export const fakeAvg = defineOp("fakeAvg2d", (x: Tensor, opts?: Opts) => blockAvg("fakeAvg2d", x, null, opts));
export const fakeGain = defineOp("fakeGain2d", (x: Tensor, gain: Tensor, opts?: Opts) => blockAvg("fakeGain2d", x, gain, opts));
export const fakeWrong = defineOp("fakeWrong2d", (x: Tensor, opts?: Opts) => blockAvg("fakeWrong2d", x, null, opts, true));
export const fakeThrows = defineOp("fakeThrows2d", (_x: Tensor, _opts?: Opts): { output: Tensor; backward: (dy: Tensor) => Tensor[] } => {
  throw new PoolkitRangeError("fakeThrows2d", "always fails, got nothing");
});

function method(name: string, op: typeof fakeAvg | typeof fakeGain | typeof fakeWrong | typeof fakeThrows, extra: Partial<PoolMethod> = {}): PoolMethod {
  return {
    name,
    aliases: [],
    export: op.opName,
    exports: { 2: op.opName },
    ops: { 2: op },
    category: "sliding",
    dims: [2],
    random: false,
    trainEval: false,
    inputs: [],
    learnable: [],
    paper: `Test stand-in ${name}`,
    summary: `${name}: 2×2 block average for CLI tests.`,
    defaults: { kernelSize: 2 },
    outputShape: (xShape, options) => shapeOf(op.opName, xShape, options as Opts),
    ...extra,
  };
}

export const FAKE_AVG = method("FakeAvg", fakeAvg);
export const FAKE_GAIN = method("FakeGain", fakeGain, {
  inputs: [
    {
      name: "gain",
      role: "learnable",
      shape: (xShape) => [xShape[xShape.length - 3] as number],
      init: (shape, gen) => Float64Array.from({ length: shape[0] as number }, () => 0.5 + gen.uniform()),
      doc: "per-channel gain",
    },
  ],
  learnable: ["gain"],
});
export const FAKE_WRONG = method("FakeWrong", fakeWrong);
export const FAKE_THROWS = method("FakeThrows", fakeThrows);

export function fakeRegistry(methods: readonly PoolMethod[]): Registry {
  return {
    list: () => methods,
    get: (name) => {
      const m = methods.find((x) => x.name.toLowerCase() === name.toLowerCase());
      if (!m) throw new RangeError(`getPool: unknown pooling method ${JSON.stringify(name)}; known: ${methods.map((x) => x.name).join(", ")}`);
      return m;
    },
  };
}

/** Captured program output. */
export function capture(): { io: { out(l: string): void; err(l: string): void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err };
}
