//! Questionnaire pages: the editor (a read-only guide for members who do not edit), and forms to add,
//! change, move, duplicate and delete sections and questions. Every action works without JavaScript.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::actions::{self, Saved};
use super::history::actions::Target;
use super::queries::{
    self, Direction, EditorData, Question, Questionnaire, Section, SectionTree, TaxonomyTerm,
};
use super::rules::{QuestionInput, SectionInput, DEFAULT_LIKERT, KINDS};
use super::suggestions::{self, handlers::suggestions_url};
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::studies::plain_language::{self, PlainLanguageReport};
use crate::studies::rules::StudyRole;
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/studies/{id}/questionnaires/new",
        web::get().to(new_questionnaire_page),
    )
    .route(
        "/studies/{id}/questionnaires",
        web::post().to(create_questionnaire),
    )
    .route("/studies/{id}/questionnaires/{q}", web::get().to(editor))
    .route(
        "/studies/{id}/questionnaires/{q}/sections/new",
        web::get().to(new_section_page),
    )
    .route(
        "/studies/{id}/questionnaires/{q}/sections",
        web::post().to(add_section),
    )
    .route(
        "/studies/{id}/sections/{s}/edit",
        web::get().to(edit_section_page),
    )
    .route(
        "/studies/{id}/sections/{s}/edit",
        web::post().to(edit_section),
    )
    .route(
        "/studies/{id}/sections/{s}/move",
        web::post().to(move_section),
    )
    .route(
        "/studies/{id}/sections/{s}/duplicate",
        web::post().to(duplicate_section),
    )
    .route(
        "/studies/{id}/sections/{s}/delete",
        web::get().to(delete_section_page),
    )
    .route(
        "/studies/{id}/sections/{s}/delete",
        web::post().to(delete_section),
    )
    .route(
        "/studies/{id}/sections/{s}/questions/new",
        web::get().to(new_question_page),
    )
    .route(
        "/studies/{id}/sections/{s}/questions",
        web::post().to(add_question),
    )
    .route(
        "/studies/{id}/questions/{qn}/edit",
        web::get().to(edit_question_page),
    )
    .route(
        "/studies/{id}/questions/{qn}/edit",
        web::post().to(edit_question),
    )
    .route(
        "/studies/{id}/questions/{qn}/move",
        web::post().to(move_question),
    )
    .route(
        "/studies/{id}/questions/{qn}/duplicate",
        web::post().to(duplicate_question),
    )
    .route(
        "/studies/{id}/questions/{qn}/delete",
        web::get().to(delete_question_page),
    )
    .route(
        "/studies/{id}/questions/{qn}/delete",
        web::post().to(delete_question),
    );
}

const SUGGESTED: &str =
    "Your suggestion is sent. Nothing changes until a lead or the author accepts it.";

pub const EDITORS: &[StudyRole] = &[StudyRole::Lead, StudyRole::CoDesigner];

pub(super) async fn editor_access(
    page: &Page,
    user: &CurrentUser,
    study_id: i64,
) -> Result<StudyAccess, AppError> {
    StudyAccess::with_role(&page.state().db, user, study_id, EDITORS).await
}

async fn load_questionnaire(
    page: &Page,
    study_id: i64,
    id: i64,
) -> Result<Questionnaire, AppError> {
    page.state()
        .db
        .read(move |conn| queries::find_questionnaire(conn, study_id, id).map_err(AppError::from))
        .await?
        .ok_or(AppError::NotFound)
}

pub(super) async fn load_section(
    page: &Page,
    study_id: i64,
    id: i64,
) -> Result<(Section, Questionnaire), AppError> {
    page.state()
        .db
        .read(move |conn| queries::find_section(conn, study_id, id).map_err(AppError::from))
        .await?
        .ok_or(AppError::NotFound)
}

pub(super) async fn load_question(
    page: &Page,
    study_id: i64,
    id: i64,
) -> Result<(Question, Questionnaire), AppError> {
    page.state()
        .db
        .read(move |conn| queries::find_question(conn, study_id, id).map_err(AppError::from))
        .await?
        .ok_or(AppError::NotFound)
}

