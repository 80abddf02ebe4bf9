/**
 * WebAssembly implementations (float32) of the weighted-window kernels: SoftPool's and LIP's softmax
 * windows (`softmaxWindows.forward/backward`, references in src/kernels/weighted.ts) and LP pooling's
 * fused forward and backward (`lpPool.forward`, `lpPool.backward`).
 * AssemblyScript source: assembly/weighted.ts.
 *
 * The softmax forward called from a vjp saves each plane's exponentials E = e^{L−M} (M: the plane's
 * largest logit) into a tensor of x's size, which the backward reads instead of exponentiating again
 * (memory for time: the backward's exponentials were about a third of its time); the backward gathers
 * onto each input the sums of the windows covering it and writes dx, dL once (2-d 2×2 stride-2
 * windows, SoftPool's default, in one register pass; 2-d 3×3 stride-2 padding-1 windows, LIP's, in one
 * sweep per output row with the row's work in registers, as their forward), and finds the planes holding NaN or ±∞ from its
 * window sums rather than by scanning each plane first (a plane the forward could not exponentiate is
 * marked by a NaN first saved value).
 *
 * Accuracy against the references (test/backends/wasm-weighted.test.ts): the softmax kernels use a
 * float32 exponential (≤ 1 ulp, assembly/util.ts) taken once per input, relative to the plane's
 * largest logit (windows far below it recomputed with their own maximum), and float32 window sums;
 * the backward gathers dy/S and dy·(y − c)/S onto the inputs (c: the plane's first input) — within
 * float32 accumulation error of the float64 reference, not bit-identical; LP's forward is bit-identical for p = 1 and p = 2 (the same
 * float32 powers summed in float64 in scan order) and within an ulp or so for other p (the engine's
 * and AssemblyScript's pow may differ in the last float64 bit).
 */
import type { Axes3 } from "../../geometry/plan.js";
import { registerKernel, unregisterKernel } from "../../kernels/registry.js";
import type { FloatArray } from "../../tensor/dtype.js";
import { Args, axesArray, interior, type WasmBackend } from "./index.js";
import { splitCall } from "./threads.js";
import { lpBackward } from "../../kernels/weighted.js";

/** Pointer, count per axis (aS, aE, nA, bS, bE, nB, cS, cE, nC) into an {@link axesArray} block. */
export function axisPointers(axes: Axes3, base: number): number[] {
  const out: number[] = [];
  let off = 0;
  for (const ax of axes) {
    out.push(base + off * 4, base + (off + ax.outSize) * 4, ax.outSize);
    off += 2 * ax.outSize;
  }
  return out;
}

/** Planes, H, W, inPlane, outPlane of a plan's axes. */
function sizes(planes: number, axes: Axes3): [number, number, number, number, number] {
  const [A, B, C] = axes;
  return [planes, B.inSize, C.inSize, A.inSize * B.inSize * C.inSize, A.outSize * B.outSize * C.outSize];
}

/** The largest number of taps in one window (the backward's scratch for the window's exponentials). */
function maxTaps(axes: Axes3): number {
  let n = 1;
  for (const a of axes) {
    let m = 0;
    for (let o = 0; o < a.outSize; o++) m = Math.max(m, (a.end[o] as number) - (a.start[o] as number));
    n *= m;
  }
  return n;
}

/** Input rows of a plane (depth × height). */
function rows(axes: Axes3): number {
  return axes[0].inSize * axes[1].inSize;
}

/** Floats of softmaxForward's scratch: two row buffers (8 floats of slack each), the rows' horizontal sums, four more row buffers (the 3×3 stride-2 path). */
function forwardScratch(axes: Axes3): number {
  const W = axes[2].inSize;
  return 2 * (W + 8) + 2 * (rows(axes) * axes[2].outSize + 4) + 4 * (W + 8);
}

