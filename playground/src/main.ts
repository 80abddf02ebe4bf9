/**
 * The poolkit playground: every pooling method in the registry, explained by a picture of what is
 * special about it. Hover an output pixel to see where it came from (window, weights), look at the
 * random draws, the gradient for a chosen upstream dy, and the one-pixel shift test of all methods.
 * Everything runs in the page through poolkit's core (no server beyond static files).
 */
import { getPool, listPools, type PoolMethod } from "../../src/registry.js";
import { Tensor, fromArray } from "../../src/tensor/tensor.js";
import { Generator } from "../../src/tensor/random.js";
import { errorText, parseOptionValue, showOptions } from "../../src/cli/invoke.js";
import { imageToTensor, sampleImage, tensorToImage, type RGBAImage } from "../../src/cli/image.js";
import * as L from "./lib.js";
import { barsCanvas, clear, colourOf, fmt, heatCanvas, imageCanvas, legend, matrixCanvas, overlayOn, scaleFor, type Scale } from "./paint.js";

/** Larger pictures are downscaled first: the TypeScript kernels run on the page's main thread. */
const MAX_SIDE = 128;
const BIG = 288; // CSS px of the main pictures
const CHANNEL_NAMES = ["R", "G", "B"];

function $<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`playground: missing element #${id}`);
  return e as T;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

function figure(content: Node, caption: string | Node, cls = ""): HTMLElement {
  return el("figure", { className: cls }, content, el("figcaption", {}, caption));
}

function panel(title: string, ...children: (Node | string)[]): HTMLElement {
  return el("div", { className: "panel" }, el("h3", { textContent: title }), ...children);
}

function note(text: string): HTMLElement {
  return el("p", { className: "about", textContent: text });
}

// ---- state ----
let image: RGBAImage = sampleImage();
let imageName = "generated sample";
const methods = listPools().filter((m) => m.dims.includes(2));
let current: PoolMethod = methods[0] as PoolMethod;
let boxes: L.Box[] = L.defaultBoxes(image.width, image.height);
/** The hovered output (item k, row i, column j), or null for the centre. */
let hovered: { k: number; i: number; j: number } | null = null;
let generation = 0; // bumps on every change; stale background work stops when it sees a newer one

function xTensor(): Tensor {
  return imageToTensor(image);
}

function seed(): number {
  const s = Number($<HTMLInputElement>("seed").value);
  return Number.isSafeInteger(s) ? s : 0;
}

function ctx(): L.CallContext {
  return { logits: $<HTMLSelectElement>("logits").value as L.LogitSource, boxes };
}

/** RGB (C = 3) tensor item k as a picture: [0, 1] shown as is, other ranges stretched. */
function rgbPicture(t: Tensor, k = 0): RGBAImage {
  const [, c, h, w] = t.shape as [number, number, number, number];
  const item = fromArray(t.data.slice(k * c * h * w, (k + 1) * c * h * w) as Float32Array, [1, c, h, w]);
  return tensorToImage(item);
}

// ---- image ----
async function loadFile(file: Blob, name: string): Promise<void> {
  const bitmap = await createImageBitmap(file);
  const s = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  // even sides: DPP pools 2×2 blocks and S3Pool's default grid is 2, both need them
  const w = Math.max(2, 2 * Math.floor((bitmap.width * s) / 2));
  const h = Math.max(2, 2 * Math.floor((bitmap.height * s) / 2));
  const c = el("canvas", { width: w, height: h });
  const g = c.getContext("2d");
  if (!g) throw new Error("no 2d canvas context");
  g.drawImage(bitmap, 0, 0, w, h);
  const d = g.getImageData(0, 0, w, h);
  image = { width: w, height: h, data: d.data };
  imageName = `${name} (${w}×${h})`;
  boxes = L.defaultBoxes(w, h);
}

// ---- method and options ----
function fillMethods(): void {
  const select = $<HTMLSelectElement>("method");
  const groups = new Map<string, HTMLOptGroupElement>();
  for (const m of methods) {
    let g = groups.get(m.category);
    if (!g) {
      g = el("optgroup", { label: m.category });
      groups.set(m.category, g);
      select.append(g);
    }
    g.append(el("option", { value: m.name, textContent: `${m.name} (${m.exports[2] ?? m.export})` }));
  }
}

function showMethod(): void {
  const m = current;
  const opts = $("options");
  opts.replaceChildren();
  $("about").replaceChildren(el("b", { textContent: m.name }), ` — ${m.summary} `, el("br"), el("i", { textContent: m.paper }));
  for (const [key, value] of Object.entries(L.startOptions(m))) {
    const input = el("input", { type: "text", value: typeof value === "string" ? value : JSON.stringify(value), id: `opt-${key}` });
    input.dataset.key = key;
    input.addEventListener("input", () => schedule("method", true));
    opts.append(el("label", { className: "pair" }, el("b", { textContent: key }), input));
  }
  if (m.trainEval) {
    const box = el("input", { type: "checkbox", checked: true, id: "opt-training" });
    box.addEventListener("change", () => schedule("method"));
    opts.append(el("label", {}, box, " training (random draws; unticked: eval behaviour)"));
  }
  $("logits-row").hidden = !m.inputs.some((i) => i.name === "logits");
  $("resample").hidden = !m.random;
  hovered = null;
}

function readOptions(m: PoolMethod): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const input of Array.from($("options").querySelectorAll<HTMLInputElement>("input[data-key]"))) {
    const v = parseOptionValue(input.value);
    if (v !== undefined) o[input.dataset.key as string] = v;
  }
  const training = document.getElementById("opt-training") as HTMLInputElement | null;
  if (m.trainEval && training && !training.checked) o.training = false;
  return o;
}

// ---- the selected method ----
interface Current {
  call: L.Call;
  vjp: ReturnType<typeof L.vjpCall>;
  draws: L.Draws | null;
}
let live: Current | null = null;