fn editor_url(questionnaire: &Questionnaire) -> String {
    format!(
        "/studies/{}/questionnaires/{}",
        questionnaire.study_id, questionnaire.id
    )
}

// ---- Questionnaires ----

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QuestionnaireForm {
    pub title: String,
    pub description: String,
}

impl QuestionnaireForm {
    pub fn check(&self) -> Result<(), FieldErrors> {
        super::rules::check_section(&self.title, &self.description).map_err(|mut errors| {
            if let Some(message) = errors.remove("title") {
                errors.insert(
                    "title".into(),
                    message.replace("the section", "the questionnaire"),
                );
            }
            if let Some(message) = errors.remove("introduction") {
                errors.insert(
                    "description".into(),
                    message.replace("introduction", "description"),
                );
            }
            errors
        })
    }
}

async fn new_questionnaire_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let access = editor_access(&page, &user, path.into_inner()).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("title", "");
    context.insert("description", "");
    page.render("questionnaires/new.html", context)
}

async fn create_questionnaire(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<QuestionnaireForm>,
) -> Result<HttpResponse, AppError> {
    let access = editor_access(&page, &user, path.into_inner()).await?;
    if let Err(errors) = form.check() {
        let mut context = tera::Context::new();
        context.insert("study", &access.study);
        context.insert("title", &form.title);
        context.insert("description", &form.description);
        return page.render_invalid("questionnaires/new.html", context, &errors);
    }
    let id = actions::create_questionnaire(
        &page.state().db,
        &origin.by(user.id),
        access.study.id,
        &form.title,
        &form.description,
    )
    .await?;
    page.flash(
        "success",
        "The questionnaire is created. Add its first section.",
    );
    Ok(see_other(&format!(
        "/studies/{}/questionnaires/{id}",
        access.study.id
    )))
}

/// The whole questionnaire in a fixed number of queries, whatever its size: the signed-in user, the
/// membership, the questionnaire and `editor_data`'s six (tests/it/query_counts.rs proves it).
/// Which section the editor shows on its own page; none shows them all.
#[derive(Debug, Default, Deserialize)]
struct EditorQuery {
    section: Option<i64>,
}

async fn editor(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
    query: web::Query<EditorQuery>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    let access = StudyAccess::open(&page.state().db, &user, study_id).await?;
    let questionnaire = load_questionnaire(&page, study_id, questionnaire_id).await?;
    let EditorData {
        tree,
        terms,
        jargon,
        open_comments,
        open_suggestions,
    } = page
        .state()
        .db
        .read(move |conn| {
            queries::editor_data(conn, study_id, questionnaire_id).map_err(AppError::from)
        })
        .await?;
    // Question id → its text's plain-language figures, so the group sees at a glance what needs work.
    let plain: BTreeMap<String, plain_language::Analysis> = tree
        .iter()
        .flat_map(|s| s.questions.iter())
        .map(|q| (q.id.to_string(), plain_language::analyse(&q.text, &jargon)))
        .collect();
    let numbers =
        super::rules::numbering(tree.iter().flat_map(|s| s.questions.iter()).map(|q| q.id));
    let mut context = tera::Context::new();
    context.insert("numbers", &numbers);
    context.insert("plain", &plain);
    context.insert("study", &access.study);
    context.insert("questionnaire", &questionnaire);
    context.insert("can_edit", &access.me.roles.can_edit_questionnaires());
    // One section's page: its place among the others, for the contents list and previous and next.
    let current = query
        .section
        .and_then(|id| tree.iter().position(|entry| entry.section.id == id));
    if query.section.is_some() && current.is_none() {
        return Err(AppError::NotFound);
    }
    context.insert("current", &current);
    let neighbour = |at: Option<usize>| at.and_then(|i| tree.get(i)).map(|entry| &entry.section);
    context.insert(
        "previous_section",
        &neighbour(current.and_then(|i| i.checked_sub(1))),
    );
    context.insert("next_section", &neighbour(current.map(|i| i + 1)));
    context.insert("sections", &tree);
    context.insert("terms", &terms);
    context.insert("open_comments", &open_comments);
    context.insert("open_suggestions", &open_suggestions);
    context.insert("kinds", &kind_options());
    page.render("questionnaires/editor.html", context)
}

