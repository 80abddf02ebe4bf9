/**
 * Max pooling's forward-only path and the row-reuse kernels (assembly/maxfast.ts):
 *
 * - a plain call `maxPoolNd(x, opts)` runs the values-only kernel `maxWindows.forwardValues` (no
 *   indices), `op.vjp` and the WithIndices variants the kernel with indices;
 * - on every backend (wasm-simd, wasm scalar, js) and with inputs in WebAssembly memory or the JS
 *   heap, the plain forward's values are bit for bit the TypeScript reference's (`maxWindowsForward`
 *   run directly, and the js backend's WithIndices output), and the WithIndices values and indices
 *   are the reference's — random shapes 1–113 (odd sizes, 1×1), 1-d/2-d/3-d, padding, dilation,
 *   ceil mode, inputs with NaN, ±∞, −0 and ties, and NaN-free tie sets that stay on the SIMD path;
 * - gradients through `vjp` still match float64 finite differences of the plain forward.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, setBackend, type BackendName } from "../../src/backends/index.js";
import { kernel, observeKernels, type KernelName } from "../../src/kernels/registry.js";
import { maxWindowsForward, maxWindowsForwardValues } from "../../src/kernels/window.js";
import * as pk from "../../src/index.js";
import { Generator } from "../../src/tensor/random.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { distinctRandom, gradcheck } from "../helpers/gradcheck.js";
import { firstBitDifference, int, values } from "../helpers/wasm.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

type Plain = ((x: Tensor, opts: object) => Tensor) & {
  vjp: (x: Tensor, opts: object) => { output: Tensor; backward: (dy: Tensor) => (Tensor | null)[] };
  planFor: (x: Tensor, opts: object) => { planes: number; axes: Parameters<typeof maxWindowsForward>[4]; outShape: readonly number[] };
};
type WithIdx = (x: Tensor, opts: object) => { output: Tensor; indices: Tensor };
const plainOp = (rank: number): Plain => (pk as unknown as Record<string, Plain>)[`maxPool${rank}d`] as Plain;
const idxOp = (rank: number): WithIdx => (pk as unknown as Record<string, WithIdx>)[`maxPool${rank}dWithIndices`] as WithIdx;

const BACKENDS: BackendName[] = ["wasm-simd", "wasm", "js"];

interface Case {
  rank: number;
  shape: number[];
  opts: Record<string, unknown>;
}

function randomCase(g: Generator): Case {
  const rank = int(g, 1, 3);
  const spatial = Array.from({ length: rank }, (_, i) => (i === rank - 1 || g.uniform() < 0.3 ? int(g, 1, 113) : int(g, 1, rank === 3 ? 9 : 40)));
  const shape = [int(g, 1, 2), int(g, 1, 3), ...spatial];
  const kernelSize = spatial.map((s) => int(g, 1, Math.min(s, 5)));
  const stride = kernelSize.map((k) => int(g, 1, k + 1));
  const dilation = g.uniform() < 0.25 ? kernelSize.map(() => int(g, 1, 3)) : 1;
  const dil = (i: number) => (Array.isArray(dilation) ? (dilation[i] as number) : 1);
  const padding = kernelSize.map((k, i) => int(g, 0, Math.floor(((k - 1) * dil(i) + 1) / 2)));
  return { rank, shape, opts: { kernelSize, stride, padding, dilation, ceilMode: g.uniform() < 0.4 } };
}

/** The TypeScript reference on a copy of xs: (values, indices) of maxWindowsForward and the values of maxWindowsForwardValues. */
function reference(c: Case, xs: Float32Array): { y: Float32Array; idx: Int32Array; yValues: Float32Array } {
  setBackend("js");
  const plan = plainOp(c.rank).planFor(tensor(xs, c.shape, "float32"), c.opts);
  const n = plan.outShape.reduce((a, s) => a * s, 1);
  const y = new Float32Array(n);
  const idx = new Int32Array(n);
  const yValues = new Float32Array(n);
  maxWindowsForward(xs.slice(), y, idx, plan.planes, plan.axes);
  maxWindowsForwardValues(xs.slice(), yValues, plan.planes, plan.axes);
  return { y, idx, yValues };
}

