//! Settings: one typed tree read from built-in defaults, then the TOML file
//! (`--config`, `INBOX_CONFIG`, default `inbox.toml` when present), then
//! `INBOX_…` environment variables with `__` for nesting
//! (`INBOX_DATABASE__URL`). Unknown keys are an error; [`Settings::validate`]
//! reports every problem at once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use models::calendar::{Calendar, DayHours};
use models::{EmailAddress, ReferencePrefix, Topic};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The file read when neither `--config` nor `INBOX_CONFIG` names one.
pub const DEFAULT_CONFIG_FILE: &str = "inbox.toml";

/// The embedded database used when nothing else is configured.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/inbox.db";

/// Environment variables under the prefix that are not settings: the config
/// path itself and the test suite's own variables.
const ENV_NOT_SETTINGS: &[&str] = &["config", "log"];
const ENV_TEST_PREFIX: &str = "test_";

/// Every setting of the gateway.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// HTTP listener and request limits.
    pub server: ServerSettings,
    /// Where data lives.
    pub database: DatabaseSettings,
    /// The citizen-service office: reference prefix, phone, hours, departments.
    pub office: OfficeSettings,
    /// Citizen-facing text.
    pub templates: TemplateSettings,
    /// Channel adapters.
    pub connectors: ConnectorSettings,
    /// Topic and abuse classification (thresholds, model folders).
    pub classifiers: classifiers::ClassifierSettings,
    /// Background work: outbox and classification.
    pub workers: WorkerSettings,
    /// Logs.
    pub telemetry: TelemetrySettings,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    /// Largest request body accepted, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Largest webhook body accepted, in bytes: providers batch many events
    /// in one POST, and refusing one makes them retry it for hours.
    pub max_webhook_body_bytes: usize,
    /// Time allowed to answer one request.
    pub request_timeout_secs: u64,
    /// Read the client address from `X-Forwarded-For` (only behind a
    /// reverse proxy that sets it): refused at start unless
    /// `trusted_proxies` lists that proxy.
    pub trust_forwarded_for: bool,
    /// The reverse proxies (CIDR blocks) whose `X-Forwarded-For` hops are
    /// believed: the client is the right-most hop not in this list, and
    /// only when the connection itself comes from one of them.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Mark the staff session cookie `Secure`. Unset: `Secure` unless the
    /// gateway listens on a loopback address only (a local test). Set it
    /// explicitly behind an HTTPS proxy on loopback.
    pub secure_cookies: Option<bool>,
}

