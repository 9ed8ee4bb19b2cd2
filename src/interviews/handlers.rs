//! Interview pages: the schedule, assigning (leads), and for the interviewer the session itself:
//! verbal consent, the live guide one section at a time, quick notes, the distress pause and closing
//! with field notes. Every task works without JavaScript; `interview.js` adds autosave that survives
//! a dropped connection.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::actions::{
    self, AssignInput, ConsentOutcome, MomentInput, NoteSave, Opened, SaveOutcome,
};
use super::rules::{duration_words, FieldNotes, Mode, MomentKind, Status, FIELD_NOTE_ITEMS};
use super::views;
use crate::audit::Origin;
use crate::distribution::participants;
use crate::distribution::participants::forms::from_form;
use crate::distribution::participants::rules::{Choice, CommunicationNeed, Group, SystemLevel};
use crate::error::{AppError, FieldErrors};
use crate::security::random_bytes;
use crate::studies::access::StudyAccess;
use crate::studies::consent::rules::statement_field;
use crate::studies::rules::StudyRole;
use crate::web::page::{form_field as field, see_other};
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let one = "/studies/{id}/interviews/{iid}";
    cfg.route("/studies/{id}/interviews", web::get().to(index))
        .route("/studies/{id}/interviews", web::post().to(assign))
        .route("/studies/{id}/interviews/new", web::get().to(assign_page))
        .route(one, web::get().to(show))
        .route(&format!("{one}/edit"), web::get().to(edit_page))
        .route(&format!("{one}/edit"), web::post().to(edit))
        .route(&format!("{one}/cancel"), web::post().to(cancel))
        .route(&format!("{one}/consent"), web::get().to(consent_page))
        .route(&format!("{one}/consent"), web::post().to(consent))
        .route(&format!("{one}/guide/{{n}}"), web::get().to(guide_page))
        .route(&format!("{one}/guide/{{n}}"), web::post().to(save_guide))
        .route(&format!("{one}/moments"), web::post().to(add_moment))
        .route(&format!("{one}/distress"), web::post().to(distress))
        .route(&format!("{one}/paused"), web::get().to(paused_page))
        .route(&format!("{one}/resume"), web::post().to(resume))
        .route(&format!("{one}/close"), web::get().to(close_page))
        .route(&format!("{one}/close"), web::post().to(close))
        .route(
            &format!("{one}/follow-ups/{{fid}}/done"),
            web::post().to(finish_follow_up),
        );
}

fn interview_url(study_id: i64, interview_id: i64) -> String {
    format!("/studies/{study_id}/interviews/{interview_id}")
}

// ---- The schedule and assigning ----

async fn lead(page: &Page, user: &CurrentUser, study_id: i64) -> Result<StudyAccess, AppError> {
    StudyAccess::with_role(&page.state().db, user, study_id, &[StudyRole::Lead]).await
}

async fn index(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let schedule = actions::schedule(&page.state().db, &user, path.into_inner()).await?;
    let shown: Vec<_> = schedule.interviews.iter().collect();
    actions::audit_contacts_shown(
        &page.state().db,
        &origin.by(user.id),
        schedule.access.study.id,
        &shown,
        "interview schedule",
    )
    .await?;
    let mut context = tera::Context::new();
    context.insert("study", &schedule.access.study);
    context.insert("me", &schedule.access.me);
    context.insert(
        "rows",
        &views::schedule_rows(&schedule.interviews, &schedule.names),
    );
    let codes: HashMap<i64, &str> = schedule
        .interviews
        .iter()
        .map(|s| (s.interview.id, s.participant_code.as_str()))
        .collect();
    let open: Vec<serde_json::Value> = schedule
        .follow_ups
        .iter()
        .filter(|f| f.done_at.is_none())
        .map(|f| {
            serde_json::json!({
                "id": f.id, "interview_id": f.interview_id, "reason": f.reason,
                "created_at": f.created_at, "code": codes.get(&f.interview_id),
            })
        })
        .collect();
    context.insert("follow_ups", &open);
    page.render("interviews/index.html", context)
}

