// The scatter kernels of max pooling's backward (src/kernels/window.ts maxWindowsBackward,
// src/kernels/scatter.ts maxWindowsBackwardWrite) and the remaining float32 kernels, ported loop for
// loop from their TypeScript references so results are bit-identical (the same operations in the
// same order; float64 where the reference computes in JS numbers): max-unpool forward/backward
// (src/ops/maxUnpool.ts), stochastic pooling's evaluation forward/backward (src/ops/stochasticPool.ts)
// and mixed pooling's mix (src/ops/mixedPool.ts). Mostly scatters, gathers and short window scans:
// memory-bound, no SIMD needed to leave the TypeScript loops behind. (RoIPool's kernels are in ./region.)
import { ldd, ldf, ldi, stf, std } from "./util";

/** dx[plane][idx] += dy for every output in output order, one plane at a time; out-of-plane indices are skipped. */
export function maxBackward(dy: usize, idx: usize, dx: usize, planes: i32, inPlane: i32, outPlane: i32): void {
  for (let p = 0; p < planes; p++) scatterPlane(dy, idx, dx + ((<usize>p * <usize>inPlane) << 2), p * outPlane, inPlane, outPlane);
}

/**
 * One plane of {@link maxBackward}: xp[idx[o]] += dy[o] for o = yo .. yo + outPlane − 1, in that
 * order. The SIMD build loads 4 indices and gradients at once and checks their bounds together; the
 * adds stay one at a time in output order (equal indices accumulate as in the reference).
 */
// @ts-ignore: decorator
@inline function scatterPlane(dy: usize, idx: usize, xp: usize, yo: i32, inPlane: i32, outPlane: i32): void {
  const end = yo + outPlane;
  let o = yo;
  if (ASC_FEATURE_SIMD) {
    const lim = i32x4.splat(inPlane);
    for (; o + 4 <= end; o += 4) {
      const iv = v128.load(idx + ((<usize>o) << 2));
      const dv = v128.load(dy + ((<usize>o) << 2));
      if (i32x4.all_true(i32x4.lt_u(iv, lim))) {
        const i0 = i32x4.extract_lane(iv, 0);
        stf(xp, i0, ldf(xp, i0) + f32x4.extract_lane(dv, 0));
        const i1 = i32x4.extract_lane(iv, 1);
        stf(xp, i1, ldf(xp, i1) + f32x4.extract_lane(dv, 1));
        const i2 = i32x4.extract_lane(iv, 2);
        stf(xp, i2, ldf(xp, i2) + f32x4.extract_lane(dv, 2));
        const i3 = i32x4.extract_lane(iv, 3);
        stf(xp, i3, ldf(xp, i3) + f32x4.extract_lane(dv, 3));
      } else {
        for (let j = o; j < o + 4; j++) {
          const i = ldi(idx, j);
          if (<u32>i < <u32>inPlane) stf(xp, i, ldf(xp, i) + ldf(dy, j));
        }
      }
    }
  }
  for (; o < end; o++) {
    const i = ldi(idx, o);
    if (<u32>i < <u32>inPlane) stf(xp, i, ldf(xp, i) + ldf(dy, o));
  }
}

/**
 * dx = 0 (one fill of all planes), then {@link maxBackward}: for a dx that stays in the cache between
 * the two passes, one large fill and the plain scatter beat {@link maxBackwardWrite}'s zeroing ahead.
 */
export function maxBackwardZeroed(dy: usize, idx: usize, dx: usize, planes: i32, inPlane: i32, outPlane: i32): void {
  memory.fill(dx, 0, (<usize>planes * <usize>inPlane) << 2);
  maxBackward(dy, idx, dx, planes, inPlane, outPlane);
}

/**
 * dx = 0, then {@link maxBackward} (dx's contents on entry are ignored) — in one pass over dx: each
 * plane's leading [0, z) is zeroed, and an index at or beyond z first zeroes up to it (and `ahead`
 * elements more), so every element is zeroed once, before any add, and the zeroing runs just ahead
 * of the scatter, whose part of the plane stays in L1 (the indices of sliding windows grow with the
 * output). The rest of the plane is zeroed at the end. `ahead` ≥ inPlane zeroes the whole plane at
 * its first index (fewer, larger fills: better for sparse scatters such as wide adaptive windows).
 */
