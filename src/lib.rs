//! Voices: co-designed surveys and semi-structured interviews for health research.

pub mod accounts;
pub mod analysis;
pub mod api;
pub mod app;
pub mod audit;
pub mod config;
pub mod db;
pub mod distribution;
pub mod health;
pub mod interviews;
pub mod mail;
pub mod responses;
pub mod security;
pub mod studies;
pub mod web;

/// Installs the one TLS crypto provider (ring) for the process; two in one tree panic at first use.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
