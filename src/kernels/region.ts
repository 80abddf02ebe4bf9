/**
 * Region kernels: RoIPool (max over each box's integer bins) and RoIAlign (average of bilinear
 * samples over each box's bins), torchvision semantics. Kernels see typed arrays and a region plan
 * from src/geometry/roi.ts (sizes, batch index per box, bin ranges or sample grids) — never options.
 */
import { NEG_FLT_MAX, type RoiAlignPlan, type RoiPoolPlan } from "../geometry/roi.js";
import type { FloatArray } from "../tensor/dtype.js";

/**
 * y[r, c, i, j] = max over bin (i, j) of RoI r; argmax[r, c, i, j] = flat in-plane index (h·W + w) or −1.
 * Scans rows then columns with a strict `>`: ties keep the first maximum and NaN is never selected.
 * An empty bin gives 0; a non-empty bin with no value above −FLT_MAX gives −FLT_MAX (torchvision).
 */
export function roiPoolForward(x: FloatArray, y: FloatArray, arg: Int32Array, p: RoiPoolPlan): void {
  const { k, c: C, h: H, w: W, ph, pw, batch, hStart, hEnd, wStart, wEnd } = p;
  const plane = H * W;
  let o = 0;
  for (let r = 0; r < k; r++) {
    const b = batch[r] as number;
    for (let c = 0; c < C; c++) {
      const xo = (b * C + c) * plane;
      for (let i = 0; i < ph; i++) {
        const h0 = hStart[r * ph + i] as number;
        const h1 = hEnd[r * ph + i] as number;
        for (let j = 0; j < pw; j++, o++) {
          const w0 = wStart[r * pw + j] as number;
          const w1 = wEnd[r * pw + j] as number;
          const empty = h1 <= h0 || w1 <= w0;
          let best = empty ? 0 : NEG_FLT_MAX;
          let bi = -1;
          for (let hh = h0; hh < h1; hh++) {
            for (let ww = w0; ww < w1; ww++) {
              const v = x[xo + hh * W + ww] as number;
              if (v > best) {
                best = v;
                bi = hh * W + ww;
              }
            }
          }
          y[o] = best;
          arg[o] = bi;
        }
      }
    }
  }
}

/** dx[b, c].flat[argmax] += dy, skipping argmax −1; accumulates over overlapping bins and RoIs. */
export function roiPoolBackward(dy: FloatArray, arg: Int32Array, dx: FloatArray, p: RoiPoolPlan): void {
  const { k, c: C, h: H, w: W, ph, pw, batch } = p;
  const plane = H * W;
  const bins = ph * pw;
  let o = 0;
  for (let r = 0; r < k; r++) {
    const b = batch[r] as number;
    for (let c = 0; c < C; c++) {
      const xo = (b * C + c) * plane;
      for (let q = 0; q < bins; q++, o++) {
        const a = arg[o] as number;
        if (a >= 0) dx[xo + a] = (dx[xo + a] as number) + (dy[o] as number);
      }
    }
  }
}

/**
 * y[r, c, i, j] = Σ over the bin's samples of bilinear(x plane, y, x) / count[r]. The sample grid is
 * separable (plan.ys × plan.xs), so each sample's four weights are products of per-axis weights.
 */
export function roiAlignForward(x: FloatArray, y: FloatArray, p: RoiAlignPlan): void {
  const { k, c: C, h: H, w: W, ph, pw, batch, ys, xs, count } = p;
  const yLow = ys.low, yHigh = ys.high, yW0 = ys.wLow, yW1 = ys.wHigh;
  const xLow = xs.low, xHigh = xs.high, xW0 = xs.wLow, xW1 = xs.wHigh;
  const plane = H * W;
  let o = 0;
  for (let r = 0; r < k; r++) {
    const b = batch[r] as number;
    const gh = ys.grid[r] as number;
    const gw = xs.grid[r] as number;
    const yo = ys.off[r] as number;
    const xoff = xs.off[r] as number;
    const inv = count[r] as number;
    for (let c = 0; c < C; c++) {
      const base = (b * C + c) * plane;
      for (let i = 0; i < ph; i++) {
        for (let j = 0; j < pw; j++, o++) {
          let acc = 0;
          for (let iy = 0; iy < gh; iy++) {
            const sy = yo + i * gh + iy;
            const yl = yLow[sy] as number;
            if (yl < 0) continue;
            const rl = base + yl * W;
            const rh = base + (yHigh[sy] as number) * W;
            const hy = yW0[sy] as number;
            const ly = yW1[sy] as number;
            for (let ix = 0; ix < gw; ix++) {
              const sx = xoff + j * gw + ix;
              const xl = xLow[sx] as number;
              if (xl < 0) continue;
              const xh = xHigh[sx] as number;
              const hx = xW0[sx] as number;
              const lx = xW1[sx] as number;
              acc +=
                hy * hx * (x[rl + xl] as number) +
                hy * lx * (x[rl + xh] as number) +
                ly * hx * (x[rh + xl] as number) +
                ly * lx * (x[rh + xh] as number);
            }
          }
          y[o] = acc / inv;
        }
      }
    }
  }
}

/** Scatter dy·w/count to the four corners of every in-range sample (coinciding corners add up). */
export function roiAlignBackward(dy: FloatArray, dx: FloatArray, p: RoiAlignPlan): void {
  const { k, c: C, h: H, w: W, ph, pw, batch, ys, xs, count } = p;
  const yLow = ys.low, yHigh = ys.high, yW0 = ys.wLow, yW1 = ys.wHigh;
  const xLow = xs.low, xHigh = xs.high, xW0 = xs.wLow, xW1 = xs.wHigh;
  const plane = H * W;
  let o = 0;
  for (let r = 0; r < k; r++) {
    const b = batch[r] as number;
    const gh = ys.grid[r] as number;
    const gw = xs.grid[r] as number;
    const yo = ys.off[r] as number;
    const xoff = xs.off[r] as number;
    const inv = count[r] as number;
    for (let c = 0; c < C; c++) {
      const base = (b * C + c) * plane;
      for (let i = 0; i < ph; i++) {
        for (let j = 0; j < pw; j++, o++) {
          const g = (dy[o] as number) / inv;
          for (let iy = 0; iy < gh; iy++) {
            const sy = yo + i * gh + iy;
            const yl = yLow[sy] as number;
            if (yl < 0) continue;
            const rl = base + yl * W;
            const rh = base + (yHigh[sy] as number) * W;
            const gy0 = g * (yW0[sy] as number);
            const gy1 = g * (yW1[sy] as number);
            for (let ix = 0; ix < gw; ix++) {
              const sx = xoff + j * gw + ix;
              const xl = xLow[sx] as number;
              if (xl < 0) continue;
              const xh = xHigh[sx] as number;
              const hx = xW0[sx] as number;
              const lx = xW1[sx] as number;
              dx[rl + xl] = (dx[rl + xl] as number) + gy0 * hx;
              dx[rl + xh] = (dx[rl + xh] as number) + gy0 * lx;
              dx[rh + xl] = (dx[rh + xl] as number) + gy1 * hx;
              dx[rh + xh] = (dx[rh + xh] as number) + gy1 * lx;
            }
          }
        }
      }
    }
  }
}
