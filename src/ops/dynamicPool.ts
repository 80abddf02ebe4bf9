/**
 * DynOPool (Jang, Chu, Kim & Han, "Pooling Revisited: Your Receptive Field is Suboptimal", CVPR 2022,
 * arXiv 2205.15254): pooling whose output size and receptive field are learned.
 *
 * The paper's method section and official code were not available: this follows the reconstruction
 * in docs/methods/dynopool.md. Verified facts: a learned per-axis scale factor r sets the
 * output size; each output cell has four query points inside it, each a bilinear interpolation of the
 * 4 nearest pixels; the four are aggregated by max; a differentiable quantisation makes the size an
 * integer; an extra loss term penalises the computational cost. Everything else is our choice and is
 * documented on {@link dynamicPool2d}.
 */
import { expectFloatTensor, expectOptions, expectShape, leadDims, numberOption, spatialInput, spatialShapeInput, type SpatialInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { dynamicGrid, type DynamicAxis } from "../geometry/dynamic.js";
import { kernel } from "../kernels/registry.js";
import { dynamicPoolBackward, dynamicPoolForward } from "../kernels/region.js";
import { defineOp } from "../op.js";
import { allocArray } from "../tensor/alloc.js";
import type { FloatArray } from "../tensor/dtype.js";
import { Tensor, emptyTensor, fromArray, zeros } from "../tensor/tensor.js";
import { checkAlloc } from "../tensor/limits.js";

const NAME = "dynamicPool2d";
/** Default query offset, as a fraction of the cell: the centres of the four sub-cells. */
export const DYNAMIC_DEFAULT_DELTA = 0.25;

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface DynamicPoolOptions {}
const KNOWN: readonly string[] = [];

/** Parse the grid of `r` (read once, at call time). */
function readRatios(op: string, r: unknown, x: Tensor | null, spatial: readonly number[]): { axes: DynamicAxis[]; values: number[] } {
  let values: number[];
  if (r instanceof Tensor) {
    expectFloatTensor(op, "r", r);
    expectShape(op, "r", r, [spatial.length]);
    if (x && r.dtype !== x.dtype) throw new PoolkitTypeError(op, `r must have x's dtype ${x.dtype}, got ${r.dtype}`);
    values = Array.from(r.data);
  } else if (Array.isArray(r) && r.every((v) => typeof v === "number")) {
    values = r as number[];
  } else if (typeof r === "number") {
    values = spatial.map(() => r);
  } else {
    throw new PoolkitTypeError(op, `r must be a Tensor of shape [${spatial.length}] (or numbers for outputShape), got ${show(r)}`);
  }
  return { axes: dynamicGrid(op, spatial, values), values };
}

function readDelta(delta: unknown, x: Tensor): { dh: number; dw: number } {
  if (delta === undefined || delta === null) return { dh: DYNAMIC_DEFAULT_DELTA, dw: DYNAMIC_DEFAULT_DELTA };
  expectFloatTensor(NAME, "delta", delta);
  expectShape(NAME, "delta", delta, [2]);
  if (delta.dtype !== x.dtype) throw new PoolkitTypeError(NAME, `delta must have x's dtype ${x.dtype}, got ${delta.dtype}`);
  const dh = delta.data[0] as number;
  const dw = delta.data[1] as number;
  if (!Number.isFinite(dh) || !Number.isFinite(dw)) {
    throw new PoolkitRangeError(NAME, `delta must be finite, got ${show([dh, dw])}`);
  }
  return { dh, dw };
}



/** The plan of DynOPool: the input layout and the grid the scale factors r give (r's values are part of the plan). */
export interface DynamicPoolPlan extends SpatialInput {
  readonly axes: readonly DynamicAxis[];
  readonly planes: number;
  readonly outShape: readonly number[];
}

/**
 * The one plan of DynOPool for an input shape and scale factors `r` (a `[2]` Tensor, two numbers or
 * one number): `max(1, round(H / r_h))` × `max(1, round(W / r_w))`.
 */
function planDynamic(shape: readonly number[], r: Tensor | readonly number[] | number): DynamicPoolPlan {
  const input = spatialShapeInput(NAME, "x", shape, 2);
  const { axes } = readRatios(NAME, r, null, input.spatial);
  const outShape = [...leadDims(input), ...axes.map((a) => a.outSize)];
  checkAlloc(NAME, outShape);
  return { ...input, axes, planes: input.n * input.c, outShape };
}

/**
 * DynOPool: pooling with a learned, per-axis scale factor `r = (r_h, r_w)` and learned query offsets
 * (Jang, Chu, Kim & Han, CVPR 2022, arXiv 2205.15254). **A reconstruction**: the paper's method
 * section and code were unavailable; the choices below follow docs/methods/dynopool.md and are ours to confirm.
 *
 * Signature: `dynamicPool2d(x, r, delta?, opts?)`. `r`: `[2]`, scale factors (input/output size),
 * ≥ 1/16. `delta`: `[2]` query offsets as a fraction of the cell (default 0.25 each, the sub-cell
 * centres; values in (0, 0.5) keep the queries inside their cell). Both share x's dtype.
 *
 * Shapes: `[N, C, H, W]` (or `[C, H, W]`) → `[N, C, H_out, W_out]`, `H_out = max(1, round(H / r_h))`
 * (halves round up), likewise W. **The output shape depends on r's value**; `outputShape(shape, r)`
 * takes r (a Tensor or numbers).
 *
 * Per output cell (i, j), with the effective ratio `r̂ = H / H_out` (so the grid tiles the input):
 * centre `p = ((i + ½)·r̂_h, (j + ½)·r̂_w)` in continuous coordinates (pixel k spans [k, k+1));
 * four queries `p ± (δ_h·r̂_h, δ_w·r̂_w)`; each sampled bilinearly at index coordinates `q − ½`
 * (align_corners=False) clamped to `[0, size − 1]` (border replication); the output is their max.
 * With `r = (2, 2)` and the default δ this is exactly `maxPool2d(x, { kernelSize: 2 })` on even sizes.
 *
 * Gradients: `backward(dy)` returns `[dx, dr, ddelta]` (`ddelta` null when delta was not given). The
 * max routes the gradient to the winning query, then through its bilinear weights to 4 pixels and
 * through its coordinates to r̂ and δ. The rounding is straight-through (`∂r̂/∂r := 1`), our reading of
 * the paper's "differentiable quantization trick"; the paper's reparameterisation of r is left to the
 * caller (parametrise r and chain its gradient). ∂y/∂r grows with the cell index, since the queries
 * of cell i move by i + ½ ± δ per unit of r̂. At integer query coordinates (e.g. r = 2) the bilinear
 * weights have a kink; the gradient there is the one-sided (from above) derivative.
 *
 * The cost term is {@link dynamicPoolCost}.
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const x = tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);
 * dynamicPool2d(x, tensor([2, 2]));     // [[[[5, 7], [13, 15]]]] = maxPool2d(x, { kernelSize: 2 })
 * dynamicPool2d(x, tensor([1.5, 1.5])); // 3×3: [[2.5, 3.8333, 5], [7.8333, 9.1667, 10.3333], [12.5, 13.8333, 15]]
 */
export const dynamicPool2d = defineOp(NAME, {
  planArgs: (x: Tensor, r: Tensor, delta?: Tensor | null, opts?: DynamicPoolOptions): [readonly number[], readonly number[]] => {
    expectOptions<DynamicPoolOptions>(NAME, opts, KNOWN);
    const input = spatialInput(NAME, "x", x, 2);
    if (!(r instanceof Tensor)) throw new PoolkitTypeError(NAME, `r must be a Tensor of shape [2], got ${show(r)}`);
    return [x.shape, readRatios(NAME, r, x, input.spatial).values];
  },
  plan: planDynamic,
  forward: (plan, x, _r, delta) => {
    const [H, W] = plan.spatial as [number, number];
    const { dh, dw } = readDelta(delta, x);
    const [ah, aw] = plan.axes as [DynamicAxis, DynamicAxis];
    const geo = allocArray("float64", 4);
    geo.set([ah.ratio, aw.ratio, dh, dw]);
    const dtype = x.dtype as "float32" | "float64";
    const planes = plan.planes;
    // output and winning query where the backend keeps tensors (the kernel writes every element); views read at each call
    const output = emptyTensor(plan.outShape, dtype);
    const win = emptyTensor(plan.outShape, "int32");
    kernel("dynamicPool.forward", dtype, dynamicPoolForward)(x.data as FloatArray, output.data as FloatArray, win.data as Int32Array, planes, H, W, ah.outSize, aw.outSize, geo);
    return {
      output,
      backward: (dy: Tensor) => {
        const dx = zeros(x.shape, dtype);
        const gGeo = allocArray("float64", 4);
        kernel("dynamicPool.backward", dtype, dynamicPoolBackward)(
          x.data as FloatArray, dy.data as FloatArray, win.data as Int32Array, dx.data as FloatArray, gGeo, planes, H, W, ah.outSize, aw.outSize, geo,
        );
        const dr = allocArray(dtype, 2);
        dr[0] = gGeo[0] as number;
        dr[1] = gGeo[1] as number;
        let dd: Tensor | null = null;
        if (delta instanceof Tensor) {
          const a = allocArray(dtype, 2);
          a[0] = gGeo[2] as number;
          a[1] = gGeo[3] as number;
          dd = fromArray(a, [2]);
        }
        return [dx, fromArray(dr, [2]), dd];
      },
    };
  },
});

export interface DynamicPoolCostOptions {
  /** The shape of the feature map DynOPool pools, `[N, C, H, W]`, `[C, H, W]` or `[H, W]`. Required. */
  inputShape: readonly number[];
  /**
   * FLOPs that the later layers spend per spatial position of this layer's output (their maps scale
   * with it), e.g. `Σ_l k_l²·C_in,l·C_out,l·(H_l·W_l)/(H_out·W_out)`. Default 1 (cost in output pixels).
   */
  flopsPerPixel?: number;
  /** If given, the cost becomes the hinge `max(0, cost − budget) / budget` (relative excess). */
  budget?: number;
}

const COST = "dynamicPoolCost";

/** The plan of the DynOPool cost: the pooled map's H and W, FLOPs per pixel and the budget. */
export interface DynamicPoolCostPlan {
  readonly outShape: readonly number[];
  readonly h: number;
  readonly w: number;
  readonly flopsPerPixel: number;
  readonly budget: number | null;
}

function planCost(opts: DynamicPoolCostOptions): DynamicPoolCostPlan {
  const o = expectOptions<DynamicPoolCostOptions>(COST, opts, ["inputShape", "flopsPerPixel", "budget"]);
  if (o.inputShape === undefined) throw new PoolkitRangeError(COST, `inputShape is required`);
  const s = o.inputShape;
  if (!Array.isArray(s) || s.length < 2 || s.length > 4 || s.some((d) => typeof d !== "number" || !Number.isInteger(d) || d < 1)) {
    throw new PoolkitRangeError(COST, `inputShape must be [N, C, H, W], [C, H, W] or [H, W] of positive integers, got ${show(s)}`);
  }
  const fpp = numberOption(COST, "flopsPerPixel", o.flopsPerPixel, 1, { min: 0 });
  const budget = o.budget === undefined ? null : numberOption(COST, "budget", o.budget, 1, { min: 0, minExclusive: true });
  return { outShape: [], h: s[s.length - 2] as number, w: s[s.length - 1] as number, flopsPerPixel: fpp, budget };
}

/**
 * DynOPool's computational-cost term: `cost(r) = flopsPerPixel · (H / r_h) · (W / r_w)`, from the
 * **continuous** map size (no rounding, so it is smooth in r), or with `budget` the relative excess
 * `max(0, cost − budget) / budget`. Add `λ_c · cost` to the task loss; the paper's exact form
 * (hinge on a target or relative penalty) and λ_c are unverified, so both forms are offered.
 *
 * Shapes: `r` `[2]` → a scalar (shape `[]`) in r's dtype. `backward(dy)` returns `[dr]` with
 * `∂cost/∂r_h = −cost / r_h` (zero below the budget).
 *
 * @example
 * const { output, backward } = dynamicPoolCost.vjp(tensor([2, 2]), { inputShape: [1, 64, 32, 32] });
 * output.data[0]; // 256 = 16 · 16
 * backward(tensor(1, []))[0]; // [-128, -128]
 */
export const dynamicPoolCost = defineOp(COST, {
  planArgs: (_r: Tensor, opts: DynamicPoolCostOptions): [DynamicPoolCostOptions] => [opts],
  plan: planCost,
  forward: ({ h: H, w: W, flopsPerPixel: fpp, budget }, r) => {
    expectFloatTensor(COST, "r", r);
    expectShape(COST, "r", r, [2]);
    const rv = Array.from(r.data);
    dynamicGrid(COST, [H, W], rv); // the same validation as the op's r
    const rh = rv[0] as number;
    const rw = rv[1] as number;
    const cost = (fpp * (H / rh) * W) / rw;
    const dtype = r.dtype as "float32" | "float64";
    const active = budget === null || cost > budget;
    const scale = budget === null ? 1 : 1 / budget;
    const value = budget === null ? cost : Math.max(0, cost - budget) / budget;
    const output = emptyTensor([], dtype);
    (output.data as FloatArray)[0] = value;
    return {
      output,
      backward: (dy: Tensor) => {
        const g = dy.data[0] as number;
        const dr = zeros([2], dtype);
        const d = dr.data as FloatArray;
        if (active) {
          d[0] = (-g * scale * cost) / rh;
          d[1] = (-g * scale * cost) / rw;
        }
        return [dr];
      },
    };
  },
});
