//! Languages end to end: the public list, admin management and the rules.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use newsdesk::auth::Role;

use crate::common::{texts, TestApp};

fn codes(body: &Value) -> Vec<&str> {
    texts(&body["items"], "code")
}

#[actix_web::test]
async fn the_public_list_has_enabled_languages_in_switcher_order_and_is_cacheable() {
    let app = TestApp::new().await;
    app.seed_languages();
    let admin = app.token_for(Role::Admin).await;
    let list = app.get("/api/v1/languages", None).await;
    assert_eq!(list.status, 200);
    assert_eq!(codes(&list.body), vec!["en", "ru", "ka", "hy", "az"]);
    assert_eq!(list.body["items"][2]["native_name"], "ქართული");
    assert_eq!(list.body["items"][2]["fallback"], "ru");
    assert!(list.header("cache-control").unwrap().starts_with("public"));
    let etag = list.header("etag").unwrap().to_owned();

    let cached = app
        .call(
            TestRequest::get()
                .uri("/api/v1/languages")
                .insert_header(("if-none-match", etag.clone())),
        )
        .await;
    assert_eq!(cached.status, 304);
    assert_eq!(cached.body, Value::Null);

    let off = app
        .send(
            Method::PATCH,
            "/api/v1/admin/languages/hy",
            Some(&admin),
            Some(json!({"enabled": false, "position": 9})),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    let list = app.get("/api/v1/languages", None).await;
    assert_eq!(codes(&list.body), vec!["en", "ru", "ka", "az"]);
    assert_ne!(
        list.header("etag").unwrap(),
        etag,
        "a change changes the ETag"
    );
    app.get("/api/v1/languages/hy", None).await.problem(404);
    app.get("/api/v1/languages/xx", None).await.problem(404);
    app.get("/api/v1/languages/not%20a%20code", None)
        .await
        .problem(404);
    let one = app.get("/api/v1/languages/KA", None).await;
    assert_eq!(one.body["code"], "ka");

    let admin_list = app.get("/api/v1/admin/languages", Some(&admin)).await;
    assert_eq!(codes(&admin_list.body), vec!["en", "ru", "ka", "az", "hy"]);
    assert_eq!(admin_list.body["items"][4]["enabled"], false);
}

#[actix_web::test]
async fn admins_write_languages_and_everyone_signed_in_reads() {
    let app = TestApp::new().await;
    app.seed_languages();
    let new = json!({"code": "de", "name": "German", "native_name": "Deutsch"});
    let writes = [
        (Method::POST, "/api/v1/admin/languages", Some(new.clone())),
        (
            Method::PATCH,
            "/api/v1/admin/languages/az",
            Some(json!({"position": 7})),
        ),
        (Method::DELETE, "/api/v1/admin/languages/az", None),
    ];
    for (method, path, body) in &writes {
        assert_eq!(
            app.send(method.clone(), path, None, body.clone())
                .await
                .status,
            401
        );
        for role in [Role::Contributor, Role::Author, Role::Editor] {
            let token = app.token_for(role).await;
            app.send(method.clone(), path, Some(&token), body.clone())
                .await
                .problem(403);
            let read = app.get("/api/v1/admin/languages/az", Some(&token)).await;
            assert_eq!(read.status, 200, "{role:?} reads");
        }
    }
    app.get("/api/v1/admin/languages", None).await.problem(401);

    let admin = app.token_for(Role::Admin).await;
    let created = app
        .send(
            Method::POST,
            "/api/v1/admin/languages",
            Some(&admin),
            Some(new.clone()),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.header("location"),
        Some("/api/v1/admin/languages/de")
    );
    assert_eq!(created.body["direction"], "ltr");
    assert_eq!(created.body["is_default"], false);
    app.send(
        Method::POST,
        "/api/v1/admin/languages",
        Some(&admin),
        Some(new),
    )
    .await
    .problem(409);

    let changed = app
        .send(
            Method::PATCH,
            "/api/v1/admin/languages/de",
            Some(&admin),
            Some(json!({"name": "German (Germany)", "fallback": "en", "direction": "ltr"})),
        )
        .await;
    assert_eq!(changed.body["name"], "German (Germany)");
    assert_eq!(changed.body["fallback"], "en");
    let cleared = app
        .send(
            Method::PATCH,
            "/api/v1/admin/languages/de",
            Some(&admin),
            Some(json!({"fallback": null})),
        )
        .await;
    assert_eq!(cleared.body["fallback"], Value::Null);
    assert_eq!(
        cleared.body["name"], "German (Germany)",
        "absent fields stay"
    );

    let gone = app
        .send(
            Method::DELETE,
            "/api/v1/admin/languages/de",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(gone.status, 204);
    app.get("/api/v1/admin/languages/de", Some(&admin))
        .await
        .problem(404);
    app.send(
        Method::DELETE,
        "/api/v1/admin/languages/de",
        Some(&admin),
        None,
    )
    .await
    .problem(404);
}

#[actix_web::test]
async fn codes_are_normalised_and_fields_validated_together() {
    let app = TestApp::new().await;
    app.seed_languages();
    let admin = app.token_for(Role::Admin).await;
    let created = app
        .send(
            Method::POST,
            "/api/v1/admin/languages",
            Some(&admin),
            Some(json!({"code": "PT-br", "name": "Portuguese (Brazil)", "native_name": "Português", "direction": "ltr"})),
        )
        .await;
    assert_eq!(created.body["code"], "pt-BR");
    let rtl = app
        .send(
            Method::POST,
            "/api/v1/admin/languages",
            Some(&admin),
            Some(json!({"code": "ar", "name": "Arabic", "native_name": "العربية", "direction": "rtl"})),
        )
        .await;
    assert_eq!(rtl.body["direction"], "rtl");

    let invalid = app
        .send(
            Method::POST,
            "/api/v1/admin/languages",
            Some(&admin),
            Some(json!({"code": "english!", "name": "", "native_name": "x", "position": -1, "fallback": "zz"})),
        )
        .await;
    invalid.problem(422);
    let mut fields = invalid.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["code", "name", "position"]);

    let unknown_fallback = app
        .send(
            Method::POST,
            "/api/v1/admin/languages",
            Some(&admin),
            Some(json!({"code": "uk", "name": "Ukrainian", "native_name": "Українська", "fallback": "zz"})),
        )
        .await;
    assert_eq!(
        unknown_fallback.problem(422)["errors"][0]["field"],
        "fallback"
    );
    app.send(
        Method::POST,
        "/api/v1/admin/languages",
        Some(&admin),
        Some(json!({"code": "uk", "name": "Ukrainian", "native_name": "Українська", "direction": "up"})),
    )
    .await
    .problem(422);
    app.send(
        Method::PATCH,
        "/api/v1/admin/languages/zz",
        Some(&admin),
        Some(json!({"position": 1})),
    )
    .await
    .problem(404);
}

#[actix_web::test]
async fn exactly_one_default_language_at_all_times() {
    let app = TestApp::new().await;
    app.seed_languages();
    let admin = app.token_for(Role::Admin).await;
    let defaults = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["is_default"] == true)
            .map(|l| l["code"].as_str().unwrap().to_owned())
            .collect()
    };

    let switched = app
        .send(
            Method::PATCH,
            "/api/v1/admin/languages/ka",
            Some(&admin),
            Some(json!({"is_default": true})),
        )
        .await;
    assert_eq!(switched.body["is_default"], true);
    assert_eq!(
        defaults(&app.get("/api/v1/admin/languages", Some(&admin)).await.body),
        vec!["ka"]
    );

    app.send(
        Method::PATCH,
        "/api/v1/admin/languages/ka",
        Some(&admin),
        Some(json!({"enabled": false})),
    )
    .await
    .problem(409);
    let unset = app
        .send(
            Method::PATCH,
            "/api/v1/admin/languages/ka",
            Some(&admin),
            Some(json!({"is_default": false})),
        )
        .await;
    assert_eq!(unset.problem(422)["errors"][0]["field"], "is_default");
    app.send(
        Method::DELETE,
        "/api/v1/admin/languages/ka",
        Some(&admin),
        None,
    )
    .await
    .problem(409);

    app.send(
        Method::PATCH,
        "/api/v1/admin/languages/hy",
        Some(&admin),
        Some(json!({"enabled": false})),
    )
    .await;
    let disabled_default = app
        .send(
            Method::PATCH,
            "/api/v1/admin/languages/hy",
            Some(&admin),
            Some(json!({"is_default": true})),
        )
        .await;
    assert_eq!(
        disabled_default.problem(422)["errors"][0]["field"],
        "enabled"
    );
    let created_default = app
        .send(
            Method::POST,
            "/api/v1/admin/languages",
            Some(&admin),
            Some(json!({"code": "de", "name": "German", "native_name": "Deutsch", "is_default": true})),
        )
        .await;
    assert_eq!(created_default.status, 201);
    assert_eq!(
        defaults(&app.get("/api/v1/admin/languages", Some(&admin)).await.body),
        vec!["de"]
    );
}