/** Plain forward and WithIndices on backend b (inputs made on `inputsOn`): copies of values, values, indices. */
function runOn(b: BackendName, inputsOn: BackendName, c: Case, xs: Float32Array): { plain: Float32Array; y: Float32Array; idx: Int32Array } {
  setBackend(inputsOn);
  const x = tensor(xs, c.shape, "float32");
  setBackend(b);
  const plain = plainOp(c.rank)(x, c.opts).data.slice() as Float32Array;
  const r = idxOp(c.rank)(x, c.opts);
  return { plain, y: r.output.data.slice() as Float32Array, idx: r.indices.data.slice() as Int32Array };
}

/** Bits of every element equal, NaN payloads included (max pooling copies its inputs' values). */
function bits(a: Float32Array | Int32Array, b: Float32Array | Int32Array): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i]) return `element ${i}: ${a[i]} vs ${b[i]}`;
  return null;
}

function check(label: string, c: Case, xs: Float32Array, b: BackendName, inputsOn: BackendName): void {
  let ref: ReturnType<typeof reference>;
  try {
    ref = reference(c, xs);
  } catch {
    return; // an invalid option combination (the plan rejects it on every backend)
  }
  expect(bits(ref.yValues, ref.y), `${label}: the values-only reference equals the reference's values`).toBeNull();
  const got = runOn(b, inputsOn, c, xs);
  expect(bits(got.plain, ref.y), `${label}: plain forward values`).toBeNull();
  expect(bits(got.y, ref.y), `${label}: WithIndices values`).toBeNull();
  expect(bits(got.idx, ref.idx), `${label}: WithIndices indices`).toBeNull();
}

describe("plain maxPoolNd runs the values-only kernel; vjp and WithIndices the kernel with indices", () => {
  it.each(BACKENDS)("%s", (b) => {
    setBackend(b);
    const x = pk.randn([2, 3, 9, 10], { seed: 1 });
    const seen = new Set<KernelName>();
    observeKernels((name) => void seen.add(name));
    try {
      pk.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 });
      expect([...seen]).toEqual(["maxWindows.forwardValues"]);
      seen.clear();
      pk.maxPool2d.vjp(x, { kernelSize: 3, stride: 2, padding: 1 });
      expect([...seen]).toEqual(["maxWindows.forward"]);
      seen.clear();
      pk.maxPool2dWithIndices(x, { kernelSize: 3, stride: 2, padding: 1 });
      expect([...seen]).toEqual(["maxWindows.forward"]);
    } finally {
      observeKernels(null);
    }
    if (b !== "js") expect(kernel("maxWindows.forwardValues", "float32", maxWindowsForwardValues)).not.toBe(maxWindowsForwardValues);
    else expect(kernel("maxWindows.forwardValues", "float32", maxWindowsForwardValues)).toBe(maxWindowsForwardValues);
  });
});

describe("random shapes 1–113: plain forward and WithIndices equal the TypeScript reference bit for bit", () => {
  for (const b of BACKENDS) {
    for (const inputsOn of (b === "js" ? ["js"] : [b, "js"]) as BackendName[]) {
      it(`${b}, inputs in ${inputsOn === "js" ? "the JS heap" : "WebAssembly memory"}`, () => {
        const g = new Generator(b === "wasm-simd" ? 31 : b === "wasm" ? 37 : 41);
        for (let n = 0; n < 80; n++) {
          const c = randomCase(g);
          const xs = values(g, c.shape.reduce((a, s) => a * s, 1));
          check(`[${c.shape}] ${JSON.stringify(c.opts)} on ${b}`, c, xs, b, inputsOn);
        }
      });
    }
  }

  it.each(BACKENDS)("%s: 1×1 planes, narrow and 4-wide rows, kernels 1–5, strides 1–3, 3-d volumes", (b) => {
    const g = new Generator(5);
    for (const [h, w] of [[1, 1], [1, 4], [4, 1], [2, 5], [3, 8], [5, 9], [7, 113], [113, 6]] as [number, number][]) {
      for (const s of [1, 2, 3]) {
        for (const k of [1, 2, 3, 4, 5]) {
          if (k > h + 2 * Math.floor(k / 2) || k > w + 2 * Math.floor(k / 2)) continue;
          const c: Case = { rank: 2, shape: [2, h, w], opts: { kernelSize: k, stride: s, padding: Math.floor(k / 2), ceilMode: s > 1 } };
          check(`[2,${h},${w}] ${JSON.stringify(c.opts)} ${b}`, c, values(g, 2 * h * w), b, b);
        }
      }
    }
    for (const [d, k, s] of [[5, 3, 1], [7, 3, 2], [4, 2, 2], [6, [2, 3, 3], [1, 2, 2]]] as [number, number | number[], number | number[]][]) {
      const c: Case = { rank: 3, shape: [1, 2, d, 11, 23], opts: { kernelSize: k, stride: s, padding: 1 } };
      check(`[1,2,${d},11,23] ${JSON.stringify(c.opts)} ${b}`, c, values(g, 2 * d * 11 * 23), b, b);
    }
  });
});

