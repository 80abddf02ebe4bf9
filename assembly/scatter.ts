// The remaining float32 kernels, ported loop for loop from their TypeScript references so results
// are bit-identical (the same operations in the same order; float64 where the reference computes in
// JS numbers): max-unpool forward/backward (src/ops/maxUnpool.ts), stochastic pooling's evaluation
// forward/backward (src/ops/stochasticPool.ts) and mixed pooling's mix (src/ops/mixedPool.ts).
// Mostly scatters, gathers and short window scans: memory-bound, no SIMD needed to leave the
// TypeScript loops behind. (RoIPool's kernels are in ./region.)
import { ldd, ldf, ldi, stf, std } from "./util";

/** y[plane][idx[i]] = x[i] (later writes win); y zero-filled by the caller; indices outside the plane are skipped (the op rejects them). */
export function unpoolForward(x: usize, idx: usize, y: usize, planes: i32, inPlane: i32, outPlane: i32): void {
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    const yp = y + ((<usize>p * <usize>outPlane) << 2);
    for (let i = 0; i < inPlane; i++) {
      const j = ldi(idx, xo + i);
      if (<u32>j < <u32>outPlane) stf(yp, j, ldf(x, xo + i));
    }
  }
}

/** dx[i] = dy[plane][idx[i]]. */
export function unpoolBackward(dy: usize, idx: usize, dx: usize, planes: i32, inPlane: i32, outPlane: i32): void {
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    const yp = dy + ((<usize>p * <usize>outPlane) << 2);
    for (let i = 0; i < inPlane; i++) {
      const j = ldi(idx, xo + i);
      stf(dx, xo + i, <u32>j < <u32>outPlane ? ldf(yp, j) : 0);
    }
  }
}

/** Stochastic pooling, evaluation: y = Σx² / Σx (float64 sums in scan order), sums[o] = Σx; Σx ≤ 0 gives 0. */
export function stochasticEvalForward(
  x: usize, y: usize, sums: usize, planes: i32, H: i32, W: i32,
  bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32,
): void {
  const inPlane = H * W;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    for (let ob = 0; ob < nB; ob++) {
      const h0 = ldi(bS, ob);
      const h1 = ldi(bE, ob);
      for (let oc = 0; oc < nC; oc++) {
        const w0 = ldi(cS, oc);
        const w1 = ldi(cE, oc);
        let s: f64 = 0;
        let s2: f64 = 0;
        for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            const v = <f64>ldf(x, xo + ih * W + iw);
            s += v;
            s2 += v * v;
          }
        }
        std(sums, o, s);
        stf(y, o, s > 0 ? <f32>(s2 / s) : 0);
        o++;
      }
    }
  }
}

/** Stochastic pooling, evaluation backward: dx_i += dy·(2x_i − y)/Σx; Σx ≤ 0 sends dy to the window's first tap. */
export function stochasticEvalBackward(
  dy: usize, x: usize, y: usize, sums: usize, dx: usize, planes: i32, H: i32, W: i32,
  bS: usize, bE: usize, nB: i32, cS: usize, cE: usize, nC: i32,
): void {
  const inPlane = H * W;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    for (let ob = 0; ob < nB; ob++) {
      const h0 = ldi(bS, ob);
      const h1 = ldi(bE, ob);
      for (let oc = 0; oc < nC; oc++) {
        const w0 = ldi(cS, oc);
        const w1 = ldi(cE, oc);
        const s = ldd(sums, o);
        const d = <f64>ldf(dy, o);
        if (s > 0) {
          const yo = <f64>ldf(y, o);
          const f = d / s;
          for (let ih = h0; ih < h1; ih++) {
            const row = xo + ih * W;
            for (let iw = w0; iw < w1; iw++) stf(dx, row + iw, <f32>(<f64>ldf(dx, row + iw) + f * (2 * <f64>ldf(x, row + iw) - yo)));
          }
        } else {
          const i = xo + h0 * W + w0;
          stf(dx, i, <f32>(<f64>ldf(dx, i) + d));
        }
        o++;
      }
    }
  }
}

/** Mixed pooling: y = w·max + (1 − w)·avg (w = 1 or 0 selects exactly), float64 w. */
export function mixForward(mx: usize, av: usize, w: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const a = ldd(w, i);
    const m = <f64>ldf(mx, i);
    const v = <f64>ldf(av, i);
    stf(y, i, a == 1 ? <f32>m : a == 0 ? <f32>v : <f32>(a * m + (1 - a) * v));
  }
}
