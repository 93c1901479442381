//! What server-side SDKs receive: the flags of one environment and set of projects, in the Client
//! API's shape, serialised and compressed once per snapshot and scope and then served as bytes.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use flagpole_eval::wire::{ClientFeature, ClientFeatures, Segment as WireSegment, Strategy};
use flagpole_eval::{compile_sources, Engine, FeatureSource};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::auth::token::ApiToken;
use crate::domain::model::{Feature, FeatureEnvironment};
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
                .is_none_or(|p| p.contains(feature.project.as_str()))
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

/// A flag as SDKs see it in one environment. Disabled strategies are left out, and strategies
/// come without their admin fields (id, title, order), as Unleash serves them.
pub fn client_feature(feature: &Feature, environment: &str) -> ClientFeature {
    let state = feature.environments.get(environment);
    let strategies = active_strategies(state)
        .into_iter()
        .map(|s| Strategy {
            id: None,
            title: None,
            disabled: None,
            sort_order: None,
            ..s.clone()
        })
        .collect();
    ClientFeature {
        name: feature.name.to_string(),
        feature_type: Some(feature.feature_type.to_string()),
        enabled: state.is_some_and(|s| s.enabled),
        project: Some(feature.project.to_string()),
        stale: feature.stale,
        strategies,
        variants: state.map(|s| s.variants.clone()).unwrap_or_default(),
        description: feature.description.as_ref().map(ToString::to_string),
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

/// The flags a scope includes, in snapshot order.
fn scoped_features<'a>(snapshot: &'a Snapshot, scope: &Scope) -> Vec<&'a Feature> {
    snapshot
        .features
        .values()
        .map(|f| f.value.as_ref())
        .filter(|f| scope.includes(f))
        .collect()
}

/// The segments that the enabled strategies of these flags use in this environment, by id.
fn used_segments(
    snapshot: &Snapshot,
    features: &[&Feature],
    environment: &str,
) -> Vec<WireSegment> {
    let mut used = BTreeSet::new();
    for feature in features {
        let active = active_strategies(feature.environments.get(environment));
        used.extend(active.iter().flat_map(|s| s.segments.iter().copied()));
    }
    used.iter()
        .filter_map(|id| snapshot.segments.get(id))
        .map(|s| WireSegment {
            id: s.value.id,
            name: Some(s.value.name.clone()),
            constraints: s.value.constraints.clone(),
        })
        .collect()
}

fn query_value(scope: &Scope) -> serde_json::Value {
    let mut query = json!({
        "project": scope.projects.as_ref().map_or_else(|| vec!["*".to_string()], |p| p.iter().cloned().collect()),
        "environment": scope.environment,
        "inlineSegmentConstraints": scope.inline_segments,
    });
    // Unleash leaves `namePrefix` out when no prefix was asked for (its schema has no null).
    if let Some(prefix) = &scope.name_prefix {
        query["namePrefix"] = json!(prefix);
    }
    query
}

/// The Client API body for a scope, as owned values (for deltas; the body served is made by
/// `Payload::build` from the same parts).
pub fn client_features(snapshot: &Snapshot, scope: &Scope) -> ClientFeatures {
    let included = scoped_features(snapshot, scope);
    let segments = used_segments(snapshot, &included, &scope.environment);
    let mut features: Vec<ClientFeature> = included
        .iter()
        .map(|f| client_feature(f, &scope.environment))
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
        query: Some(query_value(scope)),
        meta: None,
    }
}

/// Serialises an iterator as a JSON array without collecting it.
struct SerializeSeq<I>(I);

impl<I> Serialize for SerializeSeq<I>
where
    I: Iterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.clone())
    }
}

/// A flag in one environment, serialised as `client_feature` would give it, without the copy.
struct FeatureView<'a> {
    feature: &'a Feature,
    state: Option<&'a FeatureEnvironment>,
    /// For old SDKs: the snapshot whose segment constraints are copied into each strategy.
    inline_from: Option<&'a Snapshot>,
}

