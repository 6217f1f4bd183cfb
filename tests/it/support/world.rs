//! A whole world for end-to-end tests: a private moto_server, an
//! atlas-sandbox that checks links against it, a VPC with two subnets and a
//! client security group, a scratch directory, and a way to run the real
//! `privlink` binary against all of it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use aws_sdk_ec2::Client;
use serde_json::Value;

use super::azure::AzureSandbox;
use super::moto::{self, Moto};
use super::sandbox::Sandbox;

/// How long a realistic world's clusters stay UPDATING after a link.
const CLUSTER_UPDATE_MS: u64 = 300;

/// The Atlas project every world seeds.
pub const PROJECT: &str = "5f7cac1adf5d6c6306f4b280";
const PUBLIC_KEY: &str = "world-public-key";
/// A private key distinctive enough to grep for in outputs.
pub const PRIVATE_KEY: &str = "world-private-key-7f3a9c1e5b2d";
/// The service account every world's sandbox also accepts.
pub const CLIENT_ID: &str = "mdb_sa_id_world0c4f";
/// A service-account secret distinctive enough to grep for in outputs.
pub const CLIENT_SECRET: &str = "mdb_sa_sk_world-client-secret-9d1e6b3a";

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Both streams, for assertions and failure messages.
    pub fn all(&self) -> String {
        format!(
            "--- exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub struct World {
    pub moto: Moto,
    pub sandbox: Sandbox,
    pub dir: tempfile::TempDir,
    pub vpc: String,
    pub subnets: Vec<String>,
    pub client_sg: String,
    /// The Azure stand-in, in a world with Azure ([`World::start_azure`]).
    pub azure: Option<AzureSandbox>,
}

impl World {
    /// Starts moto and a sandbox seeded with `instances` (serverless
    /// instance names in us-east-1) and `clusters`, plus `extra` flags.
    /// The world is realistic: EC2 behind the realism layer (eventual
    /// consistency, late network interfaces, ClientToken replays, lingering
    /// interfaces, pendingAcceptance) at its default settings, and clusters
    /// UPDATING for a moment after each link.
    pub async fn start(instances: &[&str], clusters: &[&str], extra: &[&str]) -> World {
        World::start_realistic(instances, clusters, extra).await
    }

    /// See [`World::start`].
    pub async fn start_realistic(instances: &[&str], clusters: &[&str], extra: &[&str]) -> World {
        let w = World::start_on(Moto::start(), None, instances, clusters, extra).await;
        w.sandbox
            .set_realism(serde_json::json!({"cluster_update_ms": CLUSTER_UPDATE_MS}))
            .await;
        w
    }

    /// Like [`World::start`] on plain moto and a sandbox without realism:
    /// for tests that count requests or time them.
    pub async fn start_ideal(instances: &[&str], clusters: &[&str], extra: &[&str]) -> World {
        World::start_on(Moto::start_ideal(), None, instances, clusters, extra).await
    }

    /// A world with Azure too: an azure-sandbox (its operations taking
    /// `provision_ms`) that the atlas-sandbox checks Azure links against,
    /// beside plain moto; `clusters` are in us-east-1.
    pub async fn start_azure(clusters: &[&str], extra: &[&str]) -> World {
        let azure = AzureSandbox::start(&["--provision-ms", "200"]);
        World::start_on(Moto::start_ideal(), Some(azure), &[], clusters, extra).await
    }

    async fn start_on(
        moto: Moto,
        azure: Option<AzureSandbox>,
        instances: &[&str],
        clusters: &[&str],
        extra: &[&str],
    ) -> World {
        let mut args: Vec<String> = vec![
            "--public-key".into(),
            PUBLIC_KEY.into(),
            "--private-key".into(),
            PRIVATE_KEY.into(),
            "--client-id".into(),
            CLIENT_ID.into(),
            "--client-secret".into(),
            CLIENT_SECRET.into(),
            "--project".into(),
            PROJECT.into(),
            "--ec2-endpoint".into(),
            moto.endpoint.clone(),
            "--reserve-delay".into(),
            "300ms".into(),
            "--connect-delay".into(),
            "300ms".into(),
            "--delete-delay".into(),
            "200ms".into(),
        ];
        for i in instances {
            args.push("--serverless-instance".into());
            args.push(format!("{PROJECT}/{i}@US_EAST_1"));
        }
        for c in clusters {
            args.push("--cluster".into());
            args.push(format!("{PROJECT}/{c}@US_EAST_1"));
        }
        if let Some(az) = &azure {
            args.push("--azure-endpoint".into());
            args.push(az.base_url.clone());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let sandbox = Sandbox::start(&refs);
        let ec2 = moto.ec2("us-east-1").await;
        let vpc = moto::create_vpc(&ec2, "10.0.0.0/16").await;
        let subnets = vec![
            moto::create_subnet(&ec2, &vpc, "10.0.1.0/24").await,
            moto::create_subnet(&ec2, &vpc, "10.0.2.0/24").await,
        ];
        let client_sg = moto::create_security_group(&ec2, &vpc, "app-clients").await;
        World {
            moto,
            sandbox,
            dir: tempfile::tempdir().expect("tempdir"),
            vpc,
            subnets,
            client_sg,
            azure,
        }
    }

    /// EC2 client for checks.
    pub async fn ec2(&self) -> Client {
        self.moto.ec2("us-east-1").await
    }

    /// Writes a file into the scratch directory.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write file");
        p
    }

    /// The state file the binary uses by default for `config`.
    pub fn state_path(&self, config: &str) -> PathBuf {
        let stem = Path::new(config)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        self.dir
            .path()
            .join("state")
            .join(format!("{stem}.state.json"))
    }

    /// Reads a state file as JSON.
    pub fn state(&self, config: &str) -> Value {
        let text = std::fs::read_to_string(self.state_path(config)).expect("state file");
        serde_json::from_str(&text).expect("state JSON")
    }

    /// The `privlink ARGS` command, in the scratch directory, with this
    /// world's endpoints and API-key credentials in its environment.
    pub fn command(&self, args: &[&str]) -> Command {
        // PRIVLINK_BIN runs another build of the binary (a copy kept apart
        // from a target directory that other builds write to).
        let bin = std::env::var_os("PRIVLINK_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_privlink").into());
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("MONGODB_ATLAS_CLIENT_ID")
            .env_remove("MONGODB_ATLAS_CLIENT_SECRET")
            .env("MONGODB_ATLAS_BASE_URL", &self.sandbox.base_url)
            .env("MONGODB_ATLAS_PUBLIC_KEY", PUBLIC_KEY)
            .env("MONGODB_ATLAS_PRIVATE_KEY", PRIVATE_KEY)
            .env("AWS_ENDPOINT_URL_EC2", &self.moto.endpoint)
            // moto serves S3 on the same port, for the shared state.
            .env("AWS_ENDPOINT_URL_S3", &self.moto.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .env("PRIVLINK_VPC_ID", &self.vpc)
            .env("PRIVLINK_SUBNET_A", &self.subnets[0])
            .env("PRIVLINK_SUBNET_B", &self.subnets[1])
            .env("PRIVLINK_CLIENT_SG", &self.client_sg);
        if let Some(az) = &self.azure {
            cmd.envs(az.env());
        }
        cmd
    }

    /// Runs `privlink ARGS` in the scratch directory against this world.
    pub fn privlink(&self, args: &[&str]) -> Run {
        self.privlink_with(args, &[], &[])
    }

    /// Like [`World::privlink`], with variables `set` and `remove`d on top
    /// of the world's environment.
    pub fn privlink_with(&self, args: &[&str], set: &[(&str, &str)], remove: &[&str]) -> Run {
        let mut cmd = self.command(args);
        for name in remove {
            cmd.env_remove(name);
        }
        for (name, value) in set {
            cmd.env(name, value);
        }
        let out = cmd.output().expect("run privlink");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts `privlink ARGS` in the background, its output piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start privlink")
    }

    /// `privlink ARGS`, which must exit with `code`.
    pub fn expect(&self, code: i32, args: &[&str]) -> Run {
        let run = self.privlink(args);
        assert_eq!(run.code, code, "privlink {}\n{}", args.join(" "), run.all());
        run
    }

    /// GET on the sandbox's control API.
    pub async fn control_get(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.sandbox.base_url))
            .send()
            .await
            .expect("sandbox control")
            .json()
            .await
            .expect("sandbox control JSON")
    }

    /// PUT on the sandbox's control API.
    pub async fn control_put(&self, path: &str, body: Value) {
        let r = reqwest::Client::new()
            .put(format!("{}{path}", self.sandbox.base_url))
            .json(&body)
            .send()
            .await
            .expect("sandbox control");
        assert!(r.status().is_success(), "PUT {path}: {}", r.status());
    }

    /// The VPC endpoints in moto that are not deleted.
    pub async fn live_vpc_endpoints(&self) -> Vec<aws_sdk_ec2::types::VpcEndpoint> {
        let out = self
            .ec2()
            .await
            .describe_vpc_endpoints()
            .send()
            .await
            .expect("describe");
        out.vpc_endpoints()
            .iter()
            .filter(|e| {
                e.state()
                    .map(|s| !s.as_str().eq_ignore_ascii_case("deleted"))
                    .unwrap_or(true)
            })
            .cloned()
            .collect()
    }

    /// Security groups in moto tagged by privlink.
    pub async fn privlink_groups(&self) -> Vec<aws_sdk_ec2::types::SecurityGroup> {
        let out = self
            .ec2()
            .await
            .describe_security_groups()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("tag-key")
                    .values("privlink:stack")
                    .build(),
            )
            .send()
            .await
            .expect("describe groups");
        out.security_groups().to_vec()
    }

    /// One security group by id.
    pub async fn group(&self, id: &str) -> aws_sdk_ec2::types::SecurityGroup {
        let out = self
            .ec2()
            .await
            .describe_security_groups()
            .group_ids(id)
            .send()
            .await
            .expect("describe group");
        out.security_groups()[0].clone()
    }
}
