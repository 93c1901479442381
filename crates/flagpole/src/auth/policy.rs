//! Who may do what on the Admin API: the root roles and the access each route needs. This is the
//! only place that decides it; `AdminAuth` applies it to every Admin API request, from the matched
//! route template and the method, before any handler runs.
//!
//! The roles are Unleash's open-source root roles: Admin (everything), Editor (everything on
//! flags and what they are built from, but not users, admin API tokens, environments or instance
//! settings) and Viewer (reads only).

use std::fmt;

use axum::http::Method;
use serde::{Deserialize, Serialize};

/// A root role, stored and sent as Unleash's role id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub enum Role {
    Admin,
    Editor,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Editor, Role::Viewer];

    /// Unleash's ids for its predefined root roles.
    pub fn id(self) -> i64 {
        match self {
            Role::Admin => 1,
            Role::Editor => 2,
            Role::Viewer => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Editor => "Editor",
            Role::Viewer => "Viewer",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Role::Admin => "Manages the whole instance: users, API tokens, environments, settings.",
            Role::Editor => {
                "Creates and changes flags, strategies, variants, segments, tags, context fields, \
                 projects, and client and frontend API tokens."
            }
            Role::Viewer => "Reads everything except users and API tokens; changes nothing.",
        }
    }

    /// Accepts a role id (1, 2, 3) or a name in any case (`Admin`, `editor`, …).
    pub fn parse(text: &str) -> Option<Role> {
        let text = text.trim();
        Role::ALL.into_iter().find(|role| {
            role.name().eq_ignore_ascii_case(text) || text.parse::<i64>() == Ok(role.id())
        })
    }

    pub fn from_id(id: i64) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.id() == id)
    }

    /// Whether this role grants `access`.
    pub fn permits(self, access: Access) -> bool {
        match access {
            Access::Read | Access::OwnAccount => true,
            Access::ReadTokens | Access::Edit => matches!(self, Role::Admin | Role::Editor),
            Access::Admin => self == Role::Admin,
        }
    }

    /// The Unleash permission names the role amounts to, for `GET /api/admin/user`.
    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            Role::Admin => &["ADMIN"],
            Role::Editor => &[
                "CREATE_FEATURE",
                "UPDATE_FEATURE",
                "DELETE_FEATURE",
                "UPDATE_FEATURE_ENVIRONMENT",
                "CREATE_FEATURE_STRATEGY",
                "UPDATE_FEATURE_STRATEGY",
                "DELETE_FEATURE_STRATEGY",
                "UPDATE_FEATURE_VARIANTS",
                "UPDATE_FEATURE_DEPENDENCY",
                "CREATE_PROJECT",
                "UPDATE_PROJECT",
                "DELETE_PROJECT",
                "CREATE_SEGMENT",
                "UPDATE_SEGMENT",
                "DELETE_SEGMENT",
                "CREATE_TAG_TYPE",
                "UPDATE_TAG_TYPE",
                "DELETE_TAG_TYPE",
                "CREATE_CONTEXT_FIELD",
                "UPDATE_CONTEXT_FIELD",
                "DELETE_CONTEXT_FIELD",
                "READ_CLIENT_API_TOKEN",
                "CREATE_CLIENT_API_TOKEN",
                "UPDATE_CLIENT_API_TOKEN",
                "DELETE_CLIENT_API_TOKEN",
                "READ_FRONTEND_API_TOKEN",
                "CREATE_FRONTEND_API_TOKEN",
                "UPDATE_FRONTEND_API_TOKEN",
                "DELETE_FRONTEND_API_TOKEN",
            ],
            Role::Viewer => &[],
        }
    }
}

impl TryFrom<i64> for Role {
    type Error = String;

    fn try_from(id: i64) -> Result<Role, String> {
        Role::from_id(id).ok_or_else(|| format!("unknown root role {id}"))
    }
}

impl From<Role> for i64 {
    fn from(role: Role) -> i64 {
        role.id()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a route needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any role.
    Read,
    /// Editor or Admin: listing API tokens (non-admins see no admin tokens).
    ReadTokens,
    /// Editor or Admin. Admin-type API tokens are checked again by their handlers.
    Edit,
    /// Admin only.
    Admin,
    /// Any signed-in user, about their own account (profile, password, personal access tokens).
    /// API tokens have no account and are refused, except for reading `GET /api/admin/user`.
    OwnAccount,
}

/// Areas of the Admin API that Editors may change. A new area is Admin-only until it is
/// listed here (fail closed).
const EDITOR_AREAS: &[&str] = &[
    "/api/admin/projects",
    "/api/admin/features",
    "/api/admin/archive",
    "/api/admin/segments",
    "/api/admin/tag-types",
    "/api/admin/context",
    "/api/admin/api-tokens",
];

/// Areas any role may read.
const READ_AREAS: &[&str] = &[
    "/api/admin/projects",
    "/api/admin/features",
    "/api/admin/archive",
    "/api/admin/segments",
    "/api/admin/tag-types",
    "/api/admin/context",
    "/api/admin/feature-types",
    "/api/admin/environments",
    "/api/admin/metrics",
    "/api/admin/client-metrics",
    "/api/admin/events",
    "/api/admin/search",
    "/api/admin/ui-config",
];

fn within(path: &str, area: &str) -> bool {
    path.strip_prefix(area)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The access a route needs: `path` is the matched route template (`/api/admin/segments/{id}`).
pub fn required_access(method: &Method, path: &str) -> Access {
    let reads = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if within(path, "/api/admin/user") {
        return Access::OwnAccount;
    }
    if within(path, "/api/admin/api-tokens") {
        return if reads {
            Access::ReadTokens
        } else {
            Access::Edit
        };
    }
    if reads {
        return if READ_AREAS.iter().any(|area| within(path, area)) {
            Access::Read
        } else {
            Access::Admin
        };
    }
    if EDITOR_AREAS.iter().any(|area| within(path, area)) {
        Access::Edit
    } else {
        Access::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_as_unleash_ids() {
        assert_eq!(serde_json::to_string(&Role::Editor).unwrap(), "2");
        assert_eq!(serde_json::from_str::<Role>("3").unwrap(), Role::Viewer);
        assert!(serde_json::from_str::<Role>("4").is_err());
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("2"), Some(Role::Editor));
        assert_eq!(Role::parse("Owner"), None);
    }

    #[test]
    fn unknown_areas_are_admin_only() {
        assert_eq!(
            required_access(&Method::POST, "/api/admin/something-new"),
            Access::Admin
        );
        assert_eq!(
            required_access(&Method::GET, "/api/admin/something-new"),
            Access::Admin
        );
        assert_eq!(
            required_access(&Method::GET, "/api/admin/user-admin"),
            Access::Admin
        );
        assert_eq!(
            required_access(&Method::GET, "/api/admin/user/tokens"),
            Access::OwnAccount
        );
        assert_eq!(
            required_access(&Method::POST, "/api/admin/featuresx"),
            Access::Admin
        );
    }
}
