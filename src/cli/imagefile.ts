/**
 * Picture files for the CLI: the format is told by the bytes (magic numbers), never the file name;
 * the header's size is checked against a pixel cap before any decoding; outputs are written in the
 * format their extension names, through a temporary file renamed into place.
 */
import { closeSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import type { RGBAImage } from "./image.js";
import { ImageFileError } from "./imageerror.js";
import { checkPngData, decodePng, encodePng, isPng, pngHeader } from "./png.js";
import { decodeJpeg, encodeJpeg, isJpeg, jpegHeader } from "./jpeg.js";

export { ImageFileError };

/**
 * The default cap on an input picture's pixel count: 40 megapixels (e.g. 8000 × 5000, more than
 * most phone cameras). Decoding one takes 160 MB of RGBA and the float32 tensor 480 MB more.
 * `--max-pixels N` overrides it.
 */
export const DEFAULT_MAX_PIXELS = 40_000_000;

/**
 * Bytes the JPEG decoder may allocate per pixel of the cap: its RGBA output (4) plus its component
 * planes and coefficient blocks (about 2 bytes per sample for 3 components) with room to spare.
 */
const JPEG_BYTES_PER_PIXEL = 16;

/** The picture formats the CLI reads and writes. */
export type ImageFormat = "png" | "jpeg";

/**
 * The largest input file read for a pixel cap: 8 bytes per pixel (an uncompressed 16-bit RGBA PNG)
 * plus 16 MiB of metadata (colour profiles, text, thumbnails). A bigger file cannot be a picture within the cap worth reading whole.
 */
export function maxFileBytes(maxPixels: number): number {
  return 8 * maxPixels + 16 * 2 ** 20;
}

/**
 * Refuse to make a picture of more than `maxPixels` pixels (an output, a heat map): the same cap as
 * for inputs, with the size in the message.
 */
export function checkPictureSize(what: string, width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    throw new ImageFileError(
      `${what} would be ${width}×${height} pixels (${megapixels(width * height)}), over the limit of ${megapixels(maxPixels)}; ` +
        `use --json for the numbers, or pass --max-pixels ${width * height}`,
    );
  }
}

/** The format of a file's bytes, or null. */
export function sniffFormat(b: Uint8Array): ImageFormat | null {
  return isPng(b) ? "png" : isJpeg(b) ? "jpeg" : null;
}

/** Width and height from the header, without decoding; throws {@link ImageFileError} for anything else. */
export function imageSize(b: Uint8Array): { format: ImageFormat; width: number; height: number } {
  const format = sniffFormat(b);
  if (format === "png") return { format, ...pngHeader(b) };
  if (format === "jpeg") return { format, ...jpegHeader(b) };
  throw new ImageFileError(b.length === 0 ? "not a PNG or JPEG file (it is empty)" : "not a PNG or JPEG file");
}

/** `900 megapixels`, `12.3 megapixels`, `0.0001 megapixels`. */
export function megapixels(n: number): string {
  const mp = n / 1e6;
  return `${mp >= 100 ? String(Math.round(mp)) : String(Number(mp.toPrecision(3)))} megapixels`;
}

/** `13.4 GB`, `640 MB`. */
function bytesText(n: number): string {
  return n >= 2 ** 30 ? `${Number((n / 2 ** 30).toPrecision(3))} GB` : `${Math.ceil(n / 2 ** 20)} MB`;
}

/**
 * Decode PNG or JPEG bytes to RGBA after checking the header's size against `maxPixels`, and (PNG)
 * that every chunk is present and the image data inflates to the size the header implies.
 */
export function decodeImage(b: Uint8Array, maxPixels = DEFAULT_MAX_PIXELS): RGBAImage {
  const { format, width, height } = imageSize(b);
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new ImageFileError(
      `the ${format === "png" ? "PNG" : "JPEG"} is ${width}×${height} pixels (${megapixels(pixels)}), over the limit of ${megapixels(maxPixels)} (${maxPixels} pixels); ` +
        // 16 bytes per pixel: the decoded RGBA (4) and the float32 RGB tensor (12).
        `to go ahead anyway pass --max-pixels ${pixels} (it needs about ${bytesText(16 * pixels)} of memory)`,
    );
  }
  if (format === "jpeg") return decodeJpeg(b, maxPixels, Math.max(64 * 2 ** 20, JPEG_BYTES_PER_PIXEL * pixels));
  checkPngData(b);
  try {
    return decodePng(b);
  } catch (e) {
    throw new ImageFileError(`corrupt PNG (decoder: ${e instanceof Error ? e.message : String(e)})`);
  }
}

