// The symmetric eigensolver's O(n²)-per-step loops in WebAssembly, float64: the Householder
// tridiagonalisation of src/linalg/eigen.ts (its TypeScript functions reducePanel and reduceUnblocked
// are the reference; this file follows them step by step). The panel's trailing update is a GEMM and
// stays in the matrix core (the host glue, src/backends/wasm/linalg.ts, calls it between panels).
//
// What runs here: the reflector (GVL Alg. 5.1.1), the symmetric matrix–vector product p = A v over the
// upper triangle (each stored a_ij used for p_i and p_j), the fused rank-2 update A ← A − v wᵀ − w vᵀ
// with the next step's product, and the panel's corrections by its earlier reflectors (LAPACK's
// dlatrd scheme). The SIMD build does the long loops over j two columns per f64x2, keeping
// separate even/odd partial sums where the reference keeps one (so sums differ from the reference
// by rounding only: a few ε·‖A‖·n, checked by test/linalg/eigen-wasm.test.ts); the scalar build
// runs the same loops one column at a time. No multiply-add is fused (plain v128 has none).
//
// All arguments are byte addresses of float64 arrays in linear memory, row-major, n × n for m.
// No static scratch: every buffer is the caller's.

import { ldd, std } from "./util";

// @ts-ignore: decorator
@inline function addr(p: usize, i: i32): usize {
  return p + ((<usize>i) << 3);
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** x[lo … hi) ← 0. */
function zero(x: usize, lo: i32, hi: i32): void {
  if (hi > lo) memory.fill(addr(x, lo), 0, (<usize>(hi - lo)) << 3);
}

/**
 * Σ_{t<len} a[t]·b[t] for a at `a`, b at `b` (float64), two lanes in the SIMD build.
 */
function dot(a: usize, b: usize, len: i32): f64 {
  let t = 0;
  let s: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    let acc = f64x2.splat(0);
    for (; t + 2 <= len; t += 2) acc = f64x2.add(acc, f64x2.mul(v128.load(addr(a, t)), v128.load(addr(b, t))));
    s = hsum(acc);
  }
  for (; t < len; t++) s += ldd(a, t) * ldd(b, t);
  return s;
}

/**
 * p[start … n) = A v over indices ≥ start, A given by its upper triangle in m (eigen.ts's symv). Two
 * rows at a time: p_j is loaded and stored once per two rows.
 */
function trdSymv(m: usize, n: i32, start: i32, v: usize, p: usize): void {
  zero(p, start, n);
  let i = start;
  for (; i + 2 <= n; i += 2) {
    const r0 = addr(m, i * n);
    const r1 = addr(m, (i + 1) * n);
    const v0 = ldd(v, i);
    const v1 = ldd(v, i + 1);
    const a01 = ldd(r0, i + 1);
    let s0 = ldd(r0, i) * v0 + a01 * v1;
    let s1 = a01 * v0 + ldd(r1, i + 1) * v1;
    let j = i + 2;
    if (ASC_FEATURE_SIMD) {
      const w0 = f64x2.splat(v0);
      const w1 = f64x2.splat(v1);
      let c0 = f64x2.splat(0);
      let c1 = f64x2.splat(0);
      for (; j + 2 <= n; j += 2) {
        const a0 = v128.load(addr(r0, j));
        const a1 = v128.load(addr(r1, j));
        const vj = v128.load(addr(v, j));
        c0 = f64x2.add(c0, f64x2.mul(a0, vj));
        c1 = f64x2.add(c1, f64x2.mul(a1, vj));
        const pp = addr(p, j);
        v128.store(pp, f64x2.add(v128.load(pp), f64x2.add(f64x2.mul(a0, w0), f64x2.mul(a1, w1))));
      }
      s0 += hsum(c0);
      s1 += hsum(c1);
    }
    for (; j < n; j++) {
      const a0 = ldd(r0, j);
      const a1 = ldd(r1, j);
      const vj = ldd(v, j);
      s0 += a0 * vj;
      s1 += a1 * vj;
      std(p, j, ldd(p, j) + a0 * v0 + a1 * v1);
    }
    std(p, i, ldd(p, i) + s0);
    std(p, i + 1, ldd(p, i + 1) + s1);
  }
  if (i < n) std(p, i, ldd(p, i) + ldd(m, i * n + i) * ldd(v, i));
}

/**
 * For rows i ≥ start of the upper triangle: A ← A − v wᵀ − w vᵀ, then pn = A vn from the updated
 * entries, in the same pass (eigen.ts's fusedUpdate).
 */
