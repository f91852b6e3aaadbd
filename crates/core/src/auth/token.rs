//! The registry token flow as a state machine. It never performs I/O and never reads a
//! clock: the caller sends the requests it describes and passes `now` in unix seconds.
//!
//! One [`TokenFlow`] serves one registry host. For each request the caller asks
//! [`TokenFlow::authorization`] for a header; on a 401 it hands the challenges to
//! [`TokenFlow::on_unauthorized`], performs any [`Step::Fetch`] and reports the answer to
//! [`TokenFlow::on_token_response`], until a [`Step::Retry`] says to resend.

use super::challenge::Challenge;
use super::credentials::{basic_header, redact, Credential, REDACTED};
use crate::url::{percent_encode_component, Url};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// The OAuth2 `client_id` the token endpoint sees.
pub const CLIENT_ID: &str = "imagescope";
/// The token spec's default lifetime, and the shortest a client should assume.
const MIN_EXPIRES_IN: u64 = 60;
/// Tokens are dropped this long before they expire, so a request never carries one that
/// runs out in flight.
const EXPIRY_MARGIN: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// OAuth2 `grant_type=refresh_token` POST.
    OAuthPost,
    /// The token spec's GET.
    Get,
}

/// A request to the token endpoint for the caller to perform.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// The form body of a POST.
    pub body: Option<String>,
    attempt: Attempt,
    realm: String,
    service: Option<String>,
    scopes: Vec<String>,
    /// The scope of the registry request that needed the token: the cache key.
    for_scope: String,
    /// Made because a token was refused: a second refusal is final.
    reauth: bool,
}

impl TokenRequest {
    /// The scopes asked for, the registry request's own first.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), if k.eq_ignore_ascii_case("authorization") { REDACTED } else { v.as_str() }))
            .collect();
        f.debug_struct("TokenRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &self.body.as_deref().map(redact))
            .field("attempt", &self.attempt)
            .field("scopes", &self.scopes)
            .field("reauth", &self.reauth)
            .finish()
    }
}

/// What the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// [`TokenFlow::authorization`] now yields the header: resend the request.
    Retry,
    /// Perform this request, then call [`TokenFlow::on_token_response`].
    Fetch(TokenRequest),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the registry answered 401 without a Basic or Bearer challenge (it offered: {offered}); imagescope can answer only those two")]
    NoUsableChallenge { offered: String },
    #[error(
        "the registry's Bearer challenge names no realm, so there is no token endpoint to ask; the registry's token auth is misconfigured"
    )]
    MissingRealm,
    #[error("the registry's token realm {realm:?} is not a usable URL ({problem}); the registry's token auth is misconfigured")]
    InvalidRealm { realm: String, problem: String },
    #[error("refusing the plain-http token endpoint {realm} of the https registry {registry}: credentials and tokens would cross the network unencrypted. The registry must name an https realm")]
    InsecureRealm { realm: String, registry: String },
    #[error("refusing the token endpoint {realm} of registry {registry}: {reason}")]
    RealmNotAllowed { realm: String, registry: String, reason: String },
    #[error("the registry asks for a username and password (HTTP Basic), but {have} was given; enter a username and password")]
    MissingCredentialsForBasic { have: String },
    #[error("the registry refused {sent} even after a fresh attempt; check the username and password, and that the account may pull this repository")]
    CredentialsRejected { scheme: &'static str, sent: String },
    #[error("the token endpoint refused the request with HTTP {status}")]
    TokenEndpoint { status: u16, body: String },
    #[error("the token endpoint's answer is not a usable token response: {0}")]
    BadTokenResponse(String),
}

struct CachedToken {
    token: String,
    expires_at: u64,
    via_reauth: bool,
}

/// The token state for one registry host.
pub struct TokenFlow {
    credential: Credential,
    registry: Url,
    /// A Basic challenge was answered: every request now carries Basic.
    basic: bool,
    /// Realm and service of the latest Bearer challenge.
    endpoint: Option<(String, Option<String>)>,
    /// Keyed by (realm, service, scope).
    tokens: HashMap<(String, String, String), CachedToken>,
    /// A refresh token the token endpoint handed out, used for later OAuth2 refreshes.
    refresh_token: Option<String>,
    /// Realms whose OAuth2 POST failed: they are asked with GET from then on.
    oauth_refused: Vec<String>,
}

impl fmt::Debug for TokenFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFlow")
            .field("credential", &self.credential)
            .field("registry", &self.registry.to_string())
            .field("basic", &self.basic)
            .field("endpoint", &self.endpoint)
            .field("cached_tokens", &self.tokens.len())
            .field("refresh_token", &self.refresh_token.as_deref().map(redact))
            .finish()
    }
}

fn cache_key(realm: &str, service: Option<&str>, scope: &str) -> (String, String, String) {
    (realm.to_string(), service.unwrap_or_default().to_string(), scope.to_string())
}

