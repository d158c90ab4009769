import BatchIdempotency
import BatchIdempotencyTesting
import BatchProcessing
import BatchProcessingTestProcessSupport
import BatchProcessingTesting
import Foundation
import Synchronization
import Testing

@testable import BatchIdempotencyPostgres

@Suite("PostgreSQL store: configuration from URLs and the environment")
struct PostgresConfigurationTests {
    @Test("A full URL: user, password (percent-decoded), host, port, database, sslmode")
    func fullURL() throws {
        let configuration = try PostgresStoreConfiguration(
            url: "postgres://batch%40app:p%2Fss%3Aw@db.internal:6543/orders?sslmode=verify-full&application_name=w1"
        )
        #expect(configuration.username == "batch@app")
        #expect(configuration.password == "p/ss:w")
        #expect(configuration.host == "db.internal" && configuration.port == 6543)
        #expect(configuration.database == "orders")
        #expect(configuration.tlsMode == .verifyFull)
        #expect(configuration.applicationName == "w1")
        #expect(configuration.table == "batch_idempotency")
        #expect(configuration.usesPreparedStatements)
        #expect(!configuration.description.contains("p/ss"))
        #expect(configuration.description.contains("db.internal:6543/orders"))
    }

    @Test("prepared_statements=off turns prepared statements off; a value that is neither on nor off is refused")
    func preparedStatementsParameter() throws {
        #expect(try !PostgresStoreConfiguration(url: "postgres://u@h/d?prepared_statements=off").usesPreparedStatements)
        #expect(try PostgresStoreConfiguration(url: "postgres://u@h/d?prepared_statements=on").usesPreparedStatements)
        do {
            _ = try PostgresStoreConfiguration(url: "postgres://u:secret@h/d?prepared_statements=sometimes")
            Issue.record("an unknown value was accepted")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains("prepared_statements 'sometimes'"), "\(error.message)")
            #expect(error.message.contains("use on or off"))
            #expect(!error.message.contains("secret"))
        }
    }

    @Test("What the URL leaves out comes from PG* variables; the URL wins where both say")
    func environment() throws {
        let environment = [
            "PGHOST": "env-host", "PGPORT": "5433", "PGUSER": "env-user", "PGPASSWORD": "env-secret",
            "PGDATABASE": "env-db", "PGSSLMODE": "require", "PGSSLROOTCERT": "/etc/ssl/rds.pem",
        ]
        let mixed = try PostgresStoreConfiguration(url: "postgres://url-user@url-host/url-db", environment: environment)
        #expect(mixed.username == "url-user" && mixed.host == "url-host" && mixed.database == "url-db")
        #expect(mixed.password == "env-secret" && mixed.port == 5433 && mixed.tlsMode == .require)
        #expect(mixed.rootCertificatePath == "/etc/ssl/rds.pem")
        let onlyEnvironment = try PostgresStoreConfiguration(environment: environment)
        #expect(onlyEnvironment.username == "env-user" && onlyEnvironment.host == "env-host")
        let bare = try PostgresStoreConfiguration(url: "postgres://", environment: ["PGUSER": "u"])
        #expect(bare.host == "localhost" && bare.port == 5432 && bare.database == nil && bare.tlsMode == .prefer)
    }

    @Test("A socket directory as host, an IPv6 host, postgresql:// and query parameters")
    func otherForms() throws {
        let socket = try PostgresStoreConfiguration(url: "postgresql://u@/db?host=/run/postgresql&port=5999")
        #expect(socket.unixSocketPath == "/run/postgresql/.s.PGSQL.5999" && socket.host == nil)
        let v6 = try PostgresStoreConfiguration(url: "postgres://u@[::1]:5544/db")
        #expect(v6.host == "::1" && v6.port == 5544)
        #expect(v6.description.contains("[::1]:5544"))
        let allow = try PostgresStoreConfiguration(url: "postgres://u@h/db?sslmode=allow")
        #expect(allow.tlsMode == .prefer)
    }

    @Test(
        "Bad URLs are refused with a message saying what, and never the password",
        arguments: [
            ("mysql://u:secret@h/db", "must start with postgres://"),
            ("postgres://u:secret@h:99999/db", "port '99999'"),
            ("postgres://u:secret@h:abc/db", "port 'abc'"),
            ("postgres://u:secret@h/db?sslmode=sometimes", "sslmode 'sometimes'"),
            ("postgres://u:secret@h/db?colour=blue", "unknown query parameter 'colour'"),
            ("postgres://u:secret@h/db?connect_timeout=3", "does not support"),
            ("postgres://:secret@h/db", "names no user"),
            ("postgres://u:secret@[::1/db", "closing ]"),
            ("postgres://u:sec%zzret@h/db", "bad percent escape in its password"),
            ("postgres://u@h/db?password=secret&sslmode=no", "password=***"),
        ]
    )
    func badURLs(url: String, expected: String) {
        #expect {
            _ = try PostgresStoreConfiguration(url: url)
        } throws: { error in
            guard let error = error as? IdempotencyStoreError, error.code == .invalidConfiguration else { return false }
            return error.message.contains(expected) && !error.message.contains("secret")
        }
    }

    @Test("sslrootcert=system: the system's roots, verify-full unless said otherwise; a weaker sslmode is refused")
    func systemRoots() throws {
        let system = try PostgresStoreConfiguration(url: "postgres://u@db.example.com/d?sslrootcert=system")
        #expect(system.tlsMode == .verifyFull && system.rootCertificatePath == nil)
        let said = try PostgresStoreConfiguration(url: "postgres://u@h/d?sslrootcert=system&sslmode=verify-full")
        #expect(said.tlsMode == .verifyFull)
        for weaker in ["disable", "prefer", "require", "verify-ca"] {
            #expect {
                _ = try PostgresStoreConfiguration(
                    url: "postgres://u@h/d",
                    environment: ["PGSSLROOTCERT": "system", "PGSSLMODE": weaker]
                )
            } throws: { error in
                let message = (error as? IdempotencyStoreError)?.message ?? ""
                return message.contains("sslrootcert=system") && message.contains("'\(weaker)'")
                    && message.contains("verify-full")
            }
        }
    }

    @Test("The system's roots: the file SSL_CERT_FILE names comes before the files of the distributions")
    func systemRootsFile() {
        #expect(
            PostgresStoreConfiguration.systemRootCertificates(environment: ["SSL_CERT_FILE": "/opt/roots.pem"])
                == "/opt/roots.pem"
        )
        let found = PostgresStoreConfiguration.systemRootCertificates(environment: ["SSL_CERT_FILE": ""])
        #expect(found == nil || PostgresStoreConfiguration.systemRootCertificateFiles.contains(found ?? ""))
        #expect(PostgresStoreConfiguration.systemRootCertificateFiles.first == "/etc/pki/tls/certs/ca-bundle.crt")
    }

    @Test("A table name must be a plain or schema-qualified identifier; anything else is refused before SQL")
    func tableNames() throws {
        var configuration = try PostgresStoreConfiguration(url: "postgres://u@h/db")
        for good in ["batch_idempotency", "ops.batch_idempotency", "_t1"] {
            configuration.table = good
            #expect(throws: Never.self) { try configuration.validate() }
        }
        for bad in ["Batch", "t; DROP TABLE x", "a.b.c", "1t", "", "t-1", "\"t\""] {
            configuration.table = bad
            #expect(throws: IdempotencyStoreError.self, "\(bad)") { try configuration.validate() }
        }
    }

    @Test("The migration in sql/postgres is the SQL the store applies")
    func migrationFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let file = try String(
            contentsOf: root.appendingPathComponent("sql/postgres/001_batch_idempotency.sql"),
            encoding: .utf8
        )
        let statements = file.split(separator: "\n").filter { !$0.hasPrefix("--") }.joined(separator: "\n")
        #expect(statements == PostgresIdempotencyStore.migrationSQL())
        #expect(PostgresIdempotencyStore.migrationSQL(table: "ops.records").contains("ops_records") == false)
        #expect(
            PostgresIdempotencyStore.migrationSQL(table: "ops.records").contains("records_live_until ON ops.records")
        )
    }
}

