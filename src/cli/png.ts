/**
 * PNG bytes ↔ RGBA images through pngjs, with the header read and the chunk layout walked first, so
 * a hostile file is refused from its 33-byte header (size) or its chunk table (truncation) before
 * anything is inflated. Layout facts from the PNG specification (W3C, 3rd edition, §5.2–5.3 and
 * §11.2.1 IHDR): an 8-byte signature, then chunks of length (4 bytes, big-endian, ≤ 2³¹ − 1), type
 * (4), data, CRC (4); IHDR comes first and holds width, height (4 bytes each, 1..2³¹ − 1), bit depth,
 * colour type, compression, filter and interlace method (1 byte each); IEND ends the file.
 */
import { inflateSync } from "node:zlib";
import { PNG } from "pngjs";
import type { RGBAImage } from "./image.js";
import { ImageFileError } from "./imageerror.js";

/** The 8 bytes every PNG starts with (PNG spec §5.2). */
export const PNG_SIGNATURE: readonly number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** What IHDR says, read without decoding. */
export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
  readonly colourType: number;
}

/** Allowed bit depths per colour type (PNG spec table 11.1). */
const DEPTHS: Readonly<Record<number, readonly number[]>> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

// Buffers are viewed as plain Uint8Arrays: @types/node 20.9's Buffer does not type-check as one
// under TypeScript 5.9's ArrayBuffer/SharedArrayBuffer split.
function bytes(buf: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function u32(b: Uint8Array, at: number): number {
  return (((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)) >>> 0;
}

function chunkType(b: Uint8Array, at: number): string {
  return String.fromCharCode(...b.subarray(at, at + 4));
}

/** True when the bytes start with the PNG signature. */
export function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && PNG_SIGNATURE.every((v, i) => b[i] === v);
}

/** IHDR of PNG bytes (which must start with the signature); throws {@link ImageFileError} if missing or invalid. */
export function pngHeader(b: Uint8Array): PngHeader {
  if (b.length < 33) throw new ImageFileError(`truncated PNG: ${b.length} bytes, too short to hold its header (33 bytes)`);
  const len = u32(b, 8);
  if (chunkType(b, 12) !== "IHDR" || len !== 13) throw new ImageFileError("corrupt PNG: the first chunk is not a 13-byte IHDR header");
  const width = u32(b, 16);
  const height = u32(b, 20);
  const bitDepth = b[24] as number;
  const colourType = b[25] as number;
  if (width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new ImageFileError(`corrupt PNG: header says ${width}×${height} pixels (each side must be 1..2147483647)`);
  }
  const depths = DEPTHS[colourType];
  if (!depths?.includes(bitDepth)) throw new ImageFileError(`corrupt PNG: colour type ${colourType} with bit depth ${bitDepth} is not a valid combination`);
  return { width, height, bitDepth, colourType };
}

/**
 * Walk the chunk table: every chunk must fit in the file, and IEND must be reached. Catches the
 * truncated and empty-bodied files that pngjs reports as "There are some read requests waitng on
 * finished stream". Returns the IDAT chunks' data in order. CRCs are checked by pngjs while decoding.
 */
export function checkPngChunks(b: Uint8Array): Uint8Array[] {
  let at = 8;
  const data: Uint8Array[] = [];
  while (at + 8 <= b.length) {
    const len = u32(b, at);
    const type = chunkType(b, at + 4);
    if (len > 0x7fffffff) throw new ImageFileError(`corrupt PNG: chunk ${JSON.stringify(type)} at byte ${at} claims ${len} bytes`);
    const end = at + 12 + len;
    if (end > b.length) {
      throw new ImageFileError(`truncated PNG: the ${JSON.stringify(type)} chunk at byte ${at} needs ${len + 12} bytes, the file ends after ${b.length - at}`);
    }
    if (type === "IDAT") data.push(b.subarray(at + 8, at + 8 + len));
    if (type === "IEND") {
      if (!data.length) throw new ImageFileError("corrupt PNG: no image data (IDAT chunk) before IEND");
      return data;
    }
    at = end;
  }
  throw new ImageFileError(`truncated PNG: the file ends after ${b.length} bytes without its closing IEND chunk`);
}

/** Samples per pixel by colour type (PNG spec table 11.1). */
const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: [x0, y0, dx, dy] (PNG spec §8.2). */
const ADAM7: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/**
 * The byte count the image data must inflate to: per row one filter byte plus ⌈width · bits per
 * pixel / 8⌉, over the whole image, or over each non-empty Adam7 pass when interlaced (§7.2, §8.2).
 */
export function pngDataSize(h: PngHeader, interlaced: boolean): number {
  const bpp = (CHANNELS[h.colourType] ?? 4) * h.bitDepth;
  const rows = (w: number, n: number): number => (w > 0 && n > 0 ? n * (1 + Math.ceil((w * bpp) / 8)) : 0);
  if (!interlaced) return rows(h.width, h.height);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) total += rows(Math.ceil((h.width - x0) / dx), Math.ceil((h.height - y0) / dy));
  return total;
}

/**
 * Check that the image data inflates to exactly the size the header implies. pngjs does not: given
 * less, it reads past the inflated bytes into uninitialised memory and returns a picture of garbage
 * (or fails at random on a garbage filter byte). The inflate is capped one byte past the expected
 * size, so a decompression bomb stops there.
 */
export function checkPngData(b: Uint8Array): void {
  const header = pngHeader(b);
  const idat = checkPngChunks(b);
  const expected = pngDataSize(header, b[28] === 1);
  const joined = new Uint8Array(idat.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of idat) {
    joined.set(c, off);
    off += c.length;
  }
  let got: number;
  try {
    got = inflateSync(joined, { maxOutputLength: expected + 1 }).length;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_BUFFER_TOO_LARGE") got = expected + 1;
    else if (code === "Z_BUF_ERROR") throw new ImageFileError("truncated PNG: its compressed image data stops part-way");
    else throw new ImageFileError(`corrupt PNG: its image data does not inflate (${e instanceof Error ? e.message : String(e)})`);
  }
  if (got < expected) throw new ImageFileError(`truncated PNG: its image data holds ${got} of the ${expected} bytes a ${header.width}×${header.height} picture needs`);
  if (got > expected) throw new ImageFileError(`corrupt PNG: its image data holds more than the ${expected} bytes a ${header.width}×${header.height} picture needs`);
}

/** Decode PNG bytes to RGBA (pngjs expands grey, palette and 16-bit images to 8-bit RGBA). No size check: see image files. */
export function decodePng(data: Uint8Array): RGBAImage {
  const png = PNG.sync.read(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  return { width: png.width, height: png.height, data: bytes(png.data) };
}

/** Encode RGBA as an 8-bit RGBA PNG (pngjs). */
export function encodePng(img: RGBAImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return bytes(PNG.sync.write(png));
}
