/**
 * RoIAlign (Mask R-CNN) with torchvision's exact semantics.
 */
import { boolOption, expectOptions, numberOption } from "../check.js";
import { PoolkitRangeError } from "../errors.js";
import { checkSampling, planRoiAlign, roiArgs, roiOutputShape } from "../geometry/roi.js";
import { kernel } from "../kernels/registry.js";
import { roiAlignBackward, roiAlignForward } from "../kernels/region.js";
import { defineOp } from "../op.js";
import type { FloatArray } from "../tensor/dtype.js";
import { emptyTensor, zeros, type Tensor } from "../tensor/tensor.js";

/** Options of {@link roiAlign}. */
export interface RoiAlignOptions {
  /** Bins per RoI, `(ph, pw)` or one number for both. Required. */
  outputSize: number | readonly [number, number];
  /** Factor from box (image) coordinates to feature-map coordinates. Default 1. */
  spatialScale?: number;
  /**
   * Samples per bin along each axis; ≤ 0 means adaptive `ceil(roiSize / outputSize)`. Default −1.
   * At most 2²⁴ samples per box in all (`ph·gh · pw·gw`).
   */
  samplingRatio?: number;
  /** Shift box coordinates by −0.5 pixel (Detectron2's corrected RoIAlign). Default false. */
  aligned?: boolean;
}

const KNOWN = ["outputSize", "spatialScale", "samplingRatio", "aligned"] as const;

/**
 * The plan of RoIAlign: output shape `[K, C, ph, pw]`, bins per side, scale, sampling ratio and
 * alignment. The sample grid of each box depends on its coordinates (data), so the forward pass
 * plans it with src/geometry/roi.ts.
 */
export interface RoiAlignOpPlan {
  readonly outShape: readonly number[];
  readonly outputSize: readonly [number, number];
  readonly spatialScale: number;
  readonly samplingRatio: number;
  readonly aligned: boolean;
}

/** The one plan of RoIAlign: shapes and options parsed and checked once. */
function planRoiAlignOp(xShape: readonly number[], k: number, opts: RoiAlignOptions): RoiAlignOpPlan {
  const op = "roiAlign";
  const o = expectOptions<RoiAlignOptions>(op, opts, KNOWN);
  const scale = numberOption(op, "spatialScale", o.spatialScale, 1, { min: 0, minExclusive: true });
  if (!Number.isFinite(scale)) throw new PoolkitRangeError(op, `spatialScale must be finite, got ${scale}`);
  const sr = numberOption(op, "samplingRatio", o.samplingRatio, -1, { integer: true });
  const aligned = boolOption(op, "aligned", o.aligned, false);
  if (o.outputSize === undefined) throw new PoolkitRangeError(op, `outputSize is required`);
  const outShape = roiOutputShape(op, xShape, k, o.outputSize);
  if (sr > 0) checkSampling(op, outShape[2] as number, outShape[3] as number, sr, sr, `samplingRatio ${sr}`);
  return { outShape, outputSize: [outShape[2] as number, outShape[3] as number], spatialScale: scale, samplingRatio: sr, aligned };
}

/**
 * RoIAlign: `x [N, C, H, W]`, `boxes [K, 5]` rows `(batchIndex, x1, y1, x2, y2)` → `[K, C, ph, pw]`.
 *
 * No quantisation: the scaled box (shifted by −0.5 when `aligned`) is split into `ph × pw` bins of
 * `roiH/ph × roiW/pw` (legacy mode clamps the RoI size to at least 1); each bin averages
 * `gh × gw` bilinear samples at `y1 + i·binH + (iy + ½)·binH/gh`, where `gh = samplingRatio` if > 0
 * else `⌈roiH/ph⌉` (same for w). Samples outside `[−1, H] × [−1, W]` read 0 but still count in the
 * divisor `max(gh·gw, 1)`; samples in `[−1, 0)` are clamped to the first row/column.
 *
 * Cost: `K · C · ph·gh · pw·gw` bilinear samples. A box may take at most 2²⁴ samples
 * (`ph·gh · pw·gw ≤ 16777216`, {@link MAX_SAMPLES_PER_ROI}); a larger `samplingRatio`, or the adaptive
 * grid of a huge box, is a RangeError up front (torchvision has no cap and runs for hours).
 *
 * Paper: He, Gkioxari, Dollár & Girshick, "Mask R-CNN", ICCV 2017, §3; `aligned` is Detectron2's
 * half-pixel correction. Semantics follow torchvision's `roi_align` (tested against torchvision 0.14
 * fixtures for every samplingRatio in {−1, 0, 1, 2, 3} and both `aligned` values). Sample positions are
 * computed in the input dtype as torchvision does; the sums are accumulated in float64 (differences
 * ≤ a few float32 ulps). Deviation: a batch index outside [0, N) or a non-finite coordinate is an error.
 *
 * Backward: each sample scatters dy·weight/count to its four corners; `boxes` gets `null`.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const x = tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);
 * roiAlign(x, tensor([[0, 0, 0, 3, 3]]), { outputSize: 2, samplingRatio: 2 }); // [[[[3.75, 5.25], [9.75, 11.25]]]]
 */
export const roiAlign = defineOp("roiAlign", {
  planArgs: (x: Tensor, boxes: Tensor, opts: RoiAlignOptions): [readonly number[], number, RoiAlignOptions] => [...roiArgs("roiAlign", x, boxes), opts],
  plan: planRoiAlignOp,
  forward: (op, x, boxes) => {
    const plan = planRoiAlign("roiAlign", x, boxes, op.outputSize, op.spatialScale, op.samplingRatio, op.aligned);
    // output and gradient where the backend keeps tensors; views read at the call
    const output = emptyTensor(plan.outShape, x.dtype);
    kernel("roiAlign.forward", x.dtype, roiAlignForward)(x.data as FloatArray, output.data as FloatArray, plan);
    return {
      output,
      backward: (dy: Tensor) => {
        const dx = zeros(x.shape, x.dtype);
        kernel("roiAlign.backward", x.dtype, roiAlignBackward)(dy.data as FloatArray, dx.data as FloatArray, plan);
        return [dx, null];
      },
    };
  },
});
