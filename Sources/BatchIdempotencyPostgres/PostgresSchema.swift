/// The store's SQL: the table (the migration in `sql/postgres/001_batch_idempotency.sql`, with the table's name
/// put in) and the statements of each state change, each one round trip.
struct PostgresSchema: Sendable {
    /// The table, as written in SQL (checked by ``PostgresStoreConfiguration/isValidTableName(_:)``).
    let table: String

    init(table: String) {
        self.table = table
        claim = Self.claim(table)
        complete = Self.complete(table)
        release = Self.release(table)
        select = Self.select(table)
        page = Self.page(table)
        purge = Self.purge(table)
    }

    // The statements, made once per store rather than per call.
    let claim: String
    let complete: String
    let release: String
    let select: String
    let page: String
    let purge: String

    /// The name of the purge index: the table's own name (without its schema) and `_live_until`.
    var indexName: String { (table.split(separator: ".").last.map(String.init) ?? table) + "_live_until" }

    /// The migration's statements, in order. The repository's SQL file holds the same text for the default name.
    var migration: [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(table) (
                key text PRIMARY KEY CHECK (length(key) = 64),
                status text NOT NULL CHECK (status IN ('in_progress', 'completed')),
                token text NOT NULL,
                payload_hash text,
                in_progress_until bigint NOT NULL,
                expires_at bigint NOT NULL,
                live_until bigint NOT NULL
            );
            """,
            "CREATE INDEX IF NOT EXISTS \(indexName) ON \(table) (live_until);",
        ]
    }

    /// A claim: `$1` key, `$2` token, `$3` payload hash, `$4` in-progress-until, `$5` expires-at, `$6` now.
    ///
    /// It writes a new in-progress row, or takes over a row that no longer counts (`live_until <= now`), or one
    /// this holder already has (a claim repeated after its answer was lost). In the same statement it reads the row
    /// as it was (the statement's snapshot), so that the caller learns what it found: the answer is one row,
    /// `written` (0 or 1) and the earlier row's fields (all null when there was none).
    private static func claim(_ table: String) -> String {
        """
        WITH found AS (
            SELECT status, token, payload_hash, in_progress_until, expires_at FROM \(table) WHERE key = $1
        ), written AS (
            INSERT INTO \(table) AS existing (key, status, token, payload_hash, in_progress_until, expires_at, live_until)
            VALUES ($1, 'in_progress', $2, $3, $4, $5, $4)
            ON CONFLICT (key) DO UPDATE SET
                status = 'in_progress', token = excluded.token, payload_hash = excluded.payload_hash,
                in_progress_until = excluded.in_progress_until, expires_at = excluded.expires_at,
                live_until = excluded.live_until
            WHERE existing.live_until <= $6 OR (existing.status = 'in_progress' AND existing.token = excluded.token)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM written)::int4, found.status, found.token, found.payload_hash,
            found.in_progress_until, found.expires_at
        FROM (SELECT 1) AS one LEFT JOIN found ON true
        """
    }

    /// Completes the holder's row: `$1` key, `$2` token. Also applies when it is already completed by the same
    /// holder (a completion repeated after its answer was lost).
    private static func complete(_ table: String) -> String {
        "UPDATE \(table) SET status = 'completed', live_until = expires_at WHERE key = $1 AND token = $2 RETURNING 1"
    }

    /// Removes the holder's in-progress row: `$1` key, `$2` token.
    private static func release(_ table: String) -> String {
        "DELETE FROM \(table) WHERE key = $1 AND token = $2 AND status = 'in_progress' RETURNING 1"
    }

    /// One row by key: `$1` key.
    private static func select(_ table: String) -> String {
        "SELECT key, status, token, payload_hash, in_progress_until, expires_at FROM \(table) WHERE key = $1"
    }

    /// Every row, by key, after `$1` (an empty string for the first page), `$2` at most.
    private static func page(_ table: String) -> String {
        """
        SELECT key, status, token, payload_hash, in_progress_until, expires_at FROM \(table)
        WHERE key > $1 ORDER BY key LIMIT $2
        """
    }

    /// Deletes up to `$2` rows that stopped counting by `$1`, through the `live_until` index.
    private static func purge(_ table: String) -> String {
        """
        DELETE FROM \(table) WHERE live_until <= $1 AND key IN (
            SELECT key FROM \(table) WHERE live_until <= $1 ORDER BY live_until LIMIT $2 FOR UPDATE SKIP LOCKED
        )
        RETURNING 1
        """
    }
}
