/**
 * The poolkit playground: pick a method from the registry, set its options, and see the input and
 * the pooled output per channel, plus a grid of every method on the same image. Everything runs in
 * the page through poolkit's core (no server beyond static files).
 */
import { getPool, listPools, type PoolMethod } from "../../src/registry.js";
import { show } from "../../src/errors.js";
import { full, type Tensor } from "../../src/tensor/tensor.js";
import { errorText, mergeOptions, parseOptionValue, runMethod, showOptions, vjpMethod } from "../../src/cli/invoke.js";
import { channelImages, imagePlanes, imageToTensor, sampleImage, tensorToImage, type RGBAImage } from "../../src/cli/image.js";
import { checkMethod } from "../../src/cli/demo.js";

/** Larger pictures are downscaled first: the TypeScript kernels run on the page's main thread. */
const MAX_SIDE = 128;
const CHANNEL_NAMES = ["R", "G", "B"];

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: missing element #${id}`);
  return el as T;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

/** Pictures are shown at VIEW_SIDE px on their longer side, pixelated, keeping their aspect ratio. */
const VIEW_SIDE = 128;

function draw(c: HTMLCanvasElement, img: RGBAImage): void {
  c.width = img.width;
  c.height = img.height;
  const s = VIEW_SIDE / Math.max(img.width, img.height);
  c.style.width = `${Math.round(img.width * s)}px`;
  c.style.height = `${Math.round(img.height * s)}px`;
  c.getContext("2d")?.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
}

function canvasOf(img: RGBAImage): HTMLCanvasElement {
  const c = el("canvas", { className: "view" });
  draw(c, img);
  return c;
}

function figure(content: Node, caption: string): HTMLElement {
  return el("figure", {}, content, el("figcaption", { textContent: caption }));
}

// ---- state ----
let image: RGBAImage = sampleImage();
let imageName = "generated sample";
const methods = listPools().filter((m) => m.dims.includes(2));
let current: PoolMethod | undefined = methods[0];

// ---- image ----
async function loadFile(file: Blob, name: string): Promise<void> {
  const bitmap = await createImageBitmap(file);
  const s = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const w = Math.max(1, Math.round(bitmap.width * s));
  const h = Math.max(1, Math.round(bitmap.height * s));
  const c = el("canvas", { width: w, height: h });
  const ctx = c.getContext("2d");
  if (!ctx) throw new Error("no 2d canvas context");
  ctx.drawImage(bitmap, 0, 0, w, h);
  const d = ctx.getImageData(0, 0, w, h);
  image = { width: w, height: h, data: d.data };
  imageName = `${name} (${w}×${h})`;
}

function showInput(): void {
  draw($<HTMLCanvasElement>("input"), image);
  $("input-cap").textContent = `${imageName}: x = [1, 3, ${image.height}, ${image.width}]`;
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
  if (methods.length === 0) select.append(el("option", { textContent: "no 2-d methods registered" }));
}

function showMethod(): void {
  const m = current;
  const opts = $("options");
  opts.replaceChildren();
  $("checks").textContent = "";
  if (!m) return;
  $("about").replaceChildren(
    el("b", { textContent: m.name }),
    ` — ${m.summary} `,
    el("br"),
    el("i", { textContent: m.paper }),
    m.inputs.length ? el("span", { textContent: ` Extra inputs (seeded examples): ${m.inputs.map((i) => `${i.name} (${i.role})`).join(", ")}.` }) : "",
  );
  for (const [key, value] of Object.entries(m.defaults)) {
    const input = el("input", { type: "text", value: JSON.stringify(value), id: `opt-${key}` });
    input.dataset.key = key;
    opts.append(el("div", { className: "pair" }, el("b", { textContent: key }), input));
  }
  if (m.trainEval) {
    const box = el("input", { type: "checkbox", checked: true, id: "opt-training" });
    opts.append(el("label", {}, box, " training (random draws; unticked: eval behaviour)"));
  }
}

