/**
 * poolkit's errors. Every message starts with the op name and says what was expected and what was got:
 * `maxPool2d: padding must be at most half the kernel size, got padding 2 for kernelSize 3`.
 */
export class PoolkitTypeError extends TypeError {
  constructor(readonly op: string, detail: string) {
    super(`${op}: ${detail}`);
    this.name = "PoolkitTypeError";
  }
}

export class PoolkitRangeError extends RangeError {
  constructor(readonly op: string, detail: string) {
    super(`${op}: ${detail}`);
    this.name = "PoolkitRangeError";
  }
}

/** Render a value for an error message: arrays and shapes as `[2, 3]`, strings quoted. */
export function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(", ")}]`;
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : String(v);
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "object") {
    const ctor = (v as { constructor?: { name?: string } }).constructor?.name;
    return ctor && ctor !== "Object" ? `a ${ctor}` : "an object";
  }
  return String(v);
}
