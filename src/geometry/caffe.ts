/**
 * Caffe's pooling windows (BVLC/caffe src/caffe/layers/pooling_layer.cpp, `Reshape`), as used by the
 * Caffe-based reference implementations (Lee et al.'s gated/tree pooling in chl260/general-pooling,
 * Caffe's stochastic pooling). No padding; the output size rounds up:
 *
 *   o = ceil((In − k) / s) + 1
 *
 * so the last window may overhang the bottom/right edge and is clipped to the input.
 *
 * With padding 0 this is exactly PyTorch's `ceilMode: true` rule, including PyTorch's "a window may
 * not start outside the input" decrement. Caffe applies that decrement only when there is padding,
 * so for k < s it can emit a trailing window that lies wholly outside the input (an empty window,
 * which its max kernel fills with −FLT_MAX); we apply it always, which differs from Caffe only in
 * that degenerate case. The windows therefore come from the sliding planner — this module only
 * names the rule, so there is still one output-size formula in the code base.
 */
import type { SpatialInput } from "../check.js";
import { sizeOption } from "../check.js";
import type { WindowPlan } from "./plan.js";
import { checkWindowSpan, planSlidingFor, slidingOutputShape, type SlidingGeometry } from "./sliding.js";

/** Caffe geometry: kernel and stride per spatial dim, no padding, no dilation, ceil rounding. */
export function caffeGeometry(op: string, kernelSize: unknown, stride: unknown, rank: number): SlidingGeometry {
  const k = sizeOption(op, "kernelSize", kernelSize, rank, 1);
  const s = stride === undefined || stride === null ? k : sizeOption(op, "stride", stride, rank, 1);
  const dilation = new Array<number>(rank).fill(1);
  checkWindowSpan(op, k, dilation, s, { kernelSize, stride });
  return {
    kernelSize: k,
    stride: s,
    padBefore: new Array<number>(rank).fill(0),
    padAfter: new Array<number>(rank).fill(0),
    dilation,
    ceilMode: true,
  };
}

/** Caffe's pooled sizes, `ceil((In − k)/s) + 1` per spatial dim (throws when < 1). */
export function caffeOutputShape(op: string, spatial: readonly number[], g: SlidingGeometry): number[] {
  return slidingOutputShape(op, spatial, g);
}

/**
 * Plan Caffe windows for a parsed input. Each axis's `padCount` equals the number of valid
 * (in-input) taps of its window, i.e. the "valid count" the Caffe references divide averages by.
 */
export function planCaffe(op: string, input: SpatialInput, g: SlidingGeometry): WindowPlan {
  return planSlidingFor(op, input, g);
}
