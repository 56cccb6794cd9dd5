//! A fresh Newsdesk per test: its own SQLite file, or its own PostgreSQL schema when
//! `TEST_DATABASE_URL` is set, driven through the same `build_app` that production serves.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::http::{header, Method, StatusCode};
use actix_web::test::{self, TestRequest};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::{json, Value};

use newsdesk::app::{build_app, AppState};
use newsdesk::auth::Role;
use newsdesk::config::Config;
use newsdesk::users::{self, Email};

pub const SECRET: &str = "test-secret-that-is-long-enough-for-hs256-signing";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub state: Arc<AppState>,
    _dir: Option<tempfile::TempDir>,
    _media: Option<tempfile::TempDir>,
    pg_schema: Option<(String, String)>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts that this is a problem+json answer with `status`, and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(self.body["status"], status);
        for field in ["type", "title", "detail"] {
            assert!(
                self.body[field].is_string(),
                "problem without {field}: {}",
                self.body
            );
        }
        &self.body
    }

    /// The fields named in a validation problem.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The `key` text of every object in the JSON array `list` (item slugs, audit actions …).
pub fn texts<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap())
        .collect()
}

pub fn test_config(database_url: String) -> Config {
    let mut config = Config::new(database_url);
    config.jwt_secret = Some(SECRET.into());
    config.database_pool_size = 4;
    config
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with(|_| {}).await
    }

    /// A fresh app whose configuration `tweak` may change first.
    pub async fn with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let (url, dir, pg_schema) = match std::env::var("TEST_DATABASE_URL") {
            Ok(base) if !base.is_empty() => {
                let schema = format!("t_{}", newsdesk::auth::random_token(8));
                let mut admin =
                    diesel::PgConnection::establish(&base).expect("TEST_DATABASE_URL reachable");
                admin
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create test schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                // Named after the schema, so a test can find its own connections.
                let url = format!(
                    "{base}{sep}options=-csearch_path%3D{schema}&application_name={schema}"
                );
                (url, None, Some((base, schema)))
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("newsdesk.db").display());
                (url, Some(dir), None)
            }
        };
        let mut config = test_config(url);
        // Every test's media in a directory of its own, removed with it.
        let media_dir = tempfile::tempdir().expect("temp dir");
        config.media_store = media_dir.path().join("media").display().to_string();
        tweak(&mut config);
        let state = AppState::init(config).expect("app starts");
        TestApp {
            state,
            _dir: dir,
            _media: Some(media_dir),
            pg_schema,
        }
    }

    /// Another Newsdesk node on the same database, with its own caches, running the
    /// background tasks a node runs (the content-version watch among them).
    pub fn second_node(&self) -> TestApp {
        let state = AppState::init(self.state.config.clone()).expect("second node starts");
        newsdesk::app::spawn_background_tasks(&state);
        TestApp {
            state,
            _dir: None,
            _media: None,
            pg_schema: None,
        }
    }

    pub async fn call(&self, req: TestRequest) -> Reply {
        let app = test::init_service(build_app(self.state.clone())).await;
        let res = test::call_service(&app, req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = test::read_body(res).await;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A request from a fixed client address, with an optional bearer token and JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.send_from("10.0.0.1:5000", method, path, token, body)
            .await
    }

    pub async fn send_from(
        &self,
        addr: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = TestRequest::default()
            .method(method)
            .uri(path)
            .peer_addr(addr.parse::<SocketAddr>().unwrap());
        if let Some(token) = token {
            req = req.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
        }
        if let Some(body) = body {
            req = req.set_json(body);
        }
        self.call(req).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// A write that names the version it changes with `If-Match`.
    pub async fn send_if_match(
        &self,
        method: Method,
        path: &str,
        token: &str,
        etag: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut req = TestRequest::default()
            .method(method)
            .uri(path)
            .peer_addr("10.0.0.1:5000".parse::<SocketAddr>().unwrap())
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .insert_header((header::IF_MATCH, etag.to_owned()));
        if let Some(body) = body {
            req = req.set_json(body);
        }
        self.call(req).await
    }

    /// Eight concurrent PATCHes of `path`, all naming `etag`, the i-th sending `body(i)`:
    /// exactly one must win and the other seven get 412. Returns the winner's reply.
    pub async fn race_patches(
        &self,
        path: &str,
        token: &str,
        etag: &str,
        body: impl Fn(usize) -> Value,
    ) -> Reply {
        let writes =
            (0..8).map(|i| self.send_if_match(Method::PATCH, path, token, etag, Some(body(i))));
        let mut replies = futures_util::future::join_all(writes).await;
        let mut statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, vec![200, 412, 412, 412, 412, 412, 412, 412]);
        let winner = replies.iter().position(|r| r.status == 200).unwrap();
        replies.swap_remove(winner)
    }

    /// A change to a story's own fields (or its deletion) with the story's current ETag, read
    /// with the same token; without one when that token cannot read the story.
    pub async fn story_write(
        &self,
        method: Method,
        token: &str,
        id: i64,
        body: Option<Value>,
    ) -> Reply {
        let path = format!("/api/v1/admin/articles/{id}");
        let read = self.get(&path, Some(token)).await;
        match read.header("etag").map(str::to_owned) {
            Some(etag) => self.send_if_match(method, &path, token, &etag, body).await,
            None => self.send(method, &path, Some(token), body).await,
        }
    }

    /// Creates an account directly in the database.
    pub fn create_user(&self, email: &str, role: Role) -> i64 {
        let hash = self.state.hasher.hash(PASSWORD).unwrap();
        let mut conn = self.state.db.get().unwrap();
        let email = Email::parse(email, "email").unwrap();
        users::insert(&mut conn, &email, "Test User", role, &hash)
            .unwrap()
            .id
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": email, "password": password })),
        )
        .await
    }

    /// Creates an account with `role` and returns a fresh access token for it.
    pub async fn token_for(&self, role: Role) -> String {
        let email = format!(
            "{}-{}@newsroom.example",
            role.as_str(),
            newsdesk::auth::random_token(4)
        );
        self.create_user(&email, role);
        let reply = self.login(&email, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["access_token"].as_str().unwrap().to_owned()
    }

    /// On PostgreSQL, a connection of the test's own to the database, beside the app's pool,
    /// and the test's schema; `None` on SQLite.
    fn postgres_admin(&self) -> Option<(diesel::PgConnection, &str)> {
        let (base, schema) = self.pg_schema.as_ref()?;
        let conn = diesel::PgConnection::establish(base).expect("TEST_DATABASE_URL reachable");
        Some((conn, schema))
    }

    /// On PostgreSQL, the names of `table`'s indexes in this test's schema; `None` on SQLite.
    pub fn postgres_indexes(&self, table: &str) -> Option<Vec<String>> {
        #[derive(diesel::QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            indexname: String,
        }
        let (mut conn, schema) = self.postgres_admin()?;
        use diesel::RunQueryDsl;
        let names = diesel::sql_query(
            "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2",
        )
        .bind::<diesel::sql_types::Text, _>(schema)
        .bind::<diesel::sql_types::Text, _>(table)
        .load::<Name>(&mut conn)
        .expect("list indexes");
        Some(names.into_iter().map(|n| n.indexname).collect())
    }

    /// On PostgreSQL, ends every connection this app's pool holds, as a database restart would,
    /// and says how many it ended; `None` on SQLite.
    pub fn end_database_connections(&self) -> Option<i64> {
        #[derive(diesel::QueryableByName)]
        struct Ended {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let (mut conn, schema) = self.postgres_admin()?;
        use diesel::RunQueryDsl;
        let ended = diesel::sql_query(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n \
             FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind::<diesel::sql_types::Text, _>(schema)
        .get_result::<Ended>(&mut conn)
        .expect("end connections");
        Some(ended.n)
    }

    /// Seeds the five demo languages.
    pub fn seed_languages(&self) {
        let mut conn = self.state.db.get().unwrap();
        conn.transaction(|c| {
            for language in newsdesk::languages::demo_languages() {
                newsdesk::languages::insert(c, language)?;
            }
            Ok::<_, newsdesk::error::AppError>(())
        })
        .unwrap();
    }

    /// A fresh app with the five languages, the tags, and an editor's token.
    pub async fn newsroom() -> (TestApp, String) {
        let app = TestApp::new().await;
        app.seed_languages();
        let editor = app.token_for(Role::Editor).await;
        app.seed_tags(&editor).await;
        (app, editor)
    }

    /// Creates the tags the newsroom files stories under, named in English and Russian.
    pub async fn seed_tags(&self, token: &str) {
        for (slug, kind, en, ru) in [
            ("georgia-russia", "topic", "Georgia–Russia", "Грузия–Россия"),
            ("georgia", "country", "Georgia", "Грузия"),
            ("armenia", "country", "Armenia", "Армения"),
            ("opinion", "section", "Opinion", "Мнения"),
        ] {
            let reply = self
                .post(
                    "/api/v1/admin/tags",
                    token,
                    json!({"slug": slug, "kind": kind, "names": {"en": {"name": en}, "ru": {"name": ru}}}),
                )
                .await;
            assert_eq!(reply.status, 201, "{}", reply.body);
        }
    }

    /// Creates a story with a first translation and returns the story's id.
    pub async fn create_story(&self, token: &str, lang: &str, title: &str, tags: &[&str]) -> i64 {
        let reply = self
            .post(
                "/api/v1/admin/articles",
                token,
                json!({
                    "type": "news",
                    "tags": tags,
                    "translation": {"lang": lang, "title": title, "body": format!("<p>{title}. A first paragraph.</p>")},
                }),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body["id"].as_i64().unwrap()
    }

    /// Reads a translation and returns it with its ETag.
    pub async fn translation(&self, token: &str, id: i64, lang: &str) -> (Value, String) {
        let reply = self
            .get(
                &format!("/api/v1/admin/articles/{id}/translations/{lang}"),
                Some(token),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let etag = reply.header("etag").unwrap().to_owned();
        (reply.body, etag)
    }

    /// Moves a translation to `status`, reading its current ETag first.
    pub async fn transition(&self, token: &str, id: i64, lang: &str, body: Value) -> Reply {
        let (_, etag) = self.translation(token, id, lang).await;
        self.send_if_match(
            Method::POST,
            &format!("/api/v1/admin/articles/{id}/translations/{lang}/transitions"),
            token,
            &etag,
            Some(body),
        )
        .await
    }

    /// Creates a story with tags and publishes its first translation; returns the story's id.
    pub async fn publish_story(&self, token: &str, lang: &str, title: &str, tags: &[&str]) -> i64 {
        let id = self.create_story(token, lang, title, tags).await;
        let published = self
            .transition(token, id, lang, json!({"status": "published"}))
            .await;
        assert_eq!(published.status, 200, "{}", published.body);
        id
    }

    /// Adds a translation of story `id` in `lang` titled `title`, and publishes it.
    pub async fn publish_translation(&self, token: &str, id: i64, lang: &str, title: &str) {
        let made = self
            .post(
                &format!("/api/v1/admin/articles/{id}/translations/{lang}"),
                token,
                json!({"title": title, "body": format!("<p>{title}.</p>")}),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.body);
        let published = self
            .transition(token, id, lang, json!({"status": "published"}))
            .await;
        assert_eq!(published.status, 200, "{}", published.body);
    }

    /// The slug of a story's translation.
    pub async fn slug_of(&self, token: &str, id: i64, lang: &str) -> String {
        let (t, _) = self.translation(token, id, lang).await;
        t["slug"].as_str().unwrap().to_owned()
    }

    /// Runs raw SQL against the test database (to break it on purpose).
    pub fn execute(&self, sql: &str) {
        let mut conn = self.state.db.get().unwrap();
        newsdesk::db_run!(&mut conn, |c| c.batch_execute(sql)).unwrap();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg_schema {
            if let Ok(mut conn) = diesel::PgConnection::establish(base) {
                let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}