function fusedUpdate(m: usize, n: i32, start: i32, v: usize, w: usize, vn: usize, pn: usize): void {
  zero(pn, start, n);
  for (let i = start; i < n; i++) {
    const ri = addr(m, i * n);
    const vi = ldd(v, i);
    const wi = ldd(w, i);
    const vni = ldd(vn, i);
    const aii = ldd(ri, i) - 2 * vi * wi;
    std(ri, i, aii);
    let acc = aii * vni;
    let j = i + 1;
    if (ASC_FEATURE_SIMD) {
      const sv = f64x2.splat(vi);
      const sw = f64x2.splat(wi);
      const sn = f64x2.splat(vni);
      let c = f64x2.splat(0);
      for (; j + 2 <= n; j += 2) {
        const pa = addr(ri, j);
        const a = f64x2.sub(f64x2.sub(v128.load(pa), f64x2.mul(sv, v128.load(addr(w, j)))), f64x2.mul(sw, v128.load(addr(v, j))));
        v128.store(pa, a);
        c = f64x2.add(c, f64x2.mul(a, v128.load(addr(vn, j))));
        const pp = addr(pn, j);
        v128.store(pp, f64x2.add(v128.load(pp), f64x2.mul(a, sn)));
      }
      acc += hsum(c);
    }
    for (; j < n; j++) {
      const a = ldd(ri, j) - vi * ldd(w, j) - wi * ldd(v, j);
      std(ri, j, a);
      acc += a * ldd(vn, j);
      std(pn, j, ldd(pn, j) + a * vni);
    }
    std(pn, i, ldd(pn, i) + acc);
  }
}

/**
 * The reflector of row k (eigen.ts's makeReflector): H = I − β v vᵀ with H x = α e₁ for x = row k of
 * m, columns k+1 … n−1, x scaled by max|x_j| first. Writes v into `v` and row k of m, α into e[k];
 * returns β (0 and v = 0 when x is already a multiple of e₁).
 */
function makeReflector(m: usize, n: i32, k: i32, v: usize, e: usize): f64 {
  const r = addr(m, k * n);
  const x0 = ldd(r, k + 1);
  let tail: f64 = 0;
  for (let j = k + 2; j < n; j++) tail = max(tail, abs(ldd(r, j)));
  if (tail == 0) {
    std(e, k, x0);
    zero(v, 0, n);
    return 0;
  }
  const mx = max(tail, abs(x0));
  const inv = 1 / mx;
  let ss: f64 = 0;
  for (let j = k + 1; j < n; j++) {
    const t = ldd(r, j) * inv;
    std(v, j, t);
    ss += t * t;
  }
  const nrm = Math.sqrt(ss);
  const u0 = ldd(v, k + 1);
  const alpha = u0 >= 0 ? -nrm : nrm;
  std(e, k, alpha * mx);
  std(v, k + 1, u0 - alpha);
  const b = 1 / (nrm * (nrm + abs(u0)));
  for (let j = k + 1; j < n; j++) std(r, j, ldd(v, j));
  return b;
}

/**
 * The unblocked reduction of rows k0 … n−1 (eigen.ts's reduceUnblocked; the trailing matrix at k0
 * already up to date). `work`: 5n float64 of scratch (v, p, vn, pn, w).
 */
export function trdUnblocked(m: usize, n: i32, k0: i32, d: usize, e: usize, beta: usize, work: usize): void {
  let v = work;
  let p = addr(work, n);
  let vn = addr(work, 2 * n);
  let pn = addr(work, 3 * n);
  const w = addr(work, 4 * n);
  zero(work, 0, 5 * n);
  let b: f64 = n - k0 >= 2 ? makeReflector(m, n, k0, v, e) : 0;
  if (k0 < n) std(beta, k0, b);
  if (n - k0 > 2 && b != 0) trdSymv(m, n, k0 + 1, v, p);
  for (let k = k0; k < n - 2; k++) {
    std(d, k, ldd(m, k * n + k));
    const k1 = k + 1;
    if (b != 0) {
      let vp: f64 = 0;
      for (let i = k1; i < n; i++) vp += ldd(v, i) * ldd(p, i);
      const kk = 0.5 * b * b * vp;
      for (let i = k1; i < n; i++) std(w, i, b * ldd(p, i) - kk * ldd(v, i));
    } else zero(w, 0, n);
    const r1 = addr(m, k1 * n);
    const v1 = ldd(v, k1);
    const w1 = ldd(w, k1);
    for (let j = k1; j < n; j++) std(r1, j, ldd(r1, j) - v1 * ldd(w, j) - w1 * ldd(v, j));
    if (k == n - 3) {
      const vl = ldd(v, n - 1);
      const wl = ldd(w, n - 1);
      std(m, n * n - 1, ldd(m, n * n - 1) - 2 * vl * wl);
      break;
    }
    const bn = makeReflector(m, n, k1, vn, e);
    std(beta, k1, bn);
    fusedUpdate(m, n, k + 2, v, w, vn, pn);
    const tv = v;
    v = vn;
    vn = tv;
    const tp = p;
    p = pn;
    pn = tp;
    b = bn;
  }
  if (n >= 2) {
    std(d, n - 2, ldd(m, (n - 2) * n + n - 2));
    std(e, n - 2, ldd(m, (n - 2) * n + n - 1));
  }
  if (n >= 1) std(d, n - 1, ldd(m, n * n - 1));
}

