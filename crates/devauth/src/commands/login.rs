//! `devauth login`, `devauth login start` and `devauth login wait`: the device authorization
//! request, the code on stderr, polling, and the tokens into the store.
//!
//! The pending authorization is saved in the store before the code is shown, so a `login wait`
//! in another process (or after this one was killed) resumes polling the same device code.

use std::time::Duration;

use anyhow::{anyhow, Context as _};
use devauth_client::{
    default_transport, Cancellation, DeviceClient, Endpoints, Error, FileStore,
    PendingAuthorization, PollEvent, Profile, RetryReason, SecretLocation, StorageError,
    StoredTokens, TokenResponse, WaitOptions,
};
use serde_json::json;

use crate::cli::{LoginArgs, LoginStep, StartArgs, StoreChoice, Target, WaitArgs};
use crate::context::{client_for, load_profile, normalize_server, open_store, profile_name};
use crate::exit_code;
use crate::output::{human_duration, json_line};
use crate::terminal::{self, browser, Progress, Stderr};

/// Runs `devauth login` or one of its steps and returns the exit code.
pub(crate) async fn run(args: LoginArgs) -> anyhow::Result<u8> {
    match args.step {
        None => {
            let json = args.start.json;
            let started = start(&args.start).await?;
            let _wait_lock = lock_waiting(&started.store, &started.name)?;
            let outcome = wait_for_approval(&started, None).await;
            finish(&started, outcome, json).await
        }
        Some(LoginStep::Start(start_args)) => {
            start(&start_args).await?;
            Ok(exit_code::SUCCESS)
        }
        Some(LoginStep::Wait(wait_args)) => wait(wait_args).await,
    }
}

/// A login whose code is shown and whose approval is awaited.
struct Started {
    store: FileStore,
    name: String,
    client: DeviceClient,
    pending: PendingAuthorization,
    stderr: Stderr,
    /// The token file without the keyring, when `--store auto` chose the keyring: the tokens go
    /// there when the keyring rejects them.
    fallback: Option<FileStore>,
}

/// Discovers the endpoints, requests a device code, saves the pending authorization and shows
/// the code.
async fn start(args: &StartArgs) -> anyhow::Result<Started> {
    let store = open_store(&args.target)?;
    let server = normalize_server(&args.target.server);
    let name = profile_name(&args.target);

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

    let profile = Profile {
        server: server.clone(),
        client_id: args.target.client_id.clone(),
        requested_scope: args.scope.clone(),
        endpoints,
        tokens: None,
        pending: Some(pending.to_saved(pending.interval)),
        user: None,
        secrets: SecretLocation::File,
    };
    save_pending(&store, &name, profile)?;

    let stderr = Stderr::detect();
    show_code(stderr, &pending, args.json)?;
    if args.copy {
        copy_code(stderr, &pending.user_code);
    }
    if args.open {
        let issuer = client.endpoints().issuer.clone().unwrap_or_default();
        open_browser(&pending, &[&server, &issuer]);
    }
    let fallback = file_fallback(&store, &args.target);
    Ok(Started {
        store,
        name,
        client,
        pending,
        stderr,
        fallback,
    })
}

/// Returns the token file without the keyring when `--store auto` chose the keyring.
fn file_fallback(store: &FileStore, target: &Target) -> Option<FileStore> {
    let keyring_chosen = target.store == StoreChoice::Auto && store.vault_name().is_some();
    keyring_chosen.then(|| FileStore::new(store.dir()))
}

/// Puts the user code on the clipboard, or prints why it cannot.
fn copy_code(stderr: Stderr, user_code: &str) {
    if terminal::copy_to_clipboard(stderr, user_code) {
        eprintln!("Copied the code to the clipboard.");
    } else {
        eprintln!(
            "devauth: warning: --copy needs a terminal on stderr (it sends the OSC 52 sequence); \
             enter the code {user_code} yourself."
        );
    }
}

/// Opens the verification page (with the code filled in when the server offers it) after
/// checking that it is on the server's own origin.
fn open_browser(pending: &PendingAuthorization, server_urls: &[&str]) {
    let url = pending
        .verification_uri_complete
        .as_deref()
        .unwrap_or(&pending.verification_uri);
    let checked = match browser::check_origin(url, server_urls) {
        Ok(checked) => checked,
        Err(reason) => {
            eprintln!("devauth: not opening {url} in the browser: {reason}. Open it yourself only if you trust it.");
            return;
        }
    };
    match browser::open(&checked) {
        Ok(()) => eprintln!("Opened {url} in the browser."),
        Err(reason) => {
            eprintln!("devauth: warning: cannot open the browser ({reason}); open {url} yourself.")
        }
    }
}

