// The matrix core's WebAssembly kernels: packing and the macro-kernel of a blocked GEMM
// C += α·op(A)·op(B) (Goto & van de Geijn, "Anatomy of High-Performance Matrix Multiplication",
// ACM TOMS 2008), float64 arithmetic for float32 and float64 operands alike.
//
// The blocking loops (NC columns of op(B), KC steps of k, MC rows of op(A)) run in the host glue
// (src/backends/wasm/gemm.ts), which calls, per block: gemmPackB (a KC × NC panel of op(B) into NR-
// column strips), gemmPackA (an MC × KC block of op(A) into MR-row strips) and gemmMacro (every
// MR × NR tile of that block). Packing absorbs the transposes and the source dtype, so the
// micro-kernel is one: float64, read from packed, contiguous strips.
//
// Results are bit-identical to the TypeScript reference (src/linalg/gemm.ts) for the same KC: each
// entry of a tile is its own sequential sum over the block's k steps from +0 (a lane of an f64x2
// accumulator; products and sums rounded separately — no fused multiply-add, which plain v128 does
// not have), then C ← C + α·sum, with a float32 C rounded once on store, exactly as the reference's
// scalar code does. Tile shape (MR, NR) does not change any value; only KC (where the k-sum is split)
// would, and the glue and the reference share it.
//
// Register tile (SIMD): MR × NR = 4 × 4 float64 = 8 f64x2 accumulators + 2 B vectors + 1 broadcast
// of A + 1 product. V8 gives wasm 16 v128 registers on x64 (xmm0–15); 6 × 4 (12 accumulators, 16
// registers in all) and 5 × 4 measured about half as fast as 4 × 4 in Node 20 on this project's AMD
// EPYC — its register allocator spills them — and unrolling the k-loop twice did not help.

/** Rows of a register tile / of a packed A strip. */
export const GEMM_MR: i32 = 4;
/** Columns of a register tile / of a packed B strip. */
export const GEMM_NR: i32 = 4;

// No static scratch: gemmMacro runs on several threads at once over one shared memory (the glue
// splits C's rows among the pool's workers), so a partial tile is stored straight from its registers.

// @ts-ignore: decorator
@inline function ld<T>(p: usize, i: i32): f64 {
  return <f64>load<T>(p + ((<usize>i) << alignof<T>()));
}

// @ts-ignore: decorator
@inline function packAT<T>(src: usize, ld_: i32, trans: i32, i0: i32, mb: i32, p0: i32, kb: i32, dst: usize): void {
  for (let s = 0; s * GEMM_MR < mb; s++) {
    const base = dst + ((<usize>(s * kb * GEMM_MR)) << 3);
    const rows = min(GEMM_MR, mb - s * GEMM_MR);
    const ib = i0 + s * GEMM_MR;
    if (ASC_FEATURE_SIMD) {
      if (sizeof<T>() == 8 && rows == GEMM_MR) {
        // float64 source, full strip: the same values moved by v128 (two rows' pairs transposed 2 × 2)
        packA64Full(src, ld_, trans, ib, p0, kb, base);
        continue;
      }
    }
    if (trans) {
      // op(A)[i, p] = A[p, i]: a strip's MR values at one step are contiguous in A's row p
      for (let p = 0; p < kb; p++) {
        const ro = (p0 + p) * ld_ + ib;
        const d = base + ((<usize>(p * GEMM_MR)) << 3);
        for (let r = 0; r < GEMM_MR; r++) store<f64>(d + ((<usize>r) << 3), r < rows ? ld<T>(src, ro + r) : 0.0);
      }
    } else {
      for (let r = 0; r < GEMM_MR; r++) {
        const d = base + ((<usize>r) << 3);
        if (r >= rows) {
          for (let p = 0; p < kb; p++) store<f64>(d + ((<usize>(p * GEMM_MR)) << 3), 0.0);
        } else {
          const ro = (ib + r) * ld_ + p0;
          for (let p = 0; p < kb; p++) store<f64>(d + ((<usize>(p * GEMM_MR)) << 3), ld<T>(src, ro + p));
        }
      }
    }
  }
}

/** A strip already in its packed order: `kb` runs of 32 bytes, `step` bytes apart from `sp`, stored contiguously at `dst`. */
// @ts-ignore: decorator
@inline function copyStrip32(sp: usize, step: usize, kb: i32, dst: usize): void {
  for (let p = 0; p < kb; p++) {
    v128.store(dst, v128.load(sp));
    v128.store(dst, v128.load(sp, 16), 16);
    sp += step;
    dst += 32;
  }
}

/**
 * A full 4-wide strip of float64 values (no conversion): dst[p·4 + r] = X[i0 + r, p0 + p] for r < 4,
 * p < kb, where X[i, q] = src[i·ld + q], or src[q·ld + i] when `trans` — gemmPackA's layout for
 * op(A) = X, and gemmPackB's for op(B) = Xᵀ. Only moves values: the packs equal the scalar loops'.
 */
function packA64Full(src: usize, ld_: i32, trans: i32, i0: i32, p0: i32, kb: i32, dst: usize): void {
  if (trans) {
    // X[i0 … i0+3, q] is contiguous in row q of src
    copyStrip32(src + ((<usize>(p0 * ld_ + i0)) << 3), (<usize>ld_) << 3, kb, dst);
    return;
  }
  const ldb = (<usize>ld_) << 3;
  let r0 = src + ((<usize>(i0 * ld_ + p0)) << 3);
  let p = 0;
  for (; p + 2 <= kb; p += 2) {
    const a0 = v128.load(r0);
    const a1 = v128.load(r0 + ldb);
    const a2 = v128.load(r0 + 2 * ldb);
    const a3 = v128.load(r0 + 3 * ldb);
    v128.store(dst, v128.shuffle<f64>(a0, a1, 0, 2));
    v128.store(dst, v128.shuffle<f64>(a2, a3, 0, 2), 16);
    v128.store(dst, v128.shuffle<f64>(a0, a1, 1, 3), 32);
    v128.store(dst, v128.shuffle<f64>(a2, a3, 1, 3), 48);
    r0 += 16;
    dst += 64;
  }
  if (p < kb) {
    store<f64>(dst, load<f64>(r0));
    store<f64>(dst, load<f64>(r0 + ldb), 8);
    store<f64>(dst, load<f64>(r0 + 2 * ldb), 16);
    store<f64>(dst, load<f64>(r0 + 3 * ldb), 24);
  }
}

