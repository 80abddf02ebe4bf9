/**
 * Implicit QL on a symmetric tridiagonal matrix with the rotations accumulated into eigenvectors:
 * the solver `symEig` (src/linalg/eigen.ts) uses on the whole tridiagonal on its QL path, and the divide-and-conquer path
 * (src/linalg/tridiagDC.ts) for its leaves. Written from Golub & Van Loan, "Matrix Computations",
 * 4th ed., §8.3.5, and Parlett, "The Symmetric Eigenvalue Problem", ch. 8; the convergence test and
 * the iteration limit are those of LAPACK's dsteqr.
 */
import { allocArray } from "../tensor/alloc.js";

const EPS = 2 ** -53;
/** Smallest normal float64: the floor of the QL convergence test (as LAPACK's safmin). */
const SAFMIN = 2 ** -1022;

/** LAPACK dsteqr's limit: 30 QL sweeps per eigenvalue on average. */
const DEFAULT_SWEEPS_PER_EIGENVALUE = 30;
let sweepsPerEigenvalue = DEFAULT_SWEEPS_PER_EIGENVALUE;

/**
 * Test hook: set the QL iteration limit to `perEigenvalue`·n sweeps (`null` restores LAPACK's 30), so
 * that tests can force non-convergence and check the Jacobi fallback of `symEig` (src/linalg/eigen.ts). Not part of
 * the public API.
 */
export function setQLSweepLimitForTesting(perEigenvalue: number | null): void {
  sweepsPerEigenvalue = perEigenvalue ?? DEFAULT_SWEEPS_PER_EIGENVALUE;
}

/**
 * Implicit QL with Wilkinson shifts on the tridiagonal (d, e) (e[i] couples d[i] and d[i+1]),
 * rotating the columns of the row-major `z` along (GVL §8.3.5; Parlett ch. 8). The convergence test
 * is the relative one of LAPACK's dsteqr: e[i] is dropped when e[i]² ≤ ε²·|d[i]·d[i+1]| (+ the
 * smallest normal number), so small eigenvalues are not swamped by the large ones' rounding level.
 * The rotations of one QL sweep are stored and then applied to each row of z in one streaming pass.
 * Returns false if some eigenvalue needed more than 30 sweeps on average (LAPACK's limit).
 */
export function implicitQL(d: Float64Array, e: Float64Array, z: Float64Array, n: number): boolean {
  return qlReference(d, e, z, n, n, qlIterationLimit(n), allocArray("float64", n), allocArray("float64", n));
}

/** The QL iteration limit for an n × n tridiagonal: 30n sweeps (LAPACK's), or the test hook's. */
export function qlIterationLimit(n: number): number {
  return sweepsPerEigenvalue * n;
}

/**
 * √(x² + y²) as LAPACK's dlapy2: the larger magnitude times √(1 + r²), r the ratio (no overflow or
 * underflow of the squares). Used instead of Math.hypot (whose rounding is the engine's) by the QL sweeps and the
 * divide-and-conquer merges' deflating rotations, so that the WebAssembly kernels (assembly/linalg.ts,
 * assembly/eigen.ts) compute the same bits in every engine.
 */
export function pythag(x: number, y: number): number {
  const a = Math.abs(x);
  const b = Math.abs(y);
  const w = Math.max(a, b);
  const v = Math.min(a, b);
  if (v === 0) return w;
  const r = v / w;
  return w * Math.sqrt(1 + r * r);
}

/**
 * The reference of the kernel `linalg.ql`: {@link implicitQL} on the n × n block of z that starts at
 * z[0] with row stride `ld` (the block's columns are rotated; nothing outside it is touched), at most
 * `maxIterations` QL sweeps, `cs` and `sn` (n float64 each) scratch for one sweep's rotations. The
 * divide-and-conquer leaves (src/linalg/tridiagDC.ts) call it on their diagonal block of the solve's
 * eigenvector matrix; the WebAssembly backends run assembly/linalg.ts's `qlStrided`, bit for bit.
 */
