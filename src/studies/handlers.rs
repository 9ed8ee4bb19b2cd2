//! Study pages: the list of my studies, creating and editing a study, and its members.

use actix_web::{web, HttpResponse};
use validator::Validate;

use super::access::StudyAccess;
use super::actions;
use super::forms::{MemberForm, StudyForm};
use super::invitations;
use super::queries::{self, Member};
use super::rules::StudyRole;
use crate::audit::Origin;
use crate::error::field_errors;
use crate::error::{AppError, FieldErrors};
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/studies", web::get().to(index))
        .route("/studies", web::post().to(create))
        .route("/studies/new", web::get().to(new_page))
        .route("/studies/{id}/edit", web::get().to(edit_page))
        .route("/studies/{id}/edit", web::post().to(edit))
        .route("/studies/{id}/jargon", web::get().to(jargon_page))
        .route("/studies/{id}/jargon", web::post().to(save_jargon))
        .route("/studies/{id}/members/new", web::get().to(new_member_page))
        .route("/studies/{id}/members", web::post().to(add_member))
        .route(
            "/studies/{id}/members/{member}/edit",
            web::get().to(edit_member_page),
        )
        .route(
            "/studies/{id}/members/{member}/edit",
            web::post().to(edit_member),
        )
        .route(
            "/studies/{id}/members/{member}/remove",
            web::get().to(remove_member_page),
        )
        .route(
            "/studies/{id}/members/{member}/remove",
            web::post().to(remove_member),
        );
}

const LEAD: &[StudyRole] = &[StudyRole::Lead];

async fn index(user: CurrentUser, page: Page) -> Result<HttpResponse, AppError> {
    let user_id = user.id;
    let studies = page
        .state()
        .db
        .read(move |conn| queries::studies_of(conn, user_id).map_err(AppError::from))
        .await?;
    let invited = invitations::actions::for_person(&page.state().db, user_id).await?;
    let mut context = tera::Context::new();
    context.insert("invitations", &invited);
    context.insert(
        "studies",
        &studies
            .into_iter()
            .map(|(study, roles)| serde_json::json!({ "study": study, "roles": roles }))
            .collect::<Vec<_>>(),
    );
    page.render("studies/index.html", context)
}

fn study_form_context(form: &StudyForm, study_id: Option<i64>) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("title", &form.title);
    context.insert("summary", &form.summary);
    context.insert(
        "anonymise_responses",
        if form.anonymise_responses == Some(true) {
            "yes"
        } else {
            "no"
        },
    );
    context.insert(
        "changes_after_submit",
        if form.changes_after_submit == Some(true) {
            "yes"
        } else {
            "no"
        },
    );
    context.insert(
        "co_designers_read_analysis",
        if form.co_designers_read_analysis == Some(true) {
            "yes"
        } else {
            "no"
        },
    );
    context.insert(
        "analysts_see_participants",
        if form.analysts_see_participants == Some(false) {
            "no"
        } else {
            "yes"
        },
    );
    context.insert(
        "analyst_options",
        &serde_json::json!([
            { "value": "yes", "label": "Yes: analysts see every participant's row and every count" },
            { "value": "no", "label": "No: analysts get the shared view, as co-designers do" },
        ]),
    );
    context.insert(
        "analysis_options",
        &serde_json::json!([
            { "value": "no", "label": "No: only leads and analysts" },
            { "value": "yes", "label": "Yes: co-designers may read the framework matrix and its tables" },
        ]),
    );
    context.insert(
        "changes_options",
        &serde_json::json!([
            { "value": "no", "label": "No: submitted answers are final" },
            { "value": "yes", "label": "Yes: participants may change their answers until their link closes" },
        ]),
    );
    context.insert(
        "small_count_threshold",
        &form
            .small_count_threshold
            .map(|n| n.to_string())
            .unwrap_or_default(),
    );
    context.insert(
        "anonymity_options",
        &serde_json::json!([
            { "value": "no", "label": "No: answers stay linked to the participant's code and identity" },
            { "value": "yes", "label": "Yes: drop the link at submission" },
        ]),
    );
    context.insert("study_id", &study_id);
    context
}

async fn new_page(_user: CurrentUser, page: Page) -> Result<HttpResponse, AppError> {
    page.render(
        "studies/form.html",
        study_form_context(&StudyForm::default(), None),
    )
}

