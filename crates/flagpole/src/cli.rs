//! The non-server commands: `migrate` and `token create|list|revoke`, working directly on the
//! database so that operators can bootstrap and script without a running server.

use chrono::Utc;

use crate::auth::token::Secret;
use crate::auth::Actor;
use crate::config::{redact_database_url, DatabaseArgs, TokenCommand};
use crate::domain::tokens::{self, CreateToken};
use crate::domain::Core;
use crate::store::Store;

pub async fn migrate(database: &DatabaseArgs) -> anyhow::Result<()> {
    let url = database.url()?;
    Store::open(&url, &database.pool_settings())
        .await?
        .close()
        .await;
    println!("migrations applied to {}", redact_database_url(&url));
    Ok(())
}

/// Checks the audit log's hash chain; returns what to print and whether it holds.
pub async fn audit_verify(database: &DatabaseArgs) -> anyhow::Result<(String, bool)> {
    let url = database.url()?;
    let store = Store::open(&url, &database.pool_settings()).await?;
    let report = store.verify_audit_chain().await?;
    store.close().await;
    let text = match &report.first_broken_link {
        None => format!(
            "audit log intact: {} events, head {}",
            report.events_checked, report.head
        ),
        Some(link) => format!(
            "audit log BROKEN at event {}: {} ({} events before it are intact, ending at {})",
            link.event_id, link.reason, report.events_checked, report.head
        ),
    };
    Ok((text, report.valid))
}

/// Runs a token command and returns what to print.
pub async fn token(database: &DatabaseArgs, command: TokenCommand) -> anyhow::Result<String> {
    let url = database.url()?;
    let core = Core::open(&url, &database.pool_settings()).await?;
    let actor = Actor {
        name: "flagpole-cli".into(),
        user_id: -1337,
    };
    let output = match command {
        TokenCommand::Create {
            name,
            token_type,
            projects,
            environment,
            expires_at,
        } => {
            let input = CreateToken {
                token_name: Some(name),
                username: None,
                token_type,
                environment,
                project: None,
                projects: Some(projects),
                expires_at,
            };
            let (_, secret) = tokens::create(&core, &actor, input)
                .await
                .map_err(|error| anyhow::anyhow!(error.describe()))?;
            secret.expose().to_owned()
        }
        TokenCommand::List => {
            let snapshot = core.snapshot.current();
            let mut list: Vec<_> = snapshot.tokens.values().map(|t| t.value.clone()).collect();
            list.sort_by_key(|t| t.created_at);
            let now = Utc::now();
            let mut lines = vec![format!(
                "{:<24} {:<9} {:<28} {:<12} {}",
                "NAME", "TYPE", "PROJECTS", "ENVIRONMENT", "SECRET"
            )];
            for token in list {
                let expired = if token.is_expired(now) {
                    " (expired)"
                } else {
                    ""
                };
                lines.push(format!(
                    "{:<24} {:<9} {:<28} {:<12} {}{expired}",
                    token.token_name,
                    token.token_type.as_str(),
                    token.projects.join(","),
                    token.environment,
                    token.secret_prefix
                ));
            }
            lines.join("\n")
        }
        TokenCommand::Revoke { secret } => {
            let revoked = tokens::revoke(&core, &actor, &Secret::new(secret))
                .await
                .map_err(|error| anyhow::anyhow!(error.describe()))?;
            if revoked {
                "revoked".to_owned()
            } else {
                anyhow::bail!("no token has that secret")
            }
        }
    };
    core.store.close().await;
    Ok(output)
}