impl Serialize for FeatureView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let feature = self.feature;
        let (enabled, variants) = self
            .state
            .map_or((false, &[][..]), |s| (s.enabled, s.variants.as_slice()));
        let strategies = active_strategies(self.state);
        let strategies = strategies.iter().map(|strategy| StrategyView {
            strategy,
            inline_from: self.inline_from,
        });
        let mut out = serializer.serialize_struct("ClientFeature", 10)?;
        out.serialize_field("name", &feature.name)?;
        out.serialize_field("type", &feature.feature_type)?;
        out.serialize_field("enabled", &enabled)?;
        out.serialize_field("project", &feature.project)?;
        out.serialize_field("stale", &feature.stale)?;
        out.serialize_field("strategies", &SerializeSeq(strategies))?;
        out.serialize_field("variants", variants)?;
        // Unleash sends `description` on every flag, `null` when there is none.
        out.serialize_field("description", &feature.description)?;
        out.serialize_field("impressionData", &feature.impression_data)?;
        if !feature.dependencies.is_empty() {
            out.serialize_field("dependencies", &feature.dependencies)?;
        }
        out.end()
    }
}

/// The strategies SDKs see, in their order: disabled ones are left out.
fn active_strategies(state: Option<&FeatureEnvironment>) -> Vec<&Strategy> {
    let mut strategies: Vec<&Strategy> = state
        .into_iter()
        .flat_map(|s| &s.strategies)
        .filter(|s| s.disabled != Some(true))
        .collect();
    strategies.sort_by_key(|s| s.sort_order.unwrap_or(0));
    strategies
}

/// A strategy without its admin-only fields, as `client_feature` gives it.
struct StrategyView<'a> {
    strategy: &'a Strategy,
    inline_from: Option<&'a Snapshot>,
}

