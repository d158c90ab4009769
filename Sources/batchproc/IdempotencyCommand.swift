import ArgumentParser
import BatchIdempotency
import BatchProcessingJSONSupport

/// `batchproc idempotency`: look into and tidy a file store.
struct IdempotencyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idempotency",
        abstract: "Operate an idempotency file store: count, list, show a key, purge expired records.",
        subcommands: [Count.self, List.self, Show.self, Purge.self]
    )

    struct StoreOptions: ParsableArguments {
        @Option(name: .customLong("store"), help: "The store's folder.")
        var store: String

        func open() throws -> FileIdempotencyStore {
            var isFolder = false
            do {
                isFolder = try FileIdempotencyStore.isStore(directory: store)
            } catch {
                throw UsageError(message: error.message)
            }
            guard isFolder else { throw UsageError(message: "\(store) is not an idempotency file store") }
            do {
                return try FileIdempotencyStore(directory: store)
            } catch {
                throw UsageError(message: error.message)
            }
        }
    }

    /// Every record of the store, read one by one; unreadable ones are reported on stderr and skipped.
    static func records(_ store: FileIdempotencyStore) async throws -> [IdempotencyRecord] {
        var records: [IdempotencyRecord] = []
        for key in try store.allKeys() {
            do {
                if let record = try await store.record(for: key) { records.append(record) }
            } catch {
                StandardStreams.error("batchproc: warning: \(error.message)")
            }
        }
        return records
    }

    static func state(of record: IdempotencyRecord, now: Int64) -> String {
        record.isExpired(at: now) ? "expired" : record.status.rawValue
    }

    struct Count: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "count",
            abstract: "Count records by state (JSON on stdout)."
        )
        @OptionGroup var options: StoreOptions

        func run() async throws {
            let now = WallClock.nowMilliseconds()
            var counts = ["in_progress": 0, "completed": 0, "expired": 0]
            for record in try await IdempotencyCommand.records(try options.open()) {
                counts[IdempotencyCommand.state(of: record, now: now), default: 0] += 1
            }
            var json = JSONText()
            json.beginObject()
            for name in ["completed", "in_progress", "expired"] {
                json.key(name)
                json.integer(counts[name] ?? 0)
            }
            json.endObject()
            guard StandardStreams.output(json.string) else { throw ExitCode(ExitStatus.outputFailed) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List records, one JSON object per line."
        )
        @OptionGroup var options: StoreOptions
        @Option(help: "Only records in this state: in_progress, completed or expired.")
        var state: String?

        func validate() throws {
            if let state, !["in_progress", "completed", "expired"].contains(state) {
                throw ValidationError("--state must be in_progress, completed or expired, not '\(state)'")
            }
        }

        func run() async throws {
            let now = WallClock.nowMilliseconds()
            for record in try await IdempotencyCommand.records(try options.open()) {
                let recordState = IdempotencyCommand.state(of: record, now: now)
                if let state, state != recordState { continue }
                guard StandardStreams.output(IdempotencyCommand.json(record, state: recordState)) else {
                    throw ExitCode(ExitStatus.outputFailed)
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show one key's record (exit 1 when it has none)."
        )
        @OptionGroup var options: StoreOptions
        @Argument(help: "The key: 64 hex digits, as `list` prints them.")
        var key: String

        func validate() throws {
            guard IdempotencyKey(hex: key) != nil else {
                throw ValidationError("the key must be 64 lower-case hex digits, not '\(key)'")
            }
        }

        func run() async throws {
            let store = try options.open()
            guard let key = IdempotencyKey(hex: key) else { return }
            let record: IdempotencyRecord?
            do {
                record = try await store.record(for: key)
            } catch {
                throw UsageError(message: error.message)
            }
            guard let record else {
                StandardStreams.error("batchproc: no record for key \(key)")
                throw ExitCode(1)
            }
            let state = IdempotencyCommand.state(of: record, now: WallClock.nowMilliseconds())
            guard StandardStreams.output(IdempotencyCommand.json(record, state: state)) else {
                throw ExitCode(ExitStatus.outputFailed)
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "purge",
            abstract: "Remove expired records; prints how many."
        )
        @OptionGroup var options: StoreOptions

        func run() async throws {
            let store = try options.open()
            let removed: Int
            do {
                removed = try await store.purgeExpired(now: WallClock.nowMilliseconds())
            } catch {
                throw UsageError(message: error.message)
            }
            guard StandardStreams.output("{\"purged\":\(removed)}") else { throw ExitCode(ExitStatus.outputFailed) }
        }
    }

    static func json(_ record: IdempotencyRecord, state: String) -> String {
        var json = JSONText()
        json.beginObject()
        json.key("key")
        json.string(record.key)
        json.key("state")
        json.string(state)
        json.key("token")
        json.string(record.token)
        if let expiresAt = record.expiresAt {
            json.key("expires_at")
            json.string(WallClock.rfc3339(milliseconds: expiresAt))
        }
        if let until = record.inProgressUntil {
            json.key("in_progress_until")
            json.string(WallClock.rfc3339(milliseconds: until))
        }
        if let hash = record.payloadHash {
            json.key("payload_hash")
            json.string(hash)
        }
        json.endObject()
        return json.string
    }
}
