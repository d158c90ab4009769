public import JSONLogging
public import Logging
import Synchronization

#if canImport(CSystemd)
import CSystemd
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A swift-log handler that sends native journald entries through libsystemd's `sd_journal_sendv`.
///
/// Each entry carries `MESSAGE`, `PRIORITY` (trace and debug 7, info 6, notice 5, warning 4, error 3,
/// critical 2), `CODE_FILE`, `CODE_LINE`, `CODE_FUNC`, `SYSLOG_IDENTIFIER`, `LOGGER` (the logger's label), an
/// error as `EXCEPTION_NAME` and `EXCEPTION`, and every metadata key normalised to journald's field rules
/// (see ``fieldName(_:)``), nested values flattened with `_`. Values with newlines or binary data arrive intact.
///
/// When the journal socket is absent, or libsystemd reports a failure (a socket left behind by a journald that
/// stopped), the entry is written as a JSON line on standard error instead, and the first time, a line saying
/// why; no entry is lost, and nothing crashes. Where there is no libsystemd (macOS), every entry takes that path,
/// so code that uses the handler builds and runs everywhere.
public struct JournaldLogHandler: LogHandler {
    /// The logger's label, sent as `LOGGER`.
    public let label: String
    /// The `SYSLOG_IDENTIFIER` of every entry.
    public let syslogIdentifier: String
    /// The journal's socket; its absence means the entry goes to the fallback.
    public let socketPath: String
    /// Where entries go when the journal cannot take them.
    public let fallback: LineWriter
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    /// Whether the journal's socket is there, checked when the handler is made and again at most once a second,
    /// never per line. Shared by the handler's copies.
    private let journal: JournalSocket

    /// The socket journald listens on.
    public static let defaultSocketPath = "/run/systemd/journal/socket"

    /// Creates a handler for the logger `label`.
    ///
    /// - Parameters:
    ///   - label: the logger's label, written as `LOGGER`.
    ///   - syslogIdentifier: the program's name in the journal; defaults to the executable's name.
    ///   - logLevel: the lowest level written.
    ///   - socketPath: the journal socket to check for before sending.
    ///   - fallback: where entries go when the journal cannot take them.
    ///   - metadataProvider: adds metadata of the moment (a span's ids) to every entry.
    public init(
        label: String,
        syslogIdentifier: String? = nil,
        logLevel: Logger.Level = .info,
        socketPath: String = JournaldLogHandler.defaultSocketPath,
        fallback: LineWriter = .standardError,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.syslogIdentifier = syslogIdentifier ?? Self.programName()
        self.logLevel = logLevel
        self.socketPath = socketPath
        self.fallback = fallback
        self.metadataProvider = metadataProvider
        self.journal = JournalSocket(path: socketPath)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }

