//! Single sign-on with OpenID Connect: the authorization code flow with PKCE, state and nonce, against
//! the provider named by `sso.issuer`. People are matched to accounts by verified email; new accounts
//! are made only for allowed domains. `sso.only` closes the password pages for staff.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod provider;
pub mod rules;
