/**
 * Geometry for the weighted methods that is not a plain sliding window:
 * - shape-only parsing of `[N, C, ...spatial]` / `[C, ...spatial]` (for `outputShape` functions that
 *   get a shape, not a tensor);
 * - detail-preserving pooling's non-overlapping 2×2 blocks (H and W even, output H/2 × W/2), and
 *   its full variant's guidance filter, a depthwise 3×3 convolution with stride 2 and padding 1,
 *   whose output grid is the same H/2 × W/2 exactly when H and W are even.
 */
import type { SpatialInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { slidingOutputSize } from "./sliding.js";

const AXIS_NAMES: Record<number, string> = { 1: "L", 2: "H, W", 3: "D, H, W" };

/** Like `spatialInput` in check.ts, but for a bare shape (used by `outputShape` functions). */
export function spatialShape(op: string, name: string, shape: unknown, rank: number): SpatialInput {
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== "number" || !Number.isInteger(d) || d < 0)) {
    throw new PoolkitTypeError(op, `${name} shape must be an array of non-negative integers, got ${show(shape)}`);
  }
  const s = shape as number[];
  const axes = AXIS_NAMES[rank] ?? "...";
  if (s.length !== rank + 1 && s.length !== rank + 2) {
    throw new PoolkitRangeError(op, `${name} must have shape [N, C, ${axes}] or [C, ${axes}], got ${show(s)}`);
  }
  const batched = s.length === rank + 2;
  for (let i = batched ? 1 : 0; i < s.length; i++) {
    if (s[i] === 0) throw new PoolkitRangeError(op, `${name} must have non-empty channel and spatial dims, got shape ${show(s)}`);
  }
  return { batched, n: batched ? (s[0] as number) : 1, c: s[batched ? 1 : 0] as number, spatial: s.slice(s.length - rank) };
}

/** The leading dims of an output: `[N, C]` for batched input, `[C]` for unbatched. */
export function leadDims(input: SpatialInput): number[] {
  return input.batched ? [input.n, input.c] : [input.c];
}

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
