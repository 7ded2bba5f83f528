//! Background deletion of expired grants, tokens and sessions.

use std::time::Duration;

use crate::App;

/// How often the sweeper runs.
pub const SWEEP_PERIOD: Duration = Duration::from_secs(60);

/// How often the write-ahead log is checkpointed. Under constant polling SQLite's log grows by
/// tens of megabytes a second until a checkpoint empties it.
pub const CHECKPOINT_PERIOD: Duration = Duration::from_secs(10);

/// How long expired rows are kept, so that late polls still get `expired_token` and the page
/// can still say "expired" rather than "not found".
pub const RETENTION_MS: i64 = 60 * 60 * 1000;

/// Deletes rows that expired more than [`RETENTION_MS`] ago, every [`SWEEP_PERIOD`], and
/// checkpoints the write-ahead log every [`CHECKPOINT_PERIOD`], until the task is aborted.
pub async fn run(app: App) {
    let mut ticker = tokio::time::interval(CHECKPOINT_PERIOD);
    let checkpoints_per_sweep = (SWEEP_PERIOD.as_secs() / CHECKPOINT_PERIOD.as_secs()).max(1);
    let mut tick: u64 = 0;
    loop {
        ticker.tick().await;
        tick += 1;
        if let Err(error) = app.store.checkpoint().await {
            tracing::warn!(error = ?error, "checkpointing the write-ahead log failed");
        }
        if (tick - 1) % checkpoints_per_sweep != 0 {
            continue;
        }
        let cutoff = app.clock.now_ms().saturating_sub(RETENTION_MS);
        match app.store.sweep(cutoff).await {
            Ok(None) => tracing::debug!("another replica is sweeping"),
            Ok(Some(0)) => {}
            Ok(Some(deleted)) => tracing::debug!(deleted, "swept expired rows"),
            Err(error) => tracing::warn!(error = ?error, "sweeping expired rows failed"),
        }
    }
}
