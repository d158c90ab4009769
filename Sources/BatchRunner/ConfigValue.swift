import Yams

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

    /// Parses a YAML document (JSON is YAML too, so one parser reads both).
    static func parse(_ text: String) throws -> ConfigValue {
        guard let node = try Yams.compose(yaml: text) else { return .null }
        return try convert(node)
    }

    private static func convert(_ node: Node) throws -> ConfigValue {
        switch node {
        case .scalar(let scalar):
            // Quoted scalars are strings; plain ones are read as YAML reads them.
            if scalar.style == .singleQuoted || scalar.style == .doubleQuoted { return .string(scalar.string) }
            let text = scalar.string
            switch text {
            case "", "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default:
                if let number = Double(text),
                    text.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true
                {
                    return .number(number)
                }
                return .string(text)
            }
        case .sequence(let sequence):
            return .array(try sequence.map(convert))
        case .mapping(let mapping):
            var pairs: [(String, ConfigValue)] = []
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw ConfigurationError(.syntax, message: "a key must be text, not \(key)")
                }
                pairs.append((keyScalar.string, try convert(value)))
            }
            return .object(pairs)
        case .alias:
            throw ConfigurationError(.syntax, message: "YAML aliases are not supported in the configuration")
        }
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
