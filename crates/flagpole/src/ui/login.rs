//! Sign-in and sign-out pages.
//!
//! The sign-in form has no session to bind a CSRF token to, so it uses a double-submit token: a
//! random value in an HttpOnly, SameSite=Strict cookie scoped to `/login`, repeated in the form.
//! Another site can make a browser post the form but cannot read or set the cookie.

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup, DOCTYPE};
use rand::RngCore;

use super::{cookie, html, safe_next, Fields, Page, Posted, UiError, SET_COOKIE};
use crate::app::AppState;
use crate::auth::session::{self, is_secure, CSRF_FIELD};
use crate::auth::token::digests_match;
use crate::error::ApiError;

const LOGIN_COOKIE: &str = "flagpole-login";

#[derive(Debug, serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn login_cookie(value: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={value}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("flagpole-login=; Max-Age=0"))
}

fn new_token() -> String {
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    hex::encode(random)
}

fn render(token: &str, next: &str, username: &str, error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (super::layout::head("Sign in"))
            body.bare {
                main {
                    h1 { "Sign in to Flagpole" }
                    form method="post" action="/login" {
                        input type="hidden" name=(CSRF_FIELD) value=(token);
                        input type="hidden" name="next" value=(next);
                        @if let Some(error) = error {
                            p.error id="error-login" role="alert" { (error) }
                        }
                        div.field {
                            label for="username" { "Username or email" }
                            input id="username" name="username" type="text" autocomplete="username"
                                value=(username) required autofocus
                                aria-describedby=[error.map(|_| "error-login")];
                        }
                        div.field {
                            label for="password" { "Password" }
                            input id="password" name="password" type="password"
                                autocomplete="current-password" required;
                        }
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    }
}

fn answer(status: StatusCode, markup: Markup, cookies: Vec<HeaderValue>) -> Response {
    let mut response = (status, html(markup)).into_response();
    for value in cookies {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// `GET /login`: the form, or straight on when already signed in.
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Page {
    let next = safe_next(query.next.as_deref(), "/");
    if session::current(&state, &headers).await?.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    // Reuse the token of another open sign-in tab, so that either tab can sign in.
    let token = cookie(&headers, LOGIN_COOKIE)
        .filter(|t| t.len() == 64)
        .unwrap_or_else(new_token);
    let secure = is_secure(&state.sessions.settings, &headers);
    Ok(answer(
        StatusCode::OK,
        render(&token, &next, "", None),
        vec![login_cookie(&token, secure)],
    ))
}

/// `POST /login`: checks the form token, then the credentials (with the sign-in limit).
pub async fn submit(State(state): State<AppState>, request: Request) -> Page {
    let (parts, body) = request.into_parts();
    let form = Fields::read(body)
        .await
        .map_err(|_| UiError(ApiError::bad_data("The sign-in form is too large.")))?;
    let next = safe_next(form.opt("next").as_deref(), "/");
    let username = form.get("username").trim().to_owned();
    let secure = is_secure(&state.sessions.settings, &parts.headers);
    let expected = cookie(&parts.headers, LOGIN_COOKIE);
    let presented = form.get(CSRF_FIELD);
    let token_ok = expected
        .as_deref()
        .is_some_and(|expected| digests_match(presented, expected));
    if !token_ok {
        let token = new_token();
        return Ok(answer(
            StatusCode::FORBIDDEN,
            render(
                &token,
                &next,
                &username,
                Some("The sign-in form expired. Please try again."),
            ),
            vec![login_cookie(&token, secure)],
        ));
    }
    let password = form.get("password").to_owned();
    match session::sign_in(&state, &parts, &username, password).await {
        Ok(signed_in) => {
            let mut response = Redirect::to(&next).into_response();
            let headers = response.headers_mut();
            headers.append(SET_COOKIE, signed_in.set_cookie);
            headers.append(
                SET_COOKIE,
                HeaderValue::from_static(
                    "flagpole-login=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0",
                ),
            );
            Ok(response)
        }
        Err(ApiError::InvalidCredentials) => Ok(answer(
            StatusCode::UNAUTHORIZED,
            render(
                presented,
                &next,
                &username,
                Some("Invalid username or password"),
            ),
            vec![],
        )),
        Err(ApiError::TooManyRequests {
            retry_after_seconds,
        }) => Ok(answer(
            StatusCode::TOO_MANY_REQUESTS,
            render(
                presented,
                &next,
                &username,
                Some(&format!(
                    "Too many failed sign-ins. Try again in {} minutes.",
                    retry_after_seconds.div_ceil(60)
                )),
            ),
            vec![],
        )),
        Err(other) => Err(UiError(other)),
    }
}

/// `POST /sign-out`: ends the session.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap, posted: Posted) -> Page {
    let clearing = session::sign_out(&state, Some(&posted.ui.session), &headers).await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(SET_COOKIE, clearing);
    Ok(response)
}