export function maxBackwardWrite(dy: usize, idx: usize, dx: usize, planes: i32, inPlane: i32, outPlane: i32, ahead: i32): void {
  for (let p = 0; p < planes; p++) {
    const xp = dx + ((<usize>p * <usize>inPlane) << 2);
    const yo = p * outPlane;
    const end = yo + outPlane;
    let z = 0;
    let o = yo;
    if (ASC_FEATURE_SIMD) {
      for (; o + 4 <= end; o += 4) {
        const iv = v128.load(idx + ((<usize>o) << 2));
        const dv = v128.load(dy + ((<usize>o) << 2));
        if (i32x4.all_true(i32x4.lt_u(iv, i32x4.splat(z)))) {
          // all 4 in the zeroed part (so inside the plane)
          const i0 = i32x4.extract_lane(iv, 0);
          stf(xp, i0, ldf(xp, i0) + f32x4.extract_lane(dv, 0));
          const i1 = i32x4.extract_lane(iv, 1);
          stf(xp, i1, ldf(xp, i1) + f32x4.extract_lane(dv, 1));
          const i2 = i32x4.extract_lane(iv, 2);
          stf(xp, i2, ldf(xp, i2) + f32x4.extract_lane(dv, 2));
          const i3 = i32x4.extract_lane(iv, 3);
          stf(xp, i3, ldf(xp, i3) + f32x4.extract_lane(dv, 3));
        } else {
          for (let j = o; j < o + 4; j++) z = addAhead(xp, z, ldi(idx, j), ldf(dy, j), inPlane, ahead);
        }
      }
    }
    for (; o < end; o++) z = addAhead(xp, z, ldi(idx, o), ldf(dy, o), inPlane, ahead);
    if (z < inPlane) memory.fill(xp + ((<usize>z) << 2), 0, (<usize>(inPlane - z)) << 2);
  }
}

/** xp[i] += d for 0 ≤ i < inPlane, first zeroing [z, max(i + 1, z + ahead)) (capped at inPlane) when i ≥ z; returns the new z. */
// @ts-ignore: decorator
@inline function addAhead(xp: usize, z: i32, i: i32, d: f32, inPlane: i32, ahead: i32): i32 {
  if (<u32>i >= <u32>inPlane) return z;
  if (i >= z) {
    const to = min(max(i + 1, z + ahead), inPlane);
    zeroRange(xp, z, to);
    z = to;
  }
  stf(xp, i, ldf(xp, i) + d);
  return z;
}

/**
 * xp[from … to) = 0 with inline stores: the chunks zeroed ahead of a scatter are ~1 KB, where a
 * `memory.fill` (a call out of the module) costs as much as the stores. 64 bytes per step in the
 * SIMD build (fewer loop tests: max-unpool's forward measured about 10 % faster).
 */
function zeroRange(xp: usize, from: i32, to: i32): void {
  let i = from;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 16 <= to; i += 16) {
      const q = xp + ((<usize>i) << 2);
      v128.store(q, zero);
      v128.store(q, zero, 16);
      v128.store(q, zero, 32);
      v128.store(q, zero, 48);
    }
    for (; i + 4 <= to; i += 4) v128.store(xp + ((<usize>i) << 2), zero);
  } else {
    for (; i + 2 <= to; i += 2) store<u64>(xp + ((<usize>i) << 2), 0);
  }
  for (; i < to; i++) stf(xp, i, 0);
}

/**
 * {@link maxBackwardWrite} for sparse planes (global max pooling: one output per plane of 49;
 * adaptive 56 → 7: one per 64): dx is zeroed `group` planes at a time (one fill of a few KB to a few
 * tens of KB, so the scatter that follows finds them in L1/L2), then those planes' outputs are
 * scattered in output order; out-of-plane indices are skipped. One output per plane: one add per
 * plane in a plain loop.
 */
export function maxBackwardSmall(dy: usize, idx: usize, dx: usize, planes: i32, inPlane: i32, outPlane: i32, group: i32): void {
  const planeB = (<usize>inPlane) << 2;
  for (let p0 = 0; p0 < planes; p0 += group) {
    const n = min(group, planes - p0);
    const base = dx + <usize>p0 * planeB;
    memory.fill(base, 0, <usize>n * planeB);
    if (outPlane == 1) {
      let xp = base;
      for (let p = p0; p < p0 + n; p++) {
        const i = ldi(idx, p);
        if (<u32>i < <u32>inPlane) stf(xp, i, ldf(xp, i) + ldf(dy, p));
        xp += planeB;
      }
    } else {
      for (let p = p0; p < p0 + n; p++) scatterPlane(dy, idx, dx + <usize>p * planeB, p * outPlane, inPlane, outPlane);
    }
  }
}

