/**
 * The CLI's picture input and output (issue: decompression bombs, JPEG, truncated files, output
 * formats, overwriting the input, atomic writes, plain messages). Every fixture is built here:
 * PNG headers written byte by byte (signature, IHDR, IDAT, IEND with their CRCs) claiming sizes
 * their tiny bodies do not hold, truncated copies of real files, and small JPEGs made by jpeg-js's
 * encoder.
 */
import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import jpeg from "jpeg-js";
import { main } from "../../src/cli/commands.js";
import { decodePng, encodePng, pngHeader } from "../../src/cli/png.js";
import { decodeJpeg, jpegHeader } from "../../src/cli/jpeg.js";
import { DEFAULT_MAX_PIXELS, ImageFileError, decodeImage, imageSize, maxFileBytes, sniffFormat, writeFileAtomic } from "../../src/cli/imagefile.js";
import type { RGBAImage } from "../../src/cli/image.js";
import { FAKE_AVG, capture, fakeRegistry } from "./fakes.js";

// CRC-32 (ISO 3309, polynomial 0xEDB88320, as the PNG spec's annex D), written out for the fixtures.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const v of b) c = (CRC_TABLE[(c ^ v) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function be32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}
function chunk(type: string, data: Uint8Array | number[]): number[] {
  const body = Uint8Array.from([...Array.from(type, (c) => c.charCodeAt(0)), ...data]);
  return [...be32(data.length), ...body, ...be32(crc32(body))];
}
const SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** A PNG whose IHDR claims `w × h` (colour type `ct`, 8-bit) but whose IDAT holds `bodyBytes` zeros. */
function claimedPng(w: number, h: number, ct: number, bodyBytes: number): Uint8Array {
  const ihdr = [...be32(w), ...be32(h), 8, ct, 0, 0, 0];
  return Uint8Array.from([...SIG, ...chunk("IHDR", ihdr), ...chunk("IDAT", Array.from(deflateSync(new Uint8Array(bodyBytes)))), ...chunk("IEND", [])]);
}

/** 4×4 RGBA: R = 10·p, G = 255 − 10·p, B = 0 (p the pixel index), as in commands.test.ts. */
function picture(w = 4, h = 4): RGBAImage {
  const data = new Uint8Array(4 * w * h);
  for (let p = 0; p < w * h; p++) data.set([10 * p, 255 - 10 * p, 0, 255], 4 * p);
  return { width: w, height: h, data };
}
/** 16×8: left half pure red, right half pure blue (flat areas survive JPEG well). */
function redBlue(): RGBAImage {
  const data = new Uint8Array(4 * 16 * 8);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 16; x++) data.set(x < 8 ? [255, 0, 0, 255] : [0, 0, 255, 255], 4 * (y * 16 + x));
  return { width: 16, height: 8, data };
}
function jpegBytes(img: RGBAImage, quality = 95): Uint8Array {
  const r = jpeg.encode({ width: img.width, height: img.height, data: img.data }, quality);
  return new Uint8Array(r.data);
}

const reg = fakeRegistry([FAKE_AVG]);
let dir: string;
const p = (name: string) => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "poolkit-img-"));
  writeFileSync(p("in.png"), encodePng(picture()));
  writeFileSync(p("rb.jpg"), jpegBytes(redBlue()));
  // The two bombs: a 30000×30000 grey PNG and a 10000×10000 RGBA one, tiny bodies.
  writeFileSync(p("bomb-grey.png"), claimedPng(30000, 30000, 0, 1000));
  writeFileSync(p("bomb-rgba.png"), claimedPng(10000, 10000, 6, 1000));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runCli(args: string[]) {
  const c = capture();
  const code = await main(args, c.io, reg);
  return { code, out: c.out, err: c.err };
}

