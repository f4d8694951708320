//! Reference numbers handed to citizens: `PREFIX-YYYY-NNNNNN`, for example
//! `SJ-2026-000123`. The prefix is the municipality's (configurable), the year
//! is the local (America/Toronto) year of creation and the number is a
//! per-year sequence starting at 000001.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// Highest sequence number the six-digit format can carry in one year.
pub const MAX_SEQUENCE: u32 = 999_999;

/// Longest accepted prefix. Long enough for "SJ" or "MRCVR"; short enough to
/// read out on the phone.
const MAX_PREFIX_LEN: usize = 8;

/// Why a text is not a reference number or a prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The overall shape is not `PREFIX-YYYY-NNNNNN`.
    #[error("reference number must look like SJ-2026-000123")]
    Shape,
    /// The prefix is empty, too long or not made of capital letters.
    #[error("reference prefix must be 1 to 8 capital letters A-Z")]
    Prefix,
    /// The year is outside 2000..=9999.
    #[error("reference year {0} is out of range")]
    Year(u32),
    /// The sequence is zero or beyond six digits.
    #[error("reference sequence {0} is out of range 1..=999999")]
    Sequence(u32),
}

/// The municipality's prefix, e.g. `SJ`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReferencePrefix(String);

impl ReferencePrefix {
    /// Parses a prefix: 1 to 8 ASCII capital letters.
    ///
    /// # Errors
    /// [`ReferenceError::Prefix`] otherwise.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        if text.is_empty()
            || text.len() > MAX_PREFIX_LEN
            || !text.bytes().all(|b| b.is_ascii_uppercase())
        {
            return Err(ReferenceError::Prefix);
        }
        Ok(Self(text.to_owned()))
    }
}

impl AsRef<str> for ReferencePrefix {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReferencePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ReferencePrefix {
    type Error = ReferenceError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ReferencePrefix> for String {
    fn from(value: ReferencePrefix) -> Self {
        value.0
    }
}

/// A citizen-facing request number such as `SJ-2026-000123`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReferenceNumber {
    prefix: ReferencePrefix,
    year: u32,
    sequence: u32,
}

static SHAPE: LazyLock<Regex> = LazyLock::new(|| {
    // The pattern is a literal known to compile.
    #[allow(clippy::unwrap_used)]
    Regex::new(r"^([A-Z]{1,8})-(\d{4})-(\d{6})$").unwrap()
});

static IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    // The pattern is a literal known to compile.
    #[allow(clippy::unwrap_used)]
    Regex::new(r"(?:^|[^A-Za-z0-9])([A-Za-z]{1,8})[- ]?(\d{4})-(\d{6})(?:$|[^0-9])").unwrap()
});

impl ReferenceNumber {
    /// Builds a reference from its parts, checking every range.
    ///
    /// # Errors
    /// [`ReferenceError::Year`] or [`ReferenceError::Sequence`] when out of range.
    pub fn new(prefix: ReferencePrefix, year: u32, sequence: u32) -> Result<Self, ReferenceError> {
        if !(2000..=9999).contains(&year) {
            return Err(ReferenceError::Year(year));
        }
        if sequence == 0 || sequence > MAX_SEQUENCE {
            return Err(ReferenceError::Sequence(sequence));
        }
        Ok(Self {
            prefix,
            year,
            sequence,
        })
    }

