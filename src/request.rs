//! What every layer may know about the request it serves: its id and the client's address.

use actix_web::{web, HttpRequest};

use crate::state::AppState;

/// Given to each request by the `request_context` middleware; audit events and log lines carry it.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The client's address: the peer, or the first X-Forwarded-For hop when configured to trust a proxy.
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    let trust_proxy = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.trust_forwarded_for);
    if trust_proxy {
        if let Some(forwarded) = req.connection_info().realip_remote_addr() {
            return Some(forwarded.to_string());
        }
    }
    req.peer_addr().map(|a| a.ip().to_string())
}
