//! galleon's CLI prints what az prints. `tests/fixtures/az/commands.txt` is run with galleon
//! against a fresh server, and each recorded output is compared with what the real az printed
//! for the same commands (recorded by `scripts/az-record.sh`): JSON key by key, tables cell by
//! cell, TSV line by line, after the values that differ between runs (ids, times, random name
//! suffixes) are replaced by placeholders.

use std::path::Path;

use serde_json::Value;

use super::{Server, write_vhd};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/az");

/// Where galleon's output may differ from the recording, and why: `(file or *, path)`; a path
/// ending in `.` matches that key anywhere.
const ALLOWED: &[(&str, &str, &str)] = &[
    // az derives a storage account id from `--source URL`'s host and sends it; galleon's CLI
    // sends the source alone (the server keeps whatever the client sent).
    ("disk-create.json", "creationData.storageAccountId", "az sends it, galleon does not"),
    ("disk-show.json", "creationData.storageAccountId", "az sends it, galleon does not"),
    // galleon's one output extension: the content digest of disks, snapshots, images and
    // versions (Azure has none, so az's models drop it).
    ("*", ".digest", "galleon's content digest"),
    // And the bytes, rate and time left of each region's copy (`replicationStatus.summary`).
    ("*", ".transfer", "galleon's replication byte count"),
];

fn allowed(file: &str, difference: &str) -> bool {
    let path = difference.split(':').next().unwrap_or_default();
    ALLOWED.iter().any(|(f, p, _)| {
        (*f == "*" || *f == file)
            && match p.strip_prefix('.') {
                Some(key) => path == key || path.ends_with(&format!(".{key}")),
                None => path == *p,
            }
    })
}

