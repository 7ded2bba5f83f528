//! The `user` and `client` commands.

use std::io::{BufRead, IsTerminal};

use devauth_server::admin::{self, NewClient};
use devauth_server::Config;

use crate::cli::{ClientCommand, UserCommand};

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
