//! Command line and environment configuration. The `///` comments are the `--help` text.
//! Environment variable names follow Unleash's where Unleash has one.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::store::PoolSettings;

#[derive(Debug, Parser)]
#[command(
    name = "flagpole",
    version,
    about = "An Unleash-compatible feature-flag server"
)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub logging: LogArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default when no command is given).
    Serve(Box<ServeArgs>),
    /// Apply the database migrations and exit.
    Migrate,
    /// Create, list or revoke API tokens directly in the database.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check the audit log's hash chain and report the first broken link (exit status 1).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Create users, reset their passwords, or list them, directly in the database.
    #[command(subcommand)]
    User(UserCommand),
    /// Print the OpenAPI document of the HTTP API (the one served at /docs/openapi.json).
    Openapi,
    /// Write flags and what they need as YAML, for `flagpole apply` (flags in git).
    Export(crate::declarative::ExportArgs),
    /// Make the database match a YAML file of flags (see `flagpole export`).
    Apply(crate::declarative::ApplyArgs),
    /// Copy projects, environments, flags, segments, tag types and context fields from a
    /// running Unleash (over its Admin API) into the database, and print what was copied.
    Import(crate::import::ImportArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database to use: `sqlite:<path>` or `postgres://…`. Defaults to `flagpole.db` in the data
    /// directory. The URL is never logged with its password.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory for the default SQLite database.
    #[arg(long, env = "DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    /// Most connections the pool opens.
    #[arg(long, env = "DATABASE_POOL_MAX", default_value_t = 10, global = true)]
    pub pool_max: u32,

    /// How long a request waits for a free connection before failing with 503, in milliseconds.
    #[arg(
        long,
        env = "DATABASE_ACQUIRE_TIMEOUT_MS",
        default_value_t = 5000,
        global = true
    )]
    pub acquire_timeout_ms: u64,
}

impl DatabaseArgs {
    /// The database URL to connect to, creating the data directory for the SQLite default.
    pub fn url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        std::fs::create_dir_all(&self.data_dir)?;
        Ok(format!(
            "sqlite://{}?mode=rwc",
            self.data_dir.join("flagpole.db").display()
        ))
    }

    pub fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.pool_max.max(1),
            acquire_timeout: Duration::from_millis(self.acquire_timeout_ms),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log filter, e.g. `info` or `flagpole=debug,sqlx=warn`.
    #[arg(long, env = "LOG_LEVEL", default_value = "info", global = true)]
    pub log_level: String,

    /// Log line format: `text`, or `json` (one object per line, with the request id of the
    /// request it belongs to). `FLAGPOLE_LOG_FORMAT` is read as well when this is unset.
    #[arg(long, env = "LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,
}

impl LogArgs {
    /// The format asked for by `--log-format`, `LOG_FORMAT` or `FLAGPOLE_LOG_FORMAT`, in that
    /// order; text when none is set.
    pub fn format(&self) -> anyhow::Result<LogFormat> {
        if let Some(format) = self.log_format {
            return Ok(format);
        }
        match std::env::var("FLAGPOLE_LOG_FORMAT") {
            Ok(value) if !value.trim().is_empty() => LogFormat::from_str(value.trim(), true)
                .map_err(|_| {
                    anyhow::anyhow!("FLAGPOLE_LOG_FORMAT must be text or json, not \"{value}\"")
                }),
            _ => Ok(LogFormat::Text),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Port to listen on. `PORT` is read as well when this is unset.
    #[arg(long, env = "HTTP_PORT")]
    pub port: Option<u16>,

    /// Address to listen on.
    #[arg(long, env = "HTTP_HOST", default_value = "0.0.0.0")]
    pub host: IpAddr,

    /// Admin token secrets to create at start (comma-separated, `*:*.<anything>`). Idempotent.
    #[arg(
        long,
        env = "INIT_ADMIN_API_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub init_admin_api_tokens: Vec<String>,

    /// Client token secrets to create at start (`project:environment.<anything>`). Idempotent.
    /// `INIT_BACKEND_API_TOKENS` is read as well.
    #[arg(
        long,
        env = "INIT_CLIENT_API_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub init_client_api_tokens: Vec<String>,

    /// Frontend token secrets to create at start (`project:environment.<anything>`). Idempotent.
    #[arg(
        long,
        env = "INIT_FRONTEND_API_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub init_frontend_api_tokens: Vec<String>,

    /// Environments the legacy `/api/admin/features` endpoints read and toggle, comma-separated.
    /// Empty (the default) means every environment, like the single on/off switch of Unleash 3.
    #[arg(long, env = "LEGACY_API_ENVIRONMENTS", value_delimiter = ',')]
    pub legacy_api_environments: Vec<String>,

    /// Origins allowed to call the Frontend API from browsers (comma-separated, `*` for any),
    /// until an admin saves a list through `/api/admin/ui-config/cors`.
    #[arg(
        long,
        env = "FRONTEND_API_ORIGINS",
        value_delimiter = ',',
        default_value = "*"
    )]
    pub frontend_api_origins: Vec<String>,