pub fn kind_options() -> Vec<serde_json::Value> {
    KINDS
        .iter()
        .map(|k| serde_json::json!({ "value": k.as_str(), "label": k.label() }))
        .collect()
}

/// The plain-language report for each participant-facing field, by field name.
fn plain_panels(
    jargon: &[String],
    fields: &[(&str, &str)],
) -> BTreeMap<String, PlainLanguageReport> {
    fields
        .iter()
        .map(|(name, text)| (name.to_string(), plain_language::report(text, jargon)))
        .collect()
}

// ---- Sections ----

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SectionForm {
    title: String,
    introduction: String,
    reason: String,
    lock_version: Option<i32>,
    /// "suggest" when the person pressed "Suggest this change" rather than "Save".
    mode: String,
}

/// The edit forms' second button: propose the change for a lead or the author to accept.
const SUGGEST: &str = "suggest";

impl SectionForm {
    fn input(&self) -> SectionInput {
        SectionInput {
            title: self.title.clone(),
            introduction: self.introduction.clone(),
            reason: self.reason.clone(),
        }
    }
}

async fn section_context(
    page: &Page,
    access: &StudyAccess,
    questionnaire: &Questionnaire,
    section: Option<&Section>,
    form: &SectionForm,
) -> Result<tera::Context, AppError> {
    let study_id = access.study.id;
    let jargon = page
        .state()
        .db
        .read(move |conn| crate::studies::queries::jargon(conn, study_id).map_err(AppError::from))
        .await?;
    let mut context = tera::Context::new();
    context.insert(
        "plain",
        &plain_panels(
            &jargon,
            &[("title", &form.title), ("introduction", &form.introduction)],
        ),
    );
    context.insert("study", &access.study);
    context.insert("questionnaire", &questionnaire);
    context.insert("section", &section);
    context.insert("title", &form.title);
    context.insert("introduction", &form.introduction);
    context.insert("reason", &form.reason);
    context.insert("lock_version", &form.lock_version);
    Ok(context)
}

async fn new_section_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    let access = editor_access(&page, &user, study_id).await?;
    let questionnaire = load_questionnaire(&page, study_id, questionnaire_id).await?;
    page.render(
        "questionnaires/section_form.html",
        section_context(
            &page,
            &access,
            &questionnaire,
            None,
            &SectionForm::default(),
        )
        .await?,
    )
}

async fn add_section(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<SectionForm>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    let access = editor_access(&page, &user, study_id).await?;
    let questionnaire = load_questionnaire(&page, study_id, questionnaire_id).await?;
    match actions::add_section(
        &page.state().db,
        &origin.by(user.id),
        &questionnaire,
        &form.input(),
    )
    .await
    {
        Ok(_) => {
            page.flash(
                "success",
                format!("Section “{}” is added.", form.title.trim()),
            );
            Ok(see_other(&editor_url(&questionnaire)))
        }
        Err(AppError::Invalid(errors)) => page.render_invalid(
            "questionnaires/section_form.html",
            section_context(&page, &access, &questionnaire, None, &form).await?,
            &errors,
        ),
        Err(other) => Err(other),
    }
}

async fn edit_section_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    let access = editor_access(&page, &user, study_id).await?;
    let (section, questionnaire) = load_section(&page, study_id, section_id).await?;
    let form = SectionForm {
        title: section.title.clone(),
        introduction: section.introduction.clone(),
        reason: String::new(),
        lock_version: Some(section.lock_version),
        mode: String::new(),
    };
    page.render(
        "questionnaires/section_form.html",
        section_context(&page, &access, &questionnaire, Some(&section), &form).await?,
    )
}

