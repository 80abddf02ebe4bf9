/**
 * The rank-one modified diagonal eigenproblem D + ρ z zᵀ (D = diag(d), d strictly increasing, every
 * z_i ≠ 0, ρ > 0): its eigenvalues are the roots of the secular equation
 *
 *   f(λ) = 1 + ρ Σ_j z_j² / (d_j − λ) = 0,
 *
 * one in each interval (d_i, d_{i+1}) and the last in (d_{k−1}, d_{k−1} + ρ‖z‖²) (Golub, "Some modified
 * matrix eigenvalue problems", SIAM Review 1973; Bunch, Nielsen & Sorensen, "Rank-one modification of
 * the symmetric eigenproblem", Numer. Math. 1978). This is the merge step of the divide-and-conquer
 * tridiagonal solver (src/linalg/tridiagDC.ts).
 *
 * Accuracy, following Gu & Eisenstat, "A divide-and-conquer algorithm for the symmetric tridiagonal
 * eigenproblem", SIAM J. Matrix Anal. Appl. 16 (1995):
 * - each root is found as an offset τ from the pole nearer to it (`origin`), so the differences
 *   d_j − λ = (d_j − d_origin) − τ that the eigenvectors are built from carry no cancellation;
 * - the eigenvectors are not formed from the given z (which would lose orthogonality when roots are
 *   close to poles) but from the ẑ for which the computed roots are the *exact* eigenvalues of
 *   D + ρ ẑ ẑᵀ (Löwner's theorem): ẑ_i² = Π_j (λ_j − d_i) / (ρ Π_{j≠i} (d_j − d_i)); the vectors
 *   (D − λ_j)⁻¹ ẑ are then numerically orthogonal.
 *
 * The root iteration brackets the root and fits the two-pole rational model that the middle-way
 * method uses (R.-C. Li, "Solving secular equations stably and efficiently", LAPACK Working Note 89,
 * 1994): the sum over the poles left of the root is modelled as a + b/(d_p − λ) and the sum over the
 * poles right of it as a' + b'/(d_q − λ), matching value and derivative at the current iterate, and
 * the model's root in the bracket is the next iterate; a step that leaves the bracket is replaced by
 * bisection, so the iteration always converges.
 */

const EPS = 2 ** -53;
const MAX_ITERATIONS = 200;

/**
 * The root of αx² + βx + γ = 0 in the open interval (lo, hi), or `fallback` if neither root (nor the
 * root of the linear equation when α = 0) lies there. Both roots without cancellation: q = −(β +
 * sign(β)√disc)/2, x = q/α and γ/q (Numerical Recipes, 3rd ed., §5.6).
 */
export function quadraticRootIn(alpha: number, beta: number, gamma: number, lo: number, hi: number, fallback: number): number {
  if (alpha === 0) {
    const x = -gamma / beta;
    return x > lo && x < hi ? x : fallback;
  }
  const disc = beta * beta - 4 * alpha * gamma;
  if (!(disc >= 0)) return fallback;
  const sq = Math.sqrt(disc);
  const q = -0.5 * (beta >= 0 ? beta + sq : beta - sq);
  const x1 = q / alpha;
  if (x1 > lo && x1 < hi) return x1;
  const x2 = gamma / q;
  return x2 > lo && x2 < hi ? x2 : fallback;
}

/** {@link poleSums}' results: Σ term, Σ term/(d_j − λ), Σ |term|(1 + |τ/(d_j − λ)|) for ψ, then for φ. */
const sums = new Float64Array(6);

/**
 * Over the poles j0 … j1−1, with term_j = ρz_j²/(del_j − τ): out[at] = Σ term_j, out[at+1] =
 * Σ term_j/(del_j − τ) (the derivative), out[at+2] = Σ |term_j|·(1 + |τ/(del_j − τ)|) — the term's
 * rounding plus the effect of τ's own rounding ε|τ| (τ·f' summed term by term, so that no squared
 * reciprocal can overflow). Every sum is kept as two partial sums over alternate poles (j0, j0+2, …
 * and j0+1, j0+3, …), added, then the odd last pole: the order of the two-lane WebAssembly kernel
 * (assembly/linalg.ts), which gives the same bits. Returns true if some del_j − τ is 0 (the sums are
 * then meaningless).
 */
