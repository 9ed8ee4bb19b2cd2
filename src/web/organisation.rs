//! Who runs this Voices: the trust's name, logo, privacy notice and contact. Every page shows them in
//! its header and footer, so they are read through a short-lived per-process cache; several instances
//! on one database each see a change within `FRESH_FOR`.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::db::schema::organisation;
use crate::db::{now, Db, DbConnection};
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;

/// How long an instance keeps showing what it read before it reads again.
const FRESH_FOR: Duration = Duration::from_secs(30);
/// Logos are shown in a header 40 px high: this is plenty, and keeps every page's header light.
pub const LOGO_MAX_BYTES: usize = 200 * 1024;

/// The organisation as pages and the API show it (the logo itself is served at `/organisation/logo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Organisation {
    /// The trust's name, e.g. "Northshire Mental Health NHS Foundation Trust"; empty until set.
    pub name: String,
    /// The address of the trust's privacy notice, if it has one on its own website.
    pub privacy_url: String,
    /// The privacy notice's text, shown at `/privacy` when there is no address.
    pub privacy_text: String,
    pub contact_email: String,
    pub contact_phone: String,
    /// A short hash of the logo, part of its address so a new logo is never hidden by a cache; none
    /// when there is no logo.
    pub logo_version: Option<String>,
    /// When an administrator last had a test email accepted by the mail server.
    #[serde(with = "crate::db::utc::option")]
    pub mail_checked_at: Option<NaiveDateTime>,
}

impl Organisation {
    /// Whether the details every page shows have been given (name and a way to reach the trust).
    pub fn is_described(&self) -> bool {
        !self.name.is_empty()
            && (!self.contact_email.is_empty() || !self.contact_phone.is_empty())
            && (!self.privacy_url.is_empty() || !self.privacy_text.is_empty())
    }
}

/// What an administrator may change (the logo apart).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct OrganisationForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub privacy_url: String,
    #[serde(default)]
    pub privacy_text: String,
    #[serde(default)]
    pub contact_email: String,
    #[serde(default)]
    pub contact_phone: String,
}

impl OrganisationForm {
    pub fn from(organisation: &Organisation) -> Self {
        OrganisationForm {
            name: organisation.name.clone(),
            privacy_url: organisation.privacy_url.clone(),
            privacy_text: organisation.privacy_text.clone(),
            contact_email: organisation.contact_email.clone(),
            contact_phone: organisation.contact_phone.clone(),
        }
    }

    /// Trims every field and says what is wrong, beside each field.
    pub fn checked(mut self) -> Result<Self, FieldErrors> {
        for field in [
            &mut self.name,
            &mut self.privacy_url,
            &mut self.privacy_text,
            &mut self.contact_email,
            &mut self.contact_phone,
        ] {
            *field = field.trim().to_string();
        }
        let mut errors = FieldErrors::new();
        let mut check = |field: &str, wrong: bool, message: &str| {
            if wrong {
                errors.insert(field.into(), message.into());
            }
        };
        let name = self.name.chars().count();
        check(
            "name",
            name == 0 || name > 200,
            "Enter the organisation's name, up to 200 characters",
        );
        check(
            "privacy_url",
            !(self.privacy_url.is_empty()
                || self.privacy_url.starts_with("https://")
                || self.privacy_url.starts_with("http://"))
                || self.privacy_url.len() > 500,
            "Enter the privacy notice's full address, starting https://",
        );
        check(
            "privacy_text",
            self.privacy_text.chars().count() > 20_000,
            "The privacy notice can be up to 20,000 characters; link to a longer one instead",
        );
        check(
            "privacy_url",
            self.privacy_url.is_empty() && self.privacy_text.is_empty(),
            "Give the privacy notice's address, or its text below",
        );
        check(
            "contact_email",
            !self.contact_email.is_empty()
                && (!self.contact_email.contains('@') || self.contact_email.len() > 254),
            "Enter an email address like team@trust.nhs.uk",
        );
        check(
            "contact_phone",
            self.contact_phone.chars().count() > 40
                || self
                    .contact_phone
                    .chars()
                    .any(|c| !(c.is_ascii_digit() || " +()-".contains(c))),
            "Enter a phone number, like 0300 123 4567",
        );
        check(
            "contact_email",
            self.contact_email.is_empty() && self.contact_phone.is_empty(),
            "Give an email address or a phone number, so people can reach the organisation",
        );
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }
}

/// The logo's kind from its first bytes: PNG and JPEG only (an SVG can carry script).
pub fn logo_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    Option<Vec<u8>>,
    Option<NaiveDateTime>,
);

pub fn load(conn: &mut DbConnection) -> QueryResult<Organisation> {
    let (name, privacy_url, privacy_text, contact_email, contact_phone, logo, mail_checked_at): Row =
        organisation::table
            .find(1)
            .select((
                organisation::name,
                organisation::privacy_url,
                organisation::privacy_text,
                organisation::contact_email,
                organisation::contact_phone,
                organisation::logo,
                organisation::mail_checked_at,
            ))
            .first(conn)?;
    Ok(Organisation {
        name,
        privacy_url,
        privacy_text,
        contact_email,
        contact_phone,
        logo_version: logo.map(|bytes| hex::encode(&Sha256::digest(&bytes)[..6])),
        mail_checked_at,
    })
}

