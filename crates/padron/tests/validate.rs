//! `padron validate` as a user runs it: the built binary, stdin and stdout, exit codes. Covers
//! the single-value mode of spec §11 and `--batch` (JSON lines in, one verdict line out each).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn padron() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_padron"));
    // Keep a developer's environment from changing what the command does.
    cmd.env_remove("PADRON_DATABASE_URL")
        .env_remove("PADRON_LOG");
    cmd
}

/// Runs `padron validate <args>` with `stdin` and returns its output.
fn validate(args: &[&str], stdin: &str) -> Output {
    let mut child = padron()
        .arg("validate")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run padron");
    let mut input = child.stdin.take().expect("stdin");
    let text = stdin.to_owned();
    // Written from another thread so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || input.write_all(text.as_bytes()));
    let output = child.wait_with_output().expect("padron finishes");
    writer.join().expect("writer thread").expect("write stdin");
    output
}

fn verdicts(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn error_codes(v: &Value) -> Vec<(&str, &str)> {
    v["errors"]
        .as_array()
        .expect("errors array")
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect()
}

#[test]
fn batch_answers_every_line_in_order_with_mixed_verdicts() {
    let input = [
        r#"{"country":"CHL","documentType":"RUT","documentNumber":"17.604.011-4"}"#,
        r#"{"country":"BRA","documentType":"CPF","documentNumber":"529.982.247-24"}"#,
        r#"{"country":"CHL","phone":"+56 9 6123 4567"}"#,
        r#"{"email":"Ana@Example.COM"}"#,
        r#"this is not json"#,
        r#"{"email":"no-at-sign"}"#,
        r#"{"country":"USA","phone":"+1 (212) 555-0100","email":"ops@example.com"}"#,
    ]
    .join("\n");
    let out = validate(&["--batch"], &input);
    assert_eq!(out.status.code(), Some(1), "an invalid line makes exit 1");
    let v = verdicts(&out);
    assert_eq!(v.len(), 7);
    let valid: Vec<bool> = v.iter().map(|l| l["valid"] == true).collect();
    assert_eq!(valid, [true, false, true, true, false, false, true]);
    assert_eq!(v[0]["canonical"]["documentNumber"], "17604011-4");
    assert_eq!(error_codes(&v[1]), [("documentNumber", "checkDigit")]);
    assert_eq!(
        v[2]["canonical"],
        json!({"country": "CHL", "phone": "+56961234567"})
    );
    assert_eq!(v[3]["canonical"]["email"], "Ana@example.com");
    assert_eq!(error_codes(&v[4]), [("line", "invalidJson")]);
    assert_eq!(error_codes(&v[5])[0].0, "email");
    assert_eq!(
        v[6]["canonical"],
        json!({"country": "USA", "phone": "+12125550100", "email": "ops@example.com"})
    );
}

#[test]
fn batch_exits_0_when_every_line_is_valid() {
    let out = validate(
        &["--batch"],
        "{\"email\":\"a@example.com\"}\n{\"email\":\"b@example.com\"}\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(verdicts(&out).len(), 2);
    let empty = validate(&["--batch"], "");
    assert_eq!(empty.status.code(), Some(0));
    assert!(empty.stdout.is_empty());
}

#[test]
fn batch_answers_bad_lines_without_aborting() {
    let input = [
        r#"{"country":"CHL","phone":"+56961234567","documentNumber":5}"#,
        r#"{"phone":"+56961234567"}"#,
        r#"[1,2,3]"#,
        "",
        r#"{"country":"CL","phone":"+56961234567"}"#,
        r#"{"email":"a@example.com"}"#,
    ]
    .join("\n");
    let v = verdicts(&validate(&["--batch"], &input));
    assert_eq!(v.len(), 6);
    assert!(error_codes(&v[0]).contains(&("documentNumber", "invalidType")));
    assert_eq!(error_codes(&v[1]), [("country", "required")]);
    assert_eq!(error_codes(&v[2]), [("line", "invalidType")]);
    assert_eq!(error_codes(&v[3]), [("line", "empty")]);
    assert_eq!(error_codes(&v[4]), [("country", "unknownCountry")]);
    assert_eq!(
        v[5]["valid"], true,
        "lines after bad ones are still checked"
    );
}

#[test]
fn batch_level_structural_accepts_the_public_rut_example_with_a_warning() {
    let line = r#"{"country":"CHL","documentType":"RUT","documentNumber":"18604011-4"}"#;
    let strict = validate(&["--batch"], line);
    assert_eq!(strict.status.code(), Some(1));
    let v = &verdicts(&strict)[0];
    assert_eq!(v["valid"], false);
    assert_eq!(error_codes(v), [("documentNumber", "checkDigit")]);

    let explicit = validate(&["--batch", "--level", "strict"], line);
    assert_eq!(
        verdicts(&explicit),
        verdicts(&strict),
        "strict is the default"
    );

    let structural = validate(&["--batch", "--level", "structural"], line);
    assert_eq!(structural.status.code(), Some(0));
    let v = &verdicts(&structural)[0];
    assert_eq!(v["valid"], true);
    assert_eq!(v["canonical"]["documentNumber"], "18604011-4");
    assert_eq!(v["warnings"][0]["code"], "checkDigit");
}

#[test]
fn batch_cannot_be_mixed_with_single_value_flags() {
    let out = validate(&["--batch", "--email", "a@example.com"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

#[test]
fn single_value_mode_prints_the_canonical_form_and_exits_0_or_1() {
    let ok = validate(&["--country", "CHL", "--type", "RUT", "17.604.011-4"], "");
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout).trim(),
        "documentNumber: valid: 17604011-4"
    );

    let bad = validate(&["--country", "CHL", "--type", "RUT", "18604011-4"], "");
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("invalid"));

    let structural = validate(
        &[
            "--country",
            "CHL",
            "--type",
            "RUT",
            "--level",
            "structural",
            "18604011-4",
        ],
        "",
    );
    assert_eq!(structural.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&structural.stdout).contains("warning"));

    let phone = validate(&["--country", "CHL", "--phone", "+5692111111"], "");
    assert_eq!(phone.status.code(), Some(1));
    let email = validate(&["--email", "ana@example.com"], "");
    assert_eq!(email.status.code(), Some(0));
}

#[test]
fn single_value_mode_exits_2_on_usage_errors() {
    let no_type = validate(&["--country", "CHL", "17604011-4"], "");
    assert_eq!(no_type.status.code(), Some(2));
    let nothing = validate(&[], "");
    assert_eq!(nothing.status.code(), Some(2));
    let phone_without_country = validate(&["--phone", "+56961234567"], "");
    assert_eq!(phone_without_country.status.code(), Some(2));
}

/// Peak resident memory of a running process, in KiB (Linux).
#[cfg(target_os = "linux")]
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Memory stays flat: after the first 20,000 lines are answered, 200,000 more must not raise
/// the process's peak memory by more than 2 MiB (a leak of 11 bytes a line would). The peak is
/// read while padron is still alive (stdin open), each time after all lines so far have been
/// answered — no sleeping. The allowance covers the pipeline's own bound: how full its queues
/// get (two chunks and two answers per worker, ≈ 1 MiB in all) depends on how fast the other
/// side reads and writes, which a loaded machine changes between the two readings.
#[cfg(target_os = "linux")]
#[test]
fn batch_memory_does_not_grow_with_the_number_of_lines() {
    let mut child = padron()
        .args(["validate", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run padron");
    let pid = child.id();
    let mut stdin = std::io::BufWriter::new(child.stdin.take().expect("stdin"));
    let (tx, rx) = std::sync::mpsc::channel::<usize>();
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut count = 0usize;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read");
            assert!(line.starts_with("{\"valid\":"), "{line}");
            count += 1;
            if count.is_multiple_of(10_000) {
                tx.send(count).expect("report progress");
            }
        }
        count
    });
    let lines = [
        r#"{"country":"CHL","documentType":"RUT","documentNumber":"17.604.011-4"}"#,
        r#"{"country":"CHL","phone":"+56 9 6123 4567","email":"ana@example.com"}"#,
        r#"{"country":"BRA","documentType":"CNPJ","documentNumber":"12.ABC.345/01DE-35"}"#,
        r#"not json at all"#,
    ];
    let mut send = |n: usize| {
        for i in 0..n {
            writeln!(stdin, "{}", lines[i % lines.len()]).expect("write");
        }
        stdin.flush().expect("flush");
    };
    send(20_000);
    while rx.recv().expect("progress") < 20_000 {}
    let early = peak_rss_kib(pid);
    send(200_000);
    while rx.recv().expect("progress") < 220_000 {}
    let late = peak_rss_kib(pid);
    drop(stdin);
    let answered = reader.join().expect("reader");
    assert!(child.wait().expect("exit").code() == Some(1));
    assert_eq!(answered, 220_000);
    assert!(
        late <= early + 2048,
        "peak memory grew from {early} KiB to {late} KiB"
    );
}