/// The request's scope first (some registries read only the first), then the challenge's
/// scopes it lacks, which is how an `insufficient_scope` challenge widens the token.
fn merge_scopes(scope: &str, challenge_scope: Option<&str>) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for s in std::iter::once(scope).chain(challenge_scope.into_iter().flat_map(str::split_whitespace)) {
        if !s.is_empty() && !scopes.iter().any(|have| have == s) {
            scopes.push(s.to_string());
        }
    }
    scopes
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", percent_encode_component(k), percent_encode_component(v))).collect::<Vec<_>>().join("&")
}

fn is_internal(url: &Url) -> bool {
    url.host_is_loopback() || url.host_is_private_or_link_local_ip()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// An RFC 3339 timestamp (`2024-05-01T12:00:00.5+02:00`) as unix seconds.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = s.get(range)?;
        if digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse().ok()
        } else {
            None
        }
    };
    let at = |i: usize| s.as_bytes().get(i).copied();
    if at(4) != Some(b'-')
        || at(7) != Some(b'-')
        || !matches!(at(10), Some(b'T' | b't' | b' '))
        || at(13) != Some(b':')
        || at(16) != Some(b':')
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = s.get(19..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = rest.get(1..)?;
            let (h, m) = zone.split_once(':')?;
            if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
                return None;
            }
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn expires_in(response: &serde_json::Map<String, Value>) -> u64 {
    let given = match response.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    given.unwrap_or(MIN_EXPIRES_IN).max(MIN_EXPIRES_IN)
}

impl TokenFlow {
    /// `registry` is the registry's base URL; realms are judged against it.
    pub fn new(credential: Credential, registry: &Url) -> TokenFlow {
        TokenFlow {
            credential,
            registry: registry.clone(),
            basic: false,
            endpoint: None,
            tokens: HashMap::new(),
            refresh_token: None,
            oauth_refused: Vec::new(),
        }
    }

    /// The `Authorization` header value to send now for a request needing `scope`, if one is
    /// known: Basic once a Basic challenge was seen, a cached unexpired Bearer token, or the
    /// registry token (always, as Bearer).
    pub fn authorization(&self, scope: &str, now: u64) -> Option<String> {
        match &self.credential {
            Credential::RegistryToken(token) => return Some(format!("Bearer {token}")),
            Credential::Basic { username, password } if self.basic => return Some(basic_header(username, password)),
            _ => {}
        }
        self.cached(scope, now).map(|t| format!("Bearer {}", t.token))
    }

    fn cached(&self, scope: &str, now: u64) -> Option<&CachedToken> {
        let (realm, service) = self.endpoint.as_ref()?;
        self.tokens.get(&cache_key(realm, service.as_deref(), scope)).filter(|t| now < t.expires_at)
    }

    /// The registry answered 401 with `challenges` to a request needing `scope`.
    pub fn on_unauthorized(&mut self, challenges: &[Challenge], scope: &str, now: u64) -> Result<Step, AuthError> {
        let chosen =
            challenges.iter().find(|c| c.scheme() == "bearer").or_else(|| challenges.iter().find(|c| c.scheme() == "basic")).ok_or_else(
                || AuthError::NoUsableChallenge { offered: challenges.iter().map(Challenge::scheme).collect::<Vec<_>>().join(", ") },
            )?;
        if let Credential::RegistryToken(_) = self.credential {
            return Err(AuthError::CredentialsRejected { scheme: "Bearer", sent: "the registry token".to_string() });
        }
        if chosen.scheme() == "basic" {
            let Credential::Basic { username, .. } = &self.credential else {
                return Err(AuthError::MissingCredentialsForBasic { have: self.credential.describe() });
            };
            if self.basic {
                return Err(AuthError::CredentialsRejected { scheme: "Basic", sent: format!("the password of {username:?}") });
            }
            self.basic = true;
            return Ok(Step::Retry);
        }
        self.basic = false;
        let realm_text = chosen.realm().filter(|r| !r.is_empty()).ok_or(AuthError::MissingRealm)?;
        let realm = self.check_realm(realm_text)?;
        let mut reauth = false;
        if self.cached(scope, now).is_some() {
            let (old_realm, old_service) = self.endpoint.clone().unwrap_or_default();
            let refused = self.tokens.remove(&cache_key(&old_realm, old_service.as_deref(), scope));
            if refused.is_some_and(|t| t.via_reauth) {
                return Err(AuthError::CredentialsRejected {
                    scheme: "Bearer",
                    sent: format!("a token obtained with {} for {scope}", self.credential.describe()),
                });
            }
            reauth = true;
        }
        let service = chosen.service().filter(|s| !s.is_empty()).map(str::to_string);
        self.endpoint = Some((realm_text.to_string(), service.clone()));
        let attempt =
            if self.refresh().is_some() && !self.oauth_refused.iter().any(|r| r == realm_text) { Attempt::OAuthPost } else { Attempt::Get };
        let request = TokenRequest {
            method: "GET",
            url: String::new(),
            headers: Vec::new(),
            body: None,
            attempt,
            realm: realm_text.to_string(),
            service,
            scopes: merge_scopes(scope, chosen.scope()),
            for_scope: scope.to_string(),
            reauth,
        };
        Ok(Step::Fetch(self.build(request, &realm)))
    }

