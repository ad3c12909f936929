//! The integration-test binary: every module talks to moto and/or the SP-API
//! simulator on 127.0.0.1, with its own table, queues and sellers.

mod admin;
mod audit;
mod client_sim;
mod credentials;
mod demo;
mod e2e;
mod features_confirm;
mod features_marketplaces;
mod features_shipping;
mod features_stock_time;
mod idempotency;
mod inventory_push;
mod labels;
mod metrics;
mod no_pii_in_logs;
mod notifications;
mod operator_cli;
mod order_pull;
mod order_pull_pii;
mod provision;
mod quota_shared;
mod readme;
mod shipment_confirm;
mod sim_behaviour;
mod sim_feeds;
mod sim_notifications;
mod sim_schema;
mod sim_shipping;
mod store;
mod template_rules;
