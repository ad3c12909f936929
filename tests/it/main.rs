//! The integration-test binary: every module talks to moto and/or the SP-API
//! simulator on 127.0.0.1, with its own table, queues and sellers.

mod admin;
mod audit;
mod client_sim;
mod credentials;
mod demo;
mod e2e;
mod idempotency;
mod inventory_push;
mod labels;
mod metrics;
mod no_pii_in_logs;
mod operator_cli;
mod order_pull;
mod order_pull_pii;
mod provision;
mod quota_shared;
mod readme;
mod shipment_confirm;
mod sim_behaviour;
mod sim_feeds;
mod sim_schema;
mod sim_shipping;
mod soak;
mod store;
mod template_rules;
