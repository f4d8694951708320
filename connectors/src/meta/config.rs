//! The `[connectors.meta]` settings section: the app secret that signs
//! webhooks, the handshake's verify token, where the Graph API lives, and the
//! Facebook Pages (with their linked Instagram accounts) the city answers for.
//!
//! Pure data and validation. Building the HTTP client from it is
//! [`MetaSettings::client`].
//!
//! An example section, every key with its default where it has one:
//!
//! ```toml
//! [connectors.meta]
//! app_secret = "…"                       # required, from the Meta app dashboard
//! verify_token = "…"                     # required, chosen by us, typed into the dashboard
//! graph_api_base = "https://graph.facebook.com"
//! graph_api_version = "v21.0"
//! request_timeout_secs = 10
//! fetch_attachments = false
//! attachment_hosts = ["fbcdn.net", "fbsbx.com", "cdninstagram.com"]
//! max_attachments_per_message = 5
//! max_attachment_bytes_per_message = 26214400
//!
//! [[connectors.meta.pages]]
//! id = "104827364519203"                 # the Facebook Page
//! access_token = "…"                     # that Page's access token
//! instagram_account_id = "17841400918273645"   # optional: the linked Instagram account
//! ```

use std::collections::HashSet;
use std::fmt;

use models::{IgAccountId, PageId};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Default Graph API host. Tests point it at a local stand-in server.
pub const DEFAULT_GRAPH_API_BASE: &str = "https://graph.facebook.com";

/// Default Graph API version. Meta supports each version for about two years;
/// the operator moves it forward after checking the changelog.
pub const DEFAULT_GRAPH_API_VERSION: &str = "v21.0";

/// Default timeout of one Graph API call, in seconds.
///
/// The Send API normally answers in well under a second. Ten seconds rides out
/// a slow moment at Meta while still freeing an outbox worker long before its
/// lease ends; a call that times out is reported as transient and retried by
/// the outbox.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 10;

/// Longest timeout accepted, in seconds: beyond this an outbox lease would
/// have to be unreasonably long.
pub const MAX_REQUEST_TIMEOUT_SECS: u64 = 120;

/// The Messenger and Instagram channel's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaSettings {
    /// The Meta app's secret: the HMAC-SHA256 key of `X-Hub-Signature-256`.
    pub app_secret: SecretString,
    /// The token Meta echoes back in the GET subscription handshake.
    pub verify_token: SecretString,
    /// Scheme and host of the Graph API, without a version or trailing path.
    #[serde(default = "default_graph_api_base")]
    pub graph_api_base: String,
    /// Graph API version used in every path, such as `v21.0`.
    #[serde(default = "default_graph_api_version")]
    pub graph_api_version: String,
    /// Timeout of one Graph API call (and of one attachment download), in
    /// seconds. See [`DEFAULT_REQUEST_TIMEOUT_SECS`] for the reasoning.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// Whether the gateway downloads attachment bytes from Meta's expiring CDN
    /// URLs (with [`crate::meta::MetaClient::fetch_attachment`]) instead of
    /// keeping only the link.
    #[serde(default)]
    pub fetch_attachments: bool,
    /// Host names attachments may be downloaded from: a link's host must be
    /// one of these or end with `.` and one of these. Meta's CDN by default.
    #[serde(default = "default_attachment_hosts")]
    pub attachment_hosts: Vec<String>,
    /// Most attachments downloaded for one message; the others keep their link.
    #[serde(default = "default_max_attachments_per_message")]
    pub max_attachments_per_message: usize,
    /// Most bytes downloaded for one message, all its attachments together.
    #[serde(default = "default_max_attachment_bytes_per_message")]
    pub max_attachment_bytes_per_message: u64,
    /// The Facebook Pages this gateway answers for.
    #[serde(default)]
    pub pages: Vec<PageSettings>,
}

