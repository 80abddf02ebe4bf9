/**
 * RoIAlign (Mask R-CNN) with torchvision's exact semantics.
 */
import { boolOption, expectOptions, numberOption } from "../check.js";
import { PoolkitRangeError } from "../errors.js";
import { checkSampling, MAX_SAMPLES_PER_ROI, planRoiAlign, roiOutputShape, type RoiAlignPlan } from "../geometry/roi.js";
import { kernel } from "../kernels/registry.js";
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
 * y[r, c, i, j] = Σ over the bin's samples of bilinear(x plane, y, x) / count[r]. The sample grid is
 * separable (plan.ys × plan.xs), so each sample's four weights are products of per-axis weights.
 */
export function roiAlignForward(x: FloatArray, y: FloatArray, p: RoiAlignPlan): void {
  const { k, c: C, h: H, w: W, ph, pw, batch, ys, xs, count } = p;
  const yLow = ys.low, yHigh = ys.high, yW0 = ys.wLow, yW1 = ys.wHigh;
  const xLow = xs.low, xHigh = xs.high, xW0 = xs.wLow, xW1 = xs.wHigh;
  const plane = H * W;
  let o = 0;
  for (let r = 0; r < k; r++) {
    const b = batch[r] as number;
    const gh = ys.grid[r] as number;
    const gw = xs.grid[r] as number;
    const yo = ys.off[r] as number;
    const xoff = xs.off[r] as number;
    const inv = count[r] as number;
    for (let c = 0; c < C; c++) {
      const base = (b * C + c) * plane;
      for (let i = 0; i < ph; i++) {
        for (let j = 0; j < pw; j++, o++) {
          let acc = 0;
          for (let iy = 0; iy < gh; iy++) {
            const sy = yo + i * gh + iy;
            const yl = yLow[sy] as number;
            if (yl < 0) continue;
            const rl = base + yl * W;
            const rh = base + (yHigh[sy] as number) * W;
            const hy = yW0[sy] as number;
            const ly = yW1[sy] as number;
            for (let ix = 0; ix < gw; ix++) {
              const sx = xoff + j * gw + ix;
              const xl = xLow[sx] as number;
              if (xl < 0) continue;
              const xh = xHigh[sx] as number;
              const hx = xW0[sx] as number;
              const lx = xW1[sx] as number;
              acc +=
                hy * hx * (x[rl + xl] as number) +
                hy * lx * (x[rl + xh] as number) +
                ly * hx * (x[rh + xl] as number) +
                ly * lx * (x[rh + xh] as number);
            }
          }
          y[o] = acc / inv;
        }
      }
    }
  }
}

/** Scatter dy·w/count to the four corners of every in-range sample (coinciding corners add up). */
export function roiAlignBackward(dy: FloatArray, dx: FloatArray, p: RoiAlignPlan): void {
  const { k, c: C, h: H, w: W, ph, pw, batch, ys, xs, count } = p;
  const yLow = ys.low, yHigh = ys.high, yW0 = ys.wLow, yW1 = ys.wHigh;
  const xLow = xs.low, xHigh = xs.high, xW0 = xs.wLow, xW1 = xs.wHigh;
  const plane = H * W;
  let o = 0;
  for (let r = 0; r < k; r++) {
    const b = batch[r] as number;
    const gh = ys.grid[r] as number;
    const gw = xs.grid[r] as number;
    const yo = ys.off[r] as number;
    const xoff = xs.off[r] as number;
    const inv = count[r] as number;
    for (let c = 0; c < C; c++) {
      const base = (b * C + c) * plane;
      for (let i = 0; i < ph; i++) {
        for (let j = 0; j < pw; j++, o++) {
          const g = (dy[o] as number) / inv;
          for (let iy = 0; iy < gh; iy++) {
            const sy = yo + i * gh + iy;
            const yl = yLow[sy] as number;
            if (yl < 0) continue;
            const rl = base + yl * W;
            const rh = base + (yHigh[sy] as number) * W;
            const gy0 = g * (yW0[sy] as number);
            const gy1 = g * (yW1[sy] as number);
            for (let ix = 0; ix < gw; ix++) {
              const sx = xoff + j * gw + ix;
              const xl = xLow[sx] as number;
              if (xl < 0) continue;
              const xh = xHigh[sx] as number;
              const hx = xW0[sx] as number;
              const lx = xW1[sx] as number;
              dx[rl + xl] = (dx[rl + xl] as number) + gy0 * hx;
              dx[rl + xh] = (dx[rl + xh] as number) + gy0 * lx;
              dx[rh + xl] = (dx[rh + xl] as number) + gy1 * hx;
              dx[rh + xh] = (dx[rh + xh] as number) + gy1 * lx;
            }
          }
        }
      }
    }
  }
}

/** Validated options (shared by the forward pass and `outputShape`, so both reject the same input). */
function parseOptions(opts: RoiAlignOptions | undefined): { outputSize: unknown; scale: number; sr: number; aligned: boolean } {
  const op = "roiAlign";
  const o = expectOptions<RoiAlignOptions>(op, opts, KNOWN);
  const scale = numberOption(op, "spatialScale", o.spatialScale, 1, { min: 0, minExclusive: true });
  if (!Number.isFinite(scale)) throw new PoolkitRangeError(op, `spatialScale must be finite, got ${scale}`);
  const sr = numberOption(op, "samplingRatio", o.samplingRatio, -1, { integer: true });
  const aligned = boolOption(op, "aligned", o.aligned, false);
  if (o.outputSize === undefined) throw new PoolkitRangeError(op, `outputSize is required`);
  return { outputSize: o.outputSize, scale, sr, aligned };
}

function parse(x: Tensor, boxes: Tensor, opts: RoiAlignOptions | undefined): RoiAlignPlan {
  const { outputSize, scale, sr, aligned } = parseOptions(opts);
  return planRoiAlign("roiAlign", x, boxes, outputSize, scale, sr, aligned);
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
export const roiAlign = defineOp(
  "roiAlign",
  (x: Tensor, boxes: Tensor, opts: RoiAlignOptions) => {
    const plan = parse(x, boxes, opts);
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
  {
    /** `[K, C, ph, pw]` for x `[N, C, H, W]` and `k` boxes. */
    outputShape: (xShape: readonly number[], k: number, opts: RoiAlignOptions): number[] => {
      const { outputSize, sr } = parseOptions(opts);
      const shape = roiOutputShape("roiAlign", xShape, k, outputSize);
      if (sr > 0) checkSampling("roiAlign", shape[2] as number, shape[3] as number, sr, sr, `samplingRatio ${sr}`);
      return shape;
    },
  },
);
