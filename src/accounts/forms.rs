//! What people send: HTML forms and JSON bodies share these, with their validation messages.
//! Missing fields default to empty so the person sees "Enter your …" rather than a 400.

use serde::Deserialize;
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::rules::{PASSWORD_MAX, PASSWORD_MIN};
use crate::identity::Role;

const PASSWORD_LENGTH: &str =
    "Enter a password of at least 12 characters. Three random words work well.";

#[derive(Debug, Default, Deserialize, Validate)]
#[serde(default)]
pub struct SignInForm {
    #[validate(
        length(min = 1, message = "Enter your email address"),
        email(message = "Enter an email address in the correct format, like name@example.com")
    )]
    #[serde(deserialize_with = "trimmed")]
    pub email: String,
    #[validate(length(min = 1, message = "Enter your password"))]
    pub password: String,
    pub next: Option<String>,
}

#[derive(Debug, Default, Deserialize, Validate)]
#[serde(default)]
pub struct ForgotPasswordForm {
    #[validate(
        length(min = 1, message = "Enter your email address"),
        email(message = "Enter an email address in the correct format, like name@example.com")
    )]
    #[serde(deserialize_with = "trimmed")]
    pub email: String,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct NewPasswordForm {
    #[validate(length(
        min = 12,
        max = 200,
        message = "Enter a password of at least 12 characters. Three random words work well."
    ))]
    pub new_password: String,
    #[validate(must_match(
        other = "new_password",
        message = "The passwords do not match. Type the same password twice."
    ))]
    pub confirm_password: String,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct ChangePasswordForm {
    #[validate(length(min = 1, message = "Enter your current password"))]
    pub current_password: String,
    #[validate(length(
        min = 12,
        max = 200,
        message = "Enter a password of at least 12 characters. Three random words work well."
    ))]
    pub new_password: String,
    #[validate(must_match(
        other = "new_password",
        message = "The passwords do not match. Type the same password twice."
    ))]
    pub confirm_password: String,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct InviteForm {
    #[validate(
        length(min = 1, message = "Enter their email address"),
        email(message = "Enter an email address in the correct format, like name@example.com")
    )]
    #[serde(deserialize_with = "trimmed")]
    pub email: String,
    #[validate(custom(
        function = "plain_display_name",
        message = "Enter their name as plain words, up to 80 characters, without web or email addresses"
    ))]
    #[serde(deserialize_with = "trimmed")]
    pub display_name: String,
    /// "admin" or "member".
    #[validate(custom(
        function = "known_role",
        message = "Choose whether they are a member or an administrator"
    ))]
    pub role: String,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct TokenForm {
    /// What the token is for, e.g. "analysis scripts".
    #[validate(length(
        min = 1,
        max = 60,
        message = "Enter a name for the token, up to 60 characters"
    ))]
    pub name: String,
}

/// People paste addresses with spaces around them; that is not an error worth showing.
fn trimmed<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    String::deserialize(deserializer).map(|text| text.trim().to_string())
}

/// The name goes into the invitation email: plain words only (`rules::plain_name`).
fn plain_display_name(name: &str) -> Result<(), ValidationError> {
    if super::rules::plain_name(name) {
        Ok(())
    } else {
        Err(ValidationError::new("display_name"))
    }
}

fn known_role(role: &str) -> Result<(), ValidationError> {
    Role::parse(role)
        .map(|_| ())
        .ok_or_else(|| ValidationError::new("role"))
}

/// The command line reads a password from stdin; it follows the same rule as the forms.
pub fn check_password(password: &str) -> Result<(), &'static str> {
    let length = password.chars().count() as u64;
    if (PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        Ok(())
    } else {
        Err(PASSWORD_LENGTH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::field_errors;

    const EMAIL_FORMAT: &str =
        "Enter an email address in the correct format, like name@example.com";

    #[test]
    fn empty_fields_ask_for_input_first() {
        let errors = field_errors(&SignInForm::default().validate().unwrap_err());
        assert_eq!(errors["email"], "Enter your email address");
        assert_eq!(errors["password"], "Enter your password");
        let bad = SignInForm {
            email: "nope".into(),
            password: "x".into(),
            next: None,
        };
        assert_eq!(
            field_errors(&bad.validate().unwrap_err())["email"],
            EMAIL_FORMAT
        );
    }

    #[test]
    fn new_passwords_must_be_long_and_match() {
        let form = NewPasswordForm {
            new_password: "short".into(),
            confirm_password: "other".into(),
        };
        let errors = field_errors(&form.validate().unwrap_err());
        assert_eq!(errors["new_password"], PASSWORD_LENGTH);
        assert!(errors["confirm_password"].contains("do not match"));
        assert!(check_password("twelve chars").is_ok());
        assert!(check_password("eleven char").is_err());
    }

    #[test]
    fn roles_are_checked() {
        let form = InviteForm {
            email: "a@b.org".into(),
            display_name: "A".into(),
            role: "root".into(),
        };
        assert!(field_errors(&form.validate().unwrap_err()).contains_key("role"));
    }
}
