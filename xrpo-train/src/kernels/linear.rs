//! The linear layers of the training forward on the CPU, `y = x·Wᵀ`, as our own op with
//! an explicit backward, its three matrix products run on the same thread pool as every
//! other kernel of the step.
//!
//! candle's CPU matmul runs the `gemm` crate on rayon's pool while candle's own pool
//! (which runs the element-wise ops and our fused kernels) busy-waits for its next op.
//! On the tiny model's shapes (2048 rows × 128–352 columns) `gemm` also often keeps one
//! rayon thread busy: `perf` showed one core doing the product and the other spinning.
//! Here every product is split into equal blocks of output rows, one `gemm` call without
//! internal threading per block, spread over [`crate::runtime::par_ranges`]. Each output
//! element is computed by one call in a fixed order, so results do not depend on which
//! worker took which block. The backward needs no transposed copy: the weight gradient
//! `gᵀ·x` comes out in W's own `[out, in]` layout.

use candle_core::{DType, Error, Layout, Result, Shape, Tensor};

use super::cpu_op::{CpuKernel, Input, Op};

/// Which product of two row-major matrices `a`, `b`.
#[derive(Clone, Copy, Debug)]
enum Product {
    /// `a[m, k] · b[n, k]ᵀ` → `[m, n]` (the forward `x·Wᵀ`).
    ABt,
    /// `a[m, k] · b[k, n]` → `[m, n]` (the input gradient `g·W`).
    AB,
    /// `a[k, m]ᵀ · b[k, n]` → `[m, n]` (the weight gradient `gᵀ·x`).
    AtB,
}

/// A strided matrix operand for [`mm`]: element `(i, j)` at `data[i·rs + j·cs]`.
#[derive(Clone, Copy)]
pub(super) struct Operand<'a> {
    pub(super) data: &'a [f32],
    pub(super) rs: isize,
    pub(super) cs: isize,
}

impl Operand<'_> {
    /// Whether every element of a `rows × cols` matrix lies inside `data`.
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || ((rows - 1) as isize * self.rs + (cols - 1) as isize * self.cs)
                < self.data.len() as isize
    }
}

/// `dst[m, n] (row-major) = scale · lhs[m, k] · rhs[k, n]`, one single-threaded `gemm`
/// call. Panics if an operand does not hold its matrix (a bug in the caller: every
/// caller derives the strides from checked shapes).
pub(super) fn mm(
    dst: &mut [f32],
    (m, n, k): (usize, usize, usize),
    lhs: Operand<'_>,
    rhs: Operand<'_>,
    scale: f32,
) {
    assert!(
        dst.len() >= m * n && lhs.fits(m, k) && rhs.fits(k, n),
        "mm: operand out of bounds"
    );
    assert!(
        lhs.rs >= 0 && lhs.cs >= 0 && rhs.rs >= 0 && rhs.cs >= 0,
        "mm: negative stride"
    );
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the asserts above keep every element gemm reads inside `lhs.data` and
    // `rhs.data` and every element it writes inside `dst` (row-major, m × n).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.data.as_ptr(),
            lhs.cs,
            lhs.rs,
            rhs.data.as_ptr(),
            rhs.cs,
            rhs.rs,
            0.0,
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

impl Product {
    /// `(m, n, k)` and the strides of the left and right operands as `gemm` reads them
    /// (their `data` is filled in by the caller).
    fn plan<'a>(
        self,
        a: (usize, usize),
        b: (usize, usize),
    ) -> Result<(usize, usize, usize, Operand<'a>, Operand<'a>)> {
        let row_major = |cols: usize| Operand {
            data: &[],
            rs: cols as isize,
            cs: 1,
        };
        let transposed = |cols: usize| Operand {
            data: &[],
            rs: 1,
            cs: cols as isize,
        };
        let (m, n, k, lhs, rhs) = match self {
            Product::ABt => (a.0, b.0, a.1, row_major(a.1), transposed(b.1)),
            Product::AB => (a.0, b.1, a.1, row_major(a.1), row_major(b.1)),
            Product::AtB => (a.1, b.1, a.0, transposed(a.1), row_major(b.1)),
        };
        let k_rhs = match self {
            Product::ABt => b.1,
            Product::AB | Product::AtB => b.0,
        };
        if k != k_rhs {
            return Err(Error::Msg(format!(
                "xrpo-linear {self:?}: inner dimensions {k} and {k_rhs} differ ({a:?}, {b:?})"
            )));
        }
        Ok((m, n, k, lhs, rhs))
    }
}

/// Rows of the output per block: an equal share per thread, a multiple of 16.
fn block_rows(m: usize) -> usize {
    let threads = candle_core::utils::get_num_threads().max(1);
    m.div_ceil(threads).next_multiple_of(16).max(16)
}

