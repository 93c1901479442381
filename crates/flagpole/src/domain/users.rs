//! Users: creation, changes, deletion, passwords and the first admin. Every change writes its
//! audit event in the same commit; events never carry a password or its hash. Changing a
//! password or deleting a user ends the user's sessions in that same commit.

use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::model::{kind, User, UserLogin};
use super::{validate, ChangeSet, Core, Event};
use crate::auth::password::{self, PasswordHash};
use crate::auth::policy::Role;
use crate::auth::Actor;
use crate::domain::EventType;
use crate::error::{ApiError, ApiResult};
use crate::snapshot::{Snapshot, Versioned};

/// A root role as Unleash accepts it: its id or its name.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum RoleInput {
    Id(i64),
    Name(String),
}

impl RoleInput {
    pub fn resolve(&self) -> ApiResult<Role> {
        let role = match self {
            RoleInput::Id(id) => Role::from_id(*id),
            RoleInput::Name(name) => Role::parse(name),
        };
        role.ok_or_else(|| {
            ApiError::bad_data(
                "\"rootRole\" must be 1 (Admin), 2 (Editor) or 3 (Viewer), or one of those names",
            )
        })
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    /// Required unless `email` is given. Letters, digits and `._-`, no `@`.
    #[serde(default)]
    pub username: Option<String>,
    /// Required unless `username` is given. Either one signs in.
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Without one, the user cannot sign in until an admin sets a password.
    #[serde(default)]
    pub password: Option<String>,
    pub root_role: RoleInput,
    /// Accepted for compatibility; Flagpole sends no email.
    #[serde(default)]
    pub send_email: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUser {
    /// A new email; absent keeps it.
    #[serde(default)]
    pub email: Option<String>,
    /// A new name; absent keeps it.
    #[serde(default)]
    pub name: Option<String>,
    /// A new root role; absent keeps it.
    #[serde(default)]
    pub root_role: Option<RoleInput>,
}

/// A new user, validated.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Role,
}

fn blank_to_none(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn check_username(username: &str) -> ApiResult<()> {
    let valid = username.chars().count() <= validate::MAX_NAME_LENGTH
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_data(
            "\"username\" must be at most 100 letters, digits, '.', '_' or '-'",
        ))
    }
}

fn check_email(email: &str) -> ApiResult<()> {
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_data(format!(
            "\"{email}\" is not an email address"
        )))
    }
}

fn check_name(name: &Option<String>) -> ApiResult<()> {
    if name
        .as_ref()
        .is_some_and(|n| n.chars().count() > validate::MAX_NAME_LENGTH)
    {
        return Err(ApiError::bad_data(
            "\"name\" must be at most 100 characters long",
        ));
    }
    Ok(())
}

impl NewUser {
    pub fn validate(
        username: Option<String>,
        email: Option<String>,
        name: Option<String>,
        role: Role,
    ) -> ApiResult<NewUser> {
        let username = blank_to_none(username);
        let email = blank_to_none(email);
        let name = blank_to_none(name);
        if username.is_none() && email.is_none() {
            return Err(ApiError::bad_data(
                "A user needs a \"username\" or an \"email\" (or both)",
            ));
        }
        if let Some(username) = &username {
            check_username(username)?;
        }
        if let Some(email) = &email {
            check_email(email)?;
        }
        check_name(&name)?;
        Ok(NewUser {
            username,
            email,
            name,
            role,
        })
    }
}

/// The user with this id, or 404.
pub fn find(snapshot: &Snapshot, id: i64) -> ApiResult<&Versioned<User>> {
    snapshot
        .users
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("Could not find a user with id {id}.")))
}

/// The user who signs in with this username or email (any case).
pub fn find_by_login<'a>(snapshot: &'a Snapshot, login: &str) -> Option<&'a Versioned<User>> {
    let login = snapshot.user_logins.get(&login.trim().to_lowercase())?;
    snapshot.users.get(&login.value.user_id)
}

/// How a user's changes are attributed in the audit log.
pub fn actor(user: &User) -> Actor {
    Actor {
        name: user.display_name(),
        user_id: user.id,
    }
}

/// What the audit log keeps of a user: no password, no hash.
fn event_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "name": user.name,
        "rootRole": user.root_role.id(),
    })
}

/// A user's avatar, as Unleash links it: Gravatar's picture for the email (else the username
/// or name), which falls back to a generated pattern for addresses Gravatar does not know.
pub fn image_url(identity: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(identity.trim().to_lowercase().as_bytes());
    format!(
        "https://gravatar.com/avatar/{}?s=42&d=retro&r=g",
        hex::encode(digest)
    )
}

