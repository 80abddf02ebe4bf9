/**
 * Every registry method as a TensorFlow.js op with poolkit's exact gradient.
 *
 * `ops.<exportName>(x, ...inputs, options?)` takes and returns tf.Tensors. The forward pass runs
 * poolkit's op (`op.vjp`) on the CPU — the inputs are read with `dataSync()` — and the gradient is
 * wired with `tf.customGrad` to the backward closure of that very forward pass, so `tf.grad`,
 * `tf.variableGrads` and the optimizers see poolkit's exact vector-Jacobian product, including the
 * gradients of learnable inputs (mixing weights, DPP's α/λ, ...), and random ops backpropagate through
 * the same draws they made.
 *
 * Layout: channels-last by default (`[N, L, C]`, `[N, H, W, C]`, `[N, D, H, W, C]`, TensorFlow.js's
 * convention); `dataFormat: "channelsFirst"` takes poolkit's `[N, C, ...]` as is. In channels-last mode
 * `x` and every other feature-map input (same rank as `x`, not a learnable parameter: LIP's logits,
 * a second bilinear stream, max-unpool indices) is transposed to channels-first, and an output of rank
 * ≥ 3 is transposed back (`[N, C, ...S]` → `[N, ...S, C]`, RoI outputs `[K, C, oh, ow]` →
 * `[K, oh, ow, C]`); rank-2 outputs (`[N, features]`: global, covariance, pyramid and bilinear pooling)
 * keep poolkit's feature order. Learnable parameters and boxes are layout-free and pass as they are.
 * Because the very same poolkit kernel runs on the transposed input, the result equals the core op's
 * exactly (float32). An optional tensor input can be left out with `null` (low-rank bilinear's biases).
 * tfjs ops take batched input only: an unbatched `[C, ...S]` has no channels-last twin that could be
 * told apart from a batch.
 *
 * Why not TensorFlow.js's own pooling gradients: its average-pool backward re-derives the geometry and
 * drops `dimRoundingMode` / treats clipped "same" windows as full, so its gradient is wrong whenever
 * padding or ceil rounding is involved (test/tfjs/avgpool-grad-bug.test.ts); poolkit's backward uses
 * the forward's own window plan.
 *
 * TensorFlow.js tensors are float32 here; the core op computes in float32 too.
 */
import type { TfOpName, TfOpWithIndicesName } from "./names.js";
import { coreOptionKinds, type CoreArgs, type TfArgs } from "./options.js";
import * as tf from "@tensorflow/tfjs-core";
import { PoolkitRangeError, PoolkitTypeError, show } from "../errors.js";
import { isPlainObject, kindOf } from "../check.js";
import * as poolkit from "../index.js";
import { listPools, type AnyOp, type InputSpec, type PoolMethod } from "../registry.js";
import { Tensor, tidy, track } from "../tensor/tensor.js";
import type { Grads, VJP } from "../op.js";
import { fromCore, isTfTensor, parseDataFormat, toCore, type DataFormat } from "./convert.js";

/** Options of an op whose name is known only at run time: any core options plus `dataFormat`. */
export type AnyTfOpOptions = { readonly [option: string]: unknown; readonly dataFormat?: DataFormat };

/** The result of an op whose core op returns `{ output, indices }`. */
export interface TfWithIndices {
  output: tf.Tensor;
  indices: tf.Tensor;
}

/** What a tfjs op says about itself. */
export interface TfOpInfo {
  readonly opName: string;
  readonly method: PoolMethod;
  readonly rank: 1 | 2 | 3;
}

/** Arguments of an op whose name is known only at run time: tensors (null for a left-out optional input), then the options. */
export type TfOpArg = tf.Tensor | null | AnyTfOpOptions | undefined;

/**
 * The TensorFlow.js op `ops.<N>`: the core op's parameters with tf.Tensors for poolkit Tensors and
 * `dataFormat` added to its options, e.g. `ops.softPool2d(x: tf.Tensor, opts: SoftPoolOptions & { dataFormat? })`.
 */
export type TfPoolOp<N extends TfOpName> = ((...args: TfArgs<CoreArgs<N>>) => tf.Tensor) & TfOpInfo;

/** `opsWithIndices.<N>` (`maxPool2dWithIndices`, ...) → `{ output, indices }`: indices are int32, laid out like the output. */
export type TfPoolOpWithIndices<N extends TfOpWithIndicesName> = ((...args: TfArgs<CoreArgs<N>>) => TfWithIndices) & TfOpInfo;