function poleSums(j0: number, j1: number, del: Float64Array, z: Float64Array, rho: number, t: number, out: Float64Array, at: number): boolean {
  let s0 = 0;
  let s1 = 0;
  let d0 = 0;
  let d1 = 0;
  let a0 = 0;
  let a1 = 0;
  let pole = false;
  let j = j0;
  for (; j + 2 <= j1; j += 2) {
    const den0 = (del[j] as number) - t;
    const den1 = (del[j + 1] as number) - t;
    if (den0 === 0 || den1 === 0) pole = true;
    const z0 = z[j] as number;
    const z1 = z[j + 1] as number;
    const r0 = 1 / den0;
    const r1 = 1 / den1;
    const term0 = rho * z0 * z0 * r0;
    const term1 = rho * z1 * z1 * r1;
    a0 += Math.abs(term0) * (1 + Math.abs(t * r0));
    a1 += Math.abs(term1) * (1 + Math.abs(t * r1));
    s0 += term0;
    s1 += term1;
    d0 += term0 * r0;
    d1 += term1 * r1;
  }
  let sum = s0 + s1;
  let dsum = d0 + d1;
  let asum = a0 + a1;
  if (j < j1) {
    const den = (del[j] as number) - t;
    if (den === 0) pole = true;
    const zj = z[j] as number;
    const r = 1 / den;
    const term = rho * zj * zj * r;
    asum += Math.abs(term) * (1 + Math.abs(t * r));
    sum += term;
    dsum += term * r;
  }
  out[at] = sum;
  out[at + 1] = dsum;
  out[at + 2] = asum;
  return pole;
}

/**
 * Solve the secular equation for all k roots. Input: d[0 … k) strictly increasing, z[0 … k) nonzero,
 * ρ > 0. Output: root i is λ_i = d[origin[i]] + tau[i] (origin[i] ∈ {i, i+1}). `del` is scratch of
 * length ≥ k.
 */
export function secularRoots(k: number, d: Float64Array, z: Float64Array, rho: number, origin: Int32Array, tau: Float64Array, del: Float64Array): void {
  if (k === 1) {
    origin[0] = 0;
    tau[0] = rho * (z[0] as number) * (z[0] as number);
    return;
  }
  let zz = 0;
  for (let j = 0; j < k; j++) zz += (z[j] as number) * (z[j] as number);
  for (let i = 0; i < k; i++) {
    const last = i === k - 1;
    let o: number;
    let lo: number;
    let hi: number;
    let t: number;
    if (!last) {
      // Which half of (d_i, d_{i+1}) holds the root: f is increasing there, so the sign of f at the
      // midpoint decides; the root is then computed relative to the pole on that side.
      const di = d[i] as number;
      const gap = (d[i + 1] as number) - di;
      const mid = gap / 2;
      let f = 1;
      for (let j = 0; j < k; j++) {
        const zj = z[j] as number;
        f += (rho * zj * zj) / ((d[j] as number) - di - mid);
      }
      // The start: the model that keeps the two poles around the gap exact and freezes the other terms
      // at their value at the midpoint, c = f(mid) − ρz_i²/(−mid) − ρz_{i+1}²/mid (the initial guess
      // of LAPACK's dlaed4, LAWN 89 §3): its root in the half, or the half's midpoint if it has none
      // there. In τ (λ = d_origin + τ) the model c + a/(d_i − λ) + b/(d_{i+1} − λ) = 0 is the quadratic
      // cτ² − (c·gap + a + b)τ + a·gap = 0 about d_i, cτ² + (c·gap − a − b)τ − b·gap = 0 about d_{i+1}.
      const a = rho * (z[i] as number) * (z[i] as number);
      const b = rho * (z[i + 1] as number) * (z[i + 1] as number);
      const c = f + (a - b) / mid;
      if (f >= 0) {
        o = i;
        lo = 0;
        hi = mid;
        t = quadraticRootIn(c, -(c * gap + a + b), a * gap, lo, hi, mid / 2);
      } else {
        o = i + 1;
        lo = -gap;
        hi = 0;
        t = quadraticRootIn(c, c * gap - a - b, -b * gap, -mid, hi, -mid / 2);
      }
    } else {
      // f(d_{k−1} + ρ‖z‖²) ≥ 0, as every |d_j − λ| ≤ ρ‖z‖² there.
      o = k - 1;
      lo = 0;
      hi = rho * zz;
      t = hi / 2;
    }
    const dO = d[o] as number;
    for (let j = 0; j < k; j++) del[j] = (d[j] as number) - dO;
    // The two poles of the model: the ones around root i (for the last root: the last two poles).
    const p = last ? k - 2 : i;
    const q = p + 1;
    const delP = del[p] as number;
    const delQ = del[q] as number;
    for (let it = 0; it < MAX_ITERATIONS; it++) {
      // ψ: poles 0 … p; φ: poles q … k−1; derivatives; the sum of |terms| for the error bound.
      if (poleSums(0, p + 1, del, z, rho, t, sums, 0) || poleSums(q, k, del, z, rho, t, sums, 3)) {
        // Rounding put the iterate on a pole: it is outside the open bracket, step back into it.
        t = 0.5 * (lo + hi);
        continue;
      }
      const psi = sums[0] as number;
      const dpsi = sums[1] as number;
      const phi = sums[3] as number;
      const dphi = sums[4] as number;
      const abs = (sums[2] as number) + (sums[5] as number);
      const f = 1 + psi + phi;
      if (f === 0) break;
      if (f < 0) lo = t;
      else hi = t;
      // Converged when f is at its own rounding level (each term carries a relative error of a few ε,
      // and τ itself is only known to ε|τ|, which moves f by ε|τ|f').
      if (Math.abs(f) <= 8 * EPS * (1 + abs)) break;
      if (hi - lo <= 4 * EPS * Math.max(Math.abs(lo), Math.abs(hi))) break;
      // The two-pole model around the iterate, written for the step η = λ_next − λ: with P = d_p − λ,
      // Q = d_q − λ it is A(P−η)(Q−η) + ψ'P²(Q−η) + φ'Q²(P−η) = 0, A = 1 + ψ − ψ'P + φ − φ'Q, and its
      // constant term is P·Q·f.
      const bigP = delP - t;
      const bigQ = delQ - t;
      const a = 1 + psi - dpsi * bigP + phi - dphi * bigQ;
      const b = a * (bigP + bigQ) + dpsi * bigP * bigP + dphi * bigQ * bigQ;
      const c = bigP * bigQ * f;
      let next = NaN;
      const disc = b * b - 4 * a * c;
      if (disc >= 0) {
        const sq = Math.sqrt(disc);
        const bs = b >= 0 ? b + sq : b - sq;
        // the two roots without cancellation: 2c/(b ± √disc) and (b ± √disc)/(2a)
        const e1 = bs !== 0 ? (2 * c) / bs : NaN;
        const e2 = a !== 0 ? bs / (2 * a) : NaN;
        if (t + e1 > lo && t + e1 < hi) next = t + e1;
        else if (t + e2 > lo && t + e2 < hi) next = t + e2;
      } else if (b !== 0 && t + c / b > lo && t + c / b < hi) next = t + c / b;
      // Outside the bracket, no progress, or slow: bisect (every 8th step bisects anyway, which bounds
      // the iteration count even when the model fits badly).
      if (!(next > lo && next < hi) || next === t || (it & 7) === 7) next = 0.5 * (lo + hi);
      if (next === t) break;
      t = next;
    }
    origin[i] = o;
    tau[i] = t;
  }
}

