//! The demo content `serve --demo` creates: something to look at in every language and state.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::TestApp;

#[actix_web::test]
async fn the_demo_has_stories_in_every_language_status_and_type() {
    let app = TestApp::new().await;
    let admin = newsdesk::tools::demo::seed(&app.state)
        .unwrap()
        .expect("seeded an empty database");
    assert!(
        newsdesk::tools::demo::seed(&app.state).unwrap().is_none(),
        "seeds only once"
    );
    let login = app.login(&admin.email, &admin.password).await;
    let token = login.body["access_token"].as_str().unwrap().to_owned();

    let list = app
        .get("/api/v1/admin/articles?limit=100", Some(&token))
        .await;
    let items = list.body["items"].as_array().unwrap();
    assert!(items.len() >= 6);
    let mut langs = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    let mut types = BTreeSet::new();
    for story in items {
        types.insert(story["type"].as_str().unwrap().to_owned());
        for t in story["translations"].as_array().unwrap() {
            langs.insert(t["lang"].as_str().unwrap().to_owned());
            statuses.insert(t["status"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        langs,
        ["az", "en", "hy", "ka", "ru"].map(String::from).into()
    );
    for s in ["draft", "in_review", "published"] {
        assert!(statuses.contains(s), "{s}");
    }
    for t in ["news", "opinion", "live", "analysis"] {
        assert!(types.contains(t), "{t}");
    }
    let georgia_russia = items
        .iter()
        .find(|s| s["primary_tag"] == "georgia-russia")
        .unwrap();
    let id = georgia_russia["id"].as_i64().unwrap();
    let (ru, _) = app.translation(&token, id, "ru").await;
    assert_eq!(ru["status"], "published");
    assert_eq!(ru["translated_from"]["lang"], "en");

    let live = items.iter().find(|s| s["type"] == "live").unwrap();
    let entries = app
        .get(
            &format!(
                "/api/v1/admin/articles/{}/translations/en/entries",
                live["id"]
            ),
            Some(&token),
        )
        .await;
    assert_eq!(entries.body["items"].as_array().unwrap().len(), 3);

    let tags = app.get("/api/v1/tags?lang=hy", None).await;
    let armenia: &Value = tags.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "armenia")
        .unwrap();
    assert_eq!(armenia["name"], "Հայաստան");
    assert_eq!(armenia["article_count"], 1);

    // "Support our newsroom" after articles and "Support Us" in the header, in every language.
    for lang in ["en", "ru", "ka", "hy", "az"] {
        for placement in ["article_end", "header"] {
            let reply = app
                .get(
                    &format!(
                        "/api/v1/donation-prompts/resolve?lang={lang}&placement={placement}&visitor=demo"
                    ),
                    None,
                )
                .await;
            assert_eq!(reply.status, 200, "{lang} {placement}: {}", reply.body);
            assert_eq!(reply.body["lang"], lang, "{placement} has a {lang} text");
        }
    }
    let header = app
        .get("/api/v1/donation-prompts?lang=en&placement=header", None)
        .await;
    assert_eq!(header.body["items"][0]["button_label"], "Support Us");
    let compare = app
        .get("/api/v1/admin/donation-prompts/stats", Some(&token))
        .await;
    assert_eq!(compare.status, 200, "{}", compare.body);
    let items = compare.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items
        .iter()
        .all(|p| p["totals"]["impressions"].as_i64() > Some(0)));
}

/// A partner with the demo's key follows the change feed from the start to the end, then sees
/// a newly published story as an upsert and an unpublished one as a tombstone.
#[actix_web::test]
async fn the_demo_partner_follows_the_change_feed() {
    use serde_json::json;
    let app = TestApp::new().await;
    let demo = newsdesk::tools::demo::seed(&app.state).unwrap().unwrap();
    let key = demo.partner_key;
    assert!(key.starts_with("ndp_"));
    let login = app.login(&demo.email, &demo.password).await;
    let token = login.body["access_token"].as_str().unwrap().to_owned();

    let mut since = String::new();
    let mut upserts = BTreeSet::new();
    loop {
        let page = app
            .get(
                &format!("/api/v1/syndication/changes?limit=7{since}"),
                Some(&key),
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        for c in page.body["items"].as_array().unwrap() {
            assert_eq!(c["action"], "upsert", "{c}");
            upserts.insert((
                c["id"].as_i64().unwrap(),
                c["lang"].as_str().unwrap().to_owned(),
            ));
        }
        since = format!("&since={}", page.body["next"].as_str().unwrap());
        if page.body["has_more"] == false {
            break;
        }
    }
    // Every published translation of the demo, each once.
    let mut published = BTreeSet::new();
    for lang in ["az", "en", "hy", "ka", "ru"] {
        let list = app
            .get(&format!("/api/v1/articles?lang={lang}&limit=100"), None)
            .await;
        for item in list.body["items"].as_array().unwrap() {
            published.insert((item["id"].as_i64().unwrap(), lang.to_owned()));
        }
    }
    assert!(published.len() > 5);
    assert_eq!(upserts, published);

    let made = app
        .post(
            "/api/v1/admin/articles",
            &token,
            json!({"type": "news", "syndicate": true,
                   "translation": {"lang": "en", "title": "Breaking", "body": "<p>News.</p>"}}),
        )
        .await;
    let id = made.body["id"].as_i64().unwrap();
    app.transition(&token, id, "en", json!({"status": "published"}))
        .await;
    let page = app
        .get(
            &format!("/api/v1/syndication/changes?{}", &since[1..]),
            Some(&key),
        )
        .await;
    assert_eq!(page.body["items"][0]["action"], "upsert");
    assert_eq!(page.body["items"][0]["item"]["title"], "Breaking");
    let since = page.body["next"].as_str().unwrap().to_owned();
    app.transition(&token, id, "en", json!({"status": "draft"}))
        .await;
    let page = app
        .get(
            &format!("/api/v1/syndication/changes?since={since}"),
            Some(&key),
        )
        .await;
    assert_eq!(page.body["items"][0]["action"], "delete");
    assert_eq!(page.body["items"][0]["id"], id);
    assert_eq!(page.body["items"][0]["reason"], "unpublished");
}
