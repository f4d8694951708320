//! HTTP: every route of the gateway, and the middleware applied to all of
//! them in one place (request id, tracing with the matched route, sensitive
//! header redaction, body size limit, timeout, panic catching, and error
//! localisation).

mod api;
pub mod attachments;
pub mod auth;
mod contacts;
pub mod error;
pub mod extract;
mod forms;
mod health;
pub mod sign_in;
pub mod staff;
pub mod state;
mod threads;
mod web;
mod webhooks;

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use governor::clock::{Clock as _, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::Quota;
use models::Language;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

use self::error::ApiError;
use self::state::AppState;

/// A keyed limiter on client addresses.
pub type RateLimiter = governor::RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// Builds the per-address limiter for form submissions.
pub fn form_rate_limiter(per_minute: u32, burst: u32) -> RateLimiter {
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    governor::RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
}

/// Checks the limiter for `ip` (an IPv6 client by its /64, which one
/// household or host usually holds whole).
///
/// # Errors
/// [`ApiError::RateLimited`] with the time to wait.
pub fn check_rate(limiter: &RateLimiter, ip: IpAddr) -> Result<(), ApiError> {
    limiter
        .check_key(&rate_key(ip))
        .map_err(|not_until| ApiError::RateLimited {
            retry_after: not_until
                .wait_time_from(DefaultClock::default().now())
                .max(Duration::from_secs(1)),
        })
}

/// The key a client address is limited by: IPv4 as is, IPv6 by its /64.
pub fn rate_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
    }
}

/// The client's address: the socket peer; behind a trusted reverse proxy
/// (`trust_forwarded_for` with the peer in `trusted_proxies`), the
/// right-most `X-Forwarded-For` hop that is not itself a trusted proxy.
/// Hops to the left of it were written by the client and are never read.
pub fn client_ip(
    headers: &HeaderMap,
    connect: Option<&ConnectInfo<SocketAddr>>,
    server: &crate::config::ServerSettings,
) -> IpAddr {
    let peer = connect.map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let trusted = |ip: &IpAddr| server.trusted_proxies.iter().any(|net| net.contains(ip));
    if !server.trust_forwarded_for || !trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted(&ip) => client = ip,
            Ok(ip) => return ip,
            // A hop that is not an address: what lies left of it is not
            // to be believed; the last trusted hop is the best we know.
            Err(_) => return client,
        }
    }
    client
}

/// The client's address as [`client_ip`] finds it, as an extractor.
pub struct ClientAddr(pub IpAddr);

impl axum::extract::FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(
            &parts.headers,
            parts.extensions.get::<ConnectInfo<SocketAddr>>(),
            &state.settings.server,
        )))
    }
}

/// The language a request asks for: `?lang=`, then `Accept-Language`, then French.
pub fn request_language(uri: &axum::http::Uri, headers: &HeaderMap) -> Language {
    let from_query = uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "lang")
            .and_then(|(_, v)| Language::from_code(v))
    });
    from_query
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Language::from_accept_language)
        })
        .unwrap_or_default()
}

/// Builds every route with its middleware.
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.server.max_body_bytes;
    let timeout = Duration::from_secs(state.settings.server.request_timeout_secs);
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(health::router())
        .merge(web::router())
        .merge(api::router())
        .merge(threads::router())
        .merge(attachments::router())
        .merge(contacts::router())
        .merge(staff::router())
        .merge(webhooks::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(move |req: Request, next: Next| enforce_timeout(timeout, req, next)))
        .layer(CatchPanicLayer::custom(|_panic: Box<dyn std::any::Any + Send>| {
            ApiError::internal(anyhow::anyhow!("Handler panicked")).into_response()
        }))
        .layer(middleware::from_fn_with_state(state.clone(), localize_errors))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id)
                }))
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                    header::COOKIE,
                    HeaderName::from_static("x-hub-signature-256"),
                ]))
                .layer(PropagateRequestIdLayer::new(request_id)),
        )
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn enforce_timeout(timeout: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// A handler's chosen response language (for example the JSON body's `lang`).
#[derive(Debug, Clone, Copy)]
pub struct ResponseLanguage(pub Language);

/// Rewrites every [`ApiError`] response with its localized JSON body, and
/// logs the error once.
async fn localize_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let lang = request_language(req.uri(), req.headers());
    let mut response = next.run(req).await;
    let Some(error) = response.extensions_mut().remove::<ApiError>() else {
        return response;
    };
    error.log();
    let lang = response
        .extensions()
        .get::<ResponseLanguage>()
        .map_or(lang, |l| l.0);
    // An HTML page that already explains the error keeps its body.
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        return response;
    }
    let status = response.status();
    let body = error.body(lang, &state.templates);
    let mut localized = (status, axum::Json(body)).into_response();
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            localized.headers_mut().insert(name.clone(), value.clone());
        }
    }
    localized
}
