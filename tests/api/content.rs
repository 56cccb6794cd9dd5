//! The Content API: published stories only, lists and cursors, article pages with redirects,
//! fallback and includes, search in every script, most read, HTTP caching, and freshness
//! across nodes.

use std::time::{Duration, Instant};

use actix_web::http::Method;
use actix_web::test::TestRequest;
use newsdesk::auth::Role;
use serde_json::{json, Value};

use crate::common::{texts, Reply, TestApp};

fn titles(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {body}"))
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect()
}

fn get(path: &str) -> TestRequest {
    TestRequest::get()
        .uri(path)
        .insert_header(("user-agent", "Mozilla/5.0 (test reader)"))
}

#[actix_web::test]
async fn nothing_unpublished_is_ever_visible() {
    let (app, editor) = TestApp::newsroom().await;
    let public = app
        .publish_story(&editor, "en", "Public secretword story", &["georgia"])
        .await;
    let public_slug = app.slug_of(&editor, public, "en").await;
    // One story in every other state, all sharing the tag and the search word.
    let draft = app
        .create_story(&editor, "en", "Draft secretword", &["georgia"])
        .await;
    let review = app
        .create_story(&editor, "en", "Review secretword", &["georgia"])
        .await;
    app.transition(&editor, review, "en", json!({"status": "in_review"}))
        .await;
    let scheduled = app
        .create_story(&editor, "en", "Scheduled secretword", &["georgia"])
        .await;
    app.transition(
        &editor,
        scheduled,
        "en",
        json!({"status": "scheduled", "scheduled_at": "2999-01-01T00:00:00Z"}),
    )
    .await;
    let archived = app
        .publish_story(&editor, "en", "Archived secretword", &["georgia"])
        .await;
    app.transition(&editor, archived, "en", json!({"status": "archived"}))
        .await;
    let unpublished = app
        .publish_story(&editor, "en", "Unpublished secretword", &["georgia"])
        .await;
    app.transition(&editor, unpublished, "en", json!({"status": "draft"}))
        .await;
    let hidden = [draft, review, scheduled, archived, unpublished];

    let only_public = vec!["Public secretword story".to_owned()];
    for path in [
        "/api/v1/articles?lang=en",
        "/api/v1/articles?lang=en&tag=georgia",
        "/api/v1/articles?lang=en&q=secretword",
        "/api/v1/articles?lang=en&type=news&sort=published_at",
        "/api/v1/tags/georgia/articles?lang=en",
    ] {
        let reply = app.call(get(path)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(titles(&reply.body), only_public, "{path}");
    }
    let tag = app.call(get("/api/v1/tags/georgia?lang=en")).await;
    assert_eq!(tag.body["article_count"], 1);
    for id in hidden {
        let slug = app.slug_of(&editor, id, "en").await;
        for path in [
            format!("/api/v1/articles/en/{slug}"),
            format!("/api/v1/articles/en/{slug}?fallback=true"),
            format!("/api/v1/articles/en/{slug}/entries"),
            format!("/api/v1/articles/ru/{slug}"),
        ] {
            app.call(get(&path)).await.problem(404);
        }
        let view = app
            .send(
                Method::POST,
                &format!("/api/v1/articles/en/{slug}/views"),
                None,
                None,
            )
            .await;
        view.problem(404);
    }
    let page = app
        .call(get(&format!(
            "/api/v1/articles/en/{public_slug}?include=related,most_read"
        )))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.body["related"],
        json!([]),
        "only published stories are related"
    );
    let most = app
        .call(get("/api/v1/articles/most-read?lang=en&period=30d"))
        .await;
    for item in most.body["items"].as_array().unwrap() {
        assert_eq!(item["id"], public);
    }
}

