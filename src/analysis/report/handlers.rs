//! The printable learning report, and the leads' quote approvals: all at once from the list of quotable
//! passages, or one by one from a matrix cell's quotes.

use actix_web::{web, HttpResponse};

use super::actions;
use crate::audit::Origin;
use crate::error::AppError;
use crate::web::page::{form_field, safe_next, see_other};
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/studies/{id}/report", web::get().to(report))
        .route("/studies/{id}/quotes", web::get().to(quotes))
        .route("/studies/{id}/quotes", web::post().to(save_quotes))
        .route(
            "/studies/{id}/codings/{coding}/approval",
            web::post().to(approval),
        );
}

async fn quotes(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (access, list) = actions::quote_list(page.state(), &user, path.into_inner()).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("list", &list);
    page.render("report/quotes.html", context)
}

/// The list's one form: every passage shown (`shown`) and those ticked (`approved`); what is shown and
/// not ticked is withdrawn.
async fn save_quotes(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let ids = |name: &str| -> Vec<i64> {
        form.iter()
            .filter(|(key, _)| key == name)
            .filter_map(|(_, value)| value.parse().ok())
            .collect()
    };
    let approve = ids("approved");
    let withdraw = ids("shown")
        .into_iter()
        .filter(|id| !approve.contains(id))
        .collect();
    match actions::set_approvals(
        page.state(),
        &origin.by(user.id),
        &user,
        study_id,
        approve,
        withdraw,
    )
    .await
    {
        Ok(0) => page.flash("info", "Nothing changed."),
        Ok(1) => page.flash("success", "One quote is changed."),
        Ok(changed) => page.flash("success", format!("{changed} quotes are changed.")),
        Err(AppError::Invalid(errors)) => {
            page.flash("error", errors.into_values().next().unwrap_or_default())
        }
        Err(other) => return Err(other),
    }
    Ok(see_other(&format!("/studies/{study_id}/quotes")))
}

async fn report(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (access, report) = actions::report(page.state(), &user, path.into_inner()).await?;
    actions::audit_report_read(&page.state().db, &origin.by(user.id), access.study.id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("report", &report);
    context.insert("is_lead", &access.me.roles.lead);
    page.render("report/index.html", context)
}

/// Approve or withdraw; then back where the lead was (a matrix cell), with what happened said there.
async fn approval(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, coding_id) = path.into_inner();
    let approved = form_field(&form, "approved") == "yes";
    let back = safe_next(Some(form_field(&form, "back")));
    match actions::approve(
        page.state(),
        &origin.by(user.id),
        &user,
        study_id,
        coding_id,
        approved,
    )
    .await
    {
        Ok(()) => page.flash(
            "success",
            if approved {
                "The quote is approved for shared reports."
            } else {
                "The quote is no longer approved for shared reports."
            },
        ),
        Err(AppError::Invalid(errors)) => {
            page.flash("error", errors.into_values().next().unwrap_or_default())
        }
        Err(other) => return Err(other),
    }
    Ok(see_other(&back))
}
