//! SQLite commits through one connection of their own, on the thread of the request.
//!
//! Through sqlx, every statement is a round trip between the async task and the thread of the
//! connection it runs on. A commit is five or more statements, and on a fast disk those thread
//! hand-overs cost more than the commit's fsync. Here a whole commit runs the statements of
//! `commit::plan` with `rusqlite` (the SQLite library sqlx itself links) in one go, and returns
//! once the transaction is durable. Reads stay on the sqlx pool, except the start-up's read of
//! every document (`SqliteWriter::all_documents`), where the same per-row hand-overs would
//! dominate the time to ready.
//!
//! A commit blocks for its fsync. On the multi-threaded runtime the server runs on, it runs in
//! place on the request's worker thread (`tokio::task::block_in_place`, which hands that worker's
//! other tasks to a fresh thread first): a sequential toggle then waits on no other thread.
//! Handing each commit to a dedicated thread and back, as this module did before, cost two
//! wake-ups per commit; running it in place made sequential toggles 1.15× as fast
//! (BENCHMARKS.md). On a current-thread runtime
//! (unit tests, embedders), where `block_in_place` is not allowed, a commit runs on the blocking
//! pool instead. Commits are serialised by `Store::commit`'s lock before they get here, so the
//! connection's mutex is never contended and at most one worker is ever inside a commit.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params_from_iter, Connection, OptionalExtension, ToSql};
use tokio::runtime::{Handle, RuntimeFlavor};

use super::commit::{check_base, plan, usable_head, Arg, Committed, CHAIN_HEAD, TAKE_REVISION};
use super::{Commit, StoreError, StoreResult, StoredDocument};

/// A commit to run, with what the writer needs to know about it.
struct Job {
    commit: Arc<Commit>,
    built_on: Option<i64>,
    now: i64,
    /// The chain's head if the newest commit (at revision `.0`) was this process's.
    cached_head: Option<(i64, String)>,
}

/// The connection commits go through, shared by every clone of the store.
#[derive(Clone)]
pub(super) struct SqliteWriter {
    connection: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl SqliteWriter {
    /// Opens a connection to the (already migrated) database file.
    pub fn start(path: &Path) -> anyhow::Result<SqliteWriter> {
        let connection = Connection::open(path)?;
        connection.execute_batch(super::SQLITE_CONNECTION_SETTINGS)?;
        Ok(SqliteWriter {
            connection: Arc::new(Mutex::new(connection)),
            path: path.to_owned(),
        })
    }

    /// Every document (tombstones included), oldest first, read on a blocking thread through a
    /// connection of its own, beside the writer.
    pub async fn all_documents(&self) -> StoreResult<Vec<StoredDocument>> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || read_all_documents(&path))
            .await
            .map_err(|error| StoreError::Other(error.into()))?
    }

    pub async fn commit(
        &self,
        commit: Arc<Commit>,
        built_on: Option<i64>,
        now: i64,
        cached_head: Option<(i64, String)>,
    ) -> StoreResult<Committed> {
        let job = Job {
            commit,
            built_on,
            now,
            cached_head,
        };
        let connection = Arc::clone(&self.connection);
        // A panic inside a commit unwinds through `WriteTransaction`, which rolls it back, so a
        // poisoned lock still guards a connection with no transaction open.
        let run_locked = move || run(&connection.lock().unwrap_or_else(|e| e.into_inner()), &job);
        match Handle::current().runtime_flavor() {
            RuntimeFlavor::MultiThread => tokio::task::block_in_place(run_locked),
            _ => tokio::task::spawn_blocking(run_locked)
                .await
                .map_err(|error| StoreError::Other(error.into()))?,
        }
    }
}

