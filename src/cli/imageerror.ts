/**
 * A picture file the CLI cannot use (not an image, truncated, corrupt, too large, unwritable): the
 * command prints its message as is, with exit code 1 and no stack trace.
 */
export class ImageFileError extends Error {
  override readonly name = "ImageFileError";
}
