/**
 * Images ↔ tensors for the CLI's `run` command and the playground (no `node:*` import here).
 *
 * An RGBA image becomes a float32 `[1, 3, H, W]` tensor with values in [0, 1] (alpha dropped: RGB as
 * three channels). A pooled `[1, C, h, w]` or `[C, h, w]` tensor with C = 1 (grey) or C = 3 (RGB)
 * becomes an RGBA image again, its values mapped to 0..255 for viewing.
 */
import { allocArray } from "../tensor/alloc.js";
import { fromArray, type Tensor } from "../tensor/tensor.js";
import type { FloatDType } from "../tensor/dtype.js";

/** RGBA, 4 bytes per pixel, row-major — the layout of pngjs and of canvas ImageData. */
export interface RGBAImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint8ClampedArray;
}

/**
 * How values map to 0..255: `clip` takes [0, 1] as black..white; `minmax` stretches the tensor's
 * own range; `auto` (the default) clips when every value already lies in [0, 1] (so max pooling
 * visibly brightens and average pooling does not) and stretches otherwise.
 */
export type Scale = "auto" | "minmax" | "clip";
export const SCALES: readonly Scale[] = ["auto", "minmax", "clip"];

/** `[1, 3, H, W]` in [0, 1] from an RGBA image. */
export function imageToTensor(img: RGBAImage, dtype: FloatDType = "float32"): Tensor {
  const { width: w, height: h, data } = img;
  const plane = w * h;
  const out = allocArray(dtype, 3 * plane);
  for (let p = 0; p < plane; p++) {
    out[p] = (data[4 * p] as number) / 255;
    out[plane + p] = (data[4 * p + 1] as number) / 255;
    out[2 * plane + p] = (data[4 * p + 2] as number) / 255;
  }
  return fromArray(out, [1, 3, h, w]);
}

/**
 * The planes of an image-shaped tensor: `[C, h, w]` or `[N, C, h, w]` with C = 1 or 3 (of a batch,
 * only item 0 is shown: e.g. the first RoI of `[K, C, oh, ow]`), or a reason it is not one.
 */
export function imagePlanes(t: Tensor): { n: number; c: number; h: number; w: number } | string {
  const s = t.shape;
  if (s.length !== 3 && s.length !== 4) return `output of shape [${s.join(", ")}] is not an image (expected [N, C, h, w] or [C, h, w])`;
  const n = s.length === 4 ? (s[0] as number) : 1;
  const [c, h, w] = s.slice(-3) as [number, number, number];
  if (n === 0 || h === 0 || w === 0) return `output of shape [${s.join(", ")}] is empty`;
  if (c !== 1 && c !== 3) return `output has ${c} channels; an image needs 1 (grey) or 3 (RGB)`;
  return { n, c, h, w };
}