/**
 * {@link maxBackwardWrite} for tiled 2-d windows — rows [kB·ob, min(kB·ob + kB, H)), columns
 * [kC·oc, min(kC·oc + kC, W)), no padding or dilation (stride = kernel size: no two windows share an
 * element) — in one pass: every element of a window is written once, 0 + dy where it is the window's
 * index and 0 elsewhere; elements under no window are 0. The result equals the zero-and-scatter
 * reference whenever every window with dy ≠ 0 has its index inside the window (indices from the
 * forward always do): the pass counts those windows and their hits, and a plane where they differ is
 * zeroed and scattered again in the reference's order. 0 + dy, not dy, so dy = −0 gives +0 as there.
 * The SIMD build writes 4 windows (8 columns) per step when kC = 2.
 */
export function maxBackwardTiled(dy: usize, idx: usize, dx: usize, planes: i32, H: i32, W: i32, nB: i32, nC: i32, kB: i32, kC: i32): void {
  const inPlane = H * W;
  const outPlane = nB * nC;
  const full = min(nC, W / kC); // windows with all kC columns inside the row
  const covered = min(nC * kC, W); // columns under some window
  const rowsCovered = min(nB * kB, H);
  const simd = ASC_FEATURE_SIMD && kC == 2;
  for (let p = 0; p < planes; p++) {
    const xp = dx + ((<usize>p * <usize>inPlane) << 2);
    const yo = p * outPlane;
    let nz = 0; // windows with dy ≠ 0 (NaN included)
    let hit = 0; // of those, windows whose index is one of their elements
    for (let ob = 0; ob < nB; ob++) {
      const r0 = ob * kB;
      const r1 = min(r0 + kB, H);
      const o0 = yo + ob * nC;
      for (let r = r0; r < r1; r++) {
        const row = r * W;
        const first = r == r0;
        let oc = 0;
        if (simd) {
          const zero = f32x4.splat(0);
          const one = i32x4.splat(1);
          const lanes = i32x4(0, 2, 4, 6);
          let vnz = i32x4.splat(0);
          let vhit = i32x4.splat(0);
          for (; oc + 4 <= full; oc += 4) {
            const d = v128.load(dy + ((<usize>(o0 + oc)) << 2));
            const ix = v128.load(idx + ((<usize>(o0 + oc)) << 2));
            const pos = i32x4.add(i32x4.splat(row + 2 * oc), lanes);
            const m0 = i32x4.eq(ix, pos);
            const m1 = i32x4.eq(ix, i32x4.add(pos, one));
            const nzm = f32x4.ne(d, zero);
            vhit = i32x4.sub(vhit, v128.and(v128.or(m0, m1), nzm));
            if (first) vnz = i32x4.sub(vnz, nzm);
            const g = f32x4.add(zero, d);
            const v0 = v128.and(g, m0);
            const v1 = v128.and(g, m1);
            const q = xp + ((<usize>(row + 2 * oc)) << 2);
            v128.store(q, v128.shuffle<f32>(v0, v1, 0, 4, 1, 5));
            v128.store(q, v128.shuffle<f32>(v0, v1, 2, 6, 3, 7), 16);
          }
          nz += i32x4.extract_lane(vnz, 0) + i32x4.extract_lane(vnz, 1) + i32x4.extract_lane(vnz, 2) + i32x4.extract_lane(vnz, 3);
          hit += i32x4.extract_lane(vhit, 0) + i32x4.extract_lane(vhit, 1) + i32x4.extract_lane(vhit, 2) + i32x4.extract_lane(vhit, 3);
        }
        for (; oc < nC; oc++) {
          const c0 = oc * kC;
          const c1 = min(c0 + kC, W);
          const i = ldi(idx, o0 + oc);
          const d = ldf(dy, o0 + oc);
          const g: f32 = <f32>0 + d;
          if (d != 0) {
            if (first) nz++;
            if (<u32>(i - row - c0) < <u32>(c1 - c0)) hit++;
          }
          for (let c = c0; c < c1; c++) stf(xp, row + c, i == row + c ? g : 0);
        }
        if (covered < W) memory.fill(xp + ((<usize>(row + covered)) << 2), 0, (<usize>(W - covered)) << 2);
      }
    }
    if (rowsCovered < H) memory.fill(xp + ((<usize>(rowsCovered * W)) << 2), 0, (<usize>((H - rowsCovered) * W)) << 2);
    if (hit != nz) {
      // an index outside its window carries a gradient: the reference's zero-and-scatter for this plane
      memory.fill(xp, 0, (<usize>inPlane) << 2);
      scatterPlane(dy, idx, xp, yo, inPlane, outPlane);
    }
  }
}