impl ServerSettings {
    /// Whether the staff session cookie carries `Secure`.
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies.unwrap_or_else(|| {
            !self
                .listen
                .parse::<SocketAddr>()
                .is_ok_and(|a| a.ip().is_loopback())
        })
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 64 * 1024,
            max_webhook_body_bytes: 4 * 1024 * 1024,
            request_timeout_secs: 30,
            trust_forwarded_for: false,
            trusted_proxies: Vec::new(),
            secure_cookies: None,
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`.
    pub url: SecretString,
    /// Largest pool size.
    pub max_connections: u32,
    /// How long to wait for a connection.
    pub acquire_timeout_secs: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from(DEFAULT_DATABASE_URL),
            max_connections: 8,
            acquire_timeout_secs: 5,
        }
    }
}

impl DatabaseSettings {
    /// Only the built-in default SQLite path may be created on first start,
    /// so a typo in a configured path never starts an empty database.
    pub fn connect_options(&self) -> crate::store::ConnectOptions {
        crate::store::ConnectOptions {
            create_if_missing: self.url.expose_secret() == DEFAULT_DATABASE_URL,
            max_connections: self.max_connections,
            acquire_timeout: Duration::from_secs(self.acquire_timeout_secs),
            search: None,
        }
    }
}

/// `[office]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OfficeSettings {
    /// Prefix of reference numbers (`SJ` in `SJ-2026-000123`).
    pub reference_prefix: String,
    /// IANA time zone of the office (the reference year follows it).
    pub timezone: String,
    /// Phone number for immediate human help, as citizens should read it.
    pub phone: String,
    /// The office's public email address.
    pub email: String,
    /// Domain used on the right of the Message-IDs we generate.
    pub message_id_domain: String,
    /// Opening hours per weekday: `"08:00-19:00"` or `"closed"`.
    pub hours: WeekHours,
    /// Municipal closures on top of Québec's statutory holidays.
    pub closures: Vec<NaiveDate>,
    /// Business hours within which a transferred request is acknowledged.
    pub transfer_ack_business_hours: u32,
    /// Business hours within which an agent answers a citizen's message
    /// (the first-response target shown as the thread's deadline).
    pub first_response_business_hours: u32,
    /// The municipal departments, and which topics they handle.
    pub departments: Vec<DepartmentSettings>,
    /// Most acknowledgements one address (or chat user) receives in 24
    /// hours, every channel together.
    pub max_acks_per_sender_per_day: u32,
    /// Most acknowledgements sent in one hour, every recipient together;
    /// reaching it raises an alarm.
    pub max_acks_per_hour: u32,
}

impl Default for OfficeSettings {
    fn default() -> Self {
        let dept = |slug: &str, fr: &str, en: &str, topics: &[Topic]| DepartmentSettings {
            slug: slug.into(),
            name_fr: fr.into(),
            name_en: en.into(),
            topics: topics.iter().map(|t| t.as_str().to_owned()).collect(),
            request_types: Vec::new(),
        };
        let mut public_works = dept(
            "travaux_publics",
            "Service des travaux publics",
            "Public Works Department",
            &[Topic::RoadsSnow, Topic::WaterSewer, Topic::Waste],
        );
        public_works.request_types.push(RequestTypeSettings {
            name_fr: "Intervention sur une boîte de service".into(),
            name_en: "Work on a curb stop box".into(),
            delay_business_days: 5,
        });
        Self {
            reference_prefix: "SJ".into(),
            timezone: "America/Toronto".into(),
            phone: "450 922-7111".into(),
            email: "clientele@saintejulie.ca".into(),
            message_id_domain: "saintejulie.ca".into(),
            hours: WeekHours::default(),
            closures: Vec::new(),
            transfer_ack_business_hours: 24,
            first_response_business_hours: 16,
            max_acks_per_sender_per_day: 3,
            max_acks_per_hour: 2000,
            departments: vec![
                public_works,
                dept(
                    "urbanisme",
                    "Service de l'urbanisme durable",
                    "Urban Planning Department",
                    &[Topic::PermitsPlanning, Topic::Nuisances],
                ),
                dept(
                    "finances",
                    "Service des finances",
                    "Finance Department",
                    &[Topic::TaxesBilling],
                ),
                dept(
                    "loisirs",
                    "Service des loisirs",
                    "Recreation Department",
                    &[Topic::Recreation, Topic::ParksTrees],
                ),
                dept(
                    "securite_incendie",
                    "Service de sécurité incendie",
                    "Fire Safety Department",
                    &[Topic::PublicSafety],
                ),
                dept(
                    "ressources_humaines",
                    "Service des ressources humaines",
                    "Human Resources Department",
                    &[Topic::Jobs],
                ),
                dept(
                    "greffe",
                    "Service du greffe",
                    "Clerk's Office",
                    &[Topic::CouncilAdmin],
                ),
                dept(
                    "communications",
                    "Service des communications et relations avec les citoyens",
                    "Communications and Citizen Relations Department",
                    &[Topic::GeneralInfo, Topic::Animals],
                ),
            ],
        }
    }
}

/// `[office.hours]`: one entry per weekday.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeekHours {
    /// Monday.
    pub monday: String,
    /// Tuesday.
    pub tuesday: String,
    /// Wednesday.
    pub wednesday: String,
    /// Thursday.
    pub thursday: String,
    /// Friday.
    pub friday: String,
    /// Saturday.
    pub saturday: String,
    /// Sunday.
    pub sunday: String,
}

