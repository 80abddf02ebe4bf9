/**
 * Registry descriptors of the adaptive family: adaptive average, adaptive max and fractional max
 * pooling. Output shapes come from the ops' own `outputShape` (the same geometry as the forward).
 */
import type { PoolMethod } from "../registry.js";
import { rankOps } from "./common.js";
import {
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  adaptiveAvgPool3d,
  adaptiveMaxPool1d,
  adaptiveMaxPool2d,
  adaptiveMaxPool3d,
} from "../ops/adaptivePool.js";
import { fractionalMaxPool2d, fractionalMaxPool3d } from "../ops/fractionalMaxPool.js";

const ADAPTIVE_BINS = "He, Zhang, Ren & Sun, Spatial Pyramid Pooling in Deep Convolutional Networks for Visual Recognition, ECCV 2014 (PyTorch's adaptive bins)";

/** Adaptive average pooling (`adaptiveAvgPool1d/2d/3d`). */
export const AdaptiveAverage: PoolMethod = {
  name: "AdaptiveAverage",
  aliases: ["adaptive-average", "adaptive-avg", "adaptiveavgpool"],
  ...rankOps("AdaptiveAverage", { 1: adaptiveAvgPool1d, 2: adaptiveAvgPool2d, 3: adaptiveAvgPool3d }),
  category: "adaptive",
  random: false,
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: ADAPTIVE_BINS,
  summary: "Averages over outputSize bins [⌊i·In/Out⌋, ⌈(i+1)·In/Out⌉) per axis, so any input size maps to a fixed output size (PyTorch semantics).",
  defaults: { outputSize: 5 },
};

/** Adaptive max pooling (`adaptiveMaxPool1d/2d/3d`; the `WithIndices` variants are exported beside them). */
export const AdaptiveMax: PoolMethod = {
  name: "AdaptiveMax",
  aliases: ["adaptive-max", "adaptivemaxpool"],
  ...rankOps("AdaptiveMax", { 1: adaptiveMaxPool1d, 2: adaptiveMaxPool2d, 3: adaptiveMaxPool3d }),
  category: "adaptive",
  random: false,
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: ADAPTIVE_BINS,
  summary: "Takes the maximum over outputSize bins [⌊i·In/Out⌋, ⌈(i+1)·In/Out⌉) per axis (PyTorch semantics: first maximum wins ties, NaN propagates).",
  defaults: { outputSize: 5 },
};

/** Fractional max pooling (`fractionalMaxPool2d/3d`), random on every call unless `samples` or `seed` is given. */
export const FractionalMax: PoolMethod = {
  name: "FractionalMax",
  aliases: ["fractional", "fmp", "fractional-max"],
  ...rankOps("FractionalMax", { 2: fractionalMaxPool2d, 3: fractionalMaxPool3d }),
  category: "stochastic",
  random: true,
  // PyTorch's op is random in eval mode too; there is no train/eval switch.
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: "Graham, Fractional Max-Pooling, arXiv:1412.6071, 2014 (PyTorch's fixed-window variant)",
  summary: "Max over k-sized windows at pseudo-random starts trunc((i+u)·α) − trunc(u·α), shrinking each axis by a non-integer factor (PyTorch semantics).",
  defaults: { kernelSize: 2, outputRatio: 0.5 },
};

/** The adaptive family, in registry order. */
export const ADAPTIVE_METHODS: readonly PoolMethod[] = [AdaptiveAverage, AdaptiveMax, FractionalMax];
