//! Settings of the email channel (`[connectors.email]`): the IMAP mailboxes
//! to read, the SMTP relay to send through, the city's sender identity and
//! the limits applied to inbound mail.
//!
//! Pure data plus [`EmailSettings::validate`]. Nothing here opens a socket.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use models::EmailAddress;
use secrecy::SecretString;
use serde::Deserialize;

/// Default attachment limit: 15 MiB, a little above what most providers let
/// a citizen attach (Gmail and Outlook stop at 20–25 MB of *encoded* mail,
/// which is about 15 MB of file once base64 is removed).
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 15 * 1024 * 1024;
/// Default number of acknowledgements one sender may receive per day, so that
/// a misbehaving auto-responder we failed to detect cannot loop with us.
pub const DEFAULT_MAX_ACKS_PER_SENDER_PER_DAY: u32 = 3;
/// Default IDLE duration: 25 minutes. RFC 2177 servers drop an idle client
/// after 30 minutes; re-issuing IDLE before 29 minutes keeps the session alive
/// with a margin for clock drift and slow networks.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 25 * 60;
/// Upper bound (exclusive) for `idle_timeout_secs`: 29 minutes.
pub const MAX_IDLE_TIMEOUT_SECS: u64 = 29 * 60;
/// Default polling interval when the server has no IDLE or IDLE is disabled.
pub const DEFAULT_POLL_INTERVAL_SECS: u64 = 60;
/// Default time allowed to open a TCP connection and finish the TLS handshake.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 30;
/// Default time allowed for one short IMAP command (LOGIN, SELECT, STORE…).
pub const DEFAULT_COMMAND_TIMEOUT_SECS: u64 = 60;
/// Default time allowed to download one batch of messages: generous, since a
/// batch may hold several messages with 15 MB photos on a slow link.
pub const DEFAULT_FETCH_TIMEOUT_SECS: u64 = 300;
/// Default number of messages downloaded per `UID FETCH`.
pub const DEFAULT_FETCH_BATCH_MESSAGES: u32 = 20;
/// Largest accepted batch: keeps the memory of one batch bounded.
pub const MAX_FETCH_BATCH_MESSAGES: u32 = 500;
/// Default SMTP limit for connecting and for the exchange of one message:
/// acknowledgements are a few kilobytes, so 30 s only trips on a stalled relay.
pub const DEFAULT_SMTP_TIMEOUT_SECS: u64 = 30;

/// How a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportSecurity {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain connection upgraded with STARTTLS before authenticating.
    Starttls,
    /// No encryption at all. Only for servers on the same host (tests);
    /// never a default.
    Plain,
}

/// How the gateway proves its identity to the IMAP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImapAuthMethod {
    /// The IMAP `LOGIN` command with `username` and `password`.
    #[default]
    Login,
    /// `AUTHENTICATE PLAIN` (RFC 4616) with `username` and `password`.
    Plain,
    /// `AUTHENTICATE XOAUTH2` (Microsoft 365, Google) with `username` and an
    /// OAuth 2 `access_token`.
    Xoauth2,
}

/// What to do with a message once the gateway has stored it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterProcessingSetting {
    /// Set the `\Seen` flag and leave the message in its folder.
    #[default]
    Seen,
    /// Move the message to `move_to_folder`.
    Move,
}

/// The validated form of the after-processing action, ready for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterProcessing {
    /// Flag `\Seen`.
    MarkSeen,
    /// Move to this folder (`UID MOVE`, or COPY + `\Deleted` + EXPUNGE).
    Move {
        /// Target folder name, as the server spells it.
        folder: String,
    },
}

