/**
 * Max unpooling, PyTorch 1.13 CPU semantics (`F.max_unpool1d/2d/3d`,
 * aten/src/ATen/native/cpu/MaxUnpoolKernel.cpp, torch/nn/functional.py::_unpool_output_size):
 * a zero tensor of the unpooled size with each input value written at its index.
 */
import { expectFloatTensor, expectOptions, expectShape, expectTensor, leadDims, sizeOption, spatialInput, spatialShapeInput, type SpatialInput } from "../check.js";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { unpoolDefaultSize } from "../geometry/sliding.js";
import { kernel } from "../kernels/registry.js";
import { unpoolBackward, unpoolForward } from "../kernels/scatter.js";
import { defineOp } from "../op.js";
import { checkAlloc } from "../tensor/limits.js";
import type { FloatArray } from "../tensor/dtype.js";
import { emptyTensor, type Tensor } from "../tensor/tensor.js";

/** Options of `maxUnpool1d/2d/3d` (PyTorch's `MaxUnpoolNd` arguments, camelCased). */
export interface MaxUnpoolOptions {
  /** The pooling window size that produced the indices: a number or one per spatial dim. Required. */
  kernelSize: number | readonly number[];
  /** The pooling stride; defaults to `kernelSize`. */
  stride?: number | readonly number[] | null;
  /** The pooling padding. Default 0. */
  padding?: number | readonly number[];
  /**
   * Spatial output size (one per spatial dim, or with the leading N, C as PyTorch allows — those are
   * ignored, as in PyTorch). Each entry must lie strictly between `default − stride` and
   * `default + stride`. Default: `(In − 1)·stride + kernelSize − 2·padding`.
   */
  outputSize?: readonly number[] | null;
}

const UNPOOL_KEYS = ["kernelSize", "stride", "padding", "outputSize"] as const;

/**
 * @internal The unpooled spatial sizes for pooled spatial sizes `spatial` (the one place this op's
 * output size is computed: forward, `outputShape` and the registry's example indices use it).
 */
export function unpoolOutputSpatial(op: string, spatial: readonly number[], opts: unknown): { out: number[]; kernelSize: number[]; stride: number[]; padding: number[] } {
  const rank = spatial.length;
  const o = expectOptions<MaxUnpoolOptions>(op, opts, UNPOOL_KEYS);
  if (o.kernelSize === undefined) throw new PoolkitRangeError(op, `kernelSize is required`);
  const kernelSize = sizeOption(op, "kernelSize", o.kernelSize, rank, 1);
  const stride = o.stride === undefined || o.stride === null ? kernelSize : sizeOption(op, "stride", o.stride, rank, 1);
  const padding = sizeOption(op, "padding", o.padding ?? 0, rank, 0);
  const defaults = spatial.map((inSize, i) => unpoolDefaultSize(inSize, kernelSize[i] as number, stride[i] as number, padding[i] as number));
  let out = defaults;
  const os = o.outputSize;
  if (os !== undefined && os !== null) {
    if (!Array.isArray(os) || (os.length !== rank && os.length !== rank + 2)) {
      throw new PoolkitTypeError(op, `outputSize must be an array of ${rank} or ${rank + 2} numbers, got ${show(os)}`);
    }
    const tail = os.slice(os.length - rank) as unknown[];
    if (tail.some((v) => typeof v !== "number" || !Number.isInteger(v) || v < 1)) {
      throw new PoolkitRangeError(op, `outputSize must hold positive integers, got ${show(os)}`);
    }
    out = tail as number[];
    for (let i = 0; i < rank; i++) {
      const d = defaults[i] as number;
      const s = stride[i] as number;
      const v = out[i] as number;
      if (!(v > d - s && v < d + s)) {
        throw new PoolkitRangeError(
          op,
          `outputSize must lie strictly between default − stride and default + stride, got outputSize ${show(os)}: ` +
            `dim ${i} must be between ${d - s} and ${d + s} (exclusive)`,
        );
      }
    }
  }
  if (out.some((v) => v < 1)) {
    throw new PoolkitRangeError(
      op,
      `output size must be positive, got ${show(out)} from input size ${show(spatial)}, kernelSize ${show(o.kernelSize)}, ` +
        `stride ${show(o.stride ?? o.kernelSize)} and padding ${show(o.padding ?? 0)}`,
    );
  }
  return { out, kernelSize, stride, padding };
}

function outShapeOf(input: SpatialInput, out: readonly number[]): number[] {
  return [...leadDims(input), ...out];
}

/** The plan of max unpooling: input layout, output spatial size and plane sizes. */
export interface MaxUnpoolPlan extends SpatialInput {
  readonly outSpatial: readonly number[];
  readonly outShape: readonly number[];
  readonly planes: number;
  readonly inPlane: number;
  readonly outPlane: number;
}

/** The one plan of a max-unpooling op: shape and options parsed and checked once. */
function planUnpool(name: string, rank: 1 | 2 | 3) {
  return (shape: readonly number[], opts: MaxUnpoolOptions): MaxUnpoolPlan => {
    const input = spatialShapeInput(name, "x", shape, rank);
    const { out } = unpoolOutputSpatial(name, input.spatial, opts);
    const outShape = outShapeOf(input, out);
    checkAlloc(name, outShape);
    return {
      ...input,
      outSpatial: out,
      outShape,
      planes: input.n * input.c,
      inPlane: input.spatial.reduce((a, b) => a * b, 1),
      outPlane: out.reduce((a, b) => a * b, 1),
    };
  };
}