/**
 * Pack op(A)[i0 … i0+mb, p0 … p0+kb] (A at byte address `src`, row stride `ld` elements, float32 when
 * `f32`) into MR-row strips of float64 at `dst`: strip s, step p, row r at dst[(s·kb + p)·MR + r];
 * rows past mb are zero. op(A)[i, p] = A[i, p], or A[p, i] when `trans`.
 */
export function gemmPackA(src: usize, f32: i32, ld_: i32, trans: i32, i0: i32, mb: i32, p0: i32, kb: i32, dst: usize): void {
  if (f32) packAT<f32>(src, ld_, trans, i0, mb, p0, kb, dst);
  else packAT<f64>(src, ld_, trans, i0, mb, p0, kb, dst);
}

// @ts-ignore: decorator
@inline function packBT<T>(src: usize, ld_: i32, trans: i32, p0: i32, kb: i32, j0: i32, nb: i32, dst: usize): void {
  for (let s = 0; s * GEMM_NR < nb; s++) {
    const base = dst + ((<usize>(s * kb * GEMM_NR)) << 3);
    const cols = min(GEMM_NR, nb - s * GEMM_NR);
    const jb = j0 + s * GEMM_NR;
    if (ASC_FEATURE_SIMD) {
      if (sizeof<T>() == 8 && cols == GEMM_NR) {
        // float64 source, full strip: op(B)[p, j] = B[p, j] is op(A)ᵀ's layout, so the A strip's moves serve
        packA64Full(src, ld_, trans ? 0 : 1, jb, p0, kb, base);
        continue;
      }
    }
    if (trans) {
      // op(B)[p, j] = B[j, p]: one column of the strip is contiguous in B's row j
      for (let q = 0; q < GEMM_NR; q++) {
        const d = base + ((<usize>q) << 3);
        if (q >= cols) {
          for (let p = 0; p < kb; p++) store<f64>(d + ((<usize>(p * GEMM_NR)) << 3), 0.0);
        } else {
          const ro = (jb + q) * ld_ + p0;
          for (let p = 0; p < kb; p++) store<f64>(d + ((<usize>(p * GEMM_NR)) << 3), ld<T>(src, ro + p));
        }
      }
    } else {
      for (let p = 0; p < kb; p++) {
        const ro = (p0 + p) * ld_ + jb;
        const d = base + ((<usize>(p * GEMM_NR)) << 3);
        for (let q = 0; q < GEMM_NR; q++) store<f64>(d + ((<usize>q) << 3), q < cols ? ld<T>(src, ro + q) : 0.0);
      }
    }
  }
}

/**
 * Pack op(B)[p0 … p0+kb, j0 … j0+nb] into NR-column strips of float64 at `dst`: strip s, step p,
 * column q at dst[(s·kb + p)·NR + q]; columns past nb are zero. op(B)[p, j] = B[p, j], or B[j, p]
 * when `trans`.
 */
export function gemmPackB(src: usize, f32: i32, ld_: i32, trans: i32, p0: i32, kb: i32, j0: i32, nb: i32, dst: usize): void {
  if (f32) packBT<f32>(src, ld_, trans, p0, kb, j0, nb, dst);
  else packBT<f64>(src, ld_, trans, p0, kb, j0, nb, dst);
}

/**
 * C[r, q] ← C[r, q] + α·t for one entry, or 0 + α·t when `fresh` (β = 0's first k-block: what the
 * reference computes after zeroing C, −0 included, without reading C); float32 C: the float64 sum
 * rounded once on store.
 */
// @ts-ignore: decorator
@inline function addTo(c: usize, f32: i32, idx: i32, alpha: f64, t: f64, fresh: i32): void {
  if (f32) {
    const p = c + ((<usize>idx) << 2);
    store<f32>(p, <f32>((fresh ? 0.0 : <f64>load<f32>(p)) + alpha * t));
  } else {
    const p = c + ((<usize>idx) << 3);
    store<f64>(p, (fresh ? 0.0 : load<f64>(p)) + alpha * t);
  }
}

/** A partial row of a tile (its first `cols` ≤ NR entries, sums in v0 = lanes 0–1, v1 = lanes 2–3) added into C. */
// @ts-ignore: decorator
@inline function storePart(c: usize, f32: i32, o: i32, alpha: f64, v0: v128, v1: v128, cols: i32, fresh: i32): void {
  addTo(c, f32, o, alpha, f64x2.extract_lane(v0, 0), fresh);
  if (cols > 1) addTo(c, f32, o + 1, alpha, f64x2.extract_lane(v0, 1), fresh);
  if (cols > 2) addTo(c, f32, o + 2, alpha, f64x2.extract_lane(v1, 0), fresh);
  if (cols > 3) addTo(c, f32, o + 3, alpha, f64x2.extract_lane(v1, 1), fresh);
}

/** A scalar row of a tile (its first `cols` entries of s0…s3) added into C. */
// @ts-ignore: decorator
@inline function storePartScalar(c: usize, f32: i32, o: i32, alpha: f64, s0: f64, s1: f64, s2: f64, s3: f64, cols: i32, fresh: i32): void {
  addTo(c, f32, o, alpha, s0, fresh);
  if (cols > 1) addTo(c, f32, o + 1, alpha, s1, fresh);
  if (cols > 2) addTo(c, f32, o + 2, alpha, s2, fresh);
  if (cols > 3) addTo(c, f32, o + 3, alpha, s3, fresh);
}

