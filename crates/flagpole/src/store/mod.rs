//! Persistence. One `Store` speaks to SQLite (the embedded default) or PostgreSQL with the same
//! SQL; the few dialect differences live in the migrations. No HTTP and no business rules here.
//!
//! The data model is deliberately small: every aggregate is a JSON document in `document`, written
//! whole with optimistic concurrency (`expected_revision`), and every commit also appends its audit
//! events and bumps the single global revision, all in one transaction. Replicas and the in-memory
//! snapshot catch up by reading documents whose revision is newer than theirs.

pub mod audit_chain;
mod commit;
mod events;
mod metrics;
mod sessions;
mod sqlite_writer;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::Once;
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Arguments, Executor, Row};

pub use events::{EventQuery, EventRecord, NewEvent};
pub use metrics::{
    ApplicationRow, Counts, MetricKey, MetricsBatch, PostKey, Registration, UsageRow,
};
pub use sessions::SessionRow;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A document changed (or appeared) since it was read; the caller retries on fresh state.
    #[error("concurrent modification")]
    Conflict,
    /// Another process committed after the state a change was built on (`Store::commit` with an
    /// expected base); nothing was written. `latest` is the newest revision committed before.
    #[error("the change was built on stale state")]
    Stale { latest: i64 },
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error.to_string()),
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            sqlx::Error::Database(db) if db.code().is_some_and(|code| is_outage(&code)) => {
                StoreError::Unavailable(error.to_string())
            }
            _ => StoreError::Other(anyhow::Error::new(error)),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// PostgreSQL error codes that mean "the database is not there right now" rather than "this
/// request is wrong": connection exceptions (08), shutdown and restart (57P01–57P03), too many
/// connections (53300), and a database that does not accept connections (55000 on connect).
fn is_outage(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "55000")
}

/// The PostgreSQL notification channel that carries the revision of every commit.
pub const CHANGES_CHANNEL: &str = "flagpole_changes";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> anyhow::Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres://")
        }
    }
}

