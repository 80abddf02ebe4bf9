/**
 * The `poolkit` program's commands. `main(argv, io)` returns the exit code (0 ok, 1 a command failed,
 * 2 bad usage) instead of exiting, so tests call it directly with captured output and their own
 * registry. Commands are one table ({@link COMMANDS}): adding one is one entry there.
 */
import { readFileSync } from "node:fs";
import { getPool, listPools, type PoolMethod } from "../registry.js";
import { show } from "../errors.js";
import { runDemo } from "./demo.js";
import { SCALES, fitInside, imagePlanes, imageToTensor, resizeArea, resizeNearest, sampleImage, tensorToImage, type Scale } from "./image.js";
import { errorText, mergeOptions, parseOptionValue, pickRank, runMethod, sampleShape, showOptions, type Registry } from "./invoke.js";
import { DEFAULT_MAX_PIXELS, checkOutputPath, checkPictureSize, encodeImage, readImage, sameFile, writeFileAtomic } from "./imagefile.js";
import { cellSizeFor, heatGrid, heatRange, legendNumber, renderHeatmap } from "./heatmap.js";
import { composeSheet, isPictureOutput, sheetTiles } from "./sheet.js";
import { progressBar, type StatusLine } from "./progress.js";
import { UsageError, intFlag, listFlag, parseCommand, stringFlag, type FlagSpec, type Parsed } from "./args.js";
import { serveStatic } from "./serve.js";
import { exportCommand } from "./export.js";

/** Where the program writes: stdout-like `out` and stderr-like `err`, one line per call. */
export interface IO {
  out(line: string): void;
  err(line: string): void;
  /** A status line on stderr redrawn in place, for progress bars; absent when stderr is not a terminal. */
  readonly statusLine?: StatusLine | undefined;
}

/** The process's stdout and stderr (a status line only when stderr is a terminal). */
export const consoleIO: IO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  statusLine: process.stderr.isTTY
    ? { status: (text) => process.stderr.write(`\r${text}\x1b[K`), now: () => performance.now() }
    : undefined,
};

/** poolkit's own registry (`listPools` / `getPool`). */
export const defaultRegistry: Registry = { list: listPools, get: getPool };

/** One subcommand: its help text (indented lines under "commands:") and what it does. */
export interface Command {
  readonly help: string;
  run(args: readonly string[], io: IO, registry: Registry): number | Promise<number>;
}

/**
 * Every subcommand, in help order. To add one (e.g. `export`), add an entry here; `main`, the help
 * text and the unknown-command message all read this table.
 */
export const COMMANDS: Readonly<Record<string, Command>> = Object.freeze({
  demo: {
    help: `demo                     pool a fixed sample with every registered method (its defaults) and
                           check forward and backward; exits 1 if any check fails`,
    run: (args: readonly string[], io: IO, registry: Registry) => {
      const { positionals } = parseCommand("demo", args, {});
      if (positionals.length) throw new UsageError(`demo takes no arguments, got ${show(positionals)}`);
      return runDemo(registry.list(), io.out) ? 0 : 1;
    },
  },
  list: {
    help: `list [--json]            the registered methods: name, exports, category, random, learnable, paper`,
    run: list,
  },
  info: {
    help: `info <method>            one method's descriptor, inputs, defaults and an example output shape`,
    run: info,
  },
  run: {
    help: `run <method> --input in.png (--output out.png | --json)
                           pool a PNG or JPEG per channel (RGB as 3 channels) with a method's 2-d op
      -o, --option key=value   override an option (repeatable); values are JSON, a comma list
                               (2,2) or a bare string (logm); "key=" removes a default
      --seed n                 seed for the extra inputs and for random methods (default 0)
      --upscale                nearest-neighbour upscale the output picture to the input's size
      --scale auto|minmax|clip how values map to 0..255 (default auto: clip if all in [0, 1])
      --json                   print the raw output (shape, dtype, values) as JSON
      --max-pixels n           refuse pictures (in or out) with more pixels (default ${DEFAULT_MAX_PIXELS})
      --force                  allow --output to overwrite the input file
                           The output's format follows its name (.png, .jpg/.jpeg). Outputs that are
                           not pictures (covariance, SPP, bilinear, ...) are drawn as a heat map.`,
    run,
  },
  sheet: {
    help: `sheet <in.png> --output sheet.png [--tile n] [--size n] [--seed n] [--max-pixels n] [--force]
                           a contact sheet: the picture pooled by every registered method (defaults),
                           each tile labelled; the picture is first shrunk to at most --size pixels
                           per side (default 128); tiles are --tile pixels (default 160);
                           a method that fails gets a tile saying so, and the exit code is 1`,
    run: sheet,
  },
  sample: {
    help: `sample <out.png> [--size n]
                           write the generated sample picture (n×n, default 96) to try "run" on`,
    run: sample,
  },
  serve: {
    help: `serve <dir> [--port n]   serve a directory on http://127.0.0.1:<port>/ (default port 8080)`,
    run: serve,
  },
  export: {
    help: `export <method> --shape N,C,... --output model.onnx [-o key=value ...]
                           write a method as an ONNX model (poolkit/onnx); "poolkit export" alone lists its flags`,
    run: (args: readonly string[], io: IO, registry: Registry) => exportCommand(args, io, registry),
  },
  version: {
    help: `version, --version       the package version`,
    run: (args: readonly string[], io: IO) => {
      const { positionals } = parseCommand("version", args, {});
      if (positionals.length) throw new UsageError(`version takes no arguments, got ${show(positionals)}`);
      io.out(packageVersion());
      return 0;
    },
  },
  help: {
    help: `help                     this text`,
    run: (_args: readonly string[], io: IO) => {
      io.out(usage());
      return 0;
    },
  },
} satisfies Record<string, Command>);

