//! Addresses citizens give us: email addresses and telephone numbers.

use std::fmt;

use serde::{Deserialize, Serialize};

/// RFC 5321 limit on a forward path; longer addresses cannot be delivered.
const MAX_EMAIL_LEN: usize = 254;
/// RFC 5321 limit on the local part.
const MAX_LOCAL_LEN: usize = 64;
/// RFC 1035 limit on one DNS label.
const MAX_LABEL_LEN: usize = 63;

/// Why a text is not a usable email address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailAddressError {
    /// Nothing was given.
    #[error("email address is empty")]
    Empty,
    /// Longer than a mail server accepts.
    #[error("email address is longer than 254 characters")]
    TooLong,
    /// Not `local@domain` with a dotted domain, or contains forbidden characters.
    #[error("email address is not of the form name@domain.tld")]
    Shape,
}

/// A deliverable email address, stored lower-cased so that one citizen who
/// types `Rejean@Example.net` and `rejean@example.net` is one contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses and normalises an address (trimmed, lower-cased).
    ///
    /// The check is deliberately practical rather than the full RFC 5322
    /// grammar: quoted local parts and IP-literal domains are refused because
    /// no citizen uses them and they are a favourite of header-injection tricks.
    ///
    /// # Errors
    /// An [`EmailAddressError`] saying what is wrong.
    pub fn parse(text: &str) -> Result<Self, EmailAddressError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(EmailAddressError::Empty);
        }
        if text.len() > MAX_EMAIL_LEN {
            return Err(EmailAddressError::TooLong);
        }
        let (local, domain) = text.rsplit_once('@').ok_or(EmailAddressError::Shape)?;
        let local_ok = !local.is_empty()
            && local.len() <= MAX_LOCAL_LEN
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= MAX_LABEL_LEN
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.chars().all(char::is_alphabetic) && tld.len() >= 2);
        if !local_ok || !domain_ok {
            return Err(EmailAddressError::Shape);
        }
        Ok(Self(text.to_lowercase()))
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(l, _)| l)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailAddressError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

/// Why a text is not a telephone number we can call back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    /// Nothing but separators.
    #[error("phone number is empty")]
    Empty,
    /// Letters or symbols that are not separators.
    #[error("phone number contains characters other than digits and separators")]
    Characters,
    /// The digits do not form a North American or E.164 number.
    #[error("phone number must have 10 digits (e.g. 450 922-7111) or start with +")]
    Shape,
}

/// A telephone number in E.164 form (`+14509227111`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number as Québec residents write them: `450 922-7111`,
    /// `(450) 922-7111`, `1-450-922-7111`, `+1 450 922 7111`, or any
    /// international number written with a leading `+`.
    ///
    /// # Errors
    /// A [`PhoneNumberError`] saying what is wrong.
    pub fn parse(text: &str) -> Result<Self, PhoneNumberError> {
        let text = text.trim();
        let international = text.starts_with('+');
        let body = text.strip_prefix('+').unwrap_or(text);
        let mut digits = String::with_capacity(16);
        for c in body.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
                _ => return Err(PhoneNumberError::Characters),
            }
        }
        if digits.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        let national = match (international, digits.len()) {
            (false, 10) => Some(digits.as_str()),
            (_, 11) if digits.starts_with('1') => Some(&digits[1..]),
            (true, _) if digits.starts_with('1') => return Err(PhoneNumberError::Shape),
            (true, 8..=15) => return Ok(Self(format!("+{digits}"))),
            _ => None,
        };
        let national = national.ok_or(PhoneNumberError::Shape)?;
        // North American Numbering Plan: area code and exchange start with 2-9.
        let bytes = national.as_bytes();
        if bytes[0] < b'2' || bytes[3] < b'2' {
            return Err(PhoneNumberError::Shape);
        }
        Ok(Self(format!("+1{national}")))
    }
}

impl AsRef<str> for PhoneNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneNumberError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        let a = EmailAddress::parse("  Rejean.Bouchard@Poste.Example.NET ").unwrap();
        assert_eq!(a.as_ref(), "rejean.bouchard@poste.example.net");
        assert_eq!(a.domain(), "poste.example.net");
    }

    #[test]
    fn accented_local_parts_are_accepted() {
        assert!(EmailAddress::parse("réjean@example.com").is_ok());
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for bad in [
            "",
            "   ",
            "rejean",
            "@example.com",
            "rejean@",
            "rejean@example",
            "rejean@@example.com",
            "re jean@example.com",
            "rejean@exa mple.com",
            ".rejean@example.com",
            "re..jean@example.com",
            "rejean@-example.com",
            "rejean@example.c0m",
            "rejean@example.com\r\nBcc: x@example.com",
            "<script>@example.com",
            "\"quoted\"@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "accepted {bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(EmailAddressError::TooLong));
    }

    #[test]
    fn quebec_phone_numbers_normalise_to_e164() {
        for text in [
            "450 922-7111",
            "(450) 922-7111",
            "450.922.7111",
            "1-450-922-7111",
            "+1 450 922 7111",
            "4509227111",
        ] {
            assert_eq!(
                PhoneNumber::parse(text).unwrap().as_ref(),
                "+14509227111",
                "case {text:?}"
            );
        }
        assert_eq!(
            PhoneNumber::parse("+33 1 23 45 67 89").unwrap().as_ref(),
            "+33123456789"
        );
    }

    #[test]
    fn unusable_phone_numbers_are_rejected() {
        for bad in [
            "",
            "()",
            "922-7111",
            "450 922-71111",
            "050 922-7111",
            "450 122-7111",
            "450-CALL-NOW",
            "+1 450",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    proptest! {
        #[test]
        fn any_valid_phone_round_trips(area in 200u32..1000, exchange in 200u32..1000, line in 0u32..10000) {
            let text = format!("({area}) {exchange}-{line:04}");
            let parsed = PhoneNumber::parse(&text).unwrap();
            prop_assert_eq!(PhoneNumber::parse(parsed.as_ref()).unwrap(), parsed);
        }

        #[test]
        fn email_parse_never_panics_and_is_idempotent(text in "\\PC{0,80}") {
            if let Ok(a) = EmailAddress::parse(&text) {
                prop_assert_eq!(EmailAddress::parse(a.as_ref()).unwrap(), a);
            }
        }
    }
}
