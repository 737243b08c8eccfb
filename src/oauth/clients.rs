//! Client registration and authentication (RFC 6749 §2.3).

use chrono::NaiveDateTime;
use serde::Serialize;

use super::secrets;
use super::OAuthError;
use crate::domain::client::validate_redirect_uri;
use crate::domain::{ClientType, GrantType, Scope};
use crate::store::clients::{self as store, ClientRow};
use crate::store::{DbConnection, StoreError};

#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub client_type: ClientType,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub scopes: Scope,
    pub audience: Option<String>,
    pub created_at: NaiveDateTime,
    /// Skips the consent page.
    pub first_party: bool,
    secret_hash: Option<Vec<u8>>,
}

impl Client {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// RFC 6749 §3.3: the requested scope must be among the client's; none requested means
    /// all of them.
    pub fn resolve_scope(&self, requested: Option<&str>) -> Result<Scope, OAuthError> {
        let Some(raw) = requested else {
            return Ok(self.scopes.clone());
        };
        let scope = Scope::parse(raw).map_err(|e| OAuthError::InvalidScope(e.to_string()))?;
        if !scope.is_subset_of(&self.scopes) {
            return Err(OAuthError::InvalidScope(
                "the requested scope exceeds what the client is registered for".into(),
            ));
        }
        Ok(scope)
    }

    pub fn view(&self) -> ClientView {
        ClientView {
            client_id: self.client_id.clone(),
            name: self.name.clone(),
            client_type: self.client_type.as_str(),
            grant_types: self.grant_types.iter().map(|g| g.as_str()).collect(),
            redirect_uris: self.redirect_uris.clone(),
            scopes: self.scopes.tokens().map(str::to_owned).collect(),
            audience: self.audience.clone(),
            created_at: crate::oauth::users::rfc3339(self.created_at),
            first_party: self.first_party,
            client_secret: None,
        }
    }
}

/// The client as the admin API and `--json` show it (CONTRACT §6).
#[derive(Debug, Clone, Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub client_type: &'static str,
    pub grant_types: Vec<&'static str>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    pub created_at: String,
    /// Tessera's addition: first-party clients skip the consent page.
    pub first_party: bool,
    /// Only in the answer to a registration: the one time the secret is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl TryFrom<ClientRow> for Client {
    type Error = anyhow::Error;
    fn try_from(row: ClientRow) -> Result<Self, Self::Error> {
        let grant_types = row
            .grant_types
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?;
        Ok(Self {
            client_type: row.client_type.parse().map_err(anyhow::Error::msg)?,
            grant_types,
            redirect_uris: row
                .redirect_uris
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            scopes: Scope::parse(&row.scopes)?,
            client_id: row.client_id,
            name: row.name,
            audience: row.audience,
            created_at: row.created_at,
            first_party: row.first_party,
            secret_hash: row.secret_hash,
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub client_type: ClientType,
    /// Empty means the default for the type: `client_credentials` for confidential clients,
    /// `authorization_code` + `refresh_token` for public ones.
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub audience: Option<String>,
    pub first_party: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Registers a client; a confidential one gets a 256-bit secret, returned here only.
pub fn register(conn: &mut DbConnection, new: NewClient) -> Result<ClientView, ClientError> {
    let invalid = |m: &str| ClientError::Invalid(m.to_owned());
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid("name must be 1 to 200 characters"));
    }
    let mut grants = new.grant_types.clone();
    if grants.is_empty() {
        grants = match new.client_type {
            ClientType::Confidential => vec![GrantType::ClientCredentials],
            ClientType::Public => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        };
    }
    grants.sort();
    grants.dedup();
    if new.client_type == ClientType::Public && grants.contains(&GrantType::ClientCredentials) {
        // RFC 6749 §4.4: client_credentials is for confidential clients only.
        return Err(invalid(
            "a public client cannot use the client_credentials grant",
        ));
    }
    for uri in &new.redirect_uris {
        validate_redirect_uri(uri).map_err(ClientError::Invalid)?;
    }
    if grants.contains(&GrantType::AuthorizationCode) && new.redirect_uris.is_empty() {
        return Err(invalid(
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    let scopes = Scope::from_tokens(&new.scopes)
        .map_err(|e| ClientError::Invalid(format!("scopes: {e}")))?;
    if let Some(aud) = &new.audience {
        if aud.trim().is_empty() || aud.chars().any(char::is_control) {
            return Err(invalid("audience must be a non-empty string"));
        }
    }

    let secret = (new.client_type == ClientType::Confidential).then(|| secrets::random_token(32));
    let row = ClientRow {
        client_id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        client_type: new.client_type.as_str().to_owned(),
        secret_hash: secret.as_deref().map(|s| secrets::sha256(s.as_bytes())),
        grant_types: grants
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        redirect_uris: new.redirect_uris.join(" "),
        scopes: scopes.to_string(),
        audience: new.audience,
        created_at: crate::domain::now(),
        first_party: new.first_party,
    };
    store::insert(conn, &row)?;
    let client = Client::try_from(row).map_err(|e| ClientError::Invalid(e.to_string()))?;
    let mut view = client.view();
    view.client_secret = secret;
    Ok(view)
}

pub fn find(conn: &mut DbConnection, client_id: &str) -> Result<Option<Client>, OAuthError> {
    store::find(conn, client_id)?
        .map(Client::try_from)
        .transpose()
        .map_err(OAuthError::Internal)
}

/// The credentials a request carried, extracted by the web layer.
#[derive(Default)]
pub struct PresentedClient {
    /// The `Authorization: Basic …` credentials, decoded (`client_secret_basic`).
    pub basic: Option<(String, String)>,
    /// `client_id` from the body (`client_secret_post`, or `none` for public clients).
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for PresentedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedClient")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Decodes an `Authorization` header value of the Basic scheme (RFC 6749 §2.3.1: the id and
/// secret are form-urlencoded before base64).
pub fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    use base64::Engine;
    let bad = || OAuthError::InvalidClient("malformed Basic credentials".into());
    let (scheme, b64) = header.trim().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = raw.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| bad())
    };
    Ok((decode(id)?, decode(secret)?))
}

/// Registered clients, cached briefly: looking one up on every token request costs more than
/// a quarter of the CPU a `client_credentials` token takes. An admin deleting a client here
/// evicts it at once; other instances (and `tessera clients delete`) are seen within the TTL,
/// and the client's sessions are revoked at once either way.
pub struct ClientCache {
    ttl: std::time::Duration,
    entries: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, Client)>>,
}

impl ClientCache {
    const MAX_ENTRIES: usize = 10_000;

    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            entries: Default::default(),
        }
    }

    fn get(&self, client_id: &str) -> Option<Client> {
        let entries = self.entries.lock().expect("client cache poisoned");
        entries
            .get(client_id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, client)| client.clone())
    }

    fn put(&self, client: Client) {
        let mut entries = self.entries.lock().expect("client cache poisoned");
        if entries.len() >= Self::MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            client.client_id.clone(),
            (std::time::Instant::now(), client),
        );
    }

    pub fn evict(&self, client_id: &str) {
        self.entries
            .lock()
            .expect("client cache poisoned")
            .remove(client_id);
    }
}