/// The Admin API JSON of a user (Unleash's `userSchema`).
pub fn admin_json(user: &User) -> Value {
    let identity = user
        .email
        .as_deref()
        .or(user.username.as_deref())
        .or(user.name.as_deref())
        .unwrap_or_default();
    let mut body = json!({
        "id": user.id,
        "rootRole": user.root_role.id(),
        "createdAt": user.created_at,
        "accountType": "User",
        "imageUrl": image_url(identity),
        // What Flagpole has no notion of (SCIM provisioning, seats, company roles, product
        // e-mails) is null, as on an Unleash user that never had it.
        "scimId": null,
        "seatType": null,
        "companyRole": null,
        "productUpdatesEmailConsent": null,
    });
    for (field, value) in [
        ("name", &user.name),
        ("username", &user.username),
        ("email", &user.email),
    ] {
        if let Some(value) = value {
            body[field] = json!(value);
        }
    }
    body
}

/// Unleash's `roleSchema` for a root role.
pub fn role_json(role: Role) -> Value {
    json!({
        "id": role.id(),
        "type": "root",
        "name": role.name(),
        "description": role.description(),
    })
}

/// Claims the sign-in names of `user`, releasing those of `previous` it no longer uses.
fn claim_logins(
    snapshot: &Snapshot,
    changes: &mut ChangeSet,
    user: &User,
    previous: Option<&User>,
) -> ApiResult<()> {
    let old = previous.map(User::logins).unwrap_or_default();
    let new = user.logins();
    for login in old.iter().filter(|login| !new.contains(login)) {
        if let Some(existing) = snapshot.user_logins.get(login) {
            changes.delete(kind::USER_LOGIN, login.clone(), existing);
        }
    }
    for login in new.iter().filter(|login| !old.contains(login)) {
        if snapshot.user_logins.contains_key(login) {
            // Unleash refuses a taken username or email as bad input.
            let is_email = user
                .email
                .as_deref()
                .is_some_and(|email| email.to_lowercase() == *login);
            let field = if is_email { "email" } else { "username" };
            return Err(ApiError::bad_data(format!(
                "The \"{field}\" {login} is already taken by another user"
            )));
        }
        changes.create(
            kind::USER_LOGIN,
            login.clone(),
            &UserLogin { user_id: user.id },
        )?;
    }
    Ok(())
}

fn admins_other_than(snapshot: &Snapshot, id: i64) -> usize {
    snapshot
        .users
        .values()
        .filter(|u| u.value.id != id && u.value.root_role == Role::Admin)
        .count()
}

/// Creates a user, with a password (checked against the policy) or without one.
pub async fn create(
    core: &Core,
    actor: &Actor,
    input: NewUser,
    password: Option<String>,
) -> ApiResult<User> {
    let password_hash = match password {
        Some(password) => {
            let names: Vec<&str> = [&input.username, &input.email]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            password::check_policy(&password, &names)?;
            Some(password::hash(password).await?)
        }
        None => None,
    };
    core.change(actor, |snapshot, changes| {
        build_create(snapshot, changes, &input, password_hash.clone())
    })
    .await
}

fn build_create(
    snapshot: &Snapshot,
    changes: &mut ChangeSet,
    input: &NewUser,
    password_hash: Option<PasswordHash>,
) -> ApiResult<User> {
    // Ids are handed out in order and never reused; two replicas choosing the same id conflict
    // in the store and the change is rebuilt.
    let user = User {
        id: snapshot.max_user_id + 1,
        username: input.username.clone(),
        email: input.email.clone(),
        name: input.name.clone(),
        root_role: input.role,
        password_hash,
        created_at: Utc::now(),
    };
    claim_logins(snapshot, changes, &user, None)?;
    changes.create(kind::USER, user.id.to_string(), &user)?;
    changes.record(Event::new(EventType::UserCreated).data(event_json(&user)));
    Ok(user)
}

/// Changes a user's email, name or role.
pub async fn update(core: &Core, actor: &Actor, id: i64, input: UpdateUser) -> ApiResult<User> {
    let role = input
        .root_role
        .as_ref()
        .map(RoleInput::resolve)
        .transpose()?;
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, id)?;
        let mut user = (*previous.value).clone();
        if let Some(email) = &input.email {
            user.email = blank_to_none(Some(email.clone()));
            if let Some(email) = &user.email {
                check_email(email)?;
            }
        }
        if let Some(name) = &input.name {
            user.name = blank_to_none(Some(name.clone()));
            check_name(&user.name)?;
        }
        if user.username.is_none() && user.email.is_none() {
            return Err(ApiError::bad_data(
                "A user without a username needs an \"email\"",
            ));
        }
        if let Some(role) = role {
            if previous.value.root_role == Role::Admin
                && role != Role::Admin
                && admins_other_than(snapshot, id) == 0
            {
                return Err(ApiError::bad_data(
                    "This is the last Admin user; make another user Admin first",
                ));
            }
            user.root_role = role;
        }
        if user == *previous.value {
            return Ok(user);
        }
        claim_logins(snapshot, changes, &user, Some(&previous.value))?;
        changes.update(kind::USER, id.to_string(), previous, &user)?;
        changes.record(
            Event::new(EventType::UserUpdated)
                .data(event_json(&user))
                .pre_data(event_json(&previous.value)),
        );
        Ok(user)
    })
    .await
}

