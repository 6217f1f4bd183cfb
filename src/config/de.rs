//! Deserialization of the file's structure with serde seeds.
//!
//! Every check that concerns one value (its shape, a duplicate, a conflict
//! with a sibling key) runs inside the visitor call for that value, so that
//! serde_yaml attaches the value's own line and column to the error. Checks
//! that concern a whole mapping or list (missing keys, an empty list) run
//! when it ends and carry the position where it starts.
//!
//! Environment variables are expanded here, after parsing, inside each
//! scalar: expansion can never change the document's structure.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::azure_ids;
use super::env::{self, ExpandError};
use super::ids::{self, Shape};
use super::{AtlasFlow, AtlasSettings, AwsSettings, EndpointAtlas, EndpointAzure, Source};
use crate::state::S3Address;

mod state_block;

#[cfg(test)]
pub(crate) use state_block::{S3_KEYS, STATE_KEYS};

/// What the loader needs while walking the document.
pub(crate) struct Ctx<'a> {
    /// Looks up an environment variable for `${VAR}` expansion.
    pub(crate) env: &'a dyn Fn(&str) -> Option<String>,
    /// Set when the failing value held a `${…}` problem, to place the error
    /// on the reference itself rather than on the start of the scalar.
    pub(crate) env_hint: RefCell<Option<EnvHint>>,
    /// Set whenever this module (rather than the YAML parser) raised the
    /// error.
    pub(crate) raised: Cell<bool>,
}

/// The `${…}` problem of the failing scalar.
#[derive(Debug, Clone)]
pub(crate) struct EnvHint {
    /// `None` for a malformed reference.
    pub(crate) name: Option<String>,
    /// Length of the scalar's value, to bound the search in the file text.
    pub(crate) len: usize,
}

impl<'a> Ctx<'a> {
    /// A context that expands `${VAR}` through `env`.
    pub(crate) fn new(env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Ctx {
            env,
            env_hint: RefCell::new(None),
            raised: Cell::new(false),
        }
    }

    fn fail<E: de::Error>(&self, message: impl fmt::Display) -> E {
        self.raised.set(true);
        E::custom(message)
    }
}

// ---------------------------------------------------------------------------
// Scalars

/// How a scalar from the file is shown in a message: its text as written
/// (quoted, escaped, shortened), never the expanded value.
pub(crate) struct Shown<'s> {
    raw: &'s str,
    vars: &'s [String],
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", quote(self.raw))?;
        if !self.vars.is_empty() {
            let names: Vec<String> = self.vars.iter().map(|v| format!("${{{v}}}")).collect();
            write!(f, " (with {} expanded)", names.join(", "))?;
        }
        Ok(())
    }
}

