//! Device login in a dozen lines.
//!
//! Run it against a local devauthd with
//! `cargo run -p devauth-client --example device_login -- http://127.0.0.1:8080 devauth`.

use devauth_client::DeviceClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let issuer = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let client_id = args.next().unwrap_or_else(|| "devauth".into());

    let client = DeviceClient::discover(&issuer, client_id).await?;
    let pending = client.start("profile offline_access").await?;
    eprintln!(
        "Visit {} and enter code: {}",
        pending.verification_uri, pending.user_code
    );
    let tokens = client.wait(&pending).await?;
    eprintln!(
        "Logged in; the access token has {} characters.",
        tokens.access_token.expose().len()
    );
    Ok(())
}
