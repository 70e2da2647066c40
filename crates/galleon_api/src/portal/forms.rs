//! Form bodies and form fields with their inline errors.

use maud::{Markup, html};

use super::arm::ArmFailure;

/// A parsed `application/x-www-form-urlencoded` body; fields may repeat (region rows).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Self {
        Self(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }

    /// The first value of a field.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A field's value, trimmed, or "".
    pub(crate) fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_string()
    }

    /// Every value of a repeated field, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

/// The error of an ARM answer, placed on the form field it is about (by its `target`, or the
/// property its message names), or on the form as a whole.
pub(crate) struct FieldError<'a> {
    pub failure: &'a ArmFailure,
    pub field: Option<&'static str>,
}

impl<'a> FieldError<'a> {
    /// Finds which of `fields` (form name, ARM property name) the failure is about.
    pub(crate) fn locate(failure: &'a ArmFailure, fields: &[(&'static str, &str)]) -> Self {
        // The target when ARM gives one (the model's rules always do), else the message.
        let haystack = failure.target.as_deref().unwrap_or(&failure.message).to_lowercase();
        let field = fields.iter().find(|(_, prop)| haystack.contains(&prop.to_lowercase())).map(|(f, _)| *f);
        Self { failure, field }
    }

    /// The banner above the form: ARM's error itself when no field holds it, else a pointer to
    /// the marked fields.
    pub(crate) fn banner(&self) -> Markup {
        match self.field {
            None => super::html::error_banner(self.failure),
            Some(_) => html! { div.banner.error role="alert" { "Validation failed. Fix the fields marked below." } },
        }
    }

    /// The message for `field`, when the error is about it.
    pub(crate) fn on(&self, field: &str) -> Option<String> {
        (self.field == Some(field)).then(|| format!("{}: {}", self.failure.code, self.failure.message))
    }
}

/// A labelled text input with its hint and error.
pub(crate) struct Input<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub value: &'a str,
    pub kind: &'a str,
    pub required: bool,
    pub pattern: Option<&'a str>,
    pub hint: Option<&'a str>,
    pub error: Option<String>,
}

impl<'a> Input<'a> {
    pub(crate) fn text(name: &'a str, label: &'a str, value: &'a str) -> Self {
        Self { name, label, value, kind: "text", required: true, pattern: None, hint: None, error: None }
    }

    pub(crate) fn render(&self) -> Markup {
        let err_id = format!("{}-error", self.name);
        let hint_id = format!("{}-hint", self.name);
        let described = match (self.hint.is_some(), self.error.is_some()) {
            (true, true) => Some(format!("{hint_id} {err_id}")),
            (true, false) => Some(hint_id.clone()),
            (false, true) => Some(err_id.clone()),
            (false, false) => None,
        };
        html! {
            div.field.invalid[self.error.is_some()] {
                label for=(self.name) { (self.label) @if self.required { span.req aria-hidden="true" { " *" } } }
                input id=(self.name) name=(self.name) type=(self.kind) value=(self.value)
                    required[self.required] pattern=[self.pattern] aria-describedby=[described]
                    aria-invalid=[self.error.as_ref().map(|_| "true")];
                @if let Some(h) = self.hint { div.hint id=(hint_id) { (h) } }
                div.error id=(err_id) role="alert" { @if let Some(e) = &self.error { (e) } }
            }
        }
    }
}

/// A select's options from a model enum's values (`ALL`), each shown as itself.
pub(crate) fn values(all: &[&str]) -> Vec<(String, String)> {
    all.iter().map(|v| (v.to_string(), v.to_string())).collect()
}

/// A labelled select; `options` are (value, text).
pub(crate) fn select(
    name: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    error: Option<String>,
) -> Markup {
    let err_id = format!("{name}-error");
    html! {
        div.field.invalid[error.is_some()] {
            label for=(name) { (label) }
            select id=(name) name=(name) aria-describedby=(err_id) {
                @for (v, t) in options { option value=(v) selected[v == selected] { (t) } }
            }
            div.error id=(err_id) role="alert" { @if let Some(e) = &error { (e) } }
        }
    }
}

/// The end of a create form ("wizard"): the review panel the script fills, and the buttons of
/// its steps (Review + create, Create, Previous, Cancel).
pub(crate) fn wizard_end(cancel: &str) -> Markup {
    html! {
        section.tabpanel.review data-panel="review" hidden {
            h2 { "Review" }
            dl.essentials data-summary="" {}
        }
        div.actions {
            button.primary type="submit" data-step="review" { "Review + create" }
            button.primary type="submit" data-step="create" hidden { "Create" }
            button type="button" data-step="back" hidden { "Previous" }
            a.button href=(cancel) { "Cancel" }
        }
    }
}

/// A posted form from a signed-in browser whose CSRF token matched: the extractor every
/// state-changing portal form goes through (403 and nothing done otherwise).
pub(crate) struct Posted {
    pub signed: super::session::Signed,
    pub form: Form,
}

impl axum::extract::FromRequest<super::PortalState> for Posted {
    type Rejection = axum::response::Response;

    async fn from_request(req: axum::extract::Request, state: &super::PortalState) -> Result<Self, Self::Rejection> {
        use axum::extract::FromRequestParts;
        use axum::response::IntoResponse;
        let (mut parts, body) = req.into_parts();
        let signed = super::session::Signed::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, crate::MAX_BODY_BYTES)
            .await
            .map_err(|_| (axum::http::StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response())?;
        let form = Form::parse(&bytes);
        signed.check_csrf(form.get("csrf")).map_err(IntoResponse::into_response)?;
        Ok(Self { signed, form })
    }
}
