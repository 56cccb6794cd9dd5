//! Partner syndication: partner keys and who they let in, the change feed with its tombstones,
//! single items, IPTC ninjs, rate limits and usage.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::{header, Method};
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::common::{texts, Reply, TestApp};
use newsdesk::auth::Role;

const PARTNERS: &str = "/api/v1/admin/partners";
const CHANGES: &str = "/api/v1/syndication/changes";

/// Lets a partner in with `body` (name and contact added); returns its id, key and ETag.
async fn partner(app: &TestApp, admin: &str, body: Value) -> (i64, String, String) {
    let mut body = body;
    body["name"] = json!("Caucasus Regional Daily");
    body["contact_email"] = json!("syndication@partner.example");
    let made = app.post(PARTNERS, admin, body).await;
    assert_eq!(made.status, 201, "{}", made.body);
    (
        made.body["partner"]["id"].as_i64().unwrap(),
        made.body["key"].as_str().unwrap().to_owned(),
        made.header("etag").unwrap().to_owned(),
    )
}

/// A story offered to partners, with its first translation published.
async fn syndicated_story(
    app: &TestApp,
    token: &str,
    lang: &str,
    title: &str,
    tags: &[&str],
) -> i64 {
    let made = app
        .post(
            "/api/v1/admin/articles",
            token,
            json!({
                "type": "news",
                "tags": tags,
                "syndicate": true,
                "image": {"url": "https://media.newsroom.example/a.jpg", "alt": "Delegations", "credit": "Newsroom"},
                "translation": {"lang": lang, "title": title, "subtitle": "A subtitle",
                    "body": format!("<p>{title}. A first paragraph.</p>")},
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

/// Every change after `since` (all of them when `None`), following `next` to the end; returns
/// them with the cursor to continue from.
async fn follow(
    app: &TestApp,
    key: &str,
    since: Option<&str>,
    query: &str,
) -> (Vec<Value>, String) {
    let mut since = since.map(str::to_owned);
    let mut all = Vec::new();
    loop {
        let mut path = format!("{CHANGES}?limit=2{query}");
        if let Some(s) = &since {
            path.push_str(&format!("&since={s}"));
        }
        let page = app.get(&path, Some(key)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        all.extend(page.body["items"].as_array().unwrap().iter().cloned());
        since = Some(page.body["next"].as_str().unwrap().to_owned());
        if !page.body["has_more"].as_bool().unwrap() {
            return (all, since.unwrap());
        }
    }
}

fn ids_and_actions(changes: &[Value]) -> Vec<(i64, String, String)> {
    changes
        .iter()
        .map(|c| {
            (
                c["id"].as_i64().unwrap(),
                c["lang"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn an_admin_lets_a_partner_in_and_sees_its_key_only_once() {
    let (app, editor) = TestApp::newsroom().await;
    let admin = app.token_for(Role::Admin).await;
    let made = app
        .post(
            PARTNERS,
            &admin,
            json!({"name": "Regional Daily", "contact_email": "desk@partner.example",
                   "languages": ["en", "ka"], "tags": ["georgia"], "requests_per_minute": 60}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let key = made.body["key"].as_str().unwrap();
    assert!(key.starts_with("ndp_") && key.len() == 4 + 64, "{key}");
    let p = &made.body["partner"];
    assert_eq!(p["languages"], json!(["en", "ka"]));
    assert_eq!(p["tags"], json!(["georgia"]));
    assert_eq!(p["requests_per_minute"], 60);
    assert_eq!(p["keys"][0]["prefix"], &key[..12]);
    let id = p["id"].as_i64().unwrap();
    assert_eq!(
        made.header("location"),
        Some(format!("{PARTNERS}/{id}").as_str())
    );

    let read = app.get(&format!("{PARTNERS}/{id}"), Some(&admin)).await;
    assert_eq!(read.status, 200);
    assert!(
        !read.body.to_string().contains(&key[12..]),
        "the key is shown again"
    );
    let listed = app.get(PARTNERS, Some(&admin)).await;
    assert_eq!(texts(&listed.body["items"], "name"), vec!["Regional Daily"]);
    assert!(!listed.body.to_string().contains(&key[12..]));

    // Admins only.
    app.get(PARTNERS, Some(&editor)).await.problem(403);
    app.post(
        PARTNERS,
        &editor,
        json!({"name": "x", "contact_email": "x@partner.example"}),
    )
    .await
    .problem(403);

    // Bad fields are named, and nothing is made.
    let bad = app
        .post(
            PARTNERS,
            &admin,
            json!({"name": "", "contact_email": "nope", "requests_per_minute": 0}),
        )
        .await;
    bad.problem(422);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["contact_email", "name", "requests_per_minute"]);
    let bad = app
        .post(
            PARTNERS,
            &admin,
            json!({"name": "x", "contact_email": "x@partner.example", "languages": ["xx"]}),
        )
        .await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "languages[0]");
    let bad = app
        .post(
            PARTNERS,
            &admin,
            json!({"name": "x", "contact_email": "x@partner.example", "tags": ["no-such-tag"]}),
        )
        .await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "tags");
    let listed = app.get(PARTNERS, Some(&admin)).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);

    // Edits need the ETag of what was read, like every editable resource.
    let path = format!("{PARTNERS}/{id}");
    app.patch(&path, &admin, json!({"name": "Renamed"}))
        .await
        .problem(428);
    let etag = read.header("etag").unwrap().to_owned();
    let renamed = app
        .send_if_match(
            Method::PATCH,
            &path,
            &admin,
            &etag,
            Some(json!({"name": "Renamed", "tags": []})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "Renamed");
    assert_eq!(renamed.body["tags"], json!([]));
    assert_eq!(renamed.body["languages"], json!(["en", "ka"]), "kept");
    let stale = app
        .send_if_match(
            Method::PATCH,
            &path,
            &admin,
            &etag,
            Some(json!({"name": "Lost"})),
        )
        .await;
    stale.problem(412);

    let audit = app
        .get("/api/v1/admin/audit?object_type=partner", Some(&admin))
        .await;
    let actions = texts(&audit.body["items"], "action");
    assert!(
        actions.contains(&"partner.create") && actions.contains(&"partner.update"),
        "{actions:?}"
    );
    assert!(
        !audit.body.to_string().contains(&key[12..]),
        "the key is in the audit log"
    );
}

#[actix_web::test]
async fn only_a_valid_partner_key_opens_the_partner_routes() {
    let (app, editor) = TestApp::newsroom().await;
    let admin = app.token_for(Role::Admin).await;
    let (id, key, _) = partner(&app, &admin, json!({})).await;
    assert_eq!(app.get(CHANGES, Some(&key)).await.status, 200);

    let refused = |r: Reply| {
        r.problem(401);
        r.body["detail"].as_str().unwrap().to_owned()
    };
    let without = refused(app.get(CHANGES, None).await);
    let with_token = refused(app.get(CHANGES, Some(&editor)).await);
    let in_query = refused(app.get(&format!("{CHANGES}?key={key}"), None).await);
    let unknown = refused(
        app.get(CHANGES, Some(&format!("ndp_{}", "0".repeat(64))))
            .await,
    );
    // A partner key is no editor's token.
    app.get("/api/v1/admin/articles", Some(&key))
        .await
        .problem(401);

    // Rotation: with a grace period both keys work; with none the old one stops at once.
    let rotated = app
        .post(&format!("{PARTNERS}/{id}/keys"), &admin, json!({}))
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let second = rotated.body["key"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(CHANGES, Some(&key)).await.status,
        200,
        "in its grace period"
    );
    assert_eq!(app.get(CHANGES, Some(&second)).await.status, 200);
    let rotated = app
        .post(
            &format!("{PARTNERS}/{id}/keys"),
            &admin,
            json!({"grace_hours": 0}),
        )
        .await;
    let third = rotated.body["key"].as_str().unwrap().to_owned();
    let revoked = refused(app.get(CHANGES, Some(&key)).await);
    refused(app.get(CHANGES, Some(&second)).await);
    assert_eq!(app.get(CHANGES, Some(&third)).await.status, 200);
    app.post(
        &format!("{PARTNERS}/{id}/keys"),
        &admin,
        json!({"grace_hours": -1}),
    )
    .await
    .problem(422);

    // An expired partner's keys stop working.
    let read = app.get(&format!("{PARTNERS}/{id}"), Some(&admin)).await;
    let expired = app
        .send_if_match(
            Method::PATCH,
            &format!("{PARTNERS}/{id}"),
            &admin,
            read.header("etag").unwrap(),
            Some(json!({"expires_at": "2020-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(expired.status, 200, "{}", expired.body);
    let expired = refused(app.get(CHANGES, Some(&third)).await);

    // One answer for every refusal: no hint which part was wrong.
    for detail in [&with_token, &in_query, &unknown, &revoked, &expired] {
        assert_eq!(detail, &without);
    }

    // A deleted partner's keys stop working too.
    let (other, other_key, etag) = partner(&app, &admin, json!({})).await;
    assert_eq!(app.get(CHANGES, Some(&other_key)).await.status, 200);
    let deleted = app
        .send_if_match(
            Method::DELETE,
            &format!("{PARTNERS}/{other}"),
            &admin,
            &etag,
            None,
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    refused(app.get(CHANGES, Some(&other_key)).await);
}

#[actix_web::test]
async fn a_partner_over_its_rate_is_told_when_to_come_back_and_its_use_is_counted() {
    let (app, editor) = TestApp::newsroom().await;
    let admin = app.token_for(Role::Admin).await;
    syndicated_story(&app, &editor, "en", "Talks resume", &[]).await;
    let (id, key, _) = partner(&app, &admin, json!({"requests_per_minute": 3})).await;
    let first = app.get(CHANGES, Some(&key)).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("ratelimit-policy"),
        Some("\"partner\";q=3;w=60")
    );
    assert!(first
        .header("ratelimit")
        .unwrap()
        .starts_with("\"partner\";r=2;t="));
    assert_eq!(first.header("cache-control"), Some("private, no-store"));
    app.get(&format!("{CHANGES}?since=nonsense"), Some(&key))
        .await
        .problem(400);
    assert_eq!(app.get(CHANGES, Some(&key)).await.status, 200);
    let over = app.get(CHANGES, Some(&key)).await;
    over.problem(429);
    let wait: u64 = over.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(over
        .header("ratelimit")
        .unwrap()
        .starts_with("\"partner\";r=0;t="));

    for (what, written) in app.state.write_counts().await {
        written.unwrap_or_else(|e| panic!("{what}: {e}"));
    }
    let usage = app
        .get(&format!("{PARTNERS}/{id}/usage"), Some(&admin))
        .await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    assert_eq!(usage.body["requests"], 4);
    assert_eq!(usage.body["items"], 2, "one story, delivered twice");
    assert_eq!(usage.body["client_errors"], 1);
    assert_eq!(usage.body["rate_limited"], 1);
    let read = app.get(&format!("{PARTNERS}/{id}"), Some(&admin)).await;
    assert!(read.body["last_used_at"].is_string(), "{}", read.body);
    app.get(
        &format!("{PARTNERS}/{id}/usage?from=2026-02-01&to=2026-01-01"),
        Some(&admin),
    )
    .await
    .problem(400);
}

#[actix_web::test]
async fn the_change_feed_follows_every_publication_edit_and_withdrawal() {
    let (app, editor) = TestApp::newsroom().await;
    let admin = app.token_for(Role::Admin).await;
    let (_, key, _) = partner(&app, &admin, json!({})).await;

    let offered =
        syndicated_story(&app, &editor, "en", "Talks resume in Prague", &["georgia"]).await;
    let kept_home = app
        .publish_story(&editor, "en", "Not for partners", &[])
        .await;
    let (changes, cursor) = follow(&app, &key, None, "").await;
    assert_eq!(
        ids_and_actions(&changes),
        [(offered, "en".into(), "upsert".into())]
    );
    let item = &changes[0]["item"];
    assert_eq!(item["title"], "Talks resume in Prague");
    assert!(item["body"].as_str().unwrap().contains("A first paragraph"));
    assert_eq!(item["tags"][0]["slug"], "georgia");
    assert_eq!(item["image"]["alt"], "Delegations");
    let first_version = changes[0]["version"].as_i64().unwrap();
    assert_ne!(kept_home, offered);

    // Nothing new: the same cursor back, and no more.
    let idle = app
        .get(&format!("{CHANGES}?since={cursor}"), Some(&key))
        .await;
    assert_eq!(idle.body["items"], json!([]));
    assert_eq!(idle.body["next"], cursor.as_str());
    assert_eq!(idle.body["has_more"], false);

    // An edit of the published text is an upsert of the whole item, at a newer version.
    let (_, etag) = app.translation(&editor, offered, "en").await;
    let edited = app
        .send_if_match(
            Method::PATCH,
            &format!("/api/v1/admin/articles/{offered}/translations/en"),
            &editor,
            &etag,
            Some(json!({"title": "Talks resume in Prague on Monday"})),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    let (changes, cursor) = follow(&app, &key, Some(&cursor), "").await;
    assert_eq!(changes.len(), 1);
    assert_eq!(
        changes[0]["item"]["title"],
        "Talks resume in Prague on Monday"
    );
    assert!(changes[0]["version"].as_i64().unwrap() > first_version);

    // A second language is a second item.
    app.publish_translation(&editor, offered, "ka", "მოლაპარაკებები განახლდება")
        .await;
    let (changes, cursor) = follow(&app, &key, Some(&cursor), "").await;
    assert_eq!(
        ids_and_actions(&changes),
        [(offered, "ka".into(), "upsert".into())]
    );

    // Unpublished: a tombstone with the reason.
    let back = app
        .transition(&editor, offered, "ka", json!({"status": "draft"}))
        .await;
    assert_eq!(back.status, 200, "{}", back.body);
    let (changes, cursor) = follow(&app, &key, Some(&cursor), "").await;
    assert_eq!(
        ids_and_actions(&changes),
        [(offered, "ka".into(), "delete".into())]
    );
    assert_eq!(changes[0]["reason"], "unpublished");
    assert!(changes[0].get("item").is_none());

    // No longer offered to partners.
    let off = app
        .story_write(
            Method::PATCH,
            &editor,
            offered,
            Some(json!({"syndicate": false})),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    let (changes, cursor) = follow(&app, &key, Some(&cursor), "").await;
    assert_eq!(
        ids_and_actions(&changes),
        [(offered, "en".into(), "delete".into())]
    );
    assert_eq!(changes[0]["reason"], "not_syndicated");
    app.get(
        &format!("/api/v1/syndication/articles/{offered}/en"),
        Some(&key),
    )
    .await
    .problem(404);

    // Archived, and deleted.
    let archived = syndicated_story(&app, &editor, "en", "To be archived", &[]).await;
    let deleted = syndicated_story(&app, &editor, "en", "To be deleted", &[]).await;
    let item = app
        .get(
            &format!("/api/v1/syndication/articles/{archived}/en"),
            Some(&key),
        )
        .await;
    assert_eq!(item.status, 200, "{}", item.body);
    assert_eq!(item.body["title"], "To be archived");
    app.transition(&editor, archived, "en", json!({"status": "archived"}))
        .await;
    app.transition(&editor, deleted, "en", json!({"status": "draft"}))
        .await;
    let gone = app
        .story_write(Method::DELETE, &editor, deleted, None)
        .await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    let (changes, _) = follow(&app, &key, Some(&cursor), "").await;
    let reasons: HashMap<i64, &str> = changes
        .iter()
        .filter(|c| c["action"] == "delete")
        .map(|c| (c["id"].as_i64().unwrap(), c["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(reasons[&archived], "archived");
    assert_eq!(reasons[&deleted], "deleted");
    assert_eq!(
        changes.len(),
        2,
        "each item once, as it stands now: {changes:?}"
    );

    // A partner that starts now loads the archive from the beginning: every item once, and
    // tombstones for what it never had are harmless.
    let (all, _) = follow(&app, &key, None, "").await;
    let upserts: Vec<_> = ids_and_actions(&all)
        .into_iter()
        .filter(|(_, _, a)| a == "upsert")
        .collect();
    assert_eq!(
        upserts,
        Vec::<(i64, String, String)>::new(),
        "nothing is offered any more"
    );
}

#[actix_web::test]
async fn a_partner_sees_only_its_languages_and_tags() {
    let (app, editor) = TestApp::newsroom().await;
    let admin = app.token_for(Role::Admin).await;
    let (_, key, _) = partner(
        &app,
        &admin,
        json!({"languages": ["en"], "tags": ["armenia"]}),
    )
    .await;
    let armenian = syndicated_story(&app, &editor, "en", "Yerevan", &["armenia"]).await;
    let georgian = syndicated_story(&app, &editor, "en", "Tbilisi", &["georgia"]).await;
    syndicated_story(&app, &editor, "ru", "Москва", &["armenia"]).await;
    let (changes, _) = follow(&app, &key, None, "").await;
    let seen = ids_and_actions(&changes);
    assert_eq!(
        seen,
        [
            (armenian, "en".into(), "upsert".into()),
            (georgian, "en".into(), "delete".into()),
        ]
    );
    assert_eq!(changes[1]["reason"], "out_of_scope");
    app.get(&format!("{CHANGES}?lang=ru"), Some(&key))
        .await
        .problem(403);
    app.get(
        &format!("/api/v1/syndication/articles/{armenian}/ru"),
        Some(&key),
    )
    .await
    .problem(403);
    app.get(
        &format!("/api/v1/syndication/articles/{georgian}/en"),
        Some(&key),
    )
    .await
    .problem(404);
    let item = app
        .get(
            &format!("/api/v1/syndication/articles/{armenian}/en"),
            Some(&key),
        )
        .await;
    assert_eq!(item.status, 200, "{}", item.body);
}

#[actix_web::test]
async fn bad_cursors_limits_and_formats_are_refused_naming_the_parameter() {
    let (app, _) = TestApp::newsroom().await;
    let admin = app.token_for(Role::Admin).await;
    let (_, key, _) = partner(&app, &admin, json!({})).await;
    let foreign = app
        .get("/api/v1/admin/partners?limit=1", Some(&admin))
        .await;
    assert!(foreign.body["next_cursor"].is_null());
    for (query, field) in [
        ("since=garbage", "since"),
        ("since=i1.0000000000000001", "since"),
        ("since=c1.00", "since"),
        ("since=c1.ffffffffffffffff0000000000000000", "since"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("format=xml", "format"),
        ("lang=not%20a%20language", "lang"),
    ] {
        let reply = app.get(&format!("{CHANGES}?{query}"), Some(&key)).await;
        let problem = reply.problem(400);
        assert!(problem.to_string().contains(field), "{query}: {problem}");
    }
}

/// IPTC's ninjs 3.1 schema, compiled, with a check that it accepts and refuses what IPTC's own
/// test suite says it should.
fn ninjs_schema() -> (boon::Schemas, boon::SchemaIndex) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/ninjs");
    let schema: Value =
        serde_json::from_slice(&std::fs::read(dir.join("ninjs-schema_3.1.json")).unwrap()).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    // The schema refers to GeoJSON's for places, which Newsdesk never sends; with no network,
    // that one reference accepts anything.
    compiler
        .add_resource("https://geojson.org/schema/GeoJSON.json", json!({}))
        .unwrap();
    let url = "http://www.iptc.org/std/ninjs/ninjs-schema_3.1.json";
    compiler.add_resource(url, schema).unwrap();
    let index = compiler.compile(url, &mut schemas).unwrap();
    let mut checked = 0;
    for (verdict, valid) in [("should_pass", true), ("should_fail", false)] {
        for file in std::fs::read_dir(dir.join("test_suite/3.1").join(verdict)).unwrap() {
            let path = file.unwrap().path();
            let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(
                schemas.validate(&doc, index).is_ok(),
                valid,
                "{}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "IPTC's test suite is missing");
    (schemas, index)
}

#[track_caller]
fn assert_ninjs(schema: &(boon::Schemas, boon::SchemaIndex), doc: &Value) {
    if let Err(e) = schema.0.validate(doc, schema.1) {
        panic!("not valid ninjs 3.1: {e:#}\n{doc:#}");
    }
}

#[actix_web::test]
async fn every_ninjs_item_validates_against_iptcs_schema() {
    let schema = ninjs_schema();
    let (app, editor) = TestApp::newsroom().await;
    let admin = app.token_for(Role::Admin).await;
    let (_, key, _) = partner(&app, &admin, json!({})).await;
    let id = syndicated_story(
        &app,
        &editor,
        "en",
        "Talks: 3 < 5 & \"quotes\"",
        &["georgia", "georgia-russia"],
    )
    .await;
    app.publish_translation(&editor, id, "ru", "Переговоры возобновятся")
        .await;
    let withdrawn = syndicated_story(&app, &editor, "en", "Withdrawn", &[]).await;
    app.transition(&editor, withdrawn, "en", json!({"status": "draft"}))
        .await;

    let page = app
        .get(&format!("{CHANGES}?format=ninjs"), Some(&key))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("content-type"), Some("application/ninjs+json"));
    let items = page.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{}", page.body);
    for change in items {
        assert_ninjs(&schema, &change["item"]);
    }
    let en = &items
        .iter()
        .find(|c| c["lang"] == "en" && c["action"] == "upsert")
        .unwrap()["item"];
    assert_eq!(en["type"], "text");
    assert_eq!(en["language"], "en");
    assert_eq!(en["pubStatus"], "usable");
    assert_eq!(en["headlines"][0]["value"], "Talks: 3 < 5 & \"quotes\"");
    assert_eq!(en["headlines"][1]["value"], "A subtitle");
    assert_eq!(en["bodies"][0]["contentType"], "text/html");
    assert_eq!(en["associations"][0]["type"], "picture");
    assert_eq!(
        en["associations"][0]["descriptions"][0]["value"],
        "Delegations"
    );
    let uri = en["uri"].as_str().unwrap();
    assert!(
        uri.starts_with("urn:newsdesk:") && uri.ends_with(&format!(":story:{id}:en")),
        "{uri}"
    );
    let alt_roles: Vec<&str> = en["altIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["role"].as_str().unwrap())
        .collect();
    assert!(alt_roles.contains(&"translation:ru"), "{alt_roles:?}");
    let ru_item = &items.iter().find(|c| c["lang"] == "ru").unwrap()["item"];
    let subjects: Vec<&str> = ru_item["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        ["Грузия", "Грузия–Россия"],
        "tags named in the item's language"
    );
    let tombstone = &items.iter().find(|c| c["action"] == "delete").unwrap()["item"];
    assert_eq!(tombstone["pubStatus"], "canceled");

    // The item route, asked for ninjs by Accept.
    let req = TestRequest::get()
        .uri(&format!("/api/v1/syndication/articles/{id}/ru"))
        .insert_header((header::AUTHORIZATION, format!("Bearer {key}")))
        .insert_header((header::ACCEPT, "application/ninjs+json"));
    let one = app.call(req).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.header("content-type"), Some("application/ninjs+json"));
    assert_ninjs(&schema, &one.body);
    assert_eq!(one.body["language"], "ru");
}

/// Writers on several threads publish, edit and withdraw stories at random while a reader
/// follows the feed. At the end the reader's copy is exactly what is offered now, each item in
/// its latest version: no change was skipped, whatever order the writers' transactions
/// committed in.
#[test]
fn no_change_is_skipped_while_writers_race_a_reader() {
    const WRITERS: usize = 3;
    const STORIES_EACH: usize = 3;
    const STEPS: usize = 12;
    let (app, editor, key) = actix_web::rt::System::new().block_on(async {
        let (app, editor) = TestApp::newsroom().await;
        let admin = app.token_for(Role::Admin).await;
        let (_, key, _) = partner(&app, &admin, json!({})).await;
        (app, editor, key)
    });
    let app = Arc::new(app);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (app, editor) = (app.clone(), editor.clone());
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let mut state = (w as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    let mut next = move |n: u64| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state % n
                    };
                    let mut stories = Vec::new();
                    for s in 0..STORIES_EACH {
                        let title = format!("Writer {w} story {s}");
                        stories.push(syndicated_story(&app, &editor, "en", &title, &[]).await);
                    }
                    for step in 0..STEPS {
                        let id = stories[next(STORIES_EACH as u64) as usize];
                        let (t, etag) = app.translation(&editor, id, "en").await;
                        let published = t["status"] == "published";
                        let reply = match next(3) {
                            0 => {
                                let status = if published { "draft" } else { "published" };
                                app.transition(&editor, id, "en", json!({"status": status}))
                                    .await
                            }
                            _ => {
                                app.send_if_match(
                                    Method::PATCH,
                                    &format!("/api/v1/admin/articles/{id}/translations/en"),
                                    &editor,
                                    &etag,
                                    Some(json!({"title": format!("Writer {w} story {id} step {step}")})),
                                )
                                .await
                            }
                        };
                        assert_eq!(reply.status, 200, "{}", reply.body);
                    }
                })
            })
        })
        .collect();
    let reader = {
        let (app, key, done) = (app.clone(), key.clone(), done.clone());
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let mut copy: HashMap<(i64, String), (i64, String)> = HashMap::new();
                let mut cursor: Option<String> = None;
                loop {
                    let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                    let (changes, next) = follow(&app, &key, cursor.as_deref(), "").await;
                    for c in changes {
                        let at = (
                            c["id"].as_i64().unwrap(),
                            c["lang"].as_str().unwrap().to_owned(),
                        );
                        if c["action"] == "upsert" {
                            let title = c["item"]["title"].as_str().unwrap().to_owned();
                            copy.insert(at, (c["version"].as_i64().unwrap(), title));
                        } else {
                            copy.remove(&at);
                        }
                    }
                    cursor = Some(next);
                    // One more pass after the writers stopped picks up their last changes.
                    if finished {
                        return copy;
                    }
                }
            })
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let copy = reader.join().unwrap();

    // What is offered now, read afresh from the beginning of the feed.
    let truth = actix_web::rt::System::new().block_on(async {
        let (all, _) = follow(&app, &key, None, "").await;
        let mut truth = HashMap::new();
        for c in all.iter().filter(|c| c["action"] == "upsert") {
            let at = (
                c["id"].as_i64().unwrap(),
                c["lang"].as_str().unwrap().to_owned(),
            );
            let title = c["item"]["title"].as_str().unwrap().to_owned();
            truth.insert(at, (c["version"].as_i64().unwrap(), title));
        }
        // And as the Admin API tells it: every published story, under its latest title.
        let list = app
            .get(
                "/api/v1/admin/articles?status=published&limit=100",
                Some(&editor),
            )
            .await;
        assert_eq!(list.status, 200, "{}", list.body);
        let published = list.body["items"].as_array().unwrap().len();
        assert_eq!(truth.len(), published, "{}", list.body);
        truth
    });
    assert!(!truth.is_empty());
    assert_eq!(copy, truth);
}

/// A key revoked through one node stops working on another within `CONTENT_FRESHNESS_MS`.
#[actix_web::test]
async fn a_revoked_key_stops_working_on_every_node_within_the_freshness_bound() {
    let (app, _) = TestApp::newsroom().await;
    let admin = app.token_for(Role::Admin).await;
    let (id, key, _) = partner(&app, &admin, json!({})).await;
    let other = app.second_node();
    // Let the second node read the content version once, then the keys.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(other.get(CHANGES, Some(&key)).await.status, 200);
    let rotated = app
        .post(
            &format!("{PARTNERS}/{id}/keys"),
            &admin,
            json!({"grace_hours": 0}),
        )
        .await;
    assert_eq!(rotated.status, 201);
    let bound = std::time::Duration::from_millis(app.state.config.content_freshness_ms);
    let started = std::time::Instant::now();
    loop {
        let status = other.get(CHANGES, Some(&key)).await.status;
        if status == 401 {
            break;
        }
        assert!(
            started.elapsed() < bound + std::time::Duration::from_millis(500),
            "the other node still lets the revoked key in after {:?}",
            started.elapsed()
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let new_key = rotated.body["key"].as_str().unwrap();
    assert_eq!(other.get(CHANGES, Some(new_key)).await.status, 200);
}
