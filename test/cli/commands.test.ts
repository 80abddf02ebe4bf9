import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import type { AddressInfo } from "node:net";
import { main } from "../../src/cli/commands.js";
import { decodePng, encodePng } from "../../src/cli/png.js";
import { resolveInside, serveStatic } from "../../src/cli/serve.js";
import { parseOptionValue } from "../../src/cli/invoke.js";
import { listPools } from "../../src/registry.js";
import type { RGBAImage } from "../../src/cli/image.js";
import { FAKE_AVG, FAKE_GAIN, FAKE_THROWS, capture, fakeRegistry } from "./fakes.js";
import { defineOp } from "../../src/op.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";

/** [N, C, H, W] → [N, C] (first value of each plane): an output that is not an image. */
const fakeGlobal = defineOp("fakeGlobal", (x: Tensor) => {
  const [n, c] = x.shape as [number, number];
  const plane = x.size / (n * c);
  return { output: tensor(Array.from({ length: n * c }, (_, i) => x.data[i * plane] as number), [n, c]), backward: () => [null] };
});

const reg = fakeRegistry([FAKE_AVG, FAKE_GAIN]);
let dir: string;

/** A 4×4 RGBA test picture: R = 10·(y·4 + x), G = 255 − R, B = 0 (so block means are easy by hand). */
function picture(w = 4, h = 4): RGBAImage {
  const data = new Uint8Array(4 * w * h);
  for (let p = 0; p < w * h; p++) {
    data[4 * p] = 10 * p;
    data[4 * p + 1] = 255 - 10 * p;
    data[4 * p + 2] = 0;
    data[4 * p + 3] = 255;
  }
  return { width: w, height: h, data };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "poolkit-cli-"));
  writeFileSync(join(dir, "in.png"), encodePng(picture()));
  writeFileSync(join(dir, "wide.png"), encodePng(picture(10, 6)));
  writeFileSync(join(dir, "not.png"), "this is not a png");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("option values", () => {
  it("parses JSON, comma lists, bare strings and empty (removes)", () => {
    expect(parseOptionValue("2")).toBe(2);
    expect(parseOptionValue("[2, 3]")).toEqual([2, 3]);
    expect(parseOptionValue("2,3")).toEqual([2, 3]);
    expect(parseOptionValue("true")).toBe(true);
    expect(parseOptionValue("logm")).toBe("logm");
    expect(parseOptionValue('"max"')).toBe("max");
    expect(parseOptionValue("")).toBeUndefined();
  });
});

describe("list and info", () => {
  it("list prints a row per method with exports, category, random, learnable and paper", async () => {
    const c = capture();
    expect(await main(["list"], c.io, reg)).toBe(0);
    const text = c.out.join("\n");
    expect(c.out[0]).toMatch(/^name\s+exports\s+category\s+random\s+learnable\s+paper$/);
    expect(text).toMatch(/FakeAvg\s+fakeAvg2d\s+sliding\s+no\s+-\s+Test stand-in FakeAvg/);
    expect(text).toMatch(/FakeGain\s+fakeGain2d\s+sliding\s+no\s+gain\s+Test stand-in FakeGain/);
    expect(text).toContain("2 methods");
  });

  it("list --json is machine-readable", async () => {
    const c = capture();
    expect(await main(["list", "--json"], c.io, reg)).toBe(0);
    const rows = JSON.parse(c.out.join("\n")) as { name: string; learnable: string[] }[];
    expect(rows.map((r) => r.name)).toEqual(["FakeAvg", "FakeGain"]);
    expect(rows[1]?.learnable).toEqual(["gain"]);
  });

  it("list over the real registry names every registered method", async () => {
    const c = capture();
    expect(await main(["list"], c.io)).toBe(0);
    for (const m of listPools()) expect(c.out.join("\n")).toContain(m.name);
  });

  it("info shows the descriptor, the inputs with shapes and the example output shape", async () => {
    const c = capture();
    expect(await main(["info", "fakegain"], c.io, reg)).toBe(0);
    const text = c.out.join("\n");
    expect(text).toContain("FakeGain — FakeGain: 2×2 block average");
    expect(text).toContain("learnable:  gain");
    expect(text).toContain("gain [3] learnable  per-channel gain");
    expect(text).toContain("output:     [2, 3, 8, 8] for x [2, 3, 16, 16]");
  });

  it("info for every real method succeeds", async () => {
    for (const m of listPools()) {
      const c = capture();
      expect(await main(["info", m.name], c.io), c.err.join("\n")).toBe(0);
      expect(c.out[0]).toContain(m.name);
      expect(c.out.join("\n")).not.toContain("outputShape failed");
    }
  });

  it("an unknown method is an error that lists the known methods (real registry)", async () => {
    const c = capture();
    expect(await main(["info", "definitely-not-a-pool"], c.io)).toBe(1);
    const msg = c.err.join("\n");
    expect(msg).toContain('unknown pooling method "definitely-not-a-pool"; known:');
    for (const m of listPools()) expect(msg).toContain(m.name);
  });
});