@Suite("PostgreSQL store: a real server", .serialized)
struct PostgresStoreTests {
    @Test("Migrating twice is harmless; a store without its table says to migrate")
    func migration() async throws {
        await ServerAccess.shared.acquire(exclusive: false)
        let store = try PostgresIdempotencyStore(configuration: try TestPostgres.configuration())
        defer {
            Task {
                await store.shutdown()
                await ServerAccess.shared.release(exclusive: false)
            }
        }
        do {
            _ = try await store.claim(keyA, "t", until: 5000, now: 1000)
            Issue.record("a claim on a missing table succeeded")
        } catch {
            #expect(error.code == .rejected)
            #expect(error.message.contains("does not exist"), "\(error.message)")
            #expect(error.message.contains("batchproc idempotency migrate"), "\(error.message)")
        }
        try await store.migrate()
        try await store.migrate()
        #expect(try await store.claim(keyA, "t", until: 5000, now: 1000) == .claimed)
        let table = store.configuration.table
        #expect(try await TestPostgres.sql("SELECT status || ' ' || token FROM \(table)") == "in_progress t")
        let index = try await TestPostgres.sql(
            "SELECT indexname FROM pg_indexes WHERE tablename = '\(table)' ORDER BY 1"
        )
        #expect(index.contains("\(table)_live_until"))
        try await TestPostgres.sql("DROP TABLE \(table)")
    }