/** A tfjs op made from a method not known at compile time (`createOps` over a custom method list). */
export type AnyTfPoolOp = ((...args: TfOpArg[]) => tf.Tensor) & TfOpInfo;

/** An index-returning tfjs op made from a method not known at compile time. */
export type AnyTfPoolOpWithIndices = ((...args: TfOpArg[]) => TfWithIndices) & TfOpInfo;

/** The type of {@link ops}: one typed op per registry export. */
export type TfOps = { readonly [N in TfOpName]: TfPoolOp<N> };

/** The type of {@link opsWithIndices}. */
export type TfOpsWithIndices = { readonly [N in TfOpWithIndicesName]: TfPoolOpWithIndices<N> };

/** Is this extra input a feature map laid out like `x` (so transposed with it)? */
export function isFeatureMapInput(spec: InputSpec | undefined, t: tf.Tensor, x: tf.Tensor): boolean {
  if (spec?.role === "learnable") return false;
  return t.rank === x.rank && t.rank >= 3 && t.shape[0] === x.shape[0];
}

/** Positional tensor arguments (null where an optional input is left out, e.g. low-rank bilinear's biases) and the options. */
function splitArgs(name: string, args: unknown[]): { slots: (tf.Tensor | null)[]; options: AnyTfOpOptions } {
  let options: AnyTfOpOptions = {};
  let end = args.length;
  const last = args[args.length - 1];
  if (args.length > 0 && !isTfTensor(last)) {
    // The core's rule and message: a plain object only (a Map or a boxed number would be read as empty).
    if (last !== undefined && !isPlainObject(last)) throw new PoolkitTypeError(name, `options must be a plain object, got ${kindOf(last)}`);
    options = (last ?? {}) as AnyTfOpOptions;
    end--;
  }
  const slots: (tf.Tensor | null)[] = [];
  for (let i = 0; i < end; i++) {
    const t = args[i];
    if (i > 0 && t === null) {
      slots.push(null);
      continue;
    }
    if (!isTfTensor(t)) {
      const what = t instanceof Tensor ? "a poolkit Tensor (use the core op)" : show(t);
      throw new PoolkitTypeError(name, i === 0 ? `x must be a tf.Tensor, got ${what}` : `argument ${i} must be a tf.Tensor or null, got ${what}`);
    }
    slots.push(t);
  }
  if (slots.length === 0) throw new PoolkitTypeError(name, `x must be a tf.Tensor, got ${show(args[0])}`);
  return { slots, options };
}

interface PrimaryResult {
  output: Tensor;
  indices?: Tensor;
}

function primaryOf(name: string, out: unknown): PrimaryResult {
  if (out instanceof Tensor) return { output: out };
  const o = out as { output?: unknown; indices?: unknown };
  if (o && o.output instanceof Tensor) return { output: o.output, ...(o.indices instanceof Tensor ? { indices: o.indices } : {}) };
  throw new PoolkitTypeError(name, `the core op returned ${show(out)}, which the tfjs adapter cannot convert`);
}

/** Wrap one core op (a method at one spatial rank) as a TensorFlow.js op. */
export function makeTfOp(method: PoolMethod, rank: 1 | 2 | 3, exportName: string, core: AnyOp): AnyTfPoolOp {
  const run = tfRunner(method, rank, exportName, core);
  const fn = ((...args: unknown[]) => run(args).output) as AnyTfPoolOp;
  Object.defineProperty(fn, "name", { value: exportName });
  return Object.assign(fn, { opName: exportName, method, rank });
}

/** Wrap a core op returning `{ output, indices }`; the gradient flows through `output`. */
export function makeTfOpWithIndices(method: PoolMethod, rank: 1 | 2 | 3, exportName: string, core: AnyOp): AnyTfPoolOpWithIndices {
  const run = tfRunner(method, rank, exportName, core);
  const fn = ((...args: unknown[]): TfWithIndices => {
    const r = run(args);
    if (!r.indices) throw new PoolkitTypeError(exportName, `the core op returned no indices`);
    return { output: r.output, indices: r.indices };
  }) as AnyTfPoolOpWithIndices;
  Object.defineProperty(fn, "name", { value: exportName });
  return Object.assign(fn, { opName: exportName, method, rank });
}

const AXES: Record<number, string> = { 1: "L", 2: "H, W", 3: "D, H, W" };

/**
 * poolkit tensors of calls made under a gradient tape, waiting for tfjs to take the gradient. tfjs
 * calls a customGrad's gradient function only for ops on a path from the differentiated inputs to the
 * result (tfjs-core `getFilteredNodesXToY`): a pooling layer right after a model's input, in
 * `model.fit`, is never differentiated. Such calls are freed once their tape is over: tfjs replaces the
 * engine's `state.activeTape` array when the outermost `gradients()` ends (tfjs-core engine.ts
 * `gradients`/`startTape`), which the next call of any poolkit op notices.
 */
