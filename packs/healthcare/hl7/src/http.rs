//! A small HTTP/1.1 client over std::net for the FHIR uplink: one POST per connection
//! (`Connection: close`), Content-Length or chunked answers. Plain http:// only: Debian's
//! packaged TLS crates are not part of this build, so https needs a TLS-terminating proxy on the
//! gateway (stunnel, nginx) until a TLS crate is added.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// Path without a trailing slash ("" for the root).
    pub path: String,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, String> {
        if text.starts_with("https://") {
            return Err(format!(
                "{text}: https is not built into this plugin (no TLS crate); point base_url at a TLS-terminating proxy on the gateway, e.g. http://127.0.0.1:8443"
            ));
        }
        let rest = text.strip_prefix("http://").ok_or_else(|| format!("{text}: base_url must start with http://"))?;
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| format!("{text}: port {p:?} is not a number"))?)
            }
            _ => (authority, 80),
        };
        if host.is_empty() {
            return Err(format!("{text}: no host"));
        }
        Ok(Url { host: host.trim_matches(|c| c == '[' || c == ']').to_owned(), port, path: path.to_owned() })
    }
}

/// Status code and body of an answer.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// POSTs `body` to `url` (+ `suffix`); errors are transport failures, in words.
pub fn post(url: &Url, suffix: &str, content_type: &str, body: &[u8], timeout: Duration) -> Result<Answer, String> {
    let target = format!("{}:{}", url.host, url.port);
    let address = target
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {target}: {e}"))?
        .next()
        .ok_or_else(|| format!("{target} resolves to nothing"))?;
    let mut stream = TcpStream::connect_timeout(&address, timeout).map_err(|e| format!("connect {target}: {e}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let path = format!("{}{}", url.path, suffix);
    let path = if path.is_empty() { "/".to_owned() } else { path };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: {content_type}\r\nAccept: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: backworks-hl7\r\n\r\n",
        url.host,
        url.port,
        body.len()
    );
    stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(body)).map_err(|e| format!("send to {target}: {e}"))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("read from {target}: {e}"))?;
    parse_answer(&raw).ok_or_else(|| format!("{target} answered something that is not HTTP/1.x"))
}

fn parse_answer(raw: &[u8]) -> Option<Answer> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    if !status_line.starts_with("HTTP/1.") {
        return None;
    }
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let mut body = raw[end + 4..].to_vec();
    if chunked {
        body = dechunk(&body).unwrap_or_default();
    }
    Some(Answer { status, body: String::from_utf8_lossy(&body).into_owned() })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(Url::parse("http://fhir:8080/r4/").unwrap(), Url { host: "fhir".into(), port: 8080, path: "/r4".into() });
        assert_eq!(Url::parse("http://h").unwrap().port, 80);
        assert!(Url::parse("https://fhir.hospital.com").unwrap_err().contains("TLS-terminating proxy"));
    }

    #[test]
    fn chunked_answer() {
        let a = parse_answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n").unwrap();
        assert_eq!((a.status, a.body.as_str()), (200, "abc"));
    }
}
