//! A crash at every step: the binary is stopped dead (SIGABRT, as abrupt as
//! `kill -9`: no destructor, flush or state write runs) at each failpoint in
//! turn — right after each create call returns, before and after each state
//! write, and during each wait — and after every crash a plain
//! `privlink apply` must converge with exactly one of each resource in moto
//! and the sandbox, and the next plan must show no changes.
//!
//! The same runs with the state in S3 (`_s3` tests, on the first
//! [`S3_HITS`] hits of each point, to keep them short): a crash there
//! leaves the lock object behind, so the next apply is refused naming the
//! holder, and `privlink force-unlock ID` lets it converge.
//!
//! The failpoints exist only in builds with the `failpoints` feature, which
//! the README's test command enables.

#[cfg(not(feature = "failpoints"))]
#[test]
fn crash_tests_need_the_failpoints_feature() {
    panic!(
        "the crash tests need a privlink built with failpoints: run scripts/test.sh, \
         or cargo test --features failpoints"
    );
}

#[cfg(feature = "failpoints")]
mod with_failpoints {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use crate::support::s3::{self, lock_id_in, unique_bucket, with_s3_state};
    use crate::support::world::World;

    /// How many hits of each point the S3 runs cover.
    const S3_HITS: usize = 3;

    /// Where the state of the crashed runs is kept.
    #[derive(Clone, Copy, PartialEq)]
    enum Backend {
        Local,
        S3,
    }

    /// Two endpoints on two serverless instances, one with client egress.
    const FILE: &str = r#"
version: 1
atlas:
  project_id: 5f7cac1adf5d6c6306f4b280
aws:
  region: us-east-1
endpoints:
  orders:
    atlas: { serverless_instance: orders-prod, comment: orders }
    aws:
      vpc_id: "${PRIVLINK_VPC_ID}"
      subnet_ids: ["${PRIVLINK_SUBNET_A}", "${PRIVLINK_SUBNET_B}"]
      client_security_groups: ["${PRIVLINK_CLIENT_SG}"]
  billing:
    atlas: { serverless_instance: billing-prod }
    aws:
      vpc_id: "${PRIVLINK_VPC_ID}"
      subnet_ids: ["${PRIVLINK_SUBNET_B}"]
      security_group: { allow_from: [10.0.0.0/16] }
"#;

    /// Kill points survived, by failpoint: one JSON line for the reliability
    /// report (scripts/reliability.sh) when it asks for figures.
    fn report(point: &str, crashes: usize) {
        use std::io::Write;
        if let Ok(path) = std::env::var("PRIVLINK_RELIABILITY_OUT") {
            let line = serde_json::json!({"area": "crash", "figures": {point: crashes}});
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("figures file");
            writeln!(f, "{line}").expect("write figures");
        }
    }

    async fn tagged_count(w: &World, stack: &str) -> (usize, usize) {
        let tag = |v: &[aws_sdk_ec2::types::Tag]| {
            v.iter()
                .any(|t| t.key() == Some("privlink:stack") && t.value() == Some(stack))
        };
        let vpces = w
            .live_vpc_endpoints()
            .await
            .iter()
            .filter(|e| tag(e.tags()))
            .count();
        let groups = w
            .privlink_groups()
            .await
            .iter()
            .filter(|g| tag(g.tags()))
            .count();
        (vpces, groups)
    }

    /// Every Atlas endpoint carrying the comment of one in this state.
    async fn atlas_copies(w: &World, state: &Value) -> BTreeMap<String, usize> {
        let dump = w.control_get("/__sandbox/state").await;
        let mut wanted: BTreeMap<String, usize> = BTreeMap::new();
        for (a, r) in state["resources"].as_object().unwrap() {
            if a.ends_with(".atlas_endpoint") {
                let id = r["id"].as_str().unwrap();
                let comment = dump["projects"][0]["serverlessEndpoints"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["_id"] == id)
                    .and_then(|e| e["comment"].as_str())
                    .unwrap_or_else(|| panic!("endpoint {id} of {a} is in the sandbox"))
                    .to_owned();
                wanted.insert(comment, 0);
            }
        }
        for e in dump["projects"][0]["serverlessEndpoints"]
            .as_array()
            .unwrap()
        {
            if let Some(n) = e["comment"].as_str().and_then(|c| wanted.get_mut(c)) {
                *n += 1;
            }
        }
        wanted
    }