        if journal.isAvailable() {
            let fields = entryFields(event, metadata: merged)
            let result = Self.send(fields)
            if result >= 0 { return }
            Self.announceFallback(
                "sd_journal_sendv failed with error \(-result); logging JSON lines to stderr",
                to: fallback
            )
        } else {
            Self.announceFallback(
                "the journal socket \(socketPath) does not exist; logging JSON lines to stderr",
                to: fallback
            )
        }
        var handler = JSONLogHandler(
            label: label,
            configuration: .init(service: syslogIdentifier, logLevel: logLevel, format: .json, output: fallback)
        )
        handler.metadata = merged
        handler.log(event: event)
    }

    // MARK: - Fields

    /// The entry's fields, in order, as `NAME=value` byte strings.
    ///
    /// Metadata never overrides the handler's own fields, and two keys that normalise to the same field name stay
    /// distinct: keys are taken in sorted order, the first keeps the name, and each later one gets `_2`, `_3`…
    /// (see ``fieldName(_:)``).
    func entryFields(_ event: LogEvent, metadata: Logger.Metadata) -> [[UInt8]] {
        var fields: [[UInt8]] = []
        var used: Set<String> = []
        func add(_ name: String, _ value: String) {
            used.insert(name)
            fields.append(Array(name.utf8) + [UInt8(ascii: "=")] + Array(value.utf8))
        }
        add("MESSAGE", event.message.description)
        add("PRIORITY", String(Self.priority(event.level)))
        add("CODE_FILE", event.file)
        add("CODE_LINE", String(event.line))
        add("CODE_FUNC", event.function)
        add("SYSLOG_IDENTIFIER", syslogIdentifier)
        add("LOGGER", label)
        if let error = event.error {
            add("EXCEPTION_NAME", String(reflecting: type(of: error)))
            add("EXCEPTION", String(describing: error))
        }
        var flattened: [(String, String)] = []
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            Self.flatten(value, name: Self.fieldName(key), into: &flattened)
        }
        for (name, value) in flattened {
            add(Self.unique(name, avoiding: used), value)
        }
        return fields
    }

    /// `name`, or when it is taken, `name_2`, `name_3`… (shortened to stay within 64 characters).
    static func unique(_ name: String, avoiding used: Set<String>) -> String {
        guard used.contains(name) else { return name }
        var counter = 2
        while true {
            let suffix = "_" + String(counter)
            let candidate = String(name.prefix(64 - suffix.count)) + suffix
            if !used.contains(candidate) { return candidate }
            counter += 1
        }
    }

    private static func flatten(_ value: Logger.Metadata.Value, name: String, into fields: inout [(String, String)]) {
        switch value {
        case .string(let text):
            fields.append((name, text))
        case .stringConvertible(let convertible):
            fields.append((name, convertible.description))
        case .dictionary(let dictionary):
            for (key, nested) in dictionary.sorted(by: { $0.key < $1.key }) {
                flatten(nested, name: fieldName(name + "_" + key), into: &fields)
            }
        case .array(let array):
            for (index, nested) in array.enumerated() {
                flatten(nested, name: fieldName(name + "_" + String(index)), into: &fields)
            }
        }
    }

    /// The fields this handler writes itself, and those journald gives a meaning of its own; a metadata key that
    /// normalises to one of them gets `META_` before it.
    public static let reservedFields: Set<String> = [
        "MESSAGE", "PRIORITY", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "SYSLOG_IDENTIFIER", "LOGGER",
        "EXCEPTION_NAME", "EXCEPTION", "MESSAGE_ID", "ERRNO", "SYSLOG_FACILITY", "SYSLOG_PID", "SYSLOG_TIMESTAMP",
        "INVOCATION_ID", "USER_INVOCATION_ID", "DOCUMENTATION", "TID",
    ]

    /// `key` as a journald field name: upper case, every character outside `A–Z 0–9 _` made `_`, leading
    /// underscores removed (they mark fields only journald may set), `F` put before a leading digit, at most
    /// 64 characters, and `META_` put before the handler's own field names and journald's well-known ones.
    /// Journald silently drops fields that break these rules. Keys that end up with the same name are kept
    /// apart when an entry is written.
    public static func fieldName(_ key: String) -> String {
        var name = String(
            key.uppercased().unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "A"..."Z", "0"..."9", "_": Character(scalar)
                default: "_"
                }
            }
        )
        while name.hasPrefix("_") { name.removeFirst() }
        if name.isEmpty { name = "FIELD" }
        if let first = name.first, first.isNumber { name = "F" + name }
        name = String(name.prefix(64))
        if reservedFields.contains(name) { name = String(("META_" + name).prefix(64)) }
        return name
    }

    /// journald's priority for a swift-log level.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    // MARK: - Sending

    /// Sends the fields as one entry; the result of `sd_journal_sendv` (negative on failure). Where libsystemd
    /// does not exist (macOS), always a failure, so that entries go to the fallback.
    static func send(_ fields: [[UInt8]]) -> Int32 {
        #if canImport(CSystemd)
        // One buffer holds every field, so the iovecs point into memory that stays put during the call.
        let buffer = fields.flatMap { $0 }
        return buffer.withUnsafeBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return -EINVAL }
            var vectors: [iovec] = []
            vectors.reserveCapacity(fields.count)
            var offset = 0
            for field in fields {
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: base + offset), iov_len: field.count))
                offset += field.count
            }
            return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
        #else
        return -ENOSYS
        #endif
    }

    /// The fallback outputs that have been told why entries come to them.
    private static let announced = Mutex<Set<ObjectIdentifier>>([])

    /// Says once per fallback output why entries go there instead of the journal.
    private static func announceFallback(_ message: String, to writer: LineWriter) {
        guard announced.withLock({ $0.insert(ObjectIdentifier(writer)).inserted }) else { return }
        writer.write(line: "JournaldLogging: " + message)
    }

    private static func programName() -> String {
        let path = CommandLine.arguments.first ?? "swift"
        return path.split(separator: "/").last.map(String.init) ?? path
    }
}

/// Whether journald's socket is there. `sd_journal_sendv` returns 0 and drops the entry when the socket is
/// missing, so the handler must look; it looks when made and then at most once a second, so that logging costs
/// no file-system call per line.
final class JournalSocket: Sendable {
    let path: String
    private struct State {
        var available: Bool
        var checkedAt: UInt64
    }
    private let state: Mutex<State>

    init(path: String) {
        self.path = path
        state = Mutex(State(available: Self.exists(path), checkedAt: Self.nowNanoseconds()))
    }

    /// True when the socket was there at the last look (looking again when that was over a second ago).
    func isAvailable() -> Bool {
        let now = Self.nowNanoseconds()
        let stale = state.withLock { now &- $0.checkedAt > 1_000_000_000 }
        guard stale else { return state.withLock { $0.available } }
        let available = Self.exists(path)
        state.withLock { $0 = State(available: available, checkedAt: now) }
        return available
    }

    static func exists(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFSOCK
    }

    private static func nowNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}