impl Default for WeekHours {
    fn default() -> Self {
        let long = "08:00-19:00".to_owned();
        Self {
            monday: long.clone(),
            tuesday: long.clone(),
            wednesday: long.clone(),
            thursday: long,
            friday: "08:00-12:00".into(),
            saturday: "closed".into(),
            sunday: "closed".into(),
        }
    }
}

/// One municipal department.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentSettings {
    /// Stable identifier (`travaux_publics`).
    pub slug: String,
    /// Name in French, as citizens read it.
    pub name_fr: String,
    /// Name in English.
    pub name_en: String,
    /// Topic slugs this department handles.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Request types with a known processing delay.
    #[serde(default)]
    pub request_types: Vec<RequestTypeSettings>,
}

/// A request type with its expected delay.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTypeSettings {
    /// Name in French.
    pub name_fr: String,
    /// Name in English.
    pub name_en: String,
    /// Expected delay in business days.
    pub delay_business_days: u32,
}

/// `[templates]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateSettings {
    /// Folder whose files override the shipped templates (same layout as the
    /// repository's `templates/`: `fr/…`, `en/…`). Empty: shipped text only.
    pub dir: Option<PathBuf>,
}

/// `[connectors]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectorSettings {
    /// `[connectors.webform]`
    pub webform: connectors::webform::WebFormSettings,
    /// `[connectors.meta]`: Messenger and Instagram; absent means off.
    pub meta: Option<connectors::meta::MetaSettings>,
    /// `[connectors.email]`: IMAP mailboxes in, SMTP out; absent means off.
    pub email: Option<connectors::email::EmailSettings>,
}

/// `[workers]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// Start the background workers with `serve` (tests drive them by hand).
    pub enabled: bool,
    /// Attempts before an outbound message is marked failed.
    pub outbox_max_attempts: u32,
    /// First retry delay; doubles each attempt.
    pub outbox_backoff_base_secs: u64,
    /// Longest retry delay.
    pub outbox_backoff_max_secs: u64,
    /// How long a claimed delivery stays claimed. Longer than any connector
    /// timeout, so a live worker never loses its claim mid-send.
    pub outbox_lease_secs: u64,
    /// Idle poll interval of the outbox worker.
    pub outbox_poll_interval_ms: u64,
    /// Deliveries in flight at once (each waits on the relay or provider).
    pub outbox_senders: u32,
    /// Messages classified per claim.
    pub classify_batch: u32,
    /// How long a claimed classification stays claimed.
    pub classify_lease_secs: u64,
    /// Idle poll interval of the classification worker.
    pub classify_poll_interval_ms: u64,
    /// How long the right to read a mailbox lasts without renewal (SQLite
    /// lease; renewed every quarter of it). Another process takes over a
    /// dead reader's mailbox after at most this long.
    pub mailbox_lock_secs: u64,
    /// Longest wait between two reconnections to a failing mail server.
    pub mailbox_reconnect_max_secs: u64,
    /// Days a processed webhook body is kept before it is deleted.
    pub webhook_keep_days: u32,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            outbox_max_attempts: 8,
            outbox_backoff_base_secs: 30,
            outbox_backoff_max_secs: 3600,
            outbox_lease_secs: 300,
            outbox_poll_interval_ms: 500,
            outbox_senders: 4,
            classify_batch: 32,
            classify_lease_secs: 60,
            classify_poll_interval_ms: 500,
            mailbox_lock_secs: 60,
            mailbox_reconnect_max_secs: 300,
            webhook_keep_days: 14,
        }
    }
}

