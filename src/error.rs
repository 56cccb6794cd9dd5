//! One error type for the whole service. Every failure, including actix's own (unknown route,
//! wrong method, malformed JSON, oversized body), leaves as an RFC 9457 `application/problem+json`
//! body; internal details go to the log, never to the client.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub type AppResult<T> = Result<T, AppError>;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as named in the request (`fallback`, `email`, `limit` …).
    pub field: String,
    /// What is wrong with it, for a person to read.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Runs each parser of a request's fields and keeps every field error, so that one response
/// names all the invalid fields instead of the first. A parser that fails for another reason
/// (the database is unreachable) is not the caller's mistake: that error is what `finish`
/// returns.
#[derive(Debug, Default)]
pub struct FieldErrors {
    invalid: Vec<FieldError>,
    failure: Option<AppError>,
}

impl FieldErrors {
    pub fn check<T>(&mut self, result: AppResult<T>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(AppError::Validation(mut errors)) => {
                self.invalid.append(&mut errors);
                None
            }
            Err(other) => {
                self.failure.get_or_insert(other);
                None
            }
        }
    }

    pub fn finish(self) -> AppResult<()> {
        match self.failure {
            Some(failure) => Err(failure),
            None if self.invalid.is_empty() => Ok(()),
            None => Err(AppError::Validation(self.invalid)),
        }
    }
}

/// An RFC 9457 problem: the body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI that identifies the kind of problem; stable, for clients to match on.
    #[serde(rename = "type")]
    #[schema(example = "urn:newsdesk:problem:validation")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// For validation failures: each invalid field and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Option<Vec<FieldError>>,
    },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// 409 with more for the client to act on (the transitions allowed, the languages a story
    /// exists in …), as extension members of the problem.
    #[error("{detail}")]
    ConflictWith { detail: String, extra: Value },
    /// 404 with more for the client (the languages a story exists in).
    #[error("{detail}")]
    NotFoundWith { detail: String, extra: Value },
    /// 428: a write to a versioned resource came without `If-Match`.
    #[error("{0}")]
    PreconditionRequired(String),
    /// 412: `If-Match` named a version that is no longer current; `current` says what is.
    #[error("{detail}")]
    PreconditionFailed { detail: String, current: Value },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    /// Any other status, for errors raised below the handlers (CORS, routing).
    #[error("{1}")]
    Http(StatusCode, String),
    /// The database or a pool is out of reach; the string is for the log only.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Anything unexpected; the string is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            detail: detail.into(),
            errors: None,
        }
    }

    /// A 400 naming one parameter, for bad query strings and path segments.
    pub fn bad_parameter(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        AppError::BadRequest {
            detail: format!("invalid parameter `{field}`: {message}"),
            errors: Some(vec![FieldError::new(field, message)]),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    fn kind(&self) -> &'static str {
        match self {
            AppError::BadRequest { .. } => "bad-request",
            AppError::Validation(_) => "validation",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not-found",
            AppError::Conflict(_) => "conflict",
            AppError::ConflictWith { .. } => "conflict",
            AppError::NotFoundWith { .. } => "not-found",
            AppError::PreconditionRequired(_) => "precondition-required",
            AppError::PreconditionFailed { .. } => "precondition-failed",
            AppError::UnsupportedMediaType(_) => "unsupported-media-type",
            AppError::PayloadTooLarge(_) => "payload-too-large",
            AppError::TooManyRequests { .. } => "rate-limited",
            AppError::Http(..) => "http",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    fn problem(&self) -> Problem {
        let status = self.status_code();
        let (detail, errors) = match self {
            AppError::BadRequest { detail, errors } => (detail.clone(), errors.clone()),
            AppError::Validation(errors) => (
                "the request has invalid fields; see `errors`".to_owned(),
                Some(errors.clone()),
            ),
            AppError::TooManyRequests { detail, .. } => (detail.clone(), None),
            AppError::ConflictWith { detail, .. } | AppError::NotFoundWith { detail, .. } => {
                (detail.clone(), None)
            }
            AppError::PreconditionFailed { detail, .. } => (detail.clone(), None),
            AppError::Unavailable(_) => (
                "the service is temporarily unavailable; try again shortly".to_owned(),
                None,
            ),
            AppError::Internal(_) | AppError::Http(..) if status.is_server_error() => (
                "an unexpected error occurred; it has been logged".to_owned(),
                None,
            ),
            other => (other.to_string(), None),
        };
        Problem {
            kind: format!("urn:newsdesk:problem:{}", self.kind()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors,
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) | AppError::NotFoundWith { .. } => StatusCode::NOT_FOUND,
            AppError::Conflict(_) | AppError::ConflictWith { .. } => StatusCode::CONFLICT,
            AppError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            AppError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Http(status, _) => *status,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        match self {
            AppError::Internal(msg) => tracing::error!(error = %msg, "internal error"),
            AppError::Unavailable(msg) => tracing::warn!(error = %msg, "unavailable"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        match self {
            AppError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            AppError::TooManyRequests { retry_after, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            AppError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        let mut body = serde_json::to_value(self.problem()).unwrap_or(Value::Null);
        let extra = match self {
            AppError::ConflictWith { extra, .. } | AppError::NotFoundWith { extra, .. } => {
                Some(extra)
            }
            AppError::PreconditionFailed { current, .. } => Some(current),
            _ => None,
        };
        if let (Some(Value::Object(extra)), Value::Object(body)) = (extra, &mut body) {
            for (key, value) in extra {
                body.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
        response.body(body.to_string())
    }
}

impl From<DieselError> for AppError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => AppError::NotFound("no such resource".into()),
            DieselError::DatabaseError(kind, info) => match kind {
                DatabaseErrorKind::UniqueViolation => AppError::Conflict(
                    "a resource with the same unique value already exists".into(),
                ),
                DatabaseErrorKind::ForeignKeyViolation => AppError::Conflict(
                    "the resource is referenced by, or refers to, another resource".into(),
                ),
                DatabaseErrorKind::ClosedConnection => {
                    AppError::Unavailable(format!("connection closed: {}", info.message()))
                }
                DatabaseErrorKind::SerializationFailure => {
                    AppError::Unavailable(format!("serialization failure: {}", info.message()))
                }
                // SQLite reports some constraint failures without an extended code.
                _ if info.message().contains("FOREIGN KEY constraint failed") => {
                    AppError::Conflict(
                        "the resource is referenced by, or refers to, another resource".into(),
                    )
                }
                // SQLite's busy timeout ran out: another writer held the lock too long.
                _ if info.message().contains("database is locked") => {
                    AppError::Unavailable(info.message().to_owned())
                }
                _ => AppError::Internal(format!("database: {}", info.message())),
            },
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("json: {e}"))
    }
}

/// Turns actix's JSON extractor errors (malformed body, wrong type, unknown field, too large,
/// wrong content type) into problems.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let app = match &err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => AppError::PayloadTooLarge(
            "the request body is larger than this endpoint accepts".into(),
        ),
        E::ContentType => AppError::UnsupportedMediaType(
            "the request body must be JSON with `Content-Type: application/json`".into(),
        ),
        E::Deserialize(e) if e.is_data() => AppError::Validation(vec![data_error(e)]),
        E::Deserialize(e) => {
            AppError::bad_request(format!("the request body is not valid JSON: {e}"))
        }
        E::Payload(actix_web::error::PayloadError::Overflow) => AppError::PayloadTooLarge(
            "the request body is larger than this endpoint accepts".into(),
        ),
        other => AppError::bad_request(format!("the request body could not be read: {other}")),
    };
    app.into()
}

/// serde's message for a value of the wrong shape, with the field it names when it names one.
fn data_error(e: &serde_json::Error) -> FieldError {
    let message = e.to_string();
    let field = ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| {
            let start = message.find(prefix)? + prefix.len();
            let len = message[start..].find('`')?;
            Some(message[start..start + len].to_owned())
        })
        .unwrap_or_else(|| "body".to_owned());
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };
    FieldError::new(field, message)
}

pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    let text = match &err {
        actix_web::error::QueryPayloadError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    // serde names the parameter in these two messages; a value it cannot read it does not.
    let named = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    if let Some(name) = named("missing field `") {
        return AppError::bad_parameter(&name, "is required").into();
    }
    if let Some(name) = named("unknown field `") {
        return AppError::bad_parameter(&name, "is not a parameter of this resource").into();
    }
    AppError::bad_request(format!("invalid query string: {text}")).into()
}

pub fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    AppError::bad_request(format!("invalid path parameter: {err}")).into()
}

