//! Helpers shared by the kernel unit tests of this module.

use candle_core::{Device, Tensor, Var};

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

/// Gradients of `Σ f(inputs) ⊙ probe` for each input, through `f`.
pub(super) fn grads(
    inputs: &[Tensor],
    probe: &Tensor,
    f: impl Fn(&[Tensor]) -> Tensor,
) -> Vec<Tensor> {
    let vars: Vec<Var> = inputs
        .iter()
        .map(|t| Var::from_tensor(t).unwrap())
        .collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let loss = (f(&ts) * probe).unwrap().sum_all().unwrap();
    let g = loss.backward().unwrap();
    ts.iter().map(|t| g.get(t).unwrap().clone()).collect()
}
