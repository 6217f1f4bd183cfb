//! Which API a path addresses (`/api/atlas/v2` or `/api/atlas/v1.0`) and version negotiation
//! through the versioned Atlas media type in `Accept`.

/// Media type of every successful v2 answer.
pub const V2_CONTENT_TYPE: &str = "application/vnd.atlas.2023-01-01+json;charset=utf-8";
const OLDEST_VERSION: &str = "2023-01-01";

/// Path prefix of the v2 API.
pub const V2_PREFIX: &str = "/api/atlas/v2";
/// Path prefix of the legacy v1.0 API.
pub const V1_PREFIX: &str = "/api/atlas/v1.0";

/// The two generations of the Atlas Administration API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// `/api/atlas/v2`: versioned media types.
    V2,
    /// `/api/atlas/v1.0`: plain JSON.
    V1,
}

impl ApiVersion {
    /// The path prefix of this API.
    pub fn prefix(self) -> &'static str {
        match self {
            ApiVersion::V2 => V2_PREFIX,
            ApiVersion::V1 => V1_PREFIX,
        }
    }

    /// The `Content-Type` of this API's successful answers.
    pub fn content_type(self) -> &'static str {
        match self {
            ApiVersion::V2 => V2_CONTENT_TYPE,
            ApiVersion::V1 => "application/json",
        }
    }
}

/// The API `path` addresses and the rest of the path after its prefix (empty or starting with
/// `/`); `None` for paths outside both APIs.
pub fn split_api_path(path: &str) -> Option<(ApiVersion, &str)> {
    let (version, rest) = if let Some(rest) = path.strip_prefix(V2_PREFIX) {
        (ApiVersion::V2, rest)
    } else if let Some(rest) = path.strip_prefix(V1_PREFIX) {
        (ApiVersion::V1, rest)
    } else {
        return None;
    };
    if !rest.is_empty() && !rest.starts_with('/') {
        return None;
    }
    Some((version, rest))
}

/// The non-empty `/`-separated segments of `rest`.
pub fn segments(rest: &str) -> Vec<&str> {
    rest.split('/').filter(|s| !s.is_empty()).collect()
}

fn is_valid_date(date: &str) -> bool {
    let parts: Vec<&str> = date.split('-').collect();
    if parts.len() != 3
        || parts[0].len() != 4
        || parts[1].len() != 2
        || parts[2].len() != 2
        || !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let month: u32 = parts[1].parse().unwrap_or(0);
    let day: u32 = parts[2].parse().unwrap_or(0);
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// The version dates of the versioned Atlas media types an `Accept` header names that this
/// sandbox can serve (`application/vnd.atlas.YYYY-MM-DD+json` on or after 2023-01-01).
fn accepted_dates(accept: &str) -> impl Iterator<Item = String> + '_ {
    accept.split(',').filter_map(|part| {
        let media = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        media
            .strip_prefix("application/vnd.atlas.")
            .and_then(|rest| rest.strip_suffix("+json"))
            .filter(|date| is_valid_date(date) && *date >= OLDEST_VERSION)
            .map(str::to_string)
    })
}

/// Whether an `Accept` header names a versioned Atlas media type this sandbox can serve
/// (any `application/vnd.atlas.YYYY-MM-DD+json` on or after 2023-01-01).
pub fn accepts_version(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| accepted_dates(a).next().is_some())
}

/// The newest version date an `Accept` header asks for, if it names any this sandbox serves.
/// A resource is served in its newest version on or before that date.
pub fn requested_date(accept: Option<&str>) -> Option<String> {
    accept.and_then(|a| accepted_dates(a).max())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_negotiation() {
        assert!(accepts_version(Some(
            "application/vnd.atlas.2023-01-01+json"
        )));
        assert!(accepts_version(Some(
            "application/vnd.atlas.2025-03-12+json"
        )));
        assert!(accepts_version(Some(
            "application/json, application/vnd.atlas.2024-08-05+json;charset=utf-8"
        )));
        for bad in [
            None,
            Some("*/*"),
            Some("application/json"),
            Some("application/vnd.atlas.2022-12-31+json"),
            Some("application/vnd.atlas.2023-13-01+json"),
            Some("application/vnd.atlas.latest+json"),
            Some("garbage"),
        ] {
            assert!(!accepts_version(bad), "{bad:?}");
        }
        assert_eq!(
            requested_date(Some(
                "application/vnd.atlas.2023-01-01+json, application/vnd.atlas.2024-08-05+json"
            ))
            .as_deref(),
            Some("2024-08-05")
        );
        assert_eq!(requested_date(Some("application/json")), None);
    }
}