/**
 * y = 0, then y[plane][idx[i]] = x[i] in input order (later writes win; y's contents on entry
 * ignored), and bad[plane] = the first i whose index lies outside [0, outPlane), or −1 — the plane's
 * scatter stops there (the op reports it and returns no output). One pass over y: as
 * {@link maxBackwardWrite}, each plane is zeroed just ahead of the writes (`ahead` elements at a
 * time), the rest at the end. The SIMD build reads the indices 16 at a time: their unsigned maximum is
 * at once the bounds check (a negative index is above any plane as u32) and the reach of the zeroing,
 * so the 16 stores that follow need no test.
 */
export function unpoolForward(x: usize, idx: usize, y: usize, bad: usize, planes: i32, inPlane: i32, outPlane: i32, ahead: i32): void {
  for (let p = 0; p < planes; p++) {
    const xp = x + ((<usize>p * <usize>inPlane) << 2);
    const ip = idx + ((<usize>p * <usize>inPlane) << 2);
    const yp = y + ((<usize>p * <usize>outPlane) << 2);
    let z = 0;
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      for (; i + 16 <= inPlane; i += 16) {
        const q = ip + ((<usize>i) << 2);
        const r = xp + ((<usize>i) << 2);
        const i0 = v128.load(q);
        const i1 = v128.load(q, 16);
        const i2 = v128.load(q, 32);
        const i3 = v128.load(q, 48);
        const top = maxU32(i32x4.max_u(i32x4.max_u(i0, i1), i32x4.max_u(i2, i3)));
        if (top >= <u32>outPlane) break; // the scalar loop below finds which
        if (<i32>top >= z) {
          const to = min(max(<i32>top + 1, z + ahead), outPlane);
          zeroRange(yp, z, to);
          z = to;
        }
        put4(yp, q, r);
        put4(yp, q + 16, r + 16);
        put4(yp, q + 32, r + 32);
        put4(yp, q + 48, r + 48);
      }
    }
    let b = -1;
    for (; i < inPlane; i++) {
      const j = ldi(ip, i);
      if (<u32>j >= <u32>outPlane) {
        b = i;
        break;
      }
      if (j >= z) {
        const to = min(max(j + 1, z + ahead), outPlane);
        zeroRange(yp, z, to);
        z = to;
      }
      stf(yp, j, ldf(xp, i));
    }
    if (z < outPlane) zeroRange(yp, z, outPlane);
    store<i32>(bad + ((<usize>p) << 2), b);
  }
}

/**
 * dx[i] = dy[plane][idx[i]]; an index outside [0, outPlane) gives 0 (the op's forward rejected it).
 * The SIMD build checks 16 indices at a time by their unsigned maximum and gathers 4 lanes per
 * v128 (load32_lane); a block with an index outside the plane ends it in the scalar loop.
 */
export function unpoolBackward(dy: usize, idx: usize, dx: usize, planes: i32, inPlane: i32, outPlane: i32): void {
  for (let p = 0; p < planes; p++) {
    const ip = idx + ((<usize>p * <usize>inPlane) << 2);
    const dp = dx + ((<usize>p * <usize>inPlane) << 2);
    const yp = dy + ((<usize>p * <usize>outPlane) << 2);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      for (; i + 16 <= inPlane; i += 16) {
        const q = ip + ((<usize>i) << 2);
        const i0 = v128.load(q);
        const i1 = v128.load(q, 16);
        const i2 = v128.load(q, 32);
        const i3 = v128.load(q, 48);
        if (maxU32(i32x4.max_u(i32x4.max_u(i0, i1), i32x4.max_u(i2, i3))) >= <u32>outPlane) break; // the scalar loop below
        const d = dp + ((<usize>i) << 2);
        v128.store(d, gather4(yp, i0));
        v128.store(d, gather4(yp, i1), 16);
        v128.store(d, gather4(yp, i2), 32);
        v128.store(d, gather4(yp, i3), 48);
      }
    }
    for (; i < inPlane; i++) gatherOne(yp, ip, dp, i, outPlane);
  }
}