/// The matrix product `op(a, b)` of two contiguous f32 matrices, in parallel blocks of
/// output rows.
fn product(
    op: Product,
    a: &[f32],
    a_dims: (usize, usize),
    b: &[f32],
    b_dims: (usize, usize),
) -> Result<Vec<f32>> {
    let (m, n, k, lhs, rhs) = op.plan(a_dims, b_dims)?;
    let mut out = vec![0f32; m * n];
    if m == 0 || n == 0 {
        return Ok(out);
    }
    let rows = block_rows(m);
    let out_ptr = crate::runtime::DisjointOut(out.as_mut_ptr());
    crate::runtime::par_ranges(m.div_ceil(rows), |blocks| {
        // The whole wrapper (Sync), not its raw-pointer field, is captured.
        let dst = out_ptr;
        for blk in blocks {
            let r0 = blk * rows;
            let mb = rows.min(m - r0);
            // SAFETY: block `blk` owns output rows r0..r0+mb (disjoint from every other
            // block) of `out`, which outlives the pool call.
            let dst = unsafe { std::slice::from_raw_parts_mut(dst.0.add(r0 * n), mb * n) };
            let lhs_rows = &a[r0 * lhs.rs as usize..];
            let lhs = Operand {
                data: lhs_rows,
                ..lhs
            };
            mm(dst, (mb, n, k), lhs, Operand { data: b, ..rhs }, 1.0);
        }
    });
    Ok(out)
}

/// The 2-D dims of a matrix operand, or an error naming the op.
fn dims2(layout: &Layout) -> Result<(usize, usize)> {
    match layout.dims() {
        &[r, c] => Ok((r, c)),
        d => Err(Error::Msg(format!(
            "xrpo-linear: expected a matrix, got dims {d:?}"
        ))),
    }
}

/// A product without backward (the pieces of [`Linear`]'s gradient).
struct Mm(Product);

impl CpuKernel<2> for Mm {
    const NAME: &'static str = "xrpo-matmul";

    fn forward(&self, [i1, i2]: [Input<'_>; 2]) -> Result<(Vec<f32>, Shape)> {
        let (a, b) = (i1.f32()?, i2.f32()?);
        let (ad, bd) = (dims2(i1.layout)?, dims2(i2.layout)?);
        let (m, n, ..) = self.0.plan(ad, bd)?;
        let out = product(self.0, a, ad, b, bd)?;
        Ok((out, Shape::from((m, n))))
    }
}

/// `x[N, in] · W[out, in]ᵀ` with gradients ∂x = g·W and ∂W = gᵀ·x.
struct Linear;

impl CpuKernel<2> for Linear {
    const NAME: &'static str = "xrpo-linear";

    fn forward(&self, [i1, i2]: [Input<'_>; 2]) -> Result<(Vec<f32>, Shape)> {
        Mm(Product::ABt).forward([i1, i2])
    }

    fn backward(
        &self,
        [x, w]: [&Tensor; 2],
        _y: &Tensor,
        g: &Tensor,
    ) -> Result<[Option<Tensor>; 2]> {
        let g = g.contiguous()?;
        let gx = g.apply_op2_no_bwd(w, &Op(Mm(Product::AB)))?;
        let gw = g.apply_op2_no_bwd(x, &Op(Mm(Product::AtB)))?;
        Ok([Some(gx), Some(gw)])
    }
}

/// Whether [`linear`] applies: CPU, f32, a matrix input and weight.
pub(crate) fn applies(x: &Tensor, w: &Tensor) -> bool {
    x.device().is_cpu()
        && x.dtype() == DType::F32
        && w.dtype() == DType::F32
        && x.rank() == 2
        && w.rank() == 2
}

/// Differentiable `x·Wᵀ` for `x: [N, in]`, `w: [out, in]` (see the module docs).
pub(crate) fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op2(&w.contiguous()?, Op(Linear))
}

#[cfg(test)]
mod tests {
    use candle_core::Var;

    use super::super::test_util::{max_rel_diff, randn};
    use super::*;

    #[test]
    fn output_and_gradients_match_candle_matmul() {
        // Row counts that do not divide into the blocks evenly, and a single row.
        for (n, din, dout) in [(2048, 128, 352), (37, 24, 17), (1, 8, 5), (130, 96, 33)] {
            let (x, w, probe) = (
                randn(&[n, din], 1),
                randn(&[dout, din], 2),
                randn(&[n, dout], 3),
            );
            let run = |ours: bool| {
                let (xv, wv) = (Var::from_tensor(&x).unwrap(), Var::from_tensor(&w).unwrap());
                let y = if ours {
                    linear(xv.as_tensor(), wv.as_tensor()).unwrap()
                } else {
                    xv.as_tensor().matmul(&wv.as_tensor().t().unwrap()).unwrap()
                };
                let g = (&y * &probe)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                let gx = g.get(xv.as_tensor()).unwrap().clone();
                let gw = g.get(wv.as_tensor()).unwrap().clone();
                (y, gx, gw)
            };
            let (a, b) = (run(true), run(false));
            for (name, p, q) in [("y", &a.0, &b.0), ("dx", &a.1, &b.1), ("dw", &a.2, &b.2)] {
                assert_eq!(p.dims(), q.dims(), "{name} at {n}x{din}x{dout}");
                let d = max_rel_diff(p, q);
                assert!(
                    d < 1e-5,
                    "{name} at {n}x{din}x{dout} differs by {d} (relative)"
                );
            }
        }
    }

    #[test]
    fn mismatched_inner_dimensions_are_an_error() {
        let (x, w) = (randn(&[4, 3], 1), randn(&[5, 2], 2));
        let err = linear(&x, &w).unwrap_err().to_string();
        assert!(err.contains("inner dimensions"), "{err}");
    }
}
