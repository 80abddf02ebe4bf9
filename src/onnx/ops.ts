/**
 * Graph fragments shared by the emitters: opset-aware reductions, slicing, explicit padding, and
 * the one window mechanism every weighted method uses — `unfold`, which lays each window's taps
 * along a new axis by strided Slices of the explicitly padded input (exact: no arithmetic touches
 * the values), plus a constant mask of which taps are real input and which are padding.
 */
import type { Axis } from "../geometry/plan.js";
import { slidingAxis, type SlidingGeometry } from "../geometry/sliding.js";
import { attr, type Graph } from "./graph.js";

/** Reduce over `axes`: `axes` is an attribute before opset 18 (ReduceSum: before 13) and an input after. */
export function reduce(
  g: Graph,
  op: "ReduceMax" | "ReduceMin" | "ReduceMean" | "ReduceSum" | "ReduceSumSquare" | "ReduceL2",
  x: string,
  axes: readonly number[],
  keepdims: boolean,
): string {
  const axesAsInput = op === "ReduceSum" || g.opset >= 18;
  if (axesAsInput) return g.node(op, [x, g.constInt64([...axes])], { keepdims: attr.int(keepdims ? 1 : 0) });
  return g.node(op, [x], { axes: attr.ints([...axes]), keepdims: attr.int(keepdims ? 1 : 0) });
}

/** Unsqueeze (axes as an input, opset 13+). */
export function unsqueeze(g: Graph, x: string, axes: readonly number[]): string {
  return g.node("Unsqueeze", [x, g.constInt64([...axes])]);
}

/** Squeeze (axes as an input, opset 13+). */
export function squeeze(g: Graph, x: string, axes: readonly number[]): string {
  return g.node("Squeeze", [x, g.constInt64([...axes])]);
}

/** Reshape to a constant shape. */
export function reshape(g: Graph, x: string, shape: readonly number[]): string {
  return g.node("Reshape", [x, g.constInt64([...shape])]);
}

/** Concat along `axis` (no node for a single value). */
export function concat(g: Graph, xs: readonly string[], axis: number): string {
  if (xs.length === 1) return xs[0] as string;
  return g.node("Concat", [...xs], { axis: attr.int(axis) });
}

/** Slice with constant starts / ends / axes (/ steps). */
export function slice(g: Graph, x: string, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[]): string {
  const ins = [x, g.constInt64([...starts]), g.constInt64([...ends]), g.constInt64([...axes])];
  if (steps) ins.push(g.constInt64([...steps]));
  return g.node("Slice", ins);
}

/** A float scalar constant. */
export function scalar(g: Graph, v: number): string {
  return g.constFloat([v], []);
}

/**
 * Constant padding of the spatial axes of `[N, C, ...spatial]`: `before[i]`/`after[i]` per spatial
 * axis (negative crops). No node when every pad is 0.
 */
export function padSpatial(g: Graph, x: string, before: readonly number[], after: readonly number[], value: number): string {
  if (before.every((v) => v === 0) && after.every((v) => v === 0)) return x;
  const pads = [0, 0, ...before, 0, 0, ...after];
  return g.node("Pad", [x, g.constInt64(pads), scalar(g, value)], { mode: attr.string("constant") });
}

/**
 * The explicit padding that makes a padding-free, floor-mode window of the runtime reproduce
 * PyTorch's windows exactly: `p` before, and after just enough for the last window
 * (`(o − 1)·s + d·(k − 1) + 1 − In − p`, at least 0). With it, ceil mode never reaches the runtime,
 * so the result cannot depend on its ceil rule (onnx/onnx#5711).
 */
export function explicitPads(spatial: readonly number[], geom: SlidingGeometry, out: readonly number[]): { before: number[]; after: number[] } {
  const before = geom.padBefore.slice();
  const after = spatial.map((inSize, i) => {
    const span = (geom.dilation[i] as number) * ((geom.kernelSize[i] as number) - 1) + 1;
    const needed = ((out[i] as number) - 1) * (geom.stride[i] as number) + span;
    return Math.max(0, needed - inSize - (geom.padBefore[i] as number));
  });
  return { before, after };
}

/** The planned axes (window starts/ends clipped to the input) of a sliding geometry. */
export function slidingAxes(spatial: readonly number[], geom: SlidingGeometry): Axis[] {
  return spatial.map((inSize, i) =>
    slidingAxis(inSize, geom.kernelSize[i] as number, geom.stride[i] as number, geom.padBefore[i] as number, geom.dilation[i] as number, geom.ceilMode, geom.padAfter[i] as number),
  );
}