/// `"text"` with escapes, cut to 60 characters.
pub(crate) fn quote(raw: &str) -> String {
    const MAX: usize = 60;
    let mut out = String::from("\"");
    for (n, c) in raw.chars().enumerate() {
        if n == MAX {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('"');
    out
}

/// A key as shown in a message: escaped, cut to 60 characters.
fn key_shown(raw: &str) -> String {
    let q = quote(raw);
    q[1..q.len() - 1].to_string()
}

/// An additional check run on an expanded value that passed its shape.
type Extra<'c> = &'c dyn Fn(&str, &Shown<'_>) -> Option<String>;

/// A scalar that is expanded and checked against a [`Shape`]. Any scalar
/// is accepted as text (`123` is the text "123"); lists and mappings are
/// type errors.
struct Text<'c, 'a> {
    ctx: &'c Ctx<'a>,
    shape: Shape,
    extra: Option<Extra<'c>>,
}

impl<'c, 'a> Text<'c, 'a> {
    fn new(ctx: &'c Ctx<'a>, shape: Shape) -> Self {
        Text {
            ctx,
            shape,
            extra: None,
        }
    }

    fn read<E: de::Error>(&self, raw: &str) -> Result<String, E> {
        let expanded = expand(self.ctx, raw)?;
        let shown = Shown {
            raw,
            vars: &expanded.vars,
        };
        if let Err(refusal) = (self.shape.check)(&expanded.value) {
            let hint = match (&refusal.suggestion, expanded.vars.is_empty()) {
                (Some(s), true) => format!(" such as `{s}`"),
                _ => String::new(),
            };
            return Err(self.ctx.fail(format_args!(
                "{shown} is not {}, expected {}{hint}",
                self.shape.what, refusal.expected
            )));
        }
        if let Some(extra) = self.extra
            && let Some(message) = extra(&expanded.value, &shown)
        {
            return Err(self.ctx.fail(message));
        }
        Ok(expanded.value)
    }
}

/// Expands one scalar, recording where the problem is on failure.
fn expand<E: de::Error>(ctx: &Ctx<'_>, raw: &str) -> Result<env::Expanded, E> {
    env::expand(raw, ctx.env).map_err(|err| {
        let (name, message) = match err {
            ExpandError::Missing { name } => {
                let message = format!(
                    "environment variable `{name}` is not set, expected it to be set (or `$${{` for a literal `${{`)"
                );
                (Some(name), message)
            }
            ExpandError::Malformed => (
                None,
                "malformed `${` reference, expected `${NAME}` with NAME made of letters, digits and `_`, or `$${` for a literal `${`".to_string(),
            ),
        };
        *ctx.env_hint.borrow_mut() = Some(EnvHint {
            name,
            len: raw.len(),
        });
        ctx.fail(message)
    })
}

impl<'de> DeserializeSeed<'de> for Text<'_, '_> {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Text<'_, '_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shape.what)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.read(v)
    }
}

/// `version`: the number 1 (or a string that expands to it).
struct Version<'c, 'a>(&'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for Version<'_, '_> {
    type Value = u32;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<u32, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Version<'_, '_> {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the number 1")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
        if v == 1 {
            Ok(1)
        } else {
            Err(self
                .0
                .fail(format_args!("version {v} is not supported, expected 1")))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(self
                .0
                .fail(format_args!("version {v} is not supported, expected 1"))),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u32, E> {
        let expanded = expand(self.0, v)?;
        let shown = Shown {
            raw: v,
            vars: &expanded.vars,
        };
        match expanded.value.trim().parse::<u64>() {
            Ok(1) => Ok(1),
            Ok(_) => Err(self
                .0
                .fail(format_args!("version {shown} is not supported, expected 1"))),
            Err(_) => Err(self
                .0
                .fail(format_args!("{shown} is not a version number, expected 1"))),
        }
    }
}

/// `dedicated_clusters`: a boolean (or a string that expands to `true` or
/// `false`). `true` conflicts with an earlier `serverless_instance`.
struct Dedicated<'c, 'a> {
    ctx: &'c Ctx<'a>,
    conflict: bool,
}

impl<'de> DeserializeSeed<'de> for Dedicated<'_, '_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

const BOTH_FLOWS: &str = "both `serverless_instance` and `dedicated_clusters: true` are set, expected exactly one of them";

impl<'de> Visitor<'de> for Dedicated<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("true or false")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        if v && self.conflict {
            Err(self.ctx.fail(BOTH_FLOWS))
        } else {
            Ok(v)
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        let expanded = expand(self.ctx, v)?;
        match expanded.value.as_str() {
            "true" => self.visit_bool(true),
            "false" => self.visit_bool(false),
            _ => {
                let shown = Shown {
                    raw: v,
                    vars: &expanded.vars,
                };
                Err(self.ctx.fail(format_args!(
                    "{shown} is not a boolean, expected true or false"
                )))
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Lists

/// A list of checked scalars.
struct List<'c, 'a> {
    ctx: &'c Ctx<'a>,
    shape: Shape,
    /// Plural noun for messages: "subnet ids".
    items: &'static str,
    min: usize,
    max: usize,
}

impl<'de> DeserializeSeed<'de> for List<'_, '_> {
    type Value = Vec<String>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl List<'_, '_> {
    fn bounds(&self) -> String {
        match (self.min, self.max) {
            (0, usize::MAX) => format!("a list of {}", self.items),
            (min, usize::MAX) => format!("a list of at least {min} {}", self.items),
            (min, max) => format!("a list of {min} to {max} {}", self.items),
        }
    }
}

impl<'de> Visitor<'de> for List<'_, '_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.bounds())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut out: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        loop {
            let next = {
                let count = out.len();
                let seen = &seen;
                let extra = |value: &str, shown: &Shown<'_>| {
                    if count >= self.max {
                        Some(format!(
                            "{shown} is one item too many, expected {}",
                            self.bounds()
                        ))
                    } else if seen.contains(value) {
                        Some(format!(
                            "{shown} is listed twice, expected each of the {} once",
                            self.items
                        ))
                    } else {
                        None
                    }
                };
                seq.next_element_seed(Text {
                    ctx: self.ctx,
                    shape: self.shape,
                    extra: Some(&extra),
                })?
            };
            match next {
                Some(value) => {
                    seen.insert(value.clone());
                    out.push(value);
                }
                None => break,
            }
        }
        if out.len() < self.min {
            return Err(self.ctx.fail(format_args!(
                "the list is empty, expected {}",
                self.bounds()
            )));
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// Mappings

/// One key of a fixed-layout mapping: known, and not seen before.
struct Key<'c, 'a> {
    ctx: &'c Ctx<'a>,
    keys: &'static [&'static str],
    seen: &'c [&'static str],
}

impl<'de> DeserializeSeed<'de> for Key<'_, '_> {
    type Value = &'static str;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_, '_> {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a key, one of {}", one_of(self.keys))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<&'static str, E> {
        match self.keys.iter().find(|k| **k == v) {
            Some(k) if self.seen.contains(k) => Err(self.ctx.fail(format_args!(
                "key `{k}` appears twice, expected each key once"
            ))),
            Some(k) => Ok(k),
            None => {
                let merge = if v == "<<" {
                    " (YAML merge keys are not supported)"
                } else {
                    ""
                };
                Err(self.ctx.fail(format_args!(
                    "unknown key `{}`{merge}, expected one of {}",
                    key_shown(v),
                    one_of(self.keys)
                )))
            }
        }
    }
}

fn one_of(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A required key that is absent: the error carries the position of the
/// mapping.
fn missing<E: de::Error>(ctx: &Ctx<'_>, key: &str, expected: &str) -> E {
    ctx.fail(format_args!("missing key `{key}`, expected {expected}"))
}

/// Reads the keys of a mapping, calling `value` for each.
fn each_key<'de, A: MapAccess<'de>>(
    ctx: &Ctx<'_>,
    map: &mut A,
    keys: &'static [&'static str],
    mut value: impl FnMut(&'static str, &mut A) -> Result<(), A::Error>,
) -> Result<(), A::Error> {
    let mut seen: Vec<&'static str> = Vec::new();
    while let Some(key) = map.next_key_seed(Key {
        ctx,
        keys,
        seen: &seen,
    })? {
        seen.push(key);
        value(key, map)?;
    }
    Ok(())
}

/// The parsed file before defaults are resolved.
#[derive(Debug)]
pub(crate) struct RawConfig {
    pub(crate) version: u32,
    pub(crate) stack: Option<String>,
    pub(crate) atlas: AtlasSettings,
    /// Top-level `aws`: required while an endpoint's `aws` block names no
    /// region of its own.
    pub(crate) aws: Option<AwsSettings>,
    pub(crate) endpoints: Vec<(String, RawEndpoint)>,
    /// `state.s3`, when the state is kept in S3.
    pub(crate) state: Option<S3Address>,
}

/// One endpoint as written, before defaults are resolved.
#[derive(Debug)]
pub(crate) struct RawEndpoint {
    pub(crate) atlas: EndpointAtlas,
    pub(crate) network: RawNetwork,
}

/// An endpoint's network block as written.
#[derive(Debug)]
pub(crate) enum RawNetwork {
    /// `aws`, before defaults are resolved.
    Aws(RawEndpointAws),
    /// `azure`, complete (its defaults come from the environment).
    Azure(EndpointAzure),
}

/// An endpoint's `aws` as written: `region` and `allow_from` may be
/// left to their defaults.
#[derive(Debug)]
pub(crate) struct RawEndpointAws {
    pub(crate) region: Option<String>,
    pub(crate) vpc_id: String,
    pub(crate) subnet_ids: Vec<String>,
    /// `security_group.allow_from`, when given.
    pub(crate) allow_from: Option<Vec<Source>>,
    pub(crate) client_security_groups: Vec<String>,
}

/// Keys of the top level.
pub(crate) const ROOT_KEYS: &[&str] = &["version", "stack", "atlas", "aws", "endpoints", "state"];
pub(crate) const ATLAS_KEYS: &[&str] = &["project_id"];
pub(crate) const AWS_KEYS: &[&str] = &["region"];
pub(crate) const ENDPOINT_KEYS: &[&str] = &["atlas", "aws", "azure"];
pub(crate) const ENDPOINT_AZURE_KEYS: &[&str] = &[
    "subscription",
    "resource_group",
    "location",
    "vnet",
    "subnet",
];
pub(crate) const ENDPOINT_ATLAS_KEYS: &[&str] =
    &["serverless_instance", "dedicated_clusters", "comment"];
pub(crate) const ENDPOINT_AWS_KEYS: &[&str] = &[
    "region",
    "vpc_id",
    "subnet_ids",
    "security_group",
    "client_security_groups",
];
pub(crate) const SECURITY_GROUP_KEYS: &[&str] = &["allow_from"];

/// The whole document.
pub(crate) struct Root<'c, 'a>(pub(crate) &'c Ctx<'a>);

const ROOT_EXPECTED: &str =
    "a mapping with the keys `version`, `atlas`, `aws` and `endpoints` (and optionally `stack`)";

impl<'de> DeserializeSeed<'de> for Root<'_, '_> {
    type Value = RawConfig;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<RawConfig, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Root<'_, '_> {
    type Value = RawConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ROOT_EXPECTED)
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawConfig, E> {
        Err(self.0.fail(format_args!(
            "the file has no content, expected {ROOT_EXPECTED}"
        )))
    }

    fn visit_none<E: de::Error>(self) -> Result<RawConfig, E> {
        self.visit_unit()
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawConfig, A::Error> {
        let ctx = self.0;
        let mut version = None;
        let mut stack = None;
        let mut atlas = None;
        let mut aws = None;
        let mut endpoints = None;
        let mut state = None;
        each_key(ctx, &mut map, ROOT_KEYS, |key, map| {
            match key {
                "version" => version = Some(map.next_value_seed(Version(ctx))?),
                "stack" => stack = Some(map.next_value_seed(Text::new(ctx, ids::STACK))?),
                "atlas" => atlas = Some(map.next_value_seed(Atlas(ctx))?),
                "aws" => aws = Some(map.next_value_seed(Aws(ctx))?),
                "state" => state = Some(map.next_value_seed(state_block::StateSeed(ctx))?),
                _ => endpoints = Some(map.next_value_seed(Endpoints(ctx))?),
            }
            Ok(())
        })?;
        Ok(RawConfig {
            version: version.ok_or_else(|| missing(ctx, "version", "`version: 1`"))?,
            stack,
            atlas: atlas
                .ok_or_else(|| missing(ctx, "atlas", "an `atlas` mapping with `project_id`"))?,
            endpoints: endpoints.ok_or_else(|| {
                missing(
                    ctx,
                    "endpoints",
                    "an `endpoints` mapping of names to endpoints (`endpoints: {}` for none)",
                )
            })?,
            aws,
            state,
        })
        .and_then(|raw| default_region_given(ctx, raw))
    }
}

/// A file whose AWS endpoints all name their region, or an Azure-only
/// file, needs no top-level `aws`; otherwise it is where the default region
/// comes from.
fn default_region_given<E: de::Error>(ctx: &Ctx<'_>, raw: RawConfig) -> Result<RawConfig, E> {
    if raw.aws.is_some() {
        return Ok(raw);
    }
    let needs = raw.endpoints.iter().find(|(_, e)| {
        matches!(
            &e.network,
            RawNetwork::Aws(RawEndpointAws { region: None, .. })
        )
    });
    match needs {
        Some((name, _)) => Err(missing(
            ctx,
            "aws",
            &format!(
                "an `aws` mapping with `region` (the default region of endpoint `{name}`, whose `aws` block names none)"
            ),
        )),
        None => Ok(raw),
    }
}

/// Top-level `atlas`.
struct Atlas<'c, 'a>(&'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for Atlas<'_, '_> {
    type Value = AtlasSettings;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<AtlasSettings, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Atlas<'_, '_> {
    type Value = AtlasSettings;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with the key `project_id`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AtlasSettings, A::Error> {
        let ctx = self.0;
        let mut project_id = None;
        each_key(ctx, &mut map, ATLAS_KEYS, |_, map| {
            project_id = Some(map.next_value_seed(Text::new(ctx, ids::PROJECT_ID))?);
            Ok(())
        })?;
        Ok(AtlasSettings {
            project_id: project_id.ok_or_else(|| {
                missing(
                    ctx,
                    "project_id",
                    "`project_id:` with the 24-digit Atlas project id",
                )
            })?,
        })
    }
}

/// Top-level `aws`.
struct Aws<'c, 'a>(&'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for Aws<'_, '_> {
    type Value = AwsSettings;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<AwsSettings, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Aws<'_, '_> {
    type Value = AwsSettings;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with the key `region`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AwsSettings, A::Error> {
        let ctx = self.0;
        let mut region = None;
        each_key(ctx, &mut map, AWS_KEYS, |_, map| {
            region = Some(map.next_value_seed(Text::new(ctx, ids::REGION))?);
            Ok(())
        })?;
        Ok(AwsSettings {
            region: region.ok_or_else(|| {
                missing(
                    ctx,
                    "region",
                    "`region:` with an AWS region name such as `us-east-1`",
                )
            })?,
        })
    }
}

/// `endpoints`: names to endpoints, in file order.
struct Endpoints<'c, 'a>(&'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for Endpoints<'_, '_> {
    type Value = Vec<(String, RawEndpoint)>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Endpoints<'_, '_> {
    type Value = Vec<(String, RawEndpoint)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of endpoint names to endpoints")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let mut out: Vec<(String, RawEndpoint)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(name) = map.next_key_seed(EndpointName { ctx, seen: &seen })? {
            let endpoint = map.next_value_seed(EndpointSeed(ctx))?;
            seen.insert(name.clone());
            out.push((name, endpoint));
        }
        Ok(out)
    }
}

/// An endpoint's name (a key of `endpoints`): well-formed and unique.
struct EndpointName<'c, 'a> {
    ctx: &'c Ctx<'a>,
    seen: &'c HashSet<String>,
}

impl<'de> DeserializeSeed<'de> for EndpointName<'_, '_> {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for EndpointName<'_, '_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an endpoint name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        if let Err(refusal) = ids::endpoint_name(v) {
            return Err(self.ctx.fail(format_args!(
                "{} is not a valid endpoint name, expected {}",
                quote(v),
                refusal.expected
            )));
        }
        if self.seen.contains(v) {
            return Err(self.ctx.fail(format_args!(
                "endpoint `{v}` is declared twice, expected each endpoint name once"
            )));
        }
        Ok(v.to_string())
    }
}

/// One endpoint.
struct EndpointSeed<'c, 'a>(&'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for EndpointSeed<'_, '_> {
    type Value = RawEndpoint;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<RawEndpoint, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EndpointSeed<'_, '_> {
    type Value = RawEndpoint;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with the key `atlas` and one of `aws` and `azure`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEndpoint, A::Error> {
        let ctx = self.0;
        let mut atlas = None;
        let mut network: Option<RawNetwork> = None;
        each_key(ctx, &mut map, ENDPOINT_KEYS, |key, map| {
            if key == "atlas" {
                atlas = Some(map.next_value_seed(EndpointAtlasSeed(ctx))?);
                return Ok(());
            }
            if network.is_some() {
                return map.next_value_seed(Refuse {
                    ctx,
                    message: BOTH_NETWORKS,
                });
            }
            network = Some(if key == "aws" {
                RawNetwork::Aws(map.next_value_seed(EndpointAwsSeed(ctx))?)
            } else {
                RawNetwork::Azure(map.next_value_seed(EndpointAzureSeed(ctx))?)
            });
            Ok(())
        })?;
        Ok(RawEndpoint {
            atlas: atlas.ok_or_else(|| {
                missing(
                    ctx,
                    "atlas",
                    "an `atlas` mapping with `serverless_instance` or `dedicated_clusters: true`",
                )
            })?,
            network: network.ok_or_else(|| {
                missing(
                    ctx,
                    "aws",
                    "an `aws` mapping with `vpc_id` and `subnet_ids`, or an `azure` mapping with `resource_group`, `location` and `subnet`",
                )
            })?,
        })
    }
}

const BOTH_NETWORKS: &str =
    "both `aws` and `azure` are set, expected exactly one network block per endpoint";

/// A value that is refused wherever it is, with `message`, so that the
/// error carries the value's position.
struct Refuse<'c, 'a> {
    ctx: &'c Ctx<'a>,
    message: &'static str,
}

impl<'de> DeserializeSeed<'de> for Refuse<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Refuse<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.ctx.fail(self.message))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.ctx.fail(self.message))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.ctx.fail(self.message))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.ctx.fail(self.message))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.ctx.fail(self.message))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self.ctx.fail(self.message))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.ctx.fail(self.message))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.ctx.fail(self.message))
    }
}

