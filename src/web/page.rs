//! Rendering pages: every page gets the signed-in person, the CSRF token and any flash messages.

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::auth::{resolve, CurrentUser};
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;

const FLASH: &str = "flash";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// "success" or "info"; shown with a heading that says which, never by colour alone.
    pub kind: String,
    pub text: String,
}

pub struct Page {
    state: web::Data<AppState>,
    /// Shown in every page's header and footer.
    organisation: std::sync::Arc<super::organisation::Organisation>,
    session: Session,
    pub user: Option<CurrentUser>,
    request: HttpRequest,
}

impl FromRequest for Page {
    type Error = AppError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("no app state")))?;
            Ok(Page {
                organisation: super::organisation::current(&state).await?,
                user: resolve(&req).await?,
                session: req.get_session(),
                request: req.clone(),
                state,
            })
        })
    }
}

impl Page {
    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn organisation(&self) -> &super::organisation::Organisation {
        &self.organisation
    }

    pub fn request(&self) -> &HttpRequest {
        &self.request
    }

    pub fn render(&self, template: &str, context: tera::Context) -> Result<HttpResponse, AppError> {
        self.render_status(StatusCode::OK, template, context)
    }

    /// Shows a form again with its errors beside the fields (422) and the person's input kept.
    pub fn render_invalid(
        &self,
        template: &str,
        mut context: tera::Context,
        errors: &FieldErrors,
    ) -> Result<HttpResponse, AppError> {
        context.insert("errors", errors);
        self.render_status(StatusCode::UNPROCESSABLE_ENTITY, template, context)
    }

    /// A form page: as it is (200), or with its errors beside the fields (422) when there are any.
    pub fn render_form(
        &self,
        template: &str,
        context: tera::Context,
        errors: &FieldErrors,
    ) -> Result<HttpResponse, AppError> {
        if errors.is_empty() {
            self.render(template, context)
        } else {
            self.render_invalid(template, context, errors)
        }
    }

    pub fn render_status(
        &self,
        status: StatusCode,
        template: &str,
        mut context: tera::Context,
    ) -> Result<HttpResponse, AppError> {
        context.insert("user", &self.user);
        context.insert("organisation", &*self.organisation);
        context.insert("csrf_token", &super::csrf::token(&self.session));
        context.insert("current_path", self.request.path());
        // The sign-in form and the pages that refuse passwords show the single sign-on button.
        // The idle warning (voices.js) counts down only for a signed-in browser session.
        let idle = self
            .user
            .as_ref()
            .and_then(|u| u.session_id)
            .map(|_| self.state.settings.session.idle_minutes);
        context.insert("session_idle_minutes", &idle);
        let sso = &self.state.settings.sso;
        context.insert("sso_label", &sso.enabled().then_some(&sso.button_label));
        context.insert("sso_only", &(sso.enabled() && sso.only));
        // Removing marks the session changed, which re-encrypts and resends its cookie: only when
        // there is something to take.
        let flashes: Vec<Flash> = match self.session.get::<Vec<Flash>>(FLASH) {
            Ok(Some(flashes)) => {
                self.session.remove(FLASH);
                flashes
            }
            _ => Vec::new(),
        };
        context.insert("flashes", &flashes);
        if !context.contains_key("errors") {
            context.insert("errors", &FieldErrors::new());
        }
        let html = self
            .state
            .templates
            .render(template, &context)
            .map_err(AppError::internal)?;
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(html))
    }

    /// Keeps a message to show on the next page rendered for this session.
    pub fn flash(&self, kind: &str, text: impl Into<String>) {
        let mut flashes: Vec<Flash> = self.session.get(FLASH).ok().flatten().unwrap_or_default();
        flashes.push(Flash {
            kind: kind.to_string(),
            text: text.into(),
        });
        let _ = self.session.insert(FLASH, flashes);
    }
}

/// The first value sent for `name` in a form read as pairs (repeated names: checkboxes), or "".
pub fn form_field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// 303 See Other: after a form post, the browser fetches the next page with GET.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The one rule for where a `next` parameter may send someone after sign-in: a path on this site.
/// It must start with a single `/` not followed by another (`//host` is another site), and hold no
/// backslash (browsers read `/\host` as `//host`), whitespace or control character anywhere (browsers
/// strip tabs and newlines, so `/<tab>/evil.example` becomes `//evil.example`; a newline cannot go in a
/// header at all). The value is already percent-decoded: `%2F%2F` arrives as `//`. Anything else goes
/// home.
pub fn safe_next(next: Option<&str>) -> String {
    let on_site = |path: &str| {
        path.starts_with('/')
            && !path.starts_with("//")
            && !path
                .chars()
                .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
    };
    match next {
        Some(path) if on_site(path) => path.to_string(),
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn redirects_stay_on_site() {
        assert_eq!(safe_next(Some("/account")), "/account");
        assert_eq!(
            safe_next(Some("/studies/3?tab=members#top")),
            "/studies/3?tab=members#top"
        );
        assert_eq!(safe_next(Some("/")), "/");
        assert_eq!(safe_next(None), "/");
        for trick in [
            "//evil.example",
            "/\t/evil.example",
            "/\n",
            "/\r\nSet-Cookie: a=b",
            "/\\evil.example",
            "/x\\..\\..\\evil",
            "\\\\evil.example",
            "https://evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            " /account",
            "/ /evil.example",
            "/\u{85}/evil.example",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(trick)), "/", "{trick:?} must go home");
        }
    }
}
