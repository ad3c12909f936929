//! The WMS stock endpoint behind a private CA: with the CA's PEM in the
//! endpoint secret (`ca_pem`) the stock is read; without it the certificate
//! is refused at once — a permanent error that says where the PEM goes, not
//! a retried "WMS down" — and a `ca_pem` that is not a certificate is the
//! secret's fault, said so.
//!
//! `tests/fixtures/private-ca.crt`: a test CA; `wms.{crt,key}`: a server
//! certificate it signed for `localhost` and 127.0.0.1 (valid until 2126),
//! used nowhere else.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use domain::Deadline;
use inventory_push::ports::{
    HttpStockSource, StockEndpoint, StockEndpointSecret, StockError, StockHttpOptions, StockSource,
};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

const PAGE: &str = r#"{"schema": 1, "items": [{"sku": "MUG-BLUE-350", "on_hand": 120, "available": 97}], "next_page": null}"#;

/// An HTTPS stock endpoint on 127.0.0.1 with the private CA's certificate:
/// answers every request with [`PAGE`]; counts the requests it read.
async fn wms() -> (String, Arc<AtomicUsize>) {
    let cert = CertificateDer::from_pem_file(format!("{FIXTURES}/wms.crt")).unwrap();
    let key = PrivateKeyDer::from_pem_file(format!("{FIXTURES}/wms.key")).unwrap();
    let config = ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, counted) = (acceptor.clone(), counted.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return; // the client refused the certificate
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{PAGE}",
                    PAGE.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (format!("https://localhost:{port}/stock"), requests)
}

struct Secret(StockEndpoint);

#[async_trait::async_trait]
impl StockEndpointSecret for Secret {
    async fn endpoint(&self) -> Result<StockEndpoint, StockError> {
        Ok(self.0.clone())
    }
}

fn source(url: &str, ca_pem: Option<String>) -> HttpStockSource {
    let endpoint = StockEndpoint {
        url: url.to_string(),
        token: SecretString::from("wms-token"),
        ca_pem,
    };
    let options = StockHttpOptions {
        backoff: Duration::from_millis(1),
        ..StockHttpOptions::default()
    };
    HttpStockSource::new(Arc::new(Secret(endpoint)), options).unwrap()
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(30))
}

#[tokio::test]
async fn with_the_private_ca_in_the_secret_the_stock_is_read() {
    let (url, requests) = wms().await;
    let ca = std::fs::read_to_string(format!("{FIXTURES}/private-ca.crt")).unwrap();
    let stock = source(&url, Some(ca));
    for _ in 0..2 {
        let items = stock.fetch_all("ACME", &deadline()).await.unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].sku.as_str(), "MUG-BLUE-350");
    }
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn without_it_the_certificate_is_refused_once_and_the_error_says_where_the_pem_goes() {
    let (url, requests) = wms().await;
    let err = source(&url, None)
        .fetch_all("ACME", &deadline())
        .await
        .unwrap_err();
    assert!(!err.retryable, "{err}");
    assert_eq!(err.error_type, "WmsCertificateRefused");
    assert!(err.message.contains("\"ca_pem\""), "{err}");
    assert!(err.message.contains("UnknownIssuer"), "{err}");
    assert!(
        !err.message.contains("localhost"),
        "no URL in the text: {err}"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 0, "no request was sent");
}

#[tokio::test]
async fn a_ca_pem_that_is_no_certificate_is_the_secrets_fault() {
    let (url, _) = wms().await;
    let key = std::fs::read_to_string(format!("{FIXTURES}/wms.key")).unwrap();
    let err = source(&url, Some(key))
        .fetch_all("ACME", &deadline())
        .await
        .unwrap_err();
    assert!(!err.retryable, "{err}");
    assert_eq!(err.error_type, "WmsSecretUnreadable");
    assert!(err.message.contains("BEGIN CERTIFICATE"), "{err}");
    assert!(
        !err.message.contains("PRIVATE KEY"),
        "the PEM is not quoted: {err}"
    );
}