/// An endpoint's `azure`: the subscription defaults to
/// `AZURE_SUBSCRIPTION_ID`; the subnet is a full resource id, or a name
/// next to `vnet` (a virtual network of the same resource group).
struct EndpointAzureSeed<'c, 'a>(&'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for EndpointAzureSeed<'_, '_> {
    type Value = EndpointAzure;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<EndpointAzure, D::Error> {
        d.deserialize_map(self)
    }
}

/// The keys of an `azure` block as read.
#[derive(Default)]
struct AzureKeys {
    subscription: Option<String>,
    resource_group: Option<String>,
    location: Option<String>,
    vnet: Option<String>,
    subnet: Option<String>,
}

impl<'de> Visitor<'de> for EndpointAzureSeed<'_, '_> {
    type Value = EndpointAzure;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with the keys `resource_group`, `location` and `subnet`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EndpointAzure, A::Error> {
        let ctx = self.0;
        let mut k = AzureKeys::default();
        each_key(ctx, &mut map, ENDPOINT_AZURE_KEYS, |key, map| {
            let (slot, shape) = match key {
                "subscription" => (&mut k.subscription, azure_ids::SUBSCRIPTION),
                "resource_group" => (&mut k.resource_group, azure_ids::RESOURCE_GROUP),
                "location" => (&mut k.location, azure_ids::LOCATION),
                "vnet" => (&mut k.vnet, azure_ids::VNET),
                _ => (&mut k.subnet, azure_ids::SUBNET),
            };
            *slot = Some(map.next_value_seed(Text::new(ctx, shape))?);
            Ok(())
        })?;
        azure_block(ctx, k)
    }
}