const pending: { tape: unknown; tensors: Tensor[] }[] = [];

function activeTape(): unknown {
  return (tf.engine() as unknown as { state?: { activeTape?: unknown } }).state?.activeTape ?? null;
}

function settle(entry: { tensors: Tensor[] }): void {
  const i = pending.indexOf(entry as (typeof pending)[number]);
  if (i >= 0) pending.splice(i, 1);
  for (const t of entry.tensors) t.dispose();
}

function sweep(): void {
  if (pending.length === 0) return;
  const tape = activeTape();
  for (const e of pending.slice()) if (e.tape !== tape || tape === null) settle(e);
}

function tfRunner(method: PoolMethod, rank: 1 | 2 | 3, exportName: string, core: AnyOp): (args: unknown[]) => { output: tf.Tensor; indices?: tf.Tensor } {
  const name = exportName;
  // Rank-generic ops (global pooling) share one export over 1-d/2-d/3-d; windowed ops have one per rank.
  const rankSpecific = Object.values(method.exports).filter((e) => e === exportName.replace(/WithIndices$/, "")).length <= 1;
  // The core op's option names, so an unknown option is reported with `dataFormat` among the known ones.
  const kinds = (poolkit as Readonly<Record<string, unknown>>)[exportName] === core ? coreOptionKinds(exportName) : undefined;
  return (args: unknown[]): { output: tf.Tensor; indices?: tf.Tensor } => {
    const { slots, options } = splitArgs(name, args);
    if (kinds) {
      for (const k of Object.keys(options)) {
        if (k !== "dataFormat" && !Object.hasOwn(kinds, k)) {
          throw new PoolkitTypeError(name, `unknown option ${show(k)}; known options: ${[...Object.keys(kinds), "dataFormat"].join(", ")}`);
        }
      }
    }
    const { dataFormat: df, ...coreOpts } = options;
    const dataFormat = parseDataFormat(name, df);
    const x = slots[0] as tf.Tensor;
    // customGrad differentiates the tensors only; `positions` maps them back to their argument slots.
    const positions = slots.flatMap((t, i) => (t ? [i] : []));
    const tensors = positions.map((i) => slots[i] as tf.Tensor);
    for (const i of positions) {
      if ((slots[i] as tf.Tensor).isDisposed) throw new PoolkitRangeError(name, `argument ${i} is a disposed tf.Tensor`);
    }
    // poolkit's unbatched [C, ...S] has no channels-last twin that could be told apart from a batch: tfjs ops are batched only.
    if (rankSpecific && x.rank === rank + 1) {
      throw new PoolkitRangeError(
        name,
        `x must be batched in tfjs ops: ${dataFormat === "channelsLast" ? `[N, ${AXES[rank]}, C]` : `[N, C, ${AXES[rank]}]`}, got shape ${show(x.shape)}`,
      );
    }
    // Which slots move with x's layout: decided once, used for the gradients too.
    const moves = (slot: number): boolean => {
      const t = slots[slot];
      if (dataFormat !== "channelsLast" || !t) return false;
      return slot === 0 ? x.rank >= 3 : isFeatureMapInput(method.inputs[slot - 1], t, x);
    };
    const inputName = (slot: number): string => (slot === 0 ? "x" : (method.inputs[slot - 1]?.name ?? `input ${slot}`));
    // Every poolkit tensor made for a call is disposed by the adapter (tfjs users dispose tf.Tensors
    // only): without a gradient tape (inference, model.predict) right away, inside poolkit's tidy;
    // under one, when tfjs has taken the gradient (the backward needs the forward's tensors until
    // then), or once the tape is over without it ({@link pending}).
    sweep();
    if (!tf.engine().isTapeOn()) {
      return tidy(() => {
        const coreArgs = slots.map((t, slot) => (t ? toCore(name, inputName(slot), t, moves(slot)) : null));
        const res = primaryOf(name, core(...coreArgs, coreOpts));
        const output = fromCore(res.output, dataFormat === "channelsLast" && res.output.shape.length >= 3);
        return res.indices ? { output, indices: fromCore(res.indices, dataFormat === "channelsLast") } : { output };
      });
    }
    // Index outputs are uploaded after customGrad returns: tensors made inside it, other than its value, are disposed.
    let coreIndices: Tensor | undefined;
    const forward = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      // customGrad passes its `save` function last; the backward closure needs nothing saved.
      const inputs = args.filter(isTfTensor);
      const { result, tensors: made } = track(() => {
        const coreArgs: (Tensor | null)[] = slots.map(() => null);
        inputs.forEach((t, k) => {
          const slot = positions[k] as number;
          coreArgs[slot] = toCore(name, inputName(slot), t, moves(slot));
        });
        const vjp = core.vjp(...coreArgs, coreOpts) as VJP<unknown>;
        return { vjp, res: primaryOf(name, vjp.output) };
      });
      const { vjp, res } = result;
      const entry = { tape: activeTape(), tensors: made };
      pending.push(entry);
      const transposeOut = dataFormat === "channelsLast" && res.output.shape.length >= 3;
      const value = fromCore(res.output, transposeOut);
      coreIndices = res.indices;
      const gradFunc = (dy: tf.Tensor): tf.Tensor[] => {
        try {
          return tidy(() => {
            const grads: Grads = vjp.backward(toCore(name, "dy", dy, transposeOut));
            return inputs.map((t, k) => {
              const slot = positions[k] as number;
              const g = grads[slot];
              return g ? fromCore(g, moves(slot)) : tf.zerosLike(t);
            });
          });
        } finally {
          settle(entry); // the inputs' copies and the forward's outputs and intermediates
        }
      };
      return { value, gradFunc };
    });
    const output = forward(...tensors);
    return coreIndices ? { output, indices: fromCore(coreIndices, dataFormat === "channelsLast") } : { output };
  };
}