function runCurrent(): void {
  const m = current;
  const status = $("status");
  const checks = $("checks");
  const out = $("explain");
  const special = $("special");
  const grad = $("gradient");
  live = null;
  for (const e of [out, special, grad, checks]) e.replaceChildren();
  status.className = "status";
  let cur: Current;
  try {
    let call = L.prepareCall(m, xTensor(), readOptions(m), seed(), ctx());
    call = L.withFractionalSamples(call);
    const t0 = performance.now();
    const vjp = L.vjpCall(call);
    const ms = performance.now() - t0;
    cur = { call, vjp, draws: L.drawsOf(call) };
    status.textContent = `${call.op.opName}(x ${L.shapeText(call.x.shape)}${m.inputs.map((i) => `, ${i.name}`).join("")}, ${showOptions(displayOptions(call.options))}) → ${L.shapeText(vjp.output.shape)} in ${ms.toFixed(1)} ms (forward + backward ready)`;
  } catch (e) {
    status.className = "error";
    status.textContent = errorText(e);
    return;
  }
  live = cur;
  // The checks belong to this run and are redrawn with it: never a ✓ left over from an earlier one.
  try {
    const expected = m.outputShape(cur.call.x.shape, cur.call.options, 2);
    const same = expected.length === cur.vjp.output.shape.length && expected.every((v, i) => v === cur.vjp.output.shape[i]);
    const g = L.gradientCheck(cur.call);
    const ok = g.relErr < 1e-5;
    checks.textContent =
      `forward ${same ? "✓" : "✗"} output ${L.shapeText(cur.vjp.output.shape)} ${same ? "=" : "≠"} outputShape ${L.shapeText(expected)}\n` +
      `backward ${ok ? "✓" : "✗"} ⟨dx, v⟩ = ${g.ad.toPrecision(6)} vs finite difference ${g.fd.toPrecision(6)}: ${ok ? "agree" : "differ"} (rel. ${g.relErr.toExponential(1)}; random v, dy; this picture + 10⁻² noise, float64)`;
    checks.className = ok && same ? "status ok" : "error";
  } catch (e) {
    checks.className = "error";
    checks.textContent = `check failed: ${errorText(e)}`;
  }
  for (const n of cur.call.notes) special.append(note(n));
  try {
    renderExplain(cur);
  } catch (e) {
    out.append(el("p", { className: "error", textContent: `explain: ${errorText(e)}` }));
  }
  try {
    renderSpecial(cur);
  } catch (e) {
    special.append(el("p", { className: "error", textContent: `pictures: ${errorText(e)}` }));
  }
  try {
    renderGradient(cur);
  } catch (e) {
    grad.append(el("p", { className: "error", textContent: `backward: ${errorText(e)}` }));
  }
}

/** Options as typed (the fractional samples the page drew are shown as such, not as numbers). */
function displayOptions(o: Record<string, unknown>): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) d[k] = v instanceof Tensor ? `‹${L.shapeText(v.shape)} drawn from the seed›` : v;
  return d;
}

// ---- where each output came from ----
function renderExplain(cur: Current): void {
  const out = $("explain");
  const y = cur.vjp.output;
  const x = cur.call.x;
  const [, , h, w] = x.shape as [number, number, number, number];
  const xBase = imageCanvas(rgbPicture(x), BIG * Math.max(h, w) / Math.max(image.width, image.height));
  const xs = overlayOn(xBase);
  if (!L.isSpatial(y)) {
    const inspector = el("div", { className: "inspector", id: "inspector" });
    const hoverEntry = (entry: number, c: number, windows: L.Rect[], what: string): void => {
      const p = L.entryProvenance(cur.call, cur.vjp, entry, c, windows);
      drawProvenance(xs.overlay, xs.unit, p, cur);
      drawSppGrid(cur, xs.overlay, false);
      // the bin's outline again, over the pyramid's grid lines
      const g = xs.overlay.getContext("2d") as CanvasRenderingContext2D;
      g.lineWidth = 2;
      g.strokeStyle = "#ffe14d";
      for (const r of p.windows) g.strokeRect(r.x0 * xs.unit + 1, r.y0 * xs.unit + 1, (r.x1 - r.x0) * xs.unit - 2, (r.y1 - r.y0) * xs.unit - 2);
      let m = 0;
      for (let t = 0; t < p.weights.length; t++) m = Math.max(m, Math.abs(p.weights[t] as number));
      const s: Scale = { map: "diverging", lo: -(m || 1), hi: m || 1 };
      const check = p.decomposes ? `Σ w·x = ${fmt(p.sum)} = y: this entry is exactly that weighted sum.` : "Not a weighted sum of x (it is quadratic or normalised): this is where the entry is sensitive.";
      inspector.replaceChildren(
        el("h3", { textContent: `${what} = ${fmt(p.y)}` }),
        heatCanvas(p.weights, p.height, p.width, s, 200),
        legend(s, `∂y/∂x, channel ${CHANNEL_NAMES[c] ?? c}`),
        el("p", { className: "about", textContent: `Shown: ${p.label}. ${check}` }),
      );
    };
    out.append(
      el("div", { className: "row" }, figure(xs.wrap, `input x ${L.shapeText(x.shape)}`), vectorFigure(cur, hoverEntry), inspector),
      note("This method returns a vector per image, not a picture: an entry may depend on every input pixel. The pictures show what the numbers are; hover a bin or a matrix cell to see which pixels its value came from."),
    );
    drawSppGrid(cur, xs.overlay);
    return;
  }
  const [kCount, c, oh, ow] = y.shape as [number, number, number, number];
  const channelSel = $<HTMLSelectElement>("channel");
  const ch = Math.min(Number(channelSel.value) || 0, c - 1);
  const outs: { canvas: HTMLCanvasElement; overlay: HTMLCanvasElement; unit: number; k: number }[] = [];
  const outRow = el("div", { className: "row" });
  for (let k = 0; k < kCount; k++) {
    // one output shown as large as the input, so its pixels are big enough to point at
    const o = overlayOn(imageCanvas(rgbPicture(y, k), kCount > 1 ? Math.max(96, Math.min(BIG / 2, 560 / kCount)) : BIG));
    outs.push({ canvas: o.overlay, overlay: o.overlay, unit: o.unit, k });
    outRow.append(figure(o.wrap, kCount > 1 ? `RoI ${k} pooled to ${oh}×${ow}, enlarged` : `output y ${L.shapeText(y.shape)} — hover it`));
  }
  const inspector = el("div", { className: "inspector", id: "inspector" });
  out.append(el("div", { className: "row" }, figure(xs.wrap, `input x ${L.shapeText(x.shape)}${cur.call.method.inputs.some((i) => i.name === "boxes") ? " — drag the boxes" : ""}`), outRow, inspector));

  const show = (k: number, i: number, j: number): void => {
    hovered = { k, i, j };
    const p = L.provenance(cur.call, cur.vjp, k, ch, i, j, cur.draws);
    drawProvenance(xs.overlay, xs.unit, p, cur);
    for (const o of outs) {
      const g = clear(o.overlay);
      if (o.k !== k) continue;
      const pad = Math.max(0, (10 - o.unit) / 2); // at least 10 px, so a small pixel is easy to see
      g.lineWidth = 3;
      g.strokeStyle = "#fff";
      g.strokeRect(j * o.unit - pad, i * o.unit - pad, o.unit + 2 * pad, o.unit + 2 * pad);
      g.lineWidth = 1.5;
      g.strokeStyle = "#ff2d7a";
      g.strokeRect(j * o.unit - pad, i * o.unit - pad, o.unit + 2 * pad, o.unit + 2 * pad);
    }
    renderInspector(inspector, p, cur, { k, c: ch, i, j });
    if ($<HTMLSelectElement>("dy").value === "pixel") renderGradient(cur);
  };
  for (const o of outs) {
    o.overlay.dataset.role = "output";
    o.overlay.addEventListener("mousemove", (ev) => {
      const r = o.overlay.getBoundingClientRect();
      const j = Math.min(ow - 1, Math.max(0, Math.floor(((ev.clientX - r.left) / r.width) * ow)));
      const i = Math.min(oh - 1, Math.max(0, Math.floor(((ev.clientY - r.top) / r.height) * oh)));
      if (hovered && hovered.k === o.k && hovered.i === i && hovered.j === j) return;
      show(o.k, i, j);
    });
  }
  const start = hovered && hovered.k < kCount && hovered.i < oh && hovered.j < ow ? hovered : defaultPixel(cur, oh, ow);
  show(start.k, start.i, start.j);
  if (cur.call.method.inputs.some((i) => i.name === "boxes")) enableBoxDrag(xs.overlay, xs.unit);
}

