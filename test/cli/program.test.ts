/**
 * The program's surface: --version, plain messages for unknown flags, options that could reach
 * Object.prototype, ranks asked for by name, outputs that are not pictures, errors without stack
 * traces, and the table of commands.
 */
import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { COMMANDS, main, packageVersion, rankInName, usage } from "../../src/cli/commands.js";
import { decodePng, encodePng } from "../../src/cli/png.js";
import { sampleImage } from "../../src/cli/image.js";
import { getPool } from "../../src/registry.js";
import { capture } from "./fakes.js";

let dir: string;
let input: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "poolkit-prog-"));
  input = join(dir, "in.png");
  writeFileSync(input, encodePng(sampleImage(16, 16)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]) {
  const c = capture();
  const code = await main(args, c.io);
  return { code, out: c.out, err: c.err };
}

describe("--version", () => {
  it("poolkit --version and poolkit version print package.json's version (was an unknown command)", async () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, "../../package.json"), "utf8")) as { version: string };
    for (const args of [["--version"], ["version"], ["-V"]]) {
      const r = await run(args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.out).toEqual([pkg.version]);
    }
    expect(packageVersion()).toBe(pkg.version);
  });
});

describe("flags", () => {
  it("an unknown flag is a plain message listing the command's flags (no parser text, balanced quotes)", async () => {
    const r = await run(["run", "Max", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.err[0]).toBe(
      "poolkit: run: unknown option --bogus; it accepts --input <file>, --output <file>, --option <key=value>, --seed <n>, --upscale, " +
        "--scale <auto|minmax|clip>, --json, --max-pixels <n>, --force, --help",
    );
    expect(r.err[0]).not.toContain("'");
    const l = await run(["list", "-x"]);
    expect(l.err[0]).toBe("poolkit: list: unknown option -x; it accepts --json, --help");
  });

  it("a flag without its value, a value on a switch and a repeated flag are plain messages", async () => {
    expect((await run(["run", "Max", "--input"])).err[0]).toBe("poolkit: run: --input needs a value (--input <file>)");
    expect((await run(["list", "--json=yes"])).err[0]).toBe('poolkit: list: --json takes no value, got "yes"');
    expect((await run(["run", "Max", "-i", input, "-i", input, "--json"])).err[0]).toBe("poolkit: run: --input <file> given twice");
  });

  it("negative numbers are values, not flags", async () => {
    const r = await run(["run", "Max", "-i", input, "--json", "--seed", "-3"]);
    expect(r.code, r.err.join("\n")).toBe(0);
  });
});

describe("options cannot reach Object.prototype", () => {
  for (const key of ["__proto__", "constructor", "prototype"]) {
    it(`-o '${key}=…' is rejected as an unknown option (it was silently ignored for __proto__)`, async () => {
      const r = await run(["run", "Max", "-i", input, "--json", "-o", `${key}={"polluted":1}`]);
      expect(r.code).toBe(1);
      expect(r.err).toEqual([`poolkit run: maxPool2d: unknown option "${key}"; known options: kernelSize, stride, padding, dilation, ceilMode`]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  it("a method without options says so for __proto__ too", async () => {
    const r = await run(["run", "GlobalMax", "-i", input, "--json", "-o", "__proto__=1"]);
    expect(r.err).toEqual(['poolkit run: globalMaxPool: takes no options, got unknown option "__proto__"']);
  });
});

describe("ranks asked for by name", () => {
  it("rankInName reads a trailing 1d/2d/3d", () => {
    expect([rankInName("maxPool3d"), rankInName("max-pool-1d"), rankInName("softPool2d"), rankInName("S3Pool"), rankInName("max")]).toEqual([3, 1, 2, undefined, undefined]);
  });

  it("run maxPool3d refuses instead of silently running maxPool2d", async () => {
    const r = await run(["run", "maxPool3d", "-i", input, "--json"]);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err[0]).toBe('poolkit: run: maxPool3d pools volumes [N, C, D, H, W], and a picture is 2-d ([1, 3, H, W]); use maxPool2d (or "Max")');
    const one = await run(["run", "avg-pool-1d", "-i", input, "--json"]);
    expect(one.err[0]).toBe('poolkit: run: avgPool1d pools sequences [N, C, L], and a picture is 2-d ([1, 3, H, W]); use avgPool2d (or "Average")');
    const lip = await run(["run", "lip3d", "-i", input, "--json"]);
    expect(lip.err[0]).toBe('poolkit: run: LIP 3-d pools volumes [N, C, D, H, W], and a picture is 2-d ([1, 3, H, W]); use localImportancePool2d (or "LIP")');
  });

  it("run maxPool2d and run Max are the same 2-d op", async () => {
    const a = await run(["run", "maxPool2d", "-i", input, "--json"]);
    const b = await run(["run", "Max", "-i", input, "--json"]);
    expect(a.code).toBe(0);
    expect(a.out).toEqual(b.out);
    expect((JSON.parse(a.out[0] as string) as { op: string }).op).toBe("maxPool2d");
  });
});

describe("outputs that are not pictures (real registry)", () => {
  it("--json works for covariance, SPP, bilinear and Grassmann", async () => {
    for (const [name, shape] of [
      ["Covariance", [1, 6]],
      ["SpatialPyramid", [1, 63]],
      ["Bilinear", [1, 9]],
      ["Grassmann", [1, 3, 3]],
    ] as const) {
      const r = await run(["run", name, "-i", input, "--json"]);
      expect(r.code, r.err.join("\n")).toBe(0);
      const out = JSON.parse(r.out.join("")) as { shape: number[]; values: unknown };
      expect(out.shape).toEqual(shape);
      expect(JSON.stringify(out.values).match(/-?\d/g)?.length).toBeGreaterThan(0);
      expect(getPool(name).outputShape([1, 3, 16, 16], getPool(name).defaults as Record<string, unknown>)).toEqual(shape);
    }
  });

  it("--output draws a heat map and says so; Grassmann's [1, 3, 3] is a 3×3 matrix, not a 1-channel picture", async () => {
    const out = join(dir, "g.png");
    const r = await run(["run", "Grassmann", "-i", input, "--output", out]);
    expect(r.code, r.err.join("\n")).toBe(0);
    expect(r.out[0]).toMatch(/→ \[1, 3, 3\]; output of shape \[1, 3, 3\] is not a picture: wrote a heat map to .* \(item 0 as a 3×3 matrix; values .*\); use --json for the numbers$/);
    const img = decodePng(new Uint8Array(readFileSync(out)));
    expect(img.width).toBe(3 * 64); // 3 cells of 64 px
  });

  it("covariance with output: full ([1, 3, 3]) is drawn as the 3×3 matrix", async () => {
    const out = join(dir, "b.png");
    const r = await run(["run", "Covariance", "-i", input, "--output", out, "-o", "output=full"]);
    expect(r.code, r.err.join("\n")).toBe(0);
    expect(r.out[0]).toContain("item 0 as a 3×3 matrix");
  });
});

describe("errors are one plain line, no stack trace", () => {
  it("-o outputSize=100000 fails with exit 1 and one line", async () => {
    const r = await run(["run", "AdaptiveAverage", "-i", input, "--json", "-o", "outputSize=100000"]);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^poolkit run: /);
    expect(r.err[0]).not.toMatch(/\n\s+at /);
  });

  it("as a program: stderr has the message and no stack; exit 2 for usage, 1 for failures", () => {
    const cli = join(__dirname, "../../src/cli/main.ts");
    const usageErr = spawnSync(process.execPath, ["--import", "tsx", cli, "run", "Max", "--bogus"], { encoding: "utf8" });
    expect(usageErr.status).toBe(2);
    expect(usageErr.stderr).toContain("poolkit: run: unknown option --bogus");
    const failure = spawnSync(process.execPath, ["--import", "tsx", cli, "run", "Max", "-i", join(dir, "missing.png"), "--json"], { encoding: "utf8" });
    expect(failure.status).toBe(1);
    expect(failure.stderr.trim()).toBe(`poolkit run: cannot read "${join(dir, "missing.png")}": the file does not exist`);
    expect(failure.stderr).not.toMatch(/\s+at /);
  });
});

describe("commands are one table", () => {
  it("help lists every command in the table, and an unknown command names them", async () => {
    const text = usage();
    for (const name of Object.keys(COMMANDS)) expect(text).toContain(`\n  ${name}`);
    const r = await run(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.err[0]).toBe(`poolkit: unknown command "frobnicate"; commands: ${Object.keys(COMMANDS).join(", ")}`);
    // A key inherited from Object.prototype is not a command.
    expect((await run(["toString"])).code).toBe(2);
    expect((await run(["constructor"])).code).toBe(2);
  });
});
