/**
 * The playground in a real browser: Debian's chromium driven by puppeteer-core (which downloads
 * nothing), the page served by poolkit's own `poolkit serve`. Screenshots go to
 * test-output/screenshots/ (gitignored) for people to look at.
 *
 * Needs /usr/bin/chromium (or POOLKIT_CHROMIUM): `.ci/run` installs it with apt; elsewhere
 * `apt-get install -y chromium`. Without it this file fails (it never skips).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import type { Browser, Page } from "puppeteer-core";
import { launchChromium, requireBrowserAndBuild, root, startServe, watchProblems } from "./harness.js";
import { listPools } from "../../src/registry.js";

const SHOTS = join(root, "test-output", "screenshots");
const methods = listPools().filter((m) => m.dims.includes(2));

let server: ChildProcess | undefined;
let browser: Browser | undefined;
let page: Page;
let base = "";
const problems: string[] = [];
const scratch = mkdtempSync(join(tmpdir(), "poolkit-browser-"));

// Code that runs inside the page is kept as browser JavaScript (this file is type-checked for Node,
// without the DOM library), installed before the page loads and called by name.
const IN_PAGE = `
window.__pk = {
  ready: () => document.body.dataset.ready !== undefined,
  text: (sel) => document.querySelector(sel)?.textContent ?? null,
  texts: (sel) => Array.from(document.querySelectorAll(sel), (e) => e.textContent),
  attr: (sel, name) => document.querySelector(sel)?.getAttribute(name) ?? null,
  methodsOf: (sel) => Array.from(document.querySelectorAll(sel), (f) => f.dataset.method),
  count: (sel) => document.querySelectorAll(sel).length,
  scrollWidth: () => document.documentElement.scrollWidth,
  className: (sel) => document.querySelector(sel)?.className ?? null,
  canvasData: (sel) => document.querySelector(sel)?.toDataURL() ?? null,
  setValue(sel, value) {
    const e = document.querySelector(sel);
    e.value = value;
    e.dispatchEvent(new Event("input"));
  },
  // Pixels of the colour (r, g, b) on a canvas.
  countColour(sel, r, g, b) {
    const c = document.querySelector(sel);
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] === r && d[i + 1] === g && d[i + 2] === b) n++;
    return n;
  },
  // Per figure under sel: is there a canvas with two different colours? (A 1×1 swatch or a flat
  // crop may be uniform by design; its figure still has something beside it to see.)
  blankFigures(sel) {
    const blank = [];
    const colours = new Set();
    let figures = 0;
    for (const f of document.querySelectorAll(sel + " figure")) {
      const cs = Array.from(f.querySelectorAll("canvas")).filter((c) => !c.classList.contains("overlay"));
      if (cs.length === 0) continue;
      figures++;
      const seen = cs.some((c) => {
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        colours.add(d[0] + "," + d[1] + "," + d[2]);
        for (let i = 4; i < d.length; i++) if (d[i] !== d[i % 4]) return true;
        return false;
      });
      if (!seen) blank.push(f.dataset.method ?? f.querySelector("figcaption")?.textContent ?? "?");
    }
    return { figures, blank, colours: colours.size };
  },
};`;

async function call<T>(expr: string): Promise<T> {
  return (await page.evaluate(expr)) as T;
}

async function ready(p: Page): Promise<void> {
  await p.waitForFunction("window.__pk.ready()", { timeout: 30_000 });
}

/** Pick a method in the page's select and wait until it has been recomputed (the change clears `ready` at once). */
async function choose(name: string): Promise<void> {
  await page.select("#method", name);
  await ready(page);
}

async function blankFigures(selector: string): Promise<{ figures: number; blank: string[]; colours: number }> {
  return call(`window.__pk.blankFigures(${JSON.stringify(selector)})`);
}

