/**
 * WebAssembly kernels (float32) of the bilinear family: signed square root + L2 normalisation
 * (`bilinear.signedSqrtL2`) and its backward (`bilinear.signedSqrtL2Backward`), shared by bilinearPool and
 * compactBilinearPool; bilinearPool's one-stream backward (`bilinearPool.gramBackward`); low-rank bilinear
 * (MLB) pooling forward and backward. AssemblyScript: assembly/bilinear.ts. References: postForward /
 * postBackward, gramBackward, mlbForward / mlbBackward in src/kernels/bilinear.ts.
 *
 * Per entry the arithmetic is the reference's (u, z and dv bit-identical given the same row sums); the
 * SIMD build adds each row's float64 sums Σu² and Σu·dz in four partial sums, so a norm may differ from
 * the reference's in its last bits (relative ≤ dim·2⁻⁵³ of Σu²; test/backends/wasm-bilinear.test.ts).
 * Vectors strided through a `[N, D, ...spatial]` output (stride > 1) run the reference. Rows split over
 * the worker threads (each row is independent).
 */
import { PoolkitRangeError } from "../../errors.js";
import { registerKernel, unregisterKernel, type MlbKept } from "../../kernels/registry.js";
import { gramBackward, mlbBackward, mlbForward, MLB_LB, postBackward, postForward, type PostPlan } from "../../kernels/bilinear.js";
import { allocArray } from "../../tensor/alloc.js";
import type { FloatArray, TypedArray } from "../../tensor/dtype.js";
import type { LinearStorage } from "../linear.js";
import { gemmAt } from "./gemm.js";
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
  registerKernel("bilinearPool.gramBackward", "float32", gramBackwardWasm(b));
  registerKernel("lowRankBilinearPool.forward", "float32", mlbForwardWasm(b));
  registerKernel("lowRankBilinearPool.backward", "float32", mlbBackwardWasm(b));
}

/** Remove the bilinear kernels (the TypeScript references run again). */
export function unregisterBilinear(): void {
  unregisterKernel("bilinear.signedSqrtL2", "float32");
  unregisterKernel("bilinear.signedSqrtL2Backward", "float32");
  unregisterKernel("bilinearPool.gramBackward", "float32");
  unregisterKernel("lowRankBilinearPool.forward", "float32");
  unregisterKernel("lowRankBilinearPool.backward", "float32");
}

/**
 * bilinearPool's one-stream float32 backward, da = s·(G + Gᵀ)A: one float32 GEMM batch over the images
 * (gemmBatch32) whose A pack forms G + Gᵀ's entries as it packs them (float32 sums) — the reference's
 * operations (gramBackward, src/kernels/bilinear.ts), so the same bits, without its TypeScript pass over
 * G, a pass writing G + Gᵀ and its scratch. Two streams, float64 and non-float32 arrays run the reference.
 */
function gramBackwardWasm(b: WasmBackend): (...a: Parameters<typeof gramBackward>) => void {
  return (g, a, bm, da, db, n, ca, cb, l, scale) => {
    if (db !== null || !(g instanceof Float32Array) || !(a instanceof Float32Array) || !(da instanceof Float32Array) || n === 0) {
      gramBackward(g, a, bm, da, db, n, ca, cb, l, scale);
      return;
    }
    const args = new Args(b);
    args.add(g, false);
    args.add(a, false);
    args.add(da, "out");
    args.resolve();
    const [gP, aP, daP] = args.ptrs as [number, number, number];
    const cc = ca * ca;
    gemmAt(b, true, n, false, false, ca, l, ca, scale, gP, true, ca, cc, aP, true, l, ca * l, daP, true, l, ca * l, true, true);
    args.finish();
  };
}

