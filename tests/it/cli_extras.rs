//! The commands that read no file and call no API: `schema` (checked
//! against the examples and the config corpus), `completions` and
//! `version` / `--version`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Invalid corpus files the schema accepts, with the reason it cannot
/// refuse them: the loader catches them when it reads the file.
const NOT_CAUGHT: &[(&str, &str)] = &[
    (
        "allow_from_host_bits.yaml",
        "a CIDR block with host bits set has a valid shape; which bits the prefix length leaves is arithmetic, not a pattern",
    ),
    (
        "duplicate_endpoint.yaml",
        "a key given twice does not survive reading YAML into JSON: only one endpoint is left to check",
    ),
    (
        "duplicate_top_key.yaml",
        "a key given twice does not survive reading YAML into JSON: only one `aws` is left to check",
    ),
    (
        "env_bad_value.yaml",
        "the value is a `${VAR}` reference, which the schema accepts: it is wrong only once expanded",
    ),
    (
        "env_malformed.yaml",
        "the malformed `${` is inside a comment, which is free text",
    ),
    (
        "env_missing.yaml",
        "whether a `${VAR}` is set is known only from the environment",
    ),
    (
        "env_missing_quoted.yaml",
        "whether a `${VAR}` is set is known only from the environment",
    ),
];

/// Runs the binary under test (PRIVLINK_BIN, or the one Cargo built) with
/// `args`; its standard output, after checking that it exited 0.
fn privlink(args: &[&str]) -> String {
    let bin =
        std::env::var_os("PRIVLINK_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_privlink").into());
    let output = Command::new(bin)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run privlink");
    assert!(
        output.status.success(),
        "privlink {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// The `.yaml` files of `dir` (relative to the package), sorted.
fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let dir = crate::support::package_dir().join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn name(path: &Path) -> &str {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("file name")
}

/// The file read as YAML into JSON, or why YAML itself refuses it.
fn as_json(path: &Path) -> Result<serde_json::Value, String> {
    let bytes = std::fs::read(path).expect("read corpus file");
    let text = std::str::from_utf8(&bytes).map_err(|e| e.to_string())?;
    // Editors skip a byte order mark, as the loader does.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_yaml::from_str(text).map_err(|e| e.to_string())
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&privlink(&["schema"])).expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).expect("the schema is a valid JSON Schema")
}

#[test]
fn examples_and_valid_files_match_the_schema() {
    let validator = validator();
    let mut files = yaml_files("examples");
    files.extend(yaml_files("tests/corpus/config/good"));
    assert!(files.len() >= 6, "{files:?}");
    for file in &files {
        let value = as_json(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

#[test]
fn invalid_files_fail_the_schema_unless_listed() {
    let validator = validator();
    let files = yaml_files("tests/corpus/config/bad");
    assert!(files.len() > 50, "{files:?}");
    let mut accepted = Vec::new();
    let mut unreadable = Vec::new();
    for file in &files {
        // YAML that does not read (syntax, several documents, alias bombs,
        // bytes that are not UTF-8) fails in an editor before the schema.
        let Ok(value) = as_json(file) else {
            unreadable.push(name(file));
            continue;
        };
        if validator.is_valid(&value) {
            accepted.push(name(file).to_string());
        }
    }
    eprintln!(
        "{} invalid files: {} fail the schema, {} are not YAML that reads, {} listed as not caught: unreadable {unreadable:?}",
        files.len(),
        files.len() - unreadable.len() - accepted.len(),
        unreadable.len(),
        accepted.len()
    );
    let listed: Vec<String> = NOT_CAUGHT.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(
        accepted, listed,
        "invalid files the schema accepts, and those NOT_CAUGHT lists"
    );
}

#[test]
fn completions_name_every_subcommand() {
    let subcommands = [
        "plan",
        "apply",
        "destroy",
        "validate",
        "show",
        "output",
        "import",
        "force-unlock",
        "schema",
        "completions",
        "version",
    ];
    for shell in ["bash", "zsh", "fish"] {
        let script = privlink(&["completions", shell]);
        assert!(!script.trim().is_empty(), "{shell}: empty script");
        for subcommand in subcommands {
            assert!(script.contains(subcommand), "{shell}: no `{subcommand}`");
        }
    }
}

/// Whether `line` is `privlink <version> (commit <hex or unknown>)`.
fn is_version_line(line: &str) -> bool {
    let expected = format!("privlink {} (commit ", env!("CARGO_PKG_VERSION"));
    let Some(commit) = line
        .trim_end()
        .strip_prefix(&expected)
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        return false;
    };
    commit == "unknown" || (commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn version_and_dash_dash_version_print_the_version_and_commit() {
    for args in [&["version"][..], &["--version"][..]] {
        let out = privlink(args);
        assert!(is_version_line(&out), "privlink {args:?} printed {out:?}");
    }
}
