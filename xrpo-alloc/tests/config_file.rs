//! `configs/alloc.default.toml` documents the defaults; it must not drift from
//! `XrpoConfig::default()`.

use xrpo_alloc::XrpoConfig;

#[test]
fn shipped_default_config_equals_default() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../configs/alloc.default.toml"
    ))
    .expect("configs/alloc.default.toml exists");
    let parsed: XrpoConfig = toml::from_str(&text).expect("the shipped config parses");
    assert_eq!(parsed, XrpoConfig::default());
    // Uncommenting the documented derived values must not change anything either.
    let explicit = text
        .replace("# n_base = 4", "n_base = 4")
        .replace("# n_max = 64", "n_max = 64");
    let explicit: XrpoConfig = toml::from_str(&explicit).unwrap();
    assert_eq!((explicit.n_base(), explicit.n_max()), (4, 64));
    explicit.validate().unwrap();
}
