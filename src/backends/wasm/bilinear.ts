/**
 * WebAssembly kernels (float32) of the bilinear family's elementwise passes: signed square root + L2
 * normalisation (`bilinear.signedSqrtL2`) and its backward (`bilinear.signedSqrtL2Backward`), shared by
 * bilinearPool and compactBilinearPool. AssemblyScript: assembly/bilinear.ts. References: postForward /
 * postBackward in src/kernels/bilinear.ts.
 *
 * Per entry the arithmetic is the reference's (u, z and dv bit-identical given the same row sums); the
 * SIMD build adds each row's float64 sums Σu² and Σu·dz in four partial sums, so a norm may differ from
 * the reference's in its last bits (relative ≤ dim·2⁻⁵³ of Σu²; test/backends/wasm-bilinear.test.ts).
 * Vectors strided through a `[N, D, ...spatial]` output (stride > 1) run the reference. Rows split over
 * the worker threads (each row is independent).
 */
import { registerKernel, unregisterKernel } from "../../kernels/registry.js";
import { postBackward, postForward, type PostPlan } from "../../kernels/bilinear.js";
import { allocArray } from "../../tensor/alloc.js";
import type { FloatArray, TypedArray } from "../../tensor/dtype.js";
import { Args, type WasmBackend } from "./index.js";
import { splitCall } from "./threads.js";

/** Register the bilinear kernels of backend `b`. */
export function registerBilinear(b: WasmBackend): void {
  registerKernel("bilinear.signedSqrtL2", "float32", (p: PostPlan, v: FloatArray, u: FloatArray, z: FloatArray): Float64Array => {
    if (p.stride !== 1 || !(v instanceof Float32Array) || !(u instanceof Float32Array) || !(z instanceof Float32Array)) return postForward(p, v, u, z);
    const norms = allocArray("float64", p.rows);
    const args = new Args(b);
    args.add(v, false);
    args.add(u, "out");
    args.add(z, "out");
    args.add(norms, "out");
    args.resolve();
    const row = p.dim * 4;
    splitCall(b, "postForward32", [...args.ptrs, p.rows, p.dim, p.signedSqrt ? 1 : 0, p.l2 ? 1 : 0, p.l2Eps], {
      count: 4, step: [[0, row], [1, row], [2, row], [3, 8]], bytes: 3 * row,
    });
    args.finish();
    return norms;
  });
  registerKernel("bilinear.signedSqrtL2Backward", "float32", (p: PostPlan, v: FloatArray, u: FloatArray, norms: Float64Array, dz: TypedArray, dv: FloatArray): void => {
    if (p.stride !== 1 || !(v instanceof Float32Array) || !(u instanceof Float32Array) || !(dz instanceof Float32Array) || !(dv instanceof Float32Array)) {
      postBackward(p, v, u, norms, dz, dv);
      return;
    }
    const args = new Args(b);
    args.add(v, false);
    args.add(u, false);
    args.add(norms, false);
    args.add(dz, false);
    args.add(dv, "out");
    args.resolve();
    const row = p.dim * 4;
    splitCall(b, "postBackward32", [...args.ptrs, p.rows, p.dim, p.signedSqrt ? 1 : 0, p.l2 ? 1 : 0, p.sqrtEps], {
      count: 5, step: [[0, row], [1, row], [2, 8], [3, row], [4, row]], bytes: 4 * row,
    });
    args.finish();
  });
}

/** Remove the bilinear kernels (the TypeScript references run again). */
export function unregisterBilinear(): void {
  unregisterKernel("bilinear.signedSqrtL2", "float32");
  unregisterKernel("bilinear.signedSqrtL2Backward", "float32");
}
