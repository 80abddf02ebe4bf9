/**
 * Spatial pyramid pooling (SPP-net) over adaptive bins.
 */
import { enumOption, expectOptions, spatialShapeInput, type SpatialInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { adaptiveOutputShape, planAdaptiveFor } from "../geometry/adaptive.js";
import { avgDivisors } from "../geometry/divisors.js";
import type { WindowPlan } from "../geometry/plan.js";
import { kernel } from "../kernels/registry.js";
import { avgWindowsBackward, avgWindowsForward, maxWindowsBackward, maxWindowsForward } from "../kernels/window.js";
import { defineOp, xShapeArgsOptional } from "../op.js";
import { checkAlloc } from "../tensor/limits.js";
import type { FloatArray } from "../tensor/dtype.js";
import { emptyTensor, zeros, type Tensor } from "../tensor/tensor.js";

/** Options of {@link spatialPyramidPool}. */
export interface SpatialPyramidPoolOptions {
  /** Bins per side of each pyramid level, in output order; at most 64 levels ({@link MAX_LEVELS}). Default `[4, 2, 1]`. */
  levels?: readonly number[];
  /** Pooling inside each bin. Default `"max"` (the paper's). */
  mode?: "max" | "avg";
}

const OP = "spatialPyramidPool";
const KNOWN = ["levels", "mode"] as const;

/**
 * Most pyramid levels: 64 (SPP-net uses 3 or 4). Each level is a separate adaptive pooling pass,
 * and 10⁵ levels of size 1 took 21 s for an output of 6·10⁵ numbers.
 */
export const MAX_LEVELS = 64;

function parseLevels(levels: unknown): number[] {
  if (levels === undefined) return [4, 2, 1];
  if (!Array.isArray(levels) || levels.length === 0) {
    throw new PoolkitTypeError(OP, `levels must be a non-empty array of positive integers, got ${show(levels)}`);
  }
  if (levels.length > MAX_LEVELS) throw new PoolkitRangeError(OP, `levels must have at most ${MAX_LEVELS} entries (SPP-net uses 3 or 4), got ${levels.length}`);
  for (const n of levels) {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
      throw new PoolkitRangeError(OP, `levels must hold positive integers, got ${show(levels)}`);
    }
  }
  return (levels as number[]).slice();
}

/** Per level: its adaptive plan and its offset inside one sample's output vector. */
interface Level {
  readonly plan: WindowPlan;
  readonly offset: number;
  readonly div: Float64Array | null;
}

/** The plan of spatial pyramid pooling: one adaptive-bin plan per level and where its block goes. */
export interface PyramidPlan {
  readonly levels: readonly Level[];
  readonly mode: "max" | "avg";
  readonly n: number;
  readonly perSample: number;
  readonly outShape: readonly number[];
}

function pyramidShape(input: SpatialInput, ns: readonly number[]): number[] {
  const per = ns.reduce((a, k) => a + input.c * adaptiveOutputShape(OP, k, input.spatial).reduce((p, q) => p * q, 1), 0);
  return input.batched ? [input.n, per] : [per];
}

/** The one plan of the op: shape and options parsed and checked once. */
function planPyramid(shape: readonly number[], opts?: SpatialPyramidPoolOptions): PyramidPlan {
  const input = spatialShapeInput(OP, "x", shape, 2);
  const o = expectOptions<SpatialPyramidPoolOptions>(OP, opts, KNOWN);
  const ns = parseLevels(o.levels);
  const mode = enumOption(OP, "mode", o.mode, ["max", "avg"] as const, "max");
  // The whole output first: each level alone may fit the size limit while their sum does not.
  const outShape = pyramidShape(input, ns);
  checkAlloc(OP, outShape);
  let offset = 0;
  const levels: Level[] = [];
  for (const n of ns) {
    // One geometry for every level: PyTorch's adaptive bins (src/geometry/adaptive.ts).
    const plan = planAdaptiveFor(OP, input, n);
    levels.push({ plan, offset, div: mode === "avg" ? avgDivisors(plan.axes, true) : null });
    offset += plan.c * plan.outPlaneSize;
  }
  return { levels, mode, n: input.n, perSample: offset, outShape };
}

function scatterLevel(src: FloatArray, dst: FloatArray, n: number, block: number, offset: number, perSample: number): void {
  for (let s = 0; s < n; s++) dst.set(src.subarray(s * block, (s + 1) * block), s * perSample + offset);
}