/**
 * Reduce rows k0 … k0+nb−1 (eigen.ts's reducePanel without its trailing GEMM): V and W in the n × 2nb
 * row-major `vw` = [V | W]; on return `wv` = [W | V] over rows ≥ k0+nb, for the trailing update
 * A −= [V W]·[W V]ᵀ that the glue runs in the matrix core. v, p: n float64 each; y: 2nb.
 */
export function trdPanel(m: usize, n: i32, k0: i32, nb: i32, d: usize, e: usize, beta: usize, vw: usize, wv: usize, v: usize, p: usize, y: usize): void {
  const ld = 2 * nb;
  for (let i = 0; i < nb; i++) {
    const k = k0 + i;
    const rk = addr(m, k * n);
    if (i > 0) {
      // row k ← row k − Σ_l (V[k, l] W[:, l] + W[k, l] V[:, l]) over the panel's earlier reflectors:
      // the dot of vw's row j with the swapped row k, [W[k, ·] | V[k, ·]]
      const ok = addr(vw, k * ld);
      for (let l = 0; l < i; l++) {
        std(y, l, ldd(ok, nb + l));
        std(y, nb + l, ldd(ok, l));
      }
      for (let j = k; j < n; j++) {
        const oj = addr(vw, j * ld);
        const acc = dot(oj, y, i) + dot(addr(oj, nb), addr(y, nb), i);
        std(rk, j, ldd(rk, j) - acc);
      }
    }
    std(d, k, ldd(rk, k));
    const b = makeReflector(m, n, k, v, e);
    std(beta, k, b);
    for (let j = 0; j <= k; j++) {
      std(vw, j * ld + i, 0);
      std(vw, j * ld + nb + i, 0);
    }
    if (b == 0) {
      for (let j = k + 1; j < n; j++) {
        std(vw, j * ld + i, 0);
        std(vw, j * ld + nb + i, 0);
      }
      continue;
    }
    for (let j = k + 1; j < n; j++) std(vw, j * ld + i, ldd(v, j));
    trdSymv(m, n, k + 1, v, p);
    if (i > 0) {
      // y[0 … i) = Wᵀv, y[nb …] = Vᵀv over rows > k; then p −= V·(Wᵀv) + W·(Vᵀv)
      zero(y, 0, ld);
      for (let j = k + 1; j < n; j++) {
        const oj = addr(vw, j * ld);
        const vj = ldd(v, j);
        let l = 0;
        if (ASC_FEATURE_SIMD) {
          const sv = f64x2.splat(vj);
          for (; l + 2 <= i; l += 2) {
            const y0 = addr(y, l);
            const y1 = addr(y, nb + l);
            v128.store(y0, f64x2.add(v128.load(y0), f64x2.mul(v128.load(addr(oj, nb + l)), sv)));
            v128.store(y1, f64x2.add(v128.load(y1), f64x2.mul(v128.load(addr(oj, l)), sv)));
          }
        }
        for (; l < i; l++) {
          std(y, l, ldd(y, l) + ldd(oj, nb + l) * vj);
          std(y, nb + l, ldd(y, nb + l) + ldd(oj, l) * vj);
        }
      }
      for (let j = k + 1; j < n; j++) {
        const oj = addr(vw, j * ld);
        const acc = dot(oj, y, i) + dot(addr(oj, nb), addr(y, nb), i);
        std(p, j, ldd(p, j) - acc);
      }
    }
    let vp: f64 = 0;
    for (let j = k + 1; j < n; j++) vp += ldd(v, j) * ldd(p, j);
    const kk = 0.5 * b * b * vp;
    for (let j = k + 1; j < n; j++) std(vw, j * ld + nb + i, b * ldd(p, j) - kk * ldd(v, j));
  }
  const k1 = k0 + nb;
  for (let j = k1; j < n; j++) {
    const o = j * ld;
    memory.copy(addr(wv, o), addr(vw, o + nb), (<usize>nb) << 3);
    memory.copy(addr(wv, o + nb), addr(vw, o), (<usize>nb) << 3);
  }
}

