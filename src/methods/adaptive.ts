/**
 * Registry descriptors of the adaptive family: adaptive average, adaptive max and fractional max
 * pooling. Output shapes come from the ops' own `outputShape` (the same geometry as the forward).
 */
import { PoolkitRangeError } from "../errors.js";
import type { AnyOp, PoolMethod } from "../registry.js";
import {
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  adaptiveAvgPool3d,
  adaptiveMaxPool1d,
  adaptiveMaxPool2d,
  adaptiveMaxPool3d,
  type AdaptivePoolOptions,
} from "../ops/adaptivePool.js";
import { fractionalMaxPool2d, fractionalMaxPool3d, type FractionalMaxPoolOptions } from "../ops/fractionalMaxPool.js";

type ShapeFn<O> = (shape: readonly number[], opts: O) => number[];

function shapeByRank<O>(method: string, fns: Partial<Record<1 | 2 | 3, ShapeFn<O>>>) {
  return (xShape: readonly number[], options: Record<string, unknown>, dims: 1 | 2 | 3 = 2): number[] => {
    const fn = fns[dims];
    if (!fn) throw new PoolkitRangeError(method, `dims must be one of ${Object.keys(fns).join(", ")}, got ${String(dims)}`);
    return fn(xShape, options as O);
  };
}

const ADAPTIVE_BINS = "He, Zhang, Ren & Sun, Spatial Pyramid Pooling in Deep Convolutional Networks for Visual Recognition, ECCV 2014 (PyTorch's adaptive bins)";

/** Adaptive average pooling (`adaptiveAvgPool1d/2d/3d`). */
export const AdaptiveAverage: PoolMethod = {
  name: "AdaptiveAverage",
  aliases: ["adaptive-average", "adaptive-avg", "adaptiveavgpool"],
  export: "adaptiveAvgPool2d",
  exports: { 1: "adaptiveAvgPool1d", 2: "adaptiveAvgPool2d", 3: "adaptiveAvgPool3d" },
  ops: { 1: adaptiveAvgPool1d as AnyOp, 2: adaptiveAvgPool2d as AnyOp, 3: adaptiveAvgPool3d as AnyOp },
  category: "adaptive",
  dims: [1, 2, 3],
  random: false,
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: ADAPTIVE_BINS,
  summary: "Averages over outputSize bins [⌊i·In/Out⌋, ⌈(i+1)·In/Out⌉) per axis, so any input size maps to a fixed output size (PyTorch semantics).",
  defaults: { outputSize: 5 },
  outputShape: shapeByRank<AdaptivePoolOptions>("AdaptiveAverage", {
    1: adaptiveAvgPool1d.outputShape,
    2: adaptiveAvgPool2d.outputShape,
    3: adaptiveAvgPool3d.outputShape,
  }),
};

/** Adaptive max pooling (`adaptiveMaxPool1d/2d/3d`; the `WithIndices` variants are exported beside them). */
export const AdaptiveMax: PoolMethod = {
  name: "AdaptiveMax",
  aliases: ["adaptive-max", "adaptivemaxpool"],
  export: "adaptiveMaxPool2d",
  exports: { 1: "adaptiveMaxPool1d", 2: "adaptiveMaxPool2d", 3: "adaptiveMaxPool3d" },
  ops: { 1: adaptiveMaxPool1d as AnyOp, 2: adaptiveMaxPool2d as AnyOp, 3: adaptiveMaxPool3d as AnyOp },
  category: "adaptive",
  dims: [1, 2, 3],
  random: false,
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: ADAPTIVE_BINS,
  summary: "Takes the maximum over outputSize bins [⌊i·In/Out⌋, ⌈(i+1)·In/Out⌉) per axis (PyTorch semantics: first maximum wins ties, NaN propagates).",
  defaults: { outputSize: 5 },
  outputShape: shapeByRank<AdaptivePoolOptions>("AdaptiveMax", {
    1: adaptiveMaxPool1d.outputShape,
    2: adaptiveMaxPool2d.outputShape,
    3: adaptiveMaxPool3d.outputShape,
  }),
};

/** Fractional max pooling (`fractionalMaxPool2d/3d`), random on every call unless `samples` or `seed` is given. */
export const FractionalMax: PoolMethod = {
  name: "FractionalMax",
  aliases: ["fractional", "fmp", "fractional-max"],
  export: "fractionalMaxPool2d",
  exports: { 2: "fractionalMaxPool2d", 3: "fractionalMaxPool3d" },
  ops: { 2: fractionalMaxPool2d as AnyOp, 3: fractionalMaxPool3d as AnyOp },
  category: "stochastic",
  dims: [2, 3],
  random: true,
  // PyTorch's op is random in eval mode too; there is no train/eval switch.
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: "Graham, Fractional Max-Pooling, arXiv:1412.6071, 2014 (PyTorch's fixed-window variant)",
  summary: "Max over k-sized windows at pseudo-random starts trunc((i+u)·α) − trunc(u·α), shrinking each axis by a non-integer factor (PyTorch semantics).",
  defaults: { kernelSize: 2, outputRatio: 0.5 },
  outputShape: shapeByRank<FractionalMaxPoolOptions>("FractionalMax", {
    2: fractionalMaxPool2d.outputShape,
    3: fractionalMaxPool3d.outputShape,
  }),
};

/** The adaptive family, in registry order. */
export const ADAPTIVE_METHODS: readonly PoolMethod[] = [AdaptiveAverage, AdaptiveMax, FractionalMax];