async fn create(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    form: web::Form<StudyForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    if let Err(errors) = form.validate() {
        return page.render_invalid(
            "studies/form.html",
            study_form_context(&form, None),
            &field_errors(&errors),
        );
    }
    let id = actions::create_study(&page.state().db, &origin, user.id, &form).await?;
    page.flash(
        "success",
        "The study is created. You are its lead: add the co-design group next.",
    );
    Ok(see_other(&format!("/studies/{id}")))
}

async fn edit_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::with_role(&page.state().db, &user, path.into_inner(), LEAD).await?;
    let form = StudyForm {
        title: access.study.title.clone(),
        summary: access.study.summary.clone(),
        anonymise_responses: Some(access.study.anonymise_responses),
        small_count_threshold: Some(access.study.small_count_threshold),
        changes_after_submit: Some(access.study.changes_after_submit),
        co_designers_read_analysis: Some(access.study.co_designers_read_analysis),
        analysts_see_participants: Some(access.study.analysts_see_participants),
    };
    page.render(
        "studies/form.html",
        study_form_context(&form, Some(access.study.id)),
    )
}

async fn edit(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<StudyForm>,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::with_role(&page.state().db, &user, path.into_inner(), LEAD).await?;
    let form = form.into_inner();
    let study_id = access.study.id;
    if let Err(errors) = form.validate() {
        return page.render_invalid(
            "studies/form.html",
            study_form_context(&form, Some(study_id)),
            &field_errors(&errors),
        );
    }
    actions::update_study(&page.state().db, &origin.by(user.id), study_id, &form).await?;
    page.flash("success", "The study is saved.");
    Ok(see_other(&format!("/studies/{study_id}")))
}

const EDITORS: &[StudyRole] = &[StudyRole::Lead, StudyRole::CoDesigner];

#[derive(serde::Deserialize)]
struct JargonForm {
    #[serde(default)]
    jargon: String,
}

fn jargon_context(access: &StudyAccess, text: &str) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("jargon", text);
    context
}

async fn jargon_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let access =
        StudyAccess::with_role(&page.state().db, &user, path.into_inner(), EDITORS).await?;
    let study_id = access.study.id;
    let terms = page
        .state()
        .db
        .read(move |conn| queries::jargon(conn, study_id).map_err(AppError::from))
        .await?;
    page.render(
        "studies/jargon.html",
        jargon_context(&access, &terms.join("\n")),
    )
}

async fn save_jargon(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<JargonForm>,
) -> Result<HttpResponse, AppError> {
    let access =
        StudyAccess::with_role(&page.state().db, &user, path.into_inner(), EDITORS).await?;
    let lines: Vec<String> = form.jargon.lines().map(str::to_string).collect();
    match actions::set_jargon(
        &page.state().db,
        &origin.by(user.id),
        access.study.id,
        &lines,
    )
    .await
    {
        Ok(terms) => {
            page.flash(
                "success",
                format!(
                    "The list of words to avoid is saved ({} words and phrases).",
                    terms.len()
                ),
            );
            Ok(see_other(&format!("/studies/{}", access.study.id)))
        }
        Err(AppError::Invalid(errors)) => page.render_invalid(
            "studies/jargon.html",
            jargon_context(&access, &form.jargon),
            &errors,
        ),
        Err(other) => Err(other),
    }
}

fn member_context(
    access: &StudyAccess,
    form: &MemberForm,
    member: Option<&Member>,
) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("form", &serde_json::json!({
        "email": form.email, "display_name": form.display_name, "lead": form.lead,
        "co_designer": form.co_designer, "interviewer": form.interviewer, "analyst": form.analyst,
        "perspective": form.perspective,
    }));
    context.insert("member", &member);
    context.insert("role_options", &serde_json::json!([
        { "value": "lead", "label": "Lead", "hint": "Manages the study and its members, and accepts suggested changes." },
        { "value": "co_designer", "label": "Co-designer", "hint": "Drafts the questionnaire with the group." },
        { "value": "interviewer", "label": "Interviewer", "hint": "Runs interviews and takes notes." },
        { "value": "analyst", "label": "Analyst", "hint": "Codes and analyses what people said." }
    ]));
    context.insert("perspective_options", &serde_json::json!([
        { "value": "staff", "label": "Staff" },
        { "value": "service_user", "label": "Service-user advisor", "hint": "Brings their experience of using services." },
        { "value": "carer", "label": "Carer advisor", "hint": "Brings their experience of caring for someone." }
    ]));
    context
}

async fn new_member_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::with_role(&page.state().db, &user, path.into_inner(), LEAD).await?;
    // Nothing chosen for them: a default kept by mistake made interviewers and analysts co-designers,
    // skewing the balance of perspectives the study reports.
    page.render(
        "studies/member_form.html",
        member_context(&access, &MemberForm::default(), None),
    )
}

