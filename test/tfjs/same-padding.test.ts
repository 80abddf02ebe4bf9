/**
 * `padding: "same"` in poolkit's tfjs layers, against TensorFlow.js's own pooling layers: every pool
 * size 1–4 × stride 1–3 on odd and even sizes (max exact, average within float32 tolerance; TF's
 * "same" average excludes the padding), 1-d / 2-d / 3-d, including pool 2 stride 1 (an error before
 * per-side padding). The other sliding-geometry layers (SoftPool, LP, LIP, mixed) give TF's output
 * shapes ⌈in / strides⌉.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { avgPool2d } from "../../src/ops/pytorch.js";
import { layers, ops } from "../../src/tfjs/index.js";
import { cf, distinct, layersByName, toTf, useBackend } from "./setup.js";
import { expectClose } from "../helpers/close.js";

beforeAll(() => useBackend("cpu"));

const POOLS = [1, 2, 3, 4];
const STRIDES = [1, 2, 3];
const f32 = { atol: 1e-6, rtol: 1e-6 };

function input(shape: number[], seed = 11): tf.Tensor {
  return toTf(distinct(shape, seed));
}

function data(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

describe('"same" equals tf.layers\' own pooling (2-d)', () => {
  // [H, W]: odd × even and even × odd, so both parities meet every pool/stride on each axis.
  for (const [h, w] of [[7, 8], [8, 9]] as const) {
    for (const k of POOLS) {
      for (const s of STRIDES) {
        it(`${h}×${w}, poolSize ${k}, strides ${s}`, () => {
          const x = input([2, h, w, 3]);
          const theirs = tf.layers.maxPooling2d({ poolSize: k, strides: s, padding: "same" }).apply(x) as tf.Tensor;
          const layer = layers.maxPool2d({ poolSize: k, strides: s, padding: "same" });
          const ours = layer.apply(x) as tf.Tensor;
          expect(ours.shape).toEqual([2, Math.ceil(h / s), Math.ceil(w / s), 3]);
          expect(ours.shape).toEqual(theirs.shape);
          expect(data(ours)).toEqual(data(theirs));
          expect(layer.computeOutputShape([null, h, w, 3])).toEqual([null, ...ours.shape.slice(1)]);
          const theirsAvg = tf.layers.averagePooling2d({ poolSize: k, strides: s, padding: "same" }).apply(x) as tf.Tensor;
          const oursAvg = layers.avgPool2d({ poolSize: k, strides: s, padding: "same" }).apply(x) as tf.Tensor;
          expect(oursAvg.shape).toEqual(theirsAvg.shape);
          expectClose(oursAvg.dataSync(), theirsAvg.dataSync(), f32);
        });
      }
    }
  }

  it("different pool sizes and strides per axis", () => {
    const x = input([1, 9, 8, 2]);
    for (const [poolSize, strides] of [[[4, 1], [1, 3]], [[2, 3], [3, 2]], [[1, 4], [2, 1]]] as [number, number][][]) {
      const theirs = tf.layers.maxPooling2d({ poolSize: poolSize as [number, number], strides: strides as [number, number], padding: "same" }).apply(x) as tf.Tensor;
      expect(data(layers.maxPool2d({ poolSize, strides, padding: "same" }).apply(x) as tf.Tensor)).toEqual(data(theirs));
      const theirsAvg = tf.layers.averagePooling2d({ poolSize: poolSize as [number, number], strides: strides as [number, number], padding: "same" }).apply(x) as tf.Tensor;
      expectClose((layers.avgPool2d({ poolSize, strides, padding: "same" }).apply(x) as tf.Tensor).dataSync(), theirsAvg.dataSync(), f32);
    }
  });

  it("explicit per-side pairs reach the op in spatial order (H, W) for channels-last ops and layers", () => {
    const x = input([1, 7, 8, 2]);
    // TF "same" for 7×8, pool 4, stride 3: H total 3 → [1, 2]; W total 2 → [1, 1].
    const theirs = data(tf.maxPool(x as tf.Tensor4D, 4, 3, "same"));
    expect(data(ops.maxPool2d(x, { kernelSize: 4, stride: 3, padding: [[1, 2], [1, 1]] }))).toEqual(theirs);
    expect(data(layers.maxPool2d({ poolSize: 4, strides: 3, padding: [[1, 2], [1, 1]] }).apply(x) as tf.Tensor)).toEqual(theirs);
    expect(data(ops.maxPool2d(x, { kernelSize: 4, stride: 3, padding: [[2, 1], [1, 1]] }))).not.toEqual(theirs);
  });

  it("channelsFirst input gives the same numbers, transposed", () => {
    const x = input([1, 7, 8, 2]);
    const theirs = tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: "same" }).apply(x) as tf.Tensor;
    const ours = layers.maxPool2d({ poolSize: 2, strides: 1, padding: "same", dataFormat: "channelsFirst" }).apply(cf(x)) as tf.Tensor;
    expect(data(ours)).toEqual(data(cf(theirs)));
  });

  it("the max layer's gradient equals tf's (distinct values: one argmax per window)", () => {
    const x = input([1, 7, 8, 2]);
    for (const [k, s] of [[2, 1], [3, 2], [4, 3]]) {
      const ours = tf.grad((t: tf.Tensor) => (layers.maxPool2d({ poolSize: k, strides: s, padding: "same" }).apply(t) as tf.Tensor).square().sum())(x);
      const theirs = tf.grad((t: tf.Tensor) => (tf.layers.maxPooling2d({ poolSize: k!, strides: s!, padding: "same" }).apply(t) as tf.Tensor).square().sum())(x);
      expectClose(ours.dataSync(), theirs.dataSync(), f32);
    }
  });

  it("an explicit countIncludePad: true is kept: the padding counts in the divisor", () => {
    const x = distinct([1, 1, 7, 8], 4);
    // TF "same" for 7×8, pool 4, stride 3: H total = (3−1)·3 + 4 − 7 = 3 → [1, 2]; W total = 2·3 + 4 − 8 = 2 → [1, 1].
    const ref = avgPool2d(x, { kernelSize: 4, stride: 3, padding: [[1, 2], [1, 1]], countIncludePad: true });
    const ours = layers.avgPool2d({ poolSize: 4, strides: 3, padding: "same", countIncludePad: true, dataFormat: "channelsFirst" }).apply(toTf(x)) as tf.Tensor;
    expectClose(ours.dataSync(), ref.data, f32);
    const excl = layers.avgPool2d({ poolSize: 4, strides: 3, padding: "same", dataFormat: "channelsFirst" }).apply(toTf(x)) as tf.Tensor;
    expect(data(excl)).not.toEqual(data(ours));
  });
});

describe('"same" equals tf.layers\' own pooling (1-d and 3-d)', () => {
  for (const L of [7, 8]) {
    it(`1-d, length ${L}: every pool 1–4 × stride 1–3`, () => {
      const x = input([2, L, 3]);
      for (const k of POOLS) {
        for (const s of STRIDES) {
          const theirs = tf.layers.maxPooling1d({ poolSize: k, strides: s, padding: "same" }).apply(x) as tf.Tensor;
          const ours = layers.maxPool1d({ poolSize: k, strides: s, padding: "same" }).apply(x) as tf.Tensor;
          expect(ours.shape, `k ${k} s ${s}`).toEqual(theirs.shape);
          expect(data(ours), `k ${k} s ${s}`).toEqual(data(theirs));
          const theirsAvg = tf.layers.averagePooling1d({ poolSize: k, strides: s, padding: "same" }).apply(x) as tf.Tensor;
          expectClose((layers.avgPool1d({ poolSize: k, strides: s, padding: "same" }).apply(x) as tf.Tensor).dataSync(), theirsAvg.dataSync(), f32, `k ${k} s ${s}`);
        }
      }
    });
  }
  // tfjs-core's 3-d "same" (conv_util.ts get3DPadAndOutInfo) does not clamp a negative total padding
  // at 0 as its 2-d twin and TensorFlow (kernel_shape_util.cc GetWindowedOutputSizeVerbose) do, so for
  // pool < stride where (⌈in/s⌉ − 1)·s + k < in its windows start one element late. poolkit follows
  // TensorFlow; tfjs's 3-d layers are compared where the two agree (total ≥ 0 on every axis).
  const tfjs3dAgrees = (k: number, s: number, spatial: number[]) => spatial.every((n) => (Math.ceil(n / s) - 1) * s + k - n >= 0);
  it("3-d, 5×6×7: pools 1–4 × strides 1–3 (same on every axis)", () => {
    const x = input([1, 5, 6, 7, 2]);
    let compared = 0;
    for (const k of POOLS) {
      for (const s of STRIDES) {
        if (!tfjs3dAgrees(k, s, [5, 6, 7])) continue;
        compared++;
        const theirs = tf.layers.maxPooling3d({ poolSize: k, strides: s, padding: "same" }).apply(x) as tf.Tensor;
        const ours = layers.maxPool3d({ poolSize: k, strides: s, padding: "same" }).apply(x) as tf.Tensor;
        expect(ours.shape, `k ${k} s ${s}`).toEqual(theirs.shape);
        expect(data(ours), `k ${k} s ${s}`).toEqual(data(theirs));
        const theirsAvg = tf.layers.averagePooling3d({ poolSize: k, strides: s, padding: "same" }).apply(x) as tf.Tensor;
        expectClose((layers.avgPool3d({ poolSize: k, strides: s, padding: "same" }).apply(x) as tf.Tensor).dataSync(), theirsAvg.dataSync(), f32, `k ${k} s ${s}`);
      }
    }
    expect(compared).toBeGreaterThanOrEqual(8);
  });
  it("3-d where tfjs's unclamped padding differs: TensorFlow's windows (pool 1, stride 2 subsamples from index 0)", () => {
    const x = input([1, 5, 6, 7, 2]);
    const ours = layers.maxPool3d({ poolSize: 1, strides: 2, padding: "same" }).apply(x) as tf.Tensor;
    const subsample = tf.maxPool3d(x as tf.Tensor5D, 1, 2, "valid");
    expect(ours.shape).toEqual([1, 3, 3, 4, 2]);
    expect(data(ours)).toEqual(data(subsample));
  });
});

describe('"same" on the other sliding-geometry layers gives TensorFlow\'s output shapes', () => {
  const cases: { name: string; rank: 1 | 2 | 3; extra?: Record<string, unknown> }[] = [
    { name: "softPool1d", rank: 1 },
    { name: "softPool2d", rank: 2 },
    { name: "softPool3d", rank: 3 },
    { name: "lpPool1d", rank: 1, extra: { normType: 2 } },
    { name: "lpPool2d", rank: 2, extra: { normType: 2 } },
    { name: "lpPool3d", rank: 3, extra: { normType: 2 } },
    { name: "localImportancePool2d", rank: 2 },
    { name: "mixedPool2d", rank: 2 },
  ];
  for (const c of cases) {
    it(`${c.name}: pools 1–4 × strides 1–3, odd and even sizes`, () => {
      const spatial = [7, 8, 5].slice(0, c.rank);
      const x = input([1, ...spatial, 2]);
      const make = layersByName[c.name]!;
      for (const k of POOLS) {
        for (const s of STRIDES) {
          const layer = make({ poolSize: k, strides: s, padding: "same", ...c.extra });
          const y = layer.apply(x) as tf.Tensor;
          const want = [1, ...spatial.map((n) => Math.ceil(n / s)), 2];
          expect(y.shape, `k ${k} s ${s}`).toEqual(want);
          expect(layer.computeOutputShape([null, ...spatial, 2]), `k ${k} s ${s}`).toEqual([null, ...want.slice(1)]);
          expect(data(y).every(Number.isFinite), `k ${k} s ${s}`).toBe(true);
        }
      }
    });
  }

  it("LP 'same' is LP pooling of the zero-padded input (its own op with TF's per-side pads)", () => {
    const x = distinct([1, 2, 7, 8], 6);
    const ours = layers.lpPool2d({ poolSize: 2, strides: 1, padding: "same", normType: 2, dataFormat: "channelsFirst" }).apply(toTf(x)) as tf.Tensor;
    // TF "same", pool 2 stride 1: total 1 per axis → [0, 1]; hand-check one corner: the bottom-right
    // window holds only x[6][7] and three pads, so its output is |x[6][7]|.
    const last = x.data[7 * 8 - 1] as number;
    const y = data(ours);
    expect(y[7 * 8 - 1]).toBeCloseTo(Math.abs(last), 5);
    expect(ours.shape).toEqual([1, 2, 7, 8]);
  });
});