/** Row-major enumeration of every index tuple of `sizes`. */
export function* tuples(sizes: readonly number[]): Generator<number[]> {
  const total = sizes.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(sizes.length).fill(0);
  for (let t = 0; t < total; t++) {
    yield idx.slice();
    for (let a = sizes.length - 1; a >= 0; a--) {
      idx[a] = (idx[a] as number) + 1;
      if ((idx[a] as number) < (sizes[a] as number)) break;
      idx[a] = 0;
    }
  }
}

/** The result of {@link unfold}. */
export interface Unfolded {
  /** `[N, C, K, ...out]`: tap j of every window, taps in row-major kernel order. */
  readonly taps: string;
  /** `[1, 1, K, ...out]` bool constant: true where the tap lies in the real input (not padding); added on first use. */
  mask(): string;
  /** Whether any tap is padding (the mask is all true otherwise). */
  readonly anyPadding: boolean;
  readonly K: number;
  readonly out: number[];
}

/**
 * Lay the windows of a sliding geometry out along a new axis 2: for kernel offset j (row-major),
 * `Slice(pad(x), j·d, …, step s)` is the j-th tap of every window. `padValue` fills the padding.
 */
export function unfold(g: Graph, x: string, spatial: readonly number[], geom: SlidingGeometry, out: readonly number[], padValue: number): Unfolded {
  const rank = spatial.length;
  const { before, after } = explicitPads(spatial, geom, out);
  const xp = padSpatial(g, x, before, after, padValue);
  const axes = Array.from({ length: rank }, (_, i) => i + 2);
  const kernel = geom.kernelSize.slice();
  const K = kernel.reduce((a, b) => a * b, 1);
  const taps: string[] = [];
  const outSize = out.reduce((a, b) => a * b, 1);
  const mask = new Uint8Array(K * outSize);
  let anyPadding = false;
  let j = 0;
  for (const offset of tuples(kernel)) {
    const starts = offset.map((o, i) => o * (geom.dilation[i] as number));
    const ends = starts.map((s, i) => s + ((out[i] as number) - 1) * (geom.stride[i] as number) + 1);
    const steps = geom.stride.slice();
    taps.push(unsqueeze(g, slice(g, xp, starts, ends, axes, steps), [2]));
    // Mask: input coordinate of this tap in output window o is o·s − p + offset·d.
    let q = 0;
    for (const o of tuples(out)) {
      let inside = true;
      for (let i = 0; i < rank; i++) {
        const c = (o[i] as number) * (geom.stride[i] as number) - (geom.padBefore[i] as number) + (starts[i] as number);
        if (c < 0 || c >= (spatial[i] as number)) inside = false;
      }
      mask[j * outSize + q++] = inside ? 1 : 0;
      if (!inside) anyPadding = true;
    }
    j++;
  }
  let maskName: string | undefined;
  const maskOf = (): string => (maskName ??= g.addInitializer(mask, [1, 1, K, ...out], "bool"));
  return { taps: concat(g, taps, 2), mask: maskOf, anyPadding, K, out: out.slice() };
}

/**
 * A max with PyTorch's (and poolkit's) special values: ONNX leaves NaN handling of MaxPool /
 * ReduceMax unspecified and ONNX Runtime skips NaN, and its MaxPool starts from −FLT_MAX, so a window
 * of −∞ gives −3.4e38 instead of −∞. `maxOf` is any max-type reduction; it runs once on x and once on
 * a class map (2 for NaN, 0 for −∞, 1 otherwise): a window whose class max is 2 holds a NaN (output
 * NaN), one whose class max is 0 holds only −∞ (output −∞).
 */
export function nanAwareMax(g: Graph, x: string, maxOf: (v: string) => string, type: "float32" | "float64"): string {
  const y = maxOf(x);
  const c = (v: number): string => g.constFloat([v], [], type);
  const negInf = g.node("IsInf", [x], { detect_positive: attr.int(0), detect_negative: attr.int(1) });
  const classes = g.node("Where", [g.node("IsNaN", [x]), c(2), g.node("Where", [negInf, c(0), c(1)])]);
  const k = maxOf(classes);
  return g.node("Where", [g.node("Greater", [k, c(1.5)]), c(NaN), g.node("Where", [g.node("Less", [k, c(0.5)]), c(-Infinity), y])]);
}