/** Spellings that mean a command. */
const COMMAND_ALIASES: Readonly<Record<string, string>> = Object.freeze({ "--version": "version", "-V": "version", "--help": "help", "-h": "help" });

/** The `poolkit help` text, built from {@link COMMANDS}. */
export function usage(): string {
  return `poolkit — CNN pooling layers, forward and exact backward

usage: poolkit <command> [options]

commands:
${Object.values(COMMANDS).map((c) => `  ${c.help}`).join("\n")}

Method names are forgiving: "soft", "soft-pool", "SoftPool" and "softPool2d" are the same method.`;
}

/** The `poolkit help` text. */
export const USAGE = usage();

/** The version in the package's package.json (two folders up from src/cli/ and from dist/cli/). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
  if (typeof pkg.version !== "string") throw new Error("package.json has no version");
  return pkg.version;
}

/** Run the program; resolves to the exit code. */
export async function main(argv: readonly string[], io: IO = consoleIO, registry: Registry = defaultRegistry): Promise<number> {
  const [first, ...rest] = argv;
  const name = first === undefined ? undefined : (COMMAND_ALIASES[first] ?? first);
  if (name === undefined) {
    io.out(usage());
    return 2;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command && name !== "version" && (rest.includes("--help") || rest.includes("-h"))) {
    io.out(usage());
    return 0;
  }
  try {
    if (!command) throw new UsageError(`unknown command ${show(first)}; commands: ${Object.keys(COMMANDS).join(", ")}`);
    return await command.run(rest, io, registry);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`poolkit: ${e.message}`);
      io.err(`run "poolkit help" for usage`);
      return 2;
    }
    // Everything else (the op's PoolkitTypeError/RangeError, an unreadable file, a V8 allocation
    // failure) is one plain line: its message, never a stack trace.
    io.err(`poolkit ${name}: ${errorText(e)}`);
    return 1;
  }
}

function ranks(m: PoolMethod): string {
  return [...new Set(Object.values(m.exports))].join(", ");
}

