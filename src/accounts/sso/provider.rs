//! Talking to the OpenID provider: discovery (cached per app), the authorization URL, and redeeming the
//! code for an ID token whose signature, issuer, audience, nonce and access-token hash are checked.
//! Failures are logged here with their technical cause and returned as a `Refusal`.

use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreIdToken, CoreProviderMetadata,
};
use openidconnect::{
    reqwest, AccessTokenHash, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse,
};

use super::rules::{PendingFlow, Refusal};
use crate::config::SsoSettings;
use crate::state::AppState;

/// Discovery is read again after this long, so new signing keys and endpoints are picked up; a token
/// signed with a key not yet seen also makes it read again at once.
const METADATA_HOURS: u64 = 1;

/// Providers answer in well under a second; a hung one must not hold a sign-in for long.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The provider's metadata and signing keys, with the HTTP client that fetched them; one per app.
#[derive(Default)]
pub struct ProviderCache(tokio::sync::Mutex<Option<Discovered>>);

#[derive(Clone)]
struct Discovered {
    http: reqwest::Client,
    metadata: CoreProviderMetadata,
    fetched: Instant,
}

/// What a verified ID token says about the person.
pub struct Identity {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
}

/// The provider's metadata, from the cache or read again when stale or `fresh` is asked for. The lock
/// is held while reading, so a burst of sign-ins after the cache goes stale reads it once.
async fn discovered(state: &AppState, fresh: bool) -> Result<Discovered, Refusal> {
    let cache = state.caches.get::<ProviderCache>();
    let mut slot = cache.0.lock().await;
    let max_age = Duration::from_secs(METADATA_HOURS * 3600);
    if let Some(known) = slot.as_ref() {
        if !fresh && known.fetched.elapsed() < max_age {
            return Ok(known.clone());
        }
    }
    let http = match slot.as_ref() {
        Some(known) => known.http.clone(),
        None => http_client()?,
    };
    let settings = &state.settings.sso;
    let issuer = IssuerUrl::new(settings.issuer.clone()).map_err(|error| {
        tracing::warn!(%error, "single sign-on: the issuer is not a URL");
        Refusal::Unavailable
    })?;
    // discover_async checks that the document names exactly the configured issuer, and fetches the
    // signing keys from its jwks_uri.
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .map_err(|error| {
            // The discovery document and keys are public: their errors hold nothing personal.
            tracing::warn!(error = %with_causes(&error), "single sign-on: reading the provider's discovery document failed");
            Refusal::Unavailable
        })?;
    let found = Discovered {
        http,
        metadata,
        fetched: Instant::now(),
    };
    *slot = Some(found.clone());
    Ok(found)
}

/// "Request failed: error sending request: connection refused": the causes an operator needs.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

fn http_client() -> Result<reqwest::Client, Refusal> {
    reqwest::ClientBuilder::new()
        // Following redirects would let a provider (or whoever controls its DNS) point Voices at
        // internal addresses: openidconnect's advice against SSRF.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(HTTP_TIMEOUT / 2)
        .build()
        .map_err(|error| {
            tracing::warn!(%error, "single sign-on: building the HTTP client failed");
            Refusal::Unavailable
        })
}

fn client(metadata: &CoreProviderMetadata, settings: &SsoSettings, base_url: &str) -> Client {
    let secret = (!settings.client_secret.is_empty())
        .then(|| ClientSecret::new(settings.client_secret.clone()));
    // HTTP Basic unless the provider says it takes only the secret in the form body.
    let methods = metadata.token_endpoint_auth_methods_supported();
    let post_only = methods.is_some_and(|m| {
        m.contains(&CoreClientAuthMethod::ClientSecretPost)
            && !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
    });
    CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(settings.client_id.clone()),
        secret,
    )
    .set_redirect_uri(redirect_uri(base_url))
    .set_auth_type(if post_only {
        AuthType::RequestBody
    } else {
        AuthType::BasicAuth
    })
}

fn redirect_uri(base_url: &str) -> RedirectUrl {
    RedirectUrl::new(format!("{base_url}/auth/callback"))
        .expect("the base URL is checked at start, so the redirect URI is a URL")
}