    /// How often to look for changes made by other processes (the CLI, other replicas), in ms.
    #[arg(long, env = "SYNC_INTERVAL_MS", default_value_t = 1000)]
    pub sync_interval_ms: u64,

    /// How often buffered SDK metrics are written to the database, in milliseconds.
    #[arg(long, env = "METRICS_FLUSH_INTERVAL_MS", default_value_t = 5000)]
    pub metrics_flush_interval_ms: u64,

    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    #[command(flatten)]
    pub users: UserArgs,

    #[command(flatten)]
    pub connections: ConnectionArgs,
}

/// Limits that keep slow or stalled clients from holding connections.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Time a client has to send a request's headers, in milliseconds, counted from when the
    /// connection is ready for them: so it is also the idle timeout of kept-alive connections.
    /// A connection that misses it is closed.
    #[arg(long, env = "HTTP_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub http_header_timeout_ms: u64,

    /// Time a client has to send a whole request body, in milliseconds; slower ones get 408.
    #[arg(long, env = "HTTP_BODY_TIMEOUT_MS", default_value_t = 30_000)]
    pub http_body_timeout_ms: u64,

    /// Most connections served at once; further ones wait in the listen queue until one closes.
    /// Keep it below the process's open-file limit (`ulimit -n`).
    #[arg(long, env = "HTTP_MAX_CONNECTIONS", default_value_t = 4096)]
    pub http_max_connections: usize,
}

impl Default for ConnectionArgs {
    fn default() -> Self {
        ConnectionArgs {
            http_header_timeout_ms: 10_000,
            http_body_timeout_ms: 30_000,
            http_max_connections: 4096,
        }
    }
}

/// Users, sign-in sessions and cookies.
#[derive(Debug, Clone, Args)]
pub struct UserArgs {
    /// Username of the first Admin user, created at the first start (when no user has ever
    /// existed) together with `UNLEASH_DEFAULT_ADMIN_PASSWORD`. Without them the first start
    /// creates `admin` with a random password and logs it once.
    #[arg(long, env = "UNLEASH_DEFAULT_ADMIN_USERNAME")]
    pub default_admin_username: Option<String>,

    /// Password of that first Admin user; it must meet the password policy. Prefer the
    /// environment variable to the flag, which other local users can see.
    #[arg(long, env = "UNLEASH_DEFAULT_ADMIN_PASSWORD", hide_env_values = true)]
    pub default_admin_password: Option<String>,

    /// A sign-in session ends after this many seconds without a request.
    #[arg(long, env = "SESSION_IDLE_TIMEOUT_SECONDS", default_value_t = 8 * 3600)]
    pub session_idle_timeout_seconds: u64,

    /// A sign-in session ends this many seconds after it began, however active.
    #[arg(long, env = "SESSION_MAX_AGE_SECONDS", default_value_t = 48 * 3600)]
    pub session_max_age_seconds: u64,

    /// Mark session cookies `Secure` on every response (set when users reach Flagpole over
    /// HTTPS, e.g. through a TLS-terminating proxy that sends no `X-Forwarded-Proto`).
    #[arg(long, env = "SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Flagpole is behind a reverse proxy that sets `X-Forwarded-Proto` and `X-Forwarded-For`:
    /// trust them for the `Secure` cookie flag and the client address of the sign-in limit.
    /// Leave off when clients reach Flagpole directly, or they could forge those headers.
    #[arg(long, env = "TRUST_PROXY")]
    pub trust_proxy: bool,
}

impl Default for UserArgs {
    fn default() -> Self {
        UserArgs {
            default_admin_username: None,
            default_admin_password: None,
            session_idle_timeout_seconds: 8 * 3600,
            session_max_age_seconds: 48 * 3600,
            secure_cookies: false,
            trust_proxy: false,
        }
    }
}

impl UserArgs {
    pub fn session_settings(&self) -> crate::auth::session::SessionSettings {
        crate::auth::session::SessionSettings {
            idle_timeout: Duration::from_secs(self.session_idle_timeout_seconds.max(1)),
            max_age: Duration::from_secs(self.session_max_age_seconds.max(1)),
            secure_cookies: self.secure_cookies,
            trust_proxy: self.trust_proxy,
        }
    }

    /// The configured first admin, if both parts are given; an error if only one is.
    pub fn default_admin(&self) -> anyhow::Result<Option<(String, String)>> {
        match (&self.default_admin_username, &self.default_admin_password) {
            (Some(username), Some(password)) => Ok(Some((username.clone(), password.clone()))),
            (None, None) => Ok(None),
            _ => anyhow::bail!(
                "set both UNLEASH_DEFAULT_ADMIN_USERNAME and UNLEASH_DEFAULT_ADMIN_PASSWORD, or neither"
            ),
        }
    }
}

