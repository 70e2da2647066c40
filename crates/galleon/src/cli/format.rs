//! Output formats beyond JSON: az's `tsv`, `table` (top-level scalar fields as columns, headers in
//! title case, a dashed rule) and `yaml`.

use serde_json::Value;

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `provisioningState` → `ProvisioningState`.
fn header(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Tab-separated top-level scalars, a line per item (az's `tsv`).
pub(super) fn tsv(value: &Value) -> String {
    let rows = value.as_array().cloned().unwrap_or_else(|| vec![value.clone()]);
    let lines: Vec<String> = rows
        .iter()
        .map(|row| match row {
            Value::Object(map) => {
                map.values().filter(|v| !v.is_object() && !v.is_array()).map(scalar).collect::<Vec<_>>().join("\t")
            }
            other => scalar(other),
        })
        .collect();
    lines.join("\n")
}

/// Like az's tables (`az group list -o table` shows no ids), long ids and types are left out.
const HIDDEN: &[&str] = &["id", "type"];

/// Rows of top-level scalars; columns in first-seen order.
pub(super) fn table(value: &Value) -> String {
    let rows = value.as_array().cloned().unwrap_or_else(|| vec![value.clone()]);
    let mut columns: Vec<String> = Vec::new();
    for row in &rows {
        match row {
            Value::Object(map) => {
                for (k, v) in map {
                    if !v.is_object() && !v.is_array() && !HIDDEN.contains(&k.as_str()) && !columns.contains(k) {
                        columns.push(k.clone());
                    }
                }
            }
            _ => {
                if columns.is_empty() {
                    columns.push("Result".into());
                }
            }
        }
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| match row {
            Value::Object(map) => columns.iter().map(|c| map.get(c).map(scalar).unwrap_or_default()).collect(),
            other => vec![scalar(other)],
        })
        .collect();
    let headers: Vec<String> = columns.iter().map(|c| header(c)).collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            cells.iter().map(|r| r.get(i).map_or(0, |c| c.chars().count())).max().unwrap_or(0).max(headers[i].len())
        })
        .collect();
    let line = |items: &[String]| {
        items.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string()
    };
    let mut out = vec![line(&headers), widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  ")];
    out.extend(cells.iter().map(|r| line(r)));
    out.join("\n")
}

/// Block-style YAML; strings are quoted when YAML would read them as something else.
pub(super) fn yaml(value: &Value) -> String {
    let mut out = String::new();
    emit(value, 0, &mut out);
    out.trim_end().to_string()
}

fn quoted(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`~ ".contains(c) || c.is_ascii_digit())
        && !s.ends_with(' ')
        && !s.contains(": ")
        && !s.contains(" #")
        && !["true", "false", "null", "yes", "no", "on", "off", "~"].contains(&s.to_ascii_lowercase().as_str());
    if plain { s.to_string() } else { serde_json::to_string(s).expect("a string serializes") }
}

fn inline(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(quoted(s)),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(m) if m.is_empty() => Some("{}".into()),
        _ => None,
    }
}

fn emit(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match inline(v) {
                    Some(text) => out.push_str(&format!("{pad}{}: {text}\n", quoted(k))),
                    None => {
                        out.push_str(&format!("{pad}{}:\n", quoted(k)));
                        emit(v, indent + 2, out);
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match inline(item) {
                    Some(text) => out.push_str(&format!("{pad}- {text}\n")),
                    None => {
                        // The item's first line goes after the dash.
                        let mut inner = String::new();
                        emit(item, indent + 2, &mut inner);
                        out.push_str(&format!("{pad}- {}", &inner[indent + 2..]));
                    }
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", inline(other).unwrap_or_default())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tables_have_scalar_columns() {
        let v = json!([{ "name": "1.0.0", "id": "/x", "location": "eastus", "properties": {} }, { "name": "2.0.0", "location": "westus2" }]);
        // Keys come in serde_json's (sorted) order.
        assert_eq!(table(&v), "Location  Name\n--------  -----\neastus    1.0.0\nwestus2   2.0.0");
    }

    #[test]
    fn yaml_is_block_style_and_quotes_what_must_be() {
        let v = json!({ "name": "1.0.0", "tags": {}, "ok": true, "regions": [{ "name": "eastus", "count": 2 }, "x: y"], "no": "no" });
        assert_eq!(
            yaml(&v),
            "name: \"1.0.0\"\n\"no\": \"no\"\nok: true\nregions:\n  - count: 2\n    name: eastus\n  - \"x: y\"\ntags: {}"
        );
    }
}
