//! The sign-in session table. Rows are keyed by the digest of the session id, never the id.

use sqlx::{AnyPool, Row};

use super::StoreResult;

/// A stored session. Times are epoch milliseconds.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
}

pub(super) async fn insert(
    pool: &AnyPool,
    digest: &str,
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> StoreResult<()> {
    sqlx::query(
        "insert into user_session (user_session_id, user_id, created_at, updated_at, expires_at) \
         values ($1, $2, $3, $3, $4)",
    )
    .bind(digest)
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn find(pool: &AnyPool, digest: &str) -> StoreResult<Option<SessionRow>> {
    let row = sqlx::query(
        "select user_id, created_at, updated_at, expires_at from user_session \
         where user_session_id = $1",
    )
    .bind(digest)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(SessionRow {
            user_id: row.try_get("user_id")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
    .map_err(|error: sqlx::Error| error.into())
}

pub(super) async fn touch(pool: &AnyPool, digest: &str, now: i64) -> StoreResult<()> {
    sqlx::query("update user_session set updated_at = $1 where user_session_id = $2")
        .bind(now)
        .bind(digest)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn delete(pool: &AnyPool, digest: &str) -> StoreResult<()> {
    sqlx::query("delete from user_session where user_session_id = $1")
        .bind(digest)
        .execute(pool)
        .await?;
    Ok(())
}

/// Removes sessions past their absolute expiry or idle since before `idle_before`.
pub(super) async fn delete_expired(pool: &AnyPool, now: i64, idle_before: i64) -> StoreResult<()> {
    sqlx::query("delete from user_session where expires_at <= $1 or updated_at < $2")
        .bind(now)
        .bind(idle_before)
        .execute(pool)
        .await?;
    Ok(())
}
