//! Tests of the shared command steps.

use super::*;
use crate::settings::Flags;

const FILE: &str = "version: 1\nstack: payments-1\natlas: {project_id: 5f7cac1adf5d6c6306f4b280}\naws: {region: eu-west-1}\nendpoints:\n  p:\n    atlas: {serverless_instance: x1}\n    aws: {vpc_id: vpc-0a1b2c3d, subnet_ids: [subnet-0a1b2c3d], security_group: {}}\n";

fn settings(file: &Path) -> Settings {
    let flags = Flags {
        file: file.to_path_buf(),
        ..Flags::default()
    };
    Settings::from_sources(flags, |_| None, false)
}

#[tokio::test]
async fn the_command_uses_the_file_as_read_while_locating_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("read-once.yaml");
    std::fs::write(&path, FILE).unwrap();
    let located = locate_state(&settings(&path), &Output::with_color(false), true)
        .await
        .unwrap();
    // Read once: what the file says now no longer matters to this run.
    std::fs::write(&path, "not: [a config").unwrap();
    let (config, desired) = load_config(&located).unwrap();
    assert_eq!(config.stack, "payments-1");
    assert_eq!(desired.len(), crate::providers::expand(&config).len());
    assert!(!desired.is_empty());
}

#[tokio::test]
async fn another_file_than_the_one_read_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (
        dir.path().join("read-once-a.yaml"),
        dir.path().join("read-once-b.yaml"),
    );
    std::fs::write(&first, FILE).unwrap();
    std::fs::write(&second, FILE.replace("payments-1", "payments-2")).unwrap();
    let mut located = locate_state(&settings(&first), &Output::with_color(false), true)
        .await
        .unwrap();
    // As a saved plan's recorded file replaces the one given.
    located.file = second;
    assert_eq!(load_config(&located).unwrap().0.stack, "payments-2");
}

#[tokio::test]
async fn a_file_that_does_not_load_is_reported_by_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("read-once.yaml");
    std::fs::write(&path, "version: [").unwrap();
    let located = locate_state(&settings(&path), &Output::with_color(false), true)
        .await
        .unwrap();
    assert!(located.file_read.is_none());
    assert!(matches!(
        load_config(&located),
        Err(CommandError::Config(_))
    ));
}
