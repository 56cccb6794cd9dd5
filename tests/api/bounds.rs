//! Every time the API accepts lies in one range valid on both backends (years 1 to 9999); one
//! outside it is refused naming the field, never a 500 or a panic, and nothing is written.

use serde_json::json;

use newsdesk::auth::Role;

use crate::common::TestApp;

#[actix_web::test]
async fn report_periods_at_the_edges_of_the_calendar_are_refused_naming_the_field() {
    let app = TestApp::new().await;
    app.seed_languages();
    let contributor = app.token_for(Role::Contributor).await;
    for path in [
        "/api/v1/admin/donation-prompts/stats?to=-262143-01-01",
        "/api/v1/admin/donation-prompts/1/stats?to=-262143-01-01",
        "/api/v1/admin/donation-prompts/stats?from=-262143-01-01&to=2026-01-01",
        "/api/v1/admin/donation-prompts/stats?to=%2B262142-12-31",
    ] {
        let reply = app.get(path, Some(&contributor)).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        let detail = reply.problem(400)["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("from") || detail.contains("to"),
            "{path}: {detail}"
        );
    }
}

#[actix_web::test]
async fn times_outside_the_range_are_400_in_queries_and_422_in_bodies() {
    let app = TestApp::new().await;
    app.seed_languages();
    let admin = app.token_for(Role::Admin).await;
    for (path, field) in [
        (
            "/api/v1/articles?lang=en&published_after=-4714-11-23T00:00:00Z",
            "published_after",
        ),
        (
            "/api/v1/articles?lang=en&published_before=%2B10000-01-01T00:00:00Z",
            "published_before",
        ),
        (
            "/api/v1/admin/articles?updated_since=-4714-11-23T00:00:00Z",
            "updated_since",
        ),
        ("/api/v1/admin/audit?since=-4714-11-23T00:00:00Z", "since"),
        (
            "/api/v1/admin/audit?until=%2B20000-01-01T00:00:00Z",
            "until",
        ),
    ] {
        let reply = app.get(path, Some(&admin)).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert!(
            reply.problem(400)["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(field),
            "{path}: {}",
            reply.body
        );
    }
    let reply = app
        .post(
            "/api/v1/admin/donation-prompts",
            &admin,
            json!({
                "name": "Ancient",
                "placement": "header",
                "starts_at": "-5000-01-01T00:00:00Z",
                "translations": { "en": {
                    "headline": "Support us", "body": "<p>Please.</p>",
                    "button_label": "Support Us", "target_url": "https://newsroom.example/donate"
                } }
            }),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.error_fields(), vec!["starts_at"]);
    let listed = app
        .get("/api/v1/admin/donation-prompts", Some(&admin))
        .await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        0,
        "nothing written"
    );

    let id = app
        .create_story(&admin, "en", "A story for the far future", &[])
        .await;
    let (_, etag) = app.translation(&admin, id, "en").await;
    let reply = app
        .send_if_match(
            actix_web::http::Method::POST,
            &format!("/api/v1/admin/articles/{id}/translations/en/transitions"),
            &admin,
            &etag,
            Some(json!({"status": "scheduled", "scheduled_at": "+12000-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.error_fields(), vec!["scheduled_at"]);
}
