//! Every class of bad input gets an RFC 9457 problem, never HTML or plain text.

use actix_web::http::{header, Method};
use actix_web::test::TestRequest;
use serde_json::json;

use newsdesk::auth::Role;

use crate::common::{texts, TestApp};

#[actix_web::test]
async fn probes_answer_and_carry_security_headers() {
    let app = TestApp::new().await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    assert_eq!(health.header("x-content-type-options"), Some("nosniff"));
    assert!(health.header("x-request-id").is_some());
    assert_eq!(app.get("/readyz", None).await.status, 200);

    let echoed = app
        .call(
            TestRequest::get()
                .uri("/healthz")
                .insert_header(("x-request-id", "abc-123")),
        )
        .await;
    assert_eq!(echoed.header("x-request-id"), Some("abc-123"));
    let unsafe_id = app
        .call(
            TestRequest::get()
                .uri("/healthz")
                .insert_header(("x-request-id", "a b\"<script>")),
        )
        .await;
    assert_ne!(unsafe_id.header("x-request-id"), Some("a b\"<script>"));
}

#[actix_web::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let app = TestApp::new().await;
    let missing = app.get("/api/v1/nothing-here", None).await;
    missing.problem(404);

    let wrong = app
        .send(Method::DELETE, "/api/v1/languages", None, None)
        .await;
    wrong.problem(405);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD"));

    let wrong = app
        .send(Method::PUT, "/api/v1/admin/languages", None, None)
        .await;
    wrong.problem(405);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD, POST"));
}

#[actix_web::test]
async fn malformed_bodies_are_problems_and_change_nothing() {
    let app = TestApp::new().await;
    app.seed_languages();
    let token = app.token_for(Role::Admin).await;
    let auth = ("authorization", format!("Bearer {token}"));
    let post = || {
        TestRequest::post()
            .uri("/api/v1/admin/languages")
            .peer_addr("10.0.0.1:1".parse().unwrap())
            .insert_header(auth.clone())
    };

    let malformed = app
        .call(
            post()
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload("{\"code\": "),
        )
        .await;
    malformed.problem(400);

    let wrong_type = app
        .call(
            post()
                .insert_header((header::CONTENT_TYPE, "text/plain"))
                .set_payload("code=de"),
        )
        .await;
    wrong_type.problem(415);

    let no_type = app.call(post().set_payload("{}")).await;
    no_type.problem(415);

    let unknown_field = app
        .send(
            Method::POST,
            "/api/v1/admin/languages",
            Some(&token),
            Some(
                json!({"code": "de", "name": "German", "native_name": "Deutsch", "colour": "red"}),
            ),
        )
        .await;
    unknown_field.problem(422);
    assert_eq!(unknown_field.error_fields(), vec!["colour"]);

    let wrong_shape = app
        .send(
            Method::POST,
            "/api/v1/admin/languages",
            Some(&token),
            Some(json!({"code": "de", "name": "German", "native_name": "Deutsch", "position": "first"})),
        )
        .await;
    wrong_shape.problem(422);

    let huge = "x".repeat(2 * 1024 * 1024);
    let too_large = app
        .send(
            Method::POST,
            "/api/v1/admin/languages",
            Some(&token),
            Some(json!({"code": "de", "name": huge, "native_name": "Deutsch"})),
        )
        .await;
    too_large.problem(413);

    let languages = app.get("/api/v1/admin/languages", Some(&token)).await;
    assert_eq!(
        languages.body["items"].as_array().unwrap().len(),
        5,
        "nothing was written"
    );
}

#[actix_web::test]
async fn bad_query_strings_and_paths_are_400_naming_the_parameter() {
    let app = TestApp::new().await;
    let token = app.token_for(Role::Admin).await;
    let not_a_number = app.get("/api/v1/admin/users?limit=ten", Some(&token)).await;
    not_a_number.problem(400);
    let unknown_param = app
        .get("/api/v1/admin/users?colour=red", Some(&token))
        .await;
    unknown_param.problem(400);
    let out_of_range = app
        .get("/api/v1/admin/users?limit=1000", Some(&token))
        .await;
    assert_eq!(out_of_range.problem(400)["errors"][0]["field"], "limit");
    let bad_cursor = app
        .get("/api/v1/admin/users?cursor=garbage", Some(&token))
        .await;
    assert_eq!(bad_cursor.problem(400)["errors"][0]["field"], "cursor");
    let bad_id = app
        .get("/api/v1/admin/users/not-a-number", Some(&token))
        .await;
    bad_id.problem(400);
}

#[actix_web::test]
async fn internal_errors_hide_their_details() {
    let app = TestApp::new().await;
    app.seed_languages();
    app.execute("ALTER TABLE languages RENAME TO languages_moved");
    let reply = app.get("/api/v1/languages", None).await;
    let problem = reply.problem(500);
    let text = problem.to_string();
    assert!(!text.contains("languages"), "leaks internals: {text}");
    assert!(
        !text.to_lowercase().contains("table"),
        "leaks internals: {text}"
    );
}

