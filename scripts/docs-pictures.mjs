#!/usr/bin/env node
// The documentation's pictures, taken from the playground in a real browser: builds the playground,
// serves it with poolkit's own `poolkit serve` on 127.0.0.1 (port 0: the OS picks a free one), drives
// Debian's chromium with puppeteer-core (which downloads nothing; POOLKIT_CHROMIUM overrides the
// path) and writes to docs/images/:
//   - <Method>.png for every 2-D method: its "where each output came from" and "what is special"
//     sections (one output pixel hovered, so its window and weights show), on the generated sample;
//   - overview.png: the "every method on this picture" grid.
// Pictures are palette-quantised PNGs (upng-js), downscaled until all of them together stay under
// the size budget, since they are committed. Needs dist/ (`npm run docs:pictures` builds it first).
// Usage: node scripts/docs-pictures.mjs [--out docs/images] [--only Max,SoftPool]
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import puppeteer from "puppeteer-core";
import UPNG from "upng-js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { out: { type: "string" }, only: { type: "string" } } });
const OUT = resolve(values.out ?? join(root, "docs", "images"));
const ONLY = values.only ? new Set(values.only.split(",")) : null;
const CHROMIUM = process.env.POOLKIT_CHROMIUM ?? "/usr/bin/chromium";
/** All pictures together stay below this (they are committed to the repository). */
const BUDGET = 3 * 1024 * 1024;
/** Colours per picture: the playground's pictures are pixel art and flat panels, 256 is plenty. */
const COLOURS = 256;
/**
 * Where to hover instead (fractions of the output picture), for methods whose picture says more
 * elsewhere. DPP: a 2×2 block inside one checker square, or split 2–2 by an edge, weighs ¼ each;
 * output (6, 32) of the 96×96 sample has 3 sun pixels and 1 sky pixel (src/cli/image.ts's circle),
 * so its reward weights differ.
 */
const HOVER = { DPP: [32.5 / 48, 6.5 / 48] };
/** Widest picture written, in pixels; wider screenshots are scaled down. */
const MAX_WIDTH = 900;

function fail(message) {
  console.error(`docs-pictures: ${message}`);
  process.exit(1);
}

if (!existsSync(CHROMIUM)) fail(`needs Debian's chromium at ${CHROMIUM} (apt-get install -y chromium), or POOLKIT_CHROMIUM set to a Chromium binary`);
if (!existsSync(join(root, "dist", "cli", "main.js"))) fail("dist/ is missing: run `npm run build` first (`npm run docs:pictures` does)");

const scratch = mkdtempSync(join(tmpdir(), "poolkit-docs-pictures-"));
const site = join(scratch, "site");
let server;
let browser;

/** Start `poolkit serve` on port 0 and resolve with its base URL, read from the line it prints. */
function startServer() {
  server = spawn(process.execPath, [join(root, "dist", "cli", "main.js"), "serve", site, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((ok, no) => {
    let out = "";
    let pending = "";
    const timer = setTimeout(() => no(new Error(`poolkit serve did not say where it listens: ${out}`)), 10_000);
    server.stderr.on("data", (d) => (out += d.toString()));
    server.stdout.on("data", (d) => {
      out += d.toString();
      pending += d.toString();
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, "");
        pending = pending.slice(nl + 1);
        // src/cli/commands.ts: `serving <dir> at http://127.0.0.1:<port>/ (Ctrl-C to stop)`
        const m = /^serving .+ at (http:\/\/127\.0\.0\.1:(\d+)\/) \(Ctrl-C to stop\)$/.exec(line);
        if (m && Number(m[2]) > 0) {
          clearTimeout(timer);
          ok(m[1]);
        }
      }
    });
    server.on("exit", (code) => {
      clearTimeout(timer);
      no(new Error(`poolkit serve exited (${code}): ${out}`));
    });
  });
}

/** Box filter: average `f`×`f` blocks (f a whole number ≥ 1) of an RGBA buffer. */
function shrink(rgba, w, h, f) {
  if (f === 1) return { data: rgba, width: w, height: h };
  const W = Math.floor(w / f);
  const H = Math.floor(h / f);
  const out = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let ch = 0; ch < 4; ch++) {
        let s = 0;
        for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) s += rgba[4 * ((y * f + a) * w + x * f + b) + ch];
        out[4 * (y * W + x) + ch] = Math.round(s / (f * f));
      }
    }
  }
  return { data: out, width: W, height: H };
}

/**
 * Encode a screenshot as a small palette PNG, shrunk by the whole factor `factor` (a whole factor
 * keeps the playground's pixelated canvases crisp, where a fractional resample would blur them).
 */
function encode(png, factor) {
  const img = UPNG.decode(png);
  const rgba = new Uint8Array(UPNG.toRGBA8(img)[0]);
  const s = shrink(rgba, img.width, img.height, factor);
  return { bytes: Buffer.from(UPNG.encode([s.data.buffer], s.width, s.height, COLOURS)), width: s.width, height: s.height };
}

