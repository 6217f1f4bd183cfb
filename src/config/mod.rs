//! The desired-state file: reading, checking and resolving it.
//!
//! This module owns the YAML file that declares the private endpoints a
//! team wants ([`load`], [`load_str`]) and the typed view the engine plans
//! from ([`Config`]). Everything that can be checked without calling Atlas
//! or AWS is checked here, before any API call: YAML syntax, unknown,
//! missing and duplicate keys, value types, the shape of every id, name and
//! CIDR block, conflicts between keys, `${VAR}` references, and hostile
//! input (size, encoding, nesting, aliases, extra documents). Each error is
//! one line naming the file, the line and column, what is wrong and what
//! was expected ([`ConfigError`]).
//!
//! Defaults are resolved here too: an endpoint's AWS region falls back to
//! the top-level `aws.region`, its security group admits the client
//! security groups unless `security_group.allow_from` says otherwise, and
//! the stack name falls back to the file's stem.
//!
//! The file format is a contract: keys are added, never renamed.

mod azure_ids;
#[cfg(test)]
mod azure_tests;
mod de;
mod env;
mod error;
mod ids;
mod nesting;
mod schema;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeSeed;
use serde::{Deserialize, Serialize};

pub use error::ConfigError;
pub use schema::file_schema;

/// Largest file the loader reads, in bytes.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The only file format version there is.
pub const VERSION: u32 = 1;

/// A loaded, checked desired-state file with every default resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// Always [`VERSION`].
    pub version: u32,
    /// The stack name: `stack:` or derived from the file name.
    pub stack: String,
    /// Top-level `atlas`.
    pub atlas: AtlasSettings,
    /// Top-level `aws`: the default region of AWS endpoints (absent in a
    /// file whose AWS endpoints each name their region, or Azure-only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsSettings>,
    /// Endpoints by name.
    pub endpoints: BTreeMap<String, Endpoint>,
    /// Top-level `state.s3`: the state is kept in S3 (`None`: the local
    /// file).
    #[serde(skip)]
    pub state: Option<crate::state::S3Address>,
}

/// Top-level `atlas`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AtlasSettings {
    /// The Atlas project (group) id: 24 lowercase hex digits.
    pub project_id: String,
}

/// Top-level `aws`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsSettings {
    /// Default AWS region of the endpoints.
    pub region: String,
}

/// One entry of `endpoints`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// The stable name, part of every resource address of the endpoint.
    pub name: String,
    /// The Atlas side.
    pub atlas: EndpointAtlas,
    /// The network side: the cloud the client endpoint lives in.
    #[serde(flatten)]
    pub network: Network,
}

impl Endpoint {
    /// The AWS side, when the endpoint's network is on AWS.
    pub fn aws(&self) -> Option<&EndpointAws> {
        match &self.network {
            Network::Aws(aws) => Some(aws),
            Network::Azure(_) => None,
        }
    }

    /// The Azure side, when the endpoint's network is on Azure.
    pub fn azure(&self) -> Option<&EndpointAzure> {
        match &self.network {
            Network::Azure(azure) => Some(azure),
            Network::Aws(_) => None,
        }
    }
}

/// An endpoint's network side: one variant per cloud, each read from its
/// own block of the endpoint (`aws:` or `azure:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// The endpoint's `aws` block.
    Aws(EndpointAws),
    /// The endpoint's `azure` block.
    Azure(EndpointAzure),
}

/// An endpoint's `azure`, defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointAzure {
    /// The subscription of the private endpoint (its own `subscription`,
    /// else `AZURE_SUBSCRIPTION_ID`).
    pub subscription: String,
    /// The resource group that gets the private endpoint.
    pub resource_group: String,
    /// The Azure location (region) of the private endpoint, e.g. `eastus2`.
    pub location: String,
    /// The full resource id of the subnet the private endpoint lives in.
    pub subnet_id: String,
}

/// An endpoint's `atlas`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointAtlas {
    /// Which Atlas procedure creates the endpoint.
    pub flow: AtlasFlow,
    /// Free text stored on the Atlas endpoint, at most 80 characters.
    pub comment: Option<String>,
}

