//! Business rules: what each change does to the documents, which audit events it writes, and what
//! is valid. No HTTP and no SQL here; changes are built against a snapshot and committed through
//! `Core::change`, which retries on a concurrent write.

pub mod batch;
pub mod built_ins;
pub mod context_fields;
pub mod environments;
pub mod event_text;
pub mod event_type;
pub mod events;
pub mod features;
pub mod history;
pub mod legacy;
pub mod metrics;
pub mod migrate;
pub mod model;
pub mod name_order;
pub mod pats;
pub mod projects;
pub mod segments;
pub mod settings;
pub mod strategies;
pub mod tag_types;
pub mod tokens;
pub mod users;
pub mod validate;

pub use event_type::EventType;

use std::any::Any;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::auth::Actor;
use crate::domain::model::{kind, Feature};
use crate::error::{ApiError, ApiResult};
use crate::snapshot::{BuiltFeatures, Snapshot, SnapshotCell, Versioned};
use crate::store::{Backend, Commit, NewEvent, PoolSettings, Store, StoreError, Write};

/// How often a change is rebuilt on fresh state after losing a race to another writer.
const MAX_ATTEMPTS: usize = 8;

/// Races lost to other replicas (PostgreSQL) before a change is built under the global write
/// lock instead, where it cannot lose again: without that, a replica with a steady stream of
/// changes can starve another one's change of the same document.
const OPTIMISTIC_ATTEMPTS: usize = 3;

/// The store and the snapshot: everything the domain needs, shared by the server and the CLI.
pub struct Core {
    pub store: Store,
    pub snapshot: SnapshotCell,
    /// Environments the legacy `/api/admin/features` endpoints act on; empty means all.
    pub legacy_environments: Vec<String>,
    /// Changes in this process are built and committed one at a time, so they never conflict
    /// with each other; optimistic retries only handle writes from other processes. It holds
    /// the newest revision the snapshot is known to be complete up to: that can be ahead of the
    /// snapshot's own revision (the newest document's) after a commit that wrote only events.
    writer: tokio::sync::Mutex<i64>,
    /// SDK metrics waiting to be written.
    pub metrics: metrics::MetricsBuffer,
    /// Serialised Client API responses of the current snapshot.
    pub client_payloads: crate::client_view::PayloadCache,
    /// Origins the Frontend API allows when no setting has been saved.
    pub default_frontend_origins: Vec<String>,
    /// Compiled evaluation engines of the current snapshot, per environment.
    pub engines: crate::client_view::EngineCache,
}

impl Core {
    pub async fn open(url: &str, settings: &PoolSettings) -> anyhow::Result<Core> {
        let store = Store::open(url, settings).await?;
        let snapshot = SnapshotCell::load(&store).await?;
        let core = Core {
            store,
            snapshot,
            legacy_environments: Vec::new(),
            writer: tokio::sync::Mutex::new(0),
            metrics: metrics::MetricsBuffer::default(),
            client_payloads: Default::default(),
            engines: Default::default(),
            default_frontend_origins: vec!["*".into()],
        };
        core.seed_defaults().await?;
        Ok(core)
    }

    /// The snapshot, brought up to date with the database first. Admin reads use this so that a
    /// write made through another replica is visible at once; SDK reads use the snapshot as is.
    pub async fn fresh(&self) -> ApiResult<Arc<Snapshot>> {
        Ok(self.snapshot.refresh(&self.store).await?)
    }

