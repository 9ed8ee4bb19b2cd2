//! Email over a real SMTP conversation: lettre talks to an SMTP server on loopback inside the test.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use mailin_embedded::{response, Handler, Response, Server};
use reqwest::StatusCode;
use voices::accounts::rules::Role;

use crate::helpers::{link_in, spawn_postgres_app, spawn_with, Backend};

/// Recipients and the raw message, as the SMTP server received them.
type Received = (Vec<String>, String);

#[derive(Clone, Default)]
struct Inbox {
    current: Arc<Mutex<Vec<u8>>>,
    received: Arc<Mutex<Vec<Received>>>,
    recipients: Arc<Mutex<Vec<String>>>,
}

impl Handler for Inbox {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        *self.recipients.lock().unwrap() = to.to_vec();
        self.current.lock().unwrap().clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.lock().unwrap().extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = String::from_utf8_lossy(&self.current.lock().unwrap()).to_string();
        let to = self.recipients.lock().unwrap().clone();
        self.received.lock().unwrap().push((to, message));
        response::OK
    }
}

fn start_smtp() -> (String, Inbox) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let inbox = Inbox::default();
    let mut server = Server::new(inbox.clone());
    server.with_name("localhost").with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (url, inbox)
}

async fn invitation_and_reset_travel_by_smtp(backend: Backend) {
    let (smtp_url, inbox) = start_smtp();
    let adjust = |s: &mut voices::config::Settings| {
        s.smtp_url = smtp_url.clone();
        s.mail_from = "Voices study team <study@example.org>".into();
    };
    let Some(app) = (match backend {
        Backend::Sqlite => Some(spawn_with(backend, adjust).await),
        Backend::Postgres => spawn_postgres_app(adjust).await,
    }) else {
        return;
    };
    app.signed_in_as("lead@example.org", Role::Admin).await;
    let response = app
        .post_form(
            "/admin/users/invite",
            &[
                ("email", "oli@example.org"),
                ("display_name", "Oli Carer"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let (to, message) = inbox
        .received
        .lock()
        .unwrap()
        .first()
        .cloned()
        .expect("the invitation arrived over SMTP");
    assert_eq!(to, vec!["oli@example.org".to_string()]);
    assert!(
        message.contains("From: \"Voices study team\" <study@example.org>"),
        "{message}"
    );
    assert!(message.contains("Subject: You are invited to Voices"));
    assert!(message.contains("multipart/alternative"));
    assert!(message.contains("text/plain") && message.contains("text/html"));
    assert!(
        app.emails().is_empty(),
        "nothing written to the outbox folder when SMTP is configured"
    );

    let invitee = app.new_visitor();
    let link = link_in(&message);
    let password = "copper window garden";
    let done = invitee
        .post_form(
            &link,
            &[("new_password", password), ("confirm_password", password)],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);

    // The forgotten-password email leaves in the background: wait for it.
    invitee
        .post_form("/forgot-password", &[("email", "oli@example.org")])
        .await;
    for _ in 0..100 {
        if inbox.received.lock().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (_, reset) = inbox
        .received
        .lock()
        .unwrap()
        .get(1)
        .cloned()
        .expect("the reset email arrived over SMTP");
    assert!(reset.contains("Subject: Choose a new password for Voices"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_and_reset_travel_by_smtp_sqlite() {
    invitation_and_reset_travel_by_smtp(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_and_reset_travel_by_smtp_postgres() {
    invitation_and_reset_travel_by_smtp(Backend::Postgres).await
}