/// Resumes the pending login of the profile that `args` names.
async fn wait(args: WaitArgs) -> anyhow::Result<u8> {
    let store = open_store(&args.target)?;
    let (name, profile) = load_profile(&store, &args.target)?.ok_or_else(no_pending_login)?;
    let saved = profile.pending.clone().ok_or_else(no_pending_login)?;
    let _wait_lock = lock_waiting(&store, &name)?;

    let client = client_for(&profile)?;
    let pending = client.resume(&saved);
    let stderr = Stderr::detect();
    eprintln!(
        "Waiting for approval of code {} at {}; it expires in {}.",
        pending.user_code,
        stderr.link(&pending.verification_uri),
        human_duration(pending.expires_in.as_secs())
    );
    let fallback = file_fallback(&store, &args.target);
    let started = Started {
        store,
        name,
        client,
        pending,
        stderr,
        fallback,
    };
    let outcome = wait_for_approval(&started, args.timeout.map(Duration::from_secs)).await;
    finish(&started, outcome, args.json).await
}

fn no_pending_login() -> anyhow::Error {
    anyhow!("no login is pending; run `devauth login start` first")
}

/// Takes the lock that keeps two processes from polling the same device code, which would
/// draw `slow_down` errors.
fn lock_waiting(
    store: &FileStore,
    name: &str,
) -> anyhow::Result<devauth_client::storage::ProfileLock> {
    match store.lock_profile(&format!("{name} (waiting)"), Duration::ZERO) {
        Ok(lock) => Ok(lock),
        Err(StorageError::LockTimeout { .. }) => Err(anyhow!(
            "another devauth process is already waiting for this login"
        )),
        Err(error) => Err(error.into()),
    }
}

/// Stores `profile` with its pending authorization, keeping the tokens of an earlier login
/// to the same server and client until the new one succeeds.
fn save_pending(store: &FileStore, name: &str, mut profile: Profile) -> anyhow::Result<()> {
    store
        .update(|file| {
            if let Some(previous) = file.profiles.get(name) {
                let same_login =
                    previous.server == profile.server && previous.client_id == profile.client_id;
                if same_login {
                    profile.tokens = previous.tokens.clone();
                    profile.user = previous.user.clone();
                }
            }
            file.profiles.insert(name.to_owned(), profile);
        })
        .with_context(|| format!("cannot write the token store {}", store.path().display()))
}

/// Shows the code and links on stderr, and as a JSON line on stdout with `--json`.
fn show_code(stderr: Stderr, pending: &PendingAuthorization, json: bool) -> anyhow::Result<()> {
    terminal::show_code(stderr, pending);
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

/// Polls until the person decides, Ctrl-C is pressed, the code expires or `timeout` passes.
async fn wait_for_approval(
    started: &Started,
    timeout: Option<Duration>,
) -> Result<TokenResponse, Error> {
    let cancellation = Cancellation::new();
    let on_ctrl_c = cancellation.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });

    let options = WaitOptions {
        cancellation: Some(cancellation),
        timeout,
        ..WaitOptions::default()
    };
    let progress = Progress::start(started.stderr, started.pending.deadline);
    let outcome = started
        .client
        .wait_with(&started.pending, options, |event| {
            report_progress(started, &progress, event)
        })
        .await;
    drop(progress);
    ctrl_c.abort();
    outcome
}

/// Prints a progress event on stderr as a plain line, and saves every slow_down so a later
/// `login wait` keeps the longer interval.
fn report_progress(started: &Started, progress: &Progress, event: &PollEvent) {
    match event {
        PollEvent::SlowedDown { interval } => {
            progress.line(&format!(
                "The server requested slower polling; polling every {} from now on.",
                human_duration(interval.as_secs())
            ));
            let saved = started.pending.to_saved(*interval);
            let result = started.store.update(|file| {
                if let Some(profile) = file.profiles.get_mut(&started.name) {
                    profile.pending = Some(saved);
                }
            });
            if let Err(error) = result {
                progress.line(&format!(
                    "devauth: warning: cannot save the new polling interval: {error}"
                ));
            }
        }
        PollEvent::Retrying { after, reason } => {
            let cause = match reason {
                RetryReason::Transport(message) => message.clone(),
                RetryReason::Status(status) => format!("HTTP {status}"),
            };
            progress.line(&format!(
                "Polling failed ({cause}); retrying in {}.",
                human_duration(after.as_secs().max(1))
            ));
        }
        _ => {}
    }
}

