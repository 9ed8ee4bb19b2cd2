//! The two pages that say what to do next: home (what waits for you, study by study) and a study's
//! page (its task list in the order the work happens, with the group and its members).

use actix_web::{web, HttpResponse};

use super::actions;
use crate::error::AppError;
use crate::identity::Role;
use crate::studies::access::StudyAccess;
use crate::studies::invitations;
use crate::studies::queries::retention_lists_waiting;
use crate::studies::questionnaires::queries::list_questionnaires;
use crate::web::task_list::TaskStatus;
use crate::web::{AdminUser, CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/admin/setup", web::get().to(setup))
        .route("/studies/{id}", web::get().to(study));
}

async fn home(user: CurrentUser, page: Page) -> Result<HttpResponse, AppError> {
    let waiting = actions::waiting(&page.state().db, user.id).await?;
    let invited = invitations::actions::for_person(&page.state().db, user.id).await?;
    let mut context = tera::Context::new();
    context.insert("waiting", &waiting);
    context.insert("study_invitations", &invited);
    if user.role == Role::Admin {
        let state = page.state();
        let tasks = actions::setup_tasks(&state.db, &state.settings, page.organisation()).await?;
        let left = tasks
            .iter()
            .filter(|t| t.status != TaskStatus::Completed)
            .count();
        context.insert("setup_steps_left", &left);
    }
    page.render("home.html", context)
}

/// The administrator's checklist from an empty install to the first study.
async fn setup(admin: AdminUser, page: Page) -> Result<HttpResponse, AppError> {
    let state = page.state();
    let tasks = actions::setup_tasks(&state.db, &state.settings, page.organisation()).await?;
    let mut context = tera::Context::new();
    context.insert(
        "complete",
        &tasks.iter().all(|t| t.status == TaskStatus::Completed),
    );
    context.insert("tasks", &tasks);
    context.insert("admin_email", &admin.0.email.0);
    context.insert(
        "no_mail_server",
        &crate::mail::no_server_note(&state.settings),
    );
    page.render("admin/setup.html", context)
}

async fn study(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let db = &page.state().db;
    let access = StudyAccess::open(db, &user, path.into_inner()).await?;
    let study_id = access.study.id;
    let (list, members) = actions::task_list(db, &access).await?;
    let questionnaires = db
        .read(move |conn| list_questionnaires(conn, study_id).map_err(AppError::from))
        .await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("me", &access.me);
    context.insert("members", &members);
    context.insert("balance", &list.balance);
    context.insert("tasks", &list.tasks);
    context.insert("waiting", &list.waiting);
    context.insert("questionnaires", &questionnaires);
    if access.me.roles.lead {
        let invited = invitations::actions::for_study(db, study_id).await?;
        context.insert("invitations", &invited);
        let due = db
            .read(move |conn| retention_lists_waiting(conn, study_id).map_err(AppError::from))
            .await?;
        context.insert("retention_waiting", &(due > 0));
    }
    page.render("studies/show.html", context)
}