// ---------------------------------------------------------------------------------------------------
// The secular equation of the divide-and-conquer merges (src/linalg/secular.ts is the reference:
// secularRoots, then secularVectors). Scalar float64, the reference's operations in its order, so
// the results are the reference's bit for bit (the SIMD and scalar builds alike).

// @ts-ignore: decorator
@inline function ldi32(p: usize, i: i32): i32 {
  return load<i32>(p + ((<usize>i) << 2));
}
// @ts-ignore: decorator
@inline function sti32(p: usize, i: i32, v: i32): void {
  store<i32>(p + ((<usize>i) << 2), v);
}

const SEC_EPS: f64 = 1.1102230246251565e-16; // 2⁻⁵³
const SEC_MAX_ITERATIONS = 200;

/** secular.ts's quadraticRootIn: the root of αx² + βx + γ in (lo, hi), else `fallback`. */
function quadraticRootIn(alpha: f64, beta: f64, gamma: f64, lo: f64, hi: f64, fallback: f64): f64 {
  if (alpha == 0) {
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

// poleSums' results for ψ ([0]) and φ ([1]): Σ term, Σ term/(del − τ), Σ |term|(1 + |τ/(del − τ)|).
// Globals, not memory: each thread's instance has its own.
let sumS0: f64 = 0;
let sumS1: f64 = 0;
let sumD0: f64 = 0;
let sumD1: f64 = 0;
let sumA0: f64 = 0;
let sumA1: f64 = 0;

/**
 * secular.ts's poleSums over poles j0 … j1−1 into the globals of `which` (0: ψ, 1: φ): two partial
 * sums over alternate poles (the two lanes of an f64x2 in the SIMD build), added, then the odd last
 * pole — the reference's order, so the same bits. Returns 1 if some del_j − τ is 0.
 */
function poleSumsInto(which: i32, j0: i32, j1: i32, del: usize, z: usize, rho: f64, t: f64): i32 {
  let sum: f64;
  let dsum: f64;
  let asum: f64;
  let pole = 0;
  let j = j0;
  if (ASC_FEATURE_SIMD) {
    const vt = f64x2.splat(t);
    const vr = f64x2.splat(rho);
    const one = f64x2.splat(1);
    const zero = f64x2.splat(0);
    let vs = zero;
    let vd = zero;
    let va = zero;
    let hit = zero;
    for (; j + 2 <= j1; j += 2) {
      const den = f64x2.sub(v128.load(addr(del, j)), vt);
      hit = v128.or(hit, f64x2.eq(den, zero));
      const zj = v128.load(addr(z, j));
      const r = f64x2.div(one, den);
      const term = f64x2.mul(f64x2.mul(f64x2.mul(vr, zj), zj), r);
      va = f64x2.add(va, f64x2.mul(f64x2.abs(term), f64x2.add(one, f64x2.abs(f64x2.mul(vt, r)))));
      vs = f64x2.add(vs, term);
      vd = f64x2.add(vd, f64x2.mul(term, r));
    }
    if (v128.any_true(hit)) pole = 1;
    sum = hsum(vs);
    dsum = hsum(vd);
    asum = hsum(va);
  } else {
    let s0: f64 = 0;
    let s1: f64 = 0;
    let d0: f64 = 0;
    let d1: f64 = 0;
    let a0: f64 = 0;
    let a1: f64 = 0;
    for (; j + 2 <= j1; j += 2) {
      const den0 = ldd(del, j) - t;
      const den1 = ldd(del, j + 1) - t;
      if (den0 == 0 || den1 == 0) pole = 1;
      const z0 = ldd(z, j);
      const z1 = ldd(z, j + 1);
      const r0 = 1 / den0;
      const r1 = 1 / den1;
      const term0 = rho * z0 * z0 * r0;
      const term1 = rho * z1 * z1 * r1;
      a0 += abs(term0) * (1 + abs(t * r0));
      a1 += abs(term1) * (1 + abs(t * r1));
      s0 += term0;
      s1 += term1;
      d0 += term0 * r0;
      d1 += term1 * r1;
    }
    sum = s0 + s1;
    dsum = d0 + d1;
    asum = a0 + a1;
  }
  if (j < j1) {
    const den = ldd(del, j) - t;
    if (den == 0) pole = 1;
    const zj = ldd(z, j);
    const r = 1 / den;
    const term = rho * zj * zj * r;
    asum += abs(term) * (1 + abs(t * r));
    sum += term;
    dsum += term * r;
  }
  if (which == 0) {
    sumS0 = sum;
    sumD0 = dsum;
    sumA0 = asum;
  } else {
    sumS1 = sum;
    sumD1 = dsum;
    sumA1 = asum;
  }
  return pole;
}

function secularRoots(k: i32, d: usize, z: usize, rho: f64, origin: usize, tau: usize, del: usize): void {
  if (k == 1) {
    sti32(origin, 0, 0);
    std(tau, 0, rho * ldd(z, 0) * ldd(z, 0));
    return;
  }
  let zz: f64 = 0;
  for (let j = 0; j < k; j++) zz += ldd(z, j) * ldd(z, j);
  for (let i = 0; i < k; i++) {
    const last = i == k - 1;
    let o: i32;
    let lo: f64;
    let hi: f64;
    let t: f64;
    if (!last) {
      const di = ldd(d, i);
      const gap = ldd(d, i + 1) - di;
      const mid = gap / 2;
      let f: f64 = 1;
      for (let j = 0; j < k; j++) {
        const zj = ldd(z, j);
        f += (rho * zj * zj) / (ldd(d, j) - di - mid);
      }
      const a = rho * ldd(z, i) * ldd(z, i);
      const b = rho * ldd(z, i + 1) * ldd(z, i + 1);
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
      o = k - 1;
      lo = 0;
      hi = rho * zz;
      t = hi / 2;
    }
    const dO = ldd(d, o);
    for (let j = 0; j < k; j++) std(del, j, ldd(d, j) - dO);
    const p = last ? k - 2 : i;
    const q = p + 1;
    const delP = ldd(del, p);
    const delQ = ldd(del, q);
    for (let it = 0; it < SEC_MAX_ITERATIONS; it++) {
      if (poleSumsInto(0, 0, p + 1, del, z, rho, t) | poleSumsInto(1, q, k, del, z, rho, t)) {
        t = 0.5 * (lo + hi);
        continue;
      }
      const psi = sumS0;
      const dpsi = sumD0;
      const phi = sumS1;
      const dphi = sumD1;
      const sabs = sumA0 + sumA1;
      const f = 1 + psi + phi;
      if (f == 0) break;
      if (f < 0) lo = t;
      else hi = t;
      if (abs(f) <= 8 * SEC_EPS * (1 + sabs)) break;
      if (hi - lo <= 4 * SEC_EPS * max(abs(lo), abs(hi))) break;
      const bigP = delP - t;
      const bigQ = delQ - t;
      const a = 1 + psi - dpsi * bigP + phi - dphi * bigQ;
      const b = a * (bigP + bigQ) + dpsi * bigP * bigP + dphi * bigQ * bigQ;
      const c = bigP * bigQ * f;
      let next: f64 = NaN;
      const disc = b * b - 4 * a * c;
      if (disc >= 0) {
        const sq = Math.sqrt(disc);
        const bs = b >= 0 ? b + sq : b - sq;
        const e1 = bs != 0 ? (2 * c) / bs : NaN;
        const e2 = a != 0 ? bs / (2 * a) : NaN;
        if (t + e1 > lo && t + e1 < hi) next = t + e1;
        else if (t + e2 > lo && t + e2 < hi) next = t + e2;
      } else if (b != 0 && t + c / b > lo && t + c / b < hi) next = t + c / b;
      if (!(next > lo && next < hi) || next == t || (it & 7) == 7) next = 0.5 * (lo + hi);
      if (next == t) break;
      t = next;
    }
    sti32(origin, i, o);
    std(tau, i, t);
  }
}

function secularVectors(k: i32, d: usize, z: usize, rho: f64, origin: usize, tau: usize, u: usize, zhat: usize, pos: usize): void {
  for (let i = 0; i < k; i++) {
    const di = ldd(d, i);
    let prod = (ldd(d, ldi32(origin, k - 1)) - di + ldd(tau, k - 1)) / rho;
    for (let j = 0; j < i; j++) prod *= (ldd(d, ldi32(origin, j)) - di + ldd(tau, j)) / (ldd(d, j) - di);
    for (let j = i; j < k - 1; j++) prod *= (ldd(d, ldi32(origin, j)) - di + ldd(tau, j)) / (ldd(d, j + 1) - di);
    const mag = Math.sqrt(abs(prod));
    std(zhat, i, ldd(z, i) >= 0 ? mag : -mag);
  }
  for (let j = 0; j < k; j++) {
    const dO = ldd(d, ldi32(origin, j));
    const tj = ldd(tau, j);
    const row = j * k;
    let ss: f64 = 0;
    for (let r = 0; r < k; r++) {
      const v = ldd(zhat, r) / (ldd(d, r) - dO - tj);
      std(u, row + ldi32(pos, r), v);
      ss += v * v;
    }
    const inv = 1 / Math.sqrt(ss);
    for (let r = 0; r < k; r++) std(u, row + r, ldd(u, row + r) * inv);
  }
}

/**
 * The roots and eigenvectors of D + ρ z zᵀ (secular.ts's secularRoots then secularVectors): d, z, tau,
 * del, u, zhat float64, origin and pos int32.
 */
export function secularSolve(k: i32, d: usize, z: usize, rho: f64, origin: usize, tau: usize, del: usize, u: usize, zhat: usize, pos: usize): void {
  secularRoots(k, d, z, rho, origin, tau, del);
  secularVectors(k, d, z, rho, origin, tau, u, zhat, pos);
}

// ---------------------------------------------------------------------------------------------------
// Implicit QL with Wilkinson shifts on a tridiagonal, rotating a strided block of eigenvectors: the
// divide-and-conquer leaves (src/linalg/tridiagQL.ts's qlReference is the reference; its operations in
// its order, scalar float64, so bit for bit in both builds — including pythag, LAPACK's dlapy2, in place
// of Math.hypot).

const QL_EPS2: f64 = SEC_EPS * SEC_EPS;
const QL_SAFMIN: f64 = 2.2250738585072014e-308; // 2⁻¹⁰²²

/** √(x² + y²) as tridiagQL.ts's pythag (dlapy2); also the D&C merges' deflating rotations (eigen.ts). */
export function pythag(x: f64, y: f64): f64 {
  const a = abs(x);
  const b = abs(y);
  const w = max(a, b);
  const v = min(a, b);
  if (v == 0) return w;
  const r = v / w;
  return w * Math.sqrt(1 + r * r);
}

/**
 * For rotations i = hi−1 down to lo: columns (i, i+1) of the n × n block at z (row stride ld) ←
 * (c·z_i − s·z_{i+1}, s·z_i + c·z_{i+1}); row by row, four rows at a time (tridiagQL.ts's applyRotations).
 */
function qlRotate(z: usize, n: i32, ld: i32, lo: i32, hi: i32, cs: usize, sn: usize): void {
  if (hi <= lo) return;
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    const o0 = addr(z, r * ld);
    const o1 = addr(o0, ld);
    const o2 = addr(o1, ld);
    const o3 = addr(o2, ld);
    let u0 = ldd(o0, hi);
    let u1 = ldd(o1, hi);
    let u2 = ldd(o2, hi);
    let u3 = ldd(o3, hi);
    for (let i = hi - 1; i >= lo; i--) {
      const c = ldd(cs, i);
      const s = ldd(sn, i);
      const a0 = ldd(o0, i);
      const a1 = ldd(o1, i);
      const a2 = ldd(o2, i);
      const a3 = ldd(o3, i);
      std(o0, i + 1, s * a0 + c * u0);
      std(o1, i + 1, s * a1 + c * u1);
      std(o2, i + 1, s * a2 + c * u2);
      std(o3, i + 1, s * a3 + c * u3);
      u0 = c * a0 - s * u0;
      u1 = c * a1 - s * u1;
      u2 = c * a2 - s * u2;
      u3 = c * a3 - s * u3;
    }
    std(o0, lo, u0);
    std(o1, lo, u1);
    std(o2, lo, u2);
    std(o3, lo, u3);
  }
  for (; r < n; r++) {
    const ro = addr(z, r * ld);
    let cur = ldd(ro, hi);
    for (let i = hi - 1; i >= lo; i--) {
      const zi = ldd(ro, i);
      const c = ldd(cs, i);
      const s = ldd(sn, i);
      std(ro, i + 1, s * zi + c * cur);
      cur = c * zi - s * cur;
    }
    std(ro, lo, cur);
  }
}

/**
 * Implicit QL on the n × n tridiagonal (d, e), rotating the block at z (row stride ld), at most
 * maxIterations sweeps; cs, sn: n float64 of scratch. Returns 1 when converged, 0 if not
 * (tridiagQL.ts's qlReference).
 */
export function qlStrided(d: usize, e: usize, z: usize, n: i32, ld: i32, maxIterations: i32, cs: usize, sn: usize): i32 {
  let iterations = 0;
  for (let l = 0; l < n; l++) {
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const em = ldd(e, m);
        if (em * em <= QL_EPS2 * abs(ldd(d, m) * ldd(d, m + 1)) + QL_SAFMIN) {
          std(e, m, 0);
          break;
        }
      }
      if (m == l) break;
      if (++iterations > maxIterations) return 0;
      const dl = ldd(d, l);
      const el = ldd(e, l);
      let g = (ldd(d, l + 1) - dl) / (2 * el);
      let r = pythag(g, 1);
      g = ldd(d, m) - dl + el / (g + (g >= 0 ? r : -r));
      let s: f64 = 1;
      let c: f64 = 1;
      let p: f64 = 0;
      let i = m - 1;
      let restarted = false;
      for (; i >= l; i--) {
        const ei = ldd(e, i);
        const f = s * ei;
        const bb = c * ei;
        r = pythag(f, g);
        std(e, i + 1, r);
        if (r == 0) {
          std(d, i + 1, ldd(d, i + 1) - p);
          std(e, m, 0);
          restarted = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = ldd(d, i + 1) - p;
        r = (ldd(d, i) - g) * s + 2 * c * bb;
        p = s * r;
        std(d, i + 1, g + p);
        g = c * r - bb;
        std(cs, i, c);
        std(sn, i, s);
      }
      qlRotate(z, n, ld, restarted ? i + 1 : l, m, cs, sn);
      if (restarted) continue;
      std(d, l, dl - p);
      std(e, l, g);
      std(e, m, 0);
    }
  }
  return 1;
}