/// The assignment form's choices and what was typed.
async fn assign_context(
    page: &Page,
    study_id: i64,
    form: &AssignInput,
    who: &str,
) -> Result<tera::Context, AppError> {
    let choices = actions::assign_choices(&page.state().db, study_id).await?;
    let people: Vec<Choice> = choices
        .interviewers
        .iter()
        .map(|(id, name)| Choice {
            value: id.to_string(),
            label: name.clone(),
        })
        .collect();
    let versions: Vec<Choice> = choices
        .versions
        .iter()
        .map(|v| Choice {
            value: v.version_id.to_string(),
            label: format!("{}, version {}", v.questionnaire_title, v.version_number),
        })
        .collect();
    let areas: Vec<Choice> = std::iter::once(Choice {
        value: String::new(),
        label: "Not recorded".into(),
    })
    .chain(choices.service_areas.iter().map(|a| Choice {
        value: a.clone(),
        label: a.clone(),
    }))
    .collect();
    let levels: Vec<Choice> = std::iter::once(Choice {
        value: String::new(),
        label: "Not recorded".into(),
    })
    .chain(SystemLevel::options())
    .collect();
    let new = form.new_participant.clone().unwrap_or_default();
    let needs: HashMap<String, bool> = new
        .communication_needs
        .iter()
        .map(|n| (n.clone(), true))
        .collect();
    let mut context = tera::Context::new();
    context.insert("form", form);
    context.insert("new", &new);
    context.insert("needs", &needs);
    context.insert("who", who);
    context.insert("interviewers", &people);
    context.insert("versions", &versions);
    context.insert("codes", &choices.codes);
    context.insert("mode_options", &Mode::options());
    context.insert("group_options", &Group::options());
    context.insert("area_options", &areas);
    context.insert("level_options", &levels);
    context.insert("need_options", &CommunicationNeed::options());
    Ok(context)
}

/// The assign page's search for a participant's code by name or email address, and the code chosen
/// from what it found.
#[derive(Deserialize)]
struct FindQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    code: String,
}

async fn assign_page(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    query: web::Query<FindQuery>,
) -> Result<HttpResponse, AppError> {
    let access = lead(&page, &user, path.into_inner()).await?;
    let form = AssignInput {
        participant_code: query.code.clone(),
        ..AssignInput::default()
    };
    let mut context = assign_context(&page, access.study.id, &form, "roster").await?;
    context.insert("study", &access.study);
    context.insert("q", &query.q);
    if query.q.trim().is_empty() {
        return page.render("interviews/assign.html", context);
    }
    match participants::actions::find_person(
        &page.state().db,
        &origin.by(user.id),
        access.study.id,
        &query.q,
        "assign_interview",
    )
    .await
    {
        Ok(found) => {
            context.insert("found", &found);
            page.render("interviews/assign.html", context)
        }
        Err(AppError::Invalid(errors)) => {
            page.render_invalid("interviews/assign.html", context, &errors)
        }
        Err(other) => Err(other),
    }
}

/// The page's form as the API's input: a roster code, or a new participant's details.
fn assign_input(pairs: &[(String, String)]) -> (AssignInput, String) {
    let who = field(pairs, "who").to_string();
    let input = AssignInput {
        participant_code: if who == "new" {
            String::new()
        } else {
            field(pairs, "participant_code").to_string()
        },
        new_participant: (who == "new").then(|| from_form(pairs)),
        version_id: field(pairs, "version_id").into(),
        interviewer_id: field(pairs, "interviewer_id").into(),
        note_taker_id: field(pairs, "note_taker_id").into(),
        date: field(pairs, "date").into(),
        time: field(pairs, "time").into(),
        mode: field(pairs, "mode").into(),
    };
    (input, if who == "new" { who } else { "roster".into() })
}