    /// The token endpoint answered a request made from [`Step::Fetch`].
    pub fn on_token_response(&mut self, request: &TokenRequest, status: u16, body: &[u8], now: u64) -> Result<Step, AuthError> {
        if request.attempt == Attempt::OAuthPost && matches!(status, 400 | 401 | 404 | 405) {
            if !self.oauth_refused.contains(&request.realm) {
                self.oauth_refused.push(request.realm.clone());
            }
            let realm = self.check_realm(&request.realm)?;
            let fallback = TokenRequest { attempt: Attempt::Get, ..request.clone() };
            return Ok(Step::Fetch(self.build(fallback, &realm)));
        }
        if !(200..300).contains(&status) {
            return Err(AuthError::TokenEndpoint { status, body: String::from_utf8_lossy(body).into_owned() });
        }
        let bad = |problem: &str| AuthError::BadTokenResponse(problem.to_string());
        let value: Value = serde_json::from_slice(body).map_err(|_| bad("it is not JSON"))?;
        let Value::Object(response) = value else {
            return Err(bad("it is not a JSON object"));
        };
        let text = |key: &str| -> Result<Option<String>, AuthError> {
            match response.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(AuthError::BadTokenResponse(format!("its {key} is not a string"))),
            }
        };
        let token = match (text("access_token")?, text("token")?) {
            (Some(access), _) => access,
            (None, Some(token)) => token,
            (None, None) => return Err(bad("it has neither token nor access_token")),
        };
        let lifetime = expires_in(&response);
        let issued_at = match response.get("issued_at") {
            Some(Value::String(s)) => parse_rfc3339(s).and_then(|t| u64::try_from(t).ok()),
            _ => None,
        };
        let start =
            issued_at.filter(|t| *t > 0 && *t <= now && t.saturating_add(lifetime) > now.saturating_add(EXPIRY_MARGIN)).unwrap_or(now);
        if let Some(refresh) = text("refresh_token")? {
            self.refresh_token = Some(refresh);
        }
        self.endpoint = Some((request.realm.clone(), request.service.clone()));
        self.tokens.insert(
            cache_key(&request.realm, request.service.as_deref(), &request.for_scope),
            CachedToken { token, expires_at: start.saturating_add(lifetime).saturating_sub(EXPIRY_MARGIN), via_reauth: request.reauth },
        );
        Ok(Step::Retry)
    }

    /// The OAuth2 refresh token to present: one the endpoint handed out, else the identity token.
    fn refresh(&self) -> Option<&str> {
        if let Some(token) = &self.refresh_token {
            return Some(token);
        }
        match &self.credential {
            Credential::IdentityToken { token, .. } => Some(token),
            _ => None,
        }
    }

    fn username(&self) -> Option<&str> {
        match &self.credential {
            Credential::Basic { username, .. } | Credential::IdentityToken { username, .. } if !username.is_empty() => Some(username),
            _ => None,
        }
    }

    /// Fills in method, URL, headers and body for the request's attempt.
    fn build(&self, mut request: TokenRequest, realm: &Url) -> TokenRequest {
        let service = request.service.clone().unwrap_or_default();
        match (request.attempt, self.refresh()) {
            (Attempt::OAuthPost, Some(refresh)) => {
                let scope = request.scopes.join(" ");
                let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
                if !service.is_empty() {
                    pairs.push(("service", service.as_str()));
                }
                pairs.push(("client_id", CLIENT_ID));
                if !scope.is_empty() {
                    pairs.push(("scope", scope.as_str()));
                }
                request.method = "POST";
                request.url = realm.to_string();
                request.headers = vec![("Content-Type".to_string(), "application/x-www-form-urlencoded".to_string())];
                request.body = Some(form(&pairs));
            }
            _ => {
                request.attempt = Attempt::Get;
                let mut pairs: Vec<(&str, &str)> = Vec::new();
                if !service.is_empty() {
                    pairs.push(("service", service.as_str()));
                }
                for scope in &request.scopes {
                    pairs.push(("scope", scope.as_str()));
                }
                if let Some(user) = self.username() {
                    pairs.push(("account", user));
                }
                request.method = "GET";
                request.url = realm.with_query_pairs(&pairs).to_string();
                request.headers = match &self.credential {
                    Credential::Basic { username, password } if !username.is_empty() => {
                        vec![("Authorization".to_string(), basic_header(username, password))]
                    }
                    _ => Vec::new(),
                };
                request.body = None;
            }
        }
        request
    }

    /// The realm must be http(s); https unless the registry itself is plain http; and not a
    /// loopback, private or link-local IP literal unless the registry is such a host too, so a
    /// registry cannot aim its clients (and their credentials) at their own network.
    fn check_realm(&self, realm_text: &str) -> Result<Url, AuthError> {
        let realm =
            Url::parse(realm_text).map_err(|e| AuthError::InvalidRealm { realm: realm_text.to_string(), problem: e.to_string() })?;
        let registry = self.registry.to_string();
        if !realm.is_https() && self.registry.is_https() {
            return Err(AuthError::InsecureRealm { realm: realm.to_string(), registry });
        }
        if is_internal(&realm) && !is_internal(&self.registry) {
            return Err(AuthError::RealmNotAllowed {
                realm: realm.to_string(),
                registry,
                reason: "it is a loopback, private or link-local address while the registry is not; a registry may not send its clients' credentials into their own network".to_string(),
            });
        }
        Ok(realm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::challenge::parse_www_authenticate;
    use crate::url::parse_query;

    const NOW: u64 = 1_700_000_000;
    const SCOPE: &str = "repository:library/busybox:pull";
    const CHALLENGE: &str =
        r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:library/busybox:pull""#;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn basic(u: &str, p: &str) -> Credential {
        Credential::Basic { username: u.into(), password: p.into() }
    }

    fn identity(u: &str, t: &str) -> Credential {
        Credential::IdentityToken { username: u.into(), token: t.into() }
    }

    /// One exchange the script expects, and the answer it gives.
    #[derive(Debug)]
    enum Io {
        /// A registry request: the Authorization it must carry, and the answer.
        Registry { auth: Option<&'static str>, status: u16, challenge: &'static str },
        /// A token request: method, the query (GET) or form (POST) pairs, the Authorization
        /// it must carry, and the answer.
        Token {
            method: &'static str,
            pairs: &'static [(&'static str, &'static str)],
            auth: Option<&'static str>,
            status: u16,
            body: &'static str,
        },
    }

    fn registry(auth: Option<&'static str>, status: u16, challenge: &'static str) -> Io {
        Io::Registry { auth, status, challenge }
    }

    fn pairs_of(request: &TokenRequest) -> Vec<(String, String)> {
        match request.method {
            "POST" => parse_query(request.body.as_deref().unwrap_or_default()),
            _ => parse_query(request.url.split_once('?').map_or("", |(_, q)| q)),
        }
    }

    fn header<'a>(request: &'a TokenRequest, name: &str) -> Option<&'a str> {
        request.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Plays the registry client's part against a script: sends, answers challenges, fetches
    /// tokens. Returns the Authorization of the request that finally succeeded.
    fn drive(flow: &mut TokenFlow, scope: &str, now: u64, script: &[Io]) -> Result<Option<String>, AuthError> {
        let mut script = script.iter();
        let outcome = (|| loop {
            let sent = flow.authorization(scope, now);
            let Some(Io::Registry { auth, status, challenge }) = script.next() else {
                panic!("the flow sent a registry request the script does not expect (Authorization {sent:?})");
            };
            assert_eq!(sent.as_deref(), *auth, "Authorization of the registry request");
            if *status != 401 {
                return Ok(sent);
            }
            let challenges = parse_www_authenticate(challenge).unwrap();
            let mut step = flow.on_unauthorized(&challenges, scope, now)?;
            while let Step::Fetch(request) = step {
                let Some(Io::Token { method, pairs, auth, status, body }) = script.next() else {
                    panic!("the flow fetched a token the script does not expect: {request:?}");
                };
                assert_eq!(request.method, *method);
                let want: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                assert_eq!(pairs_of(&request), want, "{request:?}");
                assert_eq!(header(&request, "authorization"), *auth, "Authorization of the token request");
                step = flow.on_token_response(&request, *status, body.as_bytes(), now)?;
            }
        })();
        let rest: Vec<&Io> = script.collect();
        assert!(rest.is_empty(), "the script expected more exchanges: {rest:?}");
        outcome
    }

    /// One scripted flow: who authenticates, the exchanges, and what must come out.
    struct Case<'a> {
        name: &'static str,
        credential: Credential,
        script: &'a [Io],
        check: fn(&Result<Option<String>, AuthError>) -> bool,
    }

    const GET_PAIRS: &[(&str, &str)] = &[("service", "registry.example.com"), ("scope", SCOPE)];
    const TOKEN_T1: &str = r#"{"token":"t1","expires_in":300}"#;

    #[test]
    fn scripted_flows() {
        let anonymous_get = [
            registry(None, 401, CHALLENGE),
            Io::Token { method: "GET", pairs: GET_PAIRS, auth: None, status: 200, body: TOKEN_T1 },
            registry(Some("Bearer t1"), 200, ""),
        ];
        let widened = [
            registry(
                None,
                401,
                r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:library/other:pull""#,
            ),
            Io::Token {
                method: "GET",
                pairs: &[("service", "registry.example.com"), ("scope", SCOPE), ("scope", "repository:library/other:pull")],
                auth: None,
                status: 200,
                body: TOKEN_T1,
            },
            registry(Some("Bearer t1"), 200, ""),
        ];
        let basic_get = [
            registry(None, 401, CHALLENGE),
            Io::Token {
                method: "GET",
                pairs: &[("service", "registry.example.com"), ("scope", SCOPE), ("account", "user")],
                auth: Some("Basic dXNlcjpwYXNz"),
                status: 200,
                body: r#"{"token":"t2"}"#,
            },
            registry(Some("Bearer t2"), 200, ""),
        ];
        let identity_post = [
            registry(None, 401, CHALLENGE),
            Io::Token {
                method: "POST",
                pairs: &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "refresh-1"),
                    ("service", "registry.example.com"),
                    ("client_id", "imagescope"),
                    ("scope", SCOPE),
                ],
                auth: None,
                status: 200,
                body: r#"{"access_token":"t3","expires_in":300}"#,
            },
            registry(Some("Bearer t3"), 200, ""),
        ];
        let identity_post_404_then_get = [
            registry(None, 401, CHALLENGE),
            Io::Token {
                method: "POST",
                pairs: &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "refresh-1"),
                    ("service", "registry.example.com"),
                    ("client_id", "imagescope"),
                    ("scope", SCOPE),
                ],
                auth: None,
                status: 404,
                body: "404 page not found",
            },
            Io::Token {
                method: "GET",
                pairs: &[("service", "registry.example.com"), ("scope", SCOPE), ("account", "alice")],
                auth: None,
                status: 200,
                body: r#"{"token":"t4"}"#,
            },
            registry(Some("Bearer t4"), 200, ""),
        ];
        let access_token_wins = [
            registry(None, 401, CHALLENGE),
            Io::Token { method: "GET", pairs: GET_PAIRS, auth: None, status: 200, body: r#"{"token":"old","access_token":"new"}"# },
            registry(Some("Bearer new"), 200, ""),
        ];
        let reauth_then_rejected = [
            registry(None, 401, CHALLENGE),
            Io::Token { method: "GET", pairs: GET_PAIRS, auth: None, status: 200, body: TOKEN_T1 },
            registry(
                Some("Bearer t1"),
                401,
                r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:library/busybox:pull,push",error="insufficient_scope""#,
            ),
            Io::Token {
                method: "GET",
                pairs: &[("service", "registry.example.com"), ("scope", SCOPE), ("scope", "repository:library/busybox:pull,push")],
                auth: None,
                status: 200,
                body: r#"{"token":"t5"}"#,
            },
            registry(
                Some("Bearer t5"),
                401,
                r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",error="insufficient_scope""#,
            ),
        ];
        let basic_challenge = [registry(None, 401, r#"Basic realm="Registry""#), registry(Some("Basic dXNlcjpwYXNz"), 200, "")];
        let basic_wrong_password =
            [registry(None, 401, r#"Basic realm="Registry""#), registry(Some("Basic dXNlcjpwYXNz"), 401, r#"Basic realm="Registry""#)];
        let token_endpoint_refuses = [
            registry(None, 401, CHALLENGE),
            Io::Token {
                method: "GET",
                pairs: &[("service", "registry.example.com"), ("scope", SCOPE), ("account", "user")],
                auth: Some("Basic dXNlcjpwYXNz"),
                status: 401,
                body: r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#,
            },
        ];
        let registry_token = [registry(Some("Bearer rt"), 200, "")];
        let registry_token_refused = [registry(Some("Bearer rt"), 401, CHALLENGE)];
        let http_realm = [registry(None, 401, r#"Bearer realm="http://auth.example.com/token",service="s""#)];
        let loopback_realm = [registry(None, 401, r#"Bearer realm="http://127.0.0.1/token",service="s""#)];
        let private_realm = [registry(None, 401, r#"Bearer realm="https://10.0.0.5/token",service="s""#)];
        let no_realm = [registry(None, 401, r#"Bearer service="s""#)];
        let no_usable = [registry(None, 401, r#"Negotiate, Digest realm="x""#)];
        let bad_json =
            [registry(None, 401, CHALLENGE), Io::Token { method: "GET", pairs: GET_PAIRS, auth: None, status: 200, body: "<html>" }];
        let no_token = [
            registry(None, 401, CHALLENGE),
            Io::Token { method: "GET", pairs: GET_PAIRS, auth: None, status: 200, body: r#"{"expires_in":60}"# },
        ];

        let basic_only = [registry(None, 401, r#"Basic realm="R""#)];
        let cases: Vec<Case> = vec![
            Case { name: "anonymous GET", credential: Credential::Anonymous, script: &anonymous_get, check: |r| r.is_ok() },
            Case {
                name: "challenge scope follows the request's",
                credential: Credential::Anonymous,
                script: &widened,
                check: |r| r.is_ok(),
            },
            Case { name: "GET with Basic", credential: basic("user", "pass"), script: &basic_get, check: |r| r.is_ok() },
            Case { name: "identity token POST", credential: identity("", "refresh-1"), script: &identity_post, check: |r| r.is_ok() },
            Case {
                name: "POST 404 falls back to GET",
                credential: identity("alice", "refresh-1"),
                script: &identity_post_404_then_get,
                check: |r| r.is_ok(),
            },
            Case { name: "access_token wins", credential: Credential::Anonymous, script: &access_token_wins, check: |r| r.is_ok() },
            Case {
                name: "insufficient_scope: one re-auth, then rejected",
                credential: Credential::Anonymous,
                script: &reauth_then_rejected,
                check: |r| matches!(r, Err(AuthError::CredentialsRejected { scheme: "Bearer", .. })),
            },
            Case { name: "Basic challenge", credential: basic("user", "pass"), script: &basic_challenge, check: |r| r.is_ok() },
            Case {
                name: "Basic refused twice",
                credential: basic("user", "pass"),
                script: &basic_wrong_password,
                check: |r| matches!(r, Err(AuthError::CredentialsRejected { scheme: "Basic", .. })),
            },
            Case {
                name: "anonymous cannot answer Basic",
                credential: Credential::Anonymous,
                script: &basic_only,
                check: |r| matches!(r, Err(AuthError::MissingCredentialsForBasic { .. })),
            },
            Case {
                name: "token endpoint refuses",
                credential: basic("user", "pass"),
                script: &token_endpoint_refuses,
                check: |r| matches!(r, Err(AuthError::TokenEndpoint { status: 401, body }) if body.contains("UNAUTHORIZED")),
            },
            Case {
                name: "registry token is sent as is",
                credential: Credential::RegistryToken("rt".into()),
                script: &registry_token,
                check: |r| r.as_ref().is_ok_and(|a| a.as_deref() == Some("Bearer rt")),
            },
            Case {
                name: "registry token refused",
                credential: Credential::RegistryToken("rt".into()),
                script: &registry_token_refused,
                check: |r| matches!(r, Err(AuthError::CredentialsRejected { .. })),
            },
            Case {
                name: "http realm on https registry",
                credential: basic("user", "pass"),
                script: &http_realm,
                check: |r| matches!(r, Err(AuthError::InsecureRealm { .. })),
            },
            Case {
                name: "http 127.0.0.1 realm on https registry",
                credential: Credential::Anonymous,
                script: &loopback_realm,
                check: |r| matches!(r, Err(AuthError::InsecureRealm { .. })),
            },
            Case {
                name: "private realm on public registry",
                credential: Credential::Anonymous,
                script: &private_realm,
                check: |r| matches!(r, Err(AuthError::RealmNotAllowed { .. })),
            },
            Case {
                name: "no realm",
                credential: Credential::Anonymous,
                script: &no_realm,
                check: |r| matches!(r, Err(AuthError::MissingRealm)),
            },
            Case {
                name: "no usable challenge",
                credential: Credential::Anonymous,
                script: &no_usable,
                check: |r| matches!(r, Err(AuthError::NoUsableChallenge { offered }) if offered == "negotiate, digest"),
            },
            Case {
                name: "token response not JSON",
                credential: Credential::Anonymous,
                script: &bad_json,
                check: |r| matches!(r, Err(AuthError::BadTokenResponse(_))),
            },
            Case {
                name: "token response without a token",
                credential: Credential::Anonymous,
                script: &no_token,
                check: |r| matches!(r, Err(AuthError::BadTokenResponse(m)) if m.contains("neither")),
            },
        ];
        for case in cases {
            let mut flow = TokenFlow::new(case.credential, &url("https://registry.example.com"));
            let outcome = drive(&mut flow, SCOPE, NOW, case.script);
            assert!((case.check)(&outcome), "{}: {outcome:?}", case.name);
        }
    }

    #[test]
    fn loopback_registry_on_plain_http_may_use_plain_http_realms() {
        let script = [
            registry(None, 401, r#"Bearer realm="http://127.0.0.1:5001/auth",service="local""#),
            Io::Token { method: "GET", pairs: &[("service", "local"), ("scope", SCOPE)], auth: None, status: 200, body: TOKEN_T1 },
            registry(Some("Bearer t1"), 200, ""),
        ];
        let mut flow = TokenFlow::new(Credential::Anonymous, &url("http://127.0.0.1:5000"));
        assert!(drive(&mut flow, SCOPE, NOW, &script).is_ok());
        let mut lan = TokenFlow::new(Credential::Anonymous, &url("https://192.168.1.10:5000"));
        let challenges = parse_www_authenticate(r#"Bearer realm="https://192.168.1.10:5001/auth""#).unwrap();
        assert!(matches!(lan.on_unauthorized(&challenges, SCOPE, NOW), Ok(Step::Fetch(_))));
    }

    /// Runs the anonymous flow once with `body` as the token response, at `NOW`.
    fn flow_with_token(body: &'static str) -> TokenFlow {
        let mut flow = TokenFlow::new(Credential::Anonymous, &url("https://registry.example.com"));
        let script = [
            registry(None, 401, CHALLENGE),
            Io::Token { method: "GET", pairs: GET_PAIRS, auth: None, status: 200, body },
            registry(Some("Bearer t1"), 200, ""),
        ];
        drive(&mut flow, SCOPE, NOW, &script).unwrap();
        flow
    }

    #[test]
    fn expiry_follows_expires_in_with_a_floor_and_a_margin() {
        for (body, lifetime) in [
            (r#"{"token":"t1"}"#, 60),
            (r#"{"token":"t1","expires_in":30}"#, 60),
            (r#"{"token":"t1","expires_in":3600}"#, 3600),
            (r#"{"token":"t1","expires_in":"120"}"#, 120),
            (r#"{"token":"t1","expires_in":-5}"#, 60),
        ] {
            let flow = flow_with_token(body);
            let last_valid = NOW + lifetime - EXPIRY_MARGIN - 1;
            assert_eq!(flow.authorization(SCOPE, last_valid).as_deref(), Some("Bearer t1"), "{body}");
            assert_eq!(flow.authorization(SCOPE, last_valid + 1), None, "{body}");
        }
    }

    #[test]
    fn issued_at_counts_only_when_sane() {
        let past = flow_with_token(r#"{"token":"t1","expires_in":300,"issued_at":"2023-11-14T22:11:40Z"}"#);
        assert_eq!(parse_rfc3339("2023-11-14T22:11:40Z"), Some(NOW as i64 - 100));
        assert!(past.authorization(SCOPE, NOW + 194).is_some());
        assert!(past.authorization(SCOPE, NOW + 195).is_none());
        for body in [
            r#"{"token":"t1","expires_in":300,"issued_at":"2030-01-01T00:00:00Z"}"#,
            r#"{"token":"t1","expires_in":300,"issued_at":"0001-01-01T00:00:00Z"}"#,
            r#"{"token":"t1","expires_in":300,"issued_at":"2001-01-01T00:00:00Z"}"#,
            r#"{"token":"t1","expires_in":300,"issued_at":"yesterday"}"#,
        ] {
            let flow = flow_with_token(body);
            assert!(flow.authorization(SCOPE, NOW + 294).is_some(), "{body}");
            assert!(flow.authorization(SCOPE, NOW + 295).is_none(), "{body}");
        }
    }

    #[test]
    fn cache_hit_means_no_fetch_and_is_keyed_by_scope() {
        let mut flow = flow_with_token(TOKEN_T1);
        assert!(drive(&mut flow, SCOPE, NOW + 10, &[registry(Some("Bearer t1"), 200, "")]).is_ok());
        assert_eq!(flow.authorization("repository:library/other:pull", NOW), None);
        let expired = [
            registry(None, 401, CHALLENGE),
            Io::Token { method: "GET", pairs: GET_PAIRS, auth: None, status: 200, body: r#"{"token":"t9"}"# },
            registry(Some("Bearer t9"), 200, ""),
        ];
        assert!(drive(&mut flow, SCOPE, NOW + 1000, &expired).is_ok());
    }

    #[test]
    fn a_refresh_token_from_the_endpoint_is_used_for_later_fetches() {
        let mut flow = TokenFlow::new(basic("user", "pass"), &url("https://registry.example.com"));
        let first = [
            registry(None, 401, CHALLENGE),
            Io::Token {
                method: "GET",
                pairs: &[("service", "registry.example.com"), ("scope", SCOPE), ("account", "user")],
                auth: Some("Basic dXNlcjpwYXNz"),
                status: 200,
                body: r#"{"token":"t1","refresh_token":"r2"}"#,
            },
            registry(Some("Bearer t1"), 200, ""),
        ];
        drive(&mut flow, SCOPE, NOW, &first).unwrap();
        let other = "repository:team/app:pull";
        let second = [
            registry(None, 401, r#"Bearer realm="https://auth.example.com/token",service="registry.example.com""#),
            Io::Token {
                method: "POST",
                pairs: &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "r2"),
                    ("service", "registry.example.com"),
                    ("client_id", "imagescope"),
                    ("scope", "repository:team/app:pull"),
                ],
                auth: None,
                status: 405,
                body: "",
            },
            Io::Token {
                method: "GET",
                pairs: &[("service", "registry.example.com"), ("scope", "repository:team/app:pull"), ("account", "user")],
                auth: Some("Basic dXNlcjpwYXNz"),
                status: 200,
                body: r#"{"token":"t2"}"#,
            },
            registry(Some("Bearer t2"), 200, ""),
        ];
        drive(&mut flow, other, NOW, &second).unwrap();
        let third = [
            registry(None, 401, r#"Bearer realm="https://auth.example.com/token",service="registry.example.com""#),
            Io::Token {
                method: "GET",
                pairs: &[("service", "registry.example.com"), ("scope", "repository:x/y:pull"), ("account", "user")],
                auth: Some("Basic dXNlcjpwYXNz"),
                status: 200,
                body: r#"{"token":"t3"}"#,
            },
            registry(Some("Bearer t3"), 200, ""),
        ];
        drive(&mut flow, "repository:x/y:pull", NOW, &third).unwrap();
    }

    #[test]
    fn a_refused_token_that_was_not_a_reauth_gets_one_more_chance() {
        let mut flow = flow_with_token(TOKEN_T1);
        let stale = [
            registry(Some("Bearer t1"), 401, CHALLENGE),
            Io::Token { method: "GET", pairs: GET_PAIRS, auth: None, status: 200, body: r#"{"token":"t2"}"# },
            registry(Some("Bearer t2"), 200, ""),
        ];
        drive(&mut flow, SCOPE, NOW + 1, &stale).unwrap();
        let again = [registry(Some("Bearer t2"), 401, CHALLENGE)];
        assert!(matches!(drive(&mut flow, SCOPE, NOW + 2, &again), Err(AuthError::CredentialsRejected { .. })));
    }

    #[test]
    fn realm_query_is_kept_and_service_is_optional() {
        let mut flow = TokenFlow::new(Credential::Anonymous, &url("https://registry.example.com"));
        let challenges = parse_www_authenticate(r#"Bearer realm="https://auth.example.com/token?tenant=a""#).unwrap();
        let Ok(Step::Fetch(request)) = flow.on_unauthorized(&challenges, SCOPE, NOW) else { panic!() };
        assert!(request.url.starts_with("https://auth.example.com/token?tenant=a&"), "{}", request.url);
        assert_eq!(pairs_of(&request), [("tenant".to_string(), "a".to_string()), ("scope".to_string(), SCOPE.to_string())]);
    }

    #[test]
    fn debug_redacts_credentials_and_tokens() {
        let mut flow = TokenFlow::new(basic("user", "hunter2"), &url("https://registry.example.com"));
        let challenges = parse_www_authenticate(CHALLENGE).unwrap();
        let Ok(Step::Fetch(request)) = flow.on_unauthorized(&challenges, SCOPE, NOW) else { panic!() };
        let shown = format!("{request:?}");
        assert!(!shown.contains("dXNlcjpodW50ZXIy") && shown.contains(REDACTED), "{shown}");
        flow.on_token_response(&request, 200, br#"{"token":"tok-secret","refresh_token":"refresh-secret"}"#, NOW).unwrap();
        let shown = format!("{flow:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("tok-secret") && !shown.contains("refresh-secret"), "{shown}");

        let mut oauth = TokenFlow::new(identity("", "id-secret"), &url("https://registry.example.com"));
        let Ok(Step::Fetch(post)) = oauth.on_unauthorized(&challenges, SCOPE, NOW) else { panic!() };
        assert_eq!(post.method, "POST");
        assert!(!format!("{post:?}").contains("id-secret"));
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = AuthError::InsecureRealm { realm: "http://a/t".into(), registry: "https://r/".into() };
        assert!(e.to_string().contains("must name an https realm"), "{e}");
        let e = AuthError::CredentialsRejected { scheme: "Basic", sent: "the password of \"u\"".into() };
        assert!(e.to_string().contains("check the username and password"), "{e}");
    }

    #[test]
    fn rfc3339_timestamps() {
        for (s, want) in [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("1970-01-01T01:00:00+01:00", Some(0)),
            ("1970-01-01T00:00:00.999999Z", Some(0)),
            ("2000-03-01t00:00:00z", Some(951_868_800)),
            ("2024-02-29T12:00:00-00:30", Some(1_709_209_800)),
            ("2024-13-01T00:00:00Z", None),
            ("2024-01-01", None),
            ("2024-01-01T00:00:00", None),
            ("2024-01-01T00:00:00.Z", None),
            ("２０２４-01-01T00:00:00Z", None),
        ] {
            assert_eq!(parse_rfc3339(s), want, "{s}");
        }
    }

    proptest::proptest! {
        #[test]
        fn token_responses_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..200), status in 100u16..600) {
            let mut flow = TokenFlow::new(Credential::Anonymous, &url("https://registry.example.com"));
            let challenges = parse_www_authenticate(CHALLENGE).unwrap();
            if let Ok(Step::Fetch(request)) = flow.on_unauthorized(&challenges, SCOPE, NOW) {
                let _ = flow.on_token_response(&request, status, &body, NOW);
            }
        }

        #[test]
        fn timestamps_never_panic(s in "\\PC{0,40}") {
            let _ = parse_rfc3339(&s);
        }
    }
}
