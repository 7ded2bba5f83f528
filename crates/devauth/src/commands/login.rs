//! `devauth login`: the device authorization request, the code on stderr, polling, and the
//! tokens into the store.

use anyhow::Context as _;
use devauth_client::{
    default_transport, Cancellation, DeviceClient, Endpoints, Error, FileStore,
    PendingAuthorization, PollEvent, Profile, RetryReason, StoredTokens, WaitOptions,
};
use serde_json::json;

use crate::cli::LoginArgs;
use crate::context::{normalize_server, open_store, profile_name};
use crate::exit_code;
use crate::output::{human_duration, json_line};

/// Runs `devauth login` and returns the exit code.
pub(crate) async fn run(args: LoginArgs) -> anyhow::Result<u8> {
    let store = open_store()?;
    let server = normalize_server(&args.target.server);
    let name = profile_name(&args.target);

    // Discover the endpoints, then ask for a device code.
    let transport = default_transport()?;
    let endpoints = Endpoints::discover(transport.as_ref(), &server)
        .await
        .with_context(|| format!("cannot discover the endpoints of {server}"))?;
    let client = DeviceClient::builder(endpoints.clone(), args.target.client_id.clone())
        .transport(transport)
        .build()?;
    let pending = client
        .start(&args.scope)
        .await
        .context("the device authorization request failed")?;

    // Keep the pending authorization in the store before showing the code, so that a
    // `devauth login wait` in another process can pick it up.
    let profile = Profile {
        server: server.clone(),
        client_id: args.target.client_id.clone(),
        requested_scope: args.scope.clone(),
        endpoints,
        tokens: None,
        pending: Some(pending.to_saved(pending.interval)),
    };
    save_pending(&store, &name, profile)?;

    show_code(&pending, args.json)?;
    let outcome = wait_for_approval(&client, &store, &name, &pending).await;
    finish(&client, &store, &name, outcome, args.json).await
}

/// Stores `profile` with its pending authorization, keeping the tokens of an earlier login
/// until the new one succeeds.
fn save_pending(store: &FileStore, name: &str, mut profile: Profile) -> anyhow::Result<()> {
    store
        .update(|file| {
            if let Some(previous) = file.profiles.get(name) {
                let same_login = previous.server == profile.server
                    && previous.client_id == profile.client_id;
                if same_login {
                    profile.tokens = previous.tokens.clone();
                }
            }
            file.profiles.insert(name.to_owned(), profile);
        })
        .with_context(|| format!("cannot write the token store {}", store.path().display()))
}

/// Shows the code and links on stderr, and as a JSON line on stdout with `--json`.
fn show_code(pending: &PendingAuthorization, json: bool) -> anyhow::Result<()> {
    eprintln!(
        "Visit {} and enter code: {}",
        pending.verification_uri, pending.user_code
    );
    if let Some(complete) = &pending.verification_uri_complete {
        eprintln!("Or open this link, which has the code filled in: {complete}");
    }
    eprintln!(
        "Waiting for approval; the code expires in {}.",
        human_duration(pending.expires_in.as_secs())
    );
    if json {
        json_line(&json!({
            "user_code": pending.user_code,
            "verification_uri": pending.verification_uri,
            "verification_uri_complete": pending.verification_uri_complete,
            "expires_in": pending.expires_in.as_secs(),
            "interval": pending.interval.as_secs(),
        }))?;
    }
    Ok(())
}

/// Polls until the person decides, Ctrl-C is pressed or the code expires. Progress goes to
/// stderr, and every slow_down is saved so a later `login wait` keeps the longer interval.
async fn wait_for_approval(
    client: &DeviceClient,
    store: &FileStore,
    name: &str,
    pending: &PendingAuthorization,
) -> Result<devauth_client::TokenResponse, Error> {
    let cancellation = Cancellation::new();
    let on_ctrl_c = cancellation.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });

    let options = WaitOptions {
        cancellation: Some(cancellation),
        ..WaitOptions::default()
    };
    let outcome = client
        .wait_with(pending, options, |event| report_progress(store, name, pending, event))
        .await;
    ctrl_c.abort();
    outcome
}