/** The largest of the 4 lanes of `m` as unsigned integers. */
// @ts-ignore: decorator
@inline function maxU32(m: v128): u32 {
  const m2 = i32x4.max_u(m, v128.shuffle<i32>(m, m, 2, 3, 0, 1));
  return max(<u32>i32x4.extract_lane(m2, 0), <u32>i32x4.extract_lane(m2, 1));
}

/**
 * yp[q[l]] = r[l] for l = 0 … 3 in order (a later one wins on equal indices; indices already
 * checked). Scalar loads of index and value: cheaper than extracting lanes from the v128s the check
 * loaded (measured ~20 % faster in cache, ~8 % at [8,64,112,112]).
 */
// @ts-ignore: decorator
@inline function put4(yp: usize, q: usize, r: usize): void {
  store<f32>(yp + ((<usize>load<i32>(q)) << 2), load<f32>(r));
  store<f32>(yp + ((<usize>load<i32>(q, 4)) << 2), load<f32>(r, 4));
  store<f32>(yp + ((<usize>load<i32>(q, 8)) << 2), load<f32>(r, 8));
  store<f32>(yp + ((<usize>load<i32>(q, 12)) << 2), load<f32>(r, 12));
}

/**
 * The 4 floats yp[iv[0]], …, yp[iv[3]] as one v128 (indices already checked). The indices are taken
 * from the lanes here, not reloaded as scalars as in {@link put4}: with dy streaming from memory
 * (25.7 MB) that measured ~6 % faster, though ~25 % slower with everything in cache.
 */
// @ts-ignore: decorator
@inline function gather4(yp: usize, iv: v128): v128 {
  let g = v128.load32_zero(yp + ((<usize>i32x4.extract_lane(iv, 0)) << 2));
  g = v128.load32_lane(yp + ((<usize>i32x4.extract_lane(iv, 1)) << 2), g, 1);
  g = v128.load32_lane(yp + ((<usize>i32x4.extract_lane(iv, 2)) << 2), g, 2);
  return v128.load32_lane(yp + ((<usize>i32x4.extract_lane(iv, 3)) << 2), g, 3);
}

