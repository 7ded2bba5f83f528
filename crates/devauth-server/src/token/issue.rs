//! Minting access and refresh tokens.

use devauth_protocol::{Scope, TokenResponse};

use crate::client_auth::AuthenticatedClient;
use crate::crypto::{self, ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX};
use crate::device_authorization::{override_or, secs_to_ms};
use crate::store::{NewToken, TokenKind};
use crate::App;

/// The scope that makes the server issue a refresh token.
pub(super) const OFFLINE_ACCESS: &str = "offline_access";

/// Tokens ready to store, and the response that hands them out once.
pub(super) struct Issued {
    pub(super) records: Vec<NewToken>,
    pub(super) response: TokenResponse,
}

/// What the new tokens are for.
pub(super) struct Grant<'a> {
    pub(super) user_id: &'a str,
    pub(super) family_id: &'a str,
    pub(super) access_scope: &'a Scope,
    /// The refresh token's scope, or `None` for no refresh token.
    pub(super) refresh_scope: Option<&'a Scope>,
}

/// Draws new tokens for an authenticated client. Only digests go into the records.
pub(super) fn issue(
    app: &App,
    client: &AuthenticatedClient,
    grant: &Grant<'_>,
    now: i64,
) -> Issued {
    let record = client.record();
    let access_lifetime = override_or(
        record.access_token_lifetime_secs,
        app.config.access_token_lifetime_secs,
    );
    let refresh_lifetime = override_or(
        record.refresh_token_lifetime_secs,
        app.config.refresh_token_lifetime_secs,
    );

    let new_record = |kind, secret: &str, scope: &Scope, lifetime| NewToken {
        id: crypto::random_id(),
        token_hash: crypto::digest(secret),
        kind,
        client_id: client.id().to_owned(),
        user_id: grant.user_id.to_owned(),
        scope: scope.to_string(),
        family_id: grant.family_id.to_owned(),
        created_at: now,
        expires_at: now.saturating_add(secs_to_ms(lifetime)),
    };

    let access_token = crypto::random_secret(ACCESS_TOKEN_PREFIX);
    let mut records = vec![new_record(
        TokenKind::Access,
        access_token.expose(),
        grant.access_scope,
        access_lifetime,
    )];
    let refresh_token = grant.refresh_scope.map(|scope| {
        let token = crypto::random_secret(REFRESH_TOKEN_PREFIX);
        records.push(new_record(
            TokenKind::Refresh,
            token.expose(),
            scope,
            refresh_lifetime,
        ));
        token
    });

    Issued {
        records,
        response: TokenResponse {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: Some(access_lifetime),
            refresh_token,
            scope: Some(grant.access_scope.to_string()),
        },
    }
}
