//! `GET /api/v1/docs`: an interactive reference of the served OpenAPI document (Swagger UI,
//! vendored by `vendor.sh` from the npm package `swagger-ui-dist` at a pinned version and
//! embedded in the binary). The page asks nothing of any other origin, and its
//! `Content-Security-Policy` says so to the browser.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};

use crate::error::{AppError, AppResult};

/// What the page may load: its own scripts, styles and images from this origin, the document
/// from this origin, nothing from anywhere else. Swagger UI sets inline styles, hence
/// `'unsafe-inline'` for styles only; its icons are `data:` images.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The vendored version, part of every asset's address so that assets can be kept for a year.
const VERSION: &str = "5.36.0";

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Newsdesk API reference</title>
<link rel="stylesheet" href="/api/v1/docs/assets/VERSION/swagger-ui.css">
<link rel="icon" type="image/png" href="/api/v1/docs/assets/VERSION/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/v1/docs/assets/VERSION/swagger-ui-bundle.js"></script>
<script src="/api/v1/docs/assets/VERSION/init.js"></script>
</body>
</html>
"#;

/// Starts Swagger UI on this node's document; no validator badge (it would call another
/// origin), operations listed by tag.
const INIT: &str = r##"window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  docExpansion: "list",
  tryItOutEnabled: false,
  displayRequestDuration: true,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis],
});
"##;

/// The embedded assets: name, media type, bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/swagger-ui.css"),
    ),
    (
        "favicon-32x32.png",
        "image/png",
        include_bytes!("assets/favicon-32x32.png"),
    ),
    ("init.js", "text/javascript; charset=utf-8", INIT.as_bytes()),
];

fn secured(mut res: HttpResponse) -> HttpResponse {
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// The API reference: an interactive page of this node's OpenAPI document. It loads only
/// assets served here (Swagger UI, vendored at a pinned version) and its
/// `Content-Security-Policy` forbids any other origin.
#[utoipa::path(
    get,
    path = "/api/v1/docs",
    tag = "health",
    operation_id = "get_api_docs_page",
    responses((status = 200, description = "The API reference page", content_type = "text/html",
        body = String, headers(("Content-Security-Policy" = String))))
)]
pub async fn page() -> HttpResponse {
    secured(
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .body(PAGE.replace("VERSION", VERSION)),
    )
}

/// One of the API reference page's assets. Its address names the vendored version, so it may be
/// kept for a year.
#[utoipa::path(
    get,
    path = "/api/v1/docs/assets/{version}/{name}",
    tag = "health",
    operation_id = "get_api_docs_asset",
    params(("version" = String, Path, example = "5.36.0"),
        ("name" = String, Path, example = "swagger-ui.css")),
    responses(
        (status = 200, description = "The asset", content(
            (String = "text/javascript"),
            (String = "text/css"),
            (String = "image/png")
        )),
        (status = 404, description = "No such asset", body = crate::error::Problem,
            content_type = "application/problem+json")
    )
)]
pub async fn asset(path: web::Path<(String, String)>) -> AppResult<HttpResponse> {
    let (version, name) = path.into_inner();
    let found = ASSETS.iter().find(|(n, _, _)| *n == name);
    match (version == VERSION, found) {
        (true, Some((_, media_type, bytes))) => Ok(secured(
            HttpResponse::Ok()
                .content_type(*media_type)
                .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
                .body(*bytes),
        )),
        _ => Err(AppError::NotFound(format!(
            "no asset `{name}` of the API reference {version}"
        ))),
    }
}
