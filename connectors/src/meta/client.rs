//! The one Graph API client: sends Messenger and Instagram replies through
//! the Send API, and downloads attachments from Meta's CDN links.
//!
//! Built once at startup from [`MetaSettings`]. Every call has the settings'
//! timeout. Page access tokens travel only in the `Authorization` header of
//! Graph API calls (never in a URL, so never in an error text or a log) and
//! are never sent to CDN hosts.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use models::{Channel, ChannelIdentity, PageId};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Response, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};

use super::config::{parse_graph_api_base, MetaSettings, MetaSettingsError};
use super::guard::{LinkPolicy, PublicResolver};
use super::outbound::{
    check_text, classify_error, messaging_type_for, outbox_metadata, parse_retry_after,
    GraphErrorEnvelope, SendRequest, SendResponse,
};
use crate::{ConnectorError, OutgoingMessage, SentReceipt};

/// Most of a Graph API answer read into memory. Real answers are a few
/// hundred bytes; the cap protects against a misbehaving server.
const MAX_API_RESPONSE_BYTES: usize = 64 * 1024;

/// Longest wait for a TCP/TLS connection, within the overall timeout: a
/// Graph API host that does not accept a connection in 5 s is down, and the
/// outbox had better retry later.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Redirects followed when downloading an attachment (CDN links may hop
/// once); the Graph API itself does not redirect.
const MAX_REDIRECTS: usize = 3;

/// A Page's credentials, as the client needs them.
struct PageCredentials {
    id: PageId,
    instagram_account_id: Option<models::IgAccountId>,
    access_token: SecretString,
}

/// The Graph API client: implements [`crate::Connector`] for
/// [`Channel::Messenger`] and [`Channel::Instagram`].
pub struct MetaClient {
    http: reqwest::Client,
    /// `{graph_api_base}/{graph_api_version}/`.
    versioned_base: Url,
    /// Where attachments may be fetched from (Meta's CDN over https, and the
    /// configured Graph API origin as written).
    links: Arc<LinkPolicy>,
    pages: Vec<PageCredentials>,
}

