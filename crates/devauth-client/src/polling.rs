//! Polling the token endpoint until the person decides (RFC 8628 sections 3.4 and 3.5).
//!
//! The rules, each with a test:
//! - The first poll comes one interval after the start, or after
//!   [`WaitOptions::first_poll_after`]. Each next poll comes one interval after the previous
//!   response arrived. So two polls are never in flight, and the gap between two requests is at
//!   least the interval even on a slow network.
//! - `authorization_pending` keeps the interval. `slow_down` adds 5 seconds to it for the rest of
//!   the wait; when the server also sends a larger `interval`, that one wins.
//! - Transport failures, 429 and 5xx responses are retried after an exponential back-off with
//!   jitter that honors `Retry-After` and is never shorter than the current interval.
//! - `access_denied`, `expired_token` and every other error code end the wait at once with a
//!   typed [`Error`]. So does the `expires_in` deadline, measured on the monotonic clock.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use devauth_protocol::grant_type::DEVICE_CODE_URN;
use devauth_protocol::{ErrorCode, TokenResponse};
use tokio::sync::Notify;

use crate::client::DeviceClient;
use crate::device_authorization::PendingAuthorization;
use crate::error::Error;
use crate::response::MAX_WAIT;
use crate::token::{terminal_error, TokenReply};

/// The increase of the interval on each `slow_down` (RFC 8628 section 3.5).
pub const SLOW_DOWN_INCREMENT: Duration = Duration::from_secs(5);

/// The maximum exponential back-off after repeated failures, before jitter. A longer
/// `Retry-After` or interval still wins.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Progress of a wait, for user interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PollEvent {
    /// A poll is about to be sent; `attempt` counts from 1.
    Polling {
        /// The number of this poll.
        attempt: u32,
    },
    /// The server returned `authorization_pending`.
    Pending {
        /// The delay before the next poll.
        next_poll_in: Duration,
    },
    /// The server returned `slow_down`, so `interval` is the new interval for the rest of the wait.
    SlowedDown {
        /// The new polling interval.
        interval: Duration,
    },
    /// A poll failed in a way worth retrying; the next poll comes after `after`.
    Retrying {
        /// The delay before the next poll.
        after: Duration,
        /// What failed.
        reason: RetryReason,
    },
}

/// The cause of a retried poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryReason {
    /// The request failed without an HTTP response.
    Transport(String),
    /// The server returned 429 or a 5xx status.
    Status(u16),
}

/// Options of [`DeviceClient::wait_with`].
#[derive(Debug, Clone, Default)]
pub struct WaitOptions {
    /// Stop with [`Error::TimedOut`] when the request is still pending after this long.
    pub timeout: Option<Duration>,
    /// Delay before the first poll; default one interval. A process resuming a wait that
    /// another process began can pass the time left until that process's next poll.
    pub first_poll_after: Option<Duration>,
    /// Stops the wait with [`Error::Cancelled`] when triggered.
    pub cancellation: Option<Cancellation>,
}

/// A handle that cancels a wait from another task or thread.
///
/// Dropping the future returned by [`DeviceClient::wait_with`] cancels it too; this handle is for
/// callers that cannot drop it, such as the blocking wrapper.
#[derive(Debug, Clone, Default)]
pub struct Cancellation {
    inner: Arc<CancellationState>,
}

#[derive(Debug, Default)]
struct CancellationState {
    cancelled: AtomicBool,
    notify: Notify,
}

impl Cancellation {
    /// Creates a handle that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every wait that uses this handle.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Returns whether [`Cancellation::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Completes when the handle is cancelled.
    pub async fn cancelled(&self) {
        // A `Notified` future receives `notify_waiters` from the moment it is created, so
        // creating it before checking the flag loses no wake-up.
        let notified = self.inner.notify.notified();
        if self.is_cancelled() {
            return;
        }
        notified.await;
    }
}

impl DeviceClient {
    /// Polls until the person approves or denies `pending`, with default options and no
    /// progress events.
    pub async fn wait(&self, pending: &PendingAuthorization) -> Result<TokenResponse, Error> {
        self.wait_with(pending, WaitOptions::default(), |_| {})
            .await
    }

