//! `y = x · Wᵀ` for a few rows of `x` against a large weight `W` (inference only): the
//! decode-step matmul of the sampler.
//!
//! A decode step multiplies `M` = batch ≤ 64 activation rows by every weight matrix once.
//! A general GEMM (candle's `gemm` crate) first packs `Wᵀ` into panels, which for so few
//! rows costs as much memory traffic as the multiply itself and runs with 256-bit
//! vectors. This kernel reads `W` in its stored `[out, in]` layout instead: a tile of
//! `NR` weight rows is streamed from memory once and dotted, 16 lanes at a time
//! (AVX-512), with the `M` activation rows, which stay in L1/L2. The tiles are spread over
//! rayon's pool. The result equals the plain matmul up to f32 summation order (the
//! tests compare against candle's matmul).
//!
//! Used only where it applies ([`applies`]: CPU, f32, contiguous, `M ≤ MAX_ROWS`, and a
//! CPU with AVX-512F); everything else goes through candle's matmul.

use std::ops::Range;

use candle_core::{DType, Error, Result, Shape, Tensor};

use super::cpu_op::{CpuKernel, Input, Op};

/// Most activation rows routed to this kernel; larger blocks (prefill, training) go to
/// the packed GEMM, which wins once `W` is reused across many rows.
pub(crate) const MAX_ROWS: usize = 64;

/// Activation rows per register tile.
const MR: usize = 4;
/// Weight rows per register tile: `MR × NR` = 16 accumulators of 16 lanes.
const NR: usize = 4;

/// Whether [`matmul_wt`] handles `x: [m, k]` against `w: [n, k]`.
pub(crate) fn applies(x: &Tensor, w: &Tensor) -> bool {
    let shapes_ok = match (x.dims(), w.dims()) {
        ([m, k], [_, kw]) => *m >= 1 && *m <= MAX_ROWS && k == kw && *k >= 1,
        _ => false,
    };
    shapes_ok
        && x.device().is_cpu()
        && x.dtype() == DType::F32
        && w.dtype() == DType::F32
        && w.is_contiguous()
        && has_avx512()
}

/// Whether this CPU runs the AVX-512 kernel (checked once by the standard library).
fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `x · wᵀ` (`x: [m, k]`, `w: [n, k]` → `[m, n]`) with no backward; call only where
/// [`applies`] holds.
pub(crate) fn matmul_wt(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op2_no_bwd(w, &Op(SmallGemm))
}

struct SmallGemm;

impl CpuKernel<2> for SmallGemm {
    const NAME: &'static str = "xrpo-small-gemm";

    fn forward(&self, [i1, i2]: [Input<'_>; 2]) -> Result<(Vec<f32>, Shape)> {
        let (x, w) = (i1.f32()?, i2.f32()?);
        let (m, k) = i1.layout.shape().dims2()?;
        let (n, k2) = i2.layout.shape().dims2()?;
        if k != k2 || m > MAX_ROWS || !has_avx512() {
            return Err(Error::Msg(format!(
                "xrpo-small-gemm: unsupported [{m}, {k}] x [{n}, {k2}]ᵀ"
            )));
        }
        let (x, w) = match (x.get(..m * k), w.get(..n * k)) {
            (Some(x), Some(w)) => (x, w),
            _ => {
                return Err(Error::Msg(
                    "xrpo-small-gemm: storage shorter than its layout".into(),
                ));
            }
        };
        let mut y = vec![0f32; m * n];
        let out = crate::runtime::DisjointOut(y.as_mut_ptr());
        let tiles = n.div_ceil(NR);
        crate::runtime::par_ranges(tiles, |r: Range<usize>| {
            // Capture the whole Sync wrapper, not its raw-pointer field.
            let cols_out = out;
            let cols = r.start * NR..(r.end * NR).min(n);
            // SAFETY: AVX-512F was detected above; `x` holds m·k and `w` n·k floats;
            // `out` points at m·n floats that outlive the pool call, and this worker
            // writes only columns `cols`, disjoint from every other worker's.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                avx512::gemm_cols(x, w, m, k, n, cols, cols_out.0)
            };
            #[cfg(not(target_arch = "x86_64"))]
            let _ = (cols, cols_out);
        });
        Ok((y, Shape::from((m, n))))
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;
    use std::ops::Range;

    use super::{MR, NR};

    /// Columns `cols` of `y[m, n] = x[m, k] · w[n, k]ᵀ`, tile by tile.
    ///
    /// # Safety
    /// AVX-512F must be available; `x` has `m·k` and `w` `n·k` elements; `y` points at
    /// `m·n` writable floats and `cols ⊆ 0..n`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn gemm_cols(
        x: &[f32],
        w: &[f32],
        m: usize,
        k: usize,
        n: usize,
        cols: Range<usize>,
        y: *mut f32,
    ) {
        let mut j = cols.start;
        while j < cols.end {
            let nr = NR.min(cols.end - j);
            let mut i = 0;
            while i < m {
                let mr = MR.min(m - i);
                // SAFETY: rows i..i+mr of x and j..j+nr of w exist; y(i, j) + the tile
                // stays inside the m×n output (caller's contract).
                unsafe {
                    let xp = x.as_ptr().add(i * k);
                    let wp = w.as_ptr().add(j * k);
                    let yp = y.add(i * n + j);
                    match (mr, nr) {
                        (4, 4) => tile::<4, 4>(xp, wp, k, yp, n),
                        (4, 3) => tile::<4, 3>(xp, wp, k, yp, n),
                        (4, 2) => tile::<4, 2>(xp, wp, k, yp, n),
                        (4, 1) => tile::<4, 1>(xp, wp, k, yp, n),
                        (3, 4) => tile::<3, 4>(xp, wp, k, yp, n),
                        (3, 3) => tile::<3, 3>(xp, wp, k, yp, n),
                        (3, 2) => tile::<3, 2>(xp, wp, k, yp, n),
                        (3, 1) => tile::<3, 1>(xp, wp, k, yp, n),
                        (2, 4) => tile::<2, 4>(xp, wp, k, yp, n),
                        (2, 3) => tile::<2, 3>(xp, wp, k, yp, n),
                        (2, 2) => tile::<2, 2>(xp, wp, k, yp, n),
                        (2, 1) => tile::<2, 1>(xp, wp, k, yp, n),
                        (1, 4) => tile::<1, 4>(xp, wp, k, yp, n),
                        (1, 3) => tile::<1, 3>(xp, wp, k, yp, n),
                        (1, 2) => tile::<1, 2>(xp, wp, k, yp, n),
                        _ => tile::<1, 1>(xp, wp, k, yp, n),
                    }
                }
                i += mr;
            }
            j += nr;
        }
    }

