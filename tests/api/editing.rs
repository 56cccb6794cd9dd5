//! No lost edits: If-Match on every translation write, concurrent saves, revisions and restore,
//! and translations that fall behind their source.

use actix_web::http::Method;
use futures_util::future::join_all;
use serde_json::json;

use newsdesk::auth::Role;

use crate::common::TestApp;

#[actix_web::test]
async fn every_write_needs_the_current_etag() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let id = app.create_story(&editor, "en", "Budget vote", &[]).await;
    let path = format!("/api/v1/admin/articles/{id}/translations/en");
    app.translation(&editor, id, "en").await;

    let missing = app
        .send(
            Method::PATCH,
            &path,
            Some(&editor),
            Some(json!({"title": "No precondition"})),
        )
        .await;
    missing.problem(428);
    // `*` matches whatever version is current (RFC 9110): the client asks for no check.
    let star = app
        .send_if_match(
            Method::PATCH,
            &path,
            &editor,
            "*",
            Some(json!({"title": "Star"})),
        )
        .await;
    assert_eq!(star.status, 200, "{}", star.body);
    assert_eq!(star.body["title"], "Star");
    let etag = star.header("etag").unwrap().to_owned();
    let transition = app
        .send(
            Method::POST,
            &format!("{path}/transitions"),
            Some(&editor),
            Some(json!({"status": "in_review"})),
        )
        .await;
    transition.problem(428);
    app.send(Method::DELETE, &path, Some(&editor), None)
        .await
        .problem(428);

    // Chained saves, each with the ETag the previous one returned, never conflict.
    let mut current = etag.clone();
    for i in 0..5 {
        let saved = app
            .send_if_match(
                Method::PATCH,
                &path,
                &editor,
                &current,
                Some(json!({"subtitle": format!("Edit {i}")})),
            )
            .await;
        assert_eq!(saved.status, 200, "{}", saved.body);
        current = saved.header("etag").unwrap().to_owned();
        assert_eq!(saved.body["version"], 3 + i);
    }

    // The first ETag is stale now: 412 says what is current and who saved it.
    let stale = app
        .send_if_match(
            Method::PATCH,
            &path,
            &editor,
            &etag,
            Some(json!({"title": "Lost?"})),
        )
        .await;
    let body = stale.problem(412);
    assert_eq!(body["current_version"], 7);
    assert_eq!(body["current_etag"], current);
    assert_eq!(body["updated_by"]["display_name"], "Test User");
    let weak = app
        .send_if_match(
            Method::PATCH,
            &path,
            &editor,
            &format!("W/{current}"),
            Some(json!({"title": "Weak"})),
        )
        .await;
    weak.problem(412);
    let (t, _) = app.translation(&editor, id, "en").await;
    assert_eq!(t["title"], "Star", "refused writes change nothing");
    assert_eq!(t["subtitle"], "Edit 4");
}

#[actix_web::test]
async fn of_eight_concurrent_writes_with_one_etag_exactly_one_wins() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let id = app
        .create_story(&editor, "ru", "Сессия парламента", &[])
        .await;
    let path = format!("/api/v1/admin/articles/{id}/translations/ru");
    let (_, etag) = app.translation(&editor, id, "ru").await;
    let writes = (0..8).map(|i| {
        let (app, path, editor, etag) = (&app, &path, &editor, &etag);
        async move {
            if i % 4 == 3 {
                app.send_if_match(
                    Method::POST,
                    &format!("{path}/transitions"),
                    editor,
                    etag,
                    Some(json!({"status": "in_review"})),
                )
                .await
            } else {
                app.send_if_match(
                    Method::PATCH,
                    path,
                    editor,
                    etag,
                    Some(json!({"title": format!("Правка {i}")})),
                )
                .await
            }
        }
    });
    let replies = join_all(writes).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        7,
        "{statuses:?}"
    );
    let revisions = app.get(&format!("{path}/revisions"), Some(&editor)).await;
    assert_eq!(
        revisions.body["items"].as_array().unwrap().len(),
        2,
        "one write, one revision"
    );
}

