import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/commands.js";
import { Generator, softPool2d, tensor, detailPreservingPool2d } from "../../src/index.js";
import { runOnnx, expectClose } from "./ort.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

const dir = mkdtempSync(join(tmpdir(), "poolkit-onnx-cli-"));
const gen = new Generator(1);
const normals = (n: number): number[] => Array.from({ length: n }, () => gen.normal());

describe("poolkit export", () => {
  it("writes the issue's example model, which ONNX Runtime runs like softPool2d", async () => {
    const file = join(dir, "soft.onnx");
    const c = capture();
    const code = await main(["export", "soft", "-o", "kernelSize=2", "--shape", "1,3,32,32", "--output", file], c.io);
    expect(c.err).toEqual([]);
    expect(code).toBe(0);
    expect(c.out[0]).toMatch(/^wrote .*soft\.onnx \(\d+ bytes\): softPool2d on x \[1, 3, 32, 32\], opset 17, output "output"$/);
    const x = tensor(normals(3 * 32 * 32), [1, 3, 32, 32]);
    const { output } = await runOnnx(new Uint8Array(readFileSync(file)), { x });
    expectClose(output!, softPool2d(x, { kernelSize: 2 }), "soft");
  });

  it("learnable parameters from --params, an opset, and --example-params", async () => {
    const file = join(dir, "dpp.onnx");
    const pfile = join(dir, "dpp.json");
    writeFileSync(pfile, JSON.stringify({ alpha: [0.5, -1], lambda: [1, 0.2] }));
    const c = capture();
    expect(await main(["export", "dpp", "--shape", "1,2,4,6", "--params", pfile, "--opset", "18", "--output", file], c.io)).toBe(0);
    const x = tensor(normals(48), [1, 2, 4, 6]);
    const { output } = await runOnnx(new Uint8Array(readFileSync(file)), { x });
    expectClose(output!, detailPreservingPool2d(x, tensor([0.5, -1]), tensor([1, 0.2])), "dpp");
    const c2 = capture();
    expect(await main(["export", "gated", "--shape", "1,2,7,7", "--example-params", "--output", join(dir, "gated.onnx")], c2.io)).toBe(0);
    expect(existsSync(join(dir, "gated.onnx"))).toBe(true);
  });

  it("a method ONNX cannot express fails with exit code 1 and says why; bad usage exits 2", async () => {
    const c = capture();
    expect(await main(["export", "mixed", "--shape", "1,2,8,8", "--output", join(dir, "m.onnx")], c.io)).toBe(1);
    expect(c.err[0]).toMatch(/^poolkit export: Mixed cannot be expressed in ONNX: its training mode draws random numbers/);
    expect(existsSync(join(dir, "m.onnx"))).toBe(false);
    const c1 = capture();
    expect(await main(["export", "mixed", "-o", "training=false", "--shape", "1,2,8,8", "--output", join(dir, "m.onnx")], c1.io)).toBe(0);
    for (const [args, message] of [
      [["export", "soft", "--output", "a.onnx"], "export needs --shape N,C,... (the input shape)"],
      [["export", "soft", "--shape", "1,3,8,8"], "export needs --output <file.onnx>"],
      [["export", "soft", "--shape", "1,x,8", "--output", "a.onnx"], `--shape must be positive integers separated by commas, got "1,x,8"`],
      [["export", "dpp", "--shape", "1,2,4,4", "--output", "a.onnx"], "DPP has learnable parameters (alpha, lambda): pass --params file.json or --example-params"],
      [["export", "soft", "--shape", "1,2,4,4", "--example-params", "--output", "a.onnx"], "SoftPool has no learnable parameters; drop --params / --example-params"],
      [["export", "--shape", "1,2,4,4", "--output", "a.onnx"], "export takes one method name, got []"],
    ] as const) {
      const e = capture();
      expect(await main([...args], e.io), args.join(" ")).toBe(2);
      expect(e.err[0]).toBe(`poolkit export: ${message}`);
    }
  });

  it("fractional max with samples given as JSON, and an omitted optional input", async () => {
    const c = capture();
    expect(await main(["export", "fractional", "-o", "samples=[0.1,0.5,0.9,0.3]", "--shape", "1,2,9,9", "--output", join(dir, "f.onnx")], c.io)).toBe(0);
    const c2 = capture();
    expect(await main(["export", "bilinear", "--shape", "2,3,4,4", "--input-shape", "b=", "--output", join(dir, "b.onnx")], c2.io)).toBe(0);
    expect(c2.out[0]).not.toContain(" and b");
  });
});

describe("poolkit export as a command of the program", () => {
  it("is listed in the help text", async () => {
    const c = capture();
    expect(await main(["help"], c.io)).toBe(0);
    expect(c.out.join("\n")).toMatch(/^ {2}export <method> --shape/m);
  });

  it("rejects -o __proto__=… as an unknown option instead of dropping it", async () => {
    const file = join(dir, "proto.onnx");
    const c = capture();
    const code = await main(["export", "max", "-o", "kernelSize=2", "-o", '__proto__={"polluted":1}', "--shape", "1,1,4,4", "--output", file], c.io);
    expect(code).toBe(1);
    expect(c.err.join("\n")).toMatch(/unknown option "__proto__"/);
    expect(existsSync(file)).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
