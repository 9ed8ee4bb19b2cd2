//! Email: each message is three templates (`email/<name>/subject.txt`, `body.txt`, `body.html`) sent
//! through lettre, by SMTP when configured and otherwise written as .eml files under `data_dir/outbox`.

pub mod outbox;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    from: Mailbox,
    templates: Arc<tera::Tera>,
}

impl Mailer {
    pub fn new(
        smtp_url: &str,
        outbox: PathBuf,
        from: &str,
        templates: Arc<tera::Tera>,
    ) -> anyhow::Result<Self> {
        let transport = if smtp_url.trim().is_empty() {
            std::fs::create_dir_all(&outbox)
                .with_context(|| format!("creating the outbox folder {}", outbox.display()))?;
            Transport::Files(AsyncFileTransport::new(outbox))
        } else {
            Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
                    .context("VOICES_SMTP_URL is not a valid smtp:// or smtps:// URL")?
                    .build(),
            )
        };
        Ok(Mailer {
            transport: Arc::new(transport),
            from: from
                .parse()
                .with_context(|| format!("mail_from {from:?} is not an email address"))?,
            templates,
        })
    }

    /// True when no SMTP server is configured and emails only become files: pages say so plainly.
    pub fn writes_files(&self) -> bool {
        matches!(*self.transport, Transport::Files(_))
    }

    /// Renders the named email for one recipient, as a plain-text and HTML alternative.
    pub fn compose(
        &self,
        name: &str,
        to: &str,
        context: &tera::Context,
    ) -> anyhow::Result<Message> {
        let render = |part: &str| {
            self.templates
                .render(&format!("email/{name}/{part}"), context)
                .with_context(|| format!("rendering email/{name}/{part}"))
        };
        let subject = render("subject.txt")?;
        Message::builder()
            .from(self.from.clone())
            .to(to
                .parse()
                .context("the recipient is not an email address")?)
            .subject(subject.trim())
            .multipart(MultiPart::alternative_plain_html(
                render("body.txt")?,
                render("body.html")?,
            ))
            .context("building the email")
    }

    pub async fn send(&self, message: Message) -> anyhow::Result<()> {
        // Errors are described by kind only: server replies can quote the recipient's address.
        match &*self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| {
                let kind = if e.is_permanent() {
                    "rejected by the mail server"
                } else if e.is_transient() {
                    "temporarily refused by the mail server"
                } else {
                    "could not reach the mail server"
                };
                anyhow::anyhow!("email not sent: {kind}")
            }),
            Transport::Files(files) => files
                .send(message)
                .await
                .map(|_| ())
                .map_err(|_| anyhow::anyhow!("email not written to the outbox folder")),
        }
    }

    /// Sends without making the caller wait or learn the outcome (used where timing must not leak
    /// whether an account exists). Failures are logged without the address.
    pub fn send_in_background(&self, message: Message) {
        let mailer = self.clone();
        actix_web::rt::spawn(async move {
            if let Err(error) = mailer.send(message).await {
                tracing::warn!(%error, "background email failed");
            }
        });
    }
}
