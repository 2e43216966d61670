//! What every kernel of this module shares: the one wrapper that turns a kernel into
//! candle's `CustomOp1/2/3` ([`CpuKernel`] + [`Op`]), reading a candle CPU buffer as a
//! slice, the device/dtype test, and running rows in parallel on the kernels' pool.

use std::ops::Range;

use candle_core::backend::BackendStorage;
use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Error, Layout, Result, Shape, Tensor,
};

/// One input of a [`CpuKernel`]: candle's CPU buffer and its layout, read as a
/// contiguous slice on demand (errors name the kernel).
#[derive(Clone, Copy)]
pub(crate) struct Input<'a> {
    op: &'static str,
    storage: &'a CpuStorage,
    /// The input's layout (shape, strides, offset).
    pub(crate) layout: &'a Layout,
}

impl<'a> Input<'a> {
    /// The contiguous f32 data, or an error naming the kernel.
    pub(crate) fn f32(&self) -> Result<&'a [f32]> {
        let (start, end) = self.contiguous()?;
        match self.storage {
            CpuStorage::F32(v) => Ok(&v[start..end]),
            other => Err(Error::UnsupportedDTypeForOp(other.dtype(), self.op)),
        }
    }

    /// The contiguous u32 data (token ids), or an error naming the kernel.
    pub(crate) fn u32(&self) -> Result<&'a [u32]> {
        let (start, end) = self.contiguous()?;
        match self.storage {
            CpuStorage::U32(v) => Ok(&v[start..end]),
            other => Err(Error::UnsupportedDTypeForOp(other.dtype(), self.op)),
        }
    }

    /// The input's dimensions.
    pub(crate) fn dims(&self) -> &'a [usize] {
        self.layout.dims()
    }

    /// The input's shape.
    pub(crate) fn shape(&self) -> Shape {
        self.layout.shape().clone()
    }

    /// The input's last dimension (1 for a scalar or an empty last axis).
    pub(crate) fn width(&self) -> usize {
        self.dims().last().copied().unwrap_or(1).max(1)
    }

    fn contiguous(&self) -> Result<(usize, usize)> {
        self.layout
            .contiguous_offsets()
            .ok_or(Error::RequiresContiguous { op: self.op })
    }
}

/// A CPU f32 kernel over `N` tensors: the forward on contiguous buffers and, where the
/// op is differentiable, its backward in candle tensors. [`Op`] makes it candle's
/// `CustomOpN` (N = 1, 2, 3), so no kernel repeats candle's storage plumbing.
pub(crate) trait CpuKernel<const N: usize>: Send + Sync {
    /// The op's name in candle's errors and graphs.
    const NAME: &'static str;

    /// The output buffer and its shape.
    fn forward(&self, inputs: [Input<'_>; N]) -> Result<(Vec<f32>, Shape)>;

    /// The gradients with respect to `args`, given the output `out` and its gradient
    /// `grad`. The default records no backward (candle's `BackwardNotSupported`).
    fn backward(
        &self,
        args: [&Tensor; N],
        out: &Tensor,
        grad: &Tensor,
    ) -> Result<[Option<Tensor>; N]> {
        let _ = (args, out, grad);
        Err(Error::BackwardNotSupported { op: Self::NAME })
    }
}

/// A [`CpuKernel`] as candle's custom op: `a.apply_op2(&b, Op(kernel))`.
pub(crate) struct Op<K>(pub(crate) K);

impl<K> Op<K> {
    fn run<const N: usize>(
        &self,
        inputs: [(&CpuStorage, &Layout); N],
    ) -> Result<(CpuStorage, Shape)>
    where
        K: CpuKernel<N>,
    {
        let inputs = inputs.map(|(storage, layout)| Input {
            op: K::NAME,
            storage,
            layout,
        });
        let (out, shape) = self.0.forward(inputs)?;
        Ok((CpuStorage::F32(out), shape))
    }
}

impl<K: CpuKernel<1>> CustomOp1 for Op<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        self.run([(s, l)])
    }

    fn bwd(&self, arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let [ga] = self.0.backward([arg], res, grad)?;
        Ok(ga)
    }
}

impl<K: CpuKernel<2>> CustomOp2 for Op<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.run([(s1, l1), (s2, l2)])
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let [ga, gb] = self.0.backward([a, b], res, grad)?;
        Ok((ga, gb))
    }
}

impl<K: CpuKernel<3>> CustomOp3 for Op<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.run([(s1, l1), (s2, l2), (s3, l3)])
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        c: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let [ga, gb, gc] = self.0.backward([a, b, c], res, grad)?;
        Ok((ga, gb, gc))
    }
}

/// Runs `f(row_range, out_rows)` over `rows` rows of width `width` in parallel and
/// returns the filled buffer.
pub(crate) fn par_rows(
    rows: usize,
    width: usize,
    f: impl Fn(Range<usize>, &mut [f32]) + Sync,
) -> Vec<f32> {
    let mut out = vec![0f32; rows * width];
    let ptr = crate::runtime::DisjointOut(out.as_mut_ptr());
    crate::runtime::par_ranges(rows, |r: Range<usize>| {
        let p = ptr;
        // SAFETY: `r` is within 0..rows, disjoint from every other worker's range, and
        // `out` outlives the pool call (par_ranges returns after all workers).
        let dst =
            unsafe { std::slice::from_raw_parts_mut(p.0.add(r.start * width), r.len() * width) };
        f(r, dst);
    });
    out
}

/// Whether the fused kernels apply to `x`.
pub(crate) fn supported(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}
