//! Helpers shared by the kernel unit tests of this module.

use candle_core::{Device, Tensor};

/// A tensor of standard-normal f32 values on the CPU, reproducible from `seed`.
pub(super) fn randn(shape: &[usize], seed: u64) -> Tensor {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).expect("shape matches data")
}

/// `max |a − b|` over all elements.
pub(super) fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    let d = (a - b).and_then(|d| d.abs()).and_then(|d| d.max_all());
    d.and_then(|d| d.to_scalar::<f32>())
        .expect("same shapes, f32")
}

/// [`max_diff`] relative to `max |b|`.
pub(super) fn max_rel_diff(a: &Tensor, b: &Tensor) -> f32 {
    let scale = b
        .abs()
        .and_then(|t| t.max_all())
        .and_then(|t| t.to_scalar::<f32>())
        .expect("f32");
    max_diff(a, b) / scale.max(1e-6)
}
