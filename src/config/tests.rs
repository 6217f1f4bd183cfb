//! Tests of the loader: the reference example, defaults, `${VAR}`
//! expansion, the bad-input corpus under `tests/corpus/config`, generated
//! hostile inputs, and property tests that nothing panics.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;

const SECRET: &str = "hunter2 do not print!";

/// The environment seen by the tests.
fn test_env(name: &str) -> Option<String> {
    match name {
        "PRIVLINK_TEST_SECRET" => Some(SECRET.to_string()),
        "PRIVLINK_TEST_VPC" => Some("vpc-0a1b2c3d4e5f60718".to_string()),
        "PRIVLINK_TEST_SUFFIX" => Some("0a1b2c3d".to_string()),
        _ => None,
    }
}

/// The corpus of this checkout: the package directory cargo names when it
/// runs the tests, else the one they were built from.
fn corpus() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("tests/corpus/config")
}

fn load_test(text: &str) -> Result<Config, ConfigError> {
    load_str(text, Path::new("privlink.yaml"), &test_env)
}

/// Every error must be one line that starts with the file name and has an
/// `expected` part, and must never contain an environment variable's value.
fn assert_well_formed(err: &ConfigError, path: &Path) {
    let shown = err.to_string();
    assert!(!shown.contains('\n') && !shown.contains('\r'), "{shown:?}");
    assert!(shown.starts_with(&path.display().to_string()), "{shown}");
    assert!(shown.contains("expected"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!format!("{err:?}").contains(SECRET), "{err:?}");
    if let Some((line, column)) = err.location() {
        assert!(line >= 1 && column >= 1, "{shown}");
        assert!(
            shown.starts_with(&format!("{}:{line}:{column}: ", path.display())),
            "{shown}"
        );
    }
}

const EXAMPLE: &str = "\
version: 1
atlas:
  project_id: 5f7cac1adf5d6c6306f4b280
aws:
  region: us-east-1
endpoints:
  orders:
    atlas:
      serverless_instance: orders-prod
      comment: orders service
    aws:
      region: us-west-2
      vpc_id: vpc-0a1b2c3d4e5f60718
      subnet_ids: [subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788]
      security_group:
        allow_from: [sg-0123456789abcdef0, 10.0.0.0/16]
      client_security_groups: [sg-0123456789abcdef0]
  billing:
    atlas:
      dedicated_clusters: true
    aws: { vpc_id: vpc-0a1b2c3d, subnet_ids: [subnet-0a1b2c3d], client_security_groups: [sg-0a1b2c3d, sg-1a1b2c3d] }
";

#[test]
fn example_parses_every_field() {
    let config = load_str(EXAMPLE, Path::new("/etc/Team.Prod.yaml"), &test_env).unwrap();
    assert_eq!(config.path, PathBuf::from("/etc/Team.Prod.yaml"));
    assert_eq!(config.version, 1);
    assert_eq!(config.stack, "team-prod");
    assert_eq!(config.atlas.project_id, "5f7cac1adf5d6c6306f4b280");
    assert_eq!(config.aws.as_ref().unwrap().region, "us-east-1");
    assert_eq!(config.endpoints.len(), 2);

    let orders = &config.endpoints["orders"];
    assert_eq!(orders.name, "orders");
    assert_eq!(
        orders.atlas,
        EndpointAtlas {
            flow: AtlasFlow::Serverless {
                instance: "orders-prod".into()
            },
            comment: Some("orders service".into()),
        }
    );
    assert_eq!(
        *orders.aws().unwrap(),
        EndpointAws {
            region: "us-west-2".into(),
            vpc_id: "vpc-0a1b2c3d4e5f60718".into(),
            subnet_ids: vec![
                "subnet-0a1b2c3d4e5f60718".into(),
                "subnet-0f1e2d3c4b5a69788".into()
            ],
            security_group: SecurityGroupSpec {
                allow_from: vec![
                    Source::Group("sg-0123456789abcdef0".into()),
                    Source::Cidr("10.0.0.0/16".into()),
                ],
            },
            client_security_groups: vec!["sg-0123456789abcdef0".into()],
        }
    );

    // Defaults: region from `aws.region`, security group admits the
    // client groups, no comment.
    let billing = &config.endpoints["billing"];
    assert_eq!(billing.name, "billing");
    assert_eq!(billing.atlas.flow, AtlasFlow::Dedicated);
    assert_eq!(billing.atlas.comment, None);
    assert_eq!(billing.aws().unwrap().region, "us-east-1");
    assert_eq!(billing.aws().unwrap().vpc_id, "vpc-0a1b2c3d");
    assert_eq!(
        billing.aws().unwrap().subnet_ids,
        vec!["subnet-0a1b2c3d".to_string()]
    );
    assert_eq!(
        billing.aws().unwrap().security_group.allow_from,
        vec![
            Source::Group("sg-0a1b2c3d".into()),
            Source::Group("sg-1a1b2c3d".into())
        ]
    );

    // Serializes for plans and debugging.
    let json = serde_json::to_value(&config).unwrap();
    assert_eq!(json["endpoints"]["orders"]["aws"]["region"], "us-west-2");
}

#[test]
fn optional_parts_and_explicit_stack() {
    let text = "version: 1\nstack: payments-1\natlas: {project_id: 5f7cac1adf5d6c6306f4b280}\naws: {region: eu-west-1}\nendpoints:\n  p:\n    atlas: {dedicated_clusters: true, serverless_instance: x1}\n    aws: {vpc_id: vpc-0a1b2c3d, subnet_ids: [subnet-0a1b2c3d], security_group: {}}\n";
    let err = load_test(text).unwrap_err();
    assert!(
        err.to_string().contains("both `serverless_instance`"),
        "{err}"
    );

    let text = text.replace(", serverless_instance: x1", "");
    let config = load_test(&text).unwrap();
    assert_eq!(config.stack, "payments-1");
    let p = &config.endpoints["p"];
    assert!(p.aws().unwrap().client_security_groups.is_empty());
    assert!(p.aws().unwrap().security_group.allow_from.is_empty());

    // An explicitly empty `allow_from` is kept, not defaulted.
    let text = text.replace(
        "security_group: {}",
        "security_group: {allow_from: []}, client_security_groups: [sg-0a1b2c3d]",
    );
    let config = load_test(&text).unwrap();
    assert!(
        config.endpoints["p"]
            .aws()
            .unwrap()
            .security_group
            .allow_from
            .is_empty()
    );

    // `endpoints:` with no value is an empty stack.
    let text = "version: 1\natlas: {project_id: 5f7cac1adf5d6c6306f4b280}\naws: {region: eu-west-1}\nendpoints:\n";
    assert!(load_test(text).unwrap().endpoints.is_empty());
}

#[test]
fn stack_name_from_file_stem() {
    let text = "version: 1\natlas: {project_id: 5f7cac1adf5d6c6306f4b280}\naws: {region: eu-west-1}\nendpoints: {}\n";
    let stack = |p: &str| load_str(text, Path::new(p), &test_env).map(|c| c.stack);
    assert_eq!(stack("privlink.yaml").unwrap(), "privlink");
    assert_eq!(stack("dir/My Stack_2.yml").unwrap(), "my-stack-2");
    assert_eq!(stack("_x.yaml").unwrap(), "x");
    let err = stack("___.yaml").unwrap_err();
    assert!(err.to_string().contains("top-level `stack:`"), "{err}");
    assert_well_formed(&err, Path::new("___.yaml"));
}

#[test]
fn env_vars_expand_inside_scalars() {
    let text = EXAMPLE
        .replace("vpc-0a1b2c3d4e5f60718", "${PRIVLINK_TEST_VPC}")
        // Inside a flow mapping `{` is an indicator: the value is quoted.
        .replace("vpc-0a1b2c3d,", "\"vpc-${PRIVLINK_TEST_SUFFIX}\",")
        .replace(
            "orders service",
            "cost $${not_a_var} $5 ${PRIVLINK_TEST_SUFFIX}",
        );
    let config = load_test(&text).unwrap();
    assert_eq!(
        config.endpoints["orders"].aws().unwrap().vpc_id,
        "vpc-0a1b2c3d4e5f60718"
    );
    assert_eq!(
        config.endpoints["billing"].aws().unwrap().vpc_id,
        "vpc-0a1b2c3d"
    );
    assert_eq!(
        config.endpoints["orders"].atlas.comment.as_deref(),
        Some("cost ${not_a_var} $5 0a1b2c3d")
    );
    // Numbers and booleans can come from the environment too.
    let text = EXAMPLE
        .replace("version: 1", "version: \"${ONE}\"")
        .replace("dedicated_clusters: true", "dedicated_clusters: ${YES}");
    let env = |n: &str| match n {
        "ONE" => Some("1".to_string()),
        "YES" => Some("true".to_string()),
        _ => None,
    };
    let config = load_str(&text, Path::new("p.yaml"), &env).unwrap();
    assert_eq!(config.version, 1);
    assert_eq!(config.endpoints["billing"].atlas.flow, AtlasFlow::Dedicated);
}

#[test]
fn env_values_cannot_inject_structure() {
    let env = |_: &str| Some("x\", extra: [1, 2], y: {z: 1} # c".to_string());
    let text = EXAMPLE.replace("orders service", "${INJECT}");
    let config = load_str(&text, Path::new("p.yaml"), &env).unwrap();
    assert_eq!(
        config.endpoints["orders"].atlas.comment.as_deref(),
        Some("x\", extra: [1, 2], y: {z: 1} # c")
    );
}

#[test]
fn missing_env_var_is_named_and_placed() {
    let text = EXAMPLE.replace(
        "serverless_instance: orders-prod",
        "serverless_instance: \"orders-${PRIVLINK_TEST_NOPE}\"",
    );
    let err = load_test(&text).unwrap_err();
    match &err {
        ConfigError::Env { name, location, .. } => {
            assert_eq!(name.as_deref(), Some("PRIVLINK_TEST_NOPE"));
            // Line 9, `      serverless_instance: "orders-${…}"`.
            assert_eq!(*location, Some((9, 36)));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("`PRIVLINK_TEST_NOPE` is not set"));
    assert_well_formed(&err, Path::new("privlink.yaml"));
}

#[test]
fn expanded_secrets_never_reach_messages() {
    for (from, to) in [
        ("vpc-0a1b2c3d4e5f60718", "${PRIVLINK_TEST_SECRET}"),
        ("orders-prod", "${PRIVLINK_TEST_SECRET}"),
        ("version: 1", "version: ${PRIVLINK_TEST_SECRET}"),
        (
            "dedicated_clusters: true",
            "dedicated_clusters: ${PRIVLINK_TEST_SECRET}",
        ),
        ("10.0.0.0/16", "\"10.0.0.${PRIVLINK_TEST_SECRET}/16\""),
        ("5f7cac1adf5d6c6306f4b280", "${PRIVLINK_TEST_SECRET}"),
        ("us-east-1", "${PRIVLINK_TEST_SECRET}"),
    ] {
        let err = load_test(&EXAMPLE.replacen(from, to, 1)).unwrap_err();
        assert!(err.to_string().contains("${PRIVLINK_TEST_SECRET}"), "{err}");
        assert_well_formed(&err, Path::new("privlink.yaml"));
    }
}

/// One row of `bad/MANIFEST.tsv`.
struct Expectation {
    file: String,
    line: usize,
    column: usize,
    fragment: String,
}

fn manifest() -> Vec<Expectation> {
    let text = std::fs::read_to_string(corpus().join("bad/MANIFEST.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 4, "bad manifest row {l:?}");
            Expectation {
                file: cols[0].to_string(),
                line: cols[1].parse().unwrap(),
                column: cols[2].parse().unwrap(),
                fragment: cols[3].to_string(),
            }
        })
        .collect()
}

fn yaml_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

#[test]
fn bad_corpus_fails_where_the_manifest_says() {
    let dir = corpus().join("bad");
    let rows = manifest();
    assert!(rows.len() >= 40, "only {} bad files", rows.len());
    let listed: Vec<&str> = rows.iter().map(|r| r.file.as_str()).collect();
    for name in yaml_files(&dir) {
        assert!(
            listed.contains(&name.as_str()),
            "{name} is not in MANIFEST.tsv"
        );
    }
    let mut failures = Vec::new();
    for row in &rows {
        let path = dir.join(&row.file);
        let bytes = std::fs::read(&path).unwrap();
        let result = decode(&bytes, &path).and_then(|text| load_str(text, &path, &test_env));
        match result {
            Ok(_) => failures.push(format!("{}: loaded", row.file)),
            Err(err) => {
                assert_well_formed(&err, &path);
                let shown = err.to_string();
                if err.location() != Some((row.line, row.column)) || !shown.contains(&row.fragment)
                {
                    failures.push(format!(
                        "{}: wanted {}:{} `{}`, got {shown}",
                        row.file, row.line, row.column, row.fragment
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn good_corpus_loads() {
    let dir = corpus().join("good");
    let names = yaml_files(&dir);
    assert!(names.len() >= 3);
    for name in names {
        let config = load(&dir.join(&name)).unwrap_or_else(|e| panic!("{e}"));
        assert!(!config.stack.is_empty());
    }
}

#[test]
fn huge_input_is_refused_before_parsing() {
    let text = format!("# {}\n", "x".repeat(MAX_FILE_BYTES as usize));
    let err = load_test(&text).unwrap_err();
    assert!(matches!(err, ConfigError::TooLarge { .. }), "{err}");
    assert_well_formed(&err, Path::new("privlink.yaml"));

    let path =
        std::env::temp_dir().join(format!("privlink-config-huge-{}.yaml", std::process::id()));
    std::fs::write(&path, text.as_bytes()).unwrap();
    let err = load(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(err, ConfigError::TooLarge { .. }), "{err}");
}

#[test]
fn deep_nesting_is_refused_quickly() {
    let started = std::time::Instant::now();
    for text in [
        format!("version: 1\nendpoints: {}", "[".repeat(1_000_000)),
        format!("version: 1\nendpoints: {}", "{a: ".repeat(500_000)),
        format!("version: 1\nendpoints: {}", "[ \"]\" ".repeat(300_000)),
    ] {
        let err = load_test(&text).unwrap_err();
        assert!(err.to_string().contains("nest deeper"), "{err}");
        assert_eq!(err.location().map(|l| l.0), Some(2));
    }
    // Block nesting: refused by the schema at the first level.
    let mut block = String::from("version: 1\nendpoints:\n");
    for depth in 1..1000 {
        block.push_str(&" ".repeat(depth * 2));
        block.push_str("a:\n");
    }
    let err = load_test(&block).unwrap_err();
    assert_well_formed(&err, Path::new("privlink.yaml"));
    let compact = format!(
        "version: 1\nendpoints:\n  e:\n    aws:\n      subnet_ids:\n        {}x\n",
        "- ".repeat(200_000)
    );
    let err = load_test(&compact).unwrap_err();
    assert_well_formed(&err, Path::new("privlink.yaml"));
    assert!(
        started.elapsed().as_secs() < 60,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn alias_bombs_are_not_expanded() {
    let started = std::time::Instant::now();
    let mut text = EXAMPLE.replace(
        "client_security_groups: [sg-0123456789abcdef0]",
        "client_security_groups: *g9",
    );
    let mut anchors = String::from("x0: &g0 [sg-0123456789abcdef0, sg-0123456789abcdef0]\n");
    for i in 1..10 {
        let refs = vec![format!("*g{}", i - 1); 10].join(", ");
        anchors.push_str(&format!("x{i}: &g{i} [{refs}]\n"));
    }
    text.insert_str(0, &anchors);
    let err = load_test(&text).unwrap_err();
    assert!(err.to_string().contains("unknown key `x0`"), "{err}");

    // The same bomb where the schema takes a list: the first element is a
    // list where an id is expected.
    let text = EXAMPLE
        .replace(
            "subnet_ids: [subnet-0a1b2c3d4e5f60718",
            "subnet_ids: &g0 [subnet-0a1b2c3d4e5f60718",
        )
        .replace(
            "allow_from: [sg-0123456789abcdef0, 10.0.0.0/16]",
            &format!("allow_from: [{}]", vec!["*g0"; 1000].join(", ")),
        );
    let err = load_test(&text).unwrap_err();
    assert!(err.to_string().contains("invalid type: sequence"), "{err}");
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn non_utf8_is_reported_with_its_position() {
    let bytes = b"version: 1\natlas:\n  project_id: 5f7c\xffac\n";
    let path = std::env::temp_dir().join(format!(
        "privlink-config-latin1-{}.yaml",
        std::process::id()
    ));
    std::fs::write(&path, bytes).unwrap();
    let err = load(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    match &err {
        ConfigError::NotUtf8 {
            offset,
            line,
            column,
            byte,
            ..
        } => {
            assert_eq!((*offset, *line, *column, *byte), (36, 3, 19, 0xff));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("not UTF-8"));
    assert_well_formed(&err, &path);
}

#[test]
fn unreadable_file_is_an_error_not_a_panic() {
    let path = Path::new("/nonexistent/privlink/none.yaml");
    let err = load(path).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert_eq!(err.location(), None);
    assert_well_formed(&err, path);
}

#[test]
fn source_helpers() {
    assert_eq!(
        Source::parse("sg-0a1b2c3d"),
        Some(Source::Group("sg-0a1b2c3d".into()))
    );
    assert_eq!(
        Source::parse("10.0.0.0/8"),
        Some(Source::Cidr("10.0.0.0/8".into()))
    );
    assert_eq!(Source::parse("10.0.0.1/8"), None);
    assert_eq!(Source::Cidr("0.0.0.0/0".into()).to_string(), "0.0.0.0/0");
    let json = serde_json::to_string(&Source::Group("sg-0a1b2c3d".into())).unwrap();
    assert_eq!(
        serde_json::from_str::<Source>(&json).unwrap(),
        Source::Group("sg-0a1b2c3d".into())
    );
}

fn good_texts() -> Vec<String> {
    let dir = corpus().join("good");
    let mut texts: Vec<String> = yaml_files(&dir)
        .iter()
        .map(|n| std::fs::read_to_string(dir.join(n)).unwrap())
        .collect();
    texts.push(EXAMPLE.to_string());
    texts
}

/// Loads arbitrary bytes; the result must be a config or a well-formed
/// error.
fn check_no_panic(bytes: &[u8]) {
    let path = Path::new("fuzz.yaml");
    match decode(bytes, path).and_then(|text| load_str(text, path, &test_env)) {
        Ok(config) => assert_eq!(config.version, 1),
        Err(err) => assert_well_formed(&err, path),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_no_panic(&bytes);
    }

    #[test]
    fn random_yaml_ish_text_never_panics(
        text in "[a-z0-9_:{}\\[\\],&*!|>'\"#$ \\t\\n-]{0,300}"
    ) {
        check_no_panic(text.as_bytes());
    }

    #[test]
    fn mutated_good_files_never_panic(
        pick in 0usize..16,
        edits in proptest::collection::vec((0usize..4096, 0u8..4, any::<u8>()), 1..8),
    ) {
        let texts = good_texts();
        let mut bytes = texts[pick % texts.len()].clone().into_bytes();
        const SPECIAL: &[u8] = b"{}[],:&*!|>'\"#$\t\n -~%@`\\";
        for (at, kind, value) in edits {
            let at = at % (bytes.len() + 1);
            let byte = if value % 2 == 0 { SPECIAL[value as usize % SPECIAL.len()] } else { value };
            match kind {
                0 => bytes.insert(at, byte),
                1 if at < bytes.len() => { bytes.remove(at); }
                2 if at < bytes.len() => bytes[at] = byte,
                _ => bytes.truncate(at),
            }
        }
        check_no_panic(&bytes);
    }
}
