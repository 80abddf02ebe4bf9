/**
 * RoI max pooling (Fast R-CNN) with torchvision's exact semantics.
 */
import { expectOptions, numberOption } from "../check.js";
import { PoolkitRangeError } from "../errors.js";
import { planRoiPool, roiArgs, roiOutputShape } from "../geometry/roi.js";
import { kernel } from "../kernels/registry.js";
import { roiArgWords, roiPoolBackward, roiPoolForward } from "../kernels/region.js";
import { defineOp } from "../op.js";
import type { FloatArray } from "../tensor/dtype.js";
import { emptyTensor, type Tensor } from "../tensor/tensor.js";

/** Options of {@link roiPool}. */
export interface RoiPoolOptions {
  /** Bins per RoI, `(ph, pw)` or one number for both. Required. */
  outputSize: number | readonly [number, number];
  /** Factor from box (image) coordinates to feature-map coordinates, e.g. 1/16. Default 1. */
  spatialScale?: number;
}

const KNOWN = ["outputSize", "spatialScale"] as const;

/**
 * The plan of RoIPool: output shape `[K, C, ph, pw]`, bins per side and the scale. The bins of each
 * box depend on its coordinates (data), so the forward pass plans them with src/geometry/roi.ts.
 */
export interface RoiPoolOpPlan {
  readonly outShape: readonly number[];
  readonly outputSize: readonly [number, number];
  readonly spatialScale: number;
}

/** The one plan of RoIPool: shapes and options parsed and checked once. */
function planRoiPoolOp(xShape: readonly number[], k: number, opts: RoiPoolOptions): RoiPoolOpPlan {
  const o = expectOptions<RoiPoolOptions>("roiPool", opts, KNOWN);
  const scale = numberOption("roiPool", "spatialScale", o.spatialScale, 1, { min: 0, minExclusive: true });
  if (!Number.isFinite(scale)) throw new PoolkitRangeError("roiPool", `spatialScale must be finite, got ${scale}`);
  if (o.outputSize === undefined) throw new PoolkitRangeError("roiPool", `outputSize is required`);
  const outShape = roiOutputShape("roiPool", xShape, k, o.outputSize);
  return { outShape, outputSize: [outShape[2] as number, outShape[3] as number], spatialScale: scale };
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
export const roiPool = defineOp("roiPool", {
  planArgs: (x: Tensor, boxes: Tensor, opts: RoiPoolOptions): [readonly number[], number, RoiPoolOptions] => [...roiArgs("roiPool", x, boxes), opts],
  plan: planRoiPoolOp,
  forward: (op, x, boxes) => {
    const plan = planRoiPool("roiPool", x, boxes, op.outputSize, op.spatialScale);
    const dtype = x.dtype as "float32" | "float64";
    // output and the saved argmax (16-bit entries when the plane allows, see roiArgCompact) where the
    // backend keeps tensors (the kernel writes every output element and argmax entry); views read at the call
    const output = emptyTensor(plan.outShape, dtype);
    const arg = emptyTensor([roiArgWords(plan)], "int32");
    kernel("roiPool.forward", dtype, roiPoolForward)(x.data as FloatArray, output.data as FloatArray, arg.data as Int32Array, plan);
    return {
      output,
      backward: (dy: Tensor) => {
        const dx = emptyTensor(x.shape, dtype); // written by the kernel (zeroed, then the scatter)
        kernel("roiPool.backward", dtype, roiPoolBackward)(dy.data as FloatArray, arg.data as Int32Array, dx.data as FloatArray, plan);
        return [dx, null];
      },
    };
  },
});
