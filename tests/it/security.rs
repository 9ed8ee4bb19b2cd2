//! CSRF, the route-by-role matrix, headers and cookies, bad input, and the append-only audit log.

use diesel::RunQueryDsl;
use reqwest::{Method, StatusCode};
use voices::identity::Role;

use voices::studies::rules::StudyRole;

use crate::helpers::{
    new_client, spawn_app, spawn_on, spawn_with, Backend, StudyTeam, TestApp, Visitor,
};
use crate::{on_both_backends, on_both_databases};

on_both_databases!(
    forms_without_a_valid_csrf_token_are_refused,
    every_route_checks_the_role,
    every_study_route_checks_the_study_role,
    bad_input_gets_a_clear_4xx,
    the_audit_log_is_append_only,
);
on_both_backends!(no_role_or_api_token_opens_metrics);

async fn forms_without_a_valid_csrf_token_are_refused(app: TestApp) {
    app.create_user("kim@example.org", Role::Member).await;
    // A first visit: no session at all (a cross-site form).
    let stranger = new_client();
    let response = stranger
        .post(app.url("/login"))
        .form(&[
            ("email", "kim@example.org"),
            ("password", crate::helpers::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Your session has expired"));

    // A session exists, but the token is wrong.
    app.get("/login").await;
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", "kim@example.org"),
            ("password", crate::helpers::PASSWORD),
            ("csrf_token", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::SEE_OTHER,
        "not signed in"
    );

    // Signed in: a cookie-authenticated API write needs the token in the X-CSRF-Token header.
    assert_eq!(
        app.sign_in("kim@example.org", crate::helpers::PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let response = app
        .client
        .post(app.url("/api/v1/me/tokens"))
        .json(&serde_json::json!({ "name": "script" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "csrf_failed");
    let token = app.csrf().await;
    let response = app
        .client
        .post(app.url("/api/v1/me/tokens"))
        .header("x-csrf-token", token)
        .json(&serde_json::json!({ "name": "script" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// Who may reach what. `Member` routes need any signed-in person; `Admin` routes an administrator;
/// `Anyone` routes are asked before signing in.
#[derive(Clone, Copy, PartialEq)]
pub enum Needs {
    Anyone,
    Member,
    Admin,
}

/// `/metrics` is in neither list: it is opened by the connection's address or `metrics.token`, never by
/// a role (`no_role_or_api_token_opens_metrics` below), and it is not under /api/v1, so it has no place
/// in the OpenAPI document.
pub(crate) const PAGES: &[(&str, &str, Needs)] = &[
    ("GET", "/", Needs::Member),
    ("GET", "/account", Needs::Member),
    ("GET", "/account/password", Needs::Member),
    ("POST", "/account/password", Needs::Member),
    ("POST", "/account/tokens", Needs::Member),
    ("POST", "/account/tokens/999/revoke", Needs::Member),
    ("GET", "/admin/users", Needs::Admin),
    ("GET", "/admin/users/invite", Needs::Admin),
    ("POST", "/admin/users/invite", Needs::Admin),
    ("GET", "/admin/audit", Needs::Admin),
    ("GET", "/admin/audit.csv", Needs::Admin),
    ("GET", "/admin/outbox", Needs::Admin),
    ("GET", "/admin/setup", Needs::Admin),
    ("GET", "/admin/organisation", Needs::Admin),
    ("POST", "/admin/organisation", Needs::Admin),
    ("POST", "/admin/organisation/logo", Needs::Admin),
    ("POST", "/admin/organisation/logo/remove", Needs::Admin),
    ("POST", "/admin/mail-check", Needs::Admin),
    ("POST", "/admin/outbox/999/retry", Needs::Admin),
    ("GET", "/studies", Needs::Member),
    ("GET", "/studies/new", Needs::Member),
    ("POST", "/studies", Needs::Member),
    ("POST", "/admin/users/999/deactivate", Needs::Admin),
    ("POST", "/admin/users/999/reactivate", Needs::Admin),
    ("POST", "/admin/users/999/unpause", Needs::Admin),
    ("POST", "/account/sessions/999/end", Needs::Member),
    ("GET", "/account/two-step", Needs::Member),
    ("POST", "/account/two-step", Needs::Member),
    ("POST", "/account/two-step/recovery-codes", Needs::Member),
    ("POST", "/account/two-step/off", Needs::Member),
    ("GET", "/account/confirm", Needs::Member),
    ("POST", "/account/confirm", Needs::Member),
    ("POST", "/admin/users/999/reset-two-step", Needs::Admin),
    ("POST", "/invitations/999/accept", Needs::Member),
    ("POST", "/invitations/999/decline", Needs::Member),
    // Last: it signs the member and the administrator out.
    ("POST", "/account/sessions/end-all", Needs::Member),
];

/// Every `/api/v1` route, as the OpenAPI document writes it. Study routes need only an account here:
/// what a study's members may do is tested route by route in `studies.rs`.
pub const API: &[(&str, &str, Needs)] = &[
    ("GET", "/api/v1/auth/methods", Needs::Anyone),
    ("GET", "/api/v1/me", Needs::Member),
    ("GET", "/api/v1/me/tokens", Needs::Member),
    ("POST", "/api/v1/me/tokens", Needs::Member),
    ("DELETE", "/api/v1/me/tokens/{id}", Needs::Member),
    ("PUT", "/api/v1/me/password", Needs::Member),
    ("GET", "/api/v1/me/sessions", Needs::Member),
    ("GET", "/api/v1/me/waiting", Needs::Member),
    ("GET", "/api/v1/organisation", Needs::Member),
    ("PUT", "/api/v1/organisation", Needs::Admin),
    ("PUT", "/api/v1/organisation/logo", Needs::Admin),
    ("DELETE", "/api/v1/organisation/logo", Needs::Admin),
    ("POST", "/api/v1/admin/mail-check", Needs::Admin),
    ("GET", "/api/v1/admin/setup", Needs::Admin),
    ("DELETE", "/api/v1/me/sessions/{id}", Needs::Member),
    ("DELETE", "/api/v1/me/sessions", Needs::Member),
    ("GET", "/api/v1/users", Needs::Admin),
    ("POST", "/api/v1/users/invitations", Needs::Admin),
    ("POST", "/api/v1/users/{id}/deactivate", Needs::Admin),
    ("POST", "/api/v1/users/{id}/reactivate", Needs::Admin),
    ("POST", "/api/v1/users/{id}/unpause", Needs::Admin),
    ("POST", "/api/v1/users/{id}/reset-two-step", Needs::Admin),
    ("GET", "/api/v1/me/two-step", Needs::Member),
    ("POST", "/api/v1/me/two-step", Needs::Member),
    ("POST", "/api/v1/me/two-step/confirm", Needs::Member),
    ("POST", "/api/v1/me/two-step/recovery-codes", Needs::Member),
    ("GET", "/api/v1/me/invitations", Needs::Member),
    ("POST", "/api/v1/me/invitations/{id}/accept", Needs::Member),
    ("POST", "/api/v1/me/invitations/{id}/decline", Needs::Member),
    ("GET", "/api/v1/studies/{id}/invitations", Needs::Member),
    (
        "GET",
        "/api/v1/studies/{id}/participants/{participant_id}/subject-access",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/participants/{participant_id}/erase-everything",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/subject-access/search",
        Needs::Member,
    ),
    (
        "DELETE",
        "/api/v1/studies/{id}/invitations/{invitation_id}",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/retention", Needs::Member),
    ("PUT", "/api/v1/studies/{id}/retention/schedule", Needs::Member),
    ("POST", "/api/v1/studies/{id}/close", Needs::Member),
    ("POST", "/api/v1/studies/{id}/retention/check", Needs::Member),
    (
        "POST",
        "/api/v1/studies/{id}/retention/reviews/{review_id}/approve",
        Needs::Member,
    ),
    ("GET", "/api/v1/audit-events", Needs::Admin),
    ("GET", "/api/v1/audit-events.csv", Needs::Admin),
    ("GET", "/api/v1/studies/{id}/audit-events", Needs::Member),
    ("GET", "/api/v1/studies/{id}/audit-events.csv", Needs::Member),
    ("GET", "/api/v1/admin/outbox", Needs::Admin),
    ("POST", "/api/v1/admin/outbox/{id}/retry", Needs::Admin),
    ("GET", "/api/v1/studies", Needs::Member),
    ("POST", "/api/v1/studies", Needs::Member),
    ("GET", "/api/v1/studies/{id}", Needs::Member),
    ("PUT", "/api/v1/studies/{id}", Needs::Member),
    ("GET", "/api/v1/studies/{id}/members", Needs::Member),
    ("GET", "/api/v1/studies/{id}/tasks", Needs::Member),
    ("POST", "/api/v1/studies/{id}/members", Needs::Member),
    (
        "PUT",
        "/api/v1/studies/{id}/members/{member_id}",
        Needs::Member,
    ),
    (
        "DELETE",
        "/api/v1/studies/{id}/members/{member_id}",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/jargon", Needs::Member),
    ("PUT", "/api/v1/studies/{id}/jargon", Needs::Member),
    ("POST", "/api/v1/studies/{id}/plain-language", Needs::Member),
    (
        "GET",
        "/api/v1/studies/{id}/questions/{question_id}/revisions",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/questions/{question_id}/revisions/{revision_id}/restore",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/sections/{section_id}/revisions",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/sections/{section_id}/revisions/{revision_id}/restore",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/information",
        Needs::Member,
    ),
    (
        "PUT",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/information",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/sign-off-rule",
        Needs::Member,
    ),
    (
        "PUT",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/sign-off-rule",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/sign-offs",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/status",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/publish",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/versions",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/versions/{number}",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/versions/{from}/compare/{to}",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/preview",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/versions/{number}/preview",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/export",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/questionnaires/import",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/sections/{section_id}/duplicate",
        Needs::Member,
    ),
    ("GET", "/api/v1/taxonomy", Needs::Member),
    ("GET", "/api/v1/studies/{id}/questionnaires", Needs::Member),
    ("POST", "/api/v1/studies/{id}/questionnaires", Needs::Member),
    (
        "GET",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/sections",
        Needs::Member,
    ),
    (
        "PUT",
        "/api/v1/studies/{id}/sections/{section_id}",
        Needs::Member,
    ),
    (
        "DELETE",
        "/api/v1/studies/{id}/sections/{section_id}",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/sections/{section_id}/move",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/sections/{section_id}/questions",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/questions/{question_id}",
        Needs::Member,
    ),
    (
        "PUT",
        "/api/v1/studies/{id}/questions/{question_id}",
        Needs::Member,
    ),
    (
        "DELETE",
        "/api/v1/studies/{id}/questions/{question_id}",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/questions/{question_id}/move",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/questions/{question_id}/duplicate",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/questions/{question_id}/comments",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/questions/{question_id}/comments",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/sections/{section_id}/comments",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/sections/{section_id}/comments",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/comments/{comment_id}/replies",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/comments/{comment_id}/resolve",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/comments/{comment_id}/reopen",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/questions/{question_id}/suggestions",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/questions/{question_id}/suggestions",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/sections/{section_id}/suggestions",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/sections/{section_id}/suggestions",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/suggestions/{suggestion_id}/accept",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/suggestions/{suggestion_id}/reject",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/suggestions/{suggestion_id}/withdraw",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/campaigns", Needs::Member),
    ("POST", "/api/v1/studies/{id}/campaigns", Needs::Member),
    ("GET", "/api/v1/studies/{id}/campaigns/{campaign_id}", Needs::Member),
    ("PUT", "/api/v1/studies/{id}/campaigns/{campaign_id}", Needs::Member),
    ("GET", "/api/v1/studies/{id}/campaigns/{campaign_id}/preview", Needs::Member),
    ("POST", "/api/v1/studies/{id}/campaigns/{campaign_id}/launch", Needs::Member),
    ("GET", "/api/v1/studies/{id}/campaigns/{campaign_id}/closing", Needs::Member),
    ("POST", "/api/v1/studies/{id}/campaigns/{campaign_id}/close", Needs::Member),
    ("GET", "/api/v1/studies/{id}/campaigns/{campaign_id}/tracking", Needs::Member),
    ("POST", "/api/v1/studies/{id}/participants/{participant_id}/questionnaires/{questionnaire_id}/reissue", Needs::Member),
    ("GET", "/api/v1/studies/{id}/participants/{participant_id}/timeline", Needs::Member),
    ("GET", "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/open-links", Needs::Member),
    ("POST", "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/open-links", Needs::Member),
    ("POST", "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/open-links/{link_id}/revoke", Needs::Member),
    ("GET", "/api/v1/studies/{id}/participants", Needs::Member),
    ("POST", "/api/v1/studies/{id}/participants", Needs::Member),
    (
        "POST",
        "/api/v1/studies/{id}/participants/import",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/participants/{participant_id}",
        Needs::Member,
    ),
    (
        "PATCH",
        "/api/v1/studies/{id}/participants/{participant_id}",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/participants/{participant_id}/erase-identity",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/service-areas", Needs::Member),
    ("PUT", "/api/v1/studies/{id}/service-areas", Needs::Member),
    ("GET", "/api/v1/studies/{id}/responses", Needs::Member),
    (
        "GET",
        "/api/v1/studies/{id}/responses/{response_id}",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/consent-records", Needs::Member),
    ("GET", "/api/v1/studies/{id}/interviews", Needs::Member),
    ("POST", "/api/v1/studies/{id}/interviews", Needs::Member),
    (
        "GET",
        "/api/v1/studies/{id}/interviews/{interview_id}",
        Needs::Member,
    ),
    (
        "PATCH",
        "/api/v1/studies/{id}/interviews/{interview_id}",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/interviews/{interview_id}/cancel",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/interviews/{interview_id}/consent",
        Needs::Member,
    ),
    (
        "PUT",
        "/api/v1/studies/{id}/interviews/{interview_id}/notes/{question_id}",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/interviews/{interview_id}/moments",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/interviews/{interview_id}/distress",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/interviews/{interview_id}/resume",
        Needs::Member,
    ),
    (
        "PUT",
        "/api/v1/studies/{id}/interviews/{interview_id}/field-notes",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/interviews/{interview_id}/follow-ups/{follow_up_id}/done",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/codebook", Needs::Member),
    ("POST", "/api/v1/studies/{id}/codebook/codes", Needs::Member),
    (
        "PUT",
        "/api/v1/studies/{id}/codebook/codes/{code_id}",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/codebook/codes/{code_id}/merge",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/codebook/history", Needs::Member),
    ("GET", "/api/v1/studies/{id}/coding", Needs::Member),
    (
        "GET",
        "/api/v1/studies/{id}/coding/questions/{question_id}",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/coding/responses/{response_id}",
        Needs::Member,
    ),
    ("POST", "/api/v1/studies/{id}/codings", Needs::Member),
    (
        "DELETE",
        "/api/v1/studies/{id}/codings/{coding_id}",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/memos", Needs::Member),
    ("POST", "/api/v1/studies/{id}/memos", Needs::Member),
    ("PUT", "/api/v1/studies/{id}/memos/{memo_id}", Needs::Member),
    ("DELETE", "/api/v1/studies/{id}/memos/{memo_id}", Needs::Member),
    ("GET", "/api/v1/studies/{id}/beliefs", Needs::Member),
    ("POST", "/api/v1/studies/{id}/beliefs", Needs::Member),
    ("PUT", "/api/v1/studies/{id}/beliefs/{belief_id}", Needs::Member),
    (
        "DELETE",
        "/api/v1/studies/{id}/beliefs/{belief_id}",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/matrix", Needs::Member),
    ("GET", "/api/v1/studies/{id}/matrix/cell", Needs::Member),
    ("PUT", "/api/v1/studies/{id}/matrix/summaries", Needs::Member),
    ("GET", "/api/v1/studies/{id}/matrix/tables", Needs::Member),
    ("GET", "/api/v1/studies/{id}/rounds", Needs::Member),
    ("POST", "/api/v1/studies/{id}/rounds", Needs::Member),
    (
        "GET",
        "/api/v1/studies/{id}/rounds/{round_id}/sources",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/rounds/{round_id}/agreement",
        Needs::Member,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/rounds/{round_id}/consensus",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/tracker/projects", Needs::Member),
    ("POST", "/api/v1/studies/{id}/tracker/projects", Needs::Member),
    (
        "PUT",
        "/api/v1/studies/{id}/tracker/projects/{project_id}",
        Needs::Member,
    ),
    (
        "PUT",
        "/api/v1/studies/{id}/tracker/projects/{project_id}/stages",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/tracker/rule", Needs::Member),
    ("PUT", "/api/v1/studies/{id}/tracker/rule", Needs::Member),
    ("GET", "/api/v1/studies/{id}/tracker/series", Needs::Member),
    (
        "GET",
        "/api/v1/studies/{id}/exports/responses.csv",
        Needs::Member,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/exports/responses.json",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/exports/codebook.csv", Needs::Member),
    ("GET", "/api/v1/studies/{id}/exports/codebook.qdc", Needs::Member),
    ("GET", "/api/v1/studies/{id}/exports/project.qdpx", Needs::Member),
    (
        "GET",
        "/api/v1/studies/{id}/exports/coded-passages.csv",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/closed", Needs::Member),
    ("GET", "/api/v1/studies/{id}/report", Needs::Member),
    (
        "PUT",
        "/api/v1/studies/{id}/codings/{coding_id}/approval",
        Needs::Member,
    ),
    ("GET", "/api/v1/studies/{id}/quotes", Needs::Member),
    ("PUT", "/api/v1/studies/{id}/quotes", Needs::Member),
];

const LEAD: &[StudyRole] = &[StudyRole::Lead];
const LEAD_OR_ANALYST: &[StudyRole] = &[StudyRole::Lead, StudyRole::Analyst];
/// Campaign emails are written by the co-design group; how a campaign goes is seen by the whole team.
const WRITERS: &[StudyRole] = &[StudyRole::Lead, StudyRole::CoDesigner];
const VIEWERS: &[StudyRole] = &[StudyRole::Lead, StudyRole::CoDesigner, StudyRole::Analyst];
/// The study page and its task list: every member sees their own steps.
const ANY_ROLE: &[StudyRole] = &[
    StudyRole::Lead,
    StudyRole::CoDesigner,
    StudyRole::Interviewer,
    StudyRole::Analyst,
];
/// Interviews are for leads (every one) and interviewers (their own).
const INTERVIEWERS: &[StudyRole] = &[StudyRole::Lead, StudyRole::Interviewer];

/// Study routes and the study roles that may use them: `{id}` is a study the caller may be a member
/// of, other placeholders ids that do not exist (so a member let in gets 404 or 422, never 403). A
/// member without one of the roles gets 403; someone who is not a member, 404; a stranger is asked
/// to sign in (pages) or gets 401 (API). The body is what a POST, PUT or PATCH sends.
pub(crate) const STUDY_ROUTES: &[(&str, &str, &str, &[StudyRole])] = &[
    ("GET", "/studies/{id}", "", ANY_ROLE),
    ("GET", "/api/v1/studies/{id}/tasks", "", ANY_ROLE),
    ("GET", "/api/v1/studies/{id}/retention", "", LEAD),
    (
        "PUT",
        "/api/v1/studies/{id}/retention/schedule",
        r#"{"identities_months":12,"responses_months":60,"interview_notes_months":60,"consent_months":72,"audit_months":72}"#,
        LEAD,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/close",
        r#"{"confirm":false}"#,
        LEAD,
    ),
    ("POST", "/api/v1/studies/{id}/retention/check", "", LEAD),
    (
        "POST",
        "/api/v1/studies/{id}/retention/reviews/{review_id}/approve",
        "",
        LEAD,
    ),
    ("GET", "/studies/{id}/retention", "", LEAD),
    ("POST", "/studies/{id}/retention", "", LEAD),
    ("POST", "/studies/{id}/retention/close", "", LEAD),
    ("POST", "/studies/{id}/retention/check", "", LEAD),
    ("GET", "/studies/{id}/retention/schedule", "", LEAD),
    ("POST", "/studies/{id}/retention/schedule", "", LEAD),
    ("GET", "/studies/{id}/audit", "", LEAD),
    ("GET", "/studies/{id}/audit.csv", "", LEAD),
    ("GET", "/api/v1/studies/{id}/audit-events", "", LEAD),
    ("GET", "/api/v1/studies/{id}/audit-events.csv", "", LEAD),
    (
        "GET",
        "/api/v1/studies/{id}/participants/{participant_id}/subject-access",
        "",
        LEAD,
    ),
    (
        "GET",
        "/studies/{id}/participants/{pid}/subject-access",
        "",
        LEAD,
    ),
    (
        "GET",
        "/studies/{id}/participants/{pid}/subject-access.json",
        "",
        LEAD,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/participants/{participant_id}/erase-everything",
        "",
        LEAD,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/subject-access/search?q=nobody",
        "",
        LEAD,
    ),
    (
        "GET",
        "/studies/{id}/participants/{pid}/erase-everything",
        "",
        LEAD,
    ),
    (
        "POST",
        "/studies/{id}/participants/{pid}/erase-everything",
        "",
        LEAD,
    ),
    ("GET", "/studies/{id}/subject-access?q=nobody", "", LEAD),
    ("GET", "/studies/{id}/subject-access", "", LEAD),
    ("GET", "/api/v1/studies/{id}/invitations", "", LEAD),
    (
        "DELETE",
        "/api/v1/studies/{id}/invitations/{invitation_id}",
        "",
        LEAD,
    ),
    (
        "POST",
        "/studies/{id}/invitations/{invitation}/withdraw",
        "",
        LEAD,
    ),
    ("GET", "/api/v1/studies/{id}/responses", "", LEAD_OR_ANALYST),
    (
        "GET",
        "/api/v1/studies/{id}/responses/{response_id}",
        "",
        LEAD_OR_ANALYST,
    ),
    ("GET", "/api/v1/studies/{id}/consent-records", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/participants", "", LEAD),
    ("POST", "/studies/{id}/participants", "", LEAD),
    ("GET", "/studies/{id}/participants.csv", "", LEAD),
    ("GET", "/studies/{id}/participants/new", "", LEAD),
    ("GET", "/studies/{id}/participants/import", "", LEAD),
    ("POST", "/studies/{id}/participants/import", "", LEAD),
    (
        "GET",
        "/studies/{id}/participants/import/{import}",
        "",
        LEAD,
    ),
    (
        "POST",
        "/studies/{id}/participants/import/{import}",
        "",
        LEAD,
    ),
    (
        "POST",
        "/studies/{id}/participants/import/{import}/cancel",
        "",
        LEAD,
    ),
    ("GET", "/studies/{id}/participants/{pid}", "", LEAD),
    ("GET", "/studies/{id}/participants/{pid}/edit", "", LEAD),
    ("POST", "/studies/{id}/participants/{pid}/edit", "", LEAD),
    (
        "GET",
        "/studies/{id}/participants/{pid}/erase-identity",
        "",
        LEAD,
    ),
    (
        "POST",
        "/studies/{id}/participants/{pid}/erase-identity",
        "",
        LEAD,
    ),
    ("GET", "/studies/{id}/service-areas", "", LEAD),
    ("POST", "/studies/{id}/service-areas", "", LEAD),
    (
        "GET",
        "/api/v1/studies/{id}/participants",
        "",
        LEAD_OR_ANALYST,
    ),
    ("POST", "/api/v1/studies/{id}/participants", "{}", LEAD),
    (
        "POST",
        "/api/v1/studies/{id}/participants/import?dry_run=true",
        "group",
        LEAD,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/participants/{participant_id}",
        "",
        LEAD_OR_ANALYST,
    ),
    (
        "PATCH",
        "/api/v1/studies/{id}/participants/{participant_id}",
        "{}",
        LEAD,
    ),
    (
        "POST",
        "/api/v1/studies/{id}/participants/{participant_id}/erase-identity",
        "",
        LEAD,
    ),
    (
        "GET",
        "/api/v1/studies/{id}/service-areas",
        "",
        LEAD_OR_ANALYST,
    ),
    (
        "PUT",
        "/api/v1/studies/{id}/service-areas",
        "{\"service_areas\": []}",
        LEAD,
    ),
    ("GET", "/studies/{id}/campaigns", "", VIEWERS),
    ("POST", "/studies/{id}/campaigns", "", LEAD),
    ("GET", "/studies/{id}/campaigns/new", "", LEAD),
    ("GET", "/studies/{id}/campaigns/{cid}", "", VIEWERS),
    ("GET", "/studies/{id}/campaigns/{cid}/edit", "", WRITERS),
    ("POST", "/studies/{id}/campaigns/{cid}/edit", "", WRITERS),
    ("GET", "/studies/{id}/campaigns/{cid}/preview", "", WRITERS),
    ("POST", "/studies/{id}/campaigns/{cid}/launch", "", LEAD),
    ("GET", "/studies/{id}/campaigns/{cid}/close", "", LEAD),
    ("POST", "/studies/{id}/campaigns/{cid}/close", "", LEAD),
    ("GET", "/studies/{id}/campaigns/{cid}/tracking.csv", "", LEAD),
    ("GET", "/studies/{id}/participants/{pid}/timeline", "", LEAD),
    ("POST", "/studies/{id}/participants/{pid}/questionnaires/{q}/reissue", "", LEAD),
    ("GET", "/studies/{id}/questionnaires/{q}/open-links", "", LEAD),
    ("POST", "/studies/{id}/questionnaires/{q}/open-links", "", LEAD),
    ("POST", "/studies/{id}/questionnaires/{q}/open-links/{lid}/revoke", "", LEAD),
    ("GET", "/api/v1/studies/{id}/campaigns", "", VIEWERS),
    ("POST", "/api/v1/studies/{id}/campaigns", "{}", LEAD),
    ("GET", "/api/v1/studies/{id}/campaigns/{campaign_id}", "", VIEWERS),
    ("PUT", "/api/v1/studies/{id}/campaigns/{campaign_id}", "{}", WRITERS),
    ("GET", "/api/v1/studies/{id}/campaigns/{campaign_id}/preview", "", WRITERS),
    ("POST", "/api/v1/studies/{id}/campaigns/{campaign_id}/launch", "", LEAD),
    ("GET", "/api/v1/studies/{id}/campaigns/{campaign_id}/closing", "", LEAD),
    ("POST", "/api/v1/studies/{id}/campaigns/{campaign_id}/close", "", LEAD),
    ("GET", "/api/v1/studies/{id}/campaigns/{campaign_id}/tracking", "", VIEWERS),
    ("POST", "/api/v1/studies/{id}/participants/{participant_id}/questionnaires/{questionnaire_id}/reissue", "{}", LEAD),
    ("GET", "/api/v1/studies/{id}/participants/{participant_id}/timeline", "", LEAD),
    ("GET", "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/open-links", "", LEAD),
    ("POST", "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/open-links", "{\"closes_on\": \"2099-01-01\"}", LEAD),
    ("POST", "/api/v1/studies/{id}/questionnaires/{questionnaire_id}/open-links/{link_id}/revoke", "", LEAD),
    ("GET", "/api/v1/studies/{id}/interviews", "", INTERVIEWERS),
    ("POST", "/api/v1/studies/{id}/interviews", "{}", LEAD),
    ("GET", "/api/v1/studies/{id}/interviews/{interview_id}", "", INTERVIEWERS),
    ("PATCH", "/api/v1/studies/{id}/interviews/{interview_id}", "{}", LEAD),
    ("POST", "/api/v1/studies/{id}/interviews/{interview_id}/cancel", "", LEAD),
    ("POST", "/api/v1/studies/{id}/interviews/{interview_id}/consent", "{}", INTERVIEWERS),
    ("PUT", "/api/v1/studies/{id}/interviews/{interview_id}/notes/{question_id}", "{}", INTERVIEWERS),
    ("POST", "/api/v1/studies/{id}/interviews/{interview_id}/moments", "{}", INTERVIEWERS),
    ("POST", "/api/v1/studies/{id}/interviews/{interview_id}/distress", "", INTERVIEWERS),
    ("POST", "/api/v1/studies/{id}/interviews/{interview_id}/resume", "", INTERVIEWERS),
    ("PUT", "/api/v1/studies/{id}/interviews/{interview_id}/field-notes", "{}", INTERVIEWERS),
    ("POST", "/api/v1/studies/{id}/interviews/{interview_id}/follow-ups/{follow_up_id}/done", "", INTERVIEWERS),
    ("GET", "/studies/{id}/interviews", "", INTERVIEWERS),
    ("POST", "/studies/{id}/interviews", "", LEAD),
    ("GET", "/studies/{id}/interviews/new", "", LEAD),
    ("GET", "/studies/{id}/interviews/{interview_id}", "", INTERVIEWERS),
    ("GET", "/studies/{id}/interviews/{interview_id}/edit", "", LEAD),
    ("POST", "/studies/{id}/interviews/{interview_id}/edit", "", LEAD),
    ("POST", "/studies/{id}/interviews/{interview_id}/cancel", "", LEAD),
    ("GET", "/studies/{id}/interviews/{interview_id}/consent", "", INTERVIEWERS),
    ("POST", "/studies/{id}/interviews/{interview_id}/consent", "", INTERVIEWERS),
    ("GET", "/studies/{id}/interviews/{interview_id}/guide/1", "", INTERVIEWERS),
    ("POST", "/studies/{id}/interviews/{interview_id}/guide/1", "", INTERVIEWERS),
    ("POST", "/studies/{id}/interviews/{interview_id}/moments", "", INTERVIEWERS),
    ("POST", "/studies/{id}/interviews/{interview_id}/distress", "", INTERVIEWERS),
    ("GET", "/studies/{id}/interviews/{interview_id}/paused", "", INTERVIEWERS),
    ("POST", "/studies/{id}/interviews/{interview_id}/resume", "", INTERVIEWERS),
    ("GET", "/studies/{id}/interviews/{interview_id}/close", "", INTERVIEWERS),
    ("POST", "/studies/{id}/interviews/{interview_id}/close", "", INTERVIEWERS),
    ("POST", "/studies/{id}/interviews/{interview_id}/follow-ups/{follow_up_id}/done", "", INTERVIEWERS),
    ("GET", "/api/v1/studies/{id}/codebook", "", LEAD_OR_ANALYST),
    ("POST", "/api/v1/studies/{id}/codebook/codes", "{}", LEAD_OR_ANALYST),
    ("PUT", "/api/v1/studies/{id}/codebook/codes/{code_id}", "{}", LEAD_OR_ANALYST),
    ("POST", "/api/v1/studies/{id}/codebook/codes/{code_id}/merge", "{\"into\": 1}", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/codebook/history", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/codebook", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/codebook", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/codebook/new", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/codebook/history", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/codebook/{code_id}/edit", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/codebook/{code_id}/edit", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/codebook/{code_id}/merge", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/codebook/{code_id}/merge", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/coding", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/coding/questions/{question_id}", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/coding/responses/{response_id}", "", LEAD_OR_ANALYST),
    ("POST", "/api/v1/studies/{id}/codings", "{}", LEAD_OR_ANALYST),
    ("DELETE", "/api/v1/studies/{id}/codings/{coding_id}", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/coding", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/coding/questions/{question_id}", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/coding/responses/{response_id}", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/coding/answers/{answer_id}", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/codings/{coding_id}/delete", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/memos", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/memos?subject=code&subject_id=999", "", LEAD_OR_ANALYST),
    ("POST", "/api/v1/studies/{id}/memos", "{}", LEAD_OR_ANALYST),
    ("PUT", "/api/v1/studies/{id}/memos/{memo_id}", "{}", LEAD_OR_ANALYST),
    ("DELETE", "/api/v1/studies/{id}/memos/{memo_id}", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/memos", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/memos", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/memos/new", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/memos/new?subject=code&subject_id=999", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/memos/{memo_id}/edit", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/memos/{memo_id}/edit", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/memos/{memo_id}/delete", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/beliefs", "", LEAD_OR_ANALYST),
    ("POST", "/api/v1/studies/{id}/beliefs", "{}", LEAD_OR_ANALYST),
    ("PUT", "/api/v1/studies/{id}/beliefs/{belief_id}", "{}", LEAD_OR_ANALYST),
    ("DELETE", "/api/v1/studies/{id}/beliefs/{belief_id}", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/beliefs", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/beliefs", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/beliefs/new", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/beliefs/new?code=999", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/beliefs/{belief_id}/edit", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/beliefs/{belief_id}/edit", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/beliefs/{belief_id}/delete", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/matrix", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/matrix/cell?row=x&column=y", "", LEAD_OR_ANALYST),
    ("PUT", "/api/v1/studies/{id}/matrix/summaries", "{}", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/matrix/tables", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/matrix", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/matrix/cell?row=x&column=y", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/matrix/cell", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/matrix/tables", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/rounds", "", LEAD_OR_ANALYST),
    ("POST", "/api/v1/studies/{id}/rounds", "{}", LEAD),
    ("GET", "/api/v1/studies/{id}/rounds/{round_id}/sources", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/rounds/{round_id}/agreement", "", LEAD),
    ("POST", "/api/v1/studies/{id}/rounds/{round_id}/consensus", "{}", LEAD),
    ("GET", "/studies/{id}/rounds", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/rounds", "", LEAD),
    ("GET", "/studies/{id}/rounds/{round_id}", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/rounds/{round_id}/agreement", "", LEAD),
    ("POST", "/studies/{id}/rounds/{round_id}/consensus", "", LEAD),
    ("GET", "/api/v1/studies/{id}/tracker/projects", "", LEAD_OR_ANALYST),
    ("POST", "/api/v1/studies/{id}/tracker/projects", "{}", LEAD_OR_ANALYST),
    ("PUT", "/api/v1/studies/{id}/tracker/projects/{project_id}", "{}", LEAD_OR_ANALYST),
    ("PUT", "/api/v1/studies/{id}/tracker/projects/{project_id}/stages", "{}", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/tracker/rule", "", LEAD_OR_ANALYST),
    ("PUT", "/api/v1/studies/{id}/tracker/rule", "{\"target_percent\": 80}", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/tracker/series", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/tracker", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/tracker", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/tracker/new", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/tracker/rule", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/tracker/rule", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/tracker/{project_id}/edit", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/tracker/{project_id}/edit", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/tracker/{project_id}/stages", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/tracker/{project_id}/stages", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/exports/responses.csv", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/exports/responses.csv?layout=long&values=codes", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/exports/responses.json", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/exports/codebook.csv", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/exports/codebook.qdc", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/exports", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/exports/responses.csv", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/exports/responses.json", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/exports/codebook.csv", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/exports/codebook.qdc", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/exports/project.qdpx", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/exports/coded-passages.csv", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/exports/project.qdpx", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/exports/coded-passages.csv", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/closed", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/closed?shared=true", "", LEAD_OR_ANALYST),
    ("GET", "/studies/{id}/closed", "", LEAD_OR_ANALYST),
    ("GET", "/api/v1/studies/{id}/report", "", LEAD_OR_ANALYST),
    ("PUT", "/api/v1/studies/{id}/codings/{coding_id}/approval", "{\"approved\": true}", LEAD),
    ("GET", "/studies/{id}/report", "", LEAD_OR_ANALYST),
    ("POST", "/studies/{id}/codings/{coding_id}/approval", "", LEAD),
    ("GET", "/studies/{id}/quotes", "", LEAD),
    ("POST", "/studies/{id}/quotes", "", LEAD),
    ("GET", "/api/v1/studies/{id}/quotes", "", LEAD),
    ("PUT", "/api/v1/studies/{id}/quotes", "{\"approve\": [], \"withdraw\": []}", LEAD),
];

/// A route template made concrete: every `{placeholder}` becomes an id that does not exist.
pub fn concrete(template: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        path.push_str(&rest[..start]);
        path.push_str("999");
        rest = &rest[rest[start..]
            .find('}')
            .map_or(rest.len(), |end| start + end + 1)..];
    }
    path.push_str(rest);
    path
}

fn asks_to_sign_in(response: &reqwest::Response) -> bool {
    response.status() == StatusCode::SEE_OTHER
        && response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next=")
}

/// Past the role check: not refused, not sent to sign in (a 404 for a missing object or a 422 for an
/// empty form still means the person was let in).
fn allowed(response: &reqwest::Response) -> bool {
    response.status() != StatusCode::FORBIDDEN && !asks_to_sign_in(response)
}

async fn page_request(visitor: &Visitor, method: &str, path: &str) -> reqwest::Response {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = visitor.client.request(method.clone(), visitor.url(path));
    if method == Method::POST {
        request = request.form(&[("csrf_token", visitor.csrf().await)]);
    }
    request.send().await.unwrap()
}

async fn api_request(
    visitor: &Visitor,
    method: &str,
    path: &str,
    bearer: Option<&str>,
) -> reqwest::Response {
    let mut request = visitor.client.request(
        Method::from_bytes(method.as_bytes()).unwrap(),
        visitor.url(&concrete(path)),
    );
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if method != "GET" && method != "DELETE" {
        request = request.json(&serde_json::json!({}));
    }
    request.send().await.unwrap()
}

async fn every_route_checks_the_role(app: TestApp) {
    let stranger = app.new_visitor();
    let member = app.new_visitor();
    let admin = app.new_visitor();
    let member_id = app.create_user("member@example.org", Role::Member).await;
    let admin_id = app.create_user("admin@example.org", Role::Admin).await;
    assert_eq!(
        member
            .sign_in("member@example.org", crate::helpers::PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        admin
            .sign_in("admin@example.org", crate::helpers::PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    for &(method, path, needs) in PAGES {
        let response = page_request(&stranger, method, path).await;
        assert!(
            asks_to_sign_in(&response),
            "stranger {method} {path} → {}",
            response.status()
        );

        let response = page_request(&member, method, path).await;
        if needs == Needs::Admin {
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "member {method} {path}"
            );
        } else {
            assert!(
                allowed(&response),
                "member {method} {path} → {}",
                response.status()
            );
        }
        let response = page_request(&admin, method, path).await;
        assert!(
            allowed(&response),
            "admin {method} {path} → {}",
            response.status()
        );
        if method == "GET" {
            assert_eq!(response.status(), StatusCode::OK, "admin {method} {path}");
        }
    }

    let member_token = voices::accounts::actions::create_api_token(
        &app.db,
        &voices::audit::Origin::command_line(),
        member_id,
        "matrix",
    )
    .await
    .unwrap()
    .1;
    let admin_token = voices::accounts::actions::create_api_token(
        &app.db,
        &voices::audit::Origin::command_line(),
        admin_id,
        "matrix",
    )
    .await
    .unwrap()
    .1;
    // API callers carry no cookies: a fresh client for each kind of caller.
    let stranger = app.new_visitor();
    for &(method, path, needs) in API {
        let response = api_request(&stranger, method, path, None).await;
        if needs == Needs::Anyone {
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "stranger {method} {path}"
            );
            continue;
        }
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "stranger {method} {path}"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated");
        let bad = api_request(&stranger, method, path, Some("vt_not-a-real-token")).await;
        assert_eq!(
            bad.status(),
            StatusCode::UNAUTHORIZED,
            "bad token {method} {path}"
        );

        let status = api_request(&stranger, method, path, Some(&member_token))
            .await
            .status();
        if needs == Needs::Admin {
            assert_eq!(status, StatusCode::FORBIDDEN, "member {method} {path}");
        } else {
            assert!(
                status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                "member {method} {path} → {status}"
            );
        }
        let status = api_request(&stranger, method, path, Some(&admin_token))
            .await
            .status();
        assert!(
            status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
            "admin {method} {path} → {status}"
        );
    }
}

/// A page request (POSTs carry the session's CSRF token) or, under /api/, a JSON request with the
/// bearer token if there is one.
async fn study_request(
    visitor: &Visitor,
    bearer: Option<&str>,
    method: &str,
    path: &str,
    body: &str,
) -> reqwest::Response {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = visitor.client.request(method.clone(), visitor.url(path));
    if path.starts_with("/api/") {
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if method != Method::GET {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
    } else if method == Method::POST {
        request = request.form(&[("csrf_token", visitor.csrf().await)]);
    }
    request.send().await.unwrap()
}

async fn every_study_route_checks_the_study_role(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    // Two strangers: one that has visited pages (and has a session cookie), one API caller without.
    let (stranger, api_stranger) = (app.new_visitor(), app.new_visitor());
    let members = [
        (StudyRole::Lead, &team.lead),
        (StudyRole::CoDesigner, &team.co_designer),
        (StudyRole::Interviewer, &team.interviewer),
        (StudyRole::Analyst, &team.analyst),
    ];
    for &(method, template, body, roles) in STUDY_ROUTES {
        let path = concrete(&template.replace("{id}", &team.study.to_string()));
        let api = path.starts_with("/api/");
        let someone = if api { &api_stranger } else { &stranger };
        let response = study_request(someone, None, method, &path, body).await;
        if api {
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "stranger {method} {path}"
            );
        } else {
            assert!(asks_to_sign_in(&response), "stranger {method} {path}");
        }
        let outsider = &team.outsider;
        let token = api.then_some(outsider.token.as_str());
        let status = study_request(&outsider.visitor, token, method, &path, body)
            .await
            .status();
        assert_eq!(status, StatusCode::NOT_FOUND, "outsider {method} {path}");
        for (role, person) in members {
            let token = api.then_some(person.token.as_str());
            let response = study_request(&person.visitor, token, method, &path, body).await;
            let status = response.status();
            if roles.contains(&role) {
                assert!(allowed(&response), "{role:?} {method} {path} → {status}");
                assert!(
                    !status.is_server_error(),
                    "{role:?} {method} {path} → {status}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role:?} {method} {path}");
            }
        }
    }
}

async fn bad_input_gets_a_clear_4xx(app: TestApp) {
    let lee = app.create_user("lee@example.org", Role::Member).await;
    let token = voices::accounts::actions::create_api_token(
        &app.db,
        &voices::audit::Origin::command_line(),
        lee,
        "bad input",
    )
    .await
    .unwrap()
    .1;

    // Oversized form: 413, nothing else.
    let csrf = app.csrf().await;
    let huge = "x".repeat(200_000);
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", huge.as_str()),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.text().await.unwrap().contains("too large"));

    // Malformed, mistyped and oversized JSON: JSON errors in the one shape.
    let api = |body: reqwest::Body, content_type: &'static str| {
        app.client
            .post(app.url("/api/v1/me/tokens"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for (body, content_type, expected) in [
        (
            "{not json".to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "{\"name\": 42}".to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        ("name=x".to_string(), "text/plain", StatusCode::BAD_REQUEST),
        (
            format!("{{\"name\":\"{}\"}}", "x".repeat(400_000)),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ] {
        let response = api(body.into(), content_type).await.unwrap();
        let status = response.status();
        assert!(
            status == expected
                || (expected == StatusCode::BAD_REQUEST
                    && status == StatusCode::UNSUPPORTED_MEDIA_TYPE),
            "{content_type} → {status}"
        );
        let json: serde_json::Value = response.json().await.unwrap();
        assert!(
            json["error"]["code"].is_string() && json["error"]["message"].is_string(),
            "{json}"
        );
    }
    let invalid = api("{\"name\": \"\"}".into(), "application/json")
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let json: serde_json::Value = invalid.json().await.unwrap();
    assert_eq!(json["error"]["code"], "invalid");
    assert!(json["error"]["fields"]["name"]
        .as_str()
        .unwrap()
        .contains("Enter a name"));

    // Unknown routes: a page, or JSON under /api.
    let (status, html) = app.get_text("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Page not found") && html.contains("<html lang=\"en-GB\">"));
    // The API asks who is calling before anything else, so strangers learn nothing about its routes.
    assert_eq!(
        app.get("/api/v1/no-such-thing").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let response = app
        .client
        .get(app.url("/api/v1/no-such-thing"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["error"]["code"], "not_found");
    let response = app
        .client
        .get(app.url("/api/v1/me/tokens/abc"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());

    // Garbage and tampered cookies are ignored: the stranger is asked to sign in, never a 500.
    let stranger = new_client();
    for cookie in [
        "voices_session=garbage",
        "voices_session=%%%",
        "voices_session=",
    ] {
        let response = stranger
            .get(app.url("/account"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{cookie}");
    }
    let signed_in = app.new_visitor();
    let response = signed_in
        .sign_in("lee@example.org", crate::helpers::PASSWORD)
        .await;
    let cookie = response
        .cookies()
        .find(|c| c.name() == "voices_session")
        .unwrap()
        .value()
        .to_string();
    let mut tampered: Vec<char> = cookie.chars().collect();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let response = stranger
        .get(app.url("/account"))
        .header("cookie", format!("voices_session={tampered}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

async fn the_audit_log_is_append_only(app: TestApp) {
    app.signed_in_as("mo@example.org", Role::Admin).await;
    let (status, html) = app.get_text("/admin/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("signed in") && html.contains("user created"));
    let changed = app
        .db
        .write(|conn| {
            let update =
                diesel::sql_query("UPDATE audit_events SET action = 'nothing'").execute(conn);
            Ok::<_, voices::error::AppError>(update.is_err())
        })
        .await
        .unwrap();
    assert!(changed, "UPDATE is refused");
    let deleted = app
        .db
        .write(|conn| {
            let delete = diesel::sql_query("DELETE FROM audit_events").execute(conn);
            Ok::<_, voices::error::AppError>(delete.is_err())
        })
        .await
        .unwrap();
    assert!(deleted, "DELETE is refused");
}

#[tokio::test]
async fn pages_carry_strict_security_headers_and_cookie_flags() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app.get("/login").await;
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("style-src 'self'"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(headers.contains_key("x-request-id"));
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "plain http in development");
    let html = response.text().await.unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline script or style"
    );

    let https = spawn_with(Backend::Sqlite, |s| {
        s.base_url = "https://voices.example.org".into()
    })
    .await;
    let response = https.get("/login").await;
    assert!(response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Secure"));
    assert!(response.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn assets_are_served_with_long_cache_for_hashed_urls() {
    let app = spawn_app(Backend::Sqlite).await;
    let (_, html) = app.get_text("/login").await;
    let css = crate::helpers::value_after(&html, "<link rel=\"stylesheet\" href=\"").unwrap();
    // NHS.UK frontend first, then Voices's own additions.
    assert!(
        css.starts_with("/assets/vendor/nhsuk-frontend/nhsuk-frontend.min.css?v="),
        "{css}"
    );
    assert!(html.contains("href=\"/assets/css/voices.css?v="));
    let response = app.get(&css).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/css; charset=utf-8"
    );
    assert!(response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let etag = response.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url(&css))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        app.get("/assets/css/missing.css").await.status(),
        StatusCode::NOT_FOUND
    );
    // The icons the design system's CSS draws are served beside it; its updating script and licence
    // note stay in the repository.
    let icon = app
        .get("/assets/vendor/nhsuk-frontend/images/nhsuk-icon-cross.svg")
        .await;
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    for kept_back in [
        "/assets/vendor/update-nhsuk-frontend.sh",
        "/assets/vendor/nhsuk-frontend/LICENCE.md",
    ] {
        assert_eq!(
            app.get(kept_back).await.status(),
            StatusCode::NOT_FOUND,
            "{kept_back}"
        );
    }
    let script = crate::helpers::value_after(&html, "<script type=\"module\" src=\"").unwrap();
    let module = app.get(&script).await;
    assert_eq!(
        module.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
}

async fn no_role_or_api_token_opens_metrics(backend: Backend) {
    let Some(app) = spawn_on(backend, |settings| settings.metrics.allow_from = Vec::new()).await
    else {
        return;
    };
    let admin_id = app.create_user("admin@example.org", Role::Admin).await;
    let admin = app.new_visitor();
    assert_eq!(
        admin
            .sign_in("admin@example.org", crate::helpers::PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(admin.get("/metrics").await.status(), StatusCode::NOT_FOUND);
    let token = voices::accounts::actions::create_api_token(
        &app.db,
        &voices::audit::Origin::command_line(),
        admin_id,
        "metrics",
    )
    .await
    .unwrap()
    .1;
    let response = new_client()
        .get(app.url("/metrics"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