async fn edit_section(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<SectionForm>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    let access = editor_access(&page, &user, study_id).await?;
    let (section, questionnaire) = load_section(&page, study_id, section_id).await?;
    let lock_version = form.lock_version.unwrap_or(section.lock_version);
    let template = "questionnaires/section_form.html";
    if form.mode == SUGGEST {
        let made = suggestions::actions::suggest_section(
            &page.state().db,
            &origin.by(user.id),
            user.id,
            &section,
            lock_version,
            &form.input(),
        )
        .await;
        return match made {
            Ok(_) => {
                page.flash("success", SUGGESTED);
                Ok(see_other(&suggestions_url(
                    study_id,
                    &Target::Section(section),
                )))
            }
            Err(AppError::Invalid(errors)) => page.render_invalid(
                template,
                section_context(&page, &access, &questionnaire, Some(&section), &form).await?,
                &errors,
            ),
            Err(other) => Err(other),
        };
    }
    match actions::update_section(
        &page.state().db,
        &origin.by(user.id),
        &section,
        lock_version,
        &form.input(),
    )
    .await
    {
        Ok(Saved::Done) => {
            page.flash("success", "The section is saved.");
            Ok(see_other(&editor_url(&questionnaire)))
        }
        Ok(Saved::Stale(current)) => {
            let mine = SectionForm {
                lock_version: Some(current.lock_version),
                ..form.into_inner()
            };
            let mut context =
                section_context(&page, &access, &questionnaire, Some(&current), &mine).await?;
            context.insert("conflict", &current);
            page.render_status(StatusCode::CONFLICT, template, context)
        }
        Err(AppError::Invalid(errors)) => page.render_invalid(
            template,
            section_context(&page, &access, &questionnaire, Some(&section), &form).await?,
            &errors,
        ),
        Err(other) => Err(other),
    }
}

#[derive(Deserialize)]
struct MoveForm {
    direction: Direction,
}

/// Back to the moved section or question in the editor. A move past the top or bottom is not an
/// error: the editor says why nothing moved.
fn back_after_move(
    page: &Page,
    moved: Result<(), AppError>,
    done: String,
    questionnaire: &Questionnaire,
    kind: &str,
    id: i64,
) -> Result<HttpResponse, AppError> {
    match moved {
        Ok(()) => page.flash("success", done),
        Err(AppError::Invalid(errors)) => {
            page.flash("info", errors.into_values().collect::<Vec<_>>().join(" "))
        }
        Err(other) => return Err(other),
    }
    Ok(see_other(&format!(
        "{}#{kind}-{id}",
        editor_url(questionnaire)
    )))
}

async fn move_section(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    editor_access(&page, &user, study_id).await?;
    let (section, questionnaire) = load_section(&page, study_id, section_id).await?;
    let moved = actions::move_section(
        &page.state().db,
        &origin.by(user.id),
        &section,
        form.direction,
    )
    .await;
    let done = format!("Section “{}” is moved.", section.title);
    back_after_move(&page, moved, done, &questionnaire, "section", section.id)
}

async fn duplicate_section(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    editor_access(&page, &user, study_id).await?;
    let (section, questionnaire) = load_section(&page, study_id, section_id).await?;
    let id = actions::duplicate_section(&page.state().db, &origin.by(user.id), &section).await?;
    page.flash(
        "success",
        format!(
            "Section “{}” is copied, with its questions, just below the original.",
            section.title
        ),
    );
    Ok(see_other(&format!(
        "{}#section-{id}",
        editor_url(&questionnaire)
    )))
}

async fn delete_section_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    let access = editor_access(&page, &user, study_id).await?;
    let (section, questionnaire) = load_section(&page, study_id, section_id).await?;
    let questionnaire_id = questionnaire.id;
    let tree = page
        .state()
        .db
        .read(move |conn| queries::tree(conn, questionnaire_id).map_err(AppError::from))
        .await?;
    let count = tree
        .iter()
        .find(|s| s.section.id == section.id)
        .map_or(0, |s| s.questions.len());
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaire", &questionnaire);
    context.insert("section", &section);
    context.insert("question_count", &count);
    page.render("questionnaires/section_delete.html", context)
}