#[actix_web::test]
async fn control_characters_in_paths_and_query_strings_are_refused() {
    let (app, editor) = TestApp::newsroom().await;
    let id = app
        .publish_story(&editor, "en", "Talks resume in Geneva", &["georgia"])
        .await;
    let slug = app.slug_of(&editor, id, "en").await;
    let admin = app.token_for(Role::Admin).await;

    // PostgreSQL cannot compare text holding a NUL; none of these may reach it.
    for (uri, field) in [
        ("/api/v1/tags?lang=en&kind=topic%00", "kind"),
        ("/api/v1/articles?lang=en&tag=georgia%00", "tag"),
        ("/api/v1/articles?lang=en&q=Geneva%00", "q"),
        ("/api/v1/articles?lang=en&q=Geneva%1B", "q"),
        ("/api/v1/admin/articles?q=%00Geneva", "q"),
        ("/api/v1/admin/audit?object_id=1%00", "object_id"),
    ] {
        let reply = app.get(uri, Some(&admin)).await;
        assert_eq!(reply.problem(400)["errors"][0]["field"], field, "{uri}");
    }
    for uri in [
        format!("/api/v1/articles/en/{slug}%00"),
        "/api/v1/tags/georgia%00?lang=en".to_owned(),
        "/api/v1/tags/georgia%00/articles?lang=en".to_owned(),
    ] {
        app.get(&uri, None).await.problem(404);
    }

    // The rule is no wider than it needs to be: a tab in a search still searches.
    let tabbed = app.get("/api/v1/articles?lang=en&q=Geneva%09", None).await;
    assert_eq!(tabbed.status, 200, "{}", tabbed.body);
    assert_eq!(tabbed.body["items"][0]["slug"], slug.as_str());

    // A kind filter that cannot be a kind is a malformed parameter; a real one filters.
    let malformed = app.get("/api/v1/tags?lang=en&kind=Country", None).await;
    assert_eq!(malformed.problem(400)["errors"][0]["field"], "kind");
    let countries = app
        .get("/api/v1/admin/tags?kind=country", Some(&admin))
        .await;
    assert_eq!(countries.status, 200, "{}", countries.body);
    let slugs = texts(&countries.body["items"], "slug");
    assert_eq!(slugs, ["armenia", "georgia"]);

    // A tag slug in a body that cannot be a slug names the field and writes nothing.
    let before = app.get("/api/v1/admin/articles", Some(&editor)).await;
    let rejected = app
        .post(
            "/api/v1/admin/articles",
            &editor,
            json!({"type": "news", "tags": ["georgia\u{0}"], "translation": {"lang": "en", "title": "Never filed"}}),
        )
        .await;
    assert_eq!(rejected.problem(422)["errors"][0]["field"], "tags");
    let after = app.get("/api/v1/admin/articles", Some(&editor)).await;
    assert_eq!(before.body["items"], after.body["items"]);
}

#[actix_web::test]
async fn a_database_failure_while_checking_fields_is_not_blamed_on_the_caller() {
    let (app, editor) = TestApp::newsroom().await;
    app.execute("ALTER TABLE tags RENAME TO tags_moved");
    let reply = app
        .post(
            "/api/v1/admin/articles",
            &editor,
            json!({"type": "news", "tags": ["georgia"], "translation": {"lang": "en", "title": "Filed later"}}),
        )
        .await;
    let text = reply.problem(500).to_string();
    assert!(!text.contains("tags"), "leaks internals: {text}");
}

/// On PostgreSQL, connections the database ended (a restart, an administrator) are not handed
/// out again: a request that meets one is answered 503 and the connection is closed, so at most
/// one request per pooled connection fails; once the pool's connections have been idle a
/// moment, each is checked before use and no request fails at all.
#[actix_web::test]
async fn connections_the_database_ended_are_replaced() {
    let app = TestApp::new().await;
    let admin = app.token_for(Role::Admin).await;
    let users = || app.get("/api/v1/admin/users", Some(&admin));
    assert_eq!(users().await.status, 200);
    let Some(ended) = app.end_database_connections() else {
        return; // SQLite: no connection to lose.
    };
    assert!(ended > 0, "the pool held connections");
    let mut failed = 0;
    for _ in 0..8 {
        let reply = users().await;
        match reply.status.as_u16() {
            200 => {}
            503 => {
                failed += 1;
                assert_eq!(
                    reply.headers.get(header::CONTENT_TYPE).unwrap(),
                    "application/problem+json",
                    "{}",
                    reply.body
                );
            }
            other => panic!("{other}: {}", reply.body),
        }
    }
    assert!(
        failed <= 4,
        "{failed} requests met an ended connection: one each at most"
    );
    assert_eq!(users().await.status, 200, "served once they are replaced");
    app.end_database_connections();
    std::thread::sleep(std::time::Duration::from_millis(1200));
    for _ in 0..6 {
        assert_eq!(
            users().await.status,
            200,
            "checked before use after a pause"
        );
    }
}