fn default_folder() -> String {
    "INBOX".to_owned()
}
fn default_true() -> bool {
    true
}
fn default_idle_timeout_secs() -> u64 {
    DEFAULT_IDLE_TIMEOUT_SECS
}
fn default_poll_interval_secs() -> u64 {
    DEFAULT_POLL_INTERVAL_SECS
}
fn default_connect_timeout_secs() -> u64 {
    DEFAULT_CONNECT_TIMEOUT_SECS
}
fn default_command_timeout_secs() -> u64 {
    DEFAULT_COMMAND_TIMEOUT_SECS
}
fn default_fetch_timeout_secs() -> u64 {
    DEFAULT_FETCH_TIMEOUT_SECS
}
fn default_fetch_batch_messages() -> u32 {
    DEFAULT_FETCH_BATCH_MESSAGES
}
fn default_imap_security() -> TransportSecurity {
    TransportSecurity::Tls
}
fn default_smtp_security() -> TransportSecurity {
    TransportSecurity::Starttls
}
fn default_smtp_timeout_secs() -> u64 {
    DEFAULT_SMTP_TIMEOUT_SECS
}
fn default_max_attachment_bytes() -> u64 {
    DEFAULT_MAX_ATTACHMENT_BYTES
}
fn default_max_acks_per_sender_per_day() -> u32 {
    DEFAULT_MAX_ACKS_PER_SENDER_PER_DAY
}

/// One IMAP mailbox the gateway reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxSettings {
    /// Short label for logs and checkpoints (`clientele`).
    pub name: String,
    /// IMAP server host name.
    pub imap_host: String,
    /// IMAP port; defaults to 993 for `tls`, 143 otherwise.
    #[serde(default)]
    pub imap_port: Option<u16>,
    /// Transport protection; default `tls`.
    #[serde(default = "default_imap_security")]
    pub imap_security: TransportSecurity,
    /// Extra root certificate(s), PEM, trusted for this server besides the
    /// public roots: for a city-run server signed by a private authority.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// Login name.
    pub username: String,
    /// Password for `login` and `plain`.
    #[serde(default)]
    pub password: Option<SecretString>,
    /// Authentication method; default `login`.
    #[serde(default)]
    pub auth: ImapAuthMethod,
    /// OAuth 2 access token for `xoauth2`.
    #[serde(default)]
    pub access_token: Option<SecretString>,
    /// Folder to read; default `INBOX`.
    #[serde(default = "default_folder")]
    pub folder: String,
    /// What to do once a message is stored; default `seen`.
    #[serde(default)]
    pub after_processing: AfterProcessingSetting,
    /// Target folder when `after_processing = "move"`.
    #[serde(default)]
    pub move_to_folder: Option<String>,
    /// Use IMAP IDLE when the server offers it; default true.
    #[serde(default = "default_true")]
    pub idle_enabled: bool,
    /// How long one IDLE lasts before it is re-issued; default 1500 (25 min),
    /// must stay below 1740 (29 min).
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    /// Polling interval without IDLE; default 60.
    #[serde(default = "default_poll_interval_secs")]
    pub poll_interval_secs: u64,
    /// TCP connect plus TLS handshake plus greeting; default 30.
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    /// One short IMAP command; default 60.
    #[serde(default = "default_command_timeout_secs")]
    pub command_timeout_secs: u64,
    /// One batch download; default 300.
    #[serde(default = "default_fetch_timeout_secs")]
    pub fetch_timeout_secs: u64,
    /// Messages per `UID FETCH`; default 20, at most 500.
    #[serde(default = "default_fetch_batch_messages")]
    pub fetch_batch_messages: u32,
}

impl MailboxSettings {
    /// The port to connect to, explicit or derived from the security mode.
    pub fn port(&self) -> u16 {
        self.imap_port.unwrap_or(match self.imap_security {
            TransportSecurity::Tls => 993,
            TransportSecurity::Starttls | TransportSecurity::Plain => 143,
        })
    }

    /// The after-processing action with its folder. Call after
    /// [`EmailSettings::validate`]; an unvalidated `move` without a folder
    /// falls back to marking the message seen.
    pub fn after_processing(&self) -> AfterProcessing {
        match (self.after_processing, &self.move_to_folder) {
            (AfterProcessingSetting::Move, Some(folder)) if !folder.trim().is_empty() => {
                AfterProcessing::Move {
                    folder: folder.clone(),
                }
            }
            _ => AfterProcessing::MarkSeen,
        }
    }

