//! Run settings: everything a command needs to know from the command line and
//! the environment, resolved once into [`Settings`] before any command runs.
//!
//! Flags win over the environment; the environment wins over the defaults in
//! [`crate::limits`]. Commands read their settings from here and never from
//! the environment themselves.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::limits;
use crate::logging::LogSettings;
use crate::model::Address;
use crate::providers::atlas::{
    AtlasError, ClientOptions, Credentials, DEFAULT_BASE_URL, credentials_in, missing_credentials,
};
use crate::state::{LocalBackend, Location, S3Address};

/// The environment variable naming the Atlas base URL.
pub const ENV_BASE_URL: &str = "MONGODB_ATLAS_BASE_URL";
/// The environment variable of a service account's client id.
pub const ENV_CLIENT_ID: &str = "MONGODB_ATLAS_CLIENT_ID";
/// The environment variable of a service account's secret.
pub const ENV_CLIENT_SECRET: &str = "MONGODB_ATLAS_CLIENT_SECRET";
/// The environment variable of an API key's public half.
pub const ENV_PUBLIC_KEY: &str = "MONGODB_ATLAS_PUBLIC_KEY";
/// The environment variable of an API key's private half.
pub const ENV_PRIVATE_KEY: &str = "MONGODB_ATLAS_PRIVATE_KEY";
/// The environment variable that turns colour off when set and not empty.
pub const ENV_NO_COLOR: &str = "NO_COLOR";

/// The default `--parallelism`: how many steps may call Atlas or AWS at once.
pub const DEFAULT_PARALLELISM: u16 = 10;

/// The settings of one run of one command.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The desired-state file (`-f`).
    pub file: PathBuf,
    /// The state file: `--state`, or [`default_state_path`] of the file.
    pub state_path: PathBuf,
    /// Where older builds kept the state of this file by default (see
    /// [`legacy_state_path`]), when `--state` is not given and that is
    /// another file than `state_path`: a state found there is moved to
    /// `state_path`.
    pub legacy_state_path: Option<PathBuf>,
    /// The state in S3 (`--state-s3`, `PRIVLINK_STATE`, or the file's
    /// `state.s3` block once located): when set, `state_path` is only the
    /// local state a migration reads.
    pub state_s3: Option<S3Address>,
    /// `--state` was given: the file's `state:` block is not used.
    pub state_given: bool,
    /// The region for the S3 state when neither its address nor the AWS
    /// chain names one: the file's `aws.region`, once located.
    pub state_region: Option<String>,
    /// `--force-stack`: use a state that records another stack than the
    /// file's.
    pub force_stack: bool,
    /// How many steps may be calling Atlas or AWS at once.
    pub parallelism: usize,
    /// How long any one wait on Atlas or AWS may take.
    pub wait_timeout: Duration,
    /// Apply or destroy without asking.
    pub auto_approve: bool,
    /// Colour the output.
    pub color: bool,
    /// Where Atlas is and how to authenticate to it.
    pub atlas: AtlasAccess,
    /// `-target` addresses: when any, plans are limited to them (and what
    /// they pull in, see [`crate::plan::target()`]).
    pub targets: Vec<Address>,
    /// `-refresh-only`: plan and record only what changed outside privlink.
    pub refresh_only: bool,
    /// What to log, and where (`-v`, `PRIVLINK_LOG`, `PRIVLINK_LOG_PATH`).
    pub log: LogSettings,
    /// How long opening a connection to Atlas or EC2 may take.
    pub connect_timeout: Duration,
    /// How long one attempt of an Atlas request or an EC2 operation may take.
    pub request_timeout: Duration,
    /// The desired-state file as read while locating the state, with the
    /// path it was read from: the command uses it instead of reading the
    /// file again (see `commands::common::load_config`).
    pub file_read: Option<Arc<(PathBuf, Config)>>,
}