function gatherLevel(src: FloatArray, dst: FloatArray, n: number, block: number, offset: number, perSample: number): void {
  for (let s = 0; s < n; s++) dst.set(src.subarray(s * perSample + offset, s * perSample + offset + block), s * block);
}

/**
 * Spatial pyramid pooling: `[N, C, H, W]` → `[N, C·Σ n²]` (unbatched `[C, H, W]` → `[C·Σ n²]`).
 *
 * For each level n (in the given order) the map is pooled to n × n adaptive bins — bin i spans
 * `[⌊i·H/n⌋, ⌈(i+1)·H/n⌉)`, PyTorch's adaptive pooling — and flattened as `[C, n, n]`; the levels
 * are concatenated (level-major, then channel, row, column). Output length per sample: `C · Σ n²`
 * (e.g. levels [4, 2, 1] give 21·C). Works for any H, W ≥ 1, including maps smaller than n.
 *
 * Paper: He, Zhang, Ren & Sun, "Spatial Pyramid Pooling in Deep Convolutional Networks for Visual
 * Recognition", ECCV 2014. Deviation (deliberate): the paper's window ⌈a/n⌉ / stride ⌊a/n⌋ rule and
 * Caffe's padded variant do not give n bins on many map sizes (a=5, n=3 → 4 bins; a=7, n=4 → 6;
 * Caffe a=2, n=4 → 3; the common PyTorch port throws for a=13, n=6), which would change the feature
 * length. Adaptive bins give exactly n × n for every size and equal the paper's bins where its rule
 * is exact (docs/methods/adaptive.md). `mode: "avg"` averages each bin instead of taking its maximum
 * (max follows PyTorch: ties → first, NaN propagates).
 *
 * Backward: the per-level adaptive-pooling gradients, summed into one dx.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const x = tensor(Array.from({ length: 32 }, (_, i) => i), [1, 2, 4, 4]);
 * spatialPyramidPool(x, { levels: [2, 1] }); // [[5, 7, 13, 15, 21, 23, 29, 31, 15, 31]]
 */
export const spatialPyramidPool = defineOp(OP, {
  planArgs: xShapeArgsOptional<SpatialPyramidPoolOptions>(OP),
  plan: planPyramid,
  forward: ({ levels, mode, n, perSample, outShape }, x) => {
    const dtype = x.dtype as "float32" | "float64";
    const output = emptyTensor(outShape, dtype);
    const indices: Tensor[] = [];
    for (const { plan, offset, div } of levels) {
      // each level's block, then copied into its place in every sample's row; views read at each call
      const tmp = emptyTensor([plan.planes * plan.outPlaneSize], dtype);
      if (mode === "max") {
        const idx = emptyTensor(tmp.shape, "int32");
        kernel("maxWindows.forward", dtype, maxWindowsForward)(x.data as FloatArray, tmp.data as FloatArray, idx.data as Int32Array, plan.planes, plan.axes);
        indices.push(idx);
      } else {
        kernel("avgWindows.forward", dtype, avgWindowsForward)(x.data as FloatArray, tmp.data as FloatArray, plan.planes, plan.axes, div as Float64Array);
      }
      scatterLevel(tmp.data as FloatArray, output.data as FloatArray, n, plan.c * plan.outPlaneSize, offset, perSample);
      tmp.dispose();
    }
    return {
      output,
      backward: (dy: Tensor) => {
        const dx = zeros(x.shape, dtype);
        levels.forEach(({ plan, offset, div }, l) => {
          const block = plan.c * plan.outPlaneSize;
          const g = emptyTensor([plan.planes * plan.outPlaneSize], dtype);
          gatherLevel(dy.data as FloatArray, g.data as FloatArray, n, block, offset, perSample);
          if (mode === "max") {
            kernel("maxWindows.backward", dtype, maxWindowsBackward)(g.data as FloatArray, (indices[l] as Tensor).data as Int32Array, dx.data as FloatArray, plan.planes, plan.inPlaneSize, plan.outPlaneSize);
          } else {
            kernel("avgWindows.backward", dtype, avgWindowsBackward)(g.data as FloatArray, dx.data as FloatArray, plan.planes, plan.axes, div as Float64Array);
          }
          g.dispose();
        });
        return [dx];
      },
    };
  },
});
