//! Limits on failed attempts: wrong user codes, wrong passwords and unknown device codes.
//!
//! Failures are rows in the store, counted over a sliding window, so every replica enforces
//! the same limit. A request that is over its limit is refused before the code or password is
//! even checked, so a correct guess made while locked out is refused too.
//!
//! # The user-code guessing bound (RFC 8628 section 5.1)
//!
//! A user code is 8 letters from 20, so there are 20^8 ≈ 2^34.57 codes. Code entry requires a
//! signed-in account, and failed entries are limited to [`CODE_ENTRY`]`.max_failures` (5) per
//! account, per session and per client address in any window of [`CODE_ENTRY`]`.window_ms`
//! (15 minutes). A code lives at most as long as the device code (10 minutes by default), which
//! fits inside one window, so one address makes at most 5 wrong guesses during a code's life:
//! the chance of hitting one given live code is at most 5 / 20^8 ≈ 2^-32.2, below 2^-32.
//!
//! An attacker with N addresses gets N × 5 guesses per window, but only if each address also
//! has its own account, because the per-account limit caps every address signed in to the same
//! account at 5 in total. With N accounts and N addresses the chance is N × 2^-32.2 (for
//! N = 1,000: about 2^-22.2). A global alarm fires when more than [`GUESSING_ALARM_PER_MINUTE`]
//! wrong codes arrive within a minute from anywhere. Clients that set a device code lifetime
//! longer than the window weaken the bound in proportion: 5 guesses per started window.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::store::StoreError;
use crate::App;

/// A limit: at most `max_failures` failures per key in any window of `window_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Failures allowed in one window.
    pub max_failures: u64,
    /// Window length, in milliseconds.
    pub window_ms: i64,
}

/// Wrong user codes, per account, per session and per client address.
pub const CODE_ENTRY: Limit = Limit {
    max_failures: 5,
    window_ms: 15 * 60 * 1000,
};

/// Wrong passwords, per username and per client address.
pub const SIGN_IN: Limit = Limit {
    max_failures: 10,
    window_ms: 15 * 60 * 1000,
};

/// Unknown device codes at the token endpoint, per client address. Device codes carry 256
/// bits, so this limit is about load and noise rather than odds.
pub const UNKNOWN_DEVICE_CODE: Limit = Limit {
    max_failures: 30,
    window_ms: 60 * 1000,
};

/// Wrong user codes per minute, from all sources together, that raise the guessing alarm.
pub const GUESSING_ALARM_PER_MINUTE: u64 = 50;

/// The key under which all wrong user codes are counted for the alarm.
const CODE_ENTRY_GLOBAL_KEY: &str = "code_entry:global";

/// Builds the keys a wrong user code counts against.
pub fn code_entry_keys(user_id: &str, session_id_hash: &str, address: &str) -> Vec<String> {
    vec![
        format!("code_entry:user:{user_id}"),
        format!("code_entry:session:{session_id_hash}"),
        format!("code_entry:address:{address}"),
    ]
}

/// Builds the keys a wrong password counts against.
pub fn sign_in_keys(username: &str, address: &str) -> Vec<String> {
    let username: String = username.chars().take(64).collect();
    vec![
        format!("sign_in:user:{username}"),
        format!("sign_in:address:{address}"),
    ]
}

/// Returns whether any of `keys` has reached the limit's failures within its window.
pub async fn is_limited(app: &App, limit: Limit, keys: &[String]) -> Result<bool, StoreError> {
    // A failure exactly `window_ms` old has left the window.
    let since = app.clock.now_ms().saturating_sub(limit.window_ms) + 1;
    for key in keys {
        if app.store.count_failures(key, since).await? >= limit.max_failures {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Records one failure under each key.
pub async fn record_failure(app: &App, keys: &[String]) -> Result<(), StoreError> {
    app.store.record_failures(keys, app.clock.now_ms()).await
}

/// Records a wrong user code and returns whether the global alarm should fire now: more than
/// [`GUESSING_ALARM_PER_MINUTE`] wrong codes in the last minute, and no alarm from this process
/// in that minute.
pub async fn record_code_entry_failure(app: &App, keys: &[String]) -> Result<bool, StoreError> {
    static LAST_ALARM_AT: AtomicI64 = AtomicI64::new(i64::MIN);

    let mut all = keys.to_vec();
    all.push(CODE_ENTRY_GLOBAL_KEY.to_owned());
    record_failure(app, &all).await?;

    let now = app.clock.now_ms();
    let recent = app
        .store
        .count_failures(CODE_ENTRY_GLOBAL_KEY, now - 60_000)
        .await?;
    if recent <= GUESSING_ALARM_PER_MINUTE {
        return Ok(false);
    }
    let last = LAST_ALARM_AT.load(Ordering::Relaxed);
    let due = last == i64::MIN || now.saturating_sub(last) >= 60_000;
    Ok(due
        && LAST_ALARM_AT
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok())
}

/// Addresses refused at the token endpoint after too many unknown device codes, kept in
/// process memory so the poll path pays for the check only while some address is blocked.
/// The failures themselves are counted in the store, so each replica blocks an address at its
/// next unknown code once the shared count is over the limit.
#[derive(Debug, Default)]
pub struct BlockedAddresses {
    len: AtomicUsize,
    until: Mutex<HashMap<String, i64>>,
}

impl BlockedAddresses {
    /// Returns when the block on `address` ends, if it is blocked at `now`.
    pub fn blocked_until(&self, address: &str, now: i64) -> Option<i64> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut until = self
            .until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        until.retain(|_, end| *end > now);
        self.len.store(until.len(), Ordering::Relaxed);
        until.get(address).copied()
    }

    /// Blocks `address` until `end`.
    pub fn block(&self, address: &str, end: i64) {
        let mut until = self
            .until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        until.insert(address.to_owned(), end);
        self.len.store(until.len(), Ordering::Relaxed);
    }
}
