/**
 * Registry descriptors for mixed (Yu et al.), learned mixed / gated / tree (Lee et al.), stochastic
 * (Zeiler & Fergus) and S3Pool (Zhai et al.). Output shapes come from each op's own `outputShape`
 * (the same geometry as its forward pass).
 */
import type { InputSpec, PoolMethod } from "../registry.js";
import { mixedPool2d } from "../ops/mixedPool.js";
import { gatedMixPool2d, learnedMixPool2d, paramShape, treePool2d, type Sharing } from "../ops/generalizedPool.js";
import { stochasticPool2d } from "../ops/stochasticPool.js";
import { s3Pool2d } from "../ops/s3Pool.js";
import { channelsOf, normalInit, opsByRank, ownOption } from "./common.js";

function sharingOf(options: Record<string, unknown>): Sharing {
  return ownOption(options, "sharing") === "channel" ? "channel" : "layer";
}

/** The 1B ops' kernel size as the op reads it (default 3). */
function kernelOf(options: Record<string, unknown>): number[] {
  const k = ownOption(options, "kernelSize") ?? 3;
  return typeof k === "number" ? [k, k] : [...(k as number[])];
}

function maskInput(name: string, doc: string): InputSpec {
  return {
    name,
    role: "learnable",
    shape: (xShape, options) => paramShape(sharingOf(options), channelsOf(xShape, 2), kernelOf(options)),
    // The official initialisation of masks and leaf filters: N(0, 0.1²) (chl260/general-pooling AlexNet example).
    init: (shape, gen) => normalInit(shape, gen, 0.1),
    doc,
  };
}

const LEE_PAPER =
  "Lee, Gallagher & Tu, Generalizing Pooling Functions in Convolutional Neural Networks: Mixed, Gated, and Tree, AISTATS 2016";

export const NOVEL_METHODS: readonly PoolMethod[] = [
  {
    name: "Mixed",
    aliases: ["mixed", "mixedpooling", "mixedmaxavg", "yu"],
    ...opsByRank({ 2: mixedPool2d }),
    category: "stochastic",
    random: true,
    trainEval: true,
    inputs: [],
    learnable: [],
    paper: "Yu, Wang, Chen & Wei, Mixed Pooling for Convolutional Neural Networks, RSKT 2014",
    summary: "Each feature map is max-pooled or average-pooled at random in training (λ ~ Bernoulli(0.5)); eval uses the branch chosen more often.",
    // maxFrequency 0.5 (no training counts yet) makes eval a tie, which the paper's rule resolves to max.
    defaults: { kernelSize: 2, stride: 2, granularity: "channel", evalMode: "frequency", maxFrequency: 0.5 },
    outputShape: (xShape, options) => mixedPool2d.outputShape(xShape, options as never),
  },
  {
    name: "LearnedMix",
    aliases: ["learnedmix", "learnedmixed", "mixedmaxaverage", "learnedmixedpooling"],
    ...opsByRank({ 2: learnedMixPool2d }),
    category: "learned",
    random: false,
    trainEval: false,
    inputs: [
      {
        name: "alpha",
        role: "learnable",
        shape: (xShape, options) => paramShape(sharingOf(options), channelsOf(xShape, 2), null),
        // 0.5 for the default clamped mixing (equal max and average), 0 (σ(0) = 0.5) for mixing "sigmoid".
        init: (shape, _gen, _x, options) => new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(ownOption(options, "mixing") === "sigmoid" ? 0 : 0.5),
        doc: "mixing weight a (max share), [1] per layer or [C] per channel; keep in [0, 1] by projection (mixing 'clamped') or pass a logit (mixing 'sigmoid')",
      },
    ],
    learnable: ["alpha"],
    paper: LEE_PAPER,
    summary: "y = a·max + (1 − a)·avg with a learned mixing weight a ∈ [0, 1] per layer or channel.",
    defaults: { kernelSize: 3, stride: 2, sharing: "layer" },
    outputShape: (xShape, options) => learnedMixPool2d.outputShape(xShape, options as never),
  },
  {
    name: "GatedMix",
    aliases: ["gated", "gatedmix", "gatedmaxavg", "gatedmaxaverage", "gatedpooling"],
    ...opsByRank({ 2: gatedMixPool2d }),
    category: "learned",
    random: false,
    trainEval: false,
    inputs: [maskInput("gate", "gating mask ω over the window (row-major), [1, kH, kW] per layer or [C, kH, kW] per channel; init N(0, 0.1²)")],
    learnable: ["gate"],
    paper: LEE_PAPER,
    summary: "y = g·max + (1 − g)·avg with a responsive gate g = σ(ωᵀx) from a learned mask ω (no bias).",
    defaults: { kernelSize: 3, stride: 2, sharing: "layer" },
    outputShape: (xShape, options) => gatedMixPool2d.outputShape(xShape, options as never),
  },
  {
    name: "Tree",
    aliases: ["tree", "treepool", "treepooling", "tree2"],
    ...opsByRank({ 2: treePool2d }),
    category: "learned",
    random: false,
    trainEval: false,
    inputs: [
      maskInput("v1", "first leaf pooling filter, [1, kH, kW] per layer or [C, kH, kW]; init N(0, 0.1²)"),
      maskInput("v2", "second leaf pooling filter, shaped like v1; init N(0, 0.1²)"),
      maskInput("omega", "gating mask ω choosing between the leaves, shaped like v1; init N(0, 0.1²)"),
    ],
    learnable: ["v1", "v2", "omega"],
    paper: LEE_PAPER,
    summary: "2-level tree: y = g·v1ᵀx + (1 − g)·v2ᵀx, g = σ(ωᵀx), with learned leaf filters v1, v2 and gate ω.",
    defaults: { kernelSize: 3, stride: 2, sharing: "layer" },
    outputShape: (xShape, options) => treePool2d.outputShape(xShape, options as never),
  },
  {
    name: "Stochastic",
    aliases: ["stochastic", "stochasticpooling", "zeiler"],
    ...opsByRank({ 2: stochasticPool2d }),
    category: "stochastic",
    random: true,
    trainEval: true,
    inputs: [],
    learnable: [],
    paper: "Zeiler & Fergus, Stochastic Pooling for Regularization of Deep Convolutional Neural Networks, ICLR 2013",
    summary: "Training samples one activation per window with p ∝ x (x ≥ 0 required); eval outputs Σx²/Σx.",
    defaults: { kernelSize: 3, stride: 2 },
    outputShape: (xShape, options) => stochasticPool2d.outputShape(xShape, options as never),
  },
  {
    name: "S3Pool",
    aliases: ["s3", "s3pool", "s3pooling", "stochasticspatialsampling"],
    ...opsByRank({ 2: s3Pool2d }),
    category: "stochastic",
    random: true,
    trainEval: true,
    inputs: [],
    learnable: [],
    paper: "Zhai, Wu, Kumar, Cheng, Lu, Zhang & Feris, S3Pool: Pooling with Stochastic Spatial Sampling, CVPR 2017",
    summary: "Stride-1 max pool, then random sorted rows and columns per grid cell (shared by the batch); eval averages.",
    defaults: { kernelSize: 2, gridSize: 2, stride: 2 },
    outputShape: (xShape, options) => s3Pool2d.outputShape(xShape, options as never),
  },
];
