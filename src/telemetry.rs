//! Logging with `tracing`: human-readable or JSON lines on stderr, filtered
//! by `[telemetry] filter` (or `RUST_LOG` when set). Stdout is kept for the
//! machine-readable lines of the CLI (the listening address, command output).

use std::sync::Once;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, TelemetrySettings};

static INIT: Once = Once::new();

/// Installs the global subscriber once; later calls do nothing.
pub fn init(settings: &TelemetrySettings) {
    INIT.call_once(|| {
        let filter = std::env::var("RUST_LOG")
            .ok()
            .and_then(|f| EnvFilter::try_new(f).ok())
            .or_else(|| EnvFilter::try_new(&settings.filter).ok())
            .unwrap_or_else(|| EnvFilter::new("info"));
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        let result = match settings.format {
            LogFormat::Json => builder.json().flatten_event(true).try_init(),
            LogFormat::Pretty => builder.compact().try_init(),
        };
        if let Err(error) = result {
            eprintln!("Failed to install the log subscriber: {error}");
        }
    });
}

/// For tests: logs only when `TEST_LOG` is set, with the binary's setup.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        init(&TelemetrySettings {
            filter: "debug,sqlx=warn,hyper=info".into(),
            ..TelemetrySettings::default()
        });
    }
}