/**
 * The output pixel shown before any hover: one whose input neighbourhood has the most contrast (a
 * flat patch shows nothing but uniform weights), nearest the centre on ties; for MaxUnpool a pixel a
 * maximum landed on.
 */
function defaultPixel(cur: Current, oh: number, ow: number): { k: number; i: number; j: number } {
  const ci = Math.floor(oh / 2);
  const cj = Math.floor(ow / 2);
  const [, cs, h, w] = cur.call.x.shape as [number, number, number, number];
  const x = cur.call.x.data;
  const yd = cur.vjp.output.data;
  const unpool = cur.call.op.opName === "maxUnpool2d";
  let best = { i: ci, j: cj, score: -Infinity };
  if ((cur.vjp.output.shape[0] as number) > 1) return { k: 0, i: ci, j: cj };
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      if (unpool && yd[i * ow + j] === 0) continue;
      // the input cell this output covers (its window, for non-overlapping ones)
      const a0 = Math.floor((i * h) / oh);
      const a1 = Math.min(h - 1, Math.max(a0 + 1, Math.ceil(((i + 1) * h) / oh) - 1));
      const b0 = Math.floor((j * w) / ow);
      const b1 = Math.min(w - 1, Math.max(b0 + 1, Math.ceil(((j + 1) * w) / ow) - 1));
      let lo = Infinity;
      let hi = -Infinity;
      for (let a = a0; a <= a1; a++) {
        for (let b = b0; b <= b1; b++) {
          let v = 0;
          for (let c = 0; c < cs; c++) v += x[(c * h + a) * w + b] as number;
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
      const score = hi - lo - (0.5 * Math.hypot(i - ci, j - cj)) / Math.max(oh, ow);
      if (score > best.score) best = { i, j, score };
    }
  }
  return { k: 0, i: best.i, j: best.j };
}

function drawProvenance(overlay: HTMLCanvasElement, unit: number, p: L.Provenance, cur: Current): void {
  const g = clear(overlay);
  // dim everything, then light up the pixels by weight
  g.fillStyle = "rgba(10, 14, 30, 0.45)";
  g.fillRect(0, 0, overlay.width, overlay.height);
  let m = 0;
  for (let t = 0; t < p.weights.length; t++) m = Math.max(m, Math.abs(p.weights[t] as number));
  const s: Scale = { map: "diverging", lo: -(m || 1), hi: m || 1 };
  for (let t = 0; t < p.weights.length; t++) {
    const v = p.weights[t] as number;
    if (v === 0) continue;
    const i = Math.floor(t / p.width);
    const j = t % p.width;
    g.clearRect(j * unit, i * unit, unit, unit);
    const [r, gg, b] = colourOf(s, v);
    g.fillStyle = `rgba(${r | 0},${gg | 0},${b | 0},${0.25 + 0.5 * Math.min(1, Math.abs(v) / (m || 1))})`;
    g.fillRect(j * unit, i * unit, unit, unit);
  }
  g.lineWidth = 2;
  g.strokeStyle = "#ffe14d";
  for (const r of p.windows) g.strokeRect(r.x0 * unit + 1, r.y0 * unit + 1, (r.x1 - r.x0) * unit - 2, (r.y1 - r.y0) * unit - 2);
  if (p.picked !== undefined) {
    const i = Math.floor(p.picked / p.width);
    const j = p.picked % p.width;
    g.strokeStyle = "#ff2d7a";
    g.lineWidth = 3;
    g.beginPath();
    g.arc((j + 0.5) * unit, (i + 0.5) * unit, Math.max(unit * 0.8, 5), 0, 2 * Math.PI);
    g.stroke();
  }
  if (cur.call.method.inputs.some((i) => i.name === "boxes")) drawBoxes(g, unit);
  if (cur.draws?.fractional) drawGridLines(g, unit, cur.draws);
  // a halo around the window, so a small one is easy to find on the picture
  const r0 = p.windows[0];
  if (r0 && (r0.x1 - r0.x0) * unit < overlay.width / 3) {
    g.strokeStyle = "rgba(255, 225, 77, 0.8)";
    g.lineWidth = 2;
    g.beginPath();
    const cx = ((r0.x0 + r0.x1) / 2) * unit;
    const cy = ((r0.y0 + r0.y1) / 2) * unit;
    g.arc(cx, cy, Math.max(r0.x1 - r0.x0, r0.y1 - r0.y0) * unit * 0.75 + 12, 0, 2 * Math.PI);
    g.stroke();
  }
}