async function main() {
  const b = spawnSync(process.execPath, [join(root, "scripts", "build-playground.mjs"), "--outdir", site], { encoding: "utf8" });
  if (b.status !== 0) throw new Error(`build-playground failed: ${b.stderr}`);
  const base = await startServer();
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: join(scratch, "profile"),
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage();
  const problems = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${String(err)}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  // 1180 CSS px leaves the content column ≈ 850 px beside the 290 px sidebar.
  await page.setViewport({ width: 1180, height: 1000, deviceScaleFactor: 1 });
  const ready = () => page.waitForFunction("document.body.dataset.ready !== undefined", { timeout: 60_000 });
  await page.goto(`${base}index.html`, { waitUntil: "load" });
  await ready();
  const methods = await page.evaluate("Array.from(document.querySelectorAll('#method option'), (o) => o.value)");
  if (methods.length === 0) throw new Error("the playground lists no methods");

  mkdirSync(OUT, { recursive: true });
  const shots = [];
  // The bounding box of the method's two explanation sections (a "card" for that method).
  // (The special section is hidden for methods with nothing special to draw.)
  const cardBox = `(() => {
    const rects = [document.getElementById("explain-section"), document.getElementById("special").closest("section")]
      .map((e) => e.getBoundingClientRect()).filter((r) => r.height > 0);
    const left = Math.min(...rects.map((r) => r.left)), top = Math.min(...rects.map((r) => r.top));
    const right = Math.max(...rects.map((r) => r.right)), bottom = Math.max(...rects.map((r) => r.bottom));
    return { x: left + scrollX, y: top + scrollY, width: right - left, height: bottom - top };
  })()`;
  for (const name of methods) {
    if (ONLY && !ONLY.has(name)) continue;
    await page.select("#method", name);
    await ready();
    const err = await page.evaluate(`Array.from(document.querySelectorAll("#explain-section .error, #special .error"), (e) => e.textContent)`);
    if (err.length > 0) throw new Error(`${name}: the playground shows an error: ${err.join("; ")}`);
    // Hover one output pixel in the checkerboard corner of the sample (21 % across and down), where
    // the methods differ most, so the picture shows where that output came from.
    const out = await page.$("#explain canvas.overlay[data-role=output]");
    const box = await out?.boundingBox();
    const [hx, hy] = HOVER[name] ?? [0.21, 0.21];
    if (box) await page.mouse.move(box.x + box.width * hx, box.y + box.height * hy);
    else await page.mouse.move(0, 0);
    const clip = await page.evaluate(cardBox);
    const png = await page.screenshot({ clip, captureBeyondViewport: true, type: "png" });
    shots.push({ file: `${name}.png`, png });
  }
  if (!ONLY || ONLY.has("overview")) {
    await page.mouse.move(0, 0);
    const grid = await page.$("#grid");
    const section = await grid?.evaluateHandle((g) => g.closest("section"));
    const png = await section.asElement().screenshot({ type: "png" });
    shots.push({ file: "overview.png", png });
  }
  if (problems.length > 0) throw new Error(`the page reported problems:\n${problems.join("\n")}`);

  // Whole-factor downscaling for anything wider than MAX_WIDTH, then more until the budget holds.
  let extra = 1;
  for (;;) {
    const encoded = shots.map((s) => {
      const w = UPNG.decode(s.png).width;
      const factor = Math.max(1, Math.ceil(w / MAX_WIDTH)) * extra;
      return { ...s, ...encode(s.png, factor) };
    });
    const total = encoded.reduce((t, e) => t + e.bytes.length, 0);
    if (total <= BUDGET || extra >= 4) {
      if (total > BUDGET) throw new Error(`pictures are ${(total / 1024).toFixed(0)} KiB even at 1/${extra} scale (budget ${BUDGET / 1024} KiB)`);
      for (const e of encoded) {
        writeFileSync(join(OUT, e.file), e.bytes);
        console.log(`${join(OUT, e.file)}  ${e.width}×${e.height}  ${(e.bytes.length / 1024).toFixed(0)} KiB`);
      }
      break;
    }
    extra++;
  }
  if (!ONLY) {
    // Pictures of methods the playground no longer lists would linger: remove them.
    const keep = new Set(shots.map((s) => s.file));
    for (const f of readdirSync(OUT)) if (f.endsWith(".png") && !keep.has(f)) unlinkSync(join(OUT, f));
  }
  const total = readdirSync(OUT).reduce((t, f) => t + statSync(join(OUT, f)).size, 0);
  console.log(`${readdirSync(OUT).length} pictures, ${(total / 1024).toFixed(0)} KiB in ${OUT}`);
}

try {
  await main();
} catch (e) {
  console.error(`docs-pictures: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  await browser?.close();
  server?.kill();
  rmSync(scratch, { recursive: true, force: true });
}
