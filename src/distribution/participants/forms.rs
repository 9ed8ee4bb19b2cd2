//! What people send about participants: the page's form, the API's partial change, and uploaded files
//! (a multipart form, or a CSV body), read no further than the configured limit.

use actix_multipart::Multipart;
use actix_web::web::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use utoipa::ToSchema;

use super::rules::{split_list, CommunicationNeed, ParticipantInput};
use crate::error::AppError;

/// The participant form as a browser sends it: text fields, tags in one box, and one checkbox per
/// communication need, named after the need.
pub fn from_form(pairs: &[(String, String)]) -> ParticipantInput {
    let field = |name: &str| crate::web::page::form_field(pairs, name).to_string();
    ParticipantInput {
        name: field("name"),
        email: field("email"),
        phone: field("phone"),
        group: field("group"),
        service_area: field("service_area"),
        system_level: field("system_level"),
        tags: split_list(&field("tags")),
        communication_needs: CommunicationNeed::ALL
            .iter()
            .filter(|need| pairs.iter().any(|(key, _)| key == need.as_str()))
            .map(|need| need.as_str().to_string())
            .collect(),
        preferred_mode: field("preferred_mode"),
    }
}

/// A change to some of a participant's fields; those left out keep their value. Empty text clears a
/// field (except group, which every participant added by a lead has).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ParticipantPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub group: Option<String>,
    pub service_area: Option<String>,
    pub system_level: Option<String>,
    pub tags: Option<Vec<String>>,
    pub communication_needs: Option<Vec<String>>,
    pub preferred_mode: Option<String>,
}

impl ParticipantPatch {
    pub fn apply(self, to: ParticipantInput) -> ParticipantInput {
        ParticipantInput {
            name: self.name.unwrap_or(to.name),
            email: self.email.unwrap_or(to.email),
            phone: self.phone.unwrap_or(to.phone),
            group: self.group.unwrap_or(to.group),
            service_area: self.service_area.unwrap_or(to.service_area),
            system_level: self.system_level.unwrap_or(to.system_level),
            tags: self.tags.unwrap_or(to.tags),
            communication_needs: self.communication_needs.unwrap_or(to.communication_needs),
            preferred_mode: self.preferred_mode.unwrap_or(to.preferred_mode),
        }
    }
}

/// A CSV body read whole, or refused once it passes `limit` bytes.
pub async fn read_limited<S, E>(stream: S, limit: usize) -> Result<Vec<u8>, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let too_large = format!(
        "The file is larger than {} MB. Split it into smaller files and import them one after another.",
        limit / (1024 * 1024)
    );
    crate::web::upload::read_limited(stream, limit, "file", &too_large).await
}

/// What the import form sent: a chosen file, or else the text pasted into the box (kept, so the
/// form can show it again).
pub struct Upload {
    pub bytes: Vec<u8>,
    pub pasted: String,
}

pub async fn read_upload(mut multipart: Multipart, limit: usize) -> Result<Upload, AppError> {
    // Browsers send the file part with an empty name when no file was chosen.
    let mut file = None;
    let mut pasted = Vec::new();
    while let Some(field) = multipart.next().await {
        let field = field.map_err(|e| {
            AppError::invalid(
                "file",
                &format!("The form could not be read ({e}). Try again."),
            )
        })?;
        let chosen = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .is_some_and(|name| !name.is_empty());
        match field.name().unwrap_or_default() {
            "file" if chosen => file = Some(read_limited(field, limit).await?),
            "text" => pasted = read_limited(field, limit).await?,
            // The CSRF token (already checked), an empty file part, anything else.
            _ => drop(read_limited(field, limit).await?),
        }
    }
    let pasted = String::from_utf8_lossy(&pasted).into_owned();
    match file {
        Some(bytes) => Ok(Upload { bytes, pasted }),
        None if pasted.trim().is_empty() => Err(AppError::invalid(
            "file",
            "Choose a CSV file, or paste the rows into the box",
        )),
        None => Ok(Upload {
            bytes: pasted.clone().into_bytes(),
            pasted,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_gives_tags_and_ticked_needs() {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(
            "name=Ada&group=carer&tags=pilot%2C+ward+3&large_print=on&phone_interview=on&csrf_token=x",
        )
        .unwrap();
        let input = from_form(&pairs);
        assert_eq!(input.name, "Ada");
        assert_eq!(input.tags, ["pilot", "ward 3"]);
        assert_eq!(
            input.communication_needs,
            ["large_print", "phone_interview"]
        );
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let before = ParticipantInput {
            name: "Ada".into(),
            group: "staff".into(),
            tags: vec!["pilot".into()],
            ..ParticipantInput::default()
        };
        let patch: ParticipantPatch =
            serde_json::from_str(r#"{"group":"carer","tags":[]}"#).unwrap();
        let after = patch.apply(before);
        assert_eq!(
            (after.name.as_str(), after.group.as_str()),
            ("Ada", "carer")
        );
        assert!(after.tags.is_empty());
        assert!(serde_json::from_str::<ParticipantPatch>(r#"{"colour":"red"}"#).is_err());
    }
}
