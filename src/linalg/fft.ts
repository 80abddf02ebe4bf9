/**
 * Complex FFT of any length, for the compact bilinear (Tensor Sketch / MCB) ops.
 *
 * Powers of two go straight to fft.js (radix-4/radix-2, float64). Other lengths — MCB's
 * d = 16000, for example — use Bluestein's chirp-z algorithm on top of a power-of-two fft.js
 * transform of size m ≥ 2n − 1:
 *   X[k] = w[k] · Σ_j (x[j] w[j]) · conj(w[k − j]),   w[k] = exp(−iπk²/n)
 * i.e. a linear convolution with the chirp, done as a length-m circular convolution
 * (Bluestein 1970; Rabiner, Schafer & Rader 1969). Everything is float64: ops round to float32 at
 * the end, so a float32 op gets a float64-accurate transform.
 *
 * Data layout: interleaved complex, `[re0, im0, re1, im1, ...]`, length 2n.
 * Conventions (NumPy/PyTorch's): forward X[k] = Σ_j x[j] e^{−2πijk/n}; inverse includes 1/n.
 */
import FFTJS from "fft.js";
import { PoolkitRangeError, show } from "../errors.js";
import { allocArray } from "../tensor/alloc.js";

type Radix2 = {
  transform(out: Float64Array, data: Float64Array): void;
  inverseTransform(out: Float64Array, data: Float64Array): void;
};

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** A reusable transform of one length (twiddles, chirp and scratch are computed once). */
export class FFTPlan {
  readonly n: number;
  readonly #radix2: Radix2 | null;
  readonly #m: number; // Bluestein convolution length (0 when n is a power of two)
  readonly #chirp: Float64Array; // w[k] = exp(−iπk²/n), k < n (interleaved)
  readonly #chirpSpectrum: Float64Array; // FFT_m of the conjugate chirp, wrapped to length m
  readonly #scratch: Float64Array;
  readonly #scratch2: Float64Array;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new PoolkitRangeError("fft", `length must be a positive integer, got ${show(n)}`);
    this.n = n;
    if (n === 1) {
      this.#radix2 = null;
      this.#m = 0;
      this.#chirp = this.#chirpSpectrum = this.#scratch = this.#scratch2 = allocArray("float64", 0);
      return;
    }
    if (isPowerOfTwo(n)) {
      this.#radix2 = new FFTJS(n) as unknown as Radix2;
      this.#m = 0;
      this.#chirp = this.#chirpSpectrum = allocArray("float64", 0);
      this.#scratch = allocArray("float64", 2 * n);
      this.#scratch2 = allocArray("float64", 0);
      return;
    }
    let m = 2;
    while (m < 2 * n - 1) m *= 2;
    this.#m = m;
    this.#radix2 = new FFTJS(m) as unknown as Radix2;
    const chirp = allocArray("float64", 2 * n);
    const twoN = 2 * n;
    for (let k = 0; k < n; k++) {
      // k² mod 2n keeps the angle small and exact (k² < 2^53 for every practical n).
      const angle = (Math.PI * ((k * k) % twoN)) / n;
      chirp[2 * k] = Math.cos(angle);
      chirp[2 * k + 1] = -Math.sin(angle);
    }
    this.#chirp = chirp;
    const b = allocArray("float64", 2 * m);
    for (let k = 0; k < n; k++) {
      const re = chirp[2 * k] as number;
      const im = -(chirp[2 * k + 1] as number); // conj(w[k])
      b[2 * k] = re;
      b[2 * k + 1] = im;
      if (k > 0) {
        b[2 * (m - k)] = re;
        b[2 * (m - k) + 1] = im;
      }
    }
    this.#chirpSpectrum = allocArray("float64", 2 * m);
    this.#radix2.transform(this.#chirpSpectrum, b);
    this.#scratch = allocArray("float64", 2 * m);
    this.#scratch2 = allocArray("float64", 2 * m);
  }

  /** In-place forward DFT of `data` (interleaved complex, length 2n). */
  forward(data: Float64Array): void {
    this.#check(data);
    if (this.n === 1) return;
    if (this.#m === 0) {
      const out = this.#scratch;
      (this.#radix2 as Radix2).transform(out, data);
      data.set(out);
      return;
    }
    this.#bluestein(data);
  }

  /** In-place inverse DFT of `data`, including the 1/n factor. */
  inverse(data: Float64Array): void {
    this.#check(data);
    const n = this.n;
    if (n === 1) return;
    if (this.#m === 0) {
      const out = this.#scratch;
      (this.#radix2 as Radix2).inverseTransform(out, data); // fft.js divides by n
      data.set(out);
      return;
    }
    // inverse(x) = conj(forward(conj(x))) / n
    for (let i = 1; i < 2 * n; i += 2) data[i] = -(data[i] as number);
    this.#bluestein(data);
    const inv = 1 / n;
    for (let i = 0; i < 2 * n; i += 2) {
      data[i] = (data[i] as number) * inv;
      data[i + 1] = -(data[i + 1] as number) * inv;
    }
  }

  #check(data: Float64Array): void {
    if (data.length !== 2 * this.n) {
      throw new PoolkitRangeError("fft", `data must hold ${this.n} interleaved complex values (length ${2 * this.n}), got length ${data.length}`);
    }
  }

  #bluestein(data: Float64Array): void {
    const n = this.n;
    const m = this.#m;
    const w = this.#chirp;
    const a = this.#scratch;
    const fa = this.#scratch2;
    const bf = this.#chirpSpectrum;
    const r2 = this.#radix2 as Radix2;
    a.fill(0);
    for (let k = 0; k < n; k++) {
      const xr = data[2 * k] as number;
      const xi = data[2 * k + 1] as number;
      const wr = w[2 * k] as number;
      const wi = w[2 * k + 1] as number;
      a[2 * k] = xr * wr - xi * wi;
      a[2 * k + 1] = xr * wi + xi * wr;
    }
    r2.transform(fa, a);
    for (let k = 0; k < m; k++) {
      const ar = fa[2 * k] as number;
      const ai = fa[2 * k + 1] as number;
      const br = bf[2 * k] as number;
      const bi = bf[2 * k + 1] as number;
      fa[2 * k] = ar * br - ai * bi;
      fa[2 * k + 1] = ar * bi + ai * br;
    }
    r2.inverseTransform(a, fa);
    for (let k = 0; k < n; k++) {
      const cr = a[2 * k] as number;
      const ci = a[2 * k + 1] as number;
      const wr = w[2 * k] as number;
      const wi = w[2 * k + 1] as number;
      data[2 * k] = cr * wr - ci * wi;
      data[2 * k + 1] = cr * wi + ci * wr;
    }
  }
}