pub fn save(conn: &mut DbConnection, form: &OrganisationForm) -> QueryResult<()> {
    diesel::update(organisation::table.find(1))
        .set((
            organisation::name.eq(&form.name),
            organisation::privacy_url.eq(&form.privacy_url),
            organisation::privacy_text.eq(&form.privacy_text),
            organisation::contact_email.eq(&form.contact_email),
            organisation::contact_phone.eq(&form.contact_phone),
            organisation::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The name alone, given at first run before the rest is known.
pub fn save_name(conn: &mut DbConnection, name: &str) -> QueryResult<()> {
    diesel::update(organisation::table.find(1))
        .set((
            organisation::name.eq(name),
            organisation::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Sets the logo (PNG or JPEG bytes, already checked) or takes it away.
pub fn save_logo(conn: &mut DbConnection, logo: Option<(&[u8], &str)>) -> QueryResult<()> {
    diesel::update(organisation::table.find(1))
        .set((
            organisation::logo.eq(logo.map(|(bytes, _)| bytes)),
            organisation::logo_type.eq(logo.map_or("", |(_, kind)| kind)),
            organisation::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn logo(conn: &mut DbConnection) -> QueryResult<Option<(Vec<u8>, String)>> {
    let (logo, kind): (Option<Vec<u8>>, String) = organisation::table
        .find(1)
        .select((organisation::logo, organisation::logo_type))
        .first(conn)?;
    Ok(logo.map(|bytes| (bytes, kind)))
}

pub fn mark_mail_checked(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::update(organisation::table.find(1))
        .set(organisation::mail_checked_at.eq(Some(now())))
        .execute(conn)
        .map(|_| ())
}

/// The organisation as last read by this process, and when.
#[derive(Default)]
pub struct Cached(RwLock<Option<(Instant, Arc<Organisation>)>>);

/// The organisation, from this process's cache while it is fresh.
pub async fn current(state: &AppState) -> Result<Arc<Organisation>, AppError> {
    let cache = state.caches.get::<Cached>();
    if let Some((read_at, organisation)) = &*cache.0.read().unwrap_or_else(|p| p.into_inner()) {
        if read_at.elapsed() < FRESH_FOR {
            return Ok(organisation.clone());
        }
    }
    let organisation = Arc::new(
        state
            .db
            .read(|conn| load(conn).map_err(AppError::from))
            .await?,
    );
    *cache.0.write().unwrap_or_else(|p| p.into_inner()) =
        Some((Instant::now(), organisation.clone()));
    Ok(organisation)
}

/// What this process last read, however old, without going to the database (error pages).
pub fn cached(state: &AppState) -> Option<Arc<Organisation>> {
    state
        .caches
        .get::<Cached>()
        .0
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|(_, organisation)| organisation.clone())
}

/// Whether a path is one of a participant's own (a personal link, an open link, joining): their pages
/// never point to the staff sign-in.
pub fn is_participant_path(path: &str) -> bool {
    ["/p/", "/o/", "/join/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// After a change here: this process shows it at once (others within `FRESH_FOR`).
pub fn forget(state: &AppState) {
    *state
        .caches
        .get::<Cached>()
        .0
        .write()
        .unwrap_or_else(|p| p.into_inner()) = None;
}

/// Writes through `db` and forgets the cached copy.
pub async fn change<F>(state: &AppState, work: F) -> Result<(), AppError>
where
    F: FnOnce(&mut DbConnection) -> QueryResult<()> + Send + 'static,
{
    let db: &Db = &state.db;
    db.write(move |conn| work(conn).map_err(AppError::from))
        .await?;
    forget(state);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> OrganisationForm {
        OrganisationForm {
            name: " Northshire NHS Foundation Trust ".into(),
            privacy_url: "https://northshire.nhs.uk/privacy".into(),
            privacy_text: String::new(),
            contact_email: "involvement@northshire.nhs.uk".into(),
            contact_phone: "0300 123 4567".into(),
        }
    }

    #[test]
    fn a_complete_form_is_trimmed_and_kept() {
        let checked = form().checked().unwrap();
        assert_eq!(checked.name, "Northshire NHS Foundation Trust");
    }

    #[test]
    fn each_mistake_is_named_beside_its_field() {
        let errors = OrganisationForm {
            name: String::new(),
            privacy_url: "northshire.nhs.uk/privacy".into(),
            contact_email: "not an address".into(),
            contact_phone: "call us".into(),
            ..form()
        }
        .checked()
        .unwrap_err();
        for field in ["name", "privacy_url", "contact_email", "contact_phone"] {
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
        let errors = OrganisationForm {
            privacy_url: String::new(),
            contact_email: String::new(),
            contact_phone: String::new(),
            ..form()
        }
        .checked()
        .unwrap_err();
        assert!(errors["privacy_url"].contains("its text"));
        assert!(errors["contact_email"].contains("phone number"));
    }

    #[test]
    fn only_png_and_jpeg_logos_are_taken() {
        assert_eq!(logo_type(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(logo_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(logo_type(b"<svg onload=alert(1)>"), None);
    }
}