/// Where to send the browser to sign in, and the flow to keep until it comes back.
/// `confirm` asks the provider to check who it is again even if it remembers them (the step-up before
/// sensitive work, for people whose second factor is the organisation's sign-in).
pub async fn authorization(
    state: &AppState,
    next: String,
    now: i64,
    confirm: bool,
) -> Result<(url::Url, PendingFlow), Refusal> {
    let found = discovered(state, false).await?;
    let client = client(
        &found.metadata,
        &state.settings.sso,
        &state.settings.base_url,
    );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge);
    if confirm {
        request = request.add_prompt(openidconnect::core::CoreAuthPrompt::Login);
    }
    let (url, csrf, nonce) = request.url();
    let flow = PendingFlow {
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        next,
        started: now,
    };
    Ok((url, flow))
}

/// Redeems the code (with the flow's PKCE verifier) and checks the ID token against the flow's nonce.
pub async fn redeem(
    state: &AppState,
    flow: &PendingFlow,
    code: String,
) -> Result<Identity, Refusal> {
    let settings = &state.settings.sso;
    let found = discovered(state, false).await?;
    let client = client(&found.metadata, settings, &state.settings.base_url);
    let request = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|error| {
            tracing::warn!(%error, "single sign-on: the provider has no token endpoint");
            Refusal::Unavailable
        })?;
    let response = request
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
        .request_async(&found.http)
        .await
        .map_err(|error| {
            // The body of an unparseable answer may hold tokens: only the kind of failure is logged.
            match &error {
                RequestTokenError::ServerResponse(answer) => {
                    tracing::info!(error = %answer.error(), "single sign-on: the token endpoint refused the code");
                    Refusal::CodeRefused
                }
                RequestTokenError::Request(cause) => {
                    tracing::warn!(error = %with_causes(cause), "single sign-on: the token endpoint could not be reached");
                    Refusal::Unavailable
                }
                RequestTokenError::Parse(..) | RequestTokenError::Other(_) => {
                    tracing::warn!("single sign-on: the token endpoint's answer could not be read");
                    Refusal::TokenInvalid
                }
            }
        })?;
    let id_token = response.id_token().ok_or_else(|| {
        tracing::warn!("single sign-on: the token endpoint sent no ID token");
        Refusal::TokenInvalid
    })?;
    let nonce = Nonce::new(flow.nonce.clone());
    let verified = match verify(&client, id_token, &nonce, response.access_token()) {
        Err(Unverified::KeyMissing) => {
            // The provider may have rotated its keys since discovery was read.
            let fresh = discovered(state, true).await?;
            let client = self::client(&fresh.metadata, settings, &state.settings.base_url);
            verify(&client, id_token, &nonce, response.access_token())
        }
        done => done,
    };
    verified.map_err(|unverified| {
        if let Unverified::KeyMissing = unverified {
            tracing::warn!(
                "single sign-on: the ID token is signed with a key the provider does not publish"
            );
        }
        Refusal::TokenInvalid
    })
}

enum Unverified {
    /// Signed with a key the cached key set does not have.
    KeyMissing,
    /// Any other failed check, already logged.
    Invalid,
}

fn verify(
    client: &Client,
    id_token: &CoreIdToken,
    nonce: &Nonce,
    access_token: &openidconnect::AccessToken,
) -> Result<Identity, Unverified> {
    use openidconnect::{ClaimsVerificationError, SignatureVerificationError};
    let verifier = client.id_token_verifier();
    let claims = match id_token.claims(&verifier, nonce) {
        Ok(claims) => claims,
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => return Err(Unverified::KeyMissing),
        Err(error) => {
            tracing::warn!(%error, "single sign-on: the ID token failed its checks");
            return Err(Unverified::Invalid);
        }
    };
    if let Some(expected) = claims.access_token_hash() {
        let actual = id_token
            .signing_alg()
            .and_then(|alg| Ok((alg, id_token.signing_key(&verifier)?)))
            .ok()
            .and_then(|(alg, key)| AccessTokenHash::from_token(access_token, alg, key).ok());
        if actual.as_ref() != Some(expected) {
            tracing::warn!(
                "single sign-on: the access token does not match the ID token's at_hash"
            );
            return Err(Unverified::Invalid);
        }
    }
    Ok(Identity {
        email: claims.email().map(|e| e.as_str().to_string()),
        email_verified: claims.email_verified(),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string()),
    })
}
