//! What a commit writes, as SQL statements with their arguments, independent of the driver that
//! runs them: sqlx for PostgreSQL (`Store::commit`), a dedicated connection thread for SQLite
//! (`sqlite_writer`). Both run the same statements in the same order:
//!
//! 1. `TAKE_REVISION` takes the next global revision (and with it the write lock or row lock,
//!    so that revisions are handed out in commit order);
//! 2. `check_base` refuses a change built on state that is no longer the newest;
//! 3. the audit chain's head is read (`CHAIN_HEAD`) unless the commit before was this process's;
//! 4. the statements of `plan`: document writes (each must change exactly one row), audit
//!    events linked into the hash chain, ended sessions.

use serde_json::Value;

use super::audit_chain::{link_hash, ChainedEvent};
use super::{Commit, StoreError, StoreResult, Write};

pub(super) const TAKE_REVISION: &str = "update state_revision set revision = revision + 1 \
     where state_revision_id = 1 returning revision";

pub(super) const CHAIN_HEAD: &str =
    "select hash from event where hash is not null order by event_id desc limit 1";

/// One argument of a statement.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Arg {
    Int(i64),
    Text(String),
    Null,
}

impl From<Option<&str>> for Arg {
    fn from(value: Option<&str>) -> Arg {
        value.map_or(Arg::Null, |text| Arg::Text(text.to_owned()))
    }
}

/// A statement of a commit. With `exactly_one_row`, a statement that changes any other number of
/// rows means the document changed meanwhile: the whole commit fails with `StoreError::Conflict`.
#[derive(Debug)]
pub(super) struct Statement {
    pub sql: &'static str,
    pub args: Vec<Arg>,
    pub exactly_one_row: bool,
}

/// A durable commit: its revision and the audit chain's head after it (when known).
pub(super) struct Committed {
    pub revision: i64,
    pub head: Option<String>,
}

/// The chain head remembered from this process's last commit (at revision `.0`), if that commit
/// is the one right before `revision`; otherwise another process may have added events since.
pub(super) fn usable_head(cached: Option<(i64, String)>, revision: i64) -> Option<String> {
    cached
        .filter(|(at, _)| *at == revision - 1)
        .map(|(_, hash)| hash)
}

/// Fails with `StoreError::Stale` when the revision just taken shows that something was committed
/// after `built_on`, the revision the change was built on.
pub(super) fn check_base(built_on: Option<i64>, revision: i64) -> StoreResult<()> {
    match built_on {
        Some(base) if revision != base + 1 => Err(StoreError::Stale {
            latest: revision - 1,
        }),
        _ => Ok(()),
    }
}

/// The statements that write `commit` at `revision`, and the audit chain's head after them.
/// `head` is the chain's head before them, which a commit with events must know.
pub(super) fn plan(
    commit: &Commit,
    revision: i64,
    now: i64,
    head: Option<String>,
) -> StoreResult<(Vec<Statement>, Option<String>)> {
    let mut statements = Vec::with_capacity(
        commit.writes.len() + commit.events.len() + commit.end_sessions_of.len(),
    );
    for write in &commit.writes {
        statements.push(document_write(write, revision, now));
    }
    let mut head = head;
    for event in &commit.events {
        let prev_hash = head
            .take()
            .ok_or_else(|| anyhow::anyhow!("the audit chain's head is unknown"))?;
        let data = event.data.as_ref().map(Value::to_string);
        let pre_data = event.pre_data.as_ref().map(Value::to_string);
        let tags = event.tags.to_string();
        let hash = link_hash(
            &prev_hash,
            &ChainedEvent {
                revision,
                event_type: &event.event_type,
                created_at: now,
                created_by: &event.created_by,
                created_by_user_id: event.created_by_user_id,
                project: event.project.as_deref(),
                environment: event.environment.as_deref(),
                feature_name: event.feature_name.as_deref(),
                data: data.as_deref(),
                pre_data: pre_data.as_deref(),
                tags: &tags,
            },
        );
        statements.push(Statement {
            sql: "insert into event (revision, event_type, created_at, created_by, \
                  created_by_user_id, project, environment, feature_name, data, pre_data, tags, \
                  prev_hash, hash) \
                  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            args: vec![
                Arg::Int(revision),
                Arg::Text(event.event_type.clone()),
                Arg::Int(now),
                Arg::Text(event.created_by.clone()),
                Arg::Int(event.created_by_user_id),
                event.project.as_deref().into(),
                event.environment.as_deref().into(),
                event.feature_name.as_deref().into(),
                data.as_deref().into(),
                pre_data.as_deref().into(),
                Arg::Text(tags),
                Arg::Text(prev_hash),
                Arg::Text(hash.clone()),
            ],
            exactly_one_row: false,
        });
        head = Some(hash);
    }
    for user_id in &commit.end_sessions_of {
        statements.push(Statement {
            sql: "delete from user_session where user_id = $1",
            args: vec![Arg::Int(*user_id)],
            exactly_one_row: false,
        });
    }
    Ok((statements, head))
}