// ---------------------------------------------------------------------------------------------------
// The compact WY factor of one block of the back-transformation (src/linalg/eigen.ts's wyReference is
// the reference: its operations in its order, scalar float64, so bit for bit in both builds).

/**
 * Vᵀ (nb × rows, rows = n − k0 − 1; row j = row k0+j of m from column k0+1+j on, zero before) into vt,
 * and the upper triangular T (row stride ldt, zero below the diagonal) of H_k0 ⋯ H_k0+nb−1 = I − V T Vᵀ
 * into t: T_jj = β_j, T[0:j, j] = −β_j·T[0:j, 0:j]·g, g_l = v_lᵀv_j (kept in row j of t meanwhile).
 */
export function wyBlock(m: usize, n: i32, k0: i32, nb: i32, beta: usize, vt: usize, t: usize, ldt: i32): void {
  const s = k0 + 1;
  const rows = n - s;
  for (let j = 0; j < nb; j++) {
    const o = addr(vt, j * rows);
    zero(o, 0, j);
    if (rows > j) memory.copy(addr(o, j), addr(m, (k0 + j) * n + s + j), (<usize>(rows - j)) << 3);
  }
  for (let i = 0; i < nb; i++) zero(addr(t, i * ldt), 0, nb);
  for (let j = 0; j < nb; j++) {
    const bj = ldd(beta, k0 + j);
    const oj = addr(vt, j * rows);
    const gj = addr(t, j * ldt);
    for (let l = 0; l < j; l++) {
      const ol = addr(vt, l * rows);
      let acc: f64 = 0;
      for (let r = j; r < rows; r++) acc += ldd(ol, r) * ldd(oj, r);
      std(gj, l, acc);
    }
    for (let i = 0; i < j; i++) {
      const ti = addr(t, i * ldt);
      let acc: f64 = 0;
      for (let l = i; l < j; l++) acc += ldd(ti, l) * ldd(gj, l);
      std(ti, j, -bj * acc);
    }
    zero(gj, 0, j);
    std(gj, j, bj);
  }
}

