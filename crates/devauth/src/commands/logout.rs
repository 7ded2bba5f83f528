//! `devauth logout`: revoke on the server first, then forget locally.

use anyhow::Context as _;
use devauth_client::{Error, TokenTypeHint};

use crate::cli::LogoutArgs;
use crate::context::{client_for, load_profile, open_store, normalize_server};
use crate::exit_code;

/// Runs `devauth logout` and returns the exit code.
pub(crate) async fn run(args: LogoutArgs) -> anyhow::Result<u8> {
    let store = open_store()?;
    let Some((name, profile)) = load_profile(&store, &args.target)? else {
        eprintln!("Not logged in to {}.", normalize_server(&args.target.server));
        return Ok(exit_code::SUCCESS);
    };

    // Revoking the refresh token ends the whole grant, access tokens included, on servers that
    // follow RFC 7009 section 2.1; without one, revoke the access token.
    if let Some(tokens) = &profile.tokens {
        let (token, hint) = match &tokens.refresh_token {
            Some(refresh_token) => (refresh_token, TokenTypeHint::RefreshToken),
            None => (&tokens.access_token, TokenTypeHint::AccessToken),
        };
        let client = client_for(&profile)?;
        match client.revoke(token, hint).await {
            Ok(()) => eprintln!("Revoked the {} on {}.", hint.as_str().replace('_', " "), profile.server),
            Err(Error::MissingEndpoint(_)) => eprintln!(
                "devauth: warning: {} has no revocation endpoint; the tokens stay valid there until they expire.",
                profile.server
            ),
            Err(error) => {
                return Err(anyhow::Error::new(error)
                    .context("cannot revoke the token; the stored tokens were kept, try again"))
            }
        }
    }

    store
        .update(|file| file.profiles.remove(&name))
        .with_context(|| format!("cannot write the token store {}", store.path().display()))?;
    eprintln!("Logged out of {}.", profile.server);
    Ok(exit_code::SUCCESS)
}
