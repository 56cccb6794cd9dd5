//! Newsdesk's outgoing HTTP requests: webhook deliveries (a POST to an address the guard
//! checked) and the S3-compatible media store's object reads and writes. Over TLS (rustls,
//! with the Mozilla roots of `webpki-roots`) or plain TCP; one request per connection
//! (`Connection: close`), redirects never followed, a deadline for the whole exchange, and a
//! bound on how much of the answer is read.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The most of a webhook receiver's answer read.
pub const MAX_ANSWER: usize = 64 * 1024;

/// Where a request goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub https: bool,
    /// As the URL names it, for `Host` and TLS (IPv6 literals without brackets).
    pub host: String,
    pub port: u16,
    /// The path and query to ask for.
    pub path: String,
}

/// What the receiver answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// `Retry-After` in seconds, when it gave one.
    pub retry_after: Option<u64>,
    pub body: Vec<u8>,
}

fn tls() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            // ring, not aws-lc-rs: no C toolchain beyond cc, a fraction of the build time. rustls
            // marks it deprecated for lacking post-quantum key exchange, which a webhook's
            // short-lived, signed payloads can do without.
            #[allow(deprecated)]
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(roots).with_no_client_auth())
                .unwrap_or_else(|_| {
                    rustls::ClientConfig::builder()
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth()
                });
            Arc::new(config)
        })
        .clone()
}

/// POSTs `body` with `headers` to `target` at one of `addrs`, within `timeout`, reading at
/// most [`MAX_ANSWER`] of the answer.
pub fn post(
    target: &Target,
    addrs: &[SocketAddr],
    headers: &[(&str, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<Answer, String> {
    request("POST", target, addrs, headers, body, timeout, MAX_ANSWER)
}

/// Sends `method` with `headers` and `body` to `target` at one of `addrs`, within `timeout`,
/// reading at most `max_answer` bytes of the answer's body.
pub fn request(
    method: &str,
    target: &Target,
    addrs: &[SocketAddr],
    headers: &[(&str, String)],
    body: &[u8],
    timeout: Duration,
    max_answer: usize,
) -> Result<Answer, String> {
    let deadline = Instant::now() + timeout;
    let left = || deadline.saturating_duration_since(Instant::now());
    let mut last = String::from("no address to connect to");
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect_timeout(addr, left().max(Duration::from_millis(1))) {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    let tcp = tcp.ok_or(last)?;
    tcp.set_nodelay(true).ok();
    let mut request = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Newsdesk/{}\r\nContent-Length: {}\r\nConnection: close\r\n",
        target.path,
        host_header(target),
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    for (name, value) in headers {
        request.push_str(name);
        request.push_str(": ");
        request.push_str(value);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let mut raw = Vec::with_capacity(4096);
    if target.https {
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|e| format!("bad host name for TLS: {e}"))?;
        let conn = rustls::ClientConnection::new(tls(), name).map_err(|e| e.to_string())?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        exchange(&mut stream, &request, body, &mut raw, deadline, max_answer)?;
    } else {
        let mut stream = tcp;
        exchange(&mut stream, &request, body, &mut raw, deadline, max_answer)?;
    }
    parse(&raw, max_answer)
}

fn host_header(target: &Target) -> String {
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    let default = if target.https { 443 } else { 80 };
    if target.port == default {
        host
    } else {
        format!("{host}:{}", target.port)
    }
}

/// A stream whose socket can be given a timeout.
trait Timed: Read + Write {
    fn socket(&self) -> &TcpStream;
}

impl Timed for TcpStream {
    fn socket(&self) -> &TcpStream {
        self
    }
}

impl Timed for rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    fn socket(&self) -> &TcpStream {
        &self.sock
    }
}

fn exchange(
    stream: &mut impl Timed,
    head: &str,
    body: &[u8],
    raw: &mut Vec<u8>,
    deadline: Instant,
    max_answer: usize,
) -> Result<(), String> {
    let timed_out = || "timed out".to_owned();
    let left = || {
        let d = deadline.saturating_duration_since(Instant::now());
        (!d.is_zero()).then_some(d)
    };
    let socket = stream.socket();
    socket.set_write_timeout(left()).map_err(|_| timed_out())?;
    socket.set_read_timeout(left()).map_err(|_| timed_out())?;
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => timed_out(),
        _ => e.to_string(),
    };
    stream.write_all(head.as_bytes()).map_err(io)?;
    stream.write_all(body).map_err(io)?;
    stream.flush().map_err(io)?;
    let mut buf = [0u8; 16 * 1024];
    while raw.len() < max_answer + 8 * 1024 {
        let d = left().ok_or_else(timed_out)?;
        stream
            .socket()
            .set_read_timeout(Some(d))
            .map_err(|_| timed_out())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A receiver that closes without TLS close_notify has still answered.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => break,
            Err(e) => return Err(io(e)),
        }
        if complete(raw, max_answer) {
            break;
        }
    }
    Ok(())
}

/// Whether `raw` holds a whole answer by its `Content-Length`.
fn complete(raw: &[u8], max_answer: usize) -> bool {
    let Some(end) = find(raw, b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|len| raw.len() >= end + 4 + len.min(max_answer))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse(raw: &[u8], max_answer: usize) -> Result<Answer, String> {
    let end = find(raw, b"\r\n\r\n").ok_or("the receiver sent no complete HTTP answer")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("the receiver's answer has no status")?;
    let mut retry_after = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("retry-after") {
            retry_after = value.parse().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    let mut body = raw[end + 4..].to_vec();
    if chunked {
        body = unchunk(&body);
    }
    body.truncate(max_answer);
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// A chunked body's data, as far as it arrived.
fn unchunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(raw, b"\r\n") {
        let size = String::from_utf8_lossy(&raw[..eol]);
        let Ok(n) = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16) else {
            break;
        };
        if n == 0 {
            break;
        }
        let start = eol + 2;
        let stop = (start + n).min(raw.len());
        out.extend_from_slice(&raw[start..stop]);
        if stop + 2 > raw.len() {
            break;
        }
        raw = &raw[stop + 2..];
    }
    out
}