/**
 * dst[r·n + i] = src[r·n + order[i]] for the row-major n × n float64 src and dst, order int32
 * (eigen.ts's gatherColumnsReference: the eigenvectors sorted by eigenvalue).
 */
export function gatherColumns(src: usize, dst: usize, n: i32, order: usize): void {
  for (let r = 0; r < n; r++) {
    const s = addr(src, r * n);
    const d = addr(dst, r * n);
    for (let i = 0; i < n; i++) std(d, i, ldd(s, ldi32(order, i)));
  }
}

/**
 * A divide-and-conquer merge's operands (tridiagDC.ts's dcPackReference): from the block at z (row
 * stride ld, n1 + n2 rows), the non-deflated columns nd[t] → component pos[t] (int32): top rows of
 * components < k1 + k2 into q (n1 × (k1+k2)), bottom rows of components ≥ k1 after them (n2 × (k−k1));
 * the deflated columns df[t] (int32) whole into defl (n × nDefl).
 */
export function dcPack(z: usize, ld: i32, n1: i32, n2: i32, k: i32, k1: i32, k2: i32, nd: usize, pos: usize, q: usize, df: usize, nDefl: i32, defl: usize): void {
  const k12 = k1 + k2;
  const k23 = k - k1;
  const qb = addr(q, n1 * k12);
  for (let t = 0; t < k; t++) {
    const j = ldi32(nd, t);
    const p = ldi32(pos, t);
    if (p < k12) for (let row = 0; row < n1; row++) std(q, row * k12 + p, ldd(z, row * ld + j));
    if (p >= k1) {
      const pc = p - k1;
      for (let row = 0; row < n2; row++) std(qb, row * k23 + pc, ldd(z, (n1 + row) * ld + j));
    }
  }
  const n = n1 + n2;
  for (let t = 0; t < nDefl; t++) {
    const j = ldi32(df, t);
    for (let row = 0; row < n; row++) std(defl, row * nDefl + t, ldd(z, row * ld + j));
  }
}

