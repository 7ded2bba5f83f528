//! `devauth status`: which login is stored, for whom, and until when.

use devauth_client::{Clock, Error, SystemClock};

use crate::cli::StatusArgs;
use crate::context::{client_for, load_profile, not_logged_in, open_store};
use crate::exit_code;
use crate::output::{human_duration, mask_token};

/// Runs `devauth status` and returns the exit code.
pub(crate) async fn run(args: StatusArgs) -> anyhow::Result<u8> {
    let store = open_store()?;
    let Some((name, profile)) = load_profile(&store, &args.target)? else {
        return Err(not_logged_in(&args.target));
    };

    println!("Profile: {name}");
    println!("Server: {}", profile.server);
    println!("Client: {}", profile.client_id);
    println!("Storage: file {}", store.path().display());

    let Some(tokens) = &profile.tokens else {
        match &profile.pending {
            Some(pending) => println!(
                "Login pending: enter code {} at {}",
                pending.user_code, pending.verification_uri
            ),
            None => println!("Not logged in."),
        }
        return Ok(exit_code::FAILURE);
    };

    let client = client_for(&profile)?;
    let user = match client.userinfo(&tokens.access_token).await {
        Ok(info) => {
            let name = info.username.or(info.sub).unwrap_or_else(|| "unknown".into());
            name
        }
        Err(Error::MissingEndpoint(_)) => "unknown (the server has no userinfo endpoint)".into(),
        Err(error) => format!("unknown ({error})"),
    };
    println!("User: {user}");
    println!("Scopes: {}", tokens.scope.as_deref().unwrap_or("(not reported by the server)"));

    let expiry = match tokens.seconds_left(SystemClock.system_now()) {
        None => "no expiry reported".to_owned(),
        Some(left) if left > 0 => format!("expires in {}", human_duration(left as u64)),
        Some(left) => format!("expired {} ago", human_duration(left.unsigned_abs())),
    };
    println!(
        "Access token: {} ({expiry})",
        mask_token(tokens.access_token.expose())
    );
    println!(
        "Refresh token: {}",
        if tokens.refresh_token.is_some() { "stored" } else { "none" }
    );
    Ok(exit_code::SUCCESS)
}
