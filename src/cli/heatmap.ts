/**
 * Heat maps of outputs that are not pictures (covariance, bilinear and Grassmann matrices, SPP
 * vectors, global pooling, …): item 0 of the output laid out as a grid of coloured cells, with a
 * colour bar and its range underneath.
 *
 * Colours: a diverging blue–white–red map centred on 0 when the values have both signs (so the sign
 * reads at a glance), else a sequential dark-to-light map from the minimum to the maximum. NaN is
 * drawn mid-grey. No `node:*` import here.
 */
import type { Tensor } from "../tensor/tensor.js";
import { GLYPH_H, canvas, drawText, fillRect, textWidth, type Canvas, type RGB } from "./font.js";

/** Item 0 of an output as rows × cols values, and how it was laid out (for the caption). */
export interface HeatGrid {
  readonly rows: number;
  readonly cols: number;
  /** Row-major, `rows · cols` long. */
  readonly values: Float64Array;
  /** 1 where a cell holds a value, 0 for layout padding (drawn as background). */
  readonly mask: Uint8Array;
  readonly layout: string;
}

/**
 * Lay out item 0 of `t`: `[N, A, B]` as an A × B matrix; `[N, D]` (or `[D]`) as a √D × √D matrix
 * when D is a perfect square (bilinear's C × C), else wrapped into rows of ⌈√D⌉; `[N, C, h, w]` as
 * its C planes side by side (a 1-cell gap between them).
 */
export function heatGrid(t: Tensor): HeatGrid {
  const s = t.shape;
  const d = t.data;
  const item = (n: number): Float64Array => Float64Array.from(d.subarray(0, n));
  if (s.length === 4) {
    const [, c, h, w] = s as [number, number, number, number];
    const cols = c * w + (c - 1);
    const values = new Float64Array(h * cols);
    const mask = new Uint8Array(h * cols);
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const at = y * cols + ch * (w + 1) + x;
          values[at] = d[(ch * h + y) * w + x] as number;
          mask[at] = 1;
        }
      }
    }
    return { rows: h, cols, values, mask, layout: `item 0's ${c} channels side by side, each ${h}×${w}` };
  }
  if (s.length === 3) {
    const [, a, b] = s as [number, number, number];
    return { rows: a, cols: b, values: item(a * b), mask: full(a * b), layout: `item 0 as a ${a}×${b} matrix` };
  }
  const n = s.length === 2 ? (s[1] as number) : s.length === 1 ? (s[0] as number) : 1;
  const root = Math.round(Math.sqrt(n));
  if (root * root === n && n > 1) return { rows: root, cols: root, values: item(n), mask: full(n), layout: `item 0's ${n} values as a ${root}×${root} matrix (row-major)` };
  const cols = Math.max(1, Math.ceil(Math.sqrt(n)));
  const rows = Math.max(1, Math.ceil(n / cols));
  const values = new Float64Array(rows * cols);
  values.set(d.subarray(0, n));
  const mask = new Uint8Array(rows * cols);
  mask.fill(1, 0, n);
  return { rows, cols, values, mask, layout: rows === 1 ? `item 0's ${n} values in a row` : `item 0's ${n} values in rows of ${cols} (row-major)` };
}

function full(n: number): Uint8Array {
  return new Uint8Array(n).fill(1);
}

function isGap(grid: HeatGrid, i: number): boolean {
  return grid.mask[i] !== 1;
}