async fn delete_section(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    editor_access(&page, &user, study_id).await?;
    let (section, questionnaire) = load_section(&page, study_id, section_id).await?;
    actions::delete_section(&page.state().db, &origin.by(user.id), &section).await?;
    page.flash(
        "success",
        format!("Section “{}” and its questions are deleted.", section.title),
    );
    Ok(see_other(&editor_url(&questionnaire)))
}

// ---- Questions ----

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

/// Reads the question form. Repeated fields (tags) and one-per-line lists need more than a flat struct.
fn question_input(pairs: Vec<(String, String)>) -> QuestionInput {
    let mut input = QuestionInput::default();
    for (key, value) in pairs {
        match key.as_str() {
            "kind" => input.kind = value,
            "text" => input.text = value,
            "help_text" => input.help_text = value,
            "required" => input.required = true,
            "for_staff" => input.for_staff = true,
            "for_service_users" => input.for_service_users = true,
            "for_carers" => input.for_carers = true,
            "wording_staff" => input.wording_staff = value,
            "wording_service_user" => input.wording_service_user = value,
            "wording_carer" => input.wording_carer = value,
            "wording_easy_read" => input.wording_easy_read = value,
            "options" => input.options = lines(&value),
            "likert_not_applicable" => input.likert_not_applicable = true,
            "probes" => input.probes = lines(&value),
            "system_level" => input.system_level = value,
            "provenance" => input.provenance = value,
            "show_if_question_id" => input.show_if_question_id = value.parse().ok(),
            "show_if_answers" => input.show_if_answers = lines(&value),
            "tags" => input.tags.extend(value.parse::<i64>().ok()),
            "lock_version" => input.lock_version = value.parse().ok(),
            "reason" => input.reason = value,
            _ => {}
        }
    }
    input
}

struct QuestionPage<'a> {
    access: &'a StudyAccess,
    questionnaire: &'a Questionnaire,
    section: &'a Section,
    question: Option<&'a Question>,
}

async fn question_context(
    page: &Page,
    at: QuestionPage<'_>,
    input: &QuestionInput,
) -> Result<tera::Context, AppError> {
    let questionnaire_id = at.questionnaire.id;
    let study_id = at.access.study.id;
    let (tree, terms, jargon): (Vec<SectionTree>, Vec<TaxonomyTerm>, Vec<String>) = page
        .state()
        .db
        .read(move |conn| {
            Ok::<_, AppError>((
                queries::tree(conn, questionnaire_id)?,
                queries::taxonomy(conn)?,
                crate::studies::queries::jargon(conn, study_id)?,
            ))
        })
        .await?;
    // Conditions may point at choice questions that come earlier.
    let this_id = at.question.map(|q| q.id);
    let section_at = tree
        .iter()
        .position(|s| s.section.id == at.section.id)
        .unwrap_or(0);
    let earlier_choices: Vec<serde_json::Value> = tree
        [..=section_at.min(tree.len().saturating_sub(1))]
        .iter()
        .flat_map(|s| s.questions.iter())
        .take_while(|q| Some(q.id) != this_id)
        .filter_map(|q| {
            let text: String = q.text.chars().take(80).collect();
            q.kind
                .choices(&q.options)
                .map(|choices| serde_json::json!({ "id": q.id, "text": text, "choices": choices }))
        })
        .collect();
    let mut context = tera::Context::new();
    context.insert("study", &at.access.study);
    context.insert("questionnaire", at.questionnaire);
    context.insert("section", at.section);
    context.insert("question", &at.question);
    context.insert("q", input);
    context.insert(
        "plain",
        &plain_panels(
            &jargon,
            &[
                ("text", &input.text),
                ("help_text", &input.help_text),
                ("wording_staff", &input.wording_staff),
                ("wording_service_user", &input.wording_service_user),
                ("wording_carer", &input.wording_carer),
                ("wording_easy_read", &input.wording_easy_read),
            ],
        ),
    );
    context.insert("options_text", &input.options.join("\n"));
    context.insert("likert_default", &DEFAULT_LIKERT.join("\n"));
    context.insert("probes_text", &input.probes.join("\n"));
    context.insert("show_if_answers_text", &input.show_if_answers.join("\n"));
    context.insert("kinds", &kind_options());
    context.insert(
        "comb_terms",
        &terms
            .iter()
            .filter(|t| t.scheme == "comb")
            .collect::<Vec<_>>(),
    );
    context.insert(
        "tdf_terms",
        &terms
            .iter()
            .filter(|t| t.scheme == "tdf")
            .collect::<Vec<_>>(),
    );
    context.insert("earlier_choices", &earlier_choices);
    context.insert(
        "likert_hint",
        &format!(
            "One per line. A Likert scale needs 5 or 7 labels in order; left empty, it has the standard ones: {}.",
            DEFAULT_LIKERT.join(" / ")
        ),
    );
    context.insert(
        "level_options",
        &serde_json::json!([
            { "value": "", "label": "None" },
            { "value": "micro", "label": "Micro", "hint": "A team, the point of care" },
            { "value": "meso", "label": "Meso", "hint": "A service or directorate" },
            { "value": "macro", "label": "Macro", "hint": "The organisation or wider system" }
        ]),
    );
    Ok(context)
}