/** dst[r·ldDst + c] = src[r·ldSrc + c] for r < rows, c < cols (float64; tridiagDC.ts's copyBlockReference). */
export function copyBlock(src: usize, ldSrc: i32, dst: usize, ldDst: i32, rows: i32, cols: i32): void {
  if (cols <= 0) return;
  for (let r = 0; r < rows; r++) memory.copy(addr(dst, r * ldDst), addr(src, r * ldSrc), (<usize>cols) << 3);
}

/** a[i] ← a[i]·b[i] for i < len, float64 (matrix.ts's hadamardReference; one rounding per entry, so bit for bit). */
export function hadamard(a: usize, b: usize, len: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 2 <= len; i += 2) {
      const p = addr(a, i);
      v128.store(p, f64x2.mul(v128.load(p), v128.load(addr(b, i))));
    }
  }
  for (; i < len; i++) std(a, i, ldd(a, i) * ldd(b, i));
}

// ---------------------------------------------------------------------------------------------------
// Row centring of covariance pooling's feature matrices (src/linalg/matrix.ts's centreInto is the
// reference): each row's mean is the sequential float64 sum of its entries divided by m, then every
// entry minus it — the reference's operations in its order, so bit for bit in both builds.

/** Σ_t x[r·m + t] in float64, sequentially in t (x float32 when xF32, else float64). */
// @ts-ignore: decorator
@inline function rowSum(x: usize, xF32: i32, r: i32, m: i32): f64 {
  let s: f64 = 0;
  const o = r * m;
  if (xF32) for (let t = 0; t < m; t++) s += <f64>load<f32>(x + ((<usize>(o + t)) << 2));
  else for (let t = 0; t < m; t++) s += ldd(x, o + t);
  return s;
}

