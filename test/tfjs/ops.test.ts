/**
 * poolkit/tfjs ops: for every registry method and rank, on the cpu and wasm backends, the tfjs op
 * equals the core op on the transposed input (float32, exactly) and tf.grad equals the core backward.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listPools } from "../../src/registry.js";
import { ops, opsWithIndices } from "../../src/tfjs/index.js";
import * as core from "../../src/index.js";
import type { AnyOp } from "../../src/registry.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { BACKENDS, cf, cl, coreInputs, distinct, opCases, opsByName, opsWithIndicesByName, toTf, useBackend } from "./setup.js";
import { expectClose } from "../helpers/close.js";

const CASES = opCases(listPools());

function primary(out: unknown): Tensor {
  return (out as { output?: Tensor }).output ?? (out as Tensor);
}

/** Is the i-th extra input a feature map (transposed with x in channels-last mode)? */
function isFeature(role: string, t: Tensor, x: Tensor): boolean {
  return role !== "learnable" && t.shape.length === x.shape.length && t.shape[0] === x.shape[0];
}

it("covers every registry method that has an op", () => {
  expect(CASES.length).toBeGreaterThan(0);
  for (const m of listPools()) {
    for (const rank of m.dims) {
      const e = m.exports[rank];
      if (e) expect(opsByName[e], e).toBeTypeOf("function");
    }
  }
});

for (const backend of BACKENDS) {
  describe(`tfjs ops on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    afterAll(() => useBackend("cpu"));

    for (const { method, rank, exportName } of CASES) {
      it(`${exportName}: output and gradients equal the core op's (channelsLast and channelsFirst)`, () => {
        const op = opsByName[exportName]!;
        const coreOp = method.ops[rank]!;
        const { x, extra, options } = coreInputs(method, rank);
        const vjp = coreOp.vjp(x, ...extra, options);
        const y = primary(vjp.output);
        const dy = distinct(y.shape, 99);
        const expectedGrads = vjp.backward(dy);

        const startTensors = tf.memory().numTensors;
        tf.tidy(() => {
          const feature = extra.map((t, i) => isFeature(method.inputs[i]!.role, t, x));
          for (const dataFormat of ["channelsLast", "channelsFirst"] as const) {
            const last = dataFormat === "channelsLast";
            const xTf = last ? cl(toTf(x)) : toTf(x);
            const extraTf = extra.map((t, i) => (last && feature[i] ? cl(toTf(t)) : toTf(t)));
            const opts = { ...options, dataFormat };
            const out = op(xTf, ...extraTf, opts);
            const outCF = last && out.rank >= 3 ? cf(out) : out;
            expect(outCF.shape, `${dataFormat} shape`).toEqual([...y.shape]);
            // Same kernel on the same numbers: exactly equal.
            expect(Array.from(outCF.dataSync()), `${dataFormat} values`).toEqual(Array.from(y.data));

            // tf.grad through the op: d/d(inputs) of sum(op(...) * dy).
            const dyTf = last && y.shape.length >= 3 ? cl(toTf(dy)) : toTf(dy);
            const all = [xTf, ...extraTf];
            const diffIdx = all.map((t, i) => i).filter((i) => all[i]!.dtype === "float32");
            const f = (...ts: tf.Tensor[]): tf.Scalar => {
              const args = all.slice();
              diffIdx.forEach((i, k) => (args[i] = ts[k]!));
              return tf.sum(tf.mul(op(...args, opts), dyTf));
            };
            const grads = tf.grads(f)(diffIdx.map((i) => all[i]!));
            diffIdx.forEach((i, k) => {
              const exp = expectedGrads[i];
              const g = grads[k]!;
              const gCF = i === 0 || feature[i - 1] ? (last ? cf(g) : g) : g;
              const label = `${dataFormat} grad of ${i === 0 ? "x" : method.inputs[i - 1]!.name}`;
              if (exp === null || exp === undefined) {
                expect(Array.from(gCF.dataSync()).every((v) => v === 0), label).toBe(true);
              } else {
                expect(gCF.shape, label).toEqual([...exp.shape]);
                expectClose(gCF.dataSync(), exp.data, { atol: 1e-6, rtol: 1e-6 }, label);
              }
            });
          }
        });
        expect(tf.memory().numTensors).toBe(startTensors);
        // Outside any tidy: the op and its gradient leave nothing behind but what they return.
        const xTf = cl(toTf(x));
        const extraTf = extra.map((t, i) => (isFeature(method.inputs[i]!.role, t, x) ? cl(toTf(t)) : toTf(t)));
        const before = tf.memory().numTensors;
        op(xTf, ...extraTf, options).dispose();
        expect(tf.memory().numTensors, "forward leaks no tensors").toBe(before);
        const g = tf.grad((t: tf.Tensor) => op(t, ...extraTf, options).sum())(xTf);
        g.dispose();
        expect(tf.memory().numTensors, "gradient leaks no tensors").toBe(before);
        tf.dispose([xTf, ...extraTf]);
      });
    }
  });
}