function readOptions(m: PoolMethod): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  for (const input of Array.from($("options").querySelectorAll<HTMLInputElement>("input[data-key]"))) {
    overrides[input.dataset.key as string] = parseOptionValue(input.value);
  }
  const training = document.getElementById("opt-training") as HTMLInputElement | null;
  if (training && !training.checked) overrides.training = false;
  const extraText = $<HTMLInputElement>("extra").value.trim() || "{}";
  let extra: unknown;
  try {
    extra = JSON.parse(extraText);
  } catch {
    throw new Error(`extra options must be a JSON object, got ${extraText}`);
  }
  if (extra === null || typeof extra !== "object" || Array.isArray(extra)) throw new Error(`extra options must be a JSON object, got ${extraText}`);
  return mergeOptions(m, { ...overrides, ...(extra as Record<string, unknown>) });
}

function seed(): number {
  const s = Number($<HTMLInputElement>("seed").value);
  return Number.isSafeInteger(s) ? s : 0;
}

/** Run a method on the current image; throws the op's own error for bad options. */
function pool(m: PoolMethod, options: Record<string, unknown>, s: number): { y: Tensor; ms: number; call: string } {
  const x = imageToTensor(image);
  const t0 = performance.now();
  const { op, output: y } = runMethod(m, x, options, s, 2);
  return { y, ms: performance.now() - t0, call: `${op.opName}(x ${show(x.shape)}, ${showOptions(options)})` };
}

/** A tensor as something to look at: an RGB/grey picture, channel 0 of a feature map, or its values. */
function preview(y: Tensor): { node: HTMLElement; note: string } {
  const planes = imagePlanes(y);
  const item = y.shape.length === 4 && (y.shape[0] as number) > 1 ? ` (item 0 of ${y.shape[0]})` : "";
  if (typeof planes !== "string") return { node: canvasOf(tensorToImage(y)), note: item };
  if (y.shape.length >= 3) return { node: canvasOf(channelImages(y)[0] as RGBAImage), note: `${item} (channel 0)` };
  const vals = Array.from(y.data.subarray(0, 6)).map((v) => v.toPrecision(3));
  return { node: el("div", { className: "msg", textContent: `${show(y.shape)}\n${vals.join(" ")}${y.size > 6 ? " …" : ""}` }), note: "" };
}

function runCurrent(): void {
  const m = current;
  const result = $("result");
  const status = $("status");
  result.replaceChildren();
  status.className = "status";
  if (!m) {
    status.textContent = "no method selected";
    return;
  }
  let out: ReturnType<typeof pool>;
  try {
    out = pool(m, readOptions(m), seed());
  } catch (e) {
    status.className = "error";
    status.textContent = errorText(e);
    return;
  }
  const { y, ms, call } = out;
  status.textContent = `${call} → ${show(y.shape)} ${y.dtype} in ${ms.toFixed(1)} ms`;
  const x = imageToTensor(image);
  const inRow = el("div", { className: "row" }, figure(canvasOf(image), "input RGB"));
  channelImages(x, "clip").forEach((img, c) => inRow.append(figure(canvasOf(img), `input ${CHANNEL_NAMES[c] ?? c}`)));
  const outRow = el("div", { className: "row" });
  if (y.shape.length >= 3) {
    const p = preview(y);
    outRow.append(figure(p.node, `output${p.note} ${show(y.shape.slice(-2))}`));
    channelImages(y).forEach((img, c) => {
      if (c < 8) outRow.append(figure(canvasOf(img), `output ${CHANNEL_NAMES[c] ?? c}`));
    });
  } else {
    const vals = Array.from(y.data.subarray(0, 96)).map((v) => v.toPrecision(4));
    const text = `${show(y.shape)} ${y.dtype}${y.size > 96 ? `, first 96 of ${y.size} values` : ""}:\n${vals.join("  ")}`;
    outRow.append(figure(el("pre", { className: "values", textContent: text }), "output (not an image)"));
  }
  result.append(inRow, outRow, gradientRow(m, x));
}