    /// IDLE duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    /// Polling interval.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(self.poll_interval_secs)
    }

    /// Connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }

    /// Command timeout.
    pub fn command_timeout(&self) -> Duration {
        Duration::from_secs(self.command_timeout_secs)
    }

    /// Batch download timeout.
    pub fn fetch_timeout(&self) -> Duration {
        Duration::from_secs(self.fetch_timeout_secs)
    }

    fn collect_problems(&self, index: usize, problems: &mut Vec<String>) {
        let at = format!("mailboxes[{index}] ({})", self.name);
        if self.name.trim().is_empty() {
            problems.push(format!("mailboxes[{index}].name must not be empty"));
        }
        if self.imap_host.trim().is_empty() {
            problems.push(format!("{at}.imap_host must not be empty"));
        }
        if self.imap_port == Some(0) {
            problems.push(format!("{at}.imap_port must not be 0"));
        }
        if self.username.trim().is_empty() {
            problems.push(format!("{at}.username must not be empty"));
        }
        check_ca_file(
            &format!("{at}.tls_ca_file"),
            self.tls_ca_file.as_ref(),
            problems,
        );
        match self.auth {
            ImapAuthMethod::Login | ImapAuthMethod::Plain => {
                if self.password.is_none() {
                    problems.push(format!("{at}.password is required for auth = login/plain"));
                }
            }
            ImapAuthMethod::Xoauth2 => {
                if self.access_token.is_none() {
                    problems.push(format!("{at}.access_token is required for auth = xoauth2"));
                }
            }
        }
        if self.folder.trim().is_empty() {
            problems.push(format!("{at}.folder must not be empty"));
        }
        match (self.after_processing, &self.move_to_folder) {
            (AfterProcessingSetting::Move, None) => {
                problems.push(format!(
                    "{at}.move_to_folder is required for after_processing = move"
                ));
            }
            (AfterProcessingSetting::Move, Some(folder)) => {
                if folder.trim().is_empty() {
                    problems.push(format!("{at}.move_to_folder must not be empty"));
                } else if folder == &self.folder {
                    problems.push(format!("{at}.move_to_folder must differ from folder"));
                }
            }
            (AfterProcessingSetting::Seen, Some(_)) => {
                problems.push(format!(
                    "{at}.move_to_folder is set but after_processing is not move"
                ));
            }
            (AfterProcessingSetting::Seen, None) => {}
        }
        if self.idle_timeout_secs == 0 || self.idle_timeout_secs >= MAX_IDLE_TIMEOUT_SECS {
            problems.push(format!(
                "{at}.idle_timeout_secs must be between 1 and {} (below 29 minutes)",
                MAX_IDLE_TIMEOUT_SECS - 1
            ));
        }
        for (field, value) in [
            ("poll_interval_secs", self.poll_interval_secs),
            ("connect_timeout_secs", self.connect_timeout_secs),
            ("command_timeout_secs", self.command_timeout_secs),
            ("fetch_timeout_secs", self.fetch_timeout_secs),
        ] {
            if value == 0 {
                problems.push(format!("{at}.{field} must be at least 1"));
            }
        }
        if self.fetch_batch_messages == 0 || self.fetch_batch_messages > MAX_FETCH_BATCH_MESSAGES {
            problems.push(format!(
                "{at}.fetch_batch_messages must be between 1 and {MAX_FETCH_BATCH_MESSAGES}"
            ));
        }
    }
}

fn check_ca_file(field: &str, path: Option<&PathBuf>, problems: &mut Vec<String>) {
    if let Some(path) = path {
        if !path.is_file() {
            problems.push(format!("{field} {} is not a readable file", path.display()));
        }
    }
}

