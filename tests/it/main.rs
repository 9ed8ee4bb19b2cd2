//! One integration-test binary (one link step): the app runs in-process on a random port and is driven
//! over HTTP, on SQLite and on PostgreSQL.

mod accounts;
mod api;
mod architecture;
mod browser;
mod cli;
mod codebook;
mod coding;
mod coding_exports;
mod comments;
mod distribution;
mod exports;
mod health;
mod helpers;
mod history;
mod interview_pages;
mod interviewed;
mod interviews;
mod mail;
mod matrix;
mod memos;
mod outbox;
mod participants;
mod plain_language;
mod preview;
mod query_counts;
mod questionnaires;
mod report;
mod responses;
mod rounds;
mod security;
mod smtp;
mod studies;
mod suggestions;
mod tracker;
mod versions;