    /// Builds a change against the current snapshot and commits it with its events. On a
    /// concurrent modification the change is rebuilt on fresh state; `build` must therefore be
    /// free of side effects. A change with no writes and no events commits nothing.
    pub async fn change<R>(
        &self,
        actor: &Actor,
        mut build: impl FnMut(&Snapshot, &mut ChangeSet) -> ApiResult<R>,
    ) -> ApiResult<R> {
        let mut complete_up_to = self.writer.lock().await;
        // A change is built on the snapshot as it is, and the commit checks, with the revision
        // it takes, that nothing was committed since (`StoreError::Stale`); if something was, the
        // change is rebuilt on fresh state. That check almost always passes on SQLite (one server
        // process; only the CLI writes beside it) and on a PostgreSQL replica whose neighbours
        // are quiet. On PostgreSQL, once it has failed, other replicas are busy: the retries are
        // built on fresh state and check each document on its own instead (`Conflict`), so that
        // commits to other documents do not make this one start over.
        let mut verify_base = true;
        let mut snapshot = self.snapshot.current();
        let mut base = snapshot.revision.max(*complete_up_to);
        let mut known_fresh = false;
        let mut races_lost = 0;
        for _ in 0..MAX_ATTEMPTS {
            let mut changes = ChangeSet::new(actor);
            let outcome = build(&snapshot, &mut changes);
            let nothing_to_commit =
                changes.commit.writes.is_empty() && changes.commit.events.is_empty();
            if !known_fresh && (outcome.is_err() || nothing_to_commit) {
                // Only a commit verifies the state it was built on. A refusal or a no-op must
                // not come from stale state either (the CLI may have just created what this
                // change refers to), so look once more before answering.
                let fresh = self.fresh().await?;
                known_fresh = true;
                if fresh.revision != snapshot.revision {
                    snapshot = fresh;
                    base = snapshot.revision.max(*complete_up_to);
                    continue;
                }
            }
            let result = outcome?;
            if nothing_to_commit {
                return Ok(result);
            }
            let commit = Arc::new(changes.commit);
            let built = changes.built_features;
            match self
                .store
                .commit(Arc::clone(&commit), verify_base.then_some(base))
                .await
            {
                Ok(revision) => {
                    // The change is committed: report success even if publishing it fails (the
                    // sync task catches up), or a retry would repeat a done change.
                    match self
                        .snapshot
                        .publish_commit(&self.store, base, revision, &commit.writes, &built)
                        .await
                    {
                        Ok(_) => *complete_up_to = revision,
                        Err(error) => {
                            tracing::warn!(%error, "committed, but could not refresh the snapshot")
                        }
                    }
                    return Ok(result);
                }
                Err(StoreError::Stale { latest }) => {
                    snapshot = self.fresh().await?;
                    known_fresh = true;
                    base = snapshot.revision.max(latest);
                    *complete_up_to = base;
                    verify_base = self.store.backend() == Backend::Sqlite;
                }
                Err(StoreError::Conflict) => {
                    races_lost += 1;
                    if !verify_base && races_lost >= OPTIMISTIC_ATTEMPTS {
                        return self.change_exclusively(actor, &snapshot, build).await;
                    }
                    snapshot = self.fresh().await?;
                    known_fresh = true;
                    base = snapshot.revision.max(*complete_up_to);
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(ApiError::conflict(
            "Too many concurrent changes to the same resource; try again.",
        ))
    }

    /// Builds and commits a change under the global write lock (see `Store::commit_exclusive`),
    /// on `snapshot` brought up to date under that lock.
    async fn change_exclusively<R>(
        &self,
        actor: &Actor,
        snapshot: &Snapshot,
        mut build: impl FnMut(&Snapshot, &mut ChangeSet) -> ApiResult<R>,
    ) -> ApiResult<R> {
        let outcome = self
            .store
            .commit_exclusive(snapshot.revision, |documents| {
                let current = snapshot
                    .with_documents(documents)
                    .map_err(ApiError::Internal)?;
                let mut changes = ChangeSet::new(actor);
                let result = build(&current, &mut changes)?;
                Ok::<_, ApiError>((changes.commit, result))
            })
            .await?;
        let (revision, result) = outcome?;
        if revision.is_some() {
            if let Err(error) = self.fresh().await {
                tracing::warn!(%error, "committed, but could not refresh the snapshot");
            }
        }
        Ok(result)
    }

    /// The `default` project and the `development` and `production` environments always exist
    /// in a new database.
    async fn seed_defaults(&self) -> ApiResult<()> {
        let snapshot = self.fresh().await?;
        if snapshot.revision > 0 {
            return Ok(());
        }
        self.change(&Actor::system(), |snapshot, changes| {
            if snapshot.revision > 0 {
                return Ok(());
            }
            projects::seed_default(changes)?;
            environments::seed_defaults(changes)?;
            Ok(())
        })
        .await
    }
}

/// The writes and events of one change, being built.
pub struct ChangeSet {
    actor: Actor,
    commit: Commit,
    built_features: BuiltFeatures,
}

impl ChangeSet {
    fn new(actor: &Actor) -> ChangeSet {
        ChangeSet {
            actor: actor.clone(),
            commit: Commit::default(),
            built_features: BuiltFeatures::new(),
        }
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn create<T: Serialize + 'static>(
        &mut self,
        kind: &'static str,
        key: impl Into<String>,
        value: &T,
    ) -> ApiResult<()> {
        let key = key.into();
        self.remember_feature(kind, &key, value);
        self.commit.writes.push(Write::Create {
            kind,
            key,
            body: to_body(value)?,
        });
        Ok(())
    }

    pub fn update<T: Serialize + 'static>(
        &mut self,
        kind: &'static str,
        key: impl Into<String>,
        previous: &Versioned<T>,
        value: &T,
    ) -> ApiResult<()> {
        let key = key.into();
        self.remember_feature(kind, &key, value);
        self.commit.writes.push(Write::Update {
            kind,
            key,
            body: to_body(value)?,
            expected_revision: previous.revision,
        });
        Ok(())
    }

    /// Keeps a flag being written as it is, for the snapshot (see `BuiltFeatures`).
    fn remember_feature<T: 'static>(&mut self, kind: &'static str, key: &str, value: &T) {
        if kind != kind::FEATURE {
            return;
        }
        match (value as &dyn Any).downcast_ref::<Feature>() {
            Some(feature) => {
                let built = Arc::new(feature.clone());
                self.built_features.insert(key.to_owned(), built);
            }
            None => {
                self.built_features.remove(key);
            }
        }
    }

    pub fn delete<T>(
        &mut self,
        kind: &'static str,
        key: impl Into<String>,
        previous: &Versioned<T>,
    ) {
        let key = key.into();
        if kind == kind::FEATURE {
            self.built_features.remove(&key);
        }
        self.commit.writes.push(Write::Delete {
            kind,
            key,
            expected_revision: previous.revision,
        });
    }

    /// Ends every sign-in session of the user, in the same transaction as the change.
    pub fn end_sessions(&mut self, user_id: i64) {
        self.commit.end_sessions_of.push(user_id);
    }

    pub fn record(&mut self, event: Event) {
        self.commit.events.push(NewEvent {
            event_type: event.event_type.as_str().to_owned(),
            created_by: self.actor.name.clone(),
            created_by_user_id: self.actor.user_id,
            project: event.project,
            environment: event.environment,
            feature_name: event.feature_name,
            data: event.data,
            pre_data: event.pre_data,
            tags: event.tags.unwrap_or(Value::Array(vec![])),
        });
    }
}

fn to_body<T: Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value).map_err(|error| ApiError::Internal(error.into()))
}

