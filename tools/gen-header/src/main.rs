//! Generates the C header of libtasks (include/tasks.h) with cbindgen.
//!
//!   tasks-gen-header [OUTPUT]        (default: <crate>/include/tasks.h)
//!
//! The crate is the repository root two levels above this tool (or `TASKS_CRATE_DIR`). The
//! configuration is its cbindgen.toml; the TASKS_VERSION_MAJOR/MINOR/PATCH macros come from the
//! `version` of its Cargo.toml's `[package]`. The output file is left untouched when its content
//! is already the same. scripts/gen-header.sh and scripts/check-header.sh run this.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `version = "X.Y.Z"` of the `[package]` table of a Cargo.toml. A deliberately small reader:
/// the library's manifest writes its version as a plain string (no `version.workspace`).
fn package_version(manifest: &Path) -> Result<String, String> {
    let text = fs::read_to_string(manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some(rest) = line.strip_prefix("version") else {
            continue;
        };
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim();
        if let Some(v) = value.strip_prefix('"').and_then(|v| v.split('"').next()) {
            return Ok(v.to_string());
        }
        return Err(format!(
            "{}: [package] version is not a plain string: {value}",
            manifest.display()
        ));
    }
    Err(format!("{}: no version in [package]", manifest.display()))
}

/// (major, minor, patch) of a semver version, as cargo's CARGO_PKG_VERSION_{MAJOR,MINOR,PATCH}
/// give them (a pre-release or build suffix is not part of the patch number).
fn split_version(version: &str) -> Result<(u64, u64, u64), String> {
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let num = |s: &str| s.parse::<u64>().ok();
    match parts.as_slice() {
        [a, b, c] => match (num(a), num(b), num(c)) {
            (Some(a), Some(b), Some(c)) => Ok((a, b, c)),
            _ => Err(format!("version {version:?} is not MAJOR.MINOR.PATCH")),
        },
        _ => Err(format!("version {version:?} is not MAJOR.MINOR.PATCH")),
    }
}

fn run() -> Result<(), String> {
    let crate_dir = match env::var_os("TASKS_CRATE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    };
    let crate_dir = crate_dir
        .canonicalize()
        .map_err(|e| format!("crate directory {}: {e}", crate_dir.display()))?;
    let mut args = env::args_os().skip(1);
    let output = match args.next() {
        Some(o) => PathBuf::from(o),
        None => crate_dir.join("include/tasks.h"),
    };
    if args.next().is_some() {
        return Err("usage: tasks-gen-header [OUTPUT]".into());
    }

    let version = package_version(&crate_dir.join("Cargo.toml"))?;
    let (major, minor, patch) = split_version(&version)?;

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .map_err(|e| format!("cbindgen.toml: {e}"))?;
    config.after_includes = Some(format!(
        "\n#define TASKS_VERSION_MAJOR {major}\n#define TASKS_VERSION_MINOR {minor}\n#define TASKS_VERSION_PATCH {patch}\n"
    ));
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .map_err(|e| format!("cbindgen could not generate the header: {e}"))?;
    // write_to_file leaves the file untouched when the content is the same.
    bindings.write_to_file(&output);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-header: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_version;

    #[test]
    fn versions() {
        assert_eq!(split_version("0.1.0"), Ok((0, 1, 0)));
        assert_eq!(split_version("1.22.333-rc.1+build.5"), Ok((1, 22, 333)));
        assert!(split_version("1.2").is_err());
        assert!(split_version("1.x.3").is_err());
    }
}
