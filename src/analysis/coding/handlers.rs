//! Coding pages, for leads and analysts: where coding stands, and the answers to a question or of a
//! participant with a form beside each text. Without JavaScript a whole text is coded, or the words
//! of a passage, or a range of characters; with it, selecting words fills the form in.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::actions::{self, SourcesPage};
use super::queries::{Scope, View};
use super::rules::{NewCoding, Valence};
use crate::analysis::codebook::actions::{Codebook, CODERS};
use crate::analysis::memos::actions as memos;
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::web::page::{form_field, see_other};
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/studies/{id}/coding", web::get().to(index))
        .route(
            "/studies/{id}/coding/questions/{question}",
            web::get().to(by_question),
        )
        .route(
            "/studies/{id}/coding/responses/{response}",
            web::get().to(by_response),
        )
        .route(
            "/studies/{id}/coding/answers/{answer}",
            web::post().to(code),
        )
        .route(
            "/studies/{id}/codings/{coding}/delete",
            web::post().to(uncode),
        );
}

async fn index(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (access, overview) = actions::overview(page.state(), &user, path.into_inner()).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("overview", &overview);
    page.render("coding/index.html", context)
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<i64>,
}

/// Where the coding form came from, so the reader goes back to the same page of sources: a
/// question's answers, a response's, or a round's (`by` is questions, responses or rounds).
struct Place {
    by: &'static str,
    of: i64,
    page: i64,
}

impl Place {
    fn scope(&self) -> Scope {
        match self.by {
            "responses" => Scope::Response(self.of),
            "rounds" => Scope::Round(self.of),
            _ => Scope::Question(self.of),
        }
    }

    fn url(&self, study_id: i64) -> String {
        match self.by {
            "rounds" => format!("/studies/{study_id}/rounds/{}?page={}", self.of, self.page),
            by => format!(
                "/studies/{study_id}/coding/{by}/{}?page={}",
                self.of, self.page
            ),
        }
    }

    /// Rounds show only the coder's own codings there; elsewhere the study's codings show.
    fn view(&self, coder: i64) -> View {
        match self.scope() {
            Scope::Round(round_id) => View::Round {
                round_id,
                coder: Some(coder),
            },
            _ => View::Study,
        }
    }

    pub fn from_form(pairs: &[(String, String)]) -> Option<Place> {
        let of = form_field(pairs, "of").parse().ok()?;
        let by = ["questions", "responses", "rounds"]
            .into_iter()
            .find(|by| *by == form_field(pairs, "by"))?;
        Some(Place {
            by,
            of,
            page: form_field(pairs, "page").parse().unwrap_or(1),
        })
    }
}

/// What was typed into a coding form that failed its checks, shown again beside that text.
#[derive(Default, serde::Serialize)]
struct Attempt {
    answer_id: i64,
    field: String,
    passage: String,
    from: String,
    to: String,
    codes: Vec<String>,
    valence: String,
}

async fn sources_page(
    page: &Page,
    user: &CurrentUser,
    study_id: i64,
    place: Place,
    attempt: Attempt,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (access, codebook, listing) = actions::sources(
        page.state(),
        user,
        study_id,
        (place.scope(), place.view(user.id)),
        place.page,
    )
    .await?;
    let memo_counts = memos::counts(&page.state().db, study_id).await?;
    let mut context = sources_context(&access, &codebook, &listing, &place, &attempt);
    context.insert("memo_counts", &memo_counts);
    page.render_form("coding/sources.html", context, errors)
}

fn sources_context(
    access: &StudyAccess,
    codebook: &Codebook,
    listing: &SourcesPage,
    place: &Place,
    attempt: &Attempt,
) -> tera::Context {
    let (by, of) = (place.by, place.of);
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("codebook", codebook);
    context.insert("listing", listing);
    context.insert("by", by);
    context.insert("of", &of);
    context.insert("valences", &Valence::options());
    context.insert("attempt", attempt);
    context
}

async fn by_question(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    read(user, page, path.into_inner(), query.page, "questions").await
}