beforeAll(async () => {
  requireBrowserAndBuild();
  const site = join(scratch, "site");
  const b = spawnSync(process.execPath, [join(root, "scripts", "build-playground.mjs"), "--outdir", site], { encoding: "utf8" });
  if (b.status !== 0) throw new Error(`build-playground failed: ${b.stderr}`);
  ({ server, base } = await startServe(site));
  browser = await launchChromium(join(scratch, "profile"));
  page = await browser.newPage();
  await page.evaluateOnNewDocument(IN_PAGE);
  watchProblems(page, problems);
  await page.setViewport({ width: 1280, height: 900 });
  mkdirSync(SHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.kill();
  rmSync(scratch, { recursive: true, force: true });
});

describe("playground in chromium", () => {
  it("loads with no console error, a favicon, and every method in the grid and the shift test", async () => {
    await page.goto(`${base}index.html`, { waitUntil: "load" });
    await ready(page);
    expect(problems).toEqual([]);
    expect(await call(`window.__pk.attr("link[rel=icon]", "href")`)).toMatch(/^data:image\/svg\+xml/);
    expect(await call(`window.__pk.methodsOf("#grid figure")`)).toEqual(methods.map((m) => m.name));
    expect(await call(`window.__pk.methodsOf("#shift figure[data-method]")`)).toEqual(methods.map((m) => m.name));
    expect(await call(`window.__pk.texts("#grid .error, #shift .error")`)).toEqual([]);
    const grid = await blankFigures("#grid");
    expect(grid.figures).toBe(methods.length);
    expect(grid.blank).toEqual([]);
    await page.screenshot({ path: join(SHOTS, "overview-1280.png"), fullPage: true });
  }, 40_000);

  it("explains every method with non-empty pictures, passing checks and no error", async () => {
    await page.select("#dy", "pixel");
    for (const m of methods) {
      await choose(m.name);
      expect(await call(`window.__pk.texts("#explain-section .error, #special .error, #gradient .error, #checks.error")`), m.name).toEqual([]);
      expect(await call(`window.__pk.text("#checks")`), m.name).toMatch(/^forward ✓[^]*\nbackward ✓/);
      const c = await blankFigures("#explain");
      expect(c.figures, m.name).toBeGreaterThan(0);
      expect(c.blank, m.name).toEqual([]);
      // dy = one output pixel: dx shows that pixel's window (global pooling spreads it evenly over
      // one channel, so a single plane may be uniform; the three planes together are not).
      const g = await blankFigures("#gradient");
      expect(g.figures, m.name).toBe(3);
      expect(g.blank.length < 3 || g.colours > 1, m.name).toBe(true);
      const shot = ["Max", "SoftPool", "LIP", "Stochastic", "S3Pool", "FractionalMax", "Mixed", "MaxUnpool", "RoIAlign", "Covariance", "SpatialPyramid", "CompactBilinear", "DPP"];
      if (shot.includes(m.name)) {
        const el = await page.$(".content");
        await el?.screenshot({ path: join(SHOTS, `method-${m.name}.png`), clip: { x: 0, y: 0, width: 1000, height: 1400 } as never });
      }
    }
    await page.select("#dy", "ones");
    expect(problems).toEqual([]);
  }, 60_000);

  it("hovering an output pixel shows its window and weights on the input", async () => {
    await choose("Max");
    const out = await page.$("#explain canvas.overlay[data-role=output]");
    const box = await out?.boundingBox();
    if (!box) throw new Error("no output canvas");
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.6);
    const heading = await call<string>(`window.__pk.text("#inspector h3")`);
    // 48×48 output: 0.3 → column 14, 0.6 → row 28
    expect(heading).toMatch(/^output R\[28, 14\] = /);
    // the window's outline (#ffe14d) on the input's overlay
    expect(await call<number>(`window.__pk.countColour("#explain .stack canvas.overlay", 255, 225, 77)`)).toBeGreaterThan(0);
    expect(await call(`window.__pk.text("#inspector")`)).toMatch(/Σ w·x = [^≠]* = y/);
    expect(await call(`window.__pk.count("#inspector canvas.zoom")`)).toBe(1);
    await page.screenshot({ path: join(SHOTS, "hover-max.png"), clip: { x: 290, y: 40, width: 990, height: 470 } });
  }, 20_000);

  it("hovering a vector output's bin shows the pixels it came from (SPP)", async () => {
    await choose("SpatialPyramid");
    const level = await page.$("#explain .sub canvas.view"); // the 4×4 level
    const box = await level?.boundingBox();
    if (!box) throw new Error("no pyramid level canvas");
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height * 0.6); // bin (2, 3)
    expect(await call(`window.__pk.text("#inspector h3")`)).toMatch(/^level 4×4, bin \(2, 3\), channel R = /);
    expect(await call(`window.__pk.text("#inspector")`)).toMatch(/Σ w·x = [^≠]* = y/); // max: one pixel, weight 1
    expect(await call<number>(`window.__pk.countColour("#explain .stack canvas.overlay", 255, 225, 77)`)).toBeGreaterThan(0);
  }, 20_000);

  it("RoIs are drawn on the picture and dragging one re-pools it", async () => {
    await choose("RoIAlign");
    const crop = `window.__pk.canvasData("#explain .row .row figure canvas.view")`;
    const before = await call<string>(crop);
    const overlay = await page.$("#explain .stack canvas.overlay");
    const box = await overlay?.boundingBox();
    if (!box) throw new Error("no input overlay");
    // RoI 0 starts at 20 %–50 % of the picture: grab its middle, move it 15 % right and down
    const [sx, sy] = [box.x + 0.35 * box.width, box.y + 0.35 * box.height];
    await page.mouse.move(sx, sy);
    await page.mouse.down();
    await page.mouse.move(sx + 0.15 * box.width, sy + 0.15 * box.height, { steps: 4 });
    await page.mouse.up();
    await ready(page);
    expect(await call(`window.__pk.text("#status")`)).toMatch(/^roiAlign\(/);
    expect(await call<string>(crop)).not.toBe(before);
    expect(problems).toEqual([]);
  }, 20_000);

  it("resample draws anew: a new seed, a different stochastic draw", async () => {
    await choose("Stochastic");
    const draw = `window.__pk.canvasData("#special canvas.overlay")`; // the picks, drawn over the picture
    const before = await call<string>(draw);
    const seed = Number(await call(`document.getElementById("seed").value`));
    await page.click("#resample");
    await ready(page);
    expect(Number(await call(`document.getElementById("seed").value`))).toBe(seed + 1);
    expect(await call<string>(draw)).not.toBe(before);
    expect(await call(`window.__pk.text("#checks")`)).toMatch(/^forward ✓[^]*\nbackward ✓/);
  }, 20_000);

  it("takes an uploaded PNG and recomputes everything", async () => {
    // 41×31: odd sides are scaled down to even ones (DPP and S3Pool need them), here 40×30
    const png = new PNG({ width: 41, height: 31 });
    for (let y = 0; y < 31; y++) {
      for (let x = 0; x < 41; x++) {
        const i = 4 * (y * 41 + x);
        png.data[i] = (x * 6) & 255;
        png.data[i + 1] = (y * 8) & 255;
        png.data[i + 2] = (x + y) % 7 === 0 ? 255 : 30;
        png.data[i + 3] = 255;
      }
    }
    const file = join(scratch, "upload.png");
    writeFileSync(file, new Uint8Array(PNG.sync.write(png)));
    await choose("Average");
    const input = await page.$("#file");
    if (!input) throw new Error("no file input");
    await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(file);
    await page.waitForFunction(`(window.__pk.text("#input-cap") ?? "").includes("40×30")`, { timeout: 10_000 });
    await ready(page);
    expect(await call(`window.__pk.text("#status")`)).toContain("[1, 3, 30, 40]");
    expect(await call(`window.__pk.count("#grid .error")`)).toBe(0);
    const grid = await blankFigures("#grid");
    expect(grid.blank).toEqual([]);
    expect(problems).toEqual([]);
  }, 20_000);

  it("works 700 px wide (no sideways scrolling) and shows a bad option's error with no ✓ beside it", async () => {
    await page.setViewport({ width: 700, height: 900 });
    await page.click("#sample");
    await ready(page);
    await choose("SoftPool");
    expect(await call<number>("window.__pk.scrollWidth()")).toBeLessThanOrEqual(700);
    await page.screenshot({ path: join(SHOTS, "softpool-700.png"), fullPage: false });
    await call(`window.__pk.setValue("#opt-kernelSize", "-1")`);
    await page.waitForFunction(`window.__pk.className("#status") === "error"`, { timeout: 5_000 });
    expect(await call(`window.__pk.text("#status")`)).toMatch(/^softPool2d: /);
    expect(await call(`window.__pk.text("#checks")`)).not.toContain("✓");
    expect(problems).toEqual([]);
  }, 20_000);
});
