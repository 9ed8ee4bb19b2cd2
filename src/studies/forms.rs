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
    /// "yes" or "no" (true or false in JSON): at submission, drop the link between a participant's
    /// identity and their answers. Left out: unchanged.
    #[serde(deserialize_with = "optional_yes_no")]
    pub anonymise_responses: Option<bool>,
    /// In views shared beyond the leads, counts from 1 to this minus one are hidden (2 to 50; 5 is usual).
    /// Left out: unchanged.
    #[validate(range(
        min = 2,
        max = 50,
        message = "Enter a number from 2 to 50 (5 is usual)"
    ))]
    #[serde(deserialize_with = "optional_number")]
    pub small_count_threshold: Option<i32>,
    /// "yes" or "no" (true or false in JSON): participants may change their answers after submitting,
    /// until their link closes. Left out: unchanged.
    #[serde(deserialize_with = "optional_yes_no")]
    pub changes_after_submit: Option<bool>,
    /// "yes" or "no" (true or false in JSON): co-designers may read the analysis (the framework
    /// matrix and its tables). Left out: unchanged.
    #[serde(deserialize_with = "optional_yes_no")]
    pub co_designers_read_analysis: Option<bool>,
    /// "yes" or "no" (true or false in JSON): analysts see participant-level rows and every count.
    /// No: they get the shared view, as co-designers do (counts under the threshold hidden, quotes
    /// only once a lead approved them). Left out: unchanged.
    #[serde(deserialize_with = "optional_yes_no")]
    pub analysts_see_participants: Option<bool>,
}

/// A yes/no choice from radios ("yes", "no") or JSON (true, false); empty or absent is None.
fn optional_yes_no<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Choice {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Choice>::deserialize(deserializer)? {
        Some(Choice::Bool(b)) => Some(b),
        Some(Choice::Text(t)) => match t.as_str() {
            "yes" | "true" | "on" => Some(true),
            "no" | "false" => Some(false),
            _ => None,
        },
        None => None,
    })
}

/// A whole number from a text field or JSON; empty or absent is None, anything else not a number is
/// out of range (so the message beside the field says what to enter).
fn optional_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(i32),
        Text(String),
    }
    Ok(match Option::<Number>::deserialize(deserializer)? {
        Some(Number::Int(n)) => Some(n),
        Some(Number::Text(t)) if t.trim().is_empty() => None,
        Some(Number::Text(t)) => Some(t.trim().parse().unwrap_or(-1)),
        None => None,
    })
}

/// Adding a member (email and, for someone without an account, their name) or changing one (roles and
/// perspective only). Roles are four yes/no fields: checkboxes on the page, booleans in JSON.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(default)]
#[validate(schema(function = "at_least_one_role", skip_on_field_errors = false))]
pub struct MemberForm {
    pub email: String,
    /// The name to invite them by, as plain words (it goes into the invitation email).
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
pub(crate) fn checkbox<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
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
    use crate::error::field_errors;

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
