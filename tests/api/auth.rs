//! Signing in, tokens and the attacks on them.

use actix_web::http::Method;
use futures_util::future::join_all;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use newsdesk::auth::token::Claims;
use newsdesk::auth::Role;

use crate::common::{TestApp, PASSWORD, SECRET};

fn claims_of(token: &str) -> Claims {
    let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Claims>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .unwrap()
    .claims
}

fn sign(claims: &Value, key: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
    .unwrap()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[actix_web::test]
async fn sign_in_issues_a_short_lived_pinned_token_and_a_refresh_token() {
    let app = TestApp::new().await;
    app.create_user("Nino@Newsroom.example", Role::Editor);
    let reply = app.login("nino@newsroom.EXAMPLE", PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["user"]["email"], "nino@newsroom.example");
    assert_eq!(reply.body["user"]["role"], "editor");
    assert!(reply.body["user"].get("password_hash").is_none());
    let token = reply.body["access_token"].as_str().unwrap();
    assert!(reply.body["refresh_token"].as_str().unwrap().len() >= 64);

    let claims = claims_of(token);
    assert_eq!(claims.iss, "newsdesk");
    assert_eq!(claims.aud, "newsdesk-admin");
    assert!(claims.exp - claims.iat <= 15 * 60);
    assert!(!claims.jti.is_empty());
    assert_eq!(claims.role, Role::Editor);

    let me = app.get("/api/v1/auth/me", Some(token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], "nino@newsroom.example");
    assert_eq!(me.header("cache-control"), Some("no-store"));
}

#[actix_web::test]
async fn failed_sign_ins_do_not_reveal_which_accounts_exist() {
    let app = TestApp::new().await;
    app.create_user("real@newsroom.example", Role::Author);
    let disabled = app.create_user("gone@newsroom.example", Role::Author);
    let admin = app.token_for(Role::Admin).await;
    let off = app
        .send(
            Method::PATCH,
            &format!("/api/v1/admin/users/{disabled}"),
            Some(&admin),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(off.status, 200);

    let wrong_password = app
        .login("real@newsroom.example", "not the password at all")
        .await;
    let unknown = app.login("nobody@newsroom.example", PASSWORD).await;
    let disabled = app.login("gone@newsroom.example", PASSWORD).await;
    for reply in [&wrong_password, &unknown, &disabled] {
        reply.problem(401);
    }
    assert_eq!(wrong_password.body, unknown.body);
    assert_eq!(unknown.body, disabled.body);
}

#[actix_web::test]
async fn forged_expired_and_misdirected_tokens_are_rejected() {
    let app = TestApp::new().await;
    let token = app.token_for(Role::Admin).await;
    let good = claims_of(&token);
    let base = json!({
        "sub": good.sub, "role": "admin", "iss": good.iss, "aud": good.aud,
        "exp": now() + 600, "iat": now(), "jti": "x", "sid": good.sid, "ver": good.ver,
    });
    // Sanity: a token re-signed with the right key and claims is accepted.
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&sign(&base, SECRET.as_bytes())))
            .await
            .status,
        200
    );

    let with = |key: &str, value: Value| {
        let mut claims = base.clone();
        claims[key] = value;
        sign(&claims, SECRET.as_bytes())
    };
    let without = |key: &str| {
        let mut claims = base.clone();
        claims.as_object_mut().unwrap().remove(key);
        sign(&claims, SECRET.as_bytes())
    };
    let unsigned = {
        use base64_like::encode_segment;
        format!(
            "{}.{}.",
            encode_segment(br#"{"alg":"none","typ":"JWT"}"#),
            encode_segment(base.to_string().as_bytes())
        )
    };
    let attacks = [
        ("no token", None),
        ("garbage", Some("not-a-jwt".to_owned())),
        ("alg none", Some(unsigned)),
        (
            "wrong key",
            Some(sign(&base, b"another-secret-that-is-also-long-enough!!")),
        ),
        ("expired", Some(with("exp", json!(now() - 120)))),
        ("wrong audience", Some(with("aud", json!("someone-else")))),
        ("wrong issuer", Some(with("iss", json!("evil")))),
        ("no exp", Some(without("exp"))),
        ("no sub", Some(without("sub"))),
        ("no aud", Some(without("aud"))),
        ("other user's session", Some(with("sub", json!("999")))),
        ("stale version", Some(with("ver", json!(good.ver + 1)))),
    ];
    for (name, token) in attacks {
        let reply = app.get("/api/v1/auth/me", token.as_deref()).await;
        assert_eq!(reply.status, 401, "{name} was accepted");
        reply.problem(401);
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{name}");
    }

    let login = app.login(&app_email(&app, &token).await, PASSWORD).await;
    let refresh = login.body["refresh_token"].as_str().unwrap();
    app.get("/api/v1/auth/me", Some(refresh)).await.problem(401);
}