describe("tfjs op argument checks", () => {
  const soft = () => ops.softPool2d;
  it("rejects a poolkit Tensor, a bad dataFormat and non-object options", () => {
    const x = distinct([1, 2, 4, 4], 1);
    expect(() => soft()(x as never, { kernelSize: 2 })).toThrow(/softPool2d: x must be a tf.Tensor, got a poolkit Tensor/);
    const xt = tf.zeros([1, 4, 4, 2]);
    expect(() => soft()(xt, { kernelSize: 2, dataFormat: "NHWC" as never })).toThrow(
      'softPool2d: dataFormat must be "channelsLast" or "channelsFirst", got "NHWC"',
    );
    expect(() => soft()(xt, 3 as never)).toThrow("softPool2d: options must be a plain object, got 3");
    expect(() => soft()(xt, new Map([["kernelSize", 2]]) as never)).toThrow("softPool2d: options must be a plain object, got Map");
    expect(() => soft()(tf.zeros([1, 4, 4, 2], "bool" as never), { kernelSize: 2 })).toThrow(/softPool2d: x must be a float32 or int32 tf.Tensor, got dtype bool/);
    // An unknown option (a compile error too) names the op's options, dataFormat included.
    // @ts-expect-error -- the typo is the point: JavaScript callers get the run-time check
    expect(() => soft()(xt, { kernelSize: 2, kernel_size: 2 })).toThrow(
      'softPool2d: unknown option "kernel_size"; known options: kernelSize, stride, padding, gradMode, dataFormat',
    );
    // Unbatched input is poolkit-only: in channels-last it could not be told apart from a batch.
    expect(() => soft()(tf.zeros([4, 4, 2]), { kernelSize: 2 })).toThrow("softPool2d: x must be batched in tfjs ops: [N, H, W, C], got shape [4, 4, 2]");
    expect(() => soft()(tf.zeros([2, 4, 4]), { kernelSize: 2, dataFormat: "channelsFirst" })).toThrow(
      "softPool2d: x must be batched in tfjs ops: [N, C, H, W], got shape [2, 4, 4]",
    );
    xt.dispose();
  });
});

describe("optional inputs left out with null", () => {
  beforeAll(() => useBackend("cpu"));
  it("lowRankBilinearPool without biases equals the core op, and its gradients too", () => {
    const m = listPools().find((p) => p.export === "lowRankBilinearPool");
    if (!m) throw new Error("lowRankBilinearPool is not in the registry");
    const { x, extra, options } = coreInputs(m, 2);
    const [y, U, V, P] = extra as [Tensor, Tensor, Tensor, Tensor];
    const vjp = m.ops[2]!.vjp(x, y, U, V, P, null, null, null, options);
    const out = vjp.output as Tensor;
    const dy = distinct(out.shape, 3);
    const grads = vjp.backward(dy);
    tf.tidy(() => {
      const args = [cl(toTf(x)), cl(toTf(y)), toTf(U), toTf(V), toTf(P)];
      const tfOut = opsByName.lowRankBilinearPool!(...args, null, null, null, options);
      expect(Array.from(tfOut.dataSync())).toEqual(Array.from(out.data));
      const g = tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(opsByName.lowRankBilinearPool!(...ts, null, null, null, options), toTf(dy))))(args);
      expectClose(cf(g[0]!).dataSync(), grads[0]!.data, { atol: 1e-6, rtol: 1e-6 }, "dx");
      expectClose(cf(g[1]!).dataSync(), grads[1]!.data, { atol: 1e-6, rtol: 1e-6 }, "dy");
      for (const i of [2, 3, 4]) expectClose(g[i]!.dataSync(), grads[i]!.data, { atol: 1e-6, rtol: 1e-6 }, `grad ${i}`);
    });
  });
});

