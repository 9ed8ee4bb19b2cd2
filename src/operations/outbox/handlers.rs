//! The outbox page for administrators: how many emails are where, the recent failures with the mail
//! server's reply, and sending a failed email again.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Origin};
use crate::db::now;
use crate::error::AppError;
use crate::mail::queries::{self, FailedEmail, StatusCounts};
use crate::state::AppState;
use crate::web::page::see_other;
use crate::web::{AdminUser, Page};

const FAILED_SHOWN: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/outbox", web::get().to(outbox_page))
        .route("/admin/outbox/{id}/retry", web::post().to(retry));
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OutboxOverview {
    pub counts: StatusCounts,
    /// Set when no mail server is configured: emails are only written as files.
    pub no_mail_server: Option<String>,
    /// The most recent failures, newest first.
    pub failed: Vec<FailedEmail>,
}

pub async fn overview(state: &AppState) -> Result<OutboxOverview, AppError> {
    let (counts, failed) = state
        .db
        .read(|conn| {
            Ok::<_, AppError>((
                queries::status_counts(conn)?,
                queries::recent_failures(conn, FAILED_SHOWN)?,
            ))
        })
        .await?;
    Ok(OutboxOverview {
        counts,
        no_mail_server: crate::mail::no_server_note(&state.settings),
        failed: failed
            .into_iter()
            .map(|f| FailedEmail {
                last_error: f.last_error.as_deref().map(without_addresses),
                ..f
            })
            .collect(),
    })
}

/// A mail server's reply with any email address it quotes masked: the page lists failures, not people.
fn without_addresses(reply: &str) -> String {
    reply
        .split(' ')
        .map(|word| {
            if word.contains('@') {
                "[address]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Queues a failed email again, with its attempts counted from zero.
pub async fn send_again(state: &AppState, origin: &Origin, id: i64) -> Result<(), AppError> {
    let origin = origin.clone();
    state
        .db
        .write(move |conn| {
            if !queries::requeue_failed(conn, id, now())? {
                return Err(AppError::NotFound);
            }
            audit::record(
                conn,
                &origin,
                "email_requeued",
                "outbox_message",
                Some(id),
                json!({}),
            )?;
            Ok(())
        })
        .await?;
    state.outbox.wake();
    Ok(())
}

async fn outbox_page(
    AdminUser(admin): AdminUser,
    page: Page,
    origin: Origin,
) -> Result<HttpResponse, AppError> {
    let details = serde_json::json!({});
    crate::audit::looked(
        &page.state().db,
        &origin.by(admin.id),
        "outbox_viewed",
        None,
        details,
    )
    .await?;
    let mut context = tera::Context::new();
    context.insert("outbox", &overview(page.state()).await?);
    page.render("admin/outbox.html", context)
}

async fn retry(
    AdminUser(admin): AdminUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    send_again(page.state(), &origin.by(admin.id), id).await?;
    page.flash("success", format!("Email {id} is queued to be sent again."));
    Ok(see_other("/admin/outbox"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn replies_lose_the_addresses_they_quote() {
        assert_eq!(
            super::without_addresses(
                "permanent error (550): 5.1.1 <gone@example.org>: no such user"
            ),
            "permanent error (550): 5.1.1 [address] no such user"
        );
    }
}
