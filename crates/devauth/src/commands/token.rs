//! `devauth token`: print a valid access token, refreshing it first when needed.
//!
//! Refresh is serialized across processes: take the profile's lock, re-read the store, and
//! refresh only when the token is still stale, so two scripts that start at the same instant
//! send one refresh request and print the same new token.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use devauth_client::{Clock, FileStore, StoredTokens, SystemClock};

use crate::cli::{Target, TokenArgs};
use crate::context::{client_for, load_profile, not_logged_in, open_store};
use crate::exit_code;

/// How long to wait for another process's refresh of the same profile.
const REFRESH_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `devauth token` and returns the exit code.
pub(crate) async fn run(args: TokenArgs) -> anyhow::Result<u8> {
    let tokens = valid_tokens(&args.target, Duration::from_secs(args.min_ttl)).await?;
    println!("{}", tokens.access_token.expose());
    Ok(exit_code::SUCCESS)
}

/// Returns the tokens of the login that `target` names, refreshed first unless the access
/// token stays valid for `min_ttl`.
pub(crate) async fn valid_tokens(
    target: &Target,
    min_ttl: Duration,
) -> anyhow::Result<StoredTokens> {
    let store = open_store(target)?;
    let (name, profile) = load_profile(&store, target)?.ok_or_else(|| not_logged_in(target))?;
    let tokens = profile.tokens.ok_or_else(|| not_logged_in(target))?;

    // The fast path: a cached token that stays valid long enough, with no network call.
    if tokens.is_fresh(SystemClock.system_now(), min_ttl) {
        return Ok(tokens);
    }
    refresh_under_lock(&store, &name, min_ttl).await
}

/// Refreshes the tokens of profile `name` unless another process did while this one waited for
/// the lock, and returns the tokens to use.
async fn refresh_under_lock(
    store: &FileStore,
    name: &str,
    min_ttl: Duration,
) -> anyhow::Result<StoredTokens> {
    let _lock = store
        .lock_profile(name, REFRESH_LOCK_TIMEOUT)
        .context("cannot lock the profile for refresh")?;

    // Re-read: another process may have refreshed while this one waited.
    let profile = store
        .profile(name)?
        .ok_or_else(|| anyhow!("the login {name:?} was removed by another process"))?;
    let current = profile
        .tokens
        .clone()
        .ok_or_else(|| anyhow!("the login {name:?} has no tokens; run `devauth login`"))?;
    if current.is_fresh(SystemClock.system_now(), min_ttl) {
        return Ok(current);
    }

    let Some(refresh_token) = current.refresh_token.clone() else {
        bail!("the access token expired and there is no refresh token; run `devauth login`");
    };
    let client = client_for(&profile)?;
    let response = match client.refresh(&refresh_token, None).await {
        Ok(response) => response,
        Err(error) if error.is_invalid_grant() => {
            // The stored tokens stay: deleting them could remove a newer token that a process
            // without the lock (an older devauth) stored meanwhile.
            bail!("the server rejected the refresh token (invalid_grant); run `devauth login`");
        }
        Err(error) => {
            return Err(anyhow::Error::new(error).context("cannot refresh the access token"))
        }
    };

    let refreshed = StoredTokens::from_response(
        &response,
        SystemClock.system_now(),
        current.scope.as_deref(),
    );
    let saved = refreshed.clone();
    store.update(|file| {
        if let Some(profile) = file.profiles.get_mut(name) {
            profile.tokens = Some(saved);
        }
    })?;
    Ok(refreshed)
}