describe("NaN-free tie sets on the SIMD geometries (kernels 2–5, strides 1–3): ±0 signs, first maximum, −∞ windows", () => {
  const SETS: [string, number[]][] = [
    ["{0, 1}", [0, 1]],
    ["{−0, +0}", [-0, 0]],
    ["{−∞, −0, +0, 1}", [-Infinity, -0, 0, 1]],
    ["{+∞, −0, +0, −1}", [Infinity, -0, 0, -1]],
    ["{−∞}", [-Infinity]],
  ];
  for (const b of BACKENDS) {
    for (const [label, set] of SETS) {
      it(`${b}: inputs drawn from ${label}`, () => {
        const g = new Generator(211 + set.length);
        for (let n = 0; n < 25; n++) {
          const rank = int(g, 1, 3);
          const spatial = Array.from({ length: rank }, (_, i) => (i === rank - 1 ? int(g, 4, 113) : int(g, 1, rank === 3 ? 9 : 40)));
          const shape = [int(g, 1, 2), int(g, 1, 3), ...spatial];
          const kernelSize = spatial.map((s) => Math.min(s, int(g, 2, 5)));
          const stride = kernelSize.map(() => int(g, 1, 3));
          const padding = kernelSize.map((k) => int(g, 0, Math.floor(k / 2)));
          const c: Case = { rank, shape, opts: { kernelSize, stride, padding, ceilMode: g.uniform() < 0.4 } };
          const xs = Float32Array.from({ length: shape.reduce((a, s) => a * s, 1) }, () => set[Math.floor(g.uniform() * set.length)] as number);
          check(`[${shape}] ${JSON.stringify(c.opts)} ${label} on ${b}`, c, xs, b, b);
        }
      });
    }
  }

  it.each(BACKENDS)("%s: one NaN (with distinct payloads) in an otherwise tied plane propagates its own bits", (b) => {
    const g = new Generator(3);
    for (let n = 0; n < 20; n++) {
      const c: Case = { rank: 2, shape: [1, 2, int(g, 3, 40), int(g, 4, 60)], opts: { kernelSize: int(g, 2, 3), stride: int(g, 1, 2), padding: 1 } };
      const size = c.shape.reduce((a, s) => a * s, 1);
      const xs = Float32Array.from({ length: size }, () => Math.floor(g.uniform() * 2));
      const u = new Uint32Array(xs.buffer);
      for (let j = 0; j < 3; j++) u[Math.floor(g.uniform() * size)] = 0x7fc00000 + 1 + Math.floor(g.uniform() * 1000);
      check(`NaN payloads [${c.shape}] ${JSON.stringify(c.opts)} on ${b}`, c, xs, b, b);
    }
  });
});

