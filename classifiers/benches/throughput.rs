//! Throughput and latency of the classifier on one core (not a timed test:
//! it measures and prints, it never fails on a figure).
//!
//! Run: `cargo bench -p classifiers --bench throughput`
//! With the encoder path: set `INBOX_TEST_ENCODER_DIR` to an encoder
//! directory (`scripts/fetch-test-model.sh` for all-MiniLM-L6-v2). The
//! on-CPU figure counts the benchmark's own thread only: candle's worker threads are not in it.
//!
//! Reports model load time, messages per second (wall time, and per second
//! of on-CPU time, which holds on a shared machine) and p50/p99 latency per
//! message for the default path (n-gram model and rules) and the encoder
//! path, and the process's resident memory.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use classifiers::corpus::{read_split, Split};
use classifiers::training::{train_records, TrainOptions};
use classifiers::{CitizenClassifier, Classifier, ClassifierInput, ClassifierSettings};

/// How long the default path is measured.
const DEFAULT_PATH_BUDGET: Duration = Duration::from_secs(5);
/// Messages classified on the encoder path.
const ENCODER_MESSAGES: usize = 200;
/// Records embedded to train the benchmark's encoder head.
const ENCODER_HEAD_RECORDS: usize = 64;

/// Resident and peak resident memory of this process, in MiB (Linux).
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Time this thread has spent on a CPU (Linux `schedstat`, nanoseconds):
/// unlike wall time, it does not count the time other processes held the
/// core, so the figure holds on a shared machine.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn run(
    classifier: &CitizenClassifier,
    texts: &[String],
    budget: Option<Duration>,
    max: Option<usize>,
) -> (usize, Duration, Vec<Duration>) {
    let mut latencies = Vec::new();
    let cpu_start = thread_cpu_time();
    let start = Instant::now();
    let mut n = 0;
    'outer: loop {
        for text in texts {
            let t = Instant::now();
            let c = classifier.classify(&ClassifierInput {
                text,
                subject: None,
                language: None,
            });
            black_box(c);
            latencies.push(t.elapsed());
            n += 1;
            if max.is_some_and(|m| n >= m) || budget.is_some_and(|b| start.elapsed() >= b) {
                break 'outer;
            }
        }
    }
    let total = start.elapsed();
    if let (Some(a), Some(b)) = (cpu_start, thread_cpu_time()) {
        let cpu = b.saturating_sub(a).as_secs_f64();
        println!(
            "  on-CPU time {cpu:.2} s of {:.2} s wall = {:.0} messages per CPU-second",
            total.as_secs_f64(),
            n as f64 / cpu.max(1e-9)
        );
    }
    latencies.sort();
    (n, total, latencies)
}

fn report(label: &str, n: usize, total: Duration, latencies: &[Duration]) {
    println!(
        "{label}: {n} messages in {:.2} s = {:.0} messages/s; p50 {:.1} µs, p99 {:.1} µs",
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        percentile(latencies, 0.50).as_secs_f64() * 1e6,
        percentile(latencies, 0.99).as_secs_f64() * 1e6
    );
}

fn main() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut texts: Vec<String> = Vec::new();
    for split in [Split::Dev, Split::Test] {
        texts.extend(
            read_split(&corpus, split)
                .expect("the corpus is readable")
                .into_iter()
                .map(|r| r.text),
        );
    }
    let mean_chars = texts.iter().map(|t| t.chars().count()).sum::<usize>() / texts.len().max(1);
    println!(
        "messages: {} (dev + test), mean {mean_chars} characters",
        texts.len()
    );
    let (rss, _) = memory_mib();
    println!("memory before loading: RSS {rss:.1} MiB");

    let loads = 5;
    let start = Instant::now();
    let mut classifier = None;
    for _ in 0..loads {
        classifier = Some(CitizenClassifier::shipped().expect("the shipped model loads"));
    }
    let load = start.elapsed() / loads;
    let Some(classifier) = classifier else { return };
    println!(
        "model load (shipped, embedded): {:.1} ms",
        load.as_secs_f64() * 1e3
    );
    let (rss, peak) = memory_mib();
    println!("memory after loading: RSS {rss:.1} MiB (peak {peak:.1} MiB)");

    run(&classifier, &texts[..texts.len().min(100)], None, Some(100));
    let (n, total, latencies) = run(&classifier, &texts, Some(DEFAULT_PATH_BUDGET), None);
    report(
        "default path (rules + n-gram model), 1 thread",
        n,
        total,
        &latencies,
    );
    let (rss, peak) = memory_mib();
    println!("memory after default path: RSS {rss:.1} MiB (peak {peak:.1} MiB)");

    let Some(encoder_dir) = std::env::var_os("INBOX_TEST_ENCODER_DIR").map(PathBuf::from) else {
        println!("encoder path: skipped (INBOX_TEST_ENCODER_DIR not set)");
        return;
    };
    let records = read_split(&corpus, Split::Train).expect("train split");
    let model_dir = std::env::temp_dir().join(format!("classifier-bench-{}", std::process::id()));
    let options = TrainOptions {
        encoder_dir: Some(encoder_dir.clone()),
        encoder_max_records: Some(ENCODER_HEAD_RECORDS),
        ..TrainOptions::default()
    };
    train_records(&records, &model_dir, &options).expect("training with the encoder");
    let start = Instant::now();
    let with_encoder = CitizenClassifier::load(&ClassifierSettings {
        model_dir: Some(model_dir.clone()),
        encoder_dir: Some(encoder_dir),
        ..ClassifierSettings::default()
    })
    .expect("the encoder loads");
    println!(
        "model load (with encoder): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    println!("version: {}", with_encoder.version());
    run(&with_encoder, &texts[..10], None, Some(10));
    let (n, total, latencies) = run(&with_encoder, &texts, None, Some(ENCODER_MESSAGES));
    report(
        "encoder path (rules + n-gram + encoder head), 1 thread",
        n,
        total,
        &latencies,
    );
    let (rss, peak) = memory_mib();
    println!("memory after encoder path: RSS {rss:.1} MiB (peak {peak:.1} MiB)");
    let _ = std::fs::remove_dir_all(&model_dir);
}
