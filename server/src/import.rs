//! Import by URL: a server-side fetch that a stranger controls, so it is fenced in.
//! http and https only; the host is resolved once and the connection goes to that
//! address; loopback, private, link-local (cloud metadata), unique-local, multicast,
//! unspecified and reserved addresses are refused, also inside IPv4-mapped and 6to4/NAT64
//! IPv6 forms and after every redirect; size and time are capped; the first bytes must be
//! a picture we read. An allow-list (empty by default) can open chosen hosts or ranges.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Url;
use tokio::io::AsyncWriteExt;

use crate::error::AppError;

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;
/// Time to connect and get the answer's headers.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait for a name to resolve (the request waits for it).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// One allow-list entry: a host name, an address, or a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowRule {
    /// Exactly this host name.
    Host(String),
    /// Addresses in this range.
    Range(IpAddr, u8),
}

impl AllowRule {
    /// Parses `example.org`, `127.0.0.1`, `10.0.0.0/8` or `fd00::/8`.
    pub fn parse(entry: &str) -> Option<AllowRule> {
        let entry = entry.trim();
        if entry.is_empty() {
            return None;
        }
        let (addr, bits) = match entry.split_once('/') {
            Some((a, b)) => (a, b.parse::<u8>().ok()),
            None => (entry, None),
        };
        match addr.parse::<IpAddr>() {
            Ok(ip) => {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                Some(AllowRule::Range(ip, bits.unwrap_or(max).min(max)))
            }
            Err(_) => Some(AllowRule::Host(entry.to_ascii_lowercase())),
        }
    }

    fn allows(&self, host: &str, ip: IpAddr) -> bool {
        match self {
            AllowRule::Host(h) => h == &host.to_ascii_lowercase(),
            AllowRule::Range(net, bits) => in_range(ip, *net, *bits),
        }
    }
}

fn in_range(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Why an address may not be fetched, or `None` when it is a public unicast address.
pub fn forbidden_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local (cloud metadata)")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if o[0] == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() || o[0] >= 240 {
        Some("reserved")
    } else if o[0] == 100 && (o[1] & 0xC0) == 64 {
        Some("shared (carrier-grade NAT)")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("reserved (IETF)")
    } else if o[0] == 198 && (o[1] & 0xFE) == 18 {
        Some("reserved (benchmarking)")
    } else if matches!(
        (o[0], o[1], o[2]),
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113)
    ) {
        Some("documentation")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4).or(None);
    }
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Some("unique-local")
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if (s[0] & 0xffc0) == 0xfec0 {
        Some("site-local")
    } else if s[0] == 0x2001 && s[1] == 0 {
        // Teredo tunnels to an address of the server's choosing.
        Some("Teredo")
    } else if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        Some("local-use NAT64")
    } else if s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0 {
        // IPv4-compatible (deprecated) forms embed an IPv4 address.
        forbidden_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ))
        .or(Some("reserved"))
    } else if s[0] == 0x64 && s[1] == 0xff9b {
        // NAT64 reaches the embedded IPv4 address.
        forbidden_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ))
    } else if s[0] == 0x2002 {
        // 6to4 embeds an IPv4 address.
        forbidden_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ))
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Some("documentation")
    } else {
        None
    }
}

/// Import settings.
#[derive(Debug, Clone)]
pub struct ImportPolicy {
    /// Hosts and ranges allowed even if not public.
    pub allow: Vec<AllowRule>,
    /// Largest download, bytes.
    pub max_bytes: u64,
    /// Longest download.
    pub timeout: Duration,
}

/// An answered import: the response, ready to stream, and the first bytes read.
pub struct Fetched {
    response: reqwest::Response,
    head: Vec<u8>,
    /// The file name the URL suggests.
    pub name: String,
}

fn refuse(message: String) -> AppError {
    AppError::BadRequest(message)
}

