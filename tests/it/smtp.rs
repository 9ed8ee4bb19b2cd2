//! A real SMTP server on loopback for the tests: it keeps what it receives, and can be told to refuse
//! messages for a while (4xx) or for good (5xx), as real mail servers do.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{response, Handler, Response, Server};

/// A message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub message: String,
}

impl Received {
    /// The value of the first header with this name, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.message.split("\r\n\r\n").next()?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        let prefix = format!("{}:", name.to_ascii_lowercase());
        unfolded
            .split("\r\n")
            .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].trim().to_string())
    }

    pub fn message_id(&self) -> String {
        self.header("Message-ID").expect("a Message-ID")
    }
}

#[derive(Default)]
struct Policy {
    /// This many messages are refused with 451 before any is accepted.
    temporary: usize,
    /// Every message is refused with this 5xx reply.
    permanent: Option<String>,
}

/// Shared by every connection's handler.
#[derive(Clone, Default)]
pub struct Sink {
    received: Arc<Mutex<Vec<Received>>>,
    policy: Arc<Mutex<Policy>>,
    refused: Arc<Mutex<usize>>,
}

/// One connection's handler: the message in progress is its own.
#[derive(Clone)]
struct Connection {
    sink: Sink,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Connection {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        let mut policy = self.sink.policy.lock().unwrap();
        if let Some(reply) = &policy.permanent {
            *self.sink.refused.lock().unwrap() += 1;
            return Response::custom(550, reply.clone());
        }
        if policy.temporary > 0 {
            policy.temporary -= 1;
            *self.sink.refused.lock().unwrap() += 1;
            return Response::custom(451, "4.7.1 Greylisted, please try again later".into());
        }
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = String::from_utf8_lossy(&self.data).to_string();
        self.sink.received.lock().unwrap().push(Received {
            to: std::mem::take(&mut self.to),
            message,
        });
        response::OK
    }
}

impl Sink {
    /// A server on a free loopback port; returns its smtp:// URL.
    pub fn start() -> (String, Sink) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let sink = Sink::default();
        sink.serve(listener);
        (url, sink)
    }

    /// A loopback address nothing listens on (yet).
    pub fn free_address() -> SocketAddr {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    /// Starts serving on an address chosen earlier.
    pub fn start_on(address: SocketAddr) -> Sink {
        let sink = Sink::default();
        sink.serve(TcpListener::bind(address).unwrap());
        sink
    }

    fn serve(&self, listener: TcpListener) {
        let mut server = Server::new(Connection {
            sink: self.clone(),
            to: Vec::new(),
            data: Vec::new(),
        });
        // A thread per connection the app may hold open at once, with room to spare.
        server
            .with_name("localhost")
            .with_num_threads(32)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
    }

    pub fn refuse_temporarily(&self, messages: usize) {
        self.policy.lock().unwrap().temporary = messages;
    }

    pub fn refuse_permanently(&self, reply: Option<&str>) {
        self.policy.lock().unwrap().permanent = reply.map(str::to_string);
    }

    /// How many messages were refused so far.
    pub fn refused(&self) -> usize {
        *self.refused.lock().unwrap()
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Waits until at least `n` messages have arrived.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        while self.count() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {n} emails arrived",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.received()
    }
}
