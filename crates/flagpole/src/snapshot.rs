//! The in-memory view of all stored documents, swapped atomically after every committed change.
//!
//! SDK-facing reads and token checks use only this; they never touch the database. Local writes
//! and (with several replicas) remote writes reach it the same way: `SnapshotCell::refresh` reads
//! the documents newer than the snapshot's revision and publishes a new snapshot.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::Context;
use arc_swap::ArcSwap;
use flagpole_eval::wire::CompactString;
use serde::de::DeserializeOwned;
use tokio::sync::{watch, Mutex};

use crate::auth::token::ApiToken;
use crate::domain::model::{
    kind, ContextField, Environment, Feature, Pat, Project, Segment, TagType, User, UserLogin,
};
use crate::store::{Store, StoreError, StoreResult, StoredDocument, Write};

/// A document with the revision of its last write, which is what a later write must expect.
#[derive(Debug)]
pub struct Versioned<T> {
    pub revision: i64,
    pub value: Arc<T>,
}

impl<T> Clone for Versioned<T> {
    fn clone(&self) -> Self {
        Versioned {
            revision: self.revision,
            value: Arc::clone(&self.value),
        }
    }
}

/// The flags a change wrote, by name, as it built them. Publishing the commit takes these as they
/// are: parsing back the bodies just serialised from them was most of a toggle's work here.
pub type BuiltFeatures = HashMap<String, Arc<Feature>>;

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub revision: i64,
    pub projects: BTreeMap<String, Versioned<Project>>,
    pub environments: BTreeMap<String, Versioned<Environment>>,
    /// A persistent map: a new snapshot shares all but the changed flags with the old one, so a
    /// write costs O(log n) here rather than a copy of every flag.
    pub features: imbl::OrdMap<CompactString, Versioned<Feature>>,
    pub segments: BTreeMap<i64, Versioned<Segment>>,
    /// The highest segment id ever used, deleted ones included, so that ids are never reused.
    pub max_segment_id: i64,
    pub tag_types: BTreeMap<String, Versioned<TagType>>,
    pub context_fields: BTreeMap<String, Versioned<ContextField>>,
    /// Instance settings (such as the Frontend API's allowed origins), by name.
    pub settings: BTreeMap<String, Versioned<serde_json::Value>>,
    /// API tokens keyed by the hex SHA-256 of their secret.
    pub tokens: HashMap<String, Versioned<ApiToken>>,
    pub users: BTreeMap<i64, Versioned<User>>,
    /// Lowercased usernames and emails.
    pub user_logins: BTreeMap<String, Versioned<UserLogin>>,
    /// The highest user id ever used, deleted users included, so that ids are never reused.
    pub max_user_id: i64,
    pub pats: BTreeMap<i64, Versioned<Pat>>,
    /// Personal access token ids by the digest of their secret.
    pub pat_ids: HashMap<String, i64>,
    pub max_pat_id: i64,
}

impl Snapshot {
    /// Environments ordered as the UI and API show them.
    pub fn sorted_environments(&self) -> Vec<&Environment> {
        let mut environments: Vec<&Environment> = self
            .environments
            .values()
            .map(|e| e.value.as_ref())
            .collect();
        environments.sort_by(|a, b| a.sort_order.cmp(&b.sort_order).then(a.name.cmp(&b.name)));
        environments
    }

    /// This snapshot with `documents` (newer ones) applied; it is not published.
    pub fn with_documents(&self, documents: Vec<StoredDocument>) -> anyhow::Result<Snapshot> {
        let mut next = self.clone();
        for document in documents {
            next.apply(document)?;
        }
        Ok(next)
    }

