//! Roster pages, for the study's leads: the list with filters, adding and changing a participant,
//! erasing an identity, importing a CSV file (upload, preview, confirm) and the list of service areas.
//! No JavaScript needed.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::actions::{self, ParticipantDetail};
use super::forms::{from_form, read_upload};
use super::queries::{Paging, RosterFilter};
use super::rules::{
    Choice, CommunicationNeed, Group, InterviewMode, ParticipantInput, SystemLevel,
};
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

/// `/participants/new` and `/participants/import` come before `/participants/{pid}`, which would
/// otherwise take them for a participant.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/studies/{id}/participants";
    cfg.route(base, web::get().to(index))
        .route(base, web::post().to(create))
        .route("/studies/{id}/participants.csv", web::get().to(export))
        .route(&format!("{base}/new"), web::get().to(new_page))
        .route(&format!("{base}/import"), web::get().to(import_page))
        .route(&format!("{base}/import"), web::post().to(upload))
        .route(&format!("{base}/import/{{import}}"), web::get().to(preview))
        .route(
            &format!("{base}/import/{{import}}"),
            web::post().to(confirm),
        )
        .route(
            &format!("{base}/import/{{import}}/cancel"),
            web::post().to(cancel),
        )
        .route(&format!("{base}/{{pid}}"), web::get().to(show))
        .route(&format!("{base}/{{pid}}/edit"), web::get().to(edit_page))
        .route(&format!("{base}/{{pid}}/edit"), web::post().to(edit))
        .route(
            &format!("{base}/{{pid}}/erase-identity"),
            web::get().to(erase_page),
        )
        .route(
            &format!("{base}/{{pid}}/erase-identity"),
            web::post().to(erase),
        )
        .route("/studies/{id}/service-areas", web::get().to(areas_page))
        .route("/studies/{id}/service-areas", web::post().to(save_areas));
}

const LEAD: &[StudyRole] = &[StudyRole::Lead];

async fn lead(page: &Page, user: &CurrentUser, study_id: i64) -> Result<StudyAccess, AppError> {
    StudyAccess::with_role(&page.state().db, user, study_id, LEAD).await
}

fn roster_url(study_id: i64) -> String {
    format!("/studies/{study_id}/participants")
}

fn participant_url(study_id: i64, participant_id: i64) -> String {
    format!("/studies/{study_id}/participants/{participant_id}")
}

/// Value → label for each vocabulary, for tables and summaries.
fn labels(context: &mut tera::Context) {
    fn map(choices: Vec<Choice>) -> HashMap<String, String> {
        choices.into_iter().map(|c| (c.value, c.label)).collect()
    }
    context.insert("group_labels", &map(Group::options()));
    context.insert("level_labels", &map(SystemLevel::options()));
    context.insert("need_labels", &map(CommunicationNeed::options()));
    context.insert("mode_labels", &map(InterviewMode::options()));
}

/// A choice meaning "nothing chosen", before the others.
fn with_none(none: &str, choices: impl IntoIterator<Item = Choice>) -> Vec<Choice> {
    std::iter::once(Choice {
        value: String::new(),
        label: none.into(),
    })
    .chain(choices)
    .collect()
}

fn area_choices(areas: &[String]) -> impl Iterator<Item = Choice> + '_ {
    areas.iter().map(|a| Choice {
        value: a.clone(),
        label: a.clone(),
    })
}

