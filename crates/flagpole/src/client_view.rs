//! What server-side SDKs receive: the flags of one environment and set of projects, in the Client
//! API's shape, serialised and compressed once per snapshot and scope and then served as bytes.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use flagpole_eval::wire::{ClientFeature, ClientFeatures, Segment as WireSegment, Strategy};
use flagpole_eval::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::auth::token::ApiToken;
use crate::domain::model::Feature;
use crate::snapshot::Snapshot;

/// Which flags a request sees, and in which shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub environment: String,
    /// `None` for every project.
    pub projects: Option<BTreeSet<String>>,
    pub name_prefix: Option<String>,
    /// `type:value` tags; a flag must carry one of them.
    pub tags: BTreeSet<(String, String)>,
    /// Old SDKs (client spec below 4.2) need segment constraints copied into each strategy.
    pub inline_segments: bool,
}

impl Scope {
    /// The scope a token allows, narrowed by the request's filters. Returns `None` when a
    /// requested project is outside the token's projects.
    pub fn for_token(
        token: &ApiToken,
        environment: &str,
        requested_projects: Vec<String>,
        name_prefix: Option<String>,
        tags: BTreeSet<(String, String)>,
        inline_segments: bool,
    ) -> Option<Scope> {
        let allowed: Option<BTreeSet<String>> = if token.all_projects() {
            None
        } else {
            Some(token.projects.iter().cloned().collect())
        };
        let projects = if requested_projects.is_empty() {
            allowed
        } else {
            let requested: BTreeSet<String> = requested_projects.into_iter().collect();
            if let Some(allowed) = &allowed {
                if !requested.is_subset(allowed) {
                    return None;
                }
            }
            Some(requested)
        };
        Some(Scope {
            environment: environment.to_owned(),
            projects,
            name_prefix: name_prefix.filter(|p| !p.is_empty()),
            tags,
            inline_segments,
        })
    }

    pub fn includes(&self, feature: &Feature) -> bool {
        !feature.archived
            && self
                .projects
                .as_ref()
                .is_none_or(|p| p.contains(&feature.project))
            && self
                .name_prefix
                .as_ref()
                .is_none_or(|prefix| feature.name.starts_with(prefix.as_str()))
            && (self.tags.is_empty()
                || feature
                    .tags
                    .iter()
                    .any(|t| self.tags.contains(&(t.tag_type.clone(), t.value.clone()))))
    }

    /// A short, stable fingerprint of the scope, as Unleash's `queryHash`.
    pub fn query_hash(&self) -> String {
        let text = format!("{self:?}");
        hex::encode(&Sha256::digest(text.as_bytes())[..4])
    }
}

/// A flag as SDKs see it in one environment. Disabled strategies are left out.
pub fn client_feature(feature: &Feature, environment: &str) -> ClientFeature {
    let state = feature.environment(environment);
    let mut strategies: Vec<Strategy> = state
        .strategies
        .into_iter()
        .filter(|s| s.disabled != Some(true))
        .collect();
    strategies.sort_by_key(|s| s.sort_order.unwrap_or(0));
    let strategies = strategies
        .into_iter()
        .map(|s| Strategy {
            id: s.id,
            name: s.name,
            title: None,
            constraints: s.constraints,
            parameters: s.parameters,
            variants: s.variants,
            segments: s.segments,
            disabled: None,
            sort_order: None,
        })
        .collect();
    ClientFeature {
        name: feature.name.clone(),
        feature_type: Some(feature.feature_type.clone()),
        enabled: state.enabled,
        project: Some(feature.project.clone()),
        stale: feature.stale,
        strategies,
        variants: state.variants,
        description: feature.description.clone(),
        impression_data: feature.impression_data,
        dependencies: feature.dependencies.clone(),
    }
}

/// Copies segment constraints into the strategies that use them, for SDKs older than client
/// specification 4.2, which do not know segments.
pub fn inline_segments(snapshot: &Snapshot, feature: &mut ClientFeature) {
    for strategy in &mut feature.strategies {
        for id in std::mem::take(&mut strategy.segments) {
            if let Some(segment) = snapshot.segments.get(&id) {
                strategy
                    .constraints
                    .extend(segment.value.constraints.iter().cloned());
            }
        }
    }
}

/// The Client API body for a scope.
pub fn client_features(snapshot: &Snapshot, scope: &Scope) -> ClientFeatures {
    let mut used_segments = BTreeSet::new();
    let mut features: Vec<ClientFeature> = snapshot
        .features
        .values()
        .filter(|f| scope.includes(&f.value))
        .map(|f| client_feature(&f.value, &scope.environment))
        .collect();
    for feature in &features {
        for strategy in &feature.strategies {
            used_segments.extend(strategy.segments.iter().copied());
        }
    }
    let segments: Vec<WireSegment> = used_segments
        .iter()
        .filter_map(|id| snapshot.segments.get(id))
        .map(|s| WireSegment {
            id: s.value.id,
            name: Some(s.value.name.clone()),
            constraints: s.value.constraints.clone(),
        })
        .collect();
    if scope.inline_segments {
        for feature in &mut features {
            inline_segments(snapshot, feature);
        }
    }
    ClientFeatures {
        version: 2,
        features,
        segments: (!scope.inline_segments).then_some(segments),
        query: Some(json!({
            "project": scope.projects.as_ref().map_or_else(|| vec!["*".to_string()], |p| p.iter().cloned().collect()),
            "environment": scope.environment,
            "namePrefix": scope.name_prefix,
            "inlineSegmentConstraints": scope.inline_segments,
        })),
        meta: None,
    }
}