/** The backward pass made visible: ∂(Σ output)/∂x per channel (dy = ones), on a stretched scale. */
function gradientRow(m: PoolMethod, x: Tensor): HTMLElement {
  const row = el("div", { className: "row" });
  try {
    const { output, backward } = vjpMethod(m, x, readOptions(m), seed(), 2);
    const dx = backward(full(output.shape, 1, output.dtype))[0];
    if (!dx) throw new Error("no gradient for x");
    const d = dx.data;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < d.length; i++) {
      lo = Math.min(lo, d[i] as number);
      hi = Math.max(hi, d[i] as number);
    }
    channelImages(dx, "minmax").forEach((img, c) => row.append(figure(canvasOf(img), `∂Σy/∂x ${CHANNEL_NAMES[c] ?? c}`)));
    row.append(el("p", { className: "status", textContent: `backward(dy = 1): dx in [${lo.toPrecision(3)}, ${hi.toPrecision(3)}], black = lowest, white = highest` }));
  } catch (e) {
    row.append(el("p", { className: "error", textContent: `backward: ${errorText(e)}` }));
  }
  return row;
}

function runChecks(): void {
  if (!current) return;
  const r = checkMethod(current);
  $("checks").textContent = `forward ${r.forward.ok ? "✓" : "✗"} ${r.forward.detail}\nbackward ${r.backward.ok ? "✓" : "✗"} ${r.backward.detail}`;
}

function runGrid(): void {
  const grid = $("grid");
  grid.replaceChildren();
  for (const m of methods) {
    let node: HTMLElement;
    let caption: string;
    try {
      const { y, ms } = pool(m, mergeOptions(m), seed());
      const p = preview(y);
      node = p.node;
      caption = `${m.name}${p.note} → ${show(y.shape.slice(1))}, ${ms.toFixed(1)} ms`;
    } catch (e) {
      node = el("div", { className: "msg error", textContent: errorText(e) });
      caption = `${m.name}: failed`;
    }
    const fig = figure(node, caption);
    fig.title = m.summary;
    fig.style.cursor = "pointer";
    fig.addEventListener("click", () => selectMethod(m.name));
    grid.append(fig);
  }
}

function selectMethod(name: string): void {
  current = methods.find((m) => m.name === name);
  $<HTMLSelectElement>("method").value = name;
  const keep = /image=[^&]+/.exec(location.hash)?.[0];
  history.replaceState(null, "", `#method=${encodeURIComponent(name)}${keep ? `&${keep}` : ""}`);
  showMethod();
  runCurrent();
}

/** Show a loaded image everywhere, or say why it could not be read. */
function useImage(loading: Promise<void>, what: string): void {
  loading.then(
    () => {
      for (const r of Array.from(document.querySelectorAll<HTMLInputElement>("input[name=src]"))) r.checked = false;
      refreshAll();
    },
    (err: unknown) => {
      $("status").className = "error";
      $("status").textContent = `could not read ${what}: ${errorText(err)}`;
    },
  );
}

function refreshAll(): void {
  showInput();
  runCurrent();
  runGrid();
}

function start(): void {
  $("maxside").textContent = String(MAX_SIDE);
  fillMethods();
  showMethod();
  $<HTMLSelectElement>("method").addEventListener("change", (e) => selectMethod((e.target as HTMLSelectElement).value));
  $("run").addEventListener("click", () => {
    runCurrent();
    runChecks();
  });
  $("reset").addEventListener("click", () => {
    $<HTMLInputElement>("extra").value = "{}";
    showMethod();
    runCurrent();
  });
  $<HTMLInputElement>("file").addEventListener("change", (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) useImage(loadFile(file, file.name), file.name);
  });
  for (const r of Array.from(document.querySelectorAll<HTMLInputElement>("input[name=src]"))) {
    r.addEventListener("change", () => {
      image = sampleImage();
      imageName = "generated sample";
      refreshAll();
    });
  }
  // A link can pick the method, by any name getPool accepts: index.html#method=soft-pool …
  const wanted = /method=([^&]+)/.exec(location.hash)?.[1];
  if (wanted) {
    try {
      const m = getPool(decodeURIComponent(wanted));
      if (methods.includes(m)) {
        current = m;
        $<HTMLSelectElement>("method").value = m.name;
        showMethod();
      }
    } catch {
      // an unknown name in a link: keep the first method
    }
  }
  // … and an image on the same site: #image=photo.png (goes through the same path as a picked file).
  const imageUrl = /image=([^&]+)/.exec(location.hash)?.[1];
  if (imageUrl) {
    const url = decodeURIComponent(imageUrl);
    const load = fetch(url)
      .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((blob) => loadFile(blob, url));
    useImage(load, url);
  }
  refreshAll();
  runChecks();
}

start();