/// Stores the tokens or reports the failure, and returns the exit code.
async fn finish(
    started: &Started,
    outcome: Result<TokenResponse, Error>,
    json: bool,
) -> anyhow::Result<u8> {
    let tokens = match outcome {
        Ok(tokens) => tokens,
        Err(error) => return report_failure(started, error, json),
    };

    // The name is only for display, so a failed userinfo request does not fail the login.
    let user = match started.client.userinfo(&tokens.access_token).await {
        Ok(info) => info.username.or(info.sub),
        Err(_) => None,
    };
    let stored = StoredTokens::from_response(&tokens, started.client.clock().system_now(), None);
    let scope = stored.scope.clone();

    // A keyring can allow reads yet reject writes (a locked collection). With `--store auto`
    // the new tokens then go to the file rather than being lost.
    let mut store = &started.store;
    let mut saved = save_tokens(store, &started.name, stored.clone(), user.clone());
    if let (Err(error @ StorageError::Keyring { .. }), Some(fallback)) = (&saved, &started.fallback)
    {
        eprintln!(
            "devauth: warning: {error}, so the tokens are kept in the file {} instead.",
            fallback.path().display()
        );
        store = fallback;
        saved = save_tokens(store, &started.name, stored, user.clone());
    }
    saved.with_context(|| format!("cannot write the token store {}", store.path().display()))?;

    match &user {
        Some(user) => eprintln!("Logged in as {user}."),
        None => eprintln!("Logged in."),
    }
    match store.vault_name() {
        Some(vault) => eprintln!("The tokens are stored in the {vault}."),
        None => eprintln!(
            "devauth: warning: the tokens are stored in plain text in {} (mode 0600).",
            store.path().display()
        ),
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

/// Stores the tokens and the user name of profile `name` and clears its pending login.
fn save_tokens(
    store: &FileStore,
    name: &str,
    tokens: StoredTokens,
    user: Option<String>,
) -> Result<(), StorageError> {
    store.update(|file| {
        if let Some(profile) = file.profiles.get_mut(name) {
            profile.tokens = Some(tokens);
            profile.pending = None;
            profile.user = user;
        }
    })
}

/// Reports a failed wait on stderr (and stdout with `--json`) and returns its exit code.
fn report_failure(started: &Started, error: Error, json: bool) -> anyhow::Result<u8> {
    let (status, code) = match &error {
        Error::AccessDenied => ("denied", exit_code::DENIED),
        Error::ExpiredToken => ("expired", exit_code::EXPIRED),
        Error::TimedOut(_) => ("pending", exit_code::PENDING),
        Error::Cancelled => ("cancelled", exit_code::INTERRUPTED),
        _ => ("error", exit_code::FAILURE),
    };

    // A denied, expired or rejected authorization cannot be resumed. One that timed out or was
    // cancelled can, with `devauth login wait`, and so can one whose polls failed on the network.
    let resumable = matches!(
        error,
        Error::TimedOut(_) | Error::Cancelled | Error::Transport { .. }
    );
    if !resumable {
        let cleared = started.store.update(|file| {
            if let Some(profile) = file.profiles.get_mut(&started.name) {
                profile.pending = None;
            }
        });
        if let Err(clear_error) = cleared {
            eprintln!("devauth: warning: cannot clear the pending login: {clear_error}");
        }
    }

    match &error {
        Error::AccessDenied => eprintln!("devauth: the login was denied."),
        Error::ExpiredToken => eprintln!(
            "devauth: the code expired before it was approved; run `devauth login` again."
        ),
        Error::TimedOut(after) => eprintln!(
            "devauth: still waiting for approval after {}; run `devauth login wait` to keep waiting.",
            human_duration(after.as_secs())
        ),
        Error::Cancelled => {
            eprintln!("devauth: login cancelled; run `devauth login wait` to resume it.")
        }
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
