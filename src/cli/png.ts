/** PNG files ↔ RGBA images through pngjs (the CLI's only image codec). */
import { readFileSync, writeFileSync } from "node:fs";
import { PNG } from "pngjs";
import type { RGBAImage } from "./image.js";

// Buffers are viewed as plain Uint8Arrays: @types/node 20.9's Buffer does not type-check as one
// under TypeScript 5.9's ArrayBuffer/SharedArrayBuffer split.
function bytes(buf: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Decode PNG bytes to RGBA (pngjs expands grey, palette and 16-bit images to 8-bit RGBA). */
export function decodePng(data: Uint8Array): RGBAImage {
  const png = PNG.sync.read(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  return { width: png.width, height: png.height, data: bytes(png.data) };
}

export function readPng(path: string): RGBAImage {
  return decodePng(bytes(readFileSync(path)));
}

export function encodePng(img: RGBAImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return bytes(PNG.sync.write(png));
}

export function writePng(path: string, img: RGBAImage): void {
  writeFileSync(path, encodePng(img));
}