/** dp[i] = yp[ip[i]], or 0 for an index outside [0, outPlane). */
// @ts-ignore: decorator
@inline function gatherOne(yp: usize, ip: usize, dp: usize, i: i32, outPlane: i32): void {
  const j = ldi(ip, i);
  stf(dp, i, <u32>j < <u32>outPlane ? ldf(yp, j) : 0);
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

/**
 * Mixed pooling's backward (src/kernels/scatter.ts mixWindowsBackward) for 2-d planes, dx written
 * (its contents on entry ignored), every plane by its max-branch weight — `perPlane` = 1: one float64
 * weight per plane in w; 0: one per output:
 * - weight 1 for the whole plane (max): dx = 0, then dx[idx] += dy in output order — the reference's
 *   additions in its order (its average part adds +0, which changes nothing: a dx element there is
 *   never −0), so bit-identical;
 * - otherwise: the average part dA = (1 − w)·dy (w = 0 or 1 exact, else the float64 product rounded),
 *   g = fl32(dA / divisor) (`div`: the divisors in float32, exact: fl32(f64 quotient) is the same
 *   number, double rounding being innocuous for division), summed into dx as window sums over the
 *   transposed axes in float32: per output row ob, e[ob][c] = Σ g[ob][oc] over the outputs oc whose
 *   windows hold column c, then dx[r][c] = Σ e[ob][c] over the output rows ob whose windows hold row
 *   r (tbS/tbE per input row), 4 columns at a time — every sum from +0, so never −0; then the max
 *   part dM = w·dy (0 where w = 0) is added at idx in output order. Sums not in the reference's order:
 *   within float32 accumulation error of it.
 * Column sums: the SIMD build, when `J` > 0, takes 4 columns per step — for block q and tap j < J,
 *   the 4 floats of the row at element bases[qJ + j], permuted by the byte mask masks[qJ + j]
 *   (i8x16.swizzle; mask bytes ≥ 16 give 0: no such tap) and added in tap order; e rows are
 *   4·nBlk floats apart. Otherwise (scalar build, J = 0) column by column over tcS/tcE.
 * Scratch: g (outPlane + 4 float32), m (outPlane float32), e (nB·4·nBlk float32). Out-of-plane
 * indices are skipped (as there).
 */
export function mixBackward(
  dy: usize, w: usize, idx: usize, dx: usize, g: usize, m: usize, e: usize, planes: i32, perPlane: i32,
  H: i32, W: i32, nB: i32, nC: i32, tbS: usize, tbE: usize, tcS: usize, tcE: usize, div: usize,
  J: i32, nBlk: i32, bases: usize, masks: usize,
): void {
  const inPlane = H * W;
  const outPlane = nB * nC;
  const eW = J > 0 ? 4 * nBlk : W;
  for (let p = 0; p < planes; p++) {
    const xp = dx + ((<usize>p * <usize>inPlane) << 2);
    const yo = p * outPlane;
    const a = perPlane != 0 ? ldd(w, p) : <f64>NaN;
    if (a == 1) {
      memory.fill(xp, 0, (<usize>inPlane) << 2);
      scatterPlane(dy, idx, xp, yo, inPlane, outPlane);
      continue;
    }
    let maxPart = false;
    if (a == 0) {
      let o = 0;
      if (ASC_FEATURE_SIMD) {
        for (; o + 4 <= outPlane; o += 4) {
          v128.store(g + ((<usize>o) << 2), f32x4.div(v128.load(dy + ((<usize>(yo + o)) << 2)), v128.load(div + ((<usize>o) << 2))));
        }
      }
      for (; o < outPlane; o++) stf(g, o, ldf(dy, yo + o) / ldf(div, o));
    } else {
      for (let o = 0; o < outPlane; o++) {
        const wo = perPlane != 0 ? a : ldd(w, yo + o);
        const v = ldf(dy, yo + o);
        const dA: f32 = wo == 1 ? 0 : wo == 0 ? v : <f32>((1 - wo) * <f64>v);
        stf(m, o, wo == 1 ? v : wo == 0 ? 0 : <f32>(wo * <f64>v));
        stf(g, o, dA / ldf(div, o));
      }
      maxPart = true;
    }
    // e[ob][c]: the column sums of each output row
    for (let ob = 0; ob < nB; ob++) {
      const gr = g + ((<usize>(ob * nC)) << 2);
      const er = e + ((<usize>(ob * eW)) << 2);
      if (ASC_FEATURE_SIMD && J > 0) {
        for (let q = 0; q < nBlk; q++) {
          let acc = f32x4.splat(0);
          for (let j = 0; j < J; j++) {
            const k = q * J + j;
            acc = f32x4.add(acc, i8x16.swizzle(v128.load(gr + ((<usize>ldi(bases, k)) << 2)), v128.load(masks + ((<usize>k) << 4))));
          }
          v128.store(er + ((<usize>q) << 4), acc);
        }
        continue;
      }
      for (let c = 0; c < W; c++) {
        const c1 = ldi(tcE, c);
        let s: f32 = 0;
        for (let oc = ldi(tcS, c); oc < c1; oc++) s += ldf(gr, oc);
        stf(er, c, s);
      }
    }
    // dx rows: the sums of the e rows of the output rows holding them
    for (let r = 0; r < H; r++) {
      const b0 = ldi(tbS, r);
      const b1 = ldi(tbE, r);
      const row = xp + ((<usize>(r * W)) << 2);
      let c = 0;
      if (ASC_FEATURE_SIMD) {
        for (; c + 4 <= W; c += 4) {
          let acc = f32x4.splat(0);
          for (let ob = b0; ob < b1; ob++) acc = f32x4.add(acc, v128.load(e + ((<usize>(ob * eW + c)) << 2)));
          v128.store(row + ((<usize>c) << 2), acc);
        }
      }
      for (; c < W; c++) {
        let s: f32 = 0;
        for (let ob = b0; ob < b1; ob++) s += ldf(e, ob * eW + c);
        stf(row, c, s);
      }
    }
    if (maxPart) {
      for (let o = 0; o < outPlane; o++) {
        const i = ldi(idx, yo + o);
        if (<u32>i < <u32>inPlane) stf(xp, i, ldf(xp, i) + ldf(m, o));
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
