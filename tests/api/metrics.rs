//! `GET /metrics`: what an operator's Prometheus scrapes, and who may read it.

use actix_web::http::Method;

use crate::common::TestApp;

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[actix_web::test]
async fn metrics_count_requests_by_route_and_the_cache_and_are_served_to_this_machine_only() {
    let (app, _) = TestApp::newsroom().await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/articles?lang=en", None).await.status, 200);
    }
    app.get("/api/v1/articles/en/no-such-story", None)
        .await
        .problem(404);

    // From another machine, without a token configured: refused.
    app.get("/metrics", None).await.problem(403);
    let local = app
        .send_from("127.0.0.1:40000", Method::GET, "/metrics", None, None)
        .await;
    assert_eq!(local.status, 200, "{}", local.body);
    assert_eq!(
        local.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = local.body.as_str().unwrap();
    let list =
        r#"newsdesk_http_requests_total{route="/api/v1/articles",method="GET",status="2xx"}"#;
    assert_eq!(value(text, list), Some(3.0), "{text}");
    let missing = r#"newsdesk_http_requests_total{route="/api/v1/articles/{lang}/{slug}",method="GET",status="4xx"}"#;
    assert_eq!(value(text, missing), Some(1.0), "{text}");
    let count =
        r#"newsdesk_http_request_duration_seconds_count{route="/api/v1/articles",method="GET"}"#;
    assert_eq!(value(text, count), Some(3.0));
    let inf = r#"newsdesk_http_request_duration_seconds_bucket{route="/api/v1/articles",method="GET",le="+Inf"}"#;
    assert_eq!(value(text, inf), Some(3.0));
    assert!(
        value(text, "newsdesk_response_cache_hits_total").unwrap() >= 2.0,
        "{text}"
    );
    assert!(value(text, "newsdesk_response_cache_misses_total").unwrap() >= 1.0);
    assert!(value(text, "process_resident_memory_bytes").unwrap() > 0.0);
    assert!(value(text, "newsdesk_db_queue_jobs").is_some());
    assert!(
        value(text, "newsdesk_db_pool_connections").unwrap() >= 1.0,
        "{text}"
    );
    assert!(value(text, "newsdesk_db_pool_connections_in_use").is_some());
    assert!(value(text, "newsdesk_scheduler_publish_lag_seconds").is_some());
}

#[actix_web::test]
async fn with_a_token_configured_metrics_need_it_from_anywhere() {
    let token = "metrics-token-0123456789";
    let app = TestApp::with(|c| c.metrics_token = Some(token.into())).await;
    app.get("/metrics", None).await.problem(401);
    app.get("/metrics", Some("metrics-token-wrong-000"))
        .await
        .problem(401);
    app.send_from("127.0.0.1:40000", Method::GET, "/metrics", None, None)
        .await
        .problem(401);
    assert_eq!(app.get("/metrics", Some(token)).await.status, 200);
}
