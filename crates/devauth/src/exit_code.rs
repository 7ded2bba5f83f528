//! The CLI's exit codes, documented in `--help` and in the crate README.

/// The command succeeded.
pub(crate) const SUCCESS: u8 = 0;
/// Any failure without a code of its own: network, server or storage errors, not logged in.
pub(crate) const FAILURE: u8 = 1;
/// The command line is invalid (clap's own code).
pub(crate) const USAGE: u8 = 2;
/// The person denied the authorization request.
pub(crate) const DENIED: u8 = 3;
/// The device code expired before the person approved it.
pub(crate) const EXPIRED: u8 = 4;
/// `login wait --timeout` ended while the request was still pending.
pub(crate) const PENDING: u8 = 5;
/// Ctrl-C interrupted the command (128 + SIGINT, as shells report it).
pub(crate) const INTERRUPTED: u8 = 130;

/// The exit codes as shown at the end of `devauth --help`.
pub(crate) const HELP: &str = "\
Exit codes:
  0    success
  1    other failure (network, server, storage, not logged in)
  2    usage error
  3    access denied by the person
  4    device code expired before approval
  5    still pending when `login wait --timeout` ended
  130  interrupted by Ctrl-C";