/** The value range over the real cells (NaN ignored); [0, 0] when there is none. */
export function heatRange(grid: HeatGrid): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < grid.values.length; i++) {
    if (isGap(grid, i)) continue;
    const v = grid.values[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return Number.isFinite(lo) && Number.isFinite(hi) ? [lo, hi] : [0, 0];
}

const BLUE: RGB = [33, 102, 172];
const WHITE: RGB = [247, 247, 247];
const RED: RGB = [178, 24, 43];
// Sequential stops, dark to light (our own choice of a perceptually increasing ramp).
const SEQ: readonly RGB[] = [
  [12, 7, 35],
  [85, 20, 110],
  [180, 55, 90],
  [245, 130, 50],
  [252, 240, 160],
];
const NAN_GREY: RGB = [128, 128, 128];

function mix(a: RGB, b: RGB, t: number): RGB {
  return [Math.round(a[0] + (b[0] - a[0]) * t), Math.round(a[1] + (b[1] - a[1]) * t), Math.round(a[2] + (b[2] - a[2]) * t)];
}

/** The colour of `v` on the map chosen for the range [lo, hi] (see the module comment). */
export function colourFor(v: number, lo: number, hi: number): RGB {
  if (Number.isNaN(v)) return NAN_GREY;
  if (lo < 0 && hi > 0) {
    const m = Math.max(-lo, hi);
    const t = Math.max(-1, Math.min(1, v / m));
    return t < 0 ? mix(WHITE, BLUE, -t) : mix(WHITE, RED, t);
  }
  const span = hi - lo;
  const t = span > 0 ? Math.max(0, Math.min(1, (v - lo) / span)) : 0.5;
  const k = t * (SEQ.length - 1);
  const i = Math.min(SEQ.length - 2, Math.floor(k));
  return mix(SEQ[i] as RGB, SEQ[i + 1] as RGB, k - i);
}

/** A short rendering of a number for a legend: 4 significant digits, exponent form outside [1e-3, 1e5). */
export function legendNumber(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e5 ? String(Number(v.toPrecision(4))) : v.toExponential(2);
}

const BACKGROUND: RGB = [24, 24, 28];
const TEXT: RGB = [230, 230, 230];

/**
 * Draw a grid as cells of `cell` pixels, with (when `legend`) a colour bar under it labelled with
 * the range (and 0 for a diverging map).
 */
export function renderHeatmap(grid: HeatGrid, cell: number, legend = true): Canvas {
  const [lo, hi] = heatRange(grid);
  const gw = grid.cols * cell;
  const gh = grid.rows * cell;
  const loText = legendNumber(lo);
  const hiText = legendNumber(hi);
  const minLegendWidth = textWidth(loText) + textWidth(hiText) + 24;
  const width = Math.max(gw, legend ? minLegendWidth : 0);
  const barH = 8;
  const height = gh + (legend ? 4 + barH + 3 + GLYPH_H + 2 : 0);
  const c = canvas(width, height, BACKGROUND);
  for (let r = 0; r < grid.rows; r++) {
    for (let q = 0; q < grid.cols; q++) {
      const i = r * grid.cols + q;
      if (isGap(grid, i)) continue;
      fillRect(c, q * cell, r * cell, cell, cell, colourFor(grid.values[i] as number, lo, hi));
    }
  }
  if (legend) {
    const y = gh + 4;
    for (let x = 0; x < width; x++) {
      const v = lo + ((hi - lo) * x) / Math.max(1, width - 1);
      fillRect(c, x, y, 1, barH, colourFor(v, lo, hi));
    }
    const ty = y + barH + 3;
    drawText(c, loText, 0, ty, TEXT);
    drawText(c, hiText, width - textWidth(hiText), ty, TEXT);
    if (lo < 0 && hi > 0) {
      // Zero's place on the bar: the bar runs lo..hi linearly.
      const zx = Math.round(((0 - lo) / (hi - lo)) * (width - 1));
      if (zx - 3 > textWidth(loText) + 3 && zx + 3 < width - textWidth(hiText) - 3) drawText(c, "0", zx - 2, ty, TEXT);
    }
  }
  return c;
}

/** A cell size that makes the grid about `target` pixels on its longer side (at least 1, at most 64). */
export function cellSizeFor(grid: HeatGrid, target: number): number {
  return Math.max(1, Math.min(64, Math.floor(target / Math.max(grid.rows, grid.cols))));
}
