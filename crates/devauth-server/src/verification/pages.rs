//! The verification page's HTML. Every value is escaped by `maud`; the pages need no
//! JavaScript and no inline styles, so the Content-Security-Policy can forbid both.

use maud::{html, Markup, DOCTYPE};

/// A message shown above a form.
pub(super) struct Notice<'a> {
    pub(super) text: &'a str,
    pub(super) is_error: bool,
}

/// The facts the confirm screen shows about a pending request.
pub(super) struct ConfirmView<'a> {
    pub(super) user_code: &'a str,
    pub(super) client_name: &'a str,
    pub(super) client_id: &'a str,
    pub(super) scopes: Vec<&'a str>,
    pub(super) requested_at: String,
    pub(super) request_ip: &'a str,
}

fn layout(title: &str, username: Option<&str>, csrf_token: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " – devauth" }
                link rel="stylesheet" href="/device/style.css";
            }
            body {
                @if let Some(username) = username {
                    div.account {
                        span { "Signed in as " strong { (username) } }
                        form method="post" action="/device/sign-out" {
                            input type="hidden" name="csrf_token" value=(csrf_token);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

fn notice(notice: Option<&Notice<'_>>) -> Markup {
    html! {
        @if let Some(notice) = notice {
            @if notice.is_error {
                p.message.error role="alert" { (notice.text) }
            } @else {
                p.message role="status" { (notice.text) }
            }
        }
    }
}

/// Renders the sign-in form. A prefilled user code is carried in a hidden field, so the person
/// lands on its confirm screen afterwards.
pub(super) fn sign_in(
    csrf_token: &str,
    user_code: Option<&str>,
    message: Option<&Notice<'_>>,
) -> Markup {
    layout(
        "Sign in to connect a device",
        None,
        csrf_token,
        html! {
            (notice(message))
            form method="post" action="/device/sign-in" {
                input type="hidden" name="csrf_token" value=(csrf_token);
                @if let Some(user_code) = user_code {
                    input type="hidden" name="user_code" value=(user_code);
                }
                label for="username" { "Username" }
                input #username type="text" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button.primary type="submit" { "Sign in" }
            }
        },
    )
}

/// Renders the code entry form.
pub(super) fn enter_code(
    csrf_token: &str,
    username: &str,
    typed: Option<&str>,
    message: Option<&Notice<'_>>,
) -> Markup {
    layout(
        "Connect a device",
        Some(username),
        csrf_token,
        html! {
            (notice(message))
            form method="post" action="/device" {
                input type="hidden" name="csrf_token" value=(csrf_token);
                label for="user_code" { "Enter the code shown on your device" }
                input.code #user_code type="text" name="user_code" value=[typed] placeholder="XXXX-XXXX" autocomplete="off" autocapitalize="characters" spellcheck="false" required autofocus aria-describedby="code-help";
                p #code-help { "The code has 8 letters. Dashes, spaces and letter case do not matter." }
                button.primary type="submit" { "Continue" }
            }
        },
    )
}

/// Renders the confirm screen: which client requests which scopes, with the phishing warning
/// of RFC 8628 section 5.4.
pub(super) fn confirm(
    csrf_token: &str,
    username: &str,
    view: &ConfirmView<'_>,
    message: Option<&Notice<'_>>,
) -> Markup {
    layout(
        "Approve this device?",
        Some(username),
        csrf_token,
        html! {
            (notice(message))
            p.code-display aria-label="Code" { (view.user_code) }
            p.warning role="note" {
                strong { "Only continue if you started this sign-in yourself" }
                " and the code above matches the one on your device. "
                "Never approve a code that someone sent you: they would get access to your account."
            }
            dl {
                dt { "Application" }
                dd { (view.client_name) " (" code { (view.client_id) } ")" }
                dt { "Requested" }
                dd { (view.requested_at) }
                dt { "From address" }
                dd { (view.request_ip) }
            }
            form method="post" action="/device/decision" {
                input type="hidden" name="csrf_token" value=(csrf_token);
                input type="hidden" name="user_code" value=(view.user_code);
                @if !view.scopes.is_empty() {
                    fieldset {
                        legend { "Permissions to grant (untick any you do not want to give)" }
                        @for (index, scope) in view.scopes.iter().enumerate() {
                            label for=(format!("scope-{index}")) {
                                input id=(format!("scope-{index}")) type="checkbox" name="scope" value=(scope) checked;
                                span { code { (scope) } " – " (scope_description(scope)) }
                            }
                        }
                    }
                }
                button.primary type="submit" name="decision" value="approve" { "Approve" }
                button.danger type="submit" name="decision" value="deny" { "Deny" }
            }
        },
    )
}

/// Renders a final page: approved, denied, or a problem with the code.
pub(super) fn outcome(
    title: &str,
    username: Option<&str>,
    csrf_token: &str,
    message: &Notice<'_>,
    offer_new_code: bool,
) -> Markup {
    layout(
        title,
        username,
        csrf_token,
        html! {
            (notice(Some(message)))
            @if offer_new_code {
                p { a href="/device" { "Enter another code" } }
            }
        },
    )
}

fn scope_description(scope: &str) -> &'static str {
    match scope {
        "profile" => "see your username and account id",
        "offline_access" => "stay signed in until you sign out (a refresh token)",
        _ => "a permission defined by this server",
    }
}
