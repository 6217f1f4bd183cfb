//! The command line: clap definitions, and the dispatch of a parsed command
//! line to [`crate::commands`] with the [`Settings`] it resolves to. Errors
//! are printed here and mapped to the exit code by
//! [`commands::exit_code`] (0 success, 1 error, 2 changes present with
//! `plan --detailed-exitcode`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::commands::{self, CommandError, Outcome};
use crate::limits;
use crate::output::Output;
use crate::settings::{DEFAULT_PARALLELISM, Flags, Settings};
use crate::state::S3Address;

/// Declarative MongoDB Atlas private endpoints on AWS.
///
/// privlink reads one YAML file that declares the private endpoints a team
/// wants, diffs it against live Atlas and AWS (`plan`), converges (`apply`)
/// and tears everything down again (`destroy`), keeping a local state file.
///
/// Atlas credentials: MONGODB_ATLAS_PUBLIC_KEY and MONGODB_ATLAS_PRIVATE_KEY
/// (HTTP Digest), or MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET
/// (service account); MONGODB_ATLAS_BASE_URL overrides
/// https://cloud.mongodb.com. AWS: the standard credential and region chain
/// (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_EC2, ...).
#[derive(Debug, Parser)]
#[command(name = "privlink", version = commands::version::VERSION, about, long_about)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
    /// Never colour the output (also: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Log to standard error: -v info (every Atlas request and EC2 call),
    /// -vv debug (also: PRIVLINK_LOG=LEVEL, PRIVLINK_LOG_PATH=FILE).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// How long opening a connection to Atlas or EC2 may take [default: 10s].
    #[arg(long, global = true, env = "PRIVLINK_CONNECT_TIMEOUT", value_parser = network_timeout)]
    pub connect_timeout: Option<Duration>,
    /// How long one attempt of an Atlas request or EC2 call may take
    /// [default: 60s].
    #[arg(long, global = true, env = "PRIVLINK_REQUEST_TIMEOUT", value_parser = network_timeout)]
    pub request_timeout: Option<Duration>,
}

/// A network timeout: a duration (`90s`, `2m`) or whole seconds, not zero.
fn network_timeout(text: &str) -> Result<Duration, String> {
    let d = match text.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(text.trim()).map_err(|e| e.to_string())?,
    };
    if d.is_zero() {
        return Err("must be more than zero".to_owned());
    }
    Ok(d)
}

/// The desired-state file when `-f/--file` is not given.
const DEFAULT_FILE: &str = "privlink.yaml";

/// Where the desired-state file and the state file are.
#[derive(Debug, Args, Clone)]
pub struct FileArgs {
    /// The desired-state file.
    #[arg(short = 'f', long = "file", default_value = DEFAULT_FILE)]
    pub file: PathBuf,
    /// The state file [default: state/<file stem>.state.json in the
    /// file's directory].
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Keep the state in S3 at s3://BUCKET/KEY (optionally ?region=REGION),
    /// locked with S3's conditional writes; wins over the file's `state:`
    /// block and over --state.
    #[arg(long, env = "PRIVLINK_STATE", value_name = "S3_URL", value_parser = s3_address)]
    pub state_s3: Option<S3Address>,
}

/// `--state-s3`: an `s3://BUCKET/KEY` address.
fn s3_address(text: &str) -> Result<S3Address, String> {
    S3Address::parse(text)
}

/// The override of the stack check, for the commands that use the state
/// to change or plan (plan, apply, destroy, import).
#[derive(Debug, Args, Clone, Default)]
pub struct StackArgs {
    /// Use the state even though it records another stack than the file's
    /// (a state is otherwise refused, before any API call).
    #[arg(long)]
    pub force_stack: bool,
}

/// The options of the commands that change things (apply, destroy).
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// How many steps may be calling Atlas or AWS at once (a step waiting
    /// between polls does not count, so any number of endpoints can wait
    /// side by side).
    #[arg(long, default_value_t = DEFAULT_PARALLELISM, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// How long any one wait on Atlas or AWS may take (e.g. 30m, 90s).
    #[arg(long, default_value = limits::WAIT_TIMEOUT_ARG, value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Report progress as JSON lines on standard output (see
    /// docs/plan-json.md); needs --auto-approve unless a saved plan is applied.
    #[arg(long)]
    pub json: bool,
}

