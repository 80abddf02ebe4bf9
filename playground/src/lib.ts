/**
 * The playground's computations, free of the DOM so that Node tests can run them: how a method is
 * called on the picture (with meaningful extra inputs), where an output pixel came from (its window
 * and the weight each input pixel got), the random draws, vector outputs as pictures, the shift test.
 *
 * Methods are always enumerated through the registry (`listPools()`); the tables keyed by export
 * name below only add a better picture for a method that has one, and everything else falls back to
 * the generic path (the op's own vjp).
 */
import { type AnyOp, type PoolMethod } from "../../src/registry.js";
import { Generator, manualSeed } from "../../src/tensor/random.js";
import { Tensor, fromArray, tensor } from "../../src/tensor/tensor.js";
import type { Grads } from "../../src/op.js";
import { mergeOptions, opFor, primaryOutput } from "../../src/cli/invoke.js";
import { maxPool2dWithIndices } from "../../src/ops/maxPool.js";
import { localImportancePool2d } from "../../src/ops/localImportancePool.js";
import { stochasticPool2dWithIndices } from "../../src/ops/stochasticPool.js";
import { s3Pool2dWithSelection } from "../../src/ops/s3Pool.js";
import { mixedPool2dWithLambdas } from "../../src/ops/mixedPool.js";
import { compactBilinearPool } from "../../src/ops/compactBilinearPool.js";
import { bilinearPool } from "../../src/ops/bilinearPool.js";
import { slidingAxis } from "../../src/geometry/sliding.js";
import { adaptiveAxis } from "../../src/geometry/adaptive.js";
import { fractionalStarts, FRACTIONAL_SAMPLE_AXIS } from "../../src/geometry/fractional.js";

// ---------------------------------------------------------------------------------------------
// Extra inputs that mean something on a picture.

/** Where LIP's importance logits come from. */
export type LogitSource = "contrast" | "brightness" | "simplified-lip" | "zero" | "random";
export const LOGIT_SOURCES: readonly { value: LogitSource; label: string }[] = [
  { value: "contrast", label: "local contrast: 20·|x − mean₃ₓ₃(x)| (edges win)" },
  { value: "brightness", label: "brightness: 10·x (bright pixels win, ≈ max pooling)" },
  { value: "simplified-lip", label: "SimplifiedLIP-like: 12·σ(InstanceNorm(Laplacian₃ₓ₃ ∗ x))" },
  { value: "zero", label: "zero: e⁰ everywhere (= average pooling, padding excluded)" },
  { value: "random", label: "random N(0, 1) (the registry's example: no structure)" },
];

/** A region of interest in input pixel coordinates (x1, y1, x2, y2), as torchvision's boxes. */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** Two boxes on the sample picture (across the checkerboard's corner, and the sun), scaled to the image. */
export function defaultBoxes(w: number, h: number): Box[] {
  return [
    { x1: Math.round(0.2 * w), y1: Math.round(0.2 * h), x2: Math.round(0.5 * w), y2: Math.round(0.5 * h) },
    { x1: Math.round(0.55 * w), y1: Math.round(0.1 * h), x2: Math.round(0.9 * w), y2: Math.round(0.42 * h) },
  ];
}

export interface CallContext {
  logits: LogitSource;
  boxes: readonly Box[];
}

/** Mean of each 3×3 neighbourhood (edge pixels average what exists), per plane. */
function boxMean3(d: ArrayLike<number>, planes: number, h: number, w: number): Float64Array {
  const out = new Float64Array(planes * h * w);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let s = 0;
        let n = 0;
        for (let di = -1; di <= 1; di++) {
          for (let dj = -1; dj <= 1; dj++) {
            const ii = i + di;
            const jj = j + dj;
            if (ii < 0 || jj < 0 || ii >= h || jj >= w) continue;
            s += d[(p * h + ii) * w + jj] as number;
            n++;
          }
        }
        out[(p * h + i) * w + j] = s / n;
      }
    }
  }
  return out;
}

