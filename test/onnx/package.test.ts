import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(__dirname, "..", "..");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("poolkit/onnx is its own entry point", () => {
  it("package.json exports ./onnx (types first) → dist/onnx/index.js, built from src/onnx/index.ts", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports: Record<string, Record<string, string>> };
    const entry = pkg.exports["./onnx"];
    expect(entry).toEqual({ types: "./dist/onnx/index.d.ts", import: "./dist/onnx/index.js" });
    expect(Object.keys(entry ?? {})[0]).toBe("types");
    expect(statSync(join(root, "src", "onnx", "index.ts")).isFile()).toBe(true);
  });

  it("the core never imports it (only the CLI does), and it imports neither node: modules nor onnxruntime", () => {
    const src = join(root, "src");
    for (const f of files(src)) {
      const rel = relative(src, f);
      const text = readFileSync(f, "utf8");
      if (!rel.startsWith("onnx") && !rel.startsWith("cli")) expect(text, rel).not.toMatch(/from\s+["'][./]*onnx\//);
      if (rel.startsWith("onnx")) {
        expect(text, rel).not.toMatch(/from\s+["']node:/);
        expect(text, rel).not.toMatch(/from\s+["']onnxruntime/);
      }
    }
  });
});
