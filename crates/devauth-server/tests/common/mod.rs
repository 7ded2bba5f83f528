//! A real devauth server on a loopback port, with a fresh database and a manual clock, plus
//! helpers that drive it over HTTP the way devices and browsers do.

#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod database;

use std::net::SocketAddr;
use std::sync::Arc;

use devauth_server::admin::{self, NewClient};
use devauth_server::{App, Config, ConfigLayer, ManualClock};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::oneshot;

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestServer {
    pub base: String,
    pub clock: ManualClock,
    pub app: App,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    _database: database::TestDatabase,
}

/// One HTTP answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text))
    }

    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

pub async fn read(response: reqwest::Response) -> Answer {
    try_read(response).await.expect("read body")
}

/// Reads a whole answer; fails when the connection drops mid-body.
pub async fn try_read(response: reqwest::Response) -> Result<Answer, reqwest::Error> {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await?;
    Ok(Answer {
        status,
        headers,
        text,
    })
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(ConfigLayer::default()).await
    }

    pub async fn start_with(layer: ConfigLayer) -> Self {
        Self::start_via(layer, |url| url.to_owned()).await
    }

    /// Starts a server whose database URL is the test database's, passed through `rewrite`
    /// (to route it through a proxy, say).
    pub async fn start_via(layer: ConfigLayer, rewrite: impl FnOnce(&str) -> String) -> Self {
        let database = database::TestDatabase::create().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr: SocketAddr = listener.local_addr().expect("local addr");
        let layer = ConfigLayer {
            listen: Some(addr),
            database_url: Some(rewrite(&database.url)),
            ..ConfigLayer::default()
        }
        .overridden_by(layer);
        let config = Config::resolve(layer).expect("config");
        let store = devauth_server::store::connect(&config.database_url)
            .await
            .expect("open store");
        admin::ensure_default_client(store.as_ref())
            .await
            .expect("default client");

        let clock = ManualClock::new();
        let app = App::new(store, config).with_clock(Arc::new(clock.clone()));
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(devauth_server::serve(listener, app.clone(), async move {
            let _ = stopped.await;
        }));
        Self {
            base: format!("http://{addr}"),
            clock,
            app,
            http: reqwest::Client::new(),
            shutdown: Some(shutdown),
            _database: database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn add_user(&self, name: &str) {
        admin::add_user(self.app.store.as_ref(), name, PASSWORD)
            .await
            .expect("add user");
    }

    /// Registers a client; returns its secret when confidential.
    pub async fn add_client(
        &self,
        client_id: &str,
        scope: &str,
        confidential: bool,
    ) -> Option<String> {
        self.add_client_with(NewClient {
            client_id: client_id.into(),
            name: format!("Client {client_id}"),
            scope: scope.into(),
            confidential,
            ..NewClient::default()
        })
        .await
    }

    pub async fn add_client_with(&self, client: NewClient) -> Option<String> {
        admin::add_client(self.app.store.as_ref(), client)
            .await
            .expect("add client")
            .map(|secret| secret.expose().to_owned())
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        read(
            self.http
                .post(self.url(path))
                .form(form)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// Starts a device authorization; panics unless it succeeds.
    pub async fn authorize(&self, client_id: &str, scope: Option<&str>) -> Value {
        let mut form = vec![("client_id", client_id)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        let answer = self.post_form("/oauth/device/code", &form).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.json()
    }

    pub async fn poll(&self, client_id: &str, device_code: &str) -> Answer {
        self.post_form(
            "/oauth/device/token",
            &[
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", device_code),
                ("client_id", client_id),
            ],
        )
        .await
    }

    pub async fn refresh(
        &self,
        client_id: &str,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> Answer {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.post_form("/oauth/device/token", &form).await
    }

    pub async fn userinfo(&self, access_token: &str) -> Answer {
        read(
            self.http
                .get(self.url("/oauth/userinfo"))
                .bearer_auth(access_token)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// A browser with its own cookie jar, signed in as `username`.
    pub async fn signed_in_browser(&self, username: &str) -> Browser {
        self.signed_in_browser_at(username, "127.0.0.1").await
    }

    /// A browser signed in as `username`, connecting from the loopback `address`.
    pub async fn signed_in_browser_at(&self, username: &str, address: &str) -> Browser {
        let browser = Browser::from_address(self, address);
        let answer = browser.sign_in(username, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::OK, "sign-in: {}", answer.text);
        assert!(answer.text.contains("Enter the code"), "{}", answer.text);
        browser
    }

    /// Signs in and approves `user_code` with the given scopes (all requested when `None`).
    pub async fn approve(
        &self,
        username: &str,
        user_code: &str,
        scopes: Option<&[&str]>,
    ) -> Answer {
        let browser = self.signed_in_browser(username).await;
        browser.decide(user_code, "approve", scopes).await
    }

    pub async fn deny(&self, username: &str, user_code: &str) -> Answer {
        let browser = self.signed_in_browser(username).await;
        browser.decide(user_code, "deny", None).await
    }

    /// Runs a whole flow for `client_id` and returns the token response.
    pub async fn tokens(&self, client_id: &str, scope: Option<&str>, username: &str) -> Value {
        let grant = self.authorize(client_id, scope).await;
        let answer = self
            .approve(username, grant["user_code"].as_str().unwrap(), None)
            .await;
        assert!(answer.text.contains("Device approved"), "{}", answer.text);
        let answer = self
            .poll(client_id, grant["device_code"].as_str().unwrap())
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.json()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// An HTTP client with a cookie jar, posting forms the way a browser does.
pub struct Browser {
    pub http: reqwest::Client,
    base: String,
    origin: Option<String>,
}

impl Browser {
    pub fn new(server: &TestServer) -> Self {
        Self::from_address(server, "127.0.0.1")
    }

    /// A browser whose connections come from `address`, another loopback address, so that
    /// per-address limits can be told apart.
    pub fn from_address(server: &TestServer, address: &str) -> Self {
        Self::at(&server.base, address)
    }

    /// A browser for the server at `base`, connecting from the loopback `address`.
    pub fn at(base: &str, address: &str) -> Self {
        let local: std::net::IpAddr = address.parse().expect("loopback address");
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .local_address(local)
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .expect("client"),
            base: base.to_owned(),
            origin: Some(base.to_owned()),
        }
    }

    /// Signs in as `username`; returns the answer to the sign-in POST.
    pub async fn sign_in(&self, username: &str, password: &str) -> Answer {
        let page = self.get("/device").await;
        let csrf = csrf(&page.text);
        self.post(
            "/device/sign-in",
            &[
                ("csrf_token", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// The same browser (sharing its cookies) sending another `Origin`, or none.
    pub fn with_other_origin(&self, origin: Option<&str>) -> Browser {
        Browser {
            http: self.http.clone(),
            base: self.base.clone(),
            origin: origin.map(str::to_owned),
        }
    }

    /// Sends no `Origin` header, or a foreign one.
    pub fn with_origin(mut self, origin: Option<&str>) -> Self {
        self.origin = origin.map(str::to_owned);
        self
    }

    pub async fn get(&self, path_and_query: &str) -> Answer {
        read(
            self.http
                .get(format!("{}{path_and_query}", self.base))
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        let mut request = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(origin) = &self.origin {
            request = request.header("Origin", origin);
        }
        read(request.send().await.expect("send")).await
    }

    /// Enters `typed` on the code form and returns the answer.
    pub async fn enter_code(&self, typed: &str) -> Answer {
        let page = self.get("/device").await;
        self.post(
            "/device",
            &[("csrf_token", &csrf(&page.text)), ("user_code", typed)],
        )
        .await
    }

    /// Opens the confirm screen for `user_code` and submits a decision with the given scopes.
    pub async fn decide(&self, user_code: &str, decision: &str, scopes: Option<&[&str]>) -> Answer {
        let confirm = self.enter_code(user_code).await;
        assert!(
            confirm.text.contains("Approve this device?"),
            "{}",
            confirm.text
        );
        let csrf = csrf(&confirm.text);
        let ticked: Vec<String> = match scopes {
            Some(scopes) => scopes.iter().map(|s| (*s).to_owned()).collect(),
            None => checkbox_values(&confirm.text),
        };
        let mut form = vec![
            ("csrf_token", csrf.as_str()),
            ("user_code", user_code),
            ("decision", decision),
        ];
        for scope in &ticked {
            form.push(("scope", scope));
        }
        self.post("/device/decision", &form).await
    }
}

/// Extracts the CSRF token from a page.
pub fn csrf(html: &str) -> String {
    attribute_after(html, "name=\"csrf_token\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF token in {html}"))
}

fn attribute_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// Values of the scope checkboxes on a confirm screen.
pub fn checkbox_values(html: &str) -> Vec<String> {
    html.split("name=\"scope\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next().map(str::to_owned))
        .collect()
}

/// Prints a test's report and keeps it under `artifacts/reports/NAME.txt` at the repository
/// root, where CI prints it after the run.
pub fn report(name: &str, text: &str) {
    eprintln!("{text}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let folder = root.join("artifacts/reports");
    if std::fs::create_dir_all(&folder).is_ok() {
        let _ = std::fs::write(folder.join(format!("{name}.txt")), format!("{text}\n"));
    }
}