async fn assign(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let (input, who) = assign_input(&form);
    match actions::assign(
        &page.state().db,
        &origin.by(user.id),
        &user,
        study_id,
        input.clone(),
    )
    .await
    {
        Ok(id) => {
            page.flash("success", "The interview is assigned.");
            Ok(see_other(&interview_url(study_id, id)))
        }
        Err(AppError::Invalid(errors)) => {
            let access =
                crate::studies::access::StudyAccess::open(&page.state().db, &user, study_id)
                    .await?;
            let mut context = assign_context(&page, study_id, &input, &who).await?;
            context.insert("study", &access.study);
            page.render_invalid("interviews/assign.html", context, &errors)
        }
        Err(other) => Err(other),
    }
}

async fn edit_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    lead(&page, &user, study_id).await?;
    let opened = actions::open(page.state(), &user, study_id, interview_id).await?;
    let i = &opened.loaded.scheduled.interview;
    let form = AssignInput {
        interviewer_id: i.interviewer_id.to_string(),
        note_taker_id: i.note_taker_id.map(|id| id.to_string()).unwrap_or_default(),
        date: i.scheduled_at.format("%Y-%m-%d").to_string(),
        time: i.scheduled_at.format("%H:%M").to_string(),
        mode: i.mode.clone(),
        ..AssignInput::default()
    };
    let mut context = assign_context(&page, study_id, &form, "roster").await?;
    insert_interview(&mut context, &opened);
    page.render("interviews/assign.html", context)
}

async fn edit(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    let (input, _) = assign_input(&form);
    let state = page.state();
    match actions::reassign(
        &state.db,
        &origin.by(user.id),
        &user,
        study_id,
        interview_id,
        input.clone(),
    )
    .await
    {
        Ok(()) => {
            page.flash("success", "The interview is changed.");
            Ok(see_other(&interview_url(study_id, interview_id)))
        }
        Err(AppError::Invalid(errors)) => {
            let opened = actions::open(state, &user, study_id, interview_id).await?;
            let mut context = assign_context(&page, study_id, &input, "roster").await?;
            insert_interview(&mut context, &opened);
            page.render_invalid("interviews/assign.html", context, &errors)
        }
        Err(other) => Err(other),
    }
}

async fn cancel(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    // Checked first: past this, a refusal means the interview has started.
    lead(&page, &user, study_id).await?;
    match actions::cancel(
        &page.state().db,
        &origin.by(user.id),
        &user,
        study_id,
        interview_id,
    )
    .await
    {
        Ok(()) => page.flash("success", "The interview is cancelled."),
        Err(AppError::Forbidden) => page.flash(
            "info",
            "Only interviews that have not started can be cancelled.",
        ),
        Err(other) => return Err(other),
    }
    Ok(see_other(&interview_url(study_id, interview_id)))
}

// ---- One interview ----

/// What every page of one interview shows about it.
fn insert_interview(context: &mut tera::Context, opened: &Opened) {
    let s = &opened.loaded.scheduled;
    context.insert("study", &opened.access.study);
    context.insert("me", &opened.access.me);
    context.insert("interview", &s.interview);
    context.insert("scheduled", s);
    context.insert("contact", &s.contact);
    context.insert("needs", &views::needs_of(s));
    context.insert(
        "group",
        Group::parse(&s.participant_group).map_or("Not known", Group::label),
    );
    context.insert(
        "mode",
        Mode::parse(&s.interview.mode).map_or("", Mode::label),
    );
    let status = opened.loaded.status();
    context.insert("status", status.as_str());
    context.insert("status_label", status.label());
    context.insert("takes_notes", &opened.takes_notes);
    context.insert("notes_open", &opened.loaded.notes_open());
    context.insert("names", &opened.names);
    let running = opened.loaded.running_seconds();
    context.insert("running_seconds", &running);
    context.insert("running_words", &duration_words(running));
    context.insert("base", &interview_url(s.interview.study_id, s.interview.id));
}

