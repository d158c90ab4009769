/// A part of a record that the handler asked for could not be read: base64 that is not valid, a body that is
/// not the JSON the handler expects. It fails that record only; the batch goes on per its policy.
public struct RecordPayloadError: Error, Sendable, CustomStringConvertible {
    /// The field concerned, as named in the event (`kinesis.data`, `binaryValue`, `body`).
    public let field: String
    /// What is wrong with it.
    public let message: String

    /// Creates the error.
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "field \(field) \(message)" }

    /// The bytes of `text`, or an error naming `field` and the first bad character.
    static func decodeBase64(_ text: String, field: String) throws(RecordPayloadError) -> [UInt8] {
        do {
            return try Base64.decode(text)
        } catch {
            throw RecordPayloadError(field: field, message: "is not valid base64: \(error.description)")
        }
    }
}
