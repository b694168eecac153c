//! The files the examples read and write: a saved model's directory (`model.bpk` with the
//! weights, `config.json` with the configuration that builds it, and JSON files beside them),
//! and the data files they train on.

use std::path::Path;

use burn::config::Config;
use burn::module::Module;

use crate::training::load_module;

/// Writes `model` to `dir/model.bpk` and the `config` that builds it to `dir/config.json`,
/// creating `dir`.
pub fn save_model<M: Module, C: Config>(dir: &Path, model: M, config: &C) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("--out {}: {e}", dir.display()))?;
    let path = dir.join("model.bpk");
    model
        .save_file(&path)
        .map_err(|e| format!("{}: {e:?}", path.display()))?;
    let path = dir.join("config.json");
    config
        .save(&path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads the configuration in `dir/config.json`, builds the model with `init`, and loads the
/// weights of `dir/model.bpk` into it. Returns the configuration too, to check the files
/// saved beside the model against it ([`check_saved_size`]).
pub fn load_model<M: Module, C: Config>(
    dir: &Path,
    init: impl FnOnce(&C) -> Result<M, String>,
) -> Result<(M, C), String> {
    let path = dir.join("config.json");
    let config = C::load(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let model = load_module(init(&config)?, &dir.join("model.bpk"))?;
    Ok((model, config))
}

/// Checks that a file saved beside a model matches the model's configuration: `dir/file`
/// holds `actual` entries (`what`: tokens, classes) where `dir/config.json`'s `field` says
/// `expected`. A mismatch means files of different training runs were mixed, and reading on
/// would index outside the model's embedding or output layer (a panic) or give its outputs
/// the wrong names.
pub fn check_saved_size(
    dir: &Path,
    file: &str,
    what: &str,
    actual: usize,
    field: &str,
    expected: usize,
) -> Result<(), String> {
    if actual == expected {
        return Ok(());
    }
    Err(format!(
        "{}: expected {expected} {what} (the {field} of {}), got {actual}; the files come from \
         different training runs",
        dir.join(file).display(),
        dir.join("config.json").display()
    ))
}

/// Reads the data file at `path`, with an error naming the `--data` flag that chose it.
pub fn read_data(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("--data {}: {e}", path.display()))
}

/// Writes `value` as JSON to `path`.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), String> {
    let json = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, json).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads JSON written by [`write_json`].
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let json = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&json).map_err(|e| format!("{}: {e}", path.display()))
}
