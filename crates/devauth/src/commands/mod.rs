//! One module per subcommand.

pub(crate) mod exec;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod status;
pub(crate) mod token;