/// Checks the `azure` block as a whole and resolves its defaults.
fn azure_block<E: de::Error>(ctx: &Ctx<'_>, k: AzureKeys) -> Result<EndpointAzure, E> {
    let subscription = match k.subscription {
        Some(s) => s,
        None => default_subscription(ctx)?,
    };
    let resource_group = k.resource_group.ok_or_else(|| {
        missing(
            ctx,
            "resource_group",
            "`resource_group:` with the resource group of the private endpoint",
        )
    })?;
    let location = k.location.ok_or_else(|| {
        missing(
            ctx,
            "location",
            "`location:` with an Azure location such as `eastus2`",
        )
    })?;
    let subnet = k.subnet.ok_or_else(|| {
        missing(
            ctx,
            "subnet",
            "`subnet:` with a subnet resource id, or a subnet name next to `vnet`",
        )
    })?;
    let subnet_id = match (subnet.starts_with('/'), k.vnet) {
        (true, None) => subnet,
        (true, Some(_)) => {
            return Err(ctx.fail(
                "both `vnet` and a subnet resource id are set, expected either a subnet resource id or `vnet` with a subnet name",
            ));
        }
        (false, Some(vnet)) => azure_ids::subnet_id(&subscription, &resource_group, &vnet, &subnet),
        (false, None) => {
            return Err(missing(
                ctx,
                "vnet",
                "`vnet:` with the virtual network of the subnet named by `subnet`, or `subnet:` with a full subnet resource id",
            ));
        }
    };
    Ok(EndpointAzure {
        subscription,
        resource_group,
        location,
        subnet_id,
    })
}

