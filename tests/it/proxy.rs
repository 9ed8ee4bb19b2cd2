//! A TCP proxy on loopback that a test can cut, as a network failure or a database restart would: every
//! open connection dropped at once and new ones refused, until it is restored. Point the app at
//! `address()` instead of the server it should reach.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

pub struct Proxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    accepting: JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    cut: AtomicBool,
    /// The task relaying each open connection: aborting it closes both of its sockets.
    relays: Mutex<Vec<AbortHandle>>,
}

impl Proxy {
    /// Listens on a free loopback port and relays each connection to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let accepting = tokio::spawn({
            let shared = shared.clone();
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    // Under the lock, so a cut either sees this relay or came before it.
                    let mut relays = shared.relays.lock().unwrap();
                    // While cut, a connection is closed as soon as it is accepted.
                    if shared.cut.load(Ordering::SeqCst) {
                        continue;
                    }
                    let relay = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    relays.retain(|r| !r.is_finished());
                    relays.push(relay.abort_handle());
                }
            }
        });
        Proxy {
            address,
            shared,
            accepting,
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Drops every open connection at once and refuses new ones.
    pub fn cut(&self) {
        let mut relays = self.shared.relays.lock().unwrap();
        self.shared.cut.store(true, Ordering::SeqCst);
        for relay in relays.drain(..) {
            relay.abort();
        }
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

/// An app on a fresh PostgreSQL database that it reaches through a proxy, for tests of outages; None
/// (with a note) when no PostgreSQL server is configured for tests.
pub async fn postgres_behind_a_proxy(
    adjust: impl FnOnce(&mut voices::config::Settings),
) -> Option<(Proxy, crate::helpers::TestApp)> {
    let Ok(admin_url) = std::env::var("VOICES_TEST_DATABASE_URL") else {
        eprintln!("NOTE: VOICES_TEST_DATABASE_URL is not set; this PostgreSQL test is skipped");
        return None;
    };
    let admin_url = url::Url::parse(&admin_url).unwrap();
    let server = std::net::ToSocketAddrs::to_socket_addrs(&(
        admin_url.host_str().unwrap(),
        admin_url.port().unwrap_or(5432),
    ))
    .unwrap()
    .next()
    .unwrap();
    let proxy = Proxy::start(server).await;
    let app = crate::helpers::spawn_on(crate::helpers::Backend::Postgres, |s| {
        adjust(s);
        let mut url = url::Url::parse(&s.database_url).unwrap();
        url.set_ip_host(proxy.address().ip()).unwrap();
        url.set_port(Some(proxy.address().port())).unwrap();
        s.database_url = url.to_string();
    })
    .await?;
    Some((proxy, app))
}
