/**
 * RoI geometry (torchvision semantics): the bins of RoIPool and the bilinear sample grid of RoIAlign.
 * Forward, backward and `outputShape` of `roiPool` / `roiAlign` share these plans.
 *
 * Facts from torchvision/csrc/ops/cpu/roi_pool_kernel.cpp and roi_align_kernel.cpp (0.14), as
 * summarised in docs/methods/roi.md:
 * - boxes are `[K, 5]` rows `(batchIndex, x1, y1, x2, y2)`; the batch index is truncated to an int;
 * - RoIPool rounds coordinates with C `round` (half away from zero), uses the inclusive size
 *   `x2 − x1 + 1` (at least 1) and bins `[floor(i·bin), ceil((i+1)·bin))` clipped to the map,
 *   all arithmetic in the input dtype (we apply `Math.fround` for float32 so bin edges agree bit for bit);
 * - RoIAlign does not round; `aligned` shifts by −0.5; the grid is `samplingRatio` or `ceil(roi/out)`;
 *   samples outside `[−1, H] × [−1, W]` contribute 0 but are still counted in the divisor.
 */
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { batchedInput2d, batchedShape2d, sizeOption } from "../check.js";
import { checkAlloc } from "../tensor/limits.js";
import { Tensor } from "../tensor/tensor.js";

/** `-FLT_MAX`, RoIPool's initial maximum for a non-empty bin (torchvision uses it for float and double). */
export const NEG_FLT_MAX = -3.4028234663852886e38;