    /// A snapshot of every stored document (each key once, at its latest revision). Flags are
    /// nearly all of a large data set, so they are parsed on every core (with 10,000 flags,
    /// parsing is most of the time to ready once the rows are read).
    pub fn from_documents(documents: Vec<StoredDocument>) -> anyhow::Result<Snapshot> {
        let (features, others): (Vec<_>, Vec<_>) = documents
            .into_iter()
            .partition(|document| document.kind == kind::FEATURE);
        let mut snapshot = Snapshot::default();
        for document in others {
            snapshot.apply(document)?;
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per_thread = features.len().div_ceil(threads).max(1);
        let parsed = std::thread::scope(|scope| {
            let parsers: Vec<_> = features
                .chunks(per_thread)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|document| Ok((document, versioned_feature(document)?)))
                            .collect::<anyhow::Result<Vec<_>>>()
                    })
                })
                .collect();
            parsers
                .into_iter()
                .map(|parser| {
                    parser
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })?;
        for (document, feature) in parsed.into_iter().flatten() {
            if let Some(feature) = feature {
                snapshot
                    .features
                    .insert(document.key.as_str().into(), feature);
            }
            snapshot.revision = snapshot.revision.max(document.revision);
        }
        Ok(snapshot)
    }

    /// Applies a write committed at `revision`, taking a flag from `built` rather than from its
    /// body when it is there.
    fn apply_write(
        &mut self,
        write: &Write,
        revision: i64,
        built: &BuiltFeatures,
    ) -> anyhow::Result<()> {
        if let Write::Create {
            kind: kind::FEATURE,
            key,
            body,
        }
        | Write::Update {
            kind: kind::FEATURE,
            key,
            body,
            ..
        } = write
        {
            if let Some(feature) = built.get(key) {
                // Every test run checks that the body says exactly what was built: a replica or
                // a restart reads the body.
                debug_assert_eq!(
                    serde_json::from_str::<Feature>(body).ok().as_ref(),
                    Some(feature.as_ref()),
                    "flag {key} differs from its stored body"
                );
                let value = Arc::clone(feature);
                self.features
                    .insert(key.as_str().into(), Versioned { revision, value });
                self.revision = self.revision.max(revision);
                return Ok(());
            }
        }
        self.apply(write.committed_at(revision))
    }

    fn apply(&mut self, document: StoredDocument) -> anyhow::Result<()> {
        let revision = document.revision;
        match document.kind.as_str() {
            kind::PROJECT => upsert(&mut self.projects, document.key.clone(), &document)?,
            kind::ENVIRONMENT => upsert(&mut self.environments, document.key.clone(), &document)?,
            kind::FEATURE => match versioned_feature(&document)? {
                Some(feature) => {
                    self.features.insert(document.key.as_str().into(), feature);
                }
                None => {
                    self.features.remove(document.key.as_str());
                }
            },
            kind::SEGMENT => {
                let id: i64 = document
                    .key
                    .parse()
                    .context("segment key is not a number")?;
                upsert(&mut self.segments, id, &document)?
            }
            kind::TAG_TYPE => upsert(&mut self.tag_types, document.key.clone(), &document)?,
            kind::CONTEXT_FIELD => {
                upsert(&mut self.context_fields, document.key.clone(), &document)?
            }
            kind::SETTING => upsert(&mut self.settings, document.key.clone(), &document)?,
            kind::API_TOKEN => {
                if document.deleted {
                    self.tokens.remove(&document.key);
                } else {
                    let value: ApiToken = serde_json::from_str(&document.body)?;
                    self.tokens.insert(
                        document.key,
                        Versioned {
                            revision,
                            value: Arc::new(value),
                        },
                    );
                }
            }
            kind::USER => {
                let id: i64 = document.key.parse().context("user key is not a number")?;
                self.max_user_id = self.max_user_id.max(id);
                upsert(&mut self.users, id, &document)?
            }
            kind::USER_LOGIN => upsert(&mut self.user_logins, document.key.clone(), &document)?,
            kind::PAT => {
                let id: i64 = document.key.parse().context("PAT key is not a number")?;
                self.max_pat_id = self.max_pat_id.max(id);
                if let Some(previous) = self.pats.get(&id) {
                    self.pat_ids.remove(&previous.value.digest);
                }
                upsert(&mut self.pats, id, &document)?;
                if let Some(pat) = self.pats.get(&id) {
                    self.pat_ids.insert(pat.value.digest.clone(), id);
                }
            }
            other => tracing::warn!(kind = other, "ignoring a document of unknown kind"),
        }
        self.revision = self.revision.max(revision);
        Ok(())
    }
}

fn upsert<K: Ord, T: DeserializeOwned>(
    map: &mut BTreeMap<K, Versioned<T>>,
    key: K,
    document: &StoredDocument,
) -> anyhow::Result<()> {
    match versioned(document)? {
        Some(value) => map.insert(key, value),
        None => map.remove(&key),
    };
    Ok(())
}

/// A flag document's value, compacted, or `None` when it was deleted.
fn versioned_feature(document: &StoredDocument) -> anyhow::Result<Option<Versioned<Feature>>> {
    if document.deleted {
        return Ok(None);
    }
    let mut feature: Feature = serde_json::from_str(&document.body)
        .with_context(|| format!("{} {} is not valid", document.kind, document.key))?;
    feature.shrink_to_fit();
    Ok(Some(Versioned {
        revision: document.revision,
        value: Arc::new(feature),
    }))
}

/// The document's value, or `None` when it was deleted.
fn versioned<T: DeserializeOwned>(
    document: &StoredDocument,
) -> anyhow::Result<Option<Versioned<T>>> {
    if document.deleted {
        return Ok(None);
    }
    let value: T = serde_json::from_str(&document.body)
        .with_context(|| format!("{} {} is not valid", document.kind, document.key))?;
    Ok(Some(Versioned {
        revision: document.revision,
        value: Arc::new(value),
    }))
}

