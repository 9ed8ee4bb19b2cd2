//! Email: each message is three templates (`email/<name>/subject.txt`, `body.txt`, `body.html`), queued
//! in the durable outbox and sent by the background worker through lettre: by SMTP when configured,
//! otherwise written as .eml files under `data_dir/outbox`.

pub mod outbox;
pub mod queries;
pub mod smtp;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Settings;
use crate::db::DbConnection;
use crate::state::AppState;
use outbox::{Kind, Prepared, Queued};

enum Transport {
    Smtp(smtp::Smtp),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Renders emails and queues them in the outbox inside the caller's write. Cheap to make from the state.
#[derive(Clone)]
pub struct Mailer {
    /// The host of the base URL, the right-hand side of every Message-ID.
    domain: String,
    templates: Arc<tera::Tera>,
}

/// Puts emails on the wire for the outbox worker: by SMTP when configured, otherwise as .eml files.
pub struct Sender {
    transport: Transport,
    from: Mailbox,
}

/// The parts of one email as the worker hands them to the transport.
pub struct Envelope<'a> {
    pub message_id: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub opt_out_url: Option<&'a str>,
}

/// Why an email did not leave. The text is the server's reply (or the transport's error), kept on the
/// outbox row for administrators; it can quote the recipient's address, so it is never logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// A 5xx reply, or an email that cannot be built (a malformed address): sending again will not help.
    Permanent(String),
    /// A 4xx reply, or the server could not be reached: worth trying again later.
    Temporary(String),
}

/// True when no mail server is configured: emails are only written as files and nobody receives them.
pub fn writes_files(settings: &Settings) -> bool {
    settings.smtp_url.trim().is_empty()
}

/// What pages say when no mail server is configured.
pub fn no_server_note(settings: &Settings) -> Option<String> {
    writes_files(settings).then(|| {
        format!(
            "No mail server is set up: emails are written as files in {} and nobody receives them.",
            outbox_dir(settings).display()
        )
    })
}

fn outbox_dir(settings: &Settings) -> PathBuf {
    settings.data_dir.join("outbox")
}

impl Mailer {
    pub fn new(state: &AppState) -> Self {
        Mailer {
            domain: state.settings.message_domain(),
            templates: state.templates.clone(),
        }
    }

    /// Renders the named email for one recipient.
    pub fn prepare(
        &self,
        name: &str,
        to: &str,
        context: &tera::Context,
    ) -> anyhow::Result<Prepared> {
        let render = |part: &str| {
            self.templates
                .render(&format!("email/{name}/{part}"), context)
                .with_context(|| format!("rendering email/{name}/{part}"))
        };
        Ok(Prepared {
            to: to.to_string(),
            subject: render("subject.txt")?.trim().to_string(),
            text: render("body.txt")?,
            html: render("body.html")?,
        })
    }

    /// Renders the named email and queues it under `key`, inside the caller's write so it is queued if
    /// and only if what it announces is committed. Wake the outbox after the commit.
    pub fn queue(
        &self,
        conn: &mut DbConnection,
        key: String,
        name: &str,
        to: &str,
        context: &tera::Context,
    ) -> anyhow::Result<bool> {
        let email = Queued {
            key,
            kind: Kind::Prepared,
            study_id: None,
            campaign_id: None,
            participation_id: None,
            prepared: Some(self.prepare(name, to, context)?),
        };
        Ok(outbox::queue(conn, &email, &self.domain)?)
    }
}

impl Sender {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let transport = if writes_files(settings) {
            let dir = outbox_dir(settings);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating the outbox folder {}", dir.display()))?;
            Transport::Files(AsyncFileTransport::new(dir))
        } else {
            Transport::Smtp(
                smtp::Smtp::from_url(&settings.smtp_url, settings.outbox.concurrency)
                    .context("VOICES_SMTP_URL is not a valid smtp:// or smtps:// URL")?,
            )
        };
        Ok(Sender {
            transport,
            from: settings.mail_from.parse().with_context(|| {
                format!("mail_from {:?} is not an email address", settings.mail_from)
            })?,
        })
    }

    /// The email as it goes on the wire: the row's fixed Message-ID, a plain-text and HTML alternative,
    /// and for emails with an opt-out link the one-click unsubscribe headers of RFC 8058.
    pub fn build(&self, email: &Envelope<'_>) -> Result<Message, SendError> {
        let to = email
            .to
            .parse::<Mailbox>()
            .map_err(|_| SendError::Permanent("the recipient is not an email address".into()))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .message_id(Some(email.message_id.to_string()))
            .subject(email.subject);
        if let Some(url) = email.opt_out_url {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.to_string(),
                email.html.to_string(),
            ))
            .map_err(|e| SendError::Permanent(format!("the email could not be built: {e}")))
    }

    pub async fn deliver(&self, message: Message) -> Result<(), SendError> {
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(&message).await,
            Transport::Files(files) => files
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Temporary(format!("writing to the outbox folder: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> (tempfile::TempDir, Settings, Sender) {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::defaults();
        settings.data_dir = dir.path().to_path_buf();
        settings.base_url = "https://voices.example.org".into();
        let sender = Sender::new(&settings).unwrap();
        (dir, settings, sender)
    }

    fn envelope(opt_out_url: Option<&str>) -> Envelope<'_> {
        Envelope {
            message_id: "<abc@voices.example.org>",
            to: "ana@example.org",
            subject: "Your say",
            text: "Plain",
            html: "<p>Rich</p>",
            opt_out_url,
        }
    }

    #[test]
    fn an_opt_out_link_becomes_one_click_unsubscribe_headers() {
        let (_dir, settings, mailer) = sender();
        assert_eq!(settings.message_domain(), "voices.example.org");
        assert!(writes_files(&settings));
        assert!(settings.data_dir.join("outbox").is_dir());
        let url = "https://voices.example.org/o/tok";
        let wire =
            String::from_utf8(mailer.build(&envelope(Some(url))).unwrap().formatted()).unwrap();
        assert!(
            wire.contains("Message-ID: <abc@voices.example.org>"),
            "{wire}"
        );
        assert!(
            wire.contains(&format!("List-Unsubscribe: <{url}>")),
            "{wire}"
        );
        assert!(wire.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(wire.contains("multipart/alternative"));

        let plain = String::from_utf8(mailer.build(&envelope(None)).unwrap().formatted()).unwrap();
        assert!(!plain.contains("List-Unsubscribe"));
    }

    #[test]
    fn a_malformed_address_is_a_permanent_failure() {
        let (_dir, _, mailer) = sender();
        let mut email = envelope(None);
        email.to = "not an address";
        assert!(matches!(mailer.build(&email), Err(SendError::Permanent(_))));
    }
}
