//! How to sign in, for the JSON API: asked before anyone has signed in, so it needs no token.

use actix_web::{get, web};
use serde::Serialize;

use crate::state::AppState;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(methods);
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SignInMethods {
    /// Whether staff may sign in with an email address and password.
    pub password: bool,
    /// Single sign-on with the organisation's OpenID provider, when it is set up.
    pub sso: Option<SsoMethod>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SsoMethod {
    /// The button's text, e.g. "Sign in with NHSmail".
    pub label: String,
    /// Open this in a browser to sign in; add `?next=/path` to land on a page of this site.
    pub start_url: String,
}

/// The ways to sign in (anyone may ask; no token needed).
#[utoipa::path(tag = "accounts", responses((status = 200, body = SignInMethods)))]
#[get("/auth/methods")]
async fn methods(state: web::Data<AppState>) -> web::Json<SignInMethods> {
    let sso = &state.settings.sso;
    web::Json(SignInMethods {
        password: !(sso.enabled() && sso.only),
        sso: sso.enabled().then(|| SsoMethod {
            label: sso.button_label.clone(),
            start_url: format!("{}/auth/sso", state.settings.base_url),
        }),
    })
}
