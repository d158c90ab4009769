#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension SQSEvent.Message {
    /// The body decoded as JSON into `type`.
    ///
    /// A body that is not valid JSON for `type` throws; inside a handler that fails this record only.
    public func decodeBody<T: Decodable>(as type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(body.utf8))
    }
}

extension KinesisEvent.Payload {
    /// The data decoded as JSON into `type`.
    ///
    /// - Throws: ``RecordPayloadError`` when the data is not valid base64, or the decoder's error when it is not
    ///   JSON for `type`; inside a handler either fails this record only.
    public func decodeData<T: Decodable>(as type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(data))
    }

    /// The data as UTF-8 text (invalid sequences are replaced with U+FFFD).
    ///
    /// - Throws: ``RecordPayloadError`` when the data is not valid base64.
    public var dataString: String {
        get throws(RecordPayloadError) { String(decoding: try data, as: UTF8.self) }
    }
}
