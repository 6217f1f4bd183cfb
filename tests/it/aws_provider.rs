//! `privlink::providers::aws` against a real moto_server on loopback.
//!
//! One moto per test process ([`Moto::shared`]); each test works in VPCs of
//! its own and tags what it creates with a fresh value, so tests run in
//! parallel without seeing each other.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::process::Command;
use std::slice;
use std::time::Duration;

use privlink::providers::aws::{
    AwsError, BusyRetry, CreateVpcEndpoint, Ec2, Rule, Source, VpceTarget,
};
use privlink::wait::{NoProgress, WaitPolicy};

use crate::support::moto::{self, Moto};

const REGION: &str = "us-east-1";
const SERVICE: &str = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0";
const TAG: &str = "privlink-test";
const MISSING_SG: &str = "sg-0000000000000000f";
const MISSING_VPCE: &str = "vpce-0000000000000000f";

fn policy() -> WaitPolicy {
    WaitPolicy {
        timeout: Duration::from_secs(30),
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
    }
}

async fn ec2_for(moto: &Moto) -> Ec2 {
    Ec2::from_conf(&moto.sdk_config(REGION).await)
        .await
        .with_busy_retry(BusyRetry {
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retries: 3,
        })
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn all_traffic(source: Source, description: Option<&str>) -> Rule {
    Rule {
        protocol: "-1".into(),
        from_port: None,
        to_port: None,
        source,
        description: description.map(str::to_owned),
    }
}

/// A VPC with two subnets, as the seed's step 3 needs.
struct Network {
    vpc: String,
    subnets: [String; 2],
}

async fn network(moto: &Moto) -> Network {
    let c = moto.ec2(REGION).await;
    let vpc = moto::create_vpc(&c, "10.0.0.0/16").await;
    let a = moto::create_subnet(&c, &vpc, "10.0.1.0/24").await;
    let b = moto::create_subnet(&c, &vpc, "10.0.2.0/24").await;
    Network {
        vpc,
        subnets: [a, b],
    }
}

#[tokio::test]
async fn security_group_create_ingress_describe_revoke_delete() {
    let moto = Moto::shared();
    let ec2 = ec2_for(moto).await;
    assert_eq!(ec2.region(), REGION);
    let net = network(moto).await;
    let client = moto::create_security_group(&moto.ec2(REGION).await, &net.vpc, "clients").await;
    let run = unique();
    let tags = vec![
        (TAG.to_owned(), run.clone()),
        ("Name".to_owned(), "orders-endpoint".to_owned()),
    ];

    let sg = ec2
        .create_security_group(
            &net.vpc,
            "orders-endpoint",
            "privlink endpoint group",
            &tags,
        )
        .await
        .unwrap();
    assert!(sg.starts_with("sg-"), "{sg}");

    ec2.authorize_ingress(
        &sg,
        &[
            Source::Group(client.clone()),
            Source::Cidr("10.1.0.0/16".into()),
        ],
        "privlink clients",
    )
    .await
    .unwrap();

    let found = ec2
        .describe_security_groups(&[sg.clone(), MISSING_SG.to_owned()])
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "the missing id is simply absent: {found:?}");
    let info = &found[0];
    assert_eq!(info.id, sg);
    assert_eq!(info.vpc_id, net.vpc);
    assert_eq!(info.name, "orders-endpoint");
    assert_eq!(info.description, "privlink endpoint group");
    let want_tags: BTreeMap<String, String> = tags.iter().cloned().collect();
    assert_eq!(info.tags, want_tags);
    let mut want = vec![
        all_traffic(Source::Group(client.clone()), Some("privlink clients")),
        all_traffic(Source::Cidr("10.1.0.0/16".into()), Some("privlink clients")),
    ];
    want.sort();
    assert_eq!(info.ingress, want);

    // Repeating a rule is success, and the new source in the same call lands.
    ec2.authorize_ingress(
        &sg,
        &[
            Source::Cidr("10.1.0.0/16".into()),
            Source::Cidr("10.2.0.0/16".into()),
        ],
        "privlink clients",
    )
    .await
    .unwrap();
    let info = &ec2
        .describe_security_groups(slice::from_ref(&sg))
        .await
        .unwrap()[0];
    assert!(
        info.ingress.contains(&all_traffic(
            Source::Cidr("10.2.0.0/16".into()),
            Some("privlink clients")
        )),
        "{:?}",
        info.ingress
    );
    assert_eq!(info.ingress.len(), 3, "{:?}", info.ingress);

    let by_tag = ec2.find_security_groups_by_tag(TAG, &run).await.unwrap();
    assert_eq!(
        by_tag.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        vec![sg.as_str()]
    );

    ec2.revoke_ingress(
        &sg,
        &[
            Source::Group(client.clone()),
            Source::Cidr("10.2.0.0/16".into()),
        ],
    )
    .await
    .unwrap();
    let info = &ec2
        .describe_security_groups(slice::from_ref(&sg))
        .await
        .unwrap()[0];
    assert_eq!(
        info.ingress,
        vec![all_traffic(
            Source::Cidr("10.1.0.0/16".into()),
            Some("privlink clients")
        )]
    );
    // Revoking what is gone (alone or with a rule that exists) is success.
    ec2.revoke_ingress(&sg, &[Source::Group(client.clone())])
        .await
        .unwrap();
    ec2.revoke_ingress(
        &sg,
        &[Source::Group(client), Source::Cidr("10.1.0.0/16".into())],
    )
    .await
    .unwrap();
    let info = &ec2
        .describe_security_groups(slice::from_ref(&sg))
        .await
        .unwrap()[0];
    assert!(info.ingress.is_empty(), "{:?}", info.ingress);

    ec2.delete_security_group(
        &sg,
        "endpoints.orders.security_group",
        policy(),
        &NoProgress,
    )
    .await
    .unwrap();
    assert!(
        ec2.describe_security_groups(slice::from_ref(&sg))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        ec2.find_security_groups_by_tag(TAG, &run)
            .await
            .unwrap()
            .is_empty()
    );
    // A second delete finds nothing to delete: success.
    ec2.delete_security_group(
        &sg,
        "endpoints.orders.security_group",
        policy(),
        &NoProgress,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn client_egress_authorize_and_revoke() {
    let moto = Moto::shared();
    let ec2 = ec2_for(moto).await;
    let net = network(moto).await;
    let client = moto::create_security_group(&moto.ec2(REGION).await, &net.vpc, "app").await;
    let ips = vec!["10.0.1.17/32".to_owned(), "10.0.2.18/32".to_owned()];

    ec2.authorize_egress(&client, &ips, "to orders endpoint")
        .await
        .unwrap();
    ec2.authorize_egress(&client, &ips, "to orders endpoint")
        .await
        .unwrap();
    let info = &ec2
        .describe_security_groups(slice::from_ref(&client))
        .await
        .unwrap()[0];
    for ip in &ips {
        let rule = all_traffic(Source::Cidr(ip.clone()), Some("to orders endpoint"));
        assert!(
            info.egress.contains(&rule),
            "{ip} missing from {:?}",
            info.egress
        );
    }

    ec2.revoke_egress(&client, &ips).await.unwrap();
    let info = &ec2
        .describe_security_groups(slice::from_ref(&client))
        .await
        .unwrap()[0];
    for ip in &ips {
        assert!(
            !info
                .egress
                .iter()
                .any(|r| r.source == Source::Cidr(ip.clone())),
            "{ip} still in {:?}",
            info.egress
        );
    }
    // moto's default allow-all egress rule is left alone.
    assert!(
        info.egress
            .iter()
            .any(|r| r.source == Source::Cidr("0.0.0.0/0".into())),
        "{:?}",
        info.egress
    );
    // Gone already, and a group that does not exist: both success.
    ec2.revoke_egress(&client, &ips).await.unwrap();
    ec2.revoke_egress(MISSING_SG, &ips).await.unwrap();
    // Nothing to do is no call and no error.
    ec2.authorize_egress(&client, &[], "x").await.unwrap();
}

#[tokio::test]
async fn vpc_endpoint_create_read_modify_delete() {
    let moto = Moto::shared();
    let ec2 = ec2_for(moto).await;
    let net = network(moto).await;
    let plain = moto.ec2(REGION).await;
    let sg = moto::create_security_group(&plain, &net.vpc, "endpoint").await;
    let other_sg = moto::create_security_group(&plain, &net.vpc, "other").await;
    let run = unique();
    let req = CreateVpcEndpoint {
        vpc_id: net.vpc.clone(),
        service_name: SERVICE.into(),
        subnet_ids: net.subnets.to_vec(),
        security_group_ids: vec![sg.clone()],
        tags: vec![(TAG.into(), run.clone()), ("Name".into(), "orders".into())],
        client_token: unique(),
    };

    let created = ec2.create_vpc_endpoint(&req).await.unwrap();
    let mut subnets = net.subnets.to_vec();
    subnets.sort();
    assert!(created.id.starts_with("vpce-"), "{}", created.id);
    assert_eq!(created.vpc_id, net.vpc);
    assert_eq!(created.service_name, SERVICE);
    assert_eq!(created.subnet_ids, subnets);
    assert_eq!(created.security_group_ids, vec![sg.clone()]);
    assert_eq!(created.network_interface_ids.len(), 2, "{created:?}");
    assert_eq!(created.tags.get(TAG), Some(&run));
    assert_eq!(created.tags.get("Name").map(String::as_str), Some("orders"));

    let ready = ec2
        .wait_vpc_endpoint(
            &created.id,
            VpceTarget::Available,
            "endpoints.orders.vpc_endpoint",
            policy(),
            &NoProgress,
        )
        .await
        .unwrap()
        .expect("an available endpoint");
    assert_eq!(ready.state, "available");
    assert_eq!(ready.id, created.id);

    let by_tag = ec2.describe_vpc_endpoints_by_tag(TAG, &run).await.unwrap();
    assert_eq!(by_tag, vec![ready.clone()]);

    let by_id = ec2
        .describe_vpc_endpoints(&[MISSING_VPCE.to_owned(), created.id.clone()])
        .await
        .unwrap();
    assert_eq!(
        by_id,
        vec![ready.clone()],
        "the missing id is simply absent"
    );
    assert!(
        ec2.describe_vpc_endpoints(&[MISSING_VPCE.to_owned()])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(ec2.describe_vpc_endpoints(&[]).await.unwrap().is_empty());

    let mut enis = ready.network_interface_ids.clone();
    enis.push("eni-0000000000000000f".into());
    let ips = ec2.network_interface_ips(&enis).await.unwrap();
    assert_eq!(ips.len(), 2, "one IP per subnet: {ips:?}");
    assert_eq!(
        ips.iter().map(|(eni, _)| eni.clone()).collect::<Vec<_>>(),
        ready.network_interface_ids
    );
    for (_, ip) in &ips {
        ip.parse::<Ipv4Addr>()
            .unwrap_or_else(|e| panic!("{ip}: {e}"));
    }
    assert_ne!(ips[0].1, ips[1].1);

    ec2.modify_vpc_endpoint(
        &created.id,
        &[],
        &[net.subnets[1].clone()],
        slice::from_ref(&other_sg),
        slice::from_ref(&sg),
    )
    .await
    .unwrap();
    ec2.modify_vpc_endpoint(&created.id, &[], &[], &[], &[])
        .await
        .unwrap();
    let modified = &ec2
        .describe_vpc_endpoints(slice::from_ref(&created.id))
        .await
        .unwrap()[0];
    assert_eq!(modified.subnet_ids, vec![net.subnets[0].clone()]);
    assert_eq!(modified.security_group_ids, vec![other_sg.clone()]);

    ec2.delete_vpc_endpoint(&created.id).await.unwrap();
    let gone = ec2
        .wait_vpc_endpoint(
            &created.id,
            VpceTarget::Gone,
            "endpoints.orders.vpc_endpoint",
            policy(),
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!(gone, None);
    // Deleted endpoints stay listed for a while; callers see the state.
    let listed = ec2.describe_vpc_endpoints_by_tag(TAG, &run).await.unwrap();
    assert_eq!(
        listed.iter().map(|e| e.state.as_str()).collect::<Vec<_>>(),
        vec!["deleted"]
    );
    // Waiting for a deleted endpoint to be available fails at once.
    let err = ec2
        .wait_vpc_endpoint(
            &created.id,
            VpceTarget::Available,
            "endpoints.orders.vpc_endpoint",
            policy(),
            &NoProgress,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AwsError::Failed { .. }), "{err}");
    assert!(err.to_string().contains("deleted"), "{err}");
    // Deleting again, or something that never existed: success.
    ec2.delete_vpc_endpoint(&created.id).await.unwrap();
    ec2.delete_vpc_endpoint(MISSING_VPCE).await.unwrap();
    let gone = ec2
        .wait_vpc_endpoint(
            MISSING_VPCE,
            VpceTarget::Gone,
            "endpoints.x.vpc_endpoint",
            policy(),
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!(gone, None);

    for id in [&sg, &other_sg] {
        ec2.delete_security_group(id, "endpoints.orders.security_group", policy(), &NoProgress)
            .await
            .unwrap();
    }
    assert!(
        ec2.describe_security_groups(&[sg, other_sg])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn errors_name_operation_and_code() {
    let moto = Moto::shared();
    let ec2 = ec2_for(moto).await;

    let err = ec2
        .modify_vpc_endpoint(MISSING_VPCE, &[], &[], &["sg-1".into()], &[])
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.code(), Some("InvalidVpcEndpointId.NotFound"));
    let text = err.to_string();
    assert!(
        text.starts_with("EC2 ModifyVpcEndpoint failed: InvalidVpcEndpointId.NotFound: "),
        "{text}"
    );
    assert!(
        text.contains(MISSING_VPCE) && !text.contains('\n'),
        "{text}"
    );
    assert!(!text.contains("testing"), "credentials leak: {text}");

    // moto checks the VPC of an endpoint (not of a security group).
    let err = ec2
        .create_vpc_endpoint(&CreateVpcEndpoint {
            vpc_id: "vpc-0000000000000000f".into(),
            service_name: SERVICE.into(),
            client_token: unique(),
            ..CreateVpcEndpoint::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidVpcID.NotFound"), "{err}");
    assert!(err.to_string().contains("CreateVpcEndpoint"), "{err}");
    assert!(!err.is_retryable(), "{err}");

    let err = ec2
        .authorize_ingress(MISSING_SG, &[Source::Cidr("10.0.0.0/8".into())], "x")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidGroup.NotFound"), "{err}");

    let short = WaitPolicy {
        timeout: Duration::from_millis(300),
        ..policy()
    };
    let err = ec2
        .wait_vpc_endpoint(
            MISSING_VPCE,
            VpceTarget::Available,
            "endpoints.x.vpc_endpoint",
            short,
            &NoProgress,
        )
        .await
        .unwrap_err();
    match &err {
        AwsError::Timeout {
            address,
            last_state,
            ..
        } => {
            assert_eq!(address, "endpoints.x.vpc_endpoint");
            assert_eq!(last_state, "not listed yet");
        }
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test]
async fn batched_reads_cost_one_request() {
    // A private server: the request recorder is global to a server.
    let moto = Moto::start_ideal();
    moto.reset();
    let ec2 = ec2_for(&moto).await;
    let net = network(&moto).await;
    let plain = moto.ec2(REGION).await;
    let a = moto::create_security_group(&plain, &net.vpc, "a").await;
    let b = moto::create_security_group(&plain, &net.vpc, "b").await;
    let run = unique();
    let vpce = ec2
        .create_vpc_endpoint(&CreateVpcEndpoint {
            vpc_id: net.vpc.clone(),
            service_name: SERVICE.into(),
            subnet_ids: net.subnets.to_vec(),
            security_group_ids: vec![a.clone()],
            tags: vec![(TAG.into(), run.clone())],
            client_token: unique(),
        })
        .await
        .unwrap();

    moto.start_recording();
    let groups = ec2
        .describe_security_groups(&[a.clone(), b.clone(), MISSING_SG.into()])
        .await
        .unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(moto.requests_count(), 1, "DescribeSecurityGroups");

    moto.start_recording();
    let ips = ec2
        .network_interface_ips(&vpce.network_interface_ids)
        .await
        .unwrap();
    assert_eq!(ips.len(), 2);
    assert_eq!(moto.requests_count(), 1, "DescribeNetworkInterfaces");

    moto.start_recording();
    assert_eq!(
        ec2.describe_vpc_endpoints_by_tag(TAG, &run)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(moto.requests_count(), 1, "DescribeVpcEndpoints by tag");

    // By ids with one missing: the refused call, then one without it.
    moto.start_recording();
    let found = ec2
        .describe_vpc_endpoints(&[vpce.id.clone(), MISSING_VPCE.into()])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(moto.requests_count(), 2, "DescribeVpcEndpoints by ids");
}

/// Started by `from_env_reaches_moto_through_the_standard_settings` in a
/// child process with the AWS_* settings in its environment.
#[tokio::test]
#[ignore = "run in a child process by from_env_reaches_moto_through_the_standard_settings"]
async fn from_env_child() {
    let (Ok(tag), Ok(want)) = (
        std::env::var("PRIVLINK_TEST_TAG_VALUE"),
        std::env::var("PRIVLINK_TEST_GROUP_ID"),
    ) else {
        return;
    };
    let ec2 = Ec2::from_env(REGION).await;
    assert_eq!(ec2.region(), REGION);
    let found = ec2.find_security_groups_by_tag(TAG, &tag).await.unwrap();
    assert_eq!(
        found.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        vec![want.as_str()]
    );
}

#[tokio::test]
async fn from_env_reaches_moto_through_the_standard_settings() {
    let moto = Moto::shared();
    let ec2 = ec2_for(moto).await;
    let net = network(moto).await;
    let run = unique();
    let sg = ec2
        .create_security_group(
            &net.vpc,
            "from-env",
            "from env",
            &[(TAG.into(), run.clone())],
        )
        .await
        .unwrap();

    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "aws_provider::from_env_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL_EC2", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_CONFIG_FILE", "/nonexistent/privlink-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/privlink-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PRIVLINK_TEST_TAG_VALUE", &run)
        .env("PRIVLINK_TEST_GROUP_ID", &sg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
