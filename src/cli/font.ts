/**
 * A tiny bitmap font (5 × 7 pixels per glyph, 1 pixel between glyphs, g/p/q/y dropped 2 rows), drawn for poolkit's contact
 * sheet and heat-map legends so labels need no font file or canvas library. Each glyph is 7 rows of
 * 5 cells, `#` on, `.` off. Characters without a glyph are drawn as a hollow box.
 *
 * No `node:*` import here (the playground may draw with it too).
 */
import type { RGBAImage } from "./image.js";

/** Glyph width and height in font pixels. */
export const GLYPH_W = 5;
/** Glyph height in font pixels (descenders drop below it, see LINE_H). */
export const GLYPH_H = 7;
/** Horizontal advance per character, in font pixels (glyph + 1 blank column). */
export const ADVANCE = GLYPH_W + 1;

const G: Readonly<Record<string, string>> = {
  A: ".###. #...# #...# ##### #...# #...# #...#",
  B: "####. #...# #...# ####. #...# #...# ####.",
  C: ".###. #...# #.... #.... #.... #...# .###.",
  D: "####. #...# #...# #...# #...# #...# ####.",
  E: "##### #.... #.... ####. #.... #.... #####",
  F: "##### #.... #.... ####. #.... #.... #....",
  G: ".###. #...# #.... #.### #...# #...# .####",
  H: "#...# #...# #...# ##### #...# #...# #...#",
  I: ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
  J: "..### ...#. ...#. ...#. ...#. #..#. .##..",
  K: "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
  L: "#.... #.... #.... #.... #.... #.... #####",
  M: "#...# ##.## #.#.# #.#.# #...# #...# #...#",
  N: "#...# #...# ##..# #.#.# #..## #...# #...#",
  O: ".###. #...# #...# #...# #...# #...# .###.",
  P: "####. #...# #...# ####. #.... #.... #....",
  Q: ".###. #...# #...# #...# #.#.# #..#. .##.#",
  R: "####. #...# #...# ####. #.#.. #..#. #...#",
  S: ".#### #.... #.... .###. ....# ....# ####.",
  T: "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
  U: "#...# #...# #...# #...# #...# #...# .###.",
  V: "#...# #...# #...# #...# #...# .#.#. ..#..",
  W: "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
  X: "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
  Y: "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
  Z: "##### ....# ...#. ..#.. .#... #.... #####",
  a: "..... ..... .###. ....# .#### #...# .####",
  b: "#.... #.... #.##. ##..# #...# #...# ####.",
  c: "..... ..... .###. #.... #.... #...# .###.",
  d: "....# ....# .##.# #..## #...# #...# .####",
  e: "..... ..... .###. #...# ##### #.... .###.",
  f: "..##. .#..# .#... ###.. .#... .#... .#...",
  g: ".#### #...# #...# #...# .#### ....# .###.",
  h: "#.... #.... #.##. ##..# #...# #...# #...#",
  i: "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.",
  j: "...#. ..... ..##. ...#. ...#. #..#. .##..",
  k: "#.... #.... #..#. #.#.. ##... #.#.. #..#.",
  l: ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
  m: "..... ..... ##.#. #.#.# #.#.# #...# #...#",
  n: "..... ..... #.##. ##..# #...# #...# #...#",
  o: "..... ..... .###. #...# #...# #...# .###.",
  p: "####. #...# #...# #...# ####. #.... #....",
  q: ".#### #...# #...# #...# .#### ....# ....#",
  r: "..... ..... #.##. ##..# #.... #.... #....",
  s: "..... ..... .###. #.... .###. ....# ####.",
  t: ".#... .#... ###.. .#... .#... .#..# ..##.",
  u: "..... ..... #...# #...# #...# #..## .##.#",
  v: "..... ..... #...# #...# #...# .#.#. ..#..",
  w: "..... ..... #...# #...# #.#.# #.#.# .#.#.",
  x: "..... ..... #...# .#.#. ..#.. .#.#. #...#",
  y: "#...# #...# #...# #...# .#### ....# .###.",
  z: "..... ..... ##### ...#. ..#.. .#... #####",
  "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
  "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
  "2": ".###. #...# ....# ...#. ..#.. .#... #####",
  "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
  "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
  "5": "##### #.... ####. ....# ....# #...# .###.",
  "6": "..##. .#... #.... ####. #...# #...# .###.",
  "7": "##### ....# ...#. ..#.. .#... .#... .#...",
  "8": ".###. #...# #...# .###. #...# #...# .###.",
  "9": ".###. #...# #...# .#### ....# ...#. .##..",
  " ": "..... ..... ..... ..... ..... ..... .....",
  ".": "..... ..... ..... ..... ..... .##.. .##..",
  ",": "..... ..... ..... ..... .##.. ..#.. .#...",
  ":": "..... .##.. .##.. ..... .##.. .##.. .....",
  "-": "..... ..... ..... ##### ..... ..... .....",
  "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
  "=": "..... ..... ##### ..... ##### ..... .....",
  "×": "..... #...# .#.#. ..#.. .#.#. #...# .....",
  "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
  ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
  "[": ".###. .#... .#... .#... .#... .#... .###.",
  "]": ".###. ...#. ...#. ...#. ...#. ...#. .###.",
  "/": "..... ....# ...#. ..#.. .#... #.... .....",
  "_": "..... ..... ..... ..... ..... ..... #####",
  "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
  "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
  "'": "..#.. ..#.. .#... ..... ..... ..... .....",
  "%": "##..# ##.#. ...#. ..#.. .#... .#.## #..##",
  "<": "...#. ..#.. .#... #.... .#... ..#.. ...#.",
  ">": ".#... ..#.. ...#. ....# ...#. ..#.. .#...",
  "→": "..... ..#.. ...#. ##### ...#. ..#.. .....",
  "λ": "##... ..#.. ..#.. .#.#. .#.#. #...# #...#",
  "δ": ".###. .#... ..#.. .###. #...# #...# .###.",
};

