//! Command-line access to the classifier library, for people working on the
//! model without the gateway: train, evaluate, tune thresholds on dev, and
//! classify JSON lines. The gateway's own CLI (`inbox classifier …`,
//! `inbox classify`) calls the same library functions.
//!
//! Usage:
//!   classifier train    [--corpus DIR] [--model DIR] [--encoder DIR] [--encoder-max N]
//!   classifier eval     [--corpus DIR] [--model DIR] [--split dev|test] [--encoder DIR]
//!                       [--encoder-weight W] [--errors]
//!   classifier tune     [--corpus DIR] [--model DIR] [--encoder DIR]
//!   classifier classify [--model DIR] [--encoder DIR]   (JSON lines on stdin)
//!   classifier trace    [--model DIR]   (one message per stdin line: tokens, signals, verdict)
//!
//! `--corpus` defaults to the crate's `corpus/`, `--model` to the crate's
//! `model/` for `train` and to the embedded model otherwise.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use classifiers::corpus::{read_split, Split};
use classifiers::evaluation::evaluate;
use classifiers::training::TrainOptions;
use classifiers::{classify_jsonl, train, CitizenClassifier, ClassifierSettings};

struct Args {
    command: String,
    corpus: PathBuf,
    model: Option<PathBuf>,
    encoder: Option<PathBuf>,
    encoder_max: Option<usize>,
    encoder_weight: Option<f32>,
    split: Split,
    errors: bool,
}

fn parse_args() -> Result<Args, String> {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut it = std::env::args().skip(1);
    let command = it
        .next()
        .ok_or("missing command: train, eval, tune or classify")?;
    let mut args = Args {
        command,
        corpus: crate_dir.join("corpus"),
        model: None,
        encoder: None,
        encoder_max: None,
        encoder_weight: None,
        split: Split::Dev,
        errors: false,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--corpus" => args.corpus = PathBuf::from(value()?),
            "--model" => args.model = Some(PathBuf::from(value()?)),
            "--encoder" => args.encoder = Some(PathBuf::from(value()?)),
            "--encoder-max" => {
                args.encoder_max = Some(
                    value()?
                        .parse()
                        .map_err(|e| format!("--encoder-max: {e}"))?,
                )
            }
            "--encoder-weight" => {
                args.encoder_weight = Some(
                    value()?
                        .parse()
                        .map_err(|e| format!("--encoder-weight: {e}"))?,
                )
            }
            "--split" => {
                args.split = Split::parse(&value()?).ok_or("--split must be train, dev or test")?
            }
            "--errors" => args.errors = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if args.command == "train" && args.model.is_none() {
        args.model = Some(crate_dir.join("model"));
    }
    Ok(args)
}

fn load(args: &Args) -> Result<CitizenClassifier, String> {
    let defaults = ClassifierSettings::default();
    let settings = ClassifierSettings {
        model_dir: args.model.clone(),
        encoder_dir: args.encoder.clone(),
        encoder_weight: args.encoder_weight.unwrap_or(defaults.encoder_weight),
        ..defaults
    };
    CitizenClassifier::load(&settings).map_err(|e| e.to_string())
}

fn run(args: &Args) -> Result<(), String> {
    match args.command.as_str() {
        "train" => {
            let options = TrainOptions {
                encoder_dir: args.encoder.clone(),
                encoder_max_records: args.encoder_max,
                ..TrainOptions::default()
            };
            let model = args.model.clone().unwrap_or_default();
            let report = train(&args.corpus, &model, &options).map_err(|e| e.to_string())?;
            print!("{report}");
        }
        "eval" => {
            let classifier = load(args)?;
            let records = read_split(&args.corpus, args.split).map_err(|e| e.to_string())?;
            let label = format!("{:?}", args.split).to_lowercase();
            let report = evaluate(&classifier, &records, &label);
            print!("{report}");
            if args.errors {
                println!("\nErrors:");
                for e in &report.errors {
                    println!("  {e}");
                }
            }
        }
        "tune" => {
            let classifier = load(args)?;
            let records = read_split(&args.corpus, Split::Dev).map_err(|e| e.to_string())?;
            println!("review  flag  topic_min | abuse F1  false-flag %  topic acc");
            for review in [0.35f32, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65] {
                for topic_min in [0.3f32, 0.4, 0.5] {
                    let settings = ClassifierSettings {
                        abuse_review_threshold: review,
                        abuse_flag_threshold: review.max(0.8),
                        topic_min_score: topic_min,
                        ..classifier.settings().clone()
                    };
                    let tuned = load(args)?
                        .with_thresholds(&settings)
                        .map_err(|e| e.to_string())?;
                    let r = evaluate(&tuned, &records, "dev");
                    println!(
                        "{review:>6.2} {:>5.2} {topic_min:>10.2} | {:>8.3} {:>13.2} {:>10.3}",
                        review.max(0.8),
                        r.all.abuse.f1(),
                        100.0 * r.all.false_flag_rate(),
                        r.all.topic_accuracy()
                    );
                }
            }
        }
        "classify" => {
            let classifier = load(args)?;
            let stdin = io::stdin();
            let summary = classify_jsonl(
                &classifier,
                stdin.lock(),
                io::stdout().lock(),
                io::stderr().lock(),
            )
            .map_err(|e| e.to_string())?;
            eprintln!(
                "classified {}, rejected {}",
                summary.classified, summary.rejected
            );
        }
        "trace" => {
            let classifier = load(args)?;
            for line in io::stdin().lines() {
                let line = line.map_err(|e| e.to_string())?;
                let prepared = classifier.pipeline().prepare(&line, None, usize::MAX);
                println!("text:    {line}");
                println!("tokens:  {}", prepared.normalised.joined().0);
                for s in &prepared.signals.abuse {
                    println!("signal:  {:?} {:?} {}", s.rule, s.strength, s.reason());
                }
                for c in &prepared.signals.context {
                    println!("context: {c}");
                }
                let analysis = classifier.analyse(&classifiers::ClassifierInput {
                    text: &line,
                    subject: None,
                    language: None,
                });
                println!("model p: {:.3}", analysis.model_abuse_probability);
                println!(
                    "verdict: {:?}\n         {:?}\n",
                    analysis.classification.topic, analysis.classification.abuse
                );
            }
        }
        other => return Err(format!("unknown command {other}")),
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse_args().and_then(|a| run(&a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("classifier: {e}");
            ExitCode::FAILURE
        }
    }
}
