//! Draft previews: an editor asks for a link to one translation (Admin API), and whoever opens
//! it reads that translation as the article page will show it (`/api/v1/preview/{token}`).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::articles::editing::{load, path_lang};
use crate::audit::{self, Actor};
use crate::auth::AuthUser;
use crate::content::article_page::Include;
use crate::content::page::{self, ArticleDetail};
use crate::content::preview;
use crate::error::AppResult;
use crate::problem_responses;
use crate::prompts::Placement;

problem_responses!(
    /// Errors of making a preview link.
    PreviewCreateErrors: 400, 401, 404, 413, 415, 422, 500, 503
);
problem_responses!(
    /// Errors of opening a preview link: 401 for a link that is forged, tampered with, expired
    /// or not a preview link; 404 when its translation no longer exists.
    PreviewErrors: 400, 401, 404, 500, 503
);

/// How long the link should work.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// Seconds, from 1 to 604800 (a week); 3600 (an hour) when left out.
    #[schema(minimum = 1, maximum = 604800, example = 3600)]
    pub expires_in: Option<u64>,
}

/// A preview link. Anyone who holds it can read this one translation until it expires: share it
/// like a password.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewLink {
    /// The token itself.
    pub token: String,
    /// The Content API address of the preview.
    #[schema(example = "http://127.0.0.1:8080/api/v1/preview/eyJ0eXAiOiJKV1Qi…")]
    pub api_url: String,
    /// The newsroom site's preview page (`PUBLIC_SITE_URL` + `/preview/{token}`).
    #[schema(example = "http://localhost:3000/preview/eyJ0eXAiOiJKV1Qi…")]
    pub site_url: String,
    pub expires_at: DateTime<Utc>,
}

/// Make a preview link to one translation, in whatever state it is (draft, in review,
/// scheduled). Anyone who may read the translation. The link works on every node and after a
/// restart until it expires; it grants nothing but reading this translation. Audited.
#[utoipa::path(
    post,
    path = "/api/v1/admin/articles/{id}/translations/{lang}/preview",
    tag = "articles",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The story's id"), ("lang" = String, Path, example = "ka")),
    request_body(content = Option<PreviewRequest>, description = "Absent: the link works for an hour"),
    responses(
        (status = 201, description = "The link", body = PreviewLink),
        PreviewCreateErrors
    )
)]
pub async fn create_preview(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String)>,
    body: Option<web::Json<PreviewRequest>>,
) -> AppResult<HttpResponse> {
    let (id, raw_lang) = path.into_inner();
    let lang = path_lang(id, &raw_lang)?;
    let ttl = preview::ttl(body.and_then(|b| b.into_inner().expires_in))?;
    let st = state.clone().into_inner();
    let link = state
        .db
        .transaction(move |c| {
            let l = load(c, &caller, id, &lang)?;
            let (token, expires_at) = st.previews.issue(&l.translation, caller.id, ttl)?;
            audit::record(
                c,
                &Actor::from(&caller),
                "translation.preview",
                "translation",
                &l.translation.id.to_string(),
                json!({ "article_id": id, "lang": lang, "expires_at": expires_at }),
            )?;
            Ok(PreviewLink {
                api_url: format!("{}/api/v1/preview/{token}", st.config.public_api_url),
                site_url: format!("{}/preview/{token}", st.config.public_site_url),
                token,
                expires_at,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(link))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// As on the article page: `related`, `most_read`, `live_entries`, `donation_prompt`.
    #[param(example = "related,most_read,donation_prompt")]
    pub include: Option<String>,
    /// As on the article page.
    #[param(example = "article_end")]
    #[param(value_type = Option<Placement>)]
    pub prompt_placement: Option<String>,
}

/// Read the translation a preview link names, in whatever state it is now, in exactly the shape
/// of the article page (`GET /api/v1/articles/{lang}/{slug}`) with `preview: true` and its
/// `status`. Never cached (`private, no-store`), never indexed (`X-Robots-Tag: noindex`), and
/// sends no `Referer` onwards.
#[utoipa::path(
    get,
    path = "/api/v1/preview/{token}",
    tag = "content",
    params(("token" = String, Path, description = "From the preview link"), PreviewQuery),
    responses(
        (status = 200, description = "The translation as readers will see it", body = ArticleDetail,
            headers(("Cache-Control" = String, description = "`private, no-store`"),
                ("X-Robots-Tag" = String, description = "`noindex`"),
                ("Content-Language" = String))),
        PreviewErrors
    )
)]
pub async fn open_preview(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PreviewQuery>,
) -> AppResult<HttpResponse> {
    let named = state.previews.verify(&path.into_inner())?;
    let q = query.into_inner();
    let include = Include::parse(q.include.as_deref())?;
    let placement = page::prompt_placement(q.prompt_placement.as_deref())?;
    let st = state.clone().into_inner();
    let detail = state
        .db
        .run(move |c| {
            let (full, status) = preview::load(c, &named)?;
            let chain = st.reader_chain(c, &named.lang)?;
            let mut page = page::article(c, &st, full, &chain, include, placement)?;
            page.detail.preview = Some(true);
            page.detail.status = Some(status);
            Ok(page.detail)
        })
        .await?;
    let mut res = HttpResponse::Ok().json(&detail);
    // `Cache-Control: private, no-store` is the request middleware's, for every preview answer.
    let headers = res.headers_mut();
    headers.insert(
        header::HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(lang) = HeaderValue::from_str(&detail.served_lang) {
        headers.insert(header::CONTENT_LANGUAGE, lang);
    }
    Ok(res)
}
