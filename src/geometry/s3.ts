/**
 * S3Pool's geometry (Zhai et al., "S3Pool: Pooling with Stochastic Spatial Sampling", CVPR 2017):
 * per axis a stride-1 max pool of size k, then grid cells of size g from each of which g/s rows
 * (columns) are kept — drawn at random in training, or given — and in eval a pad-excluding average
 * pool of size s. The only place S3Pool's output size is computed (op, `outputShape`, registry).
 */
import { sizeOption } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import type { Generator } from "../tensor/random.js";
import { Tensor } from "../tensor/tensor.js";
import type { Axis } from "./plan.js";
import { slidingOutputSize } from "./sliding.js";

/** The size options of S3Pool (a number or one per spatial dim each). */
export interface S3AxisOptions {
  readonly kernelSize?: number | readonly number[];
  readonly gridSize?: number | readonly number[];
  readonly stride?: number | readonly number[];
}

/** Per-axis S3Pool geometry, validated. */
export interface S3Axis {
  readonly inSize: number;
  readonly k: number;
  readonly g: number;
  readonly s: number;
  /** Max-pooled length H − k + 1. */
  readonly m: number;
  readonly cells: number;
  readonly per: number;
  readonly outSize: number;
}

const AXIS_NAME = ["height", "width"] as const;

/** Both axes' S3Pool geometry from the size options, checked (the messages name the axis and the rule broken). */
export function s3Axes(op: string, spatial: readonly number[], o: S3AxisOptions): S3Axis[] {
  const k = sizeOption(op, "kernelSize", o.kernelSize ?? 2, 2, 1);
  const g = o.gridSize === undefined ? k : sizeOption(op, "gridSize", o.gridSize, 2, 1);
  const s = o.stride === undefined ? k : sizeOption(op, "stride", o.stride, 2, 1);
  return spatial.map((inSize, i) => {
    const ki = k[i] as number;
    const gi = g[i] as number;
    const si = s[i] as number;
    const axis = AXIS_NAME[i] as string;
    if (ki > inSize) throw new PoolkitRangeError(op, `kernelSize ${ki} is larger than the input ${axis} ${inSize}`);
    if (gi % si !== 0) throw new PoolkitRangeError(op, `gridSize must be a multiple of stride, got gridSize ${gi} and stride ${si}`);
    // The official code silently lets the last cell absorb a remainder, which breaks the output shape (docs/methods/s3pool.md).
    if (inSize % gi !== 0) throw new PoolkitRangeError(op, `input ${axis} must be a multiple of gridSize, got ${axis} ${inSize} for gridSize ${gi}`);
    const m = inSize - ki + 1;
    const cells = inSize / gi;
    const per = gi / si;
    const last = m - gi * (cells - 1);
    if (last < per) {
      throw new PoolkitRangeError(
        op,
        `the last grid cell along the ${axis} has ${last} rows of the max-pooled map, fewer than the ${per} to select; ` +
          `need gridSize − kernelSize + 1 ≥ gridSize / stride, got kernelSize ${ki}, gridSize ${gi}, stride ${si}`,
      );
    }
    const outSize = cells * per;
    const evalSize = slidingOutputSize(m, si, si, Math.floor(si / 2), 1, false);
    if (evalSize !== outSize) {
      throw new PoolkitRangeError(
        op,
        `kernelSize ${ki} and stride ${si} give ${outSize} output ${axis === "height" ? "rows" : "columns"} in training but ${evalSize} in eval for input ${axis} ${inSize}; ` +
          `they agree for 2 ≤ kernelSize ≤ stride + 1 with an even stride and kernelSize ≤ stride with an odd one`,
      );
    }
    return { inSize, k: ki, g: gi, s: si, m, cells, per, outSize };
  });
}

/** Draw one axis's selection: per cell a sorted random subset of `per` positions without replacement. */
export function drawSelection(a: S3Axis, gen: Generator): Int32Array {
  const out = new Int32Array(a.outSize);
  let j = 0;
  for (let c = 0; c < a.cells; c++) {
    const offset = a.g * c;
    const size = c < a.cells - 1 ? a.g : a.m - offset;
    const chosen = gen.permutation(size).subarray(0, a.per).sort();
    for (const r of chosen) out[j++] = offset + r;
  }
  return out;
}

/** A given selection (`rows` / `cols`): `per` increasing in-cell positions per grid cell, checked. */
export function parseSelection(op: string, name: string, v: unknown, a: S3Axis): Int32Array {
  let src: ArrayLike<number>;
  if (v instanceof Tensor) src = v.data;
  else if (v !== null && typeof v === "object" && typeof (v as ArrayLike<number>).length === "number") src = v as ArrayLike<number>;
  else throw new PoolkitTypeError(op, `${name} must be an array of integers or a Tensor, got ${show(v)}`);
  if (src.length !== a.outSize) throw new PoolkitRangeError(op, `${name} must hold ${a.outSize} indices (${a.per} per grid cell), got ${src.length}`);
  const out = new Int32Array(a.outSize);
  for (let c = 0; c < a.cells; c++) {
    const lo = a.g * c;
    const hi = c < a.cells - 1 ? lo + a.g : a.m;
    for (let t = 0; t < a.per; t++) {
      const j = c * a.per + t;
      const r = src[j] as number;
      const prev = t > 0 ? (src[j - 1] as number) : lo - 1;
      if (!Number.isInteger(r) || r < lo || r >= hi || r <= prev) {
        throw new PoolkitRangeError(op, `${name} of grid cell ${c} must be increasing integers in [${lo}, ${hi}), got ${show(r)} at index ${j}`);
      }
      out[j] = r;
    }
  }
  return out;
}

/** One-tap windows at the selected positions: the training step as a window plan on the max-pooled map. */
export function selectionAxis(inSize: number, sel: Int32Array): Axis {
  const end = new Int32Array(sel.length);
  for (let i = 0; i < sel.length; i++) end[i] = (sel[i] as number) + 1;
  return { inSize, outSize: sel.length, start: sel, end, step: 1, padCount: new Int32Array(sel.length).fill(1) };
}
