//! The command line: clap definitions, resolution into settings, and the
//! commands themselves. This is the edge: errors become `anyhow` here, with
//! the exit codes Terraform users expect (0 success, 1 error, 2 changes
//! present with `plan --detailed-exitcode`).

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};

use crate::apply::{self, ApplyOptions, Ledger};
use crate::config::{self, Config};
use crate::model::DesiredResource;
use crate::output::{Output, Reporter};
use crate::plan::{self, Plan};
use crate::providers::atlas::{AtlasClient, ClientOptions};
use crate::providers::clouds::Connection;
use crate::providers::{Clouds, Provider};
use crate::state::{LocalBackend, LockMode, StateBackend, StateFile, StateStore};
use crate::wait::WaitPolicy;

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
#[command(name = "privlink", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Never colour the output (also: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Args, Clone)]
pub struct FileArgs {
    /// The desired-state file.
    #[arg(short = 'f', long = "file", default_value = "privlink.yaml")]
    pub file: PathBuf,
    /// The state file [default: state/<file stem>.state.json].
    #[arg(long)]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// How many steps may be calling Atlas or AWS at once (a step waiting
    /// between polls does not count, so any number of endpoints can wait
    /// side by side).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// How long any one wait on Atlas or AWS may take (e.g. 30m, 90s).
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would change, reading live Atlas and AWS.
    Plan {
        #[command(flatten)]
        files: FileArgs,
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
    },
    /// Converge Atlas and AWS to the file (or carry out a saved plan).
    Apply {
        /// A plan saved by `privlink plan --out FILE`.
        plan_file: Option<PathBuf>,
        #[command(flatten)]
        files: FileArgs,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Delete everything in state, in dependency order.
    Destroy {
        #[command(flatten)]
        files: FileArgs,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Check the file without calling any API.
    Validate {
        #[command(flatten)]
        files: FileArgs,
    },
    /// Show the state file.
    Show {
        #[command(flatten)]
        files: FileArgs,
        /// Print the raw state as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the private-endpoint connection strings Atlas has for the file's deployments.
    Output {
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
        #[command(flatten)]
        files: FileArgs,
    },
    /// Remove a lock left by a run that is gone.
    ForceUnlock {
        /// The lock id, as printed by the run that found the state locked.
        lock_id: String,
        #[command(flatten)]
        files: FileArgs,
    },
}

/// Parses the command line, runs it, and returns the process exit code.
pub fn main() -> i32 {
    // Reads FAILPOINTS from the environment in builds with the `failpoints`
    // feature; does nothing otherwise.
    let _failpoints = fail::FailScenario::setup();
    let cli = Cli::parse();
    let out = Output::new(cli.no_color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            out.error(&format!("cannot start the async runtime: {e}"), &[], None);
            return 1;
        }
    };
    match runtime.block_on(run(cli, out)) {
        Ok(code) => code,
        Err(e) => {
            let causes: Vec<String> = e.chain().skip(1).map(|c| c.to_string()).collect();
            out.error(&e.to_string(), &causes, None);
            1
        }
    }
}

/// Where the state is kept: the one place that picks the backend.
fn state_backend(files: &FileArgs) -> Arc<dyn StateBackend> {
    let path = files
        .state
        .clone()
        .unwrap_or_else(|| LocalBackend::default_path(&files.file));
    Arc::new(LocalBackend::new(path))
}

fn load_config(files: &FileArgs) -> Result<(Config, Vec<DesiredResource>)> {
    let config = config::load(&files.file)?;
    let desired = plan::expand(&config);
    Ok((config, desired))
}

fn clouds(timeout: Duration) -> Result<Arc<Clouds>> {
    let atlas = AtlasClient::from_env(ClientOptions::default())?;
    let policy = WaitPolicy {
        timeout,
        ..WaitPolicy::default()
    };
    Ok(Arc::new(Clouds::new(atlas, policy)))
}

async fn run(cli: Cli, out: Output) -> Result<i32> {
    match cli.command {
        Command::Validate { files } => {
            let (config, desired) = load_config(&files)?;
            let probe = Plan {
                format: plan::PLAN_FORMAT,
                stack: config.stack.clone(),
                lineage: String::new(),
                serial: 0,
                destroy: false,
                changes: desired
                    .iter()
                    .map(|d| plan::Change {
                        address: d.address.clone(),
                        kind: d.kind,
                        action: plan::Action::Create,
                        reasons: vec![],
                        id: None,
                        before: None,
                        // The graph needs addresses and dependencies only.
                        after: None,
                        changed: vec![],
                        forces_replacement: vec![],
                        depends_on: d.depends_on.clone(),
                        resume: false,
                        drift: None,
                    })
                    .collect(),
            };
            crate::graph::ActionGraph::build(&probe)?;
            out.out(&format!(
                "{} is valid: stack \"{}\", {} endpoint(s), {} resource(s).\n",
                files.file.display(),
                config.stack,
                config.endpoints.len(),
                desired.len()
            ));
            Ok(0)
        }
        Command::Plan {
            files,
            out: save,
            json,
            destroy,
            detailed_exitcode,
        } => {
            let (config, desired) = load_config(&files)?;
            let backend = state_backend(&files);
            let state = backend
                .load()
                .await?
                .unwrap_or_else(|| StateFile::new(config.stack.clone()));
            let clouds = clouds(Duration::from_secs(1800))?;
            let live = clouds.refresh(&state, &desired).await?;
            let plan = if destroy {
                plan::destroy(&state, &live)
            } else {
                plan::diff(&desired, &state, &live)?
            };
            if json {
                out.out(&format!("{}\n", serde_json::to_string_pretty(&plan)?));
            } else {
                out.plan(&plan);
            }
            if let Some(save) = save {
                write_private(&save, serde_json::to_string_pretty(&plan)?.as_bytes())
                    .with_context(|| format!("saving the plan to {}", save.display()))?;
                out.note(&format!(
                    "Saved the plan to {}; apply exactly this plan with: privlink apply {}",
                    save.display(),
                    save.display()
                ));
            }
            Ok(if detailed_exitcode && !plan.is_empty() {
                2
            } else {
                0
            })
        }
        Command::Apply {
            plan_file,
            files,
            run,
        } => {
            if let Some(plan_file) = plan_file {
                let text = std::fs::read_to_string(&plan_file)
                    .with_context(|| format!("reading the plan {}", plan_file.display()))?;
                let plan: Plan = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a privlink plan", plan_file.display()))?;
                if plan.format != plan::PLAN_FORMAT {
                    bail!(
                        "{} has plan format {}, this privlink reads {}",
                        plan_file.display(),
                        plan.format,
                        plan::PLAN_FORMAT
                    );
                }
                let (store, state) = StateStore::open(
                    state_backend(&files),
                    &plan.stack,
                    LockMode::Exclusive { operation: "apply" },
                )
                .await?;
                apply::check_fresh(&plan, &state)?;
                let clouds = clouds(run.timeout)?;
                // A saved plan was reviewed already: it needs no confirmation.
                return execute(plan, &clouds, store, state, &run, out).await;
            }
            let (config, desired) = load_config(&files)?;
            let (store, state) = StateStore::open(
                state_backend(&files),
                &config.stack,
                LockMode::Exclusive { operation: "apply" },
            )
            .await?;
            let clouds = clouds(run.timeout)?;
            let live = clouds.refresh(&state, &desired).await?;
            let plan = plan::diff(&desired, &state, &live)?;
            out.plan(&plan);
            if plan.is_empty() {
                return Ok(0);
            }
            if !confirm(&run, "apply", &out)? {
                return Ok(1);
            }
            let code = execute(plan, &clouds, store, state, &run, out).await?;
            if code == 0 {
                match connections(&clouds, &config).await {
                    Ok(conns) => out.out(&render_connections(&conns)),
                    Err(e) => out.note(&format!("could not read connection strings: {e}")),
                }
            }
            Ok(code)
        }
        Command::Destroy { files, run } => {
            let config = config::load(&files.file)?;
            let (store, state) = StateStore::open(
                state_backend(&files),
                &config.stack,
                LockMode::Exclusive {
                    operation: "destroy",
                },
            )
            .await?;
            let clouds = clouds(run.timeout)?;
            let live = clouds.refresh(&state, &[]).await?;
            let plan = plan::destroy(&state, &live);
            out.plan(&plan);
            if plan.is_empty() {
                return Ok(0);
            }
            if !confirm(&run, "destroy", &out)? {
                return Ok(1);
            }
            execute(plan, &clouds, store, state, &run, out).await
        }
        Command::Show { files, json } => {
            let backend = state_backend(&files);
            let Some(state) = backend.load().await? else {
                out.out(&format!("No state at {}.\n", backend.location()));
                return Ok(0);
            };
            if json {
                out.out(&format!("{}\n", serde_json::to_string_pretty(&state)?));
            } else {
                let mut text = format!(
                    "state {} (stack \"{}\", serial {}, lineage {})\n",
                    backend.location(),
                    state.stack,
                    state.serial,
                    state.lineage
                );
                for (a, r) in &state.resources {
                    text.push_str(&format!(
                        "  {a}  {}  {}  {:?}\n",
                        r.kind,
                        r.id.as_deref().unwrap_or("-"),
                        r.status
                    ));
                }
                out.out(&text);
            }
            Ok(0)
        }
        Command::Output { files, json } => {
            let (config, _) = load_config(&files)?;
            let clouds = clouds(Duration::from_secs(60))?;
            let conns = connections(&clouds, &config).await?;
            if json {
                out.out(&format!("{}\n", serde_json::to_string_pretty(&conns)?));
            } else {
                out.out(&render_connections(&conns));
            }
            Ok(0)
        }
        Command::Import { address, id, files } => {
            let (config, desired) = load_config(&files)?;
            let (mut store, mut state) = StateStore::open(
                state_backend(&files),
                &config.stack,
                LockMode::Exclusive {
                    operation: "import",
                },
            )
            .await?;
            let clouds = clouds(Duration::from_secs(60))?;
            let address = crate::model::Address::new(address);
            crate::import::import(clouds.as_ref(), &desired, &mut state, &address, &id).await?;
            store.write(&mut state).await?;
            store.close().await?;
            out.out(&format!(
                "Imported {id} as {address}. Run privlink plan to see what differs from the file.\n"
            ));
            Ok(0)
        }
        Command::ForceUnlock { lock_id, files } => {
            let backend = state_backend(&files);
            backend.force_unlock(&lock_id).await?;
            out.out(&format!(
                "Removed lock {lock_id} from {}.\n",
                backend.location()
            ));
            Ok(0)
        }
    }
}

fn confirm(run: &RunArgs, verb: &str, out: &Output) -> Result<bool> {
    if run.auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(anyhow!(
            "{verb} needs confirmation, and there is no terminal to ask: nothing was changed; pass --auto-approve to {verb} without asking"
        ));
    }
    out.out(&format!(
        "\nDo you want to {verb} these changes? Only 'yes' will be accepted.\n  Enter a value: "
    ));
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if line.trim() == "yes" {
        Ok(true)
    } else {
        out.out(&format!("{verb} cancelled: nothing was changed.\n"));
        Ok(false)
    }
}

async fn execute(
    plan: Plan,
    clouds: &Arc<Clouds>,
    store: StateStore,
    state: StateFile,
    run: &RunArgs,
    out: Output,
) -> Result<i32> {
    let started = Instant::now();
    let summary = plan.summary();
    let destroy = plan.destroy;
    let ledger = Arc::new(tokio::sync::Mutex::new(Ledger::new(store, state)));
    let outcome = apply::apply(
        Arc::new(plan),
        clouds.clone(),
        ledger,
        ApplyOptions {
            parallelism: usize::from(run.parallelism),
        },
        Arc::new(Reporter::default()),
    )
    .await?;
    out.apply_summary(&outcome, summary, destroy, started.elapsed());
    Ok(if outcome.is_success() { 0 } else { 1 })
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// The connection strings of the deployments the file's endpoints serve.
async fn connections(clouds: &Clouds, config: &Config) -> Result<Vec<Connection>> {
    let mut instances: Vec<String> = Vec::new();
    let mut dedicated = false;
    for e in config.endpoints.values() {
        match &e.atlas.flow {
            config::AtlasFlow::Serverless { instance } => {
                if !instances.contains(instance) {
                    instances.push(instance.clone());
                }
            }
            config::AtlasFlow::Dedicated => dedicated = true,
        }
    }
    Ok(clouds
        .connections(&config.atlas.project_id, &instances, dedicated)
        .await?)
}

fn render_connections(conns: &[Connection]) -> String {
    let mut text = String::new();
    if conns.is_empty() {
        return text;
    }
    text.push_str("\nPrivate-endpoint connection strings:\n");
    for c in conns {
        if c.connection_strings.is_empty() {
            text.push_str(&format!(
                "  {}: not available yet (Atlas adds them once an endpoint is AVAILABLE and the deployment is configured; run privlink output later)\n",
                c.deployment
            ));
        }
        for s in &c.connection_strings {
            text.push_str(&format!("  {}: {s}\n", c.deployment));
        }
    }
    text
}