async fn show(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    let opened = actions::open(page.state(), &user, study_id, interview_id).await?;
    actions::audit_contacts_shown(
        &page.state().db,
        &origin.by(user.id),
        study_id,
        &[&opened.loaded.scheduled],
        "interview page",
    )
    .await?;
    let mut context = tera::Context::new();
    insert_interview(&mut context, &opened);
    let guide = opened.loaded.guide();
    context.insert("sections", &guide.sections);
    context.insert(
        "notes",
        &opened
            .notes
            .values()
            .map(|n| (n.question_id.to_string(), n))
            .collect::<HashMap<_, _>>(),
    );
    context.insert("moments", &views::moment_views(&opened.moments));
    context.insert("follow_ups", &opened.follow_ups);
    context.insert("edits", &opened.edits);
    context.insert("consent", &opened.consent);
    context.insert(
        "consent_statements",
        &opened.consent.as_ref().map(|c| c.statements()),
    );
    context.insert(
        "field_notes",
        &opened.loaded.scheduled.interview.field_notes(),
    );
    context.insert("field_note_items", &FIELD_NOTE_ITEMS);
    page.render("interviews/show.html", context)
}

/// The interviewer's session pages need them to be its interviewer or note-taker.
async fn open_to_take_notes(
    page: &Page,
    user: &CurrentUser,
    study_id: i64,
    interview_id: i64,
) -> Result<Opened, AppError> {
    let opened = actions::open(page.state(), user, study_id, interview_id).await?;
    if opened.takes_notes {
        Ok(opened)
    } else {
        Err(AppError::Forbidden)
    }
}

/// Where the interview is: the page to go to instead of a step that does not fit.
fn where_it_is(opened: &Opened) -> String {
    let base = interview_url(opened.access.study.id, opened.loaded.scheduled.interview.id);
    match opened.loaded.status() {
        Status::Scheduled => format!("{base}/consent"),
        Status::InProgress => format!("{base}/guide/1"),
        Status::Paused => format!("{base}/paused"),
        _ => base,
    }
}

async fn consent_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    let opened = open_to_take_notes(&page, &user, study_id, interview_id).await?;
    if opened.loaded.status() != Status::Scheduled {
        return Ok(see_other(&where_it_is(&opened)));
    }
    consent_form(&page, &opened, &[], false, &FieldErrors::new())
}

fn consent_form(
    page: &Page,
    opened: &Opened,
    answers: &[Option<bool>],
    attested: bool,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let mut context = tera::Context::new();
    insert_interview(&mut context, opened);
    let information = &opened.loaded.snapshot.information;
    let statements: Vec<serde_json::Value> = information
        .consent_statements
        .iter()
        .enumerate()
        .map(|(i, s)| {
            serde_json::json!({
                "field": statement_field(i), "text": s.text, "required": s.required,
                "answer": answers.get(i).copied().flatten(),
                "error": errors.get(&statement_field(i)),
            })
        })
        .collect();
    context.insert("information", information);
    context.insert("statements", &statements);
    context.insert("attested", &attested);
    page.render_form("interviews/consent.html", context, errors)
}

async fn consent(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    let opened = open_to_take_notes(&page, &user, study_id, interview_id).await?;
    let count = opened.loaded.snapshot.information.consent_statements.len();
    let answers: Vec<Option<bool>> = (0..count)
        .map(|i| match field(&form, &statement_field(i)) {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        })
        .collect();
    let attested = field(&form, actions::ATTEST_FIELD) == "yes";
    let input = actions::VerbalConsent {
        answers: answers.clone(),
        attested,
    };
    match actions::record_consent(
        page.state(),
        &origin.by(user.id),
        &user,
        study_id,
        interview_id,
        input,
    )
    .await
    {
        Ok(ConsentOutcome::Consented) => {
            page.flash("success", "Consent is recorded. The interview has started.");
            Ok(see_other(&format!(
                "{}/guide/1",
                interview_url(study_id, interview_id)
            )))
        }
        Ok(ConsentOutcome::Declined) => {
            page.flash(
                "info",
                "The participant did not agree to a required statement, so the interview has ended. Only their decision is kept.",
            );
            Ok(see_other(&interview_url(study_id, interview_id)))
        }
        Err(AppError::Invalid(errors)) => consent_form(&page, &opened, &answers, attested, &errors),
        Err(AppError::Forbidden) => Ok(see_other(&where_it_is(&opened))),
        Err(other) => Err(other),
    }
}

