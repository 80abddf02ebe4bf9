/**
 * DynOPool's grid (Jang, Chu, Kim & Han, "Pooling Revisited: Your Receptive Field is Suboptimal",
 * CVPR 2022, arXiv 2205.15254). The paper's method section and official code were unavailable;
 * this is the reconstruction in docs/methods/dynopool.md, every choice documented:
 *
 * - output size per axis `Out = max(1, round(In / r))`, rounding halves **up** (`⌊v + 0.5⌋`);
 * - the grid then tiles the input exactly with the effective ratio `r̂ = In / Out`;
 * - straight-through rounding: the backward pass treats `r̂` as `r` (`∂r̂/∂r := 1`).
 *
 * This is the only place DynOPool's output size is computed (op, `outputShape`, registry, cost).
 */
import { PoolkitRangeError, show } from "../errors.js";

export interface DynamicAxis {
  readonly inSize: number;
  readonly outSize: number;
  /** Effective ratio In / Out (the cell size in input pixels). */
  readonly ratio: number;
}

/** The largest output/input size ratio accepted (r ≥ 1/16): guards against a runaway upsampling. */
export const DYNAMIC_MAX_UPSCALE = 16;

/** One axis of the grid for a scale factor `r` (> 0, finite; validated by the caller). */
export function dynamicAxis(inSize: number, r: number): DynamicAxis {
  const outSize = Math.max(1, Math.floor(inSize / r + 0.5));
  return { inSize, outSize, ratio: inSize / outSize };
}

/** Validate the per-axis scale factors and return one axis per spatial dim. */
export function dynamicGrid(op: string, spatial: readonly number[], r: ArrayLike<number>): DynamicAxis[] {
  if (r.length !== spatial.length) {
    throw new PoolkitRangeError(op, `r must hold ${spatial.length} scale factors (one per spatial axis), got ${r.length}`);
  }
  const axes: DynamicAxis[] = [];
  for (let i = 0; i < spatial.length; i++) {
    const v = r[i] as number;
    if (!(Number.isFinite(v) && v >= 1 / DYNAMIC_MAX_UPSCALE)) {
      throw new PoolkitRangeError(op, `r must be finite scale factors >= 1/${DYNAMIC_MAX_UPSCALE}, got ${show(Array.from(r))}`);
    }
    axes.push(dynamicAxis(spatial[i] as number, v));
  }
  return axes;
}
