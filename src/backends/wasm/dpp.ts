/**
 * WebAssembly implementations (float32) of detail-preserving pooling's kernels
 * (`detailPreservingPool.forward` / `.backward`, references dppForward / dppBackward in
 * src/kernels/weighted.ts): lite and full, symmetric and asymmetric. AssemblyScript source:
 * assembly/dpp.ts (4 blocks per SIMD step in float32, the reference's overflow-safe form; blocks and
 * channels outside the float32 path's limits by a float64 port of the reference).
 *
 * The planes are split across the worker pool. The backward writes dx without a zero fill (each
 * pixel's own block writes it; the full variant then adds the filter's shares) and, per plane, the sums
 * of the θα and θλ terms (and the 9 filter sums) into a float64 array that this side adds into the
 * channels' gradients in plane order, as the reference does (θα's gated by the clamp, as there).
 * Accuracy against the reference: test/backends/wasm-dpp.test.ts.
 */
import type { BlockGeometry } from "../../geometry/blocks.js";
import { dppChannelParams } from "../../kernels/weighted.js";
import { registerKernel, unregisterKernel } from "../../kernels/registry.js";
import type { FloatArray } from "../../tensor/dtype.js";
import { Args, type WasmBackend } from "./index.js";
import { splitCall } from "./threads.js";

/** PositiveBias's clamp of θα (src/kernels/weighted.ts): the gradient passes where θα ≤ 10. */
const ALPHA_CLAMP = 10;

/** Per channel [λ/2, α, gate] from the raw θs, as the reference computes them (dppChannelParams). */
function channelParams(thA: FloatArray, thL: FloatArray, channels: number): Float64Array {
  const par = new Float64Array(3 * channels);
  for (let c = 0; c < channels; c++) {
    const ta = thA[c] as number;
    const { halfLambda, alpha } = dppChannelParams(ta, thL[c] as number);
    par[3 * c] = halfLambda;
    par[3 * c + 1] = alpha;
    par[3 * c + 2] = ta <= ALPHA_CLAMP ? 1 : 0;
  }
  return par;
}

const NAMES = ["detailPreservingPool.forward", "detailPreservingPool.backward"] as const;

/** Register DPP's kernels of backend `b` for float32. */
export function registerDpp(b: WasmBackend): void {
  registerKernel(
    "detailPreservingPool.forward",
    "float32",
    (x: FloatArray, thA: FloatArray, thL: FloatArray, filt: FloatArray | null, y: FloatArray, planes: number, channels: number, geom: BlockGeometry, asym: boolean): void => {
      const { inH: H, inW: W, outH, outW } = geom;
      if (planes === 0 || outH * outW === 0) return;
      const par = channelParams(thA, thL, channels);
      const args = new Args(b);
      args.add(x, false);
      args.add(y, "out");
      args.add(par, false);
      if (filt !== null) args.add(filt, false);
      const scratch = 2 * outW + 2; // float32 units: outW float64
      args.add(new Float32Array(scratch), false);
      args.resolve();
      const p = args.ptrs;
      const [px, py, pp] = p as [number, number, number];
      const pf = filt !== null ? (p[3] as number) : 0;
      const ps = p[filt !== null ? 4 : 3] as number;
      const inPlane = H * W;
      const outPlane = outH * outW;
      splitCall(b, "dppForward", [px, py, pp, pf, ps, planes, channels, 0, H, W, asym ? 1 : 0], {
        count: 5, step: [[0, 4 * inPlane], [1, 4 * outPlane], [7, 1]], scratch: [[4, 4 * scratch]],
        bytes: 4 * (inPlane + outPlane),
      });
      args.finish();
    },
  );
  registerKernel(
    "detailPreservingPool.backward",
    "float32",
    (
      x: FloatArray, thA: FloatArray, thL: FloatArray, filt: FloatArray | null, dy: FloatArray, dx: FloatArray,
      gA: Float64Array, gL: Float64Array, gF: Float64Array | null, planes: number, channels: number, geom: BlockGeometry, asym: boolean,
    ): void => {
      const { inH: H, inW: W, outH, outW } = geom;
      if (planes === 0 || H * W === 0) return;
      const par = channelParams(thA, thL, channels);
      const stride = filt !== null ? 11 : 2;
      const acc = new Float64Array(stride * planes);
      const args = new Args(b);
      args.add(x, false);
      args.add(dy, false);
      args.add(dx, "out");
      args.add(par, false);
      args.add(acc, "out");
      if (filt !== null) args.add(filt, false);
      const scratch = 4 * outW + 4; // float32 units: 2·outW float64 (Ĩ and ∂L/∂Ĩ of a block row)
      args.add(new Float32Array(scratch), false);
      args.resolve();
      const p = args.ptrs;
      const [px, pdy, pdx, pp, pa] = p as [number, number, number, number, number];
      const pf = filt !== null ? (p[5] as number) : 0;
      const ps = p[filt !== null ? 6 : 5] as number;
      const inPlane = H * W;
      const outPlane = outH * outW;
      splitCall(b, "dppBackward", [px, pdy, pdx, pp, pf, pa, ps, planes, channels, 0, H, W, asym ? 1 : 0], {
        count: 7, step: [[0, 4 * inPlane], [1, 4 * outPlane], [2, 4 * inPlane], [5, 8 * stride], [9, 1]], scratch: [[6, 4 * scratch]],
        bytes: 4 * (2 * inPlane + outPlane),
      });
      args.finish();
      // the planes' sums into the channels' gradients, in plane order (the reference's order)
      for (let q = 0; q < planes; q++) {
        const c = q % channels;
        const o = stride * q;
        gA[c] = (gA[c] as number) + (par[3 * c + 2] === 1 ? (acc[o] as number) : 0);
        gL[c] = (gL[c] as number) + (acc[o + 1] as number);
        if (gF !== null) for (let k = 0; k < 9; k++) gF[9 * c + k] = (gF[9 * c + k] as number) + (acc[o + 2 + k] as number);
      }
    },
  );
}

/** Remove DPP's kernels (the TypeScript references run again). */
export function unregisterDpp(): void {
  for (const name of NAMES) unregisterKernel(name, "float32");
}