/// What the command line gives [`Settings::resolve`].
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `-f`, the desired-state file.
    pub file: PathBuf,
    /// `--state`, when given.
    pub state: Option<PathBuf>,
    /// `--state-s3` (or `PRIVLINK_STATE`), when given.
    pub state_s3: Option<S3Address>,
    /// `--force-stack`, for the commands that have it.
    pub force_stack: bool,
    /// `--parallelism`, for the commands that have it.
    pub parallelism: Option<u16>,
    /// `--timeout`, for the commands that have it.
    pub timeout: Option<Duration>,
    /// The wait budget of a command without `--timeout`.
    pub default_timeout: Option<Duration>,
    /// `--auto-approve`.
    pub auto_approve: bool,
    /// `--no-color`.
    pub no_color: bool,
    /// `-target`, for the commands that have it.
    pub targets: Vec<String>,
    /// `-refresh-only`, for the commands that have it.
    pub refresh_only: bool,
    /// How many `-v`.
    pub verbose: u8,
    /// `--connect-timeout` (or `PRIVLINK_CONNECT_TIMEOUT`), when given.
    pub connect_timeout: Option<Duration>,
    /// `--request-timeout` (or `PRIVLINK_REQUEST_TIMEOUT`), when given.
    pub request_timeout: Option<Duration>,
}

impl Settings {
    /// Resolves the settings from the flags and the process environment.
    pub fn resolve(flags: Flags) -> Settings {
        use std::io::IsTerminal;
        let env = |name: &str| std::env::var(name).ok();
        Settings::from_sources(flags, env, std::io::stdout().is_terminal())
    }

    /// Resolves the settings from the flags, an environment lookup and
    /// whether standard output is a terminal.
    pub fn from_sources(
        flags: Flags,
        env: impl Fn(&str) -> Option<String>,
        stdout_is_terminal: bool,
    ) -> Settings {
        let no_color_env = env(ENV_NO_COLOR).is_some_and(|v| !v.is_empty());
        let state_path = flags
            .state
            .clone()
            .unwrap_or_else(|| default_state_path(&flags.file));
        let legacy = legacy_state_path(&flags.file);
        let legacy_state_path =
            (flags.state.is_none() && !same_file(&legacy, &state_path)).then_some(legacy);
        let connect_timeout = flags.connect_timeout.unwrap_or(limits::CONNECT_TIMEOUT);
        let request_timeout = flags.request_timeout.unwrap_or(limits::REQUEST_TIMEOUT);
        let mut atlas = AtlasAccess::from_env(&env);
        atlas.client.connect_timeout = connect_timeout;
        atlas.client.request_timeout = request_timeout;
        Settings {
            state_path,
            legacy_state_path: legacy_state_path.filter(|_| flags.state_s3.is_none()),
            state_given: flags.state.is_some(),
            state_s3: flags.state_s3,
            state_region: None,
            force_stack: flags.force_stack,
            parallelism: usize::from(flags.parallelism.unwrap_or(DEFAULT_PARALLELISM)),
            wait_timeout: flags
                .timeout
                .or(flags.default_timeout)
                .unwrap_or(limits::WAIT_TIMEOUT),
            auto_approve: flags.auto_approve,
            color: !flags.no_color && !no_color_env && stdout_is_terminal,
            targets: flags.targets.iter().map(Address::new).collect(),
            refresh_only: flags.refresh_only,
            atlas,
            log: LogSettings::resolve(flags.verbose, &env),
            connect_timeout,
            request_timeout,
            file: flags.file,
            file_read: None,
        }
    }
}

impl Settings {
    /// Where the state is, as messages name it: its S3 address or its path.
    pub fn state_location(&self) -> Location {
        match &self.state_s3 {
            Some(a) => Location::new(a.url()),
            None => Location::from(self.state_path.as_path()),
        }
    }
}

/// The default state file of the desired-state file `config`:
/// `state/<file stem>.state.json` in the directory of the file, so that one
/// file has one state wherever privlink runs from.
pub fn default_state_path(config: &Path) -> PathBuf {
    let beside_cwd = LocalBackend::default_path(config);
    match config.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(beside_cwd),
        _ => beside_cwd,
    }
}

/// Where builds before [`default_state_path`] kept the state of `config`
/// by default: `state/<file stem>.state.json` in the working directory.
pub fn legacy_state_path(config: &Path) -> PathBuf {
    LocalBackend::default_path(config)
}

