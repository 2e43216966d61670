//! The decoder forward pass, in two modes sharing one code path: differentiable (every
//! op records a backward) and inference (candle's fused kernels, no backward).

use candle_core::{D, DType, Tensor, Var};

use super::{ModelError, Policy};

/// Which forward path to run.
///
/// All compute the same function (tests check the logits and gradients agree); they
/// differ in the kernels. candle's fused `rms_norm`, `softmax_last_dim` and `rope` record
/// no backward, so the training paths use our own kernels with an explicit backward
/// (CPU, f32) or compose RMSNorm, RoPE and softmax from elementary ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ForwardMode {
    /// The fastest differentiable path for the weights' device and dtype: fused
    /// softmax / RMSNorm / target log-prob kernels with explicit backward on CPU f32,
    /// [`ForwardMode::Composed`] elsewhere. Gradients reach every weight. For training.
    #[default]
    Differentiable,
    /// Elementary differentiable candle ops only, on any device and dtype: the reference
    /// the fused kernels are tested against.
    Composed,
    /// Fused kernels and detached weights; no graph is recorded. For sampling, π_old and
    /// π_ref log-probs.
    Inference,
}

/// Positions of the tokens of one forward block, for RoPE.
pub(crate) enum Positions {
    /// Every row sits at positions `start..start + t`.
    Shared {
        /// Position of the first token of the block.
        start: usize,
    },
    /// Row `i`, column `j` sits at `pos[i][j]` (`[b, t]` u32), e.g. for left-padded
    /// batches where each sequence counts from its own first real token.
    PerRow(Tensor),
}