/** LIP logits `[N, C, H, W]` for x, from one of the importance maps above. */
export function importanceLogits(x: Tensor, source: LogitSource, seed: number): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const planes = n * c;
  const d = x.data;
  const out = new Float64Array(x.size);
  if (source === "contrast") {
    const m = boxMean3(d, planes, h, w);
    for (let i = 0; i < out.length; i++) out[i] = 20 * Math.abs((d[i] as number) - (m[i] as number));
  } else if (source === "brightness") {
    for (let i = 0; i < out.length; i++) out[i] = 10 * (d[i] as number);
  } else if (source === "simplified-lip") {
    // SimplifiedLIP (Gao et al.'s official lip_resnet.py): 12·sigmoid(InstanceNorm(conv3×3(x))). Its conv
    // is learned (zero-initialised, i.e. average pooling at the start); a fixed depthwise Laplacian
    // (9·mean₃ₓ₃ − 9·x ∝ −∇²x on the interior) stands in for a trained one that responds to detail.
    const m = boxMean3(d, planes, h, w);
    const hw = h * w;
    for (let p = 0; p < planes; p++) {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < hw; i++) {
        const v = Math.abs(9 * ((d[p * hw + i] as number) - (m[p * hw + i] as number)));
        out[p * hw + i] = v;
        s += v;
        s2 += v * v;
      }
      const mean = s / hw;
      const sd = Math.sqrt(Math.max(s2 / hw - mean * mean, 0) + 1e-5); // InstanceNorm, eps 1e-5
      for (let i = 0; i < hw; i++) out[p * hw + i] = 12 / (1 + Math.exp(-((out[p * hw + i] as number) - mean) / sd));
    }
  } else if (source === "random") {
    const g = new Generator(seed);
    for (let i = 0; i < out.length; i++) out[i] = g.normal();
  }
  return fromArray(x.dtype === "float64" ? out : Float32Array.from(out), x.shape);
}

/** A tensor of boxes `[K, 5]` (batch index 0) for RoI methods. */
export function boxesTensor(boxes: readonly Box[]): Tensor {
  const out: number[] = [];
  for (const b of boxes) out.push(0, b.x1, b.y1, b.x2, b.y2);
  return tensor(out, [boxes.length, 5], "float32");
}

export interface Call {
  readonly method: PoolMethod;
  readonly op: AnyOp;
  /** The op's first tensor argument (the picture; for MaxUnpool the pooled picture). */
  readonly x: Tensor;
  /** Every positional argument, options last. */
  readonly args: readonly unknown[];
  readonly options: Record<string, unknown>;
  readonly seed: number;
  /** Named extra tensor inputs as passed. */
  readonly extras: ReadonlyMap<string, Tensor>;
  /** One sentence per extra input: where it came from. */
  readonly notes: readonly string[];
}

function pick(options: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (options[k] !== undefined) out[k] = options[k];
  return out;
}

/**
 * The arguments for `method` on the picture `image` (`[1, C, H, W]`): extra inputs that mean
 * something where there is a natural choice, the registry's seeded examples otherwise.
 */
export function prepareCall(method: PoolMethod, image: Tensor, options: Record<string, unknown>, seed: number, ctx: CallContext): Call {
  const op = opFor(method, 2);
  let x = image;
  const extras = new Map<string, Tensor>();
  const notes: string[] = [];
  const gen = new Generator(seed);
  for (const spec of method.inputs) {
    let t: Tensor;
    if (spec.name === "indices") {
      // MaxUnpool: the round trip pool → unpool of the same picture, with the pool's own argmax indices.
      const pooled = maxPool2dWithIndices(image, pick(options, ["kernelSize", "stride", "padding"]) as never);
      x = pooled.output;
      t = pooled.indices;
      notes.push(`x = maxPool2d(picture) ${shapeText(x.shape)} and indices = its argmax positions: unpooling puts every maximum back where it came from, zeros elsewhere.`);
    } else if (spec.name === "logits") {
      t = importanceLogits(image, ctx.logits, seed);
      notes.push(`logits: ${LOGIT_SOURCES.find((s) => s.value === ctx.logits)?.label ?? ctx.logits}.`);
    } else if (spec.name === "boxes") {
      t = boxesTensor(ctx.boxes);
      notes.push(`boxes: the ${ctx.boxes.length} rectangles drawn on the picture (drag them).`);
    } else if (spec.name === "b" && spec.role === "data") {
      t = image;
      notes.push("b = a (the picture itself): homogeneous bilinear pooling, the common case.");
    } else {
      const shape = spec.shape(image.shape, options);
      t = tensor(spec.init(shape, gen, image.shape, options), shape, spec.dtype === "int32" ? "int32" : image.dtype);
      notes.push(`${spec.name} ${shapeText(shape)}: the registry's ${spec.role === "learnable" ? "initial value" : "seeded example"} (${spec.doc.split(/[.:]/)[0]}).`);
    }
    extras.set(spec.name, t);
  }
  const args = [x, ...method.inputs.map((s) => extras.get(s.name) as Tensor), options];
  return { method, op, x, args, options, seed, extras, notes };
}

/** Run a prepared call (the global generator reset to the seed first: random methods draw from it). */
export function runCall(call: Call): Tensor {
  manualSeed(call.seed);
  return primaryOutput(call.op(...call.args));
}

