/**
 * JPEG bytes ↔ RGBA images through jpeg-js (pure JavaScript, no native code; the core never imports
 * it). The frame header is read first so a hostile file is refused by its size before decoding, and
 * the decoder is given the same pixel cap and a memory cap of its own.
 *
 * Layout facts from ITU-T T.81 (JPEG), Annex B: the file starts with SOI (FF D8); markers are FF
 * followed by a code (any number of FF fill bytes may precede it); every marker except SOI, EOI
 * (D9), RSTn (D0–D7) and TEM (01) carries a 2-byte big-endian length that counts itself; the frame
 * header SOFn (C0–CF except DHT C4, JPG C8, DAC CC) holds precision (1 byte), height and width (2 bytes
 * each) and the component count; height 0 means "defined later by a DNL marker" (B.2.2).
 */
import jpeg from "jpeg-js";
import type { RGBAImage } from "./image.js";
import { ImageFileError } from "./imageerror.js";

/** What the SOF frame header says, read without decoding. */
export interface JpegHeader {
  readonly width: number;
  readonly height: number;
  readonly components: number;
  /** The SOF marker code: 0xC0 baseline, 0xC1 extended, 0xC2 progressive, … */
  readonly sof: number;
}

/** True when the bytes start with SOI and a marker (FF D8 FF). */
export function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

function isSof(code: number): boolean {
  return code >= 0xc0 && code <= 0xcf && code !== 0xc4 && code !== 0xc8 && code !== 0xcc;
}

/** The SOF header of JPEG bytes (which must start with SOI); throws {@link ImageFileError} if it is missing. */
export function jpegHeader(b: Uint8Array): JpegHeader {
  let at = 2;
  for (;;) {
    if (at >= b.length) throw new ImageFileError(`truncated JPEG: the file ends after ${b.length} bytes, before its frame header`);
    if (b[at] !== 0xff) throw new ImageFileError(`corrupt JPEG: expected a marker at byte ${at}, found ${b[at]}`);
    while (at < b.length && b[at] === 0xff) at++; // fill bytes
    if (at >= b.length) throw new ImageFileError(`truncated JPEG: the file ends after ${b.length} bytes, before its frame header`);
    const code = b[at] as number;
    at++;
    if (code === 0xd8 || code === 0x01 || (code >= 0xd0 && code <= 0xd7)) continue; // no length
    if (code === 0xd9) throw new ImageFileError("corrupt JPEG: end of image before any frame header");
    if (code === 0xda) throw new ImageFileError("corrupt JPEG: scan data before any frame header");
    if (at + 2 > b.length) throw new ImageFileError(`truncated JPEG: the file ends after ${b.length} bytes, inside a marker`);
    const len = ((b[at] as number) << 8) | (b[at + 1] as number);
    if (len < 2) throw new ImageFileError(`corrupt JPEG: marker FF${code.toString(16).toUpperCase()} at byte ${at - 2} has length ${len}`);
    if (isSof(code)) {
      if (at + 8 > b.length) throw new ImageFileError(`truncated JPEG: the file ends after ${b.length} bytes, inside its frame header`);
      const height = ((b[at + 3] as number) << 8) | (b[at + 4] as number);
      const width = ((b[at + 5] as number) << 8) | (b[at + 6] as number);
      const components = b[at + 7] as number;
      if (width === 0) throw new ImageFileError("corrupt JPEG: frame header says width 0");
      if (height === 0) throw new ImageFileError("unsupported JPEG: its height is defined later in the file (DNL marker)");
      return { width, height, components, sof: code };
    }
    at += len;
  }
}

/**
 * Decode JPEG bytes to RGBA. `maxPixels` and `maxMemoryBytes` are handed to jpeg-js's own limits
 * (`maxResolutionInMP`, `maxMemoryUsageInMB`) as a second line of defence after the header check.
 * Tolerant decoding is off: a damaged scan is an error, not a partly grey picture.
 */
export function decodeJpeg(data: Uint8Array, maxPixels: number, maxMemoryBytes: number): RGBAImage {
  try {
    const img = jpeg.decode(data, {
      useTArray: true,
      formatAsRGBA: true,
      tolerantDecoding: false,
      maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: Math.max(1, Math.ceil(maxMemoryBytes / 2 ** 20)),
    });
    return { width: img.width, height: img.height, data: img.data };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/limit exceeded/.test(msg)) throw new ImageFileError(`the JPEG is over the decoder's size or memory limit (decoder: ${msg})`);
    // A file cut short has no EOI (FF D9) at its end; say so rather than the decoder's marker talk.
    const ended = data.length >= 2 && data[data.length - 2] === 0xff && data[data.length - 1] === 0xd9;
    throw new ImageFileError(ended ? `corrupt JPEG (decoder: ${msg})` : `truncated JPEG: the file ends without its end-of-image marker (decoder: ${msg})`);
  }
}

/** Encode RGBA as a baseline JPEG (alpha dropped) at `quality` 1..100. */
export function encodeJpeg(img: RGBAImage, quality = 92): Uint8Array {
  const out = jpeg.encode({ width: img.width, height: img.height, data: img.data }, quality);
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
}
