/**
 * `poolkit sheet`: a contact sheet of every registered method on one picture — the input first,
 * then one tile per method in registry order (`listPools()`), each labelled with the method's name
 * and what its output is. Picture-shaped outputs are shown as pictures (nearest-neighbour enlarged,
 * so pooled pixels stay visible); other outputs (vectors, matrices) as heat maps.
 *
 * No `node:*` import here; the command in commands.ts reads and writes the files.
 */
import type { PoolMethod } from "../registry.js";
import { show } from "../errors.js";
import { errorText, mergeOptions, pickRank, runMethod } from "./invoke.js";
import { fitInside, imagePlanes, imageToTensor, resizeNearest, tensorToImage, type RGBAImage } from "./image.js";
import { cellSizeFor, heatGrid, renderHeatmap } from "./heatmap.js";
import { ADVANCE, GLYPH_H, LINE_H, blit, canvas, drawText, textWidth, type Canvas, type RGB } from "./font.js";
import type { Tensor } from "../tensor/tensor.js";

/** One tile of the contact sheet. */
export interface SheetTile {
  /** The method's name (or "input"). */
  readonly label: string;
  /** A second line: the output's shape and how it is shown, or "failed". */
  readonly caption: string;
  /** The picture drawn in the tile (null when the method failed). */
  readonly picture: RGBAImage | null;
  /** The error, when the method failed. */
  readonly error?: string;
}

/** True for an output the sheet (and `run`) shows as a picture: `[N, C, h, w]` with C = 1 or 3, item 0. */
export function isPictureOutput(y: Tensor): boolean {
  return y.shape.length === 4 && typeof imagePlanes(y) !== "string";
}

/**
 * Run every method on `img` (as a `[1, 3, H, W]` tensor in [0, 1]) at its 2-d op (else its first
 * rank) with its defaults and `seed`; one tile each, in the order given. `onStep(done, name)` is
 * called before each method and once at the end. A failing method gives a tile that says so.
 */
export function sheetTiles(methods: readonly PoolMethod[], img: RGBAImage, tile: number, seed: number, onStep?: (done: number, name: string) => void): SheetTile[] {
  const x = imageToTensor(img);
  const tiles: SheetTile[] = [{ label: "input", caption: `${img.width}×${img.height}`, picture: img }];
  methods.forEach((m, i) => {
    onStep?.(i, m.name);
    try {
      const rank = pickRank(m);
      if (rank !== 2) throw new RangeError(`${m.name} has no 2-d op`);
      const y = runMethod(m, x, mergeOptions(m), seed, rank).output;
      if (isPictureOutput(y)) {
        tiles.push({ label: m.name, caption: show(y.shape), picture: tensorToImage(y, "auto") });
      } else {
        const grid = heatGrid(y);
        tiles.push({ label: m.name, caption: `${show(y.shape)} heat map`, picture: renderHeatmap(grid, cellSizeFor(grid, tile), false) });
      }
    } catch (e) {
      tiles.push({ label: m.name, caption: "failed", picture: null, error: errorText(e) });
    }
  });
  onStep?.(methods.length, "");
  return tiles;
}

const BG: RGB = [18, 18, 22];
const TILE_BG: RGB = [40, 40, 46];
const NAME: RGB = [240, 240, 240];
const CAPTION: RGB = [150, 150, 160];
const FAILED: RGB = [235, 90, 80];
const GAP = 8;

/** Cut `text` to fit `width` pixels at `scale`, marking the cut with "..". */
function fit(text: string, width: number, scale: number): string {
  if (textWidth(text, scale) <= width) return text;
  const n = Math.max(0, Math.floor((width / scale + 1) / ADVANCE) - 2);
  return `${Array.from(text).slice(0, n).join("")}..`;
}

/**
 * Lay the tiles out on a grid (⌈√n⌉ columns): each tile a `tile × tile` area with its picture
 * enlarged (nearest neighbour) to fit and centred, and two label lines under it.
 */
export function composeSheet(tiles: readonly SheetTile[], tile: number): Canvas {
  const scale = tile >= 256 ? 2 : 1;
  const lineH = (LINE_H + 1) * scale;
  const cellW = tile;
  const cellH = tile + 4 + 2 * lineH;
  const cols = Math.max(1, Math.ceil(Math.sqrt(tiles.length)));
  const rows = Math.max(1, Math.ceil(tiles.length / cols));
  const c = canvas(GAP + cols * (cellW + GAP), GAP + rows * (cellH + GAP), BG);
  tiles.forEach((t, i) => {
    const x0 = GAP + (i % cols) * (cellW + GAP);
    const y0 = GAP + Math.floor(i / cols) * (cellH + GAP);
    blit(c, canvas(tile, tile, TILE_BG), x0, y0);
    if (t.picture) {
      const size = fitInside(t.picture.width, t.picture.height, tile);
      const pic = resizeNearest(t.picture, size.width, size.height);
      blit(c, pic, x0 + Math.floor((tile - size.width) / 2), y0 + Math.floor((tile - size.height) / 2));
    } else {
      const msg = "failed";
      drawText(c, msg, x0 + Math.floor((tile - textWidth(msg, scale)) / 2), y0 + Math.floor(tile / 2 - (GLYPH_H * scale) / 2), FAILED, scale);
    }
    drawText(c, fit(t.label, cellW, scale), x0, y0 + tile + 4, NAME, scale);
    drawText(c, fit(t.caption, cellW, scale), x0, y0 + tile + 4 + lineH, t.picture ? CAPTION : FAILED, scale);
  });
  return c;
}
