//! One error type at the HTTP boundary. Handlers return it; `render_errors` turns it (and actix's own
//! errors) into an HTML page or the JSON error shape, depending on where the request was going.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbError;

/// Field name → the message shown beside that field (and in the error summary).
pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("You need to sign in to see this page.")]
    Unauthenticated,
    #[error("You do not have permission to do this.")]
    Forbidden,
    #[error("Not found.")]
    NotFound,
    #[error("Your session has expired or the form was sent from somewhere else. Go back, reload the page and try again.")]
    Csrf,
    #[error("Some of the information is missing or not right.")]
    Invalid(FieldErrors),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("Your account must use two-step sign-in. Set it up on your account page (/account/two-step) first.")]
    SecondFactorSetUpNeeded,
    #[error("Confirm it is you: this needs the code from your authenticator app again.")]
    StepUpNeeded,
    #[error("Something went wrong on our side.")]
    Internal(#[source] anyhow::Error),
    /// The database cannot be used just now (see `db::is_outage`): 503, try again shortly.
    #[error("The service cannot reach its database just now; nothing was changed. Try again in a few seconds.")]
    Unavailable(#[source] anyhow::Error),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Csrf => "csrf_failed",
            AppError::Invalid(_) => "invalid",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::SecondFactorSetUpNeeded => "second_factor_required",
            AppError::StepUpNeeded => "step_up_required",
            AppError::Internal(_) => "internal",
            AppError::Unavailable(_) => "unavailable",
        }
    }

    pub fn fields(&self) -> Option<&FieldErrors> {
        match self {
            AppError::Invalid(fields) => Some(fields),
            _ => None,
        }
    }

    /// A failure on our side: 503 when it is the database being unavailable, 500 otherwise.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        let error = error.into();
        if crate::db::is_outage(&error) {
            AppError::Unavailable(error)
        } else {
            AppError::Internal(error)
        }
    }

    pub fn invalid(field: &str, message: &str) -> Self {
        AppError::Invalid(FieldErrors::from([(
            field.to_string(),
            message.to_string(),
        )]))
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden
            | AppError::Csrf
            | AppError::SecondFactorSetUpNeeded
            | AppError::StepUpNeeded => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    // The body is written by the `render_errors` middleware, which knows whether the caller wants HTML or JSON.
    fn error_response(&self) -> HttpResponse {
        HttpResponse::new(self.status_code())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => AppError::NotFound,
            other => AppError::internal(other),
        }
    }
}

impl From<DbError> for AppError {
    fn from(error: DbError) -> Self {
        AppError::internal(error)
    }
}

impl From<validator::ValidationErrors> for AppError {
    fn from(errors: validator::ValidationErrors) -> Self {
        AppError::Invalid(field_errors(&errors))
    }
}

/// The first message for each field, as written in the form's `#[validate(..., message = "...")]`.
/// A check across several fields (`#[validate(schema(...))]`) names the field to show it beside in its
/// error code.
pub fn field_errors(errors: &validator::ValidationErrors) -> FieldErrors {
    let mut fields = FieldErrors::new();
    for (field, list) in errors.field_errors() {
        for error in list {
            let Some(message) = &error.message else {
                continue;
            };
            let field = if field == "__all__" {
                error.code.to_string()
            } else {
                field.to_string()
            };
            fields.entry(field).or_insert_with(|| message.to_string());
        }
    }
    fields
}

/// Every API error has this shape.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: not_found, forbidden, invalid, unauthenticated, csrf_failed, ...
    pub code: String,
    pub message: String,
    /// Field name → what is wrong with it (for `invalid`).
    pub fields: BTreeMap<String, String>,
}
