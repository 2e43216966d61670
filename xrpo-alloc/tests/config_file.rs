//! `configs/alloc.default.toml` documents the defaults; it must not drift from
//! `XrpoConfig::default()` nor `AllocConfig::default()`.

use xrpo_alloc::{AllocConfig, AllocKind, XrpoConfig};

fn shipped() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../configs/alloc.default.toml"
    ))
    .expect("configs/alloc.default.toml exists")
}

#[test]
fn shipped_default_config_equals_default() {
    let text = shipped();
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

#[test]
fn shipped_default_config_is_the_default_alloc_config() {
    let text = shipped();
    let parsed: AllocConfig = toml::from_str(&text).expect("the shipped config parses");
    assert_eq!(parsed, AllocConfig::default());
    assert_eq!(parsed.kind, AllocKind::Xrpo);
    // The commented AllocConfig-only lines hold the defaults too.
    let explicit = text
        .replace("# kind = \"xrpo\"", "kind = \"xrpo\"")
        .replace("# retire_after = 1", "retire_after = 1")
        .replace("# weight = \"std\"", "weight = \"std\"");
    assert_ne!(explicit, text);
    assert_eq!(
        toml::from_str::<AllocConfig>(&explicit).unwrap(),
        AllocConfig::default()
    );
    // A plain XrpoConfig refuses the AllocConfig-only keys (deny_unknown_fields).
    assert!(toml::from_str::<XrpoConfig>(&explicit).is_err());
}
