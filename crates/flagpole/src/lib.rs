//! Flagpole: an Unleash-compatible feature-flag server.
//!
//! A request travels through these modules, outside in:
//! - `config`: command line and environment (clap); `cli`: the non-server commands.
//! - `declarative`: the YAML format of `flagpole export` / `flagpole apply` and its plans.
//! - `config`: command line and environment (clap); `cli`: the non-server commands;
//!   `import`: reading a running Unleash for `flagpole import --from-unleash`.
//! - `app`: state, router assembly, server lifecycle; `connections`: the accept loop and its
//!   limits against slow or stalled clients.
//! - `api`: HTTP handlers per Unleash API surface; extract, call `domain`, serialise.
//! - `auth`: tokens and the extractors that decide who may call what.
//! - `domain`: the rules. Builds each change against the snapshot and commits it with its audit
//!   events through `Core::change`.
//! - `client_view`: the Client API body per token scope, serialised once per snapshot.
//! - `delta`: changes between snapshots per scope, for the delta API and streaming.
//! - `snapshot`: the in-memory view every read is served from, swapped atomically.
//! - `store`: SQLite or PostgreSQL; documents, the global revision and the audit log.
//! - `error`: the one place errors become HTTP responses.
//! - `observability`: Prometheus metrics and request ids.
//! - `fuzzing`: the bodies of the fuzz targets in `fuzz/`, replayed by a stable test.
//!
//! `flagpole-eval` (a separate crate, no I/O) holds the wire types and the evaluation engine.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod client_view;
pub mod config;
pub mod connections;
pub mod declarative;
pub mod delta;
pub mod domain;
pub mod error;
pub mod fuzzing;
pub mod import;
pub mod observability;
pub mod snapshot;
pub mod store;
pub mod ui;

use config::{Cli, Command, LogFormat};
use tracing_subscriber::EnvFilter;

/// Sets up logging as configured. Safe to call more than once (later calls do nothing).
pub fn init_tracing(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Runs the command the user asked for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    init_tracing(&cli.logging.log_level, cli.logging.format()?);
    match cli.command {
        None => serve(&cli.database, &config::ServeArgs::default_from_env()?).await,
        Some(Command::Serve(args)) => serve(&cli.database, &args).await,
        Some(Command::Migrate) => cli::migrate(&cli.database).await,
        Some(Command::Token(command)) => {
            println!("{}", cli::token(&cli.database, command).await?);
            Ok(())
        }
        Some(Command::Audit(config::AuditCommand::Verify)) => {
            let (report, valid) = cli::audit_verify(&cli.database).await?;
            println!("{report}");
            if !valid {
                std::process::exit(1);
            }
            Ok(())
        }
        Some(Command::User(command)) => {
            println!("{}", cli::user(&cli.database, command).await?);
            Ok(())
        }
        Some(Command::Openapi) => {
            println!("{}", api::openapi::document().to_pretty_json()?);
            Ok(())
        }
        Some(Command::Export(args)) => cli::export(&cli.database, args).await,
        Some(Command::Apply(args)) => cli::apply(&cli.database, args).await,
        Some(Command::Import(args)) => {
            println!("{}", import::run(&cli.database, &args).await?);
            Ok(())
        }
    }
}

async fn serve(database: &config::DatabaseArgs, args: &config::ServeArgs) -> anyhow::Result<()> {
    let server = app::Server::build(database, args).await?;
    server.run_until(app::shutdown_signal()).await
}