describe("2-d planes on the rows path (plane2d): kernel heights 1–3, widths 2–3, strides 1–3 × 1–2, rows shared by consecutive output rows", () => {
  // Every geometry the rows path takes (and its neighbours: stride-3 heights, which share no row),
  // with random padding, ceil mode and sizes (odd included, widths ≥ 4 so there is an interior run);
  // three inputs each: mixed values with NaN/±∞/−0, a tie set with −0/+0/−∞, and a {0, 1} plane with
  // one NaN of its own payload — which often lands on a row carried from one output row to the next.
  const DATA = ["mixed", "ties", "one NaN"] as const;
  function input(g: Generator, kind: (typeof DATA)[number], n: number): Float32Array {
    if (kind === "mixed") return values(g, n);
    const set = kind === "ties" ? [-0, 0, -Infinity, 1] : [0, 1];
    const xs = Float32Array.from({ length: n }, () => set[Math.floor(g.uniform() * set.length)] as number);
    if (kind === "one NaN") new Uint32Array(xs.buffer)[Math.floor(g.uniform() * n)] = 0x7fc00000 + 1 + Math.floor(g.uniform() * 1000);
    return xs;
  }
  it.each(BACKENDS)("%s", (b) => {
    const g = new Generator(b === "wasm-simd" ? 71 : b === "wasm" ? 73 : 79);
    for (const kh of [1, 2, 3]) {
      for (const kw of [2, 3]) {
        for (const sh of [1, 2, 3]) {
          for (const sw of [1, 2]) {
            for (let rep = 0; rep < 4; rep++) {
              const h = int(g, kh, 23);
              const w = int(g, 4, 61);
              const padding = [int(g, 0, Math.floor(kh / 2)), int(g, 0, Math.floor(kw / 2))];
              const c: Case = { rank: 2, shape: [int(g, 1, 2), int(g, 1, 3), h, w], opts: { kernelSize: [kh, kw], stride: [sh, sw], padding, ceilMode: g.uniform() < 0.5 } };
              for (const kind of DATA) check(`[${c.shape}] ${JSON.stringify(c.opts)} ${kind} on ${b}`, c, input(g, kind, c.shape.reduce((a, x) => a * x, 1)), b, b);
            }
          }
        }
      }
    }
  });

  it.each(BACKENDS)("%s: W1/W2 geometry on a full 112×112 plane, 3-d with kernel depth 1 and 2, a NaN on shared rows", (b) => {
    const g = new Generator(83);
    const xs0 = input(g, "ties", 2 * 112 * 112);
    const c: Case = { rank: 2, shape: [1, 2, 112, 112], opts: { kernelSize: 3, stride: 2, padding: 1 } };
    check(`W2 ties on ${b}`, c, xs0, b, b);
    check(`W1 ties on ${b}`, { rank: 2, shape: [1, 2, 112, 112], opts: { kernelSize: 2, stride: 2 } }, xs0, b, b);
    // 3-d with kernel depth 1 (each depth slice a 2-d plane for plane2d) and depth 2 (not plane2d)
    for (const [k, st, p] of [[[1, 3, 3], [1, 2, 2], [0, 1, 1]], [[1, 2, 2], [2, 1, 1], 0], [[2, 3, 3], [1, 2, 2], [1, 1, 1]]] as [number[], number[], number | number[]][]) {
      const c3: Case = { rank: 3, shape: [1, 2, 5, 13, 27], opts: { kernelSize: k, stride: st, padding: p } };
      for (const kind of DATA) check(`[1,2,5,13,27] ${JSON.stringify(c3.opts)} ${kind} on ${b}`, c3, input(g, kind, 2 * 5 * 13 * 27), b, b);
    }
    for (let row = 1; row < 112; row += 14) {
      const xs = xs0.slice();
      xs[112 * 112 + row * 112 + int(g, 0, 111)] = NaN;
      check(`W2 NaN on row ${row} of plane 1 on ${b}`, c, xs, b, b);
    }
  });
});

