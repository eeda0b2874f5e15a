//! TLS for the FHIR uplink, with rustls (pure Rust on ring: the plugin needs no libssl at run
//! time). Trust is the system CA store (`/etc/ssl/certs` on Debian) plus an optional private CA
//! file (`tls.ca_file`); the server's host name is always verified, there is no way to turn that off.

use std::io::BufReader;
use std::net::TcpStream;
use std::sync::Arc;

use rustls::{Certificate, ClientConfig, ClientConnection, RootCertStore, ServerName, StreamOwned};

/// The certificates of a private CA file, checked: missing, unreadable, not PEM, holding no
/// certificate or one that cannot be a trust anchor is an error naming the file and what is wrong.
/// A relative path is resolved against the plugin's working directory, the folder of backworks.yaml.
pub fn read_ca_file(path: &str) -> Result<Vec<Certificate>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("tls.ca_file {path}: cannot open it: {e}"))?;
    let ders = rustls_pemfile::certs(&mut BufReader::new(file)).map_err(|e| format!("tls.ca_file {path}: not a PEM file: {e}"))?;
    if ders.is_empty() {
        return Err(format!("tls.ca_file {path}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)"));
    }
    let certs: Vec<Certificate> = ders.into_iter().map(Certificate).collect();
    for (n, cert) in certs.iter().enumerate() {
        RootCertStore::empty().add(cert).map_err(|e| format!("tls.ca_file {path}: certificate #{} cannot be used as a CA: {e}", n + 1))?;
    }
    Ok(certs)
}

/// The settings every https delivery uses, built once when the config is read: the system CA
/// store plus `private` CAs. With no CA at all every handshake would fail, so that is an error.
pub fn client_config(private: &[Certificate]) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    // A missing system store is not fatal by itself: a private CA may be all a hospital needs.
    if let Ok(system) = rustls_native_certs::load_native_certs() {
        roots.add_parsable_certificates(&system.into_iter().map(|c| c.0).collect::<Vec<_>>());
    }
    for cert in private {
        roots.add(cert).map_err(|e| format!("tls.ca_file: {e}"))?;
    }
    if roots.is_empty() {
        return Err("no trusted CA certificate: the system store (/etc/ssl/certs, Debian package ca-certificates) is empty and tls.ca_file is not set".into());
    }
    let config = ClientConfig::builder().with_safe_defaults().with_root_certificates(roots).with_no_client_auth();
    Ok(Arc::new(config))
}

/// Opens TLS over a connected socket and finishes the handshake here, so that an untrusted
/// certificate or a name mismatch is reported as a handshake failure, not as a failed write.
pub fn connect(mut tcp: TcpStream, host: &str, config: &Arc<ClientConfig>, target: &str) -> Result<StreamOwned<ClientConnection, TcpStream>, String> {
    let name = ServerName::try_from(host).map_err(|_| format!("{host} is not a valid TLS server name"))?;
    let mut tls = ClientConnection::new(config.clone(), name).map_err(|e| format!("TLS with {target}: {e}"))?;
    while tls.is_handshaking() {
        tls.complete_io(&mut tcp).map_err(|e| format!("TLS handshake with {target} failed: {e}"))?;
    }
    Ok(StreamOwned::new(tls, tcp))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A self-signed CA certificate (no key kept), for what only needs a parsable trust anchor.
    pub(crate) fn test_ca() -> String {
        format!("{}/testdata/unit-test-ca.pem", env!("CARGO_MANIFEST_DIR"))
    }

    /// A temporary file with `text` in it; its path.
    pub(crate) fn temp_file(name: &str, text: &str) -> String {
        let path = std::env::temp_dir().join(format!("hl7-tls-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn ca_file_problems_name_the_file_and_the_problem() {
        assert_eq!(read_ca_file(&test_ca()).unwrap().len(), 1);
        let missing = read_ca_file("/nonexistent/ca.pem").unwrap_err();
        assert!(missing.starts_with("tls.ca_file /nonexistent/ca.pem: cannot open it"), "{missing}");
        let text = temp_file("text.pem", "just some text\n");
        assert!(read_ca_file(&text).unwrap_err().contains(&format!("{text}: no PEM certificate in it")));
        let key_only = temp_file("key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        assert!(read_ca_file(&key_only).unwrap_err().contains("no PEM certificate in it"));
        let bad_base64 = temp_file("b64.pem", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
        assert!(read_ca_file(&bad_base64).unwrap_err().contains(&format!("{bad_base64}: not a PEM file")));
        let not_x509 = temp_file("junk.pem", "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n");
        assert!(read_ca_file(&not_x509).unwrap_err().contains("certificate #1 cannot be used as a CA"));
        for file in [text, key_only, bad_base64, not_x509] {
            let _ = std::fs::remove_file(file);
        }
    }

    #[test]
    fn a_private_ca_alone_is_enough_to_build_the_settings() {
        assert!(client_config(&read_ca_file(&test_ca()).unwrap()).is_ok());
    }
}