/** The prepared call through the op's vjp. */
export function vjpCall(call: Call): { output: Tensor; backward(dy: Tensor): Grads } {
  manualSeed(call.seed);
  const { output, backward } = call.op.vjp(...call.args);
  return { output: primaryOutput(output), backward };
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** The same call with some options replaced (e.g. `training: false`). */
export function withOptions(call: Call, over: Record<string, unknown>): Call {
  const options = { ...call.options, ...over };
  const args = [...call.args.slice(0, -1), options];
  return { ...call, options, args };
}

// ---------------------------------------------------------------------------------------------
// Where an output came from.

/** A spatial output `[K, C, h, w]` (RoI crops K, else N = 1), or null for vector outputs. */
export function isSpatial(y: Tensor): boolean {
  return y.shape.length === 4;
}

/** A one-hot upstream gradient at output (k, c, i, j). */
export function oneHot(shape: readonly number[], k: number, c: number, i: number, j: number): Tensor {
  const [, cs, h, w] = shape as [number, number, number, number];
  const d = new Float32Array(shape.reduce((a, b) => a * b, 1));
  d[((k * cs + c) * h + i) * w + j] = 1;
  return fromArray(d, shape);
}

/** An axis-aligned rectangle of input pixels [y0, y1) × [x0, x1); `step` > 1 for dilated taps. */
export interface Rect {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
  step?: number;
}

export interface Provenance {
  /** One value per input pixel of channel c (the weights, or the gradient when there are none). */
  readonly weights: Float64Array;
  readonly height: number;
  readonly width: number;
  /** The window(s) the output read, in input pixels. */
  readonly windows: readonly Rect[];
  /** A pixel singled out: the argmax or the stochastic pick (flat index), if any. */
  readonly picked?: number;
  /** What `weights` are. */
  readonly label: string;
  /** Σ weights·x over the plane, and the output value itself: equal when weights decompose y. */
  readonly sum: number;
  readonly y: number;
  /** Whether weights·x reproduces y (within float32 rounding). */
  readonly decomposes: boolean;
}

function planeOf(t: Tensor, k: number, c: number): Float64Array {
  const [, cs, h, w] = t.shape as [number, number, number, number];
  const hw = h * w;
  return Float64Array.from(t.data.subarray((k * cs + c) * hw, (k * cs + c + 1) * hw));
}

/** Sliding windows for options with a kernel (PyTorch geometry; stride defaults to the kernel, LIP's to 2). */
function slidingWindow(call: Call, h: number, w: number, i: number, j: number): Rect | null {
  const o = call.options;
  const two = (v: unknown, d: number): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1])] : typeof v === "number" ? [v, v] : [d, d]);
  const k = two(o.kernelSize, NaN);
  if (!Number.isFinite(k[0])) return null;
  const lip = call.op.opName === "localImportancePool2d";
  const s = two(o.stride, lip ? 2 : NaN);
  const stride: [number, number] = [Number.isFinite(s[0]) ? s[0] : k[0], Number.isFinite(s[1]) ? s[1] : k[1]];
  const p = two(o.padding, lip ? 1 : 0);
  const d = two(o.dilation, 1);
  // Caffe-based ops (stochastic; Lee et al.'s learned/gated/tree mixes) round the output size up
  // with no padding: PyTorch's ceilMode rule (src/geometry/caffe.ts).
  const caffe = ["stochasticPool2d", "learnedMixPool2d", "gatedMixPool2d", "treePool2d"].includes(call.op.opName);
  const ceil = caffe || o.ceilMode === true;
  const ay = slidingAxis(h, k[0], stride[0], p[0], d[0], ceil);
  const ax = slidingAxis(w, k[1], stride[1], p[1], d[1], ceil);
  if (i >= ay.outSize || j >= ax.outSize) return null;
  return { y0: ay.start[i] as number, y1: ay.end[i] as number, x0: ax.start[j] as number, x1: ax.end[j] as number, step: d[0] };
}

/** The bounding box of the non-zero entries (the fallback window). */
function supportBox(v: Float64Array, h: number, w: number): Rect | null {
  let y0 = h;
  let y1 = -1;
  let x0 = w;
  let x1 = -1;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      if (v[i * w + j] === 0) continue;
      y0 = Math.min(y0, i);
      y1 = Math.max(y1, i);
      x0 = Math.min(x0, j);
      x1 = Math.max(x1, j);
    }
  }
  return y1 < 0 ? null : { y0, y1: y1 + 1, x0, x1: x1 + 1 };
}

