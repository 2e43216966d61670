//! Our own CPU f32 kernels as candle custom ops, one op per file. The model
//! (`crate::model`) calls a kernel where it applies ([`supported`]: CPU and f32, plus
//! each kernel's own `applies` test) and candle's elementary ops elsewhere (other
//! devices and dtypes); the tests compare every kernel, forward and gradient, with those
//! composed ops.
//!
//! - `cpu_op`: what every kernel shares: `CpuKernel` + `Op`, the one wrapper that
//!   makes a kernel candle's `CustomOp1/2/3`, its inputs as slices (errors name the op),
//!   [`supported`], and rows in parallel on the kernels' pool.
//! - `softmax`: softmax over the last dimension, with a one-pass backward.
//! - `rms_norm`: RMSNorm, with a one-pass backward (∂x and ∂w).
//! - `rope`: rotary position embedding, backward by the inverse rotation.
//! - `heads`: the attention heads' layout moves (split + RoPE, merge) as one op.
//! - `swiglu`: `silu(a) ⊙ b`, with a one-pass backward.
//! - `target_logprob`: `log softmax(logits)[target]` per row, never materialising the
//!   log-softmax.
//! - `linear`: the training `x·Wᵀ` and its backward, on the kernels' thread pool.
//! - `causal_attention`: causal grouped-query attention of the training forward, which
//!   recomputes the probabilities in its backward.
//! - `small_gemm`: the decode-time `x·Wᵀ` for ≤ 64 rows (AVX-512).
//! - `decode_attention`: one new token's attention over its KV cache.

pub(crate) mod causal_attention;
mod cpu_op;
pub(crate) mod decode_attention;
pub(crate) mod heads;
pub(crate) mod linear;
pub(crate) mod rms_norm;
pub(crate) mod rope;
pub(crate) mod small_gemm;
pub(crate) mod softmax;
pub(crate) mod swiglu;
pub(crate) mod target_logprob;
#[cfg(test)]
mod test_util;

pub(crate) use cpu_op::supported;
