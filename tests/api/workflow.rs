//! The editorial workflow: who may move a translation where, publication dates, scheduling
//! (also with two scheduler loops), deleting, and what contributors may see.

use std::time::Duration;

use actix_web::http::Method;
use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{json, Value};

use newsdesk::auth::Role;

use crate::common::TestApp;

fn status_of(reply: &crate::common::Reply) -> &str {
    reply.body["status"].as_str().unwrap_or("")
}

#[actix_web::test]
async fn the_role_matrix_of_the_workflow() {
    let app = TestApp::new().await;
    app.seed_languages();
    let contributor = app.token_for(Role::Contributor).await;
    let author = app.token_for(Role::Author).await;
    let editor = app.token_for(Role::Editor).await;

    // A contributor writes a draft and submits it; they cannot publish or edit it in review.
    let own = app
        .create_story(&contributor, "en", "Contributor draft", &[])
        .await;
    let publish = app
        .transition(&contributor, own, "en", json!({"status": "published"}))
        .await;
    publish.problem(403);
    let submit = app
        .transition(&contributor, own, "en", json!({"status": "in_review"}))
        .await;
    assert_eq!(status_of(&submit), "in_review", "{}", submit.body);
    assert_eq!(submit.body["allowed_transitions"], json!(["draft"]));
    let etag = submit.header("etag").unwrap().to_owned();
    let path = format!("/api/v1/admin/articles/{own}/translations/en");
    app.send_if_match(
        Method::PATCH,
        &path,
        &contributor,
        &etag,
        Some(json!({"title": "Sneaky"})),
    )
    .await
    .problem(403);
    // An invalid step is 409 and lists the allowed ones.
    let invalid = app
        .transition(&editor, own, "en", json!({"status": "archived"}))
        .await;
    let problem = invalid.problem(409);
    assert_eq!(
        problem["allowed_transitions"],
        json!(["draft", "scheduled", "published"])
    );
    assert_eq!(problem["current_status"], "in_review");
    // The editor publishes it.
    let published = app
        .transition(&editor, own, "en", json!({"status": "published"}))
        .await;
    assert_eq!(status_of(&published), "published");

    // An author publishes their own story but cannot touch the contributor's.
    let authored = app.create_story(&author, "en", "Author story", &[]).await;
    let out = app
        .transition(&author, authored, "en", json!({"status": "published"}))
        .await;
    assert_eq!(status_of(&out), "published");
    app.transition(&author, own, "en", json!({"status": "archived"}))
        .await
        .problem(403);
    let (_, etag) = app.translation(&author, own, "en").await;
    app.send_if_match(
        Method::PATCH,
        &path,
        &author,
        &etag,
        Some(json!({"title": "Not mine"})),
    )
    .await
    .problem(403);
    app.story_write(Method::PATCH, &author, own, Some(json!({"featured": true})))
        .await
        .problem(403);
    // Featuring and syndication are editorial decisions, even on one's own story.
    app.story_write(
        Method::PATCH,
        &author,
        authored,
        Some(json!({"featured": true})),
    )
    .await
    .problem(403);
    let retyped = app
        .story_write(
            Method::PATCH,
            &author,
            authored,
            Some(json!({"featured": false, "type": "analysis"})),
        )
        .await;
    assert_eq!(retyped.status, 200, "{}", retyped.body);
    let flagged = app
        .story_write(
            Method::PATCH,
            &editor,
            authored,
            Some(json!({"featured": true, "syndicate": true})),
        )
        .await;
    assert_eq!(flagged.body["featured"], true);
    app.story_write(Method::DELETE, &author, authored, None)
        .await
        .problem(403);

    // A contributor cannot see other people's stories at all: 404, and not in the list.
    let others = app.create_story(&editor, "en", "Editor draft", &[]).await;
    app.get(
        &format!("/api/v1/admin/articles/{others}"),
        Some(&contributor),
    )
    .await
    .problem(404);
    app.get(
        &format!("/api/v1/admin/articles/{others}/translations/en"),
        Some(&contributor),
    )
    .await
    .problem(404);
    let sneak = app
        .post(
            &format!("/api/v1/admin/articles/{others}/translations/ka"),
            &contributor,
            json!({"title": "x"}),
        )
        .await;
    sneak.problem(404);
    let list = app.get("/api/v1/admin/articles", Some(&contributor)).await;
    let seen: Vec<i64> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(seen, vec![own]);
    // Authors read everything.
    assert_eq!(
        app.get(&format!("/api/v1/admin/articles/{others}"), Some(&author))
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn publishing_keeps_the_first_date_and_a_published_story_is_deleted_only_when_unpublished() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let id = app.create_story(&editor, "en", "Dates", &[]).await;
    let first = app
        .transition(&editor, id, "en", json!({"status": "published"}))
        .await;
    let published_at = first.body["published_at"].as_str().unwrap().to_owned();
    let updated_at = first.body["updated_at"].as_str().unwrap().to_owned();

    let path = format!("/api/v1/admin/articles/{id}");
    app.send(Method::DELETE, &path, Some(&editor), None)
        .await
        .problem(428);
    let refused = app.story_write(Method::DELETE, &editor, id, None).await;
    refused.problem(409);
    let tr_path = format!("{path}/translations/en");
    let (_, etag) = app.translation(&editor, id, "en").await;
    app.send_if_match(Method::DELETE, &tr_path, &editor, &etag, None)
        .await
        .problem(409);

    let unpublished = app
        .transition(&editor, id, "en", json!({"status": "draft"}))
        .await;
    assert_eq!(status_of(&unpublished), "draft");
    let again = app
        .transition(&editor, id, "en", json!({"status": "published"}))
        .await;
    assert_eq!(again.body["published_at"], published_at.as_str());
    assert_ne!(again.body["updated_at"], updated_at.as_str());
    let archived = app
        .transition(&editor, id, "en", json!({"status": "archived"}))
        .await;
    assert_eq!(status_of(&archived), "archived");

    let deleted = app.story_write(Method::DELETE, &editor, id, None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    app.get(&path, Some(&editor)).await.problem(404);
}

#[actix_web::test]
async fn scheduling_needs_a_future_time_and_publishes_once_with_two_scheduler_loops() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let admin = app.token_for(Role::Admin).await;
    let id = app
        .create_story(&editor, "en", "Scheduled story", &[])
        .await;
    let past = app
        .transition(
            &editor,
            id,
            "en",
            json!({"status": "scheduled", "scheduled_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(past.error_fields(), vec!["scheduled_at"]);
    let no_time = app
        .transition(&editor, id, "en", json!({"status": "scheduled"}))
        .await;
    assert_eq!(no_time.error_fields(), vec!["scheduled_at"]);
    let stray_time = app
        .transition(
            &editor,
            id,
            "en",
            json!({"status": "in_review", "scheduled_at": "2999-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(stray_time.error_fields(), vec!["scheduled_at"]);

    let due = Utc::now() + chrono::Duration::milliseconds(1000);
    let scheduled = app
        .transition(
            &editor,
            id,
            "en",
            json!({"status": "scheduled", "scheduled_at": due.to_rfc3339()}),
        )
        .await;
    assert_eq!(status_of(&scheduled), "scheduled", "{}", scheduled.body);

    // Two nodes' scheduler loops run against the same database.
    let loops: Vec<_> = (0..2)
        .map(|_| {
            actix_web::rt::spawn(newsdesk::scheduler::run(
                app.state.db.clone(),
                Duration::from_millis(100),
            ))
        })
        .collect();
    let mut published = Value::Null;
    for _ in 0..50 {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        let (t, _) = app.translation(&editor, id, "en").await;
        if t["status"] == "published" {
            published = t;
            break;
        }
    }
    // Let both loops run a few more passes over the published row.
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    for handle in loops {
        handle.abort();
    }
    assert_eq!(
        published["status"], "published",
        "published within a few seconds"
    );
    let published_at: DateTime<Utc> = published["published_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(published_at, due.trunc_subsecs(6), "dated when it was due");
    let revisions = app
        .get(
            &format!("/api/v1/admin/articles/{id}/translations/en/revisions"),
            Some(&editor),
        )
        .await;
    let publishes = revisions.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "schedule:publish")
        .count();
    assert_eq!(publishes, 1, "published exactly once");
    let audit = app
        .get(
            "/api/v1/admin/audit?action=translation.publish",
            Some(&admin),
        )
        .await;
    let entries = audit.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["user_id"],
        Value::Null,
        "Newsdesk itself published it"
    );
}

#[actix_web::test]
async fn a_scheduler_that_was_down_catches_up() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let id = app.create_story(&editor, "en", "Overdue", &[]).await;
    let due = Utc::now() + chrono::Duration::milliseconds(300);
    app.transition(
        &editor,
        id,
        "en",
        json!({"status": "scheduled", "scheduled_at": due.to_rfc3339()}),
    )
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(600)).await;
    let (t, _) = app.translation(&editor, id, "en").await;
    assert_eq!(
        t["status"], "scheduled",
        "nothing publishes while no scheduler runs"
    );
    let ids = newsdesk::scheduler::run_once(&app.state.db).await.unwrap();
    assert_eq!(ids.len(), 1);
    assert!(newsdesk::scheduler::run_once(&app.state.db)
        .await
        .unwrap()
        .is_empty());
    let (t, _) = app.translation(&editor, id, "en").await;
    assert_eq!(t["status"], "published");
}