/// One Facebook Page, and the Instagram professional account linked to it.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSettings {
    /// The Page id (`entry[].id` of `page` webhooks).
    pub id: PageId,
    /// The Page access token, used for Messenger and for the linked Instagram
    /// account alike.
    pub access_token: SecretString,
    /// The Instagram professional account linked to this Page
    /// (`entry[].id` of `instagram` webhooks), if any.
    #[serde(default)]
    pub instagram_account_id: Option<IgAccountId>,
}

impl fmt::Debug for PageSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Spelled out so the token stays redacted even if its type changes.
        f.debug_struct("PageSettings")
            .field("id", &self.id)
            .field("access_token", &"[REDACTED]")
            .field("instagram_account_id", &self.instagram_account_id)
            .finish()
    }
}

/// Every problem found in a [`MetaSettings`] section, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid [connectors.meta] settings: {}", problems.join("; "))]
pub struct MetaSettingsError {
    /// One sentence per problem, naming the key.
    pub problems: Vec<String>,
}

fn default_graph_api_base() -> String {
    DEFAULT_GRAPH_API_BASE.to_owned()
}

fn default_graph_api_version() -> String {
    DEFAULT_GRAPH_API_VERSION.to_owned()
}

/// Meta's CDN domains, where Messenger and Instagram attachment links point.
pub const DEFAULT_ATTACHMENT_HOSTS: [&str; 3] = ["fbcdn.net", "fbsbx.com", "cdninstagram.com"];

fn default_attachment_hosts() -> Vec<String> {
    DEFAULT_ATTACHMENT_HOSTS.map(str::to_owned).to_vec()
}

fn default_max_attachments_per_message() -> usize {
    5
}

fn default_max_attachment_bytes_per_message() -> u64 {
    25 * 1024 * 1024
}

fn default_request_timeout_secs() -> u64 {
    DEFAULT_REQUEST_TIMEOUT_SECS
}

impl MetaSettings {
    /// Checks every rule and reports all problems at once.
    ///
    /// # Errors
    /// A [`MetaSettingsError`] listing each problem: empty secrets, a base URL
    /// that is not `http(s)://host` without a path, a version that is not
    /// `vN.N`, a timeout outside 1..=120 s, no page, duplicate pages or
    /// Instagram accounts, an empty page token.
    pub fn validate(&self) -> Result<(), MetaSettingsError> {
        let mut problems = Vec::new();
        if self.app_secret.expose_secret().trim().is_empty() {
            problems.push("app_secret must not be empty".to_owned());
        }
        if self.verify_token.expose_secret().trim().is_empty() {
            problems.push("verify_token must not be empty".to_owned());
        }
        if let Err(problem) = parse_graph_api_base(&self.graph_api_base) {
            problems.push(problem);
        }
        if !is_api_version(&self.graph_api_version) {
            problems.push(format!(
                "graph_api_version must look like v21.0, not {:?}",
                self.graph_api_version
            ));
        }
        if !(1..=MAX_REQUEST_TIMEOUT_SECS).contains(&self.request_timeout_secs) {
            problems.push(format!(
                "request_timeout_secs must be between 1 and {MAX_REQUEST_TIMEOUT_SECS}, not {}",
                self.request_timeout_secs
            ));
        }
        if self.pages.is_empty() {
            problems.push("pages must list at least one Facebook Page".to_owned());
        }
        let mut page_ids = HashSet::new();
        let mut instagram_ids = HashSet::new();
        for page in &self.pages {
            if !page_ids.insert(&page.id) {
                problems.push(format!("pages lists page {} twice", page.id));
            }
            if page.access_token.expose_secret().trim().is_empty() {
                problems.push(format!("pages: access_token of page {} is empty", page.id));
            }
            if let Some(account) = &page.instagram_account_id {
                if !instagram_ids.insert(account) {
                    problems.push(format!(
                        "pages links Instagram account {account} to more than one page"
                    ));
                }
            }
        }
        for host in &self.attachment_hosts {
            let valid = !host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                && !host.starts_with('.')
                && !host.ends_with('.');
            if !valid {
                problems.push(format!(
                    "attachment_hosts: {host:?} is not a host name (write `fbcdn.net`, without a scheme or a dot in front)"
                ));
            }
        }
        if self.max_attachments_per_message > 20 {
            problems.push("max_attachments_per_message must be at most 20".to_owned());
        }
        if self.max_attachment_bytes_per_message == 0
            || self.max_attachment_bytes_per_message > 100 * 1024 * 1024
        {
            problems.push(
                "max_attachment_bytes_per_message must be between 1 and 104857600".to_owned(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(MetaSettingsError { problems })
        }
    }

    /// The settings of a Page, by id.
    pub fn page(&self, id: &PageId) -> Option<&PageSettings> {
        self.pages.iter().find(|page| &page.id == id)
    }

    /// The settings of the Page an Instagram account is linked to.
    pub fn page_for_instagram(&self, account: &IgAccountId) -> Option<&PageSettings> {
        self.pages
            .iter()
            .find(|page| page.instagram_account_id.as_ref() == Some(account))
    }
}

/// Parses `graph_api_base`: an absolute `http` or `https` URL with a host and
/// no path, query or fragment (the version and path are appended to it).
pub(crate) fn parse_graph_api_base(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| format!("graph_api_base {text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "graph_api_base {text:?} must be an http or https URL with a host"
        ));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "graph_api_base {text:?} must have no path, query or fragment"
        ));
    }
    Ok(url)
}

