/// A part of a record that the handler asked for could not be read: base64 that is not valid, a body that is
/// not the JSON the handler expects. It fails that record only; the batch goes on per its policy.
public struct RecordPayloadError: Error, Sendable, CustomStringConvertible {
    /// The kind of problem. New codes may be added; switch with a `default`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Kind: String {
            case invalidBase64
            case missingValue
            case invalidValue
        }

        let kind: Kind

        /// Base64 text (Kinesis `data`, Kafka `key`/`value`, SQS `binaryValue`) that does not decode.
        public static let invalidBase64 = Code(kind: .invalidBase64)
        /// The field holds nothing to read: a Kafka tombstone's value, for one.
        public static let missingValue = Code(kind: .missingValue)
        /// The field holds something the accessor cannot turn into what was asked: a header number that is not
        /// a byte, a body that is not the JSON of the type asked for.
        public static let invalidValue = Code(kind: .invalidValue)

        public var description: String { kind.rawValue }
    }

    /// The kind of problem.
    public let code: Code
    /// The field concerned, as named in the event (`kinesis.data`, `binaryValue`, `body`).
    public let field: String
    /// What is wrong with it.
    public let message: String

    /// Creates the error.
    public init(_ code: Code, field: String, message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { "field \(field) \(message)" }

    /// The bytes of `text`, or an error naming `field` and the first bad character.
    static func decodeBase64(_ text: String, field: String) throws(RecordPayloadError) -> [UInt8] {
        do {
            return try Base64.decode(text)
        } catch {
            throw RecordPayloadError(.invalidBase64, field: field, message: "is not valid base64: \(error.description)")
        }
    }
}
