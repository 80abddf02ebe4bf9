/**
 * The install stays quiet and complete: npm reads `.npmrc` without an "Unknown project config"
 * warning, every installed package's install script is decided by `allowScripts` (so npm 11 prints
 * no "not yet covered" notice and none of them runs), and the dependency tree has no invalid or
 * missing edge (the `@types/node` vs vite peer range that produced the ERESOLVE block).
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const INSTALL_SCRIPTS = ["preinstall", "install", "postinstall"] as const;

/** Every package under a node_modules folder (scoped and nested ones included). */
function installedPackages(dir: string, out: { name: string; scripts: Record<string, string> }[] = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.name.startsWith("@")) {
      installedPackages(path, out);
      continue;
    }
    const manifest = join(path, "package.json");
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; scripts?: Record<string, string> };
      if (pkg.name) out.push({ name: pkg.name, scripts: pkg.scripts ?? {} });
    }
    installedPackages(join(path, "node_modules"), out);
  }
  return out;
}

describe("a quiet install", () => {
  it("allowScripts decides every dependency install script (none runs unless listed as true)", () => {
    const { allowScripts } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> };
    const withScripts = installedPackages(join(root, "node_modules")).filter((p) => INSTALL_SCRIPTS.some((s) => s in p.scripts));
    // Guard against a vacuous pass: these three have install scripts today.
    expect(withScripts.map((p) => p.name)).toEqual(expect.arrayContaining(["onnxruntime-node", "esbuild", "core-js"]));
    for (const p of withScripts) expect(typeof allowScripts?.[p.name], `allowScripts entry for ${p.name}`).toBe("boolean");
    // The three known ones are denied: onnxruntime-node's would fetch CUDA libraries (README, Dependencies).
    for (const name of ["onnxruntime-node", "esbuild", "core-js"]) expect(allowScripts?.[name], name).toBe(false);
  });

  it("npm reads .npmrc without warnings", () => {
    const r = spawnSync("npm", ["config", "get", "fund"], { cwd: root, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("false");
  });

  it("the installed tree satisfies every dependency and peer range (npm ls --all)", () => {
    const r = spawnSync("npm", ["ls", "--all"], { cwd: root, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
