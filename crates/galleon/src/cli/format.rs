//! Output formats beyond JSON: az's `tsv`, `table` (top-level scalar fields as columns, headers in
//! title case, a dashed rule) and `yaml`.

use serde_json::Value;

/// A value in a row as az writes it (Python's `str`): `None`, `True`, numbers and strings.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

/// `provisioningState` → `ProvisioningState`.
fn header(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// az's `tsv`: a line per item; an object's values in key order, a list's in order, where a
/// nested list is written as its length and a nested object as nothing (so columns keep their
/// places); a lone boolean in lower case.
pub(super) fn tsv(value: &Value) -> String {
    let rows = value.as_array().cloned().unwrap_or_else(|| vec![value.clone()]);
    let cell = |v: &Value| match v {
        Value::Array(items) => items.len().to_string(),
        Value::Object(_) => String::new(),
        other => scalar(other),
    };
    let lines: Vec<String> = rows
        .iter()
        .map(|row| match row {
            Value::Object(map) => map.values().map(cell).collect::<Vec<_>>().join("\t"),
            Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join("\t"),
            Value::Bool(b) => b.to_string(),
            other => scalar(other),
        })
        .collect();
    lines.join("\n")
}

/// A table row: columns in order.
pub(super) type Row = Vec<(String, Value)>;

/// Rows as az's automatic table makes them from objects: every top-level scalar but `id`,
/// `type` and `etag`, in key order; anything else becomes one `Result` column.
pub(super) fn auto_rows(value: &Value) -> Vec<Row> {
    let items = value.as_array().cloned().unwrap_or_else(|| vec![value.clone()]);
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(map) => map
                .into_iter()
                .filter(|(k, _)| !["id", "type", "etag"].contains(&k.as_str()))
                .map(|(k, v)| (header(&k), v))
                .collect(),
            Value::Array(cells) => {
                cells.into_iter().enumerate().map(|(i, v)| (format!("Column{}", i + 1), v)).collect()
            }
            other => vec![("Result".to_string(), other)],
        })
        .collect()
}

/// az's table (tabulate's "simple" format): null, list and object cells are left out, columns
/// in the order first seen, headers over a dashed rule, cells left-aligned two spaces apart.
pub(super) fn table(rows: &[Row]) -> String {
    let rows: Vec<Vec<(&str, String)>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .filter(|(_, v)| !v.is_null() && !v.is_array() && !v.is_object())
                .map(|(k, v)| (k.as_str(), scalar(v)))
                .collect()
        })
        .collect();
    let mut columns: Vec<&str> = Vec::new();
    for (k, _) in rows.iter().flatten() {
        if !columns.contains(k) {
            columns.push(k);
        }
    }
    if columns.is_empty() {
        return String::new();
    }
    let cells: Vec<Vec<&str>> = rows
        .iter()
        .map(|row| columns.iter().map(|c| row.iter().find(|(k, _)| k == c).map_or("", |(_, v)| v.as_str())).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| cells.iter().map(|r| r[i].chars().count()).max().unwrap_or(0).max(c.chars().count()))
        .collect();
    let line = |items: &[&str]| {
        items.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string()
    };
    let mut out = vec![line(&columns), widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  ")];
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
        let v = json!([{ "name": "1.0.0", "id": "/x", "location": "eastus", "properties": {}, "zone": null },
            { "name": "2.0.0", "location": "westus2", "etag": "e" }]);
        // Keys come in serde_json's (sorted) order, as az sorts them.
        assert_eq!(table(&auto_rows(&v)), "Location  Name\n--------  -----\neastus    1.0.0\nwestus2   2.0.0");
        // A column only some rows have is blank in the others.
        let v = json!([{ "a": 1 }, { "a": 2, "b": true }]);
        assert_eq!(table(&auto_rows(&v)), "A  B\n-  ----\n1\n2  True");
    }

    #[test]
    fn tsv_keeps_columns_in_place() {
        let v = json!({ "id": "/x", "managedBy": null, "properties": { "a": 1 }, "tags": [1, 2], "ok": false });
        assert_eq!(tsv(&v), "/x\tNone\tFalse\t\t2");
        assert_eq!(tsv(&json!([["eastus", 1, "Standard_LRS"]])), "eastus\t1\tStandard_LRS");
        assert_eq!(tsv(&json!(true)), "true");
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
