//! The top-level `state:` block: where the state is kept when it is not
//! the local file, today `state: { s3: { bucket, key, region } }`.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};

use super::{Ctx, Text, each_key, missing};
use crate::config::ids::{self, Refusal, Shape};
use crate::state::{S3Address, check_bucket, check_key};

/// Keys of `state`.
pub(crate) const STATE_KEYS: &[&str] = &["s3"];
/// Keys of `state.s3`.
pub(crate) const S3_KEYS: &[&str] = &["bucket", "key", "region"];

const BUCKET: Shape = Shape {
    what: "an S3 bucket name",
    check: |s| {
        check_bucket(s).map_err(|_| Refusal {
            expected: "3 to 63 characters from a-z, 0-9, `.` and `-`, starting and ending with a letter or digit".to_owned(),
            suggestion: None,
        })
    },
};

const KEY: Shape = Shape {
    what: "an S3 object key",
    check: |s| {
        check_key(s).map_err(|_| Refusal {
            expected: "a path such as `privlink/orders.state.json` (1 to 1000 bytes, no leading or trailing `/`)".to_owned(),
            suggestion: None,
        })
    },
};

/// `state`: a mapping with one backend, `s3`.
pub(crate) struct StateSeed<'c, 'a>(pub(crate) &'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for StateSeed<'_, '_> {
    type Value = S3Address;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<S3Address, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for StateSeed<'_, '_> {
    type Value = S3Address;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with the key `s3`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<S3Address, A::Error> {
        let ctx = self.0;
        let mut s3 = None;
        each_key(ctx, &mut map, STATE_KEYS, |_, map| {
            s3 = Some(map.next_value_seed(S3Seed(ctx))?);
            Ok(())
        })?;
        s3.ok_or_else(|| {
            missing(
                ctx,
                "s3",
                "`s3:` with `bucket` and `key` (or no `state:` for the local file)",
            )
        })
    }
}

/// `state.s3`: `bucket`, `key` and optionally `region`.
struct S3Seed<'c, 'a>(&'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for S3Seed<'_, '_> {
    type Value = S3Address;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<S3Address, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for S3Seed<'_, '_> {
    type Value = S3Address;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with the keys `bucket` and `key` (and optionally `region`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<S3Address, A::Error> {
        let ctx = self.0;
        let (mut bucket, mut key, mut region) = (None, None, None);
        each_key(ctx, &mut map, S3_KEYS, |k, map| {
            match k {
                "bucket" => bucket = Some(map.next_value_seed(Text::new(ctx, BUCKET))?),
                "key" => key = Some(map.next_value_seed(Text::new(ctx, KEY))?),
                _ => region = Some(map.next_value_seed(Text::new(ctx, ids::REGION))?),
            }
            Ok(())
        })?;
        Ok(S3Address {
            bucket: bucket
                .ok_or_else(|| missing(ctx, "bucket", "`bucket:` with the S3 bucket's name"))?,
            key: key.ok_or_else(|| {
                missing(
                    ctx,
                    "key",
                    "`key:` with the state object's key such as `privlink/orders.state.json`",
                )
            })?,
            region,
        })
    }
}