const MISSING = "##### #...# #...# #...# #...# #...# #####";

/**
 * Letters with a descender: their 7 rows are drawn 2 font pixels lower (x-height rows, then the
 * tail below the baseline), so a line needs GLYPH_H + 2 rows.
 */
const DESCENDERS = new Set(["g", "p", "q", "y"]);
/** Rows a line of text occupies, descenders included. */
export const LINE_H = GLYPH_H + 2;

/** The on-cells of a character: 7 rows of 5 booleans. */
export function glyph(ch: string): boolean[][] {
  return (G[ch] ?? MISSING).split(" ").map((row) => Array.from(row, (c) => c === "#"));
}

/** True when the font has a glyph for the character. */
export function hasGlyph(ch: string): boolean {
  return Object.hasOwn(G, ch);
}

/** Width in image pixels of `text` drawn at `scale` (no trailing gap). */
export function textWidth(text: string, scale = 1): number {
  const n = Array.from(text).length;
  return n === 0 ? 0 : (n * ADVANCE - 1) * scale;
}

/** A writable RGBA image (the sheet and heat maps draw into one). */
export interface Canvas extends RGBAImage {
  readonly data: Uint8ClampedArray;
}

/** A colour as 0..255 red, green, blue. */
export type RGB = readonly [number, number, number];

/**
 * Draw `text` with its top-left corner at (x, y), each font pixel a `scale` × `scale` square;
 * pixels outside the canvas are skipped.
 */
export function drawText(c: Canvas, text: string, x: number, y: number, colour: RGB, scale = 1): void {
  let cx = x;
  for (const ch of text) {
    const rows = glyph(ch);
    const drop = DESCENDERS.has(ch) ? 2 : 0;
    for (let gy = 0; gy < GLYPH_H; gy++) {
      const row = rows[gy] as boolean[];
      for (let gx = 0; gx < GLYPH_W; gx++) {
        if (row[gx]) fillRect(c, cx + gx * scale, y + (gy + drop) * scale, scale, scale, colour);
      }
    }
    cx += ADVANCE * scale;
  }
}

/** A blank canvas filled with one colour. */
export function canvas(width: number, height: number, colour: RGB): Canvas {
  const data = new Uint8ClampedArray(4 * width * height);
  for (let p = 0; p < width * height; p++) {
    data[4 * p] = colour[0];
    data[4 * p + 1] = colour[1];
    data[4 * p + 2] = colour[2];
    data[4 * p + 3] = 255;
  }
  return { width, height, data };
}

/** Fill a rectangle, clipped to the canvas. */
export function fillRect(c: Canvas, x: number, y: number, w: number, h: number, colour: RGB): void {
  const x0 = Math.max(0, x);
  const y0 = Math.max(0, y);
  const x1 = Math.min(c.width, x + w);
  const y1 = Math.min(c.height, y + h);
  for (let yy = y0; yy < y1; yy++) {
    for (let xx = x0; xx < x1; xx++) {
      const i = 4 * (yy * c.width + xx);
      c.data[i] = colour[0];
      c.data[i + 1] = colour[1];
      c.data[i + 2] = colour[2];
      c.data[i + 3] = 255;
    }
  }
}

/** Copy `src` onto `c` with its top-left corner at (x, y), clipped. */
export function blit(c: Canvas, src: RGBAImage, x: number, y: number): void {
  for (let sy = 0; sy < src.height; sy++) {
    const yy = y + sy;
    if (yy < 0 || yy >= c.height) continue;
    for (let sx = 0; sx < src.width; sx++) {
      const xx = x + sx;
      if (xx < 0 || xx >= c.width) continue;
      const si = 4 * (sy * src.width + sx);
      const di = 4 * (yy * c.width + xx);
      c.data[di] = src.data[si] as number;
      c.data[di + 1] = src.data[si + 1] as number;
      c.data[di + 2] = src.data[si + 2] as number;
      c.data[di + 3] = 255;
    }
  }
}
