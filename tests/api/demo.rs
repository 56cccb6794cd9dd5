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
