//! The one loop every background worker runs: step, then wait according to
//! what the step said, until cancelled.
//!
//! A worker only implements [`Worker::step`]; [`run`] does the rest: it
//! steps again at once after work, waits the idle interval (or a wake-up
//! notification) when there was nothing to do, waits as long as the step
//! asked, backs off exponentially after errors, and stops on cancellation.
//! A step in flight is never cut short by the loop: it finishes, then the
//! loop exits. A step that waits on something unbounded (a mailbox session)
//! watches the cancellation token it is given.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What a step did, and so when the next one should run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Work was done; there may be more, so step again at once.
    Worked,
    /// Nothing to do: wait the idle interval or a wake-up.
    Idle,
    /// Step again after this delay (a wake-up does not shorten it).
    RetryAfter(Duration),
}

/// How long a worker waits between steps.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Wait after an idle step, unless woken first.
    pub idle: Duration,
    /// Waits after consecutive failed steps.
    pub backoff: Backoff,
}

impl Pace {
    /// The pace of a queue worker polling every `idle`: after errors it
    /// waits from `idle` up to [`MAX_QUEUE_ERROR_BACKOFF`].
    pub fn polling(idle: Duration) -> Self {
        Self {
            idle,
            backoff: Backoff {
                base: idle,
                max: MAX_QUEUE_ERROR_BACKOFF.max(idle),
            },
        }
    }
}

/// Longest wait of a queue worker after repeated errors: long enough not to
/// flood the log and the database while it is down, short enough that work
/// resumes soon after it is back.
pub const MAX_QUEUE_ERROR_BACKOFF: Duration = Duration::from_secs(30);

/// Capped exponential backoff with jitter.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First delay.
    pub base: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Backoff {
    /// The delay after `attempt` failures: `base · 2^(attempt-1)` capped at
    /// `max`, then "equal jitter" (half fixed, half random) so that many
    /// failures at once do not retry together.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let raw = self.base.saturating_mul(1u32 << exp).min(self.max);
        let half = raw / 2;
        let jitter = rand::thread_rng().gen_range(0..=half.as_millis().max(1) as u64);
        half + Duration::from_millis(jitter)
    }
}

/// A failed step that ran at least this long had been healthy until then
/// (a mailbox session that held for a while): the backoff starts again from
/// its base instead of growing.
const HEALTHY_STEP: Duration = Duration::from_secs(60);

/// A background worker: one step of work at a time.
pub trait Worker: Send + Sync + 'static {
    /// What a failed step reports.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The worker's name in logs (`outbox`, `mailbox clientele`).
    fn name(&self) -> String;

    /// The idle interval and the error backoff.
    fn pace(&self) -> Pace;

    /// Notified when new work is queued, to end an idle wait early.
    fn wakeup(&self) -> Option<Arc<Notify>> {
        None
    }

    /// Does one unit of work. `cancel` is for steps that wait on something
    /// unbounded; a short step ignores it and is let finish.
    fn step(
        &self,
        cancel: &CancellationToken,
    ) -> impl Future<Output = Result<Step, Self::Error>> + Send;
}