// @ts-ignore: decorator
@inline function storeRow(c: usize, f32: i32, o: i32, alpha: f64, v0: v128, v1: v128, fresh: i32): void {
  if (f32) {
    addTo(c, 1, o, alpha, f64x2.extract_lane(v0, 0), fresh);
    addTo(c, 1, o + 1, alpha, f64x2.extract_lane(v0, 1), fresh);
    addTo(c, 1, o + 2, alpha, f64x2.extract_lane(v1, 0), fresh);
    addTo(c, 1, o + 3, alpha, f64x2.extract_lane(v1, 1), fresh);
  } else {
    const p = c + ((<usize>o) << 3);
    const al = f64x2.splat(alpha);
    const zero = f64x2.splat(0);
    v128.store(p, f64x2.add(fresh ? zero : v128.load(p), f64x2.mul(al, v0)));
    v128.store(p, f64x2.add(fresh ? zero : v128.load(p, 16), f64x2.mul(al, v1)), 16);
  }
}

/**
 * C[mb × nb] (byte address `c`, row stride `ldc` elements, float32 when `cF32`) += α·(packed A)(packed
 * B) for packs made by gemmPackA/gemmPackB with the same mb, nb, kb. `diag` = j0 − i0 for SYRK's upper
 * triangle: tiles whose entries all lie strictly below the diagonal are skipped (pass a huge value
 * for a full GEMM). `fresh`: C ← 0 + α·AB without reading C (β = 0, first k-block; skipped tiles are
 * left as they were).
 */
export function gemmMacro(mb: i32, nb: i32, kb: i32, alpha: f64, pa: usize, pb: usize, c: usize, ldc: i32, cF32: i32, diag: i32, fresh: i32): void {
  for (let jr = 0; jr < nb; jr += GEMM_NR) {
    const bBase = pb + ((<usize>(jr * kb)) << 3);
    const cols = min(GEMM_NR, nb - jr);
    for (let ir = 0; ir < mb; ir += GEMM_MR) {
      // the tile's largest column (relative to C's row 0) is below its smallest row
      if (diag + jr + GEMM_NR - 1 < ir) continue;
      const aBase = pa + ((<usize>(ir * kb)) << 3);
      const rows = min(GEMM_MR, mb - ir);
      const o = ir * ldc + jr;
      if (ASC_FEATURE_SIMD) {
        let c00 = f64x2.splat(0), c01 = f64x2.splat(0);
        let c10 = f64x2.splat(0), c11 = f64x2.splat(0);
        let c20 = f64x2.splat(0), c21 = f64x2.splat(0);
        let c30 = f64x2.splat(0), c31 = f64x2.splat(0);
        let ap = aBase;
        let bp = bBase;
        const end = bBase + ((<usize>(kb * GEMM_NR)) << 3);
        while (bp < end) {
          const b0 = v128.load(bp);
          const b1 = v128.load(bp, 16);
          let a = v128.load64_splat(ap);
          c00 = f64x2.add(c00, f64x2.mul(a, b0));
          c01 = f64x2.add(c01, f64x2.mul(a, b1));
          a = v128.load64_splat(ap, 8);
          c10 = f64x2.add(c10, f64x2.mul(a, b0));
          c11 = f64x2.add(c11, f64x2.mul(a, b1));
          a = v128.load64_splat(ap, 16);
          c20 = f64x2.add(c20, f64x2.mul(a, b0));
          c21 = f64x2.add(c21, f64x2.mul(a, b1));
          a = v128.load64_splat(ap, 24);
          c30 = f64x2.add(c30, f64x2.mul(a, b0));
          c31 = f64x2.add(c31, f64x2.mul(a, b1));
          ap += GEMM_MR << 3;
          bp += GEMM_NR << 3;
        }
        if (rows == GEMM_MR && cols == GEMM_NR) {
          storeRow(c, cF32, o, alpha, c00, c01, fresh);
          storeRow(c, cF32, o + ldc, alpha, c10, c11, fresh);
          storeRow(c, cF32, o + 2 * ldc, alpha, c20, c21, fresh);
          storeRow(c, cF32, o + 3 * ldc, alpha, c30, c31, fresh);
        } else {
          storePart(c, cF32, o, alpha, c00, c01, cols, fresh);
          if (rows > 1) storePart(c, cF32, o + ldc, alpha, c10, c11, cols, fresh);
          if (rows > 2) storePart(c, cF32, o + 2 * ldc, alpha, c20, c21, cols, fresh);
          if (rows > 3) storePart(c, cF32, o + 3 * ldc, alpha, c30, c31, cols, fresh);
        }
      } else {
        // Scalar build: one row of the tile at a time (4 sums in locals), the B strip read from L1;
        // rows past `rows` are summed too (their packed A is zero) but not stored.
        for (let r = 0; r < GEMM_MR; r++) {
          let s0: f64 = 0, s1: f64 = 0, s2: f64 = 0, s3: f64 = 0;
          let ap = aBase + ((<usize>r) << 3);
          let bp = bBase;
          const end = bBase + ((<usize>(kb * GEMM_NR)) << 3);
          while (bp < end) {
            const a = load<f64>(ap);
            s0 += a * load<f64>(bp);
            s1 += a * load<f64>(bp, 8);
            s2 += a * load<f64>(bp, 16);
            s3 += a * load<f64>(bp, 24);
            ap += GEMM_MR << 3;
            bp += GEMM_NR << 3;
          }
          if (r < rows) storePartScalar(c, cF32, o + r * ldc, alpha, s0, s1, s2, s3, cols, fresh);
        }
      }
    }
  }
}

/**
 * Rows i0 … i1 of C's column panel j0 … j0+nb for one k-block: for each block of up to `mc` rows, pack
 * op(A)'s block (gemmPackA into `pa`) and run gemmMacro on it with the packed B panel at `pb` (made by
 * gemmPackB for the same p0, kb, j0, nb). `c` is C's address at row 0, column j0. `upper` (SYRK): row
 * blocks wholly below the panel stop the loop, and tiles below the diagonal are skipped.
 *
 * One call is one thread's part of a panel: the glue splits C's rows among the pool's threads, each
 * with its own `pa` (B's pack is shared, read-only), and every C entry gets the same operations
 * whichever thread runs its rows — the results are those of one thread, bit for bit.
 */
