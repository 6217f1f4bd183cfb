//! [`S3Address`]: where a state kept in S3 lives (bucket, key, region), as
//! the file's `state:` block, `--state-s3` and `PRIVLINK_STATE` give it,
//! with the checks on bucket names and keys. Pure data: the S3 backend
//! itself lives outside the engine, in `crate::s3_state`.

use std::fmt;

/// A state object in S3: `s3://bucket/key`, with the region of the bucket
/// when it is given (otherwise the AWS region chain decides).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Address {
    /// The bucket: a DNS-valid S3 bucket name.
    pub bucket: String,
    /// The key of the state object; its lock is `<key>.lock`.
    pub key: String,
    /// The bucket's region, when given.
    pub region: Option<String>,
}

impl S3Address {
    /// Reads `s3://bucket/key`, optionally followed by `?region=REGION`;
    /// the error says what is wrong and what was expected.
    pub fn parse(text: &str) -> Result<S3Address, String> {
        let Some(rest) = text.strip_prefix("s3://") else {
            return Err(format!(
                "{text:?} is not an S3 address, expected s3://BUCKET/KEY (optionally ?region=REGION)"
            ));
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let Some((bucket, key)) = path.split_once('/') else {
            return Err(format!(
                "{text:?} names no key, expected s3://BUCKET/KEY such as s3://team-state/privlink/orders.json"
            ));
        };
        check_bucket(bucket)?;
        check_key(key)?;
        let region = match query {
            None => None,
            Some(q) => match q.strip_prefix("region=") {
                Some(r) if is_region(r) => Some(r.to_owned()),
                _ => {
                    return Err(format!(
                        "{text:?} has the query {q:?}, expected nothing or region=REGION such as region=us-east-1"
                    ));
                }
            },
        };
        Ok(S3Address {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            region,
        })
    }

    /// `s3://bucket/key`, as messages name the state.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The key of the lock object: `<key>.lock`.
    pub fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }

    /// The key of the backup object: `<key>.backup`.
    pub fn backup_key(&self) -> String {
        format!("{}.backup", self.key)
    }
}

/// `s3://bucket/key`, with `?region=REGION` when the region is given, so
/// that [`S3Address::parse`] reads it back.
impl fmt::Display for S3Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())?;
        if let Some(r) = &self.region {
            write!(f, "?region={r}")?;
        }
        Ok(())
    }
}

/// Accepts a DNS-valid bucket name: 3 to 63 characters from a-z, 0-9, `.`
/// and `-`, starting and ending with a letter or digit, no `..`.
pub fn check_bucket(bucket: &str) -> Result<(), String> {
    let b = bucket.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !bucket.contains("..");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bucket {bucket:?} is not a valid S3 bucket name, expected 3 to 63 characters from a-z, 0-9, `.` and `-`, starting and ending with a letter or digit"
        ))
    }
}

/// Accepts a key: 1 to 1000 bytes, not starting or ending with `/`, no
/// control characters.
pub fn check_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 1000
        && !key.starts_with('/')
        && !key.ends_with('/')
        && !key.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "key {key:?} is not a state object key, expected a path such as privlink/orders.state.json (1 to 1000 bytes, no leading or trailing `/`)"
        ))
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    (3..=4).contains(&parts.len())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_print_back() {
        let a = S3Address::parse("s3://team-state/privlink/orders.json").unwrap();
        assert_eq!(a.bucket, "team-state");
        assert_eq!(a.key, "privlink/orders.json");
        assert_eq!(a.region, None);
        assert_eq!(a.lock_key(), "privlink/orders.json.lock");
        assert_eq!(a.to_string(), "s3://team-state/privlink/orders.json");
        let r = S3Address::parse("s3://team-state/k?region=eu-west-1").unwrap();
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(S3Address::parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn bad_addresses_say_what_was_expected() {
        for (text, why) in [
            ("team-state/k", "expected s3://BUCKET/KEY"),
            ("s3://team-state", "names no key"),
            ("s3://Team_State/k", "not a valid S3 bucket name"),
            ("s3://ab/k", "not a valid S3 bucket name"),
            ("s3://team-state/", "not a state object key"),
            (
                "s3://team-state/k?region=mars",
                "expected nothing or region=REGION",
            ),
        ] {
            let err = S3Address::parse(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