impl std::fmt::Debug for MetaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaClient")
            .field("versioned_base", &self.versioned_base.as_str())
            .field(
                "pages",
                &self.pages.iter().map(|p| p.id.as_ref()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Bytes downloaded from an attachment link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedAttachment {
    /// The content.
    pub bytes: Vec<u8>,
    /// The MIME type the CDN announced, lower-cased, without parameters
    /// (`application/octet-stream` when it announced none).
    pub content_type: String,
}

impl MetaSettings {
    /// Builds the Graph API client this section configures.
    ///
    /// # Errors
    /// A [`MetaSettingsError`] listing every validation problem, or the HTTP
    /// client failing to build.
    pub fn client(&self) -> Result<MetaClient, MetaSettingsError> {
        MetaClient::new(self)
    }
}

impl MetaClient {
    /// Builds the client: validates the settings, then one HTTP client with
    /// the configured timeout.
    ///
    /// # Errors
    /// A [`MetaSettingsError`] listing every validation problem, or the HTTP
    /// client failing to build.
    pub fn new(settings: &MetaSettings) -> Result<Self, MetaSettingsError> {
        settings.validate()?;
        let single = |problem: String| MetaSettingsError {
            problems: vec![problem],
        };
        let base = parse_graph_api_base(&settings.graph_api_base).map_err(single)?;
        let versioned_base = base
            .join(&format!("{}/", settings.graph_api_version))
            .map_err(|e| single(format!("graph_api_version cannot extend the base URL: {e}")))?;
        let timeout = Duration::from_secs(settings.request_timeout_secs);
        let links = Arc::new(LinkPolicy::new(&settings.attachment_hosts, base));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
            .redirect(Arc::clone(&links).redirect_policy(MAX_REDIRECTS))
            .dns_resolver(Arc::new(PublicResolver::new(links.api_host())))
            .user_agent(concat!("sainte-julie-inbox/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| single(format!("the HTTP client cannot be built: {e}")))?;
        let pages = settings
            .pages
            .iter()
            .map(|page| PageCredentials {
                id: page.id.clone(),
                instagram_account_id: page.instagram_account_id.clone(),
                access_token: page.access_token.clone(),
            })
            .collect();
        Ok(Self {
            http,
            versioned_base,
            links,
            pages,
        })
    }

    /// Sends one message through `POST /{version}/{page-id}/messages`, after
    /// checking Meta's reply windows against the current time.
    ///
    /// Instagram messages go through the Page the account is linked to, with
    /// that Page's token, to the citizen's IGSID.
    ///
    /// # Errors
    /// - [`ConnectorError::ReplyWindowClosed`] before any call when the
    ///   windows forbid the send, or when Meta says the window is closed;
    /// - [`ConnectorError::Permanent`] for a recipient of the wrong channel, a
    ///   Page or account missing from the settings, an empty or over-long
    ///   text, or a refusal Meta will repeat;
    /// - [`ConnectorError::Auth`] when Meta refuses the token;
    /// - [`ConnectorError::RateLimited`] when Meta throttles;
    /// - [`ConnectorError::Transient`] for timeouts, connection failures and
    ///   server errors.
    #[tracing::instrument(
        name = "meta_send",
        skip_all,
        fields(channel = %message.channel, outbox_id = %message.outbox_id, page_id)
    )]
    pub async fn send_message(
        &self,
        message: &OutgoingMessage,
    ) -> Result<SentReceipt, ConnectorError> {
        let (page, recipient) = self.route(message)?;
        tracing::Span::current().record("page_id", page.id.as_ref());
        check_text(message.channel, &message.text)?;
        let messaging_type = messaging_type_for(
            message.kind,
            message.last_citizen_message_at,
            message.composed_at,
        )?;
        let metadata = outbox_metadata(&message.outbox_id);
        let body = SendRequest::new(recipient, messaging_type, &message.text, &metadata);
        let url = self.messages_url(&page.id)?;

        let response = self
            .http
            .post(url)
            .bearer_auth(page.access_token.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(network_error)?;

        let status = response.status();
        let retry_after = retry_after(&response);
        let bytes = read_capped(response, MAX_API_RESPONSE_BYTES).await?;
        if !status.is_success() {
            let envelope = serde_json::from_slice::<GraphErrorEnvelope>(&bytes).ok();
            return Err(classify_error(
                status.as_u16(),
                retry_after,
                envelope.as_ref().map(|e| &e.error),
            ));
        }
        match serde_json::from_slice::<SendResponse>(&bytes) {
            Ok(sent) => {
                tracing::debug!(provider_message_id = ?sent.message_id, "Meta accepted the message");
                Ok(SentReceipt {
                    provider_message_id: sent.message_id,
                })
            }
            Err(_) => {
                // The message is out: reporting a failure would make the
                // outbox send it twice. Only the correlation id is lost.
                tracing::warn!("Meta accepted the message with an unreadable answer");
                Ok(SentReceipt {
                    provider_message_id: None,
                })
            }
        }
    }

    /// Downloads an attachment from its (expiring) CDN link, at most
    /// `max_bytes`, within the client's timeout. No token is sent.
    ///
    /// Links must be `https` to a host of `attachment_hosts` (Meta's CDN),
    /// resolving to public addresses only, and so must every redirect hop;
    /// the Graph API base's own origin is trusted as configured (a local
    /// stand-in server in tests).
    ///
    /// # Errors
    /// - [`ConnectorError::Permanent`] for a link that is not allowed, an
    ///   expired or refused link (4xx), or content over `max_bytes` (store
    ///   the attachment as refused);
    /// - [`ConnectorError::RateLimited`] for a 429;
    /// - [`ConnectorError::Transient`] for timeouts, connection failures and
    ///   5xx.
    #[tracing::instrument(name = "meta_fetch_attachment", skip_all, fields(max_bytes))]
    pub async fn fetch_attachment(
        &self,
        url: &str,
        max_bytes: u64,
    ) -> Result<FetchedAttachment, ConnectorError> {
        let url = Url::parse(url).map_err(|_| {
            ConnectorError::Permanent("the attachment link is not a URL".to_owned())
        })?;
        self.links.check(&url).map_err(ConnectorError::Permanent)?;
        let response = self.http.get(url).send().await.map_err(|error| {
            if error.is_redirect() {
                ConnectorError::Permanent(format!("attachment download: {}", error.without_url()))
            } else {
                network_error(error)
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(match status {
                StatusCode::TOO_MANY_REQUESTS => ConnectorError::RateLimited {
                    retry_after: retry_after(&response),
                },
                s if s.is_server_error() => {
                    ConnectorError::Transient(format!("attachment download: HTTP {}", s.as_u16()))
                }
                s => ConnectorError::Permanent(format!(
                    "attachment download refused (HTTP {}); the link may have expired",
                    s.as_u16()
                )),
            });
        }
        let too_big = || {
            ConnectorError::Permanent(format!("the attachment is larger than {max_bytes} bytes"))
        };
        let announced = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|len| len > max_bytes) {
            return Err(too_big());
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let cap = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        let bytes = read_limited(response, cap).await?.ok_or_else(too_big)?;
        Ok(FetchedAttachment {
            bytes,
            content_type,
        })
    }

    /// Finds the Page to send through and the recipient id, checking that
    /// the recipient belongs to the message's channel.
    fn route<'m>(
        &self,
        message: &'m OutgoingMessage,
    ) -> Result<(&PageCredentials, &'m str), ConnectorError> {
        match (&message.channel, &message.recipient) {
            (Channel::Messenger, ChannelIdentity::Messenger { page, psid }) => {
                let credentials = self.pages.iter().find(|p| &p.id == page).ok_or_else(|| {
                    ConnectorError::Permanent(format!("page {page} is not configured"))
                })?;
                Ok((credentials, psid.as_ref()))
            }
            (Channel::Instagram, ChannelIdentity::Instagram { account, igsid }) => {
                let credentials = self
                    .pages
                    .iter()
                    .find(|p| p.instagram_account_id.as_ref() == Some(account))
                    .ok_or_else(|| {
                        ConnectorError::Permanent(format!(
                            "Instagram account {account} is not linked to a configured page"
                        ))
                    })?;
                Ok((credentials, igsid.as_ref()))
            }
            (channel, recipient) => Err(ConnectorError::Permanent(format!(
                "a {} identity cannot receive a {channel} message",
                recipient.kind()
            ))),
        }
    }

    fn messages_url(&self, page: &PageId) -> Result<Url, ConnectorError> {
        self.versioned_base
            .join(&format!("{page}/messages"))
            .map_err(|e| ConnectorError::Permanent(format!("cannot build the Send API URL: {e}")))
    }
}

/// Maps a transport failure (timeout, refused connection, TLS) to a
/// retryable error, without the URL.
fn network_error(error: reqwest::Error) -> ConnectorError {
    let error = error.without_url();
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    ConnectorError::Transient(format!("Graph API call {what}: {error}"))
}

fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, Utc::now()))
}

/// Reads an API answer, keeping at most `cap` bytes (the rest is dropped:
/// an error answer beyond the cap is classified from its status alone).
async fn read_capped(response: Response, cap: usize) -> Result<Vec<u8>, ConnectorError> {
    Ok(read_limited(response, cap).await?.unwrap_or_default())
}

/// Reads a body chunk by chunk; `None` when it exceeds `cap`.
async fn read_limited(
    mut response: Response,
    cap: usize,
) -> Result<Option<Vec<u8>>, ConnectorError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(network_error)? {
        if bytes.len() + chunk.len() > cap {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}
