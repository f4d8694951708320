//! Citizen-facing text: the MiniJinja templates and message catalogues in
//! `templates/` (French first, English second). The shipped files are built
//! into the binary; files in `[templates] dir` replace them one by one, so the
//! city edits its words without a rebuild. Everything is loaded and
//! test-rendered at startup: a broken template stops the gateway before a
//! citizen can see it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveTime, Timelike};
use chrono_tz::Tz;
use minijinja::Environment;
use models::Language;
use serde::Deserialize;

/// Every template file, shipped in the binary, by `lang/name`.
const SHIPPED: &[(&str, &str)] = &[
    (
        "fr/ack_email.subject.txt",
        include_str!("../templates/fr/ack_email.subject.txt"),
    ),
    (
        "fr/ack_email.txt",
        include_str!("../templates/fr/ack_email.txt"),
    ),
    (
        "fr/ack_email.html",
        include_str!("../templates/fr/ack_email.html"),
    ),
    (
        "fr/ack_chat.txt",
        include_str!("../templates/fr/ack_chat.txt"),
    ),
    (
        "fr/ack_refusal.txt",
        include_str!("../templates/fr/ack_refusal.txt"),
    ),
    (
        "fr/reply_email.subject.txt",
        include_str!("../templates/fr/reply_email.subject.txt"),
    ),
    (
        "fr/transfer_notice.txt",
        include_str!("../templates/fr/transfer_notice.txt"),
    ),
    (
        "fr/canned_replies.toml",
        include_str!("../templates/fr/canned_replies.toml"),
    ),
    ("fr/form.html", include_str!("../templates/fr/form.html")),
    (
        "fr/form_confirmation.html",
        include_str!("../templates/fr/form_confirmation.html"),
    ),
    (
        "fr/messages.toml",
        include_str!("../templates/fr/messages.toml"),
    ),
    (
        "en/ack_email.subject.txt",
        include_str!("../templates/en/ack_email.subject.txt"),
    ),
    (
        "en/ack_email.txt",
        include_str!("../templates/en/ack_email.txt"),
    ),
    (
        "en/ack_email.html",
        include_str!("../templates/en/ack_email.html"),
    ),
    (
        "en/ack_chat.txt",
        include_str!("../templates/en/ack_chat.txt"),
    ),
    (
        "en/ack_refusal.txt",
        include_str!("../templates/en/ack_refusal.txt"),
    ),
    (
        "en/reply_email.subject.txt",
        include_str!("../templates/en/reply_email.subject.txt"),
    ),
    (
        "en/transfer_notice.txt",
        include_str!("../templates/en/transfer_notice.txt"),
    ),
    (
        "en/canned_replies.toml",
        include_str!("../templates/en/canned_replies.toml"),
    ),
    ("en/form.html", include_str!("../templates/en/form.html")),
    (
        "en/form_confirmation.html",
        include_str!("../templates/en/form_confirmation.html"),
    ),
    (
        "en/messages.toml",
        include_str!("../templates/en/messages.toml"),
    ),
];

/// The stylesheet of the public pages.
pub const FORM_CSS: &str = include_str!("../templates/form.css");

/// A template or catalogue that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A file in the override folder cannot be read.
    #[error("cannot read template {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A template does not compile or render.
    #[error("template {name} is broken")]
    Render {
        /// `lang/name`.
        name: String,
        /// The MiniJinja error, with line.
        #[source]
        source: minijinja::Error,
    },
    /// A `messages.toml` is malformed.
    #[error("message catalogue {lang}/messages.toml is broken: {reason}")]
    Catalogue {
        /// Which language.
        lang: &'static str,
        /// Why.
        reason: String,
    },
}

/// One language's words.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalogue {
    weekdays: Vec<String>,
    months: Vec<String>,
    time_on_the_hour: String,
    time_with_minutes: String,
    date_time: String,
    errors: HashMap<String, String>,
}

/// The canned replies file of one language.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedFile {
    #[serde(default)]
    reply: Vec<CannedEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedEntry {
    title: String,
    text: String,
}