/// Which Atlas procedure an endpoint follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AtlasFlow {
    /// A private endpoint of one serverless instance (`serverless_instance`).
    Serverless {
        /// The serverless instance's name.
        instance: String,
    },
    /// An interface endpoint on the project's endpoint service for the
    /// region, for dedicated clusters (`dedicated_clusters: true`).
    Dedicated,
}

/// An endpoint's `aws`, defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointAws {
    /// The endpoint's region (its own `region`, else the top-level one).
    pub region: String,
    /// The VPC that gets the interface endpoint.
    pub vpc_id: String,
    /// Subnets of the interface endpoint: 1 to 16, no duplicates.
    pub subnet_ids: Vec<String>,
    /// The security group privlink creates and owns for the endpoint.
    pub security_group: SecurityGroupSpec,
    /// Security groups of the clients, which get egress rules towards the
    /// endpoint; no duplicates.
    pub client_security_groups: Vec<String>,
}

/// The endpoint's own security group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityGroupSpec {
    /// Where inbound traffic is admitted from; defaults to the client
    /// security groups. No duplicates.
    pub allow_from: Vec<Source>,
}

/// A source of traffic: a security group or an IPv4 CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Source {
    /// A security group id, `sg-…`.
    Group(String),
    /// An IPv4 CIDR block in canonical form, `a.b.c.d/n`.
    Cidr(String),
}

impl Source {
    /// Reads a security group id or an IPv4 CIDR block; `None` when `s` is
    /// neither.
    pub fn parse(s: &str) -> Option<Source> {
        (ids::SOURCE.check)(s).ok()?;
        Some(Source::parse_checked(s.to_string()))
    }

    /// Classifies a string that already passed [`ids::SOURCE`].
    fn parse_checked(s: String) -> Source {
        if s.starts_with("sg-") {
            Source::Group(s)
        } else {
            Source::Cidr(s)
        }
    }

    /// The id or the CIDR block.
    pub fn as_str(&self) -> &str {
        match self {
            Source::Group(s) | Source::Cidr(s) => s,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads and checks the desired-state file at `path`, expanding `${VAR}`
/// from the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    use std::io::Read;

    let read_error = |err: std::io::Error| ConfigError::Read {
        path: path.to_path_buf(),
        reason: err.to_string(),
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    if size > MAX_FILE_BYTES {
        return Err(too_large(path, size));
    }
    // The size may change between the check and the read: never read more
    // than one byte past the limit.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path, bytes.len() as u64));
    }
    let text = decode(&bytes, path)?;
    load_str(text, path, &|name| std::env::var(name).ok())
}

fn too_large(path: &Path, size: u64) -> ConfigError {
    ConfigError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit: MAX_FILE_BYTES,
    }
}

/// The file's bytes as text, or where the first byte that is not UTF-8 is.
pub(crate) fn decode<'b>(bytes: &'b [u8], path: &Path) -> Result<&'b str, ConfigError> {
    std::str::from_utf8(bytes).map_err(|err| {
        let offset = err.valid_up_to();
        // The prefix up to the error is valid by definition; a byte order
        // mark takes no column.
        let before = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
        let before = before.strip_prefix('\u{feff}').unwrap_or(before);
        let (line, column) = line_column(before, before.len());
        ConfigError::NotUtf8 {
            path: path.to_path_buf(),
            offset,
            byte: bytes[offset],
            line,
            column,
        }
    })
}

/// Checks and resolves the desired-state file whose text is `text`; `path`
/// is used in errors and for the default stack name, and `env` looks up
/// `${VAR}` references.
pub fn load_str(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path, text.len() as u64));
    }
    // The parser skips a byte order mark without counting it; so do we.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(index) = nesting::too_deep(text) {
        return Err(ConfigError::Syntax {
            path: path.to_path_buf(),
            location: Some(line_column(text, index)),
            message: format!(
                "flow collections (`[` and `{{`) nest deeper than {} levels here, expected a shallow document",
                nesting::MAX_FLOW_DEPTH
            ),
        });
    }
    if let Some(raw) = parse_valid(text, &de::Ctx::new(env)) {
        return resolve(raw, path);
    }
    let ctx = de::Ctx::new(env);
    let raw = parse(text, path, &ctx)?;
    resolve(raw, path)
}