/// The SMTP relay acknowledgements and replies leave through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// Relay host name.
    pub host: String,
    /// Port; defaults to 465 for `tls`, 587 for `starttls`, 25 for `plain`.
    #[serde(default)]
    pub port: Option<u16>,
    /// Transport protection; default `starttls`.
    #[serde(default = "default_smtp_security")]
    pub security: TransportSecurity,
    /// Extra root certificate(s), PEM, trusted besides the public roots.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// AUTH user name; no AUTH when absent.
    #[serde(default)]
    pub username: Option<String>,
    /// AUTH password; required with `username`.
    #[serde(default)]
    pub password: Option<SecretString>,
    /// Limit for connecting and, separately, for the whole exchange of one
    /// message (EHLO to end of DATA); default 30.
    #[serde(default = "default_smtp_timeout_secs")]
    pub timeout_secs: u64,
    /// Name sent in EHLO; defaults to the domain of `from_address`.
    #[serde(default)]
    pub hello_name: Option<String>,
}

impl SmtpSettings {
    /// The port to connect to, explicit or derived from the security mode.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            TransportSecurity::Tls => 465,
            TransportSecurity::Starttls => 587,
            TransportSecurity::Plain => 25,
        })
    }

    /// SMTP timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    fn collect_problems(&self, problems: &mut Vec<String>) {
        if self.host.trim().is_empty() {
            problems.push("smtp.host must not be empty".to_owned());
        }
        if self.port == Some(0) {
            problems.push("smtp.port must not be 0".to_owned());
        }
        if self.timeout_secs == 0 {
            problems.push("smtp.timeout_secs must be at least 1".to_owned());
        }
        check_ca_file("smtp.tls_ca_file", self.tls_ca_file.as_ref(), problems);
        match (&self.username, &self.password) {
            (Some(_), None) => {
                problems.push("smtp.password is required with smtp.username".to_owned())
            }
            (None, Some(_)) => {
                problems.push("smtp.username is required with smtp.password".to_owned())
            }
            (Some(user), Some(_)) if user.trim().is_empty() => {
                problems.push("smtp.username must not be empty".to_owned());
            }
            _ => {}
        }
        if let Some(name) = &self.hello_name {
            if name.trim().is_empty() || name.contains(char::is_whitespace) {
                problems.push("smtp.hello_name must be a host name without spaces".to_owned());
            }
        }
    }
}

/// The `[connectors.email]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// Mailboxes to read (usually one: clientele@).
    pub mailboxes: Vec<MailboxSettings>,
    /// The outgoing relay.
    pub smtp: SmtpSettings,
    /// The city's sender address (`clientele@saintejulie.ca`).
    pub from_address: EmailAddress,
    /// Display name shown with `from_address`; none when absent.
    #[serde(default)]
    pub from_name: Option<String>,
    /// Where citizens' replies go; defaults to `from_address`.
    #[serde(default)]
    pub reply_to: Option<EmailAddress>,
    /// Other addresses of the city (aliases, departments): mail *from* them
    /// is never acknowledged, which breaks loops between our own mailboxes.
    #[serde(default)]
    pub own_addresses: Vec<EmailAddress>,
    /// Largest attachment kept; bigger ones are recorded as refused. Default 15 MiB.
    #[serde(default = "default_max_attachment_bytes")]
    pub max_attachment_bytes: u64,
    /// Acknowledgements one sender may get per day; default 3. Enforced by
    /// the gateway, which counts them in its store.
    #[serde(default = "default_max_acks_per_sender_per_day")]
    pub max_acks_per_sender_per_day: u32,
}

impl EmailSettings {
    /// The Reply-To address: `reply_to`, or `from_address`.
    pub fn reply_to_address(&self) -> &EmailAddress {
        self.reply_to.as_ref().unwrap_or(&self.from_address)
    }

    /// Every address that belongs to the city: `from_address`, `reply_to`,
    /// the mailbox user names that are addresses, and `own_addresses`.
    pub fn city_addresses(&self) -> Vec<EmailAddress> {
        let mut all = vec![self.from_address.clone()];
        all.extend(self.reply_to.iter().cloned());
        all.extend(
            self.mailboxes
                .iter()
                .filter_map(|m| EmailAddress::parse(&m.username).ok()),
        );
        all.extend(self.own_addresses.iter().cloned());
        all.sort();
        all.dedup();
        all
    }

