//! The cloud side of a link, checked as Atlas does before accepting it: `DescribeVpcEndpoints`
//! through the EC2 Query API (e.g. a moto server), and a minimal reading of its XML answer;
//! then the service owner's `AcceptVpcEndpointConnections` or `RejectVpcEndpointConnections`
//! of the linked VPC endpoint.
//!
//! Requests carry an `AWS4-HMAC-SHA256` header with a fixed credential and a dummy signature:
//! moto does not verify signatures but takes the region from the credential scope.

use std::time::Duration;

use crate::model::LinkCheck;

/// What EC2 says about one VPC endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The endpoint exists, for this service, in this state.
    Found {
        /// The service name the endpoint is for.
        service_name: String,
        /// Its EC2 state.
        state: String,
    },
    /// No such endpoint.
    Missing,
}

/// Failures to get an answer from EC2.
#[derive(Debug, thiserror::Error)]
pub enum Ec2Error {
    /// The request failed.
    #[error("could not reach EC2 at {url}: {source}")]
    Unreachable {
        /// The EC2 URL.
        url: String,
        /// The transport failure.
        #[source]
        source: reqwest::Error,
    },
    /// EC2 answered with an error.
    #[error("EC2 at {url} answered {status}: {code}")]
    Api {
        /// The EC2 URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The EC2 error code.
        code: String,
    },
}

/// A DescribeVpcEndpoints client for one EC2 endpoint URL.
#[derive(Debug, Clone)]
pub struct Ec2Client {
    base: String,
    http: reqwest::Client,
}

fn text_of<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(xml[start..end].trim())
}

/// Reads a DescribeVpcEndpoints answer (or EC2 error document) for `vpce_id`.
pub fn parse_describe(xml: &str, vpce_id: &str) -> Result<Lookup, String> {
    if let Some(code) = text_of(xml, "Code") {
        return if code == "InvalidVpcEndpointId.NotFound" {
            Ok(Lookup::Missing)
        } else {
            Err(code.to_string())
        };
    }
    let marker = format!("<vpcEndpointId>{vpce_id}</vpcEndpointId>");
    let Some(pos) = xml.find(&marker) else {
        return Ok(Lookup::Missing);
    };
    let rest = &xml[pos + marker.len()..];
    // Limit the search to this endpoint's item.
    let item = match rest.find("<vpcEndpointId>") {
        Some(next) => &rest[..next],
        None => rest,
    };
    let service_name = text_of(item, "serviceName").unwrap_or_default().to_string();
    let state = text_of(item, "state").unwrap_or_default().to_string();
    if state.eq_ignore_ascii_case("deleted") || state.eq_ignore_ascii_case("deleting") {
        return Ok(Lookup::Missing);
    }
    Ok(Lookup::Found {
        service_name,
        state,
    })
}

/// The AWS id of an endpoint service (`vpce-svc-…`), the last part of its service name.
pub fn service_id(service_name: &str) -> &str {
    service_name.rsplit('.').next().unwrap_or(service_name)
}

/// The verdict Atlas reaches for `check` given EC2's answer: `Err` carries the errorMessage.
pub fn verdict(check: &LinkCheck, lookup: Result<Lookup, Ec2Error>) -> Result<(), String> {
    match lookup {
        Err(e) => Err(format!(
            "Could not verify VPC endpoint {}: {e}",
            check.vpce_id
        )),
        Ok(Lookup::Missing) => Err(format!(
            "VPC endpoint {} not found in {}",
            check.vpce_id, check.aws_region
        )),
        Ok(Lookup::Found { service_name, .. }) if service_name != check.expected_service => {
            Err(format!(
                "VPC endpoint {} is for service {service_name}, expected {}",
                check.vpce_id, check.expected_service
            ))
        }
        Ok(Lookup::Found { .. }) => Ok(()),
    }
}

