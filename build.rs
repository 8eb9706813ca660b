//! Build script: on x86_64 Linux release builds linked by LLD (Rust's default linker there since 1.90),
//! the binary's start-up functions are placed together at the start of its code (`link/startup-symbols.txt`,
//! written by `scripts/startup-symbols.sh`).
//!
//! Why (issue 16, idle memory): the kernel maps a binary's code into a process 64 KiB at a time around each
//! page touched, so the ~1.3 MiB of functions that run at start-up, scattered over 17 MiB of code, made
//! about 8 MiB of the idle process resident. Grouped, they take a few hundred pages. Symbols missing from
//! the file (code changed since it was written, another compiler version) are placed as usual: the file
//! only ever orders, so a stale one costs memory, never correctness.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/startup-symbols.txt");
    println!("cargo:rerun-if-env-changed=LOCALYUN_NO_SYMBOL_ORDER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    // Only where the linker is known to be LLD: the default x86_64 Linux target, a release build, and no
    // linker chosen by the user (GNU ld does not know the option and would fail the link).
    let user_linker = var("CARGO_ENCODED_RUSTFLAGS").contains("link")
        || std::env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
        || std::env::var_os("RUSTC_LINKER").is_some();
    if var("TARGET") != "x86_64-unknown-linux-gnu"
        || var("PROFILE") != "release"
        || user_linker
        || std::env::var_os("LOCALYUN_NO_SYMBOL_ORDER").is_some()
        || !rustc_links_with_lld()
    {
        return;
    }
    let file = PathBuf::from(var("CARGO_MANIFEST_DIR")).join("link").join("startup-symbols.txt");
    if file.is_file() {
        println!("cargo:rustc-link-arg-bin=localyun=-Wl,--symbol-ordering-file={}", file.display());
        println!("cargo:rustc-link-arg-bin=localyun=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether this rustc links x86_64 Linux binaries with its own LLD by default (1.90 and later).
fn rustc_links_with_lld() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = std::process::Command::new(rustc).arg("--version").output() else { return false };
    let text = String::from_utf8_lossy(&out.stdout);
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let mut parts = text.split_whitespace().nth(1).unwrap_or("").split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    major > 1 || (major == 1 && minor >= 90)
}
