//! The integration-test binary: every module talks to moto and/or the SP-API
//! simulator on 127.0.0.1, with its own table, queues and sellers.

mod idempotency;
mod provision;
mod sim_behaviour;
mod sim_schema;
mod store;
