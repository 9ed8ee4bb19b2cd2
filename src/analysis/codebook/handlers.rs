//! Codebook pages, for leads and analysts: the tree of codes, adding, changing and moving a code,
//! merging one into another, and the history. No JavaScript needed.

use actix_web::{web, HttpResponse};

use super::actions::{self, Codebook};
use super::rules::{CodeFields, PALETTE};
use crate::analysis::memos::actions as memos;
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::web::page::{form_field, see_other};
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/studies/{id}/codebook";
    cfg.route(base, web::get().to(index))
        .route(base, web::post().to(create))
        .route(&format!("{base}/new"), web::get().to(new_page))
        .route(&format!("{base}/history"), web::get().to(history))
        .route(&format!("{base}/{{code}}/edit"), web::get().to(edit_page))
        .route(&format!("{base}/{{code}}/edit"), web::post().to(edit))
        .route(&format!("{base}/{{code}}/merge"), web::get().to(merge_page))
        .route(&format!("{base}/{{code}}/merge"), web::post().to(merge));
}

fn codebook_url(study_id: i64) -> String {
    format!("/studies/{study_id}/codebook")
}

fn field(pairs: &[(String, String)], name: &str) -> String {
    form_field(pairs, name).to_string()
}

/// The code form as a browser sends it: one checkbox per TDF domain, named tdf.
fn from_form(pairs: &[(String, String)]) -> CodeFields {
    CodeFields {
        name: field(pairs, "name"),
        parent_id: field(pairs, "parent_id").parse().ok(),
        definition: field(pairs, "definition"),
        inclusion: field(pairs, "inclusion"),
        exclusion: field(pairs, "exclusion"),
        example: field(pairs, "example"),
        colour: field(pairs, "colour"),
        comb: field(pairs, "comb"),
        tdf: pairs
            .iter()
            .filter(|(k, _)| k == "tdf")
            .map(|(_, v)| v.clone())
            .collect(),
    }
}

fn context_for(access: &StudyAccess, codebook: &Codebook) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("codebook", codebook);
    context.insert(
        "palette",
        &PALETTE
            .iter()
            .map(|(value, label, hex)| serde_json::json!({ "value": value, "label": label, "hex": hex }))
            .collect::<Vec<_>>(),
    );
    context
}

async fn index(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (access, codebook) = actions::open(&page.state().db, &user, path.into_inner()).await?;
    let memo_counts = memos::counts(&page.state().db, access.study.id).await?;
    let mut context = context_for(&access, &codebook);
    context.insert("memo_counts", &memo_counts);
    page.render("codebook/index.html", context)
}

async fn form_page(
    page: &Page,
    user: &CurrentUser,
    study_id: i64,
    code_id: Option<i64>,
    form: Option<CodeFields>,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (access, codebook) = actions::open(&page.state().db, user, study_id).await?;
    let code = match code_id {
        Some(id) => Some(
            codebook
                .codes
                .iter()
                .find(|p| p.code.id == id)
                .map(|p| p.code.clone())
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let form = form.unwrap_or_else(|| {
        code.as_ref().map_or_else(
            || CodeFields {
                colour: "teal".into(),
                ..CodeFields::default()
            },
            |c| c.fields(),
        )
    });
    let mut context = context_for(&access, &codebook);
    context.insert("code", &code);
    context.insert("form", &form);
    context.insert(
        "parent",
        &form.parent_id.map(|p| p.to_string()).unwrap_or_default(),
    );
    page.render_form("codebook/form.html", context, errors)
}

async fn new_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    form_page(
        &page,
        &user,
        path.into_inner(),
        None,
        None,
        &FieldErrors::new(),
    )
    .await
}

async fn create(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let fields = from_form(&form);
    match actions::create(
        &page.state().db,
        &origin.by(user.id),
        &user,
        study_id,
        fields.clone(),
    )
    .await
    {
        Ok(code) => {
            page.flash(
                "success",
                format!("\u{201c}{}\u{201d} is added to the codebook.", code.name),
            );
            Ok(see_other(&format!(
                "{}#code-{}",
                codebook_url(study_id),
                code.id
            )))
        }
        Err(AppError::Invalid(errors)) => {
            form_page(&page, &user, study_id, None, Some(fields), &errors).await
        }
        Err(other) => Err(other),
    }
}

async fn edit_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, code_id) = path.into_inner();
    form_page(
        &page,
        &user,
        study_id,
        Some(code_id),
        None,
        &FieldErrors::new(),
    )
    .await
}