async fn add_member(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<MemberForm>,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::with_role(&page.state().db, &user, path.into_inner(), LEAD).await?;
    let form = form.into_inner();
    let invalid = |errors: &FieldErrors| {
        page.render_invalid(
            "studies/member_form.html",
            member_context(&access, &form, None),
            errors,
        )
    };
    if let Err(errors) = form.validate() {
        return invalid(&field_errors(&errors));
    }
    match invitations::actions::invite(page.state(), &origin.by(user.id), access.study.id, &form)
        .await
    {
        Ok(invitation) => {
            let note = crate::mail::no_server_note(&page.state().settings)
                .map(|no_server| format!(" {no_server}"))
                .unwrap_or_default();
            page.flash(
                "success",
                format!(
                    "{} is invited by email. They become a member when they accept.{note}",
                    invitation.invited_name
                ),
            );
            Ok(see_other(&format!("/studies/{}#members", access.study.id)))
        }
        Err(AppError::Invalid(errors)) => invalid(&errors),
        Err(AppError::TooManyRequests(message)) => {
            let errors = FieldErrors::from([("email".to_string(), message)]);
            page.render_status(
                actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                "studies/member_form.html",
                {
                    let mut context = member_context(&access, &form, None);
                    context.insert("errors", &errors);
                    context
                },
            )
        }
        Err(other) => Err(other),
    }
}

async fn member_of(page: &Page, access: &StudyAccess, member_id: i64) -> Result<Member, AppError> {
    let study_id = access.study.id;
    page.state()
        .db
        .read(move |conn| queries::member(conn, study_id, member_id).map_err(AppError::from))
        .await?
        .ok_or(AppError::NotFound)
}

fn form_of(member: &Member) -> MemberForm {
    MemberForm {
        email: member.email.clone(),
        display_name: member.display_name.clone(),
        lead: member.roles.lead,
        co_designer: member.roles.co_designer,
        interviewer: member.roles.interviewer,
        analyst: member.roles.analyst,
        perspective: member.perspective.as_str().into(),
    }
}

async fn edit_member_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, member_id) = path.into_inner();
    let access = StudyAccess::with_role(&page.state().db, &user, study_id, LEAD).await?;
    let member = member_of(&page, &access, member_id).await?;
    page.render(
        "studies/member_form.html",
        member_context(&access, &form_of(&member), Some(&member)),
    )
}

async fn edit_member(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<MemberForm>,
) -> Result<HttpResponse, AppError> {
    let (study_id, member_id) = path.into_inner();
    let access = StudyAccess::with_role(&page.state().db, &user, study_id, LEAD).await?;
    let member = member_of(&page, &access, member_id).await?;
    let form = form.into_inner();
    let invalid = |errors: &FieldErrors| {
        page.render_invalid(
            "studies/member_form.html",
            member_context(&access, &form, Some(&member)),
            errors,
        )
    };
    if let Err(errors) = form.validate() {
        return invalid(&field_errors(&errors));
    }
    match actions::update_member(
        &page.state().db,
        &origin.by(user.id),
        study_id,
        member_id,
        &form,
    )
    .await
    {
        Ok(updated) => {
            page.flash(
                "success",
                format!("{}'s roles are saved.", updated.display_name),
            );
            Ok(see_other(&format!("/studies/{study_id}")))
        }
        Err(AppError::Invalid(errors)) => invalid(&errors),
        Err(other) => Err(other),
    }
}

async fn remove_member_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, member_id) = path.into_inner();
    let access = StudyAccess::with_role(&page.state().db, &user, study_id, LEAD).await?;
    let member = member_of(&page, &access, member_id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("member", &member);
    page.render("studies/member_remove.html", context)
}

async fn remove_member(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, member_id) = path.into_inner();
    let access = StudyAccess::with_role(&page.state().db, &user, study_id, LEAD).await?;
    let member = member_of(&page, &access, member_id).await?;
    match actions::remove_member(&page.state().db, &origin.by(user.id), study_id, member_id).await {
        Ok(()) => {
            page.flash(
                "success",
                format!(
                    "{} is no longer a member of the study.",
                    member.display_name
                ),
            );
            Ok(see_other(&format!("/studies/{study_id}")))
        }
        Err(AppError::Invalid(errors)) => {
            let mut context = tera::Context::new();
            context.insert("study", &access.study);
            context.insert("member", &member);
            page.render_invalid("studies/member_remove.html", context, &errors)
        }
        Err(other) => Err(other),
    }
}