fn run(connection: &Connection, job: &Job) -> StoreResult<Committed> {
    let tx = WriteTransaction::begin(connection).map_err(sqlite_error)?;
    let revision: i64 = tx
        .connection
        .prepare_cached(TAKE_REVISION)
        .and_then(|mut query| query.query_row([], |row| row.get(0)))
        .map_err(sqlite_error)?;
    check_base(job.built_on, revision)?;
    let head = match usable_head(job.cached_head.clone(), revision) {
        Some(hash) => Some(hash),
        None if job.commit.events.is_empty() => None,
        None => Some(
            tx.connection
                .prepare_cached(CHAIN_HEAD)
                .and_then(|mut query| {
                    query
                        .query_row([], |row| row.get::<_, Option<String>>(0))
                        .optional()
                })
                .map_err(sqlite_error)?
                .flatten()
                .unwrap_or_else(|| super::audit_chain::GENESIS.to_owned()),
        ),
    };
    let (statements, head) = plan(&job.commit, revision, job.now, head)?;
    for statement in statements {
        let changed = tx
            .connection
            .prepare_cached(statement.sql)
            .and_then(|mut prepared| prepared.execute(params_from_iter(statement.args.iter())))
            .map_err(sqlite_error)?;
        if statement.exactly_one_row && changed != 1 {
            // Dropping the transaction rolls back everything written so far.
            return Err(StoreError::Conflict);
        }
    }
    tx.commit().map_err(sqlite_error)?;
    Ok(Committed { revision, head })
}

/// A write transaction begun, committed and rolled back through cached statements.
/// `rusqlite::Transaction` parses `BEGIN` and `COMMIT` afresh each time; with the revision query,
/// also once prepared per commit, that parsing was a tenth of the writer thread's time. Dropped
/// without `commit`, it rolls back.
struct WriteTransaction<'c> {
    connection: &'c Connection,
    committed: bool,
}

impl<'c> WriteTransaction<'c> {
    /// IMMEDIATE takes the write lock at once, as the first statement of the sqlx path does.
    fn begin(connection: &'c Connection) -> rusqlite::Result<WriteTransaction<'c>> {
        connection.prepare_cached("begin immediate")?.execute([])?;
        Ok(WriteTransaction {
            connection,
            committed: false,
        })
    }

    fn commit(mut self) -> rusqlite::Result<()> {
        self.connection.prepare_cached("commit")?.execute([])?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for WriteTransaction<'_> {
    fn drop(&mut self) {
        // SQLite may already have rolled back (after an I/O error, say): then there is nothing
        // left to end.
        if !self.committed && !self.connection.is_autocommit() {
            let rolled_back = self
                .connection
                .prepare_cached("rollback")
                .and_then(|mut rollback| rollback.execute([]));
            if let Err(error) = rolled_back {
                tracing::error!(%error, "could not roll back a failed SQLite commit");
            }
        }
    }
}

fn read_all_documents(path: &Path) -> StoreResult<Vec<StoredDocument>> {
    let connection = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite_error)?;
    connection
        .busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sqlite_error)?;
    let mut query = connection
        .prepare(
            "select kind, doc_key, body, revision, deleted from document \
             where revision > 0 order by revision",
        )
        .map_err(sqlite_error)?;
    let rows = query
        .query_map([], |row| {
            Ok(StoredDocument {
                kind: row.get(0)?,
                key: row.get(1)?,
                body: row.get(2)?,
                revision: row.get(3)?,
                deleted: row.get::<_, i64>(4)? != 0,
            })
        })
        .map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Int(value) => value.to_sql(),
            Arg::Text(value) => value.to_sql(),
            Arg::Null => Ok(rusqlite::types::ToSqlOutput::Owned(
                rusqlite::types::Value::Null,
            )),
        }
    }
}

/// Sorts SQLite's errors as the sqlx path does: a unique violation is a conflict, a busy or
/// unreadable database is an outage, anything else is a bug.
fn sqlite_error(error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation)
            if error.to_string().contains("UNIQUE constraint failed") =>
        {
            StoreError::Conflict
        }
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull,
        ) => StoreError::Unavailable(error.to_string()),
        _ => StoreError::Other(anyhow::Error::new(error)),
    }
}