/// A registered client, from the cache or the database.
pub async fn lookup(
    provider: &super::Provider,
    client_id: &str,
) -> Result<Option<Client>, OAuthError> {
    if let Some(client) = provider.clients.get(client_id) {
        return Ok(Some(client));
    }
    let id = client_id.to_owned();
    let client = provider.db(move |conn| find(conn, &id)).await?;
    if let Some(client) = &client {
        provider.clients.put(client.clone());
    }
    Ok(client)
}

/// Authenticates the client of a token request. A confidential client must prove its secret;
/// a public client sends its id alone. Every failure is `invalid_client` (401).
pub async fn authenticate(
    provider: &super::Provider,
    presented: PresentedClient,
) -> Result<Client, OAuthError> {
    let (client_id, secret) = match (
        presented.basic,
        presented.client_id,
        presented.client_secret,
    ) {
        (Some(_), _, Some(_)) => {
            // RFC 6749 §2.3: a client must not use more than one authentication method.
            return Err(OAuthError::invalid_request(
                "use either HTTP Basic or client_secret in the body, not both",
            ));
        }
        (Some((id, secret)), body_id, None) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the Basic credentials",
                ));
            }
            (id, Some(secret))
        }
        (None, Some(id), secret) => (id, secret),
        (None, None, _) => {
            return Err(OAuthError::InvalidClient(
                "client authentication is required".into(),
            ));
        }
    };
    if client_id.is_empty() || client_id.len() > 200 {
        return Err(OAuthError::InvalidClient(
            "unknown client or wrong secret".into(),
        ));
    }
    let client = lookup(provider, &client_id).await?;
    let failed = || OAuthError::InvalidClient("unknown client or wrong secret".into());
    let Some(client) = client else {
        // Same work as a real check, so timing does not tell which ids exist.
        secrets::matches_hash(secret.as_deref().unwrap_or(""), &[0u8; 32]);
        return Err(failed());
    };
    match (&client.secret_hash, secret) {
        (Some(hash), Some(secret)) if secrets::matches_hash(&secret, hash) => Ok(client),
        (None, None) => Ok(client),
        _ => Err(failed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        // "a b:c%3Ad" after urlencoding is "a+b:c%253Ad"
        let header = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "a+b:c%3Ad")
        );
        assert_eq!(parse_basic(&header).unwrap(), ("a b".into(), "c:d".into()));
        assert!(parse_basic("Bearer x").is_err());
        assert!(parse_basic("Basic !!!").is_err());
    }
}
