//! The page frame and small pieces every page uses. Markup is built with `maud`, which escapes
//! every interpolated string, so user-provided names and descriptions cannot inject markup.

use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::arm::ArmFailure;
use super::session::Session;

/// A link in the breadcrumb trail.
pub(crate) struct Crumb {
    pub label: String,
    pub href: String,
}

pub(crate) fn crumb(label: impl Into<String>, href: impl Into<String>) -> Crumb {
    Crumb { label: label.into(), href: href.into() }
}

/// The whole page: top bar, navigation, breadcrumbs, title and content.
pub(crate) fn page(title: &str, session: Option<&Session>, crumbs: &[Crumb], content: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(s) = session { meta name="csrf-token" content=(s.csrf); }
                title { (title) " - galleon portal" }
                link rel="stylesheet" href="/portal/static/portal.css";
                script src="/portal/static/portal.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.topbar {
                    a.brand href="/portal" { "galleon" span.brand-sub { " · Azure Compute Gallery" } }
                    @if let Some(s) = session {
                        form.topsearch role="search" action="/portal/galleries" method="get" {
                            label.visually-hidden for="top-q" { "Search galleries" }
                            input #top-q type="search" name="q" placeholder="Search galleries";
                        }
                        div.user {
                            span.user-id title="Signed-in principal (client id)" { (s.client_id) }
                            form action="/portal/signout" method="post" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                div.shell {
                    @if session.is_some() {
                        nav.sidenav aria-label="Portal" {
                            a href="/portal/galleries" { "Azure Compute Galleries" }
                            a href="/portal/subscriptions" { "Subscriptions" }
                            a href="/portal/shared" { "Shared with me" }
                            a href="/portal/upload" { "Upload a VHD" }
                        }
                    }
                    main #main tabindex="-1" {
                        @if !crumbs.is_empty() {
                            nav.crumbs aria-label="Breadcrumb" {
                                ol { @for c in crumbs { li { a href=(c.href) { (c.label) } } } }
                            }
                        }
                        h1 { (title) }
                        (content)
                    }
                }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// A table of label → value pairs (the "Essentials" block of an Azure portal page).
pub(crate) fn essentials(rows: &[(&str, Markup)]) -> Markup {
    html! {
    dl.essentials {
        @for (k, v) in rows {
            div { dt { (k) } dd { (v) } } }
        }
    }
}

/// A plain value of the essentials block ("—" when empty).
pub(crate) fn value(v: String) -> Markup {
    html! { @if v.is_empty() { "—" } @else { (v) } }
}

/// A link to a resource's portal page, named by the resource (the id in its title).
pub(crate) fn resource_link(id: &str) -> Markup {
    if !id.starts_with("/subscriptions/") {
        return value(id.to_string());
    }
    html! { a href=(link_to(id)) title=(id) { (name_of(id)) } " (" (super::browse::kind(id)) ")" }
}

/// An ARM error in a banner, code and message as ARM gave them.
pub(crate) fn error_banner(e: &ArmFailure) -> Markup {
    html! {
        div.banner.error role="alert" {
            strong { (e.code) } ": " (e.message)
        }
    }
}

/// A message banner.
pub(crate) fn notice(text: &str) -> Markup {
    html! { div.banner.info role="status" { (text) } }
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf_field(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

/// The last segment of an ARM id (a resource's name).
pub(crate) fn name_of(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// The portal page of a resource.
pub(crate) fn link_to(id: &str) -> String {
    format!("/portal/r{id}")
}

/// Percent-encodes a query value.
pub(crate) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A JSON value as display text.
pub(crate) fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A provisioning or replication state as a coloured badge.
pub(crate) fn state_badge(state: &str) -> Markup {
    let class = match state {
        "Succeeded" | "Completed" => "ok",
        "Failed" => "bad",
        "" => "none",
        _ => "busy",
    };
    html! { span class=(format!("badge {class}")) data-state=(state) { (state) } }
}
