//! Enums stored, configured and shown as a fixed snake_case word (a slug):
//! the [`slug_enum!`](crate::slug_enum) macro that writes their boilerplate
//! once, and the error for a word that names no variant.
//!
//! Pure. No I/O.

use std::fmt;

/// A text that is not the slug of any variant of an enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSlug {
    what: &'static str,
    text: String,
    expected: &'static [&'static str],
}

impl UnknownSlug {
    /// The error for `text`, which is none of the `expected` slugs of a
    /// `what` ("channel", "role").
    pub fn new(what: &'static str, text: &str, expected: &'static [&'static str]) -> Self {
        Self {
            what,
            text: text.to_owned(),
            expected,
        }
    }

    /// The text that was read.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for UnknownSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?} (expected ", self.what, self.text)?;
        match self.expected.split_last() {
            Some((last, [])) => f.write_str(last)?,
            Some((last, rest)) => write!(f, "{} or {last}", rest.join(", "))?,
            None => f.write_str("nothing")?,
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnknownSlug {}

impl From<UnknownSlug> for String {
    fn from(error: UnknownSlug) -> Self {
        error.to_string()
    }
}

/// Declares an enum whose every variant is written as a fixed slug, and
/// gives it:
///
/// - `ALL: &[Self]`, every variant in declaration order;
/// - `as_str(self) -> &'static str`, the slug;
/// - `parse(&str) -> Option<Self>`, or `-> Result<Self, UnknownSlug>` when
///   the enum is declared with `parse -> Result`;
/// - `FromStr` and `Display`, both the slug; `FromStr` fails with
///   [`UnknownSlug`], or with any type it converts into (`String` for its
///   message) when the enum is declared with `from_str -> Type`;
/// - `Serialize` and `Deserialize` as the slug string;
/// - `Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord` (declaration
///   order). Other attributes, such as `#[derive(Default)]` with a
///   `#[default]` variant, are passed through.
///
/// `"what"` names the enum in error messages (`unknown channel "fax"`).
///
/// ```
/// models::slug_enum! {
///     /// How a bin is collected.
///     pub enum Bin("bin") {
///         /// Garbage.
///         Garbage => "garbage",
///         /// Recycling.
///         Recycling => "recycling",
///     }
/// }
///
/// assert_eq!(Bin::parse("recycling"), Some(Bin::Recycling));
/// assert_eq!(Bin::Garbage.to_string(), "garbage");
/// assert!("compost".parse::<Bin>().is_err());
/// ```
#[macro_export]
macro_rules! slug_enum {
    (@parse) => {
        /// Parses a slug from `as_str`; `None` for any other text.
        pub fn parse(text: &str) -> ::std::option::Option<Self> {
            Self::from_slug(text).ok()
        }
    };
    (@parse Result) => {
        /// Parses a slug from `as_str`.
        ///
        /// # Errors
        /// `UnknownSlug` for any other text.
        pub fn parse(text: &str) -> ::std::result::Result<Self, $crate::slug::UnknownSlug> {
            Self::from_slug(text)
        }
    };
    (@error) => { $crate::slug::UnknownSlug };
    (@error $err:ty) => { $err };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident (
            $what:literal $(, parse -> $parse:ident)? $(, from_str -> $err:ty)?
        ) {
            $($(#[$vmeta:meta])* $variant:ident => $slug:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// Every slug, in declaration order.
            const SLUGS: &'static [&'static str] = &[$($slug,)+];

            /// The stable slug, for storage, configuration and the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $slug,)+
                }
            }

            fn from_slug(text: &str) -> ::std::result::Result<Self, $crate::slug::UnknownSlug> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == text)
                    .ok_or_else(|| $crate::slug::UnknownSlug::new($what, text, Self::SLUGS))
            }

            $crate::slug_enum!(@parse $($parse)?);
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::slug_enum!(@error $($err)?);
            fn from_str(text: &str) -> ::std::result::Result<Self, Self::Err> {
                Self::from_slug(text).map_err(::std::convert::Into::into)
            }
        }

        impl $crate::slug::__serde::Serialize for $name {
            fn serialize<S>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error>
            where
                S: $crate::slug::__serde::Serializer,
            {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::slug::__serde::Deserialize<'de> for $name {
            fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
            where
                D: $crate::slug::__serde::Deserializer<'de>,
            {
                deserializer.deserialize_str($crate::slug::SlugVisitor::<$name>::new($what))
            }
        }
    };
}

#[doc(hidden)]
pub use serde as __serde;

/// Reads a slug enum from a string in any serde format.
#[doc(hidden)]
pub struct SlugVisitor<T> {
    what: &'static str,
    marker: std::marker::PhantomData<T>,
}

impl<T> SlugVisitor<T> {
    /// A visitor for a `what` ("channel").
    pub fn new(what: &'static str) -> Self {
        Self {
            what,
            marker: std::marker::PhantomData,
        }
    }
}

impl<T> serde::de::Visitor<'_> for SlugVisitor<T>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} slug", self.what)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        text.parse().map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    crate::slug_enum! {
        /// A test enum.
        #[derive(Default)]
        pub enum Shade("shade") {
            /// Default.
            #[default]
            Light => "light",
            /// Other.
            DarkBlue => "dark_blue",
        }
    }

    crate::slug_enum! {
        /// A test enum whose `parse` says why it failed.
        pub enum Strict("strict", parse -> Result, from_str -> String) {
            /// One.
            One => "one",
        }
    }

    #[test]
    fn every_variant_round_trips_through_its_slug_text_and_serde() {
        for shade in Shade::ALL {
            assert_eq!(Shade::parse(shade.as_str()), Some(*shade));
            assert_eq!(shade.to_string().parse::<Shade>(), Ok(*shade));
            let json = serde_json::to_string(shade).unwrap();
            assert_eq!(json, format!("\"{}\"", shade.as_str()));
            assert_eq!(serde_json::from_str::<Shade>(&json).unwrap(), *shade);
        }
        assert_eq!(Shade::default(), Shade::Light);
        assert_eq!(Strict::parse("one"), Ok(Strict::One));
        assert_eq!("one".parse::<Strict>(), Ok(Strict::One));
    }

    #[test]
    fn an_unknown_slug_names_the_enum_and_what_it_expected() {
        assert_eq!(Shade::parse("Light"), None);
        assert_eq!(
            "dark".parse::<Shade>().unwrap_err().to_string(),
            "unknown shade \"dark\" (expected light or dark_blue)"
        );
        assert_eq!(
            Strict::parse("two").unwrap_err().to_string(),
            "unknown strict \"two\" (expected one)"
        );
        assert_eq!(
            "two".parse::<Strict>(),
            Err("unknown strict \"two\" (expected one)".to_owned())
        );
        assert!(serde_json::from_str::<Shade>("\"dark\"").is_err());
        assert!(serde_json::from_str::<Shade>("3").is_err());
    }
}
