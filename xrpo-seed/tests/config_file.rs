//! `configs/seed.default.toml` documents the defaults; it must not drift from
//! `SeedConfig::default()`.

use xrpo_seed::SeedConfig;

#[test]
fn shipped_default_config_equals_default() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../configs/seed.default.toml"
    ))
    .expect("configs/seed.default.toml exists");
    let parsed: SeedConfig = toml::from_str(&text).expect("the shipped config parses");
    assert_eq!(parsed, SeedConfig::default());
    parsed.validate().unwrap();
}
