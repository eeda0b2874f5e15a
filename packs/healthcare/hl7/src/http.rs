//! A small HTTP/1.1 client over std::net for the FHIR uplink: one POST per connection
//! (`Connection: close`), Content-Length or chunked answers, http:// or https:// (rustls, see
//! tls.rs). Plain and TLS streams share one code path: after the handshake both are `Read + Write`.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::{Certificate, ClientConfig};

use crate::tls;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// https://
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path without a trailing slash ("" for the root).
    pub path: String,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, String> {
        let (tls, rest) = match (text.strip_prefix("https://"), text.strip_prefix("http://")) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            _ => return Err(format!("{text}: base_url must start with http:// or https://")),
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| format!("{text}: port {p:?} is not a number"))?)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        let host = host.trim_matches(|c| c == '[' || c == ']');
        if host.is_empty() {
            return Err(format!("{text}: no host"));
        }
        // rustls 0.20 (webpki 0.22) matches certificates to DNS names only.
        if tls && host.parse::<IpAddr>().is_ok() {
            return Err(format!("{text}: https needs the server's host name, as its certificate names it (this TLS library cannot check a certificate against an IP address)"));
        }
        Ok(Url { tls, host: host.to_owned(), port, path: path.to_owned() })
    }
}

/// Where and how the uplink POSTs: the URL, the TLS settings when it is https, the timeout.
#[derive(Clone)]
pub struct Client {
    url: Url,
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("url", &self.url).field("tls", &self.tls.is_some()).field("timeout", &self.timeout).finish()
    }
}

/// Status code and body of an answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Plain TCP or TLS over it: the request and the answer do not care which.
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

impl Client {
    /// `private_cas` (tls.ca_file) are trusted besides the system store when the URL is https.
    pub fn new(url: Url, private_cas: &[Certificate], timeout: Duration) -> Result<Client, String> {
        let tls = if url.tls { Some(tls::client_config(private_cas)?) } else { None };
        Ok(Client { url, tls, timeout })
    }

    /// POSTs `body` to the URL (+ `suffix`); errors are transport failures (no HTTP answer), in words.
    pub fn post(&self, suffix: &str, content_type: &str, body: &[u8]) -> Result<Answer, String> {
        let url = &self.url;
        let target = format!("{}:{}", url.host, url.port);
        let tcp = connect(&target, self.timeout)?;
        tcp.set_read_timeout(Some(self.timeout)).map_err(|e| e.to_string())?;
        tcp.set_write_timeout(Some(self.timeout)).map_err(|e| e.to_string())?;
        let mut stream: Box<dyn Stream> = match &self.tls {
            Some(config) => Box::new(tls::connect(tcp, &url.host, config, &target)?),
            None => Box::new(tcp),
        };
        let path = format!("{}{}", url.path, suffix);
        let path = if path.is_empty() { "/".to_owned() } else { path };
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: {content_type}\r\nAccept: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: backworks-hl7\r\n\r\n",
            url.host,
            url.port,
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.write_all(body))
            .and_then(|_| stream.flush())
            .map_err(|e| format!("send to {target}: {e}"))?;
        let mut raw = Vec::new();
        match stream.read_to_end(&mut raw) {
            // Many TLS servers close without close_notify; the answer read so far was authenticated.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof && !raw.is_empty() => {}
            Err(e) => return Err(format!("read from {target}: {e}")),
            Ok(_) => {}
        }
        parse_answer(&raw).ok_or_else(|| format!("{target} answered something that is not HTTP/1.x"))
    }
}

/// Tries each address the name resolves to (localhost may be ::1 first, the server on 127.0.0.1).
fn connect(target: &str, timeout: Duration) -> Result<TcpStream, String> {
    let addresses = target.to_socket_addrs().map_err(|e| format!("cannot resolve {target}: {e}"))?;
    let mut last = format!("{target} resolves to nothing");
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = format!("connect {target}: {e}"),
        }
    }
    Err(last)
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
        assert_eq!(Url::parse("http://fhir:8080/r4/").unwrap(), Url { tls: false, host: "fhir".into(), port: 8080, path: "/r4".into() });
        assert_eq!(Url::parse("http://h").unwrap().port, 80);
        assert_eq!(Url::parse("https://fhir.hospital.com").unwrap(), Url { tls: true, host: "fhir.hospital.com".into(), port: 443, path: "".into() });
        assert_eq!(Url::parse("https://fhir:8443/r4").unwrap().port, 8443);
        assert!(Url::parse("https://127.0.0.1:8443").unwrap_err().contains("host name"));
        assert!(Url::parse("ftp://fhir").unwrap_err().contains("http:// or https://"));
    }

    /// A one-connection server on 127.0.0.1 that reads the request head and writes `answer`.
    fn serve_once(answer: &'static [u8]) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut peer, _) = listener.accept().unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            // A TLS ClientHello is answered at once (it never holds an empty line).
            while seen.is_empty() || (seen.starts_with(b"POST") && !seen.windows(4).any(|w| w == b"\r\n\r\n")) {
                match peer.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let _ = peer.write_all(answer);
        });
        port
    }

    fn client(url: &str) -> Client {
        let cas = crate::tls::read_ca_file(&crate::tls::tests::test_ca()).unwrap();
        Client::new(Url::parse(url).unwrap(), &cas, Duration::from_secs(5)).unwrap()
    }

    #[test]
    fn plain_post() {
        let port = serve_once(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
        let a = client(&format!("http://localhost:{port}/fhir")).post("", "application/fhir+json", b"{}").unwrap();
        assert_eq!((a.status, a.body.as_str()), (201, "ok"));
    }

    #[test]
    fn https_to_a_server_that_does_not_speak_tls_is_a_handshake_failure() {
        let port = serve_once(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        let e = client(&format!("https://localhost:{port}")).post("", "application/fhir+json", b"{}").unwrap_err();
        assert!(e.starts_with(&format!("TLS handshake with localhost:{port} failed: ")), "{e}");
    }

    #[test]
    fn a_refused_connection_says_so() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // closed again
        let e = client(&format!("https://localhost:{port}")).post("", "application/fhir+json", b"{}").unwrap_err();
        assert!(e.starts_with(&format!("connect localhost:{port}: ")) && e.contains("refused"), "{e}");
    }

    #[test]
    fn chunked_answer() {
        let a = parse_answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n").unwrap();
        assert_eq!((a.status, a.body.as_str()), (200, "abc"));
    }
}
