/**
 * Layout conversions for the whole-model exporter (see {@link Layout}). A channels-last model is
 * computed channels-first throughout: the graph input is transposed once, and a value goes back to
 * tfjs's own order only where a layer needs it (Reshape, Permute, a graph output, a merge of values
 * in different layouts). Each conversion is written at most once per value.
 */
import { PoolkitRangeError } from "../errors.js";
import type { HostTensor } from "./emitters.js";
import { attr, type Graph } from "./graph.js";
import type { Layout, Value } from "./modelTypes.js";

/** The op name every whole-model export error starts with. */
export const OP = "exportModel";

/** `[N, ...S, C]` → `[N, C, ...S]` permutation (ONNX Transpose `perm`). */
export function lastToFirst(rank: number): number[] {
  return [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
}

/** `[N, C, ...S]` → `[N, ...S, C]`. */
export function firstToLast(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
}

/** A fresh {@link Value} (no conversions written yet). */
export function makeValue(name: string, layout: Layout, tfShape: readonly number[], type: "float32" | "int32" = "float32"): Value {
  return { name, layout, tfShape: [...tfShape], type, memo: {} };
}

/** The ONNX shape of a value. */
export function onnxShape(v: Value): number[] {
  if (v.layout.kind === "cf") return lastToFirst(v.tfShape.length).map((i) => v.tfShape[i] as number);
  return [...v.tfShape];
}

/** The value in tfjs's own order. */
export function asTf(g: Graph, v: Value): Value {
  if (v.layout.kind === "tf") return v;
  if (v.memo.tf) return v.memo.tf;
  let name: string;
  if (v.layout.kind === "cf") {
    name = g.node("Transpose", [v.name], { perm: attr.ints(firstToLast(v.tfShape.length)) });
  } else {
    // Feature s·C + c of the tfjs tensor is feature c·|S| + s of the value: one Gather of the features.
    const { spatial, c } = v.layout;
    const S = spatial.reduce((a, b) => a * b, 1);
    const idx = new Array<number>(S * c);
    for (let s = 0; s < S; s++) for (let ch = 0; ch < c; ch++) idx[s * c + ch] = ch * S + s;
    name = g.node("Gather", [v.name, g.constInt64(idx)], { axis: attr.int(1) });
  }
  const out = makeValue(name, { kind: "tf" }, v.tfShape, v.type);
  (v.memo as { tf?: Value }).tf = out;
  return out;
}

/** The value channels-first (`cf`); it must be a rank ≥ 3 tensor. */
export function asCf(g: Graph, v: Value, who: string): Value {
  if (v.layout.kind === "cf") return v;
  if (v.tfShape.length < 3) throw new PoolkitRangeError(OP, `${who} needs an input of rank ≥ 3 ([N, ...spatial, C]), got shape ${JSON.stringify(v.tfShape)}`);
  if (v.memo.cf) return v.memo.cf;
  const t = asTf(g, v);
  const name = g.node("Transpose", [t.name], { perm: attr.ints(lastToFirst(v.tfShape.length)) });
  const out = makeValue(name, { kind: "cf" }, v.tfShape, v.type);
  (v.memo as { cf?: Value }).cf = out;
  (out.memo as { tf?: Value }).tf = t;
  return out;
}

/**
 * The value as a `[N, C, ...S]` ONNX tensor for a layer of `dataFormat`: channels-last layers read
 * the channels-first form; channels-first layers read tfjs's order, which is already `[N, C, ...S]`.
 */
export function channelsFirstInput(g: Graph, v: Value, dataFormat: unknown, who: string): Value {
  if (dataFormat === "channelsFirst") {
    if (v.tfShape.length < 3) throw new PoolkitRangeError(OP, `${who} needs an input of rank ≥ 3, got shape ${JSON.stringify(v.tfShape)}`);
    return asTf(g, v);
  }
  if (dataFormat !== undefined && dataFormat !== null && dataFormat !== "channelsLast") {
    throw new PoolkitRangeError(OP, `${who}: unknown dataFormat ${JSON.stringify(dataFormat)}`);
  }
  return asCf(g, v, who);
}

/** A `[N, C', ...S']` ONNX result in the same layout kind as the input it was computed from. */
export function resultLike(input: Value, name: string, onnxOut: readonly number[]): Value {
  if (input.layout.kind === "cf") return makeValue(name, { kind: "cf" }, firstToLast(onnxOut.length).map((i) => onnxOut[i] as number), input.type);
  return makeValue(name, { kind: "tf" }, onnxOut, input.type);
}

/** The ONNX axis holding tfjs axis `axis` (negative counts from the end) of a value. */
export function onnxAxis(v: Value, axis: number, who: string): number {
  const r = v.tfShape.length;
  const a = axis < 0 ? axis + r : axis;
  if (!Number.isInteger(a) || a < 0 || a >= r) throw new PoolkitRangeError(OP, `${who}: axis ${axis} is out of range for rank ${r}`);
  if (v.layout.kind === "cf") return lastToFirst(r).indexOf(a);
  return a;
}

/** Permute a row-major host array: `out` axis i is input axis `perm[i]`. */
export function permute(t: HostTensor, perm: readonly number[]): HostTensor {
  const shape = t.shape;
  const r = shape.length;
  const outShape = perm.map((p) => shape[p] as number);
  const inStrides = new Array<number>(r);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i] as number;
  }
  const n = s;
  const out = new Float32Array(n);
  const idx = new Array<number>(r).fill(0);
  for (let q = 0; q < n; q++) {
    let src = 0;
    for (let i = 0; i < r; i++) src += (idx[i] as number) * (inStrides[perm[i] as number] as number);
    out[q] = t.data[src] as number;
    for (let i = r - 1; i >= 0; i--) {
      idx[i] = (idx[i] as number) + 1;
      if ((idx[i] as number) < (outShape[i] as number)) break;
      idx[i] = 0;
    }
  }
  return { data: out, shape: outShape };
}
