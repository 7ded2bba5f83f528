//! Clocks, sleepers and the jitter source, injectable so every timing rule has a fast,
//! deterministic test.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Returns the monotonic time that deadlines and poll intervals are measured on.
    fn now(&self) -> Instant;

    /// Returns the wall-clock time that stored token expiry is measured on.
    fn system_now(&self) -> SystemTime;
}

/// Waits for a duration.
#[async_trait]
pub trait Sleeper: Send + Sync {
    /// Returns after `duration` has passed on the matching [`Clock`].
    async fn sleep(&self, duration: Duration);
}

/// Chooses the random part of a back-off delay.
pub trait Jitter: Send + Sync {
    /// Returns a value in `[0, 1)`.
    fn fraction(&self) -> f64;
}

/// The operating system's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn system_now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Sleeps on the tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Jitter from the thread-local random generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomJitter;

impl Jitter for RandomJitter {
    fn fraction(&self) -> f64 {
        rand::random::<f64>()
    }
}

/// A fixed jitter value, for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedJitter(pub f64);

impl Jitter for FixedJitter {
    fn fraction(&self) -> f64 {
        self.0
    }
}

/// A clock that moves only when something sleeps on it: [`Clock`] and [`Sleeper`] in one, for
/// tests. Sleeping returns at once and advances the time by exactly the requested duration, so
/// a test of a 60-second wait runs in microseconds and measures exact gaps.
#[derive(Debug, Clone)]
pub struct ManualClock {
    state: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
struct ManualState {
    start: Instant,
    start_system: SystemTime,
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    /// Creates a clock that starts at the real current time.
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(ManualState {
                start: Instant::now(),
                start_system: SystemTime::now(),
                elapsed: Duration::ZERO,
                sleeps: Vec::new(),
            })),
        }
    }

    /// Moves the clock forward without recording a sleep.
    pub fn advance(&self, duration: Duration) {
        self.lock().elapsed += duration;
    }

    /// Returns the time passed since the clock was created.
    pub fn elapsed(&self) -> Duration {
        self.lock().elapsed
    }

    /// Returns every sleep requested so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        // A panic while holding this lock cannot leave the state half-updated.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        let state = self.lock();
        state.start + state.elapsed
    }

    fn system_now(&self) -> SystemTime {
        let state = self.lock();
        state.start_system + state.elapsed
    }
}

#[async_trait]
impl Sleeper for ManualClock {
    async fn sleep(&self, duration: Duration) {
        let mut state = self.lock();
        state.elapsed += duration;
        state.sleeps.push(duration);
    }
}

/// Returns the seconds since the Unix epoch of `time`, or 0 before it.
pub(crate) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_advances_by_each_sleep() {
        let clock = ManualClock::new();
        let start = clock.now();
        clock.sleep(Duration::from_secs(6)).await;
        clock.sleep(Duration::from_millis(500)).await;
        assert_eq!(clock.now() - start, Duration::from_millis(6500));
        assert_eq!(
            clock.sleeps(),
            [Duration::from_secs(6), Duration::from_millis(500)]
        );
    }
}
