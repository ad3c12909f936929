//! DynamoDB state: seller settings, order ledger, checkpoints, shared rate buckets, idempotency records (single table).