describe("learnable inputs train with tf.variableGrads and optimizers", () => {
  beforeAll(() => useBackend("cpu"));
  for (const m of listPools().filter((p) => p.learnable.length > 0 && p.exports[2])) {
    it(`${m.exports[2]}: ${m.learnable.join(", ")} move and the loss falls`, () => {
      const { x, extra, options } = coreInputs(m, 2);
      const op = opsByName[m.exports[2]!]!;
      const xTf = cl(toTf(x));
      const args = extra.map((t, i) => {
        const spec = m.inputs[i]!;
        return spec.role === "learnable" ? tf.variable(toTf(t), true, `${m.exports[2]}_${spec.name}`) : isFeature(spec.role, t, x) ? cl(toTf(t)) : toTf(t);
      });
      const vars = args.filter((a): a is tf.Variable => a instanceof tf.Variable);
      const before = vars.map((v) => Array.from(v.dataSync()));
      const target = tf.tidy(() => tf.mul(op(xTf, ...args, options), 0.5));
      const loss = () => tf.mean(tf.square(tf.sub(op(xTf, ...args, options), target))) as tf.Scalar;
      const l0 = loss().dataSync()[0]!;
      const { grads } = tf.variableGrads(loss, vars);
      expect(Object.keys(grads).sort()).toEqual(vars.map((v) => v.name).sort());
      const opt = tf.train.sgd(0.05);
      for (let i = 0; i < 5; i++) opt.minimize(loss, false, vars);
      const l1 = loss().dataSync()[0]!;
      expect(l1, `loss ${l0} → ${l1}`).toBeLessThan(l0);
      vars.forEach((v, i) => expect(Array.from(v.dataSync()), v.name).not.toEqual(before[i]));
      tf.dispose([xTf, target, ...args, ...Object.values(grads)]);
    });
  }
});

describe("index-returning ops (opsWithIndices)", () => {
  beforeAll(() => useBackend("cpu"));
  const names = Object.keys(opsWithIndices);

  it("cover every registry op that poolkit also exports as <name>WithIndices", () => {
    const expected = CASES.map((c) => `${c.exportName}WithIndices`).filter((n) => typeof (core as Record<string, unknown>)[n] === "function");
    expect(names.sort()).toEqual([...new Set(expected)].sort());
    expect(names.length).toBeGreaterThan(0);
  });

  for (const name of names) {
    it(`${name}: output, indices and gradient equal the core op's`, () => {
      const op = opsWithIndicesByName[name]!;
      const coreOp = (core as unknown as Record<string, AnyOp>)[name]!;
      const { x, options } = coreInputs(op.method, op.rank);
      const vjp = coreOp.vjp(x, options);
      const res = vjp.output as { output: Tensor; indices: Tensor };
      const dy = distinct(res.output.shape, 5);
      const [dx] = vjp.backward(dy);
      tf.tidy(() => {
        const xTf = cl(toTf(x));
        const { output, indices } = op(xTf, options);
        expect(Array.from(cf(output).dataSync())).toEqual(Array.from(res.output.data));
        expect(indices.dtype).toBe("int32");
        expect(Array.from(cf(indices).dataSync())).toEqual(Array.from(res.indices.data));
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(op(t, options).output, cl(toTf(dy)))))(xTf);
        expectClose(cf(g).dataSync(), dx!.data, { atol: 1e-6, rtol: 1e-6 });
      });
    });
  }

  it("maxPool2dWithIndices → maxUnpool2d round trip in channels-last", () => {
    if (!opsWithIndices.maxPool2dWithIndices || !ops.maxUnpool2d) throw new Error("maxPool2dWithIndices / maxUnpool2d missing");
    tf.tidy(() => {
      const x = cl(toTf(distinct([1, 2, 4, 4], 2)));
      const { output, indices } = opsWithIndices.maxPool2dWithIndices(x, { kernelSize: 2 });
      const back = ops.maxUnpool2d(output, indices, { kernelSize: 2 });
      expect(back.shape).toEqual([1, 4, 4, 2]);
      // Each 2×2 block keeps its maximum in place and zeros elsewhere.
      const xs = x.arraySync() as number[][][][];
      const bs = back.arraySync() as number[][][][];
      for (let c = 0; c < 2; c++) {
        for (let bi = 0; bi < 2; bi++) {
          for (let bj = 0; bj < 2; bj++) {
            const cells = [0, 1].flatMap((di) => [0, 1].map((dj) => [2 * bi + di, 2 * bj + dj] as const));
            const max = Math.max(...cells.map(([i, j]) => xs[0]![i]![j]![c]!));
            for (const [i, j] of cells) expect(bs[0]![i]![j]![c]).toBe(xs[0]![i]![j]![c] === max ? max : 0);
          }
        }
      }
    });
  });
});
