/**
 * `poolkit export <method> --shape N,C,H,W --output model.onnx [-o key=value ...]`: write one pooling
 * method as an ONNX model (poolkit/onnx's `toOnnx`). Options merge over the method's registry
 * defaults as in `poolkit run`; learnable parameters come from `--params file.json` (`{ "alpha":
 * [...], ... }`) or, for a quick try, `--example-params` (the registry's seeded initial values).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { show } from "../errors.js";
import { exampleInputs, type PoolMethod } from "../registry.js";
import { Generator } from "../tensor/random.js";
import { tensor } from "../tensor/tensor.js";
import { onnxSupport, toOnnx, type ParamValue } from "../onnx/index.js";
import { writeFileAtomic } from "./imagefile.js";
import { errorText, mergeOptions, parseOptionValue, type Registry } from "./invoke.js";

/** Where the command writes (the same shape as commands.ts's IO). */
export interface ExportIO {
  out(line: string): void;
  err(line: string): void;
}

export const EXPORT_USAGE = `usage: poolkit export <method> --shape N,C,... --output model.onnx [options]

  -o, --option key=value   a method option (repeatable; over the method's defaults, as in "run")
  --shape N,C,...          the input shape (static), e.g. 1,3,32,32
  --output file.onnx       where to write the model
  --opset n                ONNX opset, 17–21 (default 17)
  --params file.json       learnable parameters: { "name": [values...] } in the registry's shapes
  --example-params         use the registry's seeded initial parameters (with --seed, default 0)
  --input-shape name=d,d   shape of an extra graph input (repeatable); "name=" omits an optional one
  --seed n                 seed of --example-params`;

class ExportUsageError extends Error {}

function parseShape(text: string, what: string): number[] {
  const parts = text.split(",").map((s) => s.trim());
  const dims = parts.map(Number);
  if (parts.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ExportUsageError(`${what} must be positive integers separated by commas, got ${show(text)}`);
  }
  return dims;
}

/**
 * Run `poolkit export`; resolves to the exit code: 0 written, 1 the export failed (e.g. a method ONNX
 * cannot express), 2 bad usage.
 */
export async function exportCommand(args: readonly string[], io: ExportIO, registry: Registry): Promise<number> {
  try {
    return runExport(args, io, registry);
  } catch (e) {
    if (e instanceof ExportUsageError) {
      io.err(`poolkit export: ${e.message}`);
      io.err(EXPORT_USAGE);
      return 2;
    }
    io.err(`poolkit export: ${errorText(e)}`);
    return 1;
  }
}

function runExport(args: readonly string[], io: ExportIO, registry: Registry): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        option: { type: "string", short: "o", multiple: true },
        shape: { type: "string" },
        output: { type: "string" },
        opset: { type: "string" },
        params: { type: "string" },
        "example-params": { type: "boolean" },
        "input-shape": { type: "string", multiple: true },
        seed: { type: "string" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new ExportUsageError(errorText(e));
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new ExportUsageError(`export takes one method name, got ${show(positionals)}`);
  if (!values.shape) throw new ExportUsageError("export needs --shape N,C,... (the input shape)");
  if (!values.output) throw new ExportUsageError("export needs --output <file.onnx>");
  const inputShape = parseShape(values.shape, "--shape");
  const overrides: Record<string, unknown> = {};
  for (const kv of values.option ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new ExportUsageError(`--option must look like key=value, got ${show(kv)}`);
    // defineProperty, not assignment: "__proto__=…" must reach the op as an unknown option, not set a prototype.
    Object.defineProperty(overrides, kv.slice(0, eq).trim(), { value: parseOptionValue(kv.slice(eq + 1)), enumerable: true, writable: true, configurable: true });
  }
  const inputShapes: Record<string, number[] | null> = {};
  for (const kv of values["input-shape"] ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new ExportUsageError(`--input-shape must look like name=d,d,..., got ${show(kv)}`);
    const text = kv.slice(eq + 1).trim();
    inputShapes[kv.slice(0, eq).trim()] = text === "" ? null : parseShape(text, "--input-shape");
  }
  let opset: number | undefined;
  if (values.opset !== undefined) {
    opset = Number(values.opset);
    if (!Number.isInteger(opset)) throw new ExportUsageError(`--opset must be an integer, got ${show(values.opset)}`);
  }
  const seed = Number(values.seed ?? "0");
  if (!Number.isSafeInteger(seed)) throw new ExportUsageError(`--seed must be an integer, got ${show(values.seed)}`);
  if (values.params && values["example-params"]) throw new ExportUsageError("give --params or --example-params, not both");

  const method = registry.get(positionals[0] as string);
  const options = mergeOptions(method, overrides);
  const rank = inputShape.length - 2;
  // fractional max's fixed windows: a JSON array of samples becomes a [N, C, rank] tensor.
  if (Array.isArray(options.samples)) {
    options.samples = tensor((options.samples as unknown[]).flat(3) as number[], [inputShape[0] as number, inputShape[1] as number, rank]);
  }
  const support = onnxSupport(method, options);
  if (!support.supported) throw new Error(`${method.name} cannot be expressed in ONNX: ${support.reason}`);
  const params = loadParams(method, inputShape, options, values.params, values["example-params"] === true, seed);
  const model = toOnnx(method, { inputShape, options, params, inputShapes, ...(opset === undefined ? {} : { opset }) });
  writeFileAtomic(values.output, model);
  const extra = method.inputs.filter((s) => s.role !== "learnable" && inputShapes[s.name] !== null).map((s) => s.name);
  io.out(
    `wrote ${values.output} (${model.length} bytes): ${method.ops[rank as 1 | 2 | 3]?.opName ?? method.name} on x ${show(inputShape)}` +
      `${extra.length ? ` and ${extra.join(", ")}` : ""}, opset ${opset ?? 17}, output "output"`,
  );
  return 0;
}

function loadParams(
  method: PoolMethod,
  inputShape: number[],
  options: Record<string, unknown>,
  file: string | undefined,
  example: boolean,
  seed: number,
): Record<string, ParamValue> {
  if (method.learnable.length === 0) {
    if (file || example) throw new ExportUsageError(`${method.name} has no learnable parameters; drop --params / --example-params`);
    return {};
  }
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new Error(`cannot read --params ${show(file)} as JSON: ${errorText(e)}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`--params must hold a JSON object { name: [values] }, got ${show(parsed)}`);
    const out: Record<string, ParamValue> = {};
    for (const [k, v] of Object.entries(parsed)) {
      if (!Array.isArray(v)) throw new Error(`--params: ${k} must be an array of numbers, got ${show(v)}`);
      out[k] = (v as unknown[]).flat(4) as number[];
    }
    return out;
  }
  if (!example) {
    throw new ExportUsageError(`${method.name} has learnable parameters (${method.learnable.join(", ")}): pass --params file.json or --example-params`);
  }
  const x = tensor(new Float32Array(inputShape.reduce((a, b) => a * b, 1)), inputShape);
  const values = exampleInputs(method, x, new Generator(seed), options);
  const out: Record<string, ParamValue> = {};
  method.inputs.forEach((spec, i) => {
    if (spec.role === "learnable") out[spec.name] = values[i] as ParamValue;
  });
  return out;
}
