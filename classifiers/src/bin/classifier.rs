//! Command-line access to the classifier library, for people working on the
//! model without the gateway: train, evaluate, tune thresholds on dev, and
//! classify JSON lines. The gateway's own CLI (`inbox classifier …`,
//! `inbox classify`) calls the same library functions.
//!
//! Usage:
//!   classifier train    [--corpus DIR] [--model DIR] [--encoder DIR] [--encoder-max N]
//!   classifier corpus   [--corpus DIR]   (split sizes, near-duplicates removed)
//!   classifier eval     [--corpus DIR] [--model DIR] [--split dev|test|generated] [--encoder DIR]
//!                       [--encoder-weight W] [--review-threshold T] [--topic-min-score T]
//!                       [--predictions FILE] [--summary] [--errors]
//!   classifier tune     [--corpus DIR] [--model DIR] [--encoder DIR]
//!   classifier experiment [--corpus DIR]   (training options from EXP_* variables, on dev)
//!   classifier feedback-round [--corpus DIR]   (gain of one round of folded decisions)
//!   classifier cross-writer [--corpus DIR]   (each training writer held out in turn)
//!   classifier classify [--model DIR] [--encoder DIR]   (JSON lines on stdin)
//!   classifier embed    --encoder DIR   (one embedding per stdin line)
//!   classifier trace    [--model DIR]   (one message per stdin line: tokens, signals, verdict)
//!
//! `--corpus` defaults to the crate's `corpus/`, `--model` to the crate's
//! `model/` for `train` and to the embedded model otherwise. `eval` without
//! `--split` reports dev, the headline test writer and the generated line;
//! `--predictions` scores the output of `classify` (of any build) instead of
//! running a model; `--summary` prints one Markdown table row per split;
//! `--errors` lists the misclassified messages (refused on the headline
//! split, which is only read as aggregate figures).

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use classifiers::corpus::{
    write_records, Corpus, CorpusRecord, Split, FEEDBACK_FILE, GENERATED_FILE, HANDWRITTEN_FILE,
    WRITERS_DIR, WRITER_ROLES,
};
use classifiers::evaluation::{
    classify_records, evaluate_verdicts, read_predictions, summary_row, SUMMARY_HEADER,
};
use classifiers::model::ModelFiles;
use classifiers::rng::SplitMix64;
use classifiers::training::{train_in_memory, TrainOptions};
use classifiers::tuning::{tune, Tuning};
use classifiers::{classify_jsonl, train, CitizenClassifier, ClassifierSettings};
use models::TopicVerdict;

