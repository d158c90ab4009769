#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A value read from a configuration file, JSON or YAML, before it is checked against what the chain takes.
enum ConfigValue: Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ConfigValue])
    /// Keys in the order the file gives them, so messages can follow the file.
    case object([(String, ConfigValue)])

    /// Parses a YAML document (JSON is YAML too, so one reader reads both).
    ///
    /// - Throws: ``YAMLReader/Failure`` saying the line and column.
    static func parse(_ text: String) throws(YAMLReader.Failure) -> ConfigValue {
        try YAMLReader.read(text)
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "text"
        case .array: "a list"
        case .object: "an object"
        }
    }
}

/// A configuration file or variable that does not say what the chain can do: it names the file and the key.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// The kind of problem. New codes may be added; switch with a `default`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Kind: String {
            case unreadableFile
            case syntax
            case unknownSetting
            case invalidValue
            case missingValue
            case storeFailed
        }

        let kind: Kind

        /// The file is missing, a folder, not readable, or not UTF-8 text.
        public static let unreadableFile = Code(kind: .unreadableFile)
        /// The text is not JSON or YAML this reader takes (YAML aliases, a key that is not text).
        public static let syntax = Code(kind: .syntax)
        /// A key that is not a setting where it stands, or a middleware kind that does not exist.
        public static let unknownSetting = Code(kind: .unknownSetting)
        /// A setting's value (in the file or a `BATCH_PROCESSING_*` variable) has the wrong type or range, or is
        /// given twice, or contradicts another.
        public static let invalidValue = Code(kind: .invalidValue)
        /// A required setting is missing.
        public static let missingValue = Code(kind: .missingValue)
        /// An idempotency step's store could not be opened (the message has the store's error).
        public static let storeFailed = Code(kind: .storeFailed)

        public var description: String { kind.rawValue }
    }

    /// The kind of problem.
    public let code: Code
    /// What is wrong and where: `orders.yaml: middleware[1].idempotency.expirySeconds must be …`.
    public let message: String

    /// Creates the error.
    public init(_ code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