    async fn crash_at_every_hit(point: &str, backend: Backend) {
        let w = World::start(&["orders-prod", "billing-prod"], &[], &[]).await;
        let s3 = s3::client(&w.moto).await;
        let bucket = unique_bucket("crash-state");
        if backend == Backend::S3 {
            s3::create_bucket(&s3, &bucket, true).await;
        }
        let hits = if backend == Backend::S3 { S3_HITS } else { 200 };
        let mut crashes = 0;
        for n in 0..hits {
            let stack = format!("crash-{}-{n}", point.replace('-', ""));
            let file = format!("{stack}.yaml");
            let key = format!("{stack}.state.json");
            match backend {
                Backend::Local => w.write(&file, FILE),
                Backend::S3 => w.write(&file, &with_s3_state(FILE, &bucket, &key)),
            };
            if !crash_at(&w, &file, point, n) {
                break;
            }
            crashes += 1;
            if backend == Backend::S3 {
                unlock_after_crash(&w, &file);
            }
            converge(&w, &file, point, n);

            let state = match backend {
                Backend::Local => w.state(&file),
                Backend::S3 => s3::get_json(&s3, &bucket, &key).await.expect("S3 state"),
            };
            assert_eq!(state["resources"].as_object().unwrap().len(), 9, "{state}");
            assert_eq!(
                tagged_count(&w, &stack).await,
                (2, 2),
                "one VPC endpoint and one group per endpoint after {point} #{n}"
            );
            for (comment, copies) in atlas_copies(&w, &state).await {
                assert_eq!(
                    copies, 1,
                    "exactly one Atlas endpoint {comment:?} after {point} #{n}"
                );
            }
        }
        assert!(crashes > 0, "{point}: no crash happened");
        if backend == Backend::Local {
            report(point, crashes);
        }
    }

    /// The crashed run's S3 lock stays: the next apply is refused naming
    /// it, and force-unlock with its id removes it.
    fn unlock_after_crash(w: &World, file: &str) {
        let refused = w.privlink(&["apply", "-f", file, "--auto-approve"]);
        assert_eq!(refused.code, 1, "{}", refused.all());
        assert!(
            refused.stderr.contains("is locked by lock") && refused.stderr.contains("(apply, pid "),
            "{}",
            refused.all()
        );
        let id = lock_id_in(&refused.stderr).expect("a lock id");
        w.expect(0, &["force-unlock", &id, "-f", file]);
    }

    /// Two endpoints on Azure in one region: one shared AZURE endpoint
    /// service, two private endpoints, two links.
    const AZURE_FILE: &str = r#"
version: 1
atlas:
  project_id: 5f7cac1adf5d6c6306f4b280
aws:
  region: us-east-1
endpoints:
  web:
    atlas: { dedicated_clusters: true }
    azure: { resource_group: rg-crash, location: eastus2, vnet: vnet-crash, subnet: default }
  reports:
    atlas: { dedicated_clusters: true }
    azure: { resource_group: rg-crash, location: eastus2, vnet: vnet-crash, subnet: default }
"#;

    /// Two endpoints of a serverless instance on Azure.
    const AZURE_SERVERLESS_FILE: &str = r#"
version: 1
atlas:
  project_id: 5f7cac1adf5d6c6306f4b280
endpoints:
  web:
    atlas: { serverless_instance: sl-crash }
    azure: { resource_group: rg-crash, location: eastus2, vnet: vnet-crash, subnet: default }
  reports:
    atlas: { serverless_instance: sl-crash }
    azure: { resource_group: rg-crash, location: eastus2, vnet: vnet-crash, subnet: default }
"#;