export function gemmRows(
  a: usize, aF32: i32, lda: i32, transA: i32, i0: i32, i1: i32, p0: i32, kb: i32, pa: usize, mc: i32,
  nb: i32, alpha: f64, pb: usize, c: usize, ldc: i32, cF32: i32, j0: i32, upper: i32, fresh: i32,
): void {
  const cShift: usize = cF32 ? 2 : 3;
  for (let i = i0; i < i1; i += mc) {
    if (upper && i >= j0 + nb) break;
    const mb = min(mc, i1 - i);
    gemmPackA(a, aF32, lda, transA, i, mb, p0, kb, pa);
    gemmMacro(mb, nb, kb, alpha, pa, pb, c + ((<usize>(i * ldc)) << cShift), ldc, cF32, upper ? j0 - i : 0x3fffffff, fresh);
  }
}

/** Columns of op(B) per packed panel in {@link gemmBatch} (its B pack is per thread: KC × 128 float64 = 256 KiB). */
export const GEMM_BATCH_NC: i32 = 128;
/** Rows of op(A) per packed block in {@link gemmBatch} (the host's MC; the A pack is per thread). */
export const GEMM_BATCH_MC: i32 = 96;
/** Depth of a packed block: the host's and the reference's GEMM_KC (where the k-sum is split). */
export const GEMM_BATCH_KC: i32 = 256;

/**
 * Problems s0 … s1 of a batch: C_s = α·op(A_s)·op(B_s) (+ C_s unless `fresh`), where A_s, B_s, C_s
 * start `sa`, `sb`, `sc` elements after A, B, C (byte addresses; float32 when the flag is set). The
 * whole blocked GEMM of each problem runs here — for each NC-column panel and KC slice, pack op(B)
 * into `pb`, then for each MC-row block pack op(A) into `pa` and run {@link gemmMacro} — so one call
 * does a thread's share of a batch of small products (the host splits [0, count) among the pool's
 * threads, each with its own `pa`, `pb`). `upper`: SYRK's upper-triangle tiles only (the host mirrors).
 * A float32 C must have k ≤ KC (one k-block: each entry rounded once, as the reference does).
 * Every entry gets the operations of {@link gemmRows}'s path: results equal the reference's bit for bit.
 */