/** The hovered window enlarged: every input pixel of it with its colour and the weight it got. */
function renderInspector(box: HTMLElement, p: L.Provenance, cur: Current, at: { k: number; c: number; i: number; j: number }): void {
  box.replaceChildren();
  const win = p.windows[0];
  const cname = CHANNEL_NAMES[at.c] ?? String(at.c);
  box.append(el("h3", { textContent: `output ${cname}[${at.i}, ${at.j}]${cur.vjp.output.shape[0] !== 1 ? ` of RoI ${at.k}` : ""} = ${fmt(p.y)}` }));
  if (win && (win.y1 - win.y0) * (win.x1 - win.x0) <= 144) {
    const rows = win.y1 - win.y0;
    const cols = win.x1 - win.x0;
    const cell = Math.max(22, Math.min(46, Math.floor(230 / Math.max(rows, cols))));
    const c = el("canvas", { width: cols * cell, height: rows * cell, className: "zoom" });
    const g = c.getContext("2d");
    const [, cs, h, w] = cur.call.x.shape as [number, number, number, number];
    const xk = cur.call.x.shape[0] === 1 ? 0 : at.k;
    if (g) {
      g.font = `${Math.max(9, Math.floor(cell / 3.6))}px ui-monospace, monospace`;
      g.textAlign = "center";
      g.textBaseline = "middle";
      for (let a = 0; a < rows; a++) {
        for (let b = 0; b < cols; b++) {
          const yy = win.y0 + a;
          const xx = win.x0 + b;
          const rgb = [0, 1, 2].map((q) => (q < cs ? Math.round(255 * Math.min(1, Math.max(0, cur.call.x.data[((xk * cs + q) * h + yy) * w + xx] as number))) : 0));
          g.fillStyle = `rgb(${rgb.join(",")})`;
          g.fillRect(b * cell, a * cell, cell, cell);
          const wt = p.weights[yy * w + xx] as number;
          g.strokeStyle = wt !== 0 ? "#ffe14d" : "#556";
          g.lineWidth = wt !== 0 ? 1 + 3 * Math.min(1, Math.abs(wt) / Math.max(...Array.from(p.weights, Math.abs))) : 1;
          g.strokeRect(b * cell + 1, a * cell + 1, cell - 2, cell - 2);
          if (p.picked === yy * w + xx) {
            g.strokeStyle = "#ff2d7a";
            g.lineWidth = 3;
            g.beginPath();
            g.arc((b + 0.5) * cell, (a + 0.5) * cell, cell * 0.42, 0, 2 * Math.PI);
            g.stroke();
          }
          const light = 0.299 * (rgb[0] as number) + 0.587 * (rgb[1] as number) + 0.114 * (rgb[2] as number) > 140;
          g.fillStyle = light ? "#000" : "#fff";
          g.strokeStyle = light ? "rgba(255,255,255,0.8)" : "rgba(0,0,0,0.8)";
          g.lineWidth = 3;
          g.lineJoin = "round";
          const text = wt === 0 ? "·" : wt.toFixed(Math.abs(wt) >= 0.1 ? 2 : 3).replace(/^0\./, ".").replace(/^-0\./, "−.");
          g.strokeText(text, (b + 0.5) * cell, (a + 0.5) * cell);
          g.fillText(text, (b + 0.5) * cell, (a + 0.5) * cell);
        }
      }
    }
    box.append(c, el("p", { className: "about", textContent: `window rows ${win.y0}–${win.y1 - 1}, columns ${win.x0}–${win.x1 - 1} of channel ${cname}; each cell: the pixel and its weight (· = 0).` }));
  } else {
    let m = 0;
    for (let t = 0; t < p.weights.length; t++) m = Math.max(m, Math.abs(p.weights[t] as number));
    const s: Scale = { map: "diverging", lo: -(m || 1), hi: m || 1 };
    box.append(heatCanvas(p.weights, p.height, p.width, s, 200), legend(s, "weight per input pixel"));
  }
  const check = p.decomposes
    ? `Σ w·x = ${fmt(p.sum)} = y: the output is exactly this weighted sum.`
    : Number.isNaN(p.sum)
      ? ""
      : `Σ w·x = ${fmt(p.sum)} ≠ y = ${fmt(p.y)}: not a weighted average in x (the weights move with x), so this is a sensitivity map.`;
  box.append(el("p", { className: "about", textContent: `Shown: ${p.label}. ${check}` }));
}

// ---- RoIs: drawn and draggable ----
function drawBoxes(g: CanvasRenderingContext2D, unit: number): void {
  g.lineWidth = 2;
  boxes.forEach((b, k) => {
    g.strokeStyle = k === (hovered?.k ?? 0) ? "#ff2d7a" : "#7df9ff";
    g.strokeRect(b.x1 * unit, b.y1 * unit, (b.x2 - b.x1) * unit, (b.y2 - b.y1) * unit);
    g.fillStyle = g.strokeStyle;
    g.font = "12px system-ui";
    g.fillText(`RoI ${k}`, b.x1 * unit + 3, b.y1 * unit + 13);
    g.fillRect(b.x2 * unit - 5, b.y2 * unit - 5, 8, 8); // the resize handle
  });
}

function enableBoxDrag(overlay: HTMLCanvasElement, unit: number): void {
  let drag: { k: number; mode: "move" | "resize"; x: number; y: number; orig: L.Box } | null = null;
  overlay.style.cursor = "move";
  const at = (ev: MouseEvent): { x: number; y: number } => {
    const r = overlay.getBoundingClientRect();
    return { x: ((ev.clientX - r.left) / r.width) * (overlay.width / unit), y: ((ev.clientY - r.top) / r.height) * (overlay.height / unit) };
  };
  overlay.addEventListener("mousedown", (ev) => {
    const p = at(ev);
    for (let k = boxes.length - 1; k >= 0; k--) {
      const b = boxes[k] as L.Box;
      const near = Math.abs(p.x - b.x2) < 3 && Math.abs(p.y - b.y2) < 3;
      if (near || (p.x >= b.x1 && p.x <= b.x2 && p.y >= b.y1 && p.y <= b.y2)) {
        drag = { k, mode: near ? "resize" : "move", x: p.x, y: p.y, orig: { ...b } };
        ev.preventDefault();
        return;
      }
    }
  });
  const drop = (): void => {
    if (drag) {
      drag = null;
      schedule("method");
    }
  };
  overlay.addEventListener("mouseup", drop);
  overlay.addEventListener("mouseleave", drop);
  overlay.addEventListener("mousemove", (ev) => {
    if (!drag) return;
    const p = at(ev);
    const dx = Math.round(p.x - drag.x);
    const dy = Math.round(p.y - drag.y);
    const o = drag.orig;
    const W = image.width - 1;
    const H = image.height - 1;
    let b: L.Box;
    if (drag.mode === "move") {
      const mx = Math.min(Math.max(dx, -o.x1), W - o.x2);
      const my = Math.min(Math.max(dy, -o.y1), H - o.y2);
      b = { x1: o.x1 + mx, y1: o.y1 + my, x2: o.x2 + mx, y2: o.y2 + my };
    } else {
      b = { ...o, x2: Math.min(W, Math.max(o.x1 + 2, o.x2 + dx)), y2: Math.min(H, Math.max(o.y1 + 2, o.y2 + dy)) };
    }
    boxes[drag.k] = b;
    const g = clear(overlay);
    drawBoxes(g, unit);
  });
}

