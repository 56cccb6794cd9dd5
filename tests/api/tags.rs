//! Tags: admin management, the role matrix, localized public names with story counts, and
//! deleting a tag that stories carry.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

use newsdesk::auth::Role;

use crate::common::{texts, TestApp};

#[actix_web::test]
async fn editors_write_tags_everyone_signed_in_reads() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let created = app
        .post(
            "/api/v1/admin/tags",
            &editor,
            json!({"kind": "country", "names": {"ka": {"name": "საქართველო", "description": "ქვეყანა"}, "en": {"name": "Georgia"}}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    // The slug comes from the first name by language code, transliterated.
    assert_eq!(created.body["slug"], "georgia");
    assert_eq!(created.body["names"]["ka"]["name"], "საქართველო");
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        created.header("location").unwrap(),
        format!("/api/v1/admin/tags/{id}")
    );
    let only_georgian = app
        .post(
            "/api/v1/admin/tags",
            &editor,
            json!({"kind": "topic", "names": {"ka": {"name": "არჩევნები"}}}),
        )
        .await;
    assert_eq!(only_georgian.body["slug"], "archevnebi");

    let new_tag =
        json!({"slug": "armenia", "kind": "country", "names": {"en": {"name": "Armenia"}}});
    for role in [Role::Contributor, Role::Author] {
        let token = app.token_for(role).await;
        app.post("/api/v1/admin/tags", &token, new_tag.clone())
            .await
            .problem(403);
        app.patch(
            &format!("/api/v1/admin/tags/{id}"),
            &token,
            json!({"kind": "topic"}),
        )
        .await
        .problem(403);
        let read = app
            .get(&format!("/api/v1/admin/tags/{id}"), Some(&token))
            .await;
        assert_eq!(read.status, 200);
        assert_eq!(
            app.get("/api/v1/admin/tags", Some(&token)).await.body["items"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
    app.get("/api/v1/admin/tags", None).await.problem(401);

    // Rename in one language, add another, remove a third.
    let patched = app
        .patch(
            &format!("/api/v1/admin/tags/{id}"),
            &editor,
            json!({"names": {"en": null, "ru": {"name": "Грузия"}}, "slug": "georgia-country"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["slug"], "georgia-country");
    assert!(patched.body["names"]["en"].is_null());
    assert_eq!(patched.body["names"]["ru"]["name"], "Грузия");
    let removing_all = app
        .patch(
            &format!("/api/v1/admin/tags/{id}"),
            &editor,
            json!({"names": {"ka": null, "ru": null}}),
        )
        .await;
    assert_eq!(removing_all.error_fields(), vec!["names"]);
    let still = app
        .get(&format!("/api/v1/admin/tags/{id}"), Some(&editor))
        .await;
    assert_eq!(
        still.body["names"]["ka"]["name"], "საქართველო",
        "a refused change changes nothing"
    );
}

#[actix_web::test]
async fn bad_tags_are_refused_naming_the_field() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    app.seed_tags(&editor).await;
    let duplicate = app
        .post(
            "/api/v1/admin/tags",
            &editor,
            json!({"slug": "georgia", "kind": "country", "names": {"en": {"name": "Georgia again"}}}),
        )
        .await;
    duplicate.problem(409);
    let cases = [
        (
            json!({"kind": "topic", "names": {"xx": {"name": "Unknown"}}}),
            "names.xx",
        ),
        (json!({"kind": "topic", "names": {}}), "names"),
        (
            json!({"kind": "Not A Kind", "names": {"en": {"name": "X"}}}),
            "kind",
        ),
        (
            json!({"slug": "Bad Slug", "kind": "topic", "names": {"en": {"name": "X"}}}),
            "slug",
        ),
        (
            json!({"kind": "topic", "names": {"en": {"name": ""}}}),
            "names.en.name",
        ),
        (
            json!({"kind": "topic", "names": {"en": {"name": "X", "colour": "red"}}}),
            "colour",
        ),
    ];
    for (body, field) in cases {
        let reply = app.post("/api/v1/admin/tags", &editor, body.clone()).await;
        reply.problem(422);
        assert_eq!(reply.error_fields(), vec![field], "{body}");
    }
    let list = app.get("/api/v1/admin/tags", Some(&editor)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 4);

    // A language that content is written in cannot be deleted.
    let admin = app.token_for(Role::Admin).await;
    app.post(
        "/api/v1/admin/tags",
        &editor,
        json!({"kind": "country", "names": {"hy": {"name": "Հայաստան"}}}),
    )
    .await;
    let hy = app
        .send(
            Method::DELETE,
            "/api/v1/admin/languages/hy",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(hy.problem(409)["tag_names"], 1);
    app.create_story(&editor, "az", "Xəbər", &[]).await;
    let az = app
        .send(
            Method::DELETE,
            "/api/v1/admin/languages/az",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(az.problem(409)["translations"], 1);
}

#[actix_web::test]
async fn public_tags_follow_the_fallback_chain_and_count_published_stories_per_language() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    app.seed_tags(&editor).await;
    let published = app
        .create_story(
            &editor,
            "ru",
            "Переговоры в Праге",
            &["georgia-russia", "georgia"],
        )
        .await;
    app.transition(&editor, published, "ru", json!({"status": "published"}))
        .await;
    // A draft in Russian and a story published only in English do not count in Russian.
    app.create_story(&editor, "ru", "Черновик", &["georgia-russia"])
        .await;
    let english = app
        .create_story(&editor, "en", "Talks in Prague", &["georgia-russia"])
        .await;
    app.transition(&editor, english, "en", json!({"status": "published"}))
        .await;

    // Georgian falls back to Russian (ka → ru → en in the demo languages).
    let ka = app.get("/api/v1/tags?lang=ka", None).await;
    assert_eq!(ka.status, 200, "{}", ka.body);
    let items = ka.body["items"].as_array().unwrap();
    let gr = items
        .iter()
        .find(|t| t["slug"] == "georgia-russia")
        .unwrap();
    assert_eq!(gr["name"], "Грузия–Россия");
    assert_eq!(gr["name_lang"], "ru");
    assert_eq!(gr["article_count"], 0);
    let ru = app.get("/api/v1/tags/georgia-russia?lang=ru", None).await;
    assert_eq!(ru.body["article_count"], 1);
    assert_eq!(ru.body["name_lang"], "ru");
    let en = app.get("/api/v1/tags/georgia-russia?lang=en", None).await;
    assert_eq!(en.body["article_count"], 1);
    assert_eq!(en.body["name"], "Georgia–Russia");
    assert!(en.header("etag").is_some());
    let cached = app
        .call(
            TestRequest::get()
                .uri("/api/v1/tags/georgia-russia?lang=en")
                .insert_header(("if-none-match", en.header("etag").unwrap())),
        )
        .await;
    assert_eq!(cached.status, 304);

    app.get("/api/v1/tags?lang=xx", None).await.problem(404);
    app.get("/api/v1/tags", None).await.problem(400);
    app.get("/api/v1/tags/nope?lang=en", None)
        .await
        .problem(404);
    // Of the two countries, only the one a published story carries is shown.
    let countries = app.get("/api/v1/tags?lang=en&kind=country", None).await;
    assert_eq!(texts(&countries.body["items"], "slug"), vec!["georgia"]);
}

#[actix_web::test]
async fn a_tag_that_stories_carry_is_deleted_only_when_detached() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    app.seed_tags(&editor).await;
    let story = app
        .create_story(
            &editor,
            "en",
            "Border talks",
            &["georgia-russia", "georgia"],
        )
        .await;
    let tags = app.get("/api/v1/admin/tags", Some(&editor)).await;
    let id = tags.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "georgia-russia")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/admin/tags/{id}");
    let refused = app.send(Method::DELETE, &path, Some(&editor), None).await;
    assert_eq!(refused.problem(409)["articles"], 1);
    let detached = app
        .send(
            Method::DELETE,
            &format!("{path}?detach=true"),
            Some(&editor),
            None,
        )
        .await;
    assert_eq!(detached.status, 204);
    let article = app
        .get(&format!("/api/v1/admin/articles/{story}"), Some(&editor))
        .await;
    let slugs = texts(&article.body["tags"], "slug");
    assert_eq!(slugs, vec!["georgia"]);
    assert_eq!(article.body["primary_tag"], "georgia", "the next tag leads");
    app.get(&path, Some(&editor)).await.problem(404);
}