/// Deletes a user with their personal access tokens, and ends their sessions.
pub async fn delete(core: &Core, actor: &Actor, id: i64) -> ApiResult<()> {
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, id)?;
        if previous.value.root_role == Role::Admin && admins_other_than(snapshot, id) == 0 {
            return Err(ApiError::bad_data(
                "This is the last Admin user; make another user Admin first",
            ));
        }
        for login in previous.value.logins() {
            if let Some(existing) = snapshot.user_logins.get(&login) {
                changes.delete(kind::USER_LOGIN, login, existing);
            }
        }
        for pat in snapshot.pats.values().filter(|p| p.value.user_id == id) {
            changes.delete(kind::PAT, pat.value.id.to_string(), pat);
        }
        changes.delete(kind::USER, id.to_string(), previous);
        changes.end_sessions(id);
        changes.record(Event::new(EventType::UserDeleted).pre_data(event_json(&previous.value)));
        Ok(())
    })
    .await
}

/// Sets a user's password (an admin's reset, or the user's own change once the old password
/// was checked) and ends all of the user's sessions.
pub async fn set_password(core: &Core, actor: &Actor, id: i64, password: String) -> ApiResult<()> {
    let snapshot = core.fresh().await?;
    let user = find(&snapshot, id)?.value.clone();
    let names: Vec<&str> = [&user.username, &user.email]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    password::check_policy(&password, &names)?;
    let hash = password::hash(password).await?;
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, id)?;
        let mut user = (*previous.value).clone();
        user.password_hash = Some(hash.clone());
        changes.update(kind::USER, id.to_string(), previous, &user)?;
        changes.end_sessions(id);
        changes.record(Event::new(EventType::UserPasswordChanged).data(json!({
            "id": user.id,
            "username": user.username,
            "email": user.email,
        })));
        Ok(())
    })
    .await
}

/// The user's own password change: the old password must be right.
pub async fn change_own_password(
    core: &Core,
    user: &User,
    old_password: String,
    new_password: String,
) -> ApiResult<()> {
    let snapshot = core.fresh().await?;
    let current = find(&snapshot, user.id)?.value.clone();
    if !password::verify(old_password, current.password_hash.clone()).await {
        return Err(ApiError::bad_data("The current password is not correct."));
    }
    set_password(core, &actor(&current), user.id, new_password).await
}

/// Creates the first Admin user when no user has ever existed. With `configured` credentials
/// that user is created with them; otherwise `admin` gets a random password, which is returned
/// so that the caller can show it once. Returns `None` when nothing was created.
pub async fn ensure_first_admin(
    core: &Core,
    configured: Option<(String, String)>,
) -> anyhow::Result<Option<(String, Option<String>)>> {
    if core.fresh().await.map_err(describe)?.max_user_id > 0 {
        return Ok(None);
    }
    let (username, password, generated) = match configured {
        Some((username, password)) => (username, password, false),
        None => ("admin".to_owned(), password::generate(), true),
    };
    let input = NewUser::validate(Some(username.clone()), None, None, Role::Admin)
        .map_err(|e| anyhow::anyhow!("UNLEASH_DEFAULT_ADMIN_USERNAME: {}", e.describe()))?;
    password::check_policy(&password, &[&username])
        .map_err(|e| anyhow::anyhow!("UNLEASH_DEFAULT_ADMIN_PASSWORD: {}", e.describe()))?;
    let hash = password::hash(password.clone()).await.map_err(describe)?;
    let created = core
        .change(&Actor::system(), |snapshot, changes| {
            // Another replica starting at the same time may have made it already.
            if snapshot.max_user_id > 0 {
                return Ok(false);
            }
            build_create(snapshot, changes, &input, Some(hash.clone()))?;
            Ok(true)
        })
        .await
        .map_err(describe)?;
    Ok(created.then(|| (username, generated.then_some(password))))
}

fn describe(error: ApiError) -> anyhow::Error {
    anyhow::anyhow!(error.describe())
}
