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

/// (value, text) pairs where both are the same.
pub(crate) fn same(values: &[&str]) -> Vec<(String, String)> {
    values.iter().map(|v| (v.to_string(), v.to_string())).collect()
}