impl Serialize for StrategyView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let strategy = self.strategy;
        let mut out = serializer.serialize_struct("Strategy", 5)?;
        out.serialize_field("name", &strategy.name)?;
        match self.inline_from {
            Some(snapshot) => {
                let inlined = strategy
                    .segments
                    .iter()
                    .filter_map(|id| snapshot.segments.get(id))
                    .flat_map(|segment| &segment.value.constraints);
                let all = strategy.constraints.iter().chain(inlined);
                out.serialize_field("constraints", &SerializeSeq(all))?;
            }
            None => out.serialize_field("constraints", &strategy.constraints)?,
        }
        out.serialize_field("parameters", &strategy.parameters)?;
        out.serialize_field("variants", &strategy.variants)?;
        if self.inline_from.is_none() && !strategy.segments.is_empty() {
            out.serialize_field("segments", &strategy.segments)?;
        }
        out.end()
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
    /// Serialises the flags straight from the snapshot into the body, which is made once and
    /// trimmed to its size: copying 10,000 flags into the Client API's types first took more
    /// memory than the body itself.
    fn build(snapshot: &Snapshot, scope: &Scope) -> Payload {
        let features = scoped_features(snapshot, scope);
        let mut body = Vec::with_capacity(1024 + 512 * features.len());
        body.extend_from_slice(b"{\"version\":2,\"features\":");
        let content_start = body.len();
        let views = features.iter().map(|feature| FeatureView {
            feature,
            state: feature.environments.get(scope.environment.as_str()),
            inline_from: scope.inline_segments.then_some(snapshot),
        });
        let write = || -> serde_json::Result<()> {
            serde_json::to_writer(&mut body, &SerializeSeq(views))?;
            if !scope.inline_segments {
                body.extend_from_slice(b",\"segments\":");
                serde_json::to_writer(
                    &mut body,
                    &used_segments(snapshot, &features, &scope.environment),
                )?;
            }
            Ok(())
        };
        if let Err(error) = write() {
            // Serialising owned data into memory cannot fail; say so loudly if it ever does.
            tracing::error!(%error, "cannot serialise the Client API body");
        }
        // The ETag covers what the SDK evaluates, so changes elsewhere do not force a re-fetch.
        let content_hash = hex::encode(&Sha256::digest(&body[content_start..])[..8]);
        let query_hash = scope.query_hash();
        let etag = format!("\"{query_hash}:{content_hash}:v1\"");
        let tail = json!({
            "query": query_value(scope),
            "meta": {
                "revisionId": snapshot.revision,
                "etag": etag,
                "queryHash": query_hash,
            },
        });
        // `tail` is an object: its text without the opening brace closes the body.
        let tail = tail.to_string();
        body.push(b',');
        body.extend_from_slice(&tail.as_bytes()[1..]);
        body.shrink_to_fit();
        Payload {
            etag,
            json: Bytes::from(body),
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
    /// Held while a value is built. The first requests after a change arrive together, and each
    /// building its own copy of a megabytes-large body or engine would multiply the memory the
    /// server needs at that moment; they wait for the one build instead.
    building: Mutex<()>,
}

/// Values kept per snapshot in a `SnapshotCache`; far more scopes than real SDK fleets use.
pub const MAX_CACHED_KEYS: usize = 1024;

impl<K, V> Default for SnapshotCache<K, V> {
    fn default() -> Self {
        SnapshotCache {
            entries: Mutex::new((0, HashMap::new())),
            building: Mutex::new(()),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, V> SnapshotCache<K, V> {
    pub fn get_or_build(&self, revision: i64, key: &K, build: impl FnOnce() -> V) -> Arc<V> {
        let has_room = match self.cached(revision, key) {
            Ok(hit) => return hit,
            Err(has_room) => has_room,
        };
        if !has_room {
            // Past the cap nothing is kept, so there is no build to share.
            return Arc::new(build());
        }
        let _building = self.building.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(hit) = self.cached(revision, key) {
            return hit;
        }
        {
            // The values of an older snapshot go before the new one is built (requests still
            // using them keep their own references).
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if entries.0 < revision {
                *entries = (revision, HashMap::new());
            }
        }
        let value = Arc::new(build());
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.0 == revision && entries.1.len() < MAX_CACHED_KEYS {
            entries.1.insert(key.clone(), Arc::clone(&value));
        }
        value
    }

    /// The value kept for this key, or whether there is room to keep one.
    fn cached(&self, revision: i64, key: &K) -> Result<Arc<V>, bool> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.0 != revision {
            return Err(true);
        }
        match entries.1.get(key) {
            Some(hit) => Ok(Arc::clone(hit)),
            None => Err(entries.1.len() < MAX_CACHED_KEYS),
        }
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
            let features = scoped_features(snapshot, &scope);
            let sources: Vec<FeatureSource<'_>> = features
                .iter()
                .map(|feature| {
                    let state = feature.environments.get(environment);
                    FeatureSource {
                        name: &feature.name,
                        project: Some(&feature.project),
                        enabled: state.is_some_and(|s| s.enabled),
                        impression_data: feature.impression_data,
                        strategies: active_strategies(state),
                        variants: state.map_or(&[][..], |s| s.variants.as_slice()),
                        dependencies: &feature.dependencies,
                    }
                })
                .collect();
            let engine =
                compile_sources(&sources, &used_segments(snapshot, &features, environment));
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
    use crate::domain::model::kind;
    use crate::store::StoredDocument;

    fn every_project(environment: &str) -> Scope {
        Scope {
            environment: environment.to_owned(),
            projects: None,
            name_prefix: None,
            tags: BTreeSet::new(),
            inline_segments: false,
        }
    }

    fn document(kind: &str, key: &str, body: serde_json::Value) -> StoredDocument {
        StoredDocument {
            kind: kind.to_owned(),
            key: key.to_owned(),
            body: body.to_string(),
            revision: 1,
            deleted: false,
        }
    }

    /// Flags with what the Client API reshapes: disabled and reordered strategies, segments,
    /// variants, dependencies, a description, an archived flag and a flag of another project.
    fn varied_snapshot() -> Snapshot {
        let strategy = |id: &str, order: i64, disabled: bool, segments: Vec<i64>| {
            json!({
                "id": id, "name": "flexibleRollout", "title": "t", "sortOrder": order,
                "disabled": disabled, "segments": segments,
                "constraints": [{"contextName": "userId", "operator": "IN", "values": ["a", "b"]}],
                "parameters": {"rollout": "50", "stickiness": "default", "groupId": id},
                "variants": [{"name": "blue", "weight": 1000, "weightType": "variable"}],
            })
        };
        let flag = |name: &str, project: &str, archived: bool| {
            json!({
                "name": name, "project": project, "type": "release", "archived": archived,
                "description": format!("about {name}"), "createdAt": "2026-01-01T00:00:00Z",
                "createdBy": "test", "impressionData": true,
                "dependencies": [{"feature": "parent", "enabled": true}],
                "environments": {
                    "development": {
                        "enabled": true,
                        "strategies": [
                            strategy("s-late", 9, false, vec![7]),
                            strategy("s-off", 1, true, vec![8]),
                            strategy("s-early", 2, false, vec![]),
                        ],
                        "variants": [{"name": "v", "weight": 1000, "payload": {"type": "string", "value": "x"}}],
                    },
                    "production": {"enabled": false, "strategies": [strategy("s-prod", 0, false, vec![8])]},
                },
            })
        };
        let segment = |id: i64| {
            json!({
                "id": id, "name": format!("segment {id}"), "createdAt": "2026-01-01T00:00:00Z",
                "createdBy": "test",
                "constraints": [{"contextName": "region", "operator": "IN", "values": [format!("r{id}")]}],
            })
        };
        Snapshot::from_documents(vec![
            document(kind::FEATURE, "parent", json!({"name": "parent", "project": "default", "type": "release", "createdAt": "2026-01-01T00:00:00Z", "createdBy": "test"})),
            document(kind::FEATURE, "one", flag("one", "default", false)),
            document(kind::FEATURE, "other", flag("other", "other", false)),
            document(kind::FEATURE, "gone", flag("gone", "default", true)),
            document(kind::SEGMENT, "7", segment(7)),
            document(kind::SEGMENT, "8", segment(8)),
        ])
        .unwrap()
    }

    #[test]
    fn served_body_is_the_client_model_serialised() {
        let snapshot = varied_snapshot();
        for (environment, projects, inline_segments) in [
            ("development", None, false),
            ("development", None, true),
            ("development", Some(["default".to_owned()].into()), false),
            ("production", None, false),
            ("staging", None, false),
        ] {
            let scope = Scope {
                environment: environment.to_owned(),
                projects,
                name_prefix: None,
                tags: BTreeSet::new(),
                inline_segments,
            };
            let payload = Payload::build(&snapshot, &scope);
            let served: serde_json::Value = serde_json::from_slice(&payload.json).unwrap();
            let mut expected = serde_json::to_value(client_features(&snapshot, &scope)).unwrap();
            expected["meta"] = json!({
                "revisionId": snapshot.revision,
                "etag": payload.etag,
                "queryHash": scope.query_hash(),
            });
            assert_eq!(served, expected, "{scope:?}");
        }
        // The segment of a disabled strategy is not sent; the other is.
        let scope = every_project("development");
        let served: serde_json::Value =
            serde_json::from_slice(&Payload::build(&snapshot, &scope).json).unwrap();
        let ids: Vec<i64> = served["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [7]);
        // Strategies go out without their ids; each test strategy's groupId repeats its id.
        let names: Vec<&str> = served["features"][0]["strategies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["parameters"]["groupId"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["s-early", "s-late"],
            "disabled left out, the rest by sort order"
        );
    }

    #[test]
    fn etag_follows_the_content_only() {
        let snapshot = varied_snapshot();
        let scope = every_project("development");
        let first = Payload::build(&snapshot, &scope);
        let mut later = snapshot.clone();
        later.revision += 5;
        assert_eq!(
            Payload::build(&later, &scope).etag,
            first.etag,
            "same flags, same ETag"
        );
        let production = every_project("production");
        assert_ne!(Payload::build(&snapshot, &production).etag, first.etag);
    }

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

    /// Requests that ask for the same new value at once get one build between them, and the
    /// older snapshot's values are let go before it.
    #[test]
    fn concurrent_requests_share_one_build() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let cache: SnapshotCache<String, usize> = SnapshotCache::default();
        cache.get_or_build(1, &"engine".to_owned(), || 1);
        let builds = AtomicUsize::new(0);
        let start = std::sync::Barrier::new(8);
        std::thread::scope(|threads| {
            for _ in 0..8 {
                threads.spawn(|| {
                    start.wait();
                    let value = cache.get_or_build(2, &"engine".to_owned(), || {
                        builds.fetch_add(1, Ordering::SeqCst);
                        // Long enough that every other request arrives while this one builds.
                        std::thread::sleep(std::time::Duration::from_millis(200));
                        2
                    });
                    assert_eq!(*value, 2);
                });
            }
        });
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        let entries = cache.entries.lock().unwrap();
        assert_eq!((entries.0, entries.1.len()), (2, 1));
    }
}
