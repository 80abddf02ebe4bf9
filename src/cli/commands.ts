/**
 * The `poolkit` program's commands. `main(argv, io)` returns the exit code (0 ok, 1 a command failed,
 * 2 bad usage) instead of exiting, so tests call it directly with captured output and their own
 * registry.
 */
import { existsSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { getPool, listPools, type PoolMethod } from "../registry.js";
import { show } from "../errors.js";
import { runDemo } from "./demo.js";
import { SCALES, imageToTensor, resizeNearest, sampleImage, tensorToImage, type Scale } from "./image.js";
import { errorText, mergeOptions, parseOptionValue, pickRank, runMethod, sampleShape, showOptions, type Registry } from "./invoke.js";
import { readPng, writePng } from "./png.js";
import { serveStatic } from "./serve.js";
import { exportCommand } from "./export.js";

/** Where the program writes: stdout-like `out` and stderr-like `err`, one line per call. */
export interface IO {
  out(line: string): void;
  err(line: string): void;
}

/** The process's stdout and stderr. */
export const consoleIO: IO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** poolkit's own registry (`listPools` / `getPool`). */
export const defaultRegistry: Registry = { list: listPools, get: getPool };

/** The `poolkit help` text. */
export const USAGE = `poolkit — CNN pooling layers, forward and exact backward

usage: poolkit <command> [options]

commands:
  demo                     pool a fixed sample with every registered method (its defaults) and
                           check forward and backward; exits 1 if any method fails
  list [--json]            the registered methods: name, exports, category, random, learnable, paper
  info <method>            one method's descriptor, inputs, defaults and an example output shape
  run <method> --input in.png (--output out.png | --json)
                           pool a PNG per channel (RGB as 3 channels) with a 2-d method
      -o, --option key=value   override an option (repeatable); values are JSON, a comma list
                               (2,2) or a bare string (logm); "key=" removes a default
      --seed n                 seed for the extra inputs and for random methods (default 0)
      --upscale                nearest-neighbour upscale the output PNG to the input's size
      --scale auto|minmax|clip how values map to 0..255 (default auto: clip if all in [0, 1])
      --json                   print the raw output (shape, dtype, values) as JSON
  sample <out.png> [--size n]
                           write the generated sample picture (n×n, default 96) to try "run" on
  serve <dir> [--port n]   serve a directory on http://127.0.0.1:<port>/ (default port 8080)
  help                     this text

Method names are forgiving: "soft", "soft-pool", "SoftPool" and "softPool2d" are the same method.`;

class UsageError extends Error {}

function parse(args: string[], options: ParseArgsConfig["options"]): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const r = parseArgs({ args, options: { help: { type: "boolean", short: "h" }, ...options }, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, unknown>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/** Run the program; resolves to the exit code. */
export async function main(argv: readonly string[], io: IO = consoleIO, registry: Registry = defaultRegistry): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && (rest.includes("--help") || rest.includes("-h"))) {
    io.out(USAGE);
    return 0;
  }
  try {
    switch (command) {
      case "demo": {
        const { positionals } = parse(rest, {});
        if (positionals.length) throw new UsageError(`demo takes no arguments, got ${show(positionals)}`);
        return runDemo(registry.list(), io.out) ? 0 : 1;
      }
      case "list":
        return list(rest, io, registry);
      case "info":
        return info(rest, io, registry);
      case "run":
        return run(rest, io, registry);
      case "sample":
        return sample(rest, io);
      case "serve":
        return await serve(rest, io);
      case "export":
        return await exportCommand(rest, io, registry);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${show(command)}; commands: demo, list, info, run, sample, serve, help`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`poolkit: ${e.message}`);
      io.err(`run "poolkit help" for usage`);
      return 2;
    }
    io.err(`poolkit ${command}: ${errorText(e)}`);
    return 1;
  }
}

function ranks(m: PoolMethod): string {
  return [...new Set(Object.values(m.exports))].join(", ");
}

function list(args: string[], io: IO, registry: Registry): number {
  const { values, positionals } = parse(args, { json: { type: "boolean" } });
  if (positionals.length) throw new UsageError(`list takes no arguments, got ${show(positionals)}`);
  const methods = registry.list();
  if (values.json) {
    const rows = methods.map((m) => ({
      name: m.name,
      exports: m.exports,
      category: m.category,
      dims: m.dims,
      random: m.random,
      learnable: m.learnable,
      paper: m.paper,
      summary: m.summary,
    }));
    io.out(JSON.stringify(rows, null, 2));
    return 0;
  }
  const header = ["name", "exports", "category", "random", "learnable", "paper"];
  const rows = methods.map((m) => [m.name, ranks(m), m.category, m.random ? "yes" : "no", m.learnable.join(", ") || "-", m.paper]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  // The paper column is last and left ragged so long citations do not widen the table.
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join("  ");
  io.out(line(header));
  io.out(line(widths.map((w, i) => "-".repeat(i === widths.length - 1 ? 5 : w))));
  for (const r of rows) io.out(line(r));
  io.out("");
  io.out(`${methods.length} methods; "poolkit info <method>" for details`);
  return 0;
}

function info(args: string[], io: IO, registry: Registry): number {
  const { positionals } = parse(args, {});
  if (positionals.length !== 1) throw new UsageError(`info takes one method name, got ${show(positionals)}`);
  const m = registry.get(positionals[0] as string);
  io.out(`${m.name} — ${m.summary}`);
  io.out(`  paper:      ${m.paper}`);
  io.out(`  category:   ${m.category}`);
  io.out(`  exports:    ${ranks(m)}   (dims ${m.dims.join(", ")})`);
  io.out(`  aliases:    ${m.aliases.join(", ") || "-"}`);
  io.out(`  random:     ${m.random ? "yes" : "no"}${m.trainEval ? "; behaves differently with training: false" : ""}`);
  io.out(`  learnable:  ${m.learnable.join(", ") || "-"}`);
  io.out(`  defaults:   ${showOptions(m.defaults)}`);
  const rank = pickRank(m);
  const xShape = sampleShape(rank);
  const options = mergeOptions(m);
  const args_ = ["x", ...m.inputs.map((i) => i.name)];
  io.out(`  call:       ${m.exports[rank] ?? m.export}(${args_.join(", ")}, options)`);
  io.out(`  inputs:`);
  io.out(`    x ${show(xShape)} (example)  the feature map`);
  for (const spec of m.inputs) {
    let shape: string;
    try {
      shape = show(spec.shape(xShape, options));
    } catch (e) {
      shape = `(shape error: ${errorText(e)})`;
    }
    io.out(`    ${spec.name} ${shape} ${spec.role}${spec.dtype ? ` ${spec.dtype}` : ""}  ${spec.doc}`);
  }
  try {
    io.out(`  output:     ${show(m.outputShape(xShape, options, rank))} for x ${show(xShape)} with the defaults`);
  } catch (e) {
    io.out(`  output:     (outputShape failed: ${errorText(e)})`);
  }
  return 0;
}

function run(args: string[], io: IO, registry: Registry): number {
  const { values, positionals } = parse(args, {
    input: { type: "string", short: "i" },
    output: { type: "string" },
    option: { type: "string", short: "o", multiple: true },
    seed: { type: "string" },
    upscale: { type: "boolean" },
    scale: { type: "string" },
    json: { type: "boolean" },
  });
  if (positionals.length !== 1) throw new UsageError(`run takes one method name, got ${show(positionals)}`);
  const input = values.input as string | undefined;
  const output = values.output as string | undefined;
  if (!input) throw new UsageError("run needs --input <file.png>");
  if (!output && !values.json) throw new UsageError("run needs --output <file.png> or --json");
  const scale = (values.scale ?? "auto") as Scale;
  if (!SCALES.includes(scale)) throw new UsageError(`--scale must be one of ${SCALES.join(", ")}, got ${show(values.scale)}`);
  const seedText = (values.seed as string | undefined) ?? "0";
  const seed = Number(seedText);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got ${show(seedText)}`);
  const overrides: Record<string, unknown> = {};
  for (const kv of (values.option as string[] | undefined) ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new UsageError(`--option must look like key=value, got ${show(kv)}`);
    overrides[kv.slice(0, eq).trim()] = parseOptionValue(kv.slice(eq + 1));
  }

  const method = registry.get(positionals[0] as string);
  const rank = pickRank(method, 2);
  if (!existsSync(input)) throw new Error(`input file ${show(input)} does not exist`);
  let img;
  try {
    img = readPng(input);
  } catch (e) {
    throw new Error(`cannot decode ${show(input)} as PNG: ${errorText(e)}`);
  }
  const x = imageToTensor(img);
  const options = mergeOptions(method, overrides);
  const { op, output: y } = runMethod(method, x, options, seed, rank);

  if (values.json) {
    io.out(JSON.stringify({ method: method.name, op: op.opName, options, input: x.shape, shape: y.shape, dtype: y.dtype, values: y.toArray() }));
  }
  if (output) {
    let pic = tensorToImage(y, scale);
    if (values.upscale) pic = resizeNearest(pic, img.width, img.height);
    writePng(output, pic);
    const first = y.shape.length === 4 && (y.shape[0] as number) > 1 ? ` (item 0 of ${y.shape[0]})` : "";
    const note = `${op.opName}(x ${show(x.shape)}, ${showOptions(options)}) → ${show(y.shape)}; wrote ${output} (${pic.width}×${pic.height})${first}`;
    // With --json on stdout, keep stdout pure JSON.
    (values.json ? io.err : io.out)(note);
  }
  return 0;
}

function sample(args: string[], io: IO): number {
  const { values, positionals } = parse(args, { size: { type: "string" } });
  if (positionals.length !== 1) throw new UsageError(`sample takes one output file, got ${show(positionals)}`);
  const size = Number(values.size ?? "96");
  if (!Number.isInteger(size) || size < 1 || size > 4096) throw new UsageError(`--size must be an integer in [1, 4096], got ${show(values.size)}`);
  writePng(positionals[0] as string, sampleImage(size, size));
  io.out(`wrote ${positionals[0]} (${size}×${size} sample picture)`);
  return 0;
}

async function serve(args: string[], io: IO): Promise<number> {
  const { values, positionals } = parse(args, { port: { type: "string", short: "p" } });
  if (positionals.length !== 1) throw new UsageError(`serve takes one directory, got ${show(positionals)}`);
  const port = Number(values.port ?? "8080");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer in [0, 65535], got ${show(values.port)}`);
  const server = await serveStatic(positionals[0] as string, port);
  const addr = server.address();
  const actual = addr && typeof addr === "object" ? addr.port : port;
  io.out(`serving ${positionals[0]} at http://127.0.0.1:${actual}/ (Ctrl-C to stop)`);
  return 0;
}
