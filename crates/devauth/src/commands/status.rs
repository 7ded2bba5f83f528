//! `devauth status`: which login is stored, the user it belongs to, and when its token expires.

use devauth_client::{Clock, Error, FileStore, Profile, SecretLocation, SystemClock};
use serde_json::{json, Value};

use crate::cli::StatusArgs;
use crate::context::{client_for, load_profile, not_logged_in, open_store};
use crate::exit_code;
use crate::output::{human_duration, json_line, mask_token};

/// The server's verdict on the access token, from `--verify`.
enum Verification {
    NotRequested,
    Accepted,
    Rejected(String),
}

/// Runs `devauth status` and returns the exit code: 0 when logged in (and, with `--verify`,
/// accepted by the server), 1 otherwise.
pub(crate) async fn run(args: StatusArgs) -> anyhow::Result<u8> {
    let store = open_store(&args.target)?;
    let Some((name, mut profile)) = load_profile(&store, &args.target)? else {
        if args.json {
            json_line(&json!({ "logged_in": false }))?;
        }
        return Err(not_logged_in(&args.target));
    };

    // Only `--verify` (or a login that has no user name yet) sends a request.
    let mut verification = Verification::NotRequested;
    if let Some(tokens) = &profile.tokens {
        if args.verify || profile.user.is_none() {
            let client = client_for(&profile)?;
            match client.userinfo(&tokens.access_token).await {
                Ok(info) => {
                    profile.user = info.username.or(info.sub).or(profile.user);
                    verification = Verification::Accepted;
                }
                Err(Error::MissingEndpoint(_)) if !args.verify => {}
                Err(error) => verification = Verification::Rejected(error.to_string()),
            }
        }
    }
    if !args.verify {
        if let Verification::Rejected(_) = verification {
            verification = Verification::NotRequested;
        }
    }

    let report = describe(&store, &name, &profile, &verification);
    if args.json {
        json_line(&report)?;
    } else {
        print_text(&report);
    }

    let logged_in = profile.tokens.is_some();
    let accepted = !matches!(verification, Verification::Rejected(_));
    Ok(if logged_in && accepted {
        exit_code::SUCCESS
    } else {
        exit_code::FAILURE
    })
}

/// Builds the status as JSON; the text output is printed from the same value. No token is in it.
fn describe(
    store: &FileStore,
    name: &str,
    profile: &Profile,
    verification: &Verification,
) -> Value {
    let now = SystemClock.system_now();
    let mut report = json!({
        "profile": name,
        "server": profile.server,
        "client_id": profile.client_id,
        "storage": storage(store, profile),
        "logged_in": profile.tokens.is_some(),
        "user": profile.user,
    });
    if let Some(tokens) = &profile.tokens {
        report["scope"] = json!(tokens.scope);
        report["expires_at"] = json!(tokens.expires_at);
        report["expires_in"] = json!(tokens.seconds_left(now));
        report["access_token"] = json!(mask_token(tokens.access_token.expose()));
        report["refresh_token"] = json!(tokens.refresh_token.is_some());
    }
    if let Some(pending) = &profile.pending {
        report["pending"] = json!({
            "user_code": pending.user_code,
            "verification_uri": pending.verification_uri,
            "expires_at": pending.expires_at,
        });
    }
    match verification {
        Verification::NotRequested => {}
        Verification::Accepted => report["verified"] = json!(true),
        Verification::Rejected(reason) => {
            report["verified"] = json!(false);
            report["verify_error"] = json!(reason);
        }
    }
    report
}

/// Describes where the login's tokens are: in the OS keyring (with the rest of the login in the
/// token file) or in the token file.
fn storage(store: &FileStore, profile: &Profile) -> Value {
    match (profile.secrets, store.vault_name()) {
        (SecretLocation::Keyring, Some(vault)) => json!({
            "backend": "keyring",
            "keyring": vault,
            "path": store.path(),
        }),
        _ => json!({ "backend": "file", "path": store.path() }),
    }
}

/// Prints the status for people, on stdout because it is the command's output.
fn print_text(report: &Value) {
    let text = |key: &str| report[key].as_str().unwrap_or("unknown").to_owned();
    println!("Profile: {}", text("profile"));
    println!("Server: {}", text("server"));
    println!("Client: {}", text("client_id"));
    let storage = &report["storage"];
    let path = storage["path"].as_str().unwrap_or_default();
    match storage["keyring"].as_str() {
        Some(keyring) => println!("Storage: keyring, tokens in the {keyring}, the rest in {path}"),
        None => println!("Storage: file {path}"),
    }
    if let Some(pending) = report.get("pending") {
        println!(
            "Login pending: enter code {} at {}",
            pending["user_code"].as_str().unwrap_or_default(),
            pending["verification_uri"].as_str().unwrap_or_default()
        );
    }
    if report["logged_in"] != json!(true) {
        println!("Not logged in.");
        return;
    }

    println!("User: {}", text("user"));
    println!(
        "Scopes: {}",
        report["scope"]
            .as_str()
            .unwrap_or("(not reported by the server)")
    );
    let expiry = match report["expires_in"].as_i64() {
        None => "no expiry reported".to_owned(),
        Some(left) if left > 0 => format!("expires in {}", human_duration(left as u64)),
        Some(left) => format!("expired {} ago", human_duration(left.unsigned_abs())),
    };
    println!("Access token: {} ({expiry})", text("access_token"));
    let refresh = if report["refresh_token"] == json!(true) {
        "stored"
    } else {
        "none"
    };
    println!("Refresh token: {refresh}");
    match report.get("verified") {
        Some(Value::Bool(true)) => println!("Verified: the server accepts the access token."),
        Some(_) => println!(
            "Verified: no, {}",
            report["verify_error"].as_str().unwrap_or("unknown error")
        ),
        None => {}
    }
}