/// True when `a` and `b` name the same file as paths (`./x` and `x`, say),
/// without looking at the disk.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::path::absolute(a), std::path::absolute(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Where Atlas is and which credentials privlink uses for it.
#[derive(Debug, Clone)]
pub struct AtlasAccess {
    /// `MONGODB_ATLAS_BASE_URL`, or `https://cloud.mongodb.com`.
    pub base_url: String,
    /// The credentials found in the environment.
    pub credentials: CredentialsSource,
    /// Retries and request budget of the client.
    pub client: ClientOptions,
}

/// Which credentials the environment holds. A service account wins when both
/// pairs are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsSource {
    /// A complete pair.
    Found(Credentials),
    /// One half of a pair is set without the other; the message says which.
    Incomplete(String),
    /// Neither pair is set.
    Missing,
}

impl AtlasAccess {
    /// Reads the base URL and the credentials through `env`; blank values
    /// count as unset.
    pub fn from_env(env: &impl Fn(&str) -> Option<String>) -> AtlasAccess {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        AtlasAccess {
            base_url: get(ENV_BASE_URL).unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            credentials: credentials_source(&get),
            client: ClientOptions::default(),
        }
    }

    /// The credentials, or the configuration error that says what is missing.
    pub fn credentials(&self) -> Result<Credentials, AtlasError> {
        match &self.credentials {
            CredentialsSource::Found(c) => Ok(c.clone()),
            CredentialsSource::Incomplete(why) => Err(AtlasError::Config(why.clone())),
            CredentialsSource::Missing => Err(missing_credentials()),
        }
    }
}