async fn edit(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, code_id) = path.into_inner();
    let fields = from_form(&form);
    match actions::update(
        &page.state().db,
        &origin.by(user.id),
        &user,
        study_id,
        code_id,
        fields.clone(),
    )
    .await
    {
        Ok(code) => {
            page.flash(
                "success",
                format!("\u{201c}{}\u{201d} is saved.", code.name),
            );
            Ok(see_other(&format!(
                "{}#code-{}",
                codebook_url(study_id),
                code.id
            )))
        }
        Err(AppError::Invalid(errors)) => {
            form_page(&page, &user, study_id, Some(code_id), Some(fields), &errors).await
        }
        Err(other) => Err(other),
    }
}

async fn merge_form(
    page: &Page,
    user: &CurrentUser,
    study_id: i64,
    code_id: i64,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (access, codebook) = actions::open(&page.state().db, user, study_id).await?;
    let code = codebook
        .codes
        .iter()
        .find(|p| p.code.id == code_id)
        .map(|p| p.code.clone())
        .ok_or(AppError::NotFound)?;
    let mut context = context_for(&access, &codebook);
    context.insert("code", &code);
    page.render_form("codebook/merge.html", context, errors)
}

async fn merge_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, code_id) = path.into_inner();
    merge_form(&page, &user, study_id, code_id, &FieldErrors::new()).await
}

async fn merge(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, code_id) = path.into_inner();
    let Ok(into) = field(&form, "into").parse::<i64>() else {
        let errors = FieldErrors::from([(
            "into".to_string(),
            "Choose the code to merge into".to_string(),
        )]);
        return merge_form(&page, &user, study_id, code_id, &errors).await;
    };
    match actions::merge(
        &page.state().db,
        &origin.by(user.id),
        &user,
        study_id,
        code_id,
        into,
    )
    .await
    {
        Ok(()) => {
            page.flash(
                "success",
                "The codes are merged. What was coded with the first now counts for the second.",
            );
            Ok(see_other(&format!(
                "{}#code-{into}",
                codebook_url(study_id)
            )))
        }
        Err(AppError::Invalid(errors)) => {
            merge_form(&page, &user, study_id, code_id, &errors).await
        }
        Err(other) => Err(other),
    }
}

async fn history(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (access, changes) = actions::history(&page.state().db, &user, path.into_inner()).await?;
    let rows: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| {
            let fields = |text: &str| serde_json::from_str::<CodeFields>(text).ok();
            let (before, after) = (fields(&c.old_fields), fields(&c.new_fields));
            let name = after
                .as_ref()
                .or(before.as_ref())
                .map(|f| f.name.clone())
                .unwrap_or_default();
            let changed: Vec<&str> = match (&before, &after) {
                (Some(b), Some(a)) => [
                    ("name", b.name != a.name),
                    ("place", b.parent_id != a.parent_id),
                    ("definition", b.definition != a.definition),
                    ("inclusion", b.inclusion != a.inclusion),
                    ("exclusion", b.exclusion != a.exclusion),
                    ("example", b.example != a.example),
                    ("colour", b.colour != a.colour),
                    ("COM-B", b.comb != a.comb),
                    ("TDF", b.tdf != a.tdf),
                ]
                .into_iter()
                .filter_map(|(f, differs)| differs.then_some(f))
                .collect(),
                _ => Vec::new(),
            };
            serde_json::json!({
                "version": c.version, "action": c.action, "name": name,
                "old_name": before.map(|b| b.name), "changed": changed, "at": c.changed_at,
            })
        })
        .collect();
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("changes", &rows);
    page.render("codebook/history.html", context)
}