describe("run", () => {
  it("pools a PNG per channel and writes a PNG of the pooled size", async () => {
    const c = capture();
    const out = join(dir, "out.png");
    expect(await main(["run", "FakeAvg", "--input", join(dir, "in.png"), "--output", out, "--scale", "clip"], c.io, reg)).toBe(0);
    const img = decodePng(new Uint8Array(readFileSync(out)));
    expect([img.width, img.height]).toEqual([2, 2]);
    // Top-left block holds pixels 0, 1, 4, 5: R = 10·(0+1+4+5)/4 = 25, G = 255 − 25 = 230.
    expect(Array.from(img.data.subarray(0, 4))).toEqual([25, 230, 0, 255]);
    // Bottom-right block: pixels 10, 11, 14, 15 → R = 125, G = 130.
    expect(Array.from(img.data.subarray(12, 16))).toEqual([125, 130, 0, 255]);
    expect(c.out.join("\n")).toContain("fakeAvg2d(x [1, 3, 4, 4], {kernelSize: 2}) → [1, 3, 2, 2]");
  });

  it("--upscale restores the input size by nearest neighbour; options override defaults", async () => {
    const c = capture();
    const out = join(dir, "up.png");
    const code = await main(["run", "FakeAvg", "-i", join(dir, "wide.png"), "--output", out, "--upscale", "-o", "kernelSize=3"], c.io, reg);
    expect(code, c.err.join("\n")).toBe(0);
    const img = decodePng(new Uint8Array(readFileSync(out)));
    expect([img.width, img.height]).toEqual([10, 6]);
    // 10×6 with k = 3 pools to 3×2; output column 0 covers input columns 0..3 (⌊x·3/10⌋ = 0 for x < 4).
    const px = (x: number, y: number) => Array.from(img.data.subarray(4 * (y * 10 + x), 4 * (y * 10 + x) + 4));
    expect(px(0, 0)).toEqual(px(3, 2));
    expect(px(0, 0)).not.toEqual(px(4, 0));
  });

  it("--json prints the raw output", async () => {
    const c = capture();
    expect(await main(["run", "FakeAvg", "--input", join(dir, "in.png"), "--json"], c.io, reg)).toBe(0);
    const r = JSON.parse(c.out.join("\n")) as { shape: number[]; dtype: string; values: number[][][][] };
    expect(r.shape).toEqual([1, 3, 2, 2]);
    expect(r.dtype).toBe("float32");
    expect(r.values[0]?.[0]?.[0]?.[0]).toBeCloseTo(25 / 255, 6);
    expect(r.values[0]?.[2]?.[1]?.[1]).toBe(0);
  });

  it("builds the extra inputs of methods that have them", async () => {
    const c = capture();
    expect(await main(["run", "FakeGain", "--input", join(dir, "in.png"), "--json", "--seed", "5"], c.io, reg)).toBe(0);
    expect((JSON.parse(c.out.join("\n")) as { shape: number[] }).shape).toEqual([1, 3, 2, 2]);
  });

  it("a bad option is reported with the op's own message", async () => {
    const c = capture();
    expect(await main(["run", "FakeAvg", "--input", join(dir, "in.png"), "--json", "-o", "kernelSize=0"], c.io, reg)).toBe(1);
    expect(c.err[0]).toBe("poolkit run: fakeAvg2d: kernelSize must be a positive integer, got 0");
    const c2 = capture();
    expect(await main(["run", "FakeAvg", "--input", join(dir, "in.png"), "--json", "-o", "kernal=2"], c2.io, reg)).toBe(1);
    expect(c2.err[0]).toBe('poolkit run: fakeAvg2d: unknown option "kernal"; known options: kernelSize');
  });

  it("every real 2-d method rejects an unknown option with a message naming its op or method", async () => {
    for (const m of listPools()) {
      const op = m.ops[2];
      if (!op) continue;
      const c = capture();
      expect(await main(["run", m.name, "--input", join(dir, "in.png"), "--json", "-o", "noSuchOption=1"], c.io)).toBe(1);
      // The op's own message; a descriptor whose input-shape helper validates the options first
      // may name the method instead (MaxUnpool does).
      expect(c.err[0]).toMatch(new RegExp(`^poolkit run: (${op.opName}|${m.name}): .*noSuchOption`));
    }
  });

  it("missing and undecodable files, missing flags and unknown commands are clear errors", async () => {
    const c = capture();
    expect(await main(["run", "FakeAvg", "--input", join(dir, "nope.png"), "--json"], c.io, reg)).toBe(1);
    expect(c.err[0]).toBe(`poolkit run: cannot read "${join(dir, "nope.png")}": the file does not exist`);
    expect(await main(["run", "FakeAvg", "--input", join(dir, "not.png"), "--json"], c.io, reg)).toBe(1);
    expect(c.err[1]).toBe(`poolkit run: "${join(dir, "not.png")}": not a PNG or JPEG file`);
    expect(await main(["run", "FakeAvg", "--input", join(dir, "in.png")], c.io, reg)).toBe(2);
    expect(c.err[2]).toBe("poolkit: run needs --output <file.png|file.jpg> or --json");
    expect(await main(["run", "FakeAvg", "--bogus"], c.io, reg)).toBe(2);
    expect(c.err[4]).toContain("--bogus");
    expect(await main(["frobnicate"], c.io, reg)).toBe(2);
    expect(c.err[6]).toContain('unknown command "frobnicate"');
  });

  it("an output that is not an image is drawn as a heat map and points to --json; a throwing op is reported", async () => {
    const c = capture();
    const global = fakeRegistry([{ ...FAKE_AVG, name: "FakeGlobal", ops: { 2: fakeGlobal }, defaults: {} }]);
    const out = join(dir, "g.png");
    expect(await main(["run", "FakeGlobal", "--input", join(dir, "in.png"), "--output", out], c.io, global)).toBe(0);
    expect(c.out[0]).toBe(
      `fakeGlobal(x [1, 3, 4, 4], {}) → [1, 3]; output of shape [1, 3] is not a picture: wrote a heat map to ${out} (item 0's 3 values in rows of 2 (row-major); values 0..1); use --json for the numbers`,
    );
    // Values [R(0,0), G(0,0), B(0,0)] = [0, 1, 0] in a 2×2 grid of 64-px cells (256 px / 2 cells, capped
    // at 64): 0 is the dark end of the sequential map (12, 7, 35), 1 the light end (252, 240, 160),
    // the 4th cell is padding (background 24, 24, 28).
    const img = decodePng(new Uint8Array(readFileSync(out)));
    const px = (x: number, y: number) => Array.from(img.data.subarray(4 * (y * img.width + x), 4 * (y * img.width + x) + 3));
    expect(px(10, 10)).toEqual([12, 7, 35]);
    expect(px(70, 10)).toEqual([252, 240, 160]);
    expect(px(10, 70)).toEqual([12, 7, 35]);
    expect(px(70, 70)).toEqual([24, 24, 28]);
    expect(img.height).toBeGreaterThan(128); // the colour bar and its labels under the grid
    expect(await main(["run", "FakeThrows", "--input", join(dir, "in.png"), "--json"], c.io, fakeRegistry([FAKE_THROWS]))).toBe(1);
    expect(c.err[0]).toBe("poolkit run: fakeThrows2d: always fails, got nothing");
  });
});