/// Last line of defence, as middleware: any error response that is not already problem+json
/// (actix's 404 for an unknown route, 405, a panic's 500 …) is rewritten into one.
pub fn ensure_problem<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = match status {
        StatusCode::NOT_FOUND => "no resource at this path".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "this resource does not support the method".to_owned(),
        StatusCode::INTERNAL_SERVER_ERROR => {
            "an unexpected error occurred; it has been logged".to_owned()
        }
        s => s.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let problem = Problem {
        kind: format!(
            "urn:newsdesk:problem:{}",
            match status {
                StatusCode::NOT_FOUND => "not-found",
                StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
                StatusCode::INTERNAL_SERVER_ERROR => "internal",
                _ => "http",
            }
        ),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        errors: None,
    };
    let (req, mut res) = res.into_parts();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    res.headers_mut().remove(header::CONTENT_LENGTH);
    let body = serde_json::to_string(&problem).unwrap_or_default();
    let res = res.set_body(body).map_into_boxed_body();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, res).map_into_right_body(),
    ))
}

/// Problem responses for the OpenAPI document. `problem_responses!(Name: 400, 404)` declares a
/// type that a `#[utoipa::path]` can list among its `responses`.
#[macro_export]
macro_rules! problem_responses {
    ($(#[$meta:meta])* $name:ident: $($status:literal),+) => {
        $(#[$meta])*
        pub struct $name;
        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
            > {
                [$($status),+]
                    .into_iter()
                    .map(|s: u16| (s.to_string(), $crate::error::problem_response(s)))
                    .collect()
            }
        }
    };
}

/// One documented problem response, referring to the shared `Problem` schema.
pub fn problem_response(
    status: u16,
) -> utoipa::openapi::RefOr<utoipa::openapi::response::Response> {
    use utoipa::openapi::{content::ContentBuilder, response::ResponseBuilder, Ref};
    let description = match status {
        400 => "Malformed request: bad JSON, query string or path parameter",
        401 => "Missing, invalid or expired credentials",
        403 => "The caller's role does not allow this",
        404 => "No such resource",
        409 => "Conflicts with the current state of the resource",
        412 => {
            "`If-Match` names a version that is no longer current; the body carries the current one"
        }
        413 => "The request body is too large",
        415 => "The request body is not JSON",
        422 => "One or more fields are invalid; see `errors`",
        428 => "This write needs `If-Match` with the ETag of the version it changes",
        429 => "Too many requests; see `Retry-After`",
        503 => "The database is temporarily unavailable; see `Retry-After`",
        _ => "Unexpected error",
    };
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, content)
        .build()
        .into()
}
