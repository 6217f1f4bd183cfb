//! S3 for the tests of the shared state: moto serves S3 on the same port
//! as EC2. Buckets are created through the SDK; names are DNS-valid and
//! unique per test.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use serde_json::Value;

use super::moto::Moto;

/// A path-style S3 client on `moto`.
pub async fn client(moto: &Moto) -> Client {
    let sdk = moto.sdk_config("us-east-1").await;
    let conf = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(true)
        .build();
    Client::from_conf(conf)
}

/// A bucket name no other test uses: `prefix-<random hex>`.
pub fn unique_bucket(prefix: &str) -> String {
    format!("{prefix}-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// Creates `bucket`, with versioning on when `versioned`.
pub async fn create_bucket(s3: &Client, bucket: &str, versioned: bool) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create bucket");
    if versioned {
        let on = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::Enabled)
            .build();
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(on)
            .send()
            .await
            .expect("enable versioning");
    }
}

/// The object at `key` as text; `None` when there is none.
pub async fn get_text(s3: &Client, bucket: &str, key: &str) -> Option<String> {
    let out = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    let body = out.body.collect().await.expect("object body").into_bytes();
    Some(String::from_utf8(body.to_vec()).expect("UTF-8 object"))
}

/// The object at `key` as JSON; `None` when there is none.
pub async fn get_json(s3: &Client, bucket: &str, key: &str) -> Option<Value> {
    let text = get_text(s3, bucket, key).await?;
    Some(serde_json::from_str(&text).expect("JSON object"))
}

/// Every key in `bucket`.
pub async fn keys(s3: &Client, bucket: &str) -> Vec<String> {
    let out = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list objects");
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// Every stored version of `key` as text, newest first (versioned buckets).
pub async fn versions(s3: &Client, bucket: &str, key: &str) -> Vec<String> {
    let out = s3
        .list_object_versions()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .expect("list versions");
    let mut texts = Vec::new();
    for v in out.versions() {
        if v.key() != Some(key) {
            continue;
        }
        let got = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .version_id(v.version_id().expect("version id"))
            .send()
            .await
            .expect("get version");
        let body = got.body.collect().await.expect("body").into_bytes();
        texts.push(String::from_utf8(body.to_vec()).expect("UTF-8"));
    }
    texts
}

/// `text` (a privlink file starting with `version: 1`) with a `state:`
/// block keeping its state at `s3://bucket/key`.
pub fn with_s3_state(text: &str, bucket: &str, key: &str) -> String {
    let block = format!("version: 1\nstate:\n  s3: {{ bucket: {bucket}, key: {key} }}\n");
    let out = text.replacen("version: 1\n", &block, 1);
    assert_ne!(out, text, "the file must start with `version: 1`");
    out
}

/// The lock id a refused run tells to pass to `privlink force-unlock`.
pub fn lock_id_in(stderr: &str) -> Option<String> {
    let after = stderr.split("privlink force-unlock ").nth(1)?;
    let id: String = after
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
        .collect();
    (id.len() == 36).then_some(id)
}