/** One tfjs op per method and spatial rank, keyed by export name (`softPool1d`, `softPool2d`, ...). */
export function createOps(methods: readonly PoolMethod[]): Record<string, AnyTfPoolOp> {
  const out: Record<string, AnyTfPoolOp> = {};
  for (const m of methods) {
    for (const rank of [1, 2, 3] as const) {
      const exportName = m.exports[rank];
      const core = m.ops[rank];
      if (exportName && core && !(exportName in out)) out[exportName] = makeTfOp(m, rank, exportName, core);
    }
  }
  return out;
}

/**
 * The index-returning companions of registry ops that poolkit exports as `<export>WithIndices`
 * (`maxPool2dWithIndices`, `adaptiveMaxPool2dWithIndices`, `fractionalMaxPool2dWithIndices`, ...), so
 * a tfjs graph can pool with indices and unpool with `ops.maxUnpool2d`.
 */
export function createOpsWithIndices(methods: readonly PoolMethod[], coreExports: Readonly<Record<string, unknown>>): Record<string, AnyTfPoolOpWithIndices> {
  const out: Record<string, AnyTfPoolOpWithIndices> = {};
  for (const m of methods) {
    for (const rank of [1, 2, 3] as const) {
      const name = m.exports[rank] ? `${m.exports[rank]}WithIndices` : undefined;
      const core = name ? coreExports[name] : undefined;
      if (name && typeof core === "function" && typeof (core as Partial<AnyOp>).vjp === "function" && !(name in out)) {
        out[name] = makeTfOpWithIndices(m, rank, name, core as AnyOp);
      }
    }
  }
  return out;
}

/**
 * Every registry method as a TensorFlow.js op, keyed by its poolkit export name. Each is typed from
 * its core op ({@link TfPoolOp}): the same parameters with tf.Tensors, and the core's options plus
 * `dataFormat`, so an unknown option or a misspelt op name is a compile error. (For a name known
 * only at run time, look it up in `createOps(listPools())`.)
 *
 * @example
 * import * as tf from "@tensorflow/tfjs";
 * import { ops } from "poolkit/tfjs";
 * const x = tf.randomNormal([2, 16, 16, 3]);            // NHWC
 * const y = ops.softPool2d(x, { kernelSize: 2 });       // [2, 8, 8, 3]
 * const dx = tf.grad((t) => ops.softPool2d(t, { kernelSize: 2 }).sum())(x);
 */
export const ops: TfOps = createOps(listPools()) as unknown as TfOps;

/**
 * Index-returning ops (`opsWithIndices.maxPool2dWithIndices(x, opts)` → `{ output, indices }`), for
 * every registry op that poolkit also exports as `<name>WithIndices`.
 *
 * @example
 * const { output, indices } = opsWithIndices.maxPool2dWithIndices(x, { kernelSize: 2 });
 * const restored = ops.maxUnpool2d(output, indices, { kernelSize: 2 });
 */
export const opsWithIndices: TfOpsWithIndices = createOpsWithIndices(listPools(), poolkit) as unknown as TfOpsWithIndices;
