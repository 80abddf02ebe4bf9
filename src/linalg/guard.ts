/**
 * The size guard of the ops that eigendecompose (or iterate on) a D × D matrix per image: their cost
 * grows as D³, so a large channel count is refused up front with a message saying how to allow it.
 */
import { numberOption } from "../check.js";
import { PoolkitRangeError } from "../errors.js";

/**
 * Default `maxDim` of covariancePool (logm / sqrtm / newton-schulz) and grassmannPool. Measured with
 * bench/matrix.mjs on this project's 2-core machine (Node 20, one thread, the machine shared with
 * other jobs at load ~12): one symmetric eigendecomposition (blocked tridiagonalisation + divide and
 * conquer, GEMMs in the wasm-simd matrix core) took 0.08 s at D = 256, 0.37 s at D = 512 and 1.9 s
 * at D = 1024 (about 5× per doubling; 0.2 / 0.8 / 8.7 s with the earlier QL solver). So 1024 bounds
 * the work at seconds per image, while larger D needs an explicit `maxDim`.
 */
export const DEFAULT_MAX_DIM = 1024;

/** The validated `maxDim` option: an integer ≥ 1, or Infinity for no limit. */
export function maxDimOption(op: string, value: unknown): number {
  if (value === Infinity) return Infinity;
  return numberOption(op, "maxDim", value, DEFAULT_MAX_DIM, { integer: true, min: 1 });
}

/** Throws when D exceeds maxDim, naming the cost and the option that raises the limit. */
export function checkMaxDim(op: string, what: string, d: number, maxDim: number): void {
  if (d > maxDim) {
    throw new PoolkitRangeError(
      op,
      `${what} D = ${d} exceeds maxDim = ${maxDim}: the per-image cost grows as D³ (a ${d} × ${d} eigendecomposition or iteration per image); pass { maxDim: ${d} } (or Infinity) to allow it`,
    );
  }
}
