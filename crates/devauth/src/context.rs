//! Resolves the command line into the token store, the profile name and a configured client.

use std::path::PathBuf;

use anyhow::{anyhow, Context as _};
use devauth_client::{DeviceClient, FileStore, Profile};

use crate::cli::Target;

/// The environment variable that overrides the folder of the token store.
pub(crate) const HOME_VARIABLE: &str = "DEVAUTH_HOME";

/// Opens the token store in `$DEVAUTH_HOME`, else in the platform's configuration folder
/// (`~/.config/devauth` on Linux).
pub(crate) fn open_store() -> anyhow::Result<FileStore> {
    let dir = match std::env::var_os(HOME_VARIABLE).filter(|value| !value.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => dirs::config_dir()
            .ok_or_else(|| anyhow!("cannot find the configuration folder; set {HOME_VARIABLE}"))?
            .join("devauth"),
    };
    Ok(FileStore::new(dir))
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