    /// Parses the canonical form `PREFIX-YYYY-NNNNNN`.
    ///
    /// # Errors
    /// A [`ReferenceError`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let caps = SHAPE.captures(text).ok_or(ReferenceError::Shape)?;
        let prefix = ReferencePrefix::parse(&caps[1])?;
        let year = caps[2].parse().map_err(|_| ReferenceError::Shape)?;
        let sequence = caps[3].parse().map_err(|_| ReferenceError::Shape)?;
        Self::new(prefix, year, sequence)
    }

    /// Every reference with the given prefix written anywhere in `text`, in
    /// order of appearance and without repeats. Citizens write them loosely
    /// ("sj-2026-000123", "SJ 2026-000123"), so case and the first dash are
    /// forgiven; other prefixes are ignored.
    pub fn find_all(text: &str, prefix: &ReferencePrefix) -> Vec<Self> {
        let mut found: Vec<Self> = Vec::new();
        for caps in IN_TEXT.captures_iter(text) {
            if !caps[1].eq_ignore_ascii_case(prefix.as_ref()) {
                continue;
            }
            let (Ok(year), Ok(sequence)) = (caps[2].parse(), caps[3].parse()) else {
                continue;
            };
            if let Ok(reference) = Self::new(prefix.clone(), year, sequence) {
                if !found.contains(&reference) {
                    found.push(reference);
                }
            }
        }
        found
    }

    /// The municipality prefix.
    pub fn prefix(&self) -> &ReferencePrefix {
        &self.prefix
    }

    /// The local year the request was created in.
    pub fn year(&self) -> u32 {
        self.year
    }

    /// The sequence number within the year.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }
}

impl fmt::Display for ReferenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:04}-{:06}", self.prefix, self.year, self.sequence)
    }
}