    @Test("Connections terminated by the server mid-use: the next state changes reconnect and go on")
    func droppedConnections() async throws {
        try await TestPostgres.withFreshStore { store in
            for index in 0..<5 {
                let key = spreadKey(index)
                #expect(try await store.claim(key, "t", until: 9000, now: 0) == .claimed)
                // Another session ends every connection of the store (what a failover or an operator does).
                let ended = try await TestPostgres.sql(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        + "WHERE application_name = '\(store.configuration.applicationName)'"
                )
                #expect(Int(ended) ?? 0 >= 1, "terminated \(ended)")
                #expect(try await store.complete(key: key, token: "t") == .applied)
                #expect(try await store.record(for: key)?.status == .completed)
            }
        }
    }

    /// How a test makes the server fail a write at its commit, after the statement has answered.
    enum CommitFault: String, CaseIterable, CustomTestStringConvertible {
        /// A deferred trigger raises an error: the transaction rolls back, the connection stays.
        case error
        /// A deferred trigger ends its own session: what a failover or an operator's `pg_terminate_backend` does
        /// between a statement's answer and the server's word that it committed (the server holds the end off
        /// until the commit is through, so the write may have landed: its answer is still unknown).
        case termination

        var testDescription: String { rawValue }

        var action: String {
            switch self {
            case .error: "RAISE EXCEPTION 'injected commit failure';"
            case .termination: "PERFORM pg_terminate_backend(pg_backend_pid());"
            }
        }
    }

    /// Makes the first `count` writes on `table` fail at their commit (a sequence counts them: it is not rolled
    /// back with the failed transaction), runs `body`, and removes the fault.
    private func withCommitFaults<Result>(
        _ fault: CommitFault,
        count: Int,
        on table: String,
        _ body: () async throws -> Result
    ) async throws -> Result {
        try await TestPostgres.sql(
            """
            CREATE SEQUENCE \(table)_faults;
            CREATE FUNCTION \(table)_fault() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('\(table)_faults') <= \(count) THEN \(fault.action) END IF;
                RETURN NULL;
            END $$;
            CREATE CONSTRAINT TRIGGER \(table)_fault AFTER INSERT OR UPDATE OR DELETE ON \(table)
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION \(table)_fault();
            """
        )
        let result = try await body()
        try await TestPostgres.sql(
            "DROP TRIGGER \(table)_fault ON \(table); DROP FUNCTION \(table)_fault(); DROP SEQUENCE \(table)_faults;"
        )
        return result
    }

    @Test(
        "A write whose commit fails after its answer came is not taken as done: tried again, or reported failed",
        arguments: CommitFault.allCases
    )
    func commitFailsAfterAnswer(fault: CommitFault) async throws {
        try await TestPostgres.withFreshStore(timeout: .seconds(10)) { store in
            let table = store.configuration.table
            // Once: the claim is tried again on another connection, and it holds.
            try await withCommitFaults(fault, count: 1, on: table) { () async throws in
                #expect(try await store.claim(keyA, "t", until: 9000, now: 0) == .claimed)
            }
            #expect(try await store.record(for: keyA)?.token == "t")
            try await withCommitFaults(fault, count: 1, on: table) { () async throws in
                #expect(try await store.complete(key: keyA, token: "t") == .applied)
            }
            #expect(try await store.record(for: keyA)?.status == .completed)
            // Every time: the claim fails, saying why, and nothing is held.
            try await withCommitFaults(fault, count: 2, on: table) { () async throws in
                do {
                    let answer = try await store.claim(keyB, "u", until: 9000, now: 0)
                    Issue.record("a claim whose commit failed twice answered \(answer)")
                } catch {
                    #expect("\(error)".contains("before the server confirmed the commit"), "\(error)")
                    #expect((error as? IdempotencyStoreError)?.code == .unavailable)
                }
            }
            let held = try await store.record(for: keyB)
            switch fault {
            case .error: #expect(held == nil)
            // Perhaps written: held in progress, so that a redelivery waits for the claim to run out, never runs
            // the record twice and never replays it.
            case .termination: #expect(held == nil || held?.status == .inProgress)
            }
        }
    }

