/**
 * `poolkit demo`: every registered method on one fixed sample, with a forward and a backward check.
 *
 * - forward ✓: the op returns a finite tensor of the input's dtype (float32) whose shape equals the
 *   descriptor's `outputShape`.
 * - backward ✓: in float64, `backward(dy)` returns a finite gradient of the right shape for every
 *   differentiable input, and for each of them the directional derivative ⟨grad, v⟩ agrees with the
 *   central difference (⟨dy, f(p + εv)⟩ − ⟨dy, f(p − εv)⟩) / 2ε along a random direction v.
 *   Any disagreement fails (✗), on `x` or on an extra input.
 *   The extra inputs are checked at a generic point: their example values plus a small random
 *   offset ({@link EXTRA_JITTER}). Example values are often round numbers that sit on a kink (DynOPool's
 *   δ = 0.25 with r = 2 puts every bilinear query exactly on a pixel centre, where the one-sided
 *   derivative the op returns and the central difference legitimately differ); a random point is
 *   almost surely smooth, so the finite difference is valid there.
 *   An input whose descriptor declares a straight-through gradient (DynOPool's r: the forward pass
 *   rounds it to an output size, so the output is piecewise constant in r) is not checked against
 *   finite differences — none can check a surrogate — and the demo says so; it checks instead that
 *   the output indeed does not move with it.
 *   Random ops draw the same numbers in each evaluation because the global generator is reset
 *   (`manualSeed`) before every call.
 * No `node:*` import here (the playground could show it too).
 */
import type { PoolMethod } from "../registry.js";
import { Generator, manualSeed } from "../tensor/random.js";
import { Tensor, fromArray, sameShape } from "../tensor/tensor.js";
import { allocArray } from "../tensor/alloc.js";
import { show } from "../errors.js";
import {
  allFinite,
  axpy,
  buildArgs,
  dot,
  errorText,
  mergeOptions,
  normalTensor,
  opFor,
  pickRank,
  primaryOutput,
  runMethod,
  sampleShape,
  sampleTensor,
  showOptions,
} from "./invoke.js";

export const DEMO_SEED = 0;
const EPS = 1e-6;
/** Relative tolerance of the directional-derivative check (float64, central differences). */
const GRAD_RTOL = 1e-5;
/** The extra inputs' check point: example value v moved by EXTRA_JITTER·(1 + |v|)·N(0, 1). */
export const EXTRA_JITTER = 1e-2;

export interface MethodCheck {
  readonly method: PoolMethod;
  readonly call: string;
  readonly outputShape?: readonly number[];
  readonly values?: readonly number[];
  readonly forward: { ok: boolean; detail: string };
  readonly backward: { ok: boolean; detail: string };
}

/** Run and check one method (at its main rank, or `rank`) with its defaults on the fixed sample. Never throws. */
export function checkMethod(method: PoolMethod, wantedRank?: 1 | 2 | 3): MethodCheck {
  let call = method.export;
  try {
    const rank = pickRank(method, wantedRank);
    const op = opFor(method, rank);
    const options = mergeOptions(method);
    call = `${op.opName}(x: ${show(sampleShape(rank))}${method.inputs.map((i) => `, ${i.name}`).join("")}, ${showOptions(options)})`;
    const x = sampleTensor(sampleShape(rank), "float32", DEMO_SEED);

    // Forward, float32.
    let forward: MethodCheck["forward"];
    let y: Tensor | undefined;
    try {
      y = runMethod(method, x, options, DEMO_SEED, rank).output;
      const expected = method.outputShape(x.shape, options, rank);
      if (!sameShape(y.shape, expected)) forward = { ok: false, detail: `shape ${show(y.shape)} but outputShape says ${show(expected)}` };
      else if (y.dtype !== x.dtype) forward = { ok: false, detail: `output is ${y.dtype} for a ${x.dtype} input` };
      else if (!allFinite(y)) forward = { ok: false, detail: "output has non-finite values" };
      else forward = { ok: true, detail: `shape matches outputShape, ${y.dtype}, finite` };
    } catch (e) {
      forward = { ok: false, detail: errorText(e) };
    }
    const values = y ? Array.from(y.data.subarray(0, 4)) : undefined;
    const backward = checkBackward(method, rank);
    return { method, call, ...(y ? { outputShape: y.shape } : {}), ...(values ? { values } : {}), forward, backward };
  } catch (e) {
    const failed = { ok: false, detail: errorText(e) };
    return { method, call, forward: failed, backward: failed };
  }
}

