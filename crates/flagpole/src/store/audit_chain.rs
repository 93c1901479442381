//! The audit log's hash chain. Each event stores the hash of the event before it (`prev_hash`)
//! and its own hash (`hash`), computed over `prev_hash` and every stored column of the event.
//! Changing a stored event, removing one, or inserting or reordering events directly in the
//! database therefore breaks the chain at that point, and `verify` reports the first broken link.
//!
//! The chain is extended inside the commit that appends the events, after the revision bump has
//! serialised writers, so concurrent writers (in any process) cannot fork it.
//!
//! What it cannot show: someone with write access to the database who recomputes every hash after
//! their edit, or who removes the newest events. Recording the head hash elsewhere (as
//! `flagpole audit verify` prints it) closes both gaps.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Any, AnyPool, Row, Transaction};

use super::StoreResult;

/// The `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event's columns as stored, which is what the hash covers.
pub struct ChainedEvent<'a> {
    pub revision: i64,
    pub event_type: &'a str,
    pub created_at: i64,
    pub created_by: &'a str,
    pub created_by_user_id: i64,
    pub project: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub feature_name: Option<&'a str>,
    pub data: Option<&'a str>,
    pub pre_data: Option<&'a str>,
    pub tags: &'a str,
}

/// The hash of one link: every field length-prefixed, so no two different events encode alike.
pub fn link_hash(prev_hash: &str, event: &ChainedEvent<'_>) -> String {
    fn field(hasher: &mut Sha256, value: Option<&[u8]>) {
        match value {
            None => hasher.update([0u8]),
            Some(bytes) => {
                hasher.update([1u8]);
                hasher.update((bytes.len() as u64).to_le_bytes());
                hasher.update(bytes);
            }
        }
    }
    let mut hasher = Sha256::new();
    hasher.update(b"flagpole-audit-chain-v1");
    let revision = event.revision.to_string();
    let created_at = event.created_at.to_string();
    let user_id = event.created_by_user_id.to_string();
    for value in [
        Some(prev_hash),
        Some(revision.as_str()),
        Some(event.event_type),
        Some(created_at.as_str()),
        Some(event.created_by),
        Some(user_id.as_str()),
        event.project,
        event.environment,
        event.feature_name,
        event.data,
        event.pre_data,
        Some(event.tags),
    ] {
        field(&mut hasher, value.map(str::as_bytes));
    }
    hex::encode(hasher.finalize())
}

/// The hash the next event must link to: the newest chained event's. An unchained event after
/// it (written directly in the database, or by a server too old to chain) is linked over, so
/// `verify` reports it rather than the chain silently restarting. Call only after the commit's
/// revision bump.
pub(super) async fn head(tx: &mut Transaction<'_, Any>) -> StoreResult<String> {
    let hash: Option<Option<String>> = sqlx::query_scalar(super::commit::CHAIN_HEAD)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(hash.flatten().unwrap_or_else(|| GENESIS.to_owned()))
}

/// The first link that does not hold, and why.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrokenLink {
    pub event_id: i64,
    pub reason: String,
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainReport {
    pub valid: bool,
    /// Events checked (all of them when the chain holds).
    pub events_checked: u64,
    /// The hash of the newest event checked: record it elsewhere to detect later rewrites.
    pub head: String,
    pub first_broken_link: Option<BrokenLink>,
}

const SELECT_EVENTS: &str = "select event_id, revision, event_type, created_at, created_by, \
     created_by_user_id, project, environment, feature_name, data, pre_data, tags, prev_hash, hash \
     from event where event_id > $1 order by event_id limit $2";

/// Walks the whole log, oldest first, and reports the first broken link.
pub(super) async fn verify(pool: &AnyPool) -> StoreResult<ChainReport> {
    const PAGE: i64 = 1_000;
    let mut expected_prev = GENESIS.to_owned();
    let mut last_id = 0i64;
    let mut checked = 0u64;
    loop {
        let rows = sqlx::query(SELECT_EVENTS)
            .bind(last_id)
            .bind(PAGE)
            .fetch_all(pool)
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let event_id: i64 = row.try_get("event_id")?;
            let prev_hash: Option<String> = row.try_get("prev_hash")?;
            let stored_hash: Option<String> = row.try_get("hash")?;
            let broken = |reason: &str| ChainReport {
                valid: false,
                events_checked: checked,
                head: expected_prev.clone(),
                first_broken_link: Some(BrokenLink {
                    event_id,
                    reason: reason.to_owned(),
                }),
            };
            if prev_hash.as_deref() != Some(expected_prev.as_str()) {
                return Ok(broken(
                    "it does not link to the event before it: an event was removed, inserted or \
                     reordered",
                ));
            }
            let computed = row_hash(&expected_prev, row)?;
            if stored_hash.as_deref() != Some(computed.as_str()) {
                return Ok(broken(
                    "its content does not match its hash: it was changed after it was written",
                ));
            }
            expected_prev = computed;
            last_id = event_id;
            checked += 1;
        }
    }
    Ok(ChainReport {
        valid: true,
        events_checked: checked,
        head: expected_prev,
        first_broken_link: None,
    })
}

