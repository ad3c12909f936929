//! SP-API simulator: stateful, rate-limited, fault-injecting HTTP server on 127.0.0.1 built from Amazon's models.