#[test]
fn every_flag_also_reads_its_environment_variable() {
    // The public example RUT 18604011-4 has a wrong check digit: strict says 1, structural 0.
    let strict = padron()
        .args([
            "validate",
            "--country",
            "CHL",
            "--type",
            "RUT",
            "18604011-4",
        ])
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(1));
    let structural = padron()
        .env("PADRON_VALIDATION_LEVEL", "structural")
        .env("PADRON_VALIDATE_COUNTRY", "CHL")
        .env("PADRON_VALIDATE_TYPE", "RUT")
        .args(["validate", "18604011-4"])
        .output()
        .unwrap();
    assert_eq!(
        structural.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&structural.stdout)
    );
}

#[test]
fn batch_jobs_change_the_speed_not_the_answers() {
    // Enough lines for many chunks, so several workers really share the work.
    let lines = [
        r#"{"country":"CHL","documentType":"RUT","documentNumber":"17.604.011-4"}"#,
        r#"{"country":"CHL","documentType":"RUT","documentNumber":"18.604.011-4"}"#,
        r#"{"country":"MEX","documentType":"CURP","documentNumber":"BOXW310820HNERXN09"}"#,
        r#"{"email":"a@b"}"#,
        "not json",
    ];
    let input: String = (0..30_000)
        .map(|i| format!("{}\n", lines[i % lines.len()]))
        .collect();
    let one = validate(&["--batch", "--jobs", "1"], &input);
    assert_eq!(one.status.code(), Some(1));
    assert_eq!(verdicts(&one).len(), 30_000);
    let mut four = padron();
    four.env("PADRON_VALIDATE_JOBS", "4");
    let four = {
        let mut child = four
            .args(["validate", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run padron");
        let mut stdin = child.stdin.take().expect("stdin");
        let text = input.clone();
        let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
        let out = child.wait_with_output().expect("padron finishes");
        writer.join().expect("writer").expect("write");
        out
    };
    assert_eq!(four.status.code(), Some(1));
    assert!(one.stdout == four.stdout, "the answers differ with 4 jobs");
    // Zero workers is a usage error, not a hang.
    let zero = validate(&["--batch", "--jobs", "0"], "");
    assert_eq!(zero.status.code(), Some(2));
}