/**
 * Floats of softmaxBackward's scratch (assembly/weighted.ts): a plane's exponentials, six row buffers,
 * the rows' horizontal sums, G and G·Ȳ per output, the list of own-maximum windows, one row's
 * vertically gathered G and G·Ȳ, two output rows' G and G·Ȳ (the 3×3 stride-2 path), one window's taps.
 */
function backwardScratch(axes: Axes3, taps: number, kMax: number): number {
  const W = axes[2].inSize;
  const nC = axes[2].outSize;
  const inPlane = rows(axes) * W;
  const outPlane = axes[0].outSize * axes[1].outSize * nC;
  return inPlane + 2 * (W + 8) + 2 * (W + 24) + 2 * (nC + 2 * kMax + 24) + 2 * (rows(axes) * nC + 4) + 2 * (outPlane + 4) + outPlane + 2 * (nC + 4) + 4 * (nC + 8) + taps;
}

/**
 * The last axis as softmaxBackward's gathered transpose needs it: [1, off, s, k] when every window oc
 * is [off + s·oc, off + s·oc + k) clipped to [0, W) with s ∈ {1, 2} and off ≤ 0 (no dilation), else
 * [0, 0, 1, k]; k is the longest window either way.
 */
export function regularLastAxis(axes: Axes3): [number, number, number, number] {
  const C = axes[2];
  const n = C.outSize;
  const W = C.inSize;
  let k = 1;
  for (let o = 0; o < n; o++) k = Math.max(k, (C.end[o] as number) - (C.start[o] as number));
  if (C.step !== 1 || n === 0) return [0, 0, 1, k];
  for (const s of [2, 1]) {
    // the last window's start is unclipped unless it is 0 (then any earlier start is 0 too)
    const off = (C.start[n - 1] as number) - s * (n - 1);
    if (off > 0) continue;
    let ok = true;
    for (let o = 0; o < n && ok; o++) {
      const a = off + s * o;
      ok = C.start[o] === Math.max(0, a) && C.end[o] === Math.min(W, a + k);
    }
    if (ok) return [1, off, s, k];
  }
  return [0, 0, 1, k];
}

/**
 * For the gathered backward passes: per input index of axes A, then B, the range [lo, hi) of the
 * output windows covering it (lo = the first window ending after it, hi = the first starting after it,
 * which is exactly the covering set when starts and ends never decrease, as for sliding windows).
 * Null when an axis has a step ≠ 1 or windows out of order (the caller then takes another path).
 */
export function coverage(axes: Axes3): Int32Array | null {
  const [A, B] = axes;
  const out = new Int32Array(2 * (A.inSize + B.inSize));
  let at = 0;
  for (const ax of [A, B]) {
    if (ax.step !== 1) return null;
    const n = ax.outSize;
    for (let o = 1; o < n; o++) if ((ax.start[o] as number) < (ax.start[o - 1] as number) || (ax.end[o] as number) < (ax.end[o - 1] as number)) return null;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < ax.inSize; i++) {
      while (lo < n && (ax.end[lo] as number) <= i) lo++;
      while (hi < n && (ax.start[hi] as number) <= i) hi++;
      out[at++] = lo;
      out[at++] = Math.max(lo, hi);
    }
  }
  return out;
}

/** Floats of lpBackward's scratch (assembly/weighted.ts): q per output, one gathered row, the row's A, the padded copy. */
function lpBackwardScratch(axes: Axes3, kMax: number): number {
  const nC = axes[2].outSize;
  const outPlane = axes[0].outSize * axes[1].outSize * nC;
  return outPlane + 4 + nC + 4 + axes[2].inSize + 8 + 16 + nC + 2 * kMax + 24;
}

const NAMES = ["softmaxWindows.forward", "softmaxWindows.backward", "lpPool.forward", "lpPool.backward"] as const;