/** The window of output (i, j) for the geometries the playground knows; null = use the gradient's support. */
export function windowOf(call: Call, i: number, j: number, draws: Draws | null): Rect | null {
  const [, , h, w] = call.x.shape as [number, number, number, number];
  const name = call.op.opName;
  const training = call.options.training !== false;
  if (name === "fractionalMaxPool2d" && draws?.fractional) {
    const f = draws.fractional;
    const k = f.kernel;
    const r = f.rowStarts[i];
    const c = f.colStarts[j];
    return r === undefined || c === undefined ? null : { y0: r, y1: r + k[0], x0: c, x1: c + k[1] };
  }
  if (name === "s3Pool2d") {
    if (!training || !draws?.s3) return null;
    const k = draws.s3.kernel;
    const r = draws.s3.rows[i];
    const c = draws.s3.cols[j];
    return r === undefined || c === undefined ? null : { y0: r, y1: r + k, x0: c, x1: c + k };
  }
  if (name === "detailPreservingPool2d") return { y0: 2 * i, y1: 2 * i + 2, x0: 2 * j, x1: 2 * j + 2 };
  if (name === "globalAvgPool" || name === "globalMaxPool") return { y0: 0, y1: h, x0: 0, x1: w };
  if ((name === "adaptiveAvgPool2d" || name === "adaptiveMaxPool2d") && call.options.outputSize !== undefined) {
    const os = call.options.outputSize;
    const [oh, ow] = Array.isArray(os) ? [Number(os[0] ?? h), Number(os[1] ?? w)] : [Number(os), Number(os)];
    const ay = adaptiveAxis(h, oh);
    const ax = adaptiveAxis(w, ow);
    return { y0: ay.start[i] as number, y1: ay.end[i] as number, x0: ax.start[j] as number, x1: ax.end[j] as number };
  }
  if (name === "maxUnpool2d" || name === "dynamicPool2d" || name === "roiPool" || name === "roiAlign") return null;
  return slidingWindow(call, h, w, i, j);
}

/**
 * Where output (k, c, i, j) came from: the exact weights for the methods that are weighted averages
 * (SoftPool through LIP with logits = x, DPP's reward weights, Stochastic's probabilities in eval),
 * and otherwise ∂y/∂x from the op's own vjp with a one-hot dy — which IS the weight map for every
 * method that is linear in x once its choices are made (max: the argmax; avg: uniform; LIP;
 * RoIAlign's bilinear taps; the stochastic pick; mixed; S3Pool; fractional). `decomposes` says
 * whether Σ w·x reproduces y (Euler's theorem holds exactly for those), so the page can tell a
 * weight map from a mere sensitivity map.
 */
export function provenance(call: Call, vjp: ReturnType<typeof vjpCall>, k: number, c: number, i: number, j: number, draws: Draws | null): Provenance {
  const y = vjp.output;
  const [, cs, oh, ow] = y.shape as [number, number, number, number];
  const yv = y.data[((k * cs + c) * oh + i) * ow + j] as number;
  const [, , h, w] = call.x.shape as [number, number, number, number];
  const xk = call.x.shape[0] === 1 ? 0 : k;
  const xplane = planeOf(call.x, xk, c);
  const name = call.op.opName;
  const training = call.options.training !== false;
  let weights: Float64Array;
  let label: string;
  if (name === "softPool2d" && (call.options.padding ?? 0) === 0) {
    // SoftPool = LIP with logits = x (Σ e^x·x / Σ e^x), and LIP is linear in x at fixed logits, so
    // ∂LIP(x, L = x)/∂x at the one-hot is exactly the softmax weight each pixel got.
    const o = pick(call.options, ["kernelSize", "stride"]);
    const lipOpts = { kernelSize: o.kernelSize, stride: o.stride ?? o.kernelSize, padding: 0 };
    const lip = localImportancePool2d.vjp(call.x, call.x, lipOpts as never);
    const dx = lip.backward(oneHot(y.shape, k, c, i, j))[0] as Tensor;
    weights = planeOf(dx, xk, c);
    label = "softmax weights e^x / Σ e^x (exact: ∂LIP(x, logits = x)/∂x, since SoftPool is LIP with logits = x)";
  } else if (name === "detailPreservingPool2d" && call.options.reward !== undefined && call.args.length === 4) {
    weights = dppWeights(call, xk, c, i, j);
    label = "reward weights w / Σw, w = (q / mean q)^{λ/2} + α, q = (x − block mean)² + 10⁻³ (the paper's lite form, recomputed here)";
  } else if (name === "stochasticPool2d" && !training) {
    weights = windowProbabilities(call, xplane, h, w, i, j);
    label = "probabilities p = x / Σ x over the window; eval outputs Σ p·x";
  } else {
    const dx = vjp.backward(oneHot(y.shape, k, c, i, j))[0];
    if (!dx) throw new Error(`${name}: backward gave no gradient for x`);
    weights = planeOf(dx, xk, c);
    label = "∂y/∂x from the op's own backward with a one-hot dy at this output";
  }
  let sum = 0;
  for (let t = 0; t < weights.length; t++) sum += (weights[t] as number) * (xplane[t] as number);
  const decomposes = Math.abs(sum - yv) <= 1e-4 * Math.max(1, Math.abs(yv));
  let windows: Rect[] = [];
  const win = windowOf(call, i, j, draws);
  if (win) windows = [win];
  else {
    const s = supportBox(weights, h, w);
    if (s) windows = [s];
  }
  let picked: number | undefined;
  if (name === "stochasticPool2d" && training && draws?.stochastic) {
    picked = draws.stochastic[((k * cs + c) * oh + i) * ow + j];
  } else {
    // a single non-zero weight (argmax, pick, S3/fractional max) is singled out
    let nz = -1;
    let count = 0;
    for (let t = 0; t < weights.length; t++) {
      if (weights[t] !== 0) {
        nz = t;
        count++;
      }
    }
    if (count === 1) picked = nz;
  }
  if (name === "stochasticPool2d" && training) {
    weights = windowProbabilities(call, xplane, h, w, i, j);
    label = "probabilities p = x / Σ x of the window; training outputs the picked pixel (ringed)";
    sum = picked !== undefined ? (xplane[picked] as number) : NaN;
  }
  return { weights, height: h, width: w, windows, ...(picked !== undefined ? { picked } : {}), label, sum, y: yv, decomposes };
}