async fn index(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    filter: web::Query<RosterFilter>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, AppError> {
    let access = lead(&page, &user, path.into_inner()).await?;
    let db = &page.state().db;
    let study_id = access.study.id;
    let roster = actions::roster(
        db,
        &origin.by(user.id),
        study_id,
        &filter,
        paging.page,
        access.me.roles.identities(),
    )
    .await?;
    let (areas, tags) = actions::filter_choices(db, study_id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("roster", &roster);
    context.insert("filter", &roster.filter);
    context.insert("filtered", &!roster.filter.is_empty());
    // For the page links and the CSV download.
    context.insert("filter_query", &roster.filter.query_string());
    context.insert("group_options", &Group::options());
    context.insert("level_options", &SystemLevel::options());
    context.insert("areas", &areas);
    context.insert("tags", &tags);
    labels(&mut context);
    page.render("participants/index.html", context)
}

async fn export(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    query: web::Query<RosterFilter>,
) -> Result<HttpResponse, AppError> {
    let access = lead(&page, &user, path.into_inner()).await?;
    let body = actions::roster_csv(
        &page.state().db,
        access.study.id,
        &query,
        access.me.roles.identities(),
    )
    .await?;
    // What was searched for may be a name: the log says only that there was a search.
    let searched = !query.q.trim().is_empty();
    let filter = RosterFilter {
        q: String::new(),
        ..query.into_inner()
    };
    let details = json!({ "filter": filter.query_string(), "searched": searched });
    crate::audit::looked(
        &page.state().db,
        &origin.by(user.id),
        "export.participants",
        Some(access.study.id),
        details,
    )
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"study-{}-participants.csv\"",
                access.study.id
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// The add and edit form: what was typed (or is stored) and the choices, for a participant whose
/// identity may be shown (`erased` hides it).
async fn form_context(
    page: &Page,
    access: &StudyAccess,
    input: &ParticipantInput,
    participant: Option<&ParticipantDetail>,
) -> Result<tera::Context, AppError> {
    let areas = actions::service_areas(&page.state().db, access.study.id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("participant", &participant);
    context.insert(
        "erased",
        &participant.is_some_and(|p| p.participant.identity_erased_at.is_some()),
    );
    context.insert(
        "form",
        &json!({
            "name": input.name, "email": input.email, "phone": input.phone, "group": input.group,
            "service_area": input.service_area, "system_level": input.system_level,
            "tags": input.tags.join(", "), "preferred_mode": input.preferred_mode,
        }),
    );
    let ticked: HashMap<&str, bool> = CommunicationNeed::ALL
        .iter()
        .map(|n| {
            (
                n.as_str(),
                input.communication_needs.iter().any(|c| c == n.as_str()),
            )
        })
        .collect();
    context.insert("needs", &ticked);
    context.insert("group_options", &Group::options());
    context.insert(
        "area_options",
        &with_none("Not recorded", area_choices(&areas)),
    );
    context.insert(
        "level_options",
        &with_none("Not recorded", SystemLevel::options()),
    );
    context.insert("need_options", &CommunicationNeed::options());
    context.insert(
        "mode_options",
        &with_none("Not known", InterviewMode::options()),
    );
    Ok(context)
}

async fn new_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let access = lead(&page, &user, path.into_inner()).await?;
    let context = form_context(&page, &access, &ParticipantInput::default(), None).await?;
    page.render("participants/form.html", context)
}

async fn create(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let access = lead(&page, &user, path.into_inner()).await?;
    let input = from_form(&form);
    match actions::add(
        &page.state().db,
        &origin.by(user.id),
        access.study.id,
        &input,
    )
    .await
    {
        Ok(added) => {
            page.flash(
                "success",
                format!("{} is added to the roster.", added.participant.code),
            );
            Ok(see_other(&participant_url(
                access.study.id,
                added.participant.id,
            )))
        }
        Err(AppError::Invalid(errors)) => {
            let context = form_context(&page, &access, &input, None).await?;
            page.render_invalid("participants/form.html", context, &errors)
        }
        Err(other) => Err(other),
    }
}

/// The lead's study and one of its participants, identity included.
async fn open(
    page: &Page,
    user: &CurrentUser,
    path: (i64, i64),
) -> Result<(StudyAccess, ParticipantDetail), AppError> {
    let access = lead(page, user, path.0).await?;
    let found = actions::participant(&page.state().db, access.study.id, path.1, true).await?;
    Ok((access, found))
}

async fn show(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (access, participant) = open(&page, &user, path.into_inner()).await?;
    actions::audit_identity_shown(
        &page.state().db,
        &origin.by(user.id),
        access.study.id,
        &participant,
        "participant page",
    )
    .await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("participant", &participant);
    labels(&mut context);
    page.render("participants/show.html", context)
}

async fn edit_page(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (access, participant) = open(&page, &user, path.into_inner()).await?;
    actions::audit_identity_shown(
        &page.state().db,
        &origin.by(user.id),
        access.study.id,
        &participant,
        "participant edit page",
    )
    .await?;
    let context = form_context(&page, &access, &participant.input(), Some(&participant)).await?;
    page.render("participants/form.html", context)
}

async fn edit(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (access, participant) = open(&page, &user, path.into_inner()).await?;
    let input = from_form(&form);
    let id = participant.participant.id;
    match actions::update(
        &page.state().db,
        &origin.by(user.id),
        access.study.id,
        id,
        &input,
    )
    .await
    {
        Ok(saved) => {
            page.flash("success", format!("{} is saved.", saved.participant.code));
            Ok(see_other(&participant_url(access.study.id, id)))
        }
        Err(AppError::Invalid(errors)) => {
            let context = form_context(&page, &access, &input, Some(&participant)).await?;
            page.render_invalid("participants/form.html", context, &errors)
        }
        Err(other) => Err(other),
    }
}

async fn erase_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (access, participant) = open(&page, &user, path.into_inner()).await?;
    if participant.participant.identity_erased_at.is_some() {
        return Ok(see_other(&participant_url(
            access.study.id,
            participant.participant.id,
        )));
    }
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("participant", &participant);
    page.render("participants/erase.html", context)
}

async fn erase(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, participant_id) = path.into_inner();
    let access = lead(&page, &user, study_id).await?;
    let erased = actions::erase_identity(
        &page.state().db,
        &origin.by(user.id),
        access.study.id,
        participant_id,
    )
    .await?;
    page.flash(
        "success",
        format!(
            "The identity of {} is erased. Their research data stays under this code.",
            erased.participant.code
        ),
    );
    Ok(see_other(&participant_url(study_id, participant_id)))
}

fn import_context(access: &StudyAccess, pasted: &str) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("pasted", pasted);
    context
}