/// An audit event being described.
#[derive(Debug)]
pub struct Event {
    event_type: EventType,
    project: Option<String>,
    environment: Option<String>,
    feature_name: Option<String>,
    data: Option<Value>,
    pre_data: Option<Value>,
    tags: Option<Value>,
}

impl Event {
    pub fn new(event_type: EventType) -> Event {
        Event {
            event_type,
            project: None,
            environment: None,
            feature_name: None,
            data: None,
            pre_data: None,
            tags: None,
        }
    }

    pub fn event_type(&self) -> EventType {
        self.event_type
    }

    pub fn project(mut self, project: &str) -> Event {
        self.project = Some(project.to_owned());
        self
    }

    pub fn environment(mut self, environment: &str) -> Event {
        self.environment = Some(environment.to_owned());
        self
    }

    pub fn feature(mut self, feature: &model::Feature) -> Event {
        self.feature_name = Some(feature.name.to_string());
        self.project = Some(feature.project.to_string());
        self.tags = serde_json::to_value(&feature.tags).ok();
        self
    }

    pub fn data(mut self, data: impl Serialize) -> Event {
        self.data = serde_json::to_value(data).ok();
        self
    }

    pub fn pre_data(mut self, pre_data: impl Serialize) -> Event {
        self.pre_data = serde_json::to_value(pre_data).ok();
        self
    }
}
