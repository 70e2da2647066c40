//! Deployment bodies in the JSONC form ARM accepts: `az deployment group create` splices the
//! template file's own text in (comments, an unquoted `template` key, trailing commas kept) so
//! that line numbers in errors match the file. This turns such text into plain JSON.

/// Plain JSON from JSONC: comments removed, unquoted keys quoted, trailing commas dropped.
/// Strings are copied untouched.
pub(crate) fn to_json(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    // The last significant character written (outside strings and comments).
    let mut last = ' ';
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => {
                out.push(c);
                i += 1;
                while i < chars.len() {
                    out.push(chars[i]);
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        out.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if chars[i - 1] == '"' {
                        break;
                    }
                }
                last = '"';
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
            }
            ',' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                if !matches!(chars.get(j), Some('}' | ']')) {
                    out.push(',');
                    last = ',';
                }
                i += 1;
            }
            c if (c.is_ascii_alphabetic() || c == '_' || c == '$') && matches!(last, '{' | ',') => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                if chars.get(j) == Some(&':') {
                    out.push('"');
                    out.push_str(&word);
                    out.push('"');
                } else {
                    out.push_str(&word);
                }
                last = 'a';
            }
            c => {
                out.push(c);
                if !c.is_whitespace() {
                    last = c;
                }
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(text: &str) -> Value {
        serde_json::from_str(&to_json(text)).unwrap_or_else(|e| panic!("{e}: {}", to_json(text)))
    }

    #[test]
    fn what_az_sends_parses() {
        let body = "{\"properties\": {\"parameters\": {\"p\": {\"value\": \"x\"}}, \"mode\": \"Incremental\", template:{\r\n  \"$schema\": \"s\", // a comment\r\n  \"resources\": [ /* none */ ],\r\n  \"a\": [1, 2,],\r\n}}}";
        assert_eq!(
            parse(body),
            json!({ "properties": { "parameters": { "p": { "value": "x" } }, "mode": "Incremental",
                "template": { "$schema": "s", "resources": [], "a": [1, 2] } } })
        );
    }

    #[test]
    fn strings_are_left_alone() {
        let text = r#"{"a": "// not a comment, /* nor this */", "b": "say \"hi\", {x: 1,}", "c": [true, false, null]}"#;
        assert_eq!(
            parse(text),
            json!({ "a": "// not a comment, /* nor this */", "b": "say \"hi\", {x: 1,}", "c": [true, false, null] })
        );
    }
}