/// The common case in one pass: a single document that deserializes.
/// Anything else gives `None` and goes through [`parse`], which reads the
/// file twice to report its errors in order.
fn parse_valid(text: &str, ctx: &de::Ctx<'_>) -> Option<de::RawConfig> {
    let mut documents = serde_yaml::Deserializer::from_str(text);
    let raw = de::Root(ctx).deserialize(documents.next()?).ok()?;
    documents.next().is_none().then_some(raw)
}

/// Runs the deserializer over the single document of `text`.
///
/// A first pass reads every document without interpreting it, so that YAML
/// syntax errors anywhere in the file, and extra documents, are reported
/// before anything about the content.
fn parse(text: &str, path: &Path, ctx: &de::Ctx<'_>) -> Result<de::RawConfig, ConfigError> {
    for (n, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        if n == 0 {
            serde::de::IgnoredAny::deserialize(document)
                .map_err(|err| convert(err, text, path, ctx))?;
            continue;
        }
        // Unwanted fails with an empty message at the document's first
        // node; anything else is a syntax error inside that document.
        let err = de::Unwanted.deserialize(document).err();
        if let Some(err) = &err
            && !bare_message(err).is_empty()
        {
            return Err(convert_syntax(err, text, path));
        }
        let location = err
            .and_then(|e| e.location())
            .map(|l| document_start(text, l.index()).unwrap_or((l.line(), l.column())));
        return Err(ConfigError::Syntax {
            path: path.to_path_buf(),
            location,
            message: "a second YAML document starts here, expected a single document".to_string(),
        });
    }
    let first = serde_yaml::Deserializer::from_str(text);
    de::Root(ctx)
        .deserialize(first)
        .map_err(|err| convert(err, text, path, ctx))
}

fn convert_syntax(err: &serde_yaml::Error, text: &str, path: &Path) -> ConfigError {
    let location = err.location();
    let mut position = location.as_ref().map(|l| (l.line(), l.column()));
    let mut message = bare_message(err);
    // Reader errors (control characters, bad encodings) carry a byte
    // offset instead of a mark.
    if let Some((head, tail)) = message.split_once(" at position ") {
        let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(offset) = digits.parse::<usize>() {
            position = Some(line_column(text, offset));
            message = format!("{head}{}", &tail[digits.len()..]);
        }
    }
    ConfigError::Syntax {
        path: path.to_path_buf(),
        location: position,
        message: syntax_message(&message, text, location.as_ref()),
    }
}

/// The error's text without serde_yaml's ` at line L column C` suffix, on
/// one line.
fn bare_message(err: &serde_yaml::Error) -> String {
    let mut message = err.to_string();
    if let Some(l) = err.location() {
        let at = format!(" at line {} column {}", l.line(), l.column());
        if let Some(stripped) = message.strip_suffix(&at) {
            message = stripped.to_string();
        } else {
            message = message.replacen(&at, "", 1);
        }
    }
    one_line(&message)
}

/// The line and column of the `---` that starts the document containing
/// byte `index`, if there is one on or before its line.
fn document_start(text: &str, index: usize) -> Option<(usize, usize)> {
    let before = prefix(text, index);
    let index = before.len();
    let mut best = None;
    let mut start = 0;
    for line in before.split_inclusive('\n') {
        let marker =
            line.starts_with("---") && line[3..].chars().next().is_none_or(char::is_whitespace);
        if marker {
            best = Some(start);
        }
        start += line.len();
    }
    // The line holding `index` itself, when the content follows `--- `.
    if text[start..].starts_with("---") && index >= start {
        best = Some(start);
    }
    best.map(|b| line_column(text, b))
}

/// Turns a serde_yaml error into a [`ConfigError`], placing `${…}` problems
/// on the reference itself.
fn convert(err: serde_yaml::Error, text: &str, path: &Path, ctx: &de::Ctx<'_>) -> ConfigError {
    let path = path.to_path_buf();
    let location = err.location();
    let message = bare_message(&err);
    let pos = location.as_ref().map(|l| (l.line(), l.column()));
    if let Some(hint) = ctx.env_hint.borrow_mut().take() {
        let refined = location.as_ref().and_then(|l| {
            let window = hint.len.saturating_mul(8).saturating_add(256);
            env::locate(text, l.index(), window, hint.name.as_deref())
        });
        return ConfigError::Env {
            path,
            location: refined.map(|i| line_column(text, i)).or(pos),
            name: hint.name,
            message,
        };
    }
    if ctx.raised.get()
        || message.contains("invalid type: ")
        || message.contains("invalid value: ")
        || message.contains("invalid length ")
    {
        return ConfigError::Invalid {
            path,
            location: pos,
            message: message.replace("unit value", "null"),
        };
    }
    convert_syntax(&err, text, &path)
}

