/**
 * Average pooling's divisors: one per output position of a window plan, computed once by the op's
 * plan and shared by forward and backward (and by any backend's kernel, which receives them).
 */
import { allocArray } from "../tensor/alloc.js";
import type { Axes3 } from "./plan.js";

/**
 * Per-output-position divisors for average pooling (PyTorch cpu/AvgPoolKernel.cpp):
 * `divisorOverride` if given; else with `countIncludePad` the window clipped at In + p_after (padCount),
 * else the number of in-bounds elements. Length = outPlane; shared by forward and backward.
 */
export function avgDivisors(axes: Axes3, countIncludePad: boolean, divisorOverride?: number): Float64Array {
  const [A, B, C] = axes;
  const out = allocArray("float64", A.outSize * B.outSize * C.outSize);
  let o = 0;
  for (let oa = 0; oa < A.outSize; oa++) {
    for (let ob = 0; ob < B.outSize; ob++) {
      for (let oc = 0; oc < C.outSize; oc++) {
        if (divisorOverride !== undefined) out[o] = divisorOverride;
        else if (countIncludePad) out[o] = (A.padCount[oa] as number) * (B.padCount[ob] as number) * (C.padCount[oc] as number);
        else {
          const na = Math.ceil(((A.end[oa] as number) - (A.start[oa] as number)) / A.step);
          const nb = Math.ceil(((B.end[ob] as number) - (B.start[ob] as number)) / B.step);
          const nc = Math.ceil(((C.end[oc] as number) - (C.start[oc] as number)) / C.step);
          out[o] = Math.max(na, 0) * Math.max(nb, 0) * Math.max(nc, 0);
        }
        o++;
      }
    }
  }
  return out;
}