async fn app_email(app: &TestApp, token: &str) -> String {
    app.get("/api/v1/auth/me", Some(token)).await.body["email"]
        .as_str()
        .unwrap()
        .to_owned()
}

mod base64_like {
    /// base64url without padding, enough to hand-craft an unsigned JWT.
    pub fn encode_segment(input: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in input.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

#[actix_web::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_family() {
    let app = TestApp::new().await;
    app.create_user("a@newsroom.example", Role::Author);
    let login = app.login("a@newsroom.example", PASSWORD).await;
    let first = login.body["refresh_token"].as_str().unwrap().to_owned();

    let refresh = |token: String| {
        let body = json!({ "refresh_token": token });
        app.send(Method::POST, "/api/v1/auth/refresh", None, Some(body))
    };
    let rotated = refresh(first.clone()).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let second = rotated.body["refresh_token"].as_str().unwrap().to_owned();
    let access = rotated.body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(app.get("/api/v1/auth/me", Some(&access)).await.status, 200);

    // The first token is replayed: the whole family ends, including the newest token and
    // the access tokens issued in it.
    refresh(first).await.problem(401);
    refresh(second).await.problem(401);
    app.get("/api/v1/auth/me", Some(&access)).await.problem(401);

    refresh("made-up".into()).await.problem(401);
}

#[actix_web::test]
async fn logout_ends_the_session_and_its_tokens() {
    let app = TestApp::new().await;
    app.create_user("b@newsroom.example", Role::Author);
    let login = app.login("b@newsroom.example", PASSWORD).await;
    let access = login.body["access_token"].as_str().unwrap();
    let refresh = login.body["refresh_token"].as_str().unwrap();
    let other = app.login("b@newsroom.example", PASSWORD).await;
    let other_access = other.body["access_token"].as_str().unwrap();

    let out = app
        .send(Method::POST, "/api/v1/auth/logout", Some(access), None)
        .await;
    assert_eq!(out.status, 204);
    app.get("/api/v1/auth/me", Some(access)).await.problem(401);
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh})),
    )
    .await
    .problem(401);
    assert_eq!(
        app.get("/api/v1/auth/me", Some(other_access)).await.status,
        200,
        "other sessions go on"
    );
    app.send(Method::POST, "/api/v1/auth/logout", None, None)
        .await
        .problem(401);
}

