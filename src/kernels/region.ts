/**
 * Region kernels: RoIPool (max over each box's integer bins) and RoIAlign (average of bilinear
 * samples over each box's bins), torchvision semantics; DynOPool's max over four bilinear queries
 * per cell of a learned grid (src/ops/dynamicPool.ts). Kernels see typed arrays and a region plan
 * from src/geometry/roi.ts (sizes, batch index per box, bin ranges or sample grids) — never options.
 */
import { NEG_FLT_MAX, type RoiAlignPlan, type RoiPoolPlan } from "../geometry/roi.js";
import type { FloatArray } from "../tensor/dtype.js";

/**
 * Whether RoIPool's saved argmax is 16-bit: when every in-plane index fits below 0xFFFF (H·W ≤ 65535).
 * Then entry o is the uint16 at byte 2·o of the `arg` array (a Uint16Array view; WebAssembly reads it
 * little-endian, the byte order of every platform poolkit runs on), 0xFFFF = none — half the bytes for
 * the backward to read; else entry o is the int32 arg[o], −1 = none.
 */
export function roiArgCompact(p: RoiPoolPlan): boolean {
  return p.h * p.w <= 0xffff;
}

/** The int32 words of RoIPool's saved argmax: K·C·ph·pw entries, two per word when {@link roiArgCompact}. */
export function roiArgWords(p: RoiPoolPlan): number {
  const n = p.k * p.c * p.ph * p.pw;
  return roiArgCompact(p) ? Math.ceil(n / 2) : n;
}

/** The entries of a saved argmax `arg` ({@link roiArgWords} words at least) as written by {@link roiPoolForward}. */
function argEntries(arg: Int32Array, p: RoiPoolPlan): Uint16Array | Int32Array {
  return roiArgCompact(p) ? new Uint16Array(arg.buffer, arg.byteOffset, p.k * p.c * p.ph * p.pw) : arg;
}

/**
 * y[r, c, i, j] = max over bin (i, j) of RoI r; argmax[r, c, i, j] = flat in-plane index (h·W + w) or
 * none, saved in `arg` as {@link roiArgCompact} says (16-bit, 0xFFFF = none, or int32, −1 = none).
 * Scans rows then columns with a strict `>`: ties keep the first maximum and NaN is never selected.
 * An empty bin gives 0; a non-empty bin with no value above −FLT_MAX gives −FLT_MAX (torchvision).
 */
export function roiPoolForward(x: FloatArray, y: FloatArray, arg: Int32Array, p: RoiPoolPlan): void {
  const { k, c: C, h: H, w: W, ph, pw, batch, hStart, hEnd, wStart, wEnd } = p;
  const plane = H * W;
  const saved = argEntries(arg, p);
  const none = roiArgCompact(p) ? 0xffff : -1;
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
          let bi = none;
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
          saved[o] = bi;
        }
      }
    }
  }
}