/// `[telemetry]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `pretty` for people, `json` for log collectors.
    pub format: LogFormat,
    /// `tracing` filter directive, e.g. `info,inbox=debug`.
    pub filter: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info".into(),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Problems found in the settings; all of them, not just the first.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file or environment could not be read or has unknown keys.
    #[error("cannot read settings: {0}")]
    Load(#[from] Box<figment::Error>),
    /// Values that are present but wrong.
    #[error("invalid settings:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

impl Settings {
    /// Reads defaults, then `file` (when given, or `inbox.toml` when it
    /// exists), then the environment.
    ///
    /// # Errors
    /// [`SettingsError::Load`] when the named file is missing, unreadable or
    /// has unknown keys, and [`SettingsError::Invalid`] with every problem.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_from(file, Env::prefixed("INBOX_"))
    }

    fn load_from(file: Option<&Path>, env: Env) -> Result<Self, SettingsError> {
        let mut figment = Figment::new();
        match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(SettingsError::Invalid(vec![format!(
                        "config file {} does not exist",
                        path.display()
                    )]));
                }
                figment = figment.merge(Toml::file(path));
            }
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                figment = figment.merge(Toml::file(DEFAULT_CONFIG_FILE));
            }
            None => {}
        }
        let env = env
            .filter(|key| {
                let key = key.as_str().to_ascii_lowercase();
                !ENV_NOT_SETTINGS.contains(&key.as_str()) && !key.starts_with(ENV_TEST_PREFIX)
            })
            .split("__");
        let settings: Settings = figment.merge(env).extract().map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every value and cross-field rule, reporting all problems.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] listing each problem.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let mut problems = Vec::new();
        if self.server.listen.parse::<SocketAddr>().is_err() {
            problems.push(format!(
                "server.listen {:?} is not an address like 127.0.0.1:8080",
                self.server.listen
            ));
        }
        if self.server.max_body_bytes < 1024 {
            problems.push("server.max_body_bytes must be at least 1024".into());
        }
        if self.server.trust_forwarded_for && self.server.trusted_proxies.is_empty() {
            problems.push(
                "server.trust_forwarded_for needs server.trusted_proxies: list the reverse proxies (CIDR blocks) whose X-Forwarded-For is believed"
                    .into(),
            );
        }
        if self.office.max_acks_per_sender_per_day == 0 {
            problems.push("office.max_acks_per_sender_per_day must be at least 1".into());
        }
        if self.office.max_acks_per_hour == 0 {
            problems.push("office.max_acks_per_hour must be at least 1".into());
        }
        if self.server.request_timeout_secs == 0 {
            problems.push("server.request_timeout_secs must be positive".into());
        }
        let url = self.database.url.expose_secret();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            problems.push("database.url must start with sqlite:// or postgres://".into());
        }
        if self.database.max_connections == 0 {
            problems.push("database.max_connections must be positive".into());
        }
        if let Err(e) = ReferencePrefix::parse(&self.office.reference_prefix) {
            problems.push(format!("office.reference_prefix: {e}"));
        }
        if self.office.timezone.parse::<Tz>().is_err() {
            problems.push(format!(
                "office.timezone {:?} is not an IANA time zone",
                self.office.timezone
            ));
        }
        if let Err(e) = EmailAddress::parse(&self.office.email) {
            problems.push(format!("office.email: {e}"));
        }
        if self.office.message_id_domain.is_empty()
            || self.office.message_id_domain.contains(['<', '>', '@', ' '])
        {
            problems.push("office.message_id_domain must be a domain name".into());
        }
        for (day, text) in self.office.hours.by_day() {
            if let Err(e) = parse_day_hours(text) {
                problems.push(format!("office.hours.{day}: {e}"));
            }
        }
        let mut seen_topics = BTreeMap::new();
        for dept in &self.office.departments {
            for topic in &dept.topics {
                if Topic::parse(topic).is_none() {
                    problems.push(format!(
                        "office.departments {}: unknown topic {topic:?}",
                        dept.slug
                    ));
                } else if let Some(other) = seen_topics.insert(topic.clone(), dept.slug.clone()) {
                    problems.push(format!(
                        "office.departments: topic {topic} is mapped to both {other} and {}",
                        dept.slug
                    ));
                }
            }
        }
        if let Some(dir) = &self.templates.dir {
            if !dir.is_dir() {
                problems.push(format!("templates.dir {} is not a folder", dir.display()));
            }
        }
        problems.extend(self.connectors.webform.problems());
        if let Some(meta) = &self.connectors.meta {
            if let Err(e) = meta.validate() {
                problems.extend(
                    e.problems
                        .into_iter()
                        .map(|p| format!("connectors.meta: {p}")),
                );
            }
        }
        if let Some(email) = &self.connectors.email {
            if let Err(e) = email.validate() {
                problems.extend(
                    e.problems
                        .into_iter()
                        .map(|p| format!("connectors.email: {p}")),
                );
            }
        }
        if let Err(e) = self.classifiers.validate() {
            problems.extend(e.problems.into_iter().map(|p| format!("classifiers: {p}")));
        }
        let w = &self.workers;
        if w.outbox_max_attempts == 0 {
            problems.push("workers.outbox_max_attempts must be positive".into());
        }
        if w.outbox_backoff_base_secs == 0 || w.outbox_backoff_max_secs < w.outbox_backoff_base_secs
        {
            problems.push("workers.outbox_backoff_base_secs must be positive and at most outbox_backoff_max_secs".into());
        }
        if w.outbox_lease_secs < 60 {
            problems.push(
                "workers.outbox_lease_secs must be at least 60 (longer than any send timeout)"
                    .into(),
            );
        }
        if w.outbox_senders == 0 || w.outbox_senders > 64 {
            problems.push("workers.outbox_senders must be between 1 and 64".into());
        }
        if w.classify_batch == 0 || w.classify_lease_secs == 0 {
            problems.push("workers.classify_batch and classify_lease_secs must be positive".into());
        }
        if w.mailbox_lock_secs < 4 || w.mailbox_reconnect_max_secs == 0 {
            problems.push(
                "workers.mailbox_lock_secs must be at least 4 and mailbox_reconnect_max_secs positive"
                    .into(),
            );
        }
        if tracing_subscriber::EnvFilter::try_new(&self.telemetry.filter).is_err() {
            problems.push(format!(
                "telemetry.filter {:?} is not a valid filter",
                self.telemetry.filter
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SettingsError::Invalid(problems))
        }
    }

    /// The reference prefix (validated at load).
    pub fn reference_prefix(&self) -> ReferencePrefix {
        ReferencePrefix::parse(&self.office.reference_prefix).unwrap_or_else(|_| fallback_prefix())
    }

    /// The office time zone (validated at load).
    pub fn timezone(&self) -> Tz {
        self.office
            .timezone
            .parse()
            .unwrap_or(chrono_tz::America::Toronto)
    }

    /// The office calendar (validated at load).
    pub fn calendar(&self) -> Calendar {
        let week = self
            .office
            .hours
            .by_day()
            .map(|(_, text)| parse_day_hours(text).ok().flatten());
        Calendar::new(self.timezone(), week, self.office.closures.clone())
    }

    /// The department handling a topic, if any.
    pub fn department_for(&self, topic: Topic) -> Option<&DepartmentSettings> {
        self.office
            .departments
            .iter()
            .find(|d| d.topics.iter().any(|t| t == topic.as_str()))
    }
}