async fn new_question_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    let access = editor_access(&page, &user, study_id).await?;
    let (section, questionnaire) = load_section(&page, study_id, section_id).await?;
    let input = QuestionInput {
        kind: "long_text".into(),
        for_staff: true,
        for_service_users: true,
        for_carers: true,
        ..QuestionInput::default()
    };
    let at = QuestionPage {
        access: &access,
        questionnaire: &questionnaire,
        section: &section,
        question: None,
    };
    page.render(
        "questionnaires/question_form.html",
        question_context(&page, at, &input).await?,
    )
}

async fn add_question(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    let access = editor_access(&page, &user, study_id).await?;
    let (section, questionnaire) = load_section(&page, study_id, section_id).await?;
    let input = question_input(form.into_inner());
    match actions::add_question(&page.state().db, &origin.by(user.id), &section, &input).await {
        Ok(id) => {
            page.flash("success", "The question is added.");
            Ok(see_other(&format!(
                "{}#question-{id}",
                editor_url(&questionnaire)
            )))
        }
        Err(AppError::Invalid(errors)) => {
            let at = QuestionPage {
                access: &access,
                questionnaire: &questionnaire,
                section: &section,
                question: None,
            };
            page.render_invalid(
                "questionnaires/question_form.html",
                question_context(&page, at, &input).await?,
                &errors,
            )
        }
        Err(other) => Err(other),
    }
}

async fn question_section(
    page: &Page,
    study_id: i64,
    question: &Question,
) -> Result<Section, AppError> {
    Ok(load_section(page, study_id, question.section_id).await?.0)
}

async fn edit_question_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, question_id) = path.into_inner();
    let access = editor_access(&page, &user, study_id).await?;
    let (question, questionnaire) = load_question(&page, study_id, question_id).await?;
    let section = question_section(&page, study_id, &question).await?;
    let at = QuestionPage {
        access: &access,
        questionnaire: &questionnaire,
        section: &section,
        question: Some(&question),
    };
    let context = question_context(&page, at, &actions::input_of(&question)).await?;
    page.render("questionnaires/question_form.html", context)
}