/// How many recent snapshots are kept for computing deltas (delta API, streaming). A client
/// further behind gets a full hydration instead.
const HISTORY: usize = 32;

/// Holds the current snapshot and serialises refreshes.
pub struct SnapshotCell {
    current: ArcSwap<Snapshot>,
    refresh_lock: Mutex<()>,
    revision_sender: watch::Sender<i64>,
    /// Recent snapshots, oldest first; they share their documents with the current one.
    history: std::sync::Mutex<std::collections::VecDeque<Arc<Snapshot>>>,
    /// When the snapshot was last found up to date with the database.
    synced_at: std::sync::Mutex<std::time::Instant>,
}

impl SnapshotCell {
    /// Loads every document.
    pub async fn load(store: &Store) -> StoreResult<SnapshotCell> {
        let cell = SnapshotCell {
            current: ArcSwap::from_pointee(Snapshot::default()),
            refresh_lock: Mutex::new(()),
            revision_sender: watch::channel(0).0,
            history: Default::default(),
            synced_at: std::sync::Mutex::new(std::time::Instant::now()),
        };
        let loaded_at = std::time::Instant::now();
        let documents = store.all_documents().await?;
        let first = tokio::task::spawn_blocking(move || Snapshot::from_documents(documents))
            .await
            .map_err(|error| StoreError::Other(error.into()))?
            .map_err(StoreError::Other)?;
        cell.publish(first, loaded_at);
        Ok(cell)
    }

    pub fn current(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// The current snapshot's revision (cheaper than `current().revision`).
    pub fn current_revision(&self) -> i64 {
        self.current.load().revision
    }

    /// Receives the revision of each newly published snapshot.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.revision_sender.subscribe()
    }

    /// The newest kept snapshot at or before `revision`: a state a client that has `revision` has
    /// seen everything of. `None` when the history does not reach back that far.
    pub fn at_or_before(&self, revision: i64) -> Option<Arc<Snapshot>> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let oldest = history.front()?;
        if revision < oldest.revision {
            return None;
        }
        history
            .iter()
            .rev()
            .find(|s| s.revision <= revision)
            .cloned()
    }

    /// When a refresh last found the snapshot up to date (or brought it up to date).
    pub fn synced_at(&self) -> std::time::Instant {
        *self.synced_at.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mark_synced(&self, at: std::time::Instant) {
        *self.synced_at.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    /// Brings the snapshot up to date with the database and returns it.
    pub async fn refresh(&self, store: &Store) -> StoreResult<Arc<Snapshot>> {
        let _guard = self.refresh_lock.lock().await;
        self.refresh_locked(store).await
    }

    /// Publishes a commit this process just made. `writes` were committed at `revision` and the
    /// change was built on a snapshot holding everything up to revision `built_on`. When the
    /// commit came right after that (`revision == built_on + 1`), nothing else can be missing, so
    /// the writes are applied as they are, without reading them back (the flags among them as
    /// `built`); otherwise this refreshes.
    pub async fn publish_commit(
        &self,
        store: &Store,
        built_on: i64,
        revision: i64,
        writes: &[Write],
        built: &BuiltFeatures,
    ) -> StoreResult<Arc<Snapshot>> {
        let _guard = self.refresh_lock.lock().await;
        let current = self.current.load_full();
        if current.revision >= revision {
            // A refresh (the sync task, a change notice) got here first.
            return Ok(current);
        }
        if revision != built_on + 1 {
            return self.refresh_locked(store).await;
        }
        let mut next = (*current).clone();
        for write in writes {
            next.apply_write(write, revision, built)
                .map_err(StoreError::Other)?;
        }
        Ok(self.publish(next, std::time::Instant::now()))
    }

    async fn refresh_locked(&self, store: &Store) -> StoreResult<Arc<Snapshot>> {
        let current = self.current.load_full();
        let asked_at = std::time::Instant::now();
        let changes = store.changes_since(current.revision).await?;
        if changes.is_empty() {
            self.mark_synced(asked_at);
            return Ok(current);
        }
        let mut next = (*current).clone();
        for document in changes {
            next.apply(document).map_err(StoreError::Other)?;
        }
        Ok(self.publish(next, asked_at))
    }

    /// Makes `next` the current snapshot, up to date as of `synced_at`.
    fn publish(&self, next: Snapshot, synced_at: std::time::Instant) -> Arc<Snapshot> {
        let next = Arc::new(next);
        {
            let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
            history.push_back(Arc::clone(&next));
            while history.len() > HISTORY {
                history.pop_front();
            }
        }
        self.current.store(Arc::clone(&next));
        self.revision_sender.send_replace(next.revision);
        self.mark_synced(synced_at);
        next
    }
}