impl FromStr for ReferenceNumber {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ReferenceNumber {
    type Error = ReferenceError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ReferenceNumber> for String {
    fn from(value: ReferenceNumber) -> Self {
        value.to_string()
    }
}

/// A reference as someone types it into a search box: whole
/// (`sj-2026-000012`, `SJ 2026 12`), without the prefix (`2026-000012`) or
/// with the sequence only (`000012`, `#12`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceQuery<'a> {
    /// Prefix (as typed, any case), year and sequence.
    Full {
        /// The prefix as typed.
        prefix: &'a str,
        /// The year.
        year: u32,
        /// The sequence.
        sequence: u32,
    },
    /// Year and sequence, any prefix.
    YearSequence {
        /// The year.
        year: u32,
        /// The sequence.
        sequence: u32,
    },
    /// The sequence only, any prefix and year.
    Sequence(u32),
}

impl<'a> ReferenceQuery<'a> {
    /// Reads `text` as a reference, or `None` when it is not one. A run of
    /// seven or more digits is not read as a sequence (it is more likely a
    /// phone number).
    pub fn parse(text: &'a str) -> Option<Self> {
        let text = text.trim().trim_start_matches('#');
        let parts: Vec<&str> = text
            .split(['-', ' ', '/'])
            .filter(|p| !p.is_empty())
            .collect();
        let number = |p: &str, max_len: usize| -> Option<u32> {
            (!p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        };
        let year = |p: &str| number(p, 4).filter(|y| p.len() == 4 && (2000..=9999).contains(y));
        let sequence = |p: &str| number(p, 6).filter(|s| (1..=MAX_SEQUENCE).contains(s));
        match parts.as_slice() {
            [prefix, y, n]
                if !prefix.is_empty()
                    && prefix.len() <= MAX_PREFIX_LEN
                    && prefix.bytes().all(|b| b.is_ascii_alphabetic()) =>
            {
                Some(Self::Full {
                    prefix,
                    year: year(y)?,
                    sequence: sequence(n)?,
                })
            }
            [y, n] => Some(Self::YearSequence {
                year: year(y)?,
                sequence: sequence(n)?,
            }),
            [n] => Some(Self::Sequence(sequence(n)?)),
            _ => None,
        }
    }

    /// Every reference this query names, given the `(prefix, year)` pairs
    /// that references were issued under.
    pub fn candidates(&self, issued: &[(String, u32)]) -> Vec<String> {
        let format = |prefix: &str, year: u32, sequence: u32| {
            format!("{}-{year}-{sequence:06}", prefix.to_ascii_uppercase())
        };
        match *self {
            Self::Full {
                prefix,
                year,
                sequence,
            } => vec![format(prefix, year, sequence)],
            Self::YearSequence { year, sequence } => issued
                .iter()
                .filter(|(_, y)| *y == year)
                .map(|(p, y)| format(p, *y, sequence))
                .collect(),
            Self::Sequence(sequence) => issued
                .iter()
                .map(|(p, y)| format(p, *y, sequence))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sj() -> ReferencePrefix {
        ReferencePrefix::parse("SJ").unwrap()
    }

    #[test]
    fn canonical_reference_parses_into_its_parts() {
        let r = ReferenceNumber::parse("SJ-2026-000123").unwrap();
        assert_eq!(r.prefix().as_ref(), "SJ");
        assert_eq!(r.year(), 2026);
        assert_eq!(r.sequence(), 123);
        assert_eq!(r.to_string(), "SJ-2026-000123");
    }

    #[test]
    fn malformed_references_are_rejected() {
        for bad in [
            "",
            "SJ-2026-123",
            "sj-2026-000123",
            "SJ-26-000123",
            "SJ-2026-0001234",
            "SJ-2026-000000",
            "SJ-1999-000001",
            "TOOLONGPFX-2026-000001",
            " SJ-2026-000123",
            "SJ-2026-000123\n",
        ] {
            assert!(ReferenceNumber::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn references_are_found_in_subjects_and_bodies() {
        let text =
            "Re: [SJ-2026-000123] Accusé de réception; voir aussi sj 2026-000124 et XX-2026-000001";
        let found = ReferenceNumber::find_all(text, &sj());
        let as_text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(as_text, ["SJ-2026-000123", "SJ-2026-000124"]);
    }

    #[test]
    fn a_reference_glued_to_other_digits_is_not_found() {
        assert!(ReferenceNumber::find_all("ASJ-2026-0001234", &sj()).is_empty());
        assert!(ReferenceNumber::find_all("SJ-2026-0001234", &sj()).is_empty());
    }

    #[test]
    fn prefix_must_be_capital_letters() {
        assert!(ReferencePrefix::parse("SJ").is_ok());
        assert!(ReferencePrefix::parse("sj").is_err());
        assert!(ReferencePrefix::parse("").is_err());
        assert!(ReferencePrefix::parse("S1").is_err());
    }

    proptest! {
        #[test]
        fn every_reference_round_trips_through_its_text(
            prefix in "[A-Z]{1,8}",
            year in 2000u32..=9999,
            sequence in 1u32..=MAX_SEQUENCE,
        ) {
            let r = ReferenceNumber::new(ReferencePrefix::parse(&prefix).unwrap(), year, sequence).unwrap();
            let found = ReferenceNumber::find_all(&format!("Objet : [{r}] merci"), r.prefix());
            prop_assert_eq!(found, vec![r.clone()]);
            prop_assert_eq!(ReferenceNumber::parse(&r.to_string()).unwrap(), r);
        }
    }

    #[test]
    fn a_typed_reference_is_read_whole_or_in_part() {
        let issued = vec![("SJ".to_owned(), 2025), ("SJ".to_owned(), 2026)];
        let names = |text: &str| ReferenceQuery::parse(text).map(|q| q.candidates(&issued));
        assert_eq!(
            names("sj-2026-000012"),
            Some(vec!["SJ-2026-000012".to_owned()])
        );
        assert_eq!(names("SJ 2026 12"), Some(vec!["SJ-2026-000012".to_owned()]));
        assert_eq!(
            names("2026-000012"),
            Some(vec!["SJ-2026-000012".to_owned()])
        );
        assert_eq!(
            names("#12"),
            Some(vec![
                "SJ-2025-000012".to_owned(),
                "SJ-2026-000012".to_owned()
            ])
        );
        assert_eq!(names("4505551234"), None);
        assert_eq!(names("rue Principale"), None);
        assert_eq!(names("0"), None);
        assert_eq!(names("SJ-26-000012"), None);
    }
}
