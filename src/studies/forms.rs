//! What people send about studies and members, for pages and the JSON API alike.

use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::rules::{Perspective, Roles};

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct StudyForm {
    #[validate(length(
        min = 1,
        max = 200,
        message = "Enter a title for the study, up to 200 characters"
    ))]
    pub title: String,
    #[validate(length(max = 4000, message = "The summary can be up to 4,000 characters"))]
    pub summary: String,
}

/// Adding a member (email and, for someone without an account, their name) or changing one (roles and
/// perspective only). Roles are four yes/no fields: checkboxes on the page, booleans in JSON.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(default)]
#[validate(schema(function = "at_least_one_role", skip_on_field_errors = false))]
pub struct MemberForm {
    pub email: String,
    /// Needed only for someone who has no account yet: they are invited by email.
    pub display_name: String,
    #[serde(deserialize_with = "checkbox")]
    pub lead: bool,
    #[serde(deserialize_with = "checkbox")]
    pub co_designer: bool,
    #[serde(deserialize_with = "checkbox")]
    pub interviewer: bool,
    #[serde(deserialize_with = "checkbox")]
    pub analyst: bool,
    /// "staff", "service_user" or "carer".
    #[validate(custom(
        function = "known_perspective",
        message = "Choose whose experience they bring"
    ))]
    pub perspective: String,
}

impl MemberForm {
    pub fn roles(&self) -> Roles {
        Roles {
            lead: self.lead,
            co_designer: self.co_designer,
            interviewer: self.interviewer,
            analyst: self.analyst,
        }
    }

    pub fn perspective(&self) -> Perspective {
        Perspective::parse(&self.perspective).unwrap_or(Perspective::Staff)
    }
}

fn at_least_one_role(form: &MemberForm) -> Result<(), ValidationError> {
    if form.roles().any() {
        Ok(())
    } else {
        let mut error = ValidationError::new("roles");
        error.message = Some("Choose at least one role".into());
        Err(error)
    }
}

fn known_perspective(value: &str) -> Result<(), ValidationError> {
    Perspective::parse(value)
        .map(|_| ())
        .ok_or_else(|| ValidationError::new("perspective"))
}

/// A ticked HTML checkbox sends "on" (or its value); JSON sends a boolean. Both mean yes.
fn checkbox<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ticked {
        Bool(bool),
        Text(String),
    }
    Ok(match Ticked::deserialize(deserializer)? {
        Ticked::Bool(value) => value,
        Ticked::Text(text) => matches!(text.as_str(), "on" | "true" | "yes" | "1"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::error::field_errors;

    #[test]
    fn checkboxes_from_a_form_and_booleans_from_json_both_work() {
        let form: MemberForm =
            serde_urlencoded::from_str("email=a%40b.org&lead=on&perspective=carer").unwrap();
        assert!(form.lead && !form.analyst);
        let json: MemberForm =
            serde_json::from_str(r#"{"email":"a@b.org","analyst":true,"perspective":"staff"}"#)
                .unwrap();
        assert!(json.analyst && !json.lead);
    }

    #[test]
    fn a_member_needs_a_role_and_a_known_perspective() {
        let form = MemberForm {
            perspective: "patient".into(),
            ..MemberForm::default()
        };
        let errors = field_errors(&form.validate().unwrap_err());
        assert_eq!(errors["roles"], "Choose at least one role");
        assert_eq!(errors["perspective"], "Choose whose experience they bring");
    }
}
