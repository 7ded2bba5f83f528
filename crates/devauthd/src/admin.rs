//! The `user` and `client` commands.

use std::io::{BufRead, IsTerminal};

use devauth_server::admin::{self, NewClient};
use devauth_server::Config;

use devauth_server::{Clock, SystemClock};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::cli::{AuditArgs, ClientCommand, UserCommand};

pub(crate) async fn user(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let store = devauth_server::store::connect(&config.database_url).await?;
    match command {
        UserCommand::Add { name } => {
            let password = read_password()?;
            let user = admin::add_user(store.as_ref(), &name, &password).await?;
            eprintln!("added user {} (id {})", user.username, user.id);
        }
        UserCommand::List => {
            for user in store.users().await? {
                let state = if user.disabled { "disabled" } else { "active" };
                println!("{}\t{}\t{state}", user.username, user.id);
            }
        }
        UserCommand::Disable { name } => {
            admin::disable_user(store.as_ref(), &name).await?;
            eprintln!("disabled user {name}");
        }
    }
    Ok(())
}

pub(crate) async fn client(config: &Config, command: ClientCommand) -> anyhow::Result<()> {
    let store = devauth_server::store::connect(&config.database_url).await?;
    match command {
        ClientCommand::Add(args) => {
            let client_id = args.client_id.clone();
            let secret = admin::add_client(
                store.as_ref(),
                NewClient {
                    client_id: args.client_id,
                    name: args.name,
                    scope: args.scope,
                    confidential: args.confidential,
                    device_code_lifetime_secs: args.device_code_lifetime,
                    interval_secs: args.interval,
                    access_token_lifetime_secs: args.access_token_lifetime,
                    refresh_token_lifetime_secs: args.refresh_token_lifetime,
                },
            )
            .await?;
            eprintln!("added client {client_id}");
            if let Some(secret) = secret {
                eprintln!("client secret (shown once; store it now):");
                println!("{}", secret.expose());
            }
        }
        ClientCommand::List => {
            for client in store.clients().await? {
                let kind = if client.secret_hash.is_some() {
                    "confidential"
                } else {
                    "public"
                };
                println!(
                    "{}\t{}\t{kind}\t{}",
                    client.client_id, client.name, client.allowed_scope
                );
            }
        }
        ClientCommand::Remove { client_id } => {
            admin::remove_client(store.as_ref(), &client_id).await?;
            eprintln!("removed client {client_id}");
        }
    }
    Ok(())
}

pub(crate) async fn audit(config: &Config, args: AuditArgs) -> anyhow::Result<()> {
    let since = parse_since(&args.since, SystemClock.now_ms())?;
    if args.limit < 1 {
        anyhow::bail!("invalid --limit {}: expected a positive number", args.limit);
    }
    let store = devauth_server::store::connect(&config.database_url).await?;
    for event in store.audit_events(since, args.limit).await? {
        let at = format_time(event.at);
        if args.json {
            let line = serde_json::json!({
                "at": at,
                "event": event.event,
                "client_id": event.client_id,
                "user_id": event.user_id,
                "address": event.address,
                "detail": event.detail,
            });
            println!("{line}");
        } else {
            let field = |name: &str, value: &Option<String>| {
                value
                    .as_deref()
                    .map(|value| format!(" {name}={value}"))
                    .unwrap_or_default()
            };
            println!(
                "{at} {}{}{}{}{}",
                event.event,
                field("client", &event.client_id),
                field("user", &event.user_id),
                field("address", &event.address),
                field("detail", &event.detail),
            );
        }
    }
    Ok(())
}

/// Parses `--since`: a duration back from `now` (90s, 30m, 2h, 7d) or an RFC 3339 time.
/// Returns milliseconds since the Unix epoch.
fn parse_since(value: &str, now: i64) -> anyhow::Result<i64> {
    if let Ok(time) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(i64::try_from(time.unix_timestamp_nanos() / 1_000_000)?);
    }
    let invalid = || {
        anyhow::anyhow!("invalid --since {value:?}: expected 90s, 30m, 2h, 7d or an RFC 3339 time")
    };
    let split = value.len().checked_sub(1).ok_or_else(invalid)?;
    let (number, unit) = value.split_at(split);
    let number: i64 = number.parse().map_err(|_| invalid())?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(invalid()),
    };
    Ok(now.saturating_sub(number.saturating_mul(unit_ms)))
}

fn format_time(millis: i64) -> String {
    OffsetDateTime::from_unix_timestamp(millis / 1000)
        .ok()
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_else(|| millis.to_string())
}

/// Reads a new password: one line from standard input when it is not a terminal, else two
/// matching prompts.
fn read_password() -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            anyhow::bail!("no password on standard input");
        }
        return Ok(password);
    }
    let first = rpassword::prompt_password("Password: ")?;
    let second = rpassword::prompt_password("Repeat password: ")?;
    if first != second {
        anyhow::bail!("the passwords do not match");
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_accepts_durations_and_rfc3339() {
        assert_eq!(parse_since("90s", 100_000).unwrap(), 10_000);
        assert_eq!(
            parse_since("2h", 10_000_000).unwrap(),
            10_000_000 - 7_200_000
        );
        assert_eq!(parse_since("1970-01-01T00:00:10Z", 0).unwrap(), 10_000);
        for bad in ["", "h", "10", "10y", "-", "yesterday"] {
            assert!(parse_since(bad, 0).is_err(), "{bad:?}");
        }
    }
}