async fn edit_question(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, question_id) = path.into_inner();
    let access = editor_access(&page, &user, study_id).await?;
    let (question, questionnaire) = load_question(&page, study_id, question_id).await?;
    let section = question_section(&page, study_id, &question).await?;
    let pairs = form.into_inner();
    let suggest = pairs.iter().any(|(k, v)| k == "mode" && v == SUGGEST);
    let input = question_input(pairs);
    let template = "questionnaires/question_form.html";
    let at = QuestionPage {
        access: &access,
        questionnaire: &questionnaire,
        section: &section,
        question: Some(&question),
    };
    if suggest {
        let db = &page.state().db;
        return match suggestions::actions::suggest_question(
            db,
            &origin.by(user.id),
            user.id,
            &question,
            &input,
        )
        .await
        {
            Ok(_) => {
                page.flash("success", SUGGESTED);
                let target = Target::Question(Box::new(question));
                Ok(see_other(&suggestions_url(study_id, &target)))
            }
            Err(AppError::Invalid(errors)) => page.render_invalid(
                template,
                question_context(&page, at, &input).await?,
                &errors,
            ),
            Err(other) => Err(other),
        };
    }
    match actions::update_question(&page.state().db, &origin.by(user.id), &question, &input).await {
        Ok(Saved::Done) => {
            page.flash("success", "The question is saved.");
            Ok(see_other(&format!(
                "{}#question-{}",
                editor_url(&questionnaire),
                question.id
            )))
        }
        Ok(Saved::Stale(current)) => {
            // Both versions side by side; saving again from here deliberately replaces the current one.
            let mine = QuestionInput {
                lock_version: Some(current.lock_version),
                ..input
            };
            let mut context = question_context(&page, at, &mine).await?;
            context.insert("conflict", &current);
            page.render_status(StatusCode::CONFLICT, template, context)
        }
        Err(AppError::Invalid(errors)) => page.render_invalid(
            template,
            question_context(&page, at, &input).await?,
            &errors,
        ),
        Err(other) => Err(other),
    }
}

async fn move_question(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let (study_id, question_id) = path.into_inner();
    editor_access(&page, &user, study_id).await?;
    let (question, questionnaire) = load_question(&page, study_id, question_id).await?;
    let moved = actions::move_question(
        &page.state().db,
        &origin.by(user.id),
        &question,
        form.direction,
    )
    .await;
    let done = "The question is moved.".to_string();
    back_after_move(&page, moved, done, &questionnaire, "question", question.id)
}

async fn duplicate_question(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, question_id) = path.into_inner();
    editor_access(&page, &user, study_id).await?;
    let (question, questionnaire) = load_question(&page, study_id, question_id).await?;
    let id = actions::duplicate_question(&page.state().db, &origin.by(user.id), &question).await?;
    page.flash(
        "success",
        "The question is copied. The copy is just below the original.",
    );
    Ok(see_other(&format!(
        "{}#question-{id}",
        editor_url(&questionnaire)
    )))
}

async fn delete_question_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, question_id) = path.into_inner();
    let access = editor_access(&page, &user, study_id).await?;
    let (question, questionnaire) = load_question(&page, study_id, question_id).await?;
    let dependants = page
        .state()
        .db
        .read(move |conn| queries::dependants(conn, question_id).map_err(AppError::from))
        .await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaire", &questionnaire);
    context.insert("question", &question);
    context.insert("dependants", &dependants);
    page.render("questionnaires/question_delete.html", context)
}

async fn delete_question(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, question_id) = path.into_inner();
    editor_access(&page, &user, study_id).await?;
    let (question, questionnaire) = load_question(&page, study_id, question_id).await?;
    actions::delete_question(&page.state().db, &origin.by(user.id), &question).await?;
    page.flash("success", "The question is deleted.");
    Ok(see_other(&editor_url(&questionnaire)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_lists_ticks_and_repeated_tags() {
        let pairs = [
            ("kind", "single_choice"),
            ("text", "Who are you?"),
            ("options", "Staff\r\nCarer\n"),
            ("for_carers", "on"),
            ("tags", "3"),
            ("tags", "5"),
            ("tags", "x"),
            ("show_if_question_id", ""),
            ("lock_version", "2"),
            ("reason", "Clearer for carers"),
            ("csrf_token", "ignored"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
        let input = question_input(pairs);
        assert_eq!(input.options, vec!["Staff", "Carer"]);
        assert!(input.for_carers && !input.for_staff);
        assert_eq!(input.tags, vec![3, 5]);
        assert_eq!(input.show_if_question_id, None);
        assert_eq!(input.lock_version, Some(2));
        assert_eq!(input.reason, "Clearer for carers");
    }
}