// ---- the random draws, grids and other method-specific pictures ----
function drawGridLines(g: CanvasRenderingContext2D, unit: number, d: L.Draws): void {
  g.save();
  g.globalAlpha = 0.5;
  g.lineWidth = 1;
  if (d.fractional) {
    g.strokeStyle = "#7df9ff";
    const f = d.fractional;
    for (const r of f.rowStarts) {
      g.beginPath();
      g.moveTo(0, r * unit);
      g.lineTo(g.canvas.width, r * unit);
      g.stroke();
    }
    for (const c of f.colStarts) {
      g.beginPath();
      g.moveTo(c * unit, 0);
      g.lineTo(c * unit, g.canvas.height);
      g.stroke();
    }
  }
  g.restore();
}

type EntryHover = (entry: number, c: number, windows: L.Rect[], what: string) => void;

/** Grid cell (i, j) under the mouse on a canvas of `rows × cols` cells after `pad` CSS px of labels. */
function cellAt(c: HTMLCanvasElement, ev: MouseEvent, rows: number, cols: number, pad = 0): [number, number] | null {
  const r = c.getBoundingClientRect();
  const sx = c.width / r.width;
  const px = (ev.clientX - r.left) * sx - pad;
  const py = (ev.clientY - r.top) * sx - pad;
  const i = Math.floor((py / (c.height - pad)) * rows);
  const j = Math.floor((px / (c.width - pad)) * cols);
  return i >= 0 && j >= 0 && i < rows && j < cols ? [i, j] : null;
}

function vectorFigure(cur: Current, hover: EntryHover): HTMLElement {
  const pic = L.vectorPicture(cur.call, cur.vjp.output);
  const y = cur.vjp.output;
  const channel = (): number => Math.min(Number($<HTMLSelectElement>("channel").value) || 0, (cur.call.x.shape[1] as number) - 1);
  if (pic.kind === "matrix") {
    const s = scaleFor(pic.values);
    const cell = Math.max(14, Math.min(64, Math.floor(220 / Math.max(pic.rows, pic.cols))));
    const labels = pic.rows === 3 ? CHANNEL_NAMES : undefined;
    const m = matrixCanvas(pic.values, pic.rows, pic.cols, s, cell, labels);
    const pad = m.width - pic.cols * cell;
    const c = pic.rows;
    const at = (i: number, j: number): void => hover(L.matrixEntry(cur.call, c, i, j), i, [], `entry (${CHANNEL_NAMES[i] ?? i}, ${CHANNEL_NAMES[j] ?? j})`);
    m.addEventListener("mousemove", (ev) => {
      const ij = cellAt(m, ev, pic.rows, pic.cols, pad);
      if (ij) at(ij[0], ij[1]);
    });
    at(0, Math.min(1, c - 1));
    return figure(el("div", {}, m, legend(s, "value")), `output ${L.shapeText(y.shape)}: ${pic.title} — hover a cell (the map shows the row's channel)`);
  }
  if (pic.kind === "pyramid") {
    const row = el("div", { className: "row" });
    pic.levels.forEach((lv, level) => {
      const t = fromArray(Float32Array.from(lv.values), [1, lv.channels, lv.n, lv.n]);
      const canvas = imageCanvas(tensorToImage(t), 96);
      const at = (i: number, j: number): void => {
        const { entry, bin } = L.sppEntry(cur.call, level, channel(), i, j);
        hover(entry, channel(), [bin], `level ${lv.n}×${lv.n}, bin (${i}, ${j}), channel ${CHANNEL_NAMES[channel()] ?? channel()}`);
      };
      canvas.addEventListener("mousemove", (ev) => {
        const ij = cellAt(canvas, ev, lv.n, lv.n);
        if (ij) at(ij[0], ij[1]);
      });
      canvas.style.cursor = "crosshair";
      if (level === 0) queueMicrotask(() => at(Math.min(1, lv.n - 1), Math.min(1, lv.n - 1)));
      // not a nested <figure>: a 1×1 level is one colour by design, and is looked at as part of the pyramid
      row.append(el("div", { className: "sub" }, canvas, el("div", { className: "cap", textContent: `${lv.n}×${lv.n} bins` })));
    });
    return figure(row, `output ${L.shapeText(y.shape)}: each pyramid level's bins (${String(cur.call.options.mode ?? "max")}), drawn as a picture; the input shows the bins`);
  }
  // bars: hover one to see where its value came from (entry e; the map shows the channel to inspect,
  // or for one value per channel that channel)
  const hoverBars = (b: HTMLCanvasElement, perChannel: boolean): HTMLCanvasElement => {
    const n = pic.values.length;
    const at = (e: number): void => hover(e, perChannel ? Math.min(e, 2) : channel(), [], perChannel ? `output ${CHANNEL_NAMES[e] ?? e}` : `entry ${e}`);
    b.addEventListener("mousemove", (ev) => {
      const ij = cellAt(b, ev, 1, n);
      if (ij) at(ij[1]);
    });
    b.style.cursor = "crosshair";
    let big = 0;
    for (let t = 1; t < n; t++) if (Math.abs(pic.values[t] as number) > Math.abs(pic.values[big] as number)) big = t;
    at(big);
    return b;
  };
  if (pic.kind === "swatch") {
    const t = fromArray(Float32Array.from(pic.values), [1, 3, 1, 1]);
    return figure(el("div", {}, imageCanvas(tensorToImage(t), 96), hoverBars(barsCanvas(pic.values, 96, 40), true)), `output ${L.shapeText(y.shape)}: one value per channel = this colour (R, G, B bars: ${Array.from(pic.values, fmt).join(", ")}) — hover a bar`);
  }
  return figure(hoverBars(barsCanvas(pic.values, Math.min(360, Math.max(120, pic.values.length * 6)), 90), false), `output ${L.shapeText(y.shape)}: ${pic.values.length} values as bars (range ${fmt(Math.min(...pic.values))} … ${fmt(Math.max(...pic.values))}) — hover a bar`);
}

