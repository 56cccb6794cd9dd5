//! Live stories' entries, the audit log, and that every admin path wants a signed-in caller.

use actix_web::http::Method;
use serde_json::json;

use newsdesk::auth::Role;

use crate::common::{texts, TestApp};

#[actix_web::test]
async fn live_stories_take_sanitized_entries_that_can_be_edited_pinned_and_deleted() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let news = app.create_story(&editor, "en", "Not live", &[]).await;
    app.post(
        &format!("/api/v1/admin/articles/{news}/translations/en/entries"),
        &editor,
        json!({"body": "<p>x</p>"}),
    )
    .await
    .problem(409);

    let live = app
        .post(
            "/api/v1/admin/articles",
            &editor,
            json!({"type": "live", "translation": {"lang": "en", "title": "Election night, live"}}),
        )
        .await;
    let id = live.body["id"].as_i64().unwrap();
    let entries = format!("/api/v1/admin/articles/{id}/translations/en/entries");
    let first = app
        .post(
            &entries,
            &editor,
            json!({"body": "<p>Polls close at 20:00.</p><script>alert(1)</script>"}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["body"], "<p>Polls close at 20:00.</p>");
    let first_id = first.body["id"].as_i64().unwrap();
    let second = app
        .post(
            &entries,
            &editor,
            json!({"body": "<p>Turnout reaches 40%.</p>"}),
        )
        .await;
    let second_id = second.body["id"].as_i64().unwrap();
    app.post(
        &entries,
        &editor,
        json!({"body": "<script>only this</script>"}),
    )
    .await
    .problem(422);

    let first_etag = first.body["etag"].as_str().unwrap().to_owned();
    assert_eq!(first.header("etag"), Some(first_etag.as_str()));
    app.patch(
        &format!("{entries}/{first_id}"),
        &editor,
        json!({"pinned": true}),
    )
    .await
    .problem(428);
    let pinned = app
        .send_if_match(
            Method::PATCH,
            &format!("{entries}/{first_id}"),
            &editor,
            &first_etag,
            Some(json!({"pinned": true, "body": "<p>Polls closed.</p>"})),
        )
        .await;
    assert_eq!(pinned.status, 200, "{}", pinned.body);
    assert_eq!(pinned.body["version"], 2);
    // Another editor's change from the first version would undo this one.
    app.send_if_match(
        Method::PATCH,
        &format!("{entries}/{first_id}"),
        &editor,
        &first_etag,
        Some(json!({"pinned": false})),
    )
    .await
    .problem(412);
    assert_eq!(pinned.body["pinned"], true);
    assert_eq!(pinned.body["body"], "<p>Polls closed.</p>");
    let list = app.get(&entries, Some(&editor)).await;
    let ids: Vec<i64> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![second_id, first_id], "newest first");
    let second_etag = second.body["etag"].as_str().unwrap().to_owned();
    let deleted = app
        .send_if_match(
            Method::DELETE,
            &format!("{entries}/{second_id}"),
            &editor,
            &second_etag,
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    app.send_if_match(
        Method::PATCH,
        &format!("{entries}/{second_id}"),
        &editor,
        &second_etag,
        Some(json!({"pinned": false})),
    )
    .await
    .problem(404);

    // Someone else's live story is not a contributor's to write in.
    let contributor = app.token_for(Role::Contributor).await;
    app.post(&entries, &contributor, json!({"body": "<p>x</p>"}))
        .await
        .problem(404);
}