/// A serialised Client API response and its compressed forms, made at most once each.
pub struct Payload {
    pub etag: String,
    pub json: Bytes,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
}

impl Payload {
    fn build(snapshot: &Snapshot, scope: &Scope) -> Payload {
        let mut body = client_features(snapshot, scope);
        // The ETag covers what the SDK evaluates, so changes elsewhere do not force a re-fetch.
        let content = serde_json::to_vec(&(&body.features, &body.segments)).unwrap_or_default();
        let content_hash = hex::encode(&Sha256::digest(&content)[..8]);
        let query_hash = scope.query_hash();
        let etag = format!("\"{query_hash}:{content_hash}:v1\"");
        body.meta = Some(json!({
            "revisionId": snapshot.revision,
            "etag": etag,
            "queryHash": query_hash,
        }));
        let json = serde_json::to_vec(&body).unwrap_or_default();
        Payload {
            etag,
            json: Bytes::from(json),
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }

    pub fn gzip(&self) -> Bytes {
        self.gzip
            .get_or_init(|| {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                let _ = encoder.write_all(&self.json);
                Bytes::from(encoder.finish().unwrap_or_default())
            })
            .clone()
    }

    pub fn brotli(&self) -> Bytes {
        self.brotli
            .get_or_init(|| {
                let mut output = Vec::new();
                {
                    let mut writer = brotli::CompressorWriter::new(&mut output, 4096, 5, 22);
                    let _ = writer.write_all(&self.json);
                }
                Bytes::from(output)
            })
            .clone()
    }
}

/// Values derived from one snapshot (serialised payloads, compiled engines), built on first use
/// and kept until a newer snapshot is asked for.
///
/// At most `MAX_CACHED_KEYS` values are kept per snapshot: keys come from request filters
/// (`namePrefix`, `tag`), so a caller inventing a new filter on every request must not grow
/// memory without bound. Past the cap, values are built per request and dropped.
pub struct SnapshotCache<K, V> {
    entries: Mutex<(i64, HashMap<K, Arc<V>>)>,
}

/// Values kept per snapshot in a `SnapshotCache`; far more scopes than real SDK fleets use.
pub const MAX_CACHED_KEYS: usize = 1024;

impl<K, V> Default for SnapshotCache<K, V> {
    fn default() -> Self {
        SnapshotCache {
            entries: Mutex::new((0, HashMap::new())),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, V> SnapshotCache<K, V> {
    pub fn get_or_build(&self, revision: i64, key: &K, build: impl FnOnce() -> V) -> Arc<V> {
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if entries.0 == revision {
                if let Some(hit) = entries.1.get(key) {
                    return Arc::clone(hit);
                }
            }
        }
        // Built outside the lock; two requests racing on a new key may both build it once.
        let value = Arc::new(build());
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.0 < revision {
            *entries = (revision, HashMap::new());
        }
        if entries.0 == revision && entries.1.len() < MAX_CACHED_KEYS {
            entries.1.insert(key.clone(), Arc::clone(&value));
        }
        value
    }
}

/// Serialised Client API responses, one per scope asked for.
pub type PayloadCache = SnapshotCache<Scope, Payload>;

impl PayloadCache {
    pub fn get(&self, snapshot: &Snapshot, scope: &Scope) -> Arc<Payload> {
        self.get_or_build(snapshot.revision, scope, || Payload::build(snapshot, scope))
    }
}

/// Compiled evaluation engines, one per environment: every flag of every project, so that the
/// Frontend API only filters by the token's projects after evaluating.
pub type EngineCache = SnapshotCache<String, Engine>;

impl EngineCache {
    pub fn get(&self, snapshot: &Snapshot, environment: &str) -> Arc<Engine> {
        self.get_or_build(snapshot.revision, &environment.to_owned(), || {
            let scope = Scope {
                environment: environment.to_owned(),
                projects: None,
                name_prefix: None,
                tags: BTreeSet::new(),
                inline_segments: false,
            };
            let engine = Engine::compile(&client_features(snapshot, &scope));
            for warning in engine.warnings() {
                tracing::warn!(environment, "{warning}");
            }
            engine
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_cache_keeps_a_bounded_number_of_keys() {
        let cache: SnapshotCache<String, usize> = SnapshotCache::default();
        for i in 0..MAX_CACHED_KEYS * 2 {
            let value = cache.get_or_build(1, &format!("prefix-{i}"), || i);
            assert_eq!(
                *value, i,
                "past the cap values are still built and returned"
            );
        }
        let kept = cache.entries.lock().unwrap().1.len();
        assert_eq!(kept, MAX_CACHED_KEYS);
        // A cached key is served without building again.
        let hit = cache.get_or_build(1, &"prefix-0".to_owned(), || usize::MAX);
        assert_eq!(*hit, 0);
        // A newer snapshot starts afresh.
        let fresh = cache.get_or_build(2, &"prefix-0".to_owned(), || 7);
        assert_eq!(*fresh, 7);
        assert_eq!(cache.entries.lock().unwrap().1.len(), 1);
    }
}