function list(args: readonly string[], io: IO, registry: Registry): number {
  const { values, positionals } = parseCommand("list", args, { json: { type: "boolean" } });
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

function info(args: readonly string[], io: IO, registry: Registry): number {
  const { positionals } = parseCommand("info", args, {});
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

/** The spatial rank a method name asks for by its `1d`/`2d`/`3d` ending (`maxPool3d`), if any. */
export function rankInName(name: string): 1 | 2 | 3 | undefined {
  const m = /([123])d$/.exec(name.toLowerCase().replace(/[^a-z0-9]/g, ""));
  return m ? (Number(m[1]) as 1 | 2 | 3) : undefined;
}

/**
 * The method a `run`/`sheet` name means, refusing a 1-d or 3-d op by name: a picture is a 2-d
 * `[1, 3, H, W]` map, and pooling its colours as a depth axis (3-d) or its rows as sequences (1-d)
 * is not what anyone asking for `maxPool3d` on a picture means, so rather than run the 2-d op
 * silently, say so.
 */
function pictureMethod(command: string, name: string, registry: Registry): PoolMethod {
  const method = registry.get(name);
  const asked = rankInName(name);
  const two = method.exports[2];
  if (asked !== undefined && asked !== 2) {
    const what = asked === 3 ? "volumes [N, C, D, H, W]" : "sequences [N, C, L]";
    const exportName = method.exports[asked] ?? `${method.name} ${asked}-d`;
    throw new UsageError(
      `${command}: ${exportName} pools ${what}, and a picture is 2-d ([1, 3, H, W]); ` +
        (two ? `use ${two} (or "${method.name}")` : `${method.name} has no 2-d op`),
    );
  }
  if (!two) throw new UsageError(`${command}: ${method.name} has no 2-d op to pool a picture with (it has ${method.dims.map((d) => `${d}-d`).join(", ")})`);
  return method;
}

/** Check an output path (format from its name, folder exists) and that it is not the input unless forced. */
function checkOutput(command: string, output: string, input: string, force: boolean): void {
  checkOutputPath(output);
  if (!force && sameFile(input, output)) {
    throw new UsageError(`${command}: --output ${show(output)} is the input file; pass --force to overwrite it`);
  }
}

function maxPixelsFlag(command: string, values: Parsed["values"]): number {
  return intFlag(command, values, "max-pixels", DEFAULT_MAX_PIXELS, 1, Number.MAX_SAFE_INTEGER);
}

const RUN_FLAGS: Readonly<Record<string, FlagSpec>> = {
  input: { type: "string", short: "i", hint: "file" },
  output: { type: "string", hint: "file" },
  option: { type: "string", short: "o", multiple: true, hint: "key=value" },
  seed: { type: "string", hint: "n" },
  upscale: { type: "boolean" },
  scale: { type: "string", hint: "auto|minmax|clip" },
  json: { type: "boolean" },
  "max-pixels": { type: "string", hint: "n" },
  force: { type: "boolean" },
};

/** `-o key=value` pairs as an options object with own properties only (`__proto__` stays a plain key the op rejects). */
export function parseOverrides(pairs: readonly string[]): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  for (const kv of pairs) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new UsageError(`run: --option must look like key=value, got ${show(kv)}`);
    // defineProperty, not assignment: `o["__proto__"] = v` would set the prototype and the key would vanish.
    Object.defineProperty(overrides, kv.slice(0, eq).trim(), { value: parseOptionValue(kv.slice(eq + 1)), enumerable: true, writable: true, configurable: true });
  }
  return overrides;
}