function maxUnpoolN(rank: 1 | 2 | 3) {
  const name = `maxUnpool${rank}d`;
  return defineOp(name, {
    planArgs: (x: Tensor, indices: Tensor, opts: MaxUnpoolOptions): [readonly number[], MaxUnpoolOptions] => {
      expectFloatTensor(name, "x", x);
      spatialInput(name, "x", x, rank);
      expectTensor(name, "indices", indices);
      if (indices.dtype !== "int32") throw new PoolkitTypeError(name, `indices must be an int32 Tensor, got ${indices.dtype}`);
      expectShape(name, "indices", indices, x.shape);
      return [x.shape, opts];
    },
    plan: planUnpool(name, rank),
    forward: (plan, x, indices) => {
      const { planes, inPlane, outPlane } = plan;
      checkAlloc(name, plan.outShape, x.dtype);
      const output = emptyTensor(plan.outShape, x.dtype); // every element written by the kernel; views read at the call
      // the kernel checks every index as it scatters (one pass over them) and names the first outside the plane
      const bad = kernel("maxUnpool.forward", x.dtype, unpoolForward)(x.data as FloatArray, indices.data as Int32Array, output.data as FloatArray, planes, inPlane, outPlane);
      if (bad >= 0) {
        output.dispose();
        throw new PoolkitRangeError(
          name,
          `indices must lie in [0, ${outPlane}) for an output plane of size ${show(plan.outSpatial)}, got index ${indices.data[bad] as number} at flat position ${bad}`,
        );
      }
      const xShape = x.shape;
      const xDtype = x.dtype;
      return {
        output,
        backward: (dy: Tensor) => {
          const dx = emptyTensor(xShape, xDtype);
          kernel("maxUnpool.backward", xDtype, unpoolBackward)(dy.data as FloatArray, indices.data as Int32Array, dx.data as FloatArray, planes, inPlane, outPlane);
          return [dx, null];
        },
      };
    },
  });
}

/**
 * 1-d max unpooling, as PyTorch's `F.max_unpool1d`: the partial inverse of {@link maxPool1dWithIndices}.
 *
 * Shapes: x and indices `[N, C, L]` (or unbatched `[C, L]`) → `[N, C, Lo]` (or `[C, Lo]`), with
 * `Lo = (L − 1)·stride + kernelSize − 2·padding` unless `outputSize` is given; an explicit size must
 * satisfy `default − stride < Lo < default + stride` (strict, as PyTorch).
 *
 * Output is zero except `y[plane][indices[i]] = x[i]`. Indices are read against the *output* plane,
 * so unpooling to a different size than the pooled input's places values elsewhere (as PyTorch,
 * silently); an index outside the output plane is an error naming it. Backward is a gather,
 * `dx[i] = dy[plane][indices[i]]`; the gradient for `indices` is null. Duplicate indices (from
 * overlapping pooling windows) carry the same value; the forward keeps the last write and the gather
 * gives each duplicate the gradient, as PyTorch's derivative does.
 *
 * Deviation: `padding` is not limited to half the kernel (PyTorch does not check it here either); the
 * resulting size must be positive.
 *
 * Reference: PyTorch `aten/src/ATen/native/cpu/MaxUnpoolKernel.cpp`. Paper: Zeiler & Fergus,
 * Visualizing and Understanding Convolutional Networks, ECCV 2014 (switches for unpooling).
 *
 * Inputs are read, never written. Writing into an input's `data` after passing it to this op is
 * not supported — in particular before `backward` has run, which may read the inputs again; treat
 * tensors as immutable, as TensorFlow.js does (make a new tensor instead).
 *
 * @example
 * const { output, indices } = maxPool1dWithIndices(x, { kernelSize: 2 });
 * const up = maxUnpool1d(output, indices, { kernelSize: 2, outputSize: [x.shape[2]] });
 */
export const maxUnpool1d = maxUnpoolN(1);

/**
 * 2-d max unpooling, as PyTorch's `F.max_unpool2d`: `[N, C, H, W]` (or `[C, H, W]`) values and int32
 * indices `h·W + w` → `[N, C, Ho, Wo]`, each size `(In − 1)·s + k − 2p` unless `outputSize` (2
 * entries, or 4 with N, C first) is given. See {@link maxUnpool1d}.
 *
 * @example
 * // a 5×5 input pooled with k = s = 2 needs outputSize [5, 5] to restore its maxima
 * const { output, indices } = maxPool2dWithIndices(x, { kernelSize: 2 });
 * maxUnpool2d(output, indices, { kernelSize: 2, outputSize: [5, 5] });
 */
export const maxUnpool2d = maxUnpoolN(2);

/**
 * 3-d max unpooling, as PyTorch's `F.max_unpool3d`: `[N, C, D, H, W]` values and indices
 * `d·H·W + h·W + w` → `[N, C, Do, Ho, Wo]`. See {@link maxUnpool1d}.
 *
 * @example
 * maxUnpool3d(output, indices, { kernelSize: 2 });
 */
export const maxUnpool3d = maxUnpoolN(3);
