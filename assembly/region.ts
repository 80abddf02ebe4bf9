// RoIAlign (float32), forward and backward: counterparts of roiAlignForward/roiAlignBackward in
// src/ops/roiAlign.ts, on the same plan (src/geometry/roi.ts: torchvision's sample grid, per-axis
// sample rows/columns with their bilinear corners and weights, precomputed per RoI).
//
// Bilinear sampling is separable, and the average over a bin's sample grid is linear, so a bin's
// value is Σ_ix (hx·V[xl] + lx·V[xh]) with V[col] = Σ_iy (hy·x[yl][col] + ly·x[yh][col]): for each
// output row the kernel blends the sample rows into V over the RoI's column span (whole rows, 4
// columns per SIMD step), then each bin reads 2 columns of V per sample column (the SIMD build's forward
// keeps eight bin rows' V transposed so each sample column serves eight bins at once: roiAlignForwardRows).
// The backward pass is
// the transpose: each bin scatters into a row buffer G, then every sample row receives hy·G and ly·G
// over the span. Float32 arithmetic throughout (the reference sums in float64): see the bounds in
// test/backends/wasm-region.test.ts.
//
// Below: RoIPool forward/backward and fractional max pooling's forward (exact, see their notes).
import { laneSteps, ldf, ldi, stf, sti } from "./util";

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
 * y[r][c][i][j] = (1 / count[r]) Σ over bin (i, j)'s samples of the bilinear value of x[batch[r]][c],
 * for channels [c0, c0 + Cn) of C: x (`[N, C, H, W]`) and y (`[K, C, ph, pw]`) already offset to channel
 * c0, so threads take disjoint channel ranges. Channels outside, RoIs inside: all RoIs of a channel read
 * the same few planes while they are in cache. Axis arrays (y: rows, x: columns): off/grid per RoI,
 * low/high/wLow/wHigh per sample (low < 0: the sample is outside the map and reads 0). span: per RoI
 * the columns [lo, hi) any sample reads. buf: scratch of W floats.
 */