    /// The private endpoints in azure-sandbox tagged with `stack`.
    async fn tagged_private_endpoints(w: &World, stack: &str) -> usize {
        w.azure
            .as_ref()
            .unwrap()
            .private_endpoints()
            .await
            .into_iter()
            .filter(|pe| pe["tags"]["privlink:stack"] == stack)
            .count()
    }

    /// The private endpoints in azure-sandbox tagged with `stack`, how many
    /// times Atlas lists each on its AZURE endpoint services, and how many
    /// AZURE endpoint services there are.
    async fn azure_copies(w: &World, stack: &str) -> (usize, Vec<usize>, usize) {
        use privlink::providers::atlas::{AtlasClient, ClientOptions, Credentials};
        let pes: Vec<Value> = w
            .azure
            .as_ref()
            .unwrap()
            .private_endpoints()
            .await
            .into_iter()
            .filter(|pe| pe["tags"]["privlink:stack"] == stack)
            .collect();
        let atlas = AtlasClient::new(
            &w.sandbox.base_url,
            Credentials::Digest {
                public_key: "world-public-key".into(),
                private_key: crate::support::world::PRIVATE_KEY.into(),
            },
            ClientOptions::default(),
        )
        .expect("client");
        let services = atlas
            .list_azure_services(crate::support::world::PROJECT)
            .await
            .expect("list");
        let registered = pes
            .iter()
            .map(|pe| {
                let id = pe["id"].as_str().unwrap();
                services
                    .iter()
                    .flat_map(|s| &s.private_endpoints)
                    .filter(|e| e.eq_ignore_ascii_case(id))
                    .count()
            })
            .collect();
        (pes.len(), registered, services.len())
    }

    /// Writes `text` as the stack's file, crashes an apply at hit `n` of
    /// `point`, then converges with a plain apply and checks that the next
    /// plan shows no change. Returns the state, or `None` once the apply got
    /// through without a crash.
    fn crash_and_converge(
        w: &World,
        stack: &str,
        text: &str,
        point: &str,
        n: usize,
    ) -> Option<Value> {
        let file = format!("{stack}.yaml");
        w.write(&file, text);
        if !crash_at(w, &file, point, n) {
            return None;
        }
        converge(w, &file, point, n);
        Some(w.state(&file))
    }

    /// Applies `file` with hit `n` of `point` crashing the process; false
    /// when the apply got through (the point was hit fewer than n+1 times:
    /// every hit is covered).
    fn crash_at(w: &World, file: &str, point: &str, n: usize) -> bool {
        let failpoints = format!("{point}={n}*off->return");
        let run = w.privlink_with(
            &["apply", "-f", file, "--auto-approve"],
            &[("FAILPOINTS", failpoints.as_str())],
            &[],
        );
        if run.code == 0 {
            assert!(n > 0, "{point} was never reached:\n{}", run.all());
            return false;
        }
        assert_eq!(
            run.code,
            -1,
            "the run at {point} #{n} died by a signal:\n{}",
            run.all()
        );
        true
    }

    /// A plain apply of `file` after a crash, and a plan that shows no change.
    fn converge(w: &World, file: &str, point: &str, n: usize) {
        let again = w.expect(0, &["apply", "-f", file, "--auto-approve"]);
        let plan = w.privlink(&["plan", "-f", file, "--detailed-exitcode"]);
        assert_eq!(
            plan.code,
            0,
            "no changes after converging from {point} #{n}:\n{}\n{}",
            again.all(),
            plan.all()
        );
    }

    /// A world with azure-sandbox and the resource group and subnet the
    /// Azure crash files use.
    async fn azure_world(extra: &[&str]) -> World {
        let w = World::start_azure(&[], extra).await;
        let az = w.azure.as_ref().unwrap();
        az.resource_group("rg-crash", "eastus2").await;
        az.subnet("rg-crash", "vnet-crash", "eastus2", "10.3.0.0/22")
            .await;
        w
    }

