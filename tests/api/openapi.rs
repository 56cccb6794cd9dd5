//! The committed OpenAPI document is the one the code generates and serves.

use crate::common::TestApp;

#[test]
fn committed_openapi_is_current() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json exists");
    let generated = newsdesk::openapi::spec_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[actix_web::test]
async fn the_served_document_is_the_committed_one() {
    let app = TestApp::new().await;
    let served = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(served.status, 200);
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(served.body, committed);
    assert!(served.body["components"]["securitySchemes"]["bearer"].is_object());
    let login = &served.body["paths"]["/api/v1/admin/users"]["get"];
    assert!(
        login["security"].is_array(),
        "admin paths carry the bearer scheme"
    );
}

#[test]
fn both_backends_have_the_same_migrations() {
    let names = |backend: &str| {
        let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert!(!names("sqlite").is_empty());
    assert_eq!(names("sqlite"), names("postgres"));
}

/// Every registered route is documented with the same methods and nothing else is, and every
/// operation has an operationId of its own and a tag: generated clients name their functions
/// after operationIds and group them by tag.
#[test]
fn registered_routes_are_the_documented_operations_each_named_once() {
    let doc: serde_json::Value = serde_json::from_str(&newsdesk::openapi::spec_json()).unwrap();
    let methods = ["get", "post", "put", "patch", "delete", "head", "options"];
    let mut documented = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeMap::<String, String>::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !methods.contains(&method.as_str()) {
                continue;
            }
            documented.insert((path.clone(), method.clone()));
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            if let Some(other) = ids.insert(id.clone(), format!("{method} {path}")) {
                panic!("operationId `{id}` names both {other} and {method} {path}");
            }
            let tags = op["tags"].as_array().map_or(0, Vec::len);
            assert!(tags > 0, "{method} {path} is in no tag group");
        }
    }
    let registered: std::collections::BTreeSet<(String, String)> = newsdesk::ROUTES
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .iter()
                .map(move |m| ((*path).to_owned(), (*m).to_owned()))
        })
        .collect();
    assert_eq!(
        registered.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "registered but not documented"
    );
    assert_eq!(
        documented.difference(&registered).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not registered"
    );
}

#[actix_web::test]
async fn the_api_docs_page_loads_only_from_its_own_origin() {
    let app = TestApp::new().await;
    let page = app.get("/api/v1/docs", None).await;
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap().to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("connect-src 'self';"), "{csp}");
    assert!(!csp.contains("http"), "no other origin is allowed: {csp}");
    let html = page.body.as_str().unwrap().to_owned();
    // Every script and stylesheet the page names is served here, under the vendored version.
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/api/v1/docs/assets/"))
        .collect();
    assert_eq!(assets.len(), 4, "{html}");
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"));
    for asset in assets {
        let reply = app.get(asset, None).await;
        assert_eq!(reply.status, 200, "{asset}");
        assert!(reply.header("cache-control").unwrap().contains("immutable"));
        assert!(reply.header("content-security-policy").is_some());
    }
    app.get("/api/v1/docs/assets/0.0.1/swagger-ui.css", None)
        .await
        .problem(404);
    app.get("/api/v1/docs/assets/5.36.0/secrets.env", None)
        .await
        .problem(404);
}

#[test]
fn every_reference_in_the_document_names_a_schema_it_holds() {
    let document = newsdesk::openapi::spec_json();
    let parsed: serde_json::Value = serde_json::from_str(&document).unwrap();
    let held = parsed["components"]["schemas"].as_object().unwrap();
    let dangling: Vec<&str> = document
        .split("\"#/components/schemas/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|name| !held.contains_key(*name))
        .collect();
    assert!(dangling.is_empty(), "references to no schema: {dangling:?}");
}