    /// Checks every rule and reports all problems at once.
    ///
    /// # Errors
    /// [`EmailSettingsError`] listing every problem found.
    pub fn validate(&self) -> Result<(), EmailSettingsError> {
        let mut problems = Vec::new();
        if self.mailboxes.is_empty() {
            problems.push("mailboxes must list at least one mailbox".to_owned());
        }
        for (index, mailbox) in self.mailboxes.iter().enumerate() {
            mailbox.collect_problems(index, &mut problems);
        }
        let mut names: Vec<&str> = self.mailboxes.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        for pair in names.windows(2) {
            if pair[0] == pair[1] {
                problems.push(format!("mailbox name {:?} is used twice", pair[0]));
            }
        }
        self.smtp.collect_problems(&mut problems);
        if let Some(name) = &self.from_name {
            if name.chars().any(char::is_control) {
                problems.push("from_name must not contain control characters".to_owned());
            }
        }
        if self.max_attachment_bytes == 0 {
            problems.push("max_attachment_bytes must be at least 1".to_owned());
        }
        if self.max_acks_per_sender_per_day == 0 {
            problems.push("max_acks_per_sender_per_day must be at least 1".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(EmailSettingsError { problems })
        }
    }
}

/// Every problem found in the email settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct EmailSettingsError {
    /// One sentence per problem, naming the field.
    pub problems: Vec<String>,
}

