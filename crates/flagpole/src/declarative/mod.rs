//! Declarative flags: `flagpole export` writes the flags (and the projects, environments,
//! segments, context fields and tag types they need) as a YAML document, and `flagpole apply`
//! makes the database match one. The document format is in `format`; `convert` turns stored
//! documents into it and back; `plan` works out what an apply changes, and is what both
//! `--dry-run` prints and the one `Core::change` of a real apply commits.

pub mod convert;
pub mod format;
pub mod plan;

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;

pub use format::Document;
pub use plan::{Plan, PlanOptions};

use crate::auth::Actor;
use crate::domain::Core;
use crate::error::ApiError;
use crate::snapshot::Snapshot;

/// Who `flagpole apply` changes are attributed to in the audit log.
pub const ACTOR_NAME: &str = "flagpole-apply";

/// Exit code of `flagpole apply --dry-run` when the file differs from the database.
pub const EXIT_CHANGES_PENDING: i32 = 2;

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Only flags of this project (repeat for several); all projects when left out.
    #[arg(long = "project", value_name = "PROJECT")]
    pub projects: Vec<String>,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// The YAML file to apply (`-` reads standard input).
    pub file: PathBuf,
    /// Print what would change and change nothing. Exits with 2 when something would change.
    #[arg(long)]
    pub dry_run: bool,
    /// Also archive the flags of the file's projects that the file does not list.
    #[arg(long)]
    pub prune: bool,
}

/// Reads a document, refusing bad YAML with its line and column, unknown fields and
/// unsupported versions.
pub fn parse(source: &str, text: &str) -> Result<Document, String> {
    // The file is the operator's own, so the parser's default size budget (sized for untrusted
    // input) is raised to fit tens of thousands of flags.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 20_000_000;
    budget.max_events = 40_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    let document: Document =
        serde_saphyr::from_str_with_options(text, options).map_err(|error| {
            let message = error.to_string();
            match error.location() {
                Some(location) if !message.contains("line") => format!(
                    "{source}: line {}, column {}: {message}",
                    location.line(),
                    location.column()
                ),
                _ => format!("{source}: {message}"),
            }
        })?;
    if document.version != format::VERSION {
        return Err(format!(
            "{source}: unsupported version {}; this Flagpole reads version {}",
            document.version,
            format::VERSION
        ));
    }
    Ok(document)
}

/// The YAML text of a document, with a header saying what it is.
pub fn to_yaml(document: &Document) -> anyhow::Result<String> {
    let body = serde_saphyr::to_string(document)?;
    Ok(format!(
        "# Flagpole flags (format version {}). Apply with: flagpole apply <this file>\n{body}",
        format::VERSION
    ))
}

/// The document describing the live flags of the given projects (all when empty).
pub fn export(snapshot: &Snapshot, projects: &[String]) -> Result<Document, String> {
    let wanted: BTreeSet<&str> = projects.iter().map(String::as_str).collect();
    for project in &wanted {
        if !snapshot.projects.contains_key(*project) {
            return Err(format!("there is no project \"{project}\""));
        }
    }
    Ok(convert::export(snapshot, &wanted))
}

/// What `flagpole apply` did or would do.
pub struct ApplyOutcome {
    pub plan: Plan,
    /// False for a dry run, and when there was nothing to do.
    pub applied: bool,
}

/// Plans the document against the database and, unless `dry_run`, commits the plan in one
/// change with its audit events.
pub async fn apply(
    core: &Core,
    document: &Document,
    options: PlanOptions,
    dry_run: bool,
) -> Result<ApplyOutcome, ApiError> {
    if dry_run {
        let snapshot = core.fresh().await?;
        let plan = plan::plan(&snapshot, document, &options, ACTOR_NAME)?;
        return Ok(ApplyOutcome {
            plan,
            applied: false,
        });
    }
    let actor = Actor {
        name: ACTOR_NAME.into(),
        user_id: -1337,
    };
    let plan = core
        .change(&actor, |snapshot, changes| {
            let mut plan = plan::plan(snapshot, document, &options, ACTOR_NAME)?;
            plan.record(changes)?;
            Ok(plan)
        })
        .await?;
    let applied = !plan.is_empty();
    Ok(ApplyOutcome { plan, applied })
}