    @Test("A statement held up past the timeout fails with a message saying so, and the key is not claimed")
    func statementTimeout() async throws {
        try await TestPostgres.withFreshStore(timeout: .milliseconds(600)) { store in
            let table = store.configuration.table
            _ = try await store.claim(keyB, "first", until: 9000, now: 0)
            // Another session holds the row's lock for four seconds: the store's claim must wait for it.
            let blocker = Task {
                try await TestPostgres.sql(
                    "SET application_name = '\(table)_blocker'; BEGIN; "
                        + "SELECT 1 FROM \(table) WHERE key = '\(keyB.hex)' FOR UPDATE; SELECT pg_sleep(4); COMMIT;"
                )
            }
            // Sleeping means the lock is taken (the statements run in order); on a loaded machine that takes a while.
            var sleeping = false
            for _ in 0..<100 where !sleeping {
                try await Task.sleep(for: .milliseconds(50))
                sleeping =
                    try await TestPostgres.sql(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(table)_blocker' "
                            + "AND wait_event = 'PgSleep'"
                    ) == "1"
            }
            try #require(sleeping, "the blocking session never got to its sleep")
            let started = ContinuousClock.now
            do {
                _ = try await store.claim(keyB, "second", until: 99_000, now: 50_000)
                Issue.record("the claim went through a locked row")
            } catch {
                // The server's statement timeout, or (on a loaded machine, if its answer comes late) the store's own.
                let message = "\(error)"
                #expect(message.contains("statement timeout") || message.contains("got no answer"), "\(message)")
            }
            #expect(ContinuousClock.now - started < .seconds(2))
            _ = try await blocker.value
            #expect(try await store.record(for: keyB)?.token == "first")
        }
    }

    @Test("A call that waits the whole timeout for a busy connection fails alone; the calls after it still run")
    func busyConnections() async throws {
        try await TestPostgres.withFreshStore(timeout: .milliseconds(600), maximumConnections: 1) { store in
            #expect(try await store.claim(keyA, "t", until: 9000, now: 0) == .claimed)
            // The store's one connection held, as a long statement would hold it.
            let held = try await store.connections.lease(progress: .init())
            let started = ContinuousClock.now
            do {
                _ = try await store.claim(keyB, "waiting", until: 9000, now: 0)
                Issue.record("claimed without a free connection")
            } catch {
                #expect("\(error)".contains("all busy"), "\(error)")
                #expect((error as? IdempotencyStoreError)?.code == .busy)
            }
            #expect(ContinuousClock.now - started < .seconds(2))
            await store.connections.giveBack(held, healthy: true)
            // Not taken for an unreachable server: the next call runs at once, and the abandoned one never ran.
            #expect(try await store.record(for: keyB) == nil)
            #expect(try await store.claim(keyB, "after", until: 9000, now: 0) == .claimed)
            #expect(try await store.record(for: keyB)?.token == "after")
        }
    }

    @Test("The server stopped: each call fails within the timeout (then at once), saying why; restarted, calls work")
    func serverStoppedAndRestarted() async throws {
        try await TestPostgres.withFreshStore(timeout: .seconds(2), exclusive: true) { store in
            #expect(try await store.claim(keyA, "t", until: 9000, now: 0) == .claimed)
            try await TestPostgres.control("stop")
            do {
                let started = ContinuousClock.now
                do {
                    _ = try await store.complete(key: keyA, token: "t")
                    Issue.record("a completion succeeded with the server stopped")
                } catch {
                    #expect("\(error)".contains("PostgreSQL"), "\(error)")
                    #expect((error as? IdempotencyStoreError)?.code == .unavailable)
                }
                #expect(ContinuousClock.now - started < .seconds(4))
                // Within the next second, calls fail at once instead of waiting out the timeout again.
                let second = ContinuousClock.now
                await #expect(throws: IdempotencyStoreError.self) {
                    _ = try await store.claim(keyB, "u", until: 9000, now: 0)
                }
                #expect(ContinuousClock.now - second < .milliseconds(500))
            }
            try await TestPostgres.control("start")
            try await Task.sleep(for: .seconds(1.1))
            // The record's state survived; the holder completes it on a new connection.
            #expect(try await store.complete(key: keyA, token: "t") == .applied)
            #expect(try await store.record(for: keyA)?.status == .completed)
        }
    }

    @Test("Listing every record pages through the table in key order")
    func listing() async throws {
        try await TestPostgres.withFreshStore { store in
            let keys = (0..<25).map(spreadKey)
            for key in keys { _ = try await store.claim(key, "t", until: 9000, now: 0) }
            let listed = try await store.allRecords(pageSize: 10)
            #expect(listed.map(\.key) == keys.map(\.hex).sorted())
        }
    }
}