describe("3-wide stride-2 rows with padding 1 on the left (pairRun: two loads per row and block, no left-edge window)", () => {
  // Every width 4–41 (so every tail of 0–3 columns after the 4-column blocks, and right edges
  // clipped by ceil mode or odd widths), kernel heights 1–3 with vertical strides 1–3 and padding
  // 0–1, ceil mode on and off; four inputs: mixed values (NaN, ±∞, −0), the tie set {−0, +0, −∞, 1},
  // all −∞ (the padding column's −∞ must not win or change a bit), and {0, 1} with one NaN of its own
  // payload in column 0, column 1 or the last column, which the exact re-run must carry.
  function input(g: Generator, kind: number, h: number, w: number, planes: number): Float32Array {
    const n = planes * h * w;
    if (kind === 0) return values(g, n);
    const set = kind === 1 ? [-0, 0, -Infinity, 1] : kind === 2 ? [-Infinity] : [0, 1];
    const xs = Float32Array.from({ length: n }, () => set[Math.floor(g.uniform() * set.length)] as number);
    if (kind === 3) {
      const col = [0, 1, w - 1][int(g, 0, 2)] as number;
      new Uint32Array(xs.buffer)[int(g, 0, planes * h - 1) * w + col] = 0x7fc00000 + 1 + Math.floor(g.uniform() * 1000);
    }
    return xs;
  }
  it.each(BACKENDS)("%s", (b) => {
    const g = new Generator(b === "wasm-simd" ? 97 : b === "wasm" ? 101 : 103);
    for (let w = 4; w <= 41; w++) {
      const kh = int(g, 1, 3);
      const h = int(g, kh, 17);
      const opts = { kernelSize: [kh, 3], stride: [int(g, 1, 3), 2], padding: [int(g, 0, Math.floor(kh / 2)), 1], ceilMode: w % 2 === 0 };
      const c: Case = { rank: 2, shape: [1, 2, h, w], opts };
      for (let kind = 0; kind < 4; kind++) check(`[${c.shape}] ${JSON.stringify(opts)} input ${kind} on ${b}`, c, input(g, kind, h, w, 2), b, b);
    }
  });
});

describe("whole-plane runs of 2×2 stride 2 and 3×3 stride 2 padding 1 (runs22, runs23: one NaN flag per plane)", () => {
  // Every height 1–14 and width 4–41 (so every column tail, odd sizes, rows clipped by ceil mode: a
  // last output row of 1 row for 2×2, of 2 rows for 3×3), width padding 0–1 for 2×2 (an interior run
  // from column 1), 3 planes; five inputs: mixed values (NaN, ±∞, −0), the tie set {−0, +0, −∞, 1}, all
  // −∞, and {0, 1} with one NaN of its own payload in plane 1 — anywhere, or on the first tap of a
  // window (row 2i, column 2j: the tap the 2×2 check leaves out) or its second tap (row 2i, column
  // 2j + 1) — so the plane with the NaN takes the per-row re-run and the others stay on the run.
  function input(g: Generator, kind: number, h: number, w: number, wPad: number): Float32Array {
    const planes = 3;
    const n = planes * h * w;
    if (kind === 0) return values(g, n);
    const set = kind === 1 ? [-0, 0, -Infinity, 1] : kind === 2 ? [-Infinity] : [0, 1];
    const xs = Float32Array.from({ length: n }, () => set[Math.floor(g.uniform() * set.length)] as number);
    if (kind >= 3) {
      let r = int(g, 0, h - 1);
      let col = int(g, 0, w - 1);
      if (kind >= 4) {
        r = 2 * int(g, 0, (h - 1) >> 1);
        col = Math.min(w - 1, wPad + 2 * int(g, 0, (w - 1 - wPad) >> 1) + kind - 4);
      }
      new Uint32Array(xs.buffer)[h * w + r * w + col] = 0x7fc00000 + 1 + Math.floor(g.uniform() * 1000);
    }
    return xs;
  }
  it.each(BACKENDS)("%s", (b) => {
    const g = new Generator(b === "wasm-simd" ? 107 : b === "wasm" ? 109 : 113);
    for (let w = 4; w <= 41; w++) {
      for (const [h, ceilMode] of [[int(g, 1, 14), false], [int(g, 2, 14), true], [2 * int(g, 1, 7), false], [2 * int(g, 1, 7) + 1, true]] as [number, boolean][]) {
        const wPad = int(g, 0, 1);
        const w1: Case = { rank: 2, shape: [1, 3, h, w], opts: { kernelSize: 2, stride: 2, padding: [0, wPad], ceilMode } };
        const w2: Case = { rank: 2, shape: [1, 3, h, w], opts: { kernelSize: 3, stride: 2, padding: 1, ceilMode } };
        for (let kind = 0; kind < 6; kind++) {
          check(`[${w1.shape}] ${JSON.stringify(w1.opts)} input ${kind} on ${b}`, w1, input(g, kind, h, w, wPad), b, b);
          check(`[${w2.shape}] ${JSON.stringify(w2.opts)} input ${kind} on ${b}`, w2, input(g, kind, h, w, 0), b, b);
        }
      }
    }
    // 3-d with kernel depth 1: each depth slice of output rows one run
    for (const [k, st, p] of [[[1, 2, 2], [1, 2, 2], 0], [[1, 3, 3], [2, 2, 2], [0, 1, 1]]] as [number[], number[], number | number[]][]) {
      const c3: Case = { rank: 3, shape: [1, 2, 5, 13, 27], opts: { kernelSize: k, stride: st, padding: p } };
      for (let kind = 0; kind < 4; kind++) check(`[1,2,5,13,27] ${JSON.stringify(c3.opts)} input ${kind} on ${b}`, c3, input(g, kind, 5 * 13, 27, 0).subarray(0, 2 * 5 * 13 * 27), b, b);
    }
  });
});

