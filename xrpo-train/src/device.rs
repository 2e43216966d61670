//! Where the policy runs: `cpu` (the default), `cuda` or `cuda:N`.
//!
//! The trainer's `device` config key, the `--device` option of `xrpo train`, `eval` and
//! `generate`, and the `XRPO_DEVICE` variable of the policy benchmarks all take this
//! spelling. CUDA needs a build with the crate's `cuda` feature; without it `cuda` is a
//! clear error, not a panic.
//!
//! # Example
//! ```
//! let dev = xrpo_train::device::parse("cpu").unwrap();
//! assert!(dev.is_cpu());
//! assert!(xrpo_train::device::parse("tpu").is_err());
//! ```

use candle_core::Device;

/// Occurs when a device name is malformed or the device cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The name is none of `cpu`, `cuda`, `cuda:N`.
    #[error("device {0:?}: expected `cpu`, `cuda` or `cuda:N`")]
    Unknown(String),
    /// The device exists in name but cannot be opened (no GPU, or a build without the
    /// `cuda` feature).
    #[error("device {name:?}: {source}")]
    Unavailable {
        /// The name as given.
        name: String,
        /// candle's error.
        source: candle_core::Error,
    },
}

/// The ordinal of a CUDA device name (`cuda` → 0, `cuda:N` → N), `None` for `cpu`.
pub fn cuda_ordinal(name: &str) -> Result<Option<usize>, DeviceError> {
    match name {
        "cpu" => Ok(None),
        "cuda" => Ok(Some(0)),
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .map(Some)
            .ok_or_else(|| DeviceError::Unknown(name.to_string())),
    }
}

/// Opens the device named `name`.
pub fn parse(name: &str) -> Result<Device, DeviceError> {
    match cuda_ordinal(name)? {
        None => Ok(Device::Cpu),
        Some(ordinal) => Device::new_cuda(ordinal).map_err(|source| DeviceError::Unavailable {
            name: name.to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(cuda_ordinal("cpu").unwrap(), None);
        assert_eq!(cuda_ordinal("cuda").unwrap(), Some(0));
        assert_eq!(cuda_ordinal("cuda:3").unwrap(), Some(3));
        for bad in ["", "gpu", "cuda:", "cuda:x", "CUDA", "cuda:-1"] {
            let err = cuda_ordinal(bad).unwrap_err().to_string();
            assert!(err.contains("expected"), "{bad:?}: {err}");
        }
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_is_an_error() {
        let err = parse("cuda").unwrap_err().to_string();
        assert!(err.starts_with("device \"cuda\""), "{err}");
    }
}