function checkBackward(method: PoolMethod, rank: 1 | 2 | 3): MethodCheck["backward"] {
  try {
    const op = opFor(method, rank);
    const options = mergeOptions(method);
    const x = sampleTensor(sampleShape(rank), "float64", DEMO_SEED);
    const args = buildArgs(method, x, options, DEMO_SEED);
    const examples = args.slice(0, -1) as Tensor[];
    const spec = (i: number) => (i === 0 ? undefined : method.inputs[i - 1]);
    // x and every extra input that is not a constant (boxes, indices, samples) gets a gradient.
    const differentiable = examples.map((_, i) => i === 0 || spec(i)?.role !== "constant");
    const straight = examples.map((_, i) => spec(i)?.gradient === "straight-through");
    const jitterGen = new Generator(DEMO_SEED + 2);
    const tensors = examples.map((t, i) => (i > 0 && differentiable[i] && !straight[i] ? jitter(t, jitterGen) : t));
    const gen = new Generator(DEMO_SEED + 1);
    const dirs = tensors.map((t, i) => (differentiable[i] ? normalTensor(t.shape, "float64", gen) : null));

    manualSeed(DEMO_SEED);
    const { output, backward } = op.vjp(...tensors, options);
    const y = primaryOutput(output);
    const dy = normalTensor(y.shape, "float64", gen);
    const grads = backward(dy);
    if (!Array.isArray(grads) || grads.length !== tensors.length) {
      return { ok: false, detail: `backward returned ${Array.isArray(grads) ? grads.length : show(grads)} gradients for ${tensors.length} tensor inputs` };
    }
    // One directional check per differentiable input, so a failure names the input.
    const agree: string[] = [];
    const failures: string[] = [];
    const surrogates: string[] = [];
    for (let i = 0; i < tensors.length; i++) {
      const dir = dirs[i];
      if (!dir) continue;
      const g = grads[i];
      const t = tensors[i] as Tensor;
      const name = i === 0 ? "x" : (spec(i)?.name ?? `input ${i}`);
      if (!(g instanceof Tensor)) return { ok: false, detail: `no gradient for ${name}` };
      if (!sameShape(g.shape, t.shape)) return { ok: false, detail: `gradient for ${name} has shape ${show(g.shape)}, input has ${show(t.shape)}` };
      if (!allFinite(g)) return { ok: false, detail: `gradient for ${name} has non-finite values` };
      const analytic = dot(g, dir);
      const at = (s: number): number => {
        const moved = tensors.map((u, j) => (j === i ? axpy(u, s, dir) : u));
        manualSeed(DEMO_SEED);
        return dot(primaryOutput(op(...moved, options)), dy);
      };
      const numeric = (at(EPS) - at(-EPS)) / (2 * EPS);
      if (straight[i]) {
        // A surrogate by design: say what it is; fail only if the claim behind it is false here.
        if (numeric === 0) surrogates.push(`${name}: straight-through gradient (a designed surrogate; the output is piecewise constant in ${name}, unchanged at ±${EPS.toExponential(0)}), not checkable by finite differences`);
        else failures.push(`${name}: declared straight-through, but the output moves with it (finite difference ${numeric.toPrecision(8)})`);
        continue;
      }
      const err = Math.abs(analytic - numeric) / Math.max(1, Math.abs(analytic), Math.abs(numeric));
      const where = i === 0 ? "" : " at its example value + jitter";
      const text = `${name}${where}: ⟨grad, v⟩ ${analytic.toPrecision(8)} vs finite difference ${numeric.toPrecision(8)} (rel. err ${err.toExponential(1)})`;
      if (err <= GRAD_RTOL) agree.push(`${name} ${err.toExponential(0)}`);
      else failures.push(text);
    }
    const notes: string[] = [];
    if (failures.length) notes.push(failures.join("; "));
    if (agree.length) notes.push(`finite differences agree (rel. err: ${agree.join(", ")})`);
    if (surrogates.length) notes.push(surrogates.join("; "));
    return { ok: failures.length === 0, detail: notes.join("; ") };
  } catch (e) {
    return { ok: false, detail: errorText(e) };
  }
}