function windowProbabilities(call: Call, xplane: Float64Array, h: number, w: number, i: number, j: number): Float64Array {
  const win = slidingWindow(call, h, w, i, j);
  const p = new Float64Array(h * w);
  if (!win) return p;
  let s = 0;
  for (let a = win.y0; a < win.y1; a++) for (let b = win.x0; b < win.x1; b++) s += Math.max(0, xplane[a * w + b] as number);
  for (let a = win.y0; a < win.y1; a++) {
    for (let b = win.x0; b < win.x1; b++) p[a * w + b] = s > 0 ? Math.max(0, xplane[a * w + b] as number) / s : 1 / ((win.y1 - win.y0) * (win.x1 - win.x0));
  }
  return p;
}

/** DPP lite's weights of block (i, j), channel c, from the paper's formula with the call's α, λ inputs. */
function dppWeights(call: Call, k: number, c: number, i: number, j: number): Float64Array {
  const [, , h, w] = call.x.shape as [number, number, number, number];
  const x = planeOf(call.x, k, c);
  const alpha = call.args[1] as Tensor;
  const lambda = call.args[2] as Tensor;
  const a = Math.exp(Math.min(alpha.data[c] as number, 10));
  const lam = Math.exp(lambda.data[c] as number);
  const asym = call.options.reward === "asymmetric";
  const idx = [2 * i * w + 2 * j, 2 * i * w + 2 * j + 1, (2 * i + 1) * w + 2 * j, (2 * i + 1) * w + 2 * j + 1];
  const vals = idx.map((t) => x[t] as number);
  const mean = vals.reduce((s, v) => s + v, 0) / 4;
  const q = vals.map((v) => {
    const d = asym ? Math.max(0, v - mean) : v - mean;
    return d * d + 1e-3;
  });
  const qm = q.reduce((s, v) => s + v, 0) / 4;
  const wts = q.map((v) => (v / qm) ** (lam / 2) + a);
  const total = wts.reduce((s, v) => s + v, 0);
  const out = new Float64Array(h * w);
  idx.forEach((t, n) => (out[t] = (wts[n] as number) / total));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Random draws as data.

export interface Draws {
  /** Mixed: λ per (channel) or per output; 1 = max, 0 = avg. */
  readonly lambdas?: { shape: readonly number[]; values: Int32Array };
  /** Stochastic: the picked input pixel (flat in its plane) of every output. */
  readonly stochastic?: Int32Array;
  /** S3Pool: the rows and columns of the stride-1 max-pooled map that were kept. */
  readonly s3?: { rows: Int32Array; cols: Int32Array; kernel: number };
  /** Fractional: the window starts per axis (channel 0's draw) and the kernel. */
  readonly fractional?: { rowStarts: Int32Array; colStarts: Int32Array; kernel: [number, number]; samples: Tensor };
}

/**
 * Fractional max pooling with its samples drawn here (seeded) and passed in as the `samples` option,
 * so the window starts can be drawn exactly (PyTorch's generate_intervals via the same geometry).
 */
export function withFractionalSamples(call: Call): Call {
  if (call.op.opName !== "fractionalMaxPool2d" || call.options.samples !== undefined) return call;
  const [n, c] = call.x.shape as [number, number];
  const g = new Generator(call.seed);
  const u = new Float32Array(n * c * 2);
  for (let t = 0; t < u.length; t++) u[t] = g.uniform();
  return withOptions(call, { samples: fromArray(u, [n, c, 2]) });
}

/** The draws of a random call, replayed through the ops' own WithIndices/WithSelection variants. */
export function drawsOf(call: Call): Draws | null {
  const name = call.op.opName;
  const training = call.options.training !== false;
  const x = call.x;
  manualSeed(call.seed);
  if (name === "mixedPool2d" && training) {
    const r = mixedPool2dWithLambdas(x, call.options as never);
    return r.lambdas ? { lambdas: { shape: r.lambdas.shape, values: Int32Array.from(r.lambdas.data) } } : null;
  }
  if (name === "stochasticPool2d" && training) {
    const r = stochasticPool2dWithIndices(x, call.options as never);
    return r.indices ? { stochastic: Int32Array.from(r.indices.data) } : null;
  }
  if (name === "s3Pool2d" && training) {
    const r = s3Pool2dWithSelection(x, call.options as never);
    const k = Number(Array.isArray(call.options.kernelSize) ? call.options.kernelSize[0] : (call.options.kernelSize ?? 2));
    return r.rows && r.cols ? { s3: { rows: Int32Array.from(r.rows.data), cols: Int32Array.from(r.cols.data), kernel: k } } : null;
  }
  if (name === "fractionalMaxPool2d" && call.options.samples instanceof Tensor) {
    const [, , h, w] = x.shape as [number, number, number, number];
    const y = runCall(call);
    const [, , oh, ow] = y.shape as [number, number, number, number];
    const ks = call.options.kernelSize;
    const kernel: [number, number] = Array.isArray(ks) ? [Number(ks[0]), Number(ks[1])] : [Number(ks), Number(ks)];
    const s = call.options.samples.data;
    // sample j of a plane drives spatial axis FRACTIONAL_SAMPLE_AXIS[2][j] (PyTorch: width first)
    const axisOf = FRACTIONAL_SAMPLE_AXIS[2];
    const uRow = s[axisOf.indexOf(0)] as number;
    const uCol = s[axisOf.indexOf(1)] as number;
    return {
      fractional: {
        rowStarts: fractionalStarts(h, oh, kernel[0], uRow, x.dtype === "float64" ? "float64" : "float32"),
        colStarts: fractionalStarts(w, ow, kernel[1], uCol, x.dtype === "float64" ? "float64" : "float32"),
        kernel,
        samples: call.options.samples,
      },
    };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Vector outputs as pictures.

export type VectorPicture =
  | { kind: "matrix"; rows: number; cols: number; values: Float64Array; title: string }
  | { kind: "pyramid"; levels: { n: number; channels: number; values: Float64Array }[] }
  | { kind: "swatch"; values: Float64Array }
  | { kind: "bars"; values: Float64Array };

/** How a non-spatial output `[N, D]` or `[N, C, C]` of item 0 is best looked at. */
export function vectorPicture(call: Call, y: Tensor): VectorPicture {
  const c = call.x.shape[1] as number;
  const name = call.op.opName;
  const d = y.shape.slice(1).reduce((a, b) => a * b, 1);
  const v = Float64Array.from(y.data.subarray(0, d));
  if (name === "covariancePool" && d === (c * (c + 1)) / 2) {
    const m = new Float64Array(c * c);
    let t = 0;
    for (let i = 0; i < c; i++) {
      for (let j = i; j < c; j++) {
        m[i * c + j] = v[t] as number;
        m[j * c + i] = v[t] as number;
        t++;
      }
    }
    return { kind: "matrix", rows: c, cols: c, values: m, title: "normalised covariance (C × C, symmetric; the op returns its upper triangle)" };
  }
  if (y.shape.length === 3 && y.shape[1] === y.shape[2]) {
    return { kind: "matrix", rows: y.shape[1] as number, cols: y.shape[2] as number, values: v, title: "projector P = U_k U_kᵀ onto the top-k channel subspace (C × C)" };
  }
  if (name === "bilinearPool" && d === c * c) {
    return { kind: "matrix", rows: c, cols: c, values: v, title: "Σ_l a_l b_lᵀ after signed √ and L2 (M × P)" };
  }
  const levels = call.options.levels;
  if (name === "spatialPyramidPool" && Array.isArray(levels)) {
    const out: { n: number; channels: number; values: Float64Array }[] = [];
    let t = 0;
    for (const n of levels as number[]) {
      out.push({ n, channels: c, values: v.slice(t, t + c * n * n) });
      t += c * n * n;
    }
    if (t === d) return { kind: "pyramid", levels: out };
  }
  if (d === c && c === 3) return { kind: "swatch", values: v };
  return { kind: "bars", values: v };
}

/**
 * Compact bilinear pooling's promise: ⟨Φ(P), Φ(Q)⟩ ≈ ⟨B(P), B(Q)⟩ for the exact bilinear features
 * B = Σ_l x_l x_lᵀ. Both Gram matrices over a grid of patches of the picture, without signed √ / L2.
 */
export function compactKernel(image: Tensor, options: Record<string, unknown>, grid = 4): { exact: Float64Array; estimate: Float64Array; n: number; relErr: number } {
  const [, c, h, w] = image.shape as [number, number, number, number];
  const ph = Math.floor(h / grid);
  const pw = Math.floor(w / grid);
  const n = grid * grid;
  const patches = new Float32Array(n * c * ph * pw);
  for (let p = 0; p < n; p++) {
    const oy = Math.floor(p / grid) * ph;
    const ox = (p % grid) * pw;
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < ph; i++) {
        for (let j = 0; j < pw; j++) patches[((p * c + ch) * ph + i) * pw + j] = image.data[(ch * h + oy + i) * w + ox + j] as number;
      }
    }
  }
  const P = fromArray(patches, [n, c, ph, pw]);
  const raw = { signedSqrt: false, l2: false };
  const cOpts = { ...pick(options, ["outputDim", "method", "seed"]), ...raw };
  const phi = compactBilinearPool(P, cOpts as never);
  const b = bilinearPool(P, { pooling: "sum", ...raw } as never);
  const gram = (t: Tensor): Float64Array => {
    const d = t.size / n;
    const g = new Float64Array(n * n);
    for (let a = 0; a < n; a++) {
      for (let bb = 0; bb < n; bb++) {
        let s = 0;
        for (let t2 = 0; t2 < d; t2++) s += (t.data[a * d + t2] as number) * (t.data[bb * d + t2] as number);
        g[a * n + bb] = s;
      }
    }
    return g;
  };
  const exact = gram(b);
  const estimate = gram(phi);
  let num = 0;
  let den = 0;
  for (let t = 0; t < exact.length; t++) {
    num += ((estimate[t] as number) - (exact[t] as number)) ** 2;
    den += (exact[t] as number) ** 2;
  }
  return { exact, estimate, n, relErr: Math.sqrt(num / den) };
}

// ---------------------------------------------------------------------------------------------
// The shift test.

/** The picture moved right by `dx` pixels (the first columns repeat the edge). */
export function shiftRight(x: Tensor, dx = 1): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = new Float32Array(x.size);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) out[(p * h + i) * w + j] = x.data[(p * h + i) * w + Math.max(0, j - dx)] as number;
    }
  }
  return fromArray(out, x.shape);
}