impl ServeArgs {
    /// The serve options as given by environment variables alone (for `flagpole` with no command).
    pub fn default_from_env() -> anyhow::Result<ServeArgs> {
        use clap::FromArgMatches;
        let command = ServeArgs::augment_args(clap::Command::new("serve"));
        let matches = command.try_get_matches_from(["serve"])?;
        Ok(ServeArgs::from_arg_matches(&matches)?)
    }

    pub fn port(&self) -> u16 {
        self.port
            .or_else(|| std::env::var("PORT").ok()?.parse().ok())
            .unwrap_or(4242)
    }

    /// Client tokens from `INIT_CLIENT_API_TOKENS` and its alias `INIT_BACKEND_API_TOKENS`.
    pub fn init_client_tokens(&self) -> Vec<String> {
        let mut secrets = self.init_client_api_tokens.clone();
        if let Ok(backend) = std::env::var("INIT_BACKEND_API_TOKENS") {
            secrets.extend(backend.split(',').map(str::to_owned));
        }
        secrets
            .into_iter()
            .map(|secret| secret.trim().to_owned())
            .filter(|secret| !secret.is_empty())
            .collect()
    }
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the chain from the first event to the newest; print the head hash to record it.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (shown only this once).
    Create {
        /// A name to recognise the token by; it appears in the audit log.
        #[arg(long)]
        name: String,
        /// admin, client (alias backend) or frontend.
        #[arg(long = "type", default_value = "client")]
        token_type: String,
        /// Projects the token may read (repeat or comma-separate); `*` for all.
        #[arg(long, value_delimiter = ',', default_value = "*")]
        projects: Vec<String>,
        /// Environment the token reads (default: development); admin tokens cover all (`*`).
        #[arg(long)]
        environment: Option<String>,
        /// Expiry as an RFC 3339 timestamp, e.g. 2027-01-01T00:00:00Z.
        #[arg(long)]
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// List tokens (secrets are never shown again; only their prefix).
    List,
    /// Revoke the token with this secret.
    Revoke {
        /// The full secret.
        secret: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input with `--password-stdin`, or
    /// generated and printed (shown only this once).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// The person's name.
        #[arg(long)]
        name: Option<String>,
        /// admin, editor or viewer.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password for a user (by username or email) and end their sessions. A random
    /// one is printed (shown only this once) unless `--password-stdin` is given.
    ResetPassword {
        /// Username or email.
        user: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users (never their passwords).
    List,
}

/// Redacts the password in a database URL for logs and error messages.
pub fn redact_database_url(url: &str) -> String {
    let (url, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let query = query.map(|query| {
        query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    let redacted = redact_credentials(url);
    match query {
        Some(query) => format!("{redacted}?{query}"),
        None => redacted,
    }
}

fn redact_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = credentials.split(':').next().unwrap_or_default();
    if credentials.contains(':') {
        format!("{scheme}://{user}:***@{host}")
    } else {
        format!("{scheme}://{user}@{host}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration reference is checked against the command-line definition: every
    /// environment variable, and every flag that has none, is named in it.
    #[test]
    fn every_option_is_documented() {
        use clap::CommandFactory;
        const REFERENCE: &str = include_str!("../../../docs/configuration.md");
        fn undocumented(command: &clap::Command, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let env = arg.get_env().and_then(|env| env.to_str());
                let name = match (env, arg.get_long()) {
                    (Some(env), _) => format!("`{env}`"),
                    (None, Some(long)) if long != "help" && long != "version" => {
                        format!("--{long}")
                    }
                    _ => continue,
                };
                if !REFERENCE.contains(&name) {
                    missing.push(format!("{} {name}", command.get_name()));
                }
            }
            for subcommand in command.get_subcommands() {
                undocumented(subcommand, missing);
            }
        }
        let mut missing = Vec::new();
        undocumented(&Cli::command(), &mut missing);
        assert!(
            missing.is_empty(),
            "not in docs/configuration.md: {missing:?}"
        );
    }

    #[test]
    fn database_url_passwords_are_redacted() {
        assert_eq!(
            redact_database_url("postgres://app:hunter2@db:5432/flags"),
            "postgres://app:***@db:5432/flags"
        );
        assert_eq!(
            redact_database_url("postgres://app@db/flags"),
            "postgres://app@db/flags"
        );
        assert_eq!(
            redact_database_url("sqlite://data/flagpole.db?mode=rwc"),
            "sqlite://data/flagpole.db?mode=rwc"
        );
        assert_eq!(
            redact_database_url("postgres://app@db/flags?sslmode=require&password=s3cret"),
            "postgres://app@db/flags?sslmode=require&password=***"
        );
    }
}
