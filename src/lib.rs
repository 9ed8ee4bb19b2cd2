//! Voices: co-designed surveys and semi-structured interviews for health research.
//!
//! Modules sit on floors, and a module imports only from its own floor's ground or the floors below it
//! (README, "How the code is laid out"; `tests/it/architecture.rs` keeps it so):
//! 1. ground: `config`, `db`, `security`, `error`, `identity`, `request`, `state`;
//! 2. `web`, `audit`, `mail`, each using the ground only;
//! 3. the tasks, in the order their data flows, each using the ones before it: `accounts`, `studies`,
//!    `distribution`, `responses`, `interviews`, `analysis`, `operations`;
//! 4. top: `api` (the OpenAPI document) and `app` (routes, middleware, `run`), then `main.rs`.

pub mod config;
pub mod db;
pub mod error;
pub mod identity;
pub mod request;
pub mod security;
pub mod state;

pub mod audit;
pub mod mail;
pub mod web;

pub mod accounts;
pub mod studies;
pub mod distribution;
pub mod responses;
pub mod interviews;
pub mod analysis;
pub mod operations;
pub mod overview;

pub mod api;
pub mod app;
