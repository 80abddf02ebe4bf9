/**
 * The WebAssembly backends: one `WebAssembly.Memory` that tensors live in (managed by a
 * {@link LinearHeap}), and the kernels compiled from assembly/pool.ts — a SIMD and a scalar build of
 * the same source — registered in the kernel table for float32 in place of the TypeScript window
 * kernels (max and average, forward and backward; every op built on them — max/avg/adaptive/global
 * pooling, spatial pyramid, mixed, LP, fractional max's and stochastic pooling's backward — uses them).
 *
 * A kernel receives typed-array views, as the TypeScript kernels do. A view of this memory becomes a
 * pointer (`byteOffset`) — no copy; anything else (a JS-heap tensor made under the "js" backend,
 * geometry arrays) is copied into scratch blocks, after all pointers have been read, because
 * allocating may grow the memory and detach the views passed in.
 *
 * SIMD support is decided once with `WebAssembly.validate` on the SIMD build itself.
 */
import { PoolkitRangeError } from "../../errors.js";
import type { Axes3, Axis } from "../../geometry/plan.js";
import { registerKernel, unregisterKernel, type WindowKernels } from "../../kernels/registry.js";
import type { FloatArray, TypedArray } from "../../tensor/dtype.js";
import { LinearHeap, type LinearStorage } from "../linear.js";
import { wasmApi, type WasmApi, type WasmMemory } from "./api.js";
import { SCALAR_WASM, SIMD_WASM } from "./module.generated.js";
import { registerWeighted, unregisterWeighted } from "./weighted.js";
import { registerAdaptive } from "./adaptive.js";
import { registerMaxFast, unregisterMaxFast } from "./maxfast.js";
import { registerRegion, unregisterRegion } from "./region.js";
import { registerScatter, unregisterScatter } from "./scatter.js";
import { registerGemm, unregisterGemm } from "./gemm.js";
import { registerLinalg, unregisterLinalg } from "./linalg.js";
import { registerDpp, unregisterDpp } from "./dpp.js";
import { registerBilinear, unregisterBilinear } from "./bilinear.js";
import { avgRowsForward, avgRowsRun } from "./avgrows.js";
import { applyThreads, sharedInstance, splitCall, type ThreadPool } from "./threads.js";

