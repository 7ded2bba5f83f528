//! `devauth logout`: revoke on the server first, then forget locally.

use anyhow::{bail, Context as _};
use devauth_client::{Error, FileStore, Profile, TokenTypeHint};

use crate::cli::LogoutArgs;
use crate::context::{client_for, load_profile, normalize_server, open_store};
use crate::exit_code;

/// Runs `devauth logout` and returns the exit code.
pub(crate) async fn run(args: LogoutArgs) -> anyhow::Result<u8> {
    let store = open_store(&args.target)?;
    if args.all {
        return logout_all(&store).await;
    }

    let Some((name, profile)) = load_profile(&store, &args.target)? else {
        eprintln!(
            "Not logged in to {}.",
            normalize_server(&args.target.server)
        );
        return Ok(exit_code::SUCCESS);
    };
    logout(&store, &name, &profile).await?;
    Ok(exit_code::SUCCESS)
}

/// Logs out of every stored login; one failure keeps that login and the exit code is 1.
async fn logout_all(store: &FileStore) -> anyhow::Result<u8> {
    let profiles = store
        .load()
        .with_context(|| format!("cannot read the token store {}", store.path().display()))?
        .profiles;
    if profiles.is_empty() {
        eprintln!("No stored logins.");
    }
    let mut code = exit_code::SUCCESS;
    for name in profiles.keys() {
        // Reading each login on its own rejects one whose tokens are in an unreachable
        // keyring, without stopping the others.
        let result = match store.profile(name) {
            Ok(Some(profile)) => logout(store, name, &profile).await,
            Ok(None) => Ok(()),
            Err(error) => Err(error.into()),
        };
        if let Err(error) = result {
            eprintln!("devauth: error: {name}: {error:#}");
            code = exit_code::FAILURE;
        }
    }
    Ok(code)
}

/// Revokes the login's token, then removes the login from the store. When revocation fails the
/// login is kept, so the user can retry.
async fn logout(store: &FileStore, name: &str, profile: &Profile) -> anyhow::Result<()> {
    // Revoking the refresh token ends the whole grant, access tokens included, on servers that
    // follow RFC 7009 section 2.1. Without a refresh token, revoke the access token.
    if let Some(tokens) = &profile.tokens {
        let (token, hint) = match &tokens.refresh_token {
            Some(refresh_token) => (refresh_token, TokenTypeHint::RefreshToken),
            None => (&tokens.access_token, TokenTypeHint::AccessToken),
        };
        let client = client_for(profile)?;
        match client.revoke(token, hint).await {
            Ok(()) => eprintln!(
                "Revoked the {} on {}.",
                hint.as_str().replace('_', " "),
                profile.server
            ),
            Err(Error::MissingEndpoint(_)) => eprintln!(
                "devauth: warning: {} has no revocation endpoint; its tokens stay valid until they expire.",
                profile.server
            ),
            Err(error) => bail!(
                "cannot revoke the token, so the stored login was kept; try again: {error}"
            ),
        }
    }

    store
        .update(|file| file.profiles.remove(name))
        .with_context(|| format!("cannot write the token store {}", store.path().display()))?;
    eprintln!("Logged out of {} ({name}).", profile.server);
    Ok(())
}