fn fallback_prefix() -> ReferencePrefix {
    // "SJ" is a valid prefix literal; only reached if validation was skipped.
    #[allow(clippy::unwrap_used)]
    ReferencePrefix::parse("SJ").unwrap()
}

impl WeekHours {
    fn by_day(&self) -> [(&'static str, &str); 7] {
        [
            ("monday", &self.monday),
            ("tuesday", &self.tuesday),
            ("wednesday", &self.wednesday),
            ("thursday", &self.thursday),
            ("friday", &self.friday),
            ("saturday", &self.saturday),
            ("sunday", &self.sunday),
        ]
    }
}

/// Parses `"08:00-19:00"` or `"closed"`.
fn parse_day_hours(text: &str) -> Result<Option<DayHours>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("closed") {
        return Ok(None);
    }
    let (opens, closes) = text
        .split_once('-')
        .ok_or_else(|| format!("{text:?} must be HH:MM-HH:MM or closed"))?;
    let parse = |t: &str| {
        NaiveTime::parse_from_str(t.trim(), "%H:%M")
            .map_err(|_| format!("{t:?} is not a time HH:MM"))
    };
    let (opens, closes) = (parse(opens)?, parse(closes)?);
    if closes <= opens {
        return Err(format!("{text:?} closes before it opens"));
    }
    Ok(Some(DayHours { opens, closes }))
}

