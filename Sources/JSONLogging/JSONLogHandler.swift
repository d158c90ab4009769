import BatchProcessingJSONSupport
@_exported public import BatchProcessingSystemSupport
public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A swift-log handler that writes one JSON object per line, with the keys of Lambda's JSON log format and
/// Powertools' logger: `timestamp`, `level`, `message`, `service`, `location`, `logger`, on Lambda
/// `function_name`, `function_request_id`, `function_arn`, `function_memory_size`, `cold_start`,
/// `xray_trace_id`, then the metadata (dictionaries and arrays stay structured), and for an error
/// `exception_name` and `exception`.
///
/// ```swift
/// LoggingSystem.bootstrap { label in JSONLogHandler(label: label, configuration: .fromEnvironment()) }
/// ```
///
/// With ``Configuration/Format/text`` the same events are written as readable lines for a terminal.
public struct JSONLogHandler: LogHandler {
    /// The logger's label, written as `logger`.
    public let label: String
    /// What and where the handler writes.
    public let configuration: Configuration
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    /// Creates a handler for the logger `label`.
    public init(
        label: String,
        configuration: Configuration = Configuration(),
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.configuration = configuration
        self.logLevel = configuration.logLevel
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The keys the handler writes itself; metadata with one of these names is written as `meta_<name>`.
    public static let reservedKeys: Set<String> = [
        "timestamp", "level", "message", "service", "location", "logger", "exception_name", "exception",
    ]

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() {
            merged.merge(provided) { _, new in new }
        }
        if let explicit = event.metadata {
            merged.merge(explicit) { _, new in new }
        }
        let line: [UInt8]
        switch configuration.format {
        case .json: line = jsonLine(event, metadata: merged)
        case .text: line = textLine(event, metadata: merged)
        }
        configuration.output.write(line: line)
    }

    // MARK: - JSON

    func jsonLine(_ event: LogEvent, metadata: Logger.Metadata) -> [UInt8] {
        var json = JSONText(capacity: 256)
        json.beginObject()
        json.key("timestamp")
        json.string(WallClock.rfc3339(milliseconds: WallClock.nowMilliseconds()))
        json.key("level")
        json.string(Self.lambdaLevelName(event.level))
        json.key("message")
        json.string(event.message.description)
        json.key("service")
        json.string(configuration.service)
        json.key("location")
        json.string("\(event.function):\(event.line)")
        json.key("logger")
        json.string(label)

        var written: Set<String> = []
        if let lambda = configuration.lambda {
            for (key, value) in lambda.fields {
                // Per-invocation values given as metadata (request id, trace id, cold start) take precedence.
                if metadata[key] == nil {
                    json.key(key)
                    json.raw(value)
                    written.insert(key)
                }
            }
            if metadata["xray_trace_id"] == nil, let traceID = lambda.currentTraceID() {
                json.key("xray_trace_id")
                json.string(traceID)
            }
        }
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where !written.contains(key) {
            json.key(Self.reservedKeys.contains(key) ? "meta_" + key : key)
            Self.write(value, to: &json)
        }
        if let error = event.error {
            json.key("exception_name")
            json.string(String(reflecting: type(of: error)))
            json.key("exception")
            json.string(String(describing: error))
        }
        json.endObject()
        return json.bytes
    }

    static func write(_ value: Logger.Metadata.Value, to json: inout JSONText) {
        switch value {
        case .string(let text):
            json.string(text)
        case .stringConvertible(let convertible):
            switch convertible {
            case let bool as Bool: json.bool(bool)
            case let int as Int: json.integer(int)
            case let int as Int64: json.integer(int)
            case let double as Double where double.isFinite: json.number(double)
            default: json.string(convertible.description)
            }
        case .dictionary(let dictionary):
            json.beginObject()
            for (key, nested) in dictionary.sorted(by: { $0.key < $1.key }) {
                json.key(key)
                write(nested, to: &json)
            }
            json.endObject()
        case .array(let array):
            json.beginArray()
            for nested in array { write(nested, to: &json) }
            json.endArray()
        }
    }

    /// Lambda's level names: TRACE DEBUG INFO WARN ERROR FATAL (notice is INFO).
    public static func lambdaLevelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace: "TRACE"
        case .debug: "DEBUG"
        case .info, .notice: "INFO"
        case .warning: "WARN"
        case .error: "ERROR"
        case .critical: "FATAL"
        }
    }

    // MARK: - Text

    /// One readable line. Control characters in the message, label, values and error are escaped (`\n`, `\t`,
    /// `\u{1b}`…), so that no value can end the line early and forge another one; a value with a space, a quote,
    /// an `=` or an escape is quoted.
    func textLine(_ event: LogEvent, metadata: Logger.Metadata) -> [UInt8] {
        var text = WallClock.rfc3339(milliseconds: WallClock.nowMilliseconds())
        text += " " + Self.lambdaLevelName(event.level).padding(5) + " " + Self.escaped(label) + ": "
        text += Self.escaped(event.message.description)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            text += " " + Self.escaped(key) + "=" + Self.plain(value)
        }
        if let error = event.error {
            text += " error=" + Self.quotedIfNeeded(String(describing: error))
        }
        return Array(text.utf8)
    }

    private static func plain(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): quotedIfNeeded(text)
        case .stringConvertible(let convertible): quotedIfNeeded(convertible.description)
        case .dictionary, .array:
            {
                var json = JSONText()
                write(value, to: &json)
                return json.string
            }()
        }
    }

    /// `text` as it is when it needs no quoting; otherwise in double quotes, with quotes and backslashes
    /// escaped, and control characters escaped as in ``escaped(_:)``.
    private static func quotedIfNeeded(_ text: String) -> String {
        let needsQuotes =
            text.isEmpty
            || text.unicodeScalars.contains { scalar in
                scalar == " " || scalar == "\"" || scalar == "=" || scalar == "\\"
                    || ControlCharacters.isEscaped(scalar)
            }
        guard needsQuotes else { return text }
        let inner = text.replacingOccurrences("\\", with: "\\\\").replacingOccurrences("\"", with: "\\\"")
        return "\"" + escaped(inner) + "\""
    }

    /// `text` with every control character (and the Unicode line and paragraph separators) written as an escape.
    static func escaped(_ text: String) -> String { ControlCharacters.escaped(text) }
}

extension String {
    fileprivate func replacingOccurrences(_ target: Character, with replacement: String) -> String {
        guard contains(target) else { return self }
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }

    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
