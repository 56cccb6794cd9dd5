//! Donation prompts: management with `If-Match`, targeting, windows, rotation, localization,
//! the event beacon, reports and the article page's `include=donation_prompt`.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use newsdesk::auth::Role;

use crate::common::{texts, TestApp};

const PROMPTS: &str = "/api/v1/admin/donation-prompts";
const READER: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0";

fn text(headline: &str) -> Value {
    json!({
        "headline": headline,
        "body": "<p>Independent journalism depends on readers.</p><script>alert(1)</script>",
        "button_label": "Support Us",
        "target_url": "https://newsroom.example/donate",
    })
}

/// A prompt body for `placement` with an English text named `name`, changed by `extra`.
fn prompt(name: &str, placement: &str, extra: Value) -> Value {
    let mut body = json!({
        "name": name,
        "placement": placement,
        "translations": { "en": text(name) },
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

async fn create(app: &TestApp, token: &str, body: Value) -> (i64, String) {
    let reply = app.post(PROMPTS, token, body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let etag = reply.header("etag").unwrap().to_owned();
    (reply.body["id"].as_i64().unwrap(), etag)
}

async fn read(app: &TestApp, path: &str) -> crate::common::Reply {
    app.call(
        TestRequest::get()
            .uri(path)
            .insert_header(("user-agent", READER)),
    )
    .await
}

fn ids(body: &Value) -> Vec<i64> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

async fn event(app: &TestApp, addr: &str, id: i64, kind: &str, lang: &str) -> u16 {
    let req = TestRequest::post()
        .uri(&format!("/api/v1/donation-prompts/{id}/events"))
        .peer_addr(addr.parse().unwrap())
        .insert_header(("user-agent", READER))
        .set_json(json!({ "type": kind, "lang": lang }));
    app.call(req).await.status.as_u16()
}

#[actix_web::test]
async fn editors_manage_prompts_with_if_match_and_every_change_is_audited() {
    let (app, editor) = TestApp::newsroom().await;
    let body = prompt(
        "Year-end appeal",
        "article_end",
        json!({
            "languages": ["en", "ru"],
            "tags": ["georgia"],
            "excluded_tags": ["opinion"],
            "article_types": ["news", "analysis"],
            "priority": 5,
            "weight": 30,
            "hints": { "dismiss_days": 7, "theme": { "color": "red" } },
            "translations": {
                "en": text("Support our newsroom"),
                "ru": text("Поддержите нашу редакцию"),
            },
        }),
    );
    let created = app.post(PROMPTS, &editor, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        created.header("location"),
        Some(format!("{PROMPTS}/{id}").as_str())
    );
    let p = &created.body;
    assert_eq!(p["status"], "active");
    assert_eq!(p["languages"], json!(["en", "ru"]));
    assert_eq!(p["tags"], json!(["georgia"]));
    assert_eq!(p["excluded_tags"], json!(["opinion"]));
    assert_eq!(
        p["hints"],
        json!({ "dismiss_days": 7, "theme": { "color": "red" } })
    );
    assert_eq!(p["shown_now"], true);
    let body_html = p["translations"]["en"]["body"].as_str().unwrap();
    assert!(body_html.contains("Independent journalism"));
    assert!(!body_html.contains("script"), "{body_html}");

    // A change needs the version it changes.
    let path = format!("{PROMPTS}/{id}");
    let etag = created.header("etag").unwrap().to_owned();
    let missing = app
        .patch(&path, &editor, json!({ "status": "paused" }))
        .await;
    missing.problem(428);
    let paused = app
        .send_if_match(
            Method::PATCH,
            &path,
            &editor,
            &etag,
            Some(json!({ "status": "paused", "translations": { "ru": null } })),
        )
        .await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(paused.body["status"], "paused");
    assert_eq!(paused.body["shown_now"], false);
    assert_eq!(paused.body["version"], 2);
    assert!(paused.body["translations"].get("ru").is_none());
    assert_eq!(
        paused.body["tags"],
        json!(["georgia"]),
        "untouched fields stay"
    );
    let stale = app
        .send_if_match(
            Method::PATCH,
            &path,
            &editor,
            &etag,
            Some(json!({ "name": "Lost edit" })),
        )
        .await;
    let problem = stale.problem(412);
    assert_eq!(problem["current_version"], 2);
    let unchanged = app.get(&path, Some(&editor)).await;
    assert_eq!(unchanged.body["name"], "Year-end appeal");

    // Lists filter by status, placement, language and whether shown now.
    let (header_id, _) = create(&app, &editor, prompt("Header", "header", json!({}))).await;
    let list = app
        .get(&format!("{PROMPTS}?status=paused"), Some(&editor))
        .await;
    assert_eq!(ids(&list.body), vec![id]);
    let list = app
        .get(&format!("{PROMPTS}?active_now=true"), Some(&editor))
        .await;
    assert_eq!(ids(&list.body), vec![header_id]);
    let list = app.get(&format!("{PROMPTS}?lang=ru"), Some(&editor)).await;
    assert_eq!(ids(&list.body), vec![header_id, id]);
    let list = app
        .get(
            &format!("{PROMPTS}?placement=header&limit=1"),
            Some(&editor),
        )
        .await;
    assert_eq!(ids(&list.body), vec![header_id]);
    assert!(list.body["next_cursor"].is_null());
    app.get(&format!("{PROMPTS}?placement=banner"), Some(&editor))
        .await
        .problem(400);

    // A tag a prompt targets cannot be deleted from under it.
    let tags = app.get("/api/v1/admin/tags", Some(&editor)).await;
    let georgia = tags.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "georgia")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    app.send(
        Method::DELETE,
        &format!("/api/v1/admin/tags/{georgia}?detach=true"),
        Some(&editor),
        None,
    )
    .await
    .problem(409);

    // Delete, also with If-Match.
    let current = app.get(&path, Some(&editor)).await;
    let etag = current.header("etag").unwrap().to_owned();
    app.send(Method::DELETE, &path, Some(&editor), None)
        .await
        .problem(428);
    let deleted = app
        .send_if_match(Method::DELETE, &path, &editor, &etag, None)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    app.get(&path, Some(&editor)).await.problem(404);

    let audit = app
        .get(
            "/api/v1/admin/audit?object_type=donation_prompt",
            Some(&app.token_for(Role::Admin).await),
        )
        .await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    let actions = texts(&audit.body["items"], "action");
    assert_eq!(
        actions,
        vec![
            "donation_prompt.delete",
            "donation_prompt.create",
            "donation_prompt.update",
            "donation_prompt.create"
        ]
    );
}

#[actix_web::test]
async fn bad_prompts_get_422_naming_the_field_and_change_nothing() {
    let (app, editor) = TestApp::newsroom().await;
    let now = Utc::now();
    let cases = [
        (
            json!({ "translations": { "ru": text("Поддержите нас") } }),
            "translations.en",
        ),
        (
            json!({ "translations": { "en": { "headline": "Hi", "button_label": " ", "target_url": "https://x.example" } } }),
            "translations.en.button_label",
        ),
        (
            json!({ "translations": { "en": { "headline": "Hi", "button_label": "Give", "target_url": "javascript:alert(1)" } } }),
            "translations.en.target_url",
        ),
        (
            json!({ "translations": { "en": { "headline": "Hi", "button_label": "Give", "target_url": "ftp://files.example/donate" } } }),
            "translations.en.target_url",
        ),
        (
            json!({ "starts_at": now + Duration::days(2), "ends_at": now + Duration::days(1) }),
            "ends_at",
        ),
        (json!({ "tags": ["no-such-tag"] }), "tags"),
        (
            json!({ "excluded_tags": ["georgia"], "tags": ["georgia"] }),
            "excluded_tags",
        ),
        (json!({ "languages": ["xx"] }), "languages[0]"),
        (
            json!({ "translations": { "en": text("Hi"), "fr": text("Salut") } }),
            "translations.fr",
        ),
        (json!({ "weight": 0 }), "weight"),
        (json!({ "weight": -3 }), "weight"),
        (json!({ "placement": "everywhere" }), "placement"),
        (json!({ "article_types": ["gossip"] }), "article_types[0]"),
        (json!({ "status": "live" }), "status"),
        (json!({ "hints": [1, 2] }), "hints"),
        (json!({ "name": "" }), "name"),
    ];
    for (extra, field) in cases {
        let reply = app
            .post(
                PROMPTS,
                &editor,
                prompt("Bad", "article_end", extra.clone()),
            )
            .await;
        reply.problem(422);
        assert!(
            reply.error_fields().iter().any(|f| f == field),
            "{extra} should name {field}: {}",
            reply.body
        );
    }
    let list = app.get(PROMPTS, Some(&editor)).await;
    assert_eq!(list.body["items"], json!([]), "nothing was stored");
}

#[actix_web::test]
async fn only_editors_and_admins_change_prompts_and_everyone_signed_in_reads() {
    let (app, editor) = TestApp::newsroom().await;
    let (id, _) = create(&app, &editor, prompt("Appeal", "header", json!({}))).await;
    let admin = app.token_for(Role::Admin).await;
    create(&app, &admin, prompt("Admin's", "header", json!({}))).await;
    for role in [Role::Contributor, Role::Author] {
        let token = app.token_for(role).await;
        assert_eq!(app.get(PROMPTS, Some(&token)).await.status, 200);
        let one = app.get(&format!("{PROMPTS}/{id}"), Some(&token)).await;
        assert_eq!(one.status, 200);
        assert_eq!(
            app.get(&format!("{PROMPTS}/{id}/stats"), Some(&token))
                .await
                .status,
            200
        );
        app.post(PROMPTS, &token, prompt("Mine", "header", json!({})))
            .await
            .problem(403);
        let etag = one.header("etag").unwrap();
        app.send_if_match(
            Method::PATCH,
            &format!("{PROMPTS}/{id}"),
            &token,
            etag,
            Some(json!({ "weight": 5 })),
        )
        .await
        .problem(403);
        app.send_if_match(
            Method::DELETE,
            &format!("{PROMPTS}/{id}"),
            &token,
            etag,
            None,
        )
        .await
        .problem(403);
    }
    for path in [
        PROMPTS.to_owned(),
        format!("{PROMPTS}/{id}"),
        format!("{PROMPTS}/{id}/stats"),
        format!("{PROMPTS}/stats"),
    ] {
        app.get(&path, None).await.problem(401);
    }
}

#[actix_web::test]
async fn targeting_picks_prompts_by_language_tag_excluded_tag_and_type() {
    let (app, editor) = TestApp::newsroom().await;
    let (anywhere, _) = create(&app, &editor, prompt("Anywhere", "article_end", json!({}))).await;
    let (russian, _) = create(
        &app,
        &editor,
        prompt(
            "Russian readers",
            "article_end",
            json!({ "languages": ["ru"] }),
        ),
    )
    .await;
    let (georgia, _) = create(
        &app,
        &editor,
        prompt(
            "Georgia stories",
            "article_end",
            json!({ "tags": ["georgia", "armenia"] }),
        ),
    )
    .await;
    let (not_opinion, _) = create(
        &app,
        &editor,
        prompt(
            "No opinion",
            "article_end",
            json!({ "excluded_tags": ["opinion"] }),
        ),
    )
    .await;
    let (analysis, _) = create(
        &app,
        &editor,
        prompt(
            "Analysis",
            "article_end",
            json!({ "article_types": ["analysis"] }),
        ),
    )
    .await;
    let (paused, _) = create(
        &app,
        &editor,
        prompt("Paused", "article_end", json!({ "status": "paused" })),
    )
    .await;
    let (header, _) = create(&app, &editor, prompt("Header", "header", json!({}))).await;
    let _ = paused;

    let eligible = |query: &str| {
        let app = &app;
        let path = format!("/api/v1/donation-prompts?{query}");
        async move {
            let reply = read(app, &path).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.body);
            let mut got = ids(&reply.body);
            got.sort_unstable();
            got
        }
    };
    assert_eq!(
        eligible("lang=en&placement=article_end").await,
        vec![anywhere, not_opinion]
    );
    assert_eq!(
        eligible("lang=ru&placement=article_end").await,
        vec![anywhere, russian, not_opinion]
    );
    assert_eq!(
        eligible("lang=en&placement=article_end&tag=armenia").await,
        vec![anywhere, georgia, not_opinion]
    );
    assert_eq!(
        eligible("lang=en&placement=article_end&tag=armenia,opinion").await,
        vec![anywhere, georgia]
    );
    assert_eq!(
        eligible("lang=en&placement=article_end&type=analysis").await,
        vec![anywhere, not_opinion, analysis]
    );
    assert_eq!(eligible("lang=en&placement=header").await, vec![header]);
    assert_eq!(
        eligible("lang=en").await,
        vec![anywhere, not_opinion, header],
        "no placement: every placement"
    );

    let all = read(
        &app,
        "/api/v1/donation-prompts?lang=en&placement=article_end",
    )
    .await;
    assert!(all.header("etag").is_some());
    assert!(all.header("cache-control").unwrap().starts_with("public"));
    let first = &all.body["items"][0];
    assert_eq!(first["lang"], "en");
    assert_eq!(first["button_label"], "Support Us");
    assert_eq!(
        first["events_url"],
        format!("/api/v1/donation-prompts/{}/events", first["id"])
    );

    for bad in [
        "lang=en&placement=banner",
        "lang=en&type=gossip",
        "lang=en&tag=Not%20A%20Slug",
        "placement=header",
    ] {
        read(&app, &format!("/api/v1/donation-prompts?{bad}"))
            .await
            .problem(400);
    }
    read(&app, "/api/v1/donation-prompts?lang=xx")
        .await
        .problem(404);
}

#[actix_web::test]
async fn windows_open_and_close_on_time_and_bound_caching() {
    let (app, editor) = TestApp::newsroom().await;
    let now = Utc::now();
    let (open, _) = create(
        &app,
        &editor,
        prompt(
            "Open",
            "sidebar",
            json!({ "starts_at": now - Duration::seconds(1), "ends_at": now + Duration::seconds(90) }),
        ),
    )
    .await;
    create(
        &app,
        &editor,
        prompt(
            "Ended",
            "sidebar",
            json!({ "ends_at": now - Duration::seconds(1) }),
        ),
    )
    .await;
    let (soon, _) = create(
        &app,
        &editor,
        prompt(
            "Soon",
            "sidebar",
            json!({ "starts_at": now + Duration::milliseconds(1500) }),
        ),
    )
    .await;
    let path = "/api/v1/donation-prompts?lang=en&placement=sidebar";
    let before = read(&app, path).await;
    assert_eq!(ids(&before.body), vec![open]);
    // Cached no longer than until the next window edge.
    let cc = before.header("cache-control").unwrap();
    assert!(cc.contains("max-age=0") || cc.contains("max-age=1"), "{cc}");
    let admin = app
        .get(&format!("{PROMPTS}?active_now=true"), Some(&editor))
        .await;
    assert_eq!(ids(&admin.body), vec![open]);

    tokio_sleep(1600).await;
    let after = read(&app, path).await;
    let mut got = ids(&after.body);
    got.sort_unstable();
    assert_eq!(got, vec![open, soon], "the window opened without an edit");
}

async fn tokio_sleep(ms: u64) {
    actix_web::rt::time::sleep(std::time::Duration::from_millis(ms)).await;
}

#[actix_web::test]
async fn resolve_prefers_priority_rotates_by_weight_and_keeps_each_visitor_on_one_prompt() {
    let (app, editor) = TestApp::newsroom().await;
    let (heavy, _) = create(
        &app,
        &editor,
        prompt("Heavy", "popup", json!({ "weight": 300 })),
    )
    .await;
    let (light, _) = create(
        &app,
        &editor,
        prompt("Light", "popup", json!({ "weight": 100 })),
    )
    .await;
    let (low, _) = create(
        &app,
        &editor,
        prompt(
            "Low priority",
            "popup",
            json!({ "weight": 10000, "priority": -1 }),
        ),
    )
    .await;
    let resolve = |visitor: String| {
        let app = &app;
        async move {
            let reply = read(
                app,
                &format!(
                    "/api/v1/donation-prompts/resolve?lang=en&placement=popup&visitor={visitor}"
                ),
            )
            .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.body["id"].as_i64().unwrap()
        }
    };
    let mut heavy_wins = 0;
    let mut first_pick = Vec::new();
    for i in 0..400 {
        let id = resolve(format!("reader-{i}")).await;
        assert_ne!(id, low, "a lower priority never wins");
        if id == heavy {
            heavy_wins += 1;
        } else {
            assert_eq!(id, light);
        }
        first_pick.push(id);
    }
    // 300:100 is 75%; 400 draws stay within ±8 points far beyond chance.
    assert!(
        (268..=332).contains(&heavy_wins),
        "heavy won {heavy_wins} of 400"
    );
    for (i, id) in first_pick.iter().enumerate().take(50) {
        assert_eq!(
            resolve(format!("reader-{i}")).await,
            *id,
            "stable per visitor"
        );
    }
    let reply = read(
        &app,
        "/api/v1/donation-prompts/resolve?lang=en&placement=popup&visitor=reader-1",
    )
    .await;
    assert!(reply
        .header("cache-control")
        .unwrap()
        .starts_with("private"));
    let etag = reply.header("etag").unwrap().to_owned();
    let again = app
        .call(
            TestRequest::get()
                .uri("/api/v1/donation-prompts/resolve?lang=en&placement=popup&visitor=reader-1")
                .insert_header(("if-none-match", etag)),
        )
        .await;
    assert_eq!(again.status, 304);

    let none = read(
        &app,
        "/api/v1/donation-prompts/resolve?lang=en&placement=footer",
    )
    .await;
    assert_eq!(none.status, 204);
    read(&app, "/api/v1/donation-prompts/resolve?lang=en")
        .await
        .problem(400);
    read(
        &app,
        "/api/v1/donation-prompts/resolve?lang=en&placement=popup&article=no-such-story",
    )
    .await
    .problem(404);
}

#[actix_web::test]
async fn prompts_are_localized_through_the_fallback_chain() {
    let (app, editor) = TestApp::newsroom().await;
    let body = prompt(
        "Support",
        "header",
        json!({ "translations": {
            "en": text("Support our newsroom"),
            "ru": text("Поддержите нашу редакцию"),
            "ka": text("მხარი დაუჭირეთ ჩვენს რედაქციას"),
        }}),
    );
    create(&app, &editor, body).await;
    for (lang, served, headline) in [
        ("ka", "ka", "მხარი დაუჭირეთ ჩვენს რედაქციას"),
        ("ru", "ru", "Поддержите нашу редакцию"),
        ("RU", "ru", "Поддержите нашу редакцию"),
        ("az", "en", "Support our newsroom"),
        ("hy", "en", "Support our newsroom"),
    ] {
        let reply = read(
            &app,
            &format!("/api/v1/donation-prompts/resolve?lang={lang}&placement=header&visitor=v"),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["lang"], served, "{lang}");
        assert_eq!(reply.body["headline"], headline);
    }
}

#[actix_web::test]
async fn events_are_all_counted_under_concurrency_and_reported_per_day_and_language() {
    let (app, editor) = TestApp::newsroom().await;
    let (id, _) = create(&app, &editor, prompt("Counted", "header", json!({}))).await;
    let (other, _) = create(&app, &editor, prompt("Other", "header", json!({}))).await;
    let sends = (0..60).map(|i| {
        let app = &app;
        async move {
            let (kind, lang) = match i % 6 {
                0 => ("click", "en"),
                1 => ("dismiss", "ru"),
                2 | 3 => ("impression", "ru"),
                _ => ("impression", "en"),
            };
            event(app, &format!("10.1.0.{}:4000", i % 30), id, kind, lang).await
        }
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    for _ in 0..4 {
        assert_eq!(
            event(&app, "10.2.0.1:1", other, "impression", "en").await,
            202
        );
    }
    for _ in 0..3 {
        assert_eq!(event(&app, "10.2.0.1:1", other, "click", "en").await, 202);
    }
    // A robot gets the same answer and is not counted.
    let robot = TestRequest::post()
        .uri(&format!("/api/v1/donation-prompts/{id}/events"))
        .insert_header(("user-agent", "Googlebot/2.1"))
        .set_json(json!({ "type": "click", "lang": "en" }));
    assert_eq!(app.call(robot).await.status, 202);
    let written = app.state.prompt_events.flush(&app.state.db).await.unwrap();
    assert_eq!(written, 67);

    let stats = app
        .get(&format!("{PROMPTS}/{id}/stats"), Some(&editor))
        .await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    let s = &stats.body;
    assert_eq!(s["totals"]["impressions"], 40);
    assert_eq!(s["totals"]["clicks"], 10);
    assert_eq!(s["totals"]["dismissals"], 10);
    assert_eq!(s["totals"]["click_through_rate"], 0.25);
    assert_eq!(s["by_language"]["en"]["impressions"], 20);
    assert_eq!(s["by_language"]["en"]["clicks"], 10);
    assert_eq!(s["by_language"]["ru"]["dismissals"], 10);
    let days = s["days"].as_array().unwrap();
    assert_eq!(days.len(), 30, "every day of the default period");
    let today = days.last().unwrap();
    assert_eq!(today["day"], Utc::now().date_naive().to_string());
    assert_eq!(today["by_language"]["ru"]["impressions"], 20);
    assert_eq!(days[0]["totals"]["impressions"], 0);

    let compare = app
        .get(&format!("{PROMPTS}/stats?placement=header"), Some(&editor))
        .await;
    assert_eq!(compare.status, 200, "{}", compare.body);
    // Other: 3 clicks in 4 impressions (75%); Counted: 10 in 40 (25%), but 50% in English.
    assert_eq!(ids(&compare.body), vec![other, id]);
    assert_eq!(
        compare.body["items"][0]["totals"]["click_through_rate"],
        0.75
    );
    assert_eq!(compare.body["best_by_language"]["en"], other);
    assert_eq!(compare.body["best_by_language"]["ru"], id);
    let russian = app
        .get(&format!("{PROMPTS}/stats?lang=ru"), Some(&editor))
        .await;
    assert_eq!(russian.body["items"][0]["totals"]["impressions"], 20);

    let today = Utc::now().date_naive();
    let bad_period = format!(
        "{PROMPTS}/{id}/stats?from={}&to={today}",
        today + Duration::days(1)
    );
    app.get(&bad_period, Some(&editor)).await.problem(400);
    app.get(
        &format!("{PROMPTS}/{id}/stats?from=2025-01-01&to=2026-11-01"),
        Some(&editor),
    )
    .await
    .problem(400);
    app.get(
        &format!("{PROMPTS}/{id}/stats?from=yesterday"),
        Some(&editor),
    )
    .await
    .problem(400);
}

#[actix_web::test]
async fn bad_events_are_refused_and_not_counted() {
    let app = TestApp::with(|c| c.prompt_events_per_minute = 5).await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let (id, etag) = create(&app, &editor, prompt("Limited", "header", json!({}))).await;
    // The budget is per clock minute: start the counted events well inside one, or a new
    // minute arriving halfway would refill it.
    let second = chrono::Utc::now().timestamp().rem_euclid(60) as u64;
    if second > 45 {
        actix_web::rt::time::sleep(std::time::Duration::from_secs(61 - second)).await;
    }
    // Readers elsewhere saw it: the clicks below follow impressions.
    for addr in ["10.3.1.1:1", "10.3.1.2:1", "10.3.1.3:1"] {
        assert_eq!(event(&app, addr, id, "impression", "en").await, 202);
    }
    assert_eq!(event(&app, "10.3.0.1:1", id, "hover", "en").await, 400);
    assert_eq!(event(&app, "10.3.0.1:1", id, "click", "xx").await, 400);
    assert_eq!(event(&app, "10.3.0.1:1", 999_999, "click", "en").await, 404);
    // Two of the address's five are left.
    assert_eq!(event(&app, "10.3.0.1:1", id, "click", "en").await, 202);
    assert_eq!(event(&app, "10.3.0.1:1", id, "click", "en").await, 202);
    let limited = TestRequest::post()
        .uri(&format!("/api/v1/donation-prompts/{id}/events"))
        .peer_addr("10.3.0.1:1".parse().unwrap())
        .insert_header(("user-agent", READER))
        .set_json(json!({ "type": "click", "lang": "en" }));
    let reply = app.call(limited).await;
    reply.problem(429);
    assert!(reply.header("retry-after").is_some());
    assert_eq!(
        event(&app, "10.3.0.2:1", id, "click", "en").await,
        202,
        "another address"
    );

    let paused = app
        .send_if_match(
            Method::PATCH,
            &format!("{PROMPTS}/{id}"),
            &editor,
            &etag,
            Some(json!({ "status": "paused" })),
        )
        .await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(event(&app, "10.3.0.3:1", id, "click", "en").await, 404);
    app.state.prompt_events.flush(&app.state.db).await.unwrap();
    let stats = app
        .get(&format!("{PROMPTS}/{id}/stats"), Some(&editor))
        .await;
    assert_eq!(stats.body["totals"]["clicks"], 3, "{}", stats.body);
}

#[actix_web::test]
async fn clicks_and_dismissals_never_outnumber_impressions() {
    let (app, editor) = TestApp::newsroom().await;
    let (id, _) = create(&app, &editor, prompt("Capped", "header", json!({}))).await;
    // Clicks and dismissals nobody was shown the prompt for.
    for n in 0..4 {
        let addr = format!("10.4.0.{n}:1");
        assert_eq!(event(&app, &addr, id, "click", "en").await, 202);
        assert_eq!(event(&app, &addr, id, "dismiss", "en").await, 202);
    }
    app.state.prompt_events.flush(&app.state.db).await.unwrap();
    let stats = app
        .get(&format!("{PROMPTS}/{id}/stats"), Some(&editor))
        .await;
    assert_eq!(stats.body["totals"]["clicks"], 0, "{}", stats.body);
    assert_eq!(stats.body["totals"]["dismissals"], 0, "{}", stats.body);
    assert_eq!(stats.body["totals"]["click_through_rate"], 0.0);
    // Two impressions, then five clicks: two count.
    for n in 0..2 {
        assert_eq!(
            event(&app, &format!("10.4.1.{n}:1"), id, "impression", "en").await,
            202
        );
    }
    for n in 0..5 {
        assert_eq!(
            event(&app, &format!("10.4.2.{n}:1"), id, "click", "en").await,
            202
        );
    }
    app.state.prompt_events.flush(&app.state.db).await.unwrap();
    let stats = app
        .get(&format!("{PROMPTS}/{id}/stats"), Some(&editor))
        .await;
    assert_eq!(stats.body["totals"]["impressions"], 2, "{}", stats.body);
    assert_eq!(stats.body["totals"]["clicks"], 2, "{}", stats.body);
    assert_eq!(stats.body["totals"]["click_through_rate"], 1.0);
}

#[actix_web::test]
async fn the_article_page_includes_the_prompt_for_its_language_tags_and_type() {
    let (app, editor) = TestApp::newsroom().await;
    let (general, _) = create(&app, &editor, prompt("General", "article_end", json!({}))).await;
    let (georgia, _) = create(
        &app,
        &editor,
        prompt(
            "Georgia",
            "article_end",
            json!({ "tags": ["georgia"], "priority": 1 }),
        ),
    )
    .await;
    let (inline, _) = create(&app, &editor, prompt("Inline", "article_inline", json!({}))).await;
    app.publish_story(
        &editor,
        "en",
        "Border talks",
        &["georgia-russia", "georgia"],
    )
    .await;
    app.publish_story(&editor, "en", "Yerevan budget", &["armenia"])
        .await;

    let page = read(
        &app,
        "/api/v1/articles/en/border-talks?include=donation_prompt",
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["donation_prompt"]["id"], georgia);
    assert!(page
        .header("surrogate-key")
        .unwrap()
        .contains("donation-prompts"));
    let page = read(
        &app,
        "/api/v1/articles/en/yerevan-budget?include=donation_prompt",
    )
    .await;
    assert_eq!(page.body["donation_prompt"]["id"], general);
    let page = read(
        &app,
        "/api/v1/articles/en/yerevan-budget?include=donation_prompt&prompt_placement=article_inline",
    )
    .await;
    assert_eq!(page.body["donation_prompt"]["id"], inline);
    let page = read(
        &app,
        "/api/v1/articles/en/yerevan-budget?include=donation_prompt&prompt_placement=footer",
    )
    .await;
    assert_eq!(page.status, 200);
    assert!(page.body["donation_prompt"].is_null());
    assert!(page
        .body
        .as_object()
        .unwrap()
        .contains_key("donation_prompt"));
    let plain = read(&app, "/api/v1/articles/en/yerevan-budget").await;
    assert!(plain.body.get("donation_prompt").is_none());
    read(
        &app,
        "/api/v1/articles/en/yerevan-budget?include=donation_prompt&prompt_placement=banner",
    )
    .await
    .problem(400);

    // Resolve for a story uses the story's own tags.
    let resolved = read(
        &app,
        "/api/v1/donation-prompts/resolve?lang=en&placement=article_end&article=border-talks&visitor=x",
    )
    .await;
    assert_eq!(resolved.body["id"], georgia);
}

#[actix_web::test]
async fn of_eight_concurrent_prompt_edits_with_one_etag_exactly_one_wins() {
    let (app, editor) = TestApp::newsroom().await;
    let (id, etag) = create(&app, &editor, prompt("Contested", "header", json!({}))).await;
    let path = format!("{PROMPTS}/{id}");
    let winner = app
        .race_patches(&path, &editor, &etag, |i| json!({ "weight": 10 + i }))
        .await;
    let stored = app.get(&path, Some(&editor)).await;
    assert_eq!(stored.body["weight"], winner.body["weight"]);
    assert_eq!(stored.body["version"], 2);
}

#[actix_web::test]
async fn a_window_edge_sent_as_null_is_removed() {
    let (app, editor) = TestApp::newsroom().await;
    let later = Utc::now() + Duration::days(1);
    let (id, etag) = create(
        &app,
        &editor,
        prompt(
            "Later",
            "footer",
            json!({ "starts_at": later, "ends_at": later + Duration::days(1) }),
        ),
    )
    .await;
    let open = app
        .send_if_match(
            Method::PATCH,
            &format!("{PROMPTS}/{id}"),
            &editor,
            &etag,
            Some(json!({ "starts_at": null })),
        )
        .await;
    assert_eq!(open.status, 200, "{}", open.body);
    assert!(open.body["starts_at"].is_null());
    assert!(open.body["ends_at"].is_string(), "the end stays");
    assert_eq!(open.body["shown_now"], true);
}
