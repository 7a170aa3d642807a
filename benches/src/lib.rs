//! Helpers of the benchmarks in `benches/`.

use std::path::{Path, PathBuf};

/// Returns the release build of `callout`, or `CALLOUT_BIN`. Exits with the command to run when
/// neither exists.
pub fn release_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CALLOUT_BIN") {
        return PathBuf::from(path);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ is in the workspace");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| workspace.join(dir))
        .unwrap_or_else(|| workspace.join("target"));
    let path = target.join("release").join("callout");
    if !path.is_file() {
        eprintln!(
            "the release build of callout is missing at {}: run `cargo build --release -p \
             callout-server` first, or set CALLOUT_BIN",
            path.display()
        );
        std::process::exit(1);
    }
    path
}
