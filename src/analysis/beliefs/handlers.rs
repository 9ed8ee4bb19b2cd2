//! Belief statement pages, for leads and analysts: every statement by code with its quotes, writing
//! one (choose the code with a GET form first, then the statement and its passages as checkboxes),
//! changing and removing it. No JavaScript needed.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::actions::{self, CodePassages};
use super::rules::{BeliefChange, NewBelief};
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::web::page::{form_field, see_other};
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/studies/{id}/beliefs";
    cfg.route(base, web::get().to(index))
        .route(base, web::post().to(create))
        .route(&format!("{base}/new"), web::get().to(new_page))
        .route(&format!("{base}/{{belief}}/edit"), web::get().to(edit_page))
        .route(&format!("{base}/{{belief}}/edit"), web::post().to(edit))
        .route(&format!("{base}/{{belief}}/delete"), web::post().to(delete));
}

fn beliefs_url(study_id: i64) -> String {
    format!("/studies/{study_id}/beliefs")
}

async fn index(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (access, grouped) = actions::list(&page.state().db, &user, path.into_inner()).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("codes", &grouped);
    page.render("beliefs/index.html", context)
}

#[derive(Deserialize)]
struct CodeQuery {
    code: Option<String>,
}

/// What the statement form shows: what was typed (or is stored) and the passages ticked.
struct Typed {
    statement: String,
    ticked: Vec<String>,
}

fn ticked(form: &[(String, String)]) -> Vec<String> {
    form.iter()
        .filter(|(k, _)| k == "coding_ids")
        .map(|(_, v)| v.clone())
        .collect()
}

fn coding_ids(ticked: &[String]) -> Vec<i64> {
    ticked.iter().filter_map(|v| v.parse().ok()).collect()
}

async fn new_form(
    page: &Page,
    user: &CurrentUser,
    study_id: i64,
    code_id: Option<i64>,
    typed: Typed,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (access, codebook, chosen) =
        actions::form(&page.state().db, user, study_id, code_id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("codebook", &codebook);
    context.insert("chosen", &chosen);
    context.insert("belief", &None::<()>);
    context.insert("statement", &typed.statement);
    context.insert("ticked", &typed.ticked);
    page.render_form("beliefs/form.html", context, errors)
}

async fn new_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
    query: web::Query<CodeQuery>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let typed = Typed {
        statement: String::new(),
        ticked: Vec::new(),
    };
    match query.code.as_deref().map(str::trim) {
        None | Some("") => new_form(&page, &user, study_id, None, typed, &FieldErrors::new()).await,
        Some(code) => match code.parse() {
            Ok(code) => {
                new_form(
                    &page,
                    &user,
                    study_id,
                    Some(code),
                    typed,
                    &FieldErrors::new(),
                )
                .await
            }
            Err(_) => {
                let errors =
                    FieldErrors::from([("code_id".to_string(), "Choose a code".to_string())]);
                new_form(&page, &user, study_id, None, typed, &errors).await
            }
        },
    }
}

async fn create(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let typed = Typed {
        statement: form_field(&form, "statement").into(),
        ticked: ticked(&form),
    };
    let code_id = form_field(&form, "code_id").parse().ok();
    let new = NewBelief {
        code_id: code_id.unwrap_or_default(),
        statement: typed.statement.clone(),
        coding_ids: coding_ids(&typed.ticked),
    };
    match actions::create(&page.state().db, &origin.by(user.id), &user, study_id, new).await {
        Ok(made) => {
            page.flash("success", "The belief statement is saved.");
            Ok(see_other(&format!(
                "{}#belief-{}",
                beliefs_url(study_id),
                made.belief.id
            )))
        }
        Err(AppError::Invalid(errors)) => {
            new_form(&page, &user, study_id, code_id, typed, &errors).await
        }
        Err(other) => Err(other),
    }
}

async fn edit_form(
    page: &Page,
    user: &CurrentUser,
    (study_id, belief_id): (i64, i64),
    typed: Option<Typed>,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (access, belief, chosen): (_, _, CodePassages) =
        actions::editable(&page.state().db, user, study_id, belief_id).await?;
    let typed = typed.unwrap_or_else(|| Typed {
        statement: belief.belief.statement.clone(),
        ticked: belief
            .passages
            .iter()
            .map(|p| p.coding_id.to_string())
            .collect(),
    });
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("chosen", &Some(chosen));
    context.insert("belief", &Some(belief));
    context.insert("statement", &typed.statement);
    context.insert("ticked", &typed.ticked);
    page.render_form("beliefs/form.html", context, errors)
}

async fn edit_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    edit_form(&page, &user, path.into_inner(), None, &FieldErrors::new()).await
}

async fn edit(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, belief_id) = path.into_inner();
    let typed = Typed {
        statement: form_field(&form, "statement").into(),
        ticked: ticked(&form),
    };
    let change = BeliefChange {
        statement: typed.statement.clone(),
        coding_ids: coding_ids(&typed.ticked),
    };
    let outcome = actions::change(
        &page.state().db,
        &origin.by(user.id),
        &user,
        study_id,
        belief_id,
        change,
    )
    .await;
    match outcome {
        Ok(changed) => {
            page.flash("success", "The belief statement is changed.");
            Ok(see_other(&format!(
                "{}#belief-{}",
                beliefs_url(study_id),
                changed.belief.id
            )))
        }
        Err(AppError::Invalid(errors)) => {
            edit_form(&page, &user, (study_id, belief_id), Some(typed), &errors).await
        }
        Err(other) => Err(other),
    }
}

async fn delete(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, belief_id) = path.into_inner();
    actions::remove(
        &page.state().db,
        &origin.by(user.id),
        &user,
        study_id,
        belief_id,
    )
    .await?;
    page.flash("success", "The belief statement is removed.");
    Ok(see_other(&beliefs_url(study_id)))
}