export function roiAlignForward(
  x: usize, y: usize, K: i32, Cn: i32, C: i32, H: i32, W: i32, ph: i32, pw: i32, batch: usize, count: usize,
  yOff: usize, yGrid: usize, yLow: usize, yHigh: usize, yW0: usize, yW1: usize,
  xOff: usize, xGrid: usize, xLow: usize, xHigh: usize, xW0: usize, xW1: usize,
  span: usize, buf: usize,
): void {
  if (ASC_FEATURE_SIMD) {
    roiAlignForwardRows(x, y, K, Cn, C, H, W, ph, pw, batch, count, yOff, yGrid, yLow, yHigh, yW0, yW1, xOff, xGrid, xLow, xHigh, xW0, xW1, span, buf);
    return;
  }
  const plane = H * W;
  for (let c = 0; c < Cn; c++) {
    for (let r = 0; r < K; r++) {
      const b = ldi(batch, r);
      const gh = ldi(yGrid, r);
      const gw = ldi(xGrid, r);
      const yo = ldi(yOff, r);
      const xo = ldi(xOff, r);
      const inv = ldf(count, r);
      const lo = ldi(span, 2 * r);
      const hi = ldi(span, 2 * r + 1);
      const xp = x + ((<usize>(b * C + c) * <usize>plane) << 2);
      let o = (r * C + c) * ph * pw;
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

/**
 * {@link roiAlignForward} in the SIMD build, eight bin rows at a time, one per lane. For a group of
 * bin rows i0..i0+7 the sample rows of each bin row i are blended over the RoI's column span as in the
 * scalar build (V_i[col] = Σ_iy (hy·x[yl][col] + ly·x[yh][col]), 4 columns per step, the same float32
 * operations in the same order), and stored transposed: T[col] holds V_i0..V_i0+7 at that column (two
 * vectors). Each bin column j then takes Σ_ix (hx·T[xl] + lx·T[xh]) for all eight bin rows at once —
 * the per-sample work of the horizontal pass (indices, weights) is shared by the eight rows. Same
 * roundings as the scalar build per output. buf: 8·W floats (T), zeroed here so lanes past ph read 0.
 */
function roiAlignForwardRows(
  x: usize, y: usize, K: i32, Cn: i32, C: i32, H: i32, W: i32, ph: i32, pw: i32, batch: usize, count: usize,
  yOff: usize, yGrid: usize, yLow: usize, yHigh: usize, yW0: usize, yW1: usize,
  xOff: usize, xGrid: usize, xLow: usize, xHigh: usize, xW0: usize, xW1: usize,
  span: usize, buf: usize,
): void {
  const plane = H * W;
  const bins = ph * pw;
  const stride = (<usize>pw) << 2;
  memory.fill(buf, 0, (<usize>W) << 5);
  for (let c = 0; c < Cn; c++) {
    for (let r = 0; r < K; r++) {
      const b = ldi(batch, r);
      const gh = ldi(yGrid, r);
      const gw = ldi(xGrid, r);
      const yo = ldi(yOff, r);
      const xo = ldi(xOff, r);
      const inv = f32x4.splat(ldf(count, r));
      const lo = ldi(span, 2 * r);
      const hi = ldi(span, 2 * r + 1);
      const xp = x + ((<usize>(b * C + c) * <usize>plane) << 2);
      const yr = y + ((<usize>((r * C + c) * bins)) << 2);
      if (hi <= lo) {
        // no sample column inside the map: every bin is 0 / count
        memory.fill(yr, 0, (<usize>bins) << 2);
        continue;
      }
      for (let i0 = 0; i0 < ph; i0 += 8) {
        const rows = min(8, ph - i0);
        for (let k = 0; k < rows; k++) blendColumn(xp, W, gh, yo + (i0 + k) * gh, yLow, yHigh, yW0, yW1, lo, hi, buf + ((<usize>k) << 2));
        const yb = yr + ((<usize>(i0 * pw)) << 2);
        for (let j = 0; j < pw; j++) {
          let a0 = f32x4.splat(0);
          let a1 = f32x4.splat(0);
          for (let ix = 0; ix < gw; ix++) {
            const sx = xo + j * gw + ix;
            const xl = ldi(xLow, sx);
            if (xl < 0) continue;
            const hx = f32x4.splat(ldf(xW0, sx));
            const lx = f32x4.splat(ldf(xW1, sx));
            const pl = buf + ((<usize>xl) << 5);
            const pr = buf + ((<usize>ldi(xHigh, sx)) << 5);
            a0 = f32x4.add(a0, f32x4.add(f32x4.mul(hx, v128.load(pl)), f32x4.mul(lx, v128.load(pr))));
            a1 = f32x4.add(a1, f32x4.add(f32x4.mul(hx, v128.load(pl, 16)), f32x4.mul(lx, v128.load(pr, 16))));
          }
          a0 = f32x4.div(a0, inv);
          a1 = f32x4.div(a1, inv);
          const q = yb + ((<usize>j) << 2);
          v128.store32_lane(q, a0, 0);
          if (rows > 1) v128.store32_lane(q + stride, a0, 1);
          if (rows > 2) v128.store32_lane(q + 2 * stride, a0, 2);
          if (rows > 3) v128.store32_lane(q + 3 * stride, a0, 3);
          if (rows > 4) v128.store32_lane(q + 4 * stride, a1, 0);
          if (rows > 5) v128.store32_lane(q + 5 * stride, a1, 1);
          if (rows > 6) v128.store32_lane(q + 6 * stride, a1, 2);
          if (rows > 7) v128.store32_lane(q + 7 * stride, a1, 3);
        }
      }
    }
  }
}

/**
 * One bin row's blended sample rows V[col] = Σ_iy (hy·x[yl][col] + ly·x[yh][col]) (samples with yl < 0
 * skipped; none in range: 0) for the columns [lo, hi), written to t[col·8] (t = T offset to the row's
 * lane). Four columns per step; the last step is moved left to end inside the row (its extra columns are
 * never read). The first two samples are blended in one expression, later ones added in order — the
 * scalar build's roundings (0 + s0 = s0 and then + s1, …).
 */
// @ts-ignore: decorator
@inline function blendColumn(
  xp: usize, W: i32, gh: i32, s0: i32, yLow: usize, yHigh: usize, yW0: usize, yW1: usize, lo: i32, hi: i32, t: usize,
): void {
  // the first two samples in range
  let n = 0;
  let a: usize = 0, bb: usize = 0, c2: usize = 0, d: usize = 0;
  let h0: f32 = 0, l0: f32 = 0, h1: f32 = 0, l1: f32 = 0;
  let rest = s0 + gh;
  for (let s = s0; s < s0 + gh; s++) {
    const yl = ldi(yLow, s);
    if (yl < 0) continue;
    const pa = xp + ((<usize>(yl * W)) << 2);
    const pb = xp + ((<usize>(ldi(yHigh, s) * W)) << 2);
    if (n == 0) {
      a = pa; bb = pb; h0 = ldf(yW0, s); l0 = ldf(yW1, s);
    } else {
      c2 = pa; d = pb; h1 = ldf(yW0, s); l1 = ldf(yW1, s);
      rest = s + 1;
      n = 2;
      break;
    }
    n = 1;
  }
  if (n == 0) {
    for (let col = lo; col < hi; col++) store<f32>(t + ((<usize>col) << 5), 0);
    return;
  }
  if (W < 4) {
    for (let col = lo; col < hi; col++) {
      let v = h0 * ldf(a, col) + l0 * ldf(bb, col);
      if (n == 2) v = v + (h1 * ldf(c2, col) + l1 * ldf(d, col));
      for (let s = rest; s < s0 + gh; s++) {
        const yl = ldi(yLow, s);
        if (yl < 0) continue;
        v = v + (ldf(yW0, s) * ldf(xp, yl * W + col) + ldf(yW1, s) * ldf(xp, ldi(yHigh, s) * W + col));
      }
      store<f32>(t + ((<usize>col) << 5), v);
    }
    return;
  }
  const vh0 = f32x4.splat(h0), vl0 = f32x4.splat(l0), vh1 = f32x4.splat(h1), vl1 = f32x4.splat(l1);
  // every block but the last (which may move left), with running pointers: the common cases
  let c0 = lo;
  if (hi - lo > 4 && rest >= s0 + gh) {
    const full = lo + (((hi - lo - 1) >> 2) << 2); // the last block's start
    let o = (<usize>lo) << 2;
    let q = t + ((<usize>lo) << 5);
    const oEnd = (<usize>full) << 2;
    if (n == 2) {
      for (; o < oEnd; o += 16, q += 128) {
        const v = f32x4.add(
          f32x4.add(f32x4.mul(vh0, v128.load(a + o)), f32x4.mul(vl0, v128.load(bb + o))),
          f32x4.add(f32x4.mul(vh1, v128.load(c2 + o)), f32x4.mul(vl1, v128.load(d + o))),
        );
        v128.store32_lane(q, v, 0);
        v128.store32_lane(q, v, 1, 32);
        v128.store32_lane(q, v, 2, 64);
        v128.store32_lane(q, v, 3, 96);
      }
    } else {
      for (; o < oEnd; o += 16, q += 128) {
        const v = f32x4.add(f32x4.mul(vh0, v128.load(a + o)), f32x4.mul(vl0, v128.load(bb + o)));
        v128.store32_lane(q, v, 0);
        v128.store32_lane(q, v, 1, 32);
        v128.store32_lane(q, v, 2, 64);
        v128.store32_lane(q, v, 3, 96);
      }
    }
    c0 = full;
  }
  for (; c0 < hi; c0 += 4) {
    const col = min(c0, W - 4);
    const o = (<usize>col) << 2;
    let v = f32x4.add(f32x4.mul(vh0, v128.load(a + o)), f32x4.mul(vl0, v128.load(bb + o)));
    if (n == 2) {
      v = f32x4.add(v, f32x4.add(f32x4.mul(vh1, v128.load(c2 + o)), f32x4.mul(vl1, v128.load(d + o))));
      for (let s = rest; s < s0 + gh; s++) {
        const yl = ldi(yLow, s);
        if (yl < 0) continue;
        const pa = xp + ((<usize>(yl * W)) << 2) + o;
        const pb = xp + ((<usize>(ldi(yHigh, s) * W)) << 2) + o;
        v = f32x4.add(v, f32x4.add(f32x4.mul(f32x4.splat(ldf(yW0, s)), v128.load(pa)), f32x4.mul(f32x4.splat(ldf(yW1, s)), v128.load(pb))));
      }
    }
    const q = t + ((<usize>col) << 5);
    v128.store32_lane(q, v, 0);
    v128.store32_lane(q + 32, v, 1);
    v128.store32_lane(q + 64, v, 2);
    v128.store32_lane(q + 96, v, 3);
  }
}

/**
 * dx += the transpose of {@link roiAlignForward} applied to dy (dx zero-filled by the caller), for
 * channels [c0, c0 + Cn) of C: dy (`[K, C, ph, pw]`) and dx (`[N, C, H, W]`) already offset to channel c0,
 * so threads take disjoint channel ranges; each dx element gets its additions in the same order (RoIs
 * ascending) whatever the split.
 */
export function roiAlignBackward(
  dy: usize, dx: usize, K: i32, Cn: i32, C: i32, H: i32, W: i32, ph: i32, pw: i32, batch: usize, count: usize,
  yOff: usize, yGrid: usize, yLow: usize, yHigh: usize, yW0: usize, yW1: usize,
  xOff: usize, xGrid: usize, xLow: usize, xHigh: usize, xW0: usize, xW1: usize,
  span: usize, buf: usize,
): void {
  const plane = H * W;
  for (let c = 0; c < Cn; c++) {
    for (let r = 0; r < K; r++) {
      const b = ldi(batch, r);
      const gh = ldi(yGrid, r);
      const gw = ldi(xGrid, r);
      const yo = ldi(yOff, r);
      const xo = ldi(xOff, r);
      const inv = ldf(count, r);
      const lo = ldi(span, 2 * r);
      const hi = ldi(span, 2 * r + 1);
      const dp = dx + ((<usize>(b * C + c) * <usize>plane) << 2);
      let o = (r * C + c) * ph * pw;
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

// ---------------------------------------------------------------------------------------------------
// RoIPool (float32), forward and backward: counterparts of roiPoolForward/roiPoolBackward in
// src/kernels/region.ts, on the same plan (src/geometry/roi.ts: torchvision's integer bins, per RoI).
//
// The forward is separable and exact. The reference scans a bin row-major with a strict `>` from
// −FLT_MAX, so its result is the maximum and, among the elements equal to it, the one with the
// smallest flat index h·W + w (row-major order is flat-index order); NaN and values ≤ −FLT_MAX are never
// selected (then the result stays (−FLT_MAX, −1)). For each row of bins the kernel first reduces the
// bin rows column by column over the RoI's whole column span (4 columns per SIMD step, the same strict
// `>` scan per lane: each column's first maximum top to bottom, or (−FLT_MAX, −1)), then each bin
// combines its columns: larger value wins, equal values go to the smaller flat index — which is the
// reference's pick. The stored value is the selected element itself (never a computed max), so ±0
// come out as the reference has them.

const NEG_FLT_MAX: f32 = -3.4028234663852886e38;

/** Column candidates over rows [h0, h1) and columns [lo, hi) of plane xp: cv[w] = first maximum (strict `>` from −FLT_MAX), ci[w] its flat index or −1. */
// @ts-ignore: decorator
@inline function columnFirstMax(xp: usize, W: i32, h0: i32, h1: i32, lo: i32, hi: i32, cv: usize, ci: usize): void {
  let w = lo;
  if (ASC_FEATURE_SIMD) {
    if (hi - lo >= 4) {
      const lane = laneSteps(1);
      const floor = f32x4.splat(NEG_FLT_MAX);
      const none = i32x4.splat(-1);
      while (w < hi) {
        if (w + 4 > hi) w = hi - 4; // the last block ends at hi (recomputes a few columns identically)
        let best = floor;
        let bi = none;
        for (let h = h0; h < h1; h++) {
          const q = h * W + w;
          const v = v128.load(xp + ((<usize>q) << 2));
          const m = f32x4.gt(v, best);
          best = v128.bitselect(v, best, m);
          bi = v128.bitselect(i32x4.add(i32x4.splat(q), lane), bi, m);
        }
        v128.store(cv + ((<usize>w) << 2), best);
        v128.store(ci + ((<usize>w) << 2), bi);
        w += 4;
      }
      return;
    }
  }
  for (; w < hi; w++) {
    let best = NEG_FLT_MAX;
    let bi = -1;
    for (let h = h0; h < h1; h++) {
      const q = h * W + w;
      const v = ldf(xp, q);
      if (v > best) {
        best = v;
        bi = q;
      }
    }
    stf(cv, w, best);
    sti(ci, w, bi);
  }
}

/**
 * {@link roiPoolForward} for channels c..c+3 together, lane k = channel c + k (SIMD build only): the same
 * column-wise strict `>` scan and the same column combination per lane, so the same values and indices
 * as the one-channel path. cv/ci (in buf): per column the 4 lanes' candidates, 16 bytes each.
 */
function roiPoolQuad(
  x: usize, y: usize, arg: usize, K: i32, c: i32, C: i32, W: i32, plane: i32, ph: i32, pw: i32,
  batch: usize, hS: usize, hE: usize, wS: usize, wE: usize, span: usize, buf: usize, wide: bool,
): void {
  const cv = buf;
  const ci = buf + ((<usize>W) << 4);
  const pb = (<usize>plane) << 2;
  const bins = ph * pw;
  const floor = f32x4.splat(NEG_FLT_MAX);
  const none = i32x4.splat(-1);
  for (let r = 0; r < K; r++) {
    const b = ldi(batch, r);
    const lo = ldi(span, 2 * r);
    const hi = ldi(span, 2 * r + 1);
    const x0 = x + ((<usize>(b * C + c) * <usize>plane) << 2);
    let o = (r * C + c) * bins;
    for (let i = 0; i < ph; i++) {
      const h0 = ldi(hS, r * ph + i);
      const h1 = ldi(hE, r * ph + i);
      const live = h1 > h0 && hi > lo;
      if (live) {
        for (let w = lo; w < hi; w++) {
          let best = floor;
          let bi = none;
          for (let h = h0; h < h1; h++) {
            const q = h * W + w;
            const p = x0 + ((<usize>q) << 2);
            let v = v128.load32_splat(p);
            v = v128.load32_lane(p + pb, v, 1);
            v = v128.load32_lane(p + 2 * pb, v, 2);
            v = v128.load32_lane(p + 3 * pb, v, 3);
            const m = f32x4.gt(v, best);
            best = v128.bitselect(v, best, m);
            bi = v128.bitselect(i32x4.splat(q), bi, m);
          }
          v128.store(cv + ((<usize>w) << 4), best);
          v128.store(ci + ((<usize>w) << 4), bi);
        }
      }
      for (let j = 0; j < pw; j++) {
        const w0 = ldi(wS, r * pw + j);
        const w1 = ldi(wE, r * pw + j);
        let best = f32x4.splat(0);
        let bi = none;
        if (live && w1 > w0) {
          best = v128.load(cv + ((<usize>w0) << 4));
          bi = v128.load(ci + ((<usize>w0) << 4));
          for (let w = w0 + 1; w < w1; w++) {
            const v = v128.load(cv + ((<usize>w) << 4));
            const q = v128.load(ci + ((<usize>w) << 4));
            // larger value, or equal and a smaller index (−1 is the largest as unsigned)
            const m = v128.or(f32x4.gt(v, best), v128.and(f32x4.eq(v, best), i32x4.lt_u(q, bi)));
            best = v128.bitselect(v, best, m);
            bi = v128.bitselect(q, bi, m);
          }
        }
        const yo = y + ((<usize>o) << 2);
        const step = (<usize>bins) << 2;
        v128.store32_lane(yo, best, 0);
        v128.store32_lane(yo + step, best, 1);
        v128.store32_lane(yo + 2 * step, best, 2);
        v128.store32_lane(yo + 3 * step, best, 3);
        if (wide) {
          const ao = arg + ((<usize>o) << 2);
          v128.store32_lane(ao, bi, 0);
          v128.store32_lane(ao + step, bi, 1);
          v128.store32_lane(ao + 2 * step, bi, 2);
          v128.store32_lane(ao + 3 * step, bi, 3);
        } else {
          // 16-bit entries: the low halves of the four lanes (i16x8 lanes 0, 2, 4, 6); −1 → 0xFFFF
          const ao = arg + ((<usize>o) << 1);
          const half = (<usize>bins) << 1;
          v128.store16_lane(ao, bi, 0);
          v128.store16_lane(ao + half, bi, 2);
          v128.store16_lane(ao + 2 * half, bi, 4);
          v128.store16_lane(ao + 3 * half, bi, 6);
        }
        o++;
      }
    }
  }
}

/** Store argmax entry o: int32 (wide) or its low 16 bits (−1 → 0xFFFF; see roiArgCompact in src/kernels/region.ts). */
// @ts-ignore: decorator
@inline function putArg(arg: usize, o: i32, v: i32, wide: bool): void {
  if (wide) sti(arg, o, v);
  else store<u16>(arg + ((<usize>o) << 1), <u16>v);
}

/**
 * RoIPool forward: y[r][c][i][j] = max over bin (i, j) of RoI r (rows [hS, hE) × columns [wS, wE) at
 * r·ph + i and r·pw + j), arg = its flat in-plane index; an empty bin gives (0, none), a bin with nothing
 * above −FLT_MAX (−FLT_MAX, none). arg entries: int32 with none = −1 when `wide`, else uint16 with
 * none = 0xFFFF (H·W ≤ 65535: roiArgCompact in src/kernels/region.ts). Channels [c0, c0 + Cn) of C:
 * x (`[N, C, H, W]`), y and arg (`[K, C, ph, pw]`) already offset to channel c0; channels outside, RoIs
 * inside (all RoIs of a channel read the same few planes while they are in cache). span: per RoI the
 * columns [lo, hi) its non-empty bins read. buf: scratch of 8·W words (2·W in the scalar build's path;
 * the SIMD build takes 4 channels at a time, one per lane).
 */
export function roiPoolForward(
  x: usize, y: usize, arg: usize, K: i32, Cn: i32, C: i32, H: i32, W: i32, ph: i32, pw: i32,
  batch: usize, hS: usize, hE: usize, wS: usize, wE: usize, span: usize, buf: usize, wide: bool,
): void {
  const plane = H * W;
  const cv = buf;
  const ci = buf + ((<usize>W) << 2);
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    // four channels at once, one per lane (buf holds 8·W words here: cv and ci as 4-lane rows)
    for (; c + 4 <= Cn; c += 4) roiPoolQuad(x, y, arg, K, c, C, W, plane, ph, pw, batch, hS, hE, wS, wE, span, buf, wide);
  }
  for (; c < Cn; c++) {
    for (let r = 0; r < K; r++) {
      const b = ldi(batch, r);
      const lo = ldi(span, 2 * r);
      const hi = ldi(span, 2 * r + 1);
      const xp = x + ((<usize>(b * C + c) * <usize>plane) << 2);
      let o = (r * C + c) * ph * pw;
      for (let i = 0; i < ph; i++) {
        const h0 = ldi(hS, r * ph + i);
        const h1 = ldi(hE, r * ph + i);
        if (h1 <= h0 || hi <= lo) {
          for (let j = 0; j < pw; j++) {
            stf(y, o, 0);
            putArg(arg, o, -1, wide);
            o++;
          }
          continue;
        }
        columnFirstMax(xp, W, h0, h1, lo, hi, cv, ci);
        for (let j = 0; j < pw; j++) {
          const w0 = ldi(wS, r * pw + j);
          const w1 = ldi(wE, r * pw + j);
          let best: f32 = 0;
          let bi = -1;
          if (w1 > w0) {
            best = ldf(cv, w0);
            bi = ldi(ci, w0);
            for (let w = w0 + 1; w < w1; w++) {
              const v = ldf(cv, w);
              const q = ldi(ci, w);
              // −1 is the largest as unsigned: a column without a candidate never wins a tie
              if (v > best || (v == best && <u32>q < <u32>bi)) {
                best = v;
                bi = q;
              }
            }
          }
          stf(y, o, best);
          putArg(arg, o, bi, wide);
          o++;
        }
      }
    }
  }
}

/**
 * RoIPool backward for channels [c0, c0 + Cn) of C: dx = 0 (its contents on entry ignored), then
 * dx[b][c].flat[arg] += dy, skipping none, RoIs in order for each channel (the reference's order of
 * additions into each element). arg entries as the forward wrote them: uint16, none = 0xFFFF (half the
 * bytes of int32), or int32, none = −1, when `wide`. Channels are taken g at a time (g ≤ 8, and the
 * group's N·g planes within {@link ROI_GROUP_BYTES}): their planes are zeroed just before the group's
 * scatter, while they fit in L2 (no separate pass over dx), and each RoI's bins of the group's channels
 * lie next to each other in dy and arg (one contiguous run of g·ph·pw elements per RoI instead of runs of
 * ph·pw elements C·ph·pw apart: fewer cache lines fetched twice, more of them in flight). Within a group
 * the order of additions into any one element is unchanged (an element belongs to one channel; RoIs in
 * order, bins in order). dy and arg are `[K, C, ph, pw]`, dx `[N, C, H, W]`, all three already offset
 * to channel c0 (so threads can take disjoint channel ranges). The scatter is scalar — a load, an add
 * and a store per bin — and bound by the instructions per bin: one loop per RoI over its run of the
 * group's channels (pointers carried from channel to channel, the ph·pw mod 4 last bins of a channel
 * unrolled), not one call per (RoI, channel) with its setup and loop exits (128 RoIs on [2,256,50,50]
 * → 7×7: 0.91–0.94× the time, 10th percentiles of kernel calls, A/B on one memory on the loaded 2-core
 * host), 16-bit entries read two per 32-bit load. Eight bins per step with one v128 test for 0xFFFF, one
 * 64-bit load of four entries, groups taken batch by batch (fewer planes: L1 instead of L2) and dy read
 * four at a time into a v128 measured no faster; with dx in L1 the scatter is only ~7 % faster.
 */
export function roiPoolBackward(
  dy: usize, arg: usize, dx: usize, K: i32, Cn: i32, C: i32, H: i32, W: i32, ph: i32, pw: i32, batch: usize, N: i32, wide: bool,
): void {
  const plane = H * W;
  const bins = ph * pw;
  const G = <i32>min<i64>(8, max<i64>(1, <i64>ROI_GROUP_BYTES / (<i64>N * <i64>plane * 4 + 1)));
  const pb = (<usize>plane) << 2;
  for (let c0 = 0; c0 < Cn; c0 += G) {
    const g = min<i32>(G, Cn - c0);
    for (let b = 0; b < N; b++) memory.fill(dx + ((<usize>(b * C + c0) * <usize>plane) << 2), 0, (<usize>(g * plane)) << 2);
    for (let r = 0; r < K; r++) {
      const dp = dx + ((<usize>(ldi(batch, r) * C + c0) * <usize>plane) << 2);
      const o = (r * C + c0) * bins;
      if (wide) roiPoolScatter32(dy + ((<usize>o) << 2), arg + ((<usize>o) << 2), dp, pb, g, bins);
      else roiPoolScatter16(dy + ((<usize>o) << 2), arg + ((<usize>o) << 1), dp, pb, g, bins);
    }
  }
}

/**
 * The most dx bytes one {@link roiPoolBackward} channel group zeroes and scatters into (kept in L2).
 * 192 KiB: 128 RoIs on [2,256,50,50] → 7×7 take groups of 8 channels (160 KB) instead of 6, runs of
 * 8·49 bins read per RoI — 2–8 % faster there (10th percentiles of calls, A/B in one process, 2-core host);
 * one channel per group (runs of 49 bins, C·49 floats apart) measured 3.5× slower.
 */
const ROI_GROUP_BYTES: i64 = 192 * 1024;

/** dp.flat[a] += dy at pd (a: an in-plane index). */
// @ts-ignore: decorator
@inline function addAt(dp: usize, a: u32, pd: usize): void {
  const q = dp + ((<usize>a) << 2);
  store<f32>(q, load<f32>(q) + load<f32>(pd));
}

/**
 * For channel k < g of one RoI: plane dp + k·pb gets flat[arg[j]] += dy[j] for its bins j in order,
 * skipping 0xFFFF (16-bit entries); the g channels' bins are one run at pa (entries) and pd (dy).
 */
// @ts-ignore: decorator
@inline function roiPoolScatter16(pd: usize, pa: usize, dp: usize, pb: usize, g: i32, bins: i32): void {
  const quads = (<usize>(bins >> 2)) << 3; // entry bytes of a channel's whole steps of four bins
  const rem = bins & 3;
  for (let c = 0; c < g; c++, dp += pb) {
    const end = pa + quads;
    for (; pa < end; pa += 8, pd += 16) {
      const e0 = load<u32>(pa);
      const e1 = load<u32>(pa, 4);
      const a0 = e0 & 0xffff;
      const a1 = e0 >> 16;
      const a2 = e1 & 0xffff;
      const a3 = e1 >> 16;
      if (a0 != 0xffff) addAt(dp, a0, pd);
      if (a1 != 0xffff) addAt(dp, a1, pd + 4);
      if (a2 != 0xffff) addAt(dp, a2, pd + 8);
      if (a3 != 0xffff) addAt(dp, a3, pd + 12);
    }
    if (rem >= 1) {
      const a = <u32>load<u16>(pa);
      if (a != 0xffff) addAt(dp, a, pd);
    }
    if (rem >= 2) {
      const a = <u32>load<u16>(pa, 2);
      if (a != 0xffff) addAt(dp, a, pd + 4);
    }
    if (rem == 3) {
      const a = <u32>load<u16>(pa, 4);
      if (a != 0xffff) addAt(dp, a, pd + 8);
    }
    pa += (<usize>rem) << 1;
    pd += (<usize>rem) << 2;
  }
}

/** {@link roiPoolScatter16} for int32 entries (none = −1). */
// @ts-ignore: decorator
@inline function roiPoolScatter32(pd: usize, pa: usize, dp: usize, pb: usize, g: i32, bins: i32): void {
  const quads = (<usize>(bins >> 2)) << 4;
  const rem = bins & 3;
  for (let c = 0; c < g; c++, dp += pb) {
    const end = pa + quads;
    for (; pa < end; pa += 16, pd += 16) {
      const a0 = load<i32>(pa);
      const a1 = load<i32>(pa, 4);
      const a2 = load<i32>(pa, 8);
      const a3 = load<i32>(pa, 12);
      if (a0 >= 0) addAt(dp, <u32>a0, pd);
      if (a1 >= 0) addAt(dp, <u32>a1, pd + 4);
      if (a2 >= 0) addAt(dp, <u32>a2, pd + 8);
      if (a3 >= 0) addAt(dp, <u32>a3, pd + 12);
    }
    if (rem >= 1) {
      const a = load<i32>(pa);
      if (a >= 0) addAt(dp, <u32>a, pd);
    }
    if (rem >= 2) {
      const a = load<i32>(pa, 4);
      if (a >= 0) addAt(dp, <u32>a, pd + 4);
    }
    if (rem == 3) {
      const a = load<i32>(pa, 8);
      if (a >= 0) addAt(dp, <u32>a, pd + 8);
    }
    pa += (<usize>rem) << 2;
    pd += (<usize>rem) << 2;
  }
}

// ---------------------------------------------------------------------------------------------------
// Fractional max pooling's forward (float32, 2-d and 3-d): the counterpart of fractionalMaxForward in
// src/kernels/window.ts (PyTorch's rule per window: scan d, h, w in order, replace when
// `v > best || isnan(v)` from (−∞, first tap)). Each plane has its own window starts (one per output
// index and axis, src/geometry/fractional.ts); every window is kd × kh × kw.
//
// Separable and exact like RoIPool above: for an output row (od, oh) the kernel scans the window's kd·kh
// input rows column by column over the plane's column span (SIMD, PyTorch's rule per lane, started from
// the first row — the same as from −∞: the first comparison replaces exactly when the value is not −∞,
// and a −∞ first row leaves (−∞, its index) either way), giving per column the last NaN, else the first
// maximum top to bottom. A window then combines its kw columns into the reference's pick (see `takes`):
// with a NaN, the NaN of largest flat index (the last one the row-major scan meets); else the maximum of
// smallest flat index (the first one it meets; all −∞ gives the first tap).

/** cv[w], ci[w] for w in [lo, hi): PyTorch's scan down the rows (d, h) ∈ [d0, d0+kd) × [h0, h0+kh) of plane xp. */
// @ts-ignore: decorator
@inline function columnScan(xp: usize, H: i32, W: i32, d0: i32, kd: i32, h0: i32, kh: i32, lo: i32, hi: i32, cv: usize, ci: usize): void {
  let w = lo;
  const first = (d0 * H + h0) * W;
  if (ASC_FEATURE_SIMD) {
    if (hi - lo >= 4) {
      const lane = laneSteps(1);
      while (w < hi) {
        if (w + 4 > hi) w = hi - 4;
        let best = v128.load(xp + ((<usize>(first + w)) << 2));
        let bi = i32x4.add(i32x4.splat(first + w), lane);
        for (let d = d0; d < d0 + kd; d++) {
          for (let h = select<i32>(h0 + 1, h0, d == d0); h < h0 + kh; h++) {
            const q = (d * H + h) * W + w;
            const v = v128.load(xp + ((<usize>q) << 2));
            const m = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
            best = v128.bitselect(v, best, m);
            bi = v128.bitselect(i32x4.add(i32x4.splat(q), lane), bi, m);
          }
        }
        v128.store(cv + ((<usize>w) << 2), best);
        v128.store(ci + ((<usize>w) << 2), bi);
        w += 4;
      }
      return;
    }
  }
  for (; w < hi; w++) {
    let best = ldf(xp, first + w);
    let bi = first + w;
    for (let d = d0; d < d0 + kd; d++) {
      for (let h = select<i32>(h0 + 1, h0, d == d0); h < h0 + kh; h++) {
        const q = (d * H + h) * W + w;
        const v = ldf(xp, q);
        if (v > best || v != v) {
          best = v;
          bi = q;
        }
      }
    }
    stf(cv, w, best);
    sti(ci, w, bi);
  }
}

/**
 * Whether candidate b replaces candidate a in PyTorch's scan order: a NaN beats every number and a later
 * NaN (larger flat index) beats an earlier one; among numbers the larger wins and equal values go to the
 * smaller flat index. Candidates come from distinct columns (distinct indices), so this is a strict
 * total order — combining is associative, commutative and idempotent (overlapping ranges are fine).
 */
// @ts-ignore: decorator
@inline function takes(va: f32, ia: i32, vb: f32, ib: i32): bool {
  return va != va ? vb != vb && ib > ia : vb != vb || vb > va || (vb == va && ib < ia);
}

/** cv/ci[w] ← the better of columns' candidates w and w + d, for w in [lo, end) ascending (in place: w + d is read before it is written). */
// @ts-ignore: decorator
@inline function pairUp(cv: usize, ci: usize, lo: i32, end: i32, d: i32): void {
  let w = lo;
  if (ASC_FEATURE_SIMD) {
    const off = (<usize>d) << 2;
    for (; w + 4 <= end; w += 4) {
      const pv = cv + ((<usize>w) << 2);
      const pi = ci + ((<usize>w) << 2);
      const va = v128.load(pv);
      const ia = v128.load(pi);
      const vb = v128.load(pv + off);
      const ib = v128.load(pi + off);
      const na = f32x4.ne(va, va);
      const nb = f32x4.ne(vb, vb);
      const later = v128.and(v128.and(na, nb), i32x4.gt_s(ib, ia));
      const better = v128.andnot(v128.or(nb, v128.or(f32x4.gt(vb, va), v128.and(f32x4.eq(vb, va), i32x4.lt_s(ib, ia)))), na);
      const m = v128.or(later, better);
      v128.store(pv, v128.bitselect(vb, va, m));
      v128.store(pi, v128.bitselect(ib, ia, m));
    }
  }
  for (; w < end; w++) {
    const vb = ldf(cv, w + d);
    const ib = ldi(ci, w + d);
    if (takes(ldf(cv, w), ldi(ci, w), vb, ib)) {
      stf(cv, w, vb);
      sti(ci, w, ib);
    }
  }
}

/**
 * Fractional max forward over `planes` planes of D × H × W (2-d: D = oD = kd = 1, dS all 0):
 * y[p][od][oh][ow], idx = flat in-plane index, over the window starting at (dS[p·oD + od],
 * hS[p·oH + oh], wS[p·oW + ow]) of size kd × kh × kw. After the column scan, the candidates are
 * combined by doubling (a sparse table, in place): level L holds the best of columns [w, w + 2^L), so a
 * window of kw columns is one entry (kw a power of 2) or the better of two overlapping ones.
 * buf: scratch of 2·W words.
 */
export function fractionalMaxForward(
  x: usize, y: usize, idx: usize, planes: i32, D: i32, H: i32, W: i32, oD: i32, oH: i32, oW: i32,
  kd: i32, kh: i32, kw: i32, dS: usize, hS: usize, wS: usize, buf: usize,
): void {
  const inPlane = D * H * W;
  const cv = buf;
  const ci = buf + ((<usize>W) << 2);
  let len = 1;
  while (len * 2 <= kw) len *= 2;
  const rest = kw - len;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xp = x + ((<usize>p * <usize>inPlane) << 2);
    const ws = wS + ((<usize>(p * oW)) << 2);
    let lo = W;
    let hi = 0;
    for (let j = 0; j < oW; j++) {
      const s = ldi(ws, j);
      lo = min(lo, s);
      hi = max(hi, s + kw);
    }
    for (let od = 0; od < oD; od++) {
      const d0 = ldi(dS, p * oD + od);
      for (let oh = 0; oh < oH; oh++) {
        const h0 = ldi(hS, p * oH + oh);
        columnScan(xp, H, W, d0, kd, h0, kh, lo, hi, cv, ci);
        for (let d = 1; d < len; d *= 2) pairUp(cv, ci, lo, hi - 2 * d + 1, d);
        for (let j = 0; j < oW; j++) {
          const w0 = ldi(ws, j);
          let best = ldf(cv, w0);
          let bi = ldi(ci, w0);
          if (rest > 0) {
            const v = ldf(cv, w0 + rest);
            const q = ldi(ci, w0 + rest);
            if (takes(best, bi, v, q)) {
              best = v;
              bi = q;
            }
          }
          stf(y, o, best);
          sti(idx, o, bi);
          o++;
        }
      }
    }
  }
}