describe("the pixel cap is checked from the header, before decoding", () => {
  it("refuses the 30000×30000 PNG with its size and the limit (the old code decoded it: 14 GB)", async () => {
    const r = await runCli(["run", "FakeAvg", "--input", p("bomb-grey.png"), "--json"]);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([
      `poolkit run: "${p("bomb-grey.png")}": the PNG is 30000×30000 pixels (900 megapixels), over the limit of 40 megapixels (40000000 pixels); ` +
        "to go ahead anyway pass --max-pixels 900000000 (it needs about 13.4 GB of memory)",
    ]);
  });

  it("refuses the 10000×10000 RGBA PNG (the old code accepted it: 2.4 GB)", async () => {
    const r = await runCli(["run", "FakeAvg", "--input", p("bomb-rgba.png"), "--json"]);
    expect(r.code).toBe(1);
    expect(r.err[0]).toContain("the PNG is 10000×10000 pixels (100 megapixels), over the limit of 40 megapixels");
  });

  it("the default is 40 megapixels; --max-pixels lowers or raises it", async () => {
    expect(DEFAULT_MAX_PIXELS).toBe(40_000_000);
    // 4×4 = 16 pixels: refused at 15, accepted at 16.
    const low = await runCli(["run", "FakeAvg", "--input", p("in.png"), "--json", "--max-pixels", "15"]);
    expect(low.code).toBe(1);
    expect(low.err[0]).toContain("the PNG is 4×4 pixels");
    expect((await runCli(["run", "FakeAvg", "--input", p("in.png"), "--json", "--max-pixels", "16"])).code).toBe(0);
    // Raised past a header's claim, decoding goes ahead and meets the missing data: a plain
    // truncated-file message (a 300×300 claim keeps the attempt small).
    writeFileSync(p("claim300.png"), claimedPng(300, 300, 0, 10));
    const raised = await runCli(["run", "FakeAvg", "--input", p("claim300.png"), "--json", "--max-pixels", "90000"]);
    expect(raised.code).toBe(1);
    expect(raised.err[0]).toBe(`poolkit run: "${p("claim300.png")}": truncated PNG: its image data holds 10 of the 90300 bytes a 300×300 picture needs`);
    const bad = await runCli(["run", "FakeAvg", "--input", p("in.png"), "--json", "--max-pixels", "lots"]);
    expect(bad.code).toBe(2);
    expect(bad.err[0]).toBe(`poolkit: run: --max-pixels must be an integer in [1, ${Number.MAX_SAFE_INTEGER}], got "lots"`);
  });

  it("a JPEG whose frame header claims 60000×60000 is refused before decoding", async () => {
    const b = jpegBytes(redBlue());
    const sof = b.findIndex((v, i) => v === 0xff && b[i + 1] === 0xc0);
    b.set([0xea, 0x60, 0xea, 0x60], sof + 5); // height, width = 60000
    writeFileSync(p("bomb.jpg"), b);
    const r = await runCli(["run", "FakeAvg", "--input", p("bomb.jpg"), "--json"]);
    expect(r.code).toBe(1);
    expect(r.err[0]).toContain("the JPEG is 60000×60000 pixels (3600 megapixels), over the limit of 40 megapixels");
  });

  it("header readers: IHDR and SOF fields", () => {
    expect(pngHeader(claimedPng(30000, 20000, 6, 10))).toEqual({ width: 30000, height: 20000, bitDepth: 8, colourType: 6 });
    expect(jpegHeader(jpegBytes(redBlue()))).toMatchObject({ width: 16, height: 8, components: 3, sof: 0xc0 });
    expect(imageSize(claimedPng(7, 5, 0, 10))).toEqual({ format: "png", width: 7, height: 5, bitDepth: 8, colourType: 0 });
  });
});

/** A PNG from raw (already filtered) scanline bytes, 8-bit unless `depth` says otherwise. */
function rawPng(w: number, h: number, ct: number, raw: number[], interlace = 0, depth = 8): Uint8Array {
  const ihdr = [...be32(w), ...be32(h), depth, ct, 0, 0, interlace];
  return Uint8Array.from([...SIG, ...chunk("IHDR", ihdr), ...chunk("IDAT", Array.from(deflateSync(Uint8Array.from(raw)))), ...chunk("IEND", [])]);
}

