//! The command line: `inbox serve`, `inbox migrate`, `inbox config check`,
//! and the operators' tools.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::startup::{connect_store, shutdown_signal, Application};
use crate::telemetry;

/// The citizen inbox gateway.
#[derive(Debug, Parser)]
#[command(name = "inbox", version, about)]
pub struct Cli {
    /// Settings file (TOML). Defaults to `inbox.toml` when it exists.
    #[arg(long, global = true, env = "INBOX_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (HTTP server and background workers).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Settings tools.
    Config {
        /// What to do with the settings.
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Classify JSON lines from stdin (`{"id","text"}`), one result per line on stdout.
    Classify,
    /// Train or evaluate the classifier.
    Classifier {
        /// What to do with the classifier.
        #[command(subcommand)]
        action: ClassifierAction,
    },
    /// Email tools.
    Email {
        /// What to do.
        #[command(subcommand)]
        action: EmailAction,
    },
    /// Staff accounts.
    User {
        /// What to do.
        #[command(subcommand)]
        action: UserAction,
    },
    /// Personal API tokens.
    Token {
        /// What to do.
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Labelled examples to retrain the classifier with, one JSON line each:
    /// supervisors' decisions on flagged messages (`"label":"abuse"`, with
    /// `message_id`, `text`, `decision`, `kind`, `decided_at`) and topics set
    /// by agents (`"label":"topic"`, with `thread_id`, `text`, `topic`,
    /// `labelled_at`).
    ExportLabels,
    /// Conditions an administrator must act on (refused channel
    /// credentials), one JSON line each; active ones only unless `--all`.
    Alarms {
        /// Include cleared alarms.
        #[arg(long)]
        all: bool,
    },
    /// Outbox tools for operators.
    Outbox {
        /// What to do with the outbox.
        #[command(subcommand)]
        action: OutboxAction,
    },
}

/// `inbox user …`
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create an account; the password is read from the first line of stdin.
    Add {
        /// Work email, the login.
        #[arg(long)]
        email: String,
        /// agent, supervisor or admin.
        #[arg(long)]
        role: String,
        /// Name shown to colleagues.
        #[arg(long)]
        name: Option<String>,
        /// Read the password from stdin (required: never on the command line).
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `inbox token …`
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create a personal API token for an account and print it once on
    /// stdout (its id, for `revoke`, goes to stderr).
    Create {
        /// The account's email.
        #[arg(long)]
        email: String,
        /// What the token is for.
        #[arg(long)]
        label: Option<String>,
        /// Act with this role instead of the account's (agent, supervisor
        /// or admin; never higher than the account's).
        #[arg(long)]
        role: Option<String>,
        /// Allow reads only (GET); every other request answers 403.
        #[arg(long)]
        read_only: bool,
    },
    /// List an account's tokens, one JSON line each, newest first.
    List {
        /// The account's email.
        #[arg(long)]
        email: String,
    },
    /// Revoke a token by its id; it stops working at once.
    Revoke {
        /// The token's id, as `create` and `list` show it.
        #[arg(long)]
        id: String,
    },
}

/// `inbox config …`
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Read and validate the settings; report every problem.
    Check,
}

/// `inbox classifier …`
#[derive(Debug, Subcommand)]
pub enum ClassifierAction {
    /// Rebuild the model files from the labelled corpus, deterministically.
    Train {
        /// The corpus folder (train/dev/test JSON-lines files).
        #[arg(long, default_value = "classifiers/corpus")]
        corpus: PathBuf,
        /// Where to write the model files.
        #[arg(long, default_value = "classifiers/model")]
        out: PathBuf,
        /// A Hugging Face encoder folder: also train the encoder head.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Print precision, recall, F1, the confusion matrix and the false flags
    /// on hard negatives, for the configured model on a corpus split.
    Eval {
        /// The corpus folder.
        #[arg(long, default_value = "classifiers/corpus")]
        corpus: PathBuf,
        /// `test` (default) or `dev`.
        #[arg(long, default_value = "test")]
        split: String,
    },
}

/// `inbox email …`
#[derive(Debug, Subcommand)]
pub enum EmailAction {
    /// Parse .eml files without touching any store or server; print one
    /// JSON line per file saying how the gateway reads it and whether it
    /// would be acknowledged.
    Inspect {
        /// The .eml files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Largest attachment `inbox email inspect` keeps when no email channel is
/// configured: the email connector's own default.
const INSPECT_MAX_ATTACHMENT_BYTES: u64 = 15 * 1024 * 1024;

/// `inbox outbox …`
#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Count outbound messages per delivery state.
    Status,
    /// Queue a failed or unconfirmed outbound message for one more attempt.
    Retry {
        /// The outbox id.
        id: String,
    },
}

impl Cli {
    /// Runs the chosen command.
    ///
    /// # Errors
    /// Whatever stopped the command, as a sentence for the operator.
    pub async fn run(self) -> anyhow::Result<()> {
        let settings = Settings::load(self.config.as_deref())?;
        telemetry::init(&settings.telemetry);
        match self.command {
            Command::Serve => {
                let app = Application::build(settings).await?;
                let address = app.address();
                // One machine-readable line on stdout, for scripts and tests.
                println!(
                    "{}",
                    serde_json::json!({ "event": "listening", "address": address.to_string() })
                );
                tracing::info!(%address, "Gateway listening");
                app.run_until_stopped(shutdown_signal()).await
            }
            Command::Migrate => {
                connect_store(&settings).await?;
                println!("migrations applied");
                Ok(())
            }
            Command::Config {
                action: ConfigAction::Check,
            } => {
                crate::templates::Templates::load(settings.templates.dir.as_deref())
                    .context("Failed to load the templates")?;
                println!("settings are valid");
                Ok(())
            }
            Command::Classify => {
                let classifier = classifiers::CitizenClassifier::load(&settings.classifiers)
                    .context("Failed to load the classifier model")?;
                let stdin = std::io::stdin();
                let stdout = std::io::stdout();
                let summary = classifiers::classify_jsonl(
                    &classifier,
                    stdin.lock(),
                    stdout.lock(),
                    std::io::stderr(),
                )
                .context("Failed to read or write JSON lines")?;
                tracing::info!(?summary, "Classification finished");
                Ok(())
            }
            Command::Classifier {
                action: ClassifierAction::Train { corpus, out, model },
            } => {
                let options = classifiers::TrainOptions {
                    encoder_dir: model,
                    ..classifiers::TrainOptions::default()
                };
                let report = classifiers::train(&corpus, &out, &options)
                    .context("Failed to train the classifier")?;
                println!("{report}");
                Ok(())
            }
            Command::Classifier {
                action: ClassifierAction::Eval { corpus, split },
            } => {
                let split = match split.as_str() {
                    "test" => classifiers::Split::Test,
                    "dev" => classifiers::Split::Dev,
                    other => anyhow::bail!("unknown split {other:?} (expected test or dev)"),
                };
                let classifier = classifiers::CitizenClassifier::load(&settings.classifiers)
                    .context("Failed to load the classifier model")?;
                let report = classifiers::evaluate_split(&classifier, &corpus, split)
                    .context("Failed to read the corpus")?;
                println!("{report}");
                Ok(())
            }
            Command::Email {
                action: EmailAction::Inspect { files },
            } => {
                let office = models::EmailAddress::parse(&settings.office.email)?;
                let ctx = connectors::email::ParseContext {
                    reference_prefix: settings.reference_prefix(),
                    city_addresses: vec![office],
                    max_attachment_bytes: INSPECT_MAX_ATTACHMENT_BYTES,
                    fallback_received_at: chrono::Utc::now(),
                };
                for file in files {
                    let name = file.display().to_string();
                    let line = match std::fs::read(&file) {
                        Ok(raw) => connectors::email::inspect(&name, &raw, &ctx),
                        Err(e) => serde_json::json!({ "file": name, "error": e.to_string() }),
                    };
                    println!("{line}");
                }
                Ok(())
            }
            Command::User {
                action:
                    UserAction::Add {
                        email,
                        role,
                        name,
                        password_stdin,
                    },
            } => {
                let role: crate::auth::Role = role.parse().map_err(anyhow::Error::msg)?;
                let email = models::EmailAddress::parse(&email)
                    .map_err(|e| anyhow::anyhow!("{email:?} is not a valid email address: {e}"))?;
                if !password_stdin {
                    anyhow::bail!("Give the password on stdin with --password-stdin");
                }
                let mut password = String::new();
                std::io::stdin()
                    .read_line(&mut password)
                    .context("Failed to read the password from stdin")?;
                let password = password.trim_end_matches(['\r', '\n']);
                if password.chars().count() < crate::auth::MIN_PASSWORD_CHARS {
                    anyhow::bail!(
                        "The password must have at least {} characters",
                        crate::auth::MIN_PASSWORD_CHARS
                    );
                }
                let store = connect_store(&settings).await?;
                let id = uuid::Uuid::now_v7().to_string();
                let created = store
                    .create_user(&crate::store::workspace::NewUser {
                        id: id.clone(),
                        email: email.as_ref().to_owned(),
                        display_name: name,
                        role,
                        password_hash: crate::auth::hash_password(password)?,
                        at: chrono::Utc::now(),
                    })
                    .await;
                match created {
                    Ok(()) => {}
                    Err(crate::store::StoreError::Conflict { .. }) => {
                        anyhow::bail!("An account with this email already exists")
                    }
                    Err(e) => return Err(e).context("Failed to create the account"),
                }
                println!(
                    "{}",
                    serde_json::json!({ "id": id, "email": email.as_ref(), "role": role })
                );
                Ok(())
            }
            Command::Token { action } => token_command(&settings, action).await,
            Command::ExportLabels => {
                let store = connect_store(&settings).await?;
                for example in store.labelled_examples().await? {
                    let mut line = serde_json::to_value(&example)?;
                    line["label"] = "abuse".into();
                    println!("{line}");
                }
                for example in store.topic_examples().await? {
                    let mut line = serde_json::to_value(&example)?;
                    line["label"] = "topic".into();
                    println!("{line}");
                }
                Ok(())
            }
            Command::Alarms { all } => {
                let store = connect_store(&settings).await?;
                for alarm in store.list_alarms(all).await? {
                    println!("{}", serde_json::to_string(&alarm)?);
                }
                Ok(())
            }
            Command::Outbox { action } => {
                let store = connect_store(&settings).await?;
                match action {
                    OutboxAction::Status => {
                        for (state, count) in store.count_outbox_by_state().await? {
                            println!("{state}\t{count}");
                        }
                    }
                    OutboxAction::Retry { id } => {
                        let id = models::OutboxId::parse(&id)?;
                        store
                            .requeue_outbox_job(id, chrono::Utc::now())
                            .await
                            .context(
                                "Failed to queue the message again (is it failed or unconfirmed?)",
                            )?;
                        println!("queued {id}");
                    }
                }
                Ok(())
            }
        }
    }
}

/// `inbox token create|list|revoke`. Changes are audited with the actor
/// `cli`: whoever runs this has the database's credentials.
async fn token_command(settings: &Settings, action: TokenAction) -> anyhow::Result<()> {
    let store = connect_store(settings).await?;
    let owner = |email: String| {
        let store = Arc::clone(&store);
        async move {
            store
                .user_by_email(&email)
                .await?
                .map(|(user, _)| user)
                .ok_or_else(|| anyhow::anyhow!("No active account has the email {email:?}"))
        }
    };
    match action {
        TokenAction::Create {
            email,
            label,
            role,
            read_only,
        } => {
            let user = owner(email).await?;
            let role = role
                .map(|r| r.parse::<crate::auth::Role>())
                .transpose()
                .map_err(anyhow::Error::msg)?;
            if let Some(role) = role.filter(|r| *r > user.role) {
                anyhow::bail!(
                    "A token cannot do more than its owner: {} is {}, not {role}",
                    user.email,
                    user.role
                );
            }
            let (token, hash) = crate::auth::new_token();
            let id = uuid::Uuid::now_v7().to_string();
            store
                .create_token(
                    &crate::store::workspace::NewToken {
                        id: id.clone(),
                        user_id: user.id,
                        token_hash: hash,
                        label,
                        scope: crate::store::workspace::TokenScope { role, read_only },
                        at: chrono::Utc::now(),
                    },
                    "cli",
                )
                .await
                .context("Failed to save the token")?;
            eprintln!("token id {id}");
            println!("{token}");
        }
        TokenAction::List { email } => {
            let user = owner(email).await?;
            for token in store.list_tokens(&user.id).await? {
                println!("{}", serde_json::to_string(&token)?);
            }
        }
        TokenAction::Revoke { id } => {
            if !store
                .revoke_token(id.trim(), "cli", chrono::Utc::now())
                .await?
            {
                anyhow::bail!("No unrevoked token has the id {id:?}");
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}
