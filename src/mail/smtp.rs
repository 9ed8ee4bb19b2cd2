//! SMTP connections for the worker, opened from the configured URL and kept for reuse.
//!
//! Why not lettre's pooled transport: it leaves Nagle's algorithm on, and lettre writes a message's
//! body and its closing `.` in two writes, so each email waits for the server's delayed ACK (40 ms on
//! Linux) before the server sees its end. That capped one connection at about 20 emails a second, on
//! loopback as on a real network. Here plain and STARTTLS connections set TCP_NODELAY; lettre's own
//! connection code still speaks SMTP, TLS and authentication. Implicit TLS (smtps://) is connected by
//! lettre as it is, without the option.

use std::borrow::Cow;
use std::time::Duration;

use anyhow::{bail, Context};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::Message;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::SendError;

/// Connecting, or one whole SMTP transaction, taking longer than this counts as a temporary failure.
const TIMEOUT: Duration = Duration::from_secs(60);
/// A connection idle for longer is checked with NOOP before reuse (servers close idle connections).
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(5);

enum Security {
    Plain,
    StartTls {
        parameters: TlsParameters,
        required: bool,
    },
    Implicit(TlsParameters),
}

pub struct Smtp {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    keep: usize,
}

impl Smtp {
    /// smtp://host:port (plain), `?tls=required` or `?tls=opportunistic` (STARTTLS), smtps://host:port
    /// (implicit TLS); `user:password@` to authenticate; a path names this host in EHLO. `keep` is how
    /// many idle connections are kept for reuse: one per concurrent send.
    pub fn from_url(text: &str, keep: usize) -> anyhow::Result<Self> {
        let url = url::Url::parse(text).context("not a URL")?;
        let host = url.host_str().context("no host")?.to_string();
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let parameters = || TlsParameters::new(host.clone()).context("TLS for this host");
        let (security, default_port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => (Security::Plain, 25),
            ("smtp", Some(mode @ ("required" | "opportunistic"))) => (
                Security::StartTls {
                    parameters: parameters()?,
                    required: mode == "required",
                },
                587,
            ),
            ("smtps", _) => (Security::Implicit(parameters()?), 465),
            (scheme, tls) => {
                bail!("unknown scheme {scheme:?} or tls={tls:?} (use smtp://, smtp://...?tls=required or smtps://)")
            }
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(Cow::into_owned)
                .context("the user name and password must be UTF-8")
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_string()),
        };
        Ok(Smtp {
            port: url.port().unwrap_or(default_port),
            host,
            security,
            credentials,
            hello,
            idle: Mutex::new(Vec::new()),
            keep: keep.max(1),
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let unreachable = |e: &dyn std::fmt::Display| {
            SendError::Temporary(format!("could not connect to the mail server: {e}"))
        };
        let mut connection = match &self.security {
            Security::Implicit(parameters) => AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(TIMEOUT),
                &self.hello,
                Some(parameters.clone()),
                None,
            )
            .await
            .map_err(|e| classify(&e))?,
            Security::Plain | Security::StartTls { .. } => {
                let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                    .await
                    .map_err(|e| unreachable(&e))?;
                tcp.set_nodelay(true).map_err(|e| unreachable(&e))?;
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                    .await
                    .map_err(|e| classify(&e))?
            }
        };
        if let Security::StartTls {
            parameters,
            required,
        } = &self.security
        {
            if connection.can_starttls() {
                connection
                    .starttls(parameters.clone(), &self.hello)
                    .await
                    .map_err(|e| classify(&e))?;
            } else if *required {
                connection.abort().await;
                return Err(SendError::Temporary(
                    "the mail server does not offer STARTTLS, which the settings require".into(),
                ));
            }
        }
        if let Some(credentials) = &self.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| classify(&e))?;
        }
        Ok(connection)
    }

    /// An idle connection that still works, or a new one.
    async fn checkout(&self) -> Result<AsyncSmtpConnection, SendError> {
        loop {
            let Some((mut connection, since)) = self.idle.lock().await.pop() else {
                return self.connect().await;
            };
            if since.elapsed() < CHECK_AFTER_IDLE || connection.test_connected().await {
                return Ok(connection);
            }
            connection.abort().await;
        }
    }

    /// Connects as a send would (hello, STARTTLS, authentication), then says goodbye: `voices check`.
    pub async fn test_connection(&self) -> Result<(), SendError> {
        let mut connection = self.connect().await?;
        connection.quit().await.map_err(|e| classify(&e))?;
        Ok(())
    }

    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        let transaction = async {
            let mut connection = self.checkout().await?;
            match connection
                .send(message.envelope(), &message.formatted())
                .await
            {
                Ok(_) => {
                    let mut idle = self.idle.lock().await;
                    if idle.len() < self.keep && !connection.has_broken() {
                        idle.push((connection, Instant::now()));
                    }
                    Ok(())
                }
                // lettre has already closed the connection after a refusal.
                Err(error) => Err(classify(&error)),
            }
        };
        tokio::time::timeout(TIMEOUT, transaction)
            .await
            .unwrap_or_else(|_| {
                Err(SendError::Temporary(
                    "the mail server did not answer in time".into(),
                ))
            })
    }
}

/// 5xx replies are permanent; 4xx replies and everything else (network, TLS) are worth retrying.
fn classify(error: &lettre::transport::smtp::Error) -> SendError {
    if error.is_permanent() {
        SendError::Permanent(error.to_string())
    } else {
        SendError::Temporary(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_security_port_and_credentials() {
        crate::security::install_crypto_provider();
        let plain = Smtp::from_url("smtp://mail.example.org", 1).unwrap();
        assert!(matches!(plain.security, Security::Plain));
        assert_eq!(plain.port, 25);
        assert!(plain.credentials.is_none());

        let starttls =
            Smtp::from_url("smtp://voices:p%40ss@mail.example.org?tls=required", 1).unwrap();
        assert!(matches!(
            starttls.security,
            Security::StartTls { required: true, .. }
        ));
        assert_eq!(starttls.port, 587);
        assert_eq!(
            starttls.credentials,
            Some(Credentials::new("voices".into(), "p@ss".into()))
        );

        let implicit =
            Smtp::from_url("smtps://mail.example.org:2465/voices.example.org", 1).unwrap();
        assert!(matches!(implicit.security, Security::Implicit(_)));
        assert_eq!(implicit.port, 2465);
        assert_eq!(
            implicit.hello,
            ClientId::Domain("voices.example.org".into())
        );

        assert!(Smtp::from_url("smtp://mail.example.org?tls=sometimes", 1).is_err());
        assert!(Smtp::from_url("http://mail.example.org", 1).is_err());
    }
}
