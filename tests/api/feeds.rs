//! Public feeds and sitemaps, read with a feed reader's parser and an XML parser.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::common::TestApp;
use newsdesk::auth::Role;

/// A title and a body that try every way text can break a feed.
const HARD_TITLE: &str = "Talks: 3 < 5 & \"quotes\" ]]> 'end'";
const HARD_BODY: &str =
    "<p>Fish &amp; chips ]]&gt; &lt;script&gt;alert(1)&lt;/script&gt;</p><p>თბილისი და Երևան</p>";

fn parse(text: &str) -> feed_rs::model::Feed {
    feed_rs::parser::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}:\n{text}"))
}

/// Publishes a story with `title`, `body` and `tags` in `lang`, credited to `author`.
async fn story(
    app: &TestApp,
    token: &str,
    lang: &str,
    title: &str,
    body: &str,
    tags: &[&str],
    author: i64,
) -> i64 {
    let made = app
        .post(
            "/api/v1/admin/articles",
            token,
            json!({
                "type": "news", "tags": tags, "bylines": [author],
                "image": {"url": "https://media.newsroom.example/a.jpg", "alt": "Alt & text", "credit": "Newsroom"},
                "translation": {"lang": lang, "title": title, "body": body},
            }),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.body["id"].as_i64().unwrap();
    let published = app
        .transition(token, id, lang, json!({"status": "published"}))
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    id
}

#[actix_web::test]
async fn rss_atom_and_json_feeds_parse_in_a_feed_reader_with_every_field() {
    let (app, editor) = TestApp::newsroom().await;
    let author = app.create_user("nino@newsroom.example", Role::Author);
    story(
        &app,
        &editor,
        "en",
        HARD_TITLE,
        HARD_BODY,
        &["georgia"],
        author,
    )
    .await;
    story(
        &app,
        &editor,
        "ka",
        "საქართველო და სომხეთი",
        "<p>ტექსტი</p>",
        &["armenia"],
        author,
    )
    .await;
    story(&app, &editor, "hy", "Հայաստան", "<p>Տեքստ</p>", &[], author).await;

    for lang in ["en", "ka", "hy", "ru", "az"] {
        for ext in ["rss", "atom", "json"] {
            let reply = app.get(&format!("/api/v1/feeds/{lang}.{ext}"), None).await;
            assert_eq!(reply.status, 200, "{lang}.{ext}: {}", reply.body);
            assert!(reply.header("etag").is_some());
            let text = match &reply.body {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let feed = parse(&text);
            assert_eq!(feed.language.as_deref(), Some(lang), "{lang}.{ext}");
            let expected = usize::from(matches!(lang, "en" | "ka" | "hy"));
            assert_eq!(feed.entries.len(), expected, "{lang}.{ext}:\n{text}");
        }
    }
    let content_types: Vec<String> = {
        let mut v = Vec::new();
        for ext in ["rss", "atom", "json"] {
            let r = app.get(&format!("/api/v1/feeds/en.{ext}"), None).await;
            v.push(r.header("content-type").unwrap().to_owned());
        }
        v
    };
    assert_eq!(
        content_types,
        [
            "application/rss+xml; charset=utf-8",
            "application/atom+xml; charset=utf-8",
            "application/feed+json"
        ]
    );

    for ext in ["rss", "atom", "json"] {
        let reply = app.get(&format!("/api/v1/feeds/en.{ext}"), None).await;
        let text = match &reply.body {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let feed = parse(&text);
        let entry = &feed.entries[0];
        assert_eq!(entry.title.as_ref().unwrap().content, HARD_TITLE, "{ext}");
        let link = &entry.links[0].href;
        assert!(
            link.starts_with("http://localhost:3000/en/talks"),
            "{ext}: {link}"
        );
        assert_eq!(entry.authors[0].name, "Test User", "{ext}");
        let body = entry
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .unwrap_or_default();
        assert!(
            body.contains("Fish &amp; chips ]]&gt; &lt;script&gt;"),
            "{ext}: {body}"
        );
        assert!(body.contains("თბილისი და Երևան"), "{ext}: {body}");
        assert!(!body.contains("<script"), "{ext}: {body}");
        if ext != "json" {
            let labels: Vec<String> = entry
                .categories
                .iter()
                .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
                .collect();
            assert_eq!(labels, ["Georgia"], "{ext}");
            let own = feed
                .links
                .iter()
                .find(|l| l.rel.as_deref() == Some("self"))
                .map(|l| l.href.clone());
            assert_eq!(
                own.as_deref(),
                Some(format!("http://127.0.0.1:8080/api/v1/feeds/en.{ext}").as_str())
            );
        }
        if ext == "rss" {
            assert!(
                text.contains(
                    "<media:content medium=\"image\" url=\"https://media.newsroom.example/a.jpg\">"
                ),
                "{text}"
            );
            assert!(text.contains("<guid isPermaLink=\"true\">"));
        }
    }

    // Cached and ETag'd like the Content API.
    let first = app.get("/api/v1/feeds/en.atom", None).await;
    let etag = first.header("etag").unwrap().to_owned();
    let req = actix_web::test::TestRequest::get()
        .uri("/api/v1/feeds/en.atom")
        .insert_header(("if-none-match", etag));
    assert_eq!(app.call(req).await.status, 304);
}

#[actix_web::test]
async fn tag_and_author_feeds_hold_only_their_stories() {
    let (app, editor) = TestApp::newsroom().await;
    let nino = app.create_user("nino@newsroom.example", Role::Author);
    let ani = app.create_user("ani@newsroom.example", Role::Author);
    story(
        &app,
        &editor,
        "en",
        "Georgian story",
        "<p>a</p>",
        &["georgia"],
        nino,
    )
    .await;
    story(
        &app,
        &editor,
        "en",
        "Armenian story",
        "<p>b</p>",
        &["armenia"],
        ani,
    )
    .await;
    let titles = |text: &str| -> Vec<String> {
        parse(text)
            .entries
            .iter()
            .map(|e| e.title.as_ref().unwrap().content.clone())
            .collect()
    };
    let by_tag = app.get("/api/v1/feeds/en/tags/armenia.rss", None).await;
    assert_eq!(by_tag.status, 200, "{}", by_tag.body);
    assert_eq!(titles(by_tag.body.as_str().unwrap()), ["Armenian story"]);
    let ru_tag = app.get("/api/v1/feeds/ru/tags/georgia.atom", None).await;
    let feed = parse(ru_tag.body.as_str().unwrap());
    assert!(
        feed.title.unwrap().content.ends_with("Грузия"),
        "named in Russian"
    );
    let by_author = app
        .get(&format!("/api/v1/feeds/en/authors/{nino}.json"), None)
        .await;
    assert_eq!(by_author.status, 200, "{}", by_author.body);
    assert_eq!(by_author.body["items"][0]["title"], "Georgian story");
    assert_eq!(by_author.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        by_author.body["version"],
        "https://jsonfeed.org/version/1.1"
    );

    // Pages name their feeds, for `<link rel="alternate">`.
    let list = app.get("/api/v1/articles?lang=en", None).await;
    let hrefs = |v: &serde_json::Value| -> Vec<String> {
        v["feeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["href"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        hrefs(&list.body),
        ["rss", "atom", "json"].map(|e| format!("http://127.0.0.1:8080/api/v1/feeds/en.{e}"))
    );
    assert_eq!(list.body["feeds"][0]["type"], "application/rss+xml");
    let tag_page = app.get("/api/v1/tags/armenia/articles?lang=en", None).await;
    assert_eq!(
        hrefs(&tag_page.body)[0],
        "http://127.0.0.1:8080/api/v1/feeds/en/tags/armenia.rss"
    );
    let slug = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Armenian story")
        .unwrap()["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = app.get(&format!("/api/v1/articles/en/{slug}"), None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let links = hrefs(&page.body);
    assert!(
        links.contains(&"http://127.0.0.1:8080/api/v1/feeds/en.atom".to_owned()),
        "{links:?}"
    );
    assert!(
        links.contains(&"http://127.0.0.1:8080/api/v1/feeds/en/tags/armenia.json".to_owned()),
        "{links:?}"
    );
    for link in links {
        let path = link.trim_start_matches("http://127.0.0.1:8080");
        assert_eq!(app.get(path, None).await.status, 200, "{path}");
    }

    for path in [
        "/api/v1/feeds/en.xml",
        "/api/v1/feeds/xx.rss",
        "/api/v1/feeds/en/tags/no-such-tag.rss",
        "/api/v1/feeds/en/authors/999999.rss",
    ] {
        app.get(path, None).await.problem(404);
    }
}

#[actix_web::test]
async fn feeds_carry_excerpts_only_when_so_configured() {
    let app = TestApp::with(|c| c.feed_full_text = false).await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let nino = app.create_user("nino@newsroom.example", Role::Author);
    story(
        &app,
        &editor,
        "en",
        "Short",
        "<p>The whole text. And more of it.</p>",
        &[],
        nino,
    )
    .await;
    let rss = app.get("/api/v1/feeds/en.rss", None).await;
    let text = rss.body.as_str().unwrap();
    assert!(!text.contains("content:encoded>"), "{text}");
    assert!(
        text.contains("<description>The whole text. And more of it.</description>"),
        "{text}"
    );
    let json_feed = app.get("/api/v1/feeds/en.json", None).await;
    assert!(json_feed.body["items"][0].get("content_html").is_none());
    assert_eq!(
        json_feed.body["items"][0]["content_text"],
        "The whole text. And more of it."
    );
}

/// Each `<url>` of a sitemap: its location and its alternates by hreflang.
fn urls(xml: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = BTreeMap::new();
    let mut loc = String::new();
    let mut alts = BTreeMap::new();
    let mut in_loc = false;
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("{e}:\n{xml}"))
        {
            Event::Start(e) if e.name().as_ref() == b"loc" => in_loc = true,
            Event::Text(t) if in_loc => loc = t.decode().unwrap().into_owned(),
            Event::End(e) if e.name().as_ref() == b"loc" => in_loc = false,
            Event::Empty(e) if e.name().as_ref() == b"xhtml:link" => {
                let attr = |name: &[u8]| {
                    e.try_get_attribute(name)
                        .unwrap()
                        .unwrap()
                        .decoded_and_normalized_value(
                            quick_xml::XmlVersion::Implicit1_0,
                            reader.decoder(),
                        )
                        .unwrap()
                        .into_owned()
                };
                alts.insert(attr(b"hreflang"), attr(b"href"));
            }
            Event::End(e) if matches!(e.name().as_ref(), b"url" | b"sitemap") => {
                out.insert(std::mem::take(&mut loc), std::mem::take(&mut alts));
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

#[actix_web::test]
async fn the_sitemap_index_leads_to_every_published_translation_with_its_alternates() {
    let app = TestApp::with(|c| c.sitemap_urls = 2).await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let nino = app.create_user("nino@newsroom.example", Role::Author);
    let mut published = BTreeSet::new();
    // Written first, published after the others: it belongs on the first page.
    let early = app.create_story(&editor, "en", "Early story", &[]).await;
    let mut first = 0;
    for n in 0..3 {
        let id = story(
            &app,
            &editor,
            "en",
            &format!("Story {n}"),
            "<p>t</p>",
            &[],
            nino,
        )
        .await;
        published.insert(format!("http://localhost:3000/en/story-{n}"));
        if n == 0 {
            first = id;
            app.publish_translation(&editor, id, "ka", "ამბავი").await;
            published.insert("http://localhost:3000/ka/ambavi".to_owned());
        }
    }
    let made_public = app
        .transition(&editor, early, "en", json!({"status": "published"}))
        .await;
    assert_eq!(made_public.status, 200, "{}", made_public.body);
    published.insert("http://localhost:3000/en/early-story".to_owned());
    let draft = app.create_story(&editor, "en", "Draft story", &[]).await;
    assert!(draft > 0);

    let index = app.get("/sitemap.xml", None).await;
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("application/xml; charset=utf-8")
    );
    let sitemaps: Vec<String> = urls(index.body.as_str().unwrap()).into_keys().collect();
    assert!(
        sitemaps.contains(&"http://localhost:3000/sitemaps/en-2.xml".to_owned()),
        "{sitemaps:?}"
    );
    assert!(sitemaps.contains(&"http://localhost:3000/sitemaps/news-ka.xml".to_owned()));
    assert!(!sitemaps.contains(&"http://localhost:3000/sitemaps/en-3.xml".to_owned()));

    // Following the index reaches every published translation, once, and no draft.
    let mut found = BTreeMap::new();
    for sitemap in sitemaps.iter().filter(|s| !s.contains("/news-")) {
        let path = sitemap.trim_start_matches("http://localhost:3000");
        let page = app.get(path, None).await;
        assert_eq!(page.status, 200, "{path}");
        for (loc, alts) in urls(page.body.as_str().unwrap()) {
            assert!(found.insert(loc, alts).is_none(), "listed twice");
        }
    }
    assert_eq!(found.keys().cloned().collect::<BTreeSet<_>>(), published);
    // Pages hold the stories in the order they were written.
    let first_page = app.get("/sitemaps/en-1.xml", None).await;
    let on_first: Vec<String> = urls(first_page.body.as_str().unwrap())
        .into_keys()
        .collect();
    assert_eq!(
        on_first,
        [
            "http://localhost:3000/en/early-story",
            "http://localhost:3000/en/story-0"
        ]
    );
    let both = &found["http://localhost:3000/en/story-0"];
    assert_eq!(both["en"], "http://localhost:3000/en/story-0");
    assert_eq!(both["ka"], "http://localhost:3000/ka/ambavi");
    assert_eq!(both["x-default"], "http://localhost:3000/en/story-0");
    assert_eq!(
        found["http://localhost:3000/ka/ambavi"], *both,
        "the same alternates from each side"
    );

    app.get("/sitemaps/en-3.xml", None).await.problem(404);
    app.get("/sitemaps/en-0.xml", None).await.problem(404);
    app.get("/sitemaps/xx-1.xml", None).await.problem(404);
    app.get("/sitemaps/nonsense.xml", None).await.problem(404);

    let news = app.get("/sitemaps/news-en.xml", None).await;
    let text = news.body.as_str().unwrap();
    assert_eq!(urls(text).len(), 4, "{text}");
    assert!(text.contains("<news:name>Newsdesk</news:name>"));
    assert!(text.contains("<news:language>en</news:language>"));
    assert!(text.contains("<news:title>Story 2</news:title>"));

    // Unpublished, a story leaves the sitemaps.
    let back = app
        .transition(&editor, first, "en", json!({"status": "draft"}))
        .await;
    assert_eq!(back.status, 200, "{}", back.body);
    let page = app.get("/sitemaps/en-1.xml", None).await;
    assert!(!page.body.as_str().unwrap().contains("story-0"));
}
