/**
 * RoI max pooling (Fast R-CNN) with torchvision's exact semantics.
 */
import { expectOptions, numberOption } from "../check.js";
import { PoolkitRangeError } from "../errors.js";
import { planRoiPool, roiOutputShape, NEG_FLT_MAX, type RoiPoolPlan } from "../geometry/roi.js";
import { kernel } from "../kernels/registry.js";
import { defineOp } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray } from "../tensor/dtype.js";
import { fromArray, type Tensor } from "../tensor/tensor.js";

/** Options of {@link roiPool}. */
export interface RoiPoolOptions {
  /** Bins per RoI, `(ph, pw)` or one number for both. Required. */
  outputSize: number | readonly [number, number];
  /** Factor from box (image) coordinates to feature-map coordinates, e.g. 1/16. Default 1. */
  spatialScale?: number;
}

const KNOWN = ["outputSize", "spatialScale"] as const;

/**
 * y[r, c, i, j] = max over bin (i, j) of RoI r; argmax[r, c, i, j] = flat in-plane index (h·W + w) or −1.
 * Scans rows then columns with a strict `>`: ties keep the first maximum and NaN is never selected.
 * An empty bin gives 0; a non-empty bin with no value above −FLT_MAX gives −FLT_MAX (torchvision).
 */
export function roiPoolForward(x: FloatArray, y: FloatArray, arg: Int32Array, p: RoiPoolPlan): void {
  const { k, c: C, h: H, w: W, ph, pw, batch, hStart, hEnd, wStart, wEnd } = p;
  const plane = H * W;
  let o = 0;
  for (let r = 0; r < k; r++) {
    const b = batch[r] as number;
    for (let c = 0; c < C; c++) {
      const xo = (b * C + c) * plane;
      for (let i = 0; i < ph; i++) {
        const h0 = hStart[r * ph + i] as number;
        const h1 = hEnd[r * ph + i] as number;
        for (let j = 0; j < pw; j++, o++) {
          const w0 = wStart[r * pw + j] as number;
          const w1 = wEnd[r * pw + j] as number;
          const empty = h1 <= h0 || w1 <= w0;
          let best = empty ? 0 : NEG_FLT_MAX;
          let bi = -1;
          for (let hh = h0; hh < h1; hh++) {
            for (let ww = w0; ww < w1; ww++) {
              const v = x[xo + hh * W + ww] as number;
              if (v > best) {
                best = v;
                bi = hh * W + ww;
              }
            }
          }
          y[o] = best;
          arg[o] = bi;
        }
      }
    }
  }
}

/** dx[b, c].flat[argmax] += dy, skipping argmax −1; accumulates over overlapping bins and RoIs. */
export function roiPoolBackward(dy: FloatArray, arg: Int32Array, dx: FloatArray, p: RoiPoolPlan): void {
  const { k, c: C, h: H, w: W, ph, pw, batch } = p;
  const plane = H * W;
  const bins = ph * pw;
  let o = 0;
  for (let r = 0; r < k; r++) {
    const b = batch[r] as number;
    for (let c = 0; c < C; c++) {
      const xo = (b * C + c) * plane;
      for (let q = 0; q < bins; q++, o++) {
        const a = arg[o] as number;
        if (a >= 0) dx[xo + a] = (dx[xo + a] as number) + (dy[o] as number);
      }
    }
  }
}

/** Validated options (shared by the forward pass and `outputShape`, so both reject the same input). */
function parseOptions(opts: RoiPoolOptions | undefined): { outputSize: unknown; scale: number } {
  const o = expectOptions<RoiPoolOptions>("roiPool", opts, KNOWN);
  const scale = numberOption("roiPool", "spatialScale", o.spatialScale, 1, { min: 0, minExclusive: true });
  if (!Number.isFinite(scale)) throw new PoolkitRangeError("roiPool", `spatialScale must be finite, got ${scale}`);
  if (o.outputSize === undefined) throw new PoolkitRangeError("roiPool", `outputSize is required`);
  return { outputSize: o.outputSize, scale };
}

function parse(x: Tensor, boxes: Tensor, opts: RoiPoolOptions | undefined): RoiPoolPlan {
  const { outputSize, scale } = parseOptions(opts);
  return planRoiPool("roiPool", x, boxes, outputSize, scale);
}

/**
 * RoI max pooling: `x [N, C, H, W]`, `boxes [K, 5]` rows `(batchIndex, x1, y1, x2, y2)` → `[K, C, ph, pw]`.
 *
 * Each box is scaled by `spatialScale`, rounded half away from zero (C `round`), and split into
 * `ph × pw` bins of `(y2 − y1 + 1)/ph × (x2 − x1 + 1)/pw` (inclusive size, at least 1), bin i spanning
 * rows `[⌊i·bin⌋, ⌈(i+1)·bin⌉) + y1` clipped to the map — so bins may overlap or be empty. Each bin
 * takes its maximum; empty bins give 0.
 *
 * Paper: Girshick, "Fast R-CNN", ICCV 2015, §2.1. Semantics follow torchvision's `roi_pool` exactly
 * (tested against torchvision 0.14 fixtures), including the points that differ from `maxPool2d`:
 * NaN is never selected and a non-empty bin of NaNs gives −3.4028235e38 (−FLT_MAX). Bin arithmetic is
 * done in the input dtype (Math.fround for float32) so bin edges agree with torchvision bit for bit.
 * Deviation: torchvision does not check boxes; here a batch index outside [0, N) or a non-finite
 * coordinate is an error instead of reading out of bounds.
 *
 * Backward: the gradient flows to each bin's argmax (accumulated); `boxes` gets `null`.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const x = tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);
 * roiPool(x, tensor([[0, 0, 0, 3, 3]]), { outputSize: 2 }); // [[[[5, 7], [13, 15]]]]
 */
export const roiPool = defineOp(
  "roiPool",
  (x: Tensor, boxes: Tensor, opts: RoiPoolOptions) => {
    const plan = parse(x, boxes, opts);
    const size = plan.k * plan.c * plan.ph * plan.pw;
    const y = allocArray(x.dtype as "float32" | "float64", size);
    const arg = allocArray("int32", size);
    kernel("roiPool.forward", x.dtype, roiPoolForward)(x.data as FloatArray, y, arg, plan);
    return {
      output: fromArray(y, plan.outShape),
      backward: (dy: Tensor) => {
        const dx = allocArray(x.dtype as "float32" | "float64", x.size);
        kernel("roiPool.backward", x.dtype, roiPoolBackward)(dy.data as FloatArray, arg, dx, plan);
        return [fromArray(dx, x.shape), null];
      },
    };
  },
  {
    /** `[K, C, ph, pw]` for x `[N, C, H, W]` and `k` boxes. */
    outputShape: (xShape: readonly number[], k: number, opts: RoiPoolOptions): number[] => roiOutputShape("roiPool", xShape, k, parseOptions(opts).outputSize),
  },
);
