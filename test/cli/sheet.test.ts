/**
 * `poolkit sheet`, heat maps, the bitmap font and the progress bar.
 */
import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/commands.js";
import { decodePng, encodePng } from "../../src/cli/png.js";
import { sampleImage, type RGBAImage } from "../../src/cli/image.js";
import { composeSheet, sheetTiles } from "../../src/cli/sheet.js";
import { colourFor, heatGrid, legendNumber } from "../../src/cli/heatmap.js";
import { ADVANCE, GLYPH_H, GLYPH_W, canvas, drawText, glyph, hasGlyph, textWidth } from "../../src/cli/font.js";
import { PROGRESS_DELAY_MS, progressBar, progressText } from "../../src/cli/progress.js";
import { listPools } from "../../src/registry.js";
import { defineOp } from "../../src/op.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import { FAKE_AVG, FAKE_GAIN, FAKE_THROWS, capture, fakeRegistry } from "./fakes.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "poolkit-sheet-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** [N, C, H, W] → [N, C] (first value of each plane). */
const fakeGlobal = defineOp("fakeGlobal", (x: Tensor) => {
  const [n, c] = x.shape as [number, number];
  const plane = x.size / (n * c);
  return { output: tensor(Array.from({ length: n * c }, (_, i) => x.data[i * plane] as number), [n, c]), backward: () => [null] };
});
const FAKE_GLOBAL = { ...FAKE_AVG, name: "FakeGlobal", ops: { 2: fakeGlobal }, defaults: {} };

function px(img: RGBAImage, x: number, y: number): number[] {
  const i = 4 * (y * img.width + x);
  return Array.from(img.data.subarray(i, i + 3));
}

describe("the bitmap font", () => {
  it("every glyph is 7 rows of 5 cells; every character of every registered method's name has one", () => {
    for (const m of listPools()) for (const ch of m.name) expect(hasGlyph(ch), `${m.name}: ${ch}`).toBe(true);
    for (const ch of "input0123456789[], ×.-+e") expect(hasGlyph(ch), ch).toBe(true);
    for (const ch of "AZaz09") {
      const g = glyph(ch);
      expect(g).toHaveLength(GLYPH_H);
      for (const row of g) expect(row).toHaveLength(GLYPH_W);
    }
    expect(textWidth("Max")).toBe(3 * ADVANCE - 1);
    expect(textWidth("")).toBe(0);
  });

  it("drawText paints exactly the glyph's on-cells, scaled", () => {
    const c = canvas(12, 16, [0, 0, 0]);
    drawText(c, "L", 1, 1, [255, 255, 255], 2);
    // "L": the left column on in every row, the bottom row on in every column.
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 12; x++) {
        const gx = Math.floor((x - 1) / 2);
        const gy = Math.floor((y - 1) / 2);
        const on = x >= 1 && y >= 1 && gx < 5 && gy < 7 && (gx === 0 || gy === 6);
        expect(px(c, x, y), `${x},${y}`).toEqual(on ? [255, 255, 255] : [0, 0, 0]);
      }
    }
  });
});

describe("heat maps", () => {
  it("lay out [N, A, B] as A×B, square vectors as matrices, others in rows of ⌈√D⌉", () => {
    expect(heatGrid(tensor(new Float32Array(18), [2, 3, 3]))).toMatchObject({ rows: 3, cols: 3, layout: "item 0 as a 3×3 matrix" });
    const bil = heatGrid(tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0], [2, 9]));
    expect(bil).toMatchObject({ rows: 3, cols: 3 });
    expect(Array.from(bil.values)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const spp = heatGrid(tensor(new Float32Array(63), [1, 63]));
    expect([spp.rows, spp.cols, spp.mask.reduce((a, b) => a + b, 0)]).toEqual([8, 8, 63]);
    const planes = heatGrid(tensor([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]));
    expect([planes.rows, planes.cols]).toEqual([2, 5]); // two 2×2 planes and a 1-cell gap
    expect(Array.from(planes.mask)).toEqual([1, 1, 0, 1, 1, 1, 1, 0, 1, 1]);
    expect(Array.from(planes.values)).toEqual([1, 2, 0, 5, 6, 3, 4, 0, 7, 8]);
  });

  it("diverging map for mixed signs (white at 0, red +, blue −), sequential otherwise; NaN grey", () => {
    expect(colourFor(0, -1, 2)).toEqual([247, 247, 247]);
    expect(colourFor(2, -1, 2)).toEqual([178, 24, 43]);
    expect(colourFor(-2, -1, 2)).toEqual([33, 102, 172]); // symmetric scale ±2, clipped
    expect(colourFor(0, 0, 1)).toEqual([12, 7, 35]);
    expect(colourFor(1, 0, 1)).toEqual([252, 240, 160]);
    expect(colourFor(NaN, 0, 1)).toEqual([128, 128, 128]);
    expect([legendNumber(0.2845123), legendNumber(-1234567), legendNumber(0)]).toEqual(["0.2845", "-1.23e+6", "0"]);
  });
});