/// The loaded templates and catalogues.
pub struct Templates {
    env: Environment<'static>,
    catalogues: HashMap<Language, Catalogue>,
    /// Titles of each language's canned replies; their texts are templates
    /// named `LANG/canned/N`.
    canned: HashMap<Language, Vec<String>>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

fn read_source(dir: Option<&Path>, name: &str, shipped: &str) -> Result<String, TemplateError> {
    if let Some(dir) = dir {
        let path = dir.join(name);
        if path.is_file() {
            return std::fs::read_to_string(&path)
                .map_err(|source| TemplateError::Read { path, source });
        }
    }
    Ok(shipped.to_owned())
}

impl Templates {
    /// Loads the shipped files, replaced by those found in `dir`, and checks
    /// that every one of them renders.
    ///
    /// # Errors
    /// A [`TemplateError`] naming the broken file.
    pub fn load(dir: Option<&Path>) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
        let mut catalogues = HashMap::new();
        let mut canned = HashMap::new();
        for (name, shipped) in SHIPPED {
            let source = read_source(dir, name, shipped)?;
            if let Some(lang) = name.strip_suffix("/canned_replies.toml") {
                let language = Language::from_code(lang).unwrap_or_default();
                let file: CannedFile =
                    toml::from_str(&source).map_err(|e| TemplateError::Catalogue {
                        lang: language.as_str(),
                        reason: format!("canned_replies.toml: {e}"),
                    })?;
                let mut titles = Vec::new();
                for (i, entry) in file.reply.into_iter().enumerate() {
                    let template = format!("{lang}/canned/{i}");
                    env.add_template_owned(template.clone(), entry.text)
                        .map_err(|source| TemplateError::Render {
                            name: template,
                            source,
                        })?;
                    titles.push(entry.title);
                }
                canned.insert(language, titles);
            } else if let Some(lang) = name.strip_suffix("/messages.toml") {
                let language = Language::from_code(lang).unwrap_or_default();
                let lang_code = language.as_str();
                let catalogue: Catalogue =
                    toml::from_str(&source).map_err(|e| TemplateError::Catalogue {
                        lang: lang_code,
                        reason: e.to_string(),
                    })?;
                if catalogue.weekdays.len() != 7 || catalogue.months.len() != 12 {
                    return Err(TemplateError::Catalogue {
                        lang: lang_code,
                        reason: "weekdays needs 7 names and months 12".into(),
                    });
                }
                catalogues.insert(language, catalogue);
            } else {
                env.add_template_owned((*name).to_owned(), source)
                    .map_err(|source| TemplateError::Render {
                        name: (*name).to_owned(),
                        source,
                    })?;
            }
        }
        let templates = Self {
            env,
            catalogues,
            canned,
        };
        templates.check_all_render()?;
        Ok(templates)
    }

    fn check_all_render(&self) -> Result<(), TemplateError> {
        for lang in [Language::Fr, Language::En] {
            for open_now in [true, false] {
                let ctx = AckContext {
                    reference: "SJ-2026-000001".into(),
                    name: Some("Test".into()),
                    subject: Some("Test".into()),
                    office: OfficeContext {
                        phone: "450 922-7111".into(),
                        email: "clientele@example.com".into(),
                    },
                    open_now,
                    closes_at: open_now.then(|| "19 h".into()),
                    reopens: (!open_now).then(|| "lundi".into()),
                    today_hours: None,
                    closed_all_day: !open_now,
                };
                for t in [
                    "ack_email.subject.txt",
                    "ack_email.txt",
                    "ack_email.html",
                    "ack_chat.txt",
                    "ack_refusal.txt",
                ] {
                    self.render(lang, t, &ctx)?;
                }
            }
            self.render(
                lang,
                "reply_email.subject.txt",
                minijinja::context! { reference => "SJ-2026-000001", subject => "x" },
            )?;
            self.render(
                lang,
                "transfer_notice.txt",
                minijinja::context! {
                    reference => "SJ-2026-000001", name => "Test", department => "Service",
                    request_type => "Type", delay_business_days => 5,
                    office => OfficeContext { phone: "450 922-7111".into(), email: "clientele@example.com".into() },
                },
            )?;
            self.canned_replies(
                lang,
                &CannedContext {
                    reference: "SJ-2026-000001".into(),
                    name: None,
                    department: None,
                    delay: None,
                },
            )?;
        }
        Ok(())
    }

