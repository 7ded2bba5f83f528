//! Resolves the command line into the token store, the profile name and a configured client.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use devauth_client::{DeviceClient, FileStore, KeyringVault, Profile, SecretVault};

use crate::cli::{StoreChoice, Target};

/// The environment variable that overrides the folder of the token store.
pub(crate) const HOME_VARIABLE: &str = "DEVAUTH_HOME";

/// How long the OS keyring may take to respond to one request before `auto` falls back to the file
/// and `keyring` fails.
const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens the token store in `$DEVAUTH_HOME`, else in the platform's configuration folder
/// (`~/.config/devauth` on Linux), with the backend that `target.store` selects.
pub(crate) fn open_store(target: &Target) -> anyhow::Result<FileStore> {
    let dir = match std::env::var_os(HOME_VARIABLE).filter(|value| !value.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => dirs::config_dir()
            .ok_or_else(|| anyhow!("cannot find the configuration folder; set {HOME_VARIABLE}"))?
            .join("devauth"),
    };
    let store = FileStore::new(dir);

    match target.store {
        StoreChoice::File => Ok(store),
        StoreChoice::Keyring => {
            let vault = probe_keyring(&store).map_err(|reason| {
                anyhow!("--store keyring: {reason}; use --store file to keep the tokens in a file")
            })?;
            Ok(store.with_vault(vault))
        }
        StoreChoice::Auto => match probe_keyring(&store) {
            Ok(vault) => Ok(store.with_vault(vault)),
            Err(reason) => {
                eprintln!(
                    "devauth: warning: {reason}, so tokens are kept in the file {} (mode 0600, \
                     readable by any program running as you). Pass --store file or set \
                     DEVAUTH_STORE=file to choose the file and drop this warning.",
                    store.path().display()
                );
                Ok(store)
            }
        },
    }
}

/// Returns the OS keyring when it responds within [`KEYRING_TIMEOUT`], else why not.
fn probe_keyring(store: &FileStore) -> Result<Arc<dyn SecretVault>, String> {
    let vault = KeyringVault::probe(&store.scope(), KEYRING_TIMEOUT)?;
    Ok(Arc::new(vault))
}

/// Returns the server URL without a trailing slash, so `http://host/` and `http://host` name
/// the same login.
pub(crate) fn normalize_server(server: &str) -> String {
    server.trim().trim_end_matches('/').to_owned()
}

/// Returns the profile name: `--profile` when given, else `CLIENT_ID@SERVER`.
pub(crate) fn profile_name(target: &Target) -> String {
    match &target.profile {
        Some(name) => name.clone(),
        None => format!("{}@{}", target.client_id, normalize_server(&target.server)),
    }
}

/// Loads the stored login that `target` names.
pub(crate) fn load_profile(
    store: &FileStore,
    target: &Target,
) -> anyhow::Result<Option<(String, Profile)>> {
    let name = profile_name(target);
    let profile = store
        .profile(&name)
        .with_context(|| format!("cannot read the token store {}", store.path().display()))?;
    Ok(profile.map(|profile| (name, profile)))
}

/// Returns the message for a login that does not exist.
pub(crate) fn not_logged_in(target: &Target) -> anyhow::Error {
    match &target.profile {
        Some(name) => {
            anyhow!("not logged in with profile {name:?}; run `devauth login --profile {name}`")
        }
        None => anyhow!(
            "not logged in to {} as client {:?}; run `devauth login`",
            normalize_server(&target.server),
            target.client_id
        ),
    }
}

/// Builds a client for a stored profile, from its saved endpoints.
pub(crate) fn client_for(profile: &Profile) -> anyhow::Result<DeviceClient> {
    Ok(DeviceClient::builder(profile.endpoints.clone(), profile.client_id.clone()).build()?)
}