function run(args: readonly string[], io: IO, registry: Registry): number {
  const { values, positionals } = parseCommand("run", args, RUN_FLAGS);
  if (positionals.length !== 1) throw new UsageError(`run takes one method name, got ${show(positionals)}`);
  const input = stringFlag(values, "input");
  const output = stringFlag(values, "output");
  if (!input) throw new UsageError("run needs --input <file.png|file.jpg>");
  if (!output && !values.json) throw new UsageError("run needs --output <file.png|file.jpg> or --json");
  const scale = (stringFlag(values, "scale") ?? "auto") as Scale;
  if (!SCALES.includes(scale)) throw new UsageError(`--scale must be one of ${SCALES.join(", ")}, got ${show(values.scale)}`);
  const seedText = stringFlag(values, "seed") ?? "0";
  const seed = Number(seedText);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got ${show(seedText)}`);
  const maxPixels = maxPixelsFlag("run", values);
  const overrides = parseOverrides(listFlag(values, "option"));
  const method = pictureMethod("run", positionals[0] as string, registry);
  // Refuse a bad output before any work.
  if (output) checkOutput("run", output, input, values.force === true);

  const img = readImage(input, maxPixels);
  const x = imageToTensor(img);
  const options = mergeOptions(method, overrides);
  const { op, output: y } = runMethod(method, x, options, seed, 2);

  if (values.json) {
    let text: string;
    try {
      text = JSON.stringify({ method: method.name, op: op.opName, options, input: x.shape, shape: y.shape, dtype: y.dtype, values: y.toArray() });
    } catch (e) {
      // V8 caps a string at about 2^29 characters ("Invalid string length").
      if (e instanceof RangeError) throw new Error(`the output ${show(y.shape)} (${y.size} values) is too large to print as JSON`);
      throw e;
    }
    io.out(text);
  }
  if (output) {
    const call = `${op.opName}(x ${show(x.shape)}, ${showOptions(options)}) → ${show(y.shape)}`;
    let note: string;
    let pic;
    if (isPictureOutput(y)) {
      const [h, w] = y.shape.slice(-2) as [number, number];
      checkPictureSize("the output picture", w, h, maxPixels);
      pic = tensorToImage(y, scale);
      if (values.upscale) pic = resizeNearest(pic, img.width, img.height);
      const first = (y.shape[0] as number) > 1 ? ` (item 0 of ${y.shape[0]})` : "";
      note = `${call}; wrote ${output} (${pic.width}×${pic.height})${first}`;
    } else {
      // Not a picture: a heat map of item 0, and the numbers are one flag away.
      const grid = heatGrid(y);
      const cell = cellSizeFor(grid, 256);
      checkPictureSize("the heat map", grid.cols * cell, grid.rows * cell, maxPixels);
      pic = renderHeatmap(grid, cell);
      const [lo, hi] = heatRange(grid);
      const why = y.shape.length === 4 ? (imagePlanes(y) as string) : `output of shape ${show(y.shape)} is not a picture`;
      note = `${call}; ${why}: wrote a heat map to ${output} (${grid.layout}; values ${legendNumber(lo)}..${legendNumber(hi)}); use --json for the numbers`;
    }
    writeFileAtomic(output, encodeImage(pic, checkOutputPath(output)));
    // With --json on stdout, keep stdout pure JSON.
    (values.json ? io.err : io.out)(note);
  }
  return 0;
}

function sheet(args: readonly string[], io: IO, registry: Registry): number {
  const { values, positionals } = parseCommand("sheet", args, {
    output: { type: "string", hint: "file" },
    tile: { type: "string", hint: "n" },
    size: { type: "string", hint: "n" },
    seed: { type: "string", hint: "n" },
    "max-pixels": { type: "string", hint: "n" },
    force: { type: "boolean" },
  });
  if (positionals.length !== 1) throw new UsageError(`sheet takes one input picture, got ${show(positionals)}`);
  const input = positionals[0] as string;
  const output = stringFlag(values, "output");
  if (!output) throw new UsageError("sheet needs --output <sheet.png|sheet.jpg>");
  const tile = intFlag("sheet", values, "tile", 160, 32, 1024);
  const size = intFlag("sheet", values, "size", 128, 4, 2048);
  const seed = intFlag("sheet", values, "seed", 0, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const maxPixels = maxPixelsFlag("sheet", values);
  checkOutput("sheet", output, input, values.force === true);

  let img = readImage(input, maxPixels);
  if (Math.max(img.width, img.height) > size) {
    const fit = fitInside(img.width, img.height, size);
    img = resizeArea(img, fit.width, fit.height);
  }
  const methods = registry.list();
  const bar = progressBar(io.statusLine, "sheet", methods.length);
  let tiles;
  try {
    tiles = sheetTiles(methods, img, tile, seed, (done, name) => bar.step(done, name));
  } finally {
    bar.finish();
  }
  const pic = composeSheet(tiles, tile);
  writeFileAtomic(output, encodeImage(pic, checkOutputPath(output)));
  const failed = tiles.filter((t) => t.error !== undefined);
  for (const t of failed) io.err(`poolkit sheet: ${t.label} failed: ${t.error}`);
  io.out(`wrote ${output} (${pic.width}×${pic.height}): ${methods.length} methods on ${img.width}×${img.height}${failed.length ? `, ${failed.length} failed` : ""}`);
  return failed.length ? 1 : 0;
}

function sample(args: readonly string[], io: IO): number {
  const { values, positionals } = parseCommand("sample", args, { size: { type: "string", hint: "n" } });
  if (positionals.length !== 1) throw new UsageError(`sample takes one output file, got ${show(positionals)}`);
  const size = intFlag("sample", values, "size", 96, 1, 4096);
  const out = positionals[0] as string;
  writeFileAtomic(out, encodeImage(sampleImage(size, size), checkOutputPath(out)));
  io.out(`wrote ${out} (${size}×${size} sample picture)`);
  return 0;
}

async function serve(args: readonly string[], io: IO): Promise<number> {
  const { values, positionals } = parseCommand("serve", args, { port: { type: "string", short: "p", hint: "n" } });
  if (positionals.length !== 1) throw new UsageError(`serve takes one directory, got ${show(positionals)}`);
  const port = intFlag("serve", values, "port", 8080, 0, 65535);
  const server = await serveStatic(positionals[0] as string, port);
  const addr = server.address();
  const actual = addr && typeof addr === "object" ? addr.port : port;
  io.out(`serving ${positionals[0]} at http://127.0.0.1:${actual}/ (Ctrl-C to stop)`);
  return 0;
}

