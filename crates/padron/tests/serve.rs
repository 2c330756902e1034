//! `padron serve` as an operator runs it: JSON logs with one line per request and nothing
//! secret in them, and a graceful stop on SIGTERM that finishes a request in flight.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn padron(db: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_padron"));
    cmd.env("PADRON_DATABASE_URL", db).env_remove("PADRON_LOG");
    cmd
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    port: u16,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Server {
    /// Starts a server and waits for its "listening" line.
    fn start(db: &str) -> Server {
        Self::start_with(db, &[])
    }

    /// Starts a server with extra environment variables.
    fn start_with(db: &str, env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut child = padron(db)
            .env("PADRON_LOG_FORMAT", "json")
            // After the default, so that a test can choose another log format.
            .envs(env.iter().copied())
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--shutdown-grace-secs",
                "20",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.contains("listening"), "{first}");
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Server {
            child,
            port,
            stderr: rx,
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() {
            req.push_str("Content-Type: application/json\r\n");
        }
        req.push_str("\r\n");
        req.push_str(&body);
        stream.write_all(req.as_bytes()).unwrap();
        read_response(&mut stream)
    }

    /// Log lines printed so far.
    fn logs(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }
}

fn read_response(stream: &mut TcpStream) -> (u16, Value) {
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // Bodies are small and sent with Content-Length; chunked framing does not occur here.
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn create_client(db: &str) -> Value {
    let out = padron(db)
        .args(["client", "create", "--name", "Logs", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn json_logs_have_one_line_per_request_and_never_a_secret_or_personal_value() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("p.db").display());
    let creds = create_client(&db);
    let server = Server::start(&db);
    let key = creds["sandbox"]["apiKey"].as_str().unwrap();
    let secret = creds["sandbox"]["clientSecret"].as_str().unwrap();
    let client_id = creds["clientId"].as_str().unwrap();
    let (status, token) = server.call(
        "POST",
        "/sandbox/auth",
        &[("x-api-key", key)],
        Some(&json!({"clientId": client_id, "clientSecret": secret})),
    );
    assert_eq!(status, 200);
    let token = token["accessToken"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let auth = [("x-api-key", key), ("authorization", bearer.as_str())];
    let person = json!({"type": "USER", "name": "Ana", "email": "ana.secret@example.com", "phone": "+56961234567",
                        "country": "CHL", "documentType": "RUT", "documentNumber": "17.604.011-4"});
    let (status, created) = server.call("POST", "/sandbox/identities", &auth, Some(&person));
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap();
    let (status, _) = server.call("POST", "/sandbox/identities", &auth, Some(&person));
    assert_eq!(status, 409);
    let (status, _) = server.call(
        "GET",
        "/sandbox/identities?email=ana.secret%40example.com&documentNumber=176040114",
        &auth,
        None,
    );
    assert_eq!(status, 200);
    let (status, _) = server.call("GET", &format!("/sandbox/identities/{id}"), &auth, None);
    assert_eq!(status, 200);

    // Poll until the five request lines are out (each is written before its answer completes).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = Vec::new();
    while lines
        .iter()
        .filter(|l: &&String| l.contains("\"request\""))
        .count()
        < 5
        && Instant::now() < deadline
    {
        lines.extend(server.logs());
        std::thread::yield_now();
    }
    let requests: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 5, "{lines:#?}");
    let created_line = requests.iter().find(|r| r["status"] == 201).unwrap();
    assert_eq!(created_line["route"], "/sandbox/identities");
    assert_eq!(created_line["method"], "POST");
    assert_eq!(created_line["client_id"], client_id);
    assert!(created_line["latency_ms"].is_number());
    assert!(
        created_line["trace_id"]
            .as_str()
            .is_some_and(|t| t.len() >= 16)
    );
    let read_line = requests
        .iter()
        .find(|r| r["method"] == "GET" && r["route"] == "/sandbox/identities/{id}")
        .unwrap();
    assert_eq!(read_line["status"], 200);
    let all = lines.join("\n");
    for secret_or_personal in [
        key,
        secret,
        token.as_str(),
        "17604011",
        "17.604.011",
        "ana.secret",
        "961234567",
        id,
    ] {
        assert!(
            !all.contains(secret_or_personal),
            "the logs contain {secret_or_personal}:\n{all}"
        );
    }
    let mut child = server.child;
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn sigterm_finishes_a_request_in_flight_then_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("p.db").display());
    let creds = create_client(&db);
    // Text logs (the default format), to check they carry no colour codes in a pipe.
    let mut server = Server::start_with(&db, &[("PADRON_LOG_FORMAT", "text")]);
    let key = creds["sandbox"]["apiKey"].as_str().unwrap();
    let body =
        json!({"clientId": creds["clientId"], "clientSecret": creds["sandbox"]["clientSecret"]})
            .to_string();
    // Send the headers with `Expect: 100-continue`: the server answers "100 Continue" once the
    // handler starts reading the body, which proves the request is in flight.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let head = format!(
        "POST /sandbox/auth HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-api-key: {key}\r\n\
         Expect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.flush().unwrap();
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        interim.push(byte[0]);
    }
    assert!(
        String::from_utf8_lossy(&interim).contains(" 100 "),
        "{}",
        String::from_utf8_lossy(&interim)
    );
    let rest = body.as_str();
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The server has begun shutting down once it stops accepting new connections.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", server.port)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the server kept accepting connections after SIGTERM"
        );
        std::thread::yield_now();
    }
    stream.write_all(rest.as_bytes()).unwrap();
    let (code, answer) = read_response(&mut stream);
    assert_eq!(
        code, 200,
        "the request in flight was not finished: {answer}"
    );
    assert_eq!(answer["tokenType"], "Bearer");
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let logs = server.logs().join("\n");
    assert!(logs.contains("shutting down"), "{logs}");
    // Text logs written to a pipe (or a file) carry no terminal colour codes.
    assert!(
        !logs.contains('\u{1b}'),
        "colour codes in piped logs: {logs:?}"
    );
    // The pool was closed: SQLite checkpointed and removed its write-ahead log.
    assert!(
        !dir.path().join("p.db-wal").exists(),
        "the WAL file was left behind"
    );
}

#[test]
fn serve_applies_the_configured_rate_limit_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("p.db").display());
    let creds = create_client(&db);
    let server = Server::start_with(&db, &[("PADRON_RATE_LIMIT_SANDBOX", "0.01/2")]);
    let key = creds["sandbox"]["apiKey"].as_str().unwrap();
    let statuses: Vec<u16> = (0..3)
        .map(|_| {
            server
                .call(
                    "POST",
                    "/sandbox/auth",
                    &[("x-api-key", key)],
                    Some(&json!({})),
                )
                .0
        })
        .collect();
    assert_eq!(statuses, vec![401, 401, 429]);
    // Production has no limit configured.
    let key = creds["production"]["apiKey"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(
            server
                .call("POST", "/auth", &[("x-api-key", key)], Some(&json!({})))
                .0,
            401
        );
    }
    let mut child = server.child;
    child.kill().unwrap();
    child.wait().unwrap();
}
