//! Admin-only account management, the role matrix and the last-admin rule.

use actix_web::http::Method;
use serde_json::json;

use newsdesk::auth::Role;

use crate::common::{TestApp, PASSWORD};

#[actix_web::test]
async fn only_admins_manage_accounts() {
    let app = TestApp::new().await;
    let target = app.create_user("target@newsroom.example", Role::Author);
    let calls = [
        (Method::GET, "/api/v1/admin/users".to_owned(), None),
        (
            Method::POST,
            "/api/v1/admin/users".to_owned(),
            Some(
                json!({"email": "new@newsroom.example", "display_name": "New", "role": "author", "password": PASSWORD}),
            ),
        ),
        (Method::GET, format!("/api/v1/admin/users/{target}"), None),
        (
            Method::PATCH,
            format!("/api/v1/admin/users/{target}"),
            Some(json!({"display_name": "Renamed"})),
        ),
        (
            Method::POST,
            format!("/api/v1/admin/users/{target}/password"),
            Some(json!({"password": "another long passphrase"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/admin/users/{target}"),
            None,
        ),
    ];
    for (method, path, body) in &calls {
        let anonymous = app.send(method.clone(), path, None, body.clone()).await;
        assert_eq!(anonymous.status, 401, "{method} {path} anonymous");
        for role in [Role::Contributor, Role::Author, Role::Editor] {
            let token = app.token_for(role).await;
            let reply = app
                .send(method.clone(), path, Some(&token), body.clone())
                .await;
            assert_eq!(reply.status, 403, "{method} {path} as {role:?}");
            reply.problem(403);
        }
    }
    let admin = app.token_for(Role::Admin).await;
    let expected = [200, 201, 200, 200, 204, 204];
    for ((method, path, body), status) in calls.iter().zip(expected) {
        let reply = app
            .send(method.clone(), path, Some(&admin), body.clone())
            .await;
        assert_eq!(
            reply.status, status,
            "{method} {path} as admin: {}",
            reply.body
        );
    }
    app.get(&format!("/api/v1/admin/users/{target}"), Some(&admin))
        .await
        .problem(404);
}

#[actix_web::test]
async fn accounts_are_created_validated_and_unique_by_email() {
    let app = TestApp::new().await;
    let admin = app.token_for(Role::Admin).await;
    let create = |body| {
        app.send(
            Method::POST,
            "/api/v1/admin/users",
            Some(&admin),
            Some(body),
        )
    };
    let created = create(json!({"email": "Tamar@Newsroom.example", "display_name": "Tamar", "role": "contributor", "password": PASSWORD})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["email"], "tamar@newsroom.example");
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/admin/users/{id}").as_str())
    );
    assert_eq!(
        app.login("tamar@newsroom.example", PASSWORD).await.status,
        200
    );

    create(json!({"email": "TAMAR@newsroom.example", "display_name": "Again", "role": "author", "password": PASSWORD}))
        .await
        .problem(409);
    let invalid = create(
        json!({"email": "nope", "display_name": " ", "role": "author", "password": "short"}),
    )
    .await;
    invalid.problem(422);
    let mut fields = invalid.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["display_name", "email", "password"]);
    create(json!({"email": "x@newsroom.example", "display_name": "X", "role": "chief", "password": PASSWORD}))
        .await
        .problem(422);
}

#[actix_web::test]
async fn the_last_enabled_admin_cannot_be_removed() {
    let app = TestApp::new().await;
    let admin = app.token_for(Role::Admin).await;
    let me = app.get("/api/v1/auth/me", Some(&admin)).await.body["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/admin/users/{me}");
    for change in [json!({"role": "editor"}), json!({"disabled": true})] {
        app.send(Method::PATCH, &path, Some(&admin), Some(change))
            .await
            .problem(409);
    }
    app.send(Method::DELETE, &path, Some(&admin), None)
        .await
        .problem(409);
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&admin)).await.body["role"],
        "admin"
    );

    let second = app.create_user("second@newsroom.example", Role::Admin);
    let demoted = app
        .send(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"role": "editor"})),
        )
        .await;
    assert_eq!(demoted.status, 200);
    let second_token = app.login("second@newsroom.example", PASSWORD).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.send(
        Method::PATCH,
        &format!("/api/v1/admin/users/{second}"),
        Some(&second_token),
        Some(json!({"disabled": true})),
    )
    .await
    .problem(409);
}