/** Plain text for a file-system error code. */
function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file or folder";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a folder";
    case "ENOTDIR":
      return "a part of the path is not a folder";
    case "ENOSPC":
      return "the disk is full";
    case "EROFS":
      return "the file system is read-only";
    case "ELOOP":
      return "too many levels of links";
    case "ENAMETOOLONG":
      return "the name is too long";
    default:
      return e instanceof Error ? e.message : String(e);
  }
}

/** Read and decode a picture file (see {@link decodeImage}); every failure is an {@link ImageFileError} naming the file. */
export function readImage(path: string, maxPixels = DEFAULT_MAX_PIXELS): RGBAImage {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new ImageFileError(`cannot read ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "the file does not exist" : fsReason(e)}`);
  }
  if (!st.isFile()) throw new ImageFileError(`cannot read ${JSON.stringify(path)}: not a regular file`);
  const maxBytes = maxFileBytes(maxPixels);
  if (st.size > maxBytes) {
    throw new ImageFileError(
      `${JSON.stringify(path)} is ${bytesText(st.size)}, more than a picture within the limit of ${megapixels(maxPixels)} can take (${bytesText(maxBytes)}); raise --max-pixels to read it`,
    );
  }
  let b: Uint8Array;
  try {
    const buf = readFileSync(path);
    b = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new ImageFileError(`cannot read ${JSON.stringify(path)}: ${fsReason(e)}`);
  }
  try {
    return decodeImage(b, maxPixels);
  } catch (e) {
    if (e instanceof ImageFileError) throw new ImageFileError(`${JSON.stringify(path)}: ${e.message}`);
    throw e;
  }
}

/** The format an output file name asks for (by extension, any case); null when it names none we write. */
export function formatForPath(path: string): ImageFormat | null {
  const ext = extname(path).toLowerCase();
  return ext === ".png" ? "png" : ext === ".jpg" || ext === ".jpeg" ? "jpeg" : null;
}

/** Encode an image in a format. */
export function encodeImage(img: RGBAImage, format: ImageFormat): Uint8Array {
  return format === "png" ? encodePng(img) : encodeJpeg(img);
}

/** The real path a file has or would have (its folder's real path plus its name when it does not exist yet). */
function realTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    try {
      return join(realpathSync(dirname(resolve(path))), basename(path));
    } catch {
      return resolve(path);
    }
  }
}

/** True when `a` and `b` name the same file, after resolving links and relative parts. */
export function sameFile(a: string, b: string): boolean {
  return realTarget(a) === realTarget(b);
}

/**
 * Check an output path before any work: a known extension, an existing folder, not a folder itself.
 * Returns the format to write. Throws {@link ImageFileError}.
 */
export function checkOutputPath(path: string): ImageFormat {
  const dir = dirname(resolve(path));
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    throw new ImageFileError(`cannot write ${JSON.stringify(path)}: the folder ${JSON.stringify(dirname(path))} ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `cannot be used (${fsReason(e)})`}`);
  }
  if (!st.isDirectory()) throw new ImageFileError(`cannot write ${JSON.stringify(path)}: ${JSON.stringify(dirname(path))} is not a folder`);
  try {
    if (statSync(path).isDirectory()) throw new ImageFileError(`cannot write ${JSON.stringify(path)}: it is a folder`);
  } catch (e) {
    if (e instanceof ImageFileError) throw e;
  }
  const format = formatForPath(path);
  if (!format) {
    throw new ImageFileError(`cannot write ${JSON.stringify(path)}: the name must end in .png, .jpg or .jpeg (the format is taken from it)`);
  }
  return format;
}

/**
 * Write bytes to `path` atomically: into a temporary file in the same folder (so the rename stays
 * on one file system), flushed, then renamed over `path`. An interrupted run leaves at most a
 * `.poolkit-*.tmp` file, never a half-written `path`; on an error the temporary file is removed.
 */
export function writeFileAtomic(path: string, data: Uint8Array): void {
  const tmp = join(dirname(resolve(path)), `.${basename(path)}.poolkit-${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", 0o644);
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone (or never created)
    }
    throw new ImageFileError(`cannot write ${JSON.stringify(path)}: ${fsReason(e)}`);
  }
}

/** Encode `img` in the format `path`'s extension names and write it atomically. */
export function writeImage(path: string, img: RGBAImage): ImageFormat {
  const format = checkOutputPath(path);
  writeFileAtomic(path, encodeImage(img, format));
  return format;
}
