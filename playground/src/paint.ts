/**
 * Drawing for the playground: colour maps (a sequential one for magnitudes, a diverging one for
 * signed values such as gradients), legends with their scale, and pixelated canvases.
 */
import type { RGBAImage } from "../../src/cli/image.js";

type RGB = readonly [number, number, number];

// Anchor colours sampled from matplotlib's viridis (sequential, perceptually uniform) and ColorBrewer's
// RdBu (diverging; reversed so negative = blue, positive = red), interpolated linearly between anchors.
const VIRIDIS: readonly RGB[] = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 74, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [109, 205, 89],
  [180, 222, 44],
  [253, 231, 37],
];
const RDBU: readonly RGB[] = [
  [5, 48, 97],
  [33, 102, 172],
  [67, 147, 195],
  [146, 197, 222],
  [209, 229, 240],
  [247, 247, 247],
  [253, 219, 199],
  [244, 165, 130],
  [214, 96, 77],
  [178, 24, 43],
  [103, 0, 31],
];

export type ColourMap = "sequential" | "diverging";

/** The colour of t ∈ [0, 1] on a map. */
export function colourAt(map: ColourMap, t: number): RGB {
  const stops = map === "sequential" ? VIRIDIS : RDBU;
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0.5)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const f = u - i;
  const a = stops[i] as RGB;
  const b = stops[i + 1] as RGB;
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

export interface Scale {
  readonly map: ColourMap;
  readonly lo: number;
  readonly hi: number;
}

/** A scale for values: diverging and symmetric around 0 when they have both signs (or `signed`), else sequential. */
export function scaleFor(values: ArrayLike<number>, signed = false): Scale {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo > hi) return { map: "sequential", lo: 0, hi: 1 };
  if (signed || (lo < 0 && hi > 0)) {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return { map: "diverging", lo: -m, hi: m };
  }
  if (lo === hi) return { map: "sequential", lo: lo - 0.5, hi: hi + 0.5 };
  return { map: "sequential", lo, hi };
}

export function colourOf(s: Scale, v: number): RGB {
  return colourAt(s.map, (v - s.lo) / (s.hi - s.lo));
}

function context(c: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = c.getContext("2d");
  if (!ctx) throw new Error("playground: no 2d canvas context");
  return ctx;
}

/** A canvas with one pixel per value, coloured on `s`, shown `px` CSS pixels on its longer side. */
export function heatCanvas(values: ArrayLike<number>, h: number, w: number, s: Scale, px: number): HTMLCanvasElement {
  const data = new Uint8ClampedArray(4 * h * w);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = colourOf(s, values[i] as number);
    data.set([r, g, b, 255], 4 * i);
  }
  return imageCanvas({ width: w, height: h, data }, px);
}

/** An RGBA picture on a pixelated canvas, `px` CSS pixels on its longer side. */
export function imageCanvas(img: RGBAImage, px: number): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.className = "view";
  c.width = img.width;
  c.height = img.height;
  const f = px / Math.max(img.width, img.height);
  c.style.width = `${Math.round(img.width * f)}px`;
  c.style.height = `${Math.round(img.height * f)}px`;
  context(c).putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
  return c;
}

export function fmt(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1000 || a < 0.001 ? v.toExponential(1) : v.toPrecision(3);
}

/** A horizontal colour bar with its end values (and 0 for a diverging scale), plus a label. */
export function legend(s: Scale, label: string, width = 180): HTMLElement {
  const box = document.createElement("div");
  box.className = "legend";
  const c = document.createElement("canvas");
  c.width = width;
  c.height = 10;
  const ctx = context(c);
  for (let x = 0; x < width; x++) {
    const [r, g, b] = colourAt(s.map, x / (width - 1));
    ctx.fillStyle = `rgb(${r | 0},${g | 0},${b | 0})`;
    ctx.fillRect(x, 0, 1, 10);
  }
  const ticks = document.createElement("div");
  ticks.className = "ticks";
  ticks.style.width = `${width}px`;
  const mid = s.map === "diverging" ? "0" : fmt((s.lo + s.hi) / 2);
  for (const t of [fmt(s.lo), mid, fmt(s.hi)]) {
    const span = document.createElement("span");
    span.textContent = t;
    ticks.append(span);
  }
  const cap = document.createElement("div");
  cap.className = "legend-label";
  cap.textContent = label;
  box.append(c, ticks, cap);
  return box;
}

/** A transparent canvas laid over `base` (same CSS size, crisp at device pixels) for drawing marks. */
export function overlayOn(base: HTMLCanvasElement): { wrap: HTMLElement; overlay: HTMLCanvasElement; unit: number } {
  const wrap = document.createElement("div");
  wrap.className = "stack";
  const w = parseFloat(base.style.width);
  const h = parseFloat(base.style.height);
  const overlay = document.createElement("canvas");
  overlay.className = "overlay";
  overlay.width = Math.round(w);
  overlay.height = Math.round(h);
  overlay.style.width = `${w}px`;
  overlay.style.height = `${h}px`;
  wrap.append(base, overlay);
  return { wrap, overlay, unit: w / base.width };
}

export function clear(c: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = context(c);
  ctx.clearRect(0, 0, c.width, c.height);
  return ctx;
}

/** A bar chart of a vector (diverging colours when it has both signs). */
export function barsCanvas(values: ArrayLike<number>, width: number, height: number): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.className = "bars";
  c.width = width;
  c.height = height;
  const ctx = context(c);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  const s = scaleFor(values);
  const m = Math.max(Math.abs(s.lo), Math.abs(s.hi)) || 1;
  const signed = s.map === "diverging";
  const zero = signed ? height / 2 : height - 1;
  const bw = width / values.length;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    const [r, g, b] = colourOf(s, v);
    ctx.fillStyle = `rgb(${r | 0},${g | 0},${b | 0})`;
    const len = (Math.abs(v) / m) * (signed ? height / 2 - 1 : height - 2);
    ctx.fillRect(i * bw, v >= 0 ? zero - len : zero, Math.max(1, bw - (bw > 3 ? 1 : 0)), len);
  }
  ctx.fillStyle = "#889";
  ctx.fillRect(0, Math.round(zero), width, 1);
  return c;
}

/** A matrix as a heat map with every entry printed when it fits. */
export function matrixCanvas(values: ArrayLike<number>, rows: number, cols: number, s: Scale, cell: number, labels?: readonly string[]): HTMLCanvasElement {
  const pad = labels ? 18 : 0;
  const c = document.createElement("canvas");
  c.className = "matrix";
  c.width = pad + cols * cell;
  c.height = pad + rows * cell;
  const ctx = context(c);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.font = `${Math.max(9, Math.min(12, cell / 4))}px ui-monospace, monospace`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = values[i * cols + j] as number;
      const [r, g, b] = colourOf(s, v);
      ctx.fillStyle = `rgb(${r | 0},${g | 0},${b | 0})`;
      ctx.fillRect(pad + j * cell, pad + i * cell, cell, cell);
      if (cell >= 30) {
        ctx.fillStyle = 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#000" : "#fff";
        ctx.fillText(fmt(v), pad + (j + 0.5) * cell, pad + (i + 0.5) * cell);
      }
    }
  }
  if (labels) {
    ctx.fillStyle = "#334";
    for (let t = 0; t < Math.max(rows, cols); t++) {
      const l = labels[t] ?? String(t);
      if (t < cols) ctx.fillText(l, pad + (t + 0.5) * cell, pad / 2);
      if (t < rows) ctx.fillText(l, pad / 2, pad + (t + 0.5) * cell);
    }
  }
  return c;
}