describe("the image data must inflate to what the header implies", () => {
  it("a short IDAT is a truncated PNG every time (pngjs read uninitialised memory: garbage or a random filter error)", () => {
    const b = claimedPng(300, 300, 0, 10);
    for (let i = 0; i < 5; i++) expect(() => decodeImage(b)).toThrow("truncated PNG: its image data holds 10 of the 90300 bytes a 300×300 picture needs");
  });

  it("more data than the header implies is corrupt", () => {
    // 2×1 RGB: one row = filter byte + 6 bytes; give 8.
    expect(() => decodeImage(rawPng(2, 1, 2, [0, 1, 2, 3, 4, 5, 6, 7]))).toThrow("corrupt PNG: its image data holds more than the 7 bytes a 2×1 picture needs");
    expect(decodeImage(rawPng(2, 1, 2, [0, 10, 20, 30, 40, 50, 60])).data).toEqual(Uint8Array.of(10, 20, 30, 255, 40, 50, 60, 255));
  });

  it("sizes: 1-bit grey rows round up to whole bytes; Adam7 interlaced images count each pass", () => {
    // 10×2, 1 bit: each row 1 + ⌈10/8⌉ = 3 bytes. Row 0 all white (bits 1), row 1 all black.
    const grey = decodeImage(rawPng(10, 2, 0, [0, 0xff, 0xc0, 0, 0, 0], 0, 1));
    expect(Array.from({ length: 20 }, (_, i) => grey.data[4 * i])).toEqual([...Array(10).fill(255), ...Array(10).fill(0)]);
    // 5×3 interlaced grey 8-bit, pixel (x, y) = 10·(y·5 + x). Adam7 passes (x0, y0, dx, dy) and the
    // pixels each holds: 1 (0,0,8,8): (0,0); 2 (4,0,8,8): (4,0); 3 (0,4,4,8): none (height 3);
    // 4 (2,0,4,4): (2,0); 5 (0,2,2,4): (0,2),(2,2),(4,2); 6 (1,0,2,2): (1,0),(3,0),(1,2),(3,2);
    // 7 (0,1,1,2): row 1, all 5.
    const v = (x: number, y: number) => 10 * (y * 5 + x);
    const raw = [
      0, v(0, 0),
      0, v(4, 0),
      0, v(2, 0),
      0, v(0, 2), v(2, 2), v(4, 2),
      0, v(1, 0), v(3, 0), 0, v(1, 2), v(3, 2),
      0, v(0, 1), v(1, 1), v(2, 1), v(3, 1), v(4, 1),
    ];
    const img = decodeImage(rawPng(5, 3, 0, raw, 1));
    expect(Array.from({ length: 15 }, (_, i) => img.data[4 * i])).toEqual(Array.from({ length: 15 }, (_, i) => 10 * i));
    expect(() => decodeImage(rawPng(5, 3, 0, raw.slice(0, -1), 1))).toThrow("truncated PNG: its image data holds 21 of the 22 bytes a 5×3 picture needs");
  });
});

describe("formats are told by the bytes, with plain messages", () => {
  it("reads a JPEG (made by jpeg-js's encoder): red | blue halves pool to red | blue", async () => {
    const r = await runCli(["run", "FakeAvg", "--input", p("rb.jpg"), "--json", "-o", "kernelSize=8"]);
    expect(r.code, r.err.join("\n")).toBe(0);
    const out = JSON.parse(r.out.join("")) as { shape: number[]; values: number[][][][] };
    expect(out.shape).toEqual([1, 3, 1, 2]);
    const [red, green, blue] = [0, 1, 2].map((c) => out.values[0]?.[c]?.[0] as number[]);
    // JPEG is lossy; flat halves stay within a few levels of pure red / pure blue.
    expect(red?.[0]).toBeGreaterThan(0.9);
    expect(blue?.[0]).toBeLessThan(0.1);
    expect(red?.[1]).toBeLessThan(0.1);
    expect(blue?.[1]).toBeGreaterThan(0.9);
    expect(Math.max(...(green as number[]))).toBeLessThan(0.1);
  });

  it("a JPEG named .png and a PNG named .jpg are read by their bytes", async () => {
    writeFileSync(p("really-jpeg.png"), jpegBytes(redBlue()));
    writeFileSync(p("really-png.jpg"), encodePng(picture()));
    expect((await runCli(["run", "FakeAvg", "--input", p("really-jpeg.png"), "--json"])).code).toBe(0);
    const r = await runCli(["run", "FakeAvg", "--input", p("really-png.jpg"), "--json"]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out.join("")) as { values: number[][][][] }).values[0]?.[0]?.[0]?.[0]).toBeCloseTo(25 / 255, 6);
    expect(sniffFormat(new TextEncoder().encode("GIF89a"))).toBeNull();
  });

  it("empty, non-image, signature-only, truncated and IEND-less files get plain messages (no pngjs 'waitng')", async () => {
    const png = encodePng(picture(32, 32));
    const cases: [string, Uint8Array, string][] = [
      ["empty.png", new Uint8Array(0), "not a PNG or JPEG file (it is empty)"],
      ["text.png", new TextEncoder().encode("this is not a png"), "not a PNG or JPEG file"],
      ["sig.png", Uint8Array.from(SIG), "truncated PNG: 8 bytes, too short to hold its header (33 bytes)"],
      ["half.png", png.subarray(0, Math.floor(png.length / 2)), "truncated PNG: the \"IDAT\" chunk at byte 33"],
      ["noend.png", png.subarray(0, png.length - 12), `truncated PNG: the file ends after ${png.length - 12} bytes without its closing IEND chunk`],
      ["half.jpg", jpegBytes(redBlue()).subarray(0, 400), "truncated JPEG"],
      ["soi.jpg", Uint8Array.of(0xff, 0xd8, 0xff), "truncated JPEG"],
    ];
    for (const [name, bytes, message] of cases) {
      writeFileSync(p(name), bytes);
      const r = await runCli(["run", "FakeAvg", "--input", p(name), "--json"]);
      expect(r.code, name).toBe(1);
      expect(r.err).toHaveLength(1);
      expect(r.err[0], name).toContain(`poolkit run: "${p(name)}": ${message}`);
      expect(r.err[0]).not.toMatch(/waitng|read requests|unrecognised content/);
    }
  });

  it("decodeImage throws ImageFileError (not pngjs's errors) for a bad CRC", () => {
    const png = encodePng(picture());
    const bad = png.slice();
    bad[29] = (bad[29] as number) ^ 1; // IHDR's CRC
    expect(() => decodeImage(bad)).toThrow(ImageFileError);
    expect(() => decodeImage(bad)).toThrow(/^corrupt PNG \(decoder: /);
  });

  it("a missing input and a folder as input are plain messages", async () => {
    const r = await runCli(["run", "FakeAvg", "--input", p("nope.png"), "--json"]);
    expect(r.err[0]).toBe(`poolkit run: cannot read "${p("nope.png")}": the file does not exist`);
    const d = await runCli(["run", "FakeAvg", "--input", dir, "--json"]);
    expect(d.code).toBe(1);
    expect(d.err[0]).toBe(`poolkit run: cannot read "${dir}": not a regular file`);
  });
});