/// `v` followed by `major.minor` digits, as Meta numbers its versions.
fn is_api_version(text: &str) -> bool {
    let Some(number) = text.strip_prefix('v') else {
        return false;
    };
    let Some((major, minor)) = number.split_once('.') else {
        return false;
    };
    [major, minor]
        .iter()
        .all(|part| !part.is_empty() && part.len() <= 4 && part.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
        app_secret = "s3cr3t-app"
        verify_token = "t0k3n-verify"
        graph_api_base = "http://127.0.0.1:9999"
        graph_api_version = "v22.0"
        request_timeout_secs = 5
        fetch_attachments = true

        [[pages]]
        id = "104827364519203"
        access_token = "page-token-abc"
        instagram_account_id = "17841400918273645"
    "#;

    const MINIMAL: &str = r#"
        app_secret = "s3cr3t-app"
        verify_token = "t0k3n-verify"

        [[pages]]
        id = "104827364519203"
        access_token = "page-token-abc"
    "#;

    #[test]
    fn a_full_section_parses_into_typed_ids_and_validates() {
        // Arrange / Act
        let settings: MetaSettings = toml::from_str(FULL).unwrap();

        // Assert
        settings.validate().unwrap();
        assert_eq!(settings.graph_api_base, "http://127.0.0.1:9999");
        assert_eq!(settings.graph_api_version, "v22.0");
        assert_eq!(settings.request_timeout_secs, 5);
        assert!(settings.fetch_attachments);
        let page = settings
            .page(&PageId::parse("104827364519203").unwrap())
            .unwrap();
        assert_eq!(page.access_token.expose_secret(), "page-token-abc");
        let ig = IgAccountId::parse("17841400918273645").unwrap();
        assert_eq!(settings.page_for_instagram(&ig).unwrap().id, page.id);
    }

    #[test]
    fn missing_optional_keys_take_their_documented_defaults() {
        // Arrange / Act
        let settings: MetaSettings = toml::from_str(MINIMAL).unwrap();

        // Assert
        settings.validate().unwrap();
        assert_eq!(settings.graph_api_base, DEFAULT_GRAPH_API_BASE);
        assert_eq!(settings.graph_api_version, DEFAULT_GRAPH_API_VERSION);
        assert_eq!(settings.request_timeout_secs, DEFAULT_REQUEST_TIMEOUT_SECS);
        assert!(!settings.fetch_attachments);
        assert_eq!(settings.pages[0].instagram_account_id, None);
    }

    #[test]
    fn the_example_in_the_module_docs_parses() {
        // Arrange: the documented example, without its section headers' prefix.
        let example = include_str!("config.rs")
            .lines()
            .skip_while(|line| !line.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|line| !line.starts_with("//! ```"))
            .map(|line| line.trim_start_matches("//!").trim_start())
            .map(|line| {
                line.replace("[connectors.meta]", "")
                    .replace("[[connectors.meta.pages]]", "[[pages]]")
                    .replace('…', "x")
            })
            .collect::<Vec<_>>()
            .join("\n");

        // Act
        let settings: MetaSettings = toml::from_str(&example).unwrap();

        // Assert
        settings.validate().unwrap();
        assert_eq!(settings.pages.len(), 1);
    }

    #[test]
    fn a_misspelt_key_is_refused() {
        // Arrange
        let typo = format!("{MINIMAL}\nfetch_atachments = true\n");
        let typo_at_top = format!("graph_api_verison = \"v21.0\"\n{MINIMAL}");

        // Act
        let in_page = toml::from_str::<MetaSettings>(&typo);
        let at_top = toml::from_str::<MetaSettings>(&typo_at_top);

        // Assert
        assert!(in_page.is_err(), "unknown key inside [[pages]] accepted");
        assert!(at_top.is_err(), "unknown top-level key accepted");
    }

    #[test]
    fn a_page_id_that_is_not_digits_is_refused_when_parsing() {
        // Arrange
        let bad = MINIMAL.replace("104827364519203", "city-page");

        // Act
        let parsed = toml::from_str::<MetaSettings>(&bad);

        // Assert
        assert!(parsed.is_err());
    }

    #[test]
    fn validation_reports_every_problem_at_once() {
        // Arrange
        let bad = r#"
            app_secret = " "
            verify_token = ""
            graph_api_base = "ftp://graph.example.org/v21.0"
            graph_api_version = "21"
            request_timeout_secs = 0

            [[pages]]
            id = "1"
            access_token = ""
            instagram_account_id = "9"

            [[pages]]
            id = "1"
            access_token = "x"
            instagram_account_id = "9"
        "#;
        let settings: MetaSettings = toml::from_str(bad).unwrap();

        // Act
        let error = settings.validate().unwrap_err();

        // Assert
        let expected = [
            "app_secret",
            "verify_token",
            "graph_api_base",
            "graph_api_version",
            "request_timeout_secs",
            "page 1 twice",
            "access_token of page 1",
            "Instagram account 9",
        ];
        for needle in expected {
            assert!(
                error.problems.iter().any(|p| p.contains(needle)),
                "no problem mentions {needle:?}: {:?}",
                error.problems
            );
        }
        assert_eq!(error.problems.len(), expected.len(), "{:?}", error.problems);
    }

    #[test]
    fn no_page_at_all_is_a_problem() {
        // Arrange
        let settings: MetaSettings =
            toml::from_str("app_secret = \"a\"\nverify_token = \"b\"\n").unwrap();

        // Act
        let error = settings.validate().unwrap_err();

        // Assert
        assert_eq!(error.problems.len(), 1);
        assert!(error.problems[0].contains("at least one"));
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        // Arrange
        let settings: MetaSettings = toml::from_str(FULL).unwrap();

        // Act
        let debug = format!("{settings:?}");

        // Assert
        for secret in ["s3cr3t-app", "t0k3n-verify", "page-token-abc"] {
            assert!(!debug.contains(secret), "{secret} leaked in {debug}");
        }
        assert!(debug.contains("104827364519203"));
    }

    #[test]
    fn graph_api_base_accepts_hosts_and_refuses_paths() {
        // Arrange
        let cases = [
            ("https://graph.facebook.com", true),
            ("https://graph.facebook.com/", true),
            ("http://127.0.0.1:8080", true),
            ("https://graph.facebook.com/v21.0", false),
            ("graph.facebook.com", false),
            ("https://graph.facebook.com/?x=1", false),
        ];
        for (text, ok) in cases {
            // Act
            let parsed = parse_graph_api_base(text);

            // Assert
            assert_eq!(parsed.is_ok(), ok, "case {text:?}: {parsed:?}");
        }
    }
}