#[cfg(test)]
// figment's Jail closures return its own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_run_on_embedded_sqlite_on_localhost() {
        // Arrange
        let settings = Settings::default();
        // Act
        let valid = settings.validate();
        // Assert
        assert!(valid.is_ok(), "{valid:?}");
        assert_eq!(settings.server.listen, "127.0.0.1:8080");
        assert_eq!(settings.database.url.expose_secret(), DEFAULT_DATABASE_URL);
        assert!(settings.database.connect_options().create_if_missing);
    }

    #[test]
    fn environment_wins_over_the_file() {
        Jail::expect_with(|jail| {
            // Arrange
            jail.create_file(
                "custom.toml",
                "[server]\nlisten = \"127.0.0.1:9000\"\n[database]\nurl = \"sqlite://file.db\"\n",
            )?;
            jail.set_env("INBOX_SERVER__LISTEN", "127.0.0.1:9100");
            jail.set_env("INBOX_CONFIG", "ignored-here");
            jail.set_env("INBOX_TEST_IMAP_PORT", "10143");
            // Act
            let settings =
                Settings::load(Some(Path::new("custom.toml"))).map_err(|e| e.to_string())?;
            // Assert
            assert_eq!(settings.server.listen, "127.0.0.1:9100");
            assert_eq!(settings.database.url.expose_secret(), "sqlite://file.db");
            assert!(!settings.database.connect_options().create_if_missing);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_an_error_at_start() {
        Jail::expect_with(|jail| {
            // Arrange
            jail.create_file("typo.toml", "[server]\nlisten_addr = \"127.0.0.1:9000\"\n")?;
            // Act
            let result = Settings::load(Some(Path::new("typo.toml")));
            // Assert
            let err = result.expect_err("a typo must not be ignored").to_string();
            assert!(err.contains("listen_addr"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn every_invalid_value_is_reported_at_once() {
        // Arrange
        let mut settings = Settings::default();
        settings.server.listen = "nowhere".into();
        settings.office.reference_prefix = "sj".into();
        settings.office.hours.monday = "19:00-08:00".into();
        settings.database.url = SecretString::from("mysql://x");
        // Act
        let err = settings
            .validate()
            .expect_err("invalid settings accepted")
            .to_string();
        // Assert
        for expected in [
            "server.listen",
            "reference_prefix",
            "hours.monday",
            "database.url",
        ] {
            assert!(err.contains(expected), "missing {expected} in {err}");
        }
    }

    #[test]
    fn the_example_config_parses_and_matches_the_defaults() {
        Jail::expect_with(|jail| {
            // Arrange
            let example = include_str!("../inbox.example.toml");
            jail.create_file("example.toml", example)?;
            // Act
            let settings =
                Settings::load(Some(Path::new("example.toml"))).map_err(|e| e.to_string())?;
            // Assert
            let defaults = Settings::default();
            assert_eq!(settings.server.listen, defaults.server.listen);
            assert_eq!(
                settings.office.departments.len(),
                defaults.office.departments.len()
            );
            assert_eq!(settings.calendar(), defaults.calendar());
            Ok(())
        });
    }
}