#[actix_web::test]
async fn the_first_language_becomes_the_default() {
    let app = TestApp::new().await;
    let admin = app.token_for(Role::Admin).await;
    let first = app
        .send(
            Method::POST,
            "/api/v1/admin/languages",
            Some(&admin),
            Some(json!({"code": "ka", "name": "Georgian", "native_name": "ქართული"})),
        )
        .await;
    assert_eq!(first.body["is_default"], true);
}

#[actix_web::test]
async fn fallback_chains_never_form_a_cycle() {
    let app = TestApp::new().await;
    app.seed_languages();
    let admin = app.token_for(Role::Admin).await;
    // ka → ru → en already; en → ka would close the loop.
    for (code, fallback) in [("en", "ka"), ("ru", "ka"), ("ka", "ka")] {
        let reply = app
            .send(
                Method::PATCH,
                &format!("/api/v1/admin/languages/{code}"),
                Some(&admin),
                Some(json!({"fallback": fallback})),
            )
            .await;
        assert_eq!(
            reply.problem(422)["errors"][0]["field"],
            "fallback",
            "{code} → {fallback}"
        );
    }
    let fine = app
        .send(
            Method::PATCH,
            "/api/v1/admin/languages/hy",
            Some(&admin),
            Some(json!({"fallback": "ka"})),
        )
        .await;
    assert_eq!(fine.status, 200);

    // A language others fall back to cannot be deleted.
    let refused = app
        .send(
            Method::DELETE,
            "/api/v1/admin/languages/ru",
            Some(&admin),
            None,
        )
        .await;
    assert!(refused.problem(409)["detail"]
        .as_str()
        .unwrap()
        .contains("ka"));
}

#[actix_web::test]
async fn concurrent_default_switches_leave_exactly_one_default() {
    let app = TestApp::new().await;
    app.seed_languages();
    let admin = app.token_for(Role::Admin).await;
    let paths = ["ru", "ka", "hy", "az", "ru", "ka", "hy", "az"]
        .map(|c| format!("/api/v1/admin/languages/{c}"));
    let switches = paths.iter().map(|path| {
        app.send(
            Method::PATCH,
            path,
            Some(&admin),
            Some(json!({"is_default": true})),
        )
    });
    for reply in futures_util::future::join_all(switches).await {
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let all = app.get("/api/v1/admin/languages", Some(&admin)).await;
    let defaults = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["is_default"] == true)
        .count();
    assert_eq!(defaults, 1);
}