// ---- The live guide ----

fn section_index(n: usize, opened: &Opened) -> Result<usize, AppError> {
    let count = opened.loaded.guide().sections.len();
    (1..=count)
        .contains(&n)
        .then(|| n - 1)
        .ok_or(AppError::NotFound)
}

fn guide_context(
    opened: &Opened,
    index: usize,
    sent: &HashMap<i64, NoteSave>,
    outcomes: &HashMap<i64, SaveOutcome>,
) -> tera::Context {
    let guide = opened.loaded.guide();
    let section = &guide.sections[index];
    let mut context = tera::Context::new();
    insert_interview(&mut context, opened);
    let questions = views::guide_questions(section, &opened.notes, sent, outcomes);
    let problems: Vec<(String, String)> = questions
        .iter()
        .filter_map(|q| {
            if let Some(message) = &q.error {
                Some((views::notes_field(q.id), format!("Question {}: {message}", q.number)))
            } else {
                q.conflict.as_ref().map(|_| {
                    (
                        views::notes_field(q.id),
                        format!(
                            "Question {}: these notes were changed elsewhere. Both versions are shown: keep what you need in the box and save again",
                            q.number
                        ),
                    )
                })
            }
        })
        .collect();
    let sections: Vec<serde_json::Value> = guide
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            serde_json::json!({
                "number": i + 1, "title": s.title, "current": i == index,
                "first": s.questions.first().map(|q| q.number),
                "last": s.questions.last().map(|q| q.number),
            })
        })
        .collect();
    context.insert("section", section);
    context.insert("section_number", &(index + 1));
    context.insert("section_count", &guide.sections.len());
    context.insert("sections", &sections);
    context.insert("questions", &questions);
    context.insert("problems", &problems);
    context.insert(
        "moment_kinds",
        &[MomentKind::Note, MomentKind::Quote].map(|k| Choice {
            value: k.as_str().into(),
            label: k.label().into(),
        }),
    );
    context.insert("client_key", &hex::encode(random_bytes::<12>()));
    context.insert("moment", &MomentForm::default());
    context.insert("moment_errors", &FieldErrors::new());
    context.insert("moments", &views::moment_views(&opened.moments));
    context.insert(
        "api",
        &format!(
            "/api/v1/studies/{}/interviews/{}",
            opened.access.study.id, opened.loaded.scheduled.interview.id
        ),
    );
    context
}

async fn guide_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64, usize)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id, n) = path.into_inner();
    let opened = open_to_take_notes(&page, &user, study_id, interview_id).await?;
    if !opened.loaded.notes_open() {
        return Ok(see_other(&where_it_is(&opened)));
    }
    let index = section_index(n, &opened)?;
    let context = guide_context(&opened, index, &HashMap::new(), &HashMap::new());
    page.render("interviews/guide.html", context)
}