/// `AZURE_SUBSCRIPTION_ID`, for an `azure` block without `subscription`.
fn default_subscription<E: de::Error>(ctx: &Ctx<'_>) -> Result<String, E> {
    let Some(value) = (ctx.env)("AZURE_SUBSCRIPTION_ID").filter(|v| !v.trim().is_empty()) else {
        return Err(missing(
            ctx,
            "subscription",
            "`subscription:` with an Azure subscription id, or AZURE_SUBSCRIPTION_ID set",
        ));
    };
    match (azure_ids::SUBSCRIPTION.check)(value.trim()) {
        Ok(()) => Ok(value.trim().to_string()),
        Err(refusal) => Err(ctx.fail(format_args!(
            "AZURE_SUBSCRIPTION_ID (the default of `subscription`) is not an Azure subscription id, expected {}",
            refusal.expected
        ))),
    }
}

/// An endpoint's `atlas`.
struct EndpointAtlasSeed<'c, 'a>(&'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for EndpointAtlasSeed<'_, '_> {
    type Value = EndpointAtlas;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<EndpointAtlas, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EndpointAtlasSeed<'_, '_> {
    type Value = EndpointAtlas;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with `serverless_instance` or `dedicated_clusters: true`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EndpointAtlas, A::Error> {
        let ctx = self.0;
        let mut instance: Option<String> = None;
        let mut dedicated = false;
        let mut comment = None;
        each_key(ctx, &mut map, ENDPOINT_ATLAS_KEYS, |key, map| {
            match key {
                "serverless_instance" => {
                    let conflict = dedicated;
                    let extra =
                        move |_: &str, _: &Shown<'_>| conflict.then(|| BOTH_FLOWS.to_string());
                    instance = Some(map.next_value_seed(Text {
                        ctx,
                        shape: ids::INSTANCE,
                        extra: Some(&extra),
                    })?);
                }
                "dedicated_clusters" => {
                    dedicated = map.next_value_seed(Dedicated {
                        ctx,
                        conflict: instance.is_some(),
                    })?;
                }
                _ => comment = Some(map.next_value_seed(Text::new(ctx, ids::COMMENT))?),
            }
            Ok(())
        })?;
        let flow = match (instance, dedicated) {
            (Some(instance), false) => AtlasFlow::Serverless { instance },
            (None, true) => AtlasFlow::Dedicated,
            (Some(_), true) => return Err(ctx.fail(BOTH_FLOWS)),
            (None, false) => {
                return Err(ctx.fail(
                    "neither `serverless_instance` nor `dedicated_clusters: true` is set, expected exactly one of them",
                ));
            }
        };
        Ok(EndpointAtlas { flow, comment })
    }
}

/// An endpoint's `aws`.
struct EndpointAwsSeed<'c, 'a>(&'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for EndpointAwsSeed<'_, '_> {
    type Value = RawEndpointAws;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<RawEndpointAws, D::Error> {
        d.deserialize_map(self)
    }
}

/// Most subnets an interface endpoint may have.
pub(crate) const MAX_SUBNETS: usize = 16;

impl<'de> Visitor<'de> for EndpointAwsSeed<'_, '_> {
    type Value = RawEndpointAws;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with the keys `vpc_id` and `subnet_ids`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEndpointAws, A::Error> {
        let ctx = self.0;
        let mut region = None;
        let mut vpc_id = None;
        let mut subnet_ids = None;
        let mut allow_from = None;
        let mut clients = None;
        each_key(ctx, &mut map, ENDPOINT_AWS_KEYS, |key, map| {
            match key {
                "region" => region = Some(map.next_value_seed(Text::new(ctx, ids::REGION))?),
                "vpc_id" => vpc_id = Some(map.next_value_seed(Text::new(ctx, ids::VPC_ID))?),
                "subnet_ids" => {
                    subnet_ids = Some(map.next_value_seed(List {
                        ctx,
                        shape: ids::SUBNET_ID,
                        items: "subnet ids",
                        min: 1,
                        max: MAX_SUBNETS,
                    })?);
                }
                "security_group" => {
                    allow_from = Some(map.next_value_seed(SecurityGroupSeed(ctx))?);
                }
                _ => {
                    clients = Some(map.next_value_seed(List {
                        ctx,
                        shape: ids::GROUP_ID,
                        items: "security group ids",
                        min: 0,
                        max: usize::MAX,
                    })?);
                }
            }
            Ok(())
        })?;
        Ok(RawEndpointAws {
            region,
            vpc_id: vpc_id.ok_or_else(|| {
                missing(ctx, "vpc_id", "`vpc_id:` with the id of the VPC (`vpc-…`)")
            })?,
            subnet_ids: subnet_ids.ok_or_else(|| {
                missing(
                    ctx,
                    "subnet_ids",
                    "`subnet_ids:` with a list of 1 to 16 subnet ids (`subnet-…`)",
                )
            })?,
            allow_from: allow_from.flatten(),
            client_security_groups: clients.unwrap_or_default(),
        })
    }
}

/// `security_group`: its `allow_from` when given.
struct SecurityGroupSeed<'c, 'a>(&'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for SecurityGroupSeed<'_, '_> {
    type Value = Option<Vec<Source>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SecurityGroupSeed<'_, '_> {
    type Value = Option<Vec<Source>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with the key `allow_from`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let mut allow_from = None;
        each_key(ctx, &mut map, SECURITY_GROUP_KEYS, |_, map| {
            let list = map.next_value_seed(List {
                ctx,
                shape: ids::SOURCE,
                items: "sources (security group ids or IPv4 CIDR blocks)",
                min: 0,
                max: usize::MAX,
            })?;
            allow_from = Some(list.into_iter().map(Source::parse_checked).collect());
            Ok(())
        })?;
        Ok(allow_from)
    }
}

/// Reads a document that should not be there, failing at its first node so
/// that the error carries its position.
pub(crate) struct Unwanted;

impl<'de> DeserializeSeed<'de> for Unwanted {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unwanted {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nothing")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(""))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(""))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(""))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(""))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(""))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(""))
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(""))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(""))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(""))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(""))
    }
}