async fn by_response(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    read(user, page, path.into_inner(), query.page, "responses").await
}

async fn read(
    user: CurrentUser,
    page: Page,
    (study_id, of): (i64, i64),
    page_number: Option<i64>,
    by: &'static str,
) -> Result<HttpResponse, AppError> {
    let place = Place {
        by,
        of,
        page: page_number.unwrap_or(1),
    };
    let errors = FieldErrors::new();
    sources_page(&page, &user, study_id, place, Attempt::default(), &errors).await
}

/// A double-coding round's sources for one of its coders (checked by the caller).
pub(crate) async fn round_page(
    user: CurrentUser,
    page: Page,
    study_id: i64,
    round_id: i64,
    page_number: Option<i64>,
) -> Result<HttpResponse, AppError> {
    read(user, page, (study_id, round_id), page_number, "rounds").await
}

/// A position typed on the form: counted from 1 by people, from 0 by the API.
fn position(text: &str, name: &str, errors: &mut FieldErrors) -> Option<usize> {
    match text.trim() {
        "" => None,
        given => match given.parse::<usize>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                errors.insert(
                    name.into(),
                    "Give the position as a whole number, 1 for the first character".into(),
                );
                None
            }
        },
    }
}

async fn code(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, answer_id) = path.into_inner();
    let Some(place) = Place::from_form(&form) else {
        // A form from no page of sources: still a 403 for people who may not code.
        StudyAccess::with_role(&page.state().db, &user, study_id, CODERS).await?;
        return Err(AppError::NotFound);
    };
    let attempt = Attempt {
        answer_id,
        field: form_field(&form, "field").into(),
        passage: form_field(&form, "passage").into(),
        from: form_field(&form, "from").into(),
        to: form_field(&form, "to").into(),
        codes: form
            .iter()
            .filter(|(k, _)| k == "code")
            .map(|(_, v)| v.clone())
            .collect(),
        valence: form_field(&form, "valence").into(),
    };
    let mut errors = FieldErrors::new();
    let from = position(&attempt.from, "from", &mut errors);
    let to = position(&attempt.to, "to", &mut errors);
    let request = NewCoding {
        answer_id,
        field: attempt.field.clone(),
        start: from.map(|n| n - 1),
        end: to,
        passage: attempt.passage.clone(),
        code_ids: attempt
            .codes
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect(),
        valence: attempt.valence.clone(),
        round_id: match place.scope() {
            Scope::Round(id) => Some(id),
            _ => None,
        },
    };
    let outcome = if errors.is_empty() {
        actions::code(page.state(), &origin.by(user.id), &user, study_id, request).await
    } else {
        Err(AppError::Invalid(errors))
    };
    match outcome {
        Ok(made) => {
            page.flash(
                "success",
                if made.len() == 1 {
                    "The passage is coded.".to_string()
                } else {
                    format!("The passage is coded with {} codes.", made.len())
                },
            );
            Ok(see_other(&format!(
                "{}#source-{answer_id}",
                place.url(study_id)
            )))
        }
        Err(AppError::Invalid(errors)) => {
            // The form says "from" and "to"; the checks speak of start and end.
            let errors = errors
                .into_iter()
                .map(|(k, v)| match k.as_str() {
                    "start" => ("from".to_string(), v),
                    "end" => ("to".to_string(), v),
                    _ => (k, v),
                })
                .collect();
            sources_page(&page, &user, study_id, place, attempt, &errors).await
        }
        Err(other) => Err(other),
    }
}

async fn uncode(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, coding_id) = path.into_inner();
    let removed = actions::uncode(
        page.state(),
        &origin.by(user.id),
        &user,
        study_id,
        coding_id,
    )
    .await?;
    page.flash("success", "The coding is taken off.");
    let back = Place::from_form(&form).map_or_else(
        || format!("/studies/{study_id}/coding"),
        |place| format!("{}#source-{}", place.url(study_id), removed.answer_id),
    );
    Ok(see_other(&back))
}
