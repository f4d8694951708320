//! The contact form of the city's web site: an accessible HTML form and a
//! JSON API, both turned into the same [`models::InboundMessage`]. The form
//! has no way back of its own: acknowledgements and replies go out by email
//! to the address given.

mod config;
mod inbound;

pub use config::WebFormSettings;
pub use inbound::{FieldError, FieldErrorCode, FormPayload, FormSubmission};
