/**
 * Registry descriptors of the PyTorch sliding-window family (max, average, LP pooling, max
 * unpooling) and global average / max pooling. Output shapes come from the ops' own `outputShape`
 * (the same geometry as their forward passes).
 */
import type { InputSpec, PoolMethod } from "../registry.js";
import { rankOps } from "./common.js";
import type { Generator } from "../tensor/random.js";
import { maxPool1d, maxPool2d, maxPool3d } from "../ops/maxPool.js";
import { avgPool1d, avgPool2d, avgPool3d } from "../ops/avgPool.js";
import { lpPool1d, lpPool2d, lpPool3d } from "../ops/lpPool.js";
import { maxUnpool1d, maxUnpool2d, maxUnpool3d, unpoolOutputSpatial } from "../ops/maxUnpool.js";
import { globalAvgPool, globalMaxPool } from "../ops/globalPool.js";

/** Max pooling (`maxPool1d/2d/3d`; the `WithIndices` variants are exported beside them). */
export const Max: PoolMethod = {
  name: "Max",
  aliases: ["max", "max-pool", "maxpool"],
  ...rankOps("Max", { 1: maxPool1d, 2: maxPool2d, 3: maxPool3d }),
  category: "sliding",
  random: false,
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: "Riesenhuber & Poggio, Hierarchical models of object recognition in cortex, Nature Neuroscience 1999 (PyTorch MaxPool semantics)",
  summary: "Maximum over sliding windows with padding (symmetric, or per side as [[before, after], …]), dilation and ceil mode; ties go to the first maximum, NaN propagates (PyTorch semantics).",
  defaults: { kernelSize: 3, stride: 2, padding: 1 },
};

/** Average pooling (`avgPool1d/2d/3d`). */
export const Average: PoolMethod = {
  name: "Average",
  aliases: ["avg", "average", "mean", "avg-pool"],
  ...rankOps("Average", { 1: avgPool1d, 2: avgPool2d, 3: avgPool3d }),
  category: "sliding",
  random: false,
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: "LeCun, Bottou, Bengio & Haffner, Gradient-based learning applied to document recognition, Proc. IEEE 1998 (PyTorch AvgPool semantics)",
  summary: "Mean over sliding windows; with padding (symmetric, or per side as [[before, after], …]) and ceil mode the divisor follows PyTorch (countIncludePad clips at In + p_after, or divisorOverride).",
  defaults: { kernelSize: 2 },
};

/** Power-average pooling (`lpPool1d/2d/3d`). */
export const LP: PoolMethod = {
  name: "LP",
  aliases: ["power-average", "lp", "lp-pool", "lppool"],
  ...rankOps("LP", { 1: lpPool1d, 2: lpPool2d, 3: lpPool3d }),
  category: "sliding",
  random: false,
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: "Sermanet, Chintala & LeCun, Convolutional neural networks applied to house numbers digit classification, ICPR 2012 (PyTorch LPPool formula)",
  summary: "(Σ_window x^p)^(1/p) computed as PyTorch does, (avg_pool(x^p)·prod(k))^(1/p) with the sign/relu trick: zero gradient where the pooled value is 0. Optional zero padding (lp_pool of the padded input).",
  defaults: { normType: 2, kernelSize: 2 },
};

/**
 * Example indices for max unpooling: for each pooled position, one position per axis inside the
 * part of its window that no other window starts in (so the indices are distinct, as from
 * non-overlapping max pooling), within the unpooled output of the options' size.
 */