/// Runs `worker` until `cancel`, stepping and waiting as its steps say.
pub async fn run<W: Worker>(worker: W, cancel: CancellationToken) {
    let name = worker.name();
    let pace = worker.pace();
    let wakeup = worker.wakeup();
    let mut failures: u32 = 0;
    while !cancel.is_cancelled() {
        let started = Instant::now();
        let (wait, woken_early) = match worker.step(&cancel).await {
            Ok(step) => {
                failures = 0;
                match step {
                    Step::Worked => continue,
                    Step::Idle => (pace.idle, true),
                    Step::RetryAfter(delay) => (delay, false),
                }
            }
            Err(error) => {
                if started.elapsed() >= HEALTHY_STEP {
                    failures = 0;
                }
                failures = failures.saturating_add(1);
                let delay = pace.backoff.delay(failures);
                if cancel.is_cancelled() {
                    return;
                }
                tracing::warn!(
                    worker = %name,
                    error = %error,
                    cause = ?error,
                    failures,
                    delay_ms = delay.as_millis() as u64,
                    "Worker step failed; backing off"
                );
                (delay, false)
            }
        };
        let notified = async {
            match &wakeup {
                Some(wakeup) if woken_early => wakeup.notified().await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            () = notified => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    use super::*;

    /// Plays back a script of step results, recording when each ran.
    struct Scripted {
        script: Mutex<Vec<Result<Step, std::io::Error>>>,
        steps: Arc<AtomicU32>,
        finished: Arc<AtomicU32>,
        wakeup: Arc<Notify>,
        cancel_after: Option<(u32, CancellationToken)>,
    }

    impl Scripted {
        fn new(mut script: Vec<Result<Step, std::io::Error>>) -> Self {
            script.reverse();
            Self {
                script: Mutex::new(script),
                steps: Arc::default(),
                finished: Arc::default(),
                wakeup: Arc::default(),
                cancel_after: None,
            }
        }
    }

    impl Worker for Scripted {
        type Error = std::io::Error;

        fn name(&self) -> String {
            "scripted".to_owned()
        }

        fn pace(&self) -> Pace {
            Pace {
                idle: Duration::from_secs(10),
                backoff: Backoff {
                    base: Duration::from_secs(1),
                    max: Duration::from_secs(8),
                },
            }
        }

        fn wakeup(&self) -> Option<Arc<Notify>> {
            Some(Arc::clone(&self.wakeup))
        }

        async fn step(&self, _cancel: &CancellationToken) -> Result<Step, Self::Error> {
            let n = self.steps.fetch_add(1, Ordering::SeqCst) + 1;
            // A step that takes time, to show the loop lets it finish.
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Some((at, cancel)) = &self.cancel_after {
                if n == *at {
                    cancel.cancel();
                }
            }
            let next = self.script.lock().unwrap().pop();
            self.finished.fetch_add(1, Ordering::SeqCst);
            next.unwrap_or(Ok(Step::Idle))
        }
    }

    #[test]
    fn backoff_grows_and_stays_under_its_cap() {
        // Arrange
        let b = Backoff {
            base: Duration::from_secs(30),
            max: Duration::from_secs(3600),
        };
        // Act
        let delays: Vec<Duration> = (1..=12).map(|a| b.delay(a)).collect();
        // Assert
        for (i, d) in delays.iter().enumerate() {
            let attempt = u32::try_from(i).unwrap() + 1;
            let raw = Duration::from_secs(30)
                .saturating_mul(1 << (attempt - 1))
                .min(Duration::from_secs(3600));
            assert!(
                *d >= raw / 2 && *d <= raw,
                "attempt {attempt}: {d:?} outside {:?}..={raw:?}",
                raw / 2
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn work_is_followed_at_once_and_idle_waits_the_interval_or_a_wakeup() {
        // Arrange
        let worker = Scripted::new(vec![Ok(Step::Worked), Ok(Step::Worked), Ok(Step::Idle)]);
        let (steps, wakeup) = (Arc::clone(&worker.steps), Arc::clone(&worker.wakeup));
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(worker, cancel.clone()));

        // Act
        tokio::time::sleep(Duration::from_millis(350)).await;
        let after_work = steps.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let while_idle = steps.load(Ordering::SeqCst);
        wakeup.notify_one();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let after_wakeup = steps.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(10)).await;
        let after_interval = steps.load(Ordering::SeqCst);
        cancel.cancel();
        task.await.unwrap();

        // Assert
        assert_eq!(after_work, 3, "two worked steps are followed at once");
        assert_eq!(while_idle, 3, "an idle step waits");
        assert_eq!(after_wakeup, 4, "a wake-up ends the idle wait");
        assert_eq!(after_interval, 5, "the idle interval ends it too");
    }

    #[tokio::test(start_paused = true)]
    async fn errors_back_off_with_a_cap_and_success_resets_it() {
        // Arrange
        let error = || Err(std::io::Error::other("store down"));
        let worker = Scripted::new(vec![
            error(),
            error(),
            error(),
            error(),
            error(),
            Ok(Step::Worked),
            error(),
        ]);
        let steps = Arc::clone(&worker.steps);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(worker, cancel.clone()));
        let mut times = Vec::new();
        let start = tokio::time::Instant::now();

        // Act
        let mut seen = 0;
        while seen < 8 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let now = steps.load(Ordering::SeqCst);
            if now > seen {
                seen = now;
                times.push(start.elapsed());
            }
        }
        cancel.cancel();
        task.await.unwrap();

        // Assert: waits of 0.5–1 s, 1–2 s, 2–4 s, then capped at 4–8 s.
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        let bounds = [(1, 0.5, 1.0), (2, 1.0, 2.0), (3, 2.0, 4.0), (4, 4.0, 8.0)];
        for (i, low, high) in bounds {
            let gap = gaps[i - 1].as_secs_f64() - 0.1;
            assert!(
                (low - 0.02..=high + 0.02).contains(&gap),
                "wait after failure {i}: {gap}s outside {low}..={high}"
            );
        }
        let capped = gaps[4].as_secs_f64() - 0.1;
        assert!((3.98..=8.02).contains(&capped), "capped wait {capped}s");
        let after_success = gaps[6].as_secs_f64() - 0.1;
        assert!(
            (0.48..=1.02).contains(&after_success),
            "the first failure after a success waits from the base again: {after_success}s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_lets_the_step_in_flight_finish_then_stops() {
        // Arrange: the second step is cancelled while it runs.
        let mut worker = Scripted::new((0..10).map(|_| Ok(Step::Worked)).collect());
        let cancel = CancellationToken::new();
        worker.cancel_after = Some((2, cancel.clone()));
        let (steps, finished) = (Arc::clone(&worker.steps), Arc::clone(&worker.finished));

        // Act
        run(worker, cancel).await;

        // Assert
        assert_eq!(steps.load(Ordering::SeqCst), 2, "no step starts after it");
        assert_eq!(
            finished.load(Ordering::SeqCst),
            2,
            "the step in flight finished"
        );
    }
}