/** dx = 0 (its contents on entry ignored), then dx[b, c].flat[argmax] += dy, skipping none; accumulates over overlapping bins and RoIs. */
export function roiPoolBackward(dy: FloatArray, arg: Int32Array, dx: FloatArray, p: RoiPoolPlan): void {
  const { k, c: C, h: H, w: W, ph, pw, batch } = p;
  const saved = argEntries(arg, p);
  const none = roiArgCompact(p) ? 0xffff : -1;
  dx.fill(0);
  const plane = H * W;
  const bins = ph * pw;
  let o = 0;
  for (let r = 0; r < k; r++) {
    const b = batch[r] as number;
    for (let c = 0; c < C; c++) {
      const xo = (b * C + c) * plane;
      for (let q = 0; q < bins; q++, o++) {
        const a = saved[o] as number;
        if (a !== none) dx[xo + a] = (dx[xo + a] as number) + (dy[o] as number);
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

/** One query coordinate in index space (align_corners=False: pixel k is centred at k + 0.5 → index k). */
export function clampCoord(q: number, size: number): number {
  return q < 0 ? 0 : q > size - 1 ? size - 1 : q;
}

/** Bilinear sample at clamped index coordinates (qy, qx); lerp form so a zero weight never touches its corner. */
export function sample(x: FloatArray, xo: number, H: number, W: number, qy: number, qx: number): number {
  const y0 = Math.floor(qy);
  const x0 = Math.floor(qx);
  const y1 = y0 + 1 < H ? y0 + 1 : H - 1;
  const x1 = x0 + 1 < W ? x0 + 1 : W - 1;
  const wy = qy - y0;
  const wx = qx - x0;
  const r0 = xo + y0 * W;
  const a = x[r0 + x0] as number;
  const top = wx === 0 ? a : a + wx * ((x[r0 + x1] as number) - a);
  if (wy === 0) return top;
  const r1 = xo + y1 * W;
  const c = x[r1 + x0] as number;
  const bot = wx === 0 ? c : c + wx * ((x[r1 + x1] as number) - c);
  return top + wy * (bot - top);
}

/**
 * Forward: y = max of the 4 bilinear queries per cell; `win` records the winning query
 * (0..3 = (−δh,−δw), (−δh,+δw), (+δh,−δw), (+δh,+δw); ties → first, NaN wins as in max pooling).
 * `geo` = [r̂h, r̂w, δh, δw].
 */
export function dynamicPoolForward(
  x: FloatArray, y: FloatArray, win: Int32Array, planes: number,
  H: number, W: number, outH: number, outW: number, geo: Float64Array,
): void {
  const rh = geo[0] as number;
  const rw = geo[1] as number;
  const oh = (geo[2] as number) * rh;
  const ow = (geo[3] as number) * rw;
  for (let p = 0; p < planes; p++) {
    const xo = p * H * W;
    let o = p * outH * outW;
    for (let i = 0; i < outH; i++) {
      const cy = (i + 0.5) * rh - 0.5;
      const qa = clampCoord(cy - oh, H);
      const qb = clampCoord(cy + oh, H);
      for (let j = 0; j < outW; j++) {
        const cx = (j + 0.5) * rw - 0.5;
        const qc = clampCoord(cx - ow, W);
        const qd = clampCoord(cx + ow, W);
        let best = sample(x, xo, H, W, qa, qc);
        let bi = 0;
        let v = sample(x, xo, H, W, qa, qd);
        if (v > best || v !== v) { best = v; bi = 1; }
        v = sample(x, xo, H, W, qb, qc);
        if (v > best || v !== v) { best = v; bi = 2; }
        v = sample(x, xo, H, W, qb, qd);
        if (v > best || v !== v) { best = v; bi = 3; }
        y[o] = best;
        win[o] = bi;
        o++;
      }
    }
  }
}

/**
 * Backward through the winning query of each cell: to its 4 pixels by the bilinear weights, and to
 * its coordinates q = (i + ½)·r̂ ± δ·r̂ − ½ (zero where the clamp to [0, size − 1] is active), hence to
 * r̂ (∂q/∂r̂ = i + ½ ± δ, straight-through to r) and δ (∂q/∂δ = ±r̂).
 * `gGeo` receives [∂/∂rh, ∂/∂rw, ∂/∂δh, ∂/∂δw] (accumulated).
 */
export function dynamicPoolBackward(
  x: FloatArray, dy: FloatArray, win: Int32Array, dx: FloatArray, gGeo: Float64Array, planes: number,
  H: number, W: number, outH: number, outW: number, geo: Float64Array,
): void {
  const rh = geo[0] as number;
  const rw = geo[1] as number;
  const dh = geo[2] as number;
  const dw = geo[3] as number;
  let gRh = 0;
  let gRw = 0;
  let gDh = 0;
  let gDw = 0;
  for (let p = 0; p < planes; p++) {
    const xo = p * H * W;
    let o = p * outH * outW;
    for (let i = 0; i < outH; i++) {
      for (let j = 0; j < outW; j++) {
        const g = dy[o] as number;
        const k = win[o] as number;
        o++;
        const sy = k < 2 ? -1 : 1;
        const sx = (k & 1) === 0 ? -1 : 1;
        const qyRaw = (i + 0.5) * rh + sy * dh * rh - 0.5;
        const qxRaw = (j + 0.5) * rw + sx * dw * rw - 0.5;
        const qy = clampCoord(qyRaw, H);
        const qx = clampCoord(qxRaw, W);
        const y0 = Math.floor(qy);
        const x0 = Math.floor(qx);
        const y1 = y0 + 1 < H ? y0 + 1 : H - 1;
        const x1 = x0 + 1 < W ? x0 + 1 : W - 1;
        const wy = qy - y0;
        const wx = qx - x0;
        const i00 = xo + y0 * W + x0;
        const i01 = xo + y0 * W + x1;
        const i10 = xo + y1 * W + x0;
        const i11 = xo + y1 * W + x1;
        dx[i00] = (dx[i00] as number) + g * (1 - wy) * (1 - wx);
        dx[i01] = (dx[i01] as number) + g * (1 - wy) * wx;
        dx[i10] = (dx[i10] as number) + g * wy * (1 - wx);
        dx[i11] = (dx[i11] as number) + g * wy * wx;
        const v00 = x[i00] as number;
        const v01 = x[i01] as number;
        const v10 = x[i10] as number;
        const v11 = x[i11] as number;
        // clamp's autograd passes the gradient where 0 ≤ q ≤ size − 1 (inclusive), as torch.clamp.
        if (qyRaw >= 0 && qyRaw <= H - 1) {
          const dvdq = g * ((1 - wx) * (v10 - v00) + wx * (v11 - v01));
          gRh += dvdq * (i + 0.5 + sy * dh);
          gDh += dvdq * sy * rh;
        }
        if (qxRaw >= 0 && qxRaw <= W - 1) {
          const dvdq = g * ((1 - wy) * (v01 - v00) + wy * (v11 - v10));
          gRw += dvdq * (j + 0.5 + sx * dw);
          gDw += dvdq * sx * rw;
        }
      }
    }
  }
  gGeo[0] = (gGeo[0] as number) + gRh;
  gGeo[1] = (gGeo[1] as number) + gRw;
  gGeo[2] = (gGeo[2] as number) + gDh;
  gGeo[3] = (gGeo[3] as number) + gDw;
}