/// Saves every question of the section whichever button was pressed, then goes where it said:
/// stay (a question's Save), another section, or closing.
async fn save_guide(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64, usize)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id, n) = path.into_inner();
    let opened = open_to_take_notes(&page, &user, study_id, interview_id).await?;
    let index = section_index(n, &opened)?;
    let guide = opened.loaded.guide();
    let saves: Vec<NoteSave> = guide.sections[index]
        .questions
        .iter()
        .filter(|q| form.iter().any(|(k, _)| *k == views::revision_field(q.id)))
        .map(|q| NoteSave {
            question_id: q.id,
            notes: field(&form, &views::notes_field(q.id)).to_string(),
            answer: form
                .iter()
                .filter(|(k, _)| *k == views::answer_field(q.id))
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            status: field(&form, &views::status_field(q.id)).to_string(),
            elapsed_seconds: field(&form, &views::elapsed_field(q.id)).parse().ok(),
            revision: field(&form, &views::revision_field(q.id))
                .parse()
                .unwrap_or(0),
        })
        .collect();
    let sent: HashMap<i64, NoteSave> = saves.iter().map(|s| (s.question_id, s.clone())).collect();
    let outcomes = match actions::save_notes(
        page.state(),
        &origin.by(user.id),
        &user,
        study_id,
        interview_id,
        saves,
    )
    .await
    {
        Ok(outcomes) => outcomes,
        Err(AppError::Forbidden) => return Ok(see_other(&where_it_is(&opened))),
        Err(other) => return Err(other),
    };
    let troubled: HashMap<i64, SaveOutcome> = outcomes
        .into_iter()
        .filter(|(_, o)| {
            matches!(
                o,
                SaveOutcome::Conflict { .. } | SaveOutcome::Invalid { .. }
            )
        })
        .collect();
    if !troubled.is_empty() {
        // Show the page again from what is stored now, with what was typed kept in the boxes.
        let opened = actions::open(page.state(), &user, study_id, interview_id).await?;
        let status = if troubled
            .values()
            .any(|o| matches!(o, SaveOutcome::Conflict { .. }))
        {
            StatusCode::CONFLICT
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        let context = guide_context(&opened, index, &sent, &troubled);
        return page.render_status(status, "interviews/guide.html", context);
    }
    let base = interview_url(study_id, interview_id);
    let go = field(&form, "go");
    let target = if let Some(question) = go.strip_prefix("stay-") {
        format!("{base}/guide/{n}#question-{question}")
    } else if let Some(section) = go.strip_prefix("section-") {
        let wanted: usize = section.parse().unwrap_or(n);
        format!("{base}/guide/{}", wanted.clamp(1, guide.sections.len()))
    } else {
        match go {
            "close" => format!("{base}/close"),
            "previous" => format!("{base}/guide/{}", n.saturating_sub(1).max(1)),
            "next" if n < guide.sections.len() => format!("{base}/guide/{}", n + 1),
            "next" => format!("{base}/close"),
            _ => format!("{base}/guide/{n}"),
        }
    };
    Ok(see_other(&target))
}

#[derive(Default, Deserialize, serde::Serialize)]
struct MomentForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    question_id: String,
    #[serde(default)]
    client_key: String,
    #[serde(default)]
    section: String,
}

async fn add_moment(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
    form: web::Form<MomentForm>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    let form = form.into_inner();
    let section: usize = form.section.parse().unwrap_or(1).max(1);
    let input = MomentInput {
        kind: form.kind.clone(),
        body: form.body.clone(),
        question_id: form.question_id.parse().ok(),
        elapsed_seconds: None,
        client_key: form.client_key.clone(),
    };
    match actions::add_moment(page.state(), &user, study_id, interview_id, input).await {
        Ok(()) => {
            page.flash("success", "Your note is saved with the time.");
            Ok(see_other(&format!(
                "{}/guide/{section}#moments",
                interview_url(study_id, interview_id)
            )))
        }
        Err(AppError::Invalid(errors)) => {
            // The guide again, with the message beside the box and what was typed still in it.
            let opened = open_to_take_notes(&page, &user, study_id, interview_id).await?;
            let index = section_index(section, &opened)?;
            let mut context = guide_context(&opened, index, &HashMap::new(), &HashMap::new());
            let problems: Vec<(String, String)> = errors
                .iter()
                .map(|(field, message)| (format!("moment-{field}"), message.clone()))
                .collect();
            context.insert("problems", &problems);
            context.insert("moment_errors", &errors);
            context.insert("moment", &form);
            page.render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "interviews/guide.html",
                context,
            )
        }
        Err(AppError::Forbidden) => {
            let opened = open_to_take_notes(&page, &user, study_id, interview_id).await?;
            Ok(see_other(&where_it_is(&opened)))
        }
        Err(other) => Err(other),
    }
}

