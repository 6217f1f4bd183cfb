//! Successful answers of the emulated API: the [`Reply`] handlers return, its rendering in the
//! negotiated media type (with the `envelope` and `pretty` query flags), Atlas pagination, and
//! the reading of JSON request bodies.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::errors::ApiError;
use crate::negotiation::ApiVersion;
use crate::query::flag;

/// A successful answer before it is rendered; the pipeline renders it for the API the request
/// addressed (see [`render`]).
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body, if any.
    pub body: Option<Value>,
    /// `Content-Type` of a v2 answer when it is not the default version's (a resource served
    /// in a newer version).
    pub media: Option<&'static str>,
    /// Extra headers, e.g. `Deprecation` and `Sunset` of a deprecated resource version.
    pub headers: Vec<(&'static str, &'static str)>,
}

impl Reply {
    /// `200 OK` with `body`.
    pub fn ok(body: Value) -> Self {
        Self::with_status(StatusCode::OK, body)
    }

    /// `status` with `body`.
    pub fn with_status(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            media: None,
            headers: Vec::new(),
        }
    }

    /// Serves a v2 answer as `media` instead of the default version's media type.
    pub fn in_media(mut self, media: &'static str) -> Self {
        self.media = Some(media);
        self
    }

    /// Adds a header to the answer.
    pub fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    /// `204 No Content`.
    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            media: None,
            headers: Vec::new(),
        }
    }
}

/// A handler's reply travels to the pipeline in the response's extensions; the pipeline
/// replaces the response with [`render`]'s.
impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The HTTP answer for `reply` in `version`'s media type, honouring the `envelope` and `pretty`
/// query flags.
pub fn render(reply: Reply, version: ApiVersion, query: &HashMap<String, String>) -> Response {
    let mut response = render_body(&reply, version, query);
    for (name, value) in reply.headers {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    response
}

fn render_body(reply: &Reply, version: ApiVersion, query: &HashMap<String, String>) -> Response {
    let Some(mut body) = reply.body.clone() else {
        return reply.status.into_response();
    };
    let mut status = reply.status;
    if flag(query, "envelope") {
        body = match body {
            Value::Object(mut map) if map.contains_key("results") => {
                map.insert("status".into(), json!(status.as_u16()));
                Value::Object(map)
            }
            other => json!({"status": status.as_u16(), "content": other}),
        };
        status = StatusCode::OK;
    }
    let text = if flag(query, "pretty") {
        serde_json::to_string_pretty(&body).unwrap_or_default()
    } else {
        body.to_string()
    };
    let mut response = (status, Body::from(text)).into_response();
    let media = match (version, reply.media) {
        (ApiVersion::V2, Some(media)) => media,
        _ => version.content_type(),
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    response
}

fn page_param(
    query: &HashMap<String, String>,
    name: &str,
    default: u64,
    max: u64,
) -> Result<u64, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid_attribute(name, v)),
        },
    }
}

/// Wraps `items` in Atlas's paginated envelope, honouring `pageNum`, `itemsPerPage` and
/// `includeCount`.
pub fn paginate(
    items: Vec<Value>,
    query: &HashMap<String, String>,
    url: &str,
) -> Result<Reply, ApiError> {
    let page = page_param(query, "pageNum", 1, u64::from(u32::MAX))?;
    let per_page = page_param(query, "itemsPerPage", 100, 500)?;
    let include_count = match query.get("includeCount").map(|v| v.to_ascii_lowercase()) {
        None => true,
        Some(v) if v == "true" => true,
        Some(v) if v == "false" => false,
        Some(v) => return Err(ApiError::invalid_attribute("includeCount", &v)),
    };
    let total = items.len() as u64;
    let start = (page - 1).saturating_mul(per_page);
    let results: Vec<Value> = items
        .into_iter()
        .skip(start.min(total) as usize)
        .take(per_page as usize)
        .collect();
    let link = |p: u64, rel: &str| {
        json!({
            "href": format!("{url}?includeCount={include_count}&pageNum={p}&itemsPerPage={per_page}"),
            "rel": rel,
        })
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(link(page - 1, "previous"));
    }
    links.push(link(page, "self"));
    if page.saturating_mul(per_page) < total {
        links.push(link(page + 1, "next"));
    }
    let mut body = json!({ "links": links, "results": results });
    if include_count {
        body["totalCount"] = json!(total);
    }
    Ok(Reply::ok(body))
}

/// Parses a required JSON object body (every body this API takes is required; `{}` is the
/// minimal one).
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "INVALID_JSON",
            "A request body is required; send {} for an empty one.",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "INVALID_JSON",
            "Received JSON does not match expected format: a JSON object is required.",
        )),
        Err(e) => Err(ApiError::bad_request(
            "INVALID_JSON",
            format!("Received JSON is malformed: {e}."),
        )),
    }
}

/// The optional string `field` of a body.
pub fn opt_string(map: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::validation(field, "must be a string")),
    }
}

/// The required string `field` of a body.
pub fn req_string(map: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    opt_string(map, field)?.ok_or_else(|| ApiError::missing_attribute(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_links_and_count() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let mut q = HashMap::new();
        q.insert("pageNum".to_string(), "2".to_string());
        q.insert("itemsPerPage".to_string(), "2".to_string());
        let reply = paginate(items.clone(), &q, "http://x/s").unwrap();
        let body = reply.body.unwrap();
        assert_eq!(body["results"], json!([2, 3]));
        assert_eq!(body["totalCount"], 5);
        let rels: Vec<&str> = body["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["rel"].as_str().unwrap())
            .collect();
        assert_eq!(rels, ["previous", "self", "next"]);
        q.insert("includeCount".to_string(), "false".to_string());
        q.insert("itemsPerPage".to_string(), "501".to_string());
        assert!(paginate(items.clone(), &q, "u").is_err());
        q.insert("itemsPerPage".to_string(), "500".to_string());
        let body = paginate(items, &q, "u").unwrap().body.unwrap();
        assert!(body.get("totalCount").is_none());
    }
}