impl fmt::Display for EmailSettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid email settings: {}", self.problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const MINIMAL: &str = r#"
        from_address = "clientele@saintejulie.ca"
        [[mailboxes]]
        name = "clientele"
        imap_host = "imap.example.net"
        username = "clientele@saintejulie.ca"
        password = "secret-imap"
        [smtp]
        host = "smtp.example.net"
    "#;

    #[test]
    fn minimal_settings_get_the_documented_defaults() {
        // Arrange / Act
        let settings: EmailSettings = toml::from_str(MINIMAL).unwrap();

        // Assert
        settings.validate().unwrap();
        let mailbox = &settings.mailboxes[0];
        assert_eq!(mailbox.imap_security, TransportSecurity::Tls);
        assert_eq!(mailbox.port(), 993);
        assert_eq!(mailbox.folder, "INBOX");
        assert_eq!(mailbox.auth, ImapAuthMethod::Login);
        assert_eq!(mailbox.after_processing(), AfterProcessing::MarkSeen);
        assert!(mailbox.idle_enabled);
        assert_eq!(mailbox.idle_timeout_secs, 1500);
        assert_eq!(mailbox.fetch_batch_messages, DEFAULT_FETCH_BATCH_MESSAGES);
        assert_eq!(settings.smtp.security, TransportSecurity::Starttls);
        assert_eq!(settings.smtp.port(), 587);
        assert_eq!(settings.max_attachment_bytes, 15 * 1024 * 1024);
        assert_eq!(settings.max_acks_per_sender_per_day, 3);
        assert_eq!(
            settings.reply_to_address().as_ref(),
            "clientele@saintejulie.ca"
        );
        assert_eq!(
            mailbox.password.as_ref().unwrap().expose_secret(),
            "secret-imap"
        );
    }

    /// Every key of the section, as the gateway's example config should list it.
    const EVERY_KEY: &str = r#"
        from_address = "clientele@saintejulie.ca"
        from_name = "Ville de Sainte-Julie"
        reply_to = "clientele@saintejulie.ca"
        own_addresses = ["travaux.publics@saintejulie.ca"]
        max_attachment_bytes = 15728640
        max_acks_per_sender_per_day = 3

        [[mailboxes]]
        name = "clientele"
        imap_host = "outlook.office365.com"
        imap_port = 993
        imap_security = "tls"
        username = "clientele@saintejulie.ca"
        auth = "xoauth2"
        access_token = "secret-token"
        folder = "INBOX"
        after_processing = "move"
        move_to_folder = "Traites"
        idle_enabled = true
        idle_timeout_secs = 1500
        poll_interval_secs = 60
        connect_timeout_secs = 30
        command_timeout_secs = 60
        fetch_timeout_secs = 300
        fetch_batch_messages = 20

        [smtp]
        host = "smtp.office365.com"
        port = 587
        security = "starttls"
        username = "clientele@saintejulie.ca"
        password = "secret-smtp"
        timeout_secs = 30
        hello_name = "gateway.saintejulie.ca"
    "#;

    #[test]
    fn an_example_with_every_key_parses_and_validates() {
        // Arrange / Act
        let settings: EmailSettings = toml::from_str(EVERY_KEY).unwrap();

        // Assert
        settings.validate().unwrap();
        assert_eq!(settings.mailboxes[0].auth, ImapAuthMethod::Xoauth2);
        assert_eq!(settings.city_addresses().len(), 2);
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        // Arrange
        let settings: EmailSettings = toml::from_str(MINIMAL).unwrap();

        // Act
        let debug = format!("{settings:?}");

        // Assert
        assert!(!debug.contains("secret-imap"), "{debug}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        // Arrange
        let text = MINIMAL.replace("[smtp]", "[smtp]\nhots = \"typo\"");

        // Act
        let result = toml::from_str::<EmailSettings>(&text);

        // Assert
        assert!(result.is_err());
    }

    #[test]
    fn plain_security_is_only_used_when_written() {
        // Arrange
        let text = MINIMAL.replace(
            "imap_host = \"imap.example.net\"",
            "imap_host = \"127.0.0.1\"\nimap_security = \"plain\"\nimap_port = 10143",
        );

        // Act
        let settings: EmailSettings = toml::from_str(&text).unwrap();

        // Assert
        assert_eq!(
            settings.mailboxes[0].imap_security,
            TransportSecurity::Plain
        );
        assert_eq!(settings.mailboxes[0].port(), 10143);
    }

    #[test]
    fn validation_reports_every_problem_at_once() {
        // Arrange
        let text = r#"
            from_address = "clientele@saintejulie.ca"
            max_attachment_bytes = 0
            [[mailboxes]]
            name = "clientele"
            imap_host = ""
            username = "clientele@saintejulie.ca"
            auth = "xoauth2"
            after_processing = "move"
            idle_timeout_secs = 1800
            fetch_batch_messages = 0
            [smtp]
            host = "smtp.example.net"
            username = "clientele"
        "#;
        let settings: EmailSettings = toml::from_str(text).unwrap();

        // Act
        let problems = settings.validate().unwrap_err().problems;

        // Assert
        for expected in [
            "imap_host",
            "access_token",
            "move_to_folder",
            "idle_timeout_secs",
            "fetch_batch_messages",
            "smtp.password",
            "max_attachment_bytes",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "no problem mentions {expected}: {problems:?}"
            );
        }
        assert_eq!(problems.len(), 7, "{problems:?}");
    }

    #[test]
    fn move_action_carries_its_folder() {
        // Arrange
        let text = MINIMAL.replace(
            "password = \"secret-imap\"",
            "password = \"secret-imap\"\nafter_processing = \"move\"\nmove_to_folder = \"Traités\"",
        );

        // Act
        let settings: EmailSettings = toml::from_str(&text).unwrap();

        // Assert
        settings.validate().unwrap();
        assert_eq!(
            settings.mailboxes[0].after_processing(),
            AfterProcessing::Move {
                folder: "Traités".to_owned()
            }
        );
    }

    #[test]
    fn idle_timeout_of_29_minutes_or_more_is_refused() {
        // Arrange
        let text = MINIMAL.replace(
            "password = \"secret-imap\"",
            "password = \"secret-imap\"\nidle_timeout_secs = 1740",
        );
        let settings: EmailSettings = toml::from_str(&text).unwrap();

        // Act
        let result = settings.validate();

        // Assert
        assert!(result.is_err());
    }
}
