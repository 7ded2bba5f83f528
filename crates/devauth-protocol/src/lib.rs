//! Wire types of the OAuth 2.0 Device Authorization Grant (RFC 8628) and the RFCs around it:
//! token responses and errors (RFC 6749), revocation (RFC 7009), introspection (RFC 7662) and
//! authorization server metadata (RFC 8414).
//!
//! This crate does no I/O. The server and the client share it, so both sides agree on every
//! field name, error code, scope rule and user-code format.
//!
//! # Security
//!
//! [`UserCode`] is short by design and guessable in bulk; servers must rate-limit its entry.
//! Device codes, access tokens and refresh tokens never appear in these types' `Debug` output.

pub mod device_authorization;
pub mod error;
pub mod grant_type;
pub mod introspection;
pub mod metadata;
pub mod scope;
pub mod secret;
pub mod token;
pub mod user_code;

pub use device_authorization::DeviceAuthorizationResponse;
pub use error::{ErrorCode, ErrorResponse};
pub use grant_type::GrantType;
pub use introspection::IntrospectionResponse;
pub use metadata::AuthorizationServerMetadata;
pub use scope::{Scope, ScopeError};
pub use secret::Secret;
pub use token::TokenResponse;
pub use user_code::{UserCode, UserCodeError};