/// Resource targeting, for plan, apply and destroy.
#[derive(Debug, Args, Clone, Default)]
pub struct TargetArgs {
    /// Limit the run to the resource ADDRESS and what it needs (repeatable;
    /// -target works too). A prefix such as endpoints.orders targets every
    /// resource of that endpoint. Creates and updates bring what they depend
    /// on, deletions what depends on them. For exceptional cases such as
    /// recovering from errors, not for routine use.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub target: Vec<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would change, reading live Atlas and AWS.
    Plan {
        /// Where the desired-state file and the state file are.
        #[command(flatten)]
        files: FileArgs,
        /// `--force-stack`.
        #[command(flatten)]
        stack: StackArgs,
        /// Save the plan to this file, for `privlink apply FILE`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the plan as JSON (see docs/plan-json.md).
        #[arg(long)]
        json: bool,
        /// Plan the destruction of everything in state.
        #[arg(long)]
        destroy: bool,
        /// Exit 0 when there are no changes, 2 when there are, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// `-target` addresses.
        #[command(flatten)]
        targets: TargetArgs,
        /// Show only what changed outside privlink since the last apply
        /// (-refresh-only works too); proposes no change to any object.
        #[arg(long, conflicts_with_all = ["destroy", "out", "target"])]
        refresh_only: bool,
    },
    /// Converge Atlas and AWS to the file (or carry out a saved plan).
    Apply {
        /// A plan saved by `privlink plan --out FILE`.
        #[arg(conflicts_with_all = ["target", "refresh_only"])]
        plan_file: Option<PathBuf>,
        /// Where the desired-state file and the state file are.
        #[command(flatten)]
        files: FileArgs,
        /// `--force-stack`.
        #[command(flatten)]
        stack: StackArgs,
        /// Confirmation, parallelism and wait timeout.
        #[command(flatten)]
        run: RunArgs,
        /// `-target` addresses.
        #[command(flatten)]
        targets: TargetArgs,
        /// Record in the state what changed outside privlink since the last
        /// apply, changing no object in Atlas or AWS (-refresh-only works too).
        #[arg(long, conflicts_with = "target")]
        refresh_only: bool,
    },
    /// Delete everything in state, in dependency order.
    Destroy {
        /// Where the desired-state file and the state file are.
        #[command(flatten)]
        files: FileArgs,
        /// `--force-stack`.
        #[command(flatten)]
        stack: StackArgs,
        /// Confirmation, parallelism and wait timeout.
        #[command(flatten)]
        run: RunArgs,
        /// `-target` addresses.
        #[command(flatten)]
        targets: TargetArgs,
    },
    /// Check the file without calling any API.
    Validate {
        /// Where the desired-state file and the state file are.
        #[command(flatten)]
        files: FileArgs,
    },
    /// Show the state file.
    Show {
        /// Where the desired-state file and the state file are.
        #[command(flatten)]
        files: FileArgs,
        /// Print the raw state as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the private-endpoint connection strings Atlas has for the file's deployments.
    Output {
        /// Where the desired-state file and the state file are.
        #[command(flatten)]
        files: FileArgs,
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Adopt an object that already exists in Atlas or AWS into the state.
    ///
    /// ID is the id the owning cloud gives the object: the Atlas id (24 hex)
    /// for endpoint services, serverless endpoints and serverless links, the
    /// vpce-… id for VPC endpoints and dedicated links, the sg-… id for
    /// security groups and client egress rules.
    Import {
        /// The address, e.g. endpoint_services.aws.us-east-1.
        address: String,
        /// The remote id.
        id: String,
        /// Import an object another privlink state owns (its tags or
        /// marker name another owner); this state then never deletes it.
        #[arg(long)]
        force: bool,
        /// Where the desired-state file and the state file are.
        #[command(flatten)]
        files: FileArgs,
        /// `--force-stack`.
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Remove a lock left by a run that is gone.
    ForceUnlock {
        /// The lock id, as printed by the run that found the state locked.
        lock_id: String,
        /// Remove the lock of a run that is still alive without asking.
        #[arg(long)]
        force: bool,
        /// Where the desired-state file and the state file are.
        #[command(flatten)]
        files: FileArgs,
    },
    /// Work with the state: list, show, rm, mv, push, pull, migrate.
    State {
        /// What to do.
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Print the JSON Schema of the file (for editors: see the README).
    Schema,
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the version and the git commit it was built from.
    Version,
}

/// The `privlink state` commands. Those that change the state take its
/// lock, as apply does.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses in the state.
    List {
        /// Where the desired-state file and the state are.
        #[command(flatten)]
        files: FileArgs,
    },
    /// Show one resource of the state (JSON).
    Show {
        /// The address, e.g. endpoints.orders.vpc_endpoint.
        address: String,
        /// Where the desired-state file and the state are.
        #[command(flatten)]
        files: FileArgs,
    },
    /// Forget resources without deleting them: ADDRESS and every address
    /// under it (endpoints.orders is all of that endpoint).
    Rm {
        /// The address or address prefix.
        address: String,
        /// Where the desired-state file and the state are.
        #[command(flatten)]
        files: FileArgs,
    },
    /// Rename resources without re-creating them: FROM and every address
    /// under it become TO (endpoints.orders to endpoints.sales renames an
    /// endpoint; rename it in the file too).
    Mv {
        /// The address or address prefix to rename.
        from: String,
        /// The new address or prefix.
        to: String,
        /// Where the desired-state file and the state are.
        #[command(flatten)]
        files: FileArgs,
    },
    /// Print the state as stored (JSON), e.g. to keep a copy.
    Pull {
        /// Where the desired-state file and the state are.
        #[command(flatten)]
        files: FileArgs,
    },
    /// Replace the state with a state file (same lineage, not older);
    /// --force takes any lineage and serial.
    Push {
        /// The state file to store.
        path: PathBuf,
        /// Push even a state of another lineage or an older serial.
        #[arg(long)]
        force: bool,
        /// Where the desired-state file and the state are.
        #[command(flatten)]
        files: FileArgs,
    },
    /// Move the local state (--state, or the default beside the file) into
    /// the S3 state the file's `state:` block (or --state-s3) names; refused
    /// when S3 already holds a state of another lineage.
    Migrate {
        /// Where the desired-state file and the state are.
        #[command(flatten)]
        files: FileArgs,
    },
}

impl StateCommand {
    /// What the command asks [`commands::state::run`] to do.
    fn action(self) -> commands::state::StateAction {
        use commands::state::StateAction as A;
        match self {
            StateCommand::List { .. } => A::List,
            StateCommand::Show { address, .. } => A::Show(address),
            StateCommand::Rm { address, .. } => A::Rm(address),
            StateCommand::Mv { from, to, .. } => A::Mv(from, to),
            StateCommand::Pull { .. } => A::Pull,
            StateCommand::Push { path, force, .. } => A::Push(path, force),
            StateCommand::Migrate { .. } => A::Migrate,
        }
    }

    /// The file arguments of any state command.
    fn files(&self) -> &FileArgs {
        match self {
            StateCommand::List { files }
            | StateCommand::Show { files, .. }
            | StateCommand::Rm { files, .. }
            | StateCommand::Mv { files, .. }
            | StateCommand::Pull { files }
            | StateCommand::Push { files, .. }
            | StateCommand::Migrate { files } => files,
        }
    }
}

/// Parses the command line, runs it, and returns the process exit code.
pub fn main() -> i32 {
    // Reads FAILPOINTS from the environment in builds with the `failpoints`
    // feature; does nothing otherwise.
    let _failpoints = fail::FailScenario::setup();
    let cli = Cli::parse_from(terraform_style(std::env::args_os()));
    let settings = Settings::resolve(flags(&cli));
    if reaches_clouds(&cli.command) && crate::tls::any_https(&cloud_urls(&settings)) {
        // Read while the command reads its files.
        crate::tls::preload();
    }
    let out = Output::with_color(settings.color);
    if let Err(e) = crate::logging::init(&settings.log) {
        out.failure(&e);
        return 1;
    }
    crate::providers::aws::set_timeouts(settings.connect_timeout, settings.request_timeout);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CommandError::Runtime)
        .and_then(|runtime| {
            let result = runtime.block_on(run(cli.command, &settings, &out));
            // The command is done; what is left (idle connections, pollers
            // nobody waits on) goes without waiting for the workers.
            runtime.shutdown_background();
            result
        });
    if let Err(e) = &result {
        out.failure(e);
    }
    commands::exit_code(&result)
}

/// True for the commands that may reach a cloud or S3.
fn reaches_clouds(command: &Command) -> bool {
    !matches!(
        command,
        Command::Validate { .. } | Command::Schema | Command::Completions { .. } | Command::Version
    )
}

/// The endpoints of Atlas and EC2 the settings and the environment name
/// (`None`: the cloud's own, an `https://` one).
fn cloud_urls(settings: &Settings) -> [Option<String>; 2] {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    [
        Some(settings.atlas.base_url.clone()),
        var("AWS_ENDPOINT_URL_EC2").or_else(|| var("AWS_ENDPOINT_URL")),
    ]
}

/// The settings-relevant flags of a command line.
fn flags(cli: &Cli) -> Flags {
    let no_files;
    let (files, run, default_timeout) = match &cli.command {
        Command::Plan { files, .. } => (files, None, Some(limits::WAIT_TIMEOUT)),
        Command::Apply { files, run, .. } | Command::Destroy { files, run, .. } => {
            (files, Some(run), None)
        }
        Command::Output { files, .. } | Command::Import { files, .. } => {
            (files, None, Some(limits::READ_ONLY_WAIT_TIMEOUT))
        }
        Command::Validate { files }
        | Command::Show { files, .. }
        | Command::ForceUnlock { files, .. } => (files, None, None),
        Command::State { command } => (command.files(), None, None),
        // These read no file: the defaults.
        Command::Schema | Command::Completions { .. } | Command::Version => {
            no_files = FileArgs {
                file: PathBuf::from(DEFAULT_FILE),
                state: None,
                state_s3: None,
            };
            (&no_files, None, None)
        }
    };
    Flags {
        file: files.file.clone(),
        state: files.state.clone(),
        state_s3: files.state_s3.clone(),
        force_stack: force_stack(&cli.command),
        parallelism: run.map(|r| r.parallelism),
        timeout: run.map(|r| r.timeout),
        default_timeout,
        auto_approve: run.is_some_and(|r| r.auto_approve),
        no_color: cli.no_color,
        targets: scope(&cli.command).0,
        refresh_only: scope(&cli.command).1,
        verbose: cli.verbose,
        connect_timeout: cli.connect_timeout,
        request_timeout: cli.request_timeout,
    }
}

/// `--force-stack`, for the commands that have it.
fn force_stack(command: &Command) -> bool {
    match command {
        Command::Plan { stack, .. }
        | Command::Apply { stack, .. }
        | Command::Destroy { stack, .. }
        | Command::Import { stack, .. } => stack.force_stack,
        _ => false,
    }
}

/// The `-target` addresses and `-refresh-only` of a command line.
fn scope(command: &Command) -> (Vec<String>, bool) {
    match command {
        Command::Plan {
            targets,
            refresh_only,
            ..
        }
        | Command::Apply {
            targets,
            refresh_only,
            ..
        } => (targets.target.clone(), *refresh_only),
        Command::Destroy { targets, .. } => (targets.target.clone(), false),
        _ => (Vec::new(), false),
    }
}

/// The single-dash spellings Terraform uses (`-target ADDRESS`,
/// `-target=ADDRESS`, `-refresh-only`) rewritten to their long options;
/// everything after `--` is left as it is.
pub fn terraform_style(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut rest = false;
    args.into_iter()
        .map(|a| {
            if rest {
                return a;
            }
            rest = a == "--";
            match a.to_str() {
                Some(s) if s == "-target" || s.starts_with("-target=") || s == "-refresh-only" => {
                    format!("-{s}").into()
                }
                _ => a,
            }
        })
        .collect()
}

/// True when `command` uses the state at the settings' location (a saved
/// plan names its own).
fn uses_state(command: &Command) -> bool {
    match command {
        Command::Apply { plan_file, .. } => plan_file.is_none(),
        Command::Plan { .. }
        | Command::Destroy { .. }
        | Command::Show { .. }
        | Command::Output { .. }
        | Command::Import { .. }
        | Command::ForceUnlock { .. }
        | Command::State { .. } => true,
        Command::Validate { .. }
        | Command::Schema
        | Command::Completions { .. }
        | Command::Version => false,
    }
}

/// True when a local state left beside the file should stop `command`
/// while the S3 state is empty (to migrate it first); not for the
/// commands that move a state themselves or only remove a lock.
fn guides(command: &Command) -> bool {
    !matches!(
        command,
        Command::ForceUnlock { .. }
            | Command::State {
                command: StateCommand::Migrate { .. } | StateCommand::Push { .. },
            }
    )
}

/// Runs one command.
async fn run(command: Command, settings: &Settings, out: &Output) -> Result<Outcome, CommandError> {
    let located;
    let settings = if uses_state(&command) {
        located = commands::common::locate_state(settings, out, guides(&command)).await?;
        &located
    } else {
        settings
    };
    match command {
        Command::Validate { .. } => commands::validate::run(settings, out),
        Command::Plan {
            out: save,
            json,
            destroy,
            detailed_exitcode,
            ..
        } => {
            let args = commands::plan::PlanArgs {
                save,
                json,
                destroy,
                detailed_exitcode,
            };
            commands::plan::run(settings, out, args).await
        }
        Command::Apply { plan_file, run, .. } => {
            let args = commands::apply::ApplyArgs {
                plan_file,
                json: run.json,
            };
            commands::apply::apply(settings, out, args).await
        }
        Command::Destroy { run, .. } => commands::apply::destroy(settings, out, run.json).await,
        Command::Show { json, .. } => commands::show::run(settings, out, json).await,
        Command::Output { json, .. } => commands::output::run(settings, out, json).await,
        Command::Import {
            address, id, force, ..
        } => commands::import::run(settings, out, address, &id, force).await,
        Command::ForceUnlock { lock_id, force, .. } => {
            commands::unlock::run(settings, out, &lock_id, force).await
        }
        Command::State { command } => commands::state::run(command.action(), settings, out).await,
        Command::Schema => commands::schema::run(out),
        Command::Completions { shell } => commands::completions::run(out, shell, Cli::command()),
        Command::Version => commands::version::run(out),
    }
}