async fn distress(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    let opened = open_to_take_notes(&page, &user, study_id, interview_id).await?;
    match actions::distress(
        page.state(),
        &origin.by(user.id),
        &user,
        study_id,
        interview_id,
    )
    .await
    {
        Ok(()) => Ok(see_other(&format!(
            "{}/paused",
            interview_url(study_id, interview_id)
        ))),
        Err(AppError::Forbidden) => Ok(see_other(&where_it_is(&opened))),
        Err(other) => Err(other),
    }
}

async fn paused_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    let opened = open_to_take_notes(&page, &user, study_id, interview_id).await?;
    if opened.loaded.status() != Status::Paused {
        return Ok(see_other(&where_it_is(&opened)));
    }
    let mut context = tera::Context::new();
    insert_interview(&mut context, &opened);
    context.insert("information", &opened.loaded.snapshot.information);
    context.insert("follow_ups", &opened.follow_ups);
    page.render("interviews/paused.html", context)
}

async fn resume(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    let opened = open_to_take_notes(&page, &user, study_id, interview_id).await?;
    match actions::resume(page.state(), &user, study_id, interview_id).await {
        Ok(()) => Ok(see_other(&format!(
            "{}/guide/1",
            interview_url(study_id, interview_id)
        ))),
        Err(AppError::Forbidden) => Ok(see_other(&where_it_is(&opened))),
        Err(other) => Err(other),
    }
}

fn close_form(
    page: &Page,
    opened: &Opened,
    notes: &FieldNotes,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let mut context = tera::Context::new();
    insert_interview(&mut context, opened);
    let items: Vec<serde_json::Value> = FIELD_NOTE_ITEMS
        .iter()
        .map(|(name, label, hint)| {
            serde_json::json!({ "name": name, "label": label, "hint": hint, "value": notes.get(name) })
        })
        .collect();
    context.insert("items", &items);
    page.render_form("interviews/close.html", context, errors)
}

async fn close_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    let opened = open_to_take_notes(&page, &user, study_id, interview_id).await?;
    if !opened.loaded.status().takes_notes() {
        return Ok(see_other(&where_it_is(&opened)));
    }
    let notes = opened.loaded.scheduled.interview.field_notes();
    close_form(&page, &opened, &notes, &FieldErrors::new())
}

async fn close(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<FieldNotes>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    let notes = form.into_inner();
    let opened = open_to_take_notes(&page, &user, study_id, interview_id).await?;
    let was_completed = opened.loaded.status() == Status::Completed;
    match actions::close(
        page.state(),
        &origin.by(user.id),
        &user,
        study_id,
        interview_id,
        notes.clone(),
    )
    .await
    {
        Ok(()) => {
            page.flash(
                "success",
                if was_completed {
                    "The field notes are changed. The earlier text is kept in the history."
                } else {
                    "The interview is complete."
                },
            );
            Ok(see_other(&interview_url(study_id, interview_id)))
        }
        Err(AppError::Invalid(errors)) => close_form(&page, &opened, &notes, &errors),
        Err(AppError::Forbidden) => Ok(see_other(&where_it_is(&opened))),
        Err(other) => Err(other),
    }
}

async fn finish_follow_up(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id, follow_up_id) = path.into_inner();
    actions::finish_follow_up(page.state(), &user, study_id, interview_id, follow_up_id).await?;
    page.flash("success", "The follow-up is marked done.");
    Ok(see_other(&format!("/studies/{study_id}/interviews")))
}
