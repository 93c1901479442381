//! The non-server commands: `migrate`, `token create|list|revoke`, `user
//! create|reset-password|list`, `export`/`apply`, `import` and `audit verify`, working directly on
//! the database so that operators can bootstrap and script without a running server.

use chrono::Utc;

use crate::auth::password;
use crate::auth::policy::Role;
use crate::auth::token::Secret;
use crate::auth::Actor;
use crate::config::{redact_database_url, DatabaseArgs, TokenCommand, UserCommand};
use crate::declarative::{self, ApplyArgs, ExportArgs};
use crate::domain::tokens::{self, CreateToken};
use crate::domain::users::{self, NewUser};
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
/// Changes made by the command line are attributed to this actor.
fn cli_actor() -> Actor {
    Actor {
        name: "flagpole-cli".into(),
        user_id: -1337,
    }
}

pub async fn token(database: &DatabaseArgs, command: TokenCommand) -> anyhow::Result<String> {
    let url = database.url()?;
    let core = Core::open(&url, &database.pool_settings()).await?;
    let actor = cli_actor();
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
            // The command line acts with the database's own authority, as an Admin would.
            let (_, secret) = tokens::create(&core, &actor, Role::Admin, input)
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
            let revoked = tokens::revoke(&core, &actor, Role::Admin, &Secret::new(secret))
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

/// `flagpole export`: the flags as YAML, on standard output or in a file.
pub async fn export(database: &DatabaseArgs, args: ExportArgs) -> anyhow::Result<()> {
    let core = Core::open(&database.url()?, &database.pool_settings()).await?;
    let snapshot = core
        .fresh()
        .await
        .map_err(|e| anyhow::anyhow!(e.describe()));
    core.store.close().await;
    let snapshot = snapshot?;
    let document = declarative::export(&snapshot, &args.projects).map_err(anyhow::Error::msg)?;
    let yaml = declarative::to_yaml(&document)?;
    match &args.output {
        Some(path) => std::fs::write(path, yaml)
            .map_err(|error| anyhow::anyhow!("cannot write {}: {error}", path.display()))?,
        None => print!("{yaml}"),
    }
    Ok(())
}

/// `flagpole apply`: prints the plan, then applies it in one change (or, with `--dry-run`,
/// exits with 2 when there is something to do). A refused file changes nothing.
pub async fn apply(database: &DatabaseArgs, args: ApplyArgs) -> anyhow::Result<()> {
    let (source, text) = if args.file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        ("<stdin>".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(&args.file)
            .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", args.file.display()))?;
        (args.file.display().to_string(), text)
    };
    let document = declarative::parse(&source, &text).map_err(anyhow::Error::msg)?;
    let core = Core::open(&database.url()?, &database.pool_settings()).await?;
    let options = declarative::PlanOptions { prune: args.prune };
    let outcome = declarative::apply(&core, &document, options, args.dry_run).await;
    core.store.close().await;
    let outcome = outcome.map_err(|error| {
        anyhow::anyhow!("{source}: refused, nothing changed: {}", error.describe())
    })?;
    print!("{}", outcome.plan.render());
    if outcome.plan.is_empty() {
        println!("no changes");
    } else if args.dry_run {
        println!(
            "dry run: {} (nothing was changed)",
            outcome.plan.summary("future")
        );
        std::process::exit(declarative::EXIT_CHANGES_PENDING);
    } else {
        println!("applied: {}", outcome.plan.summary("past"));
    }
    Ok(())
}

/// The first line of standard input, without its line ending.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        anyhow::bail!("no password on standard input");
    }
    Ok(password)
}

/// Runs a user command and returns what to print. A generated password is part of the output,
/// the only time it is shown.
pub async fn user(database: &DatabaseArgs, command: UserCommand) -> anyhow::Result<String> {
    let url = database.url()?;
    let core = Core::open(&url, &database.pool_settings()).await?;
    let actor = cli_actor();
    let describe = |error: crate::error::ApiError| anyhow::anyhow!(error.describe());
    let output = match command {
        UserCommand::Create {
            username,
            email,
            name,
            role,
            password_stdin,
        } => {
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("--role must be admin, editor or viewer"))?;
            let new = NewUser::validate(Some(username), email, name, role).map_err(describe)?;
            let (password, generated) = if password_stdin {
                (password_from_stdin()?, false)
            } else {
                (password::generate(), true)
            };
            let user = users::create(&core, &actor, new, Some(password.clone()))
                .await
                .map_err(describe)?;
            let created = format!(
                "created user {} (id {}, {})",
                user.display_name(),
                user.id,
                user.root_role
            );
            if generated {
                format!("{created}\npassword: {password}")
            } else {
                created
            }
        }
        UserCommand::ResetPassword {
            user,
            password_stdin,
        } => {
            let snapshot = core.snapshot.current();
            let found = users::find_by_login(&snapshot, &user)
                .ok_or_else(|| anyhow::anyhow!("no user has the username or email {user}"))?;
            let (password, generated) = if password_stdin {
                (password_from_stdin()?, false)
            } else {
                (password::generate(), true)
            };
            users::set_password(&core, &actor, found.value.id, password.clone())
                .await
                .map_err(describe)?;
            let done = format!(
                "password of {} changed; their sessions have ended",
                found.value.display_name()
            );
            if generated {
                format!("{done}\npassword: {password}")
            } else {
                done
            }
        }
        UserCommand::List => {
            let snapshot = core.snapshot.current();
            let mut lines = vec![format!(
                "{:<6} {:<24} {:<32} {:<24} {}",
                "ID", "USERNAME", "EMAIL", "NAME", "ROLE"
            )];
            for user in snapshot.users.values().map(|u| &u.value) {
                lines.push(format!(
                    "{:<6} {:<24} {:<32} {:<24} {}",
                    user.id,
                    user.username.as_deref().unwrap_or("-"),
                    user.email.as_deref().unwrap_or("-"),
                    user.name.as_deref().unwrap_or("-"),
                    user.root_role
                ));
            }
            lines.join("\n")
        }
    };
    core.store.close().await;
    Ok(output)
}
