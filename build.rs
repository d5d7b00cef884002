//! Generates include/tasks.h from src/ffi with cbindgen, adds the version macros, and sets the
//! shared library's SONAME. The header is checked in; CI regenerates it and fails on a diff.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    let patch = env::var("CARGO_PKG_VERSION_PATCH").unwrap();

    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    // The shared library is versioned by its major number: libtasks.so.0.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtasks.so.{major}");

    // Loom builds compile the core only; the header comes from a normal build.
    if env::var("CARGO_CFG_LOOM").is_ok() {
        return;
    }

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    config.after_includes = Some(format!(
        "\n#define TASKS_VERSION_MAJOR {major}\n#define TASKS_VERSION_MINOR {minor}\n#define TASKS_VERSION_PATCH {patch}\n"
    ));
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate include/tasks.h");
    // write_to_file leaves the file untouched when the content is the same.
    bindings.write_to_file(crate_dir.join("include/tasks.h"));
}