function range(d: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < d.length; i++) {
    const v = d[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** An affine map value → 0..255 for the chosen scale over the given values. */
export function scaleFor(values: ArrayLike<number>, scale: Scale): (v: number) => number {
  const [lo, hi] = range(values);
  const clip = scale === "clip" || (scale === "auto" && lo >= 0 && hi <= 1);
  if (clip) return (v) => Math.round(255 * Math.min(1, Math.max(0, v)));
  const span = hi - lo;
  if (!(span > 0)) return () => 128; // a constant image: mid-grey rather than a division by zero
  return (v) => Math.round((255 * (v - lo)) / span);
}

/** Nearest-neighbour resize of an RGBA image (output pixel (y, x) reads source (⌊y·h/H⌋, ⌊x·w/W⌋)). */
export function resizeNearest(img: RGBAImage, width: number, height: number): RGBAImage {
  const out = new Uint8ClampedArray(4 * width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.floor((y * img.height) / height);
    for (let x = 0; x < width; x++) {
      const sx = Math.floor((x * img.width) / width);
      const si = 4 * (sy * img.width + sx);
      const di = 4 * (y * width + x);
      out[di] = img.data[si] as number;
      out[di + 1] = img.data[si + 1] as number;
      out[di + 2] = img.data[si + 2] as number;
      out[di + 3] = img.data[si + 3] as number;
    }
  }
  return { width, height, data: out };
}

/** Item 0 of an image-shaped tensor (see {@link imagePlanes}) as an RGBA image; throws if it is not one. */
export function tensorToImage(t: Tensor, scale: Scale = "auto"): RGBAImage {
  const planes = imagePlanes(t);
  if (typeof planes === "string") throw new RangeError(planes);
  const { c, h, w } = planes;
  const d = t.data.subarray(0, c * h * w);
  const map = scaleFor(d, scale);
  const plane = h * w;
  const out = new Uint8ClampedArray(4 * plane);
  for (let p = 0; p < plane; p++) {
    const r = map(d[p] as number);
    out[4 * p] = r;
    out[4 * p + 1] = c === 3 ? map(d[plane + p] as number) : r;
    out[4 * p + 2] = c === 3 ? map(d[2 * plane + p] as number) : r;
    out[4 * p + 3] = 255;
  }
  return { width: w, height: h, data: out };
}

/**
 * One grey image per channel of item 0 of a `[N, C, h, w]` / `[C, h, w]` tensor (any C), all on
 * one shared scale so channels stay comparable.
 */
export function channelImages(t: Tensor, scale: Scale = "auto"): RGBAImage[] {
  const s = t.shape;
  if (s.length !== 3 && s.length !== 4) throw new RangeError(`a tensor of shape [${s.join(", ")}] has no image planes`);
  const [c, h, w] = s.slice(-3) as [number, number, number];
  const d = t.data.subarray(0, c * h * w);
  const map = scaleFor(d, scale);
  const plane = h * w;
  const images: RGBAImage[] = [];
  for (let ch = 0; ch < c; ch++) {
    const out = new Uint8ClampedArray(4 * plane);
    for (let p = 0; p < plane; p++) {
      const v = map(d[ch * plane + p] as number);
      out[4 * p] = v;
      out[4 * p + 1] = v;
      out[4 * p + 2] = v;
      out[4 * p + 3] = 255;
    }
    images.push({ width: w, height: h, data: out });
  }
  return images;
}

/**
 * A deterministic sample picture (sky, sun, hills, a checkerboard and fine stripes) so pooling
 * effects are visible without shipping a binary file. Values are RGBA bytes.
 */
export function sampleImage(width = 96, height = 96): RGBAImage {
  const out = new Uint8ClampedArray(4 * width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const v = y / height;
      let r = 40 + 120 * v;
      let g = 90 + 100 * v;
      let b = 200 - 60 * v;
      const sun = (u - 0.72) ** 2 + (v - 0.25) ** 2;
      if (sun < 0.018) [r, g, b] = [250, 210, 60];
      const hill = 0.62 + 0.1 * Math.sin(6 * u);
      if (v > hill) [r, g, b] = [40 + 30 * Math.sin(20 * u), 140 - 60 * (v - hill), 50];
      if (u < 0.35 && v < 0.35) {
        const check = (Math.floor(x / 4) + Math.floor(y / 4)) % 2 === 0;
        [r, g, b] = check ? [240, 240, 240] : [20, 20, 20];
      }
      if (v > 0.85 && x % 3 === 0) [r, g, b] = [255, 255, 255];
      const i = 4 * (y * width + x);
      out[i] = r;
      out[i + 1] = g;
      out[i + 2] = b;
      out[i + 3] = 255;
    }
  }
  return { width, height, data: out };
}

/**
 * Shrink an RGBA image by box filtering: each output pixel is the area-weighted mean of the source
 * pixels its footprint covers (so fine detail averages out instead of aliasing as in nearest
 * neighbour). For enlarging, use {@link resizeNearest}.
 */
export function resizeArea(img: RGBAImage, width: number, height: number): RGBAImage {
  const out = new Uint8ClampedArray(4 * width * height);
  const fx = img.width / width;
  const fy = img.height / height;
  for (let y = 0; y < height; y++) {
    const y0 = y * fy;
    const y1 = y0 + fy;
    for (let x = 0; x < width; x++) {
      const x0 = x * fx;
      const x1 = x0 + fx;
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      let wsum = 0;
      for (let sy = Math.floor(y0); sy < Math.min(img.height, Math.ceil(y1)); sy++) {
        const wy = Math.min(y1, sy + 1) - Math.max(y0, sy);
        for (let sx = Math.floor(x0); sx < Math.min(img.width, Math.ceil(x1)); sx++) {
          const w = wy * (Math.min(x1, sx + 1) - Math.max(x0, sx));
          const i = 4 * (sy * img.width + sx);
          r += w * (img.data[i] as number);
          g += w * (img.data[i + 1] as number);
          b += w * (img.data[i + 2] as number);
          a += w * (img.data[i + 3] as number);
          wsum += w;
        }
      }
      const o = 4 * (y * width + x);
      out[o] = Math.round(r / wsum);
      out[o + 1] = Math.round(g / wsum);
      out[o + 2] = Math.round(b / wsum);
      out[o + 3] = Math.round(a / wsum);
    }
  }
  return { width, height, data: out };
}

/** The size that fits `w × h` inside `box × box` keeping the aspect ratio (each side ≥ 1). */
export function fitInside(w: number, h: number, box: number): { width: number; height: number } {
  const s = box / Math.max(w, h);
  return { width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) };
}