/**
 * The eigenvectors of D + ρ z zᵀ from the roots of {@link secularRoots}, through Gu & Eisenstat's ẑ
 * (see the module comment): row j of the row-major k × k `u` is the unit eigenvector of λ_j, with its
 * component r stored at `u[j·k + pos[r]]` (the caller's order of the components, a permutation).
 * `zhat` is scratch of length ≥ k.
 */
export function secularVectors(k: number, d: Float64Array, z: Float64Array, rho: number, origin: Int32Array, tau: Float64Array, u: Float64Array, zhat: Float64Array, pos: Int32Array): void {
  // λ_j − d_i = (d_origin(j) − d_i) + τ_j: exactly the differences the root iteration worked with.
  for (let i = 0; i < k; i++) {
    const di = d[i] as number;
    // Pair the k numerator factors with the k−1 denominator factors and ρ so the product stays in range.
    let prod = ((d[origin[k - 1] as number] as number) - di + (tau[k - 1] as number)) / rho;
    for (let j = 0; j < i; j++) prod *= ((d[origin[j] as number] as number) - di + (tau[j] as number)) / ((d[j] as number) - di);
    for (let j = i; j < k - 1; j++) prod *= ((d[origin[j] as number] as number) - di + (tau[j] as number)) / ((d[j + 1] as number) - di);
    const mag = Math.sqrt(Math.abs(prod));
    zhat[i] = (z[i] as number) >= 0 ? mag : -mag;
  }
  for (let j = 0; j < k; j++) {
    const dO = d[origin[j] as number] as number;
    const tj = tau[j] as number;
    const row = j * k;
    let ss = 0;
    for (let r = 0; r < k; r++) {
      const v = (zhat[r] as number) / ((d[r] as number) - dO - tj);
      u[row + (pos[r] as number)] = v;
      ss += v * v;
    }
    const inv = 1 / Math.sqrt(ss);
    for (let r = 0; r < k; r++) u[row + r] = (u[row + r] as number) * inv;
  }
}

/**
 * {@link secularRoots} then {@link secularVectors}: the reference of the kernel `linalg.secular`, which
 * the divide-and-conquer merges call (the WebAssembly backends run the same operations in
 * assembly/linalg.ts, bit for bit, when every array is in their linear memory).
 */
export function secularSolveReference(
  k: number, d: Float64Array, z: Float64Array, rho: number, origin: Int32Array, tau: Float64Array, del: Float64Array,
  u: Float64Array, zhat: Float64Array, pos: Int32Array,
): void {
  secularRoots(k, d, z, rho, origin, tau, del);
  secularVectors(k, d, z, rho, origin, tau, u, zhat, pos);
}
