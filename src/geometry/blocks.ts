/**
 * Geometry for the weighted methods that is not a plain sliding window (shape-only parsing of an
 * input for `outputShape` is `spatialShapeInput` in src/check.ts):
 * - detail-preserving pooling's non-overlapping 2×2 blocks (H and W even, output H/2 × W/2), and
 *   its full variant's guidance filter, a depthwise 3×3 convolution with stride 2 and padding 1,
 *   whose output grid is the same H/2 × W/2 exactly when H and W are even.
 */
import { PoolkitRangeError, show } from "../errors.js";
import { slidingOutputSize } from "./sliding.js";

export interface BlockGeometry {
  readonly inH: number;
  readonly inW: number;
  /** H/2 and W/2. */
  readonly outH: number;
  readonly outW: number;
}

/**
 * 2×2 block geometry (DPP): H and W must be even. The official Torch graph fails on odd sizes
 * (avg-pool floors, the ×2 nearest upsample then mismatches), so odd sizes are an error, not a crop.
 */
export function blockGeometry(op: string, spatial: readonly number[]): BlockGeometry {
  const [inH, inW] = spatial as [number, number];
  if (inH % 2 !== 0 || inW % 2 !== 0) {
    throw new PoolkitRangeError(op, `x must have even height and width (2×2 blocks), got H, W = ${show([inH, inW])}`);
  }
  const outH = inH / 2;
  const outW = inW / 2;
  // The full variant's 3×3 / stride-2 / pad-1 guidance conv lands on the same grid (asserted, not assumed).
  if (slidingOutputSize(inH, 3, 2, 1, 1, false) !== outH || slidingOutputSize(inW, 3, 2, 1, 1, false) !== outW) {
    throw new PoolkitRangeError(op, `internal: guidance grid does not match the block grid for ${show([inH, inW])}`);
  }
  return { inH, inW, outH, outW };
}