export function qlReference(
  d: Float64Array, e: Float64Array, z: Float64Array, n: number, ld: number, maxIterations: number, cs: Float64Array, sn: Float64Array,
): boolean {
  const eps2 = EPS * EPS;
  let iterations = 0;
  for (let l = 0; l < n; l++) {
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const em = e[m] as number;
        if (em * em <= eps2 * Math.abs((d[m] as number) * (d[m + 1] as number)) + SAFMIN) {
          e[m] = 0;
          break;
        }
      }
      if (m === l) break;
      if (++iterations > maxIterations) return false;
      // Wilkinson shift: the eigenvalue of the leading 2 × 2 block [d_l e_l; e_l d_{l+1}] closer to d_l.
      const dl = d[l] as number;
      const el = e[l] as number;
      let g = ((d[l + 1] as number) - dl) / (2 * el);
      let r = pythag(g, 1);
      g = (d[m] as number) - dl + el / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let restarted = false;
      // Chase the bulge from the bottom of the block to the top (QL: T − μI = QL, T ← LQ + μI).
      for (; i >= l; i--) {
        const ei = e[i] as number;
        const f = s * ei;
        const bb = c * ei;
        r = pythag(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // f and g both underflowed: the block splits here; undo the shift and restart the search.
          d[i + 1] = (d[i + 1] as number) - p;
          e[m] = 0;
          restarted = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = (d[i + 1] as number) - p;
        r = ((d[i] as number) - g) * s + 2 * c * bb;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - bb;
        cs[i] = c;
        sn[i] = s;
      }
      applyRotations(z, n, ld, restarted ? i + 1 : l, m, cs, sn);
      if (restarted) continue;
      d[l] = dl - p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return true;
}

/**
 * For rotations i = hi−1 down to lo (in that order): columns (i, i+1) of the n × n block of `z` (row
 * stride ld) ←
 * (c·z_i − s·z_{i+1}, s·z_i + c·z_{i+1}). Row by row, carrying column i+1's current value, so each
 * entry is read and written once.
 */
function applyRotations(z: Float64Array, n: number, ld: number, lo: number, hi: number, cs: Float64Array, sn: Float64Array): void {
  if (hi <= lo) return;
  let r = 0;
  // Four rows at a time: each (c, s) pair is loaded once per four rows.
  for (; r + 4 <= n; r += 4) {
    const o0 = r * ld;
    const o1 = o0 + ld;
    const o2 = o1 + ld;
    const o3 = o2 + ld;
    let u0 = z[o0 + hi] as number;
    let u1 = z[o1 + hi] as number;
    let u2 = z[o2 + hi] as number;
    let u3 = z[o3 + hi] as number;
    for (let i = hi - 1; i >= lo; i--) {
      const c = cs[i] as number;
      const s = sn[i] as number;
      const a0 = z[o0 + i] as number;
      const a1 = z[o1 + i] as number;
      const a2 = z[o2 + i] as number;
      const a3 = z[o3 + i] as number;
      z[o0 + i + 1] = s * a0 + c * u0;
      z[o1 + i + 1] = s * a1 + c * u1;
      z[o2 + i + 1] = s * a2 + c * u2;
      z[o3 + i + 1] = s * a3 + c * u3;
      u0 = c * a0 - s * u0;
      u1 = c * a1 - s * u1;
      u2 = c * a2 - s * u2;
      u3 = c * a3 - s * u3;
    }
    z[o0 + lo] = u0;
    z[o1 + lo] = u1;
    z[o2 + lo] = u2;
    z[o3 + lo] = u3;
  }
  for (; r < n; r++) {
    const ro = r * ld;
    let cur = z[ro + hi] as number;
    for (let i = hi - 1; i >= lo; i--) {
      const zi = z[ro + i] as number;
      const c = cs[i] as number;
      const s = sn[i] as number;
      z[ro + i + 1] = s * zi + c * cur;
      cur = c * zi - s * cur;
    }
    z[ro + lo] = cur;
  }
}