/// The hash a stored row should have, given the hash it should link to.
fn row_hash(prev_hash: &str, row: &sqlx::any::AnyRow) -> StoreResult<String> {
    let project: Option<String> = row.try_get("project")?;
    let environment: Option<String> = row.try_get("environment")?;
    let feature_name: Option<String> = row.try_get("feature_name")?;
    let data: Option<String> = row.try_get("data")?;
    let pre_data: Option<String> = row.try_get("pre_data")?;
    let event_type: String = row.try_get("event_type")?;
    let created_by: String = row.try_get("created_by")?;
    let tags: String = row.try_get("tags")?;
    let event = ChainedEvent {
        revision: row.try_get("revision")?,
        event_type: &event_type,
        created_at: row.try_get("created_at")?,
        created_by: &created_by,
        created_by_user_id: row.try_get("created_by_user_id")?,
        project: project.as_deref(),
        environment: environment.as_deref(),
        feature_name: feature_name.as_deref(),
        data: data.as_deref(),
        pre_data: pre_data.as_deref(),
        tags: &tags,
    };
    Ok(link_hash(prev_hash, &event))
}

/// Chains the events written before the chain existed, oldest first, once: only while no event
/// has a hash yet. After that an event without a hash is never hashed again (that would let
/// anyone who clears the hashes of edited events have them blessed at the next start); `verify`
/// reports it instead. Runs at start-up, under the revision lock so no commit interleaves.
pub(super) async fn chain_unhashed(pool: &AnyPool) -> StoreResult<u64> {
    let mut tx = pool.begin().await?;
    sqlx::query("update state_revision set revision = revision where state_revision_id = 1")
        .execute(&mut *tx)
        .await?;
    let started: Option<i64> =
        sqlx::query_scalar("select event_id from event where hash is not null limit 1")
            .fetch_optional(&mut *tx)
            .await?;
    if started.is_some() {
        return Ok(0);
    }
    let rows = sqlx::query(
        "select event_id, revision, event_type, created_at, created_by, created_by_user_id, \
         project, environment, feature_name, data, pre_data, tags from event \
         where hash is null order by event_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let first: i64 = rows[0].try_get("event_id")?;
    let prev: Option<Option<String>> = sqlx::query_scalar(
        "select hash from event where event_id < $1 order by event_id desc limit 1",
    )
    .bind(first)
    .fetch_optional(&mut *tx)
    .await?;
    let mut prev = prev.flatten().unwrap_or_else(|| GENESIS.to_owned());
    for row in &rows {
        let hash = row_hash(&prev, row)?;
        let event_id: i64 = row.try_get("event_id")?;
        sqlx::query("update event set prev_hash = $1, hash = $2 where event_id = $3")
            .bind(&prev)
            .bind(&hash)
            .bind(event_id)
            .execute(&mut *tx)
            .await?;
        prev = hash;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event<'a>(data: Option<&'a str>) -> ChainedEvent<'a> {
        ChainedEvent {
            revision: 7,
            event_type: "feature-created",
            created_at: 1_700_000_000_000,
            created_by: "admin",
            created_by_user_id: 1,
            project: Some("default"),
            environment: None,
            feature_name: Some("Demo"),
            data,
            pre_data: None,
            tags: "[]",
        }
    }

    #[test]
    fn every_field_and_the_predecessor_change_the_hash() {
        let base = link_hash(GENESIS, &event(Some("{}")));
        assert_eq!(base.len(), 64);
        assert_eq!(
            base,
            link_hash(GENESIS, &event(Some("{}"))),
            "deterministic"
        );
        assert_ne!(base, link_hash(GENESIS, &event(None)));
        assert_ne!(base, link_hash(GENESIS, &event(Some("{ }"))));
        assert_ne!(base, link_hash(&base, &event(Some("{}"))));
        // Moving bytes between adjacent fields changes the hash (length prefixes).
        let mut shifted = event(Some("{}"));
        shifted.project = Some("defaultDemo");
        shifted.feature_name = Some("");
        assert_ne!(base, link_hash(GENESIS, &shifted));
    }
}