/**
 * out[r·m + t] = x[r·m + t] − mean_r for the d × m row-major x (float32 when xF32, else float64) into the
 * float64 out: four rows' sums at a time (independent chains, each sequential in t), then the
 * differences (two per f64x2 in the SIMD build: each one subtraction, the same bits).
 */
export function centreRows(x: usize, xF32: i32, d: i32, m: i32, out: usize): void {
  for (let r0 = 0; r0 < d; r0 += 4) {
    const rows = min(4, d - r0);
    let s0: f64 = 0;
    let s1: f64 = 0;
    let s2: f64 = 0;
    let s3: f64 = 0;
    if (rows == 4) {
      const o = r0 * m;
      if (xF32) {
        for (let t = 0; t < m; t++) {
          const p = x + ((<usize>(o + t)) << 2);
          s0 += <f64>load<f32>(p);
          s1 += <f64>load<f32>(p + ((<usize>m) << 2));
          s2 += <f64>load<f32>(p + ((<usize>(2 * m)) << 2));
          s3 += <f64>load<f32>(p + ((<usize>(3 * m)) << 2));
        }
      } else {
        for (let t = 0; t < m; t++) {
          const p = addr(x, o + t);
          s0 += load<f64>(p);
          s1 += load<f64>(p + ((<usize>m) << 3));
          s2 += load<f64>(p + ((<usize>(2 * m)) << 3));
          s3 += load<f64>(p + ((<usize>(3 * m)) << 3));
        }
      }
    } else {
      s0 = rowSum(x, xF32, r0, m);
      if (rows > 1) s1 = rowSum(x, xF32, r0 + 1, m);
      if (rows > 2) s2 = rowSum(x, xF32, r0 + 2, m);
    }
    for (let q = 0; q < rows; q++) {
      const mean = (q == 0 ? s0 : q == 1 ? s1 : q == 2 ? s2 : s3) / <f64>m;
      const o = (r0 + q) * m;
      let t = 0;
      if (ASC_FEATURE_SIMD) {
        const vm = f64x2.splat(mean);
        if (xF32) {
          for (; t + 2 <= m; t += 2) v128.store(addr(out, o + t), f64x2.sub(f64x2.promote_low_f32x4(v128.load64_zero(x + ((<usize>(o + t)) << 2))), vm));
        } else {
          for (; t + 2 <= m; t += 2) v128.store(addr(out, o + t), f64x2.sub(v128.load(addr(x, o + t)), vm));
        }
      }
      if (xF32) for (; t < m; t++) std(out, o + t, <f64>load<f32>(x + ((<usize>(o + t)) << 2)) - mean);
      else for (; t < m; t++) std(out, o + t, ldd(x, o + t) - mean);
    }
  }
}
