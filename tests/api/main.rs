//! Integration tests through the HTTP API. They run on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

mod auth;
mod common;
mod errors;
mod languages;
mod openapi;
mod users;