/// The attention mask of one forward block.
pub(crate) enum AttnMask<'a> {
    /// Plain causal attention over the block itself (no cache, no padding).
    Causal,
    /// Additive mask broadcastable to `[b, t, n]`, `n` the number of key positions.
    Additive(&'a Tensor),
    /// One decode step over a left-padded cache: row `i`'s keys `0..pads[i]` are its
    /// pads, hidden; every other key is visible.
    LeftPads(&'a [usize]),
}

/// Key/value cache of one batch: per layer `[b, kv_heads, capacity, head_dim]`,
/// preallocated and written in place, so a decode step costs O(t), not O(t²) copies.
pub(crate) struct KvCache {
    pub(crate) k: Vec<Tensor>,
    pub(crate) v: Vec<Tensor>,
    /// Number of filled positions.
    pub(crate) len: usize,
}

impl KvCache {
    /// An empty cache for `batch` sequences of at most `capacity` tokens.
    pub(crate) fn new(
        policy: &Policy,
        batch: usize,
        capacity: usize,
    ) -> Result<KvCache, ModelError> {
        let c = &policy.config;
        let shape = (batch, c.num_key_value_heads, capacity, c.head_dim());
        let mut k = Vec::with_capacity(c.num_hidden_layers);
        let mut v = Vec::with_capacity(c.num_hidden_layers);
        for _ in 0..c.num_hidden_layers {
            k.push(Tensor::zeros(shape, policy.dtype, &policy.device)?);
            v.push(Tensor::zeros(shape, policy.dtype, &policy.device)?);
        }
        Ok(KvCache { k, v, len: 0 })
    }

    /// Keeps only the batch rows in `rows` (`u32` indices, in the order given), so
    /// finished sequences stop costing compute.
    pub(crate) fn select_rows(&mut self, rows: &Tensor) -> Result<(), ModelError> {
        for t in self.k.iter_mut().chain(self.v.iter_mut()) {
            *t = t.index_select(rows, 0)?;
        }
        Ok(())
    }
}

impl Policy {
    /// The tensor of `v` as the given mode wants it: tracked for the differentiable
    /// path, detached (no graph) for inference.
    fn w(&self, v: &Var, mode: ForwardMode) -> Tensor {
        match mode {
            ForwardMode::Differentiable | ForwardMode::Composed => v.as_tensor().clone(),
            ForwardMode::Inference => v.as_tensor().detach(),
        }
    }

    /// `x · Wᵀ (+ b)` for `x: [N, in]`, `W: [out, in]` (Hugging Face `Linear` layout).
    fn linear(
        &self,
        x: &Tensor,
        w: &Var,
        b: Option<&Var>,
        mode: ForwardMode,
    ) -> Result<Tensor, ModelError> {
        let w = self.w(w, mode);
        // Decode steps multiply a few rows by each weight: the small-row kernel reads W
        // in place instead of packing it (inference only; it records no backward).
        let y = match mode {
            ForwardMode::Inference if crate::kernels::small_gemm::applies(x, &w) => {
                crate::kernels::small_gemm::matmul_wt(x, &w)?
            }
            // Training on the CPU: our op, its products on the kernels' pool.
            ForwardMode::Differentiable if crate::kernels::linear::applies(x, &w) => {
                crate::kernels::linear::linear(x, &w)?
            }
            _ => x.matmul(&w.t()?)?,
        };
        Ok(match b {
            Some(b) => y.broadcast_add(&self.w(b, mode))?,
            None => y,
        })
    }

    /// RMSNorm: `x / sqrt(mean(x²) + ε) · g` over the last dimension.
    fn rms_norm(&self, x: &Tensor, g: &Var, mode: ForwardMode) -> Result<Tensor, ModelError> {
        let eps = self.config.rms_norm_eps;
        match mode {
            ForwardMode::Inference => Ok(candle_nn::ops::rms_norm(
                &x.contiguous()?,
                &self.w(g, mode),
                eps as f32,
            )?),
            ForwardMode::Differentiable if crate::kernels::supported(x) => Ok(
                crate::kernels::rms_norm::rms_norm(x, &self.w(g, mode), eps)?,
            ),
            ForwardMode::Differentiable | ForwardMode::Composed => {
                let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
                let inv_rms = (ms + eps)?.sqrt()?.recip()?;
                Ok(x.broadcast_mul(&inv_rms)?.broadcast_mul(&self.w(g, mode))?)
            }
        }
    }

    /// cos/sin for a block of `t` tokens: `[t, hd/2]` (shared) or `[b, t, hd/2]`.
    fn rope_block(
        &self,
        positions: &Positions,
        b: usize,
        t: usize,
    ) -> Result<(Tensor, Tensor), ModelError> {
        match positions {
            Positions::Shared { start } => Ok((
                self.rope_cos.narrow(0, *start, t)?,
                self.rope_sin.narrow(0, *start, t)?,
            )),
            Positions::PerRow(pos) => {
                let flat = pos.flatten_all()?;
                let half = self.config.head_dim() / 2;
                Ok((
                    self.rope_cos
                        .index_select(&flat, 0)?
                        .reshape((b, t, half))?,
                    self.rope_sin
                        .index_select(&flat, 0)?
                        .reshape((b, t, half))?,
                ))
            }
        }
    }

    /// Rotary position embedding of `x: [b, h, t, hd]` in the "rotate half" layout:
    /// `x·cos + rotate_half(x)·sin`, `rotate_half([x1, x2]) = [−x2, x1]`.
    fn rope(
        &self,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mode: ForwardMode,
    ) -> Result<Tensor, ModelError> {
        match mode {
            ForwardMode::Inference => Ok(candle_nn::rotary_emb::rope(x, cos, sin)?),
            ForwardMode::Differentiable if crate::kernels::supported(x) => {
                Ok(crate::kernels::rope::rope(x, cos, sin)?)
            }
            ForwardMode::Differentiable | ForwardMode::Composed => {
                let full = |c: &Tensor| -> Result<Tensor, ModelError> {
                    let c = Tensor::cat(&[c, c], D::Minus1)?;
                    Ok(match c.rank() {
                        3 => c.unsqueeze(1)?, // [b, 1, t, hd]
                        _ => c,               // [t, hd]
                    })
                };
                let (cos, sin) = (full(cos)?, full(sin)?);
                let half = x.dim(D::Minus1)? / 2;
                let x1 = x.narrow(D::Minus1, 0, half)?;
                let x2 = x.narrow(D::Minus1, half, half)?;
                let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
                Ok((x.broadcast_mul(&cos)? + rotated.broadcast_mul(&sin)?)?)
            }
        }
    }

    /// Softmax over the last dimension. The differentiable form subtracts a detached
    /// row maximum (softmax is shift-invariant, so the gradient is unchanged).
    fn softmax(x: &Tensor, mode: ForwardMode) -> Result<Tensor, ModelError> {
        match mode {
            ForwardMode::Inference => Ok(candle_nn::ops::softmax_last_dim(&x.contiguous()?)?),
            ForwardMode::Differentiable if crate::kernels::supported(x) => {
                Ok(crate::kernels::softmax::softmax(x)?)
            }
            ForwardMode::Differentiable | ForwardMode::Composed => {
                let m = x.max_keepdim(D::Minus1)?.detach();
                let e = x.broadcast_sub(&m)?.exp()?;
                Ok(e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?)
            }
        }
    }

    /// The decoder stack up to and including the final RMSNorm.
    ///
    /// `ids: [b, t]` u32; `mask`: see [`AttnMask`] (`n`, the number of key positions,
    /// is the cache length after this block, or `t` without cache).
    /// Returns hidden states `[b·t, d]`.
    pub(crate) fn hidden_states(
        &self,
        ids: &Tensor,
        mode: ForwardMode,
        positions: &Positions,
        mask: AttnMask<'_>,
        mut cache: Option<&mut KvCache>,
    ) -> Result<Tensor, ModelError> {
        let (b, t) = ids.dims2()?;
        let c = &self.config;
        let (h, kvh, hd) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim());
        let g = h / kvh;
        let scale = 1.0 / (hd as f64).sqrt();
        let (cos, sin) = self.rope_block(positions, b, t)?;
        let n_keys = match &cache {
            Some(kv) => kv.len + t,
            None => t,
        };
        // [b|1, t, n] → [b|1, 1, 1, t, n] to broadcast over (kv head, group).
        // The fused training attention masks on the fly; every other path adds a mask.
        let fused_causal = matches!(mask, AttnMask::Causal)
            && cache.is_none()
            && mode == ForwardMode::Differentiable
            && crate::kernels::supported(&self.rope_cos);
        // One new token per sequence over its cache: the fused decode attention
        // (inference on CPU f32) handles the pads itself.
        let decode_pads: Option<&[usize]> = match (&mask, &cache) {
            (AttnMask::LeftPads(p), Some(kv))
                if t == 1
                    && mode == ForwardMode::Inference
                    && kv.k.first().is_some_and(|k| {
                        crate::kernels::decode_attention::applies(&self.rope_cos, k)
                    }) =>
            {
                Some(p)
            }
            _ => None,
        };
        let additive = match mask {
            AttnMask::Causal if fused_causal => None,
            AttnMask::Causal => Some(self.causal_mask(t)?),
            AttnMask::Additive(m) => Some(m.clone()),
            AttnMask::LeftPads(_) if decode_pads.is_some() => None,
            AttnMask::LeftPads(pads) => Some(self.left_pad_mask(pads, t, n_keys)?),
        };
        let mask = match additive {
            Some(mask) => {
                let dims = mask.dims();
                let mb = if dims.len() == 3 { dims[0] } else { 1 };
                Some(mask.reshape((mb, 1, 1, t, n_keys))?)
            }
            None => None,
        };

        let mut x = self
            .w(&self.embed, mode)
            .index_select(&ids.flatten_all()?, 0)?; // [b·t, d]
        for (li, layer) in self.layers.iter().enumerate() {
            // Attention block.
            let xn = self.rms_norm(&x, &layer.input_norm, mode)?;
            let q = self.linear(&xn, &layer.q, layer.q_bias.as_ref(), mode)?;
            let k = self.linear(&xn, &layer.k, layer.k_bias.as_ref(), mode)?;
            let v = self.linear(&xn, &layer.v, layer.v_bias.as_ref(), mode)?;
            if fused_causal {
                // Training: layout moves and RoPE fused into one op per projection, and
                // attention as one op that recomputes its probabilities in the backward.
                use crate::kernels::heads::{merge_heads, split_heads};
                let q = split_heads(&q, &cos, &sin, (b, h, t, hd), true, (b, kvh, g * t, hd))?;
                let k = split_heads(&k, &cos, &sin, (b, kvh, t, hd), true, (b, kvh, t, hd))?;
                let v = split_heads(&v, &cos, &sin, (b, kvh, t, hd), false, (b, kvh, t, hd))?;
                let o = crate::kernels::causal_attention::causal_attention(&q, &k, &v, scale)?;
                let attn = merge_heads(&o, &cos, &sin, (b, h, t, hd))?;
                x = (x + self.linear(&attn, &layer.o, None, mode)?)?;
                x = self.mlp(x, layer, mode)?;
                continue;
            }
            let heads = |y: Tensor, nh: usize| -> Result<Tensor, ModelError> {
                Ok(y.reshape((b, t, nh, hd))?.transpose(1, 2)?.contiguous()?)
            };
            let (q, k, v) = (heads(q, h)?, heads(k, kvh)?, heads(v, kvh)?);
            let q = self.rope(&q, &cos, &sin, mode)?;
            // The fused decode attention applies 1/√d itself.
            let q = if decode_pads.is_some() {
                q
            } else {
                (q * scale)?
            };
            let k = self.rope(&k, &cos, &sin, mode)?;
            let (k, v) = match cache.as_deref_mut() {
                Some(kv) => {
                    kv.k[li].slice_set(&k, 2, kv.len)?;
                    kv.v[li].slice_set(&v, 2, kv.len)?;
                    (
                        kv.k[li].narrow(2, 0, n_keys)?,
                        kv.v[li].narrow(2, 0, n_keys)?,
                    )
                }
                None => (k, v),
            };
            if let (Some(pads), Some(kv)) = (decode_pads, cache.as_deref()) {
                let attn = crate::kernels::decode_attention::decode_attention(
                    &q, &kv.k[li], &kv.v[li], n_keys, pads, scale,
                )?;
                x = (x + self.linear(&attn, &layer.o, None, mode)?)?;
                x = self.mlp(x, layer, mode)?;
                continue;
            }
            // Grouped-query attention without repeating K/V: query head j uses kv head
            // j / g, so [b, h, t, hd] viewed as [b, kv, g·t, hd] lines up with K/V.
            let q = q.reshape((b, kvh, g * t, hd))?;
            let scores = q.matmul(&k.t()?)?;
            let scores = match &mask {
                Some(mask) => scores
                    .reshape((b, kvh, g, t, n_keys))?
                    .broadcast_add(mask)?
                    .reshape((b, kvh, g * t, n_keys))?,
                None => scores,
            };
            let p = Self::softmax(&scores, mode)?;
            let attn = p
                .matmul(&v)?
                .reshape((b, h, t, hd))?
                .transpose(1, 2)?
                .reshape((b * t, h * hd))?;
            x = (x + self.linear(&attn, &layer.o, None, mode)?)?;
            x = self.mlp(x, layer, mode)?;
        }
        if let Some(kv) = cache {
            kv.len += t;
        }
        self.rms_norm(&x, &self.norm, mode)
    }

    /// The SwiGLU block with its residual: `x + down(silu(gate(n)) ⊙ up(n))`,
    /// `n = RMSNorm(x)`.
    fn mlp(
        &self,
        x: Tensor,
        layer: &super::policy::LayerVars,
        mode: ForwardMode,
    ) -> Result<Tensor, ModelError> {
        let xn = self.rms_norm(&x, &layer.post_norm, mode)?;
        let gate = self.linear(&xn, &layer.gate, None, mode)?;
        let up = self.linear(&xn, &layer.up, None, mode)?;
        let act = match mode {
            ForwardMode::Differentiable if crate::kernels::supported(&gate) => {
                crate::kernels::swiglu::swiglu(&gate, &up)?
            }
            _ => (gate.silu()? * up)?,
        };
        Ok((x + self.linear(&act, &layer.down, None, mode)?)?)
    }

    /// Additive mask `[b, t, n]` hiding keys `0..pads[i]` of row `i` (−∞), for the
    /// unfused path of [`AttnMask::LeftPads`].
    fn left_pad_mask(&self, pads: &[usize], t: usize, n: usize) -> Result<Tensor, ModelError> {
        let mut m = vec![0f32; pads.len() * t * n];
        for (i, &p) in pads.iter().enumerate() {
            for r in 0..t {
                let row = (i * t + r) * n;
                for v in &mut m[row..row + p.min(n)] {
                    *v = f32::NEG_INFINITY;
                }
            }
        }
        Ok(Tensor::from_vec(m, (pads.len(), t, n), &self.device)?.to_dtype(self.dtype)?)
    }

    /// The output head: hidden states `[N, d]` → logits `[N, V]` (the embedding matrix
    /// when tied).
    pub(crate) fn head(&self, h: &Tensor, mode: ForwardMode) -> Result<Tensor, ModelError> {
        let w = self.lm_head.as_ref().unwrap_or(&self.embed);
        self.linear(h, w, None, mode)
    }

    /// Checks `ids` is a `[b, t]` u32 tensor of in-vocabulary ids no longer than the
    /// model's context.
    fn check_ids(&self, ids: &Tensor) -> Result<(usize, usize), ModelError> {
        let bad = || ModelError::InvalidInput {
            expected: "[batch, time] u32 token ids",
            shape: ids.dims().to_vec(),
            dtype: ids.dtype(),
        };
        if ids.dtype() != DType::U32 {
            return Err(bad());
        }
        let (b, t) = ids.dims2().map_err(|_| bad())?;
        if t > self.config.max_position_embeddings {
            return Err(ModelError::SequenceTooLong {
                sequence: 0,
                len: t,
                max: self.config.max_position_embeddings,
            });
        }
        let rows = ids.to_device(&candle_core::Device::Cpu)?.to_vec2::<u32>()?;
        for (i, row) in rows.iter().enumerate() {
            for (j, &tok) in row.iter().enumerate() {
                if tok as usize >= self.config.vocab_size {
                    return Err(ModelError::TokenOutOfRange {
                        sequence: i,
                        position: j,
                        token: tok,
                        vocab_size: self.config.vocab_size,
                    });
                }
            }
        }
        Ok((b, t))
    }

    /// Next-token logits `[b, t, V]` of `input_ids: [b, t]` (u32, every row starting at
    /// position 0, causal attention), through the differentiable path.
    pub fn logits(&self, input_ids: &Tensor) -> Result<Tensor, ModelError> {
        self.logits_with(input_ids, ForwardMode::Differentiable)
    }

    /// [`Policy::logits`] through the chosen path.
    pub fn logits_with(&self, input_ids: &Tensor, mode: ForwardMode) -> Result<Tensor, ModelError> {
        let (b, t) = self.check_ids(input_ids)?;
        if t == 0 {
            return Ok(Tensor::zeros(
                (b, 0, self.config.vocab_size),
                self.dtype,
                &self.device,
            )?);
        }
        let h = self.hidden_states(
            input_ids,
            mode,
            &Positions::Shared { start: 0 },
            AttnMask::Causal,
            None,
        )?;
        Ok(self
            .head(&h, mode)?
            .reshape((b, t, self.config.vocab_size))?)
    }
}