/** Register the weighted-window kernels of backend `b` for float32. */
export function registerWeighted(b: WasmBackend): void {
  registerKernel("softmaxWindows.forward", "float32", (x: FloatArray, L: FloatArray, y: FloatArray, planes: number, axes: Axes3, E: FloatArray | null): boolean => {
    const sz = sizes(planes, axes);
    if (planes === 0 || sz[4] === 0) return false;
    const args = new Args(b);
    args.add(x, false);
    args.add(L, false);
    args.add(y, true);
    // one row's E and E·x, and the horizontal sums per input row and output column
    const ex = forwardScratch(axes);
    args.add(new Float32Array(ex), false);
    args.add(axesArray(axes), false);
    if (E !== null) args.add(E, true);
    args.resolve();
    const [px, pl, py, pe, pa, pE] = args.ptrs as [number, number, number, number, number, number | undefined];
    // planes split across threads; each part has its own exponentials scratch
    splitCall(b, "softmaxForward", [px, pl, py, pe, ...sz, ...axisPointers(axes, pa), ...interior(axes), ...regularLastAxis(axes), pE ?? 0], {
      count: 4, step: [[0, 4 * sz[3]], [1, 4 * sz[3]], [2, 4 * sz[4]], ...(E !== null ? [[26, 4 * sz[3]] as [number, number]] : [])], scratch: [[3, 4 * ex]],
      bytes: 4 * (2 * sz[3] + sz[4]),
    });
    args.finish();
    return E !== null;
  });
  registerKernel(
    "softmaxWindows.backward",
    "float32",
    (x: FloatArray, L: FloatArray, _y: FloatArray, dy: FloatArray, dx: FloatArray, dL: FloatArray | null, planes: number, axes: Axes3, E: FloatArray | null): void => {
      const sz = sizes(planes, axes);
      if (planes === 0 || sz[4] === 0) return;
      const args = new Args(b);
      args.add(x, false);
      args.add(L, false);
      args.add(dy, false);
      args.add(dx, true);
      // dL may be dx itself (SoftPool's exact gradient): then it must be the same memory, not a second copy
      const sep = dL !== null && dL !== dx;
      if (sep) args.add(dL, true);
      // one plane's exponentials, row buffers, sums, G and G·Ȳ, then one window's taps (the own-maximum path)
      const reg = regularLastAxis(axes);
      const taps = backwardScratch(axes, maxTaps(axes), reg[3]);
      const cov = coverage(axes);
      if (cov === null) throw new Error("softmaxWindows.backward: windows with a step ≠ 1 or out of order (SoftPool and LIP have neither)");
      args.add(new Float32Array(taps), false);
      args.add(axesArray(axes), false);
      args.add(cov, false);
      if (E !== null) args.add(E, false);
      args.resolve();
      const p = args.ptrs;
      const [px, pl, pdy, pdx] = p as [number, number, number, number];
      const pdl = sep ? (p[4] as number) : pdx;
      const [pex, pa, pc, pE] = p.slice(sep ? 5 : 4) as [number, number, number, number | undefined];
      const [, , , inPlane, outPlane] = sz;
      splitCall(b, "softmaxBackward", [px, pl, pdy, pdx, pdl, dL === null ? 0 : 1, pex, ...sz, ...axisPointers(axes, pa), ...interior(axes), ...reg, pc, pE ?? 0], {
        count: 7, step: [[0, 4 * inPlane], [1, 4 * inPlane], [2, 4 * outPlane], [3, 4 * inPlane], [4, 4 * inPlane], ...(E !== null ? [[30, 4 * inPlane] as [number, number]] : [])],
        scratch: [[6, 4 * taps]],
        bytes: 4 * (4 * inPlane + outPlane),
      });
      args.finish();
    },
  );
  registerKernel(
    "lpPool.forward",
    "float32",
    (x: FloatArray, s: FloatArray, u: FloatArray, y: FloatArray, p: number, area: number, planes: number, axes: Axes3, div: Float64Array): void => {
      const sz = sizes(planes, axes);
      if (planes === 0 || sz[4] === 0) return;
      const args = new Args(b);
      args.add(x, false);
      args.add(s, true);
      args.add(u, true);
      args.add(y, true);
      args.add(div, false);
      args.add(axesArray(axes), false);
      args.resolve();
      const [px, ps, pu, py, pd, pa] = args.ptrs as [number, number, number, number, number, number];
      const mode = p === 2 ? 2 : p === 1 ? 1 : 0;
      const [, , , inPlane, outPlane] = sz;
      splitCall(b, "lpForward", [px, ps, pu, py, pd, p, 1 / p, area, mode, ...sz, ...axisPointers(axes, pa), ...interior(axes)], {
        count: 9, step: [[0, 4 * inPlane], [1, 4 * outPlane], [2, 4 * outPlane], [3, 4 * outPlane]], bytes: 4 * (inPlane + 3 * outPlane),
      });
      args.finish();
    },
  );
  registerKernel(
    "lpPool.backward",
    "float32",
    (x: FloatArray, s: FloatArray, u: FloatArray, dy: FloatArray, dx: FloatArray, p: number, area: number, planes: number, axes: Axes3, div: Float64Array): void => {
      const sz = sizes(planes, axes);
      const cov = coverage(axes);
      if (cov === null || axes[2].step !== 1) {
        lpBackward(x, s, u, dy, dx, p, area, planes, axes, div); // LP has no dilation: not reached
        return;
      }
      if (planes === 0 || sz[3] === 0) return;
      const reg = regularLastAxis(axes);
      const ex = lpBackwardScratch(axes, reg[3]);
      // the divisors in float32 when exact there (window counts): the kernel then divides in float32, the same quotients
      const outPlane0 = sz[4];
      const div32 = Float32Array.from(div.subarray(0, outPlane0));
      let exact = true;
      for (let o = 0; o < outPlane0 && exact; o++) exact = div32[o] === div[o];
      const args = new Args(b);
      args.add(x, false);
      args.add(dy, false);
      args.add(s, false);
      args.add(u, false);
      args.add(dx, true);
      args.add(div, false);
      args.add(new Float32Array(ex), false);
      args.add(axesArray(axes), false);
      args.add(cov, false);
      args.add(exact ? div32 : new Float32Array(1), false);
      // SIMD p = 2 (assembly lpBackward's row path, eRows): per output row of a plane its horizontal
      // transpose (W + 24 floats) and its q padded with cK2 + 8 zeros on either side
      const nRo = outPlane0 / Math.max(1, axes[2].outSize);
      const eLen = b.simd && p === 2 ? nRo * (axes[2].inSize + 24) + nRo * (axes[2].outSize + 2 * (reg[3] + 8)) : 0;
      args.add(new Float32Array(Math.max(1, eLen)), false);
      args.resolve();
      const [px, pdy, ps, pu, pdx, pd, pe, pa, pc, p32, pE] = args.ptrs as [number, number, number, number, number, number, number, number, number, number, number];
      const [, , , inPlane, outPlane] = sz;
      const ax = axisPointers(axes, pa);
      splitCall(b, "lpBackward", [px, pdy, ps, pu, pdx, pd, pe, 1 / p, p, area, 1 / p === 0.5 ? 2 : 0, p === 2 ? 2 : p === 1 ? 1 : 0, ...sz, ax[5] as number, ax[8] as number, ax[6] as number, ax[7] as number, ...reg, pc, exact ? p32 : 0, eLen > 0 ? pE : 0], {
        count: 12, step: [[0, 4 * inPlane], [1, 4 * outPlane], [2, 4 * outPlane], [3, 4 * outPlane], [4, 4 * inPlane]], scratch: [[6, 4 * ex], ...(eLen > 0 ? [[27, 4 * eLen] as [number, number]] : [])],
        bytes: 4 * (2 * inPlane + 3 * outPlane),
      });
      args.finish();
    },
  );
}

/** Remove the weighted-window kernels (the TypeScript references run again). */
export function unregisterWeighted(): void {
  for (const name of NAMES) unregisterKernel(name, "float32");
}
