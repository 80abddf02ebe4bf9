#!/usr/bin/env node
// Bundle the browser playground: playground/src/main.ts (+ poolkit's core, from source) →
// <outdir>/main.js with esbuild, and copy playground/index.html beside it.
// Usage: node scripts/build-playground.mjs [--outdir playground/dist]
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { outdir: { type: "string" } } });
const outdir = resolve(values.outdir ?? join(root, "playground", "dist"));

mkdirSync(outdir, { recursive: true });
const result = await build({
  entryPoints: [join(root, "playground", "src", "main.ts")],
  outfile: join(outdir, "main.js"),
  bundle: true,
  format: "esm",
  platform: "browser", // a node: import in the core would fail the build here
  target: "es2022",
  sourcemap: true,
  minify: false,
  charset: "utf8", // keep non-ASCII text (×, —, papers' authors) readable in the bundle
  metafile: true,
  logLevel: "warning",
});
copyFileSync(join(root, "playground", "index.html"), join(outdir, "index.html"));
const bytes = Object.values(result.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
console.log(`playground built in ${outdir} (${(bytes / 1024).toFixed(0)} KiB incl. source map)`);