#[actix_web::test]
async fn revisions_record_every_write_and_a_restore_is_a_new_revision() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let id = app
        .create_story(&editor, "ka", "პირველი სათაური", &[])
        .await;
    let path = format!("/api/v1/admin/articles/{id}/translations/ka");
    let (_, etag) = app.translation(&editor, id, "ka").await;
    let saved = app
        .send_if_match(
            Method::PATCH,
            &path,
            &editor,
            &etag,
            Some(json!({"title": "მეორე სათაური", "body": "<p>ახალი ტექსტი</p>"})),
        )
        .await;
    let etag = saved.header("etag").unwrap().to_owned();
    let moved = app
        .send_if_match(
            Method::POST,
            &format!("{path}/transitions"),
            &editor,
            &etag,
            Some(json!({"status": "in_review"})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let etag = moved.header("etag").unwrap().to_owned();

    let list = app.get(&format!("{path}/revisions"), Some(&editor)).await;
    let items = list.body["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["transition:in_review", "update", "create"]);
    assert_eq!(items[2]["saved_by"]["display_name"], "Test User");
    let first = app.get(&format!("{path}/revisions/1"), Some(&editor)).await;
    assert_eq!(first.body["title"], "პირველი სათაური");
    assert!(first.body["body"]
        .as_str()
        .unwrap()
        .contains("A first paragraph"));
    app.get(&format!("{path}/revisions/99"), Some(&editor))
        .await
        .problem(404);
    let paged = app
        .get(&format!("{path}/revisions?limit=2"), Some(&editor))
        .await;
    let cursor = paged.body["next_cursor"].as_str().unwrap().to_owned();
    let rest = app
        .get(
            &format!("{path}/revisions?limit=2&cursor={cursor}"),
            Some(&editor),
        )
        .await;
    assert_eq!(rest.body["items"][0]["version"], 1);

    let restore = format!("{path}/revisions/1/restore");
    app.send(Method::POST, &restore, Some(&editor), None)
        .await
        .problem(428);
    let restored = app
        .send_if_match(Method::POST, &restore, &editor, &etag, None)
        .await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(restored.body["title"], "პირველი სათაური");
    assert_eq!(
        restored.body["status"], "in_review",
        "a restore keeps the status"
    );
    assert_eq!(restored.body["version"], 4);
    assert_eq!(restored.body["excerpt_auto"], true);
    let list = app.get(&format!("{path}/revisions"), Some(&editor)).await;
    assert_eq!(list.body["items"][0]["action"], "restore:1");
}

#[actix_web::test]
async fn a_translation_is_outdated_when_its_source_changes() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let id = app.create_story(&editor, "ru", "Новость", &[]).await;
    let en = app
        .post(
            &format!("/api/v1/admin/articles/{id}/translations/en"),
            &editor,
            json!({"title": "News", "translated_from": "ru"}),
        )
        .await;
    assert_eq!(en.status, 201, "{}", en.body);
    assert_eq!(en.body["outdated"], false);
    assert_eq!(en.body["translated_from"]["lang"], "ru");
    assert_eq!(en.body["translated_from"]["version"], 1);

    // A status change of the source is not a change of its text.
    let moved = app
        .transition(&editor, id, "ru", json!({"status": "in_review"}))
        .await;
    assert_eq!(moved.status, 200);
    let (t, _) = app.translation(&editor, id, "en").await;
    assert_eq!(t["outdated"], false);
    let outdated = app
        .get("/api/v1/admin/articles?outdated=true", Some(&editor))
        .await;
    assert_eq!(outdated.body["items"].as_array().unwrap().len(), 0);

    let (_, etag) = app.translation(&editor, id, "ru").await;
    let edited = app
        .send_if_match(
            Method::PATCH,
            &format!("/api/v1/admin/articles/{id}/translations/ru"),
            &editor,
            &etag,
            Some(json!({"body": "<p>Исправленный текст</p>"})),
        )
        .await;
    assert_eq!(edited.status, 200);
    let (t, etag_en) = app.translation(&editor, id, "en").await;
    assert_eq!(t["outdated"], true);
    assert_eq!(t["translated_from"]["latest_version"], 3);
    let outdated = app
        .get(
            "/api/v1/admin/articles?outdated=true&lang=en",
            Some(&editor),
        )
        .await;
    assert_eq!(outdated.body["items"][0]["id"], id);
    assert_eq!(
        outdated.body["items"][0]["translations"][0]["outdated"],
        true
    );

    // The translator catches up and says so.
    let caught_up = app
        .send_if_match(
            Method::PATCH,
            &format!("/api/v1/admin/articles/{id}/translations/en"),
            &editor,
            &etag_en,
            Some(json!({"body": "<p>Corrected text</p>", "translated_from": "ru"})),
        )
        .await;
    assert_eq!(caught_up.status, 200, "{}", caught_up.body);
    assert_eq!(caught_up.body["outdated"], false);
    assert_eq!(caught_up.body["translated_from"]["version"], 3);
    let outdated = app
        .get("/api/v1/admin/articles?outdated=true", Some(&editor))
        .await;
    assert_eq!(outdated.body["items"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn of_eight_concurrent_story_edits_with_one_etag_exactly_one_wins() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    app.seed_tags(&editor).await;
    let id = app
        .create_story(&editor, "en", "Contested story", &[])
        .await;
    let path = format!("/api/v1/admin/articles/{id}");
    let etag = app
        .get(&path, Some(&editor))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let tags = ["georgia", "armenia", "opinion", "georgia-russia"];
    let winner = app
        .race_patches(&path, &editor, &etag, |i| json!({"tags": [tags[i % 4]]}))
        .await;
    let stored = app.get(&path, Some(&editor)).await;
    assert_eq!(stored.body["tags"], winner.body["tags"]);
    assert_eq!(stored.body["version"], 2);
}