/// Checks `url` and every redirect, connects to the checked address only, and reads the
/// first bytes to check they are a picture. Everything wrong is a 4xx with the reason.
pub async fn fetch(policy: &ImportPolicy, url: &str) -> Result<Fetched, AppError> {
    let mut url =
        Url::parse(url.trim()).map_err(|e| refuse(format!("{url:?} is not a URL: {e}")))?;
    for _ in 0..=MAX_REDIRECTS {
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(refuse(format!(
                "only http and https URLs can be imported, not {}:",
                url.scheme()
            )));
        }
        let host = url
            .host_str()
            .ok_or_else(|| refuse("the URL has no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let address = resolve_checked(policy, &host, port).await?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(policy.timeout)
            .no_proxy()
            .resolve(&host, address)
            .build()
            .map_err(AppError::internal)?;
        let response = tokio::time::timeout(CONNECT_TIMEOUT, client.get(url.clone()).send())
            .await
            .map_err(|_| {
                refuse(format!(
                    "{host} did not answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| refuse(format!("could not fetch {url}: {e}")))?;
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| refuse("a redirect without a Location".into()))?;
            url = url
                .join(location)
                .map_err(|e| refuse(format!("bad redirect {location:?}: {e}")))?;
            continue;
        }
        if !response.status().is_success() {
            return Err(refuse(format!("{url} answered {}", response.status())));
        }
        if let Some(length) = response.content_length() {
            if length > policy.max_bytes {
                return Err(AppError::TooLarge(format!(
                    "the picture at that URL is {length} bytes, over this server's limit of {} MiB",
                    policy.max_bytes >> 20
                )));
            }
        }
        let name = url
            .path_segments()
            .and_then(|mut s| s.next_back().map(str::to_string))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| host.clone());
        let mut fetched = Fetched {
            response,
            head: Vec::new(),
            name,
        };
        while fetched.head.len() < 16 {
            match fetched.response.chunk().await {
                Ok(Some(bytes)) => fetched.head.extend_from_slice(&bytes),
                Ok(None) => break,
                Err(e) => return Err(refuse(format!("the download broke off: {e}"))),
            }
        }
        hugepic_workers::decode::sniff(&fetched.head).map_err(|e| {
            AppError::UnsupportedMediaType(format!("the URL does not point to a picture: {e}"))
        })?;
        return Ok(fetched);
    }
    Err(refuse(format!("more than {MAX_REDIRECTS} redirects")))
}

/// Resolves `host` once and checks the address it will connect to.
async fn resolve_checked(
    policy: &ImportPolicy,
    host: &str,
    port: u16,
) -> Result<SocketAddr, AppError> {
    let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| refuse(format!("cannot resolve {host}: no answer in time")))?
            .map_err(|e| refuse(format!("cannot resolve {host}: {e}")))?
            .collect(),
    };
    let address = *addresses
        .first()
        .ok_or_else(|| refuse(format!("{host} has no address")))?;
    let allowed = policy
        .allow
        .iter()
        .any(|rule| rule.allows(host, address.ip()));
    if !allowed {
        // Every address must be public: a name resolving to a mix is an attack.
        for a in &addresses {
            if let Some(kind) = forbidden_kind(a.ip()) {
                return Err(refuse(format!(
                    "refusing to fetch from {host}: it is a {kind} address ({})",
                    a.ip()
                )));
            }
        }
    }
    Ok(address)
}

/// Streams the rest of `fetched` into `file`, enforcing the size cap.
pub async fn download(
    policy: &ImportPolicy,
    fetched: Fetched,
    file: &std::path::Path,
) -> Result<u64, String> {
    let mut out = tokio::fs::File::create(file)
        .await
        .map_err(|e| e.to_string())?;
    out.write_all(&fetched.head)
        .await
        .map_err(|e| e.to_string())?;
    let mut total = fetched.head.len() as u64;
    let mut stream = fetched.response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("the download broke off: {e}"))?;
        total += chunk.len() as u64;
        if total > policy.max_bytes {
            return Err(format!(
                "the download is over this server's limit of {} MiB",
                policy.max_bytes >> 20
            ));
        }
        out.write_all(&chunk).await.map_err(|e| e.to_string())?;
    }
    out.flush().await.map_err(|e| e.to_string())?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "::127.0.0.1",
            "198.18.0.1",
            "198.19.255.254",
            "192.0.2.7",
            "203.0.113.9",
            "64:ff9b:1::808:808",
            "fec0::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(forbidden_kind(ip).is_some(), "{ip} must be refused");
        }
        for ip in [
            "93.184.215.14",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(forbidden_kind(ip), None, "{ip} is public");
        }
    }

    #[test]
    fn allow_rules() {
        let local = AllowRule::parse("127.0.0.0/8").unwrap();
        assert!(local.allows("x", "127.0.0.1".parse().unwrap()));
        assert!(!local.allows("x", "128.0.0.1".parse().unwrap()));
        let host = AllowRule::parse("Pictures.Example").unwrap();
        assert!(host.allows("pictures.example", "10.0.0.1".parse().unwrap()));
        assert_eq!(
            AllowRule::parse("::1"),
            Some(AllowRule::Range("::1".parse().unwrap(), 128))
        );
        assert_eq!(AllowRule::parse(" "), None);
    }
}