/// Splits a command line at spaces; `"…"` keeps its spaces.
fn split(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Values that differ between runs become placeholders: UUIDs, RFC 3339 times, long hex runs,
/// SSH keys.
fn normalize(text: &str) -> String {
    let text = match text.find("ssh-rsa ") {
        Some(at) => {
            let end = text[at + 8..].find(|c: char| !(c.is_ascii_alphanumeric() || "+/={}".contains(c))).unwrap_or(0);
            format!("{}ssh-rsa {{key}}{}", &text[..at], &text[at + 8 + end..])
        }
        None => text.to_string(),
    };
    let text = text.as_str();
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let hex = |c: char| c.is_ascii_hexdigit();
    while i < chars.len() {
        let rest: String = chars[i..chars.len().min(i + 40)].iter().collect();
        let uuid = rest.len() >= 36
            && rest
                .chars()
                .take(36)
                .enumerate()
                .all(|(n, c)| if [8, 13, 18, 23].contains(&n) { c == '-' } else { hex(c) });
        if uuid {
            out.push_str("{uuid}");
            i += 36;
            continue;
        }
        // 2026-12-01T23:44:10[.fraction][Z|+00:00]
        let b = rest.as_bytes();
        let time = b.len() >= 19
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':';
        if time {
            let mut j = i + 19;
            while j < chars.len() && (chars[j].is_ascii_digit() || ".Z+:-".contains(chars[j])) {
                j += 1;
            }
            out.push_str("{time}");
            i = j;
            continue;
        }
        let run = chars[i..].iter().take_while(|c| hex(**c)).count();
        let word_start = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if run >= 12 && word_start && chars[i..i + run].iter().any(|c| c.is_ascii_digit()) {
            out.push_str("{hex}");
            i += run;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Differences between two JSON values, as `path: …` lines.
fn json_diff(path: &str, az: &Value, galleon: &Value, out: &mut Vec<String>) {
    match (az, galleon) {
        (Value::Object(a), Value::Object(g)) => {
            for (k, v) in a {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match g.get(k) {
                    Some(gv) => json_diff(&p, v, gv, out),
                    None => out.push(format!("{p}: az prints {v}, galleon nothing")),
                }
            }
            for (k, v) in g.iter().filter(|(k, _)| !a.contains_key(*k)) {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                out.push(format!("{p}: galleon prints {v}, az nothing"));
            }
        }
        (Value::Array(a), Value::Array(g)) if a.len() == g.len() => {
            for (n, (av, gv)) in a.iter().zip(g).enumerate() {
                json_diff(&format!("{path}[{n}]"), av, gv, out);
            }
        }
        (a, g) if a != g => out.push(format!("{path}: az prints {a}, galleon {g}")),
        _ => {}
    }
}

/// A table as rows of cells, cut at the columns of its dashed rule.
fn table_cells(text: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(rule) = lines.get(1) else { return lines.iter().map(|l| vec![l.trim().to_string()]).collect() };
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in rule.char_indices().chain(std::iter::once((rule.len(), ' '))) {
        match (c, start) {
            ('-', None) => start = Some(i),
            (' ', Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    let cell = |line: &str, (s, e): (usize, usize), last: bool| -> String {
        let end = if last { line.len() } else { e.min(line.len()) };
        line.get(s.min(line.len())..end).unwrap_or_default().trim().to_string()
    };
    lines
        .iter()
        .enumerate()
        .filter(|(n, _)| *n != 1)
        .map(|(_, line)| spans.iter().enumerate().map(|(i, span)| cell(line, *span, i + 1 == spans.len())).collect())
        .collect()
}

fn compare(file: &str, az: &str, galleon: &str) -> Vec<String> {
    let (az, galleon) = (normalize(az), normalize(galleon));
    let mut out = Vec::new();
    match Path::new(file).extension().and_then(|e| e.to_str()) {
        Some("json") => {
            let parse = |t: &str, who: &str| {
                serde_json::from_str::<Value>(t)
                    .unwrap_or_else(|e| panic!("{file}: {who}'s output is not JSON: {e}\n{t}"))
            };
            json_diff("", &parse(&az, "az"), &parse(&galleon, "galleon"), &mut out);
        }
        Some("table") => {
            let (a, g) = (table_cells(&az), table_cells(&galleon));
            if a != g {
                out.push(format!("table differs:\naz:\n{az}\ngalleon:\n{galleon}"));
            }
        }
        _ => {
            if az.trim_end() != galleon.trim_end() {
                out.push(format!("differs:\naz:\n{az}\ngalleon:\n{galleon}"));
            }
        }
    }
    out.retain(|d| !allowed(file, d));
    out
}

/// Every recorded command, run with galleon, prints what az printed.
#[test]
fn galleon_prints_what_az_printed_for_the_recorded_commands() {
    let server = Server::start();
    server.ok(&["login", "--data-dir", server.data().to_str().unwrap(), "-o", "none"]);
    // `vm create --generate-ssh-keys` takes ~/.ssh/id_rsa.pub.
    let home = server.dir.path().join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_rsa.pub"), "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0\n").unwrap();
    let imports = server.data().join("imports");
    write_vhd(&imports, "os.vhd", 8 << 20);
    let creds: Value = serde_json::from_slice(&std::fs::read(server.data().join("credentials.json")).unwrap()).unwrap();
    let sub = creds["subscriptionId"].as_str().unwrap();
    let placeholders = [
        (imports.to_str().unwrap().to_string(), "{imports}"),
        (sub.to_string(), "{sub}"),
        (creds["tenantId"].as_str().unwrap().to_string(), "{tenant}"),
        (creds["clientId"].as_str().unwrap().to_string(), "{client}"),
    ];
    let commands = std::fs::read_to_string(format!("{FIXTURES}/commands.txt")).unwrap();
    let mut failures = Vec::new();
    for line in commands.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (file, rest) = line.split_once(' ').unwrap();
        let rest = rest.replace("{imports}", imports.to_str().unwrap()).replace("{sub}", sub);
        let args = split(&rest);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let galleon = |args: &[&str]| {
            std::process::Command::new(super::BIN)
                .args(args)
                .env("GALLEON_CONFIG_DIR", server.dir.path().join("cli"))
                .env("HOME", &home)
                .output()
                .unwrap()
        };
        if file == "run" {
            let out = galleon(&[&args[..], &["-o", "none"]].concat());
            assert!(out.status.success(), "galleon {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            continue;
        }
        let out = galleon(&args);
        assert!(out.status.success(), "galleon {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let mut printed = String::from_utf8(out.stdout).unwrap();
        for (value, name) in &placeholders {
            printed = printed.replace(value, name);
        }
        let recorded = std::fs::read_to_string(format!("{FIXTURES}/{file}")).unwrap();
        failures.extend(compare(file, &recorded, &printed).into_iter().map(|d| format!("{file}: {d}")));
    }
    assert!(failures.is_empty(), "{} differences from az:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn placeholders_replace_what_differs_between_runs() {
    assert_eq!(
        normalize("a 70bed3624cc3 2026-12-01T23:44:10.616271557Z d7ff51a0-c49e-462d-a2eb-5aea8f83d759 b"),
        "a {hex} {time} {uuid} b"
    );
    assert_eq!(normalize("vm1_OsDisk_1_70bed3624cc3 Standard_LRS"), "vm1_OsDisk_1_{hex} Standard_LRS");
    assert_eq!(normalize(r#""keyData": "ssh-rsa AAAB3+/x= me@host""#), r#""keyData": "ssh-rsa {key} me@host""#);
    assert!(allowed("disk-show.json", "storageProfile.osDisk.digest: galleon prints"));
    assert!(allowed("x.json", "digest: galleon prints"));
    assert!(!allowed("x.json", "creationData.storageAccountId: az prints"));
    assert_eq!(split(r#"sig create -r "a b" --x"#), ["sig", "create", "-r", "a b", "--x"]);
    let t = "Name  Zones  Sku\n----  -----  ---\nd1           LRS\n";
    assert_eq!(table_cells(t), [["Name", "Zones", "Sku"], ["d1", "", "LRS"]]);
}
