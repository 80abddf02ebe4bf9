/**
 * The LIP layer's logit module (SimplifiedLIP) against PyTorch: forward and gradients for x, the conv
 * weight and InstanceNorm's γ, β — fixture from test/tfjs/fixtures/gen_lip_module.py (float64 autograd),
 * replayed in float32.
 */
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { beforeAll, expect, it } from "vitest";
import { layers } from "../../src/tfjs/index.js";
import { expectClose } from "../helpers/close.js";
import { cf, cl, useBackend } from "./setup.js";

interface T {
  shape: number[];
  data: number[];
}
interface Case {
  x: T; weight: T; gamma: T; beta: T; y: T; dy: T; dx: T; dweight: T; dgamma: T; dbeta: T;
}

const fixture = JSON.parse(readFileSync(new URL("./fixtures/lip_module.json", import.meta.url), "utf8")) as { cases: Case[] };
const tfOf = (t: T) => tf.tensor(t.data, t.shape, "float32");
/** PyTorch conv weight [out, in, kh, kw] → tfjs conv2d kernel [kh, kw, in, out]. */
const kernelOf = (t: T) => tf.transpose(tfOf(t), [2, 3, 1, 0]);
const TOL = { atol: 2e-5, rtol: 2e-4 };

beforeAll(() => useBackend("cpu"));

for (const dataFormat of ["channelsFirst", "channelsLast"] as const) {
  it(`SimplifiedLIP layer equals PyTorch (${dataFormat}): output and gradients for x, conv weight, γ, β`, () => {
    const c = fixture.cases[0]!;
    const last = dataFormat === "channelsLast";
    const x = last ? cl(tfOf(c.x)) : tfOf(c.x);
    const dy = last ? cl(tfOf(c.dy)) : tfOf(c.dy);
    const layer = layers.localImportancePool2d({ dataFormat });
    layer.apply(x);
    layer.setWeights([kernelOf(c.weight), tfOf(c.gamma), tfOf(c.beta)]);
    const y = layer.apply(x) as tf.Tensor;
    expectClose((last ? cf(y) : y).dataSync(), c.y.data, TOL, "y");

    const f = (t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, dy)) as tf.Scalar;
    const dx = tf.grad(f)(x);
    expectClose((last ? cf(dx) : dx).dataSync(), c.dx.data, TOL, "dx");
    const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => f(x), vars);
    const [gk, gg, gb] = vars.map((v) => grads[v.name]!);
    expectClose(gk!.dataSync(), kernelOf(c.dweight).dataSync(), TOL, "dweight");
    expectClose(gg!.dataSync(), c.dgamma.data, TOL, "dgamma");
    expectClose(gb!.dataSync(), c.dbeta.data, TOL, "dbeta");
  });
}
