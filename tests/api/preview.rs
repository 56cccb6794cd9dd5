//! Draft previews: a link to one translation in any state, shaped as the article page, that
//! grants nothing else, expires, and works on every node and after a restart.

use newsdesk::auth::Role;
use serde_json::{json, Value};

use crate::common::TestApp;

async fn preview_link(app: &TestApp, token: &str, id: i64, lang: &str, body: Value) -> Value {
    let reply = app
        .post(
            &format!("/api/v1/admin/articles/{id}/translations/{lang}/preview"),
            token,
            body,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

/// Fields of an article page that only a preview adds, removed to compare shapes.
fn without_preview_fields(mut page: Value) -> Value {
    let o = page.as_object_mut().unwrap();
    o.remove("preview");
    o.remove("status");
    page
}

#[actix_web::test]
async fn a_draft_previews_in_the_article_page_shape_and_nothing_is_published() {
    let (app, editor) = TestApp::newsroom().await;
    let id = app
        .create_story(
            &editor,
            "en",
            "Talks resume at the mountain crossing",
            &["georgia-russia"],
        )
        .await;
    let link = preview_link(&app, &editor, id, "en", json!({})).await;
    let token = link["token"].as_str().unwrap();
    assert!(link["api_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/api/v1/preview/{token}")));
    assert!(link["site_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/preview/{token}")));

    let page = app.get(&format!("/api/v1/preview/{token}"), None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["preview"], true);
    assert_eq!(page.body["status"], "draft");
    assert_eq!(page.body["title"], "Talks resume at the mountain crossing");
    assert_eq!(page.body["tags"][0]["slug"], "georgia-russia");
    assert_eq!(page.header("cache-control"), Some("private, no-store"));
    assert_eq!(page.header("x-robots-tag"), Some("noindex"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("content-language"), Some("en"));

    // The story itself is still unknown to readers.
    let slug = page.body["slug"].as_str().unwrap().to_owned();
    let public = app.get(&format!("/api/v1/articles/en/{slug}"), None).await;
    assert_eq!(public.status, 404);

    // The preview follows the draft as it is edited, and its includes work as on the page.
    let (_, etag) = app.translation(&editor, id, "en").await;
    let saved = app
        .send_if_match(
            actix_web::http::Method::PATCH,
            &format!("/api/v1/admin/articles/{id}/translations/en"),
            &editor,
            &etag,
            Some(json!({"title": "Talks resume, both sides say"})),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let again = app
        .get(
            &format!("/api/v1/preview/{token}?include=most_read,related"),
            None,
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["title"], "Talks resume, both sides say");
    assert!(again.body["most_read"].is_array());

    // Once published, the preview and the page are the same document but for the preview's
    // own two fields.
    let published = app
        .transition(&editor, id, "en", json!({"status": "published"}))
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let slug = app.slug_of(&editor, id, "en").await;
    let public = app.get(&format!("/api/v1/articles/en/{slug}"), None).await;
    let preview = app.get(&format!("/api/v1/preview/{token}"), None).await;
    assert_eq!(preview.body["status"], "published");
    assert_eq!(without_preview_fields(preview.body.clone()), public.body);
    assert!(public.body.get("preview").is_none());

    // The link was audited.
    let admin = app.token_for(Role::Admin).await;
    let audit = app
        .get(
            "/api/v1/admin/audit?action=translation.preview",
            Some(&admin),
        )
        .await;
    assert_eq!(
        audit.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        audit.body
    );
}

#[actix_web::test]
async fn a_preview_link_grants_nothing_else_and_refuses_forgeries() {
    let (app, editor) = TestApp::newsroom().await;
    let id = app
        .create_story(&editor, "en", "A draft nobody else may read", &[])
        .await;
    let link = preview_link(&app, &editor, id, "en", json!({"expires_in": 600})).await;
    let token = link["token"].as_str().unwrap().to_owned();

    // Not an access token: the Admin API refuses it.
    let admin_api = app
        .get(&format!("/api/v1/admin/articles/{id}"), Some(&token))
        .await;
    assert_eq!(admin_api.status, 401);
    // And an access token is not a preview link.
    let foreign = app.get(&format!("/api/v1/preview/{editor}"), None).await;
    foreign.problem(401);
    // Tampered: one character of the signature changed.
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let reply = app.get(&format!("/api/v1/preview/{tampered}"), None).await;
    reply.problem(401);
    // Tampered: the claims changed to name another translation, the signature kept.
    use base64::Engine;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = claims_of(&token);
    claims["tid"] = json!(claims["tid"].as_i64().unwrap() + 1);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    app.get(&format!("/api/v1/preview/{forged}"), None)
        .await
        .problem(401);
    // Garbage.
    app.get("/api/v1/preview/not-a-token", None)
        .await
        .problem(401);

    // Out of range lifetimes change nothing and say why.
    let too_long = app
        .post(
            &format!("/api/v1/admin/articles/{id}/translations/en/preview"),
            &editor,
            json!({"expires_in": 8 * 24 * 3600}),
        )
        .await;
    too_long.problem(422);
    assert_eq!(too_long.error_fields(), vec!["expires_in"]);

    // A contributor who may not read the story cannot make a link to it; nobody signed out can.
    let contributor = app.token_for(Role::Contributor).await;
    let refused = app
        .post(
            &format!("/api/v1/admin/articles/{id}/translations/en/preview"),
            &contributor,
            json!({}),
        )
        .await;
    refused.problem(404);
    let anonymous = app
        .call(
            actix_web::test::TestRequest::post()
                .uri(&format!(
                    "/api/v1/admin/articles/{id}/translations/en/preview"
                ))
                .set_json(json!({})),
        )
        .await;
    anonymous.problem(401);

    // Deleting the translation leaves the link naming nothing.
    let (_, etag) = app.translation(&editor, id, "en").await;
    let deleted = app
        .send_if_match(
            actix_web::http::Method::DELETE,
            &format!("/api/v1/admin/articles/{id}/translations/en"),
            &editor,
            &etag,
            None,
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    app.get(&format!("/api/v1/preview/{token}"), None)
        .await
        .problem(404);
}

#[actix_web::test]
async fn a_preview_link_works_on_another_node_and_expires() {
    let (app, editor) = TestApp::newsroom().await;
    let id = app
        .create_story(&editor, "en", "Scheduled for the morning", &[])
        .await;
    let link = preview_link(&app, &editor, id, "en", json!({"expires_in": 1})).await;
    let token = link["token"].as_str().unwrap().to_owned();
    let expires =
        chrono::DateTime::parse_from_rfc3339(link["expires_at"].as_str().unwrap()).unwrap();
    let lifetime = expires.timestamp() - chrono::Utc::now().timestamp();
    assert!((0..=1).contains(&lifetime), "{lifetime}");

    // Another node (same secret, its own memory) reads it: nothing is kept per node.
    let other = app.second_node();
    let there = other.get(&format!("/api/v1/preview/{token}"), None).await;
    assert_eq!(there.status, 200, "{}", there.body);

    // Past its expiry and the tolerated clock skew, it is refused like a forgery: a link signed
    // with the node's preview key that expired two minutes ago.
    let mut claims = claims_of(&token);
    let now = chrono::Utc::now().timestamp();
    claims["iat"] = json!(now - 600);
    claims["exp"] = json!(now - 120);
    let expired = sign_preview(&claims);
    app.get(&format!("/api/v1/preview/{expired}"), None)
        .await
        .problem(401);
    // The same claims, still valid, are accepted: the refusal above is the expiry's.
    claims["exp"] = json!(now + 120);
    let valid = sign_preview(&claims);
    assert_eq!(
        app.get(&format!("/api/v1/preview/{valid}"), None)
            .await
            .status,
        200
    );
}

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&b64.decode(payload).unwrap()).unwrap()
}

/// Signs `claims` as a node would sign a preview link: HS256 with HMAC-SHA256(secret, "newsdesk
/// preview tokens").
fn sign_preview(claims: &Value) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(crate::common::SECRET.as_bytes()).unwrap();
    mac.update(b"newsdesk preview tokens");
    let key = mac.finalize().into_bytes();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(&key),
    )
    .unwrap()
}
