//! The application state every handler can reach: cheap to clone, built once
//! at startup.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::clock::Clock;
use crate::config::Settings;
use crate::http::RateLimiter;
use crate::ingest::Ingestor;
use crate::store::Store;
use crate::templates::{OfficeContext, Templates};

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct AppState {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// The ingest pipeline.
    pub ingestor: Ingestor,
    /// Citizen-facing text.
    pub templates: Arc<Templates>,
    /// All settings.
    pub settings: Arc<Settings>,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// Per-client-address limit on form submissions.
    pub form_limiter: Arc<RateLimiter>,
    /// Office contact details for pages.
    pub office: OfficeContext,
    /// Meta webhook settings, when the channel is configured.
    pub meta: Option<Arc<connectors::meta::MetaSettings>>,
    /// Woken after each stored webhook body.
    pub webhook_wakeup: Arc<tokio::sync::Notify>,
    /// The classifier, for the topic proposed while an agent records a call.
    pub classifier: Arc<dyn classifiers::Classifier>,
    /// The staff workspace's pages.
    pub staff: Arc<crate::http::staff::StaffPages>,
    /// The domain services.
    pub services: crate::services::Services,
    /// The staff sign-in's throttle and hashing bound.
    pub sign_in: Arc<crate::http::sign_in::SignInGuard>,
}

impl FromRef<AppState> for Arc<Templates> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.templates)
    }
}

impl FromRef<AppState> for Arc<dyn Store> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.store)
    }
}