#[actix_web::test]
async fn changing_the_password_ends_every_session_and_older_tokens() {
    let app = TestApp::new().await;
    app.create_user("c@newsroom.example", Role::Editor);
    let here = app.login("c@newsroom.example", PASSWORD).await;
    let elsewhere = app.login("c@newsroom.example", PASSWORD).await;
    let access = here.body["access_token"].as_str().unwrap();

    let wrong = app
        .send(
            Method::POST,
            "/api/v1/auth/password",
            Some(access),
            Some(json!({"current_password": "not it at all!", "new_password": "a brand new passphrase"})),
        )
        .await;
    assert_eq!(wrong.problem(422)["errors"][0]["field"], "current_password");
    let short = app
        .send(
            Method::POST,
            "/api/v1/auth/password",
            Some(access),
            Some(json!({"current_password": PASSWORD, "new_password": "short"})),
        )
        .await;
    assert_eq!(short.problem(422)["errors"][0]["field"], "new_password");

    let changed = app
        .send(
            Method::POST,
            "/api/v1/auth/password",
            Some(access),
            Some(json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"})),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let fresh = changed.body["access_token"].as_str().unwrap();

    app.get("/api/v1/auth/me", Some(access)).await.problem(401);
    app.get(
        "/api/v1/auth/me",
        Some(elsewhere.body["access_token"].as_str().unwrap()),
    )
    .await
    .problem(401);
    let old_refresh = elsewhere.body["refresh_token"].as_str().unwrap();
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": old_refresh})),
    )
    .await
    .problem(401);
    assert_eq!(app.get("/api/v1/auth/me", Some(fresh)).await.status, 200);
    app.login("c@newsroom.example", PASSWORD).await.problem(401);
    assert_eq!(
        app.login("c@newsroom.example", "a brand new passphrase")
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn repeated_failures_lock_an_email_whether_or_not_it_exists() {
    let app = TestApp::with(|c| c.login_max_failures = 3).await;
    app.create_user("d@newsroom.example", Role::Author);
    for email in ["d@newsroom.example", "ghost@newsroom.example"] {
        for _ in 0..3 {
            app.login(email, "wrong password here").await.problem(401);
        }
        let locked = app.login(email, PASSWORD).await;
        locked.problem(429);
        // The lock lasts its whole period from the failure that set it, wherever the clock is.
        let retry: u64 = locked.header("retry-after").unwrap().parse().unwrap();
        assert!((15 * 60 - 10..=15 * 60).contains(&retry), "{retry}");
        // Retrying while locked does not push the end further away.
        actix_web::rt::time::sleep(std::time::Duration::from_millis(1200)).await;
        let again = app.login(email, PASSWORD).await;
        again.problem(429);
        let later: u64 = again.header("retry-after").unwrap().parse().unwrap();
        assert!(later < retry, "{later} after {retry}");
    }
    // Another account is not affected.
    app.create_user("e@newsroom.example", Role::Author);
    assert_eq!(app.login("e@newsroom.example", PASSWORD).await.status, 200);
}

#[actix_web::test]
async fn auth_endpoints_are_rate_limited_per_client_address() {
    let app = TestApp::with(|c| c.auth_rate_limit_per_minute = 4).await;
    app.create_user("f@newsroom.example", Role::Author);
    let body = || Some(json!({"email": "f@newsroom.example", "password": "wrong password here"}));
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = app
            .send_from(
                "192.0.2.7:1000",
                Method::POST,
                "/api/v1/auth/login",
                None,
                body(),
            )
            .await;
        statuses.push(r.status.as_u16());
        if r.status == 429 {
            // The minute runs from the address's first request, not from the clock's minute.
            let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
            assert!((50..=60).contains(&retry), "{retry}");
            r.problem(429);
        }
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 429]);
    let elsewhere = app
        .send_from(
            "192.0.2.8:1000",
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "f@newsroom.example", "password": PASSWORD})),
        )
        .await;
    assert_eq!(elsewhere.status, 200, "another address has its own budget");
}

#[actix_web::test]
async fn guesses_sent_together_cannot_pass_the_lock_together() {
    let app = TestApp::with(|c| c.login_max_failures = 3).await;
    app.create_user("h@newsroom.example", Role::Author);
    let guesses = (0..8).map(|i| {
        let app = &app;
        async move {
            app.send_from(
                &format!("192.0.2.{}:1000", 20 + i),
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": "h@newsroom.example", "password": format!("guess {i} here")})),
            )
            .await
            .status
            .as_u16()
        }
    });
    let mut statuses = join_all(guesses).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429, 429, 429]);
    // The right password too waits for the lock to end.
    app.login("h@newsroom.example", PASSWORD).await.problem(429);
}

#[actix_web::test]
async fn a_sign_in_forgets_earlier_failures() {
    let app = TestApp::with(|c| c.login_max_failures = 3).await;
    app.create_user("i@newsroom.example", Role::Author);
    for _ in 0..2 {
        for _ in 0..2 {
            app.login("i@newsroom.example", "wrong password here")
                .await
                .problem(401);
        }
        assert_eq!(app.login("i@newsroom.example", PASSWORD).await.status, 200);
    }
}

#[actix_web::test]
async fn a_hash_with_old_parameters_is_replaced_on_sign_in() {
    let app = TestApp::new().await;
    let stronger = newsdesk::auth::password::Hasher::new(19_456, 3).unwrap();
    let old_hash = stronger.hash(PASSWORD).unwrap();
    let mut conn = app.state.db.get().unwrap();
    let email = newsdesk::users::Email::parse("g@newsroom.example", "email").unwrap();
    let id = newsdesk::users::insert(&mut conn, &email, "G", Role::Author, &old_hash)
        .unwrap()
        .id;
    assert_eq!(app.login("g@newsroom.example", PASSWORD).await.status, 200);
    let stored = newsdesk::users::find(&mut conn, id).unwrap().password_hash;
    assert_ne!(stored, old_hash);
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    assert_eq!(app.login("g@newsroom.example", PASSWORD).await.status, 200);
}

#[actix_web::test]
async fn malformed_sign_in_requests_are_validation_problems() {
    let app = TestApp::new().await;
    let reply = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "not-an-email", "password": "x"})),
        )
        .await;
    assert_eq!(reply.problem(422)["errors"][0]["field"], "email");
    let reply = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "a@b.example"})),
        )
        .await;
    assert_eq!(reply.problem(422)["errors"][0]["field"], "password");
}
