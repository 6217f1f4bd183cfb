//! [`Objects`]: the few S3 calls the state needs (get, conditional put,
//! delete) on one bucket, with the client made on first use from the
//! standard AWS configuration. S3's errors become [`StateError::Io`] naming
//! the object; a failed precondition is an answer, not an error.

use std::io;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use tokio::sync::OnceCell;

use super::S3Timeouts;
use crate::state::{Location, S3Address, StateError};

/// The objects of one state's bucket.
#[derive(Debug)]
pub(super) struct Objects {
    address: S3Address,
    fallback_region: Option<String>,
    timeouts: S3Timeouts,
    client: OnceCell<Client>,
}

/// An object as read.
#[derive(Debug)]
pub(super) struct Object {
    pub(super) body: Vec<u8>,
    pub(super) etag: Option<String>,
    /// S3 answered with a version id: the bucket keeps versions.
    pub(super) versioned: bool,
}

/// What a successful put returned.
#[derive(Debug)]
pub(super) struct Written {
    pub(super) etag: Option<String>,
    pub(super) versioned: bool,
}

/// The condition of a put.
#[derive(Debug, Clone)]
pub(super) enum Put {
    /// Whatever is stored.
    Always,
    /// Only when no object exists (`If-None-Match: *`).
    IfAbsent,
    /// Only when the stored object has this ETag (`If-Match`).
    IfMatch(String),
}

impl Objects {
    pub(super) fn new(
        address: S3Address,
        fallback_region: Option<String>,
        timeouts: S3Timeouts,
    ) -> Self {
        Objects {
            address,
            fallback_region,
            timeouts,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &Client {
        self.client.get_or_init(|| self.make_client()).await
    }

    async fn make_client(&self) -> Client {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(crate::tls::aws_http_client())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.timeouts.connect)
                    .operation_attempt_timeout(self.timeouts.attempt)
                    .build(),
            );
        if let Some(r) = &self.address.region {
            loader = loader.region(Region::new(r.clone()));
        }
        let mut sdk = loader.load().await;
        if sdk.region().is_none()
            && let Some(r) = &self.fallback_region
        {
            sdk = sdk.into_builder().region(Region::new(r.clone())).build();
        }
        let mut conf = aws_sdk_s3::config::Builder::from(&sdk);
        // A local endpoint (a test server, MinIO) is reached by path, not
        // by a bucket host name.
        let overridden = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        if overridden {
            conf = conf.force_path_style(true);
        }
        Client::from_conf(conf.build())
    }

    fn location(&self, key: &str) -> Location {
        Location::new(format!("s3://{}/{key}", self.address.bucket))
    }

    fn failed<E, R>(&self, action: &'static str, key: &str, e: SdkError<E, R>) -> StateError
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let text = DisplayErrorContext(&e).to_string();
        StateError::io(action, self.location(key), io::Error::other(text))
    }

    /// The object at `key`; `None` when there is none.
    pub(super) async fn get(&self, key: &str) -> Result<Option<Object>, StateError> {
        let sent = self
            .client()
            .await
            .get_object()
            .bucket(&self.address.bucket)
            .key(key)
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(self.failed("read", key, e)),
        };
        let etag = out.e_tag().map(str::to_owned);
        let versioned = out.version_id().is_some_and(|v| v != "null");
        let body = out.body.collect().await.map_err(|e| {
            StateError::io("read", self.location(key), io::Error::other(e.to_string()))
        })?;
        Ok(Some(Object {
            body: body.into_bytes().to_vec(),
            etag,
            versioned,
        }))
    }

    /// Stores `body` at `key` under `condition`; `Ok(Err(()))` when S3
    /// refuses because the condition does not hold (412, or 409 for a
    /// concurrent conditional write).
    pub(super) async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: Put,
    ) -> Result<Result<Written, ()>, StateError> {
        let mut request = self
            .client()
            .await
            .put_object()
            .bucket(&self.address.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        request = match condition {
            Put::Always => request,
            Put::IfAbsent => request.if_none_match("*"),
            Put::IfMatch(tag) => request.if_match(tag),
        };
        match request.send().await {
            Ok(out) => Ok(Ok(Written {
                etag: out.e_tag().map(str::to_owned),
                versioned: out.version_id().is_some_and(|v| v != "null"),
            })),
            Err(e) if precondition_failed(&e) => Ok(Err(())),
            Err(e) => Err(self.failed("write", key, e)),
        }
    }

    /// Deletes the object at `key` (nothing when there is none).
    pub(super) async fn delete(&self, key: &str) -> Result<(), StateError> {
        self.client()
            .await
            .delete_object()
            .bucket(&self.address.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed("delete", key, e))
    }
}

/// S3's refusal of a conditional write: 412 PreconditionFailed, or 409
/// ConditionalRequestConflict while another conditional write is under way.
fn precondition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool
where
    R: HttpStatus,
{
    let status = e.raw_response().map(HttpStatus::status_code);
    let code = e.as_service_error().and_then(|s| s.code());
    matches!(status, Some(412 | 409))
        || matches!(
            code,
            Some("PreconditionFailed" | "ConditionalRequestConflict")
        )
}

/// The HTTP status of a raw response.
trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}