describe("sample", () => {
  it("writes the generated sample picture at the requested size", async () => {
    const c = capture();
    const out = join(dir, "sample.png");
    expect(await main(["sample", out, "--size", "40"], c.io)).toBe(0);
    const img = decodePng(new Uint8Array(readFileSync(out)));
    expect([img.width, img.height]).toEqual([40, 40]);
    expect(await main(["sample", out, "--size", "0"], c.io)).toBe(2);
    expect(c.err[0]).toBe("poolkit: sample: --size must be an integer in [1, 4096], got \"0\"");
  });
});

describe("the program entry point", () => {
  it("runs as a program: exit code 1 and the known methods on stderr for an unknown method", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", join(__dirname, "../../src/cli/main.ts"), "info", "nope-pool"], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('poolkit info: getPool: unknown pooling method "nope-pool"; known:');
    expect(readFileSync(join(__dirname, "../../src/cli/main.ts"), "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });
});

describe("serve", () => {
  it("serves files with content types, 404s missing ones and refuses to leave the root", async () => {
    const root = join(dir, "site");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "index.html"), "<h1>hi</h1>");
    writeFileSync(join(root, "app.js"), "console.log(1)");
    const server = await serveStatic(root, 0);
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const index = await fetch(`${base}/`);
      expect(index.status).toBe(200);
      expect(index.headers.get("content-type")).toContain("text/html");
      expect(await index.text()).toBe("<h1>hi</h1>");
      const js = await fetch(`${base}/app.js`);
      expect(js.headers.get("content-type")).toContain("text/javascript");
      expect((await fetch(`${base}/missing.txt`)).status).toBe(404);
    } finally {
      await new Promise((ok) => server.close(ok));
    }
    expect(resolveInside(root, "/../secret")).toBeNull();
    expect(resolveInside(root, "/%2e%2e/secret")).toBeNull();
    expect(resolveInside(root, "/a/b.js?x=1")).toBe(join(root, "a", "b.js"));
  });

  it("serve on a missing directory is an error", async () => {
    const c = capture();
    expect(await main(["serve", join(dir, "no-such-dir"), "--port", "0"], c.io)).toBe(1);
    expect(c.err[0]).toContain("is not a directory");
  });
});