/** `t` moved to a generic point near it: t + EXTRA_JITTER·(1 + |t|)·N(0, 1), elementwise. */
function jitter(t: Tensor, gen: Generator): Tensor {
  const out = allocArray(t.dtype as "float64", t.size);
  const d = t.data;
  for (let k = 0; k < out.length; k++) {
    const v = d[k] as number;
    out[k] = v + EXTRA_JITTER * (1 + Math.abs(v)) * gen.normal();
  }
  return fromArray(out, t.shape);
}

function pickRankSafe(method: PoolMethod): number | undefined {
  try {
    return pickRank(method);
  } catch {
    return undefined;
  }
}

/** Print the demo (each method at its main rank, its other ranks in one line); true when every check passed. */
export function runDemo(methods: readonly PoolMethod[], out: (line: string) => void): boolean {
  out(`poolkit demo: every registered method (${methods.length}) on a fixed uniform [0, 1) sample (seed ${DEMO_SEED}),`);
  out(`shown at its 2-d op on [2, 3, 16, 16] (other ranks checked on [2, 3, 16] / [2, 3, 8, 8, 8]);`);
  out(`options = each method's defaults; extra inputs from exampleInputs(seed ${DEMO_SEED}).`);
  out("forward: finite output of outputShape's shape; backward: float64 vjp vs central finite differences,");
  out(`extra inputs checked at their example values + a small random offset (${EXTRA_JITTER}·(1 + |v|)·N(0, 1)) to stay off kinks;`);
  out("straight-through (surrogate) gradients are named and not checked: no finite difference can check them.");
  out("");
  let failed = 0;
  for (const method of methods) {
    const r = checkMethod(method);
    const mark = (ok: boolean): string => (ok ? "✓" : "✗");
    // The method's other spatial ranks (e.g. maxPool1d/3d) get the same checks, in one line.
    const others = method.dims.filter((d) => d !== pickRankSafe(method)).map((d) => ({ d, r: checkMethod(method, d) }));
    const othersOk = others.every(({ r: o }) => o.forward.ok && o.backward.ok);
    const ok = r.forward.ok && r.backward.ok && othersOk;
    if (!ok) failed++;
    out(`${mark(ok)} ${method.name}  ${r.call}`);
    if (r.outputShape) {
      const vals = (r.values ?? []).map((v) => v.toPrecision(4)).join(", ");
      out(`    output ${show(r.outputShape)}  first values: ${vals}${r.outputShape.reduce((a, b) => a * b, 1) > 4 ? ", …" : ""}`);
    }
    out(`    forward ${mark(r.forward.ok)}  ${r.forward.detail}`);
    out(`    backward ${mark(r.backward.ok)}  ${r.backward.detail}`);
    if (others.length) {
      out(`    also ${others.map(({ d, r: o }) => `${d}-d ${mark(o.forward.ok && o.backward.ok)}`).join(", ")}`);
      for (const { d, r: o } of others) {
        if (!o.forward.ok) out(`      ${d}-d forward: ${o.forward.detail}`);
        if (!o.backward.ok) out(`      ${d}-d backward: ${o.backward.detail}`);
      }
    }
  }
  out("");
  out(methods.length === 0 ? "no methods are registered yet" : `${methods.length - failed} of ${methods.length} methods passed${failed ? `, ${failed} failed` : ""}`);
  return failed === 0;
}
