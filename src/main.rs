//! The `inbox` binary: parse the command line, run it, report why it stopped.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = inbox::cli::Cli::parse();
    match cli.run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, cause = ?error, "Stopped with an error");
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
