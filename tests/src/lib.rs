//! Harness for the integration tests in `tests/it`: a moto server per test
//! process (one table/queue/secret prefix per test), the SP-API simulator on a
//! free port, log capture, and the functions' EMF metrics read back. Everything listens on 127.0.0.1 only.

pub mod admin;
pub mod browser;
pub mod client;
pub mod emf;
pub mod emu;
pub mod inventory;
pub mod labels;
pub mod logs;
pub mod moto;
pub mod notify;
pub mod onboarding;
pub mod pull;
pub mod ship;
pub mod sim;
pub mod wms_stock;
pub mod xsd;