/// What the environment holds, as the Atlas client reads it.
fn credentials_source(get: &impl Fn(&str) -> Option<String>) -> CredentialsSource {
    match credentials_in(get) {
        Ok(Some(c)) => CredentialsSource::Found(c),
        Ok(None) => CredentialsSource::Missing,
        Err(AtlasError::Config(why)) => CredentialsSource::Incomplete(why),
        Err(e) => CredentialsSource::Incomplete(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(flags: Flags, vars: &[(&str, &str)], tty: bool) -> Settings {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let env = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        Settings::from_sources(flags, env, tty)
    }

    fn flags(file: &str) -> Flags {
        Flags {
            file: PathBuf::from(file),
            ..Flags::default()
        }
    }

    #[test]
    fn defaults_come_from_the_limits_and_the_file_name() {
        let s = resolve(flags("dir/orders.yaml"), &[], false);
        assert_eq!(s.state_path, PathBuf::from("dir/state/orders.state.json"));
        assert_eq!(
            s.legacy_state_path,
            Some(PathBuf::from("state/orders.state.json"))
        );
        assert!(!s.force_stack);
        assert_eq!(s.parallelism, 10);
        assert_eq!(s.wait_timeout, limits::WAIT_TIMEOUT);
        assert!(!s.auto_approve && !s.color);
        assert_eq!(s.atlas.base_url, DEFAULT_BASE_URL);
        assert_eq!(s.atlas.credentials, CredentialsSource::Missing);
        assert_eq!(s.atlas.client.connect_timeout, limits::CONNECT_TIMEOUT);
        assert_eq!(s.request_timeout, limits::REQUEST_TIMEOUT);
        assert_eq!(s.log.level, None);
    }

    #[test]
    fn the_default_state_lies_beside_the_file() {
        let here = resolve(flags("orders.yaml"), &[], false);
        assert_eq!(here.state_path, PathBuf::from("state/orders.state.json"));
        assert_eq!(here.legacy_state_path, None);
        let dot = resolve(flags("./orders.yaml"), &[], false);
        assert_eq!(dot.legacy_state_path, None);
        let up = resolve(flags("../a/orders.yaml"), &[], false);
        assert_eq!(up.state_path, PathBuf::from("../a/state/orders.state.json"));
        let given = Flags {
            state: Some(PathBuf::from("s.json")),
            force_stack: true,
            ..flags("dir/orders.yaml")
        };
        let s = resolve(given, &[], false);
        assert_eq!(s.state_path, PathBuf::from("s.json"));
        assert_eq!(s.legacy_state_path, None);
        assert!(s.force_stack);
    }

    #[test]
    fn an_s3_state_is_named_by_its_address() {
        let local = resolve(flags("dir/orders.yaml"), &[], false);
        assert_eq!(local.state_s3, None);
        assert!(!local.state_given);
        assert_eq!(
            local.state_location().as_str(),
            "dir/state/orders.state.json"
        );
        let address = S3Address::parse("s3://team-state/privlink/orders.json").unwrap();
        let f = Flags {
            state_s3: Some(address.clone()),
            ..flags("dir/orders.yaml")
        };
        let s = resolve(f, &[], false);
        assert_eq!(s.state_s3, Some(address));
        assert_eq!(s.legacy_state_path, None, "nothing local to move");
        assert_eq!(
            s.state_location().as_str(),
            "s3://team-state/privlink/orders.json"
        );
        let given = Flags {
            state: Some(PathBuf::from("s.json")),
            ..flags("x.yaml")
        };
        assert!(resolve(given, &[], false).state_given);
    }

    #[test]
    fn network_timeouts_and_the_log_come_from_flags_and_environment() {
        let f = Flags {
            verbose: 1,
            connect_timeout: Some(Duration::from_secs(3)),
            request_timeout: Some(Duration::from_secs(7)),
            ..flags("x")
        };
        let s = resolve(f, &[("PRIVLINK_LOG", "debug")], false);
        assert_eq!(s.connect_timeout, Duration::from_secs(3));
        assert_eq!(s.atlas.client.connect_timeout, Duration::from_secs(3));
        assert_eq!(s.atlas.client.request_timeout, Duration::from_secs(7));
        assert_eq!(
            s.log.level,
            Some(tracing::level_filters::LevelFilter::DEBUG)
        );
    }

    #[test]
    fn flags_win_over_defaults() {
        let f = Flags {
            state: Some(PathBuf::from("s.json")),
            parallelism: Some(3),
            timeout: Some(Duration::from_secs(90)),
            default_timeout: Some(limits::READ_ONLY_WAIT_TIMEOUT),
            ..flags("x.yaml")
        };
        let s = resolve(f, &[], true);
        assert_eq!(s.state_path, PathBuf::from("s.json"));
        assert_eq!(s.parallelism, 3);
        assert_eq!(s.wait_timeout, Duration::from_secs(90));
        assert!(s.color);
    }

    #[test]
    fn targets_become_addresses_and_refresh_only_passes_through() {
        let s = resolve(flags("x"), &[], false);
        assert!(s.targets.is_empty() && !s.refresh_only);
        let f = Flags {
            targets: vec![
                "endpoints.orders".into(),
                "endpoint_services.aws.us-east-1".into(),
            ],
            refresh_only: true,
            ..flags("x")
        };
        let s = resolve(f, &[], false);
        assert_eq!(
            s.targets,
            vec![
                Address::new("endpoints.orders"),
                Address::new("endpoint_services.aws.us-east-1")
            ]
        );
        assert!(s.refresh_only);
    }

    #[test]
    fn colour_needs_a_terminal_and_no_opt_out() {
        assert!(!resolve(flags("x"), &[(ENV_NO_COLOR, "1")], true).color);
        assert!(resolve(flags("x"), &[(ENV_NO_COLOR, "")], true).color);
        let f = Flags {
            no_color: true,
            ..flags("x")
        };
        assert!(!resolve(f, &[], true).color);
    }

    #[test]
    fn a_service_account_wins_and_half_pairs_are_named() {
        let both = [
            (ENV_PUBLIC_KEY, "p"),
            (ENV_PRIVATE_KEY, "k"),
            (ENV_CLIENT_ID, "i"),
            (ENV_CLIENT_SECRET, "s"),
            (ENV_BASE_URL, "http://localhost:1"),
        ];
        let s = resolve(flags("x"), &both, false);
        assert_eq!(s.atlas.base_url, "http://localhost:1");
        assert!(matches!(
            s.atlas.credentials(),
            Ok(Credentials::ServiceAccount { .. })
        ));
        let half = resolve(flags("x"), &[(ENV_PUBLIC_KEY, "p")], false);
        let err = half.atlas.credentials().unwrap_err().to_string();
        assert!(
            err.contains("MONGODB_ATLAS_PUBLIC_KEY is set but MONGODB_ATLAS_PRIVATE_KEY is not"),
            "{err}"
        );
        let none = resolve(flags("x"), &[(ENV_PUBLIC_KEY, " ")], false);
        assert!(
            none.atlas
                .credentials()
                .unwrap_err()
                .to_string()
                .contains("no Atlas credentials")
        );
    }
}
