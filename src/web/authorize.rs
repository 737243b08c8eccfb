//! The browser side of sign-in: `GET /oauth/authorize`, the login and consent forms, and
//! RP-initiated logout. The protocol decisions live in `oauth::authorize` and `oauth::browser`.

use actix_web::cookie::{time::Duration as CookieAge, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use subtle::ConstantTimeEq;

use super::body::{read_limited, urlencoded_pairs};
use super::pages::{self, ConsentPage, LoginPage, SignedOutPage};
use super::State;
use crate::oauth::authorize::{self, AuthorizationRequest, AuthorizeError};
use crate::oauth::browser::{self, SignedIn, CSRF_COOKIE, SESSION_COOKIE};
use crate::oauth::grants::check_credentials;
use crate::oauth::jwt::JwtType;
use crate::oauth::tokens::IdClaims;
use crate::oauth::{clients, secrets, OAuthError, Provider};

/// `GET /oauth/authorize`
#[tracing::instrument(name = "authorize", skip_all)]
pub async fn authorize(req: HttpRequest, provider: State) -> HttpResponse {
    let pairs = urlencoded_pairs(req.query_string().as_bytes());
    let request = match authorize::validate(&provider, pairs).await {
        Ok(request) => request,
        Err(e) => return authorize_error(&provider, e),
    };
    let signed_in = match browser::current(&provider, cookie(&req, SESSION_COOKIE).as_deref()).await
    {
        Ok(s) => s,
        Err(e) => return server_error(e),
    };
    let csrf = csrf_token(&req);
    let response = match signed_in {
        Some(session) => proceed(&provider, &request, &session, &csrf, StatusCode::OK).await,
        None => login_page(&request, &csrf, "", None, StatusCode::OK),
    };
    with_csrf_cookie(response, &csrf, &provider)
}

/// `POST /oauth/authorize/login`
#[tracing::instrument(name = "authorize_login", skip_all)]
pub async fn login(req: HttpRequest, payload: web::Payload, provider: State) -> HttpResponse {
    let (fields, request) = match form_request(&req, payload, &provider).await {
        Ok(parsed) => parsed,
        Err(response) => return response,
    };
    let csrf = csrf_token(&req);
    let username = field(&fields, "username").unwrap_or_default();
    let password = field(&fields, "password").unwrap_or_default();
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    if !provider.login_throttle.allows(&username, &address) {
        let message = "Too many attempts. Wait a few minutes and try again.";
        return login_page(
            &request,
            &csrf,
            &username,
            Some(message),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let user = match check_credentials(&provider, username.clone(), password).await {
        Ok(user) => user,
        Err(e) => return server_error(e),
    };
    let Some(user) = user else {
        provider.login_throttle.record_failure(&username, &address);
        // The same words whichever part was wrong.
        let message = "Invalid username or password.";
        return login_page(
            &request,
            &csrf,
            &username,
            Some(message),
            StatusCode::UNAUTHORIZED,
        );
    };
    let (cookie_value, session) = match browser::sign_in(&provider, &user).await {
        Ok(s) => s,
        Err(e) => return server_error(e),
    };
    let mut response = proceed(&provider, &request, &session, &csrf, StatusCode::OK).await;
    let cookie = Cookie::build(SESSION_COOKIE, cookie_value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(provider.issuer.starts_with("https://"))
        .max_age(CookieAge::seconds(
            provider.settings.refresh_token_ttl.as_secs() as i64,
        ))
        .finish();
    let _ = response.add_cookie(&cookie);
    response
}

/// `POST /oauth/authorize/consent`
#[tracing::instrument(name = "authorize_consent", skip_all)]
pub async fn consent(req: HttpRequest, payload: web::Payload, provider: State) -> HttpResponse {
    let (fields, request) = match form_request(&req, payload, &provider).await {
        Ok(parsed) => parsed,
        Err(response) => return response,
    };
    let csrf = csrf_token(&req);
    let session = match browser::current(&provider, cookie(&req, SESSION_COOKIE).as_deref()).await {
        Ok(Some(session)) => session,
        Ok(None) => return login_page(&request, &csrf, "", None, StatusCode::OK),
        Err(e) => return server_error(e),
    };
    if field(&fields, "decision").as_deref() != Some("allow") {
        let url = authorize::error_redirect(
            &request.redirect_uri,
            "access_denied",
            "the user denied the request",
            request.state.as_deref(),
            &provider.issuer,
        );
        return redirect(&url);
    }
    if let Err(e) = authorize::record_consent(&provider, &request, &session.user_id).await {
        return server_error(e);
    }
    issue(&provider, &request, &session).await
}

/// `GET|POST /oauth/logout` (OpenID Connect RP-Initiated Logout 1.0).
#[tracing::instrument(name = "logout", skip_all)]
pub async fn logout(req: HttpRequest, provider: State) -> HttpResponse {
    let params = urlencoded_pairs(req.query_string().as_bytes());
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    if let Some(value) = cookie(&req, SESSION_COOKIE) {
        match browser::sign_out(&provider, &value).await {
            Ok(revoked) => tracing::info!(event = "logout", sessions_revoked = revoked),
            Err(e) => return server_error(e),
        }
    }
    let target = post_logout_target(
        &provider,
        get("client_id"),
        get("id_token_hint"),
        get("post_logout_redirect_uri"),
    )
    .await;
    let mut response = match target {
        Some(uri) => {
            let state = get("state");
            let url = match &state {
                Some(state) => authorize::with_query(&uri, &[("state", state)]),
                None => uri,
            };
            redirect(&url)
        }
        None => pages::render(StatusCode::OK, &SignedOutPage),
    };
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    let _ = response.add_cookie(&gone);
    response
}

/// Where to send the browser after logout: only a URI registered for the client named by
/// `client_id` or by the ID token hint's audience.
async fn post_logout_target(
    provider: &Provider,
    client_id: Option<String>,
    hint: Option<String>,
    uri: Option<String>,
) -> Option<String> {
    let uri = uri?;
    let from_hint = hint.and_then(|h| {
        provider
            .keys
            .current()
            .verify_for::<IdClaims>(&h, JwtType::Plain, &provider.issuer, None)
            .ok()
            .map(|claims| claims.aud)
    });
    let client_id = client_id.or(from_hint)?;
    let client = provider
        .db(move |conn| clients::find(conn, &client_id))
        .await
        .ok()??;
    client.redirect_uris.contains(&uri).then_some(uri)
}

/// After sign-in: the consent page if the client needs it, else a code.
async fn proceed(
    provider: &Provider,
    request: &AuthorizationRequest,
    session: &SignedIn,
    csrf: &str,
    status: StatusCode,
) -> HttpResponse {
    match authorize::needs_consent(provider, request, &session.user_id).await {
        Ok(true) => {
            let page = ConsentPage {
                client_name: &request.client.name,
                username: &session.username,
                scopes: request.scope.tokens().collect(),
                csrf_token: csrf,
                carried: &request.params,
            };
            pages::render(status, &page)
        }
        Ok(false) => issue(provider, request, session).await,
        Err(e) => server_error(e),
    }
}

async fn issue(
    provider: &Provider,
    request: &AuthorizationRequest,
    session: &SignedIn,
) -> HttpResponse {
    match authorize::issue_code(
        provider,
        request,
        &session.user_id,
        session.auth_time,
        session.id_hash.clone(),
    )
    .await
    {
        Ok(url) => redirect(&url),
        Err(e) => server_error(e),
    }
}

/// Reads a login or consent form: checks its CSRF token, then re-validates the authorization
/// request it carries (nothing in a form is trusted for having been rendered by us).
async fn form_request(
    req: &HttpRequest,
    payload: web::Payload,
    provider: &Provider,
) -> Result<(Vec<(String, String)>, AuthorizationRequest), HttpResponse> {
    let is_form =
        super::body::media_type(req).as_deref() == Some("application/x-www-form-urlencoded");
    let body = read_limited(payload).await.map_err(|e| e.into_response())?;
    if !is_form {
        return Err(pages::error(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form could not be read.",
        ));
    }
    let fields = urlencoded_pairs(&body);
    let presented = field(&fields, "csrf_token").unwrap_or_default();
    let expected = cookie(req, CSRF_COOKIE).unwrap_or_default();
    let valid = !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()));
    if !valid {
        return Err(pages::error(
            StatusCode::FORBIDDEN,
            "The form has expired",
            "Go back to the application and start signing in again.",
        ));
    }
    let request = authorize::validate(provider, fields.clone())
        .await
        .map_err(|e| authorize_error(provider, e))?;
    Ok((fields, request))
}

fn login_page(
    request: &AuthorizationRequest,
    csrf: &str,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let page = LoginPage {
        client_name: &request.client.name,
        csrf_token: csrf,
        carried: &request.params,
        username,
        error,
    };
    pages::render(status, &page)
}

fn authorize_error(provider: &Provider, e: AuthorizeError) -> HttpResponse {
    match e {
        AuthorizeError::Page(message) => pages::error(
            StatusCode::BAD_REQUEST,
            "This sign-in link is not valid",
            &message,
        ),
        AuthorizeError::Redirect {
            redirect_uri,
            error,
            description,
            state,
        } => redirect(&authorize::error_redirect(
            &redirect_uri,
            error,
            &description,
            state.as_deref(),
            &provider.issuer,
        )),
        AuthorizeError::Server(e) => server_error(e),
    }
}

fn server_error(e: OAuthError) -> HttpResponse {
    tracing::error!(error = ?e, "browser sign-in failed");
    pages::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again in a moment.",
    )
}

/// `303 See Other`: after a POST the browser follows with a GET.
fn redirect(url: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name).map(|c| c.value().to_owned())
}

/// The browser's CSRF token (double-submit: a cookie and a hidden field that must match),
/// created on first sight.
fn csrf_token(req: &HttpRequest) -> String {
    cookie(req, CSRF_COOKIE)
        .filter(|c| c.len() == 43)
        .unwrap_or_else(|| secrets::random_token(32))
}

fn with_csrf_cookie(mut response: HttpResponse, csrf: &str, provider: &Provider) -> HttpResponse {
    let cookie = Cookie::build(CSRF_COOKIE, csrf.to_owned())
        .path("/oauth")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(provider.issuer.starts_with("https://"))
        .finish();
    let _ = response.add_cookie(&cookie);
    response
}

fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}
