//! `[connectors.webform]` settings.

use serde::Deserialize;

/// Limits and anti-spam settings of the contact form.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebFormSettings {
    /// Serve `GET/POST /contact` and `POST /api/v1/forms`.
    pub enabled: bool,
    /// Longest name, in characters.
    pub max_name_chars: usize,
    /// Longest subject, in characters.
    pub max_subject_chars: usize,
    /// Longest message, in characters.
    pub max_message_chars: usize,
    /// Submissions allowed per client address per minute, sustained.
    pub rate_limit_per_minute: u32,
    /// Submissions a client address may send in a burst.
    pub rate_limit_burst: u32,
}

impl Default for WebFormSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_name_chars: 200,
            max_subject_chars: 200,
            max_message_chars: 10_000,
            rate_limit_per_minute: 10,
            rate_limit_burst: 5,
        }
    }
}

impl WebFormSettings {
    /// Every problem with these settings, prefixed with their keys.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (key, value) in [
            ("max_name_chars", self.max_name_chars),
            ("max_subject_chars", self.max_subject_chars),
            ("max_message_chars", self.max_message_chars),
        ] {
            if value == 0 {
                problems.push(format!("connectors.webform.{key} must be positive"));
            }
        }
        if self.rate_limit_per_minute == 0 || self.rate_limit_burst == 0 {
            problems.push(
                "connectors.webform.rate_limit_per_minute and rate_limit_burst must be positive"
                    .into(),
            );
        }
        problems
    }
}
