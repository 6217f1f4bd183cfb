//! Records the git commit the binary is built from, as the compile-time
//! environment variable `PRIVLINK_GIT_COMMIT` (`unknown` outside a git
//! checkout, or without git), for `privlink version` and `--version`.

use std::path::PathBuf;
use std::process::Command;

/// Runs `git ARGS` in the package directory; its trimmed output on success.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Asks Cargo to run this script again when `HEAD` moves: `HEAD` itself (a
/// branch switch) and the ref it points to (a commit), wherever git keeps
/// them (a worktree's `.git` is a file naming the real directory).
fn watch_head() {
    let mut watched: Vec<PathBuf> = Vec::new();
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        watched.push(head.into());
    }
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(path) = git(&["rev-parse", "--git-path", &reference])
    {
        watched.push(path.into());
    }
    if let Some(packed) = git(&["rev-parse", "--git-path", "packed-refs"]) {
        watched.push(packed.into());
    }
    // A path that does not exist would make Cargo rerun this on every build.
    for path in watched.into_iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = git(&["rev-parse", "--short", "HEAD"]);
    if commit.is_some() {
        watch_head();
    }
    let commit = commit.unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=PRIVLINK_GIT_COMMIT={commit}");
}