    /// The canned replies of `lang`, as (title, text) with `ctx` filled in.
    ///
    /// # Errors
    /// [`TemplateError::Render`] when one fails (checked at load).
    pub fn canned_replies(
        &self,
        lang: Language,
        ctx: &CannedContext,
    ) -> Result<Vec<(String, String)>, TemplateError> {
        let code = lang.as_str();
        self.canned
            .get(&lang)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, title)| {
                let name = format!("{code}/canned/{i}");
                let text = self
                    .env
                    .get_template(&name)
                    .and_then(|t| t.render(ctx))
                    .map_err(|source| TemplateError::Render { name, source })?;
                Ok((title.clone(), text))
            })
            .collect()
    }

    /// Renders `lang/name` with `ctx`.
    ///
    /// # Errors
    /// [`TemplateError::Render`] when the template fails.
    pub fn render<S: serde::Serialize>(
        &self,
        lang: Language,
        name: &str,
        ctx: S,
    ) -> Result<String, TemplateError> {
        let full = format!("{}/{name}", lang.as_str());
        self.env
            .get_template(&full)
            .and_then(|t| t.render(ctx))
            .map_err(|source| TemplateError::Render { name: full, source })
    }

    fn catalogue(&self, lang: Language) -> Option<&Catalogue> {
        self.catalogues
            .get(&lang)
            .or_else(|| self.catalogues.get(&Language::Fr))
    }

    /// An error message by key (`invalid_email`), with `{name}` placeholders
    /// filled from `args`. Unknown keys fall back to the `internal` message.
    pub fn error_message(&self, lang: Language, key: &str, args: &[(&str, String)]) -> String {
        let Some(catalogue) = self.catalogue(lang) else {
            return key.to_owned();
        };
        let mut text = catalogue
            .errors
            .get(key)
            .or_else(|| catalogue.errors.get("internal"))
            .cloned()
            .unwrap_or_else(|| key.to_owned());
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// A time of day as citizens of `lang` write it ("19 h", "7 p.m.").
    pub fn format_time(&self, lang: Language, time: NaiveTime) -> String {
        let Some(c) = self.catalogue(lang) else {
            return time.format("%H:%M").to_string();
        };
        let pattern = if time.minute() == 0 {
            &c.time_on_the_hour
        } else {
            &c.time_with_minutes
        };
        let h = time.hour();
        let h12 = match h % 12 {
            0 => 12,
            x => x,
        };
        let ampm = if h < 12 { "a.m." } else { "p.m." };
        pattern
            .replace("{h12}", &h12.to_string())
            .replace("{h}", &h.to_string())
            .replace("{mm}", &format!("{:02}", time.minute()))
            .replace("{ampm}", ampm)
    }

    /// A local date and time written out ("lundi 19 janvier à 8 h").
    pub fn format_date_time(&self, lang: Language, at: DateTime<Tz>) -> String {
        let Some(c) = self.catalogue(lang) else {
            return at.to_rfc3339();
        };
        let weekday = c
            .weekdays
            .get(at.weekday().num_days_from_monday() as usize)
            .cloned()
            .unwrap_or_default();
        let month = c
            .months
            .get(at.month0() as usize)
            .cloned()
            .unwrap_or_default();
        c.date_time
            .replace("{weekday}", &weekday)
            .replace("{day}", &at.day().to_string())
            .replace("{month}", &month)
            .replace("{time}", &self.format_time(lang, at.time()))
    }
}

/// The office's contact details, in every citizen-facing template.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OfficeContext {
    /// Phone for immediate help.
    pub phone: String,
    /// Public email address.
    pub email: String,
}

/// What a canned reply may say.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CannedContext {
    /// The request's reference.
    pub reference: String,
    /// The citizen's name, when known.
    pub name: Option<String>,
    /// The department's name, when the request has one.
    pub department: Option<String>,
    /// The expected delay, written out, when known.
    pub delay: Option<String>,
}

/// Today's hours, written out.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HoursContext {
    /// Opening time.
    pub opens: String,
    /// Closing time.
    pub closes: String,
}

/// What an acknowledgement template sees.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AckContext {
    /// The reference number.
    pub reference: String,
    /// The citizen's name.
    pub name: Option<String>,
    /// Their subject.
    pub subject: Option<String>,
    /// Contact details.
    pub office: OfficeContext,
    /// Open when the citizen wrote.
    pub open_now: bool,
    /// Today's closing time, when open.
    pub closes_at: Option<String>,
    /// Next opening, when closed.
    pub reopens: Option<String>,
    /// Today's hours, when the office opens that day.
    pub today_hours: Option<HoursContext>,
    /// Closed all day (weekend, holiday, closure).
    pub closed_all_day: bool,
}