function exampleUnpoolIndices(shape: readonly number[], gen: Generator, _xShape: readonly number[], options: Record<string, unknown>): Float64Array {
  const rank = shape.length - 2; // the registry's inputs are batched: [N, C, ...spatial]
  const spatial = shape.slice(2);
  const { out, kernelSize, stride, padding } = unpoolOutputSpatial("MaxUnpool", spatial, options);
  const planes = (shape[0] as number) * (shape[1] as number);
  const inPlane = spatial.reduce((a, b) => a * b, 1);
  const result = new Float64Array(planes * inPlane);
  const pos = new Array<number>(rank).fill(0);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < inPlane; i++) {
      let rem = i;
      for (let a = rank - 1; a >= 0; a--) {
        const size = spatial[a] as number;
        pos[a] = rem % size;
        rem = Math.floor(rem / size);
      }
      let flat = 0;
      for (let a = 0; a < rank; a++) {
        const s = stride[a] as number;
        const lo = Math.max(0, (pos[a] as number) * s - (padding[a] as number));
        const hi = Math.min(out[a] as number, (pos[a] as number) * s - (padding[a] as number) + Math.min(s, kernelSize[a] as number));
        const at = hi > lo ? lo + gen.int(hi - lo) : Math.min(lo, (out[a] as number) - 1);
        flat = flat * (out[a] as number) + at;
      }
      result[p * inPlane + i] = flat;
    }
  }
  return result;
}

const UNPOOL_INDICES: InputSpec = {
  name: "indices",
  role: "constant",
  dtype: "int32",
  shape: (xShape) => [...xShape],
  init: exampleUnpoolIndices,
  doc: "int32 positions in each output plane, as returned by maxPoolNdWithIndices (same shape as x)",
};

/** Max unpooling (`maxUnpool1d/2d/3d`): x is the pooled tensor, followed by its indices. */
export const MaxUnpool: PoolMethod = {
  name: "MaxUnpool",
  aliases: ["max-unpool", "unpool", "maxunpooling"],
  ...rankOps("MaxUnpool", { 1: maxUnpool1d, 2: maxUnpool2d, 3: maxUnpool3d }),
  category: "sliding",
  random: false,
  trainEval: false,
  inputs: [UNPOOL_INDICES],
  learnable: [],
  paper: "Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014 (PyTorch MaxUnpool semantics)",
  summary: "Writes each value at its max-pooling index in a zero tensor of size (In − 1)·s + k − 2p (or outputSize); backward gathers.",
  defaults: { kernelSize: 2 },
};

/** Global average pooling (`globalAvgPool`, any number of spatial dims). */
export const GlobalAverage: PoolMethod = {
  name: "GlobalAverage",
  aliases: ["gap", "global-average", "global-avg", "globalavgpool"],
  // One op for every rank; a wrong `dims` is reported under the op's name.
  ...rankOps(globalAvgPool.opName, { 1: globalAvgPool, 2: globalAvgPool, 3: globalAvgPool }),
  category: "adaptive",
  random: false,
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: "Lin, Chen & Yan, Network In Network, ICLR 2014",
  summary: "Mean of each channel over all spatial positions: [N, C, ...] → [N, C].",
  defaults: {},
};

/** Global max pooling (`globalMaxPool`, any number of spatial dims). */
export const GlobalMax: PoolMethod = {
  name: "GlobalMax",
  aliases: ["gmp", "global-max", "globalmaxpool"],
  // One op for every rank; a wrong `dims` is reported under the op's name.
  ...rankOps(globalMaxPool.opName, { 1: globalMaxPool, 2: globalMaxPool, 3: globalMaxPool }),
  category: "adaptive",
  random: false,
  trainEval: false,
  inputs: [],
  learnable: [],
  paper: "Oquab, Bottou, Laptev & Sivic, Is object localization for free? Weakly-supervised learning with convolutional neural networks, CVPR 2015",
  summary: "Maximum of each channel over all spatial positions: [N, C, ...] → [N, C]; the whole gradient goes to the first maximum (not amax's tie splitting).",
  defaults: {},
};

/** The PyTorch family, in registry order. */
export const PYTORCH_METHODS: readonly PoolMethod[] = [Max, Average, LP, MaxUnpool, GlobalAverage, GlobalMax];