#[actix_web::test]
async fn role_changes_and_disabling_apply_to_the_very_next_request() {
    let app = TestApp::new().await;
    let admin = app.token_for(Role::Admin).await;
    let id = app.create_user("h@newsroom.example", Role::Editor);
    let token = app.login("h@newsroom.example", PASSWORD).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/admin/users/{id}");
    app.get("/api/v1/admin/users", Some(&token))
        .await
        .problem(403);

    app.send(
        Method::PATCH,
        &path,
        Some(&admin),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(
        app.get("/api/v1/admin/users", Some(&token)).await.status,
        200,
        "promotion is immediate"
    );

    app.send(
        Method::PATCH,
        &path,
        Some(&admin),
        Some(json!({"role": "contributor"})),
    )
    .await;
    app.get("/api/v1/admin/users", Some(&token))
        .await
        .problem(403);

    let off = app
        .send(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(off.body["disabled"], true);
    app.get("/api/v1/auth/me", Some(&token)).await.problem(401);
    app.login("h@newsroom.example", PASSWORD).await.problem(401);

    app.send(
        Method::PATCH,
        &path,
        Some(&admin),
        Some(json!({"disabled": false})),
    )
    .await;
    assert_eq!(app.login("h@newsroom.example", PASSWORD).await.status, 200);
}

#[actix_web::test]
async fn a_password_reset_ends_the_accounts_sessions() {
    let app = TestApp::new().await;
    let admin = app.token_for(Role::Admin).await;
    let id = app.create_user("i@newsroom.example", Role::Author);
    let token = app.login("i@newsroom.example", PASSWORD).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/admin/users/{id}/password");
    app.send(
        Method::POST,
        &path,
        Some(&admin),
        Some(json!({"password": "tiny"})),
    )
    .await
    .problem(422);
    let reset = app
        .send(
            Method::POST,
            &path,
            Some(&admin),
            Some(json!({"password": "reset by the admin desk"})),
        )
        .await;
    assert_eq!(reset.status, 204);
    app.get("/api/v1/auth/me", Some(&token)).await.problem(401);
    assert_eq!(
        app.login("i@newsroom.example", "reset by the admin desk")
            .await
            .status,
        200
    );
    app.send(
        Method::POST,
        "/api/v1/admin/users/424242/password",
        Some(&admin),
        Some(json!({"password": "reset by the admin desk"})),
    )
    .await
    .problem(404);
    // An admin's own password needs the current one, through /api/v1/auth/password.
    let me = app.get("/api/v1/auth/me", Some(&admin)).await.body["id"].clone();
    app.send(
        Method::POST,
        &format!("/api/v1/admin/users/{me}/password"),
        Some(&admin),
        Some(json!({"password": "taken over by a stolen token"})),
    )
    .await
    .problem(403);
    assert_eq!(app.get("/api/v1/auth/me", Some(&admin)).await.status, 200);
}

#[actix_web::test]
async fn accounts_are_listed_in_pages() {
    let app = TestApp::new().await;
    let admin = app.token_for(Role::Admin).await;
    for n in 0..4 {
        app.create_user(&format!("p{n}@newsroom.example"), Role::Contributor);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/admin/users?limit=2".to_owned();
    loop {
        let page = app.get(&path, Some(&admin)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|u| u["id"].as_i64().unwrap()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/admin/users?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
}

#[actix_web::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = TestApp::new().await;
    let a = app.create_user("a1@newsroom.example", Role::Admin);
    let b = app.create_user("b1@newsroom.example", Role::Admin);
    let ta = app.login("a1@newsroom.example", PASSWORD).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let tb = app.login("b1@newsroom.example", PASSWORD).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let change = Some(json!({"role": "editor"}));
    let (path_a, path_b) = (
        format!("/api/v1/admin/users/{a}"),
        format!("/api/v1/admin/users/{b}"),
    );
    let (first, second) = futures_util::future::join(
        app.send(Method::PATCH, &path_b, Some(&ta), change.clone()),
        app.send(Method::PATCH, &path_a, Some(&tb), change),
    )
    .await;
    let (first, second) = (first.status.as_u16(), second.status.as_u16());
    let mut statuses = [first, second];
    statuses.sort();
    // The second demotion either sees the first and is refused, or its caller is no longer an
    // admin by the time it is checked.
    assert!(
        statuses == [200, 409] || statuses == [200, 403],
        "{statuses:?}"
    );
    let admin = app.token_for(Role::Admin).await;
    let list = app.get("/api/v1/admin/users", Some(&admin)).await;
    let original_admins = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["role"] == "admin" && (u["id"] == a || u["id"] == b))
        .count();
    assert_eq!(original_admins, 1);
}
