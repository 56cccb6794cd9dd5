//! `newsdesk backup`: a consistent copy of a SQLite database taken while it serves, which a
//! node can start from.

use newsdesk::db::{specific, Backend};

use crate::common::TestApp;

#[actix_web::test]
async fn a_backup_taken_during_writes_serves_every_story_committed_before_it() {
    let (app, editor) = TestApp::newsroom().await;
    let target = tempfile::tempdir().unwrap();
    let file = target.path().join("copy.db");
    let path = file.to_str().unwrap().to_owned();
    if app.state.db.backend() == Backend::Postgres {
        let refused = app.state.db.run(move |c| specific::backup(c, &path)).await;
        assert!(refused.is_err(), "PostgreSQL is backed up with pg_dump");
        return;
    }
    let before = app
        .publish_story(&editor, "en", "Before the backup", &[])
        .await;
    let slug = app.slug_of(&editor, before, "en").await;
    // Writers go on while the copy is taken.
    let writes = async {
        for i in 0..10 {
            app.publish_story(&editor, "en", &format!("During the backup {i}"), &[])
                .await;
        }
    };
    let copy = app.state.db.run(move |c| specific::backup(c, &path));
    let (copied, ()) = futures_util::future::join(copy, writes).await;
    copied.unwrap();

    let url = format!("sqlite://{}", file.display());
    let restored = TestApp::with(move |config| config.database_url = url).await;
    let page = restored
        .get(&format!("/api/v1/articles/en/{slug}"), None)
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["title"], "Before the backup");
    let listed = restored
        .get("/api/v1/articles?lang=en&limit=100", None)
        .await;
    let titles: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"Before the backup"), "{titles:?}");
    // Whatever the copy holds, it holds whole: each listed story also has its page.
    for item in listed.body["items"].as_array().unwrap() {
        let page = restored
            .get(
                &format!("/api/v1/articles/en/{}", item["slug"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
    }
}