/** C/C++ `round`: halves go away from zero (JS `Math.round(-2.5)` is −2; C gives −3). */
export function cRound(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

const identity = (v: number): number => v;

/** Rounding of one arithmetic result to the input dtype: float32 → Math.fround, float64 → exact. */
function rounderFor(dtype: string): (v: number) => number {
  return dtype === "float32" ? Math.fround : identity;
}

/** What both RoI ops know after validation: sizes, bins per RoI and each RoI's image. */
export interface RoiInput {
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly k: number;
  readonly ph: number;
  readonly pw: number;
  /** `[K, C, ph, pw]`. */
  readonly outShape: readonly number[];
  /** Image of each RoI. */
  readonly batch: Int32Array;
}

/** Checks shared by both ops: x `[N, C, H, W]`, boxes `[K, 5]` with finite values and valid batch indices. */
export function roiInput(op: string, x: unknown, boxes: unknown, outputSize: unknown): RoiInput & { coords: Float64Array } {
  batchedInput2d(op, "x", x);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (!(boxes instanceof Tensor)) throw new PoolkitTypeError(op, `boxes must be a Tensor of shape [K, 5], got ${show(boxes)}`);
  if (boxes.shape.length !== 2 || boxes.shape[1] !== 5) {
    throw new PoolkitRangeError(op, `boxes must have shape [K, 5] (batchIndex, x1, y1, x2, y2), got ${show(boxes.shape)}`);
  }
  if (outputSize === undefined) throw new PoolkitRangeError(op, `outputSize is required`);
  const [ph, pw] = sizeOption(op, "outputSize", outputSize, 2) as [number, number];
  const k = boxes.shape[0] as number;
  checkAlloc(op, [k, c, ph, pw], x.dtype);
  const src = boxes.data;
  const coords = new Float64Array(k * 4);
  const batch = new Int32Array(k);
  for (let r = 0; r < k; r++) {
    const b = Math.trunc(src[r * 5] as number);
    if (!Number.isFinite(src[r * 5] as number) || b < 0 || b >= n) {
      throw new PoolkitRangeError(op, `boxes[${r}] batch index must be in [0, ${n - 1}] for a batch of ${n}, got ${show(src[r * 5])}`);
    }
    batch[r] = b;
    for (let q = 0; q < 4; q++) {
      const v = src[r * 5 + 1 + q] as number;
      if (!Number.isFinite(v)) throw new PoolkitRangeError(op, `boxes[${r}] coordinates must be finite, got ${show(Array.from(src.subarray(r * 5, r * 5 + 5)))}`);
      coords[r * 4 + q] = v;
    }
  }
  return { n, c, h, w, k, ph, pw, outShape: [k, c, ph, pw], batch, coords };
}

/**
 * Box coordinates times `spatialScale`, in x's dtype, must stay finite (float32 overflows past
 * 3.4·10³⁸): an infinite edge would make every bin NaN and round to an arbitrary integer.
 */
function finiteScaled(op: string, r: number, dtype: string, values: readonly number[]): void {
  for (const v of values) {
    if (!Number.isFinite(v)) {
      throw new PoolkitRangeError(op, `boxes[${r}] coordinates times spatialScale overflow ${dtype}; got a box edge or size of ${show(v)}`);
    }
  }
}

/**
 * The plan arguments of both RoI ops: x `[N, C, H, W]` and boxes `[K, 5]` checked (the same messages
 * as {@link roiInput}), as `[x.shape, K]`. Box values are data, checked when the grid is planned.
 */
export function roiArgs(op: string, x: unknown, boxes: unknown): [readonly number[], number] {
  batchedInput2d(op, "x", x);
  if (!(boxes instanceof Tensor)) throw new PoolkitTypeError(op, `boxes must be a Tensor of shape [K, 5], got ${show(boxes)}`);
  if (boxes.shape.length !== 2 || boxes.shape[1] !== 5) {
    throw new PoolkitRangeError(op, `boxes must have shape [K, 5] (batchIndex, x1, y1, x2, y2), got ${show(boxes.shape)}`);
  }
  return [x.shape, boxes.shape[0] as number];
}

/** Output shape `[K, C, ph, pw]` without reading any values (descriptor `outputShape`). */
export function roiOutputShape(op: string, xShape: readonly number[], k: number, outputSize: unknown): number[] {
  batchedShape2d(op, "x", xShape);
  if (!(Number.isInteger(k) && k >= 0)) throw new PoolkitRangeError(op, `the number of boxes must be a non-negative integer, got ${show(k)}`);
  const [ph, pw] = sizeOption(op, "outputSize", outputSize, 2) as [number, number];
  return [k, xShape[1] ?? 0, ph, pw];
}

/** RoIPool's bins: row and column ranges per RoI, shared by forward, backward and `outputShape`. */
export interface RoiPoolPlan extends RoiInput {
  /** Row range of bin (r, i): `[hStart, hEnd)` at index r·ph + i, clipped to [0, H]. */
  readonly hStart: Int32Array;
  readonly hEnd: Int32Array;
  /** Column range of bin (r, j) at index r·pw + j, clipped to [0, W]. */
  readonly wStart: Int32Array;
  readonly wEnd: Int32Array;
}

/**
 * Plan RoIPool (validates x, boxes and outputSize): per RoI, rows `[⌊i·binH⌋, ⌈(i+1)·binH⌉) + y1` and
 * columns likewise, clipped to the map, with C-rounded coordinates and the inclusive size (≥ 1).
 */
export function planRoiPool(op: string, x: Tensor, boxes: unknown, outputSize: unknown, spatialScale: number): RoiPoolPlan {
  const inp = roiInput(op, x, boxes, outputSize);
  const { k, h, w, ph, pw, coords } = inp;
  const f = rounderFor(x.dtype);
  const scale = f(spatialScale);
  const hStart = new Int32Array(k * ph);
  const hEnd = new Int32Array(k * ph);
  const wStart = new Int32Array(k * pw);
  const wEnd = new Int32Array(k * pw);
  const clamp = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
  for (let r = 0; r < k; r++) {
    // Coordinates are first converted to the input dtype (torchvision requires boxes of x's dtype).
    const x1 = cRound(f(f(coords[r * 4] as number) * scale));
    const y1 = cRound(f(f(coords[r * 4 + 1] as number) * scale));
    const x2 = cRound(f(f(coords[r * 4 + 2] as number) * scale));
    const y2 = cRound(f(f(coords[r * 4 + 3] as number) * scale));
    finiteScaled(op, r, x.dtype, [x1, y1, x2, y2]);
    const roiW = Math.max(x2 - x1 + 1, 1);
    const roiH = Math.max(y2 - y1 + 1, 1);
    const binH = f(roiH / ph);
    const binW = f(roiW / pw);
    for (let i = 0; i < ph; i++) {
      hStart[r * ph + i] = clamp(Math.floor(f(i * binH)) + y1, h);
      hEnd[r * ph + i] = clamp(Math.ceil(f((i + 1) * binH)) + y1, h);
    }
    for (let j = 0; j < pw; j++) {
      wStart[r * pw + j] = clamp(Math.floor(f(j * binW)) + x1, w);
      wEnd[r * pw + j] = clamp(Math.ceil(f((j + 1) * binW)) + x1, w);
    }
  }
  return { ...inp, hStart, hEnd, wStart, wEnd };
}

/**
 * One axis of RoIAlign's separable sample grid. Sample s of RoI r along this axis sits at flat index
 * `off[r] + s` (s = bin·grid + g). `low = −1` marks a sample outside [−1, size] (it reads 0).
 * Bilinear weights: `wLow = 1 − frac`, `wHigh = frac`; `high === low` at the last row/column.
 */
export interface AlignAxis {
  readonly off: Int32Array;
  readonly grid: Int32Array;
  readonly low: Int32Array;
  readonly high: Int32Array;
  readonly wLow: Float64Array;
  readonly wHigh: Float64Array;
}

/**
 * Most bilinear samples one RoI may take, `ph·gh × pw·gw` (bins × samples per bin): 2²⁴ ≈ 1.7·10⁷,
 * about a second of work per box and channel in the TypeScript kernel. It bounds both a huge
 * `samplingRatio` (10⁶ would be 10¹² samples per bin) and the adaptive grid `⌈roi/out⌉` of an
 * absurdly large box; torchvision has no such cap and runs for hours.
 */
export const MAX_SAMPLES_PER_ROI = 2 ** 24;

/**
 * Refuse a sampling grid of `gh × gw` per bin over `ph × pw` bins past {@link MAX_SAMPLES_PER_ROI}.
 * `which` names the box (adaptive grid) or the option (fixed samplingRatio) in the message.
 */
export function checkSampling(op: string, ph: number, pw: number, gh: number, gw: number, which: string, note = ""): void {
  const total = ph * gh * pw * gw;
  if (total > MAX_SAMPLES_PER_ROI) {
    throw new PoolkitRangeError(
      op,
      `${which} needs a ${gh} × ${gw} sampling grid per bin, ${total} samples over its ${ph} × ${pw} bins, ` +
        `more than the ${MAX_SAMPLES_PER_ROI} (2^24) samples per box poolkit allows${note}; use a smaller samplingRatio or outputSize`,
    );
  }
}

/** RoIAlign's separable bilinear sample grid and per-RoI divisors. */
export interface RoiAlignPlan extends RoiInput {
  readonly ys: AlignAxis;
  readonly xs: AlignAxis;
  /** Divisor of each RoI: max(gridH·gridW, 1) — out-of-range samples are counted too. */
  readonly count: Float64Array;
}

/**
 * Plan RoIAlign (validates x, boxes and outputSize): sample rows/columns per bin with their bilinear
 * corners and weights (torchvision's border rules), and the divisor max(gridH·gridW, 1) per RoI.
 */
export function planRoiAlign(
  op: string,
  x: Tensor,
  boxes: unknown,
  outputSize: unknown,
  spatialScale: number,
  samplingRatio: number,
  aligned: boolean,
): RoiAlignPlan {
  const inp = roiInput(op, x, boxes, outputSize);
  const { k, h, w, ph, pw, coords } = inp;
  if (samplingRatio > 0) checkSampling(op, ph, pw, samplingRatio, samplingRatio, `samplingRatio ${samplingRatio}`);
  const f = rounderFor(x.dtype);
  const scale = f(spatialScale);
  const offset = aligned ? 0.5 : 0;
  const starts = new Float64Array(2 * k);
  const bins = new Float64Array(2 * k);
  const gridH = new Int32Array(k);
  const gridW = new Int32Array(k);
  const count = new Float64Array(k);
  for (let r = 0; r < k; r++) {
    const x1 = f(f(f(coords[r * 4] as number) * scale) - offset);
    const y1 = f(f(f(coords[r * 4 + 1] as number) * scale) - offset);
    const x2 = f(f(f(coords[r * 4 + 2] as number) * scale) - offset);
    const y2 = f(f(f(coords[r * 4 + 3] as number) * scale) - offset);
    finiteScaled(op, r, x.dtype, [x1, y1, x2, y2, f(x2 - x1), f(y2 - y1)]);
    let roiW = f(x2 - x1);
    let roiH = f(y2 - y1);
    // Legacy (aligned = false) forces malformed RoIs to 1×1; aligned RoIs may be empty or negative.
    if (!aligned) {
      roiW = Math.max(roiW, 1);
      roiH = Math.max(roiH, 1);
    }
    const binH = f(roiH / ph);
    const binW = f(roiW / pw);
    const gh = samplingRatio > 0 ? samplingRatio : Math.ceil(f(roiH / ph));
    const gw = samplingRatio > 0 ? samplingRatio : Math.ceil(f(roiW / pw));
    // The adaptive grid grows with the box: refuse boxes whose grid would take hours.
    if (samplingRatio <= 0) checkSampling(op, ph, pw, Math.max(gh, 0), Math.max(gw, 0), `boxes[${r}]`, ` (box ${roiH} × ${roiW} after spatialScale; pass a positive samplingRatio)`);
    starts[2 * r] = y1;
    starts[2 * r + 1] = x1;
    bins[2 * r] = binH;
    bins[2 * r + 1] = binW;
    gridH[r] = Math.max(gh, 0);
    gridW[r] = Math.max(gw, 0);
    count[r] = Math.max(gh * gw, 1);
  }
  const ys = alignAxis(op, k, ph, h, gridH, starts, bins, 0, f);
  const xs = alignAxis(op, k, pw, w, gridW, starts, bins, 1, f);
  return { ...inp, ys, xs, count };
}

function alignAxis(
  op: string,
  k: number,
  bins: number,
  size: number,
  grid: Int32Array,
  starts: Float64Array,
  binSizes: Float64Array,
  which: 0 | 1,
  f: (v: number) => number,
): AlignAxis {
  const off = new Int32Array(k + 1);
  // Float64 offsets: K boxes of up to 2^24 samples each pass 2^31; the size check below refuses those.
  let total = 0;
  for (let r = 0; r < k; r++) total += bins * (grid[r] as number);
  checkAlloc(op, total, "float64", "sample grid of all boxes");
  for (let r = 0; r < k; r++) off[r + 1] = (off[r] as number) + bins * (grid[r] as number);
  const low = new Int32Array(total);
  const high = new Int32Array(total);
  const wLow = new Float64Array(total);
  const wHigh = new Float64Array(total);
  for (let r = 0; r < k; r++) {
    const g = grid[r] as number;
    const start = starts[2 * r + which] as number;
    const bin = binSizes[2 * r + which] as number;
    let s = off[r] as number;
    for (let b = 0; b < bins; b++) {
      for (let q = 0; q < g; q++, s++) {
        // torchvision: start + b·bin + (q + .5)·bin / grid, each step in the input dtype.
        let v = f(f(start + f(b * bin)) + f(f((q + 0.5) * bin) / g));
        if (!(v >= -1 && v <= size)) {
          low[s] = -1;
          high[s] = -1;
          continue;
        }
        if (v <= 0) v = 0;
        let lo = Math.floor(v);
        let hi: number;
        if (lo >= size - 1) {
          lo = hi = size - 1;
          v = lo;
        } else hi = lo + 1;
        const frac = f(v - lo);
        low[s] = lo;
        high[s] = hi;
        wHigh[s] = frac;
        wLow[s] = f(1 - frac);
      }
    }
  }
  return { off, grid, low, high, wLow, wHigh };
}
