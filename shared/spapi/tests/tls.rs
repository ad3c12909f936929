//! The connector's HTTPS clients (`spapi::tls`) against a local TLS server:
//! certificates are verified (a certificate no compiled-in root vouches for
//! is refused), and the client offers what reqwest's own configuration
//! offers (the roots are the only difference).
//!
//! `tests/fixtures/localhost.{crt,key}`: a self-signed test certificate for
//! `localhost` (valid until 2126), used nowhere else.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::Acceptor;
use tokio_rustls::rustls::{self, ServerConfig};

/// A TLS server on 127.0.0.1 with the fixture certificate; sends the ALPN
/// protocols each client hello offered.
async fn server() -> (u16, mpsc::UnboundedReceiver<Vec<Vec<u8>>>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let cert = CertificateDer::from_pem_file(format!("{dir}/localhost.crt")).unwrap();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/localhost.key")).unwrap();
    let config = Arc::new(
        ServerConfig::builder_with_provider(
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, config) = (tx.clone(), config.clone());
            tokio::spawn(async move {
                let Ok(start) = LazyConfigAcceptor::new(Acceptor::default(), stream).await else {
                    return;
                };
                let alpn = start
                    .client_hello()
                    .alpn()
                    .map(|protocols| protocols.map(<[u8]>::to_vec).collect())
                    .unwrap_or_default();
                let _ = tx.send(alpn);
                // Finish the handshake (the client refuses the certificate).
                let _ = start.into_stream(config).await;
            });
        }
    });
    (port, rx)
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_and_the_offer_is_reqwests_own() {
    let (port, mut offers) = server().await;
    let url = format!("https://localhost:{port}/");

    let ours = spapi::tls::client_builder().build().unwrap();
    let err = ours.get(&url).send().await.unwrap_err();
    let chain = format!("{err:?}");
    assert!(
        chain.contains("InvalidCertificate(UnknownIssuer)"),
        "expected an unknown-issuer refusal, got {chain}"
    );
    let refusal = spapi::tls::certificate_refusal(&err).expect("a certificate refusal");
    assert!(refusal.contains("UnknownIssuer"), "{refusal}");
    let our_offer = offers.recv().await.unwrap();

    // reqwest's own configuration (the OS store) refuses it too, after
    // offering exactly the same protocols.
    let default = reqwest::Client::new();
    let err = default.get(&url).send().await.unwrap_err();
    assert!(format!("{err:?}").contains("InvalidCertificate"), "{err:?}");
    let default_offer = offers.recv().await.unwrap();
    assert_eq!(
        our_offer, default_offer,
        "the preconfigured TLS must offer what reqwest offers by itself (ALPN); \
         if reqwest's `http2` feature was turned on, update spapi::tls"
    );
    assert_eq!(our_offer, vec![b"http/1.1".to_vec()]);
}

#[tokio::test]
async fn a_client_trusting_an_extra_ca_accepts_what_it_vouches_for_and_still_checks_names() {
    let (port, _offers) = server().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let pem = std::fs::read_to_string(format!("{dir}/localhost.crt")).unwrap();
    let trusting = spapi::tls::client_builder_trusting(&pem)
        .unwrap()
        .build()
        .unwrap();
    // The handshake succeeds (the test server then closes without an
    // answer): whatever fails now, it is not the certificate.
    let err = trusting
        .get(format!("https://localhost:{port}/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(spapi::tls::certificate_refusal(&err), None, "{err:?}");
    // A name the certificate does not carry is still refused (the name
    // resolves to the test server here, no DNS asked).
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let elsewhere = spapi::tls::client_builder_trusting(&pem)
        .unwrap()
        .resolve("wms.not-localhost.test", addr)
        .build()
        .unwrap();
    let err = elsewhere
        .get(format!("https://wms.not-localhost.test:{port}/"))
        .send()
        .await
        .unwrap_err();
    let refusal = spapi::tls::certificate_refusal(&err).expect("a certificate refusal");
    assert!(refusal.contains("not valid for name"), "{refusal}");
}

#[test]
fn a_ca_pem_without_a_certificate_is_refused_with_a_reason() {
    for (pem, says) in [
        ("", "no \"-----BEGIN CERTIFICATE-----\" block"),
        (
            include_str!("fixtures/localhost.key"),
            "no \"-----BEGIN CERTIFICATE-----\" block",
        ),
        (
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
            "does not parse",
        ),
    ] {
        let err = spapi::tls::client_builder_trusting(pem).unwrap_err();
        assert!(err.contains(says), "{err}");
    }
}