describe("gradients through vjp still match finite differences of the plain forward", () => {
  it.each(BACKENDS)("%s: float64 gradcheck (plain forward for the differences, vjp for the gradient)", (b) => {
    setBackend(b);
    for (const [rank, shape, opts] of [
      [2, [1, 2, 7, 9], { kernelSize: 3, stride: 2, padding: 1 }],
      [2, [2, 1, 6, 6], { kernelSize: 2 }],
      [1, [1, 2, 11], { kernelSize: 3, stride: 2, ceilMode: true }],
      [3, [1, 1, 4, 5, 5], { kernelSize: 2, stride: 1, dilation: [1, 2, 1] }],
    ] as [number, number[], object][]) {
      const op = plainOp(rank);
      gradcheck((xs) => {
        const x = xs[0] as Tensor;
        const v = op.vjp(x, opts);
        return { output: op(x, opts), backward: v.backward };
      }, [distinctRandom(shape, 11)]);
    }
  });

  it.each(["wasm-simd", "wasm"] as BackendName[])("%s: float32 vjp gradients equal the js backend's bit for bit", (b) => {
    const g = new Generator(17);
    for (let n = 0; n < 20; n++) {
      const c = randomCase(g);
      const xs = values(g, c.shape.reduce((a, s) => a * s, 1));
      const grad = (be: BackendName): Float32Array | null => {
        setBackend(be);
        const x = tensor(xs, c.shape, "float32");
        let r;
        try {
          r = plainOp(c.rank).vjp(x, c.opts);
        } catch {
          return null;
        }
        const dy = tensor(Float32Array.from({ length: r.output.size }, (_, i) => (i % 7) - 3), r.output.shape, "float32");
        return (r.backward(dy)[0] as Tensor).data.slice() as Float32Array;
      };
      const ref = grad("js");
      if (ref === null) continue;
      expect(firstBitDifference(grad(b) as Float32Array, ref), `[${c.shape}] ${JSON.stringify(c.opts)} on ${b}`).toBeNull();
    }
  });
});

describe("float64 (TypeScript kernels on every backend): the values-only reference equals maxWindowsForward's values", () => {
  it("random shapes with NaN, ±∞, −0 and ties, dilation included", () => {
    setBackend("js");
    const g = new Generator(53);
    let checked = 0;
    for (let n = 0; n < 80; n++) {
      const c = randomCase(g);
      const xs = Float64Array.from(values(g, c.shape.reduce((a, s) => a * s, 1)));
      let plan;
      try {
        plan = plainOp(c.rank).planFor(tensor(xs, c.shape, "float64"), c.opts);
      } catch {
        continue;
      }
      const m = plan.outShape.reduce((a, s) => a * s, 1);
      const y = new Float64Array(m);
      const yv = new Float64Array(m);
      maxWindowsForward(xs, y, new Int32Array(m), plan.planes, plan.axes);
      maxWindowsForwardValues(xs, yv, plan.planes, plan.axes);
      const plain = plainOp(c.rank)(tensor(xs, c.shape, "float64"), c.opts).data as Float64Array;
      const ub = (a: Float64Array) => new BigUint64Array(a.buffer, a.byteOffset, a.length);
      const [a, b, p] = [ub(y), ub(yv), ub(plain)];
      for (let i = 0; i < m; i++) {
        if (a[i] !== b[i] || a[i] !== p[i]) expect.fail(`[${c.shape}] ${JSON.stringify(c.opts)}: element ${i}: ${y[i]} vs ${yv[i]} vs plain ${plain[i]}`);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });
});