#[actix_web::test]
async fn lists_filter_and_page_with_cursors_that_survive_new_publications() {
    let (app, editor) = TestApp::newsroom().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let tags: &[&str] = if i % 2 == 0 {
            &["georgia"]
        } else {
            &["armenia"]
        };
        ids.push(
            app.publish_story(&editor, "en", &format!("Story {i}"), tags)
                .await,
        );
    }
    let featured = app
        .story_write(
            Method::PATCH,
            &editor,
            ids[4],
            Some(json!({"featured": true})),
        )
        .await;
    assert_eq!(featured.status, 200, "{}", featured.body);
    let page1 = app.call(get("/api/v1/articles?lang=en&limit=2")).await;
    assert_eq!(titles(&page1.body), vec!["Story 4", "Story 3"]);
    let cursor = page1.body["next_cursor"].as_str().unwrap().to_owned();
    // New stories appear meanwhile; the next page carries on where the first ended.
    app.publish_story(&editor, "en", "Breaking", &[]).await;
    app.publish_story(&editor, "en", "Breaking again", &[])
        .await;
    let page2 = app
        .call(get(&format!(
            "/api/v1/articles?lang=en&limit=2&cursor={cursor}"
        )))
        .await;
    assert_eq!(titles(&page2.body), vec!["Story 2", "Story 1"]);
    let cursor = page2.body["next_cursor"].as_str().unwrap().to_owned();
    let page3 = app
        .call(get(&format!(
            "/api/v1/articles?lang=en&limit=2&cursor={cursor}"
        )))
        .await;
    assert_eq!(titles(&page3.body), vec!["Story 0"]);
    assert!(page3.body["next_cursor"].is_null());

    let check = |q: &'static str, expected: Vec<&'static str>| {
        let app = &app;
        async move {
            let reply = app
                .call(get(&format!("/api/v1/articles?lang=en&{q}")))
                .await;
            assert_eq!(reply.status, 200, "{q}: {}", reply.body);
            assert_eq!(titles(&reply.body), expected, "{q}");
        }
    };
    check("tag=armenia", vec!["Story 3", "Story 1"]).await;
    check("tag=nope", vec![]).await;
    check("featured=true", vec!["Story 4"]).await;
    check("type=opinion", vec![]).await;
    check("sort=published_at&limit=2", vec!["Story 0", "Story 1"]).await;
    check("published_after=2999-01-01T00:00:00Z", vec![]).await;
    check("published_before=2000-01-01T00:00:00Z", vec![]).await;

    let item = &page1.body["items"][0];
    assert_eq!(item["primary_tag"]["slug"], "georgia");
    assert_eq!(item["tags"][0]["name"], "Georgia");
    assert_eq!(
        item["url"],
        format!(
            "http://localhost:3000/en/{}",
            item["slug"].as_str().unwrap()
        )
    );
    assert_eq!(item["translations"][0]["lang"], "en");
    assert!(item.get("body").is_none(), "lists carry no bodies");

    for bad in [
        "lang=en&sort=title",
        "lang=en&limit=0",
        "lang=en&limit=101",
        "lang=en&cursor=bogus",
        "lang=en&sort=relevance",
        "lang=en&type=gossip",
        "lang=en&colour=red",
        "",
    ] {
        let reply = app.call(get(&format!("/api/v1/articles?{bad}"))).await;
        reply.problem(400);
    }
    let wrong_sort = app
        .call(get(&format!(
            "/api/v1/articles?lang=en&sort=published_at&cursor={cursor}"
        )))
        .await;
    assert_eq!(wrong_sort.problem(400)["errors"][0]["field"], "cursor");
    app.call(get("/api/v1/articles?lang=xx")).await.problem(404);
    app.call(get("/api/v1/tags/nope/articles?lang=en"))
        .await
        .problem(404);
}