    async fn azure_crash_at_every_hit(point: &str) {
        let w = azure_world(&[]).await;
        let mut crashes = 0;
        for n in 0..200 {
            let stack = format!("az-{}-{n}", point.replace('-', ""));
            let Some(state) = crash_and_converge(&w, &stack, AZURE_FILE, point, n) else {
                break;
            };
            crashes += 1;
            assert_eq!(state["resources"].as_object().unwrap().len(), 5, "{state}");
            assert_eq!(
                azure_copies(&w, &stack).await,
                (2, vec![1, 1], 1),
                "one private endpoint per endpoint, each registered once on the one AZURE service, after {point} #{n}"
            );
        }
        assert!(crashes > 0, "{point}: no crash happened");
        report(&format!("azure-{point}"), crashes);
    }

    /// One crash of the Azure serverless flow at hit `n` of `point`, then a
    /// plain apply; false once the run got through without a crash.
    async fn azure_serverless_crash(w: &World, point: &str, n: usize) -> bool {
        let stack = format!("azsl-{}-{n}", point.replace('-', ""));
        let Some(state) = crash_and_converge(w, &stack, AZURE_SERVERLESS_FILE, point, n) else {
            return false;
        };
        assert_eq!(state["resources"].as_object().unwrap().len(), 6, "{state}");
        assert_eq!(tagged_private_endpoints(w, &stack).await, 2, "{point} #{n}");
        for (comment, copies) in atlas_copies(w, &state).await {
            assert_eq!(
                copies, 1,
                "one Atlas endpoint {comment:?} after {point} #{n}"
            );
        }
        true
    }

    /// The serverless flow on Azure (Atlas endpoint, Azure private
    /// endpoint, the link carrying providerName AZURE) crashed at every hit
    /// of every failpoint, in one world.
    #[tokio::test(flavor = "multi_thread")]
    async fn azure_serverless_crash_at_every_failpoint() {
        let seeded = format!(
            "{}/sl-crash@AZURE:US_EAST_2",
            crate::support::world::PROJECT
        );
        let w = azure_world(&["--serverless-instance", &seeded]).await;
        for point in [
            "create-returned",
            "state-write-before",
            "state-write-after",
            "wait-pending",
        ] {
            let mut crashes = 0;
            for n in 0..200 {
                if !azure_serverless_crash(&w, point, n).await {
                    break;
                }
                crashes += 1;
            }
            assert!(crashes > 0, "{point}: no crash happened");
            report(&format!("azure-serverless-{point}"), crashes);
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn azure_crash_right_after_each_create_call_returns() {
        azure_crash_at_every_hit("create-returned").await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn azure_crash_just_before_each_state_write() {
        azure_crash_at_every_hit("state-write-before").await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn azure_crash_just_after_each_state_write() {
        azure_crash_at_every_hit("state-write-after").await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn azure_crash_during_each_wait() {
        azure_crash_at_every_hit("wait-pending").await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn crash_right_after_each_create_call_returns() {
        crash_at_every_hit("create-returned", Backend::Local).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn crash_right_after_each_create_call_returns_s3() {
        crash_at_every_hit("create-returned", Backend::S3).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn crash_just_before_each_state_write() {
        crash_at_every_hit("state-write-before", Backend::Local).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn crash_just_before_each_state_write_s3() {
        crash_at_every_hit("state-write-before", Backend::S3).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn crash_just_after_each_state_write() {
        crash_at_every_hit("state-write-after", Backend::Local).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn crash_just_after_each_state_write_s3() {
        crash_at_every_hit("state-write-after", Backend::S3).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn crash_during_each_wait() {
        crash_at_every_hit("wait-pending", Backend::Local).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn crash_during_each_wait_s3() {
        crash_at_every_hit("wait-pending", Backend::S3).await;
    }
}
