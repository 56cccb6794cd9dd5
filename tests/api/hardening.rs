//! Defects found by trying to break Newsdesk, each with the test that showed it: URLs stored as
//! sent, contributors crediting others, a password guessed through the change endpoint.

use actix_web::http::Method;
use serde_json::json;

use newsdesk::auth::Role;

use crate::common::{TestApp, PASSWORD};

#[actix_web::test]
async fn an_image_url_is_stored_as_a_url_and_nothing_else() {
    let (app, editor) = TestApp::newsroom().await;
    let contributor = app.token_for(Role::Contributor).await;
    let create = |image: serde_json::Value| {
        json!({
            "type": "news",
            "image": image,
            "translation": {"lang": "en", "title": "Pictured", "body": "<p>Text.</p>"},
        })
    };
    let reply = app
        .post(
            "/api/v1/admin/articles",
            &contributor,
            create(json!({"url": "https://ok.example/a.png\"onerror=\"alert(1)", "alt": "A"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let url = reply.body["image"]["url"].as_str().unwrap();
    assert!(!url.contains('"') && !url.contains(' '), "{url}");
    assert!(url.starts_with("https://ok.example/a.png"), "{url}");
    for bad in [
        "https://user:secret@ok.example/a.png",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "https://",
        "/relative.png",
    ] {
        let reply = app
            .post(
                "/api/v1/admin/articles",
                &editor,
                create(json!({"url": bad})),
            )
            .await;
        assert_eq!(reply.status, 422, "{bad}: {}", reply.body);
        assert_eq!(reply.error_fields(), vec!["image.url"], "{bad}");
    }
}

#[actix_web::test]
async fn contributors_credit_only_themselves_and_nobody_is_credited_twice() {
    let (app, editor) = TestApp::newsroom().await;
    let contributor = app.token_for(Role::Contributor).await;
    let me = app.get("/api/v1/auth/me", Some(&contributor)).await.body["id"]
        .as_i64()
        .unwrap();
    let other = app.create_user("nino@newsroom.example", Role::Author);
    let story = |bylines: Vec<i64>| {
        json!({
            "type": "news",
            "bylines": bylines,
            "translation": {"lang": "en", "title": "Credited", "body": "<p>Text.</p>"},
        })
    };
    let reply = app
        .post(
            "/api/v1/admin/articles",
            &contributor,
            story(vec![me, other]),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    let listed = app.get("/api/v1/admin/articles", Some(&editor)).await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        0,
        "nothing written"
    );

    let reply = app
        .post("/api/v1/admin/articles", &contributor, story(vec![me]))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let id = reply.body["id"].as_i64().unwrap();
    let etag = reply
        .headers
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let reply = app
        .send_if_match(
            Method::PATCH,
            &format!("/api/v1/admin/articles/{id}"),
            &contributor,
            &etag,
            Some(json!({"bylines": [other]})),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);

    let reply = app
        .post("/api/v1/admin/articles", &editor, story(vec![other, other]))
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.error_fields(), vec!["bylines"]);
}

#[actix_web::test]
async fn wrong_current_passwords_count_toward_the_lockout() {
    let app = TestApp::new().await;
    app.create_user("target@newsroom.example", Role::Editor);
    let token = app.login("target@newsroom.example", PASSWORD).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let max = app.state.config.login_max_failures;
    let mut statuses = Vec::new();
    for i in 0..=max {
        let reply = app
            .send(
                Method::POST,
                "/api/v1/auth/password",
                Some(&token),
                Some(json!({"current_password": format!("guess {i}"), "new_password": "a whole new passphrase"})),
            )
            .await;
        statuses.push(reply.status.as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(
        statuses[..max as usize].iter().all(|s| *s == 422),
        "{statuses:?}"
    );
    // The account is locked for sign-ins too, even with the right password.
    let reply = app.login("target@newsroom.example", PASSWORD).await;
    assert_eq!(reply.status, 429, "{}", reply.body);
}

#[actix_web::test]
async fn admin_and_auth_answers_are_never_cacheable_however_the_path_is_spelled() {
    let app = TestApp::new().await;
    app.create_user("spelled@newsroom.example", Role::Admin);
    let reply = app
        .send(
            Method::POST,
            "/api/v1/%61uth/login",
            None,
            Some(json!({"email": "spelled@newsroom.example", "password": PASSWORD})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let token = reply.body["access_token"].as_str().unwrap().to_owned();
    for path in [
        "/api/v1/%61dmin/users",
        "/api/v1/adm%69n/audit",
        "/api/v1/%61uth/me",
    ] {
        let reply = app.get(path, Some(&token)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{path}");
    }
}

#[actix_web::test]
async fn a_future_if_modified_since_is_ignored() {
    let (app, editor) = TestApp::newsroom().await;
    let id = app.publish_story(&editor, "en", "Dated page", &[]).await;
    let slug = app.slug_of(&editor, id, "en").await;
    let path = format!("/api/v1/articles/en/{slug}");
    let page = app.get(&path, None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let modified = page.header("last-modified").unwrap().to_owned();
    let same = app
        .call(
            actix_web::test::TestRequest::get()
                .uri(&path)
                .insert_header(("if-modified-since", modified)),
        )
        .await;
    assert_eq!(same.status, 304);
    let future = app
        .call(
            actix_web::test::TestRequest::get()
                .uri(&path)
                .insert_header(("if-modified-since", "Tue, 01 Jan 2999 00:00:00 GMT")),
        )
        .await;
    assert_eq!(future.status, 200, "a date in the future is ignored");
}

#[actix_web::test]
async fn views_in_a_disabled_language_are_not_counted() {
    let (app, editor) = TestApp::newsroom().await;
    let admin = app.token_for(Role::Admin).await;
    let id = app
        .publish_story(&editor, "az", "Bakı xəbərləri", &[])
        .await;
    let slug = app.slug_of(&editor, id, "az").await;
    let uri = format!("/api/v1/articles/az/{slug}/views");
    let beacon = || {
        actix_web::test::TestRequest::post()
            .uri(&uri)
            .insert_header((
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
            ))
    };
    assert_eq!(app.call(beacon()).await.status, 202);
    let off = app
        .send(
            Method::PATCH,
            "/api/v1/admin/languages/az",
            Some(&admin),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    let reply = app.call(beacon()).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[actix_web::test]
async fn spaces_are_not_a_password() {
    let app = TestApp::new().await;
    let admin = app.token_for(Role::Admin).await;
    let reply = app
        .post(
            "/api/v1/admin/users",
            &admin,
            json!({"email": "blank@newsroom.example", "display_name": "Blank", "role": "author", "password": "            "}),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.error_fields(), vec!["password"]);
}

#[actix_web::test]
async fn a_tag_no_published_story_carries_is_not_public_and_contributors_count_only_their_own() {
    let (app, editor) = TestApp::newsroom().await;
    let embargoed = app
        .post(
            "/api/v1/admin/tags",
            &editor,
            json!({"slug": "summit-2027", "kind": "topic",
                   "names": {"en": {"name": "Summit 2027", "description": "Embargoed until the announcement"}}}),
        )
        .await;
    assert_eq!(embargoed.status, 201, "{}", embargoed.body);
    let draft = app
        .create_story(&editor, "en", "Summit plans", &["summit-2027"])
        .await;
    let listed = app.get("/api/v1/tags?lang=en", None).await;
    assert!(
        !listed.body.to_string().contains("summit-2027"),
        "{}",
        listed.body
    );
    app.get("/api/v1/tags/summit-2027?lang=en", None)
        .await
        .problem(404);

    // A contributor's admin list counts only the stories they may see.
    let contributor = app.token_for(Role::Contributor).await;
    let admin_list = app.get("/api/v1/admin/tags", Some(&contributor)).await;
    let summit = admin_list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "summit-2027")
        .unwrap()
        .clone();
    assert_eq!(summit["article_count"], 0, "{summit}");
    let editors_view = app.get("/api/v1/admin/tags", Some(&editor)).await;
    assert!(editors_view
        .body
        .to_string()
        .contains("\"article_count\":1"));

    app.transition(&editor, draft, "en", json!({"status": "published"}))
        .await;
    let tag = app.get("/api/v1/tags/summit-2027?lang=en", None).await;
    assert_eq!(tag.status, 200, "{}", tag.body);
    assert_eq!(tag.body["article_count"], 1);
}

#[actix_web::test]
async fn a_missing_query_parameter_is_named() {
    let app = TestApp::new().await;
    app.seed_languages();
    let missing = app.get("/api/v1/articles", None).await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    assert_eq!(
        missing.body["errors"][0]["field"], "lang",
        "{}",
        missing.body
    );
    let detail = missing.body["detail"].as_str().unwrap();
    assert!(!detail.contains("deserialize"), "{detail}");
}

#[actix_web::test]
async fn only_slugs_that_were_public_redirect() {
    let (app, editor) = TestApp::newsroom().await;
    let id = app
        .create_story(&editor, "en", "Minister to resign working headline", &[])
        .await;
    let path = format!("/api/v1/admin/articles/{id}/translations/en");
    let (_, etag) = app.translation(&editor, id, "en").await;
    let renamed = app
        .send_if_match(
            Method::PATCH,
            &path,
            &editor,
            &etag,
            Some(json!({"slug": "cabinet-reshuffle"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    app.transition(&editor, id, "en", json!({"status": "published"}))
        .await;
    // The draft's working slug was never public: no redirect confirms the guess.
    app.get(
        "/api/v1/articles/en/minister-to-resign-working-headline",
        None,
    )
    .await
    .problem(404);
    app.get(
        "/api/v1/articles/ru/minister-to-resign-working-headline",
        None,
    )
    .await
    .problem(404);
    // A slug readers saw still redirects after it changes.
    let (_, etag) = app.translation(&editor, id, "en").await;
    let renamed = app
        .send_if_match(
            Method::PATCH,
            &path,
            &editor,
            &etag,
            Some(json!({"slug": "cabinet-reshuffle-confirmed"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let moved = app.get("/api/v1/articles/en/cabinet-reshuffle", None).await;
    assert_eq!(moved.status, 301, "{}", moved.body);
    assert_eq!(
        moved.header("location"),
        Some("/api/v1/articles/en/cabinet-reshuffle-confirmed")
    );
}

#[actix_web::test]
async fn look_alike_emails_name_the_same_account_and_names_carry_no_tricks() {
    let app = TestApp::new().await;
    let admin = app.token_for(Role::Admin).await;
    let create = |email: &str, name: &str| json!({"email": email, "display_name": name, "role": "author", "password": "a long enough passphrase"});
    let first = app
        .post(
            "/api/v1/admin/users",
            &admin,
            create("nino@newsroom.example", "Nino"),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    for twin in [
        "\u{FF4E}ino@newsroom.example",
        "ni\u{200B}no@newsroom.example",
        "NINO@newsroom.example",
        "nino\u{FE0F}@newsroom.example",
    ] {
        let reply = app
            .post("/api/v1/admin/users", &admin, create(twin, "Nino"))
            .await;
        assert_eq!(reply.status, 409, "{twin:?}: {}", reply.body);
    }
    // The look-alike spelling signs in to the one account.
    let reply = app
        .login("\u{FF4E}ino@newsroom.example", "a long enough passphrase")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for name in [
        "<img src=x onerror=alert(1)>",
        "<b></b>",
        "Nino \u{202E}evil",
        "\u{2067}Nino",
    ] {
        let reply = app
            .post(
                "/api/v1/admin/users",
                &admin,
                create("other@newsroom.example", name),
            )
            .await;
        assert_eq!(reply.status, 422, "{name:?}: {}", reply.body);
        assert_eq!(reply.error_fields(), vec!["display_name"], "{name:?}");
    }
}

#[actix_web::test]
async fn most_read_lists_and_pages_that_include_one_can_be_cached_for_a_while() {
    let (app, editor) = TestApp::newsroom().await;
    let id = app.publish_story(&editor, "en", "Read a lot", &[]).await;
    let slug = app.slug_of(&editor, id, "en").await;
    let max_age = |reply: &crate::common::Reply| {
        let cc = reply.header("cache-control").unwrap_or_default().to_owned();
        cc.split(',')
            .find_map(|d| d.trim().strip_prefix("max-age=").map(str::to_owned))
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no max-age in {cc}"))
    };
    for path in [
        "/api/v1/articles/most-read?lang=en".to_owned(),
        format!("/api/v1/articles/en/{slug}?include=most_read"),
    ] {
        let reply = app.get(&path, None).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let age = max_age(&reply);
        assert!((20..=60).contains(&age), "{path}: max-age={age}");
    }
}

#[actix_web::test]
async fn prompt_events_count_only_where_the_prompt_could_have_been_shown() {
    let (app, editor) = TestApp::newsroom().await;
    let text = json!({"headline": "Support us", "body": "<p>Please.</p>", "button_label": "Support Us",
                      "target_url": "https://newsroom.example/donate"});
    let create = |extra: serde_json::Value| {
        let mut body = json!({"name": "Georgian readers", "placement": "header",
                              "translations": {"en": text.clone(), "ka": text.clone()}});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let georgian = app
        .post(
            "/api/v1/admin/donation-prompts",
            &editor,
            create(json!({"languages": ["ka"]})),
        )
        .await;
    assert_eq!(georgian.status, 201, "{}", georgian.body);
    let later = app
        .post(
            "/api/v1/admin/donation-prompts",
            &editor,
            create(
                json!({"starts_at": (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339()}),
            ),
        )
        .await;
    assert_eq!(later.status, 201, "{}", later.body);
    let event = |id: i64, lang: &str| {
        actix_web::test::TestRequest::post()
            .uri(&format!("/api/v1/donation-prompts/{id}/events"))
            .insert_header((
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
            ))
            .set_json(json!({"type": "click", "lang": lang}))
    };
    let georgian = georgian.body["id"].as_i64().unwrap();
    let later = later.body["id"].as_i64().unwrap();
    assert_eq!(app.call(event(georgian, "ka")).await.status, 202);
    let reply = app.call(event(georgian, "en")).await;
    assert_eq!(
        reply.status, 404,
        "a prompt shown only in Georgian: {}",
        reply.body
    );
    let reply = app.call(event(later, "en")).await;
    assert_eq!(reply.status, 404, "a window not open yet: {}", reply.body);
    let written = app.state.prompt_events.flush(&app.state.db).await.unwrap();
    assert_eq!(written, 1, "only the Georgian reader's click");
}

#[actix_web::test]
async fn plain_text_fields_never_carry_markup() {
    let (app, editor) = TestApp::newsroom().await;
    let story = |title: &str, subtitle: &str, body: &str| json!({"type": "news", "translation": {"lang": "en", "title": title, "subtitle": subtitle, "body": body}});
    let reply = app
        .post(
            "/api/v1/admin/articles",
            &editor,
            story(
                "Profits < 5% as costs rise",
                "Shares fell 3 > 2 analysts expected",
                "<p>The page showed &lt;img src=x onerror=alert(1)&gt; as text.</p>",
            ),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let id = reply.body["id"].as_i64().unwrap();
    let (t, _) = app.translation(&editor, id, "en").await;
    let excerpt = t["excerpt"].as_str().unwrap();
    assert!(excerpt.contains("img src=x"), "{excerpt}");
    assert!(
        !excerpt.contains("<img"),
        "the excerpt is plain text: {excerpt}"
    );
    assert_eq!(t["title"], "Profits < 5% as costs rise");
    for (field, title, subtitle) in [
        ("translation.title", "<script>alert(1)</script>", ""),
        ("translation.subtitle", "Fine", "<b>bold</b> claim"),
        ("translation.subtitle", "Fine", "a comment <!-- here -->"),
    ] {
        let reply = app
            .post(
                "/api/v1/admin/articles",
                &editor,
                story(title, subtitle, "<p>x</p>"),
            )
            .await;
        assert_eq!(reply.status, 422, "{title} / {subtitle}: {}", reply.body);
        assert_eq!(reply.error_fields(), vec![field]);
    }
}

/// A published page's `Last-Modified` follows what it shows: saving a draft of the story in
/// another language does not move it; changing the story's own facts does.
#[actix_web::test]
async fn saving_an_unpublished_translation_does_not_move_a_published_pages_last_modified() {
    let (app, editor) = TestApp::newsroom().await;
    let id = app
        .publish_story(&editor, "en", "Published in English", &[])
        .await;
    let slug = app.slug_of(&editor, id, "en").await;
    let page = format!("/api/v1/articles/en/{slug}");
    let before = app.get(&page, None).await;
    let modified = before.header("last-modified").unwrap().to_owned();
    // HTTP dates have whole seconds.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1100)).await;
    let draft = app
        .post(
            &format!("/api/v1/admin/articles/{id}/translations/ru"),
            &editor,
            json!({"title": "Черновик", "body": "<p>Ещё не готово.</p>"}),
        )
        .await;
    assert_eq!(draft.status, 201, "{}", draft.body);
    let after_draft = app.get(&page, None).await;
    assert_eq!(after_draft.header("last-modified"), Some(modified.as_str()));

    let featured = app
        .story_write(Method::PATCH, &editor, id, Some(json!({"featured": true})))
        .await;
    assert_eq!(featured.status, 200, "{}", featured.body);
    let after_facts = app.get(&page, None).await;
    assert_ne!(after_facts.header("last-modified"), Some(modified.as_str()));
}
