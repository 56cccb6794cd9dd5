//! Webhooks as an integrator meets them: a real HTTP receiver on this machine verifies every
//! signature with Standard Webhooks' own library and records what it got.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::TestApp;
use newsdesk::auth::Role;

const WEBHOOKS: &str = "/api/v1/admin/webhooks";

/// What the receiver got in one request.
#[derive(Clone)]
struct Received {
    path: String,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// An HTTP receiver on a port of its own, answering from a script: (status, delay) per request,
/// then 200.
struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<(u16, Duration)>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let (g, s) = (got.clone(), script.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (g, s) = (g.clone(), s.clone());
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let mut raw = Vec::new();
                    let mut buf = [0u8; 8192];
                    let (head_end, len) = loop {
                        let n = stream.read(&mut buf).unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        raw.extend_from_slice(&buf[..n]);
                        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&raw[..end]).to_string();
                            let len = head
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                                })
                                .unwrap_or(0);
                            break (end, len);
                        }
                    };
                    while raw.len() < head_end + 4 + len {
                        let n = stream.read(&mut buf).unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        raw.extend_from_slice(&buf[..n]);
                    }
                    let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
                    let mut lines = head.lines();
                    let path = lines
                        .next()
                        .and_then(|l| l.split_whitespace().nth(1))
                        .unwrap_or("")
                        .to_owned();
                    let mut headers = http::HeaderMap::new();
                    for line in lines {
                        if let Some((n, v)) = line.split_once(':') {
                            if let (Ok(n), Ok(v)) = (
                                http::HeaderName::from_bytes(n.trim().as_bytes()),
                                http::HeaderValue::from_str(v.trim()),
                            ) {
                                headers.append(n, v);
                            }
                        }
                    }
                    let body = raw[head_end + 4..].to_vec();
                    let (status, delay) = s
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or((200, Duration::ZERO));
                    std::thread::sleep(delay);
                    g.lock().unwrap().push(Received {
                        path,
                        headers,
                        body,
                    });
                    let answer = format!(
                        "HTTP/1.1 {status} Answer\r\nContent-Length: 7\r\nConnection: close\r\n\r\nanswer!"
                    );
                    let _ = stream.write_all(answer.as_bytes());
                });
            }
        });
        Receiver { addr, got, script }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn answer(&self, replies: &[(u16, u64)]) {
        let mut s = self.script.lock().unwrap();
        for (status, ms) in replies {
            s.push_back((*status, Duration::from_millis(*ms)));
        }
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// What arrived at `path` once `n` requests have, or after `wait`.
    async fn wait_for(&self, path: &str, n: usize, wait: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got: Vec<Received> = self.got().into_iter().filter(|r| r.path == path).collect();
            if got.len() >= n || started.elapsed() > wait {
                return got;
            }
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A newsroom whose webhooks may reach this machine, retry a thousand times faster, and send
/// from a worker that runs.
async fn newsroom() -> (TestApp, String, String) {
    let app = TestApp::with(|c| {
        c.webhook_allowed_hosts = vec!["127.0.0.1".into()];
        c.webhook_retry_scale = 0.001;
        c.webhook_poll_ms = 20;
        c.webhook_timeout_ms = 500;
    })
    .await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let admin = app.token_for(Role::Admin).await;
    newsdesk::webhooks::worker::start(&app.state);
    (app, editor, admin)
}

async fn subscribe(app: &TestApp, admin: &str, body: Value) -> (i64, String) {
    let made = app.post(WEBHOOKS, admin, body).await;
    assert_eq!(made.status, 201, "{}", made.body);
    (
        made.body["webhook"]["id"].as_i64().unwrap(),
        made.body["secret"].as_str().unwrap_or("").to_owned(),
    )
}

#[track_caller]
fn verified(secret: &str, r: &Received) {
    let wh = standardwebhooks::Webhook::new(secret).unwrap();
    if let Err(e) = wh.verify(&r.body, &r.headers) {
        panic!("signature refused ({e:?}): {:?}", r.headers);
    }
}

const LONG: Duration = Duration::from_secs(10);

#[actix_web::test]
async fn a_publication_sends_one_signed_event_to_each_endpoint_that_listens() {
    let (app, editor, admin) = newsroom().await;
    let rx = Receiver::start();
    let (_, published_secret) = subscribe(
        &app,
        &admin,
        json!({"url": rx.url("/published"), "events": ["article.published"]}),
    )
    .await;
    subscribe(
        &app,
        &admin,
        json!({"url": rx.url("/russian"), "events": ["*"], "languages": ["ru"]}),
    )
    .await;
    let (_, tags_secret) = subscribe(
        &app,
        &admin,
        json!({"url": rx.url("/tags"), "events": ["tag.changed"]}),
    )
    .await;
    assert!(published_secret.starts_with("whsec_"));

    let id = app.publish_story(&editor, "en", "Talks resume", &[]).await;
    let got = rx.wait_for("/published", 1, LONG).await;
    assert_eq!(got.len(), 1);
    verified(&published_secret, &got[0]);
    let event = got[0].json();
    assert_eq!(event["type"], "article.published");
    assert_eq!(event["data"]["id"], id);
    assert_eq!(event["data"]["title"], "Talks resume");
    assert!(event["timestamp"].is_string());
    assert!(got[0].header("webhook-id").starts_with("msg_"));

    // An edit of the published text is an update: not for the endpoint that wants publications.
    let (_, etag) = app.translation(&editor, id, "en").await;
    app.send_if_match(
        Method::PATCH,
        &format!("/api/v1/admin/articles/{id}/translations/en"),
        &editor,
        &etag,
        Some(json!({"title": "Talks resume on Monday"})),
    )
    .await;
    // A tag made: tag.changed to its listener.
    let tag = app
        .post(
            "/api/v1/admin/tags",
            &editor,
            json!({"slug": "armenia", "kind": "country", "names": {"en": {"name": "Armenia"}}}),
        )
        .await;
    assert_eq!(tag.status, 201);
    let tags = rx.wait_for("/tags", 1, LONG).await;
    verified(&tags_secret, &tags[0]);
    assert_eq!(tags[0].json()["data"]["slug"], "armenia");

    // A change rolled back announces nothing.
    let rolled_back = app
        .state
        .db
        .transaction(move |c| {
            newsdesk::articles::changes::changed(c, newsdesk::articles::changes::Change::Tag(1))?;
            Err::<(), _>(newsdesk::error::AppError::Conflict(
                "changed my mind".into(),
            ))
        })
        .await;
    assert!(rolled_back.is_err());
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(rx.wait_for("/tags", 2, Duration::ZERO).await.len(), 1);
    assert_eq!(
        rx.wait_for("/published", 2, Duration::ZERO).await.len(),
        1,
        "exactly one"
    );
    // The endpoint for Russian heard the tag (it has no language), and no English story.
    let russian = rx.wait_for("/russian", 1, Duration::ZERO).await;
    assert!(
        russian.iter().all(|r| r.json()["type"] == "tag.changed"),
        "English stories reached an endpoint for Russian"
    );
}

#[actix_web::test]
async fn a_failing_receiver_gets_every_retry_with_the_same_id_and_a_fresh_signature() {
    let (app, editor, admin) = newsroom().await;
    let rx = Receiver::start();
    rx.answer(&[(500, 0), (503, 0), (502, 0)]);
    let (hook, secret) = subscribe(
        &app,
        &admin,
        json!({"url": rx.url("/flaky"), "events": ["article.published"]}),
    )
    .await;
    app.publish_story(&editor, "en", "Retried", &[]).await;
    let got = rx.wait_for("/flaky", 4, LONG).await;
    assert_eq!(got.len(), 4);
    let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    for r in &got {
        verified(&secret, r);
        assert_eq!(r.body, got[0].body, "the same body every time");
    }
    // The log shows every attempt, newest first.
    let mut log = Value::Null;
    for _ in 0..50 {
        log = app
            .get(&format!("{WEBHOOKS}/{hook}/deliveries"), Some(&admin))
            .await
            .body;
        if log["items"].as_array().map_or(0, Vec::len) == 4 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{log}");
    let statuses: Vec<i64> = items
        .iter()
        .map(|a| a["response_status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 502, 503, 500]);
    assert_eq!(items[0]["attempt"], 4);
    assert_eq!(items[0]["delivery_status"], "delivered");
    assert_eq!(items[0]["response_body"], "answer!");
    assert_eq!(items[1]["error"], "the receiver answered 502");
    let failed = app
        .get(
            &format!("{WEBHOOKS}/{hook}/deliveries?status=failed"),
            Some(&admin),
        )
        .await;
    assert_eq!(failed.body["items"].as_array().unwrap().len(), 3);

    // Retry and replay send the same event again, under the same id.
    let delivery = items[0]["delivery_id"].as_i64().unwrap();
    let retried = app
        .post(
            &format!("{WEBHOOKS}/{hook}/deliveries/{delivery}/retry"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(retried.status, 202, "{}", retried.body);
    let got = rx.wait_for("/flaky", 5, LONG).await;
    assert_eq!(got[4].header("webhook-id"), ids[0]);
    let replayed = app
        .post(
            &format!("{WEBHOOKS}/{hook}/replay?since=2000-01-01T00:00:00Z"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(replayed.status, 202, "{}", replayed.body);
    assert_eq!(replayed.body["deliveries"], 1);
    let got = rx.wait_for("/flaky", 6, LONG).await;
    assert_eq!(got[5].header("webhook-id"), ids[0]);
}

#[actix_web::test]
async fn gone_disables_and_a_slow_receiver_does_not_hold_up_the_others() {
    let (app, editor, admin) = newsroom().await;
    let rx = Receiver::start();
    rx.answer(&[(410, 0)]);
    let (gone, _) = subscribe(
        &app,
        &admin,
        json!({"url": rx.url("/gone"), "events": ["*"]}),
    )
    .await;
    app.publish_story(&editor, "en", "First", &[]).await;
    rx.wait_for("/gone", 1, LONG).await;
    let mut hook = Value::Null;
    for _ in 0..50 {
        hook = app
            .get(&format!("{WEBHOOKS}/{gone}"), Some(&admin))
            .await
            .body;
        if hook["enabled"] == false {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(hook["enabled"], false, "{hook}");
    assert_eq!(hook["disabled_reason"], "the receiver answered 410 Gone");

    // A receiver slower than the timeout, and a prompt one.
    let slow = Receiver::start();
    slow.answer(&[(200, 3000), (200, 3000), (200, 3000), (200, 3000)]);
    subscribe(
        &app,
        &admin,
        json!({"url": slow.url("/slow"), "events": ["*"]}),
    )
    .await;
    subscribe(
        &app,
        &admin,
        json!({"url": rx.url("/fast"), "events": ["article.published"]}),
    )
    .await;
    let started = Instant::now();
    for n in 0..3 {
        app.publish_story(&editor, "en", &format!("Story {n}"), &[])
            .await;
    }
    let fast = rx.wait_for("/fast", 3, LONG).await;
    assert_eq!(fast.len(), 3);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        rx.wait_for("/gone", 2, Duration::ZERO).await.len(),
        1,
        "disabled: no more"
    );
}

#[actix_web::test]
async fn internal_addresses_are_refused_on_creation_and_at_every_attempt() {
    // Without the allow-list, as in production.
    let plain = TestApp::new().await;
    let plain_admin = plain.token_for(Role::Admin).await;
    for url in [
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:127.0.0.1]/hook",
        "https://2130706433/hook",
        "https://0x7f000001/hook",
        "http://hooks.example.org/hook",
        "https://user:secret@hooks.example.org/hook",
    ] {
        let refused = plain
            .post(WEBHOOKS, &plain_admin, json!({"url": url, "events": ["*"]}))
            .await;
        assert_eq!(refused.problem(422)["errors"][0]["field"], "url", "{url}");
    }
    let (app, editor, admin) = newsroom().await;
    // A name is checked at every attempt by what it resolves to.
    let (hook, _) = subscribe(
        &app,
        &admin,
        json!({"url": "https://localhost:9/hook", "events": ["*"]}),
    )
    .await;
    app.publish_story(&editor, "en", "Nowhere", &[]).await;
    let mut log = Value::Null;
    for _ in 0..100 {
        log = app
            .get(&format!("{WEBHOOKS}/{hook}/deliveries"), Some(&admin))
            .await
            .body;
        if !log["items"].as_array().unwrap().is_empty() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let error = log["items"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        error.contains("refused") && error.contains("loopback"),
        "{log}"
    );
    // Admins only.
    app.get(WEBHOOKS, Some(&editor)).await.problem(403);
}

#[actix_web::test]
async fn a_rotated_secret_signs_beside_the_old_one_and_pings_arrive() {
    let (app, _, admin) = newsroom().await;
    let rx = Receiver::start();
    let (hook, old) = subscribe(
        &app,
        &admin,
        json!({"url": rx.url("/ping"), "events": ["*"]}),
    )
    .await;
    let rotated = app
        .post(&format!("{WEBHOOKS}/{hook}/secret"), &admin, json!({}))
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let ping = app
        .post(&format!("{WEBHOOKS}/{hook}/ping"), &admin, json!({}))
        .await;
    assert_eq!(ping.status, 202);
    let got = rx.wait_for("/ping", 1, LONG).await;
    assert_eq!(got[0].json()["type"], "ping");
    verified(&new, &got[0]);
    verified(&old, &got[0]);
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);

    // Edits need the ETag; a webhook's listing never shows a secret.
    let read = app.get(&format!("{WEBHOOKS}/{hook}"), Some(&admin)).await;
    assert!(!read.body.to_string().contains(&new[6..]));
    app.patch(
        &format!("{WEBHOOKS}/{hook}"),
        &admin,
        json!({"enabled": false}),
    )
    .await
    .problem(428);
    let off = app
        .send_if_match(
            Method::PATCH,
            &format!("{WEBHOOKS}/{hook}"),
            &admin,
            read.header("etag").unwrap(),
            Some(json!({"enabled": false, "events": ["article.deleted"]})),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["events"], json!(["article.deleted"]));
    let bad = app
        .send_if_match(
            Method::PATCH,
            &format!("{WEBHOOKS}/{hook}"),
            &admin,
            off.header("etag").unwrap(),
            Some(json!({"events": ["article.nonsense"]})),
        )
        .await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "events[0]");
}

#[actix_web::test]
async fn purge_endpoints_send_the_changes_surrogate_keys_as_fastly_and_cloudflare_take_them() {
    let (app, editor, admin) = newsroom().await;
    let cdn = Receiver::start();
    let fastly = app
        .post(
            WEBHOOKS,
            &admin,
            json!({"url": cdn.url("/service/abc/purge"), "kind": "purge", "provider": "fastly", "token": "fastly-token"}),
        )
        .await;
    assert_eq!(fastly.status, 201, "{}", fastly.body);
    assert!(fastly.body["secret"].is_null());
    subscribe(
        &app,
        &admin,
        json!({"url": cdn.url("/zones/z1/purge_cache"), "kind": "purge", "provider": "cloudflare", "token": "cf-token"}),
    )
    .await;
    app.seed_tags(&editor).await;
    let id = app
        .publish_story(&editor, "en", "Purged", &["georgia"])
        .await;
    let article = format!("article-{id}");
    let started = Instant::now();
    let (mut fastly_keys, mut cloudflare) = (None, None);
    while (fastly_keys.is_none() || cloudflare.is_none()) && started.elapsed() < LONG {
        for r in cdn.got() {
            if r.path == "/service/abc/purge" && r.header("surrogate-key").contains(&article) {
                assert_eq!(r.header("fastly-key"), "fastly-token");
                fastly_keys = Some(r.header("surrogate-key").to_owned());
            }
            if r.path == "/zones/z1/purge_cache" && r.json()["tags"].to_string().contains(&article)
            {
                assert_eq!(r.header("authorization"), "Bearer cf-token");
                cloudflare = Some(r.json()["tags"].clone());
            }
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let keys = fastly_keys.expect("Fastly was asked to purge the story");
    let keys: Vec<&str> = keys.split(' ').collect();
    for key in [article.as_str(), "tag-georgia", "lang-en", "articles"] {
        assert!(keys.contains(&key), "{keys:?}");
    }
    let tags = cloudflare.expect("Cloudflare was asked to purge the story");
    assert!(
        tags.as_array().unwrap().contains(&json!("tag-georgia")),
        "{tags}"
    );
    // A purge endpoint needs its provider and token.
    let bad = app
        .post(
            WEBHOOKS,
            &admin,
            json!({"url": cdn.url("/x"), "kind": "purge"}),
        )
        .await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["provider", "token"]);
}

/// Events wait in the outbox while no node sends them (a node killed between commit and
/// delivery), and go out once one does; with two nodes sending, each goes out once.
#[actix_web::test]
async fn events_committed_while_no_node_sends_go_out_later_and_once() {
    let app = TestApp::with(|c| {
        c.webhook_allowed_hosts = vec!["127.0.0.1".into()];
        c.webhook_poll_ms = 20;
    })
    .await;
    app.seed_languages();
    let editor = app.token_for(Role::Editor).await;
    let admin = app.token_for(Role::Admin).await;
    let rx = Receiver::start();
    subscribe(
        &app,
        &admin,
        json!({"url": rx.url("/later"), "events": ["article.published"]}),
    )
    .await;
    for n in 0..5 {
        app.publish_story(&editor, "en", &format!("Story {n}"), &[])
            .await;
    }
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    assert!(rx.got().is_empty(), "nothing sends yet");
    // Two nodes start sending.
    let other = app.second_node();
    newsdesk::webhooks::worker::start(&app.state);
    newsdesk::webhooks::worker::start(&other.state);
    let got = rx.wait_for("/later", 5, LONG).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let got_all = rx.got();
    assert_eq!(got.len(), 5);
    let mut ids: Vec<&str> = got_all.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5);
    assert_eq!(got_all.len(), 5, "each event once");
}
