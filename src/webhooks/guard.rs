//! The SSRF guard: where a webhook may be sent. A URL must be `https` (`http` only for hosts in
//! `WEBHOOK_ALLOWED_HOSTS`, which development and the tests use), without user-info. At every
//! attempt its host is resolved and refused when any address is loopback, private, link-local
//! (the cloud metadata address among them), shared (CGNAT), multicast, unspecified or
//! broadcast — or an IPv6 form of such an IPv4 address. The connection then goes to an address
//! that was checked, so a name cannot resolve to another address between check and connect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use crate::http_client;

/// Where a webhook goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub address: http_client::Target,
    /// Whether the host is in `WEBHOOK_ALLOWED_HOSTS` (no address check).
    pub allowed: bool,
}

impl std::ops::Deref for Target {
    type Target = http_client::Target;

    fn deref(&self) -> &http_client::Target {
        &self.address
    }
}

const MAX_URL: usize = 2048;

/// Checks `raw` as a webhook URL; the error says why it is refused.
pub fn target(raw: &str, allowed_hosts: &[String]) -> Result<Target, String> {
    if raw.len() > MAX_URL {
        return Err(format!("must be at most {MAX_URL} characters"));
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("is not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    let host = url
        .host_str()
        .ok_or("must name a host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let allowed = allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(&host));
    let https = match url.scheme() {
        "https" => true,
        "http" if allowed => false,
        "http" => {
            return Err("must be https (http only for hosts in WEBHOOK_ALLOWED_HOSTS)".into())
        }
        other => return Err(format!("must be https, not {other}")),
    };
    // The URL parser reads `2130706433` and `0x7f000001` as 127.0.0.1 already.
    if let (false, Ok(ip)) = (allowed, host.parse::<IpAddr>()) {
        if let Some(kind) = refused(ip) {
            return Err(format!("names {ip}, a {kind} address"));
        }
    }
    let mut path = url.path().to_owned();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    Ok(Target {
        address: http_client::Target {
            https,
            port: url.port_or_known_default().unwrap_or(443),
            host,
            path,
        },
        allowed,
    })
}

/// The addresses to connect to: every address of the host, when none is refused.
pub fn resolve(target: &Target) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", target.host))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{} has no address", target.host));
    }
    if !target.allowed {
        for a in &addrs {
            if let Some(kind) = refused(a.ip()) {
                return Err(format!(
                    "refused: {} resolves to {}, a {kind} address",
                    target.host,
                    a.ip()
                ));
            }
        }
    }
    Ok(addrs)
}

/// What kind of address no webhook may reach, if `ip` is one.
pub fn refused(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (CGNAT)")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if a == 0 {
        Some("unspecified")
    } else if a >= 240 {
        Some("reserved")
    } else {
        None
    }
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if s[0] & 0xfe00 == 0xfc00 {
        Some("private (unique local)")
    } else if s[0] & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if let Some(v4) = embedded_v4(ip) {
        refused_v4(v4)
    } else {
        None
    }
}

/// The IPv4 address an IPv6 address stands for: mapped (`::ffff:a.b.c.d`), compatible
/// (`::a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    let compatible = s[..6] == [0; 6];
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4];
    (mapped || compatible || nat64).then_some(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_in_every_spelling_are_refused() {
        for url in [
            "https://127.0.0.1/hook",
            "https://[::1]/hook",
            "https://10.0.0.1/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:127.0.0.1]/hook",
            "https://2130706433/hook",
            "https://0x7f000001/hook",
            "https://100.64.0.1/hook",
            "https://[fd00::1]/hook",
            "https://[fe80::1]/hook",
            "https://0.0.0.0/hook",
            "https://224.0.0.1/hook",
        ] {
            assert!(target(url, &[]).is_err(), "{url} was let through");
        }
        // A name is checked by what it resolves to.
        let local = target("https://localhost:9/hook", &[]).unwrap();
        assert!(resolve(&local).unwrap_err().contains("loopback"));
        assert!(target("http://example.org/hook", &[]).is_err(), "http");
        assert!(target("https://user:pw@example.org/hook", &[]).is_err());
        assert!(target("ftp://example.org/hook", &[]).is_err());
        let ok = target("https://hooks.example.org/a?b=c", &[]).unwrap();
        assert_eq!(
            (ok.host.as_str(), ok.port, ok.path.as_str()),
            ("hooks.example.org", 443, "/a?b=c")
        );
        // Allow-listed hosts may be http and internal: development and the tests.
        let dev = target("http://127.0.0.1:8081/hook", &["127.0.0.1".into()]).unwrap();
        assert!(!dev.https && dev.allowed);
        assert!(resolve(&dev).is_ok());
    }
}