/** ‖f(shifted) − f(x)‖ / ‖f(x)‖ and the per-output difference (mean |Δ| over channels, item 0). */
export function shiftDifference(y0: Tensor, y1: Tensor): { rel: number; map: Float64Array | null; h: number; w: number } {
  let num = 0;
  let den = 0;
  const n = Math.min(y0.size, y1.size);
  for (let t = 0; t < n; t++) {
    num += ((y1.data[t] as number) - (y0.data[t] as number)) ** 2;
    den += (y0.data[t] as number) ** 2;
  }
  const rel = Math.sqrt(num / Math.max(den, 1e-30));
  if (y0.shape.length !== 4 || y0.size !== y1.size) return { rel, map: null, h: 0, w: 0 };
  const [, c, h, w] = y0.shape as [number, number, number, number];
  const map = new Float64Array(h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let t = 0; t < h * w; t++) map[t] = (map[t] as number) + Math.abs((y1.data[ch * h * w + t] as number) - (y0.data[ch * h * w + t] as number)) / c;
  }
  return { rel, map, h, w };
}

/** Options the playground starts a method with: its registry defaults, with RoI crops big enough to see and Mixed's λ per pixel. */
export function startOptions(method: PoolMethod): Record<string, unknown> {
  const o = mergeOptions(method);
  if (method.category === "region" && o.outputSize !== undefined && method.inputs.some((i) => i.name === "boxes")) o.outputSize = 7;
  // Mixed pooling: one λ per output pixel draws a map to look at (the registry's default is one per channel).
  if (o.granularity !== undefined) o.granularity = "window";
  return o;
}

