//! Load shedding: when database work has waited too long, new uncached reads get 503 with
//! `Retry-After` at once, while cached answers go on being served.

use std::time::Duration;

use newsdesk::auth::Role;

use crate::common::TestApp;

#[actix_web::test]
async fn a_slow_database_sheds_uncached_reads_and_keeps_serving_cached_ones() {
    let app = TestApp::with(|c| {
        c.database_pool_size = 1;
        c.database_max_wait_ms = 50;
    })
    .await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let first = app.publish_story(&editor, "en", "Cached page", &[]).await;
    let second = app.publish_story(&editor, "en", "Uncached page", &[]).await;
    let cached_path = format!(
        "/api/v1/articles/en/{}",
        app.slug_of(&editor, first, "en").await
    );
    let uncached_path = format!(
        "/api/v1/articles/en/{}",
        app.slug_of(&editor, second, "en").await
    );
    assert_eq!(app.get(&cached_path, None).await.status, 200);

    // The only database thread is busy, and work queues behind it.
    let slow = |db: newsdesk::db::Database| async move {
        db.run(|_| {
            std::thread::sleep(Duration::from_millis(600));
            Ok(())
        })
        .await
    };
    let busy = actix_web::rt::spawn(slow(app.state.db.clone()));
    let queued = actix_web::rt::spawn(slow(app.state.db.clone()));
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;

    let shed = app.get(&uncached_path, None).await;
    assert_eq!(shed.status, 503, "{}", shed.body);
    assert!(shed.header("retry-after").is_some());
    let served = app.get(&cached_path, None).await;
    assert_eq!(served.status, 200, "cached answers need no database");

    busy.await.unwrap().unwrap();
    queued.await.unwrap().unwrap();
    let later = app.get(&uncached_path, None).await;
    assert_eq!(later.status, 200, "{}", later.body);
}
