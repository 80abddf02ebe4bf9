import { describe, expect, it, afterAll } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listPools } from "../../src/registry.js";

const root = join(__dirname, "..", "..");
const outdir = mkdtempSync(join(tmpdir(), "poolkit-playground-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe("playground bundle", () => {
  // The real build script, into a temporary directory (no network, no browser).
  const r = spawnSync(process.execPath, [join(root, "scripts", "build-playground.mjs"), "--outdir", outdir], { encoding: "utf8" });

  it("builds with esbuild for the browser platform", () => {
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(outdir, "main.js"))).toBe(true);
    expect(existsSync(join(outdir, "index.html"))).toBe(true);
    expect(readFileSync(join(outdir, "index.html"), "utf8")).toContain('<script type="module" src="./main.js"></script>');
  });

  it("contains no node: import and no tfjs", () => {
    const js = readFileSync(join(outdir, "main.js"), "utf8");
    expect(js).not.toMatch(/from\s*["']node:|import\(\s*["']node:|require\(\s*["']node:/);
    expect(js).not.toMatch(/@tensorflow\//);
    expect(js).not.toMatch(/Math\.random\(/);
  });

  it("bundles the registry: every registered method's descriptor is in it", () => {
    const js = readFileSync(join(outdir, "main.js"), "utf8");
    for (const m of listPools()) expect(js).toContain(m.paper);
  });
});