impl Ec2Client {
    /// A client of the EC2 endpoint at `base`.
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            base: base.trim_end_matches('/').to_string(),
            http,
        }
    }

    /// Looks `vpce_id` up in `aws_region`.
    pub async fn describe(&self, vpce_id: &str, aws_region: &str) -> Result<Lookup, Ec2Error> {
        let body =
            format!("Action=DescribeVpcEndpoints&Version=2016-11-15&VpcEndpointId.1={vpce_id}");
        let (status, text) = self.call(&body, aws_region).await?;
        parse_describe(&text, vpce_id).map_err(|code| Ec2Error::Api {
            url: self.base.clone(),
            status,
            code,
        })
    }

    /// As the owner of the check's endpoint service, accepts (or rejects) the VPC endpoint's
    /// connection: `AcceptVpcEndpointConnections` / `RejectVpcEndpointConnections` with the
    /// service's AWS id (`vpce-svc-…`).
    pub async fn decide(&self, check: &LinkCheck, accept: bool) -> Result<(), Ec2Error> {
        let action = if accept {
            "AcceptVpcEndpointConnections"
        } else {
            "RejectVpcEndpointConnections"
        };
        let body = format!(
            "Action={action}&Version=2016-11-15&ServiceId={}&VpcEndpointId.1={}",
            service_id(&check.expected_service),
            check.vpce_id
        );
        let (status, text) = self.call(&body, &check.aws_region).await?;
        match text_of(&text, "Code") {
            Some(code) => Err(Ec2Error::Api {
                url: self.base.clone(),
                status,
                code: code.to_string(),
            }),
            None if status >= 400 => Err(Ec2Error::Api {
                url: self.base.clone(),
                status,
                code: String::new(),
            }),
            None => Ok(()),
        }
    }

    /// POSTs one Query API request; returns the HTTP status and the body.
    async fn call(&self, body: &str, aws_region: &str) -> Result<(u16, String), Ec2Error> {
        let url = format!("{}/", self.base);
        let body = body.to_string();
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDSANDBOX/20260101/{aws_region}/ec2/aws4_request, SignedHeaders=host, Signature=0"
        );
        let response = self
            .http
            .post(&url)
            .header("Authorization", auth)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|source| Ec2Error::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|source| Ec2Error::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        Ok((status, text))
    }

    /// Runs the check for one link and returns the verdict.
    pub async fn check(&self, check: &LinkCheck) -> Result<(), String> {
        let lookup = self.describe(&check.vpce_id, &check.aws_region).await;
        verdict(check, lookup)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LinkTarget;

    const FOUND: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<DescribeVpcEndpointsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><vpcEndpointSet><item><vpcEndpointId>vpce-f58af25186e84679f</vpcEndpointId><vpcEndpointType>Interface</vpcEndpointType><vpcId>vpc-9d25b626fcd5ea10c</vpcId><serviceName>com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0</serviceName><state>available</state><dnsEntrySet><item><dnsName>x</dnsName></item></dnsEntrySet></item></vpcEndpointSet><requestId>request-id</requestId></DescribeVpcEndpointsResponse>"#;
    const NOT_FOUND: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Response><Errors><Error><Code>InvalidVpcEndpointId.NotFound</Code><Message>The VpcEndPoint ID 'vpce-0123456789abcdef0' does not exist</Message></Error></Errors><RequestID>request-id</RequestID></Response>"#;

    fn check(expected: &str) -> LinkCheck {
        LinkCheck {
            cloud: crate::model::Cloud::Aws,
            ip: None,
            target: LinkTarget::Tenant {
                project: "p".into(),
                id: "i".into(),
            },
            seq: 1,
            vpce_id: "vpce-f58af25186e84679f".into(),
            aws_region: "us-east-1".into(),
            expected_service: expected.into(),
        }
    }

    #[test]
    fn parses_found_missing_and_deleted() {
        let found = parse_describe(FOUND, "vpce-f58af25186e84679f").unwrap();
        assert_eq!(
            found,
            Lookup::Found {
                service_name: "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0".into(),
                state: "available".into()
            }
        );
        assert_eq!(
            parse_describe(NOT_FOUND, "vpce-0123456789abcdef0"),
            Ok(Lookup::Missing)
        );
        let deleted = FOUND.replace("<state>available</state>", "<state>deleted</state>");
        assert_eq!(
            parse_describe(&deleted, "vpce-f58af25186e84679f"),
            Ok(Lookup::Missing)
        );
        let other_error = NOT_FOUND.replace("InvalidVpcEndpointId.NotFound", "AuthFailure");
        assert_eq!(
            parse_describe(&other_error, "vpce-0123456789abcdef0"),
            Err("AuthFailure".into())
        );
    }

    #[test]
    fn service_id_is_the_last_part_of_the_name() {
        assert_eq!(
            service_id("com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"),
            "vpce-svc-0123456789abcdef0"
        );
    }

    #[test]
    fn verdict_compares_the_service_name() {
        let name = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0";
        let lookup = || parse_describe(FOUND, "vpce-f58af25186e84679f").map_err(|_| unreachable!());
        assert_eq!(verdict(&check(name), lookup()), Ok(()));
        let other = "com.amazonaws.vpce.us-east-1.vpce-svc-fffffffffffffffff";
        let err = verdict(&check(other), lookup()).unwrap_err();
        assert!(
            err.contains("is for service") && err.contains(other),
            "{err}"
        );
        let err = verdict(&check(name), Ok(Lookup::Missing)).unwrap_err();
        assert_eq!(
            err,
            "VPC endpoint vpce-f58af25186e84679f not found in us-east-1"
        );
    }
}