async fn import_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let access = lead(&page, &user, path.into_inner()).await?;
    page.render("participants/import.html", import_context(&access, ""))
}

/// Checks the file and shows the preview; nothing reaches the roster until it is confirmed.
async fn upload(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
    multipart: Multipart,
) -> Result<HttpResponse, AppError> {
    let access = lead(&page, &user, path.into_inner()).await?;
    let state = page.state();
    let (pasted, result) = match read_upload(multipart, state.settings.limits.upload_bytes).await {
        Ok(upload) => (
            upload.pasted,
            actions::start_import(&state.db, access.study.id, user.id, upload.bytes).await,
        ),
        Err(error) => (String::new(), Err(error)),
    };
    match result {
        Ok(import_id) => Ok(see_other(&format!(
            "{}/import/{import_id}",
            roster_url(access.study.id)
        ))),
        Err(AppError::Invalid(errors)) => page.render_invalid(
            "participants/import.html",
            import_context(&access, &pasted),
            &errors,
        ),
        Err(other) => Err(other),
    }
}

async fn render_preview(
    page: &Page,
    access: &StudyAccess,
    import_id: i64,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let pending = actions::pending_import(&page.state().db, access.study.id, import_id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("import", &pending);
    context.insert("import_id", &import_id);
    labels(&mut context);
    match errors {
        Some(errors) => page.render_invalid("participants/preview.html", context, errors),
        None => page.render("participants/preview.html", context),
    }
}

async fn preview(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, import_id) = path.into_inner();
    let access = lead(&page, &user, study_id).await?;
    render_preview(&page, &access, import_id, None).await
}

#[derive(Deserialize)]
struct ConfirmForm {
    /// "on" when the person chose to add the file's new service areas to the study's list.
    #[serde(default)]
    add_service_areas: Option<String>,
}

async fn confirm(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    let (study_id, import_id) = path.into_inner();
    let access = lead(&page, &user, study_id).await?;
    let add_new_areas = form.add_service_areas.is_some();
    match actions::confirm_import(
        &page.state().db,
        &origin.by(user.id),
        study_id,
        import_id,
        add_new_areas,
    )
    .await
    {
        Ok(done) => {
            let codes = match (&done.first_code, &done.last_code) {
                (Some(first), Some(last)) if first != last => format!(" ({first} to {last})"),
                (Some(first), _) => format!(" ({first})"),
                _ => String::new(),
            };
            let people = if done.imported == 1 {
                "participant is"
            } else {
                "participants are"
            };
            page.flash(
                "success",
                format!("{} {people} imported{codes}.", done.imported),
            );
            Ok(see_other(&roster_url(study_id)))
        }
        // Already confirmed (a second click) or cancelled: nothing is waiting any more.
        Err(AppError::NotFound) => {
            page.flash(
                "info",
                "That import is no longer waiting: it was already imported or cancelled.",
            );
            Ok(see_other(&roster_url(study_id)))
        }
        Err(AppError::Invalid(errors)) => {
            render_preview(&page, &access, import_id, Some(&errors)).await
        }
        Err(other) => Err(other),
    }
}

async fn cancel(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, import_id) = path.into_inner();
    lead(&page, &user, study_id).await?;
    actions::cancel_import(&page.state().db, study_id, import_id).await?;
    page.flash("info", "The import is cancelled. Nothing was imported.");
    Ok(see_other(&format!("{}/import", roster_url(study_id))))
}

fn areas_context(access: &StudyAccess, text: &str) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("service_areas", text);
    context
}

async fn areas_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let access = lead(&page, &user, path.into_inner()).await?;
    let areas = actions::service_areas(&page.state().db, access.study.id).await?;
    page.render(
        "participants/service_areas.html",
        areas_context(&access, &areas.join("\n")),
    )
}

#[derive(Deserialize)]
struct AreasForm {
    #[serde(default)]
    service_areas: String,
}

async fn save_areas(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<AreasForm>,
) -> Result<HttpResponse, AppError> {
    let access = lead(&page, &user, path.into_inner()).await?;
    match actions::set_service_areas(
        &page.state().db,
        &origin.by(user.id),
        access.study.id,
        &form.service_areas,
    )
    .await
    {
        Ok(areas) => {
            page.flash(
                "success",
                format!("The list of service areas is saved ({}).", areas.len()),
            );
            Ok(see_other(&roster_url(access.study.id)))
        }
        Err(AppError::Invalid(errors)) => page.render_invalid(
            "participants/service_areas.html",
            areas_context(&access, &form.service_areas),
            &errors,
        ),
        Err(other) => Err(other),
    }
}
