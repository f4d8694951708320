//! Attachments as staff download them: `GET /api/v1/attachments/{id}`
//! (bearer token) and, for the workspace pages, `/agent/attachments/{id}`
//! (session). The bytes are whatever a stranger sent, so the answer never
//! lets a browser run or render them as a page: the type comes from the
//! bytes (a declared `text/html` or SVG is served as a download of opaque
//! bytes), `X-Content-Type-Options: nosniff`, a sandboxing CSP, and
//! `Content-Disposition: attachment` with a cleaned name; only a raster
//! image or a PDF recognised by its bytes is served as itself, and only a
//! raster image may be shown inline (`?preview=1`, the thread's thumbnails).

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::error::ApiError;
use super::state::AppState;
use crate::auth::User;
use crate::store::AttachmentFile;

/// The API route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/attachments/{id}", get(api_download))
}

/// `?preview=1`: show a raster image inline.
#[derive(Debug, Default, Deserialize)]
pub struct DownloadParams {
    /// Inline, for a thumbnail (raster images only).
    pub preview: Option<u8>,
}

async fn api_download(
    State(state): State<AppState>,
    _user: User,
    Path(id): Path<String>,
    Query(params): Query<DownloadParams>,
) -> Result<Response, ApiError> {
    download(&state, &id, &params).await
}

/// The attachment `id` as a safe download.
///
/// # Errors
/// `NotFound` for an id that is not a stored attachment's.
pub async fn download(
    state: &AppState,
    id: &str,
    params: &DownloadParams,
) -> Result<Response, ApiError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::NotFound);
    }
    let file = state
        .store
        .attachment_file(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond(file, params.preview == Some(1)))
}

/// What the bytes are, when they are one of the kinds served as themselves:
/// the MIME type and whether a browser may show it inline.
fn recognised(bytes: &[u8]) -> Option<(&'static str, bool)> {
    let kind = infer::get(bytes)?;
    match kind.mime_type() {
        t @ ("image/png" | "image/jpeg" | "image/gif" | "image/webp") => Some((t, true)),
        t @ "application/pdf" => Some((t, false)),
        _ => None,
    }
}

/// A file name safe in a header and on any disk: letters (accents kept),
/// digits, spaces, `-`, `_` and `.`; no leading dot; at most 100 characters.
fn clean_name(name: Option<&str>, mime: Option<&str>) -> String {
    let cleaned: String = name
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if !cleaned.is_empty() {
        return cleaned;
    }
    let extension = match mime {
        Some("image/png") => ".png",
        Some("image/jpeg") => ".jpg",
        Some("image/gif") => ".gif",
        Some("image/webp") => ".webp",
        Some("application/pdf") => ".pdf",
        _ => ".bin",
    };
    format!("piece-jointe{extension}")
}

fn respond(file: AttachmentFile, preview: bool) -> Response {
    let known = recognised(&file.bytes);
    let mime = known.map_or("application/octet-stream", |(t, _)| t);
    let name = clean_name(file.filename.as_deref(), known.map(|(t, _)| t));
    let inline = preview && known.is_some_and(|(_, image)| image);
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii() && c != '"' { c } else { '_' })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC);
    let disposition = format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}",
        if inline { "inline" } else { "attachment" }
    );
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    for (name, value) in [
        (header::CONTENT_TYPE, mime),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ),
        (header::CACHE_CONTROL, "private, no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_types_come_from_the_bytes() {
        assert_eq!(clean_name(Some("../../etc/passwd"), None), "_.._etc_passwd");
        assert_eq!(clean_name(Some("Reçu été.pdf"), None), "Reçu été.pdf");
        assert_eq!(clean_name(Some("a\r\nX-Evil: 1"), None), "a__X-Evil_ 1");
        assert_eq!(clean_name(None, Some("image/png")), "piece-jointe.png");
        assert_eq!(recognised(b"<html><script>alert(1)</script>"), None);
        assert_eq!(
            recognised(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            None
        );
        assert_eq!(recognised(b"%PDF-1.7\n"), Some(("application/pdf", false)));
        assert_eq!(
            recognised(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(("image/png", true))
        );
    }
}