export function gemmBatch(
  s0: i32, s1: i32, a: usize, aF32: i32, lda: i32, sa: i32, transA: i32, b: usize, bF32: i32, ldb: i32, sb: i32, transB: i32,
  m: i32, n: i32, k: i32, alpha: f64, c: usize, cF32: i32, ldc: i32, sc: i32, fresh: i32, upper: i32, pa: usize, pb: usize,
): void {
  const aSh: usize = aF32 ? 2 : 3;
  const bSh: usize = bF32 ? 2 : 3;
  const cSh: usize = cF32 ? 2 : 3;
  for (let s = s0; s < s1; s++) {
    const as_ = a + ((<usize>s * <usize>sa) << aSh);
    const bs = b + ((<usize>s * <usize>sb) << bSh);
    const cs = c + ((<usize>s * <usize>sc) << cSh);
    for (let j0 = 0; j0 < n; j0 += GEMM_BATCH_NC) {
      const nb = min(GEMM_BATCH_NC, n - j0);
      for (let p0 = 0; p0 < k; p0 += GEMM_BATCH_KC) {
        const kb = min(GEMM_BATCH_KC, k - p0);
        gemmPackB(bs, bF32, ldb, transB, p0, kb, j0, nb, pb);
        for (let i0 = 0; i0 < m; i0 += GEMM_BATCH_MC) {
          if (upper && i0 >= j0 + nb) break;
          const mb = min(GEMM_BATCH_MC, m - i0);
          gemmPackA(as_, aF32, lda, transA, i0, mb, p0, kb, pa);
          gemmMacro(mb, nb, kb, alpha, pa, pb, cs + ((<usize>(i0 * ldc + j0)) << cSh), ldc, cF32, upper ? j0 - i0 : 0x3fffffff, fresh && p0 == 0 ? 1 : 0);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Float32 arithmetic (f32x4): the matrix core's single-precision path (`linalg.gemmF32`), for products
// whose result is float32 anyway and whose caller accepts float32 accumulation error (PyTorch's, with
// an sgemm): twice the lanes of f64x2. Each entry of a tile is its own sequential float32 sum over the
// block's k steps from +0 (product and sum each rounded to float32, no FMA), then C ← C + α·sum in
// float64 rounded once to float32 on store — what gemmF32Reference (src/linalg/gemm.ts) computes with
// Math.fround, so the results are bit-identical to it. Register tile MR × NR = 4 × 8 float32: 8 f32x4
// accumulators, as the float64 kernel's 4 × 4 tile.
//
// Why 4 × 8 (measured in Node 20 on the project's Zen 4, A/B in one process, issue 9): V8 schedules a loop
// body's loads (effect-ordered) ahead of its arithmetic, so a tile holds its accumulators, every vector
// the step loads (B and the A splats) and one product at once: 8 + 2 + 4 + 1 = 15, all of x64's
// allocatable xmm registers (xmm15 is V8's scratch). 5 × 8 (18), 6 × 8, 3 × 12 and the 4 × 8 tile with
// its k-loop unrolled twice (21) spill and ran 1.4–2.3× slower. The step is 26 instructions (2 B loads,
// 4 vbroadcastss, 8 vmulps, 8 vaddps, 2 pointer adds, compare-branch) for 32 multiply-adds; the kernel
// alone (packed blocks) does 5.1–5.6 multiply-adds per cycle at the measured 3.6 GHz, 65–70 % of the
// 8 per cycle that 2 f32x4 multiplies + 2 adds per cycle allow, about what a load-free loop of
// independent multiply-add pairs reaches under V8 there (5.5–6.4); whole batches (packing, stores,
// edges) 65–80 %.

/** Columns of a float32 register tile / of a packed float32 B strip. */
export const GEMM32_NR: i32 = 8;
/**
 * Columns of op(B) per packed panel in {@link gemmBatch32}: KC × 256 float32, the bytes of gemmBatch's
 * KC × 128 float64 pack (the host's per-thread B block). Twice gemmBatch's width: a 196-column product
 * (bilinearPool's backward, 14 × 14 locations) is one panel, op(A) packed once per k-block, not twice
 * (measured 11 % faster there; 128 or 256 gave the same at 512 columns). A multiple of 8 (mirrorBand32).
 */
export const GEMM_BATCH_NC32: i32 = 256;

// @ts-ignore: decorator
@inline function ld32<T>(p: usize, i: i32): f32 {
  return <f32>load<T>(p + ((<usize>i) << alignof<T>()));
}

// @ts-ignore: decorator
@inline function packA32T<T>(src: usize, ld_: i32, trans: i32, i0: i32, mb: i32, p0: i32, kb: i32, dst: usize): void {
  for (let s = 0; s * GEMM_MR < mb; s++) {
    const base = dst + ((<usize>(s * kb * GEMM_MR)) << 2);
    const rows = min(GEMM_MR, mb - s * GEMM_MR);
    const ib = i0 + s * GEMM_MR;
    if (ASC_FEATURE_SIMD) {
      if (sizeof<T>() == 4 && rows == GEMM_MR) {
        packA32Full(src, ld_, trans, ib, p0, kb, base);
        continue;
      }
    }
    for (let r = 0; r < GEMM_MR; r++) {
      const d = base + ((<usize>r) << 2);
      if (r >= rows) {
        for (let p = 0; p < kb; p++) store<f32>(d + ((<usize>(p * GEMM_MR)) << 2), 0);
      } else if (trans) {
        for (let p = 0; p < kb; p++) store<f32>(d + ((<usize>(p * GEMM_MR)) << 2), ld32<T>(src, (p0 + p) * ld_ + ib + r));
      } else {
        const ro = (ib + r) * ld_ + p0;
        for (let p = 0; p < kb; p++) store<f32>(d + ((<usize>(p * GEMM_MR)) << 2), ld32<T>(src, ro + p));
      }
    }
  }
}

// @ts-ignore: decorator
@inline function packB32T<T>(src: usize, ld_: i32, trans: i32, p0: i32, kb: i32, j0: i32, nb: i32, dst: usize): void {
  for (let s = 0; s * GEMM32_NR < nb; s++) {
    const base = dst + ((<usize>(s * kb * GEMM32_NR)) << 2);
    const cols = min(GEMM32_NR, nb - s * GEMM32_NR);
    const jb = j0 + s * GEMM32_NR;
    if (ASC_FEATURE_SIMD) {
      if (sizeof<T>() == 4 && cols == GEMM32_NR) {
        packB32Full(src, ld_, trans, jb, p0, kb, base);
        continue;
      }
    }
    for (let q = 0; q < GEMM32_NR; q++) {
      const d = base + ((<usize>q) << 2);
      if (q >= cols) {
        for (let p = 0; p < kb; p++) store<f32>(d + ((<usize>(p * GEMM32_NR)) << 2), 0);
      } else if (trans) {
        const ro = (jb + q) * ld_ + p0;
        for (let p = 0; p < kb; p++) store<f32>(d + ((<usize>(p * GEMM32_NR)) << 2), ld32<T>(src, ro + p));
      } else {
        for (let p = 0; p < kb; p++) store<f32>(d + ((<usize>(p * GEMM32_NR)) << 2), ld32<T>(src, (p0 + p) * ld_ + jb + q));
      }
    }
  }
}

/**
 * Transpose-store four float32 vectors: dst[q·stride + r] = lane q of a_r (q, r < 4), as four v128 stores
 * of 16 bytes `stride`·4 bytes apart.
 */
// @ts-ignore: decorator
@inline function store4x4T(a0: v128, a1: v128, a2: v128, a3: v128, dst: usize, strideBytes: usize): void {
  const t0 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(dst + strideBytes, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * strideBytes, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * strideBytes, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

/**
 * A full MR-row float32 strip from float32 values: dst[p·4 + r] = op(A)[i0 + r, p0 + p] (packA32T's
 * layout), moved by v128 (4 × 4 transposes when op(A) = A). Only moves values.
 */
function packA32Full(src: usize, ld_: i32, trans: i32, i0: i32, p0: i32, kb: i32, dst: usize): void {
  if (trans) {
    let sp = src + ((<usize>(p0 * ld_ + i0)) << 2);
    const step = (<usize>ld_) << 2;
    for (let p = 0; p < kb; p++) {
      v128.store(dst, v128.load(sp));
      sp += step;
      dst += 16;
    }
    return;
  }
  const ldb = (<usize>ld_) << 2;
  let r0 = src + ((<usize>(i0 * ld_ + p0)) << 2);
  let p = 0;
  for (; p + 4 <= kb; p += 4) {
    store4x4T(v128.load(r0), v128.load(r0 + ldb), v128.load(r0 + 2 * ldb), v128.load(r0 + 3 * ldb), dst, 16);
    r0 += 16;
    dst += 64;
  }
  for (; p < kb; p++) {
    store<f32>(dst, load<f32>(r0));
    store<f32>(dst, load<f32>(r0 + ldb), 4);
    store<f32>(dst, load<f32>(r0 + 2 * ldb), 8);
    store<f32>(dst, load<f32>(r0 + 3 * ldb), 12);
    r0 += 4;
    dst += 16;
  }
}

/**
 * A full NR32-column float32 strip from float32 values: dst[p·8 + q] = op(B)[p0 + p, j0 + q]
 * (packB32T's layout), moved by v128 (two 4 × 4 transposes per 4 steps when op(B) = Bᵀ).
 */
function packB32Full(src: usize, ld_: i32, trans: i32, j0: i32, p0: i32, kb: i32, dst: usize): void {
  if (!trans) {
    copyStrip32(src + ((<usize>(p0 * ld_ + j0)) << 2), (<usize>ld_) << 2, kb, dst);
    return;
  }
  // op(B)[p, j] = B[j, p]: column q of the strip is contiguous in B's row j0 + q
  const ldb = (<usize>ld_) << 2;
  let r0 = src + ((<usize>(j0 * ld_ + p0)) << 2);
  const r4 = 4 * ldb;
  let p = 0;
  for (; p + 4 <= kb; p += 4) {
    store4x4T(v128.load(r0), v128.load(r0 + ldb), v128.load(r0 + 2 * ldb), v128.load(r0 + 3 * ldb), dst, 32);
    store4x4T(v128.load(r0 + r4), v128.load(r0 + r4 + ldb), v128.load(r0 + r4 + 2 * ldb), v128.load(r0 + r4 + 3 * ldb), dst + 16, 32);
    r0 += 16;
    dst += 128;
  }
  for (; p < kb; p++) {
    for (let q = 0; q < GEMM32_NR; q++) store<f32>(dst + ((<usize>q) << 2), load<f32>(r0 + (<usize>q) * ldb));
    r0 += 4;
    dst += 32;
  }
}

/**
 * gemmPackA32 for op(A) = X + Xᵀ (X float32, square, row stride ld): dst[(s·kb + p)·MR + r] = X[i, q] + X[q, i]
 * rounded to float32, i = i0 + s·MR + r, q = p0 + p (rows past mb zero) — the values of G + Gᵀ formed
 * first (float32 addition commutes, so either order gives the same bits), without forming it. SIMD: a
 * 4 × 4 block of X's rows transposed, plus four rows of X read straight (X[q, i…i+3] is contiguous).
 */
function gemmPackA32Sym(src: usize, ld_: i32, i0: i32, mb: i32, p0: i32, kb: i32, dst: usize): void {
  const ldb = (<usize>ld_) << 2;
  for (let s = 0; s * GEMM_MR < mb; s++) {
    const rows = min(GEMM_MR, mb - s * GEMM_MR);
    const ib = i0 + s * GEMM_MR;
    let d = dst + ((<usize>(s * kb * GEMM_MR)) << 2);
    let p = 0;
    if (ASC_FEATURE_SIMD) {
      if (rows == GEMM_MR) {
        let r0 = src + ((<usize>(ib * ld_ + p0)) << 2);
        let t0 = src + ((<usize>(p0 * ld_ + ib)) << 2);
        for (; p + 4 <= kb; p += 4) {
          const a0 = v128.load(r0), a1 = v128.load(r0 + ldb), a2 = v128.load(r0 + 2 * ldb), a3 = v128.load(r0 + 3 * ldb);
          const u0 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5);
          const u1 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5);
          const u2 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
          const u3 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
          v128.store(d, f32x4.add(v128.shuffle<f32>(u0, u1, 0, 1, 4, 5), v128.load(t0)));
          v128.store(d, f32x4.add(v128.shuffle<f32>(u0, u1, 2, 3, 6, 7), v128.load(t0 + ldb)), 16);
          v128.store(d, f32x4.add(v128.shuffle<f32>(u2, u3, 0, 1, 4, 5), v128.load(t0 + 2 * ldb)), 32);
          v128.store(d, f32x4.add(v128.shuffle<f32>(u2, u3, 2, 3, 6, 7), v128.load(t0 + 3 * ldb)), 48);
          r0 += 16;
          t0 += 4 * ldb;
          d += 64;
        }
      }
    }
    for (; p < kb; p++) {
      const q = p0 + p;
      for (let r = 0; r < GEMM_MR; r++) {
        const i = ib + r;
        store<f32>(d + ((<usize>r) << 2), r < rows ? load<f32>(src + ((<usize>(i * ld_ + q)) << 2)) + load<f32>(src + ((<usize>(q * ld_ + i)) << 2)) : 0);
      }
      d += GEMM_MR << 2;
    }
  }
}

/** op(A) block into MR-row float32 strips (values rounded to float32): dst[(s·kb + p)·MR + r]. */
function gemmPackA32(src: usize, f32: i32, ld_: i32, trans: i32, i0: i32, mb: i32, p0: i32, kb: i32, dst: usize): void {
  if (f32) packA32T<f32>(src, ld_, trans, i0, mb, p0, kb, dst);
  else packA32T<f64>(src, ld_, trans, i0, mb, p0, kb, dst);
}

/** op(B) panel into NR32-column float32 strips: dst[(s·kb + p)·NR32 + q]. */
function gemmPackB32(src: usize, f32: i32, ld_: i32, trans: i32, p0: i32, kb: i32, j0: i32, nb: i32, dst: usize): void {
  if (f32) packB32T<f32>(src, ld_, trans, p0, kb, j0, nb, dst);
  else packB32T<f64>(src, ld_, trans, p0, kb, j0, nb, dst);
}

/** One float32 C entry: C ← (fresh ? 0 : C) + α·t in float64, rounded once. */
// @ts-ignore: decorator
@inline function add32(c: usize, idx: i32, alpha: f64, t: f32, fresh: i32): void {
  const p = c + ((<usize>idx) << 2);
  store<f32>(p, <f32>((fresh ? 0.0 : <f64>load<f32>(p)) + alpha * <f64>t));
}

/**
 * Four float32 C entries from a vector of sums: C ← (fresh ? 0 : C) + α·t lane by lane, in float64
 * (promoted, multiplied, added), demoted once — the same operations as {@link add32}'s, two lanes per f64x2.
 */
// @ts-ignore: decorator
@inline function add32x4(p: usize, al: v128, t: v128, fresh: i32): void {
  const tHi = v128.shuffle<f32>(t, t, 2, 3, 0, 1);
  let lo = f64x2.mul(al, f64x2.promote_low_f32x4(t));
  let hi = f64x2.mul(al, f64x2.promote_low_f32x4(tHi));
  const zero = f64x2.splat(0);
  if (fresh) {
    lo = f64x2.add(zero, lo);
    hi = f64x2.add(zero, hi);
  } else {
    const cv = v128.load(p);
    lo = f64x2.add(f64x2.promote_low_f32x4(cv), lo);
    hi = f64x2.add(f64x2.promote_low_f32x4(v128.shuffle<f32>(cv, cv, 2, 3, 0, 1)), hi);
  }
  v128.store(p, v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
}

// @ts-ignore: decorator
@inline function store32Row(c: usize, o: i32, alpha: f64, v0: v128, v1: v128, cols: i32, fresh: i32): void {
  if (cols == GEMM32_NR) {
    const p = c + ((<usize>o) << 2);
    const al = f64x2.splat(alpha);
    add32x4(p, al, v0, fresh);
    add32x4(p + 16, al, v1, fresh);
    return;
  }
  add32(c, o, alpha, f32x4.extract_lane(v0, 0), fresh);
  if (cols > 1) add32(c, o + 1, alpha, f32x4.extract_lane(v0, 1), fresh);
  if (cols > 2) add32(c, o + 2, alpha, f32x4.extract_lane(v0, 2), fresh);
  if (cols > 3) add32(c, o + 3, alpha, f32x4.extract_lane(v0, 3), fresh);
  if (cols > 4) add32(c, o + 4, alpha, f32x4.extract_lane(v1, 0), fresh);
  if (cols > 5) add32(c, o + 5, alpha, f32x4.extract_lane(v1, 1), fresh);
  if (cols > 6) add32(c, o + 6, alpha, f32x4.extract_lane(v1, 2), fresh);
  if (cols > 7) add32(c, o + 7, alpha, f32x4.extract_lane(v1, 3), fresh);
}

/**
 * C[t + q·ldc + r] = C[o + r·ldc + q] (float32, element offsets from c) for r < rows, q < cols: a stored tile
 * copied transposed (two 4 × 4 v128 transposes for a full 4 × 8 tile).
 */
// @ts-ignore: decorator
@inline function mirrorTile32(c: usize, o: i32, t: i32, ldc: i32, rows: i32, cols: i32): void {
  const row = (<usize>ldc) << 2;
  const src = c + ((<usize>o) << 2);
  const dst = c + ((<usize>t) << 2);
  if (ASC_FEATURE_SIMD) {
    if (rows == GEMM_MR && cols == GEMM32_NR) {
      store4x4T(v128.load(src), v128.load(src + row), v128.load(src + 2 * row), v128.load(src + 3 * row), dst, row);
      store4x4T(v128.load(src, 16), v128.load(src + row, 16), v128.load(src + 2 * row, 16), v128.load(src + 3 * row, 16), dst + 4 * row, row);
      return;
    }
  }
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) store<f32>(dst + (<usize>q) * row + ((<usize>r) << 2), load<f32>(src + (<usize>r) * row + ((<usize>q) << 2)));
  }
}

/**
 * Float32 macro-kernel: C[mb × nb] (float32, row stride ldc) += α·(packed A)(packed B); `diag` as gemmMacro.
 * `sym` (SYRK with C's lower triangle kept equal to its upper, see {@link mirrorBand32}): each tile wholly
 * above the diagonal (its last row < its first column) is also copied, transposed, to the mirror place —
 * the tiles `diag` skips — right after it is stored.
 */
function gemmMacro32(mb: i32, nb: i32, kb: i32, alpha: f64, pa: usize, pb: usize, c: usize, ldc: i32, diag: i32, fresh: i32, sym: i32): void {
  for (let jr = 0; jr < nb; jr += GEMM32_NR) {
    const bBase = pb + ((<usize>(jr * kb)) << 2);
    const cols = min(GEMM32_NR, nb - jr);
    for (let ir = 0; ir < mb; ir += GEMM_MR) {
      if (diag + jr + GEMM32_NR - 1 < ir) continue;
      const aBase = pa + ((<usize>(ir * kb)) << 2);
      const rows = min(GEMM_MR, mb - ir);
      const o = ir * ldc + jr;
      if (ASC_FEATURE_SIMD) {
        let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
        let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
        let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
        let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
        let ap = aBase;
        let bp = bBase;
        const end = bBase + ((<usize>(kb * GEMM32_NR)) << 2);
        while (bp < end) {
          const b0 = v128.load(bp);
          const b1 = v128.load(bp, 16);
          let a = v128.load32_splat(ap);
          c00 = f32x4.add(c00, f32x4.mul(a, b0));
          c01 = f32x4.add(c01, f32x4.mul(a, b1));
          a = v128.load32_splat(ap, 4);
          c10 = f32x4.add(c10, f32x4.mul(a, b0));
          c11 = f32x4.add(c11, f32x4.mul(a, b1));
          a = v128.load32_splat(ap, 8);
          c20 = f32x4.add(c20, f32x4.mul(a, b0));
          c21 = f32x4.add(c21, f32x4.mul(a, b1));
          a = v128.load32_splat(ap, 12);
          c30 = f32x4.add(c30, f32x4.mul(a, b0));
          c31 = f32x4.add(c31, f32x4.mul(a, b1));
          ap += GEMM_MR << 2;
          bp += GEMM32_NR << 2;
        }
        store32Row(c, o, alpha, c00, c01, cols, fresh);
        if (rows > 1) store32Row(c, o + ldc, alpha, c10, c11, cols, fresh);
        if (rows > 2) store32Row(c, o + 2 * ldc, alpha, c20, c21, cols, fresh);
        if (rows > 3) store32Row(c, o + 3 * ldc, alpha, c30, c31, cols, fresh);
        if (sym && diag + jr > ir + GEMM_MR - 1) mirrorTile32(c, o, (diag + jr) * ldc + ir - diag, ldc, rows, cols);
      } else {
        // Scalar build: one row of the tile at a time, each entry its own sequential float32 sum.
        for (let r = 0; r < rows; r++) {
          for (let q = 0; q < cols; q++) {
            let s: f32 = 0;
            let ap = aBase + ((<usize>r) << 2);
            let bp = bBase + ((<usize>q) << 2);
            for (let p = 0; p < kb; p++) {
              s += load<f32>(ap) * load<f32>(bp);
              ap += GEMM_MR << 2;
              bp += GEMM32_NR << 2;
            }
            add32(c, o + r * ldc + q, alpha, s, fresh);
          }
        }
        if (sym && diag + jr > ir + GEMM_MR - 1) mirrorTile32(c, o, (diag + jr) * ldc + ir - diag, ldc, rows, cols);
      }
    }
  }
}

/**
 * Problems s0 … s1 of a batch in float32 arithmetic (C float32; A, B float32 or float64, rounded to
 * float32 when packed): the whole blocked GEMM of each problem, as {@link gemmBatch} (same KC, MC, NC
 * and `upper` meaning, except that an `upper` problem's lower triangle is mirrored here, each problem
 * right after its upper triangle; packs of half the bytes). Bit-identical to gemmF32Reference.
 * `symA`: op(A) = A + Aᵀ (A float32, not transposed, m = k: bilinearPool's backward (G + Gᵀ)·X), packed by
 * gemmPackA32Sym — the values of gemmF32Reference on G + Gᵀ formed in float32 first.
 */
export function gemmBatch32(
  s0: i32, s1: i32, a: usize, aF32: i32, lda: i32, sa: i32, transA: i32, b: usize, bF32: i32, ldb: i32, sb: i32, transB: i32,
  m: i32, n: i32, k: i32, alpha: f64, c: usize, ldc: i32, sc: i32, fresh: i32, upper: i32, pa: usize, pb: usize, symA: i32,
): void {
  const aSh: usize = aF32 ? 2 : 3;
  const bSh: usize = bF32 ? 2 : 3;
  // β = 0 SYRK-shaped problem: C's lower triangle is written as the tiles are stored (mirrorTile32), every
  // k-block keeping it equal to the upper, so only the band mirrorBand32 copies is left to mirror
  const sym = upper && fresh ? 1 : 0;
  for (let s = s0; s < s1; s++) {
    const as_ = a + ((<usize>s * <usize>sa) << aSh);
    const bs = b + ((<usize>s * <usize>sb) << bSh);
    const cs = c + ((<usize>s * <usize>sc) << 2);
    for (let j0 = 0; j0 < n; j0 += GEMM_BATCH_NC32) {
      const nb = min(GEMM_BATCH_NC32, n - j0);
      for (let p0 = 0; p0 < k; p0 += GEMM_BATCH_KC) {
        const kb = min(GEMM_BATCH_KC, k - p0);
        gemmPackB32(bs, bF32, ldb, transB, p0, kb, j0, nb, pb);
        for (let i0 = 0; i0 < m; i0 += GEMM_BATCH_MC) {
          if (upper && i0 >= j0 + nb) break;
          const mb = min(GEMM_BATCH_MC, m - i0);
          if (symA) gemmPackA32Sym(as_, lda, i0, mb, p0, kb, pa);
          else gemmPackA32(as_, aF32, lda, transA, i0, mb, p0, kb, pa);
          gemmMacro32(mb, nb, kb, alpha, pa, pb, cs + ((<usize>(i0 * ldc + j0)) << 2), ldc, upper ? j0 - i0 : 0x3fffffff, fresh && p0 == 0 ? 1 : 0, sym);
        }
      }
    }
    if (sym) mirrorBand32(cs, n, ldc);
    else if (upper) mirror32(cs, n, ldc);
  }
}

/**
 * The rest of mirror32 after gemmMacro32's `sym` stores: c[i, j] = c[j, i] for 8·⌊i/8⌋ ≤ j < i — the lower
 * entries whose tiles (rows 4⌊i/4⌋…, columns 8⌊j/8⌋…, tile grids of every block aligned to C's, MC and
 * NC being multiples of 8) `diag` does not skip. Every other lower entry c[i, j] (j < 8⌊i/8⌋) lies in a
 * skipped tile, whose mirror tile (rows 4⌊j/4⌋ … ≤ 8⌊i/8⌋ − 1 < its first column 8⌊i/8⌋) is wholly above
 * the diagonal and was copied there after each of its k-blocks. Same values as mirror32.
 */
function mirrorBand32(c: usize, n: i32, ldc: i32): void {
  for (let i = 1; i < n; i++) {
    const row = c + ((<usize>(i * ldc)) << 2);
    for (let j = i & ~7; j < i; j++) store<f32>(row + ((<usize>j) << 2), load<f32>(c + ((<usize>(j * ldc + i)) << 2)));
  }
}

/**
 * The lower triangle of the float32 n × n matrix at c (row stride ldc) copied from the upper:
 * c[i, j] = c[j, i] for j < i (mirrorUpper of src/linalg/gemm.ts), in 32 × 32 tiles so the column reads
 * stay in the cache.
 */
function mirror32(c: usize, n: i32, ldc: i32): void {
  if (ASC_FEATURE_SIMD) {
    mirror32Simd(c, n, ldc);
    return;
  }
  for (let i0 = 0; i0 < n; i0 += 32) {
    const i1 = min(n, i0 + 32);
    for (let j0 = 0; j0 <= i0; j0 += 32) {
      for (let i = max(i0, 1); i < i1; i++) {
        const j1 = min(i, j0 + 32);
        const row = c + ((<usize>(i * ldc)) << 2);
        for (let j = j0; j < j1; j++) store<f32>(row + ((<usize>j) << 2), load<f32>(c + ((<usize>(j * ldc + i)) << 2)));
      }
    }
  }
}

/**
 * mirror32 by 4 × 4 blocks: each block strictly above the diagonal, rows i0 … i0+3 and columns j0 … j0+3
 * (j0 ≥ i0 + 4), is loaded as four v128 and stored transposed at rows j0 …, columns i0 …; the lower
 * parts of the diagonal blocks and the rows and columns past the last multiple of 4 entry by entry.
 * The same copies as the scalar loop.
 */
function mirror32Simd(c: usize, n: i32, ldc: i32): void {
  const n4 = n & ~3;
  const row = (<usize>ldc) << 2;
  for (let i0 = 0; i0 < n4; i0 += 4) {
    const src = c + ((<usize>(i0 * ldc)) << 2);
    for (let j0 = i0 + 4; j0 < n4; j0 += 4) {
      const s = src + ((<usize>j0) << 2);
      store4x4T(v128.load(s), v128.load(s + row), v128.load(s + 2 * row), v128.load(s + 3 * row), c + ((<usize>(j0 * ldc + i0)) << 2), row);
    }
    // the diagonal block's lower part
    for (let i = i0 + 1; i < i0 + 4; i++) {
      for (let j = i0; j < i; j++) store<f32>(c + ((<usize>(i * ldc + j)) << 2), load<f32>(c + ((<usize>(j * ldc + i)) << 2)));
    }
  }
  // rows past n4: every column left of the diagonal
  for (let i = n4; i < n; i++) {
    for (let j = 0; j < i; j++) store<f32>(c + ((<usize>(i * ldc + j)) << 2), load<f32>(c + ((<usize>(j * ldc + i)) << 2)));
  }
}