#[actix_web::test]
async fn the_audit_log_records_who_did_what_from_where() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let admin = app.token_for(Role::Admin).await;
    app.seed_tags(&editor).await;
    let id = app
        .create_story(&editor, "en", "Audited", &["georgia"])
        .await;
    app.transition(&editor, id, "en", json!({"status": "published"}))
        .await;
    app.patch("/api/v1/admin/languages/hy", &admin, json!({"position": 7}))
        .await;

    app.get("/api/v1/admin/audit", Some(&editor))
        .await
        .problem(403);
    app.get("/api/v1/admin/audit", None).await.problem(401);
    let all = app.get("/api/v1/admin/audit", Some(&admin)).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let actions = texts(&all.body["items"], "action");
    assert_eq!(
        actions[..3],
        ["language.update", "translation.publish", "article.create"]
    );
    assert_eq!(actions.iter().filter(|a| **a == "tag.create").count(), 4);
    let publish = &all.body["items"][1];
    assert_eq!(publish["client_addr"], "10.0.0.1");
    assert!(publish["user_email"]
        .as_str()
        .unwrap()
        .starts_with("editor-"));
    assert_eq!(publish["detail"]["from"], "draft");
    assert_eq!(publish["detail"]["to"], "published");

    let by_object = app
        .get(
            &format!("/api/v1/admin/audit?object_type=article&object_id={id}"),
            Some(&admin),
        )
        .await;
    assert_eq!(by_object.body["items"].as_array().unwrap().len(), 1);
    let user_id = publish["user_id"].as_i64().unwrap();
    let by_user = app
        .get(
            &format!("/api/v1/admin/audit?user_id={user_id}&limit=2"),
            Some(&admin),
        )
        .await;
    assert_eq!(by_user.body["items"].as_array().unwrap().len(), 2);
    let next = by_user.body["next_cursor"].as_str().unwrap();
    let older = app
        .get(
            &format!("/api/v1/admin/audit?user_id={user_id}&limit=100&cursor={next}"),
            Some(&admin),
        )
        .await;
    assert_eq!(
        older.body["items"].as_array().unwrap().len(),
        4,
        "the four tags"
    );
    let future = app
        .get(
            "/api/v1/admin/audit?since=2999-01-01T00:00:00Z",
            Some(&admin),
        )
        .await;
    assert_eq!(future.body["items"].as_array().unwrap().len(), 0);
    app.get("/api/v1/admin/audit?since=yesterday", Some(&admin))
        .await
        .problem(400);
}

#[actix_web::test]
async fn every_editorial_admin_path_wants_a_signed_in_caller() {
    let app = TestApp::new().await;
    let paths = [
        (Method::GET, "/api/v1/admin/tags"),
        (Method::POST, "/api/v1/admin/tags"),
        (Method::GET, "/api/v1/admin/tags/1"),
        (Method::PATCH, "/api/v1/admin/tags/1"),
        (Method::DELETE, "/api/v1/admin/tags/1"),
        (Method::GET, "/api/v1/admin/articles"),
        (Method::POST, "/api/v1/admin/articles"),
        (Method::GET, "/api/v1/admin/articles/1"),
        (Method::PATCH, "/api/v1/admin/articles/1"),
        (Method::DELETE, "/api/v1/admin/articles/1"),
        (Method::GET, "/api/v1/admin/articles/1/translations/en"),
        (Method::POST, "/api/v1/admin/articles/1/translations/en"),
        (Method::PATCH, "/api/v1/admin/articles/1/translations/en"),
        (Method::DELETE, "/api/v1/admin/articles/1/translations/en"),
        (
            Method::POST,
            "/api/v1/admin/articles/1/translations/en/transitions",
        ),
        (
            Method::GET,
            "/api/v1/admin/articles/1/translations/en/revisions",
        ),
        (
            Method::GET,
            "/api/v1/admin/articles/1/translations/en/revisions/1",
        ),
        (
            Method::POST,
            "/api/v1/admin/articles/1/translations/en/revisions/1/restore",
        ),
        (
            Method::GET,
            "/api/v1/admin/articles/1/translations/en/entries",
        ),
        (
            Method::POST,
            "/api/v1/admin/articles/1/translations/en/entries",
        ),
        (
            Method::PATCH,
            "/api/v1/admin/articles/1/translations/en/entries/1",
        ),
        (
            Method::DELETE,
            "/api/v1/admin/articles/1/translations/en/entries/1",
        ),
        (Method::GET, "/api/v1/admin/audit"),
    ];
    for (method, path) in paths {
        let body = matches!(method, Method::POST | Method::PATCH).then(|| json!({}));
        let reply = app.send(method.clone(), path, None, body).await;
        assert_eq!(reply.status, 401, "{method} {path}");
        reply.problem(401);
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "{method} {path}"
        );
    }
}