describe("the progress bar", () => {
  it("stays silent for work under a second, draws after, and clears its line", () => {
    let t = 0;
    const lines: string[] = [];
    const line = { status: (s: string) => lines.push(s), now: () => t };
    const quick = progressBar(line, "sheet", 4);
    quick.step(0, "a");
    t = PROGRESS_DELAY_MS;
    quick.step(1, "b");
    quick.finish();
    expect(lines).toEqual([]);
    const slow = progressBar(line, "sheet", 4);
    t += PROGRESS_DELAY_MS + 1;
    slow.step(2, "SoftPool");
    slow.step(4, "");
    slow.finish();
    expect(lines).toEqual([progressText("sheet", 2, 4, "SoftPool"), progressText("sheet", 4, 4, ""), ""]);
    expect(progressText("sheet", 2, 4, "SoftPool")).toBe(`sheet [${"#".repeat(12)}${".".repeat(12)}] 2/4 SoftPool`);
  });

  it("is a no-op when stderr is not a terminal", () => {
    const bar = progressBar(undefined, "sheet", 3);
    bar.step(1, "x");
    bar.finish();
  });
});

describe("poolkit sheet", () => {
  it("one tile per registered method (listPools order) after the input, none failing", () => {
    const img = sampleImage(24, 24);
    const tiles = sheetTiles(listPools(), img, 64, 0);
    expect(tiles.map((t) => t.label)).toEqual(["input", ...listPools().map((m) => m.name)]);
    expect(tiles.filter((t) => t.error !== undefined).map((t) => `${t.label}: ${t.error}`)).toEqual([]);
    expect(tiles.find((t) => t.label === "Covariance")?.caption).toBe("[1, 6] heat map");
    expect(tiles.find((t) => t.label === "Max")?.caption).toBe("[1, 3, 12, 12]");
  });

  it("composes a grid of ⌈√n⌉ columns; the input tile shows the picture enlarged", () => {
    const img: RGBAImage = { width: 2, height: 1, data: Uint8Array.of(255, 0, 0, 255, 0, 0, 255, 255) };
    const tiles = [
      { label: "input", caption: "2×1", picture: img },
      { label: "B", caption: "x", picture: img },
      { label: "C", caption: "failed", picture: null, error: "boom" },
    ];
    const s = composeSheet(tiles, 40);
    // 2 columns × 2 rows of (40 wide, 40 + 4 + 2·10 high) cells with 8-px gaps.
    expect([s.width, s.height]).toEqual([8 + 2 * 48, 8 + 2 * (64 + 8)]);
    // The 2×1 picture fills 40×20 centred vertically: rows 10..29; left half red, right half blue.
    expect(px(s, 8 + 5, 8 + 15)).toEqual([255, 0, 0]);
    expect(px(s, 8 + 35, 8 + 15)).toEqual([0, 0, 255]);
    expect(px(s, 8 + 5, 8 + 2)).toEqual([40, 40, 46]); // tile background above the picture
  });

  it("writes the sheet, reports failing methods and exits 1 for them; progress only on a status line", async () => {
    const input = join(dir, "in.png");
    writeFileSync(input, encodePng(sampleImage(20, 20)));
    const out = join(dir, "sheet.png");
    const c = capture();
    let t = 0;
    const status: string[] = [];
    const io = { ...c.io, statusLine: { status: (s: string) => status.push(s), now: () => (t += 600) } };
    const reg = fakeRegistry([FAKE_AVG, FAKE_GAIN, FAKE_THROWS, FAKE_GLOBAL]);
    expect(await main(["sheet", input, "--output", out, "--tile", "48"], io, reg)).toBe(1);
    expect(c.err).toEqual(["poolkit sheet: FakeThrows failed: fakeThrows2d: always fails, got nothing"]);
    expect(c.out[0]).toBe(`wrote ${out} (${8 + 3 * 56}×${8 + 2 * (48 + 4 + 20 + 8)}): 4 methods on 20×20, 1 failed`);
    const img = decodePng(new Uint8Array(readFileSync(out)));
    expect([img.width, img.height]).toEqual([176, 168]);
    // The clock passes 1 s during the run: the bar is drawn, then cleared.
    expect(status.length).toBeGreaterThan(1);
    expect(status.some((s) => s.startsWith("sheet ["))).toBe(true);
    expect(status.at(-1)).toBe("");
    // Without a status line (stderr not a terminal) nothing is drawn.
    const quiet = capture();
    expect(await main(["sheet", input, "--output", out, "--tile", "48"], quiet.io, fakeRegistry([FAKE_AVG]))).toBe(0);
    expect(quiet.err).toEqual([]);
  });

  it("shrinks large pictures to --size (box filter) and refuses its input as output", async () => {
    const input = join(dir, "big.png");
    writeFileSync(input, encodePng(sampleImage(300, 150)));
    const c = capture();
    expect(await main(["sheet", input, "--output", join(dir, "s2.png"), "--size", "60"], c.io, fakeRegistry([FAKE_AVG]))).toBe(0);
    expect(c.out[0]).toContain("1 methods on 60×30");
    expect(await main(["sheet", input, "--output", input], c.io, fakeRegistry([FAKE_AVG]))).toBe(2);
    expect(c.err[0]).toBe(`poolkit: sheet: --output "${input}" is the input file; pass --force to overwrite it`);
    expect(await main(["sheet", input], c.io)).toBe(2);
    expect(c.err[2]).toBe("poolkit: sheet needs --output <sheet.png|sheet.jpg>");
  });
});