fn document_write(write: &Write, revision: i64, now: i64) -> Statement {
    let (sql, args) = match write {
        // A tombstone (a deleted document) may be replaced; a live document may not.
        Write::Create { kind, key, body } => (
            "insert into document (kind, doc_key, body, revision, deleted, created_at, updated_at) \
             values ($1, $2, $3, $4, 0, $5, $5) \
             on conflict (kind, doc_key) do update set body = excluded.body, \
             revision = excluded.revision, deleted = 0, created_at = excluded.created_at, \
             updated_at = excluded.updated_at where document.deleted = 1",
            vec![
                Arg::Text((*kind).to_owned()),
                Arg::Text(key.clone()),
                Arg::Text(body.clone()),
                Arg::Int(revision),
                Arg::Int(now),
            ],
        ),
        Write::Update {
            kind,
            key,
            body,
            expected_revision,
        } => (
            "update document set body = $1, revision = $2, updated_at = $3 \
             where kind = $4 and doc_key = $5 and revision = $6 and deleted = 0",
            vec![
                Arg::Text(body.clone()),
                Arg::Int(revision),
                Arg::Int(now),
                Arg::Text((*kind).to_owned()),
                Arg::Text(key.clone()),
                Arg::Int(*expected_revision),
            ],
        ),
        Write::Delete {
            kind,
            key,
            expected_revision,
        } => (
            "update document set body = 'null', deleted = 1, revision = $1, updated_at = $2 \
             where kind = $3 and doc_key = $4 and revision = $5 and deleted = 0",
            vec![
                Arg::Int(revision),
                Arg::Int(now),
                Arg::Text((*kind).to_owned()),
                Arg::Text(key.clone()),
                Arg::Int(*expected_revision),
            ],
        ),
    };
    Statement {
        sql,
        args,
        exactly_one_row: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQLite writer binds arguments by position, so every statement must use its
    /// placeholders for the first time in order ($1 before $2 …), as sqlx's numbering assumes too.
    #[test]
    fn placeholders_first_appear_in_order() {
        let commit = Commit {
            writes: vec![
                Write::Create {
                    kind: "feature",
                    key: "a".into(),
                    body: "{}".into(),
                },
                Write::Update {
                    kind: "feature",
                    key: "a".into(),
                    body: "{}".into(),
                    expected_revision: 1,
                },
                Write::Delete {
                    kind: "feature",
                    key: "a".into(),
                    expected_revision: 1,
                },
            ],
            events: vec![super::super::NewEvent::default()],
            end_sessions_of: vec![1],
        };
        let (statements, head) = plan(&commit, 2, 0, Some("genesis".into())).unwrap();
        assert!(head.is_some());
        for statement in statements {
            let mut next = 1;
            let mut rest = statement.sql;
            while let Some(at) = rest.find('$') {
                let digits: String = rest[at + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                let number: usize = digits.parse().unwrap();
                assert!(
                    number <= next,
                    "{} uses ${number} before ${next}",
                    statement.sql
                );
                if number == next {
                    next += 1;
                }
                rest = &rest[at + 1 + digits.len()..];
            }
            assert_eq!(next - 1, statement.args.len(), "{}", statement.sql);
        }
    }
}
