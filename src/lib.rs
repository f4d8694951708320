//! The citizen inbox gateway: configuration, store, ingest pipeline, outbox,
//! domain services, HTTP (webhooks, API, public pages) and CLI, wired
//! together. `main.rs` is a thin shell over [`cli`]; tests and tools reach
//! everything from here. `ARCHITECTURE.md` draws the layers.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod http;
pub mod ingest;
pub mod outbox;
pub mod services;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod templates;
pub mod worker;
