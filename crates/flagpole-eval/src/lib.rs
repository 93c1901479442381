//! Flagpole's flag model and evaluation engine, compatible with the Unleash client
//! specification ([`SUPPORTED_SPEC_VERSION`]).
//!
//! Pure Rust with no I/O: the server hands it a Client API snapshot ([`wire::ClientFeatures`]),
//! compiles it once into an [`Engine`], and asks per [`Context`]. Nothing in this crate reads a
//! file, the network or a database, and the clock is the caller's: the `now` argument is used by
//! date constraints when the context has no `currentTime`.
//!
//! ```
//! use flagpole_eval::{Context, Engine, wire::ClientFeatures};
//! let state: ClientFeatures = serde_json::from_str(r#"{"version":2,"features":[
//!     {"name":"demo","enabled":true,"strategies":[{"name":"default"}]}]}"#).unwrap();
//! let engine = Engine::compile(&state);
//! let now = chrono::Utc::now();
//! assert!(engine.is_enabled("demo", &Context::default(), now));
//! assert_eq!(engine.get_variant("demo", &Context::default(), now).name, "disabled");
//! ```

mod compile;
mod constraints;
mod context;
mod engine;
mod hashing;
mod strategies;
pub mod toggle_list;
mod variants;
pub mod wire;

pub use compile::{compile_sources, FeatureSource};
pub use context::Context;
pub use engine::{Engine, Evaluation, VariantRef, VariantResult};
/// Unleash's bucketing, for tools that need to show where an id lands.
pub use hashing::{murmur3_32, strategy_bucket, variant_position};

/// The version of the Unleash client specification this engine passes in full.
pub const SUPPORTED_SPEC_VERSION: &str = "6.1.0";

/// Why the engine could not use this constraint as written (it would never match, or would
/// ignore some values), if it could not: the server refuses such constraints when they are
/// written, with the engine's own reading of them.
pub fn constraint_problem(constraint: &wire::Constraint) -> Option<String> {
    constraints::problem(constraint)
}

/// Compiles a snapshot; the same as [`Engine::compile`].
pub fn compile(state: &wire::ClientFeatures) -> Engine {
    Engine::compile(state)
}