describe("outputs", () => {
  it("--output x.jpg / .jpeg / .JPG writes JPEG, .png PNG (by the name's extension)", async () => {
    for (const name of ["o.jpg", "o.jpeg", "O.JPG"]) {
      expect((await runCli(["run", "FakeAvg", "--input", p("in.png"), "--output", p(name)])).code).toBe(0);
      const b = new Uint8Array(readFileSync(p(name)));
      expect(Array.from(b.subarray(0, 3))).toEqual([0xff, 0xd8, 0xff]);
      const img = jpeg.decode(b, { useTArray: true });
      expect([img.width, img.height]).toEqual([2, 2]);
    }
    expect((await runCli(["run", "FakeAvg", "--input", p("in.png"), "--output", p("o.png")])).code).toBe(0);
    expect(Array.from(readFileSync(p("o.png")).subarray(0, 8))).toEqual(SIG);
  });

  it("an unknown output extension is refused before any work, and nothing is written", async () => {
    const r = await runCli(["run", "FakeAvg", "--input", p("in.png"), "--output", p("o.gif")]);
    expect(r.code).toBe(1);
    expect(r.err[0]).toBe(`poolkit run: cannot write "${p("o.gif")}": the name must end in .png, .jpg or .jpeg (the format is taken from it)`);
    expect(existsSync(p("o.gif"))).toBe(false);
  });

  it("a missing output folder is a plain message (not a raw ENOENT)", async () => {
    const target = join(dir, "no-such-folder", "o.png");
    const r = await runCli(["run", "FakeAvg", "--input", p("in.png"), "--output", target]);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([`poolkit run: cannot write "${target}": the folder "${join(dir, "no-such-folder")}" does not exist`]);
  });

  it("--output equal to --input is refused (also through a link or a relative path) unless --force", async () => {
    writeFileSync(p("self.png"), encodePng(picture()));
    const before = readFileSync(p("self.png"));
    symlinkSync(p("self.png"), p("link.png"));
    for (const out of [p("self.png"), p("link.png"), join(dir, ".", "sub", "..", "self.png")]) {
      if (out.includes("sub")) mkdirSync(join(dir, "sub"), { recursive: true });
      const r = await runCli(["run", "FakeAvg", "--input", p("self.png"), "--output", out]);
      expect(r.code, out).toBe(2);
      expect(r.err[0]).toBe(`poolkit: run: --output "${out}" is the input file; pass --force to overwrite it`);
      expect(Array.from(readFileSync(p("self.png")))).toEqual(Array.from(before));
    }
    const forced = await runCli(["run", "FakeAvg", "--input", p("self.png"), "--output", p("self.png"), "--force"]);
    expect(forced.code).toBe(0);
    expect(decodePng(new Uint8Array(readFileSync(p("self.png")))).width).toBe(2);
  });

  it("outputs are renamed into place (a new file, not the old one rewritten) and leave no temporary file", async () => {
    writeFileSync(p("replace.png"), "old contents");
    const oldIno = statSync(p("replace.png")).ino;
    expect((await runCli(["run", "FakeAvg", "--input", p("in.png"), "--output", p("replace.png")])).code).toBe(0);
    // writeFileSync on the old path kept the inode (written in place, half-written if interrupted).
    expect(statSync(p("replace.png")).ino).not.toBe(oldIno);
    expect(decodePng(new Uint8Array(readFileSync(p("replace.png")))).width).toBe(2);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("writeFileAtomic: when the rename fails the target is untouched and the temporary file removed", () => {
    const target = join(dir, "busy");
    mkdirSync(join(target, "inside"), { recursive: true }); // a non-empty folder cannot be renamed over
    expect(() => writeFileAtomic(target, Uint8Array.of(1, 2, 3))).toThrow(ImageFileError);
    expect(statSync(target).isDirectory()).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("sample writes through the same path (format by name, atomic)", async () => {
    const c = capture();
    expect(await main(["sample", p("s.jpg"), "--size", "24"], c.io)).toBe(0);
    expect(jpegHeader(new Uint8Array(readFileSync(p("s.jpg"))))).toMatchObject({ width: 24, height: 24 });
    expect(await main(["sample", p("s.bmp")], c.io)).toBe(1);
    expect(c.err[0]).toContain("the name must end in .png, .jpg or .jpeg");
  });
});

describe("jpeg-js's own limits are passed on (second line of defence)", () => {
  it("a pixel cap below the frame size and a small memory cap stop the decoder itself", () => {
    const big = jpegBytes({ width: 600, height: 400, data: new Uint8Array(4 * 600 * 400).fill(128) }, 50);
    expect(decodeJpeg(big, 240_000, 64 * 2 ** 20).width).toBe(600);
    expect(() => decodeJpeg(big, 100_000, 64 * 2 ** 20)).toThrow(/^the JPEG is over the decoder's size or memory limit \(decoder: maxResolutionInMP limit exceeded/);
    expect(() => decodeJpeg(big, 240_000, 1)).toThrow(/^the JPEG is over the decoder's size or memory limit \(decoder: maxMemoryUsageInMB limit exceeded/);
  });
});

describe("other sizes are capped too", () => {
  it("an input file bigger than any picture within the cap is refused before it is read", async () => {
    expect(maxFileBytes(DEFAULT_MAX_PIXELS)).toBe(8 * 40_000_000 + 16 * 2 ** 20);
    // A real 4×4 PNG followed by 17 MiB of junk: with --max-pixels 16 the file limit is 16 MiB + 128 bytes.
    const padded = new Uint8Array(17 * 2 ** 20);
    padded.set(encodePng(picture()));
    writeFileSync(p("padded.png"), padded);
    const r = await runCli(["run", "FakeAvg", "--input", p("padded.png"), "--json", "--max-pixels", "16"]);
    expect(r.code).toBe(1);
    expect(r.err[0]).toBe(
      `poolkit run: "${p("padded.png")}" is 17 MB, more than a picture within the limit of 0.000016 megapixels can take (17 MB); raise --max-pixels to read it`,
    );
  });

  it("an output picture or heat map over the cap is refused with its size (real MaxUnpool doubles 4×4 to 8×8)", async () => {
    const c = capture();
    const code = await main(["run", "MaxUnpool", "--input", p("in.png"), "--output", p("unpooled.png"), "--max-pixels", "16"], c.io);
    expect(code).toBe(1);
    expect(c.err[0]).toBe("poolkit run: the output picture would be 8×8 pixels (0.000064 megapixels), over the limit of 0.000016 megapixels; use --json for the numbers, or pass --max-pixels 64");
    expect(existsSync(p("unpooled.png"))).toBe(false);
    expect(await main(["run", "MaxUnpool", "--input", p("in.png"), "--output", p("unpooled.png"), "--max-pixels", "64"], c.io)).toBe(0);
  });
});