    /// One `R × C` tile: `y[r·ldy + c] = Σ_l x[r·k + l] · w[c·k + l]`, 16 lanes of `l`
    /// per step (the last step masked), one horizontal sum per output at the end.
    ///
    /// # Safety
    /// AVX-512F; `x` has `R` rows and `w` `C` rows of `k` floats; `y` has `R` rows of
    /// stride `ldy` with `C` writable floats each.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn tile<const R: usize, const C: usize>(
        x: *const f32,
        w: *const f32,
        k: usize,
        y: *mut f32,
        ldy: usize,
    ) {
        let mut acc = [[_mm512_setzero_ps(); C]; R];
        let full = k / 16;
        let rem = k % 16;
        // SAFETY (all loads): offsets stay below k within each row (caller's contract);
        // the masked tail loads touch only the `rem` valid lanes.
        for s in 0..full {
            let off = s * 16;
            let mut wv = [_mm512_setzero_ps(); C];
            for (c, wc) in wv.iter_mut().enumerate() {
                *wc = unsafe { _mm512_loadu_ps(w.add(c * k + off)) };
            }
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let xv = unsafe { _mm512_loadu_ps(x.add(r * k + off)) };
                for (a, wc) in acc_r.iter_mut().zip(&wv) {
                    *a = _mm512_fmadd_ps(xv, *wc, *a);
                }
            }
        }
        if rem != 0 {
            let mask: __mmask16 = (1u16 << rem) - 1;
            let off = full * 16;
            let mut wv = [_mm512_setzero_ps(); C];
            for (c, wc) in wv.iter_mut().enumerate() {
                *wc = unsafe { _mm512_maskz_loadu_ps(mask, w.add(c * k + off)) };
            }
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let xv = unsafe { _mm512_maskz_loadu_ps(mask, x.add(r * k + off)) };
                for (a, wc) in acc_r.iter_mut().zip(&wv) {
                    *a = _mm512_fmadd_ps(xv, *wc, *a);
                }
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
            for (c, a) in acc_r.iter().enumerate() {
                // SAFETY: (r, c) lies inside the tile the caller reserved.
                unsafe { *y.add(r * ldy + c) = _mm512_reduce_add_ps(*a) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;

    fn random(rows: usize, cols: usize, rng: &mut StdRng) -> Tensor {
        let v: Vec<f32> = (0..rows * cols)
            .map(|_| rng.random::<f32>() * 2.0 - 1.0)
            .collect();
        Tensor::from_vec(v, (rows, cols), &Device::Cpu).expect("shape matches data")
    }

    /// Every tile shape and a masked tail: m over 1..=9 (full and partial row tiles),
    /// n not a multiple of the tile, k with and without a 16-lane remainder.
    #[test]
    fn matches_an_f64_reference() -> Result<()> {
        if !has_avx512() {
            eprintln!("SKIPPED: this CPU has no AVX-512F; the kernel is never used here");
            return Ok(());
        }
        let mut rng = StdRng::seed_from_u64(7);
        for &(m, n, k) in &[
            (1, 1, 1),
            (1, 7, 16),
            (3, 5, 17),
            (4, 4, 64),
            (5, 9, 33),
            (9, 13, 100),
            (16, 70, 576),
            (64, 37, 128),
        ] {
            let x = random(m, k, &mut rng);
            let w = random(n, k, &mut rng);
            assert!(applies(&x, &w));
            let got = matmul_wt(&x, &w)?.to_vec2::<f32>()?;
            let (xv, wv) = (x.to_vec2::<f32>()?, w.to_vec2::<f32>()?);
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k).map(|l| xv[i][l] as f64 * wv[j][l] as f64).sum();
                    let tol = 1e-5 * (k as f64).sqrt() + 1e-6;
                    assert!(
                        (got[i][j] as f64 - want).abs() < tol,
                        "[{m},{k}]x[{n},{k}] at ({i},{j}): {} vs {want}",
                        got[i][j]
                    );
                }
            }
        }
        Ok(())
    }

    #[test]
    fn refuses_what_it_does_not_handle() {
        let mut rng = StdRng::seed_from_u64(1);
        let w = random(8, 16, &mut rng);
        assert!(!applies(&random(MAX_ROWS + 1, 16, &mut rng), &w));
        assert!(!applies(&random(2, 15, &mut rng), &w));
        let half = random(2, 16, &mut rng)
            .to_dtype(DType::F16)
            .expect("f16 cast");
        assert!(!applies(&half, &w));
        assert!(!applies(
            &random(2, 8, &mut rng),
            &w.t().expect("transpose")
        ));
    }
}
