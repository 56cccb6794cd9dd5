//! Stories and translations: creation, story-level fields, slugs, sanitized bodies, the admin
//! list with its filters and cursors, and bad input.

use actix_web::http::Method;
use serde_json::{json, Value};

use newsdesk::auth::Role;

use crate::common::TestApp;

fn ids(body: &Value) -> Vec<i64> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

#[actix_web::test]
async fn a_story_is_created_with_its_first_translation_and_story_level_fields() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    app.seed_tags(&editor).await;
    let reporter = app.create_user("reporter@newsroom.example", Role::Author);
    let created = app
        .post(
            "/api/v1/admin/articles",
            &editor,
            json!({
                "type": "analysis",
                "tags": ["georgia", "georgia-russia"],
                "primary_tag": "georgia-russia",
                "bylines": [reporter],
                "image": {"url": "https://media.newsroom.example/talks.jpg", "alt": "Delegations at the table", "credit": "Newsroom"},
                "syndicate": true,
                "featured": true,
                "translation": {
                    "lang": "ru",
                    "title": "Грузия и Россия возобновят переговоры",
                    "subtitle": "Встреча пройдёт в Праге",
                    "body": "<p>Делегации встретятся в среду.</p><p>Повестка пока не объявлена.</p>"
                }
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let story = &created.body;
    assert_eq!(story["type"], "analysis");
    assert_eq!(story["primary_tag"], "georgia-russia");
    assert_eq!(
        story["tags"][0]["slug"], "georgia-russia",
        "the primary tag leads"
    );
    assert_eq!(story["bylines"][0]["id"], reporter);
    assert_eq!(story["image"]["credit"], "Newsroom");
    assert_eq!(story["syndicate"], true);
    let tr = &story["translations"][0];
    assert_eq!(tr["lang"], "ru");
    assert_eq!(tr["status"], "draft");
    assert_eq!(tr["slug"], "gruziya-i-rossiya-vozobnovyat-peregovory");
    let id = story["id"].as_i64().unwrap();

    let (t, etag) = app.translation(&editor, id, "ru").await;
    assert_eq!(etag, format!("\"{}-1\"", t["id"]));
    assert_eq!(
        t["excerpt"],
        "Делегации встретятся в среду. Повестка пока не объявлена."
    );
    assert_eq!(t["excerpt_auto"], true);
    assert_eq!(t["word_count"], 8);
    assert_eq!(t["reading_minutes"], 1);

    // Story-level changes; the primary tag falls back to the first when it leaves the tags.
    let path = format!("/api/v1/admin/articles/{id}");
    let read = app.get(&path, Some(&editor)).await;
    let etag = read.header("etag").unwrap().to_owned();
    assert_eq!(etag, format!("\"article-{id}-1\""));
    app.patch(&path, &editor, json!({"featured": true}))
        .await
        .problem(428);
    let patched = app
        .send_if_match(
            Method::PATCH,
            &path,
            &editor,
            &etag,
            Some(json!({"tags": ["armenia", "georgia"], "image": null, "type": "news"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["version"], 2);
    assert_eq!(
        patched.header("etag"),
        Some(format!("\"article-{id}-2\"").as_str())
    );
    // A change made from the old version would undo this one: 412, and nothing changes.
    let lost = app
        .send_if_match(
            Method::PATCH,
            &path,
            &editor,
            &etag,
            Some(json!({"type": "opinion"})),
        )
        .await;
    assert_eq!(lost.problem(412)["current_version"], 2);
    assert_eq!(app.get(&path, Some(&editor)).await.body["type"], "news");
    assert_eq!(patched.body["primary_tag"], "armenia");
    assert_eq!(patched.body["image"], Value::Null);
    assert_eq!(patched.body["type"], "news");
    let bad_primary = app
        .story_write(
            Method::PATCH,
            &editor,
            id,
            Some(json!({"primary_tag": "opinion"})),
        )
        .await;
    assert_eq!(bad_primary.error_fields(), vec!["primary_tag"]);
}

#[actix_web::test]
async fn bad_stories_are_refused_naming_the_field_and_nothing_is_written() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    app.seed_tags(&editor).await;
    let translation = json!({"lang": "en", "title": "Title"});
    let cases = [
        (
            json!({"type": "news", "tags": ["nope"], "translation": translation}),
            "tags",
        ),
        (
            json!({"type": "news", "primary_tag": "nope", "translation": translation}),
            "primary_tag",
        ),
        (
            json!({"type": "news", "translation": {"lang": "xx", "title": "T"}}),
            "translation.lang",
        ),
        (
            json!({"type": "news", "translation": {"title": "T"}}),
            "translation.lang",
        ),
        (
            json!({"type": "news", "translation": {"lang": "en", "title": " "}}),
            "translation.title",
        ),
        (
            json!({"type": "news", "translation": {"lang": "en", "title": "T", "slug": "Not OK"}}),
            "translation.slug",
        ),
        (
            json!({"type": "news", "translation": {"lang": "en", "title": "T", "translated_from": "ru"}}),
            "translated_from",
        ),
        (
            json!({"type": "news", "bylines": [999999], "translation": translation}),
            "bylines",
        ),
        (
            json!({"type": "news", "image": {"url": "javascript:alert(1)"}, "translation": translation}),
            "image.url",
        ),
        (
            json!({"type": "news", "id": 5, "translation": translation}),
            "id",
        ),
        (
            json!({"type": "gossip", "translation": translation}),
            "body",
        ),
    ];
    for (body, field) in cases {
        let reply = app
            .post("/api/v1/admin/articles", &editor, body.clone())
            .await;
        reply.problem(422);
        assert_eq!(reply.error_fields(), vec![field], "{body}");
    }
    let list = app.get("/api/v1/admin/articles", Some(&editor)).await;
    assert_eq!(ids(&list.body), Vec::<i64>::new(), "no half-written story");

    let huge = "x".repeat(2 * 1024 * 1024);
    let too_big = app
        .post(
            "/api/v1/admin/articles",
            &editor,
            json!({"type": "news", "translation": {"lang": "en", "title": "T", "body": huge}}),
        )
        .await;
    too_big.problem(413);
}

#[actix_web::test]
async fn slugs_are_unique_per_language_and_old_ones_are_kept() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let first = app.create_story(&editor, "en", "Talks resume", &[]).await;
    let second = app.create_story(&editor, "en", "Talks resume", &[]).await;
    let (t2, etag2) = app.translation(&editor, second, "en").await;
    assert_eq!(t2["slug"], "talks-resume-2", "a generated slug steps aside");
    // The same slug in another language is fine.
    let ka = app
        .post(
            &format!("/api/v1/admin/articles/{first}/translations/ka"),
            &editor,
            json!({"title": "მოლაპარაკებები", "slug": "talks-resume"}),
        )
        .await;
    assert_eq!(ka.status, 201, "{}", ka.body);
    // An explicit slug another story has is a conflict.
    let path2 = format!("/api/v1/admin/articles/{second}/translations/en");
    let taken = app
        .send_if_match(
            Method::PATCH,
            &path2,
            &editor,
            &etag2,
            Some(json!({"slug": "talks-resume"})),
        )
        .await;
    taken.problem(409);
    // Renaming keeps the old slug, and it stays reserved for this story.
    let (_, etag1) = app.translation(&editor, first, "en").await;
    let path1 = format!("/api/v1/admin/articles/{first}/translations/en");
    let renamed = app
        .send_if_match(
            Method::PATCH,
            &path1,
            &editor,
            &etag1,
            Some(json!({"slug": "talks-resume-in-prague"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["old_slugs"], json!(["talks-resume"]));
    let reuse = app
        .send_if_match(
            Method::PATCH,
            &path2,
            &editor,
            &etag2,
            Some(json!({"slug": "talks-resume"})),
        )
        .await;
    reuse.problem(409);
    // The path names the language; the body may not.
    let lang_in_body = app
        .post(
            &format!("/api/v1/admin/articles/{first}/translations/ru"),
            &editor,
            json!({"lang": "ru", "title": "Переговоры"}),
        )
        .await;
    assert_eq!(lang_in_body.error_fields(), vec!["lang"]);
    let duplicate = app
        .post(
            &format!("/api/v1/admin/articles/{first}/translations/ka"),
            &editor,
            json!({"title": "again"}),
        )
        .await;
    duplicate.problem(409);
    let unknown = app
        .post(
            &format!("/api/v1/admin/articles/{first}/translations/xx"),
            &editor,
            json!({"title": "x"}),
        )
        .await;
    assert_eq!(unknown.error_fields(), vec!["lang"]);
}

/// Payloads that must not survive the sanitizer, whatever the browser.
const XSS: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<svg onload=alert(1)><circle r=1></circle></svg>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<p style=\"background:url(javascript:alert(1))\">x</p>",
    "<body onload=alert(1)>",
    "<div onclick=\"alert(1)\">x</div>",
    "<object data=\"data:text/html,<script>alert(1)</script>\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<form action=\"javascript:alert(1)\"><button>x</button></form>",
    "<img src=\"data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<style>@import 'javascript:alert(1)';</style>",
    "<base href=\"javascript:alert(1)//\">",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<details open ontoggle=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<table background=\"javascript:alert(1)\"><tr><td>x</td></tr></table>",
];

#[actix_web::test]
async fn bodies_are_sanitized_on_write_under_the_news_allow_list() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let allowed = concat!(
        "<h2>Heading</h2><p>Text with <a href=\"https://example.org/report\">a link</a>, ",
        "<em>emphasis</em> and <strong>strength</strong>.</p>",
        "<ul><li>one</li></ul><blockquote cite=\"https://example.org\">quote</blockquote>",
        "<figure><img src=\"https://media.newsroom.example/a.jpg\" alt=\"A\"><figcaption>Caption</figcaption></figure>",
        "<table><thead><tr><th>Year</th></tr></thead><tbody><tr><td>2026</td></tr></tbody></table>",
        "<iframe src=\"https://www.youtube.com/embed/abc\" allowfullscreen></iframe>",
        "<iframe src=\"https://video.evil.example/embed/abc\"></iframe>"
    );
    let body = format!("{allowed}{}", XSS.join(""));
    let id = app.create_story(&editor, "en", "Sanitized", &[]).await;
    let (_, etag) = app.translation(&editor, id, "en").await;
    let saved = app
        .send_if_match(
            Method::PATCH,
            &format!("/api/v1/admin/articles/{id}/translations/en"),
            &editor,
            &etag,
            Some(json!({ "body": body })),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let html = saved.body["body"].as_str().unwrap().to_lowercase();
    for kept in [
        "<h2>heading</h2>",
        "href=\"https://example.org/report\"",
        "rel=\"noopener noreferrer\"",
        "<figcaption>caption</figcaption>",
        "<td>2026</td>",
        "src=\"https://www.youtube.com/embed/abc\"",
        "sandbox=",
    ] {
        assert!(html.contains(kept), "{kept} missing from {html}");
    }
    for gone in [
        "<script",
        "javascript:",
        "vbscript:",
        "onerror",
        "onload",
        "onclick",
        "ontoggle",
        "<svg",
        "<math",
        "srcdoc",
        "<object",
        "<embed",
        "<form",
        "data:",
        "<meta",
        "<style",
        "<base",
        "style=",
        "video.evil.example",
        "background=",
    ] {
        assert!(!html.contains(gone), "{gone} survived: {html}");
    }
}

#[actix_web::test]
async fn the_admin_list_filters_sorts_and_pages_with_cursors() {
    let app = TestApp::new().await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    app.seed_tags(&editor).await;
    let author_id = app.create_user("byline@newsroom.example", Role::Author);
    let mut stories = Vec::new();
    for i in 0..5 {
        let tags: &[&str] = if i % 2 == 0 {
            &["georgia"]
        } else {
            &["armenia"]
        };
        stories.push(
            app.create_story(&editor, "en", &format!("Story number {i}"), tags)
                .await,
        );
    }
    let opinion = app
        .post(
            "/api/v1/admin/articles",
            &editor,
            json!({"type": "opinion", "bylines": [author_id], "translation": {"lang": "ka", "title": "აზრი 100%_off"}}),
        )
        .await;
    let opinion = opinion.body["id"].as_i64().unwrap();
    app.transition(&editor, stories[1], "en", json!({"status": "published"}))
        .await;

    let get = |q: &str| {
        let q = q.to_owned();
        let app = &app;
        let editor = editor.clone();
        async move {
            let reply = app
                .get(&format!("/api/v1/admin/articles?{q}"), Some(&editor))
                .await;
            assert_eq!(reply.status, 200, "{q}: {}", reply.body);
            ids(&reply.body)
        }
    };
    // Newest change first: the published story moved last.
    let all = get("").await;
    assert_eq!(all.len(), 6);
    assert_eq!(all[0], stories[1]);
    assert_eq!(get("status=published").await, vec![stories[1]]);
    assert_eq!(get("status=published&lang=ka").await, Vec::<i64>::new());
    assert_eq!(get("lang=ka").await, vec![opinion]);
    assert_eq!(get("type=opinion").await, vec![opinion]);
    assert_eq!(get(&format!("author={author_id}")).await, vec![opinion]);
    assert_eq!(
        get("tag=armenia&sort=created_at").await,
        vec![stories[1], stories[3]]
    );
    assert_eq!(get("q=NUMBER%203").await, vec![stories[3]]);
    assert_eq!(
        get("q=100%25_").await,
        vec![opinion],
        "LIKE wildcards are literal"
    );
    assert_eq!(get("q=_").await, vec![opinion]);
    assert_eq!(
        get("updated_since=2999-01-01T00:00:00Z").await,
        Vec::<i64>::new()
    );

    // Pages of two in creation order, with a cursor that stays put.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/admin/articles?sort=created_at&limit=2&cursor={c}"),
            None => "/api/v1/admin/articles?sort=created_at&limit=2".to_owned(),
        };
        let page = app.get(&path, Some(&editor)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(ids(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut expected = stories.clone();
    expected.push(opinion);
    assert_eq!(seen, expected);

    for bad in [
        "sort=title",
        "limit=0",
        "limit=101",
        "cursor=abc",
        "status=gone",
        "outdated=maybe",
    ] {
        app.get(&format!("/api/v1/admin/articles?{bad}"), Some(&editor))
            .await
            .problem(400);
    }
    let first = app
        .get(
            "/api/v1/admin/articles?sort=created_at&limit=1",
            Some(&editor),
        )
        .await;
    let c = first.body["next_cursor"].as_str().unwrap();
    let mismatched = app
        .get(
            &format!("/api/v1/admin/articles?sort=-updated_at&cursor={c}"),
            Some(&editor),
        )
        .await;
    assert_eq!(mismatched.problem(400)["errors"][0]["field"], "cursor");
}
