//! Integration tests through the HTTP API. They run on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

mod articles;
mod auth;
mod backup;
mod bounds;
mod cli;
mod common;
mod content;
mod demo;
mod editing;
mod errors;
mod feeds;
mod hardening;
mod languages;
mod live;
mod media;
mod metrics;
mod openapi;
mod overload;
mod preview;
mod prompts;
mod syndication;
mod tags;
mod users;
mod webhooks;
mod workflow;
