import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

// The core must run in browsers: nothing outside src/cli/ may import a node: module,
// and nothing outside src/tfjs/ may import TensorFlow.js.
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("core is browser-safe", () => {
  const root = join(__dirname, "..", "src");
  const all = files(root);
  it("finds the sources", () => expect(all.length).toBeGreaterThan(10));
  for (const f of all) {
    const rel = relative(root, f);
    const src = readFileSync(f, "utf8");
    if (!rel.startsWith("cli")) {
      it(`${rel} imports no node: module`, () => {
        expect(src).not.toMatch(/from\s+["']node:|require\(["']node:|from\s+["'](fs|path|os|url|child_process)["']/);
      });
    }
    if (!rel.startsWith("tfjs")) {
      it(`${rel} imports no tfjs`, () => expect(src).not.toMatch(/@tensorflow\//));
    }
    it(`${rel} never calls Math.random`, () => expect(src).not.toMatch(/Math\.random\(/));
  }
});