struct Args {
    command: String,
    corpus: PathBuf,
    model: Option<PathBuf>,
    encoder: Option<PathBuf>,
    encoder_max: Option<usize>,
    encoder_weight: Option<f32>,
    review: Option<f32>,
    topic_min: Option<f32>,
    split: Option<Split>,
    predictions: Option<PathBuf>,
    summary: bool,
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
        review: None,
        topic_min: None,
        split: None,
        predictions: None,
        summary: false,
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
                args.split = Some(
                    Split::parse(&value()?)
                        .ok_or("--split must be train, dev, test or generated")?,
                )
            }
            "--predictions" => args.predictions = Some(PathBuf::from(value()?)),
            "--summary" => args.summary = true,
            "--errors" => args.errors = true,
            "--review-threshold" => {
                args.review = Some(
                    value()?
                        .parse()
                        .map_err(|e| format!("--review-threshold: {e}"))?,
                )
            }
            "--topic-min-score" => {
                args.topic_min = Some(
                    value()?
                        .parse()
                        .map_err(|e| format!("--topic-min-score: {e}"))?,
                )
            }
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
        abuse_review_threshold: args.review.unwrap_or(defaults.abuse_review_threshold),
        topic_min_score: args.topic_min.unwrap_or(defaults.topic_min_score),
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
        "corpus" => {
            let corpus = Corpus::load(&args.corpus).map_err(|e| e.to_string())?;
            println!("{corpus}");
        }
        "eval" => eval(args)?,
        "tune" => {
            let classifier = load(args)?;
            let corpus = Corpus::load(&args.corpus).map_err(|e| e.to_string())?;
            let tuning = tune(&classifier, &corpus.dev);
            print_tuning(&tuning);
        }
        "experiment" => experiment(args)?,
        "feedback-round" => feedback_round(args)?,
        "cross-writer" => cross_writer(args)?,
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
        #[cfg(feature = "encoder")]
        "embed" => {
            let dir = args.encoder.clone().ok_or("embed needs --encoder DIR")?;
            let encoder = classifiers::encoder::Encoder::load(&dir).map_err(|e| e.to_string())?;
            for line in io::stdin().lines() {
                let line = line.map_err(|e| e.to_string())?;
                let v = encoder.embed(&line)?;
                let text: Vec<String> = v.iter().map(|x| format!("{x:.6}")).collect();
                println!("{}", text.join(" "));
            }
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

fn print_tuning(tuning: &Tuning) {
    println!("review | abuse F1      P      R  false flags %");
    for row in &tuning.abuse {
        println!(
            "{:>6.3} | {:>8.3} {:.3} {:.3} {:>13.2}",
            row.review,
            row.f1,
            row.precision,
            row.recall,
            100.0 * row.false_flag_rate
        );
    }
    println!("\ntopic_min | accuracy  answered acc.  answered");
    for row in &tuning.topic {
        println!(
            "{:>9.3} | {:>8.3} {:>14.3} {:>9.3}",
            row.min_score, row.accuracy, row.answered_accuracy, row.answered
        );
    }
    let c = &tuning.chosen;
    println!(
        "\nchosen on dev: abuse_review_threshold {:.3}, abuse_flag_threshold {:.3}, topic_min_score {:.3}\n",
        c.abuse_review_threshold, c.abuse_flag_threshold, c.topic_min_score
    );
    println!("{}", tuning.report);
}

/// Parses a comma-separated list of numbers.
fn list<T: std::str::FromStr>(text: &str) -> Result<Vec<T>, String> {
    text.split(',')
        .map(|x| x.trim().parse().map_err(|_| format!("bad number {x:?}")))
        .collect()
}

/// `classifier experiment`: trains in memory over a grid of training
/// options and reports each on dev with thresholds tuned on dev.
fn experiment(args: &Args) -> Result<(), String> {
    let corpus = Corpus::load(&args.corpus).map_err(|e| e.to_string())?;
    let get = |name: &str| std::env::var(name).ok();
    let defaults = TrainOptions::default();
    let l2s: Vec<f32> = get("EXP_L2").map_or(Ok(vec![defaults.params.l2]), |v| list(&v))?;
    let balance: f32 = get("EXP_TOPIC_BALANCE").map_or(Ok(defaults.topic_balance), |v| {
        v.parse().map_err(|_| "EXP_TOPIC_BALANCE".to_owned())
    })?;
    let tl2s: Vec<f32> = get("EXP_TOPIC_L2").map_or(Ok(vec![defaults.topic_l2]), |v| list(&v))?;
    let dfs: Vec<usize> =
        get("EXP_MIN_DF").map_or(Ok(vec![defaults.min_document_frequency]), |v| list(&v))?;
    let gws: Vec<f32> =
        get("EXP_GENERATED_WEIGHT").map_or(Ok(vec![defaults.generated_weight]), |v| list(&v))?;
    let epochs: Vec<usize> =
        get("EXP_EPOCHS").map_or(Ok(vec![defaults.params.epochs]), |v| list(&v))?;
    let lrs: Vec<f32> =
        get("EXP_LR").map_or(Ok(vec![defaults.params.learning_rate]), |v| list(&v))?;
    println!("l2 min_df gen_w epochs lr | review  dev F1 [CI]  P  R  FF% | topic acc (min 0)  topic_min  acc  answered-acc  answered | cal a b T");
    for (&l2, &tl2) in l2s.iter().flat_map(|a| tl2s.iter().map(move |b| (a, b))) {
        for &min_df in &dfs {
            for &gw in &gws {
                for &ep in &epochs {
                    for &lr in &lrs {
                        let options = TrainOptions {
                            params: classifiers::linear::TrainingParams {
                                l2,
                                epochs: ep,
                                learning_rate: lr,
                                ..defaults.params.clone()
                            },
                            topic_l2: tl2,
                            topic_balance: balance,
                            min_document_frequency: min_df,
                            generated_weight: gw,
                            ..TrainOptions::default()
                        };
                        let generated: &[CorpusRecord] = if gw > 0.0 {
                            &corpus.generated_train
                        } else {
                            &[]
                        };
                        let trained =
                            train_in_memory(&corpus.train, generated, &corpus.dev, &options)
                                .map_err(|e| e.to_string())?;
                        let cal = trained.manifest.calibration;
                        let files = ModelFiles::from_models(trained.manifest, &trained.linear)
                            .map_err(|e| e.to_string())?;
                        let classifier =
                            CitizenClassifier::from_files(files, &ClassifierSettings::default())
                                .map_err(|e| e.to_string())?;
                        let t = tune(&classifier, &corpus.dev);
                        let fig = &t.report.all;
                        println!(
                            "{l2:.0e}/{tl2:.0e} {min_df} {gw:.2} {ep} {lr:.2} | {:.3} {:.3} {} {:.3} {:.3} {:.2} | {:.3} {:.3} {:.3} {:.3} {:.3} | {:.2} {:.2} {:.2}",
                            t.chosen.abuse_review_threshold,
                            fig.abuse.f1(),
                            fig.f1_interval(|_| true),
                            fig.abuse.precision(),
                            fig.abuse.recall(),
                            100.0 * fig.false_flag_rate(),
                            t.topic.first().map_or(0.0, |r| r.accuracy),
                            t.chosen.topic_min_score,
                            fig.topic_accuracy(),
                            fig.answered_accuracy(),
                            fig.topic_coverage(),
                            cal.abuse_scale,
                            cal.abuse_shift,
                            cal.topic_temperature,
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// Share of dev whose errors are folded back in `feedback-round`.
const FOLDED_SHARE: f64 = 0.5;

/// Seed of the dev halves of `feedback-round`.
const FEEDBACK_SEED: u64 = 0xfeed_bac4_2026_0001;

/// Trains in memory on a corpus, calibrates and tunes thresholds on `tuning`.
fn train_and_tune(corpus: &Corpus, tuning: &[CorpusRecord]) -> Result<CitizenClassifier, String> {
    let options = TrainOptions::default();
    let generated: &[CorpusRecord] = if options.generated_weight > 0.0 {
        &corpus.generated_train
    } else {
        &[]
    };
    let trained =
        train_in_memory(&corpus.train, generated, tuning, &options).map_err(|e| e.to_string())?;
    let files =
        ModelFiles::from_models(trained.manifest, &trained.linear).map_err(|e| e.to_string())?;
    let classifier = CitizenClassifier::from_files(files, &ClassifierSettings::default())
        .map_err(|e| e.to_string())?;
    let chosen = tune(&classifier, tuning).chosen;
    classifier
        .with_thresholds(&chosen)
        .map_err(|e| e.to_string())
}

/// `classifier feedback-round`: what one round of supervisor and agent
/// decisions gains. Half of dev (fixed seed) plays the messages the gateway
/// saw: the model's errors on it (wrong or abstained topic, wrong abuse
/// flag) come back as decisions through `fold_feedback`, the model is
/// retrained, and both models (calibrated and tuned on the other half of
/// dev) are measured on the headline writer and that other half.
fn feedback_round(args: &Args) -> Result<(), String> {
    let corpus = Corpus::load(&args.corpus).map_err(|e| e.to_string())?;
    let mut order: Vec<usize> = (0..corpus.dev.len()).collect();
    SplitMix64::new(FEEDBACK_SEED).shuffle(&mut order);
    let cut = (corpus.dev.len() as f64 * FOLDED_SHARE).round() as usize;
    let mut seen_idx = order[..cut].to_vec();
    let mut kept_idx = order[cut..].to_vec();
    seen_idx.sort_unstable();
    kept_idx.sort_unstable();
    let seen: Vec<CorpusRecord> = seen_idx.iter().map(|&i| corpus.dev[i].clone()).collect();
    let kept: Vec<CorpusRecord> = kept_idx.iter().map(|&i| corpus.dev[i].clone()).collect();

    let before = train_and_tune(&corpus, &kept)?;
    let verdicts = classify_records(&before, &seen);
    let mut export = String::new();
    for (r, (topic, abuse)) in seen.iter().zip(&verdicts) {
        let topic_ok = matches!(topic, TopicVerdict::Label { topic, .. } if *topic == r.topic);
        if topic_ok && abuse.needs_review() == r.abusive {
            continue;
        }
        export.push_str(&serde_json::to_string(r).map_err(|e| e.to_string())?);
        export.push('\n');
    }

    // A copy of the corpus where the kept half is dev, so that folding the
    // seen half is not refused as a leak of held-out messages.
    let dir = std::env::temp_dir().join(format!("classifier-feedback-{}", std::process::id()));
    let writers = dir.join(WRITERS_DIR);
    std::fs::create_dir_all(&writers).map_err(|e| e.to_string())?;
    let copy = |name: &str| -> Result<(), String> {
        let from = args.corpus.join(name);
        if from.exists() {
            std::fs::copy(&from, dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(())
    };
    for name in [HANDWRITTEN_FILE, GENERATED_FILE, FEEDBACK_FILE] {
        copy(name)?;
    }
    for (writer, role) in WRITER_ROLES {
        let path = writers.join(format!("{writer}.jsonl"));
        match role {
            Split::Dev => write_records(&path, &kept),
            Split::Test => write_records(&path, &corpus.test),
            _ => {
                let from = args
                    .corpus
                    .join(WRITERS_DIR)
                    .join(format!("{writer}.jsonl"));
                if !from.exists() {
                    continue;
                }
                std::fs::copy(&from, &path)
                    .map(|_| ())
                    .map_err(|e| classifiers::CorpusError::Io {
                        path: from.clone(),
                        source: e,
                    })
            }
        }
        .map_err(|e| e.to_string())?;
    }
    let summary = classifiers::fold_feedback(&dir, export.as_bytes()).map_err(|e| e.to_string());
    let folded = Corpus::load(&dir).map_err(|e| e.to_string());
    std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
    let (summary, folded) = (summary?, folded?);
    let after = train_and_tune(&folded, &kept)?;

    println!(
        "dev halves: {} seen by the gateway, {} kept for tuning; errors on the seen half folded as decisions: {} (held out {}, duplicates {})\n",
        seen.len(),
        kept.len(),
        summary.added,
        summary.held_out,
        summary.duplicates
    );
    println!("{SUMMARY_HEADER}");
    for (label, classifier) in [("before", &before), ("after one round", &after)] {
        for (split, records) in [(Split::Test, &corpus.test), (Split::Dev, &kept)] {
            let report = evaluate_verdicts(
                records,
                &classify_records(classifier, records),
                &format!(
                    "{label}: {}",
                    if split == Split::Test {
                        "test"
                    } else {
                        "dev (kept half)"
                    }
                ),
                classifiers::Classifier::version(classifier),
                false,
            );
            println!("{}", summary_row(&report));
        }
    }
    Ok(())
}

/// `classifier cross-writer`: each training writer held out in turn. The
/// model is trained on the other training writers (plus the hand-written
/// and generated records), calibrated and tuned on dev, and measured on the
/// held-out writer: how much the figures move from one writer to another.
fn cross_writer(args: &Args) -> Result<(), String> {
    let corpus = Corpus::load(&args.corpus).map_err(|e| e.to_string())?;
    println!("{SUMMARY_HEADER}");
    for (writer, role) in WRITER_ROLES {
        if *role != Split::Train {
            continue;
        }
        let of_writer = |r: &CorpusRecord| r.writer.as_deref() == Some(writer);
        let held: Vec<CorpusRecord> = corpus
            .train
            .iter()
            .filter(|r| of_writer(r))
            .cloned()
            .collect();
        if held.is_empty() {
            continue;
        }
        let mut rest = corpus.clone();
        rest.train.retain(|r| !of_writer(r));
        let classifier = train_and_tune(&rest, &corpus.dev)?;
        let report = evaluate_verdicts(
            &held,
            &classify_records(&classifier, &held),
            &format!("{writer} held out"),
            classifiers::Classifier::version(&classifier),
            false,
        );
        println!("{}", summary_row(&report));
    }
    Ok(())
}

/// `classifier eval`: reports on one split or on dev, test and generated.
fn eval(args: &Args) -> Result<(), String> {
    let corpus = Corpus::load(&args.corpus).map_err(|e| e.to_string())?;
    let splits = match args.split {
        Some(split) => vec![split],
        None => vec![Split::Dev, Split::Test, Split::Generated],
    };
    if args.errors && splits.contains(&Split::Test) {
        return Err("--errors lists messages: not on the headline split (test)".to_owned());
    }
    let predictions = match &args.predictions {
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Some(read_predictions(io::BufReader::new(file))?)
        }
        None => None,
    };
    let classifier = match predictions {
        Some(_) => None,
        None => Some(load(args)?),
    };
    if args.summary {
        println!("{SUMMARY_HEADER}");
    } else {
        println!("{corpus}\n");
    }
    for split in splits {
        let records = corpus.split(split);
        let (verdicts, version) = match (&predictions, &classifier) {
            (Some((by_id, version)), _) => {
                let verdicts = records
                    .iter()
                    .map(|r| {
                        by_id
                            .get(&r.id)
                            .cloned()
                            .ok_or_else(|| format!("no prediction for record {}", r.id))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                (verdicts, version.clone())
            }
            (None, Some(c)) => (
                classify_records(c, records),
                classifiers::Classifier::version(c).to_owned(),
            ),
            (None, None) => return Err("no model and no predictions".to_owned()),
        };
        let report = evaluate_verdicts(
            records,
            &verdicts,
            split.as_str(),
            &version,
            split.is_inspectable(),
        );
        if args.summary {
            println!("{}", summary_row(&report));
            continue;
        }
        println!("{report}");
        if args.errors {
            println!("Errors:");
            for e in &report.errors {
                println!("  {e}");
            }
            println!();
        }
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
