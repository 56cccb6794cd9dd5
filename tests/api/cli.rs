//! The `newsdesk` command as a new user meets it: what it refuses before starting, what it says,
//! and how it stops.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn newsdesk(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_newsdesk"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LOG_FILTER", "info");
    cmd
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn an_unknown_database_url_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["mysql://root@127.0.0.1/newsdesk", "newsdesk.db"] {
        let out = newsdesk(dir.path())
            .arg("migrate")
            .env("DATABASE_URL", url)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("DATABASE_URL"), "{url}: {err}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{url}: nothing created"
        );
    }
}

#[test]
fn a_port_in_use_fails_before_the_demo_admin_is_announced() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = newsdesk(dir.path())
        .args(["serve", "--demo"])
        .env("DATABASE_URL", "sqlite://newsdesk.db")
        .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!said.contains("password"), "{said}");
    assert!(!said.contains("listening"), "{said}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot listen"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `serve --demo` in a directory of its own.
struct Server {
    child: std::process::Child,
    port: u16,
    said: String,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

/// Starts `serve --demo` in `dir` on a free port and reads its standard output until it says
/// it listens.
fn start(dir: &std::path::Path) -> Server {
    let port = free_port();
    let mut child = newsdesk(dir)
        .args(["serve", "--demo"])
        .env("DATABASE_URL", "sqlite://newsdesk.db")
        .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let Some(Ok(line)) = lines.next() else { break };
        said.push_str(&line);
        said.push('\n');
        if line.contains("listening") {
            break;
        }
    }
    assert!(
        said.contains("listening"),
        "the server did not start: {said}"
    );
    Server {
        child,
        port,
        said,
        lines,
    }
}

impl Server {
    /// Sends `signal` and returns what it printed, what it logged and how it ended.
    fn stop(mut self, signal: &str) -> (String, String, std::process::ExitStatus) {
        // The shell's own `kill`, which needs no package beyond the shell.
        let killed = Command::new("sh")
            .args(["-c", &format!("kill -{signal} {}", self.child.id())])
            .status()
            .unwrap();
        assert!(killed.success());
        let output = self.child.wait_with_output().unwrap();
        for line in self.lines.map_while(Result::ok) {
            self.said.push_str(&line);
            self.said.push('\n');
        }
        (
            self.said,
            String::from_utf8_lossy(&output.stderr).into_owned(),
            output.status,
        )
    }
}

fn serve_then(dir: &std::path::Path, signal: &str) -> (String, String, std::process::ExitStatus) {
    start(dir).stop(signal)
}

#[test]
fn head_answers_every_get_resource_with_its_headers_and_no_body() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let ask = |method: &str| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        write!(
            stream,
            "{method} /api/v1/languages HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    let head = ask("HEAD");
    let get = ask("GET");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (head_headers, head_body) = head.split_once("\r\n\r\n").unwrap();
    let (get_headers, get_body) = get.split_once("\r\n\r\n").unwrap();
    assert!(head_body.is_empty(), "{head_body}");
    assert!(!get_body.is_empty());
    let etag = |headers: &str| {
        headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("etag:"))
            .map(str::to_owned)
    };
    assert!(etag(head_headers).is_some(), "{head_headers}");
    assert_eq!(etag(head_headers), etag(get_headers));
    server.stop("TERM");
}

#[test]
fn requests_the_parser_refuses_are_logged_as_warnings_not_errors() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let send = |raw: &[u8]| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream.write_all(raw).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    };
    let nul = send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n");
    assert!(nul.starts_with("HTTP/1.1 400"), "{nul}");
    let mut big = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..1000 {
        big.extend_from_slice(format!("X-H{i}: {}\r\n", "a".repeat(100)).as_bytes());
    }
    big.extend_from_slice(b"\r\n");
    let oversized = send(&big);
    assert!(oversized.starts_with("HTTP/1.1 431"), "{oversized}");
    let (_, logged, _) = server.stop("TERM");
    let refused: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("refused a malformed request"))
        .collect();
    assert_eq!(refused.len(), 2, "{logged}");
    assert!(refused.iter().all(|l| l.contains("WARN")), "{logged}");
    assert!(!logged.contains("ERROR"), "{logged}");
}

#[test]
fn ctrl_c_stops_gracefully_logs_to_a_pipe_are_plain_and_a_second_demo_run_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (said, logged, status) = serve_then(dir.path(), "INT");
    assert!(said.contains("password:"), "{said}");
    assert!(status.success(), "{status:?}: {logged}");
    assert!(
        logged.contains("finishing requests in flight"),
        "SIGINT is a graceful stop: {logged}"
    );
    assert!(
        !logged.contains('\u{1b}'),
        "logs to a pipe carry no colour codes: {logged:?}"
    );
    let (said, logged, status) = serve_then(dir.path(), "TERM");
    assert!(!said.contains("password:"), "{said}");
    assert!(said.contains("demo was not added"), "{said}");
    assert!(said.contains("newsdesk user create"), "{said}");
    assert!(status.success(), "{status:?}: {logged}");
}

#[test]
fn backup_writes_a_new_file_and_never_overwrites_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        newsdesk(dir.path())
            .args(args)
            .env("DATABASE_URL", "sqlite://newsdesk.db")
            .output()
            .unwrap()
    };
    assert!(run(&["migrate"]).status.success());
    let first = run(&["backup", "copy.db"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(dir.path().join("copy.db").metadata().unwrap().len() > 0);
    let again = run(&["backup", "copy.db"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

#[test]
fn seeding_reports_its_progress_whatever_the_log_filter() {
    let dir = tempfile::tempdir().unwrap();
    let out = newsdesk(dir.path())
        .args(["seed", "--stories", "3", "--languages", "2"])
        .env("DATABASE_URL", "sqlite://newsdesk.db")
        .env("LOG_FILTER", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("3 of 3 stories (100%)"), "{err}");
}