@Suite("PostgreSQL store: a batch whose connections are cut while it runs")
struct PostgresMidBatchTests {
    @Test("The server stopped while a handler runs and back a moment later: the completion lands, no rerun")
    func completionAfterRestart() async throws {
        // A generous timeout: at the start of the whole suite, a new session on two busy cores can take seconds; the
        // server is away for 1.5 s only, and calls to a stopped server fail at once (connection refused).
        try await TestPostgres.withFreshStore(timeout: .seconds(15), exclusive: true) { store in
            let runs = Runs()
            let observation = TestObservation()
            let processor = BatchProcessor(
                configuration: .init(throwsOnFullBatchFailure: false, instrumentation: observation.instrumentation),
                middleware: [IdempotencyMiddleware(store: store, configuration: .init(namespace: "restart"))]
            )
            let event = TestEvents.sqs(["m0"])
            let restarted = Mutex<Task<Void, any Error>?>(nil)
            let first = try await processor.process(event, context: .init(logger: observation.logger)) { message, _ in
                runs.note(message.messageId)
                // The effect is done; the database goes away before the completion, and comes back later.
                try await TestPostgres.control("stop")
                restarted.withLock {
                    $0 = Task {
                        try await Task.sleep(for: .milliseconds(1500))
                        try await TestPostgres.control("start")
                    }
                }
            }
            try await restarted.withLock { $0 }?.value
            #expect(first.response.batchItemFailures.isEmpty)
            #expect(first.outcomes[0].result?.annotations[IdempotencyMiddleware.Completion.self] == .stored)
            #expect(!observation.entries(withMessage: "the completion could not be stored; trying again").isEmpty)
            #expect(
                observation.entries(withMessage: "the record succeeded but its completion could not be stored").isEmpty
            )
            let again = try await processor.process(event) { message, _ in runs.note(message.messageId) }
            #expect(again.replayedCount == 1)
            #expect(runs.count("m0") == 1)
        }
    }

    @Test("Connections terminated again and again mid-batch: no record runs twice, none is lost")
    func connectionsCutMidBatch() async throws {
        try await TestPostgres.withFreshStore { store in
            let runs = Runs()
            let processor = BatchProcessor(
                configuration: .init(policy: .continueOnFailure, maxConcurrency: 4, throwsOnFullBatchFailure: false),
                middleware: [IdempotencyMiddleware(store: store, configuration: .init(namespace: "mid-batch"))]
            )
            let ids = (0..<300).map { "m\($0)" }
            let event = TestEvents.sqs(ids)
            let handler: RecordHandler<SQSEvent.Message> = { message, _ in
                runs.note(message.messageId)
                try await Task.sleep(for: .milliseconds(1))
            }
            // Another session ends the store's connections every 30 ms while the batch runs.
            let name = store.configuration.applicationName
            let cutter = Task {
                var cuts = 0
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(30))
                    if let ended = try? await TestPostgres.sql(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '\(name)'"
                    ), let count = Int(ended) {
                        cuts += count
                    }
                }
                return cuts
            }
            let first = try await processor.process(event, handler: handler)
            cutter.cancel()
            let cuts = await cutter.value
            #expect(cuts > 0, "no connection was cut during the batch")
            for id in ids { #expect(runs.count(id) <= 1, "\(id) ran \(runs.count(id)) times") }
            // Whatever failed was reported, so Lambda would deliver it again: the redelivery runs the records that
            // never ran, and finds the others completed (or still held by a completion whose answer was lost).
            let reported = Set(first.response.itemIdentifiers.map(\.description))
            #expect(ids.allSatisfy { runs.count($0) == 1 || reported.contains($0) })
            // A call that waited out its whole time makes the store fail fast for a second: let that pass.
            try await Task.sleep(for: .seconds(1.2))
            let second = try await processor.process(event, handler: handler)
            for id in ids { #expect(runs.count(id) <= 1, "\(id) ran \(runs.count(id)) times") }
            // Only keys whose claim or completion was written but answered on a connection lost twice in a row stay
            // held (until their holder's time runs out): reported again, and still not run twice.
            let stillReported = Set(second.response.itemIdentifiers.map(\.description))
            #expect(ids.allSatisfy { runs.count($0) == 1 || stillReported.contains($0) })
            #expect(stillReported.count < 30, "\(stillReported.count) records still held after the cuts stopped")
        }
    }
}

