//! The state shared in S3 (moto's S3, on the same port as its EC2): runs
//! from several working directories share one state; two runs at once get
//! exactly one lock; a write with a stale ETag is refused and loses
//! nothing; a crashed holder's lock is removed by `force-unlock`; the
//! state commands (`list`, `show`, `rm`, `mv`, `pull`, `push`, `migrate`)
//! keep the next plan empty; bad `state:` blocks are refused before any
//! call; no secret reaches the state objects, outputs or logs.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::s3::{self, lock_id_in, unique_bucket, with_s3_state};
use crate::support::world::{PRIVATE_KEY, Run, World};

/// One serverless endpoint, stack `team` whatever the file's name.
const ONE: &str = r#"
version: 1
stack: team
atlas:
  project_id: 5f7cac1adf5d6c6306f4b280
aws:
  region: us-east-1
endpoints:
  orders:
    atlas: { serverless_instance: orders-prod }
    aws:
      vpc_id: "${PRIVLINK_VPC_ID}"
      subnet_ids: ["${PRIVLINK_SUBNET_A}"]
      client_security_groups: ["${PRIVLINK_CLIENT_SG}"]
"#;

const KEY: &str = "privlink/team.state.json";
const LOCK_KEY: &str = "privlink/team.state.json.lock";
const BACKUP_KEY: &str = "privlink/team.state.json.backup";