/** Scratch blocks of linear memory for one kernel call (allocating may detach earlier views: take pointers first). */
class Scratch {
  readonly #b: WasmBackend;
  readonly #op: string;
  readonly #blocks: LinearStorage[] = [];
  constructor(b: WasmBackend, op = "lowRankBilinearPool") {
    this.#b = b;
    this.#op = op;
  }
  /** The byte address of a new block of `length` elements (not zero-filled). */
  take(dtype: "float32" | "float64", length: number): number {
    const s = this.#b.heap.allocate(dtype, Math.max(length, 1), false);
    if (s === null) {
      this.free();
      throw new PoolkitRangeError(this.#op, `out of WebAssembly memory: ${length} ${dtype} scratch elements do not fit (setBackend("js") runs without it)`);
    }
    this.#blocks.push(s);
    return s.ptr;
  }
  free(): void {
    for (const s of this.#blocks) s.free();
    this.#blocks.length = 0;
  }
}

const f64At = (b: WasmBackend, ptr: number, n: number): Float64Array => new Float64Array(b.heap.memory.buffer, ptr, n);
const f32At = (b: WasmBackend, ptr: number, n: number): Float32Array => new Float32Array(b.heap.memory.buffer, ptr, n);

/**
 * MLB (low-rank bilinear) pooling, float32, pooled (mean or sum) with a per-location y, σ values kept:
 * the projections U X_s and V Y_s of every image as float32 GEMMs (gemmBatch32), then mlbHidden32 (σ, the
 * kept float64 copies, h = Σ_l a∘c) and out = b_P + s·H Pᵀ as a float64 GEMM. Other cases run the
 * reference. Error against exact arithmetic on the float32 inputs (u = 2⁻²⁴): the projections
 * |Δ(U x)| ≤ (min(Cx, 256) + ⌈Cx/256⌉ + 1)·u·|U||x| (float32 blocks of ≤ 256 terms, float32 C), + u for the
 * bias, then tanh's error (tanhArray, measured ≤ 3 ulp); h, the output and every later sum in float64
 * (test/backends/wasm-bilinear.test.ts holds the op's results to the propagated bounds).
 */
function mlbForwardWasm(b: WasmBackend): (...a: Parameters<typeof mlbForward>) => void {
  return (x, y, U, V, P, bu, bv, bp, out, n, cx, cy, l, yStep, rank, outDim, mode, tanh, keep = null) => {
    const f32 = (t: TypedArray | null): boolean => t === null || t instanceof Float32Array;
    if (keep === null || yStep !== 1 || mode === 2 || !(out instanceof Float32Array) || ![x, y, U, V, P, bu, bv, bp].every(f32) || n === 0) {
      mlbForward(x, y, U, V, P, bu, bv, bp, out, n, cx, cy, l, yStep, rank, outDim, mode, tanh, keep);
      return;
    }
    const args = new Args(b);
    const zero = new Float32Array(1);
    for (const t of [x, y, U, V, P, bu ?? zero, bv ?? zero, bp ?? zero]) args.add(t, false);
    args.add(out, "out");
    args.add(keep.a, "out");
    args.add(keep.c, "out");
    args.resolve();
    const [xP, yP, uP, vP, pP, buP, bvP, bpP, outP, kaP, kcP] = args.ptrs as [number, number, number, number, number, number, number, number, number, number, number];
    const sc = new Scratch(b);
    try {
      const rows = n * rank;
      const za = sc.take("float32", rows * l);
      const zc = sc.take("float32", rows * l);
      const h = sc.take("float64", rows);
      const o64 = sc.take("float64", n * outDim);
      gemmAt(b, true, n, false, false, rank, l, cx, 1, uP, true, cx, 0, xP, true, l, cx * l, za, true, l, rank * l, true);
      gemmAt(b, true, n, false, false, rank, l, cy, 1, vP, true, cy, 0, yP, true, l, cy * l, zc, true, l, rank * l, true);
      splitCall(b, "mlbHidden32", [za, zc, h, 0, rows, buP, bu ? 1 : 0, bvP, bv ? 1 : 0, kaP, kcP, rank, l, MLB_LB, tanh], {
        count: 4, step: [[0, 4 * l], [1, 4 * l], [2, 8], [3, 1]], bytes: 24 * l,
      });
      // out = b_P + s·H Pᵀ (H n × rank, float64)
      gemmAt(b, false, 1, false, true, n, outDim, rank, mode === 0 ? 1 / l : 1, h, false, rank, 0, pP, true, rank, 0, o64, false, outDim, 0, true);
      const o = f32At(b, outP, n * outDim);
      const acc = f64At(b, o64, n * outDim);
      const bias = bp ? f32At(b, bpP, outDim) : null;
      for (let s = 0; s < n; s++) for (let j = 0; j < outDim; j++) o[s * outDim + j] = (bias ? (bias[j] as number) : 0) + (acc[s * outDim + j] as number);
    } finally {
      sc.free();
    }
    args.finish();
  };
}

/**
 * Its backward (same cases; else the reference): dh = s·G P (float64 GEMM); mlbGrad32 forms
 * dZ_u = dh∘c∘σ'(a), dZ_v = dh∘a∘σ'(c) (float32) and their row sums (db_u, db_v) and Σ a∘c from the kept σ;
 * dX_s = Uᵀ dZ_u,s and dY_s likewise (float32 GEMMs, k = rank), dU = Σ_s dZ_u,s X_sᵀ as per-image float32
 * GEMMs (k = L) summed over images in float64 (sumImages32), dP = s·Gᵀ H_sum (float64 GEMM), db_P = Σ_s g.
 */
function mlbBackwardWasm(b: WasmBackend): (...a: Parameters<typeof mlbBackward>) => void {
  return (g, x, y, U, V, P, bu, bv, dx, dy, dU, dV, dP, dbu, dbv, dbp, n, cx, cy, l, yStep, rank, outDim, mode, tanh, keep = null) => {
    const f32 = (t: TypedArray | null): boolean => t === null || t instanceof Float32Array;
    if (keep === null || yStep !== 1 || mode === 2 || ![g, x, y, U, V, P, dx, dy, dU, dV, dP, dbu, dbv, dbp].every(f32) || n === 0) {
      mlbBackward(g, x, y, U, V, P, bu, bv, dx, dy, dU, dV, dP, dbu, dbv, dbp, n, cx, cy, l, yStep, rank, outDim, mode, tanh, keep);
      return;
    }
    const args = new Args(b);
    for (const t of [g, x, y, U, V, P, keep.a, keep.c]) args.add(t, false);
    for (const t of [dx, dy, dU, dV, dP, dbu, dbv, dbp]) args.add(t, "out");
    args.resolve();
    const [gP, xP, yP, uP, vP, pP, kaP, kcP, dxP, dyP, dUP, dVP, dPP, dbuP, dbvP, dbpP] = args.ptrs as number[] as [
      number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number,
    ];
    const sc = new Scratch(b);
    try {
      const rows = n * rank;
      const scale = mode === 0 ? 1 / l : 1;
      const dh = sc.take("float64", rows);
      const zu = sc.take("float32", rows * l);
      const zv = sc.take("float32", rows * l);
      const sums = sc.take("float64", 3 * rows);
      const dUs = sc.take("float32", n * rank * cx);
      const dVs = sc.take("float32", n * rank * cy);
      const dP64 = sc.take("float64", outDim * rank);
      // dh = s·G P (n × rank)
      gemmAt(b, false, 1, false, false, n, rank, outDim, scale, gP, true, outDim, 0, pP, true, rank, 0, dh, false, rank, 0, true);
      const su = sums;
      const sv = sums + 8 * rows;
      const hs = sums + 16 * rows;
      splitCall(b, "mlbGrad32", [zu, zv, dh, su, sv, hs, 0, rows, kaP, kcP, rank, l, MLB_LB, tanh], {
        count: 7, step: [[0, 4 * l], [1, 4 * l], [2, 8], [3, 8], [4, 8], [5, 8], [6, 1]], bytes: 24 * l,
      });
      // dX_s = Uᵀ dZ_u,s; dY_s = Vᵀ dZ_v,s
      gemmAt(b, true, n, true, false, cx, l, rank, 1, uP, true, cx, 0, zu, true, l, rank * l, dxP, true, l, cx * l, true);
      gemmAt(b, true, n, true, false, cy, l, rank, 1, vP, true, cy, 0, zv, true, l, rank * l, dyP, true, l, cy * l, true);
      // dU = Σ_s dZ_u,s X_sᵀ, dV = Σ_s dZ_v,s Y_sᵀ
      gemmAt(b, true, n, false, true, rank, cx, l, 1, zu, true, l, rank * l, xP, true, l, cx * l, dUs, true, cx, rank * cx, true);
      gemmAt(b, true, n, false, true, rank, cy, l, 1, zv, true, l, rank * l, yP, true, l, cy * l, dVs, true, cy, rank * cy, true);
      splitCall(b, "sumImages32", [dUs, dUP, rank * cx, n, rank * cx], { count: 2, step: [[0, 4], [1, 4]], bytes: 4 * (n + 1) });
      splitCall(b, "sumImages32", [dVs, dVP, rank * cy, n, rank * cy], { count: 2, step: [[0, 4], [1, 4]], bytes: 4 * (n + 1) });
      // dP = s·Gᵀ H_sum (outDim × rank)
      gemmAt(b, false, 1, true, false, outDim, rank, n, scale, gP, true, outDim, 0, hs, false, rank, 0, dP64, false, rank, 0, true);
      f32At(b, dPP, outDim * rank).set(f64At(b, dP64, outDim * rank));
      // bias gradients: Σ over images (float64, image order)
      const colSums = (src: Float64Array | Float32Array, count: number, width: number, dst: Float32Array): void => {
        for (let j = 0; j < width; j++) {
          let acc = 0;
          for (let s = 0; s < count; s++) acc += src[s * width + j] as number;
          dst[j] = acc;
        }
      };
      colSums(f64At(b, su, rows), n, rank, f32At(b, dbuP, rank));
      colSums(f64At(b, sv, rows), n, rank, f32At(b, dbvP, rank));
      colSums(f32At(b, gP, n * outDim), n, outDim, f32At(b, dbpP, outDim));
    } finally {
      sc.free();
    }
    args.finish();
  };
}