    /// Polls until the person approves or denies `pending`, calling `on_event` with progress.
    ///
    /// # Errors
    ///
    /// [`Error::AccessDenied`], [`Error::ExpiredToken`] (sent by the server or reached on the
    /// clock), [`Error::Rejected`] for any other error code, [`Error::UnexpectedResponse`] for a
    /// non-protocol answer with a status other than 429 and 5xx, [`Error::TimedOut`] and
    /// [`Error::Cancelled`].
    pub async fn wait_with(
        &self,
        pending: &PendingAuthorization,
        options: WaitOptions,
        mut on_event: impl FnMut(&PollEvent) + Send,
    ) -> Result<TokenResponse, Error> {
        let cancellation = options.cancellation.as_ref();
        let started = self.clock.now();
        let stop_at = options.timeout.map(|timeout| started + timeout);
        let mut interval = pending.interval;
        let mut next_poll = started + options.first_poll_after.unwrap_or(interval);
        let mut failures: u32 = 0;
        let mut attempt: u32 = 0;

        loop {
            // Sleep until the next poll, the device code's expiry or the caller's timeout,
            // whichever comes first.
            let now = self.clock.now();
            let wake = [Some(next_poll), Some(pending.deadline), stop_at]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(next_poll);
            if wake > now {
                let sleeper = Arc::clone(&self.sleeper);
                until_cancelled(cancellation, async move { sleeper.sleep(wake - now).await })
                    .await?;
            }

            let now = self.clock.now();
            if now >= pending.deadline {
                return Err(Error::ExpiredToken);
            }
            if let (Some(stop_at), Some(timeout)) = (stop_at, options.timeout) {
                if now >= stop_at {
                    return Err(Error::TimedOut(timeout));
                }
            }

            attempt += 1;
            on_event(&PollEvent::Polling { attempt });
            let params = [
                ("grant_type", DEVICE_CODE_URN),
                ("device_code", pending.device_code.expose()),
            ];
            let reply = until_cancelled(cancellation, self.token_request(&params)).await?;
            let answered = self.clock.now();

            match reply {
                Ok(TokenReply::Issued(tokens)) => {
                    tracing::debug!(attempt, "device authorization approved");
                    return Ok(tokens);
                }
                Ok(TokenReply::Error { error, .. })
                    if error.code == ErrorCode::AuthorizationPending =>
                {
                    failures = 0;
                    on_event(&PollEvent::Pending {
                        next_poll_in: interval,
                    });
                    next_poll = answered + interval;
                }
                Ok(TokenReply::Error { error, .. }) if error.code == ErrorCode::SlowDown => {
                    // RFC 8628 section 3.5: "the interval MUST be increased by 5 seconds for
                    // this and all subsequent requests".
                    failures = 0;
                    interval =
                        (interval + SLOW_DOWN_INCREMENT).max(error.interval.unwrap_or_default());
                    tracing::debug!(attempt, ?interval, "slow_down");
                    on_event(&PollEvent::SlowedDown { interval });
                    next_poll = answered + interval;
                }
                Ok(TokenReply::Error { error, status }) => {
                    tracing::debug!(attempt, code = %error.code, "polling stopped");
                    return Err(terminal_error(error, status));
                }
                Ok(TokenReply::Transient {
                    status,
                    retry_after,
                }) => {
                    failures += 1;
                    let delay = self.retry_delay(interval, failures, retry_after);
                    tracing::debug!(attempt, status, ?delay, "poll failed, retrying");
                    on_event(&PollEvent::Retrying {
                        after: delay,
                        reason: RetryReason::Status(status),
                    });
                    next_poll = answered + delay;
                }
                Err(Error::Transport { message, .. }) => {
                    failures += 1;
                    let delay = self.retry_delay(interval, failures, None);
                    tracing::debug!(attempt, %message, ?delay, "poll failed, retrying");
                    on_event(&PollEvent::Retrying {
                        after: delay,
                        reason: RetryReason::Transport(message),
                    });
                    next_poll = answered + delay;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Returns the delay before retrying after `failures` consecutive failures: the interval
    /// doubled per failure up to [`MAX_BACKOFF`], or `Retry-After` when longer, plus up to a
    /// quarter of that as jitter. Never shorter than `interval`.
    fn retry_delay(
        &self,
        interval: Duration,
        failures: u32,
        retry_after: Option<Duration>,
    ) -> Duration {
        let exponent = failures.saturating_sub(1).min(16);
        let backoff = interval
            .saturating_mul(1 << exponent)
            .min(MAX_BACKOFF)
            .max(interval);
        let base = backoff.max(retry_after.unwrap_or_default()).min(MAX_WAIT);
        let fraction = self.jitter.fraction().clamp(0.0, 1.0);
        base + base.mul_f64(0.25 * fraction)
    }
}

/// Awaits `future` unless `cancellation` fires first.
async fn until_cancelled<F: Future>(
    cancellation: Option<&Cancellation>,
    future: F,
) -> Result<F::Output, Error> {
    match cancellation {
        None => Ok(future.await),
        Some(cancellation) => tokio::select! {
            biased;
            () = cancellation.cancelled() => Err(Error::Cancelled),
            output = future => Ok(output),
        },
    }
}
