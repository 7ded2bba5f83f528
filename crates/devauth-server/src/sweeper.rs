//! Background deletion of expired grants, tokens and sessions.

use std::time::Duration;

use crate::App;

/// How often the sweeper runs.
pub const SWEEP_PERIOD: Duration = Duration::from_secs(60);

/// How long expired rows are kept, so that late polls still get `expired_token` and the page
/// can still say "expired" rather than "not found".
pub const RETENTION_MS: i64 = 60 * 60 * 1000;

/// Deletes rows that expired more than [`RETENTION_MS`] ago, every [`SWEEP_PERIOD`], until the
/// task is aborted.
pub async fn run(app: App) {
    let mut ticker = tokio::time::interval(SWEEP_PERIOD);
    loop {
        ticker.tick().await;
        let cutoff = app.clock.now_ms().saturating_sub(RETENTION_MS);
        match app.store.sweep(cutoff).await {
            Ok(None) => tracing::debug!("another replica is sweeping"),
            Ok(Some(0)) => {}
            Ok(Some(deleted)) => tracing::debug!(deleted, "swept expired rows"),
            Err(error) => tracing::warn!(error = ?error, "sweeping expired rows failed"),
        }
    }
}