#[actix_web::test]
async fn article_pages_redirect_old_slugs_fall_back_and_list_where_a_story_is() {
    let (app, editor) = TestApp::newsroom().await;
    let id = app
        .publish_story(&editor, "en", "Border talks resume", &["georgia-russia"])
        .await;
    let ru = app
        .post(
            &format!("/api/v1/admin/articles/{id}/translations/ru"),
            &editor,
            json!({"title": "Переговоры на границе", "body": "<p>Текст</p>", "translated_from": "en"}),
        )
        .await;
    assert_eq!(ru.status, 201);
    app.transition(&editor, id, "ru", json!({"status": "published"}))
        .await;

    let page = app
        .call(get("/api/v1/articles/en/border-talks-resume"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["served_lang"], "en");
    assert_eq!(
        page.body["body"],
        "<p>Border talks resume. A first paragraph.</p>"
    );
    assert_eq!(page.header("content-language"), Some("en"));
    let switcher = |body: &Value| -> Vec<String> {
        body["translations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["lang"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(switcher(&page.body), vec!["en", "ru"], "switcher order");
    let keys = page.header("surrogate-key").unwrap();
    assert!(
        keys.contains(&format!("article-{id}")) && keys.contains("tag-georgia-russia"),
        "{keys}"
    );
    assert_eq!(page.header("cache-tag").unwrap(), keys.replace(' ', ","));

    // Switcher order follows the languages' positions; a disabled language leaves it.
    let admin = app.token_for(Role::Admin).await;
    let article = "/api/v1/articles/en/border-talks-resume";
    set_language(&app, &admin, "en", json!({"position": 9})).await;
    assert_eq!(
        switcher(&app.get(article, None).await.body),
        vec!["ru", "en"]
    );
    let listed = app.get("/api/v1/articles?lang=en", None).await;
    assert_eq!(switcher(&listed.body["items"][0]), vec!["ru", "en"]);
    set_language(&app, &admin, "ru", json!({"enabled": false})).await;
    assert_eq!(switcher(&app.get(article, None).await.body), vec!["en"]);
    set_language(&app, &admin, "ru", json!({"enabled": true})).await;
    set_language(&app, &admin, "en", json!({"position": 0})).await;

    // Rename: the old slug answers 301 to the new one.
    let (_, etag) = app.translation(&editor, id, "en").await;
    app.send_if_match(
        Method::PATCH,
        &format!("/api/v1/admin/articles/{id}/translations/en"),
        &editor,
        &etag,
        Some(json!({"slug": "border-talks-resume-in-geneva"})),
    )
    .await;
    let moved = app
        .call(get(
            "/api/v1/articles/en/border-talks-resume?include=related",
        ))
        .await;
    assert_eq!(moved.status, 301);
    assert_eq!(
        moved.header("location"),
        Some("/api/v1/articles/en/border-talks-resume-in-geneva?include=related")
    );
    // The English slug asked for in Russian leads to the Russian slug.
    let other = app
        .call(get("/api/v1/articles/ru/border-talks-resume-in-geneva"))
        .await;
    assert_eq!(other.status, 301);
    assert_eq!(
        other.header("location"),
        Some("/api/v1/articles/ru/peregovory-na-granitse")
    );
    // Not in Georgian: 404 saying where it is, or the fallback chain's (ka → ru) translation.
    let missing = app
        .call(get("/api/v1/articles/ka/border-talks-resume-in-geneva"))
        .await;
    let available = texts(&missing.problem(404)["available"], "lang");
    assert_eq!(available, vec!["en", "ru"]);
    let fallback = app
        .call(get(
            "/api/v1/articles/ka/border-talks-resume-in-geneva?fallback=true",
        ))
        .await;
    assert_eq!(fallback.status, 200);
    assert_eq!(fallback.body["requested_lang"], "ka");
    assert_eq!(fallback.body["served_lang"], "ru");
    assert_eq!(fallback.body["title"], "Переговоры на границе");
    assert_eq!(fallback.header("content-language"), Some("ru"));
    app.call(get("/api/v1/articles/en/never-was"))
        .await
        .problem(404);
    app.call(get("/api/v1/articles/xx/border-talks-resume-in-geneva"))
        .await
        .problem(404);
    app.call(get(
        "/api/v1/articles/en/border-talks-resume-in-geneva?include=everything",
    ))
    .await
    .problem(400);
}

#[actix_web::test]
async fn responses_are_cacheable_and_conditional() {
    let (app, editor) = TestApp::newsroom().await;
    let id = app
        .publish_story(&editor, "en", "Cache me", &["georgia"])
        .await;
    let path = "/api/v1/articles/en/cache-me";
    let first = app.call(get(path)).await;
    let etag = first.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"'), "strong: {etag}");
    assert_eq!(
        first.header("cache-control"),
        Some("public, max-age=60, stale-while-revalidate=30")
    );
    let last_modified = first.header("last-modified").unwrap().to_owned();
    let again = app
        .call(get(path).insert_header(("if-none-match", etag.clone())))
        .await;
    assert_eq!(again.status, 304);
    assert_eq!(again.body, Value::Null);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let since = app
        .call(get(path).insert_header(("if-modified-since", last_modified.clone())))
        .await;
    assert_eq!(since.status, 304);
    // A change through this node shows at once, with a new validator.
    let (_, tag) = app.translation(&editor, id, "en").await;
    app.send_if_match(
        Method::PATCH,
        &format!("/api/v1/admin/articles/{id}/translations/en"),
        &editor,
        &tag,
        Some(json!({"subtitle": "Now with a lead"})),
    )
    .await;
    let changed = app
        .call(get(path).insert_header(("if-none-match", etag.clone())))
        .await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body["subtitle"], "Now with a lead");
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    let list = app.call(get("/api/v1/articles?lang=en")).await;
    let list_etag = list.header("etag").unwrap().to_owned();
    let list_again = app
        .call(get("/api/v1/articles?lang=en").insert_header(("if-none-match", list_etag)))
        .await;
    assert_eq!(list_again.status, 304);
}

#[actix_web::test]
async fn on_postgres_a_change_reaches_the_other_nodes_as_it_commits() {
    if std::env::var("TEST_DATABASE_URL").map_or(true, |u| u.is_empty()) {
        eprintln!("skipped: SQLite's nodes share one file and poll it");
        return;
    }
    // The version poll every 30 s: only the notification can be this quick.
    let app = TestApp::with(|c| c.content_freshness_ms = 60_000).await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    app.publish_story(&editor, "en", "Before", &[]).await;
    let other = app.second_node();
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let before = other.call(get("/api/v1/articles?lang=en")).await;
    assert_eq!(titles(&before.body), vec!["Before"]);
    let mut slowest = Duration::ZERO;
    for title in ["After", "Later"] {
        app.publish_story(&editor, "en", title, &[]).await;
        let committed = std::time::Instant::now();
        loop {
            let now = other.call(get("/api/v1/articles?lang=en")).await;
            if titles(&now.body).first().map(String::as_str) == Some(title) {
                break;
            }
            assert!(
                committed.elapsed() < Duration::from_secs(2),
                "the other node still serves {:?}",
                titles(&now.body)
            );
            actix_web::rt::time::sleep(Duration::from_millis(2)).await;
        }
        slowest = slowest.max(committed.elapsed());
    }
    eprintln!("a change reached the other node in at most {slowest:?}");
}

#[actix_web::test]
async fn a_change_through_one_node_shows_through_another_within_the_freshness_bound() {
    let (app, editor) = TestApp::newsroom().await;
    app.publish_story(&editor, "en", "Before", &[]).await;
    let other = app.second_node();
    // Let the second node read the content version once, then warm its cache.
    actix_web::rt::time::sleep(Duration::from_millis(600)).await;
    let before = other.call(get("/api/v1/articles?lang=en")).await;
    assert_eq!(titles(&before.body), vec!["Before"]);
    let cached = other.call(get("/api/v1/articles?lang=en")).await;
    assert_eq!(cached.header("etag"), before.header("etag"));

    app.publish_story(&editor, "en", "After", &[]).await;
    let bound = Duration::from_millis(app.state.config.content_freshness_ms);
    until_within(bound, &other, "/api/v1/articles?lang=en", |now| {
        titles(&now.body) == vec!["After", "Before"]
    })
    .await;

    // The enabled languages, which each node reads once per generation, follow too: a
    // language disabled through one node is unknown to the other within the bound.
    let tags_in_az = "/api/v1/tags?lang=az";
    assert_eq!(other.call(get(tags_in_az)).await.status, 200);
    let admin = app.token_for(Role::Admin).await;
    set_language(&app, &admin, "az", json!({"enabled": false})).await;
    assert_eq!(
        app.call(get(tags_in_az)).await.status,
        404,
        "at once on this node"
    );
    until_within(bound, &other, tags_in_az, |now| {
        now.status == 404 && now.body["status"] == 404
    })
    .await;
}

#[actix_web::test]
async fn a_change_forgets_only_the_cached_answers_it_touched_on_every_node() {
    let (app, editor) = TestApp::newsroom().await;
    let edited = app
        .publish_story(&editor, "en", "Edited all day", &[])
        .await;
    let quiet = app.publish_story(&editor, "en", "Left alone", &[]).await;
    let (edited_slug, quiet_slug) = (
        app.slug_of(&editor, edited, "en").await,
        app.slug_of(&editor, quiet, "en").await,
    );
    let (edited_page, quiet_page) = (
        format!("/api/v1/articles/en/{edited_slug}"),
        format!("/api/v1/articles/en/{quiet_slug}"),
    );
    let other = app.second_node();
    actix_web::rt::time::sleep(Duration::from_millis(600)).await;
    for node in [&app, &other] {
        for page in [
            &edited_page,
            &quiet_page,
            &"/api/v1/articles?lang=en".to_owned(),
        ] {
            assert_eq!(node.call(get(page)).await.status, 200);
        }
    }

    // A draft of a new story changes nothing readers see: nothing is forgotten.
    app.create_story(&editor, "en", "A draft", &[]).await;
    let hits = |node: &TestApp| node.state.cache.counts().0;
    let before = hits(&app);
    assert_eq!(app.call(get(&quiet_page)).await.status, 200);
    assert_eq!(
        hits(&app),
        before + 1,
        "the other story's page is still cached"
    );

    // Editing one published story: its page and the lists go, the other story's page stays.
    let (_, etag) = app.translation(&editor, edited, "en").await;
    let saved = app
        .send_if_match(
            Method::PATCH,
            &format!("/api/v1/admin/articles/{edited}/translations/en"),
            &editor,
            &etag,
            Some(json!({"title": "Edited again"})),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let bound = Duration::from_millis(app.state.config.content_freshness_ms);
    for node in [&app, &other] {
        until_within(bound, node, &edited_page, |now| {
            now.body["title"] == "Edited again"
        })
        .await;
        until_within(bound, node, "/api/v1/articles?lang=en", |now| {
            titles(&now.body).contains(&"Edited again".to_owned())
        })
        .await;
        let before = hits(node);
        let page = node.call(get(&quiet_page)).await;
        assert_eq!(page.body["title"], "Left alone");
        assert_eq!(
            hits(node),
            before + 1,
            "kept through the change on every node"
        );
    }
}

/// Changes the language `code` as `admin`, which must succeed.
async fn set_language(app: &TestApp, admin: &str, code: &str, change: Value) {
    let reply = app
        .patch(&format!("/api/v1/admin/languages/{code}"), admin, change)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Asks `node` for `path` until its answer is `done`, failing once that has taken longer than
/// `bound` (and a little more for the requests themselves).
async fn until_within(bound: Duration, node: &TestApp, path: &str, done: impl Fn(&Reply) -> bool) {
    let changed = Instant::now();
    loop {
        let now = node.call(get(path)).await;
        if done(&now) {
            return;
        }
        assert!(
            changed.elapsed() <= bound + Duration::from_millis(250),
            "{path} still stale after {:?}: {}",
            changed.elapsed(),
            now.body
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn search_ranks_and_highlights_in_georgian_armenian_and_russian() {
    let (app, editor) = TestApp::newsroom().await;
    let docs = [
        (
            "ka",
            "თბილისის მერია",
            "<p>მერიამ ახალი ავტობუსები იყიდა თბილისისთვის.</p>",
        ),
        (
            "ka",
            "ამინდი",
            "<p>ხვალ თბილისის მერია გეგმას წარადგენს.</p>",
        ),
        (
            "hy",
            "Երևանի մետրո",
            "<p>Նոր կայարանը բացվեց շաբաթ օրը։</p>",
        ),
        (
            "ru",
            "Переговоры в Женеве",
            "<p>Делегации продолжили переговоры.</p>",
        ),
        ("ru", "Погода", "<p>Дожди в Тбилиси.</p>"),
    ];
    publish_texts(&app, &editor, &docs).await;
    let search = |lang: &'static str, q: &'static str| search_in(&app, lang, q);
    let ka = search("ka", "თბილისის მერია").await;
    assert_eq!(
        titles(&ka),
        vec!["თბილისის მერია", "ამინდი"],
        "a title match ranks first"
    );
    assert!(ka["items"][1]["snippet"]
        .as_str()
        .unwrap()
        .contains("<mark>თბილისის</mark>"));
    let hy = search("hy", "կայարանը").await;
    assert_eq!(titles(&hy), vec!["Երևանի մետրո"]);
    assert!(hy["items"][0]["snippet"]
        .as_str()
        .unwrap()
        .contains("<mark>կայարանը</mark>"));
    let ru = search("ru", "ПЕРЕГОВОРЫ").await;
    assert_eq!(titles(&ru), vec!["Переговоры в Женеве"]);
    let prefix = search("ru", "делегаци").await;
    assert_eq!(
        titles(&prefix),
        vec!["Переговоры в Женеве"],
        "the last word matches as a prefix"
    );
    let other_language = search("en", "Тбилиси").await;
    assert_eq!(titles(&other_language), Vec::<String>::new());
    let operators = search("ru", "\"Погода\" OR NOT * -(").await;
    assert_eq!(
        titles(&operators),
        Vec::<String>::new(),
        "operators are plain words"
    );
    let by_date = search("ka", "თბილისის").await;
    assert_eq!(by_date["items"].as_array().unwrap().len(), 2);
    // Words the index's tokenizer would cut in two (a letter inside a circle) or that carry
    // combining vowel signs are searched like any other and find nothing here.
    for odd in ["bⒶc", "Ⓐ", "हिन्दी समाचार", "e\u{301}e\u{301}e\u{301}"]
    {
        assert_eq!(
            titles(&search("ru", odd).await),
            Vec::<String>::new(),
            "{odd}"
        );
    }
}

/// The words as typed rank before matches of the last word as a prefix, and pages run on
/// from one into the other.
#[actix_web::test]
async fn search_ranks_words_as_typed_before_prefixes_and_pages_through_both() {
    let (app, editor) = TestApp::newsroom().await;
    for title in [
        "Parliament votes on the budget",
        "Budget talks in parliament",
        "Weather",
        "Parliamentary recess begins",
    ] {
        app.publish_story(&editor, "en", title, &[]).await;
    }
    let all = app.get("/api/v1/articles?lang=en&q=parliament", None).await;
    assert_eq!(
        titles(&all.body),
        vec![
            "Budget talks in parliament",
            "Parliament votes on the budget",
            "Parliamentary recess begins"
        ],
        "words as typed first, newest first; then the newer prefix match"
    );
    let mut paged = Vec::new();
    let mut path = "/api/v1/articles?lang=en&q=parliament&limit=1".to_owned();
    loop {
        let page = app.get(&path, None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        paged.extend(titles(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/v1/articles?lang=en&q=parliament&limit=1&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(paged, titles(&all.body), "pages of one give the same order");
    let typed = app
        .get("/api/v1/articles?lang=en&q=parliamentar", None)
        .await;
    assert_eq!(titles(&typed.body), vec!["Parliamentary recess begins"]);
}

/// The last word completes to every word of the index that begins with it, whichever way the
/// search reaches them: through the index's vocabulary, or through FTS5's own prefix where the
/// vocabulary cannot answer (a letter the tokenizer folds, or more words than a query names).
#[actix_web::test]
async fn search_completes_the_last_word_with_diacritics_and_many_completions() {
    let (app, editor) = TestApp::newsroom().await;
    let many: Vec<String> = (0..70).map(|i| format!("zeta{i:02}x")).collect();
    let census = format!("<p>Counted {}.</p>", many.join(" "));
    let docs = [
        ("az", "Görüş keçirildi", "<p>Nazirlər görüşdü.</p>"),
        ("en", "Census", census.as_str()),
        ("en", "Zeta", "<p>The zeta function.</p>"),
    ];
    publish_texts(&app, &editor, &docs).await;
    let search = |lang: &'static str, q: &'static str| {
        let app = &app;
        async move { titles(&search_in(app, lang, q).await) }
    };
    assert_eq!(search("az", "görü").await, vec!["Görüş keçirildi"]);
    if app.state.db.backend() == newsdesk::db::Backend::Sqlite {
        // SQLite's tokenizer strips diacritics (its index keeps `gorus`), so a word typed
        // without them completes too; PostgreSQL's `simple` configuration keeps them.
        assert_eq!(search("az", "goru").await, vec!["Görüş keçirildi"]);
    }
    assert_eq!(
        search("az", "nazirlər görüşd").await,
        vec!["Görüş keçirildi"]
    );
    // One completion, and more than a query names.
    assert_eq!(search("en", "counted zeta05").await, vec!["Census"]);
    assert_eq!(search("en", "counted zeta").await, vec!["Census"]);
    assert_eq!(
        search("en", "zeta").await,
        vec!["Zeta", "Census"],
        "the word as typed first, then its completions"
    );
    assert_eq!(search("en", "zetb").await, Vec::<String>::new());
}

/// A search result shows its story exactly as a list does, after every kind of change to the
/// story, its translations, its tags, its people and the languages (search reads item cards,
/// lists read the tables); and without cards, until they are written, it still does.
#[actix_web::test]
async fn search_results_follow_every_change_to_their_stories() {
    let (app, editor) = TestApp::newsroom().await;
    let admin = app.token_for(Role::Admin).await;
    let id = app
        .publish_story(
            &editor,
            "en",
            "Border talks resume",
            &["georgia", "georgia-russia"],
        )
        .await;
    // The search result, without its snippet, and the same story in the newest-first list.
    let both = || {
        let app = &app;
        async move {
            let found = app.get("/api/v1/articles?lang=en&q=border", None).await;
            assert_eq!(found.status, 200, "{}", found.body);
            let mut hit = found.body["items"][0].clone();
            assert!(
                hit.as_object_mut().unwrap().remove("snippet").is_some(),
                "{hit}"
            );
            let listed = app.get("/api/v1/articles?lang=en", None).await;
            let item = listed.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["id"] == id)
                .cloned()
                .unwrap();
            assert_eq!(hit, item, "search and list show the story alike");
            hit
        }
    };
    let names = |item: &Value, field: &str| -> Vec<String> {
        item[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                t["name"]
                    .as_str()
                    .or(t["display_name"].as_str())
                    .or(t["lang"].as_str())
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let hit = both().await;
    assert_eq!(names(&hit, "tags"), vec!["Georgia", "Georgia–Russia"]);
    assert_eq!(hit["primary_tag"]["slug"], "georgia");

    // A sibling published: the switcher has it.
    app.post(
        &format!("/api/v1/admin/articles/{id}/translations/ru"),
        &editor,
        json!({"title": "Переговоры на границе", "body": "<p>Текст</p>", "translated_from": "en"}),
    )
    .await;
    app.transition(&editor, id, "ru", json!({"status": "published"}))
        .await;
    assert_eq!(names(&both().await, "translations"), vec!["en", "ru"]);

    // Story fields: tags and their order, the primary tag, bylines, image, type, featured.
    let author = app.create_user("nino@newsroom.example", Role::Author);
    let patched = app
        .story_write(
            Method::PATCH,
            &editor,
            id,
            Some(json!({
                "tags": ["armenia", "georgia-russia"], "primary_tag": "georgia-russia",
                "bylines": [author], "featured": true, "type": "analysis",
                "image": {"url": "https://media.newsroom.example/border.jpg", "alt": "The border"},
            })),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let hit = both().await;
    assert_eq!(names(&hit, "tags"), vec!["Georgia–Russia", "Armenia"]);
    assert_eq!(hit["featured"], true);
    assert_eq!(hit["type"], "analysis");
    assert_eq!(hit["image"]["alt"], "The border");
    assert_eq!(names(&hit, "bylines").len(), 1);

    // Names owned elsewhere: a tag renamed, a person renamed, a language disabled.
    let armenia = app.get("/api/v1/tags/armenia?lang=en", None).await;
    assert_eq!(armenia.status, 200, "{}", armenia.body);
    let tags = app.get("/api/v1/admin/tags?limit=100", Some(&editor)).await;
    let tag_id = |slug: &str| {
        tags.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["slug"] == slug)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let renamed = app
        .patch(
            &format!("/api/v1/admin/tags/{}", tag_id("armenia")),
            &editor,
            json!({"names": {"en": {"name": "Republic of Armenia"}}}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let person = app
        .send(
            Method::PATCH,
            &format!("/api/v1/admin/users/{author}"),
            Some(&admin),
            Some(json!({"display_name": "Nino Beridze"})),
        )
        .await;
    assert_eq!(person.status, 200, "{}", person.body);
    set_language(&app, &admin, "ru", json!({"enabled": false})).await;
    let hit = both().await;
    assert_eq!(
        names(&hit, "tags"),
        vec!["Georgia–Russia", "Republic of Armenia"]
    );
    assert_eq!(names(&hit, "bylines"), vec!["Nino Beridze"]);
    assert_eq!(names(&hit, "translations"), vec!["en"]);

    // The primary tag deleted: the next tag leads, as in the database.
    let deleted = app
        .send(
            Method::DELETE,
            &format!(
                "/api/v1/admin/tags/{}?detach=true",
                tag_id("georgia-russia")
            ),
            Some(&editor),
            None,
        )
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    let hit = both().await;
    assert_eq!(names(&hit, "tags"), vec!["Republic of Armenia"]);
    assert_eq!(hit["primary_tag"]["slug"], "armenia");

    // The translation edited, with text that JSON escapes (the card holds it escaped).
    let (_, etag) = app.translation(&editor, id, "en").await;
    let edited = app
        .send_if_match(
            Method::PATCH,
            &format!("/api/v1/admin/articles/{id}/translations/en"),
            &editor,
            &etag,
            Some(json!({
                "title": "Border talks resume in \"Geneva\"",
                "excerpt": "Delegates met \\ at last.",
            })),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    let hit = both().await;
    assert_eq!(hit["title"], "Border talks resume in \"Geneva\"");
    assert_eq!(hit["excerpt"], "Delegates met \\ at last.");

    // Without cards (an archive from before them), the same; then they are written once.
    app.execute("DELETE FROM item_cards; UPDATE item_cards_backfill SET after = 0, done = FALSE");
    assert_eq!(both().await, hit);
    assert_eq!(
        newsdesk::articles::projections::cards::backfill(&app.state.db).unwrap(),
        1
    );
    assert_eq!(
        newsdesk::articles::projections::cards::backfill(&app.state.db).unwrap(),
        0
    );
    assert_eq!(both().await, hit);

    // Unpublished: gone from search.
    app.transition(&editor, id, "en", json!({"status": "draft"}))
        .await;
    let found = app.get("/api/v1/articles?lang=en&q=border", None).await;
    assert_eq!(titles(&found.body), Vec::<String>::new());
}

/// Publishes one story per (language, title, body HTML).
async fn publish_texts(app: &TestApp, editor: &str, docs: &[(&str, &str, &str)]) {
    for (lang, title, body) in docs {
        let created = app
            .post(
                "/api/v1/admin/articles",
                editor,
                json!({"type": "news", "translation": {"lang": lang, "title": title, "body": body}}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_i64().unwrap();
        app.transition(editor, id, lang, json!({"status": "published"}))
            .await;
    }
}

/// A search's answer, which must be a 200.
async fn search_in(app: &TestApp, lang: &str, q: &str) -> Value {
    let req = TestRequest::get()
        .uri(&format!("/api/v1/articles?lang={lang}&q={}", url_escape(q)))
        .insert_header(("user-agent", "test"));
    let reply = app.call(req).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[actix_web::test]
async fn views_are_counted_without_robots_and_feed_most_read() {
    let (app, editor) = TestApp::newsroom().await;
    let popular = app
        .publish_story(&editor, "en", "Popular", &["georgia"])
        .await;
    let quiet = app
        .publish_story(&editor, "en", "Quiet", &["georgia"])
        .await;
    let _ = quiet;
    let beacon = |slug: &'static str, ua: Option<&'static str>, reader: u8| {
        let app = &app;
        async move {
            let mut req = TestRequest::post()
                .uri(&format!("/api/v1/articles/en/{slug}/views"))
                .peer_addr(format!("10.0.1.{reader}:1000").parse().unwrap());
            if let Some(ua) = ua {
                req = req.insert_header(("user-agent", ua));
            }
            app.call(req).await
        }
    };
    let browser = Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0");
    let replies =
        futures_util::future::join_all((0..40).map(|r| beacon("popular", browser, r))).await;
    assert!(replies.iter().all(|r| r.status == 202));
    for r in 0..3 {
        beacon("quiet", browser, r).await;
    }
    assert_eq!(
        beacon("popular", Some("Googlebot/2.1"), 99).await.status,
        202
    );
    assert_eq!(beacon("popular", None, 98).await.status, 202);
    beacon("no-such-story", browser, 1).await.problem(404);
    let written = app.state.views.flush(&app.state.db).await.unwrap();
    assert_eq!(written, 43, "every reader's view, no robot's");

    let most = app
        .call(get("/api/v1/articles/most-read?lang=en&period=1d"))
        .await;
    assert_eq!(most.status, 200, "{}", most.body);
    assert_eq!(titles(&most.body), vec!["Popular", "Quiet"]);
    assert_eq!(most.body["items"][0]["views"], 40);
    assert_eq!(most.body["items"][0]["id"], popular);
    let page = app
        .call(get("/api/v1/articles/en/quiet?include=most_read,related"))
        .await;
    assert_eq!(page.body["most_read"][0]["title"], "Popular");
    assert_eq!(
        titles(&json!({"items": page.body["related"]})),
        vec!["Popular"]
    );
    app.call(get("/api/v1/articles/most-read?lang=en&period=2d"))
        .await
        .problem(400);
    app.call(get("/api/v1/articles/most-read?lang=en&limit=0"))
        .await
        .problem(400);
}

/// One reader cannot move "Most read": a reader (address and User-Agent) counts once per
/// story in the window, and an address may send only so many beacons a minute.
#[actix_web::test]
async fn a_reader_counts_once_per_story_and_an_address_is_bounded() {
    let app = TestApp::with(|c| c.view_beacons_per_minute = 60).await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    app.publish_story(&editor, "en", "Second", &[]).await;
    app.publish_story(&editor, "en", "First", &[]).await;
    let beacon = |slug: &'static str, addr: &'static str, ua: &'static str| {
        let app = &app;
        async move {
            let req = TestRequest::post()
                .uri(&format!("/api/v1/articles/en/{slug}/views"))
                .peer_addr(addr.parse().unwrap())
                .insert_header(("user-agent", ua));
            app.call(req).await
        }
    };
    let firefox = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0";
    let chrome = "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0";
    // The budget is per clock minute: start well inside one, so that all hundred fall in it.
    let second = chrono::Utc::now().timestamp().rem_euclid(60);
    if second > 45 {
        actix_web::rt::time::sleep(Duration::from_secs((61 - second) as u64)).await;
    }
    for addr in ["10.0.2.1:1", "10.0.2.2:1", "10.0.2.3:1"] {
        assert_eq!(beacon("first", addr, firefox).await.status, 202);
    }
    // Another browser on the same address is another reader.
    assert_eq!(beacon("second", "10.0.2.9:1", chrome).await.status, 202);
    // One client sends a hundred: the first counts, the rest are answered and not counted,
    // and past the address's budget they are refused.
    let mut statuses = Vec::new();
    for _ in 0..100 {
        statuses.push(
            beacon("second", "10.0.2.9:1", firefox)
                .await
                .status
                .as_u16(),
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        59,
        "{statuses:?}"
    );
    assert!(statuses[59..].iter().all(|s| *s == 429));
    app.state.views.flush(&app.state.db).await.unwrap();
    let most = app
        .call(get("/api/v1/articles/most-read?lang=en&period=1d"))
        .await;
    assert_eq!(titles(&most.body), vec!["First", "Second"]);
    assert_eq!(most.body["items"][0]["views"], 3);
    assert_eq!(most.body["items"][1]["views"], 2);
    let repeated = app
        .state
        .views
        .repeated
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(repeated, 58);
}

#[actix_web::test]
async fn live_entries_are_served_newest_first_and_after_a_cursor() {
    let (app, editor) = TestApp::newsroom().await;
    let live = app
        .post(
            "/api/v1/admin/articles",
            &editor,
            json!({"type": "live", "translation": {"lang": "en", "title": "Live night"}}),
        )
        .await;
    let id = live.body["id"].as_i64().unwrap();
    app.transition(&editor, id, "en", json!({"status": "published"}))
        .await;
    let entries = format!("/api/v1/admin/articles/{id}/translations/en/entries");
    for text in ["first", "second"] {
        app.post(&entries, &editor, json!({"body": format!("<p>{text}</p>")}))
            .await;
    }
    let public = app
        .call(get("/api/v1/articles/en/live-night/entries"))
        .await;
    assert_eq!(public.status, 200, "{}", public.body);
    let bodies = texts(&public.body["items"], "body");
    assert_eq!(bodies, vec!["<p>second</p>", "<p>first</p>"]);
    let cursor = public.body["cursor"].as_str().unwrap().to_owned();
    app.post(&entries, &editor, json!({"body": "<p>third</p>"}))
        .await;
    let newer = app
        .call(get(&format!(
            "/api/v1/articles/en/live-night/entries?since={cursor}"
        )))
        .await;
    assert_eq!(newer.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(newer.body["items"][0]["body"], "<p>third</p>");
    let page = app
        .call(get("/api/v1/articles/en/live-night?include=live_entries"))
        .await;
    assert_eq!(page.body["live_entries"].as_array().unwrap().len(), 3);
    app.call(get("/api/v1/articles/en/live-night/entries?since=zzz"))
        .await
        .problem(400);
}

/// Answers are compressed, brotli or gzip as the client prefers, once, when they are cached: the
/// same content, each form its own ETag, `Vary: Accept-Encoding`, and 304 for any form's tag.
#[actix_web::test]
async fn cached_answers_are_sent_compressed_to_clients_that_accept_it() {
    use std::io::Read;
    let (app, editor) = TestApp::newsroom().await;
    for n in 0..5 {
        app.publish_story(&editor, "en", &format!("Story number {n}"), &["georgia"])
            .await;
    }
    let plain = app.call(get("/api/v1/articles?lang=en")).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    let zipped_req = || {
        TestRequest::get()
            .uri("/api/v1/articles?lang=en")
            .insert_header(("accept-encoding", "br;q=0.5, gzip;q=0.8"))
    };
    let app_service =
        actix_web::test::init_service(newsdesk::app::build_app(app.state.clone())).await;
    let res = actix_web::test::call_service(&app_service, zipped_req().to_request()).await;
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    assert_eq!(headers.get("content-encoding").unwrap(), "gzip");
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    assert_ne!(Some(etag.as_str()), plain.header("etag"));
    let bytes = actix_web::test::read_body(res).await;
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    let unzipped: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(unzipped, plain.body);
    let again = app
        .call(zipped_req().insert_header(("if-none-match", etag.clone())))
        .await;
    assert_eq!(again.status, 304);
    let refused = app
        .call(
            TestRequest::get()
                .uri("/api/v1/articles?lang=en")
                .insert_header(("accept-encoding", "gzip;q=0")),
        )
        .await;
    assert_eq!(refused.header("content-encoding"), None);
    assert_eq!(refused.body, plain.body);

    // Brotli, when the client prefers it (or ties): smaller than gzip, the same content.
    for accept in ["br", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8"] {
        let req = || {
            TestRequest::get()
                .uri("/api/v1/articles?lang=en")
                .insert_header(("accept-encoding", accept))
        };
        let res = actix_web::test::call_service(&app_service, req().to_request()).await;
        assert_eq!(
            res.headers().get("content-encoding").unwrap(),
            "br",
            "{accept}"
        );
        let br_etag = res
            .headers()
            .get("etag")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(br_etag.ends_with("-br\""), "{br_etag}");
        let bytes = actix_web::test::read_body(res).await;
        assert!(bytes.len() < plain.body.to_string().len());
        let mut text = String::new();
        brotli::Decompressor::new(&bytes[..], 4096)
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), plain.body);
        let again = app
            .call(req().insert_header(("if-none-match", br_etag.clone())))
            .await;
        assert_eq!(again.status, 304);
    }
    let no_br = app
        .call(
            TestRequest::get()
                .uri("/api/v1/articles?lang=en")
                .insert_header(("accept-encoding", "br;q=0, gzip")),
        )
        .await;
    assert_eq!(no_br.header("content-encoding"), Some("gzip"));
}

#[actix_web::test]
async fn a_seeded_archive_is_searchable_and_keeps_its_search_indexes() {
    let app = TestApp::new().await;
    // Two batches, so that both of PostgreSQL's writers write; seeding fills an empty index,
    // which on PostgreSQL drops its GIN indexes and builds them after the load.
    let db = app.state.db.clone();
    let seeded = actix_web::rt::task::spawn_blocking(move || {
        newsdesk::tools::seed::run(&db, 250, 1, 7, "not-a-password-hash")
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!((seeded.stories, seeded.translations), (250, 250));
    let list = app.get("/api/v1/articles?lang=en&limit=5", None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let first = &list.body["items"][0];
    let word = first["title"].as_str().unwrap().split(' ').next().unwrap();
    let found = app
        .get(&format!("/api/v1/articles?lang=en&q={word}&limit=50"), None)
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let ids: Vec<&Value> = found.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert!(ids.contains(&&first["id"]), "{word}: {}", found.body);
    // Its words complete from their beginnings: the load listed every word it indexed.
    let long = first["title"]
        .as_str()
        .unwrap()
        .split(' ')
        .map(str::to_lowercase)
        .find(|w| w.chars().count() >= 5)
        .expect("a title word of five letters or more");
    let stem: String = long.chars().take(long.chars().count() - 1).collect();
    let completed = app
        .get(&format!("/api/v1/articles?lang=en&q={stem}&limit=50"), None)
        .await;
    assert!(
        completed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == first["id"]),
        "{stem} completes to {long}: {}",
        completed.body
    );
    if let Some(indexes) = app.postgres_indexes("search_index") {
        for wanted in ["search_index_document", "search_index_title"] {
            assert!(indexes.iter().any(|i| i == wanted), "{indexes:?}");
        }
    }
}