/// A world with a bucket (versioned or not) and the file `ONE` keeping its
/// state there, written into each of `dirs`; returns the files' paths
/// relative to the world's directory.
struct Team {
    w: World,
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl Team {
    async fn start(versioned: bool) -> Team {
        let w = World::start_ideal(&["orders-prod"], &[], &[]).await;
        let s3 = s3::client(&w.moto).await;
        let bucket = unique_bucket("team-state");
        s3::create_bucket(&s3, &bucket, versioned).await;
        Team { w, s3, bucket }
    }

    /// Writes `dir/privlink.yaml` keeping its state in the bucket; returns
    /// its path relative to the world's directory.
    fn file_in(&self, dir: &str, text: &str) -> String {
        std::fs::create_dir_all(self.w.dir.path().join(dir)).unwrap();
        let file = format!("{dir}/privlink.yaml");
        self.w.write(&file, &with_s3_state(text, &self.bucket, KEY));
        file
    }

    async fn state(&self) -> Value {
        s3::get_json(&self.s3, &self.bucket, KEY)
            .await
            .expect("the state object")
    }

    async fn keys(&self) -> Vec<String> {
        s3::keys(&self.s3, &self.bucket).await
    }

    /// Tagged VPC endpoints and security groups of stack `team` in moto.
    async fn tagged(&self) -> (usize, usize) {
        let tag = |v: &[aws_sdk_ec2::types::Tag]| {
            v.iter()
                .any(|t| t.key() == Some("privlink:stack") && t.value() == Some("team"))
        };
        let vpces = self.w.live_vpc_endpoints().await;
        let groups = self.w.privlink_groups().await;
        (
            vpces.iter().filter(|e| tag(e.tags())).count(),
            groups.iter().filter(|g| tag(g.tags())).count(),
        )
    }

    /// The Atlas serverless endpoints in the sandbox.
    async fn atlas_endpoints(&self) -> usize {
        let dump = self.w.control_get("/__sandbox/state").await;
        dump["projects"][0]["serverlessEndpoints"]
            .as_array()
            .map_or(0, Vec::len)
    }
}

fn resources(state: &Value) -> Vec<String> {
    state["resources"]
        .as_object()
        .expect("resources")
        .keys()
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_plan_and_destroy_from_three_directories_share_one_s3_state() {
    let t = Team::start(true).await;
    let [a, b, c] = ["a", "b", "c"].map(|d| t.file_in(d, ONE));
    t.w.expect(0, &["apply", "-f", &a, "--auto-approve"]);
    let applied = t.state().await;
    assert!(applied["serial"].as_u64().unwrap() >= 2, "{applied}");
    assert_eq!(applied["stack"], "team");
    assert!(resources(&applied).len() >= 4, "{applied}");
    assert!(
        !t.w.dir.path().join("a/state").exists(),
        "no local state beside the file"
    );
    assert!(
        !t.keys().await.contains(&LOCK_KEY.to_owned()),
        "lock removed"
    );
    // A versioned bucket keeps the earlier versions: no backup object.
    let versions = s3::versions(&t.s3, &t.bucket, KEY).await;
    assert_eq!(
        versions.len() as u64,
        applied["serial"].as_u64().unwrap(),
        "one version per write"
    );
    assert!(!t.keys().await.contains(&BACKUP_KEY.to_owned()));

    let plan = t.w.privlink(&["plan", "-f", &b, "--detailed-exitcode"]);
    assert_eq!(
        plan.code,
        0,
        "no changes from another directory:\n{}",
        plan.all()
    );
    let list = t.w.expect(0, &["state", "list", "-f", &b]);
    assert_eq!(
        list.stdout.lines().collect::<Vec<_>>(),
        resources(&applied),
        "{}",
        list.all()
    );
    assert_eq!(t.tagged().await, (1, 1));

    t.w.expect(0, &["destroy", "-f", &c, "--auto-approve"]);
    let destroyed = t.state().await;
    assert!(resources(&destroyed).is_empty(), "{destroyed}");
    assert_eq!(destroyed["lineage"], applied["lineage"]);
    assert_eq!(t.tagged().await, (0, 0));
    assert_eq!(t.atlas_endpoints().await, 0);
    assert!(!t.keys().await.contains(&LOCK_KEY.to_owned()));
}

/// Waits for `child` to end and collects what it printed.
fn finish(child: std::process::Child) -> Run {
    let out = child.wait_with_output().expect("wait for privlink");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_at_once_on_one_s3_state_exactly_one_runs() {
    let t = Team::start(true).await;
    let [a, b] = ["a", "b"].map(|d| t.file_in(d, ONE));
    let first = t.w.spawn(&["apply", "-f", &a, "--auto-approve"]);
    let second = t.w.spawn(&["apply", "-f", &b, "--auto-approve"]);
    let runs = [finish(first), finish(second)];
    let won: Vec<&Run> = runs.iter().filter(|r| r.code == 0).collect();
    let lost: Vec<&Run> = runs.iter().filter(|r| r.code != 0).collect();
    assert_eq!(
        (won.len(), lost.len()),
        (1, 1),
        "exactly one runs:\n{}\n{}",
        runs[0].all(),
        runs[1].all()
    );
    let loser = lost[0];
    assert_eq!(loser.code, 1, "{}", loser.all());
    let says = &loser.stderr;
    assert!(
        says.contains(&format!("state s3://{}/{KEY} is locked by lock", t.bucket)),
        "{}",
        loser.all()
    );
    assert!(
        says.contains("(apply, pid ") && says.contains(" since "),
        "{says}"
    );
    assert!(lock_id_in(says).is_some(), "{says}");
    assert!(
        !loser.stdout.contains("Creating") && !says.contains("Creating"),
        "the loser changed nothing:\n{}",
        loser.all()
    );
    assert_eq!(t.tagged().await, (1, 1), "one of each, not two");
    assert_eq!(t.atlas_endpoints().await, 1);
    assert!(!t.keys().await.contains(&LOCK_KEY.to_owned()));
    let plan = t.w.privlink(&["plan", "-f", &a, "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn state_mv_renames_an_endpoint_and_the_next_plan_shows_no_change() {
    // An unversioned bucket: each write keeps the previous state as
    // `<key>.backup`.
    let t = Team::start(false).await;
    let a = t.file_in("a", ONE);
    t.w.expect(0, &["apply", "-f", &a, "--auto-approve"]);
    let before = t.state().await;
    let backup = s3::get_json(&t.s3, &t.bucket, BACKUP_KEY)
        .await
        .expect("a backup object");
    assert_eq!(
        backup["serial"].as_u64().unwrap() + 1,
        before["serial"].as_u64().unwrap()
    );

    let mv = t.w.expect(
        0,
        &[
            "state",
            "mv",
            "endpoints.orders",
            "endpoints.sales",
            "-f",
            &a,
        ],
    );
    assert!(
        mv.stdout
            .contains("endpoints.orders.vpc_endpoint -> endpoints.sales.vpc_endpoint"),
        "{}",
        mv.all()
    );
    let after = t.state().await;
    assert_eq!(resources(&after).len(), resources(&before).len());
    assert!(
        resources(&after)
            .iter()
            .all(|a| !a.starts_with("endpoints.orders")),
        "{after}"
    );
    for r in after["resources"].as_object().unwrap().values() {
        for d in r["dependencies"].as_array().unwrap() {
            assert!(
                !d.as_str().unwrap().starts_with("endpoints.orders"),
                "{after}"
            );
        }
    }
    let old_id = &before["resources"]["endpoints.orders.vpc_endpoint"]["id"];
    assert_eq!(
        &after["resources"]["endpoints.sales.vpc_endpoint"]["id"],
        old_id
    );

    // Moving onto addresses in use is refused.
    t.w.expect(
        1,
        &[
            "state",
            "mv",
            "endpoints.sales.link",
            "endpoints.sales.vpc_endpoint",
            "-f",
            &a,
        ],
    );
    t.w.expect(
        1,
        &[
            "state",
            "mv",
            "endpoints.nothing",
            "endpoints.other",
            "-f",
            &a,
        ],
    );

    t.file_in("a", &ONE.replace("  orders:\n", "  sales:\n"));
    let plan = t.w.privlink(&["plan", "-f", &a, "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "no change after the rename:\n{}", plan.all());
    assert_eq!(t.tagged().await, (1, 1));
    t.w.expect(0, &["destroy", "-f", &a, "--auto-approve"]);
    assert_eq!(t.tagged().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn state_rm_then_import_brings_it_back() {
    let t = Team::start(true).await;
    let a = t.file_in("a", ONE);
    t.w.expect(0, &["apply", "-f", &a, "--auto-approve"]);
    let address = "endpoints.orders.vpc_endpoint";
    let shown = t.w.expect(0, &["state", "show", address, "-f", &a]);
    let shown: Value = serde_json::from_str(&shown.stdout).expect("state show JSON");
    let id = shown["resource"]["id"].as_str().expect("an id").to_owned();
    assert!(id.starts_with("vpce-"), "{shown}");

    let rm = t.w.expect(0, &["state", "rm", address, "-f", &a]);
    assert!(rm.stdout.contains(address), "{}", rm.all());
    assert!(!resources(&t.state().await).contains(&address.to_owned()));
    assert_eq!(t.tagged().await, (1, 1), "rm deletes nothing");
    let plan = t.w.privlink(&["plan", "-f", &a, "--detailed-exitcode"]);
    assert_eq!(
        plan.code,
        2,
        "the forgotten endpoint is planned again:\n{}",
        plan.all()
    );
    t.w.expect(1, &["state", "show", address, "-f", &a]);

    t.w.expect(0, &["import", address, &id, "-f", &a]);
    let plan = t.w.privlink(&["plan", "-f", &a, "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "import brought it back:\n{}", plan.all());
    assert_eq!(t.tagged().await, (1, 1));
    t.w.expect(0, &["destroy", "-f", &a, "--auto-approve"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_state_is_migrated_pulled_and_pushed() {
    let t = Team::start(true).await;
    std::fs::create_dir_all(t.w.dir.path().join("a")).unwrap();
    t.w.write("a/privlink.yaml", ONE);
    t.w.expect(0, &["apply", "-f", "a/privlink.yaml", "--auto-approve"]);
    let local_path = t.w.dir.path().join("a/state/privlink.state.json");
    let local: Value =
        serde_json::from_str(&std::fs::read_to_string(&local_path).unwrap()).unwrap();

    // The file now names the bucket, which holds nothing yet: guided.
    let a = t.file_in("a", ONE);
    let guided = t.w.privlink(&["plan", "-f", &a]);
    assert_eq!(guided.code, 1, "{}", guided.all());
    assert!(
        guided.stderr.contains("privlink state migrate"),
        "{}",
        guided.all()
    );
    assert!(
        t.keys().await.is_empty(),
        "nothing written: {:?}",
        t.keys().await
    );

    let migrated = t.w.expect(0, &["state", "migrate", "-f", &a]);
    assert!(migrated.stdout.contains("Migrated"), "{}", migrated.all());
    let remote = t.state().await;
    assert_eq!(remote["lineage"], local["lineage"]);
    assert_eq!(remote["resources"], local["resources"]);
    assert!(!local_path.exists());
    assert!(
        t.w.dir
            .path()
            .join("a/state/privlink.state.json.migrated")
            .exists()
    );
    let plan = t.w.privlink(&["plan", "-f", &a, "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.all());

    // pull gives the stored state; push of the same lineage stores it again.
    let pulled = t.w.expect(0, &["state", "pull", "-f", &a]);
    let pulled_json: Value = serde_json::from_str(&pulled.stdout).unwrap();
    assert_eq!(pulled_json, remote);
    t.w.write("pulled.json", &pulled.stdout);
    t.w.expect(0, &["state", "push", "pulled.json", "-f", &a]);
    assert_eq!(
        t.state().await["serial"].as_u64().unwrap(),
        remote["serial"].as_u64().unwrap() + 1
    );

    // A local state of another lineage is refused, remotely nothing moves.
    let mut other = local.clone();
    other["lineage"] = Value::from("0b6d5a3e-4f1c-4a2b-9c8d-7e6f5a4b3c2d");
    std::fs::write(&local_path, serde_json::to_vec_pretty(&other).unwrap()).unwrap();
    let before = t.state().await;
    let refused = t.w.privlink(&["state", "migrate", "-f", &a]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains("another lineage"),
        "{}",
        refused.all()
    );
    t.w.write("other.json", &serde_json::to_string(&other).unwrap());
    let refused = t.w.privlink(&["state", "push", "other.json", "-f", &a]);
    assert!(
        refused.stderr.contains("another lineage"),
        "{}",
        refused.all()
    );
    assert_eq!(t.state().await, before);
    assert!(
        local_path.exists(),
        "a refused migration keeps the local state"
    );
    std::fs::remove_file(&local_path).unwrap();
    t.w.expect(0, &["destroy", "-f", &a, "--auto-approve"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_state_blocks_are_refused_before_any_call() {
    let w = World::start_ideal(&[], &[], &[]).await;
    w.moto.start_recording();
    let cases = [
        (
            "state:\n  s3: { bucket: Team_State, key: k }\n",
            "bad.yaml:4:",
            "is not an S3 bucket name",
        ),
        (
            "state:\n  s3: { key: k }\n",
            "bad.yaml:4:",
            "missing key `bucket`",
        ),
        (
            "state:\n  s3: { bucket: team-state, key: /k/ }\n",
            "bad.yaml:4:",
            "is not an S3 object key",
        ),
        (
            "state:\n  gcs: { bucket: team-state }\n",
            "bad.yaml:4:",
            "unknown key `gcs`",
        ),
        (
            "state:\n  s3: { bucket: team-state, key: k, region: mars }\n",
            "bad.yaml:4:",
            "is not an AWS region name",
        ),
    ];
    for (block, at, why) in cases {
        w.write(
            "bad.yaml",
            &ONE.replacen("version: 1\n", &format!("version: 1\n{block}"), 1),
        );
        for args in [
            &["validate", "-f", "bad.yaml"][..],
            &["plan", "-f", "bad.yaml"],
        ] {
            let run = w.privlink(args);
            assert_eq!(run.code, 1, "{block}: {}", run.all());
            assert!(
                run.stderr.contains(at) && run.stderr.contains(why),
                "{block}: {}",
                run.all()
            );
        }
    }
    let flag = w.privlink(&["plan", "-f", "bad.yaml", "--state-s3", "team-state/k"]);
    assert_ne!(flag.code, 0);
    assert!(
        flag.stderr.contains("expected s3://BUCKET/KEY"),
        "{}",
        flag.all()
    );
    let env = w.privlink_with(
        &["plan", "-f", "bad.yaml"],
        &[("PRIVLINK_STATE", "s3://x/k")],
        &[],
    );
    assert_ne!(env.code, 0);
    assert!(
        env.stderr.contains("not a valid S3 bucket name"),
        "{}",
        env.all()
    );
    assert_eq!(w.moto.requests_count(), 0, "no call to AWS");
}

/// Polls the bucket until `done` holds for the state object (30 s).
async fn wait_for_state(t: &Team, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = s3::get_json(&t.s3, &t.bucket, KEY).await
            && done(&v)
        {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(feature = "failpoints")]
#[tokio::test(flavor = "multi_thread")]
async fn a_writer_with_a_stale_etag_is_refused_and_loses_nothing() {
    let t = Team::start(true).await;
    let a = t.file_in("a", ONE);
    // The apply stops for a while before its second state write, holding
    // the ETag of its first.
    let mut cmd = t.w.command(&["apply", "-f", &a, "--auto-approve"]);
    cmd.env("FAILPOINTS", "state-write-before=1*off->sleep(20000)")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let apply = cmd.spawn().expect("start apply");
    let first = wait_for_state(&t, "the first write", |v| v["serial"] == 1).await;
    let lock = s3::get_json(&t.s3, &t.bucket, LOCK_KEY)
        .await
        .expect("the lock");
    let id = lock["id"].as_str().unwrap();
    assert_eq!(lock["operation"], "apply");

    // Someone forces the lock and writes the state meanwhile.
    t.w.expect(0, &["force-unlock", id, "-f", &a]);
    let mut theirs = first.clone();
    theirs["serial"] = Value::from(7);
    t.w.write("theirs.json", &serde_json::to_string(&theirs).unwrap());
    t.w.expect(0, &["state", "push", "theirs.json", "-f", &a]);
    let stored = t.state().await;
    assert_eq!(stored["serial"], 8);

    let run = finish(apply);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(&format!(
            "refusing to overwrite state s3://{}/{KEY}",
            t.bucket
        )) && run.stderr.contains("Nothing was lost"),
        "{}",
        run.all()
    );
    assert_eq!(t.state().await, stored, "the other writer's state is kept");
    let saved: std::path::PathBuf = t.w.dir.path().join("team.state.json.2.errored");
    assert!(
        run.stderr.contains("team.state.json.2.errored"),
        "{}",
        run.all()
    );
    let kept: Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("errored file")).unwrap();
    assert_eq!(kept["lineage"], first["lineage"]);
    assert_eq!(kept["serial"], 2);
    assert!(resources(&kept).len() >= resources(&first).len(), "{kept}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[cfg(feature = "failpoints")]
#[tokio::test(flavor = "multi_thread")]
async fn a_crashed_holder_is_recovered_by_force_unlock() {
    let t = Team::start(true).await;
    let a = t.file_in("a", ONE);
    let crashed = t.w.privlink_with(
        &["apply", "-f", &a, "--auto-approve"],
        &[("FAILPOINTS", "create-returned=1*off->return")],
        &[],
    );
    assert_eq!(crashed.code, -1, "killed outright:\n{}", crashed.all());
    assert!(
        t.keys().await.contains(&LOCK_KEY.to_owned()),
        "the lock stays"
    );

    let refused = t.w.privlink(&["apply", "-f", &a, "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains("is locked by lock"),
        "{}",
        refused.all()
    );
    let id = lock_id_in(&refused.stderr).expect("the lock id");
    let wrong = t.w.privlink(&[
        "force-unlock",
        "0b6d5a3e-4f1c-4a2b-9c8d-7e6f5a4b3c2d",
        "-f",
        &a,
    ]);
    assert_eq!(wrong.code, 1, "{}", wrong.all());
    assert!(t.keys().await.contains(&LOCK_KEY.to_owned()));
    let unlocked = t.w.expect(0, &["force-unlock", &id, "-f", &a]);
    assert!(unlocked.stdout.contains(&id), "{}", unlocked.all());
    let again = t.w.privlink(&["force-unlock", &id, "-f", &a]);
    assert!(again.stderr.contains("is not locked"), "{}", again.all());

    t.w.expect(0, &["apply", "-f", &a, "--auto-approve"]);
    let plan = t.w.privlink(&["plan", "-f", &a, "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert_eq!(t.tagged().await, (1, 1), "nothing created twice");
    assert_eq!(t.atlas_endpoints().await, 1);
    t.w.expect(0, &["destroy", "-f", &a, "--auto-approve"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_the_s3_state_outputs_or_logs() {
    const AWS_SECRET: &str = "aws-secret-key-s3-state-5e2b9d7c1a";
    const SESSION: &str = "aws-session-token-s3-state-4c8a1f6e3b";
    let t = Team::start(true).await;
    let a = t.file_in("a", ONE);
    let log = t.w.dir.path().join("trace.log");
    let log_path = log.to_str().unwrap().to_owned();
    let env = [
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
        ("AWS_SESSION_TOKEN", SESSION),
        ("PRIVLINK_LOG", "trace"),
        ("PRIVLINK_LOG_PATH", log_path.as_str()),
    ];
    let mut seen = String::new();
    for (code, args) in [
        (0, vec!["apply", "-f", &a, "--auto-approve", "-vv"]),
        (0, vec!["plan", "-f", &a, "--out", "p.plan"]),
        (0, vec!["apply", "p.plan"]),
        (0, vec!["state", "pull", "-f", &a]),
        (0, vec!["state", "list", "-f", &a]),
        (0, vec!["show", "-f", &a, "--json"]),
        (0, vec!["destroy", "-f", &a, "--auto-approve", "-vv"]),
    ] {
        let run = t.w.privlink_with(&args, &env, &[]);
        assert_eq!(run.code, code, "{}\n{}", args.join(" "), run.all());
        seen.push_str(&run.all());
    }
    let trace = std::fs::read_to_string(&log).expect("trace log");
    assert!(
        trace.contains(" aws_"),
        "the SDK's own lines are in the trace"
    );
    assert!(
        !trace.to_lowercase().contains("authorization: "),
        "an Authorization header in the trace log"
    );
    seen.push_str(&trace);
    seen.push_str(&String::from_utf8_lossy(
        &std::fs::read(t.w.dir.path().join("p.plan")).unwrap(),
    ));
    for version in s3::versions(&t.s3, &t.bucket, KEY).await {
        seen.push_str(&version);
    }
    assert!(seen.contains("s3://"), "the S3 state was used");
    for secret in [AWS_SECRET, SESSION, PRIVATE_KEY] {
        assert!(!seen.contains(secret), "{secret} leaked");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_removes_the_s3_lock_and_the_next_apply_resumes() {
    let t = Team::start(true).await;
    let a = t.file_in("a", ONE);
    let child = t.w.spawn(&["apply", "-f", &a, "--auto-approve"]);
    // Interrupted once the first create is recorded, while it waits.
    wait_for_state(&t, "a recorded create", |v| {
        v["resources"]
            .as_object()
            .is_some_and(|r| r.values().any(|x| x["id"].is_string()))
    })
    .await;
    assert!(t.keys().await.contains(&LOCK_KEY.to_owned()));
    let pid = child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status();
    assert!(kill.expect("kill").success());
    let run = finish(child);
    assert_eq!(run.code, 130, "{}", run.all());
    assert!(
        !t.keys().await.contains(&LOCK_KEY.to_owned()),
        "the lock is removed after Ctrl-C:\n{}",
        run.all()
    );
    t.w.expect(0, &["apply", "-f", &a, "--auto-approve"]);
    assert_eq!(t.tagged().await, (1, 1));
    let plan = t.w.privlink(&["plan", "-f", &a, "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
}
