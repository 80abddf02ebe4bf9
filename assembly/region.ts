// RoIAlign (float32), forward and backward: counterparts of roiAlignForward/roiAlignBackward in
// src/ops/roiAlign.ts, on the same plan (src/geometry/roi.ts: torchvision's sample grid, per-axis
// sample rows/columns with their bilinear corners and weights, precomputed per RoI).
//
// Bilinear sampling is separable, and the average over a bin's sample grid is linear, so a bin's
// value is Σ_ix (hx·V[xl] + lx·V[xh]) with V[col] = Σ_iy (hy·x[yl][col] + ly·x[yh][col]): for each
// output row the kernel blends the sample rows into V over the RoI's column span (whole rows, 4
// columns per SIMD step), then each bin reads 2 columns of V per sample column. The backward pass is
// the transpose: each bin scatters into a row buffer G, then every sample row receives hy·G and ly·G
// over the span. Float32 arithmetic throughout (the reference sums in float64): see the bounds in
// test/backends/wasm-region.test.ts.
import { ldf, ldi, stf } from "./util";

// @ts-ignore: decorator
@inline function zeroSpan(buf: usize, lo: i32, hi: i32): void {
  memory.fill(buf + ((<usize>lo) << 2), 0, (<usize>(hi - lo)) << 2);
}

/** V[lo..hi) += hy·a[lo..hi) + ly·b[lo..hi). */
// @ts-ignore: decorator
@inline function blendRows(v: usize, a: usize, b: usize, hy: f32, ly: f32, lo: i32, hi: i32): void {
  let c = lo;
  if (ASC_FEATURE_SIMD) {
    const vh = f32x4.splat(hy);
    const vl = f32x4.splat(ly);
    for (; c + 4 <= hi; c += 4) {
      const o = (<usize>c) << 2;
      const t = f32x4.add(f32x4.mul(vh, v128.load(a + o)), f32x4.mul(vl, v128.load(b + o)));
      v128.store(v + o, f32x4.add(v128.load(v + o), t));
    }
  }
  for (; c < hi; c++) stf(v, c, ldf(v, c) + (hy * ldf(a, c) + ly * ldf(b, c)));
}

/** d[lo..hi) += w·G[lo..hi). */
// @ts-ignore: decorator
@inline function addScaled(d: usize, g: usize, w: f32, lo: i32, hi: i32): void {
  let c = lo;
  if (ASC_FEATURE_SIMD) {
    const vw = f32x4.splat(w);
    for (; c + 4 <= hi; c += 4) {
      const o = (<usize>c) << 2;
      v128.store(d + o, f32x4.add(v128.load(d + o), f32x4.mul(vw, v128.load(g + o))));
    }
  }
  for (; c < hi; c++) stf(d, c, ldf(d, c) + w * ldf(g, c));
}

/**
 * y[r][c][i][j] = (1 / count[r]) Σ over bin (i, j)'s samples of the bilinear value of x[batch[r]][c].
 * Axis arrays (y: rows, x: columns): off/grid per RoI, low/high/wLow/wHigh per sample (low < 0: the
 * sample is outside the map and reads 0). span: per RoI the columns [lo, hi) any sample reads.
 * buf: scratch of W floats.
 */
export function roiAlignForward(
  x: usize, y: usize, K: i32, C: i32, H: i32, W: i32, ph: i32, pw: i32, batch: usize, count: usize,
  yOff: usize, yGrid: usize, yLow: usize, yHigh: usize, yW0: usize, yW1: usize,
  xOff: usize, xGrid: usize, xLow: usize, xHigh: usize, xW0: usize, xW1: usize,
  span: usize, buf: usize,
): void {
  const plane = H * W;
  let o = 0;
  for (let r = 0; r < K; r++) {
    const b = ldi(batch, r);
    const gh = ldi(yGrid, r);
    const gw = ldi(xGrid, r);
    const yo = ldi(yOff, r);
    const xo = ldi(xOff, r);
    const inv = ldf(count, r);
    const lo = ldi(span, 2 * r);
    const hi = ldi(span, 2 * r + 1);
    for (let c = 0; c < C; c++) {
      const xp = x + ((<usize>(b * C + c) * <usize>plane) << 2);
      for (let i = 0; i < ph; i++) {
        if (hi > lo) zeroSpan(buf, lo, hi);
        for (let iy = 0; iy < gh; iy++) {
          const sy = yo + i * gh + iy;
          const yl = ldi(yLow, sy);
          if (yl < 0) continue;
          const a = xp + ((<usize>(yl * W)) << 2);
          const bb = xp + ((<usize>(ldi(yHigh, sy) * W)) << 2);
          blendRows(buf, a, bb, ldf(yW0, sy), ldf(yW1, sy), lo, hi);
        }
        for (let j = 0; j < pw; j++) {
          let acc: f32 = 0;
          for (let ix = 0; ix < gw; ix++) {
            const sx = xo + j * gw + ix;
            const xl = ldi(xLow, sx);
            if (xl < 0) continue;
            acc += ldf(xW0, sx) * ldf(buf, xl) + ldf(xW1, sx) * ldf(buf, ldi(xHigh, sx));
          }
          stf(y, o++, acc / inv);
        }
      }
    }
  }
}

/** dx += the transpose of {@link roiAlignForward} applied to dy (dx zero-filled by the caller). */
export function roiAlignBackward(
  dy: usize, dx: usize, K: i32, C: i32, H: i32, W: i32, ph: i32, pw: i32, batch: usize, count: usize,
  yOff: usize, yGrid: usize, yLow: usize, yHigh: usize, yW0: usize, yW1: usize,
  xOff: usize, xGrid: usize, xLow: usize, xHigh: usize, xW0: usize, xW1: usize,
  span: usize, buf: usize,
): void {
  const plane = H * W;
  let o = 0;
  for (let r = 0; r < K; r++) {
    const b = ldi(batch, r);
    const gh = ldi(yGrid, r);
    const gw = ldi(xGrid, r);
    const yo = ldi(yOff, r);
    const xo = ldi(xOff, r);
    const inv = ldf(count, r);
    const lo = ldi(span, 2 * r);
    const hi = ldi(span, 2 * r + 1);
    for (let c = 0; c < C; c++) {
      const dp = dx + ((<usize>(b * C + c) * <usize>plane) << 2);
      for (let i = 0; i < ph; i++) {
        if (hi > lo) zeroSpan(buf, lo, hi);
        for (let j = 0; j < pw; j++) {
          const g = ldf(dy, o++) / inv;
          for (let ix = 0; ix < gw; ix++) {
            const sx = xo + j * gw + ix;
            const xl = ldi(xLow, sx);
            if (xl < 0) continue;
            const xh = ldi(xHigh, sx);
            stf(buf, xl, ldf(buf, xl) + g * ldf(xW0, sx));
            stf(buf, xh, ldf(buf, xh) + g * ldf(xW1, sx));
          }
        }
        if (hi <= lo) continue;
        for (let iy = 0; iy < gh; iy++) {
          const sy = yo + i * gh + iy;
          const yl = ldi(yLow, sy);
          if (yl < 0) continue;
          addScaled(dp + ((<usize>(yl * W)) << 2), buf, ldf(yW0, sy), lo, hi);
          addScaled(dp + ((<usize>(ldi(yHigh, sy) * W)) << 2), buf, ldf(yW1, sy), lo, hi);
        }
      }
    }
  }
}
