-- The table of the PostgreSQL idempotency store (the BatchIdempotencyPostgres module of swift-batch-processing).
-- Apply it with `batchproc idempotency migrate --idempotency-postgres URL`, or by hand with psql; applying it again
-- changes nothing. A store with another table name (`table` in its configuration) uses this text with the name
-- replaced.
--
-- One row per idempotency key. `key` is the SHA-256 of the namespace and the record's key part, 64 hex digits.
-- Times are milliseconds since 1970 (UTC), from the clocks of the processes that write them. `live_until` is when
-- the row stops counting: `in_progress_until` while in progress, `expires_at` once completed; purging deletes the
-- rows past it, through its index.
CREATE TABLE IF NOT EXISTS batch_idempotency (
    key text PRIMARY KEY CHECK (length(key) = 64),
    status text NOT NULL CHECK (status IN ('in_progress', 'completed')),
    token text NOT NULL,
    payload_hash text,
    in_progress_until bigint NOT NULL,
    expires_at bigint NOT NULL,
    live_until bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS batch_idempotency_live_until ON batch_idempotency (live_until);