/// The file of an `sqlite:` URL; `None` for PostgreSQL and for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// Every document (tombstones included) written after `revision`, oldest first.
async fn read_changes<'e>(
    executor: impl Executor<'e, Database = sqlx::Any>,
    revision: i64,
) -> StoreResult<Vec<StoredDocument>> {
    let rows = sqlx::query(
        "select kind, doc_key, body, revision, deleted from document \
         where revision > $1 order by revision",
    )
    .bind(revision)
    .fetch_all(executor)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(StoredDocument {
                kind: row.try_get("kind")?,
                key: row.try_get("doc_key")?,
                body: row.try_get("body")?,
                revision: row.try_get("revision")?,
                deleted: row.try_get::<i64, _>("deleted")? != 0,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Runs a commit's planned statements in `tx`; a document write that changes no row fails the
/// whole commit with `StoreError::Conflict`.
async fn run_statements(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    statements: Vec<commit::Statement>,
) -> StoreResult<()> {
    for statement in statements {
        let mut arguments = AnyArguments::default();
        for arg in statement.args {
            // Adding an integer, a string or a null to AnyArguments cannot fail.
            let _ = match arg {
                commit::Arg::Int(value) => arguments.add(value),
                commit::Arg::Text(value) => arguments.add(value),
                commit::Arg::Null => arguments.add(None::<String>),
            };
        }
        let changed = sqlx::query_with(statement.sql, arguments)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if statement.exactly_one_row && changed != 1 {
            // Dropping the transaction rolls back everything written so far.
            return Err(StoreError::Conflict);
        }
    }
    Ok(())
}

/// Pool settings that operators may tune.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// One stored aggregate, as read back.
#[derive(Debug, Clone)]
pub struct StoredDocument {
    pub kind: String,
    pub key: String,
    pub body: String,
    pub revision: i64,
    pub deleted: bool,
}

/// One write of a commit. `expected_revision` is the revision the caller read; if the document
/// has changed since, the whole commit fails with `StoreError::Conflict`.
#[derive(Debug, Clone)]
pub enum Write {
    /// Insert a document that must not exist (a tombstone may be replaced).
    Create {
        kind: &'static str,
        key: String,
        body: String,
    },
    Update {
        kind: &'static str,
        key: String,
        body: String,
        expected_revision: i64,
    },
    Delete {
        kind: &'static str,
        key: String,
        expected_revision: i64,
    },
}

impl Write {
    /// The stored document this write leaves behind once committed at `revision`.
    pub fn committed_at(&self, revision: i64) -> StoredDocument {
        let (kind, key, body, deleted) = match self {
            Write::Create { kind, key, body }
            | Write::Update {
                kind, key, body, ..
            } => (kind, key, body.as_str(), false),
            Write::Delete { kind, key, .. } => (kind, key, "null", true),
        };
        StoredDocument {
            kind: (*kind).to_owned(),
            key: key.clone(),
            body: body.to_owned(),
            revision,
            deleted,
        }
    }
}

/// Everything one request changes, committed atomically with its audit events.
#[derive(Debug, Default)]
pub struct Commit {
    pub writes: Vec<Write>,
    pub events: Vec<NewEvent>,
    /// Users whose sign-in sessions end with this commit (password changed, user deleted).
    pub end_sessions_of: Vec<i64>,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time; queueing writers here, in order, is much faster than
    /// letting them poll SQLite's busy handler, which sleeps with growing back-off.
    sqlite_writer: Arc<tokio::sync::Mutex<()>>,
    /// The audit chain's newest hash and the revision that wrote it. A commit at the next
    /// revision links to it without reading it back; any other commit reads the head.
    chain_head: Arc<std::sync::Mutex<Option<(i64, String)>>>,
    /// Runs commits to an SQLite file (see `sqlite_writer`); `None` on PostgreSQL.
    sqlite_commits: Option<sqlite_writer::SqliteWriter>,
}

static INSTALL_DRIVERS: Once = Once::new();

/// Every SQLite connection's settings, the pool's and the commit connection's alike: WAL lets
/// readers run beside the writer; synchronous=FULL makes every acknowledged commit durable across
/// power loss; a writer in another process (the CLI) is waited for rather than failed.
const SQLITE_CONNECTION_SETTINGS: &str = "pragma journal_mode = wal; pragma synchronous = full; \
     pragma busy_timeout = 10000; pragma foreign_keys = on;";

impl Store {
    /// Connects (creating the SQLite file if needed) and applies the embedded migrations.
    pub async fn open(url: &str, settings: &PoolSettings) -> anyhow::Result<Store> {
        INSTALL_DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = Backend::from_url(url)?;
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            // An SQLite connection is a file handle in this process and cannot go stale; pinging
            // it before every use would add a round trip to its thread for nothing.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        connection.execute(SQLITE_CONNECTION_SETTINGS).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let mut store = Store {
            pool,
            backend,
            sqlite_writer: Arc::default(),
            chain_head: Arc::default(),
            sqlite_commits: None,
        };
        store.migrate().await?;
        if let Some(path) = sqlite_path(url) {
            store.sqlite_commits = Some(sqlite_writer::SqliteWriter::start(&path)?);
        }
        let chained = audit_chain::chain_unhashed(&store.pool).await?;
        if chained > 0 {
            tracing::warn!(
                events = chained,
                "chained the audit events written before the audit hash chain existed"
            );
        }
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("src/store/migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("src/store/migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// Checks the audit log's hash chain from the first event to the newest.
    pub async fn verify_audit_chain(&self) -> StoreResult<audit_chain::ChainReport> {
        audit_chain::verify(&self.pool).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Connections the pool holds, and how many of them are idle.
    pub fn pool_stats(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("select 1").execute(&self.pool).await.is_ok()
    }

    /// Every document (tombstones included) written after `revision`, oldest first.
    pub async fn changes_since(&self, revision: i64) -> StoreResult<Vec<StoredDocument>> {
        read_changes(&self.pool, revision).await
    }

    /// Every document (tombstones included), oldest first: what the first snapshot is built from.
    pub async fn all_documents(&self) -> StoreResult<Vec<StoredDocument>> {
        match &self.sqlite_commits {
            Some(writer) => writer.all_documents().await,
            None => read_changes(&self.pool, 0).await,
        }
    }

    /// Whether a document existed once and was deleted (its tombstone remains).
    pub async fn was_deleted(&self, kind: &str, key: &str) -> StoreResult<bool> {
        let deleted: Option<i64> =
            sqlx::query_scalar("select deleted from document where kind = $1 and doc_key = $2")
                .bind(kind)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(deleted == Some(1))
    }

    /// The latest committed revision.
    pub async fn current_revision(&self) -> StoreResult<i64> {
        let revision: i64 =
            sqlx::query_scalar("select revision from state_revision where state_revision_id = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(revision)
    }

    /// Applies every write and appends every event in one transaction, under a new global
    /// revision, which it returns. Nothing is applied if any expectation fails.
    ///
    /// With `built_on`, the commit also checks that the newest committed revision is still
    /// `built_on` (that nothing was committed since the state the change was built on) and fails
    /// with `StoreError::Stale` otherwise. That check costs nothing: it reads the revision the
    /// commit takes anyway.
    pub async fn commit(&self, commit: Arc<Commit>, built_on: Option<i64>) -> StoreResult<i64> {
        let _writer = self.sqlite_write_lock().await;
        let now = chrono::Utc::now().timestamp_millis();
        // Taken out, so that a failed commit leaves no cached head behind.
        let cached_head = self
            .chain_head
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let committed = match &self.sqlite_commits {
            Some(writer) => writer.commit(commit, built_on, now, cached_head).await?,
            None => {
                self.commit_through_pool(&commit, built_on, now, cached_head)
                    .await?
            }
        };
        *self.chain_head.lock().unwrap_or_else(|e| e.into_inner()) =
            committed.head.map(|hash| (committed.revision, hash));
        Ok(committed.revision)
    }

    /// `commit` through the sqlx pool: PostgreSQL (and an in-memory SQLite database).
    async fn commit_through_pool(
        &self,
        commit: &Commit,
        built_on: Option<i64>,
        now: i64,
        cached_head: Option<(i64, String)>,
    ) -> StoreResult<commit::Committed> {
        let mut tx = self.pool.begin().await?;
        let revision: i64 = sqlx::query_scalar(commit::TAKE_REVISION)
            .fetch_one(&mut *tx)
            .await?;
        commit::check_base(built_on, revision)?;
        let head = commit::usable_head(cached_head, revision);
        self.write_and_commit(tx, commit, revision, now, head).await
    }

    /// The rest of a pool commit once its revision is taken: reads the audit chain's head if it
    /// is needed and not known, writes the planned statements, notifies the replicas
    /// (PostgreSQL) and commits.
    async fn write_and_commit(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Any>,
        commit: &Commit,
        revision: i64,
        now: i64,
        head: Option<String>,
    ) -> StoreResult<commit::Committed> {
        let head = match head {
            None if !commit.events.is_empty() => Some(audit_chain::head(&mut tx).await?),
            known => known,
        };
        let (statements, head) = commit::plan(commit, revision, now, head)?;
        run_statements(&mut tx, statements).await?;
        if self.backend == Backend::Postgres {
            // Delivered to every listening replica when (and only if) the transaction commits.
            sqlx::query("select pg_notify($1, $2)")
                .bind(CHANGES_CHANNEL)
                .bind(revision.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(commit::Committed { revision, head })
    }

    /// Commits a change built under the global write lock: the last resort of a change that
    /// keeps losing optimistic races to other replicas. The lock (the revision row) is taken
    /// first; `prepare` then gets every document committed after `since`, read under that lock,
    /// so nothing can be committed between what it sees and what it writes. It returns the
    /// commit (an empty one writes nothing) and a value that is handed back with the revision.
    pub async fn commit_exclusive<T, E>(
        &self,
        since: i64,
        prepare: impl FnOnce(Vec<StoredDocument>) -> Result<(Commit, T), E>,
    ) -> StoreResult<Result<(Option<i64>, T), E>> {
        let _writer = self.sqlite_write_lock().await;
        let now = chrono::Utc::now().timestamp_millis();
        let mut tx = self.pool.begin().await?;
        let revision: i64 = sqlx::query_scalar(commit::TAKE_REVISION)
            .fetch_one(&mut *tx)
            .await?;
        let documents = read_changes(&mut *tx, since).await?;
        // Returning early drops the transaction, which rolls the revision back.
        let (commit, value) = match prepare(documents) {
            Ok(prepared) => prepared,
            Err(error) => return Ok(Err(error)),
        };
        if commit.writes.is_empty() && commit.events.is_empty() {
            return Ok(Ok((None, value)));
        }
        let committed = self
            .write_and_commit(tx, &commit, revision, now, None)
            .await?;
        *self.chain_head.lock().unwrap_or_else(|e| e.into_inner()) =
            committed.head.map(|hash| (revision, hash));
        Ok(Ok((Some(revision), value)))
    }

    pub async fn write_metrics(&self, batch: &MetricsBatch) -> StoreResult<()> {
        let _writer = match self.backend {
            Backend::Sqlite => Some(self.sqlite_writer.lock().await),
            Backend::Postgres => None,
        };
        metrics::write(&self.pool, batch).await
    }

    pub async fn feature_usage(
        &self,
        feature_name: &str,
        since_millis: i64,
    ) -> StoreResult<Vec<UsageRow>> {
        metrics::usage(&self.pool, feature_name, since_millis).await
    }

    pub async fn applications(&self) -> StoreResult<Vec<ApplicationRow>> {
        metrics::applications(&self.pool).await
    }

    pub async fn last_seen(
        &self,
        feature_name: &str,
    ) -> StoreResult<std::collections::HashMap<String, i64>> {
        metrics::last_seen(&self.pool, feature_name).await
    }

    /// When SDKs last reported each flag they reported, in any environment.
    pub async fn last_seen_by_feature(
        &self,
    ) -> StoreResult<std::collections::HashMap<String, i64>> {
        metrics::last_seen_by_feature(&self.pool).await
    }

    /// Stores a new sign-in session under the digest of its id.
    pub async fn insert_session(
        &self,
        digest: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        let _writer = self.sqlite_write_lock().await;
        sessions::insert(&self.pool, digest, user_id, now, expires_at).await
    }

    pub async fn find_session(&self, digest: &str) -> StoreResult<Option<SessionRow>> {
        sessions::find(&self.pool, digest).await
    }

    /// Records activity on a session (for the idle timeout).
    pub async fn touch_session(&self, digest: &str, now: i64) -> StoreResult<()> {
        let _writer = self.sqlite_write_lock().await;
        sessions::touch(&self.pool, digest, now).await
    }

    pub async fn delete_session(&self, digest: &str) -> StoreResult<()> {
        let _writer = self.sqlite_write_lock().await;
        sessions::delete(&self.pool, digest).await
    }

    /// Removes sessions that can no longer be used.
    pub async fn delete_expired_sessions(&self, now: i64, idle_before: i64) -> StoreResult<()> {
        let _writer = self.sqlite_write_lock().await;
        sessions::delete_expired(&self.pool, now, idle_before).await
    }

    async fn sqlite_write_lock(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.sqlite_writer.lock().await),
            Backend::Postgres => None,
        }
    }

    pub async fn events(&self, query: &EventQuery) -> StoreResult<(Vec<EventRecord>, i64)> {
        events::search(&self.pool, query).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The two dialects must carry the same migrations, or a deployment that switches backends
    /// would end up with different schemas.
    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |dir: &str| -> BTreeSet<String> {
            std::fs::read_dir(format!(
                "{}/src/store/migrations/{dir}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
        };
        assert_eq!(names("sqlite"), names("postgres"));
    }
}
