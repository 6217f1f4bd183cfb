//! The trust every HTTPS client of privlink shares (Atlas and Azure through
//! reqwest, EC2 and S3 through the AWS SDK): the system's root certificates,
//! read once per process by a thread that [`preload`] starts before the
//! command reads its files, so that building a client or sending the first
//! request does not wait on some three hundred file reads.
//!
//! A client that only talks to `http://` endpoints (a local emulator)
//! trusts nothing and never waits for the roots.
//!
//! The roots are found by `rustls-native-certs`, the crate both reqwest's
//! verifier and the AWS SDK use on Linux, so `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` work as they do there.

use std::sync::OnceLock;

use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use base64::Engine;
use rustls::pki_types::CertificateDer;

static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();

/// Starts reading the system's root certificates on a background thread.
/// Without it the first client to need them reads them itself (a client
/// of `http://` endpoints never does).
pub fn preload() {
    if ROOTS.get().is_none() {
        let _ = std::thread::Builder::new()
            .name("tls-roots".into())
            .spawn(roots);
    }
}

/// The system's root certificates that parse as trust anchors; waits for
/// the background read when it is under way.
pub fn roots() -> &'static [CertificateDer<'static>] {
    ROOTS.get_or_init(load)
}

fn load() -> Vec<CertificateDer<'static>> {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::debug!(error = %e, "a system root certificate could not be read");
    }
    let mut check = rustls::RootCertStore::empty();
    let certs: Vec<_> = found
        .certs
        .into_iter()
        .filter(|c| check.add(c.clone()).is_ok())
        .collect();
    tracing::debug!(roots = certs.len(), "system root certificates read");
    certs
}

/// A reqwest client builder for a client that sends requests to `urls`
/// only: it trusts [`roots`] when one of them is `https://`, and nothing
/// (so it needs no roots) when all are `http://`, as a local emulator is.
pub fn reqwest_builder(urls: &[&str]) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    if urls.iter().all(|u| is_plain_http(u)) {
        return builder.tls_certs_only(std::iter::empty());
    }
    let certs = roots()
        .iter()
        .filter_map(|c| reqwest::Certificate::from_der(c).ok());
    builder.tls_certs_only(certs)
}

/// True when one of `urls` is `https://`; `None` stands for a cloud's own
/// endpoint, which is.
pub fn any_https(urls: &[Option<String>]) -> bool {
    urls.iter()
        .any(|u| u.as_deref().is_none_or(|u| !is_plain_http(u)))
}

fn is_plain_http(url: &str) -> bool {
    url.trim_start()
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
}

/// The AWS SDK's HTTP client, one per process, shared by every SDK client.
/// A request to an `http://` endpoint (a local emulator) goes through a
/// client that trusts nothing and so needs no roots; an `https://` one
/// through a client trusting [`roots`], built at the first such request.
/// Both are the SDK's own (rustls with aws-lc, as its default client).
pub fn aws_http_client() -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            http_client_fn(|settings, components| {
                SharedHttpConnector::new(ByScheme {
                    settings: settings.clone(),
                    components: components.clone(),
                })
            })
        })
        .clone()
}

/// Sends each request through the SDK client its scheme needs.
#[derive(Debug)]
struct ByScheme {
    settings: HttpConnectorSettings,
    components: RuntimeComponents,
}

impl HttpConnector for ByScheme {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        static PLAIN: OnceLock<SharedHttpClient> = OnceLock::new();
        static VERIFIED: OnceLock<SharedHttpClient> = OnceLock::new();
        let client = if is_plain_http(request.uri()) {
            PLAIN.get_or_init(|| sdk_client(TrustStore::empty()))
        } else {
            VERIFIED
                .get_or_init(|| sdk_client(TrustStore::empty().with_pem_certificate(pem(roots()))))
        };
        client
            .http_connector(&self.settings, &self.components)
            .call(request)
    }
}

fn sdk_client(trust: TrustStore) -> SharedHttpClient {
    let builder =
        aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Building a context cannot fail today; should it, the SDK reads
        // the system roots itself.
        Err(e) => {
            tracing::debug!(error = %e, "TLS context refused; using the SDK's own roots");
            builder.build_https()
        }
    }
}

/// `certs` as one PEM bundle.
fn pem(certs: &[CertificateDer<'_>]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = String::new();
    for c in certs {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let text = b64.encode(c.as_ref());
        for line in text.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    #[test]
    fn the_pem_bundle_reads_back_as_the_same_certificates() {
        let certs = roots();
        assert!(
            !certs.is_empty(),
            "this machine has system root certificates"
        );
        let bundle = pem(certs);
        let back: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bundle)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, certs);
    }

    #[test]
    fn clients_build_with_and_without_roots() {
        assert!(reqwest_builder(&["http://127.0.0.1:1"]).build().is_ok());
        assert!(
            reqwest_builder(&["HTTP://local", "https://cloud.mongodb.com"])
                .build()
                .is_ok()
        );
        assert!(
            is_plain_http(" http://x") && !is_plain_http("https://x") && !is_plain_http("http")
        );
    }
}