/// Words a parser error as `what is wrong, expected what`.
fn syntax_message(message: &str, text: &str, location: Option<&serde_yaml::Location>) -> String {
    let tab_here = location.is_some_and(|l| {
        let line_start = prefix(text, l.index()).rfind('\n').map_or(0, |i| i + 1);
        text[line_start..]
            .split('\n')
            .next()
            .is_some_and(|line| line.contains('\t'))
    });
    if tab_here && (message.contains("tab") || message.contains("cannot start any token")) {
        return "a tab character where YAML allows only spaces, expected spaces for indentation"
            .to_string();
    }
    if message.starts_with("recursion limit exceeded") {
        return "the document nests too deeply, expected at most a few levels of mappings and lists".to_string();
    }
    if message.starts_with("repetition limit exceeded") {
        return "aliases expand to too many nodes, expected a document without alias bombs"
            .to_string();
    }
    if message.starts_with("unknown anchor") {
        return "an alias refers to an unknown anchor, expected an `&anchor` defined before `*anchor`".to_string();
    }
    if message.starts_with("EOF while parsing") {
        return "the document ends too early, expected more content".to_string();
    }
    format!("YAML syntax error: {message}, expected well-formed YAML")
}

/// `text` up to byte `index`, backed off to a character boundary.
fn prefix(text: &str, index: usize) -> &str {
    let mut i = index.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    &text[..i]
}

/// Collapses line breaks so a message stays on one line.
fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// 1-based line and column (in characters) of byte `index` of `text`,
/// counting line breaks the way the YAML parser does (`\n`, `\r\n`, `\r`,
/// U+0085, U+2028, U+2029).
pub(crate) fn line_column(text: &str, index: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if i >= index {
            break;
        }
        match c {
            '\r' if chars.peek().is_some_and(|(_, n)| *n == '\n') => {}
            '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                line += 1;
                column = 1;
            }
            _ => column += 1,
        }
    }
    (line, column)
}

/// Applies defaults: endpoint regions, security group sources, stack name.
fn resolve(raw: de::RawConfig, path: &Path) -> Result<Config, ConfigError> {
    let stack = match raw.stack {
        Some(stack) => stack,
        None => {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            ids::stack_from_stem(&stem).ok_or_else(|| ConfigError::Invalid {
                path: path.to_path_buf(),
                location: None,
                message: format!(
                    "no stack name can be derived from the file name {}, expected a top-level `stack:` key",
                    de::quote(&stem)
                ),
            })?
        }
    };
    let endpoints = raw
        .endpoints
        .into_iter()
        .map(|(name, e)| {
            let network = match e.network {
                de::RawNetwork::Aws(aws) => Network::Aws(resolve_aws(aws, raw.aws.as_ref())),
                de::RawNetwork::Azure(azure) => Network::Azure(azure),
            };
            let endpoint = Endpoint {
                name: name.clone(),
                atlas: e.atlas,
                network,
            };
            (name, endpoint)
        })
        .collect();
    Ok(Config {
        path: path.to_path_buf(),
        version: raw.version,
        stack,
        atlas: raw.atlas,
        aws: raw.aws,
        endpoints,
        state: raw.state,
    })
}

/// An endpoint's `aws` with its defaults: the top-level region, and the
/// client security groups as the sources its security group admits.
fn resolve_aws(aws: de::RawEndpointAws, top: Option<&AwsSettings>) -> EndpointAws {
    let allow_from = aws.allow_from.unwrap_or_else(|| {
        aws.client_security_groups
            .iter()
            .map(|g| Source::Group(g.clone()))
            .collect()
    });
    EndpointAws {
        // The parser refuses an endpoint without a region of its own in a
        // file without a top-level `aws`.
        region: aws
            .region
            .or_else(|| top.map(|t| t.region.clone()))
            .unwrap_or_default(),
        vpc_id: aws.vpc_id,
        subnet_ids: aws.subnet_ids,
        security_group: SecurityGroupSpec { allow_from },
        client_security_groups: aws.client_security_groups,
    }
}
