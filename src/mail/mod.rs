//! Email: each message is three templates (`email/<name>/subject.txt`, `body.txt`, `body.html`), queued
//! in the durable outbox and sent by the background worker through lettre: by SMTP when configured,
//! otherwise written as .eml files under `data_dir/outbox`.

pub mod api;
pub mod handlers;
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
use outbox::{Kind, Prepared, Queued};

enum Transport {
    Smtp(smtp::Smtp),
    Files(AsyncFileTransport<Tokio1Executor>),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    outbox_dir: PathBuf,
    from: Mailbox,
    /// The host of the base URL, the right-hand side of every Message-ID.
    domain: String,
    templates: Arc<tera::Tera>,
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

impl Mailer {
    pub fn new(settings: &Settings, templates: Arc<tera::Tera>) -> anyhow::Result<Self> {
        let outbox_dir = settings.data_dir.join("outbox");
        let transport = if settings.smtp_url.trim().is_empty() {
            std::fs::create_dir_all(&outbox_dir)
                .with_context(|| format!("creating the outbox folder {}", outbox_dir.display()))?;
            Transport::Files(AsyncFileTransport::new(outbox_dir.clone()))
        } else {
            Transport::Smtp(
                smtp::Smtp::from_url(&settings.smtp_url, settings.outbox.concurrency)
                    .context("VOICES_SMTP_URL is not a valid smtp:// or smtps:// URL")?,
            )
        };
        let domain = url::Url::parse(&settings.base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "localhost".into());
        Ok(Mailer {
            transport: Arc::new(transport),
            outbox_dir,
            from: settings.mail_from.parse().with_context(|| {
                format!("mail_from {:?} is not an email address", settings.mail_from)
            })?,
            domain,
            templates,
        })
    }

    /// True when no mail server is configured: emails are only written as files and nobody receives them.
    pub fn writes_files(&self) -> bool {
        matches!(*self.transport, Transport::Files(_))
    }

    /// What pages say when no mail server is configured.
    pub fn no_server_note(&self) -> Option<String> {
        self.writes_files().then(|| {
            format!(
                "No mail server is set up: emails are written as files in {} and nobody receives them.",
                self.outbox_dir.display()
            )
        })
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

    pub fn message_domain(&self) -> &str {
        &self.domain
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
        match &*self.transport {
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

    fn mailer() -> (tempfile::TempDir, Mailer) {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::defaults();
        settings.data_dir = dir.path().to_path_buf();
        settings.base_url = "https://voices.example.org".into();
        let mailer = Mailer::new(&settings, Arc::new(tera::Tera::default())).unwrap();
        (dir, mailer)
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
        let (_dir, mailer) = mailer();
        assert_eq!(mailer.message_domain(), "voices.example.org");
        assert!(mailer.writes_files());
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
        let (_dir, mailer) = mailer();
        let mut email = envelope(None);
        email.to = "not an address";
        assert!(matches!(mailer.build(&email), Err(SendError::Permanent(_))));
    }
}