/**
 * A live check of the backward pass on this very call: for a random direction v and a random dy,
 * ⟨dy, (f(x + εv) − f(x − εv)) / 2ε⟩ against ⟨backward(dy)_x, v⟩, in float64.
 */
export function gradientCheck(call: Call): { fd: number; ad: number; relErr: number } {
  const to64 = (a: unknown): unknown => (a instanceof Tensor && a.dtype === "float32" ? fromArray(Float64Array.from(a.data), a.shape) : a);
  // Flat regions of a picture tie in every max window, and a tie is a kink where no derivative
  // exists: check at the picture plus 10⁻² noise (the ties broken), with steps (10⁻⁹) far smaller than the gaps.
  const jitter = new Generator(call.seed + 5);
  const x64 = fromArray(Float64Array.from(call.x.data, (v) => v + 1e-2 * jitter.uniform()), call.x.shape);
  const opts: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(call.options)) opts[k] = to64(v);
  const args = [...call.args.slice(0, -1).map(to64), opts];
  args[0] = x64;
  const at = (x: Tensor): Tensor => {
    const a = args.slice();
    a[0] = x;
    manualSeed(call.seed);
    return primaryOutput(call.op(...a));
  };
  manualSeed(call.seed);
  const { output, backward } = call.op.vjp(...args);
  const y = primaryOutput(output);
  const g = new Generator(call.seed + 7);
  const dy = fromArray(Float64Array.from({ length: y.size }, () => g.normal()), y.shape);
  const v = Float64Array.from({ length: x64.size }, () => g.normal());
  const dx = backward(dy)[0];
  if (!dx) throw new Error(`${call.op.opName}: no gradient for x`);
  let ad = 0;
  for (let i = 0; i < v.length; i++) ad += (dx.data[i] as number) * (v[i] as number);
  // Two step sizes: 10⁻⁹ stays inside the pieces of max-type ops, 10⁻⁵ keeps rounding small for the
  // smooth ones that sum over every location (bilinear, covariance); the closer one is reported.
  let best = { fd: NaN, ad, relErr: Infinity };
  for (const eps of [1e-9, 1e-5]) {
    const plus = at(fromArray(x64.data.map((t, i) => t + eps * (v[i] as number)) as Float64Array, x64.shape));
    const minus = at(fromArray(x64.data.map((t, i) => t - eps * (v[i] as number)) as Float64Array, x64.shape));
    let fd = 0;
    for (let i = 0; i < y.size; i++) fd += (dy.data[i] as number) * (((plus.data[i] as number) - (minus.data[i] as number)) / (2 * eps));
    const relErr = Math.abs(fd - ad) / Math.max(Math.abs(fd), Math.abs(ad), 1e-12);
    if (relErr < best.relErr) best = { fd, ad, relErr };
  }
  return best;
}