/// Prints a progress event on stderr as a plain line.
fn report_progress(
    store: &FileStore,
    name: &str,
    pending: &PendingAuthorization,
    event: &PollEvent,
) {
    match event {
        PollEvent::SlowedDown { interval } => {
            eprintln!(
                "The server asked to slow down; polling every {} from now on.",
                human_duration(interval.as_secs())
            );
            let saved = pending.to_saved(*interval);
            let result = store.update(|file| {
                if let Some(profile) = file.profiles.get_mut(name) {
                    profile.pending = Some(saved);
                }
            });
            if let Err(error) = result {
                eprintln!("devauth: warning: cannot save the new polling interval: {error}");
            }
        }
        PollEvent::Retrying { after, reason } => {
            let cause = match reason {
                RetryReason::Transport(message) => message.clone(),
                RetryReason::Status(status) => format!("HTTP {status}"),
            };
            eprintln!(
                "Polling failed ({cause}); retrying in {}.",
                human_duration(after.as_secs().max(1))
            );
        }
        _ => {}
    }
}

/// Stores the tokens or reports the failure, and returns the exit code.
async fn finish(
    client: &DeviceClient,
    store: &FileStore,
    name: &str,
    outcome: Result<devauth_client::TokenResponse, Error>,
    json: bool,
) -> anyhow::Result<u8> {
    let tokens = match outcome {
        Ok(tokens) => tokens,
        Err(error) => return report_failure(store, name, error, json),
    };

    let stored = StoredTokens::from_response(&tokens, client.clock().system_now(), None);
    let scope = stored.scope.clone();
    store
        .update(|file| {
            if let Some(profile) = file.profiles.get_mut(name) {
                profile.tokens = Some(stored);
                profile.pending = None;
            }
        })
        .with_context(|| format!("cannot write the token store {}", store.path().display()))?;

    let user = match client.userinfo(&tokens.access_token).await {
        Ok(info) => info.username.or(info.sub),
        Err(_) => None,
    };
    match &user {
        Some(user) => eprintln!("Logged in as {user}."),
        None => eprintln!("Logged in."),
    }
    if json {
        json_line(&json!({
            "status": "authorized",
            "scope": scope,
            "expires_in": tokens.expires_in,
        }))?;
    }
    Ok(exit_code::SUCCESS)
}

/// Reports a failed wait on stderr (and stdout with `--json`) and returns its exit code.
fn report_failure(store: &FileStore, name: &str, error: Error, json: bool) -> anyhow::Result<u8> {
    let (status, code) = match &error {
        Error::AccessDenied => ("denied", exit_code::DENIED),
        Error::ExpiredToken => ("expired", exit_code::EXPIRED),
        Error::Cancelled => ("cancelled", exit_code::INTERRUPTED),
        _ => ("error", exit_code::FAILURE),
    };

    // A decided or expired authorization cannot be resumed; a cancelled one can, with
    // `devauth login wait`.
    if !matches!(error, Error::Cancelled) {
        let cleared = store.update(|file| {
            if let Some(profile) = file.profiles.get_mut(name) {
                profile.pending = None;
            }
        });
        if let Err(clear_error) = cleared {
            eprintln!("devauth: warning: cannot clear the pending login: {clear_error}");
        }
    }

    match &error {
        Error::AccessDenied => eprintln!("devauth: the login was denied."),
        Error::ExpiredToken => {
            eprintln!("devauth: the code expired before it was approved; run `devauth login` again.")
        }
        Error::Cancelled => eprintln!("devauth: login cancelled."),
        other => eprintln!("devauth: error: {other}"),
    }
    if json {
        let mut line = json!({ "status": status });
        if status == "error" {
            line["error"] = json!(error.code().map(|code| code.to_string()));
            line["message"] = json!(error.to_string());
        }
        json_line(&line)?;
    }
    Ok(code)
}