// A few plans are kept: building one costs a transform of size m, and ops reuse the same d.
const PLAN_CACHE_SIZE = 8;
const plans = new Map<number, FFTPlan>();

/** The (cached) plan for length n. Plans hold scratch space: use one from a single call at a time. */
export function fftPlan(n: number): FFTPlan {
  let p = plans.get(n);
  if (p) {
    plans.delete(n);
    plans.set(n, p); // most recently used last
    return p;
  }
  p = new FFTPlan(n);
  if (plans.size >= PLAN_CACHE_SIZE) {
    const oldest = plans.keys().next().value;
    if (oldest !== undefined) plans.delete(oldest);
  }
  plans.set(n, p);
  return p;
}

/**
 * Direct O(n²) DFT of interleaved complex data (a reference for tests and for checking the fast
 * path). Returns a new array; `inverse` includes the 1/n factor.
 */
export function dft(data: Float64Array, inverse = false): Float64Array {
  const n = data.length >> 1;
  const out = allocArray("float64", 2 * n);
  const sign = inverse ? 1 : -1;
  for (let k = 0; k < n; k++) {
    let re = 0;
    let im = 0;
    for (let j = 0; j < n; j++) {
      const angle = (sign * 2 * Math.PI * ((j * k) % n)) / n;
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const xr = data[2 * j] as number;
      const xi = data[2 * j + 1] as number;
      re += xr * c - xi * s;
      im += xr * s + xi * c;
    }
    out[2 * k] = inverse ? re / n : re;
    out[2 * k + 1] = inverse ? im / n : im;
  }
  return out;
}