@Suite("PostgreSQL store: TLS, the server's certificate checked against the roots given or the system's")
struct PostgresTLSTests {
    /// The certificate authority that signed the test server's certificate (scripts/with-postgres.sh).
    static func authority() throws -> String {
        guard let path = TestPostgres.environment["BATCH_TEST_POSTGRES_CA"], !path.isEmpty else {
            throw ShellError(
                message: "BATCH_TEST_POSTGRES_CA is not set: run the tests with scripts/with-postgres.sh, whose "
                    + "server speaks TLS, or point it at the certificate authority of your own server's certificate"
            )
        }
        return path
    }

    static func configuration(host: String, roots: String?) throws -> PostgresStoreConfiguration {
        var configuration = try TestPostgres.configuration()
        configuration.host = host
        configuration.tlsMode = .verifyFull
        configuration.rootCertificatePath = roots
        configuration.applicationName = "batch-tls-" + UUID().uuidString.prefix(8).lowercased()
        return configuration
    }

    @Test(
        "verify-full with the authority that signed the server's certificate, by name and by address: TLS sessions",
        arguments: ["localhost", "127.0.0.1"]
    )
    func verified(host: String) async throws {
        await ServerAccess.shared.acquire(exclusive: false)
        defer { Task { await ServerAccess.shared.release(exclusive: false) } }
        let store = try PostgresIdempotencyStore(
            configuration: try Self.configuration(host: host, roots: Self.authority())
        )
        do {
            try await store.migrate()
            #expect(try await store.claim(keyA, "t", until: 5000, now: 1000) == .claimed)
            let sessions = try await TestPostgres.sql(
                "SELECT count(*) FILTER (WHERE ssl), count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) "
                    + "WHERE application_name = '\(store.configuration.applicationName)'"
            )
            let counts = sessions.split(separator: "|").compactMap { Int($0) }
            #expect(
                counts.count == 2 && counts[1] >= 1 && counts[0] == counts[1],
                "TLS sessions, all sessions: \(sessions)"
            )
        } catch {
            Issue.record("over TLS to \(host): \(error)")
        }
        _ = try? await TestPostgres.sql("DROP TABLE IF EXISTS \(store.configuration.table)")
        await store.shutdown()
    }

    @Test(
        "verify-full with roots that did not sign the server's certificate: each call fails, saying why; nothing is claimed"
    )
    func untrusted() async throws {
        let folder = TemporaryFolder()
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        let other = folder.path + "/other-ca.crt"
        let made = try await Shell.run([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=another authority", "-keyout", folder.path + "/other-ca.key", "-out", other,
        ])
        try #require(made.status == 0, "openssl: \(made.stderr)")
        await ServerAccess.shared.acquire(exclusive: false)
        defer { Task { await ServerAccess.shared.release(exclusive: false) } }
        let configuration = try Self.configuration(host: "localhost", roots: other)
        let store = try PostgresIdempotencyStore(configuration: configuration)
        do {
            _ = try await store.claim(keyA, "t", until: 5000, now: 1000)
            Issue.record("a claim succeeded over a connection whose certificate no trusted root signed")
        } catch {
            #expect(error.code == .unavailable, "\(error)")
            #expect(error.message.lowercased().contains("certificate"), "\(error.message)")
        }
        await store.shutdown()
        #expect(try await TestPostgres.sql("SELECT to_regclass('\(configuration.table)') IS NULL") == "t")
    }

    @Test("A root certificate file that cannot be read: the store refuses to start, naming the file")
    func missingRoots() throws {
        let configuration = try Self.configuration(host: "localhost", roots: "/nonexistent/roots.pem")
        #expect {
            _ = try PostgresIdempotencyStore(configuration: configuration)
        } throws: { error in
            let error = try #require(error as? IdempotencyStoreError)
            return error.code == .invalidConfiguration && error.message.contains("/nonexistent/roots.pem")
        }
    }
}