/** Decode base64 without `atob`/`Buffer` (both engines have one, but neither is in the ES library). */
function fromBase64(s: string): Uint8Array {
  const table = new Int8Array(128).fill(-1);
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < 64; i++) table[chars.charCodeAt(i)] = i;
  let n = s.length;
  while (n > 0 && s[n - 1] === "=") n--;
  const out = new Uint8Array(Math.floor((n * 3) / 4));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (let i = 0; i < n; i++) {
    acc = (acc << 6) | (table[s.charCodeAt(i)] as number);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

type Ptr = number;
interface Exports {
  maxForward(...args: number[]): void;
  maxBackward(dy: Ptr, idx: Ptr, dx: Ptr, planes: number, inPlane: number, outPlane: number): void;
  avgForward(...args: number[]): void;
  avgBackward(...args: number[]): void;
  avgBackwardSum(...args: number[]): void;
}

const bytesCache: { simd?: Uint8Array; scalar?: Uint8Array } = {};
function moduleBytes(simd: boolean): Uint8Array {
  if (simd) return (bytesCache.simd ??= fromBase64(SIMD_WASM));
  return (bytesCache.scalar ??= fromBase64(SCALAR_WASM));
}

let simdOk: boolean | undefined;

/** Whether this engine runs WebAssembly at all. */
export function wasmSupported(): boolean {
  return wasmApi() !== undefined;
}

/** Whether this engine validates the SIMD build (v128; no relaxed SIMD). */
export function simdSupported(): boolean {
  if (simdOk === undefined) {
    const api = wasmApi();
    try {
      simdOk = api !== undefined && api.validate(moduleBytes(true));
    } catch {
      simdOk = false;
    }
  }
  return simdOk;
}

/** One instantiated kernels module, the heap over its memory, and its worker pool (shared memory only). */
export interface WasmBackend {
  readonly simd: boolean;
  readonly heap: LinearHeap;
  readonly exports: Exports;
  readonly pool: ThreadPool | null;
}

/**
 * Shared memory (and so a worker pool) wherever the engine has it (src/backends/wasm/threads.ts);
 * an ordinary memory otherwise, and always in the detaching test mode (growing a shared memory
 * detaches nothing, so that mode needs an unshared one).
 */
function instantiate(api: WasmApi, simd: boolean, detachOnAllocate: boolean): WasmBackend {
  const shared = detachOnAllocate ? null : sharedInstance(api, moduleBytes(simd), 2);
  if (shared !== null) return { simd, heap: shared.heap, exports: shared.instance.exports as unknown as Exports, pool: shared.pool };
  const memory: WasmMemory = new api.Memory({ initial: 2, maximum: 65536 });
  const module = new api.Module(moduleBytes(simd));
  const instance = new api.Instance(module, { env: { memory } });
  const zeroFill = instance.exports["zeroFill"] as (ptr: number, bytes: number) => void;
  const heap = new LinearHeap({ memory, detachOnAllocate, zeroFill });
  return { simd, heap, exports: instance.exports as unknown as Exports, pool: null };
}

const instances: { simd?: WasmBackend; scalar?: WasmBackend } = {};
let active: WasmBackend | null = null;

/**
 * Instantiate (once per variant; a fresh one in detaching test mode) and register the wasm kernels.
 * Returns the heap new tensors should live in.
 */
export function installWasmKernels(simd: boolean, opts: { detachOnAllocate?: boolean } = {}): LinearHeap {
  const api = wasmApi();
  if (api === undefined) throw new Error("installWasmKernels: this engine has no WebAssembly");
  let b: WasmBackend;
  if (opts.detachOnAllocate === true) b = instantiate(api, simd, true);
  else if (simd) b = instances.simd ??= instantiate(api, true, false);
  else b = instances.scalar ??= instantiate(api, false, false);
  active = b;
  // the thread count asked for applies to this instance too; its workers start in the background
  // (calls run on one thread until they are ready), and a worker that cannot start is dropped
  applyThreads(b.pool).catch(() => undefined);
  const k = wasmKernels(b);
  registerKernel("maxWindows.forward", "float32", k["maxWindows.forward"]);
  registerKernel("maxWindows.backward", "float32", k["maxWindows.backward"]);
  registerKernel("avgWindows.forward", "float32", k["avgWindows.forward"]);
  registerKernel("avgWindows.backward", "float32", k["avgWindows.backward"]);
  registerKernel("avgWindows.backwardWrite", "float32", avgBackwardWriteKernel(b, k["avgWindows.backward"]));
  registerWeighted(b);
  registerAdaptive(b);
  registerMaxFast(b);
  registerRegion(b);
  registerScatter(b);
  registerGemm(b);
  registerLinalg(b);
  registerDpp(b);
  registerBilinear(b);
  return b.heap;
}

/** Unregister the wasm kernels (the TypeScript kernels run again). */
export function removeWasmKernels(): void {
  active = null;
  for (const name of ["maxWindows.forward", "maxWindows.backward", "avgWindows.forward", "avgWindows.backward", "avgWindows.backwardWrite"] as const) {
    unregisterKernel(name, "float32");
  }
  unregisterWeighted();
  unregisterMaxFast();
  unregisterRegion();
  unregisterScatter();
  unregisterGemm();
  unregisterLinalg();
  unregisterDpp();
  unregisterBilinear();
}

/** @internal The active wasm backend (null under "js"); tests and the benchmark read its heap. */
export function activeWasm(): WasmBackend | null {
  return active;
}

/**
 * How a kernel uses an argument: `false` reads it; `true` reads and writes it (an accumulator, e.g. a
 * backward's dx that gradients are added into); `"out"` writes every element without reading any (a
 * forward's output and indices) — its scratch block is not filled before the call.
 */
export type ArgUse = boolean | "out";

/**
 * Pointers for one kernel call: views of the backend's memory map to their byteOffset; other arrays
 * are copied into scratch blocks (unless write-only) and copied back out when the kernel writes them.
 */
export class Args {
  readonly #b: WasmBackend;
  readonly #buffer: ArrayBuffer;
  readonly #scratch: LinearStorage[] = [];
  readonly #copyBack: [LinearStorage, TypedArray][] = [];
  readonly #pending: [TypedArray | Float64Array, ArgUse, number][] = [];
  readonly ptrs: number[] = [];

  constructor(b: WasmBackend) {
    this.#b = b;
    this.#buffer = b.heap.memory.buffer;
  }

  /** Register an argument; returns its slot (the pointer is known after {@link resolve}). */
  add(a: TypedArray | Float64Array, written: ArgUse): number {
    const slot = this.ptrs.length;
    if (a.buffer === this.#buffer) this.ptrs.push(a.byteOffset);
    else {
      this.ptrs.push(-1);
      this.#pending.push([a, written, slot]);
    }
    return slot;
  }

  /** Copy the non-resident arguments in (allocating may grow the memory: every view was read before). */
  resolve(): void {
    for (const [a, written, slot] of this.#pending) {
      const dtype = a instanceof Float32Array ? "float32" : a instanceof Float64Array ? "float64" : "int32";
      const s = this.#b.heap.allocate(dtype, Math.max(a.length, 1), false);
      if (s === null) {
        this.release();
        throw new PoolkitRangeError("wasm backend", `out of WebAssembly memory: ${a.length} scratch elements do not fit in the 4 GiB address space (setBackend("js") runs without it)`);
      }
      this.#scratch.push(s);
      if (written !== "out") s.view.set(a);
      this.ptrs[slot] = s.ptr;
      if (written !== false) this.#copyBack.push([s, a as TypedArray]);
    }
  }

  /** Copy written scratch back to the caller's arrays and free the scratch blocks. */
  finish(): void {
    for (const [s, a] of this.#copyBack) a.set(s.view.subarray(0, a.length));
    this.release();
  }

  release(): void {
    for (const s of this.#scratch) s.free();
    this.#scratch.length = 0;
  }
}

/** The six start/end arrays of a plan's axes in one int32 array: aS, aE, bS, bE, cS, cE. */
export function axesArray(axes: Axes3): Int32Array {
  const [A, B, C] = axes;
  const out = new Int32Array(2 * (A.outSize + B.outSize + C.outSize));
  let o = 0;
  for (const ax of [A, B, C]) {
    out.set(ax.start.subarray(0, ax.outSize), o);
    o += ax.outSize;
    out.set(ax.end.subarray(0, ax.outSize), o);
    o += ax.outSize;
  }
  return out;
}

/**
 * The interior run of the last axis for the SIMD path: the longest run of output columns whose
 * windows have the full length k and start `stride` apart. Only when every axis has step 1 (no
 * dilation); otherwise an empty run (everything takes the scalar path).
 */
export function interior(axes: Axes3): [number, number, number, number] {
  const [A, B, C] = axes;
  if (A.step !== 1 || B.step !== 1 || C.step !== 1 || C.outSize < 4) return [0, 0, 1, 0];
  let k = 0;
  for (let i = 0; i < C.outSize; i++) k = Math.max(k, (C.end[i] as number) - (C.start[i] as number));
  let bestLo = 0;
  let bestHi = 0;
  let stride = 1;
  let i = 0;
  while (i < C.outSize) {
    if ((C.end[i] as number) - (C.start[i] as number) !== k) {
      i++;
      continue;
    }
    const lo = i;
    let s = -1;
    i++;
    while (i < C.outSize && (C.end[i] as number) - (C.start[i] as number) === k) {
      const d = (C.start[i] as number) - (C.start[i - 1] as number);
      if (s === -1) s = d;
      else if (d !== s) break;
      i++;
    }
    if (i - lo > bestHi - bestLo && s > 0) {
      bestLo = lo;
      bestHi = i;
      stride = s;
    }
  }
  return bestHi - bestLo >= 4 ? [bestLo, bestHi, stride, k] : [0, 0, 1, 0];
}

function axisArgs(ax: Axis, base: number, off: number): [number, number, number, number] {
  return [base + off * 4, base + (off + ax.outSize) * 4, ax.outSize, ax.step];
}

/** The nine axis arguments (pointers, sizes, steps) of the window kernels for axes copied to `axesPtr`. */
export function geometry(axes: Axes3, axesPtr: number): number[] {
  const [A, B, C] = axes;
  const offA = 0;
  const offB = 2 * A.outSize;
  const offC = offB + 2 * B.outSize;
  return [...axisArgs(A, axesPtr, offA), ...axisArgs(B, axesPtr, offB), ...axisArgs(C, axesPtr, offC)];
}

/**
 * The transposed axis of a window axis (average pooling's backward as window sums, assembly/avg.ts):
 * for each input position i, the run [start, end) of outputs whose windows hold i. Exists when the
 * step is 1 and the windows' starts and ends do not decrease (then the windows holding i are exactly
 * the outputs o with end[o] > i and start[o] ≤ i, one run); null otherwise.
 */
export function transposedAxis(ax: Axis): Axis | null {
  const n = ax.outSize;
  const m = ax.inSize;
  if (ax.step !== 1) return null;
  for (let o = 1; o < n; o++) {
    if ((ax.start[o] as number) < (ax.start[o - 1] as number) || (ax.end[o] as number) < (ax.end[o - 1] as number)) return null;
  }
  const start = new Int32Array(m);
  const end = new Int32Array(m);
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < m; i++) {
    while (lo < n && (ax.end[lo] as number) <= i) lo++;
    while (hi < n && (ax.start[hi] as number) <= i) hi++;
    start[i] = lo;
    end[i] = Math.max(lo, hi);
  }
  const padCount = new Int32Array(m);
  for (let i = 0; i < m; i++) padCount[i] = (end[i] as number) - (start[i] as number);
  return { inSize: n, outSize: m, start, end, step: 1, padCount };
}

/** {@link transposedAxis} of all three axes, or null when one has none. */
export function transposedAxes(axes: Axes3): Axes3 | null {
  const a = transposedAxis(axes[0]);
  const b = transposedAxis(axes[1]);
  const c = transposedAxis(axes[2]);
  return a === null || b === null || c === null ? null : [a, b, c];
}

/**
 * The column segments of a transposed last axis (from {@link transposedAxis}): the maximal runs of
 * input columns held by one run of outputs, as int32 quadruples (c0, c1, lo, hi) — columns [c0, c1)
 * are held by outputs [lo, hi) (assembly/avg.ts, avgBackwardWrite).
 */
export function columnSegments(t: Axis): Int32Array {
  const out: number[] = [];
  let c0 = 0;
  for (let c = 1; c <= t.outSize; c++) {
    if (c === t.outSize || t.start[c] !== t.start[c0] || t.end[c] !== t.end[c0]) {
      out.push(c0, c, t.start[c0] as number, t.end[c0] as number);
      c0 = c;
    }
  }
  return Int32Array.from(out);
}

/**
 * How `avgWindows.backwardWrite` runs a plan: "segments" (avgBackwardWrite: column segments of 4 or
 * more on average — adaptive and global bins — and, on the SIMD build, strided windows whose columns
 * each lie in at most one window, by its column blocks), "passes" (assembly/avgstrided.ts
 * avgBackwardPasses: the other strided windows with stride 2 along the last axis — an interior run
 * in {@link passGeometry} over half the row or more), or "fill" (zero dx, then the accumulating
 * kernel: stride-1 sliding windows along the last axis take avgBackwardSum; overlapping windows of
 * other strides, non-monotone or dilated plans the scatter loop, which measured faster than the
 * passes' column-by-column loop for them — kernel 4 stride 3 on [8,64,56,56]: 2.8 against 7.0 ms;
 * windows that do not overlap along the last axis take column segments then). `t`: the transposed
 * axes, `seg`: the last one's column segments, `J`: the most windows holding one column.
 */
export function avgWritePlan(axes: Axes3, simd: boolean): { path: "segments" | "passes"; t: Axes3; seg: Int32Array; J: number } | { path: "fill" } {
  const [A, B, C] = axes;
  const t = A.outSize * B.outSize * C.outSize === 0 ? null : transposedAxes(axes);
  if (t === null || interior(t)[3] > 0) return { path: "fill" };
  const seg = columnSegments(t[2]);
  let J = 1;
  for (let c = 0; c < C.inSize; c++) J = Math.max(J, (t[2].end[c] as number) - (t[2].start[c] as number));
  if (seg.length <= C.inSize || (simd && J === 1)) return { path: "segments", t, seg, J };
  const inner = passGeometry(axes, t).inner;
  if (2 * (inner[1] - inner[0]) >= C.inSize) return { path: "passes", t, seg, J };
  return J === 1 ? { path: "segments", t, seg, J } : { path: "fill" };
}

/** −0 entries each side of a g row of avgBackwardPasses (assembly/avgstrided.ts PAD): the most terms of an interior column beyond the outputs. */
const PASS_PAD = 3;

/**
 * What assembly/avgstrided.ts avgBackwardPasses needs of a "passes" plan (transposed axes `t`), in one
 * int32 array `geo` (cached per plan's axes):
 * - at 0, per dx row (a, b) (`nRows` = D·H of them) the triple (init, p0, p1): the row's sequence of
 *   output rows oa·oH + ob (oa over its depth run, ob over its row run: the reference's scan order)
 *   is the sequence of the earlier row `init` (the longest such prefix; −1: none, start from 0)
 *   followed by passes[p0 … p1);
 * - at `passesAt`, those output rows (each row's right after the previous row's);
 * - at `colsAt`, per column c (lo, n): outputs lo … lo + n − 1 hold it.
 * `inner` = [cA, cB, m0, d1, nE, nO]: the longest run of columns [cA, cB) (even length ≥ 4; else all
 * 0) where column cA + 2i + φ is held by outputs m0 + i + φ·d1 … (nE or nO of them, ≤ PASS_PAD)
 * clipped to [0, oW) — stride 2 along the last axis — extending at most PASS_PAD outputs past either
 * end (those terms are the g rows' −0 padding).
 */
export interface PassGeometry {
  geo: Int32Array;
  nRows: number;
  passesAt: number;
  colsAt: number;
  inner: [number, number, number, number, number, number];
}

const passCache = new WeakMap<Axes3, PassGeometry>();

/** The {@link PassGeometry} of a plan (axes `axes`, transposed axes `t` from {@link transposedAxes}), cached per plan's axes. */
export function passGeometry(axes: Axes3, t: Axes3): PassGeometry {
  const hit = passCache.get(axes);
  if (hit !== undefined) return hit;
  const [tA, tB, tC] = t;
  const oH = axes[1].outSize;
  const oW = axes[2].outSize;
  const W = tC.outSize;
  const rows: number[] = [];
  const passes: number[] = [];
  const first = new Map<string, number>(); // a sequence's first dx row
  for (let a = 0; a < tA.outSize; a++) {
    for (let b = 0; b < tB.outSize; b++) {
      const seq: number[] = [];
      for (let oa = tA.start[a] as number; oa < (tA.end[a] as number); oa++) {
        for (let ob = tB.start[b] as number; ob < (tB.end[b] as number); ob++) seq.push(oa * oH + ob);
      }
      let init = -1;
      let L = 0;
      for (let l = seq.length; l >= 1 && init < 0; l--) {
        const r = first.get(seq.slice(0, l).join());
        if (r !== undefined) {
          init = r;
          L = l;
        }
      }
      const key = seq.join();
      if (seq.length > 0 && !first.has(key)) first.set(key, rows.length / 3);
      rows.push(init, passes.length, passes.length + seq.length - L);
      for (let i = L; i < seq.length; i++) passes.push(seq[i] as number);
    }
  }
  const cols = new Int32Array(2 * W);
  for (let c = 0; c < W; c++) {
    cols[2 * c] = tC.start[c] as number;
    cols[2 * c + 1] = (tC.end[c] as number) - (tC.start[c] as number);
  }
  const inner = passInterior(cols, W, oW);
  const passesAt = rows.length;
  const colsAt = passesAt + passes.length;
  const geo = new Int32Array(colsAt + cols.length);
  geo.set(rows, 0);
  geo.set(passes, passesAt);
  geo.set(cols, colsAt);
  const r: PassGeometry = { geo, nRows: rows.length / 3, passesAt, colsAt, inner };
  passCache.set(axes, r);
  return r;
}

/** {@link PassGeometry}'s interior run: from the pair of columns at the middle of the row (either parity), as far as every column fits. */
function passInterior(cols: Int32Array, W: number, oW: number): [number, number, number, number, number, number] {
  let best: [number, number, number, number, number, number] = [0, 0, 0, 0, 0, 0];
  for (let ph = 0; ph < 2; ph++) {
    const c = ph + 2 * Math.floor((W / 2 - ph) / 2);
    if (c < 0 || c + 1 >= W) continue;
    const lo = cols[2 * c] as number;
    const nE = cols[2 * c + 1] as number;
    const nO = cols[2 * c + 3] as number;
    const d1 = (cols[2 * c + 2] as number) - lo;
    if (nE < 1 || nO < 1 || nE > PASS_PAD || nO > PASS_PAD || d1 < 0 || d1 > 1) continue;
    // column x by the pattern: outputs a … a + n − 1, clipped to [0, oW), are the ones holding it
    const fits = (x: number): boolean => {
      const i = Math.floor((x - c) / 2);
      const odd = (x - c) & 1;
      const n = odd === 1 ? nO : nE;
      const a = lo + i + odd * d1;
      if (a < -PASS_PAD || a + n > oW + PASS_PAD) return false;
      const from = Math.max(a, 0);
      const to = Math.min(a + n, oW);
      return to <= from ? cols[2 * x + 1] === 0 : cols[2 * x] === from && cols[2 * x + 1] === to - from;
    };
    let a = c;
    while (a - 2 >= 0 && fits(a - 2) && fits(a - 1)) a -= 2;
    let b = c;
    while (b + 1 < W && fits(b) && fits(b + 1)) b += 2;
    if (b - a >= 4 && b - a > best[1] - best[0]) best = [a, b, lo - (c - a) / 2, d1, nE, nO];
  }
  return best;
}

/**
 * A divisor for which avg backward's float32 division (dy + 0)/d equals the reference's fl32(0 + f64(dy)/d):
 * an integer in [1, 2²⁴] (exact in float32; double rounding is innocuous for division, see
 * assembly/avg.ts avgBackwardWrite).
 */
function exactF32Divisor(d: number): boolean {
  return Number.isInteger(d) && d >= 1 && d <= 2 ** 24;
}

/** {@link avgWritePlan} per plan's axes, for the scalar and the SIMD build (plans are immutable; a vjp's backward runs the same one each call). */
const writePlans = [new WeakMap<Axes3, ReturnType<typeof avgWritePlan>>(), new WeakMap<Axes3, ReturnType<typeof avgWritePlan>>()] as const;

/**
 * `avgWindows.backwardWrite` (dx = 0, then dx[window] += dy / divisor[o]) over one backend instance:
 * one window covering each plane (global pooling) by avgBackwardGlobal's splats, else by {@link avgWritePlan}: the one-write kernels write every dx element once, adding the reference's
 * float64 terms in its order (bit-identical); "fill" zeroes dx and runs `accumulate` (the
 * `avgWindows.backward` kernel).
 */
function avgBackwardWriteKernel(b: WasmBackend, accumulate: WindowKernels["avgWindows.backward"]) {
  return (dy: FloatArray, dx: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void => {
    const [A, B, C] = axes;
    const outPlane = A.outSize * B.outSize * C.outSize;
    const inPlane = A.inSize * B.inSize * C.inSize;
    if (planes === 0 || inPlane === 0) return;
    const d = divisor[0] as number;
    if (outPlane === 1 && axes.every((a) => a.step === 1 && a.start[0] === 0 && a.end[0] === a.inSize) && exactF32Divisor(d)) {
      // one window per plane covering it (global pooling): every element dy/d, written with splats
      const args = new Args(b);
      args.add(dy, false);
      args.add(dx, "out"); // every element written
      args.resolve();
      const [pdy, pdx] = args.ptrs as [number, number];
      splitCall(b, "avgBackwardGlobal", [pdy, pdx, planes, inPlane, d], { count: 2, step: [[0, 4], [1, 4 * inPlane]], bytes: 4 * (inPlane + 1) });
      args.finish();
      return;
    }
    const cache = writePlans[b.simd ? 1 : 0];
    let w = cache.get(axes);
    if (w === undefined) cache.set(axes, (w = avgWritePlan(axes, b.simd)));
    if (w.path === "fill") {
      // zeroed by the module's memory.fill where dx lives in its memory (a typed array's fill on a
      // shared buffer is several times slower)
      const zeroFill = (b.exports as unknown as Record<string, unknown>)["zeroFill"] as ((ptr: number, bytes: number) => void) | undefined;
      if (dx.buffer === b.heap.memory.buffer && zeroFill !== undefined) zeroFill(dx.byteOffset, dx.byteLength);
      else dx.fill(0);
      accumulate(dy, dx, planes, axes, divisor);
      return;
    }
    const { t, seg } = w;
    const nSeg = seg.length / 4;
    const W = C.inSize;
    if (w.path === "passes") {
      // strided windows: avgBackwardPasses, each dx row from an earlier one plus passes over output rows
      const pg = passGeometry(axes, t);
      const gLen = (outPlane / C.outSize) * (C.outSize + 2 * PASS_PAD);
      const args = new Args(b);
      args.add(dy, false);
      args.add(dx, "out"); // every element written
      args.add(divisor, false);
      args.add(new Float64Array(gLen), false); // g: one plane's dy / divisor, rows padded with −0
      args.add(pg.geo, false);
      args.resolve();
      const [pdy, pdx, pd, pgp, pa] = args.ptrs as [number, number, number, number, number];
      splitCall(b, "avgBackwardPasses", [pdy, pdx, pd, pgp, planes, W, C.outSize, inPlane, outPlane, pa, pg.nRows, pa + 4 * pg.passesAt, pa + 4 * pg.colsAt, ...pg.inner], {
        count: 4, step: [[0, 4 * outPlane], [1, 4 * inPlane]], scratch: [[3, 8 * gLen]], bytes: 4 * (inPlane + outPlane),
      });
      args.finish();
      return;
    }
    // column segments (adaptive and global bins, SIMD one-window columns): avgBackwardWrite over the groups of equal rows
    const { s, mode, div32 } = segmentMode(axes, t, seg, divisor, b.simd);
    const cols = mode !== 0;
    const fLen = !cols ? 1 : div32 !== null ? outPlane + 4 : s.nG * ((C.outSize + 7) & ~3);
    const args = new Args(b);
    args.add(dy, false);
    args.add(dx, "out"); // every element written
    args.add(div32 ?? divisor, false);
    args.add(new Float64Array(outPlane + 4), false); // g: one plane's dy / divisor
    args.add(new Float32Array(fLen), false); // f: the groups' float32 rows (or the plane's one-term values)
    args.add(s.geo, false);
    args.resolve();
    const [pdy, pdx, pd, pg, pf, pa] = args.ptrs as [number, number, number, number, number, number];
    splitCall(b, "avgBackwardWrite", [pdy, pdx, pd, pg, pf, planes, W, B.outSize, C.outSize, inPlane, outPlane,
      pa, s.nG, pa + 4 * s.segAt, nSeg, pa + 4 * s.basesAt, pa + 4 * s.masksAt, s.nBlk, mode], {
      count: 5, step: [[0, 4 * outPlane], [1, 4 * inPlane]], scratch: [[3, 8 * (outPlane + 4)], [4, 4 * fLen]], bytes: 4 * (inPlane + outPlane),
    });
    args.finish();
  };
}

/**
 * What assembly/avg.ts avgBackwardWrite needs of a plan on the "segments" path, in one int32 array
 * `geo` (cached per plan's axes): the groups of consecutive dx rows (row = a·H + b) whose depth and
 * row runs are equal — sextuples (row0, m, a0, a1, b0, b1), `nG` of them at 0 — then the column
 * segments at `segAt`, and where every column is held by at most one output column (and W ≥ 4) the
 * column blocks `cols` of the SIMD path: `nBlk` output-column bases at `basesAt` and i8x16.swizzle
 * masks at `masksAt` (block q at column 4q, the last at W − 4 when W % 4 ≠ 0), `splat` when each
 * block is one output's value. `oneTerm`: every row group held by at most one output row and
 * column blocks exist (each dx element is one term, fl32(0 + dy/d)).
 */
export interface SegmentGeometry {
  geo: Int32Array;
  nG: number;
  segAt: number;
  basesAt: number;
  masksAt: number;
  nBlk: number;
  cols: { splat: boolean } | null;
  oneTerm: boolean;
}

const segmentCache = new WeakMap<Axes3, SegmentGeometry>();

/**
 * avgBackwardWrite's mode for a "segments" plan (`t`, `seg` from {@link avgWritePlan}): 0 column
 * segments (the scalar build, or a column held by two or more outputs), 1 column swizzles, 2 column
 * splats, + 4 one term per element with float32 divisors `div32` (each divisor an integer in
 * [1, 2²⁴], so exact in float32; outPlane + 4 floats).
 */
export function segmentMode(axes: Axes3, t: Axes3, seg: Int32Array, divisor: Float64Array, simd: boolean): { s: SegmentGeometry; mode: number; div32: Float32Array | null } {
  const s = segmentGeometry(axes, t, seg);
  if (!simd || s.cols === null) return { s, mode: 0, div32: null };
  const outPlane = axes[0].outSize * axes[1].outSize * axes[2].outSize;
  let div32: Float32Array | null = null;
  if (s.oneTerm) {
    div32 = new Float32Array(outPlane + 4).fill(1);
    for (let k = 0; k < outPlane && div32 !== null; k++) {
      const d = divisor[k] as number;
      div32[k] = d;
      if (!exactF32Divisor(d)) div32 = null;
    }
  }
  return { s, mode: (s.cols.splat ? 2 : 1) + (div32 !== null ? 4 : 0), div32 };
}

function segmentGeometry(axes: Axes3, t: Axes3, seg: Int32Array): SegmentGeometry {
  const hit = segmentCache.get(axes);
  if (hit !== undefined) return hit;
  const [tA, tB, tC] = t;
  const groups: number[] = [];
  let oneTerm = true;
  for (let ia = 0; ia < tA.outSize; ia++) {
    const a0 = tA.start[ia] as number;
    const a1 = tA.end[ia] as number;
    for (let ib = 0; ib < tB.outSize; ib++) {
      const b0 = tB.start[ib] as number;
      const b1 = tB.end[ib] as number;
      const n = groups.length;
      if (n > 0 && groups[n - 4] === a0 && groups[n - 3] === a1 && groups[n - 2] === b0 && groups[n - 1] === b1) {
        groups[n - 5] = (groups[n - 5] as number) + 1;
        continue;
      }
      groups.push(ia * tB.outSize + ib, 1, a0, a1, b0, b1);
      if ((a1 - a0) * (b1 - b0) > 1) oneTerm = false;
    }
  }
  const blocks = columnBlocks(tC);
  const nG = groups.length / 6;
  const segAt = groups.length;
  const basesAt = segAt + seg.length;
  const nBlk = blocks === null ? 0 : blocks.bases.length;
  const masksAt = basesAt + nBlk;
  const geo = new Int32Array(masksAt + 4 * nBlk);
  geo.set(groups, 0);
  geo.set(seg, segAt);
  if (blocks !== null) {
    geo.set(blocks.bases, basesAt);
    geo.set(blocks.masks, masksAt);
  }
  const r: SegmentGeometry = { geo, nG, segAt, basesAt, masksAt, nBlk, cols: blocks === null ? null : { splat: blocks.splat }, oneTerm: oneTerm && blocks !== null };
  segmentCache.set(axes, r);
  return r;
}

/**
 * The 4-column blocks of a transposed last axis `t` (W = t.outSize input columns) for
 * avgBackwardWrite's column modes: block q covers columns 4q … 4q + 3 (the last, when W % 4 ≠ 0,
 * W − 4 … W − 1); `bases[q]` is the least output column holding one of them and `masks[q]` the
 * i8x16.swizzle bytes taking each column's float from the 4 at bases[q] (0x80: no window holds it,
 * +0). `splat`: every block's 4 columns are held by one output. Null when W < 4, a column is held by
 * two or more outputs, or a block's outputs spread over more than 4.
 */
export function columnBlocks(t: Axis): { bases: Int32Array; masks: Int32Array; splat: boolean } | null {
  const W = t.outSize;
  if (W < 4) return null;
  for (let c = 0; c < W; c++) if ((t.end[c] as number) - (t.start[c] as number) > 1) return null;
  const full = W >> 2;
  const nBlk = full + (W % 4 === 0 ? 0 : 1);
  const bases = new Int32Array(nBlk);
  const masks = new Int32Array(4 * nBlk);
  let splat = true;
  for (let q = 0; q < nBlk; q++) {
    const c0 = q < full ? 4 * q : W - 4;
    const src = [0, 1, 2, 3].map((l) => ((t.end[c0 + l] as number) > (t.start[c0 + l] as number) ? (t.start[c0 + l] as number) : -1));
    const held = src.filter((v) => v >= 0);
    const base = held.length === 0 ? 0 : Math.min(...held);
    bases[q] = base;
    if (held.length < 4 || held.some((v) => v !== base)) splat = false;
    for (let l = 0; l < 4; l++) {
      const v = src[l] as number;
      const tap = v < 0 ? -1 : v - base;
      if (tap > 3) return null;
      // little-endian bytes 4·tap … 4·tap + 3 of the loaded vector, or 0x80 (zero)
      masks[4 * q + l] = tap < 0 ? 0x80808080 | 0 : (4 * tap) | ((4 * tap + 1) << 8) | ((4 * tap + 2) << 16) | ((4 * tap + 3) << 24);
    }
  }
  return { bases, masks, splat };
}

/** Kernel implementations over one backend instance (float32). */
export function wasmKernels(b: WasmBackend): WindowKernels {
  return {
    "maxWindows.forward"(x: FloatArray, y: FloatArray, idx: Int32Array, planes: number, axes: Axes3): void {
      const [A, B, C] = axes;
      const outPlane = A.outSize * B.outSize * C.outSize;
      if (planes === 0 || outPlane === 0) return;
      const args = new Args(b);
      args.add(x, false);
      args.add(y, "out"); // maxForward writes every output and index
      args.add(idx, "out");
      args.add(axesArray(axes), false);
      args.resolve();
      const [px, py, pi, pa] = args.ptrs as [number, number, number, number];
      const inPlane = A.inSize * B.inSize * C.inSize;
      splitCall(b, "maxForward", [px, py, pi, planes, B.inSize, C.inSize, inPlane, outPlane, ...geometry(axes, pa), ...interior(axes)], {
        count: 3, step: [[0, 4 * inPlane], [1, 4 * outPlane], [2, 4 * outPlane]], bytes: 4 * (inPlane + 2 * outPlane),
      });
      args.finish();
    },
    "maxWindows.backward"(dy: FloatArray, idx: Int32Array, dx: FloatArray, planes: number, inPlane: number, outPlane: number): void {
      if (planes === 0 || outPlane === 0) return;
      const args = new Args(b);
      args.add(dy, false);
      args.add(idx, false);
      args.add(dx, true);
      args.resolve();
      const [pdy, pi, pdx] = args.ptrs as [number, number, number];
      splitCall(b, "maxBackward", [pdy, pi, pdx, planes, inPlane, outPlane], {
        count: 3, step: [[0, 4 * outPlane], [1, 4 * outPlane], [2, 4 * inPlane]], bytes: 4 * (inPlane + 2 * outPlane),
      });
      args.finish();
    },
    "avgWindows.forward"(x: FloatArray, y: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void {
      const [A, B, C] = axes;
      const outPlane = A.outSize * B.outSize * C.outSize;
      if (planes === 0 || outPlane === 0) return;
      // strided windows (an interior run of stride ≥ 2): the row-wise kernel of assembly/avgrows.ts
      const run = avgRowsRun(axes);
      if (run !== null) return avgRowsForward(b, x, y, planes, axes, divisor, run);
      const args = new Args(b);
      args.add(x, false);
      args.add(y, "out"); // avgForward writes every output
      args.add(divisor, false);
      args.add(axesArray(axes), false);
      args.resolve();
      const [px, py, pd, pa] = args.ptrs as [number, number, number, number];
      const inPlane = A.inSize * B.inSize * C.inSize;
      splitCall(b, "avgForward", [px, py, pd, planes, B.inSize, C.inSize, inPlane, outPlane, ...geometry(axes, pa), ...interior(axes)], {
        count: 3, step: [[0, 4 * inPlane], [1, 4 * outPlane]], bytes: 4 * (inPlane + outPlane),
      });
      args.finish();
    },
    "avgWindows.backward"(dy: FloatArray, dx: FloatArray, planes: number, axes: Axes3, divisor: Float64Array): void {
      const [A, B, C] = axes;
      const outPlane = A.outSize * B.outSize * C.outSize;
      if (planes === 0 || outPlane === 0) return;
      const inPlane = A.inSize * B.inSize * C.inSize;
      // the transposed plan pays where it has an interior run (sliding windows of stride 1); bins and
      // strided windows (transposed windows of 0–2 taps) stay with the scatter loop
      const t = transposedAxes(axes);
      const run = t === null ? null : interior(t);
      if (t !== null && run !== null && run[3] > 0) {
        // dx += window sums of dy over the transposed axes (assembly/avg.ts): divided once by a
        // constant divisor, else dy scaled by float32 reciprocals first
        let d = divisor[0] as number;
        for (let k = 1; k < outPlane; k++) {
          if (divisor[k] !== d) {
            d = 0;
            break;
          }
        }
        if (!(Number.isFinite(Math.fround(d)) && Math.fround(d) !== 0)) d = 0;
        const args = new Args(b);
        args.add(dy, false);
        args.add(dx, true);
        args.add(d === 0 ? Float32Array.from(divisor.subarray(0, outPlane), (v) => 1 / v) : new Float32Array(1), false);
        args.add(new Float32Array(d === 0 ? outPlane : 1), false);
        args.add(axesArray(t), false);
        args.resolve();
        const [pdy, pdx, pr, pg, pa] = args.ptrs as [number, number, number, number, number];
        const geo = geometry(t, pa);
        // the transposed geometry without the steps (every step is 1)
        const g3 = [geo[0], geo[1], geo[2], geo[4], geo[5], geo[6], geo[8], geo[9], geo[10]] as number[];
        splitCall(b, "avgBackwardSum", [pdy, pdx, pr, pg, d, planes, B.outSize, C.outSize, inPlane, outPlane, ...g3, ...run], {
          count: 5, step: [[0, 4 * outPlane], [1, 4 * inPlane]], scratch: d === 0 ? [[3, 4 * outPlane]] : [], bytes: 4 * (inPlane + outPlane),
        });
        args.finish();
        return;
      }
      const args = new Args(b);
      args.add(dy, false);
      args.add(dx, true);
      args.add(divisor, false);
      args.add(axesArray(axes), false);
      args.resolve();
      const [pdy, pdx, pd, pa] = args.ptrs as [number, number, number, number];
      splitCall(b, "avgBackward", [pdy, pdx, pd, planes, B.inSize, C.inSize, inPlane, outPlane, ...geometry(axes, pa)], {
        count: 3, step: [[0, 4 * outPlane], [1, 4 * inPlane]], bytes: 4 * (inPlane + outPlane),
      });
      args.finish();
    },
  };
}
