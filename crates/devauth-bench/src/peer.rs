//! The peer: panva's oidc-provider (the npm package, version pinned in `peer/package.json`)
//! with the device flow enabled, started as `node server.js PORT` from its folder.

use std::path::Path;

use anyhow::Context as _;
use tokio::process::Command;

use crate::process::{self, ServerProcess};

/// Returns why the peer cannot run, or `None` when it can: `node` must be on the `PATH` and
/// the package installed in `dir` (`npm ci` there).
pub(crate) fn unavailable_reason(dir: &Path) -> Option<String> {
    if !dir.join("server.js").is_file() {
        return Some(format!("{} has no server.js", dir.display()));
    }
    if !dir
        .join("node_modules/oidc-provider/package.json")
        .is_file()
    {
        return Some(format!(
            "oidc-provider is not installed; run `npm ci` in {}",
            dir.display()
        ));
    }
    let node = std::process::Command::new("node").arg("--version").output();
    match node {
        Ok(output) if output.status.success() => None,
        _ => Some("node is not on the PATH".to_owned()),
    }
}

/// Returns the installed oidc-provider version, read from its package.json.
pub(crate) fn version(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("node_modules/oidc-provider/package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("version")?.as_str().map(str::to_owned)
}

/// Starts the peer on a free loopback port, with its output in `log_dir/oidc-provider.log`.
pub(crate) async fn start(dir: &Path, log_dir: &Path) -> anyhow::Result<ServerProcess> {
    let addr = process::free_loopback_addr()?;
    let mut command = Command::new("node");
    command
        .arg("server.js")
        .arg(addr.port().to_string())
        .current_dir(dir);
    ServerProcess::start(
        "oidc-provider",
        command,
        addr,
        &log_dir.join("oidc-provider.log"),
        "/.well-known/openid-configuration",
    )
    .await
    .context("starting the oidc-provider peer failed")
}