/**
 * Where entry `entry` (flat, item 0) of a vector output came from: ∂y[entry]/∂x of channel c through
 * the op's backward with a one-hot dy, plus the window when one is known (an SPP bin).
 */
export function entryProvenance(call: Call, vjp: ReturnType<typeof vjpCall>, entry: number, c: number, windows: readonly Rect[]): Provenance {
  const y = vjp.output;
  const d = new Float32Array(y.size);
  d[entry] = 1;
  const dx = vjp.backward(fromArray(d, y.shape))[0];
  if (!dx) throw new Error(`${call.op.opName}: backward gave no gradient for x`);
  const weights = planeOf(dx, 0, c);
  const xplane = planeOf(call.x, 0, c);
  const [, , h, w] = call.x.shape as [number, number, number, number];
  let sum = 0;
  let count = 0;
  let nz = -1;
  for (let t = 0; t < weights.length; t++) {
    sum += (weights[t] as number) * (xplane[t] as number);
    if (weights[t] !== 0) {
      count++;
      nz = t;
    }
  }
  const yv = y.data[entry] as number;
  const decomposes = Math.abs(sum - yv) <= 1e-4 * Math.max(1, Math.abs(yv));
  const s = windows.length ? null : supportBox(weights, h, w);
  return {
    weights,
    height: h,
    width: w,
    windows: windows.length ? windows : s ? [s] : [],
    ...(count === 1 ? { picked: nz } : {}),
    label: "∂y/∂x from the op's own backward with a one-hot dy at this entry",
    sum,
    y: yv,
    decomposes,
  };
}

/** The flat output entry of SPP level `level`'s bin (i, j) in channel c, and the bin in input pixels. */
export function sppEntry(call: Call, level: number, c: number, i: number, j: number): { entry: number; bin: Rect } {
  const levels = call.options.levels as number[];
  const ch = call.x.shape[1] as number;
  const [, , h, w] = call.x.shape as [number, number, number, number];
  let offset = 0;
  for (let t = 0; t < level; t++) offset += ch * (levels[t] as number) ** 2;
  const n = levels[level] as number;
  const ay = adaptiveAxis(h, n);
  const ax = adaptiveAxis(w, n);
  return { entry: offset + c * n * n + i * n + j, bin: { y0: ay.start[i] as number, y1: ay.end[i] as number, x0: ax.start[j] as number, x1: ax.end[j] as number } };
}

/** The flat output entry of matrix cell (i, j) for the C × C pictures (covariance keeps only i ≤ j). */
export function matrixEntry(call: Call, c: number, i: number, j: number): number {
  if (call.op.opName === "covariancePool") {
    const [a, b] = i <= j ? [i, j] : [j, i];
    return a * c - (a * (a - 1)) / 2 + (b - a);
  }
  return i * c + j;
}