function drawSppGrid(cur: Current, overlay: HTMLCanvasElement, clearFirst = true): void {
  const pic = L.vectorPicture(cur.call, cur.vjp.output);
  if (pic.kind !== "pyramid") return;
  const g = clearFirst ? clear(overlay) : (overlay.getContext("2d") as CanvasRenderingContext2D);
  g.save();
  g.globalAlpha = clearFirst ? 1 : 0.55;
  const colours = ["#ffe14d", "#7df9ff", "#ff2d7a", "#9dff7d"];
  pic.levels.forEach((lv, t) => {
    g.strokeStyle = colours[t % colours.length] as string;
    g.lineWidth = 1 + (pic.levels.length - t);
    // adaptive bins: start = ⌊i·H/n⌋ (PyTorch's adaptive pooling, which SPP uses)
    for (let i = 0; i <= lv.n; i++) {
      const y = Math.floor((i * image.height) / lv.n) * (overlay.height / image.height);
      const x = Math.floor((i * image.width) / lv.n) * (overlay.width / image.width);
      g.beginPath();
      g.moveTo(0, y);
      g.lineTo(overlay.width, y);
      g.moveTo(x, 0);
      g.lineTo(x, overlay.height);
      g.stroke();
    }
  });
  g.restore();
}

function renderSpecial(cur: Current): void {
  const box = $("special");
  const m = cur.call.method;
  const name = cur.call.op.opName;
  const row = el("div", { className: "row" });
  box.append(row);
  const d = cur.draws;
  if (d?.lambdas) {
    const lam = d.lambdas;
    if (lam.values.length === cur.vjp.output.size) {
      const [, c, h, w] = cur.vjp.output.shape as [number, number, number, number];
      for (let ch = 0; ch < c; ch++) {
        const s: Scale = { map: "sequential", lo: 0, hi: 1 };
        row.append(figure(heatCanvas(Array.from(lam.values.subarray(ch * h * w, (ch + 1) * h * w)), h, w, s, 128), `λ map ${CHANNEL_NAMES[ch] ?? ch}: yellow = max, purple = avg`));
      }
    } else {
      const chips = el("div", { className: "chips" });
      Array.from(lam.values).forEach((v, t) => chips.append(el("span", { className: v ? "chip max" : "chip avg", textContent: `${lam.values.length === 3 ? CHANNEL_NAMES[t] : `#${t}`}: ${v ? "max" : "avg"}` })));
      row.append(figure(chips, `the draw: λ ${L.shapeText(lam.shape)} (granularity "${String(cur.call.options.granularity ?? "channel")}"; set it to "window" for a λ per output pixel)`));
    }
  }
  if (d?.stochastic) {
    const [, c, oh, ow] = cur.vjp.output.shape as [number, number, number, number];
    const [, , h, w] = cur.call.x.shape as [number, number, number, number];
    const ch = Math.min(Number($<HTMLSelectElement>("channel").value) || 0, c - 1);
    const o = overlayOn(imageCanvas(rgbPicture(cur.call.x), BIG));
    const g = clear(o.overlay);
    g.fillStyle = "#ff2d7a";
    for (let t = 0; t < oh * ow; t++) {
      const idx = d.stochastic[ch * oh * ow + t] as number;
      g.fillRect((idx % w) * o.unit + o.unit / 4, Math.floor(idx / w) * o.unit + o.unit / 4, o.unit / 2, o.unit / 2);
    }
    row.append(figure(o.wrap, `the draw: the pixel each window sampled (channel ${CHANNEL_NAMES[ch]}; probability ∝ value), ${oh * ow} picks over ${h}×${w}`));
  }
  if (d?.s3) {
    const [, , h, w] = cur.call.x.shape as [number, number, number, number];
    const o = overlayOn(imageCanvas(rgbPicture(cur.call.x), BIG));
    const g = clear(o.overlay);
    g.fillStyle = "rgba(255, 45, 122, 0.35)";
    for (const r of d.s3.rows) g.fillRect(0, r * o.unit, o.overlay.width, o.unit);
    g.fillStyle = "rgba(125, 249, 255, 0.35)";
    for (const c of d.s3.cols) g.fillRect(c * o.unit, 0, o.unit, o.overlay.height);
    row.append(figure(o.wrap, `the draw: kept rows (pink) and columns (cyan) of the ${h - d.s3.kernel + 1}×${w - d.s3.kernel + 1} stride-1 max-pooled map; y = m[rows][cols]`));
  }
  if (d?.fractional) {
    const f = d.fractional;
    const o = overlayOn(imageCanvas(rgbPicture(cur.call.x), BIG));
    const g = clear(o.overlay);
    g.strokeStyle = "#ffe14d";
    for (const r of f.rowStarts) {
      g.beginPath();
      g.moveTo(0, r * o.unit);
      g.lineTo(o.overlay.width, r * o.unit);
      g.stroke();
    }
    for (const c of f.colStarts) {
      g.beginPath();
      g.moveTo(c * o.unit, 0);
      g.lineTo(c * o.unit, o.overlay.height);
      g.stroke();
    }
    const steps = (s: Int32Array): string => Array.from(s.subarray(1, 13), (v, i) => v - (s[i] as number)).join(" ");
    row.append(figure(o.wrap, `the draw: window starts (u = ${fmt(f.samples.data[0] as number)}, ${fmt(f.samples.data[1] as number)}); steps between rows ${steps(f.rowStarts)} … — a mix of 1s and 2s gives the fractional ratio`));
  }
  if (m.trainEval) {
    const training = cur.call.options.training !== false;
    const other = L.runCall(L.withOptions(cur.call, { training: !training }));
    const mine = cur.vjp.output;
    const [tr, ev] = training ? [mine, other] : [other, mine];
    row.append(
      figure(imageCanvas(rgbPicture(tr), 160), "training (this seed's draw)"),
      figure(imageCanvas(rgbPicture(ev), 160), "eval (training: false, deterministic)"),
    );
  }
  if (name === "localImportancePool2d") {
    const logits = cur.call.extras.get("logits") as Tensor;
    const [, , h, w] = logits.shape as [number, number, number, number];
    const ch = Math.min(Number($<HTMLSelectElement>("channel").value) || 0, 2);
    const plane = Array.from(logits.data.subarray(ch * h * w, (ch + 1) * h * w));
    const s = scaleFor(plane);
    row.append(figure(el("div", {}, heatCanvas(plane, h, w, s, BIG * 0.75), legend(s, "logit L (weight ∝ e^L)")), `importance logits, channel ${CHANNEL_NAMES[ch]}: where LIP looks`));
  }
  if (name === "maxUnpool2d") {
    const y = cur.vjp.output;
    row.append(
      figure(imageCanvas(rgbPicture(xTensor()), 160), `picture ${image.width}×${image.height}`),
      figure(imageCanvas(rgbPicture(cur.call.x), 160), `maxPool2d → ${L.shapeText(cur.call.x.shape.slice(2))}`),
      figure(imageCanvas(rgbPicture(y), 160), `maxUnpool2d → ${L.shapeText(y.shape.slice(2))}: maxima back in place, zeros elsewhere`),
    );
  }
  if (name === "compactBilinearPool") {
    const k = L.compactKernel(xTensor(), cur.call.options);
    const s = scaleFor([...k.exact, ...k.estimate]);
    const cell = 12;
    row.append(
      figure(matrixCanvas(k.exact, k.n, k.n, s, cell), "exact bilinear kernel ⟨B(Pᵢ), B(Pⱼ)⟩"),
      figure(matrixCanvas(k.estimate, k.n, k.n, s, cell), `compact estimate ⟨Φ(Pᵢ), Φ(Pⱼ)⟩, d = ${String(cur.call.options.outputDim)}`),
      el("div", {}, legend(s, "kernel value"), note(`over the 16 patches of a 4×4 grid of the picture, without signed √ / L2; relative error ‖K̂ − K‖/‖K‖ = ${(100 * k.relErr).toFixed(1)} % (shrinks as outputDim grows).`)),
    );
  }
  if (row.childElementCount === 0) row.remove();
  ($("special").parentElement as HTMLElement).hidden = box.childElementCount === 0;
}

// ---- gradients ----
function upstream(cur: Current): { dy: Tensor; text: string } {
  const y = cur.vjp.output;
  const kind = $<HTMLSelectElement>("dy").value;
  if (kind === "pixel" && L.isSpatial(y)) {
    const h = hovered ?? { k: 0, i: Math.floor((y.shape[2] as number) / 2), j: Math.floor((y.shape[3] as number) / 2) };
    const c = Math.min(Number($<HTMLSelectElement>("channel").value) || 0, (y.shape[1] as number) - 1);
    return { dy: L.oneHot(y.shape, h.k, c, h.i, h.j), text: `dy = one-hot at output ${CHANNEL_NAMES[c]}[${h.i}, ${h.j}] (hover to move it)` };
  }
  if (kind === "random") {
    const g = new Generator(seed() + 11);
    return { dy: fromArray(Float32Array.from({ length: y.size }, () => g.normal()), y.shape), text: "dy = N(0, 1) noise (seeded)" };
  }
  if (kind === "pixel") {
    // a vector output has no pixels: its largest entry stands in for one
    let t = 0;
    for (let q = 1; q < y.size; q++) if (Math.abs(y.data[q] as number) > Math.abs(y.data[t] as number)) t = q;
    const d = new Float32Array(y.size);
    d[t] = 1;
    return { dy: fromArray(d, y.shape), text: `dy = one-hot at output entry ${t}, the largest in magnitude (${fmt(y.data[t] as number)})` };
  }
  return { dy: fromArray(new Float32Array(y.size).fill(1), y.shape), text: "dy = ones: dx = ∂(Σ y)/∂x, how much each input pixel contributes to all outputs" };
}

function renderGradient(cur: Current): void {
  const box = $("gradient");
  box.replaceChildren();
  const { dy, text } = upstream(cur);
  const dx = cur.vjp.backward(dy)[0];
  if (!dx) throw new Error("no gradient for x");
  const [, c, h, w] = dx.shape as [number, number, number, number];
  const s = scaleFor(dx.data, true);
  const row = el("div", { className: "row" });
  for (let ch = 0; ch < c; ch++) {
    row.append(figure(heatCanvas(dx.data.subarray(ch * h * w, (ch + 1) * h * w), h, w, s, 200), `dx ${CHANNEL_NAMES[ch] ?? ch}`));
  }
  box.append(note(`${text}. Blue = negative, white = 0, red = positive, one scale for all channels.`), row, legend(s, "∂L/∂x with L = ⟨dy, y⟩", 240));
}

// ---- every method: the grid and the shift test ----
const yieldToPage = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function thumbnail(call: L.Call, y: Tensor): HTMLElement {
  if (L.isSpatial(y)) {
    if ((y.shape[0] as number) > 1) {
      const row = el("div", { className: "row tight" });
      for (let k = 0; k < (y.shape[0] as number); k++) row.append(imageCanvas(rgbPicture(y, k), 62));
      return row;
    }
    return imageCanvas(rgbPicture(y), 128);
  }
  const pic = L.vectorPicture(call, y);
  if (pic.kind === "matrix") return matrixCanvas(pic.values, pic.rows, pic.cols, scaleFor(pic.values), Math.floor(120 / Math.max(pic.rows, pic.cols)));
  if (pic.kind === "swatch") return el("div", {}, imageCanvas(tensorToImage(fromArray(Float32Array.from(pic.values), [1, 3, 1, 1])), 64), barsCanvas(pic.values, 64, 30));
  if (pic.kind === "pyramid") {
    const row = el("div", { className: "row tight" });
    for (const lv of pic.levels) row.append(imageCanvas(tensorToImage(fromArray(Float32Array.from(lv.values), [1, lv.channels, lv.n, lv.n])), 40));
    return row;
  }
  return barsCanvas(pic.values, 128, 64);
}

async function runGrids(gen: number): Promise<void> {
  const grid = $("grid");
  const shift = $("shift");
  grid.replaceChildren();
  shift.replaceChildren();
  const x = xTensor();
  const xs = L.shiftRight(x, 1);
  const results: { m: PoolMethod; y0?: Tensor; y1?: Tensor; call?: L.Call; err?: string }[] = [];
  for (const m of methods) {
    await yieldToPage();
    if (gen !== generation) return;
    let fig: HTMLElement;
    try {
      const call = L.withFractionalSamples(L.prepareCall(m, x, L.startOptions(m), seed(), ctx()));
      const t0 = performance.now();
      const y0 = L.runCall(call);
      const ms = performance.now() - t0;
      const shifted = L.withFractionalSamples(L.prepareCall(m, xs, L.startOptions(m), seed(), ctx()));
      const y1 = L.runCall(shifted);
      results.push({ m, y0, y1, call });
      fig = figure(thumbnail(call, y0), `${m.name} → ${L.shapeText(y0.shape.slice(1))}, ${ms.toFixed(0)} ms`);
    } catch (e) {
      results.push({ m, err: errorText(e) });
      fig = figure(el("div", { className: "msg error", textContent: errorText(e) }), `${m.name}: failed`);
    }
    fig.title = m.summary;
    fig.dataset.method = m.name;
    fig.addEventListener("click", () => selectMethod(m.name));
    grid.append(fig);
  }
  // The shift test: one common scale for every method's |f(shifted) − f(x)|.
  const diffs = results.map((r) => (r.y0 && r.y1 ? L.shiftDifference(r.y0, r.y1) : null));
  let hi = 0;
  for (const d of diffs) if (d?.map) for (const v of d.map) hi = Math.max(hi, v);
  const s: Scale = { map: "sequential", lo: 0, hi: hi || 1 };
  const maxRel = Math.max(...diffs.map((d) => d?.rel ?? 0), 1e-9);
  results.forEach((r, t) => {
    const d = diffs[t];
    let node: HTMLElement;
    if (!d) node = el("div", { className: "msg error", textContent: r.err ?? "" });
    else if (d.map) node = heatCanvas(d.map, d.h, d.w, s, 110);
    else if (r.y0 && r.y1) {
      // a vector output: its entries' change, as bars
      const n = Math.min(r.y0.size, r.y1.size, 256);
      node = barsCanvas(Array.from({ length: n }, (_, t) => (r.y1?.data[t] as number) - (r.y0?.data[t] as number)), 110, 60);
      node.title = "Δ of each output entry";
    } else node = el("div", { className: "msg", textContent: "no output" });
    const fill = el("span");
    fill.style.width = `${Math.round((100 * (d?.rel ?? 0)) / maxRel)}%`;
    const bar = el("div", { className: "relbar" }, fill);
    const fig = figure(el("div", {}, node, bar), `${r.m.name}: ${d ? `${(100 * d.rel).toFixed(1)} % change` : "failed"}`);
    fig.dataset.method = r.m.name;
    shift.append(fig);
  });
  shift.prepend(el("div", { className: "shift-legend" }, legend(s, "|f(shifted x) − f(x)|, mean over channels — one scale for all"), note("The picture moved right by one pixel (edge column repeated). A shift-equivariant method's output would just move; strided max-type pooling aliases instead, and the change spreads over the whole output. Bars: ‖Δy‖/‖y‖, relative to the largest.")));
  document.body.dataset.ready = String(gen);
}

// ---- wiring ----
let pending: number | undefined;
let pendingAll = false;
/** Recompute after any change: the selected method at once (debounced), the grids when the picture or seed changed. */
function schedule(what: "method" | "all", typing = false): void {
  if (what === "all") pendingAll = true;
  if (pending !== undefined) clearTimeout(pending);
  delete document.body.dataset.ready; // a test (or a person) can wait for the new state
  pending = window.setTimeout(() => {
    pending = undefined;
    generation++;
    runCurrent();
    if (pendingAll) {
      pendingAll = false;
      showInputCaption();
      void runGrids(generation);
    } else document.body.dataset.ready = String(generation);
  }, typing ? 150 : 0); // wait for a pause in typing; clicks and choices recompute at once
}

function showInputCaption(): void {
  $("input-cap").textContent = `${imageName}: x = [1, 3, ${image.height}, ${image.width}]`;
}

function selectMethod(name: string): void {
  const m = methods.find((t) => t.name === name);
  if (!m) return;
  current = m;
  $<HTMLSelectElement>("method").value = name;
  const keep = /image=[^&]+/.exec(location.hash)?.[0];
  history.replaceState(null, "", `#method=${encodeURIComponent(name)}${keep ? `&${keep}` : ""}`);
  showMethod();
  schedule("method");
  document.getElementById("explain-section")?.scrollIntoView({ block: "nearest" });
}

function useImage(loading: Promise<void>, what: string): void {
  loading.then(
    () => schedule("all"),
    (err: unknown) => {
      $("status").className = "error";
      $("status").textContent = `could not read ${what}: ${errorText(err)}`;
    },
  );
}

function start(): void {
  $("maxside").textContent = String(MAX_SIDE);
  fillMethods();
  const logits = $<HTMLSelectElement>("logits");
  for (const s of L.LOGIT_SOURCES) logits.append(el("option", { value: s.value, textContent: s.label }));
  // A link can pick the method by any name getPool accepts: index.html#method=soft-pool
  const wanted = /method=([^&]+)/.exec(location.hash)?.[1];
  if (wanted) {
    try {
      const m = getPool(decodeURIComponent(wanted));
      if (methods.includes(m)) current = m;
    } catch {
      // an unknown name in a link: keep the first method
    }
  }
  $<HTMLSelectElement>("method").value = current.name;
  showMethod();
  $<HTMLSelectElement>("method").addEventListener("change", (e) => selectMethod((e.target as HTMLSelectElement).value));
  for (const id of ["logits", "channel"]) $(id).addEventListener("change", () => schedule(id === "logits" ? "all" : "method"));
  $("dy").addEventListener("change", () => schedule("method"));
  $("seed").addEventListener("input", () => schedule("all", true));
  $("resample").addEventListener("click", () => {
    const s = $<HTMLInputElement>("seed");
    s.value = String(seed() + 1);
    schedule("all");
  });
  $("reset").addEventListener("click", () => {
    showMethod();
    schedule("method");
  });
  $<HTMLInputElement>("file").addEventListener("change", (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) useImage(loadFile(file, file.name), file.name);
  });
  $("sample").addEventListener("click", () => {
    image = sampleImage();
    imageName = "generated sample";
    boxes = L.defaultBoxes(image.width, image.height);
    schedule("all");
  });
  const imageUrl = /image=([^&]+)/.exec(location.hash)?.[1];
  if (imageUrl) {
    const url = decodeURIComponent(imageUrl);
    useImage(
      fetch(url)
        .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(`HTTP ${r.status}`))))
        .then((blob) => loadFile(blob, url)),
      url,
    );
  } else schedule("all");
}

start();
