//! The TLS configuration of the connector's own HTTPS clients (reqwest: the
//! SP-API and LWA, feed documents, the WMS stock endpoint): rustls on AWS-LC,
//! certificate and host name verification on, TLS 1.2 and 1.3, and
//! **Mozilla's root certificates compiled into the binary** (`webpki-roots`)
//! instead of the OS certificate store.
//!
//! Why (BENCHMARKS.md, "Init"): reqwest's default verifier reads and parses
//! the whole OS store each time a client is built, which was most of a
//! function's Lambda init (on Debian a bundle plus ~290 files). The compiled
//! roots are data already in the binary: building this configuration parses
//! nothing. The trade-off: the roots change with our releases (`cargo update
//! -p webpki-roots`, then a deploy), not with the Lambda OS image, and a CA
//! added to the OS (or named by `SSL_CERT_FILE`) is not trusted by these
//! clients; an endpoint of the operator's own behind a private CA names its
//! CA in its configuration instead ([`client_builder_trusting`], the WMS
//! stock secret's `ca_pem`). The AWS SDK's clients keep the OS store
//! (`lambda_kit::aws_config`).

use std::sync::{Arc, LazyLock};

/// Built once per process; every client gets a clone (they share the root
/// store and the TLS session cache).
static CONFIG: LazyLock<Result<rustls::ClientConfig, rustls::Error>> = LazyLock::new(build);

fn build() -> Result<rustls::ClientConfig, rustls::Error> {
    with_roots(compiled_roots())
}

fn compiled_roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn with_roots(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, rustls::Error> {
    // What reqwest builds for itself with its `rustls` feature (AWS-LC's
    // default provider, TLS 1.2 and 1.3, SNI on), the roots aside.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // The ALPN reqwest offers when built without its `http2` feature (as the
    // workspace builds it); a preconfigured TLS config is used as given.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The rustls configuration every reqwest client of the connector uses.
pub fn client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    CONFIG.clone()
}

/// A reqwest client builder with [`client_config`]: the one way the
/// connector builds an HTTPS client. (Should the configuration ever fail to
/// build — AWS-LC without TLS 1.2/1.3 — it falls back to reqwest's own, which
/// verifies against the OS store: slower to build, as safe.)
pub fn client_builder() -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    match client_config() {
        Ok(config) => builder.tls_backend_preconfigured(config),
        Err(e) => {
            tracing::warn!(error = %e, "compiled-in TLS roots unavailable; using the OS store");
            builder
        }
    }
}

/// A client builder like [`client_builder`] that also trusts the CA
/// certificates in `ca_pem` (one or more PEM `CERTIFICATE` blocks): for an
/// endpoint of the operator's own, such as a WMS behind a private CA. The
/// compiled-in roots stay trusted; host names are still verified. The error
/// is a sentence saying what is wrong with the PEM.
pub fn client_builder_trusting(ca_pem: &str) -> Result<reqwest::ClientBuilder, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = compiled_roots();
    let mut added = 0usize;
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("the CA PEM does not parse: {e}"))?;
        roots.add(cert).map_err(|e| {
            format!(
                "certificate {} of the CA PEM is not a usable CA: {e}",
                added + 1
            )
        })?;
        added += 1;
    }
    if added == 0 {
        return Err("the CA PEM holds no \"-----BEGIN CERTIFICATE-----\" block".into());
    }
    let config = with_roots(roots).map_err(|e| format!("TLS configuration failed: {e}"))?;
    Ok(reqwest::Client::builder().tls_backend_preconfigured(config))
}

/// Why the server's certificate was refused (unknown issuer, expired,
/// wrong host name...), when that is what `e` is: not something a retry
/// heals. The text is rustls' own ("invalid peer certificate: ...").
pub fn certificate_refusal(e: &reqwest::Error) -> Option<String> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(refusal @ rustls::Error::InvalidCertificate(_)) =
            err.downcast_ref::<rustls::Error>()
        {
            return Some(refusal.to_string());
        }
        // rustls' error travels inside io::Errors, whose `source` skips
        // what they wrap: descend into it instead.
        next = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_roots_include_the_cas_amazon_and_aws_endpoints_chain_to() {
        let subjects: Vec<String> = webpki_roots::TLS_SERVER_ROOTS
            .iter()
            .map(|a| String::from_utf8_lossy(a.subject.as_ref()).into_owned())
            .collect();
        assert!(subjects.len() > 100, "Mozilla's set, not a stub");
        // Amazon Trust Services (AWS endpoints, S3 feed documents), DigiCert
        // G2 (amazon.com hosts: SP-API, LWA), Let's Encrypt (many a WMS):
        // the subject DER holds the CN as text. (Mozilla no longer trusts
        // DigiCert's 2006 "Global Root CA" for TLS; the G2 root replaces it.)
        for cn in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
            "DigiCert Global Root G2",
            "ISRG Root X1",
        ] {
            assert!(
                subjects.iter().any(|s| s.contains(cn)),
                "{cn} is not among the compiled roots"
            );
        }
    }

    #[test]
    fn one_configuration_per_process_with_sni_and_http1() {
        let a = client_config().unwrap();
        assert!(a.enable_sni);
        assert_eq!(a.alpn_protocols, vec![b"http/1.1".to_vec()]);
        // Built once: every clone holds the same provider (and root store).
        let b = client_config().unwrap();
        assert!(Arc::ptr_eq(a.crypto_provider(), b.crypto_provider()));
    }
}
